package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestValidate checks the validators the API serves: they load with lang
// and check expressions with expr, and an invalid definition is a
// BadRequest error naming its place.
func TestValidate(t *testing.T) {
	e := &Engine{}
	ctx := context.Background()
	cases := []struct {
		name    string
		call    func(context.Context, string) error
		def     string
		wantErr string
	}{
		{"workflow ok", e.ValidateWorkflows, "version: '2.0'\nwf:\n  tasks:\n    t:\n      action: std.echo output=<% $.x %>\n", ""},
		{"workflow yaql", e.ValidateWorkflows, "version: '2.0'\nwf:\n  tasks:\n    t:\n      action: std.echo output=<% * %>\n",
			`definition:5:15: workflow "wf", task "t": invalid expression "<% * %>"`},
		{"workbook ok", e.ValidateWorkbook, "version: '2.0'\nname: wb\nworkflows:\n  w:\n    tasks:\n      t: {action: std.noop}\n", ""},
		{"workbook no name", e.ValidateWorkbook, "version: '2.0'\nworkflows:\n  w:\n    tasks:\n      t: {action: std.noop}\n",
			"definition:1:1: missing required key 'name'"},
		{"actions ok", e.ValidateActions, "version: '2.0'\na:\n  base: std.echo output=1\n", ""},
		{"actions jinja", e.ValidateActions, "version: '2.0'\na:\n  base: std.echo\n  output: '{{ _.x + }}'\n",
			`definition:4:11: invalid expression "{{ _.x + }}"`},
	}
	for _, c := range cases {
		err := c.call(ctx, c.def)
		if c.wantErr == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		var br interface{ BadRequest() bool }
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.wantErr)
		} else if !errors.As(err, &br) || !br.BadRequest() {
			t.Errorf("%s: %T is not a BadRequest error", c.name, err)
		}
	}
}
