"""GRU (gated recurrent unit) kernels, as ``torch.nn.GRU``: a cell and a time-major sequence.

Shapes: T = time, B = batch, C = input channels, H = hidden size.

Packed-gate layout (PyTorch's): the rows of the weights and biases are three
blocks of H, in the order r (reset), z (update), n (new / candidate)::

    W_ih (3H, C) = [W_ir; W_iz; W_in]     b_ih (3H,) = [b_ir; b_iz; b_in]
    W_hh (3H, H) = [W_hr; W_hz; W_hn]     b_hh (3H,) = [b_hr; b_hz; b_hn]

so a (B, 3H) pre-activation has r in columns [0, H), z in [H, 2H), n in [2H, 3H).

forward, one step (x (B, C), h_prev (B, H) -> h (B, H))
    a  = x W_ih^T + b_ih                    input projection        (B, 3H)
    hn = h_prev W_hn^T + b_hn               recurrent n block       (B, H)
    r  = sigmoid(a_r + h_prev W_hr^T + b_hr)
    z  = sigmoid(a_z + h_prev W_hz^T + b_hz)
    n  = tanh(a_n + r * hn)                 the reset gate scales hn, bias included
    h  = (1 - z) * n + z * h_prev

backward, one step (dh -> the rest), in reverse order
    dn = dh * (1 - z)        dz = dh * (h_prev - n)        dh_prev = dh * z + ...
    da_n = dn * (1 - n^2)    dr = da_n * hn                dhn = da_n * r
    da_r = dr * r (1 - r)    da_z = dz * z (1 - z)
    the pre-activation gradients on the input side are  dg_x = [da_r, da_z, da_n]
    and on the recurrent side                            dg_h = [da_r, da_z, dhn]
    dx = dg_x W_ih     dh_prev = dh * z + dg_h W_hh
    dW_ih = dg_x^T x   dW_hh = dg_h^T h_prev   db_ih = sum_B dg_x   db_hh = sum_B dg_h

Three kernels, in reading order:
    gru_cell_forward / gru_cell_backward              one step, column-wise (see ``_step_forward``)
    gru_forward_reference / gru_backward_reference    a whole sequence as a student writes it: a loop over the cell
    gru_forward / gru_backward                        the same sequence, fast; equal to the reference to 1e-12
                                                      in float64, and its docstrings list what it changes and why
"""

from __future__ import annotations

from ..backend import array_namespace, device_of, matmul_sum
from .activation import sigmoid_overwriting


def _input_projection(x, W_ih, b_ih, b_hh):
    """a = x W_ih^T + b_ih + [b_hr, b_hz, 0]: the part of every pre-activation that does not need h_prev.

    b_hr and b_hz sit outside ``r * (...)``, so they are added here, once; b_hn sits
    inside it and is added at every step. x (N, C) -> a (N, 3H), row-wise.
    """
    xp = array_namespace(x)
    a = x @ xp.matrix_transpose(W_ih)                                     # (N, 3H)
    b = _projection_bias(b_ih, b_hh)
    if b is not None:
        a += b
    return a


def _projection_bias(b_ih, b_hh):
    """b_ih + [b_hr, b_hz, 0] (3H,), or None without biases: the bias of the input projection."""
    if b_hh is None:
        return b_ih
    xp = array_namespace(b_hh)
    H = b_hh.shape[0] // 3
    b_rz0 = xp.concat([b_hh[:2 * H], xp.zeros_like(b_hh[2 * H:])])       # [b_hr, b_hz, 0]
    return b_rz0 if b_ih is None else b_ih + b_rz0


def _b_hn(b_hh):
    """b_hn as an (H, 1) column, or None."""
    if b_hh is None:
        return None
    H = b_hh.shape[0] // 3
    return array_namespace(b_hh).reshape(b_hh[2 * H:], (H, 1))


# ---------------------------------------------------------------------------- one step

def _step_forward(a, gh, h_prev, b_hn):
    """One GRU step from its two projections, column-wise; the arithmetic shared by cell and sequence.

    a (3H, B) is W_ih x^T + b_ih with b_hr and b_hz already added (read only), gh (3H, B)
    is W_hh h_prev^T with no bias (overwritten: the step works in it), h_prev (H, B),
    b_hn (H, 1) or None. Returns h (H, B) and what the backward needs:
    rz (2H, B) = [r; z], n (H, B) and hn (H, B) = W_hn h_prev^T + b_hn (a view of gh).
    """
    xp = array_namespace(a)
    H = h_prev.shape[0]
    # 1. r, z = sigmoid(a_r + W_hr h_prev + b_hr), sigmoid(a_z + W_hz h_prev + b_hz)
    s = gh[:2 * H, :]
    s += a[:2 * H, :]
    rz = sigmoid_overwriting(s)                                           # (2H, B); s (a view of gh) is spent
    # 2. hn = W_hn h_prev + b_hn
    hn = gh[2 * H:, :]
    if b_hn is not None:
        hn += b_hn                                                        # (H, B)
    # 3. n = tanh(a_n + r * hn)
    n = rz[:H, :] * hn
    n += a[2 * H:, :]
    n = xp.tanh(n)                                                        # (H, B)
    # 4. h = (1 - z) * n + z * h_prev, written as n + z * (h_prev - n)
    h = h_prev - n
    h *= rz[H:, :]
    h += n                                                                # (H, B)
    return h, rz, n, hn


def _step_backward(dh, h_prev, rz, n, hn):
    """Backward of ``_step_forward`` for the gradient dh (H, B) of its h.

    Returns the pre-activation gradients da_r, da_z (both projections), da_n (input
    side) and dhn (recurrent side), each (H, B), and dh * z, the part of dh_prev
    that skips the matmul.
    """
    H = h_prev.shape[0]
    r, z = rz[:H, :], rz[H:, :]
    # 4. forward was h = (1 - z) * n + z * h_prev, so dn = dh*(1-z), dz = dh*(h_prev-n), dh_prev = dh*z
    dh_z = dh * z
    dn = dh - dh_z
    dz = h_prev - n
    dz *= dh
    # 3. forward was n = tanh(a_n + r * hn), so da_n = dn*(1-n^2), dr = da_n*hn, dhn = da_n*r
    da_n = 1.0 - n * n
    da_n *= dn
    dr = da_n * hn
    dhn = da_n * r
    # 2. forward was hn = W_hn h_prev + b_hn: the caller sends dhn on through W_hn
    # 1. forward was r = sigmoid(.), z = sigmoid(.), and sigmoid' = s (1 - s)
    da_r = r - r * r
    da_r *= dr
    da_z = z - z * z
    da_z *= dz
    return da_r, da_z, da_n, dhn, dh_z


# ---------------------------------------------------------------------------- cell

def gru_cell_forward(x, h_prev, W_ih, W_hh, b_ih=None, b_hh=None):
    """One GRU step: x (B, C), h_prev (B, H) -> h (B, H). Returns ``(h, cache)``."""
    xp = array_namespace(x)
    xT, hT = xp.matrix_transpose(x), xp.matrix_transpose(h_prev)          # (C, B), (H, B)
    a = xp.matrix_transpose(_input_projection(x, W_ih, b_ih, b_hh))       # (3H, B)
    gh = W_hh @ hT                                                        # (3H, B)
    h, rz, n, hn = _step_forward(a, gh, hT, _b_hn(b_hh))
    return xp.matrix_transpose(h), (xT, hT, W_ih, W_hh, rz, n, hn, b_ih is not None, b_hh is not None)


def gru_cell_backward(dh, cache):
    """Returns ``(dx, dh_prev, dW_ih, dW_hh, db_ih, db_hh)``; a bias gradient is None without that bias."""
    xp = array_namespace(dh)
    xT, hT, W_ih, W_hh, rz, n, hn, has_b_ih, has_b_hh = cache
    da_r, da_z, da_n, dhn, dh_prev = _step_backward(xp.matrix_transpose(dh), hT, rz, n, hn)
    dg_x = xp.concat([da_r, da_z, da_n], axis=0)                          # (3H, B) input side
    dg_h = xp.concat([da_r, da_z, dhn], axis=0)                           # (3H, B) recurrent side
    # forward was a = W_ih x^T + b_ih and gh = W_hh h_prev^T + b_hh
    dx = xp.matrix_transpose(dg_x) @ W_ih                                 # (B, C)
    dh_prev = xp.matrix_transpose(dh_prev) + xp.matrix_transpose(dg_h) @ W_hh   # (B, H)
    dW_ih = dg_x @ xp.matrix_transpose(xT)                                # (3H, C)
    dW_hh = dg_h @ xp.matrix_transpose(hT)                                # (3H, H)
    db_ih = xp.sum(dg_x, axis=1) if has_b_ih else None                    # (3H,)
    db_hh = xp.sum(dg_h, axis=1) if has_b_hh else None                    # (3H,)
    return dx, dh_prev, dW_ih, dW_hh, db_ih, db_hh


# ---------------------------------------------------------------------------- a whole sequence, as a student writes it

def gru_forward_reference(x, h0, W_ih, W_hh, b_ih=None, b_hh=None):
    """``gru_forward``'s reference twin: a loop over ``gru_cell_forward``. Same arguments, same results."""
    xp = array_namespace(x)
    h = h0
    hs, caches = [], []
    for t in range(x.shape[0]):
        h, cache = gru_cell_forward(x[t, ...], h, W_ih, W_hh, b_ih, b_hh)
        hs.append(h)
        caches.append(cache)
    return (xp.stack(hs), h), (caches, h0)                                # out (T, B, H); h0 for its shape


def gru_backward_reference(douts, cache):
    """BPTT through ``gru_forward_reference``: ``gru_cell_backward`` from the last step to the first."""
    caches, h0 = cache
    xp = array_namespace(h0)
    dout, dh = douts
    dh = xp.zeros_like(h0) if dh is None else dh                          # a gradient not given is zero
    dxs, dWs = [], []
    for t in reversed(range(len(caches))):
        if dout is not None:
            dh = dh + dout[t, ...]                                        # from the output at t, and from step t+1
        dx, dh, *dW = gru_cell_backward(dh, caches[t])
        dxs.insert(0, dx)
        dWs.append(dW)                                                    # step t's [dW_ih, dW_hh, db_ih, db_hh]
    dW_ih, dW_hh, db_ih, db_hh = (None if g[0] is None else sum(g) for g in zip(*dWs))   # summed over the steps
    return xp.stack(dxs), dh, dW_ih, dW_hh, db_ih, db_hh


# ---------------------------------------------------------------------------- a whole sequence, fast

def gru_forward(x, h0, W_ih, W_hh, b_ih=None, b_hh=None):
    """A GRU layer over a time-major sequence: x (T, B, C), h0 (B, H).

    Returns ``((out, h_n), cache)`` with out (T, B, H) the hidden state at every step and
    h_n (B, H) the last one: the same numbers as ``gru_forward_reference``, which loops over
    ``gru_cell_forward``.

    What it changes relative to that twin, and why (none of it changes the maths):

    1. The input projection of every step is ONE product before the loop,
       a = x W_ih^T + b_ih + [b_hr, b_hz, 0] (T*B, 3H): one large matmul runs far faster than
       T small ones, and only W_hh h_{t-1} depends on the step before.
    2. The bias rides along as one more column of the weights, against a column of ones after
       x: [x_t, 1] [W_ih | b]^T = x_t W_ih^T + b, so no pass over a adds it (and the backward's
       dW_ih product yields db_ih as its last column). b_hr and b_hz sit outside ``r * (...)``
       and join b; b_hn sits inside it and is still added at every step.
    3. Whatever spans all T steps is stored row-wise, time-major: a (T, B, 3H), the inputs with
       their column of ones xs (T, B, C + 1) and the hidden states hs (T + 1, B, H), hs[0] = h0.
       Each is a plain (T*B, .) matrix for the products over all steps, with no permuted copy,
       and a step's slice is one contiguous block that it reads or writes through a transposed
       view. hs holds the output and, shifted by one, every h_prev the backward needs.

    The step's arithmetic is the cell's own, ``_step_forward``, column-wise as in the cell:
    W_hh h^T, a (3H, H) @ (H, B) product, runs markedly faster in BLAS than h W_hh^T when B
    is small, and each gate is a block of rows.
    """
    xp = array_namespace(x)
    T, B, C = x.shape
    H = h0.shape[1]
    dev = device_of(x)
    # 1. the input projection of every step in one product: a[t] = a_t (B, 3H), row-wise.
    #    The bias rides along as one more column of the weights, against a column of
    #    ones after x: [x_t, 1] [W_ih | b]^T = x_t W_ih^T + b, with no pass over a.
    #    The backward's dW_ih product then yields db_ih as its last column too.
    b = _projection_bias(b_ih, b_hh)                                      # (3H,) or None
    K = C if b is None else C + 1
    xs = xp.empty((T, B, K), dtype=x.dtype, device=dev)                  # xs[t] = [x_t, 1] (B, K)
    xs[:, :, :C] = x
    W_x = W_ih
    if b is not None:
        xs[:, :, C] = 1
        W_x = xp.concat([W_ih, xp.reshape(b, (3 * H, 1))], axis=1)       # (3H, C + 1)
    a = xp.reshape(xs, (T * B, K)) @ xp.matrix_transpose(W_x)             # (T*B, 3H)
    a = xp.reshape(a, (T, B, 3 * H))
    b_hn = _b_hn(b_hh)
    # hs[0] = h0, hs[t + 1] = h_t (B, H): the output and, shifted by one, every h_prev
    hs = xp.empty((T + 1, B, H), dtype=x.dtype, device=dev)
    hs[0, ...] = h0
    h = xp.empty((H, B), dtype=x.dtype, device=dev)
    h[...] = xp.matrix_transpose(h0)                                      # h^T (H, B), column-wise
    # 2. the recurrence: one product W_hh h_{t-1} and the gate arithmetic per step;
    #    the gates each step made ([r; z], n, hn) are kept for the backward
    rzs, ns, hns = [], [], []
    for t in range(T):
        gh = W_hh @ h                                                     # (3H, B)
        h, rz, n, hn = _step_forward(xp.matrix_transpose(a[t, ...]), gh, h, b_hn)
        hs[t + 1, ...] = xp.matrix_transpose(h)                           # (B, H)
        rzs.append(rz)
        ns.append(n)
        hns.append(hn)
    out = xp.asarray(hs[1:, ...], copy=True)                              # (T, B, H), not a view of the cache
    cache = (xs, hs, rzs, ns, hns, W_ih, W_hh, b_ih is not None, b_hh is not None)
    return (out, xp.matrix_transpose(h)), cache


def gru_backward(douts, cache):
    """Backpropagation through time through ``gru_forward``. ``douts = (dout, dh_n)``, either may be None.

    Returns ``(dx, dh0, dW_ih, dW_hh, db_ih, db_hh)``, a bias gradient None without that bias:
    the same numbers as ``gru_backward_reference``, which runs ``gru_cell_backward`` from the
    last step to the first.

    What it changes relative to that twin, and why:

    1. The loop only fills the pre-activation gradients of every step into one buffer; what does
       not feed step t-1 leaves the loop. dx, dW_ih with db_ih (against xs's column of ones),
       and dW_hh are then ONE product each over all T*B rows, instead of four small ones per step.
    2. That buffer holds the gates in a rotated block order, dg[t] = [da_n, da_r, da_z, dhn]
       (B, 4H). The input side [da_r, da_z, da_n] and the recurrent side [da_r, da_z, dhn] share
       da_r and da_z; with those two in the middle, each side is one contiguous (T*B, 3H) view
       (columns [0, 3H) and [H, 4H)), so neither is copied out. The price: for dx, W_ih's rows
       are rotated once to match (n, r, z), and dW_ih's rows and db_ih are rotated back to (r, z, n).
    3. dh is held column-wise, (H, B), like the forward's state; dh_prev += W_hh^T dg_h^T uses a
       row-major copy of W_hh^T made once, since the loop multiplies by it T times.
    4. b_hh's gradient is [db_hr, db_hz] from the input side's sum (the same gradients reach
       b_ih's r and z rows) and db_hn = sum of dhn on its own (``matmul_sum``).
    """
    dout, dh_n = douts
    xs, hs, rzs, ns, hns, W_ih, W_hh, has_b_ih, has_b_hh = cache
    xp = array_namespace(xs)
    T, B, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
    C, K = W_ih.shape[1], xs.shape[2]                                     # K = C + 1 with a bias
    dev = device_of(xs)
    # The pre-activation gradients of every step, row-wise in one buffer. da_r and da_z
    # feed both projections, so dg[t] = [da_n, da_r, da_z, dhn] (B, 4H) holds both sides:
    #   dg[t, :, H:]  = [da_r, da_z, dhn]  the recurrent side, in W_hh's order (r, z, n)
    #   dg[t, :, :3H] = [da_n, da_r, da_z] the input side, its blocks rotated to (n, r, z)
    dg = xp.empty((T, B, 4 * H), dtype=xs.dtype, device=dev)
    # W_hh^T copied once into row-major order: the loop multiplies by it T times
    W_hhT = xp.empty((H, 3 * H), dtype=W_hh.dtype, device=dev)
    W_hhT[...] = xp.matrix_transpose(W_hh)                                # (H, 3H)
    # dh: the gradient reaching h_t^T (H, B), from the output at t and from step t + 1
    dh = xp.zeros((H, B), dtype=xs.dtype, device=dev) if dh_n is None else xp.matrix_transpose(dh_n)
    # 2. the recurrence, backwards: forward was h_t = step(a_t, W_hh h_{t-1}, h_{t-1})
    for t in range(T - 1, -1, -1):
        if dout is not None:
            dh = dh + xp.matrix_transpose(dout[t, ...])
        h_prev = xp.matrix_transpose(hs[t, ...])                          # (H, B)
        da_r, da_z, da_n, dhn, dh_prev = _step_backward(dh, h_prev, rzs[t], ns[t], hns[t])
        dg[t, :, :H] = xp.matrix_transpose(da_n)
        dg[t, :, H:2 * H] = xp.matrix_transpose(da_r)
        dg[t, :, 2 * H:3 * H] = xp.matrix_transpose(da_z)
        dg[t, :, 3 * H:] = xp.matrix_transpose(dhn)
        # forward was gh = W_hh h_prev, so dh_prev += W_hh^T dg_h
        dh_prev += W_hhT @ xp.matrix_transpose(dg[t, :, H:])             # (H, 3H) @ (3H, B)
        dh = dh_prev
    # 1. forward was a = x W_ih^T + b_ih for all steps at once, and gh_t = W_hh h_{t-1} + b_hh
    dg2 = xp.reshape(dg, (T * B, 4 * H))                                  # a view: no copy
    dg_x2, dg_h2 = dg2[:, :3 * H], dg2[:, H:]                             # (T*B, 3H) each
    h_prev2 = xp.reshape(hs[:-1, ...], (T * B, H))                        # h_{t-1} for every t
    xs2 = xp.reshape(xs, (T * B, K))                                      # [x_t, 1] for every t
    W_ih_nrz = xp.concat([W_ih[2 * H:, ...], W_ih[:2 * H, ...]], axis=0)  # (3H, C), rows rotated like dg_x2
    dx = xp.reshape(dg_x2 @ W_ih_nrz, (T, B, C))                          # (T, B, C)
    dWb = xp.matrix_transpose(dg_x2) @ xs2                                # (3H, K), rows (n, r, z)
    dW_ih = xp.concat([dWb[H:, :C], dWb[:H, :C]], axis=0)                 # (3H, C), rows (r, z, n)
    dW_hh = xp.matrix_transpose(dg_h2) @ h_prev2                          # (3H, H)
    # the bias gradients sum dg over its T*B rows: against the ones column for the input
    # side, which b_hr and b_hz share; b_hn's part (dhn) is summed on its own
    db_x = xp.concat([dWb[H:, C], dWb[:H, C]]) if K > C else None         # (3H,) rows (r, z, n)
    db_ih = db_x if has_b_ih else None
    db_hh = xp.concat([db_x[:2 * H], matmul_sum(dg2[:, 3 * H:], 0)]) if has_b_hh else None
    return dx, xp.matrix_transpose(dh), dW_ih, dW_hh, db_ih, db_hh
