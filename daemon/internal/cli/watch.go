package cli

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/cobra"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/client"
)

// redrawEvery is how often the status line moves on a terminal while no
// event comes (the elapsed time and the spinner).
const redrawEvery = 100 * time.Millisecond

// follow shows an execution's progress from its event stream until it
// ends and returns its final state. began is when the elapsed time starts.
// The progress goes to stdout for a table and to stderr for json and yaml,
// whose stdout is for the final document; quiet shows none. A server
// without the event stream (an older Sirocco, Mistral) is polled instead.
// Ctrl-C stops following, not the execution, and says how to follow again.
func (o *options) follow(cmd *cobra.Command, c *client.Client, e *api.Execution, began time.Time, quiet bool) (*api.Execution, error) {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	var p *progress
	stopTicker := func() {}
	if !quiet {
		w := cmd.OutOrStdout()
		if o.scripted() {
			w = cmd.ErrOrStderr()
		}
		p = newProgress(w, isTerminal(w), began, e)
		if p.tty {
			stopTicker = p.tickEvery(redrawEvery)
		}
	}
	defer stopTicker()
	final, err := c.WatchExecution(ctx, e.ID, func(ev client.Event) {
		if p != nil {
			p.event(ev)
		}
	})
	if errors.Is(err, client.ErrNoEvents) {
		final, err = c.WaitExecution(ctx, e.ID, o.pollMax)
	}
	stopTicker()
	if p != nil {
		p.finish(final)
	}
	if err != nil && ctx.Err() != nil && cmd.Context().Err() == nil {
		return nil, fmt.Errorf("stopped following execution %s, which goes on; follow it again with: sirocco execution watch %s", e.ID, e.ID)
	}
	return final, err
}
