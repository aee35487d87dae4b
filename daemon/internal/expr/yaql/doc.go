// Package yaql implements YAQL as OpenStack Mistral configures it
// (python3-yaql 2.x with keyword_operator "=>" and no delegates), so that
// Mistral workflows evaluate to the same values under Sirocco.
//
// The pieces:
//
//   - lex/Parse: yaql's lexical rules (bare words are strings, "name(" is a
//     call, and/or/not/in/mod are operators) and a Pratt parser whose binding
//     powers are yaql's operator table. Parse never panics; it returns a
//     tree or an *Error with a byte position. Nesting and operator chains
//     are bounded so a hostile text cannot exhaust the stack.
//   - Eval: walks the tree. Built-ins receive their arguments unevaluated
//     (inv) and evaluate them as values or as lambdas with `$` bound to the
//     item, which is what select/where/orderBy/aggregate need. Host
//     functions (Env.Funcs) shadow built-ins and receive evaluated
//     arguments, the receiver first in method form.
//   - Limits: every node visit and every item a built-in touches costs a
//     step; produced strings, lists and dicts are bounded in size.
//
// Where yaql's behaviour is an accident of Python it is still followed when
// a workflow can observe it (missing keys are errors, `/` on integers
// floors, `$.l.where(false) or x` is an empty list because iterators are
// true). Known divergences, each tested: 64-bit integers (overflow is an
// error), dict key order (sorted, Python keeps insertion order), keys()
// and items() return lists (Mistral stores keys() as a list in hash order
// and fails on items() as a result: its output conversion puts lists into
// a set), set() and toSet() keep first-seen order (Mistral stores a set in
// hash order), \N{name} escapes are not decoded, regular expressions use
// Go's RE2 syntax (no lookarounds or backreferences in patterns), the
// once-only consumption of a Python iterator is not modelled, and
// localtz() is UTC. Endless iterators (cycle, repeat, sequence) can be
// read with take/first/takeWhile/skip; a result holding one is an error.
//
// testdata/oracle.json holds the reference yaql's answers for
// testdata/corpus.json; `go test -run 'TestOracleTable|TestMistralCorpusSyntax' -update`
// regenerates the answers when python3-yaql is installed.
package yaql
