"""``linear``: y = x W^T + b through one matrix product."""

from __future__ import annotations

from .. import rules
from ..autograd import Function, as_tensor
from ..kernels import linear as K


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
    rules.floating_array("linear", "input", input)
    rules.floating_array("linear", "weight", weight, ("out_features", "in_features"))
    C = weight.shape[1]
    ok = input.ndim > 0 and input.shape[-1] == C
    rules.require(ok, "linear", "input", f"of shape (..., {C}) (in_features)", f"shape {input.shape}")
    rules.floating_array("linear", "bias", bias, (weight.shape[0],), optional=True)
    rules.same_dtype("linear", input=input, weight=weight, bias=bias)
    return Linear.apply(input, weight, bias)
