"""The worker's confinement, tried from inside a confined process, and the note when a part of it is missing."""

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from minigen.grading import format_report, grade, session
from minigen.grading.sandbox import allowed_paths

PACKAGE = Path(session.__file__).resolve().parents[1]


def landlock_abi():
    try:
        import landlock
        return landlock.landlock_abi_version()
    except Exception:   # noqa: BLE001 - no package, no kernel support
        return 0


needs_landlock = pytest.mark.skipif(landlock_abi() < 1, reason="this kernel has no Landlock")


def confined(tmp_path, body, **limits):
    """Run ``body`` in a fresh Python after ``confine`` (as the worker does); returns its JSON output."""
    stage, scratch, outside = tmp_path / "stage", tmp_path / "scratch", tmp_path / "outside"
    for folder in (stage, scratch, outside):
        folder.mkdir()
    (stage / "lesson.py").write_text("x = 1\n")
    (outside / "secret.txt").write_text("the hidden checks")
    read, listed = allowed_paths(PACKAGE)
    options = dict(stage=str(stage), scratch=str(scratch), room=2 ** 20, read=read, listed=listed,
                   cpu_seconds=60, memory_bytes=4 * 2 ** 30,
                   file_bytes=2 ** 20, processes=10_000, cgroup=None, **limits)
    program = textwrap.dedent(f"""
        import json, os, socket, sys
        from minigen.grading.sandbox import confine
        missing = confine(**{options!r})
        result = {{"missing": missing}}
        def attempt(name, fn):
            try:
                fn()
                result[name] = "ok"
            except OSError as e:
                result[name] = type(e).__name__
        """) + textwrap.dedent(body) + "\nprint(json.dumps(result))\n"
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120,
                         cwd=scratch)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1]), outside


@needs_landlock
def test_writes_go_only_to_the_scratch_folder_even_as_root(tmp_path):
    outside = tmp_path / "outside"
    result, outside = confined(tmp_path, f"""
        attempt("write inside", lambda: open("mine.txt", "w").write("x"))
        attempt("write outside", lambda: open({str(outside / "new.txt")!r}, "w").write("x"))
        attempt("delete outside", lambda: os.remove({str(outside / "secret.txt")!r}))
        attempt("read outside", lambda: open({str(outside / "secret.txt")!r}).read())
        attempt("list outside", lambda: os.listdir({str(outside)!r}))
        attempt("read minigen", lambda: open({str(PACKAGE / "backend.py")!r}).read())
        """)
    assert result["missing"] == {} if os.geteuid() != 0 else set(result["missing"]) <= {"processes"}
    assert result["write inside"] == "ok" and result["read minigen"] == "ok"
    assert result["write outside"] == "PermissionError" and result["delete outside"] == "PermissionError"
    assert result["read outside"] == "PermissionError" and result["list outside"] == "PermissionError"
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


@pytest.mark.skipif(landlock_abi() < 4, reason="Landlock network rules need ABI 4")
def test_no_tcp_connection(tmp_path):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    try:
        result, _ = confined(tmp_path, f"""
            attempt("connect", lambda: socket.create_connection(("127.0.0.1", {port}), timeout=5))
            attempt("listen", lambda: socket.create_server(("127.0.0.1", 0)))
            """)
    finally:
        server.close()
    assert result["connect"] == "PermissionError" and result["listen"] == "PermissionError"


@pytest.mark.skipif(landlock_abi() < 6, reason="Landlock signal scopes need ABI 6")
def test_no_signal_to_the_grader(tmp_path):
    result, _ = confined(tmp_path, f"""
        import signal
        attempt("kill the grader", lambda: os.kill({os.getpid()}, signal.SIGTERM))
        """)
    assert result["kill the grader"] == "PermissionError"


def test_a_large_file_fails_to_write_instead_of_filling_the_disk(tmp_path):
    result, _ = confined(tmp_path, """
        def flood():
            with open("flood.txt", "w") as f:
                for _ in range(64):
                    f.write("x" * 65536)
        attempt("flood", flood)
        result["size"] = os.path.getsize("flood.txt")
        """)
    assert result["flood"] == "OSError" and result["size"] <= 2 ** 20


def test_a_missing_safeguard_is_noted_once_and_grading_goes_on(tmp_path, monkeypatch):
    if os.geteuid() != 0:
        pytest.skip("the note is simulated with the root-only pids cgroup")
    monkeypatch.setattr(session, "make_pids_cgroup", lambda limit: None)
    root = tmp_path / "lessons"
    (root / "checks").mkdir(parents=True)
    lesson = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n"
    check = ("from minigen.grading import check, expect_close\n\n"
             "@check('double', points=1)\ndef doubles(student):\n    expect_close('double', 'y', student.double(2.0), 4.0)\n")
    for name in ("01_one", "02_two"):
        (root / f"{name}.py").write_text(lesson)
        (root / "checks" / f"{name}.py").write_text(check)
    folder = tmp_path / "student"
    folder.mkdir()
    for name in ("01_one", "02_two"):
        (folder / f"{name}.py").write_text(lesson)
    report = grade(folder, lessons=root)
    assert report["score"] == 2
    assert len(report["sandbox"]) == 1 and "RLIMIT_NPROC" in report["sandbox"][0]
    assert format_report(report, folder).count("Note:") == 1


def test_no_metadata_changes_and_no_capabilities(tmp_path):
    outside = tmp_path / "outside"
    result, _ = confined(tmp_path, f"""
        open("mine.txt", "w").write("x")
        attempt("chmod", lambda: os.chmod("mine.txt", 0o777))
        attempt("chmod outside", lambda: os.chmod({str(outside / "secret.txt")!r}, 0))
        attempt("utime outside", lambda: os.utime({str(outside / "secret.txt")!r}, (0, 0)))
        attempt("chown", lambda: os.chown("mine.txt", 1, 1))
        attempt("mknod", lambda: os.mknod("null", 0o666 | 0o020000, os.makedev(1, 3)))
        import ctypes
        from minigen.grading.sandbox import _CapData, _CapHeader
        data = (_CapData * 2)()
        ctypes.CDLL(None).capget(ctypes.byref(_CapHeader(0x20080522, 0)), data)
        result["capabilities"] = [d.effective | d.permitted for d in data]
        """)
    assert result["missing"] == {} if os.geteuid() != 0 else set(result["missing"]) <= {"processes"}
    for name in ("chmod", "chmod outside", "utime outside", "chown", "mknod"):
        assert result[name] == "PermissionError", name
    assert result["capabilities"] == [0, 0]
    assert (outside / "secret.txt").stat().st_mode & 0o777 != 0


def test_the_scratch_folder_is_a_private_tmpfs_with_the_submission_in_it(tmp_path):
    result, _ = confined(tmp_path, """
        result["copied"] = open("lesson.py").read()
        def fill():
            for i in range(4):
                with open("fill-%d.bin" % i, "wb") as f:
                    f.write(b"x" * (768 << 10))        # each under the 1 MiB file limit, 3 MiB in all
        attempt("fill", fill)
        result["written"] = sum(os.path.getsize(n) for n in os.listdir(".") if n.startswith("fill"))
        """)
    assert "disk" not in result["missing"], result["missing"]
    assert result["copied"] == "x = 1\n"
    assert result["fill"] == "OSError" and result["written"] <= 2 ** 20 + 4096
    assert sorted(p.name for p in (tmp_path / "scratch").iterdir()) == []       # nothing reached the real folder
