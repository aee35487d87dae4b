package executor

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sirocco-wf/sirocco/daemon/internal/transport"
)

// errCancelled is the cause of a run's context cancelled by a cancel
// request, so the run's error can say that it was cancelled on request.
var errCancelled = errors.New("cancelled on request")

// running maps the action executions running on this host to the cancel
// functions of their contexts, so a cancel request (transport.CancelRequest
// on <prefix>.cancel, sent to every host) reaches the one host running it.
type running struct {
	mu   sync.Mutex
	runs map[string]context.CancelCauseFunc
}

// track derives a cancellable context for the run of action execution id;
// done must be called when the run ends.
func (r *running) track(ctx context.Context, id string) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	if id == "" {
		return ctx, func() { cancel(nil) }
	}
	r.mu.Lock()
	if r.runs == nil {
		r.runs = map[string]context.CancelCauseFunc{}
	}
	r.runs[id] = cancel
	r.mu.Unlock()
	return ctx, func() {
		r.mu.Lock()
		delete(r.runs, id)
		r.mu.Unlock()
		cancel(nil)
	}
}

// cancel cancels the run of action execution id if it runs here.
func (r *running) cancel(id string) bool {
	r.mu.Lock()
	cancel, ok := r.runs[id]
	r.mu.Unlock()
	if ok {
		cancel(errCancelled)
	}
	return ok
}

// cancelAll cancels every run on this host with cause and says how many.
func (r *running) cancelAll(cause error) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, cancel := range r.runs {
		cancel(cause)
	}
	return len(r.runs)
}

// onCancel handles one cancel request from the engine.
func (e *Executor) onCancel(req transport.CancelRequest) {
	if e.runs.cancel(req.ActionExecutionID) {
		e.log.Info("cancelling action on request", "action_execution_id", req.ActionExecutionID, "reason", req.Reason)
	}
}

// cancelledSet holds the action executions cancelled before this host got
// their requests (from the cancelled-actions bucket), so such a request is
// dropped instead of run.
type cancelledSet struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func (c *cancelledSet) add(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]time.Time{}
	}
	now := time.Now()
	if len(c.m) >= 10000 { // the bucket forgets after its TTL; so do we
		for k, at := range c.m {
			if now.Sub(at) > transport.CancelledTTL {
				delete(c.m, k)
			}
		}
	}
	c.m[id] = now
}

func (c *cancelledSet) has(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[id]
	return ok
}
