"""Activation kernels: the logistic sigmoid that the recurrent kernels share, and GELU.

sigmoid (used by the LSTM and GRU gates), elementwise, so any shape
    sigmoid(x) = 1 / (1 + exp(-x)) = 0.5 * tanh(0.5 x) + 0.5, computed the second way:
    tanh saturates at +-1 instead of overflowing, so x = +-1e4 gives exactly 1 and 0.
    Its derivative, s (1 - s), is written out in each backward that needs it.

GELU, the Gaussian error linear unit, exact and tanh-approximated, as in PyTorch; elementwise too.
Phi is the standard normal CDF and phi its density.

exact (approximate="none")
    forward   y  = x * Phi(x),               Phi(x) = (1 + erf(x / sqrt 2)) / 2
    backward  dx = dy * (Phi(x) + x * phi(x)),   phi(x) = exp(-x^2 / 2) / sqrt(2 pi)

tanh approximation (approximate="tanh"): p = (1 + tanh(u)) / 2 stands in for Phi(x)
    forward   u  = sqrt(2/pi) * (x + 0.044715 x^3),   p = (1 + tanh(u)) / 2
              y  = x * p
    backward  du/dx = sqrt(2/pi) * (1 + 3 * 0.044715 x^2),   dp/du = 2 p (1 - p)
              dx = dy * (p + x * dp/du * du/dx) = dy * p * (1 + 2 x (1 - p) du/dx)

NumPy has no ``erf``; ``backend.erf`` supplies one (CuPy's own on the GPU).
"""

from __future__ import annotations

import math

from .. import backend
from ..backend import array_namespace

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_A = 0.044715  # the cubic coefficient of the tanh approximation


# ---------------------------------------------------------------------------- sigmoid

def sigmoid(x):
    """sigmoid(x) = 0.5 * tanh(0.5 x) + 0.5 as a new array; ``x`` is left as it was."""
    xp = array_namespace(x)
    return 0.5 * xp.tanh(0.5 * x) + 0.5


def sigmoid_overwriting(x):
    """The same numbers as ``sigmoid(x)``, with fewer temporaries: ``x`` is used as scratch.

    Returns the sigmoid as a new array and leaves x / 2 in ``x``: call it only on an
    array that is not needed afterwards (the GRU step calls it on its own buffer).
    """
    xp = array_namespace(x)
    x *= 0.5
    s = xp.tanh(x)
    s *= 0.5
    s += 0.5
    return s


# ---------------------------------------------------------------------------- GELU

def _tanh_forward(xp, x):
    """y and p = (1 + tanh(u)) / 2 for one block, in in-place passes."""
    # u = sqrt(2/pi) (x + A x^3), written as x (sqrt(2/pi) A x^2 + sqrt(2/pi)): on (B, T, 4E)
    # activations each new temporary costs more than the arithmetic
    u = x * x
    u *= _A * _SQRT_2_OVER_PI
    u += _SQRT_2_OVER_PI
    u *= x
    p = xp.tanh(u)
    p += 1
    p *= 0.5                                                               # p = (1 + tanh(u)) / 2
    return x * p, p


def _tanh_backward(xp, dy, x, p):
    """dx for one block: forward was y = x p, p = (1 + tanh(u)) / 2.

    Product rule, and dp/du = 2 p (1 - p) (as d tanh/du = 1 - tanh^2), so
    dy/dx = p (1 + 2 x (1 - p) du/dx).
    """
    g = x * x
    g *= -2 * 3 * _A * _SQRT_2_OVER_PI
    g -= 2 * _SQRT_2_OVER_PI                                               # -2 du/dx
    g *= x
    g *= p - 1                                                             # 2 x (1 - p) du/dx
    g += 1
    g *= p
    g *= dy                                                                # dy p (1 + 2 x (1 - p) du/dx)
    return g


def _exact_forward(xp, x):
    """y and Phi(x) for one block."""
    cdf = 0.5 * (1 + backend.erf(x * _INV_SQRT_2))                         # Phi(x)
    return x * cdf, cdf


def _exact_backward(xp, dy, x, cdf):
    """dx for one block: forward was y = x * Phi(x), product rule, and dPhi/dx = phi(x)."""
    pdf = _INV_SQRT_2PI * xp.exp(-0.5 * x * x)                             # phi(x)
    return dy * (cdf + x * pdf)


_STEPS = {"tanh": (_tanh_forward, _tanh_backward), "none": (_exact_forward, _exact_backward)}


def gelu_forward(x, approximate: str = "none"):
    """GELU of ``x``, exact (``"none"``) or tanh-approximated (``"tanh"``). Returns ``(y, cache)``.

    Either form makes several passes over ``x``; a large ``x`` is taken in cache-sized
    blocks (``backend.cache_blocks``), so that each block stays in the cache for all of them.
    """
    xp = array_namespace(x)
    if approximate not in _STEPS:
        raise ValueError(f"gelu_forward: approximate must be 'none' or 'tanh', got {approximate!r}")
    forward = _STEPS[approximate][0]
    blocks = backend.cache_blocks(math.prod(x.shape), x)
    if len(blocks) == 1:
        y, kept = forward(xp, x)                                           # kept: p, or Phi(x)
        return y, (x, approximate, kept)
    xf = xp.reshape(x, (-1,))
    y, kept = xp.empty_like(xf), xp.empty_like(xf)
    for b in blocks:
        y[b], kept[b] = forward(xp, xf[b])
    return xp.reshape(y, x.shape), (x, approximate, xp.reshape(kept, x.shape))


def gelu_backward(dy, cache):
    """dx = dy * gelu'(x), using what the forward kept (Phi(x), or its tanh stand-in p)."""
    xp = array_namespace(dy)
    x, approximate, kept = cache
    backward = _STEPS[approximate][1]
    blocks = backend.cache_blocks(math.prod(x.shape), x)
    if len(blocks) == 1:
        return backward(xp, dy, x, kept)
    dyf, xf, kf = (xp.reshape(a, (-1,)) for a in (dy, x, kept))
    dx = xp.empty_like(xf)
    for b in blocks:
        dx[b] = backward(xp, dyf[b], xf[b], kf[b])
    return xp.reshape(dx, x.shape)
