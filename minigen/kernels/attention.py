"""Scaled dot-product attention, and the multi-head layout helpers: plain array kernels.

Shapes: L = query positions (target length), S = key positions (source length),
E = query/key features, Ev = value features, ``...`` = leading batch axes
(B, or B and nh), broadcast as ``torch.nn.functional.scaled_dot_product_attention``
does. For the multi-head helpers: B = batch, T = time, C = channels,
nh = number of heads, hs = head size = C / nh.

scaled_dot_product_attention
    forward   S   = q k^T * scale + M             scale = 1/sqrt(E) unless given
              P   = softmax(S)  along the keys     (the attention weights)
              out = P v
    backward  dP   = dout v^T  (+ dweights, when the weights themselves were used)
              dS   = P * (dP - sum_j(dP * P))     (the softmax backward, row by row)
              dq   = dS k * scale
              dk   = dS^T q * scale
              dv   = P^T dout

The mask M follows PyTorch's ``scaled_dot_product_attention``:

- a boolean ``attn_mask`` is True where a query *may* attend to a key; a False
  position gets score -inf, so weight exactly 0 and gradient exactly 0;
- a floating ``attn_mask`` is added to the scores (use -inf to mask);
- ``is_causal`` keeps key j for query i only when j <= i (top-left aligned,
  as torch does when L != S; ``causal_mask(..., offset)`` shifts it).

A row whose every key is masked has no softmax (0/0). Here it gives weights 0
and output 0, and sends no gradient anywhere -- as PyTorch's
``scaled_dot_product_attention`` does (``torch.nn.MultiheadAttention`` gives NaN).
The row max is replaced by 0 for such rows, so no ``-inf - -inf`` is ever formed.
"""

from __future__ import annotations

import math

from ..backend import array_namespace, cache_blocks, device_of, matrix_transpose_copy, sum_to


# ---------------------------------------------------------------------------- masks

def causal_mask(L: int, S: int, like, offset: int = 0):
    """Boolean (L, S) mask, True where key j may be seen by query i: ``j <= i + offset``.

    ``offset = 0`` is torch's top-left aligned causal mask. With a key/value cache
    holding ``past`` earlier positions, the L new queries are positions
    ``past .. past+L-1`` and ``offset = past`` lets new position t see keys 0..t.
    ``like`` is any array on the target device.
    """
    xp = array_namespace(like)
    i = xp.reshape(xp.arange(L, device=device_of(like)), (L, 1))     # (L, 1) query positions
    j = xp.reshape(xp.arange(S, device=device_of(like)), (1, S))     # (1, S) key positions
    return j <= i + offset                                           # (L, S)


# ---------------------------------------------------------------------------- attention

def _softmax_rows(xp, s):
    """Softmax of each row of the scores s (n, S), stable; overwrites s.

    A fully masked row (all -inf) has max -inf: its max is replaced by 0, so exp gives
    exp(-inf) = 0 everywhere, and its total 0 by 1, so the row stays all zeros.
    """
    m = xp.max(s, axis=-1, keepdims=True)                            # (n, 1)
    m = xp.where(m == -math.inf, 0.0, m)
    s -= m
    P = xp.exp(s)                                                    # (n, S)
    total = xp.sum(P, axis=-1, keepdims=True)                        # (n, 1); 0 for a fully masked row
    P *= 1.0 / xp.where(total == 0.0, 1.0, total)
    return P


def scaled_dot_product_attention_forward(q, k, v, attn_mask=None, is_causal=False, scale=None):
    """Attention of queries ``q`` (..., L, E) over keys ``k`` (..., S, E) and values ``v`` (..., S, Ev).

    Returns ``((out, weights), cache)`` with out (..., L, Ev) and weights (..., L, S).
    ``attn_mask`` (bool: True = attend; float: added) broadcasts to the scores' shape
    (..., L, S) without enlarging it; the caller checks shapes and dtypes.
    ``is_causal`` and a mask may both be given: a bool mask is then combined with the
    causal mask by AND.
    """
    xp = array_namespace(q)
    L, S = q.shape[-2], k.shape[-2]
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    # 1. scores: S = q k^T * scale (+ a float mask)
    kT = matrix_transpose_copy(k)                                    # (..., E, S): a stack of products is
    kT *= scale                                                      # ~3x faster against a row-major k^T
    scores = q @ kT                                                  # (..., L, S) = q k^T * scale
    allowed = causal_mask(L, S, q) if is_causal else None            # (L, S) or None
    if attn_mask is not None:
        if attn_mask.dtype == xp.bool:
            allowed = attn_mask if allowed is None else (allowed & attn_mask)
        else:
            scores += attn_mask                                      # may broadcast (L, S) over (..., L, S)
    if allowed is not None:                                          # masked: exp(-inf) = 0 exactly
        bias = xp.zeros(allowed.shape, dtype=scores.dtype, device=device_of(scores))
        bias = xp.where(allowed, bias, -math.inf)                    # the mask as an addend: 0 or -inf
        scores += bias                                               # in place, one light pass
    # 2. stable softmax over the keys, in cache-sized blocks of rows (see backend.cache_blocks)
    blocks = cache_blocks(math.prod(scores.shape[:-1]), scores, row_size=S)
    if len(blocks) == 1:
        P = _softmax_rows(xp, scores)                                # (..., L, S)
    else:
        rows = xp.reshape(scores, (-1, S))                           # (R, S), every query of every batch
        P = xp.empty_like(rows)
        for r in blocks:
            P[r, :] = _softmax_rows(xp, rows[r, :])
        P = xp.reshape(P, tuple(scores.shape))                       # (..., L, S)
    # 3. weighted sum of the values
    out = P @ v                                                      # (..., L, Ev)
    return (out, P), (q, k, v, P, scale)


def scaled_dot_product_attention_backward(douts, cache):
    """Gradients ``(dq, dk, dv)`` from ``douts = (dout, dweights)``; either may be None.

    The passes run in reverse order of the forward's. The mask gets no gradient.
    """
    dout, dweights = douts
    q, k, v, P, scale = cache
    xp = array_namespace(P)
    # 3. forward was out = P v, so dP = dout v^T and dv = P^T dout
    if dout is not None:
        dP = dout @ matrix_transpose_copy(v)                         # (..., L, S)
        dv = xp.matrix_transpose(P) @ dout                           # (..., S, Ev)
    else:
        dP = xp.zeros_like(P)
        dv = xp.zeros(v.shape, dtype=v.dtype, device=device_of(v))
    if dweights is not None:
        dP = dP + dweights                                           # the weights were also an output
    # 2. forward was P = softmax(S), so dS = P * (dP - sum(dP * P)); masked P = 0 gives dS = 0 exactly.
    #    dP is this call's own array: dS overwrites it, in cache-sized blocks of rows
    S = P.shape[-1]
    dS2, P2 = xp.reshape(dP, (-1, S)), xp.reshape(P, (-1, S))        # (R, S)
    for r in cache_blocks(dS2.shape[0], dS2, row_size=S):
        d, p = dS2[r, :], P2[r, :]
        d -= xp.expand_dims(xp.vecdot(d, p, axis=-1), axis=-1)       # dP - sum_j dP_j P_j
        d *= p
    dS = xp.reshape(dS2, tuple(P.shape))                             # (..., L, S)
    # 1. forward was S = q k^T * scale, so dq = dS k * scale and dk = dS^T q * scale
    #    (scaled after the products: dq and dk are smaller than dS when E < S)
    dq = dS @ k                                                      # (..., L, E)
    dq *= scale
    dk = xp.matrix_transpose(dS) @ q                                 # (..., S, E)
    dk *= scale
    return sum_to(dq, q.shape), sum_to(dk, k.shape), sum_to(dv, v.shape)


def scaled_dot_product_attention_composed(q, k, v, attn_mask=None, is_causal=False, scale=None):
    """The same forward written straight from the formulas, with no masking care.

    ``softmax(q k^T * scale + M) v`` with M = -inf where masked: a twin for tests
    (a fully masked row gives NaN here, as in the textbook formula). Returns (out, weights).
    """
    xp = array_namespace(q)
    L, S = q.shape[-2], k.shape[-2]
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q @ xp.matrix_transpose(k)) * scale                   # (..., L, S)
    if attn_mask is not None and attn_mask.dtype != xp.bool:
        scores = scores + attn_mask
    if attn_mask is not None and attn_mask.dtype == xp.bool:
        scores = xp.where(attn_mask, scores, -math.inf)
    if is_causal:
        scores = xp.where(causal_mask(L, S, q), scores, -math.inf)
    e = xp.exp(scores - xp.max(scores, axis=-1, keepdims=True))
    P = e / xp.sum(e, axis=-1, keepdims=True)                        # (..., L, S)
    return P @ v, P


# ---------------------------------------------------------------------------- heads

def split_heads(x, num_heads: int):
    """(B, T, C) -> (B, nh, T, hs): head h owns channels ``h*hs .. (h+1)*hs - 1``.

    This is PyTorch's layout for ``nn.MultiheadAttention``. Its backward is ``merge_heads``.
    """
    xp = array_namespace(x)
    B, T, C = x.shape
    x = xp.reshape(x, (B, T, num_heads, C // num_heads))             # (B, T, nh, hs)
    return xp.permute_dims(x, (0, 2, 1, 3))                          # (B, nh, T, hs)


def merge_heads(x):
    """(B, nh, T, hs) -> (B, T, C): the heads side by side again. Its backward is ``split_heads``."""
    xp = array_namespace(x)
    B, nh, T, hs = x.shape
    x = xp.permute_dims(x, (0, 2, 1, 3))                             # (B, T, nh, hs)
    return xp.reshape(x, (B, T, nh * hs))                            # (B, T, C)
