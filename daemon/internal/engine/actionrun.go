package engine

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/expr"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
	"github.com/sirocco-wf/sirocco/daemon/internal/transport"
)

// Running an action without a workflow is Mistral's POST
// /v2/action_executions. The action execution is a row like a task's (no
// task, no execution) and its request goes out through the outbox in the
// same transaction, so its result comes back through applyResult as any
// other. What Mistral decides from params is kept:
//   - run_sync and an async action: refused;
//   - neither run_sync nor save_result, or run_sync: the call waits for
//     the result; without save_result the run is then forgotten (Mistral
//     never stores it) and answered without an id;
//   - otherwise (save_result, or an async action): the call answers the
//     RUNNING action execution at once.

var _ api.ActionRunner = (*Engine)(nil)

// DefaultRunWait bounds how long a synchronous run through the API waits
// for its result when it has no timeout of its own; Mistral's RPC call
// gives up after a minute too. A run still going then is answered RUNNING
// and kept, so that its caller can follow it by id.
const DefaultRunWait = 60 * time.Second

// runPoll is how often a waiting run reads its row in case its result was
// applied by another engine process; results applied here wake it at once.
const runPoll = 500 * time.Millisecond

// RunAction runs an action (built-in, plugin or ad-hoc) without a
// workflow.
func (e *Engine) RunAction(ctx context.Context, r api.RunActionRequest) (*store.ActionExecution, error) {
	if r.Name == "" {
		return nil, badf("name is required: the action to run, e.g. std.echo")
	}
	if r.Timeout < 0 {
		return nil, badf("params.timeout must be a positive number of seconds, got %v", r.Timeout)
	}
	input, err := normalizeObject(r.Input)
	if err != nil {
		return nil, badf("input: %v", err)
	}
	target := targetOr(r.Target)
	now := time.Now().UTC()
	ae := &store.ActionExecution{
		ID: uuid.NewString(), Name: r.Name, Description: r.Description,
		State: store.StateRunning, Attempt: 1, CreatedAt: now, UpdatedAt: now,
	}
	var wait bool
	err = e.store.InTx(ctx, func(tx store.Tx) error {
		run, err := e.prepareRun(tx, target, r.Name, input)
		if err != nil {
			return err
		}
		if r.RunSync && run.async {
			return badf("Action does not support synchronous execution: %s is asynchronous (its result comes later through PUT /v2/action_executions/{id}), so run_sync cannot wait for it", r.Name)
		}
		wait = r.RunSync || (!r.SaveResult && !run.async)
		ae.Input, ae.Spec = run.recorded, run.spec
		run.timeout = r.Timeout
		return e.startAction(tx, ae, run.hostRun)
	})
	if err != nil {
		return nil, err
	}
	e.wake()
	if !wait {
		return ae, nil
	}
	limit := DefaultRunWait
	if r.Timeout > 0 {
		limit = time.Duration(r.Timeout*float64(time.Second)) + timeoutMargin
	}
	done, err := e.awaitAction(ctx, ae.ID, limit)
	if err != nil {
		return nil, err
	}
	if done.State == store.StateRunning {
		e.log.Warn("action run through the API still running after the wait; answering it RUNNING", "action_execution_id", ae.ID, "action", r.Name, "waited", limit)
		return done, nil
	}
	if !r.SaveResult {
		if err := e.store.InTx(ctx, func(tx store.Tx) error { return tx.DeleteActionExecution(ae.ID) }); err != nil {
			return nil, err
		}
		done.ID, done.CreatedAt, done.UpdatedAt = "", time.Time{}, time.Time{}
	}
	return done, nil
}

// preparedRun is an action run resolved: what the executor host runs
// (an ad-hoc action's base, with the expanded input) and what the action
// execution records (the action as named, with its input).
type preparedRun struct {
	hostRun
	recorded []byte // the action execution's input
	spec     []byte // the ad-hoc chain, nil for another action
	async    bool
}

// prepareRun resolves action on target: a served action is checked
// against its input schema; an ad-hoc one against the input it declares,
// then expanded, and its base checked in turn. Every mistake is a
// BadRequest error naming the action.
func (e *Engine) prepareRun(tx store.Tx, target, action string, input map[string]any) (*preparedRun, error) {
	run := &preparedRun{hostRun: hostRun{target: target, action: action}}
	base := input
	if _, _, ok := e.route(target, action); !ok {
		chain, err := loadAdhoc(tx, action)
		if err != nil {
			return nil, err
		}
		if chain == nil {
			return nil, badf("unknown action %q: no executor host on target %q has ever served it and no ad-hoc action has that name", action, target)
		}
		if input, err = chain.input(input); err != nil {
			return nil, err
		}
		if base, err = chain.expand(input, func(data map[string]any) *expr.Env { return expr.MistralEnv(data, nil) }); err != nil {
			return nil, badf("%v", err)
		}
		run.action = chain.base()
		if _, _, ok := e.route(target, run.action); !ok {
			return nil, badf("ad-hoc action %q: its base action %q is unknown: no executor host on target %q has ever served it", chain[len(chain)-1].Name, run.action, target)
		}
		if run.spec, err = json.Marshal(chain); err != nil {
			return nil, err
		}
	}
	var err error
	if run.recorded, err = json.Marshal(input); err != nil {
		return nil, badf("input: %v", err)
	}
	if run.input, err = json.Marshal(base); err != nil {
		return nil, badf("input of action %s: %v", run.action, err)
	}
	if limit := e.conn.MaxPayload() - requestOverhead; int64(len(run.input)) > limit {
		return nil, badf("the input of action %s is %d bytes; one message may carry at most %d: pass large data by reference", run.action, len(run.input), limit)
	}
	spec, _ := e.actionSpec(target, run.action)
	run.async = spec.Async
	if len(spec.Input) > 0 {
		if err := checkSchema(run.action, spec.Input, base); err != nil {
			return nil, badf("%v", err)
		}
	}
	return run, nil
}

// actionSpec describes action as a live host on target serves it; ok is
// false when none describes it now.
func (e *Engine) actionSpec(target, action string) (transport.ActionSpec, bool) {
	for _, h := range e.reg.Hosts() {
		if h.Target != target {
			continue
		}
		for _, p := range h.Plugins {
			for _, s := range p.Specs {
				if s.Name == action {
					return s, true
				}
			}
		}
	}
	return transport.ActionSpec{}, false
}

// awaitAction waits until action execution id is no longer RUNNING, or
// for limit, and returns it as it then is.
func (e *Engine) awaitAction(ctx context.Context, id string, limit time.Duration) (*store.ActionExecution, error) {
	woken, stop := runWaiters.add(id)
	defer stop()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	poll := time.NewTicker(runPoll)
	defer poll.Stop()
	for {
		a, _, err := e.GetActionExecution(ctx, id)
		if err != nil {
			return nil, err
		}
		if a.State != store.StateRunning {
			return a, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline.C:
			return a, nil
		case <-woken:
		case <-poll.C:
		}
	}
}

// waiters lets the API calls that wait for a run's result be woken when
// this process applies it. Action execution ids are unique, so one
// registry serves every engine of the process.
type waiters struct {
	n  atomic.Int64 // waiting calls: the result path skips the lock when none waits
	mu sync.Mutex
	m  map[string][]chan struct{}
}

var runWaiters = &waiters{m: map[string][]chan struct{}{}}

func (w *waiters) add(id string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	w.m[id] = append(w.m[id], ch)
	w.mu.Unlock()
	w.n.Add(1)
	return ch, func() {
		w.n.Add(-1)
		w.mu.Lock()
		defer w.mu.Unlock()
		list := w.m[id]
		for i, c := range list {
			if c == ch {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(w.m, id)
		} else {
			w.m[id] = list
		}
	}
}

// actionDone wakes whoever waits for action execution id; it is called
// after the result's transaction committed.
func actionDone(id string) {
	if runWaiters.n.Load() == 0 {
		return
	}
	runWaiters.mu.Lock()
	defer runWaiters.mu.Unlock()
	for _, ch := range runWaiters.m[id] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

var _ api.ActionExecutionDeleter = (*Engine)(nil)

// DeleteActionExecution deletes an ended action execution run without a
// workflow. Those of tasks belong to their execution (DELETE
// /v2/executions/{id} removes them), and a running one may still get its
// result: both are refused, as Mistral refuses them.
func (e *Engine) DeleteActionExecution(ctx context.Context, id string) error {
	return e.store.InTx(ctx, func(tx store.Tx) error {
		a, err := tx.GetActionExecution(id)
		if err != nil {
			return err
		}
		if a.TaskExecutionID != "" {
			return conflictf("action execution %s belongs to a task: only one run without a workflow can be deleted (delete its execution instead)", id)
		}
		if a.State == store.StateRunning {
			return conflictf("action execution %s is still RUNNING: only a completed one can be deleted", id)
		}
		return tx.DeleteActionExecution(id)
	})
}
