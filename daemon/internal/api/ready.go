package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// Readiness is implemented by a Backend that knows whether the components
// of its process are up. It is optional, like Executors: New serves
// GET /readyz only when the Backend has it. /healthz says the process is
// alive; /readyz says it can do its work, so a load balancer or an
// orchestrator sends traffic only to a process that can take it.
type Readiness interface {
	// ReadyChecks reports each component this process runs, in a stable
	// order. It must answer within a few seconds whatever is down, since
	// probes have short timeouts.
	ReadyChecks(ctx context.Context) []ReadyCheck
}

// ReadyCheck is one component of the process and whether it is up.
type ReadyCheck struct {
	// Name is the component: "nats", "store", "engine", "executor" or
	// "process" (the process is shutting down).
	Name  string `json:"name"`
	Ready bool   `json:"ready"`
	// Detail says why a component is not ready.
	Detail string `json:"detail,omitempty"`
}

type readyOutput struct {
	Body struct {
		Status string       `json:"status" doc:"\"ready\""`
		Checks []ReadyCheck `json:"checks"`
	}
}

// registerReady serves /readyz when the Backend is Readiness.
func (s *server) registerReady(hapi huma.API) {
	r, ok := s.b.(Readiness)
	if !ok {
		return
	}
	huma.Register(hapi, huma.Operation{
		OperationID: "ready",
		Method:      http.MethodGet,
		Path:        "/readyz",
		Summary:     "Readiness check",
		Description: "Answers 200 when every component of this process's roles is up: NATS connected; " +
			"the database answers a query (api and engine roles); the engine consumes results (engine role); " +
			"the executor host is registered (executor role). Otherwise 503 with a problem+json " +
			"whose detail and errors name each component that is not ready and why.",
		Tags:   []string{"Service"},
		Errors: []int{http.StatusServiceUnavailable},
	}, func(ctx context.Context, _ *struct{}) (*readyOutput, error) {
		checks := r.ReadyChecks(ctx)
		var down []error
		for _, c := range checks {
			if !c.Ready {
				down = append(down, &huma.ErrorDetail{Location: c.Name, Message: c.Detail})
			}
		}
		if len(down) > 0 {
			// The problem transformer folds the list into the detail:
			// "not ready: nats: not connected to NATS (reconnecting)".
			return nil, huma.Error503ServiceUnavailable("not ready", down...)
		}
		out := &readyOutput{}
		out.Body.Status = "ready"
		out.Body.Checks = checks
		if out.Body.Checks == nil {
			out.Body.Checks = []ReadyCheck{}
		}
		return out, nil
	})
}
