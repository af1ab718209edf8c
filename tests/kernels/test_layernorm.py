"""Layer norm: reference values, gradchecks, stability at extremes, PyTorch parity, bad input."""

import math

import numpy as np
import pytest

import minigen
import minigen.functional as F
from minigen.kernels import layernorm as K


def _randn(shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


# ---------------------------------------------------------------------------- reference expectations

def test_layer_norm_reference_values(backend):
    # mean 2, biased variance 2/3: xhat = (x - 2) / sqrt(2/3 + eps)
    x = backend.tensor(np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]]))
    s = 1.0 / math.sqrt(2.0 / 3.0 + 1e-5)
    y = F.layer_norm(x, (3,))
    np.testing.assert_allclose(backend.numpy(y), [[-s, 0.0, s], [0.0, 0.0, 0.0]], rtol=1e-14, atol=0)
    w, b = backend.tensor(np.array([2.0, 3.0, 4.0])), backend.tensor(np.array([0.5, -1.0, 0.0]))
    y = F.layer_norm(x, 3, w, b)
    np.testing.assert_allclose(backend.numpy(y), [[-2 * s + 0.5, -1.0, 4 * s], [0.5, -1.0, 0.0]], rtol=1e-14, atol=1e-15)


def test_multi_dim_normalized_shape_is_one_row(backend):
    """normalized_shape (4, 5) normalises each 4x5 block as one row of 20."""
    x = _randn((2, 3, 4, 5), seed=1)
    y = F.layer_norm(backend.tensor(x), (4, 5))
    flat = F.layer_norm(backend.tensor(x.reshape(2, 3, 20)), (20,))
    np.testing.assert_allclose(backend.numpy(y).reshape(2, 3, 20), backend.numpy(flat), rtol=1e-14, atol=1e-15)
    rows = backend.numpy(y).reshape(6, 20)
    np.testing.assert_allclose(rows.mean(axis=1), 0.0, atol=1e-14)
    np.testing.assert_allclose(rows.var(axis=1), 1.0, rtol=1e-4)       # eps pulls it just below 1


# ---------------------------------------------------------------------------- gradients

@pytest.mark.parametrize("x_shape, norm_shape", [((3, 5), (5,)), ((2, 2, 3, 2), (3, 2))])
def test_layer_norm_kernel_gradcheck(backend, x_shape, norm_shape):
    inputs = {"x": backend.asarray(_randn(x_shape, seed=2)),
              "weight": backend.asarray(_randn(norm_shape, seed=3)),
              "bias": backend.asarray(_randn(norm_shape, seed=4))}
    fwd = lambda x, weight, bias: K.layer_norm_forward(x, norm_shape, weight, bias)  # noqa: E731
    assert minigen.gradcheck_kernel(fwd, K.layer_norm_backward, inputs)


def test_layer_norm_kernel_without_affine(backend):
    x = backend.asarray(_randn((4, 6), seed=5))
    y, cache = K.layer_norm_forward(x, (6,))
    dx, dweight, dbias = K.layer_norm_backward(backend.asarray(_randn((4, 6), seed=6)), cache)
    assert dweight is None and dbias is None
    only_dx = lambda dy, cache: K.layer_norm_backward(dy, cache)[0]  # noqa: E731
    assert minigen.gradcheck_kernel(lambda x: K.layer_norm_forward(x, (6,)), only_dx, {"x": x})
    _, cache = K.layer_norm_forward(x, (6,), weight=backend.asarray(_randn(6, seed=7)))
    assert K.layer_norm_backward(backend.asarray(_randn((4, 6), seed=6)), cache)[2] is None


@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
def test_layer_norm_in_cache_blocks_equals_one_pass(backend, affine, monkeypatch):
    """Blocks of a few rows (a large input's path, forced small) give the one-block results."""
    x, dy = _randn((5, 3, 4), seed=11), _randn((5, 3, 4), seed=12)
    w = backend.asarray(_randn(4, seed=13)) if affine in ("both", "weight") else None
    b = backend.asarray(_randn(4, seed=14)) if affine in ("both", "bias") else None

    def run():
        y, cache = K.layer_norm_forward(backend.asarray(x), (4,), w, b)
        return [y] + [g for g in K.layer_norm_backward(backend.asarray(dy), cache) if g is not None]
    one = run()
    monkeypatch.setattr(minigen.backend, "CACHE_BLOCK", 10)                  # 2 rows of 4 per block
    assert len(minigen.backend.cache_blocks(15, backend.asarray(x), row_size=4)) == (1 if backend.name == "cupy" else 8)
    for got, want in zip(run(), one):
        assert got.shape == want.shape
        np.testing.assert_allclose(backend.numpy(got), backend.numpy(want), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_layer_norm_functional_gradcheck(backend, affine):
    x = backend.tensor(_randn((2, 3, 4), seed=8))
    w = backend.tensor(_randn((3, 4), seed=9)) if affine != "none" else None
    b = backend.tensor(_randn((3, 4), seed=10)) if affine == "both" else None
    inputs = {"input": x, **({"weight": w} if w is not None else {}), **({"bias": b} if b is not None else {})}
    assert minigen.gradcheck(lambda input, weight=None, bias=None: F.layer_norm(input, (3, 4), weight, bias), inputs)


def test_kernel_matches_composed_twin(backend):
    """The same layer norm built from autograd primitives: its chain-rule backward must agree with the kernel's."""
    x, w, b = _randn((3, 7), seed=20), _randn(7, seed=21), _randn(7, seed=22)
    dy = backend.asarray(_randn((3, 7), seed=23))
    mine = [backend.tensor(a, requires_grad=True) for a in (x, w, b)]
    twin = [backend.tensor(a, requires_grad=True) for a in (x, w, b)]
    F.layer_norm(mine[0], 7, mine[1], mine[2]).backward(dy)
    xc = twin[0] - twin[0].mean(axis=-1, keepdims=True)
    ((xc / ((xc * xc).mean(axis=-1, keepdims=True) + 1e-5).sqrt()) * twin[1] + twin[2]).backward(dy)
    for name, a, t in zip(("dx", "dweight", "dbias"), mine, twin):
        np.testing.assert_allclose(backend.numpy(a.grad), backend.numpy(t.grad), rtol=1e-12, atol=1e-14, err_msg=name)


# ---------------------------------------------------------------------------- stability at extremes

def _reference(x, eps=1e-5):
    """Layer norm over the last axis in float64 on the host, with the two-pass variance."""
    x = x.astype(np.float64)
    xc = x - x.mean(axis=-1, keepdims=True)
    return xc / np.sqrt((xc * xc).mean(axis=-1, keepdims=True) + eps)


@pytest.mark.parametrize("dtype, tol", [(np.float32, 2e-3), (np.float64, 1e-10)])
def test_stable_with_inputs_around_1e4(backend, dtype, tol):
    """A one-pass variance, mean(x^2) - mean(x)^2, cancels to garbage here in float32."""
    x = (1e4 + _randn((4, 64), seed=11)).astype(dtype)
    t = backend.tensor(x, requires_grad=True)
    y = F.layer_norm(t, (64,))
    y.backward(backend.asarray(_randn((4, 64), seed=12).astype(dtype)))
    assert np.all(np.isfinite(backend.numpy(t.grad)))
    np.testing.assert_allclose(backend.numpy(y), _reference(x), rtol=0, atol=tol)
    naive_var = (x * x).mean(axis=-1) - x.mean(axis=-1) ** 2      # the form the kernel avoids
    if dtype == np.float32:
        assert np.max(np.abs(naive_var - 1.0)) > 0.1                # ... and the test would catch it


def test_near_constant_rows(backend):
    """var ~ 1e-14 << eps: sigma ~ sqrt(eps), outputs stay small and finite; a constant row gives 0."""
    x = np.stack([3.0 + 1e-7 * _randn(8, seed=13), np.full(8, -2.5), 1e-8 * _randn(8, seed=14)])
    t = backend.tensor(x, requires_grad=True)
    y = F.layer_norm(t, 8)
    dy = _randn((3, 8), seed=15)
    y.backward(backend.asarray(dy))
    np.testing.assert_allclose(backend.numpy(y), _reference(x), rtol=0, atol=1e-12)
    assert np.all(backend.numpy(y)[1] == 0.0)
    assert np.all(np.isfinite(backend.numpy(t.grad)))
    assert minigen.gradcheck(lambda x: F.layer_norm(x, 8), [backend.tensor(x)])


# ---------------------------------------------------------------------------- PyTorch parity

@pytest.mark.reference
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm_shape", [(6,), (3, 6)])
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
def test_layer_norm_matches_torch(dtype, norm_shape, affine):
    torch = pytest.importorskip("torch")
    x = _randn((2, 4, 3, 6), seed=16, scale=3.0).astype(dtype) + 1.5
    dout = _randn(x.shape, seed=17).astype(dtype)
    arrays = {"input": x}
    if affine in ("both", "weight"):
        arrays["weight"] = _randn(norm_shape, seed=18).astype(dtype)
    if affine in ("both", "bias"):
        arrays["bias"] = _randn(norm_shape, seed=19).astype(dtype)
    mine = {k: minigen.tensor(v, requires_grad=True) for k, v in arrays.items()}
    theirs = {k: torch.tensor(v, requires_grad=True) for k, v in arrays.items()}
    a = F.layer_norm(mine["input"], norm_shape, mine.get("weight"), mine.get("bias"))
    b = torch.nn.functional.layer_norm(theirs["input"], norm_shape, theirs.get("weight"), theirs.get("bias"))
    a.backward(dout)
    b.backward(torch.tensor(dout))
    tol = 1e-5 if dtype == np.float32 else 1e-10
    pairs = [("output", a.numpy(), b.detach().numpy())]
    pairs += [(f"d{k}", mine[k].grad, theirs[k].grad.numpy()) for k in arrays]
    for name, got, ref in pairs:
        np.testing.assert_allclose(got, ref, rtol=0, atol=tol * np.abs(ref).max(), err_msg=name)


# ---------------------------------------------------------------------------- bad input

def test_bad_input():
    x = minigen.tensor(np.zeros((8, 30)))
    with pytest.raises(ValueError, match=r"layer_norm: input must be of shape \(\*, 32\), got shape \(8, 30\)"):
        F.layer_norm(x, (32,))
    with pytest.raises(ValueError, match=r"layer_norm: input must be of shape \(\*, 2, 30\), got shape \(8, 30\)"):
        F.layer_norm(x, (2, 30))
    with pytest.raises(ValueError, match=r"layer_norm: weight must be of shape \(30,\), got shape \(29,\)"):
        F.layer_norm(x, 30, weight=minigen.tensor(np.ones(29)))
    with pytest.raises(ValueError, match=r"layer_norm: bias must be of shape \(30,\)"):
        F.layer_norm(x, 30, bias=minigen.tensor(np.ones((1, 30))))
    with pytest.raises(ValueError, match="normalized_shape must be a positive int or a non-empty tuple"):
        F.layer_norm(x, ())
    with pytest.raises(ValueError, match="eps must be a finite number >= 0, got -1"):
        F.layer_norm(x, 30, eps=-1)
    with pytest.raises(TypeError, match="layer_norm: weight must be of input's dtype float64 .*, got float32"):
        F.layer_norm(x, 30, weight=minigen.tensor(np.ones(30, np.float32)))
    with pytest.raises(TypeError, match=r"layer_norm: input must be floating point \(minigen never upcasts silently\), got int64"):
        F.layer_norm(minigen.tensor(np.zeros((2, 3), np.int64)), 3)
