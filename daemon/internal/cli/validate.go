package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/expr"
	"github.com/sirocco-wf/sirocco/daemon/internal/lang"
)

// ErrInvalidDefinition is returned (wrapped) by `validate` when the file
// is not a valid definition, so the process exits non-zero.
var ErrInvalidDefinition = errors.New("invalid definition")

// Kinds of definition `validate` knows, as --kind spells them.
const (
	kindWorkflow = "workflow"
	kindWorkbook = "workbook"
	kindActions  = "actions"
)

// validateCmd checks a definition locally, with the same loader and
// expression checks the server applies on upload, so an author needs no
// server to find the mistakes in a file, each with its line and column.
func validateCmd(o *options) *cobra.Command {
	var kind string
	var remote bool
	cmd := &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a workflow document, workbook or ad-hoc action file (FILE, or - for stdin)",
		Long: "Checks a definition as the server checks it on upload (and as Mistral 15 does) and prints\n" +
			"every problem with its line and column. Exits non-zero when the definition is invalid.\n" +
			"--kind defaults to what the file looks like: a mapping with 'name' and 'workflows' or\n" +
			"'actions' is a workbook, one whose entries all have 'base' is an action file, anything\n" +
			"else a workflow document. Nothing is sent to a server unless --server asks the server\n" +
			"to check it (POST /v2/{workflows,workbooks,actions}/validate); nothing is stored.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			source := args[0]
			data, err := readSource(cmd, "definition", source)
			if err != nil {
				return err
			}
			if source == "-" {
				source = "stdin"
			}
			k := kind
			if k == "" {
				k = guessKind(data)
			}
			if remote {
				return o.validateOnServer(cmd, k, source, data)
			}
			what, warnings, err := validateDefinition(k, source, data)
			if err != nil && !errors.As(err, new(lang.ErrorList)) {
				return err
			}
			out := cmd.OutOrStdout()
			if o.scripted() {
				v := api.Validation{Valid: err == nil}
				if err != nil {
					v.Error = err.Error()
				}
				if perr := o.show(out, v, nil); perr != nil {
					return perr
				}
			} else {
				for _, w := range warnings {
					fmt.Fprintf(out, "warning: %s\n", w.Error())
				}
				if err != nil {
					fmt.Fprintln(out, err.Error())
				} else {
					fmt.Fprintf(out, "%s: valid %s\n", source, what)
				}
			}
			if err != nil {
				var el lang.ErrorList
				errors.As(err, &el)
				return fmt.Errorf("%s: %w (read as %s, %d problem(s))", source, ErrInvalidDefinition, k, len(el))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "", "workflow, workbook or actions (default: guessed from the file)")
	cmd.Flags().BoolVar(&remote, "server", false, "let the server check the definition (with the actions its executor hosts serve)")
	_ = cmd.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions([]string{kindWorkflow, kindWorkbook, kindActions}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// validateOnServer sends the definition to the server's validate endpoint
// of its kind and prints the answer as the local check does.
func (o *options) validateOnServer(cmd *cobra.Command, kind, source string, data []byte) error {
	path := map[string]string{kindWorkflow: "workflows", kindWorkbook: "workbooks", kindActions: "actions"}[kind]
	if path == "" {
		return fmt.Errorf("--kind must be %s, %s or %s, not %q", kindWorkflow, kindWorkbook, kindActions, kind)
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	v, err := c.Validate(cmd.Context(), path, data)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	switch {
	case o.scripted():
		if err := o.show(out, v, nil); err != nil {
			return err
		}
	case v.Valid:
		fmt.Fprintf(out, "%s: valid %s (checked by the server)\n", source, kind)
	default:
		fmt.Fprintln(out, v.Error)
	}
	if !v.Valid {
		return fmt.Errorf("%s: %w (read as %s by the server)", source, ErrInvalidDefinition, kind)
	}
	return nil
}

// validateDefinition loads data as the given kind; what describes a valid
// definition ("workflow document with 2 workflows").
func validateDefinition(kind, source string, data []byte) (what string, warnings lang.ErrorList, err error) {
	opts := lang.Options{Source: source, ValidateExpr: expr.Validate}
	switch kind {
	case kindWorkflow:
		doc, err := lang.ParseWorkflows(data, opts)
		if err != nil {
			return "", nil, err
		}
		return fmt.Sprintf("workflow document with %d workflow(s)", len(doc.Workflows)), doc.Warnings, nil
	case kindWorkbook:
		wb, err := lang.ParseWorkbook(data, opts)
		if err != nil {
			return "", nil, err
		}
		return fmt.Sprintf("workbook %q with %d workflow(s) and %d action(s)", wb.Name, len(wb.Workflows), len(wb.Actions)), wb.Warnings, nil
	case kindActions:
		doc, err := lang.ParseActions(data, opts)
		if err != nil {
			return "", nil, err
		}
		return fmt.Sprintf("action document with %d action(s)", len(doc.Actions)), doc.Warnings, nil
	}
	return "", nil, fmt.Errorf("--kind must be %s, %s or %s, not %q", kindWorkflow, kindWorkbook, kindActions, kind)
}

// guessKind tells what a file holds from its top-level keys, the way
// Sirocco's conformance recording does. A file that does not parse is
// called a workflow document, whose loader then reports the syntax error.
func guessKind(data []byte) string {
	var top map[string]any
	if yaml.Unmarshal(data, &top) != nil || top == nil {
		return kindWorkflow
	}
	if _, ok := top["name"]; ok {
		_, wf := top["workflows"]
		_, act := top["actions"]
		if wf || act {
			return kindWorkbook
		}
	}
	n := 0
	for k, v := range top {
		if k == "version" {
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return kindWorkflow
		}
		if _, ok := m["base"]; !ok {
			return kindWorkflow
		}
		n++
	}
	if n == 0 {
		return kindWorkflow
	}
	return kindActions
}
