package executor

import (
	"strings"
	"testing"

	"github.com/sirocco-wf/sirocco/daemon/internal/transport"
)

// A cancel request on <prefix>.cancel stops the named running action on
// the host that runs it; a cancel for another id changes nothing.
func TestCancelRequestStopsTheRun(t *testing.T) {
	r := newRig(t, true)
	sleepy := newGate(t)
	r.send(t, sleepy.request("sleepy"))
	r.send(t, transport.ActionRequest{ActionExecutionID: "other", Action: "std.sleep", Input: []byte(`{"seconds": 0.5}`), Attempt: 1})
	if err := r.conn.PublishCancel("nobody-runs-this", ""); err != nil {
		t.Fatal(err)
	}
	// Cancel once the run is under way: a request cancelled before it
	// reaches the host is dropped rather than run and stopped (see
	// TestDropsRequestsCancelledWhileQueued).
	sleepy.waitStarted(t)
	if err := r.conn.PublishCancel("sleepy", "execution cancelled"); err != nil {
		t.Fatal(err)
	}
	res := r.result(t, "sleepy")
	if res.Error == nil || !strings.Contains(res.Error.Message, "context canceled") {
		t.Fatalf("cancelled run: %+v", res)
	}
	if res := r.result(t, "other"); res.Error != nil {
		t.Fatalf("the other run must finish normally: %+v", res.Error)
	}
}
