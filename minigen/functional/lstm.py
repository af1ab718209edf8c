"""Autograd Functions over the LSTM kernels, and checked public wrappers."""

from __future__ import annotations

from ..autograd import Function
from ..kernels import lstm as K
from ._checks import as_tensor, check_recurrent_input, check_same_dtype, check_state_pair, recurrent_state


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


def _check(fn, input, hx, W_ih, W_hh, b_ih, b_hh, seq: bool):
    """Shapes and dtypes of one LSTM layer's arguments, with a message naming ``fn`` on a mismatch.

    Returns them as Tensors; a missing state (``hx`` None, or None for h or c) starts at zeros.
    """
    check_state_pair(fn, hx, "(h, c)", "(batch, hidden)")
    x, W_ih, W_hh, b_ih, b_hh = (as_tensor(a) for a in (input, W_ih, W_hh, b_ih, b_hh))
    if W_ih.ndim != 2 or W_hh.ndim != 2 or W_ih.shape[0] % 4 or W_hh.shape != (W_ih.shape[0], W_ih.shape[0] // 4):
        raise ValueError(f"{fn}: expected weight_ih (4H, C) and weight_hh (4H, H), got {W_ih.shape} and {W_hh.shape}")
    H, C = W_hh.shape[1], W_ih.shape[1]
    lead = "(seq, batch, " if seq else "(batch, "
    if x.ndim != (3 if seq else 2) or x.shape[-1] != C:
        raise ValueError(f"{fn}: expected input {lead}{C}), got {x.shape}")
    check_recurrent_input(fn, x, seq)
    B = x.shape[-2]
    h, c = (recurrent_state(fn, name, s, x, B, H) for name, s in zip(("h", "c"), hx or (None, None)))
    for name, t in (("h", h), ("c", c)):
        if t.shape != (B, H):
            raise ValueError(f"{fn}: expected {name} of shape {(B, H)}, got {t.shape}")
    for name, b in (("bias_ih", b_ih), ("bias_hh", b_hh)):
        if b is not None and b.shape != (4 * H,):
            raise ValueError(f"{fn}: expected {name} of shape {(4 * H,)}, got {b.shape}")
    check_same_dtype(fn, input=x, h=h, c=c, weight_ih=W_ih, weight_hh=W_hh, bias_ih=b_ih, bias_hh=b_hh)
    return x, h, c, W_ih, W_hh, b_ih, b_hh


def lstm_cell(input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One LSTM step: input (B, C), hx = (h, c) each (B, H), or None for zeros. Returns ``(h', c')``.

    Gates are packed i, f, g, o as in PyTorch; see ``minigen.kernels.lstm`` for the maths.
    """
    return LSTMCell.apply(*_check("lstm_cell", input, hx, weight_ih, weight_hh, bias_ih, bias_hh, seq=False))


def lstm(input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One LSTM layer over a time-major sequence: input (T, B, C), hx = (h0, c0) each (B, H), or None for zeros.

    Returns ``(output, (h_n, c_n))`` with output (T, B, H). The input projection of all
    steps is one matmul, and so is each weight gradient. Checks as ``gru``: T >= 1, a
    floating-point input, one dtype and one device for every argument.
    """
    out, h_n, c_n = LSTM.apply(*_check("lstm", input, hx, weight_ih, weight_hh, bias_ih, bias_hh, seq=True))
    return out, (h_n, c_n)
