package main

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		errText string
	}{
		{name: "nothing set", env: nil, want: DefaultConfig()},
		{name: "response cap", env: map[string]string{envMaxResponse: " 2048 "}, want: Config{MaxResponseBytes: 2048}},
		{name: "response cap not a number", env: map[string]string{envMaxResponse: "10MB"}, errText: envMaxResponse + `="10MB": want a number of bytes`},
		{name: "response cap over the protocol's limit", env: map[string]string{envMaxResponse: "67108865"}, errText: "from 1 to 67108864"},
		{name: "response cap zero", env: map[string]string{envMaxResponse: "0"}, errText: "from 1 to"},
		{
			name: "networks, addresses and aliases",
			env:  map[string]string{envAllowed: "10.1.0.0/16, 192.0.2.7,2001:db8::/32", envDenied: "link-local,::ffff:10.1.2.3"},
			want: Config{MaxResponseBytes: DefaultMaxResponse, Egress: &Policy{
				Allowed: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("2001:db8::/32")},
				Denied:  []netip.Prefix{netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("fe80::/10"), netip.MustParsePrefix("10.1.2.3/32")},
			}},
		},
		{name: "a prefix with host bits is masked", env: map[string]string{envDenied: "10.1.2.3/8"},
			want: Config{MaxResponseBytes: DefaultMaxResponse, Egress: &Policy{Denied: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}},
		{name: "a bad network", env: map[string]string{envDenied: "loopback,10.0.0.0/33"}, errText: envDenied + `: "10.0.0.0/33" is not a network`},
		{name: "a host name is not a network", env: map[string]string{envAllowed: "example.com"}, errText: envAllowed + `: "example.com" is not a network`},
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

func TestPolicyCheck(t *testing.T) {
	p := &Policy{
		Allowed: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")},
		Denied:  []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")},
	}
	tests := []struct {
		addr    string
		allowed bool
	}{
		{"10.1.2.3", true},
		{"::ffff:10.1.2.3", true}, // an IPv4-mapped address is its IPv4 address
		{"10.9.1.1", false},
		{"::ffff:10.9.1.1", false},
		{"2001:db8::1", true},
		{"192.0.2.1", false},
	}
	for _, tc := range tests {
		err := p.Check("", netip.MustParseAddr(tc.addr))
		require.Equal(t, tc.allowed, err == nil, "%s: %v", tc.addr, err)
	}
	var none *Policy
	require.NoError(t, none.Check("", netip.MustParseAddr("127.0.0.1")), "no policy allows everything")
}
