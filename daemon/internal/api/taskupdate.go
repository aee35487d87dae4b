package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// TaskUpdater is implemented by a Backend that reruns failed tasks, for
// Mistral's PUT /v2/tasks/{id} (python-mistralclient's task-rerun).
type TaskUpdater interface {
	RerunTask(ctx context.Context, id string, u TaskUpdate) (TaskRecord, error)
}

// TaskUpdate is the body of PUT /v2/tasks/{id}. State RUNNING reruns the
// failed task, as in Mistral; reset false (rerun only the failed items) is
// for with-items tasks. State SKIPPED skips it (later Mistral's on-skip).
// Name and workflow_name, when given, must match.
type TaskUpdate struct {
	State        string         `json:"state" enum:"RUNNING,SKIPPED" doc:"RUNNING reruns the task, SKIPPED skips it; it must be in ERROR."`
	Reset        *bool          `json:"reset,omitempty" doc:"Run every item again (true, the default) or only the failed ones of a with-items task (false)."`
	Env          map[string]any `json:"env,omitempty" doc:"Variables merged into the execution's environment before the rerun."`
	Name         string         `json:"name,omitempty" doc:"The task's name; refused when it does not match."`
	WorkflowName string         `json:"workflow_name,omitempty" doc:"The workflow's name; refused when it does not match."`
	ID           string         `json:"id,omitempty" doc:"Ignored: the path names the task."`
}

type updateTaskInput struct {
	ID   string `path:"id" doc:"Task execution id."`
	Body TaskUpdate
}

func (s *server) registerTaskUpdate(hapi huma.API) {
	x, ok := s.b.(TaskUpdater)
	if !ok {
		return
	}
	huma.Register(hapi, huma.Operation{
		OperationID: "rerunTask",
		Method:      http.MethodPut,
		Path:        "/v2/tasks/{id}",
		Summary:     "Rerun or skip a failed task",
		Description: "Runs a task in ERROR again, and its workflow execution with it, as Mistral's task-rerun does. " +
			"With reset false a with-items task runs only the items that failed. " +
			"State SKIPPED skips the task instead: it publishes publish-on-skip and the workflow follows its on-skip transitions.",
		Tags:   []string{"Tasks"},
		Errors: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict},
	}, func(ctx context.Context, in *updateTaskInput) (*taskOutput, error) {
		r, err := x.RerunTask(ctx, in.ID, in.Body)
		if err != nil {
			return nil, s.fail("rerunning a task", annotate(err, "task execution", in.ID))
		}
		return &taskOutput{Body: toTask(r.Task, r.WorkflowID, r.Namespace, true)}, nil
	})
}
