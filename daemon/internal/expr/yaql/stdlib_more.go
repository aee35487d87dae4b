package yaql

// yaql's branching (selectCase, switchCase, selectAllCases, examine),
// system (def, call) and dict (mergeWith, deleteAll) functions.

func init() {
	register("selectCase", "F", 0, -1, func(c *inv) (any, error) {
		for i := 0; i < c.nargs(); i++ {
			v, err := c.arg(i)
			if err != nil {
				return nil, err
			}
			if truthy(v) {
				return int64(i), nil
			}
		}
		return int64(c.nargs()), nil
	})
	register("selectAllCases", "F", 0, -1, func(c *inv) (any, error) {
		out := iterator{}
		for i := 0; i < c.nargs(); i++ {
			v, err := c.arg(i)
			if err != nil {
				return nil, err
			}
			if truthy(v) {
				out = append(out, int64(i))
			}
		}
		return out, nil
	})
	register("examine", "F", 0, -1, func(c *inv) (any, error) {
		out := iterator{}
		for i := 0; i < c.nargs(); i++ {
			v, err := c.arg(i)
			if err != nil {
				return nil, err
			}
			out = append(out, truthy(v))
		}
		return out, nil
	})
	// switchCase evaluates only the chosen argument; a case out of range
	// chooses the last one.
	register("switchCase", "M", 1, -1, func(c *inv) (any, error) {
		k, ok := c.recv.(int64)
		if !ok {
			return nil, c.mismatchf("switchCase() needs an integer receiver, got %s", typeName(c.recv))
		}
		n := c.nargs() - 1
		if n == 0 {
			return nil, nil
		}
		if k < 0 || k >= int64(n) {
			k = int64(n - 1)
		}
		return c.arg(int(k) + 1)
	})
	register("def", "F", 2, 2, func(c *inv) (any, error) {
		name, err := c.arg(0)
		if err != nil {
			return nil, err
		}
		s, ok := name.(string)
		if !ok {
			return nil, c.mismatchf("def() needs a function name, got %s", typeName(name))
		}
		sc := c.scope.Child(nil)
		sc.funcs = map[string]*userFunc{s: {body: c.argNode(1), scope: c.scope}}
		return sc, nil
	})
	register("call", "F", 3, 3, eager(func(c *inv, a []any) (any, error) {
		name, ok := a[0].(string)
		if !ok {
			return nil, c.mismatchf("call() needs a function name, got %s", typeName(a[0]))
		}
		args, ok := asList(a[1])
		if !ok {
			return nil, c.mismatchf("call() needs a list of arguments, got %s", typeName(a[1]))
		}
		kw, ok := asDict(a[2])
		if !ok {
			return nil, c.mismatchf("call() needs a dict of keyword arguments, got %s", typeName(a[2]))
		}
		at := c.node.Pos()
		nodes := make([]Node, 0, len(args)+kw.len())
		for _, v := range args {
			nodes = append(nodes, &Const{At: at, Val: v})
		}
		for _, k := range kw.order() {
			nodes = append(nodes, &Mapping{At: at, Key: &Keyword{At: at, Name: k}, Value: &Const{At: at, Val: kw.m[k]}})
		}
		return c.st.call(c.node, name, nil, false, nodes, c.scope)
	}))
	register("deleteAll", "M", 2, 2, eager(func(c *inv, a []any) (any, error) {
		d, err := dictArg(c, a[0])
		if err != nil {
			return nil, err
		}
		keys, err := listArg(c, a[1])
		if err != nil {
			return nil, err
		}
		return deleteKeys(c, d, keys)
	}))
	named("deleteAll", "dict", "keys")
	// mergeWith binds its keyword arguments itself: listMerger and
	// itemMerger may be left out before maxLevels => n.
	register("mergeWith", "M", 2, 5, mergeWith)
}

// mergeWith is yaql's deep merge: dicts merge key by key, lists by
// listMerger (default: distinct(l1 + l2)), other values by itemMerger
// (default: the second); maxLevels > 0 stops the descent.
func mergeWith(c *inv) (any, error) {
	names := []string{"another", "listMerger", "itemMerger", "maxLevels"}
	slots := make([]Node, len(names))
	pos := 0
	for _, n := range c.args {
		if m, ok := n.(*Mapping); ok {
			k, isKw := m.Key.(*Keyword)
			idx := -1
			for i, name := range names {
				if isKw && k.Name == name {
					idx = i
				}
			}
			if idx < 0 {
				return nil, c.st.errAt(m, "mergeWith() has no parameter %s", describeKey(m.Key))
			}
			if slots[idx] != nil {
				return nil, c.st.errAt(m, "mergeWith() got parameter %q twice", names[idx])
			}
			slots[idx] = m.Value
			continue
		}
		for pos < len(slots) && slots[pos] != nil {
			pos++
		}
		if pos >= len(slots) {
			return nil, c.st.errAt(n, "mergeWith() takes at most %d arguments", len(names))
		}
		slots[pos] = n
		pos++
	}
	if slots[0] == nil {
		return nil, c.errf("mergeWith() needs the dict to merge with")
	}
	d1, err := dictArg(c, c.recv)
	if err != nil {
		return nil, err
	}
	d2v, err := c.st.eval(slots[0], c.scope)
	if err != nil {
		return nil, err
	}
	d2, err := dictArg(c, d2v)
	if err != nil {
		return nil, err
	}
	levels := int64(0)
	if slots[3] != nil {
		v, err := c.st.eval(slots[3], c.scope)
		if err != nil {
			return nil, err
		}
		n, ok := v.(int64)
		if !ok {
			return nil, c.errf("mergeWith() maxLevels must be an integer, got %s", typeName(v))
		}
		levels = n
	}
	lambda := func(n Node, params ...any) (any, error) {
		if err := c.st.step(n, 1); err != nil {
			return nil, err
		}
		return c.st.eval(n, c.scope.lambdaScope(params))
	}
	// The default list merger is to_list(distinct(l1 + l2)) with Python's
	// +, which cannot add a tuple and a list.
	listMerge := func(v1, v2 any) (any, error) {
		if slots[1] != nil {
			return lambda(slots[1], v1, v2)
		}
		_, list1 := v1.(pyList)
		_, list2 := v2.(pyList)
		if list1 != list2 {
			// One of them comes from a Mistral function or split().
			l, r := "tuple", "list"
			if list1 {
				l, r = r, l
			}
			return nil, c.errf("mergeWith(): TypeError: can only concatenate %s (not \"%s\") to %s", l, r, l)
		}
		l1, _ := asList(v1)
		l2, _ := asList(v2)
		both := append(append([]any{}, l1...), l2...)
		if err := c.hashableAll(both); err != nil {
			return nil, err
		}
		return dedup(c, both)
	}
	itemMerge := func(x, y any) (any, error) {
		if slots[2] != nil {
			return lambda(slots[2], x, y)
		}
		return y, nil
	}
	// The merged dicts are Python dicts: the keys of a in order, then the
	// new keys of b.
	var merge func(a, b *pyDict, levels int64, depth int) (*pyDict, error)
	merge = func(a, b *pyDict, levels int64, depth int) (*pyDict, error) {
		if depth > c.st.maxDepth {
			return nil, c.errf("mergeWith(): dicts nested too deeply")
		}
		if err := c.tick(a.len() + b.len()); err != nil {
			return nil, err
		}
		out := newDict(a.len()+b.len(), true)
		for _, k := range a.order() {
			v1 := a.m[k]
			out.put(k, v1)
			v2, ok := b.get(k)
			if !ok {
				continue
			}
			if m2, isMap := asDict(v2); isMap && levels != 1 {
				m1, ok := asDict(v1)
				if !ok {
					return nil, c.errf("mergeWith(): cannot merge %s with dict", typeName(v1))
				}
				next := int64(0)
				if levels != 0 {
					next = levels - 1
				}
				m, err := merge(m1, m2, next, depth+1)
				if err != nil {
					return nil, err
				}
				out.put(k, m)
				continue
			}
			if isSequence(v2) && levels != 1 {
				if !isSequence(v1) {
					return nil, c.errf("mergeWith(): cannot merge %s with list", typeName(v1))
				}
				v, err := listMerge(v1, v2)
				if err != nil {
					return nil, err
				}
				out.put(k, v)
				continue
			}
			v, err := itemMerge(v1, v2)
			if err != nil {
				return nil, err
			}
			out.put(k, v)
		}
		for _, k := range b.order() {
			if _, ok := out.get(k); !ok {
				out.put(k, b.m[k])
			}
		}
		return out, nil
	}
	return merge(d1, d2, levels, 0)
}

// isSequence is yaql's is_sequence: a tuple or a list, not an iterator or
// a set.
func isSequence(v any) bool {
	switch v.(type) {
	case []any, pyList:
		return true
	}
	return false
}
