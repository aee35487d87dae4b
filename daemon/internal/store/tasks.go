package store

import "fmt"

const taskCols = "id, execution_id, workflow_name, name, state, state_info, published, result, runtime, processed, created_at, updated_at, rev"

func scanTaskExecution(s scanner) (*TaskExecution, error) {
	var te TaskExecution
	if err := s.Scan(&te.ID, &te.ExecutionID, &te.WorkflowName, &te.Name, &te.State, &te.StateInfo,
		&te.Published, &te.Result, &te.Runtime, &te.Processed, timeDest{&te.CreatedAt}, timeDest{&te.UpdatedAt}, &te.Rev); err != nil {
		return nil, err
	}
	return &te, nil
}

// CreateTaskExecution inserts te; its execution must exist (ErrNotFound).
func (t *sqlTx) CreateTaskExecution(te *TaskExecution) error {
	if te.ID == "" {
		te.ID = newID()
	}
	stampCreate(&te.CreatedAt, &te.UpdatedAt)
	te.Rev = 0
	return t.insert(fmt.Sprintf("task execution %q", te.ID), fmt.Sprintf("execution %q", te.ExecutionID),
		"INSERT INTO task_executions ("+taskCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		te.ID, te.ExecutionID, te.WorkflowName, te.Name, te.State, te.StateInfo,
		bytesArg(te.Published), bytesArg(te.Result), bytesArg(te.Runtime), te.Processed,
		t.d.timeArg(te.CreatedAt), t.d.timeArg(te.UpdatedAt), te.Rev)
}

// UpdateTaskExecution writes every field of te except its id, execution,
// CreatedAt and Rev: a task never moves to another execution, and the row's
// Rev goes up by one, whatever te held, and is set in te.
func (t *sqlTx) UpdateTaskExecution(te *TaskExecution) error {
	stampUpdate(&te.UpdatedAt)
	return t.updateReturning(fmt.Sprintf("task execution %q", te.ID), []any{&te.Rev},
		"UPDATE task_executions SET workflow_name = ?, name = ?, state = ?, state_info = ?, published = ?, result = ?, "+
			"runtime = ?, processed = ?, updated_at = ?, rev = rev + 1 WHERE id = ? RETURNING rev",
		te.WorkflowName, te.Name, te.State, te.StateInfo, bytesArg(te.Published), bytesArg(te.Result),
		bytesArg(te.Runtime), te.Processed, t.d.timeArg(te.UpdatedAt), te.ID)
}

// GetTaskExecution reads one task execution.
func (t *sqlTx) GetTaskExecution(id string) (*TaskExecution, error) {
	var te *TaskExecution
	err := t.getOne(fmt.Sprintf("task execution %q", id), func(s scanner) (err error) { te, err = scanTaskExecution(s); return err },
		"SELECT "+taskCols+" FROM task_executions WHERE id = ?", id)
	return te, err
}

// ListTaskExecutions returns the tasks of one execution in creation order
// (id breaks ties), which is the order the engine started them. An execution
// without tasks, or an unknown one, gives an empty list.
func (t *sqlTx) ListTaskExecutions(executionID string) ([]*TaskExecution, error) {
	rows, err := t.query("SELECT "+taskCols+" FROM task_executions WHERE execution_id = ? ORDER BY created_at, id", executionID)
	if err != nil {
		return nil, fmt.Errorf("store: list tasks of execution %q: %w", executionID, err)
	}
	defer rows.Close()
	var out []*TaskExecution
	for rows.Next() {
		te, err := scanTaskExecution(rows)
		if err != nil {
			return nil, t.fail(fmt.Errorf("store: list tasks of execution %q: %w", executionID, err))
		}
		out = append(out, te)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(fmt.Errorf("store: list tasks of execution %q: %w", executionID, err))
	}
	return out, nil
}

// ListTaskRevs returns the id and Rev of each task of one execution, in the
// order of ListTaskExecutions.
func (t *sqlTx) ListTaskRevs(executionID string) ([]TaskRev, error) {
	rows, err := t.query("SELECT id, rev FROM task_executions WHERE execution_id = ? ORDER BY created_at, id", executionID)
	if err != nil {
		return nil, fmt.Errorf("store: list task revs of execution %q: %w", executionID, err)
	}
	defer rows.Close()
	var out []TaskRev
	for rows.Next() {
		var r TaskRev
		if err := rows.Scan(&r.ID, &r.Rev); err != nil {
			return nil, t.fail(fmt.Errorf("store: list task revs of execution %q: %w", executionID, err))
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(fmt.Errorf("store: list task revs of execution %q: %w", executionID, err))
	}
	return out, nil
}

// taskTable lists task executions across executions with Mistral's names
// for the columns (workflow_execution_id is execution_id).
var taskTable = &table{
	name: "task_executions",
	what: "task",
	cols: []string{"id", "execution_id", "workflow_name", "name", "state", "state_info", "published", "result",
		"runtime", "processed", "created_at", "updated_at", "rev"},
	sortable: map[string]string{
		"id": "id", "workflow_execution_id": "execution_id", "workflow_name": "workflow_name", "name": "name",
		"state": "state", "created_at": "created_at", "updated_at": "updated_at",
	},
	filters: map[string]string{
		"id": "id", "workflow_execution_id": "execution_id", "workflow_name": "workflow_name", "name": "name",
		"state": "state",
	},
}

// ListAllTaskExecutions pages through the tasks of all executions; see
// ListOpts.
func (t *sqlTx) ListAllTaskExecutions(o ListOpts) ([]*TaskExecution, error) {
	return list(t, taskTable, o, scanTaskExecution)
}
