package engine

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
	"github.com/sirocco-wf/sirocco/daemon/internal/transport"
)

var _ api.ActionExecutions = (*Engine)(nil)

// GetActionExecution reads one action execution and the task it runs for.
func (e *Engine) GetActionExecution(ctx context.Context, id string) (*store.ActionExecution, *store.TaskExecution, error) {
	var a *store.ActionExecution
	var t *store.TaskExecution
	err := e.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		if a, err = tx.GetActionExecution(id); err != nil {
			return err
		}
		if a.TaskExecutionID != "" {
			if t, err = tx.GetTaskExecution(a.TaskExecutionID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return nil
	})
	return a, t, err
}

// CompleteActionExecution gives a running action execution its result, the
// way an async action's callee does through PUT /v2/action_executions/{id}.
// It goes through the same path as a result from an executor host, so it is
// applied once and the workflow goes on from it.
func (e *Engine) CompleteActionExecution(ctx context.Context, id, state string, output any) error {
	a, _, err := e.GetActionExecution(ctx, id)
	if err != nil {
		return err
	}
	if a.State != store.StateRunning {
		return conflictf("action execution %s is %s, not RUNNING: its result was given already", id, a.State)
	}
	res := &transport.ActionResult{V: transport.ProtocolVersion, ActionExecutionID: id, ExecutionID: a.ExecutionID, Attempt: a.Attempt}
	switch state {
	case store.StateSuccess:
		if res.Output, err = json.Marshal(output); err != nil {
			return badf("output: %v", err)
		}
	case store.StateError:
		msg, ok := output.(string)
		if !ok {
			if output == nil {
				msg = "Unknown error"
			} else {
				b, _ := json.Marshal(output)
				msg = string(b)
			}
		}
		res.Error = &transport.ActionError{Type: "ActionError", Message: msg}
		if output != nil {
			res.Error.Data, _ = json.Marshal(output)
		}
	default:
		return badf("state %q: an action execution can be completed with SUCCESS or ERROR", state)
	}
	begin := time.Now()
	applied, err := e.applyResult(ctx, res)
	if err != nil {
		return err
	}
	e.countResult(applied, begin)
	if !applied {
		return conflictf("action execution %s got its result from elsewhere first", id)
	}
	e.wake()
	actionDone(id)
	return nil
}
