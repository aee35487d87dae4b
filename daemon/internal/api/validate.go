package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// Validator is what the validate endpoints need from the backend. It is
// optional: a Backend that also implements it (the engine does) serves
// POST /v2/{workflows,workbooks,actions}/validate; otherwise those answer
// 501. Each method checks a whole definition exactly as creating it would
// and stores nothing. An invalid definition is an error with a method
// BadRequest() bool returning true, whose text names every problem and
// its place; any other error is the server's.
type Validator interface {
	ValidateWorkflows(ctx context.Context, definition string) error
	ValidateWorkbook(ctx context.Context, definition string) error
	ValidateActions(ctx context.Context, definition string) error
}

// Validation is Mistral's answer to a validate request: {"valid": true},
// or {"valid": false, "error": "..."}.
type Validation struct {
	Valid bool   `json:"valid"`
	Error string `json:"error,omitempty" doc:"Every problem found, one per line, each with its line and column, workflow and task."`
}

type validateInput struct {
	RawBody []byte `contentType:"text/plain"`
}

type validateOutput struct {
	Body Validation
}

func (s *server) registerValidate(api huma.API) {
	for _, ep := range []struct {
		id, path, what string
		call           func(Validator, context.Context, string) error
	}{
		{"validateWorkflows", "/v2/workflows/validate", "a workflow document", Validator.ValidateWorkflows},
		{"validateWorkbook", "/v2/workbooks/validate", "a workbook", Validator.ValidateWorkbook},
		{"validateActions", "/v2/actions/validate", "a document of ad-hoc actions", Validator.ValidateActions},
	} {
		huma.Register(api, huma.Operation{
			OperationID: ep.id,
			Method:      http.MethodPost,
			Path:        ep.path,
			Summary:     "Validate " + ep.what,
			Description: "The body is " + ep.what + " (YAML, sent as text/plain). Answers 200 with {\"valid\": true}, " +
				"or {\"valid\": false, \"error\": \"...\"} naming every problem with its line and column, as Mistral's endpoint does. Nothing is stored.",
			Tags:         []string{"Validation"},
			MaxBodyBytes: s.maxBody,
			Errors:       []int{http.StatusRequestEntityTooLarge, http.StatusNotImplemented},
		}, func(ctx context.Context, in *validateInput) (*validateOutput, error) {
			v, ok := s.b.(Validator)
			if !ok {
				return nil, huma.Error501NotImplemented("this server does not validate definitions")
			}
			out := &validateOutput{Body: Validation{Valid: true}}
			err := ep.call(v, ctx, string(in.RawBody))
			var br badRequester
			switch {
			case err == nil:
			case errors.As(err, &br) && br.BadRequest():
				out.Body = Validation{Valid: false, Error: err.Error()}
			default:
				return nil, s.fail("validating "+ep.what, err)
			}
			return out, nil
		})
	}
}
