//go:build linux

package failure

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
)

// durableWorkflow exercises everything that waits inside the engine: items
// run two at a time on a counting server (std.http, not safe-rerun, so
// each item must run exactly once), a wait-after, a sub-workflow that
// sleeps, a wait-before and a retry loop with a delay. Its output is known
// from n alone.
const durableWorkflow = `---
version: '2.0'
durable:
  input: [n, url]
  output:
    items: <% $.items %>
    child: <% $.child %>
    final: <% $.final %>
  tasks:
    items:
      with-items: i in <% range(3) %>
      concurrency: 2
      action: std.http url="<% $.url %>/once/<% execution().id %>-<% $.i %>?n=<% $.n * 10 + $.i %>&delay_ms=400"
      publish:
        items: <% task().result.select($.content.value) %>
      wait-after: 1
      on-success: sub
    sub:
      workflow: durable_child
      input:
        n: <% $.n %>
      publish:
        child: <% task().result.r %>
      on-success: looped
    looped:
      wait-before: 1
      action: std.echo output=<% $.n %>
      publish:
        final: <% task().result %>
      retry:
        count: 2
        delay: 1
        continue-on: <% true %>
durable_child:
  input: [n]
  output:
    r: <% $.r %>
  tasks:
    nap:
      action: std.sleep seconds=1
      on-success: calc
    calc:
      action: std.echo output=<% $.n * 100 %>
      publish:
        r: <% task().result %>
`

// TestEngineKilledMidFlight is S4's durability check: a server running the
// API and the engine on SQLite is killed with SIGKILL in the middle of 50
// executions that wait, retry, run items and sub-workflows; started again
// on the same data, it finishes every one with the result of an
// undisturbed run, and no item of the non-safe-rerun task runs twice. The
// executor host is a process of its own that keeps running: its results
// wait in JetStream while the engine is down.
func TestEngineKilledMidFlight(t *testing.T) {
	const total = 50
	h := New(t, bins)
	nats := h.StartNATS()
	const prefix = "durable"
	h.StartExecutor("executor", ExecutorConfig{NATSURL: nats.URL(), Prefix: prefix, Capacity: 64})
	srv := h.StartServer("server", ServerConfig{NATSURL: nats.URL(), Prefix: prefix, Roles: "api,engine"})

	cnt := newCounter()
	ts := httptest.NewServer(cnt)
	defer ts.Close()
	if err := createWorkflow(srv.URL, durableWorkflow); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, total)
	for i := range ids {
		ids[i] = uuid.NewString()
		if err := startExecution(srv.URL, ids[i], "durable", map[string]any{"n": i, "url": ts.URL}); err != nil {
			t.Fatal(err)
		}
	}
	// Kill once the first items have started and some executions are
	// already further on, so the kill lands in every phase.
	Eventually(t, 30*time.Second, 50*time.Millisecond, func() error {
		if n := cnt.calls(); n < total {
			return fmt.Errorf("%d item requests so far", n)
		}
		return nil
	})
	time.Sleep(1500 * time.Millisecond)
	running := 0
	if list, err := listExecutions(srv.URL, "durable"); err == nil {
		for _, ex := range list {
			if ex.State == "RUNNING" {
				running++
			}
		}
	}
	srv.Kill()
	t.Logf("server killed with SIGKILL with %d of %d executions running", running, total)
	if running < total/2 {
		t.Errorf("only %d executions were running at the kill: the test did not kill mid-flight", running)
	}
	time.Sleep(time.Second)
	restarted := time.Now()
	srv.Restart()

	var list []execution
	err := CheckFor(90*time.Second, 250*time.Millisecond, func() error {
		var err error
		if list, err = listExecutions(srv.URL, "durable"); err != nil {
			return err
		}
		done := 0
		for _, ex := range list {
			if ex.State != "RUNNING" {
				done++
			}
		}
		if done < total {
			return fmt.Errorf("%d of %d executions ended", done, total)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("90 s after the restart: %v", err)
	}
	t.Logf("all %d executions ended %.1f s after the restart", total, time.Since(restarted).Seconds())
	byID := map[string]execution{}
	for _, ex := range list {
		byID[ex.ID] = ex
	}
	for i, id := range ids {
		ex := byID[id]
		if ex.State != "SUCCESS" {
			tasks, _ := listTasks(srv.URL, id)
			t.Errorf("execution %d (%s) ended %s: %s; tasks: %s", i, id, ex.State, str(ex.StateInfo), describeTasks(tasks))
			continue
		}
		want := map[string]any{
			"items": []any{float64(30 * i), float64(30*i + 3), float64(30*i + 6)},
			"child": float64(100 * i),
			"final": float64(i),
		}
		checkOutput(t, fmt.Sprintf("execution %d (%s)", i, id), str(ex.Output), want)
		for item := 0; item < 3; item++ {
			if runs := cnt.spans("once", fmt.Sprintf("%s-%d", id, item)); len(runs) != 1 {
				t.Errorf("execution %d item %d ran %d times, want once", i, item, len(runs))
			}
		}
	}
}
