package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sirocco-wf/sirocco/daemon/internal/pluginhost"
)

// ErrPluginsChanged is returned (wrapped) by `plugin verify` when a binary
// is missing or no longer matches its catalog entry, so the command exits
// non-zero.
var ErrPluginsChanged = errors.New("installed plugins do not match the catalog")

// pluginCmd is `sirocco plugin`: it manages a plugin directory and its
// catalog on this machine. Unlike the other client commands it does not
// talk to a server: running hosts watch the directory and pick up every
// change themselves.
func pluginCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugin",
		Short: "Install, list, verify and remove action plugins in a plugin directory",
		Long: `Manage the action plugins of a plugin directory.

A plugin directory's catalog (` + pluginhost.CatalogFile + `) records each installed
binary's name, version, protocol, actions and sha256. Executor hosts run only
the binaries their directories' catalogs list, and refuse a binary whose
sha256 no longer matches. Running hosts notice an install, an upgrade or a
removal by themselves: no restart is needed.

The directory is --plugin-dir, else $SIROCCO_PLUGIN_DIR (its first entry),
else DATA_DIR/plugins (--data-dir, $SIROCCO_DATA_DIR, ./sirocco-data).`,
	}
	var dir, dataDir string
	cmd.PersistentFlags().StringVar(&dir, "plugin-dir", "", "plugin directory (default: DATA_DIR/plugins)")
	cmd.PersistentFlags().StringVar(&dataDir, "data-dir", "", "data directory whose plugins/ is the default plugin directory")
	pluginDir := func() string {
		switch {
		case dir != "":
			return dir
		case os.Getenv("SIROCCO_PLUGIN_DIR") != "":
			first, _, _ := strings.Cut(os.Getenv("SIROCCO_PLUGIN_DIR"), ",")
			return first
		case dataDir != "":
			return filepath.Join(dataDir, "plugins")
		case os.Getenv("SIROCCO_DATA_DIR") != "":
			return filepath.Join(os.Getenv("SIROCCO_DATA_DIR"), "plugins")
		}
		return filepath.Join("sirocco-data", "plugins")
	}

	install := &cobra.Command{
		Use:   "install PATH...",
		Short: "Copy plugin binaries into the plugin directory and record them in its catalog",
		Long: `Copy each plugin binary into the plugin directory as sirocco-plugin-NAME
(NAME is what the plugin reports), launch it once to read its name, version,
protocol and actions, and record them with its sha256 in the catalog.
Installing a plugin that is already there upgrades it.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d := pluginDir()
			var entries []pluginhost.CatalogEntry
			for _, src := range args {
				e, err := pluginhost.Install(cmd.Context(), src, d)
				if err != nil {
					return err
				}
				entries = append(entries, e)
			}
			if o.output == "json" {
				return printJSON(cmd.OutOrStdout(), entries)
			}
			for _, e := range entries {
				fmt.Fprintf(cmd.OutOrStdout(), "installed %s %s (protocol %s, %d actions) as %s\n",
					e.Name, e.Version, e.Protocol, len(e.Actions), filepath.Join(d, e.File))
			}
			return nil
		},
	}

	list := &cobra.Command{
		Use:   "list",
		Short: "List the plugins installed in the plugin directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d := pluginDir()
			cat, err := pluginhost.ReadCatalog(d)
			if err != nil {
				return err
			}
			if cat == nil {
				cat = &pluginhost.Catalog{}
			}
			if o.output == "json" {
				return printJSON(cmd.OutOrStdout(), cat.Plugins)
			}
			rows := [][]string{{"NAME", "VERSION", "PROTOCOL", "SHA256", "ACTIONS"}}
			for _, e := range cat.Plugins {
				rows = append(rows, []string{e.Name, dash(e.Version), e.Protocol, e.SHA256[:12], strings.Join(e.Actions, ",")})
			}
			return table(cmd.OutOrStdout(), rows)
		},
	}

	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check every installed binary against its catalog sha256; exit non-zero on a mismatch",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d := pluginDir()
			problems, err := pluginhost.Verify(d)
			if err != nil {
				return err
			}
			var bad []string
			for _, p := range problems {
				label := "WARNING"
				if p.Fatal {
					label = "MISMATCH"
					bad = append(bad, p.Path)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s %s\n", label, p.Path, p.Message)
			}
			if len(bad) > 0 {
				return fmt.Errorf("%w: %s", ErrPluginsChanged, strings.Join(bad, ", "))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "every plugin in %s matches its catalog entry\n", d)
			return nil
		},
	}

	remove := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a plugin from the catalog and delete its binary",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := pluginhost.Remove(pluginDir(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %s %s\n", e.Name, e.Version)
			return nil
		},
	}
	cmd.AddCommand(install, list, verify, remove, pluginStatusCmd(o))
	return cmd
}
