package store

import "fmt"

var executionTable = &table{
	name: "executions",
	what: "execution",
	cols: []string{"id", "workflow_id", "workflow_name", "namespace", "description", "state", "state_info",
		"input", "output", "params", "context", "task_execution_id", "root_execution_id", "created_at", "updated_at"},
	sortable: map[string]string{
		"id": "id", "workflow_id": "workflow_id", "workflow_name": "workflow_name", "namespace": "namespace",
		"description": "description", "state": "state", "created_at": "created_at", "updated_at": "updated_at",
	},
	filters: map[string]string{
		"id": "id", "workflow_id": "workflow_id", "workflow_name": "workflow_name", "namespace": "namespace",
		"description": "description", "state": "state", "task_execution_id": "task_execution_id",
		"root_execution_id": "root_execution_id",
	},
}

const executionCols = "id, workflow_id, workflow_name, namespace, description, state, state_info, " +
	"input, output, params, context, task_execution_id, root_execution_id, created_at, updated_at"

func scanExecution(s scanner) (*Execution, error) {
	var e Execution
	if err := s.Scan(&e.ID, &e.WorkflowID, &e.WorkflowName, &e.Namespace, &e.Description, &e.State, &e.StateInfo,
		&e.Input, &e.Output, &e.Params, &e.Context, &e.TaskExecutionID, &e.RootExecutionID,
		timeDest{&e.CreatedAt}, timeDest{&e.UpdatedAt}); err != nil {
		return nil, err
	}
	return &e, nil
}

// CreateExecution inserts e, giving it an id and timestamps when it has none.
func (t *sqlTx) CreateExecution(e *Execution) error {
	if e.ID == "" {
		e.ID = newID()
	}
	stampCreate(&e.CreatedAt, &e.UpdatedAt)
	return t.insert(fmt.Sprintf("execution %q", e.ID), "",
		"INSERT INTO executions ("+executionCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		e.ID, e.WorkflowID, e.WorkflowName, e.Namespace, e.Description, e.State, e.StateInfo,
		bytesArg(e.Input), bytesArg(e.Output), bytesArg(e.Params), bytesArg(e.Context),
		e.TaskExecutionID, e.RootExecutionID, t.d.timeArg(e.CreatedAt), t.d.timeArg(e.UpdatedAt))
}

// GetExecution reads one execution. With lock it holds the row until the
// transaction ends, so two engines applying results to the same execution
// take turns instead of overwriting each other.
func (t *sqlTx) GetExecution(id string, lock bool) (*Execution, error) {
	q := "SELECT " + executionCols + " FROM executions WHERE id = ?"
	if lock {
		q += t.d.forUpdate
	}
	var e *Execution
	err := t.getOne(fmt.Sprintf("execution %q", id), func(s scanner) (err error) { e, err = scanExecution(s); return err }, q, id)
	return e, err
}

// UpdateExecution writes every field of e except its id and CreatedAt.
func (t *sqlTx) UpdateExecution(e *Execution) error {
	stampUpdate(&e.UpdatedAt)
	return t.update(fmt.Sprintf("execution %q", e.ID),
		"UPDATE executions SET workflow_id = ?, workflow_name = ?, namespace = ?, description = ?, state = ?, state_info = ?, "+
			"input = ?, output = ?, params = ?, context = ?, task_execution_id = ?, root_execution_id = ?, updated_at = ? WHERE id = ?",
		e.WorkflowID, e.WorkflowName, e.Namespace, e.Description, e.State, e.StateInfo,
		bytesArg(e.Input), bytesArg(e.Output), bytesArg(e.Params), bytesArg(e.Context),
		e.TaskExecutionID, e.RootExecutionID, t.d.timeArg(e.UpdatedAt), e.ID)
}

// ListExecutions pages through executions; see ListOpts.
func (t *sqlTx) ListExecutions(o ListOpts) ([]*Execution, error) {
	return list(t, executionTable, o, scanExecution)
}

// DeleteExecution deletes the execution id and everything under it: the
// executions whose root it is, and the task and action executions of all
// of them. Rows are deleted explicitly, children first, rather than left to
// ON DELETE CASCADE, because sub-executions and action executions are not
// tied to their execution by a foreign key.
func (t *sqlTx) DeleteExecution(id string) error {
	what := fmt.Sprintf("execution %q", id)
	tree := "SELECT id FROM executions WHERE id = ? OR root_execution_id = ?"
	for _, q := range []string{
		"DELETE FROM action_executions WHERE execution_id IN (" + tree + ")",
		"DELETE FROM task_executions WHERE execution_id IN (" + tree + ")",
		"DELETE FROM executions WHERE root_execution_id = ? AND id <> ?",
	} {
		if _, err := t.exec(q, id, id); err != nil {
			return fmt.Errorf("store: delete %s: %w", what, err)
		}
	}
	res, err := t.exec("DELETE FROM executions WHERE id = ?", id)
	return t.deleted(what, res, err)
}
