package api

import (
	"fmt"

	"github.com/danielgtaylor/huma/v2"
)

// The OpenAPI document shows an example of every request body, success
// answer and path parameter, so a reader of /docs sees what a call sends
// and gets without running it. The examples are the answers of a real
// server to the calls of a short session (create the workflow "hello",
// run it, look at its task and action), with the ids it gave, so they fit
// together: the execution's workflow_id is the workflow's id, and so on.
//
// They live in one table rather than beside each operation so that every
// example shares the same few rows; a test checks that every documented
// operation has its examples and that they fit the operation's schemas.
// An operation added later gets its entry here, keyed by operation id.

// example is what the OpenAPI document shows for one operation.
type example struct {
	params   map[string]string // path parameter -> value
	request  any               // request body: a JSON value, or the text of a text/plain body
	response any               // success answer's body
}

const (
	exWorkflowID     = "f30fce1a-a67f-4c86-ae65-fe29da106971"
	exExecutionID    = "5107659a-4f67-4124-b593-23216781f3a3"
	exTaskID         = "8824c2d3-d52a-4c68-aa8c-11bdfd450dbc"
	exActionExecID   = "371bd410-3411-4415-bb4c-17cb65f619b5"
	exActionDefID    = "7af9091e-19cf-4170-96d0-7ff3fb508094"
	exCronTriggerID  = "b6759dc5-352b-4581-abfc-aac04bbc3ea5"
	exEnvironmentID  = "249159bd-24f7-4255-870c-be9026194dce"
	exWorkbookID     = "019e1994-5e23-44a5-8a19-4db86920e93f"
	exTime           = "2026-11-30 16:07:10"
	exLater          = "2026-11-30 16:07:11"
	exProject        = defaultProject
	exNext           = "http://127.0.0.1:8989/v2/%s?limit=1&marker=%s"
	exToken          = "0c2f8e3b9a1d4f7e6b5a2c9d8e7f6a1b"
	exWorkflowYAML   = "---\nversion: '2.0'\n\nhello:\n  description: Greets someone.\n  input:\n    - name: world\n  output:\n    greeting: <% $.greeting %>\n  tasks:\n    greet:\n      action: std.echo output=\"Hello, <% $.name %>\"\n      publish:\n        greeting: <% task().result %>\n"
	exActionYAML     = "---\nversion: '2.0'\n\ngreet:\n  description: Says hello.\n  base: std.echo\n  base-input:\n    output: Hello, <% $.name %>\n  input:\n    - name\n"
	exWorkbookYAML   = "---\nversion: '2.0'\nname: greetings\ndescription: Greeting workflows.\ntags: [demo]\n\nworkflows:\n  hello:\n    input:\n      - name\n    tasks:\n      greet:\n        action: std.echo output=\"Hello, <% $.name %>\"\n"
	exWorkflowIface  = `{"input":[{"default":"world","has_default":true,"name":"name"}],"output":["greeting"]}`
	exEchoSchemaJSON = `{"type":"object","properties":{"output":{"description":"the value to return"}},"required":["output"],"additionalProperties":false}`
)

// exObj is a JSON object of an example.
type exObj = map[string]any

// exDelete, given to exWith, removes a member.
var exDelete = &struct{}{}

// exWith returns a copy of base with the given members set (exDelete
// removes one), for the variants of one row.
func exWith(base exObj, kv ...any) exObj {
	out := make(exObj, len(base)+len(kv)/2)
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == exDelete {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func exNextLink(kind, marker string) string { return fmt.Sprintf(exNext, kind, marker) }

var (
	exWorkflow = exObj{
		"id": exWorkflowID, "name": "hello", "namespace": "", "input": `name="world"`, "interface": exWorkflowIface,
		"definition": exWorkflowYAML, "tags": []any{}, "scope": "private", "project_id": exProject,
		"created_at": exTime, "updated_at": exTime,
	}
	exCreatedWorkflow = exWith(exWorkflow, "interface", exObj{
		"input": []any{exObj{"default": "world", "has_default": true, "name": "name"}}, "output": []any{"greeting"},
	}, "updated_at", exDelete)

	exExecution = exObj{
		"id": exExecutionID, "workflow_id": exWorkflowID, "workflow_name": "hello", "workflow_namespace": "",
		"description": "first run", "tags": []any{}, "params": "{}", "task_execution_id": nil, "root_execution_id": nil,
		"state": "SUCCESS", "state_info": nil, "input": `{"name":"Sirocco"}`,
		"created_at": exTime, "updated_at": exTime, "project_id": exProject,
	}
	exExecutionGot = exWith(exExecution, "output", `{"greeting":"Hello, Sirocco"}`, "published_global", "{}")

	exTask = exObj{
		"id": exTaskID, "name": "greet", "type": "ACTION", "workflow_name": "hello", "workflow_namespace": "",
		"workflow_id": exWorkflowID, "workflow_execution_id": exExecutionID, "tags": []any{}, "state": "SUCCESS",
		"state_info": nil, "project_id": exProject,
		"runtime_context": `{"action_execution_id":"` + exActionExecID + `","runs":1}`,
		"published":       `{"greeting":"Hello, Sirocco"}`, "processed": true,
		"created_at": exTime, "updated_at": exTime, "started_at": exTime, "finished_at": exTime,
	}
	exTaskGot = exWith(exTask, "result", `"Hello, Sirocco"`)

	exActionExecution = exObj{
		"id": exActionExecID, "name": "std.echo", "workflow_name": "hello", "workflow_namespace": "", "task_name": "greet",
		"task_execution_id": exTaskID, "state": "SUCCESS", "state_info": nil, "tags": nil, "accepted": true,
		"input": `{"output":"Hello, Sirocco"}`, "description": "", "project_id": exProject,
		"created_at": exTime, "updated_at": exTime,
	}
	exActionExecutionGot = exWith(exActionExecution, "output", `{"result":"Hello, Sirocco"}`)

	exAction = exObj{
		"id": "std.echo", "name": "std.echo", "is_system": false, "input": "output, delay=0",
		"description": "Returns the value given as output.", "tags": nil, "definition": "", "scope": nil,
		"project_id": nil, "created_at": "", "updated_at": "", "namespace": "", "plugin": "builtin",
		"input_schema": exObj{
			"type": "object", "required": []any{"output"}, "additionalProperties": false,
			"properties": exObj{"output": exObj{"description": "the value to return"}},
		},
	}
	exAdhocAction = exObj{
		"id": exActionDefID, "name": "greet", "is_system": false, "input": "name", "description": "Says hello.",
		"tags": []any{}, "definition": exActionYAML, "scope": "private", "project_id": exProject,
		"created_at": exLater, "updated_at": exLater, "namespace": "",
	}

	exCronTrigger = exObj{
		"id": exCronTriggerID, "name": "nightly", "workflow_name": "hello", "workflow_id": exWorkflowID,
		"workflow_input": `{"name":"night"}`, "workflow_params": "{}", "project_id": exProject, "scope": "private",
		"pattern": "0 3 * * *", "remaining_executions": nil, "first_execution_time": nil,
		"next_execution_time": "2026-12-01 03:00:00", "created_at": exLater, "updated_at": nil,
	}

	exEnvironment = exObj{
		"id": exEnvironmentID, "name": "prod", "description": "Production", "variables": `{"region":"RegionOne","retries":3}`,
		"scope": "private", "project_id": exProject, "created_at": exLater, "updated_at": exLater,
	}

	exWorkbook = exObj{
		"id": exWorkbookID, "name": "greetings", "namespace": "", "definition": exWorkbookYAML, "tags": []any{"demo"},
		"scope": "private", "project_id": exProject, "created_at": exLater, "updated_at": nil,
	}

	exPlugins = []any{"std.async_noop", "std.echo", "std.fail", "std.noop", "std.sleep", "std.test_dict"}
)

var examples = map[string]example{
	"health": {response: exObj{"status": "ok", "version": "1.0.0"}},
	"ready": {response: exObj{"status": "ready", "checks": []any{
		exObj{"name": "nats", "ready": true}, exObj{"name": "store", "ready": true},
		exObj{"name": "engine", "ready": true}, exObj{"name": "executor", "ready": true},
	}}},

	"createWorkflows":   {request: exWorkflowYAML, response: exObj{"workflows": []any{exCreatedWorkflow}}},
	"updateWorkflows":   {request: exWorkflowYAML, response: exObj{"workflows": []any{exWith(exCreatedWorkflow, "updated_at", exLater)}}},
	"validateWorkflows": {request: exWorkflowYAML, response: exObj{"valid": true}},
	"listWorkflows":     {response: exObj{"workflows": []any{exWorkflow}, "next": exNextLink("workflows", exWorkflowID)}},
	"getWorkflow":       {params: map[string]string{"identifier": "hello"}, response: exWorkflow},
	"deleteWorkflow":    {params: map[string]string{"identifier": "hello"}},

	"startExecution": {
		request:  exObj{"workflow_name": "hello", "input": exObj{"name": "Sirocco"}, "description": "first run"},
		response: exWith(exExecution, "state", "RUNNING", "output", "{}"),
	},
	"listExecutions":     {response: exObj{"executions": []any{exExecution}, "next": exNextLink("executions", exExecutionID)}},
	"getExecution":       {params: map[string]string{"id": exExecutionID}, response: exExecutionGot},
	"deleteExecution":    {params: map[string]string{"id": exExecutionID}},
	"listExecutionTasks": {params: map[string]string{"id": exExecutionID}, response: exObj{"tasks": []any{exTask}}},
	"updateExecution": {
		params:   map[string]string{"id": exExecutionID},
		request:  exObj{"state": "CANCELLED", "state_info": "not needed any more"},
		response: exWith(exExecutionGot, "state", "CANCELLED", "state_info", "not needed any more", "output", "{}"),
	},
	"streamExecutionEvents": {params: map[string]string{"id": exExecutionID}, response: []any{
		exObj{"id": "1764518830123456", "event": "task", "data": exTask},
		exObj{"id": "1764518830234567", "event": "execution", "data": exExecutionGot},
	}},

	"listTasks": {response: exObj{"tasks": []any{exTask}, "next": exNextLink("tasks", exTaskID)}},
	"getTask":   {params: map[string]string{"id": exTaskID}, response: exTaskGot},
	"rerunTask": {
		params:   map[string]string{"id": exTaskID},
		request:  exObj{"state": "RUNNING", "reset": true},
		response: exWith(exTaskGot, "state", "RUNNING", "finished_at", nil, "processed", false),
	},
	"listTaskActionExecutions": {params: map[string]string{"id": exTaskID}, response: exObj{"action_executions": []any{exActionExecution}}},

	"listActionExecutions":  {response: exObj{"action_executions": []any{exActionExecution}, "next": exNextLink("action_executions", exActionExecID)}},
	"getActionExecution":    {params: map[string]string{"id": exActionExecID}, response: exActionExecutionGot},
	"deleteActionExecution": {params: map[string]string{"id": exActionExecID}},
	"updateActionExecution": {
		params:   map[string]string{"id": exActionExecID},
		request:  exObj{"state": "SUCCESS", "output": `{"v": 7}`},
		response: exWith(exActionExecutionGot, "name", "std.async_noop", "input", "{}", "output", `{"result":{"v":7}}`, "task_name", exDelete),
	},
	"runAction": {
		request: exObj{"name": "std.echo", "input": exObj{"output": "Hello"}},
		response: exObj{
			"id": nil, "workflow_name": nil, "workflow_namespace": "", "task_execution_id": nil, "state": "SUCCESS",
			"state_info": nil, "tags": nil, "name": "std.echo", "description": nil, "project_id": nil, "accepted": nil,
			"input": `{"output":"Hello"}`, "output": `{"result":"Hello"}`, "created_at": nil, "updated_at": nil,
		},
	},

	"listActions":                  {response: exObj{"actions": []any{exAction}}},
	"getAction":                    {params: map[string]string{"name": "std.echo"}, response: exAction},
	"getActionDefaultNamespace":    {params: map[string]string{"name": "greet"}, response: exAdhocAction},
	"getActionInNamespace":         {params: map[string]string{"name": "greet", "namespace": "team_a"}, response: exWith(exAdhocAction, "namespace", "team_a")},
	"createActions":                {request: exActionYAML, response: exObj{"actions": []any{exWith(exAdhocAction, "updated_at", exDelete)}}},
	"updateActions":                {request: exActionYAML, response: exObj{"actions": []any{exAdhocAction}}},
	"updateAction":                 {params: map[string]string{"identifier": "greet"}, request: exActionYAML, response: exObj{"actions": []any{exAdhocAction}}},
	"validateActions":              {request: exActionYAML, response: exObj{"valid": true}},
	"deleteAction":                 {params: map[string]string{"identifier": "greet"}},
	"deleteActionDefaultNamespace": {params: map[string]string{"identifier": "greet"}},
	"deleteActionInNamespace":      {params: map[string]string{"identifier": "greet", "namespace": "team_a"}},

	"createCronTrigger": {
		request:  exObj{"name": "nightly", "workflow_name": "hello", "workflow_input": exObj{"name": "night"}, "pattern": "0 3 * * *"},
		response: exWith(exCronTrigger, "updated_at", exDelete),
	},
	"listCronTriggers":  {response: exObj{"cron_triggers": []any{exCronTrigger}, "next": exNextLink("cron_triggers", exCronTriggerID)}},
	"getCronTrigger":    {params: map[string]string{"identifier": "nightly"}, response: exCronTrigger},
	"deleteCronTrigger": {params: map[string]string{"identifier": "nightly"}},

	"createEnvironment": {
		request:  exObj{"name": "prod", "description": "Production", "variables": exObj{"region": "RegionOne", "retries": 3}},
		response: exWith(exEnvironment, "updated_at", exDelete),
	},
	"updateEnvironment": {
		request:  exObj{"name": "prod", "variables": exObj{"region": "RegionTwo"}},
		response: exWith(exEnvironment, "variables", `{"region":"RegionTwo"}`),
	},
	"listEnvironments":  {response: exObj{"environments": []any{exEnvironment}, "next": exNextLink("environments", exEnvironmentID)}},
	"getEnvironment":    {params: map[string]string{"name": "prod"}, response: exEnvironment},
	"deleteEnvironment": {params: map[string]string{"name": "prod"}},

	"createWorkbook":   {request: exWorkbookYAML, response: exWith(exWorkbook, "updated_at", exDelete)},
	"updateWorkbook":   {request: exWorkbookYAML, response: exWith(exWorkbook, "updated_at", exLater)},
	"validateWorkbook": {request: exWorkbookYAML, response: exObj{"valid": false, "error": "Invalid DSL: workflows.hello.tasks.greet: unknown key 'actoin' (line 12, column 9)"}},
	"listWorkbooks":    {response: exObj{"workbooks": []any{exWorkbook}, "next": exNextLink("workbooks", exWorkbookID)}},
	"getWorkbook":      {params: map[string]string{"name": "greetings"}, response: exWorkbook},
	"deleteWorkbook":   {params: map[string]string{"name": "greetings"}},

	"listExecutors": {response: exObj{"executors": []any{exObj{
		"id": "exec-03d27b79", "host": "worker-1", "target": "default", "capacity": 64, "running": 0,
		"plugins":    []any{exObj{"name": "builtin", "version": "1", "health": "ok", "actions": exPlugins}},
		"started_at": exTime, "seen_at": exLater,
	}}}},
	"listPlugins": {response: exObj{"plugins": []any{exObj{
		"name": "builtin", "version": "1", "protocol": "", "sdk_version": "", "sha256": "", "health": "ok",
		"actions": exPlugins, "executor": "exec-03d27b79", "host": "worker-1", "target": "default",
	}}}},

	"keystoneVersion": {response: exObj{"version": exObj{
		"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
		"links":       []any{exObj{"rel": "self", "href": "http://127.0.0.1:8989/v3/"}},
		"media-types": []any{exObj{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}},
	}}},
	"keystoneIssueToken": {
		request: exObj{"auth": exObj{"identity": exObj{"methods": []any{"token"}, "token": exObj{"id": exToken}}}},
		response: exObj{"token": exObj{
			"methods": []any{"token"}, "expires_at": "2026-11-30T17:07:11.623408Z", "issued_at": "2026-11-30T16:07:11.623408Z",
			"audit_ids": []any{}, "catalog": []any{}, "roles": []any{},
			"user": exObj{"id": "sirocco", "name": "sirocco", "domain": exObj{"id": "default", "name": "Default"}},
		}},
	},
}

// addExamples puts the table's examples into the OpenAPI document: on
// path parameters, on every content type of the request body, and on
// the success answer. What an operation already documents itself is kept.
func addExamples(oapi *huma.OpenAPI) {
	for _, item := range oapi.Paths {
		for _, op := range []*huma.Operation{item.Get, item.Put, item.Post, item.Delete, item.Patch, item.Head} {
			if op == nil {
				continue
			}
			ex, ok := examples[op.OperationID]
			if !ok {
				continue
			}
			for _, p := range op.Parameters {
				if v, ok := ex.params[p.Name]; ok && p.In == "path" && p.Example == nil {
					p.Example = v
				}
			}
			if op.RequestBody != nil && ex.request != nil {
				for _, mt := range op.RequestBody.Content {
					if mt.Example == nil && len(mt.Examples) == 0 {
						mt.Example = ex.request
					}
				}
			}
			if ex.response == nil {
				continue
			}
			for code, resp := range op.Responses {
				if len(code) != 3 || code[0] != '2' {
					continue
				}
				for _, mt := range resp.Content {
					if mt.Example == nil && len(mt.Examples) == 0 {
						mt.Example = ex.response
					}
				}
			}
		}
	}
}
