package workload

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"time"

	"github.com/sirocco-wf/sirocco/bench/internal/daemon"
	"github.com/sirocco-wf/sirocco/bench/internal/report"
	"github.com/sirocco-wf/sirocco/bench/workflows"
)

// runHistory: the chain, then History finished executions of the same
// workflow (each with one finished task) written straight into the
// daemon's tables, then the chain again. The daemon is stopped for the
// insert, so the chain after it runs on a restarted daemon (warmed up by
// one execution, as every chain is). Target: no slowdown.
func runHistory(ctx context.Context, t *Target, s Sizes, row *report.Row) error {
	d := t.Daemon
	before := &report.Row{Workload: row.Workload + "-before", Mode: row.Mode, Run: row.Run}
	if err := chain(ctx, t, s, before, s.Chain); err != nil {
		return fmt.Errorf("chain before: %w", err)
	}
	wfID, err := t.Client.WorkflowID(ctx, workflows.Chain)
	if err != nil {
		return err
	}
	ts := time.Now()
	d.Stop()
	stopped := time.Since(ts)
	t0 := time.Now()
	if err := insertHistory(ctx, d, wfID, s.History); err != nil {
		return err
	}
	inserted := time.Since(t0)
	if _, err := d.Restart(ctx); err != nil {
		return err
	}
	if err := chain(ctx, t, s, row, s.Chain); err != nil {
		return fmt.Errorf("chain after: %w", err)
	}
	tl := time.Now()
	if _, err := t.Client.Newest(ctx, workflows.Chain, 100); err != nil {
		return err
	}
	listed := time.Since(tl)
	row.Add("tasks_per_s_before", before.Primary.Value, "tasks/s")
	row.Add("after_vs_before", row.Primary.Value/before.Primary.Value, "x")
	row.Add("insert", inserted.Seconds(), "s")
	row.Add("list_newest_100", listed.Seconds()*1000, "ms")
	row.Add("graceful_stop", stopped.Seconds(), "s")
	if before.Floor != nil {
		row.Add("floor_before", before.Floor.Task.PerSec, "tasks/s")
	}
	if s.History == targetHistory {
		row.Judge("no slowdown (>=90% of before)", row.Primary.Value >= 0.9*before.Primary.Value)
	}
	return nil
}

// historyBatch rows per transaction: large enough to be quick, small
// enough that SQLite's WAL stays modest.
const historyBatch = 100_000

// insertHistory writes n finished executions of workflow wfID, each with
// one finished task, in the store's schema (see the store's migrations):
// timestamps in the past, a second apart, so they sort before anything
// the workloads create.
func insertHistory(ctx context.Context, d *daemon.Daemon, wfID string, n int) error {
	var db *sql.DB
	var err error
	var execSQL, taskSQL string
	if d.Mode() == daemon.Embedded {
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		db, err = sql.Open("sqlite", "file:"+d.SQLitePath()+"?"+q.Encode())
		// ts(i) is the store's layout: 2006-01-02T15:04:05.000000Z.
		const seq = `WITH RECURSIVE s(i) AS (SELECT $1 UNION ALL SELECT i+1 FROM s WHERE i < $2),
  r AS (SELECT i, strftime('%Y-%m-%dT%H:%M:%S', '2020-01-01', '+' || i || ' seconds') || '.000000Z' AS ts FROM s) `
		execSQL = seq + `INSERT INTO executions (id, workflow_id, workflow_name, state, input, output, params, context, created_at, updated_at)
  SELECT printf('hist-%09d', i), $3, $4, 'SUCCESS', '{}', '{}', '{}', '{}', ts, ts FROM r`
		taskSQL = seq + `INSERT INTO task_executions (id, execution_id, workflow_name, name, state, published, result, runtime, processed, created_at, updated_at)
  SELECT printf('hist-t-%09d', i), printf('hist-%09d', i), $3, 't001', 'SUCCESS', '{}', 'null', '{}', 1, ts, ts FROM r`
	} else {
		db, err = sql.Open("pgx", d.DBURL)
		const seq = `WITH r AS (SELECT i, timestamptz '2020-01-01 00:00:00+00' + i * interval '1 second' AS ts FROM generate_series($1::bigint, $2::bigint) AS i) `
		execSQL = seq + `INSERT INTO executions (id, workflow_id, workflow_name, state, input, output, params, context, created_at, updated_at)
  SELECT 'hist-' || lpad(i::text, 9, '0'), $3, $4, 'SUCCESS', '{}', '{}', '{}', '{}', ts, ts FROM r`
		taskSQL = seq + `INSERT INTO task_executions (id, execution_id, workflow_name, name, state, published, result, runtime, processed, created_at, updated_at)
  SELECT 'hist-t-' || lpad(i::text, 9, '0'), 'hist-' || lpad(i::text, 9, '0'), $3, 't001', 'SUCCESS', '{}', 'null', '{}', TRUE, ts, ts FROM r`
	}
	if err != nil {
		return err
	}
	defer db.Close()
	for lo := 1; lo <= n; lo += historyBatch {
		hi := min(n, lo+historyBatch-1)
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for _, st := range []struct {
			q    string
			args []any
		}{{execSQL, []any{lo, hi, wfID, workflows.Chain}}, {taskSQL, []any{lo, hi, workflows.Chain}}} {
			if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("history insert (rows %d-%d): %w", lo, hi, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	if d.Mode() == daemon.Postgres {
		// What autovacuum does on its own after such an insert; SQLite
		// has no statistics unless someone asks, so it gets none.
		if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
			return fmt.Errorf("history: analyze: %w", err)
		}
	}
	return nil
}
