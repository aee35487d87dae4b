package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// A reverse workflow whose task_name is none of its tasks is refused at
// the start, as Mistral refuses it, and leaves no execution behind; a task
// that starts one as its sub-workflow fails to run instead.
func TestReverseTargetCheckedAtStart(t *testing.T) {
	r := newRig(t)
	r.run(t)
	startScheduler(t, r.eng, &testClock{})
	ctx := context.Background()
	if _, err := r.eng.CreateWorkflows(ctx, `
version: '2.0'
rev:
  type: reverse
  tasks:
    base:
      action: std.echo output=1
      publish:
        base: <% task().result %>
    top:
      action: std.echo output=<% $.base + 1 %>
      requires: base
      publish:
        top: <% task().result %>
  output:
    top: <% $.get('top') %>
parent:
  input:
    - target
  tasks:
    call:
      workflow: rev
      input:
        task_name: <% $.target %>
      publish:
        got: <% task().result %>
  output:
    got: <% $.got %>
`); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		workflow  string
		input     map[string]any
		params    map[string]any
		refused   bool
		wantState string
		wantInfo  string
	}{
		{name: "known target", workflow: "rev", params: map[string]any{"task_name": "top"}, wantState: store.StateSuccess},
		{name: "unknown target", workflow: "rev", params: map[string]any{"task_name": "nowhere"}, refused: true},
		{name: "no target", workflow: "rev", refused: true},
		{name: "sub-workflow, known target", workflow: "parent", input: map[string]any{"target": "base"}, wantState: store.StateSuccess},
		{name: "sub-workflow, unknown target", workflow: "parent", input: map[string]any{"target": "nowhere"},
			wantState: store.StateError, wantInfo: "Invalid task name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := r.eng.ListExecutions(ctx, store.ListOpts{})
			if err != nil {
				t.Fatal(err)
			}
			ex, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: tt.workflow, Input: tt.input, Params: tt.params})
			if tt.refused {
				var bad interface{ BadRequest() bool }
				if !errors.As(err, &bad) || !strings.Contains(err.Error(), "Invalid task name") {
					if ex != nil {
						t.Fatalf("started, %s %q; want a bad request naming the invalid task", ex.State, ex.StateInfo)
					}
					t.Fatalf("start: %v; want a bad request naming the invalid task", err)
				}
				after, err := r.eng.ListExecutions(ctx, store.ListOpts{})
				if err != nil {
					t.Fatal(err)
				}
				if len(after) != len(before) {
					t.Fatalf("executions %d -> %d: a refused start left one behind", len(before), len(after))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			done := r.wait(t, ex.ID)
			if done.State != tt.wantState || !strings.Contains(done.StateInfo, tt.wantInfo) {
				t.Fatalf("execution = %s %q, want %s with %q", done.State, done.StateInfo, tt.wantState, tt.wantInfo)
			}
			if tt.workflow != "parent" {
				return
			}
			children, err := r.eng.ListExecutions(ctx, store.ListOpts{Filters: map[string]string{"task_execution_id": r.taskByName(t, ex.ID, "call").ID}})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range children {
				if c.State == store.StateRunning {
					t.Fatalf("child %s still RUNNING", c.ID)
				}
			}
		})
	}
}
