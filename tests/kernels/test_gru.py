"""GRU kernels: reference step, the fast sequence kernel against its reference twin, gradchecks
(every output, h_n too), stability, PyTorch parity, bad input."""

import warnings

import numpy as np
import pytest

import minigen
import minigen.functional as F
from minigen.kernels import gru as K
from tests.kernels import recurrent_checks as RC

T, B, C, H = 4, 3, 5, 6


def _inputs(backend, bias=True, seed=0, scale=0.5, cell=False):
    """Kernel inputs in kernel order, named as the kernel names them (so reports say dW_hh)."""
    rng = np.random.default_rng(seed)
    d = {"x": (B, C) if cell else (T, B, C), "h_prev" if cell else "h0": (B, H),
         "W_ih": (3 * H, C), "W_hh": (3 * H, H)}
    if bias:
        d.update(b_ih=(3 * H,), b_hh=(3 * H,))
    return {k: backend.asarray(rng.standard_normal(s) * scale) for k, s in d.items()}


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def _reference_step(x, h, W_ih, W_hh, b_ih, b_hh):
    """The gate maths written out in NumPy, gate by gate (r, z, n packed in that order)."""
    gi, gh = x @ W_ih.T + b_ih, h @ W_hh.T + b_hh
    r = _sigmoid(gi[:, :H] + gh[:, :H])
    z = _sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1 - z) * n + z * h


# ---------------------------------------------------------------------------- forward

def test_one_step_reference(backend):
    p = _inputs(backend, cell=True)
    h, _ = K.gru_cell_forward(*p.values())
    np.testing.assert_allclose(backend.numpy(h), _reference_step(*(backend.numpy(v) for v in p.values())),
                               rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------------------- the fast kernel and its twin

FAST, TWIN = (K.gru_forward, K.gru_backward), (K.gru_forward_reference, K.gru_backward_reference)
OUTS, GRADS = ["out", "h_n"], ["dx", "dh0", "dW_ih", "dW_hh", "db_ih", "db_hh"]


def _shapes(T, B):
    return {"x": (T, B, C), "h0": (B, H), "W_ih": (3 * H, C), "W_hh": (3 * H, H), "b_ih": (3 * H,), "b_hh": (3 * H,)}


@pytest.mark.parametrize("state", RC.STATES)
@pytest.mark.parametrize("bias", RC.BIASES)
@pytest.mark.parametrize("T_B", RC.SHAPES)
def test_fast_kernel_equals_its_reference_twin(backend, T_B, bias, state):
    """Outputs and every gradient to 1e-12 in float64; one bias alone moves b_hr, b_hz into the projection."""
    p = RC.kernel_inputs(backend, _shapes, *T_B, bias, state)
    RC.assert_fast_equals_twin(backend, "gru", FAST, TWIN, list(p.values()), OUTS, GRADS)


@pytest.mark.parametrize("given", [(True, False), (False, True), (False, False)])
def test_fast_kernel_equals_its_twin_when_an_output_is_unused(backend, given):
    """backward takes None for an output that was not used: both kernels read it as zero."""
    p = RC.kernel_inputs(backend, _shapes, T, B)
    RC.assert_fast_equals_twin(backend, "gru", FAST, TWIN, list(p.values()), OUTS, GRADS, given)


@pytest.mark.parametrize("bias", [True, False])
def test_reference_twin_gradcheck(backend, bias):
    assert minigen.gradcheck_kernel(K.gru_forward_reference, K.gru_backward_reference, _inputs(backend, bias),
                                    fast=backend.fast)


# ---------------------------------------------------------------------------- gradients

@pytest.mark.parametrize("bias", [True, False])
def test_sequence_kernel_gradcheck(backend, bias):
    """Random upstream gradients on both outputs, out and h_n."""
    assert minigen.gradcheck_kernel(K.gru_forward, K.gru_backward, _inputs(backend, bias), fast=backend.fast)


@pytest.mark.parametrize("only", ["b_ih", "b_hh"])
def test_sequence_kernel_gradcheck_with_one_bias(backend, only):
    """One bias alone: b_hr and b_hz then reach the projection's bias, and b_hn its own sum."""
    inputs = _inputs(backend, True)
    del inputs["b_hh" if only == "b_ih" else "b_ih"]

    def forward(x, h0, W_ih, W_hh, b):
        return K.gru_forward(x, h0, W_ih, W_hh, *((b, None) if only == "b_ih" else (None, b)))

    def backward(douts, cache):
        dx, dh0, dW_ih, dW_hh, db_ih, db_hh = K.gru_backward(douts, cache)
        assert (db_ih is None) == (only == "b_hh") and (db_hh is None) == (only == "b_ih")
        return dx, dh0, dW_ih, dW_hh, db_ih if only == "b_ih" else db_hh

    assert minigen.gradcheck_kernel(forward, backward, inputs, fast=backend.fast)


@pytest.mark.parametrize("used", ["out", "h_n"])
def test_sequence_kernel_gradcheck_one_output(backend, used):
    """backward accepts None for the output that was not used."""
    k = 0 if used == "out" else 1

    def forward(*args):
        outs, cache = K.gru_forward(*args)
        return outs[k], cache

    def backward(d, cache):
        return K.gru_backward((d, None) if k == 0 else (None, d), cache)

    assert minigen.gradcheck_kernel(forward, backward, _inputs(backend), fast=backend.fast)


@pytest.mark.parametrize("bias", [True, False])
def test_cell_kernel_gradcheck(backend, bias):
    assert minigen.gradcheck_kernel(K.gru_cell_forward, K.gru_cell_backward, _inputs(backend, bias, cell=True))


@pytest.mark.parametrize("bias", [True, False])
def test_functional_gradcheck(backend, bias):
    def gru(x, h0, W_ih, W_hh, b_ih=None, b_hh=None):
        return F.gru(x, h0, W_ih, W_hh, b_ih, b_hh)

    def gru_cell(x, h_prev, W_ih, W_hh, b_ih=None, b_hh=None):
        return F.gru_cell(x, h_prev, W_ih, W_hh, b_ih, b_hh)

    assert minigen.gradcheck(gru, _inputs(backend, bias), fast=backend.fast)
    assert minigen.gradcheck(lambda **p: gru(**p)[1] * 2.0, _inputs(backend, bias), fast=backend.fast)
    assert minigen.gradcheck(gru_cell, _inputs(backend, bias, cell=True))


def test_hx_none_means_zeros(backend):
    p = _inputs(backend)
    x, W = minigen.tensor(p["x"]), [minigen.tensor(v) for v in list(p.values())[2:]]
    zeros = minigen.tensor(backend.asarray(np.zeros((B, H))))
    a, b = F.gru(x, None, *W), F.gru(x, zeros, *W)
    np.testing.assert_array_equal(backend.numpy(a[0]), backend.numpy(b[0]))
    np.testing.assert_array_equal(backend.numpy(F.gru_cell(x[0], None, *W)), backend.numpy(F.gru_cell(x[0], zeros, *W)))


# ---------------------------------------------------------------------------- stability

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_preactivations_stay_finite(backend, dtype):
    """Pre-activations around 1e4 saturate every gate: no overflow, no warning, finite gradients."""
    p = _inputs(backend, scale=1.0)
    for k in ("W_ih", "W_hh", "b_ih", "b_hh"):
        p[k] = p[k] * 4e3
    ts = {k: minigen.tensor(backend.asarray(backend.numpy(v).astype(dtype)), requires_grad=True) for k, v in p.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")                       # an overflow in exp would warn
        out, h_n = F.gru(*ts.values())
        rng = np.random.default_rng(5)
        (out * minigen.tensor(backend.asarray(rng.standard_normal((T, B, H)).astype(dtype)))).sum().backward()
    bound = max(1.0, np.abs(backend.numpy(p["h0"])).max())  # h is a convex mix of n in [-1, 1] and h_prev
    assert np.all(np.isfinite(backend.numpy(out))) and np.all(np.abs(backend.numpy(out)) <= bound)
    for name, t in ts.items():
        assert np.all(np.isfinite(backend.numpy(t.grad))), name


def test_long_sequence(backend):
    """T = 300: the state stays bounded, and BPTT runs without recursion trouble."""
    rng = np.random.default_rng(3)
    x = minigen.tensor(backend.asarray(rng.standard_normal((300, 2, 3))), requires_grad=True)
    W_ih = minigen.tensor(backend.asarray(rng.standard_normal((12, 3))), requires_grad=True)
    W_hh = minigen.tensor(backend.asarray(rng.standard_normal((12, 4))), requires_grad=True)
    out, h_n = F.gru(x, minigen.tensor(backend.asarray(np.zeros((2, 4)))), W_ih, W_hh)
    out.sum().backward()
    assert np.all(np.abs(backend.numpy(out)) <= 1)
    assert np.all(np.isfinite(backend.numpy(W_hh.grad))) and np.all(np.isfinite(backend.numpy(x.grad)))


# ---------------------------------------------------------------------------- PyTorch parity

def _close(a, b, what, dtype):
    tol = 1e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(a, b, rtol=0, atol=tol * np.abs(b).max(), err_msg=what)


@pytest.mark.reference
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
def test_matches_torch(dtype, bias):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    rng = np.random.default_rng(4)
    ref = torch.nn.GRU(C, H, bias=bias).to(torch.float64 if dtype == np.float64 else torch.float32)
    x, h0 = rng.standard_normal((T, B, C)).astype(dtype), rng.standard_normal((1, B, H)).astype(dtype)
    dout, dh = rng.standard_normal((T, B, H)).astype(dtype), rng.standard_normal((1, B, H)).astype(dtype)
    xt, h0t = torch.tensor(x, requires_grad=True), torch.tensor(h0, requires_grad=True)
    ot, ht = ref(xt, h0t)
    torch.autograd.backward([ot, ht], [torch.tensor(dout), torch.tensor(dh)])
    names = ["weight_ih_l0", "weight_hh_l0"] + (["bias_ih_l0", "bias_hh_l0"] if bias else [])
    ws = [minigen.tensor(getattr(ref, n).detach().numpy().copy(), requires_grad=True) for n in names]
    xm, h0m = minigen.tensor(x, requires_grad=True), minigen.tensor(h0[0], requires_grad=True)
    om, hm = F.gru(xm, h0m, *ws)
    ((om * minigen.tensor(dout)).sum() + (hm * minigen.tensor(dh[0])).sum()).backward()
    _close(om.numpy(), ot.detach().numpy(), "output", dtype)
    _close(hm.numpy(), ht.detach().numpy()[0], "h_n", dtype)
    _close(xm.grad, xt.grad.numpy(), "dx", dtype)
    _close(h0m.grad, h0t.grad.numpy()[0], "dh0", dtype)
    for n, w in zip(names, ws):
        _close(w.grad, getattr(ref, n).grad.numpy(), "d" + n, dtype)


@pytest.mark.reference
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cell_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    rng = np.random.default_rng(6)
    ref = torch.nn.GRUCell(C, H).to(torch.float64 if dtype == np.float64 else torch.float32)
    x, h, dh = (rng.standard_normal(s).astype(dtype) for s in ((B, C), (B, H), (B, H)))
    xt, ht = torch.tensor(x, requires_grad=True), torch.tensor(h, requires_grad=True)
    yt = ref(xt, ht)
    yt.backward(torch.tensor(dh))
    names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    ws = [minigen.tensor(getattr(ref, n).detach().numpy().copy(), requires_grad=True) for n in names]
    xm, hm = minigen.tensor(x, requires_grad=True), minigen.tensor(h, requires_grad=True)
    ym = F.gru_cell(xm, hm, *ws)
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
    with pytest.raises(ValueError, match=r"gru: input must be of shape \(seq, batch, 5\) with seq >= 1 for weight_ih "
                                         r"\(18, 5\), got shape \(4, 3, 7\)"):
        F.gru(minigen.tensor(np.zeros((4, 3, 7))), h0, W_ih, W_hh)
    with pytest.raises(ValueError, match=r"gru: input must be of shape \(seq, batch, 5\) .* got shape \(3, 5\)"):
        F.gru(x[0], h0, W_ih, W_hh)
    with pytest.raises(ValueError, match=r"gru: input must be of shape \(seq, batch, 5\) with seq >= 1 .* got shape \(0, 3, 5\)"):
        F.gru(minigen.tensor(np.zeros((0, 3, 5))), h0, W_ih, W_hh)
    with pytest.raises(ValueError, match=r"gru: hx must be of shape \(3, 6\), got shape \(2, 6\)"):
        F.gru(x, minigen.tensor(np.zeros((2, 6))), W_ih, W_hh)
    with pytest.raises(ValueError, match=r"gru: weight_hh must be of shape \(3\*hidden_size, hidden_size\), "
                                         r"got shape \(18, 5\)"):
        F.gru(x, h0, W_ih, W_ih)
    with pytest.raises(ValueError, match=r"gru: weight_ih must be of shape \(18, input_size\), got shape \(12, 5\)"):
        F.gru(x, h0, W_ih[:12], W_hh)
    with pytest.raises(ValueError, match=r"gru: bias_hh must be of shape \(18,\), got shape \(6,\)"):
        F.gru(x, h0, W_ih, W_hh, b_ih, b_hh[:6])
    with pytest.raises(TypeError, match="gru: hx must be of input's dtype float64 .*, got float32"):
        F.gru(x, h0.float(), W_ih, W_hh)
    with pytest.raises(TypeError, match=r"gru: input must be floating point \(minigen never upcasts silently\), got int64"):
        F.gru(minigen.tensor(np.zeros((4, 3, 5), dtype=np.int64)), h0, W_ih, W_hh)
    with pytest.raises(ValueError, match=r"gru_cell: input must be of shape \(batch, 5\) for weight_ih "
                                         r"\(18, 5\), got shape \(4, 3, 5\)"):
        F.gru_cell(x, h0, W_ih, W_hh)
    with pytest.raises(TypeError, match="gru_cell: weight_hh must be of input's dtype float64 .*, got float32"):
        F.gru_cell(x[0], h0, W_ih, W_hh.float())
