package controller

import (
	"reflect"
	"testing"

	"github.com/sirocco-wf/sirocco/daemon/internal/expr"
	"github.com/sirocco-wf/sirocco/daemon/internal/lang"
)

// A task's policy setting that builds no policy in Mistral leaves the
// task-defaults' in force; one that builds a policy replaces it.
func TestPoliciesOfTaskDefaults(t *testing.T) {
	doc, err := lang.ParseWorkflows([]byte(`
version: '2.0'
wf:
  task-defaults:
    pause-before: true
    wait-before: 2
    wait-after: 3
    timeout: 4
    concurrency: 5
    fail-on: <% true %>
  tasks:
    unset:
      action: std.noop
    none:
      action: std.noop
      pause-before: false
      wait-before: 0
      wait-after: 0
      timeout: 0
      concurrency: 0
      fail-on: false
    own:
      action: std.noop
      pause-before: <% false %>
      wait-before: 1
      wait-after: <% 0 %>
      timeout: 7
      concurrency: 1
      fail-on: <% false %>
`), lang.Options{Source: "test.yaml", ValidateExpr: expr.Validate})
	if err != nil {
		t.Fatal(err)
	}
	w := doc.Workflows[0]
	defaults := lang.Policies{PauseBefore: true, WaitBefore: int64(2), WaitAfter: int64(3), Timeout: int64(4), Concurrency: int64(5), FailOn: "<% true %>"}
	tests := []struct {
		task string
		want lang.Policies
	}{
		{task: "unset", want: defaults},
		{task: "none", want: defaults},
		{task: "own", want: lang.Policies{PauseBefore: "<% false %>", WaitBefore: int64(1), WaitAfter: "<% 0 %>", Timeout: int64(7), Concurrency: int64(1), FailOn: "<% false %>"}},
	}
	for _, tt := range tests {
		t.Run(tt.task, func(t *testing.T) {
			if got := policiesOf(w, w.Task(tt.task)); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("policiesOf(%s) = %#v, want %#v", tt.task, got, tt.want)
			}
		})
	}
}

// pause-before: false on a task does not undo the task-defaults'
// pause-before: true, in Mistral as here: the first task is held.
func TestPauseBeforeFalseKeepsTheDefault(t *testing.T) {
	s := run(t, `
version: '2.0'
wf:
  task-defaults:
    pause-before: true
  tasks:
    first:
      action: std.echo output=1
      pause-before: false
      on-success: second
    second:
      action: std.noop
`, nil)
	if s.Exec.State != Paused || taskStates(s) != "first=IDLE" {
		t.Fatalf("execution %s, tasks %q; want PAUSED with first=IDLE", s.Exec.State, taskStates(s))
	}
}
