package expr

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sirocco-wf/sirocco/daemon/internal/expr/yaql"
)

// PyJSON renders v as Python's json.dumps(v, indent=indent) does, which is
// what Mistral's json_dump() and json_pp() print: ", " and ": " separators
// without indent, "," and newlines with it, non-ASCII escaped as \uXXXX.
// Dict keys come out sorted: the value model keeps no insertion order.
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
	case map[string]any:
		if len(x) == 0 {
			b.WriteString("{}")
			return nil
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(sep)
			}
			nl(level + 1)
			pyJSONString(b, k)
			b.WriteString(": ")
			if err := pyJSON(b, x[k], indent, level+1); err != nil {
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
	s, err := yamlScalar(v)
	if err != nil {
		return "", err
	}
	b.WriteString(s)
	b.WriteString("\n")
	if _, isStr := v.(string); !isStr || !strings.HasPrefix(s, "'") && !strings.HasPrefix(s, "\"") {
		b.WriteString("...\n")
	}
	return b.String(), nil
}

func yamlMap(b *strings.Builder, m map[string]any, ind int) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ks, _ := yamlScalar(k)
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
	s, err := yamlScalar(v)
	if err != nil {
		return err
	}
	b.WriteByte(' ')
	b.WriteString(s)
	b.WriteByte('\n')
	return nil
}

func yamlScalar(v any) (string, error) {
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
		return yamlString(x), nil
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

// yamlString quotes a string the way PyYAML's emitter chooses a style:
// plain when it cannot be read back as something else, single quotes when
// it could, double quotes when it holds characters that need escapes.
func yamlString(s string) string {
	needDouble := false
	for _, r := range s {
		if r == '\n' || r == '\r' || r == '\t' || r < 0x20 || r >= 0x7f || r == utf8.RuneError {
			needDouble = true
			break
		}
	}
	if needDouble {
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
	if yamlPlainOK(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func yamlPlainOK(s string) bool {
	if s == "" || s != strings.TrimSpace(s) {
		return false
	}
	switch strings.ToLower(s) {
	case "null", "~", "true", "false", "yes", "no", "on", "off", "y", "n", ".inf", "-.inf", "+.inf", ".nan", "=", "<<":
		return false
	}
	if strings.ContainsAny(s[:1], "-?:,[]{}#&*!|>'\"%@`") {
		if !(len(s) > 1 && strings.ContainsAny(s[:1], "-?:") && s[1] != ' ') {
			return false
		}
	}
	if strings.Contains(s, ": ") || strings.Contains(s, " #") || strings.HasSuffix(s, ":") {
		return false
	}
	if strings.ContainsAny(s, ",[]{}") {
		return false
	}
	// Anything YAML 1.1 reads as a number or a timestamp must be quoted.
	if looksNumeric(s) {
		return false
	}
	return true
}

func looksNumeric(s string) bool {
	t := strings.ReplaceAll(s, "_", "")
	if _, err := strconv.ParseFloat(t, 64); err == nil {
		return true
	}
	if _, err := strconv.ParseInt(t, 0, 64); err == nil {
		return true
	}
	// sexagesimal (1:20) and dates (2001-12-14)
	digitsColon := true
	for _, r := range s {
		if !(r >= '0' && r <= '9') && r != ':' && r != '-' && r != '.' {
			digitsColon = false
			break
		}
	}
	return digitsColon && s[0] >= '0' && s[0] <= '9'
}
