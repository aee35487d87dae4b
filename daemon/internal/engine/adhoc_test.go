package engine

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// The ad-hoc actions of these tests are those the real Mistral 15 was run
// with for the API captures (api/testdata/mistral/actions_*.json): greet
// wraps std.echo, shout wraps greet.
const greetYAML = `---
version: '2.0'

greet:
  description: Says hello.
  base: std.echo
  base-input:
    output: "Hello, <% $.name %>!"
  input:
    - name
    - punct: "!"
  output:
    text: <% $ %>
`

const shoutYAML = `---
version: '2.0'
shout:
  base: greet
  input:
    - who
  base-input:
    name: <% $.who %>
  output: <% $.text %>
`

func isBadRequest(err error) bool {
	var br interface{ BadRequest() bool }
	return errors.As(err, &br) && br.BadRequest()
}

func mustCreateActions(t *testing.T, r *rig, docs ...string) {
	t.Helper()
	for _, d := range docs {
		if _, err := r.eng.CreateActions(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAdhocActionDefinitions(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	defs, err := r.eng.CreateActions(ctx, greetYAML)
	if err != nil {
		t.Fatal(err)
	}
	if len(defs) != 1 || defs[0].Name != "greet" || defs[0].Input != `name, punct="!"` || defs[0].Description != "Says hello." ||
		defs[0].Definition != greetYAML {
		t.Fatalf("created %+v", defs[0])
	}
	errs := []struct {
		name string
		call func() error
		is   func(error) bool
		text string
	}{
		{"duplicate", func() error { _, err := r.eng.CreateActions(ctx, greetYAML); return err },
			func(err error) bool { return errors.Is(err, store.ErrConflict) }, `"greet"`},
		{"a name a host serves", func() error {
			_, err := r.eng.CreateActions(ctx, "version: '2.0'\nstd.echo:\n  base: std.noop\n")
			return err
		}, func(err error) bool { return errors.Is(err, store.ErrConflict) }, `plugin "builtin"`},
		{"no base", func() error { _, err := r.eng.CreateActions(ctx, "version: '2.0'\nx:\n  input: [a]\n"); return err },
			isBadRequest, "base"},
		{"update of a missing one", func() error {
			_, err := r.eng.UpdateActions(ctx, strings.Replace(greetYAML, "greet:", "ghost:", 1), "")
			return err
		}, func(err error) bool { return errors.Is(err, store.ErrNotFound) }, `"ghost"`},
		{"update renaming by id", func() error {
			_, err := r.eng.UpdateActions(ctx, shoutYAML, defs[0].ID)
			return err
		}, isBadRequest, "cannot be renamed"},
		{"delete of a missing one", func() error { return r.eng.DeleteActionDef(ctx, "ghost") },
			func(err error) bool { return errors.Is(err, store.ErrNotFound) }, `"ghost"`},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil || !tc.is(err) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("error = %v, want one of its class naming %s", err, tc.text)
			}
		})
	}

	updated, err := r.eng.UpdateActions(ctx, strings.Replace(greetYAML, "Says hello.", "Says hello again.", 1), "greet")
	if err != nil || len(updated) != 1 || updated[0].ID != defs[0].ID || updated[0].Description != "Says hello again." {
		t.Fatalf("update = %+v, %v", updated, err)
	}
	mustCreateActions(t, r, shoutYAML)
	list, err := r.eng.ListActionDefs(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "greet" || list[1].Name != "shout" {
		t.Fatalf("list = %v, %v", list, err)
	}
	if err := r.eng.DeleteActionDef(ctx, defs[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.GetActionDef(ctx, "greet"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
}

// result is the "result" member of an action execution's output.
func result(t *testing.T, a *store.ActionExecution) any {
	t.Helper()
	var out struct{ Result any }
	if err := json.Unmarshal(a.Output, &out); err != nil {
		t.Fatalf("output %s: %v", a.Output, err)
	}
	return out.Result
}

func TestRunActionWithoutAWorkflow(t *testing.T) {
	r := newRig(t)
	r.run(t)
	ctx := context.Background()
	mustCreateActions(t, r, greetYAML, shoutYAML, "version: '2.0'\nbroken:\n  base: no.such\n")
	tests := []struct {
		name string
		req  api.RunActionRequest
		// state and result of the answer; saved says it has an id and
		// stays in the store.
		state  string
		result string
		input  string
		saved  bool
	}{
		{"sync by default, forgotten", api.RunActionRequest{Name: "std.echo", Input: map[string]any{"output": "hi"}, Description: "d1"},
			store.StateSuccess, `"hi"`, `{"output":"hi"}`, false},
		{"run_sync and save_result", api.RunActionRequest{Name: "std.echo", Input: map[string]any{"output": 1}, RunSync: true, SaveResult: true},
			store.StateSuccess, `1`, `{"output":1}`, true},
		{"save_result alone answers at once", api.RunActionRequest{Name: "std.echo", Input: map[string]any{"output": "x"}, SaveResult: true},
			store.StateRunning, ``, `{"output":"x"}`, true},
		{"an async action is answered running", api.RunActionRequest{Name: "std.async_noop"},
			store.StateRunning, ``, `{}`, true},
		{"an error", api.RunActionRequest{Name: "std.fail"},
			store.StateError, `"Fail action expected exception."`, `{}`, false},
		{"ad-hoc: defaults, base-input and output", api.RunActionRequest{Name: "greet", Input: map[string]any{"name": "Ann"}, RunSync: true, SaveResult: true},
			store.StateSuccess, `{"text":"Hello, Ann!"}`, `{"name":"Ann","punct":"!"}`, true},
		{"ad-hoc on ad-hoc", api.RunActionRequest{Name: "shout", Input: map[string]any{"who": "Bob"}},
			store.StateSuccess, `"Hello, Bob!"`, `{"who":"Bob"}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := r.eng.RunAction(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if a.State != tc.state || a.Name != tc.req.Name || string(a.Input) != tc.input || a.Description != tc.req.Description {
				t.Fatalf("answer %s %s input %s description %q", a.Name, a.State, a.Input, a.Description)
			}
			if tc.result != "" {
				if got, _ := json.Marshal(result(t, a)); string(got) != tc.result {
					t.Errorf("result %s, want %s", got, tc.result)
				}
			}
			if (a.ID != "") != tc.saved {
				t.Fatalf("id %q, saved %v", a.ID, tc.saved)
			}
			if !tc.saved {
				return
			}
			stored, _, err := r.eng.GetActionExecution(ctx, a.ID)
			if err != nil || stored.TaskExecutionID != "" || stored.ExecutionID != "" {
				t.Fatalf("stored %+v, %v", stored, err)
			}
		})
	}
	// Only the saved runs are listed.
	list, err := r.eng.ListActionExecutions(ctx, store.ListOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 4 {
		t.Errorf("%d action executions stored, want the 4 saved", len(list))
	}

	errs := []struct {
		name string
		req  api.RunActionRequest
		text string
	}{
		{"unknown action", api.RunActionRequest{Name: "no.such"}, `unknown action "no.such"`},
		{"input the schema refuses", api.RunActionRequest{Name: "std.echo", Input: map[string]any{"outpt": 1}},
			"Invalid input [name=std.echo, class=mistral.actions.std_actions.EchoAction, missing=['output'], unexpected=['outpt']]"},
		{"run_sync with an async action", api.RunActionRequest{Name: "std.async_noop", RunSync: true}, "asynchronous"},
		{"ad-hoc input not declared", api.RunActionRequest{Name: "greet", Input: map[string]any{"nam": "x"}},
			"Invalid input [name=greet, class=mistral.actions.adhoc.AdHocAction, missing=['name'], unexpected=['nam']]"},
		{"ad-hoc input missing", api.RunActionRequest{Name: "greet"}, "Invalid input [name=greet, class=mistral.actions.adhoc.AdHocAction, missing=['name']]"},
		{"ad-hoc base unknown", api.RunActionRequest{Name: "broken"}, `base action "no.such" is unknown`},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.eng.RunAction(ctx, tc.req)
			if !isBadRequest(err) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("error = %v, want a bad request naming %q", err, tc.text)
			}
		})
	}
	after, err := r.eng.ListActionExecutions(ctx, store.ListOpts{})
	if err != nil || len(after) != len(list) {
		t.Errorf("refused runs left action executions: %d, %v", len(after), err)
	}
}

// An async action run through the API waits for PUT
// /v2/action_executions/{id}, and a run_sync waiter wakes when a result is
// applied.
func TestRunActionAsyncCompleted(t *testing.T) {
	r := newRig(t)
	r.run(t)
	ctx := context.Background()
	a, err := r.eng.RunAction(ctx, api.RunActionRequest{Name: "std.async_noop"})
	if err != nil || a.State != store.StateRunning {
		t.Fatalf("run = %+v, %v", a, err)
	}
	done := make(chan *store.ActionExecution, 1)
	go func() {
		got, err := r.eng.awaitAction(ctx, a.ID, DefaultRunWait)
		if err != nil {
			t.Error(err)
		}
		done <- got
	}()
	if err := r.eng.CompleteActionExecution(ctx, a.ID, store.StateSuccess, map[string]any{"x": 1}); err != nil {
		t.Fatal(err)
	}
	got := <-done
	if got.State != store.StateSuccess || string(got.Output) != `{"result":{"x":1}}` {
		t.Fatalf("completed %s %s", got.State, got.Output)
	}
}

const adhocWorkflows = `
version: '2.0'
adhoc_wf:
  vars:
    w: wfvar
  tasks:
    t1:
      action: greet
      input:
        name: Ann
      publish:
        r1: <% task().result %>
      on-success: t2
    t2:
      action: shout
      input:
        who: Bob
      publish:
        r2: <% task().result %>
      on-success: t3
    t3:
      action: greet
      input:
        name: <% $.w %>
        punct: "?"
      publish:
        r3: <% task().result %>
      on-success: t4
    t4:
      action: from_env
      publish:
        r4: <% task().result %>
  output:
    r1: <% $.r1 %>
    r2: <% $.r2 %>
    r3: <% $.r3 %>
    r4: <% $.r4 %>
badinput_wf:
  tasks:
    t1:
      action: greet
      input:
        nam: x
items_wf:
  output:
    r: <% $.r %>
  tasks:
    t1:
      with-items: n in <% ['Ann', 'Bob'] %>
      action: greet
      input:
        name: <% $.n %>
      publish:
        r: <% task().result %>
missing_base_wf:
  output:
    done: <% $.done %>
  tasks:
    t1:
      action: broken
      on-complete:
        - t2
    t2:
      publish:
        done: Finished
`

// A workflow calls ad-hoc actions stored apart from it: the tasks'
// results are reshaped by the actions' outputs and their action
// executions carry the ad-hoc names and inputs, as in Mistral 15 (whose
// answers to the same workflow these are). A task whose ad-hoc action
// cannot run fails to run, which ends the execution in ERROR without its
// on-complete, as in Mistral.
func TestAdhocActionsInAWorkflow(t *testing.T) {
	r := newRig(t)
	r.run(t)
	ctx := context.Background()
	mustCreateActions(t, r, greetYAML, shoutYAML,
		"version: '2.0'\nbroken:\n  base: no.such\n",
		"version: '2.0'\nfrom_env:\n  base: std.echo\n  base-input:\n    output: '{{ env().foo }}-{{ _.w }}'\n")
	if _, err := r.eng.CreateWorkflows(ctx, adhocWorkflows); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		wf, state, output, info string
	}{
		{"adhoc_wf", store.StateSuccess,
			`{"r1":{"text":"Hello, Ann!"},"r2":"Hello, Bob!","r3":{"text":"Hello, wfvar!"},"r4":"bar-wfvar"}`, ""},
		{"badinput_wf", store.StateError, "", "Invalid input [name=greet, class=mistral.actions.adhoc.AdHocAction, missing=['name'], unexpected=['nam']]"},
		{"items_wf", store.StateSuccess, `{"r":[{"text":"Hello, Ann!"},{"text":"Hello, Bob!"}]}`, ""},
		// Mistral prints the ad-hoc action's whole document, as stored,
		// and its input with the defaults.
		{"missing_base_wf", store.StateError, "",
			"Failed to instantiate an action [action_desc=AdHoc action [name=broken, definition=version: '2.0'\nbroken:\n  base: no.such\n], input_dict={}]"},
	}
	for _, tc := range tests {
		t.Run(tc.wf, func(t *testing.T) {
			ex, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: tc.wf, Params: map[string]any{"env": map[string]any{"foo": "bar"}}})
			if err != nil {
				t.Fatal(err)
			}
			done := r.wait(t, ex.ID)
			if done.State != tc.state || !strings.Contains(done.StateInfo, tc.info) {
				t.Fatalf("%s %s", done.State, done.StateInfo)
			}
			if tc.output != "" && string(done.Output) != tc.output {
				t.Errorf("output %s, want %s", done.Output, tc.output)
			}
		})
	}
	recs, err := r.eng.ListActionExecutions(ctx, store.ListOpts{SortKeys: []string{"created_at"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rec := range recs {
		if rec.Task != nil && rec.Task.WorkflowName == "adhoc_wf" {
			got = append(got, rec.Action.Name+" "+string(rec.Action.Input))
		}
	}
	want := []string{`greet {"name":"Ann","punct":"!"}`, `shout {"who":"Bob"}`, `greet {"name":"wfvar","punct":"?"}`, `from_env {}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("action executions:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The missing base fails the task, not the start.
	tasks, err := r.eng.ListAllTasks(ctx, store.ListOpts{Filters: map[string]string{"workflow_name": "missing_base_wf", "name": "t1"}})
	if err != nil || len(tasks) != 1 || tasks[0].Task.State != store.StateError ||
		!strings.Contains(tasks[0].Task.StateInfo, "Failed to instantiate an action [action_desc=AdHoc action [name=broken") {
		t.Fatalf("t1 of missing_base_wf: %+v, %v", tasks, err)
	}

	// A workflow naming an action that is neither served nor ad-hoc is
	// refused when it starts, as before.
	if _, err := r.eng.CreateWorkflows(ctx, "version: '2.0'\nunknown_wf:\n  tasks:\n    t1:\n      action: greeet\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "unknown_wf"}); !isBadRequest(err) || !strings.Contains(err.Error(), `"greeet"`) {
		t.Fatalf("start of unknown_wf: %v", err)
	}
}

// The HTTP side of ad-hoc actions and action runs, on the real engine:
// listing pages through the hosts' and the ad-hoc actions together, the
// client's paths with a trailing slash, and wire-level mistakes.
func TestAdhocActionsOverHTTP(t *testing.T) {
	r := newRig(t)
	r.run(t)
	mustCreateActions(t, r, greetYAML, shoutYAML)
	srv := httptest.NewServer(api.New(r.eng, nil, api.Options{}))
	t.Cleanup(srv.Close)
	tests := []struct {
		method, path, body string
		status             int
		want               []string // substrings of the answer
	}{
		{"GET", "/v2/actions?limit=2", "", 200, []string{`"name":"greet"`, `"name":"shout"`, `marker=shout`}},
		{"GET", "/v2/actions?marker=shout&limit=1", "", 200, []string{`"name":"std.async_noop"`, `marker=std.async_noop`}},
		{"GET", "/v2/actions?sort_keys=name&sort_dirs=desc&limit=1", "", 200, []string{`"name":"std.test_dict"`}},
		{"GET", "/v2/actions?name=std.echo", "", 200, []string{`"plugin":"builtin"`, `"input":"output, delay=0"`}},
		{"GET", "/v2/actions?marker=nope", "", 404, []string{`marker \"nope\"`}},
		{"GET", "/v2/actions?sort_keys=bogus", "", 400, []string{`bogus`}},
		{"GET", "/v2/actions/greet/", "", 200, []string{`"is_system":false`, `"scope":"private"`, `"updated_at":null`, `base: std.echo`}},
		{"GET", "/v2/actions/std.echo/", "", 200, []string{`"id":"std.echo"`, `"created_at":""`}},
		{"GET", "/v2/actions/ghost", "", 404, []string{`action \"ghost\" not found`}},
		{"DELETE", "/v2/actions/shout/", "", 204, nil},
		{"DELETE", "/v2/actions/shout/", "", 404, []string{`action \"shout\": not found`}},
		{"DELETE", "/v2/actions/std.echo", "", 404, []string{`action \"std.echo\": not found`}},
		{"POST", "/v2/actions", "", 400, []string{"body is required"}},
		{"PUT", "/v2/actions/greet", strings.Replace(greetYAML, "Says hello.", "Hi.", 1), 200, []string{`"description":"Hi."`, `"updated_at":"`}},
		{"POST", "/v2/action_executions", `{"name":"std.echo","params":{"run_sync":"yes"}}`, 400, []string{"params.run_sync"}},
		{"POST", "/v2/action_executions", `{"name":"std.echo","input":"[1]"}`, 400, []string{"input: not a JSON object"}},
		{"POST", "/v2/action_executions", `{"input":{}}`, 400, []string{"name is required"}},
		{"POST", "/v2/action_executions", `{"name":"std.echo","input":{"output":1},"params":"{\"timeout\": -1}"}`, 400, []string{"params.timeout"}},
		{"POST", "/v2/action_executions", `{"name":"std.echo","input":{"output":1},"workflow_namespace":"x"}`, 400, []string{"namespace"}},
		{"POST", "/v2/action_executions", `{"name":"greet","input":"{\"name\": \"Ann\"}"}`, 201,
			[]string{`"id":null`, `"output":"{\"result\":{\"text\":\"Hello, Ann!\"}}"`, `"input":"{\"name\":\"Ann\",\"punct\":\"!\"}"`}},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			ctype := "application/json"
			if strings.HasPrefix(tc.path, "/v2/actions") && tc.method != "GET" {
				ctype = "text/plain"
			}
			b := expectHTTP(t, tc.method, srv.URL+tc.path, ctype, tc.body, tc.status)
			for _, w := range tc.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("answer lacks %s:\n%s", w, b)
				}
			}
		})
	}
}

// DELETE /v2/action_executions/{id} removes an ended run without a
// workflow and refuses the others, with Mistral's rules.
func TestDeleteActionExecution(t *testing.T) {
	r := newRig(t)
	r.run(t)
	ctx := context.Background()
	done, err := r.eng.RunAction(ctx, api.RunActionRequest{Name: "std.echo", Input: map[string]any{"output": 1}, RunSync: true, SaveResult: true})
	if err != nil {
		t.Fatal(err)
	}
	running, err := r.eng.RunAction(ctx, api.RunActionRequest{Name: "std.async_noop"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.CreateWorkflows(ctx, chain); err != nil {
		t.Fatal(err)
	}
	ex, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "chain"})
	if err != nil {
		t.Fatal(err)
	}
	r.wait(t, ex.ID)
	recs, err := r.eng.ListActionExecutions(ctx, store.ListOpts{Filters: map[string]string{"workflow_execution_id": ex.ID}})
	if err != nil || len(recs) == 0 {
		t.Fatalf("action executions of the chain: %v, %v", recs, err)
	}
	srv := httptest.NewServer(api.New(r.eng, nil, api.Options{}))
	t.Cleanup(srv.Close)
	tests := []struct {
		name, id string
		status   int
	}{
		{"a task's", recs[0].Action.ID, http.StatusForbidden},
		{"a running one", running.ID, http.StatusForbidden},
		{"an ended run", done.ID, http.StatusNoContent},
		{"again", done.ID, http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expectHTTP(t, http.MethodDelete, srv.URL+"/v2/action_executions/"+tc.id, "", "", tc.status)
		})
	}
}

// expectHTTP sends one request and fails the test unless it is answered
// with status; it returns the answer's body.
func expectHTTP(t *testing.T, method, url, ctype, body string, status int) []byte {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: %d %s, want %d", method, url, resp.StatusCode, b, status)
	}
	return b
}
