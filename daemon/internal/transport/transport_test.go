package transport

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// The NATS server keeps a few process-wide goroutines.
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*Server).startGoRoutine.func1"),
		goleak.IgnoreAnyFunction("github.com/nats-io/nats-server/v2/server.(*fileStore).syncBlocks"),
	)
}

// embedded starts a real NATS server with JetStream for one test and
// connects to it over TCP, as an executor host in another process would.
func embedded(t *testing.T) *Conn {
	t.Helper()
	srv, err := StartEmbedded("127.0.0.1:-1", t.TempDir(), hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Connect(ctx, Options{URL: srv.ClientURL(), Prefix: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := c.EnsureStreams(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCheckVersion(t *testing.T) {
	tests := []struct {
		v  string
		ok bool
	}{
		{"1.0", true}, {"1.7", true}, {"1", true}, {"2.0", false}, {"", false}, {"x.1", false},
	}
	for _, tc := range tests {
		err := CheckVersion(tc.v)
		var ver *ErrUnsupportedVersion
		if tc.ok != (err == nil) || (err != nil && !errors.As(err, &ver)) {
			t.Errorf("CheckVersion(%q) = %v, want ok=%v", tc.v, err, tc.ok)
		}
	}
	var r ActionRequest
	if err := Decode([]byte(`{"v":"1.3","action":"std.echo","future_field":1}`), &r); err != nil || r.Action != "std.echo" {
		t.Errorf("a newer minor with an unknown field must decode: %v %+v", err, r)
	}
	if err := Decode([]byte(`{"v":"2.0","action":"std.echo"}`), &r); err == nil {
		t.Error("a foreign major must be refused")
	}
	if err := Decode([]byte(`{not json`), &r); err == nil {
		t.Error("malformed JSON must be refused")
	}
}

// A request published twice with the same message id (an outbox re-sent
// after a crash) is delivered once.
func TestPublishDeduplicates(t *testing.T) {
	c := embedded(t)
	ctx := context.Background()
	var got atomic.Int32
	sub, err := c.ConsumeActions(ctx, DefaultTarget, "builtin", 4, nil, func(m jetstream.Msg) {
		got.Add(1)
		_ = m.Ack()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	msg := Outgoing{Subject: c.ActionSubject(DefaultTarget, "builtin"), MsgID: "action/x/1", Data: []byte(`{"v":"1.0"}`)}
	for i := 0; i < 2; i++ {
		if err := c.PublishAll(ctx, []Outgoing{msg}); err != nil {
			t.Fatal(err)
		}
	}
	other := msg
	other.MsgID = "action/y/1"
	if err := c.PublishAll(ctx, []Outgoing{other}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two deliveries", func() bool { return got.Load() >= 2 })
	time.Sleep(100 * time.Millisecond)
	if n := got.Load(); n != 2 {
		t.Fatalf("deliveries = %d, want 2 (the duplicate must be dropped)", n)
	}
}

// A host pulls no more than it has slots for: with one slot and a handler
// that is busy, a second message stays in the stream for other hosts.
func TestConsumeActionsBackPressure(t *testing.T) {
	c := embedded(t)
	ctx := context.Background()
	release := make(chan struct{})
	var started atomic.Int32
	sub, err := c.ConsumeActions(ctx, DefaultTarget, "p", 1, nil, func(m jetstream.Msg) {
		started.Add(1)
		<-release
		_ = m.Ack()
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		if err := c.PublishAll(ctx, []Outgoing{{Subject: c.ActionSubject(DefaultTarget, "p"), MsgID: id, Data: []byte("{}")}}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the first message", func() bool { return started.Load() == 1 })
	// A second host with a free slot gets the second message.
	var second atomic.Int32
	sub2, err := c.ConsumeActions(ctx, DefaultTarget, "p", 1, nil, func(m jetstream.Msg) {
		second.Add(1)
		_ = m.Ack()
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second host to take the second message", func() bool { return second.Load() == 1 })
	if n := started.Load(); n != 1 {
		t.Fatalf("the busy host started %d messages, want 1", n)
	}
	close(release)
	sub.Stop()
	sub2.Stop()
}

func TestRegistry(t *testing.T) {
	c := embedded(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	host, err := c.Registry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := c.Registry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := engine.Watch(ctx); err != nil {
		t.Fatal(err)
	}
	info := ExecutorInfo{ID: "h1", Target: "gpu", Plugins: []PluginEntry{{Name: "http", Actions: []string{"std.http"}}}}
	if err := host.Put(ctx, info); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the engine to see the host", func() bool { _, ok := engine.PluginFor("gpu", "std.http"); return ok })
	if p, _ := engine.PluginFor("gpu", "std.http"); p != "http" {
		t.Fatalf("PluginFor = %q, want http", p)
	}
	if _, ok := engine.PluginFor(DefaultTarget, "std.http"); ok {
		t.Fatal("an action must only route to the target its host serves")
	}
	if err := host.Remove(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the engine to forget the host", func() bool { return len(engine.Hosts()) == 0 })
}

// A host-wide bound holds across plugins: with one host slot, a busy
// action of one plugin keeps the host from taking another plugin's work.
func TestHostSlotsBoundAllPlugins(t *testing.T) {
	c := embedded(t)
	ctx := context.Background()
	host := NewSlots(1)
	release := make(chan struct{})
	var started atomic.Int32
	handler := func(m jetstream.Msg) {
		started.Add(1)
		<-release
		_ = m.Ack()
	}
	var subs []*Subscription
	for _, p := range []string{"a", "b"} {
		s, err := c.ConsumeActions(ctx, DefaultTarget, p, 4, host, handler)
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
		if err := c.PublishAll(ctx, []Outgoing{{Subject: c.ActionSubject(DefaultTarget, p), MsgID: p, Data: []byte("{}")}}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "one action to start", func() bool { return started.Load() == 1 })
	time.Sleep(300 * time.Millisecond)
	if n := started.Load(); n != 1 {
		t.Fatalf("%d actions running with one host slot", n)
	}
	close(release)
	waitFor(t, "the other action to start once the slot is free", func() bool { return started.Load() == 2 })
	for _, s := range subs {
		s.Stop()
	}
}

// A consumer told to stop fetching sends no pull request after the one in
// flight. A stopping executor host hands back the requests it could not
// finish, and a later pull of its own would take them straight back.
//
// Pulls are seen on their JetStream API subject. Each consumer is told to
// stop as soon as one of its pulls is seen: an idle pull lasts fetchWait,
// so that pull is the one in flight, and it must be the last.
func TestStopFetchingPullsNoMore(t *testing.T) {
	c := embedded(t)
	ctx := context.Background()
	seen := make(chan *nats.Msg, 1024)
	obs, err := c.nc.ChanSubscribe("$JS.API.CONSUMER.MSG.NEXT."+c.streamName("ACTIONS")+".*", seen)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = obs.Unsubscribe() }()
	// Several consumers, since a loop that goes on may also stop by chance.
	subs := map[string]*Subscription{}
	for i := range 8 {
		p := fmt.Sprintf("p%d", i)
		s, err := c.ConsumeActions(ctx, DefaultTarget, p, 1, nil, func(m jetstream.Msg) { _ = m.Ack() })
		if err != nil {
			t.Fatal(err)
		}
		subs["exec_"+DefaultTarget+"_"+p] = s
	}
	pulls := map[string]int{}    // by durable name
	lastPull := map[string]int{} // pulls when told to stop
	for len(lastPull) < len(subs) {
		select {
		case m := <-seen:
			durable := m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]
			pulls[durable]++
			if _, told := lastPull[durable]; !told {
				subs[durable].StopFetching()
				lastPull[durable] = pulls[durable]
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("pulls seen of only %d consumers of %d", len(lastPull), len(subs))
		}
	}
	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Go(s.Stop)
	}
	wg.Wait()
	// Every pull sent before Stop returned has reached the observer once
	// the server has answered a ping sent after it.
	if err := c.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	for drained := false; !drained; {
		select {
		case m := <-seen:
			pulls[m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]]++
		default:
			drained = true
		}
	}
	for durable, n := range lastPull {
		if pulls[durable] != n {
			t.Errorf("%s: %d pull requests after it was told to stop fetching", durable, pulls[durable]-n)
		}
	}
}
