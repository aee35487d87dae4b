package executor

import (
	"strings"
	"testing"
	"time"

	"github.com/sirocco-wf/sirocco/daemon/internal/transport"
)

// A cancel request on <prefix>.cancel stops the named running action on
// the host that runs it; a cancel for another id changes nothing.
func TestCancelRequestStopsTheRun(t *testing.T) {
	r := newRig(t, true)
	r.send(t, transport.ActionRequest{ActionExecutionID: "sleepy", Action: "std.sleep", Input: []byte(`{"seconds": 60}`), Attempt: 1})
	r.send(t, transport.ActionRequest{ActionExecutionID: "other", Action: "std.sleep", Input: []byte(`{"seconds": 0.5}`), Attempt: 1})
	// A cancel for a run that has not started yet is dropped, so repeat it
	// until the run has ended.
	if err := r.conn.PublishCancel("nobody-runs-this", ""); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for {
		if err := r.conn.PublishCancel("sleepy", "execution cancelled"); err != nil {
			t.Fatal(err)
		}
		r.mu.Lock()
		_, done := r.results["sleepy"]
		r.mu.Unlock()
		if done || time.Since(start) > 10*time.Second {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	res := r.result(t, "sleepy")
	if res.Error == nil || !strings.Contains(res.Error.Message, "context canceled") {
		t.Fatalf("cancelled run: %+v", res)
	}
	if res := r.result(t, "other"); res.Error != nil {
		t.Fatalf("the other run must finish normally: %+v", res.Error)
	}
}
