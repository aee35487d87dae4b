// Command twoproto is a plugin built only by pluginhost's tests: it serves
// protocol majors 1 and 2 side by side, as a plugin of a later release
// would, to check that a host that knows only 1 negotiates 1 and runs it.
package main

import (
	"fmt"
	"os"

	"github.com/hashicorp/go-plugin"

	"github.com/sirocco-wf/sirocco/pluginapi"
	"github.com/sirocco-wf/sirocco/sdk"
)

type in struct {
	Value any `json:"value"`
}

func main() {
	set, err := sdk.PluginSet(sdk.Plugin{
		Name:    "twoproto",
		Version: "2.0.0",
		Actions: []sdk.ActionDef{
			sdk.Action("twoproto.echo", "Returns its value.", func(_ sdk.Context, i in) (any, error) { return i.Value, nil }),
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: pluginapi.Handshake,
		// Major 2 stands in for a future protocol: the same service under
		// a new major. A v1-only host must never pick it.
		VersionedPlugins: map[int]plugin.PluginSet{1: set, 2: set},
		GRPCServer:       pluginapi.NewGRPCServer,
	})
}
