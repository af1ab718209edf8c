"""``gelu`` and ``dropout``: elementwise functions over the kernels in ``kernels.activation`` and ``kernels.dropout``."""

from __future__ import annotations

from .. import backend, rules
from ..autograd import Function, as_tensor
from ..kernels import activation as KA
from ..kernels import dropout as KD


class GELU(Function):
    """Wraps ``kernels.activation.gelu``: y = x * Phi(x), or its tanh approximation."""

    def forward(self, x, approximate="none"):
        y, self.cache = KA.gelu_forward(x, approximate)
        return y

    def backward(self, dy):
        return KA.gelu_backward(dy, self.cache)


def gelu(input, approximate: str = "none"):
    """GELU, as ``torch.nn.functional.gelu``: exact (``approximate="none"``, through erf) or ``"tanh"``.

    >>> import minigen, minigen.functional as F
    >>> round(F.gelu(minigen.tensor([1.0], dtype="float64")).item(), 6)
    0.841345
    """
    rules.choice("gelu", "approximate", approximate, ("none", "tanh"))
    input = rules.floating_array("gelu", "input", as_tensor(input))
    return GELU.apply(input, approximate=approximate)


class Dropout(Function):
    """Wraps ``kernels.dropout``: y = x * m / (1 - p), with the keep-mask m drawn by ``dropout``."""

    def forward(self, x, mask=None, p=0.5):
        y, self.cache = KD.dropout_forward(x, p, mask)
        return y

    def backward(self, dy):
        return KD.dropout_backward(dy, self.cache)


def dropout(input, p: float = 0.5, training: bool = True):
    """Inverted dropout, as ``torch.nn.functional.dropout``: zero each element with probability ``p``
    and scale the others by ``1 / (1 - p)``.

    The identity when ``training`` is False or ``p == 0``. The keep-mask is drawn on
    the host from minigen's seeded generator, ``rng.random(shape) >= p``, exactly as
    ``minigen.dropout`` draws it, then moved to the input's device: one seed gives
    one mask on every backend. (``p == 1`` drops everything and draws nothing.)

    >>> import minigen, minigen.functional as F
    >>> minigen.manual_seed(0)
    >>> sorted(set(F.dropout(minigen.tensor([1.0] * 8), p=0.5).tolist()))
    [0.0, 2.0]
    """
    p = rules.probability("dropout", "p", p)
    input = rules.floating_array("dropout", "input", as_tensor(input))
    return apply_dropout(input, p) if training and p > 0 else input


def apply_dropout(input, p: float):
    """``dropout`` in training mode, for callers that have checked ``p`` and hold a floating Tensor ``input``."""
    shape = tuple(input.shape)
    if p == 1:
        keep = backend.host_full(shape, False, "bool")                     # all dropped; no draw
    else:
        keep = backend.get_rng().random(shape) >= p                        # host bool mask, m ~ Bernoulli(1 - p)
    mask = backend.asarray_like(keep, input.data)
    return Dropout.apply(input, mask=mask, p=p)
