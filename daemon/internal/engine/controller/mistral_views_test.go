package controller

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// A join that may start before all its inbound tasks completed (join: N,
// one) waits for the inbound tasks still undecided, so that the ones that
// complete at about the same time are in its context whatever the order
// of their results, as in Mistral, where a scheduled job starts it up to
// a second later: it starts once none is undecided, or through a timer
// (joinDelay) with those that led to it by then. join: all starts at once.
func TestPartialJoinWaitsForItsUndecidedInboundTasks(t *testing.T) {
	// branches is a workflow of n branches a, b, ... that lead to j, the
	// one named late after a wait-before of 5 s.
	branches := func(join string, n int, late string) string {
		src := "version: '2.0'\nwf:\n  output:\n    seen: <% $.seen %>\n  tasks:\n"
		var seen []string
		for i := 1; i <= n; i++ {
			name := string(rune('a' + i - 1))
			src += "    " + name + ":\n      action: std.noop\n      publish:\n        " + name + ": 1\n      on-success: j\n"
			if name == late {
				src += "      wait-before: 5\n"
			}
			seen = append(seen, "<% "+name+" in $.keys() %>")
		}
		return src + "    j:\n      join: " + join + "\n      action: std.echo output=\"" + strings.Join(seen, ",") +
			"\"\n      publish:\n        seen: <% task().result %>\n"
	}
	tests := []struct {
		name string
		src  string
		// hold keeps the join's timer from firing: the join must start
		// without it.
		hold      bool
		wantSeen  any
		wantTimer string // the timers asked for, in order
		wantRuns  int
	}{
		{name: "join: 2 of 4", src: branches("2", 4, ""), hold: true, wantSeen: "True,True,True,True", wantTimer: "j:join:1", wantRuns: 1},
		{name: "join: one of 3", src: branches("one", 3, ""), hold: true, wantSeen: "True,True,True", wantTimer: "j:join:1", wantRuns: 1},
		{name: "join: all", src: branches("all", 3, ""), hold: true, wantSeen: "True,True,True", wantRuns: 1},
		{name: "join: 2 of 2", src: branches("2", 2, ""), hold: true, wantSeen: "True,True", wantRuns: 1},
		{
			// The late branch runs the join again (joinAgain): its
			// result lists both runs.
			name: "join: 2 of 3, one late", src: branches("2", 3, "c"),
			wantSeen: []any{"True,True,False", "True,True,True"}, wantTimer: "c:wait-before:5 j:join:1", wantRuns: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, tt.src)
			if tt.hold {
				s.hold = TimerJoin
			}
			st := s.start("wf", nil, nil)
			if st.Exec.State != Success {
				t.Fatalf("execution %s (%s): %s", st.Exec.State, st.Exec.StateInfo, s.tasks(st))
			}
			if got := st.Exec.Output["seen"]; !reflect.DeepEqual(got, tt.wantSeen) {
				t.Errorf("the join saw %#v, want %#v", got, tt.wantSeen)
			}
			if got := strings.Join(s.timerLog, " "); got != tt.wantTimer {
				t.Errorf("timers %q, want %q", got, tt.wantTimer)
			}
			if s.runs["j"] != tt.wantRuns {
				t.Errorf("the join ran %d times, want %d", s.runs["j"], tt.wantRuns)
			}
		})
	}
}

// A join whose timer fires while the execution is paused starts when it
// resumes.
func TestPartialJoinTimerWhilePaused(t *testing.T) {
	s := newSim(t, `
version: '2.0'
wf:
  tasks:
    a:
      action: std.noop
      on-success: j
    b:
      action: std.noop
      wait-before: 5
      on-success: j
    j:
      join: one
      action: std.noop
`)
	s.hold = TimerJoin
	st := s.start("wf", nil, nil)
	if got := s.tasks(st); got != "a=SUCCESS b=DELAYED j=WAITING" {
		t.Fatalf("before the timer: %s", got)
	}
	d, err := s.c.Pause(st, "")
	s.apply(st, d, err)
	s.hold = TimerWaitBefore
	s.loop()
	if got := s.tasks(st); st.Exec.State != Paused || got != "a=SUCCESS b=DELAYED j=WAITING" || !st.latest("j").JoinDue {
		t.Fatalf("paused: %s %s", st.Exec.State, got)
	}
	d, err = s.c.Resume(st)
	s.apply(st, d, err)
	s.loop()
	if got := s.tasks(st); got != "a=SUCCESS b=DELAYED j=SUCCESS" || s.runs["j"] != 1 {
		t.Fatalf("resumed: %s %s, the join ran %d times", st.Exec.State, got, s.runs["j"])
	}
}

// task() and execution() return what Mistral's do: the definition as
// written (keys in document order, with the type, name and version
// Mistral adds), the fields in Mistral's order, and the params with
// namespace and env. (run sets no times: they are null here.)
func TestTaskAndExecutionViews(t *testing.T) {
	tests := []struct {
		name       string
		src        string
		wantState  string
		wantOutput map[string]any
	}{
		{
			name: "str() of task() keeps Mistral's order",
			src: `
version: '2.0'
wf:
  tasks:
    task1:
      action: std.echo output=1
      on-complete:
        - fail(msg=<% task() %>)
`,
			wantState: Error,
			wantOutput: map[string]any{"result": "{'id': 'id-1', 'name': 'task1', 'spec': {'action': 'std.echo output=1', " +
				"'on-complete': ['fail(msg=<% task() %>)'], 'type': 'direct', 'name': 'task1', 'version': '2.0'}, " +
				"'state': 'SUCCESS', 'state_info': None, 'result': 1, 'published': {}, 'type': 'ACTION', " +
				"'workflow_execution_id': 'ex', 'created_at': None, 'updated_at': None}"},
		},
		{
			name: "execution() and task(name)",
			src: `
version: '2.0'
wf:
  input:
    - k1
    - k2: v2_default
  output:
    ex: <% execution() %>
    spec: <% task(task1).spec %>
  tasks:
    task1:
      action: std.echo output=1
`,
			wantState: Success,
			wantOutput: map[string]any{
				"ex": map[string]any{
					"id": "ex", "name": "wf", "input": map[string]any{"k1": "v1", "k2": "v2_default"},
					"params":     map[string]any{"env": map[string]any{}, "namespace": ""},
					"created_at": nil, "updated_at": nil, "root_execution_id": nil,
					"spec": map[string]any{
						"input": []any{"k1", map[string]any{"k2": "v2_default"}}, "output": map[string]any{
							"ex": "<% execution() %>", "spec": "<% task(task1).spec %>"},
						"name": "wf", "version": "2.0",
						"tasks": map[string]any{"task1": map[string]any{
							"action": "std.echo output=1", "type": "direct", "name": "task1", "version": "2.0"}},
					},
				},
				"spec": map[string]any{"action": "std.echo output=1", "type": "direct", "name": "task1", "version": "2.0"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := run(t, tt.src, map[string]any{"k1": "v1", "k2": "v2_default"})
			if s.Exec.State != tt.wantState {
				t.Fatalf("state %s (%s)", s.Exec.State, s.Exec.StateInfo)
			}
			if !reflect.DeepEqual(s.Exec.Output, tt.wantOutput) {
				t.Errorf("output\n%#v\nwant\n%#v", s.Exec.Output, tt.wantOutput)
			}
		})
	}
}

// task() shows a stored task's times as Mistral prints them, and a task
// the event created with the event's time and no update yet.
func TestTaskViewTimes(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	created := now.Add(-time.Minute)
	s := &State{Exec: &Execution{ID: "ex"}, Now: now}
	tests := []struct {
		task             *Task
		created, updated any
	}{
		{&Task{ID: "stored", CreatedAt: created, UpdatedAt: now.Add(500 * time.Millisecond)}, "2026-01-02 03:03:05", "2026-01-02 03:04:05"},
		{&Task{ID: "new"}, "2026-01-02 03:04:05", nil},
	}
	for _, tt := range tests {
		v := taskView(s, tt.task)
		if v["created_at"] != tt.created || v["updated_at"] != tt.updated {
			t.Errorf("%s: created_at %v, updated_at %v; want %v, %v", tt.task.ID, v["created_at"], v["updated_at"], tt.created, tt.updated)
		}
	}
}

// A task's result is Mistral's get_task_execution_result over its
// accepted runs: [] while none has ended (task() in the task's own input)
// and for a task that failed without running its action; null only when
// the one run's result is null.
func TestTaskResultWithoutARun(t *testing.T) {
	tests := []struct {
		name       string
		src        string
		wantState  string
		wantOutput map[string]any
	}{
		{
			name: "task() in its own input",
			src: `
version: '2.0'
wf:
  output:
    r: <% task(task1).result %>
  tasks:
    task1:
      action: std.echo
      input:
        output: <% task().result.content %>
`,
			wantState:  Success,
			wantOutput: map[string]any{"r": []any{}},
		},
		{
			name: "a join reads its own result when it starts",
			src: `
version: '2.0'
wf:
  output:
    r: <% task(j).result %>
  tasks:
    a:
      action: std.noop
      on-success: j
    b:
      action: std.noop
      on-success: j
    j:
      join: all
      action: std.echo output=<% task().result %>
`,
			wantState:  Success,
			wantOutput: map[string]any{"r": []any{}},
		},
		{
			name: "a join failed by its inbound task never ran",
			src: `
version: '2.0'
wf:
  output-on-error:
    r: <% task(j).result %>
  tasks:
    a:
      action: std.fail
      on-success: j
    b:
      action: std.noop
      on-success: j
    j:
      join: all
      action: std.noop
`,
			wantState:  Error,
			wantOutput: map[string]any{"r": []any{}},
		},
		{
			name: "a null result stays null",
			src: `
version: '2.0'
wf:
  output:
    r: <% task(task1).result %>
    kept: <% task(task2).result %>
  tasks:
    task1:
      action: std.noop
      on-success: task2
    task2:
      action: std.echo output=3
      keep-result: false
`,
			wantState:  Success,
			wantOutput: map[string]any{"r": nil, "kept": nil},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := run(t, tt.src, nil)
			if s.Exec.State != tt.wantState {
				t.Fatalf("state %s (%s): %s", s.Exec.State, s.Exec.StateInfo, taskStates(s))
			}
			for k, want := range tt.wantOutput {
				if got := s.Exec.Output[k]; !reflect.DeepEqual(got, want) {
					t.Errorf("output %s = %#v, want %#v", k, got, want)
				}
			}
		})
	}
}

// A running task read back from the store has no result (the store keeps
// none until it ends): task() shows [] for it, and a task that ended with
// a null result null.
func TestTaskViewOfAStoredTask(t *testing.T) {
	s := &State{Exec: &Execution{ID: "ex"}}
	tests := []struct {
		task *Task
		want any
	}{
		{&Task{ID: "running", State: Running}, []any{}},
		{&Task{ID: "waiting", State: Waiting, Result: []any{}}, []any{}},
		{&Task{ID: "done", State: Success}, nil},
		{&Task{ID: "echoed", State: Success, Result: "x"}, "x"},
	}
	for _, tt := range tests {
		if got := taskView(s, tt.task)["result"]; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: result %#v, want %#v", tt.task.ID, got, tt.want)
		}
	}
}
