//go:build linux

package failure

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// sharedWorkflow sleeps long enough that every execution is mid-action
// when a server dies. The sleep may run twice (safe-rerun), so the only
// right end is SUCCESS.
const sharedWorkflow = `---
version: '2.0'
shared:
  input:
    - n
  output:
    doubled: <% $.doubled %>
    final: <% $.final %>
  tasks:
    first:
      action: std.echo output=<% $.n * 2 %>
      publish:
        doubled: <% task().result %>
      on-success:
        - nap
    nap:
      action: std.sleep seconds=4
      safe-rerun: true
      on-success:
        - last
    last:
      action: std.echo output="done <% $.n %>"
      publish:
        final: <% task().result %>
`

// TestServerKilledSharedExecutions is S5's first check: two servers on
// PostgreSQL and the NATS server share 60 running executions; one server
// is killed with SIGKILL; all 60 end SUCCESS through the other within a
// minute and a half.
func TestServerKilledSharedExecutions(t *testing.T) {
	h := New(t, bins)
	natsURL := MachineNATS()
	common := ServerConfig{NATSURL: natsURL, Prefix: UniquePrefix(t, natsURL), DatabaseURL: MachineDatabase(t)}
	a := h.StartServer("server-a", common)
	b := h.StartServer("server-b", common)
	servers := []*Server{a, b}

	if err := createWorkflow(a.URL, sharedWorkflow); err != nil {
		t.Fatal(err)
	}
	const total = 60
	ids := make([]string, total)
	for i := range ids {
		ids[i] = uuid.NewString()
		if err := startExecution(servers[i%2].URL, ids[i], "shared", map[string]any{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	// Every execution is in its sleep before the kill.
	Eventually(t, 30*time.Second, 100*time.Millisecond, func() error {
		for _, id := range ids {
			tasks, err := listTasks(b.URL, id)
			if err != nil {
				return err
			}
			if !hasTask(tasks, "nap", "RUNNING") {
				return fmt.Errorf("execution %s not in its sleep yet: %s", id, taskStates(tasks))
			}
		}
		return nil
	})

	killed := time.Now()
	a.Kill()
	t.Logf("server-a killed with SIGKILL; waiting for the 60 executions through server-b")

	var last time.Time
	err := CheckFor(90*time.Second, 250*time.Millisecond, func() error {
		list, err := listExecutions(b.URL, "shared")
		if err != nil {
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
		last = time.Now()
		return nil
	})
	if err != nil {
		t.Fatalf("90 s after the kill: %v", err)
	}
	t.Logf("recovery: all %d executions ended %.1f s after server-a was killed", total, last.Sub(killed).Seconds())

	list, err := listExecutions(b.URL, "shared")
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]execution{}
	for _, ex := range list {
		byID[ex.ID] = ex
	}
	for i, id := range ids {
		ex := byID[id]
		if ex.State != "SUCCESS" {
			tasks, _ := listTasks(b.URL, id)
			t.Errorf("execution %d (%s) ended %s: %s; tasks: %s", i, id, ex.State, str(ex.StateInfo), describeTasks(tasks))
			continue
		}
		want := map[string]any{"doubled": float64(2 * i), "final": fmt.Sprintf("done %d", i)}
		checkOutput(t, fmt.Sprintf("execution %d (%s)", i, id), str(ex.Output), want)
	}
}

func hasTask(tasks []task, name, state string) bool {
	for _, tk := range tasks {
		if tk.Name == name && tk.State == state {
			return true
		}
	}
	return false
}

func taskStates(tasks []task) string {
	var s []string
	for _, tk := range tasks {
		s = append(s, tk.Name+"="+tk.State)
	}
	return strings.Join(s, " ")
}

func describeTasks(tasks []task) string {
	var s []string
	for _, tk := range tasks {
		d := tk.Name + "=" + tk.State
		if tk.StateInfo != nil && *tk.StateInfo != "" {
			d += fmt.Sprintf(" (%q)", *tk.StateInfo)
		}
		s = append(s, d)
	}
	return strings.Join(s, ", ")
}

// checkOutput compares an execution's JSON-encoded output with want, key
// by key, and fails on a missing, wrong or extra key.
func checkOutput(t *testing.T, what, output string, want map[string]any) bool {
	t.Helper()
	var got map[string]any
	if err := json.Unmarshal([]byte(output), &got); err != nil {
		t.Errorf("%s: output %q is not a JSON object: %v", what, output, err)
		return false
	}
	ok := len(got) == len(want)
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			ok = false
		}
	}
	if !ok {
		t.Errorf("%s: output %s, want %v", what, output, want)
	}
	return ok
}

// stopwatch records named moments of a test for its recovery report.
type stopwatch struct {
	mu     sync.Mutex
	start  time.Time
	events []event
}

type event struct {
	at   time.Time
	what string
}

func newStopwatch() *stopwatch { return &stopwatch{start: time.Now()} }

func (s *stopwatch) mark(what string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.events = append(s.events, event{now, what})
	return now
}

func (s *stopwatch) report() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev := append([]event(nil), s.events...)
	sort.SliceStable(ev, func(i, j int) bool { return ev[i].at.Before(ev[j].at) })
	var b strings.Builder
	for _, e := range ev {
		fmt.Fprintf(&b, "  t=%6.1fs  %s\n", e.at.Sub(s.start).Seconds(), e.what)
	}
	return b.String()
}
