"""Notebook handouts and submissions: assign --format ipynb, then grade what comes back, cell by cell.

A notebook is graded from its code cells alone; cells in another order, cells the
student added, and a cell that does not parse cost only the exercises they concern,
and the report names the cell (counted from 1 at the top, markdown cells included).
"""

import ast
import json
import os
import re
import sys

import pytest

from minigen.cli import main
from minigen.grading import assign, copy_lessons, format_report, grade, list_lessons
from minigen.grading import notebooks
from minigen.grading.notebooks import NotebookError, read_code_cells, to_notebook, to_source

jupytext = pytest.importorskip("jupytext")

LESSONS = {lesson.number: lesson for lesson in list_lessons()}
STUB = re.compile(r'^([ \t]*)# YOUR CODE HERE\n[ \t]*raise NotImplementedError\("(L\d\d\.\d+): implement [^"]*"\)$',
                  re.MULTILINE)


def solutions(number):
    """{exercise id: [the text of each of its solution regions, in order]} from the lesson's source."""
    lesson = LESSONS[number]
    lines = lesson.path.read_text().splitlines()
    return {ex.id: ["\n".join(lines[r.begin:r.end - 1]) for r in ex.regions] for ex in lesson.exercises()}


def load(path):
    return json.loads(path.read_text())


def save(path, nb):
    path.write_text(json.dumps(nb, indent=1))


def source(cell):
    return "".join(cell["source"])


def solve(nb, number, skip=()):
    """The notebook with every stub replaced by the reference solution (but the exercises in ``skip``)."""
    regions = {k: list(v) for k, v in solutions(number).items()}
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["source"] = STUB.sub(lambda m: m.group(0) if m.group(2) in skip else regions[m.group(2)].pop(0),
                                      source(cell))
    assert not any(regions[k] for k in regions if k not in skip)
    return nb


def cell_of(nb, function):
    """The 0-based index of the code cell that defines ``function`` at its left edge."""
    name = function.split(".")[0]
    return next(k for k, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
                and re.search(rf"^(def|class) {re.escape(name)}\b", source(c), re.MULTILINE))


def graded(folder, **kwargs):
    return {e["function"]: e for e in grade(folder, **kwargs)["exercises"]}


@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    out = tmp_path_factory.mktemp("handout")
    assign(["05", "14"], out, fmt="ipynb")
    return out


def copy_of(handout, tmp_path, numbers=("05", "14")):
    """A student's folder: the handout's notebooks of ``numbers``."""
    folder = tmp_path / "student"
    folder.mkdir()
    for number in numbers:
        name = f"{LESSONS[number].name}.ipynb"
        (folder / name).write_bytes((handout / name).read_bytes())
    return folder


def test_the_handout_is_notebooks_with_each_exercise_in_its_own_cell(handout):
    assert sorted(p.name for p in handout.iterdir()) == ["05_lstm.ipynb", "14_text_gans.ipynb", "README.md",
                                                           "assignment.json", "checks"]
    assert sorted(p.name for p in (handout / "checks").iterdir()) == ["05_lstm.py", "14_text_gans.py"]
    assert load(handout / "assignment.json")["lessons"] == ["05_lstm", "14_text_gans"]
    assert ".ipynb" in (handout / "README.md").read_text()
    for number in ("05", "14"):
        nb = load(handout / f"{LESSONS[number].name}.ipynb")
        assert nb["nbformat"] == 4
        ids = [c["id"] for c in nb["cells"]]
        assert len(set(ids)) == len(ids)
        stubs = [c for c in nb["cells"] if "raise NotImplementedError(" in source(c)]
        assert len(stubs) == len(LESSONS[number].exercises())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None
        for cell in stubs:                       # the stub's definition and nothing else
            assert re.fullmatch(r"(#.*\n)*(@.*\n)*(def|class) .*", source(cell), re.DOTALL), source(cell)
            assert "\nprint(" not in source(cell)


def test_every_lessons_exercises_stand_alone_in_the_notebook(tmp_path):
    assign(["all"], tmp_path, fmt="ipynb")
    for lesson in LESSONS.values():
        if not lesson.exercises():
            continue
        nb = load(tmp_path / f"{lesson.name}.ipynb")
        stubs = {}
        for k, cell in enumerate(nb["cells"]):
            text = source(cell)
            if cell["cell_type"] == "code" and "raise NotImplementedError(" in text:
                tree = ast.parse(text)
                assert len(tree.body) == 1 and isinstance(tree.body[0], (ast.FunctionDef, ast.ClassDef)), \
                    (lesson.name, k, text)
                stubs[tree.body[0].name] = k
        assert set(stubs) == {e.function.split(".")[0] for e in lesson.exercises()}, lesson.name


@pytest.mark.parametrize("number", ["05", "14"])
def test_the_reference_solution_in_the_notebook_scores_full_marks(handout, tmp_path, number):
    folder = copy_of(handout, tmp_path, [number])
    path = folder / f"{LESSONS[number].name}.ipynb"
    save(path, solve(load(path), number))
    for function, e in graded(folder).items():
        assert e["max_points"] > 0 and e["points"] == e["max_points"], (function, e["diagnosis"])


def test_the_untouched_notebook_scores_zero(handout, tmp_path):
    folder = copy_of(handout, tmp_path)
    report = grade(folder)
    assert report["score"] == 0 and report["max_score"] > 0
    assert {e["lesson"] for e in report["exercises"]} == {"05_lstm", "14_text_gans"}
    assert {e["file"] for e in report["exercises"]} == {"05_lstm.ipynb", "14_text_gans.ipynb"}
    assert "\n05_lstm.ipynb: 0/" in format_report(report, folder)
    for e in report["exercises"]:
        assert "not implemented yet" in e["diagnosis"], (e["id"], e["diagnosis"])
    public = grade(handout, public_only=True)                  # what a student runs in the handout itself
    assert public["score"] == 0 and public["max_score"] > 0
    assert all("not implemented yet" in e["diagnosis"] for e in public["exercises"])


def test_cells_moved_added_or_broken_cost_only_their_exercise(handout, tmp_path):
    folder = copy_of(handout, tmp_path, ["05"])
    path = folder / "05_lstm.ipynb"
    nb = solve(load(path), "05")
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    nb["cells"] = code[::-1] + [c for c in nb["cells"] if c["cell_type"] != "code"]      # another order
    nb["cells"].insert(2, {"cell_type": "code", "metadata": {}, "execution_count": 3, "outputs": [],
                           "source": ["print('my experiment')\n", "def my_helper(x):\n", "    return 2 * x\n",
                                      "%timeit my_helper(3)\n"]})
    broken = cell_of(nb, "lstm_step_backward")
    lines = source(nb["cells"][broken]).splitlines()
    lines[2] = lines[2] + " +"                                                            # a syntax error
    nb["cells"][broken]["source"] = "\n".join(lines)
    save(path, nb)
    report = graded(folder)
    for function in ("sigmoid", "lstm_step_forward"):
        e = report[function]
        assert e["points"] == e["max_points"] > 0, (function, e["diagnosis"])
    e = report["lstm_step_backward"]
    assert e["points"] == 0 and e["max_points"] > 0
    assert e["diagnosis"].startswith(f"05_lstm.ipynb: cell {broken + 1} has a syntax error at line 3: invalid syntax")
    assert "\n" not in e["diagnosis"]


def test_a_students_exception_is_reported_with_its_cell_and_line(handout, tmp_path):
    folder = copy_of(handout, tmp_path, ["05"])
    path = folder / "05_lstm.ipynb"
    nb = solve(load(path), "05")
    k = cell_of(nb, "sigmoid")
    nb["cells"][k]["source"] = "def sigmoid(x):\n    y = 1.0\n    return y / undefined_name\n"
    save(path, nb)
    e = graded(folder)["sigmoid"]
    assert e["points"] == 0
    assert f"(05_lstm.ipynb, cell {k + 1}, line 3: `return y / undefined_name`)" in e["diagnosis"], e["diagnosis"]
    assert "05_lstm.py" not in e["diagnosis"]


def test_a_broken_cell_is_named_where_its_definitions_are_missing(handout, tmp_path):
    folder = copy_of(handout, tmp_path, ["05"])
    path = folder / "05_lstm.ipynb"
    nb = solve(load(path), "05")
    k = cell_of(nb, "sigmoid")
    nb["cells"][k]["source"] = "sigmoid = lambda x: (\n"                 # a definition that does not parse
    save(path, nb)
    report = graded(folder)
    e = report["sigmoid"]
    assert e["points"] == 0 and e["diagnosis"].startswith(f"05_lstm.ipynb: cell {k + 1} has a syntax error at "
                                                          "line 1: '(' was never closed"), e["diagnosis"]
    e = report["lstm_step_forward"]                                        # it calls sigmoid
    assert "name 'sigmoid' is not defined" in e["diagnosis"]
    assert f"cell {k + 1} has a syntax error at line 1" in e["diagnosis"], e["diagnosis"]


def test_a_deleted_exercise_names_the_cells_left_out(handout, tmp_path):
    folder = copy_of(handout, tmp_path, ["05"])
    path = folder / "05_lstm.ipynb"
    nb = solve(load(path), "05")
    k = cell_of(nb, "sigmoid")
    nb["cells"][k]["source"] = "print((1 + 2)\n"                          # sigmoid deleted, a cell broken
    save(path, nb)
    e = graded(folder)["sigmoid"]
    assert e["points"] == 0 and "05_lstm.ipynb defines no `sigmoid`" in e["diagnosis"], e["diagnosis"]
    assert f"left out the cells that do not parse: cell {k + 1} has a syntax error at line 1" in e["diagnosis"]


@pytest.mark.parametrize("content, words", [
    (b"this is not json {", "05_lstm.ipynb is not a Jupyter notebook (nbformat 4): it is not valid JSON"),
    (b"\xff\xfe\x00garbage", "05_lstm.ipynb is not a Jupyter notebook (nbformat 4): it is not UTF-8 text"),
    (b'["a list"]', "it holds a JSON list, not an object"),
    (b'{"nbformat": 3, "cells": []}', "its nbformat is 3, not 4"),
    (b'{"nbformat": 4, "cells": {}}', 'it has no list of "cells"'),
    (b'{"nbformat": 4, "cells": [{"source": "x"}]}', 'cell 1 is not an object with a "cell_type"'),
    (b'{"nbformat": 4, "cells": [{"cell_type": "code", "source": 7}]}', "cell 1's source is int"),
    (b"[" * 100_000 + b"]" * 100_000, "not a Jupyter notebook (nbformat 4)"),
])
def test_a_file_that_is_not_a_notebook_costs_its_lesson_with_one_line(tmp_path, content, words):
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "05_lstm.ipynb").write_bytes(content)
    report = grade(folder)
    assert report["score"] == 0 and report["exercises"]
    for e in report["exercises"]:
        assert words in e["diagnosis"] and "\n" not in e["diagnosis"], e["diagnosis"]


def test_a_huge_notebook_is_refused_unread(tmp_path):
    folder = tmp_path / "student"
    folder.mkdir()
    with open(folder / "05_lstm.ipynb", "wb") as f:
        f.truncate(300 * 2 ** 20)                                    # sparse: 300 MB that take no disk
    for e in grade(folder)["exercises"]:
        assert e["points"] == 0
        assert e["diagnosis"] == ("05_lstm.ipynb is 300 MB, more than the 32 MB a notebook may have: clear its "
                                  "outputs and hand it in again"), e["diagnosis"]


def test_the_size_limit_applies_to_what_is_read(tmp_path):
    path = tmp_path / "05_lstm.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}))
    assert read_code_cells(path) == []
    with pytest.raises(NotebookError, match=r"^05_lstm.ipynb is \d+ bytes, more than the 10 bytes a notebook may have"):
        read_code_cells(path, limit=10)


def test_a_link_or_a_pipe_is_not_read(tmp_path):
    target = tmp_path / "elsewhere.ipynb"
    target.write_text("{}")
    (tmp_path / "05_lstm.ipynb").symlink_to(target)
    with pytest.raises(NotebookError, match="could not be opened"):
        read_code_cells(tmp_path / "05_lstm.ipynb")
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "05_lstm.ipynb").symlink_to(target)
    for e in grade(folder)["exercises"]:
        assert "05_lstm.ipynb in" in e["diagnosis"] and "is a symbolic link" in e["diagnosis"]
    fifo = tmp_path / "fifo.ipynb"
    os.mkfifo(fifo)
    with pytest.raises(NotebookError, match="is not a regular file"):
        read_code_cells(fifo)


def test_a_py_and_an_ipynb_of_one_lesson_is_one_line(handout, tmp_path, capsys):
    folder = copy_of(handout, tmp_path, ["05"])
    (folder / "05_lstm.py").write_text("")
    with pytest.raises(ValueError, match=r"holds both 05_lstm.py and 05_lstm.ipynb: one of them must go"):
        grade(folder)
    assert main(["grade", str(folder)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("minigen grade: error: ") and "05_lstm.py and 05_lstm.ipynb" in err
    assert err.count("\n") == 1


def test_a_format_other_than_py_or_ipynb_is_one_line(tmp_path, capsys):
    for argv in (["assign", "05", "--out", str(tmp_path / "h"), "--format", "docx"],
                 ["lessons", "copy", str(tmp_path / "c"), "--format", "docx"]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.endswith("error: --format must be one of 'py', 'ipynb', got 'docx'\n") and err.count("\n") == 1
    assert not (tmp_path / "h").exists() and not (tmp_path / "c").exists()
    with pytest.raises(ValueError, match=r"^assign: fmt must be one of 'py', 'ipynb', got 'docx'$"):
        assign(["05"], tmp_path / "h", fmt="docx")


def test_without_jupytext_the_format_must_be_py(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "jupytext", None)                  # `import jupytext` raises ImportError
    assert main(["assign", "05", "--out", str(tmp_path / "h"), "--format", "ipynb"]) == 1
    assert capsys.readouterr().err == ("minigen assign: error: --format must be py when jupytext is not installed "
                                       "(pip install jupytext), got 'ipynb'\n")
    assert not (tmp_path / "h").exists()
    assert main(["assign", "05", "--out", str(tmp_path / "h")]) == 0       # .py handouts need no jupytext
    assert (tmp_path / "h" / "05_lstm.py").is_file()
    with pytest.raises(ValueError, match=r"^to_notebook: jupytext must be installed to write notebooks \(pip install "
                                         r"jupytext\), got none$"):
        to_notebook("# %%\nx = 1\n")


def test_lessons_copy_writes_notebooks_that_read_back_into_the_same_code(tmp_path):
    written = copy_lessons(tmp_path / "mine", fmt="ipynb")
    names = sorted(p.name for p in written if p.parent == tmp_path / "mine")
    assert names == sorted([f"{lesson.name}.ipynb" for lesson in LESSONS.values()] + ["README.md"])
    assert all(p.suffix == ".py" for p in written if p.parent.name == "checks")
    for lesson in LESSONS.values():
        original = jupytext.read(lesson.path)
        back = jupytext.read(tmp_path / "mine" / f"{lesson.name}.ipynb")
        code = ["\n\n".join(c.source for c in nb.cells if c.cell_type == "code") for nb in (original, back)]
        assert ast.dump(ast.parse(code[0])) == ast.dump(ast.parse(code[1])), lesson.name
        assert [c.source for c in original.cells if c.cell_type == "markdown"] == \
               [c.source for c in back.cells if c.cell_type == "markdown"]
        assert all(c.outputs == [] for c in back.cells if c.cell_type == "code")
        as_py = jupytext.writes(back, fmt="py:percent")                   # and it runs as a lesson file again
        assert ast.dump(ast.parse(as_py)) == ast.dump(ast.parse(lesson.path.read_text()))


def test_to_source_keeps_the_cells_that_parse_and_maps_their_lines():
    src = to_source([(2, "import numpy as np\n"), (4, "def f(x):\n    return x +\n"), (5, "%matplotlib inline\nx = 1"),
                     (7, "from __future__ import annotations\ndef g():\n    pass")])
    assert src.text == "# cell 2\nimport numpy as np\n# cell 5\n# %matplotlib inline\nx = 1\n"
    assert [b[:3] for b in src.broken] == [(4, 2, "invalid syntax"), (7, 1, "from __future__ imports must occur at "
                                                                            "the beginning of the file")]
    assert src.cell_of(1) == (2, 0) and src.cell_of(2) == (2, 1) and src.cell_of(5) == (5, 2)
    assert src.syntax_error("f") == "cell 4 has a syntax error at line 2: invalid syntax: `return x +`"
    assert src.syntax_error("g").startswith("cell 7 has a syntax error at line 1")
    assert src.syntax_error("x") is None and src.defined == {}
    later = to_source([(1, "def f(:\n"), (2, "def f(x):\n    return x\n")])       # a later cell that parses wins
    assert later.syntax_error("f") is None and later.defined == {"f": 2}
    assert to_source([(1, "x = '\0'")]).broken[0][:2] == (1, 1)


def test_too_much_code_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    path = tmp_path / "05_lstm.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "cells": [{"cell_type": "code", "source": "x = 1\n" * 100}]}))
    assert read_code_cells(path) == [(1, "x = 1\n" * 100)]
    monkeypatch.setattr(notebooks, "MAX_CODE", 599)
    with pytest.raises(NotebookError, match=r"^05_lstm.ipynb holds 600 bytes of code, more than the 599 bytes"):
        read_code_cells(path)


def test_a_notebooks_top_level_code_never_runs_and_its_crash_costs_one_exercise(handout, tmp_path):
    folder = copy_of(handout, tmp_path, ["14"])
    marker = tmp_path / "ran"
    path = folder / "14_text_gans.ipynb"
    nb = solve(load(path), "14")
    nb["cells"].append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                        "source": f"open({str(marker)!r}, 'w').write('top-level code ran')\n"})
    nb["cells"][cell_of(nb, "rollout_rewards")]["source"] = ["import os\n", "\n", "def rollout_rewards(*args):\n",
                                                             "    os._exit(3)\n"]
    save(path, nb)
    report = graded(folder)
    assert not marker.exists()
    assert report["rollout_rewards"]["points"] == 0 and "died" in report["rollout_rewards"]["diagnosis"]
    for function, e in report.items():                      # each graded by a worker of its own after the crash
        if function != "rollout_rewards":
            assert e["points"] == e["max_points"] > 0, (function, e["diagnosis"])


def test_a_notebook_handout_does_not_leave_the_py_beside_it(tmp_path):
    assign(["05"], tmp_path)
    with pytest.raises(FileExistsError, match="05_lstm.py is already there.*--force"):
        assign(["05"], tmp_path, fmt="ipynb")
    assign(["05"], tmp_path, fmt="ipynb", force=True)
    assert (tmp_path / "05_lstm.ipynb").is_file() and not (tmp_path / "05_lstm.py").exists()
