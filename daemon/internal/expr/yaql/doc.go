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
// true, repeat() of an iterator yields it once and then exhausted copies,
// items() is a view that a result cannot hold: Mistral's output conversion
// fails on it, so `$.d.items()` fails and `$.d.items().toList()` works).
// Known divergences, each tested: 64-bit integers (overflow is an
// error), \N{name} escapes are not decoded, regular expressions use Go's
// RE2 syntax (no lookarounds or backreferences in patterns), the
// once-only consumption of a Python iterator is modelled only in repeat(),
// localtz() is UTC, set() and toSet() keep first-seen order (Mistral
// stores a set in hash order, which is not defined), and yaml_dump() does
// not fold long strings at 80 columns. Endless iterators (cycle, repeat,
// sequence) can be read with take/first/takeWhile/skip; a result holding
// one is an error.
//
// Two divergences come from the value model (JSON: nil, bool, int64,
// float64, string, []any, map[string]any) and are the differential
// corpus's listed mismatches (testdata/yaql_mismatches.txt of package
// expr):
//
//   - Dict key order. A map has none, so keys sort; Python keeps insertion
//     order. dict([[k, 1], [j, 2]]).values() is [1, 2] in Mistral and
//     [2, 1] here; str() of such a dict, and items()/keys() walked in
//     order, differ the same way. Mistral stores a result dict as JSON,
//     where the order is lost anyway, so only order-sensitive reads of a
//     dict built inside one expression can tell.
//   - Mutability. Mistral hands yaql the workflow data as Python lists and
//     dicts (unhashable) while yaql's own literals are tuples and frozen
//     dicts (hashable): $.nested.toSet() fails in Mistral and
//     [[1, 2]].toSet() works. Both are []any here, so toSet() and set()
//     accept both; telling them apart would need every list to carry
//     where it came from.
//
// testdata/oracle.json holds the reference yaql's answers for
// testdata/corpus.json; `go test -run 'TestOracleTable|TestMistralCorpusSyntax' -update`
// regenerates the answers when python3-yaql is installed.
package yaql
