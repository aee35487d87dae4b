package store

import (
	"database/sql"
	"errors"
	"fmt"
	"time"
)

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

func nowUTC() time.Time { return normTime(time.Now()) }

var cronTriggerTable = &table{
	name: "cron_triggers",
	what: "cron trigger",
	cols: []string{"id", "name", "pattern", "workflow_name", "workflow_id", "workflow_input", "workflow_params",
		"first_execution_time", "next_execution_time", "remaining_executions", "scope", "created_at", "updated_at"},
	// Columns that may be NULL (first_execution_time, remaining_executions,
	// updated_at) are left out: marker pagination compares with the marker
	// row's values, which NULL would break.
	sortable: map[string]string{
		"id": "id", "name": "name", "pattern": "pattern", "workflow_name": "workflow_name",
		"workflow_id": "workflow_id", "scope": "scope", "next_execution_time": "next_execution_time",
		"created_at": "created_at",
	},
	filters: map[string]string{
		"id": "id", "name": "name", "pattern": "pattern", "workflow_name": "workflow_name",
		"workflow_id": "workflow_id", "scope": "scope",
	},
}

const cronTriggerCols = "id, name, pattern, workflow_name, workflow_id, workflow_input, workflow_params, " +
	"first_execution_time, next_execution_time, remaining_executions, scope, created_at, updated_at"

func scanCronTrigger(s scanner) (*CronTrigger, error) {
	var c CronTrigger
	var remaining sql.NullInt64
	if err := s.Scan(&c.ID, &c.Name, &c.Pattern, &c.WorkflowName, &c.WorkflowID, &c.WorkflowInput, &c.WorkflowParams,
		timeDest{&c.FirstExecutionTime}, timeDest{&c.NextExecutionTime}, &remaining, &c.Scope,
		timeDest{&c.CreatedAt}, timeDest{&c.UpdatedAt}); err != nil {
		return nil, err
	}
	if remaining.Valid {
		n := int(remaining.Int64)
		c.RemainingExecutions = &n
	}
	return &c, nil
}

func remainingArg(n *int) any {
	if n == nil {
		return nil
	}
	return int64(*n)
}

// CreateCronTrigger inserts c. Its name is unique among all triggers.
func (t *sqlTx) CreateCronTrigger(c *CronTrigger) error {
	if c.Name == "" {
		return fmt.Errorf("store: create cron trigger: empty name")
	}
	if c.NextExecutionTime.IsZero() {
		return fmt.Errorf("store: create cron trigger %q: no next execution time", c.Name)
	}
	if c.ID == "" {
		c.ID = newID()
	}
	if c.Scope == "" {
		c.Scope = "private"
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = nowUTC()
	}
	c.CreatedAt = normTime(c.CreatedAt)
	c.NextExecutionTime = normTime(c.NextExecutionTime)
	if !c.FirstExecutionTime.IsZero() {
		c.FirstExecutionTime = normTime(c.FirstExecutionTime)
	}
	if !c.UpdatedAt.IsZero() {
		c.UpdatedAt = normTime(c.UpdatedAt)
	}
	return t.insert(fmt.Sprintf("cron trigger %q", c.Name), "",
		"INSERT INTO cron_triggers ("+cronTriggerCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		c.ID, c.Name, c.Pattern, c.WorkflowName, c.WorkflowID, bytesArg(c.WorkflowInput), bytesArg(c.WorkflowParams),
		t.d.nullTimeArg(c.FirstExecutionTime), t.d.timeArg(c.NextExecutionTime), remainingArg(c.RemainingExecutions),
		c.Scope, t.d.timeArg(c.CreatedAt), t.d.nullTimeArg(c.UpdatedAt))
}

// GetCronTrigger finds a trigger by id or by name. With lock the row is
// held until the transaction ends, so a tick and a delete take turns.
func (t *sqlTx) GetCronTrigger(identifier string, lock bool) (*CronTrigger, error) {
	// Two queries rather than "id = ? OR name = ?", so that each uses its
	// unique index and FOR UPDATE locks exactly one row.
	for _, col := range []string{"id", "name"} {
		q := "SELECT " + cronTriggerCols + " FROM cron_triggers WHERE " + col + " = ?"
		if lock {
			q += t.d.forUpdate
		}
		var c *CronTrigger
		err := t.getOne(fmt.Sprintf("cron trigger %q", identifier),
			func(s scanner) (err error) { c, err = scanCronTrigger(s); return err }, q, identifier)
		if err == nil {
			return c, nil
		}
		if col == "name" || !isNotFound(err) {
			return nil, err
		}
	}
	panic("unreachable")
}

// ListCronTriggers pages through triggers; see ListOpts.
func (t *sqlTx) ListCronTriggers(o ListOpts) ([]*CronTrigger, error) {
	return list(t, cronTriggerTable, o, scanCronTrigger)
}

// UpdateCronTrigger rewrites the trigger c.ID names and stamps UpdatedAt.
func (t *sqlTx) UpdateCronTrigger(c *CronTrigger) error {
	stampUpdate(&c.UpdatedAt)
	c.NextExecutionTime = normTime(c.NextExecutionTime)
	if c.Scope == "" {
		c.Scope = "private"
	}
	return t.update(fmt.Sprintf("cron trigger %q", c.Name),
		"UPDATE cron_triggers SET name = ?, pattern = ?, workflow_name = ?, workflow_id = ?, workflow_input = ?, workflow_params = ?, "+
			"first_execution_time = ?, next_execution_time = ?, remaining_executions = ?, scope = ?, updated_at = ? WHERE id = ?",
		c.Name, c.Pattern, c.WorkflowName, c.WorkflowID, bytesArg(c.WorkflowInput), bytesArg(c.WorkflowParams),
		t.d.nullTimeArg(c.FirstExecutionTime), t.d.timeArg(c.NextExecutionTime), remainingArg(c.RemainingExecutions),
		c.Scope, t.d.timeArg(c.UpdatedAt), c.ID)
}

// DeleteCronTrigger deletes a trigger by id or by name.
func (t *sqlTx) DeleteCronTrigger(identifier string) error {
	res, err := t.exec("DELETE FROM cron_triggers WHERE id = ? OR name = ?", identifier, identifier)
	return t.deleted(fmt.Sprintf("cron trigger %q", identifier), res, err)
}
