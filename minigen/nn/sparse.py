"""``Embedding``: a lookup table of learned vectors, one row per token id, as ``torch.nn.Embedding``."""

from __future__ import annotations

import numbers

from .. import backend
from .. import functional as F
from ..autograd import Tensor
from ..functional.embedding import is_integer_dtype
from . import init
from .module import Module, Parameter


class Embedding(Module):
    """out = weight[input] for integer ids ``input`` of any shape; weight has shape (num_embeddings, embedding_dim).

    Initialised as PyTorch does: weight ~ N(0, 1), with the row ``padding_idx`` (if
    given; negative counts from the end) set to zeros. That row gets no gradient, so
    it stays zero in training.

    >>> import minigen, numpy as np
    >>> emb = minigen.nn.Embedding(10, 3, padding_idx=0)
    >>> emb(np.array([[0, 4], [9, 0]])).shape
    (2, 2, 3)
    >>> emb.weight.numpy()[0].tolist()
    [0.0, 0.0, 0.0]
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx=None, device=None, dtype=None):
        super().__init__()
        for name, n in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n <= 0:
                raise ValueError(f"Embedding: {name} must be a positive int, got {n!r}")
        if padding_idx is not None:
            if (not isinstance(padding_idx, numbers.Integral) or isinstance(padding_idx, bool)
                    or not -num_embeddings <= padding_idx < num_embeddings):
                raise ValueError(f"Embedding: padding_idx must be within [-{num_embeddings}, {num_embeddings}) "
                                 f"(num_embeddings={num_embeddings}), got {padding_idx!r}")
            padding_idx = int(padding_idx) % num_embeddings
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        weight = init.normal((num_embeddings, embedding_dim), 1.0, dtype)    # host (V, C)
        if padding_idx is not None:
            weight[padding_idx] = 0.0
        self.weight = Parameter(init.place(weight, device))

    def forward(self, input):
        ids = input.data if isinstance(input, Tensor) else input
        if not backend.is_array(ids) or not is_integer_dtype(ids.dtype):
            got = backend._dtype_name(ids.dtype) if backend.is_array(ids) else type(ids).__name__
            raise TypeError(f"Embedding expected integer ids, got {got}")
        return F.embedding(ids, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"
