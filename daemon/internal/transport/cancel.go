package transport

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// CancelRequest asks every executor host to stop one running action
// execution. It travels on the core NATS subject <prefix>.cancel: a host
// that is not running it ignores it. Requests not started yet are covered
// by the cancelled-actions bucket instead (see PublishCancel).
type CancelRequest struct {
	V                 string `json:"v"`
	ActionExecutionID string `json:"action_execution_id"`
	// Reason is shown in the cancelled action's error.
	Reason string `json:"reason,omitempty"`
}

// CancelSubject is where cancel requests go.
func (c *Conn) CancelSubject() string { return c.prefix + ".cancel" }

// CancelledTTL is how long a cancelled action execution is remembered for
// hosts that have not received its request yet.
const CancelledTTL = 24 * time.Hour

// cancelledBucket remembers cancelled action executions whose requests may
// still wait in a work queue (for a host that is down, or behind others):
// a host that receives such a request later drops it instead of running
// it. The core cancel message only reaches runs already under way.
func (c *Conn) cancelledBucket(ctx context.Context) (jetstream.KeyValue, error) {
	if kv := c.cancelled.Load(); kv != nil {
		return *kv, nil
	}
	replicas, err := c.bucketReplicas(ctx, c.streamName("CANCELLED"))
	if err != nil {
		return nil, err
	}
	kv, err := c.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      c.streamName("CANCELLED"),
		Description: "Sirocco: cancelled action executions, so queued requests for them are dropped",
		TTL:         CancelledTTL,
		History:     1,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("cancelled actions bucket: %w", err)
	}
	c.cancelled.Store(&kv)
	return kv, nil
}

// WatchCancelled calls fn with the id of every action execution cancelled
// within CancelledTTL, then of each one cancelled later, until ctx ends.
// It returns once the ids already recorded have been delivered.
func (c *Conn) WatchCancelled(ctx context.Context, fn func(actionExecutionID string)) error {
	kv, err := c.cancelledBucket(ctx)
	if err != nil {
		return err
	}
	return watchBucket(ctx, kv, func(e jetstream.KeyValueEntry) {
		if e.Operation() == jetstream.KeyValuePut {
			fn(e.Key())
		}
	})
}

// PublishCancel records that action execution id is cancelled (so a host
// that receives its request later drops it) and asks the host running it,
// if any, to stop. It returns once both reached the NATS server; it does
// not wait for the action to stop.
func (c *Conn) PublishCancel(actionExecutionID, reason string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := c.cancelledBucket(ctx)
	if err != nil {
		return err
	}
	if _, err := kv.PutString(ctx, actionExecutionID, reason); err != nil {
		return fmt.Errorf("record cancel of %s: %w", actionExecutionID, err)
	}
	data, err := json.Marshal(CancelRequest{V: ProtocolVersion, ActionExecutionID: actionExecutionID, Reason: reason})
	if err != nil {
		return err
	}
	if err := c.nc.Publish(c.CancelSubject(), data); err != nil {
		return fmt.Errorf("publish cancel of %s: %w", actionExecutionID, err)
	}
	if err := c.nc.Flush(); err != nil {
		return fmt.Errorf("publish cancel of %s: %w", actionExecutionID, err)
	}
	return nil
}

// SubscribeCancel calls fn for every cancel request until the returned
// stop function is called. Requests of a major version this process does
// not speak, and malformed ones, are logged and dropped.
func (c *Conn) SubscribeCancel(fn func(CancelRequest)) (stop func(), err error) {
	sub, err := c.nc.Subscribe(c.CancelSubject(), func(m *nats.Msg) {
		var req CancelRequest
		if err := Decode(m.Data, &req); err != nil {
			c.log.Warn("cancel request dropped", "error", err)
			return
		}
		if req.ActionExecutionID == "" {
			c.log.Warn("cancel request without an action execution id dropped")
			return
		}
		fn(req)
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", c.CancelSubject(), err)
	}
	if err := c.nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("subscribe %s: %w", c.CancelSubject(), err)
	}
	return func() { _ = sub.Unsubscribe() }, nil
}
