"""Recurrent layers: ``RNN``, ``LSTM`` and ``GRU`` (stacked, whole sequences) and their cells.

Constructor arguments, defaults, return values and state-dict keys are those of
``torch.nn``: layer k has ``weight_ih_l{k}`` (G*H, C_k), ``weight_hh_l{k}`` (G*H, H),
``bias_ih_l{k}`` and ``bias_hh_l{k}`` (G*H,), with G = 1 (RNN), 3 (GRU: r, z, n)
or 4 (LSTM: i, f, g, o). Every parameter starts uniform in +-1/sqrt(H).

Shapes: T = time, B = batch, C = input_size, H = hidden_size, L = num_layers.
"""

from __future__ import annotations

import math

from .. import rules
from ..autograd import as_tensor
from ..autograd.ops import stack, transpose
from ..functional.activation import apply_dropout
from ..functional.lstm import LSTM as LSTMFunction
from ..functional.lstm import state_pair
from ..functional.recurrent import GRU as GRUFunction
from ..functional.recurrent import RNN as RNNFunction
from ..functional.recurrent import state_or_zeros
from . import init
from .module import Module, Parameter

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
_NOT_YET = "(False, 0) (others not supported yet)"


class RNNBase(Module):
    """Shared by RNN, LSTM and GRU: parameters, argument rules, layer stacking and dropout.

    ``forward`` is the edge: it checks the input and states as the user gave them, then
    runs each layer's autograd Function directly (``F.lstm`` and co. would check again).
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        sizes = {"input_size": input_size, "hidden_size": hidden_size, "num_layers": num_layers}
        input_size, hidden_size, num_layers = rules.positive_ints(name, **sizes)
        dropout = rules.probability(name, "dropout", dropout)
        bias, batch_first = rules.flags(name, bias=bias, batch_first=batch_first)
        extras = rules.flag(name, "bidirectional", bidirectional), rules.non_negative_int(name, "proj_size", proj_size)
        rules.require(extras == (False, 0), name, "(bidirectional, proj_size)", _NOT_YET, extras, NotImplementedError)
        init.check_dtype(name, dtype)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first, self.dropout = num_layers, bias, batch_first, dropout
        G, H = _GATES[mode], hidden_size
        bound = 1.0 / math.sqrt(H)
        for k in range(num_layers):
            C = input_size if k == 0 else H
            shapes = {f"weight_ih_l{k}": (G * H, C), f"weight_hh_l{k}": (G * H, H)}
            if bias:
                shapes.update({f"bias_ih_l{k}": (G * H,), f"bias_hh_l{k}": (G * H,)})
            for pname, shape in shapes.items():
                setattr(self, pname, Parameter(init.place(init.uniform(shape, bound, dtype), device)))

    def _layer_params(self, k: int):
        b = (getattr(self, f"bias_ih_l{k}"), getattr(self, f"bias_hh_l{k}")) if self.bias else (None, None)
        return (getattr(self, f"weight_ih_l{k}"), getattr(self, f"weight_hh_l{k}")) + b

    def _initial_state(self, hx, what: str, B: int, batched: bool, input):
        """hx given as (L, B, H) (or (L, H) unbatched), or zeros (L, B, H) when None."""
        L, H = self.num_layers, self.hidden_size
        hx = state_or_zeros(type(self).__name__, what, hx, (L, B, H) if batched else (L, H), input)
        return hx if batched else hx.reshape(L, 1, H)

    def _run(self, input, states):
        """Time-major stacked layers. ``states`` is a list (per state kind) of (L, B, H) tensors."""
        x = input
        finals = [[] for _ in states]
        for k in range(self.num_layers):
            x, layer_finals = self._layer(k, x, [s[k] for s in states])
            for acc, f in zip(finals, layer_finals):
                acc.append(f)
            if self.dropout > 0 and self.training and k < self.num_layers - 1:
                x = apply_dropout(x, self.dropout)
        return x, [stack(f, axis=0) for f in finals]

    def forward(self, input, hx=None):
        name, C = type(self).__name__, self.input_size
        input = rules.floating_array(name, "input", as_tensor(input))
        batched = input.ndim == 3
        want = ("seq", C) if input.ndim == 2 else ("batch", "seq", C) if self.batch_first else ("seq", "batch", C)
        steps = input.shape[1 if batched and self.batch_first else 0] if input.ndim in (2, 3) else 0
        ok = input.ndim in (2, 3) and input.shape[-1] == C and steps > 0
        rules.require(ok, name, "input", f"of shape {rules.shape_text(want)} with seq >= 1", f"shape {input.shape}")
        if not batched:
            input = input.reshape(input.shape[0], 1, input.shape[1])
        elif self.batch_first:
            input = transpose(input, 0, 1)                         # (B, T, C) -> (T, B, C)
        B = input.shape[1]
        if self.mode == "LSTM":
            h0, c0 = state_pair(name, hx, "(h_0, c_0)", "(num_layers, batch, hidden)")
            states = {"h_0": h0, "c_0": c0}
        else:
            states = {"hx": hx}
        states = {what: self._initial_state(s, what, B, batched, input) for what, s in states.items()}
        rules.same_dtype(name, weight_ih_l0=self.weight_ih_l0, input=input, **states)
        out, finals = self._run(input, list(states.values()))
        h_n, c_n = finals if self.mode == "LSTM" else (finals[0], None)
        if not batched:
            out = out.reshape(out.shape[0], out.shape[2])
            h_n = h_n.reshape(self.num_layers, self.hidden_size)
            if self.mode == "LSTM":
                c_n = c_n.reshape(self.num_layers, self.hidden_size)
        elif self.batch_first:
            out = transpose(out, 0, 1)                             # (T, B, H) -> (B, T, H)
        return (out, (h_n, c_n)) if self.mode == "LSTM" else (out, h_n)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        return s


class LSTM(RNNBase):
    """Long short-term memory over whole sequences, as ``torch.nn.LSTM``.

    ``forward(input, (h_0, c_0)=None) -> (output, (h_n, c_n))``. input is (T, B, C), or
    (B, T, C) with ``batch_first=True``, or unbatched (T, C); h_0, c_0, h_n, c_n are (L, B, H).

    >>> import minigen, numpy as np
    >>> lstm = minigen.nn.LSTM(8, 16, num_layers=2, batch_first=True)
    >>> out, (h, c) = lstm(minigen.tensor(np.zeros((4, 5, 8), np.float32)))
    >>> out.shape, h.shape
    ((4, 5, 16), (2, 4, 16))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype)

    def _layer(self, k, x, states):
        out, h, c = LSTMFunction.apply(x, *states, *self._layer_params(k))
        return out, (h, c)


class GRU(RNNBase):
    """Gated recurrent unit over whole sequences, as ``torch.nn.GRU`` (gates r, z, n).

    ``forward(input, h_0=None) -> (output, h_n)``; shapes as for ``LSTM``.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, 0, device, dtype)

    def _layer(self, k, x, states):
        out, h = GRUFunction.apply(x, states[0], *self._layer_params(k))
        return out, (h,)


class RNN(RNNBase):
    """Elman RNN, ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or relu), as ``torch.nn.RNN``."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        rules.choice("RNN", "nonlinearity", nonlinearity, ("tanh", "relu"))
        super().__init__("RNN_" + nonlinearity.upper(), input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype)
        self.nonlinearity = nonlinearity

    def _layer(self, k, x, states):
        out, h = RNNFunction.apply(x, states[0], *self._layer_params(k), nonlinearity=self.nonlinearity)
        return out, (h,)
