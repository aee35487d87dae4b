package yaql

import (
	"errors"
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	"$", "$.a.b", "$.l[0]", "task(x).result.where($.a > 1).select($.b)", "{a => 1, b => [1, 2]}",
	"not $.a and $.b or -1 * 2 mod 3", "let(x => 1) -> $x", "'a\\u00e9' + \"b\" + `c`", "$.a?.b.len()",
	"switch($ > 1 => 'a', true => 'b')", "f(", "[1, a => 2]", "((((", "$.", "1 2", "'", "__x",
	"'{0:>+08,.2f}|{1!r:^9}|{0:#x}'.format(3, 'a')", "def(f, f($)) -> f(1)", "def(g, $1 + $2) -> g(1, 2)",
	"call(len, [[1, 2]], {})", "selectCase(false, true).switchCase(1, 2, 3)", "selectAllCases(true, 1)",
	"{a => [1]}.mergeWith({a => [2], b => {c => 1}}, $1 + $2, $1, 1)", "{a => 1}.deleteAll([a, b])",
	"range(3).repeat(2).take(3)", "range(2).repeat().take(2)",
	"dict(b => 1, a => 2).values()", "'a,b'.split(',').toSet()", "[$.a].toSet()", "$.a.keys() + $.l",
	"{b => 1}.mergeWith({a => [2]}).items().toList()", "$.l.orderBy($).thenBy($) = $.l", "['k', 1] in $.a.items()",
	"set(1, 2).union(set(3)).symmetricDifference($.a.keys())", "dict(['ab', {x => 1}])",
}

// FuzzParse: the parser never panics and returns exactly one of a tree or
// an *Error with a position inside (or at the end of) the text.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if (n == nil) == (err == nil) {
			t.Fatalf("Parse(%q) = %v, %v: want exactly one", s, n, err)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind != SyntaxError || e.Pos < 0 || e.Pos > len(s) {
				t.Fatalf("Parse(%q): bad error %#v", s, err)
			}
		}
	})
}

// FuzzEval: evaluation of any parsed text under small limits never panics,
// fails only with *Error, and returns only values of the JSON model; the
// same for EvalText, which renders the result for a longer string.
func FuzzEval(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	data := map[string]any{"a": map[string]any{"b": int64(1)}, "l": []any{int64(1), "x", nil}, "s": "str"}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			return
		}
		env := &Env{Data: data, Limits: Limits{MaxSteps: 10_000, MaxSize: 10_000}}
		if _, err := EvalText(s, env); err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("EvalText(%q): error %T is not *Error: %v", s, err, err)
			}
		}
		v, err := Eval(s, n, env)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Eval(%q): error %T is not *Error: %v", s, err, err)
			}
			return
		}
		if _, isScope := v.(*Scope); !isScope {
			if bad := unstorable(v); bad != nil {
				t.Fatalf("Eval(%q) = %#v: %T is not in the JSON model", s, v, bad)
			}
		}
	})
}

func TestLimits(t *testing.T) {
	lim := Limits{MaxSteps: 100_000, MaxSize: 100_000}
	tests := []struct {
		expr string
		kind ErrorKind
	}{
		{"range(1000000000)", LimitError},
		{"'abc' * 100000000", LimitError},
		{"[1, 2] * 100000000", LimitError},
		{"range(1000).select(range(1000)).len()", LimitError},
		{"range(100).select(range(100).select(range(100))).len()", LimitError},
		{"'x' * 60000 + 'y' * 60000", LimitError},
		{"range(50000).selectMany(range(10))", LimitError},
		{strings.Repeat("(", 10000) + "1" + strings.Repeat(")", 10000), SyntaxError},
		{strings.Repeat("[", 10000), SyntaxError},
		{strings.Repeat("-", 10000) + "1", SyntaxError},
		{strings.Repeat("not ", 10000) + "1", SyntaxError},
		{"1" + strings.Repeat(".f()", 500), EvalError},
		{"1" + strings.Repeat(".f()", 10000), SyntaxError},
		{"1" + strings.Repeat(" + 1", 100000), SyntaxError},
	}
	for _, tt := range tests {
		_, err := EvalString(tt.expr, &Env{Limits: lim})
		var e *Error
		if !errors.As(err, &e) || e.Kind != tt.kind {
			name := tt.expr
			if len(name) > 40 {
				name = name[:40] + "..."
			}
			t.Errorf("%q: got %v, want an error of kind %d", name, err, tt.kind)
		}
	}
}
