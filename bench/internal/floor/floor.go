// Package floor measures what one task costs at the least on this machine
// with these services: the work any engine of this design must do per
// task, done bare, with no engine in between. One floor task is
//
//	commit (start the task) -> NATS round trip (publish the request to a
//	JetStream work queue, a worker consumes it, publishes the result and
//	acknowledges; the caller consumes the result) -> [plugin call] ->
//	commit (apply the result), then the result is acknowledged
//
// against the same database and NATS server as the daemon under test, and
// a go-plugin gRPC call into a real plugin binary when the workload's
// action is a plugin's. Each part is also timed alone, so a report can say
// which one dominates.
package floor

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" database/sql driver
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	_ "modernc.org/sqlite" // "sqlite" database/sql driver

	"github.com/sirocco-wf/sirocco/pluginapi"
	pluginv1 "github.com/sirocco-wf/sirocco/pluginapi/v1"
)

// Config names the services the floor uses.
type Config struct {
	// SQLitePath or PostgresURL: the daemon's database.
	SQLitePath  string
	PostgresURL string
	NATSURL     string
	Prefix      string // NATS subject root; the floor's streams live under it
	// Plugin, when set, is a plugin binary and the action and input of the
	// call each plugin floor task makes.
	Plugin *PluginCall
}

// PluginCall is one action call into a plugin binary.
type PluginCall struct {
	Binary string
	Action string
	Input  map[string]any
}

// pgConns bounds the floor's PostgreSQL connections.
const pgConns = 16

// Floor holds the open connections.
type Floor struct {
	db      *sql.DB
	sqlite  bool
	nc      *nats.Conn
	js      jetstream.JetStream
	reqSubj string
	resSubj string
	req     jetstream.Consumer
	res     jetstream.Consumer
	plugin  *pluginConn

	mu      sync.Mutex
	waiters map[string]chan jetstream.Msg
	seq     atomic.Int64
	stop    []func()
}

// Open connects to everything and creates the floor's table and streams.
func Open(ctx context.Context, cfg Config) (*Floor, error) {
	f := &Floor{waiters: map[string]chan jetstream.Msg{}}
	if err := f.openDB(ctx, cfg); err != nil {
		return nil, err
	}
	if err := f.openNATS(ctx, cfg); err != nil {
		f.Close()
		return nil, err
	}
	if cfg.Plugin != nil {
		p, err := launchPlugin(cfg.Plugin)
		if err != nil {
			f.Close()
			return nil, err
		}
		f.plugin = p
	}
	return f, nil
}

// Close releases everything Open made (the table and streams go with the
// daemon's database and prefix).
func (f *Floor) Close() {
	for i := len(f.stop) - 1; i >= 0; i-- {
		f.stop[i]()
	}
	if f.plugin != nil {
		f.plugin.close()
	}
	if f.nc != nil {
		f.nc.Close()
	}
	if f.db != nil {
		_ = f.db.Close()
	}
}

func (f *Floor) openDB(ctx context.Context, cfg Config) error {
	var err error
	ddl := "CREATE TABLE IF NOT EXISTS bench_floor (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL)"
	switch {
	case cfg.SQLitePath != "":
		// The store's settings (see daemon/internal/store): WAL,
		// synchronous NORMAL, BEGIN IMMEDIATE, one connection.
		q := url.Values{}
		q.Add("_txlock", "immediate")
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		f.db, err = sql.Open("sqlite", "file:"+cfg.SQLitePath+"?"+q.Encode())
		if err != nil {
			return err
		}
		f.db.SetMaxOpenConns(1)
		f.sqlite = true
		ddl = "CREATE TABLE IF NOT EXISTS bench_floor (id INTEGER PRIMARY KEY AUTOINCREMENT, note TEXT NOT NULL, created_at TEXT NOT NULL)"
	case cfg.PostgresURL != "":
		f.db, err = sql.Open("pgx", cfg.PostgresURL)
		if err != nil {
			return err
		}
		// A bounded pool, as any engine keeps: many floor tasks in
		// flight must not open more connections than the server allows
		// (100 by default, shared with the daemon).
		f.db.SetMaxOpenConns(pgConns)
		f.db.SetMaxIdleConns(pgConns)
	default:
		return errors.New("floor: no database")
	}
	if _, err := f.db.ExecContext(ctx, ddl); err != nil {
		return fmt.Errorf("floor: create table: %w", err)
	}
	return nil
}

// commit is one bare transaction writing one row.
func (f *Floor) commit(ctx context.Context, note string) error {
	tx, err := f.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	var now any = time.Now().UTC()
	if f.sqlite {
		now = time.Now().UTC().Format("2006-01-02T15:04:05.000000Z")
	}
	q := "INSERT INTO bench_floor (note, created_at) VALUES ($1, $2)"
	if _, err := tx.ExecContext(ctx, q, note, now); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (f *Floor) openNATS(ctx context.Context, cfg Config) error {
	nc, err := nats.Connect(cfg.NATSURL, nats.Name("sirocco-bench-floor"))
	if err != nil {
		return fmt.Errorf("floor: NATS %s: %w", cfg.NATSURL, err)
	}
	f.nc = nc
	if f.js, err = jetstream.New(nc); err != nil {
		return err
	}
	// Under the daemon's prefix, so the daemon's clean-up removes them.
	root := fmt.Sprintf("%s_BENCHFLOOR", upper(cfg.Prefix))
	f.reqSubj, f.resSubj = cfg.Prefix+".benchfloor.req", cfg.Prefix+".benchfloor.res"
	for _, s := range []struct{ name, subj string }{{root + "_REQ", f.reqSubj}, {root + "_RES", f.resSubj}} {
		// What the daemon's action and result streams are: file-backed
		// work queues with a duplicate window.
		_, err := f.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name: s.name, Subjects: []string{s.subj}, Retention: jetstream.WorkQueuePolicy,
			Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute,
		})
		if err != nil {
			return fmt.Errorf("floor: stream %s: %w", s.name, err)
		}
	}
	mk := func(stream string) (jetstream.Consumer, error) {
		return f.js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
			Durable: "floor", AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second, MaxAckPending: 1 << 20,
		})
	}
	if f.req, err = mk(root + "_REQ"); err != nil {
		return err
	}
	if f.res, err = mk(root + "_RES"); err != nil {
		return err
	}
	// The worker: like an executor host, it publishes the result first
	// and acknowledges the request second.
	wc, err := f.req.Consume(func(m jetstream.Msg) {
		go func() {
			id := m.Headers().Get("Bench-Id")
			msg := nats.NewMsg(f.resSubj)
			msg.Header.Set("Bench-Id", id)
			msg.Header.Set(nats.MsgIdHdr, "res-"+id)
			msg.Data = []byte(`{"result":null}`)
			if _, err := f.js.PublishMsg(context.Background(), msg); err != nil {
				_ = m.Nak()
				return
			}
			_ = m.Ack()
		}()
	})
	if err != nil {
		return err
	}
	f.stop = append(f.stop, wc.Stop)
	rc, err := f.res.Consume(func(m jetstream.Msg) {
		f.mu.Lock()
		ch := f.waiters[m.Headers().Get("Bench-Id")]
		f.mu.Unlock()
		if ch == nil {
			_ = m.Ack() // a redelivery of one already handled
			return
		}
		ch <- m
	})
	if err != nil {
		return err
	}
	f.stop = append(f.stop, rc.Stop)
	return nil
}

// roundTrip publishes a request and waits for its result; the result
// message is returned unacknowledged, as an engine acknowledges only after
// its commit.
func (f *Floor) roundTrip(ctx context.Context) (jetstream.Msg, error) {
	id := strconv.FormatInt(f.seq.Add(1), 10) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	ch := make(chan jetstream.Msg, 1)
	f.mu.Lock()
	f.waiters[id] = ch
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.waiters, id)
		f.mu.Unlock()
	}()
	msg := nats.NewMsg(f.reqSubj)
	msg.Header.Set("Bench-Id", id)
	msg.Header.Set(nats.MsgIdHdr, "req-"+id)
	msg.Data = []byte(`{"action":"std.noop","input":{}}`)
	if _, err := f.js.PublishMsg(ctx, msg); err != nil {
		return nil, fmt.Errorf("floor: publish: %w", err)
	}
	select {
	case m := <-ch:
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(time.Minute):
		return nil, errors.New("floor: no result within a minute")
	}
}

// Part names one piece of a floor task.
type Part string

// The parts of a floor task.
const (
	PartTask   Part = "task"   // all of them, in order
	PartCommit Part = "commit" // one commit
	PartNATS   Part = "nats"   // one round trip, result acknowledged
	PartPlugin Part = "plugin" // one plugin call
)

// Result is n floor tasks (or parts) done with par in flight.
type Result struct {
	Part     Part    `json:"part"`
	N        int     `json:"n"`
	Parallel int     `json:"parallel"`
	Seconds  float64 `json:"seconds"`
	PerSec   float64 `json:"per_second"`
	MsEach   float64 `json:"ms_each"` // wall time per item, as seen by one worker
}

// Run does n floor tasks (with a plugin call when withPlugin) with par in
// flight.
func (f *Floor) Run(ctx context.Context, n, par int, withPlugin bool) (Result, error) {
	return f.run(ctx, PartTask, n, par, func(ctx context.Context, i int) error {
		note := "task " + strconv.Itoa(i)
		if err := f.commit(ctx, note); err != nil {
			return fmt.Errorf("floor commit: %w", err)
		}
		m, err := f.roundTrip(ctx)
		if err != nil {
			return err
		}
		if withPlugin {
			if err := f.plugin.call(ctx); err != nil {
				return err
			}
		}
		if err := f.commit(ctx, note); err != nil {
			return fmt.Errorf("floor commit: %w", err)
		}
		return m.Ack()
	})
}

// RunPart does n of one part alone with par in flight.
func (f *Floor) RunPart(ctx context.Context, part Part, n, par int) (Result, error) {
	var one func(ctx context.Context, i int) error
	switch part {
	case PartCommit:
		one = func(ctx context.Context, i int) error { return f.commit(ctx, "commit "+strconv.Itoa(i)) }
	case PartNATS:
		one = func(ctx context.Context, _ int) error {
			m, err := f.roundTrip(ctx)
			if err != nil {
				return err
			}
			return m.Ack()
		}
	case PartPlugin:
		if f.plugin == nil {
			return Result{}, errors.New("floor: no plugin configured")
		}
		one = func(ctx context.Context, _ int) error { return f.plugin.call(ctx) }
	default:
		return Result{}, fmt.Errorf("floor: unknown part %q", part)
	}
	return f.run(ctx, part, n, par, one)
}

func (f *Floor) run(ctx context.Context, part Part, n, par int, one func(context.Context, int) error) (Result, error) {
	if par < 1 {
		par = 1
	}
	if par > n {
		par = n
	}
	var next atomic.Int64
	errs := make(chan error, par)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < par; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > n {
					return
				}
				if err := one(ctx, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return Result{}, err
	}
	r := Result{Part: part, N: n, Parallel: par, Seconds: el.Seconds()}
	if n > 0 && el > 0 {
		r.PerSec = float64(n) / el.Seconds()
		r.MsEach = el.Seconds() * 1000 * float64(par) / float64(n)
	}
	return r, nil
}

// pluginConn is a plugin process launched the way the executor host
// launches it (go-plugin, gRPC, AutoMTLS, raised message limits).
type pluginConn struct {
	client *plugin.Client
	rpc    pluginv1.PluginClient
	action string
	input  []byte
}

func launchPlugin(c *PluginCall) (*pluginConn, error) {
	input, err := json.Marshal(c.Input)
	if err != nil {
		return nil, err
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginapi.Handshake,
		VersionedPlugins: pluginapi.ClientPlugins(),
		Cmd:              exec.Command(c.Binary),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Logger:           hclog.NewNullLogger(),
		GRPCDialOptions:  pluginapi.DialOptions(),
	})
	cp, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("floor: launch plugin %s: %w", c.Binary, err)
	}
	raw, err := cp.Dispense(pluginapi.PluginName)
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("floor: plugin %s: %w", c.Binary, err)
	}
	p := &pluginConn{client: client, rpc: raw.(pluginv1.PluginClient), action: c.Action, input: input}
	if err := p.call(context.Background()); err != nil { // the first call also proves the input right
		client.Kill()
		return nil, err
	}
	return p, nil
}

// call runs the action once and reads its stream to the completed event.
func (p *pluginConn) call(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	st, err := p.rpc.Execute(ctx, &pluginv1.ExecuteRequest{Action: p.action, Input: p.input,
		Context: &pluginv1.ExecutionContext{ActionExecutionId: "floor"}})
	if err != nil {
		return fmt.Errorf("floor: plugin call %s: %w", p.action, err)
	}
	for {
		ev, err := st.Recv()
		if err != nil {
			return fmt.Errorf("floor: plugin call %s: stream ended without a result: %w", p.action, err)
		}
		if c := ev.GetCompleted(); c != nil {
			if e := c.GetError(); e != nil {
				return fmt.Errorf("floor: plugin call %s failed: %s: %s", p.action, e.GetType(), e.GetMessage())
			}
			return nil
		}
	}
}

func (p *pluginConn) close() { p.client.Kill() }

func upper(prefix string) string {
	b := []byte(prefix)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		case c == '-':
			b[i] = '_'
		}
	}
	return string(b)
}
