"""``minigen train`` and ``sample``: options checked up front with the flag named, resume with a new learning
rate, damaged checkpoints, the GPT from the command line, and bits per character of words."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from minigen.checkpoint import load_checkpoint
from minigen.cli import main
from minigen.data import WordTokenizer, train_val_split
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
    (["--val-fraction", "1.5"], "--val-fraction must be in [0, 1), got 1.5"),
    (["--hidden-size", "0"], "--hidden-size must be a positive integer, got 0"),
    (["--lr", "-1"], "--lr must be a finite number > 0, got -1"),
    (["--temperatures", "0.5", "-1"], "--temperatures must be a finite number >= 0, got -1"),
    (["--prompt", ""], "--prompt is empty"),
    (["--model", "gpt", "--seq-len", "0"], "--seq-len must be a positive integer, got 0"),
    (["--model", "gpt", "--n-head", "3", "--n-embd", "32"], "--n-embd must be divisible by --n-head, got 32 and 3"),
    (["--model", "gpt", "--cell", "gru"], "--cell is an option of --model rnn, not of --model gpt"),
    (["--model", "gpt", "--hidden-size", "64"], "--hidden-size is an option of --model rnn, not of --model gpt"),
    (["--n-layer", "2"], "--n-layer is an option of --model gpt, not of --model rnn"),
    (["--vocab-size", "100"], "--vocab-size does not apply to --tokenizer char"),
    (["--tokenizer", "bpe", "--vocab-size", "100"], "--vocab-size must be an integer >= 256, got 100"),
    (["--tokenizer", "word", "--vocab-size", "2"], "--vocab-size must be an integer >= 3, got 2"),
])
def test_train_options_are_checked_before_the_corpus_is_read(tmp_path, capsys, argv, message):
    # the corpus does not exist: these errors must come first, naming the flag the user typed
    err = error_of(["train", "--corpus", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "run"), *argv], capsys)
    assert message in err


@pytest.mark.parametrize("argv,message", [
    (["--num-beams", "0"], "--num-beams must be a positive integer, got 0"),
    (["--temperature", "-1"], "--temperature must be a finite number >= 0, got -1"),
    (["--top-k", "-1"], "--top-k must be an integer >= 0, got -1"),
    (["--typical-p", "0"], "--typical-p must be in (0, 1], got 0"),
    (["--repetition-penalty", "0"], "--repetition-penalty must be a finite number > 0, got 0"),
    (["--no-repeat-ngram-size", "-2"], "--no-repeat-ngram-size must be an integer >= 0, got -2"),
    (["--num-return-sequences", "0"], "--num-return-sequences must be a positive integer, got 0"),
    (["--seed", "-1"], "--seed must be an integer >= 0, got -1"),
    (["--stop", ""], "--stop is empty"),
])
def test_sample_options_are_checked_before_the_checkpoint_is_read(tmp_path, capsys, argv, message):
    assert message in error_of(["sample", "--checkpoint", str(tmp_path / "missing"), *argv], capsys)


def test_a_corpus_too_short_for_the_batch(tmp_path, capsys):
    path = tmp_path / "short.txt"
    path.write_text("To be, or not to be.\n" * 10, encoding="utf-8")
    err = error_of(["train", "--corpus", str(path), "--out", str(tmp_path / "run"), "--steps", "2"], capsys)
    assert "fewer than the 4,160 that --batch-size 64 and --seq-len 64 need" in err


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
    assert "--prompt '...' has no tokens for the word tokenizer" in err
    assert not out.exists()                                   # refused before the first step


def test_sample_checks_the_prompt_before_printing_it(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert train(corpus, out, "--steps", "4", "--tokenizer", "word", "--prompt", "to be") == 0
    capsys.readouterr()
    assert main(["sample", "--checkpoint", str(out), "--prompt", "...", "--length", "5"]) == 1
    printed = capsys.readouterr()
    assert printed.out == "" and "--prompt '...' has no tokens for the word tokenizer" in printed.err


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
    assert "--weight-decay cannot change on resume" in error_of(
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
    assert "tokenizer entry cannot be read" in err and "'chars' list, and it is missing" in err
    err = sample_error("config.safetensors", meta=json.dumps({**meta, "config": {"model_type": "rnn_lm"}}))
    assert "its model config cannot build a model" in err and "vocab_size" in err
    weights = {k: v.copy() for k, v in load_checkpoint(good).model_state.items()}
    weights["head.weight"][:] = np.nan
    err = sample_error("nan.safetensors", tensors={"model.head.weight": weights["head.weight"]})
    assert "holds non-finite values (NaN or inf) in tensor model.head.weight" in err


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

def test_out_is_checked_before_training(corpus, tmp_path, capsys):
    (tmp_path / "afile").write_text("")
    argv = ["train", "--corpus", str(corpus), *SMALL, "--steps", "2"]
    assert "afile' is a file, not a folder" in error_of([*argv, "--out", str(tmp_path / "afile")], capsys)
    err = error_of([*argv, "--out", str(tmp_path / "afile" / "sub")], capsys)
    assert "--out" in err and "which is a file, not a folder" in err
    assert "--out is empty" in error_of([*argv, "--out", ""], capsys)
    assert "--corpus is empty" in error_of(["train", "--corpus", "", "--out", str(tmp_path / "r")], capsys)


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
        assert f"{folder / 'checkpoint.safetensors'} is damaged" in err
        return err

    assert "rng_state" in damaged(lambda m: m.update(rng_state=[1]), "rng")
    assert "'step' is 'x'" in damaged(lambda m: m["extra"]["trainer"].update(step="x"), "step")
    assert "--seq-len is '16', not an integer" in damaged(lambda m: m["extra"]["run"].update(seq_len="16"), "seq")
    assert "--device is 3, not a string" in damaged(lambda m: m["extra"]["run"].update(device=3), "device")
    err = damaged(lambda m: m["tokenizer"]["chars"].extend(["\u00e9", "\u00e8"]), "tok")
    assert "size mismatch" in err
