package store

import (
	linked "container/list"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
)

// stmtCacheSize bounds the prepared statements kept per SQLite
// connection. The store's fixed statements are a few dozen; the rest
// (listings by filter and sort, outbox deletes by count) vary, and the
// least recently used of them are finalized.
const stmtCacheSize = 256

// cachingConnector hands out SQLite connections that keep their prepared
// statements. The driver prepares, and finalizes, every statement that
// database/sql runs without an explicit Prepare, which is every statement
// of the store: parsing and planning the same few dozen texts again was a
// fifth of the daemon's CPU. database/sql's own *sql.Stmt cannot serve
// here: preparing one outside a transaction waits for the only connection,
// which the transaction holds. PostgreSQL needs none of this: pgx caches
// the statements of each connection by default.
type cachingConnector struct{ inner driver.Connector }

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return newCachingConn(conn, stmtCacheSize)
}

func (c cachingConnector) Driver() driver.Driver { return c.inner.Driver() }

// sqliteConn is what the store needs of a driver connection: modernc's
// implements all of it.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// cachingConn runs Exec and Query through prepared statements it keeps,
// by query text, least recently used first out. A statement is used by one
// call at a time: a query whose rows are still open holds it, and the same
// text run meanwhile is prepared once, uncached, as the driver would.
// database/sql uses a connection from one goroutine at a time (rows are
// closed under the same lock), so mu only guards against a driver change
// of that rule.
type cachingConn struct {
	sqliteConn
	mu    sync.Mutex
	max   int
	stmts map[string]*linked.Element // of *cachedStmt
	lru   linked.List                // front: most recently used
}

type cachedStmt struct {
	query string
	stmt  driver.Stmt
	busy  bool // rows of a query are open on it
	gone  bool // evicted while busy: finalized when its rows close
}

// cachedStmtAPI is what a statement of the driver offers besides
// driver.Stmt.
type cachedStmtAPI interface {
	driver.StmtExecContext
	driver.StmtQueryContext
}

func newCachingConn(c driver.Conn, max int) (driver.Conn, error) {
	sc, ok := c.(sqliteConn)
	if !ok {
		_ = c.Close()
		return nil, fmt.Errorf("store: SQLite driver connection %T lacks a method the statement cache needs", c)
	}
	return &cachingConn{sqliteConn: sc, max: max, stmts: map[string]*linked.Element{}}, nil
}

// take returns the cached statement for query, preparing and caching it
// if needed, and marks it busy; nil means it is busy already and the
// caller runs query uncached.
func (c *cachingConn) take(ctx context.Context, query string) (*cachedStmt, error) {
	c.mu.Lock()
	if el, ok := c.stmts[query]; ok {
		cs := el.Value.(*cachedStmt)
		if cs.busy {
			c.mu.Unlock()
			return nil, nil
		}
		cs.busy = true
		c.lru.MoveToFront(el)
		c.mu.Unlock()
		return cs, nil
	}
	c.mu.Unlock()
	ds, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if _, ok := ds.(cachedStmtAPI); !ok {
		_ = ds.Close()
		return nil, fmt.Errorf("store: SQLite driver statement %T lacks ExecContext or QueryContext", ds)
	}
	cs := &cachedStmt{query: query, stmt: ds, busy: true}
	var evicted []driver.Stmt
	c.mu.Lock()
	c.stmts[query] = c.lru.PushFront(cs)
	for c.lru.Len() > c.max {
		old := c.lru.Back().Value.(*cachedStmt)
		c.lru.Remove(c.lru.Back())
		delete(c.stmts, old.query)
		if old.busy {
			old.gone = true
		} else {
			evicted = append(evicted, old.stmt)
		}
	}
	c.mu.Unlock()
	for _, s := range evicted {
		_ = s.Close()
	}
	return cs, nil
}

// release ends a use of cs.
func (c *cachingConn) release(cs *cachedStmt) error {
	c.mu.Lock()
	cs.busy = false
	gone := cs.gone
	c.mu.Unlock()
	if gone {
		return cs.stmt.Close()
	}
	return nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	res, err := cs.stmt.(cachedStmtAPI).ExecContext(ctx, args)
	return res, errors.Join(err, c.release(cs))
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	rows, err := cs.stmt.(cachedStmtAPI).QueryContext(ctx, args)
	if err != nil {
		return nil, errors.Join(err, c.release(cs))
	}
	return &cachedRows{Rows: rows, release: func() error { return c.release(cs) }}, nil
}

// Close finalizes the cached statements, then closes the connection.
func (c *cachingConn) Close() error {
	c.mu.Lock()
	var errs []error
	for el := c.lru.Front(); el != nil; el = el.Next() {
		errs = append(errs, el.Value.(*cachedStmt).stmt.Close())
	}
	c.lru.Init()
	c.stmts = map[string]*linked.Element{}
	c.mu.Unlock()
	return errors.Join(append(errs, c.sqliteConn.Close())...)
}

// cachedRows gives its statement back when closed.
type cachedRows struct {
	driver.Rows
	release func() error
	closed  bool
}

func (r *cachedRows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	return errors.Join(r.Rows.Close(), r.release())
}
