"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``.

``ScaledDotProductAttention`` wraps the kernel pair in ``kernels.attention`` as one
autograd Function with two outputs, the result and the attention weights (kept for
heatmaps). ``SplitHeads`` and ``MergeHeads`` wrap the head-layout helpers; each one's
backward is the other.

Multi-head attention, with B = batch, L = query positions, S = key positions,
E = embed_dim, nh = num_heads, hs = E / nh::

    q, k, v = query W_q^T + b_q,  key W_k^T + b_k,  value W_v^T + b_v     (B, L|S, E)
    heads   = softmax(q_h k_h^T / sqrt(hs) + M) v_h     for each head h    (B, nh, L, hs)
    out     = concat_h(heads) W_o^T + b_o                                  (B, L, E)

The packed ``in_proj_weight`` (3E, E) holds W_q, W_k, W_v stacked in that order
(rows 0..E-1, E..2E-1, 2E..3E-1), and ``in_proj_bias`` (3E,) likewise, as in PyTorch.
"""

from __future__ import annotations

import math

from .. import backend, rules
from ..autograd import Function, as_tensor
from ..autograd.ops import broadcast_shapes, matmul, mean, reshape, split, transpose
from ..kernels import attention as K
from .activation import apply_dropout
from .linear import Linear

_CAUSAL_OR_MASK = "False when attn_mask is given (as torch; fold the causal mask into it)"
_SELF_ATTENTION_ONLY = "None unless query, key and value are one tensor (self-attention)"


class ScaledDotProductAttention(Function):
    """Wraps ``kernels.attention``: out = softmax(q k^T * scale + M) v, and the weights P."""

    def forward(self, q, k, v, attn_mask=None, is_causal=False, scale=None):
        (out, weights), self.cache = K.scaled_dot_product_attention_forward(q, k, v, attn_mask, is_causal, scale)
        return out, weights

    def backward(self, dout, dweights):
        return K.scaled_dot_product_attention_backward((dout, dweights), self.cache)


def as_tensors(fn: str, query, key, value):
    """Tensors for query, key and value (``query is key is value`` stays true when it was), each floating,
    all of one dtype and on one device: the rules both attention functions share."""
    q = as_tensor(query)
    k = q if key is query else as_tensor(key)
    v = k if value is key else (q if value is query else as_tensor(value))
    for name, t in (("query", q), ("key", k), ("value", v)):
        rules.floating_array(fn, name, t)
    rules.same_dtype(fn, query=q, key=k, value=v)
    return q, k, v


def _mask_array(fn: str, name: str, mask, query, shapes=(), scores=None):
    """The array of a mask (a Tensor or an array; None passes): bool or the query's dtype, on the query's
    device, and of one of ``shapes`` or, given the ``scores``' shape, of a shape that broadcasts to it."""
    if mask is None:
        return None
    m, dtype = rules.array_of(mask), backend._dtype_name(query.dtype)
    ok = backend.is_array(m) and backend._dtype_name(m.dtype) in ("bool", dtype)
    rules.require(ok, fn, name, f"a bool array or one of the query's dtype {dtype}", rules.describe(m), TypeError)
    rules.same_device(fn, query=query, **{name: m})
    shape = tuple(m.shape)
    if scores is None:
        rules.require(shape in shapes, fn, name, "of shape " + " or ".join(map(str, shapes)), f"shape {shape}")
    else:
        ok = broadcast_shapes(shape, scores) == scores
        rules.require(ok, fn, name, f"of a shape that broadcasts to the scores' {scores}", f"shape {shape}")
    return m


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale=None, need_weights: bool = True):
    """Attention as ``torch.nn.functional.scaled_dot_product_attention``, returning ``(out, weights)``.

    query (..., L, E), key (..., S, E), value (..., S, Ev) -> out (..., L, Ev) and
    weights (..., L, S) (None when ``need_weights`` is False); leading axes broadcast.
    ``attn_mask`` is bool (True = may attend) or of the query's float dtype (added to the
    scores), broadcastable to (..., L, S); it gets no gradient. ``is_causal`` masks key
    j > query i (top-left aligned); as in torch, it cannot be combined with ``attn_mask``.
    ``scale`` defaults to 1/sqrt(E). With ``dropout_p`` > 0 the weights are dropped out
    before they weight the values, and the returned weights are those used.

    Unlike torch, the weights are returned as well. A query whose keys are all masked
    gets weights 0 and output 0 (torch's SDPA does the same).

    >>> import minigen, numpy as np, minigen.functional as F
    >>> q = k = v = minigen.tensor(np.eye(2))
    >>> out, w = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    >>> w.tolist()[0]
    [1.0, 0.0]
    """
    fn = "scaled_dot_product_attention"
    query, key, value = as_tensors(fn, query, key, value)
    for name, t, rows in (("query", query, "L"), ("key", key, "S"), ("value", value, "S")):
        rules.require(t.ndim >= 2, fn, name, f"of shape (..., {rows}, features)", f"shape {t.shape}")
    E, S = query.shape[-1], key.shape[-2]
    rules.require(key.shape[-1] == E, fn, "key", f"of shape (..., S, {E}) (E as the query's)", f"shape {key.shape}")
    rules.require(value.shape[-2] == S, fn, "value", f"of shape (..., {S}, Ev) (S as the key's)", f"shape {value.shape}")
    batch = broadcast_shapes(query.shape[:-2], key.shape[:-2])
    ok = batch is not None and broadcast_shapes(batch, value.shape[:-2]) is not None
    shapes = (query.shape, key.shape, value.shape)
    rules.require(ok, fn, "query, key and value", "of leading dimensions that broadcast", shapes)
    scores_shape = batch + (query.shape[-2], key.shape[-2])
    if attn_mask is not None:
        rules.require(not rules.flag(fn, "is_causal", is_causal), fn, "is_causal", _CAUSAL_OR_MASK, True)
    mask = _mask_array(fn, "attn_mask", attn_mask, query, scores=scores_shape)
    dropout_p = rules.real(fn, "dropout_p", dropout_p, 0, 1, hi_open=True)
    scale = rules.real(fn, "scale", scale, optional=True)
    out, weights = ScaledDotProductAttention.apply(query, key, value, attn_mask=mask, is_causal=bool(is_causal),
                                                   scale=scale)
    if dropout_p > 0:
        weights = apply_dropout(weights, dropout_p)
        out = matmul(weights, value)                 # the kernel's own out is then unused
    return out, (weights if need_weights else None)


# ---------------------------------------------------------------------------- heads

class SplitHeads(Function):
    """(B, T, C) -> (B, nh, T, hs); the backward merges the heads of the gradient."""

    def forward(self, x, num_heads=1):
        return K.split_heads(x, num_heads)

    def backward(self, dout):
        return K.merge_heads(dout)


def split_heads(x, num_heads: int):
    """Give each head its own axis: (B, T, C) -> (B, nh, T, hs)."""
    return SplitHeads.apply(x, num_heads=num_heads)


class MergeHeads(Function):
    """(B, nh, T, hs) -> (B, T, C); the backward splits the gradient into heads again."""

    def forward(self, x):
        self.num_heads = x.shape[1]
        return K.merge_heads(x)

    def backward(self, dout):
        return K.split_heads(dout, self.num_heads)


def merge_heads(x):
    """Put the heads side by side again: (B, nh, T, hs) -> (B, T, C)."""
    return MergeHeads.apply(x)


# ---------------------------------------------------------------------------- multi-head attention

def mha_masks(fn, query, key, value, embed_dim, num_heads, key_padding_mask, attn_mask, batch_first, kv_cache):
    """The rules of multi-head attention's inputs beyond ``as_tensors``' (at its edge; ``num_heads`` is already
    checked); returns the masks as arrays (or None)."""
    E = embed_dim
    unbatched = query.ndim == 2
    layout = (("seq",) if unbatched else ("batch", "seq") if batch_first else ("seq", "batch")) + (E,)
    for name, t in (("query", query), ("key", key), ("value", value)):
        ok = t.ndim == (query.ndim if query.ndim in (2, 3) else 3) and t.shape[-1] == E
        rules.require(ok, fn, name, f"of shape {rules.shape_text(layout)}", f"shape {t.shape}")
    b_axis, seq = (None, 0) if unbatched else (0, 1) if batch_first else (1, 0)
    B, L, S = 1 if unbatched else query.shape[b_axis], query.shape[seq], key.shape[seq]
    ok = value.shape[seq] == S and (unbatched or (key.shape[b_axis], value.shape[b_axis]) == (B, B))
    rules.require(ok, fn, "key and value", f"of query's batch size {B} and of one length", (key.shape, value.shape))
    rules.require(kv_cache is None or query is key is value, fn, "kv_cache", _SELF_ATTENTION_ONLY, "a cache")
    if kv_cache is not None:
        S = len(kv_cache) + L                                  # the new positions join the cached ones
    am = _mask_array(fn, "attn_mask", attn_mask, query, [(L, S), (B * num_heads, L, S)])
    kpm = _mask_array(fn, "key_padding_mask", key_padding_mask, query, [(S,) if unbatched else (B, S)])
    return am, kpm


def _batch_first(t, unbatched: bool, batch_first: bool):
    """The caller's layout -> (B, T, E)."""
    if unbatched:
        return reshape(t, (1,) + t.shape)                      # (1, T, E)
    return t if batch_first else transpose(t, 0, 1)            # (T, B, E) -> (B, T, E)


def _sdpa_mask(attn_mask, key_padding_mask, is_causal, B, nh, L, S, past, like):
    """MultiheadAttention's masks (bool True = may NOT attend; float = added) -> one SDPA mask.

    The result is bool with True = may attend, or float (masked places -inf), or None;
    it broadcasts to (B, nh, L, S). With a cache (``past`` > 0) the causal mask is
    offset here, so new position ``past + i`` sees keys 0 .. past + i.
    """
    xp = backend.array_namespace(like)
    parts = []
    if attn_mask is not None:
        if attn_mask.ndim == 3:
            attn_mask = xp.reshape(attn_mask, (B, nh, L, S))          # (B*nh, L, S) -> (B, nh, L, S)
        parts.append(attn_mask)                                        # (L, S) or (B, nh, L, S)
    if key_padding_mask is not None:
        parts.append(xp.reshape(key_padding_mask, (B, 1, 1, S)))      # (B, S) -> (B, 1, 1, S)
    allowed = bias = None
    for m in parts:
        if m.dtype == xp.bool:
            keep = xp.logical_not(m)                           # flip to SDPA's convention
            allowed = keep if allowed is None else (allowed & keep)
        else:
            bias = m if bias is None else bias + m
    if is_causal and past > 0:
        causal = K.causal_mask(L, S, like, offset=past)        # (L, S)
        allowed = causal if allowed is None else (allowed & causal)
    if bias is None:
        return allowed
    return bias if allowed is None else xp.where(allowed, bias, -math.inf)


def mha_forward(query, key, value, num_heads, in_proj_weight, in_proj_bias, dropout_p, out_proj_weight,
                out_proj_bias, training, key_padding_mask, need_weights, attn_mask, average_attn_weights,
                is_causal, batch_first, kv_cache):
    """Multi-head attention on checked arguments (masks as arrays); see ``multi_head_attention_forward``."""
    self_attention = query is key and key is value
    unbatched = query.ndim == 2
    # 0. work batch first: (B, L, E)
    x_q = _batch_first(query, unbatched, batch_first)
    x_k = x_q if key is query else _batch_first(key, unbatched, batch_first)
    x_v = x_k if value is key else (x_q if value is query else _batch_first(value, unbatched, batch_first))
    B, L, E = x_q.shape
    nh = num_heads
    W, b = as_tensor(in_proj_weight), as_tensor(in_proj_bias)
    # 1. projections, split into heads: q (B, nh, L, hs), k and v (B, nh, S, hs)
    if self_attention:                                         # one matmul for q, k and v
        qkv = Linear.apply(x_q, W, b)                          # (B, L, 3E)
        q, k, v = split(split_heads(qkv, 3 * nh), nh, axis=1)  # (B, 3nh, L, hs) -> 3 x (B, nh, L, hs)
    else:
        W_q, W_kv = split(W, [E, 2 * E], axis=0)               # (E, E), (2E, E)
        b_q, b_kv = split(b, [E, 2 * E], axis=0) if b is not None else (None, None)
        q = split_heads(Linear.apply(x_q, W_q, b_q), nh)       # (B, nh, L, hs)
        if x_k is x_v:                                         # one matmul for k and v
            k, v = split(split_heads(Linear.apply(x_k, W_kv, b_kv), 2 * nh), nh, axis=1)  # 2 x (B, nh, S, hs)
        else:
            W_k, W_v = split(W_kv, E, axis=0)
            b_k, b_v = split(b_kv, E, axis=0) if b is not None else (None, None)
            k = split_heads(Linear.apply(x_k, W_k, b_k), nh)   # (B, nh, S, hs)
            v = split_heads(Linear.apply(x_v, W_v, b_v), nh)   # (B, nh, S, hs)
    # 2. incremental decoding: the new keys and values join the cached ones
    past = 0
    if kv_cache is not None:
        past = len(kv_cache)
        k, v = kv_cache.append(k, v)                           # (B, nh, past + L, hs)
    S = k.shape[2]
    # 3. attention of every head at once
    mask = _sdpa_mask(attn_mask, key_padding_mask, is_causal, B, nh, L, S, past, q.data)
    out, weights = ScaledDotProductAttention.apply(q, k, v, attn_mask=mask, is_causal=bool(is_causal) and past == 0)
    if training and dropout_p > 0:
        weights = apply_dropout(weights, dropout_p)            # (B, nh, L, S)
        out = matmul(weights, v)                               # (B, nh, L, hs)
    # 4. heads side by side, then the output projection
    out = Linear.apply(merge_heads(out), out_proj_weight, out_proj_bias)  # (B, L, E)
    out = reshape(out, (L, E)) if unbatched else (out if batch_first else transpose(out, 0, 1))
    if not need_weights:
        return out, None
    if average_attn_weights:
        weights = mean(weights, axis=1)                        # (B, L, S)
    if unbatched:
        weights = reshape(weights, weights.shape[1:])          # (L, S) or (nh, L, S)
    return out, weights


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None, *,
                                 average_attn_weights=True, is_causal=False, batch_first=False, kv_cache=None):
    """Multi-head attention, as ``torch.nn.functional.multi_head_attention_forward``.

    Returns ``(attn_output, attn_weights)``. The arguments keep torch's positional order
    up to ``attn_mask``; ``bias_k``, ``bias_v`` (must be None) and ``add_zero_attn``
    (must be False) are not supported, nor are separate projection weights.

    - query (L, B, E), key and value (S, B, E); (B, L, E) etc. with ``batch_first=True``
      (an extension: torch's functional form is sequence first); unbatched (L, E) too.
    - ``attn_mask`` (L, S) or (B*nh, L, S) and ``key_padding_mask`` (B, S): a bool True
      means "may NOT attend" (the opposite of ``scaled_dot_product_attention``); a float
      mask is added to the scores.
    - ``is_causal``: key j is hidden from query i when j > i. Unlike torch, it needs no
      ``attn_mask`` (torch takes it only as a hint that ``attn_mask`` is causal; here a
      given ``attn_mask`` is combined with the causal mask).
    - weights: (B, L, S) averaged over heads, or (B, nh, L, S) when
      ``average_attn_weights`` is False; None when ``need_weights`` is False.
    - When query is key is value, q, k and v come from one matmul with the packed
      (3E, E) ``in_proj_weight``.
    - ``kv_cache`` (self-attention only): an object with ``len()`` (cached positions)
      and ``append(k, v) -> (k_all, v_all)`` over (B, nh, T, hs) tensors, such as
      ``minigen.nn.KVCache``. The new keys and values are appended and the query attends
      over all of them; masks then cover S = cached + new positions, and ``is_causal``
      lets new position t see keys 0..t.

    A query whose keys are all masked gets output ``out_proj_bias`` and weights 0
    (torch gives NaN).
    """
    fn = "multi_head_attention_forward"
    query, key, value = as_tensors(fn, query, key, value)
    if bias_k is not None or bias_v is not None or add_zero_attn:
        rules.fail(fn, "bias_k, bias_v and add_zero_attn", "None, None and False", "others", NotImplementedError)
    E = rules.positive_int(fn, "embed_dim_to_check", embed_dim_to_check)
    ok = rules.is_int(num_heads) and num_heads > 0 and E % num_heads == 0
    rules.require(ok, fn, "num_heads", f"a positive divisor of embed_dim {E}", rules.describe(num_heads))
    W, b = as_tensor(in_proj_weight), as_tensor(in_proj_bias)
    rules.floating_array(fn, "in_proj_weight", W, (3 * E, E))
    dropout_p = rules.probability(fn, "dropout_p", dropout_p)
    am, kpm = mha_masks(fn, query, key, value, E, num_heads, key_padding_mask, attn_mask, batch_first, kv_cache)
    Wo, bo = as_tensor(out_proj_weight), as_tensor(out_proj_bias)
    rules.same_dtype(fn, query=query, in_proj_weight=W, in_proj_bias=b, out_proj_weight=Wo, out_proj_bias=bo)
    return mha_forward(query, key, value, num_heads, W, b, dropout_p, Wo, bo, training, kpm, need_weights, am,
                       average_attn_weights, is_causal, batch_first, kv_cache)
