// Package workload holds the benchmark's workloads. Each drives a server
// only through the /v2 API (so it runs against Sirocco and the real
// Mistral alike), times from the client's side, and, on a Sirocco daemon
// the benchmark runs, measures its floor in the same run.
package workload

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/sirocco-wf/sirocco/bench/internal/daemon"
	"github.com/sirocco-wf/sirocco/bench/internal/floor"
	"github.com/sirocco-wf/sirocco/bench/internal/report"
	"github.com/sirocco-wf/sirocco/bench/internal/v2"
)

// Sizes are the workloads' sizes and pacing.
type Sizes struct {
	Chain          int // tasks of the chain (and the history's chain)
	ChainRuns      int // timed executions of each chain, one after another (median)
	Items          int // with-items items
	ItemConc       int // with-items concurrency
	Concurrent     int // executions of the concurrent workload
	PluginChain    int // tasks of the std.http chain
	Memory         int // waiting executions of the memory workload
	Recovery       int // executions waiting on async actions at the restart
	RecoveryFlight int // executions of the 5-task chain started just before it
	History        int // finished executions inserted before the history chain
	StartWorkers   int // parallel POST /v2/executions
	FloorParallel  int // floor tasks in flight for the concurrent workloads
	Timeout        time.Duration
	PollOne        time.Duration // polling one execution
	PollMany       time.Duration // polling a listing
	SkipFloorParts bool          // time only the whole floor task, not its parts alone
	// IdleWindow is how long the daemon must stay under 5% of a CPU to
	// count as idle (memory and recovery wait for that).
	IdleWindow time.Duration
	// RecoveryTerm stops the daemon with SIGTERM (a graceful restart)
	// instead of SIGKILL (a crash) in the recovery workload.
	RecoveryTerm bool
}

// The sizes the targets are stated for; a target is judged only
// at its size, since fixed costs dominate small runs.
const (
	targetConcurrent = 1000
	targetMemory     = 10000
	targetHistory    = 1000000
)

// Target is the server a workload runs against.
type Target struct {
	Name   string
	Client *v2.Client
	// Daemon is the Sirocco instance the benchmark started; nil for a
	// peer, which has no floor, no RSS and no restart.
	Daemon *daemon.Daemon
	// PluginDir holds the plugin binaries (for the plugin floor).
	PluginDir string
	// Profile, when set, starts a CPU profile of the daemon labelled
	// label; the returned function stops it.
	Profile func(label string) func()
}

// Workload is one kind of measurement.
type Workload struct {
	Name string
	// NeedsDaemon: the workload reads the process or restarts it, so it
	// runs only on a daemon the benchmark started.
	NeedsDaemon bool
	Run         func(ctx context.Context, t *Target, s Sizes, row *report.Row) error
	// Size describes the workload's size for the table.
	Size func(s Sizes) string
}

// All is every workload, in the order they run.
var All = []Workload{
	{Name: "chain", Run: runChain, Size: func(s Sizes) string { return fmt.Sprintf("%d tasks", s.Chain) }},
	{Name: "fanout", Run: runFanOut, Size: func(s Sizes) string { return fmt.Sprintf("%d items x%d", s.Items, s.ItemConc) }},
	{Name: "concurrent", Run: runConcurrent, Size: func(s Sizes) string { return fmt.Sprintf("%d x 5 tasks", s.Concurrent) }},
	{Name: "plugin", Run: runPlugin, Size: func(s Sizes) string { return fmt.Sprintf("%d std.http", s.PluginChain) }},
	{Name: "memory", NeedsDaemon: true, Run: runMemory, Size: func(s Sizes) string { return fmt.Sprintf("%d waiting", s.Memory) }},
	{Name: "recovery", NeedsDaemon: true, Run: runRecovery, Size: func(s Sizes) string {
		return fmt.Sprintf("%d waiting+%d", s.Recovery, s.RecoveryFlight)
	}},
	{Name: "history", NeedsDaemon: true, Run: runHistory, Size: func(s Sizes) string { return fmt.Sprintf("%d tasks, %d old", s.Chain, s.History) }},
}

// Find returns the workloads named in names (comma-separated).
func Find(names string) ([]Workload, error) {
	if names == "" || names == "all" {
		return All, nil
	}
	var out []Workload
	for _, n := range strings.Split(names, ",") {
		n = strings.TrimSpace(n)
		found := false
		for _, w := range All {
			if w.Name == n {
				out = append(out, w)
				found = true
			}
		}
		if !found {
			var known []string
			for _, w := range All {
				known = append(known, w.Name)
			}
			return nil, fmt.Errorf("unknown workload %q (known: %s)", n, strings.Join(known, ", "))
		}
	}
	return out, nil
}

// errUnsupported marks a workload the server refused as a part of the
// language it does not run yet (a 400 on start).
type errUnsupported struct{ detail string }

func (e errUnsupported) Error() string { return e.detail }

// Status turns a workload's error into the row's status.
func Status(err error) string {
	var u errUnsupported
	switch {
	case err == nil:
		return report.OK
	case errors.As(err, &u):
		return report.Unsupported + ": " + u.detail
	default:
		return report.Failed + ": " + err.Error()
	}
}

// newID is an execution id both servers accept.
func newID() string { return uuid.NewString() }

// openFloor connects the floor to the daemon's database and NATS.
func openFloor(ctx context.Context, t *Target, plugin *floor.PluginCall) (*floor.Floor, error) {
	d := t.Daemon
	cfg := floor.Config{NATSURL: d.NATSURL(), Prefix: d.Prefix, Plugin: plugin}
	if d.Mode() == daemon.Embedded {
		cfg.SQLitePath = d.SQLitePath()
	} else {
		cfg.PostgresURL = d.DBURL
	}
	return floor.Open(ctx, cfg)
}

// measureFloor does n floor tasks with par in flight (and each part alone
// unless told not to). It returns nil for a peer.
func measureFloor(ctx context.Context, t *Target, s Sizes, n, par int, plugin *floor.PluginCall) (*report.Floor, error) {
	if t.Daemon == nil {
		return nil, nil
	}
	f, err := openFloor(ctx, t, plugin)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// A few tasks first, as many at once as the measurement has, so that
	// opening connections is not in the figure (the workloads warm up too).
	if _, err := f.Run(ctx, min(n, 2*par+5), par, plugin != nil); err != nil {
		return nil, err
	}
	task, err := f.Run(ctx, n, par, plugin != nil)
	if err != nil {
		return nil, err
	}
	out := &report.Floor{Task: task}
	if s.SkipFloorParts {
		return out, nil
	}
	parts := []floor.Part{floor.PartCommit, floor.PartNATS}
	if plugin != nil {
		parts = append(parts, floor.PartPlugin)
	}
	for _, p := range parts {
		r, err := f.RunPart(ctx, p, n, par)
		if err != nil {
			return nil, err
		}
		out.Parts = append(out.Parts, r)
	}
	return out, nil
}

// cpuMeter reads the daemon's CPU time over a phase; zero for a peer.
type cpuMeter struct {
	d     *daemon.Daemon
	start time.Duration
}

func startCPU(t *Target) cpuMeter {
	m := cpuMeter{d: t.Daemon}
	if m.d != nil {
		m.start, _ = m.d.CPU()
	}
	return m
}

func (m cpuMeter) used() time.Duration {
	if m.d == nil {
		return 0
	}
	now, err := m.d.CPU()
	if err != nil {
		return 0
	}
	return now - m.start
}

// profile starts the target's profiler, if any.
func profile(t *Target, row *report.Row) func() {
	if t.Profile == nil {
		return func() {}
	}
	return t.Profile(fmt.Sprintf("%s-%s-%d", row.Mode, row.Workload, row.Run))
}

// runOne starts one execution and polls it until it ends; it returns the
// wall time from just before the POST to the poll that saw it end.
func runOne(ctx context.Context, t *Target, s Sizes, wf string, input map[string]any) (time.Duration, error) {
	id := newID()
	start := time.Now()
	ex, err := t.Client.Start(ctx, id, wf, input)
	if err != nil {
		return 0, err
	}
	deadline := time.Now().Add(s.Timeout)
	for !v2.Terminal(ex.State) {
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("execution %s of %s still %s after %s", id, wf, ex.State, s.Timeout)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(s.PollOne):
		}
		if ex, err = t.Client.Get(ctx, id); err != nil {
			return 0, err
		}
	}
	el := time.Since(start)
	if ex.State != v2.Success {
		return el, fmt.Errorf("execution %s of %s ended %s: %s", id, wf, ex.State, ex.Info())
	}
	return el, nil
}

// startMany starts one execution of wf per id with workers POSTs in
// flight, and returns when each POST was sent.
func startMany(ctx context.Context, c *v2.Client, wf string, ids []string, input map[string]any, workers int) (map[string]time.Time, error) {
	sent := make(map[string]time.Time, len(ids))
	var mu sync.Mutex
	failed, err := forEach(ids, workers, func(id string) error {
		at := time.Now()
		if _, err := c.Start(ctx, id, wf, input); err != nil {
			return err
		}
		mu.Lock()
		sent[id] = at
		mu.Unlock()
		return nil
	})
	if err != nil {
		return sent, fmt.Errorf("starting %d executions of %s: %d failed, first: %w", len(ids), wf, failed, err)
	}
	return sent, nil
}

// forEach calls f for every id, workers calls at a time, and returns how
// many failed and the first error.
func forEach(ids []string, workers int, f func(id string) error) (int, error) {
	var mu sync.Mutex
	var failed int
	var first error
	next := make(chan string)
	var wg sync.WaitGroup
	for w := 0; w < max(1, workers); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range next {
				if err := f(id); err != nil {
					mu.Lock()
					if failed++; first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, id := range ids {
		next <- id
	}
	close(next)
	wg.Wait()
	return failed, first
}

// ended is when the client first saw an execution terminal.
type ended struct {
	At    time.Time
	State string
	Info  string // state_info, for the report of a failure
}

// waitAll polls the newest executions of wf until every one of ids has
// ended, and returns when each was first seen ended. It lists rather than
// reads each execution, so the number of requests does not grow with the
// count; and the interval grows to 2% of the time waited so far, because
// listing a thousand executions costs the server real CPU (a profile
// showed 16% of it at a fixed 100 ms), which would be charged to the
// workload. The latency resolution is therefore max(poll, 2% of it).
func waitAll(ctx context.Context, c *v2.Client, wf string, ids map[string]time.Time, poll, timeout time.Duration) (map[string]ended, error) {
	done := make(map[string]ended, len(ids))
	start := time.Now()
	deadline := start.Add(timeout)
	// The ids are the newest executions of wf (plus warm-ups before them),
	// so the newest len(ids)+slack hold them all.
	limit := len(ids) + 16
	for {
		list, err := c.Newest(ctx, wf, limit)
		now := time.Now()
		if err != nil {
			return done, err
		}
		for _, e := range list {
			if _, mine := ids[e.ID]; !mine || !v2.Terminal(e.State) {
				continue
			}
			if _, seen := done[e.ID]; !seen {
				done[e.ID] = ended{At: now, State: e.State, Info: e.Info()}
			}
		}
		if len(done) == len(ids) {
			return done, nil
		}
		if now.After(deadline) {
			return done, fmt.Errorf("%d of %d executions of %s ended within %s", len(done), len(ids), wf, timeout)
		}
		select {
		case <-ctx.Done():
			return done, ctx.Err()
		case <-time.After(max(poll, time.Since(start)/50)):
		}
	}
}

// states counts the end states.
func states(done map[string]ended) map[string]int {
	out := map[string]int{}
	for _, e := range done {
		out[e.State]++
	}
	return out
}

// failures describes the executions that did not succeed: the distinct
// state_info texts with their counts, at most three.
func failures(done map[string]ended) string {
	count := map[string]int{}
	for _, e := range done {
		if e.State != v2.Success {
			count[e.State+": "+e.Info]++
		}
	}
	var keys []string
	for k := range count {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for i, k := range keys {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more kinds", len(keys)-3))
			break
		}
		parts = append(parts, fmt.Sprintf("%dx %s", count[k], k))
	}
	return strings.Join(parts, "; ")
}

func fmtStates(m map[string]int) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+strconv.Itoa(m[k]))
	}
	return strings.Join(parts, " ")
}

// pluginBinary is the path of plugin name's binary for the floor.
func pluginBinary(t *Target, name string) (string, error) {
	p := filepath.Join(t.PluginDir, "sirocco-plugin-"+name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("plugin floor: %w", err)
	}
	return p, nil
}
