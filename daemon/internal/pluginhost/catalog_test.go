package pluginhost

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestInstallListVerifyRemove(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "plugins") // created by Install
	ctx := context.Background()
	e, err := Install(ctx, filepath.Join(binDir, "sirocco-plugin-testkit"), dir)
	require.NoError(t, err)
	require.Equal(t, "testkit", e.Name)
	require.Equal(t, "9.9.9", e.Version)
	require.Equal(t, "1.1", e.Protocol)
	require.Equal(t, "sirocco-plugin-testkit", e.File)
	require.Contains(t, e.Actions, "test.echo")
	sum, err := fileSHA256(filepath.Join(binDir, "sirocco-plugin-testkit"))
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("%x", sum), e.SHA256)

	// The name comes from the plugin, not from the file it was built as.
	copyFile(t, filepath.Join(binDir, "sirocco-plugin-http"), filepath.Join(t.TempDir(), "whatever"))
	_, err = Install(ctx, filepath.Join(binDir, "sirocco-plugin-http"), dir)
	require.NoError(t, err)
	// Something that is not a plugin is refused and leaves nothing behind.
	notPlugin := filepath.Join(t.TempDir(), "sirocco-plugin-fake")
	require.NoError(t, os.WriteFile(notPlugin, []byte("#!/bin/sh\nexit 1\n"), 0o755))
	_, err = Install(ctx, notPlugin, dir)
	require.ErrorContains(t, err, "is not a working Sirocco plugin")

	cat, err := ReadCatalog(dir)
	require.NoError(t, err)
	require.Len(t, cat.Plugins, 2)
	problems, err := Verify(dir)
	require.NoError(t, err)
	require.Empty(t, problems)

	// A binary the catalog does not list is reported, not fatal, and not run.
	copyFile(t, filepath.Join(binDir, "sirocco-plugin-shell"), filepath.Join(dir, "sirocco-plugin-shell"))
	// One appended byte makes a binary fail verification and the host
	// refuse it.
	f, err := os.OpenFile(filepath.Join(dir, "sirocco-plugin-http"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte{0})
	require.NoError(t, err)
	require.NoError(t, f.Close())
	problems, err = Verify(dir)
	require.NoError(t, err)
	require.Len(t, problems, 2)
	byPath := map[string]Problem{}
	for _, p := range problems {
		byPath[filepath.Base(p.Path)] = p
	}
	require.True(t, byPath["sirocco-plugin-http"].Fatal)
	require.Contains(t, byPath["sirocco-plugin-http"].Message, "changed since it was installed")
	require.False(t, byPath["sirocco-plugin-shell"].Fatal)

	h := startHost(t, Config{Dirs: []string{dir}})
	health := map[string]string{}
	for _, p := range h.Plugins() {
		health[p.Name] = p.Health
	}
	require.Equal(t, map[string]string{"testkit": HealthOK, "http": HealthRefused}, health)
	_, ok := h.PluginFor("shell.run")
	require.False(t, ok, "a binary outside the catalog must not run")
	got, ok := h.PluginFor("std.http") // served by testkit, since http is refused
	require.True(t, ok)
	require.Equal(t, "testkit", got)

	removed, err := Remove(dir, "testkit")
	require.NoError(t, err)
	require.Equal(t, "testkit", removed.Name)
	require.NoFileExists(t, filepath.Join(dir, "sirocco-plugin-testkit"))
	_, err = Remove(dir, "testkit")
	require.ErrorContains(t, err, `no plugin "testkit" is installed`)
}

func TestInstallNeedsNoRestart(t *testing.T) {
	dir := t.TempDir()
	h := startHost(t, Config{Dirs: []string{dir}, WatchInterval: 20 * time.Millisecond})
	require.Empty(t, h.Plugins())
	waitChange := func() {
		t.Helper()
		select {
		case <-h.Changes():
		case <-time.After(20 * time.Second):
			t.Fatal("the host did not notice the change")
		}
	}

	_, err := Install(context.Background(), filepath.Join(binDir, "sirocco-plugin-testkit"), dir)
	require.NoError(t, err)
	waitChange()
	res := h.Execute(context.Background(), Request{Action: "test.echo", Input: json.RawMessage(`{"value":"new"}`)})
	require.Nil(t, res.Error)
	require.JSONEq(t, `"new"`, string(res.Output))
	oldPid := pluginPid(t, h, "testkit")

	// An upgrade (here: the same plugin from a different binary, which is
	// a different sha256) swaps the process; a removal stops it.
	upgraded := filepath.Join(t.TempDir(), "sirocco-plugin-testkit")
	copyFile(t, filepath.Join(binDir, "sirocco-plugin-testkit"), upgraded)
	f, err := os.OpenFile(upgraded, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte("upgrade"))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	_, err = Install(context.Background(), upgraded, dir)
	require.NoError(t, err)
	waitChange()
	require.NotEqual(t, oldPid, pluginPid(t, h, "testkit"))
	sum, err := fileSHA256(upgraded)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("%x", sum), h.Plugins()[0].SHA256)
	require.Eventually(t, func() bool { return !alive(oldPid) }, 10*time.Second, 20*time.Millisecond,
		"the replaced process must stop")

	_, err = Remove(dir, "testkit")
	require.NoError(t, err)
	waitChange()
	_, ok := h.PluginFor("test.echo")
	require.False(t, ok)
}

func TestHungPluginHitsDeadlineAndIsRestarted(t *testing.T) {
	h := startHost(t, Config{Dirs: []string{pluginDir(t, "sirocco-plugin-testkit")}})
	pid := pluginPid(t, h, "testkit")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	res := h.Execute(ctx, Request{Action: "test.hang", Input: json.RawMessage(`{}`)})
	require.NotNil(t, res.Error)
	require.Equal(t, ErrActionTimeout, res.Error.Type, res.Error.Message)
	require.Eventually(t, func() bool { return !alive(pid) }, 10*time.Second, 20*time.Millisecond,
		"the hung process must be killed")

	res = h.Execute(context.Background(), Request{Action: "test.echo", Input: json.RawMessage(`{"value":2}`)})
	require.Nil(t, res.Error)
	require.JSONEq(t, `2`, string(res.Output))
	require.NotEqual(t, pid, pluginPid(t, h, "testkit"))
}

func TestLargeResult(t *testing.T) {
	h := startHost(t, Config{Dirs: []string{pluginDir(t, "sirocco-plugin-testkit")}})
	res := h.Execute(context.Background(), Request{Action: "test.big", Input: json.RawMessage(`{"mib":20}`)})
	require.Nil(t, res.Error)
	require.Equal(t, 20<<20+2, len(res.Output)) // a JSON string: two quotes
}

func TestManyConcurrentRunsOnOnePlugin(t *testing.T) {
	h := startHost(t, Config{Dirs: []string{pluginDir(t, "sirocco-plugin-testkit")}, MaxConcurrentRuns: 200})
	pid := pluginPid(t, h, "testkit")
	var wg sync.WaitGroup
	results := make([]Result, 200)
	for i := range results {
		wg.Go(func() {
			results[i] = h.Execute(context.Background(), Request{Action: "test.echo",
				Input: json.RawMessage(fmt.Sprintf(`{"value":%d}`, i)), Context: ExecContext{ActionExecutionID: fmt.Sprint("ae-", i)}})
		})
	}
	wg.Wait()
	for i, r := range results {
		require.Nil(t, r.Error, "run %d", i)
		require.JSONEq(t, fmt.Sprint(i), string(r.Output))
	}
	require.Equal(t, pid, pluginPid(t, h, "testkit"), "one long-lived process serves them all")
}

func TestProtocolNegotiation(t *testing.T) {
	// The plugin serves majors 1 and 2; this host knows only 1.
	h := startHost(t, Config{Dirs: []string{pluginDir(t, "sirocco-plugin-twoproto")}})
	ps := h.Plugins()
	require.Len(t, ps, 1)
	require.Equal(t, "1.1", ps[0].Protocol)
	res := h.Execute(context.Background(), Request{Action: "twoproto.echo", Input: json.RawMessage(`{"value":"v1"}`)})
	require.Nil(t, res.Error)
	require.JSONEq(t, `"v1"`, string(res.Output))
}

// helperEnv makes the test binary a plugin host in its own process, so a
// test can SIGKILL a host.
const helperEnv = "PLUGINHOST_TEST_HELPER_DIR"

func runHelperHost(dir string) {
	h := New(Config{Dirs: []string{dir}, WatchInterval: -1})
	if err := h.Start(context.Background()); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	h.mu.RLock()
	for _, p := range h.procs {
		fmt.Println("pid", p.client.ReattachConfig().Pid)
	}
	h.mu.RUnlock()
	fmt.Println("ready")
	select {}
}

func TestHostKilledLeavesNoPlugin(t *testing.T) {
	dir := pluginDir(t, "sirocco-plugin-testkit", "sirocco-plugin-shell")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var pids []int
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "ready" {
		if n, ok := strings.CutPrefix(sc.Text(), "pid "); ok {
			pid, err := strconv.Atoi(n)
			require.NoError(t, err)
			pids = append(pids, pid)
		}
	}
	require.Len(t, pids, 2, "the helper host started both plugins")
	for _, pid := range pids {
		require.True(t, alive(pid))
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	for _, pid := range pids {
		require.Eventually(t, func() bool { return !alive(pid) }, 5*time.Second, 20*time.Millisecond,
			"plugin %d outlived its SIGKILLed host", pid)
	}
}

// alive reports whether pid is a live process (a zombie is not).
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	// The state follows the command name in parentheses.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
