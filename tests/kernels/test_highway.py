"""Highway layer: the formula, a composed twin, gradchecks, parity with the same formula in PyTorch, bad input."""

import numpy as np
import pytest

import minigen
import minigen.functional as F
from minigen.kernels import highway as K

H = 5


def _randn(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _params(seed=1):
    return [_randn((H, H), seed), _randn((H, H), seed + 1), _randn((H,), seed + 2), _randn((H,), seed + 3)]


def _highway_numpy(x, W_h, W_t, b_h, b_t):
    t = 1 / (1 + np.exp(-(x @ W_t.T + b_t)))
    return t * np.maximum(x @ W_h.T + b_h, 0) + (1 - t) * x


def test_reference_values(backend):
    x = _randn((2, 3, H))
    y, _ = K.highway_forward(backend.asarray(x), *(backend.asarray(p) for p in _params()))
    np.testing.assert_allclose(backend.numpy(y), _highway_numpy(x, *_params()), rtol=1e-13, atol=1e-14)
    # a closed gate (t -> 0) carries the input through; an open one (t -> 1) gives relu(x W_h^T + b_h)
    W_h, W_t, b_h, _ = _params()
    for gate, want in ((-50.0, x), (50.0, np.maximum(x @ W_h.T + b_h, 0))):
        y = F.highway(backend.tensor(x), backend.tensor(W_h), backend.tensor(0 * W_t), backend.tensor(b_h),
                      backend.tensor(np.full(H, gate)))
        np.testing.assert_allclose(backend.numpy(y), want, rtol=0, atol=1e-14)


@pytest.mark.parametrize("bias", [True, False])
def test_kernel_gradcheck(backend, bias):
    W_h, W_t, b_h, b_t = (backend.asarray(p) for p in _params())
    inputs = {"x": backend.asarray(_randn((4, H), 5)), "W_h": W_h, "W_t": W_t}
    if bias:
        inputs.update(b_h=b_h, b_t=b_t)
    assert minigen.gradcheck_kernel(K.highway_forward, K.highway_backward, inputs)


def test_functional_gradcheck_and_composed_twin(backend):
    x, params = _randn((2, 3, H), 6), _params(7)
    assert minigen.gradcheck(F.highway, [backend.tensor(x)] + [backend.tensor(p) for p in params])
    # the same layer from autograd primitives: its gradients must agree with the kernel's
    a = [backend.tensor(v, requires_grad=True) for v in [x] + params]
    b = [backend.tensor(v, requires_grad=True) for v in [x] + params]
    dout = backend.asarray(_randn(x.shape, 8))
    F.highway(*a).backward(dout)
    xb, W_h, W_t, b_h, b_t = b
    t = (xb @ W_t.T + b_t).sigmoid()
    (t * (xb @ W_h.T + b_h).relu() + (1 - t) * xb).backward(dout)
    for u, v in zip(a, b):
        np.testing.assert_allclose(backend.numpy(u.grad), backend.numpy(v.grad), rtol=1e-12, atol=1e-13)


@pytest.mark.reference
def test_matches_the_formula_in_torch():
    torch = pytest.importorskip("torch")
    x, params = _randn((4, H), 9), _params(10)
    mine = [minigen.tensor(v, requires_grad=True) for v in [x] + params]
    theirs = [torch.tensor(v, requires_grad=True) for v in [x] + params]
    xt, W_h, W_t, b_h, b_t = theirs
    t = torch.sigmoid(xt @ W_t.T + b_t)
    yt = t * torch.relu(xt @ W_h.T + b_h) + (1 - t) * xt
    y = F.highway(*mine)
    dout = _randn((4, H), 11)
    y.backward(dout)
    yt.backward(torch.tensor(dout))
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=0, atol=1e-13)
    for m, t in zip(mine, theirs):
        np.testing.assert_allclose(m.grad, t.grad.numpy(), rtol=0, atol=1e-12)


def test_bad_input():
    x = minigen.tensor(_randn((3, H)))
    W_h, W_t, b_h, b_t = (minigen.tensor(p) for p in _params())
    with pytest.raises(ValueError, match=r"^highway: weight_t must be of shape \(5, 5\), got shape \(4, 5\)$"):
        F.highway(x, W_h, W_t[:4])
    with pytest.raises(ValueError, match=r"^highway: bias_h must be of shape \(5,\), got shape \(4,\)$"):
        F.highway(x, W_h, W_t, b_h[:4])
    with pytest.raises(ValueError, match=r"^highway: weight_h must be of shape \(4, 4\), got shape \(5, 5\)$"):
        F.highway(x[:, :4], W_h, W_t)
    with pytest.raises(ValueError, match=r"^highway: input must be of shape \(\.\.\., size\), got shape \(\)$"):
        F.highway(minigen.tensor(1.0), W_h, W_t)
    with pytest.raises(TypeError, match="^highway: bias_t must be of input's dtype float64 .*, got float32$"):
        F.highway(x, W_h, W_t, b_h, b_t.float())
    with pytest.raises(TypeError, match="^highway: input must be floating point"):
        F.highway(np.ones((3, H), np.int64), W_h, W_t)
