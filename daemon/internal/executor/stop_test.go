package executor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sirocco-wf/sirocco/daemon/internal/transport"
)

// stopAll stops a host's consumers together. Each waits out its pull in
// flight (a fraction of a second, see transport.Subscription.Stop); one
// after another, with the others pulling meanwhile, a host with many
// plugins would wait for a part of a pull per plugin.
func TestStopAllStopsTogether(t *testing.T) {
	r := newRig(t, false)
	const plugins = 40
	subs := map[string]*transport.Subscription{}
	for i := range plugins {
		name := fmt.Sprintf("p%d", i)
		s, err := r.conn.ConsumeActions(context.Background(), transport.DefaultTarget, name, 1, nil, func(m jetstream.Msg) { _ = m.Ack() })
		if err != nil {
			t.Fatal(err)
		}
		subs[name] = s
		// Pulls that begin at different times end at different times.
		time.Sleep(250 * time.Millisecond / plugins)
	}
	begin := time.Now()
	stopAll(subs)
	// Together they take one pull, 250 ms; one after another, 40 take
	// more than two seconds.
	if took := time.Since(begin); took > 1500*time.Millisecond {
		t.Fatalf("stopping %d idle consumers took %v: they stopped one after another", plugins, took)
	} else {
		t.Logf("stopping %d idle consumers took %v", plugins, took)
	}
}
