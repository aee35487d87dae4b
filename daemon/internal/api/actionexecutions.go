package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

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
// output are JSON-encoded strings, as Mistral sends them (output null
// while it runs). An action run without a workflow has no workflow and
// task names (null).
type ActionExecution struct {
	ID                string   `json:"id"`
	Name              string   `json:"name"`
	WorkflowName      *string  `json:"workflow_name"`
	WorkflowNamespace string   `json:"workflow_namespace"`
	TaskName          *string  `json:"task_name"`
	TaskExecutionID   *string  `json:"task_execution_id"`
	State             string   `json:"state"`
	StateInfo         *string  `json:"state_info"`
	Tags              []string `json:"tags"`
	Accepted          bool     `json:"accepted"`
	Input             string   `json:"input"`
	Output            *string  `json:"output"`
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
		Description: "Gives a running (async) action execution its result, as Mistral does: state SUCCESS with output as the result, or ERROR with output as the error. The task and its workflow then go on. The answer has Mistral's shape for it: without task_name.",
		Tags:        []string{"Action executions"},
	}, func(ctx context.Context, in *updateActionExecutionInput) (*ranActionOutput, error) {
		output, err := looseJSON(in.Body.Output)
		if err != nil {
			return nil, huma.Error400BadRequest(fmt.Sprintf("output: %v", err))
		}
		if err := x.CompleteActionExecution(ctx, in.ID, in.Body.State, output); err != nil {
			return nil, s.fail("completing action execution "+in.ID, err)
		}
		a, t, err := x.GetActionExecution(ctx, in.ID)
		if err != nil {
			return nil, s.fail("reading action execution "+in.ID, err)
		}
		return &ranActionOutput{Body: toRanActionExecution(a, t)}, nil
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
		Accepted:        terminal(a.State) && !a.Replaced,
		Input:           jsonText(a.Input, "{}"),
		Output:          actionOutputText(a),
		Description:     a.Description,
		ProjectID:       defaultProject,
		CreatedAt:       wireTime(a.CreatedAt),
		UpdatedAt:       wireTime(a.UpdatedAt),
	}
	if t != nil {
		x.TaskName, x.WorkflowName = &t.Name, &t.WorkflowName
	}
	return x
}

// actionOutputText is an action execution's output as Mistral sends it:
// null until it has one.
func actionOutputText(a *store.ActionExecution) *string {
	if len(a.Output) == 0 {
		return nil
	}
	s := jsonText(a.Output, "{}")
	return &s
}

// ActionRunner is implemented by a Backend that runs actions without a
// workflow, as Mistral's POST /v2/action_executions does. It is optional,
// like Catalog.
type ActionRunner interface {
	// RunAction runs an action and answers its action execution: finished
	// when the call waited for the result, RUNNING otherwise, and with no
	// id when it was not saved (Mistral keeps no record of it). An unknown
	// action, input that does not fit it and run_sync with an async action
	// are BadRequest errors.
	RunAction(ctx context.Context, r RunActionRequest) (*store.ActionExecution, error)
}

// RunActionRequest is POST /v2/action_executions decoded: params run_sync,
// save_result, target and timeout become fields.
type RunActionRequest struct {
	Name, Description string
	Input             map[string]any
	// RunSync waits for the result; SaveResult keeps the action execution.
	// Neither means: wait, then forget it (unless the action is async,
	// which is then answered RUNNING and kept), as in Mistral.
	RunSync, SaveResult bool
	Target              string  // executor pool; "" is the default one
	Timeout             float64 // seconds; 0 is none
}

// RunActionBody is the body of POST /v2/action_executions.
type RunActionBody struct {
	_                 struct{}        `additionalProperties:"true"`
	Name              string          `json:"name,omitempty" example:"std.echo" doc:"The action to run: built-in, plugin or ad-hoc."`
	Input             json.RawMessage `json:"input,omitempty" doc:"Action input: a JSON object, or a string holding one."`
	Params            json.RawMessage `json:"params,omitempty" doc:"run_sync, save_result (booleans), target (executor pool), timeout (seconds): a JSON object, or a string holding one."`
	Description       string          `json:"description,omitempty" example:"a manual check"`
	WorkflowNamespace string          `json:"workflow_namespace,omitempty" doc:"Namespace of an ad-hoc action; only the default (empty) is supported."`
}

// RanActionExecution is the answer of POST /v2/action_executions, in
// Mistral's shape: without task_name, and with id, project_id, accepted
// and the times null for a run that was not saved.
type RanActionExecution struct {
	ID                *string  `json:"id"`
	WorkflowName      *string  `json:"workflow_name"`
	WorkflowNamespace string   `json:"workflow_namespace"`
	TaskExecutionID   *string  `json:"task_execution_id"`
	State             string   `json:"state"`
	StateInfo         *string  `json:"state_info"`
	Tags              []string `json:"tags"`
	Name              string   `json:"name"`
	Description       *string  `json:"description"`
	ProjectID         *string  `json:"project_id"`
	Accepted          *bool    `json:"accepted"`
	Input             string   `json:"input"`
	Output            *string  `json:"output"`
	CreatedAt         *string  `json:"created_at"`
	UpdatedAt         *string  `json:"updated_at"`
}

type runActionInput struct {
	Body RunActionBody
}

type ranActionOutput struct{ Body RanActionExecution }

// runRequest decodes the body of POST /v2/action_executions.
func runRequest(b *RunActionBody) (RunActionRequest, error) {
	r := RunActionRequest{Name: strings.TrimSpace(b.Name), Description: b.Description}
	if r.Name == "" {
		return r, badRequest("name is required: the action to run, e.g. std.echo")
	}
	if err := defaultNamespaceOnly(b.WorkflowNamespace); err != nil {
		return r, err
	}
	var err error
	if r.Input, err = decodeObject("input", b.Input); err != nil {
		return r, err
	}
	params, err := decodeObject("params", b.Params)
	if err != nil {
		return r, err
	}
	for _, f := range []struct {
		key string
		dst *bool
	}{{"run_sync", &r.RunSync}, {"save_result", &r.SaveResult}} {
		switch v := params[f.key].(type) {
		case nil:
		case bool:
			*f.dst = v
		default:
			return r, badRequest("params.%s must be true or false, not %s", f.key, jsonKind(v))
		}
	}
	switch v := params["target"].(type) {
	case nil:
	case string:
		r.Target = v
	default:
		return r, badRequest("params.target must be the name of an executor pool, not %s", jsonKind(v))
	}
	switch v := params["timeout"].(type) {
	case nil:
	case int64:
		r.Timeout = float64(v)
	case float64:
		r.Timeout = v
	default:
		return r, badRequest("params.timeout must be a number of seconds, not %s", jsonKind(v))
	}
	if r.Timeout < 0 {
		return r, badRequest("params.timeout must be a positive number of seconds, got %v", r.Timeout)
	}
	return r, nil
}

// toRanActionExecution renders the answer of POST or PUT
// /v2/action_executions; t is the action's task, nil without a workflow.
func toRanActionExecution(a *store.ActionExecution, t *store.TaskExecution) RanActionExecution {
	x := RanActionExecution{
		State: a.State, StateInfo: optional(a.StateInfo), Name: a.Name, TaskExecutionID: optional(a.TaskExecutionID),
		Input: jsonText(a.Input, "{}"), Output: actionOutputText(a),
	}
	if t != nil {
		x.WorkflowName = &t.WorkflowName
	}
	if a.ID == "" { // not saved
		x.Description = optional(a.Description)
		return x
	}
	accepted, project := terminal(a.State) && !a.Replaced, defaultProject
	x.ID, x.Description, x.ProjectID, x.Accepted = &a.ID, &a.Description, &project, &accepted
	x.CreatedAt, x.UpdatedAt = wireTime(a.CreatedAt), wireTime(a.UpdatedAt)
	return x
}

func (s *server) registerActionRuns(hapi huma.API) {
	s.registerActionExecutionDelete(hapi)
	x, ok := s.b.(ActionRunner)
	if !ok {
		return
	}
	huma.Register(hapi, huma.Operation{
		OperationID:   "runAction",
		Method:        http.MethodPost,
		Path:          "/v2/action_executions",
		Summary:       "Run an action without a workflow",
		Description:   "Runs a built-in, plugin or ad-hoc action, as Mistral does. By default the call waits for the result and keeps no record (the answer has no id); params.save_result keeps the action execution and answers it RUNNING at once; params.run_sync waits (with save_result: and keeps it). An async action is answered RUNNING; run_sync with one is 400. A run still going after its timeout (or a minute) is answered RUNNING and kept.",
		Tags:          []string{"Action executions"},
		DefaultStatus: http.StatusCreated,
		MaxBodyBytes:  s.maxBody,
		Errors:        []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge},
	}, func(ctx context.Context, in *runActionInput) (*ranActionOutput, error) {
		r, err := runRequest(&in.Body)
		if err != nil {
			return nil, err
		}
		a, err := x.RunAction(ctx, r)
		if err != nil {
			return nil, s.fail("running action "+r.Name, err)
		}
		return &ranActionOutput{Body: toRanActionExecution(a, nil)}, nil
	})
}

// ActionExecutionDeleter is implemented by a Backend that deletes action
// executions, as Mistral's DELETE /v2/action_executions/{id} does when
// its operator allows it.
type ActionExecutionDeleter interface {
	// DeleteActionExecution deletes an ended action execution run without
	// a workflow; one of a task, or one still running, is
	// store.ErrConflict.
	DeleteActionExecution(ctx context.Context, id string) error
}

func (s *server) registerActionExecutionDelete(hapi huma.API) {
	x, ok := s.b.(ActionExecutionDeleter)
	if !ok {
		return
	}
	huma.Register(hapi, huma.Operation{
		OperationID:   "deleteActionExecution",
		Method:        http.MethodDelete,
		Path:          "/v2/action_executions/{id}",
		Summary:       "Delete an action execution run without a workflow",
		Description:   "Only an ended action execution of POST /v2/action_executions can be deleted (403 otherwise), Mistral's rules when its operator allows deletion (Mistral's default refuses every one).",
		Tags:          []string{"Action executions"},
		DefaultStatus: http.StatusNoContent,
		Errors:        []int{http.StatusForbidden, http.StatusNotFound},
	}, func(ctx context.Context, in *getActionExecutionInput) (*struct{}, error) {
		err := x.DeleteActionExecution(ctx, in.ID)
		if errors.Is(err, store.ErrConflict) {
			return nil, huma.Error403Forbidden(err.Error())
		}
		if err != nil {
			return nil, s.fail("deleting action execution "+in.ID, annotate(err, "action execution", in.ID))
		}
		return nil, nil
	})
}
