package transport

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go/jetstream"
)

func TestMergeStreamConfigNeverLowersReplicas(t *testing.T) {
	tests := []struct {
		name       string
		want, have int // have < 0: the stream does not exist yet
		out        int
	}{
		{"new stream takes the setting", 3, -1, 3},
		{"new stream, default", 1, -1, 1},
		{"raised setting raises the stream", 3, 1, 3},
		{"stream raised by hand keeps its copies", 1, 3, 3},
		{"lower setting of another process is ignored", 3, 5, 5},
		{"same count", 3, 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}, Replicas: tt.want, Description: "new"}
			var have *jetstream.StreamConfig
			if tt.have >= 0 {
				have = &jetstream.StreamConfig{Name: "S", Subjects: []string{"old.>"}, Replicas: tt.have, Description: "old"}
			}
			got := mergeStreamConfig(want, have)
			if got.Replicas != tt.out {
				t.Errorf("replicas = %d, want %d", got.Replicas, tt.out)
			}
			// Everything but the replicas is this version's configuration.
			if got.Description != "new" || got.Subjects[0] != "s.>" {
				t.Errorf("merged config lost the wanted fields: %+v", got)
			}
		})
	}
}

// TestEnsureStreamsReplicas runs on one embedded server, which holds only
// one copy of a stream: it checks that the setting reaches every stream
// and bucket and that a count the server cannot give is refused with the
// stream's name, not silently lowered. That an existing larger count
// survives a start is mergeStreamConfig's rule, tested above; seeing it on
// real streams needs a NATS cluster.
func TestEnsureStreamsReplicas(t *testing.T) {
	srv, err := StartEmbedded("127.0.0.1:-1", t.TempDir(), hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	connect := func(replicas int) *Conn {
		c, err := Connect(ctx, Options{URL: srv.ClientURL(), Prefix: "rep", Replicas: replicas})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}

	c := connect(0)
	if err := c.EnsureStreams(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Registry(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"REP_ACTIONS", "REP_RESULTS", "KV_REP_EXECUTORS", "KV_REP_ROUTES"} {
		cfg, err := c.streamConfig(ctx, s)
		if err != nil || cfg == nil {
			t.Fatalf("stream %s: %v %v", s, cfg, err)
		}
		if cfg.Replicas != 1 {
			t.Errorf("stream %s has %d replicas, want 1", s, cfg.Replicas)
		}
	}
	// A second start with the same setting changes nothing.
	if err := c.EnsureStreams(ctx); err != nil {
		t.Fatalf("second EnsureStreams: %v", err)
	}
	if n, err := c.bucketReplicas(ctx, "REP_EXECUTORS"); err != nil || n != 1 {
		t.Errorf("bucketReplicas = %d, %v; want 1", n, err)
	}

	// Three copies on a single server: refused, naming the stream.
	err = connect(3).EnsureStreams(ctx)
	if err == nil || !strings.Contains(err.Error(), "REP_ACTIONS (3 replicas)") {
		t.Errorf("EnsureStreams with 3 replicas on one server: %v; want an error naming REP_ACTIONS and 3 replicas", err)
	}
	if _, err := connect(3).Registry(ctx); err == nil {
		t.Error("Registry with 3 replicas on one server: no error")
	}

	for _, bad := range []int{-1, MaxReplicas + 1} {
		if _, err := Connect(ctx, Options{URL: srv.ClientURL(), Prefix: "rep", Replicas: bad}); err == nil || !strings.Contains(err.Error(), "replicas") {
			t.Errorf("Connect with %d replicas: %v; want an error about replicas", bad, err)
		}
	}
}
