package yaql

import (
	"fmt"
)

// impl is one form (function or method) of a built-in. min and max count
// arguments including the receiver in method form; max -1 is unbounded.
type impl struct {
	min, max int
	run      func(c *inv) (any, error)
	// params names the parameters (receiver first in method form) so that
	// `name => value` arguments bind by name, as yaql's keyword arguments do
	// (xs.delete(0, count => 2)). Built-ins without params see such
	// arguments as *Mapping nodes (dict, switch, let, format).
	params []string
}

// builtin is a yaql standard library name. yaql distinguishes functions
// (f(x)), methods (x.f()) and extension methods (both); the two forms may
// even mean different things (max(a, b) versus xs.max()).
type builtin struct {
	fn, meth *impl
}

var builtins = map[string]*builtin{}

// named gives the most recently registered forms of name their parameter
// names, enabling keyword arguments.
func named(name string, params ...string) {
	b := builtins[name]
	for _, im := range []*impl{b.fn, b.meth} {
		if im != nil {
			im.params = params
		}
	}
}

// bindNamed moves `param => value` arguments into their positional slots.
// A slot left empty before a filled one is an error, as in yaql.
func (c *inv) bindNamed(params []string) error {
	var positional []Node
	var byName map[int]Node
	for _, n := range c.args {
		m, ok := n.(*Mapping)
		if !ok {
			positional = append(positional, n)
			continue
		}
		k, ok := m.Key.(*Keyword)
		if !ok {
			positional = append(positional, n)
			continue
		}
		idx := -1
		for i, p := range params {
			if p == k.Name {
				idx = i
			}
		}
		if c.method {
			idx--
		}
		if idx < 0 {
			return c.st.errAt(m, "%s() has no parameter %q", c.name, k.Name)
		}
		if byName == nil {
			byName = map[int]Node{}
		}
		if _, dup := byName[idx]; dup || idx < len(positional) {
			return c.st.errAt(m, "%s() got parameter %q twice", c.name, k.Name)
		}
		byName[idx] = m.Value
	}
	if byName == nil {
		return nil
	}
	args := positional
	for len(byName) > 0 {
		n, ok := byName[len(args)]
		if !ok {
			return c.errf("%s(): missing argument %q", c.name, params[len(args)+btoi(c.method)])
		}
		delete(byName, len(args))
		args = append(args, n)
	}
	c.args = args
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// register adds a built-in; forms is "F", "M" or "MF". A duplicate
// registration is a programming error and panics at start-up.
func register(name, forms string, min, max int, run func(c *inv) (any, error)) {
	b := builtins[name]
	if b == nil {
		b = &builtin{}
		builtins[name] = b
	}
	im := &impl{min: min, max: max, run: run}
	for _, f := range forms {
		switch f {
		case 'F':
			if b.fn != nil {
				panic("yaql: duplicate function " + name)
			}
			b.fn = im
		case 'M':
			if b.meth != nil {
				panic("yaql: duplicate method " + name)
			}
			b.meth = im
		}
	}
}

// lazy marks built-ins whose yaql counterparts return Python iterators:
// their list results become iterators (see iterator).
func lazy(names ...string) {
	for _, name := range names {
		b := builtins[name]
		for _, im := range []*impl{b.fn, b.meth} {
			if im == nil {
				continue
			}
			run := im.run
			im.run = func(c *inv) (any, error) {
				v, err := run(c)
				if l, ok := v.([]any); ok && err == nil {
					return iterator(l), nil
				}
				return v, err
			}
		}
	}
}

// inv is one call of a built-in. Arguments stay unevaluated until the
// built-in asks: as a value (arg) or as a lambda run per item (lambda).
// In method form argument 0 is the receiver, already evaluated.
type inv struct {
	st     *state
	node   Node
	name   string
	scope  *Scope
	args   []Node
	method bool
	recv   any
}

func (c *inv) nargs() int {
	if c.method {
		return len(c.args) + 1
	}
	return len(c.args)
}

func (c *inv) argNode(i int) Node {
	if c.method {
		if i == 0 {
			return nil
		}
		return c.args[i-1]
	}
	return c.args[i]
}

// arg evaluates argument i as a plain value.
func (c *inv) arg(i int) (any, error) {
	if c.method && i == 0 {
		return c.recv, nil
	}
	n := c.argNode(i)
	if m, ok := n.(*Mapping); ok {
		return nil, c.st.errAt(m, "%s() takes no key => value argument here", c.name)
	}
	return c.st.eval(n, c.scope)
}

// all evaluates every argument as a plain value.
func (c *inv) all() ([]any, error) {
	out := make([]any, c.nargs())
	for i := range out {
		v, err := c.arg(i)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// lambda evaluates argument i with `$` (and `$1`, `$2`, ...) bound to
// params, as yaql's Lambda parameters do.
func (c *inv) lambda(i int, params ...any) (any, error) {
	n := c.argNode(i)
	if n == nil {
		return nil, fmt.Errorf("%s(): the receiver is not a lambda", c.name)
	}
	if err := c.st.step(n, 1); err != nil {
		return nil, err
	}
	return c.st.eval(n, c.scope.lambdaScope(params))
}

// eager wraps a built-in that wants all its arguments evaluated.
func eager(f func(c *inv, a []any) (any, error)) func(c *inv) (any, error) {
	return func(c *inv) (any, error) {
		a, err := c.all()
		if err != nil {
			return nil, err
		}
		return f(c, a)
	}
}

// tick charges k steps to the evaluation budget.
func (c *inv) tick(k int) error { return c.st.step(c.node, k) }

func (c *inv) errf(format string, args ...any) error {
	return c.st.errAt(c.node, format, args...)
}

// mismatchf is errf for arguments that fit none of yaql's overloads of the
// function: yaql raises NoMatchingFunctionException, or
// NoMatchingMethodException for a method call.
func (c *inv) mismatchf(format string, args ...any) error {
	py := pyNoMatchingFunction(c.name)
	if c.method {
		py = pyNoMatchingMethod(c.name, c.recv)
	}
	return c.st.pyErrAt(c.node, py, format, args...)
}
