package workload

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sirocco-wf/sirocco/bench/internal/report"
	"github.com/sirocco-wf/sirocco/bench/internal/v2"
	"github.com/sirocco-wf/sirocco/bench/workflows"
)

// asyncAction is the action the waiting executions wait on.
const asyncAction = "std.async_noop"

// idleFrac is how the workloads tell that the daemon has absorbed a
// burst: under 5% of one CPU over a whole Sizes.IdleWindow.
const idleFrac = 0.05

// runMemory: the daemon's RSS with Memory executions waiting on async
// actions, as the growth over the RSS after a warm-up.
func runMemory(ctx context.Context, t *Target, s Sizes, row *report.Row) error {
	c, d := t.Client, t.Daemon
	if err := c.UploadWorkflow(ctx, workflows.WaitDoc()); err != nil {
		return err
	}
	if err := warmUpWait(ctx, t, s); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	if err := d.WaitIdle(ctx, s.IdleWindow, idleFrac, s.Timeout); err != nil {
		return err
	}
	base, _, err := d.Memory()
	if err != nil {
		return err
	}
	ids := newIDs(s.Memory)
	t0 := time.Now()
	if _, err := startMany(ctx, c, workflows.Wait, ids, nil, s.StartWorkers); err != nil {
		return err
	}
	startPhase := time.Since(t0)
	if err := d.WaitIdle(ctx, s.IdleWindow, idleFrac, s.Timeout); err != nil {
		return err
	}
	rss, peak, err := d.Memory()
	if err != nil {
		return err
	}
	// Counted after the RSS is read: the listing itself allocates.
	waiting, err := waitingActions(ctx, c, s.Memory, s.Timeout)
	if err != nil {
		return err
	}
	per := float64(rss-base) / float64(len(waiting))
	row.Primary = report.Metric{Name: "bytes_per_waiting_execution", Value: per, Unit: "B"}
	row.Add("rss_baseline", float64(base)/(1<<20), "MiB")
	row.Add("rss_waiting", float64(rss)/(1<<20), "MiB")
	row.Add("rss_peak", float64(peak)/(1<<20), "MiB")
	row.Add("start_phase", startPhase.Seconds(), "s")
	row.Add("starts_per_s", float64(len(ids))/startPhase.Seconds(), "exec/s")
	if d.Mode() == "embedded" {
		row.Note("RSS includes the embedded NATS server")
	}
	if s.Memory == targetMemory {
		row.Judge("<10 KiB", per < 10<<10)
	}
	return nil
}

// warmUpWait runs one execution of the wait workflow to its end.
func warmUpWait(ctx context.Context, t *Target, s Sizes) error {
	id := newID()
	if _, err := t.Client.Start(ctx, id, workflows.Wait, nil); err != nil {
		return err
	}
	acts, err := waitingActions(ctx, t.Client, 1, s.Timeout)
	if err != nil {
		return err
	}
	if err := t.Client.Complete(ctx, acts[0].ID, map[string]any{"warm": true}); err != nil {
		return err
	}
	_, err = waitAll(ctx, t.Client, workflows.Wait, map[string]time.Time{id: time.Now()}, s.PollOne, s.Timeout)
	return err
}

// waitingActions lists the running async actions until there are n.
func waitingActions(ctx context.Context, c *v2.Client, n int, timeout time.Duration) ([]v2.ActionExecution, error) {
	deadline := time.Now().Add(timeout)
	for {
		acts, err := c.ActionExecutions(ctx, asyncAction, "RUNNING")
		if err != nil {
			return nil, err
		}
		if len(acts) >= n {
			return acts, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d of %d %s actions running after %s", len(acts), n, asyncAction, timeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// runRecovery: Recovery executions waiting on async actions and
// RecoveryFlight executions of the 5-task chain just started (their tasks in the outbox,
// in NATS, in the executor) when the daemon is killed with SIGKILL (or,
// with Sizes.RecoveryTerm, stopped with SIGTERM). It is started again; the async actions get their results through the API;
// the time is from the restart until every execution has ended. The floor
// is the work left, done bare: one floor task per waiting execution and
// five per chain.
func runRecovery(ctx context.Context, t *Target, s Sizes, row *report.Row) error {
	c, d := t.Client, t.Daemon
	for _, doc := range []string{workflows.WaitDoc(), workflows.Chain5Doc()} {
		if err := c.UploadWorkflow(ctx, doc); err != nil {
			return err
		}
	}
	fl, err := measureFloor(ctx, t, s, s.Recovery+5*s.RecoveryFlight, s.FloorParallel, nil)
	if err != nil {
		return err
	}
	if _, err := runOne(ctx, t, s, workflows.Chain5, nil); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	sentWait, err := startMany(ctx, c, workflows.Wait, newIDs(s.Recovery), nil, s.StartWorkers)
	if err != nil {
		return err
	}
	acts, err := waitingActions(ctx, c, s.Recovery, s.Timeout)
	if err != nil {
		return err
	}
	sentChain, err := startMany(ctx, c, workflows.Chain5, newIDs(s.RecoveryFlight), nil, s.StartWorkers)
	if err != nil {
		return err
	}
	if s.RecoveryTerm {
		d.Stop()
		row.Note("stopped with SIGTERM (graceful), not killed")
	} else {
		d.Kill()
	}
	t0 := time.Now()
	toReady, err := d.Restart(ctx)
	if err != nil {
		return err
	}
	stop := profile(t, row)
	defer stop()
	tReady := time.Now()
	if err := completeAll(ctx, c, acts, s.StartWorkers); err != nil {
		return err
	}
	completePhase := time.Since(tReady)
	var doneWait, doneChain map[string]ended
	var errWait, errChain error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		doneWait, errWait = waitAll(ctx, c, workflows.Wait, sentWait, s.PollMany, s.Timeout)
	}()
	go func() {
		defer wg.Done()
		doneChain, errChain = waitAll(ctx, c, workflows.Chain5, sentChain, s.PollMany, s.Timeout)
	}()
	wg.Wait()
	if errWait != nil {
		return errWait
	}
	if errChain != nil {
		return errChain
	}
	lastWait, lastChain := latest(doneWait), latest(doneChain)
	end := lastWait
	if lastChain.After(end) {
		end = lastChain
	}
	total := end.Sub(t0)
	row.Primary = report.Metric{Name: "restart_to_all_ended", Value: total.Seconds(), Unit: "s"}
	row.Add("restart_to_ready", toReady.Seconds(), "s")
	row.Add("results_given", completePhase.Seconds(), "s")
	row.Add("waiting_ended_after_ready", lastWait.Sub(tReady).Seconds(), "s")
	if len(sentChain) > 0 {
		row.Add("in_flight_ended_after_restart", lastChain.Sub(t0).Seconds(), "s")
	}
	row.Note("waiting: %s; in flight: %s", fmtStates(states(doneWait)), fmtStates(states(doneChain)))
	if fl != nil {
		row.SetFloor(fl, fl.Task.Seconds)
	}
	for _, f := range []string{failures(doneWait), failures(doneChain)} {
		if f != "" {
			row.Note("failed: %s", f)
		}
	}
	ok := states(doneWait)[v2.Success] == len(sentWait) && states(doneChain)[v2.Success] == len(sentChain)
	row.Judge("all SUCCESS", ok)
	return nil
}

// completeAll gives every async action its result, workers at a time.
func completeAll(ctx context.Context, c *v2.Client, acts []v2.ActionExecution, workers int) error {
	ids := make([]string, len(acts))
	for i, a := range acts {
		ids[i] = a.ID
	}
	failed, err := forEach(ids, workers, func(id string) error {
		return c.Complete(ctx, id, map[string]any{"done": true})
	})
	if err != nil {
		return fmt.Errorf("giving %d async actions their results: %d failed, first: %w", len(acts), failed, err)
	}
	return nil
}

func latest(done map[string]ended) time.Time {
	var t time.Time
	for _, e := range done {
		if e.At.After(t) {
			t = e.At
		}
	}
	return t
}

func newIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = newID()
	}
	return ids
}
