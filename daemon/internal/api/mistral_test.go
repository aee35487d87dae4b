package api_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// fieldSet lists the member names of a JSON object and, for members that
// hold a list of objects (workflows, executions, tasks), of its first
// element as "list[].member". Comparing these sets with the real server's
// answers catches a renamed, missing or extra field without depending on
// ids or times.
func fieldSet(t *testing.T, raw []byte) []string {
	t.Helper()
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, raw)
	}
	var out []string
	for k, v := range obj {
		out = append(out, k)
		if list, ok := v.([]any); ok && len(list) > 0 {
			if first, ok := list[0].(map[string]any); ok {
				for m := range first {
					out = append(out, k+"[]."+m)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func diff(a, b []string) (onlyA, onlyB []string) {
	in := func(s []string, x string) bool {
		i := sort.SearchStrings(s, x)
		return i < len(s) && s[i] == x
	}
	for _, x := range a {
		if !in(b, x) {
			onlyA = append(onlyA, x)
		}
	}
	for _, x := range b {
		if !in(a, x) {
			onlyB = append(onlyB, x)
		}
	}
	return onlyA, onlyB
}

// TestFieldSetsMatchMistral replays the requests recorded in
// testdata/mistral (see its README) against the API and compares the field
// names of each answer with the real Mistral 15's.
func TestFieldSetsMatchMistral(t *testing.T) {
	h := newHarness(t, api.Options{})
	created := h.do(http.MethodPost, "/v2/workflows", "text/plain", []byte(helloYAML))
	h.do(http.MethodPost, "/v2/workflows", "text/plain", []byte("version: '2.0'\nfail_wf:\n  tasks: {}\n"))
	start := h.postJSON("/v2/executions", `{"workflow_name":"hello_wf","input":"{\"name\":\"x\"}","description":"captured"}`)
	id := start.body["id"].(string)
	failed := h.postJSON("/v2/executions", `{"workflow_name":"fail_wf"}`).body["id"].(string)
	_ = h.fake.Update(id, func(e *store.Execution) { e.State, e.Output = store.StateSuccess, []byte(`{"greeting":"Hello, x"}`) })
	_ = h.fake.Update(failed, func(e *store.Execution) {
		e.State, e.StateInfo = store.StateError, "Failure caused by error in tasks: boom"
	})
	h.fake.AddTask(&store.TaskExecution{ExecutionID: id, WorkflowName: "hello_wf", Name: "t1", State: store.StateSuccess,
		Published: []byte(`{"greeting":"Hello, x"}`), Processed: true, CreatedAt: h.fake.Now(), UpdatedAt: h.fake.Now()})

	tests := []struct {
		file string
		got  response
	}{
		{"workflows_create.json", created},
		{"workflows_list.json", h.get("/v2/workflows")},
		{"workflows_get.json", h.get("/v2/workflows/hello_wf")},
		{"executions_create.json", start},
		{"executions_get.json", h.get("/v2/executions/" + id)},
		{"executions_get_error.json", h.get("/v2/executions/" + failed)},
		{"executions_list.json", h.get("/v2/executions")},
		{"executions_list_include_output.json", h.get("/v2/executions?include_output=true")},
		{"executions_list_limit1.json", h.get("/v2/executions?limit=1")},
		{"tasks_list.json", h.get("/v2/executions/" + id + "/tasks")},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", "mistral", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if tc.got.status >= 300 {
				t.Fatalf("status %d: %s", tc.got.status, tc.got.raw)
			}
			wantFields := fieldSet(t, want)
			if len(wantFields) < 3 {
				t.Fatalf("capture has only %v", wantFields)
			}
			onlyOurs, onlyMistral := diff(fieldSet(t, tc.got.raw), wantFields)
			if len(onlyOurs)+len(onlyMistral) > 0 {
				t.Errorf("field names differ from Mistral 15's\n  only ours:    %s\n  only Mistral: %s",
					strings.Join(onlyOurs, ", "), strings.Join(onlyMistral, ", "))
			}
		})
	}
}
