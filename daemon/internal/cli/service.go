package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/client"
)

// ErrNotReady is returned (wrapped) by `status` when the server answers
// but is not ready, so scripts and probes can rely on the exit code.
var ErrNotReady = errors.New("the server is not ready")

// executorsCmd is `sirocco executors`: the live executor hosts, from the
// server's registry (`sirocco executor` runs one).
func executorsCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "executors",
		Short: "List the live executor hosts: pool, capacity, running actions, plugins",
		Args:  cobra.NoArgs,
		RunE: o.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			xs, err := c.ListExecutors(cmd.Context())
			if err != nil {
				return err
			}
			return o.show(cmd.OutOrStdout(), xs, rowsOf(xs,
				column[api.Executor]{"ID", func(x api.Executor) string { return x.ID }},
				column[api.Executor]{"HOST", func(x api.Executor) string { return x.Host }},
				column[api.Executor]{"TARGET", func(x api.Executor) string { return x.Target }},
				column[api.Executor]{"RUNNING", func(x api.Executor) string { return fmt.Sprintf("%d/%d", x.Running, x.Capacity) }},
				column[api.Executor]{"PLUGINS", func(x api.Executor) string {
					names := make([]string, len(x.Plugins))
					for i, p := range x.Plugins {
						names[i] = p.Name + " " + p.Version
					}
					return dash(strings.Join(names, ", "))
				}},
				column[api.Executor]{"SEEN", func(x api.Executor) string { return x.SeenAt }}))
		}),
	}
}

// pluginStatusCmd is `sirocco plugin status`: what the executor hosts
// run, as the server sees it (the other plugin commands manage a local
// plugin directory).
func pluginStatusCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "List the plugins every executor host runs, with their health (asks the server)",
		Args:  cobra.NoArgs,
		RunE: o.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			ps, err := c.ListPlugins(cmd.Context())
			if err != nil {
				return err
			}
			return o.show(cmd.OutOrStdout(), ps, rowsOf(ps,
				column[api.PluginStatus]{"NAME", func(p api.PluginStatus) string { return p.Name }},
				column[api.PluginStatus]{"VERSION", func(p api.PluginStatus) string { return dash(p.Version) }},
				column[api.PluginStatus]{"PROTOCOL", func(p api.PluginStatus) string { return dash(p.Protocol) }},
				column[api.PluginStatus]{"HEALTH", func(p api.PluginStatus) string { return p.Health }},
				column[api.PluginStatus]{"HOST", func(p api.PluginStatus) string { return p.Host }},
				column[api.PluginStatus]{"TARGET", func(p api.PluginStatus) string { return p.Target }},
				column[api.PluginStatus]{"ACTIONS", func(p api.PluginStatus) string { return oneLine(strings.Join(p.Actions, ","), 60) }}))
		}),
	}
}

// statusCmd is `sirocco status`: /healthz and /readyz of the server.
func statusCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show whether the server is up and ready; exit non-zero when it is not",
		Args:  cobra.NoArgs,
		RunE: o.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			health, err := c.Health(cmd.Context())
			if err != nil {
				return err
			}
			ready, rerr := c.Ready(cmd.Context())
			st := serverStatus{URL: o.url, Status: health["status"], Version: health["version"], Ready: rerr == nil}
			if rerr != nil {
				st.Detail = rerr.Error()
			} else {
				st.Checks = ready["checks"]
			}
			if err := o.showOne(cmd.OutOrStdout(), st); err != nil {
				return err
			}
			if rerr != nil {
				return fmt.Errorf("%w: %v", ErrNotReady, rerr)
			}
			return nil
		}),
	}
}

// serverStatus is what `status` shows.
type serverStatus struct {
	URL     string `json:"url"`
	Status  any    `json:"status"`
	Version any    `json:"version"`
	Ready   bool   `json:"ready"`
	Detail  string `json:"detail,omitempty"`
	Checks  any    `json:"checks,omitempty"`
}
