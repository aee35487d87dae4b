package expr

import (
	"reflect"
	"strings"
	"testing"
)

// taskHost answers Mistral's functions for one task "one", current when
// inTask is set.
type taskHost struct{ inTask bool }

func (h taskHost) one() map[string]any {
	return map[string]any{
		"workflow_execution_id": "ex", "updated_at": nil, "type": "ACTION", "state_info": nil,
		"state": "SUCCESS", "spec": map[string]any{"action": "std.noop"}, "result": map[string]any{"k": "v"},
		"published": map[string]any{}, "name": "one", "id": "t-1", "created_at": "2026-01-02 03:04:05",
	}
}

func (h taskHost) CurrentTask() (map[string]any, bool) {
	if !h.inTask {
		return nil, false
	}
	return h.one(), true
}

func (h taskHost) TaskByName(name string) (map[string]any, bool) {
	if name != "one" {
		return nil, false
	}
	return h.one(), true
}

func (h taskHost) Tasks(TasksQuery) ([]map[string]any, error) { return []map[string]any{h.one()}, nil }

func (h taskHost) Execution() (map[string]any, error) {
	return map[string]any{"root_execution_id": nil, "params": map[string]any{}, "name": "wf", "input": map[string]any{},
		"id": "ex", "created_at": "2026-01-02 03:04:05", "updated_at": "2026-01-02 03:04:05", "spec": nil}, nil
}

func (h taskHost) Env() map[string]any            { return nil }
func (h taskHost) Global(name string) (any, bool) { return nil, false }

// task() in Jinja reads the current task from the expression's context,
// as Mistral's does: outside a task (a workflow's output) it fails even
// with a name, where YAQL's finds the task.
func TestMistralTaskOutsideATask(t *testing.T) {
	inTask := map[string]any{"__task_execution": map[string]any{"id": "t-1", "name": "one"}, "__execution": map[string]any{"id": "ex"}}
	outside := map[string]any{"__execution": map[string]any{"id": "ex"}}
	tests := []struct {
		name    string
		expr    string
		data    map[string]any
		inTask  bool
		want    any
		wantErr bool
	}{
		{name: "jinja in a task", expr: "{{ task('one').result.k }}", data: inTask, inTask: true, want: "v"},
		{name: "jinja current task", expr: "{{ task().name }}", data: inTask, inTask: true, want: "one"},
		{name: "jinja filter in a task", expr: "{{ (_ | task('one')).name }}", data: inTask, inTask: true, want: "one"},
		{name: "jinja outside a task", expr: "{{ task('one').result.k }}", data: outside, wantErr: true},
		{name: "jinja filter outside a task", expr: "{{ _ | task('one') }}", data: outside, wantErr: true},
		{name: "yaql outside a task", expr: "<% task(one).result.k %>", data: outside, want: "v"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Eval(tt.expr, MistralEnv(tt.data, taskHost{inTask: tt.inTask}))
			if tt.wantErr {
				// gonja keeps only the text of a function's error.
				if err == nil || !strings.Contains(err.Error(), errNoTaskContext.Error()) {
					t.Fatalf("got %v, %v; want %v", got, err, errNoTaskContext)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, %v; want %#v", got, err, tt.want)
			}
		})
	}
}

// task() and execution() are dicts in the order Mistral builds them, which
// str() shows.
func TestMistralViewsKeepFieldOrder(t *testing.T) {
	data := map[string]any{"__task_execution": map[string]any{"id": "t-1", "name": "one"}, "__execution": map[string]any{"id": "ex"}}
	tests := []struct{ expr, want string }{
		{"<% task() %>", "{'id': 't-1', 'name': 'one', 'spec': {'action': 'std.noop'}, 'state': 'SUCCESS', 'state_info': None, " +
			"'result': {'k': 'v'}, 'published': {}, 'type': 'ACTION', 'workflow_execution_id': 'ex', " +
			"'created_at': '2026-01-02 03:04:05', 'updated_at': None}"},
		{"<% execution() %>", "{'id': 'ex', 'name': 'wf', 'spec': None, 'input': {}, 'params': {}, " +
			"'created_at': '2026-01-02 03:04:05', 'updated_at': '2026-01-02 03:04:05', 'root_execution_id': None}"},
		{"<% tasks().first().keys().first() %>", "id"},
		{"<% {'b' => 1, 'a' => 2} %>", "{'b': 1, 'a': 2}"},
		{"n=<% task().state %>", "n=SUCCESS"},
	}
	for _, tt := range tests {
		got, err := EvalStr(tt.expr, MistralEnv(data, taskHost{inTask: true}))
		if err != nil || got != tt.want {
			t.Errorf("EvalStr(%q) =\n %q, %v\nwant\n %q", tt.expr, got, err, tt.want)
		}
	}
}
