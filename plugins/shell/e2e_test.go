//go:build linux

package main

import (
	"bytes"
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
	"sync"
	"testing"
	"time"

	"github.com/sirocco-wf/sirocco/test/failure"
)

// e2eWorkflow runs shell.run, hands its output to std.http, and then
// waits in std.mistral_http for the callee to complete it through the API.
const e2eWorkflow = `---
version: '2.0'
shell_and_http:
  input:
    - url
  output:
    greeting: <% $.greeting %>
    echoed: <% $.echoed %>
    callback: <% $.callback %>
  tasks:
    run:
      action: shell.run
      input:
        command: printf '%s, %s' "$GREETING" "$(cat)"
        env:
          GREETING: Hello
        stdin: Sirocco
      publish:
        greeting: <% task().result.stdout %>
      on-success: post
    post:
      action: std.http
      input:
        url: <% $.url + '/echo' %>
        method: POST
        json:
          text: <% $.greeting %>
      publish:
        echoed: <% task().result.content.text %>
      on-success: wait_for_callee
    wait_for_callee:
      action: std.mistral_http
      input:
        url: <% $.url + '/job' %>
        method: POST
      publish:
        callback: <% task().result %>
`

// buildDaemon builds the sirocco binary and the two plugins under test
// (not the others: their state is not this test's business).
func buildDaemon(t *testing.T) *failure.Binaries {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	dir := t.TempDir()
	bins := &failure.Binaries{Sirocco: filepath.Join(dir, "sirocco"), PluginDir: filepath.Join(dir, "plugins")}
	jobs := map[string]string{
		bins.Sirocco: "./daemon",
		filepath.Join(bins.PluginDir, "sirocco-plugin-shell"): "./plugins/shell",
		filepath.Join(bins.PluginDir, "sirocco-plugin-http"):  "./plugins/http",
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(jobs))
	for out, pkg := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command("go", "build", "-o", out, pkg)
			cmd.Dir = root
			if b, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return bins
}

// callee is the remote service of the workflow: /echo answers with the
// JSON it gets, /job accepts a job and completes the action later through
// the callback URL, as a service called by std.mistral_http does.
type callee struct {
	t       *testing.T
	mu      sync.Mutex
	headers http.Header
	done    chan error
}

func (c *callee) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/echo":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.Copy(w, r.Body)
	case "/job":
		c.mu.Lock()
		c.headers = r.Header.Clone()
		c.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		go func() { c.done <- c.complete(r.Header) }()
	default:
		http.NotFound(w, r)
	}
}

// complete reports the job's result as python-mistralclient would: PUT
// with the output as a JSON-encoded string.
func (c *callee) complete(h http.Header) error {
	output, _ := json.Marshal(map[string]string{
		"done":      "yes",
		"execution": h.Get("Mistral-Workflow-Execution-Id"),
		"action":    h.Get("Mistral-Action-Execution-Id"),
	})
	body, _ := json.Marshal(map[string]string{"state": "SUCCESS", "output": string(output)})
	req, err := http.NewRequest(http.MethodPut, h.Get("Mistral-Callback-URL"), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("callback URL %q: %w", h.Get("Mistral-Callback-URL"), err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT %s: %d %s", req.URL, resp.StatusCode, b)
	}
	return nil
}

// TestWorkflowEndToEnd runs shell.run, std.http and std.mistral_http in
// one workflow on a real `sirocco server` with the real plugin binaries.
func TestWorkflowEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemon")
	}
	bins := buildDaemon(t)
	h := failure.New(t, bins)
	srv := h.StartServer("server", failure.ServerConfig{})
	c := &callee{t: t, done: make(chan error, 1)}
	remote := httptest.NewServer(c)
	t.Cleanup(remote.Close)

	call := func(method, path, body string, out any) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(body, "{") {
			req.Header.Set("Content-Type", "application/json")
		} else {
			req.Header.Set("Content-Type", "text/plain")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		if out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s %s: %v in %s", method, path, err, b)
			}
		}
	}

	// GET /v2/actions lists the actions with their input, as Mistral's
	// action-list shows it, once the executor host has announced them.
	want := map[string]string{
		"shell.run":        "command, cwd=null, env=null, return_result_on_error=false, stdin=null, timeout=null",
		"std.http":         `url, allow_redirects=null, auth=null, body=null, cookies=null, headers=null, json=null, method="GET", params=null, proxies=null, timeout=null, verify=null`,
		"std.mistral_http": `url, allow_redirects=null, auth=null, body=null, cookies=null, headers=null, json=null, method="GET", params=null, proxies=null, timeout=null, verify=null`,
		"std.ssh":          `cmd, host, username, password="", private_key=null, private_key_filename=null, return_result_on_error=false`,
		"std.ssh_proxied":  "cmd, host, username, private_key_filename, gateway_host, gateway_username=null, password=null, private_key=null, proxy_command=null",
	}
	failure.Eventually(t, 30*time.Second, 50*time.Millisecond, func() error {
		var actions struct {
			Actions []struct {
				Name  string `json:"name"`
				Input string `json:"input"`
			} `json:"actions"`
		}
		call("GET", "/v2/actions", "", &actions)
		inputs := map[string]string{}
		for _, a := range actions.Actions {
			inputs[a.Name] = a.Input
		}
		for name, w := range want {
			if inputs[name] != w {
				return fmt.Errorf("GET /v2/actions: %s input %q, want %q", name, inputs[name], w)
			}
		}
		return nil
	})

	call("POST", "/v2/workflows", e2eWorkflow, nil)
	input, _ := json.Marshal(map[string]string{"url": remote.URL})
	start, _ := json.Marshal(map[string]string{"workflow_name": "shell_and_http", "input": string(input)})
	var ex struct {
		ID, State, Output string
		StateInfo         *string `json:"state_info"`
	}
	call("POST", "/v2/executions", string(start), &ex)

	select {
	case err := <-c.done:
		if err != nil {
			t.Fatalf("the callee could not complete the action: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("std.mistral_http never called the callee")
	}
	failure.Eventually(t, 60*time.Second, 20*time.Millisecond, func() error {
		call("GET", "/v2/executions/"+ex.ID, "", &ex)
		if ex.State == "RUNNING" {
			return fmt.Errorf("execution %s still RUNNING", ex.ID)
		}
		return nil
	})
	if ex.State != "SUCCESS" {
		t.Fatalf("execution ended %s: %v", ex.State, ex.StateInfo)
	}
	var out struct {
		Greeting, Echoed string
		Callback         map[string]string
	}
	if err := json.Unmarshal([]byte(ex.Output), &out); err != nil {
		t.Fatalf("output %q: %v", ex.Output, err)
	}
	if out.Greeting != "Hello, Sirocco" || out.Echoed != "Hello, Sirocco" {
		t.Errorf("output %s: want the command's output, also as echoed by std.http", ex.Output)
	}
	c.mu.Lock()
	hdr := c.headers
	c.mu.Unlock()
	if out.Callback["done"] != "yes" || out.Callback["execution"] != ex.ID || out.Callback["action"] == "" {
		t.Errorf("output %s: want the callee's result, naming this execution and an action execution", ex.Output)
	}
	if hdr.Get("Mistral-Task-Id") == "" || !strings.HasSuffix(hdr.Get("Mistral-Callback-URL"), "/v2/action_executions/"+hdr.Get("Mistral-Action-Execution-Id")) {
		t.Errorf("std.mistral_http headers %v: want a task id and the callback URL of the action execution", hdr)
	}
	if got := hdr.Get("Mistral-Workflow-Name"); got != "shell_and_http" {
		t.Errorf("std.mistral_http sent Mistral-Workflow-Name %q, want the workflow's name shell_and_http", got)
	}
	if os.Getenv("SIROCCO_TEST_KEEP_LOGS") != "" {
		t.Logf("server log: %s", srv.LogPath)
	}
}
