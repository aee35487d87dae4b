package expr

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"
	"github.com/nikolalohinski/gonja/v2/logging"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/parser"
	"github.com/nikolalohinski/gonja/v2/tokens"

	"github.com/sirocco-wf/sirocco/daemon/internal/expr/yaql"
)

// Jinja follows mistral/expressions/jinja_expression.py: a string holding
// `{{ ... }}` or `{% ... %}` (found with Python's non-greedy, single-line
// patterns) is Jinja. A string that is exactly one `{{ expr }}` evaluates
// to the expression's native value; any other string renders as a
// template. The context is `_`; Mistral's functions are globals and also
// filters; an undefined name is an error (StrictUndefined); blocks trim as
// with trim_blocks and lstrip_blocks.
//
// The engine is gonja, restricted: no include, import, from or extends
// (they would read files), no call block; macros run with their nesting
// bounded (boundedMacro) and range() is bounded. Output values
// print as Python's str() prints them, so rendered text matches Mistral.

var (
	jinjaVarRe   = regexp.MustCompile(`\{\{(.*?)\}\}`)
	jinjaBlockRe = regexp.MustCompile(`\{%(.*?)%\}`)
)

// IsJinja reports whether Mistral would treat s as a Jinja expression.
func IsJinja(s string) bool {
	return jinjaVarRe.MatchString(s) || jinjaBlockRe.MatchString(s)
}

var jinjaConfig = func() *config.Config {
	c := config.New()
	c.StrictUndefined = true
	c.TrimBlocks = true
	// lstrip_blocks is done on the source (lstripBlocks): gonja's strips
	// the blanks before a tag in the middle of a line too.
	c.LeftStripBlocks = false
	return c
}()

// hiddenKey holds the per-evaluation state in the gonja context; it is not
// a valid Jinja name, so templates cannot reach it.
const hiddenKey = "sirocco state"

// jinjaState is what filters and bounded built-ins need during one
// evaluation.
type jinjaState struct {
	env      *Env
	lim      Limits
	deadline time.Time
	steps    int
	// macroDepth is how deep macro calls nest now (boundedMacro).
	macroDepth int
	// limit is a limit a filter hit: gonja keeps only the text of a
	// filter's error, so the type is recovered from here.
	limit *LimitExceeded
	// root is the value of `_`.
	root any
}

func (js *jinjaState) charge(k int) error {
	js.steps += k
	if js.steps > js.lim.MaxSteps {
		return &LimitExceeded{What: fmt.Sprintf("more than %d evaluation steps", js.lim.MaxSteps)}
	}
	if !js.deadline.IsZero() && time.Now().After(js.deadline) {
		return &LimitExceeded{What: fmt.Sprintf("evaluation took longer than %s", js.lim.Timeout)}
	}
	return nil
}

// LimitExceeded is the cause of an error from an evaluation that ran past
// its limits (Limits); errors.As finds it.
type LimitExceeded struct{ What string }

func (e *LimitExceeded) Error() string { return "limit exceeded: " + e.What }

var jinjaEnvironment = func() *exec.Environment {
	cs := map[string]bool{"include": true, "import": true, "from": true, "extends": true}
	all := builtins.ControlStructures
	safe := exec.NewControlStructureSet(map[string]parser.ControlStructureParser{})
	for _, name := range []string{"autoescape", "block", "filter", "for", "if", "raw", "set", "with", "do", "break", "continue"} {
		if cs[name] {
			continue
		}
		p, ok := all.Get(name)
		if ok {
			_ = safe.Register(name, p)
		}
	}
	if p, ok := all.Get("macro"); ok {
		_ = safe.Register("macro", boundedMacroParser(p))
	}
	filters := exec.NewFilterSet(map[string]exec.FilterFunction{})
	filters.Update(builtins.Filters)
	pythonTyping(filters)
	pythonFilters(filters)
	opFilters(filters)
	for name := range MistralParams {
		registerMistralFilter(filters, name)
	}
	for _, name := range []string{"uuid", "env", "execution"} {
		registerMistralFilter(filters, name)
	}
	_ = filters.Register("__mul", pyMul)
	_ = filters.Register("__getattr", pyGetattr)
	_ = filters.Register("__getitem", pyGetitem)
	_ = filters.Register("__pystr", func(e *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
		v, err := pyValue(in)
		if err != nil {
			return exec.AsValue(err)
		}
		return exec.AsSafeValue(pyStr(v))
	})
	ctx := exec.EmptyContext()
	ctx.Set("cycler", pyCycler)
	ctx.Set("lipsum", pyLipsum)
	for _, name := range []string{"dict", "namespace", "joiner"} {
		if f, ok := builtins.GlobalFunctions.Get(name); ok {
			ctx.Set(name, f)
		}
	}
	ctx.Set("range", boundedRange)
	ctx.Set("none", nil)
	ctx.Set("None", nil)
	ctx.Set("True", true)
	ctx.Set("False", false)
	return &exec.Environment{
		Context:           ctx,
		Filters:           filters,
		Tests:             pyTests(),
		ControlStructures: safe,
		Methods:           pyMethods(builtins.Methods),
	}
}()

// pythonTyping makes gonja's built-in filters as strict about their input
// as Jinja2's: gonja returns a zero value where Python raises (an int
// through `length`), and prints non-strings in Go's way where Jinja2's
// string filters first apply str().
func pythonTyping(fs *exec.FilterSet) {
	wrap := func(names []string, pre func(name string, in *exec.Value) (*exec.Value, error)) {
		for _, name := range names {
			f, ok := fs.Get(name)
			if !ok {
				continue
			}
			_ = fs.Replace(name, func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
				in2, err := pre(name, in)
				if err != nil {
					return exec.AsValue(err)
				}
				return f(e, in2, params)
			})
		}
	}
	iterable := func(v *exec.Value) bool { return !v.IsNil() && (v.IsString() || v.IsList() || v.IsDict()) }
	wrap([]string{"length", "count", "list", "first", "last", "min", "max", "sum", "sort", "unique",
		"reverse", "join", "batch", "slice", "map", "select", "reject", "selectattr", "rejectattr",
		"groupby", "dictsort", "random", "items"},
		func(name string, in *exec.Value) (*exec.Value, error) {
			if in.IsError() || iterable(in) {
				return in, nil
			}
			switch name {
			case "length", "count":
				return nil, fmt.Errorf("TypeError: object of type '%s' has no len()", jinjaTypeName(in))
			case "last":
				return nil, fmt.Errorf("TypeError: '%s' object is not reversible", jinjaTypeName(in))
			}
			return nil, fmt.Errorf("TypeError: '%s' object is not iterable", jinjaTypeName(in))
		})
	// items: in key order, as the value model orders dicts (gonja's order
	// is Go's map order, which changes from run to run).
	if f, ok := fs.Get("items"); ok {
		_ = fs.Replace("items", func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
			if in.IsError() || !in.IsDict() {
				return f(e, in, params)
			}
			v, err := fromJinja(in)
			if err != nil {
				return exec.AsValue(err)
			}
			d, ok := v.(map[string]any)
			if !ok {
				return f(e, in, params)
			}
			keys := make([]string, 0, len(d))
			for k := range d {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			out := make([]any, len(keys))
			for i, k := range keys {
				out[i] = []any{k, d[k]}
			}
			return exec.AsValue(out)
		})
	}
	wrap([]string{"upper", "lower", "capitalize", "title", "trim", "center", "replace", "striptags",
		"wordcount", "truncate", "indent", "urlencode", "wordwrap"},
		func(name string, in *exec.Value) (*exec.Value, error) {
			if in.IsError() || (in.IsString() && !in.IsNil()) {
				return in, nil
			}
			v, err := pyValue(in)
			if err != nil {
				return nil, err
			}
			return exec.AsValue(pyStr(v)), nil
		})
	wrap([]string{"abs", "round"}, func(name string, in *exec.Value) (*exec.Value, error) {
		if in.IsError() {
			return in, nil
		}
		if in.IsBool() {
			if in.Bool() {
				return exec.AsValue(1), nil
			}
			return exec.AsValue(0), nil
		}
		if in.IsNil() || !in.IsNumber() {
			return nil, fmt.Errorf("TypeError: bad operand type for %s(): '%s'", name, jinjaTypeName(in))
		}
		return in, nil
	})
	wrap([]string{"float", "int"}, func(name string, in *exec.Value) (*exec.Value, error) {
		if in.IsBool() && !in.IsNil() {
			if in.Bool() {
				return exec.AsValue(1), nil
			}
			return exec.AsValue(0), nil
		}
		return in, nil
	})
}

// registerMistralFilter makes `value | name(args)` call Mistral's function
// name with value as its context, as Mistral's filters do: the value takes
// the place of Mistral's `context` argument.
func registerMistralFilter(fs *exec.FilterSet, name string) {
	_ = fs.Register(name, func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		js := stateOf(e)
		if js == nil {
			return exec.AsValue(errors.New("no evaluation state"))
		}
		ctxv, err := fromJinja(in)
		if err != nil {
			return exec.AsValue(err)
		}
		var host MistralHost
		if js.env != nil {
			host = js.env.host
		}
		f := MistralFuncs(host, ctxv)[name]
		// json_pp prints the filtered value, not the context a host
		// function bound to it.
		if js.env != nil && host == nil && name != "json_pp" {
			if g, ok := js.env.Funcs[name]; ok {
				f = g
			}
		}
		if host != nil {
			f = jinjaFunc(name, f, ctxv)
		}
		return callFunc(js, name, f, params)
	})
}

func stateOf(e *exec.Evaluator) *jinjaState {
	v, ok := e.Environment.Context.Get(hiddenKey)
	if !ok {
		return nil
	}
	js, _ := v.(*jinjaState)
	return js
}

// callFunc calls a host function with gonja arguments; keyword arguments
// bind by MistralParams names.
func callFunc(js *jinjaState, name string, f Func, params *exec.VarArgs) *exec.Value {
	if err := js.charge(1); err != nil {
		return exec.AsValue(err)
	}
	args := make([]any, 0, len(params.Args))
	for _, a := range params.Args {
		v, err := fromJinja(a)
		if err != nil {
			return exec.AsValue(err)
		}
		args = append(args, v)
	}
	if len(params.KwArgs) > 0 {
		ps := js.env.FuncParams[name]
		for k, a := range params.KwArgs {
			idx := -1
			for i, p := range ps {
				if p == k {
					idx = i
				}
			}
			if idx < 0 {
				return exec.AsValue(fmt.Errorf("%s() got an unexpected keyword argument '%s'", name, k))
			}
			if idx < len(args) {
				return exec.AsValue(fmt.Errorf("%s() got multiple values for argument '%s'", name, k))
			}
			v, err := fromJinja(a)
			if err != nil {
				return exec.AsValue(err)
			}
			for len(args) <= idx {
				args = append(args, nil)
			}
			args[idx] = v
		}
	}
	res, err := f(args...)
	if err != nil {
		return exec.AsValue(fmt.Errorf("%s(): %w", name, err))
	}
	res, err = yaql.Normalize(res)
	if err != nil {
		return exec.AsValue(fmt.Errorf("%s() returned %w", name, err))
	}
	return exec.AsValue(res)
}

// boundedRange is Jinja's range() returning a list (gonja's streams from a
// goroutine) and charging the evaluation budget for every item.
func boundedRange(e *exec.Evaluator, params *exec.VarArgs) (any, error) {
	var ints []int
	for _, a := range params.Args {
		if !a.IsInteger() {
			return nil, fmt.Errorf("range(): '%s' object cannot be interpreted as an integer", jinjaTypeName(a))
		}
		ints = append(ints, a.Integer())
	}
	if len(ints) == 0 || len(ints) > 3 || len(params.KwArgs) > 0 {
		return nil, errors.New("range expected 1 to 3 integer arguments")
	}
	start, stop, step := 0, ints[0], 1
	if len(ints) > 1 {
		start, stop = ints[0], ints[1]
	}
	if len(ints) == 3 {
		step = ints[2]
	}
	if step == 0 {
		return nil, errors.New("range() arg 3 must not be zero")
	}
	n := 0
	if step > 0 && stop > start {
		n = (stop - start + step - 1) / step
	} else if step < 0 && stop < start {
		n = (start - stop - step - 1) / -step
	}
	js := stateOf(e)
	if js != nil {
		if n > js.lim.MaxSize {
			return nil, &LimitExceeded{What: fmt.Sprintf("range of %d items exceeds the size limit of %d", n, js.lim.MaxSize)}
		}
		if err := js.charge(n); err != nil {
			return nil, err
		}
	}
	out := make([]any, n)
	for i := range out {
		out[i] = start + i*step
	}
	return out, nil
}

func jinjaTypeName(v *exec.Value) string {
	switch {
	case v.IsNil():
		return "NoneType"
	case v.IsString():
		return "str"
	case v.IsBool():
		return "bool"
	case v.IsFloat():
		return "float"
	case v.IsInteger():
		return "int"
	case v.IsList():
		if _, ok := v.Interface().(pyTuple); ok {
			return "tuple"
		}
		return "list"
	case v.IsDict():
		return "dict"
	}
	return "object"
}

// noFiles is the loader of every template: it refuses to read anything, so
// no template can reach the file system.
type noFiles struct{ src string }

func (l noFiles) Read(path string) (io.Reader, error) {
	if path == "expression" {
		return strings.NewReader(l.src), nil
	}
	return nil, fmt.Errorf("templates cannot load %q: files are not accessible from expressions", path)
}
func (l noFiles) Resolve(path string) (string, error)    { return path, nil }
func (l noFiles) Inherit(string) (loaders.Loader, error) { return l, nil }

// jinjaCache keeps parsed templates; workflows evaluate the same few
// strings over and over. It is cleared when full rather than evicting in
// order: simple, and bounded.
var jinjaCache = struct {
	sync.Mutex
	m map[string]*exec.Template
}{m: map[string]*exec.Template{}}

const jinjaCacheSize = 4096

// parseJinja parses a template (or, with native, the one `{{ expr }}`)
// with every output wrapped so that it prints as Python's str().
func parseJinja(src string) (*exec.Template, error) {
	jinjaCache.Lock()
	cached, ok := jinjaCache.m[src]
	jinjaCache.Unlock()
	if ok {
		return cached, nil
	}
	t, err := newTemplate(src)
	if err != nil {
		return nil, err
	}
	if err := pyOutputs(t); err != nil {
		return nil, err
	}
	jinjaCache.Lock()
	if len(jinjaCache.m) >= jinjaCacheSize {
		clear(jinjaCache.m)
	}
	jinjaCache.m[src] = t
	jinjaCache.Unlock()
	return t, nil
}

func newTemplate(src string) (t *exec.Template, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("jinja: cannot parse %q: %v", src, r)
		}
	}()
	return exec.NewTemplate("expression", jinjaConfig, noFiles{src: lstripBlocks(src)}, jinjaEnvironment)
}

// pyMul is Python's `*` for the value model: numbers multiply, a string
// or a list repeats (a boolean counts 0 or 1), and a repetition larger
// than the size limit fails before anything is allocated.
func pyMul(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if len(params.Args) != 1 {
		return exec.AsValue(fmt.Errorf("*: needs two operands"))
	}
	r := params.Args[0]
	if r.IsError() {
		return r
	}
	l, err := fromJinja(in)
	if err != nil {
		return exec.AsValue(err)
	}
	rv, err := fromJinja(r)
	if err != nil {
		return exec.AsValue(err)
	}
	count := func(v any) (int64, bool) {
		switch x := v.(type) {
		case int64:
			return x, true
		case bool:
			if x {
				return 1, true
			}
			return 0, true
		}
		return 0, false
	}
	seq, k := l, int64(0)
	n, ok := count(rv)
	if !ok {
		seq = rv
		n, ok = count(l)
	}
	switch seq.(type) {
	case string, []any:
		if !ok {
			break
		}
		k = max(n, 0)
		size := int64(0)
		switch x := seq.(type) {
		case string:
			size = int64(len(x))
		case []any:
			size = int64(len(x))
		}
		maxSize := int64(DefaultLimits.MaxSize)
		if js := stateOf(e); js != nil {
			maxSize = int64(js.lim.MaxSize)
		}
		if k > 0 && size > maxSize/k {
			le := &LimitExceeded{What: fmt.Sprintf("repetition of %d × %d exceeds the size limit of %d", size, k, maxSize)}
			if js := stateOf(e); js != nil {
				js.limit = le
			}
			return exec.AsValue(le)
		}
		if s, isStr := seq.(string); isStr {
			return exec.AsValue(strings.Repeat(s, int(k)))
		}
		xs := seq.([]any)
		out := make([]any, 0, int(size*k))
		for i := int64(0); i < k; i++ {
			out = append(out, xs...)
		}
		return exec.AsValue(out)
	}
	_, lNum := l.(float64)
	_, rNum := rv.(float64)
	li, lInt := count(l)
	ri, rInt := count(rv)
	switch {
	case lInt && rInt:
		p := li * ri
		if li != 0 && p/li != ri {
			return exec.AsValue(fmt.Errorf("*: integer overflow"))
		}
		return exec.AsValue(p)
	case (lNum || lInt) && (rNum || rInt):
		return exec.AsValue(in.Float() * r.Float())
	}
	return exec.AsValue(fmt.Errorf("unsupported operand type(s) for *: '%s' and '%s'", jinjaTypeName(in), jinjaTypeName(r)))
}

// pyOutputs makes every `{{ x }}` of a parsed template print as Python's
// str() of x, by appending the __pystr filter to the output's expression
// (and to its else branch), and makes operators compute as Python's:
// `a OP b` becomes a|__opOP(b) (a * b becomes a|__mul(b), sized before it
// allocates) and a tuple literal becomes a list|__tuple. Outputs nested in
// control structures sit in gonja's unexported fields, so the walk goes
// through reflect and unsafe; the tree is fresh from the parser and not
// yet shared.
//
// A node the parser left without an operand (`{{ in x }}` parses as a test
// of nothing) is a syntax error, reported here rather than left to crash
// the renderer.
func pyOutputs(t *exec.Template) error {
	var bad error
	seen := map[uintptr]bool{}
	var walk func(v reflect.Value, depth int)
	walk = func(v reflect.Value, depth int) {
		if depth > 10_000 {
			return
		}
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() || seen[v.Pointer()] {
				return
			}
			seen[v.Pointer()] = true
			if v.Type() == outputType {
				walk(v.Elem(), depth+1)
				o := (*nodes.Output)(unsafe.Pointer(v.Pointer()))
				if o.Condition != nil && o.Alternative == nil {
					// Jinja2: an inline if without else is undefined when
					// false, and StrictUndefined fails when printed.
					line := 1
					if o.Start != nil {
						line = o.Start.Line
					}
					o.Alternative = &nodes.Error{Location: o.Start, Error: fmt.Errorf(
						"UndefinedError: the inline if-expression on line %d evaluated to false and no else section was defined.", line)}
				}
				o.Expression = withPyStr(o.Expression, o.Start)
				o.Alternative = withPyStr(o.Alternative, o.Start)
				return
			}
			if v.Type() == tokenType {
				return
			}
			if v.Type() == testExprType {
				if te := (*nodes.TestExpression)(unsafe.Pointer(v.Pointer())); te.Expression == nil && bad == nil {
					bad = errors.New("failed to parse template: a test or `in` without a value before it")
				}
			}
			walk(v.Elem(), depth+1)
		case reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem(), depth+1)
				if !v.CanAddr() {
					return
				}
				if r, ok := pyRewrite(v.Elem()); ok {
					reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem().Set(r)
				}
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				f := v.Field(i)
				if keepNode(v.Type(), i) && f.Kind() == reflect.Interface && !f.IsNil() {
					// The node itself stays (gonja reads it as it is);
					// what is below it is rewritten.
					walk(f.Elem(), depth+1)
					continue
				}
				walk(f, depth+1)
			}
		case reflect.Slice, reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i), depth+1)
			}
		case reflect.Map:
			var w reflect.Value
			if v.CanAddr() {
				w = reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
			}
			it := v.MapRange()
			type repl struct{ k, v reflect.Value }
			var rs []repl
			for it.Next() {
				e := it.Value()
				walk(e, depth+1)
				if e.Kind() == reflect.Interface && !e.IsNil() && w.IsValid() {
					if r, ok := pyRewrite(e.Elem()); ok {
						rs = append(rs, repl{it.Key(), r})
					}
				}
			}
			for _, r := range rs {
				w.SetMapIndex(r.k, r.v)
			}
		}
	}
	walk(reflect.ValueOf(t.Root()), 0)
	return bad
}

// pyOps maps gonja's operator tokens to the Python operators of opFilters.
var pyOps = map[tokens.Type]string{
	tokens.Addition: "+", tokens.Subtraction: "-", tokens.Division: "/", tokens.FloorDivision: "//",
	tokens.Modulo: "%", tokens.Power: "**", tokens.Tilde: "~", tokens.Equals: "==", tokens.Ne: "!=",
	tokens.LowerThan: "<", tokens.GreaterThan: ">", tokens.LowerThanOrEqual: "<=",
	tokens.GreaterThanOrEqual: ">=", tokens.In: "in",
}

// keepNode tells the fields whose node gonja reads as it is, not by
// evaluating it: the callee of a call (a method is looked up by its
// name) and the target of {% set %}.
func keepNode(t reflect.Type, field int) bool {
	name := t.Field(field).Name
	return (t == callType && name == "Func") || (t.Name() == "SetControlStructure" && name == "target")
}

// pyRewrite is the replacement of one expression node (an operator, a
// tuple, an attribute or an item), if it has one.
func pyRewrite(e reflect.Value) (reflect.Value, bool) {
	switch e.Type() {
	case getAttrType:
		ga := (*nodes.GetAttribute)(unsafe.Pointer(e.Pointer()))
		if ga.Attribute == "" || ga.Node == nil {
			return reflect.Value{}, false
		}
		fe := &nodes.FilteredExpression{Expression: ga.Node, Filters: []*nodes.FilterCall{
			{Token: ga.Location, Name: "__getattr", Args: []nodes.Expression{&nodes.String{Location: ga.Location, Val: ga.Attribute}}}}}
		return reflect.ValueOf(fe), true
	case getItemType:
		gi := (*nodes.GetItem)(unsafe.Pointer(e.Pointer()))
		arg, ok := gi.Arg.(nodes.Expression)
		if gi.Node == nil || !ok || arg == nil {
			return reflect.Value{}, false
		}
		fe := &nodes.FilteredExpression{Expression: gi.Node, Filters: []*nodes.FilterCall{
			{Token: gi.Location, Name: "__getitem", Args: []nodes.Expression{arg}}}}
		return reflect.ValueOf(fe), true
	case binaryType:
		be := (*nodes.BinaryExpression)(unsafe.Pointer(e.Pointer()))
		if be.Operator == nil || be.Operator.Token == nil {
			return reflect.Value{}, false
		}
		name := ""
		if be.Operator.Token.Type == tokens.Multiply {
			name = "__mul"
		} else if op, ok := pyOps[be.Operator.Token.Type]; ok {
			name = "__op" + op
		} else {
			return reflect.Value{}, false
		}
		fe := &nodes.FilteredExpression{Expression: be.Left, Filters: []*nodes.FilterCall{
			{Token: be.Operator.Token, Name: name, Args: []nodes.Expression{be.Right}}}}
		return reflect.ValueOf(fe), true
	case tupleType:
		tu := (*nodes.Tuple)(unsafe.Pointer(e.Pointer()))
		fe := &nodes.FilteredExpression{Expression: &nodes.List{Location: tu.Location, Val: tu.Val},
			Filters: []*nodes.FilterCall{{Token: tu.Location, Name: "__tuple"}}}
		return reflect.ValueOf(fe), true
	}
	return reflect.Value{}, false
}

var (
	outputType   = reflect.TypeFor[*nodes.Output]()
	getAttrType  = reflect.TypeFor[*nodes.GetAttribute]()
	getItemType  = reflect.TypeFor[*nodes.GetItem]()
	callType     = reflect.TypeFor[nodes.Call]()
	binaryType   = reflect.TypeFor[*nodes.BinaryExpression]()
	tupleType    = reflect.TypeFor[*nodes.Tuple]()
	testExprType = reflect.TypeFor[*nodes.TestExpression]()
	tokenType    = reflect.TypeFor[*tokens.Token]()
)

// withoutPyStr undoes withPyStr, for the native value of one expression.
func withoutPyStr(e nodes.Expression) nodes.Expression {
	fe, ok := e.(*nodes.FilteredExpression)
	if !ok || len(fe.Filters) != 1 || fe.Filters[0].Name != "__pystr" {
		return e
	}
	return fe.Expression
}

// withPyStr appends the __pystr filter to e; at is the output's position
// (a malformed node may not know its own).
func withPyStr(e nodes.Expression, at *tokens.Token) nodes.Expression {
	if e == nil {
		return nil
	}
	return &nodes.FilteredExpression{Expression: e, Filters: []*nodes.FilterCall{{Token: at, Name: "__pystr"}}}
}

// JinjaError is an error from a Jinja expression: its text and what went
// wrong. A syntax error found at upload has Syntax set.
type JinjaError struct {
	Expr   string
	Msg    string
	Syntax bool
	Err    error
	// Py is the exception Jinja2 raises in Mistral 15, as "Type: message"
	// (see yaql.Error.Py); "" leaves it to Python to find it in Msg.
	Py string
}

func (e *JinjaError) Error() string {
	shown := e.Expr
	if len(shown) > 200 {
		shown = shown[:200] + "..."
	}
	if e.Syntax {
		return fmt.Sprintf("jinja: syntax error in %q: %s", shown, e.Msg)
	}
	return fmt.Sprintf("jinja: evaluation error in %q: %s", shown, e.Msg)
}

// Unwrap exposes the cause (a host function's error, LimitExceeded).
func (e *JinjaError) Unwrap() error { return e.Err }

func (env *Env) limits() Limits {
	l := DefaultLimits
	if env != nil {
		if env.Limits.Timeout > 0 {
			l.Timeout = env.Limits.Timeout
		}
		if env.Limits.MaxSteps > 0 {
			l.MaxSteps = env.Limits.MaxSteps
		}
		if env.Limits.MaxSize > 0 {
			l.MaxSize = env.Limits.MaxSize
		}
		if env.Limits.MaxDepth > 0 {
			l.MaxDepth = env.Limits.MaxDepth
		}
	}
	return l
}

// jinjaContext builds the variables of one evaluation: `_`, Mistral's
// __env/__execution/__task_execution, the host functions as globals.
func jinjaContext(env *Env, js *jinjaState) (*exec.Context, error) {
	var data any
	if env != nil {
		d, err := yaql.Normalize(env.Data)
		if err != nil {
			return nil, fmt.Errorf("bad input data: %w", err)
		}
		data = d
	}
	m := map[string]any{"_": data, hiddenKey: js}
	js.root = data
	if dm, ok := data.(map[string]any); ok {
		for _, k := range []string{"__env", "__execution", "__task_execution"} {
			m[k] = dm[k]
		}
	}
	if env != nil {
		for name, f := range env.Funcs {
			if env.host != nil {
				f = jinjaFunc(name, f, data)
			}
			m[name] = func(_ *exec.Evaluator, params *exec.VarArgs) *exec.Value {
				return callFunc(js, name, f, params)
			}
		}
	}
	return exec.NewContext(m), nil
}

// errNoTaskContext is what task() fails with in Jinja outside a task.
// Mistral binds its functions to the expression's context for Jinja (for
// YAQL, to yaql's context, which answers null for a missing name), and
// task_ reads context['__task_execution'] before anything else: where the
// context has no current task (a workflow's output, output-on-error or
// vars, a task's target) that raises KeyError('__task_execution'), even
// for task('name'), which YAQL answers there.
var errNoTaskContext = errors.New("outside a task, Jinja's task() finds no current task: KeyError: '__task_execution'")

// jinjaFunc is Mistral's function f (of MistralEnv) as Jinja calls it
// with context ctx (`_`, or the value a filter applies to).
func jinjaFunc(name string, f Func, ctx any) Func {
	if name != "task" {
		return f
	}
	return func(args ...any) (any, error) {
		m, ok := ctx.(map[string]any)
		if !ok {
			return nil, errNoTaskContext
		}
		if _, ok := m["__task_execution"]; !ok {
			return nil, errNoTaskContext
		}
		return f(args...)
	}
}

// evalJinja evaluates a Jinja string as Mistral's InlineJinjaEvaluator.
func evalJinja(s string, env *Env) (any, error) {
	// gonja logs through logrus's global logger, at error level, whenever a
	// template misuses a value: user input must not write to our logs, so
	// its logging stays off even if something in the process turned it on.
	if logging.Enabled() {
		logging.SetEnabled(false)
	}
	lim := env.limits()
	js := &jinjaState{env: env, lim: lim}
	if lim.Timeout > 0 {
		js.deadline = time.Now().Add(lim.Timeout)
	}
	ctx, err := jinjaContext(env, js)
	if err != nil {
		return nil, &JinjaError{Expr: s, Msg: err.Error(), Err: err}
	}
	m := jinjaVarRe.FindStringSubmatchIndex(s)
	if m == nil {
		// Mistral indexes the first `{{ }}` match unconditionally, so a
		// string with only `{% %}` blocks fails ("list index out of range").
		return nil, &JinjaError{Expr: s, Msg: "a Jinja string with blocks needs at least one {{ }} expression (Mistral: list index out of range)"}
	}
	if m[0] == 0 && m[1] == len(s) {
		return evalJinjaNative(s, s[m[2]:m[3]], ctx, js)
	}
	t, err := parseJinja(s)
	if err != nil {
		return nil, jinjaErr(s, err)
	}
	w := &limitedWriter{js: js}
	if err := t.Execute(w, ctx); err != nil {
		if w.err != nil {
			err = w.err
		} else if js.limit != nil {
			err = js.limit
		}
		return nil, jinjaErr(s, err)
	}
	return w.b.String(), nil
}

// evalJinjaNative is Mistral's JinjaEvaluator: the expression's value, not
// its text.
func evalJinjaNative(whole, inner string, ctx *exec.Context, js *jinjaState) (any, error) {
	t, err := parseJinja("{{" + inner + "}}")
	if err != nil {
		return nil, jinjaErr(whole, err)
	}
	out, ok := t.Root().Nodes[0].(*nodes.Output)
	if !ok || len(t.Root().Nodes) != 1 {
		return nil, &JinjaError{Expr: whole, Msg: "not a single expression", Syntax: true}
	}
	expr := withoutPyStr(out.Expression)
	alt := withoutPyStr(out.Alternative)
	ev := &exec.Evaluator{
		Config: jinjaConfig,
		Environment: &exec.Environment{
			Context:           jinjaEnvironment.Context.Inherit().Update(ctx),
			Filters:           jinjaEnvironment.Filters,
			Tests:             jinjaEnvironment.Tests,
			ControlStructures: jinjaEnvironment.ControlStructures,
			Methods:           jinjaEnvironment.Methods,
		},
		Loader: noFiles{},
	}
	var v *exec.Value
	func() {
		defer func() {
			if r := recover(); r != nil {
				v = exec.AsValue(fmt.Errorf("%v", r))
			}
		}()
		if out.Condition != nil {
			c := ev.Eval(out.Condition)
			if c.IsError() {
				v = c
				return
			}
			if c.IsTrue() {
				v = ev.Eval(expr)
			} else if alt != nil {
				v = ev.Eval(alt)
			} else {
				v = exec.AsValue(nil)
			}
			return
		}
		v = ev.Eval(expr)
	}()
	if v.IsError() {
		if js.limit != nil {
			return nil, jinjaErr(whole, js.limit)
		}
		return nil, jinjaErr(whole, errors.New(v.Error()))
	}
	res, err := fromJinja(v)
	if err != nil {
		return nil, jinjaErr(whole, err)
	}
	if err := checkSize(res, js.lim.MaxSize, 0, js.lim.MaxDepth); err != nil {
		return nil, jinjaErr(whole, err)
	}
	return res, nil
}

func jinjaErr(s string, err error) error {
	var le *LimitExceeded
	msg := err.Error()
	if errors.As(err, &le) {
		return &JinjaError{Expr: s, Msg: le.Error(), Err: le}
	}
	var je *JinjaError
	if errors.As(err, &je) {
		return je
	}
	syntax := strings.Contains(msg, "failed to parse template")
	return &JinjaError{Expr: s, Msg: msg, Syntax: syntax, Err: err}
}

// limitedWriter collects rendered text, failing once it passes the size
// limit or the deadline: every write is a step.
type limitedWriter struct {
	js  *jinjaState
	b   strings.Builder
	err error
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.b.Len()+len(p) > w.js.lim.MaxSize {
		w.err = &LimitExceeded{What: fmt.Sprintf("rendered text exceeds the size limit of %d bytes", w.js.lim.MaxSize)}
		return 0, w.err
	}
	if err := w.js.charge(1); err != nil {
		w.err = err
		return 0, err
	}
	return w.b.Write(p)
}

// fromJinja converts a gonja value into the JSON value model.
func fromJinja(v *exec.Value) (any, error) {
	if v == nil || v.IsNil() {
		return nil, nil
	}
	x, err := pyValue(v)
	if err != nil {
		return nil, err
	}
	return deTuple(x), nil
}

// validateJinja checks a Jinja string's syntax as Mistral does at upload.
func validateJinja(s string) error {
	if _, err := parseJinja(s); err != nil {
		e := jinjaErr(s, err)
		var je *JinjaError
		if errors.As(e, &je) {
			je.Syntax = true
		}
		return e
	}
	return nil
}

// pyGetattr is `x.name` (pyOutputs rewrites it into x|__getattr('name')):
// gonja's lookup, an attribute and then an item, as Jinja2's getattr; what
// is missing is StrictUndefined, whose error Jinja2 words
// "'dict object' has no attribute 'name'".
func pyGetattr(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	name := params.First().String()
	if !in.IsNil() {
		if v, ok := in.GetAttribute(name); ok {
			return v
		}
		if v, ok := in.GetItem(name); ok {
			return v
		}
	}
	if strings.HasPrefix(name, "__") && strings.HasSuffix(name, "__") && len(name) > 4 {
		// A Python object has its dunder attributes, which the sandbox
		// refuses to give.
		typ := strings.TrimSuffix(objectTypeRepr(e, in), " object")
		typ = typ[strings.LastIndexByte(typ, '.')+1:]
		if typ == "None" {
			typ = "NoneType"
		}
		return exec.AsValue(fmt.Errorf("SecurityError: access to attribute %s of %s object is unsafe.", yaql.PyRepr(name), yaql.PyRepr(typ)))
	}
	return exec.AsValue(fmt.Errorf("UndefinedError: %s has no attribute %s", yaql.PyRepr(objectTypeRepr(e, in)), yaql.PyRepr(name)))
}

// pyGetitem is `x[key]` (rewritten into x|__getitem(key)): an item and,
// for a string key, then an attribute, as Jinja2's getitem; a missing one
// is StrictUndefined ("list object has no element 9" for a number).
func pyGetitem(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	arg := params.First()
	var key any
	switch {
	case arg.IsString():
		key = arg.String()
	case arg.IsInteger():
		key = arg.Integer()
	case arg.IsNil():
		return exec.AsValue(fmt.Errorf("argument is undefined to access: %s", in))
	default:
		return exec.AsValue(fmt.Errorf("argument %s does not evaluate to string or integer", arg))
	}
	if !in.IsNil() {
		if v, ok := in.GetItem(key); ok {
			return v
		}
		if k, ok := key.(string); ok {
			if v, ok := in.GetAttribute(k); ok {
				return v
			}
		}
	}
	if k, ok := key.(string); ok {
		return exec.AsValue(fmt.Errorf("UndefinedError: %s has no attribute %s", yaql.PyRepr(objectTypeRepr(e, in)), yaql.PyRepr(k)))
	}
	return exec.AsValue(fmt.Errorf("UndefinedError: %s has no element %s", objectTypeRepr(e, in), yaql.PyRepr(key)))
}

// objectTypeRepr is Jinja2's object_type_repr: "None", or the type's name
// and "object" ("dict object"); `_` of a workflow expression is Mistral's
// ContextView.
func objectTypeRepr(e *exec.Evaluator, in *exec.Value) string {
	if in.IsNil() {
		return "None"
	}
	if js := stateOf(e); js != nil && js.env != nil && js.env.View != nil && sameMap(in.Interface(), js.root) {
		return "mistral.workflow.data_flow.ContextView object"
	}
	return jinjaTypeName(in) + " object"
}

// sameMap reports whether a and b are the same map (not equal ones).
func sameMap(a, b any) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	return va.Kind() == reflect.Map && vb.Kind() == reflect.Map && va.UnsafePointer() == vb.UnsafePointer()
}
