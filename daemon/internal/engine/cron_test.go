package engine

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// testClock is wall time shifted by an offset the test moves, so a
// scheduler sleeps real (short) durations between jumps instead of minutes.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// set makes the clock read at now.
func (c *testClock) set(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = time.Until(at)
}

// startScheduler runs a scheduler for eng on clock; the returned function
// stops it and waits.
func startScheduler(t *testing.T, eng *Engine, clock *testClock) (*Scheduler, func()) {
	t.Helper()
	s := eng.NewScheduler(SchedulerConfig{Now: clock.Now, Sweep: time.Second, RetryDelay: 200 * time.Millisecond, Logger: hclog.NewNullLogger()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return s, stop
}

// jump sets every clock to at and wakes the schedulers.
func jump(at time.Time, clock *testClock, scheds ...*Scheduler) {
	clock.set(at)
	for _, s := range scheds {
		s.wakeUp()
	}
}

// cronExecutions lists the executions cron triggers started, oldest first.
func cronExecutions(t *testing.T, st store.Store) []*store.Execution {
	t.Helper()
	var out []*store.Execution
	err := st.InTx(context.Background(), func(tx store.Tx) error {
		all, err := tx.ListExecutions(store.ListOpts{})
		for _, e := range all {
			if strings.Contains(e.Description, `"type": "cron_trigger"`) {
				out = append(out, e)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// waitFor polls cond (a real component's state) until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func timerCount(t *testing.T, st store.Store) int {
	t.Helper()
	n := 0
	err := st.InTx(context.Background(), func(tx store.Tx) error {
		ts, err := tx.ClaimTimers(time.Now().Add(100*365*24*time.Hour), 1000)
		n = len(ts)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// nextMinute is a whole minute a few minutes ahead of the wall clock, so
// first_execution_time (minute precision) can name it.
func nextMinute() time.Time { return time.Now().UTC().Truncate(time.Minute).Add(3 * time.Minute) }

func ptr[T any](v T) *T { return &v }

// A trigger with an every-minute pattern and a first_execution_time fires
// once at that time, schedules the minute after, and the count is honoured:
// after its last run the trigger is gone and nothing more fires.
func TestCronTriggerFiresOncePerTickAndHonoursCount(t *testing.T) {
	r := newRig(t)
	r.run(t)
	ctx := context.Background()
	if _, err := r.eng.CreateWorkflows(ctx, chain); err != nil {
		t.Fatal(err)
	}
	clock := &testClock{}
	first := nextMinute()
	clock.set(first.Add(-61 * time.Second)) // Mistral wants the first time a minute ahead
	sched, _ := startScheduler(t, r.eng, clock)
	c, err := r.eng.CreateCronTrigger(ctx, api.CronTriggerRequest{
		Name: "every-minute", Pattern: "* * * * *", WorkflowName: "chain",
		WorkflowInput: map[string]any{"n": 5}, WorkflowParams: map[string]any{"env": map[string]any{"k": "v"}},
		FirstExecutionTime: &first, RemainingExecutions: ptr(2),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !c.NextExecutionTime.Equal(first) || *c.RemainingExecutions != 2 {
		t.Fatalf("created trigger = next %v remaining %d", c.NextExecutionTime, *c.RemainingExecutions)
	}

	// A second before the tick nothing has fired; a second later it has.
	jump(first.Add(-time.Second), clock, sched)
	time.Sleep(300 * time.Millisecond)
	if n := len(cronExecutions(t, r.store)); n != 0 {
		t.Fatalf("%d executions before the first tick", n)
	}
	waitFor(t, "the first tick", func() bool { return len(cronExecutions(t, r.store)) == 1 })
	got, err := r.eng.GetCronTrigger(ctx, "every-minute")
	if err != nil {
		t.Fatal(err)
	}
	if !got.NextExecutionTime.Equal(first.Add(time.Minute)) || *got.RemainingExecutions != 1 || got.UpdatedAt.IsZero() {
		t.Fatalf("after the first tick: next %v remaining %d updated %v", got.NextExecutionTime, *got.RemainingExecutions, got.UpdatedAt)
	}
	ex := cronExecutions(t, r.store)[0]
	if done := r.wait(t, ex.ID); done.State != store.StateSuccess || string(done.Output) != `{"total":30}` {
		t.Fatalf("cron execution = %s %s %s", done.State, done.StateInfo, done.Output)
	}
	if string(ex.Params) != `{"env":{"k":"v"}}` || !strings.Contains(ex.Description, "'("+c.ID+")'") {
		t.Fatalf("execution params %s description %s", ex.Params, ex.Description)
	}

	// The second and last tick deletes the trigger.
	jump(first.Add(time.Minute-time.Second), clock, sched)
	waitFor(t, "the second tick", func() bool { return len(cronExecutions(t, r.store)) == 2 })
	if _, err := r.eng.GetCronTrigger(ctx, "every-minute"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("trigger after its last run: %v, want not found", err)
	}
	jump(first.Add(5*time.Minute), clock, sched)
	time.Sleep(300 * time.Millisecond)
	if n := len(cronExecutions(t, r.store)); n != 2 || timerCount(t, r.store) != 0 {
		t.Fatalf("%d executions and %d timers after the count ran out, want 2 and 0", n, timerCount(t, r.store))
	}
}

// A tick that came due while no engine ran fires once when one starts,
// and the ticks missed meanwhile collapse into that one, as in Mistral.
func TestCronTickDueWhileDownFiresAfterRestart(t *testing.T) {
	r := newRig(t)
	r.run(t)
	ctx := context.Background()
	if _, err := r.eng.CreateWorkflows(ctx, chain); err != nil {
		t.Fatal(err)
	}
	clock := &testClock{}
	first := nextMinute()
	clock.set(first.Add(-2 * time.Minute))
	_, stop := startScheduler(t, r.eng, clock)
	if _, err := r.eng.CreateCronTrigger(ctx, api.CronTriggerRequest{
		Name: "t", Pattern: "* * * * *", WorkflowName: "chain", FirstExecutionTime: &first,
	}); err != nil {
		t.Fatal(err)
	}
	stop()
	r.stop()
	r.stop = nil

	// Five minutes later a new engine (same database) starts.
	clock.set(first.Add(5*time.Minute + 30*time.Second))
	fresh, err := New(Config{Store: r.store, Conn: r.conn, Registry: r.reg, Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	r.eng = fresh
	r.run(t)
	startScheduler(t, fresh, clock)
	waitFor(t, "the missed tick", func() bool { return len(cronExecutions(t, r.store)) == 1 })
	time.Sleep(300 * time.Millisecond)
	if n := len(cronExecutions(t, r.store)); n != 1 {
		t.Fatalf("%d executions after a restart, want 1 (missed ticks collapse)", n)
	}
	c, err := fresh.GetCronTrigger(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if want := first.Add(6 * time.Minute); !c.NextExecutionTime.Equal(want) {
		t.Fatalf("next tick %v, want %v (the first after now)", c.NextExecutionTime, want)
	}
}

// Bad requests are 400s that name the field; nothing is stored.
func TestCronTriggerValidation(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.eng.CreateWorkflows(ctx, chain); err != nil {
		t.Fatal(err)
	}
	past := time.Now().UTC().Add(-time.Hour)
	soon := time.Now().UTC().Add(30 * time.Second)
	later := time.Now().UTC().Add(time.Hour)
	for _, tc := range []struct {
		name string
		r    api.CronTriggerRequest
		want string
	}{
		{"no name", api.CronTriggerRequest{Pattern: "* * * * *", WorkflowName: "chain"}, "name is required"},
		{"bad pattern", api.CronTriggerRequest{Name: "x", Pattern: "* * *", WorkflowName: "chain"}, "pattern: the specified pattern is not valid"},
		{"out of range", api.CronTriggerRequest{Name: "x", Pattern: "61 * * * *", WorkflowName: "chain"}, "pattern: "},
		{"every", api.CronTriggerRequest{Name: "x", Pattern: "@every 1m", WorkflowName: "chain"}, "pattern: "},
		{"nothing", api.CronTriggerRequest{Name: "x", WorkflowName: "chain"}, "pattern or first_execution_time"},
		{"past", api.CronTriggerRequest{Name: "x", Pattern: "* * * * *", WorkflowName: "chain", FirstExecutionTime: &past}, "first_execution_time must be at least 1 minute in the future"},
		{"too soon", api.CronTriggerRequest{Name: "x", WorkflowName: "chain", FirstExecutionTime: &soon}, "first_execution_time must be"},
		{"count without pattern", api.CronTriggerRequest{Name: "x", WorkflowName: "chain", FirstExecutionTime: &later, RemainingExecutions: ptr(2)}, "pattern must be provided"},
		{"count 0", api.CronTriggerRequest{Name: "x", Pattern: "* * * * *", WorkflowName: "chain", RemainingExecutions: ptr(0)}, "remaining_executions"},
		{"unknown workflow", api.CronTriggerRequest{Name: "x", Pattern: "* * * * *", WorkflowName: "nope"}, `workflow_name: workflow "nope" not found`},
		{"unknown workflow id", api.CronTriggerRequest{Name: "x", Pattern: "* * * * *", WorkflowID: "0000"}, `workflow_id: workflow "0000" not found`},
		{"bad input", api.CronTriggerRequest{Name: "x", Pattern: "* * * * *", WorkflowName: "chain", WorkflowInput: map[string]any{"zzz": 1}}, `workflow_input: workflow "chain" does not take input "zzz"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.eng.CreateCronTrigger(ctx, tc.r)
			var br interface{ BadRequest() bool }
			if err == nil || !errors.As(err, &br) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want a bad request containing %q", err, tc.want)
			}
		})
	}
	if list, _ := r.eng.ListCronTriggers(ctx, store.ListOpts{}); len(list) != 0 || timerCount(t, r.store) != 0 {
		t.Fatalf("rejected requests stored %d triggers and %d timers", len(list), timerCount(t, r.store))
	}
	// Only a first time: runs once, with Mistral's never-matching pattern.
	c, err := r.eng.CreateCronTrigger(ctx, api.CronTriggerRequest{Name: "once", WorkflowName: "chain", FirstExecutionTime: &later})
	if err != nil || c.Pattern != neverPattern || c.RemainingExecutions == nil || *c.RemainingExecutions != 1 {
		t.Fatalf("one-shot trigger = %+v, %v", c, err)
	}
	if _, err := r.eng.CreateCronTrigger(ctx, api.CronTriggerRequest{Name: "once", WorkflowName: "chain", Pattern: "* * * * *"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate name: %v, want a conflict", err)
	}
	if err := r.eng.DeleteCronTrigger(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if n := timerCount(t, r.store); n != 0 {
		t.Fatalf("deleting the trigger left %d timers", n)
	}
}

// Two engines, each with its scheduler, on one PostgreSQL database take the
// same due ticks: each tick starts exactly one execution.
func TestCronTicksFireOnceWithTwoEnginesOnPostgres(t *testing.T) {
	dbURL := freshPostgres(t)
	r := newRig(t)
	ctx := context.Background()
	open := func() store.Store {
		st, err := store.Open(ctx, dbURL, hclog.NewNullLogger())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return st
	}
	st1, st2 := open(), open()
	e1, err := New(Config{Store: st1, Conn: r.conn, Registry: r.reg, Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	e2, err := New(Config{Store: st2, Conn: r.conn, Registry: r.reg, Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e1.CreateWorkflows(ctx, chain); err != nil {
		t.Fatal(err)
	}
	const triggers, ticks = 20, 3
	clock := &testClock{}
	first := nextMinute()
	clock.set(first.Add(-2 * time.Minute))
	for i := 0; i < triggers; i++ {
		if _, err := e1.CreateCronTrigger(ctx, api.CronTriggerRequest{
			Name: fmt.Sprintf("t%02d", i), Pattern: "* * * * *", WorkflowName: "chain", FirstExecutionTime: &first,
		}); err != nil {
			t.Fatal(err)
		}
	}
	s1, _ := startScheduler(t, e1, clock)
	s2, _ := startScheduler(t, e2, clock)
	for k := 0; k < ticks; k++ {
		jump(first.Add(time.Duration(k)*time.Minute), clock, s1, s2)
		want := triggers * (k + 1)
		waitFor(t, fmt.Sprintf("tick %d", k), func() bool { return len(cronExecutions(t, st1)) >= want })
	}
	time.Sleep(300 * time.Millisecond)
	perTrigger := map[string]int{}
	for _, ex := range cronExecutions(t, st1) {
		perTrigger[ex.Description]++
	}
	if n := len(cronExecutions(t, st1)); n != triggers*ticks {
		t.Fatalf("%d executions for %d triggers x %d ticks", n, triggers, ticks)
	}
	for k, n := range perTrigger {
		if n != ticks {
			t.Errorf("%s started %d executions in %d ticks", k, n, ticks)
		}
	}
}

// freshPostgres creates an empty database on the test server and drops it
// when the test ends. An unreachable server fails the test (set
// SIROCCO_TEST_NO_POSTGRES=1 to skip explicitly).
func freshPostgres(t *testing.T) string {
	t.Helper()
	if os.Getenv("SIROCCO_TEST_NO_POSTGRES") == "1" {
		t.Skip("SIROCCO_TEST_NO_POSTGRES=1: PostgreSQL tests skipped on request")
	}
	admin := os.Getenv("SIROCCO_TEST_POSTGRES_URL")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		t.Fatalf("PostgreSQL is unreachable (set SIROCCO_TEST_POSTGRES_URL, or SIROCCO_TEST_NO_POSTGRES=1 to skip): %v", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "sirocco_test_" + hex.EncodeToString(b[:])
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}
