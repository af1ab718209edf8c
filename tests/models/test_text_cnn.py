"""The text-CNN discriminator: ids and one-hots score alike, gradients reach the soft input, bad input is one line."""

import numpy as np
import pytest

import minigen
from minigen.models import TextCNNDiscriminator


def _model(backend=None, **kw):
    minigen.manual_seed(0)
    sizes = dict(vocab_size=7, embed_dim=5, filter_sizes=(1, 3), num_filters=(3, 4), dropout=0.0)
    d = TextCNNDiscriminator(**{**sizes, **kw}, dtype="float64")
    if backend is not None:
        d.to(backend.device)
    return d.eval()


def test_one_hot_rows_score_as_their_ids(backend):
    d = _model(backend)
    ids = np.random.default_rng(0).integers(0, 7, (4, 6))
    by_ids = backend.numpy(d(backend.asarray(ids)))
    by_one_hots = backend.numpy(d(backend.asarray(np.eye(7)[ids])))
    assert by_ids.shape == (4, 2)
    np.testing.assert_allclose(by_one_hots, by_ids, rtol=1e-12, atol=1e-12)
    p = backend.numpy(d.real_probability(backend.asarray(ids)))
    np.testing.assert_allclose(p, np.exp(by_ids[:, 1]) / np.exp(by_ids).sum(1), rtol=1e-12)


def test_gradients_reach_the_soft_input_and_every_parameter(backend):
    d = _model(backend)
    rng = np.random.default_rng(1)
    soft = rng.random((2, 4, 7))
    soft /= soft.sum(-1, keepdims=True)
    params = dict(d.named_parameters())
    assert minigen.gradcheck(lambda x, *ps: d(x), [backend.tensor(soft), *params.values()], fast=backend.fast)


def test_it_learns_to_tell_two_sources_apart():
    """Real rows repeat one token; generated rows are uniform noise: a few Adam steps separate them."""
    d = _model(dropout=0.25).train()
    rng = np.random.default_rng(2)
    opt = minigen.optim.Adam(d.parameters(), lr=0.02)
    for _ in range(40):
        real = np.repeat(rng.integers(0, 7, (16, 1)), 8, axis=1)
        fake = rng.integers(0, 7, (16, 8))
        loss = minigen.functional.cross_entropy(d(np.concatenate([real, fake])), np.repeat([1, 0], 16))
        opt.zero_grad()
        loss.backward()
        opt.step()
    d.eval()
    real = np.repeat(rng.integers(0, 7, (64, 1)), 8, axis=1)
    fake = rng.integers(0, 7, (64, 8))
    assert d.real_probability(real).numpy().mean() > 0.9 > 0.1 > d.real_probability(fake).numpy().mean()


@pytest.mark.parametrize("kwargs, x, error, message", [
    ({}, np.zeros((2, 2), np.int64), ValueError, "x must be sequences of at least 3 tokens .*, got 2"),
    ({}, np.full((2, 4), 7), IndexError, r"x must be ids in \[0, 7\), got id 7"),
    ({}, np.zeros((2, 4, 6)), ValueError, r"x must be of shape \(B, T, 7\), got shape \(2, 4, 6\)"),
    ({}, np.zeros((2, 4, 7), np.float32), TypeError, "x must be of weight's dtype float64"),
    ({"num_filters": (3,)}, None, ValueError, "num_filters must be 2 counts, one per filter size"),
    ({"filter_sizes": (0, 2)}, None, ValueError, "filter_sizes must be a positive integer, got 0"),
    ({"num_filters": (3, 0)}, None, ValueError, "num_filters must be a positive integer, got 0"),
    ({"vocab_size": 0}, None, ValueError, "vocab_size must be a positive integer, got 0"),
    ({"embed_dim": 2.5}, None, ValueError, "embed_dim must be a positive integer, got 2.5"),
    ({"dropout": 1.5}, None, ValueError, r"dropout must be a probability in \[0, 1\], got 1.5"),
])
def test_bad_input_is_one_line_naming_the_argument(kwargs, x, error, message):
    with pytest.raises(error, match="TextCNNDiscriminator: " + message):
        _model(**kwargs)(x)
