package server

import (
	"context"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/sirocco-wf/sirocco/daemon/internal/envflag"
	"github.com/sirocco-wf/sirocco/daemon/internal/executor"
	"github.com/sirocco-wf/sirocco/daemon/internal/transport"
)

// Command is `sirocco server`: the daemon. With no flags it runs every role
// in one process with an embedded NATS server and SQLite in the data dir.
func Command(version string) *cobra.Command {
	cfg := Config{Version: version}
	var roles, logLevel string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the Sirocco daemon (API, engine and executor host)",
		Long: `Run the Sirocco daemon.

With no flags it runs everything in one process: the HTTP API on
127.0.0.1:8989, the engine, an executor host, an embedded NATS server and
SQLite, all keeping their data in ./sirocco-data. --nats-url and
--database-url switch to an external NATS and PostgreSQL; --roles chooses
what this process runs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envflag.Apply(cmd); err != nil {
				return err
			}
			cfg.Roles = splitList(roles)
			if err := CheckRoles(cfg.Roles); err != nil {
				return err
			}
			if err := cfg.LoadTokens(); err != nil {
				return err
			}
			cfg.Logger = newLogger(logLevel)
			cmd.SilenceUsage = true
			return runUntilSignal(cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:8989", "address of the HTTP API")
	addSecurityFlags(f, &cfg.Security)
	f.StringVar(&cfg.DataDir, "data-dir", "./sirocco-data", "directory for the SQLite database, embedded NATS storage and plugins/")
	f.StringVar(&cfg.PublicURL, "public-url", "", "base URL at which clients and async actions reach the API (default: http:// and the --listen address)")
	f.StringSliceVar(&cfg.PluginDirs, "plugin-dir", nil, "directories searched for sirocco-plugin-* binaries (default: DATA_DIR/plugins and the directory of the sirocco binary)")
	f.StringVar(&cfg.NATSURL, "nats-url", "", "URL of an external NATS server with JetStream (default: start an embedded one)")
	f.StringVar(&cfg.NATSListen, "nats-listen", "127.0.0.1:-1", "client address of the embedded NATS server (port -1: any free port)")
	f.StringVar(&cfg.NATSPrefix, "nats-prefix", transport.DefaultPrefix, "root of NATS subject, stream and bucket names")
	f.IntVar(&cfg.NATSReplicas, "nats-replicas", 1, "JetStream replicas of every stream and bucket (needs a NATS cluster of that many nodes; a stream that has more keeps them)")
	f.StringVar(&cfg.DatabaseURL, "database-url", "", "postgres:// URL of an external PostgreSQL (default: SQLite in the data dir)")
	f.StringVar(&roles, "roles", "api,engine,executor", "what this process runs: any of api, engine, executor")
	f.StringVar(&cfg.Target, "target", transport.DefaultTarget, "executor pool the executor host serves")
	f.IntVar(&cfg.Capacity, "capacity", 64, "actions the executor host runs at once per plugin")
	f.IntVar(&cfg.HostCapacity, "host-capacity", 0, "actions the executor host runs at once over all plugins (0: no bound beyond --capacity)")
	f.DurationVar(&cfg.Grace, "shutdown-grace", executor.DefaultGrace, "on SIGTERM, how long running actions may finish before they are handed back")
	f.StringVar(&logLevel, "log-level", "info", "trace, debug, info, warn or error")
	f.StringVar(&cfg.MetricsListen, "metrics-listen", "", "also serve /metrics and /healthz at this address (for a process without the api role)")
	f.BoolVar(&cfg.Pprof, "pprof", false, pprofUsage)
	envflag.Annotate(f)
	return cmd
}

const pprofUsage = "serve Go's profiler at /debug/pprof/ on the --metrics-listen address (default: off)"

// ExecutorCommand is `sirocco executor`: a host that only runs actions.
func ExecutorCommand(version string) *cobra.Command {
	cfg := Config{Version: version, Roles: []string{RoleExecutor}}
	var logLevel string
	cmd := &cobra.Command{
		Use:   "executor",
		Short: "Run an executor host that takes actions from NATS and runs them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envflag.Apply(cmd); err != nil {
				return err
			}
			cfg.Logger = newLogger(logLevel)
			cmd.SilenceUsage = true
			return runUntilSignal(cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.NATSURL, "nats-url", "nats://127.0.0.1:4222", "URL of the NATS server with JetStream")
	f.StringVar(&cfg.NATSPrefix, "nats-prefix", transport.DefaultPrefix, "root of NATS subject, stream and bucket names")
	f.IntVar(&cfg.NATSReplicas, "nats-replicas", 1, "JetStream replicas of every stream and bucket (needs a NATS cluster of that many nodes; a stream that has more keeps them)")
	f.StringVar(&cfg.DataDir, "data-dir", "./sirocco-data", "directory whose plugins/ holds plugin binaries")
	f.StringSliceVar(&cfg.PluginDirs, "plugin-dir", nil, "directories searched for sirocco-plugin-* binaries (default: DATA_DIR/plugins and the directory of the sirocco binary)")
	f.StringVar(&cfg.Target, "target", transport.DefaultTarget, "executor pool this host serves")
	f.IntVar(&cfg.Capacity, "capacity", 64, "actions run at once per plugin")
	f.IntVar(&cfg.HostCapacity, "host-capacity", 0, "actions run at once over all plugins (0: no bound beyond --capacity)")
	f.DurationVar(&cfg.Grace, "shutdown-grace", executor.DefaultGrace, "on SIGTERM, how long running actions may finish before they are handed back")
	f.StringVar(&logLevel, "log-level", "info", "trace, debug, info, warn or error")
	f.StringVar(&cfg.MetricsListen, "metrics-listen", "", "serve /metrics and /healthz at this address, e.g. 127.0.0.1:9464 (default: none)")
	f.BoolVar(&cfg.Pprof, "pprof", false, pprofUsage)
	envflag.Annotate(f)
	return cmd
}

// MigrateCommand is `sirocco migrate`: apply the database migrations and
// exit. Servers also migrate at start; this is for operators who upgrade
// the schema as a separate step before rolling out new servers.
func MigrateCommand() *cobra.Command {
	cfg := Config{}
	var logLevel string
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the database migrations and exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envflag.Apply(cmd); err != nil {
				return err
			}
			cmd.SilenceUsage = true
			cfg.Logger = newLogger(logLevel)
			if cfg.DatabaseURL == "" {
				if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
					return err
				}
			}
			st, err := openStore(cmd.Context(), cfg, cfg.Logger)
			if err != nil {
				return err
			}
			return st.Close()
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", "./sirocco-data", "directory of the SQLite database (when --database-url is not given)")
	f.StringVar(&cfg.DatabaseURL, "database-url", "", "postgres:// URL of an external PostgreSQL (default: SQLite in the data dir)")
	f.StringVar(&logLevel, "log-level", "info", "trace, debug, info, warn or error")
	envflag.Annotate(f)
	return cmd
}

func runUntilSignal(cfg Config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, cfg)
}

func newLogger(level string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:  "sirocco",
		Level: hclog.LevelFromString(level),
		Color: hclog.AutoColor,
	})
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
