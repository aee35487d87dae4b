package lang

import (
	"errors"
	"reflect"
	"testing"
)

// TestParseCmdAndInput pins the inline-parameter split to Mistral's
// _parse_cmd_and_input, quirks included.
func TestParseCmdAndInput(t *testing.T) {
	cases := []struct {
		in     string
		cmd    string
		params map[string]any
	}{
		{`std.noop`, "std.noop", map[string]any{}},
		{`std.echo output="Hello, <% $.name %>" x=1`, "std.echo", map[string]any{"output": "Hello, <% $.name %>", "x": int64(1)}},
		{`std.echo output='a b' flag=true none=null`, "std.echo", map[string]any{"output": "a b", "flag": true, "none": nil}},
		{`std.echo output=<% $.x + 1 %>`, "std.echo", map[string]any{"output": "<% $.x + 1 %>"}},
		{`std.echo output={{ _.x }}`, "std.echo", map[string]any{"output": "{{ _.x }}"}},
		{`std.echo output=Hello`, "std.echo", map[string]any{}}, // unquoted words are dropped
		{`std.echo l=[1, "a"]`, "std.echo", map[string]any{"l": []any{int64(1), "a"}}},
		{`std.echo l=[1] m=[2]`, "std.echo", map[string]any{"l": "[1] m=[2]"}}, // greedy brackets
		{`std.echo n=007`, "std.echo", map[string]any{"n": "007"}},             // json.loads fails
		{`fail msg="bad thing"`, "fail", map[string]any{"msg": "bad thing"}},
		{`count=3 delay=1 break-on=<% $.x %>`, "count", map[string]any{"count": int64(3), "delay": int64(1), "break-on": "<% $.x %>"}},
		{`<% $.action %> a=1`, "<% $.action %>", map[string]any{"a": int64(1)}},
	}
	for _, c := range cases {
		cmd, params, _, ok := parseCmdAndInput(c.in)
		if !ok || cmd != c.cmd || !reflect.DeepEqual(params, c.params) {
			t.Errorf("%q: got %q %#v ok=%v, want %q %#v", c.in, cmd, params, ok, c.cmd, c.params)
		}
	}
	if _, _, _, ok := parseCmdAndInput(`-bad x=1`); ok {
		t.Error("a command that starts with '-' must be refused")
	}
}

// TestYAML11Scalars pins scalar resolution to PyYAML's YAML 1.1 rules.
func TestYAML11Scalars(t *testing.T) {
	cases := map[string]any{
		"yes": true, "No": false, "on": true, "OFF": false, "y": "y", "true": true,
		"~": nil, "null": nil, "": nil,
		"012": int64(10), "0x1F": int64(31), "0b101": int64(5), "1_000": int64(1000), "1:30": int64(90), "-7": int64(-7),
		"08": "08", "0o17": "0o17",
		"1.5": 1.5, "1e3": "1e3", "1.0e+3": 1000.0, ".5": 0.5, "1.": 1.0,
		"'yes'": "yes", `"012"`: "012", "!!str 12": "12", "!!int '12'": int64(12),
		"2001-12-14": "2001-12-14", "&a b": "&a b", ".inf": ".inf",
	}
	for in, want := range cases {
		n, err := parseYAML([]byte("k: " + in + "\n"))
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if got := n.get("k").value(); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %#v, want %#v", in, got, want)
		}
	}
}

// TestWarnings covers what Mistral accepts but Sirocco flags.
func TestWarnings(t *testing.T) {
	src := `version: '2.0'
wf:
  inptu: [a]
  description: 5
  tasks:
    t1:
      on-success: {t2: <% true %>}
    t2:
      description: runs first too
`
	doc, err := ParseWorkflows([]byte(src), Options{Source: "w.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`w.yaml:3:3: workflow "wf": unknown key "inptu" is ignored (did you mean "input"?)`,
		`w.yaml:4:16: workflow "wf": 'description' is ignored: it should be a non-empty string, not integer 5`,
		`w.yaml:7:19: workflow "wf", task "t1": on-success: a single {task: guard} mapping leads nowhere (Mistral reads it as {publish, next}); write it as a list item: '- t2: ...'`,
	}
	var got []string
	for _, w := range doc.Warnings {
		got = append(got, w.Error())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings:\n%q\nwant\n%q", got, want)
	}
	if tk := doc.Workflows[0].Task("t2"); tk == nil || tk.Action != "std.noop" {
		t.Errorf("t2 = %+v", tk)
	}
}

func TestValidateExpr(t *testing.T) {
	src := `version: '2.0'
wf:
  tasks:
    t1:
      action: std.echo output=<% $.( %>
      publish:
        mixed: <% $.a %> {{ _.b }}
      on-error:
        - fail msg="<% $.( %>"
`
	bad := errors.New("syntax error")
	_, err := ParseWorkflows([]byte(src), Options{Source: "e.yaml", ValidateExpr: func(s string) error {
		if s == "<% $.( %>" {
			return bad
		}
		return nil
	}})
	want := `e.yaml:5:15: workflow "wf", task "t1": invalid expression "<% $.( %>": syntax error
e.yaml:7:16: workflow "wf", task "t1": the string mixes Jinja and YAQL expressions, which Mistral does not allow: "<% $.a %> {{ _.b }}"`
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

// FuzzParseWorkflows checks that no input panics and that every result
// is either a Document or an ErrorList.
func FuzzParseWorkflows(f *testing.F) {
	for _, s := range []string{
		"version: '2.0'\nwf:\n  tasks:\n    t1:\n      action: std.echo output=\"x\" a=[1]\n      on-success: [t2]\n    t2: {}\n",
		"version: 2\nwf:\n  type: reverse\n  tasks:\n    a:\n      requires: [b]\n    b:\n      retry: count=1 delay=2\n",
		"- a\n- b\n", "a: &x [*x]\n", "{", "version: '2.0'\nwf:\n  tasks:\n    t:\n      with-items: x in [1,2]\n      join: all\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		doc, err := ParseWorkflows(src, Options{Source: "fuzz"})
		if err != nil {
			var el ErrorList
			if !errors.As(err, &el) || len(el) == 0 || doc != nil {
				t.Fatalf("bad error result: %T %v", err, err)
			}
			return
		}
		if doc == nil {
			t.Fatal("nil document without error")
		}
	})
}
