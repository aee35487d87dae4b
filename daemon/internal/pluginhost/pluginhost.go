// Package pluginhost is the executor host's side of the plugin protocol: it
// finds plugin binaries, launches each as one long-lived go-plugin process,
// learns what actions they serve, and runs actions on them.
//
// Plugin directories and their catalog: a directory that holds a catalog
// file (CatalogFile, written by `sirocco plugin install`) is managed: the
// host runs exactly the binaries the catalog lists, each pinned to the
// sha256 recorded at install time, and refuses, loudly and at every launch,
// a binary whose hash no longer matches. A sirocco-plugin-* binary in a
// managed directory that the catalog does not list is not run; the host
// logs a warning naming it. A directory without a catalog is a development
// directory (`go build -o DIR/sirocco-plugin-x`): every plugin binary in it
// runs, pinned to the sha256 it had when the host first saw it, and the host
// warns once that the directory is unmanaged.
//
// The host watches its directories (Config.WatchInterval): a new, upgraded
// or removed catalog entry (or binary, in a development directory) is
// started, swapped or stopped without a restart, and Changes signals the
// executor to re-announce its actions.
//
// Every run's outcome is a Result. Failures of the machinery (an unknown
// action, a crashed or refused plugin, a deadline) are reported as action
// errors with stable types, because to a workflow they are failed actions
// like any other, and the executor should not need a second error path.
//
// Locking: Host.mu guards the routing tables, which change in Start,
// Reload and Close; Host.reloadMu serialises Start and Reload; proc.mu guards one plugin's process handle and is held while
// that process is (re)launched. Host.mu is never taken while holding a
// proc.mu.
package pluginhost

import (
	"bytes"
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
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sirocco-wf/sirocco/daemon/internal/metrics"
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
	probeTimeout    = time.Second      // a plugin that does not answer GetInfo in this time is hung
	exitWait        = 2 * time.Second  // how long a broken stream waits for the process to be seen exiting
	killWait        = 2 * time.Second  // Kill gives a process this long to exit before it is force-killed
	closeTimeout    = 10 * time.Second // Close gives up waiting after this
	drainTimeout    = 30 * time.Second // a replaced plugin's runs get this long to finish
	backoffBase     = 250 * time.Millisecond
	backoffMax      = 30 * time.Second

	// DefaultWatchInterval is how often the host looks for installed,
	// upgraded and removed plugins when Config.WatchInterval is zero.
	DefaultWatchInterval = 2 * time.Second
)

// Health values of a plugin, as Plugins reports them.
const (
	HealthOK         = "ok"         // the process runs
	HealthRestarting = "restarting" // the process died; the next run relaunches it (with back-off)
	HealthRefused    = "refused"    // the binary does not match its sha256; it is not run
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
	// WatchInterval is how often Dirs are checked for changes; 0 means
	// DefaultWatchInterval, a negative value turns watching off (Reload
	// still works).
	WatchInterval time.Duration
	// Metrics, when set, counts plugin restarts; nil counts nowhere.
	Metrics *metrics.PluginHost
}

// PluginInfo describes one launched plugin binary.
type PluginInfo struct {
	Name, Version, SDKVersion, Path, SHA256 string
	// Protocol is the negotiated plugin protocol, "major.minor".
	Protocol string
	// Health is HealthOK, HealthRestarting or HealthRefused.
	Health  string
	Actions []ActionInfo
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
	WorkflowName                                            string
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

	// closeCtx ends with Close, cancelling the runs in flight so that
	// their processes stop promptly.
	closeCtx    context.Context
	closeCancel context.CancelFunc
	changes     chan struct{}
	watchDone   chan struct{}
	warned      map[string]bool // paths already warned about; guarded by reloadMu

	reloadMu sync.Mutex // serialises Start and Reload
	mu       sync.RWMutex
	procs    []*proc          // launched plugins in discovery order
	refused  []PluginInfo     // catalog entries whose binary does not match
	byAction map[string]*proc // routing: first dir wins
	closed   bool
	retired  sync.WaitGroup // replaced procs still draining
}

// New returns a Host; nothing runs until Start.
func New(cfg Config) *Host {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.MaxConcurrentRuns <= 0 {
		cfg.MaxConcurrentRuns = DefaultMaxConcurrentRuns
	}
	if cfg.WatchInterval == 0 {
		cfg.WatchInterval = DefaultWatchInterval
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.NewPluginHost(prometheus.NewRegistry())
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Host{
		cfg:         cfg,
		log:         cfg.Logger.Named("pluginhost"),
		closeCtx:    ctx,
		closeCancel: cancel,
		changes:     make(chan struct{}, 1),
		warned:      map[string]bool{},
		byAction:    map[string]*proc{},
	}
}

// Start discovers and launches every plugin binary, then watches the
// directories for changes until Close. A binary that fails to start is
// logged and skipped: one bad plugin must not keep a host from serving the
// others. Start fails only when ctx ends or the host is closed.
func (h *Host) Start(ctx context.Context) error {
	if _, err := h.Reload(ctx); err != nil {
		return err
	}
	if h.cfg.WatchInterval > 0 {
		h.mu.Lock()
		if !h.closed && h.watchDone == nil {
			h.watchDone = make(chan struct{})
			go h.watch(h.watchDone)
		}
		h.mu.Unlock()
	}
	return nil
}

// Changes is signalled (without blocking; one pending signal at most) each
// time Reload changed the set of plugins or actions, so the executor can
// bind to new plugins and re-announce its actions.
func (h *Host) Changes() <-chan struct{} { return h.changes }

// watch reloads whenever the directories' fingerprint changes.
func (h *Host) watch(done chan struct{}) {
	defer close(done)
	last := h.fingerprint()
	t := time.NewTicker(h.cfg.WatchInterval)
	defer t.Stop()
	for {
		select {
		case <-h.closeCtx.Done():
			return
		case <-t.C:
		}
		fp := h.fingerprint()
		if fp == last {
			continue
		}
		last = fp
		h.log.Info("plugin directory changed; reloading plugins")
		if _, err := h.Reload(h.closeCtx); err != nil && h.closeCtx.Err() == nil {
			h.log.Error("plugin reload failed", "error", err)
		}
	}
}

// fingerprint summarises what Reload would read: each directory's catalog
// file, or its plugin binaries when it has no catalog.
func (h *Host) fingerprint() string {
	var b strings.Builder
	for _, dir := range h.cfg.Dirs {
		fmt.Fprintf(&b, "%s\n", dir)
		if fi, err := os.Stat(filepath.Join(dir, CatalogFile)); err == nil {
			fmt.Fprintf(&b, "catalog %d %d\n", fi.Size(), fi.ModTime().UnixNano())
			continue
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), BinaryPrefix) {
				continue
			}
			if fi, err := e.Info(); err == nil {
				fmt.Fprintf(&b, "%s %d %d\n", e.Name(), fi.Size(), fi.ModTime().UnixNano())
			}
		}
	}
	return b.String()
}

// candidate is a binary discovery found, with the sha256 it must have.
type candidate struct {
	path string
	sum  []byte // from the catalog; nil in a development directory
	// entry is the catalog entry, when there is one.
	entry *CatalogEntry
}

// Reload re-reads the plugin directories and makes the running plugins
// match them: it launches new binaries, replaces upgraded ones (a changed
// catalog sha256, or a changed file in a development directory) and stops
// removed ones. Runs in flight on a replaced or removed plugin finish on its
// old process. It reports whether the set of plugins or actions changed,
// and signals Changes when it did.
func (h *Host) Reload(ctx context.Context) (bool, error) {
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()

	h.mu.RLock()
	current := map[string]*proc{}
	for _, p := range h.procs {
		current[p.path] = p
	}
	h.mu.RUnlock()

	var next []*proc
	var refused []PluginInfo
	var started []*proc
	for _, c := range h.discover() {
		if err := ctx.Err(); err != nil {
			for _, p := range started {
				p.close()
			}
			return false, fmt.Errorf("pluginhost: start: %w", err)
		}
		sum := c.sum
		if sum == nil {
			var err error
			if sum, err = fileSHA256(c.path); err != nil {
				h.log.Error("cannot hash plugin binary; skipping it", "path", c.path, "error", err)
				continue
			}
		}
		if old, ok := current[c.path]; ok && bytes.Equal(old.sum, sum) {
			next = append(next, old)
			continue
		}
		if c.entry != nil {
			actual, err := fileSHA256(c.path)
			if err != nil || !bytes.Equal(actual, sum) {
				h.log.Error("REFUSING plugin binary: its sha256 does not match the catalog; reinstall it with `sirocco plugin install`",
					"plugin", c.entry.Name, "path", c.path, "catalog_sha256", c.entry.SHA256,
					"actual_sha256", hex.EncodeToString(actual), "error", err)
				refused = append(refused, PluginInfo{
					Name: c.entry.Name, Version: c.entry.Version, SDKVersion: c.entry.SDKVersion,
					Protocol: c.entry.Protocol, Path: c.path, SHA256: c.entry.SHA256, Health: HealthRefused,
				})
				continue
			}
		}
		p, err := h.startOne(ctx, c.path, sum)
		if err != nil {
			h.log.Error("plugin failed to start; skipping it", "path", c.path, "error", err)
			continue
		}
		if c.entry != nil && c.entry.Name != p.info.Name {
			h.log.Error("plugin reports a name other than its catalog entry; skipping it",
				"path", c.path, "catalog_name", c.entry.Name, "reported_name", p.info.Name)
			p.close()
			continue
		}
		started = append(started, p)
		next = append(next, p)
	}

	// Build the new routing: first plugin of a name wins, first plugin of
	// an action wins.
	byName := map[string]*proc{}
	byAction := map[string]*proc{}
	var kept []*proc
	for _, p := range next {
		if q, dup := byName[p.info.Name]; dup {
			h.log.Error("two binaries claim the same plugin name; keeping the first",
				"plugin", p.info.Name, "kept", q.path, "skipped", p.path)
			continue
		}
		byName[p.info.Name] = p
		kept = append(kept, p)
		for _, a := range p.info.Actions {
			if q, ok := byAction[a.Name]; ok {
				if !h.warned["shadow "+a.Name+" "+p.path] {
					h.warned["shadow "+a.Name+" "+p.path] = true
					h.log.Warn("action served by two plugins; the first found wins",
						"action", a.Name, "winner", q.path, "shadowed", p.path)
				}
				continue
			}
			byAction[a.Name] = p
		}
	}
	keep := map[*proc]bool{}
	for _, p := range kept {
		keep[p] = true
	}

	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		for _, p := range started {
			p.close()
		}
		return false, errors.New("pluginhost: host closed during start")
	}
	old := h.procs
	changed := !sameRouting(h.byAction, byAction) || len(old) != len(kept) || len(h.refused) != len(refused)
	for i := range kept {
		if i < len(old) && old[i] != kept[i] {
			changed = true
		}
	}
	h.procs, h.byAction, h.refused = kept, byAction, refused
	h.mu.Unlock()

	for _, p := range started {
		if !keep[p] {
			p.close()
		}
	}
	for _, p := range old {
		if !keep[p] {
			p.log.Info("plugin removed or replaced; stopping it once its runs finish")
			h.retired.Add(1)
			go func() { defer h.retired.Done(); p.retire(h.closeCtx) }()
		}
	}
	if changed {
		select {
		case h.changes <- struct{}{}:
		default:
		}
	}
	return changed, nil
}

func sameRouting(a, b map[string]*proc) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// discover lists plugin executables in Config.Dirs order, each with the
// sha256 its directory's catalog requires (see the package comment).
func (h *Host) discover() []candidate {
	var out []candidate
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
		cat, err := ReadCatalog(dir)
		if err != nil {
			h.log.Error("plugin catalog unreadable; running no plugin of this dir", "dir", dir, "error", err)
			continue
		}
		listed := map[string]*CatalogEntry{}
		if cat != nil {
			for i := range cat.Plugins {
				listed[cat.Plugins[i].File] = &cat.Plugins[i]
			}
		}
		for _, e := range entries { // ReadDir sorts by name
			if !strings.HasPrefix(e.Name(), BinaryPrefix) || e.IsDir() {
				continue
			}
			path := filepath.Join(dir, e.Name())
			entry := listed[e.Name()]
			if cat != nil && entry == nil {
				h.warnOnce(path, "plugin binary is not in its directory's catalog; not running it (install it with `sirocco plugin install`)",
					"path", path, "catalog", filepath.Join(dir, CatalogFile))
				continue
			}
			fi, err := os.Stat(path) // follows symlinks, as exec does
			if err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
				h.warnOnce(path, "ignoring plugin file that is not an executable regular file", "path", path)
				continue
			}
			c := candidate{path: path, entry: entry}
			if entry != nil {
				sum, err := hex.DecodeString(entry.SHA256)
				if err != nil {
					h.log.Error("catalog sha256 is not hex; skipping the plugin", "path", path, "error", err)
					continue
				}
				c.sum = sum
			}
			out = append(out, c)
		}
		if cat == nil && len(entries) > 0 {
			h.warnOnce(dir, "plugin dir has no catalog; running every plugin binary in it as found (use `sirocco plugin install` to pin them)",
				"dir", dir)
		}
		if cat != nil {
			for file, e := range listed {
				if _, err := os.Stat(filepath.Join(dir, file)); err != nil {
					h.warnOnce(filepath.Join(dir, file), "catalog lists a plugin whose binary is missing", "plugin", e.Name, "path", filepath.Join(dir, file))
				}
			}
		}
	}
	return out
}

// warnOnce logs a warning about key the first time only, so the watcher
// does not repeat it every interval. Callers hold reloadMu.
func (h *Host) warnOnce(key, msg string, args ...any) {
	if h.warned[key] {
		return
	}
	h.warned[key] = true
	h.log.Warn(msg, args...)
}

// startOne launches and interrogates one binary pinned to sum.
func (h *Host) startOne(ctx context.Context, path string, sum []byte) (*proc, error) {
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
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			h.log.Error("REFUSING plugin binary: its sha256 changed", "path", path, "error", err)
		}
		return nil, err
	}
	p.client, p.rpc = client, rpc
	info, err := describe(ctx, rpc, path, sum, client.NegotiatedVersion())
	if err != nil {
		killBounded(client)
		return nil, err
	}
	p.info = info
	p.specs = map[string]ActionInfo{}
	for _, a := range info.Actions {
		p.specs[a.Name] = a
	}
	p.log = h.log.With("plugin", p.info.Name, "path", path)
	p.restarts = h.cfg.Metrics.Restarts.WithLabelValues(p.info.Name)
	p.log.Info("plugin started", "version", p.info.Version, "sdk_version", p.info.SDKVersion,
		"protocol", p.info.Protocol, "sha256", p.info.SHA256, "actions", len(p.info.Actions))
	return p, nil
}

// Plugins lists the plugins in discovery order, then the refused ones.
func (h *Host) Plugins() []PluginInfo {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]PluginInfo, 0, len(h.procs)+len(h.refused))
	for _, p := range h.procs {
		info := p.info
		info.Actions = append([]ActionInfo(nil), p.info.Actions...)
		info.Health = p.health()
		out = append(out, info)
	}
	return append(out, h.refused...)
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
	// Close cancels every run, so a closing host's plugins stop promptly.
	ctx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	stopAfter := context.AfterFunc(h.closeCtx, cancelRun)
	defer stopAfter()
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
			WorkflowName:        req.Context.WorkflowName,
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

// Close cancels every run in flight and kills every plugin process. It
// waits at most about closeTimeout: each process gets killWait to exit
// after its runs were cancelled before it is killed, and they are closed in
// parallel.
func (h *Host) Close() {
	h.mu.Lock()
	h.closed = true
	procs := h.procs
	watchDone := h.watchDone
	h.mu.Unlock()
	h.closeCancel()
	if watchDone != nil {
		<-watchDone
	}
	// A Reload in progress finishes (it sees closed and stops what it
	// started) before the procs are closed.
	h.reloadMu.Lock()
	h.mu.Lock()
	procs = h.procs
	h.mu.Unlock()
	h.reloadMu.Unlock()

	var wg sync.WaitGroup
	wg.Go(h.retired.Wait)
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

var nullLogger = hclog.NewNullLogger()

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

	restarts prometheus.Counter // relaunches after the process died

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
	cmd := exec.Command(p.path)
	// The process must not outlive the host, even a SIGKILLed one.
	setParentDeathSignal(cmd)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginapi.Handshake,
		VersionedPlugins: pluginapi.ClientPlugins(),
		Cmd:              cmd,
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
		killBounded(client)
		return nil, nil, fmt.Errorf("launch %s: %w", p.path, err)
	}
	raw, err := cp.Dispense(pluginapi.PluginName)
	if err != nil {
		killBounded(client)
		return nil, nil, fmt.Errorf("dispense from %s: %w", p.path, err)
	}
	rpc, ok := raw.(pluginv1.PluginClient)
	if !ok {
		killBounded(client)
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
		p.restarts.Inc()
		killBounded(p.client) // reap and release its resources
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
			p.probe(client, action)
			return failed(ErrActionTimeout, fmt.Sprintf("action %s timed out after %s", action, time.Since(start).Round(time.Millisecond)), false)
		}
		return ctxFailed(ctx, action, start, "while running")
	}
	if dead := exited(client, exitWait); dead || code == codes.Unavailable || code == codes.Canceled {
		p.log.Error("plugin process died while running an action", "action", action, "error", err)
		if !dead {
			// A process whose connection broke is useless even if it
			// still runs; kill it so the next run relaunches it.
			killBounded(client)
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
		killBounded(client)
	}
}

// retire closes p once its runs in flight have finished (a replaced or
// removed plugin), or at the latest after drainTimeout or when ctx ends.
func (p *proc) retire(ctx context.Context) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	deadline := time.Now().Add(drainTimeout)
	for len(p.sem) > 0 && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			deadline = time.Now()
		case <-t.C:
		}
	}
	p.close()
}

// health says whether p's process runs.
func (p *proc) health() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client != nil && !p.client.Exited() {
		return HealthOK
	}
	return HealthRestarting
}

// probe checks, after a run timed out, that the plugin still answers. A
// process that does not answer GetInfo within probeTimeout is hung (not
// just running a slow action): it is killed, its other runs fail, and the
// next run starts a fresh process.
func (p *proc) probe(client *plugin.Client, action string) {
	p.mu.Lock()
	rpc := p.rpc
	current := p.client == client
	p.mu.Unlock()
	if !current || rpc == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	if _, err := rpc.GetInfo(ctx, &pluginv1.GetInfoRequest{}); err == nil {
		return
	}
	p.log.Error("plugin does not answer after a run timed out; killing it so the next run restarts it",
		"action", action, "probe_timeout", probeTimeout)
	p.mu.Lock()
	if p.client == client {
		p.client, p.rpc = nil, nil
		p.failed()
	}
	p.mu.Unlock()
	if rc := client.ReattachConfig(); rc != nil && rc.Pid > 0 {
		_ = syscall.Kill(rc.Pid, syscall.SIGKILL) // no graceful exit for a hung process
	}
	killBounded(client)
}

// killBounded kills a plugin process without waiting more than about
// killWait for it: go-plugin's Kill asks the process to exit and waits
// two seconds, then kills it; a process that is stopped or wedged in the
// kernel could keep Kill waiting on its pipes, so the host stops waiting.
func killBounded(c *plugin.Client) {
	done := make(chan struct{})
	go func() { c.Kill(); close(done) }()
	select {
	case <-done:
	case <-time.After(killWait + time.Second):
		if pid := c.ReattachConfig(); pid != nil && pid.Pid > 0 {
			_ = syscall.Kill(pid.Pid, syscall.SIGKILL)
		}
		<-done
	}
}
