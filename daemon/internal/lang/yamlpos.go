package lang

import (
	"errors"
	"strings"

	goccy "github.com/goccy/go-yaml"
	goccyparser "github.com/goccy/go-yaml/parser"
)

// yaml.v3 reads YAML the way this package needs (its node tree keeps
// styles, tags and positions, so PyYAML's YAML 1.1 rules can be applied
// on top), but its syntax errors are poor at saying where: they carry no
// column, and they name the line of the construct being read (the
// mapping that holds a mis-indented key) rather than the offending
// character. github.com/goccy/go-yaml's parser reports the token at which
// it failed, with line and column. So, only when yaml.v3 fails, the
// document is parsed a second time with goccy's parser, just to place
// the error; the values themselves always come from yaml.v3.

// maxLocateBrackets bounds the flow nesting of a document that is handed
// to goccy's recursive parser, so that hostile input cannot exhaust the
// stack; deeper documents keep yaml.v3's line.
const maxLocateBrackets = 200

// locateSyntaxError returns goccy's place and description of the first
// syntax error in src. ok is false when goccy finds none, or one before
// line minLine (yaml.v3's line, which is never after the real error).
func locateSyntaxError(src []byte, minLine int) (line, col int, msg string, ok bool) {
	if flowDepth(src) > maxLocateBrackets {
		return 0, 0, "", false
	}
	_, err := goccyparser.ParseBytes(src, 0, goccyparser.AllowDuplicateMapKey())
	var se *goccy.SyntaxError
	if err == nil || !errors.As(err, &se) || se.Token == nil || se.Token.Position == nil {
		return 0, 0, "", false
	}
	pos := se.Token.Position
	if pos.Line < minLine || pos.Line < 1 || pos.Column < 1 {
		return 0, 0, "", false
	}
	return pos.Line, pos.Column, explainSyntax(se.Message), true
}

// flowDepth is the deepest nesting of [ and { in src, counted without
// regard to quoting: an upper bound, which is all the guard needs.
func flowDepth(src []byte) int {
	d, max := 0, 0
	for _, c := range src {
		switch c {
		case '[', '{':
			d++
			if d > max {
				max = d
			}
		case ']', '}':
			if d > 0 {
				d--
			}
		}
	}
	return max
}

// syntaxWords rewrites goccy's parser messages into what a workflow
// author can act on. Messages not listed are kept.
var syntaxWords = []struct{ prefix, words string }{
	{"value is not allowed in this context", "this line is not indented like the lines above it: a key here does not belong to the mapping or list before it (check the indentation)"},
	{"mapping value is not allowed in this context", "unexpected ': ' in a value: quote the value if it holds ': '"},
	{"mapping value is not allowed", "unexpected ': ' in a value: quote the value if it holds ': '"},
	{"non-map value is specified", "a line without 'key: value' inside a mapping (a missing ':'?)"},
	{"unexpected key name", "a key at this indentation does not fit here (check the indentation of this line and the next)"},
	{"could not find end character of single-quoted text", "a single-quoted string starts here and is never closed"},
	{"could not find end character of double-quoted text", "a double-quoted string starts here and is never closed"},
	{"',' or ']' must be specified", "a flow list [...] is not closed: a ',' or ']' is missing before this point"},
	{"sequence end token ']' not found", "a flow list [...] starts here and is never closed with ']'"},
	{"could not find flow mapping end token '}'", "a flow mapping {...} starts here and is never closed with '}'"},
	{"',' or '}' must be specified", "a flow mapping {...} is not closed: a ',' or '}' is missing before this point"},
	{"found character '\t' that cannot start any token", "a tab character cannot indent YAML: use spaces"},
	{"found unknown escape character", "unknown escape sequence in a double-quoted string"},
}

func explainSyntax(msg string) string {
	msg = strings.TrimSpace(msg)
	for _, w := range syntaxWords {
		if strings.HasPrefix(msg, w.prefix) {
			return w.words
		}
	}
	if strings.HasSuffix(msg, "is a reserved character") {
		return msg + ": quote the value"
	}
	return msg
}

// firstNonBlankCol is the column of the first character of a line that
// is not a space, for errors that know only their line.
func firstNonBlankCol(lines []string, line int) int {
	if line < 1 || line > len(lines) {
		return 1
	}
	for i, r := range []rune(lines[line-1]) {
		if r != ' ' && r != '\t' {
			return i + 1
		}
	}
	return 1
}
