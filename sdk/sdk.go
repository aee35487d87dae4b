// Package sdk is what a Sirocco plugin author imports to ship actions as a
// plugin binary. It hides the plugin protocol (go-plugin, gRPC, generated
// protobuf types): an author writes typed Go functions, lists them in a
// Plugin and calls Serve from main.
//
//	func main() {
//		sdk.Serve(sdk.Plugin{
//			Name:    "http",
//			Version: "0.1.0",
//			Actions: []sdk.ActionDef{
//				sdk.Action("std.http", "Sends an HTTP request.", runHTTP),
//			},
//		})
//	}
//
// Input and output JSON Schemas are derived from the action's Go types (see
// Action for the struct tag rules), so the host can show and check them
// without running the plugin. Errors returned by an action become failed runs
// (see Error, Retryable and Fatal); a panic becomes a failed run of type
// "ActionPanic" and the plugin keeps serving.
//
// Test actions through the real protocol with package sdk/sdktest.
package sdk

import (
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/sirocco-wf/sirocco/pluginapi"
)

// Version is the SDK version reported to hosts in GetInfo, so that an
// operator can tell which plugins need a rebuild after an SDK fix.
const Version = "0.1.0"

// Plugin describes a plugin binary: its name, its version and the actions it
// serves. The host routes actions by name to the plugin that serves them.
type Plugin struct {
	// Name is the plugin's short name ("http"); it names the binary
	// (sirocco-plugin-<name>), the logger (plugin.<name>) and the NATS
	// subject the host consumes for it.
	Name string
	// Version is the plugin's own version, shown by `sirocco plugin list`.
	Version string
	// Actions are the actions served, built with Action.
	Actions []ActionDef
	// LogLevel is the lowest level written to the host log; default debug.
	// The host filters again with its own level.
	LogLevel hclog.Level
}

// validate catches authoring mistakes when the plugin starts rather than
// when a workflow first calls the action.
func (p *Plugin) validate() error {
	if p.Name == "" {
		return fmt.Errorf("sdk: plugin has no Name")
	}
	if len(p.Actions) == 0 {
		return fmt.Errorf("sdk: plugin %q serves no actions", p.Name)
	}
	seen := make(map[string]bool, len(p.Actions))
	for i, a := range p.Actions {
		if a.name == "" || a.run == nil {
			return fmt.Errorf("sdk: plugin %q: action #%d was not built with sdk.Action", p.Name, i)
		}
		if seen[a.name] {
			return fmt.Errorf("sdk: plugin %q serves action %q twice", p.Name, a.name)
		}
		seen[a.name] = true
	}
	return nil
}

// Serve runs the plugin until the host closes it. It never returns when
// started by a host; run by hand (without the host's handshake) it prints a
// short explanation and exits with status 1, as it does on an invalid Plugin.
func Serve(p Plugin) {
	logger := newBaseLogger(p)
	set, err := newPluginSet(p, logger)
	if err != nil {
		logger.Error("invalid plugin", "error", err)
		os.Exit(1)
	}
	go exitWithParent(os.Getppid(), parentWatchInterval)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  pluginapi.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{pluginapi.ProtocolMajor: set},
		GRPCServer:       pluginapi.NewGRPCServer,
		Logger:           logger,
	})
}

// PluginSet returns the go-plugin plugin set that Serve would serve. It
// exists for harnesses (sdktest) that run a plugin in-process over real gRPC;
// plugin authors call Serve instead.
func PluginSet(p Plugin) (plugin.PluginSet, error) {
	return newPluginSet(p, newBaseLogger(p))
}

func newPluginSet(p Plugin, logger hclog.Logger) (plugin.PluginSet, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	return pluginapi.ServerPlugins(newServer(p, logger))[pluginapi.ProtocolMajor], nil
}

// parentWatchInterval is how often a plugin checks that its host is alive.
const parentWatchInterval = 500 * time.Millisecond

// exitWithParent ends the plugin process when the host that started it is
// gone (the process is re-parented), so a plugin never outlives its host,
// even one killed with SIGKILL on a system where the host could not ask the
// kernel for a parent-death signal.
func exitWithParent(ppid int, every time.Duration) {
	if ppid <= 1 {
		return // already orphaned or started by init: nothing to watch
	}
	for {
		time.Sleep(every)
		if os.Getppid() != ppid {
			os.Exit(2)
		}
	}
}
