"""Runs python-mistralclient commands for the Go test, many in one process.

Each line of stdin is a JSON array: the arguments of one `mistral` command.
For each, one line of JSON goes to stdout: {"code": exit status, "stdout",
"stderr"}. The command runs through mistralclient.shell.main, the function
the `mistral` script calls, so the client's code path is the same; only the
Python start (about a second of CPU per command) is paid once.
"""
import io
import json
import logging
import sys

from mistralclient.shell import main


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    real_out, real_err = sys.stdout, sys.stderr
    # cliff adds its log handlers to the root logger on every run.
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    sys.stdout, sys.stderr = out, err
    try:
        code = main(argv)
    except SystemExit as e:  # argparse errors, --help
        code = e.code if isinstance(e.code, int) else 1
    except Exception as e:  # noqa: BLE001 - reported to the test
        print("run_mistral: %s: %s" % (type(e).__name__, e), file=err)
        code = 255
    finally:
        sys.stdout, sys.stderr = real_out, real_err
    return {"code": code or 0, "stdout": out.getvalue(), "stderr": err.getvalue()}


for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    sys.stdout.write(json.dumps(run(json.loads(line))) + "\n")
    sys.stdout.flush()
