"""Which of minigen's argument checks some test makes raise: the bad-input tests' reach.

    python benchmarks/checks_fired.py                 # the whole suite (about 7 minutes on 2 cores)
    python benchmarks/checks_fired.py tests/sample    # some tests only
    python benchmarks/checks_fired.py --list          # and every check that no test makes raise

It runs pytest (and every Python process the tests start) under a tracer that records,
for each frame in ``minigen/``, the line where an argument error (check_share's
``ARGUMENT_ERRORS``) was raised or passed through. A check statement, as
``check_share.py`` counts them (a rule call, or an ``if`` that always raises; ``rules.py``
itself aside), has fired when one of its lines
is among them. A check no test fires is either untested or cannot fail.

The result is also written to ``benchmarks/results/checks_fired.json``.
"""

from __future__ import annotations

import argparse
import ast
import glob
import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime, timezone

import check_share
from results_io import write_result

HOOK = '''
import atexit, json, os, sys, threading
PKG = os.path.join(os.environ["CHECKS_FIRED_ROOT"], "minigen") + os.sep
ERRORS = set(os.environ["CHECKS_FIRED_ERRORS"].split(","))
seen = set()

def local(frame, event, arg):
    if event == "exception" and arg[0].__name__ in ERRORS:
        seen.add((frame.f_code.co_filename, frame.f_lineno))
    return local

def tracer(frame, event, arg):
    name = frame.f_code.co_filename
    if isinstance(name, str) and name.startswith(PKG):
        frame.f_trace_lines = False                     # exceptions only: the suite runs about 1.1x slower
        return local
    return None

sys.settrace(tracer)
threading.settrace(tracer)

@atexit.register
def dump():
    with open(os.path.join(os.environ["CHECKS_FIRED_OUT"], f"{os.getpid()}.json"), "w") as f:
        json.dump(sorted(seen), f)
'''


def run_traced(pytest_args: list[str]) -> set[tuple[str, int]]:
    """(file, line) of every minigen frame an argument error passed through while the tests ran."""
    with tempfile.TemporaryDirectory() as tmp:
        hooks, out = os.path.join(tmp, "hooks"), os.path.join(tmp, "out")
        os.makedirs(hooks), os.makedirs(out)
        with open(os.path.join(hooks, "sitecustomize.py"), "w") as f:       # every Python process loads it
            f.write(HOOK)
        env = dict(os.environ, CHECKS_FIRED_ROOT=check_share.ROOT, CHECKS_FIRED_OUT=out,
                   CHECKS_FIRED_ERRORS=",".join(sorted(check_share.ARGUMENT_ERRORS)),
                   PYTHONPATH=os.pathsep.join(filter(None, [hooks, os.environ.get("PYTHONPATH")])))
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args],
                       cwd=check_share.ROOT, env=env, check=False)
        fired = set()
        for path in glob.glob(os.path.join(out, "*.json")):
            with open(path) as f:
                fired |= {(name, line) for name, line in json.load(f)}
        return fired


def check_statements() -> list[tuple[str, int, int, int]]:
    """(file, first line, last line, check lines) of each check statement outside rules.py.

    The other lines of a ``check_*`` function (``path = os.path.abspath(out)``) count as
    check lines in check_share.py but are no statement that raises, so they are not here."""
    rules, found = check_share.rule_names(), []
    for path in sorted(glob.glob(os.path.join(check_share.PACKAGE, "**", "*.py"), recursive=True)):
        if path == check_share.RULES:
            continue
        with open(path) as f:
            source = f.read()
        tree = ast.parse(source)
        lines = check_share.check_lines(tree, rules) & check_share.code_lines(source, tree)
        taken = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and check_share._only_raises(node.body, rules):
                last = node.body[-1].end_lineno
            elif isinstance(node, (ast.Expr, ast.Assign, ast.AnnAssign, ast.Return)) and \
                    check_share._calls_rule(node, rules):
                last = node.end_lineno
            else:
                continue
            span = set(range(node.lineno, last + 1))
            if span & taken:
                continue
            taken |= span
            found.append((path, node.lineno, last, len(span & lines)))
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list the checks that no test makes raise")
    args, pytest_args = parser.parse_known_args(argv)
    fired = run_traced(pytest_args)
    statements = check_statements()
    hit = [s for s in statements if any((s[0], n) in fired for n in range(s[1], s[2] + 1))]
    missed = [s for s in statements if s not in hit]
    lines, hit_lines = sum(s[3] for s in statements), sum(s[3] for s in hit)
    print(f"check statements some test makes raise: {len(hit)} of {len(statements)} "
          f"({len(hit) / len(statements):.0%}); their check lines: {hit_lines} of {lines} ({hit_lines / lines:.0%})")
    if args.list:
        for path, first, _, _ in missed:
            with open(path) as f:
                text = f.read().splitlines()[first - 1].strip()
            print(f"  {os.path.relpath(path, check_share.ROOT)}:{first}  {text[:100]}")
    result = {"statements": len(statements), "fired": len(hit), "check_lines": lines, "fired_lines": hit_lines,
              "tests": pytest_args or ["(the whole suite)"], "date": datetime.now(timezone.utc).strftime("%Y-%m-%d")}
    write_result("checks_fired", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
