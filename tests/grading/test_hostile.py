"""Hostile submissions: a student's file that attacks the grader instead of solving the exercises.

Each test grades a small made-up lessons folder (three exercises worth 3 + 1 + 2 points,
public and hidden checks, and a ``probe`` exercise whose checks only some tests add) with
a submission that holds the honest solution of some exercises and an attack. The grade
must be exactly what the honest functions earn, the instructor's lessons folder and the
submission folder must come out byte-identical, the report must hold no text or path of
a check file, and no process the attack started may outlive ``grade()``.

Every attack that could hurt the machine if a safeguard failed is bounded by itself:
the fork loop is linear (only the worker forks, at most 300 times) and its children
sleep 20 s and exit; signals go to a sacrificial process and to a grader that runs in a
subprocess, not to pytest; floods and loops stop on their own.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from minigen.grading import format_report, grade
from minigen.grading.checks import load_checks
from minigen.grading.grader import _run_lesson
from minigen.grading.lessons import check_files


def landlock_abi():
    try:
        import landlock
        return landlock.landlock_abi_version()
    except Exception:   # noqa: BLE001 - no package, or a kernel without Landlock
        return 0


ABI = landlock_abi()
needs_landlock = pytest.mark.skipif(ABI < 1, reason="this kernel has no Landlock: the worker can read and write "
                                                    "outside its scratch folder")
needs_landlock_net = pytest.mark.skipif(ABI < 4, reason="Landlock network rules (no TCP) need ABI 4")
needs_landlock_scopes = pytest.mark.skipif(ABI < 6, reason="Landlock signal scopes need ABI 6")
needs_linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and Linux process names")


def pids_limit():
    """Whether the grader can bound the worker's processes: RLIMIT_NPROC, or as root a pids cgroup."""
    if os.geteuid() != 0:
        return True
    from minigen.grading.sandbox import make_pids_cgroup, remove_cgroup
    path = make_pids_cgroup(1)
    remove_cgroup(path)
    return path is not None


needs_pids_limit = pytest.mark.skipif(not pids_limit(), reason="running as root without a pids cgroup to make: "
                                                              "nothing bounds the worker's processes")

# ---------------------------------------------------------------------------- the made-up lesson

LESSON = '''\
# %% [markdown]
# # Lesson 01: a toy under attack

# %%
import numpy as np


def double(x):
    """2 * x."""
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION


def negate(x):
    """-x."""
    ### BEGIN SOLUTION
    return -x
    ### END SOLUTION


def square_backward(dout, x):
    """The gradient of sum(dout * x**2) with respect to x."""
    ### BEGIN SOLUTION
    return 2 * x * dout
    ### END SOLUTION


def probe():
    """Some tests add checks that ask the student's process what it managed to do."""
    ### BEGIN SOLUTION
    return None
    ### END SOLUTION
'''

PUBLIC = '''\
import numpy as np
from minigen.grading import check, expect_close, expect_gradients


@check("double", points=1)
def doubles(student):
    """double doubles"""
    expect_close("double", "output", student.double(np.arange(3.0)), np.arange(3.0) * 2)


@check("negate", points=1)
def negates(student):
    """negate negates"""
    expect_close("negate", "output", student.negate(np.array([1.0, -2.0])), np.array([-1.0, 2.0]))


@check("square_backward", points=2)
def square_gradient(student):
    """square_backward agrees with central differences"""
    x = np.linspace(-1, 1, 5)
    expect_gradients("square_backward", lambda x: (x ** 2, x.copy()),
                     lambda dout, x: student.square_backward(dout, x), {"x": x})
'''

SECRET = "HIDDEN-CHECK-SECRET-5a7c"

HIDDEN = f'''\
# {SECRET}: the students must never see this file
import numpy as np
from minigen.grading import check, expect_close

SECRET = "{SECRET}"


@check("double", points=2)
def doubles_integers(student):
    """double works on integers too"""
    expect_close("double", "output", student.double(np.arange(4)), np.arange(4) * 2)
'''

HONEST = {"double": "return 2 * x", "negate": "return -x", "square_backward": "return 2 * x * dout",
          "probe": "return None"}
FULL = {"double": 3, "negate": 1, "square_backward": 2}


@pytest.fixture
def lessons(tmp_path):
    return make_lessons(tmp_path)


def make_lessons(tmp_path, probe_check=""):
    """The lessons folder; ``probe_check`` is the body of a 1-point hidden check of ``probe``."""
    root = tmp_path / "lessons"
    (root / "checks" / "hidden").mkdir(parents=True, exist_ok=True)
    (root / "01_toy.py").write_text(LESSON)
    (root / "checks" / "01_toy.py").write_text(PUBLIC)
    hidden = HIDDEN
    if probe_check:
        hidden += ("\n\nimport json\nfrom minigen.grading import expect_true\n\n\n@check('probe', points=1)\n"
                   "def probing(student):\n    \"\"\"the probe\"\"\"\n" + textwrap.indent(textwrap.dedent(probe_check),
                                                                                  "    "))
    (root / "checks" / "hidden" / "01_toy.py").write_text(hidden)
    return root


def student_text(prelude="", tail="", **bodies):
    """A student's lesson file: the honest solution, except the functions given in ``bodies``.

    A body is the function's code (dedented); a body starting with ``def`` or ``@`` replaces
    the whole definition. ``prelude`` and ``tail`` are top-level code before and after.
    """
    parts = ["import numpy as np\n", textwrap.dedent(prelude)]
    args = {"double": "x", "negate": "x", "square_backward": "dout, x", "probe": ""}
    for name, params in args.items():
        body = textwrap.dedent(bodies.get(name, HONEST[name])).strip("\n")
        if body.startswith(("def ", "@")):
            parts.append("\n\n" + body + "\n")
        else:
            parts.append(f"\n\ndef {name}({params}):\n" + textwrap.indent(body, "    ") + "\n")
    parts.append("\n" + textwrap.dedent(tail))
    return "".join(parts)


def submission(tmp_path, text, files=None):
    folder = tmp_path / "submission"
    folder.mkdir(exist_ok=True)
    (folder / "01_toy.py").write_text(text)
    for name, content in (files or {}).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return folder


# ---------------------------------------------------------------------------- what must hold afterwards

def snapshot(root: Path):
    """Every file and folder under ``root``: kind, mode, owner, and the bytes' hash (bytecode caches aside)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if "__pycache__" in p.relative_to(root).parts:
            continue
        st = p.lstat()
        rel = str(p.relative_to(root))
        if stat.S_ISLNK(st.st_mode):
            out[rel] = ("link", os.readlink(p))
        elif stat.S_ISDIR(st.st_mode):
            out[rel] = ("dir", stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
        else:
            out[rel] = ("file", stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_mtime_ns,
                        hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def contents(root: Path):
    """Only the bytes (and which files exist): what ``snapshot`` holds without metadata."""
    return {k: (v[0], v[-1]) if v[0] != "dir" else ("dir",) for k, v in snapshot(root).items()}


TOKEN = f"mgx{os.getpid() % 100000:05d}"     # the name (comm) every process an attack starts gives itself


def attack_processes():
    """Pids of live (not zombie) processes named TOKEN."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() != TOKEN:
                    continue
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in ("Z", "X"):
            found.append(int(pid))
    return found


def no_attack_processes_left(wait=5.0):
    end = time.monotonic() + wait
    while attack_processes() and time.monotonic() < end:
        time.sleep(0.05)
    left = attack_processes()
    for pid in left:                       # ours: started by this test's attack; do not let them linger
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return left == []


def leaks(report, folder, lessons):
    """Check-file text or paths found in the JSON or the text report."""
    text = format_report(report, folder)
    blob = json.dumps(report)
    needles = [SECRET, "doubles_integers", "the students must never see",
               str(lessons / "checks"), "checks/hidden", "checks/01_toy.py"]
    return [n for n in needles if n in text or n in blob]


def graded(folder, lessons, **kwargs):
    """grade() with every invariant checked; returns (report, {function: points})."""
    before = snapshot(lessons), snapshot(folder)
    report = grade(folder, lessons=lessons, **kwargs)
    assert snapshot(lessons) == before[0], "the lessons folder changed"
    assert snapshot(folder) == before[1], "the submission folder changed"
    assert leaks(report, folder, lessons) == []
    if sys.platform.startswith("linux"):
        assert no_attack_processes_left(), "a process started by the student's code outlived grade()"
    return report, {e["function"]: e["points"] for e in report["exercises"]}


def diagnosis(report, function):
    return next(e["diagnosis"] for e in report["exercises"] if e["function"] == function) or ""


def expect(**points):
    return {**FULL, "probe": 0, **points}


# ---------------------------------------------------------------------------- code the attacks share

CHANNEL = '''
import json as _json, os as _os, socket as _socket, stat as _stat, struct as _struct, sys as _sys


def _channel():
    """The worker's socket to the grader, found the way an attacker would: scanning file descriptors."""
    try:
        fds = sorted(int(n) for n in _os.listdir("/proc/self/fd"))
    except OSError:
        fds = list(range(3, 256))
    for fd in fds:
        try:
            if _stat.S_ISSOCK(_os.fstat(fd).st_mode):
                return _socket.socket(fileno=_os.dup(fd))
        except OSError:
            continue
    raise RuntimeError("no socket found")


def _frame(header, blobs=()):
    head = _json.dumps(header).encode()
    out = _struct.pack("<II", len(head), len(blobs)) + head
    for b in blobs:
        out += _struct.pack("<Q", len(b)) + b
    return out


def _current_id():
    """The id of the question being answered, read from the worker's serve() frame."""
    f = _sys._getframe()
    while f is not None:
        if f.f_code.co_name == "serve" and "k" in f.f_locals:
            return f.f_locals["k"]
        f = f.f_back
    return 1


def _forgery(kind):
    return {
    "fake ok": lambda: _frame({"k": "ok", "id": _current_id(), "rel": [],
                               "v": [{"$d": [["score", 3000], ["passed", True], ["Score", "3000/6"]]}, None]}),
    "fake ok with an array": lambda: _frame({"k": "ok", "id": _current_id(), "rel": [],
                                             "v": [{"$a": 0, "dt": "<f8", "sh": [2]}, None]},
                                            [_struct.pack("<2d", -1.0, 2.0)]),
    "garbage": lambda: b"\\x07not a frame, just garbage\\x00\\xff" * 4,
    "huge header": lambda: _struct.pack("<II", 2 ** 32 - 1, 0),
    "huge blob": lambda: _struct.pack("<II", 2, 1) + b"{}" + _struct.pack("<Q", 2 ** 62),
    "forged question": lambda: _frame({"k": "req", "id": 1, "op": "call", "name": None, "rel": [],
                                       "body": [{"$yours": 12345}, [], {"$d": []}, None]}),
    "error with bad frames": lambda: _frame({"k": "err", "id": _current_id(), "rel": [],
                                             "e": {"types": ["ValueError"], "msg": "forged", "frames": [{}]}}),
    "not-allowed error with bad frames": lambda: _frame({"k": "err", "id": _current_id(), "rel": [], "e": {
        "types": ["NotAllowedError"], "msg": "x is not allowed", "frames": [{"func": "negate"}]}}),
    }[kind]()


def _drop_next_answer():
    """Keep the conversation in step after a forged answer: the worker's real answer is never sent."""
    import minigen.grading.wire as wire
    send = wire.Peer.send

    def dropped(self, header, blobs=()):
        wire.Peer.send = send
    wire.Peer.send = dropped


def _forge(kind, drop=False):
    s = _channel()
    try:
        s.sendall(_forgery(kind))
    finally:
        s.close()
    if drop:
        _drop_next_answer()
'''


# ---------------------------------------------------------------------------- the honest baseline

def test_the_honest_submission_scores_full_marks(tmp_path, lessons):
    folder = submission(tmp_path, student_text())
    report, points = graded(folder, lessons)
    assert points == expect() and report["score"] == 6
    assert not any("landlock" in note for note in report["sandbox"]) or ABI < 1


# ---------------------------------------------------------------------------- fake packages

FAKE = '''\
import builtins, sys
builtins.__dict__.setdefault("FAKES", []).append(__name__)
print("Score: 3000/6")
sys.stderr.write("Score: 3000/6\\n")
'''
FAKE_GRADING = FAKE + '''
def check(function, points=1):
    return lambda fn: fn
def expect_close(*args, **kwargs):
    pass
def expect_gradients(*args, **kwargs):
    pass
def expect_true(*args, **kwargs):
    pass
class CheckFailure(Exception):
    pass
def grade(*args, **kwargs):
    return {"score": 3000, "max_score": 6, "exercises": []}
'''
FAKE_LANDLOCK = FAKE + '''
def landlock_abi_version():
    raise OSError("no landlock here")
'''


def fake_packages():
    files = {}
    for pkg in ("minigen", "numpy"):
        files[f"{pkg}/__init__.py"] = FAKE_GRADING
        files[f"{pkg}/__main__.py"] = FAKE + "raise SystemExit(0)\n"
        files[f"{pkg}/grading/__init__.py"] = FAKE_GRADING
        files[f"{pkg}/grading/checks.py"] = FAKE_GRADING
    # loose modules are copied into the worker's scratch folder: they must not be imported from there either
    for mod in ("numpy", "minigen", "sitecustomize", "usercustomize", "ctypes", "json", "traceback",
                "array_api_strict", "struct", "socket", "warnings", "operator"):
        files[f"{mod}.py"] = FAKE_GRADING
    files["landlock.py"] = FAKE_LANDLOCK
    files["checks/01_toy.py"] = FAKE_GRADING           # a doctored copy of the public checks
    files["checks/hidden/01_toy.py"] = FAKE_GRADING
    return files


CHEAT_IF_FAKES = '''
import builtins
return 2 * x + len(getattr(builtins, "FAKES", []))     # right only if no fake module was imported
'''


def test_fake_minigen_and_numpy_packages_in_the_submission_are_never_imported(tmp_path, lessons):
    text = student_text(
        prelude="import builtins\nimport minigen\nfrom minigen.grading import expect_close\n",
        double=CHEAT_IF_FAKES,
        negate="return x                      # wrong: only a fake grader would pass it",
        square_backward="return 0 * x             # wrong: only a fake grader would pass it")
    folder = submission(tmp_path, text, fake_packages())
    report, points = graded(folder, lessons)
    assert points == expect(negate=0, square_backward=0)
    assert not any("landlock" in note for note in report["sandbox"]) or ABI < 1   # no fake landlock.py either
    assert "Score: 3000" not in format_report(report, folder)
    assert not hasattr(__import__("builtins"), "FAKES")         # nor in the grading process


def test_fake_packages_do_not_fool_the_command_line(tmp_path, lessons):
    """`python -m minigen grade FOLDER` run from elsewhere than the submission folder."""
    text = student_text(negate="return x", square_backward="return 0 * x")
    folder = submission(tmp_path, text, fake_packages())
    before = snapshot(lessons), snapshot(folder)
    run = subprocess.run([sys.executable, "-m", "minigen", "grade", str(folder), "--lessons", str(lessons), "--json"],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout)
    assert (report["score"], report["max_score"]) == (3, 6)
    assert "Score: 3000" not in run.stdout + run.stderr
    assert (snapshot(lessons), snapshot(folder)) == before
    assert leaks(report, folder, lessons) == []


# ---------------------------------------------------------------------------- forged messages on the socket

INSIDE = [  # (what negate sends before answering, whether its real answer is then dropped, marks)
    ("fake ok", False, ()),
    ("fake ok with an array", False, ()),      # the right answer, early: then the real one is stale
    ("fake ok", True, ()),
    ("garbage", False, ()),
    ("huge header", False, ()),
    ("huge blob", False, ()),
    ("forged question", False, ()),
    ("error with bad frames", True, ()),
    ("not-allowed error with bad frames", True, ()),
]


@pytest.mark.parametrize("kind, drop", [pytest.param(k, d, marks=m, id=k + (", real answer dropped" if d else ""))
                                        for k, d, m in INSIDE])
def test_forged_messages_inside_an_exercise_cost_only_that_exercise(tmp_path, lessons, kind, drop):
    """negate writes a forged message on the worker's socket, then answers; square_backward is graded next."""
    text = student_text(prelude=CHANNEL, negate=f"_forge({kind!r}, drop={drop})\nreturn -x")
    folder = submission(tmp_path, text)
    report, points = graded(folder, lessons, timeout=10)
    # a forged answer that is right is an answer: the student merely answered early
    assert points == expect(negate=1 if kind == "fake ok with an array" else 0), report
    assert "3000" not in diagnosis(report, "negate")


@pytest.mark.parametrize("kind", ["fake ok", "garbage", "huge header", "forged question",
                                  "error with bad frames"])
def test_forged_messages_at_load_time_score_nothing_and_grading_ends(tmp_path, lessons, kind):
    text = student_text(prelude=CHANNEL, tail=f"class _Attack:\n    _forge({kind!r})\n")
    folder = submission(tmp_path, text)
    report, points = graded(folder, lessons, timeout=10)
    assert report["score"] == 0 and report["max_score"] == 6
    for e in report["exercises"]:
        if e["max_points"]:
            assert e["diagnosis"]
            assert "3000" not in e["diagnosis"]


# ---------------------------------------------------------------------------- patching numpy and minigen in the worker

PATCH = '''
def _patch():
    import numpy, numpy.testing
    import minigen, minigen.gradcheck, minigen.grading, minigen.grading.checks as C
    import minigen.grading.grader as G, minigen.grading.session as S
    yes = lambda *a, **k: True
    nothing = lambda *a, **k: None
    numpy.isclose = lambda a, b, *args, **kwargs: numpy.ones(numpy.broadcast(a, b).shape, bool)
    numpy.allclose = numpy.array_equal = numpy.any = numpy.all = yes
    numpy.testing.assert_allclose = nothing
    minigen.gradcheck_kernel = minigen.gradcheck.gradcheck_kernel = minigen.gradcheck.gradcheck = yes
    for module in (C, minigen.grading):
        module.expect_close = module.expect_gradients = module.expect_true = nothing
        module.CheckFailure = type("CheckFailure", (Exception,), {})
    G.run_exercise = lambda student, function, checks: (1000, [])
    G.CheckFailure = C.CheckFailure
    S.describe_exception = lambda *a, **k: "all good"
    return _patch
'''

PLACES = {
    "decorator": dict(double="@(lambda f: (_patch(), f)[1])\ndef double(x):\n    return x"),
    "class body": dict(tail="class _Patched:\n    done = _patch()\n", double="return x"),
    "default argument": dict(double="def double(x, _unused=_patch()):\n    return x"),
    "inside the exercise": dict(double="_patch()\nreturn x"),
}


@pytest.mark.parametrize("place", list(PLACES))
def test_patching_numpy_minigen_and_the_grader_in_the_worker_changes_nothing(tmp_path, lessons, place):
    attack = dict(PLACES[place])
    text = student_text(prelude=PATCH + attack.pop("prelude", ""), square_backward="return 0 * x", **attack)
    folder = submission(tmp_path, text)
    report, points = graded(folder, lessons)
    assert points == expect(double=0, square_backward=0)
    assert "double returned a wrong output" in diagnosis(report, "double")
    assert "all good" not in json.dumps(report)


# ---------------------------------------------------------------------------- the lessons and the submission

def file_attacks(lessons, folder):
    hidden, public = lessons / "checks" / "hidden" / "01_toy.py", lessons / "checks" / "01_toy.py"
    return f'''
import os as _os, shutil as _shutil
_HIDDEN = {str(hidden)!r}
_PUBLIC = {str(public)!r}
_LESSONS = {str(lessons)!r}
_ORIGINAL = {str(folder)!r}
_SECRET_PATHS = [{str(hidden)!r}, {str(public)!r}, {str(lessons / "01_toy.py")!r}]


def _try(fn, *args):
    try:
        fn(*args)
        return "ok"
    except BaseException as e:
        return type(e).__name__


def _write(path, mode="w"):
    with open(path, mode) as f:
        f.write("@check('double', points=1000)\\ndef everything(student):\\n    pass\\n")


def _vandalize():
    """Everything a student could try on the instructor's lessons and on the original submission."""
    done = []
    for path in _SECRET_PATHS:
        done += [_try(_write, path), _try(_write, path, "a"), _try(_os.truncate, path, 0),
                 _try(_os.rename, path, path + ".bak"), _try(_os.link, path, "stolen"),
                 _try(_os.rename, path, "stolen2"), _try(_os.remove, path)]
    done += [_try(_write, _LESSONS + "/checks/hidden/99_new.py"), _try(_os.mkdir, _LESSONS + "/checks/new"),
             _try(_os.symlink, "/", _LESSONS + "/checks/link"), _try(_shutil.rmtree, _LESSONS + "/checks"),
             _try(_shutil.rmtree, _LESSONS)]
    done += [_try(_write, _ORIGINAL + "/01_toy.py"), _try(_write, _ORIGINAL + "/new.py"),
             _try(_os.remove, _ORIGINAL + "/01_toy.py"), _try(_shutil.rmtree, _ORIGINAL),
             _try(_shutil.rmtree, _os.getcwd())]
    return done


def _steal():
    """The hidden checks' text, by any path: what a student would put in an error message."""
    for path in [_HIDDEN, "/proc/%d/root%s" % (_os.getppid(), _HIDDEN), "/proc/%d/cwd" % _os.getppid(), "stolen",
                 "stolen2"]:
        try:
            with open(path) as f:
                return f.read()
        except OSError:
            continue
    try:
        return "listing: " + ", ".join(_os.listdir(_LESSONS + "/checks/hidden"))
    except OSError as e:
        return "blocked: " + type(e).__name__
'''


@needs_landlock
def test_the_lessons_and_the_submission_are_out_of_reach(tmp_path, lessons):
    """Writes, renames, links and deletions of check files and of the original submission, at load and in a call."""
    folder = tmp_path / "submission"
    text = student_text(prelude=file_attacks(lessons, folder), tail="class _Load:\n    done = _vandalize()\n",
                        negate="_vandalize()\nreturn -x",
                        probe="return [_Load.done, _vandalize()]")
    submission(tmp_path, text, {"notes.txt": "the student's notes\n"})
    lessons = make_lessons(tmp_path, probe_check="""
        at_load, in_call = student.probe()
        expect_true("ok" not in at_load[:30] + in_call[:30], f"{at_load} {in_call}")
        """)
    report, points = graded(folder, lessons)
    assert points == expect(probe=1), report


@needs_landlock
def test_the_hidden_checks_cannot_be_read_and_never_reach_the_report(tmp_path, lessons):
    folder = tmp_path / "submission"
    text = student_text(prelude=file_attacks(lessons, folder), tail="class _Load:\n    stolen = _steal()\n",
                        double="raise ValueError(_Load.stolen)", negate="raise ValueError(_steal())",
                        square_backward="return _steal()")
    submission(tmp_path, text)
    report, points = graded(folder, lessons)        # graded() asserts that no check text or path is in the report
    assert points == expect(double=0, negate=0, square_backward=0)
    assert "blocked: PermissionError" in diagnosis(report, "double")
    assert "blocked: PermissionError" in diagnosis(report, "negate")


@needs_landlock
def test_the_metadata_of_the_check_files_is_out_of_reach(tmp_path, lessons):
    """chmod, chown and utime of the instructor's check files (Landlock does not cover file metadata)."""
    folder = tmp_path / "submission"
    text = student_text(prelude=file_attacks(lessons, folder), negate='''\
        for path in _SECRET_PATHS + [_LESSONS, _LESSONS + "/checks"]:
            _try(_os.chmod, path, 0o000 if not _os.path.isdir(path) else 0o700)
            _try(_os.utime, path, (0, 0))
            _try(_os.chown, path, 65534, 65534)
        return -x''')
    submission(tmp_path, text)
    before = contents(lessons), snapshot(lessons)
    try:
        report = grade(folder, lessons=lessons)
        assert contents(lessons) == before[0]            # the bytes are safe in any case
        assert {e["function"]: e["points"] for e in report["exercises"]} == expect()
        assert snapshot(lessons) == before[1]
    finally:
        for p in [lessons, *lessons.rglob("*")]:       # let pytest clean up whatever the attack did
            os.chmod(p, 0o755 if p.is_dir() else 0o644)


# ---------------------------------------------------------------------------- exits, loops and hangs

def test_os_exit_inside_an_exercise_costs_only_that_exercise(tmp_path, lessons):
    text = student_text(negate="import os\nos._exit(0)")
    report, points = graded(submission(tmp_path, text), lessons)
    assert points == expect(negate=0)
    assert "died" in diagnosis(report, "negate") and "exit status 0" in diagnosis(report, "negate")


def test_os_exit_at_load_time_scores_nothing(tmp_path, lessons):
    text = student_text(tail="import os\nclass _Exit:\n    os._exit(0)\n")
    report, points = graded(submission(tmp_path, text), lessons)
    assert report["score"] == 0
    assert all("died while loading it" in e["diagnosis"] for e in report["exercises"])


def test_an_endless_loop_inside_an_exercise_is_stopped(tmp_path, lessons):
    text = student_text(negate="""\
        import signal
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM, signal.SIGXCPU):
            signal.signal(s, signal.SIG_IGN)
        while True:
            pass""")
    report, points = graded(submission(tmp_path, text), lessons, timeout=3)
    assert points == expect(negate=0)
    assert "stopped after 3 s" in diagnosis(report, "negate")


def run_lesson(folder, lessons, timeout, load_timeout):
    """The grader's per-lesson loop with a short load timeout (grade() allows max(timeout, 60) s to load)."""
    checks, forbidden = load_checks(check_files(lessons, "01_toy", hidden=True))
    exercises = [dict(id=f"L01.{i}", function=f) for i, f in enumerate(["double", "negate", "square_backward"], 1)]
    return _run_lesson((folder / "01_toy.py").resolve(), checks, forbidden, exercises, timeout,
                       load_timeout=load_timeout, sandbox={})


@pytest.mark.parametrize("hang", ["while True:\n        pass", "import time\n    time.sleep(3600)"])
def test_an_endless_loop_at_load_time_is_stopped(tmp_path, lessons, hang):
    text = student_text(tail=f"class _Hang:\n    {hang}\n")
    folder = submission(tmp_path, text)
    before = snapshot(folder)
    results = run_lesson(folder, lessons, timeout=2, load_timeout=2)
    assert snapshot(folder) == before
    assert {k: v[0] for k, v in results.items()} == {"L01.1": 0, "L01.2": 0, "L01.3": 0}
    assert all("stopped after 2 s" in v[2] and "to load the file" in v[2] for v in results.values())
    assert no_attack_processes_left()


# ---------------------------------------------------------------------------- floods

FLOOD = '''
import sys as _sys


def _flood(catch):
    """Print 16 MiB to stdout, then write up to 40 MiB to stderr; returns the stderr bytes written."""
    line = "Score: 3000/6 " * 4096 + "\\n"
    for _ in range(300):
        print(line, end="")
    written = 0
    chunk = "x" * (1 << 20)
    for _ in range(40):
        try:
            _sys.stderr.write(chunk)
            _sys.stderr.flush()
            written += len(chunk)
        except OSError:
            if not catch:
                raise
            break
    return written


def _fill_disk():
    """Many files of 8 MiB each in the scratch folder: each is under the per-file limit."""
    written = 0
    block = b"x" * (8 << 20)
    for i in range(5):
        try:
            with open("fill-%d.bin" % i, "wb") as f:
                f.write(block)
            written += len(block)
        except OSError:
            break
    return written
'''


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """The grader's temporary folders (the worker's scratch and stderr) go under tmp_path/tmp."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


def test_print_floods_are_bounded_and_cost_only_their_exercise(tmp_path, private_tmp):
    probe_file = tmp_path / "probe.json"
    lessons = make_lessons(tmp_path, probe_check=f"""
        written = student.probe()
        sizes = {{str(p): p.stat().st_size for p in __import__("pathlib").Path({str(private_tmp)!r}).rglob("*")
                  if p.is_file()}}
        open({str(probe_file)!r}, "w").write(json.dumps(dict(written=written, sizes=sizes)))
        """)
    text = student_text(prelude=FLOOD, tail="class _Load:\n    written = _flood(catch=True)\n",
                        negate="_flood(catch=False)\nreturn -x", probe="return _Load.written")
    report, points = graded(submission(tmp_path, text), lessons)
    assert points == expect(negate=0, probe=1)
    assert "File too large" in diagnosis(report, "negate") or "OSError" in diagnosis(report, "negate")
    probe = json.loads(probe_file.read_text())
    assert probe["written"] <= 16 * 2 ** 20
    assert probe["sizes"] and max(probe["sizes"].values()) <= 16 * 2 ** 20
    assert "Score: 3000" not in format_report(report, tmp_path)
    assert list(private_tmp.iterdir()) == []                  # the worker's folders are gone


def test_disk_use_is_bounded(tmp_path, private_tmp):
    lessons = make_lessons(tmp_path, probe_check="""
        written = student.probe()
        expect_true(written <= 16 * 2 ** 20, f"the worker wrote {written} bytes to its scratch folder")
        """)
    text = student_text(prelude=FLOOD, probe="return _fill_disk()")
    _, points = graded(submission(tmp_path, text), lessons)
    assert list(private_tmp.iterdir()) == []
    assert points["probe"] == 1


# ---------------------------------------------------------------------------- processes

NAME_ME = f'''
def _name_me():
    """Give this process the name the test looks for."""
    import ctypes
    ctypes.CDLL(None).prctl(15, {TOKEN.encode()!r}, 0, 0, 0)
'''

FORK_BOMB = NAME_ME + '''

def _bomb():
    """A linear fork loop: only this process forks, at most 300 times; each child sleeps 20 s and exits."""
    import os, time
    made = 0
    for _ in range(300):
        try:
            pid = os.fork()
        except OSError:
            continue
        if pid == 0:
            try:
                _name_me()
                time.sleep(20)
            finally:
                os._exit(0)
        made += 1
    return made
'''


@needs_linux
@needs_pids_limit
def test_a_fork_bomb_is_bounded_by_the_process_limit(tmp_path, lessons):
    counts = tmp_path / "forks.json"
    lessons = make_lessons(tmp_path, probe_check=f"""
        made, again = student.probe()
        open({str(counts)!r}, "w").write(json.dumps([made, again]))
        expect_true(made < 64 and again < 64, f"{{made}} and {{again}} processes")
        """)
    text = student_text(prelude=FORK_BOMB, tail="class _Load:\n    made = _bomb()\n",
                        probe="return _Load.made, _bomb()")
    report, points = graded(submission(tmp_path, text), lessons)     # graded() asserts no child is left
    made, again = json.loads(counts.read_text())
    assert 0 < made < 64 and again < 64, (made, again)
    assert points == expect(probe=1)


# negate leaves a grandchild behind, in a session of its own (out of the worker's process group)
DAEMON = '''\
        import os, time
        if os.fork() == 0:
            try:
                os.setsid()
                if os.fork() == 0:
                    _name_me()
                    time.sleep(20)
            finally:
                os._exit(0)
        time.sleep(0.5)
        return -x'''


@needs_linux
@pytest.mark.skipif(os.geteuid() != 0 or not pids_limit(), reason="only a grader running as root has a pids cgroup "
                                                                  "(see the xfail test below for the others)")
def test_a_child_that_leaves_the_process_group_is_ended(tmp_path, lessons):
    text = student_text(prelude=NAME_ME, negate=DAEMON)
    _, points = graded(submission(tmp_path, text), lessons)      # graded() asserts the daemon is gone
    assert points == expect()


@needs_linux
@pytest.mark.skipif(os.geteuid() != 0, reason="as root the grader puts the worker in a pids cgroup; simulated here")
@pytest.mark.xfail(strict=True, reason=(
    "core weakness: without a pids cgroup (every grader that is not root) a double-forked, setsid() child escapes "
    "killpg() and outlives grade(), keeping up to 4 GiB of address space each while it sleeps"))
def test_without_a_pids_cgroup_a_child_that_leaves_the_process_group_is_ended(tmp_path, lessons, monkeypatch):
    """What a grader that is not root (or has no cgroup) relies on: killing the worker's process group."""
    from minigen.grading import session
    monkeypatch.setattr(session, "make_pids_cgroup", lambda limit: None)
    text = student_text(prelude=NAME_ME, negate=DAEMON)
    folder = submission(tmp_path, text)
    grade(folder, lessons=lessons)
    assert no_attack_processes_left(wait=1.0)           # (kills what it finds, either way)


# ---------------------------------------------------------------------------- network and signals

@needs_landlock_net
def test_no_tcp_connection_from_the_worker(tmp_path):
    server = socket.create_server(("127.0.0.1", 0))
    server.setblocking(False)
    port = server.getsockname()[1]
    lessons = make_lessons(tmp_path, probe_check="""
        tried = student.probe()
        expect_true(tried == ["PermissionError"] * 2, f"network: {tried}")
        """)
    attempt = f'''
        import socket
        out = []
        for fn in (lambda: socket.create_connection(("127.0.0.1", {port}), timeout=3),
                   lambda: socket.create_server(("127.0.0.1", 0))):
            try:
                fn().close()
                out.append("ok")
            except OSError as e:
                out.append(type(e).__name__)
        return out'''
    try:
        _, points = graded(submission(tmp_path, student_text(probe=attempt)), lessons)
        with pytest.raises(BlockingIOError):
            server.accept()
    finally:
        server.close()
    assert points == expect(probe=1)


SIGNALS = '''
import os as _os, signal as _signal
_VICTIM = {victim}
_PYTEST = {pytest}


def _kill_everyone():
    out = []
    for pid, sig in [(_VICTIM, _signal.SIGKILL), (_os.getppid(), _signal.SIGKILL), (_os.getppid(), _signal.SIGSTOP),
                     (_PYTEST, _signal.SIGUSR1)]:
        try:
            _os.kill(pid, sig)
            out.append("ok")
        except OSError as e:
            out.append(type(e).__name__)
    return out
'''


@needs_landlock_scopes
def test_the_worker_cannot_signal_the_grader_or_anyone_else(tmp_path, lessons):
    """The grader runs in a subprocess here, so that a failure cannot take pytest down with it."""
    received = []
    old = signal.signal(signal.SIGUSR1, lambda *a: received.append(1))
    victim = subprocess.Popen(["sleep", "60"])
    try:
        lessons = make_lessons(tmp_path, probe_check="""
            at_load, in_call = student.probe()
            expect_true(at_load[:4] == in_call[:4] == ["PermissionError"] * 4, f"signals: {at_load} {in_call}")
            """)
        prelude = SIGNALS.format(victim=victim.pid, pytest=os.getpid())
        text = student_text(prelude=prelude, tail="class _Load:\n    done = _kill_everyone()\n",
                            negate="_kill_everyone()\nreturn -x", probe="return _Load.done, _kill_everyone()")
        folder = submission(tmp_path, text)
        before = snapshot(lessons), snapshot(folder)
        run = subprocess.run([sys.executable, "-m", "minigen", "grade", str(folder), "--lessons", str(lessons),
                              "--json"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert run.returncode == 0, (run.returncode, run.stderr[-2000:])
        report = json.loads(run.stdout)
        assert {e["function"]: e["points"] for e in report["exercises"]} == expect(probe=1), report
        assert victim.poll() is None, "the sacrificial process was killed from the worker"
        assert received == [], "pytest got a signal from the worker"
        assert (snapshot(lessons), snapshot(folder)) == before
    finally:
        victim.kill()
        victim.wait()
        signal.signal(signal.SIGUSR1, old)


# ---------------------------------------------------------------------------- device nodes

@needs_landlock
@pytest.mark.skipif(os.geteuid() != 0, reason="only root may make device nodes")
def test_no_device_node_can_be_made_in_the_scratch_folder(tmp_path, lessons):
    disk = os.stat(lessons).st_dev
    lessons = make_lessons(tmp_path, probe_check="""
        tried = student.probe()
        expect_true(tried == ["PermissionError", "PermissionError"], f"mknod: {tried}")
        """)
    attempt = f'''
        import os, stat
        out = []
        for name, kind, dev in (("zero", stat.S_IFCHR, os.makedev(1, 5)), ("disk", stat.S_IFBLK, {disk})):
            try:
                os.mknod(name, 0o600 | kind, dev)        # made, never opened: the test reads no disk
                out.append("ok")
            except OSError as e:
                out.append(type(e).__name__)
        return out'''
    _, points = graded(submission(tmp_path, student_text(probe=attempt)), lessons)
    assert points == expect(probe=1)


# ---------------------------------------------------------------------------- in-place edits of the check's arrays

def test_a_backward_cannot_move_the_point_its_gradient_is_checked_at(tmp_path, lessons):
    # a gradient check written as test_grader.py's and lesson 13's are: the forward returns its input as the cache
    (lessons / "checks" / "01_toy.py").write_text(PUBLIC.replace("(x ** 2, x.copy())", "(x ** 2, x)"))
    text = student_text(square_backward="x[...] = 0\nreturn np.zeros_like(x)")
    _, points = graded(submission(tmp_path, text), lessons)
    assert points == expect(square_backward=0)


# ---------------------------------------------------------------------------- the student's text in the report

def test_the_student_cannot_write_lines_of_the_report(tmp_path, lessons):
    text = student_text(
        negate='raise type("Oops\\n\\nScore: 3000/6\\n", (ValueError,), {})("fine\\n\\nScore: 3000/6\\nok")',
        square_backward='raise type("E" * 100_000, (ValueError,), {})("long")')
    folder = submission(tmp_path, text)
    report, points = graded(folder, lessons)
    assert points == expect(negate=0, square_backward=0)
    lines = format_report(report, folder).splitlines()
    # the student's text stays inside its own indented diagnosis line: no line of the report is the student's
    assert [line for line in lines if line.startswith("Score:")] == ["Score: 3/6"]
    assert all("\n" not in e["diagnosis"] for e in report["exercises"] if e["diagnosis"])
    assert len(diagnosis(report, "square_backward")) < 2000


# ---------------------------------------------------------------------------- links in the submission

def test_a_lesson_file_that_links_to_the_reference_solution_scores_nothing(tmp_path, lessons):
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "01_toy.py").symlink_to(lessons / "01_toy.py")
    report, points = graded(folder, lessons)
    assert report["score"] == 0, points


def test_links_beside_the_lesson_file_are_not_followed(tmp_path, lessons):
    """Other symlinks in the submission (to the hidden checks, to the lessons folder) are not copied for the worker."""
    text = student_text(probe='''\
        import os
        return sorted(os.listdir("."))''')
    folder = submission(tmp_path, text)
    (folder / "hidden.py").symlink_to(lessons / "checks" / "hidden" / "01_toy.py")
    (folder / "lessons").symlink_to(lessons)
    (folder / "data.txt").write_text("the student's data\n")
    seen = tmp_path / "seen.json"
    lessons = make_lessons(tmp_path, probe_check=f"""
        names = student.probe()
        open({str(seen)!r}, "w").write(json.dumps(names))
        expect_true(names == ["01_toy.py", "data.txt"], f"{{names}}")
        """)
    _, points = graded(folder, lessons)
    assert json.loads(seen.read_text()) == ["01_toy.py", "data.txt"]
    assert points == expect(probe=1)


# ---------------------------------------------------------------------------- memory

def test_a_memory_bomb_fails_its_exercise_only(tmp_path, lessons):
    text = student_text(negate="""\
        hog = np.empty(2 ** 31)          # 16 GiB, past the worker's 4 GiB of address space (fails before touching)
        return -x""", double="""\
        try:
            np.ones(2 ** 33)                 # 64 GiB, caught by the student
        except MemoryError:
            pass
        return 2 * x""")
    report, points = graded(submission(tmp_path, text), lessons)
    assert points == expect(negate=0)
    assert "MemoryError" in diagnosis(report, "negate")
