package api_test

import (
	"bytes"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/api/apifuzz"
	"github.com/sirocco-wf/sirocco/daemon/internal/server"
	"github.com/sirocco-wf/sirocco/daemon/internal/servertest"
)

// FuzzStartExecution: no request body, however broken, may make the API
// answer 500 (or panic): bad input is the caller's error, and a 500 would
// send an operator looking for a bug that is not there.
func FuzzStartExecution(f *testing.F) {
	seeds := []string{
		`{"workflow_name":"hello_wf","input":{"name":"x"}}`,
		`{"workflow_name":"hello_wf","input":"{\"name\": \"x\"}","params":"{\"env\":{}}"}`,
		`{"workflow_name":"hello_wf","input":"{bad"}`,
		`{"workflow_id":"00000000-0000-4000-8000-000000000001"}`,
		`{"workflow_name":"hello_wf","id":"x","input":[1,{"a":null}],"params":1e999}`,
		`{"workflow_name":"hello_wf","input":"\"\\u0000\""}`,
		`[]`, `null`, `"x"`, ``, `{`, `{"input":{"a":` + "\xff" + `}}`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	h := newHarness(&testing.T{}, api.Options{MaxBodyBytes: 64 << 10})
	h.createHello()
	f.Fuzz(func(t *testing.T, body string) {
		h.t = t
		r := h.do(http.MethodPost, "/v2/executions", "application/json", []byte(body))
		if r.status >= 500 {
			t.Fatalf("body %q: status %d: %s", body, r.status, r.raw)
		}
	})
}

// FuzzCreateWorkflows: the same for workflow documents.
func FuzzCreateWorkflows(f *testing.F) {
	for _, s := range []string{helloYAML, "", "version: '2.0'\n", "version: '2.0'\nwf: [\n", "\x00", "version: 2.0\nwf: !!binary x\n"} {
		f.Add(s)
	}
	h := newHarness(&testing.T{}, api.Options{MaxBodyBytes: 64 << 10})
	f.Fuzz(func(t *testing.T, body string) {
		h.t = t
		r := h.do(http.MethodPost, "/v2/workflows", "text/plain", []byte(body))
		if r.status >= 500 {
			t.Fatalf("body %q: status %d: %s", body, r.status, r.raw)
		}
	})
}

// TestAPIRandomRequests sends random requests to every operation the API
// documents: first over the fake backend, then to a real server (engine,
// SQLite, embedded NATS, an executor host), whose answers come from real
// queries, locks and state changes. The real pass first sends each
// creating operation's documented example, which must work, and aims many
// requests at the rows those made. No answer may be a 5xx.
func TestAPIRandomRequests(t *testing.T) {
	const maxBody = 64 << 10
	t.Run("fake backend", func(t *testing.T) {
		h := newHarness(t, api.Options{MaxBodyBytes: maxBody})
		h.createHello()
		ex := h.startHello()
		send := apifuzz.InProcess(h.h)
		apifuzz.Run(t, send, apifuzz.LoadOperations(t, send), []string{"hello_wf", ex}, 1, 200, maxBody)
		if t.Failed() {
			t.Logf("server log:\n%s", h.logs)
		}
	})
	t.Run("real server", func(t *testing.T) {
		base, logs := startServer(t)
		send := apifuzz.OverHTTP(t, base)
		ops := apifuzz.LoadOperations(t, send)
		known := apifuzz.SeedFromExamples(t, send, ops)
		apifuzz.Run(t, send, ops, known, 2, 100, api.DefaultMaxBodyBytes)
		if t.Failed() {
			t.Logf("server log:\n%s", logs)
		}
	})
}

// syncBuffer is a log sink the server's goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs a whole embedded server (every role) on a free port,
// with the built-in actions only, and returns its URL and its log.
func startServer(t *testing.T) (string, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	base := servertest.Start(t, server.Config{
		Logger: hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Warn}), Grace: time.Second,
	})
	return base, logs
}

// FuzzAPI lets Go's fuzzer choose the operation, method, path values,
// query and body of a request to the API over the fake backend.
func FuzzAPI(f *testing.F) {
	h := newHarness(&testing.T{}, api.Options{MaxBodyBytes: 64 << 10})
	h.createHello()
	ex := h.startHello()
	send := apifuzz.InProcess(h.h)
	ops := apifuzz.LoadOperations(f, send)
	for i := range ops {
		f.Add(uint8(i), uint8(0), "hello_wf", "limit=1&sort_keys=name", uint8(0), []byte(`{"workflow_name":"hello_wf"}`))
		f.Add(uint8(i), uint8(1), ex, "marker="+ex, uint8(1), []byte(helloYAML))
	}
	f.Fuzz(func(t *testing.T, opIndex, method uint8, value, query string, ctype uint8, body []byte) {
		op := ops[int(opIndex)%len(ops)]
		req := apifuzz.FuzzRequest(op, method, value, query, ctype, body)
		if req == nil {
			return
		}
		apifuzz.CheckAnswer(t, op, req, body, apifuzz.Send(op, send, req))
	})
}
