"""``embedding``: look up rows of a weight matrix by integer token id."""

from __future__ import annotations

import numbers

from .. import backend
from ..autograd import Function, Tensor
from ..kernels import embedding as K
from ._checks import as_tensor, dtype_name


class Embedding(Function):
    """Wraps ``kernels.embedding``: out = W[ids]; the ids get no gradient."""

    def forward(self, ids, weight, padding_idx=None):
        out, self.cache = K.embedding_forward(ids, weight, padding_idx)
        return out

    def backward(self, dout):
        return None, K.embedding_backward(dout, self.cache)


def is_integer_dtype(dtype) -> bool:
    """True for signed and unsigned integer dtypes (not bool) of any backend."""
    return dtype_name(dtype).startswith(("int", "uint"))


def embedding(input, weight, padding_idx=None):
    """Rows of ``weight`` (num_embeddings, embedding_dim) for the integer ids ``input`` (any shape),
    as ``torch.nn.functional.embedding``: the result has shape ``(*input.shape, embedding_dim)``.

    The gradient of ``weight`` adds up the gradients of every position that used a row,
    correctly when an id repeats. The row ``padding_idx`` (negative counts from the end)
    gets no gradient. Ids outside [0, num_embeddings) raise ``IndexError``.

    >>> import minigen, numpy as np, minigen.functional as F
    >>> W = minigen.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    >>> F.embedding(np.array([2, 0, 2]), W).tolist()
    [[4.0, 5.0], [0.0, 1.0], [4.0, 5.0]]
    """
    ids = input.data if isinstance(input, Tensor) else input
    if not backend.is_array(ids) or not is_integer_dtype(ids.dtype):
        got = dtype_name(ids.dtype) if backend.is_array(ids) else type(ids).__name__
        raise TypeError(f"embedding: input must be an integer array of token ids, got {got}")
    weight = as_tensor(weight)
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        got = tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
        raise ValueError(f"embedding: weight must have shape (num_embeddings, embedding_dim), got {got}")
    V = weight.shape[0]
    if padding_idx is not None:
        if not isinstance(padding_idx, numbers.Integral) or isinstance(padding_idx, bool) or not -V <= padding_idx < V:
            raise ValueError(f"embedding: padding_idx must be an int within [-{V}, {V}) (num_embeddings={V}), "
                             f"got {padding_idx!r}")
        padding_idx = int(padding_idx) % V
    xp = backend.array_namespace(ids)
    if ids.size and bool(xp.any((ids < 0) | (ids >= V))):
        host = backend.to_numpy(ids)
        bad = host[(host < 0) | (host >= V)]
        raise IndexError(f"embedding: id {int(bad[0])} is out of range for {V} embeddings "
                         f"(expected 0 <= id < {V})")
    return Embedding.apply(ids, weight, padding_idx=padding_idx)
