package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// This file serves the rest of the workflow and execution lifecycle that
// python-mistralclient drives: workflow-update and workflow-delete,
// execution-delete, and the task endpoints (task-list without an execution,
// task-get, task-get-result, task-get-published). Each group is optional,
// like Catalog, so a Backend that lacks it simply does not serve it.

// WorkflowEditor is implemented by a Backend that can replace and delete
// workflow definitions, as Mistral's PUT /v2/workflows and
// DELETE /v2/workflows/{identifier} do.
type WorkflowEditor interface {
	// UpdateWorkflows parses a whole workflow-language v2 document and
	// replaces the definition of every workflow it defines. A workflow
	// that does not exist is store.ErrNotFound (Mistral does not create on
	// PUT); parse and validation errors are BadRequest errors. Nothing is
	// changed unless every workflow could be.
	UpdateWorkflows(ctx context.Context, definition string) ([]*store.WorkflowDef, error)
	// DeleteWorkflow deletes a workflow by name or id. One that cron
	// triggers still start is a BadRequest error naming them, as in Mistral.
	DeleteWorkflow(ctx context.Context, identifier string) error
}

// ExecutionDeleter is implemented by a Backend that can delete executions,
// as Mistral's DELETE /v2/executions/{id} does.
type ExecutionDeleter interface {
	// DeleteExecution deletes an ended execution with its tasks, action
	// executions and sub-workflow executions. One that has not ended is
	// store.ErrConflict (answered 403, Mistral's code for it).
	DeleteExecution(ctx context.Context, id string) error
}

// TaskRecord is a task execution with what its wire form needs from its
// workflow execution (Mistral shows the workflow id and namespace on every
// task).
type TaskRecord struct {
	Task       *store.TaskExecution
	WorkflowID string
	Namespace  string
}

// Tasks is implemented by a Backend that can read task executions by id
// and across executions, for Mistral's GET /v2/tasks and
// GET /v2/tasks/{id}.
type Tasks interface {
	GetTask(ctx context.Context, id string) (TaskRecord, error)
	// ListAllTasks pages through the tasks of all executions; o.Filters may
	// hold workflow_execution_id, workflow_name, name and state.
	ListAllTasks(ctx context.Context, o store.ListOpts) ([]TaskRecord, error)
}

// UpdatedWorkflow is a workflow as Mistral's PUT /v2/workflows answers it:
// like POST ("interface" an object) but with "updated_at".
type UpdatedWorkflow struct {
	CreatedWorkflow
	UpdatedAt *string `json:"updated_at"`
}

// UpdatedWorkflowList is the body of PUT /v2/workflows.
type UpdatedWorkflowList struct {
	Workflows []UpdatedWorkflow `json:"workflows"`
}

type updateWorkflowsInput struct {
	Namespace string `query:"namespace" doc:"Namespace of the workflows; only the default namespace (empty) is supported."`
	Scope     string `query:"scope" doc:"Accepted for compatibility ('private' or 'public'); the scope is kept."`
	RawBody   []byte `contentType:"text/plain"`
}

type updatedWorkflowsOutput struct{ Body UpdatedWorkflowList }

type deleteWorkflowInput struct {
	Identifier string `path:"identifier" doc:"Workflow name or id."`
	Namespace  string `query:"namespace" doc:"Namespace of the workflow; only the default namespace (empty) is supported."`
}

type deleteExecutionInput struct {
	ID    string `path:"id" doc:"Execution id."`
	Force bool   `query:"force" doc:"Mistral deletes a running execution with force; Sirocco refuses: cancel it first."`
}

type getTaskInput struct {
	ID string `path:"id" doc:"Task execution id."`
}

type taskOutput struct{ Body Task }

// TaskPage is the body of GET /v2/tasks: TaskList with the "next" link of
// a full page.
type TaskPage struct {
	Tasks []Task `json:"tasks"`
	Next  string `json:"next,omitempty" doc:"URL of the next page, present when the page is full."`
}

type taskPageOutput struct{ Body TaskPage }

type listAllTasksInput struct {
	ListParams
	WorkflowExecutionID string `query:"workflow_execution_id" doc:"Only the tasks of this workflow execution."`
	WorkflowName        string `query:"workflow_name" doc:"Only tasks of this workflow."`
	Name                string `query:"name" doc:"Only tasks of this name."`
	State               string `query:"state" doc:"Only tasks in this state."`
	IncludeResult       bool   `query:"include_result" doc:"Sirocco extension: include each task's result (Mistral lists tasks without it)."`
}

// taskSortKeys are the fields a task listing may be sorted by.
var taskSortKeys = keySet("id", "name", "workflow_name", "workflow_execution_id", "state", "created_at", "updated_at")

// defaultNamespaceOnly rejects a namespace the backend cannot serve yet, so
// a client never changes the default-namespace workflow by mistake.
func defaultNamespaceOnly(ns string) error {
	if ns != "" {
		return badRequest("namespace %q: only the default namespace (empty) is supported", ns)
	}
	return nil
}

func (s *server) registerDefs(hapi huma.API) {
	if x, ok := s.b.(WorkflowEditor); ok {
		s.registerWorkflowEditor(hapi, x)
	}
	if x, ok := s.b.(ExecutionDeleter); ok {
		s.registerExecutionDeleter(hapi, x)
	}
	if x, ok := s.b.(Tasks); ok {
		s.registerTasks(hapi, x)
	}
}

func (s *server) registerWorkflowEditor(hapi huma.API, x WorkflowEditor) {
	huma.Register(hapi, huma.Operation{
		OperationID:  "updateWorkflows",
		Method:       http.MethodPut,
		Path:         "/v2/workflows",
		Summary:      "Replace workflows from a YAML document",
		Description:  "The body is a workflow-language v2 document (text/plain). Every workflow it defines must exist; each gets the new definition. Running executions keep the definition they started with.",
		Tags:         []string{"Workflows"},
		MaxBodyBytes: s.maxBody,
		Errors:       []int{http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge},
	}, func(ctx context.Context, in *updateWorkflowsInput) (*updatedWorkflowsOutput, error) {
		if err := defaultNamespaceOnly(in.Namespace); err != nil {
			return nil, err
		}
		if len(in.RawBody) == 0 {
			return nil, badRequest("the request body is empty: send the workflow YAML document as text/plain")
		}
		defs, err := x.UpdateWorkflows(ctx, string(in.RawBody))
		if err != nil {
			return nil, s.fail("updating workflows", err)
		}
		out := &updatedWorkflowsOutput{Body: UpdatedWorkflowList{Workflows: make([]UpdatedWorkflow, 0, len(defs))}}
		for _, d := range defs {
			out.Body.Workflows = append(out.Body.Workflows, UpdatedWorkflow{CreatedWorkflow: toCreatedWorkflow(d), UpdatedAt: wireTime(d.UpdatedAt)})
		}
		return out, nil
	})

	huma.Register(hapi, huma.Operation{
		OperationID:   "deleteWorkflow",
		Method:        http.MethodDelete,
		Path:          "/v2/workflows/{identifier}",
		Summary:       "Delete a workflow by name or id",
		Description:   "Its executions stay. A workflow that cron triggers start cannot be deleted (400, as in Mistral): delete the triggers first.",
		Tags:          []string{"Workflows"},
		DefaultStatus: http.StatusNoContent,
		Errors:        []int{http.StatusBadRequest, http.StatusNotFound},
	}, func(ctx context.Context, in *deleteWorkflowInput) (*struct{}, error) {
		if err := defaultNamespaceOnly(in.Namespace); err != nil {
			return nil, err
		}
		if err := x.DeleteWorkflow(ctx, in.Identifier); err != nil {
			return nil, s.fail("deleting a workflow", annotate(err, "workflow", in.Identifier))
		}
		return nil, nil
	})
}

func (s *server) registerExecutionDeleter(hapi huma.API, x ExecutionDeleter) {
	huma.Register(hapi, huma.Operation{
		OperationID:   "deleteExecution",
		Method:        http.MethodDelete,
		Path:          "/v2/executions/{id}",
		Summary:       "Delete an ended execution",
		Description:   "Deletes the execution with its task executions, action executions and sub-workflow executions. One that has not ended is refused with 403, as Mistral does; cancel it first (PUT state CANCELLED). Mistral's force flag is not honoured.",
		Tags:          []string{"Executions"},
		DefaultStatus: http.StatusNoContent,
		Errors:        []int{http.StatusForbidden, http.StatusNotFound},
	}, func(ctx context.Context, in *deleteExecutionInput) (*struct{}, error) {
		err := x.DeleteExecution(ctx, in.ID)
		if errors.Is(err, store.ErrConflict) {
			msg := err.Error()
			if in.Force {
				msg += " (Sirocco does not delete a running execution even with force)"
			}
			return nil, huma.Error403Forbidden(msg)
		}
		if err != nil {
			return nil, s.fail("deleting an execution", annotate(err, "execution", in.ID))
		}
		return nil, nil
	})
}

func (s *server) registerTasks(hapi huma.API, x Tasks) {
	huma.Register(hapi, huma.Operation{
		OperationID: "listTasks",
		Method:      http.MethodGet,
		Path:        "/v2/tasks",
		Summary:     "List the task executions of all workflow executions",
		Description: "Pages with marker (the id of the last task of the previous page) and limit; sorts with sort_keys and sort_dirs (comma-separated); filters by workflow_execution_id, workflow_name, name and state.",
		Tags:        []string{"Tasks"},
		Errors:      []int{http.StatusBadRequest},
	}, func(ctx context.Context, in *listAllTasksInput) (*taskPageOutput, error) {
		o, err := in.listOpts(taskSortKeys)
		if err != nil {
			return nil, err
		}
		addFilter(o.Filters, "workflow_execution_id", in.WorkflowExecutionID)
		addFilter(o.Filters, "workflow_name", in.WorkflowName)
		addFilter(o.Filters, "name", in.Name)
		addFilter(o.Filters, "state", in.State)
		list, err := x.ListAllTasks(ctx, o)
		if err != nil {
			return nil, s.fail("listing tasks", err)
		}
		out := &taskPageOutput{}
		out.Body.Tasks, out.Body.Next = page(&in.ListParams, o, "/v2/tasks", list,
			func(r TaskRecord) Task { return toTask(r.Task, r.WorkflowID, r.Namespace, in.IncludeResult) },
			func(r TaskRecord) string { return r.Task.ID })
		return out, nil
	})

	huma.Register(hapi, huma.Operation{
		OperationID: "getTask",
		Method:      http.MethodGet,
		Path:        "/v2/tasks/{id}",
		Summary:     "Get a task execution",
		Description: "State, published variables and result (the action's output, or the error) of one task execution.",
		Tags:        []string{"Tasks"},
		Errors:      []int{http.StatusNotFound},
	}, func(ctx context.Context, in *getTaskInput) (*taskOutput, error) {
		r, err := x.GetTask(ctx, in.ID)
		if err != nil {
			return nil, s.fail("reading a task", annotate(err, "task execution", in.ID))
		}
		return &taskOutput{Body: toTask(r.Task, r.WorkflowID, r.Namespace, true)}, nil
	})
}
