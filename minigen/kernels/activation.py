"""GELU kernel: the Gaussian error linear unit, exact and tanh-approximated, as in PyTorch.

Elementwise, so any shape. Phi is the standard normal CDF and phi its density.

exact (approximate="none")
    forward   y  = x * Phi(x),               Phi(x) = (1 + erf(x / sqrt 2)) / 2
    backward  dx = dy * (Phi(x) + x * phi(x)),   phi(x) = exp(-x^2 / 2) / sqrt(2 pi)

tanh approximation (approximate="tanh")
    forward   u  = sqrt(2/pi) * (x + 0.044715 x^3),   t = tanh(u)
              y  = x/2 * (1 + t)
    backward  du/dx = sqrt(2/pi) * (1 + 3 * 0.044715 x^2)
              dx = dy * (0.5 (1 + t) + 0.5 x (1 - t^2) du/dx)

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


def gelu_forward(x, approximate: str = "none"):
    """GELU of ``x``, exact (``"none"``) or tanh-approximated (``"tanh"``). Returns ``(y, cache)``."""
    xp = array_namespace(x)
    if approximate == "tanh":
        # u = sqrt(2/pi) (x + A x^3), written as x (1 + A x^2) sqrt(2/pi) with in-place passes:
        # on (B, T, 4E) activations each new temporary costs more than the arithmetic
        u = x * x
        u *= _A
        u += 1
        u *= x
        u *= _SQRT_2_OVER_PI
        t = xp.tanh(u)                                                     # tanh(u)
        y = t + 1
        y *= x
        y *= 0.5                                                           # y = x/2 (1 + t)
        return y, (x, approximate, t)
    if approximate != "none":
        raise ValueError(f"gelu_forward: approximate must be 'none' or 'tanh', got {approximate!r}")
    cdf = 0.5 * (1 + backend.erf(x * _INV_SQRT_2))                         # Phi(x)
    return x * cdf, (x, approximate, cdf)


def gelu_backward(dy, cache):
    """dx = dy * gelu'(x), using what the forward kept (Phi(x), or tanh(u))."""
    xp = array_namespace(dy)
    x, approximate, kept = cache
    if approximate == "tanh":
        # forward was y = x/2 (1 + t), t = tanh(u): product rule, and dt/du = 1 - t^2
        # dy/dx = 1/2 (1 + t) + x/2 (1 - t^2) du/dx, with du/dx = sqrt(2/pi) (1 + 3 A x^2)
        t = kept
        g = x * x
        g *= 3 * _A * _SQRT_2_OVER_PI
        g += _SQRT_2_OVER_PI                                               # du/dx
        g *= x                                                             # x du/dx
        t2 = t * t
        t2 -= 1
        g *= t2                                                            # -x (1 - t^2) du/dx
        g -= t
        g -= 1                                                             # -(1 + t + x (1 - t^2) du/dx)
        g *= dy
        g *= -0.5
        return g
    # forward was y = x * Phi(x): product rule, and dPhi/dx = phi(x)
    cdf = kept
    pdf = _INV_SQRT_2PI * xp.exp(-0.5 * x * x)                             # phi(x)
    return dy * (cdf + x * pdf)
