"""The worker: the one process that runs a student's code. It holds no checks.

The grader starts it as ``python -I`` (isolated: neither the submission folder nor
``PYTHONPATH`` nor user site-packages are on ``sys.path``) with one socket, and asks:

1. ``confine``: enter the sandbox (``sandbox.confine``), in a scratch copy of the submission;
2. ``load``: replace the minigen functions the lesson's exercises must not use with
   functions that refuse, then execute the definitions of the student's file (its
   imports, functions, classes and literal constants, not its experiments);
3. then calls of the student's functions with plain-data arguments, answered with
   plain data (``rpc``, ``wire``). The verdict on the answers is reached in the grader.
"""

from __future__ import annotations

import ast
import importlib
import os
import socket
import sys
import traceback
from pathlib import Path

from .rpc import Connection, Policy
from .sandbox import confine
from .wire import WireError

__all__ = ["Student", "StudentError", "NotAllowedError", "load_student", "lookup", "forbid", "main"]

KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class StudentError(Exception):
    """Something about the student's file itself (a missing definition, a load failure)."""


class NotAllowedError(PermissionError):
    """The student's code called a minigen function that its exercise must implement."""


class Student:
    """The definitions of a student's lesson file, as attributes; a missing one is explained."""

    def __init__(self, namespace, filename, skipped):
        self._ns, self._filename, self._skipped = namespace, filename, skipped

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
                           + (f": `{line[:120]}`" if line else "")) from None
    kept = [n for n in tree.body
            if isinstance(n, KEPT) or _is_literal_assign(n)
            or (isinstance(n, ast.Expr) and isinstance(getattr(n, "value", None), ast.Constant))]
    skipped = {t.id for n in tree.body if n not in kept and isinstance(n, (ast.Assign, ast.AnnAssign))
               for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)}
    tree.body = kept
    namespace = {"__name__": f"student_{path.stem}", "__file__": str(path)}
    exec(compile(tree, str(path), "exec"), namespace)
    return Student(namespace, path.name, skipped)


# ---------------------------------------------------------------------------- minigen's own answers

def _refuser(dotted):
    def not_allowed(*args, **kwargs):
        raise NotAllowedError(f"{dotted} is not allowed in this exercise: implement it yourself")
    not_allowed.__name__ = dotted.rsplit(".", 1)[-1]
    return not_allowed


def lookup(dotted):
    """(owner, attribute name, object) for ``package.module.name`` or ``package.module.Class.method``."""
    parts = dotted.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for part in parts[i:-1]:
            owner = getattr(owner, part)
        return owner, parts[-1], getattr(owner, parts[-1])
    raise ImportError(f"{dotted!r} names no module")


def forbid(names):
    """Replace each minigen function in ``names`` everywhere minigen binds it, before the student's file loads."""
    for dotted in names:
        owner, attr, original = lookup(dotted)
        guard = _refuser(dotted)
        setattr(owner, attr, guard)
        for mod_name, module in list(sys.modules.items()):
            if mod_name == "minigen" or mod_name.startswith("minigen."):
                for key, value in list(vars(module).items()):
                    if value is original:
                        setattr(module, key, guard)


# ---------------------------------------------------------------------------- serving the grader

class WorkerPolicy(Policy):
    """The grader may ask anything; errors carry the student's frames, warnings are recorded."""

    record_warnings = True
    catches = (BaseException,)

    def __init__(self):
        self.student_file = None

    def describe(self, exc):
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == self.student_file]
        return {"frames": [{"line": f.lineno, "func": f.name[:80], "code": (f.line or "").strip()[:160]}
                           for f in frames[-3:]]}

    def handle(self, op, target, name, args, kwargs, extra):
        if op == "confine":
            return confine(**extra)
        if op == "load":
            forbid(extra["forbidden"])
            self.student_file = str(Path(extra["file"]).resolve())
            student = load_student(Path(self.student_file))
            return student, sorted(student._skipped)
        raise PermissionError(f"unknown request {op!r}")


def main(fd: int):
    """Serve the grader on socket ``fd`` until it hangs up."""
    os.environ["MINIGEN_QUICK"] = "1"
    conn = Connection(socket.socket(fileno=fd), WorkerPolicy())
    while True:
        try:
            header, blobs = conn.peer.receive()
        except (EOFError, OSError, WireError):
            return 0
        conn._release(header.get("rel", []))
        if header.get("k") != "req":
            return 2
        conn.serve(header, blobs)
