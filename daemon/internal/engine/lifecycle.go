package engine

import (
	"context"
	"errors"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/engine/controller"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

var _ api.ExecutionUpdater = (*Engine)(nil)

// UpdateExecution changes an execution as Mistral's PUT /v2/executions/{id}
// does: its description, or its state. Stopping it (SUCCESS, ERROR,
// CANCELLED) ends it in one transaction, cancels its running tasks and
// asks the executor hosts to cancel their actions; a result that comes
// later is dropped.
func (e *Engine) UpdateExecution(ctx context.Context, id string, u api.ExecutionUpdate) (*store.Execution, error) {
	switch {
	case u.State == "" && u.Description == "":
		return nil, badf("The property state, description, or env is not provided for update.")
	case u.State != "" && u.Description != "":
		return nil, badf("The property description must be updated separately from state.")
	}
	switch u.State {
	case "", store.StateSuccess, store.StateError, store.StateCancel:
	case store.StatePaused, store.StateRunning:
		return nil, badf("state %s: pausing and resuming executions is not supported yet", u.State)
	default:
		return nil, badf("Cannot change state to %s. Allowed states are: 'RUNNING, PAUSED, SUCCESS, ERROR, CANCELLED'", u.State)
	}
	var ex *store.Execution
	var cancelled []string
	err := e.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		if ex, err = tx.GetExecution(id, true); err != nil {
			return err
		}
		if u.State == "" {
			ex.Description = u.Description
			return tx.UpdateExecution(ex)
		}
		st, err := e.load(tx, ex)
		if err != nil {
			return err
		}
		running := map[string]string{} // task id -> action execution id
		for _, t := range st.Tasks {
			if t.State == controller.Running && t.ActionExecutionID != "" {
				running[t.ID] = t.ActionExecutionID
			}
		}
		d, err := e.ctrl.Stop(st, u.State, u.StateInfo)
		if errors.Is(err, controller.ErrNotRunning) {
			return conflictf("execution %s has ended already (%s)", id, ex.State)
		}
		if err != nil {
			return err
		}
		for _, aeID := range running {
			ae, err := tx.GetActionExecution(aeID)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if ae.State != store.StateRunning {
				continue
			}
			ae.State, ae.StateInfo = store.StateCancel, "the workflow execution was stopped"
			if err := tx.UpdateActionExecution(ae); err != nil {
				return err
			}
			cancelled = append(cancelled, aeID)
		}
		return e.persist(tx, ex, st, d)
	})
	if err != nil {
		return nil, err
	}
	for _, id := range cancelled {
		if err := e.conn.PublishCancel(id, "workflow execution stopped"); err != nil {
			e.log.Warn("could not ask the executor hosts to cancel an action", "action_execution_id", id, "error", err)
		}
	}
	e.wake()
	return ex, nil
}
