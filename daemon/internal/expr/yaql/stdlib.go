package yaql

import (
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The standard library: the yaql functions Mistral workflows use most
// (counted over Mistral's own definitions), with yaql's semantics checked
// against the reference implementation. Dicts read in insertion order (a
// dict of the input, whose order JSON lost, in sorted key order).

func init() {
	// Conversions and inspection.
	register("len", "MF", 1, 1, eager(func(c *inv, a []any) (any, error) { return length(c, a[0]) }))
	// count() counts the items of any collection (not a string or a dict).
	register("count", "M", 1, 1, eager(func(c *inv, a []any) (any, error) {
		xs, err := listArg(c, a[0])
		return int64(len(xs)), err
	}))
	register("str", "F", 1, 1, eager(func(c *inv, a []any) (any, error) { return yaqlStr(a[0]), nil }))
	register("int", "F", 1, 1, eager(toInt))
	register("float", "F", 1, 1, eager(toFloatFn))
	register("bool", "F", 1, 1, eager(func(c *inv, a []any) (any, error) { return truthy(a[0]), nil }))
	// list(a, b) is [a, b], but an iterator argument is spliced in.
	register("list", "F", 0, -1, eager(func(c *inv, a []any) (any, error) {
		out := make([]any, 0, len(a))
		for _, x := range a {
			if it, ok := x.(iterator); ok {
				out = append(out, it...)
				continue
			}
			out = append(out, x)
		}
		return out, nil
	}))
	register("dict", "F", 0, -1, dictFn)
	register("isList", "F", 1, 1, eager(isType(func(v any) bool {
		switch v.(type) {
		case []any, pyList:
			return true
		}
		return false
	})))
	register("isDict", "F", 1, 1, eager(isType(isDictValue)))
	register("isString", "F", 1, 1, eager(isType(func(v any) bool { _, ok := v.(string); return ok })))
	register("isInteger", "F", 1, 1, eager(isType(func(v any) bool { _, ok := v.(int64); return ok })))
	register("isNumber", "F", 1, 1, eager(isType(isNumber)))
	register("isBoolean", "F", 1, 1, eager(isType(func(v any) bool { _, ok := v.(bool); return ok })))

	// Dicts.
	view := func(kind viewKind) func(c *inv) (any, error) {
		return eager(func(c *inv, a []any) (any, error) {
			d, err := dictArg(c, a[0])
			if err != nil {
				return nil, err
			}
			return newView(kind, d), nil
		})
	}
	register("keys", "M", 1, 1, view(keysView))
	register("values", "M", 1, 1, view(valuesView))
	register("items", "M", 1, 1, view(itemsView))
	register("get", "M", 2, 3, eager(func(c *inv, a []any) (any, error) {
		d, err := dictArg(c, a[0])
		if err != nil {
			return nil, err
		}
		if err := c.hashable(a[1]); err != nil {
			return nil, err
		}
		k, ok := a[1].(string)
		if ok {
			if v, found := d.get(k); found {
				return v, nil
			}
		}
		if len(a) == 3 {
			return a[2], nil
		}
		return nil, nil
	}))
	register("containsKey", "M", 2, 2, eager(func(c *inv, a []any) (any, error) {
		d, err := dictArg(c, a[0])
		if err != nil {
			return nil, err
		}
		if err := c.hashable(a[1]); err != nil {
			return nil, err
		}
		k, ok := a[1].(string)
		_, found := d.get(k)
		return ok && found, nil
	}))
	register("containsValue", "M", 2, 2, eager(func(c *inv, a []any) (any, error) {
		d, err := dictArg(c, a[0])
		if err != nil {
			return nil, err
		}
		for _, v := range d.m {
			if equal(v, a[1]) {
				return true, nil
			}
		}
		return false, nil
	}))
	register("toDict", "M", 2, 3, func(c *inv) (any, error) {
		xs, err := listArg(c, c.recv)
		if err != nil {
			return nil, err
		}
		out := newDict(len(xs), true)
		for _, x := range xs {
			k, err := c.lambda(1, x)
			if err != nil {
				return nil, err
			}
			ks, err := c.st.dictKey(c.node, k)
			if err != nil {
				return nil, err
			}
			v := x
			if c.nargs() == 3 {
				if v, err = c.lambda(2, x); err != nil {
					return nil, err
				}
			}
			out.put(ks, v)
		}
		return out, nil
	})

	// Queries over lists; the lambda arguments see the item as `$`.
	register("select", "M", 2, 2, func(c *inv) (any, error) {
		xs, err := listArg(c, c.recv)
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, len(xs))
		for _, x := range xs {
			v, err := c.lambda(1, x)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	})
	where := func(c *inv) (any, error) {
		xs, err := listArg(c, c.recv)
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, len(xs))
		for _, x := range xs {
			v, err := c.lambda(1, x)
			if err != nil {
				return nil, err
			}
			if truthy(v) {
				out = append(out, x)
			}
		}
		return out, nil
	}
	register("where", "M", 2, 2, where)
	register("filter", "M", 2, 2, where)
	register("selectMany", "M", 2, 2, func(c *inv) (any, error) {
		xs, err := listArg(c, c.recv)
		if err != nil {
			return nil, err
		}
		var out []any
		for _, x := range xs {
			v, err := c.lambda(1, x)
			if err != nil {
				return nil, err
			}
			if l, ok := asList(v); ok {
				out = append(out, l...)
			} else {
				out = append(out, v)
			}
			if len(out) > c.st.maxSize {
				return nil, c.st.sizeErr(c.node, len(out))
			}
		}
		if out == nil {
			out = []any{}
		}
		return out, nil
	})
	register("first", "M", 1, 2, firstLast(true))
	named("first", "collection", "default")
	register("last", "M", 1, 2, firstLast(false))
	named("last", "collection", "default")
	register("sum", "M", 1, 2, eager(func(c *inv, a []any) (any, error) {
		xs, err := listArg(c, a[0])
		if err != nil {
			return nil, err
		}
		if len(a) == 2 {
			xs = append([]any{a[1]}, xs...)
		}
		if len(xs) == 0 {
			return nil, c.st.pyErrAt(c.node, "TypeError: reduce() of empty iterable with no initial value", "sum() of an empty list with no initial value")
		}
		acc := xs[0]
		for _, x := range xs[1:] {
			if err := c.tick(1); err != nil {
				return nil, err
			}
			if acc, err = c.st.binop(c.node, "+", acc, x); err != nil {
				return nil, err
			}
		}
		return acc, nil
	}))
	register("max", "M", 1, 2, eager(extremum(1)))
	register("min", "M", 1, 2, eager(extremum(-1)))
	register("max", "F", 2, 2, eager(func(c *inv, a []any) (any, error) { return pick(c, a[0], a[1], 1) }))
	register("min", "F", 2, 2, eager(func(c *inv, a []any) (any, error) { return pick(c, a[0], a[1], -1) }))
	register("contains", "M", 2, 2, eager(func(c *inv, a []any) (any, error) {
		if _, err := listArg(c, a[0]); err != nil {
			return nil, err
		}
		return c.st.member(c.node, a[0], a[1])
	}))
	register("indexOf", "M", 2, 4, eager(func(c *inv, a []any) (any, error) {
		if _, ok := a[0].(string); ok {
			return strFind(c, a, false)
		}
		if len(a) != 2 {
			return nil, c.errf("indexOf() on a list takes one item")
		}
		xs, err := listArg(c, a[0])
		if err != nil {
			return nil, err
		}
		for i, x := range xs {
			if equal(x, a[1]) {
				return int64(i), nil
			}
		}
		return int64(-1), nil
	}))
	register("any", "MF", 1, 2, anyAll(true))
	register("all", "MF", 1, 2, anyAll(false))
	register("distinct", "MF", 1, 2, func(c *inv) (any, error) {
		recv, err := c.arg(0)
		if err != nil {
			return nil, err
		}
		xs, err := listArg(c, recv)
		if err != nil {
			return nil, err
		}
		var out []any
		var seen seenSet
		for _, x := range xs {
			key := x
			if c.nargs() == 2 {
				if key, err = c.lambda(1, x); err != nil {
					return nil, err
				}
			}
			if err := c.hashable(key); err != nil {
				return nil, err
			}
			fresh, err := seen.add(c, key)
			if err != nil {
				return nil, err
			}
			if fresh {
				out = append(out, x)
			}
		}
		if out == nil {
			out = []any{}
		}
		return out, nil
	})
	// toSet returns a frozenset (pySet); Mistral stores it as a list.
	register("toSet", "M", 1, 1, eager(func(c *inv, a []any) (any, error) {
		xs, err := listArg(c, a[0])
		if err != nil {
			return nil, err
		}
		if err := c.hashableAll(xs); err != nil {
			return nil, err
		}
		out, err := dedup(c, xs)
		return pySet(out), err
	}))
	register("toList", "M", 1, 1, eager(func(c *inv, a []any) (any, error) { return listArg(c, a[0]) }))
	register("append", "MF", 1, -1, eager(func(c *inv, a []any) (any, error) {
		xs, err := listArg(c, a[0])
		if err != nil {
			return nil, err
		}
		return append(append([]any{}, xs...), a[1:]...), nil
	}))
	register("concat", "F", 1, -1, eager(func(c *inv, a []any) (any, error) {
		if _, ok := a[0].(string); ok {
			var b strings.Builder
			for _, x := range a {
				s, ok := x.(string)
				if !ok {
					return nil, c.errf("concat() of strings got a %s", typeName(x))
				}
				b.WriteString(s)
			}
			return b.String(), nil
		}
		return concatLists(c, a)
	}))
	register("concat", "M", 1, -1, eager(concatLists))
	register("skip", "M", 2, 2, eager(func(c *inv, a []any) (any, error) {
		if e, ok := a[0].(endless); ok {
			n, ok := a[1].(int64)
			if !ok || n < 0 {
				return nil, c.errf("skip() count must be a non-negative integer")
			}
			return endless{at: func(i int64) any { return e.at(i + n) }}, nil
		}
		xs, n, err := listAndCount(c, a)
		if err != nil {
			return nil, err
		}
		if n > len(xs) {
			n = len(xs)
		}
		return append([]any{}, xs[n:]...), nil
	}))
	take := eager(func(c *inv, a []any) (any, error) {
		if e, ok := a[0].(endless); ok {
			n, ok := a[1].(int64)
			if !ok || n < 0 {
				return nil, c.errf("%s() count must be a non-negative integer", c.name)
			}
			return takeEndless(c, e, n)
		}
		xs, n, err := listAndCount(c, a)
		if err != nil {
			return nil, err
		}
		if n > len(xs) {
			n = len(xs)
		}
		return append([]any{}, xs[:n]...), nil
	})
	register("take", "M", 2, 2, take)
	register("limit", "M", 2, 2, take)
	register("reverse", "M", 1, 1, eager(func(c *inv, a []any) (any, error) {
		xs, err := listArg(c, a[0])
		if err != nil {
			return nil, err
		}
		out := make([]any, len(xs))
		for i, x := range xs {
			out[len(xs)-1-i] = x
		}
		return out, nil
	}))
	register("orderBy", "M", 2, 2, orderBy(false))
	register("orderByDescending", "M", 2, 2, orderBy(true))
	aggregate := func(c *inv) (any, error) {
		xs, err := listArg(c, c.recv)
		if err != nil {
			return nil, err
		}
		if c.nargs() == 3 {
			seed, err := c.arg(2)
			if err != nil {
				return nil, err
			}
			xs = append([]any{seed}, xs...)
		}
		if len(xs) == 0 {
			return nil, c.st.pyErrAt(c.node, "TypeError: reduce() of empty iterable with no initial value", "%s() of an empty list with no seed", c.name)
		}
		acc := xs[0]
		for _, x := range xs[1:] {
			if acc, err = c.lambda(1, acc, x); err != nil {
				return nil, err
			}
		}
		return acc, nil
	}
	register("aggregate", "M", 2, 3, aggregate)
	register("reduce", "M", 2, 3, aggregate)
	// flatten() takes no depth: yaql has no such parameter.
	register("flatten", "M", 1, 1, eager(func(c *inv, a []any) (any, error) {
		xs, err := listArg(c, a[0])
		if err != nil {
			return nil, err
		}
		depth := int64(-1)
		out := []any{}
		var walk func(xs []any, d int64) error
		walk = func(xs []any, d int64) error {
			for _, x := range xs {
				if err := c.tick(1); err != nil {
					return err
				}
				if l, ok := asList(x); ok && d != 0 {
					if err := walk(l, d-1); err != nil {
						return err
					}
					continue
				}
				out = append(out, x)
				if len(out) > c.st.maxSize {
					return c.st.sizeErr(c.node, len(out))
				}
			}
			return nil
		}
		return out, walk(xs, depth)
	}))
	register("zip", "M", 2, -1, eager(func(c *inv, a []any) (any, error) {
		lists := make([][]any, len(a))
		n := math.MaxInt
		for i, x := range a {
			l, err := listArg(c, x)
			if err != nil {
				return nil, err
			}
			lists[i] = l
			n = min(n, len(l))
		}
		out := make([]any, n)
		for i := range out {
			row := make([]any, len(lists))
			for j := range lists {
				row[j] = lists[j][i]
			}
			out[i] = row
		}
		return out, nil
	}))
	register("range", "F", 1, 3, eager(rangeFn))

	register("insert", "M", 3, 3, eager(func(c *inv, a []any) (any, error) {
		pos, ok := a[1].(int64)
		if !ok {
			return nil, c.errf("insert() position must be an integer, got %s", typeName(a[1]))
		}
		switch x := a[0].(type) {
		case []any, pyList:
			// A sequence gets Python's list.insert on a copy: a list.
			l, _ := asList(x)
			i := clampIndex(pos, len(l))
			out := make(pyList, 0, len(l)+1)
			return append(append(append(out, l[:i]...), a[2]), l[i:]...), nil
		case iterator, *dictView, *ordering:
			// Any other collection but a set (keys and items views are
			// sets): an iterator.
			if _, isSet := setItems(x); isSet {
				break
			}
			l, _ := asList(x)
			i := clampIndex(pos, len(l))
			out := make([]any, 0, len(l)+1)
			return iterator(append(append(append(out, l[:i]...), a[2]), l[i:]...)), nil
		}
		return nil, c.mismatchf("insert() needs a list, got %s", typeName(a[0]))
	}))
	named("insert", "collection", "position", "value")
	register("delete", "M", 2, -1, eager(func(c *inv, a []any) (any, error) {
		if d, ok := asDict(a[0]); ok {
			return deleteKeys(c, d, a[1:])
		}
		if l, ok := asList(a[0]); ok {
			if len(a) > 3 {
				return nil, c.errf("delete() on a list takes a position and a count")
			}
			pos, ok := a[1].(int64)
			count := int64(1)
			if len(a) == 3 {
				n, ok2 := a[2].(int64)
				if !ok2 {
					return nil, c.errf("delete() count must be an integer")
				}
				count = n
			}
			if !ok {
				return nil, c.errf("delete() position must be an integer, got %s", typeName(a[1]))
			}
			out := make([]any, 0, len(l))
			for i, v := range l {
				if int64(i) >= pos && (count < 0 || int64(i) < pos+count) {
					continue
				}
				out = append(out, v)
			}
			return out, nil
		}
		return nil, c.mismatchf("delete() needs a collection or a dict, got %s", typeName(a[0]))
	}))
	named("delete", "collection", "position", "count")
	register("set", "M", 2, -1, func(c *inv) (any, error) {
		d, err := dictArg(c, c.recv)
		if err != nil {
			return nil, err
		}
		out := d.clone(false, len(c.args))
		put := func(kn Node, k, v any) error {
			ks, err := c.st.dictKey(kn, k)
			if err != nil {
				return err
			}
			out.put(ks, v)
			return nil
		}
		if c.nargs() == 3 {
			if _, ok := c.args[0].(*Mapping); !ok {
				a, err := c.all()
				if err != nil {
					return nil, err
				}
				return out, put(c.args[0], a[1], a[2])
			}
		}
		for _, n := range c.args {
			if m, ok := n.(*Mapping); ok {
				k, err := c.st.eval(m.Key, c.scope)
				if err != nil {
					return nil, err
				}
				v, err := c.st.eval(m.Value, c.scope)
				if err != nil {
					return nil, err
				}
				if err := put(m.Key, k, v); err != nil {
					return nil, err
				}
				continue
			}
			v, err := c.st.eval(n, c.scope)
			if err != nil {
				return nil, err
			}
			r, ok := asDict(v)
			if !ok {
				return nil, c.st.errAt(n, "set() needs key, value or key => value or a dict, got %s", typeName(v))
			}
			for _, k := range r.order() {
				out.put(k, r.m[k])
			}
		}
		return out, nil
	})
	// Sets keep first-seen order here (Python's is hash order); the set
	// operations take two sets and keep the order of their left operand.
	register("set", "F", 0, -1, eager(func(c *inv, a []any) (any, error) {
		if err := c.hashableAll(a); err != nil {
			return nil, err
		}
		out, err := dedup(c, a)
		return pySet(out), err
	}))
	register("union", "M", 2, 2, eager(func(c *inv, a []any) (any, error) {
		l, r, err := setArgs(c, a)
		if err != nil {
			return nil, err
		}
		return c.st.union(c.node, l, r)
	}))
	register("intersect", "M", 2, 2, eager(setFilter(true)))
	register("difference", "M", 2, 2, eager(setFilter(false)))
	register("symmetricDifference", "M", 2, 2, eager(func(c *inv, a []any) (any, error) {
		l, r, err := setArgs(c, a)
		if err != nil {
			return nil, err
		}
		left, err := filterSet(c, l, r, false)
		if err != nil {
			return nil, err
		}
		right, err := filterSet(c, r, l, false)
		if err != nil {
			return nil, err
		}
		return append(left, right...), nil
	}))

	lazy("select", "where", "filter", "range", "skip", "take", "limit", "distinct", "selectMany",
		"concat", "append", "reverse", "flatten", "delete", "zip")

	// Control.
	register("switch", "F", 0, -1, func(c *inv) (any, error) {
		for _, n := range c.args {
			m, ok := n.(*Mapping)
			if !ok {
				return nil, c.st.errAt(n, "switch() arguments must be condition => value")
			}
			cond, err := c.st.eval(m.Key, c.scope)
			if err != nil {
				return nil, err
			}
			if truthy(cond) {
				return c.st.eval(m.Value, c.scope)
			}
		}
		return nil, nil
	})
	register("coalesce", "F", 0, -1, func(c *inv) (any, error) {
		for i := 0; i < c.nargs(); i++ {
			v, err := c.arg(i)
			if err != nil || v != nil {
				return v, err
			}
		}
		return nil, nil
	})
	register("let", "F", 0, -1, func(c *inv) (any, error) {
		vars := map[string]any{}
		var pos []any
		for _, n := range c.args {
			if m, ok := n.(*Mapping); ok {
				k, ok := m.Key.(*Keyword)
				if !ok {
					return nil, c.st.errAt(m, "let() names must be plain names")
				}
				v, err := c.st.eval(m.Value, c.scope)
				if err != nil {
					return nil, err
				}
				vars[k.Name] = v
				continue
			}
			v, err := c.st.eval(n, c.scope)
			if err != nil {
				return nil, err
			}
			pos = append(pos, v)
		}
		sc := c.scope.Child(vars)
		if len(pos) > 0 {
			sc.args = pos
		}
		return sc, nil
	})

	// Strings.
	register("join", "M", 2, 2, eager(func(c *inv, a []any) (any, error) {
		sep, xs := a[1], a[0]
		if s, ok := a[0].(string); ok {
			sep, xs = s, a[1]
		}
		s, ok := sep.(string)
		l, ok2 := asList(xs)
		if !ok || !ok2 {
			return nil, c.mismatchf("join() needs a list and a separator string, got %s and %s", typeName(a[0]), typeName(a[1]))
		}
		parts := make([]string, len(l))
		for i, x := range l {
			parts[i] = yaqlStr(x)
		}
		return strings.Join(parts, s), nil
	}))
	register("split", "M", 1, 3, eager(splitFn))
	register("replace", "M", 3, 4, eager(func(c *inv, a []any) (any, error) {
		count := int64(-1)
		if len(a) == 4 {
			k, ok := a[3].(int64)
			if !ok {
				return nil, c.errf("replace() count must be an integer")
			}
			count = k
		}
		if xs, ok := asList(a[0]); ok {
			// collection.replace(position, value, count => 1)
			pos, ok := a[1].(int64)
			if !ok {
				return nil, c.errf("replace() position must be an integer, got %s", typeName(a[1]))
			}
			if len(a) < 4 {
				count = 1
			}
			out := make([]any, 0, len(xs))
			for i, x := range xs {
				if int64(i) == pos {
					out = append(out, a[2])
				}
				if int64(i) >= pos && (count < 0 || int64(i) < pos+count) {
					continue
				}
				out = append(out, x)
			}
			return out, nil
		}
		re, rok := a[0].(*regexVal)
		str, sok := a[1].(string)
		if !rok {
			re, rok = a[1].(*regexVal)
			str, sok = a[0].(string)
		}
		if rok && sok {
			repl, ok := a[2].(string)
			if !ok {
				return nil, c.errf("replace() replacement must be a string")
			}
			return regexReplace(c, re, str, repl, max(count, 0))
		}
		s, ok1 := a[0].(string)
		old, ok2 := a[1].(string)
		nw, ok3 := a[2].(string)
		if !ok1 || !ok2 || !ok3 {
			return nil, c.mismatchf("replace() needs strings")
		}
		n := int64(-1)
		if len(a) == 4 {
			k, ok := a[3].(int64)
			if !ok {
				return nil, c.errf("replace() count must be an integer")
			}
			n = k
		}
		if old == "" && n < 0 && len(s) > 0 && int64(len(s)+1)*int64(len(nw)) > int64(c.st.maxSize) {
			return nil, c.st.sizeErr(c.node, c.st.maxSize+1)
		}
		if int64(strings.Count(s, old))*int64(len(nw)) > int64(c.st.maxSize) {
			return nil, c.st.sizeErr(c.node, c.st.maxSize+1)
		}
		return strings.Replace(s, old, nw, int(n)), nil
	}))
	register("format", "M", 1, -1, formatFn)
	strMethod := func(name string, f func(string) any) {
		register(name, "M", 1, 1, eager(func(c *inv, a []any) (any, error) {
			s, ok := a[0].(string)
			if !ok {
				return nil, c.mismatchf("%s() needs a string, got %s", name, typeName(a[0]))
			}
			return f(s), nil
		}))
	}
	strMethod("toUpper", func(s string) any { return pyUpper(s) })
	strMethod("toLower", func(s string) any { return strings.ToLower(s) })
	trim := func(name string, left, right bool) {
		register(name, "M", 1, 2, eager(func(c *inv, a []any) (any, error) {
			s, ok := a[0].(string)
			if !ok {
				return nil, c.mismatchf("%s() needs a string, got %s", name, typeName(a[0]))
			}
			var chars any
			if len(a) == 2 {
				chars = a[1]
			}
			return pyStrip(c, s, chars, left, right)
		}))
		named(name, "string", "chars")
	}
	trim("trim", true, true)
	trim("trimLeft", true, false)
	trim("trimRight", false, true)
	strMethod("toCharArray", func(s string) any {
		out := make([]any, 0, len(s))
		for _, r := range s {
			out = append(out, string(r))
		}
		return out
	})
	strPred := func(name string, f func(s, p string) bool) {
		register(name, "M", 2, -1, eager(func(c *inv, a []any) (any, error) {
			s, ok := a[0].(string)
			if !ok {
				return nil, c.mismatchf("%s() needs a string, got %s", name, typeName(a[0]))
			}
			for _, p := range a[1:] {
				ps, ok := p.(string)
				if !ok {
					return nil, c.mismatchf("%s() needs string arguments, got %s", name, typeName(p))
				}
				if f(s, ps) {
					return true, nil
				}
			}
			return false, nil
		}))
	}
	strPred("startsWith", strings.HasPrefix)
	strPred("endsWith", strings.HasSuffix)
	register("substring", "M", 2, 3, eager(func(c *inv, a []any) (any, error) {
		s, ok := a[0].(string)
		start, ok2 := a[1].(int64)
		if !ok || !ok2 {
			return nil, c.mismatchf("substring() needs a string and an integer start")
		}
		rs := []rune(s)
		n := int64(len(rs))
		if start < 0 {
			start += n
		}
		start = max(0, min(start, n))
		end := n
		if len(a) == 3 {
			l, ok := a[2].(int64)
			if !ok {
				return nil, c.errf("substring() length must be an integer")
			}
			if l >= 0 {
				end = min(n, start+l)
			}
		}
		return string(rs[start:end]), nil
	}))

	// Numbers.
	register("abs", "F", 1, 1, eager(func(c *inv, a []any) (any, error) {
		switch x := a[0].(type) {
		case int64:
			if x == math.MinInt64 {
				return nil, errOverflow
			}
			if x < 0 {
				return -x, nil
			}
			return x, nil
		case float64:
			return math.Abs(x), nil
		}
		return nil, c.mismatchf("abs() needs a number, got %s", typeName(a[0]))
	}))
	register("round", "F", 1, 2, eager(func(c *inv, a []any) (any, error) {
		if !isNumber(a[0]) {
			return nil, c.mismatchf("round() needs a number, got %s", typeName(a[0]))
		}
		digits := int64(0)
		if len(a) == 2 {
			d, ok := a[1].(int64)
			if !ok {
				return nil, c.errf("round() digits must be an integer")
			}
			digits = d
		}
		if i, ok := a[0].(int64); ok && digits >= 0 {
			return i, nil
		}
		if i, ok := a[0].(int64); ok {
			p := int64(math.Pow(10, float64(-digits)))
			if p == 0 || -digits > 18 {
				return int64(0), nil
			}
			return int64(math.RoundToEven(float64(i)/float64(p))) * p, nil
		}
		return pyRound(toFloat(a[0]), digits), nil
	}))
	register("pow", "F", 2, 3, eager(func(c *inv, a []any) (any, error) {
		b, ok1 := a[0].(int64)
		e, ok2 := a[1].(int64)
		if ok1 && ok2 && e >= 0 && len(a) == 2 {
			r := int64(1)
			for i := int64(0); i < e; i++ {
				if err := c.tick(1); err != nil {
					return nil, err
				}
				next := r * b
				if b != 0 && next/b != r {
					return nil, errOverflow
				}
				r = next
			}
			return r, nil
		}
		if len(a) == 3 {
			m, ok3 := a[2].(int64)
			if !ok1 || !ok2 || !ok3 || e < 0 || m == 0 {
				return nil, c.errf("pow() with a modulus needs integers, a non-negative exponent and a non-zero modulus")
			}
			r := new(big.Int).Exp(big.NewInt(b), big.NewInt(e), big.NewInt(m))
			if r.Sign() != 0 && m < 0 {
				r.Add(r, big.NewInt(m))
			}
			return r.Int64(), nil
		}
		if isNumber(a[0]) && isNumber(a[1]) && len(a) == 2 {
			return math.Pow(toFloat(a[0]), toFloat(a[1])), nil
		}
		return nil, c.mismatchf("pow() needs numbers")
	}))
}

func length(c *inv, v any) (any, error) {
	switch x := v.(type) {
	case string:
		return int64(utf8.RuneCountInString(x)), nil
	case []any:
		return int64(len(x)), nil
	case iterator:
		return int64(len(x)), nil
	case pyList:
		return int64(len(x)), nil
	case *dictView:
		if x.kind == valuesView && c.name == "len" {
			// len() takes strings, sequences, dicts, sets and
			// iterators; a values view is none of them (count() works).
			break
		}
		return int64(len(x.items)), nil
	case pySet:
		return int64(len(x)), nil
	case map[string]any:
		return int64(len(x)), nil
	case *pyDict:
		return int64(x.len()), nil
	}
	return nil, c.mismatchf("%s() of %s", c.name, typeName(v))
}

func toInt(c *inv, a []any) (any, error) {
	switch x := a[0].(type) {
	case nil:
		return int64(0), nil
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	case int64:
		return x, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) >= 9.2e18 {
			return nil, c.errf("cannot convert %s to an integer", pyFloat(x))
		}
		return int64(x), nil
	case string:
		s := strings.ReplaceAll(strings.TrimSpace(x), "_", "")
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || strings.TrimSpace(x) != strings.TrimSpace(x) {
			return nil, c.errf("invalid literal for int(): %s", pyQuote(x))
		}
		return n, nil
	}
	return nil, c.errf("cannot convert %s to an integer", typeName(a[0]))
}

func toFloatFn(c *inv, a []any) (any, error) {
	switch x := a[0].(type) {
	case nil:
		return 0.0, nil
	case bool, int64, float64:
		return toFloat(x), nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return nil, c.errf("could not convert string to float: %s", pyQuote(x))
		}
		return f, nil
	}
	return nil, c.errf("cannot convert %s to a float", typeName(a[0]))
}

func isType(f func(any) bool) func(c *inv, a []any) (any, error) {
	return func(c *inv, a []any) (any, error) { return f(a[0]), nil }
}

// dictFn is dict(k => v, ...) or dict(list of [k, v] pairs): a FrozenDict.
func dictFn(c *inv) (any, error) {
	out := newDict(len(c.args), false)
	for _, n := range c.args {
		if m, ok := n.(*Mapping); ok {
			k, err := c.st.eval(m.Key, c.scope)
			if err != nil {
				return nil, err
			}
			ks, err := c.st.dictKey(m.Key, k)
			if err != nil {
				return nil, err
			}
			v, err := c.st.eval(m.Value, c.scope)
			if err != nil {
				return nil, err
			}
			out.put(ks, v)
			continue
		}
		v, err := c.st.eval(n, c.scope)
		if err != nil {
			return nil, err
		}
		pairs, ok := asList(v)
		if !ok {
			return nil, c.st.errAt(n, "dict() needs key => value arguments or a list of pairs, got %s", typeName(v))
		}
		for _, p := range pairs {
			// yaql takes the first two items of each element, so a
			// longer list or a string works too: dict(['ab']) is {a: b}.
			kv, ok := asList(p)
			if d, isDict := asDict(p); isDict {
				kv, ok = nil, true // a dict iterates its keys
				for _, k := range d.order() {
					kv = append(kv, k)
				}
			}
			if s, isStr := p.(string); isStr {
				kv, ok = nil, true
				for _, r := range s {
					kv = append(kv, string(r))
					if len(kv) == 2 {
						break
					}
				}
			}
			if !ok || len(kv) < 2 {
				return nil, c.st.errAt(n, "dict() needs pairs [key, value]")
			}
			ks, err := c.st.dictKey(n, kv[0])
			if err != nil {
				return nil, err
			}
			out.put(ks, kv[1])
		}
	}
	return out, nil
}

// dictArg accepts a dict of either kind; the result must not be changed.
func dictArg(c *inv, v any) (*pyDict, error) {
	d, ok := asDict(v)
	if !ok {
		return nil, c.mismatchf("%s() needs a dict, got %s", c.name, typeName(v))
	}
	return d, nil
}

// listArg accepts a list; yaql's default configuration does not iterate
// strings or dicts in queries.
func listArg(c *inv, v any) ([]any, error) {
	l, ok := asList(v)
	if !ok {
		return nil, c.mismatchf("%s() needs a list, got %s", c.name, typeName(v))
	}
	if err := c.tick(len(l)); err != nil {
		return nil, err
	}
	return l, nil
}

func firstLast(first bool) func(c *inv) (any, error) {
	return func(c *inv) (any, error) {
		var def any
		if c.nargs() == 2 {
			// yaql evaluates the default before looking at the items.
			var err error
			if def, err = c.arg(1); err != nil {
				return nil, err
			}
		}
		if e, ok := c.recv.(endless); ok && first {
			return e.at(0), nil
		}
		xs, err := listArg(c, c.recv)
		if err != nil {
			return nil, err
		}
		if len(xs) > 0 {
			if first {
				return xs[0], nil
			}
			return xs[len(xs)-1], nil
		}
		if c.nargs() == 2 {
			return def, nil
		}
		return nil, c.st.pyErrAt(c.node, "StopIteration: ", "%s() of an empty list with no default", c.name)
	}
}

func extremum(sign int) func(c *inv, a []any) (any, error) {
	return func(c *inv, a []any) (any, error) {
		xs, err := listArg(c, a[0])
		if err != nil {
			return nil, err
		}
		if len(a) == 2 {
			xs = append([]any{a[1]}, xs...)
		}
		if len(xs) == 0 {
			return nil, c.st.pyErrAt(c.node, "TypeError: reduce() of empty iterable with no initial value", "%s() of an empty list with no initial value", c.name)
		}
		best := xs[0]
		for _, x := range xs[1:] {
			if best, err = pick(c, best, x, sign); err != nil {
				return nil, err
			}
		}
		return best, nil
	}
}

func pick(c *inv, a, b any, sign int) (any, error) {
	r, ok := compare(a, b)
	if !ok {
		return nil, c.st.pyErrAt(c.node, pyNoMatchingFunction("#operator_>"), "cannot compare %s and %s", typeName(a), typeName(b))
	}
	if r*sign < 0 {
		return b, nil
	}
	return a, nil
}

func anyAll(isAny bool) func(c *inv) (any, error) {
	return func(c *inv) (any, error) {
		recv, err := c.arg(0)
		if err != nil {
			return nil, err
		}
		xs, err := listArg(c, recv)
		if err != nil {
			return nil, err
		}
		for _, x := range xs {
			v := x
			if c.nargs() == 2 {
				if v, err = c.lambda(1, x); err != nil {
					return nil, err
				}
			}
			if truthy(v) == isAny {
				return isAny, nil
			}
		}
		return !isAny, nil
	}
}

func concatLists(c *inv, a []any) (any, error) {
	out := []any{}
	for _, x := range a {
		l, err := listArg(c, x)
		if err != nil {
			return nil, err
		}
		out = append(out, l...)
		if len(out) > c.st.maxSize {
			return nil, c.st.sizeErr(c.node, len(out))
		}
	}
	return out, nil
}

func listAndCount(c *inv, a []any) ([]any, int, error) {
	xs, err := listArg(c, a[0])
	if err != nil {
		return nil, 0, err
	}
	n, ok := a[1].(int64)
	if !ok || n < 0 {
		return nil, 0, c.errf("%s() count must be a non-negative integer", c.name)
	}
	if n > int64(len(xs)) {
		n = int64(len(xs))
	}
	return xs, int(n), nil
}

func orderBy(desc bool) func(c *inv) (any, error) {
	return func(c *inv) (any, error) {
		xs, err := listArg(c, c.recv)
		if err != nil {
			return nil, err
		}
		return c.sortLevels(xs, nil, desc)
	}
}

// sortLevels sorts xs by the keys of earlier levels (thenBy) and then by
// argument 1 of c, and keeps the levels so that a following thenBy can add
// one.
func (c *inv) sortLevels(xs []any, prev []sortLevel, desc bool) (any, error) {
	keys := make([]any, len(xs))
	for i, x := range xs {
		var err error
		if keys[i], err = c.lambda(1, x); err != nil {
			return nil, err
		}
	}
	levels := append(append([]sortLevel{}, prev...), sortLevel{keys: keys, desc: desc})
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	var cmpErr error
	sort.SliceStable(idx, func(i, j int) bool {
		for _, l := range levels {
			a, b := l.keys[idx[i]], l.keys[idx[j]]
			r, ok := compare(a, b)
			if !ok {
				if cmpErr == nil {
					cmpErr = c.st.pyErrAt(c.node, pyNoMatchingFunction("#operator_<"), "cannot order %s and %s", typeName(a), typeName(b))
				}
				return false
			}
			if r != 0 {
				return (r < 0) != l.desc
			}
		}
		return false
	})
	if cmpErr != nil {
		return nil, cmpErr
	}
	if err := c.tick(len(xs)); err != nil {
		return nil, err
	}
	out := make([]any, len(xs))
	for i, k := range idx {
		out[i] = xs[k]
	}
	return &ordering{items: out, src: xs, levels: levels}, nil
}

// ordering is yaql's OrderingIterable, what orderBy and thenBy return: the
// sorted items, and for a following thenBy the unsorted items and the sort
// keys computed so far. It can be read many times but is neither a list
// nor an iterator: it has no len() (count() works), cannot be indexed,
// equals only itself, is always true, and list() does not splice it.
type ordering struct {
	items  []any
	src    []any
	levels []sortLevel
}

type sortLevel struct {
	keys []any
	desc bool
}

func rangeFn(c *inv, a []any) (any, error) {
	ints := make([]int64, len(a))
	for i, x := range a {
		n, ok := x.(int64)
		if !ok {
			return nil, c.mismatchf("range() needs integers, got %s", typeName(x))
		}
		ints[i] = n
	}
	start, stop, step := int64(0), ints[0], int64(1)
	if len(ints) >= 2 {
		start, stop = ints[0], ints[1]
	}
	if len(ints) == 3 {
		step = ints[2]
	}
	if step == 0 {
		return nil, c.errf("range() step must not be zero")
	}
	var n int64
	if step > 0 && stop > start {
		n = (stop - start + step - 1) / step
	} else if step < 0 && stop < start {
		n = (start - stop - step - 1) / -step
	}
	if n > int64(c.st.maxSize) {
		return nil, c.st.sizeErr(c.node, c.st.maxSize+1)
	}
	if err := c.tick(int(n)); err != nil {
		return nil, err
	}
	out := make([]any, n)
	for i := range out {
		out[i] = start + int64(i)*step
	}
	return out, nil
}

func splitFn(c *inv, a []any) (any, error) {
	if len(a) >= 2 {
		re, rok := a[0].(*regexVal)
		s, sok := a[1].(string)
		if !rok {
			re, rok = a[1].(*regexVal)
			s, sok = a[0].(string)
		}
		if rok && sok {
			max := int64(0)
			if len(a) == 3 {
				k, ok := a[2].(int64)
				if !ok {
					return nil, c.errf("split() maxSplit must be an integer")
				}
				max = k
			}
			return regexSplit(re, s, max), nil
		}
	}
	s, ok := a[0].(string)
	if !ok {
		return nil, c.mismatchf("split() needs a string, got %s", typeName(a[0]))
	}
	var sep any
	if len(a) >= 2 {
		sep = a[1]
	}
	n := -1
	if len(a) == 3 {
		k, ok := a[2].(int64)
		if !ok {
			return nil, c.errf("split() maxsplit must be an integer")
		}
		if k >= 0 {
			n = int(min(k, int64(len(s)))) + 1
		}
	}
	var parts []string
	switch sp := sep.(type) {
	case nil:
		// Python's split() with no separator: runs of whitespace, no empties.
		f := strings.Fields(s)
		if n > 0 && len(f) > n-1 {
			rest := s
			parts = nil
			for i := 0; i < n-1; i++ {
				rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
				j := strings.IndexFunc(rest, unicode.IsSpace)
				parts = append(parts, rest[:j])
				rest = rest[j:]
			}
			rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
			if rest != "" {
				parts = append(parts, rest)
			}
		} else {
			parts = f
		}
	case string:
		if sp == "" {
			return nil, c.errf("split() separator must not be empty")
		}
		parts = strings.SplitN(s, sp, n)
	default:
		return nil, c.errf("split() separator must be a string")
	}
	out := make(pyList, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

// formatFn is Python's str.format with {} / {0} / {name} fields; values
// print as Python's str() of yaql's internal values.
func formatFn(c *inv) (any, error) {
	if d, ok := c.recv.(dateTime); ok {
		a, err := c.all()
		if err != nil {
			return nil, err
		}
		f, ok := a[len(a)-1].(string)
		if len(a) != 2 || !ok {
			return nil, c.errf("format() of a datetime takes one format string")
		}
		s, err := strftime(d, f)
		if err != nil {
			return nil, c.errf("format(): %v", err)
		}
		return s, nil
	}
	f, ok := c.recv.(string)
	if !c.method {
		return nil, c.errf("format() is a method: 'text'.format(...)")
	}
	if !ok {
		return nil, c.mismatchf("format() needs a format string, got %s", typeName(c.recv))
	}
	var pos []any
	named := map[string]any{}
	for _, n := range c.args {
		if m, ok := n.(*Mapping); ok {
			k, ok := m.Key.(*Keyword)
			if !ok {
				return nil, c.st.errAt(m, "format() names must be plain names")
			}
			v, err := c.st.eval(m.Value, c.scope)
			if err != nil {
				return nil, err
			}
			named[k.Name] = v
			continue
		}
		v, err := c.st.eval(n, c.scope)
		if err != nil {
			return nil, err
		}
		pos = append(pos, v)
	}
	render := func(v any) string {
		if s, ok := v.(string); ok {
			return s
		}
		var b strings.Builder
		pyRepr(&b, v, true)
		return b.String()
	}
	var b strings.Builder
	auto := 0
	for i := 0; i < len(f); i++ {
		ch := f[i]
		if ch == '{' {
			if i+1 < len(f) && f[i+1] == '{' {
				b.WriteByte('{')
				i++
				continue
			}
			j := strings.IndexByte(f[i:], '}')
			if j < 0 {
				return nil, c.errf("format(): single '{' in format string")
			}
			field := f[i+1 : i+j]
			i += j
			spec, conv := "", ""
			if k := strings.IndexByte(field, ':'); k >= 0 {
				field, spec = field[:k], field[k+1:]
			}
			if k := strings.IndexByte(field, '!'); k >= 0 {
				field, conv = field[:k], field[k+1:]
			}
			var v any
			switch {
			case field == "":
				if auto >= len(pos) {
					return nil, c.errf("format(): not enough arguments")
				}
				v = pos[auto]
				auto++
			case field[0] >= '0' && field[0] <= '9':
				k, err := strconv.Atoi(field)
				if err != nil || k >= len(pos) {
					return nil, c.errf("format(): no argument %s", field)
				}
				v = pos[k]
			default:
				var found bool
				if v, found = named[field]; !found {
					return nil, c.errf("format(): no argument %q", field)
				}
			}
			switch conv {
			case "":
			case "r", "a":
				var rb strings.Builder
				pyRepr(&rb, v, true)
				v = rb.String()
			case "s":
				v = render(v)
			default:
				return nil, c.errf("format(): unknown conversion specifier %s", conv)
			}
			if spec == "" {
				b.WriteString(render(v))
			} else {
				out, err := formatSpec(v, spec, c.st.maxSize)
				if err != nil {
					return nil, c.errf("format(): %v", err)
				}
				b.WriteString(out)
			}
			if b.Len() > c.st.maxSize {
				return nil, c.st.sizeErr(c.node, b.Len())
			}
			continue
		}
		if ch == '}' {
			if i+1 < len(f) && f[i+1] == '}' {
				i++
			}
			b.WriteByte('}')
			continue
		}
		b.WriteByte(ch)
	}
	return b.String(), nil
}

var _ = fmt.Sprint

func clampIndex(pos int64, n int) int {
	if pos < 0 {
		pos += int64(n)
	}
	return int(max(0, min(pos, int64(n))))
}

// dedup keeps the first of equal items.
func dedup(c *inv, xs []any) ([]any, error) {
	out := []any{}
	var seen seenSet
	for _, x := range xs {
		fresh, err := seen.add(c, x)
		if err != nil {
			return nil, err
		}
		if fresh {
			out = append(out, x)
		}
	}
	return out, nil
}

// seenSet is the set distinct(), toSet() and set() build: scalars by
// hash, keyed as Python hashes them (1, 1.0 and true are one key),
// containers by comparison with the containers seen so far.
type seenSet struct {
	scalars map[scalarKey]struct{}
	others  []any
}

type scalarKey struct {
	kind byte // 'n' null, 'i' integer (and bool, integral float), 'f' float, 's' string
	i    int64
	f    float64
	s    string
}

// add records v and reports whether it was not seen before.
func (s *seenSet) add(c *inv, v any) (bool, error) {
	if err := c.tick(1); err != nil {
		return false, err
	}
	var k scalarKey
	switch x := v.(type) {
	case nil:
		k.kind = 'n'
	case bool:
		k.kind, k.i = 'i', int64(btoi(x))
	case int64:
		k.kind, k.i = 'i', x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
			k.kind, k.i = 'i', int64(x)
		} else {
			k.kind, k.f = 'f', x
		}
	case string:
		k.kind, k.s = 's', x
	default:
		for _, o := range s.others {
			if err := c.tick(1); err != nil {
				return false, err
			}
			if equal(o, v) {
				return false, nil
			}
		}
		s.others = append(s.others, v)
		return true, nil
	}
	if s.scalars == nil {
		s.scalars = map[scalarKey]struct{}{}
	}
	if _, dup := s.scalars[k]; dup {
		return false, nil
	}
	s.scalars[k] = struct{}{}
	return true, nil
}

// setArgs reads the operands of union, intersect, difference and
// symmetricDifference: yaql calls Python's frozenset methods, so the
// receiver is a set (toSet() or set()) and the argument a set or a keys
// or items view.
func setArgs(c *inv, a []any) ([]any, []any, error) {
	l, ok := a[0].(pySet)
	if !ok {
		return nil, nil, c.mismatchf("%s() needs a set (toSet() or set()), got %s", c.name, typeName(a[0]))
	}
	r, ok := setItems(a[1])
	if !ok {
		return nil, nil, c.mismatchf("%s() needs a set argument (toSet() or set()), got %s", c.name, typeName(a[1]))
	}
	if err := c.tick(len(l) + len(r)); err != nil {
		return nil, nil, err
	}
	return l, r, nil
}

// setFilter is intersect (keep) and difference (not keep).
func setFilter(keep bool) func(c *inv, a []any) (any, error) {
	return func(c *inv, a []any) (any, error) {
		l, r, err := setArgs(c, a)
		if err != nil {
			return nil, err
		}
		return filterSet(c, l, r, keep)
	}
}

// filterSet keeps the items of the set l that are (keep) or are not in r.
func filterSet(c *inv, l, r []any, keep bool) (pySet, error) {
	out := pySet{}
	for _, x := range l {
		in := false
		for _, y := range r {
			if err := c.tick(1); err != nil {
				return nil, err
			}
			if equal(x, y) {
				in = true
				break
			}
		}
		if in == keep {
			out = append(out, x)
		}
	}
	return out, nil
}

// deleteKeys is dict.delete(keys...) and dict.deleteAll(keys): a Python
// dict without the keys; popping an unhashable key fails.
func deleteKeys(c *inv, d *pyDict, keys []any) (any, error) {
	out := d.clone(true, 0)
	for _, k := range keys {
		if err := c.hashable(k); err != nil {
			return nil, err
		}
		if ks, ok := k.(string); ok {
			out.del(ks)
		}
	}
	return out, nil
}
