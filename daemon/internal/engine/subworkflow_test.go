package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// runningRig is a rig whose engine and scheduler run, with the workflows
// of doc.
func runningRig(t *testing.T, doc string) *rig {
	t.Helper()
	r := newRig(t)
	r.run(t)
	startScheduler(t, r.eng, &testClock{})
	if _, err := r.eng.CreateWorkflows(context.Background(), doc); err != nil {
		t.Fatal(err)
	}
	return r
}

// childrenOf lists the sub-workflow executions of a task, oldest first.
func (r *rig) childrenOf(t *testing.T, taskID string) []*store.Execution {
	t.Helper()
	out, err := r.eng.ListExecutions(context.Background(), store.ListOpts{Filters: map[string]string{"task_execution_id": taskID}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// itemIndex is the index a sub-workflow execution's params give it.
func itemIndex(t *testing.T, ex *store.Execution) int {
	t.Helper()
	var p struct {
		Index *int `json:"index"`
	}
	if err := json.Unmarshal(ex.Params, &p); err != nil || p.Index == nil {
		t.Fatalf("execution %s: params %s have no index (%v)", ex.ID, ex.Params, err)
	}
	return *p.Index
}

// A with-items task over a sub-workflow starts one execution per item,
// with the item's variable in its input and the item's index in its
// params; the results come back in item order, and a failed item fails
// the task once the others are done.
func TestWithItemsOverSubWorkflows(t *testing.T) {
	ctx := context.Background()
	r := runningRig(t, `
version: '2.0'
fan:
  input: [xs]
  tasks:
    each:
      with-items: x in <% $.xs %>
      concurrency: 2
      workflow: double x=<% $.x %>
      publish:
        outs: <% task().result.select($.doubled) %>
      publish-on-error:
        n: <% task().result.len() %>
      on-error: handle
    handle:
      action: std.noop
  output:
    outs: <% $.get(outs) %>
    n: <% $.get(n) %>
double:
  input: [x]
  tasks:
    work:
      action: std.echo output=<% $.x * 2 %>
      publish:
        doubled: <% task().result %>
      on-success:
        - fail: <% $.x = 2 %>
  output:
    doubled: <% $.doubled %>
`)
	tests := []struct {
		xs        []any
		wantTask  string
		wantOut   string
		wantState map[int]string // each item's sub-workflow
	}{
		{[]any{1, 3, 5, 7}, store.StateSuccess, `{"n":null,"outs":[2,6,10,14]}`,
			map[int]string{0: store.StateSuccess, 1: store.StateSuccess, 2: store.StateSuccess, 3: store.StateSuccess}},
		{[]any{1, 2, 3}, store.StateError, `{"n":3,"outs":null}`,
			map[int]string{0: store.StateSuccess, 1: store.StateError, 2: store.StateSuccess}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.xs), func(t *testing.T) {
			ex, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "fan", Input: map[string]any{"xs": tc.xs}})
			if err != nil {
				t.Fatal(err)
			}
			done := r.wait(t, ex.ID)
			if done.State != store.StateSuccess || string(done.Output) != tc.wantOut {
				t.Fatalf("execution %s %q %s, want SUCCESS %s", done.State, done.StateInfo, done.Output, tc.wantOut)
			}
			each := r.taskByName(t, ex.ID, "each")
			if each.State != tc.wantTask {
				t.Errorf("task each is %s, want %s", each.State, tc.wantTask)
			}
			children := r.childrenOf(t, each.ID)
			got := map[int]string{}
			for _, c := range children {
				i := itemIndex(t, c)
				var in map[string]any
				if err := json.Unmarshal(c.Input, &in); err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(in["x"]) != fmt.Sprint(tc.xs[i]) || c.RootExecutionID != ex.ID {
					t.Errorf("item %d: input %v, root %s", i, in, c.RootExecutionID)
				}
				got[i] = c.State
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.wantState) {
				t.Errorf("sub-workflows by item %v, want %v", got, tc.wantState)
			}
		})
	}
}

// The sub-workflows of a with-items task live through a restart of the
// engine: those running go on, an end reported while no scheduler ran
// waits in its timer row, and the items not yet started start when the
// new engine applies it. Items completed out of order still give their
// results in item order, and no more than concurrency run at once.
func TestSubWorkflowItemsSurviveARestart(t *testing.T) {
	r := newRig(t)
	r.eng.apiURL = "http://api.example"
	r.run(t)
	clock := &testClock{}
	_, stopSched := startScheduler(t, r.eng, clock)
	ctx := context.Background()
	if _, err := r.eng.CreateWorkflows(ctx, `
version: '2.0'
fan:
  input: [names]
  tasks:
    each:
      with-items: n in <% $.names %>
      concurrency: 2
      workflow: waiter name=<% $.n %>
      publish:
        outs: <% task().result.select($.out) %>
  output:
    outs: <% $.outs %>
waiter:
  input: [name]
  tasks:
    wait:
      action: std.async_noop
      publish:
        out: <% $.name + task().result.suffix %>
  output:
    out: <% $.out %>
`); err != nil {
		t.Fatal(err)
	}
	ex, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "fan", Input: map[string]any{"names": []any{"x", "y", "z"}}})
	if err != nil {
		t.Fatal(err)
	}
	each := r.taskByName(t, ex.ID, "each")
	// waiting finds the running async action of the sub-workflow of
	// item i, once the host has run it.
	waiting := func(i int) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			running := 0
			var found string
			for _, c := range r.childrenOf(t, each.ID) {
				if c.State != store.StateRunning {
					continue
				}
				running++
				runs, err := r.eng.ListActionExecutions(ctx, store.ListOpts{Filters: map[string]string{"workflow_execution_id": c.ID}})
				if err != nil {
					t.Fatal(err)
				}
				if itemIndex(t, c) == i && len(runs) == 1 && runs[0].Action.State == store.StateRunning {
					found = runs[0].Action.ID
				}
			}
			if running > 2 {
				t.Fatalf("%d sub-workflows run at once, concurrency is 2", running)
			}
			if found != "" {
				return found
			}
			if time.Now().After(deadline) {
				t.Fatalf("no running action for item %d", i)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	first, second := waiting(0), waiting(1)
	time.Sleep(100 * time.Millisecond) // the hosts have run them and report nothing
	stopSched()
	if err := r.eng.CompleteActionExecution(ctx, second, store.StateSuccess, map[string]any{"suffix": "?"}); err != nil {
		t.Fatal(err)
	}
	// The sub-workflow of item 1 ended; its parent hears of it through a
	// timer row that no scheduler fires now.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var pending bool
		if err := r.store.InTx(ctx, func(tx store.Tx) error {
			_, ok, err := tx.NextTimerAt()
			pending = ok
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if pending {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no timer row for the end of item 1's sub-workflow")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(r.childrenOf(t, each.ID)); n != 2 {
		t.Fatalf("%d sub-workflows before the parent heard of an end, want 2", n)
	}
	r.stop()
	r.stop = nil
	fresh, err := New(Config{Store: r.store, Conn: r.conn, Registry: r.reg})
	if err != nil {
		t.Fatal(err)
	}
	fresh.apiURL = r.eng.apiURL
	r.eng = fresh
	r.run(t)
	startScheduler(t, r.eng, clock)
	third := waiting(2)
	for _, id := range []string{third, first} {
		if err := r.eng.CompleteActionExecution(ctx, id, store.StateSuccess, map[string]any{"suffix": "!"}); err != nil {
			t.Fatal(err)
		}
	}
	done := r.wait(t, ex.ID)
	if done.State != store.StateSuccess || string(done.Output) != `{"outs":["x!","y?","z!"]}` {
		t.Fatalf("execution %s %q %s", done.State, done.StateInfo, done.Output)
	}
	if n := len(r.childrenOf(t, each.ID)); n != 3 {
		t.Fatalf("%d sub-workflows, want one per item", n)
	}
}

// A sub-workflow that pauses itself pauses its task and every execution
// above it, as in Mistral 15; resuming any of them (the root, the
// sub-workflow in the middle, or the one that paused) resumes them all,
// and everything completes.
func TestChildPauseHoldsItsParents(t *testing.T) {
	ctx := context.Background()
	r := runningRig(t, `
version: '2.0'
top:
  tasks:
    call:
      workflow: middle
      on-success: after
    after:
      action: std.noop
middle:
  tasks:
    m:
      workflow: leaf
leaf:
  tasks:
    first:
      action: std.echo output=1
      on-success:
        - pause
        - second
    second:
      action: std.noop
`)
	for _, resume := range []string{"top", "middle", "leaf"} {
		t.Run(resume, func(t *testing.T) {
			ex, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "top"})
			if err != nil {
				t.Fatal(err)
			}
			r.waitState(t, ex.ID, "PAUSED")
			call := r.taskByName(t, ex.ID, "call")
			middle := r.childrenOf(t, call.ID)[0]
			m := r.taskByName(t, middle.ID, "m")
			leaf := r.childrenOf(t, m.ID)[0]
			ids := map[string]string{"top": ex.ID, "middle": middle.ID, "leaf": leaf.ID}
			for _, id := range ids {
				r.waitState(t, id, "PAUSED")
			}
			for _, tk := range []*store.TaskExecution{r.taskByName(t, ex.ID, "call"), r.taskByName(t, middle.ID, "m")} {
				if tk.State != "PAUSED" {
					t.Fatalf("task %s is %s while its sub-workflow is paused, want PAUSED", tk.Name, tk.State)
				}
			}
			if _, err := r.eng.UpdateExecution(ctx, ids[resume], api.ExecutionUpdate{State: "RUNNING"}); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{leaf.ID, middle.ID, ex.ID} {
				if done := r.wait(t, id); done.State != store.StateSuccess {
					t.Fatalf("execution %s (%s) is %s %q after resuming %s", id, done.WorkflowName, done.State, done.StateInfo, resume)
				}
			}
			for _, name := range []string{"call", "after"} {
				if tk := r.taskByName(t, ex.ID, name); tk.State != store.StateSuccess {
					t.Errorf("task %s is %s", name, tk.State)
				}
			}
		})
	}
}

// A sub-workflow that ends or pauses in the transaction that starts it,
// before its parent's task row is written, still reaches its parent.
func TestChildEndsOrPausesAtItsStart(t *testing.T) {
	ctx := context.Background()
	r := runningRig(t, `
version: '2.0'
top:
  input: [child]
  tasks:
    call:
      workflow: <% $.child %>
      on-error: handled
    handled:
      action: std.noop
failing:
  vars:
    x: <% $.nope %>
  tasks:
    t:
      action: std.noop
held:
  tasks:
    t:
      action: std.noop
      pause-before: true
`)
	tests := []struct {
		child, wantTask, wantPaused string
	}{
		{"failing", store.StateError, ""},
		{"held", store.StateSuccess, "PAUSED"},
	}
	for _, tc := range tests {
		t.Run(tc.child, func(t *testing.T) {
			ex, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "top", Input: map[string]any{"child": tc.child}})
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantPaused != "" {
				r.waitState(t, ex.ID, "PAUSED")
				if tk := r.taskByName(t, ex.ID, "call"); tk.State != tc.wantPaused {
					t.Fatalf("task call is %s while its sub-workflow is paused", tk.State)
				}
				if _, err := r.eng.UpdateExecution(ctx, ex.ID, api.ExecutionUpdate{State: "RUNNING"}); err != nil {
					t.Fatal(err)
				}
			}
			if done := r.wait(t, ex.ID); done.State != store.StateSuccess {
				t.Fatalf("execution %s %q", done.State, done.StateInfo)
			}
			if tk := r.taskByName(t, ex.ID, "call"); tk.State != tc.wantTask {
				t.Errorf("task call is %s, want %s", tk.State, tc.wantTask)
			}
		})
	}
}
