"""Grading a whole class (``minigen grade --class``): exact gradebook rows, feedback, resuming, bad input.

One class for lesson 05 (sigmoid 2 points, the LSTM step forward 3, its backward 5):
a correct student, a partial one, two whose file ends the process at load time, one
whose backward loops forever, one who lost the lesson file, one whose folder holds
no lesson file at all, and one whose file is garbage.
"""

import csv
import json
import os
import shutil

import pytest

from minigen.cli import main
from minigen.grading import assign, grade_class

from .test_exercises import write_lesson

ZERO_BACKWARD = ("dx, dh_prev, dc_prev, dW_ih, dW_hh, db = "
                 "[np.zeros_like(a) for a in cache[:5]] + [np.zeros(len(cache[4]))]")

# student: (points per exercise, total points); every student's maximum is 10
EXPECTED = {
    "alice": ([2, 3, 5], 10),           # correct
    "bob": ([2, 3, 0], 5),              # a wrong backward
    "carol": ([0, 0, 0], 0),            # os._exit(3) while the file loads
    "dave": ([2, 3, 0], 5),             # an endless loop in the backward
    "erin": ([0, 0, 0], 0),             # the handout without its lesson file
    "frank": ([0, 0, 0], 0),            # no lesson file at all: not graded
    "gina": ([0, 0, 0], 0),             # a garbled file
    "hank": ([0, 0, 0], 0),             # raise SystemExit while the file loads
}
EXERCISES = [("L05.1", "sigmoid", 2), ("L05.2", "lstm_step_forward", 3), ("L05.3", "lstm_step_backward", 5)]


def prepend(folder, text):
    path = folder / "05_lstm.py"
    path.write_text(text + path.read_text())


def make_class(root):
    write_lesson(root / "alice", "05")
    write_lesson(root / "bob", "05", {"lstm_step_backward": ZERO_BACKWARD})
    write_lesson(root / "carol", "05")
    prepend(root / "carol", "import os\n\n\nclass Boom:\n    os._exit(3)\n\n\n")
    write_lesson(root / "dave", "05", {"lstm_step_backward": "while True:\n    pass"})
    assign(["05"], root / "erin")
    (root / "erin" / "05_lstm.py").unlink()
    (root / "frank").mkdir()
    (root / "frank" / "notes.txt").write_text("I did not do it")
    (root / "gina").mkdir()
    (root / "gina" / "05_lstm.py").write_bytes(b"\xff\xfe\x00garbage" * 40)
    write_lesson(root / "hank", "05")
    prepend(root / "hank", "class Boom:\n    raise SystemExit(1)\n\n\n")
    (root / ".git").mkdir()                          # hidden names and plain files are not students
    (root / "roster.txt").write_text("alice bob ...")
    return root


def read_gradebook(out):
    with open(out / "gradebook.csv", newline="") as f:
        return list(csv.reader(f))


def run(argv, capsys):
    assert main(argv) == 0
    return capsys.readouterr()


def test_a_class_is_graded_into_exact_rows_and_resumes(tmp_path, capsys):
    submissions = make_class(tmp_path / "class")
    out = tmp_path / "class-grades"
    argv = ["grade", "--class", str(submissions), "--jobs", "2", "--timeout", "2"]
    printed = run(argv, capsys)

    rows = read_gradebook(out)
    assert rows[0] == ["student", "lesson", "exercise", "function", "points", "max_points", "note"]
    expected = []
    for student, (points, total) in EXPECTED.items():
        expected += [[student, "05_lstm", id_, function, str(p), str(top), ""]
                     for (id_, function, top), p in zip(EXERCISES, points)]
        expected.append([student, "", "total", "", str(total), "10", ""])
    assert [r[:6] for r in rows[1:]] == [r[:6] for r in expected]
    notes = {r[0]: r[6] for r in rows[1:] if r[6]}
    assert list(notes) == ["frank"] and "no lesson with exercises found" in notes["frank"]

    lines = printed.out.splitlines()
    assert sorted(line.split("] ")[1].split(" ")[0] for line in lines[:8]) == sorted(EXPECTED)
    assert "[8/8] " in printed.out and "alice 10/10" in printed.out and "bob 5/10" in printed.out
    assert "8 students (8 graded now, 0 kept" in printed.out and "1 failed to run" in printed.out
    assert "mean score 2.5/10" in printed.out and f"wrote {out}" in printed.out

    feedback = {p.stem: p.read_text() for p in (out / "feedback").iterdir()}
    assert sorted(feedback) == sorted(EXPECTED)
    assert "Score: 10/10" in feedback["alice"] and f"Grading {submissions / 'alice'}" in feedback["alice"]
    assert "died while loading it (exit status 3)" in feedback["carol"]
    assert "stopped after 2 s" in feedback["dave"]
    assert "05_lstm.py" in feedback["erin"] and "is missing" in feedback["erin"]
    assert "Not graded: no lesson with exercises found" in feedback["frank"]
    assert "SystemExit" in feedback["hank"]
    assert not [p for p in out.rglob(".*")]              # no temporary file left behind
    before = (out / "gradebook.csv").read_bytes()

    printed = run(argv, capsys)                          # nothing changed: nobody is graded again
    assert "8 of 8 students already graded" in printed.out and "[1/" not in printed.out
    assert (out / "gradebook.csv").read_bytes() == before

    (out / "results" / "bob.json").unlink()              # as if the run had stopped before bob
    os.utime(submissions / "alice" / "05_lstm.py")       # alice handed in again
    printed = run(argv, capsys)
    assert sorted(line.split()[1] for line in printed.out.splitlines() if line.startswith("[")) == ["alice", "bob"]
    assert (out / "gradebook.csv").read_bytes() == before

    printed = run(argv + ["--force"], capsys)
    assert "[8/8] " in printed.out and "0 kept" in printed.out
    assert (out / "gradebook.csv").read_bytes() == before


def test_the_per_student_limit_is_the_last_line_of_defence(tmp_path):
    submissions = tmp_path / "class"
    write_lesson(submissions / "dave", "05", {"lstm_step_backward": "while True:\n    pass"})
    lines = []
    summary = grade_class(submissions, out=tmp_path / "grades", jobs=2, timeout=30, student_timeout=1.5,
                          progress=lines.append)
    assert summary["failed"] == 1 and summary["mean_score"] == 0 and summary["students"] == 1
    result = json.loads((tmp_path / "grades" / "results" / "dave.json").read_text())
    assert "ran past the class limit of 1.5 s" in result["error"]
    assert any("dave 0 (failed: " in line for line in lines)
    note = "not graded: " + result["error"]
    assert read_gradebook(tmp_path / "grades")[1:] == [["dave", "", "total", "", "0", "0", note]]
    feedback = (tmp_path / "grades" / "feedback" / "dave.txt").read_text()
    assert "Not graded: the grading of this folder ran past" in feedback


def one_line_error(argv, capsys):
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("minigen grade: error: "), err
    return err


def test_bad_class_input_is_one_line_and_writes_nothing(tmp_path, capsys):
    good = tmp_path / "good"
    write_lesson(good / "alice", "05")
    empty = tmp_path / "empty"
    (empty / ".hidden").mkdir(parents=True)
    (empty / "roster.txt").write_text("x")
    no_lessons = tmp_path / "nolessons"
    for student in ("alice", "bob"):
        (no_lessons / student).mkdir(parents=True)
        (no_lessons / student / "notes.txt").write_text("x")
    (tmp_path / "afile").write_text("x")
    before = sorted(p.name for p in tmp_path.iterdir())

    err = one_line_error(["grade", "--class", str(tmp_path / "nowhere")], capsys)
    assert "the class folder (--class)" in err and "does not exist" in err
    err = one_line_error(["grade", "--class", str(empty)], capsys)
    assert "must be a folder holding one folder per student" in err and "with no student folders" in err
    err = one_line_error(["grade", "--class", str(no_lessons)], capsys)
    assert "student folders holding lesson files such as 05_lstm.py, got 2 folder(s)" in err
    for jobs in ("0", "-3"):
        assert f"--jobs must be a positive integer, got {jobs}" in one_line_error(
            ["grade", "--class", str(good), "--jobs", jobs], capsys)
    assert "DIR must be left out with --class" in one_line_error(["grade", str(good), "--class", str(good)], capsys)
    assert "--json must be left out with --class" in one_line_error(["grade", "--class", str(good), "--json"],
                                                                    capsys)
    assert "--jobs must be given only with --class" in one_line_error(["grade", str(good / "alice"), "--jobs", "2"],
                                                                      capsys)
    assert "--out must be given only with --class" in one_line_error(["grade", str(good / "alice"), "--out", "x"],
                                                                     capsys)
    assert "--out must be a folder outside the class folder" in one_line_error(
        ["grade", "--class", str(good), "--out", str(good / "grades")], capsys)
    assert "--out must be a folder, got" in one_line_error(
        ["grade", "--class", str(good), "--out", str(tmp_path / "afile")], capsys)
    assert "--timeout must be a finite number > 0" in one_line_error(
        ["grade", "--class", str(good), "--timeout", "0"], capsys)
    assert "DIR must be a student's folder, or --class SUBMISSIONS" in one_line_error(["grade"], capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert sorted(p.name for p in good.iterdir()) == ["alice"]
    with pytest.raises(ValueError, match="grade_class: jobs must be a positive integer, got 0"):
        grade_class(good, jobs=0)
    with pytest.raises(ValueError, match="grade_class: timeout must be a finite number > 0, got 0"):
        grade_class(good, timeout=0)
    with pytest.raises(ValueError, match="grade_class: student_timeout must be a finite number > 0, got -1"):
        grade_class(good, student_timeout=-1)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    shutil.rmtree(good)
