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
import numbers

from .. import backend
from ..autograd import Function, Tensor
from ..autograd.ops import broadcast_shapes, matmul, mean, reshape, split, transpose
from .activation import dropout
from ..kernels import attention as K
from ._checks import as_tensor, check_same_device, check_same_dtype, dtype_name
from .linear import linear


class ScaledDotProductAttention(Function):
    """Wraps ``kernels.attention``: out = softmax(q k^T * scale + M) v, and the weights P."""

    def forward(self, q, k, v, attn_mask=None, is_causal=False, scale=None):
        (out, weights), self.cache = K.scaled_dot_product_attention_forward(q, k, v, attn_mask, is_causal, scale)
        return out, weights

    def backward(self, dout, dweights):
        return K.scaled_dot_product_attention_backward((dout, dweights), self.cache)


def _mask_array(fn: str, name: str, mask, query):
    """The array of a mask (a Tensor or an array), checked to be bool or the query's dtype, on its device."""
    m = mask.data if isinstance(mask, Tensor) else mask
    if not backend.is_array(m):
        raise TypeError(f"{fn}: {name} must be an array or a Tensor, got {type(mask).__name__}")
    check_same_device(fn, query=query, **{name: m})
    dtype = query.dtype
    if dtype_name(m.dtype) != "bool" and m.dtype != dtype:
        raise TypeError(f"{fn}: {name} must be bool or the query's dtype {dtype_name(dtype)}, "
                        f"got {dtype_name(m.dtype)}")
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
    query, key, value = as_tensor(query), as_tensor(key), as_tensor(value)
    for name, t, rows in (("query", query, "L"), ("key", key, "S"), ("value", value, "S")):
        if not isinstance(t, Tensor) or t.ndim < 2:
            raise ValueError(f"{fn}: {name} must have shape (..., {rows}, features), got "
                             f"{getattr(t, 'shape', type(t).__name__)}")
    check_same_dtype(fn, query=query, key=key, value=value)
    if not backend.is_floating(query.dtype):
        raise TypeError(f"{fn}: query, key and value must be floating point, got {dtype_name(query.dtype)}")
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(f"{fn}: query of shape {query.shape} and key of shape {key.shape} must have the same "
                         "last dimension E")
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(f"{fn}: key of shape {key.shape} and value of shape {value.shape} must have the same "
                         "number of positions S (axis -2)")
    batch = broadcast_shapes(query.shape[:-2], key.shape[:-2])
    if batch is None or broadcast_shapes(batch, value.shape[:-2]) is None:
        raise ValueError(f"{fn}: the leading dimensions of query {query.shape}, key {key.shape} and value "
                         f"{value.shape} cannot be broadcast together")
    scores_shape = batch + (query.shape[-2], key.shape[-2])
    mask = None
    if attn_mask is not None:
        if is_causal:
            raise ValueError(f"{fn}: give attn_mask or is_causal=True, not both (as torch); "
                             "fold the causal mask into attn_mask instead")
        mask = _mask_array(fn, "attn_mask", attn_mask, query)
        if broadcast_shapes(tuple(mask.shape), scores_shape) != scores_shape:
            raise ValueError(f"{fn}: attn_mask of shape {tuple(mask.shape)} does not broadcast to the attention "
                             f"scores' shape {scores_shape}")
    if not isinstance(dropout_p, numbers.Real) or not 0 <= dropout_p < 1:
        raise ValueError(f"{fn}: dropout_p must be in [0, 1), got {dropout_p!r}")
    if scale is not None and (not isinstance(scale, numbers.Real) or isinstance(scale, bool)):
        raise TypeError(f"{fn}: scale must be a number or None, got {type(scale).__name__}")
    out, weights = ScaledDotProductAttention.apply(query, key, value, attn_mask=mask, is_causal=bool(is_causal),
                                                   scale=None if scale is None else float(scale))
    if dropout_p > 0:
        weights = dropout(weights, dropout_p)
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

def _layout(batch_first: bool, E: int, unbatched: bool) -> str:
    if unbatched:
        return f"(seq, {E})"
    return f"(batch, seq, {E})" if batch_first else f"(seq, batch, {E})"


def check_mha_args(fn, query, key, value, embed_dim, num_heads, key_padding_mask, attn_mask, batch_first,
                   kv_cache, dropout_p):
    """Check multi-head attention's inputs; return the masks as arrays (bool or the query's dtype)."""
    E = embed_dim
    if not isinstance(num_heads, int) or num_heads <= 0 or E % num_heads:
        raise ValueError(f"{fn}: embed_dim {E} must be divisible by num_heads, got num_heads={num_heads!r}")
    if not isinstance(dropout_p, numbers.Real) or isinstance(dropout_p, bool) or not 0 <= dropout_p <= 1:
        raise ValueError(f"{fn}: dropout must be in [0, 1], got {dropout_p!r}")
    check_same_device(fn, query=query, key=key, value=value)
    if query.ndim not in (2, 3) or query.shape[-1] != E:
        batched = _layout(batch_first, E, False)
        want = batched if query.ndim == 3 else (_layout(batch_first, E, True) if query.ndim == 2
                                                else f"{batched} or unbatched {_layout(batch_first, E, True)}")
        raise ValueError(f"{fn} expected query {want}, got {query.shape}")
    unbatched = query.ndim == 2
    b_axis, s_axis = (0, 1) if batch_first else (1, 0)
    B = 1 if unbatched else query.shape[b_axis]
    L = query.shape[-2] if unbatched else query.shape[s_axis]
    for name, t in (("key", key), ("value", value)):
        if t.ndim != query.ndim or t.shape[-1] != E or (not unbatched and t.shape[b_axis] != B):
            same_batch = "" if unbatched else f" with the batch size {B} of query"
            raise ValueError(f"{fn} expected {name} {_layout(batch_first, E, unbatched)}{same_batch}, got {t.shape}")
    S = key.shape[-2] if unbatched else key.shape[s_axis]
    if (value.shape[-2] if unbatched else value.shape[s_axis]) != S:
        raise ValueError(f"{fn}: key and value must have the same sequence length, got key {key.shape} and "
                         f"value {value.shape}")
    if kv_cache is not None:
        if not (query is key and key is value):
            raise ValueError(f"{fn}: kv_cache works for self-attention only: pass the same tensor as "
                             "query, key and value")
        S = len(kv_cache) + L                                  # the new positions join the cached ones
    am = kpm = None
    if attn_mask is not None:
        am = _mask_array(fn, "attn_mask", attn_mask, query)
        if tuple(am.shape) not in ((L, S), (B * num_heads, L, S)):
            heads = "num_heads" if unbatched else "batch * num_heads"
            raise ValueError(f"{fn}: attn_mask must have shape ({L}, {S}) or ({B * num_heads}, {L}, {S}) "
                             f"([{heads},] query positions, key positions), got {tuple(am.shape)}")
    if key_padding_mask is not None:
        kpm = _mask_array(fn, "key_padding_mask", key_padding_mask, query)
        want = (S,) if unbatched else (B, S)
        if tuple(kpm.shape) != want:
            raise ValueError(f"{fn}: key_padding_mask must have shape {want} "
                             f"({'' if unbatched else 'batch, '}key positions), got {tuple(kpm.shape)}")
    return am, kpm


def as_tensors(query, key, value):
    """Tensors for query, key and value, keeping ``query is key is value`` true when it was."""
    q = as_tensor(query)
    k = q if key is query else as_tensor(key)
    v = k if value is key else (q if value is query else as_tensor(value))
    return q, k, v


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
        qkv = linear(x_q, W, b)                                # (B, L, 3E)
        q, k, v = split(split_heads(qkv, 3 * nh), nh, axis=1)  # (B, 3nh, L, hs) -> 3 x (B, nh, L, hs)
    else:
        W_q, W_kv = split(W, [E, 2 * E], axis=0)               # (E, E), (2E, E)
        b_q, b_kv = split(b, [E, 2 * E], axis=0) if b is not None else (None, None)
        q = split_heads(linear(x_q, W_q, b_q), nh)             # (B, nh, L, hs)
        if x_k is x_v:                                         # one matmul for k and v
            k, v = split(split_heads(linear(x_k, W_kv, b_kv), 2 * nh), nh, axis=1)  # 2 x (B, nh, S, hs)
        else:
            W_k, W_v = split(W_kv, E, axis=0)
            b_k, b_v = split(b_kv, E, axis=0) if b is not None else (None, None)
            k = split_heads(linear(x_k, W_k, b_k), nh)         # (B, nh, S, hs)
            v = split_heads(linear(x_v, W_v, b_v), nh)         # (B, nh, S, hs)
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
        weights = dropout(weights, dropout_p)                  # (B, nh, L, S)
        out = matmul(weights, v)                               # (B, nh, L, hs)
    # 4. heads side by side, then the output projection
    out = linear(merge_heads(out), out_proj_weight, out_proj_bias)  # (B, L, E)
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
    query, key, value = as_tensors(query, key, value)
    if bias_k is not None or bias_v is not None or add_zero_attn:
        raise NotImplementedError(f"{fn}: bias_k, bias_v and add_zero_attn are not supported; "
                                  "pass None, None and False")
    if query.ndim >= 1 and query.shape[-1] != embed_dim_to_check:
        raise ValueError(f"{fn}: was expecting embedding dimension of {embed_dim_to_check}, "
                         f"but got {query.shape[-1]}")
    W = as_tensor(in_proj_weight)
    if tuple(W.shape) != (3 * embed_dim_to_check, embed_dim_to_check):
        raise ValueError(f"{fn}: in_proj_weight must have shape ({3 * embed_dim_to_check}, {embed_dim_to_check}), "
                         f"got {W.shape}")
    am, kpm = check_mha_args(fn, query, key, value, embed_dim_to_check, num_heads, key_padding_mask, attn_mask,
                             batch_first, kv_cache, dropout_p)
    check_same_dtype(fn, query=query, key=key, value=value, in_proj_weight=W, in_proj_bias=as_tensor(in_proj_bias),
                     out_proj_weight=as_tensor(out_proj_weight), out_proj_bias=as_tensor(out_proj_bias))
    return mha_forward(query, key, value, num_heads, W, in_proj_bias, dropout_p, out_proj_weight, out_proj_bias,
                       training, kpm, need_weights, am, average_attn_weights, is_causal, batch_first, kv_cache)
