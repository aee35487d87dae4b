// Package server wires Sirocco's components into one process: NATS
// (embedded or external), the store (SQLite or PostgreSQL), the engine, the
// HTTP API and an executor host, each chosen by the roles. It holds no
// logic of its own beyond choosing, building and running them together.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/oklog/run"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/engine"
	"github.com/sirocco-wf/sirocco/daemon/internal/executor"
	"github.com/sirocco-wf/sirocco/daemon/internal/metrics"
	"github.com/sirocco-wf/sirocco/daemon/internal/metrics/state"
	"github.com/sirocco-wf/sirocco/daemon/internal/pluginhost"
	"github.com/sirocco-wf/sirocco/daemon/internal/store"
	"github.com/sirocco-wf/sirocco/daemon/internal/transport"
)

// Roles a server process can take.
const (
	RoleAPI      = "api"
	RoleEngine   = "engine"
	RoleExecutor = "executor"
)

// apiShutdownTimeout is how long a stopping API waits for the requests
// under way to end before it stops anyway.
const apiShutdownTimeout = 5 * time.Second

// Config is everything `sirocco server` and `sirocco executor` read from
// their flags and environment.
type Config struct {
	Listen      string   // HTTP API address
	DataDir     string   // SQLite file, embedded NATS storage, plugins/
	PluginDirs  []string // searched for sirocco-plugin-* binaries
	NATSURL     string   // external NATS; empty starts an embedded server
	NATSListen  string   // the embedded server's client address
	NATSPrefix  string   // subject and stream root
	DatabaseURL string   // postgres://...; empty uses SQLite in DataDir
	// PublicURL is the base URL clients and async actions reach the API
	// at; empty means http:// and the listen address.
	PublicURL string
	Roles     []string
	Target    string // executor pool this host serves
	Capacity  int    // actions run at once per plugin on this host
	// HostCapacity bounds the actions this executor host runs at once over
	// all its plugins; 0 means only the per-plugin Capacity applies.
	HostCapacity int
	// Grace is how long a stopping executor host lets running actions
	// finish before it hands them back.
	Grace   time.Duration
	Version string
	Logger  hclog.Logger
	// OnReady, when set, is called with the API's address once every
	// component is up (tests listen on port 0).
	OnReady func(apiAddr string)
	// NATSReplicas is the JetStream replica count of every stream and
	// bucket (never lowered below what a stream already has); 0 means 1.
	NATSReplicas int
	// Security is the API's TLS and tokens (security.go).
	Security
	// MetricsListen, when set, serves /metrics and /healthz there too: the
	// only listener of a process without the api role.
	MetricsListen string
	// Pprof serves Go's profiler under /debug/pprof/ on MetricsListen.
	Pprof bool
}

func (c *Config) has(role string) bool {
	for _, r := range c.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// CheckRoles rejects unknown role names.
func CheckRoles(roles []string) error {
	if len(roles) == 0 {
		return errors.New("--roles: at least one of api, engine, executor")
	}
	seen := map[string]bool{}
	for _, r := range roles {
		switch r {
		case RoleAPI, RoleEngine, RoleExecutor:
			seen[r] = true
		default:
			return fmt.Errorf("--roles: unknown role %q (known: api, engine, executor)", r)
		}
	}
	return nil
}

// DefaultPluginDirs is where plugins are looked for when --plugin-dir is
// not given: the data dir's plugins/ and the directory of the running
// binary, so that `make run` finds the plugins `make build` wrote beside it.
func DefaultPluginDirs(dataDir string) []string {
	dirs := []string{filepath.Join(dataDir, "plugins")}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		dirs = append(dirs, filepath.Dir(exe))
	}
	return dirs
}

// Run starts the configured components and serves until ctx ends or one
// of them fails; then it stops them all, in reverse order of need.
func Run(ctx context.Context, cfg Config) error {
	if err := CheckRoles(cfg.Roles); err != nil {
		return err
	}
	if cfg.Pprof && cfg.MetricsListen == "" {
		return errors.New("--pprof serves on the --metrics-listen address: give one")
	}
	log := cfg.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}

	conn, stopNATS, err := openNATS(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer stopNATS()
	reg, err := conn.Registry(ctx)
	if err != nil {
		return err
	}
	ready := newReadiness(cfg, conn, log.Named("ready"))

	// The API's listener opens first: its address is the base of the
	// callback URLs the engine gives async actions.
	var ln net.Listener
	scheme := "http"
	if cfg.has(RoleAPI) {
		if ln, scheme, err = cfg.Security.listen(cfg.Listen, log); err != nil {
			return err
		}
		defer ln.Close()
	}
	publicURL := cfg.PublicURL
	if publicURL == "" && ln != nil {
		publicURL = scheme + "://" + ln.Addr().String()
	}

	promReg := metrics.NewRegistry()

	var g run.Group
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	g.Add(func() error { <-runCtx.Done(); return nil }, func(error) { ready.stop(); cancel() })

	if cfg.has(RoleExecutor) {
		dirs := cfg.PluginDirs
		if len(dirs) == 0 {
			dirs = DefaultPluginDirs(cfg.DataDir)
		}
		plugins := pluginhost.New(pluginhost.Config{Dirs: dirs, Logger: log, MaxConcurrentRuns: cfg.Capacity, Metrics: metrics.NewPluginHost(promReg)})
		if err := plugins.Start(ctx); err != nil {
			return fmt.Errorf("plugin host: %w", err)
		}
		defer plugins.Close()
		ex, err := executor.New(executor.Config{
			Target: cfg.Target, Capacity: cfg.Capacity, Conn: conn, Registry: reg,
			Plugins: plugins, Logger: log.Named("executor"), Grace: cfg.Grace,
			Metrics: metrics.NewExecutor(promReg), HostCapacity: cfg.HostCapacity,
		})
		if err != nil {
			return err
		}
		if err := ex.Start(ctx); err != nil {
			return err
		}
		ready.executorRegistered()
		exCtx, exCancel := context.WithCancel(runCtx)
		g.Add(func() error { return ex.Serve(exCtx) }, func(error) { exCancel() })
	}

	// The API starts executions through the engine's code (one transaction
	// plus the outbox), so an API-only process builds an engine too, and
	// runs only its outbox relay; applying results is the engine role's.
	var eng *engine.Engine
	var dbState store.Store // for the metrics' counts; nil without a database
	if cfg.has(RoleEngine) || cfg.has(RoleAPI) {
		st, err := openStore(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer st.Close()
		ready.storeOpened(st)
		dbState = st
		st = state.TimeTransactions(st, promReg)
		wctx, wcancel := context.WithCancel(runCtx)
		defer wcancel()
		if err := reg.Watch(wctx); err != nil {
			return err
		}
		appliers := 1 // SQLite: one writer
		if cfg.DatabaseURL != "" {
			appliers = postgresResultAppliers
		}
		eng, err = engine.New(engine.Config{Store: st, Conn: conn, Registry: reg, Logger: log.Named("engine"), APIURL: publicURL,
			Metrics: metrics.NewEngine(promReg), ResultAppliers: appliers})
		if err != nil {
			return err
		}
		enCtx, enCancel := context.WithCancel(runCtx)
		runEngine := eng.Run
		if !cfg.has(RoleEngine) {
			runEngine = eng.RunOutbox
		}
		g.Add(func() error { return runEngine(enCtx) }, func(error) { enCancel() })
		if cfg.has(RoleEngine) {
			// Timers (cron ticks) fire on engines; an API-only process's
			// new timers are found by the engines' sweeps.
			sched := eng.NewScheduler(engine.SchedulerConfig{Logger: log.Named("scheduler")})
			scCtx, scCancel := context.WithCancel(runCtx)
			g.Add(func() error { return sched.Run(scCtx) }, func(error) { scCancel() })
		}
	}

	state.Register(promReg, dbState, conn, log.Named("metrics"))
	if err := serveMetrics(&g, cfg.MetricsListen, cfg.Pprof, promReg, log); err != nil {
		return err
	}

	apiAddr := ""
	if cfg.has(RoleAPI) {
		// Shutdown waits for active requests, and an event stream is
		// active until its execution ends: streams end when shutdown
		// begins, so that it waits only for ordinary requests.
		stopping := make(chan struct{})
		srv := &http.Server{
			Handler: api.New(apiBackend{eng, ready}, log, api.Options{Version: cfg.Version, Metrics: metrics.Handler(promReg), Auth: cfg.Tokens,
				Stopping: stopping}),
			ReadHeaderTimeout: 10 * time.Second,
		}
		srv.RegisterOnShutdown(sync.OnceFunc(func() { close(stopping) }))
		g.Add(func() error {
			log.Info("API listening", "address", scheme+"://"+ln.Addr().String(), "docs", scheme+"://"+ln.Addr().String()+"/docs",
				"tokens", cfg.Tokens.Len())
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		}, func(error) {
			sctx, c := context.WithTimeout(context.Background(), apiShutdownTimeout)
			defer c()
			_ = srv.Shutdown(sctx)
		})
		apiAddr = ln.Addr().String()
	}
	if cfg.OnReady != nil {
		g.Add(func() error { cfg.OnReady(apiAddr); <-runCtx.Done(); return nil }, func(error) {})
	}
	return g.Run()
}

// openNATS connects to the external NATS, or starts the embedded server
// with its storage in the data dir and connects to it in-process.
func openNATS(ctx context.Context, cfg Config, log hclog.Logger) (*transport.Conn, func(), error) {
	opts := transport.Options{URL: cfg.NATSURL, Prefix: cfg.NATSPrefix, Replicas: cfg.NATSReplicas, Name: "sirocco", Logger: log.Named("nats")}
	stop := func() {}
	if cfg.NATSURL == "" {
		listen := cfg.NATSListen
		if listen == "" {
			listen = "127.0.0.1:-1"
		}
		emb, err := transport.StartEmbedded(listen, filepath.Join(cfg.DataDir, "nats"), log.Named("nats-server"))
		if err != nil {
			return nil, nil, err
		}
		log.Info("embedded NATS started", "url", emb.ClientURL())
		opts.InProcess = emb.Server()
		stop = emb.Shutdown
	}
	conn, err := transport.Connect(ctx, opts)
	if err != nil {
		stop()
		return nil, nil, err
	}
	if err := conn.EnsureStreams(ctx); err != nil {
		conn.Close()
		stop()
		return nil, nil, err
	}
	return conn, func() { conn.Close(); stop() }, nil
}

// postgresResultAppliers is how many batches of results an engine on
// PostgreSQL applies at once (engine.Config.ResultAppliers), well within
// its pool of 16 connections.
const postgresResultAppliers = 4

func openStore(ctx context.Context, cfg Config, log hclog.Logger) (store.Store, error) {
	url := cfg.DatabaseURL
	if url == "" {
		url = filepath.Join(cfg.DataDir, "sirocco.db")
	} else if !strings.HasPrefix(url, "postgres://") && !strings.HasPrefix(url, "postgresql://") {
		return nil, fmt.Errorf("--database-url %q: only postgres:// URLs are supported (SQLite lives in --data-dir)", url)
	}
	st, err := store.Open(ctx, url, log.Named("store"))
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}
