package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
)

// This file holds one method per /v2 operation that has no dedicated
// file. Each returns the api package's wire type, so the CLI shows exactly
// what the server sent.

// ListOpts are the paging, sorting and filtering parameters Mistral's
// listings take. The zero value lists everything in the server's order.
type ListOpts struct {
	Limit    int    // 0: all
	Marker   string // id of the last item of the previous page
	SortKeys string // comma-separated
	SortDirs string // comma-separated asc/desc
	// Filters are further query parameters: state, workflow_name, ...
	Filters map[string]string
}

func (o ListOpts) query() url.Values {
	q := url.Values{}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	for k, v := range map[string]string{"marker": o.Marker, "sort_keys": o.SortKeys, "sort_dirs": o.SortDirs} {
		if v != "" {
			q.Set(k, v)
		}
	}
	for k, v := range o.Filters {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// get reads path into out.
func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	return c.do(ctx, http.MethodGet, path, q, "", nil, out)
}

// del deletes what path names.
func (c *Client) del(ctx context.Context, path string) error {
	return c.do(ctx, http.MethodDelete, path, nil, "", nil, nil)
}

// sendJSON encodes body and sends it with method to path, decoding the
// answer into out.
func (c *Client) sendJSON(ctx context.Context, method, path string, body, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encoding the request: %w", err)
	}
	return c.do(ctx, method, path, nil, "application/json", raw, out)
}

// one reads path into a new T.
func one[T any](ctx context.Context, c *Client, path string) (*T, error) {
	var out T
	if err := c.get(ctx, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// sent sends body as JSON with method to path and decodes the answer into
// a new T.
func sent[T any](ctx context.Context, c *Client, method, path string, body any) (*T, error) {
	var out T
	if err := c.sendJSON(ctx, method, path, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// uploaded sends a YAML document as text/plain with method to path and
// decodes the answer into a new T.
func uploaded[T any](ctx context.Context, c *Client, method, path string, doc []byte) (*T, error) {
	var out T
	if err := c.do(ctx, method, path, nil, "text/plain", doc, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func esc(s string) string { return url.PathEscape(s) }

// Workflows

// ListWorkflows lists workflows with paging and filters (name,
// namespace, scope).
func (c *Client) ListWorkflows(ctx context.Context, o ListOpts) ([]api.Workflow, error) {
	var out api.WorkflowList
	err := c.get(ctx, "/v2/workflows", o.query(), &out)
	return out.Workflows, err
}

// UpdateWorkflows replaces the workflows a document defines.
func (c *Client) UpdateWorkflows(ctx context.Context, definition []byte) ([]api.UpdatedWorkflow, error) {
	var out api.UpdatedWorkflowList
	err := c.do(ctx, http.MethodPut, "/v2/workflows", nil, "text/plain", definition, &out)
	return out.Workflows, err
}

// DeleteWorkflow deletes a workflow by name or id.
func (c *Client) DeleteWorkflow(ctx context.Context, identifier string) error {
	return c.del(ctx, "/v2/workflows/"+esc(identifier))
}

// Validate asks the server to check a definition without storing it;
// kind is "workflows", "workbooks" or "actions", the path's first part.
func (c *Client) Validate(ctx context.Context, kind string, definition []byte) (*api.Validation, error) {
	return uploaded[api.Validation](ctx, c, http.MethodPost, "/v2/"+kind+"/validate", definition)
}

// Executions

// ListExecutions lists executions with paging and filters
// (workflow_name, state, root_execution_id, ...); output is included when
// includeOutput is set.
func (c *Client) ListExecutions(ctx context.Context, o ListOpts, includeOutput bool) ([]api.Execution, error) {
	q := o.query()
	if includeOutput {
		q.Set("include_output", "true")
	}
	var out api.ExecutionList
	err := c.get(ctx, "/v2/executions", q, &out)
	return out.Executions, err
}

// UpdateExecution changes an execution's state (SUCCESS, ERROR and
// CANCELLED stop it) or its description.
func (c *Client) UpdateExecution(ctx context.Context, id string, u api.UpdateExecutionBody) (*api.Execution, error) {
	return sent[api.Execution](ctx, c, http.MethodPut, "/v2/executions/"+esc(id), u)
}

// DeleteExecution deletes an ended execution.
func (c *Client) DeleteExecution(ctx context.Context, id string) error {
	return c.del(ctx, "/v2/executions/"+esc(id))
}

// Tasks

// ListAllTasks lists the tasks of all executions with paging and filters
// (workflow_execution_id, workflow_name, name, state).
func (c *Client) ListAllTasks(ctx context.Context, o ListOpts) ([]api.Task, error) {
	var out api.TaskPage
	err := c.get(ctx, "/v2/tasks", o.query(), &out)
	return out.Tasks, err
}

// GetTask reads one task execution, result included.
func (c *Client) GetTask(ctx context.Context, id string) (*api.Task, error) {
	return one[api.Task](ctx, c, "/v2/tasks/"+esc(id))
}

// Action executions

// ListActionExecutions lists action executions with paging and filters
// (task_execution_id, name, state).
func (c *Client) ListActionExecutions(ctx context.Context, o ListOpts) ([]api.ActionExecutionItem, error) {
	var out api.ActionExecutionList
	err := c.get(ctx, "/v2/action_executions", o.query(), &out)
	return out.ActionExecutions, err
}

// GetActionExecution reads one action execution, output included.
func (c *Client) GetActionExecution(ctx context.Context, id string) (*api.ActionExecution, error) {
	return one[api.ActionExecution](ctx, c, "/v2/action_executions/"+esc(id))
}

// CompleteActionExecution gives a running (async) action its result:
// state SUCCESS with output as the result, or ERROR with output as the
// error.
func (c *Client) CompleteActionExecution(ctx context.Context, id, state string, output any) (*api.ActionExecution, error) {
	raw, err := json.Marshal(output)
	if err != nil {
		return nil, fmt.Errorf("encoding the output: %w", err)
	}
	body := api.UpdateActionExecutionBody{State: state, Output: raw}
	return sent[api.ActionExecution](ctx, c, http.MethodPut, "/v2/action_executions/"+esc(id), body)
}

// DeleteActionExecution deletes an ended action execution that belongs
// to no workflow (one kept by action-execution run --save).
func (c *Client) DeleteActionExecution(ctx context.Context, id string) error {
	return c.del(ctx, "/v2/action_executions/"+esc(id))
}

// Actions

// ListActions lists every action the server knows.
func (c *Client) ListActions(ctx context.Context, o ListOpts) ([]api.Action, error) {
	var out api.ActionList
	err := c.get(ctx, "/v2/actions", o.query(), &out)
	return out.Actions, err
}

// GetAction reads one action by name.
func (c *Client) GetAction(ctx context.Context, name string) (*api.Action, error) {
	return one[api.Action](ctx, c, "/v2/actions/"+esc(name))
}

// CreateActions creates the ad-hoc actions of a YAML document (Mistral's
// POST /v2/actions).
func (c *Client) CreateActions(ctx context.Context, definition []byte) ([]api.Action, error) {
	return c.uploadActions(ctx, http.MethodPost, definition)
}

// UpdateActions replaces the ad-hoc actions a YAML document defines.
func (c *Client) UpdateActions(ctx context.Context, definition []byte) ([]api.Action, error) {
	return c.uploadActions(ctx, http.MethodPut, definition)
}

func (c *Client) uploadActions(ctx context.Context, method string, definition []byte) ([]api.Action, error) {
	out, err := uploaded[api.ActionList](ctx, c, method, "/v2/actions", definition)
	if err != nil {
		return nil, err
	}
	return out.Actions, nil
}

// DeleteAction deletes an ad-hoc action by name or id.
func (c *Client) DeleteAction(ctx context.Context, identifier string) error {
	return c.del(ctx, "/v2/actions/"+esc(identifier))
}

// Executor hosts

// ListPlugins lists the plugins of every live executor host.
func (c *Client) ListPlugins(ctx context.Context) ([]api.PluginStatus, error) {
	var out api.PluginList
	err := c.get(ctx, "/v2/plugins", nil, &out)
	return out.Plugins, err
}

// ListExecutors lists the live executor hosts.
func (c *Client) ListExecutors(ctx context.Context) ([]api.Executor, error) {
	var out api.ExecutorList
	err := c.get(ctx, "/v2/executors", nil, &out)
	return out.Executors, err
}

// Health reads /healthz: the process answers, and its version.
func (c *Client) Health(ctx context.Context) (map[string]any, error) {
	var out map[string]any
	err := c.get(ctx, "/healthz", nil, &out)
	return out, err
}

// Ready reads /readyz: whether each component of the server is up. A
// server that is not ready answers 503, and the error names what is down.
func (c *Client) Ready(ctx context.Context) (map[string]any, error) {
	var out map[string]any
	err := c.get(ctx, "/readyz", nil, &out)
	return out, err
}

// RerunTask runs a task in ERROR again, with its workflow execution
// (Mistral's task-rerun): u.State must be RUNNING.
func (c *Client) RerunTask(ctx context.Context, id string, u api.TaskUpdate) (*api.Task, error) {
	return sent[api.Task](ctx, c, http.MethodPut, "/v2/tasks/"+esc(id), u)
}

// RunActionRequest is the body of POST /v2/action_executions: the action,
// its input, and params (run_sync, save_result, target, timeout).
type RunActionRequest struct {
	Name        string         `json:"name"`
	Input       map[string]any `json:"input,omitempty"`
	Params      map[string]any `json:"params,omitempty"`
	Description string         `json:"description,omitempty"`
}

// RunAction runs an action without a workflow (Mistral's run-action).
func (c *Client) RunAction(ctx context.Context, r RunActionRequest) (*api.RanActionExecution, error) {
	return sent[api.RanActionExecution](ctx, c, http.MethodPost, "/v2/action_executions", r)
}
