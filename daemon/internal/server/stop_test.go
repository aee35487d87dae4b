package server

import (
	"net/http"
	"testing"
	"time"
)

// idleStopBound is how long an idle server may take to stop. Its executor
// host waits out one short pull per plugin, all at once (see
// transport.Subscription.Stop); the rest closes in milliseconds. The bound
// leaves room for a loaded machine.
const idleStopBound = 1500 * time.Millisecond

// An idle server stops promptly: SIGTERM, a test's cleanup and a rolling
// restart wait for it. It runs the real plugins, so that its executor host
// has a pull in flight for each of them when told to stop.
func TestIdleServerStopsPromptly(t *testing.T) {
	for i := range 3 {
		d := start(t, Config{DataDir: t.TempDir()})
		// Ready: every component runs, the executor host's pulls too.
		deadline := time.Now().Add(10 * time.Second)
		for code, _, _, bad := readyz(t, d.url); code != http.StatusOK; code, _, _, bad = readyz(t, d.url) {
			if time.Now().After(deadline) {
				t.Fatalf("/readyz still %d (%s)", code, bad.Detail)
			}
			time.Sleep(20 * time.Millisecond)
		}
		begin := time.Now()
		d.stop()
		took := time.Since(begin)
		t.Logf("stop %d took %v", i+1, took)
		if took > idleStopBound {
			t.Errorf("an idle server took %v to stop, more than %v", took, idleStopBound)
		}
	}
}
