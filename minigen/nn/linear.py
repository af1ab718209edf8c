"""``Linear``: an affine layer, as ``torch.nn.Linear``."""

from __future__ import annotations

import math

from .. import functional as F
from . import init
from ._checks import as_input, check_flag, check_size
from .module import Module, Parameter


class Linear(Module):
    """y = x W^T + b, with W of shape (out_features, in_features).

    Initialised as PyTorch does: W and b uniform in +-1/sqrt(in_features).

    >>> import minigen, numpy as np
    >>> layer = minigen.nn.Linear(3, 2)
    >>> layer(minigen.tensor(np.ones((5, 3), np.float32))).shape
    (5, 2)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        in_features = check_size("Linear", "in_features", in_features, minimum=0)
        out_features = check_size("Linear", "out_features", out_features, minimum=0)
        check_flag("Linear", "bias", bias)
        init.check_dtype("Linear", dtype)
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / math.sqrt(in_features) if in_features > 0 else 0.0
        self.weight = Parameter(init.place(init.uniform((out_features, in_features), bound, dtype), device))
        if bias:
            self.bias = Parameter(init.place(init.uniform((out_features,), bound, dtype), device))
        else:
            self.register_parameter("bias", None)

    def forward(self, input):
        input = as_input("Linear", input)
        if input.ndim == 0 or input.shape[-1] != self.in_features:
            raise ValueError(f"Linear expected input (..., {self.in_features}), got {tuple(input.shape)}")
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
