"""Softmax, log-softmax and cross-entropy: reference values, gradchecks, stability, PyTorch parity, bad input."""

import math

import numpy as np
import pytest

import minigen
import minigen.functional as F
from minigen.kernels import softmax as K


def _logits(shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


# ---------------------------------------------------------------------------- reference expectations

def test_softmax_reference_values(backend):
    s = F.softmax(backend.tensor(np.array([[0.0, math.log(3.0)]])))
    np.testing.assert_allclose(backend.numpy(s), [[0.25, 0.75]], rtol=1e-15)
    y = F.log_softmax(backend.tensor(np.array([0.0, 0.0, 0.0, 0.0])))
    np.testing.assert_allclose(backend.numpy(y), np.full(4, -math.log(4.0)), rtol=1e-15)


def test_cross_entropy_reference_values(backend):
    logits = backend.tensor(np.array([[0.0, math.log(3.0)], [0.0, 0.0]]))
    targets = backend.asarray(np.array([1, 0]))
    loss = F.cross_entropy(logits, targets)
    np.testing.assert_allclose(loss.item(), (-math.log(0.75) - math.log(0.5)) / 2, rtol=1e-14)
    none = F.cross_entropy(logits, targets, reduction="none")
    np.testing.assert_allclose(backend.numpy(none), [-math.log(0.75), math.log(2.0)], rtol=1e-14)
    total = F.cross_entropy(logits, targets, reduction="sum")
    np.testing.assert_allclose(total.item(), -math.log(0.75) + math.log(2.0), rtol=1e-14)


def test_label_smoothing_reference(backend):
    # uniform logits: every class has log-prob -log C, so any smoothing gives log C
    loss = F.cross_entropy(backend.tensor(np.zeros((3, 5))), backend.asarray(np.array([0, 4, 2])), label_smoothing=0.3)
    np.testing.assert_allclose(loss.item(), math.log(5.0), rtol=1e-14)


# ---------------------------------------------------------------------------- gradients

@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_kernels_gradcheck(backend, axis):
    x = {"x": backend.asarray(_logits((3, 4, 2)))}
    assert minigen.gradcheck_kernel(lambda x: K.softmax_forward(x, axis), K.softmax_backward, x)
    assert minigen.gradcheck_kernel(lambda x: K.log_softmax_forward(x, axis), K.log_softmax_backward, x)
    assert minigen.gradcheck(lambda t: (F.softmax(t, axis), F.log_softmax(t, axis)), [backend.tensor(_logits((3, 4, 2)))])


def test_kernel_matches_composed_twin(backend):
    x = _logits((4, 6), seed=1)
    a, b = backend.tensor(x, requires_grad=True), backend.tensor(x, requires_grad=True)
    dout = backend.asarray(_logits((4, 6), seed=2))
    F.softmax(a).backward(dout)
    F.softmax_composed(b).backward(dout)
    np.testing.assert_allclose(backend.numpy(a.grad), backend.numpy(b.grad), rtol=1e-12, atol=1e-15)
    assert minigen.gradcheck(F.softmax_composed, [backend.tensor(x)])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_gradcheck(backend, reduction, smoothing):
    targets = backend.asarray(np.array([3, -100, 0, 3, 1]))
    fwd = lambda x: K.cross_entropy_forward(x, targets, -100, reduction, smoothing)  # noqa: E731
    assert minigen.gradcheck_kernel(fwd, K.cross_entropy_backward, {"logits": backend.asarray(_logits((5, 4)))})
    assert minigen.gradcheck(lambda x: F.cross_entropy(x, targets, reduction=reduction, label_smoothing=smoothing),
                             [backend.tensor(_logits((5, 4)))])


def test_ignored_rows_get_exactly_zero_gradient(backend):
    x = backend.tensor(_logits((4, 3)), requires_grad=True)
    F.cross_entropy(x, backend.asarray(np.array([2, -100, 1, -100])), label_smoothing=0.1).backward()
    g = backend.numpy(x.grad)
    assert np.all(g[[1, 3]] == 0.0)
    assert np.all(g[[0, 2]] != 0.0)


def test_cross_entropy_k_dimensional(backend):
    """(N, C, T) logits with (N, T) targets, as PyTorch lays them out."""
    x = _logits((2, 5, 3), seed=3)
    t = np.array([[0, 4, -100], [2, 2, 1]])
    flat = F.cross_entropy(backend.tensor(np.moveaxis(x, 1, -1).reshape(-1, 5)), backend.asarray(t.reshape(-1)))
    kdim = F.cross_entropy(backend.tensor(x), backend.asarray(t))
    np.testing.assert_allclose(kdim.item(), flat.item(), rtol=1e-14)
    assert F.cross_entropy(backend.tensor(x), backend.asarray(t), reduction="none").shape == (2, 3)
    assert minigen.gradcheck(lambda x: F.cross_entropy(x, backend.asarray(t), reduction="none"), [backend.tensor(x)])
    one = F.cross_entropy(backend.tensor(x[0, :, 0]), backend.asarray(np.array(0)))
    np.testing.assert_allclose(one.item(), -np.log(np.exp(x[0, :, 0]) / np.exp(x[0, :, 0]).sum())[0], rtol=1e-13)


# ---------------------------------------------------------------------------- stability at extremes

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_with_logits_around_1e4(backend, dtype):
    x = np.array([[1e4, -1e4, 1e4 - 5.0, 0.0], [-1e4, -1e4 + 1.0, -1e4 + 2.0, -1e4]], dtype=dtype)
    t = backend.tensor(x, requires_grad=True)
    s, y = F.softmax(t), F.log_softmax(t)
    loss = F.cross_entropy(t, backend.asarray(np.array([2, 0])))
    loss.backward()
    for arr in (s, y, loss):
        assert np.all(np.isfinite(backend.numpy(arr)))
    assert np.all(np.isfinite(backend.numpy(t.grad)))
    ref = np.array([[1 / (1 + math.exp(-5)), 0, math.exp(-5) / (1 + math.exp(-5)), 0]])
    np.testing.assert_allclose(backend.numpy(s)[:1], ref, atol=1e-6)
    np.testing.assert_allclose(backend.numpy(y)[1, 0], float(x[1, 0]) - (-1e4 + 2 + math.log(1 + math.exp(-1) + 2 * math.exp(-2))),
                               rtol=1e-6)
    expected = (-(float(x[0, 2]) - (1e4 + math.log(1 + math.exp(-5)))) + 2 + math.log(1 + math.exp(-1) + 2 * math.exp(-2))) / 2
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-5)


# ---------------------------------------------------------------------------- PyTorch parity

@pytest.mark.reference
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.15])
def test_cross_entropy_matches_torch(dtype, reduction, smoothing):
    torch = pytest.importorskip("torch")
    x = _logits((2, 7, 3), seed=4, scale=3.0).astype(dtype)
    t = np.array([[6, 0, -100], [3, -100, 1]])
    mine = minigen.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    a = F.cross_entropy(mine, t, reduction=reduction, label_smoothing=smoothing)
    b = torch.nn.functional.cross_entropy(theirs, torch.tensor(t), reduction=reduction, label_smoothing=smoothing)
    dout = _logits(tuple(b.shape), seed=5).astype(dtype)
    a.backward(dout)
    b.backward(torch.tensor(dout))
    tol = 1e-5 if dtype == np.float32 else 1e-10
    ref = b.detach().numpy()
    np.testing.assert_allclose(a.numpy(), ref, rtol=0, atol=tol * max(np.abs(ref).max(), 1e-30))
    g = theirs.grad.numpy()
    np.testing.assert_allclose(mine.grad, g, rtol=0, atol=tol * np.abs(g).max())


@pytest.mark.reference
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("ignore_index", [2, -1])
def test_cross_entropy_ignore_index_matches_torch(ignore_index, smoothing, reduction):
    """A non-default ignore_index, also one that is a valid class (2), with and without label smoothing."""
    torch = pytest.importorskip("torch")
    x = _logits((6, 4), seed=8, scale=2.0)
    t = np.array([2, 0, ignore_index, 3, 1, ignore_index])
    mine, theirs = minigen.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    a = F.cross_entropy(mine, t, ignore_index=ignore_index, reduction=reduction, label_smoothing=smoothing)
    b = torch.nn.functional.cross_entropy(theirs, torch.tensor(t), ignore_index=ignore_index, reduction=reduction,
                                          label_smoothing=smoothing)
    dout = _logits(tuple(b.shape), seed=9)
    a.backward(dout)
    b.backward(torch.tensor(dout))
    np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(mine.grad, theirs.grad.numpy(), rtol=0, atol=1e-12)
    assert np.all(mine.grad[t == ignore_index] == 0.0)


@pytest.mark.reference
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    x = _logits((3, 5), seed=6, scale=4.0).astype(dtype)
    dout = _logits((3, 5), seed=7).astype(dtype)
    for mine_fn, torch_fn in ((F.softmax, torch.softmax), (F.log_softmax, torch.log_softmax)):
        mine, theirs = minigen.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        a, b = mine_fn(mine, axis=0), torch_fn(theirs, dim=0)
        a.backward(dout)
        b.backward(torch.tensor(dout))
        tol = 1e-5 if dtype == np.float32 else 1e-10
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=0, atol=tol * np.abs(b.detach().numpy()).max())
        np.testing.assert_allclose(mine.grad, theirs.grad.numpy(), rtol=0, atol=tol * np.abs(theirs.grad.numpy()).max())


# ---------------------------------------------------------------------------- bad input

def test_bad_input():
    x = minigen.tensor(np.zeros((3, 4)))
    with pytest.raises(IndexError, match=r"cross_entropy: targets must be in \[0, 4\) or ignore_index=-100, got target 4"):
        F.cross_entropy(x, np.array([0, 4, 1]))
    with pytest.raises(IndexError, match=r"targets must be in \[0, 4\) or ignore_index=-100, got target -1"):
        F.cross_entropy(x, np.array([0, -1, 1]))
    with pytest.raises(ValueError, match=r"targets must be of shape \(3,\) for logits of shape \(3, 4\), got shape \(2,\)"):
        F.cross_entropy(x, np.array([0, 1]))
    with pytest.raises(TypeError, match="targets must be an integer array of class indices, got ndarray of shape .* and dtype float64"):
        F.cross_entropy(x, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="reduction must be one of 'mean', 'sum', 'none', got 'avg'"):
        F.cross_entropy(x, np.array([0, 1, 2]), reduction="avg")
    with pytest.raises(ValueError, match=r"label_smoothing must be a probability in \[0, 1\], got 1.5"):
        F.cross_entropy(x, np.array([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"softmax: axis must be an integer in \[-2, 1\], got 2"):
        F.softmax(x, axis=2)


def test_integer_inputs_are_refused():
    """Softmax of integers would come back as float64, an upcast minigen never makes silently."""
    ints = minigen.tensor(np.arange(6).reshape(2, 3))
    for fn in (F.softmax, F.log_softmax):
        with pytest.raises(TypeError, match=rf"^{fn.__name__}: input must be floating point \(minigen never upcasts "
                                            r"silently\), got int64$"):
            fn(ints)
    with pytest.raises(TypeError, match=r"^cross_entropy: logits must be floating point \(.*\), got int64$"):
        F.cross_entropy(ints, np.array([0, 2]))


def test_cross_entropy_target_errors_name_targets(backend):
    x = backend.tensor(np.zeros((2, 4)))
    with pytest.raises(TypeError, match="^cross_entropy: targets must be an integer array of class indices, got .* and dtype bool$"):
        F.cross_entropy(x, backend.asarray(np.array([True, False])))
    with pytest.raises(TypeError, match="^cross_entropy: targets must be an integer array of class indices, got \\[1, 2\\]$"):
        F.cross_entropy(x, [1, 2])

    class Foreign:                                     # array-like, but of no library minigen knows
        shape, dtype = (2,), np.dtype("int64")

    with pytest.raises(TypeError, match="^cross_entropy: targets must be an integer array of class indices, got Foreign"):
        F.cross_entropy(x, Foreign())


def test_label_smoothing_takes_any_real_number():
    x, t = minigen.tensor(_logits((3, 4))), np.array([0, 1, 3])
    a = F.cross_entropy(x, t, label_smoothing=np.float32(0.25)).item()
    assert a == F.cross_entropy(x, t, label_smoothing=0.25).item()
    for bad in (True, "0.1", np.float64(1.5)):
        with pytest.raises(ValueError, match=r"^cross_entropy: label_smoothing must be a probability in \[0, 1\], got "):
            F.cross_entropy(x, t, label_smoothing=bad)
