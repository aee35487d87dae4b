package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// ActionExecutionLister is implemented by a Backend that can list action
// executions, for Mistral's GET /v2/action_executions and
// GET /v2/tasks/{id}/action_executions (python-mistralclient's
// action-execution-list). It is optional, like Catalog.
type ActionExecutionLister interface {
	// ListActionExecutions pages through action executions; o.Filters may
	// hold task_execution_id, workflow_execution_id, name and state.
	ListActionExecutions(ctx context.Context, o store.ListOpts) ([]ActionExecutionRecord, error)
}

// ActionExecutionRecord is an action execution with its task (nil for an
// action run without a workflow), whose names the wire form shows.
type ActionExecutionRecord struct {
	Action *store.ActionExecution
	Task   *store.TaskExecution
}

// ActionExecutionItem is an action execution as Mistral lists it: without
// output and params, and with tags null.
type ActionExecutionItem struct {
	ID                string   `json:"id"`
	WorkflowName      *string  `json:"workflow_name"`
	WorkflowNamespace string   `json:"workflow_namespace"`
	TaskName          *string  `json:"task_name"`
	TaskExecutionID   *string  `json:"task_execution_id"`
	State             string   `json:"state"`
	StateInfo         *string  `json:"state_info"`
	Tags              []string `json:"tags"`
	Name              string   `json:"name"`
	Description       string   `json:"description"`
	ProjectID         string   `json:"project_id"`
	Accepted          bool     `json:"accepted"`
	Input             string   `json:"input" doc:"JSON-encoded action input."`
	CreatedAt         *string  `json:"created_at"`
	UpdatedAt         *string  `json:"updated_at"`
}

// ActionExecutionList is the body of GET /v2/action_executions.
type ActionExecutionList struct {
	ActionExecutions []ActionExecutionItem `json:"action_executions"`
	Next             string                `json:"next,omitempty" doc:"URL of the next page, present when the page is full."`
}

type actionExecutionListOutput struct{ Body ActionExecutionList }

type listActionExecutionsInput struct {
	ListParams
	TaskExecutionID string `query:"task_execution_id" doc:"Only the action executions of this task execution."`
	Name            string `query:"name" doc:"Only action executions of this action."`
	State           string `query:"state" doc:"Only action executions in this state."`
}

type listTaskActionExecutionsInput struct {
	ListParams
	ID string `path:"id" doc:"Task execution id."`
}

// actionExecutionSortKeys are the fields an action execution listing may
// be sorted by.
var actionExecutionSortKeys = keySet("id", "name", "state", "created_at", "updated_at")

// registerActionExecutionList serves the action execution listings when
// the Backend is an ActionExecutionLister.
func (s *server) registerActionExecutionList(hapi huma.API) {
	x, ok := s.b.(ActionExecutionLister)
	if !ok {
		return
	}
	list := func(ctx context.Context, p *ListParams, path string, filters map[string]string) (*actionExecutionListOutput, error) {
		o, err := p.listOpts(actionExecutionSortKeys)
		if err != nil {
			return nil, err
		}
		for k, v := range filters {
			addFilter(o.Filters, k, v)
		}
		recs, err := x.ListActionExecutions(ctx, o)
		if err != nil {
			return nil, s.fail("listing action executions", err)
		}
		out := &actionExecutionListOutput{}
		out.Body.ActionExecutions, out.Body.Next = page(p, o, path, recs, toActionExecutionItem,
			func(r ActionExecutionRecord) string { return r.Action.ID })
		return out, nil
	}
	huma.Register(hapi, huma.Operation{
		OperationID: "listActionExecutions",
		Method:      http.MethodGet,
		Path:        "/v2/action_executions",
		Summary:     "List action executions",
		Description: "Pages with marker and limit, sorts with sort_keys and sort_dirs, filters by task_execution_id, name and state. Input is included, output is not (GET one for it), as in Mistral.",
		Tags:        []string{"Action executions"},
		Errors:      []int{http.StatusBadRequest},
	}, func(ctx context.Context, in *listActionExecutionsInput) (*actionExecutionListOutput, error) {
		return list(ctx, &in.ListParams, "/v2/action_executions",
			map[string]string{"task_execution_id": in.TaskExecutionID, "name": in.Name, "state": in.State})
	})
	huma.Register(hapi, huma.Operation{
		OperationID: "listTaskActionExecutions",
		Method:      http.MethodGet,
		Path:        "/v2/tasks/{id}/action_executions",
		Summary:     "List the action executions of a task execution",
		Description: "One per attempt and per with-items item.",
		Tags:        []string{"Action executions", "Tasks"},
		Errors:      []int{http.StatusBadRequest, http.StatusNotFound},
	}, func(ctx context.Context, in *listTaskActionExecutionsInput) (*actionExecutionListOutput, error) {
		// An unknown task is a 404 rather than an empty list.
		if t, ok := s.b.(Tasks); ok {
			if _, err := t.GetTask(ctx, in.ID); err != nil {
				return nil, s.fail("reading a task", annotate(err, "task execution", in.ID))
			}
		}
		return list(ctx, &in.ListParams, "/v2/tasks/"+in.ID+"/action_executions",
			map[string]string{"task_execution_id": in.ID})
	})
}

func toActionExecutionItem(r ActionExecutionRecord) ActionExecutionItem {
	a := r.Action
	x := ActionExecutionItem{
		ID:              a.ID,
		TaskExecutionID: optional(a.TaskExecutionID),
		State:           a.State,
		StateInfo:       optional(a.StateInfo),
		Name:            a.Name,
		Description:     a.Description,
		ProjectID:       defaultProject,
		Accepted:        terminal(a.State) && !a.Replaced,
		Input:           jsonText(a.Input, "{}"),
		CreatedAt:       wireTime(a.CreatedAt),
		UpdatedAt:       wireTime(a.UpdatedAt),
	}
	if r.Task != nil {
		x.TaskName, x.WorkflowName = &r.Task.Name, &r.Task.WorkflowName
	}
	return x
}
