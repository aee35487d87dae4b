package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// CronTriggers is implemented by a Backend that runs cron triggers. It is
// optional, like Executors: without it /v2/cron_triggers is not served.
//
// Errors follow Backend's rules; a request that cannot become a trigger
// (bad pattern, unknown workflow, a first time in the past, input the
// workflow does not take) is a BadRequest error whose text names the field.
type CronTriggers interface {
	CreateCronTrigger(ctx context.Context, r CronTriggerRequest) (*store.CronTrigger, error)
	// GetCronTrigger finds a trigger by name or id.
	GetCronTrigger(ctx context.Context, identifier string) (*store.CronTrigger, error)
	ListCronTriggers(ctx context.Context, o store.ListOpts) ([]*store.CronTrigger, error)
	// DeleteCronTrigger deletes a trigger by name or id, with its next tick.
	DeleteCronTrigger(ctx context.Context, identifier string) error
}

// CronTriggerRequest is POST /v2/cron_triggers decoded from the wire.
// Exactly one of WorkflowName and WorkflowID is usually set (WorkflowName
// wins, as in Mistral). Nil FirstExecutionTime and RemainingExecutions mean
// not given.
type CronTriggerRequest struct {
	Name, Pattern, WorkflowName, WorkflowID string
	WorkflowInput, WorkflowParams           map[string]any
	FirstExecutionTime                      *time.Time // UTC, minute precision
	RemainingExecutions                     *int
}

// FirstTimeFormat is how Mistral reads first_execution_time
// (strptime '%Y-%m-%d %H:%M', UTC).
const FirstTimeFormat = "2006-01-02 15:04"

// CronTriggerBody is the body of POST /v2/cron_triggers as
// python-mistralclient sends it: workflow_input and workflow_params are
// JSON-encoded strings (objects are accepted too).
type CronTriggerBody struct {
	_                   struct{}        `additionalProperties:"true"`
	Name                string          `json:"name,omitempty" doc:"Trigger name, unique (required)."`
	Pattern             string          `json:"pattern,omitempty" doc:"5-field cron pattern, e.g. '*/5 * * * *' (UTC). Optional when first_execution_time is given."`
	WorkflowName        string          `json:"workflow_name,omitempty" doc:"Workflow to start (or give workflow_id)."`
	WorkflowID          string          `json:"workflow_id,omitempty" doc:"Id of the workflow to start, when workflow_name is absent."`
	WorkflowInput       json.RawMessage `json:"workflow_input,omitempty" doc:"Input of each execution: a JSON object, or a string holding one."`
	WorkflowParams      json.RawMessage `json:"workflow_params,omitempty" doc:"Params of each execution (env, ...): a JSON object, or a string holding one."`
	FirstExecutionTime  string          `json:"first_execution_time,omitempty" doc:"First run, UTC, 'YYYY-MM-DD HH:MM', at least a minute ahead; without a pattern the trigger runs once then."`
	RemainingExecutions *int            `json:"remaining_executions,omitempty" doc:"Number of runs; the trigger is deleted after the last. Absent means no limit."`
}

// CronTrigger is a cron trigger as Mistral's POST /v2/cron_triggers
// answers it (without updated_at); GET shows CronTriggerDetail.
type CronTrigger struct {
	ID                  string  `json:"id"`
	Name                string  `json:"name"`
	WorkflowName        string  `json:"workflow_name"`
	WorkflowID          string  `json:"workflow_id"`
	WorkflowInput       string  `json:"workflow_input" doc:"JSON-encoded object."`
	WorkflowParams      string  `json:"workflow_params" doc:"JSON-encoded object."`
	ProjectID           string  `json:"project_id"`
	Scope               string  `json:"scope"`
	Pattern             string  `json:"pattern"`
	RemainingExecutions *int    `json:"remaining_executions" doc:"Runs left; null means no limit."`
	FirstExecutionTime  *string `json:"first_execution_time"`
	NextExecutionTime   *string `json:"next_execution_time"`
	CreatedAt           *string `json:"created_at"`
}

// CronTriggerDetail is a cron trigger as Mistral's GET shows it: with
// updated_at, null until the trigger first ticks.
type CronTriggerDetail struct {
	CronTrigger
	UpdatedAt *string `json:"updated_at"`
}

// CronTriggerList is the body of GET /v2/cron_triggers.
type CronTriggerList struct {
	CronTriggers []CronTriggerDetail `json:"cron_triggers"`
	Next         string              `json:"next,omitempty" doc:"URL of the next page, present when the page is full."`
}

func toCronTrigger(c *store.CronTrigger) CronTrigger {
	return CronTrigger{
		ID:                  c.ID,
		Name:                c.Name,
		WorkflowName:        c.WorkflowName,
		WorkflowID:          c.WorkflowID,
		WorkflowInput:       jsonText(c.WorkflowInput, "{}"),
		WorkflowParams:      jsonText(c.WorkflowParams, "{}"),
		ProjectID:           defaultProject,
		Scope:               scopeOr(c.Scope),
		Pattern:             c.Pattern,
		RemainingExecutions: c.RemainingExecutions,
		FirstExecutionTime:  wireTime(c.FirstExecutionTime),
		NextExecutionTime:   wireTime(c.NextExecutionTime),
		CreatedAt:           wireTime(c.CreatedAt),
	}
}

func toCronTriggerDetail(c *store.CronTrigger) CronTriggerDetail {
	return CronTriggerDetail{CronTrigger: toCronTrigger(c), UpdatedAt: wireTime(c.UpdatedAt)}
}

type createCronTriggerInput struct{ Body CronTriggerBody }

type cronTriggerOutput struct{ Body CronTrigger }

type cronTriggerDetailOutput struct{ Body CronTriggerDetail }

type cronTriggerIdent struct {
	Identifier string `path:"identifier" doc:"Trigger name or id."`
}

type listCronTriggersInput struct {
	ListParams
	Name         string `query:"name" doc:"Only the trigger with this name."`
	WorkflowName string `query:"workflow_name" doc:"Only triggers of this workflow."`
	WorkflowID   string `query:"workflow_id" doc:"Only triggers of this workflow id."`
	Scope        string `query:"scope"`
	Pattern      string `query:"pattern"`
}

type cronTriggerListOutput struct{ Body CronTriggerList }

// cronTriggerSortKeys are the fields a listing may be sorted by; the
// optional (nullable) fields are not among them.
var cronTriggerSortKeys = keySet("id", "name", "pattern", "workflow_name", "workflow_id", "scope", "next_execution_time", "created_at")

// registerCronTriggers serves /v2/cron_triggers when the Backend runs them.
func (s *server) registerCronTriggers(hapi huma.API) {
	ct, ok := s.b.(CronTriggers)
	if !ok {
		return
	}
	huma.Register(hapi, huma.Operation{
		OperationID:   "createCronTrigger",
		Method:        http.MethodPost,
		Path:          "/v2/cron_triggers",
		Summary:       "Create a cron trigger",
		Description:   "Starts the workflow with workflow_input and workflow_params at each tick of pattern (UTC), from first_execution_time if given, remaining_executions times if given. Each tick starts exactly one execution, however many engines run.",
		Tags:          []string{"Cron triggers"},
		DefaultStatus: http.StatusCreated,
		MaxBodyBytes:  s.maxBody,
		Errors:        []int{http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge},
	}, func(ctx context.Context, in *createCronTriggerInput) (*cronTriggerOutput, error) {
		req, err := cronTriggerRequest(&in.Body)
		if err != nil {
			return nil, err
		}
		c, err := ct.CreateCronTrigger(ctx, req)
		if err != nil {
			return nil, s.fail("creating a cron trigger", annotate(err, "cron trigger", req.Name))
		}
		return &cronTriggerOutput{Body: toCronTrigger(c)}, nil
	})

	huma.Register(hapi, huma.Operation{
		OperationID: "listCronTriggers",
		Method:      http.MethodGet,
		Path:        "/v2/cron_triggers",
		Summary:     "List cron triggers",
		Description: "Pages with marker (the id of the last trigger of the previous page) and limit; sorts with sort_keys and sort_dirs (comma-separated).",
		Tags:        []string{"Cron triggers"},
		Errors:      []int{http.StatusBadRequest},
	}, func(ctx context.Context, in *listCronTriggersInput) (*cronTriggerListOutput, error) {
		o, err := in.listOpts(cronTriggerSortKeys)
		if err != nil {
			return nil, err
		}
		addFilter(o.Filters, "name", in.Name)
		addFilter(o.Filters, "workflow_name", in.WorkflowName)
		addFilter(o.Filters, "workflow_id", in.WorkflowID)
		addFilter(o.Filters, "scope", in.Scope)
		addFilter(o.Filters, "pattern", in.Pattern)
		list, err := ct.ListCronTriggers(ctx, o)
		if err != nil {
			return nil, s.fail("listing cron triggers", err)
		}
		out := &cronTriggerListOutput{}
		out.Body.CronTriggers, out.Body.Next = page(&in.ListParams, o, "/v2/cron_triggers", list, toCronTriggerDetail,
			func(c *store.CronTrigger) string { return c.ID })
		return out, nil
	})

	huma.Register(hapi, huma.Operation{
		OperationID: "getCronTrigger",
		Method:      http.MethodGet,
		Path:        "/v2/cron_triggers/{identifier}",
		Summary:     "Get a cron trigger",
		Tags:        []string{"Cron triggers"},
		Errors:      []int{http.StatusNotFound},
	}, func(ctx context.Context, in *cronTriggerIdent) (*cronTriggerDetailOutput, error) {
		c, err := ct.GetCronTrigger(ctx, in.Identifier)
		if err != nil {
			return nil, s.fail("reading a cron trigger", annotate(err, "cron trigger", in.Identifier))
		}
		return &cronTriggerDetailOutput{Body: toCronTriggerDetail(c)}, nil
	})

	huma.Register(hapi, huma.Operation{
		OperationID:   "deleteCronTrigger",
		Method:        http.MethodDelete,
		Path:          "/v2/cron_triggers/{identifier}",
		Summary:       "Delete a cron trigger",
		Description:   "Deletes the trigger and its pending tick; executions it started are kept.",
		Tags:          []string{"Cron triggers"},
		DefaultStatus: http.StatusNoContent,
		Errors:        []int{http.StatusNotFound},
	}, func(ctx context.Context, in *cronTriggerIdent) (*struct{}, error) {
		if err := ct.DeleteCronTrigger(ctx, in.Identifier); err != nil {
			return nil, s.fail("deleting a cron trigger", annotate(err, "cron trigger", in.Identifier))
		}
		return nil, nil
	})
}

// cronTriggerRequest decodes and checks the wire body. Errors name the
// field, as the engine's do.
func cronTriggerRequest(b *CronTriggerBody) (CronTriggerRequest, error) {
	req := CronTriggerRequest{
		Name:         strings.TrimSpace(b.Name),
		Pattern:      strings.TrimSpace(b.Pattern),
		WorkflowName: strings.TrimSpace(b.WorkflowName),
		WorkflowID:   strings.TrimSpace(b.WorkflowID),
	}
	if req.Name == "" {
		return req, badRequest("name is required")
	}
	if req.WorkflowName == "" && req.WorkflowID == "" {
		return req, badRequest("workflow_name is required (or workflow_id)")
	}
	var err error
	if req.WorkflowInput, err = decodeObject("workflow_input", b.WorkflowInput); err != nil {
		return req, err
	}
	if req.WorkflowParams, err = decodeObject("workflow_params", b.WorkflowParams); err != nil {
		return req, err
	}
	if ft := strings.TrimSpace(b.FirstExecutionTime); ft != "" {
		t, err := time.Parse(FirstTimeFormat, ft)
		if err != nil {
			return req, badRequest("first_execution_time: %q is not a UTC time in the form YYYY-MM-DD HH:MM", ft)
		}
		req.FirstExecutionTime = &t
	}
	if n := b.RemainingExecutions; n != nil {
		if *n < 1 {
			return req, badRequest("remaining_executions: %d should be greater or equal to 1", *n)
		}
		req.RemainingExecutions = n
	}
	return req, nil
}
