"""Autograd Functions over the LSTM kernels, and the public ``lstm`` and ``lstm_cell``."""

from __future__ import annotations

from .. import rules
from ..autograd import Function
from ..kernels import lstm as K
from .recurrent import layer_arguments


class LSTMCell(Function):
    """Wraps ``kernels.lstm.lstm_cell``: one step, outputs (h, c)."""

    def forward(self, x, h, c, W_ih, W_hh, b_ih=None, b_hh=None):
        out, self.cache = K.lstm_cell_forward(x, h, c, W_ih, W_hh, b_ih, b_hh)
        return out

    def backward(self, dh, dc):
        return K.lstm_cell_backward((dh, dc), self.cache)


class LSTM(Function):
    """Wraps ``kernels.lstm.lstm``: a whole sequence, outputs (out, h_n, c_n)."""

    def forward(self, x, h0, c0, W_ih, W_hh, b_ih=None, b_hh=None):
        out, self.cache = K.lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh)
        return out

    def backward(self, dout, dh_n, dc_n):
        return K.lstm_backward((dout, dh_n, dc_n), self.cache)


def state_pair(fn: str, hx, names: str = "(h, c)", shape: str = "(batch, hidden)"):
    """An LSTM's ``hx`` as (h, c): a pair, or None for (None, None). A lone Tensor would unpack along axis 0."""
    if hx is None:
        return None, None
    pair = isinstance(hx, (tuple, list))
    got = f"a {type(hx).__name__} of length {len(hx)}" if pair else rules.describe(hx)
    rules.require(pair and len(hx) == 2, fn, "hx", f"a pair {names} of {shape} tensors, or None", got, TypeError)
    return hx


def _lstm_arguments(fn, sequence, input, hx, *weights):
    """``layer_arguments`` for an LSTM, whose state is a pair."""
    h, c = state_pair(fn, hx)
    return layer_arguments(fn, 4, sequence, input, {"h": h, "c": c}, *weights)


def lstm_cell(input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One LSTM step: input (B, C), hx = (h, c) each (B, H), or None for zeros. Returns ``(h', c')``.

    Gates are packed i, f, g, o as in PyTorch; see ``minigen.kernels.lstm`` for the maths.
    """
    x, (h, c), *weights = _lstm_arguments("lstm_cell", False, input, hx, weight_ih, weight_hh, bias_ih, bias_hh)
    return LSTMCell.apply(x, h, c, *weights)


def lstm(input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One LSTM layer over a time-major sequence: input (T, B, C), hx = (h0, c0) each (B, H), or None for zeros.

    Returns ``(output, (h_n, c_n))`` with output (T, B, H). The input projection of all
    steps is one matmul, and so is each weight gradient. Rules as ``gru``: T >= 1, a
    floating-point input, one dtype and one device for every argument.
    """
    x, (h, c), *weights = _lstm_arguments("lstm", True, input, hx, weight_ih, weight_hh, bias_ih, bias_hh)
    out, h_n, c_n = LSTM.apply(x, h, c, *weights)
    return out, (h_n, c_n)
