package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is everything that differs between SQLite and PostgreSQL. The
// queries themselves are written once, with "?" placeholders, and every
// difference the engine could observe (time precision, error mapping, row
// locks) is settled here so the shared test suite holds on both.
type dialect struct {
	name string
	// dollar rewrites "?" placeholders to PostgreSQL's $1, $2, ...
	dollar bool
	// forUpdate is appended to a SELECT that must lock the rows it reads.
	// SQLite needs none: every transaction begins IMMEDIATE, so it already
	// holds the database's only write lock.
	forUpdate string
	// skipLocked is appended to a SELECT that should pass over rows another
	// transaction holds (outbox relay, timers).
	skipLocked string
	// lockMigrations serialises migrations between processes for the
	// lifetime of tx.
	lockMigrations func(ctx context.Context, tx *sql.Tx) error
	// classify reports whether err is a unique or a foreign-key violation.
	classify func(err error) violation

	rebound sync.Map // query text -> rebound text (PostgreSQL only)
}

type violation int

const (
	noViolation violation = iota
	uniqueViolation
	foreignKeyViolation
)

// migrationLockKey is the PostgreSQL advisory lock key that serialises
// migrations: the first 8 bytes of "sirocco." read as a big-endian int64, so
// it is stable and unlikely to collide with another application's key.
const migrationLockKey int64 = 0x7369726f63636f2e

func newSQLiteDialect() *dialect {
	return &dialect{
		name:           "sqlite",
		lockMigrations: func(context.Context, *sql.Tx) error { return nil },
		classify: func(err error) violation {
			var se *sqlite.Error
			if !errors.As(err, &se) {
				return noViolation
			}
			switch se.Code() {
			case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
				return uniqueViolation
			case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
				return foreignKeyViolation
			}
			return noViolation
		},
	}
}

func newPostgresDialect() *dialect {
	return &dialect{
		name:       "postgres",
		dollar:     true,
		forUpdate:  " FOR UPDATE",
		skipLocked: " FOR UPDATE SKIP LOCKED",
		lockMigrations: func(ctx context.Context, tx *sql.Tx) error {
			// A transaction-scoped lock is released by COMMIT or ROLLBACK, so
			// a process that dies mid-migration cannot leave it held.
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLockKey); err != nil {
				return fmt.Errorf("take migration lock: %w", err)
			}
			return nil
		},
		classify: func(err error) violation {
			var pe *pgconn.PgError
			if !errors.As(err, &pe) {
				return noViolation
			}
			switch pe.Code {
			case "23505": // unique_violation
				return uniqueViolation
			case "23503": // foreign_key_violation
				return foreignKeyViolation
			}
			return noViolation
		},
	}
}

// rebind turns "?" placeholders into the dialect's form. Queries contain no
// "?" inside string literals, so a plain scan is enough.
func (d *dialect) rebind(q string) string {
	if !d.dollar {
		return q
	}
	if v, ok := d.rebound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	out := b.String()
	d.rebound.Store(q, out)
	return out
}

// timeLayout is how SQLite stores timestamps: UTC, fixed width, so that text
// order is time order (sorting and marker pagination compare the text).
const timeLayout = "2006-01-02T15:04:05.000000Z"

// normTime is the value a timestamp has after a round trip through either
// database: UTC, microseconds (PostgreSQL's precision), no monotonic clock.
func normTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// timeArg is the query argument for t.
func (d *dialect) timeArg(t time.Time) any {
	t = normTime(t)
	if d.dollar {
		return t
	}
	return t.Format(timeLayout)
}

// timeDest scans a timestamp column from either database into *t, in UTC.
type timeDest struct{ t *time.Time }

func (d timeDest) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*d.t = normTime(v)
	case string:
		return d.parse(v)
	case []byte:
		return d.parse(string(v))
	case nil:
		*d.t = time.Time{}
	default:
		return fmt.Errorf("timestamp column holds %T", src)
	}
	return nil
}

func (d timeDest) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("timestamp column: %w", err)
	}
	*d.t = normTime(t)
	return nil
}

// bytesArg stores nil as NULL and anything else as is, so that a nil JSON
// document reads back as nil on both databases.
func bytesArg(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// nullString stores "" as NULL, for optional foreign keys.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
