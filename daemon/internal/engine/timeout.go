package engine

import (
	"sync"
	"time"
)

// timerKindLegacyTimeout is the kind of the timeout timers written
// before task timers had kinds (payload {"task_id": ...}); they fire as a
// task timer of kind timeout.
const timerKindLegacyTimeout = "task-timeout"

// timeoutMargin is how much longer than the task's timeout the executor
// host lets the action run: the engine's timer normally fails the task
// first, with Mistral's message, and the host's deadline is the backstop.
const timeoutMargin = time.Second

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
