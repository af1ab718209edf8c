"""Highway layer (Srivastava, Greff and Schmidhuber, 2015), as in the SeqGAN / Kim text-CNN discriminator.

Shapes: N = all leading dimensions flattened (batch), H = size (features in = features out).
Parameters: W_h (H, H), b_h (H,) for the transform; W_t (H, H), b_t (H,) for the gate.

    forward   a_h = x W_h^T + b_h,   h = relu(a_h)                 the candidate
              a_t = x W_t^T + b_t,   t = sigmoid(a_t)              the transform gate, in (0, 1)
              y = t * h + (1 - t) * x                              the carry: (1 - t) lets x through unchanged

    backward  forward was y = t * h + (1 - t) * x,  so  dh = dy * t,  dt = dy * (h - x),  dx = dy * (1 - t)
              forward was h = relu(a_h),            so  da_h = dh where a_h > 0, else 0
              forward was t = sigmoid(a_t),         so  da_t = dt * t * (1 - t)
              forward was a = x W^T + b (twice),    so  dx += da_h W_h + da_t W_t,
                                                        dW_h = da_h^T x,  db_h = sum_N da_h  (and the same for t)

The two affine maps are the ``linear`` kernels; this file adds the gate and the carry.
"""

from __future__ import annotations

from ..backend import array_namespace
from .activation import sigmoid
from .linear import linear_backward, linear_forward


def highway_forward(x, W_h, W_t, b_h=None, b_t=None):
    """y = t * relu(x W_h^T + b_h) + (1 - t) * x,  t = sigmoid(x W_t^T + b_t), for x (..., H).

    Either bias may be None. Returns ``(y, cache)``.
    """
    xp = array_namespace(x)
    a_h, lin_h = linear_forward(x, W_h, b_h)                        # (..., H)
    a_t, lin_t = linear_forward(x, W_t, b_t)                        # (..., H)
    h = xp.clip(a_h, min=0.0)                                       # relu(a_h)
    t = sigmoid(a_t)
    y = t * h + (1 - t) * x
    return y, (x, h, t, lin_h, lin_t)


def highway_backward(dy, cache):
    """Returns ``(dx, dW_h, dW_t, db_h, db_t)``; a bias's gradient is None when it was None."""
    xp = array_namespace(dy)
    x, h, t, lin_h, lin_t = cache
    # forward was y = t * h + (1 - t) * x
    dh = dy * t
    dt = dy * (h - x)
    dx = dy * (1 - t)
    # forward was h = relu(a_h), t = sigmoid(a_t)
    da_h = xp.where(h > 0, dh, 0.0)
    da_t = dt * t * (1 - t)
    # forward was a_h = x W_h^T + b_h, a_t = x W_t^T + b_t
    dx_h, dW_h, db_h = linear_backward(da_h, lin_h)
    dx_t, dW_t, db_t = linear_backward(da_t, lin_t)
    return dx + dx_h + dx_t, dW_h, dW_t, db_h, db_t
