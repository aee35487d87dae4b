package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The plugin is configured by environment variables of the executor host,
// which every plugin process inherits: one place for the operator, read
// once at start, so that a mistake stops the plugin loudly rather than
// failing workflows one by one.
const (
	envRunEnabled     = "SIROCCO_SHELL_RUN_ENABLED"
	envAllowed        = "SIROCCO_SHELL_ALLOWED_COMMANDS"
	envPassEnv        = "SIROCCO_SHELL_PASS_ENV"
	envMaxOutput      = "SIROCCO_SHELL_MAX_OUTPUT_BYTES"
	envSSHEnabled     = "SIROCCO_SHELL_SSH_ENABLED"
	envKnownHosts     = "SIROCCO_SHELL_SSH_KNOWN_HOSTS"
	envKeyDir         = "SIROCCO_SHELL_SSH_KEY_DIR"
	envConnectTimeout = "SIROCCO_SHELL_SSH_CONNECT_TIMEOUT"
)

// DefaultMaxOutput bounds what is kept of each of a command's stdout and
// stderr: results travel inline through the plugin protocol and the
// engine's store, so a command that prints more should write a file.
const DefaultMaxOutput = 1 << 20

// maxOutputLimit keeps both streams, JSON-escaped, inside one protocol
// message (64 MiB).
const maxOutputLimit = 8 << 20

// baseEnv are the variables of the host's environment a command sees
// without being told: enough to find programs and to format text. The
// rest stays out because a plugin's environment holds secrets (the
// plugin protocol's TLS certificate, OS_PASSWORD for the OpenStack
// plugin, ...).
var baseEnv = []string{"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR"}

// Config is what the operator sets for this plugin.
type Config struct {
	// RunEnabled lets shell.run (and std.ssh_proxied's proxy_command) run
	// local commands at all.
	RunEnabled bool
	// AllowedCommands, when not empty, are the only programs they may run:
	// a name without a slash allows that name looked up in PATH, a path
	// allows that file.
	AllowedCommands []string
	// PassEnv are the host's variables passed to commands besides baseEnv;
	// ["*"] passes the whole environment.
	PassEnv []string
	// MaxOutputBytes bounds each of stdout and stderr.
	MaxOutputBytes int
	// SSHEnabled lets std.ssh and std.ssh_proxied run.
	SSHEnabled bool
	// KnownHostsFile, when set, is checked for every SSH server's host key;
	// else any host key is accepted, as Mistral (paramiko's AutoAddPolicy)
	// does.
	KnownHostsFile string
	// KeyDir is where a relative private_key_filename is looked up, and
	// where the default keys (id_rsa, id_ecdsa, id_ed25519) are.
	KeyDir string
	// ConnectTimeout bounds connecting to an SSH server, handshake and
	// authentication included.
	ConnectTimeout time.Duration
}

// DefaultConfig is the configuration with nothing set.
func DefaultConfig() Config {
	home, _ := os.UserHomeDir()
	return Config{
		RunEnabled:     true,
		MaxOutputBytes: DefaultMaxOutput,
		SSHEnabled:     true,
		KeyDir:         filepath.Join(home, ".ssh"),
		ConnectTimeout: 30 * time.Second,
	}
}

// ConfigFromEnv reads the configuration through getenv (os.Getenv).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := DefaultConfig()
	var err error
	if cfg.RunEnabled, err = envBool(getenv, envRunEnabled, cfg.RunEnabled); err != nil {
		return Config{}, err
	}
	if cfg.SSHEnabled, err = envBool(getenv, envSSHEnabled, cfg.SSHEnabled); err != nil {
		return Config{}, err
	}
	cfg.AllowedCommands = envList(getenv(envAllowed))
	for _, c := range cfg.AllowedCommands {
		if strings.Contains(c, "/") && !filepath.IsAbs(c) {
			return Config{}, fmt.Errorf("%s: %q: write a program as a name looked up in PATH or as an absolute path", envAllowed, c)
		}
	}
	cfg.PassEnv = envList(getenv(envPassEnv))
	if v := strings.TrimSpace(getenv(envMaxOutput)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > maxOutputLimit {
			return Config{}, fmt.Errorf("%s=%q: want a number of bytes from 1 to %d", envMaxOutput, v, maxOutputLimit)
		}
		cfg.MaxOutputBytes = n
	}
	if v := strings.TrimSpace(getenv(envKnownHosts)); v != "" {
		if _, err := os.Stat(v); err != nil {
			return Config{}, fmt.Errorf("%s: %w", envKnownHosts, err)
		}
		cfg.KnownHostsFile = v
	}
	if v := strings.TrimSpace(getenv(envKeyDir)); v != "" {
		cfg.KeyDir = v
	}
	if v := strings.TrimSpace(getenv(envConnectTimeout)); v != "" {
		s, err := strconv.ParseFloat(v, 64)
		if err != nil || s <= 0 {
			return Config{}, fmt.Errorf("%s=%q: want a number of seconds greater than 0", envConnectTimeout, v)
		}
		cfg.ConnectTimeout = time.Duration(s * float64(time.Second))
	}
	return cfg, nil
}

func envBool(getenv func(string) string, name string, def bool) (bool, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%s=%q: want true or false", name, v)
}

func envList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
