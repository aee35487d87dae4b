package expr

import (
	"math"
	"reflect"
	"testing"
)

// The corpus (TestJinjaCorpus) holds Jinja2's answers; these cases pin
// what the corpus cannot: limits, and Python formatting details.
func TestJinjaPython(t *testing.T) {
	data := map[string]any{"a": int64(1), "l": []any{int64(3), int64(1)}, "n": nil}
	for _, c := range []struct {
		in   string
		want any
		err  bool
	}{
		{in: "{{ '%5.2f|%-4d|%#x|%r|%%' % (1.5, 2, 255, 'a') }}", want: " 1.50|2   |0xff|'a'|%"},
		{in: "{{ '%(k)s=%(v)03d' % {'k': 'x', 'v': 7} }}", want: "x=007"},
		{in: "{{ '%s %s' % (1,) }}", err: true},
		{in: "{{ '%s' % (1, 2) }}", err: true},
		{in: "x{{ (1,) }}{{ ((1, 2), [3]) }}", want: "x(1,)((1, 2), [3])"},
		{in: "{{ (1, 2) }}", want: []any{int64(1), int64(2)}},
		{in: "{{ _.n + 1 }}", err: true},
		{in: "{{ [1] < [1, 0] }}", want: true},
		{in: "{{ 7 % -2 }} {{ -7.5 // 2 }} {{ 2 ** -1 }}", want: "-1 -4.0 0.5"},
		{in: "{{ 2 ** 64 }}", err: true},
		{in: "{{ 'a' in _.a }}", err: true},
		{in: "{{ 'b' not in 'abc' }}", want: false},
		{in: "{{ [1, 2] | sum(start=10) }}", want: int64(13)},
		{in: "{{ ['b', 'A', 'c'] | sort }}", want: []any{"A", "b", "c"}},
		{in: "{{ 2.5 | round(0, 'ceil') }}", want: 3.0},
		{in: "{{ 0.125 | round(2) }}", want: 0.12},
		{in: "a {% if true %}b{% endif %} x\n  {% if true %}c{% endif %}{{ '' }}", want: "a b x\nc"},
		{in: "{{ 'a  b\\tc '.split() }}", want: []any{"a", "b", "c"}},
		{in: "{{ 1200000 | filesizeformat }}", want: "1.2 MB"},
		{in: "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", err: true},
	} {
		got, err := Eval(c.in, MistralEnv(data, nil))
		if c.err {
			if err == nil {
				t.Errorf("%s: want an error, got %#v", c.in, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s = %#v, %v; want %#v", c.in, got, err, c.want)
		}
	}
}

// A macro that calls itself stops at the depth limit with a limit error,
// rather than overflowing the stack.
func TestJinjaMacroRecursionIsLimited(t *testing.T) {
	_, err := Eval("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", MistralEnv(nil, nil))
	if !IsLimit(err) {
		t.Fatalf("want a limit error, got %v", err)
	}
}

func TestPyPercentSizeLimit(t *testing.T) {
	if _, err := pyPercent("%60000d%60000d", pyTuple{int64(1), int64(2)}, 100_000); !IsLimit(err) {
		t.Fatalf("want a limit error, got %v", err)
	}
}

// PyYAML's choices, as yaml_dump() and yaml_parse() must reproduce them;
// the answers are PyYAML's (safe_dump with default_flow_style=False,
// safe_load).
func TestPyYAMLStyles(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{"x\ny", "'x\n\n  y'\n"},
		{map[string]any{"a": []any{"p\nq"}}, "a:\n- 'p\n\n  q'\n"},
		{[]any{map[string]any{"k": "a\nb"}}, "- k: 'a\n\n    b'\n"},
		{"a,b", "a,b\n...\n"}, {"on", "'on'\n"}, {"y", "y\n...\n"}, {"yes_no", "yes_no\n...\n"},
		{"#x", "'#x'\n"}, {"a #b", "'a #b'\n"}, {"a: b", "'a: b'\n"}, {"1e3", "1e3\n...\n"},
		{"0o7", "0o7\n...\n"}, {"- x", "'- x'\n"}, {"a \nb", "\"a \\nb\"\n"}, {"trail\n", "'trail\n\n  '\n"},
		{[]any{}, "[]\n"}, {map[string]any{"x": map[string]any{}, "y": []any{}}, "x: {}\ny: []\n"},
	} {
		got, err := PyYAML(c.in)
		if err != nil || got != c.want {
			t.Errorf("yaml_dump(%#v) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	got, err := yamlParse("[on, Off, 0b101, 0x_ff, 017, 1:30, -1.5e+3, 1.5e3, .inf, ~, \"yes\", !!str yes]")
	want := []any{true, false, int64(5), int64(255), int64(15), int64(90), -1500.0, "1.5e3", math.Inf(1), nil, "yes", "yes"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("yaml_parse = %#v, %v; want %#v", got, err, want)
	}
	if _, err := yamlParse("- 99999999999999999999"); err == nil {
		t.Error("yaml_parse of an integer beyond 64 bits succeeded")
	}
}
