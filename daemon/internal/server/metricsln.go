package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sirocco-wf/sirocco/daemon/internal/metrics"
)

// serveMetrics serves /metrics and /healthz on their own address when
// addr is set. A process without the api role (`sirocco executor`, an
// engine-only server) has no other listener, and its metrics (action
// latency, plugin restarts) are the ones an operator needs from it. Plain
// HTTP only: put it on a private address.
//
// With withPprof it also serves Go's profiler under /debug/pprof/. Only
// here, never on the API's listener: a profile shows the process's code
// and costs CPU while it runs, so it is for whoever may reach this private
// address, not for every holder of an API token.
func serveMetrics(g *run.Group, addr string, withPprof bool, reg *prometheus.Registry, log hclog.Logger) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--metrics-listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler(reg))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	if withPprof {
		// Index serves every named profile (heap, allocs, goroutine, ...)
		// below the prefix; the others are the ones it does not.
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	g.Add(func() error {
		log.Info("metrics listening", "address", "http://"+ln.Addr().String()+"/metrics")
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}, func(error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return nil
}
