package executor

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/sirocco-wf/sirocco/daemon/internal/transport"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*Server).startGoRoutine.func1"),
		goleak.IgnoreAnyFunction("github.com/nats-io/nats-server/v2/server.(*fileStore).syncBlocks"),
	)
}

// rig is a real NATS server, an executor host with the built-in actions,
// and a collector of the results it sends.
type rig struct {
	conn    *transport.Conn
	mu      sync.Mutex
	results map[string]transport.ActionResult
}

func newRig(t *testing.T, start bool) *rig {
	t.Helper()
	srv, err := transport.StartEmbedded("127.0.0.1:-1", t.TempDir(), hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	ctx := context.Background()
	conn, err := transport.Connect(ctx, transport.Options{InProcess: srv.Server(), Prefix: "t"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	if err := conn.EnsureStreams(ctx); err != nil {
		t.Fatal(err)
	}
	r := &rig{conn: conn, results: map[string]transport.ActionResult{}}
	sub, err := conn.ConsumeResults(ctx, 16, func(m jetstream.Msg) {
		var res transport.ActionResult
		if err := transport.Decode(m.Data(), &res); err == nil {
			r.mu.Lock()
			r.results[res.ActionExecutionID] = res
			r.mu.Unlock()
		}
		_ = m.Ack()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Stop)
	if start {
		r.startExecutor(t)
	}
	return r
}

func (r *rig) startExecutor(t *testing.T) {
	t.Helper()
	stop := r.startHost(t, Config{ID: "h1"})
	t.Cleanup(stop)
}

// startHost starts an executor host; the returned function stops it as
// SIGTERM does and waits until it has stopped.
func (r *rig) startHost(t *testing.T, cfg Config) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	reg, err := r.conn.Registry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Conn, cfg.Registry, cfg.Capacity = r.conn, reg, 8
	ex, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Start(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ex.Serve(ctx) }()
	var once sync.Once
	return func() { once.Do(func() { cancel(); <-done }) }
}

func (r *rig) send(t *testing.T, req transport.ActionRequest) {
	t.Helper()
	if req.V == "" {
		req.V = transport.ProtocolVersion
	}
	b, _ := json.Marshal(req)
	r.sendRaw(t, req.ActionExecutionID, b)
}

func (r *rig) sendRaw(t *testing.T, id string, data []byte) {
	t.Helper()
	err := r.conn.PublishAll(context.Background(), []transport.Outgoing{{
		Subject: r.conn.ActionSubject(transport.DefaultTarget, transport.BuiltinPlugin), MsgID: id, Data: data,
	}})
	if err != nil {
		t.Fatal(err)
	}
}

func (r *rig) result(t *testing.T, id string) transport.ActionResult {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		res, ok := r.results[id]
		r.mu.Unlock()
		if ok {
			return res
		}
		if time.Now().After(deadline) {
			t.Fatalf("no result for %s", id)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *rig) noResult(t *testing.T, id string) {
	t.Helper()
	time.Sleep(200 * time.Millisecond)
	r.mu.Lock()
	defer r.mu.Unlock()
	if res, ok := r.results[id]; ok {
		t.Fatalf("unexpected result for %s: %+v (error %+v)", id, res, res.Error)
	}
}

func TestBuiltins(t *testing.T) {
	r := newRig(t, true)
	tests := []struct {
		id, action, input string
		wantOutput        string
		wantErrType       string
	}{
		{"echo", "std.echo", `{"output": {"a": [1, "x"]}}`, `{"a":[1,"x"]}`, ""},
		{"noop", "std.noop", `{}`, `null`, ""},
		{"fail", "std.fail", `{}`, "", "ActionException"},
		{"sleep", "std.sleep", `{"seconds": 0.01}`, `null`, ""},
		{"dict", "std.test_dict", `{"size": 2, "key_prefix": "k", "val": 7}`, `{"k0":7,"k1":7}`, ""},
		{"badinput", "std.echo", `[1]`, "", "InvalidInput"},
		{"unknown", "std.nope", `{}`, "", "UnknownAction"},
		{"dict too big", "std.test_dict", `{"size": 1e10}`, "", "InvalidInput"},
	}
	for _, tc := range tests {
		r.send(t, transport.ActionRequest{ActionExecutionID: tc.id, Action: tc.action, Input: json.RawMessage(tc.input), Attempt: 1})
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			res := r.result(t, tc.id)
			if tc.wantErrType != "" {
				if res.Error == nil || res.Error.Type != tc.wantErrType {
					t.Fatalf("error = %+v, want type %s", res.Error, tc.wantErrType)
				}
				return
			}
			if res.Error != nil {
				t.Fatalf("unexpected error %+v", res.Error)
			}
			if string(res.Output) != tc.wantOutput {
				t.Fatalf("output = %s, want %s", res.Output, tc.wantOutput)
			}
			if res.Executor != "h1" || res.Attempt != 1 {
				t.Fatalf("result does not name its host and attempt: %+v", res)
			}
		})
	}
}

// A request in a foreign major version is left for another host, and a
// malformed one is dropped; neither gets a result, and the host goes on.
func TestRefusesWhatItCannotRead(t *testing.T) {
	r := newRig(t, true)
	r.sendRaw(t, "v2", []byte(`{"v":"2.0","action_execution_id":"v2","action":"std.noop"}`))
	r.sendRaw(t, "junk", []byte(`{junk`))
	r.noResult(t, "v2")
	r.send(t, transport.ActionRequest{ActionExecutionID: "after", Action: "std.noop", Attempt: 1})
	if res := r.result(t, "after"); res.Error != nil {
		t.Fatalf("host stopped working after bad input: %+v", res.Error)
	}
}

// A request delivered a second time was taken by a host that died while
// running it: a task that is not safe-rerun gets an ExecutorLost error, a
// safe-rerun one runs again.
func TestRedeliveryAfterLostHost(t *testing.T) {
	r := newRig(t, false)
	ctx := context.Background()
	// The "lost host" takes each request and gives it back unanswered.
	var mu sync.Mutex
	taken := map[string]bool{}
	lost, err := r.conn.ConsumeActions(ctx, transport.DefaultTarget, transport.BuiltinPlugin, 4, nil, func(m jetstream.Msg) {
		var req transport.ActionRequest
		_ = json.Unmarshal(m.Data(), &req)
		mu.Lock()
		taken[req.ActionExecutionID] = true
		mu.Unlock()
		_ = m.NakWithDelay(300 * time.Millisecond)
	})
	if err != nil {
		t.Fatal(err)
	}
	r.send(t, transport.ActionRequest{ActionExecutionID: "plain", Action: "std.echo", Input: json.RawMessage(`{"output": 1}`), Attempt: 1})
	r.send(t, transport.ActionRequest{ActionExecutionID: "rerun", Action: "std.echo", Input: json.RawMessage(`{"output": 2}`), Attempt: 1, SafeRerun: true})
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(taken)
		mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the lost host never took both requests")
		}
		time.Sleep(5 * time.Millisecond)
	}
	lost.Stop()
	r.startExecutor(t)

	if res := r.result(t, "plain"); res.Error == nil || res.Error.Type != transport.ErrTypeExecutorLost {
		t.Fatalf("plain task: %+v, want an ExecutorLost error", res)
	}
	if res := r.result(t, "rerun"); res.Error != nil || string(res.Output) != "2" {
		t.Fatalf("safe-rerun task: %+v, want it run again with output 2", res)
	}
}

// A stopping host finishes what ends within its grace period and hands the
// rest back: another host then reruns a safe-rerun task and reports the
// others as lost, as after a crash; nothing is reported as cancelled.
func TestGracefulStop(t *testing.T) {
	r := newRig(t, false)
	stop := r.startHost(t, Config{ID: "old", Grace: 300 * time.Millisecond})
	r.send(t, transport.ActionRequest{ActionExecutionID: "short", Action: "std.sleep", Input: json.RawMessage(`{"seconds": 0.05}`), Attempt: 1})
	r.send(t, transport.ActionRequest{ActionExecutionID: "long", Action: "std.sleep", Input: json.RawMessage(`{"seconds": 30}`), Attempt: 1})
	r.send(t, transport.ActionRequest{ActionExecutionID: "long-rerun", Action: "std.sleep", Input: json.RawMessage(`{"seconds": 0.5}`), Attempt: 1, SafeRerun: true})
	time.Sleep(100 * time.Millisecond) // all three started
	begin := time.Now()
	stop()
	// Far below the 30 s sleep it cut short; generous above the grace,
	// since stopping also ends pull requests and a loaded machine is slow.
	if d := time.Since(begin); d > 10*time.Second {
		t.Fatalf("stop took %v with a grace of 300ms", d)
	}
	if res := r.result(t, "short"); res.Error != nil || res.Executor != "old" {
		t.Fatalf("short action: %+v, want finished by the old host", res)
	}
	r.noResult(t, "long")

	defer r.startHost(t, Config{ID: "new"})()
	if res := r.result(t, "long"); res.Error == nil || res.Error.Type != transport.ErrTypeExecutorLost {
		t.Fatalf("long action: %+v, want ExecutorLost from the new host", res)
	}
	if res := r.result(t, "long-rerun"); res.Error != nil || res.Executor != "new" {
		t.Fatalf("safe-rerun action: %+v, want rerun by the new host", res)
	}
}

// A request whose action execution was cancelled while it waited in the
// queue (here: before any host was up) is dropped, not run.
func TestDropsRequestsCancelledWhileQueued(t *testing.T) {
	r := newRig(t, false)
	if err := r.conn.PublishCancel("gone", "workflow execution stopped"); err != nil {
		t.Fatal(err)
	}
	r.send(t, transport.ActionRequest{ActionExecutionID: "gone", Action: "std.echo", Input: json.RawMessage(`{"output": 1}`), Attempt: 1})
	r.startExecutor(t)
	r.send(t, transport.ActionRequest{ActionExecutionID: "kept", Action: "std.echo", Input: json.RawMessage(`{"output": 2}`), Attempt: 1})
	if res := r.result(t, "kept"); res.Error != nil {
		t.Fatalf("kept: %+v", res.Error)
	}
	r.noResult(t, "gone")
}
