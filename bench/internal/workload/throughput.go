package workload

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/sirocco-wf/sirocco/bench/internal/daemon"
	"github.com/sirocco-wf/sirocco/bench/internal/floor"
	"github.com/sirocco-wf/sirocco/bench/internal/report"
	"github.com/sirocco-wf/sirocco/bench/internal/v2"
	"github.com/sirocco-wf/sirocco/bench/workflows"
)

// runChain: executions of a chain of sequential std.noop tasks, one at a
// time (Sizes.ChainRuns of them, the figure is their median). The floor is
// as many floor tasks one after the other; the target is half the floor's
// rate.
func runChain(ctx context.Context, t *Target, s Sizes, row *report.Row) error {
	return chain(ctx, t, s, row, s.Chain)
}

func chain(ctx context.Context, t *Target, s Sizes, row *report.Row, n int) error {
	if err := t.Client.UploadWorkflow(ctx, workflows.ChainDoc(n)); err != nil {
		return err
	}
	fl, err := measureFloor(ctx, t, s, n*chainRuns(s), 1, nil)
	if err != nil {
		return err
	}
	return timeChain(ctx, t, s, row, workflows.Chain, n, nil, fl)
}

// chainRuns is how many timed executions a chain's figure is the median
// of: one chain of 100 tasks lasts 0.1-0.5 s here, no longer than the
// hiccups of a shared machine.
func chainRuns(s Sizes) int { return max(1, s.ChainRuns) }

// timeChain runs one warm-up execution of wf and then chainRuns timed ones,
// one after the other, and fills the row with the median's tasks/s against
// the floor.
func timeChain(ctx context.Context, t *Target, s Sizes, row *report.Row, wf string, n int, input map[string]any, fl *report.Floor) error {
	if _, err := runOne(ctx, t, s, wf, input); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	runs := chainRuns(s)
	els := make([]time.Duration, 0, runs)
	stop := profile(t, row)
	cpu := startCPU(t)
	for range runs {
		el, err := runOne(ctx, t, s, wf, input)
		if err != nil {
			stop()
			return err
		}
		els = append(els, el)
	}
	used := cpu.used()
	stop()
	slices.Sort(els)
	el := els[len(els)/2]
	row.Primary = report.Metric{Name: "tasks_per_s", Value: float64(n) / el.Seconds(), Unit: "tasks/s"}
	row.HigherIsBetter = true
	row.Add("ms_per_task", el.Seconds()*1000/float64(n), "ms")
	row.Add("seconds", el.Seconds(), "s")
	if runs > 1 {
		row.Add("runs", float64(runs), "")
		row.Add("tasks_per_s_slowest", float64(n)/els[len(els)-1].Seconds(), "tasks/s")
		row.Add("tasks_per_s_fastest", float64(n)/els[0].Seconds(), "tasks/s")
	}
	if used > 0 {
		row.Add("server_cpu_ms_per_task", used.Seconds()*1000/float64(n*runs), "ms")
	}
	if fl != nil {
		row.SetFloor(fl, fl.Task.PerSec)
		row.Judge(">=50% of floor", row.FloorRatio >= 0.5)
	}
	return nil
}

// runFanOut: with-items over Items items at concurrency ItemConc. A server
// that refuses with-items makes the row "unsupported" with its message.
func runFanOut(ctx context.Context, t *Target, s Sizes, row *report.Row) error {
	if err := t.Client.UploadWorkflow(ctx, workflows.FanOutDoc()); err != nil {
		return err
	}
	fl, err := measureFloor(ctx, t, s, s.Items, s.ItemConc, nil)
	if err != nil {
		return err
	}
	input := map[string]any{"n": s.Items, "concurrency": s.ItemConc}
	stop := profile(t, row)
	cpu := startCPU(t)
	el, err := runOne(ctx, t, s, workflows.FanOut, input)
	used := cpu.used()
	stop()
	var he *v2.HTTPError
	if errors.As(err, &he) && he.Status == http.StatusBadRequest {
		// with-items is new: a server that refuses it says why.
		return errUnsupported{he.Detail}
	}
	if err != nil {
		return err
	}
	row.Primary = report.Metric{Name: "items_per_s", Value: float64(s.Items) / el.Seconds(), Unit: "items/s"}
	row.HigherIsBetter = true
	row.Add("seconds", el.Seconds(), "s")
	if used > 0 {
		row.Add("server_cpu_ms_per_item", used.Seconds()*1000/float64(s.Items), "ms")
	}
	if fl != nil {
		row.SetFloor(fl, fl.Task.PerSec)
	}
	if t.Daemon != nil && t.Daemon.Mode() == daemon.Embedded && s.Items == workflows.StandardItems {
		row.Judge("<10 s", el < 10*time.Second)
	}
	return nil
}

// runConcurrent: Concurrent executions of the 5-task chain started
// together. The floor is 5 x Concurrent floor tasks with FloorParallel in
// flight.
func runConcurrent(ctx context.Context, t *Target, s Sizes, row *report.Row) error {
	c := t.Client
	if err := c.UploadWorkflow(ctx, workflows.Chain5Doc()); err != nil {
		return err
	}
	const tasks = 5
	fl, err := measureFloor(ctx, t, s, tasks*s.Concurrent, s.FloorParallel, nil)
	if err != nil {
		return err
	}
	if _, err := runOne(ctx, t, s, workflows.Chain5, nil); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	ids := make([]string, s.Concurrent)
	for i := range ids {
		ids[i] = newID()
	}
	stop := profile(t, row)
	cpu := startCPU(t)
	t0 := time.Now()
	sent, err := startMany(ctx, c, workflows.Chain5, ids, nil, s.StartWorkers)
	startPhase := time.Since(t0)
	if err != nil {
		stop()
		return err
	}
	done, err := waitAll(ctx, c, workflows.Chain5, sent, s.PollMany, s.Timeout)
	used := cpu.used()
	stop()
	if err != nil {
		return err
	}
	var last time.Time
	lat := make([]time.Duration, 0, len(done))
	for id, e := range done {
		if e.At.After(last) {
			last = e.At
		}
		lat = append(lat, e.At.Sub(sent[id]))
	}
	st := states(done)
	if st["SUCCESS"] != len(ids) {
		return fmt.Errorf("not all executions succeeded: %s (%s)", fmtStates(st), failures(done))
	}
	el := last.Sub(t0)
	row.Primary = report.Metric{Name: "tasks_per_s", Value: float64(tasks*len(ids)) / el.Seconds(), Unit: "tasks/s"}
	row.HigherIsBetter = true
	row.Add("executions_per_s", float64(len(ids))/el.Seconds(), "exec/s")
	row.Add("p50", report.Percentile(lat, 50).Seconds()*1000, "ms")
	row.Add("p99", report.Percentile(lat, 99).Seconds()*1000, "ms")
	row.Add("start_phase", startPhase.Seconds(), "s")
	row.Add("seconds", el.Seconds(), "s")
	if used > 0 {
		row.Add("server_cpu_ms_per_task", used.Seconds()*1000/float64(tasks*len(ids)), "ms")
	}
	row.Note("latency resolution: the poll, every %s or 2%% of the time waited", s.PollMany)
	if fl != nil {
		row.SetFloor(fl, fl.Task.PerSec)
	}
	if fl != nil && s.Concurrent == targetConcurrent {
		want := 4000.0
		if t.Daemon.Mode() == daemon.Postgres {
			want = 2000
		}
		row.Judge(fmt.Sprintf(">=%.0f tasks/s", want), row.Primary.Value >= want)
	}
	return nil
}

// runPlugin: the chain with std.http against a local HTTP server, so
// every task is a call into the http plugin's process. The floor makes
// the same plugin call per floor task.
func runPlugin(ctx context.Context, t *Target, s Sizes, row *report.Row) error {
	url, stopServer, err := localHTTPServer()
	if err != nil {
		return err
	}
	defer stopServer()
	if err := t.Client.UploadWorkflow(ctx, workflows.HTTPChainDoc(s.PluginChain)); err != nil {
		return err
	}
	input := map[string]any{"url": url}
	var fl *report.Floor
	if t.Daemon != nil {
		bin, err := pluginBinary(t, "http")
		if err != nil {
			return err
		}
		if fl, err = measureFloor(ctx, t, s, s.PluginChain*chainRuns(s), 1, &floor.PluginCall{Binary: bin, Action: "std.http", Input: input}); err != nil {
			return err
		}
	}
	return timeChain(ctx, t, s, row, workflows.HTTPChain, s.PluginChain, input, fl)
}

// localHTTPServer answers every request with a small JSON body.
func localHTTPServer() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"ok":true}`))
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String() + "/", func() { _ = srv.Close() }, nil
}
