package controller

import (
	"errors"
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
// pending, the one due first first (on a clock that only timers move),
// with-items results gathered, sub-workflows started, paused,
// resumed and stopped with their parent, and their ends, pauses and
// resumes reported to the parent before anything else runs, as the
// engine's timers due at once do. It records what the runtime saw.
type sim struct {
	t      *testing.T
	c      *Controller
	doc    map[string]*lang.Workflow
	states map[string]*State // by execution id
	// children are the sub-workflow executions in the order started;
	// childEvents the ends, pauses and resumes not yet reported.
	children    []*State
	childEvents []simChildEvent
	// onChild, when set, runs before each child event is reported; it
	// returns false to drop the event, as if it came too late to matter.
	onChild func(ev simChildEvent) bool

	actions []simAction
	timers  []simTimer
	// clock is the time of the last timer fired, in seconds from the
	// start; a timer is due clock+After from when it was asked for.
	clock float64
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

type simChildEvent struct {
	child *State
	done  bool
}

type simTimer struct {
	exec string
	tm   Timer
	due  float64
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
		doc: map[string]*lang.Workflow{}, states: map[string]*State{},
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
		s.timers = append(s.timers, simTimer{st.Exec.ID, tm, s.clock + tm.After})
		s.timerLog = append(s.timerLog, fmt.Sprintf("%s:%s:%s", st.task(tm.TaskID).Name, tm.Kind, fmtSecs(tm.After)))
	}
	for _, r := range d.Replace {
		if r.FailedOnly {
			continue // the sim keeps the last result of every item
		}
		delete(s.results, r.TaskID)
	}
	for _, w := range d.Workflows {
		parent := w.Parent
		child := &State{Spec: s.doc[w.Workflow], Exec: &Execution{
			ID: w.ID, Name: w.Workflow, Input: w.Input, Parent: &parent,
			Params: map[string]any{"env": w.Env, "index": int64(parent.Index)},
		}}
		if child.Spec == nil {
			s.t.Fatalf("no workflow %q", w.Workflow)
		}
		s.states[w.ID] = child
		s.children = append(s.children, child)
		name := st.task(parent.TaskID).Name
		s.runs[name]++
		s.running[name]++
		if s.running[name] > s.maxRunning[name] {
			s.maxRunning[name] = s.running[name]
		}
		cd, err := s.c.Start(child)
		s.applyChild(child, Running, cd, err)
	}
	// The engine cascades in the parent's transaction; each child then
	// reports its own change like any other.
	if d.ChildrenState != "" {
		for _, child := range s.children {
			if p := child.Exec.Parent; p.ExecutionID != st.Exec.ID || completed(child.Exec.State) {
				continue
			}
			before := child.Exec.State
			var cd *Decision
			var err error
			switch d.ChildrenState {
			case Paused:
				cd, err = s.c.Pause(child, "")
			case Running:
				if before != Paused {
					continue
				}
				cd, err = s.c.Resume(child)
			default:
				cd, err = s.c.Stop(child, d.ChildrenState, st.Exec.StateInfo)
			}
			if errors.Is(err, ErrNotRunning) {
				continue
			}
			s.applyChild(child, before, cd, err)
		}
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
}

// applyChild applies a decision of a sub-workflow execution that was in
// state before, and queues the report of its end, pause or resume.
func (s *sim) applyChild(child *State, before string, d *Decision, err error) {
	s.t.Helper()
	s.apply(child, d, err)
	s.noteChild(child, before)
}

// noteChild queues what the parent must hear of a sub-workflow whose state
// was before: its end, or its pause or resume.
func (s *sim) noteChild(child *State, before string) {
	now := child.Exec.State
	switch {
	case child.Exec.Parent == nil || now == before:
	case completed(now):
		p := child.Exec.Parent
		if s.results[p.TaskID] == nil {
			s.results[p.TaskID] = map[int]any{}
		}
		s.results[p.TaskID][p.Index] = child.Exec.Output
		s.running[s.states[p.ExecutionID].task(p.TaskID).Name]--
		s.childEvents = append(s.childEvents, simChildEvent{child: child, done: true})
	case now == Paused || before == Paused:
		s.childEvents = append(s.childEvents, simChildEvent{child: child})
	}
}

// resume resumes paused execution st (a sub-workflow reports it to its
// parent) and runs until nothing is left to do.
func (s *sim) resume(st *State) {
	s.t.Helper()
	d, err := s.c.Resume(st)
	s.applyChild(st, Paused, d, err)
	s.loop()
}

// reportChild tells the parent of a sub-workflow what became of it, with
// whether any sub-workflow of its task is paused now.
func (s *sim) reportChild(x simChildEvent) {
	s.t.Helper()
	ex := x.child.Exec
	p := *ex.Parent
	ps := s.states[p.ExecutionID]
	ev := ChildEvent{Parent: p, ID: ex.ID, State: ex.State, StateInfo: ex.StateInfo, Output: ex.Output}
	for _, c := range s.children {
		if c.Exec.Parent.TaskID == p.TaskID && c.Exec.State == Paused {
			ev.Paused = true
		}
	}
	before := ps.Exec.State
	var d *Decision
	var err error
	if x.done {
		d, err = s.c.OnChildDone(ps, ev)
	} else {
		d, err = s.c.OnChildState(ps, ev)
	}
	s.apply(ps, d, err)
	s.noteChild(ps, before)
}

func (s *sim) loop() {
	s.t.Helper()
	for steps := 0; ; steps++ {
		if steps > 1000 {
			s.t.Fatal("the workflow did not end after 1000 steps")
		}
		switch {
		case len(s.childEvents) > 0:
			x := s.childEvents[0]
			s.childEvents = s.childEvents[1:]
			if s.onChild == nil || s.onChild(x) {
				s.reportChild(x)
			}
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
			before := st.Exec.State
			d, err := s.c.OnResult(st, Result{TaskID: x.a.TaskID, ActionExecutionID: x.a.ActionExecutionID, Index: x.a.Index, Output: out, Err: aerr})
			s.applyChild(st, before, d, err)
		case len(s.timers) > 0:
			next := 0
			for i, x := range s.timers {
				if x.due < s.timers[next].due {
					next = i
				}
			}
			x := s.timers[next]
			if x.tm.Kind == s.hold {
				return
			}
			s.timers = append(s.timers[:next:next], s.timers[next+1:]...)
			s.clock = x.due
			st := s.states[x.exec]
			before := st.Exec.State
			d, err := s.c.OnTimer(st, x.tm.TaskID, x.tm.Kind, x.tm.Epoch)
			s.applyChild(st, before, d, err)
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

// lateBranch is the start of a workflow whose tasks fast1 and fast2
// reach the join meet (join: 2) at once, and slow, after a wait-before,
// once meet has run.
const lateBranch = `
version: '2.0'
wf:
  tasks:
    fast1:
      action: std.echo output=1
      publish:
        f1: <% task().result %>
      on-success: meet
    fast2:
      action: std.echo output=2
      publish:
        f2: <% task().result %>
      on-success: meet
    slow:
      action: std.echo output=3
      wait-before: 2
      publish:
        s: <% task().result %>
      on-success: meet
`

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
			name: "with-items over a sub-workflow starts one per item, as many at once as concurrency allows",
			src: `
version: '2.0'
wf:
  input:
    - names
  tasks:
    each:
      with-items: n in <% $.names %>
      concurrency: 2
      workflow: child name=<% $.n %>
      publish:
        outs: <% task().result.select($.out) %>
  output:
    outs: <% $.outs %>
child:
  input:
    - name
  tasks:
    echo:
      action: std.echo output="<% $.name %>!"
      publish:
        out: <% task().result %>
  output:
    out: <% $.out %>
`,
			input:      map[string]any{"names": []any{"x", "y", "z"}},
			wantState:  Success,
			wantTasks:  "each=SUCCESS",
			wantOutput: map[string]any{"outs": []any{"x!", "y!", "z!"}},
			wantRuns:   map[string]int{"each": 3, "echo": 3},
			wantMax:    map[string]int{"each": 2},
		},
		{
			// The failed item's result is its sub-workflow's output,
			// {"result": null} (fail without msg) over its final context.
			name: "a failed item's sub-workflow fails the with-items task once every item is done",
			src: `
version: '2.0'
wf:
  tasks:
    fan:
      with-items: x in <% [1, 2, 3] %>
      workflow: child x=<% $.x %>
      publish-on-error:
        results: <% task().result %>
      on-error: handle
    handle:
      action: std.echo output=handled
  output:
    results: <% $.results %>
child:
  input:
    - x
  tasks:
    work:
      action: std.echo output=<% $.x * 2 %>
      publish:
        doubled: <% task().result %>
      on-success:
        - fail: <% $.x = 2 %>
  output:
    doubled: <% $.doubled %>
`,
			wantState: Success,
			wantTasks: "fan=ERROR handle=SUCCESS",
			wantOutput: map[string]any{"results": []any{
				map[string]any{"doubled": int64(2)},
				map[string]any{"doubled": int64(4), "result": nil},
				map[string]any{"doubled": int64(6)},
			}},
			wantRuns: map[string]int{"fan": 3, "work": 3, "handle": 1},
		},
		{
			name: "an unhandled failed item's sub-workflow fails the parent and is listed",
			src: `
version: '2.0'
wf:
  tasks:
    fan:
      with-items: x in <% [1, 2] %>
      workflow: child x=<% $.x %>
child:
  input:
    - x
  tasks:
    work:
      action: std.echo output=<% $.x %>
      on-success:
        - fail: <% $.x = 2 %>
`,
			wantState: Error,
			wantTasks: "fan=ERROR",
			wantInfo:  "fan [task_ex_id=id-1] -> One or more actions had failed.\n    [wf_ex_id=id-",
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
		// A branch that reaches a join after it ran runs it again, as
		// Mistral 15 does (each case was run on it, with the outputs
		// below): its result lists every successful run's, it publishes
		// again, and its next tasks run again.
		{
			name: "a late branch runs a done join again",
			src: lateBranch + `    meet:
      join: 2
      action: std.echo output=<% [$.f1, $.f2, $.get('s')] %>
      publish:
        met: <% task().result %>
        saw_slow: <% $.get('s') %>
      on-success: after
    after:
      action: std.echo output=<% $.met %>
      publish:
        after_saw: <% task().result %>
  output:
    met: <% $.met %>
    after_saw: <% $.after_saw %>
`,
			wantState: Success,
			wantTasks: "after=SUCCESS after=SUCCESS fast1=SUCCESS fast2=SUCCESS meet=SUCCESS slow=SUCCESS",
			wantOutput: map[string]any{"met": []any{[]any{1, 2, nil}, []any{1, 2, 3}},
				"after_saw": []any{[]any{1, 2, nil}, []any{1, 2, 3}}},
			wantRuns: map[string]int{"fast1": 1, "fast2": 1, "slow": 1, "meet": 2, "after": 2},
		},
		{
			name: "a join failed by fail-on runs again and keeps its first result",
			src: lateBranch + `    meet:
      join: 2
      action: std.echo output=<% [$.f1, $.f2, $.get('s')] %>
      fail-on: <% $.get('s') = null %>
      publish:
        met: <% task().result %>
      on-error: handler
      on-success: after
    handler:
      action: std.echo output="h"
    after:
      action: std.noop
  output:
    met: <% $.get('met') %>
`,
			wantState:  Success,
			wantTasks:  "after=SUCCESS fast1=SUCCESS fast2=SUCCESS handler=SUCCESS meet=SUCCESS slow=SUCCESS",
			wantOutput: map[string]any{"met": []any{[]any{1, 2, nil}, []any{1, 2, 3}}},
			wantRuns:   map[string]int{"fast1": 1, "fast2": 1, "slow": 1, "meet": 2, "handler": 1, "after": 1},
		},
		{
			name: "a join whose action failed drops that run when it runs again",
			src: lateBranch + `    meet:
      join: 2
      action: std.fail
      publish-on-error:
        err_saw: <% $.get('s') %>
        one_run: <% isString(task().result) %>
      on-error: handler
    handler:
      action: std.echo output="h"
  output:
    err_saw: <% $.err_saw %>
    one_run: <% $.one_run %>
`,
			wantState:  Success,
			wantTasks:  "fast1=SUCCESS fast2=SUCCESS handler=SUCCESS handler=SUCCESS meet=ERROR slow=SUCCESS",
			wantOutput: map[string]any{"err_saw": 3, "one_run": true},
			wantRuns:   map[string]int{"fast1": 1, "fast2": 1, "slow": 1, "meet": 2, "handler": 2},
		},
		{
			name: "a join failed by its inbound tasks fails again when a late branch reaches it",
			src: `
version: '2.0'
wf:
  tasks:
    a:
      action: std.fail
      on-success: j
      on-error: noop
    b:
      action: std.echo output=2
      on-success: j
    c:
      action: std.echo output=3
      wait-before: 2
      on-success: j
    j:
      join: all
      action: std.noop
      publish-on-error:
        res: <% task().result %>
      on-error: h
    h:
      action: std.echo output="h"
  output:
    res: <% $.res %>
`,
			wantState:  Success,
			wantTasks:  "a=ERROR b=SUCCESS c=SUCCESS h=SUCCESS h=SUCCESS j=ERROR",
			wantOutput: map[string]any{"res": []any{}},
			wantRuns:   map[string]int{"a": 1, "b": 1, "c": 1, "h": 2},
		},
		{
			// Mistral loops for ever; the join waits for the next event.
			name: "a join failed by its inbound tasks that leads to itself",
			src: `
version: '2.0'
wf:
  tasks:
    a:
      action: std.fail
      on-success: j
      on-error: noop
    b:
      action: std.noop
      on-success: j
    j:
      join: all
      action: std.noop
      on-error: j
`,
			wantState: Running,
			wantTasks: "a=ERROR b=SUCCESS j=WAITING",
			wantRuns:  map[string]int{"a": 1, "b": 1},
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
	d, err = s.c.OnChildDone(st, ChildEvent{Parent: d.Workflows[0].Parent, ID: d.Workflows[0].ID, State: Cancelled, StateInfo: "stopped"})
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

// childPauseDoc has a sub-workflow that pauses itself after its first task
// when x is 2, run for one item (single) or for three (items).
const childPauseDoc = `
version: '2.0'
single:
  tasks:
    call:
      workflow: child x=2
      publish:
        got: <% [task().result.y] %>
      on-success: after
    after:
      action: std.noop
  output:
    got: <% $.got %>
items:
  tasks:
    call:
      with-items: x in <% [1, 2, 3] %>
      workflow: child x=<% $.x %>
      publish:
        got: <% task().result.select($.y) %>
      on-success: after
    after:
      action: std.noop
  output:
    got: <% $.got %>
child:
  input: [x]
  tasks:
    first:
      action: std.echo output=<% $.x %>
      on-success:
        - pause: <% $.x = 2 %>
        - second
    second:
      action: std.echo output=<% $.x * 10 %>
      publish:
        y: <% task().result %>
  output:
    y: <% $.y %>
`

// A sub-workflow that pauses itself pauses the task that runs it and the
// parent, which pauses its other sub-workflows, as Mistral's
// _on_action_update and pause_workflow do. Resuming the parent resumes
// them all. Resuming the sub-workflow alone runs its task again and
// resumes the parent, unless another sub-workflow of the task is still
// paused: the task then stays PAUSED, and the parent with it.
func TestChildPauseHoldsItsParent(t *testing.T) {
	tests := []struct {
		wf, resume string
		// after resuming: the parent's state and tasks, and the states
		// of the sub-workflows in the order started
		wantState, wantTasks, wantChildren string
	}{
		{"single", "parent", Success, "after=SUCCESS call=SUCCESS", "SUCCESS"},
		{"single", "child", Success, "after=SUCCESS call=SUCCESS", "SUCCESS"},
		{"items", "parent", Success, "after=SUCCESS call=SUCCESS", "SUCCESS SUCCESS SUCCESS"},
		{"items", "child", Paused, "call=PAUSED", "PAUSED SUCCESS PAUSED"},
	}
	for _, tt := range tests {
		t.Run(tt.wf+"/"+tt.resume, func(t *testing.T) {
			s := newSim(t, childPauseDoc)
			st := s.start(tt.wf, nil, nil)
			if st.Exec.State != Paused || s.tasks(st) != "call=PAUSED" {
				t.Fatalf("paused: %s, tasks %q", st.Exec.State, s.tasks(st))
			}
			var pausedItself *State
			for _, c := range s.children {
				if c.Exec.State != Paused {
					t.Fatalf("sub-workflow %v is %s while its parent is paused", c.Exec.Input, c.Exec.State)
				}
				if fmt.Sprint(c.Exec.Input["x"]) == "2" {
					pausedItself = c
				}
			}
			target := st
			if tt.resume == "child" {
				target = pausedItself
			}
			s.resume(target)
			var children []string
			for _, c := range s.children {
				children = append(children, c.Exec.State)
			}
			if st.Exec.State != tt.wantState || s.tasks(st) != tt.wantTasks || strings.Join(children, " ") != tt.wantChildren {
				t.Fatalf("after resuming the %s: %s, tasks %q, sub-workflows %v; want %s, %q, %s",
					tt.resume, st.Exec.State, s.tasks(st), children, tt.wantState, tt.wantTasks, tt.wantChildren)
			}
			if st.Exec.State == Paused {
				s.resume(st)
			}
			want := "[20]"
			if tt.wf == "items" {
				want = "[10 20 30]"
			}
			if st.Exec.State != Success || fmt.Sprint(st.Exec.Output["got"]) != want {
				t.Fatalf("in the end: %s %v, want SUCCESS with got %s", st.Exec.State, st.Exec.Output, want)
			}
		})
	}
}

// Pausing a parent pauses its running sub-workflow, and its task shows
// PAUSED once the sub-workflow reports it, as Mistral shows it.
func TestParentPauseMarksItsChildTask(t *testing.T) {
	s := newSim(t, childPauseDoc)
	st := &State{Spec: s.doc["single"], Exec: &Execution{ID: "root", Name: "single"}}
	s.states["root"] = st
	d, err := s.c.Start(st)
	s.apply(st, d, err)
	d, err = s.c.Pause(st, "")
	s.apply(st, d, err)
	if s.tasks(st) != "call=RUNNING" || s.children[0].Exec.State != Paused {
		t.Fatalf("before the report: tasks %q, sub-workflow %s", s.tasks(st), s.children[0].Exec.State)
	}
	s.loop()
	if st.Exec.State != Paused || s.tasks(st) != "call=PAUSED" {
		t.Fatalf("after the report: %s, tasks %q", st.Exec.State, s.tasks(st))
	}
}

// The end of a paused task's sub-workflow may reach the parent before the
// sub-workflow's resume does: the end runs the task again first, and
// resumes the parent as the resume would have.
func TestChildEndBeforeItsResume(t *testing.T) {
	s := newSim(t, childPauseDoc)
	st := s.start("single", nil, nil)
	child := s.children[0]
	s.onChild = func(ev simChildEvent) bool { return ev.done }
	s.resume(child)
	if st.Exec.State != Success || s.tasks(st) != "after=SUCCESS call=SUCCESS" {
		t.Fatalf("%s %q", st.Exec.State, s.tasks(st))
	}
}

// What comes back from the sub-workflow of an earlier run of a with-items
// task (a retry started the items again) changes nothing; a failed item's
// sub-workflow that is rerun counts as running again, and its new end
// completes the task.
func TestChildOfAnotherRun(t *testing.T) {
	s := newSim(t, `
version: '2.0'
wf:
  tasks:
    fan:
      with-items: x in <% [1, 2] %>
      workflow: child x=<% $.x %>
child:
  input: [x]
  tasks:
    work:
      action: std.echo output=<% $.x %>
`)
	st := &State{Spec: s.doc["wf"], Exec: &Execution{ID: "root", Name: "wf"}}
	d, err := s.c.Start(st)
	if err != nil || len(d.Workflows) != 2 {
		t.Fatalf("start: %v, workflows %+v", err, d.Workflows)
	}
	first, second := d.Workflows[0], d.Workflows[1]
	if first.Parent.Index != 0 || second.Parent.Index != 1 || first.Input["x"] != int64(1) || second.Input["x"] != int64(2) {
		t.Fatalf("items: %+v, %+v", first, second)
	}
	stale := first.Parent
	stale.RetryNo++
	d, err = s.c.OnChildDone(st, ChildEvent{Parent: stale, ID: "other", State: Success})
	if err != nil || len(d.Tasks) != 0 || st.Tasks[0].Items.Done != 0 {
		t.Fatalf("an end of another run was counted: %v, %+v", err, st.Tasks[0].Items)
	}
	if _, err := s.c.OnChildDone(st, ChildEvent{Parent: first.Parent, ID: first.ID, State: Success, Output: map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	d, err = s.c.OnChildDone(st, ChildEvent{Parent: second.Parent, ID: second.ID, State: Error, Output: map[string]any{"result": "no"}})
	if err != nil || len(d.Collect) != 1 {
		t.Fatalf("the last item's end: %v, collect %v", err, d.Collect)
	}
	if _, err := s.c.ItemsCollected(st, d.Collect[0], []any{map[string]any{}, map[string]any{"result": "no"}}); err != nil {
		t.Fatal(err)
	}
	if st.Exec.State != Error || st.Tasks[0].State != Error {
		t.Fatalf("after the failed item: %s, task %s", st.Exec.State, st.Tasks[0].State)
	}
	if _, err := s.c.ChildRerun(st, ChildEvent{Parent: first.Parent, ID: first.ID}); err != nil || st.Tasks[0].State != Error {
		t.Fatalf("rerunning an item that did not fail: %v, task %s", err, st.Tasks[0].State)
	}
	if _, err := s.c.ChildRerun(st, ChildEvent{Parent: second.Parent, ID: second.ID}); err != nil {
		t.Fatal(err)
	}
	if st.Exec.State != Running || st.Tasks[0].State != Running || len(st.Tasks[0].Items.Failed) != 0 || len(st.Tasks[0].FailedRuns) != 0 {
		t.Fatalf("after the rerun: %s, task %s %+v", st.Exec.State, st.Tasks[0].State, st.Tasks[0].Items)
	}
	d, err = s.c.OnChildDone(st, ChildEvent{Parent: second.Parent, ID: second.ID, State: Success, Output: map[string]any{}})
	if err != nil || len(d.Collect) != 1 {
		t.Fatalf("the rerun item's end: %v, collect %v", err, d.Collect)
	}
	if _, err := s.c.ItemsCollected(st, d.Collect[0], []any{map[string]any{}, map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	if st.Exec.State != Success {
		t.Fatalf("in the end: %s %q", st.Exec.State, st.Exec.StateInfo)
	}
}
