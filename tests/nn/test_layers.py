"""LayerNorm, Embedding, Dropout and GELU modules: parameters, init, modes, errors, PyTorch parity via state_dict."""

import numpy as np
import pytest

import minigen
import minigen.functional as F
from minigen import backend as B
from minigen import nn


def _randn(shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def _tol(dtype):
    return 1e-5 if dtype == np.float32 else 1e-10


def _close(got, ref, dtype, name):
    """Within 1e-5 (float32) or 1e-10 (float64) of the largest magnitude of ``ref``."""
    np.testing.assert_allclose(got, ref, rtol=0, atol=_tol(dtype) * max(np.abs(ref).max(), 1e-30), err_msg=name)


# ---------------------------------------------------------------------------- LayerNorm

def test_layernorm_parameters_and_init(backend):
    ln = nn.LayerNorm((3, 4), device=backend.device, dtype=np.float64)
    assert list(ln.state_dict()) == ["weight", "bias"]
    assert ln.weight.shape == (3, 4) and B.device_of(ln.weight.data) == B.device_of(backend.asarray(np.ones(1)))
    assert B._dtype_name(ln.bias.dtype) == "float64"
    assert np.all(backend.numpy(ln.weight) == 1.0) and np.all(backend.numpy(ln.bias) == 0.0)
    assert nn.LayerNorm(5).weight.dtype == np.float32
    assert nn.LayerNorm(5, dtype=np.float64).weight.dtype == np.float64
    assert list(nn.LayerNorm(5, bias=False).state_dict()) == ["weight"]
    plain = nn.LayerNorm(5, elementwise_affine=False)
    assert plain.weight is None and plain.bias is None and list(plain.parameters()) == []
    assert repr(ln) == "LayerNorm((3, 4), eps=1e-05, elementwise_affine=True)"


def test_layernorm_forward_backward_on_device(backend):
    ln = nn.LayerNorm(6, device=backend.device, dtype=np.float64)
    x = backend.tensor(_randn((2, 5, 6), seed=1), requires_grad=True)
    y = ln(x)
    np.testing.assert_array_equal(backend.numpy(y), backend.numpy(F.layer_norm(x, (6,))))
    y.backward(backend.asarray(_randn((2, 5, 6), seed=2)))
    assert x.grad.shape == (2, 5, 6) and ln.weight.grad.shape == (6,) and ln.bias.grad.shape == (6,)
    assert minigen.gradcheck(lambda x: ln(x), [backend.tensor(_randn((3, 6), seed=3))])


@pytest.mark.reference
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, kwargs", [((8,), {}), ((3, 8), {}), ((8,), {"bias": False}),
                                           ((8,), {"elementwise_affine": False})])
def test_layernorm_matches_torch(dtype, shape, kwargs):
    torch = pytest.importorskip("torch")
    tdtype = getattr(torch, np.dtype(dtype).name)
    torch.manual_seed(0)
    theirs = torch.nn.LayerNorm(shape, dtype=tdtype, **kwargs)
    with torch.no_grad():
        for p in theirs.parameters():                # away from ones/zeros, so a swapped pair would show
            p.normal_()
    mine = nn.LayerNorm(shape, dtype=np.dtype(dtype), **kwargs)
    mine.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = _randn((2, 4) + shape, seed=4, scale=2.0).astype(dtype)
    dout = _randn(x.shape, seed=5).astype(dtype)
    xm, xt = minigen.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    a, b = mine(xm), theirs(xt)
    a.backward(dout)
    b.backward(torch.tensor(dout))
    _close(a.numpy(), b.detach().numpy(), dtype, "output")
    _close(xm.grad, xt.grad.numpy(), dtype, "dinput")
    params = dict(theirs.named_parameters())
    assert set(params) == {k for k, _ in mine.named_parameters()}
    for name, p in params.items():
        _close(getattr(mine, name).grad, p.grad.numpy(), dtype, "d" + name)


# ---------------------------------------------------------------------------- Embedding

def test_embedding_parameters_and_init(backend):
    minigen.manual_seed(1)
    emb = nn.Embedding(400, 16, padding_idx=-1, device=backend.device, dtype=np.float64)
    assert list(emb.state_dict()) == ["weight"] and emb.weight.shape == (400, 16)
    assert emb.padding_idx == 399                              # negative counts from the end, as torch
    W = backend.numpy(emb.weight)
    assert np.all(W[399] == 0.0)
    assert abs(W[:399].mean()) < 0.02 and abs(W[:399].std() - 1.0) < 0.02      # N(0, 1)
    minigen.manual_seed(1)
    np.testing.assert_array_equal(backend.numpy(nn.Embedding(400, 16, padding_idx=-1, dtype=np.float64).weight), W)
    assert nn.Embedding(3, 2).weight.dtype == np.float32
    assert repr(emb) == "Embedding(400, 16, padding_idx=399)"


def test_embedding_forward_backward_on_device(backend):
    emb = nn.Embedding(6, 3, padding_idx=2, device=backend.device, dtype=np.float64)
    ids = backend.asarray(np.array([[2, 5, 5], [0, 2, 1]]))
    out = emb(ids)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(backend.numpy(out)[0, 0], np.zeros(3))
    out.backward(backend.asarray(_randn((2, 3, 3), seed=6)))
    g = backend.numpy(emb.weight.grad)
    assert np.all(g[2] == 0.0) and np.all(g[[3, 4]] == 0.0) and np.all(g[[0, 1, 5]] != 0.0)
    assert emb(minigen.tensor(ids)).shape == (2, 3, 3)         # integer Tensors work too


@pytest.mark.reference
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding_idx", [None, 0])
def test_embedding_matches_torch(dtype, padding_idx):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.Embedding(7, 5, padding_idx=padding_idx, dtype=getattr(torch, np.dtype(dtype).name))
    mine = nn.Embedding(7, 5, padding_idx=padding_idx, dtype=np.dtype(dtype))
    mine.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    ids = np.array([[0, 3, 3, 6], [1, 0, 3, 2]])
    dout = _randn((2, 4, 5), seed=7).astype(dtype)
    a, b = mine(ids), theirs(torch.tensor(ids))
    a.backward(dout)
    b.backward(torch.tensor(dout))
    _close(a.numpy(), b.detach().numpy(), dtype, "output")
    _close(mine.weight.grad, theirs.weight.grad.numpy(), dtype, "dweight")


@pytest.mark.reference
def test_embedding_signature_is_torchs():
    """Same parameter names in the same order, so positional calls mean the same thing."""
    torch = pytest.importorskip("torch")
    import inspect
    names = lambda f: list(inspect.signature(f).parameters)  # noqa: E731
    assert names(nn.Embedding.__init__) == names(torch.nn.Embedding.__init__)
    assert names(nn.Embedding.from_pretrained) == names(torch.nn.Embedding.from_pretrained)
    assert names(F.embedding) == names(torch.nn.functional.embedding)


@pytest.mark.reference
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_embedding_max_norm_matches_torch(norm_type):
    """Looked-up rows longer than max_norm are shrunk in place, before the lookup; the others stay."""
    torch = pytest.importorskip("torch")
    W = _randn((7, 5), seed=11) * 2
    ids = np.array([[0, 3, 3], [6, 0, 2]])
    theirs = torch.nn.Embedding(7, 5, max_norm=1.5, norm_type=norm_type, _weight=torch.tensor(W))
    mine = nn.Embedding(7, 5, None, 1.5, norm_type, _weight=W.copy())
    dout = _randn((2, 3, 5), seed=12)
    a, b = mine(ids), theirs(torch.tensor(ids))
    a.backward(dout)
    b.backward(torch.tensor(dout))
    _close(mine.weight.numpy(), theirs.weight.detach().numpy(), np.float64, "renormed weight")
    _close(a.numpy(), b.detach().numpy(), np.float64, "output")
    _close(mine.weight.grad, theirs.weight.grad.numpy(), np.float64, "dweight")
    np.testing.assert_array_equal(mine.weight.numpy()[[1, 4, 5]], W[[1, 4, 5]])     # not looked up: untouched


def test_embedding_max_norm_on_device(backend):
    W = _randn((6, 3), seed=13) * 3
    emb = nn.Embedding(6, 3, max_norm=1.0, _weight=backend.asarray(W))
    emb(backend.asarray(np.array([4, 1, 4])))
    got = backend.numpy(emb.weight)
    norms = np.linalg.norm(W, axis=1)
    want = W.copy()
    for i in (1, 4):
        if norms[i] > 1.0:
            want[i] = W[i] / (norms[i] + 1e-7)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.reference
def test_embedding_scale_grad_by_freq_matches_torch(backend):
    torch = pytest.importorskip("torch")
    W = _randn((7, 5), seed=14)
    ids = np.array([[0, 3, 3], [6, 0, 3]])
    dout = _randn((2, 3, 5), seed=15)
    theirs = torch.nn.Embedding(7, 5, padding_idx=6, scale_grad_by_freq=True, _weight=torch.tensor(W))
    mine = nn.Embedding(7, 5, 6, scale_grad_by_freq=True, _weight=backend.asarray(W))
    mine(backend.asarray(ids)).backward(backend.asarray(dout))
    theirs(torch.tensor(ids)).backward(torch.tensor(dout))
    _close(backend.numpy(mine.weight.grad), theirs.weight.grad.numpy(), np.float64, "dweight")


def test_embedding_weight_freeze_and_from_pretrained(backend):
    W = backend.asarray(_randn((4, 3), seed=16))
    emb = nn.Embedding(4, 3, _weight=W)
    assert emb.weight.data is W and emb.weight.requires_grad
    assert not nn.Embedding(4, 3, _weight=minigen.tensor(W), _freeze=True).weight.requires_grad
    pre = nn.Embedding.from_pretrained(minigen.tensor(W), padding_idx=1)
    assert (pre.num_embeddings, pre.embedding_dim, pre.padding_idx) == (4, 3, 1)
    assert not pre.weight.requires_grad and pre.weight.data is W
    np.testing.assert_array_equal(backend.numpy(pre(backend.asarray(np.array([2])))), backend.numpy(W)[[2]])
    assert nn.Embedding.from_pretrained(W, freeze=False).weight.requires_grad
    with pytest.raises(ValueError, match=r"Embedding: _weight must be of shape \(4, 2\), got shape \(4, 3\)"):
        nn.Embedding(4, 2, _weight=W)
    with pytest.raises(TypeError, match="Embedding: _weight must be a Tensor or an array, got list"):
        nn.Embedding(4, 3, _weight=[[0.0] * 3] * 4)
    with pytest.raises(TypeError, match=r"Embedding: _weight must be floating point \(.*\), got int64"):
        nn.Embedding(2, 2, _weight=np.zeros((2, 2), np.int64))
    with pytest.raises(ValueError, match=r"Embedding.from_pretrained: embeddings must be of shape \(num_embeddings, embedding_dim\), "
                                         r"got shape \(4,\)"):
        nn.Embedding.from_pretrained(np.zeros(4))
    with pytest.raises(NotImplementedError, match=r"Embedding: sparse must be False \(minigen has no sparse gradients\), got True"):
        nn.Embedding(4, 3, sparse=True)
    with pytest.raises(NotImplementedError, match=r"embedding: sparse must be False \(minigen has no sparse gradients\), got True"):
        F.embedding(np.array([1]), np.zeros((4, 3)), sparse=True)
    with pytest.raises(ValueError, match="Embedding: max_norm must be a non-negative number or None, got -1"):
        nn.Embedding(4, 3, max_norm=-1)
    with pytest.raises(ValueError, match="Embedding: norm_type must be a positive number, got 'l2'"):
        nn.Embedding(4, 3, norm_type="l2")


# ---------------------------------------------------------------------------- Dropout

def test_dropout_module_respects_training(backend):
    drop = nn.Dropout(0.25)
    x = backend.tensor(_randn((6, 7), seed=8))
    minigen.manual_seed(4)
    y = drop(x)
    minigen.manual_seed(4)
    np.testing.assert_array_equal(backend.numpy(y), backend.numpy(F.dropout(x, 0.25)))
    assert np.any(backend.numpy(y) == 0.0)
    state = B.get_rng_state()
    assert drop.eval()(x) is x and not drop.training
    assert B.get_rng_state() == state                          # eval draws nothing
    assert drop.train().training and drop(x) is not x
    assert repr(drop) == "Dropout(p=0.25)"


def test_dropout_accepts_torchs_inplace():
    """torch's signature ``Dropout(p, inplace)``; the result is a new tensor either way (documented)."""
    drop = nn.Dropout(0.5, True)
    x = minigen.tensor(np.ones((4, 4), np.float32))
    minigen.manual_seed(0)
    y = drop(x)
    assert drop.inplace and y is not x and np.all(x.numpy() == 1.0)


def test_dropout_inside_a_model_follows_eval():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln, self.drop = nn.LayerNorm(4), nn.Dropout(0.9)

        def forward(self, x):
            return self.drop(self.ln(x))

    block = Block().eval()
    x = minigen.tensor(_randn((3, 4)).astype(np.float32))
    np.testing.assert_array_equal(block(x).numpy(), block.ln(x).numpy())


# ---------------------------------------------------------------------------- GELU

def test_gelu_module(backend):
    x = backend.tensor(_randn((3, 4), seed=9))
    for approximate in ("none", "tanh"):
        act = nn.GELU(approximate)
        np.testing.assert_array_equal(backend.numpy(act(x)), backend.numpy(F.gelu(x, approximate)))
    assert repr(nn.GELU("tanh")) == "GELU(approximate='tanh')"
    assert list(nn.GELU().parameters()) == []


@pytest.mark.reference
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_module_matches_torch(dtype, approximate):
    torch = pytest.importorskip("torch")
    x = _randn((4, 6), seed=10, scale=3.0).astype(dtype)
    dout = _randn((4, 6), seed=11).astype(dtype)
    xm, xt = minigen.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    a, b = nn.GELU(approximate)(xm), torch.nn.GELU(approximate)(xt)
    a.backward(dout)
    b.backward(torch.tensor(dout))
    _close(a.numpy(), b.detach().numpy(), dtype, "output")
    _close(xm.grad, xt.grad.numpy(), dtype, "dinput")


# ---------------------------------------------------------------------------- dtype names

@pytest.mark.parametrize("C, O", [(0, 3), (3, 0), (0, 0)])
def test_linear_with_zero_features(backend, C, O):
    """As in torch, a Linear may have no inputs (y = b) or no outputs; forward and backward keep the shapes."""
    lin = minigen.nn.Linear(C, O, dtype="float64").to(backend.device)
    x = backend.tensor(np.zeros((2, 4, C)), requires_grad=True)
    y = lin(x)
    assert y.shape == (2, 4, O)
    np.testing.assert_array_equal(backend.numpy(y), np.broadcast_to(backend.numpy(lin.bias), (2, 4, O)))
    y.sum().backward()
    assert x.grad.shape == (2, 4, C) and lin.weight.grad.shape == (O, C)

def test_modules_accept_dtype_names(backend):
    """``dtype="float64"`` works as ``dtype=np.float64`` does, as torch's ``dtype=torch.float64``."""
    for mod in (nn.LayerNorm(4, dtype="float64", device=backend.device),
                nn.Embedding(5, 4, dtype="float64", device=backend.device)):
        assert B._dtype_name(mod.weight.dtype) == "float64"


# ---------------------------------------------------------------------------- bad input

def test_bad_input():
    with pytest.raises(ValueError, match=r"layer_norm: input must be of shape \(\*, 32\), got shape \(8, 30\)"):
        nn.LayerNorm(32)(minigen.tensor(np.zeros((8, 30), np.float32)))
    with pytest.raises(ValueError, match=r"layer_norm: input must be of shape \(\*, 2, 3\), got shape \(3,\)"):
        nn.LayerNorm((2, 3))(minigen.tensor(np.zeros(3, np.float32)))
    with pytest.raises(ValueError, match="LayerNorm: normalized_shape must be a positive int"):
        nn.LayerNorm(0)
    with pytest.raises(TypeError, match="embedding: input must be an integer array of token ids, got float32"):
        nn.Embedding(10, 4)(np.zeros(3, np.float32))
    with pytest.raises(TypeError, match="embedding: input must be an integer array of token ids, got list"):
        nn.Embedding(10, 4)([1, 2])
    with pytest.raises(IndexError, match=r"embedding: input must be ids in \[0, 10\), got id 10"):
        nn.Embedding(10, 4)(np.array([3, 10]))
    with pytest.raises(ValueError, match=r"Embedding: padding_idx must be an integer in \[-10, 9\] or None, got 10"):
        nn.Embedding(10, 4, padding_idx=10)
    with pytest.raises(ValueError, match="Embedding: embedding_dim must be a positive integer, got 0"):
        nn.Embedding(10, 0)
    with pytest.raises(ValueError, match=r"Dropout: p must be a probability in \[0, 1\], got 1.5"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="GELU: approximate must be one of 'none', 'tanh', got 'fast'"):
        nn.GELU("fast")
