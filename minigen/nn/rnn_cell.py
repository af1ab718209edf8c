"""Single-step recurrent cells: ``RNNCell``, ``LSTMCell``, ``GRUCell``, as in ``torch.nn``.

A cell takes one time step, input (B, C) and state (B, H), and is what a decoder
that feeds its own output back (greedy decoding, seq2seq with attention) steps
with. Parameters ``weight_ih`` (G*H, C), ``weight_hh`` (G*H, H), ``bias_ih`` and
``bias_hh`` (G*H,), uniform in +-1/sqrt(H).
"""

from __future__ import annotations

import math

from .. import rules
from ..autograd import as_tensor
from ..functional.lstm import LSTMCell as LSTMCellFunction
from ..functional.lstm import state_pair
from ..functional.recurrent import GRUCell as GRUCellFunction
from ..functional.recurrent import RNNCell as RNNCellFunction
from ..functional.recurrent import state_or_zeros
from . import init
from .module import Module, Parameter


class _CellBase(Module):
    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        input_size, hidden_size = rules.positive_ints(name, input_size=input_size, hidden_size=hidden_size)
        bias = rules.flag(name, "bias", bias)
        init.check_dtype(name, dtype)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        G, H, bound = self.gates, hidden_size, 1.0 / math.sqrt(hidden_size)
        shapes = {"weight_ih": (G * H, input_size), "weight_hh": (G * H, H)}
        if bias:
            shapes.update(bias_ih=(G * H,), bias_hh=(G * H,))
        for name, shape in shapes.items():
            setattr(self, name, Parameter(init.place(init.uniform(shape, bound, dtype), device)))
        if not bias:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)

    def _params(self):
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def _prepare(self, input, states, names=("hx",)):
        """The rules of a cell's call; adds a batch axis to unbatched input and makes missing states zeros."""
        name, C, H = type(self).__name__, self.input_size, self.hidden_size
        input = rules.floating_array(name, "input", as_tensor(input))
        ok = input.ndim in (1, 2) and input.shape[-1] == C
        rules.require(ok, name, "input", f"of shape (batch, {C}) or ({C},)", f"shape {input.shape}")
        batched = input.ndim == 2
        x = input if batched else input.reshape(1, self.input_size)
        B = x.shape[0]
        out = [state_or_zeros(name, what, s, (B, H) if batched else (H,), x) for what, s in zip(names, states)]
        rules.same_dtype(name, weight_ih=self.weight_ih, input=input, **dict(zip(names, out)))
        return x, [s if s.ndim == 2 else s.reshape(1, H) for s in out], batched

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class LSTMCell(_CellBase):
    """One LSTM step: ``forward(input, (h, c)=None) -> (h', c')``."""

    gates = 4

    def forward(self, input, hx=None):
        hx = state_pair("LSTMCell", hx, "(h_0, c_0)")
        x, (h, c), batched = self._prepare(input, hx, names=("h_0", "c_0"))
        h, c = LSTMCellFunction.apply(x, h, c, *self._params())
        return (h, c) if batched else (h.reshape(self.hidden_size), c.reshape(self.hidden_size))


class GRUCell(_CellBase):
    """One GRU step: ``forward(input, h=None) -> h'``."""

    gates = 3

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, [hx])
        h = GRUCellFunction.apply(x, h, *self._params())
        return h if batched else h.reshape(self.hidden_size)


class RNNCell(_CellBase):
    """One Elman RNN step: ``forward(input, h=None) -> h'`` with tanh or relu."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        rules.choice("RNNCell", "nonlinearity", nonlinearity, ("tanh", "relu"))
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, [hx])
        h = RNNCellFunction.apply(x, h, *self._params(), nonlinearity=self.nonlinearity)
        return h if batched else h.reshape(self.hidden_size)
