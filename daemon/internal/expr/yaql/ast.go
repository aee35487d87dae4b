package yaql

// Node is a parsed YAQL expression. Every node remembers the byte offset of
// the token that produced it so evaluation errors can point into the text.
// The tree is immutable once parsed: one parse may be evaluated many times,
// concurrently.
type Node interface {
	Pos() int
}

type (
	// Const is a literal: number, quoted string, true, false or null.
	Const struct {
		At  int
		Val any
	}
	// Keyword is a bare identifier such as `b` in `$.a.b` or `name` in
	// `task(name)`; on its own it evaluates to its text.
	Keyword struct {
		At   int
		Name string
	}
	// Var is `$` (Name "") or `$name`: a lookup in the evaluation context.
	Var struct {
		At   int
		Name string
	}
	// Call is `name(args...)`. Arguments are kept unevaluated so that a
	// function decides what is a value and what is a lambda (select, where).
	Call struct {
		At   int
		Name string
		Args []Node
	}
	// Mapping is `key => value` inside an argument list or a dict literal.
	Mapping struct {
		At         int
		Key, Value Node
	}
	// Binary is a binary operator; "." and "?." are binary too, with a
	// Keyword (attribute) or a Call (method call) on the right.
	Binary struct {
		At   int
		Op   string
		L, R Node
	}
	// Unary is a prefix operator: "-", "+" or "not".
	Unary struct {
		At int
		Op string
		X  Node
	}
	// Index is `x[args...]`.
	Index struct {
		At   int
		X    Node
		Args []Node
	}
	// List is `[a, b]`.
	List struct {
		At    int
		Items []Node
	}
	// Dict is `{k => v, ...}`; every item is a *Mapping (checked at parse time).
	Dict struct {
		At    int
		Items []Node
	}
	// Paren keeps `(x)` visible; it matters only for printing.
	Paren struct {
		At int
		X  Node
	}
)

func (n *Const) Pos() int   { return n.At }
func (n *Keyword) Pos() int { return n.At }
func (n *Var) Pos() int     { return n.At }
func (n *Call) Pos() int    { return n.At }
func (n *Mapping) Pos() int { return n.At }
func (n *Binary) Pos() int  { return n.At }
func (n *Unary) Pos() int   { return n.At }
func (n *Index) Pos() int   { return n.At }
func (n *List) Pos() int    { return n.At }
func (n *Dict) Pos() int    { return n.At }
func (n *Paren) Pos() int   { return n.At }
