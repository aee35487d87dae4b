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
// Values enter and leave an evaluation in the JSON model (nil, bool,
// int64, float64, string, []any, map[string]any); inside, the evaluator
// holds what yaql holds (dict.go): the input's lists and yaql's literals
// are tuples ([]any) and its dicts FrozenDicts (map[string]any from the
// input, *pyDict built by an expression); split(), insert(), toDict(),
// delete(), mergeWith() and Mistral's functions return Python's mutable
// lists (pyList) and dicts; keys(), values() and items() return views,
// orderBy() an OrderingIterable, set() and toSet() a frozenset, and most
// queries an iterator. Eval converts all of them back to the model, as
// yaql's output conversion does, and refuses what Mistral cannot store.
//
// Where yaql's behaviour is an accident of Python it is still followed when
// a workflow can observe it, and the differential corpus (package expr)
// checks it against python3-yaql:
//
//   - missing keys are errors, `/` on integers floors;
//   - an iterator is always true (`$.l.where(false) or x` is an empty
//     list), equals nothing, cannot be indexed ($.users.name[0] fails:
//     `.name` over a list maps lazily), and list() splices it; repeat() of
//     an iterator yields it once and then exhausted copies;
//   - orderBy() cannot be indexed, has no len() (count() works) and
//     equals only itself;
//   - a list never equals a tuple ('a,b'.split(',') = ['a', 'b'] is
//     false), and str() prints a list in brackets, a tuple in parentheses;
//   - lists, mutable dicts, and keys and items views are unhashable:
//     toSet(), set(), distinct(), groupBy(), union(), set membership and
//     dict look-ups fail on one (TypeError: unhashable type: 'list');
//   - a result holding a set whose items are containers fails, because
//     Mistral's output conversion puts the converted items (lists, dicts)
//     into a Python set: [[1]].toSet() and $.d.items() fail while
//     [[1]].toSet().len() and $.d.items().toList() work;
//   - a `<% %>` inside a longer string becomes str() of yaql's result
//     (EvalText): dicts in their order, sets in braces, datetimes as
//     Python prints them;
//   - dicts keep insertion order: dict(b => 1, a => 2).values() is
//     [1, 2], d.set(), +, mergeWith() and delete() keep the order Python
//     keeps, json_parse() and yaml_parse() keep document order, and
//     json_dump() prints a dict built in the expression in its order.
//
// Known divergences:
//
//   - Integers are 64-bit (overflow is an error); \N{name} escapes are
//     not decoded.
//   - Regular expressions use Go's RE2 syntax (no lookarounds or
//     backreferences in patterns), and regex split() skips an empty
//     match right after another match, where Python splits there too.
//   - A dict of the input reads in sorted key order: it comes as JSON,
//     whose order the engine does not keep, while Mistral's reads in the
//     order it was stored. For the same reason a dict that leaves the
//     expression (a result, a published variable) loses its order, and
//     the dicts of task(), execution() and env() read in sorted order.
//   - Dict keys are strings: yaql keeps 1, true and null as keys
//     ({1 => 2}.get(1) is 2 there, null here) and accepts a tuple as a
//     key until the output (here any container key is an error at once).
//   - A set iterates, prints and is read (toList(), first(), select())
//     in first-seen order; Python's is hash order, which is ascending for
//     small integers (set(2, 1).toList() is [1, 2] in Mistral) and
//     changes from run to run for strings (Mistral stores a set result in
//     that order; the corpus compares such answers as unordered).
//   - Only repeat() models the once-only consumption of an iterator.
//   - str() of an iterator or of orderBy() prints its items as a tuple;
//     Python prints the object (<map object at 0x...>).
//   - Host functions receive sets, views and iterators as lists:
//     yaml_dump() of one prints a YAML list where PyYAML fails.
//   - localtz() is UTC; yaml_dump() does not fold long strings at 80
//     columns.
//   - Endless iterators (cycle, repeat, sequence) can be read with
//     take/first/takeWhile/skip; a result holding one is an error.
//
// testdata/oracle.json holds the reference yaql's answers for
// testdata/corpus.json; `go test -run 'TestOracleTable|TestMistralCorpusSyntax' -update`
// regenerates the answers when python3-yaql is installed.
package yaql
