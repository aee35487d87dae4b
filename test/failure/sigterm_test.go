//go:build linux

package failure

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
)

// drainWorkflow's task work is not safe-rerun and takes 1.5 s at the
// counter, so a host stopped with SIGTERM must let it finish (or never
// start it); running it twice or failing it would both be wrong.
const drainWorkflow = `---
version: '2.0'
drain:
  input:
    - n
    - counter
  output:
    work: <% $.work %>
  tasks:
    work:
      action: std.http
      input:
        url: <% $.counter %>/once/<% execution().id %>
        params:
          n: <% $.n %>
          delay_ms: 1500
      publish:
        work: <% task().result.content.value %>
`

// TestSIGTERMExecutor is S5 item 7 seen from outside: an executor host
// that gets SIGTERM while it runs actions stops taking work, finishes what
// it runs (or hands back what it has not started) and exits 0; the other
// host does the rest, and no action runs twice.
func TestSIGTERMExecutor(t *testing.T) {
	const total = 16
	h := New(t, bins)
	nats := h.StartNATS()
	const prefix = "drain"
	ex1 := h.StartExecutor("executor-1", ExecutorConfig{NATSURL: nats.URL(), Prefix: prefix, Capacity: 4})
	h.StartExecutor("executor-2", ExecutorConfig{NATSURL: nats.URL(), Prefix: prefix, Capacity: 4})
	srv := h.StartServer("server", ServerConfig{NATSURL: nats.URL(), Prefix: prefix, DatabaseURL: MachineDatabase(t), Roles: "api,engine"})

	cnt := newCounter()
	ts := httptest.NewServer(cnt)
	defer ts.Close()
	if err := createWorkflow(srv.URL, drainWorkflow); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, total)
	for i := range ids {
		ids[i] = uuid.NewString()
		if err := startExecution(srv.URL, ids[i], "drain", map[string]any{"n": i, "counter": ts.URL}); err != nil {
			t.Fatal(err)
		}
	}
	// Both hosts are busy: 8 runs under way, 8 waiting.
	waitCount(t, "once", cnt, 8)
	code, took := ex1.Terminate(30 * time.Second)
	t.Logf("SIGTERM: executor-1 exited with %d after %.1f s", code, took.Seconds())
	if code != 0 {
		t.Errorf("executor-1 exited with %d after SIGTERM, want 0:\n%s", code, ex1.Tail(20))
	}
	if list, err := listExecutors(srv.URL); err != nil {
		t.Errorf("executor registry: %v", err)
	} else {
		for _, e := range list {
			if e.ID == ex1.ID {
				t.Errorf("GET /v2/executors still lists %s after it stopped cleanly", ex1.ID)
			}
		}
	}

	Eventually(t, 60*time.Second, 100*time.Millisecond, func() error {
		list, err := listExecutions(srv.URL, "drain")
		if err != nil {
			return err
		}
		for _, ex := range list {
			if ex.State == "RUNNING" {
				return fmt.Errorf("execution %s still RUNNING", ex.ID)
			}
		}
		return nil
	})
	for i, id := range ids {
		ex, err := getExecution(srv.URL, id)
		if err != nil {
			t.Fatal(err)
		}
		what := fmt.Sprintf("execution n=%d (%s)", i, id)
		if ex.State != "SUCCESS" {
			tasks, _ := listTasks(srv.URL, id)
			t.Errorf("%s ended %s: %s; tasks: %s", what, ex.State, str(ex.StateInfo), describeTasks(tasks))
			continue
		}
		checkOutput(t, what, str(ex.Output), map[string]any{"work": float64(3 * i)})
		if n := len(cnt.spans("once", id)); n != 1 {
			t.Errorf("%s: the non-safe-rerun task work ran %d times", what, n)
		}
	}
}
