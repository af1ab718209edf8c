"""``embedding``: look up rows of a weight matrix by integer token id."""

from __future__ import annotations

from .. import backend, rules
from ..autograd import Function, as_tensor
from ..kernels import embedding as K


class Embedding(Function):
    """Wraps ``kernels.embedding``: out = W[ids]; the ids get no gradient.

    With ``scale_grad_by_freq`` each row's gradient is then divided by the number of
    times its id occurs in ``ids``, as torch does, so frequent ids do not dominate.
    """

    def forward(self, ids, weight, padding_idx=None, scale_grad_by_freq=False):
        out, self.cache = K.embedding_forward(ids, weight, padding_idx)
        self.ids = ids if scale_grad_by_freq else None
        return out

    def backward(self, dout):
        dweight = K.embedding_backward(dout, self.cache)                    # (V, C)
        if self.ids is not None:
            xp = backend.array_namespace(dweight)
            flat = xp.reshape(self.ids, (-1,))                              # (n,)
            ones = xp.ones(flat.shape, dtype=dweight.dtype, device=backend.device_of(dweight))
            counts = backend.index_add(xp.zeros(dweight.shape[:1], dtype=dweight.dtype,
                                                device=backend.device_of(dweight)), flat, ones)    # (V,)
            counts = xp.where(counts > 0, counts, xp.ones_like(counts))     # unused rows: 0 / 1
            dweight = dweight / counts[:, None]
        return None, dweight


def embedding_options(fn: str, num_embeddings: int, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse):
    """torch's optional embedding arguments, the rules ``F.embedding`` and ``nn.Embedding`` share: returns
    (padding_idx in 0..num_embeddings-1 or None, max_norm, norm_type, scale_grad_by_freq); values minigen
    cannot honour are refused."""
    V = num_embeddings
    padding_idx = rules.integer(fn, "padding_idx", padding_idx, -V, V - 1, optional=True)
    ok = max_norm is None or rules.is_real(max_norm) and max_norm >= 0
    rules.require(ok, fn, "max_norm", "a non-negative number or None", rules.describe(max_norm))
    ok = rules.is_real(norm_type) and norm_type > 0                          # inf is the max-norm
    rules.require(ok, fn, "norm_type", "a positive number", rules.describe(norm_type))
    scale_grad_by_freq, sparse = rules.flags(fn, scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)
    rules.require(not sparse, fn, "sparse", "False (minigen has no sparse gradients)", True, NotImplementedError)
    padding_idx = padding_idx if padding_idx is None else padding_idx % V
    return padding_idx, max_norm if max_norm is None else float(max_norm), float(norm_type), scale_grad_by_freq


def embedding_renorm_(weight, ids, max_norm: float, norm_type: float = 2.0) -> None:
    """Scale down, in place, each row of ``weight`` looked up by ``ids`` whose ``norm_type``-norm exceeds
    ``max_norm`` to norm ``max_norm``, as ``torch.embedding_renorm_``: row *= max_norm / (norm + 1e-7).

    Not differentiated (torch does it under no_grad too). On NumPy and CuPy the array is
    updated in place; on other backends ``weight.data`` is replaced by the new array.
    """
    W = weight.data
    xp = backend.array_namespace(W)
    rows_ids = xp.unique_values(xp.reshape(ids, (-1,)))                      # (u,) each row once
    rows = xp.take(W, rows_ids, axis=0)                                      # (u, C)
    norm = xp.linalg.vector_norm(rows, axis=-1, ord=norm_type)               # (u,)
    too_long = norm > max_norm
    if not bool(xp.any(too_long)):
        return
    scale = xp.where(too_long, max_norm / (norm + 1e-7), xp.ones_like(norm))
    # rows become rows * scale: add rows * (scale - 1), a scatter that works on every backend
    weight.data = backend.index_add(W, rows_ids, rows * (scale - 1)[:, None])


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False):
    """Rows of ``weight`` (num_embeddings, embedding_dim) for the integer ids ``input`` (any shape),
    as ``torch.nn.functional.embedding``: the result has shape ``(*input.shape, embedding_dim)``.

    The gradient of ``weight`` adds up the gradients of every position that used a row,
    correctly when an id repeats. The row ``padding_idx`` (negative counts from the end)
    gets no gradient. Ids outside [0, num_embeddings) raise ``IndexError``.

    As in torch, ``max_norm`` first rescales, in place, each looked-up row whose
    ``norm_type``-norm exceeds it (``embedding_renorm_``), and ``scale_grad_by_freq``
    divides each row's gradient by its id's count in ``input``. ``sparse=True`` is not
    supported: minigen has no sparse gradients.

    >>> import minigen, numpy as np, minigen.functional as F
    >>> W = minigen.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    >>> F.embedding(np.array([2, 0, 2]), W).tolist()
    [[4.0, 5.0], [0.0, 1.0], [4.0, 5.0]]
    """
    weight = as_tensor(weight)
    rules.floating_array("embedding", "weight", weight, ("num_embeddings", "embedding_dim"))
    rules.same_device("embedding", input=input, weight=weight)
    V = weight.shape[0]
    ids = rules.array_of(rules.token_ids("embedding", "input", input, V))
    padding_idx, max_norm, norm_type, scale_grad_by_freq = embedding_options(    # all checked before renorm writes
        "embedding", V, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse)
    if max_norm is not None:
        embedding_renorm_(weight, ids, max_norm, norm_type)
    return Embedding.apply(ids, weight, padding_idx=padding_idx, scale_grad_by_freq=scale_grad_by_freq)
