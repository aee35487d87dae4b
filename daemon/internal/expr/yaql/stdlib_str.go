package yaql

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// String, number and regular-expression functions of yaql's standard
// library beyond the common ones in stdlib.go (strings.py, math.py,
// regex.py). String positions count code points, as Python's str does.

// regexVal is yaql's compiled regular expression (regex()). It lives only
// inside an evaluation; a result holding one is an error, as Mistral
// cannot store a Python pattern object.
type regexVal struct {
	re  *regexp.Regexp
	src string
}

// pySet is yaql's set (set(), toSet()): distinct items in first-seen
// order. Mistral stores a set result as a list (oslo's to_primitive), in
// Python's hash order, which is not defined: the corpus compares such
// answers as unordered.
type pySet []any

func init() {
	register("rightSplit", "M", 1, 3, eager(func(c *inv, a []any) (any, error) {
		s, ok := a[0].(string)
		if !ok {
			return nil, c.mismatchf("rightSplit() needs a string, got %s", typeName(a[0]))
		}
		var sep any
		if len(a) >= 2 {
			sep = a[1]
		}
		n := int64(-1)
		if len(a) == 3 {
			k, ok := a[2].(int64)
			if !ok {
				return nil, c.errf("rightSplit() maxSplits must be an integer")
			}
			n = k
		}
		parts, err := pyRSplit(s, sep, n)
		if err != nil {
			return nil, c.errf("rightSplit(): %v", err)
		}
		out := make(pyList, len(parts))
		for i, p := range parts {
			out[i] = p
		}
		return out, nil
	}))
	named("rightSplit", "string", "separator", "maxSplits")
	register("matches", "M", 2, 2, eager(func(c *inv, a []any) (any, error) {
		re, s, err := regexAndString(c, a[0], a[1])
		if err != nil {
			return nil, err
		}
		return re.re.MatchString(s), nil
	}))
	register("regex", "F", 1, 4, eager(func(c *inv, a []any) (any, error) {
		pat, ok := a[0].(string)
		if !ok {
			return nil, c.mismatchf("regex() needs a pattern string, got %s", typeName(a[0]))
		}
		flags := ""
		for i, name := range []string{"i", "s", "m"} {
			if len(a) > i+1 {
				b, ok := a[i+1].(bool)
				if !ok {
					return nil, c.errf("regex() flags must be booleans")
				}
				if b {
					flags += name
				}
			}
		}
		return compileRegex(c, pat, flags)
	}))
	named("regex", "pattern", "ignoreCase", "multiLine", "dotAll")
	register("isRegex", "F", 1, 1, eager(isType(func(v any) bool { _, ok := v.(*regexVal); return ok })))
	register("escapeRegex", "F", 1, 1, eager(func(c *inv, a []any) (any, error) {
		s, ok := a[0].(string)
		if !ok {
			return nil, c.mismatchf("escapeRegex() needs a string, got %s", typeName(a[0]))
		}
		return pyReEscape(s), nil
	}))
	register("search", "M", 2, 3, func(c *inv) (any, error) {
		re, s, err := c.regexArgs()
		if err != nil {
			return nil, err
		}
		m := re.re.FindStringSubmatchIndex(s)
		if m == nil {
			return nil, nil
		}
		if c.nargs() == 3 {
			return c.lambda(2, matchParams(s, m)...)
		}
		return s[m[0]:m[1]], nil
	})
	register("searchAll", "M", 2, 3, func(c *inv) (any, error) {
		re, s, err := c.regexArgs()
		if err != nil {
			return nil, err
		}
		out := []any{}
		for _, m := range re.re.FindAllStringSubmatchIndex(s, -1) {
			if err := c.tick(1); err != nil {
				return nil, err
			}
			if c.nargs() == 3 {
				v, err := c.lambda(2, matchParams(s, m)...)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
				continue
			}
			out = append(out, s[m[0]:m[1]])
		}
		return out, nil
	})

	// Numbers.
	register("hex", "F", 1, 1, eager(func(c *inv, a []any) (any, error) {
		n, ok := a[0].(int64)
		if b, isB := a[0].(bool); isB {
			n, ok = int64(btoi(b)), true
		}
		if !ok {
			return nil, c.mismatchf("hex() needs an integer, got %s", typeName(a[0]))
		}
		if n < 0 {
			return "-0x" + new(big.Int).Neg(big.NewInt(n)).Text(16), nil
		}
		return "0x" + strconv.FormatInt(n, 16), nil
	}))
	register("sign", "F", 1, 1, eager(func(c *inv, a []any) (any, error) {
		if !isNumber(a[0]) {
			return nil, c.mismatchf("sign() needs a number, got %s", typeName(a[0]))
		}
		f := toFloat(a[0])
		switch {
		case f > 0:
			return int64(1), nil
		case f < 0:
			return int64(-1), nil
		}
		return int64(0), nil
	}))
	intOp := func(name string, f func(x, y int64) (int64, error)) {
		register(name, "F", 2, 2, eager(func(c *inv, a []any) (any, error) {
			x, ok1 := a[0].(int64)
			y, ok2 := a[1].(int64)
			if !ok1 || !ok2 {
				return nil, c.mismatchf("%s() needs integers", name)
			}
			return f(x, y)
		}))
	}
	intOp("bitwiseAnd", func(x, y int64) (int64, error) { return x & y, nil })
	intOp("bitwiseOr", func(x, y int64) (int64, error) { return x | y, nil })
	intOp("bitwiseXor", func(x, y int64) (int64, error) { return x ^ y, nil })
	intOp("shiftBitsLeft", func(x, y int64) (int64, error) {
		if y < 0 {
			return 0, fmt.Errorf("negative shift count")
		}
		if y >= 63 || (x != 0 && (x<<y)>>y != x) {
			return 0, errOverflow
		}
		return x << y, nil
	})
	intOp("shiftBitsRight", func(x, y int64) (int64, error) {
		if y < 0 {
			return 0, fmt.Errorf("negative shift count")
		}
		return x >> min(y, 63), nil
	})
	register("bitwiseNot", "F", 1, 1, eager(func(c *inv, a []any) (any, error) {
		x, ok := a[0].(int64)
		if !ok {
			return nil, c.mismatchf("bitwiseNot() needs an integer")
		}
		return ^x, nil
	}))
}

// strFind is Python's str.find / str.rfind with yaql's (start, length)
// arguments, in code points.
func strFind(c *inv, a []any, last bool) (any, error) {
	s, ok1 := a[0].(string)
	sub, ok2 := a[1].(string)
	if !ok1 || !ok2 {
		return nil, c.mismatchf("%s() needs a string and a substring", c.name)
	}
	rs, rsub := []rune(s), []rune(sub)
	n := int64(len(rs))
	start, end := int64(0), n
	if len(a) >= 3 {
		st, ok := a[2].(int64)
		if !ok {
			return nil, c.errf("%s() start must be an integer", c.name)
		}
		start = st
	}
	if len(a) == 4 {
		l, ok := a[3].(int64)
		if !ok {
			return nil, c.errf("%s() length must be an integer", c.name)
		}
		if start < 0 {
			start += n
		}
		if l < 0 {
			l = n - start
		}
		end = start + l
	}
	// Python's slice rules for find(sub, start, end).
	if start < 0 {
		start = max(0, start+n)
	}
	if end < 0 {
		end = max(0, end+n)
	}
	end = min(end, n)
	if start > end || int64(len(rsub)) > end-start {
		return int64(-1), nil
	}
	hay := rs[start:end]
	idx := int64(-1)
	for i := 0; i+len(rsub) <= len(hay); i++ {
		if string(hay[i:i+len(rsub)]) == sub {
			idx = int64(i)
			if !last {
				break
			}
		}
	}
	if idx < 0 {
		return idx, nil
	}
	return start + idx, nil
}

// pyStrip is Python's str.strip(chars): whitespace when chars is null.
func pyStrip(c *inv, s string, chars any, left, right bool) (string, error) {
	var f func(r rune) bool
	switch ch := chars.(type) {
	case nil:
		f = unicode.IsSpace
	case string:
		f = func(r rune) bool { return strings.ContainsRune(ch, r) }
	default:
		return "", c.errf("%s() chars must be a string, got %s", c.name, typeName(chars))
	}
	if left {
		s = strings.TrimLeftFunc(s, f)
	}
	if right {
		s = strings.TrimRightFunc(s, f)
	}
	return s, nil
}

// pyRSplit is Python's str.rsplit(sep, maxsplit).
func pyRSplit(s string, sep any, n int64) ([]string, error) {
	switch sp := sep.(type) {
	case nil:
		var parts []string
		rest := strings.TrimRightFunc(s, unicode.IsSpace)
		for rest != "" {
			if n >= 0 && int64(len(parts)) == n {
				parts = append(parts, rest)
				rest = ""
				break
			}
			j := strings.LastIndexFunc(rest, unicode.IsSpace)
			parts = append(parts, rest[j+1:])
			if j < 0 {
				rest = ""
				break
			}
			rest = strings.TrimRightFunc(rest[:j], unicode.IsSpace)
		}
		for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
			parts[i], parts[j] = parts[j], parts[i]
		}
		if parts == nil {
			parts = []string{}
		}
		return parts, nil
	case string:
		if sp == "" {
			return nil, fmt.Errorf("empty separator")
		}
		if n < 0 {
			return strings.Split(s, sp), nil
		}
		var parts []string
		rest := s
		for int64(len(parts)) < n {
			j := strings.LastIndex(rest, sp)
			if j < 0 {
				break
			}
			parts = append(parts, rest[j+len(sp):])
			rest = rest[:j]
		}
		parts = append(parts, rest)
		for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
			parts[i], parts[j] = parts[j], parts[i]
		}
		return parts, nil
	}
	return nil, fmt.Errorf("separator must be a string")
}

// pyUpper is Python's str.upper, which applies the full case mapping
// (ß becomes SS) where Go's ToUpper maps rune to rune.
func pyUpper(s string) string {
	s = strings.ToUpper(s)
	if strings.ContainsAny(s, "ßŉǰΐΰﬀﬁﬂﬃﬄﬅﬆ") {
		s = strings.NewReplacer("ß", "SS", "ŉ", "ʼN", "ǰ", "J̌", "ﬀ", "FF", "ﬁ", "FI", "ﬂ", "FL",
			"ﬃ", "FFI", "ﬄ", "FFL", "ﬅ", "ST", "ﬆ", "ST").Replace(s)
	}
	return s
}

// compileRegex translates the common Python pattern syntax to RE2: the
// two agree on everything a workflow usually writes; lookarounds and
// backreferences in patterns are refused with an error.
func compileRegex(c *inv, pat, flags string) (*regexVal, error) {
	src := pat
	if flags != "" {
		src = "(?" + flags + ")" + pat
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, c.errf("bad regular expression %s: %v", pyQuote(pat), err)
	}
	return &regexVal{re: re, src: pat}, nil
}

// regexAndString sorts the operands of matches(): regex.matches(string) or
// string.matches(pattern or regex).
func regexAndString(c *inv, recv, arg any) (*regexVal, string, error) {
	if re, ok := recv.(*regexVal); ok {
		s, ok := arg.(string)
		if !ok {
			return nil, "", c.mismatchf("%s() needs a string, got %s", c.name, typeName(arg))
		}
		return re, s, nil
	}
	s, ok := recv.(string)
	if !ok {
		return nil, "", c.mismatchf("%s() needs a string or a regex, got %s", c.name, typeName(recv))
	}
	switch p := arg.(type) {
	case *regexVal:
		return p, s, nil
	case string:
		re, err := compileRegex(c, p, "")
		return re, s, err
	}
	return nil, "", c.mismatchf("%s() needs a pattern, got %s", c.name, typeName(arg))
}

// regexArgs reads regex.search(string): search and searchAll are methods
// of a regex only.
func (c *inv) regexArgs() (*regexVal, string, error) {
	re, ok := c.recv.(*regexVal)
	if !ok {
		return nil, "", c.errf("%s() is a method of regex(), got %s", c.name, typeName(c.recv))
	}
	v, err := c.arg(1)
	if err != nil {
		return nil, "", err
	}
	s, ok := v.(string)
	if !ok {
		return nil, "", c.mismatchf("%s() needs a string, got %s", c.name, typeName(v))
	}
	return re, s, nil
}

// matchParams is what yaql passes to a search selector: $1 (and so $)
// is the match as {value, start, end}, $2... the groups.
func matchParams(s string, m []int) []any {
	out := make([]any, len(m)/2)
	for i := range out {
		if m[2*i] < 0 {
			out[i] = matchRecord(nil, -1, -1)
			continue
		}
		st := int64(len([]rune(s[:m[2*i]])))
		v := s[m[2*i]:m[2*i+1]]
		out[i] = matchRecord(v, st, st+int64(len([]rune(v))))
	}
	return out
}

// pyRepl turns a Python re.sub replacement (\1, \g<1>, \g<name>) into
// Go's Expand syntax.
func pyRepl(r string) string {
	var b strings.Builder
	for i := 0; i < len(r); i++ {
		ch := r[i]
		switch {
		case ch == '$':
			b.WriteString("$$")
		case ch == '\\' && i+1 < len(r) && r[i+1] >= '0' && r[i+1] <= '9':
			j := i + 1
			for j < len(r) && j < i+3 && r[j] >= '0' && r[j] <= '9' {
				j++
			}
			b.WriteString("${" + r[i+1:j] + "}")
			i = j - 1
		case ch == '\\' && i+2 < len(r) && r[i+1] == 'g' && r[i+2] == '<':
			k := strings.IndexByte(r[i:], '>')
			if k < 0 {
				b.WriteByte(ch)
				continue
			}
			b.WriteString("${" + r[i+3:i+k] + "}")
			i += k
		case ch == '\\' && i+1 < len(r):
			switch r[i+1] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case '\\':
				b.WriteByte('\\')
			default:
				b.WriteByte(ch)
				b.WriteByte(r[i+1])
			}
			i++
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}

// regexReplace is re.sub(repl, s, count) (count 0: all).
func regexReplace(c *inv, re *regexVal, s, repl string, count int64) (any, error) {
	tmpl := pyRepl(repl)
	var b strings.Builder
	last, n := 0, int64(0)
	for _, m := range re.re.FindAllStringSubmatchIndex(s, -1) {
		if count > 0 && n >= count {
			break
		}
		b.WriteString(s[last:m[0]])
		b.Write(re.re.ExpandString(nil, tmpl, s, m))
		last = m[1]
		n++
		if b.Len() > c.st.maxSize {
			return nil, c.st.sizeErr(c.node, b.Len())
		}
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

// regexSplit is re.split(s, maxsplit) (0: all), without captured groups.
func regexSplit(re *regexVal, s string, max int64) pyList {
	// Python's re.split: the text between matches, and after each match
	// its groups (None for a group that did not take part).
	n := -1
	if max > 0 {
		n = int(max)
	}
	out := pyList{}
	last := 0
	for _, m := range re.re.FindAllStringSubmatchIndex(s, n) {
		out = append(out, s[last:m[0]])
		for g := 2; g+1 < len(m); g += 2 {
			if m[g] < 0 {
				out = append(out, nil)
			} else {
				out = append(out, s[m[g]:m[g+1]])
			}
		}
		last = m[1]
	}
	return append(out, s[last:])
}

// pyReEscape is Python 3.7+'s re.escape: every character outside
// [A-Za-z0-9_] and non-ASCII is preceded by a backslash if it is special.
func pyReEscape(s string) string {
	const special = "()[]{}?*+-|^$\\.&~# \t\n\r\v\f"
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(special, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// pyRound is Python's round(x, digits) on a float: correctly rounded from
// the exact binary value (round(2.675, 2) is 2.67).
func pyRound(x float64, digits int64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || digits > 300 {
		return x
	}
	if digits >= 0 {
		f, err := strconv.ParseFloat(strconv.FormatFloat(x, 'f', int(digits), 64), 64)
		if err == nil {
			return f
		}
	}
	p := math.Pow(10, float64(-digits))
	return math.RoundToEven(x/p) * p
}

// matchRecord is the Python dict yaql builds for a match or a group.
func matchRecord(v any, start, end int64) *pyDict {
	d := newDict(3, true)
	d.put("value", v)
	d.put("start", start)
	d.put("end", end)
	return d
}
