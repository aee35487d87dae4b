package yaql

import (
	"fmt"
	"strconv"
	"strings"
)

// EvalText evaluates src for a `<% %>` inside a longer string. Mistral
// replaces the expression by str() of yaql's converted result, which is
// not str() of the stored JSON: dicts keep their order, sets print in
// braces ({1, 2}, set()), a datetime prints as str(datetime)
// ("2020-01-02 03:04:05+00:00") and a timespan as str(timedelta)
// ("1 day, 0:00:00"). A string is inserted as it is.
func EvalText(src string, env *Env) (string, error) {
	n, err := ParseCached(src)
	if err != nil {
		return "", err
	}
	v, err := evalRaw(src, n, env)
	if err != nil {
		return "", err
	}
	switch x := v.(type) {
	case *Scope:
		return "", &Error{Kind: EvalError, Expr: src, Pos: n.Pos(), Msg: "the result is a context (from let()), not a value"}
	case string:
		return x, nil
	case dateTime:
		return x.pyStr(), nil
	case timeSpan:
		return x.pyStr(), nil
	}
	if bad := endlessIn(v, 0); bad {
		return "", &Error{Kind: EvalError, Expr: src, Pos: n.Pos(), Msg: "the result holds an endless iterator"}
	}
	maxSize := DefaultLimits.MaxSize
	if env != nil && env.Limits.MaxSize > 0 {
		maxSize = env.Limits.MaxSize
	}
	var b strings.Builder
	if !outputRepr(&b, v, maxSize, 0) {
		return "", &Error{Kind: LimitError, Expr: src, Pos: n.Pos(), Msg: fmt.Sprintf("the text of the result exceeds the size limit of %d", maxSize)}
	}
	return b.String(), nil
}

// endlessIn reports whether v holds an endless iterator, which Python
// would try to list for ever.
func endlessIn(v any, depth int) bool {
	if depth > 10_000 {
		return false
	}
	if _, ok := v.(endless); ok {
		return true
	}
	if d, ok := asDict(v); ok {
		for _, e := range d.m {
			if endlessIn(e, depth+1) {
				return true
			}
		}
		return false
	}
	if l, ok := asList(v); ok {
		for _, e := range l {
			if endlessIn(e, depth+1) {
				return true
			}
		}
	}
	return false
}

// outputRepr writes Python's repr of v after yaql's output conversion:
// tuples, iterators and views are lists, dicts keep their order, sets are
// Python sets. It stops and reports false once the text passes max bytes
// (shared lists can make it far larger than the value).
func outputRepr(b *strings.Builder, v any, max, depth int) bool {
	if b.Len() > max || depth > 10_000 {
		return false
	}
	rep := func(e any) bool { return outputRepr(b, e, max, depth+1) }
	if items, ok := setItems(v); ok {
		if len(items) == 0 {
			b.WriteString("set()")
			return true
		}
		return writeItems(b, "{", "}", items, rep) && b.Len() <= max
	}
	switch x := v.(type) {
	case map[string]any, *pyDict:
		d, _ := asDict(x)
		if !writeDict(b, d, rep) {
			return false
		}
	case dateTime:
		b.WriteString(x.pyRepr())
	case timeSpan:
		b.WriteString(x.pyRepr())
	case *regexVal:
		b.WriteString("re.compile(" + pyQuote(x.src) + ")")
	default:
		if l, ok := asList(v); ok {
			return writeItems(b, "[", "]", l, rep) && b.Len() <= max
		}
		pyRepr(b, v, false)
	}
	return b.Len() <= max
}

// pyRepr is Python's repr of a yaql datetime:
// datetime.datetime(2020, 1, 2, 3, 4, tzinfo=tzutc()).
func (d dateTime) pyRepr() string {
	t := d.t
	s := fmt.Sprintf("datetime.datetime(%d, %d, %d, %d, %d", t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute())
	us := t.Nanosecond() / 1000
	if t.Second() != 0 || us != 0 {
		s += ", " + strconv.Itoa(t.Second())
	}
	if us != 0 {
		s += ", " + strconv.Itoa(us)
	}
	if _, off := t.Zone(); off == 0 {
		s += ", tzinfo=tzutc()"
	} else {
		s += fmt.Sprintf(", tzinfo=tzoffset(None, %d)", off)
	}
	return s + ")"
}

// pyRepr is Python's repr of a timedelta: datetime.timedelta(days=1,
// seconds=3600), datetime.timedelta(0) when zero.
func (ts timeSpan) pyRepr() string {
	us := int64(ts) / 1000
	days := us / 86_400_000_000
	rest := us % 86_400_000_000
	if rest < 0 {
		days--
		rest += 86_400_000_000
	}
	var parts []string
	if days != 0 {
		parts = append(parts, fmt.Sprintf("days=%d", days))
	}
	if sec := rest / 1_000_000; sec != 0 {
		parts = append(parts, fmt.Sprintf("seconds=%d", sec))
	}
	if micro := rest % 1_000_000; micro != 0 {
		parts = append(parts, fmt.Sprintf("microseconds=%d", micro))
	}
	if len(parts) == 0 {
		return "datetime.timedelta(0)"
	}
	return "datetime.timedelta(" + strings.Join(parts, ", ") + ")"
}
