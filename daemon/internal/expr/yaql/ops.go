package yaql

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
)

var errOverflow = errors.New("integer overflow (YAQL integers are limited to 64 bits here)")

// binop applies a strict binary operator to two evaluated operands, with
// Python's (and so yaql's) typing: bool is not a number for arithmetic,
// int op int stays int, "/" on ints is floor division.
func (st *state) binop(n Node, op string, l, r any) (any, error) {
	switch op {
	case "+", "-", "*", "/", "=", "!=":
		if v, ok, err := timeOp(op, l, r); ok {
			if err != nil {
				return nil, st.wrapAt(n, err)
			}
			return v, nil
		}
	}
	switch op {
	case "=":
		return equal(l, r), nil
	case "!=":
		return !equal(l, r), nil
	case "<", "<=", ">", ">=":
		c, ok := compare(l, r)
		if !ok {
			return nil, st.pyErrAt(n, pyNoMatchingFunction("#operator_"+op), "cannot compare %s and %s with %s", typeName(l), typeName(r), op)
		}
		switch op {
		case "<":
			return c < 0, nil
		case "<=":
			return c <= 0, nil
		case ">":
			return c > 0, nil
		}
		return c >= 0, nil
	case "in":
		if s, ok := r.(string); ok {
			if sub, ok := l.(string); ok {
				return strings.Contains(s, sub), nil
			}
			return nil, st.pyErrAt(n, pyNoMatchingFunction("#operator_in"), "cannot test %s in %s", typeName(l), typeName(r))
		}
		if _, ok := asList(r); ok {
			return st.member(n, r, l)
		}
		return nil, st.pyErrAt(n, pyNoMatchingFunction("#operator_in"), "cannot test %s in %s", typeName(l), typeName(r))
	case "=~", "!~":
		s, ok1 := l.(string)
		pat, ok2 := r.(string)
		if !ok1 || !ok2 {
			return nil, st.pyErrAt(n, pyNoMatchingFunction("#operator_"+op), "%s needs a string and a pattern, got %s and %s", op, typeName(l), typeName(r))
		}
		re, err := regexp.Compile(pat)
		if err != nil {
			return nil, st.wrapAt(n, fmt.Errorf("bad regular expression: %w", err))
		}
		return re.MatchString(s) == (op == "=~"), nil
	case "+":
		switch a := l.(type) {
		case string:
			if b, ok := r.(string); ok {
				if len(a)+len(b) > st.maxSize {
					return nil, st.sizeErr(n, len(a)+len(b))
				}
				return a + b, nil
			}
		case []any:
			if b, ok := r.([]any); ok {
				if len(a)+len(b) > st.maxSize {
					return nil, st.sizeErr(n, len(a)+len(b))
				}
				out := make([]any, 0, len(a)+len(b))
				return append(append(out, a...), b...), nil
			}
		case pySet:
			// Two sets make their union.
			if b, ok := r.(pySet); ok {
				return st.union(n, a, b)
			}
		case map[string]any, *pyDict:
			// dict(left).update(right), frozen.
			if b, ok := asDict(r); ok {
				d, _ := asDict(a)
				out := d.clone(false, b.len())
				for _, k := range b.order() {
					out.put(k, b.m[k])
				}
				return out, nil
			}
		}
		// Any other two collections (lists, sets, views, iterators; not
		// strings or dicts) chain into an iterator.
		if a, ok := asList(l); ok {
			if b, ok := asList(r); ok {
				if len(a)+len(b) > st.maxSize {
					return nil, st.sizeErr(n, len(a)+len(b))
				}
				out := make(iterator, 0, len(a)+len(b))
				return append(append(out, a...), b...), nil
			}
		}
		return st.arith(n, op, l, r)
	case "*":
		if s, k, ok := repeatOperands(l, r); ok {
			return st.repeat(n, s, k)
		}
		return st.arith(n, op, l, r)
	case "-", "/", "mod":
		return st.arith(n, op, l, r)
	}
	return nil, st.errAt(n, "unknown operator %s", op)
}

func (st *state) sizeErr(n Node, size int) error {
	return &Error{Kind: LimitError, Expr: st.src, Pos: n.Pos(), Msg: fmt.Sprintf("result of %d exceeds the size limit of %d", size, st.maxSize)}
}

// repeatOperands recognises str*int, int*str, list*int and int*list; a
// boolean counts as 0 or 1, as in Python.
func repeatOperands(l, r any) (any, int64, bool) {
	if b, ok := r.(bool); ok {
		r = int64(btoi(b))
	}
	if b, ok := l.(bool); ok {
		l = int64(btoi(b))
	}
	if k, ok := r.(int64); ok {
		switch l.(type) {
		case string, []any, pyList:
			return l, k, true
		}
	}
	if k, ok := l.(int64); ok {
		switch r.(type) {
		case string, []any, pyList:
			return r, k, true
		}
	}
	return nil, 0, false
}

func (st *state) repeat(n Node, s any, k int64) (any, error) {
	if k < 0 {
		k = 0
	}
	switch x := s.(type) {
	case string:
		if k > 0 && int64(len(x)) > int64(st.maxSize)/k {
			return nil, st.sizeErr(n, st.maxSize+1)
		}
		return strings.Repeat(x, int(k)), nil
	case []any, pyList:
		l, _ := asList(x)
		if k > 0 && int64(len(l)) > int64(st.maxSize)/k {
			return nil, st.sizeErr(n, st.maxSize+1)
		}
		out := make([]any, 0, len(l)*int(k))
		for i := int64(0); i < k; i++ {
			out = append(out, l...)
		}
		if _, ok := x.(pyList); ok {
			return pyList(out), nil
		}
		return out, nil
	}
	return nil, st.pyErrAt(n, pyNoMatchingFunction("#operator_*"), "cannot repeat %s", typeName(s))
}

func (st *state) arith(n Node, op string, l, r any) (any, error) {
	if !isNumber(l) || !isNumber(r) {
		verb := map[string]string{"+": "add", "-": "subtract", "*": "multiply", "/": "divide", "mod": "take mod of"}[op]
		return nil, st.pyErrAt(n, pyNoMatchingFunction("#operator_"+op), "cannot %s %s and %s", verb, typeName(l), typeName(r))
	}
	a, aInt := l.(int64)
	b, bInt := r.(int64)
	if aInt && bInt {
		switch op {
		case "+":
			s := a + b
			if (s > a) != (b > 0) {
				return nil, st.wrapAt(n, errOverflow)
			}
			return s, nil
		case "-":
			s := a - b
			if (s < a) != (b > 0) {
				return nil, st.wrapAt(n, errOverflow)
			}
			return s, nil
		case "*":
			if a == 0 || b == 0 {
				return int64(0), nil
			}
			p := a * b
			if p/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
				return nil, st.wrapAt(n, errOverflow)
			}
			return p, nil
		case "/":
			if b == 0 {
				return nil, st.pyErrAt(n, "ZeroDivisionError: integer division or modulo by zero", "integer division by zero")
			}
			if a == math.MinInt64 && b == -1 {
				return nil, st.wrapAt(n, errOverflow)
			}
			q := a / b
			if (a%b != 0) && ((a < 0) != (b < 0)) {
				q-- // Python's // rounds toward negative infinity
			}
			return q, nil
		case "mod":
			if b == 0 {
				return nil, st.pyErrAt(n, "ZeroDivisionError: integer modulo by zero", "integer modulo by zero")
			}
			if b == -1 {
				return int64(0), nil
			}
			m := a % b
			if m != 0 && ((m < 0) != (b < 0)) {
				m += b
			}
			return m, nil
		}
	}
	x, y := toFloat(l), toFloat(r)
	switch op {
	case "+":
		return x + y, nil
	case "-":
		return x - y, nil
	case "*":
		return x * y, nil
	case "/":
		if y == 0 {
			return nil, st.pyErrAt(n, "ZeroDivisionError: float division by zero", "float division by zero")
		}
		return x / y, nil
	case "mod":
		if y == 0 {
			return nil, st.pyErrAt(n, "ZeroDivisionError: float modulo", "float modulo by zero")
		}
		m := math.Mod(x, y)
		if m != 0 && ((m < 0) != (y < 0)) {
			m += y
		}
		return m, nil
	}
	return nil, st.errAt(n, "unknown operator %s", op)
}

// union is Python's set union: the items of a and then those of b that a
// lacks; every item of b is hashed.
func (st *state) union(n Node, a, b []any) (any, error) {
	out := append(pySet{}, a...)
	for _, y := range b {
		if name := unhashable(y, 0); name != "" {
			return nil, st.errAt(n, "TypeError: unhashable type: '%s'", name)
		}
		found := false
		for _, x := range out {
			if err := st.step(n, 1); err != nil {
				return nil, err
			}
			if equal(x, y) {
				found = true
				break
			}
		}
		if !found {
			out = append(out, y)
		}
	}
	if len(out) > st.maxSize {
		return nil, st.sizeErr(n, len(out))
	}
	return out, nil
}
