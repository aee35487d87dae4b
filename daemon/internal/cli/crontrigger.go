package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
)

// cronTriggerCmd is `sirocco cron-trigger`: Mistral's cron triggers over
// /v2/cron_triggers.
func cronTriggerCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "cron-trigger",
		Aliases: []string{"cron-triggers"},
		Short:   "Create, list, show and delete cron triggers (start a workflow on a schedule)",
	}
	var pattern, firstTime, input, params string
	var count int
	create := &cobra.Command{
		Use:   "create NAME WORKFLOW",
		Short: "Create a cron trigger that starts WORKFLOW at each tick of --pattern",
		Long: `Create a cron trigger. --pattern is 5-field cron syntax in UTC ("*/5 * * * *");
--first-time "YYYY-MM-DD HH:MM" (UTC, at least a minute ahead) is the first run,
and alone makes a trigger that runs once; --count limits the runs, after which
the trigger is deleted. --input and --params are JSON objects (or @FILE).`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := readObject("input", input, cmd.InOrStdin())
			if err != nil {
				return err
			}
			ps, err := readObject("params", params, cmd.InOrStdin())
			if err != nil {
				return err
			}
			body := map[string]any{"name": args[0], "workflow_name": args[1]}
			if pattern != "" {
				body["pattern"] = pattern
			}
			if firstTime != "" {
				body["first_execution_time"] = firstTime
			}
			if cmd.Flags().Changed("count") {
				body["remaining_executions"] = count
			}
			// JSON-encoded strings, as python-mistralclient sends them.
			for k, v := range map[string]map[string]any{"workflow_input": in, "workflow_params": ps} {
				if v != nil {
					b, err := json.Marshal(v)
					if err != nil {
						return err
					}
					body[k] = string(b)
				}
			}
			raw, _ := json.Marshal(body)
			cl, err := o.client()
			if err != nil {
				return err
			}
			c, err := cl.CreateCronTrigger(cmd.Context(), raw)
			if err != nil {
				return err
			}
			return printCronTriggers(cmd.OutOrStdout(), o, *c)
		},
	}
	create.Flags().StringVar(&pattern, "pattern", "", "cron pattern, 5 fields, UTC")
	create.Flags().StringVar(&firstTime, "first-time", "", `first run, UTC, "YYYY-MM-DD HH:MM"`)
	create.Flags().IntVar(&count, "count", 0, "number of runs (default: no limit)")
	create.Flags().StringVar(&input, "input", "", "workflow input, a JSON object or @FILE")
	create.Flags().StringVar(&params, "params", "", "execution params (env, ...), a JSON object or @FILE")

	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List cron triggers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := o.client()
			if err != nil {
				return err
			}
			list, err := cl.ListCronTriggers(cmd.Context(), limit)
			if err != nil {
				return err
			}
			cs := make([]api.CronTrigger, len(list))
			for i, c := range list {
				cs[i] = c.CronTrigger
			}
			if o.output == "json" {
				return printJSON(cmd.OutOrStdout(), list)
			}
			return printCronTriggers(cmd.OutOrStdout(), o, cs...)
		},
	}
	list.Flags().IntVar(&limit, "limit", 0, "at most this many (default: all)")

	get := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a cron trigger (by name or id)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := o.client()
			if err != nil {
				return err
			}
			c, err := cl.GetCronTrigger(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if o.output == "json" {
				return printJSON(cmd.OutOrStdout(), c)
			}
			return printCronTriggers(cmd.OutOrStdout(), o, c.CronTrigger)
		},
	}

	del := &cobra.Command{
		Use:   "delete NAME...",
		Short: "Delete cron triggers (by name or id); executions they started are kept",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := o.client()
			if err != nil {
				return err
			}
			for _, n := range args {
				if err := cl.DeleteCronTrigger(cmd.Context(), n); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted cron trigger %s\n", n)
			}
			return nil
		},
	}
	cmd.AddCommand(create, list, get, del)
	return cmd
}

func printCronTriggers(w io.Writer, o *options, cs ...api.CronTrigger) error {
	if o.output == "json" {
		if len(cs) == 1 {
			return printJSON(w, cs[0])
		}
		return printJSON(w, cs)
	}
	rows := [][]string{{"NAME", "WORKFLOW", "PATTERN", "NEXT (UTC)", "REMAINING", "ID"}}
	for _, c := range cs {
		rem := "-"
		if c.RemainingExecutions != nil {
			rem = strconv.Itoa(*c.RemainingExecutions)
		}
		rows = append(rows, []string{c.Name, c.WorkflowName, c.Pattern, deref(c.NextExecutionTime), rem, c.ID})
	}
	return table(w, rows)
}
