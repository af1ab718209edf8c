"""Grade a student's folder offline: points per exercise, and a diagnosis that teaches.

The checks run here, in the grading process, which never imports the student's
code. The student's lesson file runs in a confined worker process (``session``,
``sandbox``, ``worker``) that holds no checks, no hidden files and no reference
solutions: the checks send it (function, inputs) and judge what comes back.

Each exercise has ``timeout`` seconds. A worker that runs past them, dies or sends a
malformed message costs that exercise its points; a fresh worker carries on with
the exercises that remain. A student's exception is reported with its line, cut to
a few lines, and never stops the grader.

The checks come from the instructor's lessons folder (public and hidden), never
from the folder being graded, which a student could have edited. With
``public_only=True`` the folder's own ``checks/`` are used instead: that is how a
student checks their work before handing it in.

A lesson comes back as ``05_lstm.py`` or as a notebook, ``05_lstm.ipynb`` (not both).
The notebook's code cells that parse become one private ``.py`` for the worker
(``notebooks``); a cell that does not parse costs only the exercises it defines, and
every line number in a diagnosis is told as the notebook's cell and line.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
import warnings
from pathlib import Path

from .. import rules
from .checks import CheckFailure, load_checks
from .lessons import MANIFEST, _NAME, check_files, lessons_dir, list_lessons, read_manifest
from .notebooks import NotebookError, Source, read_code_cells, to_source
from .session import SandboxError, StudentProxy, Worker, WorkerLost, describe_exception

__all__ = ["grade", "format_report"]

_ASSIGNED = "expected files such as 05_lstm.py or 05_lstm.ipynb, as written by `minigen assign`"
_BOTH = "{} holds both {}.py and {}.ipynb: one of them must go (the grader reads one file per lesson)"


def _resolve(student, qualname):
    obj = student
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def run_exercise(student: StudentProxy, function: str, checks):
    """Run every check of one exercise here; returns (points, [per-check results])."""
    results, points = [], 0
    for fn in checks:
        target, worth = fn.__minigen_check__
        doc = (fn.__doc__ or fn.__name__.replace("_", " ")).strip().splitlines()[0]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")            # a check that wants warnings turns them into errors
                _resolve(student, function)
                fn(student)
        except CheckFailure as e:
            results.append(dict(check=doc, points=0, max_points=worth, passed=False, diagnosis=str(e)))
        except Exception as e:   # noqa: BLE001 - the student's bug, or what it returned, never the grader's end
            results.append(dict(check=doc, points=0, max_points=worth, passed=False,
                                diagnosis=describe_exception(e, student, function)))
        else:
            points += worth
            results.append(dict(check=doc, points=worth, max_points=worth, passed=True, diagnosis=None))
    return points, results


def _lost(why, worker, what, timeout):
    if str(why) == "timeout":
        return (f"stopped after {timeout:g} s without finishing: an endless loop, or far too slow (the limit is "
                f"{timeout:g} s {what})")
    if str(why) == "died":
        code = worker.exit_status()
        words = worker.last_words()
        if code is None:
            return "the checking process closed its connection while running it and did not exit"
        return (f"the checking process died while running it (exit status {code})"
                + (f"; its last words: {words!r}" if words else ""))
    return f"the checking process {why}; nothing it sent was used"


def _run_lesson(student_file, checks, forbidden, exercises, timeout, load_timeout, sandbox):
    """{exercise id: (points, checks, diagnosis)} for one lesson, surviving hangs, crashes and forgeries."""
    done, worker = {}, None
    cpu = load_timeout + timeout * len(exercises)
    try:
        for e in exercises:
            mine = [fn for fn in checks if fn.__minigen_check__[0] == e["function"]]
            if worker is not None and not worker.quiet():      # a stray answer would be read as the next one
                worker.close()
                worker = None
            if worker is None:
                worker = Worker(student_file, cpu_seconds=cpu)
                try:
                    student, missing = worker.start(forbidden, load_timeout)
                    sandbox.update(missing)
                except SandboxError:
                    raise
                except WorkerLost as why:
                    reason = _lost(why, worker, "to load the file", load_timeout).replace("running it", "loading it")
                    return {**done, **{x["id"]: (0, [], f"{student_file.name}: {reason}") for x in exercises
                                       if x["id"] not in done}}
                except Exception as exc:   # noqa: BLE001 - the student's file failed to load
                    diagnosis = describe_exception(exc, None, "the lesson file")
                    if "raised" not in diagnosis and "syntax error" not in diagnosis:
                        diagnosis = f"{student_file.name} failed to load: {diagnosis}"
                    return {**done, **{x["id"]: (0, [], diagnosis) for x in exercises if x["id"] not in done}}
            worker.conn.peer.deadline = time.monotonic() + timeout
            try:
                points, results = run_exercise(student, e["function"], mine)
                done[e["id"]] = (points, results, None)
            except WorkerLost as why:
                done[e["id"]] = (0, [], _lost(why, worker, "per exercise", timeout))
                worker.close()
                worker = None
    finally:
        if worker is not None:
            worker.close()
    return done


def _lessons_to_grade(folder, root):
    source = {lesson.name: lesson for lesson in list_lessons(root)}
    manifest = folder / MANIFEST
    if manifest.is_file():
        names = read_manifest(manifest)["lessons"]
    else:
        names = sorted({p.stem for p in folder.glob("*.py") if _NAME.match(p.name)}
                       | {p.stem for p in folder.glob("*.ipynb") if _NAME.match(p.stem + ".py")})
    unknown = [n for n in names if n not in source]
    if unknown:
        raise ValueError(f"{folder}: {unknown[0]}.py is not a lesson of {root} (known: {', '.join(source)})")
    graded = [source[n] for n in names if source[n].exercises()]
    if not graded:
        raise ValueError(f"no lesson with exercises found in {folder}: {_ASSIGNED}")
    for lesson in graded:
        if all(_exists(folder / f"{lesson.name}{suffix}") for suffix in (".py", ".ipynb")):
            raise ValueError(_BOTH.format(folder, lesson.name, lesson.name))
    return graded


def _exists(path):
    return path.is_symlink() or path.exists()


def _in_cells(text, source: Source, py_name, nb_name):
    """A diagnosis about the generated file, told in the notebook's cells: '05_lstm.ipynb, cell 7, line 3'.

    A definition that is missing because its cell does not parse gets that cell's syntax error.
    """
    if text is None:
        return None

    def cell(m):
        number, line = source.cell_of(int(m.group(2)))
        return f"{nb_name}, cell {number}" + (f", line {line}" if line else "")

    def syntax(m):
        number, line = source.cell_of(int(m.group(1)))
        return f"{nb_name}: cell {number} has a syntax error at line {line}"
    text = re.sub(rf"({re.escape(py_name)}|your file), line (\d+)", cell, text)
    text = re.sub(rf"{re.escape(py_name)} has a syntax error at line (\d+)", syntax, text)
    text = text.replace(py_name, nb_name)
    missing = re.search(r"defines no `([\w.]+)`|name '(\w+)' is not defined", text)
    if missing and source.broken:
        hidden = source.syntax_error((missing.group(1) or missing.group(2)).split(".")[0])
        if hidden:
            text += f" ({hidden}, so the grader left that cell out)"
        elif missing.group(1):
            text += f" (the grader left out the cells that do not parse: {source.broken_cells()})"
    return text


def _run_notebook(notebook: Path, checks, forbidden, exercises, timeout, load_timeout, sandbox):
    """_run_lesson for a notebook: its code cells that parse, as a private .py; a broken cell costs its exercises."""
    try:
        source = to_source(read_code_cells(notebook))
    except NotebookError as e:
        return {x["id"]: (0, [], str(e)) for x in exercises}
    done = {}
    for x in exercises:
        error = source.syntax_error(x["function"].split(".")[0])
        if error:
            done[x["id"]] = (0, [], f"{notebook.name}: {error} (the cell that defines {x['function']}; "
                                    "the grader left it out)")
    folder = Path(tempfile.mkdtemp(prefix="minigen-notebook-"))       # only this file goes to the worker
    py_file = folder / f"{notebook.stem}.py"
    try:
        py_file.write_text(source.text, encoding="utf-8")
        results = _run_lesson(py_file, checks, forbidden, [x for x in exercises if x["id"] not in done],
                              timeout, load_timeout, sandbox)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    names = (source, py_file.name, notebook.name)
    for key, (points, checks_run, diagnosis) in results.items():
        checks_run = [{**c, "diagnosis": _in_cells(c["diagnosis"], *names)} for c in checks_run]
        done[key] = (points, checks_run, _in_cells(diagnosis, *names))
    return done


def grade(folder, *, lessons=None, public_only: bool = False, timeout: float = 30.0) -> dict:
    """Grade the lesson files in ``folder``; returns the report as a dict.

    The report is ``{"score", "max_score", "exercises": [{"id", "lesson", "function",
    "points", "max_points", "diagnosis", "checks", "file"}]}``; ``diagnosis`` is None for full marks,
    ``file`` is the lesson file graded (``05_lstm.py`` or ``05_lstm.ipynb``).
    """
    folder = Path(folder)
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise FileNotFoundError(f"grade: {str(folder)!r} {what}; give the folder that holds the lesson files")
    timeout = rules.real("grade", "timeout", timeout, 0, lo_open=True)                   # seconds
    root = lessons_dir(lessons)
    report, sandbox = [], {}
    for lesson in _lessons_to_grade(folder, root):
        exercises = [dict(id=e.id, function=e.function) for e in lesson.exercises()]
        files = (check_files(folder, lesson.name, hidden=False) if public_only
                 else check_files(root, lesson.name, hidden=True))
        checks, forbidden = load_checks(files) if files else ([], set())
        max_points = {e["id"]: sum(c.__minigen_check__[1] for c in checks
                                   if c.__minigen_check__[0] == e["function"]) for e in exercises}
        student_file = folder.resolve() / f"{lesson.name}.py"          # the file itself: a link is not followed
        notebook = student_file.with_suffix(".ipynb")
        if _exists(notebook) and not _exists(student_file):
            student_file = notebook
        if student_file.is_symlink():
            results = {e["id"]: (0, [], f"{student_file.name} in {folder} is a symbolic link, not a file: hand in "
                                        "the file itself") for e in exercises}
        elif not student_file.is_file():
            missing = f"{lesson.name}.py is missing from {folder} (so is {lesson.name}.ipynb)"
            results = {e["id"]: (0, [], missing) for e in exercises}
        elif student_file == notebook:
            results = _run_notebook(notebook, checks, forbidden, exercises, timeout,
                                    load_timeout=max(timeout, 60.0), sandbox=sandbox)
        else:
            results = _run_lesson(student_file, checks, forbidden, exercises, timeout,
                                  load_timeout=max(timeout, 60.0), sandbox=sandbox)
        for e in exercises:
            points, checks_run, diagnosis = results[e["id"]]
            if diagnosis is None:
                failed = [c for c in checks_run if not c["passed"]]
                diagnosis = " | ".join(c["diagnosis"] for c in failed) or None
            if max_points[e["id"]] == 0:
                diagnosis = diagnosis or "no checks for this exercise (nothing to grade)"
            report.append(dict(id=e["id"], lesson=lesson.name, function=e["function"], points=points,
                               max_points=max_points[e["id"]], diagnosis=diagnosis, checks=checks_run,
                               file=student_file.name))
    return dict(score=sum(r["points"] for r in report), max_score=sum(r["max_points"] for r in report),
                checks="public" if public_only else "public and hidden", lessons=str(root),
                sandbox=[f"{k}: {v}" for k, v in sorted(sandbox.items())], exercises=report)


def _num(x):
    return f"{x:g}"


def format_report(report: dict, folder) -> str:
    """The report as text for a terminal."""
    lines = [f"Grading {folder} with the {report['checks']} checks"]
    lines += [f"Note: the student's code ran without this safeguard: {s}" for s in report.get("sandbox", [])]
    lines.append("")
    lesson = None
    width = max(len(e["function"]) for e in report["exercises"])
    for e in report["exercises"]:
        if e["lesson"] != lesson:
            lesson = e["lesson"]
            mine = [x for x in report["exercises"] if x["lesson"] == lesson]
            lines.append(f"{e.get('file', lesson + '.py')}: {_num(sum(x['points'] for x in mine))}/"
                         f"{_num(sum(x['max_points'] for x in mine))}")
        mark = "ok" if e["points"] == e["max_points"] else "--"
        lines.append(f"  {mark} {e['id']:<7} {e['function']:<{width}}  {_num(e['points'])}/{_num(e['max_points'])}")
        if e["diagnosis"]:
            failed = [c for c in e["checks"] if not c["passed"]]
            if failed:
                for c in failed:
                    lines.append(f"       - {c['check']}")
                    lines += [f"         {line}" for line in c["diagnosis"].splitlines()]
            else:
                lines += [f"       {line}" for line in e["diagnosis"].splitlines()]
    lines += ["", f"Score: {_num(report['score'])}/{_num(report['max_score'])}"]
    return "\n".join(lines)
