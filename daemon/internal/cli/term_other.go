//go:build !unix

package cli

import "io"

// terminalWidth assumes the common width where the terminal cannot be
// asked.
func terminalWidth(io.Writer) int { return 80 }
