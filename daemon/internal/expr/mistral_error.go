package expr

import (
	"errors"
	"regexp"
	"sort"
	"strings"

	"github.com/sirocco-wf/sirocco/daemon/internal/expr/yaql"
)

// ContextView is Mistral's data_flow.ContextView: the dicts an expression
// of a workflow sees (the current task, the environment, the task's
// inbound context, the execution's context, the input, ...), looked up in
// order, the first that holds a key giving its value. Which dicts, in
// which order, depends on where Mistral evaluates the expression, and
// shows in its error messages, which print the view (see MistralError).
type ContextView []yaql.OrderedDict

// Layer is one dict of a ContextView: the keys named in first (those
// present) come first, in that order, the others sorted. The value model
// keeps no key order, so sorted is the closest to Python's insertion
// order that can be defined; first places the keys whose place Mistral
// fixes (__execution leads the execution's context).
func Layer(m map[string]any, first ...string) yaql.OrderedDict {
	d := yaql.OrderedDict{Keys: make([]string, 0, len(m)), Map: m}
	if d.Map == nil {
		d.Map = map[string]any{}
	}
	seen := make(map[string]bool, len(first))
	for _, k := range first {
		if _, ok := m[k]; ok && !seen[k] {
			d.Keys = append(d.Keys, k)
			seen[k] = true
		}
	}
	rest := make([]string, 0, len(m))
	for k := range m {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	d.Keys = append(d.Keys, rest...)
	return d
}

// Merged is the view as one map, each key taking its value from the first
// dict that holds it: the data an expression is evaluated on. The map is
// new; the values are shared with the view's dicts.
func (v ContextView) Merged() map[string]any {
	n := 0
	for _, d := range v {
		n += len(d.Map)
	}
	out := make(map[string]any, n)
	for i := len(v) - 1; i >= 0; i-- {
		for k, e := range v[i].Map {
			out[k] = e
		}
	}
	return out
}

// Repr is ContextView.__repr__: "{" + ", ".join(str(d)[1:-1] for d in
// dicts) + "}". An empty dict leaves an empty item, so a view of a task
// with no inbound context prints "{..., '__env': {}, , , ...}".
func (v ContextView) Repr() string {
	parts := make([]string, len(v))
	for i, d := range v {
		s := yaql.PyRepr(d)
		parts[i] = s[1 : len(s)-1]
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// MistralError is a failed expression as Mistral 15 reports it (its
// YaqlEvaluationException and JinjaEvaluationException), which is the
// text users see in a task's and an execution's state info: the
// expression, the Python exception's text and the context view the
// expression was evaluated in. Err is Sirocco's own error, which names the
// position inside the expression.
type MistralError struct {
	Jinja bool
	// Expr is the expression as Mistral quotes it: a YAQL expression
	// without "<% %>" and surrounding blanks, a Jinja string whole.
	Expr string
	// Cause is str() of the Python exception (Sirocco's own words where
	// the exception is not modelled).
	Cause string
	// Data is the context view's repr.
	Data string
	Err  error
}

func (e *MistralError) Error() string {
	lang := "YAQL"
	if e.Jinja {
		lang = "Jinja"
	}
	return "Can not evaluate " + lang + " expression [expression=" + e.Expr + ", error=" + e.Cause + ", data=" + e.Data + "]"
}

// Unwrap exposes Sirocco's error, with the position.
func (e *MistralError) Unwrap() error { return e.Err }

// PythonError is the Python exception the reference raises for a failed
// expression, as "Type: str(exception)" ("KeyError: 'a'"; Mistral's own
// for a *MistralError), or "" when err is not an expression error or the
// exception is not modelled.
func PythonError(err error) string {
	var me *MistralError
	if errors.As(err, &me) {
		if me.Jinja {
			return "JinjaEvaluationException: " + me.Error()
		}
		return "YaqlEvaluationException: " + me.Error()
	}
	var ye *yaql.Error
	if errors.As(err, &ye) {
		return ye.Python()
	}
	var je *JinjaError
	if errors.As(err, &je) {
		return je.Python()
	}
	return ""
}

// mistralError words err, an error of an expression evaluated in view, as
// Mistral does; an error of another kind is returned as it is.
func mistralError(err error, view ContextView) error {
	var me *MistralError
	if errors.As(err, &me) {
		return err
	}
	out := &MistralError{Data: view.Repr(), Err: err}
	var ye *yaql.Error
	var je *JinjaError
	switch {
	case errors.As(err, &je):
		out.Jinja, out.Expr, out.Cause = true, je.Expr, je.Msg
	case errors.As(err, &ye):
		out.Expr, out.Cause = ye.Expr, ye.Msg
	default:
		return err
	}
	if py := PythonError(err); py != "" {
		_, out.Cause, _ = strings.Cut(py, ": ")
	}
	return out
}

// gonja's words for a filter or test that does not exist, which Jinja2
// refuses when it compiles the template.
var (
	noFilterRe = regexp.MustCompile(`filter '([^']*)' not found`)
	noTestRe   = regexp.MustCompile(`test '([^']*)' not found`)
)

// Python is the exception Jinja2 raises, as "Type: message", when the
// error's text names it (the Python-typed filters and operators word
// their errors so); "" when unknown.
func (e *JinjaError) Python() string {
	if e.Py != "" {
		return e.Py
	}
	if e.Syntax {
		return ""
	}
	// gonja wraps errors as "outer: inner": the innermost, at the end,
	// is the filter's or operator's, worded as Python's.
	if loc := yaql.PyExcRe.FindStringIndex(e.Msg); loc != nil {
		return e.Msg[loc[0]:]
	}
	if m := noFilterRe.FindStringSubmatch(e.Msg); m != nil {
		return "TemplateAssertionError: No filter named '" + m[1] + "'."
	}
	if m := noTestRe.FindStringSubmatch(e.Msg); m != nil {
		return "TemplateAssertionError: No test named '" + m[1] + "'."
	}
	return ""
}
