package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestConfigFromEnv(t *testing.T) {
	known := writeFile(t, filepath.Join(t.TempDir(), "known_hosts"), "")
	def := DefaultConfig()
	with := func(f func(*Config)) Config {
		c := DefaultConfig()
		f(&c)
		return c
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		errText string
	}{
		{name: "nothing set", want: def},
		{name: "shell.run off", env: map[string]string{envRunEnabled: "false"}, want: with(func(c *Config) { c.RunEnabled = false })},
		{name: "ssh off", env: map[string]string{envSSHEnabled: "OFF"}, want: with(func(c *Config) { c.SSHEnabled = false })},
		{name: "not a boolean", env: map[string]string{envRunEnabled: "maybe"}, errText: envRunEnabled + `="maybe": want true or false`},
		{name: "allowed commands", env: map[string]string{envAllowed: " git, /usr/bin/rsync ,,"},
			want: with(func(c *Config) { c.AllowedCommands = []string{"git", "/usr/bin/rsync"} })},
		{name: "a relative path in the allowed commands", env: map[string]string{envAllowed: "bin/tool"}, errText: envAllowed + `: "bin/tool"`},
		{name: "passed variables", env: map[string]string{envPassEnv: "HTTP_PROXY,NO_PROXY"},
			want: with(func(c *Config) { c.PassEnv = []string{"HTTP_PROXY", "NO_PROXY"} })},
		{name: "output cap", env: map[string]string{envMaxOutput: "4096"}, want: with(func(c *Config) { c.MaxOutputBytes = 4096 })},
		{name: "output cap too large", env: map[string]string{envMaxOutput: "100000000"}, errText: "from 1 to 8388608"},
		{name: "known hosts", env: map[string]string{envKnownHosts: known}, want: with(func(c *Config) { c.KnownHostsFile = known })},
		{name: "known hosts file missing", env: map[string]string{envKnownHosts: known + ".nope"}, errText: envKnownHosts + ": stat"},
		{name: "key directory", env: map[string]string{envKeyDir: "/etc/sirocco/keys"}, want: with(func(c *Config) { c.KeyDir = "/etc/sirocco/keys" })},
		{name: "connect timeout", env: map[string]string{envConnectTimeout: "2.5"}, want: with(func(c *Config) { c.ConnectTimeout = 2500 * time.Millisecond })},
		{name: "bad connect timeout", env: map[string]string{envConnectTimeout: "-1"}, errText: envConnectTimeout + `="-1"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ConfigFromEnv(func(k string) string { return tc.env[k] })
			if tc.errText != "" {
				require.ErrorContains(t, err, tc.errText)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, cfg)
		})
	}
}
