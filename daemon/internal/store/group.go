package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// groupMax bounds the transactions of callers that one SQLite commit
// carries, and so how long the last of them waits for it.
const groupMax = 64

// groupCommit runs the transactions of concurrent InTx callers on SQLite
// as one database transaction with a commit for all of them. SQLite has
// one writer and the store one connection, so callers queue anyway; a
// commit (its WAL frames and their write calls) was a seventh of the
// daemon's CPU with 32 executions starting at once, most of it writing the
// same hot pages again for each caller.
//
// Each caller's fn runs inside a savepoint, in the order the callers came:
// a fn that fails is rolled back to its savepoint alone and its caller
// gets its error at once; the others return only after the commit, with
// its outcome. So every caller still gets all or nothing of what it
// wrote, and nothing is reported committed before it is. A caller whose
// context ended while it waited does not run. A failure that leaves no
// transaction to roll back to (SQLite rolls the whole transaction back on
// an I/O error, a full disk, or an interrupted write) fails every caller
// of the group, as it would have failed a transaction of its own.
//
// One caller leads: it runs the group that holds its own call, then hands
// the lead to the first caller that came meanwhile, so no caller serves
// others for long.
type groupCommit struct {
	s *sqlStore

	mu      sync.Mutex
	queue   []*txCall
	leading bool
	shared  int // groups of more than one caller run so far (for tests)
}

type txCall struct {
	ctx context.Context
	fn  func(Tx) error

	// Set before wake is signalled.
	err      error
	panicked any
	finished bool // err and panicked are final
	lead     bool // run the queue
	wake     chan struct{}
}

func (g *groupCommit) run(ctx context.Context, fn func(Tx) error) error {
	c := &txCall{ctx: ctx, fn: fn, wake: make(chan struct{}, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	if !g.leading {
		g.leading, c.lead = true, true
	}
	leads := c.lead
	g.mu.Unlock()
	if !leads {
		<-c.wake // finished, or to lead: set before the send
	}
	if !c.finished { // woken, or started, to lead
		g.lead()
	}
	if c.panicked != nil {
		panic(c.panicked)
	}
	return c.err
}

// lead runs one group (which holds the leader's own call: it came first
// of those queued) and passes the lead on.
func (g *groupCommit) lead() {
	g.mu.Lock()
	n := min(len(g.queue), groupMax)
	batch := g.queue[:n:n]
	g.queue = g.queue[n:]
	g.mu.Unlock()

	g.runGroup(batch)

	g.mu.Lock()
	if len(g.queue) == 0 {
		g.leading = false
		g.queue = nil
		g.mu.Unlock()
		return
	}
	next := g.queue[0]
	next.lead = true
	g.mu.Unlock()
	next.wake <- struct{}{}
}

func finish(c *txCall, err error) {
	c.err, c.finished = err, true
	if !c.lead {
		c.wake <- struct{}{}
	}
}

// runGroup runs the calls of one group and finishes each.
func (g *groupCommit) runGroup(batch []*txCall) {
	live := make([]*txCall, 0, len(batch))
	for _, c := range batch {
		if err := c.ctx.Err(); err != nil {
			finish(c, fmt.Errorf("store: begin transaction: %w", err))
			continue
		}
		live = append(live, c)
	}
	switch len(live) {
	case 0:
		return
	case 1:
		// Alone: a transaction of its own, as without grouping.
		c := live[0]
		err := catch(c, func() error { return g.s.inTx(c.ctx, c.fn) })
		finish(c, err)
		return
	}
	g.mu.Lock()
	g.shared++
	g.mu.Unlock()
	// The group's transaction must not end with one caller's context.
	stx, err := g.s.db.BeginTx(context.Background(), nil)
	if err != nil {
		for _, c := range live {
			finish(c, fmt.Errorf("store: begin transaction: %w", err))
		}
		return
	}
	var ok []*txCall
	for i, c := range live {
		if err := g.runOne(stx, c); err != nil {
			var broken *groupBrokenError
			if errors.As(err, &broken) {
				g.s.rollback(stx)
				for _, c := range append(ok, live[i:]...) {
					finish(c, broken.err)
				}
				return
			}
			finish(c, err)
			continue
		}
		ok = append(ok, c)
	}
	err = stx.Commit()
	if err != nil {
		err = fmt.Errorf("store: commit: %w", err)
	}
	for _, c := range ok {
		finish(c, err)
	}
}

// groupBrokenError is a failure after which the group's transaction is
// gone: every caller of the group fails with err.
type groupBrokenError struct{ err error }

func (e *groupBrokenError) Error() string { return e.err.Error() }

// runOne runs c's fn inside a savepoint of stx and rolls back to it if
// fn fails; the error is c's, or a groupBrokenError.
func (g *groupCommit) runOne(stx *sql.Tx, c *txCall) error {
	if _, err := stx.ExecContext(context.Background(), "SAVEPOINT caller"); err != nil {
		return &groupBrokenError{fmt.Errorf("store: begin transaction: savepoint: %w", err)}
	}
	t := &sqlTx{ctx: c.ctx, tx: stx, d: g.s.d}
	err := catch(c, func() error {
		if err := c.fn(t); err != nil {
			return err
		}
		if t.failed != nil {
			return fmt.Errorf("store: transaction rolled back because a statement in it failed: %w", t.failed)
		}
		return nil
	})
	if err != nil || c.panicked != nil {
		if _, rbErr := stx.ExecContext(context.Background(), "ROLLBACK TO caller"); rbErr != nil {
			cause := err
			if cause == nil {
				cause = fmt.Errorf("panic: %v", c.panicked)
			}
			return &groupBrokenError{fmt.Errorf("store: transaction rolled back whole after %v: %w", cause, rbErr)}
		}
	}
	if _, rlErr := stx.ExecContext(context.Background(), "RELEASE caller"); rlErr != nil {
		return &groupBrokenError{fmt.Errorf("store: release savepoint: %w", rlErr)}
	}
	return err
}

// catch runs f and records a panic in c, to be raised again in c's
// goroutine.
func catch(c *txCall, f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			c.panicked = p
			err = fmt.Errorf("store: panic in transaction: %v", p)
		}
	}()
	return f()
}
