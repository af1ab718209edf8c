"""How much of minigen's code is argument checking: lines of checks / lines of code.

    python benchmarks/check_share.py            # the share, per package
    python benchmarks/check_share.py --files    # and the files with the most check lines

A line of code is a line with a token that is not a comment or a docstring. A line
counts as a check when it belongs to:
- ``minigen/rules.py``, the module of argument rules (all of it);
- an ``if`` whose body only builds and raises an argument error (``if bad: raise ValueError(...)``,
  or ends by calling ``rules.fail``); an ``if`` whose body may go on is control flow, and only the
  rule calls inside it count;
- an ``assert``;
- a statement that calls one of the rules that can raise (``n = rules.positive_int("fn", "n", n)``;
  not helpers such as ``rules.describe`` or ``rules.array_of``), wherever in the statement the call sits
  (``[rules.real(fn, "t", t) for t in ts]`` counts);
- a function whose name says it checks (``check_*``, ``_check*``, ``validate*``, ``_validate*``)
  and that raises an argument error.

An argument error is one of ``ARGUMENT_ERRORS`` (ValueError, TypeError, IndexError and
the like). Errors that are not about a caller's arguments are not counted: a grader's
verdict on a student's answer (``CheckFailure``), a malformed message from another
process (``WireError``), or a state error (``RuntimeError``).

The result is also written to ``benchmarks/results/check_share.json``.
"""

from __future__ import annotations

import argparse
import ast
import io
import os
import sys
import tokenize
from datetime import datetime, timezone

from results_io import write_result

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "minigen")
RULES = os.path.join(PACKAGE, "rules.py")
CHECK_PREFIXES = ("check_", "_check", "validate", "_validate")
ARGUMENT_ERRORS = {"ValueError", "TypeError", "IndexError", "KeyError", "NotImplementedError", "OverflowError",
                   "FileNotFoundError", "FileExistsError", "IsADirectoryError", "NotADirectoryError",
                   "CheckpointError", "MarkerError"}


def code_lines(source: str, tree: ast.AST) -> set[int]:
    """Line numbers holding a token other than a comment, a newline or a docstring."""
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                            tokenize.ENDMARKER):
            lines.update(range(tok.start[0], tok.end[0] + 1))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and \
                    isinstance(first.value.value, str):
                lines.difference_update(range(first.lineno, first.end_lineno + 1))
    return lines


def rule_names() -> set[str]:
    """The functions of rules.py that check (raise, or call one that does); not helpers such as ``describe``."""
    with open(RULES) as f:
        tree = ast.parse(f.read())
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    checking = {name for name, n in functions.items() if any(isinstance(x, ast.Raise) for x in ast.walk(n))}
    while True:
        more = {name for name, n in functions.items() if name not in checking and any(
            isinstance(x, ast.Call) and isinstance(x.func, ast.Name) and x.func.id in checking for x in ast.walk(n))}
        if not more:
            return checking
        checking |= more


def _calls_rule(node: ast.AST, rules: set[str]) -> bool:
    value = getattr(node, "value", None)
    if isinstance(node, (ast.Expr, ast.Assign, ast.AnnAssign, ast.Return)) and value is not None:
        calls = [v for v in ast.walk(value) if isinstance(v, ast.Call)]    # inside comprehensions and calls too
        for call in calls:
            f = call.func
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "rules" \
                    and f.attr in rules:
                return True
    return False


def _argument_error(node: ast.AST, rules: set[str]) -> bool:
    """A ``raise`` of an argument error, or a call of a rule (``rules.fail(...)``)."""
    if isinstance(node, ast.Raise) and node.exc is not None:
        exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        name = exc.attr if isinstance(exc, ast.Attribute) else getattr(exc, "id", None)
        return name in ARGUMENT_ERRORS
    return _calls_rule(node, rules)


def _only_raises(body: list[ast.stmt], rules: set[str]) -> bool:
    """The body builds a message and always ends by raising it: ``what = ...; raise ValueError(...)``.

    A body that may go on (``if mask is not None: m = rules.array_of(mask); rules.require(...)``)
    is not one: its rule calls count one by one, its other statements (``procs.append(...)``) are code.
    """
    last = body[-1]
    ends_raising = isinstance(last, ast.Raise) or isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) \
        and isinstance(last.value.func, ast.Attribute) and last.value.func.attr == "fail"
    return ends_raising and _argument_error(last, rules) and \
        all(isinstance(s, (ast.Raise, ast.Assign, ast.Expr, ast.AnnAssign)) for s in body)


def check_lines(tree: ast.AST, rules: set[str]) -> set[int]:
    lines = set()

    def span(node, end=None):
        lines.update(range(node.lineno, (end or node.end_lineno) + 1))

    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith(CHECK_PREFIXES) \
                and any(_argument_error(n, rules) for n in ast.walk(node)):
            span(node)
        elif isinstance(node, ast.If) and _only_raises(node.body, rules):
            span(node, node.body[-1].end_lineno)
        elif isinstance(node, ast.Assert) or _calls_rule(node, rules):
            span(node)
    return lines


def measure() -> dict:
    rules = rule_names()
    per_package: dict[str, list[int]] = {}
    per_file = []
    for folder, _, files in os.walk(PACKAGE):
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            with open(path) as f:
                source = f.read()
            tree = ast.parse(source)
            code = code_lines(source, tree)
            checks = code if path == RULES else check_lines(tree, rules) & code
            rel = os.path.relpath(path, ROOT)
            package = rel.split(os.sep)[1] if rel.count(os.sep) > 1 else rel.split(os.sep)[1].removesuffix(".py")
            totals = per_package.setdefault(package, [0, 0])
            totals[0] += len(checks)
            totals[1] += len(code)
            per_file.append((rel, len(checks), len(code)))
    checks = sum(c for c, _ in per_package.values())
    code = sum(n for _, n in per_package.values())
    return {"check_lines": checks, "code_lines": code, "share": round(checks / code, 4),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
            "packages": {k: {"check_lines": c, "code_lines": n} for k, (c, n) in sorted(per_package.items())},
            "files": sorted(per_file, key=lambda r: -r[1])}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", action="store_true", help="also list the 25 files with the most check lines")
    args = parser.parse_args(argv)
    result = measure()
    print(f"argument checks: {result['check_lines']} of {result['code_lines']} code lines "
          f"({100 * result['share']:.1f}%)")
    for name, p in result["packages"].items():
        share = p["check_lines"] / p["code_lines"] if p["code_lines"] else 0.0
        print(f"  {name:<12} {p['check_lines']:>5} / {p['code_lines']:>5}  {100 * share:5.1f}%")
    if args.files:
        for rel, c, n in result["files"][:25]:
            print(f"  {rel:<40} {c:>4} / {n:>4}")
    write_result("check_share", {k: v for k, v in result.items() if k != "files"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
