package yaql

import (
	"fmt"
	"slices"
	"sort"
)

// Python's containers as yaql holds them, beside the JSON model's []any
// and map[string]any.
//
// The input data is converted as Mistral converts it (yaql's
// convert_input_data): its lists are tuples and its dicts FrozenDicts, so
// []any is a tuple and a map[string]any a FrozenDict, and so are yaql's
// literals. A few functions return Python's mutable containers instead:
// split(), rightSplit(), insert(), splitAt() and list * n return a list
// (pyList); toDict(), delete(), deleteAll() and mergeWith() a dict
// (pyDict with mutable set); and so do Mistral's functions (json_parse(),
// task(), ...). Workflows can see the difference: a list never equals a
// tuple ('a,b'.split(',') = ['a', 'b'] is false), str() prints it in
// brackets, and neither a list nor a dict can be hashed, so toSet(),
// distinct(), groupBy() and set membership fail on one as an item.

// pyList is a Python list (see above).
type pyList []any

// pyDict is a dict made during an evaluation. Python dicts keep insertion
// order, and so does keys: values(), items(), str() and the set
// operations walk a dict in that order. A map[string]any from the input
// has lost its order (it came as JSON); it reads in sorted key order.
type pyDict struct {
	keys    []string
	m       map[string]any
	mutable bool // a Python dict; false for yaql's FrozenDict
	buf     [4]string
}

// newDict makes an empty dict with room for n keys; small dicts keep
// their keys inside the struct.
func newDict(n int, mutable bool) *pyDict {
	d := &pyDict{m: make(map[string]any, n), mutable: mutable}
	if n <= len(d.buf) {
		d.keys = d.buf[:0]
	} else {
		d.keys = make([]string, 0, n)
	}
	return d
}

// put sets k to v; a key already present keeps its place, as in Python.
func (d *pyDict) put(k string, v any) {
	n := len(d.m)
	d.m[k] = v
	if len(d.m) > n {
		d.keys = append(d.keys, k)
	}
}

func (d *pyDict) get(k string) (any, bool) {
	v, ok := d.m[k]
	return v, ok
}

func (d *pyDict) len() int { return len(d.m) }

// del removes k if present.
func (d *pyDict) del(k string) {
	if _, ok := d.m[k]; !ok {
		return
	}
	delete(d.m, k)
	d.keys = slices.DeleteFunc(d.keys, func(s string) bool { return s == k })
}

// order is the keys in iteration order.
func (d *pyDict) order() []string {
	if d.keys == nil && len(d.m) > 0 {
		d.keys = sortedKeys(d.m)
	}
	return d.keys
}

// clone copies d into a new dict with the given mutability.
func (d *pyDict) clone(mutable bool, extra int) *pyDict {
	out := newDict(d.len()+extra, mutable)
	for _, k := range d.order() {
		out.put(k, d.m[k])
	}
	return out
}

// asDict returns a dict value as a pyDict: a map from the input becomes a
// FrozenDict read in sorted key order. The result must not be changed.
func asDict(v any) (*pyDict, bool) {
	switch x := v.(type) {
	case *pyDict:
		return x, true
	case map[string]any:
		return &pyDict{m: x}, true
	}
	return nil, false
}

// isDict reports whether v is a dict of either kind.
func isDictValue(v any) bool {
	switch v.(type) {
	case *pyDict, map[string]any:
		return true
	}
	return false
}

// dictMap returns the key-value map of a dict of either kind.
func dictMap(v any) (map[string]any, bool) {
	switch x := v.(type) {
	case map[string]any:
		return x, true
	case *pyDict:
		return x.m, true
	}
	return nil, false
}

func sortedKeys(d map[string]any) []string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// viewKind tells keys(), values() and items() apart.
type viewKind uint8

const (
	keysView viewKind = iota
	valuesView
	itemsView
)

// dictView is what keys(), values() and items() return: Python's views of
// a dict. Keys and items views are sets (compared as sets, unhashable,
// and stored by Mistral in hash order, so the corpus compares them
// unordered); an items view cannot be part of a result at all, because
// Mistral's output conversion puts its (key, value) pairs, as lists, into
// a set. A values view is neither a set nor a list: it equals only
// itself and cannot be indexed. None of them is an iterator: list() does
// not splice them and they can be read twice.
type dictView struct {
	kind  viewKind
	d     *pyDict
	items []any // keys, values or [key, value] tuples, in the dict's order
}

func newView(kind viewKind, d *pyDict) *dictView {
	ks := d.order()
	items := make([]any, len(ks))
	for i, k := range ks {
		switch kind {
		case keysView:
			items[i] = k
		case valuesView:
			items[i] = d.m[k]
		default:
			items[i] = []any{k, d.m[k]}
		}
	}
	return &dictView{kind: kind, d: d, items: items}
}

func (v *dictView) isSet() bool { return v.kind != valuesView }

func (v *dictView) pyName() string {
	switch v.kind {
	case keysView:
		return "KeysView"
	case valuesView:
		return "ValuesView"
	}
	return "ItemsView"
}

// setItems returns the items of a Python set: a pySet or a keys or items
// view.
func setItems(v any) ([]any, bool) {
	switch x := v.(type) {
	case pySet:
		return x, true
	case *dictView:
		if x.isSet() {
			return x.items, true
		}
	}
	return nil, false
}

// unhashable returns the name of the Python type that makes v unhashable
// (hash(v) raises "unhashable type: NAME"), or "" when v can be hashed:
// tuples and FrozenDicts hash their items, iterators and values views hash
// by identity.
func unhashable(v any, depth int) string {
	if depth > 10_000 {
		return ""
	}
	switch x := v.(type) {
	case pyList:
		return "list"
	case *pyDict:
		if x.mutable {
			return "dict"
		}
		for _, e := range x.m {
			if n := unhashable(e, depth+1); n != "" {
				return n
			}
		}
	case map[string]any:
		for _, e := range x {
			if n := unhashable(e, depth+1); n != "" {
				return n
			}
		}
	case []any:
		for _, e := range x {
			if n := unhashable(e, depth+1); n != "" {
				return n
			}
		}
	case *dictView:
		if x.isSet() {
			return x.pyName()
		}
	}
	return ""
}

// hashable is the error Python raises when v is used where it must be
// hashed: as a set item, a dict key, a distinct() or groupBy() key.
func (c *inv) hashable(v any) error {
	if n := unhashable(v, 0); n != "" {
		return c.errf("TypeError: unhashable type: '%s'", n)
	}
	return nil
}

// hashableAll checks every item of xs.
func (c *inv) hashableAll(xs []any) error {
	for _, x := range xs {
		if err := c.hashable(x); err != nil {
			return err
		}
	}
	return nil
}

// unstorableSet finds a set inside a result that Mistral cannot store:
// yaql's output conversion turns a set's items into lists, dicts and sets
// and puts them into a Python set, which fails for every container
// ([[1]].toSet() fails, [[1]].toSet().len() does not). It returns the
// Python type name of the offending item, or "".
func unstorableSet(v any, depth int) string {
	if depth > 10_000 {
		return ""
	}
	if items, ok := setItems(v); ok {
		for _, e := range items {
			switch e.(type) {
			case nil, bool, int64, float64, string, dateTime, timeSpan, *regexVal:
			case map[string]any, *pyDict:
				return "dict"
			case pySet:
				return "set"
			case *dictView:
				if e.(*dictView).isSet() {
					return "set"
				}
				return "list"
			default:
				return "list"
			}
		}
		return ""
	}
	switch x := v.(type) {
	case []any, pyList, iterator, *dictView, *ordering:
		l, _ := asList(x)
		for _, e := range l {
			if n := unstorableSet(e, depth+1); n != "" {
				return n
			}
		}
	case map[string]any:
		for _, e := range x {
			if n := unstorableSet(e, depth+1); n != "" {
				return n
			}
		}
	case *pyDict:
		for _, e := range x.m {
			if n := unstorableSet(e, depth+1); n != "" {
				return n
			}
		}
	}
	return ""
}

// fromHost converts a host function's result as yaql sees Mistral's: Go
// values into the model (Normalize), lists and dicts into Python's
// mutable ones, an OrderedDict into a dict in its key order (a plain map
// reads in sorted key order).
func fromHost(v any, depth int) (any, error) {
	if depth > 10_000 {
		return nil, fmt.Errorf("a value nested deeper than %d", 10_000)
	}
	switch x := v.(type) {
	case OrderedDict:
		out := newDict(len(x.Keys), true)
		for _, k := range x.Keys {
			e, err := fromHost(x.Map[k], depth+1)
			if err != nil {
				return nil, err
			}
			out.put(k, e)
		}
		return out, nil
	case []any:
		out := make(pyList, len(x))
		for i, e := range x {
			var err error
			if out[i], err = fromHost(e, depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		out := &pyDict{keys: sortedKeys(x), m: make(map[string]any, len(x)), mutable: true}
		for k, e := range x {
			var err error
			if out.m[k], err = fromHost(e, depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	n, err := Normalize(v)
	if err != nil {
		return nil, err
	}
	switch n.(type) {
	case []any, map[string]any:
		return fromHost(n, depth)
	}
	return n, nil
}

// OrderedDict is a dict built by an expression as the host functions
// listed in Env.OrderedArgs receive it: Keys in insertion order, Map the items.
// Mistral's json_dump prints a dict in that order.
type OrderedDict struct {
	Keys []string
	Map  map[string]any
}

// NewOrderedDict makes an empty OrderedDict. A host function may return
// one (json_parse does) so that yaql reads the dict in its key order.
func NewOrderedDict() OrderedDict { return OrderedDict{Map: map[string]any{}} }

// Set sets k to v; a key already present keeps its place, as in Python.
func (d *OrderedDict) Set(k string, v any) {
	if _, ok := d.Map[k]; !ok {
		d.Keys = append(d.Keys, k)
	}
	d.Map[k] = v
}

// hostArg converts an argument of host function name into the JSON model
// (see finalize), keeping dict order for the functions that want it.
func (st *state) hostArg(name string, v any) any {
	if st.ordered[name] {
		return finalizeOrdered(v)
	}
	return finalize(v)
}

// finalizeOrdered is finalize with the dicts an expression built turned
// into OrderedDicts. A map[string]any can only come from the input, which holds
// none.
func finalizeOrdered(v any) any {
	switch x := v.(type) {
	case *pyDict:
		out := OrderedDict{Keys: slices.Clone(x.order()), Map: make(map[string]any, x.len())}
		for k, e := range x.m {
			out.Map[k] = finalizeOrdered(e)
		}
		return out
	case []any, pyList, iterator, pySet, *dictView, *ordering:
		l, _ := asList(x)
		out := make([]any, len(l))
		for i, e := range l {
			out[i] = finalizeOrdered(e)
		}
		return out
	}
	return finalize(v)
}

// member is Python's `v in coll` for a collection coll: a set or a keys
// view hashes v; an items view unpacks v into a key and a value and looks
// the key up; everything else compares item by item.
func (st *state) member(n Node, coll, v any) (bool, error) {
	if view, ok := coll.(*dictView); ok && view.kind == itemsView {
		var kv []any
		switch x := v.(type) {
		case string:
			for _, r := range x {
				kv = append(kv, string(r))
			}
		default:
			l, ok := asList(v)
			if !ok {
				return false, st.errAt(n, "TypeError: cannot unpack non-iterable %s object", pyTypeName(v))
			}
			kv = l
		}
		if len(kv) < 2 {
			return false, st.errAt(n, "ValueError: not enough values to unpack (expected 2, got %d)", len(kv))
		}
		if len(kv) > 2 {
			return false, st.errAt(n, "ValueError: too many values to unpack (expected 2)")
		}
		if name := unhashable(kv[0], 0); name != "" {
			return false, st.errAt(n, "TypeError: unhashable type: '%s'", name)
		}
		k, ok := kv[0].(string)
		if !ok {
			return false, nil
		}
		w, found := view.d.get(k)
		return found && equal(w, kv[1]), nil
	}
	items, isSet := setItems(coll)
	if isSet {
		if name := unhashable(v, 0); name != "" {
			return false, st.errAt(n, "TypeError: unhashable type: '%s'", name)
		}
	} else {
		items, _ = asList(coll)
	}
	for _, e := range items {
		if err := st.step(n, 1); err != nil {
			return false, err
		}
		if equal(v, e) {
			return true, nil
		}
	}
	return false, nil
}

// pyTypeName is the name of a scalar's Python type, as Python's messages
// give it ("int", "NoneType"); other values go by typeName.
func pyTypeName(v any) string {
	if n, ok := PyScalarType(v); ok {
		return n
	}
	return typeName(v)
}

// PyScalarType is the name of Python's type of a scalar of the value
// model (None, bool, int, float, str); ok is false for other values.
func PyScalarType(v any) (name string, ok bool) {
	switch v.(type) {
	case nil:
		return "NoneType", true
	case bool:
		return "bool", true
	case int64:
		return "int", true
	case float64:
		return "float", true
	case string:
		return "str", true
	}
	return "", false
}
