package expr

import (
	"errors"
	"testing"

	"github.com/sirocco-wf/sirocco/daemon/internal/expr/yaql"
)

func TestContextViewRepr(t *testing.T) {
	task := Layer(map[string]any{"__task_execution": map[string]any{"name": "t1", "id": "x"}})
	env := Layer(map[string]any{"__env": map[string]any{}})
	wf := Layer(map[string]any{"zeta": int64(1), "Alpha": "a", "__execution": map[string]any{"id": "e"}}, "__execution")
	for _, c := range []struct {
		name string
		view ContextView
		want string
	}{
		{"empty", ContextView{}, "{}"},
		{"one empty dict", ContextView{Layer(nil)}, "{}"},
		// The recorded Mistral text for an action input: task, env,
		// extra context, inbound context, execution context, input.
		{"task input", ContextView{task, env, Layer(nil), Layer(nil), wf, Layer(map[string]any{"var": int64(2)})},
			"{'__task_execution': {'id': 'x', 'name': 't1'}, '__env': {}, , , '__execution': {'id': 'e'}, 'Alpha': 'a', 'zeta': 1, 'var': 2}"},
		{"values as Python prints them", ContextView{Layer(map[string]any{"l": []any{int64(1), "a", nil, true, 2.5}, "q": "it's"})},
			`{'l': [1, 'a', None, True, 2.5], 'q': "it's"}`},
	} {
		if got := c.view.Repr(); got != c.want {
			t.Errorf("%s: Repr() = %s, want %s", c.name, got, c.want)
		}
	}
}

func TestContextViewMerged(t *testing.T) {
	v := ContextView{
		Layer(map[string]any{"a": "first"}),
		Layer(map[string]any{"a": "second", "b": "second"}),
		Layer(map[string]any{"c": "third"}),
	}
	got := v.Merged()
	want := map[string]any{"a": "first", "b": "second", "c": "third"}
	if len(got) != len(want) {
		t.Fatalf("Merged() = %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("Merged()[%q] = %v, want %v", k, got[k], w)
		}
	}
}

// TestMistralErrorText checks the whole message of a failed expression
// against texts Mistral 15 wrote for the same expressions (the conformance
// recordings), in the view of a task's input.
func TestMistralErrorText(t *testing.T) {
	view := ContextView{
		Layer(map[string]any{"__task_execution": map[string]any{"id": "T", "name": "task1"}}),
		Layer(map[string]any{"__env": map[string]any{}}),
		Layer(nil),
		Layer(nil),
		Layer(map[string]any{"__execution": map[string]any{"id": "E"}}, "__execution"),
		Layer(map[string]any{"var": int64(2), "my_dict": []any{map[string]any{"id": int64(1), "value": int64(11)}}, "s": "text"}),
	}
	const data = "{'__task_execution': {'id': 'T', 'name': 'task1'}, '__env': {}, , , '__execution': {'id': 'E'}, 'my_dict': [{'id': 1, 'value': 11}], 's': 'text', 'var': 2}"
	for _, c := range []struct{ expr, want string }{
		{"<% wrong(yaql) %>", `Can not evaluate YAQL expression [expression=wrong(yaql), error=Unknown function "wrong", data=` + data + "]"},
		{"<%  $.var + $.var2 %>", "Can not evaluate YAQL expression [expression=$.var + $.var2, error='var2', data=" + data + "]"},
		{"<% $.my_dict.where($.value = 13).id.first() %>", "Can not evaluate YAQL expression [expression=$.my_dict.where($.value = 13).id.first(), error=, data=" + data + "]"},
		{"<% $.s < 3 %>", `Can not evaluate YAQL expression [expression=$.s < 3, error=No function "#operator_<" matches supplied arguments, data=` + data + "]"},
		{"<% $.s['key-1'] = 15 %>", `Can not evaluate YAQL expression [expression=$.s['key-1'] = 15, error=No function "#indexer" matches supplied arguments, data=` + data + "]"},
		{"<% $.var.name %>", `Can not evaluate YAQL expression [expression=$.var.name, error=Unknown function "#property#name", data=` + data + "]"},
		{"a <% $.nope %> b", "Can not evaluate YAQL expression [expression=$.nope, error='nope', data=" + data + "]"},
		{"{{ _.invalid_var }}", "Can not evaluate Jinja expression [expression={{ _.invalid_var }}, error='mistral.workflow.data_flow.ContextView object' has no attribute 'invalid_var', data=" + data + "]"},
		{"!! {{ _.nonexistent_variable }} !!\n", "Can not evaluate Jinja expression [expression=!! {{ _.nonexistent_variable }} !!\n, error='mistral.workflow.data_flow.ContextView object' has no attribute 'nonexistent_variable', data=" + data + "]"},
		{"{{ (_.my_dict|some_invalid_filter).id }}", "Can not evaluate Jinja expression [expression={{ (_.my_dict|some_invalid_filter).id }}, error=No filter named 'some_invalid_filter'., data=" + data + "]"},
		{"{{ _.my_dict[0].nope }}", "Can not evaluate Jinja expression [expression={{ _.my_dict[0].nope }}, error='dict object' has no attribute 'nope', data=" + data + "]"},
		{"{{ _.my_dict[5] }}", "Can not evaluate Jinja expression [expression={{ _.my_dict[5] }}, error=list object has no element 5, data=" + data + "]"},
		{"{{ _['zz'] }}", "Can not evaluate Jinja expression [expression={{ _['zz'] }}, error='mistral.workflow.data_flow.ContextView object' has no attribute 'zz', data=" + data + "]"},
	} {
		env := MistralEnv(view.Merged(), nil)
		env.View = view
		_, err := Eval(c.expr, env)
		var me *MistralError
		if !errors.As(err, &me) {
			t.Errorf("%q: got %v, want a *MistralError", c.expr, err)
			continue
		}
		if got := err.Error(); got != c.want {
			t.Errorf("%q:\n got %s\nwant %s", c.expr, got, c.want)
		}
		// Our own error, with the position, stays reachable.
		var ye *yaql.Error
		var je *JinjaError
		if !errors.As(err, &ye) && !errors.As(err, &je) {
			t.Errorf("%q: %v does not unwrap to the expression's own error", c.expr, err)
		}
		// An engine command's msg is evaluated by EvalStr: it fails the same way.
		if _, err := EvalStr(c.expr, env); err == nil || err.Error() != c.want {
			t.Errorf("EvalStr(%q):\n got %v\nwant %s", c.expr, err, c.want)
		}
	}
}

// TestEvalWithoutView keeps Sirocco's own errors where no view is given.
func TestEvalWithoutView(t *testing.T) {
	_, err := Eval("<% $.nope %>", MistralEnv(map[string]any{}, nil))
	var me *MistralError
	if err == nil || errors.As(err, &me) {
		t.Fatalf("Eval without a view: %v, want Sirocco's own error", err)
	}
	if got, want := PythonError(err), "KeyError: 'nope'"; got != want {
		t.Errorf("PythonError = %q, want %q", got, want)
	}
}
