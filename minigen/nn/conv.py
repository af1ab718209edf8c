"""``Conv1d`` (as ``torch.nn.Conv1d``) and ``MaxOverTime``: the layers of a text-CNN."""

from __future__ import annotations

import math

from .. import functional as F
from .. import rules
from ..functional.conv import conv1d_sizes
from . import init
from .module import Module, Parameter

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class Conv1d(Module):
    """1-D convolution over time: input (B, in_channels, T) -> (B, out_channels, T_out).

    Parameters ``weight`` (out_channels, in_channels, kernel_size) and ``bias`` (out_channels,),
    both uniform in +-1/sqrt(in_channels * kernel_size), as PyTorch initialises them. Sizes are
    stored as PyTorch stores them, as 1-tuples (``kernel_size=(3,)``); ``padding`` may be an int,
    ``"valid"`` or ``"same"``. Only ``groups=1`` and ``padding_mode="zeros"`` are implemented.

    >>> import minigen, numpy as np
    >>> conv = minigen.nn.Conv1d(4, 8, 3, padding=1)
    >>> conv
    Conv1d(4, 8, kernel_size=(3,), stride=(1,), padding=(1,))
    >>> conv(minigen.tensor(np.ones((2, 4, 10), np.float32))).shape
    (2, 8, 10)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None):
        super().__init__()
        fn = "Conv1d"
        in_channels, out_channels = rules.positive_ints(fn, in_channels=in_channels, out_channels=out_channels)
        K, stride, (left, _), dilation = conv1d_sizes(fn, kernel_size, stride, padding, dilation, groups)
        bias = rules.flag(fn, "bias", bias)
        rules.choice(fn, "padding_mode", padding_mode, _PADDING_MODES)
        rules.require(padding_mode == "zeros", fn, "padding_mode", "'zeros' (the others are not implemented)",
                      repr(padding_mode), NotImplementedError)
        init.check_dtype(fn, dtype)
        self.in_channels, self.out_channels, self.groups, self.padding_mode = in_channels, out_channels, 1, "zeros"
        self.kernel_size, self.stride, self.dilation = (K,), (stride,), (dilation,)
        self.padding = padding if isinstance(padding, str) else (left,)   # "same", or (p,) as torch keeps it
        bound = 1.0 / math.sqrt(in_channels * K)                      # 1/sqrt(fan_in), as torch's default
        self.weight = Parameter(init.place(init.uniform((out_channels, in_channels, K), bound, dtype), device))
        if bias:
            self.bias = Parameter(init.place(init.uniform((out_channels,), bound, dtype), device))
        else:
            self.register_parameter("bias", None)

    def forward(self, input):
        return F.conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,):
            s += f", padding={self.padding}"
        if self.dilation != (1,):
            s += f", dilation={self.dilation}"
        if self.bias is None:
            s += ", bias=False"
        return s


class MaxOverTime(Module):
    """Max-over-time pooling, (B, C, T) -> (B, C): ``F.max_over_time`` as a layer (it has no parameters).

    >>> import minigen, numpy as np
    >>> minigen.nn.MaxOverTime()(minigen.tensor(np.array([[[1.0, 3.0, 2.0]]]))).tolist()
    [[3.0]]
    """

    def forward(self, input):
        return F.max_over_time(input)
