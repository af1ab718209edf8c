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
