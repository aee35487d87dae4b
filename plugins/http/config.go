package main

import (
	"fmt"
	"strconv"
	"strings"
)

// The plugin is configured by environment variables of the executor host,
// which every plugin process inherits: one place for the operator, read
// once at start, so a mistake stops the plugin loudly instead of failing
// workflows one by one.
const (
	envMaxResponse = "SIROCCO_HTTP_MAX_RESPONSE_BYTES"
	envAllowed     = "SIROCCO_HTTP_ALLOWED_NETWORKS"
	envDenied      = "SIROCCO_HTTP_DENIED_NETWORKS"
)

// DefaultMaxResponse bounds a response body kept in a result. Results
// travel inline through the plugin protocol (64 MiB per message) and the
// engine's store, and a body that is not valid UTF-8 may grow up to six
// times when encoded as a JSON string; anything larger should be fetched
// by its consumer, not carried through the workflow.
const DefaultMaxResponse = 10 << 20

// maxResponseLimit is the largest cap an operator may set: the protocol's
// message limit.
const maxResponseLimit = 64 << 20

// Config is what the operator sets for this plugin.
type Config struct {
	// MaxResponseBytes is the largest response body std.http accepts.
	MaxResponseBytes int64
	// Egress is the egress policy; nil means none.
	Egress *Policy
}

// DefaultConfig is the configuration with nothing set: no egress policy,
// as in Mistral, and the default response cap.
func DefaultConfig() Config { return Config{MaxResponseBytes: DefaultMaxResponse} }

// ConfigFromEnv reads the configuration through getenv (os.Getenv).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := DefaultConfig()
	if v := strings.TrimSpace(getenv(envMaxResponse)); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n > maxResponseLimit {
			return Config{}, fmt.Errorf("%s=%q: want a number of bytes from 1 to %d", envMaxResponse, v, maxResponseLimit)
		}
		cfg.MaxResponseBytes = n
	}
	allowed, err := ParseNetworks(envAllowed, getenv(envAllowed))
	if err != nil {
		return Config{}, err
	}
	denied, err := ParseNetworks(envDenied, getenv(envDenied))
	if err != nil {
		return Config{}, err
	}
	if len(allowed) > 0 || len(denied) > 0 {
		cfg.Egress = &Policy{Allowed: allowed, Denied: denied}
	}
	return cfg, nil
}
