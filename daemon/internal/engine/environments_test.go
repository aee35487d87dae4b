package engine

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

const envWorkflow = `
version: '2.0'
env_wf:
  output:
    who: <% env().who %>
    also: "{{ _.__env.who }}"
  tasks:
    t1:
      action: std.echo output=<% env().who %>
      publish:
        echoed: <% task().result %>
`

// TestStartWithEnvironment: params.env names a stored environment or gives
// the variables; the execution runs with them as a dict in params.env, as
// Mistral's start does (the answers in the table are what Mistral 15 did
// with the same params).
func TestStartWithEnvironment(t *testing.T) {
	r := newRig(t)
	r.run(t)
	ctx := context.Background()
	if _, err := r.eng.CreateWorkflows(ctx, envWorkflow); err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.CreateEnvironment(ctx, api.EnvironmentRequest{
		Name: "prod", Description: ptr("the real one"), Variables: []byte(`{"who":"stored","n":1}`),
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		params  map[string]any
		env     string // params.env of the started execution
		who     string // output.who
		refused string // the start is a BadRequest error saying this
	}{
		{"a stored environment by name", map[string]any{"env": "prod"}, `{"n":1,"who":"stored"}`, "stored", ""},
		{"a dict", map[string]any{"env": map[string]any{"who": "dict"}}, `{"who":"dict"}`, "dict", ""},
		{"expressions see the environment", map[string]any{"env": map[string]any{"who": "<% env().n %>", "n": int64(5)}}, `{"n":5,"who":5}`, "5", ""},
		{"evaluate_env false keeps them", map[string]any{"env": map[string]any{"who": "<% 1 %>"}, "evaluate_env": false}, `{"who":"<% 1 %>"}`, "<% 1 %>", ""},
		{"an unknown name", map[string]any{"env": "nope"}, "", "", `environment "nope" not found`},
		{"a number", map[string]any{"env": int64(5)}, "", "", "params.env: 5 is neither"},
		{"a list", map[string]any{"env": []any{"prod"}}, "", "", "neither the name of an environment nor a dict"},
		{"a bad expression", map[string]any{"env": map[string]any{"who": "<% $.( %>"}}, "", "", "params.env"},
		{"execution() is not there yet", map[string]any{"env": map[string]any{"who": "<% execution().id %>"}}, "", "", "before the execution exists"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ex, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "env_wf", Params: tc.params})
			if tc.refused != "" {
				var br interface{ BadRequest() bool }
				if !errors.As(err, &br) || !strings.Contains(err.Error(), tc.refused) {
					t.Fatalf("start: %v, want a bad request saying %q", err, tc.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var params map[string]json.RawMessage
			if err := json.Unmarshal(ex.Params, &params); err != nil {
				t.Fatal(err)
			}
			if got := compactJSON(t, params["env"]); got != tc.env {
				t.Errorf("params.env = %s, want %s", got, tc.env)
			}
			done := r.wait(t, ex.ID)
			var out map[string]any
			if err := json.Unmarshal(done.Output, &out); err != nil {
				t.Fatalf("output %s: %v", done.Output, err)
			}
			if done.State != store.StateSuccess || jsonString(out["who"]) != tc.who || jsonString(out["also"]) != tc.who {
				t.Errorf("execution = %s %s, output %s; want who %q", done.State, done.StateInfo, done.Output, tc.who)
			}
		})
	}

	// A change of the environment reaches only executions started after it.
	before, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "env_wf", Params: map[string]any{"env": "prod"}})
	if err != nil {
		t.Fatal(err)
	}
	upd, err := r.eng.UpdateEnvironment(ctx, api.EnvironmentRequest{Name: "prod", Variables: []byte(`{"who":"changed"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if upd.Description != "the real one" || upd.UpdatedAt.IsZero() {
		t.Errorf("update of the variables only = %+v", upd)
	}
	after, err := r.eng.StartExecution(ctx, api.StartRequest{WorkflowName: "env_wf", Params: map[string]any{"env": "prod"}})
	if err != nil {
		t.Fatal(err)
	}
	for ex, want := range map[string]string{before.ID: `{"who":"stored"}`, after.ID: `{"who":"changed"}`} {
		if got := string(r.wait(t, ex).Output); !strings.Contains(got, strings.Trim(want, "{}")) {
			t.Errorf("execution %s output %s, want who from %s", ex, got, want)
		}
	}
}

// TestEnvironmentCRUD: names are unique, updates keep what they do not
// give, deletes are final.
func TestEnvironmentCRUD(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	req := api.EnvironmentRequest{Name: "e", Variables: []byte(`{"a":1}`), Scope: ptr("public")}
	if _, err := r.eng.CreateEnvironment(ctx, req); err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.CreateEnvironment(ctx, req); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second create: %v, want a conflict", err)
	}
	if _, err := r.eng.UpdateEnvironment(ctx, api.EnvironmentRequest{Name: "ghost"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a missing environment: %v", err)
	}
	got, err := r.eng.UpdateEnvironment(ctx, api.EnvironmentRequest{Name: "e", Description: ptr("d")})
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Variables) != `{"a":1}` || got.Scope != "public" || got.Description != "d" {
		t.Errorf("after an update of the description = %+v", got)
	}
	list, err := r.eng.ListEnvironments(ctx, store.ListOpts{})
	if err != nil || len(list) != 1 {
		t.Fatalf("list = %v, %v", list, err)
	}
	if err := r.eng.DeleteEnvironment(ctx, "e"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.GetEnvironment(ctx, "e"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
}

func compactJSON(t *testing.T, raw []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSpace(b.String())
}

// jsonString shows a decoded JSON value the way the table writes it.
func jsonString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}
