#!/usr/bin/python3
"""Record what the real Mistral 15 does with the conformance workflows.

The Go test in this package runs the same workflows on Sirocco and compares
the results with what this script recorded, so CI needs no Mistral.

    record.py --corpus DIR --inline FILE --url http://127.0.0.1:PORT/v2 \
              [--out mistral15.json] [--only SUBSTRING] [--jobs N]
    record.py --extra DIR --url http://127.0.0.1:PORT/v2 \
              [--out mistral15_extra.json] [--only SUBSTRING] [--jobs N] \
              [--merge]

--corpus is the directory of the 15 conformance corpus files, --inline the
JSON list of the inline workflow definitions of Mistral's unit tests
({file, line, name, text}). --extra instead takes a directory of workflow
files written for this test, one document a file, whose comment lines at
column 0 say how to start them (see select_extra); with --merge it keeps
the cases --out already holds and records only the files added since (and
the cases --only names), so that adding files leaves the other recordings
and their workflow names as they were. Python 3 standard
library plus PyYAML (Debian's python3-yaml, which Mistral itself needs).

What it does, per selected case:
  * the definition is the test's text, dedented, with every workflow name (or
    the workbook name) prefixed by the case number ("c042_"), so that all
    cases can live side by side on one server; nothing else is changed;
  * POST /v2/workflows (or /v2/workbooks) once per definition, one at a
    time; then, several cases at once, POST /v2/executions with the
    input and params chosen below (from the test's code);
  * polls until the execution leaves RUNNING; an action execution of
    std.async_noop that is RUNNING is completed with
    PUT /v2/action_executions/{id} {"state": "SUCCESS",
    "output": "{\"result\": \"async done\"}"} (the rule the Go test follows);
    PAUSED counts as the end (nothing resumes it);
  * records state, state_info (ids replaced by <id>), output, and every task
    execution: name, state, published, state_info, and the result when it is
    small; tasks are sorted by name, then by the entry's JSON, because tasks
    that run in parallel are created in any order.
A rejected definition or start is recorded as its HTTP status and message.
"""
import argparse
import concurrent.futures
import json
import re
import sys
import textwrap
import time
import urllib.error
import urllib.request

import yaml

STD_ACTIONS = {"std.echo", "std.noop", "std.fail", "std.sleep", "std.async_noop"}
ASYNC_OUTPUT = json.dumps({"result": "async done"})
MAX_RESULT = 2000  # bytes of JSON kept of a task's result
MAX_ERROR = 300  # characters kept of an error message
DEADLINE_S = 90

# Inputs and params per (source, workflow name as written). A list of
# variants; each variant is {"input": ..., "params": ..., "why": ...}.
# "chosen" marks inputs picked here because the test never starts the
# workflow (API and service tests) or because its value is slow.
V = lambda inp=None, params=None, why="": {"input": inp or {}, "params": params or {}, "why": why}
WF_INPUT = {"names_info": [{"name": "John"}, {"name": "Ivan"}, {"name": "Mistral"}]}
INPUTS = {
    ("corpus/01_with_items_simple.yaml", "wf"): [V(WF_INPUT)],
    ("corpus/02_with_items_multi_array.yaml", "wf"): [V({"arrayI": ["a", "b", "c"], "arrayJ": [1, 2, 3]})],
    ("corpus/06_retry_break_on.yaml", "wf1"): [V(), V({"var": 4}, why="test_retry_policy_break_on")],
    ("corpus/07_reverse_workflow.yaml", "wf1"): [
        V({"param1": "a", "param2": "b"}, {"task_name": t}) for t in ("task1", "task2", "task4")],
    ("corpus/08_nested_subworkflow.yaml", "wf1"): None,  # started only as wf2's sub-workflow
    ("corpus/09_dataflow_branches_no_join.yaml", "wf"): [V(params={"env": {"from": "Neo"}})],
    ("corpus/12_engine_commands.yaml", "wf"): [V({"my_var": v}) for v in (1, 2, 3)],
    ("corpus/14_adhoc_actions.yaml", "wf1"): [V({"str1": "a", "str2": "b"})],
    ("corpus/14_adhoc_actions.yaml", "wf2"): [V({"str1": "a", "str2": "b"})],
    ("corpus/14_adhoc_actions.yaml", "wf3"): [V({"str1": "a", "str2": "b"})],
    ("corpus/14_adhoc_actions.yaml", "wf4"): [V({"str1": "a"}, {"env": {"foo": "bar"}})],
    ("corpus/15_direct_cycle.yaml", "workflow_cycle_in_out_verify"): [V({"num_of_cycles": 21})],
    ("services/test_trigger_service.py:147", "some_wf"): [V({"some_var": "some value"}, why="chosen")],
    ("services/test_workflow_service.py:66", "wf1"): [V({"param1": "a", "param2": "b"}, {"task_name": "task1"}, why="chosen")],
    ("engine/test_policies.py:107", "wf1"): [V({"wait_before": 1}, why="test uses 10; shortened"),
                                              V({"wait_before": 0}), V({"wait_before": -1})],
    ("engine/test_policies.py:144", "wf1"): [V({"wait_after": w}) for w in (2, 0, -1)],
    ("engine/test_policies.py:243", "wf1"): [V({"timeout": t}) for t in (1, -1)],
    ("engine/test_policies.py:315", "wf1"): [V({"concurrency": c}) for c in (4, 0, -1)],
    ("engine/test_policies.py:1550", "wf1"): [V({"timeout": 0})],
    ("engine/test_policies.py:1867", "wf1"): [V({"wait_before": "1"})],
    ("engine/test_workflow_variables.py:30", "wf"): [V({"param2": "Renat"})],
    ("engine/test_default_engine.py:42", "wf"): [V({"param1": "Hey", "param2": "Hi"}, {"task_name": "task2"})],
    ("engine/test_noop_task.py:26", "wf"): [V({"num1": 1, "num2": 1}), V({"num1": 1, "num2": 2})],
    ("engine/test_commands.py:134", "wf"): [V({"my_var": v}) for v in (1, 2, 3)],
    ("engine/test_commands.py:364", "wf"): [V({"my_var": v}) for v in (1, 2, 3)],
    ("engine/test_commands.py:454", "wf"): [V({"my_var": v}) for v in (1, 2, 3)],
    ("engine/test_direct_workflow.py:571", "wf"): [V({"var": 2})],
    ("engine/test_error_handling.py:48", "wf"): [V({"wrong_param": "some_value"}, why="test_invalid_workflow_input")],
    ("engine/test_yaql_functions.py:410", "wf"): [V({"k1": "v1"})],
    ("engine/test_with_items.py:60", "wf"): [V(dict(WF_INPUT, greeting="Hello"))],
    ("engine/test_with_items.py:105", "wf"): [V({"items": [1, 2, 3]})],
    ("engine/test_with_items.py:434", "with_items"): [V({"names_info": []})],
    ("engine/test_with_items.py:715", "wf"): [V({"concurrency": 2}), V({"concurrency": "2"})],
    ("policies/test_workflows.py:28", "flow"): [V({"param1": "a"}, why="chosen")],
    ("api/test_resource_base.py:43", "WF"): [V({"no_default_value_input": "x"}, why="chosen")],
    ("api/test_resource_base.py:73", "WF_2_PARAMS"): [V({"param1": "a"}, why="chosen")],
    ("api/test_resource_base.py:73", "WF_3_PARAMS"): [V({"param1": "a", "param": "b"}, why="chosen")],
    ("api/v2/test_workflows.py:46", "flow"): [V({"param1": "a", "param2": "b"}, why="chosen")],
    ("api/v2/test_workflows.py:103", "flow"): [V({"param1": "a"}, why="chosen")],
    ("engine/test_direct_workflow_with_cycles.py:31", "workflow_cycle_in_out_verify"): [V({"num_of_cycles": 21})],
    ("engine/test_reverse_workflow_rerun_cancelled.py:45", "wf1"): [V(params={"task_name": "t3"})],
    ("engine/test_reverse_workflow_rerun.py:32", "wf1"): [V(params={"task_name": "t3"})],
    ("engine/test_task_defaults.py:87", "wf"): [V(params={"task_name": "task2"})],
    ("engine/test_task_defaults.py:133", "wf"): [V(params={"task_name": "task2"})],
    ("engine/test_task_defaults.py:172", "wf"): [V(params={"task_name": "task1"})],
    ("engine/test_task_defaults.py:212", "wf"): [V(params={"task_name": "task2"})],
    ("engine/test_reverse_workflow.py:183", "wf"): [V(params={"task_name": "task3"}, why="chosen: the test expects the upload to fail")],
    ("engine/test_workflow_resume.py:83", "wf"): [V(params={"task_name": "task2"})],
    ("workflow/test_workflow_base.py:38", "wf"): [V(params={"task_name": "task1"}, why="chosen")],
    ("workflow/test_reverse_workflow.py:27", "wf"): [V(params={"task_name": t}) for t in ("task1", "task2")],
}

# Parts of a recording that differ between two recordings of the same case
# (found by recording twice and comparing); the Go test does not compare
# them. Everything else was the same in both recordings.
UNSTABLE = {
    "engine/test_error_handling.py:683/wf": {
        "output": "output.result prints a Python dict whose key order changes from run to run"},
    "engine/test_join.py:571/main": {
        "output": "the join merges two branches whose contexts both hold var_c; which one wins follows the order Mistral merges them in, by random task ids (0 and 1 came up three times each in six runs)"},
    "engine/test_merge_strategy.py:205/wf": {
        "output": "output.result prints the join's context, whose key order follows the order the branches arrived in"},
    "engine/test_policies.py:1645/wf1": {
        "output": "timeout: 1 on std.sleep seconds=2: the task timeout and the action's own deadline race, and output.result names the winner"},
}

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def norm_ids(s):
    return UUID.sub("<id>", s) if isinstance(s, str) else s


def dedent(text):
    """Inline texts are Python strings, some indented with the code."""
    lines = text.split("\n")
    head = []
    while lines and lines[0].strip() in ("", "---"):
        head.append(lines.pop(0).strip())
    return "\n".join(head) + "\n" + textwrap.dedent("\n".join(lines)).strip("\n") + "\n"


def workflows_of(doc):
    if not isinstance(doc, dict):
        return None, {}
    if "workflows" in doc or "actions" in doc or ("name" in doc and isinstance(doc.get("name"), str)):
        wfs = doc.get("workflows") or {}
        return "workbook", {k: v for k, v in wfs.items() if isinstance(v, dict)}
    wfs = {k: v for k, v in doc.items() if k not in ("version", "description", "tags")}
    if not all(isinstance(v, dict) and "tasks" in v for v in wfs.values()):
        return None, wfs
    return "workflows", wfs


def why_not(text, doc, wfs):
    """The reason a definition needs more than the std actions, or None."""
    reasons = set()
    for wf in wfs.values():
        for ts in (wf.get("tasks") or {}).values():
            if not isinstance(ts, dict):
                continue
            if "workflow" in ts:
                reasons.add("runs a sub-workflow")
            a = ts.get("action")
            if a is None:
                continue
            if not isinstance(a, str):
                reasons.add("action is not a string")
                continue
            name = a.split()[0] if a.split() else ""
            if name not in STD_ACTIONS:
                reasons.add("action %s" % name)
    if "env()" in text:
        reasons.add("reads env() (needs an environment)")
    return "; ".join(sorted(reasons)) or None


def rename(text, kind, names, prefix):
    """Prefix the workflow names (or the workbook name) at column 0."""
    if kind == "workbook":
        out, n = re.subn(r"(?m)^name:(\s*)(['\"]?)([A-Za-z0-9_.-]+)\2", lambda m: "name:%s%s%s%s%s" % (m.group(1), m.group(2), prefix, m.group(3), m.group(2)), text, count=1)
        return out if n == 1 else None
    out = text
    for nm in names:
        out, n = re.subn(r"(?m)^(['\"]?)%s\1:" % re.escape(nm), lambda m: "%s%s%s%s:" % (m.group(1), prefix, nm, m.group(1)), out, count=1)
        if n != 1:
            return None
    return out


def select(corpus_dir, inline_file):
    import os
    sources = []
    for f in sorted(os.listdir(corpus_dir)):
        if f.endswith(".yaml"):
            with open(os.path.join(corpus_dir, f)) as fh:
                sources.append(("corpus/" + f, fh.read()))
    with open(inline_file) as fh:
        for x in json.load(fh):
            short = x["file"].split("/tests/unit/")[-1]
            sources.append(("%s:%d" % (short, x["line"]), x["text"], x["name"]))
    cases, skipped, seen = [], [], {}
    for s in sources:
        src, text = s[0], s[1]
        label = s[2] if len(s) > 2 else ""
        body = dedent(re.sub(r"(?m)^#.*\n", "", text) if src.startswith("corpus/") else text)
        key = re.sub(r"\s+", " ", body).strip()
        if key in seen:
            skipped.append({"source": src, "name": label, "reason": "same text as " + seen[key]})
            continue
        seen[key] = src
        try:
            doc = yaml.safe_load(body)
        except yaml.YAMLError as e:
            skipped.append({"source": src, "name": label, "reason": "not YAML as written (a Python template or a deliberate syntax error): " + str(e).split("\n")[0]})
            continue
        if re.search(r"\{[a-z_0-9]+\}", body) and "{{" not in body:
            skipped.append({"source": src, "name": label, "reason": "a Python format template ({placeholder}), filled by the test"})
            continue
        if not isinstance(doc, dict) or str(doc.get("version")) not in ("2.0", "2"):
            skipped.append({"source": src, "name": label, "reason": "not a v2 workflow or workbook document"})
            continue
        kind, wfs = workflows_of(doc)
        if kind is None or not wfs:
            skipped.append({"source": src, "name": label, "reason": "no workflows (ad-hoc actions only)"})
            continue
        reason = why_not(body, doc, wfs)
        if reason and not src.startswith("corpus/"):
            skipped.append({"source": src, "name": label, "reason": reason})
            continue
        n = len(cases) + len(skipped)
        prefix = "c%03d_" % n
        renamed = rename(body, kind, list(wfs), prefix)
        if renamed is None or yaml.safe_load(renamed) is None:
            skipped.append({"source": src, "name": label, "reason": "workflow names could not be prefixed"})
            continue
        wbname = doc.get("name") if kind == "workbook" else None
        for wn, wf in wfs.items():
            full = (prefix + wbname + "." + wn) if kind == "workbook" else prefix + wn
            variants = INPUTS.get((src, wn), "default")
            if variants is None:
                continue
            if variants == "default":
                required = [i for i in (wf.get("input") or []) if isinstance(i, str)]
                if required:
                    skipped.append({"source": src, "name": label, "workflow": wn, "reason": "needs input %s and the test gives none" % required})
                    continue
                params = {}
                if wf.get("type") == "reverse":
                    # the test names the target; without it, every task
                    # without dependants would be ambiguous: skip
                    skipped.append({"source": src, "name": label, "workflow": wn, "reason": "reverse workflow whose test gives no task_name"})
                    continue
                variants = [V()]
            for i, v in enumerate(variants):
                cid = "%s/%s" % (src, wn) + ("#%d" % (i + 1) if len(variants) > 1 else "")
                cases.append({
                    "unstable": UNSTABLE.get(cid, {}),
                    "id": cid, "source": src, "name": label, "kind": kind,
                    "definition": renamed, "workflow": full,
                    "input": v["input"], "params": v["params"], "why": v["why"],
                    "needs": reason or "",
                })
    return cases, skipped


PREFIX = re.compile(r"x\d{3}_")
RUN_LINE = re.compile(r"(?m)^#\s*run:\s*(\{.*\})\s*$")
UNSTABLE_LINE = re.compile(r"(?m)^#\s*unstable-output:\s*(.+?)\s*$")


def rename_refs(text, names, prefix):
    """In a document of several workflows, prefix the names a task's
    `workflow:` names too, so that a parent finds its renamed child (a
    workbook needs nothing: its workflows find each other by short name)."""
    alt = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.sub(r"(?m)^(\s+workflow:\s*)(['\"]?)(%s)(?=['\"\s]|$)" % alt,
                  lambda m: m.group(1) + m.group(2) + prefix + m.group(3), text)


def select_extra(extra_dir, prefixes=None):
    """The workflows of extra_dir, one document a file. Comment lines at
    column 0 are dropped from the definition; among them, each
    `# run: {"input": ..., "params": ..., "workflow": ..., "why": ...}`
    is one case (workflow defaults to the document's only workflow, or
    to "main"), and `# unstable-output: reason` marks the output as not
    compared. Names are prefixed with "x<number>_" so that these cases
    and the others can share one server. prefixes maps a source already
    recorded to its prefix, which it keeps (mismatch reasons and recorded
    error texts name the prefixed workflows); other files take the next
    free numbers in the order of their names."""
    import os
    cases, skipped = [], []
    prefixes = dict(prefixes or {})
    files = sorted(f for f in os.listdir(extra_dir) if f.endswith(".yaml"))
    taken = {int(p[1:4]) for p in prefixes.values()}
    free = (n for n in range(1000) if n not in taken)
    for f in files:
        src = "extra/" + f
        if src not in prefixes:
            prefixes[src] = "x%03d_" % next(free)
        with open(os.path.join(extra_dir, f)) as fh:
            text = fh.read()
        runs = [json.loads(m) for m in RUN_LINE.findall(text)]
        unstable = {"output": m for m in UNSTABLE_LINE.findall(text)}
        body = re.sub(r"(?m)^#.*\n", "", text)
        doc = yaml.safe_load(body)
        kind, wfs = workflows_of(doc)
        if kind is None or not wfs or not runs:
            raise SystemExit("%s: no workflows, or no '# run:' line" % src)
        prefix = prefixes[src]
        renamed = rename(body, kind, list(wfs), prefix)
        if renamed is None:
            raise SystemExit("%s: workflow names could not be prefixed" % src)
        if kind == "workflows":
            renamed = rename_refs(renamed, list(wfs), prefix)
        wbname = doc.get("name") if kind == "workbook" else None
        per_wf = {}
        for r in runs:
            wn = r.get("workflow") or (list(wfs)[0] if len(wfs) == 1 else "main")
            if wn not in wfs:
                raise SystemExit("%s: no workflow %s" % (src, wn))
            per_wf.setdefault(wn, []).append(r)
        for wn, variants in per_wf.items():
            full = (prefix + wbname + "." + wn) if kind == "workbook" else prefix + wn
            for i, v in enumerate(variants):
                cid = "%s/%s" % (src, wn) + ("#%d" % (i + 1) if len(variants) > 1 else "")
                cases.append({
                    "unstable": unstable, "id": cid, "source": src, "name": "",
                    "kind": kind, "definition": renamed, "workflow": full,
                    "input": v.get("input") or {}, "params": v.get("params") or {},
                    "why": v.get("why", ""), "needs": "",
                })
    return cases, skipped


class API:
    def __init__(self, base):
        self.base = base.rstrip("/")

    def req(self, method, path, body=None, ctype="application/json"):
        data = None
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        r = urllib.request.Request(self.base + path, data=data, method=method)
        r.add_header("Content-Type", ctype)
        # Mistral answers 406 to "Accept: application/json" on its text/plain
        # endpoints (POST /v2/workflows), so accept anything.
        r.add_header("Accept", "*/*")
        try:
            with urllib.request.urlopen(r, timeout=120) as resp:
                raw = resp.read().decode()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raw = e.read().decode()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, raw


def jload(v):
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def err_text(body):
    """The first line of the message, ids removed, at most MAX_ERROR long
    (Mistral appends whole JSON schemas to some)."""
    if isinstance(body, dict):
        body = body.get("faultstring") or body.get("detail") or json.dumps(body)
    text = norm_ids(str(body)).strip().split("\n")[0]
    return text[:MAX_ERROR]


def create(api, c):
    """Upload a case's definition; cases that share one upload it once."""
    path = "/workbooks" if c["kind"] == "workbook" else "/workflows"
    st, body = api.req("POST", path, c["definition"], "text/plain")
    if st >= 300:
        return {"status": st, "error": err_text(body)}
    return None


def run_case(api, c, created):
    rec = {}
    t0 = time.time()
    if created is not None:
        rec["create"] = created
        return rec
    st, body = api.req("POST", "/executions", {
        "workflow_name": c["workflow"], "input": json.dumps(c["input"]), "params": json.dumps(c["params"])})
    if st >= 300:
        rec["start"] = {"status": st, "error": err_text(body)}
        return rec
    ex_id = body["id"]
    completed = 0
    while True:
        st, ex = api.req("GET", "/executions/" + ex_id)
        if ex["state"] not in ("RUNNING", "IDLE"):
            break
        if time.time() - t0 > DEADLINE_S:
            rec["timed_out"] = True
            break
        _, tasks = api.req("GET", "/executions/%s/tasks" % ex_id)
        for t in tasks["tasks"]:
            if t["state"] != "RUNNING":
                continue
            _, aes = api.req("GET", "/tasks/%s/action_executions" % t["id"])
            for ae in aes.get("action_executions", []):
                if ae["name"] == "std.async_noop" and ae["state"] == "RUNNING":
                    s, _ = api.req("PUT", "/action_executions/" + ae["id"], {"state": "SUCCESS", "output": ASYNC_OUTPUT})
                    if s < 300:
                        completed += 1
        time.sleep(0.2)
    # Mistral goes on writing for a moment after the state changes.
    time.sleep(0.5)
    _, ex = api.req("GET", "/executions/" + ex_id)
    _, tasks = api.req("GET", "/executions/%s/tasks" % ex_id)
    out = []
    for t in tasks["tasks"]:
        _, full = api.req("GET", "/tasks/" + t["id"])
        e = {"name": t["name"], "state": t["state"], "published": jload(t["published"]),
             "state_info": norm_ids(t["state_info"])}
        res = full.get("result") if isinstance(full, dict) else None
        if res is not None and len(res) <= MAX_RESULT:
            e["result"] = norm_ids(jload(res))
        out.append(e)
    out.sort(key=lambda e: (e["name"], json.dumps(e, sort_keys=True)))
    rec.update({"state": ex["state"], "state_info": norm_ids(ex["state_info"]),
                "output": norm_ids(jload(ex.get("output") or "{}")), "tasks": out,
                "async_completed": completed, "seconds": round(time.time() - t0, 1)})
    return rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus")
    ap.add_argument("--inline")
    ap.add_argument("--extra")
    ap.add_argument("--url", required=True)
    ap.add_argument("--out", default="mistral15.json")
    ap.add_argument("--only", default="")
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--merge", action="store_true",
                    help="with --extra: keep the cases already in --out, record the new ones (and those --only names)")
    a = ap.parse_args()
    kept, old_skipped = [], []
    if a.merge:
        if not a.extra:
            ap.error("--merge goes with --extra")
        try:
            with open(a.out) as fh:
                old = json.load(fh)
        except FileNotFoundError:
            old = {"cases": [], "skipped": []}
        kept, old_skipped = old["cases"], old.get("skipped", [])
    if a.extra:
        prefixes = {c["source"]: PREFIX.match(c["workflow"]).group(0) for c in kept}
        cases, skipped = select_extra(a.extra, prefixes)
    elif a.corpus and a.inline:
        cases, skipped = select(a.corpus, a.inline)
    else:
        ap.error("give --corpus and --inline, or --extra")
    if a.merge:
        # Record what is not recorded yet, and what --only names again;
        # keep the rest as it was, and drop the cases of deleted files.
        now = {c["id"] for c in cases}
        old_ids = {c["id"] for c in kept}
        cases = [c for c in cases if c["id"] not in old_ids or (a.only and a.only in c["id"])]
        redo = {c["id"] for c in cases}
        kept = [c for c in kept if c["id"] in now and c["id"] not in redo]
        skipped = old_skipped + [s for s in skipped if s not in old_skipped]
    elif a.only:
        cases = [c for c in cases if a.only in c["id"]]
    api = API(a.url)
    created = {}
    for c in cases:
        if c["definition"] not in created:
            created[c["definition"]] = create(api, c)
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
        futs = {pool.submit(run_case, api, c, created[c["definition"]]): c for c in cases}
        for f in concurrent.futures.as_completed(futs):
            c = futs[f]
            try:
                c["mistral"] = f.result()
            except Exception as e:  # a harness error is recorded, not hidden
                c["mistral"] = {"harness_error": repr(e)}
            m = c["mistral"]
            print("%-70s %s" % (c["id"], m.get("state") or m.get("create") or m.get("start") or m), file=sys.stderr)
    cases = kept + cases
    cases.sort(key=lambda c: c["id"])
    doc = {
        "mistral": "OpenStack Mistral 15.0.0 (Debian python3-mistral 15.0.0-1+deb12u1), one process, SQLite, executor remote over the fake transport",
        "recorded_at": time.strftime("%Y-%m-%d"),
        "async_rule": "a RUNNING std.async_noop action execution is completed with PUT /v2/action_executions/{id} state SUCCESS, output " + ASYNC_OUTPUT,
        "task_order": "tasks sorted by name, then by the entry's JSON",
        "cases": cases,
        "skipped": skipped,
    }
    with open(a.out, "w") as fh:
        json.dump(doc, fh, indent=1, sort_keys=True)
        fh.write("\n")


if __name__ == "__main__":
    main()
