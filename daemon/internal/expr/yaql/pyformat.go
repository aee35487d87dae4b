package yaql

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// specRe is Python's format-spec mini-language:
// [[fill]align][sign][z][#][0][width][grouping][.precision][type].
var specRe = regexp.MustCompile(`^(?:(.)?([<>=^]))?([-+ ])?(z)?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$`)

// formatSpec is Python's format(v, spec) for the value model, which is
// what '{0:>5}'.format(x) applies to each field.
func formatSpec(v any, spec string, maxSize int) (string, error) {
	m := specRe.FindStringSubmatch(spec)
	if m == nil {
		return "", fmt.Errorf("invalid format specifier %q", spec)
	}
	// The fill may be any one character, which the pattern's (.) only
	// catches for ASCII; a multi-byte fill is rare enough to refuse.
	fill, align, sign, alt, zero, width, group, prec, typ := m[1], m[2], m[3], m[5] != "", m[6] != "", m[7], m[8], m[9], m[10]
	w := 0
	if width != "" {
		n, err := strconv.Atoi(width)
		if err != nil || n > maxSize {
			return "", errors.New("format width too large")
		}
		w = n
	}
	p := -1
	if prec != "" {
		n, err := strconv.Atoi(prec)
		if err != nil || n > 1000 {
			return "", errors.New("format precision too large")
		}
		p = n
	}
	if zero && fill == "" {
		fill = "0"
	}
	if zero && align == "" {
		align = "="
	}
	if fill == "" {
		fill = " "
	}
	if b, ok := v.(bool); ok {
		if b {
			v = int64(1)
		} else {
			v = int64(0)
		}
	}
	var body, prefix string
	numeric := false
	switch x := v.(type) {
	case string:
		if typ != "" && typ != "s" {
			return "", fmt.Errorf("Unknown format code '%s' for object of type 'str'", typ)
		}
		if sign != "" || alt || group != "" || align == "=" {
			return "", errors.New("sign, '#', grouping and '=' alignment are not allowed in string format specifier")
		}
		body = x
		if p >= 0 && utf8.RuneCountInString(body) > p {
			body = string([]rune(body)[:p])
		}
		if align == "" {
			align = "<"
		}
	case int64:
		numeric = true
		switch typ {
		case "e", "E", "f", "F", "g", "G", "%":
			return formatSpec(float64(x), spec, maxSize)
		case "", "d", "n", "b", "o", "x", "X", "c":
		default:
			return "", fmt.Errorf("Unknown format code '%s' for object of type 'int'", typ)
		}
		if p >= 0 {
			return "", errors.New("Precision not allowed in integer format specifier")
		}
		neg := x < 0
		u := uint64(x)
		if neg {
			u = uint64(-x)
		}
		switch typ {
		case "b":
			body = strconv.FormatUint(u, 2)
			if alt {
				prefix = "0b"
			}
		case "o":
			body = strconv.FormatUint(u, 8)
			if alt {
				prefix = "0o"
			}
		case "x", "X":
			body = strconv.FormatUint(u, 16)
			if alt {
				prefix = "0x"
			}
			if typ == "X" {
				body, prefix = strings.ToUpper(body), strings.ToUpper(prefix)
			}
		case "c":
			body = string(rune(x))
		default:
			body = groupDigits(strconv.FormatUint(u, 10), group)
		}
		prefix = signOf(neg, sign) + prefix
	case float64:
		numeric = true
		neg := math.Signbit(x) && !math.IsNaN(x)
		a := math.Abs(x)
		switch {
		case math.IsInf(a, 0):
			body = "inf"
		case math.IsNaN(a):
			body = "nan"
		default:
			switch typ {
			case "e", "E":
				body = strconv.FormatFloat(a, 'e', precOr(p, 6), 64)
			case "f", "F":
				body = strconv.FormatFloat(a, 'f', precOr(p, 6), 64)
			case "%":
				body = strconv.FormatFloat(a*100, 'f', precOr(p, 6), 64) + "%"
			case "g", "G", "n":
				body = strconv.FormatFloat(a, 'g', max(precOr(p, 6), 1), 64)
				if alt && !strings.Contains(body, ".") {
					body += "."
				}
			case "":
				if p < 0 {
					body = pyFloat(a)
				} else {
					body = strconv.FormatFloat(a, 'g', max(p, 1), 64)
					if !strings.ContainsAny(body, ".e") {
						body += ".0"
					}
				}
			default:
				return "", fmt.Errorf("Unknown format code '%s' for object of type 'float'", typ)
			}
			if group != "" && !strings.ContainsAny(body, "e") {
				intPart, rest := body, ""
				if k := strings.IndexAny(body, ".%"); k >= 0 {
					intPart, rest = body[:k], body[k:]
				}
				body = groupDigits(intPart, group) + rest
			}
		}
		if typ == "E" || typ == "F" || typ == "G" {
			body = strings.ToUpper(body)
		}
		prefix = signOf(neg, sign)
	default:
		return "", fmt.Errorf("unsupported format string passed to %s.__format__", typeName(v))
	}
	if align == "" {
		if numeric {
			align = ">"
		} else {
			align = "<"
		}
	}
	n := utf8.RuneCountInString(prefix) + utf8.RuneCountInString(body)
	pad := max(w-n, 0)
	switch align {
	case "<":
		return prefix + body + strings.Repeat(fill, pad), nil
	case ">":
		return strings.Repeat(fill, pad) + prefix + body, nil
	case "^":
		return strings.Repeat(fill, pad/2) + prefix + body + strings.Repeat(fill, pad-pad/2), nil
	}
	return prefix + strings.Repeat(fill, pad) + body, nil // "="
}

func precOr(p, d int) int {
	if p < 0 {
		return d
	}
	return p
}

func signOf(neg bool, sign string) string {
	switch {
	case neg:
		return "-"
	case sign == "+":
		return "+"
	case sign == " ":
		return " "
	}
	return ""
}

// groupDigits inserts sep every three digits from the right.
func groupDigits(digits, sep string) string {
	if sep == "" || len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	first := len(digits) % 3
	if first > 0 {
		b.WriteString(digits[:first])
	}
	for i := first; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}
