package runner

import (
	"context"
	"fmt"
	"strings"

	"github.com/sirocco-wf/sirocco/plugins/openstack/internal/table"
	"github.com/sirocco-wf/sirocco/sdk"
)

// find is python's ManagerWithFind.find and findall: list (letting the
// service filter on the parameters the row names), then keep the items
// whose fields equal every given parameter.
func (r *Runner) find(ctx context.Context, c *call, a *table.Action, args map[string]any) (any, error) {
	list := r.table.Action(a.Find.List)
	listArgs := map[string]any{}
	for _, q := range a.Find.Query {
		name, into, nested := strings.Cut(q, ">")
		v, ok := args[name]
		switch {
		case !ok:
		case nested:
			opts, _ := listArgs[into].(map[string]any)
			if opts == nil {
				opts = map[string]any{}
				listArgs[into] = opts
			}
			opts[name] = v
		default:
			listArgs[name] = v
		}
	}
	res, err := r.exec(ctx, c, list, listArgs)
	if err != nil {
		return nil, err
	}
	items, _ := res.([]any)
	var matches []any
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		fields := m
		if a.Find.Unwrap != "" {
			if inner, ok := m[a.Find.Unwrap].(map[string]any); ok {
				fields = inner
			}
		}
		all := true
		for _, p := range a.Params {
			want, given := args[p.Name]
			if !given {
				continue
			}
			got, has := fields[p.Name]
			if !has || !equal(got, want) {
				all = false
				break
			}
		}
		if all {
			matches = append(matches, m)
		}
	}
	if !a.Find.One {
		if matches == nil {
			matches = []any{}
		}
		return matches, nil
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return nil, sdk.NewError(ErrTypeNotFound, fmt.Sprintf("No %s matching %s. (HTTP 404)", a.Find.Resource, kwargsRepr(a, args)), nil)
	}
	return nil, sdk.NewError(ErrTypeNotFound, fmt.Sprintf("%d %ss match %s; find needs exactly one (NoUniqueMatch)", len(matches), a.Find.Resource, kwargsRepr(a, args)), nil)
}

// kwargsRepr prints the given filters as python prints the kwargs dict,
// in the table's order.
func kwargsRepr(a *table.Action, args map[string]any) string {
	var parts []string
	for _, p := range a.Params {
		if v, ok := args[p.Name]; ok {
			parts = append(parts, pyRepr(p.Name)+": "+pyRepr(v))
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
