package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// Environments is implemented by a Backend that keeps environments, as
// Mistral's /v2/environments does. It is optional, like CronTriggers:
// without it the endpoints are not served.
type Environments interface {
	// CreateEnvironment stores a new environment; a taken name is
	// store.ErrConflict.
	CreateEnvironment(ctx context.Context, r EnvironmentRequest) (*store.Environment, error)
	// UpdateEnvironment changes the fields r sets of the environment
	// r.Name names (store.ErrNotFound when there is none) and keeps the
	// others, as Mistral's PUT does.
	UpdateEnvironment(ctx context.Context, r EnvironmentRequest) (*store.Environment, error)
	GetEnvironment(ctx context.Context, name string) (*store.Environment, error)
	ListEnvironments(ctx context.Context, o store.ListOpts) ([]*store.Environment, error)
	DeleteEnvironment(ctx context.Context, name string) error
}

// EnvironmentRequest is the body of POST or PUT /v2/environments decoded
// from the wire. A nil field was not given.
type EnvironmentRequest struct {
	Name        string
	Description *string
	// Variables is a JSON object, compacted, with its members in the order
	// the client sent them (Mistral shows them back in that order).
	Variables []byte
	Scope     *string
}

// EnvironmentBody is the body of POST and PUT /v2/environments. variables
// is a JSON object, or (as python-mistralclient sends it) a string holding
// one. Members other than these are refused, as Mistral refuses them.
type EnvironmentBody struct {
	_           struct{}        `additionalProperties:"true"`
	Name        string          `json:"name,omitempty" doc:"Environment name, unique (required); PUT finds the environment by it."`
	Description *string         `json:"description,omitempty"`
	Variables   json.RawMessage `json:"variables,omitempty" doc:"The variables: a JSON object, or a string holding one. Executions read them with env() and $.__env."`
	Scope       *string         `json:"scope,omitempty" doc:"'private' (default) or 'public'."`

	// members are the names the client sent, to refuse unknown ones.
	members []string
}

// UnmarshalJSON decodes the body and remembers which members it had.
func (b *EnvironmentBody) UnmarshalJSON(data []byte) error {
	type plain EnvironmentBody
	if err := json.Unmarshal(data, (*plain)(b)); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return err
	}
	b.members = b.members[:0]
	for k := range all {
		b.members = append(b.members, k)
	}
	sort.Strings(b.members)
	return nil
}

// Environment is an environment as Mistral's GET, PUT and list show it.
type Environment struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Description *string `json:"description" doc:"null when none was given."`
	Variables   *string `json:"variables" doc:"JSON-encoded object; null when none was given."`
	Scope       string  `json:"scope"`
	ProjectID   string  `json:"project_id"`
	CreatedAt   *string `json:"created_at"`
	UpdatedAt   *string `json:"updated_at" doc:"null until the first update."`
}

// CreatedEnvironment is an environment as Mistral's POST answers it: the
// members the client did not give, and updated_at, are left out.
type CreatedEnvironment struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Description *string `json:"description,omitempty"`
	Variables   *string `json:"variables,omitempty" doc:"JSON-encoded object."`
	Scope       string  `json:"scope"`
	ProjectID   string  `json:"project_id"`
	CreatedAt   *string `json:"created_at"`
}

// EnvironmentList is the body of GET /v2/environments.
type EnvironmentList struct {
	Environments []Environment `json:"environments"`
	Next         string        `json:"next,omitempty" doc:"URL of the next page, present when the page is full."`
}

func toCreatedEnvironment(e *store.Environment) CreatedEnvironment {
	return CreatedEnvironment{
		ID:          e.ID,
		Name:        e.Name,
		Description: optional(e.Description),
		Variables:   variablesText(e.Variables),
		Scope:       scopeOr(e.Scope),
		ProjectID:   defaultProject,
		CreatedAt:   wireTime(e.CreatedAt),
	}
}

// toEnvironment is an environment as GET shows it: as POST answers it,
// with updated_at.
func toEnvironment(e *store.Environment) Environment {
	c := toCreatedEnvironment(e)
	return Environment{
		ID: c.ID, Name: c.Name, Description: c.Description, Variables: c.Variables, Scope: c.Scope,
		ProjectID: c.ProjectID, CreatedAt: c.CreatedAt, UpdatedAt: wireTime(e.UpdatedAt),
	}
}

func variablesText(b []byte) *string {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	s := jsonText(b, "{}")
	return &s
}

type environmentInput struct{ Body EnvironmentBody }

type createdEnvironmentOutput struct{ Body CreatedEnvironment }

type environmentOutput struct{ Body Environment }

type environmentName struct {
	Name string `path:"name" doc:"Environment name."`
}

type listEnvironmentsInput struct {
	ListParams
	Name        string `query:"name" doc:"Only the environment with this name."`
	Description string `query:"description" doc:"Only environments with this description."`
	Scope       string `query:"scope" doc:"Only 'private' or only 'public' environments."`
}

type environmentListOutput struct{ Body EnvironmentList }

// environmentSortKeys are the fields a listing may be sorted by; updated_at,
// null until the first update, is not among them.
var environmentSortKeys = keySet("id", "name", "description", "scope", "created_at")

// registerEnvironments serves /v2/environments when the Backend keeps them.
func (s *server) registerEnvironments(hapi huma.API) {
	x, ok := s.b.(Environments)
	if !ok {
		return
	}
	huma.Register(hapi, huma.Operation{
		OperationID:   "createEnvironment",
		Method:        http.MethodPost,
		Path:          "/v2/environments",
		Summary:       "Create an environment",
		Description:   "An execution started with params {\"env\": \"NAME\"} gets a copy of the environment's variables, which its expressions read with env() and $.__env.",
		Tags:          []string{"Environments"},
		DefaultStatus: http.StatusCreated,
		MaxBodyBytes:  s.maxBody,
		Errors:        []int{http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge},
	}, func(ctx context.Context, in *environmentInput) (*createdEnvironmentOutput, error) {
		req, err := environmentRequest(&in.Body, "name", "description", "variables", "scope")
		if err != nil {
			return nil, err
		}
		e, err := x.CreateEnvironment(ctx, req)
		if err != nil {
			return nil, s.fail("creating an environment", annotate(err, "environment", req.Name))
		}
		return &createdEnvironmentOutput{Body: toCreatedEnvironment(e)}, nil
	})

	huma.Register(hapi, huma.Operation{
		OperationID:  "updateEnvironment",
		Method:       http.MethodPut,
		Path:         "/v2/environments",
		Summary:      "Update an environment",
		Description:  "The body names the environment and gives the members to change (description, variables, scope); the others keep their values. Executions that already started keep the variables they started with.",
		Tags:         []string{"Environments"},
		MaxBodyBytes: s.maxBody,
		Errors:       []int{http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge},
	}, func(ctx context.Context, in *environmentInput) (*environmentOutput, error) {
		req, err := environmentRequest(&in.Body, "description", "variables", "scope")
		if err != nil {
			return nil, err
		}
		e, err := x.UpdateEnvironment(ctx, req)
		if err != nil {
			return nil, s.fail("updating an environment", annotate(err, "environment", req.Name))
		}
		return &environmentOutput{Body: toEnvironment(e)}, nil
	})

	huma.Register(hapi, huma.Operation{
		OperationID: "listEnvironments",
		Method:      http.MethodGet,
		Path:        "/v2/environments",
		Summary:     "List environments",
		Description: "Pages with marker (the id of the last environment of the previous page) and limit; sorts with sort_keys and sort_dirs (comma-separated).",
		Tags:        []string{"Environments"},
		Errors:      []int{http.StatusBadRequest},
	}, func(ctx context.Context, in *listEnvironmentsInput) (*environmentListOutput, error) {
		o, err := in.listOpts(environmentSortKeys)
		if err != nil {
			return nil, err
		}
		addFilter(o.Filters, "name", in.Name)
		addFilter(o.Filters, "description", in.Description)
		addFilter(o.Filters, "scope", in.Scope)
		list, err := x.ListEnvironments(ctx, o)
		if err != nil {
			return nil, s.fail("listing environments", err)
		}
		out := &environmentListOutput{}
		out.Body.Environments, out.Body.Next = page(&in.ListParams, o, "/v2/environments", list, toEnvironment,
			func(e *store.Environment) string { return e.ID })
		return out, nil
	})

	huma.Register(hapi, huma.Operation{
		OperationID: "getEnvironment",
		Method:      http.MethodGet,
		Path:        "/v2/environments/{name}",
		Summary:     "Get an environment by name",
		Tags:        []string{"Environments"},
		Errors:      []int{http.StatusNotFound},
	}, func(ctx context.Context, in *environmentName) (*environmentOutput, error) {
		e, err := x.GetEnvironment(ctx, in.Name)
		if err != nil {
			return nil, s.fail("reading an environment", annotate(err, "environment", in.Name))
		}
		return &environmentOutput{Body: toEnvironment(e)}, nil
	})

	huma.Register(hapi, huma.Operation{
		OperationID:   "deleteEnvironment",
		Method:        http.MethodDelete,
		Path:          "/v2/environments/{name}",
		Summary:       "Delete an environment by name",
		Description:   "Executions that started with it keep their copy of its variables.",
		Tags:          []string{"Environments"},
		DefaultStatus: http.StatusNoContent,
		Errors:        []int{http.StatusNotFound},
	}, func(ctx context.Context, in *environmentName) (*struct{}, error) {
		if err := x.DeleteEnvironment(ctx, in.Name); err != nil {
			return nil, s.fail("deleting an environment", annotate(err, "environment", in.Name))
		}
		return nil, nil
	})
}

// environmentRequest checks the wire body: a name, only the members
// allowed (besides name), a known scope, variables that are an object.
func environmentRequest(b *EnvironmentBody, allowed ...string) (EnvironmentRequest, error) {
	req := EnvironmentRequest{Name: strings.TrimSpace(b.Name), Description: b.Description, Scope: b.Scope}
	if req.Name == "" {
		return req, badRequest("name is required: the name of the environment")
	}
	var unknown []string
	for _, m := range b.members {
		if m != "name" && !slices.Contains(allowed, m) {
			unknown = append(unknown, fmt.Sprintf("%q", m))
		}
	}
	if len(unknown) > 0 {
		return req, badRequest("unknown member(s) %s: an environment has only %s", strings.Join(unknown, ", "), strings.Join(append([]string{"name"}, allowed...), ", "))
	}
	if req.Scope != nil && *req.Scope != "private" && *req.Scope != "public" {
		return req, badRequest("scope: %q must be 'private' or 'public'", *req.Scope)
	}
	vars, err := objectText("variables", b.Variables)
	if err != nil {
		return req, err
	}
	req.Variables = vars
	return req, nil
}

// objectText is decodeObject for a value that is kept rather than used:
// the object's JSON text, compacted, members in the client's order. nil
// means not given (absent, null or "").
func objectText(field string, raw json.RawMessage) ([]byte, error) {
	m, err := decodeObject(field, raw)
	if err != nil || m == nil {
		return nil, err
	}
	raw = bytes.TrimSpace(raw)
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, badRequest("%s: %v", field, err)
		}
		raw = []byte(s)
	}
	var out bytes.Buffer
	if err := json.Compact(&out, raw); err != nil {
		return nil, badRequest("%s: %v", field, err)
	}
	return out.Bytes(), nil
}
