// Command cmd writes the OpenStack plugin's generated files from its
// actions table; `go generate ./plugins/openstack` runs it.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/sirocco-wf/sirocco/plugins/openstack/internal/gen"
	"github.com/sirocco-wf/sirocco/plugins/openstack/internal/table"
)

func main() {
	tablePath := flag.String("table", "actions.yaml", "the actions table")
	goPath := flag.String("go", "actions_gen.go", "the Go file to write")
	readmePath := flag.String("readme", "README.md", "the README whose action list to rewrite")
	flag.Parse()
	if err := run(*tablePath, *goPath, *readmePath); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(tablePath, goPath, readmePath string) error {
	data, err := os.ReadFile(tablePath)
	if err != nil {
		return err
	}
	t, err := table.Parse(data)
	if err != nil {
		return err
	}
	src, err := gen.Go(t)
	if err != nil {
		return err
	}
	if err := os.WriteFile(goPath, src, 0o644); err != nil {
		return err
	}
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		return err
	}
	out, err := gen.Readme(t, readme)
	if err != nil {
		return fmt.Errorf("%s: %w", readmePath, err)
	}
	return os.WriteFile(readmePath, out, 0o644)
}
