"""The grader on a small made-up lessons folder: points, diagnoses, and a student's worst code."""

import json
import textwrap

import pytest

from minigen.cli import main
from minigen.grading import assign, check, grade

LESSON = '''\
# %% [markdown]
# # Lesson 01: a toy

# %%
import numpy as np


def double(x):
    """2 * x."""
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION


def square_backward(dout, x):
    """The gradient of sum(dout * x**2) with respect to x."""
    ### BEGIN SOLUTION
    return 2 * x * dout
    ### END SOLUTION


def negate(x):
    ### BEGIN SOLUTION
    return -x
    ### END SOLUTION


print("top-level lesson code: the grader never runs it")
'''

PUBLIC = '''\
import numpy as np
from minigen.grading import check, expect_close, expect_gradients


@check("double", points=1)
def doubles(student):
    """double doubles"""
    expect_close("double", "output", student.double(np.arange(3.0)), np.arange(3.0) * 2)


@check("square_backward", points=2)
def square_gradient(student):
    """square_backward agrees with central differences"""
    expect_gradients("square_backward", lambda x: (x ** 2, x),
                     lambda dout, x: student.square_backward(dout, x), {"x": np.linspace(-1, 1, 5)})


@check("negate", points=1)
def negates(student):
    """negate negates"""
    expect_close("negate", "output", student.negate(np.ones(2)), -np.ones(2))
'''

HIDDEN = '''\
import numpy as np
from minigen.grading import check, expect_close


@check("double", points=2)
def doubles_integers(student):
    """double works on integers too"""
    expect_close("double", "output", student.double(np.arange(4)), np.arange(4) * 2)
'''


@pytest.fixture
def lessons(tmp_path):
    root = tmp_path / "lessons"
    (root / "checks" / "hidden").mkdir(parents=True)
    (root / "01_toy.py").write_text(LESSON)
    (root / "checks" / "01_toy.py").write_text(PUBLIC)
    (root / "checks" / "hidden" / "01_toy.py").write_text(HIDDEN)
    return root


def student(tmp_path, lessons, replacements=None, text=None):
    out = tmp_path / "handout"
    assign(["01"], out, lessons)
    if text is None:
        text = LESSON
        for old, new in (replacements or {}).items():
            assert old in text
            text = text.replace(old, new)
    (out / "01_toy.py").write_text(text)
    return out


def by_id(report):
    return {e["id"]: e for e in report["exercises"]}


def test_the_reference_scores_full_marks_and_the_stubs_zero(tmp_path, lessons):
    report = grade(lessons, lessons=lessons)
    assert (report["score"], report["max_score"]) == (6, 6)
    assert all(e["diagnosis"] is None for e in report["exercises"])
    handout = tmp_path / "handout"
    assign(["toy"], handout, lessons)
    report = grade(handout, lessons=lessons)
    assert (report["score"], report["max_score"]) == (0, 6)
    for e in report["exercises"]:
        assert "not implemented yet" in e["diagnosis"] and e["id"] in e["diagnosis"]


def test_the_handout_has_the_public_checks_but_not_the_hidden_ones(tmp_path, lessons):
    handout = tmp_path / "handout"
    assign(["01"], handout, lessons)
    assert (handout / "checks" / "01_toy.py").read_text() == PUBLIC
    assert not (handout / "checks" / "hidden").exists()
    assert "return 2 * x" not in (handout / "01_toy.py").read_text()
    assert json.loads((handout / "assignment.json").read_text())["lessons"] == ["01_toy"]
    with pytest.raises(FileExistsError, match="--force"):
        assign(["01"], handout, lessons)


def test_a_wrong_gradient_is_named_with_its_worst_element(tmp_path, lessons):
    folder = student(tmp_path, lessons, {"return 2 * x * dout": "return x * dout"})
    e = by_id(grade(folder, lessons=lessons))["L01.2"]
    assert e["points"] == 0
    assert "square_backward computes a wrong dx" in e["diagnosis"]
    assert "analytic" in e["diagnosis"] and "numeric" in e["diagnosis"] and "relative error" in e["diagnosis"]


def test_a_forward_mismatch_shows_expected_and_actual(tmp_path, lessons):
    folder = student(tmp_path, lessons, {"return 2 * x\n": "return 2 * x + (x > 1)\n"})
    e = by_id(grade(folder, lessons=lessons))["L01.1"]
    assert e["points"] == 0
    assert "double returned a wrong output: 1 of 3 elements differ" in e["diagnosis"]
    assert "expected 4, got 5" in e["diagnosis"]


def test_an_exception_is_reported_with_its_line_and_the_others_still_graded(tmp_path, lessons):
    folder = student(tmp_path, lessons, {"return 2 * x\n": "return x.undefined_method()\n"})
    report = grade(folder, lessons=lessons)
    e = by_id(report)["L01.1"]
    line = LESSON.splitlines().index("    return 2 * x") + 1
    assert "double raised AttributeError" in e["diagnosis"]
    assert f"01_toy.py, line {line}: `return x.undefined_method()`" in e["diagnosis"]
    assert by_id(report)["L01.2"]["points"] == 2 and by_id(report)["L01.3"]["points"] == 1


def test_an_endless_loop_is_stopped_and_the_next_exercise_graded(tmp_path, lessons):
    folder = student(tmp_path, lessons, {"return 2 * x * dout": "while True:\n        pass"})
    report = grade(folder, lessons=lessons, timeout=3)
    assert "stopped after 3 s" in by_id(report)["L01.2"]["diagnosis"]
    assert by_id(report)["L01.1"]["points"] == 3
    assert by_id(report)["L01.3"]["points"] == 1


def test_a_student_who_exits_the_process_does_not_crash_the_grader(tmp_path, lessons):
    folder = student(tmp_path, lessons, {"return 2 * x\n": "import os\n    os._exit(3)\n",
                                         "return -x": "raise SystemExit(1)"})
    report = grade(folder, lessons=lessons)
    assert "died" in by_id(report)["L01.1"]["diagnosis"] and "exit status 3" in by_id(report)["L01.1"]["diagnosis"]
    assert by_id(report)["L01.2"]["points"] == 2
    assert "SystemExit" in by_id(report)["L01.3"]["diagnosis"]


def test_a_syntax_error_scores_zero_with_its_line(tmp_path, lessons):
    folder = student(tmp_path, lessons, {"return -x": "return -x)"})
    report = grade(folder, lessons=lessons)
    assert report["score"] == 0
    line = LESSON.splitlines().index("    return -x") + 1
    assert all(f"syntax error at line {line}" in e["diagnosis"] for e in report["exercises"])


def test_top_level_code_is_not_run_and_a_missing_function_is_named(tmp_path, lessons):
    text = (LESSON.replace("def negate(x):", "def negated(x):") + "while True:\n    pass\n"
            + "grad = 1.0\nresult = {}\nresult['a'] = 1\nmissing.grad = 2.0\n")
    folder = student(tmp_path, lessons, text=text)
    report = grade(folder, lessons=lessons, timeout=5)
    assert by_id(report)["L01.1"]["points"] == 3
    assert "01_toy.py defines no `negate`" in by_id(report)["L01.3"]["diagnosis"]


def test_a_missing_lesson_file_scores_zero(tmp_path, lessons):
    folder = student(tmp_path, lessons)
    (folder / "01_toy.py").unlink()
    report = grade(folder, lessons=lessons)
    assert (report["score"], report["max_score"]) == (0, 6)
    assert "01_toy.py is missing" in report["exercises"][0]["diagnosis"]


def test_grading_ignores_checks_the_student_edited_unless_public_only(tmp_path, lessons):
    folder = student(tmp_path, lessons, {"return -x": "return x"})
    (folder / "checks" / "01_toy.py").write_text(PUBLIC.replace("-np.ones(2)", "np.ones(2)"))
    assert by_id(grade(folder, lessons=lessons))["L01.3"]["points"] == 0
    public = grade(folder, lessons=lessons, public_only=True)
    assert by_id(public)["L01.3"]["points"] == 1 and public["max_score"] == 4   # no hidden checks


def test_the_cli_prints_json_for_gradebooks(tmp_path, lessons, capsys):
    folder = student(tmp_path, lessons, {"return -x": "return x"})
    assert main(["grade", str(folder), "--json", "--lessons", str(lessons)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["score"], report["max_score"]) == (5, 6)
    assert {"id", "points", "max_points", "diagnosis"} <= set(report["exercises"][0])
    assert main(["grade", str(folder), "--lessons", str(lessons)]) == 0
    text = capsys.readouterr().out
    assert "Score: 5/6" in text and "negate returned a wrong output" in text


def test_cli_errors_are_one_line(tmp_path, lessons, capsys):
    assert main(["grade", str(tmp_path / "nowhere")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["assign", "42", "--out", str(tmp_path / "x"), "--lessons", str(lessons)]) == 1
    assert "no lesson '42'" in capsys.readouterr().err
    assert main(["grade", str(tmp_path), "--timeout", "0", "--lessons", str(lessons)]) == 1
    assert "timeout" in capsys.readouterr().err
    bad = tmp_path / "bad"
    (bad / "checks").mkdir(parents=True)
    (bad / "01_toy.py").write_text(textwrap.dedent(LESSON).replace("    ### END SOLUTION\n", "", 1))
    assert main(["assign", "01", "--out", str(tmp_path / "y"), "--lessons", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "01_toy.py, line 16:" in err and "do not nest" in err and "opened at line 10" in err


def test_a_name_from_the_lesson_s_top_level_code_gets_a_hint(tmp_path, lessons):
    text = LESSON.replace("return 2 * x\n", "return SCALE * x\n") + "SCALE = np.float64(2.0)\n"
    folder = student(tmp_path, lessons, text=text)
    e = by_id(grade(folder, lessons=lessons))["L01.1"]
    assert "NameError" in e["diagnosis"] and "create it inside the function" in e["diagnosis"]


def test_a_relative_folder_is_graded_with_its_public_checks(tmp_path, lessons, monkeypatch, capsys):
    student(tmp_path, lessons)                                  # tmp_path/handout, with the reference solutions
    monkeypatch.chdir(tmp_path)
    assert main(["grade", "handout", "--public-only", "--lessons", "lessons", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["score"], report["max_score"]) == (4, 4), report
    monkeypatch.chdir(tmp_path / "handout")
    assert main(["grade", ".", "--lessons", "../lessons", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["score"] == 6


def one_line_error(argv, capsys):
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


def test_bad_grade_and_assign_input_is_one_line(tmp_path, lessons, capsys):
    folder = student(tmp_path, lessons)
    grade_ = ["grade", str(folder), "--lessons", str(lessons)]
    assert "--timeout must be a finite number > 0, got inf" in one_line_error(grade_ + ["--timeout", "inf"], capsys)
    assert "--timeout must be a finite number > 0, got 0" in one_line_error(grade_ + ["--timeout", "0"], capsys)
    (folder / "assignment.json").write_text("[1]")
    assert "assignment.json is damaged: expected an object" in one_line_error(grade_, capsys)
    (folder / "assignment.json").write_text("{")
    assert "assignment.json is not valid JSON" in one_line_error(grade_, capsys)
    (tmp_path / "small.txt").write_text("x")
    err = one_line_error(["grade", str(tmp_path / "small.txt"), "--lessons", str(lessons)], capsys)
    assert "small.txt' is not a folder" in err
    (tmp_path / "empty").mkdir()
    err = one_line_error(["lessons", "copy", str(tmp_path / "x"), "--lessons", str(tmp_path / "empty")], capsys)
    assert "holds no lessons" in err
    assert "--out must be a folder" in one_line_error(["assign", "01", "--out", "", "--lessons", str(lessons)], capsys)
    assert "DIR must be a folder name" in one_line_error(["lessons", "copy", ""], capsys)
    assert "DIR must be a folder name" in one_line_error(["grade", ""], capsys)
    err = one_line_error(["lessons", "list", "--lessons", str(tmp_path / "nowhere")], capsys)
    assert f"the lessons folder (--lessons) {str(tmp_path / 'nowhere')!r} does not exist" in err
    err = one_line_error(["lessons", "list", "--lessons", str(tmp_path / "small.txt")], capsys)
    assert f"the lessons folder (--lessons) {str(tmp_path / 'small.txt')!r} is not a folder" in err
    err = one_line_error(["assign", "01", "--out", str(tmp_path / "zh"), "--lessons", str(lessons), "--lang", "zh"],
                         capsys)
    assert f"the lessons folder {str(lessons)!r} has no 'zh' edition (no lessons in {lessons / 'zh'})" in err
    assert not (tmp_path / "zh").exists()
    (folder / "assignment.json").unlink()
    (folder / "02_extra.py").write_text("x = 1\n")                   # named like a lesson the lessons folder lacks
    err = one_line_error(grade_, capsys)
    assert f"{folder}: 02_extra.py is not a lesson of {lessons} (known: 01_toy)" in err


@pytest.mark.parametrize("call,message", [
    (lambda folder, lessons: grade(folder, lessons=lessons, timeout=0),
     "grade: timeout must be a finite number > 0, got 0"),
    (lambda folder, lessons: assign([], folder / "more", lessons),
     r"assign: specs must be at least one lesson \(a number such as 05, or 'all'\), got none"),
    (lambda folder, lessons: assign(["01"], folder / "more", lessons, lang="fr"),
     "lessons: lang must be one of 'en', 'zh', got 'fr'"),
    (lambda folder, lessons: check("double", points=0), "check: points must be a finite number > 0, got 0"),
    (lambda folder, lessons: check("double", points="2"),
     "check: points must be a finite number > 0, got '2'"),
])
def test_bad_python_arguments_name_the_argument(tmp_path, lessons, call, message):
    folder = student(tmp_path, lessons)
    with pytest.raises(ValueError, match=f"^{message}$"):
        call(folder, lessons)
    assert not (folder / "more").exists()


def test_assign_all_beside_other_names(tmp_path, lessons, capsys):
    assert main(["assign", "all", "01", "--out", str(tmp_path / "h"), "--lessons", str(lessons)]) == 0
    assert json.loads((tmp_path / "h" / "assignment.json").read_text())["lessons"] == ["01_toy"]


def test_the_exit_status_of_a_dead_worker_is_read_after_its_late_exit():
    """The socket closes a moment before the exit is reported: the diagnosis waits for the status."""
    import subprocess
    import sys
    import types

    from minigen.grading.grader import _lost
    from minigen.grading.session import Worker

    proc = subprocess.Popen([sys.executable, "-c", "import time, os; time.sleep(0.5); os._exit(7)"])
    worker = types.SimpleNamespace(proc=proc, last_words=lambda: "")
    worker.exit_status = lambda: Worker.exit_status(worker)
    assert proc.poll() is None
    assert _lost("died", worker, "", 3) == "the checking process died while running it (exit status 7)"
