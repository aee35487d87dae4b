package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"testing"

	"modernc.org/sqlite"
)

// openCaching is a caching connection to a private in-memory SQLite with
// a table t(k primary key, v) holding rows 1..3.
func openCaching(t *testing.T, max int) *cachingConn {
	t.Helper()
	connector, err := sqlite.NewConnector(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	inner, err := connector.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dc, err := newCachingConn(inner, max)
	if err != nil {
		t.Fatal(err)
	}
	c := dc.(*cachingConn)
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	mustExec(t, c, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
	for k, v := range []string{"a", "b", "c"} {
		mustExec(t, c, "INSERT INTO t (k, v) VALUES (?, ?)", int64(k+1), v)
	}
	return c
}

func mustExec(t *testing.T, c *cachingConn, q string, args ...any) {
	t.Helper()
	if _, err := c.ExecContext(context.Background(), q, named(args)); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func named(args []any) []driver.NamedValue {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return nv
}

// values reads the first column of every row and closes rows.
func values(t *testing.T, rows driver.Rows) []string {
	t.Helper()
	defer rows.Close()
	var out []string
	dest := make([]driver.Value, len(rows.Columns()))
	for {
		err := rows.Next(dest)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		switch v := dest[0].(type) {
		case string:
			out = append(out, v)
		case []byte:
			out = append(out, string(v))
		default:
			t.Fatalf("column holds %T", v)
		}
	}
}

func query(t *testing.T, c *cachingConn, q string, args ...any) driver.Rows {
	t.Helper()
	rows, err := c.QueryContext(context.Background(), q, named(args))
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return rows
}

const selectV = "SELECT v FROM t WHERE k >= ? ORDER BY k"

func TestStmtCacheReusesAStatement(t *testing.T) {
	c := openCaching(t, 8)
	tests := []struct {
		from int64
		want string
	}{{1, "[a b c]"}, {2, "[b c]"}, {3, "[c]"}, {4, "[]"}}
	var first driver.Stmt
	for _, tc := range tests {
		if got := values(t, query(t, c, selectV, tc.from)); fmt.Sprint(got) != tc.want {
			t.Errorf("from %d: %v, want %s", tc.from, got, tc.want)
		}
		cs := c.stmts[selectV].Value.(*cachedStmt)
		if first == nil {
			first = cs.stmt
		} else if cs.stmt != first {
			t.Errorf("from %d: the statement was prepared again", tc.from)
		}
		if cs.busy {
			t.Errorf("from %d: the statement is still busy after its rows closed", tc.from)
		}
	}
}

// A query run again while its rows are open runs uncached and both read
// their own rows.
func TestStmtCacheNestedUseOfOneText(t *testing.T) {
	c := openCaching(t, 8)
	outer := query(t, c, selectV, int64(1))
	if got := values(t, query(t, c, selectV, int64(3))); fmt.Sprint(got) != "[c]" {
		t.Errorf("inner: %v, want [c]", got)
	}
	if got := values(t, outer); fmt.Sprint(got) != "[a b c]" {
		t.Errorf("outer: %v, want [a b c]", got)
	}
	if c.stmts[selectV].Value.(*cachedStmt).busy {
		t.Error("the statement is still busy after both rows closed")
	}
}

// The least recently used statement goes; one evicted while its rows are
// open is finalized only when they close.
func TestStmtCacheEviction(t *testing.T) {
	c := openCaching(t, 2)
	open := query(t, c, selectV, int64(2))
	held := c.stmts[selectV].Value.(*cachedStmt)
	for _, q := range []string{"SELECT v FROM t WHERE k = ?", "SELECT v FROM t WHERE k <= ? ORDER BY k"} {
		values(t, query(t, c, q, int64(1)))
	}
	if _, ok := c.stmts[selectV]; ok || c.lru.Len() != 2 {
		t.Fatalf("cache holds %d statements, selectV cached %v: want 2 without it", c.lru.Len(), ok)
	}
	if !held.gone {
		t.Error("the evicted statement is not marked to finalize")
	}
	if got := values(t, open); fmt.Sprint(got) != "[b c]" {
		t.Errorf("rows of the evicted statement: %v, want [b c]", got)
	}
	if got := values(t, query(t, c, selectV, int64(1))); fmt.Sprint(got) != "[a b c]" {
		t.Errorf("prepared again: %v, want [a b c]", got)
	}
}

// A statement that failed (a unique violation here) serves the next call.
func TestStmtCacheAfterAnError(t *testing.T) {
	c := openCaching(t, 8)
	const ins = "INSERT INTO t (k, v) VALUES (?, ?)"
	tests := []struct {
		k       int64
		wantErr bool
	}{{1, true}, {4, false}, {4, true}, {5, false}}
	for _, tc := range tests {
		_, err := c.ExecContext(context.Background(), ins, named([]any{tc.k, "x"}))
		if (err != nil) != tc.wantErr {
			t.Errorf("insert %d: error %v, want error %v", tc.k, err, tc.wantErr)
		}
		if err != nil && newSQLiteDialect().classify(err) != uniqueViolation {
			t.Errorf("insert %d: %v is not classified as a unique violation", tc.k, err)
		}
	}
	if got := values(t, query(t, c, selectV, int64(4))); fmt.Sprint(got) != "[x x]" {
		t.Errorf("rows 4 and 5: %v, want [x x]", got)
	}
}
