package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// ExecutionUpdater is implemented by a Backend that can change executions
// as Mistral's PUT /v2/executions/{id} does. It is optional, like Catalog.
type ExecutionUpdater interface {
	// UpdateExecution changes the description, or the state (SUCCESS,
	// ERROR, CANCELLED stop the execution). An execution that has ended
	// already is store.ErrConflict.
	UpdateExecution(ctx context.Context, id string, u ExecutionUpdate) (*store.Execution, error)
}

// ExecutionUpdate is a decoded PUT /v2/executions/{id}.
type ExecutionUpdate struct {
	State, StateInfo, Description string
}

// UpdateExecutionBody is the body of PUT /v2/executions/{id}, as
// python-mistralclient's execution-update sends it.
type UpdateExecutionBody struct {
	_           struct{}        `additionalProperties:"true"`
	State       string          `json:"state,omitempty" doc:"SUCCESS, ERROR or CANCELLED stop the execution (PAUSED and RUNNING are not supported yet)."`
	StateInfo   string          `json:"state_info,omitempty" doc:"Why: becomes the execution's state_info."`
	Description string          `json:"description,omitempty" doc:"A new description (not together with state)."`
	Params      json.RawMessage `json:"params,omitempty" doc:"Accepted for compatibility; changing env is not supported yet."`
}

type updateExecutionInput struct {
	ID   string `path:"id" doc:"Execution id."`
	Body UpdateExecutionBody
}

func (s *server) registerExecutionUpdates(hapi huma.API) {
	x, ok := s.b.(ExecutionUpdater)
	if !ok {
		return
	}
	huma.Register(hapi, huma.Operation{
		OperationID: "updateExecution",
		Method:      http.MethodPut,
		Path:        "/v2/executions/{id}",
		Summary:     "Stop an execution or change its description",
		Description: "As in Mistral: state SUCCESS, ERROR or CANCELLED ends the execution (its running tasks are cancelled and their actions asked to stop), with state_info as the reason; or description alone changes the description.",
		Tags:        []string{"Executions"},
	}, func(ctx context.Context, in *updateExecutionInput) (*executionOutput, error) {
		ex, err := x.UpdateExecution(ctx, in.ID, ExecutionUpdate{State: in.Body.State, StateInfo: in.Body.StateInfo, Description: in.Body.Description})
		if err != nil {
			return nil, s.fail("updating execution "+in.ID, err)
		}
		return &executionOutput{Body: toExecution(ex, viewGet)}, nil
	})
}
