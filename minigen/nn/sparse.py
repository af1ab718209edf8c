"""``Embedding``: a lookup table of learned vectors, one row per token id, as ``torch.nn.Embedding``."""

from __future__ import annotations

from .. import functional as F
from .. import rules
from ..functional.embedding import embedding_options
from . import init
from .module import Module, Parameter


class Embedding(Module):
    """out = weight[input] for integer ids ``input`` of any shape; weight has shape (num_embeddings, embedding_dim).

    The arguments are torch's, in torch's order. Initialised as PyTorch does: weight ~
    N(0, 1), with the row ``padding_idx`` (if given; negative counts from the end) set to
    zeros. That row gets no gradient, so it stays zero in training.

    - ``max_norm``: each looked-up row whose ``norm_type``-norm exceeds it is rescaled,
      in place, to norm ``max_norm`` before the lookup (``F.embedding``).
    - ``scale_grad_by_freq``: each row's gradient is divided by its id's count in the batch.
    - ``sparse=True`` raises ``NotImplementedError``: minigen has no sparse gradients.
    - ``_weight``: the initial weight (an array or Tensor of shape (num_embeddings,
      embedding_dim)), used as is, like torch (``device``/``dtype`` then do not apply);
      ``_freeze=True`` makes it not require gradients. ``from_pretrained`` is the public way.

    >>> import minigen, numpy as np
    >>> emb = minigen.nn.Embedding(10, 3, padding_idx=0)
    >>> emb(np.array([[0, 4], [9, 0]])).shape
    (2, 2, 3)
    >>> emb.weight.numpy()[0].tolist()
    [0.0, 0.0, 0.0]
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx=None, max_norm=None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False, _weight=None,
                 _freeze: bool = False, device=None, dtype=None):
        super().__init__()
        V, embedding_dim = rules.positive_ints("Embedding", num_embeddings=num_embeddings, embedding_dim=embedding_dim)
        padding_idx, max_norm, norm_type, scale_grad_by_freq = embedding_options(
            "Embedding", V, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse)
        _freeze = rules.flag("Embedding", "_freeze", _freeze)
        init.check_dtype("Embedding", dtype)
        self.num_embeddings, self.embedding_dim, self.padding_idx = V, embedding_dim, padding_idx
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            weight = init.normal((V, embedding_dim), 1.0, dtype)    # host (V, C)
            if padding_idx is not None:
                weight[padding_idx] = 0.0
            weight = init.place(weight, device)
        else:
            weight = rules.array_of(rules.floating_array("Embedding", "_weight", _weight, (V, embedding_dim)))
        self.weight = Parameter(weight, requires_grad=not _freeze)

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx=None, max_norm=None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False):
        """An Embedding whose weight is ``embeddings`` (num_embeddings, embedding_dim), as torch's.

        The array is used as is (not copied), and with ``freeze`` (the default) it gets no gradient.

        >>> import minigen, numpy as np
        >>> emb = minigen.nn.Embedding.from_pretrained(np.eye(3, dtype=np.float32))
        >>> emb(np.array([2])).tolist(), emb.weight.requires_grad
        ([[0.0, 0.0, 1.0]], False)
        """
        fn = "Embedding.from_pretrained"
        freeze = rules.flag(fn, "freeze", freeze)
        rules.floating_array(fn, "embeddings", embeddings, ("num_embeddings", "embedding_dim"))
        rows, cols = rules.array_of(embeddings).shape
        return cls(rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse, _weight=embeddings,
                   _freeze=freeze)

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += ", scale_grad_by_freq=True"
        return s
