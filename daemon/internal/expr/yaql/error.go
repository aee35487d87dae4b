package yaql

import (
	"fmt"
	"unicode/utf8"
)

// ErrorKind separates problems found before evaluation (the text is not
// YAQL) from problems found while evaluating (the text is YAQL, the data
// does not fit it). Workflow validation reports the first kind only.
type ErrorKind int

const (
	// SyntaxError: the expression does not lex or parse.
	SyntaxError ErrorKind = iota
	// EvalError: the expression parsed but evaluation failed.
	EvalError
	// LimitError: evaluation exceeded its step or size budget.
	LimitError
)

// Error is every error this package returns, so callers can always name the
// expression and the byte offset inside it that went wrong.
type Error struct {
	Kind ErrorKind
	Expr string // the expression text, without the <% %> delimiters
	Pos  int    // byte offset inside Expr
	Msg  string // what went wrong, in words
	Err  error  // the underlying error (e.g. from a host function), if any
}

// maxShown bounds how much of the expression an error message quotes, so
// that a huge hostile expression does not make a huge log line.
const maxShown = 200

func (e *Error) Error() string {
	shown := e.Expr
	if len(shown) > maxShown {
		cut := maxShown
		for cut > 0 && !utf8.RuneStart(shown[cut]) {
			cut--
		}
		shown = shown[:cut] + "..."
	}
	switch e.Kind {
	case SyntaxError:
		return fmt.Sprintf("yaql: syntax error at position %d in %q: %s", e.Pos, shown, e.Msg)
	case LimitError:
		return fmt.Sprintf("yaql: limit exceeded at position %d in %q: %s", e.Pos, shown, e.Msg)
	default:
		return fmt.Sprintf("yaql: evaluation error at position %d in %q: %s", e.Pos, shown, e.Msg)
	}
}

// Unwrap exposes the cause so errors.Is/As reach a host function's error.
func (e *Error) Unwrap() error { return e.Err }

func syntaxErr(src string, pos int, format string, args ...any) *Error {
	return &Error{Kind: SyntaxError, Expr: src, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}
