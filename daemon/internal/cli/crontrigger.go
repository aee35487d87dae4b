package cli

import (
	"encoding/json"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/client"
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
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) != 1 { // NAME is new; WORKFLOW exists
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return o.complete(1, workflowNames)(cmd, nil, toComplete)
		},
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
			return o.show(cmd.OutOrStdout(), c, cronTriggerRows([]api.CronTrigger{*c}))
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
		RunE: o.withClient(func(cmd *cobra.Command, cl *client.Client, _ []string) error {
			list, err := cl.ListCronTriggers(cmd.Context(), limit)
			if err != nil {
				return err
			}
			cs := make([]api.CronTrigger, len(list))
			for i, c := range list {
				cs[i] = c.CronTrigger
			}
			return o.show(cmd.OutOrStdout(), list, cronTriggerRows(cs))
		}),
	}
	list.Flags().IntVar(&limit, "limit", 0, "at most this many (default: all)")

	get := getCmd(o, "get NAME", "Show a cron trigger (by name or id)", cronTriggerNames, (*client.Client).GetCronTrigger)
	del := deleteCmd(o, "cron trigger", "Delete cron triggers (by name or id); executions they started are kept", cronTriggerNames, (*client.Client).DeleteCronTrigger)
	cmd.AddCommand(create, list, get, del)
	return cmd
}

func cronTriggerRows(cs []api.CronTrigger) func() [][]string {
	return rowsOf(cs,
		column[api.CronTrigger]{"NAME", func(c api.CronTrigger) string { return c.Name }},
		column[api.CronTrigger]{"WORKFLOW", func(c api.CronTrigger) string { return c.WorkflowName }},
		column[api.CronTrigger]{"PATTERN", func(c api.CronTrigger) string { return dash(c.Pattern) }},
		column[api.CronTrigger]{"NEXT (UTC)", func(c api.CronTrigger) string { return deref(c.NextExecutionTime) }},
		column[api.CronTrigger]{"REMAINING", func(c api.CronTrigger) string {
			if c.RemainingExecutions == nil {
				return "-"
			}
			return strconv.Itoa(*c.RemainingExecutions)
		}},
		column[api.CronTrigger]{"ID", func(c api.CronTrigger) string { return c.ID }})
}
