package api

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// Catalog is implemented by a Backend that knows the plugins and actions
// of the executor hosts. It is optional: New serves /v2/plugins and
// /v2/actions only when the Backend has it, so a backend without executor
// hosts (a test fake) needs nothing more.
type Catalog interface {
	// Plugins lists every plugin of every live executor host, one entry per
	// host and plugin.
	Plugins(ctx context.Context) ([]PluginStatus, error)
	// Actions lists every action some live executor host serves, built-in
	// and plugin, once each, sorted by name.
	Actions(ctx context.Context) ([]ActionSpec, error)
}

// PluginStatus is one plugin as one executor host runs it.
type PluginStatus struct {
	Name       string `json:"name"`
	Version    string `json:"version"`
	Protocol   string `json:"protocol"`
	SDKVersion string `json:"sdk_version"`
	SHA256     string `json:"sha256"`
	// Health is "ok", "restarting" or "refused" (the binary does not match
	// its catalog sha256 and is not run).
	Health  string   `json:"health"`
	Actions []string `json:"actions"`
	// Executor, Host and Target name the executor host.
	Executor string `json:"executor"`
	Host     string `json:"host"`
	Target   string `json:"target"`
}

// ActionSpec is an action as a Catalog describes it.
type ActionSpec struct {
	Name        string
	Description string
	// InputSchema is the JSON Schema of the input object; nil when the
	// action declares none.
	InputSchema json.RawMessage
	// Plugin serves the action ("builtin" for the in-process ones).
	Plugin string
}

// Action is one entry of GET /v2/actions in Mistral's shape, plus the
// input's JSON Schema and the plugin that serves it.
type Action struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	IsSystem bool   `json:"is_system"`
	// Input lists the parameters as Mistral does: `url, method="GET"`;
	// required ones bare, optional ones with their default.
	Input       string          `json:"input"`
	Description *string         `json:"description"`
	Tags        []string        `json:"tags"`
	Definition  string          `json:"definition"`
	Scope       *string         `json:"scope"`
	ProjectID   *string         `json:"project_id"`
	CreatedAt   *string         `json:"created_at"`
	UpdatedAt   *string         `json:"updated_at"`
	Namespace   string          `json:"namespace"`
	InputSchema json.RawMessage `json:"input_schema,omitempty"`
	// Plugin serves the action; ad-hoc actions have none.
	Plugin string `json:"plugin,omitempty"`
}

// ActionList is GET /v2/actions.
type ActionList struct {
	Actions []Action `json:"actions"`
	Next    string   `json:"next,omitempty" doc:"URL of the next page, present when the page is full."`
}

// PluginList is GET /v2/plugins.
type PluginList struct {
	Plugins []PluginStatus `json:"plugins"`
}

type pluginListOutput struct{ Body PluginList }
type actionListOutput struct{ Body ActionList }
type actionOutput struct{ Body Action }
type actionGetInput struct {
	Name string `path:"name" doc:"action name"`
}

// registerCatalog serves /v2/plugins when the Backend is a Catalog, and
// GET /v2/actions when it is a Catalog or stores ad-hoc actions.
func (s *server) registerCatalog(hapi huma.API) {
	c, ok := s.b.(Catalog)
	if _, adhoc := s.b.(AdhocActions); !ok && !adhoc {
		return
	}
	if ok {
		s.registerPlugins(hapi, c)
	}
	huma.Register(hapi, huma.Operation{
		OperationID: "listActions",
		Method:      http.MethodGet,
		Path:        "/v2/actions",
		Summary:     "List every action: those the executor hosts serve, then the ad-hoc ones",
		Description: "Built-in, plugin and ad-hoc actions in Mistral's shape; input lists the parameters as Mistral does, input_schema gives their JSON Schema. Sorted by name unless sort_keys says otherwise; marker is the name of the last action of the previous page.",
		Errors:      []int{http.StatusBadRequest},
		Tags:        []string{"Actions"},
	}, func(ctx context.Context, in *listActionsInput) (*actionListOutput, error) {
		list, err := s.listActions(ctx)
		if err != nil {
			return nil, err
		}
		return pageActions(list, in)
	})
	huma.Register(hapi, huma.Operation{
		OperationID: "getAction",
		Method:      http.MethodGet,
		Path:        "/v2/actions/{name}",
		Summary:     "Show one action",
		Description: "An action the executor hosts serve, or an ad-hoc action by name or id.",
		Tags:        []string{"Actions"},
		Errors:      []int{http.StatusNotFound},
	}, func(ctx context.Context, in *actionGetInput) (*actionOutput, error) {
		return s.findAction(ctx, in.Name)
	})
}

func (s *server) registerPlugins(hapi huma.API, c Catalog) {
	huma.Register(hapi, huma.Operation{
		OperationID: "listPlugins",
		Method:      http.MethodGet,
		Path:        "/v2/plugins",
		Summary:     "List the plugins of every executor host",
		Description: "One entry per executor host and plugin: name, version, protocol, sha256, health and actions (a Sirocco extension of the Mistral API).",
		Tags:        []string{"Plugins"},
	}, func(ctx context.Context, _ *struct{}) (*pluginListOutput, error) {
		ps, err := c.Plugins(ctx)
		if err != nil {
			return nil, s.fail("listing plugins", err)
		}
		if ps == nil {
			ps = []PluginStatus{}
		}
		return &pluginListOutput{Body: PluginList{Plugins: ps}}, nil
	})
}

func toAction(a ActionSpec) Action {
	empty := ""
	return Action{
		ID: a.Name, Name: a.Name, Input: MistralInput(a.InputSchema), Description: &a.Description,
		CreatedAt: &empty, UpdatedAt: &empty, InputSchema: a.InputSchema, Plugin: a.Plugin,
	}
}

// MistralInput renders an input JSON Schema as Mistral's parameter string:
// required parameters first, in the schema's order, then the optional ones
// by name, each with its default as JSON (null when it has none), e.g.
// `url, method="GET", params=null`.
func MistralInput(schema json.RawMessage) string {
	var s struct {
		Properties map[string]struct {
			Default *json.RawMessage `json:"default"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	if len(schema) == 0 || json.Unmarshal(schema, &s) != nil {
		return ""
	}
	var parts []string
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
		parts = append(parts, r)
	}
	var optional []string
	for name := range s.Properties {
		if !required[name] {
			optional = append(optional, name)
		}
	}
	sort.Strings(optional)
	for _, name := range optional {
		def := "null"
		if d := s.Properties[name].Default; d != nil {
			def = string(*d)
		}
		parts = append(parts, name+"="+def)
	}
	return strings.Join(parts, ", ")
}
