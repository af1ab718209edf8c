"""``highway``: y = t * relu(x W_h^T + b_h) + (1 - t) * x, t = sigmoid(x W_t^T + b_t), over ``kernels.highway``."""

from __future__ import annotations

from .. import rules
from ..autograd import Function, as_tensor
from ..kernels import highway as K


class Highway(Function):
    """Wraps ``kernels.highway``."""

    def forward(self, x, W_h, W_t, b_h=None, b_t=None):
        y, self.cache = K.highway_forward(x, W_h, W_t, b_h, b_t)
        return y

    def backward(self, dy):
        return K.highway_backward(dy, self.cache)


def highway(input, weight_h, weight_t, bias_h=None, bias_t=None):
    """One highway layer (Srivastava et al. 2015) on input (..., size); weights (size, size), biases (size,) or None.

    The gate t = sigmoid(input weight_t^T + bias_t) mixes a transform, relu(input weight_h^T + bias_h),
    with the input carried through unchanged: y = t * transform + (1 - t) * input.

    >>> import minigen, minigen.functional as F, numpy as np
    >>> x, W = minigen.tensor(np.ones((2, 3))), minigen.tensor(np.zeros((3, 3)))
    >>> F.highway(x, W, W).tolist()                  # t = 1/2, transform = 0: half the input is carried
    [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]
    """
    fn = "highway"
    input, weight_h, weight_t = as_tensor(input), as_tensor(weight_h), as_tensor(weight_t)
    bias_h, bias_t = as_tensor(bias_h), as_tensor(bias_t)
    rules.floating_array(fn, "input", input)
    rules.require(input.ndim > 0, fn, "input", "of shape (..., size)", "shape ()")
    H = input.shape[-1]
    for name, w in (("weight_h", weight_h), ("weight_t", weight_t)):
        rules.floating_array(fn, name, w, (H, H))
    for name, b in (("bias_h", bias_h), ("bias_t", bias_t)):
        rules.floating_array(fn, name, b, (H,), optional=True)
    rules.same_dtype(fn, input=input, weight_h=weight_h, weight_t=weight_t, bias_h=bias_h, bias_t=bias_t)
    return Highway.apply(input, weight_h, weight_t, bias_h, bias_t)
