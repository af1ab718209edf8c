"""Gumbel-softmax: the formula, gradchecks, straight-through, samples that follow softmax(logits), PyTorch parity."""

import numpy as np
import pytest

import minigen
import minigen.functional as F
from minigen.kernels import gumbel as K

# chi-square critical values at significance 0.001, by degrees of freedom (any statistics table)
CHI2_999 = {3: 16.266, 4: 18.467}


def _randn(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ---------------------------------------------------------------------------- reference expectations

@pytest.mark.parametrize("tau", [0.5, 1.0, 3.0])
def test_soft_and_hard_reference(backend, tau):
    logits, g = _randn((3, 6), 1), _randn((3, 6), 2)
    soft = F.gumbel_softmax(backend.tensor(logits), tau=tau, gumbels=backend.asarray(g))
    np.testing.assert_allclose(backend.numpy(soft), _softmax((logits + g) / tau), rtol=1e-13)
    hard = F.gumbel_softmax(backend.tensor(logits), tau=tau, hard=True, gumbels=backend.asarray(g))
    np.testing.assert_array_equal(backend.numpy(hard), np.eye(6)[np.argmax(logits + g, axis=1)])
    along_0 = F.gumbel_softmax(backend.tensor(logits), tau=tau, hard=True, dim=0, gumbels=backend.asarray(g))
    np.testing.assert_array_equal(backend.numpy(along_0), np.eye(3)[np.argmax(logits + g, axis=0)].T)


def test_noise_comes_from_the_seeded_generator(backend):
    """One seed, one sample, on every backend: g is drawn on the host (numpy's Gumbel), as dropout's mask is."""
    logits = _randn((4, 5), 3)
    minigen.manual_seed(11)
    y = F.gumbel_softmax(backend.tensor(logits), tau=0.7)
    g = np.random.default_rng(11).gumbel(size=(4, 5))
    np.testing.assert_allclose(backend.numpy(y), _softmax((logits + g) / 0.7), rtol=1e-13)


# ---------------------------------------------------------------------------- gradients

@pytest.mark.parametrize("tau, axis", [(1.0, -1), (0.3, 0), (2.5, 1)])
def test_relaxed_gradcheck(backend, tau, axis):
    g = backend.asarray(_randn((3, 4, 2), 4))
    fwd = lambda x: K.gumbel_softmax_forward(x, g, tau, axis)  # noqa: E731
    assert minigen.gradcheck_kernel(fwd, K.gumbel_softmax_backward, {"logits": backend.asarray(_randn((3, 4, 2), 5))})
    fixed = lambda x: F.gumbel_softmax(x, tau, dim=axis, gumbels=g)  # noqa: E731
    assert minigen.gradcheck(fixed, [backend.tensor(_randn((3, 4, 2)))])
    # noise drawn inside: gradcheck re-seeds before every call, so each call draws the same g
    assert minigen.gradcheck(lambda x: F.gumbel_softmax(x, tau, dim=axis), [backend.tensor(_randn((3, 4, 2), 6))])


def test_straight_through_gradient_is_the_soft_one(backend):
    logits, g, dout = _randn((5, 7), 7), backend.asarray(_randn((5, 7), 8)), backend.asarray(_randn((5, 7), 9))
    grads = []
    for hard in (False, True):
        x = backend.tensor(logits, requires_grad=True)
        F.gumbel_softmax(x, tau=0.8, hard=hard, gumbels=g).backward(dout)
        grads.append(backend.numpy(x.grad))
    np.testing.assert_array_equal(grads[1], grads[0])
    assert np.abs(grads[0]).max() > 0


# ---------------------------------------------------------------------------- the samples follow softmax(logits)

def _chi_square(counts, p):
    expected = p * counts.sum()
    return float(((counts - expected) ** 2 / expected).sum())


def test_hard_samples_follow_softmax_of_the_logits(backend):
    p = np.array([0.1, 0.2, 0.3, 0.4])
    N = 4000
    logits = backend.tensor(np.tile(np.log(p), (N, 1)))
    minigen.manual_seed(2024)
    counts = backend.numpy(F.gumbel_softmax(logits, hard=True)).sum(axis=0)          # one sample per row
    assert counts.sum() == N
    assert _chi_square(counts, p) < CHI2_999[3]
    # the test has power: the same counts are far from another distribution
    assert _chi_square(counts, np.full(4, 0.25)) > 10 * CHI2_999[3]


# ---------------------------------------------------------------------------- PyTorch parity

@pytest.mark.reference
@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize("tau", [0.5, 1.0, 2.0])
def test_matches_torch_given_its_noise(hard, tau):
    """torch draws g = -log(E), E ~ Exponential(1); re-seeding replays its draw, which minigen takes as ``gumbels``."""
    torch = pytest.importorskip("torch")
    logits, dout = _randn((6, 5), 10) * 2, _randn((6, 5), 11)
    theirs = torch.tensor(logits, requires_grad=True)
    torch.manual_seed(5)
    g = -torch.empty_like(theirs).exponential_().log()
    torch.manual_seed(5)
    yt = torch.nn.functional.gumbel_softmax(theirs, tau=tau, hard=hard)
    yt.backward(torch.tensor(dout))
    soft_formula = torch.softmax((theirs.detach() + g) / tau, dim=-1).numpy()
    mine = minigen.tensor(logits, requires_grad=True)
    y = F.gumbel_softmax(mine, tau=tau, hard=hard, gumbels=g.numpy())
    y.backward(dout)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=0, atol=1e-15)      # torch's hard: 1 ulp off
    if not hard:
        np.testing.assert_allclose(y.numpy(), soft_formula, rtol=0, atol=1e-15)
    np.testing.assert_allclose(mine.grad, theirs.grad.numpy(), rtol=0, atol=1e-13)


# ---------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("kwargs, error, message", [
    ({"tau": 0.0}, ValueError, "gumbel_softmax: tau must be a finite number > 0, got 0.0"),
    ({"tau": -1}, ValueError, "gumbel_softmax: tau must be a finite number > 0, got -1"),
    ({"tau": True}, ValueError, "gumbel_softmax: tau must be a finite number > 0, got True"),
    ({"hard": "yes"}, ValueError, "gumbel_softmax: hard must be True or False, got 'yes'"),
    ({"dim": 2}, ValueError, r"gumbel_softmax: dim must be an integer in \[-2, 1\], got 2"),
    ({"gumbels": np.zeros((3, 4))}, ValueError, r"gumbel_softmax: gumbels must be of shape \(3, 5\), "
                                                r"got shape \(3, 4\)"),
    ({"gumbels": np.zeros((3, 5), np.float32)}, TypeError, "gumbel_softmax: gumbels must be of logits's dtype float64"),
    ({"gumbels": np.zeros((3, 5), np.int64)}, TypeError, "gumbel_softmax: gumbels must be floating point"),
    ({"gumbels": [0.0] * 5}, TypeError, "gumbel_softmax: gumbels must be a Tensor or an array, got list"),
])
def test_bad_input(kwargs, error, message):
    with pytest.raises(error, match="^" + message):
        F.gumbel_softmax(minigen.tensor(_randn((3, 5))), **kwargs)


def test_bad_logits():
    with pytest.raises(TypeError, match="^gumbel_softmax: logits must be floating point"):
        F.gumbel_softmax(np.zeros((2, 3), np.int64))
    with pytest.raises(ValueError, match=r"^gumbel_softmax: logits must be an array of at least one dimension, "
                                         r"got shape \(\)$"):
        F.gumbel_softmax(minigen.tensor(1.0))
