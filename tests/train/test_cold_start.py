"""Samples start cleanly: training restarts some rows of the carried state from zero, as generation starts."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import minigen
from minigen.models import RNNLanguageModel

from .test_trainer import TEXT, data, make  # noqa: F401  (data is a fixture)

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
import cold_start  # noqa: E402


def carried(trainer):
    """The carried state's arrays, (num_layers, B, H) each."""
    state = trainer.state if isinstance(trainer.state, tuple) else (trainer.state,)
    return [minigen.to_numpy(s.data) for s in state]


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_rows_restart_from_zero_by_the_step(data, cell):
    trainer = make(data, cell=cell, batch_size=6, fresh_state_every=4, max_steps=6)
    for step in range(6):
        trainer.train_step()                               # takes step `step`, then restarts its rows
        zero = [b for b in range(6) if (b + step) % 4 == 0]
        for s in carried(trainer):
            assert not s[:, zero].any(), (step, zero)
            others = [b for b in range(6) if b not in zero]
            assert np.abs(s[:, others]).min(axis=(0, 2)).max() > 0


def test_zero_turns_it_off(data):
    trainer = make(data, batch_size=4, fresh_state_every=0, max_steps=3)
    for _ in range(3):
        trainer.train_step()
        assert all((np.abs(s).max(axis=(0, 2)) > 0).all() for s in carried(trainer))


def test_a_resumed_run_restarts_the_same_rows(data, tmp_path):
    from .test_trainer import StopAt, params
    whole = make(data, fresh_state_every=3)
    whole.fit()
    first = make(data, fresh_state_every=3, checkpoint_dir=tmp_path, callbacks=[StopAt(17)])
    first.fit()
    second = make(data, fresh_state_every=3, seed=5, checkpoint_dir=tmp_path)
    second.resume()
    second.fit()
    for name, value in params(whole).items():
        np.testing.assert_array_equal(params(second)[name], value, err_msg=name)


@pytest.mark.parametrize("value, match", [(True, "got True"), (-1, "got -1"), (2.0, "got 2.0")])
def test_bad_fresh_state_every(data, value, match):
    with pytest.raises(ValueError, match=f"Trainer: fresh_state_every must be a non-negative integer, {match}"):
        make(data, fresh_state_every=value)


def test_cold_warm_nll_scores_the_same_tokens_from_two_states():
    minigen.manual_seed(0)
    model = RNNLanguageModel(11, 4, 8, num_layers=1).eval()
    ids = np.random.default_rng(0).integers(0, 11, 400)
    positions = np.array([50, 120, 300])
    cold, warm = cold_start.cold_warm_nll(model, ids, positions, span=5, warmup=30)

    def nll(tokens, context):                               # one position at a time, by hand
        with minigen.no_grad():
            state = model(context[None])[1] if context is not None else None
            logits = minigen.to_numpy(model(tokens[None, :-1], state)[0].data)[0].astype(np.float64)
        logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        return -logp[np.arange(5), tokens[1:]].mean()

    expect_cold = np.mean([nll(ids[p - 1:p + 5], None) for p in positions])
    expect_warm = np.mean([nll(ids[p - 1:p + 5], ids[p - 31:p - 1]) for p in positions])
    np.testing.assert_allclose([cold, warm], [expect_cold, expect_warm], rtol=1e-5)
    assert cold != warm


# ---------------------------------------------------------------- a learned initial state

def learned(cell, dtype="float64", seed=0):
    """A small model whose learned initial state is random (not its zeros at construction)."""
    minigen.manual_seed(seed)
    model = RNNLanguageModel(11, 4, 8, num_layers=2, cell=cell, learn_initial_state=True, dtype=dtype)
    rng = np.random.default_rng(seed)
    for name, p in model.named_parameters():
        if name.startswith("initial_"):                      # initial_h, initial_c: (L, 1, H)
            p.data[...] = rng.normal(size=p.shape)
    return model


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_a_sequence_without_a_state_starts_from_the_learned_one(cell):
    model = learned(cell)
    ids = np.random.default_rng(1).integers(0, 11, (3, 5))
    starts = [model.initial_h] + ([model.initial_c] if cell == "lstm" else [])
    given = tuple(minigen.Tensor(np.repeat(s.data, 3, axis=1)) for s in starts)
    zeros = tuple(minigen.Tensor(np.zeros_like(s.data)) for s in given)
    with minigen.no_grad():
        cold, _ = model(ids)
        same, _ = model(ids, given if cell == "lstm" else given[0])
        zero, _ = model(ids, zeros if cell == "lstm" else zeros[0])
    np.testing.assert_array_equal(minigen.to_numpy(cold.data), minigen.to_numpy(same.data))
    assert not np.allclose(minigen.to_numpy(cold.data), minigen.to_numpy(zero.data))
    assert model.config["learn_initial_state"] and "initial_h" in model.state_dict()


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_learned_initial_state_gets_its_gradient(cell):
    model = learned(cell)
    ids = np.random.default_rng(2).integers(0, 11, (2, 4))
    weights = np.random.default_rng(3).normal(size=(2, 4, 11))      # a random upstream gradient
    starts = {"initial_h": model.initial_h, **({"initial_c": model.initial_c} if cell == "lstm" else {})}

    def loss(**values):
        for name, value in values.items():
            setattr(model, name, value)
        return (model(ids)[0] * minigen.Tensor(weights)).sum()

    assert minigen.gradcheck(loss, {k: minigen.Tensor(v.data.copy(), requires_grad=True) for k, v in starts.items()})


def test_restarted_rows_start_from_the_learned_state_and_train_it(data):
    trainer = make(data, batch_size=6, fresh_state_every=4, max_steps=6, learn_initial_state=True)
    model = trainer.model
    model.initial_h.data[...] = 0.5
    model.initial_c.data[...] = -0.25
    trainer.train_step()                                     # step 0 restarts rows 0 and 4 for step 1
    started = trainer._started(trainer.state)
    for s, start in zip(started, (model.initial_h, model.initial_c)):
        s, start = minigen.to_numpy(s.data), minigen.to_numpy(start.data)[:, 0]    # (L, B, H), (L, H)
        assert abs(start - (0.5 if start.mean() > 0 else -0.25)).max() < 0.05       # one small step from them
        assert all(np.array_equal(s[:, b], start) == (b in (0, 4)) for b in range(6))
    before = minigen.to_numpy(model.initial_h.data).copy()
    trainer.train_step()
    assert not np.array_equal(minigen.to_numpy(model.initial_h.data), before)


def test_a_resumed_run_with_a_learned_state_is_exact(data, tmp_path):
    from .test_trainer import StopAt, params
    whole = make(data, fresh_state_every=3, learn_initial_state=True)
    whole.fit()
    first = make(data, fresh_state_every=3, learn_initial_state=True, checkpoint_dir=tmp_path, callbacks=[StopAt(17)])
    first.fit()
    second = make(data, fresh_state_every=3, learn_initial_state=True, seed=5, checkpoint_dir=tmp_path)
    second.resume()
    second.fit()
    for name, value in params(whole).items():
        np.testing.assert_array_equal(params(second)[name], value, err_msg=name)


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_bad_learn_initial_state(value):
    with pytest.raises(ValueError, match=f"RNNLanguageModel: learn_initial_state must be True or False, got "):
        RNNLanguageModel(11, learn_initial_state=value)
