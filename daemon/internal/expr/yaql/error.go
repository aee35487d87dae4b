package yaql

import (
	"fmt"
	"regexp"
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
	// Py is the exception the reference (Python's yaql, as Mistral 15 runs
	// it) raises at this point, as "Type: str(exception)": "KeyError: 'a'",
	// `NoFunctionRegisteredException: Unknown function "f"`. Mistral quotes
	// str(exception) in the messages a workflow's user sees, so Sirocco must
	// word them the same; "" where the exception is not modelled.
	Py string
}

// PyExcRe finds the text of a message worded as a Python exception
// ("TypeError: ..."), alone or after words of ours.
var PyExcRe = regexp.MustCompile(`\b[A-Z][A-Za-z]*(?:Error|Exception): `)

// Python is the exception the reference raises, as "Type: message" (see
// Py); a message that ends in the words of a Python exception ("...:
// TypeError: unhashable type: 'list'") names it. "" when unknown.
func (e *Error) Python() string {
	if e.Py != "" {
		return e.Py
	}
	if e.Kind == EvalError {
		if loc := PyExcRe.FindStringIndex(e.Msg); loc != nil {
			return e.Msg[loc[0]:]
		}
	}
	return ""
}

// The exceptions of Python's yaql (yaql/language/exceptions.py) and of
// Python that evaluation raises, worded as Error.Py.

func pyNoFunction(name string) string {
	return `NoFunctionRegisteredException: Unknown function "` + name + `"`
}

func pyNoMatchingFunction(name string) string {
	return `NoMatchingFunctionException: No function "` + name + `" matches supplied arguments`
}

// pyNoMethod and pyNoMatchingMethod print the receiver as yaql's
// exceptions do, with str(); "" for a receiver that Python prints with
// its memory address (a lazy iterator).
func pyNoMethod(name string, recv any) string {
	r, ok := pyFormat(recv)
	if !ok {
		return ""
	}
	return `NoMethodRegisteredException: Unknown method "` + name + `" for receiver ` + r
}

func pyNoMatchingMethod(name string, recv any) string {
	r, ok := pyFormat(recv)
	if !ok {
		return ""
	}
	return `NoMatchingMethodException: No method "` + name + `" for receiver ` + r + ` matches supplied arguments`
}

// pyKeyError is KeyError(k): its str() is repr(k).
func pyKeyError(k any) string { return "KeyError: " + PyRepr(k) }

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
