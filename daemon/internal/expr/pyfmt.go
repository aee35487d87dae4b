package expr

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/sirocco-wf/sirocco/daemon/internal/expr/yaql"
)

// PyJSON renders v as Python's json.dumps(v, indent=indent) does, which is
// what Mistral's json_dump() and json_pp() print: ", " and ": " separators
// without indent, "," and newlines with it, non-ASCII escaped as \uXXXX.
// Dict keys come out sorted: the value model keeps no insertion order,
// except in a yaql.OrderedDict (a dict the expression built), which keeps it.
// indent < 0 means no indentation.
func PyJSON(v any, indent int) (string, error) {
	var b strings.Builder
	if err := pyJSON(&b, v, indent, 0); err != nil {
		return "", err
	}
	return b.String(), nil
}

func pyJSON(b *strings.Builder, v any, indent, level int) error {
	if level > 500 {
		return fmt.Errorf("json_dump(): value nested too deeply")
	}
	nl := func(l int) {
		if indent >= 0 {
			b.WriteByte('\n')
			b.WriteString(strings.Repeat(" ", indent*l))
		}
	}
	sep := ", "
	if indent >= 0 {
		sep = ","
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int:
		b.WriteString(strconv.Itoa(x))
	case float64:
		switch {
		case math.IsNaN(x):
			b.WriteString("NaN")
		case math.IsInf(x, 1):
			b.WriteString("Infinity")
		case math.IsInf(x, -1):
			b.WriteString("-Infinity")
		default:
			b.WriteString(yaql.PyFloat(x))
		}
	case string:
		pyJSONString(b, x)
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(sep)
			}
			nl(level + 1)
			if err := pyJSON(b, e, indent, level+1); err != nil {
				return err
			}
		}
		nl(level)
		b.WriteByte(']')
	case map[string]any, yaql.OrderedDict:
		var m map[string]any
		var keys []string
		if d, ok := x.(yaql.OrderedDict); ok {
			m, keys = d.Map, d.Keys
		} else {
			m = x.(map[string]any)
			keys = make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
		}
		if len(keys) == 0 {
			b.WriteString("{}")
			return nil
		}
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(sep)
			}
			nl(level + 1)
			pyJSONString(b, k)
			b.WriteString(": ")
			if err := pyJSON(b, m[k], indent, level+1); err != nil {
				return err
			}
		}
		nl(level)
		b.WriteByte('}')
	default:
		return fmt.Errorf("object of type %T is not JSON serializable", v)
	}
	return nil
}

// pyJSONString is json.dumps of a str with ensure_ascii=True.
func pyJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20 || (r >= 0x7f && r < 0x10000):
				if r == 0x7f {
					b.WriteRune(r)
				} else {
					fmt.Fprintf(b, `\u%04x`, r)
				}
			case r >= 0x10000:
				r -= 0x10000
				fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// PyYAML renders v as PyYAML's yaml.safe_dump(v, default_flow_style=False)
// does, which is Mistral's yaml_dump(): block style, sorted keys, list
// items not indented under their key, "..." after a lone scalar.
// Long plain strings are not folded at 80 columns as PyYAML folds them.
func PyYAML(v any) (string, error) {
	var b strings.Builder
	switch x := v.(type) {
	case []any:
		if len(x) > 0 {
			if err := yamlSeq(&b, x, 0); err != nil {
				return "", err
			}
			return b.String(), nil
		}
	case map[string]any:
		if len(x) > 0 {
			if err := yamlMap(&b, x, 0); err != nil {
				return "", err
			}
			return b.String(), nil
		}
	}
	s, err := yamlScalar(v, 2)
	if err != nil {
		return "", err
	}
	b.WriteString(s)
	b.WriteString("\n")
	// PyYAML ends an open-ended document (a plain scalar at the root) with
	// "..."; quoted strings and empty [] or {} are not open-ended.
	switch x := v.(type) {
	case string:
		if strings.HasPrefix(s, "'") || strings.HasPrefix(s, "\"") {
			return b.String(), nil
		}
	case []any, map[string]any:
		_ = x
		return b.String(), nil
	}
	b.WriteString("...\n")
	return b.String(), nil
}

func yamlMap(b *strings.Builder, m map[string]any, ind int) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ks, _ := yamlScalar(k, ind+2)
		b.WriteString(strings.Repeat(" ", ind))
		b.WriteString(ks)
		b.WriteByte(':')
		if err := yamlValueAfter(b, m[k], ind, true); err != nil {
			return err
		}
	}
	return nil
}

func yamlSeq(b *strings.Builder, l []any, ind int) error {
	for _, e := range l {
		b.WriteString(strings.Repeat(" ", ind))
		b.WriteByte('-')
		if err := yamlValueAfter(b, e, ind, false); err != nil {
			return err
		}
	}
	return nil
}

// yamlValueAfter writes the value of a "key:" or "-" already written.
func yamlValueAfter(b *strings.Builder, v any, ind int, inMap bool) error {
	switch x := v.(type) {
	case map[string]any:
		if len(x) > 0 {
			if inMap {
				b.WriteByte('\n')
				return yamlMap(b, x, ind+2)
			}
			// "- k: v" with the next keys aligned under the first.
			var sub strings.Builder
			if err := yamlMap(&sub, x, ind+2); err != nil {
				return err
			}
			b.WriteByte(' ')
			b.WriteString(strings.TrimLeft(sub.String(), " "))
			return nil
		}
	case []any:
		if len(x) > 0 {
			if inMap {
				b.WriteByte('\n')
				return yamlSeq(b, x, ind)
			}
			var sub strings.Builder
			if err := yamlSeq(&sub, x, ind+2); err != nil {
				return err
			}
			b.WriteByte(' ')
			b.WriteString(strings.TrimLeft(sub.String(), " "))
			return nil
		}
	}
	s, err := yamlScalar(v, ind+2)
	if err != nil {
		return err
	}
	b.WriteByte(' ')
	b.WriteString(s)
	b.WriteByte('\n')
	return nil
}

// yamlScalar writes a scalar (or an empty [] or {}); ind is the indent
// of the continuation lines of a multi-line quoted string.
func yamlScalar(v any, ind int) (string, error) {
	switch x := v.(type) {
	case nil:
		return "null", nil
	case bool:
		return strconv.FormatBool(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		switch {
		case math.IsNaN(x):
			return ".nan", nil
		case math.IsInf(x, 1):
			return ".inf", nil
		case math.IsInf(x, -1):
			return "-.inf", nil
		}
		s := yaql.PyFloat(x)
		if i := strings.IndexByte(s, 'e'); i >= 0 && !strings.Contains(s[:i], ".") {
			s = s[:i] + ".0" + s[i:] // PyYAML writes 1.0e+16
		}
		return s, nil
	case string:
		return yamlString(x, ind), nil
	case []any:
		if len(x) == 0 {
			return "[]", nil
		}
	case map[string]any:
		if len(x) == 0 {
			return "{}", nil
		}
	}
	return "", fmt.Errorf("yaml_dump(): cannot represent %T", v)
}

// yamlString quotes a string the way PyYAML's emitter chooses a style
// (Emitter.analyze_scalar, choose_scalar_style): plain when it cannot be
// read back as something else and holds no indicator, single quotes when
// it could be misread or spans lines, double quotes when it holds
// characters that need escapes or blanks next to line breaks. Long lines
// are not folded at 80 columns as PyYAML folds them.
func yamlString(s string, ind int) string {
	if s == "" {
		return "''"
	}
	special, multiline := false, false
	spaceBreak, breakSpace := false, false
	flowInd, blockInd := false, false
	rs := []rune(s)
	isWS := func(i int) bool {
		return i < 0 || i >= len(rs) || strings.ContainsRune("\x00 \t\r\n\u0085\u2028\u2029", rs[i])
	}
	if strings.HasPrefix(s, "---") || strings.HasPrefix(s, "...") {
		flowInd, blockInd = true, true
	}
	for i, r := range rs {
		if i == 0 {
			switch {
			case strings.ContainsRune("#,[]{}&*!|>'\"%@`", r):
				flowInd, blockInd = true, true
			case r == '?' || r == ':':
				flowInd = true
				if isWS(i + 1) {
					blockInd = true
				}
			case r == '-' && isWS(i+1):
				flowInd, blockInd = true, true
			}
		} else {
			switch {
			case strings.ContainsRune(",?[]{}", r):
				flowInd = true
			case r == ':':
				flowInd = true
				if isWS(i + 1) {
					blockInd = true
				}
			case r == '#' && isWS(i-1):
				flowInd, blockInd = true, true
			}
		}
		if r == '\n' {
			multiline = true
		} else if !(r >= 0x20 && r <= 0x7e) {
			special = true
		}
		if r == ' ' && i+1 < len(rs) && rs[i+1] == '\n' {
			spaceBreak = true
		}
		if r == '\n' && i+1 < len(rs) && rs[i+1] == ' ' {
			breakSpace = true
		}
	}
	_ = flowInd
	edge := rs[0] == ' ' || rs[0] == '\n' || rs[len(rs)-1] == ' ' || rs[len(rs)-1] == '\n'
	if special || spaceBreak || breakSpace {
		return yamlDoubleQuoted(s)
	}
	if !multiline && !edge && !blockInd {
		if _, typed := pyyamlResolve(s); !typed {
			return s
		}
	}
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(rs); {
		r := rs[i]
		if r == '\n' {
			j := i
			for j < len(rs) && rs[j] == '\n' {
				j++
			}
			// A run of k breaks is k+1 newlines: one newline alone would
			// fold into a space.
			b.WriteString(strings.Repeat("\n", j-i+1))
			b.WriteString(strings.Repeat(" ", ind))
			i = j
			continue
		}
		if r == '\'' {
			b.WriteString("''")
		} else {
			b.WriteRune(r)
		}
		i++
	}
	b.WriteByte('\'')
	return b.String()
}

func yamlDoubleQuoted(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02X`, r)
		case r >= 0x80 && r < 0x100:
			fmt.Fprintf(&b, `\x%02X`, r)
		case r >= 0x100 && r < 0x10000:
			fmt.Fprintf(&b, `\u%04X`, r)
		case r >= 0x10000:
			fmt.Fprintf(&b, `\U%08X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

var (
	yamlBoolRe  = regexp.MustCompile(`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`)
	yamlNullRe  = regexp.MustCompile(`^(?:~|null|Null|NULL|)$`)
	yamlIntRe   = regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)
	yamlFloatRe = regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`)
	yamlTimeRe  = regexp.MustCompile(`^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$`)
	yamlMergeRe = regexp.MustCompile(`^(?:<<|=)$`)
)

// pyyamlResolve is PyYAML's implicit resolver (YAML 1.1) for a plain
// scalar: the value it reads s as, and whether that is something other
// than the string itself. Timestamps come back as their text (Mistral's
// JSON stores a date as a string) but still count as typed.
func pyyamlResolve(s string) (any, bool) {
	switch {
	case yamlBoolRe.MatchString(s):
		c := s[0]
		return c == 'y' || c == 'Y' || c == 't' || c == 'T' || s == "on" || s == "On" || s == "ON", true
	case yamlNullRe.MatchString(s):
		return nil, true
	case yamlIntRe.MatchString(s):
		if v, ok := yamlInt(s); ok {
			return v, true
		}
		return s, true
	case yamlFloatRe.MatchString(s):
		return yamlFloat(s), true
	case yamlTimeRe.MatchString(s), yamlMergeRe.MatchString(s):
		return s, true
	}
	return s, false
}

func yamlInt(s string) (int64, bool) {
	t := strings.ReplaceAll(s, "_", "")
	neg := false
	if t != "" && (t[0] == '-' || t[0] == '+') {
		neg, t = t[0] == '-', t[1:]
	}
	var v int64
	var err error
	switch {
	case t == "0":
		v = 0
	case strings.HasPrefix(t, "0b"):
		v, err = strconv.ParseInt(t[2:], 2, 64)
	case strings.HasPrefix(t, "0x"):
		v, err = strconv.ParseInt(t[2:], 16, 64)
	case t[0] == '0':
		v, err = strconv.ParseInt(t[1:], 8, 64)
	case strings.Contains(t, ":"):
		for _, part := range strings.Split(t, ":") {
			d, e := strconv.ParseInt(part, 10, 64)
			if e != nil || v > math.MaxInt64/60 {
				return 0, false
			}
			v = v*60 + d
		}
	default:
		v, err = strconv.ParseInt(t, 10, 64)
	}
	if err != nil {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

func yamlFloat(s string) float64 {
	t := strings.ToLower(strings.ReplaceAll(s, "_", ""))
	sign := 1.0
	if t != "" && (t[0] == '-' || t[0] == '+') {
		if t[0] == '-' {
			sign = -1
		}
		t = t[1:]
	}
	switch {
	case t == ".inf":
		return sign * math.Inf(1)
	case t == ".nan":
		return math.NaN()
	case strings.Contains(t, ":"):
		v := 0.0
		for _, part := range strings.Split(t, ":") {
			d, _ := strconv.ParseFloat(part, 64)
			v = v*60 + d
		}
		return sign * v
	}
	f, _ := strconv.ParseFloat(t, 64)
	return sign * f
}
