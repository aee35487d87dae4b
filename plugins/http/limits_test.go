package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sirocco-wf/sirocco/sdk"
	"github.com/sirocco-wf/sirocco/sdk/sdktest"
)

// The response cap holds whether the server declares the length, streams
// the body in chunks or compresses it.
func TestHTTPResponseCap(t *testing.T) {
	const limit = 100
	payload := strings.Repeat("x", limit+1)
	mux := http.NewServeMux()
	mux.HandleFunc("/declared", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(payload))
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		for i := range payload {
			_, _ = w.Write([]byte{payload[i]})
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/gzip", func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		gz := gzip.NewWriter(&b)
		_, _ = gz.Write([]byte(payload))
		_ = gz.Close()
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(b.Bytes())
	})
	mux.HandleFunc("/fits", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`"` + strings.Repeat("y", limit-2) + `"`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	h := sdktest.New(t, NewPlugin(Config{MaxResponseBytes: limit}))

	for _, path := range []string{"/declared", "/chunked", "/gzip", "/fits"} {
		t.Run(path, func(t *testing.T) {
			run := h.Execute(context.Background(), "std.http", map[string]any{"url": srv.URL + path})
			if path == "/fits" {
				require.Nil(t, run.Error)
				var res response
				require.NoError(t, json.Unmarshal(run.Output, &res))
				require.Len(t, string(res.Content), limit)
				return
			}
			require.NotNil(t, run.Error)
			require.Equal(t, ErrTooLarge, run.Error.Type, run.Error.Message)
			require.Contains(t, run.Error.Message, "larger than the 100 bytes")
			require.Contains(t, run.Error.Message, envMaxResponse)
			require.False(t, run.Error.Retryable)
		})
	}
}

// listenOn serves h on a loopback address other than 127.0.0.1, so that a
// policy can tell two local servers apart.
func listenOn(t *testing.T, addr string, h http.Handler) string {
	l, err := net.Listen("tcp", addr+":0")
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: h}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestHTTPEgressPolicy(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("reached")) })
	other := listenOn(t, "127.0.0.2", ok)
	mux := http.NewServeMux()
	mux.Handle("/ok", ok)
	mux.HandleFunc("/to-other", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other+"/", http.StatusFound)
	})
	// A forward proxy that answers for any target.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("proxied " + r.URL.Host))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]

	policy := func(allowed, denied string) *Policy {
		cfg, err := ConfigFromEnv(func(k string) string {
			return map[string]string{envAllowed: allowed, envDenied: denied}[k]
		})
		require.NoError(t, err)
		require.NotNil(t, cfg.Egress)
		return cfg.Egress
	}
	tests := []struct {
		name    string
		policy  *Policy
		input   map[string]any
		content string
		errText string
	}{
		{name: "denied loopback", policy: policy("", "loopback"), input: map[string]any{"url": srv.URL + "/ok"},
			errText: "127.0.0.1 is in the denied network 127.0.0.0/8"},
		{name: "a name resolving to a denied address", policy: policy("", "loopback"), input: map[string]any{"url": "http://localhost" + port + "/ok"},
			errText: "is in the denied network"},
		{name: "not in the allowed networks", policy: policy("10.0.0.0/8", ""), input: map[string]any{"url": srv.URL + "/ok"},
			errText: "127.0.0.1 is in none of the allowed networks"},
		{name: "allowed", policy: policy("127.0.0.1, 10.0.0.0/8", "private"), input: map[string]any{"url": srv.URL + "/ok"},
			content: `"reached"`},
		{name: "denied wins over allowed", policy: policy("loopback", "127.0.0.1/32"), input: map[string]any{"url": srv.URL + "/ok"},
			errText: "denied network 127.0.0.1/32"},
		{name: "a redirect to a denied address", policy: policy("127.0.0.1", ""), input: map[string]any{"url": srv.URL + "/to-other", "allow_redirects": true},
			errText: "127.0.0.2 is in none of the allowed networks"},
		{name: "through an allowed proxy to an allowed target", policy: policy("127.0.0.1", "link-local"), input: map[string]any{"url": "http://target.invalid/", "proxies": map[string]any{"http": srv.URL}},
			content: `"proxied target.invalid"`},
		{name: "through an allowed proxy to a denied target", policy: policy("127.0.0.1", "link-local"), input: map[string]any{"url": "http://169.254.169.254/latest/meta-data", "proxies": map[string]any{"http": srv.URL}},
			errText: "169.254.169.254 is in the denied network 169.254.0.0/16"},
		{name: "through a denied proxy", policy: policy("10.0.0.0/8", ""), input: map[string]any{"url": "http://10.1.2.3/", "proxies": map[string]any{"http": srv.URL}},
			errText: "127.0.0.1 is in none of the allowed networks"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.New(t, NewPlugin(Config{MaxResponseBytes: DefaultMaxResponse, Egress: tc.policy}))
			run := h.Execute(context.Background(), "std.http", tc.input)
			if tc.errText != "" {
				require.NotNil(t, run.Error, "output: %s", run.Output)
				require.Equal(t, ErrEgress, run.Error.Type, run.Error.Message)
				require.Contains(t, run.Error.Message, tc.errText)
				require.False(t, run.Error.Retryable)
				return
			}
			require.Nil(t, run.Error)
			var res response
			require.NoError(t, json.Unmarshal(run.Output, &res))
			require.JSONEq(t, tc.content, string(res.Content))
		})
	}
}

// stall is a server whose handlers wait until the client goes away or the
// test ends.
func stall(t *testing.T, before func(http.ResponseWriter), seen chan<- struct{}) *httptest.Server {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if before != nil {
			before(w)
		}
		if seen != nil {
			seen <- struct{}{}
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() {
		close(release)
		srv.Close()
	})
	return srv
}

func TestHTTPTimeouts(t *testing.T) {
	noHeaders := stall(t, nil, nil)
	halfBody := stall(t, func(w http.ResponseWriter) {
		w.Header().Set("Content-Length", "10")
		_, _ = w.Write([]byte("12345"))
		w.(http.Flusher).Flush()
	}, nil)
	h := sdktest.New(t, Plugin())
	tests := []struct {
		name    string
		input   map[string]any
		errText string
	}{
		{name: "no response headers within the timeout", input: map[string]any{"url": noHeaders.URL, "timeout": 0.2}, errText: "timeout awaiting response headers"},
		{name: "no more body within the read timeout", input: map[string]any{"url": halfBody.URL, "timeout": []any{5, 0.2}}, errText: "no data for 200ms (the read timeout)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := h.Execute(context.Background(), "std.http", tc.input)
			require.NotNil(t, run.Error)
			require.Equal(t, ErrRequestFailed, run.Error.Type, run.Error.Message)
			require.Contains(t, run.Error.Message, tc.errText)
			require.True(t, run.Error.Retryable)
		})
	}
}

// Cancelling the run (as stopping the execution does) abandons the
// request at once.
func TestHTTPCancel(t *testing.T) {
	seen := make(chan struct{}, 1)
	srv := stall(t, nil, seen)
	h := sdktest.New(t, Plugin())
	done := make(chan sdktest.Run, 1)
	go func() {
		done <- h.ExecuteWith(context.Background(), "std.http", map[string]any{"url": srv.URL},
			sdk.ExecContext{ActionExecutionID: "cancel-me", Attempt: 1})
	}()
	<-seen
	require.True(t, h.Cancel(context.Background(), "cancel-me"))
	run := <-done
	require.NotNil(t, run.Error)
	require.Equal(t, sdk.ErrTypeCancelled, run.Error.Type, run.Error.Message)
}
