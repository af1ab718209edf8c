"""Elementwise functions: exp, log, sqrt, tanh, sigmoid, relu, gelu, clip, dropout.

Each derivative is written in terms of what the forward already computed where
that saves work (``d tanh = 1 - out**2``, ``d exp = out``).
"""

from __future__ import annotations

import math

from ... import backend
from ...backend import array_namespace
from ..function import Function


class Exp(Function):
    """out = exp(x);  dx = dout * out."""

    def forward(self, x):
        self.out = array_namespace(x).exp(x)
        return self.out

    def backward(self, dout):
        return dout * self.out


def exp(x):
    """Elementwise ``e**x``."""
    return Exp.apply(x)


class Log(Function):
    """out = log(x);  dx = dout / x."""

    def forward(self, x):
        self.x = x
        return array_namespace(x).log(x)

    def backward(self, dout):
        return dout / self.x


def log(x):
    """Elementwise natural logarithm."""
    return Log.apply(x)


class Sqrt(Function):
    """out = sqrt(x);  dx = dout / (2 * out)."""

    def forward(self, x):
        self.out = array_namespace(x).sqrt(x)
        return self.out

    def backward(self, dout):
        return dout / (2 * self.out)


def sqrt(x):
    """Elementwise square root."""
    return Sqrt.apply(x)


class Tanh(Function):
    """out = tanh(x);  dx = dout * (1 - out**2)."""

    def forward(self, x):
        self.out = array_namespace(x).tanh(x)
        return self.out

    def backward(self, dout):
        return dout * (1 - self.out * self.out)


def tanh(x):
    """Elementwise hyperbolic tangent."""
    return Tanh.apply(x)


class Sigmoid(Function):
    """out = 1 / (1 + exp(-x));  dx = dout * out * (1 - out).

    Computed as ``1/(1+e)`` for x >= 0 and ``e/(1+e)`` for x < 0 with ``e = exp(-|x|)``,
    so no exp overflows and small outputs keep their relative precision.
    """

    def forward(self, x):
        xp = array_namespace(x)
        e = xp.exp(-xp.abs(x))
        self.out = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return self.out

    def backward(self, dout):
        return dout * self.out * (1 - self.out)


def sigmoid(x):
    """Elementwise logistic sigmoid ``1 / (1 + exp(-x))``, stable for large ``|x|``."""
    return Sigmoid.apply(x)


class ReLU(Function):
    """out = max(x, 0);  dx = dout where x > 0, else 0."""

    def forward(self, x):
        xp = array_namespace(x)
        self.mask = x > 0
        return xp.where(self.mask, x, xp.zeros_like(x))

    def backward(self, dout):
        xp = array_namespace(dout)
        return xp.where(self.mask, dout, xp.zeros_like(dout))


def relu(x):
    """Elementwise ``max(x, 0)``."""
    return ReLU.apply(x)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class GELU(Function):
    """Gaussian error linear unit.

    exact ("none"):  out = x * Phi(x),  Phi(x) = (1 + erf(x / sqrt 2)) / 2
                     dx  = dout * (Phi(x) + x * phi(x)),  phi(x) = exp(-x^2/2) / sqrt(2 pi)
    "tanh":          out = x/2 * (1 + t),  t = tanh(u),  u = sqrt(2/pi) * (x + 0.044715 x^3)
                     dx  = dout * (0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2))
    """

    def forward(self, x, approximate="none"):
        xp = array_namespace(x)
        self.x, self.approximate = x, approximate
        if approximate == "tanh":
            self.t = xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
            return 0.5 * x * (1 + self.t)
        self.cdf = 0.5 * (1 + backend.erf(x * _INV_SQRT_2))
        return x * self.cdf

    def backward(self, dout):
        xp = array_namespace(dout)
        x = self.x
        if self.approximate == "tanh":
            t = self.t
            du = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            return dout * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)
        pdf = _INV_SQRT_2PI * xp.exp(-0.5 * x * x)
        return dout * (self.cdf + x * pdf)


def gelu(x, approximate: str = "none"):
    """GELU, exact (``approximate="none"``, via erf) or the tanh approximation (``"tanh"``), as in PyTorch."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(x, approximate=approximate)


class Clip(Function):
    """out = min(max(x, lo), hi);  dx = dout where lo <= x <= hi, else 0."""

    def forward(self, x, lo=None, hi=None):
        xp = array_namespace(x)
        self.x, self.lo, self.hi = x, lo, hi
        return xp.clip(x, lo, hi)

    def backward(self, dout):
        xp = array_namespace(dout)
        keep = xp.ones(dout.shape, dtype=xp.bool, device=backend.device_of(dout))
        if self.lo is not None:
            keep = keep & (self.x >= self.lo)
        if self.hi is not None:
            keep = keep & (self.x <= self.hi)
        return xp.where(keep, dout, xp.zeros_like(dout))


def clip(x, min=None, max=None):
    """Clamp values to ``[min, max]`` (either bound may be ``None``); the gradient is 0 outside."""
    if min is None and max is None:
        raise ValueError("clip: give at least one of min and max")
    if min is not None and max is not None and min > max:
        raise ValueError(f"clip: min must be <= max, got min={min} and max={max}")
    return Clip.apply(x, lo=min, hi=max)


class Dropout(Function):
    """Inverted dropout: out = x * m / (1 - p), m ~ Bernoulli(1 - p);  dx = dout * m / (1 - p).

    The mask is drawn from minigen's seeded host generator and moved to the device,
    so a seed gives the same mask on every backend.
    """

    def forward(self, x, p=0.5):
        keep = backend.get_rng().random(tuple(x.shape)) >= p                       # host bool mask
        scale = keep.astype(backend._dtype_name(x.dtype)) * (1 / (1 - p))          # m / (1 - p)
        self.scale = backend.asarray_like(scale, x)
        return x * self.scale

    def backward(self, dout):
        return dout * self.scale


def dropout(x, p: float = 0.5, training: bool = True):
    """Inverted dropout: zero each element with probability ``p`` and scale the rest by ``1/(1-p)``.

    Identity when ``training`` is False or ``p == 0``. Seed with ``minigen.manual_seed``.

    >>> import minigen
    >>> minigen.manual_seed(0)
    >>> y = minigen.dropout(minigen.tensor([1.0] * 8), p=0.5)
    >>> sorted(set(y.tolist())) == [0.0, 2.0]
    True
    """
    if not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p!r}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0.0
    return Dropout.apply(x, p=p)
