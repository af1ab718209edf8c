"""``layer_norm``: normalise over the trailing dimensions, then scale and shift."""

from __future__ import annotations

import numbers

from .. import backend
from ..autograd import Function
from ..kernels import layernorm as K
from ._checks import as_tensor, check_same_dtype, dtype_name


class LayerNorm(Function):
    """Wraps ``kernels.layernorm``: y = (x - mean) / sqrt(var + eps) * weight + bias."""

    def forward(self, x, weight=None, bias=None, normalized_shape=(), eps=1e-5):
        y, self.cache = K.layer_norm_forward(x, normalized_shape, weight, bias, eps)
        return y

    def backward(self, dy):
        return K.layer_norm_backward(dy, self.cache)


def _star_shape(shape) -> str:
    """``(*, 4, 5)``: the shape an input needs, any leading dimensions allowed."""
    return "(*, " + ", ".join(str(n) for n in shape) + ")"


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """Layer normalisation over the last ``len(normalized_shape)`` dimensions, as ``torch.nn.functional.layer_norm``.

    Each slice over those dimensions is shifted to mean 0 and scaled to (biased)
    variance 1, then multiplied by ``weight`` and shifted by ``bias`` (both optional,
    of shape ``normalized_shape``).

    >>> import minigen, numpy as np, minigen.functional as F
    >>> y = F.layer_norm(minigen.tensor(np.array([[1.0, 2.0, 3.0]])), (3,))
    >>> np.round(y.numpy(), 4).tolist()
    [[-1.2247, 0.0, 1.2247]]
    """
    if isinstance(normalized_shape, numbers.Integral) and not isinstance(normalized_shape, bool):
        normalized_shape = (normalized_shape,)
    if (not isinstance(normalized_shape, (tuple, list)) or not normalized_shape
            or not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and n > 0 for n in normalized_shape)):
        raise ValueError(f"layer_norm: normalized_shape must be a positive int or a non-empty tuple of positive ints, "
                         f"got {normalized_shape!r}")
    norm_shape = tuple(int(n) for n in normalized_shape)
    input, weight, bias = as_tensor(input), as_tensor(weight), as_tensor(bias)
    if not backend.is_floating(input.dtype):
        raise TypeError(f"layer_norm: expected a floating-point input, got {dtype_name(input.dtype)}")
    k = len(norm_shape)
    if input.ndim < k or tuple(input.shape[input.ndim - k:]) != norm_shape:
        raise ValueError(f"layer_norm: expected input with shape {_star_shape(norm_shape)}, got {tuple(input.shape)}")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != norm_shape:
            raise ValueError(f"layer_norm: {name} must have shape {norm_shape} (normalized_shape), got {tuple(p.shape)}")
    if not isinstance(eps, numbers.Real) or isinstance(eps, bool) or not eps >= 0:
        raise ValueError(f"layer_norm: eps must be a non-negative number, got {eps!r}")
    check_same_dtype("layer_norm", input=input, weight=weight, bias=bias)
    return LayerNorm.apply(input, weight, bias, normalized_shape=norm_shape, eps=float(eps))
