"""nn.RNN, nn.LSTM and nn.GRU: stacking, batch_first, states, dropout, gradchecks, PyTorch parity, bad input."""

import numpy as np
import pytest

import minigen
import minigen.nn as nn

MODES = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN": nn.RNN}
C, H = 4, 5


def _module(mode, **kw):
    return MODES[mode](C, H, **kw)


def _state(mode, L, B, rng, as_tensor=minigen.tensor):
    h = as_tensor(rng.standard_normal((L, B, H)) * 0.5)
    if mode == "LSTM":
        return h, as_tensor(rng.standard_normal((L, B, H)) * 0.5)
    return h


@pytest.mark.parametrize("mode", sorted(MODES))
def test_shapes_and_state_dict_keys(mode):
    m = _module(mode, num_layers=2, batch_first=True)
    G = {"LSTM": 4, "GRU": 3, "RNN": 1}[mode]
    assert {k: tuple(v.shape) for k, v in m.state_dict().items()} == {
        "weight_ih_l0": (G * H, C), "weight_hh_l0": (G * H, H), "bias_ih_l0": (G * H,), "bias_hh_l0": (G * H,),
        "weight_ih_l1": (G * H, H), "weight_hh_l1": (G * H, H), "bias_ih_l1": (G * H,), "bias_hh_l1": (G * H,)}
    out, state = m(minigen.tensor(np.zeros((3, 7, C), np.float32)))
    assert out.shape == (3, 7, H)
    h = state[0] if mode == "LSTM" else state
    assert h.shape == (2, 3, H)
    assert list(_module(mode, bias=False).state_dict()) == ["weight_ih_l0", "weight_hh_l0"]


@pytest.mark.parametrize("mode", sorted(MODES))
def test_unbatched_equals_batch_of_one(mode):
    m = _module(mode, num_layers=2)
    x = np.random.default_rng(0).standard_normal((6, C)).astype(np.float32)
    out1, _ = m(minigen.tensor(x))
    out2, _ = m(minigen.tensor(x[:, None, :]))
    assert out1.shape == (6, H)
    np.testing.assert_allclose(out1.numpy(), out2.numpy()[:, 0], rtol=1e-6)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_gradcheck_through_two_layers(backend, mode):
    """Input, initial state and every parameter of a 2-layer stack, in float64."""
    rng = np.random.default_rng(1)
    m = _module(mode, num_layers=2, dtype="float64")
    names = [n for n, _ in m.named_parameters()]
    inputs = {"x": backend.asarray(rng.standard_normal((3, 2, C)))}
    inputs.update({n: backend.asarray(p.numpy()) for n, p in m.named_parameters()})
    state = _state(mode, 2, 2, rng, backend.asarray)
    if mode == "LSTM":
        inputs["h0"], inputs["c0"] = state
    else:
        inputs["h0"] = state

    def run(x, h0, c0=None, **params):
        for n in names:
            m._parameters[n] = params[n]            # the check's tensors stand in for the parameters
        out, st = m(x, (h0, c0) if mode == "LSTM" else h0)
        return (out, *st) if mode == "LSTM" else (out, st)

    if mode == "LSTM":
        fn = lambda x, h0, c0, **p: run(x, h0, c0, **p)  # noqa: E731
    else:
        fn = lambda x, h0, **p: run(x, h0, **p)  # noqa: E731
    assert minigen.gradcheck(fn, inputs, fast=backend.fast)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_dropout_between_layers(mode):
    m = _module(mode, num_layers=3, dropout=0.5)
    x = minigen.tensor(np.random.default_rng(2).standard_normal((5, 2, C)).astype(np.float32))
    minigen.manual_seed(0)
    a, _ = m(x)
    minigen.manual_seed(1)
    b, _ = m(x)
    assert not np.allclose(a.numpy(), b.numpy()), "training mode drops units between layers"
    m.eval()
    c, _ = m(x)
    d, _ = m(x)
    np.testing.assert_array_equal(c.numpy(), d.numpy())


# module name -> (class name, extra constructor arguments), for the PyTorch comparison
TORCH_CASES = {"LSTM": ("LSTM", {}), "GRU": ("GRU", {}), "RNN": ("RNN", {}),
               "RNN-relu": ("RNN", {"nonlinearity": "relu"})}


@pytest.mark.reference
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("case", sorted(TORCH_CASES))
def test_matches_torch(case, batch_first, dtype):
    torch = pytest.importorskip("torch")
    mode, kw = TORCH_CASES[case]
    rng = np.random.default_rng(3)
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    ref = getattr(torch.nn, mode)(C, H, num_layers=2, batch_first=batch_first, **kw).to(tdtype)
    mine = MODES[mode](C, H, num_layers=2, batch_first=batch_first, dtype=np.dtype(dtype).name, **kw)
    mine.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    B, T = 3, 6
    x = rng.standard_normal((B, T, C) if batch_first else (T, B, C)).astype(dtype)
    state = _state(mode, 2, B, rng, lambda a: a.astype(dtype))
    states = state if mode == "LSTM" else (state,)
    xt = torch.tensor(x, requires_grad=True)
    st = [torch.tensor(s, requires_grad=True) for s in states]
    xm = minigen.tensor(x, requires_grad=True)
    sm = [minigen.tensor(s, requires_grad=True) for s in states]
    ot, rt = ref(xt, tuple(st) if mode == "LSTM" else st[0])
    om, rm = mine(xm, tuple(sm) if mode == "LSTM" else sm[0])
    rt, rm = (rt if mode == "LSTM" else (rt,)), (rm if mode == "LSTM" else (rm,))
    douts = [rng.standard_normal(tuple(o.shape)).astype(dtype) for o in (ot, *rt)]
    torch.autograd.backward([ot, *rt], [torch.tensor(d) for d in douts])
    loss = None
    for o, d in zip((om, *rm), douts):
        term = (o * minigen.tensor(d)).sum()
        loss = term if loss is None else loss + term
    loss.backward()
    tol = 1e-5 if dtype == np.float32 else 1e-10

    def close(a, b, what):
        np.testing.assert_allclose(a, b, rtol=0, atol=tol * np.abs(b).max(), err_msg=what)

    close(om.numpy(), ot.detach().numpy(), "output")
    for a, b in zip(rm, rt):
        close(a.numpy(), b.detach().numpy(), "final state")
    close(xm.grad, xt.grad.numpy(), "d input")
    for a, b in zip(sm, st):
        close(a.grad, b.grad.numpy(), "d initial state")
    for name, p in ref.named_parameters():
        close(getattr(mine, name).grad, p.grad.numpy(), "d" + name)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_bad_input(mode):
    m = MODES[mode](32, 8, num_layers=2, batch_first=True)
    with pytest.raises(ValueError, match=rf"{mode}: input must be of shape \(batch, seq, 32\) with seq >= 1, got shape \(8, 16, 30\)"):
        m(minigen.tensor(np.zeros((8, 16, 30), np.float32)))
    with pytest.raises(ValueError, match=rf"{mode}: input must be of shape \(seq, batch, 32\)"):
        MODES[mode](32, 8)(minigen.tensor(np.zeros((8, 16, 30), np.float32)))
    with pytest.raises(TypeError, match=f"{mode}: input must be of weight_ih_l0's dtype float32 .*, got float64"):
        m(minigen.tensor(np.zeros((2, 3, 32))))
    bad = minigen.tensor(np.zeros((1, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"(h_0|hx) must be of shape \(2, 8, 8\), got shape \(1, 8, 8\)"):
        m(minigen.tensor(np.zeros((8, 4, 32), np.float32)), (bad, bad) if mode == "LSTM" else bad)
    with pytest.raises(ValueError, match="hidden_size must be a positive integer, got 0"):
        MODES[mode](4, 0)
    with pytest.raises(NotImplementedError, match="bidirectional"):
        MODES[mode](4, 4, bidirectional=True)


def test_rnn_nonlinearity_is_checked():
    with pytest.raises(ValueError, match="RNN: nonlinearity must be one of 'tanh', 'relu', got 'gelu'"):
        nn.RNN(3, 3, nonlinearity="gelu")


CELLS = {"LSTMCell": nn.LSTMCell, "GRUCell": nn.GRUCell, "RNNCell": nn.RNNCell}


@pytest.mark.reference
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(CELLS))
def test_cells_match_torch(name, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    ref = getattr(torch.nn, name)(C, H).to(tdtype)
    mine = CELLS[name](C, H, dtype=np.dtype(dtype).name)
    mine.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    x = rng.standard_normal((3, C)).astype(dtype)
    states = [rng.standard_normal((3, H)).astype(dtype) for _ in range(2 if name == "LSTMCell" else 1)]
    xt, st = torch.tensor(x, requires_grad=True), [torch.tensor(s, requires_grad=True) for s in states]
    xm, sm = minigen.tensor(x, requires_grad=True), [minigen.tensor(s, requires_grad=True) for s in states]
    out_t = ref(xt, tuple(st) if name == "LSTMCell" else st[0])
    out_m = mine(xm, tuple(sm) if name == "LSTMCell" else sm[0])
    out_t = out_t if name == "LSTMCell" else (out_t,)
    out_m = out_m if name == "LSTMCell" else (out_m,)
    douts = [rng.standard_normal((3, H)).astype(dtype) for _ in out_t]
    torch.autograd.backward(list(out_t), [torch.tensor(d) for d in douts])
    sum((o * minigen.tensor(d)).sum() for o, d in zip(out_m, douts)).backward()
    tol = 1e-5 if dtype == np.float32 else 1e-10
    for a, b in zip(out_m, out_t):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=0, atol=tol * np.abs(b.detach().numpy()).max())
    np.testing.assert_allclose(xm.grad, xt.grad.numpy(), rtol=0, atol=tol * np.abs(xt.grad.numpy()).max())
    for i, (a, b) in enumerate(zip(sm, st)):                                 # d hx (and d cx for the LSTM)
        g = b.grad.numpy()
        np.testing.assert_allclose(a.grad, g, rtol=0, atol=tol * np.abs(g).max(), err_msg=f"d initial state {i}")
    for n, p in ref.named_parameters():
        np.testing.assert_allclose(getattr(mine, n).grad, p.grad.numpy(), rtol=0, atol=tol * np.abs(p.grad.numpy()).max())


@pytest.mark.parametrize("name", sorted(CELLS))
def test_cells_unbatched_default_state_and_errors(name):
    cell = CELLS[name](4, 3)
    out = cell(minigen.tensor(np.ones(4, np.float32)))
    h = out[0] if name == "LSTMCell" else out
    assert h.shape == (3,)
    with pytest.raises(ValueError, match=rf"{name}: input must be of shape \(batch, 4\) or \(4,\), got shape \(2, 5\)"):
        cell(minigen.tensor(np.ones((2, 5), np.float32)))
    assert list(CELLS[name](4, 3, bias=False).state_dict()) == ["weight_ih", "weight_hh"]
