package cli_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirocco-wf/sirocco/daemon/internal/cli"
)

func runValidate(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := cli.NewRoot(nil, nil)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"validate"}, args...))
	err := root.Execute()
	return out.String(), err
}

// TestValidate runs `sirocco validate` on files of each kind: the kind is
// guessed, errors name the file, line and column, and an invalid file
// makes the command fail.
func TestValidate(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("wf.yaml", "version: '2.0'\nwf:\n  tasks:\n    t1:\n      action: std.echo output=<% $.x %>\n")
	wb := write("wb.yaml", "version: '2.0'\nname: wb\nactions:\n  a:\n    base: std.noop\nworkflows:\n  w:\n    tasks:\n      t: {action: a}\n")
	acts := write("a.yaml", "version: '2.0'\na:\n  base: std.echo\n  base-input: {output: <% $.( %>}\n")
	bad := write("bad.yaml", "version: '2.0'\nwf:\n  tasks:\n    t1:\n      actoin: std.noop\n      on-success: t3\n")

	for _, c := range []struct {
		args []string
		want string
		ok   bool
	}{
		{[]string{good}, "valid workflow document with 1 workflow(s)", true},
		{[]string{wb}, `valid workbook "wb" with 1 workflow(s) and 1 action(s)`, true},
		{[]string{acts}, "a.yaml:4:24: invalid expression", false},
		{[]string{bad}, "bad.yaml:5:7: workflow \"wf\", task \"t1\": unknown key \"actoin\" (did you mean \"action\"?)\n" +
			filepath.Join(dir, "bad.yaml") + ":6:19: workflow \"wf\", task \"t1\": transition to task \"t3\", which does not exist", false},
		{[]string{"--kind", "workbook", good}, "missing required key 'name'", false},
		{[]string{"--kind", "actions", wb}, "unknown key", false},
	} {
		out, err := runValidate(t, c.args...)
		if c.ok != (err == nil) || !strings.Contains(out, c.want) {
			t.Errorf("validate %v: err=%v\n%s\nwant %q", c.args, err, out, c.want)
		}
		if !c.ok && !errors.Is(err, cli.ErrInvalidDefinition) {
			t.Errorf("validate %v: error %v is not ErrInvalidDefinition", c.args, err)
		}
	}
	if _, err := runValidate(t, "--kind", "nope", good); err == nil || errors.Is(err, cli.ErrInvalidDefinition) {
		t.Errorf("a bad --kind gave %v", err)
	}
	out, err := runValidate(t, "-o", "json", bad)
	if err == nil || !strings.Contains(out, `"valid": false`) || !strings.Contains(out, `"error": "`) {
		t.Errorf("json output: %v\n%s", err, out)
	}
}
