package store

import (
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// nullTimeArg stores the zero time as NULL, for optional timestamps.
func (d *dialect) nullTimeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return d.timeArg(t)
}

// AddTimer schedules t. The key is unique: a second timer for the same
// purpose is ErrConflict and changes nothing, so a caller may schedule
// again after a crash without fearing a double fire.
func (t *sqlTx) AddTimer(tm *Timer) error {
	if tm.Key == "" || tm.Kind == "" {
		return fmt.Errorf("store: add timer %q: key and kind are required", tm.Key)
	}
	if tm.FireAt.IsZero() {
		return fmt.Errorf("store: add timer %q: no fire time", tm.Key)
	}
	tm.FireAt = normTime(tm.FireAt)
	what := fmt.Sprintf("timer %q", tm.Key)
	if err := t.usable(); err != nil {
		return err
	}
	err := t.tx.QueryRowContext(t.ctx, t.d.rebind("INSERT INTO timers (key, kind, ref, fire_at, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)"+
		" ON CONFLICT DO NOTHING RETURNING id"),
		tm.Key, tm.Kind, tm.Ref, t.d.timeArg(tm.FireAt), bytesArg(tm.Payload), t.d.timeArg(time.Now())).Scan(&tm.ID)
	if errors.Is(err, sql.ErrNoRows) {
		// DO NOTHING returned no row: the key is taken. No statement
		// failed, so the transaction stays usable.
		return fmt.Errorf("%s: %w", what, ErrConflict)
	}
	if err != nil {
		return t.wrapWrite(t.fail(err), what, "")
	}
	return nil
}

// ClaimTimers returns the timers due at now, oldest first. On PostgreSQL
// the rows stay locked until the transaction ends and rows that another
// transaction holds are skipped (FOR UPDATE SKIP LOCKED), so engines that
// claim at the same moment take disjoint timers and none waits for another.
// On SQLite the transaction already holds the only write lock.
func (t *sqlTx) ClaimTimers(now time.Time, limit int) ([]*Timer, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("store: claim timers: limit %d must be positive", limit)
	}
	q := fmt.Sprintf("SELECT id, key, kind, ref, fire_at, payload FROM timers WHERE fire_at <= ? ORDER BY fire_at, id LIMIT %d", limit) +
		t.d.skipLocked
	rows, err := t.query(q, t.d.timeArg(now))
	if err != nil {
		return nil, fmt.Errorf("store: claim timers: %w", err)
	}
	defer rows.Close()
	var out []*Timer
	for rows.Next() {
		var tm Timer
		if err := rows.Scan(&tm.ID, &tm.Key, &tm.Kind, &tm.Ref, timeDest{&tm.FireAt}, &tm.Payload); err != nil {
			return nil, t.fail(fmt.Errorf("store: claim timers: %w", err))
		}
		out = append(out, &tm)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(fmt.Errorf("store: claim timers: %w", err))
	}
	return out, nil
}

// DeleteTimer removes a timer by id.
func (t *sqlTx) DeleteTimer(id int64) error {
	res, err := t.exec("DELETE FROM timers WHERE id = ?", id)
	return t.deleted(fmt.Sprintf("timer %d", id), res, err)
}

// DeleteTimerByKey removes the timer with key.
func (t *sqlTx) DeleteTimerByKey(key string) error {
	res, err := t.exec("DELETE FROM timers WHERE key = ?", key)
	return t.deleted(fmt.Sprintf("timer %q", key), res, err)
}

// NextTimerAt reports the earliest fire time of all timers.
func (t *sqlTx) NextTimerAt() (time.Time, bool, error) {
	var at time.Time
	err := t.getOne("next timer", func(s scanner) error { return s.Scan(timeDest{&at}) },
		"SELECT fire_at FROM timers ORDER BY fire_at LIMIT 1")
	if errors.Is(err, ErrNotFound) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	return at, true, nil
}
