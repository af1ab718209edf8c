"""Vanilla (Elman) RNN kernels, as ``torch.nn.RNN``: a cell and a time-major sequence.

Shapes: T = time, B = batch, C = input channels, H = hidden size.
Weights: W_ih (H, C), W_hh (H, H), b_ih (H,), b_hh (H,); biases may be None.

forward, one step (x (B, C), h_prev (B, H) -> h (B, H))
    a = x W_ih^T + b_ih + h_prev W_hh^T + b_hh
    h = act(a)              act = tanh or relu

backward, one step
    da = dh * act'(a)       tanh' = 1 - h^2,   relu' = 1 where h > 0, else 0
    dx = da W_ih     dh_prev = da W_hh     dW_ih = da^T x     dW_hh = da^T h_prev
    db_ih = db_hh = sum_B da

act' is read off the output h, so the backward needs h but not a.

Three kernels, in reading order:
    rnn_cell_forward / rnn_cell_backward              one step, the equations above as written
    rnn_forward_reference / rnn_backward_reference    a whole sequence as a student writes it: a loop over the cell
    rnn_forward / rnn_backward                        the same sequence, fast; equal to the reference to 1e-12
                                                      in float64, and its docstrings list what it changes and why
"""

from __future__ import annotations

from ..backend import array_namespace, device_of

NONLINEARITIES = ("tanh", "relu")


def _act_forward(a, nonlinearity):
    """h = act(a)."""
    xp = array_namespace(a)
    if nonlinearity == "tanh":
        return xp.tanh(a)
    return xp.clip(a, min=0.0)                                            # relu: max(a, 0)


def _act_backward(dh, h, nonlinearity):
    """da = dh * act'(a), with act' read off h = act(a)."""
    xp = array_namespace(dh)
    if nonlinearity == "tanh":
        da = 1.0 - h * h                                                  # tanh' = 1 - tanh^2
        da *= dh
        return da
    return xp.where(h > 0, dh, 0.0)                                       # relu' = 1 where a > 0 (so h > 0)


def _input_projection(x2, W_ih, b_ih, b_hh):
    """x W_ih^T + b_ih + b_hh: everything in ``a`` that does not depend on h_prev."""
    xp = array_namespace(x2)
    a = x2 @ xp.matrix_transpose(W_ih)
    if b_ih is not None:
        a += b_ih
    if b_hh is not None:
        a += b_hh
    return a


# ---------------------------------------------------------------------------- cell

def rnn_cell_forward(x, h_prev, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    """One RNN step: x (B, C), h_prev (B, H) -> h (B, H). Returns ``(h, cache)``."""
    xp = array_namespace(x)
    # 1. a = x W_ih^T + b_ih + h_prev W_hh^T + b_hh
    a = _input_projection(x, W_ih, b_ih, b_hh)                            # (B, H)
    a += h_prev @ xp.matrix_transpose(W_hh)
    # 2. h = act(a)
    h = _act_forward(a, nonlinearity)                                     # (B, H)
    return h, (x, h_prev, h, W_ih, W_hh, nonlinearity, b_ih is not None, b_hh is not None)


def rnn_cell_backward(dh, cache):
    """Returns ``(dx, dh_prev, dW_ih, dW_hh, db_ih, db_hh)``; a bias gradient is None without that bias."""
    xp = array_namespace(dh)
    x, h_prev, h, W_ih, W_hh, nonlinearity, has_b_ih, has_b_hh = cache
    # 2. forward was h = act(a), so da = dh * act'(a)
    da = _act_backward(dh, h, nonlinearity)                               # (B, H)
    # 1. forward was a = x W_ih^T + b_ih + h_prev W_hh^T + b_hh
    dx = da @ W_ih                                                        # (B, C)
    dh_prev = da @ W_hh                                                   # (B, H)
    dW_ih = xp.matrix_transpose(da) @ x                                   # (H, C)
    dW_hh = xp.matrix_transpose(da) @ h_prev                              # (H, H)
    db = xp.sum(da, axis=0) if has_b_ih or has_b_hh else None             # (H,)
    return dx, dh_prev, dW_ih, dW_hh, db if has_b_ih else None, db if has_b_hh else None


# ---------------------------------------------------------------------------- a whole sequence, as a student writes it

def rnn_forward_reference(x, h0, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    """``rnn_forward``'s reference twin: a loop over ``rnn_cell_forward``. Same arguments, same results."""
    xp = array_namespace(x)
    h = h0
    hs, caches = [], []
    for t in range(x.shape[0]):
        h, cache = rnn_cell_forward(x[t, ...], h, W_ih, W_hh, b_ih, b_hh, nonlinearity)
        hs.append(h)
        caches.append(cache)
    return (xp.stack(hs), h), (caches, h0)                                # out (T, B, H); h0 for its shape


def rnn_backward_reference(douts, cache):
    """BPTT through ``rnn_forward_reference``: ``rnn_cell_backward`` from the last step to the first."""
    caches, h0 = cache
    xp = array_namespace(h0)
    dout, dh = douts
    dh = xp.zeros_like(h0) if dh is None else dh                          # a gradient not given is zero
    dxs, dWs = [], []
    for t in reversed(range(len(caches))):
        if dout is not None:
            dh = dh + dout[t, ...]                                        # from the output at t, and from step t+1
        dx, dh, *dW = rnn_cell_backward(dh, caches[t])
        dxs.insert(0, dx)
        dWs.append(dW)                                                    # step t's [dW_ih, dW_hh, db_ih, db_hh]
    dW_ih, dW_hh, db_ih, db_hh = (None if g[0] is None else sum(g) for g in zip(*dWs))   # summed over the steps
    return xp.stack(dxs), dh, dW_ih, dW_hh, db_ih, db_hh


# ---------------------------------------------------------------------------- a whole sequence, fast

def rnn_forward(x, h0, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    """An RNN layer over a time-major sequence: x (T, B, C), h0 (B, H).

    Returns ``((out, h_n), cache)`` with out (T, B, H) the hidden state at every step and
    h_n (B, H) the last one: the same numbers as ``rnn_forward_reference``, which loops over
    ``rnn_cell_forward``.

    What it changes relative to that twin, and why (none of it changes the maths):

    1. The input projection of every step, both biases included (they only ever appear as
       their sum), is ONE (T*B, C) @ (C, H) product before the loop: one large matmul runs far
       faster than T small ones, and only h_{t-1} W_hh^T depends on the step before.
    2. The hidden states go into one buffer hs (T + 1, B, H), hs[0] = h0: it is the output
       (a view, no stacking) and, shifted by one, every h_prev the backward needs as one
       (T*B, H) matrix. The cache holds it and the inputs as one (T*B, C) matrix, not one
       cache per step.
    """
    xp = array_namespace(x)
    T, B, C = x.shape
    H = h0.shape[1]
    dev = device_of(x)
    # 1. x W_ih^T + b_ih + b_hh for every step in one product
    x2 = xp.reshape(x, (T * B, C))                                        # (T*B, C)
    a = xp.reshape(_input_projection(x2, W_ih, b_ih, b_hh), (T, B, H))   # (T, B, H)
    W_hhT = xp.matrix_transpose(W_hh)                                     # (H, H)
    # hs[0] = h0, hs[t + 1] = h_t: the output and, shifted by one, every h_prev
    hs = xp.empty((T + 1, B, H), dtype=x.dtype, device=dev)
    hs[0, ...] = h0
    h = h0
    # 2. the recurrence: a_t += h_{t-1} W_hh^T, h_t = act(a_t)
    for t in range(T):
        a_t = h @ W_hhT                                                   # (B, H)
        a_t += a[t, ...]
        h = _act_forward(a_t, nonlinearity)
        hs[t + 1, ...] = h
    out = hs[1:, ...]                                                     # (T, B, H)
    cache = (x2, hs, W_ih, W_hh, nonlinearity, b_ih is not None, b_hh is not None)
    return (out, h), cache


def rnn_backward(douts, cache):
    """Backpropagation through time through ``rnn_forward``. ``douts = (dout, dh_n)``, either may be None.

    Returns ``(dx, dh0, dW_ih, dW_hh, db_ih, db_hh)``, a bias gradient None without that bias:
    the same numbers as ``rnn_backward_reference``, which runs ``rnn_cell_backward`` from the
    last step to the first.

    What it changes relative to that twin, and why:

    1. The loop only fills the pre-activation gradients da_t, into one (T, B, H) buffer; what
       does not feed step t-1 leaves the loop. dx, dW_ih, dW_hh and db are then ONE product
       (or sum) each over all T*B rows, instead of three small products and a sum per step.
    2. dh collects the output's gradient in place (``dh += dout[t]``), on a copy of dh_n.
    3. db_ih and db_hh are one array, returned twice: both biases get sum_t sum_B da_t.
    """
    dout, dh_n = douts
    x2, hs, W_ih, W_hh, nonlinearity, has_b_ih, has_b_hh = cache
    xp = array_namespace(x2)
    T, B, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
    C = x2.shape[1]
    dev = device_of(x2)
    das = xp.empty((T, B, H), dtype=x2.dtype, device=dev)                 # da_t for every step
    # dh: the gradient reaching h_t, from the output at t and from step t + 1
    dh = xp.zeros((B, H), dtype=x2.dtype, device=dev) if dh_n is None else xp.asarray(dh_n, copy=True)
    # 2. the recurrence, backwards: forward was h_t = act(a_t), a_t = ... + h_{t-1} W_hh^T
    for t in range(T - 1, -1, -1):
        if dout is not None:
            dh += dout[t, ...]
        da = _act_backward(dh, hs[t + 1, ...], nonlinearity)              # (B, H)
        das[t, ...] = da
        dh = da @ W_hh                                                    # dh_{t-1}, (B, H)
    # 1. forward was a = x W_ih^T + b_ih + b_hh for all steps at once
    da2 = xp.reshape(das, (T * B, H))                                     # (T*B, H)
    h_prev2 = xp.reshape(hs[:-1, ...], (T * B, H))                        # (T*B, H): h_{t-1} for every t
    dx = xp.reshape(da2 @ W_ih, (T, B, C))                                # (T, B, C)
    dW_ih = xp.matrix_transpose(da2) @ x2                                 # (H, C)
    dW_hh = xp.matrix_transpose(da2) @ h_prev2                            # (H, H)
    db = xp.sum(da2, axis=0) if has_b_ih or has_b_hh else None            # (H,)
    return dx, dh, dW_ih, dW_hh, db if has_b_ih else None, db if has_b_hh else None
