package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/engine/controller"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// Timers of tasks (wait-before, wait-after, a retry's delay, timeout) and
// the end of sub-workflows reach the controller through durable timer
// rows, written in the transaction that decided them, so a restart loses
// no wait and no sub-workflow result.
const (
	timerKindTask      = "task"
	timerKindChildDone = "child-done"
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
	ex, err := tx.GetExecution(id, true)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if ended(ex.State) {
		return nil
	}
	st, err := e.load(tx, ex)
	if err != nil {
		return err
	}
	d, err := decide(st)
	if err != nil {
		return err
	}
	if err := e.persist(tx, ex, st, d); err != nil {
		return err
	}
	f.AfterCommit(e.wake)
	return nil
}

// childDonePayload names the task whose sub-workflow ended.
type childDonePayload struct {
	TaskID  string `json:"task_id"`
	ChildID string `json:"child_id"`
}

// notifyParent tells the parent of a sub-workflow execution that has just
// ended, through a timer due now: the parent is locked in a transaction of
// its own, always after its children, never while one is held.
func (e *Engine) notifyParent(tx store.Tx, ex *store.Execution, now time.Time) error {
	task, err := tx.GetTaskExecution(ex.TaskExecutionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // the parent was deleted
	}
	if err != nil {
		return err
	}
	payload, err := json.Marshal(childDonePayload{TaskID: task.ID, ChildID: ex.ID})
	if err != nil {
		return err
	}
	err = tx.AddTimer(&store.Timer{Key: "child-done/" + ex.ID, Kind: timerKindChildDone, Ref: task.ExecutionID, FireAt: now, Payload: payload})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	e.wakes.note(now)
	return nil
}

// fireChildDone applies the end of a sub-workflow to its parent task.
func (e *Engine) fireChildDone(f *firing, tx store.Tx, t *store.Timer) error {
	var p childDonePayload
	if err := json.Unmarshal(t.Payload, &p); err != nil {
		e.log.Error("malformed sub-workflow timer dropped", "timer", t.Key, "error", err)
		return nil
	}
	return e.onExecution(f, tx, t.Ref, func(st *controller.State) (*controller.Decision, error) {
		child, err := tx.GetExecution(p.ChildID, false)
		if err != nil {
			return nil, err
		}
		out, err := objectFromJSON(child.Output)
		if err != nil {
			return nil, fmt.Errorf("execution %s: output: %w", child.ID, err)
		}
		return e.ctrl.OnChildDone(st, p.TaskID, child.ID, child.State, child.StateInfo, out)
	})
}

// startChild creates and starts the sub-workflow execution of a task in
// the parent's transaction.
func (e *Engine) startChild(tx store.Tx, parent *store.Execution, w controller.RunWorkflow) error {
	params := map[string]any{}
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
		&parentRef{TaskID: w.TaskID, RootID: root})
	return err
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
// does with the children of a workflow it pauses, resumes or stops.
func (e *Engine) cascade(tx store.Tx, st *controller.State, state string) error {
	for _, t := range st.Tasks {
		if t.ChildID == "" {
			continue
		}
		child, err := tx.GetExecution(t.ChildID, true)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if ended(child.State) {
			continue
		}
		cst, err := e.load(tx, child)
		if err != nil {
			return err
		}
		var d *controller.Decision
		switch state {
		case controller.Paused:
			d, err = e.ctrl.Pause(cst, "")
		case controller.Running:
			if child.State != controller.Paused {
				continue
			}
			d, err = e.ctrl.Resume(cst)
		default:
			d, err = e.ctrl.Stop(cst, state, st.Exec.StateInfo)
		}
		if errors.Is(err, controller.ErrNotRunning) || errors.Is(err, controller.ErrNotPaused) {
			continue
		}
		if err != nil {
			return err
		}
		if err := e.persist(tx, child, cst, d); err != nil {
			return err
		}
	}
	return nil
}
