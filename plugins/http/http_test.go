package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sirocco-wf/sirocco/sdk/sdktest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// echoServer answers with what it received, so each case can check how the
// parameters were mapped onto the request.
func echoServer(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		user, pass, _ := r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Reply", "yes")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"method":       r.Method,
			"query":        r.URL.RawQuery,
			"body":         string(body),
			"content_type": r.Header.Get("Content-Type"),
			"x_num":        r.Header.Get("X-Num"),
			"auth":         user + ":" + pass,
			"mistral_ae":   r.Header.Get("Mistral-Action-Execution-Id"),
		})
	})
	mux.HandleFunc("/text", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "hello")
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
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTP(t *testing.T) {
	srv := echoServer(t)
	h := sdktest.New(t, Plugin())

	tests := []struct {
		name      string
		action    string
		input     map[string]any
		status    int
		content   string // JSON of the expected content
		errType   string
		retryable bool
	}{
		{
			name:    "get with params and numeric header",
			action:  "std.http",
			input:   map[string]any{"url": srv.URL + "/echo", "params": map[string]any{"a": 1, "b": []any{"x", "y"}}, "headers": map[string]any{"X-Num": 42}},
			status:  200,
			content: `{"method":"GET","query":"a=1&b=x&b=y","body":"","content_type":"","x_num":"42","auth":":","mistral_ae":""}`,
		},
		{
			name:    "post json with basic auth",
			action:  "std.http",
			input:   map[string]any{"url": srv.URL + "/echo", "method": "post", "json": map[string]any{"k": "v"}, "auth": "ada:secret", "timeout": 5},
			status:  200,
			content: `{"method":"POST","query":"","body":"{\"k\":\"v\"}","content_type":"application/json","x_num":"","auth":"ada:secret","mistral_ae":""}`,
		},
		{
			name:    "body object is sent as JSON text",
			action:  "std.http",
			input:   map[string]any{"url": srv.URL + "/echo", "method": "PUT", "body": map[string]any{"n": 1}},
			status:  200,
			content: `{"method":"PUT","query":"","body":"{\"n\":1}","content_type":"","x_num":"","auth":":","mistral_ae":""}`,
		},
		{
			name:    "text content stays text",
			action:  "std.http",
			input:   map[string]any{"url": srv.URL + "/text"},
			status:  200,
			content: `"hello"`,
		},
		{
			name:    "redirect not followed by default, 302 is success",
			action:  "std.http",
			input:   map[string]any{"url": srv.URL + "/redirect"},
			status:  302,
			content: `"\u003ca href=\"/text\"\u003eFound\u003c/a\u003e.\n\n"`,
		},
		{
			name:    "redirect followed on request",
			action:  "std.http",
			input:   map[string]any{"url": srv.URL + "/redirect", "allow_redirects": true},
			status:  200,
			content: `"hello"`,
		},
		{
			name:    "mistral headers",
			action:  "std.mistral_http",
			input:   map[string]any{"url": srv.URL + "/echo"},
			status:  200,
			content: `{"method":"GET","query":"","body":"","content_type":"","x_num":"","auth":":","mistral_ae":"action-exec-1"}`,
		},
		{
			name:    "404 is an error carrying the response",
			action:  "std.http",
			input:   map[string]any{"url": srv.URL + "/missing"},
			status:  404,
			content: `{"error":"no such thing"}`,
			errType: "HTTPError",
		},
		{
			name:      "503 is a retryable error",
			action:    "std.http",
			input:     map[string]any{"url": srv.URL + "/unavailable"},
			status:    503,
			content:   `""`,
			errType:   "HTTPError",
			retryable: true,
		},
		{
			name:    "body and json together",
			action:  "std.http",
			input:   map[string]any{"url": srv.URL + "/echo", "body": "a", "json": 1},
			errType: "ActionError",
		},
		{
			name:    "missing url",
			action:  "std.http",
			input:   map[string]any{"method": "GET"},
			errType: "InvalidInput",
		},
		{
			name:      "connection refused is retryable",
			action:    "std.http",
			input:     map[string]any{"url": "http://127.0.0.1:1/"},
			errType:   "HTTPRequestFailed",
			retryable: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := h.Execute(context.Background(), tc.action, tc.input)
			raw := run.Output
			if tc.errType != "" {
				require.NotNil(t, run.Error, "output: %s", run.Output)
				require.Equal(t, tc.errType, run.Error.Type, run.Error.Message)
				require.Equal(t, tc.retryable, run.Error.Retryable)
				raw = run.Error.Data
			} else {
				require.Nil(t, run.Error)
			}
			if tc.status == 0 {
				return
			}
			var res struct {
				Content json.RawMessage   `json:"content"`
				Status  int               `json:"status"`
				Headers map[string]string `json:"headers"`
			}
			require.NoError(t, json.Unmarshal(raw, &res), string(raw))
			require.Equal(t, tc.status, res.Status)
			require.JSONEq(t, tc.content, string(res.Content))
		})
	}
}

func TestHTTPDescribe(t *testing.T) {
	h := sdktest.New(t, Plugin())
	actions := h.Actions(context.Background())
	require.Len(t, actions, 2)
	require.Equal(t, "std.http", actions[0].Name)
	require.False(t, actions[0].Async)
	require.Equal(t, "std.mistral_http", actions[1].Name)
	require.True(t, actions[1].Async)
	var schema struct {
		Required []string `json:"required"`
	}
	require.NoError(t, json.Unmarshal(actions[0].InputSchema, &schema))
	require.Equal(t, []string{"url"}, schema.Required)
}
