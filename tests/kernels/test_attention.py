"""Scaled dot-product attention: reference values, gradchecks (out and weights), masks, stability,
torch parity, bad input."""

import math

import numpy as np
import pytest

import minigen
import minigen.functional as F
from minigen.functional import attention as FA
from minigen.kernels import attention as K


def _randn(shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def _qkv(L=3, S=4, E=4, Ev=3, lead=(2,), seed=0):
    return (_randn(lead + (L, E), seed), _randn(lead + (S, E), seed + 1), _randn(lead + (S, Ev), seed + 2))


def _key_padding(S, n_pad):
    """A bool SDPA mask (1, S): True for the first S - n_pad keys."""
    return np.arange(S)[None, :] < S - n_pad


# ---------------------------------------------------------------------------- reference expectations

def test_reference_values(backend):
    # E = 1, scale 1: scores [0, ln 3] -> weights [1/4, 3/4] -> out = 4/4 + 3*8/4 = 7
    q, k, v = np.array([[1.0]]), np.array([[0.0], [math.log(3.0)]]), np.array([[4.0], [8.0]])
    out, w = F.scaled_dot_product_attention(backend.tensor(q), backend.tensor(k), backend.tensor(v), scale=1.0)
    np.testing.assert_allclose(backend.numpy(w), [[0.25, 0.75]], rtol=1e-15)
    np.testing.assert_allclose(backend.numpy(out), [[7.0]], rtol=1e-15)
    # the default scale is 1/sqrt(E): E = 4 halves the scores
    q4, k4 = np.full((1, 4), 1.0), np.array([[0.0] * 4, [math.log(9.0) / 2] * 4])
    _, w = F.scaled_dot_product_attention(backend.tensor(q4), backend.tensor(k4), backend.tensor(v))
    np.testing.assert_allclose(backend.numpy(w), [[0.1, 0.9]], rtol=1e-14)


def test_matches_composed_twin(backend):
    q, k, v = _qkv(L=4, S=5)
    mask = np.random.default_rng(3).random((4, 5)) > 0.4
    mask[:, 0] = True                                                 # no fully masked rows
    fmask = _randn((2, 4, 5), seed=4)
    for kw in ({}, {"attn_mask": backend.asarray(mask)}, {"attn_mask": backend.asarray(fmask)}, {"is_causal": True},
               {"attn_mask": backend.asarray(mask), "is_causal": True}, {"scale": 0.3}):
        arrays = [backend.asarray(a) for a in (q, k, v)]
        (out, w), _ = K.scaled_dot_product_attention_forward(*arrays, **kw)
        out2, w2 = K.scaled_dot_product_attention_composed(*arrays, **kw)
        np.testing.assert_allclose(backend.numpy(out), backend.numpy(out2), rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(backend.numpy(w), backend.numpy(w2), rtol=1e-13, atol=1e-15)


def test_causal_mask_is_top_left_and_offsets(backend):
    like = backend.asarray(np.zeros(1))
    np.testing.assert_array_equal(backend.numpy(K.causal_mask(2, 3, like)), [[1, 0, 0], [1, 1, 0]])
    np.testing.assert_array_equal(backend.numpy(K.causal_mask(2, 3, like, offset=1)), [[1, 1, 0], [1, 1, 1]])


# ---------------------------------------------------------------------------- gradients

def _kernel_cases():
    rng = np.random.default_rng(7)
    bool_mask = rng.random((3, 4)) > 0.3
    bool_mask[:, 1] = True
    float_mask = rng.standard_normal((2, 3, 4))
    float_mask[0, 1, 2] = -np.inf
    return {
        "none": {},
        "bool": {"attn_mask": bool_mask},
        "float": {"attn_mask": float_mask},
        "causal": {"is_causal": True},
        "causal+bool": {"is_causal": True, "attn_mask": bool_mask},
        "padding": {"attn_mask": _key_padding(4, 2)},
        "fully-masked-row": {"attn_mask": np.array([[True] * 4, [False] * 4, [True, False, True, False]])},
        "scale": {"scale": 0.7},
    }


@pytest.mark.parametrize("case", list(_kernel_cases()))
def test_kernel_gradcheck(backend, case):
    kw = {k: backend.asarray(v) if isinstance(v, np.ndarray) else v for k, v in _kernel_cases()[case].items()}
    q, k, v = _qkv()
    inputs = {"q": backend.asarray(q), "k": backend.asarray(k), "v": backend.asarray(v)}
    fwd = lambda q, k, v: K.scaled_dot_product_attention_forward(q, k, v, **kw)  # noqa: E731
    assert minigen.gradcheck_kernel(fwd, K.scaled_dot_product_attention_backward, inputs)


def test_kernel_gradcheck_broadcast_batch(backend):
    """q (2, 1, L, E), k (1, 3, S, E), v (3, S, Ev): the gradients sum over the broadcast axes."""
    inputs = {"q": backend.asarray(_randn((2, 1, 3, 4), 1)), "k": backend.asarray(_randn((1, 3, 4, 4), 2)),
              "v": backend.asarray(_randn((3, 4, 2), 3))}
    mask = backend.asarray(_key_padding(4, 1))
    fwd = lambda q, k, v: K.scaled_dot_product_attention_forward(q, k, v, attn_mask=mask)  # noqa: E731
    assert minigen.gradcheck_kernel(fwd, K.scaled_dot_product_attention_backward, inputs)


def test_backward_with_one_output_unused(backend):
    q, k, v = (backend.asarray(a) for a in _qkv())
    (out, w), cache = K.scaled_dot_product_attention_forward(q, k, v, is_causal=True)
    xp = minigen.backend.array_namespace(q)
    dout, dw = backend.asarray(_randn(out.shape, 5)), backend.asarray(_randn(w.shape, 6))
    for douts, full in (((dout, None), (dout, xp.zeros_like(w))), ((None, dw), (xp.zeros_like(out), dw))):
        for a, b in zip(K.scaled_dot_product_attention_backward(douts, cache),
                        K.scaled_dot_product_attention_backward(full, cache)):
            np.testing.assert_allclose(backend.numpy(a), backend.numpy(b), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("kind", ["bool", "float", "causal", "dropout"])
def test_functional_gradcheck(backend, kind):
    q, k, v = _qkv(L=3, S=4)
    kw = {"bool": {"attn_mask": backend.asarray(_key_padding(4, 1))},
          "float": {"attn_mask": backend.asarray(_randn((3, 4), 8))},
          "causal": {"is_causal": True},
          "dropout": {"dropout_p": 0.3, "is_causal": True}}[kind]
    fn = lambda query, key, value: F.scaled_dot_product_attention(query, key, value, **kw)  # noqa: E731
    assert minigen.gradcheck(fn, {"query": backend.tensor(q), "key": backend.tensor(k), "value": backend.tensor(v)})


def test_need_weights_false(backend):
    q, k, v = (backend.tensor(a) for a in _qkv())
    out, w = F.scaled_dot_product_attention(q, k, v, need_weights=False)
    assert w is None and out.shape == (2, 3, 3)


# ---------------------------------------------------------------------------- masks

def test_masked_keys_get_exactly_zero_weight_and_gradient(backend):
    q, k, v = (backend.tensor(a, requires_grad=True) for a in _qkv(S=5))
    out, w = F.scaled_dot_product_attention(q, k, v, attn_mask=backend.asarray(_key_padding(5, 2)))
    (out * backend.asarray(_randn(out.shape, 9))).sum().backward(retain_graph=False)
    assert np.all(backend.numpy(w)[..., 3:] == 0.0)
    for g in (k.grad, v.grad):
        g = backend.numpy(g)
        assert np.all(g[:, 3:] == 0.0) and np.all(g[:, :3] != 0.0)


def test_fully_masked_row_gives_zeros_and_leaves_other_rows_alone(backend):
    """A query that may see no key: weights 0, output 0, no gradient, no NaN anywhere."""
    q, k, v = _qkv(L=3, S=4)
    mask = np.ones((3, 4), bool)
    mask[1] = False
    tq, tk, tv = (backend.tensor(a, requires_grad=True) for a in (q, k, v))
    out, w = F.scaled_dot_product_attention(tq, tk, tv, attn_mask=backend.asarray(mask))
    dout = _randn(out.shape, 10)
    (out * backend.asarray(dout)).sum().backward()
    assert np.all(backend.numpy(w)[:, 1] == 0.0) and np.all(backend.numpy(out)[:, 1] == 0.0)
    assert np.all(backend.numpy(tq.grad)[:, 1] == 0.0)
    for g in (tq.grad, tk.grad, tv.grad):
        assert np.all(np.isfinite(backend.numpy(g)))
    # the other rows are exactly what attention without row 1 gives
    keep = [0, 2]
    rq, rk, rv = (backend.tensor(a, requires_grad=True) for a in (q[:, keep], k, v))
    ref, _ = F.scaled_dot_product_attention(rq, rk, rv)
    (ref * backend.asarray(dout[:, keep])).sum().backward()
    np.testing.assert_allclose(backend.numpy(out)[:, keep], backend.numpy(ref), rtol=1e-14)
    np.testing.assert_allclose(backend.numpy(tk.grad), backend.numpy(rk.grad), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(backend.numpy(tv.grad), backend.numpy(rv.grad), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("mask", ["causal", "fully_masked_row", "float"])
def test_softmax_in_cache_blocks_equals_one_pass(backend, mask, monkeypatch):
    """Blocks of 3 rows (a large input's path, forced small) give exactly the one-block results."""
    q, k, v = _qkv(L=5, S=4, lead=(2, 3), seed=20)
    dout, dweights = _randn((2, 3, 5, 3), 21), _randn((2, 3, 5, 4), 22)
    kw = {"is_causal": True}
    if mask == "fully_masked_row":
        m = np.ones((5, 4), bool)
        m[2] = False
        kw = {"attn_mask": backend.asarray(m)}
    elif mask == "float":
        kw = {"attn_mask": backend.asarray(_randn((5, 4), 23))}

    def run():
        (out, w), cache = K.scaled_dot_product_attention_forward(*(backend.asarray(a) for a in (q, k, v)), **kw)
        grads = K.scaled_dot_product_attention_backward((backend.asarray(dout), backend.asarray(dweights)), cache)
        return [out, w, *grads]
    one = run()
    monkeypatch.setattr(minigen.backend, "CACHE_BLOCK", 12)                   # 3 rows of 4 keys per block
    assert len(minigen.backend.cache_blocks(30, backend.asarray(q), row_size=4)) == (1 if backend.name == "cupy" else 10)
    for got, want in zip(run(), one):
        assert got.shape == want.shape
        np.testing.assert_array_equal(backend.numpy(got), backend.numpy(want))


def test_causal_equals_explicit_bool_mask(backend):
    q, k, v = (backend.tensor(a) for a in _qkv(L=4, S=6))
    tril = np.tril(np.ones((4, 6), bool))
    a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    b = F.scaled_dot_product_attention(q, k, v, attn_mask=backend.asarray(tril))
    c = F.scaled_dot_product_attention(q, k, v, attn_mask=backend.asarray(np.where(tril, 0.0, -np.inf)))
    for x, y in ((a, b), (a, c)):
        np.testing.assert_array_equal(backend.numpy(x[0]), backend.numpy(y[0]))
        np.testing.assert_array_equal(backend.numpy(x[1]), backend.numpy(y[1]))


# ---------------------------------------------------------------------------- heads

def test_split_and_merge_heads(backend):
    x = _randn((2, 3, 6), 11)                                          # (B, T, C), nh = 2, hs = 3
    heads = backend.numpy(K.split_heads(backend.asarray(x), 2))
    np.testing.assert_array_equal(heads, x.reshape(2, 3, 2, 3).transpose(0, 2, 1, 3))
    np.testing.assert_array_equal(heads[:, 1], x[:, :, 3:])            # head 1 owns channels 3..5
    np.testing.assert_array_equal(backend.numpy(K.merge_heads(backend.asarray(heads))), x)
    assert minigen.gradcheck(lambda t: FA.merge_heads(FA.split_heads(t, 2) * 2.0), [backend.tensor(x)])


# ---------------------------------------------------------------------------- stability at extremes

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_with_scores_around_1e4(backend, dtype):
    # scale 1, scores q.k = [1e4, 1e4 - 5, -1e4]: the weights are softmax([0, -5, -2e4])
    q = np.array([[100.0, 0.0]], dtype)
    k = np.array([[100.0, 0.0], [99.95, 0.0], [-100.0, 0.0]], dtype)
    v = np.array([[1.0], [2.0], [3.0]], dtype)
    tq, tk, tv = (backend.tensor(a, requires_grad=True) for a in (q, k, v))
    out, w = F.scaled_dot_product_attention(tq, tk, tv, scale=1.0)
    out.sum().backward()
    p = 1 / (1 + math.exp(-5))
    np.testing.assert_allclose(backend.numpy(w), [[p, 1 - p, 0.0]], rtol=1e-4 if dtype == np.float32 else 1e-9)
    np.testing.assert_allclose(backend.numpy(out), [[p + 2 * (1 - p)]], rtol=1e-5)
    for g in (tq.grad, tk.grad, tv.grad):
        assert np.all(np.isfinite(backend.numpy(g)))


# ---------------------------------------------------------------------------- PyTorch parity

def _torch_weights(torch, q, k, mask, is_causal, scale):
    s = q @ k.transpose(-2, -1) * scale
    if mask is not None and mask.dtype == torch.bool:
        s = s.masked_fill(~mask, float("-inf"))
    elif mask is not None:
        s = s + mask
    if is_causal:
        s = s.masked_fill(~torch.ones(s.shape[-2:], dtype=torch.bool).tril(), float("-inf"))
    return torch.softmax(s, -1)


@pytest.mark.reference
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["none", "bool", "float", "causal", "fully-masked-row", "broadcast"])
def test_sdpa_matches_torch(dtype, kind):
    torch = pytest.importorskip("torch")
    q, k, v = (a.astype(dtype) for a in _qkv(L=4, S=5, E=8, Ev=6, lead=(2, 3), seed=12))
    mask, is_causal, scale = None, False, None
    if kind == "bool":
        mask = np.random.default_rng(13).random((4, 5)) > 0.3
        mask[:, 2] = True
    elif kind == "float":
        mask = _randn((3, 4, 5), 14).astype(dtype)
    elif kind == "causal":
        is_causal, scale = True, 0.5
    elif kind == "fully-masked-row":
        mask = np.ones((2, 1, 4, 5), bool)
        mask[1, :, 2] = False
    elif kind == "broadcast":
        k, v = k[:1], v[:, :1]                                       # (1, 3, S, E), (2, 1, S, Ev)
    mine = [minigen.tensor(a, requires_grad=True) for a in (q, k, v)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    tmask = None if mask is None else torch.tensor(mask)
    a, w = F.scaled_dot_product_attention(*mine, attn_mask=mask, is_causal=is_causal, scale=scale)
    b = torch.nn.functional.scaled_dot_product_attention(*theirs, attn_mask=tmask, is_causal=is_causal, scale=scale)
    dout = _randn(tuple(b.shape), 15).astype(dtype)
    a.backward(dout)
    b.backward(torch.tensor(dout))
    tol = 1e-5 if dtype == np.float32 else 1e-10

    def close(x, y):
        np.testing.assert_allclose(x, y, rtol=0, atol=tol * max(np.abs(y).max(), 1e-30))

    close(a.numpy(), b.detach().numpy())
    for m, t in zip(mine, theirs):
        close(m.grad, t.grad.numpy())
    with torch.no_grad():
        tw = _torch_weights(torch, *theirs[:2], tmask, is_causal, scale or 1 / math.sqrt(8))
    if kind == "fully-masked-row":
        tw = torch.nan_to_num(tw)                                     # torch's softmax of an all -inf row is NaN
    close(w.numpy(), tw.numpy())


# ---------------------------------------------------------------------------- bad input

def test_bad_input():
    q, k, v = (minigen.tensor(a) for a in _qkv(L=4, S=6, E=8, Ev=8, lead=(2,)))
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention: attn_mask must be of a shape that "
                                         r"broadcasts to the scores' \(2, 4, 6\), got shape \(3, 5\)"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 5), bool))
    with pytest.raises(TypeError, match="attn_mask must be a bool array or one of the query's dtype float64, got .*int64"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 6), np.int64))
    with pytest.raises(TypeError, match="attn_mask must be a bool array or one of the query's dtype float64, got .*float32"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 6), np.float32))
    with pytest.raises(ValueError, match="is_causal must be False when attn_mask is given"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 6), bool), is_causal=True)
    with pytest.raises(ValueError, match=r"key must be of shape \(\.\.\., S, 8\) \(E as the query's\), got shape "
                                         r"\(2, 6, 7\)"):
        F.scaled_dot_product_attention(q, minigen.tensor(np.zeros((2, 6, 7))), v)
    with pytest.raises(ValueError, match=r"value must be of shape \(\.\.\., 6, Ev\) \(S as the key's\), got shape "
                                         r"\(2, 5, 8\)"):
        F.scaled_dot_product_attention(q, k, minigen.tensor(np.zeros((2, 5, 8))))
    with pytest.raises(ValueError, match=r"query must be of shape \(\.\.\., L, features\), got shape \(8,\)"):
        F.scaled_dot_product_attention(minigen.tensor(np.zeros(8)), k, v)
    with pytest.raises(ValueError, match="query, key and value must be of leading dimensions that broadcast"):
        F.scaled_dot_product_attention(q, minigen.tensor(np.zeros((3, 6, 8))), v)
    with pytest.raises(TypeError, match="key must be of query's dtype float64 .*, got float32"):
        F.scaled_dot_product_attention(q, minigen.tensor(np.zeros((2, 6, 8), np.float32)), v)
    with pytest.raises(ValueError, match=r"dropout_p must be a number in \[0, 1\), got 1.5"):
        F.scaled_dot_product_attention(q, k, v, dropout_p=1.5)
    for scale in ("0.1", float("inf"), True):
        with pytest.raises(ValueError, match=rf"^scaled_dot_product_attention: scale must be a finite number or None, "
                                             rf"got {scale!r}$"):
            F.scaled_dot_product_attention(q, k, v, scale=scale)
    with pytest.raises(TypeError, match=r"^scaled_dot_product_attention: query must be floating point \(minigen never "
                                        r"upcasts silently\), got int64$"):
        F.scaled_dot_product_attention(minigen.tensor(np.zeros((2, 4, 8), np.int64)), k, v)
