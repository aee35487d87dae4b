package engine

import (
	"context"
	"testing"
	"time"

	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// outboxIDs are the message ids the outbox table holds.
func outboxIDs(t *testing.T, st store.Store) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	err := st.InTx(context.Background(), func(tx store.Tx) error {
		msgs, err := tx.ListOutbox(0)
		for _, m := range msgs {
			ids[m.MsgID] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// The relay sends what a transaction commits without waiting for a sweep
// of the table, and keeps in the table what NATS did not store.
func TestOutboxRelaySendsCommitsAndKeepsFailures(t *testing.T) {
	r := newRig(t)
	r.eng.sweepEvery = time.Hour // only the commit's hand-over and retries send
	ctx := context.Background()
	// A row written past the engine is sent by the sweep at start only:
	// once it is gone, that sweep is over.
	marker := &store.OutboxMsg{Subject: r.conn.ActionSubject("default", "nobody"), MsgID: "test/marker", Payload: []byte(`{}`)}
	if err := r.store.InTx(ctx, func(tx store.Tx) error { return tx.AddOutbox(marker) }); err != nil {
		t.Fatal(err)
	}
	r.run(t)
	waitOutbox(t, r.store, marker.MsgID, 20*time.Second)
	if outboxIDs(t, r.store)[marker.MsgID] {
		t.Fatal("the sweep at start did not send what the outbox held")
	}
	tests := []struct {
		name    string
		subject string
		sent    bool
	}{
		// A plugin no host serves: the action stream stores it.
		{"stored", r.conn.ActionSubject("default", "nobody"), true},
		// No stream takes this subject: the publish fails.
		{"refused", "t.nowhere", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := "test/" + tc.name
			if err := r.eng.store.InTx(ctx, func(tx store.Tx) error {
				return tx.AddOutbox(&store.OutboxMsg{Subject: tc.subject, MsgID: id, Payload: []byte(`{}`)})
			}); err != nil {
				t.Fatal(err)
			}
			wait := 20 * time.Second
			if !tc.sent {
				wait = 3 * retryAfter // long enough for the send and a retry to fail
			}
			waitOutbox(t, r.store, id, wait)
			if left := outboxIDs(t, r.store)[id]; left == tc.sent {
				t.Fatalf("message %s still in the outbox: %v, want %v", id, left, !tc.sent)
			}
		})
	}
}

// waitOutbox waits up to d for the message id to leave the outbox table.
func waitOutbox(t *testing.T, st store.Store, id string, d time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline) && outboxIDs(t, st)[id]; {
		time.Sleep(20 * time.Millisecond)
	}
}
