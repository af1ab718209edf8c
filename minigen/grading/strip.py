"""Solution regions: find them, number the exercises they belong to, and strip them.

A lesson's reference solutions sit between two marker lines, as in nbgrader::

    def lstm_step_backward(dh, dc, cache):
        x, h_prev, ... = cache
        ### BEGIN SOLUTION
        do = dh * tanh_c
        ...
        ### END SOLUTION

The student version replaces each region, markers included, with a stub at the
marker's indentation::

        # YOUR CODE HERE
        raise NotImplementedError("L05.3: implement lstm_step_backward")

Everything outside the regions is kept byte for byte. An exercise is the top-level
function (or ``Class.method``) that holds one or more regions; exercises are
numbered ``L<lesson>.<k>`` in the order they first appear in the file.

Markers must be whole lines, must not nest, must close at the indentation they
opened with, and must sit inside a function (the grader calls functions). Anything
else is rejected with a ``MarkerError`` that names the line.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

__all__ = ["BEGIN", "END", "MarkerError", "Region", "Exercise", "find_regions", "find_exercises",
           "strip_solutions"]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
_NEAR_MISS = re.compile(r"#+\s*(BEGIN|END)\s+SOLUTION", re.IGNORECASE)
_NESTED = "{!r} inside the region opened at line {}; regions do not nest (close it with {!r} first)"
_INDENTED = "{!r} is indented differently from its {!r} at line {}; put both markers at the same indentation"
_MALFORMED = "malformed marker {!r}; write exactly {!r} or {!r} on a line of its own"
_OUTSIDE_A_FUNCTION = ("a solution region must sit inside a function or method "
                       "(the grader calls functions, it does not run the lesson)")


class MarkerError(ValueError):
    """A lesson's solution markers are malformed; ``line`` is the 1-based line to fix."""

    def __init__(self, path, line, message):
        super().__init__(f"{path}, line {line}: {message}")
        self.path, self.line = path, line


@dataclass
class Region:
    begin: int            # 1-based line of "### BEGIN SOLUTION"
    end: int              # 1-based line of "### END SOLUTION"
    indent: str           # the markers' leading whitespace


@dataclass
class Exercise:
    id: str               # "L05.3"
    function: str         # "lstm_step_backward", or "Value.__mul__" for a method
    lineno: int           # where the function is defined
    regions: list = field(default_factory=list)


def find_regions(text: str, path: str = "<lesson>") -> list:
    """Every solution region in ``text``, validated (see the module docstring)."""
    regions, open_at, open_indent = [], None, ""
    for n, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        indent = line[:len(line) - len(line.lstrip())]
        if stripped == BEGIN:
            if open_at is not None:
                raise MarkerError(path, n, _NESTED.format(BEGIN, open_at, END))
            open_at, open_indent = n, indent
        elif stripped == END:
            if open_at is None:
                raise MarkerError(path, n, f"{END!r} without a {BEGIN!r} before it")
            if indent != open_indent:
                raise MarkerError(path, n, _INDENTED.format(END, BEGIN, open_at))
            regions.append(Region(open_at, n, open_indent))
            open_at = None
        elif stripped.startswith("#") and _NEAR_MISS.match(stripped):
            raise MarkerError(path, n, _MALFORMED.format(stripped, BEGIN, END))
    if open_at is not None:
        raise MarkerError(path, open_at, f"{BEGIN!r} has no matching {END!r}")
    return regions


def _last_line(lines, node):
    """The function's last line, counting comments indented under it (a closing END marker)."""
    last, indent = node.end_lineno, node.col_offset
    for n in range(node.end_lineno + 1, len(lines) + 1):
        line = lines[n - 1]
        if not line.strip():
            continue
        if line.lstrip().startswith("#") and len(line) - len(line.lstrip()) > indent:
            last = n
            continue
        break
    return last


def _functions(tree, lines):
    """(qualified name of the exercise, first line, last line) for every top-level def and method."""
    out = []

    def visit(body, prefix):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                out.append((prefix + node.name, start, _last_line(lines, node)))
            elif isinstance(node, ast.ClassDef):
                visit(node.body, prefix + node.name + ".")
    visit(tree.body, "")
    return out


def find_exercises(text: str, lesson: str, path: str = "<lesson>") -> list:
    """The exercises of a lesson file: one per function holding solution regions.

    ``lesson`` is the lesson's number as a string (``"05"``); ids are ``L05.1``, ...

    >>> src = "def f(x):\\n    ### BEGIN SOLUTION\\n    return 2 * x\\n    ### END SOLUTION\\n"
    >>> [(e.id, e.function) for e in find_exercises(src, "05")]
    [('L05.1', 'f')]
    """
    regions = find_regions(text, path)
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as e:
        raise MarkerError(path, e.lineno or 0, f"the reference solution does not parse: {e.msg}") from None
    functions = _functions(tree, text.splitlines())
    exercises = {}
    for r in regions:
        owner = [f for f in functions if f[1] < r.begin and r.end <= f[2]]
        if not owner:
            raise MarkerError(path, r.begin, _OUTSIDE_A_FUNCTION)
        name, lineno, _ = owner[0]
        if name not in exercises:
            exercises[name] = Exercise(f"L{lesson}.{len(exercises) + 1}", name, lineno)
        exercises[name].regions.append(r)
    return list(exercises.values())


def strip_solutions(text: str, lesson: str, path: str = "<lesson>") -> str:
    """The student version of ``text``: each solution region replaced by a stub.

    >>> src = "def f(x):\\n    if x:\\n        ### BEGIN SOLUTION\\n        return 2 * x\\n        ### END SOLUTION\\n"
    >>> print(strip_solutions(src, "05"), end="")
    def f(x):
        if x:
            # YOUR CODE HERE
            raise NotImplementedError("L05.1: implement f")
    """
    exercises = find_exercises(text, lesson, path)
    stub_at = {r.begin: (r, ex) for ex in exercises for r in ex.regions}
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    out, skip_to = [], 0
    for n, line in enumerate(lines, start=1):
        if n <= skip_to:
            continue
        if n in stub_at:
            r, ex = stub_at[n]
            out.append(f"{r.indent}# YOUR CODE HERE{newline}")
            out.append(f'{r.indent}raise NotImplementedError("{ex.id}: implement {ex.function}"){newline}')
            skip_to = r.end
            continue
        out.append(line)
    stripped = "".join(out)
    try:
        ast.parse(stripped, filename=path)
    except SyntaxError as e:  # pragma: no cover - find_regions' rules should prevent this
        raise MarkerError(path, e.lineno or 0, f"the student version would not parse: {e.msg}") from None
    return stripped
