"""LSTM kernels: reference step, the fast sequence kernel against its reference twin, gradchecks
(every output, final states too), stability, PyTorch parity, bad input."""

import numpy as np
import pytest

import minigen
import minigen.functional as F
from minigen.kernels import lstm as K
from tests.kernels import recurrent_checks as RC

T, B, C, H = 4, 3, 5, 6


def _inputs(backend, bias=True, seed=0, scale=0.5, steps=T):
    rng = np.random.default_rng(seed)
    d = {"x": (steps, B, C), "h0": (B, H), "c0": (B, H), "W_ih": (4 * H, C), "W_hh": (4 * H, H)}
    if bias:
        d.update(b_ih=(4 * H,), b_hh=(4 * H,))
    return {k: backend.asarray(rng.standard_normal(s) * scale) for k, s in d.items()}


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def test_one_step_reference(backend):
    """The gate maths written out in NumPy, gate by gate (i, f, g, o packed in that order)."""
    p = {k: backend.numpy(v) for k, v in _inputs(backend).items()}
    a = p["x"][0] @ p["W_ih"].T + p["b_ih"] + p["h0"] @ p["W_hh"].T + p["b_hh"]
    i, f, g, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), _sigmoid(a[:, 3 * H:])
    c = f * p["c0"] + i * g
    h = o * np.tanh(c)
    dev = _inputs(backend)
    (h1, c1), _ = K.lstm_cell_forward(dev["x"][0, ...], dev["h0"], dev["c0"], dev["W_ih"], dev["W_hh"],
                                      dev["b_ih"], dev["b_hh"])
    np.testing.assert_allclose(backend.numpy(h1), h, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(backend.numpy(c1), c, rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------------------- the fast kernel and its twin

FAST, TWIN = (K.lstm_forward, K.lstm_backward), (K.lstm_forward_reference, K.lstm_backward_reference)
OUTS, GRADS = ["out", "h_n", "c_n"], ["dx", "dh0", "dc0", "dW_ih", "dW_hh", "db_ih", "db_hh"]


def _shapes(T, B):
    return {"x": (T, B, C), "h0": (B, H), "c0": (B, H), "W_ih": (4 * H, C), "W_hh": (4 * H, H),
            "b_ih": (4 * H,), "b_hh": (4 * H,)}


@pytest.mark.parametrize("state", RC.STATES)
@pytest.mark.parametrize("bias", RC.BIASES)
@pytest.mark.parametrize("T_B", RC.SHAPES)
def test_fast_kernel_equals_its_reference_twin(backend, T_B, bias, state):
    """Outputs and every gradient to 1e-12 in float64, in both of lstm_forward's branches:
    T*B < H + C (one token at a time, as in generation) scales each step, T*B >= H + C folds m into W."""
    p = RC.kernel_inputs(backend, _shapes, *T_B, bias, state)
    RC.assert_fast_equals_twin(backend, "lstm", FAST, TWIN, list(p.values()), OUTS, GRADS)


@pytest.mark.parametrize("given", [(True, False, False), (False, True, False), (False, False, True),
                                   (False, False, False)])
@pytest.mark.parametrize("T_B", [(1, 3), (4, 3)])
def test_fast_kernel_equals_its_twin_when_an_output_is_unused(backend, T_B, given):
    """backward takes None for an output that was not used: both kernels read it as zero."""
    p = RC.kernel_inputs(backend, _shapes, *T_B)
    RC.assert_fast_equals_twin(backend, "lstm", FAST, TWIN, list(p.values()), OUTS, GRADS, given)


@pytest.mark.parametrize("bias", [True, False])
def test_reference_twin_gradcheck(backend, bias):
    assert minigen.gradcheck_kernel(K.lstm_forward_reference, K.lstm_backward_reference, _inputs(backend, bias),
                                    fast=backend.fast)


# ---------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("steps", [1, T])
@pytest.mark.parametrize("bias", [True, False])
def test_sequence_kernel_gradcheck(backend, bias, steps):
    assert T * B >= C + H > 1 * B
    assert minigen.gradcheck_kernel(K.lstm_forward, K.lstm_backward, _inputs(backend, bias, steps=steps),
                                    fast=backend.fast)


@pytest.mark.parametrize("bias", [True, False])
def test_cell_kernel_gradcheck(backend, bias):
    p = _inputs(backend, bias)
    p["x"] = p["x"][0, ...]
    p = {("h_prev" if k == "h0" else "c_prev" if k == "c0" else k): v for k, v in p.items()}
    assert minigen.gradcheck_kernel(K.lstm_cell_forward, K.lstm_cell_backward, p)


def test_only_the_final_state_is_used(backend):
    """Gradients that flow in only through h_n (or only c_n) are right too."""
    p = _inputs(backend)
    assert minigen.gradcheck(lambda x, h0, c0, W_ih, W_hh, b_ih, b_hh:
                             F.lstm(x, (h0, c0), W_ih, W_hh, b_ih, b_hh)[1][1], p, fast=backend.fast)
    assert minigen.gradcheck(lambda x, h0, c0, W_ih, W_hh, b_ih, b_hh:
                             F.lstm(x, (h0, c0), W_ih, W_hh, b_ih, b_hh)[1][0] * 2.0, p, fast=backend.fast)


def test_functional_gradcheck(backend):
    p = _inputs(backend)
    assert minigen.gradcheck(lambda x, h0, c0, W_ih, W_hh, b_ih, b_hh:
                             F.lstm(x, (h0, c0), W_ih, W_hh, b_ih, b_hh), p, fast=backend.fast)
    p["x"] = p["x"][0, ...]
    assert minigen.gradcheck(lambda x, h0, c0, W_ih, W_hh, b_ih, b_hh:
                             F.lstm_cell(x, (h0, c0), W_ih, W_hh, b_ih, b_hh), p)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_preactivations_stay_finite(backend, dtype):
    p = {k: backend.asarray(backend.numpy(v).astype(dtype)) for k, v in _inputs(backend, scale=1e4).items()}
    ts = {k: minigen.tensor(v, requires_grad=True) for k, v in p.items()}
    out, (h, c) = F.lstm(ts["x"], (ts["h0"], ts["c0"]), ts["W_ih"], ts["W_hh"], ts["b_ih"], ts["b_hh"])
    (out.sum() + c.sum()).backward()
    assert np.all(np.isfinite(backend.numpy(out))) and np.all(np.abs(backend.numpy(out)) <= 1)
    for t in ts.values():
        assert np.all(np.isfinite(backend.numpy(t.grad)))


def test_long_sequence(backend):
    """T = 300: the state stays bounded, and BPTT runs without recursion trouble."""
    rng = np.random.default_rng(3)
    x = minigen.tensor(backend.asarray(rng.standard_normal((300, 2, 3))), requires_grad=True)
    W_ih = minigen.tensor(backend.asarray(rng.standard_normal((16, 3))), requires_grad=True)
    W_hh = minigen.tensor(backend.asarray(rng.standard_normal((16, 4))), requires_grad=True)
    zeros = minigen.tensor(backend.asarray(np.zeros((2, 4))))
    out, (h, c) = F.lstm(x, (zeros, zeros), W_ih, W_hh)
    out.sum().backward()
    assert np.all(np.isfinite(backend.numpy(W_hh.grad))) and np.all(np.isfinite(backend.numpy(x.grad)))


@pytest.mark.reference
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    ref = torch.nn.LSTM(C, H).to(torch.float64 if dtype == np.float64 else torch.float32)
    x = rng.standard_normal((T, B, C)).astype(dtype)
    h0, c0 = (rng.standard_normal((1, B, H)).astype(dtype) for _ in range(2))
    dout, dh, dc = (rng.standard_normal(s).astype(dtype) for s in ((T, B, H), (1, B, H), (1, B, H)))
    xt, h0t, c0t = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
    ot, (ht, ct) = ref(xt, (h0t, c0t))
    torch.autograd.backward([ot, ht, ct], [torch.tensor(dout), torch.tensor(dh), torch.tensor(dc)])
    names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    ws = [minigen.tensor(getattr(ref, n).detach().numpy().copy(), requires_grad=True) for n in names]
    xm, h0m, c0m = (minigen.tensor(a, requires_grad=True) for a in (x, h0[0], c0[0]))
    om, (hm, cm) = F.lstm(xm, (h0m, c0m), *ws)
    loss = (om * minigen.tensor(dout)).sum() + (hm * minigen.tensor(dh[0])).sum() + (cm * minigen.tensor(dc[0])).sum()
    loss.backward()
    tol = 1e-5 if dtype == np.float32 else 1e-10

    def close(a, b, what):
        np.testing.assert_allclose(a, b, rtol=0, atol=tol * np.abs(b).max(), err_msg=what)

    close(om.numpy(), ot.detach().numpy(), "output")
    close(hm.numpy(), ht.detach().numpy()[0], "h_n")
    close(cm.numpy(), ct.detach().numpy()[0], "c_n")
    close(xm.grad, xt.grad.numpy(), "dx")
    close(h0m.grad, h0t.grad.numpy()[0], "dh0")
    close(c0m.grad, c0t.grad.numpy()[0], "dc0")
    for n, w in zip(names, ws):
        close(w.grad, getattr(ref, n).grad.numpy(), "d" + n)


def test_bad_input():
    p = {k: minigen.tensor(v) for k, v in _inputs(type("NP", (), {"asarray": staticmethod(np.asarray)})).items()}
    W = (p["W_ih"], p["W_hh"], p["b_ih"], p["b_hh"])
    with pytest.raises(ValueError, match=r"lstm: input must be of shape \(seq, batch, 5\) .*, got shape \(4, 3, 7\)"):
        F.lstm(minigen.tensor(np.zeros((4, 3, 7))), (p["h0"], p["c0"]), *W)
    with pytest.raises(ValueError, match=r"lstm: c must be of shape \(3, 6\), got shape \(2, 6\)"):
        F.lstm(p["x"], (p["h0"], minigen.tensor(np.zeros((2, 6)))), *W)
    with pytest.raises(ValueError, match=r"lstm: weight_hh must be of shape \(4\*hidden_size, hidden_size\)"):
        F.lstm(p["x"], (p["h0"], p["c0"]), p["W_ih"], p["W_ih"])
    with pytest.raises(TypeError, match="lstm: h must be of input's dtype float64 .*, got float32"):
        F.lstm(p["x"], (p["h0"].float(), p["c0"]), *W)
    with pytest.raises(ValueError, match=r"lstm_cell: input must be of shape \(batch, 5\) .*, got shape \(4, 3, 5\)"):
        F.lstm_cell(p["x"], (p["h0"], p["c0"]), *W)
