"""``layer_norm``: normalise over the trailing dimensions, then scale and shift."""

from __future__ import annotations

from .. import rules
from ..autograd import Function, as_tensor
from ..kernels import layernorm as K


class LayerNorm(Function):
    """Wraps ``kernels.layernorm``: y = (x - mean) / sqrt(var + eps) * weight + bias."""

    def forward(self, x, weight=None, bias=None, normalized_shape=(), eps=1e-5):
        y, self.cache = K.layer_norm_forward(x, normalized_shape, weight, bias, eps)
        return y

    def backward(self, dy):
        return K.layer_norm_backward(dy, self.cache)


def as_normalized_shape(fn: str, value) -> tuple:
    """``normalized_shape`` (a positive int or a non-empty tuple of them) as a tuple of ints."""
    shape = (value,) if rules.is_int(value) else value
    ok = isinstance(shape, (tuple, list)) and len(shape) > 0 and all(rules.is_int(n) and n > 0 for n in shape)
    rules.require(ok, fn, "normalized_shape", "a positive int or a non-empty tuple of positive ints", repr(value))
    return tuple(int(n) for n in shape)


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
    shape = as_normalized_shape("layer_norm", normalized_shape)
    input, weight, bias = as_tensor(input), as_tensor(weight), as_tensor(bias)
    rules.floating_array("layer_norm", "input", input)
    ok = input.ndim >= len(shape) and tuple(input.shape[input.ndim - len(shape):]) == shape
    want = "(*, " + ", ".join(map(str, shape)) + ")"
    rules.require(ok, "layer_norm", "input", f"of shape {want}", f"shape {input.shape}")
    for name, p in (("weight", weight), ("bias", bias)):
        rules.floating_array("layer_norm", name, p, shape, optional=True)
    eps = rules.real("layer_norm", "eps", eps, 0)
    rules.same_dtype("layer_norm", input=input, weight=weight, bias=bias)
    return LayerNorm.apply(input, weight, bias, normalized_shape=shape, eps=eps)
