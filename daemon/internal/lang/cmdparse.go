package lang

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

// This file reproduces Mistral's _parse_cmd_and_input (mistral/lang/base.py),
// which splits `std.echo output="Hello, <% $.name %>" x=1` into the command
// and its inline parameters. Its regular expressions are translated rule for
// rule so that odd inputs split as they do in Mistral: an unquoted word value
// (`output=Hello`) is silently dropped, `[...]` is greedy, digits and
// true/false/null are read as JSON, and nothing is split unless the string
// holds a space. Python's \w, \d and \s match Unicode; the classes below do
// the same.

const (
	pyWordClass = `\p{L}\p{N}_`
	pySpaceSet  = `\t\n\v\f\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}`
	pyS         = `[` + pySpaceSet + `]`
	// yaqlRe and jinjaRe are Mistral's expression finders
	// (INLINE_YAQL_REGEXP, JINJA_REGEXP, JINJA_BLOCK_REGEXP).
	yaqlPattern  = `<%.*?%>`
	jinjaPattern = `(\{\{(.*?)\}\})`
)

var (
	// CMD_PTRN: a dotted name, or a YAQL or Jinja expression.
	cmdRe = regexp.MustCompile(`^([` + pyWordClass + `.]+[^=(\"` + pySpaceSet + `]*|` + yaqlPattern + `|\{\{.*\}\}|\{%.*%\})`)
	// PARAMS_PTRN: key=value where value is quoted, an expression, a
	// bracketed list, true/false/null or digits.
	paramsRe = regexp.MustCompile(`([-_` + pyWordClass + `]+)=("[^"]*"` + pyS + `*|'[^']*'` + pyS + `*|` +
		jinjaPattern + `|` + yaqlPattern + `|\[.*\]` + pyS + `*|true|false|null|\p{Nd}+)`)

	yaqlRe       = regexp.MustCompile(yaqlPattern)
	jinjaRe      = regexp.MustCompile(jinjaPattern)
	jinjaBlockRe = regexp.MustCompile(`(\{%(.*?)%\})`)
	// exprRe is types.EXPRESSION: a string that is one expression,
	// possibly followed by blanks.
	exprYaqlRe  = regexp.MustCompile(`^` + yaqlPattern + pyS + `*$`)
	exprJinjaRe = regexp.MustCompile(`^` + jinjaPattern + pyS + `*$`)
)

// parseCmdAndInput splits a command string into its name and inline
// parameters. ok is false when the string holds a space but starts with
// neither a name nor an expression (Mistral: "Invalid action/workflow task
// property").
func parseCmdAndInput(s string) (cmd string, params map[string]any, order []string, ok bool) {
	if !strings.Contains(s, " ") {
		return s, map[string]any{}, nil, true
	}
	cmd = cmdRe.FindString(s)
	if cmd == "" {
		return "", nil, nil, false
	}
	params = map[string]any{}
	for _, m := range paramsRe.FindAllStringSubmatch(s, -1) {
		k := m[1]
		v := strings.TrimFunc(m[2], isPySpace)
		var val any = v
		if v[0] == '"' || v[0] == '\'' {
			val = v[1 : len(v)-1]
		} else if j, jok := pyJSONLoads(v); jok {
			val = j
		}
		if _, seen := params[k]; !seen {
			order = append(order, k)
		}
		params[k] = val
	}
	return cmd, params, order, true
}

func isPySpace(r rune) bool {
	switch {
	case r >= '\t' && r <= '\r', r >= 0x1c && r <= 0x1f, r == ' ', r == 0x85, r == 0xa0,
		r == 0x1680, r >= 0x2000 && r <= 0x200a, r == 0x2028, r == 0x2029,
		r == 0x202f, r == 0x205f, r == 0x3000:
		return true
	}
	return false
}

var jsonIntRe = regexp.MustCompile(`^-?(?:0|[1-9][0-9]*)$`)

// pyJSONLoads reads s as Python's json.loads would, for the values that
// PARAMS_PTRN can yield (digits, true/false/null, a bracketed list).
func pyJSONLoads(s string) (any, bool) {
	if jsonIntRe.MatchString(s) {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, true
		}
		// Python ints are unbounded; the nearest JSON value is a float.
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if dec.More() {
		return nil, false
	}
	// Trailing bytes after the value make json.loads fail too.
	var rest any
	if err := dec.Decode(&rest); err == nil {
		return nil, false
	}
	return normalizeJSON(v), true
}

// normalizeJSON turns json.Number values (from a decoder with UseNumber)
// into int64 when they are integers and float64 otherwise, so that values
// read from YAML and values read back from JSON look the same.
func normalizeJSON(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case map[string]any:
		for k, e := range t {
			t[k] = normalizeJSON(e)
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = normalizeJSON(e)
		}
		return t
	}
	return v
}

// isYAQL and isJinja are the evaluators' is_expression tests.
func isYAQL(s string) bool  { return yaqlRe.MatchString(s) }
func isJinja(s string) bool { return jinjaRe.MatchString(s) || jinjaBlockRe.MatchString(s) }

// isExpression is types.EXPRESSION: the whole string is one YAQL or Jinja
// expression (trailing blanks allowed).
func isExpression(s string) bool {
	return exprYaqlRe.MatchString(s) != exprJinjaRe.MatchString(s)
}
