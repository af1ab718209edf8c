"""The primitive ops agree with PyTorch, forward and backward (reference extra only)."""

import numpy as np
import pytest

import minigen

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.reference

TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}

CASES = {
    "gelu": (lambda m, x: minigen.gelu(x), lambda x: torch.nn.functional.gelu(x)),
    "gelu_tanh": (lambda m, x: minigen.gelu(x, approximate="tanh"),
                  lambda x: torch.nn.functional.gelu(x, approximate="tanh")),
    "sigmoid": (lambda m, x: x.sigmoid(), torch.sigmoid),
    "tanh_exp_log": (lambda m, x: (x.tanh() + 2.0).log() * x.exp(), lambda x: (x.tanh() + 2.0).log() * x.exp()),
    "relu_clip": (lambda m, x: x.relu() + x.clip(-0.3, 0.4), lambda x: x.relu() + x.clamp(-0.3, 0.4)),
    "softmax": (lambda m, x: (x - x.max(axis=-1, keepdims=True)).exp() / (x - x.max(axis=-1, keepdims=True)).exp().sum(axis=-1, keepdims=True),
                lambda x: torch.softmax(x, dim=-1)),
    "amax_mean": (lambda m, x: x.max(axis=0) * x.mean(axis=1, keepdims=True),
                  lambda x: x.amax(dim=0) * x.mean(dim=1, keepdim=True)),
    "reshape_permute": (lambda m, x: x.reshape(4, 2, 3).permute(2, 0, 1) ** 2, lambda x: x.reshape(4, 2, 3).permute(2, 0, 1) ** 2),
    "sqrt_pow": (lambda m, x: (x * x + 1.0).sqrt() ** 1.5, lambda x: (x * x + 1.0).sqrt() ** 1.5),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(CASES))
def test_unary_parity(name, dtype):
    mg_fn, th_fn = CASES[name]
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((4, 6)) * 2).astype(dtype)
    dout = rng.standard_normal(th_fn(torch.tensor(x)).shape).astype(dtype)
    xm = minigen.tensor(x, requires_grad=True)
    ym = mg_fn(minigen, xm)
    ym.backward(dout)
    xt = torch.tensor(x, requires_grad=True)
    yt = th_fn(xt)
    yt.backward(torch.tensor(dout))
    scale = np.abs(yt.detach().numpy()).max()
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=0, atol=TOL[dtype]["rtol"] * scale)
    gscale = np.abs(xt.grad.numpy()).max()
    np.testing.assert_allclose(xm.grad, xt.grad.numpy(), rtol=0, atol=TOL[dtype]["rtol"] * gscale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_network_parity(dtype):
    """A small network built from matmul, broadcasting, gather, embedding and concat."""
    rng = np.random.default_rng(1)
    ids = np.array([[1, 4, 1], [0, 4, 4]])
    targets = np.array([2, 0, 1, 1, 2, 0])
    params = {"E": rng.standard_normal((5, 4)), "W": rng.standard_normal((8, 3)), "b": rng.standard_normal(3)}
    params = {k: v.astype(dtype) for k, v in params.items()}

    def forward(lib, p):
        if lib is minigen:
            e = minigen.embedding(ids, p["E"])                                   # (2, 3, 4)
            h = minigen.concat([e, e.tanh()], axis=-1).reshape(6, 8)
            logits = h @ p["W"] + p["b"]
            logp = logits - logits.exp().sum(axis=-1, keepdims=True).log()
            return -logp[np.arange(6), targets].mean()
        e = torch.nn.functional.embedding(torch.tensor(ids), p["E"])
        h = torch.cat([e, e.tanh()], dim=-1).reshape(6, 8)
        logits = h @ p["W"] + p["b"]
        return torch.nn.functional.cross_entropy(logits, torch.tensor(targets))

    pm = {k: minigen.tensor(v, requires_grad=True) for k, v in params.items()}
    pt = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    lm, lt = forward(minigen, pm), forward(torch, pt)
    lm.backward()
    lt.backward()
    tol = TOL[dtype]["rtol"]
    assert abs(lm.item() - lt.item()) <= tol * abs(lt.item())
    for k in params:
        g = pt[k].grad.numpy()
        np.testing.assert_allclose(pm[k].grad, g, rtol=0, atol=tol * np.abs(g).max(), err_msg=k)
