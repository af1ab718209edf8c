"""Linear (affine) layer kernel: one matrix product for all leading dimensions.

Shapes: N = all leading dimensions flattened (batch x time), C = in_features, O = out_features.

    forward   y = x W^T + b           x (N, C), W (O, C), b (O,)  ->  y (N, O)
    backward  dx = dy W,  dW = dy^T x,  db = sum_n dy

Flattening the leading dimensions first makes dW one (O, N) @ (N, C) product,
instead of a batched product followed by a sum.
"""

from __future__ import annotations

import math

from ..backend import array_namespace


def linear_forward(x, W, b=None):
    """y = x @ W.T + b for x of shape (..., C). Returns ``(y, cache)``."""
    xp = array_namespace(x)
    C, O = W.shape[1], W.shape[0]
    N = math.prod(x.shape[:-1])                                     # not -1: C or N may be 0
    x2 = xp.reshape(x, (N, C))                                      # (N, C)
    y = x2 @ xp.matrix_transpose(W)                                 # (N, O)
    if b is not None:
        y += b
    return xp.reshape(y, tuple(x.shape[:-1]) + (O,)), (x2, W, b is not None, tuple(x.shape))


def linear_backward(dy, cache):
    """Returns ``(dx, dW, db)``; ``db`` is None when there was no bias."""
    xp = array_namespace(dy)
    x2, W, has_bias, x_shape = cache
    dy2 = xp.reshape(dy, (x2.shape[0], W.shape[0]))                # (N, O)
    dx = xp.reshape(dy2 @ W, x_shape)                               # (N, C) -> (..., C)
    dW = xp.matrix_transpose(dy2) @ x2                              # (O, C)
    db = xp.sum(dy2, axis=0) if has_bias else None                  # (O,)
    return dx, dW, db
