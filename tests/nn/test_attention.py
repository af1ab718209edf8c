"""MultiheadAttention and KVCache: layout, gradchecks, masks, KV-cache decoding, stability, torch parity, bad input."""

import math

import numpy as np
import pytest

import minigen
import minigen.functional as F
from minigen.nn import KVCache, MultiheadAttention

E, NH, B, L, S = 4, 2, 2, 3, 4


def _randn(shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def _mha(backend, batch_first=True, bias=True, dropout=0.0, seed=0, embed_dim=E, num_heads=NH):
    minigen.manual_seed(seed)
    m = MultiheadAttention(embed_dim, num_heads, dropout=dropout, bias=bias, batch_first=batch_first,
                           device=backend.device, dtype=np.float64)
    if bias:  # non-zero biases, so that their gradients are checked for real
        m.in_proj_bias.data = backend.asarray(_randn((3 * embed_dim,), seed + 100))
        m.out_proj.bias.data = backend.asarray(_randn((embed_dim,), seed + 101))
    return m


def _padding(B, S, n_pad):
    """key_padding_mask (B, S), True = padding: the last n_pad keys of every row but row 0."""
    m = np.zeros((B, S), bool)
    m[1:, S - n_pad:] = True
    return m


# ---------------------------------------------------------------------------- construction

def test_parameters_and_init(backend):
    minigen.manual_seed(0)
    m = MultiheadAttention(8, 2, device=backend.device)
    shapes = {k: tuple(v.shape) for k, v in m.state_dict().items()}
    assert shapes == {"in_proj_weight": (24, 8), "in_proj_bias": (24,),
                      "out_proj.weight": (8, 8), "out_proj.bias": (8,)}
    w = backend.numpy(m.in_proj_weight)
    assert w.dtype == np.float32 and np.abs(w).max() <= math.sqrt(6 / (8 + 24)) and w.std() > 0.1
    assert np.all(backend.numpy(m.in_proj_bias) == 0) and np.all(backend.numpy(m.out_proj.bias) == 0)
    assert np.abs(backend.numpy(m.out_proj.weight)).max() <= 1 / math.sqrt(8)
    assert isinstance(m.out_proj, minigen.nn.Linear) and m.head_dim == 4
    no_bias = MultiheadAttention(8, 2, bias=False)
    assert list(no_bias.state_dict()) == ["in_proj_weight", "out_proj.weight"]
    assert "embed_dim=8, num_heads=2" in repr(m)


@pytest.mark.parametrize("batch_first", [True, False])
def test_shapes(backend, batch_first):
    m = _mha(backend, batch_first)
    x = backend.tensor(_randn((B, L, E) if batch_first else (L, B, E), 1))
    kv = backend.tensor(_randn((B, S, E) if batch_first else (S, B, E), 2))
    out, w = m(x, kv, kv)
    assert out.shape == x.shape and w.shape == (B, L, S)
    _, w = m(x, kv, kv, average_attn_weights=False)
    assert w.shape == (B, NH, L, S)
    assert m(x, kv, kv, need_weights=False)[1] is None


def test_unbatched_equals_batch_of_one(backend):
    m = _mha(backend)
    x, kv = _randn((L, E), 1), _randn((S, E), 2)
    am = _randn((NH, L, S), 3)
    kpm = np.array([False, False, True, False])
    out, w = m(backend.tensor(x), backend.tensor(kv), backend.tensor(kv), attn_mask=backend.asarray(am),
               key_padding_mask=backend.asarray(kpm), average_attn_weights=False)
    ref, rw = m(backend.tensor(x[None]), backend.tensor(kv[None]), backend.tensor(kv[None]),
                attn_mask=backend.asarray(am), key_padding_mask=backend.asarray(kpm[None]), average_attn_weights=False)
    assert out.shape == (L, E) and w.shape == (NH, L, S)
    np.testing.assert_allclose(backend.numpy(out), backend.numpy(ref)[0], rtol=1e-14)
    np.testing.assert_allclose(backend.numpy(w), backend.numpy(rw)[0], rtol=1e-14)


def test_packed_projection_equals_separate(backend):
    """query is key is value takes the one-matmul path; equal copies take the per-slice path."""
    m = _mha(backend)
    x = _randn((B, L, E), 1)
    t = backend.tensor(x)
    a = m(t, t, t, is_causal=True)
    kv = backend.tensor(x)
    b = m(t, kv, kv, is_causal=True)                                      # key is value: q, then packed k/v
    c = m(t, backend.tensor(x), backend.tensor(x), is_causal=True)         # three separate projections
    for other in (b, c):
        np.testing.assert_allclose(backend.numpy(a[0]), backend.numpy(other[0]), rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(backend.numpy(a[1]), backend.numpy(other[1]), rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------------------- gradients

def _mask_kwargs(backend, kind, L=L, S=S):
    am_bool = np.random.default_rng(5).random((L, S)) < 0.3
    am_bool[:, 0] = False                                                   # no fully masked row
    return {"none": {},
            "bool": {"attn_mask": backend.asarray(am_bool)},
            "float": {"attn_mask": backend.asarray(_randn((B * NH, L, S), 6))},
            "padding": {"key_padding_mask": backend.asarray(_padding(B, S, 2))},
            "both": {"attn_mask": backend.asarray(am_bool), "key_padding_mask": backend.asarray(_padding(B, S, 1))},
            "causal": {"is_causal": True}}[kind]


@pytest.mark.parametrize("kind", ["none", "bool", "float", "padding", "both", "causal"])
def test_module_gradcheck(backend, kind):
    m = _mha(backend)
    kw = _mask_kwargs(backend, kind)
    fn = lambda query, key, value: m(query, key, value, **kw)  # noqa: E731  (out and averaged weights)
    inputs = {"query": backend.tensor(_randn((B, L, E), 1)), "key": backend.tensor(_randn((B, S, E), 2)),
              "value": backend.tensor(_randn((B, S, E), 3))}
    assert minigen.gradcheck(fn, inputs)


@pytest.mark.parametrize("path", ["self", "key-is-value", "separate"])
def test_functional_gradcheck_with_parameters(backend, path):
    """Every parameter is an input here, so its gradient is checked too; both weight outputs are checked."""
    Lq = S if path == "self" else L
    x = backend.tensor(_randn((B, Lq, E), 1))
    params = {"in_proj_weight": backend.tensor(_randn((3 * E, E), 2)),
              "in_proj_bias": backend.tensor(_randn((3 * E,), 3)),
              "out_proj_weight": backend.tensor(_randn((E, E), 4)), "out_proj_bias": backend.tensor(_randn((E,), 5))}
    kpm = backend.asarray(_padding(B, S, 1))
    kv_host = _randn((B, S, E), 6)

    def fn(in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias):
        if path == "self":
            q = k = v = x
        else:
            q, k = x, backend.tensor(kv_host)
            v = k if path == "key-is-value" else backend.tensor(kv_host * 0.5)
        args = (q, k, v, E, NH, in_proj_weight, in_proj_bias, None, None, False, 0.0, out_proj_weight, out_proj_bias)
        out, w = F.multi_head_attention_forward(*args, key_padding_mask=kpm, batch_first=True, is_causal=path == "self",
                                                average_attn_weights=False)
        return out, w

    assert minigen.gradcheck(fn, params)


def test_padded_keys_get_exactly_zero_gradient(backend):
    m = _mha(backend)
    q = backend.tensor(_randn((B, L, E), 1), requires_grad=True)
    k = backend.tensor(_randn((B, S, E), 2), requires_grad=True)
    v = backend.tensor(_randn((B, S, E), 3), requires_grad=True)
    out, w = m(q, k, v, key_padding_mask=backend.asarray(_padding(B, S, 2)))
    (out * backend.asarray(_randn(out.shape, 4))).sum().backward()
    assert np.all(backend.numpy(w)[1, :, 2:] == 0.0)
    for g in (k.grad, v.grad):
        g = backend.numpy(g)
        assert np.all(g[1, 2:] == 0.0) and np.all(g[1, :2] != 0.0) and np.all(g[0] != 0.0)


def test_dropout_is_seeded_and_off_in_eval(backend):
    m = _mha(backend, dropout=0.5)
    x = backend.tensor(_randn((B, L, E), 1))
    assert minigen.gradcheck(lambda query: m(query, query, query, average_attn_weights=False), [x])
    m.eval()
    a = m(x, x, x)
    m.dropout = 0.0
    b = m(x, x, x)
    np.testing.assert_array_equal(backend.numpy(a[0]), backend.numpy(b[0]))


def test_fully_padded_sequence_gives_bias_not_nan(backend):
    m = _mha(backend)
    kpm = np.zeros((B, S), bool)
    kpm[1] = True
    x = backend.tensor(_randn((B, L, E), 1), requires_grad=True)
    kv = backend.tensor(_randn((B, S, E), 2), requires_grad=True)
    out, w = m(x, kv, kv, key_padding_mask=backend.asarray(kpm))
    out.sum().backward()
    np.testing.assert_array_equal(backend.numpy(out)[1], np.broadcast_to(backend.numpy(m.out_proj.bias), (L, E)))
    assert np.all(backend.numpy(w)[1] == 0) and np.all(np.isfinite(backend.numpy(x.grad)))
    assert np.all(backend.numpy(x.grad)[1] == 0) and np.all(backend.numpy(kv.grad)[1] == 0)


# ---------------------------------------------------------------------------- KV cache

@pytest.mark.parametrize("batch_first", [True, False])
def test_kv_cache_decoding_equals_full_causal(backend, batch_first):
    m = _mha(backend, batch_first)
    T = 6
    x = _randn((B, T, E), 7)
    if not batch_first:
        x = x.transpose(1, 0, 2)                                          # (T, B, E)

    def steps(a, b):
        return backend.tensor(x[:, a:b] if batch_first else x[a:b])

    whole = steps(0, T)
    full, full_w = m(whole, whole, whole, is_causal=True, average_attn_weights=False)
    cache = KVCache()
    outs, weights = [], []
    with minigen.no_grad():
        for a, b in ((0, 3), (3, 4), (4, 5), (5, 6)):                      # a 3-token prefill, then one at a time
            t = steps(a, b)
            out, w = m(t, t, t, is_causal=True, kv_cache=cache, average_attn_weights=False)
            assert len(cache) == b and w.shape == (B, NH, b - a, b)
            outs.append(backend.numpy(out))
            weights.append(backend.numpy(w))
    got = np.concatenate(outs, axis=1 if batch_first else 0)
    np.testing.assert_allclose(got, backend.numpy(full), rtol=0, atol=1e-12)
    fw = backend.numpy(full_w)
    for (a, b), w in zip(((0, 3), (3, 4), (4, 5), (5, 6)), weights):
        np.testing.assert_allclose(w, fw[:, :, a:b, :b], rtol=0, atol=1e-12)
    assert cache.k.shape == (B, NH, T, E // NH)
    cache.reset()
    assert len(cache) == 0 and cache.k is None


def test_kv_cache_with_key_padding_and_unbatched(backend):
    m = _mha(backend)
    x = _randn((B, 4, E), 8)
    kpm = np.array([[True, False, False, False], [False] * 4])              # left padding on row 0
    t = backend.tensor(x)
    full, _ = m(t, t, t, is_causal=True, key_padding_mask=backend.asarray(kpm))
    cache = KVCache()
    t0, t1 = backend.tensor(x[:, :2]), backend.tensor(x[:, 2:])
    a, _ = m(t0, t0, t0, is_causal=True, kv_cache=cache, key_padding_mask=backend.asarray(kpm[:, :2]))
    b, _ = m(t1, t1, t1, is_causal=True, kv_cache=cache, key_padding_mask=backend.asarray(kpm))
    np.testing.assert_allclose(np.concatenate([backend.numpy(a), backend.numpy(b)], 1), backend.numpy(full), atol=1e-12)
    # unbatched input uses a batch of one inside
    cache = KVCache()
    for i in range(3):
        ti = backend.tensor(x[0, i:i + 1])
        out, _ = m(ti, ti, ti, is_causal=True, kv_cache=cache)
    u = backend.tensor(x[0, :3])
    ref, _ = m(u, u, u, is_causal=True)
    np.testing.assert_allclose(backend.numpy(out), backend.numpy(ref)[2:], atol=1e-12)


def test_kv_cache_errors(backend):
    m = _mha(backend)
    x, y = backend.tensor(_randn((B, 2, E), 1)), backend.tensor(_randn((B, 2, E), 2))
    with pytest.raises(ValueError, match=r"MultiheadAttention: kv_cache must be None unless query, key and value are one tensor \(self-attention\)"):
        m(x, y, y, kv_cache=KVCache())
    cache = KVCache()
    m(x, x, x, kv_cache=cache)
    with pytest.raises(ValueError, match=r"MultiheadAttention: key_padding_mask must be of shape \(2, 4\)"):
        m(x, x, x, kv_cache=cache, key_padding_mask=backend.asarray(np.zeros((B, 2), bool)))
    one = backend.tensor(_randn((1, 2, E), 3))
    with pytest.raises(ValueError, match=r"KVCache.append: k must be of shape \(2, 2, T_new, 2\), got shape "
                                         r"\(1, 2, 2, 2\)"):
        m(one, one, one, kv_cache=cache)
    assert len(cache) == 2
    k = cache.k[:, :, :1]
    with pytest.raises(ValueError, match=r"^KVCache.append: v must be of shape \(2, 2, 1, 2\), "
                                         r"got shape \(2, 2, 2, 2\)$"):
        cache.append(k, cache.v)
    with pytest.raises(TypeError, match=r"^KVCache.append: v must be floating point .*, got int64$"):
        KVCache().append(k, backend.asarray(np.zeros((2, 2, 1, 2), np.int64)))
    assert len(cache) == 2


# ---------------------------------------------------------------------------- stability at extremes

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_with_large_scores(backend, dtype):
    minigen.manual_seed(0)
    m = MultiheadAttention(E, NH, batch_first=True, device=backend.device, dtype=dtype)
    m.in_proj_weight.data = backend.asarray(np.tile(np.eye(E, dtype=dtype), (3, 1)) * 100)   # scores ~ 1e4
    x = backend.tensor((_randn((B, L, E), 1) * 1.0).astype(dtype), requires_grad=True)
    out, w = m(x, x, x)
    out.sum().backward()
    for a in (out, w, x.grad, m.in_proj_weight.grad):
        assert np.all(np.isfinite(backend.numpy(a)))
    assert np.abs(backend.numpy(m(x, x, x, need_weights=False)[0] - out)).max() == 0
    np.testing.assert_allclose(backend.numpy(w).sum(-1), 1.0, rtol=1e-5)


# ---------------------------------------------------------------------------- PyTorch parity

_KINDS = ["none", "bool", "float", "padding", "both-bool", "both-float", "causal", "causal+padding"]


def _torch_masks(torch, kind, L, S, nh, B):
    rng = np.random.default_rng(20)
    am_bool = rng.random((L, S)) < 0.3
    am_bool[:, 1] = False
    kpm = np.zeros((B, S), bool)
    kpm[1, S - 2:] = True
    causal = ~np.tril(np.ones((L, S), bool))
    am, kp, is_causal = {"none": (None, None, False), "bool": (am_bool, None, False),
                         "float": (rng.standard_normal((B * nh, L, S)), None, False), "padding": (None, kpm, False),
                         "both-bool": (am_bool, kpm, False),
                         "both-float": (rng.standard_normal((L, S)), np.where(kpm, -np.inf, 0.0), False),
                         "causal": (causal, None, True), "causal+padding": (causal, kpm, True)}[kind]
    return am, kp, is_causal


def _close_to_torch(dtype):
    """An assert_allclose against a torch tensor: 1e-5 (float32) or 1e-10 (float64) of its largest magnitude."""
    tol = 1e-5 if dtype == np.float32 else 1e-10

    def close(a, b, what):
        b = b.detach().numpy()
        np.testing.assert_allclose(a, b, rtol=0, atol=tol * max(np.abs(b).max(), 1e-30), err_msg=what)
    return close


def _grads_match_torch(close, mm, tm, mine, theirs):
    """The gradients of query, key, value and every parameter agree with torch's."""
    for name, m_in, t_in in zip(("query", "key", "value"), mine, theirs):
        close(m_in.grad, t_in.grad, f"d{name}")
    tparams = dict(tm.named_parameters())
    for name, p in mm.named_parameters():
        close(p.grad, tparams[name].grad, f"d{name}")


@pytest.mark.reference
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("kind", _KINDS)
def test_matches_torch(dtype, batch_first, kind):
    torch = pytest.importorskip("torch")
    Em, nh, Bm, Lm, Sm = 8, 2, 2, 4, 5
    self_attention = kind in ("causal", "causal+padding")
    if self_attention:
        Sm = Lm
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(Em, nh, batch_first=batch_first, dtype=torch.float64 if dtype == np.float64
                                     else torch.float32)
    with torch.no_grad():                                                  # non-zero biases
        tm.in_proj_bias.copy_(torch.randn(3 * Em))
        tm.out_proj.bias.copy_(torch.randn(Em))
    mm = MultiheadAttention(Em, nh, batch_first=batch_first, dtype=dtype)
    mm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    am, kpm, is_causal = _torch_masks(torch, kind, Lm, Sm, nh, Bm)
    if am is not None and am.dtype != bool:
        am = am.astype(dtype)
    if kpm is not None and kpm.dtype != bool:
        kpm = kpm.astype(dtype)
    layout = (lambda T: (Bm, T, Em)) if batch_first else (lambda T: (T, Bm, Em))
    host = [_randn(layout(Lm), 21).astype(dtype), _randn(layout(Sm), 22).astype(dtype),
            _randn(layout(Sm), 23).astype(dtype)]
    mine = [minigen.tensor(a, requires_grad=True) for a in host]
    theirs = [torch.tensor(a, requires_grad=True) for a in host]
    if self_attention:
        mine, theirs = [mine[0]] * 3, [theirs[0]] * 3
    tmask = {"attn_mask": None if am is None else torch.tensor(am),
             "key_padding_mask": None if kpm is None else torch.tensor(kpm)}
    mine_am = None if is_causal else am                                    # here is_causal needs no attn_mask
    out_m, w_m = mm(*mine, attn_mask=mine_am, key_padding_mask=kpm, is_causal=is_causal, average_attn_weights=False)
    out_t, w_t = tm(*theirs, **tmask, is_causal=is_causal, average_attn_weights=False)
    dout = _randn(tuple(out_t.shape), 24).astype(dtype)
    dw = _randn(tuple(w_t.shape), 25).astype(dtype)
    ((out_m * dout).sum() + (w_m * dw).sum()).backward()
    ((out_t * torch.tensor(dout)).sum() + (w_t * torch.tensor(dw)).sum()).backward()
    close = _close_to_torch(dtype)

    close(out_m.numpy(), out_t, "output")
    close(w_m.numpy(), w_t, "weights")
    _grads_match_torch(close, mm, tm, mine, theirs)


@pytest.mark.reference
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("need_weights", [True, False])
def test_matches_torch_averaged_or_no_weights(dtype, need_weights):
    """average_attn_weights=True (torch's default) and need_weights=False, gradients included."""
    torch = pytest.importorskip("torch")
    Em, nh, Bm, Lm, Sm = 8, 2, 2, 4, 5
    torch.manual_seed(1)
    tm = torch.nn.MultiheadAttention(Em, nh, batch_first=True, dtype=getattr(torch, np.dtype(dtype).name))
    with torch.no_grad():                                                  # non-zero biases
        tm.in_proj_bias.copy_(torch.randn(3 * Em))
        tm.out_proj.bias.copy_(torch.randn(Em))
    mm = MultiheadAttention(Em, nh, batch_first=True, dtype=dtype)
    mm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    kpm = _padding(Bm, Sm, 2)
    host = [_randn(s, seed).astype(dtype) for s, seed in (((Bm, Lm, Em), 31), ((Bm, Sm, Em), 32), ((Bm, Sm, Em), 33))]
    mine = [minigen.tensor(a, requires_grad=True) for a in host]
    theirs = [torch.tensor(a, requires_grad=True) for a in host]
    out_m, w_m = mm(*mine, key_padding_mask=kpm, need_weights=need_weights)
    out_t, w_t = tm(*theirs, key_padding_mask=torch.tensor(kpm), need_weights=need_weights)
    assert (w_m is None) == (w_t is None) == (not need_weights)
    dout = _randn(tuple(out_t.shape), 34).astype(dtype)
    loss_m, loss_t = (out_m * dout).sum(), (out_t * torch.tensor(dout)).sum()
    if need_weights:                                                       # weights (B, L, S), averaged over heads
        dw = _randn(tuple(w_t.shape), 35).astype(dtype)
        loss_m, loss_t = loss_m + (w_m * dw).sum(), loss_t + (w_t * torch.tensor(dw)).sum()
    loss_m.backward()
    loss_t.backward()
    close = _close_to_torch(dtype)

    close(out_m.numpy(), out_t, "output")
    if need_weights:
        assert w_m.shape == (Bm, Lm, Sm)
        close(w_m.numpy(), w_t, "weights")
    _grads_match_torch(close, mm, tm, mine, theirs)


def test_dropout_one_drops_every_weight(backend):
    """dropout=1.0 is accepted, as torch does: in training every attention weight is dropped."""
    m = _mha(backend, dropout=1.0)
    x = backend.tensor(_randn((B, L, E), 1))
    out, w = m(x, x, x)
    np.testing.assert_array_equal(backend.numpy(w), 0.0)
    np.testing.assert_allclose(backend.numpy(out), np.broadcast_to(backend.numpy(m.out_proj.bias), (B, L, E)))
    with pytest.raises(ValueError, match=r"MultiheadAttention: dropout must be a probability in \[0, 1\], got 1.5"):
        MultiheadAttention(E, NH, dropout=1.5)


@pytest.mark.reference
def test_state_dict_round_trip_with_torch():
    torch = pytest.importorskip("torch")
    mm = MultiheadAttention(8, 4, batch_first=True, dtype=np.float64)
    tm = torch.nn.MultiheadAttention(8, 4, batch_first=True, dtype=torch.float64)
    tm.load_state_dict({k: torch.tensor(minigen.to_numpy(v)) for k, v in mm.state_dict().items()})
    x = _randn((2, 3, 8), 30)
    out_m, w_m = mm(minigen.tensor(x), minigen.tensor(x), minigen.tensor(x))
    with torch.no_grad():
        out_t, w_t = tm(torch.tensor(x), torch.tensor(x), torch.tensor(x))
    np.testing.assert_allclose(out_m.numpy(), out_t.numpy(), atol=1e-12)
    np.testing.assert_allclose(w_m.numpy(), w_t.numpy(), atol=1e-12)
    # unbatched, need_weights=False
    out_m, none = mm(minigen.tensor(x[0]), minigen.tensor(x[1]), minigen.tensor(x[1]), need_weights=False)
    with torch.no_grad():
        out_t, _ = tm(torch.tensor(x[0]), torch.tensor(x[1]), torch.tensor(x[1]), need_weights=False)
    assert none is None
    np.testing.assert_allclose(out_m.numpy(), out_t.numpy(), atol=1e-12)


# ---------------------------------------------------------------------------- bad input

def test_bad_input():
    with pytest.raises(ValueError, match="MultiheadAttention: num_heads must be a divisor of embed_dim 10, got 3"):
        MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="num_heads must be a positive integer, got 0"):
        MultiheadAttention(8, 0)
    with pytest.raises(NotImplementedError, match="add_bias_kv"):
        MultiheadAttention(8, 2, add_bias_kv=True)
    m = MultiheadAttention(32, 4, batch_first=True)
    x = minigen.tensor(np.zeros((8, 16, 32), np.float32))
    with pytest.raises(ValueError, match=r"MultiheadAttention: query must be of shape \(batch, seq, 32\), got shape \(8, 16, 30\)"):
        m(minigen.tensor(np.zeros((8, 16, 30), np.float32)), x, x)
    with pytest.raises(ValueError, match=r"MultiheadAttention: query must be of shape \(seq, batch, 32\), got shape \(8, 16, 30\)"):
        MultiheadAttention(32, 4)(minigen.tensor(np.zeros((8, 16, 30), np.float32)), x, x)
    with pytest.raises(ValueError, match=r"query must be of shape \(batch, seq, 32\), got shape \(32,\)"):
        m(minigen.tensor(np.zeros(32, np.float32)), x, x)
    with pytest.raises(ValueError, match=r"key and value must be of query's batch size 8 and of one length, "
                                         r"got \(\(4, 16, 32\), \(8, 16, 32\)\)"):
        m(x, minigen.tensor(np.zeros((4, 16, 32), np.float32)), x)
    with pytest.raises(ValueError, match="key and value must be of query's batch size 8 and of one length"):
        m(x, x, minigen.tensor(np.zeros((8, 5, 32), np.float32)))
    with pytest.raises(ValueError, match=r"attn_mask must be of shape \(16, 16\) or \(32, 16, 16\), got shape \(3, 5\)"):
        m(x, x, x, attn_mask=np.zeros((3, 5), bool))
    with pytest.raises(ValueError, match=r"key_padding_mask must be of shape \(8, 16\), "
                                         r"got shape \(16, 8\)"):
        m(x, x, x, key_padding_mask=np.zeros((16, 8), bool))
    with pytest.raises(TypeError, match="attn_mask must be a bool array or one of the query's dtype float32, got .*int64"):
        m(x, x, x, attn_mask=np.zeros((16, 16), np.int64))
    with pytest.raises(TypeError, match="key_padding_mask must be a bool array or one of the query's dtype float32, got .*float64"):
        m(x, x, x, key_padding_mask=np.zeros((8, 16)))
    with pytest.raises(TypeError, match="query must be of in_proj_weight's dtype float32 .*, got float64"):
        x64 = minigen.tensor(np.zeros((8, 16, 32)))
        m(x64, x64, x64)
    w = minigen.tensor(np.zeros((96, 32), np.float32))
    with pytest.raises(NotImplementedError, match=r"bias_k, bias_v and add_zero_attn must be None, None and False, got others"):
        F.multi_head_attention_forward(x, x, x, 32, 4, w, None, None, None, True, 0.0, w[:32], None)
    with pytest.raises(ValueError, match="multi_head_attention_forward: num_heads must be a positive divisor of embed_dim 32, got 5"):
        F.multi_head_attention_forward(x, x, x, 32, 5, w, None, None, None, False, 0.0, w[:32], None)
    fn = "^multi_head_attention_forward: "
    with pytest.raises(ValueError, match=fn + "embed_dim_to_check must be a positive integer, got 0$"):
        F.multi_head_attention_forward(x, x, x, 0, 4, w, None, None, None, False, 0.0, w[:32], None)
    with pytest.raises(ValueError, match=fn + r"in_proj_weight must be of shape \(96, 32\), got shape \(64, 32\)$"):
        F.multi_head_attention_forward(x, x, x, 32, 4, w[:64], None, None, None, False, 0.0, w[:32], None)
    with pytest.raises(ValueError, match=fn + r"dropout_p must be a probability in \[0, 1\], got 1.5$"):
        F.multi_head_attention_forward(x, x, x, 32, 4, w, None, None, None, False, 1.5, w[:32], None)
    with pytest.raises(TypeError, match=fn + r"out_proj_weight must be of query's dtype float32 \(convert explicitly\), "
                                             r"got float64$"):
        F.multi_head_attention_forward(x, x, x, 32, 4, w, None, None, None, False, 0.0, w[:32].double(), None)
