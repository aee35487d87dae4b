package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migrationsFS holds the schema history, one directory per dialect. A file
// is named NNNN_what.sql; once released it is never edited, only followed by
// a higher number, because databases in the field have already run it.
//
//go:embed migrations
var migrationsFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the migrations of one dialect in version order.
func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations %s: %w", dir, err)
	}
	var out []migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s/%s: name must be NNNN_what.sql with NNNN > 0", dir, e.Name())
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s in %s share version %d", prev, e.Name(), dir, v)
		}
		seen[v] = e.Name()
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s/%s: %w", dir, e.Name(), err)
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// schemaMigrationsDDL is the same on both databases so that the bookkeeping
// never needs a migration of its own.
const schemaMigrationsDDL = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version     INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    applied_at  TEXT NOT NULL
)`

// Migrate applies, in order, every migration the database has not recorded in
// schema_migrations. Each migration runs in its own transaction together with
// its record, so a failed one leaves no trace and the next start retries it.
// On PostgreSQL every transaction first takes an advisory lock, so processes
// that start together apply each migration exactly once; on SQLite BEGIN
// IMMEDIATE gives the same guarantee.
func (s *sqlStore) Migrate(ctx context.Context) error {
	ms, err := loadMigrations(migrationsFS, "migrations/"+s.d.name)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	applied := 0
	for _, m := range ms {
		did, err := s.applyMigration(ctx, m)
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", m.name, err)
		}
		if did {
			applied++
			s.log.Info("applied migration", "version", m.version, "name", m.name)
		}
	}
	var newest sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&newest); err != nil {
		return fmt.Errorf("store: read schema version: %w", err)
	}
	known := 0
	if len(ms) > 0 {
		known = ms[len(ms)-1].version
	}
	if newest.Valid && int(newest.Int64) > known {
		// A newer binary migrated this database during a rolling upgrade.
		// Migrations only add, so an older binary can keep running.
		s.log.Warn("database schema is newer than this binary", "database_version", newest.Int64, "binary_version", known)
	}
	s.log.Debug("schema up to date", "applied", applied, "version", newest.Int64)
	return nil
}

func (s *sqlStore) applyMigration(ctx context.Context, m migration) (applied bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil || !applied {
			if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
				s.log.Warn("rollback failed", "error", rbErr)
			}
		}
	}()
	if err := s.d.lockMigrations(ctx, tx); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, schemaMigrationsDDL); err != nil {
		return false, fmt.Errorf("create schema_migrations: %w", err)
	}
	var one int
	err = tx.QueryRowContext(ctx, s.d.rebind("SELECT 1 FROM schema_migrations WHERE version = ?"), m.version).Scan(&one)
	switch {
	case err == nil:
		return false, nil
	case !errors.Is(err, sql.ErrNoRows):
		return false, fmt.Errorf("read schema_migrations: %w", err)
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("apply: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.d.rebind("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
		m.version, m.name, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return false, fmt.Errorf("record: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("commit: %w", err)
	}
	return true, nil
}
