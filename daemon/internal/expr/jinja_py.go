package expr

import (
	"errors"
	"fmt"
	"html"
	"math"
	"math/rand/v2"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/parser"
	"github.com/nikolalohinski/gonja/v2/tokens"

	"github.com/sirocco-wf/sirocco/daemon/internal/expr/yaql"
)

// Jinja2's filters, tests' helpers and methods as Python computes them,
// where gonja's differ in a way a workflow can see: Python's str() and
// repr() of values, errors where Python raises (an empty sequence through
// first, None through string arithmetic), pprint's and json.dumps'
// spacing, Python's rounding. Each replaces gonja's filter of the same
// name in jinjaEnvironment.

// pyValue converts a gonja value into the value model, keeping tuples.
func pyValue(v *exec.Value) (any, error) {
	return pyValueDepth(v, 0)
}

func pyValueDepth(v *exec.Value, depth int) (any, error) {
	if depth > 10_000 {
		return nil, errors.New("value nested too deeply")
	}
	if v == nil || v.IsNil() {
		return nil, nil
	}
	if v.IsError() {
		return nil, errors.New(v.Error())
	}
	switch x := v.Interface().(type) {
	case pyTuple:
		return x, nil
	case nil, bool, int64, float64, string:
		return x, nil
	case []any, map[string]any:
		if n, err := yaql.Normalize(x); err == nil && !hasTuple(x, 0) {
			return n, nil
		}
	}
	switch {
	case v.IsBool():
		return v.Bool(), nil
	case v.IsFloat():
		return v.Float(), nil
	case v.IsInteger():
		return int64(v.Integer()), nil
	case v.IsString():
		return v.String(), nil
	case v.IsList():
		out := []any{}
		var err error
		v.Iterate(func(_, _ int, e, _ *exec.Value) bool {
			var x any
			if x, err = pyValueDepth(e, depth+1); err != nil {
				return false
			}
			out = append(out, x)
			return true
		}, func() {})
		return out, err
	case v.IsDict():
		out := map[string]any{}
		var err error
		v.Iterate(func(_, _ int, k, e *exec.Value) bool {
			if !k.IsString() {
				err = fmt.Errorf("dict key %s is not a string", k.String())
				return false
			}
			var x any
			if x, err = pyValueDepth(e, depth+1); err != nil {
				return false
			}
			out[k.String()] = x
			return true
		}, func() {})
		return out, err
	}
	g := v.ToGoSimpleType(false)
	if err, ok := g.(error); ok {
		return nil, err
	}
	return yaql.Normalize(g)
}

// pyArgs binds a filter's arguments to Python parameter names, as a call
// of def f(value, names...) would.
func pyArgs(name string, params *exec.VarArgs, names ...string) (map[string]any, error) {
	out := map[string]any{}
	if len(params.Args) > len(names) {
		return nil, fmt.Errorf("TypeError: %s() takes at most %d arguments (%d given)", name, len(names)+1, len(params.Args)+1)
	}
	for i, a := range params.Args {
		v, err := pyValue(a)
		if err != nil {
			return nil, err
		}
		out[names[i]] = v
	}
	for k, a := range params.KwArgs {
		ok := false
		for _, n := range names {
			ok = ok || n == k
		}
		if !ok {
			return nil, fmt.Errorf("TypeError: %s() got an unexpected keyword argument '%s'", name, k)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("TypeError: %s() got multiple values for argument '%s'", name, k)
		}
		v, err := pyValue(a)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// pyFilter adapts a filter on model values to gonja; an error of the input
// or of an argument passes through.
func pyFilter(name string, names []string, f func(js *jinjaState, in any, args map[string]any) (any, error)) exec.FilterFunction {
	return func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		if in.IsError() {
			return in
		}
		v, err := pyValue(in)
		if err != nil {
			return exec.AsValue(err)
		}
		args, err := pyArgs(name, params, names...)
		if err != nil {
			return exec.AsValue(err)
		}
		js := stateOf(e)
		if js != nil {
			if err := js.charge(1 + sizeOf(v)); err != nil {
				return exec.AsValue(err)
			}
		}
		out, err := f(js, v, args)
		if err != nil {
			var le *LimitExceeded
			if js != nil && errors.As(err, &le) {
				js.limit = le
			}
			return exec.AsValue(err)
		}
		if s, ok := out.(safeString); ok {
			return exec.AsSafeValue(string(s))
		}
		return exec.AsValue(out)
	}
}

// safeString is a filter result Jinja2 marks as Markup (safe, tojson).
type safeString string

func sizeOf(v any) int {
	switch x := v.(type) {
	case []any:
		return len(x)
	case pyTuple:
		return len(x)
	case map[string]any:
		return len(x)
	case string:
		return len(x) / 64
	}
	return 0
}

func maxSizeOf(js *jinjaState) int {
	if js != nil {
		return js.lim.MaxSize
	}
	return DefaultLimits.MaxSize
}

func argOr(args map[string]any, name string, dflt any) any {
	if v, ok := args[name]; ok {
		return v
	}
	return dflt
}

// pyIter is Python's iteration of a value: a string's characters, a
// list's or tuple's items, a dict's keys in the model's (sorted) order.
func pyIter(v any) ([]any, error) {
	switch x := v.(type) {
	case string:
		out := make([]any, 0, len(x))
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, nil
	case []any:
		return x, nil
	case pyTuple:
		return x, nil
	case map[string]any:
		keys := sortedKeys(x)
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = k
		}
		return out, nil
	}
	return nil, fmt.Errorf("TypeError: '%s' object is not iterable", pyType(v))
}

// attrGetter is Jinja's make_attrgetter: a dotted path of dict keys and
// list indexes; a missing one is StrictUndefined, an error once used.
func attrGetter(attr any, lower bool) func(v any) (any, error) {
	var parts []string
	switch a := attr.(type) {
	case nil:
	case string:
		parts = strings.Split(a, ".")
	case int64:
		parts = []string{strconv.FormatInt(a, 10)}
	}
	return func(v any) (any, error) {
		for _, p := range parts {
			switch x := v.(type) {
			case map[string]any:
				e, ok := x[p]
				if !ok {
					return nil, fmt.Errorf("UndefinedError: 'dict object' has no attribute '%s'", p)
				}
				v = e
				continue
			case []any, pyTuple:
				l, _ := pyIter(x)
				if i, err := strconv.Atoi(p); err == nil && i >= 0 && i < len(l) {
					v = l[i]
					continue
				}
			}
			return nil, fmt.Errorf("UndefinedError: '%s object' has no attribute '%s'", pyType(v), p)
		}
		if s, ok := v.(string); ok && lower {
			return strings.ToLower(s), nil
		}
		return v, nil
	}
}

var (
	titleSplit = regexp.MustCompile(`[-\s({\[<]+`)
	wordRe     = regexp.MustCompile(`[\p{L}\p{N}_]+`)
)

// pyTitle is Jinja's title filter: every word's first character upper,
// the rest lower, words starting after whitespace, -, (, {, [ or <.
func pyTitle(s string) string {
	var b strings.Builder
	cap1 := func(w string) {
		if w == "" {
			return
		}
		r, n := utf8.DecodeRuneInString(w)
		b.WriteString(strings.ToUpper(string(r)))
		b.WriteString(strings.ToLower(w[n:]))
	}
	last := 0
	for _, m := range titleSplit.FindAllStringIndex(s, -1) {
		cap1(s[last:m[0]])
		cap1(s[m[0]:m[1]])
		last = m[1]
	}
	cap1(s[last:])
	return b.String()
}

// pyRound is Python's round(x, n) on a float: the nearest decimal with n
// digits of the exact binary value, ties to even.
func pyRound(f float64, n int64) float64 {
	if math.IsInf(f, 0) || math.IsNaN(f) || n > 400 {
		return f
	}
	if n < 0 {
		p := math.Pow(10, float64(-n))
		return math.RoundToEven(f/p) * p
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', int(n), 64), 64)
	return r
}

// pformat is Python's pprint.pformat(v) (width 80, sorted dict keys).
func pformat(v any) string {
	var b strings.Builder
	pformatTo(&b, v, 0, 0, 0)
	return b.String()
}

func pformatTo(b *strings.Builder, v any, indent, allowance, depth int) {
	rep := pyReprOf(v)
	if utf8.RuneCountInString(rep) <= 80-indent-allowance || depth > 200 {
		b.WriteString(rep)
		return
	}
	items := func(xs []any, indent, allowance int) {
		for i, e := range xs {
			if i > 0 {
				b.WriteString(",\n")
				b.WriteString(strings.Repeat(" ", indent))
			}
			a := 1
			if i == len(xs)-1 {
				a = allowance
			}
			pformatTo(b, e, indent, a, depth+1)
		}
	}
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			break
		}
		b.WriteByte('[')
		items(x, indent+1, allowance+1)
		b.WriteByte(']')
		return
	case pyTuple:
		if len(x) == 0 {
			break
		}
		b.WriteByte('(')
		end := ")"
		if len(x) == 1 {
			end = ",)"
		}
		items(x, indent+1, allowance+len(end))
		b.WriteString(end)
		return
	case map[string]any:
		if len(x) == 0 {
			break
		}
		b.WriteByte('{')
		keys := sortedKeys(x)
		for i, k := range keys {
			if i > 0 {
				b.WriteString(",\n")
				b.WriteString(strings.Repeat(" ", indent+1))
			}
			kr := yaql.PyRepr(k)
			b.WriteString(kr)
			b.WriteString(": ")
			a := 1
			if i == len(keys)-1 {
				a = allowance + 1
			}
			pformatTo(b, x[k], indent+1+len(kr)+2, a, depth+1)
		}
		b.WriteByte('}')
		return
	}
	b.WriteString(rep)
}

// htmlSafeJSON is Jinja's tojson: json.dumps with sorted keys, <, >, &
// and ' escaped so the text is safe in HTML.
func htmlSafeJSON(v any, indent int) (string, error) {
	s, err := PyJSON(deTuple(v), indent)
	if err != nil {
		return "", err
	}
	return strings.NewReplacer("<", `\u003c`, ">", `\u003e`, "&", `\u0026`, "'", `\u0027`).Replace(s), nil
}

// markupEscape is markupsafe.escape of str(v).
func markupEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "'", "&#39;", `"`, "&#34;").Replace(s)
}

// pyFloatOf is Python's float(v).
func pyFloatOf(v any) (float64, error) {
	switch x := v.(type) {
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(strings.ReplaceAll(x, "_", "")), 64)
		if err != nil {
			return 0, fmt.Errorf("ValueError: could not convert string to float: %s", yaql.PyRepr(x))
		}
		return f, nil
	}
	_, f, _, ok := pyNum(v)
	if !ok {
		return 0, fmt.Errorf("TypeError: float() argument must be a string or a real number, not '%s'", pyType(v))
	}
	return f, nil
}

// aggregate is min/max: the first item whose key is smallest (less) or
// largest, strings compared case-insensitively unless case_sensitive.
func aggregate(name string, in any, args map[string]any, less bool) (any, error) {
	items, err := pyIter(in)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, errors.New("UndefinedError: No aggregated item, sequence was empty.")
	}
	key := attrGetter(argOr(args, "attribute", nil), !yaql.Truthy(argOr(args, "case_sensitive", false)))
	best := items[0]
	bk, err := key(best)
	if err != nil {
		return nil, err
	}
	op := ">"
	if less {
		op = "<"
	}
	for _, it := range items[1:] {
		k, err := key(it)
		if err != nil {
			return nil, err
		}
		c, err := pyCompare(k, bk, op)
		if err != nil {
			return nil, err
		}
		if (less && c < 0) || (!less && c > 0) {
			best, bk = it, k
		}
	}
	return best, nil
}

// pythonFilters replaces gonja's filters whose results differ from
// Jinja2's.
func pythonFilters(fs *exec.FilterSet) {
	set := func(name string, f exec.FilterFunction) {
		if fs.Exists(name) {
			_ = fs.Replace(name, f)
		} else {
			_ = fs.Register(name, f)
		}
	}
	str := func(js *jinjaState, in any, _ map[string]any) (any, error) { return pyStr(in), nil }
	set("string", pyFilter("string", nil, str))
	set("safe", pyFilter("safe", nil, func(js *jinjaState, in any, _ map[string]any) (any, error) {
		return safeString(pyStr(in)), nil
	}))
	esc := func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		if in.IsError() {
			return in
		}
		if in.Safe && in.IsString() {
			return in
		}
		return pyFilter("escape", nil, func(js *jinjaState, v any, _ map[string]any) (any, error) {
			return safeString(markupEscape(pyStr(v))), nil
		})(e, in, params)
	}
	set("e", esc)
	set("escape", esc)
	set("forceescape", pyFilter("forceescape", nil, func(js *jinjaState, v any, _ map[string]any) (any, error) {
		return safeString(markupEscape(pyStr(v))), nil
	}))
	set("pprint", pyFilter("pprint", nil, func(js *jinjaState, in any, _ map[string]any) (any, error) {
		return pformat(in), nil
	}))
	set("tojson", pyFilter("tojson", []string{"indent"}, func(js *jinjaState, in any, args map[string]any) (any, error) {
		indent := -1
		if n, ok := argOr(args, "indent", nil).(int64); ok {
			indent = int(min(max(n, 0), 64))
		}
		s, err := htmlSafeJSON(in, indent)
		return safeString(s), err
	}))
	set("title", pyFilter("title", nil, func(js *jinjaState, in any, _ map[string]any) (any, error) {
		return pyTitle(pyStr(in)), nil
	}))
	set("wordcount", pyFilter("wordcount", nil, func(js *jinjaState, in any, _ map[string]any) (any, error) {
		return int64(len(wordRe.FindAllStringIndex(pyStr(in), -1))), nil
	}))
	set("sum", pyFilter("sum", []string{"attribute", "start"}, func(js *jinjaState, in any, args map[string]any) (any, error) {
		items, err := pyIter(in)
		if err != nil {
			return nil, err
		}
		key := attrGetter(argOr(args, "attribute", nil), false)
		total := argOr(args, "start", int64(0))
		for _, it := range items {
			k, err := key(it)
			if err != nil {
				return nil, err
			}
			if total, err = pyBinOp("+", total, k, maxSizeOf(js)); err != nil {
				return nil, err
			}
		}
		return total, nil
	}))
	set("sort", pyFilter("sort", []string{"reverse", "case_sensitive", "attribute"}, func(js *jinjaState, in any, args map[string]any) (any, error) {
		items, err := pyIter(in)
		if err != nil {
			return nil, err
		}
		key := attrGetter(argOr(args, "attribute", nil), !yaql.Truthy(argOr(args, "case_sensitive", false)))
		keys := make([]any, len(items))
		for i, it := range items {
			if keys[i], err = key(it); err != nil {
				return nil, err
			}
		}
		idx := make([]int, len(items))
		for i := range idx {
			idx[i] = i
		}
		reverse := yaql.Truthy(argOr(args, "reverse", false))
		var cmpErr error
		sort.SliceStable(idx, func(a, b int) bool {
			x, y := keys[idx[a]], keys[idx[b]]
			if reverse {
				x, y = y, x
			}
			c, err := pyCompare(x, y, "<")
			if err != nil && cmpErr == nil {
				cmpErr = err
			}
			return c < 0
		})
		if cmpErr != nil {
			return nil, cmpErr
		}
		out := make([]any, len(items))
		for i, j := range idx {
			out[i] = items[j]
		}
		return out, nil
	}))
	set("first", pyFilter("first", nil, func(js *jinjaState, in any, _ map[string]any) (any, error) {
		items, err := pyIter(in)
		if err != nil {
			return nil, err
		}
		if len(items) == 0 {
			return nil, errors.New("UndefinedError: No first item, sequence was empty.")
		}
		return items[0], nil
	}))
	set("last", pyFilter("last", nil, func(js *jinjaState, in any, _ map[string]any) (any, error) {
		items, err := pyIter(in)
		if err != nil {
			return nil, fmt.Errorf("TypeError: '%s' object is not reversible", pyType(in))
		}
		if len(items) == 0 {
			return nil, errors.New("UndefinedError: No last item, sequence was empty.")
		}
		return items[len(items)-1], nil
	}))
	set("min", pyFilter("min", []string{"case_sensitive", "attribute"}, func(js *jinjaState, in any, args map[string]any) (any, error) {
		return aggregate("min", in, args, true)
	}))
	set("max", pyFilter("max", []string{"case_sensitive", "attribute"}, func(js *jinjaState, in any, args map[string]any) (any, error) {
		return aggregate("max", in, args, false)
	}))
	set("reverse", pyFilter("reverse", nil, func(js *jinjaState, in any, _ map[string]any) (any, error) {
		if s, ok := in.(string); ok {
			r := []rune(s)
			for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
				r[i], r[j] = r[j], r[i]
			}
			return string(r), nil
		}
		items, err := pyIter(in)
		if err != nil {
			// do_reverse turns the TypeError into its own.
			return nil, errors.New("FilterArgumentError: argument must be iterable")
		}
		out := make([]any, len(items))
		for i, it := range items {
			out[len(items)-1-i] = it
		}
		return out, nil
	}))
	set("round", pyFilter("round", []string{"precision", "method"}, func(js *jinjaState, in any, args map[string]any) (any, error) {
		method, _ := argOr(args, "method", "common").(string)
		prec, ok := argOr(args, "precision", int64(0)).(int64)
		if !ok {
			return nil, fmt.Errorf("TypeError: '%s' object cannot be interpreted as an integer", pyType(args["precision"]))
		}
		if method != "common" && method != "ceil" && method != "floor" {
			return nil, errors.New("FilterArgumentError: method must be common, ceil or floor")
		}
		i, f, isInt, num := pyNum(in)
		if !num {
			return nil, fmt.Errorf("TypeError: type %s doesn't define __round__ method", pyType(in))
		}
		if method == "common" {
			if isInt {
				if prec >= 0 {
					return i, nil
				}
				return int64(pyRound(float64(i), prec)), nil
			}
			return pyRound(f, prec), nil
		}
		p := math.Pow(10, float64(prec))
		if method == "ceil" {
			return math.Ceil(f*p) / p, nil
		}
		return math.Floor(f*p) / p, nil
	}))
	set("filesizeformat", pyFilter("filesizeformat", []string{"binary"}, func(js *jinjaState, in any, args map[string]any) (any, error) {
		bytes, err := pyFloatOf(in)
		if err != nil {
			return nil, err
		}
		base, prefixes := 1000.0, []string{"kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"}
		if yaql.Truthy(argOr(args, "binary", false)) {
			base, prefixes = 1024, []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"}
		}
		switch {
		case bytes == 1:
			return "1 Byte", nil
		case bytes < base:
			return fmt.Sprintf("%d Bytes", int64(bytes)), nil
		}
		unit := base
		for i, p := range prefixes {
			unit = math.Pow(base, float64(i+2))
			if bytes < unit {
				return pyPercent("%.1f "+p, base*bytes/unit, maxSizeOf(js))
			}
		}
		return pyPercent("%.1f "+prefixes[len(prefixes)-1], base*bytes/unit, maxSizeOf(js))
	}))
	fs2 := func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		if in.IsError() {
			return in
		}
		v, err := pyValue(in)
		if err != nil {
			return exec.AsValue(err)
		}
		if len(params.Args) > 0 && len(params.KwArgs) > 0 {
			return exec.AsValue(errors.New("FilterArgumentError: can't handle positional and keyword arguments at the same time"))
		}
		var args any
		if len(params.KwArgs) > 0 {
			m := map[string]any{}
			for k, a := range params.KwArgs {
				if m[k], err = pyValue(a); err != nil {
					return exec.AsValue(err)
				}
			}
			args = m
		} else {
			t := pyTuple{}
			for _, a := range params.Args {
				x, err := pyValue(a)
				if err != nil {
					return exec.AsValue(err)
				}
				t = append(t, x)
			}
			args = t
		}
		s, err := pyPercent(pyStr(v), args, maxSizeOf(stateOf(e)))
		if err != nil {
			return exec.AsValue(err)
		}
		return exec.AsValue(s)
	}
	set("format", fs2)
	set("attr", pyFilter("attr", []string{"name"}, func(js *jinjaState, in any, args map[string]any) (any, error) {
		// The model's values carry no attributes a template may read:
		// a dict's keys are items, not attributes, as in Python.
		return nil, fmt.Errorf("UndefinedError: '%s object' has no attribute '%s'", pyType(in), pyStr(args["name"]))
	}))
	if f, ok := fs.Get("default"); ok {
		set("default", pyDefault(f))
		set("d", pyDefault(f))
	}
	for _, name := range []string{"selectattr", "rejectattr"} {
		if f, ok := fs.Get(name); ok {
			set(name, attrChecked(f))
		}
	}
}

// pyDefault is Jinja's default: only an undefined value is replaced (or,
// with boolean=true, a false one); None stays None.
func pyDefault(f exec.FilterFunction) exec.FilterFunction {
	return func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		if in.IsError() {
			return f(e, in, params)
		}
		boolean := false
		if len(params.Args) > 1 {
			boolean = params.Args[1].IsTrue()
		}
		if b, ok := params.KwArgs["boolean"]; ok {
			boolean = b.IsTrue()
		}
		if boolean && !in.IsTrue() {
			if len(params.Args) > 0 {
				return params.Args[0]
			}
			if d, ok := params.KwArgs["default_value"]; ok {
				return d
			}
			return exec.AsValue("")
		}
		return in
	}
}

// attrChecked makes selectattr/rejectattr fail on an item without the
// attribute, as StrictUndefined does, unless the test is about
// definedness.
func attrChecked(f exec.FilterFunction) exec.FilterFunction {
	return func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		if in.IsError() || len(params.Args) == 0 {
			return f(e, in, params)
		}
		if len(params.Args) > 1 {
			if t := params.Args[1].String(); t == "defined" || t == "undefined" {
				return f(e, in, params)
			}
		}
		v, err := pyValue(in)
		if err != nil {
			return exec.AsValue(err)
		}
		items, err := pyIter(v)
		if err != nil {
			return exec.AsValue(err)
		}
		a, err := pyValue(params.Args[0])
		if err != nil {
			return exec.AsValue(err)
		}
		get := attrGetter(a, false)
		for _, it := range items {
			if _, err := get(it); err != nil {
				return exec.AsValue(err)
			}
		}
		return f(e, in, params)
	}
}

// opFilters are the operators as filters: pyOutputs rewrites `a OP b`
// into a|__opOP(b).
func opFilters(fs *exec.FilterSet) {
	for _, op := range []string{"+", "-", "/", "//", "%", "**", "~", "==", "!=", "<", ">", "<=", ">=", "in"} {
		_ = fs.Register("__op"+op, func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
			if in.IsError() {
				return in
			}
			if len(params.Args) != 1 {
				return exec.AsValue(fmt.Errorf("%s: needs two operands", op))
			}
			l, err := pyValue(in)
			if err != nil {
				return exec.AsValue(err)
			}
			r, err := pyValue(params.Args[0])
			if err != nil {
				return exec.AsValue(err)
			}
			js := stateOf(e)
			if js != nil {
				if err := js.charge(1); err != nil {
					return exec.AsValue(err)
				}
			}
			out, err := pyBinOp(op, l, r, maxSizeOf(js))
			if err != nil {
				var le *LimitExceeded
				if js != nil && errors.As(err, &le) {
					js.limit = le
				}
				return exec.AsValue(err)
			}
			return exec.AsValue(out)
		})
	}
	_ = fs.Register("__tuple", func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		if in.IsError() {
			return in
		}
		v, err := pyValue(in)
		if err != nil {
			return exec.AsValue(err)
		}
		l, _ := v.([]any)
		return exec.AsValue(pyTuple(l))
	})
}

// pyMethods are Python's str and list methods gonja lacks or gets wrong.
func pyMethods(base exec.Methods) exec.Methods {
	strNames := []string{"capitalize", "capwords", "casefold", "center", "encode", "endswith", "expandtabs",
		"find", "format", "format_map", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "islower",
		"isnumeric", "isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower", "lstrip",
		"partition", "removeprefix", "removesuffix", "rfind", "rjust", "rpartition", "rsplit", "rstrip",
		"splitlines", "startswith", "strip", "swapcase", "title", "upper", "zfill"}
	strs := map[string]exec.Method[string]{}
	for _, n := range strNames {
		if m, ok := base.Str.Get(n); ok {
			strs[n] = m
		}
	}
	strArg := func(a *exec.Value, what string) (string, error) {
		if !a.IsString() || a.IsNil() {
			return "", fmt.Errorf("TypeError: %s must be str, not %s", what, jinjaTypeName(a))
		}
		return a.String(), nil
	}
	strs["replace"] = func(self string, _ *exec.Value, args *exec.VarArgs) (any, error) {
		if len(args.Args) < 2 || len(args.Args) > 3 {
			return nil, fmt.Errorf("TypeError: replace expected 2 or 3 arguments, got %d", len(args.Args))
		}
		old, err := strArg(args.Args[0], "replace() argument 1")
		if err != nil {
			return nil, err
		}
		nw, err := strArg(args.Args[1], "replace() argument 2")
		if err != nil {
			return nil, err
		}
		n := -1
		if len(args.Args) == 3 {
			n = args.Args[2].Integer()
		}
		if old == "" && len(self)*len(nw) > DefaultLimits.MaxSize {
			return nil, &LimitExceeded{What: "replace() result exceeds the size limit"}
		}
		if c := strings.Count(self, old); old != "" && c > 0 && len(nw) > len(old) && c*(len(nw)-len(old)) > DefaultLimits.MaxSize {
			return nil, &LimitExceeded{What: "replace() result exceeds the size limit"}
		}
		return strings.Replace(self, old, nw, n), nil
	}
	strs["split"] = func(self string, _ *exec.Value, args *exec.VarArgs) (any, error) {
		sep := exec.AsValue(nil)
		maxsplit := -1
		if len(args.Args) > 0 {
			sep = args.Args[0]
		}
		if v, ok := args.KwArgs["sep"]; ok {
			sep = v
		}
		if len(args.Args) > 1 {
			maxsplit = args.Args[1].Integer()
		}
		if v, ok := args.KwArgs["maxsplit"]; ok {
			maxsplit = v.Integer()
		}
		var parts []string
		if sep.IsNil() {
			parts = splitWhitespace(self, maxsplit)
		} else {
			s, err := strArg(sep, "must be str or None, not")
			if err != nil {
				return nil, err
			}
			if s == "" {
				return nil, errors.New("ValueError: empty separator")
			}
			if maxsplit < 0 {
				parts = strings.Split(self, s)
			} else {
				parts = strings.SplitN(self, s, maxsplit+1)
			}
		}
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = p
		}
		return out, nil
	}
	strs["count"] = func(self string, _ *exec.Value, args *exec.VarArgs) (any, error) {
		if len(args.Args) != 1 {
			return nil, errors.New("TypeError: count() takes exactly one argument here")
		}
		sub, err := strArg(args.Args[0], "count() argument")
		if err != nil {
			return nil, err
		}
		if sub == "" {
			return int64(utf8.RuneCountInString(self) + 1), nil
		}
		return int64(strings.Count(self, sub)), nil
	}
	lists := map[string]exec.Method[[]any]{}
	for _, n := range []string{"append", "reverse", "copy"} {
		if m, ok := base.List.Get(n); ok {
			lists[n] = m
		}
	}
	lists["index"] = func(_ []any, self *exec.Value, args *exec.VarArgs) (any, error) {
		if len(args.Args) != 1 {
			return nil, errors.New("TypeError: index() takes exactly one argument here")
		}
		l, err := pyValue(self)
		if err != nil {
			return nil, err
		}
		x, err := pyValue(args.Args[0])
		if err != nil {
			return nil, err
		}
		items, _ := pyIter(l)
		for i, e := range items {
			if pyEqual(e, x) {
				return int64(i), nil
			}
		}
		return nil, fmt.Errorf("ValueError: %s is not in list", pyReprOf(x))
	}
	lists["count"] = func(_ []any, self *exec.Value, args *exec.VarArgs) (any, error) {
		if len(args.Args) != 1 {
			return nil, errors.New("TypeError: count() takes exactly one argument")
		}
		l, err := pyValue(self)
		if err != nil {
			return nil, err
		}
		x, err := pyValue(args.Args[0])
		if err != nil {
			return nil, err
		}
		items, _ := pyIter(l)
		n := int64(0)
		for _, e := range items {
			if pyEqual(e, x) {
				n++
			}
		}
		return n, nil
	}
	out := base
	out.Str = exec.NewMethodSet(strs)
	out.List = exec.NewMethodSet(lists)
	return out
}

// splitWhitespace is Python's str.split() without a separator.
func splitWhitespace(s string, maxsplit int) []string {
	var out []string
	i := 0
	for i < len(s) {
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if !unicode.IsSpace(r) {
				break
			}
			i += n
		}
		if i >= len(s) {
			break
		}
		if maxsplit >= 0 && len(out) == maxsplit {
			out = append(out, strings.TrimRightFunc(s[i:], unicode.IsSpace))
			break
		}
		j := i
		for j < len(s) {
			r, n := utf8.DecodeRuneInString(s[j:])
			if unicode.IsSpace(r) {
				break
			}
			j += n
		}
		out = append(out, s[i:j])
		i = j
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// pyCycler is Jinja's cycler(*items): next() returns the items in turn,
// current is the one next() returns next, reset() starts over.
func pyCycler(_ *exec.Evaluator, params *exec.VarArgs) (any, error) {
	if len(params.Args) == 0 {
		return nil, errors.New("TypeError: at least one item has to be provided")
	}
	items := params.Args
	pos := 0
	obj := map[string]any{"current": items[0]}
	obj["next"] = func(_ *exec.Evaluator, _ *exec.VarArgs) *exec.Value {
		v := items[pos]
		pos = (pos + 1) % len(items)
		obj["current"] = items[pos]
		return v
	}
	obj["reset"] = func(_ *exec.Evaluator, _ *exec.VarArgs) *exec.Value {
		pos = 0
		obj["current"] = items[0]
		return exec.AsValue(nil)
	}
	return obj, nil
}

var lorem = strings.Fields(`a ac accumsan ad adipiscing aenean aliquam aliquet amet ante aptent arcu at
auctor augue bibendum blandit class commodo condimentum congue consectetuer consequat conubia convallis
cras cubilia cum curabitur curae cursus dapibus diam dictum dictumst dignissim dis dolor donec dui duis
egestas eget eleifend elementum elit enim erat eros est et etiam eu euismod facilisi facilisis fames
faucibus felis fermentum feugiat fringilla fusce gravida habitant habitasse hac hendrerit hymenaeos
iaculis id imperdiet in inceptos integer interdum ipsum justo lacinia lacus laoreet lectus leo libero
ligula litora lobortis lorem luctus maecenas magna magnis malesuada massa mattis mauris metus mi molestie
mollis montes morbi mus nam nascetur natoque nec neque netus nibh nisi nisl non nonummy nostra nulla
nullam nunc odio orci ornare parturient pede pellentesque penatibus per pharetra phasellus placerat
platea porta porttitor posuere potenti praesent pretium primis proin pulvinar purus quam quis quisque
rhoncus ridiculus risus rutrum sagittis sapien scelerisque sed sem semper senectus sit sociis sociosqu
sodales sollicitudin suscipit suspendisse taciti tellus tempor tempus tincidunt torquent tortor
tristique turpis ullamcorper ultrices ultricies urna ut varius vehicula vel velit venenatis vestibulum
vitae vivamus viverra volutpat vulputate`)

// pyLipsum is Jinja's lipsum(n=5, html=True, min=20, max=100): n
// paragraphs of random words (Jinja's algorithm; the words are random in
// Jinja2 too, so only their shape can be compared).
func pyLipsum(e *exec.Evaluator, params *exec.VarArgs) (any, error) {
	args, err := pyArgs("lipsum", params, "n", "html", "min", "max")
	if err != nil {
		return nil, err
	}
	n, ok1 := argOr(args, "n", int64(5)).(int64)
	lo, ok2 := argOr(args, "min", int64(20)).(int64)
	hi, ok3 := argOr(args, "max", int64(100)).(int64)
	if !ok1 || !ok2 || !ok3 {
		return nil, errors.New("TypeError: lipsum() takes integers")
	}
	if lo >= hi {
		return nil, fmt.Errorf("ValueError: empty range for randrange() (%d, %d, %d)", lo, hi, hi-lo)
	}
	if n < 0 || n*hi > int64(maxSizeOf(stateOf(e))/8) {
		return nil, &LimitExceeded{What: "lipsum() too large"}
	}
	if js := stateOf(e); js != nil {
		if err := js.charge(int(n * hi)); err != nil {
			return nil, err
		}
	}
	asHTML := yaql.Truthy(argOr(args, "html", true))
	var paras []string
	for range n {
		var words []string
		nextCapitalized, lastComma, lastFullstop := true, 0, 0
		var last string
		count := lo + rand.Int64N(hi-lo)
		for idx := range count {
			var word string
			for {
				word = lorem[rand.IntN(len(lorem))]
				if word != last {
					last = word
					break
				}
			}
			if nextCapitalized {
				word = strings.ToUpper(word[:1]) + word[1:]
				nextCapitalized = false
			}
			i := int(idx)
			if i-(3+rand.IntN(5)) > lastComma {
				lastComma = i
				lastFullstop += 2
				word += ","
			}
			if i-(10+rand.IntN(10)) > lastFullstop {
				lastComma, lastFullstop = i, i
				word += "."
				nextCapitalized = true
			}
			words = append(words, word)
		}
		p := strings.Join(words, " ")
		if strings.HasSuffix(p, ",") {
			p = p[:len(p)-1] + "."
		} else if !strings.HasSuffix(p, ".") {
			p += "."
		}
		paras = append(paras, p)
	}
	if !asHTML {
		return strings.Join(paras, "\n\n"), nil
	}
	for i, p := range paras {
		paras[i] = "<p>" + html.EscapeString(p) + "</p>"
	}
	return strings.Join(paras, "\n"), nil
}

var lstripRe = regexp.MustCompile(`(?m)^[ \t]+\{[%#]`)

// lstripBlocks is Jinja's lstrip_blocks: the spaces and tabs between the
// start of a line and a block or comment tag go (gonja strips them even
// in the middle of a line, after an output).
func lstripBlocks(src string) string {
	if !strings.Contains(src, "{%") && !strings.Contains(src, "{#") {
		return src
	}
	var b strings.Builder
	last := 0
	for _, m := range lstripRe.FindAllStringIndex(src, -1) {
		if m[1] < len(src) && src[m[1]] == '+' {
			continue
		}
		b.WriteString(src[last:m[0]])
		last = m[1] - 2
	}
	b.WriteString(src[last:])
	return b.String()
}

// pyTests are gonja's tests with `in` as Python's operator (gonja parses
// `a in b` as the test `a is in b`): an int on the right is an error, not
// false.
func pyTests() *exec.TestSet {
	ts := exec.NewTestSet(map[string]exec.TestFunction{}).Update(builtins.Tests)
	_ = ts.Replace("in", func(_ *exec.Context, in *exec.Value, params *exec.VarArgs) (bool, error) {
		if in.IsError() {
			return false, errors.New(in.Error())
		}
		if len(params.Args) != 1 {
			return false, errors.New("TypeError: in needs a container")
		}
		l, err := pyValue(in)
		if err != nil {
			return false, err
		}
		r, err := pyValue(params.Args[0])
		if err != nil {
			return false, err
		}
		b, err := pyIn(l, r)
		if err != nil {
			return false, err
		}
		return b.(bool), nil
	})
	return ts
}

// boundedMacro is Jinja's {% macro %} with its calls counted: gonja does
// not bound a macro's recursion, and a recursive macro would overflow the
// Go stack (a fatal error, not a panic). Each call costs a step and may
// nest at most Limits.MaxDepth deep, as Python's recursion limit stops
// Jinja2.
type boundedMacro struct {
	Inner exec.ControlStructure
	Macro *nodes.Macro
}

func (m *boundedMacro) Position() *tokens.Token { return m.Inner.Position() }
func (m *boundedMacro) String() string          { return m.Inner.String() }

func (m *boundedMacro) Execute(r *exec.Renderer, tag *nodes.ControlStructureBlock) error {
	f, err := exec.MacroNodeToFunc(m.Macro, r)
	if err != nil {
		return fmt.Errorf("macro %s: %w", m.Macro.Name, err)
	}
	var js *jinjaState
	if v, ok := r.Environment.Context.Get(hiddenKey); ok {
		js, _ = v.(*jinjaState)
	}
	var g exec.Macro = func(params *exec.VarArgs) *exec.Value {
		if js == nil {
			return exec.AsValue(errors.New("no evaluation state"))
		}
		if err := js.charge(1); err != nil {
			js.limit, _ = err.(*LimitExceeded)
			return exec.AsValue(err)
		}
		if js.macroDepth >= js.lim.MaxDepth {
			le := &LimitExceeded{What: fmt.Sprintf("macro calls nested more than %d deep", js.lim.MaxDepth)}
			js.limit = le
			return exec.AsValue(le)
		}
		js.macroDepth++
		defer func() { js.macroDepth-- }()
		return f(params)
	}
	r.Environment.Context.Set(m.Macro.Name, g)
	return nil
}

// boundedMacroParser parses {% macro %} with gonja's parser and bounds the
// result (boundedMacro).
func boundedMacroParser(inner parser.ControlStructureParser) parser.ControlStructureParser {
	return func(p *parser.Parser, args *parser.Parser) (nodes.ControlStructure, error) {
		cs, err := inner(p, args)
		if err != nil {
			return nil, err
		}
		ecs, ok := cs.(exec.ControlStructure)
		if !ok {
			return nil, errors.New("macro: unexpected node")
		}
		rv := reflect.ValueOf(cs)
		for rv.Kind() == reflect.Pointer {
			rv = rv.Elem()
		}
		if rv.Kind() == reflect.Struct {
			if f := rv.FieldByName("Macro"); f.IsValid() {
				if mac, ok := f.Interface().(*nodes.Macro); ok && mac != nil {
					return &boundedMacro{Inner: ecs, Macro: mac}, nil
				}
			}
		}
		return nil, errors.New("macro: unexpected node")
	}
}
