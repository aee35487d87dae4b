package controller

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/sirocco-wf/sirocco/daemon/internal/expr"
	"github.com/sirocco-wf/sirocco/daemon/internal/lang"
)

// sim plays the runtime around the controller for whole documents:
// actions answered by fakeAction in the order asked (one result at a
// time, so concurrency is observable), timers fired once no action is
// pending, with-items results gathered, sub-workflows started and their
// ends reported to the parent. It records what the runtime saw.
type sim struct {
	t      *testing.T
	c      *Controller
	doc    map[string]*lang.Workflow
	states map[string]*State // by execution id
	parent map[string][2]string

	actions []simAction
	timers  []simTimer
	// results of every run, by task and item, for ItemsCollected.
	results map[string]map[int]any
	// runs counts the action runs of each task name; maxRunning is the
	// most item runs of one task outstanding at once.
	runs       map[string]int
	running    map[string]int
	maxRunning map[string]int
	timerLog   []string
	// hold lets the test stop the loop before a timer of this kind.
	hold string
}

type simAction struct {
	exec string
	a    RunAction
}

type simTimer struct {
	exec string
	tm   Timer
}

func newSim(t *testing.T, src string) *sim {
	t.Helper()
	doc, err := lang.ParseWorkflows([]byte(src), lang.Options{Source: "test.yaml", ValidateExpr: expr.Validate})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	n := 0
	s := &sim{
		t: t, c: &Controller{NewID: func() string { n++; return fmt.Sprintf("id-%d", n) }, Lists: listCache{}},
		doc: map[string]*lang.Workflow{}, states: map[string]*State{}, parent: map[string][2]string{},
		results: map[string]map[int]any{}, runs: map[string]int{}, running: map[string]int{}, maxRunning: map[string]int{},
	}
	for _, w := range doc.Workflows {
		s.doc[w.Name] = w
	}
	return s
}

// start starts workflow name and runs until nothing is left to do (or a
// timer of the held kind is next).
func (s *sim) start(name string, input, params map[string]any) *State {
	s.t.Helper()
	st := &State{Spec: s.doc[name], Exec: &Execution{ID: "root", Name: name, Input: input, Params: params}}
	if st.Spec == nil {
		s.t.Fatalf("no workflow %q", name)
	}
	s.states[st.Exec.ID] = st
	d, err := s.c.Start(st)
	s.apply(st, d, err)
	s.loop()
	return st
}

func (s *sim) apply(st *State, d *Decision, err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatal(err)
	}
	for _, a := range d.Actions {
		s.actions = append(s.actions, simAction{st.Exec.ID, a})
		name := st.task(a.TaskID).Name
		s.runs[name]++
		s.running[name]++
		if s.running[name] > s.maxRunning[name] {
			s.maxRunning[name] = s.running[name]
		}
	}
	for _, tm := range d.Timers {
		s.timers = append(s.timers, simTimer{st.Exec.ID, tm})
		s.timerLog = append(s.timerLog, fmt.Sprintf("%s:%s:%s", st.task(tm.TaskID).Name, tm.Kind, fmtSecs(tm.After)))
	}
	for _, r := range d.Replace {
		if r.FailedOnly {
			continue // the sim keeps the last result of every item
		}
		delete(s.results, r.TaskID)
	}
	for _, w := range d.Workflows {
		child := &State{Spec: s.doc[w.Workflow], Exec: &Execution{ID: w.ID, Name: w.Workflow, Input: w.Input, Params: map[string]any{"env": w.Env}}}
		if child.Spec == nil {
			s.t.Fatalf("no workflow %q", w.Workflow)
		}
		s.states[w.ID] = child
		s.parent[w.ID] = [2]string{st.Exec.ID, w.TaskID}
		cd, err := s.c.Start(child)
		s.apply(child, cd, err)
	}
	for _, id := range d.Collect {
		byIndex := s.results[id]
		out := make([]any, st.task(id).Items.Count)
		for i := range out {
			out[i] = byIndex[i]
		}
		cd, err := s.c.ItemsCollected(st, id, out)
		s.apply(st, cd, err)
	}
	if d.ExecChange && completed(st.Exec.State) {
		if p, ok := s.parent[st.Exec.ID]; ok {
			ps := s.states[p[0]]
			pd, err := s.c.OnChildDone(ps, p[1], st.Exec.ID, st.Exec.State, st.Exec.StateInfo, st.Exec.Output)
			s.apply(ps, pd, err)
		}
	}
}

func (s *sim) loop() {
	s.t.Helper()
	for steps := 0; ; steps++ {
		if steps > 1000 {
			s.t.Fatal("the workflow did not end after 1000 steps")
		}
		switch {
		case len(s.actions) > 0:
			x := s.actions[0]
			s.actions = s.actions[1:]
			st := s.states[x.exec]
			name := st.task(x.a.TaskID).Name
			s.running[name]--
			out, aerr := simAction2(x.a)
			if s.results[x.a.TaskID] == nil {
				s.results[x.a.TaskID] = map[int]any{}
			}
			if aerr != nil {
				s.results[x.a.TaskID][x.a.Index] = aerr.Message
			} else {
				s.results[x.a.TaskID][x.a.Index] = out
			}
			d, err := s.c.OnResult(st, Result{TaskID: x.a.TaskID, ActionExecutionID: x.a.ActionExecutionID, Index: x.a.Index, Output: out, Err: aerr})
			s.apply(st, d, err)
		case len(s.timers) > 0:
			x := s.timers[0]
			if x.tm.Kind == s.hold {
				return
			}
			s.timers = s.timers[1:]
			st := s.states[x.exec]
			d, err := s.c.OnTimer(st, x.tm.TaskID, x.tm.Kind, x.tm.Epoch)
			s.apply(st, d, err)
		default:
			return
		}
	}
}

// simAction2 adds to fakeAction an action that fails when told to.
func simAction2(a RunAction) (any, *ActionError) {
	if a.Action == "test.maybe_fail" {
		if expr.Truthy(a.Input["fail"]) {
			return nil, &ActionError{Type: "ActionException", Message: fmt.Sprintf("item %v failed", a.Input["value"])}
		}
		return a.Input["value"], nil
	}
	return fakeAction(a)
}

func (s *sim) tasks(st *State) string {
	var parts []string
	for _, t := range st.Tasks {
		parts = append(parts, t.Name+"="+t.State)
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func TestEngineSemantics(t *testing.T) {
	tests := []struct {
		name       string
		src        string
		wf         string
		input      map[string]any
		params     map[string]any
		wantState  string
		wantTasks  string         // sorted name=STATE
		wantOutput map[string]any // compared when set
		wantInfo   string         // substring of the execution's state info
		wantRuns   map[string]int // action runs per task name
		wantMax    map[string]int // most item runs outstanding at once
		wantTimers []string       // task:kind:after, in order
	}{
		{
			name: "with-items zips its lists and keeps item order",
			src: `
version: '2.0'
wf:
  input:
    - xs: [1, 2, 3]
    - ys: [a, b, c]
  tasks:
    t:
      with-items:
        - x in <% $.xs %>
        - y in <% $.ys %>
      action: std.echo output="<% $.x %><% $.y %>"
      publish:
        r: <% task().result %>
  output:
    r: <% $.r %>
`,
			input:      map[string]any{"xs": []any{int64(1), int64(2), int64(3)}, "ys": []any{"a", "b", "c"}},
			wantState:  Success,
			wantTasks:  "t=SUCCESS",
			wantOutput: map[string]any{"r": []any{"1a", "2b", "3c"}},
			wantRuns:   map[string]int{"t": 3},
		},
		{
			name: "with-items over nothing succeeds with an empty list",
			src: `
version: '2.0'
wf:
  tasks:
    t:
      with-items: x in <% [] %>
      action: std.echo output=<% $.x %>
      publish:
        r: <% task().result %>
  output:
    r: <% $.r %>
`,
			wantState:  Success,
			wantTasks:  "t=SUCCESS",
			wantOutput: map[string]any{"r": []any{}},
			wantRuns:   map[string]int{},
		},
		{
			name: "a failed item fails the task once every item is done",
			src: `
version: '2.0'
wf:
  tasks:
    t:
      with-items: i in <% range(4) %>
      action: test.maybe_fail value=<% $.i %> fail=<% $.i = 1 %>
      on-error: handled
    handled:
      action: std.echo output=<% task(t).result %>
      publish:
        r: <% task().result %>
  output:
    r: <% $.r %>
`,
			wantState:  Success,
			wantTasks:  "handled=SUCCESS t=ERROR",
			wantOutput: map[string]any{"r": []any{int64(0), "item 1 failed", int64(2), int64(3)}},
			wantRuns:   map[string]int{"t": 4, "handled": 1},
		},
		{
			name: "concurrency bounds the items running at once",
			src: `
version: '2.0'
wf:
  tasks:
    t:
      with-items: i in <% range(7) %>
      concurrency: 2
      action: std.echo output=<% $.i %>
`,
			wantState: Success,
			wantTasks: "t=SUCCESS",
			wantRuns:  map[string]int{"t": 7},
			wantMax:   map[string]int{"t": 2},
		},
		{
			name: "retry runs a failing task count more times, then fails it",
			src: `
version: '2.0'
wf:
  tasks:
    t:
      action: std.fail
      retry:
        count: 2
        delay: 3
`,
			wantState:  Error,
			wantTasks:  "t=ERROR",
			wantRuns:   map[string]int{"t": 3},
			wantTimers: []string{"t:retry:3", "t:retry:3"},
			wantInfo:   "Failure caused by error in tasks: t",
		},
		{
			name: "break-on stops the retries",
			src: `
version: '2.0'
wf:
  tasks:
    t:
      action: std.fail
      retry: count=5 delay=1 break-on=<% true %>
`,
			wantState: Error,
			wantTasks: "t=ERROR",
			wantRuns:  map[string]int{"t": 1},
		},
		{
			// As in Mistral, a retry does not see what the task published
			// (its input reads the inbound context), while continue-on
			// does: here it holds every time, so count bounds the loop.
			name: "continue-on repeats a succeeding task while it holds",
			src: `
version: '2.0'
wf:
  vars:
    n: 0
  tasks:
    t:
      action: std.echo output=<% $.n %>
      publish:
        n: <% task().result + 1 %>
      retry:
        count: 4
        delay: 0
        continue-on: <% $.n < 3 %>
  output:
    n: <% $.n %>
`,
			wantState:  Success,
			wantTasks:  "t=SUCCESS",
			wantRuns:   map[string]int{"t": 5},
			wantOutput: map[string]any{"n": int64(1)},
		},
		{
			name: "wait-before and wait-after are timers, with task-defaults",
			src: `
version: '2.0'
wf:
  task-defaults:
    wait-after: <% 1 + 1 %>
  tasks:
    t1:
      action: std.noop
      wait-before: 5
      on-success: t2
    t2:
      action: std.noop
`,
			wantState:  Success,
			wantTasks:  "t1=SUCCESS t2=SUCCESS",
			wantTimers: []string{"t1:wait-before:5", "t1:wait-after:2", "t2:wait-after:2"},
		},
		{
			name: "fail-on turns a success into an error that on-error handles",
			src: `
version: '2.0'
wf:
  tasks:
    t:
      action: std.echo output=7
      fail-on: <% task().result > 5 %>
      on-error: e
    e:
      action: std.noop
`,
			wantState: Success,
			wantTasks: "e=SUCCESS t=ERROR",
		},
		{
			name: "timeout is a timer that fails the task",
			src: `
version: '2.0'
wf:
  tasks:
    t:
      action: std.noop
      timeout: 10
`,
			wantState:  Success,
			wantTasks:  "t=SUCCESS",
			wantTimers: []string{"t:timeout:10"},
		},
		{
			name: "keep-result false drops the result after publishing",
			src: `
version: '2.0'
wf:
  tasks:
    t:
      action: std.echo output="kept"
      keep-result: false
      publish:
        p: <% task().result %>
      on-success: u
    u:
      action: std.echo output=<% task(t).result %>
      publish:
        q: <% task().result %>
  output:
    p: <% $.p %>
    q: <% $.q %>
`,
			wantState:  Success,
			wantTasks:  "t=SUCCESS u=SUCCESS",
			wantOutput: map[string]any{"p": "kept", "q": nil},
		},
		{
			name: "a sub-workflow's output is its task's result",
			src: `
version: '2.0'
parent:
  tasks:
    t:
      workflow: child
      input:
        x: 20
      publish:
        y: <% task().result.y %>
  output:
    y: <% $.y %>
child:
  input:
    - x
  tasks:
    c:
      action: std.echo output=<% $.x + 1 %>
      publish:
        y: <% task().result %>
  output:
    y: <% $.y %>
`,
			wf:         "parent",
			wantState:  Success,
			wantTasks:  "t=SUCCESS",
			wantOutput: map[string]any{"y": int64(21)},
		},
		{
			name: "a failed sub-workflow fails its task and the parent",
			src: `
version: '2.0'
parent:
  tasks:
    t:
      workflow: child
child:
  tasks:
    c:
      action: std.fail
`,
			wf:        "parent",
			wantState: Error,
			wantTasks: "t=ERROR",
			wantInfo:  "t [task_ex_id=",
		},
		{
			name: "a reverse workflow runs what its target requires, in order",
			src: `
version: '2.0'
wf:
  type: reverse
  tasks:
    a:
      action: std.echo output=1
      publish:
        a: <% task().result %>
    b:
      action: std.echo output=<% $.a + 1 %>
      publish:
        b: <% task().result %>
      requires: [a]
    c:
      action: std.echo output=<% $.b + 1 %>
      requires: b
      publish:
        c: <% task().result %>
    unrelated:
      action: std.fail
`,
			params:     map[string]any{"task_name": "c"},
			wantState:  Success,
			wantTasks:  "a=SUCCESS b=SUCCESS c=SUCCESS",
			wantOutput: map[string]any{"a": int64(1), "b": int64(2), "c": int64(3)},
		},
		{
			name: "a policy is checked when the task starts, as Mistral's schema does",
			src: `
version: '2.0'
wf:
  input: [c]
  tasks:
    t:
      action: std.noop
      concurrency: <% $.c %>
`,
			input:     map[string]any{"c": int64(-1)},
			wantState: Error,
			wantTasks: "t=ERROR",
			wantInfo:  "Invalid data type in ConcurrencyPolicy: -1 is less than the minimum of 0",
		},
		{
			name: "a policy of the wrong type fails the task",
			src: `
version: '2.0'
wf:
  tasks:
    t:
      action: std.noop
      wait-before: <% '1' %>
`,
			wantState: Error,
			wantTasks: "t=ERROR",
			wantInfo:  "Invalid data type in WaitBeforePolicy: '1' is not of type 'integer'",
		},
		{
			name: "a reverse workflow needs an existing target",
			src: `
version: '2.0'
wf:
  type: reverse
  tasks:
    a:
      action: std.noop
`,
			params:    map[string]any{"task_name": "nope"},
			wantState: Error,
			wantTasks: "",
			wantInfo:  "Invalid task name",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, tt.src)
			wf := tt.wf
			if wf == "" {
				wf = "wf"
			}
			st := s.start(wf, tt.input, tt.params)
			if st.Exec.State != tt.wantState {
				t.Errorf("state %s (%s), want %s", st.Exec.State, st.Exec.StateInfo, tt.wantState)
			}
			if got := s.tasks(st); got != tt.wantTasks {
				t.Errorf("tasks %q, want %q", got, tt.wantTasks)
			}
			if tt.wantOutput != nil {
				if got, want := fmt.Sprint(st.Exec.Output), fmt.Sprint(tt.wantOutput); got != want {
					t.Errorf("output %s, want %s", got, want)
				}
			}
			if !strings.Contains(st.Exec.StateInfo, tt.wantInfo) {
				t.Errorf("state info %q, want it to contain %q", st.Exec.StateInfo, tt.wantInfo)
			}
			if tt.wantRuns != nil {
				if got, want := fmt.Sprint(nonZero(s.runs)), fmt.Sprint(tt.wantRuns); got != want {
					t.Errorf("runs %s, want %s", got, want)
				}
			}
			for name, want := range tt.wantMax {
				if s.maxRunning[name] != want {
					t.Errorf("task %s: %d runs at once, want %d", name, s.maxRunning[name], want)
				}
			}
			if tt.wantTimers != nil {
				var got []string
				for _, l := range s.timerLog {
					if !strings.Contains(l, ":timeout:") || strings.Contains(strings.Join(tt.wantTimers, " "), ":timeout:") {
						got = append(got, l)
					}
				}
				if strings.Join(got, " ") != strings.Join(tt.wantTimers, " ") {
					t.Errorf("timers %q, want %q", got, tt.wantTimers)
				}
			}
		})
	}
}

func nonZero(m map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

// Pausing holds the execution: pause-before keeps its task IDLE, the pause
// command puts what follows in the backlog, and resume runs both.
func TestPauseAndResume(t *testing.T) {
	s := newSim(t, `
version: '2.0'
wf:
  tasks:
    t1:
      action: std.echo output=1
      on-success:
        - pause
        - t2
    t2:
      action: std.noop
      on-success: t3
    t3:
      action: std.noop
      pause-before: true
`)
	st := s.start("wf", nil, nil)
	if st.Exec.State != Paused || s.tasks(st) != "t1=SUCCESS" || len(st.Exec.Backlog) != 1 {
		t.Fatalf("after the pause command: %s, tasks %q, backlog %v", st.Exec.State, s.tasks(st), st.Exec.Backlog)
	}
	d, err := s.c.Resume(st)
	s.apply(st, d, err)
	s.loop()
	if st.Exec.State != Paused || s.tasks(st) != "t1=SUCCESS t2=SUCCESS t3=IDLE" {
		t.Fatalf("after resume and pause-before: %s, tasks %q", st.Exec.State, s.tasks(st))
	}
	if _, err := s.c.Resume(&State{Spec: st.Spec, Exec: &Execution{State: Success}}); err != ErrNotPaused {
		t.Errorf("resuming an ended execution: %v, want ErrNotPaused", err)
	}
	d, err = s.c.Resume(st)
	s.apply(st, d, err)
	s.loop()
	if st.Exec.State != Success || s.tasks(st) != "t1=SUCCESS t2=SUCCESS t3=SUCCESS" {
		t.Fatalf("at the end: %s, tasks %q", st.Exec.State, s.tasks(st))
	}
}

// A result that arrives while the execution is paused completes its task,
// whose transitions wait for the resume.
func TestResultWhilePaused(t *testing.T) {
	s := newSim(t, `
version: '2.0'
wf:
  tasks:
    t1:
      action: std.echo output=1
      on-success: t2
    t2:
      action: std.noop
`)
	st := &State{Spec: s.doc["wf"], Exec: &Execution{ID: "root", Name: "wf"}}
	s.states["root"] = st
	d, err := s.c.Start(st)
	s.apply(st, d, err)
	d, err = s.c.Pause(st, "by hand")
	s.apply(st, d, err)
	s.loop()
	if st.Exec.State != Paused || s.tasks(st) != "t1=SUCCESS" || st.Tasks[0].Processed {
		t.Fatalf("paused: %s, tasks %q, processed %v", st.Exec.State, s.tasks(st), st.Tasks[0].Processed)
	}
	d, err = s.c.Resume(st)
	s.apply(st, d, err)
	s.loop()
	if st.Exec.State != Success || s.tasks(st) != "t1=SUCCESS t2=SUCCESS" {
		t.Fatalf("resumed: %s, tasks %q", st.Exec.State, s.tasks(st))
	}
}

// A timeout that fires while the action runs fails the task with
// Mistral's message and asks for the action's cancel.
func TestTimeoutFires(t *testing.T) {
	s := newSim(t, `
version: '2.0'
wf:
  tasks:
    t:
      action: std.noop
      timeout: 2
      on-error: e
    e:
      action: std.noop
`)
	st := &State{Spec: s.doc["wf"], Exec: &Execution{ID: "root", Name: "wf"}}
	d, err := s.c.Start(st)
	if err != nil || len(d.Timers) != 1 || len(d.Actions) != 1 {
		t.Fatalf("start: %v, timers %v, actions %v", err, d.Timers, d.Actions)
	}
	d, err = s.c.OnTimer(st, d.Timers[0].TaskID, TimerTimeout, d.Timers[0].Epoch)
	if err != nil {
		t.Fatal(err)
	}
	tk := st.Tasks[0]
	if tk.State != Error || tk.StateInfo != "Task timed out [timeout(s)=2]." || len(d.Cancel) != 1 {
		t.Fatalf("task %s %q, cancel %v", tk.State, tk.StateInfo, d.Cancel)
	}
	if len(d.Actions) != 1 || d.Actions[0].Action != "std.noop" {
		t.Fatalf("on-error did not run: %v", d.Actions)
	}
}

// A rerun without reset runs only the items that failed; the task's
// result then holds every item's latest result.
func TestRerunFailedItems(t *testing.T) {
	s := newSim(t, `
version: '2.0'
wf:
  input:
    - bad: 1
  tasks:
    t:
      with-items: i in <% range(3) %>
      action: test.maybe_fail value=<% $.i %> fail=<% $.i = $.bad %>
      publish:
        r: <% task().result %>
  output:
    r: <% $.r %>
`)
	st := s.start("wf", map[string]any{"bad": int64(1)}, nil)
	if st.Exec.State != Error || s.runs["t"] != 3 {
		t.Fatalf("first run: %s, %d runs", st.Exec.State, s.runs["t"])
	}
	st.Exec.Input["bad"] = int64(-1)
	if _, err := s.c.Rerun(st, st.Tasks[0].ID, true); err != nil {
		t.Fatalf("rerun with reset of an errored with-items task: %v", err)
	}
	s.actions = nil // drop the reset rerun; run again from the failure below
	st = s.start("wf", map[string]any{"bad": int64(1)}, nil)
	runs := s.runs["t"]
	st.Exec.Input["bad"] = int64(-1)
	d, err := s.c.Rerun(st, st.Tasks[0].ID, false)
	s.apply(st, d, err)
	s.loop()
	if got := s.runs["t"] - runs; got != 1 {
		t.Errorf("rerun without reset ran %d items, want 1", got)
	}
	if st.Exec.State != Success || fmt.Sprint(st.Exec.Output["r"]) != "[0 1 2]" {
		t.Errorf("after the rerun: %s %v", st.Exec.State, st.Exec.Output)
	}
	if _, err := s.c.Rerun(st, st.Tasks[0].ID, true); err == nil {
		t.Error("a task in SUCCESS was rerun")
	}
}

// A cancelled task leads nowhere, not even on-complete, and cancels the
// workflow (check_and_complete), as a sub-workflow cancelled on its own
// does to its parent.
func TestCancelledTaskCancelsTheWorkflow(t *testing.T) {
	s := newSim(t, `
version: '2.0'
parent:
  tasks:
    t:
      workflow: child
      on-complete: after
    after:
      action: std.noop
child:
  tasks:
    c:
      action: std.noop
`)
	st := &State{Spec: s.doc["parent"], Exec: &Execution{ID: "root", Name: "parent"}}
	d, err := s.c.Start(st)
	if err != nil || len(d.Workflows) != 1 {
		t.Fatalf("start: %v, workflows %v", err, d.Workflows)
	}
	d, err = s.c.OnChildDone(st, d.Workflows[0].TaskID, d.Workflows[0].ID, Cancelled, "stopped", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Actions) != 0 || st.Exec.State != Cancelled || st.Exec.StateInfo != "Cancelled tasks: t" {
		t.Fatalf("actions %v, execution %s %q", d.Actions, st.Exec.State, st.Exec.StateInfo)
	}
}

// A timer set before a rerun finds another epoch and does nothing.
func TestTimerOfAnEarlierRunIgnored(t *testing.T) {
	s := newSim(t, `
version: '2.0'
wf:
  tasks:
    t:
      action: std.fail
      timeout: 30
`)
	st := &State{Spec: s.doc["wf"], Exec: &Execution{ID: "root", Name: "wf"}}
	d, err := s.c.Start(st)
	if err != nil {
		t.Fatal(err)
	}
	old := d.Timers[0]
	if _, err := s.c.OnActionResult(st, old.TaskID, nil, &ActionError{Type: "ActionException", Message: "x"}); err != nil {
		t.Fatal(err)
	}
	d, err = s.c.Rerun(st, old.TaskID, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Timers) != 1 || d.Timers[0].Key == old.Key {
		t.Fatalf("the rerun's timeout %v has the key of the first run's %q", d.Timers, old.Key)
	}
	if _, err := s.c.OnTimer(st, old.TaskID, TimerTimeout, old.Epoch); err != nil {
		t.Fatal(err)
	}
	if tk := st.Tasks[0]; tk.State != Running {
		t.Fatalf("the first run's timeout changed the rerun task: %s %q", tk.State, tk.StateInfo)
	}
}

// A join that can never fire, with a retry, waits again after each delay
// and fails for good once the retries are spent, as in Mistral.
func TestRetriedJoinWaitsAgain(t *testing.T) {
	s := newSim(t, `
version: '2.0'
wf:
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
      retry: count=2 delay=1
`)
	st := s.start("wf", nil, nil)
	if st.Exec.State != Error || s.runs["j"] != 0 {
		t.Fatalf("execution %s, join ran its action %d times", st.Exec.State, s.runs["j"])
	}
	if got := strings.Join(s.timerLog, " "); got != "j:retry:1 j:retry:1" {
		t.Fatalf("timers %q", got)
	}
}

// Skipping a failed task runs the execution again from its on-skip
// transitions, with what publish-on-skip publishes.
func TestSkipFailedTask(t *testing.T) {
	s := newSim(t, `
version: '2.0'
wf:
  tasks:
    t:
      action: std.fail
      publish-on-skip:
        why: skipped
      on-skip: after
      on-complete: never
    after:
      action: std.echo output=<% $.why %>
      publish:
        got: <% task().result %>
    never:
      action: std.noop
  output:
    got: <% $.got %>
`)
	st := s.start("wf", nil, nil)
	if st.Exec.State != Error {
		t.Fatalf("first: %s", st.Exec.State)
	}
	if _, err := s.c.Skip(st, st.Tasks[1].ID); err == nil {
		t.Fatal("a task that is not in ERROR was skipped")
	}
	d, err := s.c.Skip(st, st.Tasks[0].ID)
	s.apply(st, d, err)
	s.loop()
	if st.Exec.State != Success || s.tasks(st) != "after=SUCCESS never=SUCCESS t=SKIPPED" || fmt.Sprint(st.Exec.Output) != "map[got:skipped]" {
		t.Fatalf("after skip: %s %q %v", st.Exec.State, s.tasks(st), st.Exec.Output)
	}
}

// listCache is the with-items list cache the engine keeps in an LRU.
type listCache map[string]map[string][]any

func (c listCache) Get(key string) (map[string][]any, bool) { l, ok := c[key]; return l, ok }

func (c listCache) Add(key string, lists map[string][]any) bool { c[key] = lists; return false }
