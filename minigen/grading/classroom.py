"""Grade a whole class: one folder per student, graded in parallel, into one gradebook.

    minigen grade --class submissions/ --jobs 2      # writes submissions-grades/ beside it

``submissions/`` holds one folder per student; the folder's name is the student's id
(hidden names, starting with ".", and plain files are skipped). Each folder is graded
exactly as ``minigen grade FOLDER`` grades it, in its own child process
(``python -m minigen grade FOLDER --json``), ``jobs`` at a time. The grader already
confines a student's code per exercise; the child process is the last line of
defence: whatever happens to it (it runs past its limit, dies, prints something that
is not a report) costs that student all their points, with a one-line reason, and
the class run goes on. A student's limit is 60 s plus ``timeout + max(timeout, 60)`` s
per exercise of the lessons their folder holds (the grader's own worst case: every
exercise runs out of time and its worker is loaded again).

The output folder (``out``; by default ``<submissions>-grades`` beside ``submissions``)::

    gradebook.csv        student,lesson,exercise,function,points,max_points,note
                         alice,05_lstm,L05.1,sigmoid,2,2,
                         alice,05_lstm,L05.2,lstm_step_forward,3,3,
                         alice,,total,,5,5,
                         one row per exercise, then the student's total row (lesson and function empty,
                         exercise "total"); sorted by student, then in the lessons' exercise order. ``note``
                         is empty except on the total row of a student whose grading failed to run, where it
                         gives the reason; such a student gets 0 points on every exercise the class was graded on.
    feedback/alice.txt   the report ``minigen grade`` prints for alice's folder
    results/alice.json   the raw result (the report, or why the grading failed), kept for later runs

Every file is written under a temporary name and renamed into place, so none is ever
half-written. A second run reuses a student's result, and so resumes an interrupted
run, unless ``force``, or the student's folder changed since it was graded, or the
settings changed. The folder has changed when its modification time, or the name,
size or modification time (in ns) of any regular file at its top (what the grader
copies), differs from what was recorded just before its grading started: a file
edited, added, removed or replaced, even by an older one. The settings are the
checks (public only, or public and hidden), the lessons folder and the timeout. A student whose
grading failed to run keeps that result too: ``force`` grades them again. The
gradebook and the feedback files are rebuilt at the end of each run from the results
of the students now in ``submissions``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from .. import rules
from .grader import format_report
from .lessons import lessons_dir, list_lessons

__all__ = ["grade_class", "COLUMNS"]

COLUMNS = ["student", "lesson", "exercise", "function", "points", "max_points", "note"]
_GRACE = 10.0          # seconds a child has to clean up after it is interrupted, before it is killed
_PACKAGE = Path(__file__).resolve().parents[2]


def _num(x):
    return f"{x:g}"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(tmp, path)


def _students(submissions: Path) -> list:
    return sorted(p.name for p in submissions.iterdir() if not p.name.startswith(".") and p.is_dir())


def _stamp(folder: Path) -> dict:
    """What a change of the student's files changes: the folder's mtime, and each top-level file's size and mtime."""
    files = sorted([e.name, e.stat(follow_symlinks=False).st_size, e.stat(follow_symlinks=False).st_mtime_ns]
                   for e in os.scandir(folder) if e.is_file(follow_symlinks=False))
    return dict(folder=folder.stat().st_mtime_ns, files=files)


def _lesson_files(folder: Path, exercises: dict) -> list:
    """The lessons (with exercises) of which ``folder`` holds a file, as ``.py`` or ``.ipynb``."""
    return [name for name in exercises if (folder / f"{name}.py").is_file() or (folder / f"{name}.ipynb").is_file()]


def _reason(proc, stderr: str, limit: float, stopped: bool) -> str:
    if stopped:
        return (f"the grading of this folder ran past the class limit of {limit:g} s and was stopped "
                "(an endless loop that the per-exercise limit did not catch?)")
    if proc.returncode < 0:
        return f"the grading process of this folder was killed by signal {-proc.returncode}"
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    last = lines[-1].replace("minigen grade: error: ", "", 1)[:300] if lines else "no message"
    if proc.returncode == 1:                         # the grader's own one-line error, such as "no lesson ..."
        return last
    return f"the grading of this folder failed (exit status {proc.returncode}): {last}"


class _Children:
    """The students' grading processes running now; once stopped, no new one starts."""

    def __init__(self):
        self.lock, self.procs, self.stopped = threading.Lock(), set(), False

    def start(self, command, env):
        with self.lock:
            if self.stopped:
                raise KeyboardInterrupt
            proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, env=env)
            self.procs.add(proc)
            return proc

    def done(self, proc):
        with self.lock:
            self.procs.discard(proc)

    def stop(self):
        """Interrupt every child (each closes its workers), and kill those still there after ``_GRACE`` s."""
        with self.lock:
            self.stopped, procs = True, list(self.procs)
        for proc in procs:
            _interrupt(proc)
        deadline = time.monotonic() + _GRACE
        for proc in procs:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()


def _interrupt(proc):
    try:
        proc.send_signal(signal.SIGINT)              # the grader closes its workers on KeyboardInterrupt
    except ProcessLookupError:
        pass


def _grade_one(folder: Path, root: Path, public_only: bool, timeout: float, limit: float, children) -> dict:
    """Grade one student's folder in a child process; returns {"report": ...} or {"error": one line}."""
    command = [sys.executable, "-m", "minigen", "grade", str(folder), "--json", "--lessons", str(root),
               "--timeout", repr(timeout)] + (["--public-only"] if public_only else [])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(_PACKAGE), os.environ.get("PYTHONPATH")])))
    for key in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):     # one core per student
        env.setdefault(key, "1")
    start = time.monotonic()
    proc = children.start(command, env)
    stopped = False
    try:
        try:
            out, err = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            stopped = True
            _interrupt(proc)
            try:
                out, err = proc.communicate(timeout=_GRACE)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
    finally:
        children.done(proc)
    seconds = round(time.monotonic() - start, 3)
    if proc.returncode == 0 and not stopped:
        try:
            report = json.loads(out)
            if isinstance(report, dict) and isinstance(report.get("exercises"), list):
                return dict(report=report, error=None, seconds=seconds)
        except ValueError:
            pass
        return dict(report=None, error="the grading process of this folder printed something that is not a report",
                    seconds=seconds)
    return dict(report=None, error=_reason(proc, err, limit, stopped), seconds=seconds)


def _load(path: Path):
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return result if isinstance(result, dict) and "settings" in result and "stamp" in result else None


def _class_exercises(results: dict) -> list:
    """(lesson, id, function, max_points) of every exercise graded in the class, in the lessons' order."""
    seen = {}
    for result in results.values():
        for e in (result["report"] or {}).get("exercises", []):
            seen.setdefault((e["lesson"], e["id"]), (e["lesson"], e["id"], e["function"], e["max_points"]))
    return [seen[k] for k in sorted(seen, key=lambda k: (k[0], int(k[1].rsplit(".", 1)[-1])))]


def gradebook_rows(results: dict) -> list:
    """The gradebook's rows (lists in ``COLUMNS`` order) from {student: result}, sorted by student."""
    everyone = _class_exercises(results)
    rows = []
    for student in sorted(results):
        result = results[student]
        if result["report"] is not None:
            mine = [(e["lesson"], e["id"], e["function"], e["points"], e["max_points"])
                    for e in result["report"]["exercises"]]
        else:
            mine = [(lesson, id_, function, 0, top) for lesson, id_, function, top in everyone]
        rows += [[student, lesson, id_, function, _num(points), _num(top), ""] for lesson, id_, function, points, top
                 in mine]
        note = "" if result["error"] is None else f"not graded: {result['error']}"
        rows.append([student, "", "total", "", _num(sum(m[3] for m in mine)), _num(sum(m[4] for m in mine)), note])
    return rows


def feedback_text(result: dict, folder) -> str:
    """What the student sees: ``minigen grade``'s report, or why their folder could not be graded."""
    if result["report"] is not None:
        return format_report(result["report"], folder) + "\n"
    return f"Grading {folder}\n\nNot graded: {result['error']}\n\nScore: 0\n"


def _write_outputs(out: Path, submissions: Path, results: dict) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(gradebook_rows(results))
    for student, result in results.items():
        write_atomic(out / "feedback" / f"{student}.txt", feedback_text(result, submissions / student))
    write_atomic(out / "gradebook.csv", text.getvalue())


def _check_class(submissions: Path, out: Path, exercises: dict) -> list:
    """The students' names; a class that cannot be graded is one line, before anything is written."""
    if not submissions.is_dir():
        what = "is not a folder" if submissions.exists() else "does not exist"
        raise FileNotFoundError(f"the class folder (--class) {str(submissions)!r} {what}; give the folder that "
                                "holds one folder per student")
    students = _students(submissions)
    rules.require(students, "", "the class folder (--class)", "a folder holding one folder per student",
                  f"{str(submissions)!r} with no student folders in it")
    rules.require(any(_lesson_files(submissions / s, exercises) for s in students), "",
                  "the class folder (--class)", "student folders holding lesson files such as 05_lstm.py",
                  f"{len(students)} folder(s) in {str(submissions)!r} with none")
    rules.require(not out.exists() or out.is_dir(), "", "--out", "a folder", f"{str(out)!r}, which is a file")
    inside = out.resolve() == submissions.resolve() or submissions.resolve() in out.resolve().parents
    rules.require(not inside, "", "--out", "a folder outside the class folder", repr(str(out)))
    return students


def grade_class(submissions, *, out=None, jobs: int | None = None, force: bool = False, lessons=None,
                public_only: bool = False, timeout: float = 30.0, student_timeout: float | None = None,
                progress=print) -> dict:
    """Grade every student folder in ``submissions``, ``jobs`` at a time; write the gradebook and the feedback.

    ``student_timeout`` overrides each student's wall-clock limit (seconds; see the
    module's docstring for the default). ``progress`` receives one line per student as
    they finish (``[12/100] alice 27/29``); None prints nothing. Returns a summary:
    ``{"students", "graded", "kept", "failed", "mean_score", "max_score", "seconds", "out"}``
    (``max_score`` is None when the students' maxima differ).
    """
    start = time.monotonic()
    submissions = Path(submissions)
    jobs = rules.positive_int("grade_class", "jobs", (os.cpu_count() or 1) if jobs is None else jobs)
    timeout = rules.real("grade_class", "timeout", timeout, 0, lo_open=True)
    if student_timeout is not None:
        student_timeout = rules.real("grade_class", "student_timeout", student_timeout, 0, lo_open=True)
    root = lessons_dir(lessons).resolve()
    exercises = {lesson.name: len(lesson.exercises()) for lesson in list_lessons(root)}
    exercises = {name: n for name, n in exercises.items() if n}
    out = Path(out) if out is not None else submissions.resolve().parent / f"{submissions.resolve().name}-grades"
    students = _check_class(submissions, out, exercises)
    settings = dict(checks="public" if public_only else "public and hidden", lessons=str(root), timeout=timeout)

    for sub in ("feedback", "results"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    results, todo = {}, []
    for student in students:
        kept = None if force else _load(out / "results" / f"{student}.json")
        if kept and kept["settings"] == settings and kept["stamp"] == _stamp(submissions / student):
            results[student] = kept
        else:
            todo.append(student)
    if progress and results:
        progress(f"{len(results)} of {len(students)} students already graded: kept (--force grades them again)")

    children = _Children()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {}
        for student in todo:
            folder = submissions / student
            n = sum(exercises[name] for name in _lesson_files(folder, exercises))
            limit = student_timeout or 60.0 + (timeout + max(timeout, 60.0)) * n
            stamp = _stamp(folder)                         # before grading: a change during it is seen next time
            future = pool.submit(_grade_one, folder, root, public_only, timeout, limit, children)
            futures[future] = (student, stamp)
        try:
            for k, future in enumerate(as_completed(futures), start=1):
                student, stamp = futures[future]
                result = dict(student=student, stamp=stamp, settings=settings, **future.result())
                write_atomic(out / "results" / f"{student}.json", json.dumps(result, indent=1))
                write_atomic(out / "feedback" / f"{student}.txt", feedback_text(result, submissions / student))
                results[student] = result
                if progress:
                    report = result["report"]
                    score = (f"{_num(report['score'])}/{_num(report['max_score'])}" if report
                             else f"0 (failed: {result['error']})")
                    progress(f"[{k}/{len(todo)}] {student} {score}")
        except BaseException:                              # Ctrl-C: stop the children; the results so far stay
            pool.shutdown(wait=False, cancel_futures=True)
            children.stop()
            raise

    _write_outputs(out, submissions, results)
    totals = [r for r in gradebook_rows(results) if r[2] == "total"]
    tops = {float(r[5]) for r in totals}
    return dict(students=len(students), graded=len(todo), kept=len(students) - len(todo),
                failed=sum(r["error"] is not None for r in results.values()),
                mean_score=statistics.fmean(float(r[4]) for r in totals),
                max_score=tops.pop() if len(tops) == 1 else None,
                seconds=time.monotonic() - start, out=str(out))
