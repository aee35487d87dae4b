package store

import (
	"fmt"
	"strings"
	"time"
)

// AddOutbox records messages to publish after this transaction commits and
// sets each one's Seq, in the order given.
func (t *sqlTx) AddOutbox(msgs ...*OutboxMsg) error {
	now := t.d.timeArg(time.Now())
	for _, m := range msgs {
		if m.Subject == "" {
			return fmt.Errorf("store: outbox message %q: empty subject", m.MsgID)
		}
		err := t.scanRow("INSERT INTO outbox (subject, msg_id, payload, created_at) VALUES (?, ?, ?, ?) RETURNING seq",
			[]any{m.Subject, m.MsgID, bytesArg(m.Payload), now}, &m.Seq)
		if err != nil {
			return fmt.Errorf("store: add outbox message %q: %w", m.MsgID, err)
		}
	}
	return nil
}

// ListOutbox returns up to limit messages (all when limit <= 0) in the order
// they were added. On PostgreSQL the rows are locked until the transaction
// ends and rows another transaction holds are skipped. The engine's relay
// reads in a short transaction of its own and publishes after it, so two
// relays may send the same rows: JetStream's message ids drop the copy, and
// a cancel sent twice changes nothing.
func (t *sqlTx) ListOutbox(limit int) ([]*OutboxMsg, error) {
	q := "SELECT seq, subject, msg_id, payload FROM outbox ORDER BY seq"
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	q += t.d.skipLocked
	rows, err := t.query(q)
	if err != nil {
		return nil, fmt.Errorf("store: list outbox: %w", err)
	}
	defer rows.Close()
	var out []*OutboxMsg
	for rows.Next() {
		var m OutboxMsg
		if err := rows.Scan(&m.Seq, &m.Subject, &m.MsgID, &m.Payload); err != nil {
			return nil, t.fail(fmt.Errorf("store: list outbox: %w", err))
		}
		out = append(out, &m)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(fmt.Errorf("store: list outbox: %w", err))
	}
	return out, nil
}

// DeleteOutbox removes sent messages. A seq that is already gone is not an
// error: after a crash a message may be sent and deleted twice.
func (t *sqlTx) DeleteOutbox(seqs ...int64) error {
	if len(seqs) == 0 {
		return nil
	}
	// Chunks keep each statement under the databases' bound-parameter
	// limits and bound the number of distinct statement texts.
	const chunk = 500
	for len(seqs) > 0 {
		n := min(len(seqs), chunk)
		args := make([]any, n)
		for i, s := range seqs[:n] {
			args[i] = s
		}
		q := "DELETE FROM outbox WHERE seq IN (?" + strings.Repeat(", ?", n-1) + ")"
		if _, err := t.exec(q, args...); err != nil {
			return fmt.Errorf("store: delete %d outbox messages: %w", n, err)
		}
		seqs = seqs[n:]
	}
	return nil
}
