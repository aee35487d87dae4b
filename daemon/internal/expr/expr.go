// Package expr evaluates the expressions embedded in Mistral workflow
// values: a string holding YAQL `<% ... %>` or Jinja `{{ ... }}` /
// `{% ... %}`, or a whole tree of maps and lists holding such strings. It
// implements the rules of Mistral's InlineYAQLEvaluator (on top of package
// yaql) and InlineJinjaEvaluator (on top of gonja), Mistral's expression
// functions (MistralFuncs), and the limits every evaluation runs under.
//
// As in Mistral, a string that holds Jinja is Jinja even when it also
// holds `<% %>`; Validate refuses such a mix, as Mistral's validation does.
package expr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/sirocco-wf/sirocco/daemon/internal/expr/yaql"
)

// Func is a host function callable from YAQL as name(args). The engine
// registers Mistral's functions (task, execution, env, ...). Arguments are
// evaluated before the call; in method form `x.name(a)` the receiver comes
// first, so the function sees (x, a).
type Func func(args ...any) (any, error)

// Env is what an expression can see.
type Env struct {
	Data  any             // the value of `$` (usually map[string]any)
	Funcs map[string]Func // host functions; they shadow yaql built-ins of the same name
	// FuncParams names host function parameters for keyword arguments
	// (MistralParams for Mistral's functions).
	FuncParams map[string][]string
	// Limits bound each evaluation; zero fields take DefaultLimits.
	Limits Limits
	// View, when set, is the context view Data was merged from (Data is
	// View.Merged()): an expression of a workflow, whose failure is worded
	// as Mistral words it (*MistralError), and whose Jinja `_` is Mistral's
	// ContextView.
	View ContextView

	host MistralHost // set by MistralEnv; Jinja's filters bind to it
}

// Limits bound one evaluation of one string (both languages), so that a
// hostile or careless expression can neither spin nor allocate without
// end. Zero fields take DefaultLimits.
type Limits struct {
	// Timeout is the wall-clock budget of one evaluation.
	Timeout time.Duration
	// MaxSteps bounds evaluation work: YAQL node visits and per-item work
	// of built-ins; Jinja range() items, writes and function calls.
	MaxSteps int
	// MaxSize bounds a produced string (bytes), list or dict (elements).
	MaxSize int
	// MaxDepth bounds the nesting of a produced value and of YAQL's
	// evaluation recursion.
	MaxDepth int
}

// DefaultLimits are generous for workflow data and small for an attacker:
// a million steps take well under a second.
var DefaultLimits = Limits{Timeout: 5 * time.Second, MaxSteps: 1_000_000, MaxSize: 1 << 20, MaxDepth: 256}

// MistralEnv is the Env of a Mistral workflow expression: data as `$` (and
// Jinja's `_`) and Mistral's functions bound to host.
func MistralEnv(data any, host MistralHost) *Env {
	return &Env{Data: data, Funcs: MistralFuncs(host, data), FuncParams: MistralParams, host: host}
}

// Error is the error type of this package: the expression, the byte offset
// inside it and a message. It is yaql's error type, so both packages'
// errors assert to *expr.Error.
type Error = yaql.Error

// segment is one `<% ... %>` found in a string.
type segment struct {
	start, end int    // byte offsets of "<%" and just past "%>"
	expr       string // the text between, trimmed as Mistral trims it
	offset     int    // byte offset of expr inside the original string
}

// findExprs finds `<% ... %>` the way Mistral's pattern '<%.*?%>' does: the
// shortest match, and never across a newline (Python's '.' does not match
// "\n"), so an expression that spans lines is left as text, as in Mistral.
func findExprs(s string) []segment {
	var out []segment
	i := 0
	for {
		j := strings.Index(s[i:], "<%")
		if j < 0 {
			return out
		}
		start := i + j
		k := strings.Index(s[start+2:], "%>")
		nl := strings.IndexByte(s[start+2:], '\n')
		if k < 0 {
			return out
		}
		if nl >= 0 && nl < k {
			i = start + 1 // try the next "<%" after this one
			continue
		}
		end := start + 2 + k + 2
		raw := s[start:end]
		// Mistral: expr.strip("<%>") strips those characters from both ends.
		lead := len(raw) - len(strings.TrimLeft(raw, "<%>"))
		inner := strings.Trim(raw, "<%>")
		out = append(out, segment{start: start, end: end, expr: inner, offset: start + lead})
		i = end
	}
}

// HasExpr reports whether s contains an expression, YAQL or Jinja.
func HasExpr(s string) bool { return IsJinja(s) || len(findExprs(s)) > 0 }

// orderedArgs are the functions that print a dict in its key order
// (json.dumps keeps insertion order); they receive the dicts a YAQL
// expression builds as yaql.OrderedDict. yaml_dump sorts keys, as PyYAML does.
var orderedArgs = map[string]bool{"json_dump": true, "json_pp": true}

func (e *Env) yaqlEnv() *yaql.Env {
	ye := &yaql.Env{}
	if e == nil {
		return ye
	}
	ye.Data = e.Data
	ye.FuncParams = e.FuncParams
	ye.OrderedArgs = orderedArgs
	if len(e.Funcs) > 0 {
		ye.Funcs = make(map[string]yaql.HostFunc, len(e.Funcs))
		for k, f := range e.Funcs {
			ye.Funcs[k] = yaql.HostFunc(f)
		}
		if f, ok := e.Funcs["json_pp"]; ok {
			ye.Funcs["json_pp"] = yaqlJSONPP(f)
		}
	}
	return ye
}

// boundedYaqlEnv is yaqlEnv with the limits of one evaluation, its
// deadline starting now.
func (e *Env) boundedYaqlEnv() *yaql.Env {
	ye := e.yaqlEnv()
	lim := e.limits()
	ye.Limits = yaql.Limits{MaxSteps: lim.MaxSteps, MaxSize: lim.MaxSize, MaxDepth: lim.MaxDepth}
	if lim.Timeout > 0 {
		ye.Limits.Deadline = time.Now().Add(lim.Timeout)
	}
	return ye
}

// yaqlJSONPP is json_pp as YAQL sees it in Mistral: yaql hands Mistral's
// json_pp(context, data=None) its own context object, so json_pp() without
// data (or with false data: `data or context`) prints yaql's context,
// which refers to itself, and fails.
func yaqlJSONPP(f Func) yaql.HostFunc {
	return func(args ...any) (any, error) {
		if len(args) == 0 || !yaql.Truthy(args[0]) {
			return nil, errors.New("YAQL passes its context object, which json cannot print: ValueError: Circular reference detected")
		}
		return f(args...)
	}
}

// Eval evaluates one string. A string that is exactly one `<% expr %>`
// yields the raw value; otherwise each expression is replaced by its value
// rendered as Python's str() would (None, True, [1, 'a'], {'k': 1}), as
// Mistral does. A string without expressions is returned unchanged.
//
// A string holding Jinja is evaluated as Jinja (see jinja.go).
func Eval(s string, env *Env) (any, error) {
	v, err := eval(s, env)
	if err == nil {
		if ferr := finite(v); ferr != nil {
			err = &Error{Expr: s, Kind: yaql.EvalError, Msg: ferr.Error()}
		}
	}
	if err != nil {
		return nil, inView(err, env)
	}
	return v, nil
}

// inView words err as Mistral does when env carries the context view
// Mistral would print, so every entry point fails with the same text.
func inView(err error, env *Env) error {
	if env != nil && env.View != nil {
		return mistralError(err, env.View)
	}
	return err
}

// EvalStr evaluates s and renders the value as Python's str(), as Mistral
// shows a value in a message (an engine command's msg): unlike Eval, whose
// dicts are plain maps, the dicts of a YAQL result keep the order the
// expression or host function built them in, as Python's do.
func EvalStr(s string, env *Env) (string, error) {
	if !IsJinja(s) {
		segs := findExprs(s)
		if len(segs) == 1 && segs[0].start == 0 && segs[0].end == len(s) {
			out, err := yaql.EvalText(strings.TrimSpace(segs[0].expr), env.boundedYaqlEnv())
			if err != nil {
				return "", inView(err, env)
			}
			return out, nil
		}
	}
	v, err := Eval(s, env)
	if err != nil {
		return "", err
	}
	return pyStr(v), nil
}

// finite refuses NaN and ±Inf anywhere in v. Both languages can compute
// them (float('inf'), 1e308 * 10), but JSON cannot hold them, so such a
// value could never be stored or sent: better an error that names the
// expression now than a state that cannot be written.
func finite(v any) error {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("the result holds %v, which JSON cannot represent", x)
		}
	case map[string]any:
		for _, e := range x {
			if err := finite(e); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range x {
			if err := finite(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func eval(s string, env *Env) (any, error) {
	if IsJinja(s) {
		return evalJinja(s, env)
	}
	segs := findExprs(s)
	if len(segs) == 0 {
		return s, nil
	}
	ye := env.boundedYaqlEnv()
	if len(segs) == 1 && segs[0].start == 0 && segs[0].end == len(s) {
		return evalOne(segs[0], ye)
	}
	var b strings.Builder
	last := 0
	for _, sg := range segs {
		// Mistral inserts str() of yaql's result, which keeps dict order
		// and prints sets and datetimes as Python does.
		text, err := yaql.EvalText(strings.TrimSpace(sg.expr), ye)
		if err != nil {
			return nil, err
		}
		b.WriteString(s[last:sg.start])
		b.WriteString(text)
		if ye.Limits.MaxSize > 0 && b.Len() > ye.Limits.MaxSize {
			return nil, &Error{Kind: yaql.LimitError, Expr: s, Msg: fmt.Sprintf("the string exceeds the size limit of %d", ye.Limits.MaxSize)}
		}
		last = sg.end
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

func evalOne(sg segment, ye *yaql.Env) (any, error) {
	src := strings.TrimSpace(sg.expr)
	v, err := yaql.EvalString(src, ye)
	if err != nil {
		return nil, err
	}
	if _, ok := v.(*yaql.Scope); ok {
		return nil, &Error{Kind: yaql.EvalError, Expr: src, Msg: "the result is a context (from let()), not a value"}
	}
	if err := checkSize(v, ye.Limits.MaxSize, 0, ye.Limits.MaxDepth); err != nil {
		return nil, &Error{Kind: yaql.LimitError, Expr: src, Msg: err.Error(), Err: err}
	}
	return v, nil
}

// EvalData evaluates every string in a tree of maps and lists, as Mistral's
// evaluate_recursively: map values and list items are evaluated, map keys
// are not. The input is not modified; a new tree is returned.
func EvalData(v any, env *Env) (any, error) {
	switch x := v.(type) {
	case string:
		return Eval(x, env)
	case map[string]any:
		// In key order, so that of two failing values the same one is
		// reported every time (Mistral goes in the definition's order,
		// which the value model does not keep).
		out := make(map[string]any, len(x))
		for _, k := range sortedKeys(x) {
			r, err := EvalData(x[k], env)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := EvalData(e, env)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

// Validate checks the syntax of every expression in s without evaluating
// it, for workflow validation at upload time. As in Mistral, one string
// may not mix Jinja and YAQL.
func Validate(s string) error {
	if IsJinja(s) {
		if len(findExprs(s)) > 0 {
			return &JinjaError{Expr: s, Syntax: true, Msg: "the line already contains an expression of type 'jinja'; mixing expression types in a single line is not allowed"}
		}
		return validateJinja(s)
	}
	for _, sg := range findExprs(s) {
		if _, err := yaql.Parse(strings.TrimSpace(sg.expr)); err != nil {
			return err
		}
	}
	return nil
}

// FromJSON decodes JSON into the value model: integers become int64, other
// numbers float64, so that YAQL integer arithmetic stays exact.
func FromJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode JSON: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("decode JSON: trailing data after the value")
	}
	return fromNumbers(v)
}

func fromNumbers(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		s := x.String()
		if !strings.ContainsAny(s, ".eE") {
			if n, err := x.Int64(); err == nil {
				return n, nil
			}
		}
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("decode JSON number %s: %w", s, err)
		}
		return f, nil
	case map[string]any:
		for k, e := range x {
			r, err := fromNumbers(e)
			if err != nil {
				return nil, err
			}
			x[k] = r
		}
		return x, nil
	case []any:
		for i, e := range x {
			r, err := fromNumbers(e)
			if err != nil {
				return nil, err
			}
			x[i] = r
		}
		return x, nil
	}
	return v, nil
}

// checkSize refuses a result nested deeper than maxDepth or holding a
// container larger than maxSize, so that what an evaluation returns can be
// stored and printed.
func checkSize(v any, maxSize, depth, maxDepth int) error {
	if depth > maxDepth {
		return &LimitExceeded{What: fmt.Sprintf("result nested deeper than %d levels", maxDepth)}
	}
	switch x := v.(type) {
	case string:
		if len(x) > maxSize {
			return &LimitExceeded{What: fmt.Sprintf("string of %d bytes exceeds the size limit of %d", len(x), maxSize)}
		}
	case []any:
		if len(x) > maxSize {
			return &LimitExceeded{What: fmt.Sprintf("list of %d items exceeds the size limit of %d", len(x), maxSize)}
		}
		for _, e := range x {
			if err := checkSize(e, maxSize, depth+1, maxDepth); err != nil {
				return err
			}
		}
	case map[string]any:
		if len(x) > maxSize {
			return &LimitExceeded{What: fmt.Sprintf("dict of %d items exceeds the size limit of %d", len(x), maxSize)}
		}
		for _, e := range x {
			if err := checkSize(e, maxSize, depth+1, maxDepth); err != nil {
				return err
			}
		}
	}
	return nil
}

// IsLimit reports whether err comes from an evaluation that ran past its
// limits, in either language.
func IsLimit(err error) bool {
	var le *LimitExceeded
	if errors.As(err, &le) {
		return true
	}
	var ye *Error
	return errors.As(err, &ye) && ye.Kind == yaql.LimitError
}

// Truthy is Python's truth test on the value model: what a transition guard
// or a boolean task key given as an expression means.
func Truthy(v any) bool { return yaql.Truthy(v) }
