// Package executor is the executor host: it takes action requests from
// NATS, runs them (built-in actions in-process, everything else through the
// plugin host) and sends the results back. It knows nothing of workflows.
package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sirocco-wf/sirocco/daemon/internal/metrics"
	"github.com/sirocco-wf/sirocco/daemon/internal/pluginhost"
	"github.com/sirocco-wf/sirocco/daemon/internal/transport"
)

// Config builds an executor host.
type Config struct {
	ID       string // unique per process; generated when empty
	Target   string // executor pool; transport.DefaultTarget when empty
	Capacity int    // actions run at once per plugin on this host
	Conn     *transport.Conn
	Registry *transport.Registry
	Plugins  *pluginhost.Host // started already; nil runs built-ins only
	Logger   hclog.Logger
	// Grace is how long a host that is told to stop waits for its running
	// actions before it hands them back; DefaultGrace when zero.
	Grace time.Duration
	// Metrics, when set, is where the host counts; nil counts nowhere.
	Metrics *metrics.Executor
	// HostCapacity bounds the actions run at once over all plugins; 0
	// leaves only the per-plugin Capacity.
	HostCapacity int
}

// DefaultGrace is the shutdown grace period of an executor host: shorter
// than JetStream's AckWait, so a handed-back action is not also redelivered
// as lost.
const DefaultGrace = 20 * time.Second

// handBackDelay is how long a request given back at shutdown waits before
// JetStream offers it again.
const handBackDelay = 2 * time.Second

// errShuttingDown is the cause of the runs a stopping host cancels when its
// grace period is over.
var errShuttingDown = errors.New("executor host shutting down")

// Executor is one executor host.
type Executor struct {
	cfg     Config
	log     hclog.Logger
	running atomic.Int64
	// subs are the work-queue consumers by plugin name; Start and Serve
	// change them, nothing else.
	subs       map[string]*transport.Subscription
	info       transport.ExecutorInfo
	runs       running
	stopCancel func()
	// handingBack is set when the grace period is over: runs that end with
	// an error from then on are given back to JetStream, not reported.
	handingBack atomic.Bool
	metrics     *metrics.Executor
	// cancelled are action executions cancelled before their requests
	// reached this host; stopWatch ends the watch that fills it.
	cancelled cancelledSet
	stopWatch context.CancelFunc
	hostSlots transport.Slots
}

// New checks the configuration and builds the host.
func New(cfg Config) (*Executor, error) {
	if cfg.Conn == nil || cfg.Registry == nil {
		return nil, errors.New("executor: a NATS connection and the registry are required")
	}
	if cfg.ID == "" {
		cfg.ID = "exec-" + uuid.NewString()[:8]
	}
	if cfg.Target == "" {
		cfg.Target = transport.DefaultTarget
	}
	if !transport.ValidToken(cfg.Target) {
		return nil, fmt.Errorf("executor target %q: only letters, digits, '-' and '_' are allowed", cfg.Target)
	}
	if cfg.Capacity <= 0 {
		cfg.Capacity = 64
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.NewExecutor(prometheus.NewRegistry())
	}
	return &Executor{cfg: cfg, log: cfg.Logger, metrics: cfg.Metrics, hostSlots: transport.NewSlots(cfg.HostCapacity)}, nil
}

// Start binds to the work queue of every plugin this host has and
// announces the host in the registry. When it returns, the host takes work.
func (e *Executor) Start(ctx context.Context) error {
	stop, err := e.cfg.Conn.SubscribeCancel(e.onCancel)
	if err != nil {
		return err
	}
	e.stopCancel = stop
	wctx, wcancel := context.WithCancel(context.Background())
	if err := e.cfg.Conn.WatchCancelled(wctx, e.cancelled.add); err != nil {
		wcancel()
		stop()
		return err
	}
	e.stopWatch = wcancel
	plugins := e.plugins()
	if err := e.bind(ctx, plugins); err != nil {
		e.stopSubs()
		return err
	}
	host, _ := os.Hostname()
	e.info = transport.ExecutorInfo{
		ID: e.cfg.ID, Host: host, Target: e.cfg.Target, Plugins: plugins,
		Capacity: e.cfg.Capacity, StartedAt: time.Now().UTC(),
	}
	if err := e.cfg.Registry.Put(ctx, e.info); err != nil {
		e.stopSubs()
		return err
	}
	e.log.Info("executor host ready", "id", e.cfg.ID, "target", e.cfg.Target, "plugins", len(plugins))
	return nil
}

// Serve keeps the registry entry fresh until ctx ends, then withdraws it and
// stops taking work; actions still running finish and send their results.
// When the plugin host reports installed, upgraded or removed plugins, it
// binds to the new plugins' work queues, lets go of the removed ones' and
// announces the new set at once.
func (e *Executor) Serve(ctx context.Context) error {
	defer e.stopSubs()
	tick := time.NewTicker(transport.RegistryTTL / 3)
	defer tick.Stop()
	var changes <-chan struct{}
	if e.cfg.Plugins != nil {
		changes = e.cfg.Plugins.Changes()
	}
	for {
		select {
		case <-changes:
			plugins := e.plugins()
			if err := e.bind(ctx, plugins); err != nil && ctx.Err() == nil {
				e.log.Error("binding to changed plugins failed", "error", err)
			}
			e.info.Plugins = plugins
			e.info.Running = int(e.running.Load())
			if err := e.cfg.Registry.Put(ctx, e.info); err != nil && ctx.Err() == nil {
				e.log.Warn("registry update failed", "error", err)
			}
			e.log.Info("plugins changed; announced them", "plugins", len(plugins))
		case <-ctx.Done():
			e.shutdown()
			return nil
		case <-tick.C:
			// Health changes (a plugin restarting) show in the refresh.
			plugins := e.plugins()
			if err := e.bind(ctx, plugins); err != nil && ctx.Err() == nil {
				e.log.Error("binding to plugins failed", "error", err)
			}
			e.info.Plugins = plugins
			e.info.Running = int(e.running.Load())
			if err := e.cfg.Registry.Put(ctx, e.info); err != nil && ctx.Err() == nil {
				e.log.Warn("registry refresh failed", "error", err)
			}
		}
	}
}

// shutdown is a graceful stop: withdraw from the registry, take no new
// work, let running actions finish within the grace period, then cancel
// the rest and give their requests back to JetStream (another host reruns
// a safe-rerun task; the others end as ExecutorLost, as after a crash).
//
// The grace period covers the whole stop: the last pulls, which may still
// bring requests (see transport.Subscription.Stop), and every action they
// started. An idle host stops as soon as its pulls end.
func (e *Executor) shutdown() {
	rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_ = e.cfg.Registry.Remove(rctx, e.cfg.ID)
	cancel()
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		stopAll(e.subs)
	}()
	if n := e.running.Load(); n > 0 {
		e.log.Info("stopping: waiting for running actions", "running", n, "grace", e.cfg.Grace)
	}
	grace := time.NewTimer(e.cfg.Grace)
	defer grace.Stop()
	select {
	case <-stopped:
		return
	case <-grace.C:
	}
	e.handingBack.Store(true)
	if n := e.runs.cancelAll(errShuttingDown); n > 0 {
		e.log.Warn("grace period over: handing running actions back", "actions", n)
	}
	<-stopped
}

// stopAll stops subs together: each waits for its pull in flight, and one
// after another those waits would add up.
func stopAll(subs map[string]*transport.Subscription) {
	for _, s := range subs {
		s.StopFetching()
	}
	for _, s := range subs {
		s.Stop()
	}
}

func (e *Executor) stopSubs() {
	if e.stopCancel != nil {
		e.stopCancel()
		e.stopCancel = nil
	}
	if e.stopWatch != nil {
		e.stopWatch()
		e.stopWatch = nil
	}
	stopAll(e.subs)
	e.subs = nil
}

// bind makes the work-queue consumers match plugins: one per plugin that
// serves actions, none for a plugin that is gone or refused.
func (e *Executor) bind(ctx context.Context, plugins []transport.PluginEntry) error {
	if e.subs == nil {
		e.subs = map[string]*transport.Subscription{}
	}
	want := map[string]bool{}
	for _, p := range plugins {
		if len(p.Actions) > 0 {
			want[p.Name] = true
		}
	}
	for name, s := range e.subs {
		if !want[name] {
			s.Stop()
			delete(e.subs, name)
		}
	}
	for _, p := range plugins {
		if !want[p.Name] || e.subs[p.Name] != nil {
			continue
		}
		s, err := e.cfg.Conn.ConsumeActions(ctx, e.cfg.Target, p.Name, e.cfg.Capacity, e.hostSlots, e.handle)
		if err != nil {
			return err
		}
		e.subs[p.Name] = s
	}
	return nil
}

// plugins is what this host announces: the built-in actions, then each
// plugin with its version, protocol, sha256, health and action specs.
func (e *Executor) plugins() []transport.PluginEntry {
	out := []transport.PluginEntry{{Name: transport.BuiltinPlugin, Version: "1", Health: pluginhost.HealthOK,
		Actions: BuiltinActions(), Specs: BuiltinSpecs()}}
	if e.cfg.Plugins == nil {
		return out
	}
	for _, p := range e.cfg.Plugins.Plugins() {
		if !transport.ValidToken(p.Name) {
			e.log.Error("plugin name cannot be used in a NATS subject; skipped", "plugin", p.Name, "path", p.Path)
			continue
		}
		entry := transport.PluginEntry{Name: p.Name, Version: p.Version, Protocol: p.Protocol,
			SDKVersion: p.SDKVersion, SHA256: p.SHA256, Health: p.Health}
		for _, a := range p.Actions {
			entry.Actions = append(entry.Actions, a.Name)
			entry.Specs = append(entry.Specs, transport.ActionSpec{Name: a.Name, Description: a.Description,
				Input: a.InputSchema, Async: a.Async, Cancellable: a.Cancellable})
		}
		out = append(out, entry)
	}
	return out
}

// handle runs one action request. The result is published before the
// request is acknowledged: if this process dies in between, the request is
// redelivered and the engine drops the second result.
func (e *Executor) handle(msg jetstream.Msg) {
	var req transport.ActionRequest
	if err := transport.Decode(msg.Data(), &req); err != nil {
		var ver *transport.ErrUnsupportedVersion
		if errors.As(err, &ver) {
			e.log.Error("action request in a protocol this host does not speak; leaving it for another host", "error", err, "subject", msg.Subject())
			_ = msg.NakWithDelay(5 * time.Second)
			return
		}
		e.log.Error("malformed action request dropped", "error", err, "subject", msg.Subject())
		_ = msg.Term()
		return
	}
	e.running.Add(1)
	e.metrics.Running.Inc()
	plugin := msg.Subject()[strings.LastIndexByte(msg.Subject(), '.')+1:]
	outcome, begin := "success", time.Now()
	defer func() {
		e.running.Add(-1)
		e.metrics.Running.Dec()
		e.metrics.ActionsRun.WithLabelValues(plugin, outcome).Inc()
		e.metrics.ActionSecs.WithLabelValues(plugin, req.Action).Observe(time.Since(begin).Seconds())
	}()

	if e.cancelled.has(req.ActionExecutionID) {
		// Cancelled while its request waited in the queue: the engine has
		// recorded that already, so there is nothing to run or report.
		e.log.Info("dropping the request of a cancelled action", "action", req.Action, "action_execution_id", req.ActionExecutionID)
		_ = msg.Ack()
		outcome = "cancelled"
		return
	}

	var output json.RawMessage
	var aerr *transport.ActionError
	if md, err := msg.Metadata(); err == nil && md.NumDelivered > 1 && !req.SafeRerun {
		// A host only receives what it starts at once (see
		// transport.ConsumeActions), so a second delivery means the first
		// host took the request and then stopped answering.
		e.log.Warn("action redelivered after its executor host was lost; not running it again (task is not safe-rerun)",
			"action", req.Action, "action_execution_id", req.ActionExecutionID, "deliveries", md.NumDelivered)
		aerr = &transport.ActionError{
			Type: transport.ErrTypeExecutorLost,
			Message: fmt.Sprintf("executor lost: the executor host running action %s stopped answering before it reported a result; "+
				"the task is not safe-rerun, so the action was not run again", req.Action),
		}
		outcome = "lost"
	} else {
		output, aerr = e.runWithHeartbeat(msg, &req)
		if aerr == nil && e.async(req.Action) {
			// An async action has only started: its result comes later
			// through the API (the callback URL), not from this host.
			_ = msg.Ack()
			outcome = "async_started"
			return
		}
		if aerr != nil && e.handingBack.Load() {
			// Cancelled by a stop whose grace ran out: give the request
			// back for another host rather than report the cancellation.
			// The delay outlasts this host's last pull request, so the
			// request cannot come straight back here.
			_ = msg.NakWithDelay(handBackDelay)
			outcome = "handed_back"
			return
		}
		if aerr != nil {
			outcome = "error"
		}
	}

	res := transport.ActionResult{
		V:                 transport.ProtocolVersion,
		ActionExecutionID: req.ActionExecutionID,
		ExecutionID:       req.ExecutionID,
		Attempt:           req.Attempt,
		Output:            output,
		Error:             aerr,
		Executor:          e.cfg.ID,
	}
	data, err := json.Marshal(res)
	if err != nil {
		res.Output, res.Error = nil, &transport.ActionError{Type: "InvalidOutput", Message: "the action's output cannot be encoded: " + err.Error()}
		data, _ = json.Marshal(res)
	}
	out := []transport.Outgoing{{
		Subject: e.cfg.Conn.ResultSubject(),
		MsgID:   fmt.Sprintf("result/%s/%d", req.ActionExecutionID, req.Attempt),
		Data:    data,
	}}
	// The action has run: keep trying to hand in its result rather than
	// giving the request back, which would run it again. The request stays
	// ours meanwhile (InProgress), up to a bound after which JetStream's
	// redelivery takes over.
	for attempt, wait := 1, 100*time.Millisecond; ; attempt++ {
		pctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := e.cfg.Conn.PublishAll(pctx, out)
		cancel()
		if err == nil {
			break
		}
		if attempt == 20 {
			e.log.Error("result not published; giving the request back", "action_execution_id", req.ActionExecutionID, "error", err)
			return
		}
		e.log.Warn("result not published yet; retrying", "action_execution_id", req.ActionExecutionID, "error", err)
		_ = msg.InProgress()
		time.Sleep(wait)
		wait = min(2*wait, 5*time.Second)
	}
	if err := msg.Ack(); err != nil {
		e.log.Warn("ack failed; the engine will drop the duplicate result", "error", err)
	}
}

// async reports whether action completes later through the API.
func (e *Executor) async(action string) bool {
	if _, ok := builtins[action]; ok {
		return builtinSpecs[action].Async
	}
	if e.cfg.Plugins == nil {
		return false
	}
	for _, p := range e.cfg.Plugins.Plugins() {
		for _, a := range p.Actions {
			if a.Name == action {
				return a.Async
			}
		}
	}
	return false
}

// runWithHeartbeat runs the action under its deadline and keeps the request
// ours while it runs: JetStream redelivers after AckWait without a sign of
// life, which is how a dead host's actions are found.
func (e *Executor) runWithHeartbeat(msg jetstream.Msg, req *transport.ActionRequest) (json.RawMessage, *transport.ActionError) {
	ctx := context.Background()
	var cancel context.CancelFunc
	if req.TimeoutSeconds > 0 {
		ctx, cancel = context.WithTimeout(ctx, time.Duration(req.TimeoutSeconds*float64(time.Second)))
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	defer cancel()
	stopBeat := make(chan struct{})
	defer close(stopBeat)
	go func() {
		t := time.NewTicker(transport.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-stopBeat:
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	return e.run(ctx, req)
}

// run executes the action and returns its output as JSON or its error.
func (e *Executor) run(ctx context.Context, req *transport.ActionRequest) (json.RawMessage, *transport.ActionError) {
	ctx, done := e.runs.track(ctx, req.ActionExecutionID) // a cancel request reaches the run here
	defer done()
	log := e.log.With("action", req.Action, "action_execution_id", req.ActionExecutionID)
	if fn, ok := builtins[req.Action]; ok {
		in, err := builtinInput(req.Input)
		if err != nil {
			return nil, &transport.ActionError{Type: "InvalidInput", Message: fmt.Sprintf("%s: input is not a JSON object: %v", req.Action, err)}
		}
		out, aerr := fn(ctx, in)
		if aerr != nil {
			log.Debug("action failed", "error", aerr.Message)
			return nil, aerr
		}
		b, err := json.Marshal(out)
		if err != nil {
			return nil, &transport.ActionError{Type: "InvalidOutput", Message: err.Error()}
		}
		return b, nil
	}
	if e.cfg.Plugins == nil {
		return nil, &transport.ActionError{Type: "UnknownAction", Message: fmt.Sprintf("action %q is not served by executor host %s", req.Action, e.cfg.ID)}
	}
	r := e.cfg.Plugins.Execute(ctx, pluginhost.Request{
		Action: req.Action,
		Input:  req.Input,
		Context: pluginhost.ExecContext{
			WorkflowName:        req.WorkflowName,
			WorkflowExecutionID: req.ExecutionID,
			TaskExecutionID:     req.TaskExecutionID,
			ActionExecutionID:   req.ActionExecutionID,
			Attempt:             req.Attempt,
			WithItemsIndex:      req.WithItemsIndex,
			CallbackURL:         req.CallbackURL,
		},
	})
	if r.Error != nil {
		log.Debug("action failed", "type", r.Error.Type, "error", r.Error.Message)
		return nil, &transport.ActionError{Type: r.Error.Type, Message: r.Error.Message, Data: r.Error.Data, Retryable: r.Error.Retryable}
	}
	return r.Output, nil
}
