#!/usr/bin/env python3
"""Record the real Mistral's verdict on every definition of testdata/mistral.

Each definition (the corpus, the inline test definitions, the standalone
files) is POSTed as text/plain to the validate endpoint of its kind on a
running Mistral 15 API:

    workflow documents  POST /v2/workflows/validate
    workbooks           POST /v2/workbooks/validate
    ad-hoc actions      POST /v2/actions/validate

and the answer is written to testdata/mistral/verdicts.json as a list of
{name, kind, status, valid, error}. status is the HTTP status: Mistral's
validate controller answers 200 with {"valid": ...} for the errors it
expects (DSLParsingException and its subclasses) and 500 for any other
exception its parser raises; a 500 counts as "not valid" (the definition
cannot be stored either).

The kind of a definition is decided from its parsed YAML, the way a person
would upload it: a mapping with 'workflows' or 'actions' beside 'name' is
a workbook; a mapping whose every entry but 'version' has a 'base' is an
action document; anything else is a workflow document.

Usage (python3 with PyYAML, no other dependency):

    record_verdicts.py --url http://127.0.0.1:PORT/v2

The Go test (conformance_test.go) reads only the committed verdicts.json;
CI never needs Mistral.
"""

import argparse
import glob
import json
import os
import sys
import urllib.error
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "mistral")

ENDPOINT = {"wf": "workflows", "wb": "workbooks", "actions": "actions"}


def sources():
    """Yields (name, text) in a stable order; names match the Go test's."""
    with open(os.path.join(DATA, "inline-tests.json")) as f:
        for e in json.load(f):
            name = "inline:%s:%d:%s" % (os.path.basename(e["file"]), e["line"], e["name"])
            yield name, e["text"]
    files = glob.glob(os.path.join(DATA, "**", "*.yaml"), recursive=True)
    files += glob.glob(os.path.join(DATA, "**", "*.yml"), recursive=True)
    for p in sorted(files):
        with open(p, encoding="utf-8") as f:
            yield os.path.relpath(p, DATA).replace(os.sep, "/"), f.read()


def kind_of(text):
    try:
        d = yaml.safe_load(text)
    except yaml.YAMLError:
        return "wf"
    if not isinstance(d, dict):
        return "wf"
    if "name" in d and ("workflows" in d or "actions" in d):
        return "wb"
    items = [v for k, v in d.items() if k != "version"]
    if items and all(isinstance(v, dict) and "base" in v for v in items):
        return "actions"
    return "wf"


def validate(url, kind, text):
    req = urllib.request.Request(
        "%s/%s/validate" % (url, ENDPOINT[kind]),
        data=text.encode("utf-8"),
        headers={"Content-Type": "text/plain"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    try:
        ans = json.loads(body)
    except ValueError:
        ans = {"faultstring": body.decode("utf-8", "replace")}
    if status == 200 and "valid" in ans:
        return status, bool(ans["valid"]), ans.get("error", "")
    return status, False, ans.get("faultstring") or json.dumps(ans)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True, help="Mistral's API root, e.g. http://127.0.0.1:8989/v2")
    ap.add_argument("--out", default=os.path.join(DATA, "verdicts.json"))
    args = ap.parse_args()
    out = []
    for name, text in sources():
        kind = kind_of(text)
        status, valid, error = validate(args.url.rstrip("/"), kind, text)
        out.append({"name": name, "kind": kind, "status": status, "valid": valid, "error": error.strip()})
        print("%-5s %-7s %d %s" % ("ok" if valid else "BAD", kind, status, name), file=sys.stderr)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("%d definitions, %d valid" % (len(out), sum(e["valid"] for e in out)), file=sys.stderr)


if __name__ == "__main__":
    main()
