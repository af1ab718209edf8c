"""minigen's own lessons: each runs in quick mode, opens as a notebook, and grades as it should.

The planted bugs are the classic ones: each must be caught with a diagnosis that
names the right gradient.
"""

import ast
import os
import subprocess
import sys

import pytest

from minigen.cli import main
from minigen.data import WordTokenizer, shakespeare
from minigen.data.tokenizers import standardize
from minigen.grading import assign, grade, lessons_dir, list_lessons
from minigen.grading.checks import load_checks

LESSONS = list_lessons()
ROOT = lessons_dir()


def lesson_id(lesson):
    return lesson.name


def test_the_lessons_are_there():
    numbers = [lesson.number for lesson in LESSONS]
    assert numbers == [f"{n:02d}" for n in range(1, 18)]


@pytest.mark.parametrize("lesson", LESSONS, ids=lesson_id)
def test_the_lesson_runs_top_to_bottom_in_quick_mode(lesson, tmp_path):
    env = dict(os.environ, MINIGEN_QUICK="1", MPLBACKEND="Agg")
    run = subprocess.run([sys.executable, str(lesson.path)], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip(), "a lesson prints its results"
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("lesson", LESSONS, ids=lesson_id)
def test_the_lesson_opens_as_a_notebook(lesson):
    jupytext = pytest.importorskip("jupytext")
    nb = jupytext.read(lesson.path)
    kinds = [cell.cell_type for cell in nb.cells]
    assert kinds[0] == "markdown" and nb.cells[0].source.startswith(f"# Lesson {lesson.number}")
    assert kinds.count("markdown") >= 4 and kinds.count("code") >= 4
    assert "Exercises" in [c for c in nb.cells if c.cell_type == "markdown"][-1].source


@pytest.mark.parametrize("lesson", [x for x in LESSONS if x.exercises()], ids=lesson_id)
def test_every_exercise_has_public_and_hidden_checks(lesson):
    public, hidden = [{fn.__minigen_check__[0] for fn in load_checks([path])[0]}
                      for path in (ROOT / "checks" / f"{lesson.name}.py", ROOT / "checks" / "hidden" / f"{lesson.name}.py")]
    for exercise in lesson.exercises():
        assert exercise.function in public, f"{exercise.id} {exercise.function} has no public check"
        assert exercise.function in hidden, f"{exercise.id} {exercise.function} has no hidden check"


def test_the_reference_solutions_get_full_marks():
    report = grade(ROOT)
    failed = [(e["id"], e["diagnosis"]) for e in report["exercises"] if e["points"] != e["max_points"]]
    assert not failed
    assert report["max_score"] > 0 and len(report["exercises"]) >= 2 * len(LESSONS)


def test_the_student_versions_score_zero_without_crashing(tmp_path):
    assign(["all"], tmp_path / "handout")
    report = grade(tmp_path / "handout")
    assert report["score"] == 0 and report["max_score"] > 0
    for e in report["exercises"]:
        assert "not implemented yet" in e["diagnosis"], (e["id"], e["diagnosis"])


PLANTED = [
    # (lesson, the right line, the bug, exercise, words the diagnosis must contain, exercises that use it)
    ("05", "df * f * (1 - f), dg", "df, dg", "L05.3", ["forget gate f", "Right: dc_prev"], []),
    ("04", "dW_hh += dW_hh_t", "dW_hh = dW_hh_t", "L04.4", ["wrong dW_hh", "Right: dx, dh0, dW_ih, db"], []),
    ("04", "dW_hh = da.T @ h_prev", "dW_hh = h_prev.T @ da", "L04.2", ["wrong dW_hh", "Right: dx, dh_prev, dW_ih, db"],
     ["L04.4"]),                                   # rnn_backward calls the student's rnn_step_backward
    ("02", "dx = s * (dout - (dout * s).sum(axis=-1, keepdims=True))",
     "dx = s * (dout - dout.mean(axis=-1, keepdims=True))", "L02.3", ["wrong dx", "analytic", "numeric"], []),
    ("10", "candidates[:num_beams - len(finished)]", "candidates[:num_beams]", "L10.1",
     ["num_beams - len(finished)"], []),
    ("11", "e = np.where(mask, e, -np.inf)", "e = np.where(mask, e, 0.0)", "L11.1", ["padding", "-inf"], []),
    ("11", "coins = rng.random(targets.shape) < p", "coins = rng.random(targets.shape[:1])[:, None] < p", "L11.3",
     ["one coin per position"], []),
    ("14", "scaled = (logits + gumbels) / tau", "scaled = logits / tau + gumbels", "L14.1",
     ["noise belongs to the logits"], []),
    ("14", "keepdims=True)) / tau\n", "keepdims=True))\n", "L14.2", ["1 / tau"], []),
    ("14", "y += W[:, :, k] @ x", "y += W[:, :, K - 1 - k] @ x", "L14.3", ["flips the kernel"], ["L14.4"]),
    ("14", "dx[:, :, k:k + T_out] += W", "dx[:, :, k:k + T_out] = W", "L14.4", ["wrong dx", "Right: dW, db"], []),
    ("14", "np.put_along_axis(dx, winner, dy[:, :, None], axis=2)",
     "dx[:] = np.where(x == x.max(axis=2, keepdims=True), dy[:, :, None], 0.0)", "L14.5", ["at a tie"], []),
    ("14", "np.repeat(ids[:, :t + 1], num_rollouts, axis=0)", "np.repeat(ids[:, :t], num_rollouts, axis=0)", "L14.6",
     ["the token at t is the action"], []),
    ("14", "np.repeat(ids[:, :t + 1], num_rollouts, axis=0)", "np.tile(ids[:, :t + 1], (num_rollouts, 1))", "L14.6",
     ["np.tile", "np.repeat"], []),
    ("15", "return float(-np.mean(advantages * np.sum(log_probs, axis=1)))",
     "return float(np.mean(advantages * np.sum(log_probs, axis=1)))", "L15.1", ["opposite sign", "'numeric'"], []),
    ("15", "return float(-np.mean(advantages * np.sum(log_probs, axis=1)))",
     "return float(-np.mean(advantages * np.mean(log_probs, axis=1)))", "L15.1", ["mean over tokens"], []),
    ("15", "advantages = np.asarray(rewards, dtype=np.float64) - baseline",
     "advantages = np.asarray(rewards, dtype=np.float64) - np.mean(rewards)", "L15.1", ["batch's mean reward"], []),
    ("15", "return (rewards.sum() - rewards) / (rewards.shape[0] - 1)", "return np.full(rewards.shape, rewards.mean())",
     "L15.2", ["must not depend on its own reward"], []),
    ("15", "groups.std(axis=1, ddof=1, keepdims=True)", "groups.std(axis=1, keepdims=True)", "L15.3",
     ["population standard deviation"], []),
    ("15", "for t in reversed(range(rewards.shape[1])):", "for t in range(rewards.shape[1]):", "L15.4",
     ["BEFORE each token", "27 sequences"], []),
    ("15", "r = ref_log_probs - log_probs  ", "r = log_probs - ref_log_probs  ", "L15.5",
     ["wrong way round", "KL(p || p_ref)"], []),
    ("16", "np.reshape(a, -1) for a in arrays", "np.reshape(a, -1, order='F') for a in arrays", "L16.1",
     ["column-major"], []),
    ("16", "sendrecv(chunks[(rank - s) % size], right, left)", "sendrecv(chunks[(rank + s) % size], right, left)",
     "L16.3", ["reduce-scatter step 1", "(r - s) % N"], []),
    ("16", "right, left = (rank + 1) % size, (rank - 1) % size", "right, left = (rank - 1) % size, (rank + 1) % size",
     "L16.3", ["right neighbour"], []),
    ("16", "all_reduce_sum(float(np.sum(chunk * chunk)))", "all_reduce_sum(float(np.linalg.norm(chunk)))", "L16.4",
     ["SQUARE"], []),
    ("16", "coef = min(1.0, max_norm / (total + 1e-6))", "coef = max_norm / (total + 1e-6)", "L16.4",
     ["scales up"], []),
    ("17", "permutation(seed, vocab_size)[:int(vocab_size * gamma)]",
     "permutation(seed, vocab_size)[int(vocab_size * gamma):]", "L17.1", ["red list", "FIRST int(V * gamma)"],
     ["L17.3"]),                                   # count_green calls the student's green_list
    ("17", "seed = key * int(previous_token)", "seed = int(previous_token)", "L17.1", ["previous token alone"],
     ["L17.3"]),
    ("17", "/ np.sqrt(num_tokens * gamma * (1 - gamma))", "/ (num_tokens * gamma * (1 - gamma))", "L17.2",
     ["square root"], []),
    ("17", "zip(ids[:-1], ids[1:])", "zip(ids[1:], ids[1:])", "L17.3", ["OWN green list", "PREVIOUS token"], []),
]


@pytest.mark.parametrize("number, right, bug, exercise, words, users", PLANTED, ids=[p[3] for p in PLANTED])
def test_a_planted_bug_is_caught_and_named(tmp_path, number, right, bug, exercise, words, users):
    lesson = next(x for x in LESSONS if x.number == number)
    text = lesson.path.read_text()
    assert text.count(right) == 1
    assign([number], tmp_path)
    (tmp_path / lesson.path.name).write_text(text.replace(right, bug))
    report = grade(tmp_path)
    e = next(e for e in report["exercises"] if e["id"] == exercise)
    assert e["points"] < e["max_points"]
    for w in words:
        assert w in e["diagnosis"], e["diagnosis"]
    others = [x for x in report["exercises"] if x["id"] != exercise and x["id"] not in users]
    assert others and all(x["points"] == x["max_points"] for x in others)


def test_the_softmax_bug_passes_a_sum_of_outputs_check():
    """Why the planted softmax bug matters: with dout = 1 it looks right."""
    import numpy as np
    x = np.random.default_rng(0).standard_normal((3, 5))
    s = np.exp(x - x.max(-1, keepdims=True))
    s /= s.sum(-1, keepdims=True)
    ones = np.ones_like(s)
    right = s * (ones - (ones * s).sum(axis=-1, keepdims=True))
    wrong = s * (ones - ones.mean(axis=-1, keepdims=True))
    np.testing.assert_allclose(right, 0, atol=1e-15)
    np.testing.assert_allclose(wrong, 0, atol=1e-15)


def test_lessons_list_and_copy(tmp_path, capsys):
    assert main(["lessons", "list"]) == 0
    out = capsys.readouterr().out
    assert "05  05_lstm.py" in out and "Lesson 13" in out
    assert main(["lessons", "copy", str(tmp_path / "mine")]) == 0
    copied = sorted(p.name for p in (tmp_path / "mine").glob("*.py"))
    assert copied == sorted(lesson.path.name for lesson in LESSONS)
    assert (tmp_path / "mine" / "checks" / "05_lstm.py").is_file()
    assert not (tmp_path / "mine" / "checks" / "hidden").exists()
    assert main(["lessons", "copy", str(tmp_path / "mine")]) == 1         # no silent overwrite
    assert "--force" in capsys.readouterr().err


def test_lessons_run_runs_one_in_quick_mode(capfd):
    assert main(["lessons", "run", "01", "--quick"]) == 0
    assert "Value" in capfd.readouterr().out
    assert main(["lessons", "run", "99"]) == 1
    assert "no lesson '99'" in capfd.readouterr().err


def test_the_vae_lessons_line_count_is_the_benchmarks():
    """Lesson 13 quotes how many Shakespeare lines benchmarks/quality_vae.py keeps: its own data code, run here."""
    path = ROOT.parent / "benchmarks" / "quality_vae.py"
    tree = ast.parse(path.read_text())
    keep = [n for n in tree.body if (isinstance(n, ast.FunctionDef) and n.name == "shakespeare_sentences")
            or (isinstance(n, ast.Assign) and "MIN_WORDS" in ast.unparse(n.targets[0]))]
    namespace = {"WordTokenizer": WordTokenizer, "shakespeare": shakespeare, "standardize": standardize}
    exec(compile(ast.Module(body=keep, type_ignores=[]), str(path), "exec"), namespace)
    _, sentences = namespace["shakespeare_sentences"](3000, 0)          # the benchmark's defaults: --vocab, --max-unk
    kept, train = len(sentences), len(sentences) - namespace["VAL_LINES"]
    text = (ROOT / "13_vae.py").read_text()
    assert f"{train:,} short Shakespeare lines" in text and f"of the {kept:,} it keeps" in text, (kept, train)
