package mistralclient

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestLifecycleCommands runs the commands that change a running
// execution: execution-update pauses and resumes it, and task-rerun runs
// its failed task again. Their tables have the columns of execution-get
// and task-get, as in Mistral 15 (both print the resource they changed).
func TestLifecycleCommands(t *testing.T) {
	if _, err := exec.LookPath("mistral"); err != nil {
		t.Skip("python-mistralclient not installed (Debian: python3-mistralclient); .ci/run installs it")
	}
	s := start(t)
	c := newClient(t, s)
	c.run(t, "workflow-create", "lifecycle.yaml").ok(t)
	id := cell(c.run(t, "execution-create", "mc_lifecycle").ok(t).stdout, "ID")

	paused := c.run(t, "execution-update", "-s", "PAUSED", id).ok(t)
	sameColumns(t, paused, "execution-get.txt")
	if st := cell(paused.stdout, "State"); st != "PAUSED" {
		t.Fatalf("execution-update -s PAUSED: state %q", st)
	}
	// The sleep ends while paused; nothing follows it until the resume.
	time.Sleep(2500 * time.Millisecond)
	if st := state(t, s, id); st != "PAUSED" {
		t.Fatalf("a paused execution moved on to %s", st)
	}
	resumed := c.run(t, "execution-update", "-s", "RUNNING", id).ok(t)
	sameColumns(t, resumed, "execution-get.txt")
	waitState(t, s, id, "ERROR")

	var checkID string
	for _, line := range strings.Split(c.run(t, "task-list", id, "-f", "value", "-c", "ID", "-c", "Name").ok(t).stdout, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[1] == "check" {
			checkID = f[0]
		}
	}
	if checkID == "" {
		t.Fatal("no task check")
	}
	rerun := c.run(t, "task-rerun", checkID).ok(t)
	sameColumns(t, rerun, "task-get.txt")
	waitState(t, s, id, "ERROR")
	runs := c.run(t, "action-execution-list", checkID, "-f", "value", "-c", "ID").ok(t).stdout
	if n := len(strings.Fields(runs)); n != 2 {
		t.Errorf("task-rerun: check ran %d times, want 2", n)
	}
}

func state(t *testing.T, s *server, id string) string {
	t.Helper()
	var ex struct{ State string }
	s.getJSON(t, "/v2/executions/"+id, &ex)
	return ex.State
}

func waitState(t *testing.T, s *server, id, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := state(t, s, id)
		if st == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution %s is %s, want %s", id, st, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
