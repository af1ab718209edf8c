"""``linear``: y = x W^T + b through one matrix product."""

from __future__ import annotations

from ..autograd import Function
from ..kernels import linear as K
from ._checks import as_tensor, check_same_dtype


class Linear(Function):
    """Wraps ``kernels.linear``."""

    def forward(self, x, W, b=None):
        y, self.cache = K.linear_forward(x, W, b)
        return y

    def backward(self, dy):
        return K.linear_backward(dy, self.cache)


def linear(input, weight, bias=None):
    """``input @ weight.T + bias`` for input (..., in_features), weight (out_features, in_features).

    >>> import minigen, minigen.functional as F, numpy as np
    >>> F.linear(minigen.tensor(np.ones((2, 3))), minigen.tensor(np.ones((4, 3)))).shape
    (2, 4)
    """
    input, weight, bias = as_tensor(input), as_tensor(weight), as_tensor(bias)
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape {weight.shape}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {input.shape} does not match weight of shape {weight.shape}: "
                         f"expected input (..., {weight.shape[1]})")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias must have shape ({weight.shape[0]},), got {bias.shape}")
    check_same_dtype("linear", input=input, weight=weight, bias=bias)
    return Linear.apply(input, weight, bias)
