package pluginhost

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// binDir holds the real plugin binaries, built once for all tests.
var binDir string

var binaries = map[string]string{
	"sirocco-plugin-http":      "github.com/sirocco-wf/sirocco/plugins/http",
	"sirocco-plugin-shell":     "github.com/sirocco-wf/sirocco/plugins/shell",
	"sirocco-plugin-openstack": "github.com/sirocco-wf/sirocco/plugins/openstack",
	"sirocco-plugin-testkit":   "github.com/sirocco-wf/sirocco/daemon/internal/pluginhost/testdata/testkit",
	"sirocco-plugin-twoproto":  "github.com/sirocco-wf/sirocco/daemon/internal/pluginhost/testdata/twoproto",
}

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		runHelperHost(dir) // never returns
	}
	dir, err := os.MkdirTemp("", "pluginhost-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	// Linking is the slow part; the builds run side by side.
	errs := make(chan error, len(binaries))
	for name, pkg := range binaries {
		go func() {
			out, err := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg).CombinedOutput()
			if err != nil {
				err = fmt.Errorf("build %s: %w\n%s", pkg, err, out)
			}
			errs <- err
		}()
	}
	for range binaries {
		if err := <-errs; err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := 0
	func() {
		defer os.RemoveAll(dir)
		code = m.Run()
	}()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// pluginDir copies the named binaries into a fresh directory, so a test may
// change them without disturbing the others.
func pluginDir(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		copyFile(t, filepath.Join(binDir, n), filepath.Join(dir, n))
	}
	return dir
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, data, 0o755))
}

func startHost(t *testing.T, cfg Config) *Host {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "test", Level: hclog.Debug, Output: testWriter{t}})
	}
	if cfg.WatchInterval == 0 {
		cfg.WatchInterval = -1 // tests of the watcher ask for it
	}
	h := New(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, h.Start(ctx))
	t.Cleanup(h.Close)
	return h
}

// testWriter sends host logs to the test log, shown only on failure.
type testWriter struct{ t *testing.T }

var testWriterMu sync.Mutex

func (w testWriter) Write(p []byte) (int, error) {
	testWriterMu.Lock()
	defer testWriterMu.Unlock()
	w.t.Log(string(p))
	return len(p), nil
}

func TestDiscovery(t *testing.T) {
	dir := pluginDir(t, "sirocco-plugin-http", "sirocco-plugin-shell", "sirocco-plugin-openstack")
	// Not plugins, or broken ones: skipped, never fatal.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sirocco-plugin-broken"), []byte("#!/bin/sh\nexit 1\n"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sirocco-plugin-noexec"), []byte("data"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README"), []byte("hi"), 0o755))

	h := startHost(t, Config{Dirs: []string{filepath.Join(dir, "missing"), dir}})

	plugins := h.Plugins()
	require.Len(t, plugins, 3)
	byName := map[string]PluginInfo{}
	for _, p := range plugins {
		byName[p.Name] = p
	}
	httpInfo := byName["http"]
	require.Equal(t, "0.2.0", httpInfo.Version)
	require.Equal(t, "0.1.0", httpInfo.SDKVersion)
	require.Equal(t, filepath.Join(dir, "sirocco-plugin-http"), httpInfo.Path)
	sum, err := fileSHA256(httpInfo.Path)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("%x", sum), httpInfo.SHA256)
	require.Len(t, httpInfo.Actions, 2)
	require.Equal(t, "std.http", httpInfo.Actions[0].Name)
	require.True(t, json.Valid(httpInfo.Actions[0].InputSchema))
	require.True(t, httpInfo.Actions[1].Async)

	for action, plugin := range map[string]string{"std.http": "http", "shell.run": "shell", "openstack.info": "openstack"} {
		got, ok := h.PluginFor(action)
		require.True(t, ok, action)
		require.Equal(t, plugin, got)
	}
	_, ok := h.PluginFor("nope")
	require.False(t, ok)
}

func TestFirstDirWins(t *testing.T) {
	httpDir := pluginDir(t, "sirocco-plugin-http")
	kitDir := pluginDir(t, "sirocco-plugin-testkit")
	tests := []struct {
		name   string
		dirs   []string
		winner string
	}{
		{"http first", []string{httpDir, kitDir}, "http"},
		{"testkit first", []string{kitDir, httpDir}, "testkit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := startHost(t, Config{Dirs: tc.dirs})
			got, ok := h.PluginFor("std.http")
			require.True(t, ok)
			require.Equal(t, tc.winner, got)
			require.Len(t, h.Plugins(), 2)
		})
	}
}

func TestExecute(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.Error(w, "gone", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()

	h := startHost(t, Config{Dirs: []string{pluginDir(t, "sirocco-plugin-http", "sirocco-plugin-shell", "sirocco-plugin-testkit")}})

	tests := []struct {
		name      string
		action    string
		input     string
		output    string // JSON, when the run succeeds
		errType   string
		errData   string
		retryable bool
	}{
		{name: "std.http", action: "std.http", input: fmt.Sprintf(`{"url":%q}`, srv.URL), output: `{"content":{"ok":true},"status":200}`},
		{name: "std.http 404", action: "std.http", input: fmt.Sprintf(`{"url":%q}`, srv.URL+"/missing"), errType: "HTTPError", errData: `{"content":"gone\n","status":404}`},
		{name: "shell", action: "shell.run", input: `{"command":["echo","hi"]}`, output: `{"stdout":"hi\n","stderr":"","exit_code":0}`},
		{name: "echo", action: "test.echo", input: `{"value":[1,"a"]}`, output: `[1,"a"]`},
		{name: "typed error", action: "test.fail", input: `{}`, errType: "Flaky", errData: `{"code":7}`, retryable: true},
		{name: "panic", action: "test.panic", input: `{}`, errType: "ActionPanic"},
		{name: "invalid input", action: "test.echo", input: `{"valeu":1}`, errType: "InvalidInput"},
		{name: "unknown action", action: "test.nope", input: `{}`, errType: ErrUnknownAction},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res := h.Execute(ctx, Request{Action: tc.action, Input: json.RawMessage(tc.input), Context: ExecContext{ActionExecutionID: "ae-" + tc.name, Attempt: 1}})
			if tc.errType == "" {
				require.Nil(t, res.Error)
				requireJSONSubset(t, tc.output, res.Output)
				return
			}
			require.NotNil(t, res.Error, "output %s", res.Output)
			require.Equal(t, tc.errType, res.Error.Type, res.Error.Message)
			require.Equal(t, tc.retryable, res.Error.Retryable)
			if tc.errData != "" {
				requireJSONSubset(t, tc.errData, res.Error.Data)
			}
		})
	}
}

// Every field of the execution context reaches the plugin as the host got
// it: plugins build headers (std.mistral_http), tags and idempotency keys
// from them.
func TestExecutionContextReachesThePlugin(t *testing.T) {
	h := startHost(t, Config{Dirs: []string{pluginDir(t, "sirocco-plugin-testkit")}})
	tests := []struct {
		name string
		exec ExecContext
	}{
		{"a workflow task", ExecContext{
			WorkflowName: "deploy", WorkflowExecutionID: "wf-1", TaskExecutionID: "task-1", ActionExecutionID: "ae-ctx-1",
			Attempt: 3, WithItemsIndex: 2, CallbackURL: "http://sirocco.example/v2/action_executions/ae-ctx-1",
		}},
		{"an action run on its own", ExecContext{ActionExecutionID: "ae-ctx-2", Attempt: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res := h.Execute(ctx, Request{Action: "test.context", Input: json.RawMessage(`{}`), Context: tc.exec})
			require.Nil(t, res.Error)
			// sdk.ExecContext and ExecContext name their fields alike.
			var got ExecContext
			require.NoError(t, json.Unmarshal(res.Output, &got))
			require.Equal(t, tc.exec, got)
		})
	}
}

// requireJSONSubset checks that every key of the expected object is in got
// with an equal value (results carry volatile fields such as elapsed).
func requireJSONSubset(t *testing.T, want string, got json.RawMessage) {
	t.Helper()
	var w, g any
	require.NoError(t, json.Unmarshal([]byte(want), &w))
	require.NoError(t, json.Unmarshal(got, &g), string(got))
	wm, ok := w.(map[string]any)
	if !ok {
		require.Equal(t, w, g)
		return
	}
	gm, ok := g.(map[string]any)
	require.True(t, ok, "got %s", got)
	for k, v := range wm {
		require.Equal(t, v, gm[k], "key %q in %s", k, got)
	}
}

func TestEventsAndTimeout(t *testing.T) {
	h := startHost(t, Config{Dirs: []string{pluginDir(t, "sirocco-plugin-testkit")}})
	var mu sync.Mutex
	var events []Event
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res := h.Execute(ctx, Request{Action: "test.block", Input: json.RawMessage(`{}`), OnEvent: func(e Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}})
	require.NotNil(t, res.Error)
	require.Equal(t, ErrActionTimeout, res.Error.Type, res.Error.Message)
	mu.Lock()
	require.Contains(t, events, Event{Kind: "progress", Percent: 10, Message: "blocking"})
	mu.Unlock()

	// The plugin is still healthy afterwards.
	res = h.Execute(context.Background(), Request{Action: "test.echo", Input: json.RawMessage(`{"value":1}`)})
	require.Nil(t, res.Error)
	require.JSONEq(t, `1`, string(res.Output))
}

func pluginPid(t *testing.T, h *Host, name string) int {
	t.Helper()
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, p := range h.procs {
		if p.info.Name == name {
			p.mu.Lock()
			defer p.mu.Unlock()
			require.NotNil(t, p.client)
			return p.client.ReattachConfig().Pid
		}
	}
	t.Fatalf("no plugin %s", name)
	return 0
}

func TestCrashMidRunAndRestart(t *testing.T) {
	h := startHost(t, Config{Dirs: []string{pluginDir(t, "sirocco-plugin-testkit")}})
	pid := pluginPid(t, h, "testkit")

	started := make(chan struct{})
	var once sync.Once
	done := make(chan Result)
	go func() {
		done <- h.Execute(context.Background(), Request{Action: "test.block", Input: json.RawMessage(`{}`), OnEvent: func(e Event) {
			if e.Kind == "progress" {
				once.Do(func() { close(started) })
			}
		}})
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("test.block never reported progress")
	}
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))

	res := <-done
	require.NotNil(t, res.Error)
	require.Equal(t, ErrPluginCrashed, res.Error.Type, res.Error.Message)
	require.Contains(t, res.Error.Message, `plugin "testkit"`)

	res = h.Execute(context.Background(), Request{Action: "test.echo", Input: json.RawMessage(`{"value":"again"}`)})
	require.Nil(t, res.Error)
	require.JSONEq(t, `"again"`, string(res.Output))
	require.NotEqual(t, pid, pluginPid(t, h, "testkit"))
}

func TestChangedBinaryIsRefused(t *testing.T) {
	dir := t.TempDir()
	_, err := Install(context.Background(), filepath.Join(binDir, "sirocco-plugin-testkit"), dir)
	require.NoError(t, err)
	h := startHost(t, Config{Dirs: []string{dir}})
	pid := pluginPid(t, h, "testkit")

	// Replace the binary (rename, as an installer would: the running file
	// stays intact) and make the host relaunch it.
	tmp := filepath.Join(dir, "replacement")
	copyFile(t, filepath.Join(binDir, "sirocco-plugin-http"), tmp)
	require.NoError(t, os.Rename(tmp, filepath.Join(dir, "sirocco-plugin-testkit")))
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	require.Eventually(t, func() bool {
		h.mu.RLock()
		p := h.procs[0]
		h.mu.RUnlock()
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.client.Exited()
	}, 10*time.Second, 20*time.Millisecond)

	for range 2 { // at every launch, not only the first
		res := h.Execute(context.Background(), Request{Action: "test.echo", Input: json.RawMessage(`{"value":1}`)})
		require.NotNil(t, res.Error)
		require.Equal(t, ErrPluginRefused, res.Error.Type, res.Error.Message)
		require.Contains(t, res.Error.Message, "changed since it was discovered")
	}
}

func TestConcurrencyLimit(t *testing.T) {
	h := startHost(t, Config{Dirs: []string{pluginDir(t, "sirocco-plugin-testkit")}, MaxConcurrentRuns: 2})
	var wg sync.WaitGroup
	results := make([]Result, 20)
	for i := range results {
		wg.Go(func() {
			results[i] = h.Execute(context.Background(), Request{Action: "test.echo", Input: json.RawMessage(fmt.Sprintf(`{"value":%d}`, i))})
		})
	}
	wg.Wait()
	for i, r := range results {
		require.Nil(t, r.Error)
		require.JSONEq(t, fmt.Sprint(i), string(r.Output))
	}
}

func TestCloseIsBoundedAndFinal(t *testing.T) {
	h := New(Config{Dirs: []string{pluginDir(t, "sirocco-plugin-testkit", "sirocco-plugin-shell")}})
	require.NoError(t, h.Start(context.Background()))
	done := make(chan Result)
	go func() {
		done <- h.Execute(context.Background(), Request{Action: "test.block", Input: json.RawMessage(`{}`)})
	}()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	h.Close()
	require.Less(t, time.Since(start), closeTimeout)
	res := <-done
	require.NotNil(t, res.Error)
	res = h.Execute(context.Background(), Request{Action: "test.echo", Input: json.RawMessage(`{"value":1}`)})
	require.Equal(t, ErrHostClosed, res.Error.Type)
}
