package yaql

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// Values enter and leave an evaluation in the JSON model: nil, bool,
// int64, float64, string, []any and map[string]any (inside, yaql's other
// values join them: see dict.go). Normalize converts the Go values a host
// is likely to hand us (int, []string, map[string]string, ...) into that
// model.
func Normalize(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, int64, float64, string:
		return x, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint:
		if uint64(x) > math.MaxInt64 {
			return nil, fmt.Errorf("integer %d does not fit in 64 bits", x)
		}
		return int64(x), nil
	case uint64:
		if x > math.MaxInt64 {
			return nil, fmt.Errorf("integer %d does not fit in 64 bits", x)
		}
		return int64(x), nil
	case float32:
		return float64(x), nil
	case OrderedDict:
		// The order is lost: the model's dicts are maps.
		out := make(map[string]any, len(x.Map))
		for k, e := range x.Map {
			n, err := Normalize(e)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case []any:
		for i, e := range x {
			n, err := Normalize(e)
			if err != nil {
				return nil, err
			}
			if !sameValue(n, e) {
				out := make([]any, len(x))
				copy(out, x[:i])
				out[i] = n
				for j := i + 1; j < len(x); j++ {
					if out[j], err = Normalize(x[j]); err != nil {
						return nil, err
					}
				}
				return out, nil
			}
		}
		return x, nil
	case map[string]any:
		var out map[string]any
		for k, e := range x {
			n, err := Normalize(e)
			if err != nil {
				return nil, err
			}
			if out == nil && !sameValue(n, e) {
				out = make(map[string]any, len(x))
				for k2, e2 := range x {
					out[k2] = e2
				}
			}
			if out != nil {
				out[k] = n
			}
		}
		if out != nil {
			return out, nil
		}
		return x, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			n, err := Normalize(rv.Index(i).Interface())
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("unsupported map key type %s", rv.Type().Key())
		}
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			n, err := Normalize(it.Value().Interface())
			if err != nil {
				return nil, err
			}
			out[it.Key().String()] = n
		}
		return out, nil
	case reflect.Pointer:
		if rv.IsNil() {
			return nil, nil
		}
		return Normalize(rv.Elem().Interface())
	}
	return nil, fmt.Errorf("unsupported value type %T", v)
}

// sameValue reports whether Normalize left a scalar untouched; containers
// are compared by identity of their kind only, which is enough to decide
// whether a copy is needed.
func sameValue(a, b any) bool {
	switch a.(type) {
	case []any, map[string]any:
		return sameContainer(a, b)
	}
	return reflect.TypeOf(a) == reflect.TypeOf(b) && a == b
}

// iterator is a list that yaql would hold as a lazy Python iterator: the
// result of select, where, range, skip, take, distinct, concat, ... yaql
// lets that laziness show: an iterator is always true (so
// `$.l.where(false) or 'x'` is an empty list), equals nothing (so
// `$.l.where(false) = []` is false), cannot be indexed, and list() splices
// it. We keep the items materialised and only mimic those rules; the
// result of an evaluation never contains one (finalize turns them into
// lists, as yaql's output conversion does).
type iterator []any

// asList returns the items of a list or an iterator.
func asList(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case iterator:
		return []any(x), true
	case pyList:
		return []any(x), true
	case pySet:
		return []any(x), true
	case *dictView:
		return x.items, true
	case *ordering:
		return x.items, true
	}
	return nil, false
}

// finalize converts v into the JSON model, as yaql's output conversion
// does: iterators, sets, views and Python lists become lists, dicts made
// during the evaluation maps. Only the containers that hold such a value
// are copied.
func finalize(v any) any {
	switch x := v.(type) {
	case pySet:
		return finalize(iterator(x))
	case pyList:
		return finalize(iterator(x))
	case *dictView:
		return finalize(iterator(x.items))
	case *ordering:
		return finalize(iterator(x.items))
	case *pyDict:
		out := make(map[string]any, x.len())
		for k, e := range x.m {
			out[k] = finalize(e)
		}
		return out
	case dateTime:
		return x.mistralString()
	case iterator:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = finalize(e)
		}
		return out
	case []any:
		for i, e := range x {
			if f := finalize(e); !sameContainer(f, e) {
				out := make([]any, len(x))
				copy(out, x[:i])
				out[i] = f
				for j := i + 1; j < len(x); j++ {
					out[j] = finalize(x[j])
				}
				return out
			}
		}
	case map[string]any:
		for _, e := range x {
			if f := finalize(e); !sameContainer(f, e) {
				out := make(map[string]any, len(x))
				for k, e2 := range x {
					out[k] = finalize(e2)
				}
				return out
			}
		}
	}
	return v
}

// sameContainer reports whether finalize returned its argument unchanged.
func sameContainer(a, b any) bool {
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		return ok && len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0])
	case map[string]any:
		y, ok := b.(map[string]any)
		return ok && reflect.ValueOf(x).UnsafePointer() == reflect.ValueOf(y).UnsafePointer()
	}
	switch b.(type) {
	case iterator, pySet, pyList, *dictView, *pyDict, *ordering, dateTime:
		return false // finalize converts these
	}
	return true
}

// typeName names a value's type in error messages with YAQL's words.
func typeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case int64:
		return "integer"
	case float64:
		return "float"
	case string:
		return "string"
	case []any, pyList:
		return "list"
	case iterator:
		return "iterator"
	case *ordering:
		return "ordered sequence"
	case *dictView:
		return map[viewKind]string{keysView: "dict keys", valuesView: "dict values", itemsView: "dict items"}[x.kind]
	case map[string]any, *pyDict:
		return "dict"
	case pySet:
		return "set"
	case endless:
		return "endless iterator"
	case *regexVal:
		return "regex"
	case dateTime:
		return "datetime"
	case timeSpan:
		return "timespan"
	}
	return fmt.Sprintf("%T", v)
}

// Truthy is Python's truth test, which yaql's and, or, not and bool() use,
// and which Mistral applies to transition guards and boolean task keys.
func Truthy(v any) bool { return truthy(v) }

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	case pySet:
		return len(x) > 0
	case pyList:
		return len(x) > 0
	case *pyDict:
		return x.len() > 0
	case *dictView:
		return len(x.items) > 0
	case OrderedDict:
		return len(x.Keys) > 0
	case timeSpan:
		return x != 0
	}
	return true // including an iterator, even an empty one
}

// number returns v as a float64 for mixed arithmetic; booleans count as
// numbers only for equality, as in Python.
func isNumber(v any) bool {
	switch v.(type) {
	case int64, float64:
		return true
	}
	return false
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	case bool:
		if x {
			return 1
		}
	}
	return 0
}

// equal is Python's ==: 1 == 1.0 == true, containers compare deeply, a
// tuple never equals a list, sets and set-like views compare as sets,
// iterators and values views only equal themselves.
func equal(a, b any) bool {
	switch x := a.(type) {
	case iterator:
		return false // Python compares an iterator by identity
	case pySet:
		ys, ok := setItems(b)
		return ok && sameSet(x, ys)
	case *dictView:
		if x.isSet() {
			ys, ok := setItems(b)
			return ok && sameSet(x.items, ys)
		}
		y, ok := b.(*dictView)
		return ok && x == y
	case *ordering:
		y, ok := b.(*ordering)
		return ok && x == y
	case dateTime, timeSpan:
		c, ok := compareTime(a, b)
		return ok && c == 0
	case nil:
		return b == nil
	case bool, int64, float64:
		switch b.(type) {
		case bool, int64, float64:
			xi, xok := asInt(x)
			yi, yok := asInt(b)
			if xok && yok {
				return xi == yi
			}
			return toFloat(x) == toFloat(b)
		}
		return false
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		return ok && equalItems(x, y)
	case pyList:
		y, ok := b.(pyList)
		return ok && equalItems(x, y)
	case map[string]any, *pyDict:
		m1, _ := dictMap(x)
		m2, ok := dictMap(b)
		if !ok || len(m1) != len(m2) {
			return false
		}
		for k, v := range m1 {
			w, ok := m2[k]
			if !ok || !equal(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

func equalItems(x, y []any) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if !equal(x[i], y[i]) {
			return false
		}
	}
	return true
}

// sameSet compares the items of two sets, which hold no duplicates.
func sameSet(xs, ys []any) bool {
	if len(xs) != len(ys) {
		return false
	}
	for _, p := range xs {
		found := false
		for _, q := range ys {
			if equal(p, q) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func asInt(v any) (int64, bool) {
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

// compare orders two values for < <= > >= and sorting. yaql orders numbers
// with numbers and strings with strings; null is below everything; other
// pairs have no order (ok is false).
func compare(a, b any) (int, bool) {
	if c, ok := compareTime(a, b); ok {
		return c, true
	}
	if a == nil && b == nil {
		return 0, true
	}
	if a == nil {
		return -1, true
	}
	if b == nil {
		return 1, true
	}
	if isNumber(a) && isNumber(b) {
		if x, ok := a.(int64); ok {
			if y, ok := b.(int64); ok {
				switch {
				case x < y:
					return -1, true
				case x > y:
					return 1, true
				}
				return 0, true
			}
		}
		x, y := toFloat(a), toFloat(b)
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	}
	if x, ok := a.(string); ok {
		if y, ok := b.(string); ok {
			return strings.Compare(x, y), true
		}
	}
	return 0, false
}

// pyFloat renders a float as Python's repr does (1.0, 1e+16, 1e-05).
func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return e
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// PyStr renders a value as Python's str() renders Mistral's converted
// output: Mistral interpolates `<% %>` inside a longer string with
// str(value), so "x<% [1] %>" is "x[1]" and null is "None".
func PyStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	var b strings.Builder
	pyRepr(&b, v, false)
	return b.String()
}

// PyRepr is Python's repr() of a value of the model ('a', None, [1, 'b']).
func PyRepr(v any) string {
	var b strings.Builder
	pyRepr(&b, v, false)
	return b.String()
}

// pyRepr writes Python's repr of a value. tuples selects how lists print:
// inside yaql lists are tuples, so yaql's str() prints (1, 2).
func pyRepr(b *strings.Builder, v any, tuples bool) {
	rep := func(e any) bool { pyRepr(b, e, tuples); return true }
	switch x := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		b.WriteString(pyFloat(x))
	case string:
		b.WriteString(pyQuote(x))
	case iterator:
		pyRepr(b, []any(x), true)
	case *ordering:
		pyRepr(b, x.items, true)
	case *dictView:
		b.WriteString(x.pyName())
		b.WriteByte('(')
		pyRepr(b, x.d, tuples)
		b.WriteByte(')')
	case pySet:
		// Python prints a set in hash order; first-seen order is the
		// closest we can define.
		if len(x) == 0 {
			b.WriteString("frozenset()")
			break
		}
		writeItems(b, "frozenset({", "})", x, rep)
	case pyList:
		// A Python list prints in brackets even where yaql's tuples do not.
		writeItems(b, "[", "]", x, rep)
	case []any:
		switch {
		case !tuples:
			writeItems(b, "[", "]", x, rep)
		case len(x) == 1:
			writeItems(b, "(", ",)", x, rep)
		default:
			writeItems(b, "(", ")", x, rep)
		}
	case map[string]any, *pyDict:
		// Python keeps insertion order; a map from the input has lost
		// it, so its keys sort.
		d, _ := asDict(x)
		writeDict(b, d, rep)
	case OrderedDict:
		writeDict(b, &pyDict{keys: x.Keys, m: x.Map}, rep)
	default:
		fmt.Fprintf(b, "%v", x)
	}
}

// pyQuote is Python's repr of a str: single quotes unless the text holds a
// single quote and no double quote.
func pyQuote(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(q):
			b.WriteByte('\\')
			b.WriteByte(q)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// pyFormat is Python's str() of a value as yaql holds it (lists are
// tuples, a string is its text), which is how yaql's exceptions print a
// receiver. ok is false for what Python prints with its memory address
// (an iterator, an ordering, a dict view), which no other program can
// reproduce.
func pyFormat(v any) (s string, ok bool) {
	if lazyIn(v, 0) {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case dateTime:
		return x.pyStr(), true
	case timeSpan:
		return x.pyStr(), true
	}
	var b strings.Builder
	pyRepr(&b, v, true)
	return b.String(), true
}

// lazyIn reports whether v holds a value that Python's yaql keeps lazy.
func lazyIn(v any, depth int) bool {
	if depth > 100 {
		return true
	}
	switch x := v.(type) {
	case iterator, *ordering, *dictView, endless, *regexVal:
		return true
	case []any:
		for _, e := range x {
			if lazyIn(e, depth+1) {
				return true
			}
		}
	case pyList:
		for _, e := range x {
			if lazyIn(e, depth+1) {
				return true
			}
		}
	case pySet:
		for _, e := range x {
			if lazyIn(e, depth+1) {
				return true
			}
		}
	case map[string]any, *pyDict:
		d, _ := asDict(x)
		for _, k := range d.order() {
			if lazyIn(d.m[k], depth+1) {
				return true
			}
		}
	}
	return false
}

// yaqlStr is yaql's str(): null, true and false in YAQL spelling, strings
// as they are, containers as Python prints yaql's internal tuples and dicts.
func yaqlStr(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		if x {
			return "true"
		}
		return "false"
	case string:
		return x
	case dateTime:
		return x.pyStr()
	case timeSpan:
		return x.pyStr()
	}
	var b strings.Builder
	pyRepr(&b, v, true)
	return b.String()
}

// PyFloat renders a float as Python's repr does; the expr package prints
// JSON and YAML with it so that numbers read as Mistral prints them.
func PyFloat(f float64) string { return pyFloat(f) }

// PyJSONKey turns a scalar into a JSON object key as Python's json.dumps
// does (1 -> "1", true -> "true", null -> "null"); containers print as
// Python would, which JSON would refuse.
func PyJSONKey(k any) string {
	switch x := k.(type) {
	case string:
		return x
	case nil:
		return "null"
	case bool:
		if x {
			return "true"
		}
		return "false"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return pyFloat(x)
	}
	return PyStr(k)
}

// writeItems writes items between open and closing, separated by ", ",
// each with item; it stops as soon as item reports false.
func writeItems(b *strings.Builder, open, closing string, items []any, item func(any) bool) bool {
	b.WriteString(open)
	for i, e := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		if !item(e) {
			return false
		}
	}
	b.WriteString(closing)
	return true
}

// writeDict writes a dict as Python does, {'k': v, ...}, in its order,
// each value with val; it stops as soon as val reports false.
func writeDict(b *strings.Builder, d *pyDict, val func(any) bool) bool {
	b.WriteByte('{')
	for i, k := range d.order() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pyQuote(k))
		b.WriteString(": ")
		if !val(d.m[k]) {
			return false
		}
	}
	b.WriteByte('}')
	return true
}
