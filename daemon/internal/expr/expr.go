// Package expr evaluates the YAQL expressions embedded in Mistral workflow
// values: a string holding `<% ... %>`, or a whole tree of maps and lists
// holding such strings. It implements the rules of Mistral's
// InlineYAQLEvaluator on top of package yaql.
package expr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

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

// HasExpr reports whether s contains a YAQL expression.
func HasExpr(s string) bool { return len(findExprs(s)) > 0 }

func (e *Env) yaqlEnv() *yaql.Env {
	ye := &yaql.Env{}
	if e == nil {
		return ye
	}
	ye.Data = e.Data
	if len(e.Funcs) > 0 {
		ye.Funcs = make(map[string]yaql.HostFunc, len(e.Funcs))
		for k, f := range e.Funcs {
			ye.Funcs[k] = yaql.HostFunc(f)
		}
	}
	return ye
}

// Eval evaluates one string. A string that is exactly one `<% expr %>`
// yields the raw value; otherwise each expression is replaced by its value
// rendered as Python's str() would (None, True, [1, 'a'], {'k': 1}), as
// Mistral does. A string without expressions is returned unchanged.
func Eval(s string, env *Env) (any, error) {
	segs := findExprs(s)
	if len(segs) == 0 {
		return s, nil
	}
	ye := env.yaqlEnv()
	if len(segs) == 1 && segs[0].start == 0 && segs[0].end == len(s) {
		return evalOne(segs[0], ye)
	}
	var b strings.Builder
	last := 0
	for _, sg := range segs {
		v, err := evalOne(sg, ye)
		if err != nil {
			return nil, err
		}
		b.WriteString(s[last:sg.start])
		b.WriteString(yaql.PyStr(v))
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
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := EvalData(e, env)
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

// Validate checks the syntax of every `<% %>` in s without evaluating it,
// for workflow validation at upload time.
func Validate(s string) error {
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
