"""``minigen train`` and ``sample``: options checked up front with the flag named, resume with a new learning
rate, damaged checkpoints, the GPT from the command line, and bits per character of words."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

from minigen.checkpoint import load_checkpoint, save_checkpoint
from minigen.cli import main
from minigen.data import CharTokenizer, WordTokenizer, train_val_split
from minigen.models import RNNLanguageModel
from tests.test_cli_train import SMALL, VERSE, error_of, train
from tests.test_checkpoint import _rewrite


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "verse.txt"
    path.write_text(VERSE, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------- options, before any work

@pytest.mark.parametrize("argv,message", [
    (["--steps", "0"], "--steps must be a positive integer, got 0"),
    (["--val-fraction", "1.5"], "--val-fraction must be a number in [0, 1), got 1.5"),
    (["--hidden-size", "0"], "--hidden-size must be a positive integer, got 0"),
    (["--lr", "-1"], "--lr must be a finite number > 0, got -1.0"),
    (["--temperatures", "0.5", "-1"], "--temperatures must be 0 (greedy) or a number in [0.0001, 10000], got -1.0"),
    (["--temperatures", "1e300"], "--temperatures must be 0 (greedy) or a number in [0.0001, 10000], got 1e+300"),
    (["--prompt", ""], "--prompt must be a non-empty string, got ''"),
    (["--model", "gpt", "--seq-len", "0"], "--seq-len must be a positive integer, got 0"),
    (["--model", "gpt", "--n-head", "3", "--n-embd", "32"], "--n-embd must be divisible by --n-head 3, got 32"),
    (["--model", "gpt", "--cell", "gru"], "--cell must be left out with --model gpt (it is for rnn)"),
    (["--model", "gpt", "--hidden-size", "64"], "--hidden-size must be left out with --model gpt (it is for rnn)"),
    (["--n-layer", "2"], "--n-layer must be left out with --model rnn (it is for gpt)"),
    (["--fresh-state-every", "-1"], "--fresh-state-every must be a non-negative integer, got -1"),
    (["--model", "gpt", "--fresh-state-every", "2"], "--fresh-state-every must be left out with --model gpt (it is for rnn)"),
    (["--model", "gpt", "--learn-initial-state"], "--learn-initial-state must be left out with --model gpt (it is for rnn)"),
    (["--vocab-size", "100"], "--vocab-size must be left out with --tokenizer char"),
    (["--tokenizer", "bpe", "--vocab-size", "100"], "--vocab-size must be an integer >= 256, got 100"),
    (["--tokenizer", "word", "--vocab-size", "2"], "--vocab-size must be an integer >= 3, got 2"),
])
def test_train_options_are_checked_before_the_corpus_is_read(tmp_path, capsys, argv, message):
    # the corpus does not exist: these errors must come first, naming the flag the user typed
    err = error_of(["train", "--corpus", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "run"), *argv], capsys)
    assert message in err


@pytest.mark.parametrize("argv,message", [
    (["--num-beams", "0"], "--num-beams must be a positive integer, got 0"),
    (["--temperature", "-1"], "--temperature must be 0 (greedy) or a number in [0.0001, 10000], got -1.0"),
    (["--top-k", "-1"], "--top-k must be a non-negative integer, got -1"),
    (["--typical-p", "0"], "--typical-p must be a number in (0, 1], got 0.0"),
    (["--repetition-penalty", "0"], "--repetition-penalty must be a number in [0.0001, 10000], got 0.0"),
    (["--no-repeat-ngram-size", "-2"], "--no-repeat-ngram-size must be a non-negative integer, got -2"),
    (["--num-return-sequences", "0"], "--num-return-sequences must be a positive integer, got 0"),
    (["--seed", "-1"], "--seed must be a non-negative integer, got -1"),
    (["--stop", ""], "--stop must be a non-empty string, got ''"),
])
def test_sample_options_are_checked_before_the_checkpoint_is_read(tmp_path, capsys, argv, message):
    assert message in error_of(["sample", "--checkpoint", str(tmp_path / "missing"), *argv], capsys)


def test_a_corpus_too_short_for_the_batch(tmp_path, capsys):
    path = tmp_path / "short.txt"
    path.write_text("To be, or not to be.\n" * 10, encoding="utf-8")
    err = error_of(["train", "--corpus", str(path), "--out", str(tmp_path / "run"), "--steps", "2"], capsys)
    assert "--corpus must be a text of 4,165 training tokens or more for --batch-size 85 and --seq-len 48, got 189" in err


def test_cuda_without_cupy_is_one_line_before_the_corpus(tmp_path, capsys):
    try:
        import cupy  # noqa: F401
        pytest.skip("CuPy is installed")
    except ImportError:
        pass
    missing = str(tmp_path / "missing.txt")        # the device is checked first, so this is never read
    err = error_of(["train", "--corpus", missing, "--out", str(tmp_path / "run"), "--device", "cuda"], capsys)
    assert "--device cuda: the GPU backend needs CuPy" in err
    assert "needs CuPy" in error_of(["sample", "--checkpoint", missing, "--device", "cuda"], capsys)
    assert "--device must be cpu, cuda or cuda:N, got 'tpu'" in error_of(
        ["sample", "--checkpoint", missing, "--device", "tpu"], capsys)


def test_help_texts(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "``" not in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "``" not in text and "a folder (its .txt and .md files)" in text
    assert "word: the most frequent words kept, with padding and [UNK] (default: all)" in text


# ---------------------------------------------------------------------------- prompts

def test_a_prompt_without_words_is_refused_before_training(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    err = error_of(["train", "--corpus", str(corpus), "--out", str(out), *SMALL, "--tokenizer", "word",
                    "--prompt", "...", "--steps", "2"], capsys)
    assert "--prompt must be one token or more, got '...', no tokens for the word tokenizer" in err
    assert not out.exists()                                   # refused before the first step


def test_sample_checks_the_prompt_before_printing_it(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert train(corpus, out, "--steps", "4", "--tokenizer", "word", "--prompt", "to be") == 0
    capsys.readouterr()
    assert main(["sample", "--checkpoint", str(out), "--prompt", "...", "--length", "5"]) == 1
    printed = capsys.readouterr()
    assert printed.out == "" and "--prompt must be one token or more, got '...', no tokens for the word tokenizer" in printed.err


# ---------------------------------------------------------------------------- resume

def test_resume_with_a_lower_learning_rate_and_more_clipping(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    common = ["--steps", "10", "--eval-interval", "5", "--lr-schedule", "constant"]
    assert train(corpus, out, *common) == 0
    capsys.readouterr()

    def resume(*argv):
        assert main(["train", "--corpus", str(corpus), "--out", str(out), "--resume", "--no-progress", *argv]) == 0
        return capsys.readouterr().out

    printed = resume("--steps", "14", "--lr", "0.001", "--grad-clip", "0.1")
    assert "changed on resume, from step 11 on: --lr 0.01 -> 0.001, --grad-clip 1.0 -> 0.1" in printed
    ck = load_checkpoint(out / "checkpoint.safetensors")
    assert ck.meta["step"] == 14 and ck.meta["extra"]["run"]["lr"] == 0.001
    assert ck.meta["extra"]["run"]["grad_clip"] == 0.1
    assert ck.optimizer_state["param_groups"][0]["lr"] == pytest.approx(0.001)      # warmup over, constant
    assert "changed on resume" not in resume("--steps", "16", "--lr", "0.001")      # nothing changed: no line
    assert "--weight-decay must be the run's" in error_of(
        ["train", "--corpus", str(corpus), "--out", str(out), "--resume", "--weight-decay", "0.5"], capsys)


# ---------------------------------------------------------------------------- damaged checkpoints

def test_damaged_checkpoints_are_one_line_naming_the_file(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert train(corpus, out, "--steps", "2") == 0
    good = out / "checkpoint.safetensors"
    meta = load_checkpoint(good).meta

    def sample_error(name, **change):
        path = _rewrite(good, tmp_path / name, **change)
        assert main(["sample", "--checkpoint", str(path), "--length", "5"]) == 1
        printed = capsys.readouterr()
        assert printed.out == "" and printed.err.count("\n") == 1, printed.err
        assert str(path) in printed.err
        return printed.err

    capsys.readouterr()
    assert "metadata is not valid JSON" in sample_error("json.safetensors", meta='{"config": ')
    err = sample_error("tok.safetensors", meta=json.dumps({**meta, "tokenizer": {"type": "char"}}))
    assert "tokenizer entry cannot be read" in err and "'chars' entry must be a valid list" in err
    err = sample_error("config.safetensors", meta=json.dumps({**meta, "config": {"model_type": "rnn_lm"}}))
    assert "config.vocab_size must be 27 (axis 0 of model.embedding.weight), got None" in err
    weights = {k: v.copy() for k, v in load_checkpoint(good).model_state.items()}
    weights["head.weight"][:] = np.nan
    err = sample_error("nan.safetensors", tensors={"model.head.weight": weights["head.weight"]})
    assert "tensor model.head.weight must be finite, got NaN or inf values" in err


# ---------------------------------------------------------------------------- the GPT and words

GPT_SMALL = ["--model", "gpt", "--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--batch-size", "4",
             "--warmup-steps", "2", "--no-progress", "--sample-length", "10", "--temperatures", "0", "1"]


def test_train_a_gpt_then_sample(corpus, tmp_path, capsys):
    out = tmp_path / "gpt"
    assert main(["train", "--corpus", str(corpus), "--out", str(out), *GPT_SMALL, "--seq-len", "16",
                 "--steps", "6", "--eval-interval", "3"]) == 0
    assert "GPT, 1 layers, 2 heads, width 16, context 16" in capsys.readouterr().out
    assert load_checkpoint(out / "checkpoint.safetensors").meta["config"]["model_type"] == "gpt"
    long_prompt = "Whether 'tis nobler in the mind to suffer"          # longer than the context: cropped
    assert main(["sample", "--checkpoint", str(out), "--prompt", long_prompt, "--length", "20", "--seed", "0"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(long_prompt) and len(text) == len(long_prompt) + 20 + 1


def test_a_word_level_gpt_and_its_bits_per_character(tmp_path, capsys):
    text = ("To be, or not to be: that is the question -- whether 'tis nobler in the mind to suffer!\n"
            "The slings and arrows of outrageous fortune; or to take arms (against a sea of troubles).\n") * 20
    path = tmp_path / "words.txt"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "gpt-words"
    assert main(["train", "--corpus", str(path), "--out", str(out), *GPT_SMALL, "--tokenizer", "word",
                 "--vocab-size", "20", "--seq-len", "8", "--steps", "4", "--eval-interval", "4",
                 "--prompt", "to be"]) == 0
    ck = load_checkpoint(out / "checkpoint.safetensors")
    assert ck.meta["tokenizer"]["type"] == "word" and len(ck.meta["tokenizer"]["vocab"]) == 20
    # characters per token from the raw validation text: punctuation, newlines and case included
    tok = WordTokenizer.train(text, max_tokens=20)
    ids = tok.encode(text)
    train_ids, val_ids = train_val_split(ids, 0.1)
    val_chars = len(text) - tok.offsets(text)[len(train_ids)]
    last = ck.meta["extra"]["trainer"]["history"][-1]
    assert last["bits_per_char"] == pytest.approx(last["val_loss"] / math.log(2) / (val_chars / len(val_ids)))
    assert val_chars > len(tok.decode(val_ids))                     # what the decoding measured before
    capsys.readouterr()
    assert main(["sample", "--checkpoint", str(out), "--length", "5", "--seed", "0"]) == 0
    assert capsys.readouterr().out.startswith("to be ")


# ---------------------------------------------------------------------------- --out, --corpus, resume elsewhere

def test_out_is_checked_before_training(corpus, tmp_path, capsys, monkeypatch):
    (tmp_path / "afile").write_text("")
    argv = ["train", "--corpus", str(corpus), *SMALL, "--steps", "2"]
    assert "afile', which is a file" in error_of([*argv, "--out", str(tmp_path / "afile")], capsys)
    err = error_of([*argv, "--out", str(tmp_path / "afile" / "sub")], capsys)
    assert "--out" in err and ", which is a file" in err
    assert "--out must be a non-empty string, got ''" in error_of([*argv, "--out", ""], capsys)
    assert "--corpus must be a non-empty string, got ''" in error_of(["train", "--corpus", "", "--out", str(tmp_path / "r")],
                                                                   capsys)
    read_only = tmp_path / "ro"
    read_only.mkdir(mode=0o555)
    if os.access(read_only, os.W_OK):               # root writes anywhere: the folder reads as read-only all the same
        access = os.access
        monkeypatch.setattr(os, "access", lambda path, mode: access(path, mode) and path != str(read_only))
    err = error_of([*argv, "--out", str(read_only / "run")], capsys)
    assert f"--out must be a folder you can write to, got {str(read_only / 'run')!r}, inside {read_only} " \
        "(read-only)" in err


def test_a_run_resumes_from_another_folder(corpus, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--corpus", corpus.name, "--out", "run", *SMALL, "--steps", "4", "--eval-interval",
                 "2", "--prompt", "it's"]) == 0
    printed = capsys.readouterr().out
    assert "done: step 4" in printed
    assert "--checkpoint run --prompt 'it'\"'\"'s'" in printed                    # quoted as a shell needs it
    assert load_checkpoint(tmp_path / "run" / "checkpoint.safetensors").meta["extra"]["run"]["corpus"] == str(corpus)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert main(["train", "--resume", "--out", "../run", "--steps", "6", "--no-progress"]) == 0
    assert "training to step 6 (2 more)" in capsys.readouterr().out
    assert main(["train", "--resume", "--out", "../run", "--corpus", "../verse.txt", "--steps", "7",
                 "--no-progress"]) == 0
    capsys.readouterr()
    err = error_of(["train", "--resume", "--out", "../run", "--steps", "3"], capsys)
    assert "the run is already at step 7 and --steps is 3" in err and "nothing to train" in err


def test_validation_off_still_ends_with_done(corpus, tmp_path, capsys):
    assert train(corpus, tmp_path / "r", "--steps", "2", "--val-fraction", "0") == 0
    printed = capsys.readouterr()
    assert "validation is off" in printed.out and "done: step 2 after" in printed.out
    assert "legend" not in printed.err


def test_out_of_memory_is_one_line(corpus, tmp_path, capsys, monkeypatch):
    import minigen.cli.train_cmd as train_cmd

    def no_memory(*args, **kwargs):
        raise MemoryError
    monkeypatch.setattr(train_cmd, "RNNLanguageModel", no_memory)
    err = error_of(["train", "--corpus", str(corpus), "--out", str(tmp_path / "r"), *SMALL], capsys)
    assert "out of memory building the model; lower --hidden-size (24)" in err
    monkeypatch.undo()
    monkeypatch.setattr(train_cmd.Trainer, "fit", lambda self: no_memory())
    err = error_of(["train", "--corpus", str(corpus), "--out", str(tmp_path / "r"), *SMALL, "--steps", "2"], capsys)
    assert "out of memory while training at step 1; lower --batch-size" in err


def test_damaged_resume_metadata_is_one_line(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert train(corpus, out, "--steps", "2") == 0
    capsys.readouterr()
    meta = load_checkpoint(out / "checkpoint.safetensors").meta

    def damaged(change, name):
        m = json.loads(json.dumps(meta))
        change(m)
        folder = tmp_path / name
        folder.mkdir()
        _rewrite(out / "checkpoint.safetensors", folder / "checkpoint.safetensors", meta=json.dumps(m))
        err = error_of(["train", "--resume", "--out", str(folder), "--steps", "5", "--no-progress"], capsys)
        assert f"checkpoint {folder / 'checkpoint.safetensors'}: " in err
        return err

    assert "rng_state must be an object, got list" in damaged(lambda m: m.update(rng_state=[1]), "rng")
    assert "extra.trainer.step must be a non-negative integer, got 'x'" in damaged(
        lambda m: m["extra"]["trainer"].update(step="x"), "step")
    assert "extra.run.seq_len must be a positive integer, got '16'" in damaged(
        lambda m: m["extra"]["run"].update(seq_len="16"), "seq")
    assert "extra.run.device must be a non-empty string, got 3" in damaged(
        lambda m: m["extra"]["run"].update(device=3), "device")
    err = damaged(lambda m: m["tokenizer"]["chars"].extend(["\u00e9", "\u00e8"]), "tok")
    assert "config.vocab_size must be the tokenizer's vocabulary size, 29, got 27" in err


# ---------------------------------------------------------------------------- every damaged entry, both commands

@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    """A 2-step character LSTM run, trained once for the damaged copies below."""
    folder = tmp_path_factory.mktemp("saved")
    (folder / "verse.txt").write_text(VERSE, encoding="utf-8")
    assert train(folder / "verse.txt", folder / "run", "--steps", "2") == 0
    return folder / "run" / "checkpoint.safetensors"


def _damaged_copy(good, folder, change=None, tensors=None, drop=()):
    """``folder/checkpoint.safetensors``: ``good`` with ``change(meta)`` applied, tensors replaced or dropped."""
    from safetensors import safe_open
    from safetensors.numpy import save_file
    with safe_open(str(good), framework="numpy") as f:
        meta, arrays = json.loads(f.metadata()["minigen"]), {k: f.get_tensor(k) for k in f.keys()}
    if change:
        change(meta)
    arrays = {k: v for k, v in {**arrays, **(tensors or {})}.items() if k not in drop}
    folder.mkdir()
    save_file(arrays, str(folder / "checkpoint.safetensors"), metadata={"minigen": json.dumps(meta)})
    return folder / "checkpoint.safetensors"


def _set(*keys, value):
    """``change(meta)`` that sets ``meta[k1][k2]... = value``."""
    def change(meta):
        for k in keys[:-1]:
            meta = meta[k]
        meta[keys[-1]] = value
    return change


BOTH, RESUME = ("sample", "resume"), ("resume",)
DAMAGE = {                  # name: (what changes, the message, the commands that read the entry)
    "huge hidden_size": (dict(change=_set("config", "hidden_size", value=10**9)),
                         "config.hidden_size must be 24 (axis 1 of model.head.weight), got 1000000000", BOTH),
    "huge vocab_size": (dict(change=_set("config", "vocab_size", value=10**12)),
                        "config.vocab_size must be 27 (axis 0 of model.embedding.weight), got 1000000000000", BOTH),
    "more layers": (dict(change=_set("config", "num_layers", value=10**6)), "config.num_layers must be 2 (the "
                    "number of model.rnn.weight_hh_l<k> in the weights), got 1000000", BOTH),
    "changed cell": (dict(change=_set("config", "cell", value="gru")), "its weights do not fit its config: "
                     "model.initial_c is not in the model (and 8 more)", BOTH),     # a GRU has no c, and other sizes
    "unknown cell": (dict(change=_set("config", "cell", value="xyz")), "cell", BOTH),
    "learned state not a flag": (dict(change=_set("config", "learn_initial_state", value="yes")),
                                 "learn_initial_state must be True or False, got 'yes'", BOTH),
    "learned state dropped": (dict(change=_set("config", "learn_initial_state", value=False)),
                              "its weights do not fit its config: model.initial_c is not in the model", BOTH),
    "unknown model": (dict(change=_set("config", "model_type", value="vae")),
                      "config.model_type must be one of 'rnn_lm', 'gpt', got 'vae'", BOTH),
    "missing tensor": (dict(drop=["model.head.bias"]), "its weights do not fit its config: model.head.bias is missing",
                       BOTH),
    "extra tensor": (dict(tensors={"model.head.extra": np.zeros(3, np.float32)}),
                     "its weights do not fit its config: model.head.extra is not in the model", BOTH),
    "wrong shape": (dict(tensors={"model.head.bias": np.zeros(28, np.float32)}),
                    "model.head.bias has shape (28,), the config's model (27,)", BOTH),
    "changed tokenizer": (dict(change=lambda m: m["tokenizer"]["chars"].append("\u00e9")),
                          "config.vocab_size must be the tokenizer's vocabulary size, 28, got 27", BOTH),
    "prompt as an int": (dict(change=_set("extra", "run", "prompt", value=3)),
                         "extra.run.prompt must be a non-empty string, got 3", BOTH),
    "optimizer scalar as a string": (dict(change=_set("optimizer", "scalars", "0", "step", value="2")),
                                     "optimizer.scalars.0.step must be a finite number, got '2'", BOTH),
    "optimizer lr as a string": (dict(change=lambda m: m["optimizer"]["param_groups"][0].update(lr="x")), "lr",
                                 RESUME),
    "rng_state": (dict(change=_set("rng_state", value={"bit_generator": "MT19937"})), "rng_state must be a PCG64 "
                  "generator's state", BOTH),
    "trainer state as a list": (dict(change=_set("extra", "trainer", value=[2, 0.1])),
                                "extra.trainer must be an object, got list", RESUME),
    "carried state not a tuple": (dict(change=_set("extra", "trainer", "state_is_tuple", value=False)),
                                  "its carried state (extra.state.<k>, extra.trainer.state_is_tuple) does not fit the "
                                  "model: LSTM", RESUME),
    "carried state cut short": (dict(drop=["extra.state.1"]), "its carried state (extra.state.<k>, "
                                "extra.trainer.state_is_tuple) does not fit the model", RESUME),
    "position out of range": (dict(change=_set("extra", "trainer", "position", value=10**12)),
                              "extra.trainer.position must be an integer in [0, 2] or None, got 1000000000000", RESUME),
    "history entry": (dict(change=_set("extra", "trainer", "history", value=[{"step": "2"}])),
                      "extra.trainer.history[0].step must be a finite number, got '2'", RESUME),
    "run size beside its config": (dict(change=_set("extra", "run", "hidden_size", value=10**9)),
                                   "extra.run.hidden_size must be 24, as config.hidden_size, got 1000000000", RESUME),
    "temperatures": (dict(change=_set("extra", "run", "temperatures", value="hot")),
                     "extra.run.temperatures must be a non-empty list of numbers, got 'hot'", BOTH),
    "no optimizer state": (dict(change=_set("optimizer", value=None)), "optimizer must be the optimizer's state (to "
                           "start it afresh, resume with reset_optimizer=True, or --reset-optimizer), got null", RESUME),
    "run as a list": (dict(change=_set("extra", "run", value=[2])), "extra.run must be an object, got list", BOTH),
    "run model beside its config": (dict(change=_set("extra", "run", "model", value="gpt")),
                                    "extra.run.model must be one of 'rnn', got 'gpt'", RESUME),
}


@pytest.mark.parametrize("command", ["sample", "resume"])
@pytest.mark.parametrize("case", list(DAMAGE))
def test_every_damaged_entry_is_one_line_naming_it(saved_run, tmp_path, capsys, case, command):
    """A hand-edited checkpoint: one line naming the file and the entry, no traceback, for sample and resume alike."""
    damage, message, commands = DAMAGE[case]
    if command not in commands:
        pytest.skip(f"`minigen {command}` does not read this entry")
    path = _damaged_copy(saved_run, tmp_path / "run", **damage)
    argv = ["sample", "--checkpoint", str(path), "--length", "5"] if command == "sample" else \
        ["train", "--resume", "--out", str(path.parent), "--steps", "4", "--no-progress"]
    capsys.readouterr()
    assert main(argv) == 1
    printed = capsys.readouterr()
    assert printed.err.count("\n") == 1 and "Traceback" not in printed.err, printed.err
    assert printed.err.startswith(f"minigen {argv[0]}: error: checkpoint {path}: "), printed.err
    assert message in printed.err
    assert "resuming" not in printed.out and "----- " not in printed.out      # refused before any work


def test_reset_optimizer(saved_run, tmp_path, capsys):
    """A checkpoint without optimizer state resumes only with --reset-optimizer, which a new run refuses."""
    path = _damaged_copy(saved_run, tmp_path / "run", change=_set("optimizer", value=None))
    assert main(["train", "--resume", "--out", str(path.parent), "--steps", "4", "--no-progress",
                 "--reset-optimizer"]) == 0
    assert "resuming" in capsys.readouterr().out and load_checkpoint(path).meta["step"] == 4
    err = error_of(["train", "--out", str(tmp_path / "new"), "--reset-optimizer"], capsys)
    assert "--reset-optimizer must be given with --resume only" in err
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "--reset-optimizer" in capsys.readouterr().out


def test_resume_refuses_a_checkpoint_that_is_not_a_run_and_a_corpus_it_cannot_find(saved_run, tmp_path, capsys,
                                                                                   monkeypatch):
    tok = CharTokenizer.train(VERSE)
    (tmp_path / "plain").mkdir()
    save_checkpoint(tmp_path / "plain" / "checkpoint.safetensors", RNNLanguageModel(tok.vocab_size, 4, 8),
                    tokenizer=tok)
    err = error_of(["train", "--resume", "--out", str(tmp_path / "plain"), "--steps", "4"], capsys)
    assert "--resume must be a checkpoint written by `minigen train`, got " \
        f"{tmp_path / 'plain' / 'checkpoint.safetensors'}" in err
    # an older run kept its corpus as typed, relative to the folder it started in: elsewhere it must be given
    path = _damaged_copy(saved_run, tmp_path / "older", change=_set("extra", "run", "corpus", value="verse.txt"))
    monkeypatch.chdir(tmp_path)
    err = error_of(["train", "--resume", "--out", str(path.parent), "--steps", "4"], capsys)
    assert "--resume: --corpus must be given: the run's corpus is relative to the folder it started in, got " \
        "'verse.txt'" in err


def test_resume_refuses_a_corpus_changed_since(saved_run, tmp_path, capsys):
    edited = tmp_path / "verse.txt"
    edited.write_text(VERSE + VERSE.splitlines(keepends=True)[0], encoding="utf-8")      # same letters, a line more
    path = _damaged_copy(saved_run, tmp_path / "run", change=_set("extra", "run", "corpus", value=str(edited)))
    err = error_of(["train", "--resume", "--out", str(path.parent), "--steps", "4", "--no-progress"], capsys)
    assert f"--resume: --corpus must be the text the run trained on, got {str(edited)!r}, changed since" in err
    assert load_checkpoint(path).meta["step"] == 2                        # refused before any step


def test_a_run_saved_before_learned_initial_states_resumes_as_it_was(corpus, tmp_path, capsys):
    """Such a run's settings and model config lack learn_initial_state (and its model has no initial_h)."""
    assert train(corpus, tmp_path / "new", "--steps", "2", "--no-learn-initial-state") == 0

    def older(meta):
        del meta["config"]["learn_initial_state"], meta["extra"]["run"]["learn_initial_state"]
    path = _damaged_copy(tmp_path / "new" / "checkpoint.safetensors", tmp_path / "run", change=older)
    assert main(["train", "--resume", "--out", str(path.parent), "--steps", "4", "--no-progress"]) == 0
    ck = load_checkpoint(path)
    assert ck.meta["step"] == 4 and ck.meta["config"]["learn_initial_state"] is False
    assert ck.meta["extra"]["run"]["learn_initial_state"] is False and "model.initial_h" not in ck.arrays
    assert "--learn-initial-state must be the run's False" in error_of(
        ["train", "--resume", "--out", str(path.parent), "--steps", "6", "--learn-initial-state"], capsys)


@pytest.mark.parametrize("option,value,message", [
    ("--repetition-penalty", "1e300", "--repetition-penalty must be a number in [0.0001, 10000], got 1e+300"),
    ("--repetition-penalty", "1e-300", "--repetition-penalty must be a number in [0.0001, 10000], got 1e-300"),
    ("--repetition-penalty", "inf", "--repetition-penalty must be a number in [0.0001, 10000], got inf"),
    ("--temperature", "1e300", "--temperature must be 0 (greedy) or a number in [0.0001, 10000], got 1e+300"),
    ("--temperature", "1e-300", "--temperature must be 0 (greedy) or a number in [0.0001, 10000], got 1e-300"),
    ("--length-penalty", "1e300", "--length-penalty must be a number in [-10, 10], got 1e+300"),   # an OverflowError
])
def test_an_extreme_scale_is_refused_before_sampling(saved_run, capsys, option, value, message):
    """1e300 overflowed the float32 scores: NumPy's RuntimeWarnings came in the middle of the text."""
    assert message in error_of(["sample", "--checkpoint", str(saved_run), option, value], capsys)
