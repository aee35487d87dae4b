package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// Policy is the operator's egress policy: which networks std.http may
// connect to. It is checked against the address of every connection the
// plugin opens (after name resolution, at dial time), so a name that
// resolves to a denied address, a redirect to one, or a name that changes
// its address between a check and the connection cannot get around it.
type Policy struct {
	// Allowed, when not empty, are the only networks a connection may go
	// to.
	Allowed []netip.Prefix
	// Denied are networks no connection may go to; they win over Allowed.
	Denied []netip.Prefix
}

// EgressError is a connection the policy refused.
type EgressError struct {
	Host string
	Addr netip.Addr
	Why  string
}

func (e *EgressError) Error() string {
	if e.Host != "" && e.Host != e.Addr.String() {
		return fmt.Sprintf("egress policy: %s (%s) %s", e.Host, e.Addr, e.Why)
	}
	return fmt.Sprintf("egress policy: %s %s", e.Addr, e.Why)
}

// networkAliases name the ranges operators deny most often, so that a
// policy reads as what it means rather than as a list of prefixes.
var networkAliases = map[string][]string{
	"loopback":    {"127.0.0.0/8", "::1/128"},
	"link-local":  {"169.254.0.0/16", "fe80::/10"},
	"private":     {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"},
	"unspecified": {"0.0.0.0/32", "::/128"},
}

// ParseNetworks reads a comma-separated list of CIDR prefixes, single
// addresses and the aliases loopback, link-local, private and unspecified.
// what names the setting in errors.
func ParseNetworks(what, list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if alias, ok := networkAliases[strings.ToLower(item)]; ok {
			for _, p := range alias {
				out = append(out, netip.MustParsePrefix(p))
			}
			continue
		}
		if strings.Contains(item, "/") {
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return nil, fmt.Errorf("%s: %q is not a network (want a CIDR prefix such as 10.0.0.0/8, an address, or loopback, link-local, private, unspecified): %w", what, item, err)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a network (want a CIDR prefix such as 10.0.0.0/8, an address, or loopback, link-local, private, unspecified): %w", what, item, err)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// Check says whether a connection to addr is allowed; host is the name it
// was reached by, for the message.
func (p *Policy) Check(host string, addr netip.Addr) error {
	if p == nil {
		return nil
	}
	addr = addr.Unmap() // ::ffff:10.0.0.1 is 10.0.0.1
	for _, n := range p.Denied {
		if n.Contains(addr) {
			return &EgressError{Host: host, Addr: addr, Why: "is in the denied network " + n.String()}
		}
	}
	if len(p.Allowed) == 0 {
		return nil
	}
	for _, n := range p.Allowed {
		if n.Contains(addr) {
			return nil
		}
	}
	return &EgressError{Host: host, Addr: addr, Why: "is in none of the allowed networks"}
}

// control is a net.Dialer Control function that applies the policy to the
// address being connected to.
func (p *Policy) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("egress policy: cannot read the address %q: %w", address, err)
	}
	return p.Check("", ap.Addr())
}

// CheckHost resolves host and checks every address it has. It is for
// targets reached through a proxy, where the plugin connects to the proxy
// (checked at dial time) and the proxy to the target. A name that does not
// resolve here is left to the proxy: it names no address the policy could
// judge.
func (p *Policy) CheckHost(ctx context.Context, host string) error {
	if p == nil {
		return nil
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return p.Check(host, a)
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if err := p.Check(host, a); err != nil {
			return err
		}
	}
	return nil
}
