"""Embedding kernel: look up rows of a weight matrix by integer id.

Shapes: V = vocabulary (num_embeddings), C = embedding_dim, n = number of ids
(all of ``ids``' dimensions flattened).

    forward   out[j] = W[ids[j]]                          ids (n,), W (V, C)  ->  out (n, C)
    backward  dW[v]  = sum_{j : ids[j] = v} dout[j]       0 for ids equal to padding_idx

The backward is a scatter-add, and an id may repeat (the same token twice in a
batch). ``dW[ids] += dout`` would keep only one of the repeated additions, so it
goes through ``backend.index_add``, which sums them. The row ``padding_idx``, as
in torch, receives no gradient: it stays what it was (usually zeros) in training.
"""

from __future__ import annotations

from ..backend import array_namespace, device_of, index_add


def embedding_forward(ids, weight, padding_idx=None):
    """Rows of ``weight`` (V, C) for integer ``ids`` of any shape: out has shape ``(*ids.shape, C)``.

    The caller checks that the ids lie in [0, V) and that ``padding_idx`` is in [0, V) or None.
    Returns ``(out, cache)``.
    """
    xp = array_namespace(weight)
    V, C = weight.shape
    flat = xp.reshape(ids, (-1,))                                       # (n,)
    out = xp.take(weight, flat, axis=0)                                 # (n, C)
    cache = (flat, V, padding_idx, weight.dtype)
    return xp.reshape(out, tuple(ids.shape) + (C,)), cache             # (*ids.shape, C)


def embedding_backward(dout, cache):
    """dweight (V, C): each row the sum of the ``dout`` rows of the positions that looked it up."""
    xp = array_namespace(dout)
    flat, V, padding_idx, dtype = cache
    C = dout.shape[-1]
    dflat = xp.reshape(dout, (-1, C))                                   # (n, C)
    if padding_idx is not None:                                          # padding positions send nothing back
        dflat = xp.where((flat == padding_idx)[:, None], xp.zeros_like(dflat), dflat)
    dweight = xp.zeros((V, C), dtype=dtype, device=device_of(dout))     # (V, C)
    # forward was out[j] = W[ids[j]], so dW[ids[j]] += dout[j], summed over repeats
    return index_add(dweight, flat, dflat)
