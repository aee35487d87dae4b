package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// Executors is implemented by a Backend that can see the executor hosts'
// registry. It is optional, like Catalog.
type Executors interface {
	// ListExecutors lists the live executor hosts, sorted by id.
	ListExecutors(ctx context.Context) ([]Executor, error)
}

// Executor is one live executor host, as GET /v2/executors shows it (a
// Sirocco extension of the Mistral API).
type Executor struct {
	ID        string           `json:"id" doc:"unique per executor host process"`
	Host      string           `json:"host" doc:"host name of the machine"`
	Target    string           `json:"target" doc:"executor pool the host serves (a task's target)"`
	Capacity  int              `json:"capacity" doc:"actions the host runs at once per plugin"`
	Running   int              `json:"running" doc:"actions running at the last refresh"`
	Plugins   []ExecutorPlugin `json:"plugins"`
	StartedAt string           `json:"started_at"`
	SeenAt    string           `json:"seen_at" doc:"last refresh; a host not seen for 15 s is gone"`
}

// ExecutorPlugin is one plugin of an executor host.
type ExecutorPlugin struct {
	Name    string   `json:"name"`
	Version string   `json:"version"`
	Health  string   `json:"health,omitempty"`
	Actions []string `json:"actions"`
}

// ExecutorList is GET /v2/executors.
type ExecutorList struct {
	Executors []Executor `json:"executors"`
}

type executorListOutput struct{ Body ExecutorList }

// registerExecutors serves /v2/executors when the Backend is Executors.
func (s *server) registerExecutors(hapi huma.API) {
	x, ok := s.b.(Executors)
	if !ok {
		return
	}
	huma.Register(hapi, huma.Operation{
		OperationID: "listExecutors",
		Method:      http.MethodGet,
		Path:        "/v2/executors",
		Summary:     "List the live executor hosts",
		Description: "Each host with its pool (target), capacity, running actions and plugins, from the registry the hosts refresh every few seconds.",
		Tags:        []string{"Executors"},
	}, func(ctx context.Context, _ *struct{}) (*executorListOutput, error) {
		list, err := x.ListExecutors(ctx)
		if err != nil {
			return nil, s.fail("listing executors", err)
		}
		if list == nil {
			list = []Executor{}
		}
		return &executorListOutput{Body: ExecutorList{Executors: list}}, nil
	})
}
