package yaql

// More of yaql's query library (yaql/standard_library/queries.py):
// positional searches, slicing by length or predicate, grouping,
// accumulation and the endless sequences of cycle, repeat and sequence.

// endless is an infinite Python iterator (itertools.cycle, repeat, count).
// Only take/limit, first, takeWhile, skip and select-like consumers that
// stop early can read it; a result holding one is an error, where yaql
// would run until its memory quota.
type endless struct {
	at func(i int64) any
}

func init() {
	register("lastIndexOf", "M", 2, 4, eager(func(c *inv, a []any) (any, error) {
		if _, ok := a[0].(string); ok {
			return strFind(c, a, true)
		}
		xs, err := listArg(c, a[0])
		if err != nil {
			return nil, err
		}
		if len(a) != 2 {
			return nil, c.errf("lastIndexOf() on a list takes one item")
		}
		idx := int64(-1)
		for i, x := range xs {
			if equal(x, a[1]) {
				idx = int64(i)
			}
		}
		return idx, nil
	}))
	indexWhere := func(last bool) func(c *inv) (any, error) {
		return func(c *inv) (any, error) {
			xs, err := listArg(c, c.recv)
			if err != nil {
				return nil, err
			}
			idx := int64(-1)
			for i, x := range xs {
				v, err := c.lambda(1, x)
				if err != nil {
					return nil, err
				}
				if truthy(v) {
					idx = int64(i)
					if !last {
						break
					}
				}
			}
			return idx, nil
		}
	}
	register("indexWhere", "M", 2, 2, indexWhere(false))
	register("lastIndexWhere", "M", 2, 2, indexWhere(true))
	register("enumerate", "M", 1, 2, eager(func(c *inv, a []any) (any, error) {
		xs, err := listArg(c, a[0])
		if err != nil {
			return nil, err
		}
		start := int64(0)
		if len(a) == 2 {
			s, ok := a[1].(int64)
			if !ok {
				return nil, c.errf("enumerate() start must be an integer, got %s", typeName(a[1]))
			}
			start = s
		}
		out := make([]any, len(xs))
		for i, x := range xs {
			out[i] = []any{start + int64(i), x}
		}
		return out, nil
	}))
	named("enumerate", "collection", "start")
	register("slice", "M", 2, 2, eager(func(c *inv, a []any) (any, error) {
		xs, err := listArg(c, a[0])
		if err != nil {
			return nil, err
		}
		n, ok := a[1].(int64)
		if !ok {
			return nil, c.errf("slice() length must be an integer, got %s", typeName(a[1]))
		}
		if n <= 0 {
			if len(xs) == 0 {
				return []any{}, nil
			}
			return nil, c.errf("slice() length must be positive")
		}
		out := []any{}
		for i := 0; i < len(xs); i += int(min(n, int64(len(xs)))) {
			j := int(min(int64(i)+n, int64(len(xs))))
			out = append(out, append([]any{}, xs[i:j]...))
		}
		return out, nil
	}))
	whileFn := func(take bool) func(c *inv) (any, error) {
		return func(c *inv) (any, error) {
			if e, ok := c.recv.(endless); ok && take {
				out := []any{}
				for i := int64(0); ; i++ {
					x := e.at(i)
					v, err := c.lambda(1, x)
					if err != nil {
						return nil, err
					}
					if !truthy(v) {
						return out, nil
					}
					out = append(out, x)
					if len(out) > c.st.maxSize {
						return nil, c.st.sizeErr(c.node, len(out))
					}
				}
			}
			xs, err := listArg(c, c.recv)
			if err != nil {
				return nil, err
			}
			i := 0
			for ; i < len(xs); i++ {
				v, err := c.lambda(1, xs[i])
				if err != nil {
					return nil, err
				}
				if !truthy(v) {
					break
				}
			}
			if take {
				return append([]any{}, xs[:i]...), nil
			}
			return append([]any{}, xs[i:]...), nil
		}
	}
	register("takeWhile", "M", 2, 2, whileFn(true))
	register("skipWhile", "M", 2, 2, whileFn(false))
	register("defaultIfEmpty", "M", 2, 2, eager(func(c *inv, a []any) (any, error) {
		xs, err := listArg(c, a[0])
		if err != nil {
			return nil, err
		}
		if _, ok := asList(a[1]); !ok {
			return nil, c.mismatchf("defaultIfEmpty() needs a collection as the default, got %s", typeName(a[1]))
		}
		if len(xs) == 0 {
			return a[1], nil
		}
		return a[0], nil
	}))
	register("memorize", "M", 1, 1, eager(func(c *inv, a []any) (any, error) {
		if _, err := listArg(c, a[0]); err != nil {
			return nil, err
		}
		return a[0], nil
	}))
	register("groupBy", "M", 2, 4, func(c *inv) (any, error) {
		xs, err := listArg(c, c.recv)
		if err != nil {
			return nil, err
		}
		var keys []any
		var groups [][]any
		for _, x := range xs {
			k, err := c.lambda(1, x)
			if err != nil {
				return nil, err
			}
			if err := c.hashable(k); err != nil {
				return nil, err
			}
			v := x
			if c.nargs() >= 3 && !isNullConst(c.argNode(2)) {
				if v, err = c.lambda(2, x); err != nil {
					return nil, err
				}
			}
			found := -1
			for i, g := range keys {
				if err := c.tick(1); err != nil {
					return nil, err
				}
				if equal(g, k) {
					found = i
					break
				}
			}
			if found < 0 {
				keys = append(keys, k)
				groups = append(groups, nil)
				found = len(keys) - 1
			}
			groups[found] = append(groups[found], v)
		}
		out := make([]any, len(keys))
		for i, k := range keys {
			var g any = groups[i]
			if c.nargs() == 4 {
				if g, err = c.lambda(3, groups[i]); err != nil {
					return nil, err
				}
			}
			out[i] = []any{k, g}
		}
		return out, nil
	})
	named("groupBy", "collection", "keySelector", "valueSelector", "aggregator")
	register("cycle", "M", 1, 1, eager(func(c *inv, a []any) (any, error) {
		xs, err := listArg(c, a[0])
		if err != nil {
			return nil, err
		}
		if len(xs) == 0 {
			return []any{}, nil
		}
		return endless{at: func(i int64) any { return xs[i%int64(len(xs))] }}, nil
	}))
	register("repeat", "M", 1, 2, eager(func(c *inv, a []any) (any, error) {
		v := a[0]
		// Repeating a Python iterator repeats the same object: once the
		// first copy is read, every later one is exhausted.
		first := v
		if _, ok := v.(iterator); ok {
			v = iterator{}
		}
		if len(a) == 1 {
			return endless{at: func(i int64) any {
				if i == 0 {
					return first
				}
				return v
			}}, nil
		}
		n, ok := a[1].(int64)
		if !ok {
			return nil, c.errf("repeat() times must be an integer, got %s", typeName(a[1]))
		}
		if n < 0 {
			return endless{at: func(i int64) any {
				if i == 0 {
					return first
				}
				return v
			}}, nil
		}
		if n > int64(c.st.maxSize) {
			return nil, c.st.sizeErr(c.node, c.st.maxSize+1)
		}
		if err := c.tick(int(n)); err != nil {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			out[i] = v
		}
		if n > 0 {
			out[0] = first
		}
		return out, nil
	}))
	named("repeat", "value", "times")
	register("sequence", "F", 0, 2, eager(func(c *inv, a []any) (any, error) {
		start, step := int64(0), int64(1)
		for i, x := range a {
			n, ok := x.(int64)
			if !ok {
				return nil, c.mismatchf("sequence() needs integers, got %s", typeName(x))
			}
			if i == 0 {
				start = n
			} else {
				step = n
			}
		}
		return endless{at: func(i int64) any { return start + i*step }}, nil
	}))
	named("sequence", "start", "step")
	register("splitAt", "M", 2, 2, eager(func(c *inv, a []any) (any, error) {
		xs, err := listArg(c, a[0])
		if err != nil {
			return nil, err
		}
		n, ok := a[1].(int64)
		if !ok {
			return nil, c.errf("splitAt() index must be an integer, got %s", typeName(a[1]))
		}
		i := pySliceIndex(n, len(xs))
		return pyList{append([]any{}, xs[:i]...), append([]any{}, xs[i:]...)}, nil
	}))
	register("splitWhere", "M", 2, 2, func(c *inv) (any, error) {
		xs, err := listArg(c, c.recv)
		if err != nil {
			return nil, err
		}
		out := []any{}
		start := 0
		for end, x := range xs {
			v, err := c.lambda(1, x)
			if err != nil {
				return nil, err
			}
			if truthy(v) {
				out = append(out, append([]any{}, xs[start:end]...))
				start = end + 1
			}
		}
		if start != len(xs) {
			out = append(out, append([]any{}, xs[start:]...))
		}
		return out, nil
	})
	register("sliceWhere", "M", 2, 2, func(c *inv) (any, error) {
		xs, err := listArg(c, c.recv)
		if err != nil {
			return nil, err
		}
		out := []any{}
		start := 0
		var prev any
		for end, x := range xs {
			v, err := c.lambda(1, x)
			if err != nil {
				return nil, err
			}
			if end > 0 && !equal(v, prev) {
				out = append(out, append([]any{}, xs[start:end]...))
				start = end
			}
			prev = v
		}
		if start != len(xs) {
			out = append(out, append([]any{}, xs[start:]...))
		}
		return out, nil
	})
	register("zipLongest", "M", 1, -1, func(c *inv) (any, error) {
		var fill any
		lists := [][]any{}
		n := 0
		for i := 0; i < c.nargs(); i++ {
			if i > 0 {
				if m, ok := c.argNode(i).(*Mapping); ok {
					k, isKw := m.Key.(*Keyword)
					if !isKw || k.Name != "default" {
						return nil, c.st.errAt(m, "zipLongest() takes only default => value")
					}
					v, err := c.st.eval(m.Value, c.scope)
					if err != nil {
						return nil, err
					}
					fill = v
					continue
				}
			}
			v, err := c.arg(i)
			if err != nil {
				return nil, err
			}
			l, err := listArg(c, v)
			if err != nil {
				return nil, err
			}
			lists = append(lists, l)
			n = max(n, len(l))
		}
		out := make([]any, n)
		for i := range out {
			row := make([]any, len(lists))
			for j, l := range lists {
				if i < len(l) {
					row[j] = l[i]
				} else {
					row[j] = fill
				}
			}
			out[i] = row
		}
		return out, nil
	})
	register("accumulate", "M", 2, 3, func(c *inv) (any, error) {
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
			return nil, c.st.pyErrAt(c.node, "TypeError: accumulate() of empty sequence with no initial value", "accumulate() of an empty list with no seed")
		}
		acc := xs[0]
		out := []any{acc}
		for _, x := range xs[1:] {
			if acc, err = c.lambda(1, acc, x); err != nil {
				return nil, err
			}
			out = append(out, acc)
		}
		return out, nil
	})
	named("accumulate", "collection", "selector", "seed")
	thenBy := func(desc bool) func(c *inv) (any, error) {
		return func(c *inv) (any, error) {
			o, ok := c.recv.(*ordering)
			if !ok {
				return nil, c.errf("%s() follows orderBy() or orderByDescending(), got %s", c.name, typeName(c.recv))
			}
			return c.sortLevels(o.src, o.levels, desc)
		}
	}
	register("thenBy", "M", 2, 2, thenBy(false))
	register("thenByDescending", "M", 2, 2, thenBy(true))
	register("insertMany", "M", 3, 3, eager(func(c *inv, a []any) (any, error) {
		xs, err := listArg(c, a[0])
		if err != nil {
			return nil, err
		}
		pos, ok := a[1].(int64)
		if !ok {
			return nil, c.errf("insertMany() position must be an integer, got %s", typeName(a[1]))
		}
		vs, err := listArg(c, a[2])
		if err != nil {
			return nil, err
		}
		if len(xs)+len(vs) > c.st.maxSize {
			return nil, c.st.sizeErr(c.node, len(xs)+len(vs))
		}
		out := make([]any, 0, len(xs)+len(vs))
		if pos < 0 {
			return append(append(out, xs...), vs...), nil
		}
		i := int(min(pos, int64(len(xs))))
		return append(append(append(out, xs[:i]...), vs...), xs[i:]...), nil
	}))
	register("single", "M", 1, 1, eager(func(c *inv, a []any) (any, error) {
		xs, err := listArg(c, a[0])
		if err != nil {
			return nil, err
		}
		if len(xs) != 1 {
			py := "StopIteration: "
			if len(xs) > 1 {
				py += "Collection contains more than one item"
			}
			return nil, c.st.pyErrAt(c.node, py, "single() of a collection of %d items", len(xs))
		}
		return xs[0], nil
	}))
	register("isIterable", "F", 1, 1, eager(isType(func(v any) bool {
		switch v.(type) {
		case []any, pyList, iterator, endless, pySet, *dictView, *ordering:
			return true
		}
		return false
	})))
	register("isSet", "F", 1, 1, eager(isType(func(v any) bool { _, ok := setItems(v); return ok })))
	register("isEmpty", "MF", 1, 3, eager(func(c *inv, a []any) (any, error) {
		if a[0] == nil {
			return true, nil
		}
		s, ok := a[0].(string)
		if !ok {
			return nil, c.mismatchf("isEmpty() needs a string, got %s", typeName(a[0]))
		}
		trimSpaces := true
		if len(a) >= 2 {
			b, ok := a[1].(bool)
			if !ok {
				return nil, c.errf("isEmpty() trim must be a boolean")
			}
			trimSpaces = b
		}
		if trimSpaces {
			var chars any
			if len(a) == 3 {
				chars = a[2]
			}
			t, err := pyStrip(c, s, chars, true, true)
			if err != nil {
				return nil, err
			}
			s = t
		}
		return s == "", nil
	}))
	named("isEmpty", "string", "trim", "chars")
}

// pySliceIndex is the index Python's lst[:i] cuts at.
func pySliceIndex(i int64, n int) int {
	if i < 0 {
		i += int64(n)
	}
	return int(max(0, min(i, int64(n))))
}

// isNullConst reports whether n is the literal null, which yaql's optional
// lambda parameters treat as absent.
func isNullConst(n Node) bool {
	k, ok := n.(*Const)
	return ok && k.Val == nil
}

// takeEndless reads the first n items of an endless sequence.
func takeEndless(c *inv, e endless, n int64) ([]any, error) {
	if n > int64(c.st.maxSize) {
		return nil, c.st.sizeErr(c.node, c.st.maxSize+1)
	}
	if err := c.tick(int(n)); err != nil {
		return nil, err
	}
	out := make([]any, n)
	for i := range out {
		out[i] = e.at(int64(i))
	}
	return out, nil
}
