// Package pluginapi is the versioned protocol between a Sirocco executor host
// and an action plugin process: the go-plugin handshake, the plugin set keyed
// by protocol major, and the gRPC glue. The wire types live in the generated
// package pluginv1 (sirocco.plugin.v1); both the host and the SDK import this
// package so that the two sides cannot disagree on a constant.
//
// Major 1 is frozen: minor versions only add fields and capability flags.
// A breaking change becomes major 2, served next to 1 through
// VersionedPlugins, so hosts and plugins of adjacent releases keep working.
package pluginapi

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pluginv1 "github.com/sirocco-wf/sirocco/pluginapi/v1"
)

const (
	// ProtocolMajor is the protocol major spoken by this package. go-plugin
	// negotiates it through VersionedPlugins.
	ProtocolMajor = 1
	// ProtocolMinor is the minor of major 1 implemented here; a plugin reports
	// its own in GetInfo so that a host can tell which optional fields it may
	// rely on. Minor 1 added ExecutionContext.workflow_name.
	ProtocolMinor = 1

	// PluginName is the single go-plugin plugin every Sirocco plugin process
	// serves. One name per process keeps dispensing trivial; the actions
	// inside are listed by DescribeActions.
	PluginName = "actions"

	// MaxMessageSize is the gRPC message limit on both sides. Action inputs
	// and outputs travel inline, so the 4 MiB gRPC default is too small for
	// ordinary API responses; anything bigger than this should go by
	// reference.
	MaxMessageSize = 64 << 20
)

// Handshake keeps a plugin binary from being run by hand or by another
// go-plugin host by mistake: the process refuses to serve unless the host set
// this cookie in its environment. It is not a security measure; SecureConfig
// and AutoMTLS are.
var Handshake = plugin.HandshakeConfig{
	// ProtocolVersion is ignored when VersionedPlugins is set, but go-plugin
	// still reports it for old hosts.
	ProtocolVersion:  ProtocolMajor,
	MagicCookieKey:   "SIROCCO_PLUGIN",
	MagicCookieValue: "6f1d2c1e8b7a4f0fa3c94d5e2b8e1a77",
}

// GRPCPlugin adapts the v1 service to go-plugin. On the plugin side Impl is
// the server implementation; on the host side Impl is nil and GRPCClient
// hands back the generated client.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl pluginv1.PluginServer
}

var _ plugin.GRPCPlugin = (*GRPCPlugin)(nil)

// GRPCServer registers the v1 service on the server go-plugin built.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Impl == nil {
		return fmt.Errorf("pluginapi: no server implementation to serve")
	}
	pluginv1.RegisterPluginServer(s, p.Impl)
	return nil
}

// GRPCClient returns a pluginv1.PluginClient over the negotiated connection.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return pluginv1.NewPluginClient(c), nil
}

// ServerPlugins is the VersionedPlugins map a plugin process serves.
func ServerPlugins(impl pluginv1.PluginServer) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolMajor: {PluginName: &GRPCPlugin{Impl: impl}},
	}
}

// ClientPlugins is the VersionedPlugins map a host offers when launching a
// plugin; go-plugin picks the highest major both sides speak.
func ClientPlugins() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolMajor: {PluginName: &GRPCPlugin{}},
	}
}

// ServerOptions raise the message limits of a plugin's gRPC server.
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxMessageSize),
		grpc.MaxSendMsgSize(MaxMessageSize),
	}
}

// NewGRPCServer is the go-plugin ServeConfig.GRPCServer factory: go-plugin's
// own options (TLS) plus the raised limits.
func NewGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(append(opts, ServerOptions()...)...)
}

// DialOptions raise the message limits of a host's connection to a plugin.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(MaxMessageSize),
			grpc.MaxCallSendMsgSize(MaxMessageSize),
		),
	}
}
