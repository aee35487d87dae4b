package store

import (
	"database/sql"
	"fmt"
)

const actionCols = "id, task_execution_id, execution_id, name, description, spec, state, state_info, input, output, attempt, item_index, replaced, created_at, updated_at"

func scanActionExecution(s scanner) (*ActionExecution, error) {
	var a ActionExecution
	var task sql.NullString
	if err := s.Scan(&a.ID, &task, &a.ExecutionID, &a.Name, &a.Description, &a.Spec, &a.State, &a.StateInfo, &a.Input, &a.Output, &a.Attempt,
		&a.ItemIndex, &a.Replaced, timeDest{&a.CreatedAt}, timeDest{&a.UpdatedAt}); err != nil {
		return nil, err
	}
	a.TaskExecutionID = task.String
	return &a, nil
}

// CreateActionExecution inserts a; when it names a task execution, that
// task must exist (ErrNotFound).
func (t *sqlTx) CreateActionExecution(a *ActionExecution) error {
	if a.ID == "" {
		a.ID = newID()
	}
	stampCreate(&a.CreatedAt, &a.UpdatedAt)
	return t.insert(fmt.Sprintf("action execution %q", a.ID), fmt.Sprintf("task execution %q", a.TaskExecutionID),
		"INSERT INTO action_executions ("+actionCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		a.ID, nullString(a.TaskExecutionID), a.ExecutionID, a.Name, a.Description, bytesArg(a.Spec), a.State, a.StateInfo,
		bytesArg(a.Input), bytesArg(a.Output), a.Attempt, a.ItemIndex, a.Replaced, t.d.timeArg(a.CreatedAt), t.d.timeArg(a.UpdatedAt))
}

// UpdateActionExecution writes the fields of a that change while it runs
// (state, state info, input, output, attempt); the task and execution it
// belongs to are fixed at creation.
func (t *sqlTx) UpdateActionExecution(a *ActionExecution) error {
	stampUpdate(&a.UpdatedAt)
	return t.update(fmt.Sprintf("action execution %q", a.ID),
		"UPDATE action_executions SET name = ?, state = ?, state_info = ?, input = ?, output = ?, attempt = ?, replaced = ?, updated_at = ? WHERE id = ?",
		a.Name, a.State, a.StateInfo, bytesArg(a.Input), bytesArg(a.Output), a.Attempt, a.Replaced, t.d.timeArg(a.UpdatedAt), a.ID)
}

// GetActionExecution reads one action execution.
func (t *sqlTx) GetActionExecution(id string) (*ActionExecution, error) {
	var a *ActionExecution
	err := t.getOne(fmt.Sprintf("action execution %q", id), func(s scanner) (err error) { a, err = scanActionExecution(s); return err },
		"SELECT "+actionCols+" FROM action_executions WHERE id = ?", id)
	return a, err
}

// actionTable lists action executions with Mistral's names for the
// columns (workflow_execution_id is execution_id).
var actionTable = &table{
	name: "action_executions",
	what: "action execution",
	cols: []string{"id", "task_execution_id", "execution_id", "name", "description", "spec", "state", "state_info", "input", "output",
		"attempt", "item_index", "replaced", "created_at", "updated_at"},
	sortable: map[string]string{
		"id": "id", "name": "name", "state": "state", "created_at": "created_at", "updated_at": "updated_at",
	},
	filters: map[string]string{
		"id": "id", "task_execution_id": "task_execution_id", "workflow_execution_id": "execution_id",
		"name": "name", "state": "state",
	},
}

// ListActionExecutions pages through action executions; see ListOpts.
func (t *sqlTx) ListActionExecutions(o ListOpts) ([]*ActionExecution, error) {
	return list(t, actionTable, o, scanActionExecution)
}

// ListTaskActionExecutions returns the action executions of one task in
// item order (and, for one item, in the order they ran).
func (t *sqlTx) ListTaskActionExecutions(taskID string) ([]*ActionExecution, error) {
	rows, err := t.query("SELECT "+actionCols+" FROM action_executions WHERE task_execution_id = ? ORDER BY item_index, created_at, id", taskID)
	if err != nil {
		return nil, fmt.Errorf("action executions of task execution %q: %w", taskID, err)
	}
	defer rows.Close()
	var out []*ActionExecution
	for rows.Next() {
		a, err := scanActionExecution(rows)
		if err != nil {
			return nil, fmt.Errorf("action executions of task execution %q: %w", taskID, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ReplaceActionExecutions marks the current action executions of a task
// as replaced: all of them, or with failedOnly those that ended in ERROR or
// CANCELLED (a rerun without reset keeps the items that succeeded).
func (t *sqlTx) ReplaceActionExecutions(taskID string, failedOnly bool) error {
	q := "UPDATE action_executions SET replaced = ? WHERE task_execution_id = ? AND replaced = ?"
	if failedOnly {
		q += " AND state IN ('ERROR', 'CANCELLED')"
	}
	if _, err := t.exec(q, true, taskID, false); err != nil {
		return fmt.Errorf("replace action executions of task execution %q: %w", taskID, err)
	}
	return nil
}
