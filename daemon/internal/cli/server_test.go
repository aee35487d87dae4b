package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/sirocco-wf/sirocco/daemon/internal/cli"
)

// The CLI against a real embedded server (NATS, SQLite, engine, executor
// host with the built-in actions): every command group once, the live
// progress of start --wait and watch, and the exit codes scripts rely on.

const serverWorkflows = `---
version: '2.0'
steps_wf:
  input:
    - who: world
  output:
    greeting: <% $.greeting %>
  tasks:
    greet:
      action: std.echo output="Hello, <% $.who %>"
      publish:
        greeting: <% task().result %>
      on-success: [left, right]
    left:
      action: std.noop
      on-success: done
    right:
      action: std.noop
      on-success: done
    done:
      join: all
      action: std.noop
fail_wf:
  tasks:
    ok:
      action: std.noop
      on-success: boom
    boom:
      action: std.fail
async_wf:
  tasks:
    wait:
      action: std.async_noop
      on-success: after
    after:
      action: std.echo output="after"
`

// split runs the CLI with stdout and stderr apart.
func (e *env) split(args ...string) (stdout, stderr string, err error) {
	e.t.Helper()
	root := cli.NewRoot(nil, nil)
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(e.stdin))
	root.SetArgs(append([]string{"--url", e.url}, args...))
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func (e *env) json(v any, args ...string) {
	e.t.Helper()
	out := e.mustRun(append(args, "-o", "json")...)
	require.NoError(e.t, json.Unmarshal([]byte(out), v), out)
}

// progressLines are the plain progress lines of an output, as
// "kind name state".
func progressLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 4 && strings.HasSuffix(f[0], "s") && (f[1] == "task" || f[1] == "execution") {
			lines = append(lines, strings.Join(f[1:4], " "))
		}
	}
	return lines
}

func TestAgainstServer(t *testing.T) {
	e := &env{t: t, url: startServer(t, t.TempDir()), dir: t.TempDir()}
	e.mustRun("workflow", "create", e.file("wf.yaml", serverWorkflows))

	t.Run("start --wait shows every task's progress, then the output", func(t *testing.T) {
		out := e.mustRun("execution", "start", "steps_wf", "--input", `{"who": "Sirocco"}`, "--wait")
		lines := progressLines(out)
		for _, task := range []string{"greet", "left", "right", "done"} {
			require.Contains(t, lines, "task "+task+" SUCCESS", out)
		}
		require.Equal(t, "execution steps_wf SUCCESS", lines[len(lines)-1], "the execution's end comes last:\n%s", out)
		require.Contains(t, out, `"greeting": "Hello, Sirocco"`)
		require.Less(t, strings.Index(out, "task       done"), strings.Index(out, "Output:"))
	})

	var failedID string
	t.Run("a failed execution exits non-zero and names the failed task", func(t *testing.T) {
		out, err := e.run("execution", "start", "fail_wf", "--wait")
		require.ErrorIs(t, err, cli.ErrExecutionFailed)
		require.Contains(t, progressLines(out), "task boom ERROR", out)
		require.Contains(t, out, ": ERROR")
		failedID = strings.Fields(out[strings.Index(out, "Execution "):])[1]
		failedID = strings.TrimSuffix(failedID, ":")
	})

	t.Run("json output: the final execution on stdout, the progress on stderr", func(t *testing.T) {
		stdout, stderr, err := e.split("execution", "start", "steps_wf", "--wait", "-o", "json")
		require.NoError(t, err, stderr)
		var ex map[string]any
		require.NoError(t, json.Unmarshal([]byte(stdout), &ex), stdout)
		require.Equal(t, "SUCCESS", ex["state"])
		require.Contains(t, progressLines(stderr), "task done SUCCESS")
	})

	t.Run("watch an ended execution", func(t *testing.T) {
		out, err := e.run("execution", "watch", failedID)
		require.ErrorIs(t, err, cli.ErrExecutionFailed)
		require.Contains(t, progressLines(out), "task ok SUCCESS", out)
		require.Contains(t, progressLines(out), "task boom ERROR", out)
	})

	t.Run("watch follows an execution that waits, and action-execution update completes it", func(t *testing.T) {
		var ex map[string]any
		e.json(&ex, "execution", "start", "async_wf")
		id := ex["id"].(string)
		type result struct {
			out string
			err error
		}
		watched := make(chan result, 1)
		go func() {
			out, err := e.run("execution", "watch", id)
			watched <- result{out, err}
		}()
		var tasks []map[string]any
		require.Eventually(t, func() bool {
			e.json(&tasks, "task", "list", id)
			return len(tasks) == 1 && tasks[0]["state"] == "RUNNING"
		}, 30*time.Second, 50*time.Millisecond)
		var aes []map[string]any
		e.json(&aes, "action-execution", "list", "--task", tasks[0]["id"].(string))
		require.Len(t, aes, 1)
		select {
		case r := <-watched:
			t.Fatalf("watch ended while the execution waited: %v\n%s", r.err, r.out)
		default:
		}
		e.mustRun("action-execution", "update", aes[0]["id"].(string), "--state", "SUCCESS", "--output", `"done"`)
		r := <-watched
		require.NoError(t, r.err, r.out)
		lines := progressLines(r.out)
		require.Contains(t, lines, "task wait SUCCESS", r.out)
		require.Contains(t, lines, "task after SUCCESS", r.out)
		require.Equal(t, "done", strings.TrimSpace(strings.Trim(e.mustRun("task", "result", tasks[0]["id"].(string)), "\"\n")))
	})

	t.Run("cancel and delete", func(t *testing.T) {
		var ex map[string]any
		e.json(&ex, "execution", "start", "async_wf")
		id := ex["id"].(string)
		_, err := e.run("execution", "delete", id)
		require.Error(t, err, "a running execution is not deleted")
		out := e.mustRun("execution", "cancel", id, "--reason", "not needed")
		require.Contains(t, out, "CANCELLED")
		require.Contains(t, e.mustRun("execution", "delete", id), "deleted execution "+id)
		_, err = e.run("execution", "get", id)
		require.ErrorContains(t, err, "not found")
	})

	t.Run("yaml output parses and keeps the wire's names", func(t *testing.T) {
		var list []map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(e.mustRun("execution", "list", "--workflow", "steps_wf", "-o", "yaml")), &list))
		require.Len(t, list, 2)
		for _, x := range list {
			require.Equal(t, "SUCCESS", x["state"])
			require.Equal(t, "steps_wf", x["workflow_name"])
		}
	})

	t.Run("read commands", func(t *testing.T) {
		tests := []struct {
			args []string
			want []string
		}{
			{[]string{"workflow", "list"}, []string{"NAME", "steps_wf", "fail_wf", "who=\"world\""}},
			{[]string{"workflow", "get", "fail_wf"}, []string{"Name:", "fail_wf", "Definition:", "std.fail"}},
			{[]string{"workflow", "definition", "fail_wf"}, []string{"version: '2.0'", "async_wf:"}},
			{[]string{"execution", "list", "--state", "ERROR"}, []string{failedID, "fail_wf", "ERROR"}},
			{[]string{"execution", "get", failedID}, []string{"State:", "ERROR", "State info:"}},
			{[]string{"execution", "input", failedID}, []string{"{}"}},
			{[]string{"task", "list", failedID}, []string{"NAME", "ok", "boom", "ERROR"}},
			{[]string{"task", "list", "--state", "ERROR"}, []string{"boom"}},
			{[]string{"action-execution", "list", "--action", "std.fail"}, []string{"std.fail", "fail_wf", "boom", "ERROR"}},
			{[]string{"action", "list"}, []string{"std.echo", "builtin", "output, delay=0"}},
			{[]string{"action", "get", "std.echo"}, []string{"Name:", "std.echo", "Input schema:"}},
			{[]string{"executors"}, []string{"HOST", "default"}},
			{[]string{"plugin", "status"}, []string{"NAME", "HEALTH"}},
			{[]string{"status"}, []string{"Ready:", "true", "Checks:"}},
		}
		for _, tc := range tests {
			out, err := e.run(tc.args...)
			require.NoError(t, err, "sirocco %s\n%s", strings.Join(tc.args, " "), out)
			for _, w := range tc.want {
				require.Contains(t, out, w, "sirocco %s", strings.Join(tc.args, " "))
			}
		}
	})

	t.Run("rerun a failed task", func(t *testing.T) {
		var tasks []map[string]any
		e.json(&tasks, "task", "list", failedID, "--name", "boom")
		require.Len(t, tasks, 1)
		out, err := e.run("task", "rerun", tasks[0]["id"].(string))
		require.NoError(t, err, out)
		out, err = e.run("execution", "watch", failedID)
		require.ErrorIs(t, err, cli.ErrExecutionFailed, "std.fail fails again")
		require.Contains(t, progressLines(out), "task boom ERROR")
	})

	t.Run("run an action without a workflow", func(t *testing.T) {
		var ran map[string]any
		e.json(&ran, "action-execution", "run", "std.echo", "--input", `{"output": {"x": 1}}`)
		require.Equal(t, "SUCCESS", ran["state"])
		require.JSONEq(t, `{"result": {"x": 1}}`, ran["output"].(string))

		e.json(&ran, "action-execution", "run", "std.echo", "--input", `{"output": 2}`, "--save", "--sync")
		id := ran["id"].(string)
		require.Contains(t, e.mustRun("action-execution", "get", id), "SUCCESS")
		require.Contains(t, e.mustRun("action-execution", "delete", id), "deleted action execution "+id)
		_, err := e.run("action-execution", "get", id)
		require.ErrorContains(t, err, "not found")
	})

	t.Run("workflow update and delete", func(t *testing.T) {
		changed := strings.Replace(serverWorkflows, `action: std.fail`, `action: std.fail error_data="changed"`, 1)
		require.Contains(t, e.mustRun("workflow", "update", e.file("wf2.yaml", changed)), "fail_wf")
		require.Contains(t, e.mustRun("workflow", "definition", "fail_wf"), `error_data="changed"`)
		require.Contains(t, e.mustRun("workflow", "delete", "fail_wf"), "deleted workflow fail_wf")
		_, err := e.run("workflow", "get", "fail_wf")
		require.ErrorContains(t, err, "not found")
	})

	t.Run("validate on the server", func(t *testing.T) {
		require.Contains(t, e.mustRun("validate", "--server", e.file("ok.yaml", serverWorkflows)), "valid workflow")
		out, err := e.run("validate", "--server", e.file("bad.yaml", "version: '2.0'\nwf:\n  tasks:\n    a:\n      action: std.noop\n      on-success: nowhere\n"))
		require.ErrorIs(t, err, cli.ErrInvalidDefinition)
		require.Contains(t, out, "nowhere")
	})

	t.Run("environments", func(t *testing.T) {
		file := e.file("env.yaml", "name: prod\ndescription: production\nvariables:\n  zeta: 1\n  alpha: [a, b]\n")
		require.Contains(t, e.mustRun("environment", "create", file), "prod")
		var got map[string]any
		e.json(&got, "environment", "get", "prod")
		require.Equal(t, `{"zeta":1,"alpha":["a","b"]}`, got["variables"], "the file's order is kept")
		require.Contains(t, e.mustRun("environment", "update", e.file("env2.yaml", "name: prod\ndescription: changed\n")), "changed")
		require.Contains(t, e.mustRun("environment", "list"), "prod")
		require.Contains(t, e.mustRun("environment", "delete", "prod"), "deleted environment prod")
		_, err := e.run("environment", "create", e.file("env3.yaml", "name: x\nvars: {}\n"))
		require.ErrorContains(t, err, "unknown key(s) vars")
	})

	t.Run("workbooks", func(t *testing.T) {
		wb := "version: '2.0'\nname: book\nworkflows:\n  inner:\n    tasks:\n      a:\n        action: std.noop\n"
		require.Contains(t, e.mustRun("workbook", "create", e.file("wb.yaml", wb)), "book")
		require.Contains(t, e.mustRun("workbook", "list"), "book")
		require.Contains(t, e.mustRun("workbook", "definition", "book"), "inner:")
		require.Contains(t, e.mustRun("workbook", "update", e.file("wb2.yaml", wb+"tags: [x]\n")), "book")
		require.Contains(t, e.mustRun("workbook", "delete", "book"), "deleted workbook book")
	})

	t.Run("shell completion asks the server", func(t *testing.T) {
		out := e.mustRun("__complete", "execution", "get", "")
		require.Contains(t, out, failedID+"\tfail_wf")
		out = e.mustRun("__complete", "execution", "start", "st")
		require.Contains(t, out, "steps_wf")
		require.NotContains(t, out, "async_wf")
		require.Contains(t, e.mustRun("completion", "bash"), "bash completion")
	})
}

// TestEveryOperationHasACommand reads the server's OpenAPI document and
// checks that each operation has a CLI command, so a new endpoint cannot
// be added without one (or a reason here why not).
func TestEveryOperationHasACommand(t *testing.T) {
	url := startServer(t, t.TempDir())
	commands := map[string]string{
		"GET /healthz":                                "status",
		"GET /readyz":                                 "status",
		"POST /v2/workflows":                          "workflow create",
		"PUT /v2/workflows":                           "workflow update",
		"GET /v2/workflows":                           "workflow list",
		"GET /v2/workflows/{identifier}":              "workflow get",
		"DELETE /v2/workflows/{identifier}":           "workflow delete",
		"POST /v2/workflows/validate":                 "validate",
		"POST /v2/workbooks/validate":                 "validate",
		"POST /v2/actions/validate":                   "validate",
		"POST /v2/executions":                         "execution start",
		"GET /v2/executions":                          "execution list",
		"GET /v2/executions/{id}":                     "execution get",
		"PUT /v2/executions/{id}":                     "execution update",
		"DELETE /v2/executions/{id}":                  "execution delete",
		"GET /v2/executions/{id}/tasks":               "task list",
		"GET /v2/executions/{id}/events":              "execution watch",
		"GET /v2/tasks":                               "task list",
		"GET /v2/tasks/{id}":                          "task get",
		"PUT /v2/tasks/{id}":                          "task rerun",
		"GET /v2/tasks/{id}/action_executions":        "action-execution list",
		"GET /v2/action_executions":                   "action-execution list",
		"POST /v2/action_executions":                  "action-execution run",
		"GET /v2/action_executions/{id}":              "action-execution get",
		"PUT /v2/action_executions/{id}":              "action-execution update",
		"DELETE /v2/action_executions/{id}":           "action-execution delete",
		"GET /v2/actions":                             "action list",
		"GET /v2/actions/{name}":                      "action get",
		"POST /v2/actions":                            "action create",
		"PUT /v2/actions":                             "action update",
		"DELETE /v2/actions/{identifier}":             "action delete",
		"GET /v2/plugins":                             "plugin status",
		"GET /v2/executors":                           "executors",
		"POST /v2/cron_triggers":                      "cron-trigger create",
		"GET /v2/cron_triggers":                       "cron-trigger list",
		"GET /v2/cron_triggers/{identifier}":          "cron-trigger get",
		"DELETE /v2/cron_triggers/{identifier}":       "cron-trigger delete",
		"POST /v2/environments":                       "environment create",
		"PUT /v2/environments":                        "environment update",
		"GET /v2/environments":                        "environment list",
		"GET /v2/environments/{name}":                 "environment get",
		"DELETE /v2/environments/{name}":              "environment delete",
		"POST /v2/workbooks":                          "workbook create",
		"PUT /v2/workbooks":                           "workbook update",
		"GET /v2/workbooks":                           "workbook list",
		"GET /v2/workbooks/{name}":                    "workbook get",
		"DELETE /v2/workbooks/{name}":                 "workbook delete",
		"GET /v2/actions/{name}/":                     "-", // python-mistralclient's spelling of GET /v2/actions/{name}
		"GET /v2/actions/{name}/{namespace}":          "-", // only the default namespace exists
		"PUT /v2/actions/{identifier}":                "-", // action update names the actions in its document
		"DELETE /v2/actions/{identifier}/":            "-", // python-mistralclient's spelling
		"DELETE /v2/actions/{identifier}/{namespace}": "-",
	}
	resp, err := http.Get(url + "/openapi.json")
	require.NoError(t, err)
	defer resp.Body.Close()
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
	root := cli.NewRoot(nil, nil)
	var missing []string
	for path, ops := range doc.Paths {
		for method := range ops {
			op := strings.ToUpper(method) + " " + path
			cmd, ok := commands[op]
			switch {
			case !ok && !strings.HasPrefix(path, "/v2/") && path != "/healthz" && path != "/readyz":
				// Not Mistral's API (the Keystone stand-in for
				// python-mistralclient's authentication).
			case !ok:
				missing = append(missing, op)
			case cmd != "-":
				found, _, err := root.Find(strings.Fields(cmd))
				require.NoError(t, err, "%s: command %q", op, cmd)
				require.Equal(t, cmd, strings.TrimPrefix(found.CommandPath(), "sirocco "), "%s: command %q", op, cmd)
			}
		}
	}
	sort.Strings(missing)
	require.Empty(t, missing, "operations without a CLI command: add one, or say why not in this test")
}
