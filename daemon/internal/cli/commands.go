package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/client"
)

func workflowCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{Use: "workflow", Short: "Create and inspect workflow definitions"}

	create := &cobra.Command{
		Use:   "create FILE",
		Short: "Create the workflows of a YAML document (FILE, or - for stdin)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var data []byte
			var err error
			if args[0] == "-" {
				data, err = io.ReadAll(cmd.InOrStdin())
			} else {
				data, err = os.ReadFile(args[0])
			}
			if err != nil {
				return fmt.Errorf("reading the workflow document: %w", err)
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			wfs, err := c.CreateWorkflows(cmd.Context(), data)
			if err != nil {
				return err
			}
			if o.output == "json" {
				return printJSON(cmd.OutOrStdout(), wfs)
			}
			rows := [][]string{{"ID", "NAME", "NAMESPACE", "INPUT", "CREATED"}}
			for _, w := range wfs {
				rows = append(rows, []string{w.ID, w.Name, dash(w.Namespace), dash(w.Input), deref(w.CreatedAt)})
			}
			return table(cmd.OutOrStdout(), rows)
		},
	}

	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List workflows",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			wfs, err := c.ListWorkflows(cmd.Context(), limit)
			if err != nil {
				return err
			}
			if o.output == "json" {
				return printJSON(cmd.OutOrStdout(), wfs)
			}
			return table(cmd.OutOrStdout(), workflowRows(wfs))
		},
	}
	list.Flags().IntVar(&limit, "limit", 0, "show at most this many (0: all)")

	get := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a workflow (by name or id), with its definition",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			w, err := c.GetWorkflow(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if o.output == "json" {
				return printJSON(cmd.OutOrStdout(), w)
			}
			out := cmd.OutOrStdout()
			if err := table(out, [][]string{
				{"ID:", w.ID}, {"Name:", w.Name}, {"Namespace:", dash(w.Namespace)},
				{"Input:", dash(w.Input)}, {"Scope:", w.Scope},
				{"Created:", deref(w.CreatedAt)}, {"Updated:", deref(w.UpdatedAt)},
			}); err != nil {
				return err
			}
			_, err = fmt.Fprintf(out, "Definition:\n%s", w.Definition)
			return err
		},
	}

	cmd.AddCommand(create, list, get)
	return cmd
}

func workflowRows(wfs []api.Workflow) [][]string {
	rows := [][]string{{"ID", "NAME", "NAMESPACE", "INPUT", "CREATED"}}
	for _, w := range wfs {
		rows = append(rows, []string{w.ID, w.Name, dash(w.Namespace), dash(w.Input), deref(w.CreatedAt)})
	}
	return rows
}

func executionCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{Use: "execution", Short: "Start and inspect workflow executions"}

	var input, params, description string
	var wait bool
	start := &cobra.Command{
		Use:   "start NAME",
		Short: "Start a workflow execution",
		Long: "Start an execution of workflow NAME. --input and --params take a JSON object, " +
			"or @FILE to read it from a file (@- for stdin). With --wait the command " +
			"polls until the execution ends, prints its state and output, and exits " +
			"non-zero unless it ended in SUCCESS.",
		Args: cobra.ExactArgs(1),
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
			e, err := c.StartExecution(cmd.Context(), client.StartRequest{
				WorkflowName: args[0], Input: in, Params: pr, Description: description,
			})
			if err != nil {
				return err
			}
			if !wait {
				return o.showExecution(cmd.OutOrStdout(), e)
			}
			e, err = c.WaitExecution(cmd.Context(), e.ID, o.pollMax)
			if err != nil {
				return err
			}
			return o.showFinished(cmd.OutOrStdout(), e)
		},
	}
	start.Flags().StringVar(&input, "input", "", "workflow input: a JSON object or @FILE")
	start.Flags().StringVar(&params, "params", "", "execution params (env, task_name, ...): a JSON object or @FILE")
	start.Flags().StringVar(&description, "description", "", "a description of this execution")
	start.Flags().BoolVar(&wait, "wait", false, "wait for the execution to end; exit non-zero unless it succeeds")

	get := &cobra.Command{
		Use:   "get ID",
		Short: "Show an execution, with its input and output",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			e, err := c.GetExecution(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return o.showExecution(cmd.OutOrStdout(), e)
		},
	}

	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List executions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			es, err := c.ListExecutions(cmd.Context(), limit)
			if err != nil {
				return err
			}
			if o.output == "json" {
				return printJSON(cmd.OutOrStdout(), es)
			}
			rows := [][]string{{"ID", "WORKFLOW", "STATE", "STATE INFO", "CREATED", "UPDATED"}}
			for _, e := range es {
				rows = append(rows, []string{e.ID, e.WorkflowName, e.State, oneLine(deref(e.StateInfo), 60), deref(e.CreatedAt), deref(e.UpdatedAt)})
			}
			return table(cmd.OutOrStdout(), rows)
		},
	}
	list.Flags().IntVar(&limit, "limit", 0, "show at most this many (0: all)")

	cmd.AddCommand(start, get, list)
	return cmd
}

// showExecution prints one execution: all its fields for --output json,
// else a key/value table with input and output indented.
func (o *options) showExecution(w io.Writer, e *api.Execution) error {
	if o.output == "json" {
		return printJSON(w, e)
	}
	rows := [][]string{
		{"ID:", e.ID}, {"Workflow:", e.WorkflowName}, {"Workflow ID:", e.WorkflowID},
		{"Description:", dash(e.Description)}, {"State:", e.State},
		{"State info:", deref(e.StateInfo)}, {"Created:", deref(e.CreatedAt)}, {"Updated:", deref(e.UpdatedAt)},
	}
	if err := table(w, rows); err != nil {
		return err
	}
	fmt.Fprintf(w, "Input:\n%s\n", indentJSON(e.Input))
	if e.Output != nil {
		fmt.Fprintf(w, "Output:\n%s\n", indentJSON(*e.Output))
	}
	return nil
}

// showFinished prints the end of a waited-for execution (state, state_info
// when set, output) and turns a failure into ErrExecutionFailed.
func (o *options) showFinished(w io.Writer, e *api.Execution) error {
	if o.output == "json" {
		if err := printJSON(w, e); err != nil {
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

func taskCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{Use: "task", Short: "Inspect the task executions of an execution"}
	list := &cobra.Command{
		Use:   "list EXECUTION_ID",
		Short: "List the tasks of an execution",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			ts, err := c.ListTasks(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if o.output == "json" {
				return printJSON(cmd.OutOrStdout(), ts)
			}
			rows := [][]string{{"ID", "NAME", "STATE", "STATE INFO", "PUBLISHED", "STARTED", "FINISHED"}}
			for _, t := range ts {
				rows = append(rows, []string{t.ID, t.Name, t.State, oneLine(deref(t.StateInfo), 50),
					oneLine(t.Published, 50), deref(t.StartedAt), deref(t.FinishedAt)})
			}
			return table(cmd.OutOrStdout(), rows)
		},
	}
	cmd.AddCommand(list)
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
