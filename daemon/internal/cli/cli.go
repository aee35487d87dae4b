// Package cli holds the client commands of the sirocco binary (workflow,
// execution, task). They talk to a Sirocco server over its HTTP API only,
// exactly as python-mistralclient would, so the CLI works against any
// server a user can reach and never touches the database directly.
package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sirocco-wf/sirocco/daemon/internal/client"
)

// DefaultURL is where the CLI looks for a server when neither --url nor
// SIROCCO_URL says otherwise: the embedded server's default address.
const DefaultURL = "http://127.0.0.1:8989"

// ErrExecutionFailed is returned (wrapped) by `execution start --wait` when
// the execution ends in ERROR or CANCELLED, so the process exits non-zero
// and scripts can rely on the exit code.
var ErrExecutionFailed = errors.New("execution did not succeed")

// options are the persistent flags shared by every client command.
type options struct {
	url    string
	output string
	// pollMax caps the --wait polling interval; tests shorten it.
	pollMax time.Duration
	// conn is the token and TLS trust of the server (security.go).
	conn client.Options
}

// NewRoot builds the `sirocco` root command with the client commands and
// the given server-side commands (either may be nil), so main stays a list
// of components. Errors are returned from Execute; cobra prints them as
// "Error: <detail>" and main should exit non-zero.
func NewRoot(serverCmd, executorCmd *cobra.Command) *cobra.Command {
	o := &options{pollMax: 2 * time.Second}
	root := &cobra.Command{
		Use:   "sirocco",
		Short: "Run OpenStack Mistral v2 workflows",
		Long: "Sirocco runs workflows written in the Mistral v2 workflow language.\n" +
			"`sirocco server` runs the service; the other commands are its client.",
		SilenceUsage: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return checkOutput(o.output)
		},
	}
	url := os.Getenv("SIROCCO_URL")
	if url == "" {
		url = DefaultURL
	}
	root.PersistentFlags().StringVar(&o.url, "url", url, "Sirocco server URL (env SIROCCO_URL)")
	root.PersistentFlags().StringVarP(&o.output, "output", "o", "table", "output format: table, json or yaml")
	addConnFlags(root.PersistentFlags(), &o.conn)

	root.AddCommand(workflowCmd(o), executionCmd(o), taskCmd(o), actionCmd(o), actionExecutionCmd(o))
	root.AddCommand(workbookCmd(o), environmentCmd(o), cronTriggerCmd(o))
	root.AddCommand(pluginCmd(o), executorsCmd(o), statusCmd(o), validateCmd(o))
	for _, c := range []*cobra.Command{serverCmd, executorCmd} {
		if c != nil {
			root.AddCommand(c)
		}
	}
	return root
}

func (o *options) client() (*client.Client, error) {
	return client.NewWithOptions(o.url, o.conn)
}

// printJSON writes v indented, for --output json.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// table writes rows aligned in columns; the first row is the header.
func table(w io.Writer, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// deref shows a nullable wire field; null is "-" in tables.
func deref(s *string) string {
	if s == nil || *s == "" {
		return "-"
	}
	return *s
}

// oneLine shortens multi-line text (state_info of a failed execution
// lists every failed task) for a table cell.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		return s[:max-3] + "..."
	}
	return s
}

// indentJSON re-indents a JSON-encoded wire field (output, input) for
// people; text that is not JSON is shown as it is.
func indentJSON(s string) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(s), "", "  "); err != nil {
		return s
	}
	return buf.String()
}
