// Command sirocco-plugin-shell runs commands for a Sirocco executor host:
// local ones (shell.run) and remote ones over SSH (std.ssh,
// std.ssh_proxied, as Mistral's). It reads its configuration from the
// environment it inherits from the host (see README.md).
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
		fmt.Fprintf(os.Stderr, "sirocco-plugin-shell: invalid configuration: %v\n", err)
		os.Exit(1)
	}
	sdk.Serve(NewPlugin(cfg))
}
