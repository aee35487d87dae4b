package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

const twoWorkflows = `
version: '2.0'
first:
  tasks:
    a:
      action: std.noop
second:
  tasks:
    b:
      action: std.async_noop
`

// TestUpdateWorkflowsAllOrNothing: PUT replaces existing workflows only,
// and a document naming one unknown workflow changes none.
func TestUpdateWorkflowsAllOrNothing(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.eng.CreateWorkflows(ctx, "version: '2.0'\nfirst:\n  tasks:\n    a:\n      action: std.noop\n"); err != nil {
		t.Fatal(err)
	}
	_, err := r.eng.UpdateWorkflows(ctx, twoWorkflows)
	if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), `"second"`) {
		t.Fatalf("update naming a missing workflow: %v, want not found naming it", err)
	}
	d, err := r.eng.GetWorkflow(ctx, "first")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(d.Definition, "second") {
		t.Fatalf("first was changed by a failed update:\n%s", d.Definition)
	}
	if _, err := r.eng.UpdateWorkflows(ctx, "version: '2.0'\nfirst: [\n"); err == nil {
		t.Fatal("a broken document was accepted")
	}
	doc := "version: '2.0'\nfirst:\n  input: [x]\n  tasks:\n    a:\n      action: std.noop\n"
	defs, err := r.eng.UpdateWorkflows(ctx, doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(defs) != 1 || defs[0].ID != d.ID || defs[0].Definition != doc || defs[0].Input != "x" || defs[0].UpdatedAt.Before(d.CreatedAt) {
		t.Fatalf("updated = %+v", defs[0])
	}
}

// TestDeleteExecutionOnlyWhenEnded: a running execution is refused
// (store.ErrConflict); once cancelled it goes with its tasks.
func TestDeleteExecutionOnlyWhenEnded(t *testing.T) {
	r := newRig(t)
	r.run(t)
	ctx := context.Background()
	if _, err := r.eng.CreateWorkflows(ctx, twoWorkflows); err != nil {
		t.Fatal(err)
	}
	ex, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "second"})
	if err != nil {
		t.Fatal(err)
	}
	err = r.eng.DeleteExecution(ctx, ex.ID)
	if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "RUNNING") {
		t.Fatalf("delete of a running execution: %v, want a conflict saying RUNNING", err)
	}
	tasks, err := r.eng.ListAllTasks(ctx, store.ListOpts{Filters: map[string]string{"workflow_execution_id": ex.ID}})
	if err != nil || len(tasks) != 1 || tasks[0].WorkflowID != ex.WorkflowID {
		t.Fatalf("tasks of the execution = %+v, %v", tasks, err)
	}
	if _, err := r.eng.UpdateExecution(ctx, ex.ID, api.ExecutionUpdate{State: store.StateCancel}); err != nil {
		t.Fatal(err)
	}
	if err := r.eng.DeleteExecution(ctx, ex.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.GetExecution(ctx, ex.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("execution after delete: %v", err)
	}
	if _, err := r.eng.GetTask(ctx, tasks[0].Task.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("task after delete: %v", err)
	}
	if err := r.eng.DeleteExecution(ctx, ex.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

// TestDeleteWorkflowStartedByACronTrigger is refused, as in Mistral.
func TestDeleteWorkflowStartedByACronTrigger(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.eng.CreateWorkflows(ctx, twoWorkflows); err != nil {
		t.Fatal(err)
	}
	first := time.Now().UTC().Truncate(time.Minute).Add(3 * time.Minute)
	if _, err := r.eng.CreateCronTrigger(ctx, api.CronTriggerRequest{
		Name: "nightly", Pattern: "0 3 * * *", WorkflowName: "first", FirstExecutionTime: &first,
	}); err != nil {
		t.Fatal(err)
	}
	err := r.eng.DeleteWorkflow(ctx, "first")
	var br interface{ BadRequest() bool }
	if !errors.As(err, &br) || !strings.Contains(err.Error(), "nightly") {
		t.Fatalf("delete of a triggered workflow: %v, want a bad request naming the trigger", err)
	}
	if err := r.eng.DeleteWorkflow(ctx, "second"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.GetWorkflow(ctx, "second"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("workflow after delete: %v", err)
	}
	if err := r.eng.DeleteWorkflow(ctx, "second"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}
