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
// does: its description, or its state. Pausing holds it (running actions
// finish, nothing new starts) and resuming continues it, its sub-workflows
// with it. Stopping it (SUCCESS, ERROR, CANCELLED) ends it in one
// transaction, cancels its running tasks and sub-workflows and asks the
// executor hosts, through the outbox, to cancel their actions; a result
// that comes later is dropped.
func (e *Engine) UpdateExecution(ctx context.Context, id string, u api.ExecutionUpdate) (*store.Execution, error) {
	switch {
	case u.State == "" && u.Description == "":
		return nil, badf("The property state, description, or env is not provided for update.")
	case u.State != "" && u.Description != "":
		return nil, badf("The property description must be updated separately from state.")
	}
	switch u.State {
	case "", store.StateSuccess, store.StateError, store.StateCancel, store.StatePaused, store.StateRunning:
	default:
		return nil, badf("Cannot change state to %s. Allowed states are: 'RUNNING, PAUSED, SUCCESS, ERROR, CANCELLED'", u.State)
	}
	var ex *store.Execution
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
		var d *controller.Decision
		switch u.State {
		case store.StatePaused:
			d, err = e.ctrl.Pause(st, u.StateInfo)
		case store.StateRunning:
			if ex.State == store.StateRunning {
				return nil // resuming a running execution changes nothing
			}
			d, err = e.ctrl.Resume(st)
		default:
			d, err = e.ctrl.Stop(st, u.State, u.StateInfo)
		}
		switch {
		case errors.Is(err, controller.ErrNotRunning), errors.Is(err, controller.ErrNotPaused):
			return conflictf("execution %s is %s: it cannot be set to %s", id, ex.State, u.State)
		case err != nil:
			return err
		}
		return e.persist(tx, ex, st, d)
	})
	if err != nil {
		return nil, err
	}
	e.wake()
	return ex, nil
}
