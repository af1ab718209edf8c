"""``minigen finetune``: a tiny run fine-tuned then sampled, the KL printed, exact resume, and bad input."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from minigen.checkpoint import load_checkpoint, save_checkpoint
from minigen.cli import main
from minigen.data import CharTokenizer
from minigen.models import GPT, GPTConfig, RNNLanguageModel, TextCNNDiscriminator
from tests.test_checkpoint import _rewrite

VERSE = ("To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n"
         "The slings and arrows of outrageous fortune,\nOr to take arms against a sea of troubles\n") * 30
SMALL = ["--batch-size", "8", "--prompt-length", "4", "--new-tokens", "16", "--no-progress", "--lr", "0.01"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny `minigen train` run (20 steps) on VERSE."""
    folder = tmp_path_factory.mktemp("finetune")
    corpus = folder / "verse.txt"
    corpus.write_text(VERSE, encoding="utf-8")
    out = folder / "run"
    assert main(["train", "--corpus", str(corpus), "--out", str(out), "--embed-dim", "8", "--hidden-size", "24",
                 "--batch-size", "4", "--seq-len", "16", "--no-progress", "--steps", "20", "--eval-interval", "20",
                 "--sample-length", "5", "--temperatures", "1.0", "--warmup-steps", "5"]) == 0
    return out


def finetune(run, out, *extra):
    return main(["finetune", "--checkpoint", str(run), "--reward", "lipogram:e", "--out", str(out), *SMALL, *extra])


def test_finetune_prints_the_kl_and_the_run_samples(run, tmp_path, capsys):
    capsys.readouterr()
    out = tmp_path / "no-e"
    assert finetune(run, out, "--steps", "25", "--checkpoint-every", "10") == 0
    printed = capsys.readouterr().out
    ck = load_checkpoint(out / "checkpoint.safetensors")
    assert ck.meta["step"] == 25 and ck.meta["extra"]["finetune"]["reward"] == "lipogram:e"
    history = ck.meta["extra"]["finetuner"]["history"]
    lines = re.findall(r"step +(\d+) .* reward (\S+)  kl (\S+)", printed)
    assert [int(step) for step, _, _ in lines] == [10, 20, 25]
    for step, reward, kl in lines:                          # the means of the steps since the last line
        steps = [h for h in history if int(step) - 10 < h["step"] <= int(step)]
        assert float(kl) == pytest.approx(np.mean([h["kl"] for h in steps]), abs=5e-5)
        assert float(reward) == pytest.approx(np.mean([h["reward"] for h in steps]), abs=5e-5)
    assert f"sample it:  python -m minigen sample --checkpoint {out}" in printed
    assert main(["sample", "--checkpoint", str(out), "--length", "30", "--seed", "1"]) == 0
    sample = capsys.readouterr().out
    assert sample.startswith("To be, or not to") and len(sample) == len("To be, or not to") + 30 + 1


def test_resume_is_exact(run, tmp_path, capsys):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert finetune(run, whole, "--steps", "6") == 0
    assert finetune(run, cut, "--steps", "3") == 0
    assert main(["finetune", "--resume", "--out", str(cut), "--steps", "6", "--no-progress"]) == 0
    assert "resuming" in capsys.readouterr().out
    a, b = load_checkpoint(whole / "checkpoint.safetensors"), load_checkpoint(cut / "checkpoint.safetensors")
    assert a.model_state.keys() == b.model_state.keys()
    for name in a.model_state:
        np.testing.assert_array_equal(a.model_state[name], b.model_state[name], err_msg=name)
    assert a.meta["extra"]["finetuner"]["history"] == b.meta["extra"]["finetuner"]["history"]


def test_the_other_rewards_run(run, tmp_path, capsys):
    assert finetune(run, tmp_path / "d", "--steps", "2", "--reward", "discriminator") == 0
    assert "discriminator: 1024 windows of 16 tokens" in capsys.readouterr().out
    assert finetune(run, tmp_path / "w", "--steps", "2", "--reward", "include:be") == 0


def test_a_reward_of_your_own(run, tmp_path, capsys, monkeypatch):
    (tmp_path / "my_rewards.py").write_text("def short_lines(text):\n    return -max(map(len, text.split('\\n')))\n"
                                            "LIMIT = 16\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "own"
    assert finetune(run, out, "--steps", "2", "--reward", "my_rewards:short_lines") == 0
    history = load_checkpoint(out / "checkpoint.safetensors").meta["extra"]["finetuner"]["history"]
    assert all(-16 <= h["reward"] < 0 for h in history)
    assert main(["finetune", "--resume", "--out", str(out), "--steps", "3", "--no-progress"]) == 0
    assert "--reward must be MODULE:FUNCTION, a function in an importable module, got 'no_such_module:f' (No " \
        "module named 'no_such_module')" in error_of(["finetune", "--checkpoint", str(run), "--out", str(out / "x"),
                                                     "--reward", "no_such_module:f"], capsys)
    assert "--reward must be MODULE:FUNCTION, a function in an importable module, got 'my_rewards:nothing'" in \
        error_of(["finetune", "--checkpoint", str(run), "--out", str(out / "x"), "--reward", "my_rewards:nothing"],
                 capsys)
    assert "--reward must be MODULE:FUNCTION, a function text -> number, got 'my_rewards:LIMIT', of type int" in \
        error_of(["finetune", "--checkpoint", str(run), "--out", str(out / "x"), "--reward", "my_rewards:LIMIT"],
                 capsys)
    assert not (out / "x").exists()


def error_of(argv, capsys) -> str:
    """Run the CLI, expect exit status 1 and one line on stderr; return that line."""
    capsys.readouterr()
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("extra,message", [
    (["--reward", "happy"], "--reward must be one of lipogram:LETTER, include:WORD, discriminator or MODULE:FUNCTION, "
                            "got 'happy'"),
    (["--reward", "lipogram:"], "--reward must be lipogram:LETTER, one letter (lipogram:e), got 'lipogram:'"),
    (["--reward", "lipogram:ab"], "--reward must be lipogram:LETTER, one letter"),
    (["--reward", "lipogram:z"], "--reward 'lipogram:z': Lipogram: letter must be a letter that some token"),
    (["--reward", "include:"], "--reward must be include:WORD"),
    (["--reward", "include:zebra"], "--reward 'include:zebra': IncludeWord: word must be text the tokenizer can"),
    (["--reward", "discriminator:x"], "--reward must be one of"),
    (["--reward", "discriminator", "--new-tokens", "4"], "--new-tokens must be at least 8 with --reward discrim"),
    (["--kl-coef", "-0.1"], "--kl-coef must be"),
    (["--steps", "0"], "--steps must be a positive integer, got 0"),
    (["--time", "soon"], "--time must be a positive duration"),
    (["--lr", "0"], "--lr must be"),
    (["--prompt-length", "100000"], "--prompt-length and --new-tokens must be fewer in all than the corpus's"),
])
def test_bad_options_write_nothing(run, tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    assert message in error_of(["finetune", "--checkpoint", str(run), "--reward", "lipogram:e", "--out", str(out),
                                *SMALL, *extra], capsys)
    assert not out.exists()


def test_bad_checkpoints_and_runs(run, tmp_path, capsys):
    out = tmp_path / "out"
    d = TextCNNDiscriminator(10, 4, (2,), (3,))
    save_checkpoint(tmp_path / "d.safetensors", d)
    err = error_of(["finetune", "--checkpoint", str(tmp_path / "d.safetensors"), "--reward", "lipogram:e",
                    "--out", str(out)], capsys)
    assert "d.safetensors: config and tokenizer must be present (a language model" in err
    tok = CharTokenizer.train("the cat")
    save_checkpoint(tmp_path / "lm.safetensors", RNNLanguageModel(tok.vocab_size, 4, 8, 1), tokenizer=tok)
    err = error_of(["finetune", "--checkpoint", str(tmp_path / "lm.safetensors"), "--reward", "lipogram:e",
                    "--out", str(out)], capsys)
    assert "--checkpoint must be a run of `minigen train` (its corpus gives the prompts)" in err
    gpt = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=8, n_layer=1, n_head=2, n_embd=8))
    save_checkpoint(tmp_path / "gpt.safetensors", gpt, tokenizer=tok)
    err = error_of(["finetune", "--checkpoint", str(tmp_path / "gpt.safetensors"), "--reward", "lipogram:e",
                    "--out", str(out), *SMALL], capsys)
    assert "--new-tokens must be at most 8 - --prompt-length + 1 (the GPT's block size 8), got 16" in err
    edited = tmp_path / "verse.txt"                         # the run's corpus, edited since: other prompts
    edited.write_text(VERSE + VERSE.splitlines(keepends=True)[0], encoding="utf-8")
    meta = load_checkpoint(run / "checkpoint.safetensors").meta
    meta["extra"]["run"]["corpus"] = str(edited)
    _rewrite(run / "checkpoint.safetensors", tmp_path / "edited.safetensors", meta=json.dumps(meta))
    err = error_of(["finetune", "--checkpoint", str(tmp_path / "edited.safetensors"), "--reward", "lipogram:e",
                    "--out", str(out)], capsys)
    assert f"--checkpoint must be a run whose corpus is as it trained on it, got {str(edited)!r}, changed since" in err
    assert "checkpoint not found" in error_of(["finetune", "--checkpoint", str(tmp_path / "none"), "--reward",
                                               "lipogram:e", "--out", str(out)], capsys)
    assert "--reward must be given" in error_of(["finetune", "--checkpoint", str(run), "--out", str(out)], capsys)
    assert "--resume must be given with --out" in error_of(["finetune", "--resume"], capsys)
    assert "--out must be a run's folder" in error_of(["finetune", "--resume", "--out", str(out)], capsys)
    assert "extra.finetune must be an object (a run of `minigen finetune`)" in \
        error_of(["finetune", "--resume", "--out", str(run)], capsys)
    assert not out.exists()
    assert finetune(run, out, "--steps", "2") == 0
    assert "--out must be a new folder, or given with --resume" in error_of(
        ["finetune", "--checkpoint", str(run), "--reward", "lipogram:e", "--out", str(out)], capsys)
    assert "--resume: --reward must be the run's 'lipogram:e'" in error_of(
        ["finetune", "--resume", "--out", str(out), "--reward", "include:be", "--steps", "4"], capsys)
    assert "the run is already at step 2 and --steps is 2" in error_of(
        ["finetune", "--resume", "--out", str(out)], capsys)
