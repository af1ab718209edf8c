"""``LayerNorm``: layer normalisation with a learned scale and shift, as ``torch.nn.LayerNorm``."""

from __future__ import annotations

from .. import functional as F
from .. import rules
from ..functional.norm import as_normalized_shape
from . import init
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
        self.normalized_shape = as_normalized_shape("LayerNorm", normalized_shape)
        self.eps = rules.real("LayerNorm", "eps", eps, 0, lo_open=True)
        self.elementwise_affine, bias = rules.flags("LayerNorm", elementwise_affine=elementwise_affine, bias=bias)
        if elementwise_affine:
            self.weight = Parameter(init.place(init.ones(self.normalized_shape, dtype), device))
        else:
            self.register_parameter("weight", None)
        if elementwise_affine and bias:
            self.bias = Parameter(init.place(init.zeros(self.normalized_shape, dtype), device))
        else:
            self.register_parameter("bias", None)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
