"""The training loop: it learns, it resumes bit for bit, it stops cleanly on a non-finite loss."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

import minigen
from minigen.checkpoint import CheckpointError, load_checkpoint
from minigen.data import CharTokenizer, train_val_split
from minigen.models import RNNLanguageModel
from minigen.train import Callback, LossCurve, TextGenerator, Trainer, TrainingError

TEXT = ("To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n"
        "The slings and arrows of outrageous fortune,\nOr to take arms against a sea of troubles\n") * 40


@pytest.fixture(scope="module")
def data():
    tok = CharTokenizer.train(TEXT)
    train, val = train_val_split(tok.encode(TEXT), 0.1)
    return tok, train, val


def make(data, *, cell="lstm", dropout=0.0, seed=0, device=None, learn_initial_state=False, **kw):
    tok, train, val = data
    minigen.manual_seed(seed)
    model = RNNLanguageModel(tok.vocab_size, 8, 32, num_layers=2, cell=cell, dropout=dropout,
                             learn_initial_state=learn_initial_state)
    if device is not None:
        model.to(device)
    opt = minigen.optim.Adam(model.parameters(), lr=1e-2)
    settings = dict(tokenizer=tok, batch_size=4, seq_len=16, max_steps=40, eval_interval=10, warmup_steps=5,
                    progress=False, log=lambda text: None)
    settings.update(kw)
    return Trainer(model, opt, train, val, device=device, **settings)


def params(trainer):
    return {k: minigen.to_numpy(v).copy() for k, v in trainer.model.state_dict().items()}


class StopAt(Callback):
    """Ask the trainer to stop after a given step, as Ctrl-C does."""

    def __init__(self, step):
        self.step = step

    def on_step_end(self, trainer, loss):
        if trainer.step == self.step:
            trainer.should_stop = True


def test_it_learns(data):
    # Restarting rows from zero every 4 steps of 16 tokens would leave too little context to
    # memorise the verse this quickly; tests/train/test_cold_start.py tests the restarts.
    trainer = make(data, max_steps=300, eval_interval=100, fresh_state_every=0)
    before = trainer.evaluate()["val_loss"]
    metrics = trainer.fit()
    assert metrics["step"] == 300 and trainer.step == 300
    assert metrics["val_loss"] < 0.25 * before                 # from ~ln(V) to a memorised verse
    assert metrics["perplexity"] == pytest.approx(math.exp(metrics["val_loss"]))
    assert metrics["bits_per_char"] == pytest.approx(metrics["val_loss"] / math.log(2))
    assert [m["step"] for m in trainer.history] == [100, 200, 300]
    assert trainer.tokens_seen == 300 * 4 * 16
    assert len(trainer.train_curve) == 30


def test_learning_rate_schedule(data):
    trainer = make(data, max_steps=100, warmup_steps=10, min_lr_ratio=0.1)
    lrs = []
    for _ in range(100):
        trainer.train_step()
        lrs.append(trainer.optimizer.param_groups[0]["lr"])
    expected = [1e-2 * min(1, (k + 1) / 10) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * k / 100)))
                for k in range(100)]                          # linear warmup times a cosine to 0.1x
    assert lrs == pytest.approx(expected, rel=1e-12)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))       # then only down


@pytest.mark.parametrize("cell,dropout", [("lstm", 0.2), ("gru", 0.0)])
def test_resume_is_bit_for_bit(data, tmp_path, cell, dropout):
    whole = make(data, cell=cell, dropout=dropout)
    whole.fit()

    first = make(data, cell=cell, dropout=dropout, checkpoint_dir=tmp_path, callbacks=[StopAt(23)])
    first.fit()
    assert first.step == 23 and load_checkpoint(tmp_path / "checkpoint.safetensors").meta["step"] == 23
    del first                                                      # the process is gone

    second = make(data, cell=cell, dropout=dropout, seed=99, checkpoint_dir=tmp_path)   # a fresh model
    second.resume()
    assert second.step == 23 and second.state is not None
    second.fit()
    assert second.step == 40
    for name, value in params(whole).items():
        np.testing.assert_array_equal(params(second)[name], value, err_msg=name)
    assert [m["val_loss"] for m in second.history][-2:] == [m["val_loss"] for m in whole.history][-2:]


def test_resume_refuses_a_damaged_loop_state_and_a_missing_optimizer(data, tmp_path):
    """Nothing is reset silently: no optimizer state is an error unless reset_optimizer=True."""
    first = make(data, checkpoint_dir=tmp_path, max_steps=10)
    first.fit()
    ck = load_checkpoint(tmp_path / "checkpoint.safetensors")
    ck.optimizer_state = None
    with pytest.raises(CheckpointError, match=r"optimizer must be the optimizer's state \(to start it afresh, resume "
                                              r"with reset_optimizer=True"):
        make(data, checkpoint_dir=tmp_path).resume(ck)
    fresh = make(data, checkpoint_dir=tmp_path)
    fresh.resume(ck, reset_optimizer=True)
    assert fresh.step == 10 and fresh.optimizer.state == {}
    with pytest.raises(ValueError, match="Trainer.resume: reset_optimizer must be True or False, got 'yes'"):
        fresh.resume(ck, reset_optimizer="yes")
    for change, message in [
        (dict(position=10**12), r"extra.trainer.position must be an integer in \[0, 10\] or None, got 1000000000000"),
        (dict(elapsed="3"), "extra.trainer.elapsed must be a finite number >= 0, got '3'"),
        (dict(train_curve=[[10, "x"]]), r"extra.trainer.train_curve\[0\] must be a \[step, loss\] pair"),
        (dict(step=11), "extra.trainer.step must be the checkpoint's step, 10, got 11"),
    ]:
        ck = load_checkpoint(tmp_path / "checkpoint.safetensors")
        ck.meta["extra"]["trainer"].update(change)
        with pytest.raises(CheckpointError, match=f"checkpoint {ck.path}: {message}"):
            make(data, checkpoint_dir=tmp_path).resume(ck)
    ck = load_checkpoint(tmp_path / "checkpoint.safetensors")
    ck.arrays["state.0"] = ck.arrays["state.0"].astype(np.int64)           # the carried state, as integers
    with pytest.raises(CheckpointError, match=rf"checkpoint {ck.path}: extra.state.0 must be floating point \(minigen "
                                              r"never upcasts silently\), got int64"):
        make(data, checkpoint_dir=tmp_path).resume(ck)


def test_nonfinite_loss_stops_and_keeps_the_last_checkpoint(data, tmp_path):
    class Poison(Callback):
        def on_step_end(self, trainer, loss):
            if trainer.step == 15:
                p = next(iter(trainer.model.parameters()))
                p.data = p.data * np.nan

    trainer = make(data, checkpoint_dir=tmp_path, callbacks=[Poison()])
    path = tmp_path / "checkpoint.safetensors"
    with pytest.raises(TrainingError) as err:
        trainer.fit()
    message = str(err.value)
    assert "step 16" in message and "nan" in message
    assert str(path) in message and "(step 10)" in message and "intact" in message
    ck = load_checkpoint(path)
    assert ck.meta["step"] == 10
    assert all(np.isfinite(v).all() for v in ck.model_state.values())


def test_stateless_models_get_random_windows(data):
    tok, train, val = data

    class Bigram(minigen.nn.Module):               # no detach_state: a model without carried state
        def __init__(self):
            super().__init__()
            self.table = minigen.nn.Embedding(tok.vocab_size, tok.vocab_size)

        def forward(self, ids):
            return self.table(ids)

    minigen.manual_seed(0)
    model = Bigram()
    trainer = Trainer(model, minigen.optim.Adam(model.parameters(), lr=0.1), train, val, batch_size=8,
                      seq_len=8, max_steps=60, eval_interval=30, progress=False, log=lambda t: None)
    before = trainer.evaluate()["val_loss"]
    assert trainer.fit()["val_loss"] < before - 0.5


def test_on_the_backends(data, backend):
    """A few steps with the model and the batches on each backend."""
    trainer = make(data, max_steps=4, eval_interval=2, eval_tokens=200, device=backend.device,
                   callbacks=[TextGenerator(data[0], prompt="To", temperatures=[0, 1], length=5)])
    metrics = trainer.fit()
    assert trainer.step == 4 and math.isfinite(metrics["val_loss"])


def test_text_generator_samples_each_temperature(data):
    tok = data[0]
    gen = TextGenerator(tok, prompt="To be", temperatures=[0, 0.5, 1.5], length=30)
    logged = []
    trainer = make(data, max_steps=20, eval_interval=10, callbacks=[gen], log=logged.append)
    trainer.fit()
    assert [(s["step"], s["temperature"]) for s in gen.samples] == [(10, 0), (10, 0.5), (10, 1.5),
                                                                     (20, 0), (20, 0.5), (20, 1.5)]
    assert all(len(s["text"]) == 30 for s in gen.samples)
    assert any(line.startswith("----- temperature 0.5:\nTo be") for line in logged)
    greedy = minigen.sample.generate(trainer.model, tok.encode("To be")[None], 30)
    assert gen.samples[3]["text"] == tok.decode(greedy[0, 5:])


def test_text_generator_bad_arguments(data):
    tok = data[0]
    with pytest.raises(ValueError, match=r"outside the vocabulary.*'Z'.*'é'"):
        TextGenerator(tok, prompt="Zé")
    with pytest.raises(ValueError, match="TextGenerator: temperatures must be a finite number >= 0, got -1.0"):
        TextGenerator(tok, prompt="To", temperatures=[-1.0])
    with pytest.raises(ValueError, match="TextGenerator: temperatures must be one temperature or more, got none"):
        TextGenerator(tok, prompt="To", temperatures=[])
    with pytest.raises(ValueError, match="TextGenerator: prompt must be a non-empty string, got ''"):
        TextGenerator(tok, prompt="")
    with pytest.raises(ValueError, match="TextGenerator: prompt must be a non-empty string, got 3"):
        TextGenerator(tok, prompt=3)            # a run's prompt saved as a number
    with pytest.raises(ValueError, match="TextGenerator: length must be a non-negative integer, got True"):
        TextGenerator(tok, prompt="To", length=True)
    with pytest.raises(ValueError, match="TextGenerator: seed must be a non-negative integer, got -1"):
        TextGenerator(tok, prompt="To", seed=-1)


def test_loss_curve_png(data, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "plots" / "loss.png"
    make(data, max_steps=20, callbacks=[LossCurve(path)]).fit()
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert [p for p in os.listdir(path.parent)] == ["loss.png"]      # no temporary files left behind


def test_loss_curve_without_matplotlib(data, tmp_path, monkeypatch):
    import sys
    for name in [m for m in sys.modules if m.split(".")[0] == "matplotlib"] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)                  # importing matplotlib now fails
    logged = []
    make(data, max_steps=20, callbacks=[LossCurve(tmp_path / "loss.png")], log=logged.append).fit()
    assert sum("matplotlib is not installed" in line for line in logged) == 1
    assert not (tmp_path / "loss.png").exists()


@pytest.mark.parametrize("kw,match", [
    (dict(batch_size=0), "batch_size must be a positive integer, got 0"),
    (dict(seq_len=2.5), "seq_len must be a positive integer, got 2.5"),
    (dict(max_steps=None), "max_steps or time_budget must be given"),
    (dict(time_budget=-1), "time_budget must be a finite number > 0 or None, got -1"),
    (dict(lr_schedule="linear"), "lr_schedule must be one of 'cosine', 'constant', got 'linear'"),
    (dict(grad_clip=0), "grad_clip must be a finite number > 0 or None, got 0"),
    (dict(min_lr_ratio=2), r"min_lr_ratio must be a number in \[0, 1\], got 2"),
    (dict(seq_len=10_000), "too short for seq_len 10000"),
    # the copies of these rules had drifted: warmup_steps took True, time_budget a bool
    (dict(warmup_steps=True), "Trainer: warmup_steps must be a non-negative integer, got True"),
    (dict(warmup_steps=-1), "Trainer: warmup_steps must be a non-negative integer, got -1"),
    (dict(time_budget=True), "Trainer: time_budget must be a finite number > 0 or None, got True"),
    (dict(time_budget=float("inf")), "Trainer: time_budget must be a finite number > 0 or None, got inf"),
    (dict(progress="no"), "Trainer: progress must be True or False, got 'no'"),
])
def test_bad_arguments(data, kw, match):
    with pytest.raises(ValueError, match=match):
        make(data, **kw)


def test_numpy_integers_and_floats_are_accepted(data):
    """A NumPy int is an int (warmup_steps refused one before the rules were shared), a NumPy float a number."""
    trainer = make(data, warmup_steps=np.int64(3), max_steps=np.int32(2), time_budget=np.float32(60.0))
    assert (trainer.warmup_steps, trainer.max_steps, trainer.time_budget) == (3, 2, 60.0)
    assert type(trainer.warmup_steps) is int and type(trainer.time_budget) is float


def test_a_nonfinite_validation_names_the_step_it_evaluated(data, tmp_path):
    class PoisonAfter(Callback):
        def on_step_end(self, trainer, loss):
            if trainer.step == 20:                      # after the step's update, before its evaluation
                p = next(iter(trainer.model.parameters()))
                p.data = p.data * np.nan

    trainer = make(data, checkpoint_dir=tmp_path, callbacks=[PoisonAfter()])
    with pytest.raises(TrainingError, match=r"training stopped at step 20: the validation loss is nan.*\(step 10\)"):
        trainer.fit()
    assert load_checkpoint(tmp_path / "checkpoint.safetensors").meta["step"] == 10


def test_the_checkpoint_is_written_before_the_callbacks_run(data, tmp_path):
    class Broken(Callback):
        def on_evaluate(self, trainer, metrics):
            raise RuntimeError("a callback that fails")

    with pytest.raises(RuntimeError, match="a callback that fails"):
        make(data, checkpoint_dir=tmp_path, callbacks=[Broken()]).fit()
    assert load_checkpoint(tmp_path / "checkpoint.safetensors").meta["step"] == 10   # the run is not lost


def test_bits_per_char_from_the_raw_validation_text(data):
    trainer = make(data, max_steps=10, val_chars=3 * len(data[2]))        # say each token stood for 3 characters
    metrics = trainer.evaluate()
    assert metrics["bits_per_char"] == pytest.approx(metrics["val_loss"] / math.log(2) / 3)
    with pytest.raises(ValueError, match="val_chars must be a positive integer or None, got 0"):
        make(data, val_chars=0)


def test_the_progress_bar_in_time_mode(data, capsys):
    make(data, max_steps=None, time_budget=1.0, progress=True).fit()
    err = capsys.readouterr().err
    assert "loss " in err and "[, " not in err               # the clock, then ", loss ...", no stray comma


def test_text_generator_prompt_without_tokens():
    tok = minigen.data.WordTokenizer.train("to be or not to be")
    with pytest.raises(ValueError, match=r"TextGenerator: prompt must be one token or more, got '\.\.\.', no tokens"):
        TextGenerator(tok, prompt="...")
