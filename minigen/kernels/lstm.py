"""LSTM kernels: one cell step, and a whole sequence with backpropagation through time.

Shapes: T = time, B = batch, C = input features, H = hidden size.
Parameters follow PyTorch's layout, with the four gates packed in the order i, f, g, o:

    W_ih (4H, C)   W_hh (4H, H)   b_ih (4H,)   b_hh (4H,)     rows [0:H] = i, [H:2H] = f, [2H:3H] = g, [3H:4H] = o

Forward, one step:
    a = x W_ih^T + b_ih + h_prev W_hh^T + b_hh        (B, 4H) pre-activations, split into a_i, a_f, a_g, a_o
    i = sigmoid(a_i)   f = sigmoid(a_f)   g = tanh(a_g)   o = sigmoid(a_o)
    c = f * c_prev + i * g
    h = o * tanh(c)

Backward, one step (given dh and dc flowing in from above and from step t+1):
    forward was h = o * tanh(c),            so  do = dh * tanh(c),   dc += dh * o * (1 - tanh(c)^2)
    forward was c = f * c_prev + i * g,     so  di = dc * g,  df = dc * c_prev,  dg = dc * i,  dc_prev = dc * f
    forward was i = sigmoid(a_i) (f, o too), so  da_i = di * i * (1 - i)
    forward was g = tanh(a_g),              so  da_g = dg * (1 - g^2)
    forward was a = x W_ih^T + h_prev W_hh^T + b,
                                            so  dx = da W_ih,  dh_prev = da W_hh,
                                                dW_ih += da^T x,  dW_hh += da^T h_prev,  db += sum_B da
"""

from __future__ import annotations

import functools

from ..backend import _dtype_name, array_namespace, asarray_like, device_of, host_array

# ---------------------------------------------------------------------------- one cell step


def _sigmoid(xp, a):
    return 0.5 * xp.tanh(0.5 * a) + 0.5                 # = 1 / (1 + exp(-a)), and never overflows


def lstm_cell_forward(x, h_prev, c_prev, W_ih, W_hh, b_ih=None, b_hh=None):
    """One LSTM step. x (B, C), h_prev and c_prev (B, H). Returns ``((h, c), cache)``."""
    xp = array_namespace(x)
    H = W_hh.shape[1]
    a = x @ xp.matrix_transpose(W_ih) + h_prev @ xp.matrix_transpose(W_hh)    # (B, 4H)
    if b_ih is not None:
        a += b_ih
    if b_hh is not None:
        a += b_hh
    i = _sigmoid(xp, a[:, 0:H])
    f = _sigmoid(xp, a[:, H:2 * H])
    g = xp.tanh(a[:, 2 * H:3 * H])
    o = _sigmoid(xp, a[:, 3 * H:4 * H])
    c = f * c_prev + i * g
    tc = xp.tanh(c)
    h = o * tc
    return (h, c), (x, h_prev, c_prev, W_ih, W_hh, i, f, g, o, tc, b_ih is not None, b_hh is not None)


def lstm_cell_backward(douts, cache):
    """Returns ``(dx, dh_prev, dc_prev, dW_ih, dW_hh, db_ih, db_hh)``; ``douts = (dh, dc)``, either may be None."""
    xp = array_namespace(cache[0])
    x, h_prev, c_prev, W_ih, W_hh, i, f, g, o, tc, has_bih, has_bhh = cache
    dh, dc = douts
    dh = xp.zeros_like(tc) if dh is None else dh
    dc = xp.zeros_like(tc) if dc is None else dc
    # forward was h = o * tanh(c)
    do = dh * tc
    dc = dc + dh * o * (1 - tc * tc)
    # forward was c = f * c_prev + i * g
    di, df, dg, dc_prev = dc * g, dc * c_prev, dc * i, dc * f
    # forward was i, f, o = sigmoid(.), g = tanh(.)
    da = xp.concat([di * i * (1 - i), df * f * (1 - f), dg * (1 - g * g), do * o * (1 - o)], axis=1)  # (B, 4H)
    # forward was a = x W_ih^T + h_prev W_hh^T + b
    dx = da @ W_ih
    dh_prev = da @ W_hh
    dW_ih = xp.matrix_transpose(da) @ x
    dW_hh = xp.matrix_transpose(da) @ h_prev
    db = xp.sum(da, axis=0)
    return dx, dh_prev, dc_prev, dW_ih, dW_hh, (db if has_bih else None), (db if has_bhh else None)


# ---------------------------------------------------------------------------- a whole sequence

def _gate_scale(xp, H, like):
    """m = [1/2 (i, f), 1 (g), 1/2 (o)] over the 4H packed gates, and the shift s = [1/2, 0, 1/2].

    sigmoid(a) = 0.5 * tanh(a / 2) + 0.5, so with u = a * m one tanh over the whole packed
    (B, 4H) array gives every gate: act = tanh(u) * m + s.
    """
    m, s = _gate_scale_host(H, _dtype_name(like.dtype))
    return asarray_like(m, like), asarray_like(s, like)


@functools.lru_cache(maxsize=64)
def _gate_scale_host(H, dtype):
    """``_gate_scale``'s two vectors as host arrays, built once per size (generation calls the kernel per token)."""
    m = host_array([0.5] * (2 * H) + [1.0] * H + [0.5] * H, dtype)
    s = host_array([0.5] * (2 * H) + [0.0] * H + [0.5] * H, dtype)
    m.flags.writeable = s.flags.writeable = False                     # shared between calls
    return m, s


def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih=None, b_hh=None):
    """An LSTM layer over a whole sequence, time-major: x (T, B, C), h0 and c0 (B, H).

    Returns ``((out, h_n, c_n), cache)`` with out (T, B, H) the hidden state at every step.

    Three things make it fast, none of which changes the maths above:

    1. The input projection of all T steps is ONE (4H, C) @ (C, T*B) matmul; the time
       loop does only the recurrent product and the gate arithmetic.
    2. Inside the loop the state is held column-wise, as h^T (H, B): the recurrent
       product is then W_hh @ h^T, a (4H, H) @ (H, B) product that BLAS runs markedly
       faster than h @ W_hh^T, and the four gates are contiguous row blocks of one
       packed (4H, B) array, so every elementwise pass reads contiguous memory.
    3. One tanh over the packed gates gives all four activations (see ``_gate_scale``).
    """
    xp = array_namespace(x)
    T, B, C = x.shape
    H = W_hh.shape[1]
    dev = device_of(x)
    m, s = _gate_scale(xp, H, x)
    m_col, s_col = m[:, None], s[:, None]                               # (4H, 1)
    # The scale m goes into the weights (rows of i, f, o halved) when that is cheaper than
    # scaling u at every step: for training's long sequences, not for generation's T = B = 1.
    scale_weights = T * B >= C + H
    W_hh_m, W_ih_m = (W_hh * m_col, W_ih * m_col) if scale_weights else (W_hh, W_ih)
    # 1. the input projection of every step at once, biases folded in: (W_ih x^T + b) * m
    x2 = xp.reshape(x, (T * B, C))                                      # (T*B, C)
    u_x = W_ih_m @ xp.matrix_transpose(x2)                              # (4H, T*B)
    for b in (b_ih, b_hh):
        if b is not None:
            u_x += (b * m if scale_weights else b)[:, None]
    u_x = xp.reshape(u_x, (4 * H, T, B))                                # step t is u_x[:, t, :]
    acts = xp.empty((T, 4 * H, B), dtype=x.dtype, device=dev)           # gates [i; f; g; o] per step
    hs = xp.empty((T + 1, H, B), dtype=x.dtype, device=dev)             # hs[0] = h0^T, hs[t+1] = h_t^T
    cs = xp.empty((T + 1, H, B), dtype=x.dtype, device=dev)             # cs[0] = c0^T, cs[t+1] = c_t^T
    tcs = xp.empty((T, H, B), dtype=x.dtype, device=dev)                # tanh(c_t)^T
    h, c = xp.matrix_transpose(h0), xp.matrix_transpose(c0)             # (H, B)
    hs[0, ...], cs[0, ...] = h, c
    # 2. the recurrence, column-wise
    for t in range(T):
        u = W_hh_m @ h                                                  # (4H, B)
        u += u_x[:, t, :]
        if not scale_weights:
            u *= m_col
        act = xp.tanh(u)
        act *= m_col
        act += s_col                                                    # [i; f; g; o]
        i, f, g, o = act[:H, :], act[H:2 * H, :], act[2 * H:3 * H, :], act[3 * H:, :]
        c = f * c
        c += i * g                                                      # c = f * c_prev + i * g
        tc = xp.tanh(c)
        h = o * tc                                                      # h = o * tanh(c)
        acts[t, ...], cs[t + 1, ...], tcs[t, ...], hs[t + 1, ...] = act, c, tc, h
    out = xp.permute_dims(hs[1:, ...], (0, 2, 1))                       # (T, H, B) -> (T, B, H)
    cache = (x2, hs, cs, acts, tcs, W_ih, W_hh, b_ih is not None, b_hh is not None)
    return (xp.asarray(out, copy=True), xp.matrix_transpose(h), xp.matrix_transpose(c)), cache


def lstm_backward(douts, cache):
    """BPTT through ``lstm_forward``. ``douts = (dout, dh_n, dc_n)``, any may be None.

    Returns ``(dx, dh0, dc0, dW_ih, dW_hh, db_ih, db_hh)``. The loop runs backwards over
    time, column-wise like the forward, and only fills the pre-activation gradients
    da_t; dx and the weight gradients are then ONE matmul each over all T steps.
    """
    x2, hs, cs, acts, tcs, W_ih, W_hh, has_bih, has_bhh = cache
    xp = array_namespace(x2)
    T, H, B = tcs.shape
    C = x2.shape[1]
    dev = device_of(x2)
    dout, dh_n, dc_n = douts
    da = xp.empty((4 * H, T, B), dtype=x2.dtype, device=dev)           # da_t^T is da[:, t, :]
    W_hhT = xp.empty((H, 4 * H), dtype=W_hh.dtype, device=dev)
    W_hhT[...] = xp.matrix_transpose(W_hh)                              # row-major copy, used T times
    zeros = xp.zeros((H, B), dtype=x2.dtype, device=dev)
    dh = zeros if dh_n is None else xp.matrix_transpose(dh_n)           # (H, B)
    dc = zeros if dc_n is None else xp.matrix_transpose(dc_n)
    dout_col = None if dout is None else xp.permute_dims(dout, (0, 2, 1))  # (T, H, B)
    for t in range(T - 1, -1, -1):
        if dout_col is not None:
            dh = dh + dout_col[t, ...]                                 # from the output and from step t+1
        act, tc, c_prev = acts[t, ...], tcs[t, ...], cs[t, ...]
        i, f, g, o = act[:H, :], act[H:2 * H, :], act[2 * H:3 * H, :], act[3 * H:, :]
        # forward was h = o * tanh(c)
        dtc = dh * o
        dtc *= 1 - tc * tc
        dc = dc + dtc
        # forward was c = f * c_prev + i * g, then each gate's own derivative:
        # sigmoid' = s (1 - s), tanh' = 1 - g^2
        da_t = da[:, t, :]                                             # (4H, B)
        da_t[:H, :] = dc * g * (i - i * i)                             # da_i = (dc * g) * i (1 - i)
        da_t[H:2 * H, :] = dc * c_prev * (f - f * f)                   # da_f = (dc * c_prev) * f (1 - f)
        da_t[2 * H:3 * H, :] = dc * i * (1 - g * g)                    # da_g = (dc * i) * (1 - g^2)
        da_t[3 * H:, :] = dh * tc * (o - o * o)                        # da_o = (dh * tanh c) * o (1 - o)
        dc = dc * f                                                    # dc_prev
        dh = W_hhT @ da_t                                              # dh_prev^T: forward was a += W_hh h_prev
    # forward was a_t = W_ih x_t + W_hh h_{t-1} + b for every t: one matmul each
    da2 = xp.reshape(da, (4 * H, T * B))                               # (4H, T*B)
    dx = xp.reshape(xp.matrix_transpose(da2) @ W_ih, (T, B, C))
    dW_ih = da2 @ x2                                                   # (4H, C)
    h_prev = xp.reshape(xp.permute_dims(hs[:-1, ...], (0, 2, 1)), (T * B, H))   # h_{t-1} for every t
    dW_hh = da2 @ h_prev                                               # (4H, H)
    # the bias gradient sums da over its T*B columns; a product with a ones vector is that
    # sum, run by BLAS on all its threads
    db = da2 @ xp.ones((T * B,), dtype=x2.dtype, device=dev) if has_bih or has_bhh else None
    dh0, dc0 = xp.matrix_transpose(dh), xp.matrix_transpose(dc)
    return dx, dh0, dc0, dW_ih, dW_hh, (db if has_bih else None), (db if has_bhh else None)
