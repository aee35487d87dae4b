package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/hashicorp/go-hclog"
)

func TestRebind(t *testing.T) {
	cases := []struct{ in, pg string }{
		{"SELECT 1", "SELECT 1"},
		{"a = ? AND b = ?", "a = $1 AND b = $2"},
		{"IN (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "IN ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"},
	}
	pg, lite := newPostgresDialect(), newSQLiteDialect()
	for _, c := range cases {
		if got := pg.rebind(c.in); got != c.pg {
			t.Errorf("postgres rebind(%q) = %q, want %q", c.in, got, c.pg)
		}
		if got := pg.rebind(c.in); got != c.pg {
			t.Errorf("cached postgres rebind(%q) = %q", c.in, got)
		}
		if got := lite.rebind(c.in); got != c.in {
			t.Errorf("sqlite rebind(%q) = %q, want it unchanged", c.in, got)
		}
	}
}

func TestLoadMigrations(t *testing.T) {
	cases := []struct {
		name    string
		files   fstest.MapFS
		want    []int
		wantErr string
	}{
		{"ordered by number, not name", fstest.MapFS{
			"m/0010_later.sql": {Data: []byte("x")}, "m/0002_b.sql": {Data: []byte("x")}, "m/README": {Data: []byte("x")},
		}, []int{2, 10}, ""},
		{"duplicate version", fstest.MapFS{"m/0001_a.sql": {}, "m/01_b.sql": {}}, nil, "share version 1"},
		{"no number", fstest.MapFS{"m/init.sql": {}}, nil, "NNNN_what.sql"},
		{"zero", fstest.MapFS{"m/0000_x.sql": {}}, nil, "NNNN > 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ms, err := loadMigrations(c.files, "m")
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %v, want error containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.version)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("versions %v, want %v", got, c.want)
			}
		})
	}
	// The embedded sets exist and are numbered the same for both dialects,
	// so a schema change is never made on one database only.
	lite, err := loadMigrations(migrationsFS, "migrations/sqlite")
	if err != nil {
		t.Fatal(err)
	}
	pg, err := loadMigrations(migrationsFS, "migrations/postgres")
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) == 0 || len(lite) != len(pg) {
		t.Fatalf("%d sqlite migrations, %d postgres ones", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].name != pg[i].name {
			t.Errorf("migration %d: sqlite %s, postgres %s", i, lite[i].name, pg[i].name)
		}
	}
}

func TestOpenURLs(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name    string
		url     string
		wantErr string
	}{
		{"sqlite URL", "sqlite://" + filepath.Join(dir, "a.db"), ""},
		{"plain path", filepath.Join(dir, "b.db"), ""},
		{"memory", ":memory:", ""},
		{"memory URL", "sqlite://:memory:", ""},
		{"unknown scheme", "mysql://u:secret@h/db", "unsupported scheme"},
		{"empty", "", "empty database URL"},
		{"query on sqlite", "sqlite://" + filepath.Join(dir, "c.db") + "?cache=shared", "query parameters"},
		{"missing directory", filepath.Join(dir, "no", "such", "dir", "d.db"), "directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Open(context.Background(), c.url, hclog.NewNullLogger())
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("Open(%q) = %v, want error containing %q", c.url, err, c.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatalf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q): %v", c.url, err)
			}
			defer s.Close()
			if err := s.Migrate(context.Background()); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	got := redact("postgres://sirocco:hunter2@db:5432/sirocco?sslmode=disable")
	if strings.Contains(got, "hunter2") || !strings.Contains(got, "db:5432") {
		t.Fatalf("redact = %q", got)
	}
}

// BenchmarkSQLiteContention compares the two ways to keep concurrent
// read-modify-write transactions on one row from failing with SQLITE_BUSY:
// one connection (waiters queue in database/sql), or a pool of connections
// that each BEGIN IMMEDIATE (waiters poll SQLite's lock with busy_timeout).
// Its result is why openSQLite uses one connection.
func BenchmarkSQLiteContention(b *testing.B) {
	for _, conns := range []int{1, 8} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			s, err := openSQLite(context.Background(), filepath.Join(b.TempDir(), "bench.db"), hclog.NewNullLogger(), conns)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			if err := s.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			e := &Execution{WorkflowName: "wf", State: StateRunning, Context: []byte(`{"n":0}`)}
			if err := s.InTx(ctx, func(tx Tx) error { return tx.CreateExecution(e) }); err != nil {
				b.Fatal(err)
			}
			const workers = 32
			var wg sync.WaitGroup
			var mu sync.Mutex
			var firstErr error
			per := b.N/workers + 1
			b.ResetTimer()
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < per; i++ {
						err := s.InTx(ctx, func(tx Tx) error {
							cur, err := tx.GetExecution(e.ID, true)
							if err != nil {
								return err
							}
							var c struct{ N int }
							_ = json.Unmarshal(cur.Context, &c)
							cur.Context, _ = json.Marshal(map[string]int{"n": c.N + 1})
							return tx.UpdateExecution(cur)
						})
						if err != nil {
							mu.Lock()
							firstErr = errors.Join(firstErr, err)
							mu.Unlock()
							return
						}
					}
				}()
			}
			wg.Wait()
			if firstErr != nil {
				b.Fatal(firstErr)
			}
		})
	}
}
