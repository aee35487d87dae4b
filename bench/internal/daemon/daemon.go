// Package daemon runs `sirocco server` as a real process for the
// benchmark, in the embedded mode (SQLite and an embedded NATS in a
// temporary data dir) or the distributed one (a fresh database on an
// external PostgreSQL and a private subject prefix on an external NATS),
// and reads what the workloads measure from outside it: its RSS and CPU
// time from /proc. Every instance gets fresh state, so no workload sees
// another's executions, and Close removes all of it.
package daemon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sirocco-wf/sirocco/bench/internal/v2"
	"github.com/sirocco-wf/sirocco/test/failure"
)

// Modes.
const (
	Embedded = "embedded"
	Postgres = "postgres"
)

// Config says how to run the daemon.
type Config struct {
	Sirocco   string // the sirocco binary
	PluginDir string // --plugin-dir; empty: the daemon's default (beside the binary)
	Mode      string // Embedded or Postgres
	// NATSURL and PostgresAdmin are the external services of the
	// distributed mode; PostgresAdmin names a database the benchmark can
	// connect to in order to create and drop its own.
	NATSURL       string
	PostgresAdmin string
	WorkDir       string   // parent of the data dir and the log
	LogLevel      string   // --log-level
	Extra         []string // more flags
}

// Daemon is one running (or stopped) instance with its own state.
type Daemon struct {
	cfg      Config
	Dir      string // data dir and log
	Port     int
	NATSPort int    // embedded NATS client port; 0 in the distributed mode
	Prefix   string // NATS prefix
	DBName   string // PostgreSQL database; "" when embedded
	DBURL    string // the daemon's --database-url; "" when embedded
	args     []string
	cmd      *exec.Cmd
	done     chan struct{}
	log      string
	starts   int
}

// Start creates fresh state for one instance and starts it; it returns once
// /readyz answers.
func Start(ctx context.Context, cfg Config) (*Daemon, error) {
	dir, err := os.MkdirTemp(cfg.WorkDir, "sirocco-"+cfg.Mode+"-")
	if err != nil {
		return nil, err
	}
	d := &Daemon{cfg: cfg, Dir: dir, Prefix: fmt.Sprintf("bench%d", time.Now().UnixNano())}
	if d.Port, err = FreePort(); err != nil {
		return nil, err
	}
	d.args = []string{"server",
		"--listen", fmt.Sprintf("127.0.0.1:%d", d.Port),
		"--data-dir", filepath.Join(dir, "data"),
		"--nats-prefix", d.Prefix,
		"--log-level", or(cfg.LogLevel, "info"),
	}
	if cfg.PluginDir != "" {
		d.args = append(d.args, "--plugin-dir", cfg.PluginDir)
	}
	switch cfg.Mode {
	case Embedded:
		if d.NATSPort, err = FreePort(); err != nil {
			return nil, err
		}
		d.args = append(d.args, "--nats-listen", fmt.Sprintf("127.0.0.1:%d", d.NATSPort))
	case Postgres:
		if err := d.createDatabase(ctx); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		d.args = append(d.args, "--nats-url", cfg.NATSURL, "--database-url", d.DBURL)
	default:
		return nil, fmt.Errorf("mode %q: want %s or %s", cfg.Mode, Embedded, Postgres)
	}
	d.args = append(d.args, cfg.Extra...)
	if _, err := d.Restart(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// URL is the API's root.
func (d *Daemon) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", d.Port) }

// NATSURL is the NATS the daemon uses.
func (d *Daemon) NATSURL() string {
	if d.cfg.Mode == Embedded {
		return fmt.Sprintf("nats://127.0.0.1:%d", d.NATSPort)
	}
	return d.cfg.NATSURL
}

// SQLitePath is the embedded mode's database file.
func (d *Daemon) SQLitePath() string { return filepath.Join(d.Dir, "data", "sirocco.db") }

// Mode is the instance's mode.
func (d *Daemon) Mode() string { return d.cfg.Mode }

// Pid is the daemon's process id.
func (d *Daemon) Pid() int { return d.cmd.Process.Pid }

// Restart starts the process (again, after Kill or Stop) with the same
// flags and state, and returns how long it took until /readyz said ready.
func (d *Daemon) Restart(ctx context.Context) (time.Duration, error) {
	d.starts++
	d.log = filepath.Join(d.Dir, fmt.Sprintf("sirocco.%d.log", d.starts))
	f, err := os.Create(d.log)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	start := time.Now()
	cmd := exec.Command(d.cfg.Sirocco, d.args...)
	cmd.Stdout, cmd.Stderr = f, f
	// A group of its own, so a kill takes the plugin subprocesses too (as
	// a crash would), and death with the benchmark.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", d.cfg.Sirocco, err)
	}
	d.cmd, d.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(d.done) }()
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	go func() {
		select {
		case <-d.done:
			cancel()
		case <-rctx.Done():
		}
	}()
	if err := v2.New(d.URL()).Ready(rctx); err != nil {
		return 0, fmt.Errorf("sirocco server (%s mode) did not become ready: %w; last log lines:\n%s", d.cfg.Mode, err, d.Tail(15))
	}
	return time.Since(start), nil
}

// running says whether the process was started and has not exited.
func (d *Daemon) running() bool {
	if d.cmd == nil {
		return false
	}
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL to the daemon's process group, as a crash would.
func (d *Daemon) Kill() {
	if !d.running() {
		return
	}
	_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
	<-d.done
}

// Stop asks the daemon to stop (SIGTERM) and kills it after 30 s.
func (d *Daemon) Stop() {
	if !d.running() {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
	}
	d.Kill()
}

// Close kills the daemon (its state is thrown away, so a graceful stop
// would only cost time) and removes its state: the data dir, and in the
// distributed mode its database and NATS streams.
func (d *Daemon) Close() error {
	d.Kill()
	var errs []error
	if d.DBName != "" {
		errs = append(errs, d.dropDatabase())
	}
	if d.cfg.Mode == Postgres {
		errs = append(errs, failure.DeletePrefix(d.cfg.NATSURL, d.Prefix))
	}
	errs = append(errs, os.RemoveAll(d.Dir))
	return errors.Join(errs...)
}

// Tail is the last n lines of the current log.
func (d *Daemon) Tail(n int) string {
	b, _ := os.ReadFile(d.log)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Memory is the daemon's resident set now and at its peak, in bytes.
func (d *Daemon) Memory() (rss, peak int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", d.Pid()))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		fs := strings.Fields(v) // "12345 kB"
		if len(fs) != 2 || fs[1] != "kB" {
			return 0, 0, fmt.Errorf("/proc status %s: unexpected %q", k, v)
		}
		n, err := strconv.ParseInt(fs[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc status %s: %w", k, err)
		}
		if k == "VmRSS" {
			rss = n << 10
		} else {
			peak = n << 10
		}
	}
	return rss, peak, sc.Err()
}

// CPU is the user plus system CPU time the daemon has used so far.
func (d *Daemon) CPU() (time.Duration, error) {
	return ProcessCPU(d.Pid())
}

// ProcessCPU is the user plus system CPU time of process pid.
func ProcessCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // comm may hold spaces
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	// utime and stime are fields 14 and 15 of stat, 12 and 13 after comm.
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	// The kernel reports clock ticks; USER_HZ is 100 on Linux.
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// WaitIdle waits until the daemon used less than frac of one CPU over a
// whole window, or until max has passed: how the workloads tell that a
// burst of work has been absorbed when the API has nothing to poll.
func (d *Daemon) WaitIdle(ctx context.Context, window time.Duration, frac float64, max time.Duration) error {
	deadline := time.Now().Add(max)
	last, err := d.CPU()
	if err != nil {
		return err
	}
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(window):
		}
		now, err := d.CPU()
		if err != nil {
			return err
		}
		if float64(now-last) < frac*float64(window) {
			return nil
		}
		last = now
	}
	return fmt.Errorf("the daemon was still busy after %s", max)
}

func (d *Daemon) createDatabase(ctx context.Context) error {
	c, err := pgx.Connect(ctx, d.cfg.PostgresAdmin)
	if err != nil {
		return fmt.Errorf("PostgreSQL at %s: %w", d.cfg.PostgresAdmin, err)
	}
	defer c.Close(ctx)
	name := fmt.Sprintf("sirocco_bench_%d", time.Now().UnixNano())
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	cc := c.Config()
	d.DBName = name
	d.DBURL = fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", cc.User, net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port))), name)
	return nil
}

func (d *Daemon) dropDatabase() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, d.cfg.PostgresAdmin)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+d.DBName+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", d.DBName, err)
	}
	return nil
}

// FreePort is a loopback TCP port nobody listened on a moment ago, never
// one of the machine's services (NATS 4222, PostgreSQL 5432) nor the
// daemon's default (8989).
func FreePort() (int, error) {
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if port != 4222 && port != 8989 && port != 5432 {
			return port, nil
		}
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
