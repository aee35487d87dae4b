package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hashicorp/go-hclog"
)

// sqlStore is the one Store implementation; d holds what differs between
// SQLite and PostgreSQL.
type sqlStore struct {
	db  *sql.DB
	d   *dialect
	log hclog.Logger
	// group, on SQLite, runs concurrent transactions under one commit
	// (group.go); nil on PostgreSQL, where they run side by side.
	group *groupCommit
}

var _ Store = (*sqlStore)(nil)

// InTx runs fn in one transaction. The error fn returns is passed back
// unchanged, so callers can match their own errors; a panic in fn rolls back
// and re-panics.
func (s *sqlStore) InTx(ctx context.Context, fn func(Tx) error) error {
	if s.group != nil {
		return s.group.run(ctx, fn)
	}
	return s.inTx(ctx, fn)
}

// inTx runs fn in a database transaction of its own.
func (s *sqlStore) inTx(ctx context.Context, fn func(Tx) error) (err error) {
	stx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin transaction: %w", err)
	}
	done := false
	defer func() {
		if done {
			return
		}
		// Reached on error and on panic: nothing fn wrote may survive.
		s.rollback(stx)
	}()
	t := &sqlTx{ctx: ctx, tx: stx, d: s.d}
	if err := fn(t); err != nil {
		return err
	}
	if t.failed != nil {
		// fn ignored an error from a failed statement. PostgreSQL has
		// already aborted the transaction; SQLite is made to agree, so that
		// fn never commits half of what it meant to write on one database
		// and nothing on the other.
		return fmt.Errorf("store: transaction rolled back because a statement in it failed: %w", t.failed)
	}
	done = true
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// rollback ends stx without its changes.
func (s *sqlStore) rollback(stx *sql.Tx) {
	if err := stx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		s.log.Warn("rollback failed", "error", err)
	}
}

// Close releases the connections; it does not wait for open transactions.
func (s *sqlStore) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// sqlTx is one transaction. Tx methods take no context, so the one given to
// InTx bounds every statement.
//
// Errors that leave the transaction usable on both databases: not found on a
// read or update (no statement failed), and ErrConflict on a create (inserts
// use ON CONFLICT DO NOTHING, so no statement fails). Any other error means a
// statement failed; PostgreSQL then aborts the transaction, and failed makes
// SQLite do the same: later calls fail and InTx does not commit.
type sqlTx struct {
	ctx    context.Context
	tx     *sql.Tx
	d      *dialect
	failed error
}

// fail records that a statement failed and returns err.
func (t *sqlTx) fail(err error) error {
	if err != nil && t.failed == nil {
		t.failed = err
	}
	return err
}

// usable reports the earlier failure, if any.
func (t *sqlTx) usable() error {
	if t.failed != nil {
		return &txFailedError{t.failed}
	}
	return nil
}

// txFailedError is returned by every call after a statement failed. It is a
// type of its own so that the first failure's database error, which it
// wraps, is not classified again as if the new statement had caused it.
type txFailedError struct{ cause error }

func (e *txFailedError) Error() string {
	return "store: transaction already failed: " + e.cause.Error()
}
func (e *txFailedError) Unwrap() error { return e.cause }

var _ Tx = (*sqlTx)(nil)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func (t *sqlTx) exec(q string, args ...any) (sql.Result, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	res, err := t.tx.ExecContext(t.ctx, t.d.rebind(q), args...)
	return res, t.fail(err)
}

func (t *sqlTx) query(q string, args ...any) (*sql.Rows, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	rows, err := t.tx.QueryContext(t.ctx, t.d.rebind(q), args...)
	return rows, t.fail(err)
}

// insert runs `INSERT ... ON CONFLICT DO NOTHING` of the row described by
// what (e.g. `execution "x"`): a row that changed nothing collided with a
// unique key and becomes ErrConflict without failing the transaction. A
// foreign-key violation means the parent (described by parent) does not
// exist and becomes ErrNotFound; that one does fail the transaction.
func (t *sqlTx) insert(what, parent string, q string, args ...any) error {
	res, err := t.exec(q+" ON CONFLICT DO NOTHING", args...)
	if err != nil {
		return t.wrapWrite(err, what, parent)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return t.fail(fmt.Errorf("store: create %s: %w", what, err))
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, ErrConflict)
	}
	return nil
}

// update runs an UPDATE of the row described by what; no row changed means
// the row does not exist.
func (t *sqlTx) update(what string, q string, args ...any) error {
	res, err := t.exec(q, args...)
	if err != nil {
		return t.wrapWrite(err, what, "")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return t.fail(fmt.Errorf("store: update %s: %w", what, err))
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}

// updateReturning is update for a statement that ends in RETURNING: the
// new values of the one row it changes are scanned into dest.
func (t *sqlTx) updateReturning(what string, dest []any, q string, args ...any) error {
	if err := t.usable(); err != nil {
		return err
	}
	err := t.tx.QueryRowContext(t.ctx, t.d.rebind(q), args...).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return t.wrapWrite(t.fail(err), what, "")
}

func (t *sqlTx) wrapWrite(err error, what, parent string) error {
	var tf *txFailedError
	if err == nil || errors.As(err, &tf) {
		return err
	}
	var out error
	switch t.d.classify(err) {
	case uniqueViolation:
		out = fmt.Errorf("%s: %w", what, ErrConflict)
	case foreignKeyViolation:
		if parent == "" {
			parent = "a row it refers to"
		}
		out = fmt.Errorf("%s: %s: %w", what, parent, ErrNotFound)
	default:
		out = fmt.Errorf("store: write %s: %w", what, err)
	}
	if t.failed == err {
		// Remember the meaning, not the driver's wording, so that InTx's
		// error still matches ErrNotFound or ErrConflict.
		t.failed = out
	}
	return out
}

// scanRow runs a query that returns one row and scans it into dest.
func (t *sqlTx) scanRow(q string, args []any, dest ...any) error {
	if err := t.usable(); err != nil {
		return err
	}
	return t.fail(t.tx.QueryRowContext(t.ctx, t.d.rebind(q), args...).Scan(dest...))
}

// getOne scans the single row q returns into dest, mapping no row to
// ErrNotFound.
func (t *sqlTx) getOne(what string, scan func(scanner) error, q string, args ...any) error {
	if err := t.usable(); err != nil {
		return err
	}
	err := scan(t.tx.QueryRowContext(t.ctx, t.d.rebind(q), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	if err != nil {
		return t.fail(fmt.Errorf("store: read %s: %w", what, err))
	}
	return nil
}

// deleted checks the outcome of a DELETE of the row described by what.
func (t *sqlTx) deleted(what string, res sql.Result, err error) error {
	if err != nil {
		return fmt.Errorf("store: delete %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return t.fail(fmt.Errorf("store: delete %s: %w", what, err))
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}
