package expr

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sirocco-wf/sirocco/daemon/internal/expr/yaql"
)

// Python's operators and str() on the value model, for Jinja: Jinja2
// evaluates `a + b`, `a < b`, `a in b` and `'%s' % x` with Python's own
// operators, which raise on None and on mixed types where gonja returns a
// zero value. The Jinja glue rewrites every operator into a call of pyBinOp
// (see pyOutputs), so templates compute what Mistral computes.

// pyTuple is a Python tuple: Jinja's `(1, 2)`. It prints as (1, 2) and
// becomes a list when it leaves an expression (Mistral's JSON).
type pyTuple []any

// pyType is Python's type name of a value.
func pyType(v any) string {
	if n, ok := yaql.PyScalarType(v); ok {
		return n
	}
	switch v.(type) {
	case []any:
		return "list"
	case pyTuple:
		return "tuple"
	case map[string]any:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}

// deTuple turns tuples into lists, recursively: the value model has none.
// Values without tuples come back as they are, uncopied.
func deTuple(v any) any {
	if !hasTuple(v, 0) {
		return v
	}
	switch x := v.(type) {
	case pyTuple:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deTuple(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deTuple(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deTuple(e)
		}
		return out
	}
	return v
}

func hasTuple(v any, depth int) bool {
	if depth > 10_000 {
		return false
	}
	switch x := v.(type) {
	case pyTuple:
		return true
	case []any:
		for _, e := range x {
			if hasTuple(e, depth+1) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if hasTuple(e, depth+1) {
				return true
			}
		}
	}
	return false
}

// pyStr is Python's str(): strings as they are, everything else as repr.
func pyStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	var b strings.Builder
	writeRepr(&b, v)
	return b.String()
}

// pyReprOf is Python's repr().
func pyReprOf(v any) string {
	var b strings.Builder
	writeRepr(&b, v)
	return b.String()
}

func writeRepr(b *strings.Builder, v any) {
	switch x := v.(type) {
	case pyTuple:
		b.WriteByte('(')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e)
		}
		if len(x) == 1 {
			b.WriteByte(',')
		}
		b.WriteByte(')')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(yaql.PyRepr(k))
			b.WriteString(": ")
			writeRepr(b, x[k])
		}
		b.WriteByte('}')
	default:
		b.WriteString(yaql.PyRepr(v))
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// pyNum reads a number as Python's arithmetic does: bool is an int.
func pyNum(v any) (i int64, f float64, isInt, ok bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, 1, true, true
		}
		return 0, 0, true, true
	case int64:
		return x, float64(x), true, true
	case float64:
		return 0, x, false, true
	}
	return 0, 0, false, false
}

func unsupported(op string, l, r any) error {
	return fmt.Errorf("TypeError: unsupported operand type(s) for %s: '%s' and '%s'", op, pyType(l), pyType(r))
}

var errZeroDiv = errors.New("ZeroDivisionError: division by zero")

// pyBinOp is Python's binary operator op on l and r; maxSize bounds the
// strings and lists it builds.
func pyBinOp(op string, l, r any, maxSize int) (any, error) {
	li, lf, lInt, lNum := pyNum(l)
	ri, rf, rInt, rNum := pyNum(r)
	both := lNum && rNum
	ints := both && lInt && rInt
	switch op {
	case "+":
		switch {
		case ints:
			s := li + ri
			if (s > li) != (ri > 0) {
				return nil, errors.New("OverflowError: integer overflow")
			}
			return s, nil
		case both:
			return lf + rf, nil
		}
		switch x := l.(type) {
		case string:
			if y, ok := r.(string); ok {
				if len(x)+len(y) > maxSize {
					return nil, &LimitExceeded{What: fmt.Sprintf("string of %d bytes exceeds the size limit of %d", len(x)+len(y), maxSize)}
				}
				return x + y, nil
			}
		case []any:
			if y, ok := r.([]any); ok {
				if len(x)+len(y) > maxSize {
					return nil, &LimitExceeded{What: fmt.Sprintf("list of %d items exceeds the size limit of %d", len(x)+len(y), maxSize)}
				}
				return append(append([]any{}, x...), y...), nil
			}
		case pyTuple:
			if y, ok := r.(pyTuple); ok {
				if len(x)+len(y) > maxSize {
					return nil, &LimitExceeded{What: fmt.Sprintf("tuple of %d items exceeds the size limit of %d", len(x)+len(y), maxSize)}
				}
				return append(append(pyTuple{}, x...), y...), nil
			}
		}
		if _, ok := l.(string); ok {
			return nil, fmt.Errorf("TypeError: can only concatenate str (not \"%s\") to str", pyType(r))
		}
		if _, ok := l.([]any); ok {
			return nil, fmt.Errorf("TypeError: can only concatenate list (not \"%s\") to list", pyType(r))
		}
		return nil, unsupported("+", l, r)
	case "-":
		switch {
		case ints:
			s := li - ri
			if (s < li) != (ri > 0) {
				return nil, errors.New("OverflowError: integer overflow")
			}
			return s, nil
		case both:
			return lf - rf, nil
		}
		return nil, unsupported("-", l, r)
	case "/":
		if !both {
			return nil, unsupported("/", l, r)
		}
		if rf == 0 {
			return nil, errZeroDiv
		}
		return lf / rf, nil
	case "//":
		if !both {
			return nil, unsupported("//", l, r)
		}
		if ints {
			if ri == 0 {
				return nil, errors.New("ZeroDivisionError: integer division or modulo by zero")
			}
			q := li / ri
			if (li%ri != 0) && ((li < 0) != (ri < 0)) {
				q--
			}
			return q, nil
		}
		if rf == 0 {
			return nil, errors.New("ZeroDivisionError: float floor division by zero")
		}
		return math.Floor(lf / rf), nil
	case "%":
		if s, ok := l.(string); ok {
			return pyPercent(s, r, maxSize)
		}
		if !both {
			return nil, unsupported("%", l, r)
		}
		if ints {
			if ri == 0 {
				return nil, errors.New("ZeroDivisionError: integer division or modulo by zero")
			}
			m := li % ri
			if m != 0 && (m < 0) != (ri < 0) {
				m += ri
			}
			return m, nil
		}
		if rf == 0 {
			return nil, errors.New("ZeroDivisionError: float modulo")
		}
		m := math.Mod(lf, rf)
		if m != 0 && (m < 0) != (rf < 0) {
			m += rf
		}
		return m, nil
	case "**":
		if !both {
			return nil, unsupported("** or pow()", l, r)
		}
		if ints && ri >= 0 {
			out, base, e := int64(1), li, ri
			for e > 0 {
				if e&1 == 1 {
					p := out * base
					if base != 0 && p/base != out {
						return nil, errors.New("OverflowError: integer overflow")
					}
					out = p
				}
				e >>= 1
				if e > 0 {
					sq := base * base
					if base != 0 && sq/base != base {
						return nil, errors.New("OverflowError: integer overflow")
					}
					base = sq
				}
			}
			return out, nil
		}
		if lf == 0 && rf < 0 {
			return nil, errors.New("ZeroDivisionError: 0.0 cannot be raised to a negative power")
		}
		p := math.Pow(lf, rf)
		if math.IsNaN(p) {
			return nil, errors.New("ValueError: math domain error (a negative number to a fractional power is complex)")
		}
		if math.IsInf(p, 0) {
			return nil, errors.New("OverflowError: (34, 'Numerical result out of range')")
		}
		return p, nil
	case "~":
		s := pyStr(l) + pyStr(r)
		if len(s) > maxSize {
			return nil, &LimitExceeded{What: fmt.Sprintf("string of %d bytes exceeds the size limit of %d", len(s), maxSize)}
		}
		return s, nil
	case "==":
		return pyEqual(l, r), nil
	case "!=":
		return !pyEqual(l, r), nil
	case "<", ">", "<=", ">=":
		c, err := pyCompare(l, r, op)
		if err != nil {
			return nil, err
		}
		switch op {
		case "<":
			return c < 0, nil
		case ">":
			return c > 0, nil
		case "<=":
			return c <= 0, nil
		}
		return c >= 0, nil
	case "in":
		return pyIn(l, r)
	}
	return nil, fmt.Errorf("unknown operator %s", op)
}

// pyEqual is Python's ==: 1 == 1.0 == True, tuples never equal lists.
func pyEqual(a, b any) bool {
	_, af, _, an := pyNum(a)
	_, bf, _, bn := pyNum(b)
	if an && bn {
		ai, _, aInt, _ := pyNum(a)
		bi, _, bInt, _ := pyNum(b)
		if aInt && bInt {
			return ai == bi
		}
		return af == bf
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		return ok && seqEqual(x, y)
	case pyTuple:
		y, ok := b.(pyTuple)
		return ok && seqEqual(x, y)
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !pyEqual(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

func seqEqual(x, y []any) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if !pyEqual(x[i], y[i]) {
			return false
		}
	}
	return true
}

// pyCompare orders two values as Python's rich comparison does, failing
// with Python's TypeError where Python refuses (None, mixed types, dicts).
func pyCompare(a, b any, op string) (int, error) {
	_, af, _, an := pyNum(a)
	_, bf, _, bn := pyNum(b)
	if an && bn {
		ai, _, aInt, _ := pyNum(a)
		bi, _, bInt, _ := pyNum(b)
		if aInt && bInt {
			return cmpOrdered(ai, bi), nil
		}
		return cmpOrdered(af, bf), nil
	}
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y), nil
		}
	case []any:
		if y, ok := b.([]any); ok {
			return seqCompare(x, y, op)
		}
	case pyTuple:
		if y, ok := b.(pyTuple); ok {
			return seqCompare(x, y, op)
		}
	}
	return 0, fmt.Errorf("TypeError: '%s' not supported between instances of '%s' and '%s'", op, pyType(a), pyType(b))
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func seqCompare(x, y []any, op string) (int, error) {
	for i := 0; i < len(x) && i < len(y); i++ {
		if pyEqual(x[i], y[i]) {
			continue
		}
		return pyCompare(x[i], y[i], op)
	}
	return cmpOrdered(int64(len(x)), int64(len(y))), nil
}

func pyIn(l, r any) (any, error) {
	switch x := r.(type) {
	case string:
		s, ok := l.(string)
		if !ok {
			return nil, fmt.Errorf("TypeError: 'in <string>' requires string as left operand, not %s", pyType(l))
		}
		return strings.Contains(x, s), nil
	case []any:
		for _, e := range x {
			if pyEqual(l, e) {
				return true, nil
			}
		}
		return false, nil
	case pyTuple:
		for _, e := range x {
			if pyEqual(l, e) {
				return true, nil
			}
		}
		return false, nil
	case map[string]any:
		switch k := l.(type) {
		case []any, map[string]any:
			return nil, fmt.Errorf("TypeError: unhashable type: '%s'", pyType(l))
		case string:
			_, ok := x[k]
			return ok, nil
		}
		return false, nil
	}
	return nil, fmt.Errorf("TypeError: argument of type '%s' is not iterable", pyType(r))
}

var percentSpec = regexp.MustCompile(`%(?:\(([^)]*)\))?([-+ #0]*)(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)?`)

// pyPercent is Python's printf-style `format % args`: args is a tuple of
// values, a dict for %(name)s, or a single value.
func pyPercent(format string, args any, maxSize int) (string, error) {
	var list []any
	mapping, isMap := args.(map[string]any)
	if t, ok := args.(pyTuple); ok {
		list = t
	} else {
		list = []any{args}
	}
	next := 0
	usedMap := false
	take := func() (any, error) {
		if next >= len(list) {
			return nil, errors.New("TypeError: not enough arguments for format string")
		}
		next++
		return list[next-1], nil
	}
	var b strings.Builder
	rest := format
	for {
		i := strings.IndexByte(rest, '%')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		m := percentSpec.FindStringSubmatchIndex(rest[i:])
		if m == nil || m[10] < 0 {
			return "", errors.New("ValueError: incomplete format")
		}
		group := func(k int) string {
			if m[2*k] < 0 {
				return ""
			}
			return rest[i+m[2*k] : i+m[2*k+1]]
		}
		name, flags, width, prec, conv := group(1), group(2), group(3), group(4), group(5)
		hasName := m[2] >= 0
		rest = rest[i+m[1]:]
		if conv == "%" && !hasName && flags == "" && width == "" && prec == "" {
			b.WriteByte('%')
			continue
		}
		w, p := 0, -1
		if width == "*" {
			a, err := take()
			if err != nil {
				return "", err
			}
			n, ok := a.(int64)
			if !ok {
				return "", errors.New("TypeError: * wants int")
			}
			w = int(n)
		} else if width != "" {
			w, _ = strconv.Atoi(width)
		}
		if prec == "*" {
			a, err := take()
			if err != nil {
				return "", err
			}
			n, ok := a.(int64)
			if !ok {
				return "", errors.New("TypeError: * wants int")
			}
			p = int(n)
		} else if prec != "" {
			p, _ = strconv.Atoi(prec)
		}
		if w > 1<<16 || p > 1<<16 {
			return "", &LimitExceeded{What: "format width or precision too large"}
		}
		var arg any
		if hasName {
			if !isMap {
				return "", errors.New("TypeError: format requires a mapping")
			}
			v, ok := mapping[name]
			if !ok {
				return "", fmt.Errorf("KeyError: %s", yaql.PyRepr(name))
			}
			arg, usedMap = v, true
		} else {
			a, err := take()
			if err != nil {
				return "", err
			}
			arg = a
		}
		s, numeric, err := percentOne(conv, flags, p, arg)
		if err != nil {
			return "", err
		}
		if n := utf8.RuneCountInString(s); n < w {
			pad := w - n
			switch {
			case strings.Contains(flags, "-"):
				s += strings.Repeat(" ", pad)
			case numeric && strings.Contains(flags, "0"):
				sign := ""
				if s != "" && (s[0] == '-' || s[0] == '+' || s[0] == ' ') {
					sign, s = s[:1], s[1:]
				}
				s = sign + strings.Repeat("0", pad) + s
			default:
				s = strings.Repeat(" ", pad) + s
			}
		}
		b.WriteString(s)
		if b.Len() > maxSize {
			return "", &LimitExceeded{What: fmt.Sprintf("formatted string exceeds the size limit of %d bytes", maxSize)}
		}
	}
	if !isMap && next < len(list) {
		return "", errors.New("TypeError: not all arguments converted during string formatting")
	}
	_ = usedMap
	return b.String(), nil
}

func percentOne(conv, flags string, prec int, arg any) (s string, numeric bool, err error) {
	sign := func(neg bool, digits string) string {
		switch {
		case neg:
			return "-" + digits
		case strings.Contains(flags, "+"):
			return "+" + digits
		case strings.Contains(flags, " "):
			return " " + digits
		}
		return digits
	}
	switch conv {
	case "s":
		s = pyStr(arg)
		if prec >= 0 && utf8.RuneCountInString(s) > prec {
			s = string([]rune(s)[:prec])
		}
		return s, false, nil
	case "r", "a":
		s = pyReprOf(arg)
		if prec >= 0 && utf8.RuneCountInString(s) > prec {
			s = string([]rune(s)[:prec])
		}
		return s, false, nil
	case "d", "i", "u":
		i, f, isInt, ok := pyNum(arg)
		if !ok {
			return "", false, fmt.Errorf("TypeError: %%%s format: a real number is required, not %s", conv, pyType(arg))
		}
		if !isInt {
			if math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) >= 9.2e18 {
				return "", false, errors.New("OverflowError: cannot convert float to integer")
			}
			i = int64(f)
		}
		neg := i < 0
		u := uint64(i)
		if neg {
			u = uint64(-i)
		}
		digits := strconv.FormatUint(u, 10)
		if prec > len(digits) {
			digits = strings.Repeat("0", prec-len(digits)) + digits
		}
		return sign(neg, digits), true, nil
	case "x", "X", "o":
		i, _, isInt, ok := pyNum(arg)
		if !ok || !isInt {
			return "", false, fmt.Errorf("TypeError: %%%s format: an integer is required, not %s", conv, pyType(arg))
		}
		neg := i < 0
		u := uint64(i)
		if neg {
			u = uint64(-i)
		}
		base := 16
		if conv == "o" {
			base = 8
		}
		digits := strconv.FormatUint(u, base)
		if conv == "X" {
			digits = strings.ToUpper(digits)
		}
		if prec > len(digits) {
			digits = strings.Repeat("0", prec-len(digits)) + digits
		}
		if strings.Contains(flags, "#") {
			digits = map[string]string{"x": "0x", "X": "0X", "o": "0o"}[conv] + digits
		}
		return sign(neg, digits), true, nil
	case "e", "E", "f", "F", "g", "G":
		_, f, _, ok := pyNum(arg)
		if !ok {
			return "", false, fmt.Errorf("TypeError: must be real number, not %s", pyType(arg))
		}
		if prec < 0 {
			prec = 6
		}
		var digits string
		switch {
		case math.IsInf(f, 0):
			digits = "inf"
		case math.IsNaN(f):
			digits = "nan"
		default:
			c := strings.ToLower(conv)[0]
			if c == 'g' && prec == 0 {
				prec = 1
			}
			digits = strconv.FormatFloat(math.Abs(f), c, prec, 64)
			if c == 'g' && strings.Contains(flags, "#") && !strings.Contains(digits, ".") {
				digits += "."
			}
		}
		if conv == "E" || conv == "F" || conv == "G" {
			digits = strings.ToUpper(digits)
		}
		return sign(math.Signbit(f) && !math.IsNaN(f), digits), true, nil
	case "c":
		switch x := arg.(type) {
		case int64:
			if x < 0 || x > unicode.MaxRune {
				return "", false, errors.New("OverflowError: %c arg not in range(0x110000)")
			}
			return string(rune(x)), false, nil
		case string:
			if utf8.RuneCountInString(x) == 1 {
				return x, false, nil
			}
		}
		return "", false, errors.New("TypeError: %c requires int or char")
	}
	return "", false, fmt.Errorf("ValueError: unsupported format character '%s'", conv)
}
