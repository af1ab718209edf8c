"""1-D convolution and max-over-time pooling: forward/backward kernel pairs on plain arrays.

Shapes: B = batch, C = input channels, O = output channels, T = input length, K = kernel size,
T_out = output length. Parameters follow PyTorch's ``nn.Conv1d``: W (O, C, K), b (O,).

conv1d, with stride S, zero padding P (P_l on the left, P_r on the right) and dilation D
    forward   xp = x padded with zeros along T                                   (B, C, P_l + T + P_r)
              T_out = floor((P_l + T + P_r - D (K - 1) - 1) / S) + 1
              x_k[b, :, t] = xp[b, :, t S + k D]              tap k: every S-th column, shifted by k D  (B, C, T_out)
              y = sum_k W[:, :, k] @ x_k + b                                       (B, O, T_out)
              (a cross-correlation, as in every deep-learning library: the kernel is not flipped)
    backward  forward was y = sum_k W_k @ x_k + b,  so
              dx_k = W_k^T @ dy,   added into the columns of dxp that x_k was read from; dx = dxp without the padding
              dW_k = sum_{b, t} dy[b, :, t] x_k[b, :, t]^T                        (O, C)
              db   = sum_{b, t} dy[b, :, t]

max over time (the text-CNN's pooling: each feature map keeps its strongest response)
    forward   y[b, c] = max_t x[b, c, t],   i[b, c] = the first t where the max is reached     (B, C)
    backward  dx[b, c, t] = dy[b, c] if t == i[b, c] else 0      (the gradient goes to the winner only)

Two conv1d kernels, in reading order:
    conv1d_forward_reference / conv1d_backward_reference   a loop over the K taps, each a matrix product
    conv1d_forward / conv1d_backward                       the same numbers from one matrix product (im2col);
                                                           equal to the reference to 1e-12 in float64
"""

from __future__ import annotations

from ..backend import array_namespace, device_of


def _pad(xp, x, left: int, right: int):
    """x (B, C, T) with ``left`` zero columns before and ``right`` after: (B, C, left + T + right)."""
    B, C, _ = x.shape
    zeros = [xp.zeros((B, C, n), dtype=x.dtype, device=device_of(x)) for n in (left, right)]
    return xp.concat([zeros[0], x, zeros[1]], axis=2) if left or right else x


def _pads(padding):
    """``padding`` as (left, right): an int pads both sides alike (PyTorch's ``padding="same"`` may need two)."""
    return (padding, padding) if isinstance(padding, int) else tuple(padding)


def _taps(T_padded: int, K: int, stride: int, dilation: int):
    """T_out, and for each tap k the slice of the padded time axis that it reads."""
    T_out = (T_padded - dilation * (K - 1) - 1) // stride + 1
    last = stride * (T_out - 1) + 1                                   # span of one tap's T_out columns
    return T_out, [slice(k * dilation, k * dilation + last, stride) for k in range(K)]


# ---------------------------------------------------------------------------- conv1d, as a student writes it

def conv1d_forward_reference(x, W, b=None, stride: int = 1, padding=0, dilation: int = 1):
    """y = sum_k W[:, :, k] @ x_k + b: one matrix product per tap. Returns ``(y, cache)``, y (B, O, T_out)."""
    xp = array_namespace(x)
    K = W.shape[2]
    left, right = _pads(padding)
    x_pad = _pad(xp, x, left, right)                                  # (B, C, T + P_l + P_r)
    T_out, taps = _taps(x_pad.shape[2], K, stride, dilation)
    y = xp.zeros((x.shape[0], W.shape[0], T_out), dtype=x.dtype, device=device_of(x))
    for k in range(K):
        y += W[:, :, k] @ x_pad[:, :, taps[k]]                        # (O, C) @ (B, C, T_out) -> (B, O, T_out)
    if b is not None:
        y += b[:, None]                                               # (O, 1): one bias per output channel
    return y, (x_pad, W, b is not None, (left, right), taps)


def conv1d_backward_reference(dy, cache):
    """Returns ``(dx, dW, db)``; ``db`` is None when there was no bias."""
    xp = array_namespace(dy)
    x_pad, W, has_bias, (left, right), taps = cache
    dx_pad = xp.zeros_like(x_pad)
    dW = xp.zeros_like(W)
    for k, tap in enumerate(taps):
        # forward was y += W_k @ x_k
        dx_pad[:, :, tap] += xp.matrix_transpose(W[:, :, k]) @ dy     # (C, O) @ (B, O, T_out) -> (B, C, T_out)
        dW[:, :, k] = xp.tensordot(dy, x_pad[:, :, tap], axes=([0, 2], [0, 2]))   # sum over b and t: (O, C)
    db = xp.sum(dy, axis=(0, 2)) if has_bias else None               # (O,)
    dx = dx_pad[:, :, left:dx_pad.shape[2] - right]                   # drop the padding's columns: (B, C, T)
    return dx, dW, db


# ---------------------------------------------------------------------------- conv1d, fast

def conv1d_forward(x, W, b=None, stride: int = 1, padding=0, dilation: int = 1):
    """The reference's y from one matrix product. Returns ``(y, cache)``, y (B, O, T_out).

    What it changes relative to ``conv1d_forward_reference``, and why:
    - the K taps are copied side by side once ("im2col"): cols (B T_out, K C), so that the whole
      convolution is one (B T_out, K C) @ (K C, O) product, and the backward's dW another one,
      instead of K small batched products (K is up to 20 in a text-CNN, T_out as small as 1);
    - time-major rows (B T_out, ...) make those products plain 2-D matrix products, which BLAS
      runs at full speed, rather than B-batched ones.
    """
    xp = array_namespace(x)
    B, C, _ = x.shape
    O, _, K = W.shape
    left, right = _pads(padding)
    x_pad = _pad(xp, x, left, right)                                  # (B, C, T_pad)
    T_out, taps = _taps(x_pad.shape[2], K, stride, dilation)
    cols = xp.stack([x_pad[:, :, tap] for tap in taps], axis=1)      # (B, K, C, T_out)
    cols = xp.reshape(xp.permute_dims(cols, (0, 3, 1, 2)), (B * T_out, K * C))   # rows (b, t), columns (k, c)
    W_mat = xp.reshape(xp.permute_dims(W, (0, 2, 1)), (O, K * C))    # (O, K C), columns (k, c) as in cols
    y = cols @ xp.matrix_transpose(W_mat)                             # (B T_out, O)
    if b is not None:
        y += b
    y = xp.permute_dims(xp.reshape(y, (B, T_out, O)), (0, 2, 1))     # (B, O, T_out)
    return y, (cols, W_mat, b is not None, x_pad.shape, (left, right), taps)


def conv1d_backward(dy, cache):
    """Returns ``(dx, dW, db)`` as ``conv1d_backward_reference`` does; ``db`` is None when there was no bias."""
    xp = array_namespace(dy)
    cols, W_mat, has_bias, pad_shape, (left, right), taps = cache
    B, C, T_pad = pad_shape
    O, K = W_mat.shape[0], len(taps)
    T_out = dy.shape[2]
    dy2 = xp.reshape(xp.permute_dims(dy, (0, 2, 1)), (B * T_out, O))  # (B T_out, O), rows as in cols
    # forward was y = cols @ W_mat^T
    dW = xp.matrix_transpose(dy2) @ cols                              # (O, K C)
    dW = xp.permute_dims(xp.reshape(dW, (O, K, C)), (0, 2, 1))        # (O, C, K)
    dcols = xp.reshape(dy2 @ W_mat, (B, T_out, K, C))                 # (B, T_out, K, C)
    dcols = xp.permute_dims(dcols, (2, 0, 3, 1))                      # (K, B, C, T_out)
    # forward copied the columns of tap k out of x_pad: add their gradients back in
    dx_pad = xp.zeros(pad_shape, dtype=dy.dtype, device=device_of(dy))
    for k, tap in enumerate(taps):
        dx_pad[:, :, tap] += dcols[k, ...]
    db = xp.sum(dy2, axis=0) if has_bias else None                    # (O,)
    return dx_pad[:, :, left:T_pad - right], dW, db


# ---------------------------------------------------------------------------- max over time

def max_over_time_forward(x):
    """y[b, c] = max_t x[b, c, t] for x (B, C, T). Returns ``(y, cache)``, y (B, C)."""
    xp = array_namespace(x)
    winner = xp.argmax(x, axis=2, keepdims=True)                      # (B, C, 1): first t reaching the max
    y = xp.max(x, axis=2)                                             # (B, C)
    return y, (winner, x.shape[2])


def max_over_time_backward(dy, cache):
    """dx = dy at each row's winning t, 0 elsewhere."""
    xp = array_namespace(dy)
    winner, T = cache
    is_winner = winner == xp.arange(T, device=device_of(dy))          # (B, C, T) one-hot of the winner
    return xp.where(is_winner, dy[:, :, None], xp.zeros_like(dy[:, :, None]))
