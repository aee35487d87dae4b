// Command sirocco-bench measures Sirocco on this machine: it starts `sirocco
// server` as a real process in the embedded mode (SQLite, embedded NATS)
// and in the distributed mode (an external PostgreSQL and NATS), drives it
// over the /v2 API through the workloads of bench/internal/workload, puts
// each next to its floor (the same number of bare commits, NATS round
// trips and plugin calls, measured in the same run), and prints a table
// and writes JSON. With -peer it runs the same workloads against another
// /v2 server (the real Mistral) and prints the ratio.
//
//	make bench                          # everything, full size
//	make bench BENCH_FLAGS=-quick       # small sizes, a smoke run
//	sirocco-bench -modes embedded -workloads chain,concurrent -runs 2
//	sirocco-bench -modes embedded -workloads chain,fanout,concurrent -peer mistral=http://127.0.0.1:9999
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirocco-wf/sirocco/bench/internal/daemon"
	"github.com/sirocco-wf/sirocco/bench/internal/report"
	"github.com/sirocco-wf/sirocco/bench/internal/v2"
	"github.com/sirocco-wf/sirocco/bench/internal/workload"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// peerList is the repeatable -peer name=URL flag.
type peerList []peer

type peer struct{ name, url string }

func (p *peerList) String() string {
	var s []string
	for _, x := range *p {
		s = append(s, x.name+"="+x.url)
	}
	return strings.Join(s, ",")
}

func (p *peerList) Set(v string) error {
	name, u, ok := strings.Cut(v, "=")
	if !ok || name == "" || !strings.HasPrefix(u, "http") {
		return fmt.Errorf("-peer %q: want NAME=http://host:port (the server's root, without /v2)", v)
	}
	if name == daemon.Embedded || name == daemon.Postgres {
		return fmt.Errorf("-peer %q: %s is the name of a Sirocco mode", v, name)
	}
	*p = append(*p, peer{name, strings.TrimSuffix(strings.TrimRight(u, "/"), "/v2")})
	return nil
}

type options struct {
	modes, workloads   string
	runs               int
	quick              bool
	sizes, peerSizes   workload.Sizes
	sirocco, pluginDir string
	natsURL, pgAdmin   string
	workDir, out       string
	logLevel, perfDir  string
	pprofDir           string
	pprofWindow        time.Duration
	peers              peerList
	timeout            time.Duration
}

func parse(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("sirocco-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.modes, "modes", "embedded,postgres", "Sirocco modes to run: embedded, postgres (the distributed mode: -postgres and -nats-url)")
	fs.StringVar(&o.workloads, "workloads", "all", "comma-separated: chain, fanout, concurrent, plugin, memory, recovery, history")
	fs.IntVar(&o.runs, "runs", 1, "runs of every workload (each on a fresh daemon, each with its own floor)")
	fs.BoolVar(&o.quick, "quick", false, "small sizes, for a smoke run (explicit size flags still win)")
	s := &o.sizes
	fs.IntVar(&s.Chain, "chain", 100, "tasks of the chain (and of the history's chain)")
	fs.IntVar(&s.ChainRuns, "chain-runs", 5, "timed executions of each chain (chain, plugin, history), one after another: the figure is their median")
	fs.IntVar(&s.Items, "items", 10000, "with-items items of the fan-out")
	fs.IntVar(&s.ItemConc, "item-concurrency", 100, "concurrency of the fan-out's with-items")
	fs.IntVar(&s.Concurrent, "concurrent", 1000, "executions of the 5-task chain started together")
	fs.IntVar(&s.PluginChain, "plugin-chain", 100, "std.http tasks of the plugin chain")
	fs.IntVar(&s.Memory, "memory", 10000, "executions waiting on async actions for the memory figure")
	fs.IntVar(&s.Recovery, "recovery", 1000, "executions waiting on async actions at the restart")
	fs.IntVar(&s.RecoveryFlight, "recovery-in-flight", -1, "executions of the 5-task chain started just before the restart (default: -recovery)")
	fs.IntVar(&s.History, "history", 1000000, "finished executions in the database for the history chain")
	fs.IntVar(&s.StartWorkers, "start-workers", 32, "parallel POST /v2/executions")
	fs.IntVar(&s.FloorParallel, "floor-parallel", 64, "floor tasks in flight for the concurrent and recovery floors (the executor's default capacity)")
	fs.DurationVar(&s.PollOne, "poll-one", 5*time.Millisecond, "interval of polling one execution")
	fs.DurationVar(&s.PollMany, "poll-many", 100*time.Millisecond, "interval of polling the listing of many executions")
	fs.BoolVar(&s.SkipFloorParts, "floor-total-only", false, "time only whole floor tasks, not commits, round trips and plugin calls alone")
	fs.DurationVar(&s.IdleWindow, "idle-window", time.Second, "how long the daemon must stay under 5% of a CPU to count as idle (memory, recovery)")
	fs.BoolVar(&s.RecoveryTerm, "recovery-term", false, "recovery: stop the daemon with SIGTERM (graceful) instead of SIGKILL (crash)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "limit of one workload run")
	var peerChain, peerChainRuns, peerItems, peerConc, peerWorkers int
	var peerPollOne, peerPollMany time.Duration
	fs.Var(&o.peers, "peer", "NAME=URL of another /v2 server (the real Mistral) to run chain, fanout, concurrent and plugin against; repeatable")
	fs.IntVar(&peerChain, "peer-chain", 0, "chain length on peers (default: -chain)")
	fs.IntVar(&peerChainRuns, "peer-chain-runs", 1, "timed executions of each chain on peers (a chain on Mistral 15 lasts seconds)")
	fs.IntVar(&peerItems, "peer-items", 0, "fan-out items on peers (default: -items)")
	fs.IntVar(&peerConc, "peer-concurrent", 0, "concurrent executions on peers (default: -concurrent)")
	fs.IntVar(&peerWorkers, "peer-start-workers", 1, "parallel POST /v2/executions on peers (Mistral 15 answered most parallel starts with 500 \"Workflow not found\")")
	fs.DurationVar(&peerPollOne, "peer-poll-one", 20*time.Millisecond, "interval of polling one execution on peers")
	fs.DurationVar(&peerPollMany, "peer-poll-many", time.Second, "interval of polling listings on peers (each costs a slow server real CPU)")
	fs.StringVar(&o.sirocco, "sirocco", "bin/sirocco", "the sirocco binary (make build)")
	fs.StringVar(&o.pluginDir, "plugin-dir", "", "directory of the plugin binaries (default: the sirocco binary's, where make build installs them)")
	fs.StringVar(&o.natsURL, "nats-url", "nats://127.0.0.1:4222", "NATS of the distributed mode (each daemon gets a prefix of its own, deleted after)")
	fs.StringVar(&o.pgAdmin, "postgres", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL of the distributed mode: a database to connect to, to create and drop a fresh one per daemon")
	fs.StringVar(&o.workDir, "work-dir", "", "parent of the daemons' temporary data dirs (default: the system's temporary directory)")
	fs.StringVar(&o.out, "out", "", "JSON output (default: bench/results/DATE.json)")
	fs.StringVar(&o.logLevel, "log-level", "info", "the daemons' --log-level")
	fs.StringVar(&o.perfDir, "perf", "", "record a CPU profile of the daemon's timed phases with Linux perf into this directory")
	fs.StringVar(&o.pprofDir, "pprof", "", "record Go CPU and allocation profiles of the daemon's timed phases (its --pprof endpoint) into this directory")
	fs.DurationVar(&o.pprofWindow, "pprof-window", 10*time.Second, "length of each -pprof profile from the start of a timed phase (a phase that ends sooner waits for it)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, v := range map[string]*int{"chain": &s.Chain, "chain-runs": &s.ChainRuns, "items": &s.Items, "item-concurrency": &s.ItemConc,
			"concurrent": &s.Concurrent, "plugin-chain": &s.PluginChain, "memory": &s.Memory, "recovery": &s.Recovery, "history": &s.History} {
			if !set[name] {
				*v = quickSizes[name]
			}
		}
	}
	for _, n := range []int{s.Chain, s.ChainRuns, s.Items, s.ItemConc, s.Concurrent, s.PluginChain, s.Memory, s.Recovery, s.History, o.runs} {
		if n < 1 {
			return nil, errors.New("sizes and -runs must be at least 1")
		}
	}
	if s.RecoveryFlight < 0 {
		s.RecoveryFlight = s.Recovery
	}
	s.Timeout = o.timeout
	o.peerSizes = *s
	o.peerSizes.PollOne, o.peerSizes.PollMany, o.peerSizes.StartWorkers = peerPollOne, peerPollMany, peerWorkers
	o.peerSizes.ChainRuns = peerChainRuns
	for _, x := range []struct {
		dst *int
		v   int
	}{{&o.peerSizes.Chain, peerChain}, {&o.peerSizes.Items, peerItems}, {&o.peerSizes.Concurrent, peerConc}} {
		if x.v > 0 {
			*x.dst = x.v
		}
	}
	if o.pluginDir == "" {
		o.pluginDir = filepath.Dir(o.sirocco)
	}
	return o, nil
}

// quickSizes make a run of every workload take about a minute per mode.
var quickSizes = map[string]int{
	"chain": 20, "chain-runs": 2, "items": 200, "item-concurrency": 20, "concurrent": 50, "plugin-chain": 20,
	"memory": 500, "recovery": 50, "history": 10000,
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "sirocco-bench:", err)
		return 2
	}
	rep, err := bench(ctx, o, stderr)
	if rep != nil {
		var names []string
		for _, p := range o.peers {
			names = append(names, p.name)
		}
		rep.ComparePeers(names)
		fmt.Fprintln(stdout)
		rep.WriteTable(stdout, names)
		out := o.out
		if out == "" {
			out = defaultOut(rep.Started)
		}
		if werr := rep.WriteJSON(out); werr != nil {
			fmt.Fprintln(stderr, "sirocco-bench:", werr)
			return 1
		}
		fmt.Fprintln(stdout, "\nwrote", out)
	}
	if err != nil {
		fmt.Fprintln(stderr, "sirocco-bench:", err)
		return 1
	}
	for _, r := range rep.Rows {
		if strings.HasPrefix(r.Status, report.Failed) {
			return 1
		}
	}
	return 0
}

func bench(ctx context.Context, o *options, log io.Writer) (*report.Report, error) {
	ws, err := workload.Find(o.workloads)
	if err != nil {
		return nil, err
	}
	var modes []string
	for _, m := range strings.Split(o.modes, ",") {
		switch m = strings.TrimSpace(m); m {
		case daemon.Embedded, daemon.Postgres:
			modes = append(modes, m)
		case "":
		default:
			return nil, fmt.Errorf("-modes: unknown mode %q (want embedded, postgres)", m)
		}
	}
	if len(modes) > 0 {
		if _, err := os.Stat(o.sirocco); err != nil {
			return nil, fmt.Errorf("the sirocco binary: %w (run make build, or give -sirocco)", err)
		}
	}
	for _, p := range o.peers {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := v2.New(p.url).Reachable(rctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("peer %s at %s: %w", p.name, p.url, err)
		}
	}
	if o.pprofDir != "" {
		if err := os.MkdirAll(o.pprofDir, 0o755); err != nil {
			return nil, err
		}
	}
	if o.perfDir != "" {
		if _, err := exec.LookPath("perf"); err != nil {
			return nil, fmt.Errorf("-perf: %w", err)
		}
		if err := os.MkdirAll(o.perfDir, 0o755); err != nil {
			return nil, err
		}
	}
	rep := &report.Report{Started: time.Now(), Revision: revision(), Machine: machine(), Settings: settings(o)}
	if len(modes) > 0 {
		if v, err := exec.Command(o.sirocco, "--version").Output(); err == nil {
			rep.Sirocco = strings.TrimSpace(string(v))
		}
	}
	defer func() {
		rep.Finished = time.Now()
		rep.Machine.LoadEnd = loadAvg()
	}()
	for r := 1; r <= o.runs; r++ {
		for _, w := range ws {
			for _, m := range modes {
				row := runRow(ctx, o, w, m, r, nil, log)
				rep.Rows = append(rep.Rows, row)
			}
			for _, p := range o.peers {
				row := runRow(ctx, o, w, p.name, r, &p, log)
				rep.Rows = append(rep.Rows, row)
			}
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
		}
	}
	return rep, nil
}

// runRow runs workload w once on a fresh daemon of mode m, or on peer p.
func runRow(ctx context.Context, o *options, w workload.Workload, m string, run int, p *peer, log io.Writer) *report.Row {
	sizes := o.sizes
	if p != nil {
		sizes = o.peerSizes
	}
	row := &report.Row{Workload: w.Name, Mode: m, Run: run, Size: w.Size(sizes), LoadAvg1: loadAvg()}
	start := time.Now()
	defer func() {
		row.Seconds = time.Since(start).Seconds()
		fmt.Fprintf(log, "%-10s %-9s run %d: %s (%.0f s)\n", w.Name, m, run, summary(row), row.Seconds)
	}()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	t := &workload.Target{Name: m, PluginDir: o.pluginDir}
	if p != nil {
		if w.NeedsDaemon {
			row.Status = report.Skipped + ": needs a daemon the benchmark runs"
			return row
		}
		t.Client = v2.New(p.url)
	} else {
		var extra []string
		pprofAddr := ""
		if o.pprofDir != "" {
			port, err := daemon.FreePort()
			if err != nil {
				row.Status = report.Failed + ": " + err.Error()
				return row
			}
			pprofAddr = fmt.Sprintf("127.0.0.1:%d", port)
			extra = append(extra, "--metrics-listen", pprofAddr, "--pprof")
		}
		d, err := daemon.Start(ctx, daemon.Config{
			Sirocco: o.sirocco, PluginDir: o.pluginDir, Mode: m, NATSURL: o.natsURL, PostgresAdmin: o.pgAdmin,
			WorkDir: o.workDir, LogLevel: o.logLevel, Extra: extra,
		})
		if err != nil {
			row.Status = report.Failed + ": " + err.Error()
			return row
		}
		defer func() {
			if err := d.Close(); err != nil {
				row.Note("clean-up: %v", err)
			}
		}()
		t.Daemon, t.Client = d, v2.New(d.URL())
		switch {
		case o.perfDir != "":
			t.Profile = perfProfiler(o.perfDir, d)
		case o.pprofDir != "":
			t.Profile = pprofProfiler(o.pprofDir, pprofAddr, o.pprofWindow, log)
		}
	}
	err := w.Run(ctx, t, sizes, row)
	row.Status = workload.Status(err)
	if err != nil && t.Daemon != nil && !strings.HasPrefix(row.Status, report.Unsupported) {
		row.Note("last daemon log lines: %s", t.Daemon.Tail(5))
	}
	return row
}

func summary(r *report.Row) string {
	if !r.OK() {
		return r.Status
	}
	s := fmt.Sprintf("%s %.4g %s", r.Primary.Name, r.Primary.Value, r.Primary.Unit)
	if r.FloorRatio > 0 {
		s += fmt.Sprintf(", %.1f%% of floor", 100*r.FloorRatio)
	}
	return s
}

// perfProfiler records the daemon's timed phases with `perf record` and
// writes perf's flat symbol report beside each recording: perf needs
// nothing from the daemon and sees the embedded NATS and SQLite's C code
// by name (-pprof is the Go profiler's view).
func perfProfiler(dir string, d *daemon.Daemon) func(string) func() {
	return func(label string) func() {
		data := filepath.Join(dir, label+".perf.data")
		cmd := exec.Command("perf", "record", "-q", "-F", "499", "-g", "-p", strconv.Itoa(d.Pid()), "-o", data)
		if err := cmd.Start(); err != nil {
			return func() {}
		}
		return func() {
			_ = cmd.Process.Signal(os.Interrupt)
			_ = cmd.Wait()
			// Self time per function, then time including callees (where
			// the engine's own functions show up).
			var txt []byte
			for _, mode := range []string{"--no-children", "--children"} {
				rep, err := exec.Command("perf", "report", "-i", data, "--stdio", mode, "-g", "none",
					"--sort", "symbol", "--percent-limit", "1").Output()
				if err != nil {
					return
				}
				txt = append(append(txt, "### perf report "+mode+"\n"...), rep...)
			}
			_ = os.WriteFile(filepath.Join(dir, label+".txt"), txt, 0o644)
		}
	}
}

// pprofProfiler records, from the start of each timed phase, window of
// the daemon's CPU profile and of its allocations (a delta profile) from
// its /debug/pprof endpoint, as LABEL.cpu.pprof and LABEL.allocs.pprof
// for `go tool pprof`. The stop function waits for both: the phase's
// figures are taken before it is called.
func pprofProfiler(dir, addr string, window time.Duration, log io.Writer) func(string) func() {
	secs := max(1, int(window.Seconds()))
	return func(label string) func() {
		var wg sync.WaitGroup
		for _, p := range []struct{ path, file string }{{"profile", "cpu"}, {"allocs", "allocs"}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u := fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", addr, p.path, secs)
				out := filepath.Join(dir, label+"."+p.file+".pprof")
				if err := download(u, out, window+time.Minute); err != nil {
					fmt.Fprintf(log, "pprof %s: %v\n", label, err)
				}
			}()
		}
		return wg.Wait
	}
}

// download writes what GET u answers to path.
func download(u, path string, timeout time.Duration) error {
	c := http.Client{Timeout: timeout}
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %s: %s", u, resp.Status, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func defaultOut(t time.Time) string {
	base := filepath.Join("bench", "results", t.Format("2006-01-02"))
	out := base + ".json"
	for i := 2; ; i++ {
		if _, err := os.Stat(out); errors.Is(err, os.ErrNotExist) {
			return out
		}
		out = fmt.Sprintf("%s-%d.json", base, i)
	}
}

func settings(o *options) map[string]string {
	s := o.sizes
	m := map[string]string{
		"modes": o.modes, "workloads": o.workloads, "runs": strconv.Itoa(o.runs),
		"chain": strconv.Itoa(s.Chain), "chain_runs": strconv.Itoa(s.ChainRuns), "items": strconv.Itoa(s.Items), "item_concurrency": strconv.Itoa(s.ItemConc),
		"concurrent": strconv.Itoa(s.Concurrent), "plugin_chain": strconv.Itoa(s.PluginChain), "memory": strconv.Itoa(s.Memory),
		"recovery": strconv.Itoa(s.Recovery), "recovery_in_flight": strconv.Itoa(s.RecoveryFlight), "history": strconv.Itoa(s.History), "start_workers": strconv.Itoa(s.StartWorkers),
		"floor_parallel": strconv.Itoa(s.FloorParallel), "poll_one": s.PollOne.String(), "poll_many": s.PollMany.String(),
		"log_level": o.logLevel, "idle_window": s.IdleWindow.String(), "recovery_term": strconv.FormatBool(s.RecoveryTerm),
	}
	if len(o.peers) > 0 {
		m["peers"] = o.peers.String()
		m["peer_chain"], m["peer_items"], m["peer_concurrent"] = strconv.Itoa(o.peerSizes.Chain), strconv.Itoa(o.peerSizes.Items), strconv.Itoa(o.peerSizes.Concurrent)
		m["peer_chain_runs"] = strconv.Itoa(o.peerSizes.ChainRuns)
		m["peer_poll_one"], m["peer_poll_many"] = o.peerSizes.PollOne.String(), o.peerSizes.PollMany.String()
		m["peer_start_workers"] = strconv.Itoa(o.peerSizes.StartWorkers)
	}
	return m
}

func revision() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

func machine() report.Machine {
	m := report.Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), LoadStart: loadAvg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				m.MemoryMiB = kb >> 10
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
