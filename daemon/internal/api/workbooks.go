package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// Workbooks is implemented by a Backend that keeps workbooks, as
// Mistral's /v2/workbooks does. It is optional: without it the endpoints
// (but for /v2/workbooks/validate) are not served.
type Workbooks interface {
	// CreateWorkbook parses a workbook and stores it with the workflows
	// and ad-hoc actions it defines, named "<workbook>.<name>"; those
	// that exist already are replaced, as Mistral does. A taken workbook
	// name is store.ErrConflict; an invalid document a BadRequest error.
	CreateWorkbook(ctx context.Context, definition, scope string) (*store.Workbook, error)
	// UpdateWorkbook replaces the workbook the document names
	// (store.ErrNotFound when there is none) and creates or replaces its
	// workflows and actions.
	UpdateWorkbook(ctx context.Context, definition, scope string) (*store.Workbook, error)
	GetWorkbook(ctx context.Context, name string) (*store.Workbook, error)
	ListWorkbooks(ctx context.Context, o store.ListOpts) ([]*store.Workbook, error)
	// DeleteWorkbook deletes a workbook by name; as in Mistral, the
	// workflows and actions it defined stay.
	DeleteWorkbook(ctx context.Context, name string) error
}

// Workbook is a workbook as Mistral's GET, PUT and list show it.
type Workbook struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Namespace  string   `json:"namespace" doc:"Namespace; empty is the default namespace."`
	Definition string   `json:"definition" doc:"The workbook document, verbatim."`
	Tags       []string `json:"tags"`
	Scope      string   `json:"scope" doc:"'private' or 'public'."`
	ProjectID  string   `json:"project_id"`
	CreatedAt  *string  `json:"created_at"`
	UpdatedAt  *string  `json:"updated_at" doc:"null until the workbook changes."`
}

// CreatedWorkbook is a workbook as Mistral's POST answers it: without
// updated_at.
type CreatedWorkbook struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Namespace  string   `json:"namespace"`
	Definition string   `json:"definition"`
	Tags       []string `json:"tags"`
	Scope      string   `json:"scope"`
	ProjectID  string   `json:"project_id"`
	CreatedAt  *string  `json:"created_at"`
}

// WorkbookList is the body of GET /v2/workbooks.
type WorkbookList struct {
	Workbooks []Workbook `json:"workbooks"`
	Next      string     `json:"next,omitempty" doc:"URL of the next page, present when the page is full."`
}

func toCreatedWorkbook(w *store.Workbook) CreatedWorkbook {
	return CreatedWorkbook{
		ID:         w.ID,
		Name:       w.Name,
		Namespace:  w.Namespace,
		Definition: w.Definition,
		Tags:       orEmpty(w.Tags),
		Scope:      scopeOr(w.Scope),
		ProjectID:  defaultProject,
		CreatedAt:  wireTime(w.CreatedAt),
	}
}

func toWorkbook(w *store.Workbook) Workbook {
	c := toCreatedWorkbook(w)
	return Workbook{
		ID: c.ID, Name: c.Name, Namespace: c.Namespace, Definition: c.Definition, Tags: c.Tags,
		Scope: c.Scope, ProjectID: c.ProjectID, CreatedAt: c.CreatedAt, UpdatedAt: wireTime(w.UpdatedAt),
	}
}

type workbookDocumentInput struct {
	Namespace string `query:"namespace" doc:"Namespace of the workbook; only the default namespace (empty) is supported."`
	Scope     string `query:"scope" doc:"'private' (default) or 'public'."`
	RawBody   []byte `contentType:"text/plain"`
}

// scope checks the scope parameter as Mistral does; absent is private.
func (in *workbookDocumentInput) scope() (string, error) {
	switch in.Scope {
	case "":
		return "private", nil
	case "private", "public":
		return in.Scope, nil
	}
	return "", badRequest("scope: %q must be 'private' or 'public'", in.Scope)
}

type createdWorkbookOutput struct{ Body CreatedWorkbook }

type workbookOutput struct{ Body Workbook }

type workbookName struct {
	Name      string `path:"name" doc:"Workbook name."`
	Namespace string `query:"namespace" doc:"Namespace of the workbook; only the default namespace (empty) is supported."`
}

type listWorkbooksInput struct {
	ListParams
	Name      string `query:"name" doc:"Only the workbook with this name."`
	Namespace string `query:"namespace" doc:"Only workbooks of this namespace."`
	Scope     string `query:"scope" doc:"Only 'private' or only 'public' workbooks."`
}

type workbookListOutput struct{ Body WorkbookList }

// workbookSortKeys are the fields a listing may be sorted by; updated_at,
// null until the first change, is not among them.
var workbookSortKeys = keySet("id", "name", "namespace", "scope", "created_at")

// registerWorkbooks serves /v2/workbooks when the Backend keeps them.
func (s *server) registerWorkbooks(hapi huma.API) {
	x, ok := s.b.(Workbooks)
	if !ok {
		return
	}
	huma.Register(hapi, huma.Operation{
		OperationID:   "createWorkbook",
		Method:        http.MethodPost,
		Path:          "/v2/workbooks",
		Summary:       "Create a workbook from a YAML document",
		Description:   "The body is a workbook (YAML, sent as text/plain as Mistral's clients do). Its workflows and ad-hoc actions are stored as \"<workbook>.<name>\" and replace any of that name; POST /v2/executions with workflow_name \"<workbook>.<workflow>\" runs one. A syntax or validation error names the line.",
		Tags:          []string{"Workbooks"},
		DefaultStatus: http.StatusCreated,
		MaxBodyBytes:  s.maxBody,
		Errors:        []int{http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge},
	}, func(ctx context.Context, in *workbookDocumentInput) (*createdWorkbookOutput, error) {
		scope, err := checkWorkbookDocument(in)
		if err != nil {
			return nil, err
		}
		w, err := x.CreateWorkbook(ctx, string(in.RawBody), scope)
		if err != nil {
			return nil, s.fail("creating a workbook", err)
		}
		return &createdWorkbookOutput{Body: toCreatedWorkbook(w)}, nil
	})

	huma.Register(hapi, huma.Operation{
		OperationID:  "updateWorkbook",
		Method:       http.MethodPut,
		Path:         "/v2/workbooks",
		Summary:      "Replace a workbook from a YAML document",
		Description:  "The workbook the document names must exist. Its workflows and ad-hoc actions are created or replaced; as in Mistral, those the new document no longer defines stay. Running executions keep the definition they started with.",
		Tags:         []string{"Workbooks"},
		MaxBodyBytes: s.maxBody,
		Errors:       []int{http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge},
	}, func(ctx context.Context, in *workbookDocumentInput) (*workbookOutput, error) {
		scope, err := checkWorkbookDocument(in)
		if err != nil {
			return nil, err
		}
		w, err := x.UpdateWorkbook(ctx, string(in.RawBody), scope)
		if err != nil {
			return nil, s.fail("updating a workbook", err)
		}
		return &workbookOutput{Body: toWorkbook(w)}, nil
	})

	huma.Register(hapi, huma.Operation{
		OperationID: "listWorkbooks",
		Method:      http.MethodGet,
		Path:        "/v2/workbooks",
		Summary:     "List workbooks",
		Description: "Pages with marker (the id of the last workbook of the previous page) and limit; sorts with sort_keys and sort_dirs (comma-separated).",
		Tags:        []string{"Workbooks"},
		Errors:      []int{http.StatusBadRequest},
	}, func(ctx context.Context, in *listWorkbooksInput) (*workbookListOutput, error) {
		o, err := in.listOpts(workbookSortKeys)
		if err != nil {
			return nil, err
		}
		addFilter(o.Filters, "name", in.Name)
		addFilter(o.Filters, "namespace", in.Namespace)
		addFilter(o.Filters, "scope", in.Scope)
		list, err := x.ListWorkbooks(ctx, o)
		if err != nil {
			return nil, s.fail("listing workbooks", err)
		}
		out := &workbookListOutput{}
		out.Body.Workbooks, out.Body.Next = page(&in.ListParams, o, "/v2/workbooks", list, toWorkbook,
			func(w *store.Workbook) string { return w.ID })
		return out, nil
	})

	huma.Register(hapi, huma.Operation{
		OperationID: "getWorkbook",
		Method:      http.MethodGet,
		Path:        "/v2/workbooks/{name}",
		Summary:     "Get a workbook by name",
		Tags:        []string{"Workbooks"},
		Errors:      []int{http.StatusBadRequest, http.StatusNotFound},
	}, func(ctx context.Context, in *workbookName) (*workbookOutput, error) {
		if err := defaultNamespaceOnly(in.Namespace); err != nil {
			return nil, err
		}
		w, err := x.GetWorkbook(ctx, in.Name)
		if err != nil {
			return nil, s.fail("reading a workbook", annotate(err, "workbook", in.Name))
		}
		return &workbookOutput{Body: toWorkbook(w)}, nil
	})

	huma.Register(hapi, huma.Operation{
		OperationID:   "deleteWorkbook",
		Method:        http.MethodDelete,
		Path:          "/v2/workbooks/{name}",
		Summary:       "Delete a workbook by name",
		Description:   "As in Mistral, the workflows and ad-hoc actions the workbook defined stay; delete them with DELETE /v2/workflows/{name} and /v2/actions/{name}.",
		Tags:          []string{"Workbooks"},
		DefaultStatus: http.StatusNoContent,
		Errors:        []int{http.StatusBadRequest, http.StatusNotFound},
	}, func(ctx context.Context, in *workbookName) (*struct{}, error) {
		if err := defaultNamespaceOnly(in.Namespace); err != nil {
			return nil, err
		}
		if err := x.DeleteWorkbook(ctx, in.Name); err != nil {
			return nil, s.fail("deleting a workbook", annotate(err, "workbook", in.Name))
		}
		return nil, nil
	})
}

// checkWorkbookDocument checks what POST and PUT share: the default
// namespace, a known scope, a body.
func checkWorkbookDocument(in *workbookDocumentInput) (string, error) {
	if err := defaultNamespaceOnly(in.Namespace); err != nil {
		return "", err
	}
	scope, err := in.scope()
	if err != nil {
		return "", err
	}
	if len(in.RawBody) == 0 {
		return "", badRequest("the request body is empty: send the workbook YAML document as text/plain")
	}
	return scope, nil
}
