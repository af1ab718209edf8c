"""GELU and dropout: reference values, gradchecks, the seeded mask, extremes, PyTorch parity, bad input."""

import math

import numpy as np
import pytest

import minigen
import minigen.functional as F
from minigen import backend as B
from minigen.kernels import activation as KA
from minigen.kernels import dropout as KD


def _randn(shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def _gelu_reference(x, approximate):
    if approximate == "tanh":
        return [0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3))) for v in x]
    return [0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x]


# ---------------------------------------------------------------------------- GELU

@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_reference_values(backend, approximate):
    x = [-6.0, -1.5, -1.0, -0.1, 0.0, 0.3, 1.0, 2.5, 7.0]
    y = F.gelu(backend.tensor(np.array(x)), approximate=approximate)
    np.testing.assert_allclose(backend.numpy(y), _gelu_reference(x, approximate), rtol=1e-14, atol=1e-16)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_gradcheck(backend, approximate):
    x = _randn((3, 5), seed=1, scale=2.0)
    fwd = lambda x: KA.gelu_forward(x, approximate)  # noqa: E731
    assert minigen.gradcheck_kernel(fwd, KA.gelu_backward, {"x": backend.asarray(x)})
    assert minigen.gradcheck(lambda input: F.gelu(input, approximate), {"input": backend.tensor(x)})


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_in_cache_blocks_equals_one_pass(backend, approximate, monkeypatch):
    """Blocks of 7 numbers (a large array's path, forced small) give exactly the one-block results."""
    x, dy = _randn((3, 4, 5), seed=3, scale=2.0), _randn((3, 4, 5), seed=4)
    y1, cache1 = KA.gelu_forward(backend.asarray(x), approximate)
    dx1 = KA.gelu_backward(backend.asarray(dy), cache1)
    monkeypatch.setattr(B, "CACHE_BLOCK", 7)
    assert len(B.cache_blocks(x.size, backend.asarray(x))) == (1 if backend.name == "cupy" else 9)
    y2, cache2 = KA.gelu_forward(backend.asarray(x), approximate)
    dx2 = KA.gelu_backward(backend.asarray(dy), cache2)
    assert y2.shape == x.shape and dx2.shape == x.shape
    np.testing.assert_array_equal(backend.numpy(y2), backend.numpy(y1))
    np.testing.assert_array_equal(backend.numpy(dx2), backend.numpy(dx1))


def test_gelu_kernel_matches_composed_twin(backend):
    """The hand-written tanh-form kernel against the same formula built from autograd primitives."""
    x = _randn((4, 6), seed=2, scale=3.0)
    a, b = backend.tensor(x, requires_grad=True), backend.tensor(x, requires_grad=True)
    dy = backend.asarray(_randn((4, 6), seed=3))
    ya = F.gelu(a, "tanh")
    yb = 0.5 * b * (1.0 + (math.sqrt(2 / math.pi) * (b + 0.044715 * b * b * b)).tanh())
    ya.backward(dy)
    yb.backward(dy)
    np.testing.assert_allclose(backend.numpy(ya), backend.numpy(yb), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(backend.numpy(a.grad), backend.numpy(b.grad), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_at_extremes(backend, approximate, dtype):
    """Far left GELU is 0 with gradient 0; far right it is x with gradient 1."""
    x = np.array([-1e4, -40.0, 40.0, 1e4], dtype=dtype)
    t = backend.tensor(x, requires_grad=True)
    y = F.gelu(t, approximate)
    y.backward(backend.asarray(np.ones(4, dtype)))
    np.testing.assert_array_equal(backend.numpy(y), [0.0, 0.0, 40.0, 1e4])
    np.testing.assert_array_equal(backend.numpy(t.grad), [0.0, 0.0, 1.0, 1.0])


@pytest.mark.reference
@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_matches_torch(approximate, dtype):
    torch = pytest.importorskip("torch")
    x = _randn((5, 7), seed=4, scale=3.0).astype(dtype)
    dout = _randn((5, 7), seed=5).astype(dtype)
    mine, theirs = minigen.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    a = F.gelu(mine, approximate=approximate)
    b = torch.nn.functional.gelu(theirs, approximate=approximate)
    a.backward(dout)
    b.backward(torch.tensor(dout))
    tol = 1e-5 if dtype == np.float32 else 1e-10
    ref = b.detach().numpy()
    np.testing.assert_allclose(a.numpy(), ref, rtol=0, atol=tol * np.abs(ref).max())
    g = theirs.grad.numpy()
    np.testing.assert_allclose(mine.grad, g, rtol=0, atol=tol * np.abs(g).max())


# ---------------------------------------------------------------------------- dropout

def test_same_seed_same_mask_on_every_backend(backend):
    """The mask is rng.random(shape) >= p on the host, whatever the device; minigen.dropout is F.dropout."""
    keep = np.random.default_rng(3).random((5, 7)) >= 0.3
    minigen.manual_seed(3)
    y = F.dropout(backend.tensor(np.ones((5, 7))), p=0.3)
    np.testing.assert_array_equal(backend.numpy(y), keep / 0.7)
    minigen.manual_seed(3)
    np.testing.assert_array_equal(backend.numpy(minigen.dropout(backend.tensor(np.ones((5, 7))), p=0.3)), keep / 0.7)
    minigen.manual_seed(3)
    again = F.dropout(backend.tensor(np.ones((5, 7))), p=0.3)
    np.testing.assert_array_equal(backend.numpy(again), backend.numpy(y))
    different = F.dropout(backend.tensor(np.ones((5, 7))), p=0.3)          # the next draw is a new mask
    assert not np.array_equal(backend.numpy(different), backend.numpy(y))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_mask_statistics(backend, p):
    n = 100_000
    minigen.manual_seed(11)
    y = backend.numpy(F.dropout(backend.tensor(np.ones(n, np.float32)), p=p))
    assert set(np.unique(y).tolist()) <= {0.0, np.float32(1 / (1 - p))}
    kept = np.mean(y != 0)
    assert abs(kept - (1 - p)) < 5 * math.sqrt(p * (1 - p) / n)
    assert abs(y.mean() - 1.0) < 5 * math.sqrt(p / (1 - p) / n)             # inverted: E[y] = x


def test_dropout_eval_and_p0_are_identity_and_draw_nothing(backend):
    x = backend.tensor(_randn((3, 4)))
    state = B.get_rng_state()
    assert F.dropout(x, p=0.5, training=False) is x
    assert F.dropout(x, p=0.0) is x
    assert B.get_rng_state() == state


def test_dropout_p1_drops_everything(backend):
    x = backend.tensor(_randn((3, 4)), requires_grad=True)
    y = F.dropout(x, p=1.0)
    y.backward(backend.asarray(np.ones((3, 4))))
    assert np.all(backend.numpy(y) == 0.0)
    assert np.all(backend.numpy(x.grad) == 0.0)


def test_dropout_gradient(backend):
    p = 0.4
    x = _randn((4, 5), seed=6)
    mask = backend.asarray(np.random.default_rng(7).random((4, 5)) >= p)
    assert minigen.gradcheck_kernel(lambda x: KD.dropout_forward(x, p, mask), KD.dropout_backward,
                                    {"x": backend.asarray(x)})
    # gradcheck reseeds before every evaluation, so the functional form redraws the same mask
    assert minigen.gradcheck(lambda input: F.dropout(input, p), {"input": backend.tensor(x)})
    minigen.manual_seed(5)
    t = backend.tensor(x, requires_grad=True)
    F.dropout(t, p).backward(backend.asarray(np.ones((4, 5))))
    keep = np.random.default_rng(5).random((4, 5)) >= p
    np.testing.assert_array_equal(backend.numpy(t.grad), keep / (1 - p))


def test_dropout_kernel_contract(backend):
    x = backend.asarray(_randn((2, 3)))
    y, cache = KD.dropout_forward(x, 0.0)
    assert y is x and KD.dropout_backward(x, cache) is x
    with pytest.raises(ValueError, match=r"dropout_forward: p=0.5 needs a keep-mask of shape \(2, 3\)"):
        KD.dropout_forward(x, 0.5)
    with pytest.raises(ValueError, match=r"mask of shape \(3,\) does not match x of shape \(2, 3\)"):
        KD.dropout_forward(x, 0.5, backend.asarray(np.ones(3, bool)))


# ---------------------------------------------------------------------------- bad input

def test_bad_input():
    x = minigen.tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="gelu: approximate must be one of 'none', 'tanh', got 'erf'"):
        F.gelu(x, approximate="erf")
    with pytest.raises(ValueError, match="gelu_forward: approximate must be 'none' or 'tanh', got 'erf'"):
        KA.gelu_forward(np.zeros(2), "erf")
    with pytest.raises(TypeError, match=r"gelu: input must be floating point \(minigen never upcasts silently\), got int64"):
        F.gelu(minigen.tensor(np.zeros(3, np.int64)))
    for p in (-0.1, 1.5, "0.5", True):
        with pytest.raises(ValueError, match=r"dropout: p must be a probability in \[0, 1\], got"):
            F.dropout(x, p=p)
    with pytest.raises(TypeError, match=r"dropout: input must be floating point \(minigen never upcasts silently\), got int32"):
        F.dropout(minigen.tensor(np.zeros(3, np.int32)))
