package server

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // the "sqlite" database/sql driver

	"github.com/sirocco-wf/sirocco/daemon/internal/transport"
)

// pluginDir holds the real plugin binaries, built once for the package.
var pluginDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sirocco-plugins-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pluginDir = dir
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	// Linking is the slow part; the three builds run side by side.
	plugins := []string{"http", "shell", "openstack"}
	errs := make(chan error, len(plugins))
	for _, p := range plugins {
		go func() {
			cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "sirocco-plugin-"+p), "./plugins/"+p)
			cmd.Dir = root
			out, err := cmd.CombinedOutput()
			if err != nil {
				err = fmt.Errorf("building plugin %s: %w\n%s", p, err, out)
			}
			errs <- err
		}()
	}
	for range plugins {
		if err := <-errs; err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon is one running server in this test process.
type daemon struct {
	url    string
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, cfg Config) *daemon {
	t.Helper()
	ready := make(chan string, 1)
	cfg.Listen = "127.0.0.1:0"
	cfg.PluginDirs = []string{pluginDir}
	if cfg.Roles == nil {
		cfg.Roles = []string{RoleAPI, RoleEngine, RoleExecutor}
	}
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "sirocco", Level: hclog.Warn, Output: testWriter{t}})
	cfg.OnReady = func(addr string) { ready <- addr }
	if cfg.Grace == 0 {
		cfg.Grace = time.Second // tests stop servers often; no need to wait long
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{cancel: cancel, done: make(chan error, 1)}
	go func() { d.done <- Run(ctx, cfg) }()
	select {
	case addr := <-ready:
		d.url = "http://" + addr
	case err := <-d.done:
		cancel()
		t.Fatalf("server did not start: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("server not ready after 60s")
	}
	t.Cleanup(d.stop)
	return d
}

func (d *daemon) stop() {
	if d.cancel == nil {
		return
	}
	d.cancel()
	<-d.done
	d.cancel = nil
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// call sends a request and decodes a JSON answer into out (when not nil).
func call(t *testing.T, method, url, contentType, body string, out any) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, b)
		}
	}
	return resp.StatusCode, string(b)
}

const e2eWorkflow = `---
version: '2.0'
greet_and_fetch:
  input:
    - name
    - url
  output:
    greeting: <% $.greeting %>
    answer: <% $.answer %>
    status: <% task(fetch).result.status %>
  tasks:
    greet:
      action: std.echo output="Hello, <% $.name %>"
      publish:
        greeting: <% task().result %>
      on-success: fetch
    fetch:
      action: std.http url=<% $.url %>
      publish:
        answer: <% task().result.content.answer * 2 %>
`

type execution struct {
	ID        string `json:"id"`
	State     string `json:"state"`
	StateInfo any    `json:"state_info"`
	Input     string `json:"input"`
	Output    string `json:"output"`
	Params    string `json:"params"`
}

// runWorkflow creates the workflow (unless it exists), starts it and waits
// for it to end.
func runWorkflow(t *testing.T, d *daemon, target string) execution {
	t.Helper()
	code, body := call(t, "POST", d.url+"/v2/workflows", "text/plain", e2eWorkflow, nil)
	if code != http.StatusCreated && code != http.StatusConflict {
		t.Fatalf("create workflow: %d %s", code, body)
	}
	input, _ := json.Marshal(map[string]any{"name": "Sirocco", "url": target})
	// Mistral's clients send input as a JSON-encoded string.
	req, _ := json.Marshal(map[string]any{"workflow_name": "greet_and_fetch", "input": string(input)})
	var ex execution
	if code, body := call(t, "POST", d.url+"/v2/executions", "application/json", string(req), &ex); code != http.StatusCreated {
		t.Fatalf("start execution: %d %s", code, body)
	}
	return waitEnd(t, d, ex.ID)
}

// startWorkflow creates a workflow from its YAML text and starts it.
func startWorkflow(t *testing.T, d *daemon, wf, name string) execution {
	t.Helper()
	if code, body := call(t, "POST", d.url+"/v2/workflows", "text/plain", wf, nil); code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	var ex execution
	if code, body := call(t, "POST", d.url+"/v2/executions", "application/json", `{"workflow_name": "`+name+`"}`, &ex); code != http.StatusCreated {
		t.Fatalf("start: %d %s", code, body)
	}
	return ex
}

func waitEnd(t *testing.T, d *daemon, id string) execution {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var ex execution
		if code, body := call(t, "GET", d.url+"/v2/executions/"+id, "", "", &ex); code != http.StatusOK {
			t.Fatalf("get execution: %d %s", code, body)
		}
		if ex.State != "RUNNING" && ex.State != "IDLE" {
			return ex
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution %s still %s after 60s", id, ex.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func jsonServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"answer": 21}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func checkSuccess(t *testing.T, d *daemon, ex execution) {
	t.Helper()
	if ex.State != "SUCCESS" {
		t.Fatalf("execution ended %s: %v", ex.State, ex.StateInfo)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(ex.Output), &out); err != nil {
		t.Fatalf("output %q is not a JSON-encoded object: %v", ex.Output, err)
	}
	want := map[string]any{"greeting": "Hello, Sirocco", "answer": float64(42), "status": float64(200)}
	for k, v := range want {
		if out[k] != v {
			t.Errorf("output[%s] = %#v, want %#v (output %s)", k, out[k], v, ex.Output)
		}
	}
	var tasks struct {
		Tasks []struct {
			Name  string `json:"name"`
			State string `json:"state"`
		} `json:"tasks"`
	}
	if code, body := call(t, "GET", d.url+"/v2/executions/"+ex.ID+"/tasks", "", "", &tasks); code != http.StatusOK {
		t.Fatalf("list tasks: %d %s", code, body)
	}
	got := map[string]string{}
	for _, tk := range tasks.Tasks {
		got[tk.Name] = tk.State
	}
	if len(got) != 2 || got["greet"] != "SUCCESS" || got["fetch"] != "SUCCESS" {
		t.Fatalf("tasks = %v, want greet and fetch in SUCCESS", got)
	}
}

// TestEmbedded runs a workflow of std.echo then std.http (through the real
// http plugin subprocess) in the embedded mode, then checks that a restart
// on the same data dir keeps the workflow and the execution.
func TestEmbedded(t *testing.T) {
	dataDir := t.TempDir()
	d := start(t, Config{DataDir: dataDir})
	ex := runWorkflow(t, d, jsonServer(t).URL)
	checkSuccess(t, d, ex)
	checkMetrics(t, d, []string{
		"sirocco_executions_started_total 1",
		`sirocco_executions_ended_total{state="SUCCESS"} 1`,
		"sirocco_results_applied_total 2",
		`sirocco_executor_actions_total{outcome="success",plugin="builtin"} 1`,
		`sirocco_executor_actions_total{outcome="success",plugin="http"} 1`,
	})
	d.stop()

	d2 := start(t, Config{DataDir: dataDir})
	if code, body := call(t, "GET", d2.url+"/v2/workflows/greet_and_fetch", "", "", nil); code != http.StatusOK {
		t.Fatalf("workflow lost across a restart: %d %s", code, body)
	}
	var again execution
	if code, body := call(t, "GET", d2.url+"/v2/executions/"+ex.ID, "", "", &again); code != http.StatusOK {
		t.Fatalf("execution lost across a restart: %d %s", code, body)
	}
	if again.State != "SUCCESS" || again.Output != ex.Output {
		t.Fatalf("execution changed across a restart: %+v, was %+v", again, ex)
	}
	// The restarted server still runs workflows.
	checkSuccess(t, d2, runWorkflow(t, d2, jsonServer(t).URL))
}

// TestDistributed runs the same workflow against the PostgreSQL server and
// the NATS server this machine runs, with the API, the engine and the
// executor host in three servers, as on three machines.
func TestDistributed(t *testing.T) {
	dbURL := freshDatabase(t)
	prefix := fmt.Sprintf("e2e%d", time.Now().UnixNano())
	common := Config{NATSURL: externalNATS(), NATSPrefix: prefix, DatabaseURL: dbURL}
	// Registered first, so it runs after every server has stopped.
	t.Cleanup(func() { deleteStreams(t, prefix) })

	for _, roles := range [][]string{{RoleExecutor}, {RoleEngine}} {
		cfg := common
		cfg.DataDir = t.TempDir()
		cfg.Roles = roles
		start(t, cfg)
	}
	apiCfg := common
	apiCfg.DataDir = t.TempDir()
	apiCfg.Roles = []string{RoleAPI}
	d := start(t, apiCfg)

	checkSuccess(t, d, runWorkflow(t, d, jsonServer(t).URL))

	// The API process sees the executor host in the registry.
	var list struct {
		Executors []struct {
			Target  string `json:"target"`
			Plugins []struct {
				Name string `json:"name"`
			} `json:"plugins"`
		} `json:"executors"`
	}
	if code, body := call(t, "GET", d.url+"/v2/executors", "", "", &list); code != http.StatusOK {
		t.Fatalf("executors: %d %s", code, body)
	}
	if len(list.Executors) != 1 || list.Executors[0].Target != "default" {
		t.Fatalf("executors = %+v, want the one executor host on target default", list.Executors)
	}
	var names []string
	for _, p := range list.Executors[0].Plugins {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, ","); !strings.Contains(got, "builtin") || !strings.Contains(got, "http") {
		t.Fatalf("executor plugins = %s, want builtin and http among them", got)
	}
}

// TestBadInput checks that bad requests get a 4xx problem+json answer that
// names the problem, and that the server keeps working after them.
func TestBadInput(t *testing.T) {
	d := start(t, Config{DataDir: t.TempDir()})
	if code, body := call(t, "POST", d.url+"/v2/workflows", "text/plain", e2eWorkflow, nil); code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	tests := []struct {
		name     string
		method   string
		path     string
		ctype    string
		body     string
		wantCode int
		wantText string
	}{
		{"malformed YAML names the line", "POST", "/v2/workflows", "text/plain", "version: '2.0'\nwf:\n  tasks:\n    t1:\n      action: \"unclosed\n", 400, "definition:5:"},
		{"unknown key", "POST", "/v2/workflows", "text/plain", "version: '2.0'\nwf:\n  tasks:\n    t1:\n      actoin: std.noop\n", 400, "actoin"},
		{"duplicate workflow", "POST", "/v2/workflows", "text/plain", e2eWorkflow, 409, "greet_and_fetch"},
		{"unknown workflow", "POST", "/v2/executions", "application/json", `{"workflow_name": "nope"}`, 404, "nope"},
		{"input not JSON", "POST", "/v2/executions", "application/json", `{"workflow_name": "greet_and_fetch", "input": "{not json"}`, 400, "input"},
		{"unexpected input", "POST", "/v2/executions", "application/json", `{"workflow_name": "greet_and_fetch", "input": {"name": "a", "url": "b", "extra": 1}}`, 400, "extra"},
		{"missing input", "POST", "/v2/executions", "application/json", `{"workflow_name": "greet_and_fetch", "input": {}}`, 400, "name"},
		{"unknown execution", "GET", "/v2/executions/0000", "", "", 404, "0000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, d.url+tc.path, bytes.NewBufferString(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tc.wantCode, b)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
				t.Errorf("content type = %q, want application/problem+json", ct)
			}
			if !strings.Contains(string(b), tc.wantText) {
				t.Errorf("answer %s does not mention %q", b, tc.wantText)
			}
		})
	}

	t.Run("unknown action", func(t *testing.T) {
		wf := "version: '2.0'\ntypo:\n  tasks:\n    t1:\n      action: std.ecoh output=1\n"
		if code, body := call(t, "POST", d.url+"/v2/workflows", "text/plain", wf, nil); code != http.StatusCreated {
			t.Fatalf("create: %d %s", code, body)
		}
		code, body := call(t, "POST", d.url+"/v2/executions", "application/json", `{"workflow_name": "typo"}`, nil)
		if code != http.StatusBadRequest || !strings.Contains(body, "std.ecoh") {
			t.Fatalf("unknown action: %d %s, want 400 naming std.ecoh", code, body)
		}
	})

	t.Run("input the workflow does not take is refused, naming it", func(t *testing.T) {
		wf := "version: '2.0'\nloop:\n  tasks:\n    t1:\n      with-items: x in [1, 2]\n      action: std.echo output=<% $.x %>\n"
		if code, body := call(t, "POST", d.url+"/v2/workflows", "text/plain", wf, nil); code != http.StatusCreated {
			t.Fatalf("create: %d %s", code, body)
		}
		code, body := call(t, "POST", d.url+"/v2/executions", "application/json", `{"workflow_name": "loop", "input": {"itmes": [1]}}`, nil)
		if code != http.StatusBadRequest || !strings.Contains(body, "itmes") {
			t.Fatalf("unexpected input: %d %s, want 400 naming itmes", code, body)
		}
	})

	// After all that, the server still runs workflows.
	checkSuccess(t, d, runWorkflow(t, d, jsonServer(t).URL))
}

// TestOpenAPI checks the API documents itself.
func TestOpenAPI(t *testing.T) {
	d := start(t, Config{DataDir: t.TempDir()})
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if code, body := call(t, "GET", d.url+"/openapi.json", "", "", &doc); code != http.StatusOK {
		t.Fatalf("openapi: %d %s", code, body)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi version = %q, want 3.1", doc.OpenAPI)
	}
	for _, p := range []string{"/v2/workflows", "/v2/executions", "/v2/executions/{id}", "/v2/executions/{id}/tasks"} {
		if _, ok := doc.Paths[p]; !ok {
			t.Errorf("openapi.json does not list %s", p)
		}
	}
	if code, body := call(t, "GET", d.url+"/docs", "", "", nil); code != http.StatusOK || !strings.Contains(body, "openapi") {
		t.Errorf("docs: %d", code)
	}
}

func externalNATS() string {
	if u := os.Getenv("SIROCCO_TEST_NATS_URL"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

// freshDatabase creates a database of its own on the PostgreSQL server for
// this test and drops it afterwards.
func freshDatabase(t *testing.T) string {
	t.Helper()
	admin := os.Getenv("SIROCCO_TEST_POSTGRES_URL")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("PostgreSQL at %s is required for this test: %v", admin, err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("sirocco_e2e_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return fmt.Sprintf("postgres://postgres@127.0.0.1:5432/%s?sslmode=disable", name)
}

func deleteStreams(t *testing.T, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := transport.Connect(ctx, transport.Options{URL: externalNATS(), Prefix: prefix})
	if err != nil {
		t.Logf("cleanup: %v", err)
		return
	}
	defer c.Close()
	if err := c.DeleteAll(ctx); err != nil {
		t.Logf("cleanup: %v", err)
	}
}

// `sirocco migrate` applies the schema to SQLite and to PostgreSQL and
// exits; running it again changes nothing.
func TestMigrateCommand(t *testing.T) {
	dataDir := t.TempDir()
	tests := []struct {
		name string
		args []string
		dsn  func() (driver, dsn string)
	}{
		{"sqlite", []string{"--data-dir", dataDir}, func() (string, string) { return "sqlite", filepath.Join(dataDir, "sirocco.db") }},
		{"postgres", nil, nil},
	}
	pg := freshDatabase(t)
	tests[1].args = []string{"--database-url", pg}
	tests[1].dsn = func() (string, string) { return "pgx", pg }
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i < 2; i++ {
				cmd := MigrateCommand()
				cmd.SetArgs(append(tc.args, "--log-level", "error"))
				if err := cmd.ExecuteContext(context.Background()); err != nil {
					t.Fatalf("run %d: %v", i+1, err)
				}
			}
			driver, dsn := tc.dsn()
			db, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var n int
			if err := db.QueryRow("SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n == 0 {
				t.Fatalf("schema_migrations: %d rows, %v", n, err)
			}
		})
	}
}

// An async action's callee completes it through PUT
// /v2/action_executions/{id}, the way python-mistralclient sends it (the
// output as a JSON-encoded string), and the workflow goes on.
func TestAsyncCallback(t *testing.T) {
	d := start(t, Config{DataDir: t.TempDir()})
	wf := "version: '2.0'\ncallback:\n  output:\n    v: <% $.v %>\n  tasks:\n    wait:\n      action: std.async_noop\n      publish:\n        v: <% task().result.v %>\n"
	ex := startWorkflow(t, d, wf, "callback")
	var tasks struct {
		Tasks []struct {
			RuntimeContext string `json:"runtime_context"`
		} `json:"tasks"`
	}
	if code, body := call(t, "GET", d.url+"/v2/executions/"+ex.ID+"/tasks", "", "", &tasks); code != http.StatusOK || len(tasks.Tasks) != 1 {
		t.Fatalf("tasks: %d %s", code, body)
	}
	var rt struct {
		ActionExecutionID string `json:"action_execution_id"`
	}
	if err := json.Unmarshal([]byte(tasks.Tasks[0].RuntimeContext), &rt); err != nil || rt.ActionExecutionID == "" {
		t.Fatalf("runtime_context %q names no action execution: %v", tasks.Tasks[0].RuntimeContext, err)
	}
	url := d.url + "/v2/action_executions/" + rt.ActionExecutionID
	var ae struct {
		State string `json:"state"`
		Name  string `json:"name"`
	}
	if code, body := call(t, "GET", url, "", "", &ae); code != http.StatusOK || ae.State != "RUNNING" || ae.Name != "std.async_noop" {
		t.Fatalf("action execution before the callback: %d %s", code, body)
	}
	if code, body := call(t, "PUT", url, "application/json", `{"state": "SUCCESS", "output": "{\"v\": 7}"}`, &ae); code != http.StatusOK || ae.State != "SUCCESS" {
		t.Fatalf("callback: %d %s", code, body)
	}
	done := waitEnd(t, d, ex.ID)
	if done.State != "SUCCESS" || done.Output != `{"v":7}` {
		t.Fatalf("execution = %s %v %s", done.State, done.StateInfo, done.Output)
	}
	if code, body := call(t, "PUT", url, "application/json", `{"state": "SUCCESS", "output": 1}`, nil); code != http.StatusConflict {
		t.Fatalf("second callback: %d %s, want 409", code, body)
	}
}

// PUT /v2/executions/{id} with state CANCELLED, as python-mistralclient's
// execution-update sends it, stops a running execution; stopping it again
// is a conflict.
func TestCancelExecution(t *testing.T) {
	d := start(t, Config{DataDir: t.TempDir()})
	wf := "version: '2.0'\nlong:\n  tasks:\n    nap:\n      action: std.sleep seconds=60\n"
	ex := startWorkflow(t, d, wf, "long")
	var got execution
	if code, body := call(t, "PUT", d.url+"/v2/executions/"+ex.ID, "application/json", `{"state": "CANCELLED", "state_info": "not needed"}`, &got); code != http.StatusOK {
		t.Fatalf("cancel: %d %s", code, body)
	}
	if got.State != "CANCELLED" || got.StateInfo != "not needed" {
		t.Fatalf("after cancel: %+v", got)
	}
	if code, body := call(t, "PUT", d.url+"/v2/executions/"+ex.ID, "application/json", `{"state": "CANCELLED"}`, nil); code != http.StatusConflict {
		t.Fatalf("second cancel: %d %s, want 409", code, body)
	}
	if code, body := call(t, "PUT", d.url+"/v2/executions/"+ex.ID, "application/json", `{"state": "PAUSED"}`, nil); code != http.StatusConflict {
		t.Fatalf("pause of a cancelled execution: %d %s, want 409", code, body)
	}
}

// checkMetrics reads /metrics and checks that each line is there.
func checkMetrics(t *testing.T, d *daemon, want []string) {
	t.Helper()
	code, body := call(t, "GET", d.url+"/metrics", "", "", nil)
	if code != http.StatusOK {
		t.Fatalf("metrics: %d", code)
	}
	for _, w := range want {
		if !strings.Contains(body, w+"\n") {
			t.Errorf("/metrics lacks %q", w)
		}
	}
}

// http.Server.Shutdown waits for the requests under way, and an event
// stream is under way until its execution ends: a stopping server must end
// its streams rather than wait for them until its shutdown timeout.
func TestShutdownEndsEventStreams(t *testing.T) {
	d := start(t, Config{DataDir: t.TempDir()})
	wf := "version: '2.0'\nwaits:\n  tasks:\n    wait:\n      action: std.async_noop\n"
	ex := startWorkflow(t, d, wf, "waits")
	resp, err := http.Get(d.url + "/v2/executions/" + ex.ID + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// The stream is under way once it has sent the execution.
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() && lines.Text() != "event: execution" {
	}
	if lines.Err() != nil || lines.Text() != "event: execution" {
		t.Fatalf("the stream ended before its first execution event: %v", lines.Err())
	}
	ended := make(chan struct{})
	go func() {
		for lines.Scan() {
		}
		close(ended)
	}()

	// The rest of a stop (the executor's pulls, the plugins) takes its
	// own time; what is measured is the stream's end.
	stopped := make(chan struct{})
	go func() { d.stop(); close(stopped) }()
	select {
	case <-ended:
	case <-time.After(apiShutdownTimeout):
		t.Errorf("the event stream was still open %v after the server began to stop: shutdown waited for it until its timeout", apiShutdownTimeout)
	}
	<-stopped
}
