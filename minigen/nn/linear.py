"""``Linear``: an affine layer, as ``torch.nn.Linear``."""

from __future__ import annotations

import math

from .. import functional as F
from .. import rules
from . import init
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
        in_features = rules.non_negative_int("Linear", "in_features", in_features)
        out_features = rules.non_negative_int("Linear", "out_features", out_features)
        bias = rules.flag("Linear", "bias", bias)
        init.check_dtype("Linear", dtype)
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / math.sqrt(in_features) if in_features > 0 else 0.0
        self.weight = Parameter(init.place(init.uniform((out_features, in_features), bound, dtype), device))
        if bias:
            self.bias = Parameter(init.place(init.uniform((out_features,), bound, dtype), device))
        else:
            self.register_parameter("bias", None)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
