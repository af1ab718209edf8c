"""Recurrent layers: ``gru``, ``gru_cell``, ``rnn`` and ``rnn_cell``, as in PyTorch.

One layer, one direction. Sequences are time-major: input (T, B, C), hx (B, H),
output (T, B, H), h_n (B, H). Weights use PyTorch's layout: for the GRU
weight_ih (3H, C) and weight_hh (3H, H) with the gates in the order r, z, n;
for the RNN weight_ih (H, C) and weight_hh (H, H). Biases may be None.
"""

from __future__ import annotations

from .. import backend, rules
from ..autograd import Function, Tensor, as_tensor
from ..kernels import gru as KG
from ..kernels import rnn as KR


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


# ---------------------------------------------------------------------------- arguments

def state_or_zeros(fn: str, name: str, state, shape: tuple, like):
    """A recurrent state as a floating Tensor of ``shape``, or zeros of ``shape`` (``like``'s dtype and device)
    when it is None: the rule of every state argument, in ``F.<rnn>`` and the ``nn`` layers and cells."""
    if state is None:
        xp = backend.array_namespace(like.data)
        return Tensor(xp.zeros(shape, dtype=like.dtype, device=backend.device_of(like.data)))
    return rules.floating_array(fn, name, as_tensor(state), shape)


def layer_arguments(fn, gates, sequence, input, states, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One recurrent layer's (or cell's) arguments as Tensors, after the rules of every ``F.<rnn>`` function.

    input (T, B, C) for a sequence (T >= 1) or (B, C) for a cell; ``states`` maps each state's
    name to a (B, H) Tensor or array, or None for zeros; weight_ih (G*H, C), weight_hh (G*H, H),
    biases (G*H,) or None; one floating dtype and one device for all. Returns
    ``(input, [state, ...], weight_ih, weight_hh, bias_ih, bias_hh)``.
    """
    input, weight_ih, weight_hh, bias_ih, bias_hh = (as_tensor(a) for a in (input, weight_ih, weight_hh, bias_ih,
                                                                             bias_hh))
    rules.floating_array(fn, "input", input)
    rows = f"{gates}*hidden_size" if gates > 1 else "hidden_size"
    rules.floating_array(fn, "weight_hh", weight_hh, (rows, "hidden_size"))
    GH, H = weight_hh.shape
    rules.require(GH == gates * H, fn, "weight_hh", f"of shape ({rows}, hidden_size)", f"shape {weight_hh.shape}")
    C = rules.floating_array(fn, "weight_ih", weight_ih, (GH, "input_size")).shape[1]
    dims = ("seq", "batch", C) if sequence else ("batch", C)
    ok = input.ndim == len(dims) and input.shape[-1] == C and not (sequence and input.shape[0] == 0)
    want = rules.shape_text(dims) + (" with seq >= 1" if sequence else "")
    rules.require(ok, fn, "input", f"of shape {want} for weight_ih {weight_ih.shape}", f"shape {input.shape}")
    B = input.shape[-2]
    states = {name: state_or_zeros(fn, name, s, (B, H), input) for name, s in states.items()}
    biases = {"bias_ih": bias_ih, "bias_hh": bias_hh}
    for name, b in biases.items():
        rules.floating_array(fn, name, b, (GH,), optional=True)
    rules.same_dtype(fn, input=input, **states, weight_ih=weight_ih, weight_hh=weight_hh, **biases)
    return input, list(states.values()), weight_ih, weight_hh, bias_ih, bias_hh


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
    x, (h,), *weights = layer_arguments("gru", 3, True, input, {"hx": hx}, weight_ih, weight_hh, bias_ih, bias_hh)
    return GRU.apply(x, h, *weights)


def gru_cell(input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One GRU step, as ``torch.nn.GRUCell``: input (B, C), hx (B, H) (None: zeros) -> h' (B, H).

    >>> import minigen, minigen.functional as F, numpy as np
    >>> F.gru_cell(np.ones((2, 3)), np.ones((2, 4)), np.zeros((12, 3)), np.zeros((12, 4))).tolist()[0]
    [0.5, 0.5, 0.5, 0.5]
    """
    x, (h,), *weights = layer_arguments("gru_cell", 3, False, input, {"hx": hx}, weight_ih, weight_hh, bias_ih,
                                        bias_hh)
    return GRUCell.apply(x, h, *weights)


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
    rules.choice("rnn", "nonlinearity", nonlinearity, KR.NONLINEARITIES)
    x, (h,), *weights = layer_arguments("rnn", 1, True, input, {"hx": hx}, weight_ih, weight_hh, bias_ih, bias_hh)
    return RNN.apply(x, h, *weights, nonlinearity=nonlinearity)


def rnn_cell(input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
    """One Elman RNN step, as ``torch.nn.RNNCell``: input (B, C), hx (B, H) (None: zeros) -> h' (B, H)."""
    rules.choice("rnn_cell", "nonlinearity", nonlinearity, KR.NONLINEARITIES)
    x, (h,), *weights = layer_arguments("rnn_cell", 1, False, input, {"hx": hx}, weight_ih, weight_hh, bias_ih,
                                        bias_hh)
    return RNNCell.apply(x, h, *weights, nonlinearity=nonlinearity)
