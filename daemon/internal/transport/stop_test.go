package transport

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A consumer stopped while messages arrive loses none of them: each
// message JetStream delivered went to the handler, and the others are
// still in the stream for another host. This is why Stop waits out the
// pull in flight (see fetchWait): a pull cut short, by a context or by
// draining its inbox, fails here within a few rounds, since JetStream
// still sends the pull messages it picked just before the cut, to an
// inbox nobody reads. Such a message would wait out AckWait and come back
// as a redelivery, which an executor host reports as the loss of the host
// that ran it.
//
// Stops land at random points of the pulls; many rounds make it likely
// that some land while JetStream is delivering.
func TestStopLosesNoPulledMessage(t *testing.T) {
	c := embedded(t)
	ctx := context.Background()
	const rounds, perRound = 40, 20
	for round := range rounds {
		plugin := fmt.Sprintf("p%d", round)
		var handled atomic.Int64
		// The handler does not ack: a message stays ack-pending, so the
		// consumer's counts tell delivered from not delivered.
		sub, err := c.ConsumeActions(ctx, DefaultTarget, plugin, 4, nil, func(jetstream.Msg) { handled.Add(1) })
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := range perRound {
				out := []Outgoing{{Subject: c.ActionSubject(DefaultTarget, plugin), MsgID: fmt.Sprintf("%s-%d", plugin, i), Data: []byte("{}")}}
				if err := c.PublishAll(ctx, out); err != nil {
					t.Error(err)
					return
				}
			}
		})
		time.Sleep(time.Duration(round%8) * time.Millisecond)
		sub.Stop()
		wg.Wait()
		cons, err := c.js.Consumer(ctx, c.streamName("ACTIONS"), "exec_"+DefaultTarget+"_"+plugin)
		if err != nil {
			t.Fatal(err)
		}
		// The consumer counts a stored message as waiting a moment after
		// the stream has acknowledged it.
		var info *jetstream.ConsumerInfo
		waitFor(t, "the consumer to count every message", func() bool {
			info, err = cons.Info(ctx)
			return err == nil && info.NumAckPending+int(info.NumPending) == perRound
		})
		h := handled.Load()
		if int64(info.NumAckPending) != h || int64(info.NumPending) != perRound-h {
			t.Fatalf("round %d: %d messages handled; JetStream has %d delivered and %d waiting, want %d and %d",
				round, h, info.NumAckPending, info.NumPending, h, perRound-h)
		}
	}
}
