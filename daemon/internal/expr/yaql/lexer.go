package yaql

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind is the lexical class of a token. The classes follow yaql's
// ply lexer (yaql/language/lexer.py) so that the same texts are accepted:
// an identifier directly followed by "(" is a function call token, any
// other identifier is a keyword string (a bare word that evaluates to
// itself), and the word operators (and, or, not, in, mod) are operators.
type tokKind int

const (
	tEOF     tokKind = iota
	tNumber          // 12, 1.5
	tString          // 'a', "a", `a`
	tConst           // true, false, null
	tKeyword         // a bare identifier
	tFunc            // an identifier immediately followed by "("; the "(" is consumed
	tDollar          // $ or $name
	tOp              // an operator, including the word operators
	tLParen
	tRParen
	tLBrack
	tRBrack
	tLBrace
	tRBrace
	tComma
	tMapping // =>
)

type token struct {
	kind tokKind
	pos  int    // byte offset of the token's first byte
	text string // operator text, identifier, function name, or "$name"
	val  any    // literal value for tNumber, tString, tConst
}

func (k tokKind) String() string {
	switch k {
	case tEOF:
		return "end of expression"
	case tNumber:
		return "number"
	case tString:
		return "string"
	case tConst:
		return "constant"
	case tKeyword:
		return "name"
	case tFunc:
		return "function call"
	case tDollar:
		return "variable"
	case tOp:
		return "operator"
	case tLParen:
		return "'('"
	case tRParen:
		return "')'"
	case tLBrack:
		return "'['"
	case tRBrack:
		return "']'"
	case tLBrace:
		return "'{'"
	case tRBrace:
		return "'}'"
	case tComma:
		return "','"
	case tMapping:
		return "'=>'"
	}
	return "token"
}

// wordOps are identifiers that lex as operators, as yaql's operator table does.
var wordOps = map[string]bool{"and": true, "or": true, "not": true, "in": true, "mod": true}

// symOps lists symbolic operators longest first so that the first prefix
// match is the longest one, matching ply's ordering by pattern length.
var symOps = []string{"!=", "!~", "=~", ">=", "<=", "->", "?.", ".", "+", "-", "*", "/", "<", ">", "="}

func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsNumber(r) || unicode.In(r, unicode.Mn, unicode.Mc)
}

func isIdentStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }

// lex splits src into tokens. It never panics; a character that starts no
// token is a syntax error naming its position.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch c {
		case ' ', '\t', '\r', '\n':
			i++
			continue
		case '(':
			toks = append(toks, token{kind: tLParen, pos: i})
			i++
			continue
		case ')':
			toks = append(toks, token{kind: tRParen, pos: i})
			i++
			continue
		case '[':
			toks = append(toks, token{kind: tLBrack, pos: i})
			i++
			continue
		case ']':
			toks = append(toks, token{kind: tRBrack, pos: i})
			i++
			continue
		case '{':
			toks = append(toks, token{kind: tLBrace, pos: i})
			i++
			continue
		case '}':
			toks = append(toks, token{kind: tRBrace, pos: i})
			i++
			continue
		case ',':
			toks = append(toks, token{kind: tComma, pos: i})
			i++
			continue
		case '$':
			j := i + 1
			for j < len(src) {
				r, n := utf8.DecodeRuneInString(src[j:])
				if !isWordRune(r) {
					break
				}
				j += n
			}
			toks = append(toks, token{kind: tDollar, pos: i, text: src[i:j]})
			i = j
			continue
		case '\'', '"', '`':
			t, next, err := lexString(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i = next
			continue
		}
		if c >= '0' && c <= '9' {
			t, next, err := lexNumber(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i = next
			continue
		}
		r, n := utf8.DecodeRuneInString(src[i:])
		if isIdentStart(r) {
			j := i + n
			for j < len(src) {
				r2, n2 := utf8.DecodeRuneInString(src[j:])
				if !isWordRune(r2) {
					break
				}
				j += n2
			}
			word := src[i:j]
			if j < len(src) && src[j] == '(' {
				toks = append(toks, token{kind: tFunc, pos: i, text: word})
				i = j + 1
				continue
			}
			if strings.HasPrefix(word, "__") {
				// yaql refuses keyword strings starting with "__".
				return nil, syntaxErr(src, i, "illegal character %q", "_")
			}
			switch {
			case wordOps[word]:
				toks = append(toks, token{kind: tOp, pos: i, text: word})
			case word == "true":
				toks = append(toks, token{kind: tConst, pos: i, text: word, val: true})
			case word == "false":
				toks = append(toks, token{kind: tConst, pos: i, text: word, val: false})
			case word == "null":
				toks = append(toks, token{kind: tConst, pos: i, text: word, val: nil})
			default:
				toks = append(toks, token{kind: tKeyword, pos: i, text: word})
			}
			i = j
			continue
		}
		if strings.HasPrefix(src[i:], "=>") {
			toks = append(toks, token{kind: tMapping, pos: i, text: "=>"})
			i += 2
			continue
		}
		matched := false
		for _, op := range symOps {
			if strings.HasPrefix(src[i:], op) {
				toks = append(toks, token{kind: tOp, pos: i, text: op})
				i += len(op)
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		return nil, syntaxErr(src, i, "illegal character %q", string(r))
	}
	toks = append(toks, token{kind: tEOF, pos: len(src)})
	return toks, nil
}

// lexNumber reads \d+(\.\d+)? that must end at a word boundary, as yaql's
// NUMBER rule; "1e3" or "12abc" are therefore lexical errors, as in yaql.
func lexNumber(src string, i int) (token, int, error) {
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(src[:i])
		if isWordRune(r) {
			return token{}, 0, syntaxErr(src, i, "illegal character %q", string(src[i]))
		}
	}
	j := i
	for j < len(src) && src[j] >= '0' && src[j] <= '9' {
		j++
	}
	isFloat := false
	if j+1 < len(src) && src[j] == '.' && src[j+1] >= '0' && src[j+1] <= '9' {
		isFloat = true
		j++
		for j < len(src) && src[j] >= '0' && src[j] <= '9' {
			j++
		}
	}
	if j < len(src) {
		r, _ := utf8.DecodeRuneInString(src[j:])
		if isWordRune(r) {
			return token{}, 0, syntaxErr(src, i, "illegal character %q", string(src[i]))
		}
	}
	text := src[i:j]
	if isFloat {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return token{}, 0, syntaxErr(src, i, "bad number %q", text)
		}
		return token{kind: tNumber, pos: i, text: text, val: f}, j, nil
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		// yaql has arbitrary precision integers; we keep int64 and say so.
		return token{}, 0, syntaxErr(src, i, "integer %s does not fit in 64 bits", text)
	}
	return token{kind: tNumber, pos: i, text: text, val: n}, j, nil
}

// lexString reads a quoted string. Single and double quotes take Python's
// escape sequences (yaql's decode_escapes); backquotes are verbatim except
// for \`.
func lexString(src string, i int) (token, int, error) {
	q := src[i]
	j := i + 1
	for j < len(src) {
		if src[j] == '\\' {
			j += 2
			continue
		}
		if src[j] == q {
			break
		}
		j++
	}
	if j >= len(src) {
		return token{}, 0, syntaxErr(src, i, "illegal character %q", string(q))
	}
	body := src[i+1 : j]
	var s string
	if q == '`' {
		s = strings.ReplaceAll(body, "\\`", "`")
	} else {
		s = decodeEscapes(body)
	}
	return token{kind: tString, pos: i, text: src[i : j+1], val: s}, j + 1, nil
}

// decodeEscapes applies Python's unicode-escape sequences that yaql
// recognises; an unrecognised backslash sequence is kept as written.
func decodeEscapes(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		e := s[i+1]
		simple := map[byte]string{'\\': "\\", '\'': "'", '"': "\"", 'a': "\a", 'b': "\b", 'f': "\f", 'n': "\n", 'r': "\r", 't': "\t", 'v': "\v"}
		if r, ok := simple[e]; ok {
			b.WriteString(r)
			i++
			continue
		}
		hexLen := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
		if hexLen > 0 && i+2+hexLen <= len(s) {
			if v, err := strconv.ParseUint(s[i+2:i+2+hexLen], 16, 32); err == nil && v <= unicode.MaxRune {
				b.WriteRune(rune(v))
				i += 1 + hexLen
				continue
			}
		}
		if e >= '0' && e <= '7' {
			j := i + 1
			for j < len(s) && j < i+4 && s[j] >= '0' && s[j] <= '7' {
				j++
			}
			v, _ := strconv.ParseUint(s[i+1:j], 8, 32)
			b.WriteRune(rune(v))
			i = j - 1
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
