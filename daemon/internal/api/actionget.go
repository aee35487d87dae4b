package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// python-mistralclient's action-get asks for /v2/actions/{name}/{namespace}
// and, in the default namespace, for /v2/actions/{name}/ with a trailing
// slash, which the route /v2/actions/{name} does not match. Mistral
// answers both; so does this route (the default namespace only).

type actionInNamespaceInput struct {
	Name      string `path:"name" doc:"Action name, e.g. std.echo."`
	Namespace string `path:"namespace" doc:"Namespace; only the default namespace (empty) is supported."`
}

type actionGetSlashInput struct {
	Name string `path:"name" doc:"Action name, e.g. std.echo."`
}

// registerActionGet serves GET /v2/actions/{name}/ and
// /v2/actions/{name}/{namespace} when the Backend is a Catalog or stores
// ad-hoc actions.
func (s *server) registerActionGet(hapi huma.API) {
	_, catalog := s.b.(Catalog)
	if _, adhoc := s.b.(AdhocActions); !catalog && !adhoc {
		return
	}
	huma.Register(hapi, huma.Operation{
		OperationID: "getActionDefaultNamespace",
		Method:      http.MethodGet,
		Path:        "/v2/actions/{name}/",
		Summary:     "Show one action of the default namespace",
		Description: "The form python-mistralclient's action-get uses; the same answer as /v2/actions/{name}.",
		Tags:        []string{"Actions"},
		Errors:      []int{http.StatusNotFound},
	}, func(ctx context.Context, in *actionGetSlashInput) (*actionOutput, error) {
		return s.findAction(ctx, in.Name)
	})
	huma.Register(hapi, huma.Operation{
		OperationID: "getActionInNamespace",
		Method:      http.MethodGet,
		Path:        "/v2/actions/{name}/{namespace}",
		Summary:     "Show one action of a namespace",
		Description: "Only the default namespace exists in Sirocco: any other is 400.",
		Tags:        []string{"Actions"},
		Errors:      []int{http.StatusBadRequest, http.StatusNotFound},
	}, func(ctx context.Context, in *actionInNamespaceInput) (*actionOutput, error) {
		if err := defaultNamespaceOnly(in.Namespace); err != nil {
			return nil, err
		}
		return s.findAction(ctx, in.Name)
	})
}
