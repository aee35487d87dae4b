package controller

import (
	"fmt"
	"testing"

	"github.com/sirocco-wf/sirocco/daemon/internal/expr"
	"github.com/sirocco-wf/sirocco/daemon/internal/lang"
)

// TestExpressionErrorMessages checks the state info of an execution whose
// expression fails, in each place Mistral evaluates one: the message
// around it, and the context view it prints, whose dicts and their order
// depend on the place (the texts Mistral 15 wrote in the same situations,
// recorded by the conformance test, minus its traceback).
func TestExpressionErrorMessages(t *testing.T) {
	const task1 = "'__task_execution': {'id': 'id-1', 'name': 't1'}"
	const exec = "'__execution': {'id': 'ex'}"
	yaqlErr := func(expr, data string) string {
		return "Can not evaluate YAQL expression [expression=" + expr + ", error='nope', data={" + data + "}]"
	}
	tests := []struct {
		name  string
		src   string
		input map[string]any
		want  string
	}{
		{
			name: "action input: task, env, extra context, inbound context, execution, input",
			src: `
  tasks:
    t1:
      action: std.echo output=<% $.nope %>
`,
			input: map[string]any{"x": int64(1)},
			want:  "Failed to run task [error=" + yaqlErr("$.nope", task1+", '__env': {}, , , "+exec+", 'x': 1") + ", wf=wf, task=t1]",
		},
		{
			name: "an item's input: the item's variables as the extra context",
			src: `
  tasks:
    t1:
      with-items: i in <% [7] %>
      action: std.echo output=<% $.i + $.nope %>
`,
			want: "Failed to run task [error=" + yaqlErr("$.i + $.nope", task1+", '__env': {}, 'i': 7, , "+exec+", ") + ", wf=wf, task=t1]",
		},
		{
			name: "with-items: the task's context",
			src: `
  tasks:
    t1:
      with-items: i in <% $.nope %>
      action: std.echo output=<% $.i %>
`,
			want: "Failed to run task [error=" + yaqlErr("$.nope", task1+", '__env': {}, , , "+exec+", ") + ", wf=wf, task=t1]",
		},
		{
			name: "a sub-workflow's input: as an action's",
			src: `
  tasks:
    t1:
      workflow: sub
      input:
        x: <% $.nope %>
`,
			want: "Failed to run task [error=" + yaqlErr("$.nope", task1+", '__env': {}, , , "+exec+", ") + ", wf=wf, task=t1]",
		},
		{
			name: "publish: task, inbound context, env, execution, input",
			src: `
  tasks:
    t1:
      action: std.noop
      publish:
        a: 1
      on-success: t2
    t2:
      action: std.noop
      publish:
        b: <% $.nope %>
`,
			want: "Failed to handle action completion [error=" + yaqlErr("$.nope", "'__task_execution': {'id': 'id-3', 'name': 't2'}, 'a': 1, '__env': {}, "+exec+", ") + ", wf=wf, task=t2, action=std.noop]",
		},
		{
			name: "a guard: task, outbound context, env, execution, input",
			src: `
  tasks:
    t1:
      action: std.noop
      publish:
        b: 2
      on-success:
        - t2: <% $.nope %>
    t2:
      action: std.noop
`,
			want: "Failed to handle action completion [error=" + yaqlErr("$.nope", task1+", 'b': 2, '__env': {}, "+exec+", ") + ", wf=wf, task=t1, action=std.noop]",
		},
		{
			name: "retry's break-on: the task's context with its outbound context",
			src: `
  tasks:
    t1:
      action: std.fail
      publish-on-error:
        c: 3
      retry:
        count: 2
        delay: 0
        break-on: <% $.nope %>
`,
			want: "Failed to handle action completion [error=" + yaqlErr("$.nope", task1+", '__env': {}, 'c': 3, , "+exec+", ") + ", wf=wf, task=t1, action=std.fail]",
		},
		{
			name: "fail-on: the task's context, without what it published",
			src: `
  tasks:
    t1:
      action: std.noop
      publish:
        c: 3
      fail-on: <% $.nope %>
`,
			want: "Failed to handle action completion [error=" + yaqlErr("$.nope", task1+", '__env': {}, , , "+exec+", ") + ", wf=wf, task=t1, action=std.noop]",
		},
		{
			name: "output: final context, env, execution, input",
			src: `
  output:
    r: <% $.nope %>
  tasks:
    t1:
      action: std.noop
      publish:
        d: 4
`,
			want: "Failed to check and complete [wf_ex_id=ex, wf_name=wf]: " + yaqlErr("$.nope", "'d': 4, '__env': {}, "+exec+", "),
		},
		{
			name: "vars: env, execution, input",
			src: `
  vars:
    v: <% $.nope %>
  tasks:
    t1:
      action: std.noop
`,
			want: "Failed to evaluate workflow vars: " + yaqlErr("$.nope", "'__env': {}, "+exec+", "),
		},
		{
			name: "Jinja: `_` is Mistral's ContextView",
			src: `
  tasks:
    t1:
      action: std.echo output="{{ _.nope }}"
`,
			want: "Failed to run task [error=Can not evaluate Jinja expression [expression={{ _.nope }}, error='mistral.workflow.data_flow.ContextView object' has no attribute 'nope', data={" + task1 + ", '__env': {}, , , " + exec + ", }], wf=wf, task=t1]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := run(t, "version: '2.0'\nwf:\n"+tt.src, tt.input)
			if s.Exec.State != Error || s.Exec.StateInfo != tt.want {
				t.Errorf("execution %s:\n got %s\nwant %s", s.Exec.State, s.Exec.StateInfo, tt.want)
			}
		})
	}
}

// TestExpressionErrorAfterWaitAfter: once wait-after delayed a task, its
// timer completes it (Mistral's complete_task), so an error in its
// transitions is "Failed to complete task".
func TestExpressionErrorAfterWaitAfter(t *testing.T) {
	doc, err := lang.ParseWorkflows([]byte(`version: '2.0'
wf:
  tasks:
    t1:
      action: std.noop
      wait-after: 1
      on-success:
        - t2: <% wrong() %>
    t2:
      action: std.noop
`), lang.Options{Source: "test.yaml", ValidateExpr: expr.Validate})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	c := &Controller{NewID: func() string { n++; return fmt.Sprintf("id-%d", n) }}
	s := &State{Spec: doc.Workflows[0], Exec: &Execution{ID: "ex", Name: "wf"}}
	d, err := c.Start(s)
	if err != nil {
		t.Fatal(err)
	}
	if d, err = c.OnActionResult(s, d.Actions[0].TaskID, nil, nil); err != nil {
		t.Fatal(err)
	}
	if len(d.Timers) != 1 || d.Timers[0].Kind != TimerWaitAfter {
		t.Fatalf("timers %+v, want the wait-after one", d.Timers)
	}
	if _, err := c.OnTimer(s, d.Timers[0].TaskID, d.Timers[0].Kind, d.Timers[0].Epoch); err != nil {
		t.Fatal(err)
	}
	want := `Failed to complete task [error=Can not evaluate YAQL expression [expression=wrong(), error=Unknown function "wrong", data={'__task_execution': {'id': 'id-1', 'name': 't1'}, , '__env': {}, '__execution': {'id': 'ex'}, }], wf=wf, task=t1]`
	if s.Exec.State != Error || s.Exec.StateInfo != want {
		t.Errorf("execution %s:\n got %s\nwant %s", s.Exec.State, s.Exec.StateInfo, want)
	}
}
