"""The grader's worker: one process per lesson, so that a student's crash or endless
loop cannot take the grader down with it.

``python -m minigen.grading.worker`` reads a JSON job on stdin::

    {"student": "handout/05_lstm.py", "check_files": [...],
     "exercises": [{"id": "L05.1", "function": "sigmoid"}, ...], "skip": ["L05.1"]}

and writes one JSON object per line to its original stdout (the student's own
prints go to stderr):

- ``{"event": "plan", "max_points": {"L05.1": 2, ...}}`` once the checks are loaded;
- ``{"event": "load_error", "diagnosis": ...}`` if the student's file does not load;
- ``{"event": "start", "id": ...}`` before each exercise, then
  ``{"event": "result", "id": ..., "points": ..., "checks": [...]}``.

The parent (``grader.py``) kills the worker when an exercise runs past its time
limit, and starts a new one for the exercises that remain.

The student's file is not run as a script. Only its imports, function and class
definitions, and assignments of literal constants are executed, so that the
lesson's experiments (training, plots) do not run during grading.
"""

from __future__ import annotations

import ast
import json
import os
import sys
import traceback
from pathlib import Path

from .checks import CheckFailure, load_module

KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class StudentError(Exception):
    """Something about the student's file itself (a missing definition, a load failure)."""


class Student:
    """The definitions of a student's lesson file, as attributes; a missing one is explained."""

    def __init__(self, namespace, filename):
        self._ns, self._filename = namespace, filename

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._ns[name]
        except KeyError:
            raise StudentError(f"{self._filename} defines no `{name}`: keep the name and the signature "
                               "that the lesson gives") from None


def _is_literal_assign(node):
    if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
        return False
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    if not all(isinstance(t, ast.Name) for t in targets):      # `L.grad = 1.0` needs code that is not run
        return False
    try:
        ast.literal_eval(node.value)
        return True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False


def load_student(path: Path) -> Student:
    """Execute the definitions of the student's file (not its experiments) in a fresh namespace."""
    source = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as e:
        line = (e.text or "").strip()
        raise StudentError(f"{path.name} has a syntax error at line {e.lineno}: {e.msg}"
                           + (f": `{line}`" if line else "")) from None
    kept = [n for n in tree.body
            if isinstance(n, KEPT) or _is_literal_assign(n)
            or (isinstance(n, ast.Expr) and isinstance(getattr(n, "value", None), ast.Constant))]
    skipped = {t.id for n in tree.body if n not in kept and isinstance(n, (ast.Assign, ast.AnnAssign))
               for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)}
    tree.body = kept
    namespace = {"__name__": f"student_{path.stem}", "__file__": str(path)}
    exec(compile(tree, str(path), "exec"), namespace)
    global SKIPPED
    SKIPPED = skipped
    return Student(namespace, path.name)


SKIPPED = set()      # top-level names the lesson assigns but the grader does not run


def _resolve(student, qualname):
    obj = student
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise StudentError(f"{student._filename} defines no `{qualname}`: keep the name and the "
                               "signature that the lesson gives") from None
    return obj


def describe_exception(exc: BaseException, student_file: str, exercise_function: str) -> str:
    """A one-paragraph diagnosis of an exception raised while checking an exercise."""
    if isinstance(exc, StudentError):
        return str(exc)
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if os.path.abspath(f.filename) == os.path.abspath(student_file)]
    name = os.path.basename(student_file)
    kind = type(exc).__name__
    text = str(exc)
    if isinstance(exc, NotImplementedError) and mine:
        where = mine[-1].name
        if where == exercise_function.split(".")[-1] or text.endswith(f"implement {exercise_function}"):
            return f"not implemented yet ({text or 'NotImplementedError'})"
        return f"this check needs `{where}`, which is not implemented yet ({text or 'NotImplementedError'})"
    if mine:
        f = mine[-1]
        code = f" `{f.line.strip()}`" if f.line else ""
        hint = ""
        if isinstance(exc, NameError) and getattr(exc, "name", None) in SKIPPED:
            hint = (f". The grader runs only your imports, functions, classes and constants, not the lesson's "
                    f"other top-level code, so `{exc.name}` does not exist there: create it inside the function")
        return f"{f.name} raised {kind}: {text} ({name}, line {f.lineno}:{code}){hint}"
    return (f"the check could not use what {exercise_function} returned: {kind}: {text}. Does it return "
            "what the lesson's docstring asks for, in that order?")


def _emit(channel, **event):
    channel.write(json.dumps(event) + "\n")
    channel.flush()


def _load_checks(files):
    checks = []
    for k, file in enumerate(files):
        module = load_module(file, f"minigen_checks_{k}_{Path(file).stem}")
        found = [v for v in vars(module).values() if callable(v) and hasattr(v, "__minigen_check__")]
        found.sort(key=lambda fn: fn.__code__.co_firstlineno)
        checks.extend(found)
    return checks


def run_exercise(student, student_file, function, checks):
    """Run every check of one exercise; returns (points, [per-check results])."""
    results, points = [], 0
    for fn in checks:
        target, worth = fn.__minigen_check__
        doc = (fn.__doc__ or fn.__name__.replace("_", " ")).strip().splitlines()[0]
        try:
            _resolve(student, function)
            fn(student)
        except CheckFailure as e:
            results.append(dict(check=doc, points=0, max_points=worth, passed=False, diagnosis=str(e)))
        except (Exception, SystemExit, RecursionError) as e:     # the student's bug, not the grader's
            results.append(dict(check=doc, points=0, max_points=worth, passed=False,
                                diagnosis=describe_exception(e, student_file, function)))
        else:
            points += worth
            results.append(dict(check=doc, points=worth, max_points=worth, passed=True, diagnosis=None))
    return points, results


def main():
    job = json.loads(sys.stdin.read())
    channel = os.fdopen(os.dup(1), "w")          # the protocol keeps the real stdout ...
    os.dup2(2, 1)                                # ... and the student's prints go to stderr
    sys.stdout = sys.stderr
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ["MINIGEN_QUICK"] = "1"
    checks = _load_checks(job["check_files"])
    by_function = {}
    for fn in checks:
        by_function.setdefault(fn.__minigen_check__[0], []).append(fn)
    _emit(channel, event="plan", max_points={
        ex["id"]: sum(fn.__minigen_check__[1] for fn in by_function.get(ex["function"], []))
        for ex in job["exercises"]})
    student_file = job["student"]
    try:
        student = load_student(Path(student_file))
    except BaseException as e:  # noqa: BLE001 - anything the student's file does while loading
        diagnosis = describe_exception(e, student_file, "the lesson file")
        if not isinstance(e, StudentError) and "raised" not in diagnosis:
            diagnosis = f"{Path(student_file).name} failed to load: {type(e).__name__}: {e}"
        _emit(channel, event="load_error", diagnosis=diagnosis)
        return 0
    for ex in job["exercises"]:
        if ex["id"] in job.get("skip", []):
            continue
        _emit(channel, event="start", id=ex["id"])
        points, results = run_exercise(student, student_file, ex["function"], by_function.get(ex["function"], []))
        _emit(channel, event="result", id=ex["id"], points=points, checks=results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
