"""``conv1d`` and ``max_over_time``: the text-CNN's convolution and pooling over the kernels in ``kernels.conv``."""

from __future__ import annotations

from .. import rules
from ..autograd import Function, as_tensor
from ..autograd.ops import reshape
from ..kernels import conv as K

_INPUT = "of shape (batch, in_channels, length) or (in_channels, length)"
_SHORT = "at least as long as the dilated kernel, dilation * (kernel_size - 1) + 1 = {}, once padded"
_GROUPS = "1 (grouped convolutions are not implemented)"


class Conv1d(Function):
    """Wraps ``kernels.conv.conv1d``: y = sum_k W[:, :, k] @ x_k + b."""

    def forward(self, x, W, b=None, stride=1, padding=0, dilation=1):
        y, self.cache = K.conv1d_forward(x, W, b, stride, padding, dilation)
        return y

    def backward(self, dy):
        return K.conv1d_backward(dy, self.cache)


def _single(fn: str, name: str, value, lo: int) -> int:
    """An int >= lo, given as PyTorch allows: ``2`` or ``(2,)``."""
    one = isinstance(value, (tuple, list)) and len(value) == 1
    return rules.integer(fn, name, value[0] if one else value, lo)


def conv1d_sizes(fn: str, kernel_size, stride, padding, dilation, groups):
    """The checked ``(kernel_size, stride, (left, right), dilation)``, each given as an int or a 1-tuple.

    ``padding`` may also be ``"valid"`` (none) or ``"same"`` (the output as long as the input;
    stride 1 only, as in PyTorch; an odd total pads one more on the right). ``groups`` must be 1,
    the only value implemented.
    ``nn.Conv1d``'s constructor calls this too, so both name a bad size the same way.
    """
    K, stride, dilation = (_single(fn, name, v, 1) for name, v in
                           (("kernel_size", kernel_size), ("stride", stride), ("dilation", dilation)))
    rules.require(rules.is_int(groups) and groups == 1, fn, "groups", _GROUPS, rules.describe(groups),
                  NotImplementedError)
    if not isinstance(padding, str):
        p = _single(fn, "padding", padding, 0)
        return K, stride, (p, p), dilation
    rules.choice(fn, "padding", padding, ("valid", "same"))
    rules.require(padding == "valid" or stride == 1, fn, "stride", "1 for padding='same' (as in PyTorch)", stride)
    total = dilation * (K - 1) if padding == "same" else 0
    return K, stride, (total // 2, total - total // 2), dilation


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (a cross-correlation) over time, as ``torch.nn.functional.conv1d``.

    input (B, C_in, T) or unbatched (C_in, T), weight (C_out, C_in, K), bias (C_out,) or None.
    ``stride``, ``padding`` and ``dilation`` are ints or 1-tuples; ``padding`` may also be
    ``"valid"`` or ``"same"``. The output is (B, C_out, T_out), T_out = floor((T + 2 padding -
    dilation (K - 1) - 1) / stride) + 1. Only ``groups=1`` is implemented.

    >>> import minigen, minigen.functional as F, numpy as np
    >>> x = minigen.tensor(np.arange(5.0).reshape(1, 1, 5))
    >>> F.conv1d(x, minigen.tensor(np.ones((1, 1, 2)))).tolist()       # sums of neighbours
    [[[1.0, 3.0, 5.0, 7.0]]]
    """
    fn = "conv1d"
    input, weight, bias = as_tensor(input), as_tensor(weight), as_tensor(bias)
    rules.floating_array(fn, "input", input)
    rules.floating_array(fn, "weight", weight, ("out_channels", "in_channels", "kernel_size"))
    O, C, Kw = weight.shape
    ok = input.ndim in (2, 3) and input.shape[-2] == C
    rules.require(ok, fn, "input", f"{_INPUT}, in_channels={C} (weight's)", f"shape {input.shape}")
    rules.require(Kw > 0, fn, "weight", "of a kernel_size >= 1", f"shape {weight.shape}")
    rules.floating_array(fn, "bias", bias, (O,), optional=True)
    rules.same_dtype(fn, input=input, weight=weight, bias=bias)
    _, stride, (left, right), dilation = conv1d_sizes(fn, Kw, stride, padding, dilation, groups)
    span, T = dilation * (Kw - 1) + 1, input.shape[-1]
    rules.require(left + T + right >= span, fn, "input", _SHORT.format(span), f"length {T} with padding {left, right}")
    batched = input.ndim == 3
    x = input if batched else reshape(input, (1, C, T))              # unbatched: (C, T) -> (1, C, T), and back below
    y = Conv1d.apply(x, weight, bias, stride=stride, padding=(left, right), dilation=dilation)
    return y if batched else reshape(y, y.shape[1:])


class MaxOverTime(Function):
    """Wraps ``kernels.conv.max_over_time``: y[b, c] = max_t x[b, c, t]."""

    def forward(self, x):
        y, self.cache = K.max_over_time_forward(x)
        return y

    def backward(self, dy):
        return K.max_over_time_backward(dy, self.cache)


def max_over_time(input):
    """Max-over-time pooling, (B, C, T) -> (B, C): each feature map keeps its largest value.

    The text-CNN's pooling (Collobert et al. 2011, Kim 2014); in PyTorch,
    ``F.max_pool1d(x, x.shape[2]).squeeze(2)`` or ``x.max(dim=2).values``. The gradient
    goes to the first position that reaches the max.

    >>> import minigen, minigen.functional as F, numpy as np
    >>> F.max_over_time(minigen.tensor(np.array([[[1.0, 5.0, 2.0], [0.0, -1.0, 3.0]]]))).tolist()
    [[5.0, 3.0]]
    """
    input = rules.floating_array("max_over_time", "input", as_tensor(input), ("batch", "channels", "length"))
    rules.require(input.shape[2] > 0, "max_over_time", "input", "of length >= 1", f"shape {input.shape}")
    return MaxOverTime.apply(input)
