//go:build linux

package failure

import (
	"fmt"
	"os"
	"testing"
)

// bins are the sirocco and plugin binaries of this tree, built once for
// every test of the package.
var bins *Binaries

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sirocco-failure-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins, err = Build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
