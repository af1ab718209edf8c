"""Autograd Functions over the softmax-family kernels, and their checked public wrappers."""

from __future__ import annotations

from .. import backend, rules
from ..autograd import Function, as_tensor
from ..autograd.ops import reshape
from ..autograd.ops.reduce import axis_index
from ..kernels import softmax as K


class Softmax(Function):
    """Wraps ``kernels.softmax``: s = exp(x - max) / sum exp(x - max)."""

    def forward(self, x, axis=-1):
        s, self.cache = K.softmax_forward(x, axis)
        return s

    def backward(self, dout):
        return K.softmax_backward(dout, self.cache)


def softmax(x, axis: int = -1):
    """Softmax along ``axis``, stable for large logits (the max is subtracted first).

    >>> import minigen, minigen.functional as F
    >>> F.softmax(minigen.tensor([1e4, 1e4, -1e4])).tolist()
    [0.5, 0.5, 0.0]
    """
    x = rules.floating_array("softmax", "input", as_tensor(x))
    return Softmax.apply(x, axis=axis_index("softmax", axis, x.ndim))


def softmax_composed(x, axis: int = -1):
    """The same softmax built from autograd primitives (max, exp, sum, div).

    Its backward is whatever the chain rule through those ops gives; tests check it
    against the hand-written kernel. The max is detached: it cancels in the result,
    so its gradient is zero anyway.
    """
    e = (x - x.max(axis=axis, keepdims=True).detach()).exp()
    return e / e.sum(axis=axis, keepdims=True)


class LogSoftmax(Function):
    """Wraps ``kernels.softmax.log_softmax``: y = x - logsumexp(x)."""

    def forward(self, x, axis=-1):
        y, self.cache = K.log_softmax_forward(x, axis)
        return y

    def backward(self, dout):
        return K.log_softmax_backward(dout, self.cache)


def log_softmax(x, axis: int = -1):
    """Log of the softmax along ``axis``, computed as ``x - logsumexp(x)`` (never ``log(0)``)."""
    x = rules.floating_array("log_softmax", "input", as_tensor(x))
    return LogSoftmax.apply(x, axis=axis_index("log_softmax", axis, x.ndim))


class CrossEntropy(Function):
    """Wraps ``kernels.softmax.cross_entropy``: log-softmax and negative log-likelihood in one pass."""

    def forward(self, logits, targets=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        loss, self.cache = K.cross_entropy_forward(logits, targets, ignore_index, reduction, label_smoothing)
        return loss

    def backward(self, dloss):
        return K.cross_entropy_backward(dloss, self.cache)


def _known_array(x) -> bool:
    """True when ``x`` belongs to an array library that minigen's backend handles."""
    try:
        backend.array_namespace(x)
    except TypeError:
        return False
    return True


def cross_entropy(logits, targets, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0):
    """Cross-entropy between ``logits`` and integer class ``targets``, as ``torch.nn.functional.cross_entropy``.

    Shapes follow PyTorch: logits (C,), (N, C) or (N, C, d1, ...) with targets (), (N,) or
    (N, d1, ...). Targets equal to ``ignore_index`` add nothing and get zero gradient;
    ``reduction="mean"`` averages over the other targets. ``label_smoothing`` mixes the
    one-hot target with the uniform distribution.

    >>> import minigen, numpy as np, minigen.functional as F
    >>> logits = minigen.tensor(np.zeros((2, 4)))
    >>> round(F.cross_entropy(logits, np.array([1, 3])).item(), 4)     # log 4
    1.3863
    """
    fn = "cross_entropy"
    rules.choice(fn, "reduction", reduction, ("mean", "sum", "none"))
    label_smoothing = rules.probability(fn, "label_smoothing", label_smoothing)
    logits = rules.floating_array(fn, "logits", as_tensor(logits))
    t = rules.array_of(targets)
    # class probabilities are not supported; a foreign object with .shape and .dtype is not an array of ours
    ok = backend.is_array(t) and backend.is_integer(t.dtype) and _known_array(t)
    rules.require(ok, fn, "targets", "an integer array of class indices", rules.describe(t), TypeError)
    rules.same_device(fn, logits=logits, targets=t)
    shape, tshape = tuple(logits.shape), tuple(t.shape)
    want = shape[:1] + shape[2:] if len(shape) >= 2 else ()
    ok = len(shape) > 0 and tshape == want
    rules.require(ok, fn, "targets", f"of shape {want} for logits of shape {shape}", f"shape {tshape}")
    C = shape[1] if len(shape) >= 2 else shape[0]
    xp = backend.array_namespace(t)
    bad = (t != ignore_index) & ((t < 0) | (t >= C))
    if backend.any_true(bad):
        first = int(backend.to_numpy(t)[backend.to_numpy(bad)][0])
        rules.fail(fn, "targets", f"in [0, {C}) or ignore_index={ignore_index}", f"target {first}", IndexError)
    if len(shape) == 1:                                                     # one sample: (C,) and ()
        x2, t2 = reshape(logits, (1, C)), xp.reshape(t, (1,))
    elif len(shape) == 2:
        x2, t2 = logits, t
    else:                                                                   # (N, C, d...) -> (N*d..., C)
        perm = (0,) + tuple(range(2, len(shape))) + (1,)
        x2 = reshape(logits.permute(*perm), (-1, C))
        t2 = xp.reshape(t, (-1,))
    loss = CrossEntropy.apply(x2, targets=t2, ignore_index=ignore_index, reduction=reduction,
                              label_smoothing=label_smoothing)
    if reduction == "none":
        loss = reshape(loss, tshape)
    return loss
