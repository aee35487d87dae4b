package engine

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
	"github.com/sirocco-wf/sirocco/daemon/internal/transport"
)

// waitActionID waits for the action execution of the execution's first
// task and returns its id.
func waitActionID(t *testing.T, r *rig, executionID string) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		tasks, err := r.eng.ListTasks(context.Background(), executionID)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range tasks {
			var rt struct {
				ActionExecutionID string `json:"action_execution_id"`
			}
			_ = json.Unmarshal(tk.Runtime, &rt)
			if rt.ActionExecutionID != "" {
				return rt.ActionExecutionID
			}
		}
	}
	t.Fatalf("execution %s has no action execution", executionID)
	return ""
}

// A result is applied to its action's execution whichever execution it
// names: the engine locks the named one first and falls back to the
// action's own when that is another, unknown or none.
func TestResultAppliedWhateverExecutionItNames(t *testing.T) {
	r := newRig(t)
	r.run(t)
	ctx := context.Background()
	wf := `
version: '2.0'
waits:
  output:
    got: <% $.got %>
  tasks:
    wait:
      action: std.async_noop
      publish: {got: <% task().result %>}
`
	if _, err := r.eng.CreateWorkflows(ctx, wf); err != nil {
		t.Fatal(err)
	}
	other, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "waits"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		names func(own string) string
	}{
		{"its own", func(own string) string { return own }},
		{"none", func(string) string { return "" }},
		{"an unknown one", func(string) string { return "no-such-execution" }},
		{"another one", func(string) string { return other.ID }},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ex, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "waits"})
			if err != nil {
				t.Fatal(err)
			}
			action := waitActionID(t, r, ex.ID)
			out := `{"n":` + strconv.Itoa(i) + `}`
			res, _ := json.Marshal(transport.ActionResult{V: transport.ProtocolVersion, ActionExecutionID: action,
				ExecutionID: tc.names(ex.ID), Attempt: 1, Output: json.RawMessage(out)})
			if err := r.conn.PublishAll(ctx, []transport.Outgoing{{Subject: r.conn.ResultSubject(), MsgID: "res/" + action, Data: res}}); err != nil {
				t.Fatal(err)
			}
			want := `{"got":` + out + `}`
			if done := r.wait(t, ex.ID); done.State != store.StateSuccess || string(done.Output) != want {
				t.Fatalf("execution = %s %s %s, want SUCCESS %s", done.State, done.StateInfo, done.Output, want)
			}
		})
	}
	if got, _ := r.eng.GetExecution(ctx, other.ID); got.State != store.StateRunning {
		t.Fatalf("the other execution is %s, want it still RUNNING", got.State)
	}
}
