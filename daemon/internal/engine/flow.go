package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/engine/controller"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// Timers of tasks (wait-before, wait-after, a retry's delay, timeout) and
// the end, pause and resume of sub-workflows reach the controller through
// durable timer rows, written in the transaction that decided them, so a
// restart loses no wait and no sub-workflow result.
const (
	timerKindTask       = "task"
	timerKindChildDone  = "child-done"
	timerKindChildState = "child-state"
)

// taskTimerPayload is what a task timer remembers.
type taskTimerPayload struct {
	TaskID string `json:"task_id"`
	Kind   string `json:"kind"`
	Epoch  int    `json:"epoch,omitempty"`
}

// addTaskTimer writes a task's timer. A timer whose key exists already
// (the decision was made before, then retried) is kept.
func (e *Engine) addTaskTimer(tx store.Tx, ex *store.Execution, t controller.Timer, now time.Time) error {
	payload, err := json.Marshal(taskTimerPayload{TaskID: t.TaskID, Kind: t.Kind, Epoch: t.Epoch})
	if err != nil {
		return err
	}
	at := now.Add(time.Duration(t.After * float64(time.Second)))
	err = tx.AddTimer(&store.Timer{Key: t.Key, Kind: timerKindTask, Ref: ex.ID, FireAt: at, Payload: payload})
	if errors.Is(err, store.ErrConflict) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s timer of task execution %s: %w", t.Kind, t.TaskID, err)
	}
	e.wakes.note(at)
	return nil
}

// fireTaskTimer hands a due task timer to the controller.
func (e *Engine) fireTaskTimer(f *firing, tx store.Tx, t *store.Timer) error {
	var p taskTimerPayload
	if err := json.Unmarshal(t.Payload, &p); err != nil || p.TaskID == "" {
		e.log.Error("malformed task timer dropped", "timer", t.Key, "error", err)
		return nil
	}
	if p.Kind == "" { // a timeout timer written before timers had kinds
		p.Kind = controller.TimerTimeout
	}
	return e.onExecution(f, tx, t.Ref, func(st *controller.State) (*controller.Decision, error) {
		return e.ctrl.OnTimer(st, p.TaskID, p.Kind, p.Epoch)
	})
}

// onExecution locks a running or paused execution, lets the controller
// decide and persists the decision; an execution that has ended or is
// gone is left alone.
func (e *Engine) onExecution(f *firing, tx store.Tx, id string, decide func(*controller.State) (*controller.Decision, error)) error {
	changed, err := e.decideOn(tx, id, decide)
	if changed {
		f.AfterCommit(e.wake)
	}
	return err
}

// decideOn is onExecution inside a transaction that has no firing (a
// cascade): it reports whether it persisted a decision. decide may return
// a nil decision for nothing to do.
func (e *Engine) decideOn(tx store.Tx, id string, decide func(*controller.State) (*controller.Decision, error)) (bool, error) {
	ex, err := tx.GetExecution(id, true)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if ended(ex.State) {
		return false, nil
	}
	st, err := e.load(tx, ex)
	if err != nil {
		return false, err
	}
	d, err := decide(st)
	if err != nil || d == nil {
		return false, err
	}
	return true, e.persist(tx, ex, st, d)
}

// childPayload is what a child-done or child-state timer tells the parent:
// which sub-workflow, and the run of the parent task that started it. A
// timer written before executions kept their parent run has only task_id
// and child_id.
type childPayload struct {
	controller.ParentRun
	ChildID string `json:"child_id"`
}

// notifyParent tells the parent of sub-workflow execution ex that ex has
// just ended (kind timerKindChildDone) or paused or resumed
// (timerKindChildState), through a timer due now: the parent is locked in
// a transaction of its own, always after its children, never while one is
// held. parent is the run of the parent task that started ex (nil for an
// execution started before executions kept it).
func (e *Engine) notifyParent(tx store.Tx, ex *store.Execution, parent *controller.ParentRun, kind string, now time.Time) error {
	var run controller.ParentRun
	if parent != nil {
		run = *parent
	} else {
		task, err := tx.GetTaskExecution(ex.TaskExecutionID)
		if errors.Is(err, store.ErrNotFound) {
			return nil // the parent was deleted
		}
		if err != nil {
			return err
		}
		run = controller.ParentRun{ExecutionID: task.ExecutionID, TaskID: task.ID}
	}
	payload, err := json.Marshal(childPayload{ParentRun: run, ChildID: ex.ID})
	if err != nil {
		return err
	}
	// One end per sub-workflow; a pause or resume may come many times,
	// and each is a timer of its own, which reads the state the
	// sub-workflow has when it fires.
	key := "child-done/" + ex.ID
	if kind == timerKindChildState {
		key = "child-state/" + ex.ID + "/" + uuid.NewString()
	}
	err = tx.AddTimer(&store.Timer{Key: key, Kind: kind, Ref: run.ExecutionID, FireAt: now, Payload: payload})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	e.wakes.note(now)
	return nil
}

// fireChild applies to the parent task what became of one of its
// sub-workflows: its end (a child-done timer), or its pause or resume (a
// child-state timer), as the sub-workflow is when the timer fires.
func (e *Engine) fireChild(f *firing, tx store.Tx, t *store.Timer) error {
	var p childPayload
	if err := json.Unmarshal(t.Payload, &p); err != nil || p.TaskID == "" || p.ChildID == "" {
		e.log.Error("malformed sub-workflow timer dropped", "timer", t.Key, "error", err)
		return nil
	}
	return e.onExecution(f, tx, t.Ref, func(st *controller.State) (*controller.Decision, error) {
		child, err := tx.GetExecution(p.ChildID, false)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil // deleted with its parent's tree
		}
		if err != nil {
			return nil, err
		}
		ev := controller.ChildEvent{Parent: p.ParentRun, ID: child.ID, State: child.State, StateInfo: child.StateInfo}
		done := t.Kind == timerKindChildDone
		if ev.Paused, err = e.childrenPaused(tx, st, child, done); err != nil {
			return nil, err
		}
		if !done {
			return e.ctrl.OnChildState(st, ev)
		}
		if ev.Output, err = objectFromJSON(child.Output); err != nil {
			return nil, fmt.Errorf("execution %s: output: %w", child.ID, err)
		}
		return e.ctrl.OnChildDone(st, ev)
	})
}

// childrenPaused tells whether a sub-workflow of child's task is paused:
// child itself, or, for a with-items task, the sub-workflow of any item.
// An end (done) needs to know only when the task is paused.
func (e *Engine) childrenPaused(tx store.Tx, st *controller.State, child *store.Execution, done bool) (bool, error) {
	t := findTask(st, child.TaskExecutionID)
	if t == nil || t.Items == nil {
		return child.State == controller.Paused, nil
	}
	if done && t.State != controller.Paused {
		return false, nil
	}
	runs, err := children(tx, t.ID)
	if err != nil {
		return false, err
	}
	for _, c := range runs {
		if c.State == controller.Paused {
			return true, nil
		}
	}
	return false, nil
}

// startChild creates and starts the sub-workflow execution of a task in
// the parent's transaction. Its params carry the item's index, as
// Mistral's do (0 for a task without with-items).
func (e *Engine) startChild(tx store.Tx, parent *store.Execution, w controller.RunWorkflow) error {
	params := map[string]any{"index": w.Parent.Index}
	if w.Env != nil {
		params["env"] = w.Env
	}
	root := parent.RootExecutionID
	if root == "" {
		root = parent.ID
	}
	input := w.Input
	if input == nil {
		input = map[string]any{}
	}
	_, _, err := e.startExecutionOf(tx, api.StartRequest{ID: w.ID, WorkflowName: w.Workflow, Input: input, Params: params},
		&parentRef{Run: w.Parent, RootID: root})
	return err
}

// children are the sub-workflow executions of task taskID, oldest first.
func children(tx store.Tx, taskID string) ([]*store.Execution, error) {
	return tx.ListExecutions(store.ListOpts{Filters: map[string]string{"task_execution_id": taskID}})
}

// childResults are the outputs of a with-items task's sub-workflows in
// item order, as Mistral gives each item's workflow execution output: for
// each of the count items, the latest sub-workflow that ended.
func childResults(tx store.Tx, taskID string, count int) ([]any, error) {
	runs, err := children(tx, taskID)
	if err != nil {
		return nil, err
	}
	results := make([]any, count)
	for _, r := range runs {
		if !ended(r.State) {
			continue
		}
		var params struct {
			Index *int `json:"index"`
		}
		if err := json.Unmarshal(r.Params, &params); err != nil {
			return nil, fmt.Errorf("execution %s: params: %w", r.ID, err)
		}
		if params.Index == nil || *params.Index < 0 || *params.Index >= count {
			continue
		}
		out, err := objectFromJSON(r.Output)
		if err != nil {
			return nil, fmt.Errorf("execution %s: output: %w", r.ID, err)
		}
		results[*params.Index] = out
	}
	return results, nil
}

// cancelRuns ends the running action executions of tasks that ended
// without them (a timeout, a stop) and asks their hosts, through the
// outbox, to cancel them; a result that comes later is dropped.
func (e *Engine) cancelRuns(tx store.Tx, st *controller.State, taskIDs []string) error {
	for _, id := range taskIDs {
		runs, err := tx.ListTaskActionExecutions(id)
		if err != nil {
			return err
		}
		info := "the task ended without it"
		if t := findTask(st, id); t != nil && t.StateInfo != "" {
			info = t.StateInfo
		}
		for _, r := range runs {
			if r.State != store.StateRunning {
				continue
			}
			r.State, r.StateInfo = store.StateCancel, info
			if err := tx.UpdateActionExecution(r); err != nil {
				return err
			}
			if err := tx.AddOutbox(&store.OutboxMsg{Subject: cancelSubject, MsgID: "cancel/" + r.ID, Payload: []byte(info)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// cancelSubject marks an outbox row that asks executor hosts to cancel an
// action execution (its MsgID is "cancel/<id>") rather than a JetStream
// message.
const cancelSubject = "!cancel"

func findTask(st *controller.State, id string) *controller.Task {
	for _, t := range st.Tasks {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// cascade gives the running sub-workflows of an execution the state the
// execution just took: paused, resumed, or stopped with it, as Mistral
// does with the children of a workflow it pauses, resumes or stops. Those
// of a with-items task are found by their task; a task without items
// knows its one sub-workflow.
func (e *Engine) cascade(tx store.Tx, st *controller.State, state string) error {
	for _, t := range st.Tasks {
		var ids []string
		switch {
		case t.Items != nil:
			if spec := st.Spec.Task(t.Name); spec == nil || spec.Workflow == "" {
				continue
			}
			runs, err := children(tx, t.ID)
			if err != nil {
				return err
			}
			for _, r := range runs {
				if !ended(r.State) {
					ids = append(ids, r.ID)
				}
			}
		case t.ChildID != "":
			ids = []string{t.ChildID}
		}
		for _, id := range ids {
			if err := e.cascadeTo(tx, st, id, state); err != nil {
				return err
			}
		}
	}
	return nil
}

// cascadeTo gives sub-workflow execution id the state its parent took.
func (e *Engine) cascadeTo(tx store.Tx, st *controller.State, id, state string) error {
	_, err := e.decideOn(tx, id, func(cst *controller.State) (*controller.Decision, error) {
		var d *controller.Decision
		var err error
		switch state {
		case controller.Paused:
			d, err = e.ctrl.Pause(cst, "")
		case controller.Running:
			if cst.Exec.State != controller.Paused {
				return nil, nil
			}
			d, err = e.ctrl.Resume(cst)
		default:
			d, err = e.ctrl.Stop(cst, state, st.Exec.StateInfo)
		}
		if errors.Is(err, controller.ErrNotRunning) || errors.Is(err, controller.ErrNotPaused) {
			return nil, nil
		}
		return d, err
	})
	return err
}
