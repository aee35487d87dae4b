package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/client"
)

// readSource reads a definition given as a file name, or - for stdin.
func readSource(cmd *cobra.Command, what, name string) ([]byte, error) {
	var data []byte
	var err error
	if name == "-" {
		data, err = io.ReadAll(cmd.InOrStdin())
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the %s: %w", what, err)
	}
	return data, nil
}

// listFlags are the paging and sorting flags of every list command.
type listFlags struct {
	limit              int
	marker, keys, dirs string
}

func addListFlags(cmd *cobra.Command, l *listFlags) {
	cmd.Flags().IntVar(&l.limit, "limit", 0, "show at most this many (0: all)")
	cmd.Flags().StringVar(&l.marker, "marker", "", "start after the item with this id (the last of the previous page)")
	cmd.Flags().StringVar(&l.keys, "sort-keys", "", "comma-separated fields to sort by, e.g. created_at,name")
	cmd.Flags().StringVar(&l.dirs, "sort-dirs", "", "comma-separated asc or desc, one per sort key")
}

func (l *listFlags) opts(filters map[string]string) client.ListOpts {
	return client.ListOpts{Limit: l.limit, Marker: l.marker, SortKeys: l.keys, SortDirs: l.dirs, Filters: filters}
}

// withClient turns a command body that talks to the server into a RunE.
func (o *options) withClient(fn func(cmd *cobra.Command, c *client.Client, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := o.client()
		if err != nil {
			return err
		}
		return fn(cmd, c, args)
	}
}

// getCmd is a "get NAME" command: one object, read with get and shown
// with showOne. names completes the argument (nil: nothing to offer).
func getCmd[T any](o *options, use, short string, names candidates, get func(*client.Client, context.Context, string) (*T, error)) *cobra.Command {
	return readCmd(o, use, short, names, get, func(w io.Writer, v *T) error { return o.showOne(w, v) })
}

// readCmd is a command that reads one object and shows it with show.
func readCmd[T any](o *options, use, short string, names candidates, get func(*client.Client, context.Context, string) (*T, error), show func(io.Writer, *T) error) *cobra.Command {
	return &cobra.Command{
		Use:               use,
		Short:             short,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: o.complete(1, names),
		RunE: o.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			v, err := get(c, cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return show(cmd.OutOrStdout(), v)
		}),
	}
}

// printText prints text as it is: a definition as it was uploaded.
func printText(w io.Writer, text string) error {
	_, err := io.WriteString(w, text)
	return err
}

// deleteCmd is a "delete NAME..." command. It reports each deletion and
// stops at the first failure, so the error names the item.
func deleteCmd(o *options, what, short string, names candidates, del func(*client.Client, context.Context, string) error) *cobra.Command {
	return &cobra.Command{
		Use:               "delete NAME...",
		Short:             short,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: o.complete(-1, names),
		RunE: o.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			for _, n := range args {
				if err := del(c, cmd.Context(), n); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted %s %s\n", what, n)
			}
			return nil
		}),
	}
}

// uploadCmd is a "create FILE" or "update FILE" command: it sends a
// document (FILE, or - for stdin) and shows the answer.
func uploadCmd[T any](o *options, use, short, what string, send func(*client.Client, context.Context, []byte) (T, error), rows func(T) func() [][]string) *cobra.Command {
	return &cobra.Command{
		Use:   use + " FILE",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: o.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			data, err := readSource(cmd, what, args[0])
			if err != nil {
				return err
			}
			v, err := send(c, cmd.Context(), data)
			if err != nil {
				return err
			}
			return o.show(cmd.OutOrStdout(), v, rows(v))
		}),
	}
}

func workflowCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{Use: "workflow", Aliases: []string{"workflows", "wf"}, Short: "Create, update, inspect and delete workflow definitions"}

	create := uploadCmd(o, "create", "Create the workflows of a YAML document (FILE, or - for stdin)", "workflow document",
		(*client.Client).CreateWorkflows, func(wfs []api.CreatedWorkflow) func() [][]string {
			return rowsOf(wfs,
				column[api.CreatedWorkflow]{"ID", func(w api.CreatedWorkflow) string { return w.ID }},
				column[api.CreatedWorkflow]{"NAME", func(w api.CreatedWorkflow) string { return w.Name }},
				column[api.CreatedWorkflow]{"NAMESPACE", func(w api.CreatedWorkflow) string { return dash(w.Namespace) }},
				column[api.CreatedWorkflow]{"INPUT", func(w api.CreatedWorkflow) string { return oneLine(dash(w.Input), 50) }},
				column[api.CreatedWorkflow]{"CREATED", func(w api.CreatedWorkflow) string { return deref(w.CreatedAt) }})
		})
	update := uploadCmd(o, "update", "Replace the workflows a YAML document defines (running executions keep their definition)", "workflow document",
		(*client.Client).UpdateWorkflows, func(wfs []api.UpdatedWorkflow) func() [][]string {
			return rowsOf(wfs,
				column[api.UpdatedWorkflow]{"ID", func(w api.UpdatedWorkflow) string { return w.ID }},
				column[api.UpdatedWorkflow]{"NAME", func(w api.UpdatedWorkflow) string { return w.Name }},
				column[api.UpdatedWorkflow]{"UPDATED", func(w api.UpdatedWorkflow) string { return deref(w.UpdatedAt) }})
		})

	var lf listFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "List workflows",
		Args:  cobra.NoArgs,
		RunE: o.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			wfs, err := c.ListWorkflows(cmd.Context(), lf.opts(nil))
			if err != nil {
				return err
			}
			return o.show(cmd.OutOrStdout(), wfs, rowsOf(wfs,
				column[api.Workflow]{"ID", func(w api.Workflow) string { return w.ID }},
				column[api.Workflow]{"NAME", func(w api.Workflow) string { return w.Name }},
				column[api.Workflow]{"NAMESPACE", func(w api.Workflow) string { return dash(w.Namespace) }},
				column[api.Workflow]{"INPUT", func(w api.Workflow) string { return oneLine(dash(w.Input), 50) }},
				column[api.Workflow]{"CREATED", func(w api.Workflow) string { return deref(w.CreatedAt) }},
				column[api.Workflow]{"UPDATED", func(w api.Workflow) string { return deref(w.UpdatedAt) }}))
		}),
	}
	addListFlags(list, &lf)

	get := getCmd(o, "get NAME", "Show a workflow (by name or id), with its definition", workflowNames, (*client.Client).GetWorkflow)

	definition := readCmd(o, "definition NAME", "Print the YAML document a workflow came from, as it was uploaded", workflowNames,
		(*client.Client).GetWorkflow, func(w io.Writer, wf *api.Workflow) error { return printText(w, wf.Definition) })

	del := deleteCmd(o, "workflow", "Delete workflows (by name or id); their executions are kept", workflowNames, (*client.Client).DeleteWorkflow)

	cmd.AddCommand(create, update, list, get, definition, del)
	return cmd
}

var executionCols = []column[api.Execution]{
	{"ID", func(e api.Execution) string { return e.ID }},
	{"WORKFLOW", func(e api.Execution) string { return e.WorkflowName }},
	{"STATE", func(e api.Execution) string { return e.State }},
	{"STATE INFO", func(e api.Execution) string { return oneLine(deref(e.StateInfo), 60) }},
	{"CREATED", func(e api.Execution) string { return deref(e.CreatedAt) }},
	{"UPDATED", func(e api.Execution) string { return deref(e.UpdatedAt) }},
}

func executionCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{Use: "execution", Aliases: []string{"executions", "ex"}, Short: "Start, watch, stop and inspect workflow executions"}

	var input, params, description, id string
	var wait, quiet bool
	start := &cobra.Command{
		Use:   "start NAME",
		Short: "Start a workflow execution",
		Long: "Start an execution of workflow NAME. --input and --params take a JSON object, " +
			"or @FILE to read it from a file (@- for stdin).\n\n" +
			"With --wait the command follows the execution until it ends: on a terminal a status line " +
			"(tasks done, running, failed, elapsed) is redrawn in place, elsewhere one line is printed per " +
			"task state change. Then it prints the final state and output, and exits non-zero unless the " +
			"execution ended in SUCCESS. With --output json or yaml the progress goes to stderr and only " +
			"the final execution to stdout.",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: o.complete(1, workflowNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := readObject("input", input, cmd.InOrStdin())
			if err != nil {
				return err
			}
			pr, err := readObject("params", params, cmd.InOrStdin())
			if err != nil {
				return err
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			began := time.Now()
			e, err := c.StartExecution(cmd.Context(), client.StartRequest{
				WorkflowName: args[0], Input: in, Params: pr, Description: description, ID: id,
			})
			if err != nil {
				return err
			}
			if !wait {
				return o.showOne(cmd.OutOrStdout(), e)
			}
			final, err := o.follow(cmd, c, e, began, quiet)
			if err != nil {
				return err
			}
			return o.showFinished(cmd.OutOrStdout(), final)
		},
	}
	start.Flags().StringVar(&input, "input", "", "workflow input: a JSON object or @FILE")
	start.Flags().StringVar(&params, "params", "", "execution params (env, task_name, ...): a JSON object or @FILE")
	start.Flags().StringVar(&description, "description", "", "a description of this execution")
	start.Flags().StringVar(&id, "id", "", "the execution's id (a UUID); starting twice with the same id starts once")
	start.Flags().BoolVarP(&wait, "wait", "w", false, "follow the execution until it ends; exit non-zero unless it succeeds")
	start.Flags().BoolVarP(&quiet, "quiet", "q", false, "with --wait: no progress, only the end")

	var watchQuiet bool
	watch := &cobra.Command{
		Use:   "watch ID",
		Short: "Follow an execution until it ends, showing its tasks' progress",
		Long: "Follow an execution, as start --wait does: a status line redrawn in place on a terminal, " +
			"one line per task state change elsewhere; then the final state and output. Exits non-zero " +
			"unless the execution ended in SUCCESS. An execution that has ended already is shown at once.",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: o.complete(1, executionIDs),
		RunE: o.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			e, err := c.GetExecution(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			began := time.Now()
			if e.CreatedAt != nil {
				if t, err := time.ParseInLocation(api.TimeFormat, *e.CreatedAt, time.UTC); err == nil {
					began = t
				}
			}
			final, err := o.follow(cmd, c, e, began, watchQuiet)
			if err != nil {
				return err
			}
			return o.showFinished(cmd.OutOrStdout(), final)
		}),
	}
	watch.Flags().BoolVarP(&watchQuiet, "quiet", "q", false, "no progress, only the end")

	get := getCmd(o, "get ID", "Show an execution, with its input and output", executionIDs, (*client.Client).GetExecution)

	// input and output print one JSON-encoded member as JSON, for scripts
	// (`sirocco execution output ID | jq .greeting`).
	inputCmd := readCmd(o, "input ID", "Print an execution's input (JSON)", executionIDs, (*client.Client).GetExecution,
		func(w io.Writer, e *api.Execution) error { return o.printEncoded(w, e.Input) })
	outputCmd := readCmd(o, "output ID", "Print an execution's output (JSON)", executionIDs, (*client.Client).GetExecution,
		func(w io.Writer, e *api.Execution) error { return o.printEncoded(w, deref(e.Output)) })

	var lf listFlags
	var wfName, state, root string
	var withOutput bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List executions",
		Args:  cobra.NoArgs,
		RunE: o.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			es, err := c.ListExecutions(cmd.Context(), lf.opts(map[string]string{
				"workflow_name": wfName, "state": state, "root_execution_id": root,
			}), withOutput)
			if err != nil {
				return err
			}
			return o.show(cmd.OutOrStdout(), es, rowsOf(es, executionCols...))
		}),
	}
	addListFlags(list, &lf)
	list.Flags().StringVar(&wfName, "workflow", "", "only executions of this workflow")
	list.Flags().StringVar(&state, "state", "", "only executions in this state (RUNNING, SUCCESS, ERROR, ...)")
	list.Flags().StringVar(&root, "root", "", "only the sub-workflow executions under this execution id")
	list.Flags().BoolVar(&withOutput, "include-output", false, "include each execution's output (json and yaml output)")
	_ = list.RegisterFlagCompletionFunc("workflow", o.complete(1, workflowNames))
	_ = list.RegisterFlagCompletionFunc("state", cobra.FixedCompletions(executionStates, cobra.ShellCompDirectiveNoFileComp))

	var newState, stateInfo, newDescription string
	update := &cobra.Command{
		Use:               "update ID",
		Short:             "Stop an execution (--state SUCCESS, ERROR or CANCELLED) or change its description",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: o.complete(1, executionIDs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if newState == "" && newDescription == "" {
				return fmt.Errorf("say what to change: --state or --description")
			}
			return o.updateExecution(cmd, args[0], api.UpdateExecutionBody{State: newState, StateInfo: stateInfo, Description: newDescription})
		},
	}
	update.Flags().StringVarP(&newState, "state", "s", "", "SUCCESS, ERROR or CANCELLED: end the execution (its running tasks are cancelled)")
	update.Flags().StringVar(&stateInfo, "state-info", "", "why: becomes the execution's state_info")
	update.Flags().StringVarP(&newDescription, "description", "d", "", "a new description")
	_ = update.RegisterFlagCompletionFunc("state", cobra.FixedCompletions([]string{"SUCCESS", "ERROR", "CANCELLED"}, cobra.ShellCompDirectiveNoFileComp))

	var reason string
	cancel := &cobra.Command{
		Use:               "cancel ID",
		Short:             "Cancel a running execution (update --state CANCELLED)",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: o.complete(1, executionIDs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.updateExecution(cmd, args[0], api.UpdateExecutionBody{State: "CANCELLED", StateInfo: reason})
		},
	}
	cancel.Flags().StringVar(&reason, "reason", "", "why: becomes the execution's state_info")

	del := deleteCmd(o, "execution", "Delete ended executions with their tasks (cancel a running one first)", executionIDs, (*client.Client).DeleteExecution)
	del.Use = "delete ID..."

	cmd.AddCommand(start, watch, get, inputCmd, outputCmd, list, update, cancel, del)
	return cmd
}

var executionStates = []string{"IDLE", "RUNNING", "PAUSED", "SUCCESS", "ERROR", "CANCELLED"}

func (o *options) updateExecution(cmd *cobra.Command, id string, u api.UpdateExecutionBody) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	e, err := c.UpdateExecution(cmd.Context(), id, u)
	if err != nil {
		return err
	}
	return o.showOne(cmd.OutOrStdout(), e)
}

// printEncoded prints one of Mistral's JSON-encoded members (input,
// output, result, published) decoded: indented JSON, or YAML with
// --output yaml.
func (o *options) printEncoded(w io.Writer, s string) error {
	if s == "" || s == "-" {
		s = "null"
	}
	if o.output == outYAML {
		var v any
		if err := json.Unmarshal([]byte(s), &v); err == nil {
			return printYAML(w, v)
		}
	}
	_, err := fmt.Fprintln(w, indentJSON(s))
	return err
}

// showFinished prints the end of a followed execution (state, state_info
// when set, output) and turns a failure into ErrExecutionFailed.
func (o *options) showFinished(w io.Writer, e *api.Execution) error {
	if o.scripted() {
		if err := o.show(w, e, nil); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(w, "Execution %s: %s\n", e.ID, e.State)
		if e.StateInfo != nil && *e.StateInfo != "" {
			fmt.Fprintf(w, "State info: %s\n", *e.StateInfo)
		}
		if e.Output != nil {
			fmt.Fprintf(w, "Output:\n%s\n", indentJSON(*e.Output))
		}
	}
	if e.State != "SUCCESS" {
		return fmt.Errorf("execution %s ended in %s: %w", e.ID, e.State, ErrExecutionFailed)
	}
	return nil
}

var taskCols = []column[api.Task]{
	{"ID", func(t api.Task) string { return t.ID }},
	{"NAME", func(t api.Task) string { return t.Name }},
	{"WORKFLOW", func(t api.Task) string { return t.WorkflowName }},
	{"STATE", func(t api.Task) string { return t.State }},
	{"STATE INFO", func(t api.Task) string { return oneLine(deref(t.StateInfo), 50) }},
	{"PUBLISHED", func(t api.Task) string { return oneLine(t.Published, 50) }},
	{"STARTED", func(t api.Task) string { return deref(t.StartedAt) }},
	{"FINISHED", func(t api.Task) string { return deref(t.FinishedAt) }},
}

func taskCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{Use: "task", Aliases: []string{"tasks"}, Short: "Inspect the task executions of executions"}

	var lf listFlags
	var state, name, wfName string
	list := &cobra.Command{
		Use:               "list [EXECUTION_ID]",
		Short:             "List the tasks of an execution, or of all executions",
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: o.complete(1, executionIDs),
		RunE: o.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			var ts []api.Task
			var err error
			if len(args) == 1 && lf == (listFlags{}) && state == "" && name == "" && wfName == "" {
				// The execution's own listing answers 404 for an unknown
				// execution, where the filtered one answers an empty list.
				ts, err = c.ListTasks(cmd.Context(), args[0])
			} else {
				filters := map[string]string{"state": state, "name": name, "workflow_name": wfName}
				if len(args) == 1 {
					filters["workflow_execution_id"] = args[0]
				}
				ts, err = c.ListAllTasks(cmd.Context(), lf.opts(filters))
			}
			if err != nil {
				return err
			}
			return o.show(cmd.OutOrStdout(), ts, rowsOf(ts, taskCols...))
		}),
	}
	addListFlags(list, &lf)
	list.Flags().StringVar(&state, "state", "", "only tasks in this state")
	list.Flags().StringVar(&name, "name", "", "only tasks of this name")
	list.Flags().StringVar(&wfName, "workflow", "", "only tasks of this workflow")

	get := getCmd(o, "get ID", "Show a task execution with its result and published variables", nil, (*client.Client).GetTask)

	result := readCmd(o, "result ID", "Print a task's result (JSON): its action's output, or the error", nil, (*client.Client).GetTask,
		func(w io.Writer, t *api.Task) error { return o.printEncoded(w, deref(t.Result)) })
	published := readCmd(o, "published ID", "Print the variables a task published (JSON)", nil, (*client.Client).GetTask,
		func(w io.Writer, t *api.Task) error { return o.printEncoded(w, t.Published) })

	var noReset bool
	var env string
	rerun := &cobra.Command{
		Use:   "rerun ID",
		Short: "Run a failed task again, and its workflow execution with it",
		Long: "Rerun a task in ERROR, as Mistral's task-rerun does; its execution runs again from there. " +
			"--no-reset reruns only the failed items of a with-items task. --env (a JSON object or @FILE) " +
			"is merged into the execution's environment first.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := readObject("env", env, cmd.InOrStdin())
			if err != nil {
				return err
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			reset := !noReset
			t, err := c.RerunTask(cmd.Context(), args[0], api.TaskUpdate{State: "RUNNING", Reset: &reset, Env: e})
			if err != nil {
				return err
			}
			return o.showOne(cmd.OutOrStdout(), t)
		},
	}
	rerun.Flags().BoolVar(&noReset, "no-reset", false, "with-items: rerun only the failed items")
	rerun.Flags().StringVar(&env, "env", "", "variables to merge into the execution's env: a JSON object or @FILE")

	cmd.AddCommand(list, get, result, published, rerun)
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
