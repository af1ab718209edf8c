"""``gumbel_softmax``: a relaxed (or straight-through) sample from softmax(logits), over ``kernels.gumbel``."""

from __future__ import annotations

from .. import backend, rules
from ..autograd import Function, as_tensor
from ..autograd.ops.reduce import axis_index
from ..kernels import gumbel as K


class GumbelSoftmax(Function):
    """Wraps ``kernels.gumbel``: y = softmax((x + g) / tau), or its one-hot with the soft gradient."""

    def forward(self, logits, gumbels=None, tau=1.0, axis=-1, hard=False):
        y, self.cache = K.gumbel_softmax_forward(logits, gumbels, tau, axis, hard)
        return y

    def backward(self, dy):
        return K.gumbel_softmax_backward(dy, self.cache)


def gumbel_softmax(logits, tau: float = 1.0, hard: bool = False, eps: float = 1e-10, dim: int = -1, gumbels=None):
    """A Gumbel-softmax sample along ``dim``, as ``torch.nn.functional.gumbel_softmax``.

    y = softmax((logits + g) / tau), with g ~ Gumbel(0, 1) of the logits' shape. As tau -> 0
    it tends to a one-hot sample from softmax(logits). ``hard=True`` is straight-through:
    the forward gives the one-hot of the argmax, the backward the soft sample's gradient.

    ``gumbels`` is the noise g (a Tensor or an array of the logits' shape, dtype and
    device; it gets no gradient). When None, it is drawn on the host from minigen's
    seeded generator, as ``F.dropout`` draws its mask, then moved to the logits' device:
    one seed gives one sample on every backend. ``eps`` is unused, as in PyTorch (which
    keeps it for old callers).

    >>> import minigen, minigen.functional as F, numpy as np
    >>> logits = minigen.tensor(np.log(np.array([0.2, 0.8])))
    >>> F.gumbel_softmax(logits, gumbels=np.zeros(2)).tolist()        # no noise: softmax(logits)
    [0.2, 0.8]
    >>> F.gumbel_softmax(logits, hard=True, gumbels=np.array([2.0, 0.0])).tolist()
    [1.0, 0.0]
    """
    fn = "gumbel_softmax"
    tau = rules.real(fn, "tau", tau, 0, lo_open=True)
    hard = rules.flag(fn, "hard", hard)
    logits = rules.floating_array(fn, "logits", as_tensor(logits))
    rules.require(logits.ndim > 0, fn, "logits", "an array of at least one dimension", "shape ()")
    dim = axis_index(fn, dim, logits.ndim, "dim")
    if gumbels is None:
        host = backend.get_rng().gumbel(size=tuple(logits.shape))            # g = -log(-log U), U ~ Uniform(0, 1)
        g = backend.asarray_like(host.astype(backend.resolve_dtype(logits.dtype)), logits.data)
    else:
        g = rules.array_of(rules.floating_array(fn, "gumbels", gumbels, tuple(logits.shape)))
        rules.same_dtype(fn, logits=logits, gumbels=g)
    return GumbelSoftmax.apply(logits, gumbels=g, tau=tau, axis=dim, hard=hard)
