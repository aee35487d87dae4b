package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"go.uber.org/goleak"

	"github.com/sirocco-wf/sirocco/daemon/internal/store"
	"github.com/sirocco-wf/sirocco/daemon/internal/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// defaultPostgresURL is the server CI provides; SIROCCO_TEST_POSTGRES_URL
// overrides it.
const defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// backend makes fresh, empty databases of one kind and returns their URLs.
type backend struct {
	name   string
	driver string // the database/sql driver, for a test that writes as another program would
	fresh  func(t *testing.T) string
}

func backends(t *testing.T) []backend {
	return []backend{
		{"SQLite", "sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "sirocco.db") }},
		{"PostgreSQL", "pgx", (&postgresServer{parent: t}).fresh},
	}
}

func testLogger(t *testing.T) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "test", Level: hclog.Warn, Output: testWriter{t}})
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func openURL(t *testing.T, dbURL string) store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, dbURL, testLogger(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store {
				s := openURL(t, b.fresh(t))
				if err := s.Migrate(context.Background()); err != nil {
					t.Fatalf("Migrate: %v", err)
				}
				return s
			})
		})
	}
}

// TestConcurrentMigrate starts several processes' worth of stores on one
// empty database at once: every Migrate must succeed and each migration
// must be recorded once.
func TestConcurrentMigrate(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			dbURL := b.fresh(t)
			const n = 4
			stores := make([]store.Store, n)
			for i := range stores {
				stores[i] = openURL(t, dbURL)
			}
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i, s := range stores {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = s.Migrate(context.Background())
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("Migrate %d: %v", i, err)
				}
			}
			// The schema works and a further Migrate changes nothing.
			if err := stores[0].Migrate(context.Background()); err != nil {
				t.Fatalf("Migrate again: %v", err)
			}
			err := stores[1].InTx(context.Background(), func(tx store.Tx) error {
				return tx.CreateExecution(&store.Execution{WorkflowName: "wf", State: store.StateIdle})
			})
			if err != nil {
				t.Fatalf("use migrated schema: %v", err)
			}
		})
	}
}

// TestOlderServerUpdatesMoveRev writes a task row the way a server of
// schema 6 or older does, naming every column but rev, as happens while a
// rolling upgrade runs old and new servers on one database. Rev must still
// move on every such write: the engine trusts a cached task while its rev is
// unchanged, and would otherwise act on a task another server has finished.
func TestOlderServerUpdatesMoveRev(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			dbURL := b.fresh(t)
			s := openURL(t, dbURL)
			ctx := context.Background()
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			e := &store.Execution{WorkflowName: "wf", State: store.StateRunning}
			te := &store.TaskExecution{WorkflowName: "wf", Name: "t", State: store.StateRunning}
			err := s.InTx(ctx, func(tx store.Tx) error {
				if err := tx.CreateExecution(e); err != nil {
					return err
				}
				te.ExecutionID = e.ID
				if err := tx.CreateTaskExecution(te); err != nil {
					return err
				}
				return tx.UpdateTaskExecution(te) // rev 1, by this binary
			})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			older, err := sql.Open(b.driver, dbURL)
			if err != nil {
				t.Fatalf("open as an older server: %v", err)
			}
			defer older.Close()
			for i, want := range []int64{2, 3} {
				_, err := older.ExecContext(ctx, "UPDATE task_executions SET state = 'SUCCESS', "+
					"state_info = 'written by an older server' WHERE id = '"+te.ID+"'")
				if err != nil {
					t.Fatalf("older server's update %d: %v", i+1, err)
				}
				var got *store.TaskExecution
				if err := s.InTx(ctx, func(tx store.Tx) (err error) { got, err = tx.GetTaskExecution(te.ID); return err }); err != nil {
					t.Fatalf("read back: %v", err)
				}
				if got.Rev != want || got.State != store.StateSuccess {
					t.Fatalf("after the older server's update %d: rev %d state %s, want rev %d state SUCCESS", i+1, got.Rev, got.State, want)
				}
			}
			// This binary's own update still moves rev by exactly one.
			err = s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateTaskExecution(te) })
			if err != nil || te.Rev != 4 {
				t.Fatalf("update after the older server's: rev %d, err %v; want rev 4", te.Rev, err)
			}
		})
	}
}

// postgresServer hands out fresh, empty schemas in one database that it
// creates on first use and drops when the parent test ends. A schema per case
// (chosen through search_path) keeps cases apart at a fraction of the cost
// of CREATE DATABASE per case. An unreachable server fails the test: a
// store suite that silently skipped PostgreSQL would let the distributed
// mode rot.
type postgresServer struct {
	parent *testing.T
	dbURL  *url.URL // the test database
	db     *sql.DB  // connected to it, for CREATE SCHEMA
}

func (p *postgresServer) fresh(t *testing.T) string {
	t.Helper()
	if os.Getenv("SIROCCO_TEST_NO_POSTGRES") == "1" {
		t.Skip("SIROCCO_TEST_NO_POSTGRES=1: PostgreSQL tests skipped on request")
	}
	if p.db == nil {
		p.createDatabase(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	schema := "s_" + randomHex()
	if _, err := p.db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	u := *p.dbURL
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func (p *postgresServer) createDatabase(t *testing.T) {
	admin := os.Getenv("SIROCCO_TEST_POSTGRES_URL")
	if admin == "" {
		admin = defaultPostgresURL
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("SIROCCO_TEST_POSTGRES_URL: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adminDB, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("open PostgreSQL %s: %v", u.Redacted(), err)
	}
	if err := adminDB.PingContext(ctx); err != nil {
		_ = adminDB.Close()
		t.Fatalf("PostgreSQL at %s is unreachable: %v\n"+
			"Start it, point SIROCCO_TEST_POSTGRES_URL at another server, or set SIROCCO_TEST_NO_POSTGRES=1 to skip these tests explicitly.",
			u.Redacted(), err)
	}
	name := "sirocco_test_" + randomHex()
	if _, err := adminDB.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		_ = adminDB.Close()
		t.Fatalf("create test database %s: %v", name, err)
	}
	u.Path = "/" + name
	p.dbURL = u
	p.db, err = sql.Open("pgx", u.String())
	if err != nil {
		t.Fatalf("open test database %s: %v", name, err)
	}
	// On the parent, so the database outlives each case's store and is
	// dropped after the last one has closed.
	p.parent.Cleanup(func() {
		defer adminDB.Close()
		_ = p.db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := adminDB.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			p.parent.Errorf("drop test database %s: %v", name, err)
		}
	})
}

func randomHex() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
