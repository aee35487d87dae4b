package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// ActionExecutions is implemented by a Backend that can read action
// executions and complete an async one, as Mistral's
// PUT /v2/action_executions/{id} does. It is optional, like Catalog.
type ActionExecutions interface {
	// GetActionExecution reads one action execution and, when it belongs
	// to a task, that task.
	GetActionExecution(ctx context.Context, id string) (*store.ActionExecution, *store.TaskExecution, error)
	// CompleteActionExecution gives a running action execution its result:
	// state SUCCESS with output as the result, or ERROR with output as the
	// error. One that is no longer running is store.ErrConflict.
	CompleteActionExecution(ctx context.Context, id, state string, output any) error
}

// ActionExecution is an action execution in Mistral's shape; input and
// output are JSON-encoded strings, as Mistral sends them.
type ActionExecution struct {
	ID                string   `json:"id"`
	Name              string   `json:"name"`
	WorkflowName      string   `json:"workflow_name"`
	WorkflowNamespace string   `json:"workflow_namespace"`
	TaskName          string   `json:"task_name"`
	TaskExecutionID   *string  `json:"task_execution_id"`
	State             string   `json:"state"`
	StateInfo         *string  `json:"state_info"`
	Tags              []string `json:"tags"`
	Accepted          bool     `json:"accepted"`
	Input             string   `json:"input"`
	Output            string   `json:"output"`
	Params            string   `json:"params"`
	Description       string   `json:"description"`
	ProjectID         string   `json:"project_id"`
	CreatedAt         *string  `json:"created_at"`
	UpdatedAt         *string  `json:"updated_at"`
}

// UpdateActionExecutionBody is the body of PUT /v2/action_executions/{id}.
// Output may be any JSON value, or a string holding JSON (python-
// mistralclient sends it that way); a string that is not JSON is taken as
// the string itself.
type UpdateActionExecutionBody struct {
	_      struct{}        `additionalProperties:"true"`
	State  string          `json:"state" enum:"SUCCESS,ERROR" doc:"SUCCESS gives the action its result, ERROR fails it."`
	Output json.RawMessage `json:"output,omitempty" doc:"The result (SUCCESS) or the error (ERROR)."`
}

type actionExecutionOutput struct{ Body ActionExecution }

type getActionExecutionInput struct {
	ID string `path:"id" doc:"Action execution id."`
}

type updateActionExecutionInput struct {
	ID   string `path:"id" doc:"Action execution id."`
	Body UpdateActionExecutionBody
}

func (s *server) registerActionExecutions(hapi huma.API) {
	x, ok := s.b.(ActionExecutions)
	if !ok {
		return
	}
	get := func(ctx context.Context, id string) (*actionExecutionOutput, error) {
		a, t, err := x.GetActionExecution(ctx, id)
		if err != nil {
			return nil, s.fail("reading action execution "+id, err)
		}
		return &actionExecutionOutput{Body: toActionExecution(a, t)}, nil
	}
	huma.Register(hapi, huma.Operation{
		OperationID: "getActionExecution",
		Method:      http.MethodGet,
		Path:        "/v2/action_executions/{id}",
		Summary:     "Show one action execution",
		Tags:        []string{"Action executions"},
	}, func(ctx context.Context, in *getActionExecutionInput) (*actionExecutionOutput, error) {
		return get(ctx, in.ID)
	})
	huma.Register(hapi, huma.Operation{
		OperationID: "updateActionExecution",
		Method:      http.MethodPut,
		Path:        "/v2/action_executions/{id}",
		Summary:     "Complete an async action",
		Description: "Gives a running (async) action execution its result, as Mistral does: state SUCCESS with output as the result, or ERROR with output as the error. The task and its workflow then go on.",
		Tags:        []string{"Action executions"},
	}, func(ctx context.Context, in *updateActionExecutionInput) (*actionExecutionOutput, error) {
		output, err := looseJSON(in.Body.Output)
		if err != nil {
			return nil, huma.Error400BadRequest(fmt.Sprintf("output: %v", err))
		}
		if err := x.CompleteActionExecution(ctx, in.ID, in.Body.State, output); err != nil {
			return nil, s.fail("completing action execution "+in.ID, err)
		}
		return get(ctx, in.ID)
	})
}

// looseJSON decodes a JSON value; a JSON string that itself holds JSON is
// decoded once more, and one that does not stays a string.
func looseJSON(raw json.RawMessage) (any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	if str, ok := v.(string); ok {
		var inner any
		if json.Unmarshal([]byte(str), &inner) == nil {
			return inner, nil
		}
	}
	return v, nil
}

func toActionExecution(a *store.ActionExecution, t *store.TaskExecution) ActionExecution {
	x := ActionExecution{
		ID:              a.ID,
		Name:            a.Name,
		TaskExecutionID: optional(a.TaskExecutionID),
		State:           a.State,
		StateInfo:       optional(a.StateInfo),
		Tags:            []string{},
		Accepted:        terminal(a.State),
		Input:           jsonText(a.Input, "{}"),
		Output:          jsonText(a.Output, "{}"),
		Params:          "{}",
		ProjectID:       defaultProject,
		CreatedAt:       wireTime(a.CreatedAt),
		UpdatedAt:       wireTime(a.UpdatedAt),
	}
	if t != nil {
		x.TaskName, x.WorkflowName = t.Name, t.WorkflowName
	}
	return x
}
