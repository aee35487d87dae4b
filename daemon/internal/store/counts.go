package store

import "fmt"

// Counts is what the metrics report from the database: executions and task
// executions by state, and the outbox messages committed but not yet sent
// (more than a handful means the relay to NATS is stuck or slow).
type Counts struct {
	Executions map[string]int
	Tasks      map[string]int
	Outbox     int
}

// Counter is implemented by the Tx of every store. It is apart from Tx
// because only the metrics need it.
type Counter interface {
	// Counts reads the numbers in one transaction: with an index on state
	// (both tables have one) it costs an index scan per table.
	Counts() (Counts, error)
}

var _ Counter = (*sqlTx)(nil)

func (t *sqlTx) Counts() (Counts, error) {
	c := Counts{Executions: map[string]int{}, Tasks: map[string]int{}}
	for _, q := range []struct {
		table string
		into  map[string]int
	}{{"executions", c.Executions}, {"task_executions", c.Tasks}} {
		rows, err := t.query("SELECT state, COUNT(*) FROM " + q.table + " GROUP BY state")
		if err != nil {
			return Counts{}, fmt.Errorf("store: count %s: %w", q.table, err)
		}
		for rows.Next() {
			var state string
			var n int
			if err := rows.Scan(&state, &n); err != nil {
				rows.Close()
				return Counts{}, t.fail(fmt.Errorf("store: count %s: %w", q.table, err))
			}
			q.into[state] = n
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return Counts{}, t.fail(fmt.Errorf("store: count %s: %w", q.table, err))
		}
	}
	if err := t.scanRow("SELECT COUNT(*) FROM outbox", nil, &c.Outbox); err != nil {
		return Counts{}, fmt.Errorf("store: count outbox: %w", err)
	}
	return c, nil
}
