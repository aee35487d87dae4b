package yaql

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Values are the JSON model: nil, bool, int64, float64, string, []any and
// map[string]any. Normalize converts the Go values a host is likely to hand
// us (int, []string, map[string]string, ...) into that model, so the
// evaluator only ever switches over seven types.
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

// itemsView is what yaql's items() returns: Python's ItemsView of the dict,
// a set of (key, value) pairs. It iterates like a list, is false when
// empty, cannot be indexed, and cannot be part of a result: Mistral's
// output conversion puts the pairs, as lists, into a set and fails
// (unhashable type: 'list'). Eval refuses a result holding a non-empty
// one; finalize turns it into a list of pairs everywhere else (a host
// function's arguments: json_dump(d.items())).
type itemsView []any

// holdsItemsView reports whether v holds a non-empty itemsView.
func holdsItemsView(v any, depth int) bool {
	if depth > 10_000 {
		return false
	}
	switch x := v.(type) {
	case itemsView:
		return len(x) > 0
	case []any, iterator, pySet:
		l, _ := asList(x)
		for _, e := range l {
			if holdsItemsView(e, depth+1) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if holdsItemsView(e, depth+1) {
				return true
			}
		}
	}
	return false
}

// asList returns the items of a list or an iterator.
func asList(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case iterator:
		return []any(x), true
	case itemsView:
		return []any(x), true
	case pySet:
		return []any(x), true
	}
	return nil, false
}

// finalize converts every iterator inside v into a list, copying only the
// containers that hold one.
func finalize(v any) any {
	switch x := v.(type) {
	case pySet:
		return finalize(iterator(x))
	case itemsView:
		return finalize(iterator(x))
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
	_, isIter := b.(iterator)
	return !isIter
}

// typeName names a value's type in error messages with YAQL's words.
func typeName(v any) string {
	switch v.(type) {
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
	case []any:
		return "list"
	case iterator:
		return "iterator"
	case itemsView:
		return "dict items"
	case map[string]any:
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
	case itemsView:
		return len(x) > 0
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

// equal is Python's ==: 1 == 1.0 == true, containers compare deeply.
func equal(a, b any) bool {
	switch x := a.(type) {
	case iterator:
		return false // Python compares an iterator by identity
	case itemsView:
		// Views compare as sets of pairs.
		y, ok := b.(itemsView)
		if !ok || len(x) != len(y) {
			return false
		}
		for _, p := range x {
			found := false
			for _, q := range y {
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
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !equal(v, w) {
				return false
			}
		}
		return true
	}
	return false
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
	case itemsView:
		b.WriteString("ItemsView({")
		for i, p := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			if kv, ok := p.([]any); ok && len(kv) == 2 {
				pyRepr(b, kv[0], tuples)
				b.WriteString(": ")
				pyRepr(b, kv[1], tuples)
			}
		}
		b.WriteString("})")
	case []any:
		open, closing := "[", "]"
		if tuples {
			open, closing = "(", ")"
		}
		b.WriteString(open)
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			pyRepr(b, e, tuples)
		}
		if tuples && len(x) == 1 {
			b.WriteString(",")
		}
		b.WriteString(closing)
	case map[string]any:
		// Python keeps insertion order; Go maps have none, so keys sort.
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("{")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pyQuote(k))
			b.WriteString(": ")
			pyRepr(b, x[k], tuples)
		}
		b.WriteString("}")
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
