"""Single-step recurrent cells: ``RNNCell``, ``LSTMCell``, ``GRUCell``, as in ``torch.nn``.

A cell takes one time step, input (B, C) and state (B, H), and is what a decoder
that feeds its own output back (greedy decoding, seq2seq with attention) steps
with. Parameters ``weight_ih`` (G*H, C), ``weight_hh`` (G*H, H), ``bias_ih`` and
``bias_hh`` (G*H,), uniform in +-1/sqrt(H).
"""

from __future__ import annotations

import math

from .. import functional as F
from ..autograd import Tensor
from .. import backend
from ..backend import array_namespace, device_of
from ..functional._checks import check_state_pair
from . import init
from ._checks import as_input, check_flag, check_size
from .module import Module, Parameter


class _CellBase(Module):
    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        input_size = check_size(name, "input_size", input_size)
        hidden_size = check_size(name, "hidden_size", hidden_size)
        check_flag(name, "bias", bias)
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
        """Check the input, add a batch axis to unbatched input, and make missing states zeros."""
        name = type(self).__name__
        input = as_input(name, input)
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(f"{name} expected input (batch, {self.input_size}) or ({self.input_size},), "
                             f"got {input.shape}")
        batched = input.ndim == 2
        x = input if batched else input.reshape(1, self.input_size)
        B, H = x.shape[0], self.hidden_size
        out = []
        for what, s in zip(names, states):
            if s is not None and not isinstance(s, Tensor):
                if not backend.is_array(s):
                    raise TypeError(f"{name}: {what} must be a Tensor of shape (batch, hidden) or None, "
                                    f"got {type(s).__name__}")
                s = Tensor(s)
            if s is None:
                xp = array_namespace(x.data)
                s = Tensor(xp.zeros((B, H), dtype=x.dtype, device=device_of(x.data)))
            elif s.shape != ((B, H) if batched else (H,)):
                raise ValueError(f"{name} expected {what} of shape {(B, H) if batched else (H,)}, got {s.shape}")
            elif not batched:
                s = s.reshape(1, H)
            out.append(s)
        return x, out, batched

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class LSTMCell(_CellBase):
    """One LSTM step: ``forward(input, (h, c)=None) -> (h', c')``."""

    gates = 4

    def forward(self, input, hx=None):
        check_state_pair("LSTMCell", hx, "(h_0, c_0)", "(batch, hidden)")
        h, c = (None, None) if hx is None else hx
        x, (h, c), batched = self._prepare(input, [h, c], names=("h_0", "c_0"))
        h, c = F.lstm_cell(x, (h, c), *self._params())
        return (h, c) if batched else (h.reshape(self.hidden_size), c.reshape(self.hidden_size))


class GRUCell(_CellBase):
    """One GRU step: ``forward(input, h=None) -> h'``."""

    gates = 3

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, [hx])
        h = F.gru_cell(x, h, *self._params())
        return h if batched else h.reshape(self.hidden_size)


class RNNCell(_CellBase):
    """One Elman RNN step: ``forward(input, h=None) -> h'`` with tanh or relu."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, [hx])
        h = F.rnn_cell(x, h, *self._params(), nonlinearity=self.nonlinearity)
        return h if batched else h.reshape(self.hidden_size)
