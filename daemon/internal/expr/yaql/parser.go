package yaql

// Binding powers, highest binds tightest. The order is yaql's operator table
// (yaql/language/factory.py, _standard_operators): "." and "?." above the
// indexer, above unary + and -, above =~ !~, above * / mod, above binary + -,
// above comparisons and in, above not, above and, above or, above ->.
const (
	bpArrow   = 10
	bpOr      = 20
	bpAnd     = 30
	bpNot     = 40
	bpCompare = 50
	bpAdd     = 60
	bpMul     = 70
	bpMatch   = 80
	bpUnary   = 90
	bpIndex   = 100
	bpDot     = 110
)

// maxDepth bounds nesting so that hostile input cannot exhaust the stack;
// maxChain bounds the depth of the tree that a chain of left-associative
// operators (1+1+1...) builds, since evaluation recurses along it. yaql
// itself fails on such input with Python's recursion limit.
const (
	maxDepth = 200
	maxChain = 1000
)

var infixBP = map[string]int{
	"->": bpArrow,
	"or": bpOr, "and": bpAnd,
	">": bpCompare, "<": bpCompare, ">=": bpCompare, "<=": bpCompare, "!=": bpCompare, "=": bpCompare, "in": bpCompare,
	"+": bpAdd, "-": bpAdd,
	"*": bpMul, "/": bpMul, "mod": bpMul,
	"=~": bpMatch, "!~": bpMatch,
	".": bpDot, "?.": bpDot,
}

type parser struct {
	src   string
	toks  []token
	i     int
	depth int
}

// Parse turns one YAQL expression (without <% %>) into a tree. It returns
// either a Node or an *Error, never both, and never panics.
func Parse(src string) (Node, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	n, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.unexpected(t)
	}
	return n, nil
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) unexpected(t token) error {
	if t.kind == tEOF {
		return syntaxErr(p.src, t.pos, "unexpected end of expression")
	}
	return syntaxErr(p.src, t.pos, "unexpected %s", p.describe(t))
}

func (p *parser) describe(t token) string {
	switch t.kind {
	case tOp, tKeyword, tDollar, tMapping, tNumber, tString, tConst:
		if t.text != "" {
			return "'" + t.text + "'"
		}
	case tFunc:
		return "'" + t.text + "('"
	}
	return t.kind.String()
}

func (p *parser) expect(k tokKind) (token, error) {
	t := p.peek()
	if t.kind != k {
		return t, p.unexpected(t)
	}
	return p.next(), nil
}

// expr is the Pratt loop: a prefix form, then infix forms while they bind
// tighter than minBP.
func (p *parser) expr(minBP int) (Node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, syntaxErr(p.src, p.peek().pos, "expression nested too deeply")
	}
	left, err := p.prefix()
	if err != nil {
		return nil, err
	}
	for chain := p.depth; ; chain++ {
		t := p.peek()
		if chain > maxChain {
			return nil, syntaxErr(p.src, t.pos, "expression too long a chain of operators")
		}
		switch {
		case t.kind == tLBrack:
			if bpIndex <= minBP {
				return left, nil
			}
			p.next()
			args, err := p.args(tRBrack)
			if err != nil {
				return nil, err
			}
			left = &Index{At: t.pos, X: left, Args: args}
		case t.kind == tOp:
			bp, ok := infixBP[t.text]
			if !ok || t.text == "not" {
				return nil, p.unexpected(t)
			}
			if bp <= minBP {
				return left, nil
			}
			p.next()
			rbp := bp // left associative: the right side must bind tighter
			if t.text == "->" {
				rbp = bp - 1 // right associative
			}
			var right Node
			if t.text == "." || t.text == "?." {
				right, err = p.dotOperand()
			} else {
				right, err = p.expr(rbp)
			}
			if err != nil {
				return nil, err
			}
			left = &Binary{At: t.pos, Op: t.text, L: left, R: right}
		default:
			return left, nil
		}
	}
}

// dotOperand reads what may follow "." — yaql's grammar allows any primary
// value there; evaluation accepts a name or a method call.
func (p *parser) dotOperand() (Node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, syntaxErr(p.src, p.peek().pos, "expression nested too deeply")
	}
	return p.prefix()
}

func (p *parser) prefix() (Node, error) {
	t := p.next()
	switch t.kind {
	case tNumber, tString, tConst:
		return &Const{At: t.pos, Val: t.val}, nil
	case tKeyword:
		return &Keyword{At: t.pos, Name: t.text}, nil
	case tDollar:
		return &Var{At: t.pos, Name: t.text[1:]}, nil
	case tFunc:
		args, err := p.args(tRParen)
		if err != nil {
			return nil, err
		}
		return &Call{At: t.pos, Name: t.text, Args: args}, nil
	case tLParen:
		x, err := p.expr(0)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen); err != nil {
			return nil, err
		}
		return &Paren{At: t.pos, X: x}, nil
	case tLBrack:
		items, err := p.args(tRBrack)
		if err != nil {
			return nil, err
		}
		return &List{At: t.pos, Items: items}, nil
	case tLBrace:
		items, err := p.args(tRBrace)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if _, ok := it.(*Mapping); !ok {
				return nil, syntaxErr(p.src, it.Pos(), "dict items must be key => value")
			}
		}
		return &Dict{At: t.pos, Items: items}, nil
	case tOp:
		switch t.text {
		case "-", "+":
			x, err := p.expr(bpUnary)
			if err != nil {
				return nil, err
			}
			return &Unary{At: t.pos, Op: t.text, X: x}, nil
		case "not":
			x, err := p.expr(bpNot)
			if err != nil {
				return nil, err
			}
			return &Unary{At: t.pos, Op: t.text, X: x}, nil
		}
	}
	return nil, p.unexpected(t)
}

// args reads a comma separated list up to the closing token. Items may be
// `key => value` mappings; as in yaql's grammar, once a mapping appears only
// mappings may follow.
func (p *parser) args(closing tokKind) ([]Node, error) {
	var out []Node
	if p.peek().kind == closing {
		p.next()
		return out, nil
	}
	sawMapping := false
	for {
		start := p.peek()
		v, err := p.expr(0)
		if err != nil {
			return nil, err
		}
		if p.peek().kind == tMapping {
			p.next()
			val, err := p.expr(0)
			if err != nil {
				return nil, err
			}
			v = &Mapping{At: start.pos, Key: v, Value: val}
			sawMapping = true
		} else if sawMapping {
			return nil, syntaxErr(p.src, start.pos, "positional argument after key => value argument")
		}
		out = append(out, v)
		t := p.next()
		switch t.kind {
		case tComma:
			continue
		case closing:
			return out, nil
		default:
			return nil, p.unexpected(t)
		}
	}
}
