package yaql

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// HostFunc is a function the embedding program provides (Mistral's task(),
// env(), execution(), ...). It receives evaluated arguments; in method form
// `x.f(a)` the receiver comes first: f(x, a).
type HostFunc func(args ...any) (any, error)

// Limits bound one evaluation so that a hostile expression can neither spin
// nor allocate without end. Zero fields take the defaults.
type Limits struct {
	MaxSteps int       // evaluation steps (node visits and per-item work)
	MaxSize  int       // elements of a produced list/dict, bytes of a produced string
	MaxDepth int       // nesting of evaluation (lambdas within lambdas, nested calls)
	Deadline time.Time // wall clock; zero means none. Checked every deadlineEvery steps.
}

// DefaultLimits are generous for workflow data and small for an attacker:
// a million steps take well under a second.
var DefaultLimits = Limits{MaxSteps: 1_000_000, MaxSize: 1 << 20, MaxDepth: 256}

// deadlineEvery is how many steps pass between two looks at the clock:
// often enough to stop within a millisecond, rarely enough to cost nothing.
const deadlineEvery = 1024

// Scope is the variable scope of an evaluation: `$` and `$name` values.
// Lambdas (the selector of select, the predicate of where) run in a child
// scope whose `$` is the current item.
type Scope struct {
	parent *Scope
	vars   map[string]any       // named variables (let, Env.Vars)
	args   []any                // positional lambda arguments: $1 (= $), $2, ...
	funcs  map[string]*userFunc // functions def() defined in this context
}

// userFunc is a function made by def(name, body): body is evaluated in
// the scope def() ran in, with $1..$n bound to the call's arguments.
type userFunc struct {
	body  Node
	scope *Scope
}

// userFunc finds the innermost def() of name visible from s.
func (s *Scope) userFunc(name string) *userFunc {
	for c := s; c != nil; c = c.parent {
		if f, ok := c.funcs[name]; ok {
			return f
		}
	}
	return nil
}

// NewScope starts a root scope whose `$` is data. In yaql `$` is another
// name for `$1`.
func NewScope(data any) *Scope {
	return &Scope{args: []any{data}}
}

// Child makes a scope that sees s's variables and may shadow them.
func (s *Scope) Child(vars map[string]any) *Scope { return &Scope{parent: s, vars: vars} }

// lambdaScope binds $1..$n (and so $) for one call of a lambda without
// allocating a map: this is the hot path of select and where.
func (s *Scope) lambdaScope(args []any) *Scope { return &Scope{parent: s, args: args} }

func (s *Scope) lookup(name string) (any, bool) {
	if name == "" {
		name = "1"
	}
	pos := 0
	if n, err := strconv.Atoi(name); err == nil && n > 0 && name[0] != '0' && name[0] != '+' {
		pos = n
	}
	for c := s; c != nil; c = c.parent {
		if pos > 0 && pos <= len(c.args) {
			return c.args[pos-1], true
		}
		if v, ok := c.vars[name]; ok {
			return v, true
		}
	}
	return nil, false
}

// Env is everything one evaluation needs besides the tree.
type Env struct {
	Data  any                 // the value of `$`
	Vars  map[string]any      // extra `$name` variables (name without "$")
	Funcs map[string]HostFunc // host functions; they shadow built-ins of the same name
	// FuncParams names the parameters of host functions, so that
	// `name => value` arguments bind to their positions (missing ones
	// before a bound one are null). A function not listed takes no
	// keyword arguments.
	FuncParams map[string][]string
	// OrderedArgs lists the host functions that receive a dict built by
	// the expression as an OrderedDict, in its insertion order (json_dump
	// prints keys in that order); the others receive map[string]any.
	OrderedArgs map[string]bool
	Limits      Limits
}

// state is per evaluation: budgets, host functions and the source for errors.
type state struct {
	src      string
	funcs    map[string]HostFunc
	fparams  map[string][]string
	ordered  map[string]bool
	steps    int
	maxSteps int
	maxSize  int
	maxDepth int
	depth    int
	deadline time.Time
	nextTime int
}

// Eval evaluates a parsed expression. src is the text n was parsed from; it
// is only used in error messages.
func Eval(src string, n Node, env *Env) (any, error) {
	v, err := evalRaw(src, n, env)
	if err != nil {
		return nil, err
	}
	v = finalize(v)
	if bad := unstorable(v); bad != nil {
		return nil, &Error{Kind: EvalError, Expr: src, Pos: n.Pos(), Msg: fmt.Sprintf("the result holds a %s, which cannot be stored as JSON", typeName(bad))}
	}
	return v, nil
}

// evalRaw evaluates n and returns the value as yaql holds it, after the
// check of yaql's output conversion (a set of containers fails).
func evalRaw(src string, n Node, env *Env) (any, error) {
	if env == nil {
		env = &Env{}
	}
	data, err := Normalize(env.Data)
	if err != nil {
		return nil, &Error{Kind: EvalError, Expr: src, Msg: "bad input data: " + err.Error(), Err: err}
	}
	lim := env.Limits
	if lim.MaxSteps <= 0 {
		lim.MaxSteps = DefaultLimits.MaxSteps
	}
	if lim.MaxSize <= 0 {
		lim.MaxSize = DefaultLimits.MaxSize
	}
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = DefaultLimits.MaxDepth
	}
	st := &state{src: src, funcs: env.Funcs, fparams: env.FuncParams, ordered: env.OrderedArgs, maxSteps: lim.MaxSteps, maxSize: lim.MaxSize,
		maxDepth: lim.MaxDepth, deadline: lim.Deadline, nextTime: deadlineEvery}
	scope := NewScope(data)
	if len(env.Vars) > 0 {
		vars := make(map[string]any, len(env.Vars))
		for k, v := range env.Vars {
			if vars[k], err = Normalize(v); err != nil {
				return nil, &Error{Kind: EvalError, Expr: src, Msg: fmt.Sprintf("bad variable $%s: %v", k, err), Err: err}
			}
		}
		scope = scope.Child(vars)
	}
	v, err := st.eval(n, scope)
	if err != nil {
		return nil, err
	}
	if name := unstorableSet(v, 0); name != "" {
		return nil, &Error{Kind: EvalError, Expr: src, Pos: n.Pos(), Msg: fmt.Sprintf("the result holds a set (toSet(), set(), keys() or items()) with a %s inside, which Mistral cannot store: TypeError: unhashable type: '%s'", name, name)}
	}
	return v, nil
}

// EvalString parses (through a small cache: workflows evaluate the same
// few texts over and over) and evaluates in one step.
func EvalString(src string, env *Env) (any, error) {
	n, err := ParseCached(src)
	if err != nil {
		return nil, err
	}
	return Eval(src, n, env)
}

var parseCache = struct {
	sync.Mutex
	m map[string]Node
}{m: map[string]Node{}}

const parseCacheSize = 4096

// ParseCached is Parse with a bounded cache of successful parses. Trees
// are immutable, so one may be shared by concurrent evaluations.
func ParseCached(src string) (Node, error) {
	parseCache.Lock()
	n, ok := parseCache.m[src]
	parseCache.Unlock()
	if ok {
		return n, nil
	}
	n, err := Parse(src)
	if err != nil {
		return nil, err
	}
	parseCache.Lock()
	if len(parseCache.m) >= parseCacheSize {
		clear(parseCache.m)
	}
	parseCache.m[src] = n
	parseCache.Unlock()
	return n, nil
}

func (st *state) errAt(n Node, format string, args ...any) *Error {
	return &Error{Kind: EvalError, Expr: st.src, Pos: n.Pos(), Msg: fmt.Sprintf(format, args...)}
}

// pyErrAt is errAt for an error whose Python exception (Error.Py) is
// known.
func (st *state) pyErrAt(n Node, py string, format string, args ...any) *Error {
	e := st.errAt(n, format, args...)
	e.Py = py
	return e
}

// yaqlProperties are the names yaql registers as #property#name (for
// datetimes and timespans): `x.name` on another value finds the name but
// no overload for it.
var yaqlProperties = map[string]bool{
	"microseconds": true, "milliseconds": true, "seconds": true, "minutes": true, "hours": true, "days": true,
	"year": true, "month": true, "day": true, "hour": true, "minute": true, "second": true, "microsecond": true,
	"date": true, "time": true, "weekday": true, "utc": true, "offset": true, "timestamp": true,
}

// notBuiltin are the functions of yaql's standard library that Sirocco
// does not provide (most need delegates, which Mistral turns off).
var notBuiltin = map[string]bool{
	"add": true, "assert": true, "characters": true, "generate": true, "generateMany": true,
	"map": true, "norm": true, "random": true, "remove": true, "replaceBy": true,
	"replaceMany": true, "unpack": true, "with": true,
}

// pyNoProperty is what yaql raises for `x.name` on a value that is
// neither a dict nor a collection: it looks for the function
// #property#name.
func pyNoProperty(name string) string {
	if yaqlProperties[name] {
		return pyNoMatchingFunction("#property#" + name)
	}
	return pyNoFunction("#property#" + name)
}

// wrapAt turns any error raised under node n into an *Error pointing at n,
// keeping an *Error raised deeper (it already points at the right place).
func (st *state) wrapAt(n Node, err error) error {
	var ye *Error
	if errors.As(err, &ye) {
		return err
	}
	return &Error{Kind: EvalError, Expr: st.src, Pos: n.Pos(), Msg: err.Error(), Err: err}
}

// step charges the budget; every node visit and every item a built-in
// touches costs one step.
func (st *state) step(n Node, k int) error {
	st.steps += k
	if st.steps > st.maxSteps {
		return &Error{Kind: LimitError, Expr: st.src, Pos: n.Pos(), Msg: fmt.Sprintf("more than %d evaluation steps", st.maxSteps)}
	}
	if st.steps >= st.nextTime {
		st.nextTime = st.steps + deadlineEvery
		if !st.deadline.IsZero() && time.Now().After(st.deadline) {
			return &Error{Kind: LimitError, Expr: st.src, Pos: n.Pos(), Msg: "evaluation ran past its deadline"}
		}
	}
	return nil
}

// checkSize refuses results larger than the size budget.
func (st *state) checkSize(n Node, v any) error {
	size := 0
	switch x := v.(type) {
	case string:
		size = len(x)
	case []any:
		size = len(x)
	case pyList:
		size = len(x)
	case iterator:
		size = len(x)
	case pySet:
		size = len(x)
	case map[string]any:
		size = len(x)
	case *pyDict:
		size = x.len()
	default:
		return nil
	}
	if size > st.maxSize {
		return &Error{Kind: LimitError, Expr: st.src, Pos: n.Pos(), Msg: fmt.Sprintf("result of %d exceeds the size limit of %d", size, st.maxSize)}
	}
	return st.step(n, size/64)
}

func (st *state) eval(n Node, sc *Scope) (any, error) {
	if err := st.step(n, 1); err != nil {
		return nil, err
	}
	st.depth++
	defer func() { st.depth-- }()
	if st.depth > st.maxDepth*8 {
		// A parsed tree is at most maxDepth deep in brackets; calls and
		// lambdas add a few frames per level, so this bound only trips on
		// recursion that the grammar does not bound (def/call).
		return nil, &Error{Kind: LimitError, Expr: st.src, Pos: n.Pos(), Msg: fmt.Sprintf("evaluation nested deeper than %d", st.maxDepth*8)}
	}
	switch n := n.(type) {
	case *Const:
		return n.Val, nil
	case *Keyword:
		return n.Name, nil
	case *Var:
		v, _ := sc.lookup(n.Name) // an unknown $name is null, as in yaql
		return v, nil
	case *Paren:
		return st.eval(n.X, sc)
	case *List:
		out := make([]any, 0, len(n.Items))
		for _, it := range n.Items {
			if _, ok := it.(*Mapping); ok {
				return nil, st.errAt(it, "key => value is not allowed in a list")
			}
			v, err := st.eval(it, sc)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case *Dict:
		out := newDict(len(n.Items), false)
		for _, it := range n.Items {
			m := it.(*Mapping)
			k, err := st.eval(m.Key, sc)
			if err != nil {
				return nil, err
			}
			ks, err := st.dictKey(m.Key, k)
			if err != nil {
				return nil, err
			}
			v, err := st.eval(m.Value, sc)
			if err != nil {
				return nil, err
			}
			out.put(ks, v)
		}
		return out, nil
	case *Mapping:
		return nil, st.errAt(n, "key => value is only allowed in an argument list or a dict")
	case *Unary:
		return st.evalUnary(n, sc)
	case *Binary:
		return st.evalBinary(n, sc)
	case *Index:
		return st.evalIndex(n, sc)
	case *Call:
		return st.call(n, n.Name, nil, false, n.Args, sc)
	}
	return nil, st.errAt(n, "unknown node %T", n)
}

// dictKey turns a key value into a JSON object key the way Python's
// json.dumps does (1 -> "1", true -> "true", null -> "null").
func (st *state) dictKey(n Node, k any) (string, error) {
	switch x := k.(type) {
	case string:
		return x, nil
	case nil:
		return "null", nil
	case bool:
		if x {
			return "true", nil
		}
		return "false", nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return pyFloat(x), nil
	}
	return "", st.errAt(n, "a %s cannot be a dict key", typeName(k))
}

func (st *state) evalUnary(n *Unary, sc *Scope) (any, error) {
	x, err := st.eval(n.X, sc)
	if err != nil {
		return nil, err
	}
	switch n.Op {
	case "not":
		return !truthy(x), nil
	case "-":
		switch v := x.(type) {
		case int64:
			if v == -v && v != 0 {
				return nil, st.errAt(n, "integer overflow")
			}
			return -v, nil
		case float64:
			return -v, nil
		case timeSpan:
			return -v, nil
		}
	case "+":
		if isNumber(x) || isTimeSpan(x) {
			return x, nil
		}
	}
	return nil, st.pyErrAt(n, pyNoMatchingFunction("#unary_operator_"+n.Op), "cannot apply unary %s to %s", n.Op, typeName(x))
}

func (st *state) evalBinary(n *Binary, sc *Scope) (any, error) {
	switch n.Op {
	case ".", "?.":
		recv, err := st.eval(n.L, sc)
		if err != nil {
			return nil, err
		}
		if n.Op == "?." && recv == nil {
			return nil, nil
		}
		return st.dot(n, recv, n.R, sc)
	case "and":
		l, err := st.eval(n.L, sc)
		if err != nil || !truthy(l) {
			return l, err
		}
		return st.eval(n.R, sc)
	case "or":
		l, err := st.eval(n.L, sc)
		if err != nil || truthy(l) {
			return l, err
		}
		return st.eval(n.R, sc)
	case "->":
		return st.arrow(n, sc)
	}
	l, err := st.eval(n.L, sc)
	if err != nil {
		return nil, err
	}
	r, err := st.eval(n.R, sc)
	if err != nil {
		return nil, err
	}
	v, err := st.binop(n, n.Op, l, r)
	if err != nil {
		return nil, err
	}
	return v, st.checkSize(n, v)
}

// dot is yaql's "." operator: `x.name` reads a dict key (or the key of every
// dict in a list), `x.f(args)` calls f with x as its first argument.
func (st *state) dot(n Node, recv any, rhs Node, sc *Scope) (any, error) {
	switch r := rhs.(type) {
	case *Call:
		return st.call(r, r.Name, recv, true, r.Args, sc)
	case *Keyword:
		return st.attr(r, recv, r.Name)
	}
	return nil, st.errAt(rhs, "after '.' expected a name or a method call")
}

func (st *state) attr(n Node, recv any, name string) (any, error) {
	if v, ok := timeAttr(recv, name); ok {
		return v, nil
	}
	switch x := recv.(type) {
	case map[string]any:
		v, ok := x[name]
		if !ok {
			return nil, st.pyErrAt(n, pyKeyError(name), "no such key %q in dict", name)
		}
		return v, nil
	case *pyDict:
		v, ok := x.get(name)
		if !ok {
			return nil, st.pyErrAt(n, pyKeyError(name), "no such key %q in dict", name)
		}
		return v, nil
	case []any, pyList, iterator, pySet, *dictView, *ordering:
		// Any collection: the key of every dict in it, lazily (yaql maps
		// over the items), so $.users.name is an iterator.
		l, _ := asList(x)
		out := make(iterator, 0, len(l))
		for _, e := range l {
			if err := st.step(n, 1); err != nil {
				return nil, err
			}
			v, err := st.attr(n, e, name)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return nil, st.pyErrAt(n, pyNoProperty(name), "no attribute %q on %s", name, typeName(recv))
}

func (st *state) evalIndex(n *Index, sc *Scope) (any, error) {
	x, err := st.eval(n.X, sc)
	if err != nil {
		return nil, err
	}
	args := make([]any, len(n.Args))
	for i, a := range n.Args {
		if args[i], err = st.eval(a, sc); err != nil {
			return nil, err
		}
	}
	// A list from the input is a tuple in yaql; one made by the
	// expression (pyList) is a Python list.
	seq := "tuple"
	if l, ok := x.(pyList); ok {
		x, seq = []any(l), "list"
	}
	switch c := x.(type) {
	case []any:
		if len(args) == 1 {
			if i, ok := args[0].(int64); ok {
				if i < 0 {
					i += int64(len(c))
				}
				if i < 0 || i >= int64(len(c)) {
					return nil, st.pyErrAt(n, "IndexError: "+seq+" index out of range", "index %v out of range for a list of %d", args[0], len(c))
				}
				return c[i], nil
			}
		}
	case map[string]any, *pyDict:
		m, _ := dictMap(c)
		if len(args) == 1 || len(args) == 2 {
			if name := unhashable(args[0], 0); name != "" {
				return nil, st.errAt(n, "TypeError: unhashable type: '%s'", name)
			}
			k, ok := args[0].(string)
			if !ok {
				// Keys are strings in the JSON model; yaql would look up the
				// non-string key and not find it.
				if len(args) == 2 {
					return args[1], nil
				}
				return nil, st.pyErrAt(n, pyKeyError(args[0]), "no such key %s in dict", yaqlStr(args[0]))
			}
			v, found := m[k]
			if found {
				return v, nil
			}
			if len(args) == 2 {
				return args[1], nil
			}
			return nil, st.pyErrAt(n, pyKeyError(k), "no such key %q in dict", k)
		}
	}
	return nil, st.pyErrAt(n, pyNoMatchingFunction("#indexer"), "cannot index %s with %s", typeName(x), describeArgs(args))
}

func describeArgs(args []any) string {
	s := ""
	for i, a := range args {
		if i > 0 {
			s += ", "
		}
		s += typeName(a)
	}
	if s == "" {
		return "nothing"
	}
	return s
}

// call resolves and runs a function. Host functions win over built-ins so
// the engine can provide Mistral's own functions; they get evaluated
// arguments. Built-ins get the argument nodes and evaluate them as they
// need (eagerly, or as lambdas).
func (st *state) call(n Node, name string, recv any, method bool, args []Node, sc *Scope) (any, error) {
	// def() defines a function, never a method (3.f() finds no f).
	if uf := sc.userFunc(name); uf != nil && !method {
		vals := make([]any, 0, len(args))
		for _, a := range args {
			if m, ok := a.(*Mapping); ok {
				return nil, st.errAt(m, "%s() takes no key => value argument", name)
			}
			v, err := st.eval(a, sc)
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
		}
		if err := st.step(n, 1); err != nil {
			return nil, err
		}
		return st.eval(uf.body, uf.scope.lambdaScope(vals))
	}
	if hf, ok := st.funcs[name]; ok && hf != nil {
		vals := make([]any, 0, len(args)+1)
		if method {
			vals = append(vals, recv)
		}
		var named map[int]any
		for _, a := range args {
			if m, ok := a.(*Mapping); ok {
				k, isKw := m.Key.(*Keyword)
				idx := -1
				if isKw {
					for i, p := range st.fparams[name] {
						if p == k.Name {
							idx = i
						}
					}
				}
				if idx < 0 {
					return nil, st.errAt(m, "function %q has no parameter %s", name, describeKey(m.Key))
				}
				v, err := st.eval(m.Value, sc)
				if err != nil {
					return nil, err
				}
				if named == nil {
					named = map[int]any{}
				}
				if _, dup := named[idx]; dup {
					return nil, st.errAt(m, "%s() got parameter %q twice", name, k.Name)
				}
				named[idx] = st.hostArg(name, v)
				continue
			}
			if named != nil {
				return nil, st.errAt(a, "positional argument after key => value argument")
			}
			v, err := st.eval(a, sc)
			if err != nil {
				return nil, err
			}
			vals = append(vals, st.hostArg(name, v))
		}
		if method {
			vals[0] = st.hostArg(name, vals[0])
		}
		for idx, v := range named {
			if idx < len(vals) {
				return nil, st.errAt(n, "%s() got parameter %q twice", name, st.fparams[name][idx])
			}
			for len(vals) <= idx {
				vals = append(vals, nil)
			}
			vals[idx] = v
		}
		res, err := hf(vals...)
		if err != nil {
			return nil, &Error{Kind: EvalError, Expr: st.src, Pos: n.Pos(), Msg: fmt.Sprintf("%s(): %v", name, err), Err: err}
		}
		res, err = fromHost(res, 0)
		if err != nil {
			return nil, st.wrapAt(n, fmt.Errorf("%s() returned %w", name, err))
		}
		return res, nil
	}
	f, ok := builtins[name]
	if !ok {
		if notBuiltin[name] {
			// yaql has it: what it would say depends on the arguments.
			return nil, st.errAt(n, "%s() is not supported", name)
		}
		if method {
			return nil, st.pyErrAt(n, pyNoMethod(name, recv), "unknown method %q", name)
		}
		return nil, st.pyErrAt(n, pyNoFunction(name), "unknown function %q", name)
	}
	im := f.fn
	if method {
		im = f.meth
	}
	if im == nil {
		if method {
			return nil, st.pyErrAt(n, pyNoMethod(name, recv), "%q is a function, not a method: write %s(...)", name, name)
		}
		return nil, st.pyErrAt(n, pyNoFunction(name), "unknown function %q (it is a method: write x.%s(...))", name, name)
	}
	c := &inv{st: st, node: n, name: name, scope: sc, args: args, method: method, recv: recv}
	if im.params != nil {
		if err := c.bindNamed(im.params); err != nil {
			return nil, err
		}
	}
	if na := c.nargs(); na < im.min || (im.max >= 0 && na > im.max) {
		py := pyNoMatchingFunction(name)
		if method {
			py = pyNoMatchingMethod(name, recv)
		}
		return nil, st.pyErrAt(n, py, "%s() takes %s, got %d", name, arity(im, method), na)
	}
	v, err := im.run(c)
	if err != nil {
		return nil, st.wrapAt(n, err)
	}
	return v, st.checkSize(n, v)
}

func arity(f *impl, method bool) string {
	lo, hi := f.min, f.max
	what := "arguments"
	if method {
		what = "arguments including the receiver"
	}
	switch {
	case hi < 0:
		return fmt.Sprintf("at least %d %s", lo, what)
	case lo == hi:
		return fmt.Sprintf("%d %s", lo, what)
	}
	return fmt.Sprintf("%d to %d %s", lo, hi, what)
}

// arrow is `context -> expr`: yaql's let() returns a scope and "->"
// evaluates the right side in it.
func (st *state) arrow(n *Binary, sc *Scope) (any, error) {
	l, err := st.eval(n.L, sc)
	if err != nil {
		return nil, err
	}
	s, ok := l.(*Scope)
	if !ok {
		return nil, st.errAt(n, "left side of -> must be a context (from let()), got %s", typeName(l))
	}
	return st.eval(n.R, s)
}

func describeKey(n Node) string {
	if k, ok := n.(*Keyword); ok {
		return fmt.Sprintf("%q", k.Name)
	}
	return "named by an expression"
}
