// Command sirocco-plugin-shell runs local commands (shell.run) for a Sirocco
// executor host.
package main

import "github.com/sirocco-wf/sirocco/sdk"

func main() {
	sdk.Serve(Plugin())
}
