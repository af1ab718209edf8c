"""generate(): greedy and temperature sampling from a recurrent model, carrying its state."""

from __future__ import annotations

import numpy as np
import pytest

import minigen
from minigen.models import RNNLanguageModel
from minigen.sample import generate, sample_next, stream_generate


@pytest.fixture
def model():
    minigen.manual_seed(3)
    return RNNLanguageModel(vocab_size=7, embed_dim=5, hidden_size=12, num_layers=2).double()


def test_greedy_equals_recomputing_the_argmax(model):
    prompt = np.array([[1, 2, 3], [4, 4, 0]])
    out = generate(model, prompt, max_new_tokens=6)
    ids = prompt
    for _ in range(6):                                   # no carried state: rerun the whole prefix
        logits, _ = model(ids)
        ids = np.concatenate([ids, np.argmax(logits.data[:, -1, :], axis=-1)[:, None]], axis=1)
    np.testing.assert_array_equal(out, ids)


def test_sampling_is_seeded(model):
    prompt = np.array([[1, 2]])
    a = generate(model, prompt, 20, do_sample=True, temperature=1.5, seed=7)
    b = generate(model, prompt, 20, do_sample=True, temperature=1.5, seed=7)
    c = generate(model, prompt, 20, do_sample=True, temperature=1.5, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    greedy = generate(model, prompt, 20)
    np.testing.assert_array_equal(generate(model, prompt, 20, do_sample=True, temperature=0, seed=1), greedy)
    assert model.training                                  # generation leaves the mode as it found it


def test_stream_yields_the_same_tokens(model):
    prompt = np.array([[3, 1]])
    streamed = [int(t[0]) for t in stream_generate(model, prompt, 10, do_sample=True, seed=5)]
    assert streamed == generate(model, prompt, 10, do_sample=True, seed=5)[0, 2:].tolist()


def test_eos_stops_early(model):
    prompt = np.array([[1]])
    full = generate(model, prompt, 30, do_sample=True, seed=0, temperature=2.0)[0]
    eos = int(full[5])
    first = 1 + int(np.argmax(full[1:] == eos))
    out = generate(model, prompt, 30, do_sample=True, seed=0, temperature=2.0, eos_token_id=eos)
    np.testing.assert_array_equal(out[0], full[:first + 1])


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_sample_next_follows_the_softmax(temperature):
    """A chi-square test: 20,000 draws against softmax(logits / temperature)."""
    logits = np.array([1.0, 0.0, -1.0, 2.5, 0.3])
    rng = np.random.default_rng(0)
    draws = sample_next(np.tile(logits, (20000, 1)), temperature=temperature, rng=rng)
    p = np.exp(logits / temperature)
    p /= p.sum()
    counts = np.bincount(draws, minlength=5)
    chi2 = ((counts - 20000 * p) ** 2 / (20000 * p)).sum()
    assert chi2 < 18.47                                   # the 0.999 quantile of chi-square with 4 dof


def test_extreme_logits_do_not_overflow():
    logits = np.array([[1e4, -1e4, 9999.0]], dtype=np.float32)
    assert sample_next(logits, temperature=0.01, rng=np.random.default_rng(0)).tolist() == [0]
    assert sample_next(logits, temperature=1e4, rng=np.random.default_rng(0)).item() in (0, 1, 2)


def test_on_the_backends(model, backend):
    model.to(backend.device)
    prompt = backend.asarray(np.array([[1, 2, 3]]))
    out = generate(model, prompt, 8, do_sample=True, seed=0)
    ref = generate(model.to("cpu"), np.array([[1, 2, 3]]), 8, do_sample=True, seed=0)
    np.testing.assert_array_equal(backend.numpy(out), ref)


@pytest.mark.parametrize("kw,match", [
    (dict(max_new_tokens=-1), "max_new_tokens must be a non-negative integer, got -1"),
    (dict(temperature=-0.5), r"temperature must be a finite number >= 0 \(0 means greedy\), got -0.5"),
    (dict(temperature=float("nan")), "temperature must be a finite number"),
    (dict(do_sample="yes"), "do_sample must be True or False"),
])
def test_bad_arguments(model, kw, match):
    with pytest.raises(ValueError, match=match):
        generate(model, np.array([[1]]), **kw)


def test_empty_prompt(model):
    with pytest.raises(ValueError, match=r"input_ids must be a non-empty \(batch, prompt_length\) array"):
        generate(model, np.zeros((1, 0), dtype=np.int64))
