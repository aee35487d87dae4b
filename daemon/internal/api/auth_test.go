package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
)

const (
	fullToken = "full-0123456789abcdef"
	readToken = "read-0123456789abcdef"
)

func testTokens(t *testing.T) *api.Tokens {
	t.Helper()
	tok := &api.Tokens{}
	if err := tok.Add("test", "# operators\n"+fullToken+":full\n\n"+readToken+":read\n"); err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestAuth checks who gets through a server that requires tokens: the open
// endpoints without one, reads with either scope, writes only with full.
func TestAuth(t *testing.T) {
	h := newHarness(t, api.Options{Auth: testTokens(t)})
	tests := []struct {
		name, method, path, body string
		header                   [2]string
		status                   int
		challenge                string // substring of WWW-Authenticate; "" for none
		detail                   string
	}{
		{name: "healthz is open", method: "GET", path: "/healthz", status: 200},
		{name: "metrics path is open (404 here: no metrics configured)", method: "GET", path: "/metrics", status: 404},
		{name: "openapi.json is open", method: "GET", path: "/openapi.json", status: 200},
		{name: "docs are open", method: "GET", path: "/docs", status: 200},
		{name: "no token", method: "GET", path: "/v2/workflows", status: 401, challenge: `Bearer realm="sirocco"`, detail: "requires a token"},
		{name: "unknown token", method: "GET", path: "/v2/workflows", header: [2]string{"Authorization", "Bearer nope-0123456789abcdef"}, status: 401, challenge: `error="invalid_token"`, detail: "not valid"},
		{name: "basic scheme", method: "GET", path: "/v2/workflows", header: [2]string{"Authorization", "Basic " + fullToken}, status: 401, challenge: "invalid_token", detail: "Bearer TOKEN"},
		{name: "unknown path without token is 401, not 404", method: "GET", path: "/v2/nothing", status: 401, challenge: "Bearer"},
		{name: "read token reads", method: "GET", path: "/v2/workflows", header: [2]string{"Authorization", "Bearer " + readToken}, status: 200},
		{name: "read token as X-Auth-Token", method: "GET", path: "/v2/executions", header: [2]string{"X-Auth-Token", readToken}, status: 200},
		{name: "read token cannot write", method: "POST", path: "/v2/workflows", body: helloYAML, header: [2]string{"Authorization", "Bearer " + readToken}, status: 403, challenge: `error="insufficient_scope"`, detail: "read-only"},
		{name: "read token cannot delete", method: "DELETE", path: "/v2/workflows/x", header: [2]string{"X-Auth-Token", readToken}, status: 403, challenge: "insufficient_scope", detail: "DELETE"},
		{name: "full token writes", method: "POST", path: "/v2/workflows", body: helloYAML, header: [2]string{"authorization", "bearer " + fullToken}, status: 201},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			if tc.body != "" {
				req.Header.Set("Content-Type", "text/plain")
			}
			if tc.header[0] != "" {
				req.Header.Set(tc.header[0], tc.header[1])
			}
			rec := httptest.NewRecorder()
			h.h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			got := rec.Header().Get("WWW-Authenticate")
			if tc.challenge == "" && got != "" || !strings.Contains(got, tc.challenge) {
				t.Errorf("WWW-Authenticate = %q, want it to contain %q", got, tc.challenge)
			}
			if tc.status == 401 || tc.status == 403 {
				var body map[string]any
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
					t.Fatal(err)
				}
				wantProblem(t, response{status: rec.Code, ctype: rec.Header().Get("Content-Type"), raw: rec.Body.Bytes(), body: body}, tc.status, tc.detail)
			}
		})
	}
}

// TestAuthOpenByDefault: without tokens every request goes through, as the
// embedded default (on 127.0.0.1) expects.
func TestAuthOpenByDefault(t *testing.T) {
	h := newHarness(t, api.Options{})
	if r := h.do(http.MethodPost, "/v2/workflows", "text/plain", []byte(helloYAML)); r.status != http.StatusCreated {
		t.Fatalf("POST without tokens configured: %d %s", r.status, r.raw)
	}
}

func TestTokensAdd(t *testing.T) {
	tests := []struct {
		name, text string
		want       map[string]api.Scope
		err        string
	}{
		{name: "lines and comments", text: "# c\n" + fullToken + ":full\n  " + readToken + ":read  \n", want: map[string]api.Scope{fullToken: api.ScopeFull, readToken: api.ScopeRead}},
		{name: "comma separated, as in an environment variable", text: fullToken + ":full," + readToken + ":read", want: map[string]api.Scope{fullToken: api.ScopeFull, readToken: api.ScopeRead}},
		{name: "a colon inside the token", text: "abc:0123456789abcdef:read", err: "contains ':'"},
		{name: "no scope", text: "\n" + fullToken, err: "src: line 2: entry \"full…\" has no scope"},
		{name: "unknown scope", text: fullToken + ":admin", err: `unknown scope "admin"`},
		{name: "short token", text: "abc123:full", err: "6 characters long; use at least 16"},
		{name: "same token, two scopes", text: fullToken + ":full\n" + fullToken + ":read", err: "line 2: token \"full…\" is listed twice"},
		{name: "same token, same scope", text: fullToken + ":full " + fullToken + ":full", want: map[string]api.Scope{fullToken: api.ScopeFull}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := &api.Tokens{}
			err := tok.Add("src", tc.text)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want one containing %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "0123456789abcdef") {
					t.Errorf("error %q shows the token", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok.Len() != len(tc.want) {
				t.Errorf("Len = %d, want %d", tok.Len(), len(tc.want))
			}
			for token, scope := range tc.want {
				if got, ok := tok.Scope(token); !ok || got != scope {
					t.Errorf("Scope(%s) = %v %v, want %v", token, got, ok, scope)
				}
			}
			if _, ok := tok.Scope("other-0123456789abcdef"); ok {
				t.Error("an unlisted token has a scope")
			}
		})
	}
}

// TestKeystoneStandIn checks the two Keystone calls python-mistralclient
// makes with --os-auth-token; the real client runs against them in
// test/mistralclient.
func TestKeystoneStandIn(t *testing.T) {
	h := newHarness(t, api.Options{Auth: testTokens(t)})
	r := h.get("/v3")
	if r.status != http.StatusOK {
		t.Fatalf("GET /v3: %d %s", r.status, r.raw)
	}
	v := r.body["version"].(map[string]any)
	links := v["links"].([]any)
	if v["id"] != "v3.14" || links[0].(map[string]any)["href"] != "http://example.com/v3/" {
		t.Errorf("version document = %s", r.raw)
	}
	tests := []struct {
		name, token, body string
		status            int
	}{
		{"full token", fullToken, `{"auth":{"identity":{"methods":["token"],"token":{"id":"` + fullToken + `"}}}}`, 201},
		{"read token, with a scope", readToken, `{"auth":{"identity":{"methods":["token"],"token":{"id":"` + readToken + `"}},"scope":{"project":{"id":"p"}}}}`, 201},
		{"unknown token", "", `{"auth":{"identity":{"methods":["token"],"token":{"id":"nope-0123456789abcdef"}}}}`, 401},
		{"password", "", `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"u","password":"p"}}}}}`, 401},
		{"not an object", "", `[]`, 422},
		{"a token that cannot be a header is never echoed", "", `{"auth":{"identity":{"methods":["token"],"token":{"id":"a\u0000\n\u00ff-0123456789abcdef"}}}}`, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/v3/auth/tokens?nocatalog", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status != 201 {
				return
			}
			if got := rec.Header().Get("X-Subject-Token"); got != tc.token {
				t.Errorf("X-Subject-Token = %q, want the token sent", got)
			}
			var body struct {
				Token struct {
					ExpiresAt string   `json:"expires_at"`
					Methods   []string `json:"methods"`
				} `json:"token"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Token.ExpiresAt == "" || len(body.Token.Methods) != 1 {
				t.Errorf("token body = %s (%v)", rec.Body, err)
			}
		})
	}
}

// Without tokens the stand-in accepts any token, as the API does, but still
// never one that cannot be a header.
func TestKeystoneStandInOpen(t *testing.T) {
	h := newHarness(t, api.Options{})
	for _, tc := range []struct {
		token  string
		status int
	}{
		{"any-token-at-all", 201},
		{"a\x00\n\xff", 401},
		{strings.Repeat("a", 5000), 401},
	} {
		body, _ := json.Marshal(map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"token"}, "token": map[string]any{"id": tc.token}}}})
		r := h.postJSON("/v3/auth/tokens", string(body))
		if r.status != tc.status {
			t.Errorf("token %.20q: status %d, want %d: %s", tc.token, r.status, tc.status, r.raw)
		}
	}
}
