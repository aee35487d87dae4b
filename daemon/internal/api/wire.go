package api

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

// The types in this file are the JSON shapes of Mistral's v2 API
// (mistral/api/controllers/v2/resources.py in Mistral 15), field for field.
// Mistral's "jsontype" fields (input, output, params, published, ...) travel
// as JSON-encoded strings, not nested objects; python-mistralclient decodes
// them itself, so we must encode them the same way. They are exported so the
// CLI's HTTP client decodes exactly what the server encodes.

// TimeFormat is how Mistral writes timestamps: UTC, second resolution, a
// space between date and time and no zone suffix.
const TimeFormat = "2006-01-02 15:04:05"

// Workflow is a workflow definition as Mistral's GET /v2/workflows shows it.
type Workflow struct {
	ID         string   `json:"id" doc:"Workflow id (UUID)."`
	Name       string   `json:"name" doc:"Workflow name, unique per namespace."`
	Namespace  string   `json:"namespace" doc:"Namespace; empty is the default namespace."`
	Input      string   `json:"input" doc:"Summary of the workflow's input parameters, e.g. 'name=\"world\", count'."`
	Interface  string   `json:"interface" doc:"JSON-encoded {\"input\": [...], \"output\": [...]}."`
	Definition string   `json:"definition" doc:"The YAML text of the document the workflow came from, verbatim."`
	Tags       []string `json:"tags"`
	Scope      string   `json:"scope" doc:"'private' or 'public'."`
	ProjectID  string   `json:"project_id" doc:"Owning project; '<default-project>' without authentication, as Mistral."`
	CreatedAt  *string  `json:"created_at" doc:"Creation time, UTC, 'YYYY-MM-DD hh:mm:ss'."`
	UpdatedAt  *string  `json:"updated_at" doc:"Last update, UTC, 'YYYY-MM-DD hh:mm:ss'; null if never updated."`
}

// WorkflowList is the body of GET /v2/workflows.
type WorkflowList struct {
	Workflows []Workflow `json:"workflows"`
	Next      string     `json:"next,omitempty" doc:"URL of the next page, present when the page is full."`
}

// CreatedWorkflow is a workflow as Mistral's POST /v2/workflows answers
// it, which differs from GET: "interface" is an object rather than a
// JSON-encoded string and "updated_at" is absent.
type CreatedWorkflow struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Namespace  string         `json:"namespace"`
	Input      string         `json:"input"`
	Interface  map[string]any `json:"interface"`
	Definition string         `json:"definition"`
	Tags       []string       `json:"tags"`
	Scope      string         `json:"scope"`
	ProjectID  string         `json:"project_id"`
	CreatedAt  *string        `json:"created_at"`
}

// CreatedWorkflowList is the body of POST /v2/workflows.
type CreatedWorkflowList struct {
	Workflows []CreatedWorkflow `json:"workflows"`
}

// Execution is a workflow execution as Mistral's /v2/executions shows it.
// Output is absent from listings unless include_output=true, and
// PublishedGlobal appears only on GET of one execution, as in Mistral.
type Execution struct {
	ID                string   `json:"id" doc:"Execution id (UUID)."`
	WorkflowID        string   `json:"workflow_id"`
	WorkflowName      string   `json:"workflow_name"`
	WorkflowNamespace string   `json:"workflow_namespace"`
	Description       string   `json:"description"`
	Tags              []string `json:"tags"`
	Params            string   `json:"params" doc:"JSON-encoded object: env, notify, task_name, namespace, ..."`
	TaskExecutionID   *string  `json:"task_execution_id" doc:"Parent task of a sub-workflow execution; null at the top."`
	RootExecutionID   *string  `json:"root_execution_id" doc:"Top execution of a sub-workflow tree; null at the top."`
	State             string   `json:"state" doc:"IDLE, RUNNING, PAUSED, SUCCESS, ERROR or CANCELLED."`
	StateInfo         *string  `json:"state_info" doc:"Why the execution is in its state (the error, for ERROR); null when there is nothing to say."`
	Input             string   `json:"input" doc:"JSON-encoded object: the workflow input."`
	Output            *string  `json:"output,omitempty" doc:"JSON-encoded object: the workflow output. Absent from listings unless include_output=true."`
	CreatedAt         *string  `json:"created_at"`
	UpdatedAt         *string  `json:"updated_at"`
	ProjectID         string   `json:"project_id"`
	PublishedGlobal   *string  `json:"published_global,omitempty" doc:"JSON-encoded object of variables published globally; only on GET of one execution."`
}

// ExecutionList is the body of GET /v2/executions.
type ExecutionList struct {
	Executions []Execution `json:"executions"`
	Next       string      `json:"next,omitempty" doc:"URL of the next page, present when the page is full."`
}

// Task is a task execution as Mistral's GET /v2/executions/{id}/tasks
// shows it. Mistral leaves "result" out of listings (only GET of one task
// has it); Sirocco adds it when asked with include_result=true.
type Task struct {
	ID                  string   `json:"id"`
	Name                string   `json:"name"`
	Type                string   `json:"type" doc:"ACTION or WORKFLOW."`
	WorkflowName        string   `json:"workflow_name"`
	WorkflowNamespace   string   `json:"workflow_namespace"`
	WorkflowID          string   `json:"workflow_id"`
	WorkflowExecutionID string   `json:"workflow_execution_id"`
	Tags                []string `json:"tags"`
	State               string   `json:"state"`
	StateInfo           *string  `json:"state_info"`
	ProjectID           string   `json:"project_id"`
	RuntimeContext      string   `json:"runtime_context" doc:"JSON-encoded engine bookkeeping (triggered_by, retries, with-items)."`
	Result              *string  `json:"result,omitempty" doc:"JSON-encoded action result; only with include_result=true."`
	Published           string   `json:"published" doc:"JSON-encoded object of published variables."`
	Processed           bool     `json:"processed"`
	CreatedAt           *string  `json:"created_at"`
	UpdatedAt           *string  `json:"updated_at"`
	StartedAt           *string  `json:"started_at"`
	FinishedAt          *string  `json:"finished_at"`
}

// TaskList is the body of GET /v2/executions/{id}/tasks.
type TaskList struct {
	Tasks []Task `json:"tasks"`
}

// defaultProject is what Mistral stores as project_id when authentication
// is off, which is the only mode Sirocco has today.
const defaultProject = "<default-project>"

// wireTime formats t as Mistral does; the zero time is null.
func wireTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(TimeFormat)
	return &s
}

// optional maps "" to null, as Mistral's optional text fields.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// jsonText turns a stored JSON value into Mistral's JSON-encoded string
// form; an empty value becomes def ("{}" for objects) so clients that
// json.loads the field never see "". Stored JSON is re-compacted so the
// string does not depend on how the engine formatted it.
func jsonText(b []byte, def string) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return def
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		// Not JSON: show it as a JSON string rather than hide it.
		q, _ := json.Marshal(string(b))
		return string(q)
	}
	return buf.String()
}

// workflowInterface builds Mistral's "interface" ({"input": [...],
// "output": [names]}) from the compiled spec the engine stored, when it
// carries input and output; Mistral derives it from the spec too.
func workflowInterface(spec []byte) map[string]any {
	var s struct {
		Input  []any           `json:"input"`
		Output json.RawMessage `json:"output"`
	}
	_ = json.Unmarshal(spec, &s)
	in := s.Input
	if in == nil {
		in = []any{}
	}
	out := []string{}
	// Output is a mapping in the language; keep the document's key order,
	// which a Go map would lose.
	if dec := json.NewDecoder(bytes.NewReader(s.Output)); len(s.Output) > 0 {
		if t, err := dec.Token(); err == nil && t == json.Delim('{') {
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					break
				}
				if name, ok := k.(string); ok {
					out = append(out, name)
				}
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					break
				}
			}
		}
	}
	return map[string]any{"input": in, "output": out}
}

func orEmpty(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return tags
}

// scopeOr is a definition's scope as Mistral shows it: private unless it
// was made public.
func scopeOr(s string) string {
	if s == "" {
		return "private"
	}
	return s
}

// toWorkflow is a workflow as GET shows it: as POST answers it, with the
// interface JSON-encoded and updated_at.
func toWorkflow(d *store.WorkflowDef) Workflow {
	c := toCreatedWorkflow(d)
	iface, _ := json.Marshal(c.Interface)
	return Workflow{
		ID: c.ID, Name: c.Name, Namespace: c.Namespace, Input: c.Input, Interface: string(iface),
		Definition: c.Definition, Tags: c.Tags, Scope: c.Scope, ProjectID: c.ProjectID,
		CreatedAt: c.CreatedAt, UpdatedAt: wireTime(d.UpdatedAt),
	}
}

func toCreatedWorkflow(d *store.WorkflowDef) CreatedWorkflow {
	return CreatedWorkflow{
		ID:         d.ID,
		Name:       d.Name,
		Namespace:  d.Namespace,
		Input:      d.Input,
		Interface:  workflowInterface(d.Spec),
		Definition: d.Definition,
		Tags:       orEmpty(d.Tags),
		Scope:      scopeOr(d.Scope),
		ProjectID:  defaultProject,
		CreatedAt:  wireTime(d.CreatedAt),
	}
}

// execView says which optional members an execution answer carries; they
// differ between POST, GET and listings in Mistral.
type execView struct {
	output, publishedGlobal bool
}

var (
	viewCreated = execView{output: true}
	viewGet     = execView{output: true, publishedGlobal: true}
	viewList    = execView{}
)

func toExecution(e *store.Execution, v execView) Execution {
	x := Execution{
		ID:                e.ID,
		WorkflowID:        e.WorkflowID,
		WorkflowName:      e.WorkflowName,
		WorkflowNamespace: e.Namespace,
		Description:       e.Description,
		Tags:              []string{},
		Params:            jsonText(e.Params, "{}"),
		TaskExecutionID:   optional(e.TaskExecutionID),
		RootExecutionID:   optional(e.RootExecutionID),
		State:             e.State,
		StateInfo:         optional(e.StateInfo),
		Input:             jsonText(e.Input, "{}"),
		CreatedAt:         wireTime(e.CreatedAt),
		UpdatedAt:         wireTime(e.UpdatedAt),
		ProjectID:         defaultProject,
	}
	if v.output {
		out := jsonText(e.Output, "{}")
		x.Output = &out
	}
	if v.publishedGlobal {
		// Sirocco does not implement publish-global yet; Mistral shows an
		// empty object then.
		pg := "{}"
		x.PublishedGlobal = &pg
	}
	return x
}

func toTask(t *store.TaskExecution, wfID, namespace string, withResult bool) Task {
	x := Task{
		ID:                  t.ID,
		Name:                t.Name,
		Type:                taskType(t.Runtime),
		WorkflowName:        t.WorkflowName,
		WorkflowNamespace:   namespace,
		WorkflowID:          wfID,
		WorkflowExecutionID: t.ExecutionID,
		Tags:                []string{},
		State:               t.State,
		StateInfo:           optional(t.StateInfo),
		ProjectID:           defaultProject,
		RuntimeContext:      jsonText(t.Runtime, "{}"),
		Published:           jsonText(t.Published, "{}"),
		Processed:           t.Processed,
		CreatedAt:           wireTime(t.CreatedAt),
		UpdatedAt:           wireTime(t.UpdatedAt),
		// The store keeps no separate start and finish times: a task starts
		// when it is created and finishes with its last update in a
		// terminal state.
		StartedAt: wireTime(t.CreatedAt),
	}
	if terminal(t.State) {
		x.FinishedAt = wireTime(t.UpdatedAt)
	}
	if withResult {
		r := jsonText(t.Result, "null")
		x.Result = &r
	}
	return x
}

// terminal reports whether a state is final.
func terminal(state string) bool {
	switch state {
	case store.StateSuccess, store.StateError, store.StateCancel:
		return true
	}
	return false
}

// taskType reads the task type (ACTION or WORKFLOW) from the engine's
// runtime context if it recorded one there; the store has no column for it
// and action tasks are by far the common case.
func taskType(runtime []byte) string {
	var rc struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(runtime, &rc)
	if rc.Type != "" {
		return rc.Type
	}
	return "ACTION"
}
