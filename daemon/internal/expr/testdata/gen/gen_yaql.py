#!/usr/bin/python3
"""Generate testdata/yaql_corpus.json: YAQL expressions, their contexts and
the answers of the reference yaql (Debian's python3-yaql) configured as
Mistral 15 configures it, with Mistral's pure functions (json_*, yaml_*)
registered as Mistral registers them.

Run from daemon/internal/expr:  /usr/bin/python3 testdata/gen/gen_yaql.py
The Go test (corpus_test.go) reads the committed result; CI does not need
python. Contexts are written with sorted keys: the Go evaluator receives
the context as JSON objects, whose order is lost, and reads them in sorted
key order; dicts that an expression builds keep their insertion order in
both.

A set is stored by Mistral in Python's hash order, which for strings
changes with PYTHONHASHSEED: such an answer is marked "unordered" (the Go
test compares it as a multiset) and written sorted, so that the file does
not change between runs. Only a set at the top of an answer can be marked:
run the script twice with different PYTHONHASHSEED values and compare the
outputs when adding cases, and keep sets of strings out of nested
positions.
"""
import itertools
import json
import os
import sys

import yaql
from yaql.language import factory

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle_common  # noqa: E402

ENGINE = factory.YaqlFactory(allow_delegates=False, keyword_operator='=>').create(options={
    'yaql.limitIterators': -1,
    'yaql.memoryQuota': -1,
    'yaql.convertInputData': True,
    'yaql.convertOutputData': True,
})
ROOT = yaql.create_context()
for _name, _fn in oracle_common.PURE.items():
    ROOT.register_function(_fn, name=_name)

CTX = {
    "a": 1, "b": 2, "f": 2.5, "neg": -7, "zero": 0, "t": True, "no": False, "n": None,
    "s": "Hello World", "e": "", "sp": "  padded  ", "csv": "a,b,,c", "num": "42", "fl": "3.25",
    "l": [3, 1, 2], "ls": ["b", "a", "c"], "empty": [], "nested": [[1, 2], [3, [4, 5]]],
    "dup": [1, 2, 2, 3, 1], "mixed": [1, "a", None, True, 2.5],
    "d": {"k1": "v1", "k2": 2, "k3": None}, "ed": {},
    "users": [{"name": "ann", "age": 31, "tags": ["x"]}, {"name": "bob", "age": 25, "tags": []},
              {"name": "cid", "age": 31, "tags": ["x", "y"]}],
    "deep": {"x": {"y": {"z": [10, 20, {"w": "end"}]}}},
}

SCALARS = ["0", "1", "-3", "2.5", "'a'", "''", "true", "false", "null", "[1]", "{a => 1}", "$.l"]
ARITH = ["+", "-", "*", "/", "mod"]
CMP = ["=", "!=", "<", ">", "<=", ">=", "in"]


def exprs():
    out = []
    add = out.append
    # Operators over every pair of a small value set.
    for x, y in itertools.product(SCALARS, repeat=2):
        for op in ARITH:
            add("%s %s %s" % (x, op, y))
    for x, y in itertools.product(SCALARS[:10], repeat=2):
        for op in CMP:
            add("%s %s %s" % (x, op, y))
    for x in SCALARS:
        for form in ["not %s", "-%s", "+%s", "%s and 1", "%s or 2", "bool(%s)", "str(%s)", "int(%s)",
                     "float(%s)", "isString(%s)", "isList(%s)", "isDict(%s)", "isInteger(%s)",
                     "isNumber(%s)", "isBoolean(%s)", "len(%s)", "coalesce(null, %s)"]:
            add(form % x)
    # Context access.
    for p in ["$", "$.a", "$.s", "$.d.k1", "$.d.k3", "$.d.missing", "$.deep.x.y.z[2].w", "$.users.name",
              "$.users[1].age", "$.users[-1]", "$.l[0]", "$.l[5]", "$.l[-1]", "$.d['k2']", "$.d.get(k2)",
              "$.d.get(zz, 9)", "$.n?.x", "$.d?.k1", "$.nested[1][1][0]", "$.users.tags", "$.missing"]:
        add(p)
    # Strings.
    strs = ["$.s", "$.e", "$.sp", "$.csv", "'a-b-c'", "'ÄÖü straße'"]
    for s in strs:
        for form in ["{0}.toUpper()", "{0}.toLower()", "{0}.trim()", "{0}.trimLeft()", "{0}.trimRight()",
                     "{0}.len()", "len({0})", "{0}.split()", "{0}.split(',')", "{0}.split('-', 1)",
                     "{0}.replace('l', 'L')", "{0}.replace('l', 'L', 1)", "{0}.startsWith('He')",
                     "{0}.endsWith('c')", "{0}.substring(1)", "{0}.substring(1, 3)", "{0}.substring(-3)",
                     "{0}.toCharArray()", "{0}.indexOf('l')", "{0}.lastIndexOf('l')", "{0}.characters()",
                     "{0}.isEmpty()", "{0} + '!'", "{0} * 2", "'x' in {0}", "{0}.join(['1', '2'])",
                     "concat({0}, 'z')", "{0}.format()", "{0}.rightSplit('-', 1)", "{0}.trim('-')",
                     "{0}.replace('-', '')", "{0}.toLower().toUpper()", "{0}.matches('l+')",
                     "{0} =~ '^H'", "{0} !~ 'o'"]:
            add(form.format(s))
    for form in ["'{0}-{1}'.format(1, 2)", "'{}{}'.format(a, b)", "'{x}'.format(x => 5)",
                 "'{0}'.format([1, 2])", "'{0}'.format(null)", "'{0}'.format(true)",
                 "'{0}'.format({a => 1})", "'{0:>5}'.format(1)", "'{0:.2f}'.format(2.5)",
                 "'{{}}'.format()", "'{0}'.format()", "'%s'.format(1)", "str([1, 'a'])", "str({a => [1]})",
                 "str(1.0)", "str(1e20)", "str(null)", "str(true)", "str('x')", "join(', ', ['a', 'b'])",
                 "['a', 'b'].join(', ')", "[1, 2].join('-')", "hex(255)", "hex(-1)", "'abc'.reverse()",
                 "str(1.5e-7)", "str(0.1 + 0.2)", "1/3", "float('1e3')", "int('  7 ')", "int('0x10')",
                 "int(3.9)", "int(-3.9)", "round(2.5)", "round(3.5)", "round(2.675, 2)", "round(-2.5)",
                 "abs(-3)", "abs(-2.5)", "pow(2, 10)", "pow(2, -1)", "pow(2, 3, 3)", "sign(-2)", "sign(0)",
                 "max(1, 2)", "min('a', 'b')", "10 / 4", "10.0 / 4", "-7 / 2", "-7 mod 3", "7 mod -3",
                 "2.5 mod 1", "bitwiseAnd(12, 10)", "bitwiseOr(12, 10)", "bitwiseXor(12, 10)",
                 "bitwiseNot(5)", "shiftBitsLeft(1, 4)", "shiftBitsRight(256, 4)", "'a' < 'b'",
                 "[1, 2] = [1, 2]", "{a => 1} = {a => 1}", "1 = 1.0", "true = 1", "null = null",
                 "null < 1", "'10' < '9'", "$.l.where($ > 1) = [3, 2]", "len(range(5))"]:
        add(form)
    # Collections and queries.
    lists = ["$.l", "$.ls", "$.empty", "$.dup", "$.nested", "$.users", "range(5)", "[1, 2, 3].select($ * 2)"]
    for s in lists:
        for form in ["{0}.len()", "{0}.count()", "{0}.first()", "{0}.first(0)", "{0}.last()", "{0}.last(0)",
                     "{0}.sum()", "{0}.max()", "{0}.min()", "{0}.distinct()", "{0}.reverse()",
                     "{0}.skip(1)", "{0}.take(2)", "{0}.limit(1)", "{0}.flatten()", "{0}.toList()",
                     "{0}.toSet()", "{0}.select($)", "{0}.select([$, 1])", "{0}.where($ != 2)",
                     "{0}.where(true)", "{0}.orderBy($)", "{0}.orderByDescending($)", "{0}.any()",
                     "{0}.all()", "{0}.contains(2)", "{0}.indexOf(2)", "{0}.lastIndexOf(2)",
                     "{0}.indexWhere($ = 2)", "{0}.lastIndexWhere($ = 2)", "{0}.enumerate()",
                     "{0}.enumerate(1)", "{0}.isEmpty()", "{0}.len() > 0", "{0}.append(9)",
                     "{0}.concat([9])", "{0}.insert(1, 9)", "{0}.delete(0)", "{0}.zip([7, 8, 9])",
                     "{0}.slice(2)", "{0}.takeWhile($ != 2)", "{0}.skipWhile($ != 2)",
                     "{0}.defaultIfEmpty([0])", "{0}.single()", "{0}.aggregate($1 + $2)",
                     "{0}.aggregate($1 + $2, 100)", "{0}.reduce($1 + $2)", "{0}.selectMany([$, $])",
                     "{0}.groupBy($)", "{0}.join(',')", "{0}.union([1])", "{0}.intersect([1, 2])",
                     "{0}.difference([1])", "{0}.symmetricDifference([1, 9])", "{0}.memorize()",
                     "{0}.cycle().take(4)", "{0}.repeat(2).take(3)", "{0}.splitAt(1)",
                     "{0}.splitWhere($ = 2)", "{0}.sliceWhere($ > 1)", "{0}.zipLongest([0])",
                     "{0}.mergeWith([1])", "{0}.isList()", "list({0})", "{0}[0]", "{0}.toDict($, 1)",
                     "{0}.filter($ > 1)", "{0}.accumulate($1 + $2)", "{0}.sequence()",
                     "{0}.orderBy($).thenBy($)", "{0}.replace(2, 0)", "{0}.replaceMany([1, 2], 0)",
                     "{0}.remove(2)", "{0}.deleteAll([1])", "{0}.insertMany(0, [7, 8])",
                     "{0}.count($ > 1)", "{0}.sum() / {0}.len()", "2 in {0}"]:
            add(form.format(s))
    for form in ["$.users.select($.name)", "$.users.where($.age > 30).name", "$.users.orderBy($.age).name",
                 "$.users.orderBy($.age).thenBy($.name).name", "$.users.orderByDescending($.age).thenByDescending($.name).name",
                 "$.users.groupBy($.age)", "$.users.groupBy($.age, $.name)", "$.users.groupBy($.age, $.name, [$1, $2.len()])",
                 "$.users.toDict($.name, $.age)", "$.users.select($.tags).flatten()", "$.users.selectMany($.tags)",
                 "$.users.any($.age > 30)", "$.users.all($.age > 30)", "$.users.first($.age = 25)",
                 "$.users.where($.tags).len()", "$.users.distinct($.age).name", "$.users.max($.age)",
                 "$.users.select($.age).max()", "$.users.sum($.age)", "$.users.indexWhere($.name = 'bob')",
                 "$.users.select(dict(n => $.name))", "$.users.select({$.name => $.age})",
                 "$.users.select([$.name, $.age]).toDict($[0], $[1])", "$.users.name.join(', ')",
                 "$.users.where($.name.startsWith('a') or $.name.endsWith('d')).name",
                 "$.users.select($.name.toUpper()).orderByDescending($)", "$.users.len()",
                 "$.users[0].tags + $.users[2].tags", "$.users.select(let(x => $.age) -> $x * 2)",
                 "let(x => 1, y => 2) -> $x + $y", "let(1, 2) -> $1 + $2", "let(a => $.a) -> $a + $.a",
                 "$.l.select($ * $.a)", "$.l.select(let(v => $) -> $v + 1)", "range(3).select($ * 10)",
                 "range(1, 10, 3)", "range(10, 1, -2)", "range(0)", "range(-2)", "range(1, 3).toList()",
                 "switch($.a > 0 => 'pos', $.a < 0 => 'neg', true => 'zero')", "switch(false => 1)",
                 "switch($.d.k1 = 'v1' => [1], true => [2])", "coalesce($.n, $.e, 'x')", "coalesce()",
                 "selectCase($.a > 5, $.a > 0).switchCase('big', 'small', 'none')",
                 "selectAllCases($.a > 0, $.a > 5, true)", "def(f, $ * 2) -> f(3)",
                 "def(g, [$1, $2]) -> g(1, 2)", "call(len, [[1, 2]], {})", "[1, 2, 3].select($).where($ > 1).len()",
                 "[[1, 2], [3]].select($.len())", "[1, [2, [3, [4]]]].flatten()", "[1, [2, [3, [4]]]].flatten(1)",
                 "[3, 1, 2].orderBy(-$)", "['b', 'A', 'c'].orderBy($.toLower())", "[1, 'a'].orderBy($)",
                 "[2, 1].orderBy($).select($ + 1)", "[1, 2, 3, 4].slice(2)", "[1, 2, 3, 4, 5].slice(2, 3)",
                 "[1, 2, 3].zip([4, 5, 6], [7, 8, 9])", "[1, 2].zip(['a'])", "[1, 2, 3].enumerate().select($[0] * $[1])",
                 "sequence(1).take(3)", "sequence(5, -1).take(3)", "[1, 2, 3].first($ > 5)",
                 "[1, 2, 3].where($ > 5).first(null)", "[].sum(0)", "[].max(0)", "[].max()", "[1.5, 2].sum()",
                 "['a', 'b'].sum()", "[[1], [2]].sum()", "[1, 2, 3].select($ / 2)", "[true, false].where($)",
                 "[null, 1].where($ != null)", "[1, 2] + [3]", "[1, 2] * 2", "2 * [1]", "{a => 1} + {b => 2}",
                 "{a => 1} + {a => 2}", "[1, 2, 3].contains(4) or [1].contains(1)", "[1, 2, 3][1]",
                 "[1, 2, 3][-1]", "[1, 2, 3][3]", "[[1, 2]][0][1]", "list(1, 2, 3)", "list()", "list([1, 2])",
                 "list(range(3))", "list(1, [2])", "set(1, 2, 2)", "set()", "[1, 2].toSet().len()",
                 "[1, 2, 2].distinct().len()", "isEmpty([])", "isEmpty(null)", "isEmpty('')", "isEmpty(0)",
                 "[1, 2, 3].single()", "[1].single()", "[].single()", "[1, 2, 3].indexOf(4)",
                 "[1, 2].isIterable()", "isIterable('ab')", "isIterable({})", "isSet([1])",
                 "[1, 2, 3].where($ > 1).select($ * 10).sum()", "$.l.where($ > 1).count()",
                 "[1, 2].aggregate($1 * $2, 10)", "[].aggregate($1 + $2, 7)", "[].aggregate($1 + $2)"]:
        add(form)
    # Dicts.
    dicts = ["$.d", "$.ed", "{x => 1, y => [2, 3]}", "dict(a => 1, b => 2)", "dict([[k, 1], [j, 2]])"]
    for s in dicts:
        for form in ["{0}.keys()", "{0}.values()", "{0}.items()", "{0}.len()", "len({0})",
                     "{0}.get(k1)", "{0}.get(x, 0)", "{0}.containsKey(k1)", "{0}.containsKey(x)",
                     "{0}.containsValue(2)", "{0}.set(z, 1)", "{0}.set(z => 1, w => 2)", "{0}.set({{q => 1}})",
                     "{0}.delete(k1)", "{0}.delete(k1, x)", "{0}.deleteAll([k1, x])", "{0}.x",
                     "{0}['x']", "{0}['x', 'def']", "{0}.isDict()", "{0}.isEmpty()", "{0} + {{m => 0}}",
                     "{0}.keys().len()", "{0}.mergeWith({{x => {{deep => 1}}}})", "{0}.select($)",
                     "{0}.items().select($[0])", "{0}.keys().orderBy($)", "{0} = {{}}", "'k1' in {0}",
                     "{0}.toList()", "{0}.values().where($ != null)", "str({0})", "{0}.get(k3, 'd')",
                     "dict({0}.items())", "dict({0}.items().where($[1] != null))",
                     "{0}.items().toDict($[0], $[1])"]:
            add(form.format(s))
    for form in ["{a => 1}.a", "{a => {b => 2}}.a.b", "{'a b' => 1}.get('a b')", "{1 => 2}", "{true => 1}",
                 "{null => 1}", "{[1] => 2}", "{a => 1, a => 2}", "dict(a => 1).a", "dict()",
                 "dict(x => 1, y => 2).values().sum()", "{}.len()", "$.d.k2 + 1", "$.d.k1 + 'x'",
                 "$.d.keys().select($.toUpper())", "$.d.items().where($[1] = 2)", "$.d.set(k2, $.d.k2 + 1).k2",
                 "$.d.values().where(isString($))", "$.d.mergeWith({k2 => 3}).k2", "$.d.mergeWith({k4 => 4}).keys().len()",
                 "{a => [1]}.mergeWith({a => [2]})", "{a => [1]}.mergeWith({a => [2]}, $1 + $2)",
                 "{a => 1}.get(a) + {b => 2}.get(b)"]:
        add(form)
    # Dict order: Python dicts keep insertion order, so every dict an
    # expression builds reads back in the order it was built.
    for form in ["dict(b => 1, a => 2).values()", "dict(b => 1, a => 2).items().toList()", "str({b => 1, a => 2})",
                 "{b => 1, a => 2}.set(c, 3).values()", "{b => 1, a => 2}.set(a, 3).values()",
                 "{b => 1, a => 2}.set({a => 0, c => 3}).values()", "{b => 1, a => 2}.set(a => 0, c => 3).values()",
                 "({b => 1} + {a => 2}).values()", "({b => 1, a => 0} + {a => 2, c => 3}).values()",
                 "[[z, 1], [y, 2]].toDict($[0], $[1]).values()", "{b => 1, a => 2, c => 3}.delete(a).values()",
                 "{b => 1, a => 2, c => 3}.deleteAll([a]).values()",
                 "{b => 1, a => {y => 1, x => 2}}.mergeWith({c => 0, a => {w => 3}}).values()",
                 "str({b => 1, a => {y => 1}}.mergeWith({c => 0, a => {w => 3}}))", "'{0}'.format({b => 1, a => 2})",
                 "$.d.set(a, 1).values()", "str($.d.set(a, 1))", "{b => 1, a => 2}.keys().toList()",
                 "{b => 1, a => 2}.values().select($ * 2)", "dict({b => 1, a => 2}.items()).values()",
                 "{b => 1, a => 2}.items().select($[0])", "{b => 1, a => 2}.values().first()",
                 "str(regex('(a)').search('a', $))", "regex('(a)').search('xa', $.values())",
                 "{b => 1, a => 2}.toList()", "str(dict(b => [1], a => {d => 1, c => 2}))",
                 "json_dump({b => 1, a => 2})", "call(dict, [[[b, 1], [a, 2]]], {}).values()"]:
        add(form)
    # Python's containers: the input data and yaql's literals are tuples
    # and FrozenDicts (hashable, and tuples print in parentheses), while
    # split(), insert(), toDict(), delete(), mergeWith() and Mistral's
    # functions return lists and dicts (mutable: unhashable, and a list
    # never equals a tuple). keys() and items() are sets, values() a view.
    for form in ["'a,b'.split(',') = ['a', 'b']", "'a,b'.split(',') = 'a,b'.split(',')", "str('a,b'.split(','))",
                 "str(['a'.split(','), [1]])", "'a,b'.split(',').toList() = ['a', 'b']",
                 "['a,b'.split(',')].toSet().len()", "['a,b'.split(',')].distinct()", "[[1], [1]].distinct()",
                 "[[1]].toSet().len()", "[[1]].toSet()", "[{a => 1}].toSet()", "[{a => 1}].toSet().len()",
                 "set([1])", "set([1]).len()", "[set(1)].toSet()", "[set(1)].toSet().len()",
                 "[1, 2].insert(0, 0) = [0, 1, 2]", "str([1].insert(0, 0))", "str([1, 2].splitAt(1))",
                 "'a b'.split() * 2", "str('a b'.split() * 2)", "str(2 * 'a b'.split())", "str('a-b'.rightSplit('-'))",
                 "str('a1b'.split(regex('\\\\d')))", "[$.d.delete(k1)].distinct()", "[$.d.deleteAll([k1])].toSet().len()",
                 "[$.d.mergeWith({})].toSet().len()", "[[[a, 1]].toDict($[0], $[1])].toSet().len()",
                 "[{a => 1}.set(b, 2)].toSet().len()", "[{a => 1} + {b => 2}].toSet().len()",
                 "[dict(a => 1)].toSet().len()", "[dict([[a, 1]])].toSet().len()",
                 "$.users.select($.name.split(',')).groupBy($).len()", "$.users.groupBy($.tags).len()",
                 "$.users.select($.name.split(',')).toDict($, 1)", "{'a,b'.split(',') => 1}",
                 "$.d.get('a,b'.split(','))", "$.d.containsKey('a,b'.split(','))", "$.d.delete('a'.split(','))",
                 "'a'.split(',') in set([1])", "[1] in set([1])", "set([1]).contains([1])",
                 "set([1]).contains('a'.split(','))", "'a'.split(',') in ['a'.split(',')]",
                 "['a'] in ['a'.split(',')]", "'a'.split(',') in [['a']]", "json_parse('[1]') = [1]",
                 "str(json_parse('[1, [2]]'))", "[json_parse('{\"a\": 1}')].toSet().len()",
                 "[json_parse('[1]')].distinct()", "json_parse('{\"a\": 1}') = {a => 1}",
                 "json_parse('{\"a\": [1]}').mergeWith({a => [2]})",
                 "json_parse('{\"a\": [1]}').mergeWith(json_parse('{\"a\": [2]}'))",
                 "str({a => [1]}.mergeWith({a => [2]}))", "str({a => [1]}.mergeWith({a => [2]}, $1 + $2))",
                 "[{a => {b => 1}}.mergeWith({a => {c => 1}}).a].toSet().len()",
                 "[$.d.mergeWith({k4 => {x => 1}}).k4].toSet().len()", "isList('a'.split(','))",
                 "isDict($.d.delete(k1))", "'a,b'.split(',').contains('a')", "'a,b'.split(',')[1]",
                 "'a,b'.split(',').select($.toUpper())", "'a,b'.split(',').join('+')",
                 "let(x => 'a,b'.split(',')) -> [$x, $x].distinct()"]:
        add(form)
    # Sets and dict views.
    for form in ["set(1, 2) = set(2, 1)", "set(1, 2) = [1, 2]", "set(1) + set(2)", "str(set(1))", "str(set())",
                 "str(set('a'))", "set(1, 2).union([3])", "set(1).union(set(2))", "set(1, 2).intersect(set(1))",
                 "set(1, 2).difference(set(1))", "set(1, 2).symmetricDifference(set(3))",
                 "set('k1', 'x').intersect($.d.keys())", "$.d.keys().union(set(1))", "set(1) + [2]",
                 "$.d.keys() = set('k1', 'k2', 'k3')", "$.d.keys() = ['k1', 'k2', 'k3']", "'k1' in $.d.keys()",
                 "'a,b'.split(',') in $.d.keys()", "isSet($.d.keys())", "isSet($.d.items())", "isSet($.d.values())",
                 "isList($.d.keys())", "isList($.d.values())", "isList(set(1))", "isIterable($.d.values())",
                 "$.d.values()[0]", "$.d.keys()[0]", "$.d.values() = $.d.values()",
                 "let(v => $.d.values()) -> $v = $v", "$.d.keys() = $.d.keys()", "$.d.items() = $.d.items()",
                 "str($.d.values())", "str($.d.keys())", "str($.d.items())", "str({b => 1, a => 2}.values())",
                 "$.ed.values() or 1", "$.ed.keys() or 1", "$.ed.items() or 1", "[$.d.values()].toSet().len()",
                 "[$.d.keys()].toSet().len()", "[$.d.items()].distinct()", "list($.d.values())",
                 "$.d.values().select($)", "$.d.keys() + ['x']", "$.d.values() + [1]", "$.d.values().len()",
                 "$.d.values().toList()", "$.d.items().toList()", "$.d.keys().orderBy($)", "$.users.first().keys().len()",
                 "$.d.values().where($ = 2).first()", "$.d.items().where($[1] = 2)", "$.d.items().select($[1]).toList()",
                 "[$.d.keys().orderBy($), set(1).len()]", "{a => set(1)}", "{a => [1].toSet()}.a.len()",
                 "$.d.values().flatten()", "[$.d.values(), [1]].flatten()"]:
        add(form)
    # Mistral's json_parse and yaml_parse return Python dicts in document
    # order, and lists.
    for form in ["json_parse('{\"b\": [1, {\"d\": 1, \"c\": 2}], \"a\": null}').values()",
                 "str(json_parse('{\"b\": [1, {\"d\": 1, \"c\": 2}], \"a\": null}'))",
                 "json_dump(json_parse('{\"b\": 1, \"a\": {\"d\": 1, \"c\": 2}}'))",
                 "json_parse('{\"b\": 1, \"a\": 2, \"b\": 3}').values()", "yaml_parse('b: 1\\na: {d: 1, c: 2}').values()",
                 "str(yaml_parse('b: 1\\na: {d: 1, c: 2}'))", "json_parse('{\"b\": 1, \"a\": 2}').keys().toList()",
                 "[json_parse('{\"b\": 1}').set(a, 2)].toSet().len()", "json_parse('[1, 2]') + [3]",
                 "json_parse('[1, 2]') = json_parse('[1, 2]')", "json_parse('[1, 2]').toList() = [1, 2]"]:
        add(form)
    # orderBy returns an OrderingIterable: iterable many times, but not a
    # list (no len(), no index, equal only to itself) nor an iterator.
    for form in ["[].orderBy($) or 5", "bool([].orderBy($))", "list($.l.orderBy($))", "$.l.orderBy($).count()",
                 "$.l.orderBy($).len()", "$.l.orderBy($)[0]", "$.l.orderBy($) = [1, 2, 3]",
                 "$.l.orderBy($) = $.l.orderBy($)", "let(o => $.l.orderBy($)) -> $o = $o", "isList($.l.orderBy($))",
                 "$.l.orderBy($) * 2", "$.l.orderBy($).thenBy($).len()", "$.l.orderBy($).toList() = [1, 2, 3]",
                 "$.users.orderBy($.age).name", "$.l.orderBy($) + [1]", "[$.l.orderBy($)].toSet()",
                 "[$.l.orderBy($)].toSet().len()", "[$.l.orderBy($), $.l.orderBy($)].distinct().len()",
                 "$.l.orderBy($).insert(1, 9)", "$.l.orderBy($).orderBy(-$).thenBy($)", "isIterable($.l.orderBy($))",
                 "1 in $.l.orderBy($)", "{a => [1]}.mergeWith({a => [1, 2].orderBy($)})"]:
        add(form)
    # Which collections each function takes.
    for form in ["$.d.count()", "'abc'.count()", "$.l.defaultIfEmpty(5)", "$.empty.defaultIfEmpty(5)",
                 "$.empty.defaultIfEmpty([5])", "$.d.keys().insert(0, 9)", "$.d.values().insert(0, 9)",
                 "$.d.keys().delete(0)", "set(1).delete(0)", "set(1).insert(0, 2)", "$.d.items().contains(1)",
                 "1 in $.d.items()", "'a' in $.d.items()", "['k2', 2] in $.d.items()", "['k2', 3] in $.d.items()",
                 "[['k2'], 2] in $.d.items()", "'k2' in $.d.items()", "dict($.users.name)", "dict([[a, 1, 2]])",
                 "dict([[a]])", "dict(['ab', 'cd'])", "dict($.users)", "dict([{b => 1, a => 2}])",
                 "$.users.name[0]", "$.users.name.len()", "$.users.where(false).name or 1", "$.users.tags[0]",
                 "$.d.values().count()", "len($.d.values())", "len($.d.keys())"]:
        add(form)
    # A list + another iterable chains into an iterator, which equals
    # nothing; two tuples add up to a tuple.
    for form in ["$.l.where($ > 1) + [1]", "($.l.where($ > 1) + [1]) = [3, 2, 1]", "([1] + [2]) = [1, 2]",
                 "('a,b'.split(',') + ['c']) = ['a', 'b', 'c']", "'a,b'.split(',') + ['c']",
                 "($.l.where($ > 1) + [1]) or 5", "([] + $.empty.where(true)) or 5", "($.empty + []) or 5",
                 "$.users.name = ['ann', 'bob', 'cid']", "[1] + $.d.keys().orderBy($)"]:
        add(form)
    # A <% %> inside a longer string is replaced by str() of yaql's result,
    # evaluated by Mistral's own InlineYAQLEvaluator (see inline()).
    for form in ["x <% dict(b => 1, a => 2) %>", "x <% set(1) %>", "x <% set() %>", "x <% [1].toSet() %>",
                 "x <% datetime(2020, 1, 2, 3, 4, 5) %>", "x <% [datetime(2020, 1, 1)] %>",
                 "x <% [datetime(2020, 1, 1, 0, 0, 7)] %>", "x <% timespan(days => 1) %>",
                 "x <% [timespan(hours => 1)] %>", "x <% [timespan(days => -1)] %>", "x <% regex('a') %>",
                 "x <% [1, 2].select($) %>", "x <% json_parse('{\"b\": [1, {\"d\": 1, \"c\": 2}], \"a\": null}') %>",
                 "x <% $.d %>", "x <% $.users[0] %>", "x <% 'a,b'.split(',') %>", "x <% [1, 'a', null, true] %>",
                 "x <% $.d.keys().orderBy($) %>", "x <% $.d.values() %>", "x <% $.d.items() %>", "x <% $.ed.items() %>",
                 "x <% null %>, <% true %>, <% 2.5 %>, <% 's' %>",
                 "<% $.a %> and <% $.l.where($ > 1) %>", "x <% {a => [1, {b => set()}]} %>"]:
        add(form)
    # Regular expressions.
    for form in ["regex('a+b').matches('xaab')", "'xaab'.matches('^a')", "regex('(a)(b)?').search('ca')",
                 "regex('(\\\\d+)').searchAll('a1b22c333')", "'a1b22'.searchAll('\\\\d+')",
                 "regex('\\\\d').split('a1b2c')", "'a1b2c'.split(regex('\\\\d'))", "regex('\\\\d').replace('a1b2', '#')",
                 "'a1b2'.replace(regex('\\\\d'), '#')", "regex('(\\\\w)(\\\\d)').replace('a1b2', '\\\\2\\\\1')",
                 "'a1b2c3'.replace(regex('\\\\d'), '#', 2)", "escapeRegex('a.b*c')", "'a.b' =~ 'a\\\\.b'",
                 "'A' =~ '(?i)a'", "'abc' =~ 'b'", "'abc' =~ '^b'", "'abc' !~ 'z'", "isRegex(regex('x'))",
                 "regex('(?P<n>\\\\d+)').search('ab12').n", "regex('x').search('abc')",
                 "'a,b;c'.split(regex('[,;]'))", "regex('a', ignoreCase => true).matches('A')",
                 "'aAa'.replace(regex('a', ignoreCase => true), 'x')", "regex('[').matches('a')",
                 "'ab\\ncd' =~ '^cd'", "'abc'.searchAll('z')", "regex('(a)|(b)').searchAll('ab', $.value)"]:
        add(form)
    # Date and time, as far as Mistral can store the answers.
    for form in ["datetime(2020, 1, 2).year", "datetime(2020, 1, 2, 3, 4, 5).hour",
                 "str(datetime(2020, 1, 2, 3, 4, 5))", "str(datetime(2020, 1, 2))",
                 "datetime(2020, 1, 31) + timespan(days => 1)", "str(datetime(2020, 1, 31) + timespan(days => 1))",
                 "str(datetime(2020, 3, 1) - timespan(hours => 1))", "(datetime(2020, 3, 1) - datetime(2020, 2, 1)).days",
                 "timespan(hours => 2).hours", "timespan(hours => 2).minutes", "timespan(days => 1, hours => 12).days",
                 "str(timespan(minutes => 90))", "datetime(2020, 2, 29).weekday", "datetime(2020, 2, 29).month",
                 "datetime(2020, 2, 29).day", "datetime(2020, 1, 1) < datetime(2021, 1, 1)",
                 "datetime('2020-05-06T07:08:09').minute", "str(datetime('2020-05-06T07:08:09'))",
                 "datetime('2020-05-06 07:08:09', '%Y-%m-%d %H:%M:%S').second",
                 "datetime(2020, 1, 2).format('%Y/%m/%d')", "datetime(1600000000).year",
                 "datetime(2020, 1, 2, 3, 4, 5).timestamp", "str(datetime(2020, 1, 2).date)",
                 "str(datetime(2020, 1, 2, 3, 4).time)", "isDatetime(datetime(2020, 1, 1))",
                 "isTimespan(timespan(seconds => 1))", "timespan(seconds => 90).totalMinutes",
                 "timespan(milliseconds => 1500).seconds", "timespan(days => 1) * 2", "str(timespan(days => 1) * 2)",
                 "str(-timespan(hours => 1))", "now() > datetime(2020, 1, 1)", "isDatetime(now())",
                 "isDatetime(now(utctz()))", "now().year > 2000", "datetime(2020, 1, 1).utc", "str(utctz())",
                 "datetime(2020, 12, 31).dayOfYear", "str(datetime(2020, 1, 1) + timespan(weeks => 1))"]:
        add(form)
    # Mistral's pure functions.
    for form in ["json_dump($.d)", "json_dump([1, 'ä', null, true, 2.5])", "json_dump({})", "json_dump('x')",
                 "json_pp($.users)", "json_pp()", "yaml_dump($.d)", "yaml_dump($.users)", "yaml_dump([])",
                 "yaml_dump('x')", "yaml_dump(1)", "yaml_dump({a => [1, {b => 'yes'}], c => ''})",
                 "json_parse('{\"a\": [1, 2.5, null]}')", "json_parse('[1')", "json_parse('1e3')",
                 "yaml_parse('a: 1\\nb: [x, y]')", "yaml_parse('- 1\\n- yes\\n- ~')", "yaml_parse('')",
                 "yaml_parse('a: [')", "json_parse(json_dump($.users))", "yaml_parse(yaml_dump($.deep))",
                 "json_dump($.s)", "yaml_dump($.s)", "yaml_dump('123')", "yaml_dump('true')",
                 "yaml_dump('a: b')", "yaml_dump('multi\\nline')", "yaml_dump(2.5)", "yaml_dump(null)",
                 "yaml_dump([[1, 2], [3]])", "yaml_dump({x => {}, y => []})", "json_dump(1e20)"]:
        add(form)
    # Syntax errors.
    for form in ["1 +", "(1", "[1, 2", "{a => }", "$.a..b", "1 2", "'unterminated", "f(", "a => b",
                 "$.a[", "not", "1 = = 2", "[1, 2,]", "$.", "@", "1 ++ 2", "{1, 2}", "x()()", "--1", "- -1"]:
        add(form)
    return out


def conformance():
    """Every expression of Mistral's own repositories that needs no database."""
    path = os.path.join(os.path.dirname(__file__), "..", "..", "yaql", "testdata", "mistral_exprs.json")
    with open(path) as f:
        src = json.load(f)
    host = ("task(", "tasks(", "execution(", "env(", "global(", "uuid(", "$.__", "__execution",
            "__env", "__task_execution")
    return [e.strip() for e in src if not any(h in e for h in host)]


def evaluate(expr, data):
    if "<%" in expr:
        return inline(expr, data)
    return oracle_common.answer(
        lambda: ENGINE(expr).evaluate(data=data, context=ROOT.create_child_context()))


_INLINE = None


def inline(text, data):
    """A string with <% %> inside, as Mistral 15 evaluates it: its own
    InlineYAQLEvaluator, with its default configuration."""
    global _INLINE
    if _INLINE is None:
        from mistral import config  # noqa: F401 - registers the options
        from oslo_config import cfg
        cfg.CONF([], project="mistral")
        from mistral.expressions import yaql_expression
        _INLINE = yaql_expression.InlineYAQLEvaluator
    return oracle_common.answer(lambda: _INLINE.evaluate(text, data))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_path = os.path.join(here, "..", "yaql_corpus.json")
    seen = set()
    cases = []
    for src, group in (("generated", exprs()), ("mistral", conformance())):
        for e in group:
            if e in seen or not e:
                continue
            seen.add(e)
            data = json.loads(json.dumps(CTX, sort_keys=True))
            ans = evaluate(e, data)
            case = {"expr": e, "source": src}
            case.update(ans)
            cases.append(case)
    doc = {"context": json.loads(json.dumps(CTX, sort_keys=True)), "cases": cases}
    with open(out_path, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    errs = sum(1 for c in cases if "error" in c)
    print("%d cases (%d errors) -> %s" % (len(cases), errs, os.path.relpath(out_path)))


if __name__ == "__main__":
    main()
