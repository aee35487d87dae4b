package lang

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// checkRoundTripOf checks that a parsed value survives JSON, as the
// engine stores it: encoding what was decoded gives the same JSON. (A
// float with no fraction, such as 2.0 in YAML, comes back as the integer
// 2; see doc.go.) back must be a pointer to a zero value of v's type.
func checkRoundTripOf(t *testing.T, v, back any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	if err := json.Unmarshal(b, back); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	b2, err := json.Marshal(back)
	if err != nil {
		t.Fatalf("marshal again: %v", err)
	}
	if string(b) != string(b2) {
		t.Fatalf("JSON round trip changed the value:\n%s\n%s", b, b2)
	}
}

const goodWorkbook = `version: '2.0'
name: my_wb
description: greets
tags: [demo]
actions:
  greet:
    base: std.echo output="Hello, <% $.name %>" n=1
    base-input:
      n: 2
      extra: keep
    input:
      - name
      - punctuation: "!"
    output: <% $.output %>
workflows:
  main:
    input: [name]
    tasks:
      hello:
        action: greet name=<% $.name %>
        on-success: sub
      sub:
        workflow: helper
      other:
        workflow: elsewhere.wf
        action_free: 1
  helper:
    tasks:
      t:
        action: std.noop
`

func TestParseWorkbook(t *testing.T) {
	src := strings.Replace(goodWorkbook, "        action_free: 1\n", "", 1)
	wb, err := ParseWorkbook([]byte(src), Options{Source: "wb.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	checkRoundTripOf(t, wb, &Workbook{})
	if wb.Name != "my_wb" || wb.Description != "greets" || !reflect.DeepEqual(wb.Tags, []string{"demo"}) {
		t.Errorf("header = %+v", wb)
	}
	if len(wb.Actions) != 1 || len(wb.Workflows) != 2 {
		t.Fatalf("%d actions, %d workflows", len(wb.Actions), len(wb.Workflows))
	}
	a := wb.Actions[0]
	want := &Action{Name: "my_wb.greet", Base: "std.echo",
		BaseInput: map[string]any{"output": "Hello, <% $.name %>", "n": int64(1), "extra": "keep"},
		Input:     []Param{{Name: "name"}, {Name: "punctuation", Default: "!", HasDefault: true}},
		Output:    "<% $.output %>", Line: 6, Col: 3}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("action = %+v\nwant     %+v", a, want)
	}
	main := wb.Workflows[0]
	if main.Name != "my_wb.main" || wb.Workflows[1].Name != "my_wb.helper" {
		t.Errorf("workflow names %q, %q", main.Name, wb.Workflows[1].Name)
	}
	if got := main.Task("hello").Action; got != "my_wb.greet" {
		t.Errorf("hello.Action = %q, want the workbook's action", got)
	}
	if got := main.Task("sub").Workflow; got != "my_wb.helper" {
		t.Errorf("sub.Workflow = %q, want the workbook's workflow", got)
	}
	if got := main.Task("other").Workflow; got != "elsewhere.wf" {
		t.Errorf("other.Workflow = %q, want it as written", got)
	}
}

func TestParseActions(t *testing.T) {
	src := `---
version: "2.0"
greeting:
  description: says hello
  tags: [a, b]
  base: std.echo
  base-input:
    output: "Hello, <% $.name %>"
  input:
    - name
  output: <% $ %>
farewell:
  base: std.echo output=bye
`
	doc, err := ParseActions([]byte(src), Options{Source: "a.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	checkRoundTripOf(t, doc, &ActionDocument{})
	if doc.Version != "2.0" || len(doc.Actions) != 2 {
		t.Fatalf("doc = %+v", doc)
	}
	if a := doc.Actions[0]; a.Name != "greeting" || a.Base != "std.echo" || a.Description != "says hello" ||
		!reflect.DeepEqual(a.BaseInput, map[string]any{"output": "Hello, <% $.name %>"}) ||
		!reflect.DeepEqual(a.Input, []Param{{Name: "name"}}) || a.Output != "<% $ %>" {
		t.Errorf("greeting = %+v", a)
	}
	// An unquoted word value is dropped by Mistral's inline split.
	if a := doc.Actions[1]; a.Base != "std.echo" || len(a.BaseInput) != 0 || a.Output != nil {
		t.Errorf("farewell = %+v", a)
	}
}

// badDefinitions pins the exact errors of workbooks and action documents.
var badDefinitions = []struct {
	kind, src string
	want      []string
}{
	{"wb", "version: '2.0'\nworkflows:\n  wf:\n    tasks:\n      t: {}\n", []string{
		`x:1:1: missing required key 'name': a workbook must have a name`,
		`x:5:10: workflow "wf", task "t": a task must not be empty`,
	}},
	{"wb", "version: '2.0'\nname: wb\nactons: {}\n", []string{
		`x:3:1: unknown key "actons" (did you mean "actions"?)`,
	}},
	{"wb", "version: '2'\nname: wb\nworkflows:\n  my.wf:\n    tasks:\n      t: {}\n  version: '1.0'\n", []string{
		`x:1:10: unsupported version string "2": a workbook's version must be '2.0'`,
		`x:4:3: workflow name "my.wf" is not allowed in a workbook: use letters, digits, '_' and '-' only`,
		`x:7:12: unsupported workflows version string "1.0": a workbook's version must be '2.0'`,
	}},
	{"wb", "version: '2.0'\nname: wb\nactions:\n  a:\n    base: std.echo\n    inputs: [x]\n  b: ~\nworkflows:\n  wf:\n    tasks:\n      t:\n        on-success: missing\n", []string{
		`x:6:5: action "a": unknown key "inputs" (did you mean "input"?)`,
		`x:7:6: action "b" has no definition`,
		`x:12:21: workflow "wf", task "t": transition to task "missing", which does not exist`,
	}},
	{"actions", "version: '2.0'\na:\n  base-input: {x: 1}\nb: []\nc:\n  base: ''\n  input: [x, x]\n", []string{
		`x:2:1: action "a": missing required key 'base' (the action it calls, e.g. 'base: std.echo')`,
		`x:4:4: action "b" must be a non-empty mapping with at least 'base', not a list`,
		`x:6:9: 'base' must be a non-empty string, not string ""`,
		`x:7:14: 'input' has a duplicate item`,
	}},
	{"actions", "a:\n  base: std.noop\n", []string{
		`x:1:1: missing required key 'version' (it must be '2.0')`,
	}},
	{"actions", "version: '2.0'\n", []string{
		`x:1:1: the document defines no action`,
	}},
}

func TestBadWorkbooksAndActions(t *testing.T) {
	for _, c := range badDefinitions {
		var err error
		if c.kind == "wb" {
			_, err = ParseWorkbook([]byte(c.src), Options{Source: "x"})
		} else {
			_, err = ParseActions([]byte(c.src), Options{Source: "x"})
		}
		var el ErrorList
		if !errors.As(err, &el) {
			t.Errorf("%q: error %v, not an ErrorList", c.src, err)
			continue
		}
		var got []string
		for _, e := range el {
			got = append(got, e.Error())
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q:\n got  %s\n want %s", c.src, strings.Join(got, "\n      "), strings.Join(c.want, "\n      "))
		}
	}
}

// TestSyntaxErrorPlaces pins where malformed YAML is reported: at the
// offending character, not the construct yaml.v3 was reading.
func TestSyntaxErrorPlaces(t *testing.T) {
	cases := []struct{ src, want string }{
		{"tasks:\n    t1:\n      action: std.noop\n     bad: x\n",
			"y:4:6: invalid YAML: this line is not indented like the lines above it: a key here does not belong to the mapping or list before it (check the indentation)"},
		{"version: '2.0'\nwf:\n  tasks:\n    t1:\n      on-success:\n        - t2\n       - t3\n",
			"y:7:8: invalid YAML: this line is not indented like the lines above it: a key here does not belong to the mapping or list before it (check the indentation)"},
		{"a: 'unterminated\nb: 2\n", "y:1:4: invalid YAML: a single-quoted string starts here and is never closed"},
		{"a: b: c\n", "y:1:4: invalid YAML: unexpected ': ' in a value: quote the value if it holds ': '"},
		{"wf:\n  tasks:\n    t1:\n      on-success: [t2\n    t2: {}\n",
			"y:5:5: invalid YAML: a flow list [...] is not closed: a ',' or ']' is missing before this point"},
		{"a: 1\n\tb: 2\n", "y:2:1: invalid YAML: a tab character cannot indent YAML: use spaces"},
		{"a: \"x\\q\"\n", "y:1:7: invalid YAML: unknown escape sequence in a double-quoted string"},
		{"a: @x\n", "y:1:4: invalid YAML: '@' is a reserved character: quote the value"},
		// goccy places this one before yaml.v3's line; yaml.v3's line wins.
		{"a:\n  b\n c: 1\n", "y:3:2: invalid YAML: mapping values are not allowed in this context"},
		{"a: *x\n", "y:1:1: invalid YAML: unknown anchor 'x' referenced"},
		{"a: 1\n---\nb: 2\n", "y:2:1: expected a single document in the stream, but found another document"},
	}
	for _, c := range cases {
		_, err := ParseWorkflows([]byte(c.src), Options{Source: "y"})
		if err == nil || err.Error() != c.want {
			t.Errorf("%q:\n got  %v\n want %s", c.src, err, c.want)
		}
	}
}

// FuzzParseWorkbook checks that no input panics and that every result is
// either a Workbook or an ErrorList.
func FuzzParseWorkbook(f *testing.F) {
	f.Add([]byte(goodWorkbook))
	for _, s := range []string{
		"version: '2.0'\nname: x\nworkflows:\n  version: '2.0'\n  w:\n    tasks: {t: {workflow: w}}\n",
		"version: 2\nname: x\nactions:\n  a: {base: b c=[1]}\n", "name: [", "{version: 2.0, name: 1}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		wb, err := ParseWorkbook(src, Options{Source: "fuzz"})
		if err != nil {
			var el ErrorList
			if !errors.As(err, &el) || len(el) == 0 || wb != nil {
				t.Fatalf("bad error result: %T %v", err, err)
			}
			return
		}
		if wb == nil {
			t.Fatal("nil workbook without error")
		}
		for _, w := range wb.Workflows {
			if !strings.HasPrefix(w.Name, wb.Name+".") {
				t.Fatalf("workflow %q not prefixed with %q", w.Name, wb.Name)
			}
		}
	})
}

// FuzzParseActions checks that no input panics and that every result is
// either an ActionDocument or an ErrorList.
func FuzzParseActions(f *testing.F) {
	for _, s := range []string{
		"version: '2.0'\na:\n  base: std.echo output=<% $.x %>\n  input: [x, {y: 1}]\n  output: {r: <% $ %>}\n",
		"version: 1\na: {base: ' '}\n", "a: b\n", "version: '2.0'\n'': {base: x}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		doc, err := ParseActions(src, Options{Source: "fuzz"})
		if err != nil {
			var el ErrorList
			if !errors.As(err, &el) || len(el) == 0 || doc != nil {
				t.Fatalf("bad error result: %T %v", err, err)
			}
			return
		}
		if doc == nil || len(doc.Actions) == 0 {
			t.Fatal("no actions without error")
		}
	})
}
