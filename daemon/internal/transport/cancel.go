package transport

import (
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"
)

// CancelRequest asks every executor host to stop one running action
// execution. It travels on the core NATS subject <prefix>.cancel, not on
// JetStream: a cancel is only meaningful while the action runs, so a host
// that is not running it simply ignores it, and nothing is stored.
type CancelRequest struct {
	V                 string `json:"v"`
	ActionExecutionID string `json:"action_execution_id"`
	// Reason is shown in the cancelled action's error.
	Reason string `json:"reason,omitempty"`
}

// CancelSubject is where cancel requests go.
func (c *Conn) CancelSubject() string { return c.prefix + ".cancel" }

// PublishCancel asks the executor host running action execution id to
// cancel it. It returns once the message is flushed to the NATS server; it
// does not wait for the action to stop (its result says how it ended).
func (c *Conn) PublishCancel(actionExecutionID, reason string) error {
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
