package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sirocco-wf/sirocco/sdk"
	"github.com/sirocco-wf/sirocco/sdk/sdktest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// echoHandler answers with what it received, so each case can check how
// the parameters were mapped onto the request.
func echoHandler(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	user, pass, _ := r.BasicAuth()
	cookies := map[string]string{}
	for _, c := range r.Cookies() {
		cookies[c.Name] = c.Value
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Reply", "yes")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"method":       r.Method,
		"query":        r.URL.RawQuery,
		"body":         string(body),
		"content_type": r.Header.Get("Content-Type"),
		"x_num":        r.Header.Get("X-Num"),
		"auth":         user + ":" + pass,
		"cookies":      cookies,
	})
}

// testServer serves the paths the cases call.
func testMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", echoHandler)
	mux.HandleFunc("/text", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "hello")
	})
	mux.HandleFunc("/latin1", func(w http.ResponseWriter, r *http.Request) {
		// No charset: requests takes text/* as ISO-8859-1.
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("caf\xe9"))
	})
	mux.HandleFunc("/big-number", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = io.WriteString(w, `{"id": 12345678901234567890, "x": 1.5}`)
	})
	mux.HandleFunc("/cookie", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "abc"})
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":"no such thing"}`)
	})
	mux.HandleFunc("/unavailable", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/text", http.StatusFound)
	})
	mux.HandleFunc("/redirect-twice", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/redirect", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	return mux
}

func testServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(testMux())
	t.Cleanup(srv.Close)
	return srv
}

// response is the part of a result the cases compare.
type response struct {
	Content  json.RawMessage   `json:"content"`
	Status   int               `json:"status"`
	Headers  map[string]string `json:"headers"`
	URL      string            `json:"url"`
	History  []Redirect        `json:"history"`
	Encoding *string           `json:"encoding"`
	Reason   string            `json:"reason"`
	Cookies  map[string]string `json:"cookies"`
	Elapsed  *float64          `json:"elapsed"`
}

func TestHTTP(t *testing.T) {
	srv := testServer(t)
	h := sdktest.New(t, Plugin())

	tests := []struct {
		name      string
		input     map[string]any
		status    int
		content   string // JSON of the expected content
		exact     string // text the content's JSON must hold as is
		encoding  string // "" for null
		history   []int  // statuses of the redirects followed
		errType   string
		errText   string // part of the error message
		retryable bool
	}{
		{
			name:     "get with params, numeric header and cookies",
			input:    map[string]any{"url": srv.URL + "/echo?z=0", "params": map[string]any{"a": 1, "b": []any{"x", "y"}, "t": true, "n": nil}, "headers": map[string]any{"X-Num": 42, "X-None": nil}, "cookies": map[string]any{"c": "d", "e": 5}},
			status:   200,
			encoding: "utf-8",
			content:  `{"method":"GET","query":"z=0&a=1&b=x&b=y&t=True","body":"","content_type":"","x_num":"42","auth":":","cookies":{"c":"d","e":"5"}}`,
		},
		{
			name:     "params as an encoded string",
			input:    map[string]any{"url": srv.URL + "/echo", "params": "q=a%20b&r=1"},
			status:   200,
			encoding: "utf-8",
			content:  `{"method":"GET","query":"q=a%20b&r=1","body":"","content_type":"","x_num":"","auth":":","cookies":{}}`,
		},
		{
			name:     "post json with basic auth and a lower-case method",
			input:    map[string]any{"url": srv.URL + "/echo", "method": "post", "json": map[string]any{"k": "<v>"}, "auth": "ada:se:cret", "timeout": 5},
			status:   200,
			encoding: "utf-8",
			content:  `{"method":"POST","query":"","body":"{\"k\":\"<v>\"}","content_type":"application/json","x_num":"","auth":"ada:se:cret","cookies":{}}`,
		},
		{
			name:     "body object is sent as JSON text without a content type",
			input:    map[string]any{"url": srv.URL + "/echo", "method": "PUT", "body": map[string]any{"n": 1}, "timeout": []any{2, nil}},
			status:   200,
			encoding: "utf-8",
			content:  `{"method":"PUT","query":"","body":"{\"n\":1}","content_type":"","x_num":"","auth":":","cookies":{}}`,
		},
		{
			name:     "an empty body leaves the json",
			input:    map[string]any{"url": srv.URL + "/echo", "method": "PATCH", "body": "", "json": []any{1}},
			status:   200,
			encoding: "utf-8",
			content:  `{"method":"PATCH","query":"","body":"[1]","content_type":"application/json","x_num":"","auth":":","cookies":{}}`,
		},
		{
			name:     "text content stays text",
			input:    map[string]any{"url": srv.URL + "/text"},
			status:   200,
			encoding: "utf-8",
			content:  `"hello"`,
		},
		{
			name:     "text without a charset is ISO-8859-1",
			input:    map[string]any{"url": srv.URL + "/latin1"},
			status:   200,
			encoding: "ISO-8859-1",
			content:  `"café"`,
		},
		{
			name:    "JSON without a content type is parsed and numbers stay exact",
			input:   map[string]any{"url": srv.URL + "/big-number"},
			status:  200,
			content: `{"id": 12345678901234567890, "x": 1.5}`,
			exact:   `12345678901234567890`,
		},
		{
			name:     "redirect not followed by default, 302 is success",
			input:    map[string]any{"url": srv.URL + "/redirect"},
			status:   302,
			encoding: "utf-8",
			content:  `"\u003ca href=\"/text\"\u003eFound\u003c/a\u003e.\n\n"`,
		},
		{
			name:     "redirects followed on request, with their history",
			input:    map[string]any{"url": srv.URL + "/redirect-twice", "allow_redirects": true},
			status:   200,
			encoding: "utf-8",
			content:  `"hello"`,
			history:  []int{301, 302},
		},
		{
			name:    "too many redirects",
			input:   map[string]any{"url": srv.URL + "/loop", "allow_redirects": true},
			errType: ErrRequestFailed,
			errText: "exceeded 30 redirects",
			// a loop stays a loop
			retryable: true,
		},
		{
			name:     "404 is an error carrying the response",
			input:    map[string]any{"url": srv.URL + "/missing"},
			status:   404,
			encoding: "utf-8",
			content:  `{"error":"no such thing"}`,
			errType:  ErrHTTPStatus,
			errText:  "returned 404 Not Found",
		},
		{
			name:      "503 is a retryable error",
			input:     map[string]any{"url": srv.URL + "/unavailable"},
			status:    503,
			content:   `""`,
			errType:   ErrHTTPStatus,
			retryable: true,
		},
		{
			name:    "body and json together",
			input:   map[string]any{"url": srv.URL + "/echo", "body": "a", "json": 1},
			errType: sdk.ErrTypeInvalidInput,
			errText: "only one of the parameters 'json' and 'body' can be passed",
		},
		{
			name:    "missing url",
			input:   map[string]any{"method": "GET"},
			errType: sdk.ErrTypeInvalidInput,
		},
		{
			name:    "relative url",
			input:   map[string]any{"url": "/echo"},
			errType: sdk.ErrTypeInvalidInput,
			errText: `parameter "url"`,
		},
		{
			name:    "ftp url",
			input:   map[string]any{"url": "ftp://example.com/x"},
			errType: sdk.ErrTypeInvalidInput,
			errText: `parameter "url"`,
		},
		{
			name:    "object as a header value",
			input:   map[string]any{"url": srv.URL + "/echo", "headers": map[string]any{"X": map[string]any{}}},
			errType: sdk.ErrTypeInvalidInput,
			errText: `header "X": want a string, number or boolean, got an object`,
		},
		{
			name:    "auth without a colon",
			input:   map[string]any{"url": srv.URL + "/echo", "auth": "ada"},
			errType: sdk.ErrTypeInvalidInput,
			errText: `parameter "auth"`,
		},
		{
			name:    "negative timeout",
			input:   map[string]any{"url": srv.URL + "/echo", "timeout": -1},
			errType: sdk.ErrTypeInvalidInput,
			errText: `parameter "timeout"`,
		},
		{
			name:    "verify is neither a boolean nor a path",
			input:   map[string]any{"url": strings.Replace(srv.URL, "http:", "https:", 1), "verify": 3},
			errType: sdk.ErrTypeInvalidInput,
			errText: `parameter "verify"`,
		},
		{
			name:     "verify is ignored for http URLs, as in Mistral",
			input:    map[string]any{"url": srv.URL + "/text", "verify": "/nonexistent/ca.pem"},
			status:   200,
			encoding: "utf-8",
			content:  `"hello"`,
		},
		{
			name:      "connection refused is retryable",
			input:     map[string]any{"url": "http://127.0.0.1:1/"},
			errType:   ErrRequestFailed,
			errText:   "Failed to send HTTP request",
			retryable: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := h.Execute(context.Background(), "std.http", tc.input)
			raw := run.Output
			if tc.errType != "" {
				require.NotNil(t, run.Error, "output: %s", run.Output)
				require.Equal(t, tc.errType, run.Error.Type, run.Error.Message)
				require.Contains(t, run.Error.Message, tc.errText)
				require.Equal(t, tc.retryable, run.Error.Retryable)
				raw = run.Error.Data
			} else {
				require.Nil(t, run.Error)
			}
			if tc.status == 0 {
				require.Empty(t, raw, "a request that got no response has no response data")
				return
			}
			var res response
			require.NoError(t, json.Unmarshal(raw, &res), string(raw))
			require.Equal(t, tc.status, res.Status)
			require.JSONEq(t, tc.content, string(res.Content))
			require.Contains(t, string(res.Content), tc.exact)
			if tc.encoding == "" {
				require.Nil(t, res.Encoding)
			} else {
				require.NotNil(t, res.Encoding)
				require.Equal(t, tc.encoding, *res.Encoding)
			}
			require.NotNil(t, res.History, "history is a list, never null")
			var history []int
			for _, r := range res.History {
				history = append(history, r.Status)
				require.True(t, strings.HasPrefix(r.URL, srv.URL), r.URL)
			}
			require.Equal(t, tc.history, history)
			require.NotNil(t, res.Elapsed)
			require.NotNil(t, res.Cookies)
			require.NotEmpty(t, res.Reason)
			require.True(t, strings.HasPrefix(res.URL, srv.URL+"/"), res.URL)
		})
	}
}

// The whole result, field by field, for one response that sets every
// part of it.
func TestHTTPResultShape(t *testing.T) {
	srv := testServer(t)
	h := sdktest.New(t, Plugin())
	run := h.Execute(context.Background(), "std.http", map[string]any{"url": srv.URL + "/cookie", "method": "POST"})
	require.Nil(t, run.Error)
	var res map[string]any
	require.NoError(t, json.Unmarshal(run.Output, &res))
	keys := make([]string, 0, len(res))
	for k := range res {
		keys = append(keys, k)
	}
	require.ElementsMatch(t, []string{"content", "status", "headers", "url", "history", "encoding", "reason", "cookies", "elapsed"}, keys)
	require.Equal(t, float64(201), res["status"])
	require.Equal(t, "Created", res["reason"])
	require.Equal(t, map[string]any{"session": "abc"}, res["cookies"])
	require.Equal(t, "session=abc", res["headers"].(map[string]any)["Set-Cookie"])
	require.Equal(t, srv.URL+"/cookie", res["url"])
	require.Equal(t, "", res["content"])
	require.Nil(t, res["encoding"])
}

func TestMistralHTTP(t *testing.T) {
	got := make(chan http.Header, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	h := sdktest.New(t, Plugin())

	exec := sdk.ExecContext{
		WorkflowName: "deploy", WorkflowExecutionID: "wf-1", TaskExecutionID: "task-1", ActionExecutionID: "ae-1", Attempt: 1,
		CallbackURL: "http://sirocco.example/v2/action_executions/ae-1",
	}
	run := h.ExecuteWith(context.Background(), "std.mistral_http", map[string]any{
		"url": srv.URL, "method": "POST", "json": map[string]any{"job": 1},
		// Mistral's headers replace the workflow's own of the same name.
		"headers": map[string]any{"Mistral-Task-Id": "forged", "X-Own": "kept"},
	}, exec)
	require.Nil(t, run.Error)
	hdr := <-got
	require.Equal(t, "deploy", hdr.Get("Mistral-Workflow-Name"))
	require.Equal(t, "wf-1", hdr.Get("Mistral-Workflow-Execution-Id"))
	require.Equal(t, "task-1", hdr.Get("Mistral-Task-Id"))
	require.Equal(t, "ae-1", hdr.Get("Mistral-Action-Execution-Id"))
	require.Equal(t, "http://sirocco.example/v2/action_executions/ae-1", hdr.Get("Mistral-Callback-URL"))
	require.Equal(t, "kept", hdr.Get("X-Own"))
	var res response
	require.NoError(t, json.Unmarshal(run.Output, &res))
	require.Equal(t, 202, res.Status)

	// A name the host did not send (an action run on its own, or a host of
	// protocol minor 0) leaves the header out rather than sending it empty.
	anon := exec
	anon.WorkflowName = ""
	run = h.ExecuteWith(context.Background(), "std.mistral_http", map[string]any{"url": srv.URL}, anon)
	require.Nil(t, run.Error)
	hdr = <-got
	require.NotContains(t, hdr, "Mistral-Workflow-Name")
	require.Equal(t, "wf-1", hdr.Get("Mistral-Workflow-Execution-Id"))

	// The callee refusing the job fails the action at once, as in Mistral.
	fail := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusBadRequest)
	}))
	t.Cleanup(fail.Close)
	run = h.ExecuteWith(context.Background(), "std.mistral_http", map[string]any{"url": fail.URL}, exec)
	require.NotNil(t, run.Error)
	require.Equal(t, ErrHTTPStatus, run.Error.Type)
}

func TestHTTPDescribe(t *testing.T) {
	h := sdktest.New(t, Plugin())
	actions := h.Actions(context.Background())
	require.Len(t, actions, 2)
	require.Equal(t, "std.http", actions[0].Name)
	require.False(t, actions[0].Async)
	require.True(t, actions[0].Cancellable)
	require.Equal(t, "std.mistral_http", actions[1].Name)
	require.True(t, actions[1].Async)
	for _, a := range actions {
		var schema struct {
			Required   []string                  `json:"required"`
			Properties map[string]map[string]any `json:"properties"`
		}
		require.NoError(t, json.Unmarshal(a.InputSchema, &schema))
		require.Equal(t, []string{"url"}, schema.Required)
		names := make([]string, 0, len(schema.Properties))
		for n, p := range schema.Properties {
			names = append(names, n)
			require.NotEmpty(t, p["description"], "parameter %s of %s has no description", n, a.Name)
		}
		// Every parameter of Mistral's std.http, and no other.
		require.ElementsMatch(t, []string{"url", "method", "params", "body", "json", "headers", "cookies", "auth",
			"timeout", "allow_redirects", "proxies", "verify"}, names)
		require.Equal(t, "GET", schema.Properties["method"]["default"])
	}
}

// HTTPS: the server's certificate is verified by default, against a CA
// bundle given by path, or not at all when verify is false.
func TestHTTPS(t *testing.T) {
	srv := httptest.NewTLSServer(testMux())
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	bundle := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	caDir := filepath.Join(dir, "certs")
	require.NoError(t, os.Mkdir(caDir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(caDir, "test.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	empty := filepath.Join(dir, "empty.pem")
	require.NoError(t, os.WriteFile(empty, []byte("not a certificate"), 0o600))

	h := sdktest.New(t, Plugin())
	tests := []struct {
		name    string
		verify  any
		errType string
		errText string
	}{
		{name: "unknown CA is refused by default", verify: nil, errType: ErrRequestFailed, errText: "certificate"},
		{name: "verify true refuses it too", verify: true, errType: ErrRequestFailed, errText: "certificate"},
		{name: "verify false accepts it", verify: false},
		{name: "the CA bundle file", verify: bundle},
		{name: "a directory of CA files", verify: caDir},
		{name: "a bundle without certificates", verify: empty, errType: sdk.ErrTypeInvalidInput, errText: "holds no PEM certificate"},
		{name: "a bundle that does not exist", verify: filepath.Join(dir, "nope.pem"), errType: sdk.ErrTypeInvalidInput, errText: "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := map[string]any{"url": srv.URL + "/echo", "method": "DELETE"}
			if tc.verify != nil {
				in["verify"] = tc.verify
			}
			run := h.Execute(context.Background(), "std.http", in)
			if tc.errType != "" {
				require.NotNil(t, run.Error, "output: %s", run.Output)
				require.Equal(t, tc.errType, run.Error.Type, run.Error.Message)
				require.Contains(t, run.Error.Message, tc.errText)
				return
			}
			require.Nil(t, run.Error)
			var res response
			require.NoError(t, json.Unmarshal(run.Output, &res))
			require.Equal(t, 200, res.Status)
			require.Contains(t, string(res.Content), `"method":"DELETE"`)
		})
	}
}

// A proxy given in proxies carries the request; the key that names the
// scheme and host wins over the one that names the scheme.
func TestHTTPProxies(t *testing.T) {
	proxied := func(name string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// A forward proxy receives the absolute URL.
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{"proxy": name, "target": r.URL.String()})
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	a, b := proxied("a"), proxied("b")
	h := sdktest.New(t, Plugin())
	tests := []struct {
		name    string
		proxies map[string]any
		want    string
	}{
		{name: "by scheme", proxies: map[string]any{"http": a.URL}, want: `{"proxy":"a","target":"http://target.invalid/x"}`},
		{name: "scheme and host win", proxies: map[string]any{"http": a.URL, "http://target.invalid": b.URL}, want: `{"proxy":"b","target":"http://target.invalid/x"}`},
		{name: "all", proxies: map[string]any{"https": a.URL, "all": strings.TrimPrefix(b.URL, "http://")}, want: `{"proxy":"b","target":"http://target.invalid/x"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := h.Execute(context.Background(), "std.http", map[string]any{"url": "http://target.invalid/x", "proxies": tc.proxies})
			require.Nil(t, run.Error)
			var res response
			require.NoError(t, json.Unmarshal(run.Output, &res))
			require.JSONEq(t, tc.want, string(res.Content))
		})
	}
}
