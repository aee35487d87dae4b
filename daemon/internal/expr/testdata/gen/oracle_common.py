"""Shared helpers of the corpus generators: Mistral's pure expression
functions as Mistral 15 defines them (mistral/expressions/std_functions.py),
and JSON output that keeps the expected value exact."""
import json

import yaml


def json_dump_(context, data):
    return json.dumps(data, indent=4)


def json_pp_(context, data=None):
    return json.dumps(data or context, indent=4).replace("\\n", "\n").replace(" \n", "\n")


def yaml_dump_(context, data):
    return yaml.safe_dump(data, default_flow_style=False)


def json_parse_(context, data):
    return json.loads(data)


def yaml_parse_(context, data):
    return yaml.safe_load(data)


PURE = {
    "json_dump": json_dump_,
    "json_pp": json_pp_,
    "yaml_dump": yaml_dump_,
    "json_parse": json_parse_,
    "yaml_parse": yaml_parse_,
}


def answer(fn):
    """Run fn and return {"value": v} or {"error": "Type: message"}; a value
    that JSON cannot hold is an error, as Mistral could not store it."""
    try:
        v = fn()
        json.dumps(v, allow_nan=False)
        return {"value": v}
    except Exception as e:  # noqa: BLE001 - every failure is an answer
        return {"error": "%s: %s" % (type(e).__name__, e)}
