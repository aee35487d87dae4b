package pluginhost

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	pluginv1 "github.com/sirocco-wf/sirocco/pluginapi/v1"
)

// BenchmarkPluginAction measures one action run through the host (slot,
// Execute stream, started and completed events, SDK decoding and encoding)
// against a raw unary go-plugin gRPC call to the same process, in the same
// run, and reports the ratio (target: within 1.5x).
func BenchmarkPluginAction(b *testing.B) {
	h := New(Config{Dirs: []string{benchDir(b)}, WatchInterval: -1})
	if err := h.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	h.mu.RLock()
	p := h.procs[0]
	h.mu.RUnlock()
	rpc := p.rpc
	ctx := context.Background()
	req := Request{Action: "test.echo", Input: json.RawMessage(`{"value":"hello"}`), Context: ExecContext{ActionExecutionID: "bench"}}

	var raw, action time.Duration
	b.Run("raw-grpc", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			if _, err := rpc.GetInfo(ctx, &pluginv1.GetInfoRequest{}); err != nil {
				b.Fatal(err)
			}
		}
		raw = time.Since(start) / time.Duration(b.N)
	})
	b.Run("action", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			if r := h.Execute(ctx, req); r.Error != nil {
				b.Fatal(r.Error)
			}
		}
		action = time.Since(start) / time.Duration(b.N)
	})
	if raw > 0 {
		b.ReportMetric(float64(action)/float64(raw), "action/raw")
		b.Logf("raw gRPC call %v, plugin action %v, ratio %.2f", raw, action, float64(action)/float64(raw))
	}
}

func benchDir(b *testing.B) string {
	dir := b.TempDir()
	data, err := os.ReadFile(binDir + "/sirocco-plugin-testkit")
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(dir+"/sirocco-plugin-testkit", data, 0o755); err != nil {
		b.Fatal(err)
	}
	return dir
}
