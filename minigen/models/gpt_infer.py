"""GPT's forward pass for generation: plain arrays, no graph, a key/value cache.

Generating one token costs a few dozen tiny products, so its price is Python and
NumPy call overhead, not arithmetic. This path keeps the calls few:

- the weights are gathered once per ``generate`` call into ``InferenceWeights``, a flat
  tuple per layer, with every matrix stored transposed and contiguous: ``x @ W_t``
  reads ``W_t`` row by row, which for one row of ``x`` (a matrix-vector product) is
  about 1.5x faster than reading ``W.T``'s strided view;
- the query, key and value heads come out of the fused projection in one
  ``split_heads`` into 3 * nh heads: ``(B, T, 3E) -> (B, 3nh, T, hs)``;
- new keys and values are written in place into preallocated (B, nh, block_size, hs)
  buffers, so the cache is never copied.

The maths is the kernels' (layer norm, the causal mask, softmax, the head split,
GELU): this path only orchestrates them, and tests check it against ``GPT.forward``.
Dropout is off: generation always runs in evaluation mode.
"""

from __future__ import annotations

import math

from .. import backend
from ..kernels.activation import gelu_forward
from ..kernels.attention import causal_mask, merge_heads, split_heads
from ..kernels.layernorm import layer_norm
from ..kernels.softmax import softmax_forward

__all__ = ["InferenceWeights", "contiguous_t", "infer"]


def contiguous_t(W):
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
                contiguous_t(a.in_proj_weight.data), _data(a.in_proj_bias),          # (E, 3E), (3E,)
                contiguous_t(a.out_proj.weight.data), _data(a.out_proj.bias),        # (E, E), (E,)
                _data(block.ln_2.weight), _data(block.ln_2.bias),
                contiguous_t(m.c_fc.weight.data), _data(m.c_fc.bias),                # (E, 4E), (4E,)
                contiguous_t(m.c_proj.weight.data), _data(m.c_proj.bias),            # (4E, E), (E,)
            ))
        self.ln_f = (_data(model.ln_f.weight), _data(model.ln_f.bias))
        self.head = (contiguous_t(model.lm_head.weight.data), _data(model.lm_head.bias))   # (E, V)


def _affine(x, Wt, b):
    y = x @ Wt
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
    mask = causal_mask(T, S, x, offset=past) if T > 1 else None        # (T, S): new query t sees keys 0 .. past+t
    for n, (l1w, l1b, Wqkv, bqkv, Wo, bo, l2w, l2b, Wfc, bfc, Wpr, bpr) in enumerate(weights.layers):
        if caches[n] is None:
            shape = (B, nh, config.block_size, hs)
            caches[n] = (xp.zeros(shape, dtype=x.dtype, device=backend.device_of(x)),
                         xp.zeros(shape, dtype=x.dtype, device=backend.device_of(x)))
        kb, vb = caches[n]
        qkv = split_heads(_affine(layer_norm(x, l1w, l1b, eps), Wqkv, bqkv), 3 * nh)   # (B, 3nh, T, hs)
        kb[:, :, past:S, :] = qkv[:, nh:2 * nh, ...]
        vb[:, :, past:S, :] = qkv[:, 2 * nh:, ...]
        att = (qkv[:, :nh, ...] @ xp.matrix_transpose(kb[:, :, :S, :])) * scale     # (B, nh, T, S)
        if mask is not None:
            att = xp.where(mask, att, -math.inf)                                 # every row keeps its diagonal
        y = softmax_forward(att)[0] @ vb[:, :, :S, :]                            # (B, nh, T, hs)
        x = x + _affine(merge_heads(y), Wo, bo)                                  # (B, T, E)
        h = _affine(layer_norm(x, l2w, l2b, eps), Wfc, bfc)                      # (B, T, 4E)
        x = x + _affine(gelu_forward(h, config.gelu_approximate)[0], Wpr, bpr)
    return _affine(layer_norm(x, *weights.ln_f, eps), *weights.head)             # (B, T, V)
