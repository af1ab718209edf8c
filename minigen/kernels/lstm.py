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

from ..backend import array_namespace, device_of

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
    half = xp.full((H,), 0.5, dtype=like.dtype, device=device_of(like))
    one = xp.ones((H,), dtype=like.dtype, device=device_of(like))
    zero = xp.zeros((H,), dtype=like.dtype, device=device_of(like))
    return xp.concat([half, half, one, half]), xp.concat([half, half, zero, half])


def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih=None, b_hh=None):
    """An LSTM layer over a whole sequence, time-major: x (T, B, C), h0 and c0 (B, H).

    Returns ``((out, h_n, c_n), cache)`` with out (T, B, H) the hidden state at every step.

    The input projection of all T steps is ONE (T*B, C) @ (C, 4H) matmul; the time loop
    does only the recurrent (B, H) @ (H, 4H) product and the gate arithmetic, on one
    packed (B, 4H) array with a single tanh (see ``_gate_scale``).
    """
    xp = array_namespace(x)
    T, B, C = x.shape
    H = W_hh.shape[1]
    m, s = _gate_scale(xp, H, x)
    W_ih_m = W_ih * m[:, None]                                          # rows of i, f, o halved
    W_hhT_m = xp.matrix_transpose(W_hh * m[:, None])                    # (H, 4H)
    # 1. the input projection of every step at once (biases folded in)
    u_x = xp.reshape(xp.reshape(x, (T * B, C)) @ xp.matrix_transpose(W_ih_m), (T, B, 4 * H))  # (T, B, 4H)
    if b_ih is not None:
        u_x += b_ih * m
    if b_hh is not None:
        u_x += b_hh * m
    hs, cs, acts, tcs = [], [], [], []                                  # per step: h_t, c_t, gates, tanh(c_t)
    h, c = h0, c0
    # 2. the recurrence
    for t in range(T):
        u = h @ W_hhT_m                                                 # (B, 4H)
        u += u_x[t, ...]
        act = xp.tanh(u)
        act *= m
        act += s                                                        # [i | f | g | o]
        i, f, g, o = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H], act[:, 3 * H:]
        c = f * c
        c += i * g                                                      # c = f * c_prev + i * g
        tc = xp.tanh(c)
        h = o * tc
        hs.append(h), cs.append(c), acts.append(act), tcs.append(tc)
    out = xp.stack(hs, axis=0)                                          # (T, B, H)
    cache = (x, h0, c0, W_ih, W_hh, out, cs, acts, tcs, b_ih is not None, b_hh is not None)
    return (out, h, c), cache


def lstm_backward(douts, cache):
    """BPTT through ``lstm_forward``. ``douts = (dout, dh_n, dc_n)``, any may be None.

    Returns ``(dx, dh0, dc0, dW_ih, dW_hh, db_ih, db_hh)``. The loop runs backwards over
    time and only fills the pre-activation gradients da_t; dx and the weight gradients
    are then ONE matmul each over all T steps.
    """
    x, h0, c0, W_ih, W_hh, out, cs, acts, tcs, has_bih, has_bhh = cache
    xp = array_namespace(x)
    T, B, C = x.shape
    H = W_hh.shape[1]
    dout, dh_n, dc_n = douts
    da = xp.empty((T, B, 4 * H), dtype=x.dtype, device=device_of(x))   # pre-activation gradients
    dh = xp.zeros((B, H), dtype=x.dtype, device=device_of(x)) if dh_n is None else dh_n
    dc = xp.zeros((B, H), dtype=x.dtype, device=device_of(x)) if dc_n is None else dc_n
    for t in range(T - 1, -1, -1):
        if dout is not None:
            dh = dh + dout[t, ...]                                     # from the output and from step t+1
        act, tc = acts[t], tcs[t]
        i, f, g, o = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H], act[:, 3 * H:]
        c_prev = cs[t - 1] if t > 0 else c0
        # forward was h = o * tanh(c)
        dtc = dh * o
        dtc *= 1 - tc * tc
        dc = dc + dtc
        # forward was c = f * c_prev + i * g, then the gates' own derivatives
        da_t = da[t, ...]
        da_t[:, :H] = dc * g * i * (1 - i)                             # da_i = di * i (1 - i),  di = dc * g
        da_t[:, H:2 * H] = dc * c_prev * f * (1 - f)                   # da_f = df * f (1 - f),  df = dc * c_prev
        da_t[:, 2 * H:3 * H] = dc * i * (1 - g * g)                    # da_g = dg * (1 - g^2),  dg = dc * i
        da_t[:, 3 * H:] = dh * tc * o * (1 - o)                        # da_o = do * o (1 - o),  do = dh * tanh(c)
        dc = dc * f                                                    # dc_prev
        dh = da_t @ W_hh                                               # dh_prev (forward was a += h_prev W_hh^T)
    # forward was a_t = x_t W_ih^T + h_{t-1} W_hh^T + b for every t: one matmul each
    da2 = xp.reshape(da, (T * B, 4 * H))
    dx = xp.reshape(da2 @ W_ih, (T, B, C))
    h_prev = xp.concat([h0[None, ...], out[:-1, ...]], axis=0) if T > 1 else h0[None, ...]   # (T, B, H)
    dW_ih = xp.matrix_transpose(da2) @ xp.reshape(x, (T * B, C))
    dW_hh = xp.matrix_transpose(da2) @ xp.reshape(h_prev, (T * B, H))
    db = xp.sum(da2, axis=0)
    return dx, dh, dc, dW_ih, dW_hh, (db if has_bih else None), (db if has_bhh else None)
