"""``LayerNorm``: layer normalisation with a learned scale and shift, as ``torch.nn.LayerNorm``."""

from __future__ import annotations

import numbers

from .. import functional as F
from ..functional._checks import is_real_number
from . import init
from ._checks import as_input, check_flag
from .module import Module, Parameter


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, over the last ``len(normalized_shape)`` dimensions.

    ``weight`` starts at ones and ``bias`` at zeros, both of shape ``normalized_shape``.
    With ``elementwise_affine=False`` there are neither; with ``bias=False``, no bias.

    >>> import minigen, numpy as np
    >>> ln = minigen.nn.LayerNorm(4)
    >>> ln(minigen.tensor(np.ones((2, 3, 4), np.float32))).shape
    (2, 3, 4)
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        init.check_dtype("LayerNorm", dtype)
        if isinstance(normalized_shape, numbers.Integral) and not isinstance(normalized_shape, bool):
            normalized_shape = (normalized_shape,)
        if (not isinstance(normalized_shape, (tuple, list)) or not normalized_shape
                or not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and n > 0
                           for n in normalized_shape)):
            raise ValueError(f"LayerNorm: normalized_shape must be a positive int or a non-empty tuple of positive "
                             f"ints, got {normalized_shape!r}")
        if not is_real_number(eps) or not eps > 0:
            raise ValueError(f"LayerNorm: eps must be a positive number, got {eps!r}")
        check_flag("LayerNorm", "elementwise_affine", elementwise_affine)
        check_flag("LayerNorm", "bias", bias)
        self.normalized_shape = tuple(int(n) for n in normalized_shape)
        self.eps, self.elementwise_affine = float(eps), elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(init.place(init.ones(self.normalized_shape, dtype), device))
        else:
            self.register_parameter("weight", None)
        if elementwise_affine and bias:
            self.bias = Parameter(init.place(init.zeros(self.normalized_shape, dtype), device))
        else:
            self.register_parameter("bias", None)

    def forward(self, input):
        input = as_input("LayerNorm", input)
        k = len(self.normalized_shape)
        if input.ndim < k or tuple(input.shape[input.ndim - k:]) != self.normalized_shape:
            want = "(*, " + ", ".join(str(n) for n in self.normalized_shape) + ")"
            raise ValueError(f"LayerNorm expected input {want}, got {tuple(input.shape)}")
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
