package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/sirocco-wf/sirocco/daemon/internal/api"
	"github.com/sirocco-wf/sirocco/daemon/internal/client"
)

// workbookCmd is `sirocco workbook`: Mistral's workbooks over
// /v2/workbooks.
func workbookCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{Use: "workbook", Aliases: []string{"workbooks", "wb"}, Short: "Create, update, inspect and delete workbooks (named bundles of workflows and actions)"}
	cols := []column[api.Workbook]{
		{"NAME", func(w api.Workbook) string { return w.Name }},
		{"NAMESPACE", func(w api.Workbook) string { return dash(w.Namespace) }},
		{"TAGS", func(w api.Workbook) string { return dash(strings.Join(w.Tags, ",")) }},
		{"SCOPE", func(w api.Workbook) string { return w.Scope }},
		{"CREATED", func(w api.Workbook) string { return deref(w.CreatedAt) }},
		{"UPDATED", func(w api.Workbook) string { return deref(w.UpdatedAt) }},
	}
	create := uploadCmd(o, "create", "Create a workbook from a YAML file (FILE, or - for stdin)", "workbook",
		(*client.Client).CreateWorkbook, func(w *api.CreatedWorkbook) func() [][]string {
			return rowsOf([]api.Workbook{{Name: w.Name, Namespace: w.Namespace, Tags: w.Tags, Scope: w.Scope, CreatedAt: w.CreatedAt}}, cols...)
		})
	update := uploadCmd(o, "update", "Replace the workbook a YAML file names", "workbook",
		(*client.Client).UpdateWorkbook, func(w *api.Workbook) func() [][]string { return rowsOf([]api.Workbook{*w}, cols...) })

	var lf listFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "List workbooks",
		Args:  cobra.NoArgs,
		RunE: o.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			ws, err := c.ListWorkbooks(cmd.Context(), lf.opts(nil))
			if err != nil {
				return err
			}
			return o.show(cmd.OutOrStdout(), ws, rowsOf(ws, cols...))
		}),
	}
	addListFlags(list, &lf)

	get := getCmd(o, "get NAME", "Show a workbook with its definition", workbookNames, (*client.Client).GetWorkbook)
	definition := readCmd(o, "definition NAME", "Print a workbook's YAML definition as it was uploaded", workbookNames,
		(*client.Client).GetWorkbook, func(w io.Writer, wb *api.Workbook) error { return printText(w, wb.Definition) })
	del := deleteCmd(o, "workbook", "Delete workbooks (the workflows and actions they defined stay)", workbookNames, (*client.Client).DeleteWorkbook)
	cmd.AddCommand(create, update, list, get, definition, del)
	return cmd
}

// environmentCmd is `sirocco environment`: Mistral's environments (named
// variables an execution takes as its env) over /v2/environments.
func environmentCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{Use: "environment", Aliases: []string{"environments", "env"}, Short: "Create, update, inspect and delete environments (variables executions use as env)"}
	cols := []column[api.Environment]{
		{"NAME", func(e api.Environment) string { return e.Name }},
		{"DESCRIPTION", func(e api.Environment) string { return oneLine(deref(e.Description), 50) }},
		{"VARIABLES", func(e api.Environment) string { return oneLine(deref(e.Variables), 50) }},
		{"SCOPE", func(e api.Environment) string { return e.Scope }},
		{"CREATED", func(e api.Environment) string { return deref(e.CreatedAt) }},
		{"UPDATED", func(e api.Environment) string { return deref(e.UpdatedAt) }},
	}
	const fileHelp = "FILE (or - for stdin) is YAML or JSON, as python-mistralclient reads it:\n" +
		"  name: prod\n  description: production settings\n  variables:\n    db_host: db.example.org\n  scope: private\n"
	// send answers what the server sent, and it as a table row.
	upload := func(use, short string, send func(*client.Client, context.Context, client.EnvironmentRequest) (any, api.Environment, error)) *cobra.Command {
		return &cobra.Command{
			Use:   use + " FILE",
			Short: short,
			Long:  short + ".\n\n" + fileHelp,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				data, err := readSource(cmd, "environment", args[0])
				if err != nil {
					return err
				}
				req, err := environmentRequest(args[0], data)
				if err != nil {
					return err
				}
				c, err := o.client()
				if err != nil {
					return err
				}
				answer, row, err := send(c, cmd.Context(), req)
				if err != nil {
					return err
				}
				return o.show(cmd.OutOrStdout(), answer, rowsOf([]api.Environment{row}, cols...))
			},
		}
	}
	create := upload("create", "Create an environment from a file", func(c *client.Client, ctx context.Context, r client.EnvironmentRequest) (any, api.Environment, error) {
		e, err := c.CreateEnvironment(ctx, r)
		if err != nil {
			return nil, api.Environment{}, err
		}
		return e, api.Environment{Name: e.Name, Description: e.Description, Variables: e.Variables, Scope: e.Scope, CreatedAt: e.CreatedAt}, nil
	})
	update := upload("update", "Replace the description, variables or scope of the environment a file names", func(c *client.Client, ctx context.Context, r client.EnvironmentRequest) (any, api.Environment, error) {
		e, err := c.UpdateEnvironment(ctx, r)
		if err != nil {
			return nil, api.Environment{}, err
		}
		return e, *e, nil
	})

	var lf listFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "List environments",
		Args:  cobra.NoArgs,
		RunE: o.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			es, err := c.ListEnvironments(cmd.Context(), lf.opts(nil))
			if err != nil {
				return err
			}
			return o.show(cmd.OutOrStdout(), es, rowsOf(es, cols...))
		}),
	}
	addListFlags(list, &lf)

	get := getCmd(o, "get NAME", "Show an environment with its variables", environmentNames, (*client.Client).GetEnvironment)
	del := deleteCmd(o, "environment", "Delete environments", environmentNames, (*client.Client).DeleteEnvironment)
	cmd.AddCommand(create, update, list, get, del)
	return cmd
}

// environmentRequest reads an environment file: a YAML (or JSON) mapping
// of name, description, variables and scope, the keys Mistral accepts.
// The variables keep the file's order, which the server shows back.
func environmentRequest(source string, data []byte) (client.EnvironmentRequest, error) {
	var r client.EnvironmentRequest
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return r, fmt.Errorf("%s: not YAML or JSON: %w", source, err)
	}
	top := &doc
	if top.Kind == yaml.DocumentNode && len(top.Content) == 1 {
		top = top.Content[0]
	}
	if top.Kind != yaml.MappingNode {
		return r, fmt.Errorf("%s: an environment is a mapping of name, description, variables and scope", source)
	}
	var unknown []string
	for i := 0; i+1 < len(top.Content); i += 2 {
		key, val := top.Content[i].Value, top.Content[i+1]
		at := fmt.Sprintf("%s:%d: %s", source, val.Line, key)
		switch key {
		case "name", "description", "scope":
			if val.Kind != yaml.ScalarNode || val.Tag == "!!null" {
				return r, fmt.Errorf("%s must be text", at)
			}
			switch key {
			case "name":
				r.Name = val.Value
			case "description":
				r.Description = val.Value
			default:
				r.Scope = val.Value
			}
		case "variables":
			if val.Kind != yaml.MappingNode {
				return r, fmt.Errorf("%s must be a mapping", at)
			}
			var b bytes.Buffer
			if err := nodeJSON(&b, val); err != nil {
				return r, fmt.Errorf("%s: %w", at, err)
			}
			r.Variables = b.String()
		default:
			unknown = append(unknown, key)
		}
	}
	if len(unknown) > 0 {
		return r, fmt.Errorf("%s: unknown key(s) %s: an environment has name, description, variables and scope",
			source, strings.Join(unknown, ", "))
	}
	if r.Name == "" {
		return r, fmt.Errorf("%s: name is required", source)
	}
	return r, nil
}

// nodeJSON writes a YAML node as JSON, mappings in the document's order
// (a Go map would sort them).
func nodeJSON(b *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 1 {
			return nodeJSON(b, n.Content[0])
		}
	case yaml.AliasNode:
		return nodeJSON(b, n.Alias)
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(n.Content[i].Value)
			b.Write(k)
			b.WriteByte(':')
			if err := nodeJSON(b, n.Content[i+1]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
		return nil
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := nodeJSON(b, c); err != nil {
				return err
			}
		}
		b.WriteByte(']')
		return nil
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return err
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		b.Write(raw)
		return nil
	}
	return fmt.Errorf("line %d: cannot be written as JSON", n.Line)
}
