"""Vanilla (Elman) RNN kernels, tanh and relu: reference step, the fast sequence kernel against its
reference twin, gradchecks (every output, h_n too), stability, PyTorch parity, bad input."""

import warnings

import numpy as np
import pytest

import minigen
import minigen.functional as F
from minigen.kernels import rnn as K
from tests.kernels import recurrent_checks as RC

T, B, C, H = 4, 3, 5, 6
ACTS = ["tanh", "relu"]


def _inputs(backend, bias=True, seed=0, scale=0.5, cell=False):
    """Kernel inputs in kernel order, named as the kernel names them (so reports say dW_hh)."""
    rng = np.random.default_rng(seed)
    d = {"x": (B, C) if cell else (T, B, C), "h_prev" if cell else "h0": (B, H), "W_ih": (H, C), "W_hh": (H, H)}
    if bias:
        d.update(b_ih=(H,), b_hh=(H,))
    return {k: backend.asarray(rng.standard_normal(s) * scale) for k, s in d.items()}


def _with_act(fn, nonlinearity):
    return lambda *args: fn(*args, nonlinearity=nonlinearity)


# ---------------------------------------------------------------------------- forward

@pytest.mark.parametrize("nonlinearity", ACTS)
def test_one_step_reference(backend, nonlinearity):
    p = _inputs(backend, cell=True)
    x, h, W_ih, W_hh, b_ih, b_hh = (backend.numpy(v) for v in p.values())
    a = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    want = np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0)
    got, _ = K.rnn_cell_forward(*p.values(), nonlinearity=nonlinearity)
    np.testing.assert_allclose(backend.numpy(got), want, rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------------------- the fast kernel and its twin

OUTS, GRADS = ["out", "h_n"], ["dx", "dh0", "dW_ih", "dW_hh", "db_ih", "db_hh"]


def _pairs(nonlinearity):
    fast = (_with_act(K.rnn_forward, nonlinearity), K.rnn_backward)
    return fast, (_with_act(K.rnn_forward_reference, nonlinearity), K.rnn_backward_reference)


def _shapes(T, B):
    return {"x": (T, B, C), "h0": (B, H), "W_ih": (H, C), "W_hh": (H, H), "b_ih": (H,), "b_hh": (H,)}


@pytest.mark.parametrize("state", RC.STATES)
@pytest.mark.parametrize("bias", RC.BIASES)
@pytest.mark.parametrize("T_B", RC.SHAPES)
@pytest.mark.parametrize("nonlinearity", ACTS)
def test_fast_kernel_equals_its_reference_twin(backend, nonlinearity, T_B, bias, state):
    """Outputs and every gradient to 1e-12 in float64."""
    p = RC.kernel_inputs(backend, _shapes, *T_B, bias, state)
    RC.assert_fast_equals_twin(backend, "rnn", *_pairs(nonlinearity), list(p.values()), OUTS, GRADS)


@pytest.mark.parametrize("given", [(True, False), (False, True), (False, False)])
@pytest.mark.parametrize("nonlinearity", ACTS)
def test_fast_kernel_equals_its_twin_when_an_output_is_unused(backend, nonlinearity, given):
    """backward takes None for an output that was not used: both kernels read it as zero."""
    p = RC.kernel_inputs(backend, _shapes, T, B)
    RC.assert_fast_equals_twin(backend, "rnn", *_pairs(nonlinearity), list(p.values()), OUTS, GRADS, given)


@pytest.mark.parametrize("nonlinearity", ACTS)
@pytest.mark.parametrize("bias", [True, False])
def test_reference_twin_gradcheck(backend, nonlinearity, bias):
    assert minigen.gradcheck_kernel(_with_act(K.rnn_forward_reference, nonlinearity), K.rnn_backward_reference,
                                    _inputs(backend, bias), fast=backend.fast)


# ---------------------------------------------------------------------------- gradients

@pytest.mark.parametrize("nonlinearity", ACTS)
@pytest.mark.parametrize("bias", [True, False])
def test_sequence_kernel_gradcheck(backend, nonlinearity, bias):
    """Random upstream gradients on both outputs, out and h_n."""
    assert minigen.gradcheck_kernel(_with_act(K.rnn_forward, nonlinearity), K.rnn_backward,
                                    _inputs(backend, bias), fast=backend.fast)


@pytest.mark.parametrize("used", ["out", "h_n"])
def test_sequence_kernel_gradcheck_one_output(backend, used):
    """backward accepts None for the output that was not used."""
    k = 0 if used == "out" else 1

    def forward(*args):
        outs, cache = K.rnn_forward(*args)
        return outs[k], cache

    def backward(d, cache):
        return K.rnn_backward((d, None) if k == 0 else (None, d), cache)

    assert minigen.gradcheck_kernel(forward, backward, _inputs(backend), fast=backend.fast)


@pytest.mark.parametrize("nonlinearity", ACTS)
@pytest.mark.parametrize("bias", [True, False])
def test_cell_kernel_gradcheck(backend, nonlinearity, bias):
    assert minigen.gradcheck_kernel(_with_act(K.rnn_cell_forward, nonlinearity), K.rnn_cell_backward,
                                    _inputs(backend, bias, cell=True))


@pytest.mark.parametrize("nonlinearity", ACTS)
@pytest.mark.parametrize("bias", [True, False])
def test_functional_gradcheck(backend, nonlinearity, bias):
    def rnn(x, h0, W_ih, W_hh, b_ih=None, b_hh=None):
        return F.rnn(x, h0, W_ih, W_hh, b_ih, b_hh, nonlinearity=nonlinearity)

    def rnn_cell(x, h_prev, W_ih, W_hh, b_ih=None, b_hh=None):
        return F.rnn_cell(x, h_prev, W_ih, W_hh, b_ih, b_hh, nonlinearity=nonlinearity)

    assert minigen.gradcheck(rnn, _inputs(backend, bias), fast=backend.fast)
    assert minigen.gradcheck(lambda **p: rnn(**p)[1] * 2.0, _inputs(backend, bias), fast=backend.fast)
    assert minigen.gradcheck(rnn_cell, _inputs(backend, bias, cell=True))


# ---------------------------------------------------------------------------- stability

@pytest.mark.parametrize("nonlinearity", ACTS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_preactivations_stay_finite(backend, nonlinearity, dtype):
    """Pre-activations around 1e4: tanh saturates, relu passes them on; no overflow, no warning."""
    p = _inputs(backend, scale=1.0)
    for k in ("W_ih", "b_ih", "b_hh"):
        p[k] = p[k] * 4e3
    p["W_hh"] = p["W_hh"] * (4e3 if nonlinearity == "tanh" else 0.1)   # relu: keep h from growing 1e4-fold per step
    ts = {k: minigen.tensor(backend.asarray(backend.numpy(v).astype(dtype)), requires_grad=True) for k, v in p.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, h_n = F.rnn(*ts.values(), nonlinearity=nonlinearity)
        rng = np.random.default_rng(5)
        (out * minigen.tensor(backend.asarray(rng.standard_normal((T, B, H)).astype(dtype)))).sum().backward()
    assert np.all(np.isfinite(backend.numpy(out)))
    if nonlinearity == "tanh":
        assert np.all(np.abs(backend.numpy(out)) <= 1)
    for name, t in ts.items():
        assert np.all(np.isfinite(backend.numpy(t.grad))), name


@pytest.mark.parametrize("nonlinearity", ACTS)
def test_long_sequence(backend, nonlinearity):
    """T = 300: BPTT runs without recursion trouble."""
    rng = np.random.default_rng(3)
    x = minigen.tensor(backend.asarray(rng.standard_normal((300, 2, 3))), requires_grad=True)
    W_ih = minigen.tensor(backend.asarray(rng.standard_normal((4, 3))), requires_grad=True)
    W_hh = minigen.tensor(backend.asarray(rng.standard_normal((4, 4)) * 0.3), requires_grad=True)
    out, h_n = F.rnn(x, minigen.tensor(backend.asarray(np.zeros((2, 4)))), W_ih, W_hh, nonlinearity=nonlinearity)
    out.sum().backward()
    assert np.all(np.isfinite(backend.numpy(W_hh.grad))) and np.all(np.isfinite(backend.numpy(x.grad)))


# ---------------------------------------------------------------------------- PyTorch parity

def _close(a, b, what, dtype):
    tol = 1e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(a, b, rtol=0, atol=tol * np.abs(b).max(), err_msg=what)


@pytest.mark.reference
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nonlinearity", ACTS)
@pytest.mark.parametrize("bias", [True, False])
def test_matches_torch(dtype, nonlinearity, bias):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    rng = np.random.default_rng(4)
    ref = torch.nn.RNN(C, H, nonlinearity=nonlinearity, bias=bias)
    ref = ref.to(torch.float64 if dtype == np.float64 else torch.float32)
    x, h0 = rng.standard_normal((T, B, C)).astype(dtype), rng.standard_normal((1, B, H)).astype(dtype)
    dout, dh = rng.standard_normal((T, B, H)).astype(dtype), rng.standard_normal((1, B, H)).astype(dtype)
    xt, h0t = torch.tensor(x, requires_grad=True), torch.tensor(h0, requires_grad=True)
    ot, ht = ref(xt, h0t)
    torch.autograd.backward([ot, ht], [torch.tensor(dout), torch.tensor(dh)])
    names = ["weight_ih_l0", "weight_hh_l0"] + (["bias_ih_l0", "bias_hh_l0"] if bias else [])
    ws = [minigen.tensor(getattr(ref, n).detach().numpy().copy(), requires_grad=True) for n in names]
    xm, h0m = minigen.tensor(x, requires_grad=True), minigen.tensor(h0[0], requires_grad=True)
    om, hm = F.rnn(xm, h0m, *ws, nonlinearity=nonlinearity)
    ((om * minigen.tensor(dout)).sum() + (hm * minigen.tensor(dh[0])).sum()).backward()
    _close(om.numpy(), ot.detach().numpy(), "output", dtype)
    _close(hm.numpy(), ht.detach().numpy()[0], "h_n", dtype)
    _close(xm.grad, xt.grad.numpy(), "dx", dtype)
    _close(h0m.grad, h0t.grad.numpy()[0], "dh0", dtype)
    for n, w in zip(names, ws):
        _close(w.grad, getattr(ref, n).grad.numpy(), "d" + n, dtype)


@pytest.mark.reference
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nonlinearity", ACTS)
def test_cell_matches_torch(dtype, nonlinearity):
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    rng = np.random.default_rng(6)
    ref = torch.nn.RNNCell(C, H, nonlinearity=nonlinearity).to(torch.float64 if dtype == np.float64 else torch.float32)
    x, h, dh = (rng.standard_normal(s).astype(dtype) for s in ((B, C), (B, H), (B, H)))
    xt, ht = torch.tensor(x, requires_grad=True), torch.tensor(h, requires_grad=True)
    yt = ref(xt, ht)
    yt.backward(torch.tensor(dh))
    names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    ws = [minigen.tensor(getattr(ref, n).detach().numpy().copy(), requires_grad=True) for n in names]
    xm, hm = minigen.tensor(x, requires_grad=True), minigen.tensor(h, requires_grad=True)
    ym = F.rnn_cell(xm, hm, *ws, nonlinearity=nonlinearity)
    ym.backward(dh)
    _close(ym.numpy(), yt.detach().numpy(), "h'", dtype)
    _close(xm.grad, xt.grad.numpy(), "dx", dtype)
    _close(hm.grad, ht.grad.numpy(), "dh", dtype)
    for n, w in zip(names, ws):
        _close(w.grad, getattr(ref, n).grad.numpy(), "d" + n, dtype)


# ---------------------------------------------------------------------------- bad input

def test_bad_input():
    p = {k: minigen.tensor(v) for k, v in _inputs(type("NP", (), {"asarray": staticmethod(np.asarray)})).items()}
    x, h0, W_ih, W_hh, b_ih, b_hh = p.values()
    with pytest.raises(ValueError, match=r"rnn: input must be of shape \(seq, batch, 5\) with seq >= 1 for weight_ih "
                                         r"\(6, 5\), got shape \(4, 3, 7\)"):
        F.rnn(minigen.tensor(np.zeros((4, 3, 7))), h0, W_ih, W_hh)
    with pytest.raises(ValueError, match="rnn: nonlinearity must be one of 'tanh', 'relu', got 'sigmoid'"):
        F.rnn(x, h0, W_ih, W_hh, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="rnn_cell: nonlinearity must be one of 'tanh', 'relu', got 'Tanh'"):
        F.rnn_cell(x[0], h0, W_ih, W_hh, nonlinearity="Tanh")
    with pytest.raises(ValueError, match=r"rnn: hx must be of shape \(3, 6\), got shape \(3, 5\)"):
        F.rnn(x, x[0], W_ih, W_hh)
    with pytest.raises(ValueError, match=r"rnn: weight_hh must be of shape \(hidden_size, hidden_size\), got shape \(6, 5\)"):
        F.rnn(x, h0, W_ih, W_ih)
    with pytest.raises(ValueError, match=r"^rnn: weight_hh must be of shape \(hidden_size, hidden_size\), "
                                         r"got shape \(6,\)$"):
        F.rnn(x, h0, W_ih, W_hh[0])
    with pytest.raises(TypeError, match=r"^rnn: weight_hh must be floating point .*, got int64$"):
        F.rnn(x, h0, W_ih, minigen.tensor(np.zeros((6, 6), np.int64)))
    with pytest.raises(ValueError, match=r"rnn: weight_ih must be of shape \(6, input_size\), got shape \(18, 5\)"):
        F.rnn(x, h0, minigen.tensor(np.zeros((18, 5))), W_hh)
    with pytest.raises(ValueError, match=r"rnn: bias_ih must be of shape \(6,\), got shape \(18,\)"):
        F.rnn(x, h0, W_ih, W_hh, minigen.tensor(np.zeros(18)), b_hh)
    with pytest.raises(TypeError, match="rnn: bias_hh must be of input's dtype float64 .*, got float32"):
        F.rnn(x, h0, W_ih, W_hh, b_ih, b_hh.float())
    with pytest.raises(ValueError, match=r"rnn_cell: input must be of shape \(batch, 5\) for weight_ih "
                                         r"\(6, 5\), got shape \(4, 3, 5\)"):
        F.rnn_cell(x, h0, W_ih, W_hh)
