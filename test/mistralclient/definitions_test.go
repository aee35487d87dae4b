package mistralclient

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestMistralClientEnvironmentsAndWorkbooks runs the client's environment
// and workbook commands, and executions that use them (a workbook's
// workflow, params.env naming a stored environment), and compares each
// answer with the real Mistral 15's to the same command
// (testdata/mistral15, see the README).
func TestMistralClientEnvironmentsAndWorkbooks(t *testing.T) {
	if _, err := exec.LookPath("mistral"); err != nil {
		t.Skip("python-mistralclient not installed (Debian: python3-mistralclient); .ci/run installs it")
	}
	s := start(t)
	c := newClient(t, s)

	created := c.exec(t, "environment-create", "env.yaml").ok(t)
	sameColumns(t, created, "environment-create.txt")
	if !strings.Contains(created.stdout, `"who": "client"`) {
		t.Errorf("environment-create does not show the variables:\n%s", created.stdout)
	}
	exact := func(t *testing.T, r result, g string) {
		if want := golden(t, g); r.stdout != want {
			t.Errorf("mistral %s printed\n%s\nMistral 15 printed\n%s", strings.Join(r.args, " "), r.stdout, want)
		}
	}
	lists := func(name string) func(*testing.T, result, string) {
		return func(t *testing.T, r result, g string) {
			sameColumns(t, r, g)
			if !strings.Contains(r.stdout, "| "+name+" ") {
				t.Errorf("mistral %s does not show %s:\n%s", strings.Join(r.args, " "), name, r.stdout)
			}
		}
	}
	steps := []struct {
		args   []string
		golden string
		check  func(*testing.T, result, string)
	}{
		{[]string{"environment-list"}, "environment-list.txt", lists("mc_env")},
		{[]string{"environment-get", "mc_env"}, "environment-get.txt", sameColumns},
		{[]string{"workbook-create", "workbook.yaml"}, "workbook-create.txt", sameColumns},
		{[]string{"workbook-list"}, "workbook-list.txt", lists("mc_wb")},
		{[]string{"workbook-get", "mc_wb"}, "workbook-get.txt", sameColumns},
		{[]string{"workbook-get-definition", "mc_wb"}, "workbook-get-definition.txt", exact},
		{[]string{"workflow-get-definition", "mc_wb.hello"}, "workflow-get-definition-workbook.txt", exact},
		{[]string{"workbook-update", "workbook_updated.yaml"}, "workbook-update.txt", func(t *testing.T, r result, g string) {
			sameColumns(t, r, g)
			if at := cell(r.stdout, "Updated at"); at == "" || at == "None" {
				t.Errorf("workbook-update of a changed workbook shows Updated at %q", at)
			}
		}},
	}
	for _, st := range steps {
		t.Run(st.args[0], func(t *testing.T) { st.check(t, c.run(t, st.args...).ok(t), st.golden) })
	}

	t.Run("execution-create of a workbook's workflows, one with env by name", func(t *testing.T) {
		for _, run := range []struct {
			args   []string
			golden string
		}{
			{[]string{"mc_wb.hello", `{"name": "client"}`}, "execution-get-output-workbook.txt"},
			{[]string{"mc_wb.from_env", "{}", `{"env": "mc_env"}`}, "execution-get-output-env.txt"},
		} {
			id := cell(c.run(t, append([]string{"execution-create"}, run.args...)...).ok(t).stdout, "ID")
			if state := waitEnded(t, s, id); state != "SUCCESS" {
				t.Fatalf("execution of %s is %s", run.args[0], state)
			}
			sameJSON(t, c.run(t, "execution-get-output", id).ok(t), run.golden)
		}
		// Mistral: "Environment is not found: nope".
		r := c.run(t, "execution-create", "mc_wb.from_env", "{}", `{"env": "nope"}`)
		if r.code == 0 || !strings.Contains(r.both, `"nope"`) {
			t.Errorf("execution-create with an unknown environment: exit %d\n%s", r.code, r.both)
		}
	})

	t.Run("workbook-delete, environment-delete", func(t *testing.T) {
		for _, d := range []struct{ kind, name, golden string }{
			{"workbook", "mc_wb", "workbook-delete.txt"},
			{"environment", "mc_env", "environment-delete.txt"},
		} {
			r := c.run(t, d.kind+"-delete", d.name).ok(t)
			if want := golden(t, d.golden); r.both != want {
				t.Errorf("%s-delete printed %q, Mistral 15 prints %q", d.kind, r.both, want)
			}
			if r := c.run(t, d.kind+"-get", d.name); r.code == 0 || !strings.Contains(r.both, d.name) {
				t.Errorf("%s-get after %s-delete: exit %d\n%s", d.kind, d.kind, r.code, r.both)
			}
		}
		// As in Mistral, the workbook's workflows stay.
		c.run(t, "workflow-get", "mc_wb.hello").ok(t)
	})
}

// waitEnded polls an execution until it leaves RUNNING and returns its
// state.
func waitEnded(t *testing.T, s *server, id string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var ex struct{ State string }
		s.getJSON(t, "/v2/executions/"+id, &ex)
		if ex.State != "RUNNING" && ex.State != "IDLE" {
			return ex.State
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution %s still %s after 20s", id, ex.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
