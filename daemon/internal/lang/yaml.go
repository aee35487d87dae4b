package lang

import (
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Mistral reads definitions with PyYAML's SafeLoader, which implements YAML
// 1.1: `yes`, `no`, `on` and `off` are booleans, `012` is octal, `1_000` is
// an integer, `1e3` is a string (a float needs a dot) and `1:30` is 90.
// yaml.v3 resolves plain scalars with YAML 1.2 rules, so this file walks the
// yaml.v3 node tree and resolves every plain scalar again with PyYAML's
// resolver patterns. The tree keeps each value's position so that every
// error can name a line and column.

// kind is the resolved type of a YAML value.
type kind int

const (
	kindNull kind = iota
	kindBool
	kindInt
	kindFloat
	kindStr
	kindMap
	kindSeq
)

// String names a kind the way error messages speak of it (JSON Schema's
// words, as Mistral's own messages use them).
func (k kind) String() string {
	switch k {
	case kindNull:
		return "null"
	case kindBool:
		return "boolean"
	case kindInt:
		return "integer"
	case kindFloat:
		return "number"
	case kindStr:
		return "string"
	case kindMap:
		return "mapping"
	case kindSeq:
		return "list"
	}
	return "unknown"
}

// node is a YAML value resolved as PyYAML would resolve it, with its
// position. Mappings keep their keys in document order; a repeated key
// keeps its first position and takes its last value, as a Python dict built
// by PyYAML does.
type node struct {
	kind  kind
	val   any // nil, bool, int64, float64 or string for scalars
	keys  []*node
	vals  []*node
	items []*node
	line  int
	col   int
}

// str returns the string value of a string node and "" otherwise.
func (n *node) str() string {
	if n == nil || n.kind != kindStr {
		return ""
	}
	return n.val.(string)
}

// keyStr is the dict key Mistral ends up with: PyYAML keeps non-string keys
// as Python values and Mistral stores specs as JSON, where json.dumps turns
// True into "true", None into "null" and numbers into their digits.
func (n *node) keyStr() string {
	switch n.kind {
	case kindStr:
		return n.val.(string)
	case kindNull:
		return "null"
	case kindBool:
		if n.val.(bool) {
			return "true"
		}
		return "false"
	case kindInt:
		return strconv.FormatInt(n.val.(int64), 10)
	case kindFloat:
		return pyFloatRepr(n.val.(float64))
	}
	return ""
}

// get returns the value of a string key of a mapping node, or nil.
func (n *node) get(key string) *node {
	if n == nil || n.kind != kindMap {
		return nil
	}
	for i, k := range n.keys {
		if k.kind == kindStr && k.val.(string) == key {
			return n.vals[i]
		}
	}
	return nil
}

// getKey returns the key node of a string key of a mapping node, or nil.
func (n *node) getKey(key string) *node {
	if n == nil || n.kind != kindMap {
		return nil
	}
	for _, k := range n.keys {
		if k.kind == kindStr && k.val.(string) == key {
			return k
		}
	}
	return nil
}

// value converts a node into plain Go values: map[string]any, []any,
// string, int64, float64, bool or nil. These survive a JSON round trip
// (see normalizeJSON).
func (n *node) value() any {
	if n == nil {
		return nil
	}
	switch n.kind {
	case kindMap:
		m := make(map[string]any, len(n.keys))
		for i, k := range n.keys {
			m[k.keyStr()] = n.vals[i].value()
		}
		return m
	case kindSeq:
		s := make([]any, len(n.items))
		for i, it := range n.items {
			s[i] = it.value()
		}
		return s
	}
	return n.val
}

// yamlError is a YAML syntax or construction error with a position.
type yamlError struct {
	line, col int
	msg       string
}

func (e *yamlError) Error() string { return e.msg }

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): `)

// parseYAML reads one YAML document the way Mistral's safe_yaml.load does.
// An empty document reads as an empty mapping (Mistral's `load(text) or {}`).
func parseYAML(src []byte) (*node, error) {
	dec := yaml.NewDecoder(strings.NewReader(string(src)))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &node{kind: kindMap, line: 1, col: 1}, nil
		}
		return nil, convertYAMLError(src, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &yamlError{line: extra.Line, col: extra.Column,
			msg: "expected a single document in the stream, but found another document"}
	} else if !errors.Is(err, io.EOF) {
		return nil, convertYAMLError(src, err)
	}
	if len(doc.Content) == 0 {
		return &node{kind: kindMap, line: 1, col: 1}, nil
	}
	c := &converter{lines: strings.Split(string(src), "\n")}
	n, err := c.convert(doc.Content[0], 0, false)
	if err != nil {
		return nil, err
	}
	if n.kind == kindNull {
		// `load(text) or {}`: a document holding only null is empty.
		return &node{kind: kindMap, line: n.line, col: n.col}, nil
	}
	return n, nil
}

// convertYAMLError turns a yaml.v3 error into a positioned error.
// yaml.v3 reports at most a line ("yaml: line 7: ..."), often the line of
// the enclosing construct; locateSyntaxError finds the offending token's
// line and column when it can (see yamlpos.go). Otherwise the column is
// that of the line's first character.
func convertYAMLError(src []byte, err error) error {
	msg := err.Error()
	line := 0
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	minLine := line
	if strings.Contains(msg, "end of stream") {
		// The end of the stream is after the error, not before it.
		minLine = 0
	}
	if l, c, words, ok := locateSyntaxError(src, minLine); ok {
		return &yamlError{line: l, col: c, msg: "invalid YAML: " + words}
	}
	if line == 0 {
		line = 1
	}
	lines := strings.Split(string(src), "\n")
	if line > len(lines) {
		// yaml.v3 counts the end of the stream as one line more.
		line = len(lines)
	}
	return &yamlError{line: line, col: firstNonBlankCol(lines, line), msg: "invalid YAML: " + msg}
}

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 1000

// converter turns yaml.v3 nodes into resolved nodes; it keeps the source
// lines to recover the text of anchors and aliases.
type converter struct {
	lines []string
}

// plainText returns the text of the plain scalar that starts at line:col,
// as PyYAML's scanner would end it: at " #", at ": ", at the end of the
// line, and in a flow collection also at ",[]{}".
func (c *converter) plainText(line, col int, flow bool) (string, bool) {
	if line < 1 || line > len(c.lines) {
		return "", false
	}
	r := []rune(strings.TrimRight(c.lines[line-1], "\r"))
	if col < 1 || col > len(r) {
		return "", false
	}
	r = r[col-1:]
	end := len(r)
	for i := 0; i < len(r); i++ {
		if r[i] == '#' && i > 0 && (r[i-1] == ' ' || r[i-1] == '\t') {
			end = i
			break
		}
		if r[i] == ':' && (i+1 == len(r) || r[i+1] == ' ' || r[i+1] == '\t' || (flow && strings.ContainsRune(",[]{}", r[i+1]))) {
			end = i
			break
		}
		if flow && strings.ContainsRune(",[]{}", r[i]) {
			end = i
			break
		}
	}
	return strings.TrimRight(string(r[:end]), " \t"), true
}

func (c *converter) convert(y *yaml.Node, depth int, flow bool) (*node, error) {
	if depth > maxDepth {
		return nil, &yamlError{line: y.Line, col: y.Column, msg: "invalid YAML: nesting too deep"}
	}
	n := &node{line: y.Line, col: y.Column}
	tagged := y.Style&yaml.TaggedStyle != 0
	if y.Kind == yaml.AliasNode || y.Anchor != "" {
		// Mistral's loader (mistral/utils/safe_yaml.py) disables anchors
		// and aliases against "billion laughs": '&' and '*' start plain
		// text. Read that text back from the source.
		txt, ok := c.plainText(y.Line, y.Column, flow)
		if !ok || txt == "" || (txt[0] != '&' && txt[0] != '*') {
			return nil, &yamlError{line: y.Line, col: y.Column,
				msg: "YAML anchors and aliases are not supported (Mistral reads '&' and '*' as text)"}
		}
		n.kind, n.val = kindStr, txt
		return n, nil
	}
	flow = flow || y.Style&yaml.FlowStyle != 0
	switch y.Kind {
	case yaml.MappingNode:
		if tagged && y.Tag != "!!map" {
			return nil, unsupportedTag(y)
		}
		n.kind = kindMap
		for i := 0; i+1 < len(y.Content); i += 2 {
			ky, vy := y.Content[i], y.Content[i+1]
			if ky.Kind != yaml.ScalarNode {
				return nil, &yamlError{line: ky.Line, col: ky.Column,
					msg: "invalid YAML: a mapping key must be a scalar"}
			}
			k, err := c.convert(ky, depth+1, flow)
			if err != nil {
				return nil, err
			}
			v, err := c.convert(vy, depth+1, flow)
			if err != nil {
				return nil, err
			}
			ks := k.keyStr()
			dup := false
			for j, old := range n.keys {
				if old.keyStr() == ks && old.kind == k.kind {
					n.vals[j] = v // last value wins, first position stays
					dup = true
					break
				}
			}
			if !dup {
				n.keys = append(n.keys, k)
				n.vals = append(n.vals, v)
			}
		}
	case yaml.SequenceNode:
		if tagged && y.Tag != "!!seq" {
			return nil, unsupportedTag(y)
		}
		n.kind = kindSeq
		for _, it := range y.Content {
			v, err := c.convert(it, depth+1, flow)
			if err != nil {
				return nil, err
			}
			n.items = append(n.items, v)
		}
	case yaml.ScalarNode:
		if err := resolveScalar(n, y, tagged); err != nil {
			return nil, err
		}
	default:
		return nil, &yamlError{line: y.Line, col: y.Column, msg: "invalid YAML: unexpected node"}
	}
	return n, nil
}

func unsupportedTag(y *yaml.Node) error {
	return &yamlError{line: y.Line, col: y.Column,
		msg: fmt.Sprintf("could not determine a constructor for the tag %q", y.Tag)}
}

// PyYAML's YAML 1.1 implicit resolvers (yaml/resolver.py), anchored as
// PyYAML anchors them.
var (
	boolRe  = regexp.MustCompile(`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`)
	nullRe  = regexp.MustCompile(`^(?:~|null|Null|NULL|)$`)
	intRe   = regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)
	floatRe = regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`)
)

func resolveScalar(n *node, y *yaml.Node, tagged bool) error {
	v := y.Value
	tag := ""
	switch {
	case tagged:
		tag = y.Tag
	case y.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		tag = "!!str"
	default:
		// PyYAML tries its resolvers in this order for a plain scalar:
		// bool, float, int, merge, null, timestamp, value.
		switch {
		case boolRe.MatchString(v):
			tag = "!!bool"
		case floatRe.MatchString(v):
			tag = "!!float"
		case intRe.MatchString(v):
			tag = "!!int"
		case nullRe.MatchString(v):
			tag = "!!null"
		case v == "=":
			// PyYAML resolves a lone '=' to tag:yaml.org,2002:value,
			// which its SafeLoader cannot construct.
			return &yamlError{line: y.Line, col: y.Column,
				msg: `could not determine a constructor for the tag "tag:yaml.org,2002:value" (quote the '=')`}
		default:
			// Timestamps stay strings here: see doc.go.
			tag = "!!str"
		}
	}
	switch tag {
	case "!!str", "!!timestamp":
		n.kind, n.val = kindStr, v
	case "!!null":
		n.kind = kindNull
	case "!!bool":
		b, ok := pyBool(v)
		if !ok {
			return constructErr(y, "bool")
		}
		n.kind, n.val = kindBool, b
	case "!!int":
		i, ok := pyInt(v)
		if !ok {
			return constructErr(y, "int")
		}
		n.kind, n.val = kindInt, i
	case "!!float":
		f, ok := pyFloat(v)
		if !ok {
			return constructErr(y, "float")
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			// JSON has no infinity or NaN; keep the text (see doc.go).
			n.kind, n.val = kindStr, v
			return nil
		}
		n.kind, n.val = kindFloat, f
	default:
		return unsupportedTag(y)
	}
	return nil
}

func constructErr(y *yaml.Node, what string) error {
	return &yamlError{line: y.Line, col: y.Column,
		msg: fmt.Sprintf("invalid YAML: cannot read %q as %s", y.Value, what)}
}

func pyBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "yes", "true", "on":
		return true, true
	case "no", "false", "off":
		return false, true
	}
	return false, false
}

// pyInt constructs an int the way PyYAML's construct_yaml_int does.
func pyInt(v string) (int64, bool) {
	v = strings.ReplaceAll(v, "_", "")
	sign := int64(1)
	if strings.HasPrefix(v, "-") {
		sign, v = -1, v[1:]
	} else if strings.HasPrefix(v, "+") {
		v = v[1:]
	}
	var i int64
	var err error
	switch {
	case v == "0":
		return 0, true
	case strings.HasPrefix(v, "0b"):
		i, err = strconv.ParseInt(v[2:], 2, 64)
	case strings.HasPrefix(v, "0x"):
		i, err = strconv.ParseInt(v[2:], 16, 64)
	case strings.HasPrefix(v, "0"):
		i, err = strconv.ParseInt(v[1:], 8, 64)
	case strings.Contains(v, ":"):
		base := int64(1)
		for _, d := range reverse(strings.Split(v, ":")) {
			p, perr := strconv.ParseInt(d, 10, 64)
			if perr != nil {
				return 0, false
			}
			i += p * base
			base *= 60
		}
	default:
		i, err = strconv.ParseInt(v, 10, 64)
	}
	if err != nil {
		return 0, false
	}
	return sign * i, true
}

// pyFloat constructs a float the way PyYAML's construct_yaml_float does.
func pyFloat(v string) (float64, bool) {
	v = strings.ToLower(strings.ReplaceAll(v, "_", ""))
	sign := 1.0
	if strings.HasPrefix(v, "-") {
		sign, v = -1, v[1:]
	} else if strings.HasPrefix(v, "+") {
		v = v[1:]
	}
	switch {
	case v == ".inf":
		return sign * math.Inf(1), true
	case v == ".nan":
		return math.NaN(), true
	case strings.Contains(v, ":"):
		f, base := 0.0, 1.0
		for _, d := range reverse(strings.Split(v, ":")) {
			p, err := strconv.ParseFloat(d, 64)
			if err != nil {
				return 0, false
			}
			f += p * base
			base *= 60
		}
		return sign * f, true
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, false
	}
	return sign * f, true
}

func reverse(s []string) []string {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
	return s
}

// pyFloatRepr renders a float as Python's repr does for the usual cases
// ("1.0", "0.5", "1e+20").
func pyFloatRepr(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}
