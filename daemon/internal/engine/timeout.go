package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sirocco-wf/sirocco/daemon/internal/engine/controller"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// timerKindTimeout is the timer of a task's timeout policy.
const timerKindTimeout = "task-timeout"

// timeoutMargin is how much longer than the task's timeout the executor
// host lets the action run: the engine's timer normally fails the task
// first, with Mistral's message, and the host's deadline is the backstop.
const timeoutMargin = time.Second

func timeoutKey(taskID string) string { return "timeout/" + taskID }

// timeoutPayload is what a timeout timer remembers.
type timeoutPayload struct {
	TaskID            string  `json:"task_id"`
	ActionExecutionID string  `json:"action_execution_id"`
	Timeout           float64 `json:"timeout"`
}

// addTimeout schedules the timeout of a task's action, in the transaction
// that starts it, so a restart loses nothing.
func (e *Engine) addTimeout(tx store.Tx, ex *store.Execution, a controller.RunAction, now time.Time) error {
	payload, err := json.Marshal(timeoutPayload{TaskID: a.TaskID, ActionExecutionID: a.ActionExecutionID, Timeout: a.Timeout})
	if err != nil {
		return err
	}
	at := now.Add(time.Duration(a.Timeout * float64(time.Second)))
	if err := tx.AddTimer(&store.Timer{Key: timeoutKey(a.TaskID), Kind: timerKindTimeout, Ref: ex.ID, FireAt: at, Payload: payload}); err != nil {
		return fmt.Errorf("timeout of task execution %s: %w", a.TaskID, err)
	}
	e.wakes.note(at)
	return nil
}

// fireTaskTimeout fails a task whose action is still running when its
// timeout runs out, and asks the executor host to cancel the action.
func (e *Engine) fireTaskTimeout(f *firing, tx store.Tx, t *store.Timer) error {
	var p timeoutPayload
	if err := json.Unmarshal(t.Payload, &p); err != nil {
		e.log.Error("malformed timeout timer dropped", "timer", t.Key, "error", err)
		return nil
	}
	ex, err := tx.GetExecution(t.Ref, true)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if ex.State != store.StateRunning {
		return nil
	}
	ae, err := tx.GetActionExecution(p.ActionExecutionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if ae.State != store.StateRunning {
		return nil // the result came first
	}
	st, err := e.load(tx, ex)
	if err != nil {
		return err
	}
	d, err := e.ctrl.TimedOut(st, p.TaskID, p.Timeout)
	if err != nil {
		return err
	}
	ae.State = store.StateError
	for _, tk := range d.Tasks {
		if tk.ID == p.TaskID {
			ae.StateInfo = tk.StateInfo
		}
	}
	if ae.Output, err = json.Marshal(map[string]any{"result": ae.StateInfo}); err != nil {
		return err
	}
	if err := tx.UpdateActionExecution(ae); err != nil {
		return err
	}
	if err := e.persist(tx, ex, st, d); err != nil {
		return err
	}
	f.AfterCommit(func() {
		if err := e.conn.PublishCancel(ae.ID, "task timed out"); err != nil {
			e.log.Warn("could not ask the executor host to cancel a timed-out action", "action_execution_id", ae.ID, "error", err)
		}
		e.wake()
	})
	return nil
}

// wakeups remembers the earliest timer added by transactions since the
// last flush, so the scheduler is woken after they commit, not before
// (woken before, it would not see the uncommitted timer).
type wakeups struct {
	mu sync.Mutex
	at time.Time
}

func (w *wakeups) note(at time.Time) {
	w.mu.Lock()
	if w.at.IsZero() || at.Before(w.at) {
		w.at = at
	}
	w.mu.Unlock()
}

// flush wakes e's scheduler for the earliest noted timer. A rolled-back
// transaction's note only causes an early look at the timer table.
func (w *wakeups) flush(e *Engine) {
	w.mu.Lock()
	at := w.at
	w.at = time.Time{}
	w.mu.Unlock()
	if !at.IsZero() {
		e.timerAdded(at)
	}
}
