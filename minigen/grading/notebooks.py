"""Notebook handouts and notebook submissions.

Writing a handout (``to_notebook``) goes through jupytext, an optional dependency
imported only here and only when asked for: one notebook cell per ``# %%`` cell,
outputs empty, and each exercise's definition in a code cell of its own (a lesson
cell that holds an exercise beside other code is split, in the notebook only).

Reading a submission (``read_code_cells``, ``to_source``) needs nothing but ``json``:
the file is the student's, so it is read with a size limit, checked for the shape of
an nbformat 4 notebook, and every failure is one line (a ``NotebookError``). Only the
code cells are kept; the ones that parse become one Python file, each after a
``# cell N`` line, which the confined worker loads like any lesson file. A cell that
does not parse is left out and named: it costs only the exercises it defines.
Cells are numbered from 1 at the top of the notebook, markdown cells included.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .. import rules

__all__ = ["FORMATS", "MAX_BYTES", "MAX_CODE", "NotebookError", "Source", "check_format", "to_notebook",
           "read_code_cells", "to_source"]

FORMATS = ("py", "ipynb")
MAX_BYTES = 32 * 2 ** 20          # a notebook with its outputs cleared is a few hundred kB
MAX_CODE = 4 * 2 ** 20            # characters of code in all its code cells (a lesson has about 50 kB)
_NO_JUPYTEXT = "py when jupytext is not installed (pip install jupytext)"
# what a cell that does not parse seems to define: `def f`, `class C` or `f = ...` at its left edge
_DEFINES = re.compile(r"^(?:(?:async[ \t]+def|def|class)[ \t]+([A-Za-z_]\w*)|([A-Za-z_]\w*)[ \t]*(?::[^=\n]*)?=(?!=))",
                      re.MULTILINE)
_MAGIC = re.compile(r"^([ \t]*)([%!].*)$", re.MULTILINE)      # IPython's %magic and !shell lines


class NotebookError(ValueError):
    """A submitted notebook that cannot be read: the message is the one-line diagnosis."""


def _jupytext():
    try:
        import jupytext                 # optional: only the notebook handouts need it
    except ImportError:
        return None
    return jupytext


def check_format(fn: str, name: str, fmt) -> str:
    """``fmt`` if it is a handout format this installation can write (``ipynb`` needs jupytext)."""
    fmt = rules.choice(fn, name, fmt, FORMATS)
    if fmt == "ipynb" and _jupytext() is None:
        rules.fail(fn, name, _NO_JUPYTEXT, repr(fmt))
    return fmt


# ---------------------------------------------------------------------------- writing a handout

def _pieces(source: str, exercises: set) -> list:
    """A code cell's source cut so that each top-level definition named in ``exercises`` stands alone."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return [source]
    lines = source.splitlines()
    starts = []
    for node in tree.body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        while start > 1 and lines[start - 2].startswith("#"):   # the comment lines just above go along
            start -= 1
        starts.append((start, getattr(node, "name", None) in exercises))
    if sum(alone for _, alone in starts) == 0 or len(starts) == 1:
        return [source]
    starts[0] = (1, starts[0][1])                                  # whatever opens the cell goes with its first node
    groups = []                                                    # [first line, last line] of each new cell
    for k, (start, alone) in enumerate(starts):
        end = starts[k + 1][0] - 1 if k + 1 < len(starts) else len(lines)
        if groups and not alone and not groups[-1][2]:
            groups[-1][1] = end                                    # other code stays together
        else:
            groups.append([start, end, alone])
    return [text for first, last, _ in groups if (text := "\n".join(lines[first - 1:last]).strip("\n"))]


def to_notebook(text: str, exercises=()) -> str:
    """A lesson (jupytext percent format) as notebook JSON: empty outputs, each exercise in a cell of its own.

    ``exercises`` are the exercises' function names (``"lstm_step_backward"``, ``"Value.tanh"``);
    a method stands alone through its class.
    """
    jupytext = _jupytext()
    if jupytext is None:
        rules.fail("to_notebook", "jupytext", "installed to write notebooks (pip install jupytext)", "none")
    names = {name.split(".")[0] for name in exercises}
    nb = jupytext.reads(text, fmt="py:percent")
    cells = []
    for cell in nb.cells:
        pieces = _pieces(cell.source, names) if cell.cell_type == "code" else [cell.source]
        for k, piece in enumerate(pieces):
            new = copy.deepcopy(cell)
            new.source = piece
            if len(pieces) > 1:
                new.metadata.pop("lines_to_next_cell", None)
                if k > 0 and "id" in new:
                    new["id"] = f"{cell['id'][:8]}-{k}"                # ids must stay unique
            cells.append(new)
    nb.cells = cells
    return jupytext.writes(nb, fmt="ipynb")


# ---------------------------------------------------------------------------- reading a submission

def _size(n: int) -> str:
    return f"{n / 2 ** 20:.0f} MB" if n >= 2 ** 20 else f"{n} bytes"


def _read_bytes(path: Path, limit: int) -> bytes:
    """The file's bytes: a regular file (not a link, not a pipe) of at most ``limit`` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise NotebookError(f"{path.name} could not be opened ({e.strerror or e})") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotebookError(f"{path.name} is not a regular file: hand in the notebook itself")
        if info.st_size > limit:
            raise NotebookError(f"{path.name} is {_size(info.st_size)}, more than the {_size(limit)} a notebook "
                                "may have: clear its outputs and hand it in again")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise NotebookError(f"{path.name} grew past {_size(limit)} while it was read")
    return data


def _source_text(value, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return "".join(value)
    raise ValueError(f"{where}'s source is {type(value).__name__}, not text or a list of lines")


def read_code_cells(path, limit: int = MAX_BYTES) -> list:
    """[(cell number, source)] of the code cells of the notebook at ``path``, numbered from 1 over all cells.

    The notebook is untrusted: anything but a readable nbformat 4 notebook of at most
    ``limit`` bytes raises a ``NotebookError`` whose message is one line.
    """
    path = Path(path)
    data = _read_bytes(path, limit)
    not_a_notebook = f"{path.name} is not a Jupyter notebook (nbformat 4)"
    try:
        nb = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise NotebookError(f"{not_a_notebook}: it is not UTF-8 text (byte {e.start})") from None
    except ValueError as e:
        raise NotebookError(f"{not_a_notebook}: it is not valid JSON ({str(e).splitlines()[0]})") from None
    except RecursionError:
        raise NotebookError(f"{not_a_notebook}: its JSON is nested too deeply") from None
    try:
        if not isinstance(nb, dict):
            raise ValueError(f"it holds a JSON {type(nb).__name__}, not an object")
        if type(nb.get("nbformat")) is not int or nb["nbformat"] != 4:
            raise ValueError(f"its nbformat is {rules.describe(nb.get('nbformat'))}, not 4")
        cells = nb.get("cells")
        if not isinstance(cells, list):
            raise ValueError('it has no list of "cells"')
        out = []
        for n, cell in enumerate(cells, start=1):
            if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
                raise ValueError(f'cell {n} is not an object with a "cell_type"')
            if cell["cell_type"] == "code":
                out.append((n, _source_text(cell.get("source"), f"cell {n}")))
    except ValueError as e:
        raise NotebookError(f"{not_a_notebook}: {e}") from None
    code = sum(len(text) for _, text in out)
    if code > MAX_CODE:
        raise NotebookError(f"{path.name} holds {_size(code)} of code, more than the {_size(MAX_CODE)} its code "
                            "cells may hold")
    return out


@dataclass
class Source:
    """A notebook's code cells as one Python file, and how to find a cell again from its lines."""

    text: str = ""
    where: list = field(default_factory=list)        # where[k - 1] = (cell, line in the cell) of line k of text
    broken: list = field(default_factory=list)       # (cell, line in the cell, message, code, names it defines)
    defined: dict = field(default_factory=dict)      # top-level name -> the last cell that parses and defines it

    def cell_of(self, line: int) -> tuple:
        """(cell, line in the cell) of ``line`` of ``text`` (line 0 of a cell is its ``# cell N`` marker)."""
        return self.where[line - 1] if 0 < line <= len(self.where) else (0, line)

    def syntax_error(self, name: str):
        """The syntax error that hides ``name``'s definition, as text, or None.

        That is a cell that does not parse, seems to define ``name`` (a ``def`` or ``class``
        line at its left edge) and has no cell after it that parses and defines it.
        """
        for cell, line, message, code, names in reversed(self.broken):
            if name in names and self.defined.get(name, 0) < cell:
                return _syntax_error_text(cell, line, message, code)
        return None

    def broken_cells(self) -> str:
        """'cell 7 has a syntax error at line 3: ...; cell 9 ...' for every cell left out, or ''."""
        return "; ".join(_syntax_error_text(*b[:4]) for b in self.broken)


def _defines(text: str) -> set:
    return {a or b for a, b in _DEFINES.findall(text)}


def _syntax_error_text(cell, line, message, code):
    return f"cell {cell} has a syntax error at line {line}: {message}" + (f": `{code}`" if code else "")


def _parse(source: str):
    """(tree, source) of a cell, with IPython's magic lines commented out if that is what it takes, or the error."""
    try:
        return ast.parse(source), source, None
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        error = e
    commented = _MAGIC.sub(r"\1# \2", source)
    if commented != source:
        try:
            return ast.parse(commented), commented, None
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            pass
    return None, source, error


def _describe(error, source):
    if isinstance(error, SyntaxError):
        lines = source.splitlines()
        line = error.lineno or 1
        code = lines[line - 1].strip()[:120] if 0 < line <= len(lines) else ""
        return line, error.msg, code
    if isinstance(error, ValueError):                     # source code string cannot contain null bytes
        return 1, str(error), ""
    return 1, "too deeply nested to read", ""


def to_source(cells) -> Source:
    """One Python file from ``[(cell number, source)]``: the cells that parse, in order, each after ``# cell N``."""
    parsed = []
    src = Source()
    for number, text in cells:
        tree, text, error = _parse(text)
        if tree is None:
            line, message, code = _describe(error, text)
            src.broken.append((number, line, message, code, _defines(text)))
        else:
            parsed.append((number, text, tree))
    while True:
        lines, where = [], []
        for number, text, tree in parsed:
            body = text.splitlines()
            lines += [f"# cell {number}"] + body
            where += [(number, 0)] + [(number, k) for k in range(1, len(body) + 1)]
        joined = "\n".join(lines) + "\n"
        try:
            compile(joined, "<notebook>", "exec", dont_inherit=True)     # compiled, never run: the checks of
            break                                                        # the compiler too (__future__'s place)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as e:   # `from __future__` after other code
            cell, line = where[e.lineno - 1] if isinstance(e, SyntaxError) and e.lineno else where[-1]
            bad = next(p for p in parsed if p[0] == cell)
            parsed.remove(bad)
            message = e.msg if isinstance(e, SyntaxError) else str(e)
            src.broken.append((cell, line, message, "", _defines(bad[1])))
    src.broken.sort(key=lambda b: b[0])
    for number, _, tree in parsed:
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                src.defined[node.name] = number
    src.text, src.where = joined, where
    return src
