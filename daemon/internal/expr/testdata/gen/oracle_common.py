"""Shared helpers of the corpus generators: Mistral's pure expression
functions as Mistral 15 defines them (mistral/expressions/std_functions.py),
and the answer as Mistral stores it: oslo.serialization's to_primitive, as
mistral_lib.utils.to_json_str applies it (python3-oslo.serialization)."""
import collections.abc
import json
import re

import yaml
from oslo_serialization import jsonutils
from yaql.language import utils as yaql_utils

# Mistral registers this representer (mistral/expressions/yaql_expression.py)
# so that yaml_dump accepts yaql's internal dicts.
yaml.representer.SafeRepresenter.add_representer(
    yaql_utils.FrozenDict, yaml.representer.SafeRepresenter.represent_dict)


def json_dump_(context, data):
    return jsonutils.dumps(data, indent=4)


def json_pp_(context, data=None):
    return jsonutils.dumps(data or context, indent=4).replace("\\n", "\n").replace(" \n", "\n")


def yaml_dump_(context, data):
    return yaml.safe_dump(data, default_flow_style=False)


def json_parse_(context, data):
    return json.loads(data)


def yaml_parse_(context, data):
    return yaml.safe_load(data)


def _fallback(value):
    return value


def stored(v):
    """v as Mistral stores an expression's result: FrozenDict unwrapped and
    iterators listed (_sanitize_yaql_result), then to_primitive (sets and
    mappings become lists and dicts, datetimes ISO strings)."""
    if isinstance(v, yaql_utils.FrozenDict):
        v = v._d
    if isinstance(v, collections.abc.Iterator):
        v = list(v)
    return jsonutils.to_primitive(v, convert_instances=True, fallback=_fallback)


PURE = {
    "json_dump": json_dump_,
    "json_pp": json_pp_,
    "yaml_dump": yaml_dump_,
    "json_parse": json_parse_,
    "yaml_parse": yaml_parse_,
}


def answer(fn):
    """Run fn and return {"value": v} or {"error": "Type: message"}; a value
    that JSON cannot hold is an error, as Mistral could not store it. A set
    is stored in Python's hash order, which is not defined: such an answer
    is marked unordered and compared as a multiset."""
    try:
        raw = fn()
        v = stored(raw)
        json.dumps(v, allow_nan=False)
        if isinstance(raw, collections.abc.Set):
            # Hash order: written sorted so that the file is stable.
            return {"value": sorted(v, key=lambda x: json.dumps(x, sort_keys=True)), "unordered": True}
        return {"value": v}
    except Exception as e:  # noqa: BLE001 - every failure is an answer
        msg = re.sub(r" at 0x[0-9a-f]+", "", str(e))
        return {"error": "%s: %s" % (type(e).__name__, msg)}
