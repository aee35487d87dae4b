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
	"strconv"
	"strings"

	"github.com/sirocco-wf/sirocco/daemon/internal/expr"
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
	Vars   map[string]any
	Output map[string]any
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
	Result    any
	// Processed is set once the transitions out of the task are decided.
	Processed bool
	// ActionExecutionID is the action run for this task, when it has one.
	ActionExecutionID string

	dirty bool
}

// State is everything the controller knows about one execution.
type State struct {
	Spec  *lang.Workflow
	Exec  *Execution
	Tasks []*Task // in creation order
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
}

// Decision is what one event changed and what must happen next.
type Decision struct {
	// Tasks lists the task executions created or changed, in order.
	Tasks      []*Task
	New        map[string]bool // ids of tasks in Tasks that are new
	Actions    []RunAction
	ExecChange bool // Exec's state, state info or output changed
}

// Controller decides. NewID makes ids for task and action executions; tests
// pass a deterministic one.
type Controller struct {
	NewID func() string
}

// Start begins an execution: it evaluates the vars, then starts every task
// no transition leads to.
func (c *Controller) Start(s *State) (*Decision, error) {
	d := &Decision{New: map[string]bool{}}
	s.Exec.State = Running
	d.ExecChange = true
	if len(s.Spec.Vars) > 0 {
		env := c.env(s, nil, s.baseData())
		v, err := expr.EvalData(s.Spec.Vars, env)
		if err != nil {
			c.fail(s, d, fmt.Sprintf("Failed to evaluate workflow vars: %v", err))
			return d, nil
		}
		m, _ := v.(map[string]any)
		s.Exec.Vars = m
	}
	for _, t := range startTasks(s.Spec) {
		c.schedule(s, d, t, nil)
	}
	c.checkCompletion(s, d)
	return d, nil
}

// OnActionResult applies the result of the action of task taskID. A result
// for a task that is no longer running is ignored (a late duplicate).
func (c *Controller) OnActionResult(s *State, taskID string, output any, aerr *ActionError) (*Decision, error) {
	d := &Decision{New: map[string]bool{}}
	t := s.task(taskID)
	if t == nil {
		return nil, fmt.Errorf("task execution %s is not part of execution %s", taskID, s.Exec.ID)
	}
	if t.State != Running || s.Exec.State != Running {
		return d, nil
	}
	spec := s.Spec.Task(t.Name)
	if spec == nil {
		return nil, fmt.Errorf("task %q is not in workflow %q", t.Name, s.Spec.Name)
	}
	if aerr != nil {
		c.finishTask(s, d, t, spec, Error, aerr.Message, aerr.Message)
	} else {
		c.finishTask(s, d, t, spec, Success, "", output)
	}
	c.checkCompletion(s, d)
	return d, nil
}

// finishTask records the end of a task, publishes, and follows its
// transitions.
func (c *Controller) finishTask(s *State, d *Decision, t *Task, spec *lang.Task, state, info string, result any) {
	t.State, t.StateInfo, t.Result = state, info, result
	c.touch(d, t)
	publish := spec.Publish
	if state == Error {
		publish = spec.PublishOnError
	}
	if len(publish) > 0 {
		v, err := expr.EvalData(publish, c.env(s, t, s.dataFor(t)))
		if err != nil {
			t.State = Error
			t.StateInfo = fmt.Sprintf("Failed to publish variables of task %q: %v", t.Name, err)
			state = Error
		} else if m, ok := v.(map[string]any); ok {
			t.Published = m
		}
	}
	c.followTransitions(s, d, t, spec, state)
}

// followTransitions starts what the task's on-* clauses name. A task in
// ERROR with no on-error or on-complete clause stays unhandled, which fails
// the workflow when it completes.
func (c *Controller) followTransitions(s *State, d *Decision, t *Task, spec *lang.Task, state string) {
	var clauses [][]lang.Transition
	if state == Success {
		clauses = [][]lang.Transition{spec.OnSuccess, spec.OnComplete}
	} else {
		clauses = [][]lang.Transition{spec.OnError, spec.OnComplete}
	}
	t.Processed = true
	c.touch(d, t)
	out := s.outContext(t)
	data := s.dataFor(t)
	for k, v := range t.Published {
		data[k] = v
	}
	for _, clause := range clauses {
		for _, tr := range clause {
			if tr.Guard != "" {
				ok, err := c.guard(s, t, data, tr.Guard)
				if err != nil {
					c.fail(s, d, fmt.Sprintf("Failed to evaluate the condition %q of a transition from task %q: %v", tr.Guard, t.Name, err))
					return
				}
				if !ok {
					continue
				}
			}
			switch tr.Command {
			case "":
			case lang.CmdNoop:
				continue
			case lang.CmdFail:
				c.fail(s, d, commandMsg(tr, fmt.Sprintf("Failed by task %q (fail command).", t.Name)))
				return
			case lang.CmdSucceed:
				c.succeed(s, d, commandMsg(tr, ""))
				return
			default:
				c.fail(s, d, fmt.Sprintf("engine command %q of task %q is not supported yet", tr.Command, t.Name))
				return
			}
			next := s.Spec.Task(tr.Task)
			if next == nil {
				c.fail(s, d, fmt.Sprintf("task %q leads to task %q, which does not exist", t.Name, tr.Task))
				return
			}
			c.schedule(s, d, next, out)
		}
	}
}

func commandMsg(tr lang.Transition, def string) string {
	if tr.Msg != "" {
		return tr.Msg
	}
	return def
}

func (c *Controller) guard(s *State, t *Task, data map[string]any, guard string) (bool, error) {
	v, err := expr.Eval(guard, c.env(s, t, data))
	if err != nil {
		return false, err
	}
	return expr.Truthy(v), nil
}

// schedule creates a task execution and runs its action.
func (c *Controller) schedule(s *State, d *Decision, spec *lang.Task, inContext map[string]any) {
	t := &Task{ID: c.NewID(), Name: spec.Name, State: Running, InContext: copyMap(inContext)}
	s.Tasks = append(s.Tasks, t)
	d.New[t.ID] = true
	c.touch(d, t)
	if spec.Workflow != "" {
		c.finishTask(s, d, t, spec, Error, "", fmt.Sprintf("task %q runs workflow %q: sub-workflows are not supported yet", spec.Name, spec.Workflow))
		return
	}
	env := c.env(s, t, s.dataFor(t))
	in, err := expr.EvalData(spec.Input, env)
	if err != nil {
		msg := fmt.Sprintf("Failed to evaluate the input of task %q: %v", spec.Name, err)
		c.finishTask(s, d, t, spec, Error, msg, msg)
		return
	}
	input, ok := in.(map[string]any)
	if in != nil && !ok {
		msg := fmt.Sprintf("The input of task %q must be a dictionary, got %s", spec.Name, typeName(in))
		c.finishTask(s, d, t, spec, Error, msg, msg)
		return
	}
	if input == nil {
		input = map[string]any{}
	}
	target := spec.Target
	if target != "" {
		tv, err := expr.Eval(target, env)
		if err != nil {
			msg := fmt.Sprintf("Failed to evaluate the target of task %q: %v", spec.Name, err)
			c.finishTask(s, d, t, spec, Error, msg, msg)
			return
		}
		target = fmt.Sprint(tv)
	}
	safeRerun := spec.SafeRerun
	if safeRerun == nil && s.Spec.TaskDefaults != nil {
		safeRerun = s.Spec.TaskDefaults.SafeRerun
	}
	rerun, err := c.flag(safeRerun, env)
	if err != nil {
		msg := fmt.Sprintf("Failed to evaluate safe-rerun of task %q: %v", spec.Name, err)
		c.finishTask(s, d, t, spec, Error, msg, msg)
		return
	}
	timeout := spec.Timeout
	if timeout == nil && s.Spec.TaskDefaults != nil {
		timeout = s.Spec.TaskDefaults.Timeout
	}
	secs, err := c.seconds(timeout, env)
	if err != nil {
		msg := fmt.Sprintf("Failed to evaluate the timeout of task %q: %v", spec.Name, err)
		c.finishTask(s, d, t, spec, Error, msg, msg)
		return
	}
	t.ActionExecutionID = c.NewID()
	d.Actions = append(d.Actions, RunAction{
		TaskID: t.ID, ActionExecutionID: t.ActionExecutionID,
		Action: spec.Action, Input: input, Target: target, SafeRerun: rerun, Timeout: secs,
	})
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
	if s.Exec.State != Running {
		return nil, ErrNotRunning
	}
	d := &Decision{New: map[string]bool{}}
	for _, t := range s.Tasks {
		if t.State == Running {
			t.State, t.StateInfo = Cancelled, fmt.Sprintf("Cancelled: the workflow execution was stopped with state %s.", state)
			c.touch(d, t)
		}
	}
	switch state {
	case Success:
		c.succeed(s, d, msg)
	case Error:
		c.failWithOutput(s, d, msg)
	case Cancelled:
		s.Exec.State, s.Exec.StateInfo = Cancelled, msg
		d.ExecChange = true
	default:
		return nil, fmt.Errorf("an execution can be stopped with SUCCESS, ERROR or CANCELLED, not %s", state)
	}
	return d, nil
}

// TimedOut fails a task whose timeout policy ran out, with Mistral's
// message. A task that already ended is left alone.
func (c *Controller) TimedOut(s *State, taskID string, timeout float64) (*Decision, error) {
	return c.OnActionResult(s, taskID, nil, &ActionError{
		Type:    "TaskTimeout",
		Message: fmt.Sprintf("Task timed out [timeout(s)=%s].", strconv.FormatFloat(timeout, 'f', -1, 64)),
	})
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
	var failed []*Task
	for _, t := range s.Tasks {
		if t.State == Running {
			return
		}
		if t.State == Error && !handlesError(s.Spec.Task(t.Name)) {
			failed = append(failed, t)
		}
	}
	if len(failed) > 0 {
		var b strings.Builder
		names := make([]string, len(failed))
		for i, t := range failed {
			names[i] = t.Name
		}
		fmt.Fprintf(&b, "Failure caused by error in tasks: %s\n", strings.Join(names, ", "))
		for _, t := range failed {
			fmt.Fprintf(&b, "\n  %s [task_ex_id=%s] -> %s\n", t.Name, t.ID, t.StateInfo)
		}
		c.failWithOutput(s, d, b.String())
		return
	}
	c.succeed(s, d, "")
}

func handlesError(t *lang.Task) bool {
	return t != nil && (len(t.OnError) > 0 || len(t.OnComplete) > 0)
}

// succeed ends the execution in SUCCESS and evaluates the output.
func (c *Controller) succeed(s *State, d *Decision, info string) {
	out, err := c.output(s, s.Spec.Output)
	if err != nil {
		c.fail(s, d, fmt.Sprintf("Failed to evaluate the output of workflow %q: %v", s.Spec.Name, err))
		return
	}
	s.Exec.State, s.Exec.StateInfo, s.Exec.Output = Success, info, out
	d.ExecChange = true
}

// failWithOutput ends the execution in ERROR with output-on-error when the
// workflow has one.
func (c *Controller) failWithOutput(s *State, d *Decision, info string) {
	s.Exec.State, s.Exec.StateInfo = Error, info
	s.Exec.Output = map[string]any{}
	if s.Spec.OutputOnError != nil {
		if out, err := c.output(s, s.Spec.OutputOnError); err == nil {
			s.Exec.Output = out
		}
	}
	d.ExecChange = true
}

func (c *Controller) fail(s *State, d *Decision, info string) {
	c.failWithOutput(s, d, info)
}

// output evaluates an output clause against the final context: the input,
// the vars and everything the finished tasks published, in order.
func (c *Controller) output(s *State, clause any) (map[string]any, error) {
	if clause == nil {
		return map[string]any{}, nil
	}
	data := s.baseData()
	for _, t := range s.Tasks {
		for k, v := range s.outContext(t) {
			data[k] = v
		}
	}
	v, err := expr.EvalData(clause, c.env(s, nil, data))
	if err != nil {
		return nil, err
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

func (h exprHost) Execution() (map[string]any, error) {
	return map[string]any{
		"id":                h.s.Exec.ID,
		"name":              h.s.Exec.Name,
		"spec":              specView(h.s.Spec),
		"input":             h.s.Exec.Input,
		"params":            h.s.Exec.Params,
		"state":             h.s.Exec.State,
		"created_at":        nil,
		"updated_at":        nil,
		"root_execution_id": nil,
	}, nil
}

func (h exprHost) Env() map[string]any {
	if e, ok := h.s.Exec.Params["env"].(map[string]any); ok {
		return e
	}
	return nil
}

func (h exprHost) Global(name string) (any, bool) {
	// Globally published variables are not modelled yet; Mistral's
	// global() reads the execution's context, where they would be.
	return nil, false
}

// taskView is what task() returns, with Mistral's field names
// (expr.MistralTaskFields).
func taskView(s *State, t *Task) map[string]any {
	typ := "ACTION"
	var spec any
	if s.Spec != nil {
		if ts := s.Spec.Task(t.Name); ts != nil {
			if ts.Workflow != "" {
				typ = "WORKFLOW"
			}
			spec = specView(ts)
		}
	}
	return map[string]any{
		"id":                    t.ID,
		"name":                  t.Name,
		"spec":                  spec,
		"state":                 t.State,
		"state_info":            nilIfEmpty(t.StateInfo),
		"result":                t.Result,
		"published":             t.Published,
		"type":                  typ,
		"workflow_execution_id": s.Exec.ID,
		"created_at":            nil,
		"updated_at":            nil,
	}
}

// specView is a parsed definition as the JSON value model, for the "spec"
// fields of task() and execution().
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

// baseData is the context every expression starts from: input, then vars.
func (s *State) baseData() map[string]any {
	m := make(map[string]any, len(s.Exec.Input)+len(s.Exec.Vars))
	for k, v := range s.Exec.Input {
		m[k] = v
	}
	for k, v := range s.Exec.Vars {
		m[k] = v
	}
	return m
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
	targets := map[string]bool{}
	for _, t := range w.Tasks {
		for _, clause := range [][]lang.Transition{t.OnSuccess, t.OnError, t.OnComplete, t.OnSkip} {
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
