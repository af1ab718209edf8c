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

Three kernels, in reading order:
    lstm_cell_forward / lstm_cell_backward            one step, the equations above as written
    lstm_forward_reference / lstm_backward_reference  a whole sequence as a student writes it: a loop over the cell
    lstm_forward / lstm_backward                      the same sequence, fast; equal to the reference to 1e-12
                                                      in float64, and its docstrings list what it changes and why
"""

from __future__ import annotations

import functools

from ..backend import _dtype_name, array_namespace, asarray_like, device_of, host_array
from .activation import sigmoid

# ---------------------------------------------------------------------------- one cell step


def lstm_cell_forward(x, h_prev, c_prev, W_ih, W_hh, b_ih=None, b_hh=None):
    """One LSTM step. x (B, C), h_prev and c_prev (B, H). Returns ``((h, c), cache)``."""
    xp = array_namespace(x)
    H = W_hh.shape[1]
    a = x @ xp.matrix_transpose(W_ih) + h_prev @ xp.matrix_transpose(W_hh)    # (B, 4H)
    if b_ih is not None:
        a += b_ih
    if b_hh is not None:
        a += b_hh
    i = sigmoid(a[:, 0:H])                                                # never overflows
    f = sigmoid(a[:, H:2 * H])
    g = xp.tanh(a[:, 2 * H:3 * H])
    o = sigmoid(a[:, 3 * H:4 * H])
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


# ---------------------------------------------------------------------------- a whole sequence, as a student writes it

def lstm_forward_reference(x, h0, c0, W_ih, W_hh, b_ih=None, b_hh=None):
    """``lstm_forward``'s reference twin: a loop over ``lstm_cell_forward``. Same arguments, same results."""
    xp = array_namespace(x)
    h, c = h0, c0
    hs, caches = [], []
    for t in range(x.shape[0]):
        (h, c), cache = lstm_cell_forward(x[t, ...], h, c, W_ih, W_hh, b_ih, b_hh)
        hs.append(h)
        caches.append(cache)
    return (xp.stack(hs), h, c), (caches, h0)                            # out (T, B, H); h0 for its shape


def lstm_backward_reference(douts, cache):
    """BPTT through ``lstm_forward_reference``: ``lstm_cell_backward`` from the last step to the first."""
    caches, h0 = cache
    xp = array_namespace(h0)
    dout, dh, dc = douts
    dh = xp.zeros_like(h0) if dh is None else dh                          # a gradient not given is zero
    dc = xp.zeros_like(h0) if dc is None else dc
    dxs, dWs = [], []
    for t in reversed(range(len(caches))):
        if dout is not None:
            dh = dh + dout[t, ...]                                        # from the output at t, and from step t+1
        dx, dh, dc, *dW = lstm_cell_backward((dh, dc), caches[t])
        dxs.insert(0, dx)
        dWs.append(dW)                                                    # step t's [dW_ih, dW_hh, db_ih, db_hh]
    dW_ih, dW_hh, db_ih, db_hh = (None if g[0] is None else sum(g) for g in zip(*dWs))   # summed over the steps
    return xp.stack(dxs), dh, dc, dW_ih, dW_hh, db_ih, db_hh


# ---------------------------------------------------------------------------- a whole sequence, fast

def _gate_scale(xp, H, like):
    """m = [1/2 (i, f), 1 (g), 1/2 (o)] over the 4H packed gates, as a (4H, 1) column.

    sigmoid(a) = 0.5 * tanh(a / 2) + 0.5, so with u = a * m one tanh over the whole packed
    array gives every gate: tanh(u) is g in the g rows, and 2 i - 1 (f, o alike) in the others.
    """
    return asarray_like(_gate_scale_host(H, _dtype_name(like.dtype)), like)


@functools.lru_cache(maxsize=64)
def _gate_scale_host(H, dtype):
    """``_gate_scale``'s column as a host array, built once per size (generation calls the kernel per token)."""
    m = host_array([[0.5]] * (2 * H) + [[1.0]] * H + [[0.5]] * H, dtype)
    m.flags.writeable = False                                         # shared between calls
    return m


def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih=None, b_hh=None):
    """An LSTM layer over a whole sequence, time-major: x (T, B, C), h0 and c0 (B, H).

    Returns ``((out, h_n, c_n), cache)`` with out (T, B, H) the hidden state at every step:
    the same numbers as ``lstm_forward_reference``, which loops over ``lstm_cell_forward``.

    What it changes relative to that twin, and why (none of it changes the maths):

    1. The input projection of every step is ONE product before the loop,
       a = x W_ih^T + b_ih + b_hh (T*B, 4H): one large matmul runs far faster than T small
       ones, and only W_hh h_{t-1} depends on the step before. Each step adds its one
       product W_hh h_{t-1} to its slice of a.
    2. The two biases are added once, as b = b_ih + b_hh. For a long sequence b rides along as
       one more column of the weights, against a column of ones: [x_t, 1] [W_ih | b]^T =
       x_t W_ih^T + b, so no pass over a adds it.
    3. Inside a step the state is held column-wise, as h^T (H, B): W_hh h^T, a (4H, H) @ (H, B)
       product, runs markedly faster in BLAS than h W_hh^T when B is small, and the four
       gates are contiguous row blocks of one packed (4H, B) array.
    4. One tanh over the packed gates gives all four activations (see ``_gate_scale``):
       sigmoid(a) = 0.5 tanh(a / 2) + 0.5, so the rows of i, f, o are scaled by 1/2 before the
       tanh and finished by two in-place passes; one call instead of four.
    5. For a long sequence that scale m is folded into the weights once (W * m), not applied
       to every step's (4H, B) array.
    6. The short-sequence branch (T*B < H + C; generation runs one token at a time): copying
       and scaling the weights would cost more than the sequence itself, so m is applied to
       each step's array instead and the bias is added to a in one pass.
    7. Whatever spans all T steps is stored row-wise, time-major: a (T, B, 4H) and the stacked
       step inputs zs (T, B, K), zs[t] = [h_{t-1}, x_t, 1], K = H + C (+ 1). Each is a plain
       (T*B, .) matrix for the products over all steps, with no permuted copy, and a step's
       slice is one contiguous block that it reads through a transposed view.
    8. Step t writes its h straight into zs[t + 1], so the stacked inputs that the backward's
       one weight-gradient product needs cost no extra copy, and out is read from zs.
    9. The cache keeps, per step, only what the backward reads: [i; f; g; o], c_{t-1} and tanh(c_t).
    """
    xp = array_namespace(x)
    T, B, C = x.shape
    H = W_hh.shape[1]
    dev = device_of(x)
    biases = [b for b in (b_ih, b_hh) if b is not None]
    K = H + C + (1 if biases else 0)
    m = _gate_scale(xp, H, x)                                           # (4H, 1)
    # zs[t] = [h_{t-1}, x_t, 1]: columns [0, H) the state, [H, H+C) the input, column H+C the bias's 1
    zs = xp.empty((T, B, K), dtype=x.dtype, device=dev)
    zs[:, :, H:H + C] = x
    if biases:
        zs[:, :, H + C] = 1
    # 1. the input projection of every step in one product: a[t] = a_t (B, 4H).
    #    m is folded into the weights once for long sequences; a short one (generation,
    #    one token at a time) scales each step's (4H, B) array instead of copying the weights.
    #    When folding, the bias rides along as one more column of the weights, against
    #    zs's column of ones: [x_t, 1] [W_ih | b]^T = x_t W_ih^T + b, with no pass over a.
    fold = T * B >= H + C
    b = xp.reshape(sum(biases), (4 * H, 1)) if biases else None         # b_ih + b_hh
    if fold:
        W_x = W_ih if b is None else xp.concat([W_ih, b], axis=1)       # (4H, K - H)
        W_x, W_hh_m = W_x * m, W_hh * m
        a = xp.reshape(zs[:, :, H:], (T * B, K - H)) @ xp.matrix_transpose(W_x)   # (T*B, 4H)
    else:
        W_hh_m = W_hh
        a = xp.reshape(x, (T * B, C)) @ xp.matrix_transpose(W_ih)       # (T*B, 4H)
        if b is not None:
            a += xp.reshape(b, (4 * H,))
    a = xp.reshape(a, (T, B, 4 * H))
    # 2. the recurrence
    h, c = xp.matrix_transpose(h0), xp.matrix_transpose(c0)             # (H, B)
    zs[0, :, :H] = h0
    acts, cs, tcs = [], [], []                                          # per step: [i; f; g; o], c_{t-1}, tanh(c_t)
    for t in range(T):
        u = W_hh_m @ h                                                  # (4H, B)
        u += xp.matrix_transpose(a[t, ...])                             # a_t^T = W_ih x_t + b + W_hh h
        if not fold:
            u *= m
        act = xp.tanh(u)                                                # g rows are g, the others 2 s - 1
        for rows in (slice(0, 2 * H), slice(3 * H, 4 * H)):             # sigmoid = 0.5 tanh(a / 2) + 0.5
            s = act[rows, :]
            s *= 0.5
            s += 0.5
        i, f, g, o = act[:H, :], act[H:2 * H, :], act[2 * H:3 * H, :], act[3 * H:, :]
        cs.append(c)
        c = f * c
        c += i * g                                                      # c = f * c_prev + i * g
        tc = xp.tanh(c)
        h = o * tc                                                      # h = o * tanh(c)
        acts.append(act)
        tcs.append(tc)
        if t + 1 < T:
            zs[t + 1, :, :H] = xp.matrix_transpose(h)
    out = xp.empty((T, B, H), dtype=x.dtype, device=dev)
    out[:T - 1, ...] = zs[1:, :, :H]                                    # h_1 .. h_{T-1}, from the buffer
    out[T - 1, ...] = xp.matrix_transpose(h)                            # h_T
    cache = (zs, acts, cs, tcs, W_ih, W_hh, C, b_ih is not None, b_hh is not None)
    return (out, xp.matrix_transpose(h), xp.matrix_transpose(c)), cache


def lstm_backward(douts, cache):
    """BPTT through ``lstm_forward``. ``douts = (dout, dh_n, dc_n)``, any may be None.

    Returns ``(dx, dh0, dc0, dW_ih, dW_hh, db_ih, db_hh)``: the same numbers as
    ``lstm_backward_reference``, which runs ``lstm_cell_backward`` from the last step to the first.

    What it changes relative to that twin, and why:

    1. The loop only fills the pre-activation gradients da_t, into one (T, B, 4H) buffer; what
       does not feed step t-1 leaves the loop. [dW_hh | dW_ih | db] = sum_t da_t^T [h_{t-1}, x_t, 1]
       is ONE (4H, T*B) @ (T*B, K) product over the forward's stacked inputs zs, and
       dx = da W_ih is one more: two large matmuls instead of four small ones per step.
    2. dh and dc are held column-wise, (H, B), like the forward's state; dh_{t-1}^T = W_hh^T da_t^T
       uses a row-major copy of W_hh^T made once, since the loop multiplies by it T times.
    3. Each gate's gradient is written straight into its column block of da[t], with
       sigmoid' = s (1 - s) written s - s * s: no concatenation per step.
    4. db_ih and db_hh are one array, returned twice: both biases get sum_t sum_B da_t.
    """
    zs, acts, cs, tcs, W_ih, W_hh, C, has_bih, has_bhh = cache
    xp = array_namespace(zs)
    T, B, K = zs.shape
    H = W_hh.shape[1]
    dev = device_of(zs)
    dout, dh_n, dc_n = douts
    da = xp.empty((T, B, 4 * H), dtype=zs.dtype, device=dev)           # da[t] = da_t, row-wise
    W_hhT = xp.empty((H, 4 * H), dtype=W_hh.dtype, device=dev)
    W_hhT[...] = xp.matrix_transpose(W_hh)                              # row-major copy, used T times
    zeros = xp.zeros((H, B), dtype=zs.dtype, device=dev)
    dh = zeros if dh_n is None else xp.matrix_transpose(dh_n)           # (H, B)
    dc = zeros if dc_n is None else xp.matrix_transpose(dc_n)
    for t in range(T - 1, -1, -1):
        if dout is not None:
            dh = dh + xp.matrix_transpose(dout[t, ...])                # from the output and from step t+1
        act, tc, c_prev = acts[t], tcs[t], cs[t]
        i, f, g, o = act[:H, :], act[H:2 * H, :], act[2 * H:3 * H, :], act[3 * H:, :]
        # forward was h = o * tanh(c)
        dtc = dh * o
        dtc *= 1 - tc * tc
        dc = dc + dtc
        # forward was c = f * c_prev + i * g, then each gate's own derivative:
        # sigmoid' = s (1 - s), tanh' = 1 - g^2; each (H, B) result goes to its
        # column block of da[t] (B, 4H)
        da[t, :, :H] = xp.matrix_transpose(dc * g * (i - i * i))       # da_i = (dc * g) * i (1 - i)
        da[t, :, H:2 * H] = xp.matrix_transpose(dc * c_prev * (f - f * f))   # da_f = (dc * c_prev) * f (1 - f)
        da[t, :, 2 * H:3 * H] = xp.matrix_transpose(dc * i * (1 - g * g))     # da_g = (dc * i) * (1 - g^2)
        da[t, :, 3 * H:] = xp.matrix_transpose(dh * tc * (o - o * o))  # da_o = (dh * tanh c) * o (1 - o)
        dc = dc * f                                                    # dc_prev
        dh = W_hhT @ xp.matrix_transpose(da[t, ...])                   # dh_prev^T: forward was a += W_hh h_prev
    # forward was a_t = z_t W^T for every t: [dW_hh | dW_ih | db] = sum_t da_t^T z_t, one product
    da2 = xp.reshape(da, (T * B, 4 * H))                               # views: no copy
    z2 = xp.reshape(zs, (T * B, K))
    dW = xp.matrix_transpose(da2) @ z2                                 # (4H, K)
    dW_hh, dW_ih = dW[:, :H], dW[:, H:H + C]
    db = dW[:, H + C] if has_bih or has_bhh else None
    dx = xp.reshape(da2 @ W_ih, (T, B, C))                             # forward's x_t entered through W_ih
    dh0, dc0 = xp.matrix_transpose(dh), xp.matrix_transpose(dc)
    return dx, dh0, dc0, dW_ih, dW_hh, (db if has_bih else None), (db if has_bhh else None)
