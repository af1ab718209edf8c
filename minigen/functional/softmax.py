"""Autograd Functions over the softmax-family kernels, and their checked public wrappers."""

from __future__ import annotations

from .. import backend
from ..autograd import Function, Tensor
from ..autograd.ops import reshape
from ..kernels import softmax as K
from ._checks import as_tensor, check_axis, check_floating, check_same_device, dtype_name, is_real_number


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
    x = as_tensor(x)
    check_floating("softmax", "input", x)
    return Softmax.apply(x, axis=check_axis("softmax", axis, x.ndim))


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
    x = as_tensor(x)
    check_floating("log_softmax", "input", x)
    return LogSoftmax.apply(x, axis=check_axis("log_softmax", axis, x.ndim))


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
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if not is_real_number(label_smoothing) or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    logits = as_tensor(logits)
    if not isinstance(logits, Tensor):
        raise TypeError(f"cross_entropy: logits must be a Tensor or an array, got {type(logits).__name__}")
    check_floating("cross_entropy", "logits", logits)
    t = targets.data if isinstance(targets, Tensor) else targets
    # a foreign object with .shape and .dtype (a torch tensor, a pandas Series) is not an array of ours
    if not backend.is_array(t) or not _known_array(t):
        raise TypeError(f"cross_entropy: targets must be an integer array or Tensor, got {type(t).__name__}")
    if not backend.is_integer(t.dtype):
        extra = " (class probabilities are not supported)" if backend.is_floating(t.dtype) else ""
        raise TypeError(f"cross_entropy: targets must hold integer class indices, got dtype "
                        f"{dtype_name(t.dtype)}{extra}")
    check_same_device("cross_entropy", logits=logits, targets=t)
    shape, tshape = tuple(logits.shape), tuple(t.shape)
    want = shape[:1] + shape[2:] if len(shape) >= 2 else ()
    if not shape or tshape != want:
        raise ValueError(f"cross_entropy: logits of shape {shape} need targets of shape {want}, got {tshape}")
    C = shape[1] if len(shape) >= 2 else shape[0]
    xp = backend.array_namespace(t)
    bad = (t != ignore_index) & ((t < 0) | (t >= C))
    if bool(xp.any(bad)):
        host = backend.to_numpy(t)[backend.to_numpy(bad)]
        raise IndexError(f"cross_entropy: target {int(host[0])} is out of range for {C} classes "
                         f"(expected 0 <= target < {C}, or ignore_index={ignore_index})")
    if len(shape) == 1:                                                     # one sample: (C,) and ()
        x2, t2 = reshape(logits, (1, C)), xp.reshape(t, (1,))
    elif len(shape) == 2:
        x2, t2 = logits, t
    else:                                                                   # (N, C, d...) -> (N*d..., C)
        perm = (0,) + tuple(range(2, len(shape))) + (1,)
        x2 = reshape(logits.permute(*perm), (-1, C))
        t2 = xp.reshape(t, (-1,))
    loss = CrossEntropy.apply(x2, targets=t2, ignore_index=ignore_index, reduction=reduction,
                              label_smoothing=float(label_smoothing))
    if reduction == "none":
        loss = reshape(loss, tshape)
    return loss
