//go:build linux

package failure

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// chaosWorkflow is the workload of TestChaos. Every task but "once" is
// safe-rerun, so the only end other than SUCCESS it may legitimately have
// is "once" failed with an "executor lost" error because its host died
// while it ran. "side" runs beside the main line so that two results of
// one execution race. The counter answers once with 3n and slow with 5n.
const chaosWorkflow = `---
version: '2.0'
chaos:
  input:
    - n
    - counter
  output:
    doubled: <% $.doubled %>
    side: <% $.side %>
    once: <% $.once %>
    slow: <% $.slow %>
    final: <% $.final %>
  tasks:
    first:
      action: std.echo output=<% $.n * 2 %>
      safe-rerun: true
      publish:
        doubled: <% task().result %>
      on-success:
        - nap
        - side
    side:
      action: std.echo output="side <% $.n %>"
      safe-rerun: true
      publish:
        side: <% task().result %>
    nap:
      action: std.sleep seconds=0.5
      safe-rerun: true
      on-success:
        - once
    once:
      action: std.http
      input:
        url: <% $.counter %>/once/<% execution().id %>
        params:
          n: <% $.n %>
          delay_ms: 400
      publish:
        once: <% task().result.content.value %>
      on-success:
        - slow
    slow:
      action: std.http
      input:
        url: <% $.counter %>/slow/<% execution().id %>
        params:
          n: <% $.n %>
          delay_ms: 1000
      safe-rerun: true
      publish:
        slow: <% task().result.content.value %>
      on-success:
        - last
    last:
      action: std.echo output="done <% $.n %>"
      safe-rerun: true
      publish:
        final: <% task().result %>
`

func chaosOutput(n int) map[string]any {
	return map[string]any{
		"doubled": float64(2 * n), "side": fmt.Sprintf("side %d", n),
		"once": float64(3 * n), "slow": float64(5 * n), "final": fmt.Sprintf("done %d", n),
	}
}

// executorLostRE is the error S5 promises for a non-safe-rerun action
// whose host died: the task's state_info must say "executor lost" (or name
// the error type, ExecutorLost) in so many words, so that operators can
// search for it.
var executorLostRE = regexp.MustCompile(`(?i)executor ?lost`)

// TestChaos is S5 item 6: two servers (api and engine) and two executor
// hosts on a private PostgreSQL and a private NATS run 500 executions
// while the test kills one executor host and one engine with SIGKILL,
// restarts NATS and restarts PostgreSQL. Every execution must end with
// the result of an undisturbed run, except an execution whose
// non-safe-rerun task "once" was under way on the killed host, which may
// end ERROR with an "executor lost" error; and no "once" ever runs twice.
func TestChaos(t *testing.T) {
	const total = 500
	const capacity = 32
	h := New(t, bins)
	nats := h.StartNATS()
	pg := h.StartPostgres()
	dbURL := pg.CreateDatabase("sirocco")
	const prefix = "chaos"

	ex1 := h.StartExecutor("executor-1", ExecutorConfig{NATSURL: nats.URL(), Prefix: prefix, Capacity: capacity})
	ex2 := h.StartExecutor("executor-2", ExecutorConfig{NATSURL: nats.URL(), Prefix: prefix, Capacity: capacity})
	srv := ServerConfig{NATSURL: nats.URL(), Prefix: prefix, DatabaseURL: dbURL, Roles: "api,engine"}
	s1 := h.StartServer("server-1", srv)
	s2 := h.StartServer("server-2", srv)
	procs := []*Proc{ex1.Proc, ex2.Proc, s1.Proc, s2.Proc}
	bases := []string{s1.URL, s2.URL}

	cnt := newCounter()
	ts := httptest.NewServer(cnt)
	defer ts.Close()
	if err := createWorkflow(s1.URL, chaosWorkflow); err != nil {
		t.Fatal(err)
	}
	executorsServed := checkExecutorsListed(t, s1.URL, ex1.ID, ex2.ID)

	sw := newStopwatch()
	ids := make([]string, total)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	// Start every execution, spread over both APIs; a start that fails
	// (a server killed, the database restarting) is retried with the same
	// id, which the API makes idempotent.
	startErrs := make(chan error, total)
	var starting sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 8; w++ {
		starting.Add(1)
		go func() {
			defer starting.Done()
			for i := range next {
				order := []string{bases[i%2], bases[(i+1)%2]}
				input := map[string]any{"n": i, "counter": ts.URL}
				startErrs <- CheckFor(60*time.Second, 200*time.Millisecond, func() error {
					_, err := anyOf(order, func(b string) (struct{}, error) {
						return struct{}{}, startExecution(b, ids[i], "chaos", input)
					})
					return err
				})
			}
		}()
	}
	go func() {
		for i := range ids {
			next <- i
		}
		close(next)
		starting.Wait()
		close(startErrs)
		sw.mark("all 500 started")
	}()

	// Watch the executions end, in the background, so the recovery times
	// are measured while the disruptions go on.
	ended := map[string]time.Time{}
	var endedMu sync.Mutex
	stopWatch := make(chan struct{})
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(250 * time.Millisecond):
			}
			list, err := anyOf(bases, func(b string) ([]execution, error) { return listExecutions(b, "chaos") })
			if err != nil {
				continue
			}
			now := time.Now()
			endedMu.Lock()
			for _, ex := range list {
				if _, seen := ended[ex.ID]; !seen && ex.State != "RUNNING" && ex.State != "IDLE" {
					ended[ex.ID] = now
				}
			}
			endedMu.Unlock()
		}
	}()
	endedCount := func() int {
		endedMu.Lock()
		defer endedMu.Unlock()
		return len(ended)
	}
	// progressAfter waits until an action reaches the counter and an
	// execution ends after at, and records how long each took: the time
	// until work flows again.
	progressAfter := func(at time.Time, what string) {
		calls, done := cnt.calls(), endedCount()
		var firstCall time.Duration
		err := CheckFor(90*time.Second, 50*time.Millisecond, func() error {
			if firstCall == 0 && cnt.calls() > calls {
				firstCall = time.Since(at)
			}
			if endedCount() == total {
				return nil
			}
			if firstCall == 0 || endedCount() == done {
				return fmt.Errorf("no action called and no execution ended since %s", what)
			}
			return nil
		})
		if err != nil {
			t.Errorf("90 s after %s: %v", what, err)
			return
		}
		sw.mark(fmt.Sprintf("after %s: first action call +%.1fs, first execution end +%.1fs", what, firstCall.Seconds(), time.Since(at).Seconds()))
	}

	// 1. An executor host dies mid-action, while both http tasks run.
	waitCount(t, "slow", cnt, 30)
	killExec := sw.mark("executor-1 killed (SIGKILL)")
	ex1.Kill()
	// A run whose HTTP call ended just before the kill may still have had
	// its result inside the host (the plugin answering, the result being
	// published): on a loaded machine that takes hundreds of
	// milliseconds, so such a run is lost with its host too.
	kill := interval{killExec.Add(-resultInHost), time.Now()}
	procs[0] = nil
	var registryWatch sync.WaitGroup
	if executorsServed {
		registryWatch.Add(1)
		go func() {
			defer registryWatch.Done()
			waitExecutorGone(t, s2.URL, ex1.ID, killExec, sw)
		}()
	}

	// 2. An engine (with its API) dies.
	waitCount(t, "slow", cnt, 100)
	killEngine := sw.mark("server-1 killed (SIGKILL)")
	s1.Kill()
	procs[2] = nil
	progressAfter(killEngine, "the engine kill")

	// 3. NATS restarts.
	waitCount(t, "slow", cnt, 200)
	natsAt := sw.mark("NATS stopping")
	down := nats.Restart()
	sw.mark(fmt.Sprintf("NATS back (down %.1fs)", down.Seconds()))
	progressAfter(natsAt, "the NATS restart")

	// 4. PostgreSQL restarts.
	waitCount(t, "slow", cnt, cnt.started("slow")+30)
	pgAt := sw.mark("PostgreSQL stopping")
	down = pg.Restart()
	sw.mark(fmt.Sprintf("PostgreSQL back (down %.1fs)", down.Seconds()))
	progressAfter(pgAt, "the PostgreSQL restart")

	for err := range startErrs {
		if err != nil {
			t.Errorf("an execution could not be started: %v", err)
		}
	}
	err := CheckFor(120*time.Second, 250*time.Millisecond, func() error {
		for _, p := range procs {
			if p != nil && p.Exited() {
				return fmt.Errorf("%s exited with %d:\n%s", p.Name, p.ExitCode(), p.Tail(30))
			}
		}
		if n := endedCount(); n < total {
			return fmt.Errorf("%d of %d executions ended", n, total)
		}
		return nil
	})
	close(stopWatch)
	<-watchDone
	registryWatch.Wait()
	allDone := sw.mark("every execution ended")
	if err != nil {
		t.Errorf("120 s after the last disruption: %v", err)
	}
	t.Logf("recovery: the last execution ended %.1f s after the PostgreSQL restart began, %.1f s after the executor kill; timeline:\n%s",
		allDone.Sub(pgAt).Seconds(), allDone.Sub(killExec).Seconds(), sw.report())

	endedMu.Lock()
	endedAt := ended
	endedMu.Unlock()
	checkChaosResults(t, s2.URL, ids, cnt, kill, endedAt)
	t.Logf("executions ended (from the start of the run): %s", endPercentiles(sw.start, endedAt))
	for _, p := range []*Proc{s2.Proc, ex2.Proc} {
		if p.Exited() {
			t.Errorf("%s exited with %d during the test", p.Name, p.ExitCode())
		}
	}
	for _, p := range []*Proc{s1.Proc, s2.Proc, ex1.Proc, ex2.Proc} {
		if l := p.Grep(regexp.MustCompile(`^panic:|fatal error:|DATA RACE`)); len(l) > 0 {
			t.Errorf("%s: %s", p.Name, strings.Join(l, "\n"))
		}
	}
}

// waitCount waits until task has been called for at least n executions.
func waitCount(t *testing.T, taskName string, cnt *counter, n int) {
	t.Helper()
	Eventually(t, 90*time.Second, 20*time.Millisecond, func() error {
		if got := cnt.started(taskName); got < n {
			return fmt.Errorf("%q called for %d executions, waiting for %d", taskName, got, n)
		}
		return nil
	})
}

// checkExecutorsListed checks that GET /v2/executors lists both hosts. It
// says whether the endpoint is served at all, so the test can go on
// without it.
func checkExecutorsListed(t *testing.T, base string, ids ...string) bool {
	t.Helper()
	err := CheckFor(20*time.Second, 100*time.Millisecond, func() error {
		list, err := listExecutors(base)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, e := range list {
			seen[e.ID] = true
		}
		for _, id := range ids {
			if !seen[id] {
				return fmt.Errorf("GET /v2/executors does not list %s: %+v", id, list)
			}
		}
		return nil
	})
	if err != nil {
		t.Errorf("executor registry: %v", err)
		return !strings.Contains(err.Error(), ": 404 ")
	}
	return true
}

// waitExecutorGone measures how long GET /v2/executors keeps listing a
// killed host.
func waitExecutorGone(t *testing.T, base, id string, killed time.Time, sw *stopwatch) {
	err := CheckFor(60*time.Second, 250*time.Millisecond, func() error {
		list, err := listExecutors(base)
		if err != nil {
			return err
		}
		for _, e := range list {
			if e.ID == id {
				return fmt.Errorf("GET /v2/executors still lists %s", id)
			}
		}
		return nil
	})
	if err != nil {
		t.Errorf("60 s after its kill: %v", err)
		return
	}
	sw.mark(fmt.Sprintf("GET /v2/executors no longer lists executor-1 (+%.1fs)", time.Since(killed).Seconds()))
}

// interval is the time between two moments: from sending SIGKILL to
// seeing the process gone.
type interval struct{ from, to time.Time }

// checkChaosResults checks every execution against the result of an
// undisturbed run, and the counts of action runs. Wrong executions are
// grouped by what is wrong, with a few examples each.
func checkChaosResults(t *testing.T, base string, ids []string, cnt *counter, kill interval, endedAt map[string]time.Time) {
	t.Helper()
	list, err := listExecutions(base, "chaos")
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]execution{}
	for _, ex := range list {
		byID[ex.ID] = ex
	}
	var success, lostRan, lostQueued int
	var twice []string
	var redelivery, lostAfter []float64
	wrong := map[string][]string{} // what is wrong -> examples
	for i, id := range ids {
		what := fmt.Sprintf("n=%d %s", i, id)
		once := cnt.spans("once", id)
		slow := cnt.spans("slow", id)
		if len(once) > 1 {
			twice = append(twice, fmt.Sprintf("%s: once ran %d times (%s)", what, len(once), spanTimes(once, kill.from)))
		}
		if len(slow) > 1 {
			redelivery = append(redelivery, slow[1].start.Sub(kill.from).Seconds())
		}
		ex, ok := byID[id]
		if !ok {
			wrong["not found"] = append(wrong["not found"], what)
			continue
		}
		switch ex.State {
		case "SUCCESS":
			var got map[string]any
			_ = json.Unmarshal([]byte(str(ex.Output)), &got)
			if !reflect.DeepEqual(got, chaosOutput(i)) {
				wrong["SUCCESS with a wrong output"] = append(wrong["SUCCESS with a wrong output"],
					fmt.Sprintf("%s: output %s, want %v", what, str(ex.Output), chaosOutput(i)))
				continue
			}
			if len(once) == 0 {
				wrong["SUCCESS without a call of once"] = append(wrong["SUCCESS without a call of once"], what)
				continue
			}
			success++
		case "ERROR":
			tasks, err := listTasks(base, id)
			if err != nil {
				wrong["tasks not listed"] = append(wrong["tasks not listed"], fmt.Sprintf("%s: %v", what, err))
				continue
			}
			if o := taskNamed(tasks, "once"); o != nil && o.State == "ERROR" {
				lostAfter = append(lostAfter, endedAt[id].Sub(kill.from).Seconds())
			}
			if why := legitimateLoss(tasks, once, kill); why != "" {
				wrong["ERROR: "+why] = append(wrong["ERROR: "+why], fmt.Sprintf("%s: tasks %s; once ran %d times (%s)",
					what, describeTasks(tasks), len(once), spanTimes(once, kill.from)))
				continue
			}
			if len(once) == 1 {
				lostRan++
			} else {
				lostQueued++
			}
		default:
			tasks, _ := listTasks(base, id)
			k := "ended " + ex.State
			wrong[k] = append(wrong[k], fmt.Sprintf("%s (%s): tasks %s", what, str(ex.StateInfo), describeTasks(tasks)))
		}
	}
	if len(twice) > 0 {
		t.Errorf("the non-safe-rerun task once ran more than once in %d executions, e.g.:\n  %s", len(twice), strings.Join(first(twice, 10), "\n  "))
	}
	kinds := make([]string, 0, len(wrong))
	for k := range wrong {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		t.Errorf("%d executions: %s; e.g.:\n  %s", len(wrong[k]), k, strings.Join(first(wrong[k], 3), "\n  "))
	}
	t.Logf("results: %d SUCCESS with the undisturbed output; %d ERROR with executor lost (once under way on the killed host: %d; once never started: %d); %d executions ran slow (safe-rerun) twice",
		success, lostRan+lostQueued, lostRan, lostQueued, len(redelivery))
	sort.Float64s(redelivery)
	if len(redelivery) > 0 {
		t.Logf("executor kill, safe-rerun: the second run of slow started %s after the kill", spread(redelivery))
	}
	sort.Float64s(lostAfter)
	if len(lostAfter) > 0 {
		t.Logf("executor kill, not safe-rerun: executions whose once failed ended %s after the kill (seen by a 250 ms poll)", spread(lostAfter))
	}
}

func taskNamed(tasks []task, name string) *task {
	for i := range tasks {
		if tasks[i].Name == name {
			return &tasks[i]
		}
	}
	return nil
}

// legitimateLoss says why an ERROR execution is not the one legitimate
// failure, or "" when it is: its task once failed with an "executor lost"
// error, nothing after once ran, and once either never reached the
// counter or was under way there when its host was killed.
// resultInHost bounds how long a result may stay in an executor host
// between the end of its action's HTTP call and its publication.
const resultInHost = 2 * time.Second

func legitimateLoss(tasks []task, once []span, kill interval) string {
	states := map[string]task{}
	for _, tk := range tasks {
		if _, dup := states[tk.Name]; dup {
			return "task " + tk.Name + " ran twice"
		}
		states[tk.Name] = tk
	}
	o, ok := states["once"]
	switch {
	case !ok:
		return "there is no task once"
	case o.State != "ERROR":
		return "once is " + o.State
	case !executorLostRE.MatchString(str(o.StateInfo)):
		return fmt.Sprintf("once failed with %q, which does not say executor lost", str(o.StateInfo))
	}
	for _, name := range []string{"first", "side", "nap"} {
		if states[name].State != "SUCCESS" {
			return name + " is " + states[name].State
		}
	}
	if _, ok := states["slow"]; ok {
		return "slow ran after once failed"
	}
	switch len(once) {
	case 0:
		return ""
	case 1:
		if once[0].overlaps(kill) {
			return ""
		}
		return "once ran on the counter, but not while its host was killed"
	}
	return "once ran more than once"
}

// endPercentiles says when the executions ended, relative to start.
func endPercentiles(start time.Time, endedAt map[string]time.Time) string {
	var d []float64
	for _, at := range endedAt {
		d = append(d, at.Sub(start).Seconds())
	}
	if len(d) == 0 {
		return "none"
	}
	sort.Float64s(d)
	at := func(p float64) float64 { return d[int(p*float64(len(d)-1))] }
	return fmt.Sprintf("50%% by %.1f s, 90%% by %.1f s, 99%% by %.1f s, all %d by %.1f s", at(0.5), at(0.9), at(0.99), len(d), d[len(d)-1])
}

func spanTimes(sp []span, ref time.Time) string {
	var s []string
	for _, x := range sp {
		end := "still running"
		if !x.end.IsZero() {
			end = fmt.Sprintf("%+.2fs", x.end.Sub(ref).Seconds())
		}
		s = append(s, fmt.Sprintf("%+.2fs..%s", x.start.Sub(ref).Seconds(), end))
	}
	return "relative to the executor kill: " + strings.Join(s, ", ")
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// spread describes sorted durations in seconds: "min to max (median m)".
func spread(s []float64) string {
	return fmt.Sprintf("%.1f s to %.1f s (median %.1f s, %d runs)", s[0], s[len(s)-1], s[len(s)/2], len(s))
}
