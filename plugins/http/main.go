// Command sirocco-plugin-http serves Mistral's HTTP actions (std.http,
// std.mistral_http) to a Sirocco executor host. It reads its
// configuration from the environment it inherits from the host (see
// README.md).
package main

import (
	"fmt"
	"os"

	"github.com/sirocco-wf/sirocco/sdk"
)

func main() {
	cfg, err := ConfigFromEnv(os.Getenv)
	if err != nil {
		// The host logs the plugin's stderr and shows the plugin failing
		// to start: a bad setting is seen at once, not per workflow.
		fmt.Fprintf(os.Stderr, "sirocco-plugin-http: invalid configuration: %v\n", err)
		os.Exit(1)
	}
	sdk.Serve(NewPlugin(cfg))
}
