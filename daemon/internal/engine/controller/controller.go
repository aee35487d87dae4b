// Package controller is the pure workflow controller: given the state of one
// workflow execution and an event (started, action result) it changes the
// state and returns what must be done next (run these actions). It touches
// no database and no network, so every rule of the language is a table
// test, and the same code runs in every mode.
package controller

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sirocco-wf/sirocco/daemon/internal/expr"
	"github.com/sirocco-wf/sirocco/daemon/internal/expr/yaql"
	"github.com/sirocco-wf/sirocco/daemon/internal/lang"
)

// States of executions and tasks, as Mistral names them on the wire.
const (
	Running   = "RUNNING"
	Success   = "SUCCESS"
	Error     = "ERROR"
	Cancelled = "CANCELLED"
)

// Execution is the part of a workflow execution the controller reads and
// writes.
type Execution struct {
	ID        string
	Name      string // workflow name
	State     string
	StateInfo string
	Input     map[string]any
	Params    map[string]any
	// Vars are the workflow's vars, evaluated once at start.
	Vars map[string]any
	// Globals are the variables published with the global scope of the
	// advanced on-* form. Mistral merges them into the execution's
	// context, next to the vars: every later task sees them (below its
	// own branch's variables) and global() reads them.
	Globals map[string]any
	Output  map[string]any
	// Backlog holds the transitions decided while the execution was
	// paused (by the pause command), run on resume: Mistral's backlog.
	Backlog []Backlogged
	// Parent is, for a sub-workflow execution, the run of the task that
	// started it (nil otherwise). The controller does not read it: the
	// runtime keeps it with the execution and hands it back with the
	// execution's end, pause and resume (ChildEvent).
	Parent *ParentRun
	// RootID is the top execution of a sub-workflow ("" for a top one),
	// and CreatedAt and UpdatedAt are the stored row's times: what
	// execution() shows.
	RootID               string
	CreatedAt, UpdatedAt time.Time
}

// Backlogged is a transition put off by a pause: to task Task (or engine
// command Command with Msg) out of task execution From.
type Backlogged struct {
	From    string `json:"from"`
	Task    string `json:"task,omitempty"`
	Command string `json:"command,omitempty"`
	Msg     string `json:"msg,omitempty"`
	OnError bool   `json:"on_error,omitempty"`
}

// Task is one task execution. InContext holds the variables published
// upstream of this task (not the workflow input, which every task sees).
type Task struct {
	ID        string
	Name      string
	State     string
	StateInfo string
	InContext map[string]any
	Published map[string]any
	// Result is the task's result as Mistral's
	// data_flow.get_task_execution_result makes it from the task's
	// accepted runs: the one run's result, the list of them (always a
	// list for with-items), and so [] (noResult) before any run ended
	// or for a task that failed without running its action.
	Result any
	// Kept are the results of a join's successful runs: a branch that
	// reaches a join after it ran runs it again (see joinAgain), and
	// Mistral leaves the earlier runs' action executions accepted, so the
	// join's result is the list of them all.
	Kept []any
	// Processed is set once the transitions out of the task are decided.
	Processed bool
	// ActionExecutionID is the action run for this task, when it has one.
	ActionExecutionID string
	// Next names the tasks the transitions out of this task started
	// (engine commands excluded). A processed task with none is an end
	// task, whose context makes up the workflow's final context.
	Next []string
	// ErrorHandled is set when an on-error transition was taken out of
	// this failed task; an unhandled failure fails the workflow.
	ErrorHandled bool
	// ActionFailed is set when the task failed because its action did
	// (not because of its publish or input).
	ActionFailed bool
	// Runs counts the action executions (or sub-workflow executions)
	// started for the task, retries and items included; FailedRuns are
	// those that failed, which Mistral's failure message lists.
	Runs       int
	FailedRuns []FailedRun
	// Items is the progress of a with-items task; nil for other tasks.
	Items *Items
	// RetryNo is how many times the retry policy ran the task again.
	RetryNo int
	// WaitBeforeDone and WaitAfterDone make those policies act once per
	// task execution, as Mistral's policy contexts do.
	WaitBeforeDone bool
	WaitAfterDone  bool
	// EndState and EndInfo are what a task delayed by wait-after
	// completes with when its timer fires.
	EndState string
	EndInfo  string
	// ChildID is the execution of the sub-workflow a workflow task runs.
	ChildID string
	// Epoch counts the reruns of the task (see Timer.Epoch).
	Epoch int
	// JoinTimer is set while a waiting join that may start waits for its
	// TimerJoin, and JoinDue once that fired (see joinDelay).
	JoinTimer, JoinDue bool
	// CreatedAt and UpdatedAt are the stored row's times, which task()
	// shows; zero for a task this event created.
	CreatedAt, UpdatedAt time.Time

	dirty bool
	// completing is set while wait-after's timer completes the task
	// (see handleMsg).
	completing bool
}

// FailedRun is a failed action (or sub-workflow) execution of a task: its
// id, its position among the task's runs and its result.
type FailedRun struct {
	ID       string `json:"id"`
	Pos      int    `json:"pos"`
	Result   any    `json:"result"`
	Workflow bool   `json:"workflow,omitempty"`
}

// Items is the progress of a with-items task. Item results are not kept
// here (a task may have thousands): the runtime gathers them from the
// action executions when every item is done (Decision.Collect).
type Items struct {
	Count       int `json:"count"`
	Concurrency int `json:"concurrency,omitempty"`
	// Next is the first item never started; Redo are items to run again
	// first (the failed ones, on a rerun without reset).
	Next    int   `json:"next"`
	Redo    []int `json:"redo,omitempty"`
	Running int   `json:"running"`
	Done    int   `json:"done"`
	// Failed and Cancelled are the items whose current run ended so.
	Failed    []int `json:"failed,omitempty"`
	Cancelled []int `json:"cancelled,omitempty"`
}

// State is everything the controller knows about one execution.
type State struct {
	Spec  *lang.Workflow
	Exec  *Execution
	Tasks []*Task // in creation order
	// Now is the time of the event: the created_at that task() shows
	// for a task the event creates.
	Now time.Time
}

// ActionError is the failure of an action as the executor reported it.
type ActionError struct {
	Type    string
	Message string
	Data    any
}

// RunAction asks the runtime to run an action for a task.
type RunAction struct {
	TaskID            string
	ActionExecutionID string
	Action            string
	Input             map[string]any
	Target            string
	// SafeRerun allows running the action again when its executor host
	// died while running it.
	SafeRerun bool
	// Timeout is the task's timeout policy in seconds; 0 means none.
	Timeout float64
	// Index is the with-items item the action runs for.
	Index int
	// Adhoc is set by the runtime when Action named an ad-hoc action it
	// expanded: Action and Input then hold the base action and its input.
	Adhoc *AdhocRun
}

// AdhocRun is what the runtime keeps of an ad-hoc action it expanded: the
// action execution records the action as the task named it, with its
// input, and the chain whose outputs reshape the result.
type AdhocRun struct {
	Name  string
	Input []byte // JSON object
	Spec  []byte // JSON of the chain
}

// Timer asks the runtime to call OnTimer(TaskID, Kind) After seconds
// from now, durably. Key is unique per timer.
type Timer struct {
	Key    string
	TaskID string
	Kind   string
	After  float64
	// Epoch is the task's rerun count when the timer was set: a timer of
	// an earlier run finds another epoch and does nothing.
	Epoch int
}

// Timer kinds.
const (
	TimerWaitBefore = "wait-before"
	TimerWaitAfter  = "wait-after"
	TimerRetry      = "retry"
	TimerTimeout    = "timeout"
	TimerJoin       = "join"
)

// RunWorkflow asks the runtime to start a sub-workflow execution for a
// task, with id ID, and to report its end through OnChildDone and its
// pauses and resumes through OnChildState.
type RunWorkflow struct {
	Parent   ParentRun
	ID       string
	Workflow string
	Input    map[string]any
	// Env is the root execution's environment, which the child shares.
	Env map[string]any
}

// ParentRun names the run of a workflow task that started a sub-workflow
// execution: the parent execution and task, the with-items item
// (Mistral's params.index, 0 for a task without items), and the task's
// rerun and retry counts at the time, so that what comes back from the
// sub-workflow of an earlier run of the task is ignored.
type ParentRun struct {
	ExecutionID string `json:"execution_id"`
	TaskID      string `json:"task_id"`
	Index       int    `json:"index"`
	Epoch       int    `json:"epoch,omitempty"`
	RetryNo     int    `json:"retry_no,omitempty"`
}

// ChildEvent is what the runtime reports of a sub-workflow execution: it
// ended (OnChildDone), or it paused or resumed (OnChildState). State and
// StateInfo are the sub-workflow's now; Output its output once ended.
type ChildEvent struct {
	Parent    ParentRun
	ID        string
	State     string
	StateInfo string
	Output    map[string]any
	// Paused tells whether a sub-workflow of the task, this one or (with
	// with-items) another item's, is PAUSED now: Mistral keeps a task
	// PAUSED while any of its sub-workflows is.
	Paused bool
}

// Replace asks the runtime to mark a task's action executions (all, or
// only the failed ones) as replaced before the task runs them again.
type Replace struct {
	TaskID     string
	FailedOnly bool
}

// Decision is what one event changed and what must happen next.
type Decision struct {
	// Tasks lists the task executions created or changed, in order.
	Tasks      []*Task
	New        map[string]bool // ids of tasks in Tasks that are new
	Actions    []RunAction
	ExecChange bool // Exec's state, state info, output or globals changed
	Timers     []Timer
	Workflows  []RunWorkflow
	Replace    []Replace
	// Collect names with-items tasks whose items are all done: the
	// runtime gathers their results and calls ItemsCollected.
	Collect []string
	// Cancel names tasks whose running action executions (and
	// sub-workflows) must be cancelled: they ended without them.
	Cancel []string
	// Children lists sub-workflow executions to pause (Pause), resume
	// (Resume) or stop with the parent.
	ChildrenState string
}

func newDecision() *Decision { return &Decision{New: map[string]bool{}} }

// Controller decides. NewID makes ids for task and action executions; tests
// pass a deterministic one.
type Controller struct {
	NewID func() string
	// Lists, when set, remembers the evaluated lists of with-items tasks
	// between their items, so that a task of 10,000 items does not
	// evaluate its lists 10,000 times. Mistral evaluates them again for
	// every batch; they differ only when the expression reads something
	// that changes while the task runs (tasks(), a global), which a
	// cache hit then does not see.
	Lists ListCache
}

// ListCache keeps with-items lists by key; it must be safe for concurrent
// use (the engine applies results of several executions at once).
type ListCache interface {
	Get(key string) (map[string][]any, bool)
	Add(key string, lists map[string][]any) bool
}

// Start begins an execution: it evaluates the vars, then starts every task
// no transition leads to.
func (c *Controller) Start(s *State) (*Decision, error) {
	d := newDecision()
	s.Exec.State = Running
	d.ExecChange = true
	if len(s.Spec.Vars) > 0 {
		env := c.viewEnv(s, nil, s.varsContext())
		v, err := expr.EvalData(s.Spec.Vars, env)
		if err != nil {
			c.fail(s, d, fmt.Sprintf("Failed to evaluate workflow vars: %v", err))
			return d, nil
		}
		m, _ := v.(map[string]any)
		s.Exec.Vars = m
	}
	if s.Spec.Type == lang.TypeReverse {
		c.reverseNext(s, d)
	}
	for _, t := range startTasks(s.Spec) {
		// A pause-before of one start task pauses the execution, but the
		// other start tasks still run, as in Mistral.
		if s.Exec.State != Running && s.Exec.State != Paused {
			break
		}
		c.schedule(s, d, t, nil)
	}
	c.refreshJoins(s, d)
	c.checkCompletion(s, d)
	return d, nil
}

// Result is what an action execution of a task ended with.
type Result struct {
	TaskID            string
	ActionExecutionID string
	Index             int // the with-items item
	Output            any
	Err               *ActionError
}

// OnActionResult applies the result of the action of task taskID: a
// regular task's only run.
func (c *Controller) OnActionResult(s *State, taskID string, output any, aerr *ActionError) (*Decision, error) {
	return c.OnResult(s, Result{TaskID: taskID, Output: output, Err: aerr})
}

// OnResult applies the result of one action execution of a task. A result
// for a task that is no longer running, or for a run a retry replaced, is
// ignored (a late duplicate). A task still running when an engine command
// or an outside stop ended the execution is finished as Mistral does: it
// takes its result and publishes, but nothing follows it.
func (c *Controller) OnResult(s *State, r Result) (*Decision, error) {
	d := newDecision()
	t, spec, err := s.taskAndSpec(r.TaskID)
	if err != nil {
		return nil, err
	}
	if t.State != Running {
		return d, nil
	}
	if t.Items != nil {
		state, failed := itemResult(spec, r)
		c.itemDone(s, d, t, spec, r.Index, state, failed)
	} else {
		if r.ActionExecutionID != "" && t.ActionExecutionID != "" && r.ActionExecutionID != t.ActionExecutionID {
			return d, nil
		}
		state, info, result := actionOutcome(spec, t.ActionExecutionID, r)
		if state == Error {
			t.ActionFailed = true
			t.FailedRuns = append(t.FailedRuns, FailedRun{ID: t.ActionExecutionID, Pos: t.Runs - 1, Result: result})
		}
		c.finishTask(s, d, t, spec, state, info, runResult(t, spec, result, state == Success))
	}
	c.settle(s, d)
	return d, nil
}

// actionOutcome is the state, state info and result a task takes from its
// action's result.
func actionOutcome(spec *lang.Task, actionExID string, r Result) (state, info string, result any) {
	switch {
	case r.Err != nil && r.Err.Data != nil:
		// An action that returned an error result (std.fail with
		// error_data): the data is the task's result and its str() the
		// error.
		return Error, pyStr(r.Err.Data), r.Err.Data
	case r.Err != nil:
		msg := actionErrorText(spec.Action, actionExID, r.Err)
		return Error, msg, msg
	}
	return Success, "", r.Output
}

// settle is what follows every event: joins that can now be decided, then
// the end of the execution if nothing runs any more.
func (c *Controller) settle(s *State, d *Decision) {
	c.refreshJoins(s, d)
	c.checkCompletion(s, d)
}

func (s *State) taskAndSpec(taskID string) (*Task, *lang.Task, error) {
	t := s.task(taskID)
	if t == nil {
		return nil, nil, fmt.Errorf("task execution %s is not part of execution %s", taskID, s.Exec.ID)
	}
	spec := s.Spec.Task(t.Name)
	if spec == nil {
		return nil, nil, fmt.Errorf("task %q is not in workflow %q", t.Name, s.Spec.Name)
	}
	return t, spec, nil
}

// actionErrorText is the task's error for a failed action. An action that
// raised (rather than returning an error result) is reported the way
// Mistral's executor words it; action names Mistral's str(action), which
// for std.fail is "Fail action" and otherwise a Python object repr we
// cannot reproduce, so the action's name stands in.
func actionErrorText(action, actionExID string, aerr *ActionError) string {
	if aerr.Type != "ActionException" {
		return aerr.Message
	}
	name := action
	if action == "std.fail" {
		name = "Fail action"
	}
	return fmt.Sprintf("The action raised an exception [action=%s, action_ex_id=%s, msg='%s']", name, actionExID, aerr.Message)
}

// finishTask records the end of a task, publishes, and follows its
// transitions (only while the execution runs).
func (c *Controller) finishTask(s *State, d *Decision, t *Task, spec *lang.Task, state, info string, result any) {
	t.State, t.StateInfo, t.Result = state, info, result
	c.touch(d, t)
	if !c.publish(s, d, t, spec) {
		return
	}
	if keep, err := c.flag(orDefault(spec.KeepResult, true), c.env(s, t, s.dataFor(t))); err == nil && !keep {
		// keep-result: false drops the action's output once published
		// (of a join run again, of its every run: Mistral's result is
		// then a list of nulls, which this shows as one null).
		t.Result = dropResult(t.Result, t.Items != nil)
		for i := range t.Kept {
			t.Kept[i] = nil
		}
	}
	if !c.afterComplete(s, d, t, spec) {
		return
	}
	c.proceed(s, d, t, spec)
}

// publish evaluates what the task publishes in its state, into its
// branch and the execution's globals. A publish that fails fails the task
// and the execution (false).
func (c *Controller) publish(s *State, d *Decision, t *Task, spec *lang.Task) bool {
	branch, global := publishFor(spec, t.State)
	if len(branch) > 0 || len(global) > 0 {
		// Both scopes are evaluated in the same context, before the
		// task's own published variables exist (data_flow.publish_variables).
		env := c.viewEnv(s, t, s.publishContext(t))
		if len(branch) > 0 {
			v, err := expr.EvalData(branch, env)
			if err != nil {
				c.forceFail(s, d, t, handleMsg(s, t, spec, err))
				return false
			}
			if m, ok := v.(map[string]any); ok {
				t.Published = m
			}
		}
		if len(global) > 0 {
			v, err := expr.EvalData(global, env)
			if err != nil {
				c.forceFail(s, d, t, handleMsg(s, t, spec, err))
				return false
			}
			// After the end (a task that finished late) nothing reads
			// them any more, and the ended execution is not written again.
			if m, ok := v.(map[string]any); ok && (s.Exec.State == Running || s.Exec.State == Paused) {
				s.Exec.Globals = mergeDicts(s.Exec.Globals, m)
				d.ExecChange = true
			}
		}
	}
	return true
}

// proceed follows the transitions out of a completed task, unless the
// execution is paused (resume does it then) or has ended.
func (c *Controller) proceed(s *State, d *Decision, t *Task, spec *lang.Task) {
	switch s.Exec.State {
	case Paused:
		return
	case Running:
		if s.Spec.Type == lang.TypeReverse {
			t.Processed = true
			c.touch(d, t)
			c.reverseNext(s, d)
			return
		}
		c.followTransitions(s, d, t, spec, t.State)
	default:
		t.Processed = true
	}
}

// noResult is the result of a task none of whose runs has ended (or
// counts any more): Mistral's get_task_execution_result over no accepted
// execution, an empty list.
func noResult() any { return []any{} }

// runResult is the result of a task whose run (its action or
// sub-workflow, not with-items) ended with r, ok if the run succeeded. A
// join keeps the results of its successful runs in Kept, for when a late
// branch runs it again (joinAgain), and its result is then the list of
// its earlier successful runs' results and r. (A failed run counts until
// the join runs again: Mistral's _reset_actions then no longer accepts
// it.)
func runResult(t *Task, spec *lang.Task, r any, ok bool) any {
	if spec.Join == 0 || len(spec.WithItems) > 0 {
		return r
	}
	all := append(append([]any(nil), t.Kept...), r)
	if ok {
		t.Kept = all
	}
	if len(all) == 1 {
		return r
	}
	return all
}

// keptResult is the result of a join between its runs: what its kept
// runs make (get_task_execution_result over them).
func keptResult(t *Task) any {
	switch len(t.Kept) {
	case 0:
		return noResult()
	case 1:
		return t.Kept[0]
	}
	return t.Kept
}

// dropResult is the result of a task with keep-result: false: Mistral
// empties its action executions' output, so the result is null (a list of
// nulls for with-items).
func dropResult(result any, items bool) any {
	if l, ok := result.([]any); ok && items {
		return make([]any, len(l))
	}
	return nil
}

func orDefault(v any, def any) any {
	if v == nil {
		return def
	}
	return v
}

// handleMsg is Mistral's text for an error while completing a task (its
// publish, policies or the guards of its transitions), without Python's
// traceback: the task completes on its action's result
// (task_handler._on_action_complete), or, once wait-after delayed it,
// when the policy's timer completes it (task_handler.complete_task).
func handleMsg(s *State, t *Task, spec *lang.Task, err error) string {
	if t.completing {
		return fmt.Sprintf("Failed to complete task [error=%v, wf=%s, task=%s]", err, s.Exec.Name, t.Name)
	}
	return fmt.Sprintf("Failed to handle action completion [error=%v, wf=%s, task=%s, action=%s]", err, s.Exec.Name, t.Name, spec.Action)
}

// exprMsg is err as Mistral words it where a failed expression is
// Mistral's exception (*expr.MistralError), and otherwise what: err.
func exprMsg(err error, what string) string {
	var me *expr.MistralError
	if errors.As(err, &me) {
		return me.Error()
	}
	return fmt.Sprintf("%s: %v", what, err)
}

// runMsg is Mistral's text for an error while starting a task (its input,
// target or policies), without Python's traceback.
func runMsg(s *State, spec *lang.Task, err string) string {
	return fmt.Sprintf("Failed to run task [error=%s, wf=%s, task=%s]", err, s.Exec.Name, spec.Name)
}

// forceFail fails a task and, with the same message, the whole execution,
// without giving on-error a chance: Mistral's force_fail_task, for errors
// in the workflow's own text (publish, guards, input) rather than in an
// action.
func (c *Controller) forceFail(s *State, d *Decision, t *Task, msg string) {
	t.State, t.StateInfo, t.Processed = Error, msg, true
	c.touch(d, t)
	if s.Exec.State == Running { // an execution that ended stays as it is
		c.failWithOutput(s, d, msg)
	}
}

// FailToRun fails a task whose action could not be started (no executor
// host serves it, or its input does not fit the action), the runtime
// having found out: as Mistral fails a task it cannot run, the task and the
// execution fail at once with "Failed to run task [...]", without on-error.
func (c *Controller) FailToRun(s *State, taskID, reason string) (*Decision, error) {
	d := newDecision()
	t := s.task(taskID)
	if t == nil {
		return nil, fmt.Errorf("task execution %s is not part of execution %s", taskID, s.Exec.ID)
	}
	spec := s.Spec.Task(t.Name)
	if spec == nil {
		return nil, fmt.Errorf("task %q is not in workflow %q", t.Name, s.Spec.Name)
	}
	c.forceFail(s, d, t, runMsg(s, spec, reason))
	return d, nil
}

// publishFor is what a task publishes on reaching state, as Mistral's
// DirectWorkflowTaskSpec.get_publish composes it: publish (or
// publish-on-error) as the branch scope, the advanced on-complete publish
// over it, and the advanced on-success (or on-error) publish under both.
func publishFor(spec *lang.Task, state string) (branch, global map[string]any) {
	var own map[string]any
	var clause *lang.ScopedPublish
	switch state {
	case Success:
		own, clause = spec.Publish, spec.OnSuccessPublish
	case Error:
		own, clause = spec.PublishOnError, spec.OnErrorPublish
	case Skipped:
		// A skipped task publishes publish-on-skip and its on-skip
		// clause's publish, not on-complete's.
		branch = mergeDicts(mergeDicts(nil, scoped(spec.OnSkipPublish).Branch), spec.PublishOnSkip)
		return branch, mergeDicts(nil, scoped(spec.OnSkipPublish).Global)
	default:
		return nil, nil
	}
	branch = mergeDicts(nil, own)
	if oc := spec.OnCompletePublish; oc != nil {
		branch = mergeDicts(branch, oc.Branch)
		global = mergeDicts(global, oc.Global)
	}
	if clause != nil {
		branch = mergeDicts(mergeDicts(nil, clause.Branch), branch)
		global = mergeDicts(mergeDicts(nil, clause.Global), global)
	}
	return branch, global
}

// step is one transition taken out of a task: a task to start or an engine
// command, and whether it came from on-error.
type step struct {
	tr      lang.Transition
	onError bool
}

// followTransitions decides what the task's on-* clauses lead to, as
// Mistral's direct controller and dispatcher do: every guard is evaluated
// first; the task's next tasks are all the tasks named (so it is not an end
// task even if a command stops the workflow first); noop is dropped; the
// tasks before the first fail/succeed run, then that command; what comes
// after it never runs. A failed task with no on-error transition taken
// stays unhandled, which fails the workflow when it completes.
func (c *Controller) followTransitions(s *State, d *Decision, t *Task, spec *lang.Task, state string) {
	onSuccess, onError, onComplete := clausesOf(s.Spec, spec)
	env := c.viewEnv(s, t, s.transitionContext(t))
	var steps []step
	add := func(clause []lang.Transition, isErr bool) bool {
		for _, tr := range clause {
			if tr.Guard != "" {
				ok, err := c.guard(env, tr.Guard)
				if err != nil {
					c.forceFail(s, d, t, handleMsg(s, t, spec, err))
					return false
				}
				if !ok {
					continue
				}
			}
			steps = append(steps, step{tr: tr, onError: isErr})
		}
		return true
	}
	if state == Error && !add(onError, true) {
		return
	}
	if state == Success && !add(onSuccess, false) {
		return
	}
	if state == Skipped {
		onSkip := spec.OnSkip
		if len(onSkip) == 0 && s.Spec.TaskDefaults != nil {
			onSkip = s.Spec.TaskDefaults.OnSkip
		}
		if !add(onSkip, false) {
			return
		}
	}
	// A cancelled task leads nowhere, not even on-complete
	// (_find_next_tasks).
	if state != Cancelled && state != Skipped && !add(onComplete, false) {
		return
	}
	t.Processed = true
	t.Next = nil
	for _, st := range steps {
		if st.onError {
			t.ErrorHandled = true
		}
		if st.tr.Command == "" {
			t.Next = append(t.Next, st.tr.Task)
		}
	}
	c.touch(d, t)
	for _, st := range steps {
		if s.Exec.State != Running && s.Exec.State != Paused {
			return
		}
		if !c.take(s, d, t, st) {
			return
		}
	}
}

// clausesOf are a task's on-success, on-error and on-complete clauses with
// the task-defaults applied: a task's own clause replaces the default one,
// and a default never leads a task to itself (Mistral's get_on_*_clause).
func clausesOf(w *lang.Workflow, t *lang.Task) (onSuccess, onError, onComplete []lang.Transition) {
	var td lang.TaskDefaults
	if w.TaskDefaults != nil {
		td = *w.TaskDefaults
	}
	pick := func(own, def []lang.Transition) []lang.Transition {
		if len(own) > 0 {
			return own
		}
		var out []lang.Transition
		for _, tr := range def {
			if tr.Task+tr.Command != t.Name {
				out = append(out, tr)
			}
		}
		return out
	}
	return pick(t.OnSuccess, td.OnSuccess), pick(t.OnError, td.OnError), pick(t.OnComplete, td.OnComplete)
}

// commandMsg evaluates the msg of a fail or succeed command; "" when it
// has none (Mistral's output.result is then null).
func (c *Controller) commandMsg(s *State, t *Task, data map[string]any, tr lang.Transition) (string, error) {
	if tr.Msg == "" {
		return "", nil
	}
	return expr.EvalStr(tr.Msg, c.env(s, t, data))
}

func (c *Controller) guard(env *expr.Env, guard string) (bool, error) {
	v, err := expr.Eval(guard, env)
	if err != nil {
		return false, err
	}
	return expr.Truthy(v), nil
}

// schedule creates a task execution and starts it.
func (c *Controller) schedule(s *State, d *Decision, spec *lang.Task, inContext map[string]any) {
	t := &Task{ID: c.NewID(), Name: spec.Name, State: Running, InContext: copyMap(inContext), Result: noResult()}
	s.Tasks = append(s.Tasks, t)
	d.New[t.ID] = true
	c.touch(d, t)
	c.start(s, d, t, spec)
}

// start runs a task that is RUNNING for the first time: Mistral's
// before-start policies in their order (pause-before, wait-before,
// timeout), then its action, items or sub-workflow.
func (c *Controller) start(s *State, d *Decision, t *Task, spec *lang.Task) {
	env := c.viewEnv(s, t, s.taskContext(t, nil))
	if err := c.checkPolicies(s, spec, env); err != nil {
		c.forceFail(s, d, t, runMsg(s, spec, err.Error()))
		return
	}
	pol := policiesOf(s.Spec, spec)
	pause, err := c.flag(pol.PauseBefore, env)
	if err != nil {
		c.forceFail(s, d, t, runMsg(s, spec, exprMsg(err, fmt.Sprintf("Failed to evaluate pause-before of task %q", spec.Name))))
		return
	}
	if pause {
		t.State, t.StateInfo = Idle, "Set by 'pause-before' policy"
		c.pause(s, d, "")
	}
	if t.State != Idle && !t.WaitBeforeDone {
		wait, err := c.seconds(pol.WaitBefore, env)
		if err != nil {
			c.forceFail(s, d, t, runMsg(s, spec, exprMsg(err, fmt.Sprintf("Failed to evaluate wait-before of task %q", spec.Name))))
			return
		}
		if wait > 0 {
			t.WaitBeforeDone = true
			t.State, t.StateInfo = RunningDelayed, fmt.Sprintf("Delayed by 'wait-before' policy [delay=%s]", fmtSecs(wait))
			c.addTimer(d, t, TimerWaitBefore, wait)
		}
	}
	timeout, err := c.seconds(pol.Timeout, env)
	if err != nil {
		c.forceFail(s, d, t, runMsg(s, spec, exprMsg(err, fmt.Sprintf("Failed to evaluate the timeout of task %q", spec.Name))))
		return
	}
	if timeout > 0 {
		c.addTimer(d, t, TimerTimeout, timeout)
	}
	if t.State != Running {
		return
	}
	c.runActions(s, d, t, spec)
}

// addTimer asks for a durable timer of the task.
func (c *Controller) addTimer(d *Decision, t *Task, kind string, after float64) {
	d.Timers = append(d.Timers, Timer{
		Key:    fmt.Sprintf("%s/%s/%d/%d", kind, t.ID, t.Epoch, t.RetryNo),
		TaskID: t.ID, Kind: kind, After: after, Epoch: t.Epoch,
	})
}

// runActions runs what a RUNNING task runs: its items (actions or
// sub-workflows), its sub-workflow, or its one action.
func (c *Controller) runActions(s *State, d *Decision, t *Task, spec *lang.Task) {
	switch {
	case len(spec.WithItems) > 0:
		c.startItems(s, d, t, spec)
	case spec.Workflow != "":
		w, ok := c.childFor(s, d, t, spec, s.dataFor(t))
		if !ok {
			return
		}
		t.ChildID = w.ID
		d.Workflows = append(d.Workflows, w)
	default:
		a, ok := c.actionFor(s, d, t, spec, s.dataFor(t))
		if !ok {
			return
		}
		t.ActionExecutionID = a.ActionExecutionID
		d.Actions = append(d.Actions, a)
	}
}

// actionFor builds the action run of a task (of one item, when data holds
// the item's variables): its input, target, safe-rerun and timeout. On an
// error it fails the task as Mistral does and returns false.
func (c *Controller) actionFor(s *State, d *Decision, t *Task, spec *lang.Task, data map[string]any) (RunAction, bool) {
	env := c.viewEnv(s, t, s.inputContext(t, spec, data))
	input, err := c.input(spec, env)
	if err != nil {
		c.forceFail(s, d, t, runMsg(s, spec, err.Error()))
		return RunAction{}, false
	}
	target := spec.Target
	if target != "" {
		// Mistral's _get_target: the input over the task's inbound
		// context, the environment and the execution's context.
		view := expr.ContextView{expr.Layer(input), expr.Layer(t.InContext), s.envLayer(), s.wfLayer(), s.inputLayer()}
		tv, err := expr.Eval(target, c.viewEnv(s, t, view))
		if err != nil {
			c.forceFail(s, d, t, runMsg(s, spec, exprMsg(err, fmt.Sprintf("Failed to evaluate the target of task %q", spec.Name))))
			return RunAction{}, false
		}
		target = fmt.Sprint(tv)
	}
	safeRerun := spec.SafeRerun
	if safeRerun == nil && s.Spec.TaskDefaults != nil {
		safeRerun = s.Spec.TaskDefaults.SafeRerun
	}
	rerun, err := c.flag(safeRerun, env)
	if err != nil {
		c.forceFail(s, d, t, runMsg(s, spec, exprMsg(err, fmt.Sprintf("Failed to evaluate safe-rerun of task %q", spec.Name))))
		return RunAction{}, false
	}
	secs, err := c.seconds(policiesOf(s.Spec, spec).Timeout, env)
	if err != nil {
		c.forceFail(s, d, t, runMsg(s, spec, exprMsg(err, fmt.Sprintf("Failed to evaluate the timeout of task %q", spec.Name))))
		return RunAction{}, false
	}
	t.Runs++
	return RunAction{
		TaskID: t.ID, ActionExecutionID: c.NewID(),
		Action: spec.Action, Input: input, Target: target, SafeRerun: rerun, Timeout: secs,
	}, true
}

// input evaluates the input of a task's action or sub-workflow: a
// dictionary, or null for none.
func (c *Controller) input(spec *lang.Task, env *expr.Env) (map[string]any, error) {
	in, err := expr.EvalData(spec.Input, env)
	if err != nil {
		var me *expr.MistralError
		if errors.As(err, &me) {
			return nil, me
		}
		return nil, fmt.Errorf("Failed to evaluate the input of task %q: %w", spec.Name, err)
	}
	input, ok := in.(map[string]any)
	if in != nil && !ok {
		return nil, fmt.Errorf("The input of task %q must be a dictionary, got %s", spec.Name, typeName(in))
	}
	if input == nil {
		input = map[string]any{}
	}
	return input, nil
}

// seconds reads a policy given in seconds, as a number or an expression;
// nil is 0.
func (c *Controller) seconds(v any, env *expr.Env) (float64, error) {
	if str, ok := v.(string); ok {
		r, err := expr.Eval(str, env)
		if err != nil {
			return 0, err
		}
		v = r
	}
	switch n := v.(type) {
	case nil:
		return 0, nil
	case int64:
		if n < 0 {
			return 0, fmt.Errorf("%d is negative", n)
		}
		return float64(n), nil
	case float64:
		if n < 0 {
			return 0, fmt.Errorf("%g is negative", n)
		}
		return n, nil
	}
	return 0, fmt.Errorf("must be a number of seconds, got %s", typeName(v))
}

// ErrNotRunning is returned by Stop for an execution that has ended.
var ErrNotRunning = errors.New("the execution is not running")

// Stop ends a running execution from outside, as Mistral's
// PUT /v2/executions/{id} does: SUCCESS (with its output), ERROR (with
// output-on-error) or CANCELLED, with msg as its state info. Tasks still
// running are cancelled; the runtime cancels their actions.
func (c *Controller) Stop(s *State, state, msg string) (*Decision, error) {
	if s.Exec.State != Running && s.Exec.State != Paused {
		return nil, ErrNotRunning
	}
	d := newDecision()
	for _, t := range s.Tasks {
		if !completed(t.State) && t.State != Waiting {
			if t.State == Running {
				d.Cancel = append(d.Cancel, t.ID)
			}
			t.State, t.StateInfo = Cancelled, fmt.Sprintf("Cancelled: the workflow execution was stopped with state %s.", state)
			c.touch(d, t)
		}
	}
	d.ChildrenState = state
	switch state {
	case Success:
		c.succeed(s, d, msg)
	case Error:
		// As Mistral's _fail_workflow: {"result": msg} under output-on-error.
		c.failWithOutput(s, d, msg)
	case Cancelled:
		// As Mistral's _cancel_workflow: the output is {"result": msg}.
		s.Exec.State, s.Exec.StateInfo = Cancelled, msg
		s.Exec.Output = map[string]any{"result": nilIfEmpty(msg)}
		d.ExecChange = true
	default:
		return nil, fmt.Errorf("an execution can be stopped with SUCCESS, ERROR or CANCELLED, not %s", state)
	}
	return d, nil
}

// flag reads a boolean task key that may be given as an expression.
func (c *Controller) flag(v any, env *expr.Env) (bool, error) {
	if str, ok := v.(string); ok {
		r, err := expr.Eval(str, env)
		if err != nil {
			return false, err
		}
		return expr.Truthy(r), nil
	}
	return expr.Truthy(v), nil
}

// checkCompletion ends the execution once nothing runs any more: in ERROR
// when a failed task was not handled, in SUCCESS with the output otherwise.
func (c *Controller) checkCompletion(s *State, d *Decision) {
	if s.Exec.State != Running {
		return
	}
	unhandled := false
	var cancelled []string
	for _, t := range s.Tasks {
		if !completed(t.State) {
			return
		}
		if t.State == Error && !t.ErrorHandled {
			unhandled = true
		}
		if t.State == Cancelled {
			cancelled = append(cancelled, t.Name)
		}
	}
	if len(cancelled) > 0 {
		// check_and_complete: a cancelled task cancels the workflow,
		// with _build_cancel_info_message's text as state info and
		// output.
		sort.Strings(cancelled)
		msg := "Cancelled tasks: " + strings.Join(cancelled, ", ")
		s.Exec.State, s.Exec.StateInfo = Cancelled, msg
		s.Exec.Output = map[string]any{"result": msg}
		d.ExecChange = true
		return
	}
	if unhandled {
		c.failWithOutput(s, d, failureMsg(s))
		return
	}
	c.succeed(s, d, "")
}

// failureMsg is Mistral's _build_fail_info_message: the failed tasks that
// have no on-error clause at all (whatever its guards said), by name, each
// with its error and the error of its failed action.
func failureMsg(s *State) string {
	var failed []*Task
	for _, t := range s.Tasks {
		if t.State != Error {
			continue
		}
		if spec := s.Spec.Task(t.Name); spec != nil {
			if _, onError, _ := clausesOf(s.Spec, spec); len(onError) > 0 {
				continue
			}
		}
		failed = append(failed, t)
	}
	sort.SliceStable(failed, func(i, j int) bool { return failed[i].Name < failed[j].Name })
	var b strings.Builder
	names := make([]string, len(failed))
	for i, t := range failed {
		names[i] = t.Name
	}
	fmt.Fprintf(&b, "Failure caused by error in tasks: %s\n", strings.Join(names, ", "))
	for _, t := range failed {
		fmt.Fprintf(&b, "\n  %s [task_ex_id=%s] -> %s\n", t.Name, t.ID, t.StateInfo)
		for _, r := range t.FailedRuns {
			if !r.Workflow {
				fmt.Fprintf(&b, "    [action_ex_id=%s, idx=%d]: %s\n", r.ID, r.Pos, pyStr(r.Result))
			}
		}
		for _, r := range t.FailedRuns {
			if r.Workflow {
				fmt.Fprintf(&b, "    [wf_ex_id=%s, idx=%d]: %s\n", r.ID, r.Pos, pyStr(r.Result))
			}
		}
	}
	return b.String()
}

// pyStr is Python's str() of a value, as Mistral writes values into its
// messages; Jinja's string filter computes exactly that.
func pyStr(v any) string {
	if str, ok := v.(string); ok {
		return str
	}
	if r, err := expr.Eval("{{ _ | string }}", expr.MistralEnv(v, nil)); err == nil {
		if str, ok := r.(string); ok {
			return str
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// succeed ends the execution in SUCCESS and evaluates the output. An
// output that cannot be evaluated fails the execution instead, as
// Mistral's check_and_complete does.
func (c *Controller) succeed(s *State, d *Decision, info string) {
	out, err := c.output(s, s.Spec.Output)
	if err != nil {
		c.fail(s, d, fmt.Sprintf("Failed to check and complete [wf_ex_id=%s, wf_name=%s]: %v", s.Exec.ID, s.Exec.Name, err))
		return
	}
	s.Exec.State, s.Exec.StateInfo, s.Exec.Output = Success, info, out
	d.ExecChange = true
}

// failWithOutput ends the execution in ERROR. Its output is Mistral's:
// the message as "result" (null when there is none), with output-on-error
// (or, without one, the final context) merged over it.
func (c *Controller) failWithOutput(s *State, d *Decision, info string) {
	onError, err := c.output(s, s.Spec.OutputOnError)
	if err != nil {
		// Mistral formats the spec's value with %s: Python's str().
		info = fmt.Sprintf("Failed to evaluate expression in output-on-error! (output-on-error: '%s', exception: '%v' Cause: '%s'", pyStr(s.Spec.OutputOnError), err, info)
		onError = nil
	}
	s.Exec.State, s.Exec.StateInfo = Error, info
	s.Exec.Output = mergeDicts(map[string]any{"result": nilIfEmpty(info)}, onError)
	d.ExecChange = true
}

func (c *Controller) fail(s *State, d *Decision, info string) {
	c.failWithOutput(s, d, info)
}

// finalContext is what the workflow ends with, as Mistral's
// evaluate_workflow_final_context computes it: the outbound contexts of the
// completed tasks that led nowhere, merged in creation order.
func (s *State) finalContext() map[string]any {
	ctx := map[string]any{}
	if s.Spec.Type == lang.TypeReverse {
		// The target task's outbound context
		// (ReverseWorkflowController.evaluate_workflow_final_context).
		if target, err := s.reverseTarget(); err == nil {
			if t := s.latest(target.Name); t != nil {
				return s.outContext(t)
			}
		}
		return ctx
	}
	for _, t := range s.Tasks {
		if !completed(t.State) || len(t.Next) > 0 {
			continue
		}
		ctx = mergeDicts(ctx, s.outContext(t))
	}
	return ctx
}

// output evaluates an output clause against the final context (over the
// vars and globals, over the input). Mistral returns the whole final
// context when there is no clause or it yields nothing ("output or ctx").
func (c *Controller) output(s *State, clause any) (map[string]any, error) {
	ctx := s.finalContext()
	if clause == nil {
		return ctx, nil
	}
	v, err := expr.EvalData(clause, c.viewEnv(s, nil, s.outputContext(ctx)))
	if err != nil {
		return nil, err
	}
	if !expr.Truthy(v) {
		return ctx, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return map[string]any{"result": v}, nil
	}
	return m, nil
}

// env is what an expression of task t (nil outside a task) sees: the data
// as `$` (YAQL) and `_` (Jinja), and Mistral's functions answered from s.
func (c *Controller) env(s *State, cur *Task, data map[string]any) *expr.Env {
	if cur != nil {
		// data is always a fresh map built for this evaluation.
		data["__task_execution"] = map[string]any{"id": cur.ID, "name": cur.Name}
	}
	return expr.MistralEnv(data, exprHost{s: s, cur: cur})
}

// exprHost answers Mistral's expression functions (task(), tasks(),
// execution(), env(), global()) from the state of one execution.
type exprHost struct {
	s   *State
	cur *Task
}

var _ expr.MistralHost = exprHost{}

func (h exprHost) CurrentTask() (map[string]any, bool) {
	if h.cur == nil {
		return nil, false
	}
	return taskView(h.s, h.cur), true
}

func (h exprHost) TaskByName(name string) (map[string]any, bool) {
	for i := len(h.s.Tasks) - 1; i >= 0; i-- {
		if h.s.Tasks[i].Name == name {
			return taskView(h.s, h.s.Tasks[i]), true
		}
	}
	return nil, false
}

// Tasks lists this execution's tasks. Mistral without an execution id lists
// every task in its database; the controller knows one execution, so that
// is what it lists. Sub-workflow executions are not known here yet, so
// recursive and flat change nothing.
func (h exprHost) Tasks(q expr.TasksQuery) ([]map[string]any, error) {
	if q.WorkflowExecutionID != "" && q.WorkflowExecutionID != h.s.Exec.ID {
		return []map[string]any{}, nil
	}
	out := []map[string]any{}
	for _, t := range h.s.Tasks {
		if q.State != "" && t.State != q.State {
			continue
		}
		out = append(out, taskView(h.s, t))
	}
	return out, nil
}

// Execution is what execution() returns (expr.MistralExecutionFields).
// Mistral's stored params always hold the namespace and the environment
// ({} for none), which the start adds.
func (h exprHost) Execution() (map[string]any, error) {
	params := make(map[string]any, len(h.s.Exec.Params)+2)
	for k, v := range h.s.Exec.Params {
		params[k] = v
	}
	if _, ok := params["namespace"]; !ok {
		params["namespace"] = ""
	}
	env := h.Env()
	if env == nil {
		env = map[string]any{}
	}
	params["env"] = env
	return map[string]any{
		"id":                h.s.Exec.ID,
		"name":              h.s.Exec.Name,
		"spec":              workflowSpec(h.s.Spec),
		"input":             h.s.Exec.Input,
		"params":            params,
		"created_at":        mistralTime(h.s.Exec.CreatedAt),
		"updated_at":        mistralTime(h.s.Exec.UpdatedAt),
		"root_execution_id": nilIfEmpty(h.s.Exec.RootID),
	}, nil
}

func (h exprHost) Env() map[string]any {
	if e, ok := h.s.Exec.Params["env"].(map[string]any); ok {
		return e
	}
	return nil
}

// Global reads the execution's context as Mistral's global() does: the
// vars with the globally published variables merged over them.
func (h exprHost) Global(name string) (any, bool) {
	v, ok := h.s.wfContext()[name]
	return v, ok
}

// taskView is what task() returns, with Mistral's field names
// (expr.MistralTaskFields). A task this event created shows the event's
// time as created_at and no updated_at, as a row Mistral has inserted but
// not yet updated.
func taskView(s *State, t *Task) map[string]any {
	typ := "ACTION"
	var spec any
	if s.Spec != nil {
		if ts := s.Spec.Task(t.Name); ts != nil {
			if ts.Workflow != "" {
				typ = "WORKFLOW"
			}
			spec = taskSpec(s.Spec, ts)
		}
	}
	created, updated := mistralTime(t.CreatedAt), mistralTime(t.UpdatedAt)
	if t.CreatedAt.IsZero() {
		created = mistralTime(s.Now)
	}
	result := t.Result
	if result == nil && !completed(t.State) {
		// A running task read back from the store, which keeps no
		// result for it: it has no run that ended yet, or, a join run
		// again, the runs it kept.
		result = keptResult(t)
	}
	published := t.Published
	if published == nil {
		published = map[string]any{}
	}
	return map[string]any{
		"id":                    t.ID,
		"name":                  t.Name,
		"spec":                  spec,
		"state":                 t.State,
		"state_info":            nilIfEmpty(t.StateInfo),
		"result":                result,
		"published":             published,
		"type":                  typ,
		"workflow_execution_id": s.Exec.ID,
		"created_at":            created,
		"updated_at":            updated,
	}
}

// mistralTime is a time as Mistral's expression functions show it
// (isoformat(' ') of a time stored to the second), null for none.
func mistralTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// workflowSpec is the "spec" of execution(): the workflow's mapping as
// Mistral keeps it (lang.Workflow.Source), its keys in document order. A
// workflow stored before it kept its source shows its parsed form.
func workflowSpec(w *lang.Workflow) any {
	if len(w.Source) > 0 {
		if v, err := expr.FromJSONOrdered(w.Source); err == nil {
			return v
		}
	}
	return specView(w)
}

// taskSpec is the "spec" of task(): the task's mapping in the workflow's
// source (see workflowSpec).
func taskSpec(w *lang.Workflow, t *lang.Task) any {
	if len(w.Source) > 0 {
		if v, err := expr.FromJSONOrdered(w.Source); err == nil {
			if wf, ok := v.(yaql.OrderedDict); ok {
				if tasks, ok := wf.Map["tasks"].(yaql.OrderedDict); ok {
					if ts, ok := tasks.Map[t.Name]; ok {
						return ts
					}
				}
			}
		}
	}
	return specView(t)
}

// specView is a parsed definition as the JSON value model, for a
// definition stored without its source.
func specView(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	out, err := expr.FromJSON(b)
	if err != nil {
		return nil
	}
	return out
}

func (s *State) task(id string) *Task {
	for _, t := range s.Tasks {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// baseData is the context every expression starts from: input, then the
// execution's context (vars, globals and __execution), then the
// environment as __env, each looked up before the one before it, as in
// Mistral's ContextView. A task adds __task_execution (see env).
func (s *State) baseData() map[string]any {
	m := make(map[string]any, len(s.Exec.Input)+len(s.Exec.Vars)+2)
	for k, v := range s.Exec.Input {
		m[k] = v
	}
	for k, v := range s.wfContext() {
		m[k] = v
	}
	m["__execution"] = map[string]any{"id": s.Exec.ID}
	envDict, _ := s.Exec.Params["env"].(map[string]any)
	if envDict == nil {
		envDict = map[string]any{}
	}
	m["__env"] = envDict
	return m
}

// wfContext is Mistral's wf_ex.context: the vars with the global
// publishes merged into them.
func (s *State) wfContext() map[string]any {
	if len(s.Exec.Globals) == 0 {
		return s.Exec.Vars
	}
	return mergeDicts(mergeDicts(nil, s.Exec.Vars), s.Exec.Globals)
}

// dataFor is the value of $ inside task t.
func (s *State) dataFor(t *Task) map[string]any {
	m := s.baseData()
	for k, v := range t.InContext {
		m[k] = v
	}
	return m
}

// outContext is what a task passes on: what it received plus what it
// published.
func (s *State) outContext(t *Task) map[string]any {
	m := copyMap(t.InContext)
	for k, v := range t.Published {
		m[k] = v
	}
	return m
}

func (c *Controller) touch(d *Decision, t *Task) {
	if !t.dirty {
		t.dirty = true
		d.Tasks = append(d.Tasks, t)
	}
}

// startTasks are the tasks of a direct workflow that no transition names.
func startTasks(w *lang.Workflow) []*lang.Task {
	if w.Type == lang.TypeReverse {
		return nil
	}
	targets := map[string]bool{}
	for _, t := range w.Tasks {
		onSuccess, onError, onComplete := clausesOf(w, t)
		for _, clause := range [][]lang.Transition{onSuccess, onError, onComplete, t.OnSkip} {
			for _, tr := range clause {
				if tr.Task != "" {
					targets[tr.Task] = true
				}
			}
		}
	}
	var out []*lang.Task
	for _, t := range w.Tasks {
		if !targets[t.Name] {
			out = append(out, t)
		}
	}
	return out
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case int64, float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "a dictionary"
	}
	return fmt.Sprintf("%T", v)
}

// mergeDicts is Mistral's merge_dicts without its side effects: right's
// entries over left's, dictionaries merged key by key. Neither argument
// changes; a new map is returned.
func mergeDicts(left, right map[string]any) map[string]any {
	out := copyMap(left)
	for k, v := range right {
		lm, lok := out[k].(map[string]any)
		rm, rok := v.(map[string]any)
		if lok && rok {
			out[k] = mergeDicts(lm, rm)
			continue
		}
		out[k] = v
	}
	return out
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// SortedKeys is a helper for deterministic iteration in callers and tests.
func SortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Waiting is the state of a join task whose inbound tasks have not all
// arrived yet.
const Waiting = "WAITING"

// arrive is a transition reaching task spec: a plain task starts at once;
// a join task waits until refreshJoins finds it can run or never will.
// Mistral keys a join's execution by workflow execution and task name, so
// the first arrival creates it (with its context) and later ones find it
// (see joinAgain).
func (c *Controller) arrive(s *State, d *Decision, spec *lang.Task, out map[string]any) {
	if spec.Join == 0 {
		c.schedule(s, d, spec, out)
		return
	}
	if t := s.latest(spec.Name); t != nil {
		c.joinAgain(d, t, spec)
		return
	}
	t := &Task{ID: c.NewID(), Name: spec.Name, State: Waiting, StateInfo: "Task is waiting.", InContext: copyMap(out), Result: noResult()}
	s.Tasks = append(s.Tasks, t)
	d.New[t.ID] = true
	c.touch(d, t)
}

// joinAgain is a branch reaching join t that already has an execution.
// Mistral's defer() finds it by its key and, unless it is WAITING, sets it
// back to WAITING, whatever its state; refreshJoins then decides it again:
// it runs again (rerunJoin), with the branches that led to it by then in
// its context, publishes again and follows its transitions again, so its
// next tasks run once more; or it fails by its inbound tasks again, and
// its on-error runs again.
//
// Only a join that has completed (SUCCESS or ERROR) goes back to WAITING
// here. A join whose action or sub-workflow still runs, or that a policy
// holds (wait-after, a retry's delay, pause-before), is left as it is: in
// Mistral its run goes on while a second one starts, and whichever ends
// first completes the join, which depends on timing alone. A with-items
// join is left as it is too (Mistral runs its items again and adds their
// results to the earlier ones by index, not reproduced).
func (c *Controller) joinAgain(d *Decision, t *Task, spec *lang.Task) {
	if t.State != Success && t.State != Error || len(spec.WithItems) > 0 {
		return
	}
	t.State, t.StateInfo = Waiting, "Task is waiting."
	t.Processed, t.Next, t.ErrorHandled = false, nil, false
	t.JoinTimer, t.JoinDue = false, false
	c.touch(d, t)
}

// rerunJoin runs again a join that joinAgain set back to WAITING, as
// Mistral's _run_existing does: its action (or sub-workflow) runs again
// without the before-start policies (pause-before, wait-before, timeout);
// the results of its successful runs stay in Kept.
func (c *Controller) rerunJoin(s *State, d *Decision, t *Task, spec *lang.Task) {
	t.ActionFailed = false
	c.runActions(s, d, t, spec)
}

// refreshJoins decides every waiting join, as Mistral's
// _refresh_task_state does after a task completes: it starts the join when
// enough inbound tasks led to it, fails it ("Failed by tasks: [...]") when
// that can no longer happen, or leaves it waiting.
func (c *Controller) refreshJoins(s *State, d *Decision) {
	// A join decided here and sent back to WAITING at once (it fails by
	// its inbound tasks and its on-error leads to itself) is left waiting
	// until the next event: Mistral goes round such a loop for ever.
	decided := map[*Task]bool{}
	for changed := true; changed && s.Exec.State == Running; {
		changed = false
		for _, t := range s.Tasks {
			if t.State != Waiting || decided[t] {
				continue
			}
			spec := s.Spec.Task(t.Name)
			if spec == nil {
				continue
			}
			state, info, undecided := s.joinState(spec)
			switch state {
			case Running:
				if !t.JoinDue && undecided > 0 {
					if !t.JoinTimer {
						t.JoinTimer = true
						c.touch(d, t)
						c.addTimer(d, t, TimerJoin, joinDelay)
					}
					continue
				}
				t.JoinTimer, t.JoinDue = false, false
				t.State, t.StateInfo = Running, ""
				for k, v := range s.upstreamContext(spec) {
					t.InContext[k] = v
				}
				c.touch(d, t)
				decided[t] = true
				if t.Runs > 0 {
					c.rerunJoin(s, d, t, spec)
				} else {
					c.start(s, d, t, spec)
				}
				changed = true
			case Error:
				decided[t] = true
				c.finishTask(s, d, t, spec, Error, info, t.Result)
				changed = true
			}
			if changed {
				break // s.Tasks may have grown; look again
			}
		}
	}
}

// joinDelay is how long, in seconds, a join that could start (join: one,
// or N) waits for its inbound tasks that are still undecided. Mistral
// does not start a join in the transaction of the inbound task that made
// it ready: it schedules a job, which its scheduler runs at its next
// round, up to a second later (fixed_delay), and the join's context then
// merges every inbound task that led to it by that time. So the branches
// that end at about the same time all take part, not only the first ones
// (test_join.py:341, :425). Here such a join starts as soon as none of
// its inbound tasks is undecided (each has led to it, or never will), and
// at the latest through a TimerJoin joinDelay later: which branches take
// part does not depend on the order in which their results are applied,
// only on whether they end within the delay, as in Mistral. A branch
// that ends later runs the join again (joinAgain).
const joinDelay = 1.0

// inbound are the tasks whose transitions (any clause, task-defaults
// applied) name task spec, in the workflow's order
// (find_inbound_task_specs).
func inbound(w *lang.Workflow, spec *lang.Task) []*lang.Task {
	var out []*lang.Task
	for _, t := range w.Tasks {
		onSuccess, onError, onComplete := clausesOf(w, t)
		found := false
		for _, clause := range [][]lang.Transition{onSuccess, onError, onComplete} {
			for _, tr := range clause {
				if tr.Command == "" && tr.Task == spec.Name {
					found = true
				}
			}
		}
		if found {
			out = append(out, t)
		}
	}
	return out
}

// latest is the last execution of the task named name, or nil.
func (s *State) latest(name string) *Task {
	for i := len(s.Tasks) - 1; i >= 0; i-- {
		if s.Tasks[i].Name == name {
			return s.Tasks[i]
		}
	}
	return nil
}

func completed(state string) bool {
	return state == Success || state == Error || state == Cancelled || state == Skipped
}

func scoped(p *lang.ScopedPublish) *lang.ScopedPublish {
	if p == nil {
		return &lang.ScopedPublish{}
	}
	return p
}

func contains(list []string, name string) bool {
	for _, x := range list {
		if x == name {
			return true
		}
	}
	return false
}

// joinState is Mistral's _get_join_logical_state: each inbound task
// induces RUNNING (it led here), ERROR (it completed without leading here,
// or no route can reach it any more) or WAITING; join: all needs every
// one RUNNING, join: N (one is 1) needs N. undecided counts those that
// induce WAITING.
func (s *State) joinState(spec *lang.Task) (state, info string, undecided int) {
	in := inbound(s.Spec, spec)
	if len(in) == 0 {
		return Running, "", 0
	}
	var running int
	var failed []string
	for _, ts := range in {
		switch t := s.latest(ts.Name); {
		case t == nil:
			if !s.possibleRoute(ts, map[string]bool{}) {
				failed = append(failed, ts.Name)
			} else {
				undecided++
			}
		case !completed(t.State):
			undecided++
		case contains(t.Next, spec.Name):
			running++
		default:
			failed = append(failed, ts.Name)
		}
	}
	msg := "Failed by tasks: " + pyStrList(failed)
	if spec.Join == lang.JoinAll {
		switch {
		case running == len(in):
			return Running, "", undecided
		case len(failed) > 0:
			return Error, msg, undecided
		}
		return Waiting, "", undecided
	}
	switch {
	case running >= spec.Join:
		return Running, "", undecided
	case len(failed) > len(in)-spec.Join:
		return Error, msg, undecided
	}
	return Waiting, "", undecided
}

// possibleRoute tells whether task spec, which has not run, may still be
// reached: some path back to a start task or to a task that is still
// running or that led to it (_possible_route).
func (s *State) possibleRoute(spec *lang.Task, seen map[string]bool) bool {
	if seen[spec.Name] {
		return false
	}
	seen[spec.Name] = true
	in := inbound(s.Spec, spec)
	if len(in) == 0 {
		return true
	}
	for _, ts := range in {
		t := s.latest(ts.Name)
		if t == nil {
			if s.possibleRoute(ts, seen) {
				return true
			}
			continue
		}
		if !completed(t.State) || contains(t.Next, spec.Name) {
			return true
		}
	}
	return false
}

// upstreamContext is the context a join starts with: the outbound
// contexts of the inbound task executions that led to it, with their
// published variables over them (evaluate_upstream_context).
func (s *State) upstreamContext(spec *lang.Task) map[string]any {
	names := map[string]bool{}
	for _, ts := range inbound(s.Spec, spec) {
		names[ts.Name] = true
	}
	ctx, published := map[string]any{}, map[string]any{}
	for _, t := range s.Tasks {
		if !names[t.Name] || !completed(t.State) || !contains(t.Next, spec.Name) {
			continue
		}
		published = mergeDicts(published, t.Published)
		ctx = mergeDicts(ctx, s.outContext(t))
	}
	return mergeDicts(ctx, published)
}

// pyStrList is str() of a Python list of strings: ['a', 'b'].
func pyStrList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "'" + n + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}
