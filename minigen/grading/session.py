"""The grader's side of one worker: start it confined, load the student's file, ask, and end it.

The checks never run in the worker and the grader never imports the student's
code: a check's ``student.lstm_step_forward(x, ...)`` sends the arguments to the
worker as plain data and gets plain data back (``rpc``). What the worker may ask of
the grader in return is narrow (``GraderPolicy``): call what it was handed, read
public attributes and apply operators; it may set nothing and import nothing here.

A worker that dies, hangs past its deadline or sends a malformed message raises
``WorkerLost`` in the grader, which then scores the exercise 0 and starts afresh.
"""

from __future__ import annotations

import builtins
import functools
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

from ..autograd import Tensor
from ..nn import Module
from .checks import CheckFailure
from .rpc import OPERATORS, Connection, Policy, cut
from .sandbox import allowed_paths, make_pids_cgroup, remove_cgroup, user_tasks

__all__ = ["Worker", "WorkerLost", "SandboxError", "StudentError", "NotAllowedError", "describe_exception"]

MEMORY = 4 * 2 ** 30          # address space of the worker
FILE_SIZE = 16 * 2 ** 20      # largest file it may write (its stderr included)
PROCESSES = 32                # processes and threads beyond what the user runs already
COPY_LIMIT = 64 * 2 ** 20     # bytes of the submission folder copied into the scratch folder
ROOM = 16 * 2 ** 20           # what the worker may write there beyond the copy, in all
# the worker imports the grader's own minigen (its folder first on sys.path), whatever else is installed
BOOT = "import sys; sys.path.insert(0, sys.argv[2]); from minigen.grading.worker import main; sys.exit(main(int(sys.argv[1])))"


class WorkerLost(BaseException):
    """The worker died, ran past its time or sent garbage. A BaseException, so that no check swallows it."""


class SandboxError(OSError):
    """The worker could not be confined as asked; grading stops rather than run student code unconfined."""


class StudentError(Exception):
    """Something about the student's file itself: a missing definition, a load failure."""


class NotAllowedError(PermissionError):
    """The student's code called a minigen function that its exercise must implement."""


_SAFE_TYPES = (types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.BuiltinMethodType,
               functools.partial, types.GeneratorType, Tensor, Module)
_READ_ONLY_OPS = OPERATORS - {"setitem", "delitem"}
# methods of the grader's Tensors and Modules that change them; the student's code may use the rest
_MUTATORS = {"backward", "zero_grad", "requires_grad_", "retain_grad", "load_state_dict", "register_parameter",
             "register_buffer", "train", "eval", "apply"}


class GraderPolicy(Policy):
    """What a student's worker may ask of the grader: little."""

    catches = (Exception,)
    sticky = (CheckFailure,)

    def may_export(self, obj):
        if not isinstance(obj, _SAFE_TYPES):
            raise PermissionError(f"the grader does not pass a {type(obj).__name__} to student code")

    def may_request(self, op, target, name):
        if op == "call" or op == "isinstance" or (op == "op" and name in _READ_ONLY_OPS):
            return
        if op == "getattr" and isinstance(name, str) and not name.startswith("_") and name not in _MUTATORS:
            return
        raise PermissionError(f"student code may not {op} {name or ''} on the grader's objects".replace("  ", " "))

    def lost(self, exc):
        if isinstance(exc, TimeoutError):
            return WorkerLost("timeout")
        if isinstance(exc, (EOFError, BrokenPipeError, ConnectionResetError)):
            return WorkerLost("died")
        return WorkerLost(f"sent a malformed message ({cut(str(exc), 1)})")

    def exception(self, info):
        types_ = info.get("types")
        names = [cut(n, 1, 60) for n in types_[:12] if isinstance(n, str)] if isinstance(types_, list) else []
        message = cut(str(info.get("msg", "")))
        if "StudentError" in names:
            exc = StudentError(message)
        elif "NotAllowedError" in names:
            exc = NotAllowedError(message)
        else:
            exc = None
            for name in names:
                cls = getattr(builtins, name, None)
                if isinstance(cls, type) and issubclass(cls, Exception):
                    try:
                        exc = cls(message)
                        break
                    except Exception:   # noqa: BLE001 - UnicodeDecodeError and the like take other arguments
                        continue
            exc = exc or RuntimeError(message)
        frames = info.get("frames")
        exc.student_frames = [_frame(f) for f in frames[-3:]] if isinstance(frames, list) else []
        exc.student_type = names[0] if names else "Exception"
        return exc


def _frame(f):
    """A frame of the student's file as the worker reported it, whatever it sent."""
    f = f if isinstance(f, dict) else {}
    line = f.get("line")
    return {"line": line if type(line) is int else 0, "func": cut(f.get("func", "?"), 1, 80),
            "code": cut(f.get("code", ""), 1, 160)}


class StudentProxy:
    """``student`` as the checks see it: the student's definitions, each call a request to the worker."""

    def __init__(self, remote, filename, skipped):
        self._remote, self._filename, self._skipped, self._cache = remote, filename, set(skipped), {}

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in self._cache:
            self._cache[name] = getattr(self._remote, name)
        return self._cache[name]


class Worker:
    """One confined worker process for one student's lesson file."""

    def __init__(self, student_file: Path, *, cpu_seconds: float):
        self.tmp = Path(tempfile.mkdtemp(prefix="minigen-grade-"))
        stage, scratch = self.tmp / "stage", self.tmp / "work"
        _copy_submission(student_file.parent, stage)
        scratch.mkdir()
        self.log = open(self.tmp / "stderr", "w+b")
        ours, theirs = socket.socketpair()
        self.cgroup = make_pids_cgroup(PROCESSES) if os.geteuid() == 0 else None
        package = Path(__file__).resolve().parents[1]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(scratch), "MPLBACKEND": "Agg",
               "MPLCONFIGDIR": str(scratch / ".matplotlib"), "MINIGEN_QUICK": "1", "OPENBLAS_NUM_THREADS": "1",
               "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "LANG": "C.UTF-8"}
        for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):     # as the machine sets them
            if key in os.environ:
                env[key] = os.environ[key]
        self.proc = subprocess.Popen([sys.executable, "-I", "-c", BOOT, str(theirs.fileno()), str(package.parent)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log,
                                     pass_fds=[theirs.fileno()], cwd=scratch, env=env, start_new_session=True)
        theirs.close()
        self.conn = Connection(ours, GraderPolicy())
        self.file = scratch / student_file.name
        read, listed = allowed_paths(package)
        processes = PROCESSES + (0 if os.geteuid() == 0 else user_tasks(os.getuid()))
        self.limits = dict(stage=str(stage), scratch=str(scratch), room=ROOM, read=read, listed=listed,
                           cpu_seconds=int(cpu_seconds) + 10,
                           memory_bytes=MEMORY, file_bytes=FILE_SIZE, processes=processes, cgroup=self.cgroup)

    def start(self, forbidden, deadline: float):
        """Confine the worker and load the student's file; returns (student, what the sandbox lacks)."""
        self.conn.peer.deadline = time.monotonic() + deadline
        try:
            missing = self.conn.request("confine", extra=self.limits)
        except Exception as e:   # noqa: BLE001 - no student code has run yet: this is the grader's problem
            raise SandboxError(f"could not confine the worker ({type(e).__name__}: {e})") from None
        remote, skipped = self.conn.request("load", extra={"file": str(self.file), "forbidden": sorted(forbidden)})
        return StudentProxy(remote, self.file.name, skipped), dict(missing)

    def quiet(self) -> bool:
        """Nothing unread from the worker between two exercises (else it wrote on its own: start afresh)."""
        if len(self.conn.peer.buffer) > self.conn.peer.pos:
            return False
        return not select.select([self.conn.peer.sock], [], [], 0)[0]

    def exit_status(self, grace: float = 5.0):
        """The worker's exit status; its socket closes a moment before the exit is reported, so wait a little."""
        try:
            return self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            return None

    def last_words(self) -> str:
        self.log.seek(0, os.SEEK_END)
        self.log.seek(max(0, self.log.tell() - 2000))
        lines = self.log.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1][:200] if lines else ""

    def close(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        remove_cgroup(self.cgroup)
        self.conn.peer.sock.close()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def _copy_submission(folder: Path, stage: Path):
    """The regular files at the top of the submission folder (no links, no subfolders), up to COPY_LIMIT."""
    stage.mkdir()
    total = 0
    for entry in sorted(os.scandir(folder), key=lambda e: (not e.name.endswith(".py"), e.name)):
        if entry.is_file(follow_symlinks=False):
            size = entry.stat(follow_symlinks=False).st_size
            if total + size <= COPY_LIMIT:
                shutil.copyfile(entry.path, stage / entry.name)
                total += size


def describe_exception(exc: BaseException, student: StudentProxy, function: str) -> str:
    """A one-paragraph diagnosis of an exception raised while checking an exercise."""
    if isinstance(exc, StudentError):
        return str(exc)
    frames = getattr(exc, "student_frames", None)
    name = student._filename if student is not None else "your file"
    kind = getattr(exc, "student_type", type(exc).__name__)
    text = str(exc)
    if isinstance(exc, NotAllowedError):
        where = f" ({name}, line {frames[-1]['line']}: `{frames[-1]['code']}`)" if frames else ""
        return f"{function} calls {text.replace(' is not allowed', ', which is not allowed', 1)}{where}"
    if frames is None:                 # raised by the check itself, on what the student's code returned
        return (f"the check could not use what {function} returned: {type(exc).__name__}: {cut(text, 2)}. Does it "
                "return what the lesson's docstring asks for, in that order?")
    if isinstance(exc, NotImplementedError) and frames:
        where = frames[-1]["func"]
        if where == function.split(".")[-1] or text.endswith(f"implement {function}"):
            return f"not implemented yet ({text or 'NotImplementedError'})"
        return f"this check needs `{where}`, which is not implemented yet ({text or 'NotImplementedError'})"
    if frames:
        f = frames[-1]
        code = f" `{f['code']}`" if f.get("code") else ""
        hint = ""
        if isinstance(exc, NameError) and student is not None:
            missing = text.split("'")[1] if text.count("'") >= 2 else None
            if missing in student._skipped:
                hint = (f". The grader runs only your imports, functions, classes and constants, not the lesson's "
                        f"other top-level code, so `{missing}` does not exist there: create it inside the function")
        return f"{f['func']} raised {kind}: {text} ({name}, line {f['line']}:{code}){hint}"
    return f"{function} raised {kind}: {text}"
