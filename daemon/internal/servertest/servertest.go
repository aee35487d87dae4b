// Package servertest runs a whole Sirocco server inside a test: an
// embedded NATS server and the API on free ports, SQLite in a temporary
// directory, the engine and an executor host, all through server.Run as
// `sirocco server` runs them. Tests of the CLI, the client, the API and
// the engine's conformance talk to it over HTTP as a user would; one
// helper keeps them starting and stopping it the same way.
package servertest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sirocco-wf/sirocco/daemon/internal/server"
)

// StartTimeout bounds how long Start waits for the server to be ready: a
// first start migrates a fresh database and may start plugin processes.
const StartTimeout = 60 * time.Second

// Start runs a server with cfg until the test ends and returns the base
// URL of its API ("http://127.0.0.1:PORT"). Fields left zero are chosen
// for a test: the API and NATS on free loopback ports, the data in a
// temporary directory, an empty plugin directory (the built-in actions
// only), every role, and a logger that writes nothing. OnReady is
// Start's own.
//
// When the test ends the server stops, and http.DefaultClient's idle
// connections are closed at once rather than when the client finds them
// dead, so that a goleak check right after finds none of their goroutines.
func Start(t testing.TB, cfg server.Config) string {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.NATSListen == "" && cfg.NATSURL == "" {
		cfg.NATSListen = "127.0.0.1:-1"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.PluginDirs == nil {
		cfg.PluginDirs = []string{t.TempDir()}
	}
	if cfg.Roles == nil {
		cfg.Roles = []string{server.RoleAPI, server.RoleEngine, server.RoleExecutor}
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	ready := make(chan string, 1)
	cfg.OnReady = func(addr string) { ready <- addr }

	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	var runErr error
	go func() {
		defer close(stopped)
		runErr = server.Run(ctx, cfg)
	}()
	t.Cleanup(func() {
		cancel()
		<-stopped
		http.DefaultClient.CloseIdleConnections()
	})
	select {
	case addr := <-ready:
		return "http://" + addr
	case <-stopped:
		t.Fatalf("server did not start: %v", runErr)
	case <-time.After(StartTimeout):
		t.Fatalf("server not ready after %v", StartTimeout)
	}
	return ""
}
