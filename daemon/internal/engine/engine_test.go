package engine

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"go.uber.org/goleak"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/executor"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
	"github.com/sirocco-wf/sirocco/daemon/internal/transport"
)

func TestMain(m *testing.M) {
	// Every load served from the execution cache is checked against the table.
	os.Setenv("SIROCCO_CHECK_EXEC_CACHE", "1")
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*Server).startGoRoutine.func1"),
		goleak.IgnoreAnyFunction("github.com/nats-io/nats-server/v2/server.(*fileStore).syncBlocks"),
		// database/sql's connection opener lives as long as the DB handle.
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
	)
}

// rig is a real engine on SQLite with an embedded NATS server and an
// executor host that runs the built-in actions.
type rig struct {
	store store.Store
	conn  *transport.Conn
	reg   *transport.Registry
	eng   *Engine
	stop  func()
	// stopHost stops the rig's executor host.
	stopHost func()
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv, err := transport.StartEmbedded("127.0.0.1:-1", t.TempDir(), hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	conn, err := transport.Connect(ctx, transport.Options{InProcess: srv.Server(), Prefix: "t"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	if err := conn.EnsureStreams(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"), hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	reg, err := conn.Registry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{store: st, conn: conn, reg: reg}
	r.stopHost = r.startExecutor(t)
	t.Cleanup(func() { r.stopHost() })
	eng, err := New(Config{Store: st, Conn: conn, Registry: reg, Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	r.eng = eng
	return r
}

// startExecutor starts an executor host with the built-in actions; the
// returned function stops it (idempotent).
func (r *rig) startExecutor(t *testing.T) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ex, err := executor.New(executor.Config{Conn: r.conn, Registry: r.reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Start(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = ex.Serve(ctx); close(done) }()
	var once sync.Once
	return func() { once.Do(func() { cancel(); <-done }) }
}

// run starts the engine's loops; stop ends them and waits.
func (r *rig) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.eng.Run(ctx); close(done) }()
	r.stop = func() { cancel(); <-done }
	t.Cleanup(func() {
		if r.stop != nil {
			r.stop()
		}
	})
}

func (r *rig) wait(t *testing.T, id string) *store.Execution {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ex, err := r.eng.GetExecution(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ex.State != store.StateRunning {
			return ex
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution %s still RUNNING", id)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const chain = `
version: '2.0'
chain:
  input:
    - n: 1
  output:
    total: <% $.total %>
  tasks:
    a:
      action: std.echo output=<% $.n %>
      publish: {total: <% task().result %>}
      on-success: b
    b:
      action: std.echo output=<% $.total + 10 %>
      publish: {total: <% task().result %>}
      on-success: c
    c:
      action: std.echo output=<% $.total * 2 %>
      publish: {total: <% task().result %>}
`

func TestRunsAChain(t *testing.T) {
	r := newRig(t)
	r.run(t)
	ctx := context.Background()
	if _, err := r.eng.CreateWorkflows(ctx, chain); err != nil {
		t.Fatal(err)
	}
	ex, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "chain", Input: map[string]any{"n": 4}})
	if err != nil {
		t.Fatal(err)
	}
	done := r.wait(t, ex.ID)
	if done.State != store.StateSuccess || string(done.Output) != `{"total":28}` {
		t.Fatalf("execution = %s %s %s", done.State, done.StateInfo, done.Output)
	}
	tasks, err := r.eng.ListTasks(ctx, ex.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 3 {
		t.Fatalf("tasks = %d, want 3", len(tasks))
	}
	// Same id again: the same execution, not a second one.
	again, err := r.eng.StartExecution(ctx, api.StartRequest{ID: ex.ID, WorkflowName: "chain"})
	if err != nil || again.ID != ex.ID || again.State != store.StateSuccess {
		t.Fatalf("start with an existing id = %+v, %v", again, err)
	}
}

// An engine that dies after committing but before publishing leaves its
// messages in the outbox; the next engine sends them on start and the
// execution completes.
func TestOutboxSurvivesACrash(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.eng.CreateWorkflows(ctx, chain); err != nil {
		t.Fatal(err)
	}
	// Not running: StartExecution commits, nothing flushes.
	ex, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "chain"})
	if err != nil {
		t.Fatal(err)
	}
	var pending int
	_ = r.store.InTx(ctx, func(tx store.Tx) error {
		msgs, err := tx.ListOutbox(10)
		pending = len(msgs)
		return err
	})
	if pending != 1 {
		t.Fatalf("outbox holds %d messages, want 1", pending)
	}
	fresh, err := New(Config{Store: r.store, Conn: r.conn, Registry: r.reg})
	if err != nil {
		t.Fatal(err)
	}
	r.eng = fresh
	r.run(t)
	if done := r.wait(t, ex.ID); done.State != store.StateSuccess || string(done.Output) != `{"total":22}` {
		t.Fatalf("execution = %s %s %s", done.State, done.StateInfo, done.Output)
	}
}

// A result delivered twice (an executor host that died after publishing
// but before acknowledging) changes nothing the second time.
func TestDuplicateResultDropped(t *testing.T) {
	r := newRig(t)
	r.run(t)
	ctx := context.Background()
	if _, err := r.eng.CreateWorkflows(ctx, chain); err != nil {
		t.Fatal(err)
	}
	ex, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "chain"})
	if err != nil {
		t.Fatal(err)
	}
	done := r.wait(t, ex.ID)
	tasks, err := r.eng.ListTasks(ctx, ex.ID)
	if err != nil {
		t.Fatal(err)
	}
	var firstAction string
	_ = r.store.InTx(ctx, func(tx store.Tx) error {
		for _, tk := range tasks {
			if tk.Name == "a" {
				var rt struct {
					ActionExecutionID string `json:"action_execution_id"`
				}
				_ = json.Unmarshal(tk.Runtime, &rt)
				firstAction = rt.ActionExecutionID
			}
		}
		return nil
	})
	// The same result again, with another message id so JetStream's
	// de-duplication does not hide it: the engine itself must drop it.
	res, _ := json.Marshal(transport.ActionResult{V: transport.ProtocolVersion, ActionExecutionID: firstAction, ExecutionID: ex.ID, Attempt: 1, Output: json.RawMessage(`999`)})
	if err := r.conn.PublishAll(ctx, []transport.Outgoing{{Subject: r.conn.ResultSubject(), MsgID: "dup", Data: res}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	after, err := r.eng.GetExecution(ctx, ex.ID)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := r.eng.ListTasks(ctx, ex.ID)
	if after.State != done.State || string(after.Output) != string(done.Output) || len(again) != len(tasks) {
		t.Fatalf("a duplicate result changed the execution: %s %s, %d tasks", after.State, after.Output, len(again))
	}
}

// An action whose hosts are all gone is queued anyway: the task says what
// it waits for, and runs when a host comes back.
func TestWaitsForAHost(t *testing.T) {
	r := newRig(t)
	r.run(t)
	ctx := context.Background()
	if _, err := r.eng.CreateWorkflows(ctx, chain); err != nil {
		t.Fatal(err)
	}
	// The rig's host is the only one; take it away.
	r.stopHost()
	if n := len(r.reg.Hosts()); n != 0 {
		t.Fatalf("%d hosts still registered", n)
	}
	ex, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "chain"})
	if err != nil {
		t.Fatalf("an action served before must be accepted while no host is up: %v", err)
	}
	tasks, err := r.eng.ListTasks(ctx, ex.ID)
	if err != nil || len(tasks) != 1 {
		t.Fatalf("tasks = %v, %v", tasks, err)
	}
	if tasks[0].State != store.StateRunning || !strings.Contains(tasks[0].StateInfo, "waiting for an executor host") {
		t.Fatalf("task = %s %q, want RUNNING and saying what it waits for", tasks[0].State, tasks[0].StateInfo)
	}
	stop := r.startExecutor(t)
	defer stop()
	if done := r.wait(t, ex.ID); done.State != store.StateSuccess {
		t.Fatalf("execution = %s %s after a host came back", done.State, done.StateInfo)
	}
}

// An async action stays RUNNING until its result is given through the
// API; the workflow then goes on from that result, once.
func TestAsyncActionCompletedThroughTheAPI(t *testing.T) {
	r := newRig(t)
	r.eng.apiURL = "http://api.example"
	r.run(t)
	ctx := context.Background()
	wf := `
version: '2.0'
waits:
  output:
    got: <% $.got %>
  tasks:
    wait:
      action: std.async_noop
      publish: {got: <% task().result.answer %>}
      on-error: recover
    recover:
      action: std.echo output="recovered"
      publish: {got: <% task(wait).result %>}
`
	if _, err := r.eng.CreateWorkflows(ctx, wf); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		state   string
		output  any
		wantOut string
	}{
		{store.StateSuccess, map[string]any{"answer": 42}, `{"got":42}`},
		{store.StateError, "the callee gave up", `{"got":"the callee gave up"}`},
	}
	for _, tc := range tests {
		t.Run(tc.state, func(t *testing.T) {
			ex, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "waits"})
			if err != nil {
				t.Fatal(err)
			}
			actionID := waitActionID(t, r, ex.ID)
			time.Sleep(200 * time.Millisecond) // the host has run it and reported nothing
			if got, _ := r.eng.GetExecution(ctx, ex.ID); got.State != store.StateRunning {
				t.Fatalf("execution %s before the callback, want RUNNING", got.State)
			}
			if err := r.eng.CompleteActionExecution(ctx, actionID, tc.state, tc.output); err != nil {
				t.Fatal(err)
			}
			done := r.wait(t, ex.ID)
			if done.State != store.StateSuccess || string(done.Output) != tc.wantOut {
				t.Fatalf("execution = %s %s %s, want SUCCESS %s", done.State, done.StateInfo, done.Output, tc.wantOut)
			}
			err = r.eng.CompleteActionExecution(ctx, actionID, store.StateSuccess, 1)
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("a second completion: %v, want a conflict", err)
			}
		})
	}
}

// A task's timeout fails it with Mistral's message when its action runs
// longer, whether the timeout is a number or an expression; a task that
// ends in time is not touched.
func TestTaskTimeout(t *testing.T) {
	r := newRig(t)
	r.run(t)
	startScheduler(t, r.eng, &testClock{})
	ctx := context.Background()
	wf := `
version: '2.0'
slow:
  input: [sleep, timeout]
  tasks:
    nap:
      action: std.sleep seconds=<% $.sleep %>
      timeout: <% $.timeout %>
      on-error: handled
    handled:
      action: std.noop
`
	if _, err := r.eng.CreateWorkflows(ctx, wf); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		sleep     float64
		timeout   int
		wantState string
		wantInfo  string
	}{
		{"times out", 30, 1, store.StateError, "Task timed out [timeout(s)=1]."},
		{"ends in time", 0.01, 5, store.StateSuccess, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			begin := time.Now()
			ex, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "slow", Input: map[string]any{"sleep": tc.sleep, "timeout": tc.timeout}})
			if err != nil {
				t.Fatal(err)
			}
			done := r.wait(t, ex.ID)
			if done.State != store.StateSuccess {
				t.Fatalf("execution %s: %s", done.State, done.StateInfo)
			}
			if took := time.Since(begin); took > 10*time.Second {
				t.Fatalf("took %v: the timeout did not cut the 30 s sleep", took)
			}
			tasks, _ := r.eng.ListTasks(ctx, ex.ID)
			for _, tk := range tasks {
				if tk.Name == "nap" && (tk.State != tc.wantState || tk.StateInfo != tc.wantInfo) {
					t.Fatalf("nap = %s %q, want %s %q", tk.State, tk.StateInfo, tc.wantState, tc.wantInfo)
				}
			}
		})
	}
}

// Stopping a running execution ends it at once with the given state,
// cancels its running task and action, and refuses a second stop and a
// late result.
func TestStopExecution(t *testing.T) {
	r := newRig(t)
	r.run(t)
	ctx := context.Background()
	wf := `
version: '2.0'
stoppable:
  output:
    how: done
  output-on-error:
    how: failed
  tasks:
    wait:
      action: std.async_noop
`
	if _, err := r.eng.CreateWorkflows(ctx, wf); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		state, info, wantOutput string
	}{
		{store.StateCancel, "changed my mind", `{"result":"changed my mind"}`},
		{store.StateError, "operator failed it", `{"how":"failed","result":"operator failed it"}`},
		{store.StateSuccess, "", `{"how":"done"}`},
	}
	for _, tc := range tests {
		t.Run(tc.state, func(t *testing.T) {
			ex, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "stoppable"})
			if err != nil {
				t.Fatal(err)
			}
			stopped, err := r.eng.UpdateExecution(ctx, ex.ID, api.ExecutionUpdate{State: tc.state, StateInfo: tc.info})
			if err != nil {
				t.Fatal(err)
			}
			if stopped.State != tc.state || stopped.StateInfo != tc.info || string(stopped.Output) != tc.wantOutput {
				t.Fatalf("stopped = %s %q %s, want %s %q %s", stopped.State, stopped.StateInfo, stopped.Output, tc.state, tc.info, tc.wantOutput)
			}
			tasks, _ := r.eng.ListTasks(ctx, ex.ID)
			if len(tasks) != 1 || tasks[0].State != store.StateCancel {
				t.Fatalf("tasks = %+v, want the running task CANCELLED", tasks)
			}
			var rt struct {
				ActionExecutionID string `json:"action_execution_id"`
			}
			_ = json.Unmarshal(tasks[0].Runtime, &rt)
			if err := r.eng.CompleteActionExecution(ctx, rt.ActionExecutionID, store.StateSuccess, 1); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("a late result: %v, want a conflict", err)
			}
			if _, err := r.eng.UpdateExecution(ctx, ex.ID, api.ExecutionUpdate{State: store.StateCancel}); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("a second stop: %v, want a conflict", err)
			}
		})
	}
	var br interface{ BadRequest() bool }
	for _, u := range []api.ExecutionUpdate{{}, {State: "BOGUS"}, {State: store.StateCancel, Description: "x"}} {
		if _, err := r.eng.UpdateExecution(ctx, "any", u); !errors.As(err, &br) {
			t.Errorf("update %+v: %v, want a bad request", u, err)
		}
	}
}

// An action whose request would be larger than NATS accepts fails its task
// with a message saying so, and never blocks the outbox for the executions
// after it.
func TestOversizedInputFailsItsTaskOnly(t *testing.T) {
	r := newRig(t)
	r.run(t)
	ctx := context.Background()
	// A literal, not an expression: expressions refuse to build values of
	// this size long before NATS would.
	huge := strings.Repeat("x", int(r.conn.MaxPayload())+1)
	wf := "version: '2.0'\nbig:\n  tasks:\n    send:\n      action: std.echo\n      input:\n        output: " + huge + "\n" +
		"small:\n  tasks:\n    send:\n      action: std.echo output=\"ok\"\n"
	if _, err := r.eng.CreateWorkflows(ctx, wf); err != nil {
		t.Fatal(err)
	}
	ex, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "big"})
	if err != nil {
		t.Fatal(err)
	}
	if done := r.wait(t, ex.ID); done.State != store.StateError || !strings.Contains(done.StateInfo, "pass large data by reference") {
		t.Fatalf("oversized: %s %.200s", done.State, done.StateInfo)
	}
	small, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "small"})
	if err != nil {
		t.Fatal(err)
	}
	if done := r.wait(t, small.ID); done.State != store.StateSuccess {
		t.Fatalf("the next execution: %s %s", done.State, done.StateInfo)
	}
}
