package controller

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/sirocco-wf/sirocco/daemon/internal/expr"
	"github.com/sirocco-wf/sirocco/daemon/internal/lang"
)

// run drives one workflow to its end the way the runtime does, answering
// each action from a table of fake actions in the order they were asked
// for, and firing the timers once no action is pending. It returns the
// final state.
func run(t *testing.T, src string, input map[string]any) *State {
	t.Helper()
	doc, err := lang.ParseWorkflows([]byte(src), lang.Options{Source: "test.yaml", ValidateExpr: expr.Validate})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	n := 0
	c := &Controller{NewID: func() string { n++; return fmt.Sprintf("id-%d", n) }}
	s := &State{Spec: doc.Workflows[0], Exec: &Execution{ID: "ex", Name: doc.Workflows[0].Name, Input: input}}
	d, err := c.Start(s)
	if err != nil {
		t.Fatal(err)
	}
	queue, timers := d.Actions, d.Timers
	for steps := 0; len(queue)+len(timers) > 0; steps++ {
		if steps > 100 {
			t.Fatal("workflow did not end after 100 actions and timers")
		}
		if len(queue) == 0 {
			tm := timers[0]
			timers = timers[1:]
			d, err = c.OnTimer(s, tm.TaskID, tm.Kind, tm.Epoch)
		} else {
			a := queue[0]
			queue = queue[1:]
			out, aerr := fakeAction(a)
			d, err = c.OnActionResult(s, a.TaskID, out, aerr)
		}
		if err != nil {
			t.Fatal(err)
		}
		queue, timers = append(queue, d.Actions...), append(timers, d.Timers...)
	}
	return s
}

func fakeAction(a RunAction) (any, *ActionError) {
	switch a.Action {
	case "std.echo":
		return a.Input["output"], nil
	case "std.noop":
		return nil, nil
	case "std.fail":
		aerr := &ActionError{Type: "ActionException", Message: "Fail action expected exception."}
		if d, ok := a.Input["error_data"]; ok && d != nil {
			aerr.Data = d
		}
		return nil, aerr
	}
	return nil, &ActionError{Type: "UnknownAction", Message: "unknown action " + a.Action}
}

func taskStates(s *State) string {
	var parts []string
	for _, t := range s.Tasks {
		parts = append(parts, t.Name+"="+t.State)
	}
	return strings.Join(parts, " ")
}

func TestController(t *testing.T) {
	tests := []struct {
		name       string
		src        string
		input      map[string]any
		wantState  string
		wantTasks  string
		wantOutput map[string]any
		wantInfo   string // substring of the execution's state info
	}{
		{
			name: "echo, publish, output",
			src: `
version: '2.0'
wf:
  input:
    - name: world
  output:
    greeting: <% $.greeting %>
    n: <% $.n * 2 + 1 %>
  tasks:
    t1:
      action: std.echo output="Hello, <% $.name %>"
      publish:
        greeting: <% task().result %>
        n: 20
      on-success: t2
    t2:
      action: std.noop
`,
			input:      map[string]any{"name": "Sirocco"},
			wantState:  Success,
			wantTasks:  "t1=SUCCESS t2=SUCCESS",
			wantOutput: map[string]any{"greeting": "Hello, Sirocco", "n": int64(41)},
		},
		{
			name: "task(name) reaches a nested result",
			src: `
version: '2.0'
wf:
  output:
    b: <% task(t1).result.a.b %>
  tasks:
    t1:
      action: std.echo
      input:
        output: {a: {b: deep}}
`,
			wantState:  Success,
			wantTasks:  "t1=SUCCESS",
			wantOutput: map[string]any{"b": "deep"},
		},
		{
			name: "on-error handles a failure",
			src: `
version: '2.0'
wf:
  tasks:
    t1:
      action: std.fail
      on-error: recover
      on-success: never
    recover:
      action: std.echo output="ok"
      publish:
        r: <% task().result %>
    never:
      action: std.noop
  output:
    r: <% $.r %>
`,
			wantState:  Success,
			wantTasks:  "t1=ERROR recover=SUCCESS",
			wantOutput: map[string]any{"r": "ok"},
		},
		{
			name: "an unhandled failure fails the workflow",
			src: `
version: '2.0'
wf:
  tasks:
    t1:
      action: std.fail
      on-success: t2
    t2:
      action: std.noop
`,
			wantState: Error,
			wantTasks: "t1=ERROR",
			wantInfo:  "Failure caused by error in tasks: t1",
		},
		{
			// on-complete runs after a failure but does not handle it:
			// Mistral marks an error handled only by an on-error
			// transition taken.
			name: "on-complete runs after success and after failure",
			src: `
version: '2.0'
wf:
  tasks:
    a:
      action: std.noop
      on-complete: [b]
    b:
      action: std.fail
      on-complete: c
    c:
      action: std.noop
`,
			wantState: Error,
			wantTasks: "a=SUCCESS b=ERROR c=SUCCESS",
			wantInfo:  "Failure caused by error in tasks: b\n\n  b [task_ex_id=id-3] -> The action raised an exception [action=Fail action, action_ex_id=id-4, msg='Fail action expected exception.']\n    [action_ex_id=id-4, idx=0]: The action raised",
		},
		{
			name: "guards choose the branch",
			src: `
version: '2.0'
wf:
  input: [x]
  tasks:
    t1:
      action: std.noop
      on-success:
        - big: <% $.x > 10 %>
        - small: <% $.x <= 10 %>
    big:
      action: std.noop
    small:
      action: std.noop
`,
			input:     map[string]any{"x": int64(3)},
			wantState: Success,
			wantTasks: "t1=SUCCESS small=SUCCESS",
		},
		{
			name: "published variables flow along the branch",
			src: `
version: '2.0'
wf:
  tasks:
    t1:
      action: std.echo output=1
      publish: {v: <% task().result + 1 %>}
      on-success: t2
    t2:
      action: std.echo output=<% $.v * 10 %>
      publish: {w: <% task().result %>}
  output:
    w: <% $.w %>
`,
			wantState:  Success,
			wantTasks:  "t1=SUCCESS t2=SUCCESS",
			wantOutput: map[string]any{"w": int64(20)},
		},
		{
			name: "fail command with a message",
			src: `
version: '2.0'
wf:
  tasks:
    t1:
      action: std.noop
      on-success:
        - fail(msg='stopped on purpose')
`,
			wantState: Error,
			wantTasks: "t1=SUCCESS",
			wantInfo:  "stopped on purpose",
		},
		{
			name: "an input expression that fails fails the task",
			src: `
version: '2.0'
wf:
  tasks:
    t1:
      action: std.echo output=<% 1 + 'a' %>
`,
			wantState: Error,
			wantTasks: "t1=ERROR",
			wantInfo:  `Failed to run task [error=Can not evaluate YAQL expression [expression=1 + 'a', error=No function "#operator_+" matches supplied arguments, data={'__task_execution': {'id': 'id-1', 'name': 't1'}, '__env': {}, , , '__execution': {'id': 'ex'}, }], wf=wf, task=t1]`,
		},
		{
			name: "several start tasks",
			src: `
version: '2.0'
wf:
  tasks:
    a:
      action: std.echo output="A"
      publish: {a: <% task().result %>}
    b:
      action: std.echo output="B"
      publish: {b: <% task().result %>}
  output:
    ab: <% $.a + $.b %>
`,
			wantState:  Success,
			wantTasks:  "a=SUCCESS b=SUCCESS",
			wantOutput: map[string]any{"ab": "AB"},
		},
		{
			// Without output: Mistral returns the final context, the
			// outbound contexts of the tasks that led nowhere (not the
			// input, not the vars).
			name: "default output is the final context of the end tasks",
			src: `
version: '2.0'
wf:
  input: [x]
  vars: {v: 1}
  tasks:
    t1:
      action: std.echo output=1
      publish: {a: <% task().result %>, shared: {p: 1}}
      on-success: t2
    t2:
      action: std.noop
      publish: {b: 2}
    t3:
      action: std.noop
      publish: {c: 3, shared: {q: 2}}
`,
			input:      map[string]any{"x": "in"},
			wantState:  Success,
			wantTasks:  "t1=SUCCESS t3=SUCCESS t2=SUCCESS",
			wantOutput: map[string]any{"a": int64(1), "b": int64(2), "c": int64(3), "shared": map[string]any{"p": int64(1), "q": int64(2)}},
		},
		{
			// A publish that cannot be evaluated fails the task and the
			// workflow at once; on-error does not run.
			name: "a failing publish fails the task and the workflow",
			src: `
version: '2.0'
wf:
  tasks:
    t1:
      action: std.noop
      publish:
        v: <% $.nope %>
      on-success: t2
      on-error: t3
    t2:
      action: std.noop
    t3:
      action: std.noop
`,
			wantState: Error,
			wantTasks: "t1=ERROR",
			wantInfo:  "Failed to handle action completion [error=",
		},
		{
			// An error in a guard is treated the same way.
			name: "a failing guard fails the task and the workflow",
			src: `
version: '2.0'
wf:
  tasks:
    t1:
      action: std.noop
      on-success:
        - t2: <% wrong(yaql) %>
    t2:
      action: std.noop
`,
			wantState: Error,
			wantTasks: "t1=ERROR",
			wantInfo:  "Failed to handle action completion [error=",
		},
		{
			name: "an error's output holds the message as result, with output-on-error over it",
			src: `
version: '2.0'
wf:
  output-on-error:
    out: <% $.hi %>
  tasks:
    t1:
      action: std.fail
      publish-on-error:
        hi: there
`,
			wantState: Error,
			wantTasks: "t1=ERROR",
			wantOutput: map[string]any{
				"out": "there",
				"result": "Failure caused by error in tasks: t1\n\n  t1 [task_ex_id=id-1] -> The action raised an exception [action=Fail action, action_ex_id=id-2, msg='Fail action expected exception.']\n" +
					"    [action_ex_id=id-2, idx=0]: The action raised an exception [action=Fail action, action_ex_id=id-2, msg='Fail action expected exception.']\n",
			},
		},
		{
			// Without output-on-error the final context goes with it.
			name: "an error's output carries the final context",
			src: `
version: '2.0'
wf:
  tasks:
    t1:
      action: std.echo output=1
      publish: {a: 1}
    t2:
      action: std.noop
      on-success:
        - fail
`,
			wantState:  Error,
			wantTasks:  "t1=SUCCESS t2=SUCCESS",
			wantOutput: map[string]any{"a": int64(1), "result": nil},
		},
		{
			// An on-error guard that does not hold leaves the error
			// unhandled, but the task is not named in the message
			// because it has an on-error clause.
			name: "an error whose on-error guard fails stays unhandled",
			src: `
version: '2.0'
wf:
  tasks:
    t1:
      action: std.fail
      on-error:
        - t2: <% false %>
    t2:
      action: std.noop
`,
			wantState:  Error,
			wantTasks:  "t1=ERROR",
			wantOutput: map[string]any{"result": "Failure caused by error in tasks: \n"},
		},
		{
			name: "advanced on-success publishes branch and global and follows next",
			src: `
version: '2.0'
wf:
  tasks:
    t1:
      action: std.noop
      publish: {own: 1}
      on-success:
        publish:
          branch: {my_var: branch value}
          global: {my_var: global value, g: 7}
        next: [t2]
    t2:
      action: std.noop
      publish:
        local: <% $.my_var %>
        global: <% global(my_var) %>
        g: <% $.g %>
`,
			wantState: Success,
			wantTasks: "t1=SUCCESS t2=SUCCESS",
			wantOutput: map[string]any{"own": int64(1), "my_var": "branch value", "local": "branch value",
				"global": "global value", "g": int64(7)},
		},
		{
			name: "advanced on-error publishes a global seen by the next task",
			src: `
version: '2.0'
wf:
  tasks:
    t1:
      action: std.fail
      on-error:
        publish:
          global: {my_var: We got an error}
        next: [t2]
    t2:
      action: std.echo output=<% $.my_var %>
      publish: {result: <% task().result %>}
`,
			wantState:  Success,
			wantTasks:  "t1=ERROR t2=SUCCESS",
			wantOutput: map[string]any{"result": "We got an error"},
		},
		{
			// succeed ends the execution while t2 runs; t2 still finishes
			// (and nothing after it starts), and the tasks after the
			// command never run.
			name: "succeed ends the execution and a running task finishes",
			src: `
version: '2.0'
wf:
  tasks:
    t1:
      action: std.echo output=x
      on-success:
        - t2
        - succeed
        - t3
    t2:
      action: std.noop
      on-success: t4
    t3:
      action: std.noop
    t4:
      action: std.noop
`,
			wantState:  Success,
			wantTasks:  "t1=SUCCESS t2=SUCCESS",
			wantOutput: map[string]any{},
		},
		{
			// task-defaults' on-error handles a failure and keeps its
			// target from being a start task.
			name: "task-defaults on-error",
			src: `
version: '2.0'
wf:
  task-defaults:
    on-error: [t2]
  tasks:
    t1:
      action: std.fail
    t2:
      action: std.noop
      publish: {handled: true}
`,
			wantState:  Success,
			wantTasks:  "t1=ERROR t2=SUCCESS",
			wantOutput: map[string]any{"handled": true},
		},
		{
			name: "join all waits for every inbound task and merges their contexts",
			src: `
version: '2.0'
wf:
  tasks:
    a:
      action: std.echo output=1
      publish: {a: 1}
      on-success: j
    b:
      action: std.noop
      on-success: b2
    b2:
      action: std.noop
      publish: {b: 2}
      on-success: j
    j:
      join: all
      action: std.echo output=<% $.a + $.b %>
      publish: {sum: <% task().result %>}
`,
			wantState:  Success,
			wantTasks:  "a=SUCCESS b=SUCCESS j=SUCCESS b2=SUCCESS",
			wantOutput: map[string]any{"a": int64(1), "b": int64(2), "sum": int64(3)},
		},
		{
			// A join that can never fire ends in ERROR, with Mistral's
			// message; unhandled, it fails the workflow.
			name: "join all that can never fire",
			src: `
version: '2.0'
wf:
  tasks:
    a:
      action: std.noop
      on-success: j
    b:
      action: std.fail
      on-success: j
    j:
      join: all
      action: std.noop
`,
			wantState: Error,
			wantTasks: "a=SUCCESS b=ERROR j=ERROR",
			wantInfo:  "j [task_ex_id=id-5] -> Failed by tasks: ['b']\n",
		},
		{
			name: "join 2 of 3 runs once",
			src: `
version: '2.0'
wf:
  tasks:
    a:
      action: std.noop
      on-success: j
    b:
      action: std.noop
      on-success: j
    c:
      action: std.fail
      on-error: j
    j:
      join: 2
      action: std.noop
`,
			wantState: Success,
			wantTasks: "a=SUCCESS b=SUCCESS c=ERROR j=SUCCESS",
		},
		{
			// A task that is never reached makes join all impossible;
			// the failed join's on-error runs.
			name: "join all with an inbound task never reached",
			src: `
version: '2.0'
wf:
  tasks:
    a:
      action: std.noop
      on-success:
        - j
        - x: <% false %>
    x:
      action: std.noop
      on-success: j
    j:
      join: all
      action: std.noop
      on-error: never
    never:
      action: std.noop
`,
			wantState: Success,
			wantTasks: "a=SUCCESS j=ERROR never=SUCCESS",
		},
		{
			// std.fail with error_data: the data is the result, its
			// Python str() the error.
			name: "an action's error result",
			src: `
version: '2.0'
wf:
  tasks:
    t1:
      action: std.fail error_data=<% [1, 2, 3] %>
      publish-on-error:
        r: <% task().result %>
`,
			wantState: Error,
			wantTasks: "t1=ERROR",
			wantOutput: map[string]any{"r": []any{int64(1), int64(2), int64(3)},
				"result": "Failure caused by error in tasks: t1\n\n  t1 [task_ex_id=id-1] -> [1, 2, 3]\n    [action_ex_id=id-2, idx=0]: [1, 2, 3]\n"},
		},
		{
			name: "a fail command's msg is evaluated and given as Python's str",
			src: `
version: '2.0'
wf:
  tasks:
    t1:
      action: std.echo output=1
      on-complete:
        - fail(msg=<% {a => task().result} %>)
`,
			wantState:  Error,
			wantTasks:  "t1=SUCCESS",
			wantOutput: map[string]any{"result": "{'a': 1}"},
		},
		{
			// $ inside a task is Mistral's context view: the task's,
			// the execution's and the environment's entries included.
			name: "the whole context of a task",
			src: `
version: '2.0'
wf:
  input:
    - param: default_val
  tasks:
    t1:
      action: std.echo output=<% $ %>
      publish:
        result: <% task().result %>
`,
			input:     map[string]any{"param": "default_val"},
			wantState: Success,
			wantTasks: "t1=SUCCESS",
			wantOutput: map[string]any{"result": map[string]any{
				"__env": map[string]any{}, "__execution": map[string]any{"id": "ex"},
				"__task_execution": map[string]any{"id": "id-1", "name": "t1"}, "param": "default_val"}},
		},
		{
			// The task that finishes after succeed cannot fail the
			// execution any more, even when its publish fails.
			name: "a late task's failing publish leaves the ended execution alone",
			src: `
version: '2.0'
wf:
  tasks:
    t1:
      action: std.noop
      on-success: [t2, succeed]
    t2:
      action: std.noop
      publish: {v: <% $.nope %>}
`,
			wantState: Success,
			wantTasks: "t1=SUCCESS t2=ERROR",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := run(t, tc.src, tc.input)
			if s.Exec.State != tc.wantState {
				t.Fatalf("state = %s (%s), want %s", s.Exec.State, s.Exec.StateInfo, tc.wantState)
			}
			if got := taskStates(s); got != tc.wantTasks {
				t.Errorf("tasks = %q, want %q", got, tc.wantTasks)
			}
			if tc.wantOutput != nil && !reflect.DeepEqual(s.Exec.Output, tc.wantOutput) {
				t.Errorf("output = %#v, want %#v", s.Exec.Output, tc.wantOutput)
			}
			if !strings.Contains(s.Exec.StateInfo, tc.wantInfo) {
				t.Errorf("state info = %q, want it to contain %q", s.Exec.StateInfo, tc.wantInfo)
			}
		})
	}
}

// A result that arrives for a task that already finished changes nothing:
// the runtime may deliver a result twice.
func TestDuplicateResultIgnored(t *testing.T) {
	doc, err := lang.ParseWorkflows([]byte("version: '2.0'\nwf:\n  tasks:\n    t1:\n      action: std.noop\n      on-success: t2\n    t2:\n      action: std.noop\n"), lang.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	c := &Controller{NewID: func() string { n++; return fmt.Sprint(n) }}
	s := &State{Spec: doc.Workflows[0], Exec: &Execution{ID: "ex"}}
	d, err := c.Start(s)
	if err != nil {
		t.Fatal(err)
	}
	first := d.Actions[0].TaskID
	if _, err := c.OnActionResult(s, first, nil, nil); err != nil {
		t.Fatal(err)
	}
	again, err := c.OnActionResult(s, first, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Tasks) != 0 || len(again.Actions) != 0 || again.ExecChange {
		t.Fatalf("duplicate result changed something: %+v", again)
	}
	if len(s.Tasks) != 2 {
		t.Fatalf("tasks = %d, want 2 (t2 must not start twice)", len(s.Tasks))
	}
}

func TestCheckStart(t *testing.T) {
	const reverse = `
version: '2.0'
wf:
  type: reverse
  tasks:
    a:
      action: std.noop
    b:
      action: std.noop
      requires: a
`
	const direct = `
version: '2.0'
wf:
  tasks:
    a:
      action: std.noop
`
	tests := []struct {
		name    string
		src     string
		params  map[string]any
		wantErr string
	}{
		{name: "reverse, a task as target", src: reverse, params: map[string]any{"task_name": "b"}},
		{name: "reverse, an unknown target", src: reverse, params: map[string]any{"task_name": "c"}, wantErr: "Invalid task name [wf_spec=wf, task_name=c]"},
		{name: "reverse, no target", src: reverse, wantErr: "Invalid task name [wf_spec=wf, task_name=None]"},
		{name: "reverse, a target that is not a name", src: reverse, params: map[string]any{"task_name": int64(1)}, wantErr: "Invalid task name"},
		{name: "direct needs no target", src: direct},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := lang.ParseWorkflows([]byte(tt.src), lang.Options{Source: "test.yaml", ValidateExpr: expr.Validate})
			if err != nil {
				t.Fatal(err)
			}
			err = CheckStart(doc.Workflows[0], tt.params)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("CheckStart = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("CheckStart = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
