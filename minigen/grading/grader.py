"""Grade a student's folder offline: points per exercise, and a diagnosis that teaches.

Each lesson is checked in its own worker process (``worker.py``). The grader
waits at most ``timeout`` seconds for each exercise; a worker that runs past it
(an endless loop) is killed, the exercise scores 0, and a new worker carries on
with the exercises that remain. A student's exception or crash is reported with
its line and never stops the grader.

The checks come from the instructor's lessons folder (public and hidden), never
from the folder being graded, which a student could have edited. With
``public_only=True`` the folder's own ``checks/`` are used instead: that is how a
student checks their work before handing it in.
"""

from __future__ import annotations

import json
import math
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .lessons import MANIFEST, _NAME, check_files, lessons_dir, list_lessons, read_manifest
from .worker import _load_checks

__all__ = ["grade", "format_report"]


class _Lines:
    """Lines from a pipe, each waited for with a deadline."""

    def __init__(self, pipe):
        self.fd, self.buffer = pipe.fileno(), b""
        self.selector = selectors.DefaultSelector()
        self.selector.register(pipe, selectors.EVENT_READ)

    def next(self, seconds):
        """The next line as a dict; None at end of file; raises TimeoutError."""
        deadline = time.monotonic() + seconds
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            if not self.selector.select(min(left, 3600.0)):   # select() refuses a timeout of years
                continue
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)


def _kill(proc):
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _run_lesson(student_file, files, exercises, timeout, load_timeout):
    """{exercise id: (points, checks, diagnosis)} for one lesson, surviving hangs and crashes."""
    done = {}
    while len(done) < len(exercises):
        with tempfile.TemporaryFile() as err:
            env = dict(os.environ, MINIGEN_QUICK="1", MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
            proc = subprocess.Popen([sys.executable, "-m", "minigen.grading.worker"], cwd=student_file.parent,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=env,
                                    start_new_session=(os.name == "posix"))
            # absolute paths: the worker runs in the student's folder, where a relative path means something else
            job = dict(student=str(Path(student_file).resolve()),
                       check_files=[str(Path(f).resolve()) for f in files], exercises=exercises, skip=list(done))
            proc.stdin.write(json.dumps(job).encode())
            proc.stdin.close()
            lines, current, wait = _Lines(proc.stdout), None, load_timeout
            try:
                while True:
                    event = lines.next(wait)
                    if event is None:                                   # the worker died
                        proc.wait()
                        err.seek(0)
                        tail = err.read().decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
                        victim = current or next(e["id"] for e in exercises if e["id"] not in done)
                        done[victim] = (0, [], f"the checking process died while running it (exit status "
                                               f"{proc.returncode}); its last words: {tail[0]!r}")
                        break
                    if event["event"] == "load_error":
                        for e in exercises:
                            done.setdefault(e["id"], (0, [], event["diagnosis"]))
                        break
                    if event["event"] == "start":
                        current, wait = event["id"], timeout
                    elif event["event"] == "result":
                        done[event["id"]] = (event["points"], event["checks"], None)
                        current, wait = None, timeout
                    if len(done) == len(exercises):
                        break
            except TimeoutError:
                if current is None:
                    for e in exercises:
                        done.setdefault(e["id"], (0, [], f"{student_file.name} took more than {load_timeout:g} s "
                                                          "to load; does it run something at import time?"))
                else:
                    done[current] = (0, [], f"stopped after {timeout:g} s without finishing: an endless loop, "
                                            f"or far too slow (the limit is {timeout:g} s per exercise)")
            finally:
                _kill(proc)
                proc.stdout.close()
    return done


def _lessons_to_grade(folder, root):
    source = {lesson.name: lesson for lesson in list_lessons(root)}
    manifest = folder / MANIFEST
    if manifest.is_file():
        names = read_manifest(manifest)["lessons"]
    else:
        names = sorted(p.stem for p in folder.glob("*.py") if _NAME.match(p.name))
    unknown = [n for n in names if n not in source]
    if unknown:
        raise ValueError(f"{folder}: {unknown[0]}.py is not a lesson of {root} "
                         f"(known: {', '.join(source)})")
    graded = [source[n] for n in names if source[n].exercises()]
    if not graded:
        raise ValueError(f"no lesson with exercises found in {folder}: expected files such as 05_lstm.py, "
                         "as written by `minigen assign`")
    return graded


def grade(folder, *, lessons=None, public_only: bool = False, timeout: float = 30.0) -> dict:
    """Grade the lesson files in ``folder``; returns the report as a dict.

    The report is ``{"score", "max_score", "exercises": [{"id", "lesson", "function",
    "points", "max_points", "diagnosis", "checks"}]}``; ``diagnosis`` is None for full marks.
    """
    folder = Path(folder)
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise FileNotFoundError(f"grade: {str(folder)!r} {what}; give the folder that holds the lesson files")
    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"grade: timeout must be a positive, finite number of seconds, got {timeout!r}")
    root = lessons_dir(lessons)
    report = []
    for lesson in _lessons_to_grade(folder, root):
        exercises = [dict(id=e.id, function=e.function) for e in lesson.exercises()]
        files = (check_files(folder, lesson.name, hidden=False) if public_only
                 else check_files(root, lesson.name, hidden=True))
        checks = _load_checks(files) if files else []
        max_points = {e["id"]: sum(c.__minigen_check__[1] for c in checks
                                   if c.__minigen_check__[0] == e["function"]) for e in exercises}
        student_file = (folder / f"{lesson.name}.py").resolve()
        if not student_file.is_file():
            results = {e["id"]: (0, [], f"{lesson.name}.py is missing from {folder}") for e in exercises}
        else:
            results = _run_lesson(student_file, files, exercises, timeout, load_timeout=max(timeout, 60.0))
        for e in exercises:
            points, checks_run, diagnosis = results[e["id"]]
            if diagnosis is None:
                failed = [c for c in checks_run if not c["passed"]]
                diagnosis = " | ".join(c["diagnosis"] for c in failed) or None
            if max_points[e["id"]] == 0:
                diagnosis = diagnosis or "no checks for this exercise (nothing to grade)"
            report.append(dict(id=e["id"], lesson=lesson.name, function=e["function"], points=points,
                               max_points=max_points[e["id"]], diagnosis=diagnosis, checks=checks_run))
    return dict(score=sum(r["points"] for r in report), max_score=sum(r["max_points"] for r in report),
                checks="public" if public_only else "public and hidden", lessons=str(root), exercises=report)


def _num(x):
    return f"{x:g}"


def format_report(report: dict, folder) -> str:
    """The report as text for a terminal."""
    lines = [f"Grading {folder} with the {report['checks']} checks", ""]
    lesson = None
    width = max(len(e["function"]) for e in report["exercises"])
    for e in report["exercises"]:
        if e["lesson"] != lesson:
            lesson = e["lesson"]
            mine = [x for x in report["exercises"] if x["lesson"] == lesson]
            lines.append(f"{lesson}.py: {_num(sum(x['points'] for x in mine))}/"
                         f"{_num(sum(x['max_points'] for x in mine))}")
        mark = "ok" if e["points"] == e["max_points"] else "--"
        lines.append(f"  {mark} {e['id']:<7} {e['function']:<{width}}  {_num(e['points'])}/{_num(e['max_points'])}")
        if e["diagnosis"]:
            failed = [c for c in e["checks"] if not c["passed"]]
            if failed:
                for c in failed:
                    lines.append(f"       - {c['check']}")
                    lines.append(f"         {c['diagnosis']}")
            else:
                lines.append(f"       {e['diagnosis']}")
    lines += ["", f"Score: {_num(report['score'])}/{_num(report['max_score'])}"]
    return "\n".join(lines)
