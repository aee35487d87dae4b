package cli

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sirocco-wf/sirocco/daemon/internal/client"
)

// Shell completion: cobra's `sirocco completion bash|zsh|fish|powershell`
// writes the script; the functions here let it complete names and ids by
// asking the server. A completion must never hang a shell nor print an
// error into it, so it has a short deadline and completes nothing when
// the server cannot be asked.

// completeTimeout bounds the request behind one completion.
const completeTimeout = 2 * time.Second

// candidates lists completion candidates, each "value" or
// "value\tdescription".
type candidates func(ctx context.Context, c *client.Client) ([]string, error)

// complete returns a ValidArgsFunction offering list's candidates for the
// first n positional arguments (-1: all of them).
func (o *options) complete(n int, list candidates) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if n >= 0 && len(args) >= n {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, err := o.client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(context.Background(), completeTimeout)
		defer cancel()
		all, err := list(ctx, c)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, cand := range all {
			if strings.HasPrefix(cand, toComplete) && !contains(args, strings.SplitN(cand, "\t", 2)[0]) {
				out = append(out, cand)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func workflowNames(ctx context.Context, c *client.Client) ([]string, error) {
	wfs, err := c.ListWorkflows(ctx, client.ListOpts{})
	var out []string
	for _, w := range wfs {
		out = append(out, w.Name)
	}
	return out, err
}

// executionIDs offers the latest executions first, described by workflow
// and state, since an id is not something a person remembers.
func executionIDs(ctx context.Context, c *client.Client) ([]string, error) {
	es, err := c.ListExecutions(ctx, client.ListOpts{Limit: 50, SortKeys: "created_at", SortDirs: "desc"}, false)
	var out []string
	for _, e := range es {
		out = append(out, e.ID+"\t"+e.WorkflowName+" "+e.State)
	}
	return out, err
}

func actionNames(ctx context.Context, c *client.Client) ([]string, error) {
	as, err := c.ListActions(ctx, client.ListOpts{})
	var out []string
	for _, a := range as {
		out = append(out, a.Name)
	}
	return out, err
}

func cronTriggerNames(ctx context.Context, c *client.Client) ([]string, error) {
	cs, err := c.ListCronTriggers(ctx, 0)
	var out []string
	for _, t := range cs {
		out = append(out, t.Name+"\t"+t.WorkflowName+" "+t.Pattern)
	}
	return out, err
}

func environmentNames(ctx context.Context, c *client.Client) ([]string, error) {
	es, err := c.ListEnvironments(ctx, client.ListOpts{})
	var out []string
	for _, e := range es {
		out = append(out, e.Name)
	}
	return out, err
}

func workbookNames(ctx context.Context, c *client.Client) ([]string, error) {
	ws, err := c.ListWorkbooks(ctx, client.ListOpts{})
	var out []string
	for _, w := range ws {
		out = append(out, w.Name)
	}
	return out, err
}
