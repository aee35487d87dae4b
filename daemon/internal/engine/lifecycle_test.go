package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// waitState waits for an execution to reach state.
func (r *rig) waitState(t *testing.T, id, state string) *store.Execution {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ex, err := r.eng.GetExecution(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ex.State == state {
			return ex
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution %s is %s (%s), want %s", id, ex.State, ex.StateInfo, state)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *rig) taskByName(t *testing.T, exID, name string) *store.TaskExecution {
	t.Helper()
	tasks, err := r.eng.ListTasks(context.Background(), exID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range tasks {
		if tk.Name == name {
			return tk
		}
	}
	t.Fatalf("execution %s has no task %s", exID, name)
	return nil
}

// A sub-workflow runs as an execution of its own under its task, shares
// the root's environment, and its output comes back as the task's result
// through the store, whatever engine applies it.
func TestSubWorkflow(t *testing.T) {
	r := newRig(t)
	r.run(t)
	startScheduler(t, r.eng, &testClock{})
	ctx := context.Background()
	if _, err := r.eng.CreateWorkflows(ctx, `
version: '2.0'
parent:
  tasks:
    call:
      workflow: child
      input:
        n: 2
      publish:
        got: <% task().result.doubled %>
  output:
    got: <% $.got %>
child:
  input: [n]
  tasks:
    double:
      with-items: i in <% range($.n) %>
      action: std.echo output=<% env().k * 2 + $.i %>
      publish:
        doubled: <% task().result %>
  output:
    doubled: <% $.doubled %>
`); err != nil {
		t.Fatal(err)
	}
	ex, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "parent", Params: map[string]any{"env": map[string]any{"k": 5}}})
	if err != nil {
		t.Fatal(err)
	}
	done := r.wait(t, ex.ID)
	if done.State != store.StateSuccess || string(done.Output) != `{"got":[10,11]}` {
		t.Fatalf("parent %s %s %s", done.State, done.StateInfo, done.Output)
	}
	children, err := r.eng.ListExecutions(ctx, store.ListOpts{Filters: map[string]string{"task_execution_id": r.taskByName(t, ex.ID, "call").ID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(children) != 1 || children[0].RootExecutionID != ex.ID || children[0].State != store.StateSuccess {
		t.Fatalf("children %+v", children)
	}
}

// Pausing holds an execution; resuming runs what the pause held back.
// A failed task reruns through RerunTask, and the execution with it.
func TestPauseResumeRerun(t *testing.T) {
	r := newRig(t)
	r.run(t)
	startScheduler(t, r.eng, &testClock{})
	ctx := context.Background()
	if _, err := r.eng.CreateWorkflows(ctx, `
version: '2.0'
wf:
  input: [fail]
  tasks:
    first:
      action: std.noop
      on-success: second
    second:
      action: std.echo output=<% $.fail %>
      pause-before: true
      fail-on: <% task().result %>
      on-success: third
    third:
      action: std.noop
`); err != nil {
		t.Fatal(err)
	}
	ex, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "wf", Input: map[string]any{"fail": true}})
	if err != nil {
		t.Fatal(err)
	}
	r.waitState(t, ex.ID, "PAUSED")
	if tk := r.taskByName(t, ex.ID, "second"); tk.State != "IDLE" {
		t.Fatalf("second is %s, want IDLE", tk.State)
	}
	if _, err := r.eng.UpdateExecution(ctx, ex.ID, api.ExecutionUpdate{State: "RUNNING"}); err != nil {
		t.Fatal(err)
	}
	done := r.wait(t, ex.ID)
	if done.State != store.StateError || !strings.Contains(done.StateInfo, "Failed by 'fail-on' policy") {
		t.Fatalf("after resume: %s %q", done.State, done.StateInfo)
	}
	if _, err := r.eng.UpdateExecution(ctx, ex.ID, api.ExecutionUpdate{State: "PAUSED"}); err == nil {
		t.Fatal("an ended execution was paused")
	}
	second := r.taskByName(t, ex.ID, "second")
	if _, err := r.eng.RerunTask(ctx, r.taskByName(t, ex.ID, "first").ID, api.TaskUpdate{State: "RUNNING"}); err == nil {
		t.Fatal("a task in SUCCESS was rerun")
	}
	// The rerun evaluates fail-on again, against the same input: it
	// fails again, which shows the rerun ran the action once more.
	rec, err := r.eng.RerunTask(ctx, second.ID, api.TaskUpdate{State: "RUNNING"})
	if err != nil {
		t.Fatal(err)
	}
	// As in Mistral, a rerun applies the before-start policies again:
	// pause-before holds the task once more.
	if rec.Task.State != "IDLE" {
		t.Fatalf("rerun task is %s, want IDLE", rec.Task.State)
	}
	r.waitState(t, ex.ID, "PAUSED")
	if _, err := r.eng.UpdateExecution(ctx, ex.ID, api.ExecutionUpdate{State: "RUNNING"}); err != nil {
		t.Fatal(err)
	}
	done = r.wait(t, ex.ID)
	if done.State != store.StateError {
		t.Fatalf("after rerun: %s %q", done.State, done.StateInfo)
	}
	runs, err := r.eng.ListActionExecutions(ctx, store.ListOpts{Filters: map[string]string{"task_execution_id": second.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 {
		t.Fatalf("second ran %d times, want 2", len(runs))
	}
}
