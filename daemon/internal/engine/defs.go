package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// The engine's side of api.WorkflowEditor, api.ExecutionDeleter and
// api.Tasks: replacing and deleting workflow definitions, deleting ended
// executions and reading tasks across executions.

var (
	_ api.WorkflowEditor   = (*Engine)(nil)
	_ api.ExecutionDeleter = (*Engine)(nil)
	_ api.Tasks            = (*Engine)(nil)

	_ api.ActionExecutionLister = (*Engine)(nil)
)

// UpdateWorkflows replaces the definition of every workflow the document
// defines, in one transaction: a workflow that does not exist (Mistral's
// PUT does not create) or an invalid document changes nothing. Running
// executions are not affected, because each keeps the compiled spec it
// started with in its own context.
func (e *Engine) UpdateWorkflows(ctx context.Context, definition string) ([]*store.WorkflowDef, error) {
	doc, err := parseWorkflowDocument(definition)
	if err != nil {
		return nil, err
	}
	specs := make([][]byte, len(doc.Workflows))
	for i, w := range doc.Workflows {
		if specs[i], err = json.Marshal(w); err != nil {
			return nil, fmt.Errorf("workflow %q: %w", w.Name, err)
		}
	}
	defs := make([]*store.WorkflowDef, 0, len(doc.Workflows))
	err = e.store.InTx(ctx, func(tx store.Tx) error {
		defs = defs[:0]
		for i, w := range doc.Workflows {
			d, err := tx.GetWorkflowDefInNamespace("", w.Name)
			if err != nil {
				return fmt.Errorf("workflow %q (PUT replaces existing workflows only; POST creates): %w", w.Name, err)
			}
			d.Definition, d.Spec, d.Input, d.Tags = definition, specs[i], inputSummary(w.Input), w.Tags
			d.UpdatedAt = time.Now().UTC()
			if err := tx.UpdateWorkflowDef(d); err != nil {
				return err
			}
			defs = append(defs, d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return defs, nil
}

// DeleteWorkflow deletes a workflow definition by name or id. Its
// executions stay (they carry their own spec). A workflow that cron
// triggers start is refused, as Mistral does, so that no trigger is left
// starting a workflow that is gone.
func (e *Engine) DeleteWorkflow(ctx context.Context, identifier string) error {
	return e.store.InTx(ctx, func(tx store.Tx) error {
		d, err := tx.GetWorkflowDef(identifier)
		if err != nil {
			return err
		}
		triggers, err := tx.ListCronTriggers(store.ListOpts{Filters: map[string]string{"workflow_name": d.Name}})
		if err != nil {
			return err
		}
		if len(triggers) > 0 {
			names := make([]string, len(triggers))
			for i, t := range triggers {
				names[i] = t.Name
			}
			return badf("workflow %q is started by cron trigger(s) %s: delete them first", d.Name, strings.Join(names, ", "))
		}
		return tx.DeleteWorkflowDef(d.ID)
	})
}

// DeleteExecution deletes an ended execution with its tasks, action
// executions and sub-workflow executions. An execution that has not ended
// is store.ErrConflict: its actions may still report results, and Mistral
// refuses too (without force). A sub-workflow execution is deleted only
// with its root, so a parent never waits for a child that is gone.
func (e *Engine) DeleteExecution(ctx context.Context, id string) error {
	err := e.store.InTx(ctx, func(tx store.Tx) error {
		ex, err := tx.GetExecution(id, true)
		if err != nil {
			return err
		}
		switch ex.State {
		case store.StateSuccess, store.StateError, store.StateCancel:
		default:
			return &notEndedError{id: id, state: ex.State}
		}
		if ex.RootExecutionID != "" && ex.RootExecutionID != ex.ID {
			return badf("execution %s is a sub-workflow execution of %s: delete the root execution", id, ex.RootExecutionID)
		}
		return tx.DeleteExecution(id)
	})
	if err == nil {
		e.forgetSpec(id)
	}
	return err
}

// GetTask reads one task execution with its execution's workflow id and
// namespace.
func (e *Engine) GetTask(ctx context.Context, id string) (api.TaskRecord, error) {
	var r api.TaskRecord
	err := e.store.InTx(ctx, func(tx store.Tx) error {
		t, err := tx.GetTaskExecution(id)
		if err != nil {
			return err
		}
		ex, err := tx.GetExecution(t.ExecutionID, false)
		if err != nil {
			return fmt.Errorf("execution of task %s: %w", id, err)
		}
		r = api.TaskRecord{Task: t, WorkflowID: ex.WorkflowID, Namespace: ex.Namespace}
		return nil
	})
	return r, err
}

// ListAllTasks pages through the tasks of all executions. Each execution
// is read once per page for its workflow id and namespace.
func (e *Engine) ListAllTasks(ctx context.Context, o store.ListOpts) ([]api.TaskRecord, error) {
	var out []api.TaskRecord
	err := e.store.InTx(ctx, func(tx store.Tx) error {
		tasks, err := tx.ListAllTaskExecutions(o)
		if err != nil {
			return err
		}
		execs := map[string]*store.Execution{}
		out = make([]api.TaskRecord, 0, len(tasks))
		for _, t := range tasks {
			ex, ok := execs[t.ExecutionID]
			if !ok {
				if ex, err = tx.GetExecution(t.ExecutionID, false); err != nil {
					return fmt.Errorf("execution of task %s: %w", t.ID, err)
				}
				execs[t.ExecutionID] = ex
			}
			out = append(out, api.TaskRecord{Task: t, WorkflowID: ex.WorkflowID, Namespace: ex.Namespace})
		}
		return nil
	})
	return out, err
}

// notEndedError is store.ErrConflict with a text that says what to do
// instead of the generic "already exists".
type notEndedError struct{ id, state string }

func (n *notEndedError) Error() string {
	return fmt.Sprintf("only ended executions can be deleted: execution %s is %s; cancel it first (state CANCELLED)", n.id, n.state)
}

func (n *notEndedError) Is(target error) bool { return target == store.ErrConflict }

// ListActionExecutions pages through action executions, each with its
// task (read once per page).
func (e *Engine) ListActionExecutions(ctx context.Context, o store.ListOpts) ([]api.ActionExecutionRecord, error) {
	var out []api.ActionExecutionRecord
	err := e.store.InTx(ctx, func(tx store.Tx) error {
		actions, err := tx.ListActionExecutions(o)
		if err != nil {
			return err
		}
		tasks := map[string]*store.TaskExecution{}
		out = make([]api.ActionExecutionRecord, 0, len(actions))
		for _, a := range actions {
			r := api.ActionExecutionRecord{Action: a}
			if a.TaskExecutionID != "" {
				t, ok := tasks[a.TaskExecutionID]
				if !ok {
					if t, err = tx.GetTaskExecution(a.TaskExecutionID); err != nil {
						return fmt.Errorf("task of action execution %s: %w", a.ID, err)
					}
					tasks[a.TaskExecutionID] = t
				}
				r.Task = t
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}
