package mistralclient

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestMistralClientActions runs the client's ad-hoc action commands
// (action-create, -get, -list, -update, -delete), run-action in its three
// forms and action-execution-update of an async action, and compares
// each table with the real Mistral 15's answer to the same command
// (testdata/mistral15, see the README).
func TestMistralClientActions(t *testing.T) {
	if _, err := exec.LookPath("mistral"); err != nil {
		t.Skip("python-mistralclient not installed (Debian: python3-mistralclient); .ci/run installs it")
	}
	s := start(t)
	c := newClient(t, s)

	created := c.exec(t, "action-create", "greet.yaml").ok(t)
	sameColumns(t, created, "action-create.txt")
	if !strings.Contains(created.stdout, `| name, punct="!" |`) {
		t.Errorf("action-create does not show the input as Mistral 15 does (name, punct=\"!\"):\n%s", created.stdout)
	}

	steps := []struct {
		args   []string
		golden string
		check  func(*testing.T, result)
	}{
		{[]string{"action-get", "greet"}, "action-get-adhoc.txt", func(t *testing.T, r result) {
			if d := cell(r.stdout, "Description"); d != "Says hello." {
				t.Errorf("description %q", d)
			}
		}},
		{[]string{"action-list"}, "action-list.txt", func(t *testing.T, r result) {
			for _, name := range []string{"greet", "std.echo", "std.async_noop"} {
				if !strings.Contains(r.stdout, "| "+name+" ") {
					t.Errorf("action-list does not show %s:\n%s", name, r.stdout)
				}
			}
		}},
		{[]string{"action-update", "greet2.yaml"}, "action-update.txt", func(t *testing.T, r result) {
			if !strings.Contains(r.stdout, "Says hello again.") {
				t.Errorf("action-update does not show the new description:\n%s", r.stdout)
			}
		}},
		{[]string{"run-action", "std.echo", `{"output": "hi"}`, "-s"}, "run-action-save.txt", func(t *testing.T, r result) {
			if st := cell(r.stdout, "State"); st != "RUNNING" {
				t.Errorf("run-action -s answers state %q, Mistral 15 RUNNING (the result is saved later)", st)
			}
		}},
	}
	for _, st := range steps {
		t.Run(st.args[0], func(t *testing.T) {
			r := c.run(t, st.args...).ok(t)
			sameColumns(t, r, st.golden)
			st.check(t, r)
		})
	}

	t.Run("run-action prints the output", func(t *testing.T) {
		sameJSON(t, c.run(t, "run-action", "std.echo", `{"output": "hi"}`).ok(t), "run-action.txt")
		// Sirocco reshapes an ad-hoc action's result by its output here
		// too; Mistral 15 skips that for a run it does not save (its
		// run-action-adhoc.txt), but applies it to every other run.
		r := c.run(t, "run-action", "greet", `{"name": "Ann"}`).ok(t)
		var got any
		want := map[string]any{"result": map[string]any{"text": "Hello, Ann!"}}
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("run-action greet printed %q (%v), want %v", r.stdout, err, want)
		}
	})

	t.Run("run-action refusals", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			text string
		}{
			{[]string{"run-action", "std.async_noop", "--run-sync"}, "Action does not support synchronous execution"},
			{[]string{"run-action", "no.such"}, "no.such"},
		} {
			r := c.run(t, tc.args...)
			if r.code == 0 || !strings.Contains(r.both, tc.text) {
				t.Errorf("mistral %s: exit %d, want an error naming %q\n%s", strings.Join(tc.args, " "), r.code, tc.text, r.both)
			}
		}
	})

	t.Run("action-execution-update completes an async action", func(t *testing.T) {
		id := cell(c.run(t, "run-action", "std.async_noop", "-s").ok(t).stdout, "ID")
		up := c.run(t, "action-execution-update", "--state", "SUCCESS", "--output", `{"x": 1}`, id).ok(t)
		sameColumns(t, up, "action-execution-update.txt")
		if st := cell(up.stdout, "State"); st != "SUCCESS" {
			t.Errorf("action-execution-update: state %q", st)
		}
		sameJSON(t, c.run(t, "action-execution-get-output", id).ok(t), "action-execution-get-output.txt")
		// As in Mistral, a result is given once.
		if r := c.run(t, "action-execution-update", "--state", "SUCCESS", "--output", `{"x": 2}`, id); r.code == 0 {
			t.Errorf("a second action-execution-update succeeded:\n%s", r.both)
		}
		// Mistral's operator may allow deleting an ended run without a
		// workflow (its default refuses); Sirocco allows it.
		del := c.run(t, "action-execution-delete", id).ok(t)
		if want := "Request to delete action execution " + id + " has been accepted.\n"; del.both != want {
			t.Errorf("action-execution-delete printed %q, want %q", del.both, want)
		}
	})

	t.Run("action-delete", func(t *testing.T) {
		r := c.run(t, "action-delete", "greet").ok(t)
		if want := golden(t, "action-delete.txt"); r.both != want {
			t.Errorf("action-delete printed %q, Mistral 15 prints %q", r.both, want)
		}
		if r := c.run(t, "action-get", "greet"); r.code == 0 || !strings.Contains(r.both, "greet") {
			t.Errorf("action-get of a deleted action: exit %d\n%s", r.code, r.both)
		}
	})
}

// TestActionFieldNames compares the member names of the answers of the
// ad-hoc action and action run endpoints with the real Mistral's,
// captured in the API's testdata with the same requests.
func TestActionFieldNames(t *testing.T) {
	s := start(t)
	send := func(method, path, ctype, body string, status int) []byte {
		t.Helper()
		req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != status {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, status)
		}
		return b
	}
	yaml := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	compareFields(t, "POST /v2/actions", send("POST", "/v2/actions?scope=private", "text/plain", yaml("greet.yaml"), 201), "actions_create.json")
	compareFields(t, "PUT /v2/actions", send("PUT", "/v2/actions?scope=private", "text/plain", yaml("greet2.yaml"), 200), "actions_update.json")
	compareFields(t, "GET /v2/actions/greet", send("GET", "/v2/actions/greet", "", "", 200), "actions_get_adhoc.json")
	compareFields(t, "POST /v2/action_executions", send("POST", "/v2/action_executions", "application/json",
		`{"name":"std.echo","input":"{\"output\": \"hi\"}","description":"d1"}`, 201), "action_executions_run.json")
	saved := send("POST", "/v2/action_executions", "application/json",
		`{"name":"std.echo","input":"{\"output\": \"hi\"}","params":"{\"save_result\": true}"}`, 201)
	compareFields(t, "POST /v2/action_executions with save_result", saved, "action_executions_run_saved.json")
	var run struct{ ID string }
	if err := json.Unmarshal(saved, &run); err != nil || run.ID == "" {
		t.Fatalf("no id in %s (%v)", saved, err)
	}
	compareFields(t, "GET /v2/action_executions/{id}", send("GET", "/v2/action_executions/"+run.ID, "", "", 200), "action_executions_get_adhoc.json")
	async := send("POST", "/v2/action_executions", "application/json", `{"name":"std.async_noop"}`, 201)
	if err := json.Unmarshal(async, &run); err != nil || run.ID == "" {
		t.Fatalf("no id in %s (%v)", async, err)
	}
	compareFields(t, "PUT /v2/action_executions/{id}", send("PUT", "/v2/action_executions/"+run.ID, "application/json",
		`{"state":"SUCCESS","output":"{\"x\": 1}"}`, 200), "action_executions_update.json")
}
