"""Recurrent layers: ``gru``, ``gru_cell``, ``rnn`` and ``rnn_cell``, as in PyTorch.

One layer, one direction. Sequences are time-major: input (T, B, C), hx (B, H),
output (T, B, H), h_n (B, H). Weights use PyTorch's layout: for the GRU
weight_ih (3H, C) and weight_hh (3H, H) with the gates in the order r, z, n;
for the RNN weight_ih (H, C) and weight_hh (H, H). Biases may be None.
"""

from __future__ import annotations

from ..autograd import Function
from ..kernels import gru as KG
from ..kernels import rnn as KR
from ._checks import as_tensor, check_recurrent_input, check_same_dtype, recurrent_state


class GRU(Function):
    """Wraps ``kernels.gru.gru_forward/gru_backward``: outputs (out, h_n)."""

    def forward(self, x, h0, W_ih, W_hh, b_ih=None, b_hh=None):
        (out, h_n), self.cache = KG.gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh)
        return out, h_n

    def backward(self, dout, dh_n):
        return KG.gru_backward((dout, dh_n), self.cache)


class GRUCell(Function):
    """Wraps ``kernels.gru.gru_cell_forward/gru_cell_backward``."""

    def forward(self, x, h_prev, W_ih, W_hh, b_ih=None, b_hh=None):
        h, self.cache = KG.gru_cell_forward(x, h_prev, W_ih, W_hh, b_ih, b_hh)
        return h

    def backward(self, dh):
        return KG.gru_cell_backward(dh, self.cache)


class RNN(Function):
    """Wraps ``kernels.rnn.rnn_forward/rnn_backward``: outputs (out, h_n)."""

    def forward(self, x, h0, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
        (out, h_n), self.cache = KR.rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh, nonlinearity)
        return out, h_n

    def backward(self, dout, dh_n):
        return KR.rnn_backward((dout, dh_n), self.cache)


class RNNCell(Function):
    """Wraps ``kernels.rnn.rnn_cell_forward/rnn_cell_backward``."""

    def forward(self, x, h_prev, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
        h, self.cache = KR.rnn_cell_forward(x, h_prev, W_ih, W_hh, b_ih, b_hh, nonlinearity)
        return h

    def backward(self, dh):
        return KR.rnn_cell_backward(dh, self.cache)


# ---------------------------------------------------------------------------- argument checks

def _check(fn, gates, sequence, input, hx, weight_ih, weight_hh, bias_ih, bias_hh):
    """Shapes and dtypes of a recurrent layer's arguments; returns them as Tensors (hx zeros if None)."""
    input, weight_ih, weight_hh = as_tensor(input), as_tensor(weight_ih), as_tensor(weight_hh)
    bias_ih, bias_hh = as_tensor(bias_ih), as_tensor(bias_hh)
    rows = f"{gates}*hidden_size" if gates > 1 else "hidden_size"
    if weight_hh.ndim != 2 or weight_hh.shape[0] != gates * weight_hh.shape[1]:
        raise ValueError(f"{fn}: weight_hh must have shape ({rows}, hidden_size), got {weight_hh.shape}")
    GH, H = weight_hh.shape
    if weight_ih.ndim != 2 or weight_ih.shape[0] != GH:
        raise ValueError(f"{fn}: weight_ih of shape {weight_ih.shape} does not match weight_hh of shape "
                         f"{weight_hh.shape}: expected ({GH}, input_size)")
    C = weight_ih.shape[1]
    want = "(seq, batch, " if sequence else "(batch, "
    if input.ndim != (3 if sequence else 2) or input.shape[-1] != C:
        raise ValueError(f"{fn}: input of shape {input.shape} does not match weight_ih of shape "
                         f"{weight_ih.shape}: expected {want}{C})")
    check_recurrent_input(fn, input, sequence)
    B = input.shape[-2]
    hx = recurrent_state(fn, "hx", hx, input, B, H)
    if hx.shape != (B, H):
        raise ValueError(f"{fn}: hx of shape {hx.shape} does not match input of shape {input.shape} and "
                         f"weight_hh of shape {weight_hh.shape}: expected ({B}, {H})")
    for name, b in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        if b is not None and b.shape != (GH,):
            raise ValueError(f"{fn}: {name} must have shape ({GH},), got {b.shape}")
    check_same_dtype(fn, input=input, hx=hx, weight_ih=weight_ih, weight_hh=weight_hh,
                     bias_ih=bias_ih, bias_hh=bias_hh)
    return input, hx, weight_ih, weight_hh, bias_ih, bias_hh


def _check_nonlinearity(fn, nonlinearity):
    if nonlinearity not in KR.NONLINEARITIES:
        raise ValueError(f"{fn}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


# ---------------------------------------------------------------------------- public functions

def gru(input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One GRU layer over a time-major sequence, as ``torch.nn.GRU`` with ``num_layers=1``.

    input (T, B, C), hx (B, H) (None: zeros), weight_ih (3H, C), weight_hh (3H, H),
    biases (3H,) or None, gates in the order r, z, n. Returns ``(output, h_n)``:
    output (T, B, H) is the hidden state at every step, h_n (B, H) the last one.

    >>> import minigen, minigen.functional as F, numpy as np
    >>> out, h_n = F.gru(np.ones((5, 2, 3)), None, np.zeros((12, 3)), np.zeros((12, 4)))
    >>> out.shape, h_n.shape
    ((5, 2, 4), (2, 4))
    """
    args = _check("gru", 3, True, input, hx, weight_ih, weight_hh, bias_ih, bias_hh)
    return GRU.apply(*args)


def gru_cell(input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One GRU step, as ``torch.nn.GRUCell``: input (B, C), hx (B, H) (None: zeros) -> h' (B, H).

    >>> import minigen, minigen.functional as F, numpy as np
    >>> F.gru_cell(np.ones((2, 3)), np.ones((2, 4)), np.zeros((12, 3)), np.zeros((12, 4))).tolist()[0]
    [0.5, 0.5, 0.5, 0.5]
    """
    args = _check("gru_cell", 3, False, input, hx, weight_ih, weight_hh, bias_ih, bias_hh)
    return GRUCell.apply(*args)


def rnn(input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
    """One Elman RNN layer over a time-major sequence, as ``torch.nn.RNN`` with ``num_layers=1``.

    h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act = tanh or relu.
    input (T, B, C), hx (B, H) (None: zeros), weight_ih (H, C), weight_hh (H, H),
    biases (H,) or None. Returns ``(output, h_n)`` with output (T, B, H), h_n (B, H).

    >>> import minigen, minigen.functional as F, numpy as np
    >>> out, h_n = F.rnn(np.ones((5, 2, 3)), None, np.ones((4, 3)), np.zeros((4, 4)), nonlinearity="relu")
    >>> h_n.tolist()[0]
    [3.0, 3.0, 3.0, 3.0]
    """
    _check_nonlinearity("rnn", nonlinearity)
    args = _check("rnn", 1, True, input, hx, weight_ih, weight_hh, bias_ih, bias_hh)
    return RNN.apply(*args, nonlinearity=nonlinearity)


def rnn_cell(input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
    """One Elman RNN step, as ``torch.nn.RNNCell``: input (B, C), hx (B, H) (None: zeros) -> h' (B, H)."""
    _check_nonlinearity("rnn_cell", nonlinearity)
    args = _check("rnn_cell", 1, False, input, hx, weight_ih, weight_hh, bias_ih, bias_hh)
    return RNNCell.apply(*args, nonlinearity=nonlinearity)
