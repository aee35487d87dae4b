package yaql

import (
	"reflect"
	"testing"
)

// Answers of python3-yaql configured as Mistral configures it (nil want
// with err: the reference fails).
func TestBranchingDefMerge(t *testing.T) {
	data := map[string]any{"a": int64(1)}
	for _, c := range []struct {
		expr string
		want any
		err  bool
	}{
		{expr: "def(f, f($)) -> f(1)", err: true},
		{expr: "def(sq, $*$) -> [1, 2, 3].select(sq($))", want: []any{int64(1), int64(4), int64(9)}},
		{expr: "def(f, $1 + $2) -> 3.f(4)", err: true},
		{expr: "def(f, $1 + $2) -> f(3, 4)", want: int64(7)},
		{expr: "call(max, [1, 5], {})", want: int64(5)},
		{expr: "selectCase(false, false)", want: int64(2)},
		{expr: "3.switchCase(a, b)", want: "b"},
		{expr: "(-1).switchCase(a, b)", want: "b"},
		{expr: "selectAllCases(false, true, 1)", want: []any{int64(1), int64(2)}},
		{expr: "examine(0, 1)", want: []any{false, true}},
		{expr: "{a => 1, b => {c => [1, 2]}}.mergeWith({b => {c => [2, 3], d => 1}})",
			want: map[string]any{"a": int64(1), "b": map[string]any{"c": []any{int64(1), int64(2), int64(3)}, "d": int64(1)}}},
		{expr: "{a => 1, b => {c => [1]}}.mergeWith({b => {c => [2]}}, maxLevels => 1)",
			want: map[string]any{"a": int64(1), "b": map[string]any{"c": []any{int64(2)}}}},
		{expr: "{a => 1}.mergeWith({a => {b => 1}})", err: true},
		{expr: "{a => 1, b => 2}.deleteAll([a, z])", want: map[string]any{"b": int64(2)}},
		{expr: "range(3).repeat(3)", want: []any{[]any{int64(0), int64(1), int64(2)}, []any{}, []any{}}},
		{expr: "range(3).repeat().take(2)", want: []any{[]any{int64(0), int64(1), int64(2)}, []any{}}},
		{expr: "dict(a => 1).items()", err: true},
		{expr: "list(dict(a => 1).items())", err: true},
		{expr: "dict(a => 1).items()[0]", err: true},
		{expr: "dict(a => 1).items().toList()", want: []any{[]any{"a", int64(1)}}},
		{expr: "dict().items()", want: []any{}},
		{expr: "len(dict(a => 1).items())", want: int64(1)},
		{expr: "str(dict(a => 1).items())", want: "ItemsView({'a': 1})"},
		{expr: "[1, [2, [3]]].flatten(1)", err: true},
	} {
		got, err := EvalString(c.expr, &Env{Data: data})
		if c.err {
			if err == nil {
				t.Errorf("%s = %#v; want an error", c.expr, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s = %#v, %v; want %#v", c.expr, got, err, c.want)
		}
	}
}
