// Package pluginhost is the executor host's side of the plugin protocol: it
// finds plugin binaries, launches each as one long-lived go-plugin process,
// learns what actions they serve, and runs actions on them.
//
// Every run's outcome is a Result. Failures of the machinery (an unknown
// action, a crashed or refused plugin, a deadline) are reported as action
// errors with stable types, because to a workflow they are failed actions
// like any other, and the executor should not need a second error path.
//
// Locking: Host.mu guards the routing tables, which only change in Start
// and Close; proc.mu guards one plugin's process handle and is held while
// that process is (re)launched. Host.mu is never taken while holding a
// proc.mu.
package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sirocco-wf/sirocco/pluginapi"
	pluginv1 "github.com/sirocco-wf/sirocco/pluginapi/v1"
)

// BinaryPrefix starts the file name of every plugin executable; the rest is
// the plugin's short name.
const BinaryPrefix = "sirocco-plugin-"

// DefaultMaxConcurrentRuns is the per-plugin run limit when Config leaves it
// zero: enough for I/O-bound plugins, low enough that one busy plugin
// cannot exhaust the host's file descriptors.
const DefaultMaxConcurrentRuns = 64

// Error types produced by the host itself. They are contract: workflows and
// the engine may branch on them.
const (
	ErrUnknownAction     = "UnknownAction"
	ErrPluginCrashed     = "PluginCrashed"
	ErrPluginUnavailable = "PluginUnavailable"
	ErrPluginRefused     = "PluginRefused"
	ErrPluginProtocol    = "PluginProtocolError"
	ErrActionTimeout     = "ActionTimeout"
	ErrActionCancelled   = "ActionCancelled"
	ErrHostClosed        = "HostClosed"
)

const (
	startTimeout    = 20 * time.Second // plugin process to handshake
	describeTimeout = 10 * time.Second // GetInfo + DescribeActions
	exitWait        = 2 * time.Second  // how long a broken stream waits for the process to be seen exiting
	closeTimeout    = 10 * time.Second // Close gives up waiting after this
	backoffBase     = 250 * time.Millisecond
	backoffMax      = 30 * time.Second
)

// Config configures a Host.
type Config struct {
	// Dirs are searched, in order, for executables named sirocco-plugin-*;
	// missing dirs are skipped. An earlier dir wins when two binaries serve
	// the same action.
	Dirs   []string
	Logger hclog.Logger
	// MaxConcurrentRuns bounds the runs in flight on each plugin process;
	// 0 means DefaultMaxConcurrentRuns. Further runs wait for a slot.
	MaxConcurrentRuns int
}

// PluginInfo describes one launched plugin binary.
type PluginInfo struct {
	Name, Version, SDKVersion, Path, SHA256 string
	Actions                                 []ActionInfo
}

// ActionInfo describes one action as its plugin reports it.
type ActionInfo struct {
	Name, Description              string
	InputSchema, OutputSchema      json.RawMessage
	Async, Cancellable, Idempotent bool
	DefaultTimeout                 time.Duration
}

// Request is one action run.
type Request struct {
	Action  string
	Input   json.RawMessage
	Context ExecContext
	// OnEvent, if set, receives the run's progress, log and heartbeat
	// events, in order, on the calling goroutine's behalf; it must not block
	// for long.
	OnEvent func(Event)
}

// ExecContext identifies the run to the plugin.
type ExecContext struct {
	WorkflowExecutionID, TaskExecutionID, ActionExecutionID string
	Attempt                                                 int
	WithItemsIndex                                          int
	CallbackURL                                             string
}

// Event is a non-final event of a run. Kind is "progress", "log" or
// "heartbeat".
type Event struct {
	Kind    string
	Percent float64
	Message string
	Level   string
}

// Result is a run's outcome: Output when it succeeded, Error when it failed.
type Result struct {
	Output json.RawMessage
	Error  *ActionError
}

// ActionError is a failed run, from the action or from the machinery.
type ActionError struct {
	Type, Message string
	Data          json.RawMessage
	Retryable     bool
}

func (e *ActionError) Error() string { return e.Type + ": " + e.Message }

// Host runs plugin processes for one executor host.
type Host struct {
	cfg Config
	log hclog.Logger

	mu       sync.RWMutex
	procs    []*proc          // launched plugins in discovery order
	byAction map[string]*proc // routing: first dir wins
	closed   bool
}

// New returns a Host; nothing runs until Start.
func New(cfg Config) *Host {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.MaxConcurrentRuns <= 0 {
		cfg.MaxConcurrentRuns = DefaultMaxConcurrentRuns
	}
	return &Host{
		cfg:      cfg,
		log:      cfg.Logger.Named("pluginhost"),
		byAction: map[string]*proc{},
	}
}

// Start discovers and launches every plugin binary. A binary that fails to
// start is logged and skipped: one bad plugin must not keep a host from
// serving the others. Start fails only when ctx ends or the host is closed.
func (h *Host) Start(ctx context.Context) error {
	for _, path := range h.discover() {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("pluginhost: start: %w", err)
		}
		p, err := h.startOne(ctx, path)
		if err != nil {
			h.log.Error("plugin failed to start; skipping it", "path", path, "error", err)
			continue
		}
		if !h.register(p) {
			p.close()
		}
	}
	h.mu.RLock()
	closed := h.closed
	h.mu.RUnlock()
	if closed {
		return errors.New("pluginhost: host closed during start")
	}
	return nil
}

// discover lists plugin executables in Config.Dirs order.
func (h *Host) discover() []string {
	var paths []string
	for _, dir := range h.cfg.Dirs {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			h.log.Debug("plugin dir does not exist; skipping", "dir", dir)
			continue
		}
		if err != nil {
			h.log.Error("cannot read plugin dir; skipping", "dir", dir, "error", err)
			continue
		}
		for _, e := range entries { // ReadDir sorts by name
			if !strings.HasPrefix(e.Name(), BinaryPrefix) || e.IsDir() {
				continue
			}
			path := filepath.Join(dir, e.Name())
			fi, err := os.Stat(path) // follows symlinks, as exec does
			if err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
				h.log.Warn("ignoring plugin file that is not an executable regular file", "path", path)
				continue
			}
			paths = append(paths, path)
		}
	}
	return paths
}

// startOne hashes, launches and interrogates one binary.
func (h *Host) startOne(ctx context.Context, path string) (*proc, error) {
	sum, err := fileSHA256(path)
	if err != nil {
		return nil, err
	}
	short := strings.TrimPrefix(filepath.Base(path), BinaryPrefix)
	p := &proc{
		path:    path,
		sum:     sum,
		sem:     make(chan struct{}, h.cfg.MaxConcurrentRuns),
		log:     h.log.With("plugin", short, "path", path),
		plugLog: pluginLogger{h.cfg.Logger.Named("plugin." + short)},
		closing: make(chan struct{}),
	}
	client, rpc, err := p.launch()
	if err != nil {
		return nil, err
	}
	p.client, p.rpc = client, rpc

	ctx, cancel := context.WithTimeout(ctx, describeTimeout)
	defer cancel()
	info, err := rpc.GetInfo(ctx, &pluginv1.GetInfoRequest{})
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("GetInfo: %w", err)
	}
	desc, err := rpc.DescribeActions(ctx, &pluginv1.DescribeActionsRequest{})
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("DescribeActions: %w", err)
	}
	p.info = PluginInfo{
		Name:       info.GetName(),
		Version:    info.GetVersion(),
		SDKVersion: info.GetSdkVersion(),
		Path:       path,
		SHA256:     hex.EncodeToString(sum),
	}
	p.specs = map[string]ActionInfo{}
	for _, a := range desc.GetActions() {
		ai := ActionInfo{
			Name:           a.GetName(),
			Description:    a.GetDescription(),
			InputSchema:    json.RawMessage(a.GetInputSchema()),
			OutputSchema:   json.RawMessage(a.GetOutputSchema()),
			Async:          a.GetAsync(),
			Cancellable:    a.GetCancellable(),
			Idempotent:     a.GetIdempotent(),
			DefaultTimeout: a.GetDefaultTimeout().AsDuration(),
		}
		p.info.Actions = append(p.info.Actions, ai)
		p.specs[ai.Name] = ai
	}
	if p.info.Name == "" {
		client.Kill()
		return nil, errors.New("plugin reported no name")
	}
	p.log = h.log.With("plugin", p.info.Name, "path", path)
	p.log.Info("plugin started", "version", p.info.Version, "sdk_version", p.info.SDKVersion,
		"sha256", p.info.SHA256, "actions", len(p.info.Actions))
	return p, nil
}

// register adds p to the routing tables; false means p was not kept.
func (h *Host) register(p *proc) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	for _, q := range h.procs {
		if q.info.Name == p.info.Name {
			h.log.Error("two binaries claim the same plugin name; keeping the first",
				"plugin", p.info.Name, "kept", q.path, "skipped", p.path)
			return false
		}
	}
	h.procs = append(h.procs, p)
	for _, a := range p.info.Actions {
		if q, ok := h.byAction[a.Name]; ok {
			h.log.Warn("action served by two plugins; the first found wins",
				"action", a.Name, "winner", q.path, "shadowed", p.path)
			continue
		}
		h.byAction[a.Name] = p
	}
	return true
}

// Plugins lists the launched plugins in discovery order.
func (h *Host) Plugins() []PluginInfo {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]PluginInfo, 0, len(h.procs))
	for _, p := range h.procs {
		info := p.info
		info.Actions = append([]ActionInfo(nil), p.info.Actions...)
		out = append(out, info)
	}
	return out
}

// PluginFor names the plugin that serves action on this host.
func (h *Host) PluginFor(action string) (plugin string, ok bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	p, ok := h.byAction[action]
	if !ok {
		return "", false
	}
	return p.info.Name, true
}

// Execute runs one action and waits for its result. ctx's deadline becomes
// the run's gRPC deadline (the action's default timeout applies when ctx
// has none); cancelling ctx cancels the run in the plugin.
func (h *Host) Execute(ctx context.Context, req Request) Result {
	h.mu.RLock()
	p, ok := h.byAction[req.Action]
	closed := h.closed
	h.mu.RUnlock()
	if closed {
		return failed(ErrHostClosed, "the executor host is shutting down", true)
	}
	if !ok {
		return failed(ErrUnknownAction, fmt.Sprintf("no plugin on this executor host serves action %q", req.Action), false)
	}
	if spec := p.specs[req.Action]; spec.DefaultTimeout > 0 {
		if _, has := ctx.Deadline(); !has {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, spec.DefaultTimeout)
			defer cancel()
		}
	}
	start := time.Now()

	select {
	case p.sem <- struct{}{}:
		defer func() { <-p.sem }()
	case <-ctx.Done():
		return ctxFailed(ctx, req.Action, start, "while waiting for a free slot on plugin "+p.info.Name)
	}

	client, rpc, err := p.ensure(ctx)
	if err != nil {
		var ae *ActionError
		if errors.As(err, &ae) {
			return Result{Error: ae}
		}
		if ctx.Err() != nil {
			return ctxFailed(ctx, req.Action, start, "while starting plugin "+p.info.Name)
		}
		return failed(ErrPluginUnavailable, fmt.Sprintf("plugin %q (%s) cannot be started: %v", p.info.Name, p.path, err), true)
	}

	stream, err := rpc.Execute(ctx, &pluginv1.ExecuteRequest{
		Action: req.Action,
		Input:  req.Input,
		Context: &pluginv1.ExecutionContext{
			WorkflowExecutionId: req.Context.WorkflowExecutionID,
			TaskExecutionId:     req.Context.TaskExecutionID,
			ActionExecutionId:   req.Context.ActionExecutionID,
			Attempt:             int32(req.Context.Attempt),
			WithItemsIndex:      int32(req.Context.WithItemsIndex),
			CallbackUrl:         req.Context.CallbackURL,
		},
	})
	if err != nil {
		return p.streamFailed(ctx, client, req.Action, start, err)
	}
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return failed(ErrPluginProtocol, fmt.Sprintf("plugin %q ended action %s without a result", p.info.Name, req.Action), true)
		}
		if err != nil {
			return p.streamFailed(ctx, client, req.Action, start, err)
		}
		switch e := ev.GetEvent().(type) {
		case *pluginv1.ExecuteEvent_Completed:
			p.ranOK()
			return completed(e.Completed)
		case *pluginv1.ExecuteEvent_Progress:
			emit(req.OnEvent, Event{Kind: "progress", Percent: e.Progress.GetPercent(), Message: e.Progress.GetMessage()})
		case *pluginv1.ExecuteEvent_Log:
			emit(req.OnEvent, Event{Kind: "log", Level: e.Log.GetLevel(), Message: e.Log.GetMessage()})
		case *pluginv1.ExecuteEvent_Heartbeat:
			emit(req.OnEvent, Event{Kind: "heartbeat"})
		}
		// Started and events of later minor versions need nothing here.
	}
}

func emit(fn func(Event), ev Event) {
	if fn != nil {
		fn(ev)
	}
}

func completed(c *pluginv1.Completed) Result {
	switch r := c.GetResult().(type) {
	case *pluginv1.Completed_Output:
		out := r.Output
		if len(out) == 0 {
			out = json.RawMessage("null")
		}
		return Result{Output: out}
	case *pluginv1.Completed_Error:
		return Result{Error: &ActionError{
			Type:      r.Error.GetType(),
			Message:   r.Error.GetMessage(),
			Data:      r.Error.GetData(),
			Retryable: r.Error.GetRetryable(),
		}}
	}
	return failed(ErrPluginProtocol, "plugin completed the run with neither output nor error", false)
}

func failed(typ, msg string, retryable bool) Result {
	return Result{Error: &ActionError{Type: typ, Message: msg, Retryable: retryable}}
}

func ctxFailed(ctx context.Context, action string, start time.Time, where string) Result {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return failed(ErrActionTimeout, fmt.Sprintf("action %s timed out after %s %s",
			action, time.Since(start).Round(time.Millisecond), where), false)
	}
	return failed(ErrActionCancelled, fmt.Sprintf("action %s was cancelled %s", action, where), false)
}

// Close kills every plugin process. It waits at most about closeTimeout:
// go-plugin gives each process two seconds to exit before killing it, and
// they are closed in parallel.
func (h *Host) Close() {
	h.mu.Lock()
	h.closed = true
	procs := h.procs
	h.mu.Unlock()

	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Go(p.close)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(closeTimeout):
		h.log.Error("plugins did not stop in time; leaving them", "timeout", closeTimeout)
	}
}

func fileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("hash plugin binary: %w", err)
	}
	defer f.Close()
	hash := sha256.New()
	if _, err := io.Copy(hash, f); err != nil {
		return nil, fmt.Errorf("hash plugin binary %s: %w", path, err)
	}
	return hash.Sum(nil), nil
}

// pluginLogger keeps go-plugin from renaming the plugin's forwarded log
// lines after the binary file; they stay under plugin.<name>.
type pluginLogger struct{ hclog.Logger }

func (l pluginLogger) Named(string) hclog.Logger { return l.Logger }

// proc is one plugin binary and its current process.
type proc struct {
	path    string
	sum     []byte
	info    PluginInfo            // fixed after Start
	specs   map[string]ActionInfo // fixed after Start
	sem     chan struct{}
	log     hclog.Logger
	plugLog hclog.Logger
	closing chan struct{}
	once    sync.Once

	mu       sync.Mutex
	client   *plugin.Client // nil when not running
	rpc      pluginv1.PluginClient
	failures int       // consecutive crashes and failed launches
	retryAt  time.Time // no relaunch before this
	closed   bool
}

// launch starts the binary. go-plugin checks its sha256 against the one
// taken at discovery before running it, so a binary replaced behind the
// host's back is refused at its next launch.
func (p *proc) launch() (*plugin.Client, pluginv1.PluginClient, error) {
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginapi.Handshake,
		VersionedPlugins: pluginapi.ClientPlugins(),
		Cmd:              exec.Command(p.path),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SecureConfig:     &plugin.SecureConfig{Checksum: p.sum, Hash: sha256.New()},
		Managed:          true,
		StartTimeout:     startTimeout,
		Logger:           p.plugLog,
		GRPCDialOptions:  pluginapi.DialOptions(),
	})
	cp, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, nil, fmt.Errorf("launch %s: %w", p.path, err)
	}
	raw, err := cp.Dispense(pluginapi.PluginName)
	if err != nil {
		client.Kill()
		return nil, nil, fmt.Errorf("dispense from %s: %w", p.path, err)
	}
	rpc, ok := raw.(pluginv1.PluginClient)
	if !ok {
		client.Kill()
		return nil, nil, fmt.Errorf("plugin %s dispensed %T, not a v1 client", p.path, raw)
	}
	return client, rpc, nil
}

// ensure returns a running process, relaunching a dead one. Consecutive
// failures back off exponentially (the first relaunch is immediate) so a
// plugin that crashes on start does not spin the host.
func (p *proc) ensure(ctx context.Context) (*plugin.Client, pluginv1.PluginClient, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, nil, &ActionError{Type: ErrHostClosed, Message: "the executor host is shutting down", Retryable: true}
	}
	if p.client != nil && !p.client.Exited() {
		return p.client, p.rpc, nil
	}
	if p.client != nil {
		p.log.Error("plugin process has exited; restarting it")
		p.client.Kill() // reap and release its resources
		p.client, p.rpc = nil, nil
		p.failed()
	}
	if wait := time.Until(p.retryAt); wait > 0 {
		p.log.Warn("waiting before restarting plugin", "backoff", wait)
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-p.closing:
			return nil, nil, &ActionError{Type: ErrHostClosed, Message: "the executor host is shutting down", Retryable: true}
		}
	}
	client, rpc, err := p.launch()
	if err != nil {
		p.failed()
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			p.log.Error("REFUSING plugin binary: its sha256 changed since it was discovered",
				"expected_sha256", p.info.SHA256, "error", err)
			return nil, nil, &ActionError{
				Type: ErrPluginRefused,
				Message: fmt.Sprintf("plugin %q: binary %s changed since it was discovered (sha256 is no longer %s); refusing to run it",
					p.info.Name, p.path, p.info.SHA256),
			}
		}
		p.log.Error("plugin failed to restart", "error", err, "failures", p.failures)
		return nil, nil, err
	}
	p.log.Info("plugin restarted")
	p.client, p.rpc = client, rpc
	return client, rpc, nil
}

// failed records a crash or failed launch and schedules the next attempt.
// Callers hold p.mu.
func (p *proc) failed() {
	p.failures++
	backoff := time.Duration(0)
	if p.failures > 1 {
		backoff = backoffBase << min(p.failures-2, 16)
		backoff = min(backoff, backoffMax)
	}
	p.retryAt = time.Now().Add(backoff)
}

// ranOK resets the back-off after a run that completed.
func (p *proc) ranOK() {
	p.mu.Lock()
	p.failures = 0
	p.mu.Unlock()
}

// streamFailed explains a broken Execute stream: our deadline or
// cancellation, the plugin process dying under the run, or a protocol error.
func (p *proc) streamFailed(ctx context.Context, client *plugin.Client, action string, start time.Time, err error) Result {
	code := status.Code(err)
	if ctx.Err() != nil || code == codes.DeadlineExceeded {
		if ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return failed(ErrActionTimeout, fmt.Sprintf("action %s timed out after %s", action, time.Since(start).Round(time.Millisecond)), false)
		}
		return ctxFailed(ctx, action, start, "while running")
	}
	if dead := exited(client, exitWait); dead || code == codes.Unavailable || code == codes.Canceled {
		p.log.Error("plugin process died while running an action", "action", action, "error", err)
		if !dead {
			// A process whose connection broke is useless even if it
			// still runs; kill it so the next run relaunches it.
			client.Kill()
		}
		return failed(ErrPluginCrashed, fmt.Sprintf("plugin %q (%s) crashed while running action %s: %v; it will be restarted",
			p.info.Name, p.path, action, err), true)
	}
	return failed(ErrPluginProtocol, fmt.Sprintf("plugin %q failed running action %s: %v", p.info.Name, action, err), true)
}

// exited waits up to d for go-plugin to notice that the process ended; the
// broken stream usually arrives a moment before the exit is reaped.
func exited(c *plugin.Client, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if c.Exited() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// close kills the process and stops relaunches.
func (p *proc) close() {
	p.once.Do(func() { close(p.closing) })
	p.mu.Lock()
	p.closed = true
	client := p.client
	p.client, p.rpc = nil, nil
	p.mu.Unlock()
	if client != nil {
		client.Kill()
	}
}
