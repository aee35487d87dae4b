// Command sirocco is the Sirocco daemon and its command-line client.
package main

import (
	"os"

	"github.com/sirocco-wf/sirocco/daemon/internal/cli"
	"github.com/sirocco-wf/sirocco/daemon/internal/server"
)

// version is set by the Makefile from git describe.
var version = "dev"

func main() {
	root := cli.NewRoot(server.Command(version), server.ExecutorCommand(version))
	root.AddCommand(server.MigrateCommand())
	root.Version = version
	if err := root.Execute(); err != nil {
		os.Exit(1)
	}
}
