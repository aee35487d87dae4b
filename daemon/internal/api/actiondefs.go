package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// AdhocActions is implemented by a Backend that stores ad-hoc actions, as
// Mistral's POST, PUT and DELETE /v2/actions do. GET /v2/actions lists
// them after the actions of the executor hosts. It is optional, like
// Catalog.
type AdhocActions interface {
	// CreateActions parses a document of ad-hoc actions and stores every
	// one; a name taken is store.ErrConflict, a bad document a BadRequest
	// error naming the place.
	CreateActions(ctx context.Context, definition string) ([]*store.ActionDef, error)
	// UpdateActions replaces existing ad-hoc actions (store.ErrNotFound
	// when one does not exist); identifier, when not empty, names the one
	// action the document must define.
	UpdateActions(ctx context.Context, definition, identifier string) ([]*store.ActionDef, error)
	GetActionDef(ctx context.Context, identifier string) (*store.ActionDef, error)
	ListActionDefs(ctx context.Context) ([]*store.ActionDef, error)
	DeleteActionDef(ctx context.Context, identifier string) error
}

// CreatedAction is an ad-hoc action as Mistral's POST /v2/actions answers
// it: like GET, without updated_at.
type CreatedAction struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	IsSystem    bool     `json:"is_system"`
	Input       string   `json:"input"`
	Description *string  `json:"description"`
	Tags        []string `json:"tags"`
	Definition  string   `json:"definition"`
	Scope       string   `json:"scope"`
	ProjectID   string   `json:"project_id"`
	CreatedAt   *string  `json:"created_at"`
	Namespace   string   `json:"namespace"`
}

// UpdatedAction is an ad-hoc action as PUT /v2/actions answers it.
type UpdatedAction struct {
	CreatedAction
	UpdatedAt *string `json:"updated_at"`
}

// CreatedActionList is the body of POST /v2/actions.
type CreatedActionList struct {
	Actions []CreatedAction `json:"actions"`
}

// UpdatedActionList is the body of PUT /v2/actions.
type UpdatedActionList struct {
	Actions []UpdatedAction `json:"actions"`
}

type createActionsInput struct {
	Namespace string `query:"namespace" doc:"Namespace of the actions; only the default namespace (empty) is supported."`
	Scope     string `query:"scope" doc:"Accepted for compatibility ('private' or 'public')."`
	RawBody   []byte `contentType:"text/plain"`
}

type updateActionsInput struct {
	createActionsInput
}

type updateActionInput struct {
	Identifier string `path:"identifier" doc:"Name or id of the one ad-hoc action the document defines."`
	createActionsInput
}

type deleteActionInput struct {
	Identifier string `path:"identifier" doc:"Name or id of the ad-hoc action."`
	Namespace  string `query:"namespace" doc:"Only the default namespace (empty) is supported."`
}

type deleteActionInNamespaceInput struct {
	Identifier string `path:"identifier" doc:"Name or id of the ad-hoc action."`
	Namespace  string `path:"namespace" doc:"Only the default namespace (empty) is supported."`
}

type createdActionsOutput struct{ Body CreatedActionList }
type updatedActionsOutput struct{ Body UpdatedActionList }

func toCreatedAction(d *store.ActionDef) CreatedAction {
	return CreatedAction{
		ID: d.ID, Name: d.Name, Input: d.Input, Description: optional(d.Description), Tags: orEmpty(d.Tags),
		Definition: d.Definition, Scope: scopeOr(d.Scope), ProjectID: defaultProject, CreatedAt: wireTime(d.CreatedAt),
		Namespace: d.Namespace,
	}
}

// adhocAction is an ad-hoc action in the shape of GET /v2/actions/{name}.
// Mistral shows updated_at null until the first update.
func adhocAction(d *store.ActionDef) Action {
	c := toCreatedAction(d)
	a := Action{
		ID: c.ID, Name: c.Name, Input: c.Input, Description: c.Description, Tags: c.Tags,
		Definition: c.Definition, Scope: &c.Scope, ProjectID: &c.ProjectID, CreatedAt: c.CreatedAt,
		Namespace: c.Namespace,
	}
	if d.UpdatedAt.After(d.CreatedAt) {
		a.UpdatedAt = wireTime(d.UpdatedAt)
	}
	return a
}

// findAction answers GET /v2/actions/{name}: an action the executor hosts
// serve, or else an ad-hoc action by name or id.
func (s *server) findAction(ctx context.Context, name string) (*actionOutput, error) {
	if c, ok := s.b.(Catalog); ok {
		specs, err := c.Actions(ctx)
		if err != nil {
			return nil, s.fail("reading an action", err)
		}
		for _, a := range specs {
			if a.Name == name {
				return &actionOutput{Body: toAction(a)}, nil
			}
		}
	}
	if x, ok := s.b.(AdhocActions); ok {
		d, err := x.GetActionDef(ctx, name)
		if err == nil {
			return &actionOutput{Body: adhocAction(d)}, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, s.fail("reading an action", err)
		}
	}
	return nil, huma.Error404NotFound(fmt.Sprintf("action %q not found: no executor host serves it and no ad-hoc action has that name or id", name))
}

// listActions answers GET /v2/actions: the executor hosts' actions and
// the ad-hoc ones, by name.
func (s *server) listActions(ctx context.Context) ([]Action, error) {
	var out []Action
	if c, ok := s.b.(Catalog); ok {
		specs, err := c.Actions(ctx)
		if err != nil {
			return nil, s.fail("listing actions", err)
		}
		for _, a := range specs {
			out = append(out, toAction(a))
		}
	}
	if x, ok := s.b.(AdhocActions); ok {
		defs, err := x.ListActionDefs(ctx)
		if err != nil {
			return nil, s.fail("listing ad-hoc actions", err)
		}
		for _, d := range defs {
			out = append(out, adhocAction(d))
		}
	}
	if out == nil {
		out = []Action{}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *server) registerAdhocActions(hapi huma.API) {
	x, ok := s.b.(AdhocActions)
	if !ok {
		return
	}
	body := func(in *createActionsInput) (string, error) {
		if err := defaultNamespaceOnly(in.Namespace); err != nil {
			return "", err
		}
		if len(in.RawBody) == 0 {
			return "", badRequest("the request body is empty: send the ad-hoc actions' YAML document as text/plain")
		}
		return string(in.RawBody), nil
	}
	huma.Register(hapi, huma.Operation{
		OperationID:   "createActions",
		Method:        http.MethodPost,
		Path:          "/v2/actions",
		Summary:       "Create ad-hoc actions from a YAML document",
		Description:   "The body is a document of ad-hoc actions (text/plain, version '2.0'), each with base, base-input, input and output, as in Mistral. Nothing is stored unless every action is valid and new; a name an executor host serves is refused (409).",
		Tags:          []string{"Actions"},
		DefaultStatus: http.StatusCreated,
		MaxBodyBytes:  s.maxBody,
		Errors:        []int{http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge},
	}, func(ctx context.Context, in *createActionsInput) (*createdActionsOutput, error) {
		def, err := body(in)
		if err != nil {
			return nil, err
		}
		defs, err := x.CreateActions(ctx, def)
		if err != nil {
			return nil, s.fail("creating ad-hoc actions", err)
		}
		out := &createdActionsOutput{Body: CreatedActionList{Actions: make([]CreatedAction, 0, len(defs))}}
		for _, d := range defs {
			out.Body.Actions = append(out.Body.Actions, toCreatedAction(d))
		}
		return out, nil
	})
	update := func(ctx context.Context, in *createActionsInput, identifier string) (*updatedActionsOutput, error) {
		def, err := body(in)
		if err != nil {
			return nil, err
		}
		defs, err := x.UpdateActions(ctx, def, identifier)
		if err != nil {
			return nil, s.fail("updating ad-hoc actions", annotate(err, "action", identifier))
		}
		out := &updatedActionsOutput{Body: UpdatedActionList{Actions: make([]UpdatedAction, 0, len(defs))}}
		for _, d := range defs {
			out.Body.Actions = append(out.Body.Actions, UpdatedAction{CreatedAction: toCreatedAction(d), UpdatedAt: wireTime(d.UpdatedAt)})
		}
		return out, nil
	}
	updateOp := huma.Operation{
		Method:       http.MethodPut,
		Summary:      "Replace ad-hoc actions from a YAML document",
		Description:  "The body is a document of ad-hoc actions (text/plain). Every action it defines must exist (404 otherwise); each gets the new definition.",
		Tags:         []string{"Actions"},
		MaxBodyBytes: s.maxBody,
		Errors:       []int{http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge},
	}
	op := updateOp
	op.OperationID, op.Path = "updateActions", "/v2/actions"
	huma.Register(hapi, op, func(ctx context.Context, in *updateActionsInput) (*updatedActionsOutput, error) {
		return update(ctx, &in.createActionsInput, "")
	})
	op = updateOp
	op.OperationID, op.Path = "updateAction", "/v2/actions/{identifier}"
	op.Summary = "Replace one ad-hoc action"
	huma.Register(hapi, op, func(ctx context.Context, in *updateActionInput) (*updatedActionsOutput, error) {
		return update(ctx, &in.createActionsInput, in.Identifier)
	})

	del := func(ctx context.Context, identifier, namespace string) (*struct{}, error) {
		if err := defaultNamespaceOnly(namespace); err != nil {
			return nil, err
		}
		if err := x.DeleteActionDef(ctx, identifier); err != nil {
			return nil, s.fail("deleting an ad-hoc action", annotate(err, "action", identifier))
		}
		return nil, nil
	}
	delOp := huma.Operation{
		Method:        http.MethodDelete,
		Summary:       "Delete an ad-hoc action by name or id",
		Description:   "Only ad-hoc actions can be deleted; the actions of the executor hosts are not found here (404), as in Mistral.",
		Tags:          []string{"Actions"},
		DefaultStatus: http.StatusNoContent,
		Errors:        []int{http.StatusBadRequest, http.StatusNotFound},
	}
	op = delOp
	op.OperationID, op.Path = "deleteAction", "/v2/actions/{identifier}"
	huma.Register(hapi, op, func(ctx context.Context, in *deleteActionInput) (*struct{}, error) {
		return del(ctx, in.Identifier, in.Namespace)
	})
	// python-mistralclient's action-delete asks for
	// /v2/actions/{identifier}/{namespace}, with a trailing slash in the
	// default namespace, as its action-get does.
	op = delOp
	op.OperationID, op.Path = "deleteActionDefaultNamespace", "/v2/actions/{identifier}/"
	huma.Register(hapi, op, func(ctx context.Context, in *deleteActionInput) (*struct{}, error) {
		return del(ctx, in.Identifier, in.Namespace)
	})
	op = delOp
	op.OperationID, op.Path = "deleteActionInNamespace", "/v2/actions/{identifier}/{namespace}"
	huma.Register(hapi, op, func(ctx context.Context, in *deleteActionInNamespaceInput) (*struct{}, error) {
		return del(ctx, in.Identifier, in.Namespace)
	})
}

type listActionsInput struct {
	ListParams
	Name string `query:"name" doc:"Only the action of this name."`
}

// actionSortKeys are the fields GET /v2/actions may be sorted by.
var actionSortKeys = keySet("name", "id", "created_at", "updated_at", "description", "input", "scope")

// pageActions sorts, filters and pages the action list in memory, as
// Mistral does with its action providers' answers; the marker is an
// action's name.
func pageActions(list []Action, in *listActionsInput) (*actionListOutput, error) {
	o, err := in.listOpts(actionSortKeys)
	if err != nil {
		return nil, err
	}
	if in.Name != "" {
		kept := list[:0]
		for _, a := range list {
			if a.Name == in.Name {
				kept = append(kept, a)
			}
		}
		list = kept
	}
	keys, dirs := append(o.SortKeys, "name"), append(o.SortDirs, "asc")
	field := func(a Action, k string) string {
		switch k {
		case "id":
			return a.ID
		case "created_at":
			return deref(a.CreatedAt)
		case "updated_at":
			return deref(a.UpdatedAt)
		case "description":
			return deref(a.Description)
		case "input":
			return a.Input
		case "scope":
			return deref(a.Scope)
		}
		return a.Name
	}
	sort.SliceStable(list, func(i, j int) bool {
		for n, k := range keys {
			x, y := field(list[i], k), field(list[j], k)
			if x != y {
				return (x < y) != (dirs[n] == "desc")
			}
		}
		return false
	})
	if o.Marker != "" {
		at := -1
		for i, a := range list {
			if a.Name == o.Marker {
				at = i
			}
		}
		if at < 0 {
			return nil, huma.Error404NotFound(fmt.Sprintf("marker %q: no action has that name", o.Marker))
		}
		list = list[at+1:]
	}
	out := &actionListOutput{}
	if o.Limit > 0 && len(list) > o.Limit {
		list = list[:o.Limit]
	}
	out.Body.Actions = list
	if n := len(list); o.Limit > 0 && n == o.Limit {
		out.Body.Next = in.next("/v2/actions", list[n-1].Name)
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
