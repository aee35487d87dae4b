package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

type healthOutput struct {
	Body struct {
		Status  string `json:"status" example:"ok"`
		Version string `json:"version"`
	}
}

func (s *server) registerHealth(api huma.API) {
	huma.Register(api, huma.Operation{
		OperationID: "health",
		Method:      http.MethodGet,
		Path:        "/healthz",
		Summary:     "Liveness check",
		Description: "Answers 200 while the process serves HTTP. It does not check the database or NATS (that is /readyz's job).",
		Tags:        []string{"Service"},
	}, func(context.Context, *struct{}) (*healthOutput, error) {
		out := &healthOutput{}
		out.Body.Status = "ok"
		out.Body.Version = s.opts.Version
		return out, nil
	})
}

type createWorkflowsInput struct {
	RawBody []byte `contentType:"text/plain"`
}

type workflowListOutput struct {
	Body WorkflowList
}

type createdWorkflowsOutput struct {
	Body CreatedWorkflowList
}

type workflowOutput struct {
	Body Workflow
}

type getWorkflowInput struct {
	Identifier string `path:"identifier" doc:"Workflow name or id."`
}

type listWorkflowsInput struct {
	ListParams
	Name      string `query:"name" doc:"Only the workflow with this name."`
	Namespace string `query:"namespace" doc:"Only workflows of this namespace."`
	Scope     string `query:"scope" doc:"Only 'private' or only 'public' workflows."`
}

// workflowSortKeys are the fields a workflow listing may be sorted by.
var workflowSortKeys = keySet("id", "name", "namespace", "scope", "created_at", "updated_at")

func (s *server) registerWorkflows(api huma.API) {
	huma.Register(api, huma.Operation{
		OperationID:   "createWorkflows",
		Method:        http.MethodPost,
		Path:          "/v2/workflows",
		Summary:       "Create workflows from a YAML document",
		Description:   "The body is a workflow-language v2 document (YAML, sent as text/plain as Mistral's clients do). Every workflow it defines is created; a syntax or validation error names the line.",
		Tags:          []string{"Workflows"},
		DefaultStatus: http.StatusCreated,
		MaxBodyBytes:  s.maxBody,
		Errors:        []int{http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge},
	}, func(ctx context.Context, in *createWorkflowsInput) (*createdWorkflowsOutput, error) {
		if len(in.RawBody) == 0 {
			return nil, badRequest("the request body is empty: send the workflow YAML document as text/plain")
		}
		defs, err := s.b.CreateWorkflows(ctx, string(in.RawBody))
		if err != nil {
			return nil, s.fail("creating workflows", err)
		}
		out := &createdWorkflowsOutput{Body: CreatedWorkflowList{Workflows: make([]CreatedWorkflow, 0, len(defs))}}
		for _, d := range defs {
			out.Body.Workflows = append(out.Body.Workflows, toCreatedWorkflow(d))
		}
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "listWorkflows",
		Method:      http.MethodGet,
		Path:        "/v2/workflows",
		Summary:     "List workflows",
		Description: "Pages with marker (the id of the last workflow of the previous page) and limit; sorts with sort_keys and sort_dirs (comma-separated).",
		Tags:        []string{"Workflows"},
		Errors:      []int{http.StatusBadRequest},
	}, func(ctx context.Context, in *listWorkflowsInput) (*workflowListOutput, error) {
		o, err := in.listOpts(workflowSortKeys)
		if err != nil {
			return nil, err
		}
		addFilter(o.Filters, "name", in.Name)
		addFilter(o.Filters, "namespace", in.Namespace)
		addFilter(o.Filters, "scope", in.Scope)
		defs, err := s.b.ListWorkflows(ctx, o)
		if err != nil {
			return nil, s.fail("listing workflows", err)
		}
		out := &workflowListOutput{}
		out.Body.Workflows, out.Body.Next = page(&in.ListParams, o, "/v2/workflows", defs, toWorkflow,
			func(d *store.WorkflowDef) string { return d.ID })
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "getWorkflow",
		Method:      http.MethodGet,
		Path:        "/v2/workflows/{identifier}",
		Summary:     "Get a workflow by name or id",
		Tags:        []string{"Workflows"},
		Errors:      []int{http.StatusNotFound},
	}, func(ctx context.Context, in *getWorkflowInput) (*workflowOutput, error) {
		d, err := s.b.GetWorkflow(ctx, in.Identifier)
		if err != nil {
			return nil, s.fail("reading a workflow", annotate(err, "workflow", in.Identifier))
		}
		return &workflowOutput{Body: toWorkflow(d)}, nil
	})
}
