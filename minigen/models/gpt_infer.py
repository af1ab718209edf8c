"""GPT's forward pass for generation: plain arrays, no graph, a key/value cache.

Generating one token costs a few dozen tiny products, so its price is Python and
NumPy call overhead, not arithmetic. This path keeps the calls few:

- the weights are gathered once per ``generate`` call into ``InferenceWeights``, a flat
  tuple per layer, with every matrix stored transposed and contiguous: ``x @ W_t``
  reads ``W_t`` row by row, which for one row of ``x`` (a matrix-vector product) is
  about 1.5x faster than reading ``W.T``'s strided view;
- the query, key and value heads come out of the fused projection with one reshape
  and one transpose: ``(B, T, 3E) -> (B, T, 3, nh, hs) -> (3, B, nh, T, hs)``;
- new keys and values are written in place into preallocated (B, nh, block_size, hs)
  buffers, so the cache is never copied.

The maths is the model's (see ``gpt.py``); tests check this path against
``GPT.forward``. Dropout is off: generation always runs in evaluation mode.
"""

from __future__ import annotations

import math

from .. import backend
from ..kernels import activation as KG

__all__ = ["InferenceWeights", "infer"]


def _contiguous_t(W):
    """W.T as a new C-contiguous array (reshaping a transposed view to 1-D copies it in row order)."""
    xp = backend.array_namespace(W)
    Wt = xp.matrix_transpose(W)
    return xp.reshape(xp.reshape(Wt, (-1,)), tuple(Wt.shape))


def _data(p):
    return None if p is None else p.data


class InferenceWeights:
    """A snapshot of a GPT's weights laid out for ``infer``; take a new one after training steps."""

    def __init__(self, model):
        self.wte, self.wpe = model.wte.weight.data, model.wpe.weight.data
        self.layers = []
        for block in model.h:
            a, m = block.attn, block.mlp
            self.layers.append((
                _data(block.ln_1.weight), _data(block.ln_1.bias),
                _contiguous_t(a.in_proj_weight.data), _data(a.in_proj_bias),          # (E, 3E), (3E,)
                _contiguous_t(a.out_proj.weight.data), _data(a.out_proj.bias),        # (E, E), (E,)
                _data(block.ln_2.weight), _data(block.ln_2.bias),
                _contiguous_t(m.c_fc.weight.data), _data(m.c_fc.bias),                # (E, 4E), (4E,)
                _contiguous_t(m.c_proj.weight.data), _data(m.c_proj.bias),            # (4E, E), (E,)
            ))
        self.ln_f = (_data(model.ln_f.weight), _data(model.ln_f.bias))
        self.head = (_contiguous_t(model.lm_head.weight.data), _data(model.lm_head.bias))   # (E, V)


def _affine(x, Wt, b):
    y = x @ Wt
    return y if b is None else y + b


def _layer_norm(xp, x, w, b, eps):
    """(x - mean) / sqrt(var + eps) * w + b over the last axis (the kernel's maths, without its cache)."""
    inv_n = 1.0 / x.shape[-1]
    xc = x - xp.sum(x, axis=-1, keepdims=True) * inv_n
    y = xc / xp.sqrt(xp.sum(xc * xc, axis=-1, keepdims=True) * inv_n + eps)
    if w is not None:
        y = y * w
    return y if b is None else y + b


def infer(weights: InferenceWeights, config, ids, caches: list, past: int):
    """Logits (B, T, V) for ``ids`` (B, T) at positions ``past .. past+T-1``.

    ``caches[i]`` is layer i's (k, v) pair of (B, nh, block_size, hs) buffers, of which
    positions ``0 .. past-1`` are filled (None: allocate them); the new keys and values
    are written after them.
    """
    xp = backend.array_namespace(ids)
    E, nh, eps = config.n_embd, config.n_head, config.layer_norm_epsilon
    hs = E // nh
    B, T = ids.shape
    S = past + T                                                     # keys visible after this step
    scale = 1.0 / math.sqrt(hs)
    pos = backend.asarray_like(backend.host_array(list(range(past, S)), "int64"), ids)
    x = xp.reshape(xp.take(weights.wte, xp.reshape(ids, (-1,)), axis=0), (B, T, E))
    x = x + xp.take(weights.wpe, pos, axis=0)                        # (B, T, E)
    if T > 1:                                                        # new query t sees keys 0 .. past+t
        i = xp.reshape(xp.arange(T, device=backend.device_of(x)), (T, 1))
        j = xp.reshape(xp.arange(S, device=backend.device_of(x)), (1, S))
        mask = j <= i + past                                         # (T, S)
    for n, (l1w, l1b, Wqkv, bqkv, Wo, bo, l2w, l2b, Wfc, bfc, Wpr, bpr) in enumerate(weights.layers):
        if caches[n] is None:
            shape = (B, nh, config.block_size, hs)
            caches[n] = (xp.zeros(shape, dtype=x.dtype, device=backend.device_of(x)),
                         xp.zeros(shape, dtype=x.dtype, device=backend.device_of(x)))
        kb, vb = caches[n]
        qkv = _affine(_layer_norm(xp, x, l1w, l1b, eps), Wqkv, bqkv)            # (B, T, 3E)
        qkv = xp.permute_dims(xp.reshape(qkv, (B, T, 3, nh, hs)), (2, 0, 3, 1, 4))   # (3, B, nh, T, hs)
        kb[:, :, past:S, :] = qkv[1, ...]
        vb[:, :, past:S, :] = qkv[2, ...]
        att = (qkv[0, ...] @ xp.matrix_transpose(kb[:, :, :S, :])) * scale           # (B, nh, T, S)
        if T > 1:
            att = xp.where(mask, att, -math.inf)                                 # every row keeps its diagonal
        att = xp.exp(att - xp.max(att, axis=-1, keepdims=True))
        att = att / xp.sum(att, axis=-1, keepdims=True)
        y = att @ vb[:, :, :S, :]                                                # (B, nh, T, hs)
        y = xp.reshape(xp.permute_dims(y, (0, 2, 1, 3)), (B, T, E))              # (B, T, E)
        x = x + _affine(y, Wo, bo)
        h = _affine(_layer_norm(xp, x, l2w, l2b, eps), Wfc, bfc)                 # (B, T, 4E)
        h = KG.gelu_forward(h, config.gelu_approximate)[0]
        x = x + _affine(h, Wpr, bpr)
    return _affine(_layer_norm(xp, x, *weights.ln_f, eps), *weights.head)        # (B, T, V)
