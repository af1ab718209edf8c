"""``Highway``: one highway layer (Srivastava et al. 2015), as the SeqGAN / Kim text-CNN discriminator uses it."""

from __future__ import annotations

import math

from .. import functional as F
from .. import rules
from . import init
from .module import Module, Parameter


class Highway(Module):
    """y = t * relu(x W_h^T + b_h) + (1 - t) * x,  t = sigmoid(x W_t^T + b_t), for x (..., size).

    Parameters ``weight_h``, ``weight_t`` (size, size) and ``bias_h``, ``bias_t`` (size,), uniform
    in +-1/sqrt(size) as ``nn.Linear``'s. ``gate_bias``, when given, sets every entry of ``bias_t``
    instead: Srivastava et al. start the gate closed with a negative value (-1 to -3), so that the
    layer first carries its input through. PyTorch has no highway layer; the parameter names
    follow its recurrent layers' (``weight_ih``), with h for the transform and t for the gate.

    >>> import minigen, numpy as np
    >>> layer = minigen.nn.Highway(4, gate_bias=-2.0)
    >>> layer
    Highway(4)
    >>> layer(minigen.tensor(np.ones((3, 4), np.float32))).shape
    (3, 4)
    """

    def __init__(self, size: int, bias: bool = True, gate_bias: float | None = None, device=None, dtype=None):
        super().__init__()
        size = rules.positive_int("Highway", "size", size)
        bias = rules.flag("Highway", "bias", bias)
        gate_bias = rules.real("Highway", "gate_bias", gate_bias, optional=True)
        rules.require(bias or gate_bias is None, "Highway", "gate_bias", "None when bias=False", gate_bias)
        init.check_dtype("Highway", dtype)
        self.size, bound = size, 1.0 / math.sqrt(size)
        self.weight_h = Parameter(init.place(init.uniform((size, size), bound, dtype), device))
        self.weight_t = Parameter(init.place(init.uniform((size, size), bound, dtype), device))
        if bias:
            self.bias_h = Parameter(init.place(init.uniform((size,), bound, dtype), device))
            b_t = init.uniform((size,), bound, dtype) if gate_bias is None else init.ones((size,), dtype) * gate_bias
            self.bias_t = Parameter(init.place(b_t, device))
        else:
            self.register_parameter("bias_h", None)
            self.register_parameter("bias_t", None)

    def forward(self, input):
        return F.highway(input, self.weight_h, self.weight_t, self.bias_h, self.bias_t)

    def extra_repr(self) -> str:
        return f"{self.size}" + ("" if self.bias_h is not None else ", bias=False")
