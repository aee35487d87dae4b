package expr

import (
	"reflect"
	"testing"
)

// Every value an expression returns is in the JSON model, whatever the
// evaluator held inside (Python lists, ordered dicts, views, sets,
// orderBy's iterable, the ordered dicts json_parse and yaml_parse return).
func TestResultsStayInJSONModel(t *testing.T) {
	data := map[string]any{"d": map[string]any{"b": int64(1), "a": []any{int64(2)}}, "l": []any{int64(3), int64(1)}}
	tests := []struct {
		expr string
		want any
	}{
		{`<% dict(b => {y => 1, x => [2]}, a => 'x,y'.split(',')) %>`,
			map[string]any{"b": map[string]any{"y": int64(1), "x": []any{int64(2)}}, "a": []any{"x", "y"}}},
		{`<% json_parse('{"b": [1, {"d": null}], "a": {}}') %>`,
			map[string]any{"b": []any{int64(1), map[string]any{"d": nil}}, "a": map[string]any{}}},
		{`<% [yaml_parse('b: {c: 1}'), $.d.keys().orderBy($), $.l.toSet().len(), $.d.values()] %>`,
			[]any{map[string]any{"b": map[string]any{"c": int64(1)}}, []any{"a", "b"}, int64(2), []any{[]any{int64(2)}, int64(1)}}},
		{`<% $.d.mergeWith({c => [3].insert(0, 0)}).delete(b) %>`,
			map[string]any{"a": []any{int64(2)}, "c": []any{int64(0), int64(3)}}},
		{`<% $.l.orderBy($).select({v => $}) %>`, []any{map[string]any{"v": int64(1)}, map[string]any{"v": int64(3)}}},
		{`{{ json_parse('{"b": [1, {"d": null}], "a": 1}') }}`,
			map[string]any{"b": []any{int64(1), map[string]any{"d": nil}}, "a": int64(1)}},
		{`{{ yaml_parse('b: {c: 1}\na: [x]') }}`, map[string]any{"b": map[string]any{"c": int64(1)}, "a": []any{"x"}}},
	}
	for _, tt := range tests {
		got, err := Eval(tt.expr, MistralEnv(data, nil))
		if err != nil {
			t.Errorf("%s: %v", tt.expr, err)
			continue
		}
		if bad := outsideJSONModel(got, 0); bad != nil {
			t.Errorf("%s = %#v: %T is not in the JSON model", tt.expr, got, bad)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s = %#v, want %#v", tt.expr, got, tt.want)
		}
	}
}

// outsideJSONModel returns the first value inside v that is not nil, bool,
// int64, float64, string, []any or map[string]any, or nil.
func outsideJSONModel(v any, depth int) any {
	if depth > 1000 {
		return nil
	}
	switch x := v.(type) {
	case nil, bool, int64, float64, string:
		return nil
	case []any:
		for _, e := range x {
			if b := outsideJSONModel(e, depth+1); b != nil {
				return b
			}
		}
		return nil
	case map[string]any:
		for _, e := range x {
			if b := outsideJSONModel(e, depth+1); b != nil {
				return b
			}
		}
		return nil
	}
	return v
}
