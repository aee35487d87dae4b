//go:build linux

// Package openstack runs the OpenStack plugin the way an operator does: a
// real `sirocco server` (embedded mode) with the real plugin binaries of
// this tree, on an executor host whose OS_* variables point at a fake
// OpenStack cloud served by the test. It checks issue S7's end-to-end
// promises: the actions are listed under mistral-extra's names, a
// workflow mixing shell.run and nova.servers_list succeeds, and
// mistral-extra's own create_instance and delete_instance workflows run.
package openstack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sirocco-wf/sirocco/plugins/openstack/fakecloud"
	"github.com/sirocco-wf/sirocco/test/failure"
)

// bins are the sirocco binary and the plugin binaries, built once.
var bins *failure.Binaries

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sirocco-openstack-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins, err = failure.Build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var client = &http.Client{Timeout: 10 * time.Second}

// call sends a request to the API and decodes a 2xx JSON answer into out.
func call(method, u, contentType, body string, out any) error {
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, u, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// startServer runs the embedded daemon with env added to its environment
// (the executor host's, which its plugins inherit) and waits until the
// OpenStack plugin's actions are served.
func startServer(t *testing.T, h *failure.Harness, env map[string]string) string {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", failure.FreePort(t))
	var vars []string
	for k, v := range env {
		vars = append(vars, k+"="+v)
	}
	p := h.Start("server", bins.Sirocco, []string{"server", "--listen", addr, "--data-dir", h.TempDir("data"),
		"--plugin-dir", bins.PluginDir, "--log-level", "info"}, failure.ProcOptions{Env: vars})
	base := "http://" + addr
	failure.Eventually(t, 60*time.Second, 100*time.Millisecond, func() error {
		if p.Exited() {
			return fmt.Errorf("sirocco server exited: %s", p.Tail(20))
		}
		var out struct {
			Actions []struct {
				Name string `json:"name"`
			} `json:"actions"`
		}
		if err := call("GET", base+"/v2/actions", "", "", &out); err != nil {
			return err
		}
		for _, a := range out.Actions {
			if a.Name == "nova.servers_list" {
				return nil
			}
		}
		return fmt.Errorf("the openstack plugin's actions are not listed yet")
	})
	return base
}

type execution struct {
	ID        string `json:"id"`
	State     string `json:"state"`
	StateInfo string `json:"state_info"`
	Output    string `json:"output"`
}

// runWorkflow creates the workflow (YAML text), runs it with input and
// waits for it to end.
func runWorkflow(t *testing.T, base, yaml, name string, input map[string]any) execution {
	t.Helper()
	if err := call("POST", base+"/v2/workflows", "text/plain", yaml, nil); err != nil && !strings.Contains(err.Error(), ": 409 ") {
		t.Fatal(err)
	}
	in, _ := json.Marshal(input)
	id := uuid.NewString()
	body, _ := json.Marshal(map[string]any{"id": id, "workflow_name": name, "input": string(in)})
	if err := call("POST", base+"/v2/executions", "application/json", string(body), nil); err != nil {
		t.Fatal(err)
	}
	var ex execution
	failure.Eventually(t, 90*time.Second, 100*time.Millisecond, func() error {
		if err := call("GET", base+"/v2/executions/"+id, "", "", &ex); err != nil {
			return err
		}
		if ex.State == "RUNNING" || ex.State == "IDLE" {
			return fmt.Errorf("execution %s of %s is %s", id, name, ex.State)
		}
		return nil
	})
	return ex
}

func output(t *testing.T, ex execution) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal([]byte(ex.Output), &out); err != nil {
		t.Fatalf("output %q: %v", ex.Output, err)
	}
	return out
}

func TestOpenStackEndToEnd(t *testing.T) {
	cloud := fakecloud.Start()
	defer cloud.Close()
	for _, name := range []string{"web-1", "web-2"} {
		cloud.Put(fakecloud.RegionOne, "servers", map[string]any{"name": name, "status": "ACTIVE"})
	}
	h := failure.New(t, bins)
	base := startServer(t, h, cloud.Env())

	t.Run("GET /v2/actions lists the OpenStack actions under mistral-extra's names", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join("..", "..", "plugins", "openstack", "testdata", "mistral-extra-mapping.json"))
		if err != nil {
			t.Fatal(err)
		}
		var mapping map[string]map[string]string
		if err := json.Unmarshal(raw, &mapping); err != nil {
			t.Fatal(err)
		}
		var out struct {
			Actions []struct {
				Name   string `json:"name"`
				Input  string `json:"input"`
				Plugin string `json:"plugin"`
			} `json:"actions"`
		}
		if err := call("GET", base+"/v2/actions", "", "", &out); err != nil {
			t.Fatal(err)
		}
		perService := map[string]int{}
		total := 0
		for _, a := range out.Actions {
			ns, name, _ := strings.Cut(a.Name, ".")
			if _, ok := mapping[ns][name]; !ok {
				continue
			}
			if a.Plugin != "openstack" {
				t.Errorf("%s is served by %q", a.Name, a.Plugin)
			}
			if !strings.Contains(a.Input, `action_region=""`) {
				t.Errorf("%s: input %q has no action_region=\"\" as in Mistral", a.Name, a.Input)
			}
			perService[ns]++
			total++
		}
		if total < 150 {
			t.Errorf("%d OpenStack actions under mistral-extra's names, want at least 150", total)
		}
		for _, ns := range []string{"nova", "glance", "neutron", "cinder", "keystone", "heat", "swift"} {
			if perService[ns] == 0 {
				t.Errorf("no %s action listed", ns)
			}
		}
		t.Logf("%d OpenStack actions listed: %v", total, perService)
	})

	t.Run("shell.run then nova.servers_list", func(t *testing.T) {
		ex := runWorkflow(t, base, shellThenNova, "shell_then_nova", map[string]any{})
		if ex.State != "SUCCESS" {
			t.Fatalf("execution %s: %s", ex.State, ex.StateInfo)
		}
		out := output(t, ex)
		if out["said"] != "hello from the executor host\n" {
			t.Errorf("said = %q, want the command's output", out["said"])
		}
		var got []string
		for _, s := range out["servers"].([]any) {
			got = append(got, s.(string))
		}
		sort.Strings(got)
		if strings.Join(got, ",") != "web-1,web-2" {
			t.Errorf("servers = %v, want the servers' names web-1, web-2", got)
		}
		found := false
		for _, r := range cloud.APIRequests() {
			if r.Service == "compute" && r.Method == "GET" && r.API == "servers/detail" {
				found = true
			}
		}
		if !found {
			t.Errorf("the fake cloud never saw GET servers/detail: %v", cloud.APIRequests())
		}
	})

	t.Run("mistral-extra's create_instance and delete_instance", func(t *testing.T) {
		dir := filepath.Join("..", "..", "plugins", "openstack", "testdata")
		create, err := os.ReadFile(filepath.Join(dir, "create_instance.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		ex := runWorkflow(t, base, string(create), "create_instance", map[string]any{
			"name": "vm-1", "image": "cirros-0.6.2-x86_64-disk", "flavor": "m1.tiny", "keypair": "demo-key", "network": "private",
		})
		if ex.State != "SUCCESS" {
			t.Fatalf("create_instance %s: %s", ex.State, ex.StateInfo)
		}
		out := output(t, ex)
		id, _ := out["id"].(string)
		if out["name"] != "vm-1" || out["status"] != "ACTIVE" || id == "" {
			t.Fatalf("create_instance output %v, want vm-1 ACTIVE with an id", out)
		}
		srv := cloud.Get(fakecloud.RegionOne, "servers", id)
		if srv == nil || srv["key_name"] != "demo-key" || srv["image"].(map[string]any)["id"] != "img-cirros" {
			t.Fatalf("the cloud's server %s: %v", id, srv)
		}
		if _, ok := srv["addresses"].(map[string]any)["private"]; !ok {
			t.Errorf("server %s is not on the private network: %v", id, srv["addresses"])
		}

		del, err := os.ReadFile(filepath.Join(dir, "delete_instance.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		ex = runWorkflow(t, base, string(del), "delete_instance", map[string]any{"instance_id": id})
		if ex.State != "SUCCESS" {
			t.Fatalf("delete_instance %s: %s", ex.State, ex.StateInfo)
		}
		if cloud.Get(fakecloud.RegionOne, "servers", id) != nil {
			t.Errorf("server %s is still there", id)
		}
	})
}

// shellThenNova is issue S7's check: a command on the executor host, then
// the servers of the cloud its OS_* variables name.
const shellThenNova = `---
version: '2.0'

shell_then_nova:
  output:
    said: <% $.said %>
    servers: <% $.servers %>
  tasks:
    say:
      action: shell.run
      input:
        command: [echo, hello from the executor host]
      publish:
        said: <% task().result.stdout %>
      on-success: [list_servers]
    list_servers:
      action: nova.servers_list
      publish:
        servers: <% task().result.select($.name) %>
`
