package api_test

import (
	"net/http"
	"testing"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
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
