// Package transport carries Sirocco's messages over NATS JetStream: action
// requests from engines to executor hosts (a durable work queue per target
// and plugin), results back to the engines, and the executor registry. It
// owns the subject names, the stream layout and the wire format, so that
// the engine and the executor never speak NATS directly.
package transport

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultPrefix is the root of every subject, stream and bucket name.
// Several independent Sirocco installations (or test runs) may share one
// NATS server by choosing different prefixes.
const DefaultPrefix = "sirocco"

// DefaultTarget is the executor pool a task runs on when it names none.
const DefaultTarget = "default"

// AckWait is how long JetStream waits for an acknowledgement before it
// redelivers. Executors extend it with InProgress while an action runs.
const AckWait = 30 * time.Second

// ResultAckWait is AckWait for the engines' results. It is what a result
// pulled by an engine that then died waits before another engine gets
// it, so it is short: applying a result takes milliseconds, and one
// delivered twice is applied once.
const ResultAckWait = 10 * time.Second

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Options says how to reach NATS.
type Options struct {
	URL string
	// InProcess, when set, connects to this in-process server without a
	// socket (the embedded mode); URL is then ignored.
	InProcess *server.Server
	Prefix    string
	Name      string // client name shown by the NATS server
	Logger    hclog.Logger
	// Replicas is how many copies JetStream keeps of every stream and
	// key-value bucket this connection creates (1 to MaxReplicas; 0 means
	// 1). More than one needs a NATS cluster of at least that many nodes;
	// a single server refuses it. A stream that already has more copies
	// (raised by hand, or by a process started with a larger setting)
	// keeps them: starting a process never lowers a stream's replicas.
	Replicas int
}

// MaxReplicas is the largest replica count JetStream accepts.
const MaxReplicas = 5

// Conn is one connection to NATS with JetStream, plus the names derived
// from the prefix.
type Conn struct {
	nc       *nats.Conn
	js       jetstream.JetStream
	prefix   string
	replicas int
	// cancelled is the cancelled-actions bucket, opened on first use.
	cancelled atomic.Pointer[jetstream.KeyValue]
	log       hclog.Logger
	// consuming counts this connection's running results subscriptions.
	consuming atomic.Int32
}

// Connect dials NATS. It retries the first connection for a while, since a
// daemon started together with its NATS server should not die of a race.
func Connect(ctx context.Context, o Options) (*Conn, error) {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if !tokenRE.MatchString(o.Prefix) {
		return nil, fmt.Errorf("nats prefix %q: only letters, digits, '-' and '_' are allowed", o.Prefix)
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.Replicas < 1 || o.Replicas > MaxReplicas {
		return nil, fmt.Errorf("nats replicas %d: must be between 1 and %d", o.Replicas, MaxReplicas)
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				o.Logger.Warn("nats disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { o.Logger.Info("nats reconnected", "url", nc.ConnectedUrlRedacted()) }),
	}
	url := o.URL
	if o.InProcess != nil {
		opts = append(opts, nats.InProcessServer(o.InProcess))
		url = ""
	} else {
		opts = append(opts, nats.RetryOnFailedConnect(true))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to nats %q: %w", url, err)
	}
	// RetryOnFailedConnect returns at once; wait for the first connection.
	deadline := time.Now().Add(15 * time.Second)
	for !nc.IsConnected() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			nc.Close()
			return nil, fmt.Errorf("connect to nats %q: no connection after 15s", url)
		}
		time.Sleep(50 * time.Millisecond)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	return &Conn{nc: nc, js: js, prefix: o.Prefix, replicas: o.Replicas, log: o.Logger}, nil
}

// Close drains nothing: callers stop their consumers first.
func (c *Conn) Close() { c.nc.Close() }

// Connected says whether the connection is up now (false while it
// reconnects).
func (c *Conn) Connected() bool { return c.nc.IsConnected() }

// ConsumingResults says whether this connection has a results subscription
// running (ConsumeResults called and not stopped): whether this process's
// engine takes results.
func (c *Conn) ConsumingResults() bool { return c.consuming.Load() > 0 }

// Prefix is the subject root this connection uses.
func (c *Conn) Prefix() string { return c.prefix }

func (c *Conn) streamName(kind string) string {
	return strings.ToUpper(strings.ReplaceAll(c.prefix, "-", "_")) + "_" + kind
}

// ActionSubject is where requests for plugin on executor pool target go.
func (c *Conn) ActionSubject(target, plugin string) string {
	return c.prefix + ".action." + target + "." + plugin
}

// ResultSubject is where executor hosts send results.
func (c *Conn) ResultSubject() string { return c.prefix + ".result" }

// ValidToken reports whether s may be used as a target or plugin name in a
// subject.
func ValidToken(s string) bool { return tokenRE.MatchString(s) }

// EnsureStreams creates or updates the action and result streams. Both are
// work queues: a message is removed once one consumer acknowledged it, and
// the duplicate window drops a re-send of the same message id after a crash.
// Each gets Options.Replicas copies, or keeps the larger count it has.
func (c *Conn) EnsureStreams(ctx context.Context) error {
	for _, cfg := range []jetstream.StreamConfig{
		{
			Name:        c.streamName("ACTIONS"),
			Description: "Sirocco action requests, one consumer per executor pool and plugin",
			Subjects:    []string{c.prefix + ".action.>"},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Duplicates:  2 * time.Minute,
		},
		{
			Name:        c.streamName("RESULTS"),
			Description: "Sirocco action results, consumed by the engines",
			Subjects:    []string{c.ResultSubject()},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Duplicates:  2 * time.Minute,
		},
	} {
		cfg.Replicas = c.replicas
		have, err := c.streamConfig(ctx, cfg.Name)
		if err != nil {
			return err
		}
		cfg = mergeStreamConfig(cfg, have)
		if _, err := c.js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("stream %s (%d replicas): %w", cfg.Name, cfg.Replicas, err)
		}
	}
	return nil
}

// mergeStreamConfig is the configuration to write over a stream whose
// current configuration is have (nil when the stream does not exist yet):
// want, except that the replica count is never lowered. Operators raise
// replicas by hand (`nats stream edit --replicas 3`) and processes of one
// installation may be started with different settings during a rollout;
// neither must cost the stream its copies.
func mergeStreamConfig(want jetstream.StreamConfig, have *jetstream.StreamConfig) jetstream.StreamConfig {
	if have != nil && have.Replicas > want.Replicas {
		want.Replicas = have.Replicas
	}
	return want
}

// streamConfig reads the current configuration of stream, nil when it
// does not exist.
func (c *Conn) streamConfig(ctx context.Context, stream string) (*jetstream.StreamConfig, error) {
	s, err := c.js.Stream(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", stream, err)
	}
	cfg := s.CachedInfo().Config
	return &cfg, nil
}

// bucketReplicas is the replica count to write for key-value bucket
// bucket: the configured one, or the bucket's current one when larger
// (the same rule as mergeStreamConfig; a bucket is stream KV_<bucket>).
func (c *Conn) bucketReplicas(ctx context.Context, bucket string) (int, error) {
	have, err := c.streamConfig(ctx, "KV_"+bucket)
	if err != nil {
		return 0, fmt.Errorf("bucket %s: %w", bucket, err)
	}
	return mergeStreamConfig(jetstream.StreamConfig{Replicas: c.replicas}, have).Replicas, nil
}

// Outgoing is one message to publish with a de-duplication id.
type Outgoing struct {
	Subject string
	MsgID   string
	Data    []byte
}

// MaxPayload is the largest message the NATS server accepts.
func (c *Conn) MaxPayload() int64 { return c.nc.MaxPayload() }

// ErrTooLarge marks a message larger than the server's max payload: no
// retry can publish it.
var ErrTooLarge = nats.ErrMaxPayload

// PublishEach publishes msgs and waits for JetStream's answer to each; the
// error of message i (nil when stored) is errs[i]. A batch costs one round
// trip, and one bad message does not hold back the others.
func (c *Conn) PublishEach(ctx context.Context, msgs []Outgoing) []error {
	errs := make([]error, len(msgs))
	futures := make([]jetstream.PubAckFuture, len(msgs))
	for i, m := range msgs {
		f, err := c.js.PublishAsync(m.Subject, m.Data, jetstream.WithMsgID(m.MsgID))
		if err != nil {
			errs[i] = fmt.Errorf("publish %s: %w", m.Subject, err)
			continue
		}
		futures[i] = f
	}
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case <-f.Ok():
		case err := <-f.Err():
			errs[i] = fmt.Errorf("publish %s: %w", msgs[i].Subject, err)
		case <-ctx.Done():
			errs[i] = ctx.Err()
		}
	}
	return errs
}

// PublishAll publishes msgs and waits until JetStream has stored every one
// of them. It publishes asynchronously so a batch costs one round trip, not
// one per message.
func (c *Conn) PublishAll(ctx context.Context, msgs []Outgoing) error {
	if len(msgs) == 0 {
		return nil
	}
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	for _, m := range msgs {
		f, err := c.js.PublishAsync(m.Subject, m.Data, jetstream.WithMsgID(m.MsgID))
		if err != nil {
			return fmt.Errorf("publish %s: %w", m.Subject, err)
		}
		futures = append(futures, f)
	}
	var errs []error
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			errs = append(errs, fmt.Errorf("publish %s: %w", msgs[i].Subject, err))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return errors.Join(errs...)
}

// Handler processes one delivered message and must Ack, Nak or Term it.
type Handler func(msg jetstream.Msg)

// Subscription is a running consumer.
type Subscription struct {
	stopFetching func() // asks for no more messages; idempotent
	wait         func() // waits for the handlers already running
}

// StopFetching asks for no more messages and returns at once; handlers
// already running go on. It is the first step of a graceful shutdown.
func (s *Subscription) StopFetching() { s.stopFetching() }

// Stop stops delivery and waits for the pull in flight to end (fetchWait
// at most) and for handlers already running to return. To stop several
// subscriptions, call StopFetching on each first, so that their pulls end
// together rather than one after another.
func (s *Subscription) Stop() {
	s.stopFetching()
	s.wait()
}

// ConsumeActions binds to the durable consumer of one executor pool and
// plugin. Every host that serves the plugin binds to the same consumer, so
// JetStream spreads the work among them.
//
// It pulls only as many messages as it has free slots (maxInFlight in all)
// and hands each to h in its own goroutine at once: a message delivered to
// this host is a message being worked on, never one waiting in a client
// buffer. That is what lets an executor host treat a redelivered message
// as one whose first host died while running it, and it is the
// back-pressure: a busy host asks for nothing.
//
// host, when not nil, is shared by all of a host's consumers and bounds
// the actions the host runs at once over all its plugins.
func (c *Conn) ConsumeActions(ctx context.Context, target, plugin string, maxInFlight int, host Slots, h Handler) (*Subscription, error) {
	if !ValidToken(target) || !ValidToken(plugin) {
		return nil, fmt.Errorf("target %q and plugin %q must be letters, digits, '-' or '_'", target, plugin)
	}
	if maxInFlight <= 0 {
		maxInFlight = 64
	}
	durable := "exec_" + target + "_" + plugin
	cons, err := c.js.CreateOrUpdateConsumer(ctx, c.streamName("ACTIONS"), jetstream.ConsumerConfig{
		Durable:       durable,
		FilterSubject: c.ActionSubject(target, plugin),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       AckWait,
		MaxAckPending: 1 << 20,
		MaxDeliver:    -1,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", durable, err)
	}
	slots := make(chan struct{}, maxInFlight)
	release := func() {
		<-slots
		host.release()
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	var wg sync.WaitGroup
	go func() {
		defer close(stopped)
		for {
			// Wait for one slot of the plugin and one of the host, then
			// take all that are free of both without waiting.
			select {
			case slots <- struct{}{}:
			case <-done:
				return
			}
			if !host.acquire(done) {
				<-slots
				return
			}
			free := 1
			for free < maxInFlight && host.tryAcquire() {
				select {
				case slots <- struct{}{}:
					free++
					continue
				default:
				}
				host.release()
				break
			}
			// When a slot is free and done is closed, the selects above
			// pick one of the two at random, so they may go on after
			// StopFetching: look at done alone before each pull. A
			// stopping host must not pull again, or the requests it hands
			// back would come straight back to it.
			select {
			case <-done:
				for ; free > 0; free-- {
					release()
				}
				return
			default:
			}
			batch, err := cons.Fetch(free, jetstream.FetchMaxWait(fetchWait))
			if err != nil {
				for ; free > 0; free-- {
					release()
				}
				select {
				case <-done:
					return
				case <-time.After(250 * time.Millisecond):
				}
				continue
			}
			for msg := range batch.Messages() {
				free--
				wg.Add(1)
				go func() {
					defer func() { release(); wg.Done() }()
					h(msg)
				}()
			}
			for ; free > 0; free-- { // slots reserved for messages that did not come
				release()
			}
		}
	}()
	var once sync.Once
	return &Subscription{
		stopFetching: func() { once.Do(func() { close(done) }) },
		wait:         func() { <-stopped; wg.Wait() },
	}, nil
}

// Slots bounds how many actions an executor host runs at once over all its
// plugins; nil means no bound beyond each plugin's own.
type Slots chan struct{}

// NewSlots makes a bound of n (nil for n <= 0).
func NewSlots(n int) Slots {
	if n <= 0 {
		return nil
	}
	return make(Slots, n)
}

func (s Slots) acquire(done <-chan struct{}) bool {
	if s == nil {
		return true
	}
	select {
	case s <- struct{}{}:
		return true
	case <-done:
		return false
	}
}

func (s Slots) tryAcquire() bool {
	if s == nil {
		return true
	}
	select {
	case s <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s Slots) release() {
	if s != nil {
		<-s
	}
}

// fetchWait bounds one pull request, and so how long StopFetching takes
// to end the pull in flight: an idle host sends one small request per
// period and consumer, and a stopping host waits up to one period.
//
// Stopping waits the pull out rather than cutting it short, because
// cutting it loses messages: JetStream may have picked a message for the
// pull just before it learnt that its inbox is gone, and then sends it
// nowhere (jetstream's Fetch with a context that ends does that, and so
// does draining the inbox). Such a message waits out AckWait and comes
// back as a redelivery, which an executor host takes for the sign of a
// host that died running it: a task that is not safe-rerun would fail as
// ExecutorLost without having run. TestStopLosesNoPulledMessage shows it.
const fetchWait = 250 * time.Millisecond

// ConsumeResults binds to the engines' shared durable consumer of results.
// Results are handled one at a time per engine process, in order.
func (c *Conn) ConsumeResults(ctx context.Context, maxInFlight int, h Handler) (*Subscription, error) {
	if maxInFlight <= 0 {
		maxInFlight = 64
	}
	cons, err := c.js.CreateOrUpdateConsumer(ctx, c.streamName("RESULTS"), jetstream.ConsumerConfig{
		Durable:       "engine",
		FilterSubject: c.ResultSubject(),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ResultAckWait,
		MaxAckPending: maxInFlight * 4,
		MaxDeliver:    -1,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer engine: %w", err)
	}
	cc, err := cons.Consume(jetstream.MessageHandler(h), jetstream.PullMaxMessages(maxInFlight))
	if err != nil {
		return nil, fmt.Errorf("consume results: %w", err)
	}
	c.consuming.Add(1)
	var once sync.Once
	return &Subscription{
		stopFetching: func() { once.Do(func() { c.consuming.Add(-1); cc.Stop() }) },
		wait:         func() { <-cc.Closed() },
	}, nil
}

// DeleteAll removes this prefix's streams and registry bucket. Tests use it
// to leave a shared NATS server as they found it.
func (c *Conn) DeleteAll(ctx context.Context) error {
	var errs []error
	for _, s := range []string{c.streamName("ACTIONS"), c.streamName("RESULTS")} {
		if err := c.js.DeleteStream(ctx, s); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			errs = append(errs, err)
		}
	}
	for _, b := range []string{c.streamName("EXECUTORS"), c.streamName("ROUTES"), c.streamName("CANCELLED")} {
		if err := c.js.DeleteKeyValue(ctx, b); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
