// Package engine is the runtime around the pure workflow controller: it
// loads an execution's state from the store, locks it, lets the controller
// decide, and persists the decision together with the messages it implies
// (an outbox row per action to run) in one transaction. Messages leave only
// after the commit; a result is applied at most once.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/engine/controller"
	"github.com/sirocco-wf/sirocco/daemon/internal/expr"
	"github.com/sirocco-wf/sirocco/daemon/internal/lang"
	"github.com/sirocco-wf/sirocco/daemon/internal/metrics"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
	"github.com/sirocco-wf/sirocco/daemon/internal/transport"
)

// Config builds an engine.
type Config struct {
	Store    store.Store
	Conn     *transport.Conn
	Registry *transport.Registry // watched; says which plugin serves an action
	Logger   hclog.Logger
	// APIURL is the base URL of this installation's HTTP API, from which
	// async actions get the callback URL they report their result to.
	APIURL string
	// Metrics, when set, is where the engine counts; nil counts nowhere.
	Metrics *metrics.Engine
	// ResultAppliers is how many batches of results are applied at once
	// (0 means 1). More only help a database with parallel writers: on
	// PostgreSQL each statement is a round trip and each commit an fsync,
	// and one applier left the pool idle while it waited; SQLite has one
	// writer, and splitting the results into more, smaller batches cost
	// more than it gained.
	ResultAppliers int
}

// Engine runs workflow executions. Several engines may share one store and
// one NATS: any of them applies any result.
type Engine struct {
	apiURL string
	store  store.Store
	conn   *transport.Conn
	reg    *transport.Registry
	log    hclog.Logger
	ctrl   *controller.Controller

	appliers int // Config.ResultAppliers, at least 1

	kick  chan struct{} // wakes the outbox relay after a commit
	queue outboxQueue   // committed outbox rows for the relay (outbox.go)
	// sweepEvery is how often the relay reads the whole outbox table.
	sweepEvery time.Duration

	// specs caches the decoded workflow of recently active executions, so
	// a result does not decode it again. Bounded: executions that never
	// finish here (another engine finished them, an API-only process
	// started them) age out instead of piling up.
	specs *lru.Cache[string, *lang.Workflow]
	// execs keeps what was decoded of recently active executions
	// (execcache.go); checkExecCache makes every load from it compare
	// with the rows (SIROCCO_CHECK_EXEC_CACHE, set by the tests).
	execs          *execCache
	checkExecCache bool

	// sched is the running timer scheduler, if this process has one; the
	// engine's own transactions that add a timer wake it.
	sched   atomic.Pointer[Scheduler]
	wakes   wakeups
	metrics *metrics.Engine
}

var _ api.Backend = (*Engine)(nil)

// New builds an engine; Run starts it.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil || cfg.Conn == nil || cfg.Registry == nil {
		return nil, errors.New("engine: store, NATS connection and registry are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.NewEngine(prometheus.NewRegistry())
	}
	specs, err := lru.New[string, *lang.Workflow](specCacheSize)
	if err != nil {
		return nil, err
	}
	// With-items lists of running tasks: a few hundred large fan-outs at
	// once at most; one evicted is evaluated again.
	lists, err := lru.New[string, map[string][]any](256)
	if err != nil {
		return nil, err
	}
	execs, err := newExecCache(execCacheSize, execCacheBytes)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		execs:          execs,
		checkExecCache: os.Getenv("SIROCCO_CHECK_EXEC_CACHE") != "",
		metrics:        cfg.Metrics,
		apiURL:         strings.TrimRight(cfg.APIURL, "/"),
		conn:           cfg.Conn,
		reg:            cfg.Registry,
		log:            cfg.Logger,
		ctrl:           &controller.Controller{NewID: uuid.NewString, Lists: lists},
		kick:           make(chan struct{}, 1),
		specs:          specs,

		appliers: max(1, cfg.ResultAppliers),

		sweepEvery: sweepEvery,
	}
	e.store = &relayStore{Store: cfg.Store, e: e}
	return e, nil
}

// Run consumes results and flushes the outbox until ctx ends. On start it
// re-sends whatever the outbox still holds from before a crash.
func (e *Engine) Run(ctx context.Context) error {
	// The consumer decodes each result and hands it to the applier of its
	// execution; an applier applies whatever has arrived meanwhile in one
	// transaction, so under load the cost of a commit is shared by many
	// results.
	lanes := make([]chan *pendingResult, e.appliers)
	for i := range lanes {
		lanes[i] = make(chan *pendingResult, resultBatch)
	}
	sub, err := e.conn.ConsumeResults(ctx, 256, func(m jetstream.Msg) {
		p := e.decodeMsg(m)
		if p == nil {
			return
		}
		select {
		case lanes[lane(p.res.ExecutionID, len(lanes))] <- p:
		case <-ctx.Done():
		}
	})
	if err != nil {
		return err
	}
	defer sub.Stop()
	var appliers sync.WaitGroup
	for _, results := range lanes {
		appliers.Go(func() { e.applyResults(ctx, results) })
	}
	defer appliers.Wait()
	return e.RunOutbox(ctx)
}

// resultBatch bounds the results applied in one transaction.
const resultBatch = 64

// lane is the applier of an execution's results: always the same one, so
// that they share batches and never wait for each other's row lock (a
// with-items task's results all go to its execution). Batches lock
// execution rows in id order, so appliers cannot deadlock on each other.
func lane(executionID string, lanes int) int {
	if lanes == 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(executionID))
	return int(h.Sum32() % uint32(lanes))
}

// applyResults applies results as they come, in batches of what is
// waiting, until ctx ends.
func (e *Engine) applyResults(ctx context.Context, results <-chan *pendingResult) {
	for {
		var batch []*pendingResult
		select {
		case <-ctx.Done():
			return
		case p := <-results:
			batch = append(batch, p)
		}
	more:
		for len(batch) < resultBatch {
			select {
			case p := <-results:
				batch = append(batch, p)
			default:
				break more
			}
		}
		// Execution rows are locked in one order by every batch, so two
		// appliers or engines applying batches cannot deadlock on each
		// other.
		sort.SliceStable(batch, func(i, j int) bool { return batch[i].res.ExecutionID < batch[j].res.ExecutionID })
		e.applyBatch(batch)
	}
}

// pendingResult is one decoded result of a batch.
type pendingResult struct {
	msg    jetstream.Msg
	res    transport.ActionResult
	output any
	aerr   *controller.ActionError
}

// decodeMsg decodes one result; one that cannot be decoded is dropped or
// left for another engine, and gives nil.
func (e *Engine) decodeMsg(msg jetstream.Msg) *pendingResult {
	p := &pendingResult{msg: msg}
	if err := transport.Decode(msg.Data(), &p.res); err != nil {
		var ver *transport.ErrUnsupportedVersion
		if errors.As(err, &ver) {
			e.log.Error("result in a protocol this engine does not speak; leaving it for another engine", "error", err)
			_ = msg.NakWithDelay(5 * time.Second)
			return nil
		}
		e.log.Error("malformed result dropped", "error", err)
		_ = msg.Term()
		return nil
	}
	p.output, p.aerr = decodeResult(&p.res)
	return p
}

// applyBatch applies decoded results in one transaction and acknowledges
// them after the commit. A batch that fails is applied again one result
// at a time, so one bad result delays only itself.
func (e *Engine) applyBatch(ok []*pendingResult) {
	begin := time.Now()
	applied := make([]bool, len(ok))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err := e.store.InTx(ctx, func(tx store.Tx) error {
		for i, p := range ok {
			a, err := e.applyResultTx(tx, &p.res, p.output, p.aerr)
			if err != nil {
				return fmt.Errorf("result of action execution %s: %w", p.res.ActionExecutionID, err)
			}
			applied[i] = a
		}
		return nil
	})
	cancel()
	if err != nil && len(ok) > 1 {
		e.log.Warn("applying a batch of results failed; applying them one by one", "results", len(ok), "error", err)
		for _, p := range ok {
			e.applyBatch([]*pendingResult{p})
		}
		return
	}
	for i, p := range ok {
		if err != nil {
			delay := redeliveryDelay(p.msg)
			e.log.Error("applying result failed; it will be redelivered", "action_execution_id", p.res.ActionExecutionID, "in", delay, "error", err)
			_ = p.msg.NakWithDelay(delay)
			continue
		}
		_ = p.msg.Ack()
		e.countResult(applied[i], begin)
		actionDone(p.res.ActionExecutionID)
	}
	e.wake()
}

// wake is called after a commit: it kicks the outbox relay and wakes the
// scheduler for timers the committed transactions added.
func (e *Engine) wake() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
	e.wakes.flush(e)
}

// countResult records one result handled since begin.
func (e *Engine) countResult(applied bool, begin time.Time) {
	if !applied {
		e.metrics.ResultsDuplicate.Inc()
		return
	}
	e.metrics.ResultsApplied.Inc()
	e.metrics.ResultApplySecs.Observe(time.Since(begin).Seconds())
}

// applyResult applies one result in one transaction; applied is false for
// a result that was applied already (or names no action execution).
func (e *Engine) applyResult(ctx context.Context, res *transport.ActionResult) (applied bool, err error) {
	output, aerr := decodeResult(res)
	err = e.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		applied, err = e.applyResultTx(tx, res, output, aerr)
		return err
	})
	return applied && err == nil, err
}

// decodeResult is a result's output, or its error, in the expression
// value model.
func decodeResult(res *transport.ActionResult) (output any, aerr *controller.ActionError) {
	if res.Error != nil {
		aerr = &controller.ActionError{Type: res.Error.Type, Message: res.Error.Message}
		if len(res.Error.Data) > 0 {
			aerr.Data, _ = expr.FromJSON(res.Error.Data)
		}
	} else if len(res.Output) > 0 {
		v, err := expr.FromJSON(res.Output)
		if err != nil {
			aerr = &controller.ActionError{Type: "InvalidOutput", Message: fmt.Sprintf("the action's output is not valid JSON: %v", err)}
		} else {
			output = v
		}
	}
	return output, aerr
}

// applyResultTx applies one result inside tx; applied is false for a
// result applied already (or naming no action execution).
func (e *Engine) applyResultTx(tx store.Tx, res *transport.ActionResult, output any, aerr *controller.ActionError) (bool, error) {
	var ex *store.Execution
	var err error
	if res.ExecutionID != "" {
		// A result names its execution: lock that first, and the action
		// read under the lock is the truth, read once. (Batches lock in
		// the order of these ids.)
		if ex, err = tx.GetExecution(res.ExecutionID, true); errors.Is(err, store.ErrNotFound) {
			ex = nil
		} else if err != nil {
			return false, err
		}
	}
	ae, err := tx.GetActionExecution(res.ActionExecutionID)
	if errors.Is(err, store.ErrNotFound) {
		e.log.Warn("result for an unknown action execution dropped", "action_execution_id", res.ActionExecutionID)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if ae.State != store.StateRunning {
		return false, nil // a second copy of a result already applied
	}
	if ae.ExecutionID == "" {
		ex = nil
	} else if ex == nil || ex.ID != ae.ExecutionID {
		// A result that did not name the action's execution: lock it
		// now, then read the action again, since another engine may have
		// applied this result while we waited.
		if ex, err = tx.GetExecution(ae.ExecutionID, true); err != nil {
			return false, err
		}
		if ae, err = tx.GetActionExecution(res.ActionExecutionID); err != nil {
			return false, err
		}
		if ae.State != store.StateRunning {
			return false, nil
		}
	}
	output, aerr = adhocResult(ae, output, aerr)
	ae.State = store.StateSuccess
	result := output
	if aerr != nil {
		ae.State = store.StateError
		ae.StateInfo = aerr.Message
		result = aerr.Message
	}
	if ae.Output, err = json.Marshal(map[string]any{"result": result}); err != nil {
		return false, err
	}
	if err := tx.UpdateActionExecution(ae); err != nil {
		return false, err
	}
	if ex == nil || ae.TaskExecutionID == "" {
		return true, nil
	}
	// A timeout timer of the task stays: it fires, finds the task done
	// and does nothing. Deleting it here would lock a timer row after the
	// execution row, the opposite order of the scheduler, which
	// PostgreSQL would answer with a deadlock.
	st, err := e.load(tx, ex)
	if err != nil {
		return false, err
	}
	d, err := e.ctrl.OnResult(st, controller.Result{
		TaskID: ae.TaskExecutionID, ActionExecutionID: ae.ID, Index: ae.ItemIndex, Output: output, Err: aerr,
	})
	if err != nil {
		return false, err
	}
	return true, e.persist(tx, ex, st, d)
}

// execContext is what the engine keeps in an execution's Context column:
// the workflow as it was when the execution started (a later update of the
// definition does not change a running execution) and the evaluated vars.
type execContext struct {
	Spec    *lang.Workflow          `json:"spec"`
	Vars    map[string]any          `json:"vars,omitempty"`
	Globals map[string]any          `json:"globals,omitempty"`
	Backlog []controller.Backlogged `json:"backlog,omitempty"`
	// Parent is, for a sub-workflow, the run of the task that started it.
	Parent *controller.ParentRun `json:"parent,omitempty"`
}

// taskRuntime is what the engine keeps in a task execution's Runtime column
// (written here, read back field by field in load).
type taskRuntime struct {
	InContext map[string]any `json:"in_context,omitempty"`
	// Kept are a join's kept results (controller.Task.Kept), which like
	// InContext go through the expression value model.
	Kept []any `json:"kept,omitempty"`
	taskBookkeeping
}

// taskBookkeeping is the part of taskRuntime that decodes as it is
// (InContext goes through the expression value model instead).
type taskBookkeeping struct {
	ActionExecutionID string                 `json:"action_execution_id,omitempty"`
	Next              []string               `json:"next,omitempty"`
	ErrorHandled      bool                   `json:"error_handled,omitempty"`
	ActionFailed      bool                   `json:"action_failed,omitempty"`
	Runs              int                    `json:"runs,omitempty"`
	FailedRuns        []controller.FailedRun `json:"failed_runs,omitempty"`
	Items             *controller.Items      `json:"items,omitempty"`
	RetryNo           int                    `json:"retry_no,omitempty"`
	WaitBeforeDone    bool                   `json:"wait_before_done,omitempty"`
	WaitAfterDone     bool                   `json:"wait_after_done,omitempty"`
	EndState          string                 `json:"end_state,omitempty"`
	EndInfo           string                 `json:"end_info,omitempty"`
	ChildID           string                 `json:"child_id,omitempty"`
	Epoch             int                    `json:"epoch,omitempty"`
	JoinTimer         bool                   `json:"join_timer,omitempty"`
	JoinDue           bool                   `json:"join_due,omitempty"`
}

func bookkeepingOf(t *controller.Task) taskBookkeeping {
	return taskBookkeeping{
		ActionExecutionID: t.ActionExecutionID, Next: t.Next, ErrorHandled: t.ErrorHandled,
		ActionFailed: t.ActionFailed, Runs: t.Runs, FailedRuns: t.FailedRuns, Items: t.Items,
		RetryNo: t.RetryNo, WaitBeforeDone: t.WaitBeforeDone, WaitAfterDone: t.WaitAfterDone,
		EndState: t.EndState, EndInfo: t.EndInfo, ChildID: t.ChildID, Epoch: t.Epoch,
		JoinTimer: t.JoinTimer, JoinDue: t.JoinDue,
	}
}

func (b taskBookkeeping) apply(t *controller.Task) {
	t.ActionExecutionID, t.Next, t.ErrorHandled, t.ActionFailed = b.ActionExecutionID, b.Next, b.ErrorHandled, b.ActionFailed
	t.Runs, t.FailedRuns, t.Items, t.RetryNo = b.Runs, b.FailedRuns, b.Items, b.RetryNo
	t.WaitBeforeDone, t.WaitAfterDone, t.EndState, t.EndInfo, t.ChildID = b.WaitBeforeDone, b.WaitAfterDone, b.EndState, b.EndInfo, b.ChildID
	t.Epoch, t.JoinTimer, t.JoinDue = b.Epoch, b.JoinTimer, b.JoinDue
}

// load builds the controller's view of an execution. Numbers are decoded
// into the expression value model (int64 where whole) straight from JSON.
func (e *Engine) load(tx store.Tx, ex *store.Execution) (*controller.State, error) {
	c := e.takeCached(tx, ex.ID)
	view := c.view
	if view == nil || !view.decodedFrom(ex) {
		var err error
		if view, err = decodeExec(ex); err != nil {
			return nil, err
		}
		c.view = view
	} else if e.checkExecCache {
		if err := checkCachedView(ex, view); err != nil {
			return nil, err
		}
	}
	spec := e.cachedSpec(ex.ID)
	if spec == nil {
		raw := view.spec
		if raw == nil {
			fresh, err := decodeExec(ex)
			if err != nil {
				return nil, err
			}
			raw = fresh.spec
		}
		if len(raw) == 0 {
			return nil, fmt.Errorf("execution %s has no workflow spec", ex.ID)
		}
		spec = &lang.Workflow{}
		if err := json.Unmarshal(raw, spec); err != nil {
			return nil, fmt.Errorf("execution %s: spec: %w", ex.ID, err)
		}
		e.cacheSpec(ex.ID, spec)
	}
	view.spec = nil // decoded and cached; the view need not keep it
	st := &controller.State{Spec: spec, Now: e.clock(), Exec: &controller.Execution{
		ID: ex.ID, Name: ex.WorkflowName, State: ex.State, StateInfo: ex.StateInfo, Backlog: view.backlog,
		RootID: ex.RootExecutionID, CreatedAt: ex.CreatedAt, UpdatedAt: ex.UpdatedAt,
		Parent: view.parent, Vars: view.vars, Globals: view.globals, Input: view.input, Params: view.params,
	}}
	var err error
	if st.Tasks, err = e.loadTasks(tx, ex.ID, c); err != nil {
		return nil, err
	}
	if ended(ex.State) {
		// A late result, an API read or a rerun: nothing of an ended
		// execution is kept (persist drops what the first writes), and a
		// rerun's writes go to the cache as it runs again.
		e.forgetExec(tx, ex.ID)
	}
	return st, nil
}

// persist writes a decision: the tasks it created or changed, an action
// execution and an outbox message per action to run, the timers, the
// sub-workflows it starts, and the execution. It first settles what the
// decision leaves to the runtime (actions no host serves, inputs that do
// not fit, with-items results to gather, sub-workflows that cannot
// start), which may decide more.
func (e *Engine) persist(tx store.Tx, ex *store.Execution, st *controller.State, d *controller.Decision) error {
	if err := e.resolve(tx, ex, st, d); err != nil {
		return err
	}
	now := time.Now().UTC()
	for _, t := range d.Tasks {
		row, err := taskRow(ex, t, now)
		if err != nil {
			return err
		}
		if d.New[t.ID] {
			row.CreatedAt = now
			err = tx.CreateTaskExecution(row)
		} else {
			err = tx.UpdateTaskExecution(row)
		}
		if err != nil {
			return err
		}
		if err := wroteTask(tx, row); err != nil {
			return err
		}
	}
	for _, r := range d.Replace {
		if err := tx.ReplaceActionExecutions(r.TaskID, r.FailedOnly); err != nil {
			return err
		}
	}
	if err := e.cancelRuns(tx, st, d.Cancel); err != nil {
		return err
	}
	for _, a := range d.Actions {
		if err := e.dispatch(tx, ex, a, now); err != nil {
			return err
		}
	}
	for _, t := range d.Timers {
		if err := e.addTaskTimer(tx, ex, t, now); err != nil {
			return err
		}
	}
	if d.ChildrenState != "" {
		if err := e.cascade(tx, st, d.ChildrenState); err != nil {
			return err
		}
	}
	if d.ExecChange {
		prev := ex.State
		ex.State, ex.StateInfo = st.Exec.State, st.Exec.StateInfo
		if st.Exec.Output != nil {
			b, err := json.Marshal(st.Exec.Output)
			if err != nil {
				return fmt.Errorf("output of execution %s: %w", ex.ID, err)
			}
			ex.Output = b
		}
		ec := execContext{Spec: st.Spec, Vars: st.Exec.Vars, Globals: st.Exec.Globals, Backlog: st.Exec.Backlog, Parent: st.Exec.Parent}
		b, err := json.Marshal(ec)
		if err != nil {
			return err
		}
		ex.Context = b
		ex.UpdatedAt = now
		e.contextChanged(tx, ex.ID)
		if err := tx.UpdateExecution(ex); err != nil {
			return err
		}
		if ended(ex.State) {
			e.forgetSpec(ex.ID)
			e.metrics.ExecutionsEnded.WithLabelValues(ex.State).Inc()
		}
		if err := e.notifyChange(tx, ex, st, prev, now); err != nil {
			return err
		}
	}
	if ended(ex.State) {
		// Whether it ended now or before (a late result still writes the
		// task it finishes), nothing of it goes back into the cache.
		e.forgetExec(tx, ex.ID)
	}
	return nil
}

// notifyChange tells the parent of a sub-workflow that went from state
// prev to its state now what it must hear: an end, or a pause or resume
// (Mistral pauses a task and its workflow with their sub-workflow).
func (e *Engine) notifyChange(tx store.Tx, ex *store.Execution, st *controller.State, prev string, now time.Time) error {
	switch {
	case ex.TaskExecutionID == "" || ex.State == prev:
		return nil
	case ended(ex.State):
		return e.notifyParent(tx, ex, st.Exec.Parent, timerKindChildDone, now)
	case ex.State == controller.Paused || prev == controller.Paused:
		return e.notifyParent(tx, ex, st.Exec.Parent, timerKindChildState, now)
	}
	return nil
}

// resolve settles, before anything is written, what a decision leaves to
// the runtime; each answer goes back to the controller, whose new
// decision is merged in, until nothing is left. An action no host has ever
// served fails its task and the execution at once, as Mistral fails a task
// it cannot run, with a message that says so. One whose hosts are all gone
// now is queued anyway: it waits in its plugin's work queue, and its task
// says what it waits for.
func (e *Engine) resolve(tx store.Tx, ex *store.Execution, st *controller.State, d *controller.Decision) error {
	var started []controller.RunWorkflow
	for {
		if err := e.resolveAdhoc(tx, st, d); err != nil {
			return err
		}
		if err := e.rejectBadInput(st, d); err != nil {
			return err
		}
		var unrouted, routed []controller.RunAction
		for _, a := range d.Actions {
			if _, live, ok := e.route(a.Target, a.Action); ok {
				routed = append(routed, a)
				if !live {
					e.markWaiting(d, a)
				}
			} else {
				unrouted = append(unrouted, a)
			}
		}
		d.Actions = routed
		var next []*controller.Decision
		for _, a := range unrouted {
			n, err := e.ctrl.FailToRun(st, a.TaskID,
				fmt.Sprintf("no executor host on target %q serves action %q", targetOr(a.Target), a.Action))
			if err != nil {
				return err
			}
			next = append(next, n)
		}
		collect := d.Collect
		d.Collect = nil
		for _, taskID := range collect {
			results, err := collectItems(tx, st, taskID)
			if err != nil {
				return err
			}
			n, err := e.ctrl.ItemsCollected(st, taskID, results)
			if err != nil {
				return err
			}
			next = append(next, n)
		}
		workflows := d.Workflows
		d.Workflows = nil
		for _, w := range workflows {
			if err := e.startChild(tx, ex, w); err != nil {
				var bad interface{ BadRequest() bool }
				if !errors.As(err, &bad) && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				n, ferr := e.ctrl.FailToRun(st, w.Parent.TaskID, err.Error())
				if ferr != nil {
					return ferr
				}
				next = append(next, n)
				continue
			}
			started = append(started, w)
		}
		if len(next) == 0 {
			d.Workflows = started
			return nil
		}
		for _, n := range next {
			merge(d, n)
		}
	}
}

// dispatch writes a task's action run: its action execution and its
// request.
func (e *Engine) dispatch(tx store.Tx, ex *store.Execution, a controller.RunAction, now time.Time) error {
	input, err := json.Marshal(a.Input)
	if err != nil {
		return fmt.Errorf("action input of task execution %s: %w", a.TaskID, err)
	}
	row := &store.ActionExecution{
		ID: a.ActionExecutionID, TaskExecutionID: a.TaskID, ExecutionID: ex.ID,
		Name: a.Action, State: store.StateRunning, Input: input, Attempt: 1, ItemIndex: a.Index,
		CreatedAt: now, UpdatedAt: now,
	}
	if a.Adhoc != nil { // the action as the task named it (adhoc.go)
		row.Name, row.Input, row.Spec = a.Adhoc.Name, a.Adhoc.Input, a.Adhoc.Spec
	}
	return e.startAction(tx, row, hostRun{
		target: targetOr(a.Target), action: a.Action, input: input,
		timeout: a.Timeout, safeRerun: a.SafeRerun, workflowName: ex.WorkflowName,
	})
}

// hostRun is what an executor host is asked to run for an action
// execution: for an ad-hoc action, its base with the expanded input,
// where the action execution records the action as named.
type hostRun struct {
	target       string
	action       string
	input        []byte
	timeout      float64 // seconds, the task's or the caller's; 0: none
	safeRerun    bool
	workflowName string // empty for a run without a workflow
}

// startAction writes one action run in tx, for a task and for a run
// without a workflow alike: the action execution row and, in the same
// commit, its request in the outbox, so that a request never goes out for
// a run the database does not have. The request's ids and attempt are the
// row's; it goes to the work queue of the plugin that serves the action.
func (e *Engine) startAction(tx store.Tx, row *store.ActionExecution, run hostRun) error {
	plugin, _, _ := e.route(run.target, run.action)
	if err := tx.CreateActionExecution(row); err != nil {
		return err
	}
	// Counted when written: a transaction that rolls back (an error,
	// logged) over-counts by its actions, which these signals tolerate.
	e.metrics.ActionsDispatched.Inc()
	req, err := json.Marshal(transport.ActionRequest{
		V: transport.ProtocolVersion, ActionExecutionID: row.ID,
		TaskExecutionID: row.TaskExecutionID, ExecutionID: row.ExecutionID, WorkflowName: run.workflowName,
		Action: run.action, Input: run.input, Attempt: row.Attempt, SafeRerun: run.safeRerun, WithItemsIndex: row.ItemIndex,
		CallbackURL: e.callbackURL(row.ID), TimeoutSeconds: hostDeadline(run.timeout),
	})
	if err != nil {
		return err
	}
	return tx.AddOutbox(&store.OutboxMsg{
		Subject: e.conn.ActionSubject(run.target, plugin),
		MsgID:   fmt.Sprintf("action/%s/%d", row.ID, row.Attempt),
		Payload: req,
	})
}

// collectItems are the results of a with-items task's items in item
// order: its sub-workflows' outputs or its actions' results.
func collectItems(tx store.Tx, st *controller.State, taskID string) ([]any, error) {
	if t := findTask(st, taskID); t != nil && t.Items != nil {
		if spec := st.Spec.Task(t.Name); spec != nil && spec.Workflow != "" {
			return childResults(tx, taskID, t.Items.Count)
		}
	}
	return itemResults(tx, taskID)
}

// itemResults are the results of a with-items task's current runs, in
// item order (a later run of an item wins over an earlier one).
func itemResults(tx store.Tx, taskID string) ([]any, error) {
	runs, err := tx.ListTaskActionExecutions(taskID)
	if err != nil {
		return nil, err
	}
	byIndex := map[int]any{}
	count := 0
	for _, r := range runs {
		if r.Replaced || r.State == store.StateRunning {
			continue
		}
		var out struct {
			Result json.RawMessage `json:"result"`
		}
		var v any
		if len(r.Output) > 0 {
			if err := json.Unmarshal(r.Output, &out); err != nil {
				return nil, fmt.Errorf("action execution %s: output: %w", r.ID, err)
			}
			if len(out.Result) > 0 {
				if v, err = expr.FromJSON(out.Result); err != nil {
					return nil, fmt.Errorf("action execution %s: output: %w", r.ID, err)
				}
			}
		}
		byIndex[r.ItemIndex] = v
		if r.ItemIndex+1 > count {
			count = r.ItemIndex + 1
		}
	}
	results := make([]any, count)
	for i, v := range byIndex {
		results[i] = v
	}
	return results, nil
}

// ended tells whether an execution state is final.
func ended(state string) bool {
	return state == store.StateSuccess || state == store.StateError || state == store.StateCancel
}

func merge(d, next *controller.Decision) {
	seen := map[*controller.Task]bool{}
	for _, t := range d.Tasks {
		seen[t] = true
	}
	for _, t := range next.Tasks {
		if !seen[t] {
			d.Tasks = append(d.Tasks, t)
		}
	}
	for id := range next.New {
		d.New[id] = true
	}
	d.Actions = append(d.Actions, next.Actions...)
	d.ExecChange = d.ExecChange || next.ExecChange
	d.Timers = append(d.Timers, next.Timers...)
	d.Workflows = append(d.Workflows, next.Workflows...)
	d.Replace = append(d.Replace, next.Replace...)
	d.Collect = append(d.Collect, next.Collect...)
	d.Cancel = append(d.Cancel, next.Cancel...)
	if next.ChildrenState != "" {
		d.ChildrenState = next.ChildrenState
	}
}

func taskRow(ex *store.Execution, t *controller.Task, now time.Time) (*store.TaskExecution, error) {
	row := &store.TaskExecution{
		ID: t.ID, ExecutionID: ex.ID, WorkflowName: ex.WorkflowName, Name: t.Name,
		State: t.State, StateInfo: t.StateInfo, Processed: t.Processed, CreatedAt: t.CreatedAt, UpdatedAt: now,
	}
	var err error
	if row.Published, err = json.Marshal(orEmpty(t.Published)); err != nil {
		return nil, fmt.Errorf("published of task %q: %w", t.Name, err)
	}
	if t.State != controller.Running {
		if row.Result, err = json.Marshal(t.Result); err != nil {
			return nil, fmt.Errorf("result of task %q: %w", t.Name, err)
		}
	}
	if row.Runtime, err = json.Marshal(taskRuntime{InContext: t.InContext, Kept: t.Kept, taskBookkeeping: bookkeepingOf(t)}); err != nil {
		return nil, err
	}
	return row, nil
}

func (e *Engine) route(target, action string) (plugin string, live, ok bool) {
	return e.reg.Route(targetOr(target), action)
}

// markWaiting tells, in the task's state info, why its action has not
// started: the API shows it until the result comes.
func (e *Engine) markWaiting(d *controller.Decision, a controller.RunAction) {
	plugin, _, _ := e.route(a.Target, a.Action)
	for _, t := range d.Tasks {
		if t.ID == a.TaskID {
			t.StateInfo = fmt.Sprintf("waiting for an executor host on target %q with plugin %q (action %s): none is registered now",
				targetOr(a.Target), plugin, a.Action)
		}
	}
}

// hostDeadline is the deadline the executor host gives an action whose
// task has a timeout (0: none).
func hostDeadline(timeout float64) float64 {
	if timeout <= 0 {
		return 0
	}
	return timeout + timeoutMargin.Seconds()
}

// callbackURL is where an async action reports its result.
func (e *Engine) callbackURL(actionExecutionID string) string {
	if e.apiURL == "" {
		return ""
	}
	return e.apiURL + "/v2/action_executions/" + actionExecutionID
}

func targetOr(t string) string {
	if t == "" {
		return transport.DefaultTarget
	}
	return t
}

// specCacheSize bounds the spec cache: a few thousand decoded workflows
// cover the executions that are busy at once.
const specCacheSize = 4096

func (e *Engine) cachedSpec(id string) *lang.Workflow {
	w, _ := e.specs.Get(id)
	return w
}

func (e *Engine) cacheSpec(id string, w *lang.Workflow) { e.specs.Add(id, w) }

func (e *Engine) forgetSpec(id string) { e.specs.Remove(id) }

// objectFromJSON decodes a JSON object into the expression value model.
func objectFromJSON(b []byte) (map[string]any, error) {
	if len(b) == 0 || string(b) == "null" || string(b) == "{}" {
		return map[string]any{}, nil
	}
	v, err := expr.FromJSON(b)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a JSON object")
	}
	return m, nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// badRequest is an error in what the caller sent; the API answers 400.
type badRequest struct{ msg string }

func (b *badRequest) Error() string    { return b.msg }
func (b *badRequest) BadRequest() bool { return true }

func badf(format string, args ...any) error {
	return &badRequest{msg: fmt.Sprintf(format, args...)}
}

// conflictError is a request that clashes with the state it found (an
// execution that has ended, a result given already). It is
// store.ErrConflict to errors.Is, so the API answers 409, with this text
// alone rather than the store's "already exists".
type conflictError struct{ msg string }

func (c *conflictError) Error() string        { return c.msg }
func (c *conflictError) Is(target error) bool { return target == store.ErrConflict }

func conflictf(format string, args ...any) error {
	return &conflictError{msg: fmt.Sprintf(format, args...)}
}

// definitionError wraps a language error so the API answers 400 with every
// problem and its place.
type definitionError struct{ err error }

func (d *definitionError) Error() string    { return d.err.Error() }
func (d *definitionError) Unwrap() error    { return d.err }
func (d *definitionError) BadRequest() bool { return true }

func joinNames(names []string) string { return strings.Join(names, ", ") }

// redeliveryDelay backs off a result that failed to apply: 1 s, doubling
// with each delivery up to a minute, so a database that is down is
// retried soon and a result that can never apply (a damaged row) does not
// spin; it stays in the stream, and the log says why, until it applies.
func redeliveryDelay(msg jetstream.Msg) time.Duration {
	n := uint64(1)
	if md, err := msg.Metadata(); err == nil && md.NumDelivered > 0 {
		n = md.NumDelivered
	}
	if n > 7 {
		return time.Minute
	}
	return time.Second << (n - 1)
}
