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

// StartExecutionBody is the body of POST /v2/executions. Input and Params
// are raw so the handler can accept both forms clients use: an object, or
// (as python-mistralclient sends them) a string holding a JSON object.
// Unknown members are allowed because Mistral's clients send more than
// Sirocco uses (workflow_namespace, source_execution_id, ...).
type StartExecutionBody struct {
	_            struct{}        `additionalProperties:"true"`
	WorkflowName string          `json:"workflow_name,omitempty" doc:"Name of the workflow to run (or give workflow_id)."`
	WorkflowID   string          `json:"workflow_id,omitempty" doc:"Id of the workflow to run, when workflow_name is absent."`
	Input        json.RawMessage `json:"input,omitempty" doc:"Workflow input: a JSON object, or a string holding a JSON object."`
	Params       json.RawMessage `json:"params,omitempty" doc:"Execution parameters (env, notify, task_name, ...): a JSON object, or a string holding a JSON object."`
	Description  string          `json:"description,omitempty"`
	ID           string          `json:"id,omitempty" doc:"Client-chosen execution id; 409 if it is taken."`
}

type startExecutionInput struct {
	Body StartExecutionBody
}

type executionOutput struct {
	Body Execution
}

type getExecutionInput struct {
	ID string `path:"id" doc:"Execution id."`
}

type listExecutionsInput struct {
	ListParams
	WorkflowName    string `query:"workflow_name" doc:"Only executions of this workflow."`
	WorkflowID      string `query:"workflow_id" doc:"Only executions of this workflow id."`
	State           string `query:"state" doc:"Only executions in this state."`
	RootExecutionID string `query:"root_execution_id" doc:"Only executions under this root execution."`
	TaskExecutionID string `query:"task_execution_id" doc:"Only sub-workflow executions of this task."`
	IncludeOutput   bool   `query:"include_output" doc:"Include each execution's output (left out by default, as in Mistral, because outputs can be large)."`
}

type listTasksInput struct {
	ID            string `path:"id" doc:"Execution id."`
	IncludeResult bool   `query:"include_result" doc:"Sirocco extension: include each task's result (Mistral lists tasks without it)."`
}

type executionListOutput struct {
	Body ExecutionList
}

type taskListOutput struct {
	Body TaskList
}

// executionSortKeys are the fields an execution listing may be sorted by.
var executionSortKeys = keySet("id", "workflow_name", "workflow_id", "state", "description", "created_at", "updated_at")

func (s *server) registerExecutions(api huma.API) {
	huma.Register(api, huma.Operation{
		OperationID:   "startExecution",
		Method:        http.MethodPost,
		Path:          "/v2/executions",
		Summary:       "Start a workflow execution",
		Description:   "Starts the named workflow with the given input and params and answers with the new execution (usually RUNNING).",
		Tags:          []string{"Executions"},
		DefaultStatus: http.StatusCreated,
		MaxBodyBytes:  s.maxBody,
		Errors:        []int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge},
	}, func(ctx context.Context, in *startExecutionInput) (*executionOutput, error) {
		req, err := s.startRequest(ctx, &in.Body)
		if err != nil {
			return nil, err
		}
		e, err := s.b.StartExecution(ctx, req)
		if err != nil && req.ID != "" && errors.Is(err, store.ErrConflict) {
			// Mistral makes a client-chosen id idempotent: a retried POST
			// answers with the execution the first one created, so a
			// client can retry after a timeout without starting twice.
			e, err = s.b.GetExecution(ctx, req.ID)
		}
		if err != nil {
			return nil, s.fail("starting an execution", annotate(err, "workflow", req.WorkflowName))
		}
		return &executionOutput{Body: toExecution(e, viewCreated)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "listExecutions",
		Method:      http.MethodGet,
		Path:        "/v2/executions",
		Summary:     "List workflow executions",
		Description: "Pages with marker (the id of the last execution of the previous page) and limit; sorts with sort_keys and sort_dirs (comma-separated).",
		Tags:        []string{"Executions"},
		Errors:      []int{http.StatusBadRequest},
	}, func(ctx context.Context, in *listExecutionsInput) (*executionListOutput, error) {
		o, err := in.listOpts(executionSortKeys)
		if err != nil {
			return nil, err
		}
		addFilter(o.Filters, "workflow_name", in.WorkflowName)
		addFilter(o.Filters, "workflow_id", in.WorkflowID)
		addFilter(o.Filters, "state", in.State)
		addFilter(o.Filters, "root_execution_id", in.RootExecutionID)
		addFilter(o.Filters, "task_execution_id", in.TaskExecutionID)
		list, err := s.b.ListExecutions(ctx, o)
		if err != nil {
			return nil, s.fail("listing executions", err)
		}
		view := viewList
		view.output = in.IncludeOutput
		out := &executionListOutput{}
		out.Body.Executions, out.Body.Next = page(&in.ListParams, o, "/v2/executions", list,
			func(e *store.Execution) Execution { return toExecution(e, view) },
			func(e *store.Execution) string { return e.ID })
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "getExecution",
		Method:      http.MethodGet,
		Path:        "/v2/executions/{id}",
		Summary:     "Get a workflow execution",
		Description: "State, state_info (the error when the state is ERROR), input, output and params of one execution.",
		Tags:        []string{"Executions"},
		Errors:      []int{http.StatusNotFound},
	}, func(ctx context.Context, in *getExecutionInput) (*executionOutput, error) {
		e, err := s.b.GetExecution(ctx, in.ID)
		if err != nil {
			return nil, s.fail("reading an execution", annotate(err, "execution", in.ID))
		}
		return &executionOutput{Body: toExecution(e, viewGet)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "listExecutionTasks",
		Method:      http.MethodGet,
		Path:        "/v2/executions/{id}/tasks",
		Summary:     "List the task executions of a workflow execution",
		Tags:        []string{"Executions", "Tasks"},
		Errors:      []int{http.StatusNotFound},
	}, func(ctx context.Context, in *listTasksInput) (*taskListOutput, error) {
		// The execution gives the workflow id and namespace every task
		// shows; it also makes an unknown id a 404 rather than an empty list.
		e, err := s.b.GetExecution(ctx, in.ID)
		if err != nil {
			return nil, s.fail("reading an execution", annotate(err, "execution", in.ID))
		}
		tasks, err := s.b.ListTasks(ctx, in.ID)
		if err != nil {
			return nil, s.fail("listing tasks", annotate(err, "execution", in.ID))
		}
		out := &taskListOutput{Body: TaskList{Tasks: make([]Task, 0, len(tasks))}}
		for _, t := range tasks {
			out.Body.Tasks = append(out.Body.Tasks, toTask(t, e.WorkflowID, e.Namespace, in.IncludeResult))
		}
		return out, nil
	})
}

// startRequest decodes and checks the wire body into the backend's request.
func (s *server) startRequest(ctx context.Context, b *StartExecutionBody) (StartRequest, error) {
	req := StartRequest{
		ID:           strings.TrimSpace(b.ID),
		WorkflowName: strings.TrimSpace(b.WorkflowName),
		Description:  b.Description,
	}
	var err error
	if req.Input, err = decodeObject("input", b.Input); err != nil {
		return req, err
	}
	if req.Params, err = decodeObject("params", b.Params); err != nil {
		return req, err
	}
	if req.WorkflowName == "" {
		id := strings.TrimSpace(b.WorkflowID)
		if id == "" {
			return req, badRequest("workflow_name is required (or workflow_id)")
		}
		wf, err := s.b.GetWorkflow(ctx, id)
		if err != nil {
			return req, s.fail("reading a workflow", annotate(err, "workflow", id))
		}
		req.WorkflowName = wf.Name
	}
	return req, nil
}

// decodeObject accepts a JSON object, or a JSON string whose content is a
// JSON object (Mistral's clients double-encode), and returns the object.
// null, absent and "" mean no value. Numbers keep their precision: integers
// become int64 (or float64 beyond its range), others float64.
func decodeObject(field string, raw json.RawMessage) (map[string]any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, badRequest("%s: not a JSON object: %v", field, err)
		}
		raw = bytes.TrimSpace([]byte(s))
		if len(raw) == 0 {
			return nil, nil
		}
	}
	if raw[0] != '{' {
		v, err := decodeValue(raw)
		if err != nil {
			return nil, badRequest("%s: not a JSON object: %v", field, err)
		}
		return nil, badRequest("%s: not a JSON object: got %s", field, jsonKind(v))
	}
	v, err := decodeValue(raw)
	if err != nil {
		return nil, badRequest("%s: not a JSON object: %v", field, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, badRequest("%s: not a JSON object: got %s", field, jsonKind(v))
	}
	return m, nil
}

// decodeValue decodes exactly one JSON value, with numbers normalised.
func decodeValue(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return normalizeNumbers(v), nil
}

func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
	}
	return v
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return "a number"
	}
}

// annotate makes sure a not-found or conflict error names the thing the
// user asked for: the backend's text may say only "not found".
func annotate(err error, kind, name string) error {
	if name == "" || strings.Contains(err.Error(), name) {
		return err
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("%s %q: %w", kind, name, err)
	}
	return err
}
