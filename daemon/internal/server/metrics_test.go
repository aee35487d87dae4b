package server

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// TestMetricsAfterAWorkflow runs a workflow of std.echo (built in) and
// std.http (the http plugin), kills the http plugin's process and runs it
// again, then scrapes /metrics for what an operator graphs: executions
// and tasks by state, action latency by plugin and action, queue depths,
// the engine's transaction latency and plugin restarts.
func TestMetricsAfterAWorkflow(t *testing.T) {
	d := start(t, Config{DataDir: t.TempDir()})
	target := jsonServer(t).URL
	checkSuccess(t, d, runWorkflow(t, d, target))
	killPlugin(t, "http")
	// A run that starts before the plugin host has seen the process die
	// fails with the crash (as a run in flight would); the next relaunches
	// the plugin.
	ok, crashed := 1, 0
	for ok < 2 {
		ex := runWorkflow(t, d, target)
		if ex.State == "SUCCESS" {
			ok++
			continue
		}
		if crashed > 0 || !strings.Contains(fmt.Sprint(ex.StateInfo), "crashed") {
			t.Fatalf("run after the plugin was killed: %s %v", ex.State, ex.StateInfo)
		}
		crashed++
	}
	runs := float64(ok + crashed)

	code, body := call(t, "GET", d.url+"/metrics", "", "", nil)
	if code != http.StatusOK {
		t.Fatalf("metrics: %d", code)
	}
	tests := []struct {
		series string
		check  func(v float64) bool
		want   string
	}{
		{`sirocco_executions{state="SUCCESS"}`, eq(2), "2"},
		{`sirocco_task_executions{state="SUCCESS"}`, eq(4 + float64(crashed)), "2 per run, 1 of a crashed run"},
		{`sirocco_outbox_messages`, eq(0), "0"},
		{`sirocco_result_queue_messages`, eq(0), "0"},
		{`sirocco_executor_action_seconds_count{action="std.echo",plugin="builtin"}`, eq(runs), "1 per run"},
		{`sirocco_executor_action_seconds_count{action="std.http",plugin="http"}`, eq(runs), "1 per run"},
		{`sirocco_executor_action_seconds_sum{action="std.http",plugin="http"}`, func(v float64) bool { return v > 0 }, "> 0"},
		// Two starts, four results, and the API's reads at least.
		{`sirocco_engine_transaction_seconds_count{outcome="commit"}`, func(v float64) bool { return v >= 6 }, ">= 6"},
		{`sirocco_plugin_restarts_total{plugin="http"}`, eq(1), "1"},
	}
	for _, tc := range tests {
		v, ok := sample(body, tc.series)
		if !ok {
			t.Errorf("/metrics has no %s", tc.series)
			continue
		}
		if !tc.check(v) {
			t.Errorf("%s = %v, want %s", tc.series, v, tc.want)
		}
	}
	if code, body := call(t, "GET", d.url+"/healthz", "", "", nil); code != http.StatusOK || !strings.Contains(body, `"ok"`) {
		t.Errorf("/healthz: %d %s", code, body)
	}
}

func eq(want float64) func(float64) bool { return func(v float64) bool { return v == want } }

// sample finds a series (name and labels, as Prometheus writes them) in a
// text exposition and returns its value.
func sample(body, series string) (float64, bool) {
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), series+" ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		return v, err == nil
	}
	return 0, false
}

// killPlugin SIGKILLs this test process's plugin processes of that name,
// as a crash would; the plugin host relaunches one at the next run.
func killPlugin(t *testing.T, name string) {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc to find plugin processes in: %v", err)
	}
	killed := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after ')'.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || filepath.Base(exe) != "sirocco-plugin-"+name {
			continue
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		// The plugin host reaps it (go-plugin waits for its children).
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if _, err := os.Stat(filepath.Join("/proc", e.Name())); err != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("plugin process %d not reaped 10s after SIGKILL", pid)
			}
		}
		killed++
	}
	if killed == 0 {
		t.Fatalf("no sirocco-plugin-%s process of this test to kill", name)
	}
}

// A process without the api role serves its metrics on --metrics-listen.
func TestMetricsListenOfAnExecutor(t *testing.T) {
	addr := freeAddr(t)
	start(t, Config{DataDir: t.TempDir(), Roles: []string{RoleExecutor}, MetricsListen: addr})
	code, body := call(t, "GET", "http://"+addr+"/metrics", "", "", nil)
	if code != http.StatusOK {
		t.Fatalf("metrics: %d %s", code, body)
	}
	for _, series := range []string{"sirocco_executor_running_actions", "sirocco_result_queue_messages"} {
		if v, ok := sample(body, series); !ok || v != 0 {
			t.Errorf("%s = %v (found %v), want 0", series, v, ok)
		}
	}
	if code, body := call(t, "GET", "http://"+addr+"/healthz", "", "", nil); code != http.StatusOK || !strings.Contains(body, `"ok"`) {
		t.Errorf("/healthz: %d %s", code, body)
	}
}

// The profiler is served on the metrics address only when asked for, and
// never without that address.
func TestPprofOnTheMetricsListener(t *testing.T) {
	tests := []struct {
		name  string
		pprof bool
		want  int
	}{
		{"off by default", false, http.StatusNotFound},
		{"on with --pprof", true, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := freeAddr(t)
			start(t, Config{DataDir: t.TempDir(), Roles: []string{RoleExecutor}, MetricsListen: addr, Pprof: tc.pprof})
			code, body := call(t, "GET", "http://"+addr+"/debug/pprof/goroutine?debug=1", "", "", nil)
			if code != tc.want {
				t.Fatalf("GET /debug/pprof/goroutine: %d, want %d: %.200s", code, tc.want, body)
			}
			if tc.want == http.StatusOK && !strings.Contains(body, "goroutine profile:") {
				t.Errorf("GET /debug/pprof/goroutine is not a goroutine profile: %.200s", body)
			}
		})
	}
	t.Run("refused without --metrics-listen", func(t *testing.T) {
		err := Run(context.Background(), Config{DataDir: t.TempDir(), Roles: []string{RoleExecutor}, Pprof: true,
			Logger: hclog.NewNullLogger()})
		if err == nil || !strings.Contains(err.Error(), "--metrics-listen") {
			t.Fatalf("Run with --pprof and no --metrics-listen: %v, want an error naming --metrics-listen", err)
		}
	})
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
