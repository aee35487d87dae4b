package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// openGrouped is a migrated SQLite store that groups transactions.
func openGrouped(t *testing.T) *sqlStore {
	t.Helper()
	st, err := openSQLite(context.Background(), filepath.Join(t.TempDir(), "g.db"), hclog.NewNullLogger(), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := st.(*sqlStore)
	if s.group == nil {
		t.Fatal("the SQLite store does not group transactions")
	}
	return s
}

var errCaller = errors.New("the caller gave up")

// Callers that come while a transaction runs share the next commit; each
// keeps all or nothing of what it wrote, and gets its own outcome.
func TestGroupCommitKeepsEachCallerApart(t *testing.T) {
	s := openGrouped(t)
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	type caller struct {
		name    string
		ctx     context.Context
		fn      func(tx Tx, id string) error
		kept    bool
		wantErr error // nil: none; errAny: some error; errPanic: a panic
	}
	add := func(tx Tx, id string) error {
		return tx.AddOutbox(&OutboxMsg{Subject: "s", MsgID: id})
	}
	callers := []caller{
		{"writes", ctx, add, true, nil},
		{"fails after writing", ctx, func(tx Tx, id string) error {
			if err := add(tx, id); err != nil {
				return err
			}
			return errCaller
		}, false, errCaller},
		{"ignores a failed statement", ctx, func(tx Tx, id string) error {
			if err := add(tx, id); err != nil {
				return err
			}
			_, _ = tx.(*sqlTx).exec("INSERT INTO no_such_table VALUES (1)")
			return nil
		}, false, errAny},
		{"panics after writing", ctx, func(tx Tx, id string) error {
			if err := add(tx, id); err != nil {
				return err
			}
			panic(errCaller)
		}, false, errPanic},
		{"context ended while waiting", cancelled, add, false, context.Canceled},
		{"writes too", ctx, add, true, nil},
	}
	errs, held := runGroup(t, s, len(callers), func(i int, tx Tx) error { return callers[i].fn(tx, callers[i].name) },
		func(i int) context.Context { return callers[i].ctx })
	if !held["first"] {
		t.Error("the first caller's row is missing")
	}
	for i, c := range callers {
		switch {
		case c.wantErr == nil && errs[i] != nil:
			t.Errorf("%s: %v, want no error", c.name, errs[i])
		case c.wantErr == errAny && errs[i] == nil, c.wantErr != nil && c.wantErr != errAny && !errors.Is(errs[i], c.wantErr):
			t.Errorf("%s: %v, want %v", c.name, errs[i], c.wantErr)
		}
		if held[c.name] != c.kept {
			t.Errorf("%s: row kept %v, want %v", c.name, held[c.name], c.kept)
		}
	}
}

// runGroup runs n callers (fn(i, tx) in ctx(i)) behind a first
// transaction that holds the lead until all of them wait, so that they
// run as one group; it returns their errors (a panic as errPanic) and the
// outbox rows committed.
func runGroup(t *testing.T, s *sqlStore, n int, fn func(i int, tx Tx) error, ctx func(i int) context.Context) ([]error, map[string]bool) {
	t.Helper()
	release := make(chan struct{})
	firstDone := make(chan error, 1)
	go func() {
		firstDone <- s.InTx(context.Background(), func(tx Tx) error {
			<-release
			return tx.AddOutbox(&OutboxMsg{Subject: "s", MsgID: "first"})
		})
	}()
	waitQueued(t, s.group, 0) // the first one leads; the queue is empty
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					errs[i] = fmt.Errorf("%w: %v", errPanic, p)
				}
			}()
			errs[i] = s.InTx(ctx(i), func(tx Tx) error { return fn(i, tx) })
		}()
		waitQueued(t, s.group, i+1) // in this order
	}
	close(release)
	if err := <-firstDone; err != nil {
		t.Fatalf("first: %v", err)
	}
	wg.Wait()
	if s.group.shared == 0 {
		t.Error("no group of more than one caller ran")
	}
	held := map[string]bool{}
	if err := s.InTx(context.Background(), func(tx Tx) error {
		msgs, err := tx.ListOutbox(0)
		for _, m := range msgs {
			held[m.MsgID] = true
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return errs, held
}

// When a caller's failure leaves no transaction to roll back to, every
// caller of its group fails, and none keeps anything.
func TestGroupCommitFailsAllWhenTheTransactionIsGone(t *testing.T) {
	s := openGrouped(t)
	ids := []string{"before", "ends the transaction", "after"}
	errs, held := runGroup(t, s, len(ids), func(i int, tx Tx) error {
		if err := tx.AddOutbox(&OutboxMsg{Subject: "s", MsgID: ids[i]}); err != nil {
			return err
		}
		if i == 1 {
			_, _ = tx.(*sqlTx).tx.Exec("ROLLBACK")
			return errCaller
		}
		return nil
	}, func(int) context.Context { return context.Background() })
	for i, id := range ids {
		if errs[i] == nil {
			t.Errorf("%s: no error", id)
		}
		if held[id] {
			t.Errorf("%s: row kept", id)
		}
	}
	// The store goes on.
	if err := s.InTx(context.Background(), func(tx Tx) error { return tx.AddOutbox(&OutboxMsg{Subject: "s", MsgID: "later"}) }); err != nil {
		t.Fatalf("a transaction after the broken group: %v", err)
	}
}

var (
	errAny   = errors.New("any error")
	errPanic = errors.New("panic")
)

// waitQueued waits until n calls wait behind the leader.
func waitQueued(t *testing.T, g *groupCommit, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		g.mu.Lock()
		q, leading := len(g.queue), g.leading
		g.mu.Unlock()
		if leading && q == n {
			return
		}
	}
	t.Fatalf("%d calls never queued", n)
}
