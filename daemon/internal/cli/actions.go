package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/client"
)

// actionCmd is `sirocco action`: the actions the executor hosts serve
// (built-in and plugin) and Mistral's ad-hoc actions.
func actionCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{Use: "action", Aliases: []string{"actions"}, Short: "List and show actions; create, update and delete ad-hoc actions"}
	actionCols := []column[api.Action]{
		{"NAME", func(a api.Action) string { return a.Name }},
		{"PLUGIN", func(a api.Action) string { return dash(a.Plugin) }},
		{"INPUT", func(a api.Action) string { return oneLine(dash(a.Input), 60) }},
		{"DESCRIPTION", func(a api.Action) string { return oneLine(deref(a.Description), 60) }},
	}

	list := &cobra.Command{
		Use:   "list",
		Short: "List every action some executor host serves, and the ad-hoc actions",
		Args:  cobra.NoArgs,
		RunE: o.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			as, err := c.ListActions(cmd.Context(), client.ListOpts{})
			if err != nil {
				return err
			}
			return o.show(cmd.OutOrStdout(), as, rowsOf(as, actionCols...))
		}),
	}

	get := getCmd(o, "get NAME", "Show an action: its input parameters and their JSON Schema", actionNames, (*client.Client).GetAction)
	rows := func(as []api.Action) func() [][]string { return rowsOf(as, actionCols...) }
	create := uploadCmd(o, "create", "Create the ad-hoc actions of a YAML document (FILE, or - for stdin)", "action document",
		(*client.Client).CreateActions, rows)
	update := uploadCmd(o, "update", "Replace the ad-hoc actions a YAML document defines", "action document",
		(*client.Client).UpdateActions, rows)
	del := deleteCmd(o, "action", "Delete ad-hoc actions (by name or id)", actionNames, (*client.Client).DeleteAction)
	cmd.AddCommand(list, get, create, update, del)
	return cmd
}

// actionExecutionCmd is `sirocco action-execution`: the runs of actions,
// and the completion of an async one.
func actionExecutionCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "action-execution",
		Aliases: []string{"action-executions", "ae"},
		Short:   "List and show action executions; complete an async action",
	}

	var lf listFlags
	var task, name, state string
	list := &cobra.Command{
		Use:   "list",
		Short: "List action executions",
		Args:  cobra.NoArgs,
		RunE: o.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			as, err := c.ListActionExecutions(cmd.Context(), lf.opts(map[string]string{
				"task_execution_id": task, "name": name, "state": state,
			}))
			if err != nil {
				return err
			}
			return o.show(cmd.OutOrStdout(), as, rowsOf(as,
				column[api.ActionExecutionItem]{"ID", func(a api.ActionExecutionItem) string { return a.ID }},
				column[api.ActionExecutionItem]{"ACTION", func(a api.ActionExecutionItem) string { return a.Name }},
				column[api.ActionExecutionItem]{"WORKFLOW", func(a api.ActionExecutionItem) string { return deref(a.WorkflowName) }},
				column[api.ActionExecutionItem]{"TASK", func(a api.ActionExecutionItem) string { return deref(a.TaskName) }},
				column[api.ActionExecutionItem]{"STATE", func(a api.ActionExecutionItem) string { return a.State }},
				column[api.ActionExecutionItem]{"STATE INFO", func(a api.ActionExecutionItem) string { return oneLine(deref(a.StateInfo), 50) }},
				column[api.ActionExecutionItem]{"CREATED", func(a api.ActionExecutionItem) string { return deref(a.CreatedAt) }}))
		}),
	}
	addListFlags(list, &lf)
	list.Flags().StringVar(&task, "task", "", "only the action executions of this task execution id")
	list.Flags().StringVar(&name, "action", "", "only runs of this action")
	list.Flags().StringVar(&state, "state", "", "only action executions in this state")

	get := getCmd(o, "get ID", "Show an action execution with its input and output", nil, (*client.Client).GetActionExecution)

	var newState, output string
	update := &cobra.Command{
		Use:     "update ID",
		Aliases: []string{"complete"},
		Short:   "Give a running async action its result (--state SUCCESS) or its error (--state ERROR)",
		Long: "Complete an async action (one whose result comes later, such as std.async_noop), as " +
			"Mistral's action-execution-update does: --state SUCCESS makes --output the action's result, " +
			"--state ERROR its error. --output is JSON, or @FILE; text that is not JSON is taken as a string.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s := strings.ToUpper(newState)
			if s != "SUCCESS" && s != "ERROR" {
				return fmt.Errorf("--state must be SUCCESS or ERROR, not %q", newState)
			}
			out, err := readValue("output", output, cmd.InOrStdin())
			if err != nil {
				return err
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			a, err := c.CompleteActionExecution(cmd.Context(), args[0], s, out)
			if err != nil {
				return err
			}
			return o.showOne(cmd.OutOrStdout(), a)
		},
	}
	update.Flags().StringVarP(&newState, "state", "s", "", "SUCCESS or ERROR")
	update.Flags().StringVar(&output, "output", "", "the result (or the error): JSON, or @FILE")
	_ = update.MarkFlagRequired("state")
	_ = update.RegisterFlagCompletionFunc("state", cobra.FixedCompletions([]string{"SUCCESS", "ERROR"}, cobra.ShellCompDirectiveNoFileComp))

	var input, description, target string
	var save, sync bool
	var timeout float64
	run := &cobra.Command{
		Use:   "run ACTION",
		Short: "Run an action without a workflow and show its result",
		Long: "Run a built-in, plugin or ad-hoc action, as Mistral's run-action does. Without --save the " +
			"command waits for the result and nothing is kept. With --save the action execution is kept " +
			"and answered at once (RUNNING) unless --sync waits for it too. --input is a JSON object or @FILE.",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: o.complete(1, actionNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := readObject("input", input, cmd.InOrStdin())
			if err != nil {
				return err
			}
			params := map[string]any{}
			if save {
				params["save_result"] = true
			}
			if sync {
				params["run_sync"] = true
			}
			if target != "" {
				params["target"] = target
			}
			if timeout > 0 {
				params["timeout"] = timeout
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			a, err := c.RunAction(cmd.Context(), client.RunActionRequest{Name: args[0], Input: in, Params: params, Description: description})
			if err != nil {
				return err
			}
			return o.showOne(cmd.OutOrStdout(), a)
		},
	}
	run.Flags().StringVar(&input, "input", "", "action input: a JSON object or @FILE")
	run.Flags().StringVar(&description, "description", "", "a description of the run")
	run.Flags().BoolVar(&save, "save", false, "keep the action execution (and answer at once unless --sync)")
	run.Flags().BoolVar(&sync, "sync", false, "with --save: wait for the result")
	run.Flags().StringVar(&target, "target", "", "executor pool to run the action on")
	run.Flags().Float64Var(&timeout, "timeout", 0, "seconds the action may take")

	del := deleteCmd(o, "action execution", "Delete ended action executions run without a workflow", nil, (*client.Client).DeleteActionExecution)
	del.Use = "delete ID..."

	cmd.AddCommand(list, get, update, run, del)
	return cmd
}
