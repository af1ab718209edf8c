"""Elementwise functions: exp, log, sqrt, tanh, sigmoid, relu, clip.

GELU and dropout are kernels (``minigen.kernels.activation``, ``minigen.kernels.dropout``),
exposed as ``minigen.functional.gelu`` / ``dropout`` and, at the top level, ``minigen.gelu`` / ``dropout``.

Each derivative is written in terms of what the forward already computed where
that saves work (``d tanh = 1 - out**2``, ``d exp = out``).
"""

from __future__ import annotations

from ... import backend, rules
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
    if min is None and max is None or min is not None and max is not None and min > max:
        rules.fail("clip", "min", "<= max (and one of them given)", f"min={min} and max={max}")
    return Clip.apply(x, lo=min, hi=max)


