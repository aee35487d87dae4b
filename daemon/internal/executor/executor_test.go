package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
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
	conn *transport.Conn
	mu   sync.Mutex
	// results holds every result received, by action execution id, in
	// the order received.
	results map[string][]transport.ActionResult
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
	r := &rig{conn: conn, results: map[string][]transport.ActionResult{}}
	sub, err := conn.ConsumeResults(ctx, 16, func(m jetstream.Msg) {
		var res transport.ActionResult
		if err := transport.Decode(m.Data(), &res); err == nil {
			r.mu.Lock()
			r.results[res.ActionExecutionID] = append(r.results[res.ActionExecutionID], res)
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

// result waits for the first result of an action execution.
func (r *rig) result(t *testing.T, id string) transport.ActionResult {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		res := r.results[id]
		r.mu.Unlock()
		if len(res) > 0 {
			return res[0]
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
	if res := r.results[id]; len(res) > 0 {
		t.Fatalf("unexpected result for %s: %+v (error %+v)", id, res[0], res[0].Error)
	}
}

// onlyResult checks that an action execution got exactly the one result
// the test has seen: a second would be a result reported twice, or
// reported by a host that should have handed the action back.
func (r *rig) onlyResult(t *testing.T, id string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if res := r.results[id]; len(res) != 1 {
		t.Fatalf("%s has %d results, want 1: %+v", id, len(res), res)
	}
}

// gate is a test action run that lasts until the test opens the gate or
// the run is cancelled, so that a test knows when an action has started
// and decides when it ends, rather than sleeping and hoping the machine
// kept up. Requests name their gate in the input of test.gate.
type gate struct {
	name    string
	started chan struct{} // closed when its first run starts
	open    chan struct{} // closed by Open: runs end with the name as output
	start   sync.Once
	opened  sync.Once
}

var (
	gates   sync.Map // name -> *gate
	gateSeq atomic.Int64
)

// test.gate exists in this package's tests only: registered before any
// host runs, so no host reads the map while it changes.
func init() {
	builtins["test.gate"] = func(ctx context.Context, in map[string]any) (any, *transport.ActionError) {
		name, _ := in["gate"].(string)
		v, ok := gates.Load(name)
		if !ok {
			return nil, &transport.ActionError{Type: "InvalidInput", Message: fmt.Sprintf("test.gate: no gate %q", name)}
		}
		g := v.(*gate)
		g.start.Do(func() { close(g.started) })
		select {
		case <-g.open:
			return name, nil
		case <-ctx.Done():
			return nil, &transport.ActionError{Type: "ActionTimeout", Message: "test.gate interrupted: " + ctx.Err().Error()}
		}
	}
}

// newGate makes a gate of this test; it opens when the test ends, so that
// no run outlives the test.
func newGate(t *testing.T) *gate {
	g := &gate{name: fmt.Sprintf("%s/%d", t.Name(), gateSeq.Add(1)), started: make(chan struct{}), open: make(chan struct{})}
	gates.Store(g.name, g)
	t.Cleanup(func() { g.Open(); gates.Delete(g.name) })
	return g
}

// request is an action request that runs the gate.
func (g *gate) request(id string) transport.ActionRequest {
	in, _ := json.Marshal(map[string]string{"gate": g.name})
	return transport.ActionRequest{ActionExecutionID: id, Action: "test.gate", Input: in, Attempt: 1}
}

// Open ends the gate's runs, and lets later runs end at once.
func (g *gate) Open() { g.opened.Do(func() { close(g.open) }) }

// waitStarted waits until a run of the gate has started.
func (g *gate) waitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-g.started:
	case <-time.After(10 * time.Second):
		t.Fatalf("gate %s: no run started within 10s", g.name)
	}
}

// lineSignal is a log output that passes on each line containing want.
type lineSignal struct {
	want  string
	lines chan string
}

func (w lineSignal) Write(p []byte) (int, error) {
	if line := string(p); strings.Contains(line, w.want) {
		select {
		case w.lines <- line:
		default: // the test reads the first such line only
		}
	}
	return len(p), nil
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
//
// Gates, not sleeps, decide which action ends when: the three run when the
// stop begins, one ends during the grace period, two outlast it.
func TestGracefulStop(t *testing.T) {
	r := newRig(t, false)
	grace := lineSignal{want: "stopping: waiting for running actions", lines: make(chan string, 1)}
	stop := r.startHost(t, Config{ID: "old", Grace: 2 * time.Second, Logger: hclog.New(&hclog.LoggerOptions{Output: grace})})
	t.Cleanup(stop)
	// Made after the host, so that on a failure they open (and its runs
	// end) before it stops.
	short, long, rerun := newGate(t), newGate(t), newGate(t)
	r.send(t, short.request("short"))
	r.send(t, long.request("long"))
	req := rerun.request("long-rerun")
	req.SafeRerun = true
	r.send(t, req)
	for _, g := range []*gate{short, long, rerun} {
		g.waitStarted(t)
	}

	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case line := <-grace.lines:
		if !strings.Contains(line, "running=3") {
			t.Fatalf("the grace period began with other than the three actions running: %s", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stopping host did not wait for its running actions")
	}
	short.Open()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("the host did not stop: it waited for actions past its grace period")
	}
	name, _ := json.Marshal(short.name)
	if res := r.result(t, "short"); res.Error != nil || res.Executor != "old" || string(res.Output) != string(name) {
		t.Fatalf("short action: %+v, want finished by the old host", res)
	}

	// The rerun ends at once on the new host; long, not safe-rerun, must
	// not run again.
	rerun.Open()
	defer r.startHost(t, Config{ID: "new"})()
	if res := r.result(t, "long"); res.Error == nil || res.Error.Type != transport.ErrTypeExecutorLost || res.Executor != "new" {
		t.Fatalf("long action: %+v, want ExecutorLost from the new host", res)
	}
	if res := r.result(t, "long-rerun"); res.Error != nil || res.Executor != "new" {
		t.Fatalf("safe-rerun action: %+v, want rerun by the new host", res)
	}
	// The old host reported neither of the actions it handed back, and
	// nothing twice.
	for _, id := range []string{"short", "long", "long-rerun"} {
		r.onlyResult(t, id)
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
