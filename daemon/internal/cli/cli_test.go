package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/api/apitest"
	"github.com/sirocco-wf/sirocco/daemon/internal/cli"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
)

const helloYAML = `version: '2.0'
hello_wf:
  input:
    - name: world
  tasks:
    t1:
      action: std.echo output="Hello"
`

type env struct {
	t     *testing.T
	fake  *apitest.Fake
	url   string
	dir   string
	stdin string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	f := apitest.New()
	srv := httptest.NewServer(api.New(f, hclog.NewNullLogger(), api.Options{}))
	t.Cleanup(srv.Close)
	return &env{t: t, fake: f, url: srv.URL, dir: t.TempDir()}
}

// run executes the CLI with args against the test server and returns what
// it printed and the error Execute returned.
func (e *env) run(args ...string) (string, error) {
	e.t.Helper()
	root := cli.NewRoot(nil, nil)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(e.stdin))
	root.SetArgs(append([]string{"--url", e.url}, args...))
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func (e *env) file(name, content string) string {
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) mustRun(args ...string) string {
	e.t.Helper()
	out, err := e.run(args...)
	if err != nil {
		e.t.Fatalf("sirocco %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (e *env) startHello() string {
	e.t.Helper()
	e.mustRun("workflow", "create", e.file("hello.yaml", helloYAML))
	var x struct{ ID string }
	if err := json.Unmarshal([]byte(e.mustRun("execution", "start", "hello_wf", "-o", "json")), &x); err != nil {
		e.t.Fatal(err)
	}
	return x.ID
}

func TestCommands(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(e *env) []string // returns the command line
		want    []string              // substrings of the output
		wantErr string                // substring of the error; "" for success
	}{
		{"workflow create prints a table", func(e *env) []string {
			return []string{"workflow", "create", e.file("wf.yaml", helloYAML)}
		}, []string{"ID", "NAME", "hello_wf", `name="world"`, "2026-11-30 12:00:00"}, ""},
		{"workflow create reads stdin", func(e *env) []string {
			e.stdin = helloYAML
			return []string{"workflow", "create", "-"}
		}, []string{"hello_wf"}, ""},
		{"malformed YAML: the server's detail, with the line", func(e *env) []string {
			return []string{"workflow", "create", e.file("bad.yaml", "version: '2.0'\nwf:\n  tasks: [\n")}
		}, nil, "line"},
		{"missing file", func(e *env) []string {
			return []string{"workflow", "create", filepath.Join(e.dir, "nope.yaml")}
		}, nil, "reading the workflow document"},
		{"workflow list", func(e *env) []string {
			e.mustRun("workflow", "create", e.file("wf.yaml", helloYAML))
			return []string{"workflow", "list"}
		}, []string{"hello_wf"}, ""},
		{"workflow get", func(e *env) []string {
			e.mustRun("workflow", "create", e.file("wf.yaml", helloYAML))
			return []string{"workflow", "get", "hello_wf"}
		}, []string{"Name:", "hello_wf", "Definition:", "std.echo"}, ""},
		{"workflow get unknown: 404 detail, not a dump", func(*env) []string {
			return []string{"workflow", "get", "nope_wf"}
		}, nil, `workflow "nope_wf": not found`},
		{"execution start with input", func(e *env) []string {
			e.mustRun("workflow", "create", e.file("wf.yaml", helloYAML))
			return []string{"execution", "start", "hello_wf", "--input", `{"name":"x"}`, "--params", "@" + e.file("p.json", `{"env":{"a":1}}`)}
		}, []string{"State:", "RUNNING", `{"name":"x"}`, `{"env":{"a":1}}`}, ""},
		{"execution start with bad --input", func(*env) []string {
			return []string{"execution", "start", "hello_wf", "--input", `[1]`}
		}, nil, "--input: not a JSON object"},
		{"execution start with input the workflow lacks", func(e *env) []string {
			e.mustRun("workflow", "create", e.file("wf.yaml", helloYAML))
			return []string{"execution", "start", "hello_wf", "--input", `{"bogus":1}`}
		}, nil, `has no input "bogus"`},
		{"execution get", func(e *env) []string {
			return []string{"execution", "get", e.startHello()}
		}, []string{"Workflow name:", "hello_wf", "Output:", "Project ID:"}, ""},
		{"execution list", func(e *env) []string {
			e.startHello()
			return []string{"execution", "list"}
		}, []string{"WORKFLOW", "hello_wf", "RUNNING"}, ""},
		{"task list", func(e *env) []string {
			id := e.startHello()
			e.fake.AddTask(&store.TaskExecution{ExecutionID: id, Name: "t1", State: store.StateSuccess, Published: []byte(`{"g":"hi"}`)})
			return []string{"task", "list", id}
		}, []string{"NAME", "t1", "SUCCESS", `{"g":"hi"}`}, ""},
		{"task list of unknown execution", func(*env) []string {
			return []string{"task", "list", "nope"}
		}, nil, `execution "nope": not found`},
		{"bad --output", func(*env) []string {
			return []string{"workflow", "list", "-o", "xml"}
		}, nil, "--output must be table, json or yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			out, err := e.run(tc.setup(e)...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q\n%s", err, tc.wantErr, out)
				}
				if strings.Contains(err.Error(), "{") {
					t.Errorf("error dumps a body: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("error: %v\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestJSONOutput(t *testing.T) {
	e := newEnv(t)
	id := e.startHello()
	var got []map[string]any
	if err := json.Unmarshal([]byte(e.mustRun("execution", "list", "-o", "json")), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0]["id"] != id || got[0]["state"] != "RUNNING" {
		t.Errorf("execution list -o json = %v", got)
	}
}

func TestStartWait(t *testing.T) {
	tests := []struct {
		name      string
		state     string
		info      string
		want      []string
		wantError bool
	}{
		{"success prints the output", store.StateSuccess, "", []string{": SUCCESS", "Output:", `"greeting": "Hello, x"`}, false},
		{"error exits non-zero with state_info", store.StateError, "Failure caused by error in tasks: t1", []string{": ERROR", "State info: Failure caused by error in tasks: t1"}, true},
		{"cancelled is not success", store.StateCancel, "", []string{": CANCELLED"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.mustRun("workflow", "create", e.file("wf.yaml", helloYAML))
			polls := 0
			e.fake.OnGet = func(x *store.Execution) {
				polls++
				if polls >= 3 { // RUNNING for two polls, then done
					x.State, x.StateInfo, x.Output = tc.state, tc.info, []byte(`{"greeting":"Hello, x"}`)
				}
			}
			out, err := e.run("execution", "start", "hello_wf", "--wait")
			if tc.wantError != (err != nil) {
				t.Fatalf("error = %v\n%s", err, out)
			}
			if err != nil && !errors.Is(err, cli.ErrExecutionFailed) {
				t.Errorf("error %v does not wrap ErrExecutionFailed", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if polls < 3 {
				t.Errorf("polled %d times; the command returned before the end", polls)
			}
		})
	}
}

func TestURLFromEnvironment(t *testing.T) {
	e := newEnv(t)
	t.Setenv("SIROCCO_URL", e.url)
	root := cli.NewRoot(nil, nil)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"workflow", "list"})
	if err := root.Execute(); err != nil {
		t.Fatalf("with SIROCCO_URL: %v", err)
	}
	if !strings.Contains(out.String(), "NAME") {
		t.Errorf("output = %q", out.String())
	}
}

func TestUnreachableServer(t *testing.T) {
	root := cli.NewRoot(nil, nil)
	root.SetOut(&bytes.Buffer{})
	root.SetErr(&bytes.Buffer{})
	root.SetArgs([]string{"--url", "http://127.0.0.1:1", "workflow", "list"})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "cannot reach the Sirocco server") {
		t.Errorf("error = %v", err)
	}
	root.SetArgs([]string{"--url", "ftp://x", "workflow", "list"})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "want http://") {
		t.Errorf("error = %v", err)
	}
}
