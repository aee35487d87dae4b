package expr

import (
	"testing"
	"time"
)

// FuzzJinja feeds arbitrary strings through the Jinja glue (detection,
// parse, render or native evaluation, Python str() printing) and the
// dispatcher: none may panic, hang past the limits, or return a value that
// is not in the JSON value model.
func FuzzJinja(f *testing.F) {
	for _, s := range []string{
		"{{ _.a }}", "x {{ _.l | join(',') }} y", "{% for i in range(3) %}{{ i }}{% endfor %}",
		"{{ json_dump(_) }}", "{{ yaml_dump(_.l) }}", "{% set x = 1 %}{{ x }}", "{{ (1, 2) }}",
		"{{ _.a if _.b else _.c }}", "{{ none | string }}", "{% include 'x' %}", "{{ _.s | center(9) }}",
		"{% macro m(x) %}{{ m(x) }}{% endmacro %}{{ m(1) }}", "{{ range(100000000) | list }}",
		"{{ '%s' % 1 }}", "{{ 'x' * 100000000 }}", "{{ '%5.2f|%-4d|%#x|%r' % (1.5, 2, 255, 'a') }}",
		"{{ _.l | pprint }}", "{{ 2 ** 62 * 4 }}", "{{ 2 ** 100 }}", "{{ (1,) + (2,) }}", "{{ -7 // 2 }}",
		"{{ cycler(1, 2).next() }}", "{{ lipsum(1000) }}", "{{ _.l | sort }}", "{{ 'a' in _.l }}",
		"{{ '%65000d%65000d' % (1, 2) }}", "{{ _.d | tojson }}", "{{ [(1, 2)] | first }}", "{{ _.d.items() | list }}", "<% $.a %> {{ 1 }}",
	} {
		f.Add(s)
	}
	data := map[string]any{"a": int64(1), "b": true, "c": "x", "s": "str", "l": []any{int64(1), "a", nil},
		"d": map[string]any{"k": []any{1.5}}}
	f.Fuzz(func(t *testing.T, s string) {
		env := MistralEnv(data, nil)
		env.Limits = Limits{Timeout: 2 * time.Second, MaxSteps: 100_000, MaxSize: 1 << 16}
		_ = Validate(s)
		v, err := Eval(s, env)
		if err != nil {
			return
		}
		if err := checkSize(v, 1<<30, 0, 1<<20); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		assertModel(t, s, v)
	})
}

// assertModel fails unless v holds only the JSON value model's types.
func assertModel(t *testing.T, s string, v any) {
	t.Helper()
	switch x := v.(type) {
	case nil, bool, int64, float64, string:
	case []any:
		for _, e := range x {
			assertModel(t, s, e)
		}
	case map[string]any:
		for _, e := range x {
			assertModel(t, s, e)
		}
	default:
		t.Fatalf("%q evaluated to a %T, outside the value model", s, v)
	}
}
