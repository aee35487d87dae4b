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

// Several appliers at once (as on PostgreSQL) apply every result once,
// whichever batch it lands in.
func TestResultsAppliedByConcurrentAppliers(t *testing.T) {
	r := newRig(t)
	eng, err := New(Config{Store: r.store, Conn: r.conn, Registry: r.reg, ResultAppliers: 4})
	if err != nil {
		t.Fatal(err)
	}
	if eng.appliers != 4 {
		t.Fatalf("engine runs %d appliers, want 4", eng.appliers)
	}
	r.eng = eng
	r.run(t)
	ctx := context.Background()
	if _, err := r.eng.CreateWorkflows(ctx, chain); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 30)
	for n := range ids {
		ex, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "chain", Input: map[string]any{"n": n}})
		if err != nil {
			t.Fatal(err)
		}
		ids[n] = ex.ID
	}
	for n, id := range ids {
		want := `{"total":` + strconv.Itoa((n+10)*2) + `}`
		if done := r.wait(t, id); done.State != store.StateSuccess || string(done.Output) != want {
			t.Fatalf("execution %d = %s %s %s, want SUCCESS %s", n, done.State, done.StateInfo, done.Output, want)
		}
		if tasks, err := r.eng.ListTasks(ctx, id); err != nil || len(tasks) != 3 {
			t.Fatalf("execution %d has %d tasks (%v), want 3", n, len(tasks), err)
		}
	}
}

// An execution's results always go to one applier, and executions spread
// over all of them.
func TestLane(t *testing.T) {
	for _, lanes := range []int{1, 2, 4} {
		used := map[int]int{}
		for i := range 1000 {
			id := "execution-" + strconv.Itoa(i)
			l := lane(id, lanes)
			if l < 0 || l >= lanes || lane(id, lanes) != l {
				t.Fatalf("lane(%q, %d) = %d, not one stable lane in range", id, lanes, l)
			}
			used[l]++
		}
		for l := range lanes {
			if used[l] < 1000/lanes/2 {
				t.Errorf("%d lanes: lane %d got %d of 1000 executions", lanes, l, used[l])
			}
		}
	}
}
