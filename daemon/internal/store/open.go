package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
)

// sqliteBusyTimeout is how long SQLite waits for another process's write
// lock before it gives up with SQLITE_BUSY. Inside one process writers queue
// on the single connection instead (see openSQLite), so this only matters
// when two processes share a file.
const sqliteBusyTimeout = 10 * time.Second

// Open connects to the database that url names and returns a Store; call
// Migrate before using it. The forms are:
//
//	sqlite:///abs/path/to/file.db   SQLite file (sqlite://rel/path.db is relative)
//	/abs/path/file.db, file.db      SQLite file (anything without a scheme)
//	:memory:, sqlite://:memory:     private in-memory SQLite, for tests
//	postgres://user@host:5432/db?sslmode=disable
//	postgresql://...                PostgreSQL through pgx
func Open(ctx context.Context, url string, log hclog.Logger) (Store, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	// Callers usually pass a logger already named for us; name it only
	// once, so log lines read "store", not "store.store".
	if n := log.Name(); n != "store" && !strings.HasSuffix(n, ".store") {
		log = log.Named("store")
	}
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return openPostgres(ctx, url, log)
	case strings.HasPrefix(url, "sqlite://"):
		return openSQLite(ctx, strings.TrimPrefix(url, "sqlite://"), log, 1)
	case strings.Contains(url, "://"):
		return nil, fmt.Errorf("store: database URL %q: unsupported scheme (want sqlite://, postgres:// or a file path)", redact(url))
	case url == "":
		return nil, errors.New("store: empty database URL")
	default:
		return openSQLite(ctx, url, log, 1)
	}
}

// openSQLite opens path with WAL (faster commits, and another process such
// as the sqlite3 shell can read while the daemon writes), foreign keys on,
// and every transaction started with BEGIN IMMEDIATE.
//
// Why one connection: a SQLite database has exactly one writer at a time, and
// every InTx is potentially a writer (read a row, then update it). With a
// pool and deferred transactions, two goroutines that both read and then
// write fail with SQLITE_BUSY that busy_timeout cannot resolve (a snapshot
// upgrade). BEGIN IMMEDIATE fixes correctness either way; the choice left is
// where waiters wait. Measured with BenchmarkSQLiteContention (32 goroutines
// doing read-modify-write on one row, 2 CPUs, noisy): one connection took
// 0.33-0.55 ms per transaction, a pool of 8 immediate connections 0.36-0.80
// ms. Never slower, one connection also queues waiters in database/sql in
// FIFO order, where the pool makes them poll SQLite's lock with sleeps (no
// fairness, and a busy_timeout that a long queue can exceed).
// _txlock=immediate and busy_timeout stay on for the case where another
// process opens the file.
// Consequences: InTx must not be called from inside InTx (it would wait
// for the connection it holds); and since callers queue anyway, the
// transactions of those that queued together share one commit (group.go).
func openSQLite(ctx context.Context, path string, log hclog.Logger, conns int) (Store, error) {
	if path == "" {
		return nil, errors.New("store: empty SQLite path")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("store: SQLite path %q: query parameters are not supported, the store sets its own", path)
	}
	memory := path == ":memory:"
	q := url.Values{}
	q.Add("_txlock", "immediate")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	if !memory {
		q.Add("_pragma", "journal_mode(WAL)")
		// NORMAL is durable across application crashes in WAL mode; only
		// an OS crash or power loss can drop the last transactions.
		q.Add("_pragma", "synchronous(NORMAL)")
	}
	dsn := "file:" + path + "?" + q.Encode()
	configureSQLite()
	connector, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open SQLite %q: %w", path, err)
	}
	db := sql.OpenDB(cachingConnector{connector})
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	// An in-memory database lives as long as its connection, so the pool
	// must never close it.
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open SQLite %q (does its directory exist and is it writable?): %w", path, err)
	}
	log.Info("opened database", "driver", "sqlite", "path", path)
	st := &sqlStore{db: db, d: newSQLiteDialect(), log: log}
	if conns == 1 {
		st.group = &groupCommit{s: st}
	}
	return st, nil
}

// postgresConns is the size of a process's PostgreSQL pool: enough for
// the engine's result appliers, the relay and a few dozen API requests
// at once; a server's default max_connections (100) serves several
// processes of this size.
const postgresConns = 16

// openPostgres opens a database/sql pool over pgx, so that the SQLite and
// PostgreSQL stores share one implementation.
func openPostgres(ctx context.Context, dsn string, log hclog.Logger) (Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open PostgreSQL %s: %w", redact(dsn), err)
	}
	// A bounded pool that keeps what it opened. With no bound and 10
	// idle, 32 concurrent requests opened connections and closed them
	// again at once: each new one is a new server process whose first
	// statements are planned and prepared again, and starting executions
	// ran at a fifth of what the same requests do on a kept pool. Beyond
	// the bound, callers wait for a connection in database/sql.
	db.SetMaxOpenConns(postgresConns)
	db.SetMaxIdleConns(postgresConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: connect to PostgreSQL %s: %w", redact(dsn), err)
	}
	log.Info("opened database", "driver", "postgres", "url", redact(dsn))
	return &sqlStore{db: db, d: newPostgresDialect(), log: log}, nil
}

// redact hides the password of a URL before it reaches a log or an error.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
