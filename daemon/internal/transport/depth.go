package transport

import (
	"context"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// QueueDepth is how many action requests one work queue (an executor
// pool's plugin) holds: waiting for a host, or running on one and not yet
// acknowledged. A queue that grows means its pool has too little capacity
// for that plugin, or no host serves it.
type QueueDepth struct {
	Target, Plugin string
	Messages       uint64
}

// QueueDepths reads the depth of every action queue that holds a message,
// and how many results wait for an engine to apply them. It asks JetStream
// for the streams' state, so every process reports the same, cluster-wide
// numbers.
func (c *Conn) QueueDepths(ctx context.Context) (actions []QueueDepth, results uint64, err error) {
	s, err := c.js.Stream(ctx, c.streamName("ACTIONS"))
	if err != nil {
		return nil, 0, fmt.Errorf("queue depth: %w", err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(c.prefix+".action.>"))
	if err != nil {
		return nil, 0, fmt.Errorf("queue depth: %w", err)
	}
	root := c.prefix + ".action."
	for subject, n := range info.State.Subjects {
		target, plugin, ok := strings.Cut(strings.TrimPrefix(subject, root), ".")
		if !ok || n == 0 {
			continue
		}
		actions = append(actions, QueueDepth{Target: target, Plugin: plugin, Messages: n})
	}
	rs, err := c.js.Stream(ctx, c.streamName("RESULTS"))
	if err != nil {
		return nil, 0, fmt.Errorf("queue depth: %w", err)
	}
	rinfo, err := rs.Info(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("queue depth: %w", err)
	}
	return actions, rinfo.State.Msgs, nil
}
