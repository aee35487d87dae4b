//go:build linux

// Package failure holds Sirocco's failure tests: real `sirocco server` and
// `sirocco executor` processes, a private nats-server and a private
// PostgreSQL cluster on loopback, which the tests kill and restart while
// workflows run. This file is the harness; other tests (durability,
// distributed benchmarks) may use it too.
//
// Every process the harness starts runs in a process group of its own, so
// that killing it kills its plugin subprocesses as well, as a machine crash
// would; the test's cleanup kills every group it started and checks that
// none of their processes is left.
package failure

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Binaries are the sirocco binary and the directory of the plugin binaries
// it is given with --plugin-dir, built once per test binary.
type Binaries struct {
	Sirocco   string
	PluginDir string
}

// Plugins are the plugin binaries Build makes (./plugins/NAME).
var Plugins = []string{"http", "shell", "openstack"}

// Build compiles ./daemon and every plugin into dir. The builds run side
// by side because linking is the slow part.
func Build(dir string) (*Binaries, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	b := &Binaries{Sirocco: filepath.Join(dir, "sirocco"), PluginDir: filepath.Join(dir, "plugins")}
	if err := os.MkdirAll(b.PluginDir, 0o755); err != nil {
		return nil, err
	}
	type job struct{ out, pkg string }
	jobs := []job{{b.Sirocco, "./daemon"}}
	for _, p := range Plugins {
		jobs = append(jobs, job{filepath.Join(b.PluginDir, "sirocco-plugin-"+p), "./plugins/" + p})
	}
	errs := make(chan error, len(jobs))
	for _, j := range jobs {
		go func() {
			cmd := exec.Command("go", "build", "-o", j.out, j.pkg)
			cmd.Dir = root
			out, err := cmd.CombinedOutput()
			if err != nil {
				err = fmt.Errorf("go build %s: %w\n%s", j.pkg, err, out)
			}
			errs <- err
		}()
	}
	var all []error
	for range jobs {
		all = append(all, <-errs)
	}
	return b, errors.Join(all...)
}

func moduleRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot find the module root")
	}
	return filepath.Join(filepath.Dir(file), "..", ".."), nil
}

// Harness starts processes for one test and stops all of them when the
// test ends, whatever happens.
type Harness struct {
	t    testing.TB
	bins *Binaries
	dir  string

	mu    sync.Mutex
	procs []*Proc
	names map[string]int
}

// New makes a harness for t. Logs of every process go to files in a
// temporary directory; when the test fails the last lines of each are
// written to the test log, and SIROCCO_TEST_KEEP_LOGS=1 keeps the files.
func New(t testing.TB, bins *Binaries) *Harness {
	t.Helper()
	dir, err := os.MkdirTemp("", "sirocco-failure-")
	if err != nil {
		t.Fatal(err)
	}
	// World-traversable, so that PostgreSQL, run as its own user when the
	// test runs as root, can reach its directory inside.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h := &Harness{t: t, bins: bins, dir: dir, names: map[string]int{}}
	t.Cleanup(h.cleanup)
	return h
}

// Dir is the harness's scratch directory.
func (h *Harness) Dir() string { return h.dir }

// TempDir makes a fresh directory under the harness's scratch directory.
func (h *Harness) TempDir(name string) string {
	h.t.Helper()
	d, err := os.MkdirTemp(h.dir, name+"-")
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

func (h *Harness) cleanup() {
	h.mu.Lock()
	procs := append([]*Proc(nil), h.procs...)
	h.mu.Unlock()
	for _, p := range procs {
		p.killGroup()
	}
	for _, p := range procs {
		p.wait(10 * time.Second)
	}
	// Plugin subprocesses outlive their daemon for a moment after the
	// group is killed; give them that moment, then call what is left an
	// orphan.
	for _, p := range procs {
		left := CheckFor(10*time.Second, 50*time.Millisecond, func() error {
			if pids := groupMembers(p.pgid); len(pids) > 0 {
				return fmt.Errorf("processes %v of %s are still alive", pids, p.Name)
			}
			return nil
		})
		if left != nil {
			h.t.Errorf("orphans: %v", left)
			_ = syscall.Kill(-p.pgid, syscall.SIGKILL)
		}
	}
	if h.t.Failed() {
		for _, p := range procs {
			h.t.Logf("---- last lines of %s (%s) ----\n%s", p.Name, p.LogPath, p.Tail(25))
		}
	}
	if os.Getenv("SIROCCO_TEST_KEEP_LOGS") != "" {
		h.t.Logf("logs kept in %s", h.dir)
		return
	}
	_ = os.RemoveAll(h.dir)
}

// groupMembers lists the live (not zombie) processes of process group pgid.
func groupMembers(pgid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			out = append(out, pid)
		}
	}
	return out
}

// ProcOptions are the extras of Harness.Start.
type ProcOptions struct {
	Env []string // added to the test's environment
	// Credential runs the process as another user (PostgreSQL refuses to
	// run as root).
	Credential *syscall.Credential
	Dir        string
}

// Proc is one process the harness started (a daemon, nats-server,
// postgres). Its output goes to LogPath.
type Proc struct {
	Name    string
	LogPath string
	cmd     *exec.Cmd
	pgid    int
	done    chan struct{}
	err     error
	started time.Time
}

// Start runs path with args in a process group of its own. The process
// gets SIGKILL if the test binary dies, and is killed at the end of the
// test if it still runs.
func (h *Harness) Start(name, path string, args []string, o ProcOptions) *Proc {
	h.t.Helper()
	h.mu.Lock()
	h.names[name]++
	n := h.names[name]
	h.mu.Unlock()
	logPath := filepath.Join(h.dir, fmt.Sprintf("%s.%d.log", name, n))
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		h.t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Dir = o.Dir
	cmd.Env = append(os.Environ(), o.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: o.Credential}
	if err := cmd.Start(); err != nil {
		h.t.Fatalf("start %s: %v", name, err)
	}
	p := &Proc{Name: name, LogPath: logPath, cmd: cmd, pgid: cmd.Process.Pid, done: make(chan struct{}), started: time.Now()}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	h.mu.Lock()
	h.procs = append(h.procs, p)
	h.mu.Unlock()
	return p
}

// Pid is the process id (also its process group id).
func (p *Proc) Pid() int { return p.pgid }

// Kill sends SIGKILL to the process and every process of its group (its
// plugin subprocesses), as a crash of the machine would, and waits for it.
func (p *Proc) Kill() {
	p.killGroup()
	p.wait(10 * time.Second)
}

func (p *Proc) killGroup() { _ = syscall.Kill(-p.pgid, syscall.SIGKILL) }

// Signal sends sig to the process alone.
func (p *Proc) Signal(sig syscall.Signal) error { return p.cmd.Process.Signal(sig) }

// Terminate sends SIGTERM and waits up to grace for the process to exit;
// then it kills the group. It returns the exit code (-1 when killed or
// killed by a signal) and how long the exit took.
func (p *Proc) Terminate(grace time.Duration) (int, time.Duration) {
	start := time.Now()
	_ = p.Signal(syscall.SIGTERM)
	if !p.wait(grace) {
		p.Kill()
		return -1, time.Since(start)
	}
	return p.ExitCode(), time.Since(start)
}

// Wait waits up to d for the process to exit and says whether it did.
func (p *Proc) Wait(d time.Duration) bool { return p.wait(d) }

func (p *Proc) wait(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

// Exited says whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitCode is the exit status of an ended process, -1 for a signal or a
// process still running.
func (p *Proc) ExitCode() int {
	if !p.Exited() || p.cmd.ProcessState == nil {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// Log is everything the process wrote so far.
func (p *Proc) Log() string {
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
}

// Tail is the last n lines of the log.
func (p *Proc) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.Log(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Grep returns the log lines that match re.
func (p *Proc) Grep(re *regexp.Regexp) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(p.Log()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if re.MatchString(sc.Text()) {
			out = append(out, sc.Text())
		}
	}
	return out
}

// CheckFor calls f every interval until it returns nil or total has
// passed, and returns f's last error. It is the polling helper the tests
// use instead of sleeps, after nats-server's checkFor.
func CheckFor(total, interval time.Duration, f func() error) error {
	deadline := time.Now().Add(total)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(interval)
	}
}

// Eventually is CheckFor that fails the test with f's last error.
func Eventually(t testing.TB, total, interval time.Duration, f func() error) {
	t.Helper()
	if err := CheckFor(total, interval, f); err != nil {
		t.Fatalf("after %s: %v", total, err)
	}
}

// FreePort returns a TCP port on 127.0.0.1 that nobody listened on a
// moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		// Never the ports of the machine's services or of `make run`.
		if port != 4222 && port != 8989 && port != 5432 {
			return port
		}
	}
}

// ---- NATS ----

// NATS is a private nats-server with JetStream that the test can stop and
// start again on the same port and storage directory.
type NATS struct {
	h        *Harness
	Port     int
	StoreDir string
	Proc     *Proc
}

// NATSServerBinary finds nats-server: $SIROCCO_TEST_NATS_SERVER, $PATH or
// the Debian package's place.
func NATSServerBinary() (string, error) {
	if p := os.Getenv("SIROCCO_TEST_NATS_SERVER"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/nats-server"); err == nil {
		return "/usr/sbin/nats-server", nil
	}
	return "", errors.New("nats-server not found: install it (Debian: nats-server) or set SIROCCO_TEST_NATS_SERVER")
}

// StartNATS starts a private nats-server with JetStream on a free port.
func (h *Harness) StartNATS() *NATS {
	h.t.Helper()
	n := &NATS{h: h, Port: FreePort(h.t), StoreDir: h.TempDir("nats")}
	n.Start()
	return n
}

// URL is the client URL.
func (n *NATS) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.Port) }

// Start starts the server (again) and waits until JetStream answers.
func (n *NATS) Start() {
	t := n.h.t
	t.Helper()
	bin, err := NATSServerBinary()
	if err != nil {
		t.Fatal(err)
	}
	n.Proc = n.h.Start("nats", bin, []string{"-a", "127.0.0.1", "-p", strconv.Itoa(n.Port), "-js", "-sd", n.StoreDir}, ProcOptions{})
	Eventually(t, 20*time.Second, 50*time.Millisecond, func() error {
		if n.Proc.Exited() {
			return fmt.Errorf("nats-server exited: %s", n.Proc.Tail(10))
		}
		nc, err := nats.Connect(n.URL(), nats.Timeout(time.Second))
		if err != nil {
			return err
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err = js.AccountInfo(ctx)
		return err
	})
}

// Stop shuts the server down cleanly (SIGTERM) and waits for it.
func (n *NATS) Stop() {
	n.h.t.Helper()
	if code, _ := n.Proc.Terminate(20 * time.Second); code == -1 && !n.Proc.Exited() {
		n.h.t.Errorf("nats-server did not stop on SIGTERM")
	}
}

// Kill kills the server with SIGKILL.
func (n *NATS) Kill() { n.Proc.Kill() }

// Restart stops the server cleanly and starts it again on the same port
// and storage. It returns how long NATS was down.
func (n *NATS) Restart() time.Duration {
	n.h.t.Helper()
	start := time.Now()
	n.Stop()
	n.Start()
	return time.Since(start)
}

// ---- PostgreSQL ----

// Postgres is a private PostgreSQL cluster (initdb in a temporary
// directory, trust authentication, a free port, its socket in the same
// directory) that the test can restart. When the test runs as root it runs
// as the postgres user, since PostgreSQL refuses root.
type Postgres struct {
	h    *Harness
	Port int
	Dir  string
	Proc *Proc
	bin  string
	cred *syscall.Credential
}

// PostgresBinDir finds initdb and postgres: $SIROCCO_TEST_PG_BIN, the
// newest /usr/lib/postgresql/*/bin, or $PATH.
func PostgresBinDir() (string, error) {
	if d := os.Getenv("SIROCCO_TEST_PG_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("initdb not found: install PostgreSQL or set SIROCCO_TEST_PG_BIN")
}

func pgVersion(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// StartPostgres creates and starts a private cluster.
func (h *Harness) StartPostgres() *Postgres {
	t := h.t
	t.Helper()
	bin, err := PostgresBinDir()
	if err != nil {
		t.Fatal(err)
	}
	pg := &Postgres{h: h, Port: FreePort(t), Dir: h.TempDir("pg"), bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, PostgreSQL needs a non-root user and there is no 'postgres' user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		pg.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(pg.Dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	p := h.Start("initdb", filepath.Join(bin, "initdb"),
		[]string{"-D", pg.dataDir(), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale", "C"},
		ProcOptions{Credential: pg.cred, Dir: pg.Dir})
	if !p.Wait(2*time.Minute) || p.ExitCode() != 0 {
		t.Fatalf("initdb failed:\n%s", p.Tail(30))
	}
	pg.Start()
	return pg
}

func (pg *Postgres) dataDir() string { return filepath.Join(pg.Dir, "data") }

// URL is the URL of database db.
func (pg *Postgres) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", pg.Port, db)
}

// Start starts the cluster (again) and waits until it takes connections.
func (pg *Postgres) Start() {
	t := pg.h.t
	t.Helper()
	// Durability across an OS crash is not what these tests are about;
	// a clean stop and SIGKILL of the server keep committed data anyway.
	pg.Proc = pg.h.Start("postgres", filepath.Join(pg.bin, "postgres"), []string{
		"-D", pg.dataDir(), "-p", strconv.Itoa(pg.Port), "-k", pg.Dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "log_min_messages=warning",
	}, ProcOptions{Credential: pg.cred, Dir: pg.Dir})
	Eventually(t, 30*time.Second, 50*time.Millisecond, func() error {
		if pg.Proc.Exited() {
			return fmt.Errorf("postgres exited: %s", pg.Proc.Tail(10))
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, pg.URL("postgres"))
		if err != nil {
			return err
		}
		return c.Close(ctx)
	})
}

// Stop shuts the cluster down with a fast shutdown (SIGINT: clients are
// disconnected, committed work is kept) and waits for it.
func (pg *Postgres) Stop() {
	pg.h.t.Helper()
	_ = pg.Proc.Signal(syscall.SIGINT)
	if !pg.Proc.Wait(30 * time.Second) {
		pg.h.t.Errorf("postgres did not stop after SIGINT")
		pg.Proc.Kill()
	}
}

// Kill kills the postmaster and its backends with SIGKILL (a crash; the
// next start recovers from the WAL).
func (pg *Postgres) Kill() { pg.Proc.Kill() }

// Restart stops the cluster (fast shutdown) and starts it again. It
// returns how long the database was down.
func (pg *Postgres) Restart() time.Duration {
	pg.h.t.Helper()
	start := time.Now()
	pg.Stop()
	pg.Start()
	return time.Since(start)
}

// CreateDatabase creates database name and returns its URL.
func (pg *Postgres) CreateDatabase(name string) string {
	t := pg.h.t
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	return pg.URL(name)
}

// ---- the machine's services ----

// MachineNATS is the URL of the NATS server the distributed-mode tests
// share: $SIROCCO_TEST_NATS_URL or 127.0.0.1:4222. Tests on it use a
// prefix of their own (UniquePrefix) and delete its streams afterwards.
func MachineNATS() string {
	if u := os.Getenv("SIROCCO_TEST_NATS_URL"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

// UniquePrefix is a --nats-prefix no other test run uses; its streams and
// buckets are deleted from natsURL when the test ends.
func UniquePrefix(t testing.TB, natsURL string) string {
	t.Helper()
	prefix := fmt.Sprintf("fail%d", time.Now().UnixNano())
	t.Cleanup(func() {
		if err := DeletePrefix(natsURL, prefix); err != nil {
			t.Logf("cleanup of NATS prefix %s: %v", prefix, err)
		}
	})
	return prefix
}

// DeletePrefix deletes every stream and key-value bucket whose name
// starts with the prefix's stream root, whatever the daemon created.
func DeletePrefix(natsURL, prefix string) error {
	nc, err := nats.Connect(natsURL, nats.Timeout(5*time.Second))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	root := strings.ToUpper(strings.ReplaceAll(prefix, "-", "_")) + "_"
	var errs []error
	names := js.StreamNames(ctx)
	var del []string
	for n := range names.Name() {
		if strings.HasPrefix(n, root) || strings.HasPrefix(n, "KV_"+root) || strings.HasPrefix(n, "OBJ_"+root) {
			del = append(del, n)
		}
	}
	if err := names.Err(); err != nil {
		errs = append(errs, err)
	}
	for _, n := range del {
		if err := js.DeleteStream(ctx, n); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// MachineDatabase creates a fresh database on the machine's PostgreSQL
// ($SIROCCO_TEST_POSTGRES_URL or postgres@127.0.0.1:5432) and drops it
// when the test ends.
func MachineDatabase(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("SIROCCO_TEST_POSTGRES_URL")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	ctx := context.Background()
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("PostgreSQL at %s is required for this test: %v", admin, err)
	}
	defer c.Close(ctx)
	name := fmt.Sprintf("sirocco_fail_%d", time.Now().UnixNano())
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("cleanup: %v", err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})
	cfg, err := pgx.ParseConfig(admin)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name)
}

// ---- Sirocco processes ----

// ServerConfig is the command line of one `sirocco server`.
type ServerConfig struct {
	NATSURL     string
	Prefix      string
	DatabaseURL string
	Roles       string // --roles; empty: the daemon's default (all three)
	Target      string
	Capacity    int
	LogLevel    string   // default info
	Extra       []string // more flags
}

// Server is a running `sirocco server`.
type Server struct {
	*Proc
	URL  string // http://127.0.0.1:PORT, empty without the api role
	args []string
	cfg  ServerConfig
	h    *Harness
}

// StartServer starts `sirocco server` with its own data dir and a free API
// port, and waits until it answers /healthz (or, without the api role,
// until its log says the engine or executor is up).
func (h *Harness) StartServer(name string, c ServerConfig) *Server {
	h.t.Helper()
	port := FreePort(h.t)
	args := []string{"server",
		"--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--data-dir", h.TempDir(name),
		"--plugin-dir", h.bins.PluginDir,
		"--log-level", or(c.LogLevel, "info"),
	}
	args = appendFlag(args, "--nats-url", c.NATSURL)
	args = appendFlag(args, "--nats-prefix", c.Prefix)
	args = appendFlag(args, "--database-url", c.DatabaseURL)
	args = appendFlag(args, "--roles", c.Roles)
	args = appendFlag(args, "--target", c.Target)
	if c.Capacity > 0 {
		args = append(args, "--capacity", strconv.Itoa(c.Capacity))
	}
	args = append(args, c.Extra...)
	s := &Server{h: h, args: args, cfg: c}
	if c.Roles == "" || strings.Contains(c.Roles, "api") {
		s.URL = fmt.Sprintf("http://127.0.0.1:%d", port)
	}
	s.start(name)
	return s
}

func (s *Server) start(name string) {
	h := s.h
	h.t.Helper()
	s.Proc = h.Start(name, h.bins.Sirocco, s.args, ProcOptions{})
	Eventually(h.t, 60*time.Second, 50*time.Millisecond, func() error {
		if s.Exited() {
			return fmt.Errorf("%s exited with %d:\n%s", s.Name, s.ExitCode(), s.Tail(20))
		}
		if s.URL == "" {
			if len(s.Grep(readyRE)) > 0 || engineConsuming(s.cfg) == nil {
				return nil
			}
			return fmt.Errorf("%s: neither a readiness line in its log nor an engine pulling results yet", s.Name)
		}
		resp, err := http.Get(s.URL + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s /healthz: %d", s.Name, resp.StatusCode)
		}
		return nil
	})
}

// Restart starts a server that was killed or stopped again with the same
// flags (same port and data dir).
func (s *Server) Restart() {
	s.h.t.Helper()
	if !s.Exited() {
		s.Kill()
	}
	s.start(s.Name)
}

var readyRE = regexp.MustCompile(`executor host ready|API listening|engine (started|running|ready)`)

// engineConsuming says whether an engine pulls from the results stream of
// c's NATS and prefix: how an engine-only server, which logs no line when
// it is up, is seen to be ready.
func engineConsuming(c ServerConfig) error {
	if c.NATSURL == "" {
		return errors.New("embedded NATS")
	}
	nc, err := nats.Connect(c.NATSURL, nats.Timeout(time.Second))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	stream := strings.ToUpper(strings.ReplaceAll(or(c.Prefix, "sirocco"), "-", "_")) + "_RESULTS"
	cons, err := js.Consumer(ctx, stream, "engine")
	if err != nil {
		return err
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return err
	}
	if info.NumWaiting == 0 {
		return errors.New("no pull request waiting on the engines' consumer")
	}
	return nil
}

// ExecutorConfig is the command line of one `sirocco executor`.
type ExecutorConfig struct {
	NATSURL  string
	Prefix   string
	Target   string
	Capacity int
	LogLevel string
	Extra    []string
}

// Executor is a running `sirocco executor`; ID is the id it registered
// under (read from its log).
type Executor struct {
	*Proc
	ID string
}

var executorIDRE = regexp.MustCompile(`executor host ready.*\bid=(\S+)`)

// StartExecutor starts `sirocco executor` and waits until it has
// registered.
func (h *Harness) StartExecutor(name string, c ExecutorConfig) *Executor {
	h.t.Helper()
	args := []string{"executor",
		"--data-dir", h.TempDir(name),
		"--plugin-dir", h.bins.PluginDir,
		"--log-level", or(c.LogLevel, "info"),
	}
	args = appendFlag(args, "--nats-url", c.NATSURL)
	args = appendFlag(args, "--nats-prefix", c.Prefix)
	args = appendFlag(args, "--target", c.Target)
	if c.Capacity > 0 {
		args = append(args, "--capacity", strconv.Itoa(c.Capacity))
	}
	args = append(args, c.Extra...)
	e := &Executor{Proc: h.Start(name, h.bins.Sirocco, args, ProcOptions{})}
	Eventually(h.t, 60*time.Second, 50*time.Millisecond, func() error {
		if e.Exited() {
			return fmt.Errorf("%s exited with %d:\n%s", name, e.ExitCode(), e.Tail(20))
		}
		for _, l := range e.Grep(executorIDRE) {
			e.ID = executorIDRE.FindStringSubmatch(l)[1]
			return nil
		}
		return fmt.Errorf("%s has not registered yet", name)
	})
	return e
}

func appendFlag(args []string, flag, v string) []string {
	if v == "" {
		return args
	}
	return append(args, flag, v)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
