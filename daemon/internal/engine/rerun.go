package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/engine/controller"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

var _ api.TaskUpdater = (*Engine)(nil)

// RerunTask runs a failed task again, as Mistral's PUT /v2/tasks/{id}:
// the execution (and, for a sub-workflow, its parents) runs again, and
// the task's action (or only its failed items, without reset) runs anew,
// in one transaction. With state SKIPPED it skips the failed task instead:
// the workflow goes on from its on-skip transitions.
func (e *Engine) RerunTask(ctx context.Context, id string, u api.TaskUpdate) (api.TaskRecord, error) {
	if u.State != store.StateRunning && u.State != controller.Skipped {
		return api.TaskRecord{}, badf("Invalid task state %q: a task can be rerun (RUNNING) or skipped (SKIPPED).", u.State)
	}
	reset := u.Reset == nil || *u.Reset
	err := e.store.InTx(ctx, func(tx store.Tx) error {
		task, err := tx.GetTaskExecution(id)
		if err != nil {
			return err
		}
		if u.Name != "" && u.Name != task.Name {
			return badf("Task name does not match.")
		}
		// Parents are locked before their children everywhere (a stop
		// or pause cascades down), so the ancestors of a sub-workflow
		// are locked first, from the root down.
		if err := lockAncestors(tx, task.ExecutionID); err != nil {
			return err
		}
		ex, err := tx.GetExecution(task.ExecutionID, true)
		if err != nil {
			return err
		}
		if u.WorkflowName != "" && u.WorkflowName != ex.WorkflowName {
			return badf("Workflow name does not match.")
		}
		st, err := e.load(tx, ex)
		if err != nil {
			return err
		}
		if len(u.Env) > 0 {
			// A new map: the loaded one may be the execution cache's,
			// which must stay what the row held until this commits.
			params := make(map[string]any, len(st.Exec.Params)+1)
			maps.Copy(params, st.Exec.Params)
			env, _ := params["env"].(map[string]any)
			params["env"] = mergeEnv(env, u.Env)
			st.Exec.Params = params
			if ex.Params, err = json.Marshal(params); err != nil {
				return err
			}
		}
		var d *controller.Decision
		if u.State == controller.Skipped {
			d, err = e.ctrl.Skip(st, id)
		} else {
			d, err = e.ctrl.Rerun(st, id, reset)
		}
		var cannot *controller.ErrCannotRerun
		if errors.As(err, &cannot) {
			return badf("%s", cannot.Reason)
		}
		if err != nil {
			return err
		}
		// The new env is in the execution row, which persist writes only
		// for a change of the execution: a skip that leaves it RUNNING
		// is none to the controller.
		d.ExecChange = d.ExecChange || len(u.Env) > 0
		if err := e.persist(tx, ex, st, d); err != nil {
			return err
		}
		if ex.TaskExecutionID != "" {
			return e.rerunParents(tx, ex)
		}
		return nil
	})
	if err != nil {
		return api.TaskRecord{}, err
	}
	e.wake()
	return e.GetTask(ctx, id)
}

// rerunParents sets the parents of a sub-workflow that runs again back to
// RUNNING, with the task that runs it, as Mistral's _recursive_rerun does.
func (e *Engine) rerunParents(tx store.Tx, child *store.Execution) error {
	for child.TaskExecutionID != "" {
		task, err := tx.GetTaskExecution(child.TaskExecutionID)
		if err != nil {
			return err
		}
		parent, err := tx.GetExecution(task.ExecutionID, true)
		if err != nil {
			return err
		}
		st, err := e.load(tx, parent)
		if err != nil {
			return err
		}
		run, err := parentRunOf(child, task)
		if err != nil {
			return err
		}
		d, err := e.ctrl.ChildRerun(st, controller.ChildEvent{Parent: run, ID: child.ID})
		if err != nil {
			return err
		}
		if err := e.persist(tx, parent, st, d); err != nil {
			return err
		}
		child = parent
	}
	return nil
}

// parentRunOf is the run of task that started sub-workflow child, as the
// child keeps it (a child started before executions kept it: the task's
// current run).
func parentRunOf(child *store.Execution, task *store.TaskExecution) (controller.ParentRun, error) {
	var ec struct {
		Parent *controller.ParentRun `json:"parent"`
	}
	if len(child.Context) > 0 {
		if err := json.Unmarshal(child.Context, &ec); err != nil {
			return controller.ParentRun{}, fmt.Errorf("execution %s: context: %w", child.ID, err)
		}
	}
	if ec.Parent != nil {
		return *ec.Parent, nil
	}
	return controller.ParentRun{ExecutionID: task.ExecutionID, TaskID: task.ID}, nil
}

// lockAncestors locks the executions above execution id, root first.
func lockAncestors(tx store.Tx, id string) error {
	var chain []string
	for {
		ex, err := tx.GetExecution(id, false)
		if err != nil {
			return err
		}
		if ex.TaskExecutionID == "" {
			break
		}
		task, err := tx.GetTaskExecution(ex.TaskExecutionID)
		if err != nil {
			return err
		}
		id = task.ExecutionID
		chain = append(chain, id)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		if _, err := tx.GetExecution(chain[i], true); err != nil {
			return err
		}
	}
	return nil
}

func mergeEnv(env, more map[string]any) map[string]any {
	out := make(map[string]any, len(env)+len(more))
	for k, v := range env {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}
