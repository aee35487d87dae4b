package expr

import (
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
