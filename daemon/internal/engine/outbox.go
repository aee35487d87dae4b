package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sirocco-wf/sirocco/daemon/internal/store"
	"github.com/sirocco-wf/sirocco/daemon/internal/transport"
)

// The outbox relay. Every transaction that must send something writes an
// outbox row; the row leaves the table only once NATS has the message.
// A commit hands the rows it wrote to the relay in memory, so the relay
// sends them at once without reading them back: one transaction (the
// delete) per round instead of two, and no query of the table on the hot
// path. The table stays the truth: what a failed send, or a crash, leaves
// there is sent by the sweep, at start, every sweepEvery and soon after a
// failed send.

const (
	// sweepEvery is the default of Engine.sweepEvery.
	sweepEvery = 5 * time.Second
	// retryAfter is how soon a round whose sends failed is followed by
	// a sweep that sends what is left.
	retryAfter = time.Second
	// outboxChunk bounds the messages of one sweep read and one publish
	// round (and so the asynchronous publishes in flight).
	outboxChunk = 512
)

// relayStore is the store as the engine uses it: each transaction that
// commits queues the outbox rows it added for the relay and kicks it.
type relayStore struct {
	store.Store
	e *Engine
}

// recordingTx is a transaction of the engine's store: it remembers the
// outbox rows added through it, for the relay, and the tasks it loaded and
// wrote, for the execution cache (execcache.go); both are handed over only
// when it commits.
type recordingTx struct {
	store.Tx
	added []*store.OutboxMsg
	execs map[string]*cachedExec // by execution id
}

func (t *recordingTx) AddOutbox(msgs ...*store.OutboxMsg) error {
	if err := t.Tx.AddOutbox(msgs...); err != nil {
		return err
	}
	t.added = append(t.added, msgs...)
	return nil
}

// take removes and returns what this transaction loaded of an execution
// before.
func (t *recordingTx) take(executionID string) *cachedExec {
	c := t.execs[executionID]
	delete(t.execs, executionID)
	return c
}

// keep holds what the transaction loaded of an execution, to go to the
// cache if it commits.
func (t *recordingTx) keep(executionID string, c *cachedExec) {
	if t.execs == nil {
		t.execs = map[string]*cachedExec{}
	}
	t.execs[executionID] = c
}

// wrote replaces one task of an execution with the row just written.
func (t *recordingTx) wrote(executionID string, ct cachedTask) {
	c := t.execs[executionID]
	if c == nil {
		c = &cachedExec{}
		t.keep(executionID, c)
	}
	if c.tasks == nil {
		c.tasks = cachedTasks{}
	}
	c.tasks[ct.task.ID] = ct
}

// ended drops an execution that ended from what goes to the cache.
func (t *recordingTx) ended(executionID string) { delete(t.execs, executionID) }

func (s *relayStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	rec := &recordingTx{}
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		rec.Tx, rec.added, rec.execs = tx, rec.added[:0], nil
		return fn(rec)
	})
	if err != nil {
		return err
	}
	for id, c := range rec.execs {
		s.e.execs.put(id, c)
	}
	if len(rec.added) > 0 {
		s.e.committed(rec.added)
	}
	return nil
}

// outboxQueue holds committed rows the relay has not taken yet.
type outboxQueue struct {
	mu   sync.Mutex
	msgs []*store.OutboxMsg
}

func (q *outboxQueue) add(msgs []*store.OutboxMsg) {
	q.mu.Lock()
	q.msgs = append(q.msgs, msgs...)
	q.mu.Unlock()
}

func (q *outboxQueue) take() []*store.OutboxMsg {
	q.mu.Lock()
	defer q.mu.Unlock()
	msgs := q.msgs
	q.msgs = nil
	return msgs
}

// committed queues rows a transaction has committed and kicks the relay.
func (e *Engine) committed(msgs []*store.OutboxMsg) {
	e.queue.add(msgs)
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// RunOutbox only sends what this process commits (and what a crashed peer
// left behind), without applying results: what an API-only process runs,
// since starting an execution commits its first actions to the outbox.
func (e *Engine) RunOutbox(ctx context.Context) error {
	sweep := time.NewTicker(e.sweepEvery)
	defer sweep.Stop()
	var retry <-chan time.Time
	swept := e.sweepOutbox(ctx) // what an earlier process left
	for {
		if swept != nil && ctx.Err() == nil {
			e.log.Warn("outbox relay failed; will retry", "error", swept)
			retry = time.After(retryAfter)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-e.kick:
			swept = e.sendQueued(ctx)
		case <-sweep.C:
			swept = e.sweepOutbox(ctx)
		case <-retry:
			retry = nil
			swept = e.sweepOutbox(ctx)
		}
	}
}

// sendQueued sends the rows commits have queued and deletes those NATS
// stored; a row that failed stays in the table for the next sweep.
func (e *Engine) sendQueued(ctx context.Context) error {
	msgs := e.queue.take()
	var errs []error
	for len(msgs) > 0 {
		n := min(len(msgs), outboxChunk)
		if err := e.relay(ctx, msgs[:n]); err != nil {
			errs = append(errs, err)
		}
		msgs = msgs[n:]
	}
	return errors.Join(errs...)
}

// sweepOutbox sends every row of the table: those a crash or a failed
// send left, and another process's that it has not sent yet. The queue
// is dropped first: what it holds is committed, so the table has it.
func (e *Engine) sweepOutbox(ctx context.Context) error {
	e.queue.take()
	for {
		var msgs []*store.OutboxMsg
		if err := e.store.InTx(ctx, func(tx store.Tx) error {
			var err error
			msgs, err = tx.ListOutbox(outboxChunk)
			return err
		}); err != nil {
			return err
		}
		if err := e.relay(ctx, msgs); err != nil || len(msgs) < outboxChunk {
			return err
		}
	}
}

// relay publishes msgs and deletes the rows of those JetStream has
// stored, in one transaction. A crash in between re-sends them; the
// message id makes JetStream drop the copy.
func (e *Engine) relay(ctx context.Context, msgs []*store.OutboxMsg) error {
	if len(msgs) == 0 {
		return nil
	}
	var done []int64
	var firstErr error
	var jsMsgs []*store.OutboxMsg
	for _, m := range msgs {
		if m.Subject != cancelSubject {
			jsMsgs = append(jsMsgs, m)
			continue
		}
		id := strings.TrimPrefix(m.MsgID, "cancel/")
		if err := e.conn.PublishCancel(id, string(m.Payload)); err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("cancel of %s: %w", id, err)
			}
			continue
		}
		done = append(done, m.Seq)
	}
	out := make([]transport.Outgoing, len(jsMsgs))
	for i, m := range jsMsgs {
		out[i] = transport.Outgoing{Subject: m.Subject, MsgID: m.MsgID, Data: m.Payload}
	}
	// Rows JetStream stored go; a row no retry can publish (too large:
	// dispatch checks sizes, so only a smaller server limit than when it
	// was written gets here) goes too, loudly, so that it cannot hold back
	// every message after it. The rest are retried.
	for i, err := range e.conn.PublishEach(ctx, out) {
		switch {
		case err == nil:
			done = append(done, jsMsgs[i].Seq)
		case errors.Is(err, transport.ErrTooLarge):
			e.log.Error("outbox message larger than the NATS server accepts; dropped, its task will not run",
				"subject", jsMsgs[i].Subject, "msg_id", jsMsgs[i].MsgID, "bytes", len(jsMsgs[i].Payload), "max", e.conn.MaxPayload())
			done = append(done, jsMsgs[i].Seq)
		case firstErr == nil:
			firstErr = fmt.Errorf("outbox message %s: %w", jsMsgs[i].MsgID, err)
		}
	}
	if len(done) > 0 {
		if err := e.store.InTx(ctx, func(tx store.Tx) error { return tx.DeleteOutbox(done...) }); err != nil {
			return err
		}
		e.metrics.OutboxPublished.Add(float64(len(done)))
	}
	return firstErr
}
