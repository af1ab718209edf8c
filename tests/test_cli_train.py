"""``minigen train`` and ``minigen sample``: the main job end to end, its bad input, and runs that are killed."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from minigen.checkpoint import load_checkpoint
from minigen.cli import main
from minigen.cli.train_cmd import parse_duration

VERSE = ("To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n"
         "The slings and arrows of outrageous fortune,\nOr to take arms against a sea of troubles\n") * 30
SMALL = ["--embed-dim", "8", "--hidden-size", "24", "--batch-size", "4", "--seq-len", "16", "--no-progress",
         "--sample-length", "20", "--temperatures", "0.5", "1.0", "--warmup-steps", "5", "--lr", "0.01"]


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "verse.txt"
    path.write_text(VERSE, encoding="utf-8")
    return path


def train(corpus, out, *extra):
    return main(["train", "--corpus", str(corpus), "--out", str(out), *SMALL, *extra])


def test_train_then_sample(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert train(corpus, out, "--steps", "40", "--eval-interval", "20") == 0
    printed = capsys.readouterr().out
    assert f"vocabulary {len(set(VERSE))}" in printed and "step     20" in printed and "step     40" in printed
    assert "----- temperature 0.5:\nTo be, or not to" in printed          # the prompt: the text's start
    ck = load_checkpoint(out / "checkpoint.safetensors")
    assert ck.meta["step"] == 40 and ck.meta["config"]["hidden_size"] == 24
    if _has_matplotlib():
        assert (out / "loss.png").exists()

    def sample(*args):
        assert main(["sample", "--checkpoint", str(out), "--length", "50", *args]) == 0
        return capsys.readouterr().out

    a, b, c = sample("--seed", "3"), sample("--seed", "3"), sample("--seed", "4")
    assert a == b != c
    assert a.startswith("To be, or not to") and len(a) == len("To be, or not to") + 50 + 1
    greedy = sample("--temperature", "0", "--prompt", "Or to", "--seed", "1")
    assert greedy == sample("--temperature", "0", "--prompt", "Or to", "--seed", "2")
    assert greedy.startswith("Or to")


def test_resume_continues_a_run(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert train(corpus, out, "--steps", "20", "--eval-interval", "10") == 0
    assert train(corpus, out, "--steps", "30", "--eval-interval", "10", "--resume") == 0
    printed = capsys.readouterr().out
    assert "resuming" in printed and "at step 20" in printed
    assert load_checkpoint(out / "checkpoint.safetensors").meta["step"] == 30


def test_chinese_text_at_character_level(tmp_path, capsys):
    path = tmp_path / "poem.txt"
    poem = "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n"
    path.write_text(poem * 60, encoding="utf-8")
    out = tmp_path / "run"
    assert main(["train", "--corpus", str(path), "--out", str(out), *SMALL, "--steps", "20",
                 "--eval-interval", "20"]) == 0
    assert f"vocabulary {len(set(poem))}" in capsys.readouterr().out
    assert main(["sample", "--checkpoint", str(out), "--prompt", "明月", "--length", "10", "--seed", "0"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("明月") and len(text) == 2 + 10 + 1
    assert set(text) <= set(poem)


def _has_matplotlib():
    try:
        import matplotlib  # noqa: F401
        return True
    except ImportError:
        return False


def error_of(argv, capsys) -> str:
    """Run the CLI, expect exit status 1 and one line on stderr; return that line."""
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


def test_bad_corpora(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert "corpus not found: nowhere.txt" in error_of(["train", "--corpus", "nowhere.txt", "--out", out], capsys)
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    assert "is empty" in error_of(["train", "--corpus", str(empty), "--out", out], capsys)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("caf\xe9 au lait".encode("latin-1"))
    err = error_of(["train", "--corpus", str(latin1), "--out", out], capsys)
    assert str(latin1) in err and "byte offset 3" in err


def test_bad_options(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert "--time must be a positive duration" in error_of(["train", "--corpus", str(corpus), "--time", "soon"],
                                                             capsys)
    assert "--resume must be a run's folder" in error_of(["train", "--corpus", str(corpus), "--out", str(out),
                                                           "--resume"], capsys)
    assert train(corpus, out, "--steps", "10") == 0
    capsys.readouterr()
    assert "--out must be a new folder, or given with --resume" in error_of(["train", "--corpus", str(corpus), "--out", str(out)], capsys)
    err = error_of(["train", "--corpus", str(corpus), "--out", str(out), "--resume", "--hidden-size", "64"], capsys)
    assert "--resume: --hidden-size must be the run's 24 (it cannot change" in err
    (tmp_path / "other.txt").write_text(VERSE.upper())
    err = error_of(["train", "--corpus", str(tmp_path / "other.txt"), "--out", str(out), "--resume"], capsys)
    assert "it cannot change" in err or "changed since" in err


def test_sample_bad_input(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert train(corpus, out, "--steps", "10") == 0
    capsys.readouterr()
    err = error_of(["sample", "--checkpoint", str(out), "--prompt", "Zoë"], capsys)
    assert "2 character(s) outside the vocabulary" in err and "'Z', 'ë'" in err
    err = error_of(["sample", "--checkpoint", str(out), "--length", "-1"], capsys)
    assert "--length must be a non-negative integer, got -1" in err

    ck = out / "checkpoint.safetensors"
    data = ck.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    assert "truncated" in error_of(["sample", "--checkpoint", str(tmp_path / "cut.safetensors")], capsys)
    assert "checkpoint not found" in error_of(["sample", "--checkpoint", str(tmp_path / "none")], capsys)


class _Exploit:
    def __reduce__(self):
        return (open, (os.environ["MINIGEN_PWNED"], "w"))


def test_a_pickle_is_refused_and_never_run(tmp_path, capsys, monkeypatch):
    marker = tmp_path / "pwned"
    monkeypatch.setenv("MINIGEN_PWNED", str(marker))
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(pickle.dumps(_Exploit()))
    assert "looks like a pickle" in error_of(["sample", "--checkpoint", str(bad)], capsys)
    assert not marker.exists()


def test_parse_duration():
    assert [parse_duration(t) for t in ("600", "90s", "10m", "1.5h")] == [600, 90, 600, 5400]
    for bad in ("", "0", "-5m", "10 minutes", "1d"):
        with pytest.raises(ValueError, match="--time must be a positive duration"):
            parse_duration(bad)


# ---------------------------------------------------------------------------- killed runs

def _cli(*args):
    return [sys.executable, "-m", "minigen", "train", *args]


def _wait_for_checkpoint(proc, path, step_at_least, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists() and load_checkpoint(path).meta["step"] >= step_at_least:
            return
        assert proc.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.05)
    raise AssertionError("no checkpoint appeared")


def _weights(path):
    return load_checkpoint(path).model_state


@pytest.mark.parametrize("how", ["kill -9", "Ctrl-C"])
def test_a_killed_run_resumes_exactly(corpus, tmp_path, how):
    """Kill a long run after its first checkpoints, resume it, and compare with a run never stopped."""
    common = ["--corpus", str(corpus), *SMALL, "--lr-schedule", "constant", "--eval-interval", "10",
              "--eval-tokens", "64", "--temperatures", "0", "--sample-length", "1"]
    out = tmp_path / "killed"
    ck = out / "checkpoint.safetensors"
    proc = subprocess.Popen(_cli(*common, "--out", str(out), "--steps", "100000"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _wait_for_checkpoint(proc, ck, 20)
    proc.send_signal(signal.SIGKILL if how == "kill -9" else signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if how == "Ctrl-C":
        assert proc.returncode == 130, err.decode()         # a clean stop, with a checkpoint where it stopped
    step = load_checkpoint(ck).meta["step"]
    target = str(step + 15)
    subprocess.run(_cli(*common, "--out", str(out), "--steps", target, "--resume"), check=True,
                   stdout=subprocess.DEVNULL)
    ref = tmp_path / "whole"
    subprocess.run(_cli(*common, "--out", str(ref), "--steps", target), check=True, stdout=subprocess.DEVNULL)
    resumed, whole = _weights(ck), _weights(ref / "checkpoint.safetensors")
    assert resumed.keys() == whole.keys()
    for name in whole:
        np.testing.assert_array_equal(resumed[name], whole[name], err_msg=name)


def test_sample_options(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert train(corpus, out, "--steps", "30") == 0
    capsys.readouterr()

    def sample(*args):
        assert main(["sample", "--checkpoint", str(out), "--length", "30", "--prompt", "To be", *args]) == 0
        return capsys.readouterr().out

    beams = sample("--num-beams", "3", "--num-return-sequences", "2")
    assert beams.count("----- ") == 2 and beams.count("To be") == 2
    assert sample("--num-beams", "3") == sample("--num-beams", "3")         # beam search is deterministic
    kw = ["--top-k", "5", "--top-p", "0.9", "--repetition-penalty", "1.2", "--no-repeat-ngram-size", "3",
          "--seed", "7", "--temperature", "1.2"]
    assert sample(*kw) == sample(*kw)
    free = sample("--seed", "2", "--temperature", "1.5")
    stop = free[8:10]
    stopped = sample("--seed", "2", "--temperature", "1.5", "--stop", stop)
    assert stopped.rstrip("\n").endswith(stop) and len(stopped) <= len(free)
    beam = sample("--num-beams", "2")
    stop = beam[8:10]
    assert sample("--num-beams", "2", "--stop", stop) == beam[:beam.index(stop, 5) + 2] + "\n"   # cut after it
    for flag_, value in (("--top-k", "5"), ("--temperature", "0.8"), ("--seed", "1"), ("--top-p", "0.9")):
        err = error_of(["sample", "--checkpoint", str(out), "--num-beams", "2", flag_, value], capsys)
        assert f"{flag_} must be left out with --num-beams 2 (beam search does not sample)" in err
    assert "--top-p must be a number in (0, 1], got 2.0" in error_of(["sample", "--checkpoint", str(out), "--top-p", "2"], capsys)
    # every token banned mid-text (the corpus has fewer characters than --length): the line ends, then one error line
    assert main(["sample", "--checkpoint", str(out), "--length", "200", "--prompt", "T", "--seed", "1",
                 "--no-repeat-ngram-size", "1"]) == 1
    captured = capsys.readouterr()
    assert captured.out.endswith("\n") and captured.err.count("\n") == 1
    assert "stopped after" in captured.err and "--no-repeat-ngram-size 1 may have banned every next token" in captured.err
    assert "--num-return-sequences must be <= --num-beams, got 3 > 2" in error_of(
        ["sample", "--checkpoint", str(out), "--num-beams", "2", "--num-return-sequences", "3"], capsys)


def test_sample_decoding_toolbox(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert train(corpus, out, "--steps", "30") == 0
    capsys.readouterr()

    def sample(*args):
        assert main(["sample", "--checkpoint", str(out), "--length", "80", "--prompt", "To be", *args]) == 0
        return capsys.readouterr().out

    marked = sample("--seed", "3", "--temperature", "1.5", "--watermark")
    assert "watermark: z = " in marked and "over 80 tokens" in marked
    kw = ["--seed", "4", "--eta-cutoff", "0.02", "--epsilon-cutoff", "0.001", "--guidance-scale", "1.5",
          "--negative-prompt", "Or to"]
    assert sample(*kw) == sample(*kw)
    bad = {("--eta-cutoff", "1"): "--eta-cutoff must be a number in (0, 1), got 1.0",
           ("--negative-prompt", "x"): "--negative-prompt must be given with --guidance-scale, got 'x'",
           ("--guidance-scale", "2", "--num-beams", "2"): "--guidance-scale must be left out with --num-beams 2"}
    for args, message in bad.items():
        assert message in error_of(["sample", "--checkpoint", str(out), *args], capsys)
