package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sirocco-wf/sirocco/daemon/internal/cli"
	"github.com/sirocco-wf/sirocco/daemon/internal/server"
	"github.com/sirocco-wf/sirocco/daemon/internal/servertest"
)

// repoRoot is the module's root directory.
func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// helloFromDocs builds the hello-world plugin of docs/plugins.md as an
// outside author would: its own module in an empty directory, depending on
// the SDK through a replace directive. It goes to the module proxy like
// any build: the author's module graph needs go.mod files (of modules
// older than Go 1.17's pruned graphs) that building Sirocco itself never
// reads, so a module cache filled by Sirocco's build is not enough.
func helloFromDocs(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(repoRoot(t))
	require.NoError(t, err)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "plugins.md"))
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(doc), "```go\n")
	require.True(t, ok, "docs/plugins.md has no Go block")
	src, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)
	require.LessOrEqual(t, strings.Count(src, "\n"), 25, "the hello-world plugin must stay within 25 lines")

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644))
	gomod := "module example.com/hello\n\ngo 1.26\n\nrequire github.com/sirocco-wf/sirocco v0.0.0\n\n" +
		"replace github.com/sirocco-wf/sirocco => " + root + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644))
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644))
	bin := filepath.Join(dir, "out", "hello-plugin")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "building the docs' hello-world plugin:\n%s", out)
	return bin
}

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := cli.NewRoot(nil, nil)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// TestHelloWorldFromDocs installs the docs' hello-world plugin with
// `sirocco plugin install` and runs it in a workflow through a real server.
func TestHelloWorldFromDocs(t *testing.T) {
	bin := helloFromDocs(t)
	pluginDir := t.TempDir()
	out, err := runCLI(t, "plugin", "install", "--plugin-dir", pluginDir, bin)
	require.NoError(t, err, out)
	require.Contains(t, out, "installed hello 1.0.0 (protocol 1.1, 1 actions)")
	out, err = runCLI(t, "plugin", "list", "--plugin-dir", pluginDir)
	require.NoError(t, err)
	require.Contains(t, out, "hello.greet")

	url := startServer(t, pluginDir)
	post(t, url+"/v2/workflows", "text/plain", `---
version: '2.0'
greet:
  output:
    greeting: <% $.greeting %>
  tasks:
    say:
      action: hello.greet name="Sirocco"
      publish:
        greeting: <% task().result.greeting %>
typo:
  tasks:
    say:
      action: hello.greet name="Sirocco" nmae="Sirocco"
`)
	ex := runWorkflow(t, url, "greet")
	require.Equal(t, "SUCCESS", ex["state"], ex["state_info"])
	require.JSONEq(t, `{"greeting":"Hello, Sirocco!"}`, ex["output"].(string))

	// The engine checks the input against the action's schema before
	// dispatch, naming the task and the field.
	ex = runWorkflow(t, url, "typo")
	require.Equal(t, "ERROR", ex["state"])
	require.Contains(t, ex["state_info"], `task "say": input of action hello.greet does not fit its schema: field /nmae: not a parameter of this action (known: name)`)

	var plugins struct{ Plugins []map[string]any }
	get(t, url+"/v2/plugins", &plugins)
	found := false
	for _, p := range plugins.Plugins {
		if p["name"] == "hello" {
			found = true
			require.Equal(t, "1.0.0", p["version"])
			require.Equal(t, "1.1", p["protocol"])
			require.Len(t, p["sha256"], 64)
			require.Equal(t, "ok", p["health"])
		}
	}
	require.True(t, found, "GET /v2/plugins lists hello: %v", plugins)
	var actions struct{ Actions []map[string]any }
	get(t, url+"/v2/actions", &actions)
	inputs := map[string]any{}
	for _, a := range actions.Actions {
		inputs[a["name"].(string)] = a["input"]
	}
	require.Equal(t, "name", inputs["hello.greet"])
	require.Equal(t, "output, delay=0", inputs["std.echo"])

	// One byte appended to the installed binary: verify fails naming it.
	_, err = runCLI(t, "plugin", "verify", "--plugin-dir", pluginDir)
	require.NoError(t, err)
	installed := filepath.Join(pluginDir, "sirocco-plugin-hello")
	data, err := os.ReadFile(installed) // it runs, so it is replaced, not written in place
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(installed+".new", append(data, 0), 0o755))
	require.NoError(t, os.Rename(installed+".new", installed))
	out, err = runCLI(t, "plugin", "verify", "--plugin-dir", pluginDir)
	require.ErrorIs(t, err, cli.ErrPluginsChanged)
	require.Contains(t, err.Error(), installed)
	require.Contains(t, out, "MISMATCH: "+installed)

	out, err = runCLI(t, "plugin", "remove", "--plugin-dir", pluginDir, "hello")
	require.NoError(t, err, out)
	require.NoFileExists(t, installed)
}

func startServer(t *testing.T, pluginDir string) string {
	return servertest.Start(t, server.Config{PluginDirs: []string{pluginDir}})
}

func post(t *testing.T, url, ctype, body string) map[string]any {
	t.Helper()
	resp, err := http.Post(url, ctype, strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Less(t, resp.StatusCode, 300, string(b))
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

func get(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	require.NoError(t, json.Unmarshal(b, v), string(b))
}

func runWorkflow(t *testing.T, url, name string) map[string]any {
	t.Helper()
	ex := post(t, url+"/v2/executions", "application/json", `{"workflow_name": "`+name+`"}`)
	var got map[string]any
	require.Eventually(t, func() bool {
		get(t, url+"/v2/executions/"+ex["id"].(string), &got)
		return got["state"] != "RUNNING"
	}, 30*time.Second, 50*time.Millisecond)
	return got
}
