package api_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/api/apitest"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

const helloYAML = `---
version: '2.0'
hello_wf:
  type: direct
  input:
    - name: world
  output:
    greeting: <% $.greeting %>
    extra: 1
  tasks:
    t1:
      action: std.echo output="Hello, <% $.name %>"
`

// harness is one API over one fake backend.
type harness struct {
	t    *testing.T
	fake *apitest.Fake
	h    http.Handler
	logs *bytes.Buffer
}

func newHarness(t *testing.T, opts api.Options) *harness {
	t.Helper()
	logs := &bytes.Buffer{}
	log := hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Debug})
	f := apitest.New()
	return &harness{t: t, fake: f, h: api.New(f, log, opts), logs: logs}
}

// response is a recorded answer with its decoded JSON body.
type response struct {
	status int
	ctype  string
	header http.Header
	raw    []byte
	body   map[string]any
}

func (h *harness) do(method, path, ctype string, body []byte) response {
	h.t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	rec := httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	r := response{status: rec.Code, ctype: rec.Header().Get("Content-Type"), header: rec.Header(), raw: rec.Body.Bytes()}
	if strings.Contains(r.ctype, "json") {
		if err := json.Unmarshal(r.raw, &r.body); err != nil {
			h.t.Fatalf("%s %s: answer is not a JSON object: %v\n%s", method, path, err, r.raw)
		}
	}
	return r
}

func (h *harness) postJSON(path, body string) response {
	return h.do(http.MethodPost, path, "application/json", []byte(body))
}

func (h *harness) get(path string) response { return h.do(http.MethodGet, path, "", nil) }

func (h *harness) createHello() {
	h.t.Helper()
	r := h.do(http.MethodPost, "/v2/workflows", "text/plain", []byte(helloYAML))
	if r.status != http.StatusCreated {
		h.t.Fatalf("create hello_wf: %d %s", r.status, r.raw)
	}
}

func (h *harness) startHello() string {
	h.t.Helper()
	r := h.postJSON("/v2/executions", `{"workflow_name":"hello_wf","input":{"name":"x"}}`)
	if r.status != http.StatusCreated {
		h.t.Fatalf("start hello_wf: %d %s", r.status, r.raw)
	}
	return r.body["id"].(string)
}

// wantProblem checks an error answer: status, problem+json, and a detail
// (mirrored in faultstring for python-mistralclient) containing every want.
func wantProblem(t *testing.T, r response, status int, want ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.raw)
	}
	if r.ctype != "application/problem+json" {
		t.Errorf("content type = %q, want application/problem+json", r.ctype)
	}
	detail, _ := r.body["detail"].(string)
	if fs, _ := r.body["faultstring"].(string); fs != detail {
		t.Errorf("faultstring %q differs from detail %q", fs, detail)
	}
	for _, w := range want {
		if !strings.Contains(detail, w) {
			t.Errorf("detail %q does not contain %q", detail, w)
		}
	}
}

func TestCreateWorkflows(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		status int
		want   []string // substrings of the problem detail
	}{
		{name: "ok", body: helloYAML, status: http.StatusCreated},
		{name: "empty body", body: "", status: http.StatusBadRequest, want: []string{"body is required"}},
		{name: "malformed YAML names the line", body: "version: '2.0'\nwf:\n  tasks:\n    a: [\n", status: http.StatusBadRequest, want: []string{"line"}},
		{name: "not a v2 document", body: "version: '1.0'\nwf: {}\n", status: http.StatusBadRequest, want: []string{"version"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, api.Options{})
			r := h.do(http.MethodPost, "/v2/workflows", "text/plain", []byte(tc.body))
			if tc.status != http.StatusCreated {
				wantProblem(t, r, tc.status, tc.want...)
				return
			}
			if r.status != tc.status {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			wfs := r.body["workflows"].([]any)
			if len(wfs) != 1 {
				t.Fatalf("workflows = %v", wfs)
			}
			wf := wfs[0].(map[string]any)
			if wf["name"] != "hello_wf" || wf["definition"] != helloYAML || wf["scope"] != "private" || wf["input"] != `name="world"` {
				t.Errorf("workflow = %v", wf)
			}
			// POST answers interface as an object, as Mistral does.
			iface, ok := wf["interface"].(map[string]any)
			if !ok {
				t.Fatalf("interface = %#v, want an object", wf["interface"])
			}
			if out, _ := json.Marshal(iface["output"]); string(out) != `["extra","greeting"]` {
				t.Errorf("interface output = %s", out)
			}
			if wf["created_at"] != "2026-11-30 12:00:00" {
				t.Errorf("created_at = %v", wf["created_at"])
			}
		})
	}
}

func TestCreateWorkflowsConflict(t *testing.T) {
	h := newHarness(t, api.Options{})
	h.createHello()
	r := h.do(http.MethodPost, "/v2/workflows", "text/plain", []byte(helloYAML))
	wantProblem(t, r, http.StatusConflict, "hello_wf")
}

func TestBodyLimit(t *testing.T) {
	h := newHarness(t, api.Options{MaxBodyBytes: 1024})
	big := helloYAML + "# " + strings.Repeat("x", 2048) + "\n"
	wantProblem(t, h.do(http.MethodPost, "/v2/workflows", "text/plain", []byte(big)), http.StatusRequestEntityTooLarge, "too large")
	bigJSON := `{"workflow_name":"hello_wf","description":"` + strings.Repeat("x", 2048) + `"}`
	wantProblem(t, h.postJSON("/v2/executions", bigJSON), http.StatusRequestEntityTooLarge, "too large")
}

func TestGetAndListWorkflows(t *testing.T) {
	h := newHarness(t, api.Options{})
	h.createHello()

	r := h.get("/v2/workflows/hello_wf")
	if r.status != http.StatusOK {
		t.Fatalf("get: %d %s", r.status, r.raw)
	}
	// GET answers interface as a JSON-encoded string, as Mistral does.
	if r.body["interface"] != `{"input":[{"name":"world"}],"output":["extra","greeting"]}` {
		t.Errorf("interface = %#v", r.body["interface"])
	}
	if v, ok := r.body["updated_at"]; !ok || v != nil {
		t.Errorf("updated_at = %#v, want null", v)
	}
	id := r.body["id"].(string)
	if r := h.get("/v2/workflows/" + id); r.status != http.StatusOK || r.body["name"] != "hello_wf" {
		t.Errorf("get by id: %d %s", r.status, r.raw)
	}
	wantProblem(t, h.get("/v2/workflows/nope_wf"), http.StatusNotFound, `"nope_wf"`)

	r = h.get("/v2/workflows?limit=1&marker=m&sort_keys=name,created_at&sort_dirs=desc&name=hello_wf")
	if r.status != http.StatusOK {
		t.Fatalf("list: %d %s", r.status, r.raw)
	}
	got := h.fake.LastList
	if got.Marker != "m" || got.Limit != 1 || strings.Join(got.SortKeys, ",") != "name,created_at" ||
		strings.Join(got.SortDirs, ",") != "desc,asc" || got.Filters["name"] != "hello_wf" {
		t.Errorf("ListOpts = %+v", got)
	}
}

func TestListPaging(t *testing.T) {
	h := newHarness(t, api.Options{})
	h.createHello()
	h.do(http.MethodPost, "/v2/workflows", "text/plain", []byte("version: '2.0'\nother_wf:\n  tasks: {}\n"))
	r := h.get("/v2/workflows?limit=1")
	next, _ := r.body["next"].(string)
	if !strings.Contains(next, "/v2/workflows?") || !strings.Contains(next, "limit=1") || !strings.Contains(next, "marker=") {
		t.Fatalf("next = %q", next)
	}
	if r := h.get("/v2/workflows"); r.body["next"] != nil {
		t.Errorf("an unlimited listing has next = %v", r.body["next"])
	}
}

func TestListParamErrors(t *testing.T) {
	tests := []struct {
		query string
		want  string
	}{
		{"limit=-1", "limit"},
		{"sort_keys=password", `"password"`},
		{"sort_keys=id&sort_dirs=up", `"up"`},
		{"sort_keys=id&sort_dirs=asc,desc", "one direction per key"},
		{"limit=abc", "limit"},
	}
	for _, path := range []string{"/v2/workflows", "/v2/executions"} {
		for _, tc := range tests {
			t.Run(path+"?"+tc.query, func(t *testing.T) {
				h := newHarness(t, api.Options{})
				r := h.get(path + "?" + tc.query)
				if r.status != http.StatusBadRequest && r.status != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 400 or 422: %s", r.status, r.raw)
				}
				wantProblem(t, r, r.status, tc.want)
			})
		}
	}
}

func TestStartExecutionForms(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantInput  map[string]any
		wantParams map[string]any
	}{
		{"objects", `{"workflow_name":"hello_wf","input":{"name":"x"},"params":{"env":{"k":1}}}`,
			map[string]any{"name": "x"}, map[string]any{"env": map[string]any{"k": int64(1)}}},
		{"JSON strings, as mistralclient sends", `{"workflow_name":"hello_wf","input":"{\"name\": \"x\"}","params":"{\"env\": {\"k\": 1}}"}`,
			map[string]any{"name": "x"}, map[string]any{"env": map[string]any{"k": int64(1)}}},
		{"absent", `{"workflow_name":"hello_wf"}`, nil, nil},
		{"null and empty string", `{"workflow_name":"hello_wf","input":null,"params":""}`, nil, nil},
		{"empty object string", `{"workflow_name":"hello_wf","input":"{}"}`, map[string]any{}, nil},
		{"big integers keep precision", `{"workflow_name":"hello_wf","input":{"name":9007199254740993}}`,
			map[string]any{"name": int64(9007199254740993)}, nil},
		{"unknown members are ignored", `{"workflow_name":"hello_wf","workflow_namespace":"","source_execution_id":null}`, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, api.Options{})
			h.createHello()
			r := h.postJSON("/v2/executions", tc.body)
			if r.status != http.StatusCreated {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			got := h.fake.LastStart
			if !jsonEqual(got.Input, tc.wantInput) || !jsonEqual(got.Params, tc.wantParams) {
				t.Errorf("StartRequest = %+v", got)
			}
			if tc.wantInput != nil && got.Input["name"] != tc.wantInput["name"] {
				t.Errorf("input name = %#v (%T), want %#v", got.Input["name"], got.Input["name"], tc.wantInput["name"])
			}
			// The answer carries input/params/output as JSON strings.
			for _, k := range []string{"input", "params", "output"} {
				if _, ok := r.body[k].(string); !ok {
					t.Errorf("%s = %#v, want a JSON-encoded string", k, r.body[k])
				}
			}
			if r.body["state"] != store.StateRunning || r.body["workflow_name"] != "hello_wf" {
				t.Errorf("execution = %v", r.body)
			}
		})
	}
}

func jsonEqual(a, b map[string]any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestStartExecutionErrors(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		status int
		want   []string
	}{
		{"input string not JSON", `{"workflow_name":"hello_wf","input":"{bad"}`, 400, []string{"input: not a JSON object"}},
		{"input string is an array", `{"workflow_name":"hello_wf","input":"[1,2]"}`, 400, []string{"input: not a JSON object", "an array"}},
		{"input is a number", `{"workflow_name":"hello_wf","input":5}`, 400, []string{"input: not a JSON object", "a number"}},
		{"input string with trailing data", `{"workflow_name":"hello_wf","input":"{} {}"}`, 400, []string{"input: not a JSON object"}},
		{"params string not JSON", `{"workflow_name":"hello_wf","params":"env=1"}`, 400, []string{"params: not a JSON object"}},
		{"params is a list", `{"workflow_name":"hello_wf","params":[]}`, 400, []string{"params: not a JSON object", "an array"}},
		{"no workflow", `{"input":{}}`, 400, []string{"workflow_name is required"}},
		{"unknown workflow", `{"workflow_name":"nope_wf"}`, 404, []string{`"nope_wf"`}},
		{"unknown workflow id", `{"workflow_id":"123"}`, 404, []string{`"123"`}},
		{"backend rejects input", `{"workflow_name":"hello_wf","input":{"bogus":1}}`, 400, []string{`"bogus"`}},
		{"malformed body", `{"workflow_name":`, 400, nil},
		{"body is not an object", `[]`, 422, nil},
		{"wrong member type", `{"workflow_name":5}`, 422, []string{"workflow_name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, api.Options{})
			h.createHello()
			wantProblem(t, h.postJSON("/v2/executions", tc.body), tc.status, tc.want...)
		})
	}
}

func TestStartExecutionByWorkflowID(t *testing.T) {
	h := newHarness(t, api.Options{})
	h.createHello()
	id := h.get("/v2/workflows/hello_wf").body["id"].(string)
	r := h.postJSON("/v2/executions", `{"workflow_id":"`+id+`"}`)
	if r.status != http.StatusCreated || h.fake.LastStart.WorkflowName != "hello_wf" {
		t.Fatalf("%d %s; start = %+v", r.status, r.raw, h.fake.LastStart)
	}
}

// A retried POST with a client-chosen id answers with the execution the
// first one created (Mistral's documented behaviour), not a 409.
func TestStartExecutionIdempotentID(t *testing.T) {
	h := newHarness(t, api.Options{})
	h.createHello()
	body := `{"workflow_name":"hello_wf","id":"11111111-2222-3333-4444-555555555555","input":{"name":"first"}}`
	first := h.postJSON("/v2/executions", body)
	again := h.postJSON("/v2/executions", strings.Replace(body, "first", "second", 1))
	if first.status != http.StatusCreated || again.status != http.StatusCreated {
		t.Fatalf("statuses %d, %d: %s", first.status, again.status, again.raw)
	}
	if again.body["input"] != `{"name":"first"}` {
		t.Errorf("second POST answered input %v, want the first execution's", again.body["input"])
	}
}

func TestBackendFailureIsGeneric(t *testing.T) {
	h := newHarness(t, api.Options{})
	h.fake.Err = errors.New("pq: password authentication failed for user sirocco")
	for _, path := range []string{"/v2/workflows", "/v2/executions", "/v2/workflows/x", "/v2/executions/x", "/v2/executions/x/tasks"} {
		r := h.get(path)
		wantProblem(t, r, http.StatusInternalServerError, "internal error")
		if strings.Contains(string(r.raw), "password") {
			t.Errorf("%s leaks the backend error: %s", path, r.raw)
		}
	}
	if !strings.Contains(h.logs.String(), "password authentication failed") {
		t.Errorf("the backend error was not logged:\n%s", h.logs)
	}
	if !strings.Contains(h.logs.String(), "api:") {
		t.Errorf("logger is not named api:\n%s", h.logs)
	}
}

func TestBackendConflictAndBadRequest(t *testing.T) {
	h := newHarness(t, api.Options{})
	h.fake.Err = &apitest.BadRequestError{Msg: "line 3, column 5: unknown action std.nope"}
	wantProblem(t, h.do(http.MethodPost, "/v2/workflows", "text/plain", []byte(helloYAML)), 400, "line 3, column 5: unknown action std.nope")
	h.fake.Err = store.ErrConflict
	wantProblem(t, h.do(http.MethodPost, "/v2/workflows", "text/plain", []byte(helloYAML)), 409)
}

func TestGetExecution(t *testing.T) {
	h := newHarness(t, api.Options{})
	h.createHello()
	id := h.startHello()
	if err := h.fake.Update(id, func(e *store.Execution) {
		e.State = store.StateError
		e.StateInfo = "Failure caused by error in tasks: t1"
		e.Output = []byte(`{ "result": "boom" }`)
	}); err != nil {
		t.Fatal(err)
	}
	r := h.get("/v2/executions/" + id)
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	want := map[string]any{
		"id": id, "workflow_name": "hello_wf", "state": "ERROR",
		"state_info": "Failure caused by error in tasks: t1",
		"input":      `{"name":"x"}`, "output": `{"result":"boom"}`, "params": `{}`,
		"published_global": "{}", "task_execution_id": nil, "root_execution_id": nil,
		"created_at": "2026-11-30 12:00:00", "project_id": "<default-project>",
	}
	for k, v := range want {
		if got, ok := r.body[k]; !ok || got != v {
			t.Errorf("%s = %#v, want %#v", k, got, v)
		}
	}
	id2 := h.startHello()
	if r := h.get("/v2/executions/" + id2); r.body["state_info"] != nil {
		t.Errorf("empty state_info = %#v, want null", r.body["state_info"])
	}
	wantProblem(t, h.get("/v2/executions/nope"), http.StatusNotFound, `"nope"`)
}

func TestListExecutions(t *testing.T) {
	h := newHarness(t, api.Options{})
	h.createHello()
	h.startHello()
	h.startHello()
	r := h.get("/v2/executions?workflow_name=hello_wf&state=RUNNING")
	execs := r.body["executions"].([]any)
	if len(execs) != 2 {
		t.Fatalf("executions = %v", execs)
	}
	if _, ok := execs[0].(map[string]any)["output"]; ok {
		t.Errorf("a listing shows output without include_output")
	}
	if f := h.fake.LastList.Filters; f["workflow_name"] != "hello_wf" || f["state"] != "RUNNING" {
		t.Errorf("filters = %v", f)
	}
	r = h.get("/v2/executions?include_output=true")
	if _, ok := r.body["executions"].([]any)[0].(map[string]any)["output"].(string); !ok {
		t.Errorf("include_output=true shows no output: %s", r.raw)
	}
}

func TestListTasks(t *testing.T) {
	h := newHarness(t, api.Options{})
	h.createHello()
	id := h.startHello()
	h.fake.AddTask(&store.TaskExecution{
		ExecutionID: id, WorkflowName: "hello_wf", Name: "t1", State: store.StateSuccess,
		Published: []byte(`{"greeting": "Hello, x"}`), Result: []byte(`"Hello, x"`),
		Runtime: []byte(`{"triggered_by": []}`), Processed: true,
		CreatedAt: h.fake.Now(), UpdatedAt: h.fake.Now(),
	})
	h.fake.AddTask(&store.TaskExecution{ExecutionID: id, WorkflowName: "hello_wf", Name: "t2", State: store.StateRunning})

	r := h.get("/v2/executions/" + id + "/tasks")
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	tasks := r.body["tasks"].([]any)
	if len(tasks) != 2 {
		t.Fatalf("tasks = %v", tasks)
	}
	t1, t2 := tasks[0].(map[string]any), tasks[1].(map[string]any)
	want := map[string]any{
		"name": "t1", "type": "ACTION", "state": "SUCCESS", "state_info": nil,
		"published": `{"greeting":"Hello, x"}`, "runtime_context": `{"triggered_by":[]}`,
		"processed": true, "workflow_execution_id": id, "workflow_name": "hello_wf",
		"finished_at": "2026-11-30 12:00:00",
	}
	for k, v := range want {
		if got, ok := t1[k]; !ok || got != v {
			t.Errorf("t1.%s = %#v, want %#v", k, got, v)
		}
	}
	if _, ok := t1["result"]; ok {
		t.Errorf("a task listing shows result without include_result")
	}
	if t2["finished_at"] != nil || t2["published"] != "{}" {
		t.Errorf("running task = %v", t2)
	}
	r = h.get("/v2/executions/" + id + "/tasks?include_result=true")
	if got := r.body["tasks"].([]any)[0].(map[string]any)["result"]; got != `"Hello, x"` {
		t.Errorf("result = %#v", got)
	}
	wantProblem(t, h.get("/v2/executions/nope/tasks"), http.StatusNotFound, `"nope"`)
}

func TestServiceEndpoints(t *testing.T) {
	h := newHarness(t, api.Options{Version: "1.2.3"})
	if r := h.get("/healthz"); r.status != 200 || r.body["status"] != "ok" || r.body["version"] != "1.2.3" {
		t.Errorf("healthz: %d %s", r.status, r.raw)
	}
	if r := h.get("/docs"); r.status != 200 || !strings.Contains(r.ctype, "text/html") {
		t.Errorf("docs: %d %s", r.status, r.ctype)
	}
	wantProblem(t, h.get("/v2/nothing"), http.StatusNotFound, "/v2/nothing")

	r := h.get("/openapi.json")
	if r.status != 200 {
		t.Fatalf("openapi: %d", r.status)
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(r.raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	want := []string{
		"GET /healthz", "POST /v2/workflows", "GET /v2/workflows", "GET /v2/workflows/{identifier}",
		"POST /v2/executions", "GET /v2/executions", "GET /v2/executions/{id}", "GET /v2/executions/{id}/tasks",
		"POST /v2/workflows/validate", "POST /v2/workbooks/validate", "POST /v2/actions/validate",
		"GET /v2/executions/{id}/events",
		"GET /v3", "POST /v3/auth/tokens",
		"POST /v2/environments", "PUT /v2/environments", "GET /v2/environments", "GET /v2/environments/{name}",
		"DELETE /v2/environments/{name}",
		"POST /v2/workbooks", "PUT /v2/workbooks", "GET /v2/workbooks", "GET /v2/workbooks/{name}", "DELETE /v2/workbooks/{name}",
	}
	n := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			n++
			if s, _ := op["summary"].(string); s == "" {
				t.Errorf("%s %s has no summary", method, path)
			}
		}
	}
	for _, w := range want {
		method, path, _ := strings.Cut(w, " ")
		if doc.Paths[path][strings.ToLower(method)] == nil {
			t.Errorf("openapi.json lacks %s", w)
		}
	}
	if n != len(want) {
		t.Errorf("openapi.json has %d operations, want %d", n, len(want))
	}
}

// A known path asked with a method it does not take is answered 405 with
// the methods it takes in Allow, as Mistral answers, and not 404: the
// client learns that it called the right endpoint the wrong way.
func TestWrongMethod(t *testing.T) {
	h := newHarness(t, api.Options{Metrics: http.NotFoundHandler()})
	tests := []struct {
		method, path, allow string
	}{
		{http.MethodPatch, "/v2/environments", "GET, HEAD, POST, PUT"},
		{http.MethodDelete, "/v2/executions", "GET, HEAD, POST"},
		{http.MethodPost, "/v2/executions/x/tasks", "GET, HEAD"},
		{http.MethodPut, "/v2/executions/x/events", "GET, HEAD"},
		{http.MethodPost, "/healthz", "GET, HEAD"},
		{http.MethodDelete, "/metrics", "GET, HEAD"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := h.do(tc.method, tc.path, "", nil)
			wantProblem(t, r, http.StatusMethodNotAllowed, tc.path, tc.method, tc.allow)
			if got := r.header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow = %q, want %q", got, tc.allow)
			}
		})
	}
	// An unknown path is not found, whatever the method.
	for _, m := range []string{http.MethodGet, http.MethodPatch} {
		r := h.do(m, "/v2/nothing", "", nil)
		wantProblem(t, r, http.StatusNotFound, m+" /v2/nothing")
		if allow := r.header.Get("Allow"); allow != "" {
			t.Errorf("%s /v2/nothing: Allow = %q on a 404", m, allow)
		}
	}
}

// Responses must not carry huma's "$schema" member: the shapes are
// Mistral's, byte for byte in their field names.
func TestNoSchemaMember(t *testing.T) {
	h := newHarness(t, api.Options{})
	h.createHello()
	r := h.get("/v2/workflows")
	if _, ok := r.body["$schema"]; ok {
		t.Errorf("answer has $schema: %s", r.raw)
	}
}

func TestResponsesAreNotTruncated(t *testing.T) {
	h := newHarness(t, api.Options{})
	h.createHello()
	req := httptest.NewRequest(http.MethodGet, "/v2/workflows", nil)
	req.Header.Set("Accept", "text/plain")
	rec := httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 || !json.Valid(b) {
		t.Errorf("Accept: text/plain (as Mistral clients may send) got %d %s", rec.Code, b)
	}
}
