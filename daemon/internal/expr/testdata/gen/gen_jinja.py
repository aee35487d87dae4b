#!/usr/bin/python3
"""Generate testdata/jinja_corpus.json: Jinja strings, their context and the
answers of python3-jinja2 configured as Mistral 15 configures it
(mistral/expressions/jinja_expression.py): SandboxedEnvironment with
StrictUndefined, trim_blocks and lstrip_blocks; `_` is the context;
Mistral's functions are globals (bound to the context) and filters; a
string that is exactly one {{ expr }} yields the native value, any other
renders as a template.

Run from daemon/internal/expr:  /usr/bin/python3 testdata/gen/gen_jinja.py
"""
import functools
import json
import os
import re
import sys

import jinja2
from jinja2.sandbox import SandboxedEnvironment

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle_common  # noqa: E402

ENV = SandboxedEnvironment(undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
for _name, _fn in oracle_common.PURE.items():
    ENV.filters[_name] = _fn
EXPR_RE = re.compile('({{(.*?)}})')
BLOCK_RE = re.compile('({%(.*?)%})')

CTX = {
    "a": 1, "b": 2, "f": 2.5, "neg": -7, "t": True, "no": False, "n": None,
    "s": "Hello World", "e": "", "csv": "a,b,,c",
    "l": [3, 1, 2], "ls": ["b", "a", "c"], "empty": [],
    "d": {"k1": "v1", "k2": 2, "k3": None},
    "users": [{"name": "ann", "age": 31}, {"name": "bob", "age": 25}, {"name": "cid", "age": 31}],
    "deep": {"x": {"y": [10, {"z": "end"}]}},
}


def evaluate(expression, data):
    def run():
        ctx = {"_": data}
        for name, fn in oracle_common.PURE.items():
            ctx[name] = functools.partial(fn, data)
        if not (EXPR_RE.search(expression) or BLOCK_RE.search(expression)):
            return expression  # not an expression: Mistral leaves it as it is
        patterns = EXPR_RE.findall(expression)
        if patterns[0][0] == expression:
            result = ENV.compile_expression(patterns[0][1], undefined_to_none=False)(**ctx)
            str(result)
            return result
        return ENV.from_string(expression).render(**ctx)
    return oracle_common.answer(run)


def exprs():
    out = []
    add = out.append
    values = ["_.a", "_.f", "_.s", "_.e", "_.l", "_.d", "_.n", "_.t", "_.users", "_.deep.x.y",
              "1", "-2", "2.5", "'x'", "none", "true", "[1, 'a']", "{'k': 1}", "(1, 2)"]
    for v in values:
        add("{{ %s }}" % v)
        add("v={{ %s }}" % v)
        add("{{ %s }} and {{ _.a }}" % v)
        for flt in ["length", "string", "list", "first", "last", "int", "float", "upper", "lower",
                    "default('dflt')", "tojson", "sort", "unique", "reverse | list", "join(',')",
                    "trim", "capitalize", "title", "abs", "round", "sum", "min", "max", "count",
                    "wordcount", "center(9)", "bool" if False else "pprint", "e", "safe", "striptags"]:
            add("{{ %s | %s }}" % (v, flt))
    for op in ["+", "-", "*", "/", "//", "%", "**", "==", "!=", "<", ">", "<=", ">=", "in", "and", "or", "~"]:
        for x, y in [("_.a", "_.b"), ("_.f", "2"), ("_.s", "'!'"), ("_.l", "[9]"), ("3", "_.a"),
                     ("'a'", "_.s"), ("_.n", "1")]:
            add("{{ %s %s %s }}" % (x, op, y))
    for form in ["{{ _.missing }}", "{{ missing }}", "{{ _.d.k1 }}", "{{ _.d['k2'] }}", "{{ _.d.k3 }}",
                 "{{ _.d.nope }}", "{{ _.d.get('nope', 0) }}", "{{ _.d.get('k1') }}", "{{ _.l[0] }}",
                 "{{ _.l[-1] }}", "{{ _.l[1:] }}", "{{ _.l[::-1] }}", "{{ _.l[9] }}", "{{ _.s[0:5] }}",
                 "{{ _.s.upper() }}", "{{ _.s.lower() }}", "{{ _.s.split(' ') }}", "{{ _.s.replace('l', 'L') }}",
                 "{{ _.s.startswith('He') }}", "{{ _.s.endswith('x') }}", "{{ _.s.strip() }}",
                 "{{ _.csv.split(',') }}", "{{ ','.join(_.ls) }}", "{{ _.d.keys() | list }}",
                 "{{ _.d.values() | list }}", "{{ _.d.items() | list }}", "{{ _.d | length }}",
                 "{{ _.users | map(attribute='name') | list }}", "{{ _.users | selectattr('age', 'gt', 30) | list }}",
                 "{{ _.users | rejectattr('age', 'gt', 30) | map(attribute='name') | join(',') }}",
                 "{{ _.users | sort(attribute='age') | map(attribute='name') | list }}",
                 "{{ _.users | groupby('age') | list }}", "{{ _.users | sum(attribute='age') }}",
                 "{{ _.users | max(attribute='age') }}", "{{ _.l | select('odd') | list }}",
                 "{{ _.l | reject('odd') | list }}", "{{ _.l | map('string') | list }}",
                 "{{ _.l | batch(2) | list }}", "{{ _.l | slice(2) | list }}", "{{ _.ls | sort | first }}",
                 "{{ _.d | dictsort }}", "{{ _.s | replace('o', '0') }}", "{{ _.s | truncate(8) }}",
                 "{{ _.s | wordcount }}", "{{ _.s | indent(2) }}", "{{ _.s | urlencode }}",
                 "{{ _.s | reverse }}", "{{ '%s-%s' % (_.a, _.b) }}", "{{ '{}-{}'.format(_.a, _.b) }}",
                 "{{ _.a if _.t else _.b }}", "{{ _.a if _.no else _.b }}", "{{ _.a if _.no }}",
                 "{{ _.n is none }}", "{{ _.a is number }}", "{{ _.s is string }}", "{{ _.l is iterable }}",
                 "{{ _.d is mapping }}", "{{ _.missing is defined }}", "{{ _.a is defined }}",
                 "{{ _.a is odd }}", "{{ _.b is even }}", "{{ _.b is divisibleby 2 }}",
                 "{{ _.l is sequence }}", "{{ 'Hello' in _.s }}", "{{ 3 in _.l }}", "{{ 'k1' in _.d }}",
                 "{{ not _.t }}", "{{ range(3) | list }}", "{{ range(1, 7, 2) | list }}", "{{ range(3) | sum }}",
                 "{{ dict(x=1) }}", "{{ namespace(a=1).a }}", "{{ [1, 2] + [3] }}", "{{ _.l | length > 2 }}",
                 "{{ json_dump(_.d) }}", "{{ json_dump(_.users) }}", "{{ json_pp(_.l) }}", "{{ _.l | json_pp }}",
                 "{{ yaml_dump(_.d) }}", "{{ yaml_dump(_.users) }}", "{{ json_parse('[1, 2]') }}",
                 "{{ yaml_parse('a: b') }}", "{{ _.d | json_dump }}", "{{ json_dump(_.s) }}",
                 "{{ _.deep.x.y[1].z }}", "{{ _.deep['x']['y'][0] }}", "{{ _['a'] }}", "{{ _ | length }}",
                 "{{ _.l | map('int') | sum }}", "{{ _.f | int }}", "{{ '7' | int + 1 }}", "{{ 'x' | int }}",
                 "{{ '2.5' | float }}", "{{ 1 / 0 }}", "{{ _.a / 2 }}", "{{ 7 // 2 }}", "{{ -7 // 2 }}",
                 "{{ 2 ** 10 }}", "{{ 7 % 3 }}", "{{ 1 == 1.0 }}", "{{ true == 1 }}", "{{ 'a' * 3 }}",
                 "{{ [1] * 2 }}", "{{ 0.1 + 0.2 }}", "{{ 1e20 }}", "{{ 10 / 4 }}", "{{ 1.0 }}",
                 "{{ _.s ~ _.a }}", "{{ _.n ~ 'x' }}", "{{ _.l ~ '' }}", "{{ none }}", "{{ None }}",
                 "{{ True }}", "{{ false }}", "{{ [] }}", "{{ {} }}", "{{ '' }}", "{{ _.e or 'empty' }}",
                 "{{ _.n or _.a }}", "{{ _.a and _.b }}", "{{ _.empty | first }}", "{{ _.empty | default([0], true) }}",
                 "{{ _.missing | default('d') }}", "{{ _.d.nope | default('d') }}",
                 # lipsum() is random in Jinja2: only its shape is comparable.
                 "{{ lipsum(1, false, 5, 6) | wordcount }}", "{{ lipsum(2).count('<p>') }}",
                 "{{ cycler(1, 2).next() }}", "{{ _.s | list | length }}", "{{ _.ls | map('upper') | list }}",
                 "{{ _.users[0].name | capitalize }}", "{{ _.users | map(attribute='age') | unique | list }}",
                 "{{ _.s.split() }}", "{{ _.s.find('o') }}", "{{ _.s.count('l') }}", "{{ _.l.index(1) }}",
                 "{{ _.d.get('k2') + 1 }}", "{{ (_.a, _.b) }}", "{{ [_.a, _.b] | max }}", "{{ _.ls | join }}",
                 "{{ _.l | sort(reverse=true) }}", "{{ _.users | map(attribute='name') | select('equalto', 'bob') | list }}",
                 "{{ _.l | selectattr('x') | list }}", "{{ 1 | string + 'a' }}", "{{ 'abc'[1] }}",
                 "{{ 'abc' | first }}", "{{ _.s | center(15) }}", "{{ _.s | format }}", "{{ '%d' | format(3) }}",
                 "{{ '%s=%s' | format('a', 1) }}", "{{ _.s | title }}", "{{ 'a b' | wordcount }}",
                 "{{ _.users | length }}", "{{ _.l | min }}", "{{ _.l | max }}", "{{ [] | max }}",
                 "{{ _.d | items | list }}", "{{ _.d | attr('k1') }}", "{{ _.f | round }}", "{{ 2.675 | round(2) }}",
                 "{{ 2.5 | round }}", "{{ 3.5 | round(0, 'floor') }}", "{{ -3 | abs }}", "{{ 'x' | abs }}",
                 "{{ _.s | filesizeformat }}", "{{ 1000 | filesizeformat }}", "{{ _.l | random in _.l }}",
                 "{{ _.a | string | length }}", "{{ _.s | list | unique | list | length }}",
                 "{{ 1 < 2 < 3 }}", "{{ 1 < 2 > 3 }}", "{{ [1, 2, 3][1:2] }}", "{{ 'x' if 1 else 'y' }}"]:
        add(form)
    # Templates with blocks.
    for form in ["{% for u in _.users %}{{ u.name }},{% endfor %}",
                 "{% for i in _.l %}{{ loop.index }}:{{ i }} {% endfor %}",
                 "{% for k, v in _.d.items() %}{{ k }}={{ v }};{% endfor %}",
                 "{% if _.a > 0 %}pos{% else %}neg{% endif %}{{ '' }}",
                 "{% if _.a > 0 %}pos{% else %}neg{% endif %}",
                 "{% set x = _.a + 1 %}{{ x }}", "{% set x = [1, 2] %}{{ x | length }}",
                 "{% for i in range(3) %}{{ i }}{% if not loop.last %}-{% endif %}{% endfor %}",
                 "{% for i in _.empty %}{{ i }}{% else %}none{% endfor %}",
                 "a\n{% if true %}\n  b\n{% endif %}\nc{{ '' }}",
                 "  {% for i in _.l %}\n{{ i }}\n  {% endfor %}\n",
                 "{% macro m(x) %}[{{ x }}]{% endmacro %}{{ m(1) }}{{ m('a') }}",
                 "{% raw %}{{ not rendered }}{% endraw %}{{ 1 }}",
                 "{% with y = 5 %}{{ y * 2 }}{% endwith %}",
                 "{% for u in _.users if u.age > 30 %}{{ u.name }}{% endfor %}",
                 "{# comment #}{{ _.a }}", "{{ _.a }}{# c #}", "{%- if true -%} x {%- endif -%}{{ 1 }}",
                 "{{- _.a -}} {{- _.b -}}", "{% include 'x.txt' %}{{ 1 }}", "{% import 'x' as y %}{{ 1 }}",
                 "{% extends 'base' %}{{ 1 }}", "{% for i in range(2) %}{% for j in range(2) %}{{ i }}{{ j }} {% endfor %}{% endfor %}",
                 "{% set ns = namespace(c=0) %}{% for i in _.l %}{% set ns.c = ns.c + i %}{% endfor %}{{ ns.c }}",
                 "{% filter upper %}abc{% endfilter %}{{ 1 }}", "{{ _.a }} <% $.a %>", "<% $.a %> {{ _.b }}",
                 "{{ 1 }", "{{ }}", "{{ _.a ", "{% if %}{{ 1 }}", "{% endfor %}{{ 1 }}", "{{ 1 + }}",
                 "{{ [1, 2 }}", "{{ _.a | nosuchfilter }}", "{{ _.a is nosuchtest }}", "{{ nofunc() }}",
                 "{{ _.a.__class__ }}", "{{ _.s.__len__() }}", "{{ ''.__class__.__mro__ }}",
                 "{% for i in _.l %}{{ i }}{% endfor %}", "x {{ _.d }} y", "{{ _.users[0] }} !",
                 "{{ _.l }}{{ _.l }}", "{{ _.f * 2 }} {{ _.a / 3 }}", "{{ _.t }} {{ _.n }} {{ _.no }}",
                 "{% if _.n is none %}N{% endif %}{{ '' }}", "{{ 'multi\nline' }}", "{{ _.s }}\n"]:
        add(form)
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_path = os.path.join(here, "..", "jinja_corpus.json")
    seen = set()
    cases = []
    data = json.loads(json.dumps(CTX, sort_keys=True))
    for e in exprs():
        if e in seen:
            continue
        seen.add(e)
        case = {"expr": e, "source": "generated"}
        case.update(evaluate(e, json.loads(json.dumps(data))))
        cases.append(case)
    with open(out_path, "w") as f:
        json.dump({"context": data, "cases": cases}, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    errs = sum(1 for c in cases if "error" in c)
    print("%d cases (%d errors) -> %s" % (len(cases), errs, os.path.relpath(out_path)))


if __name__ == "__main__":
    main()
