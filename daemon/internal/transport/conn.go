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
}

// Conn is one connection to NATS with JetStream, plus the names derived
// from the prefix.
type Conn struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	prefix string
	log    hclog.Logger
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
	return &Conn{nc: nc, js: js, prefix: o.Prefix, log: o.Logger}, nil
}

// Close drains nothing: callers stop their consumers first.
func (c *Conn) Close() { c.nc.Close() }

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
		if _, err := c.js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// Outgoing is one message to publish with a de-duplication id.
type Outgoing struct {
	Subject string
	MsgID   string
	Data    []byte
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
	cc jetstream.ConsumeContext
	wg *sync.WaitGroup
}

// Stop stops delivery and waits for handlers already running to return.
func (s *Subscription) Stop() {
	s.cc.Stop()
	<-s.cc.Closed()
	s.wg.Wait()
}

// ConsumeActions binds to the durable consumer of one executor pool and
// plugin. Every host that serves the plugin binds to the same consumer, so
// JetStream spreads the work among them. At most maxInFlight messages are
// handed out to this host at once: that is the back-pressure.
func (c *Conn) ConsumeActions(ctx context.Context, target, plugin string, maxInFlight int, h Handler) (*Subscription, error) {
	if !ValidToken(target) || !ValidToken(plugin) {
		return nil, fmt.Errorf("target %q and plugin %q must be letters, digits, '-' or '_'", target, plugin)
	}
	durable := "exec_" + target + "_" + plugin
	return c.consume(ctx, c.streamName("ACTIONS"), durable, c.ActionSubject(target, plugin), maxInFlight, true, h)
}

// ConsumeResults binds to the engines' shared durable consumer of results.
// Results are handled one at a time per engine process, in order.
func (c *Conn) ConsumeResults(ctx context.Context, maxInFlight int, h Handler) (*Subscription, error) {
	return c.consume(ctx, c.streamName("RESULTS"), "engine", c.ResultSubject(), maxInFlight, false, h)
}

func (c *Conn) consume(ctx context.Context, stream, durable, filter string, maxInFlight int, parallel bool, h Handler) (*Subscription, error) {
	if maxInFlight <= 0 {
		maxInFlight = 64
	}
	cons, err := c.js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable:       durable,
		FilterSubject: filter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       AckWait,
		MaxAckPending: maxInFlight * 4,
		MaxDeliver:    -1,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s on %s: %w", durable, stream, err)
	}
	wg := &sync.WaitGroup{}
	sem := make(chan struct{}, maxInFlight)
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		if !parallel {
			h(msg)
			return
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			h(msg)
		}()
	}, jetstream.PullMaxMessages(maxInFlight))
	if err != nil {
		return nil, fmt.Errorf("consume %s: %w", durable, err)
	}
	return &Subscription{cc: cc, wg: wg}, nil
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
	if err := c.js.DeleteKeyValue(ctx, c.streamName("EXECUTORS")); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
