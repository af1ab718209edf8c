"""Reductions: sum, mean and max over an axis (or several, or all), with ``keepdims``."""

from __future__ import annotations

from ... import rules
from ...backend import array_namespace
from ..function import Function


def axis_index(op: str, axis, ndim: int, name: str = "axis") -> int:
    """One ``axis`` (negative counts from the end) as an index in 0..ndim-1 (0 for a 0-d input, as NumPy allows);
    the rule of the reductions, ``F.softmax`` and co. (``name``: the argument's name, e.g. "dim")."""
    return rules.integer(op, name, axis, -ndim, ndim - 1 if ndim else 0) % (ndim or 1)


def normalize_axis(op: str, axis, ndim: int) -> tuple:
    """``axis`` (None, an int or a tuple of ints, negatives allowed) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    given = (axis,) if not isinstance(axis, (tuple, list)) else axis
    axes = [axis_index(op, a, ndim) for a in given]
    rules.require(len(set(axes)) == len(axes), op, "axis", "distinct axes", axis)
    return tuple(sorted(axes))


def _expand(dout, in_shape, axes, keepdims):
    """Reshape a reduced gradient so that it broadcasts against the input again."""
    xp = array_namespace(dout)
    if not keepdims:
        kept = tuple(1 if i in axes else n for i, n in enumerate(in_shape))
        dout = xp.reshape(dout, kept)
    return dout


class Sum(Function):
    """out = sum_{axes} x;  dx = dout broadcast back over the summed axes."""

    def forward(self, x, axis=(), keepdims=False):
        self.shape, self.axes, self.keepdims = tuple(x.shape), axis, keepdims
        return array_namespace(x).sum(x, axis=axis, keepdims=keepdims)

    def backward(self, dout):
        xp = array_namespace(dout)
        return xp.broadcast_to(_expand(dout, self.shape, self.axes, self.keepdims), self.shape)


def sum(x, axis=None, keepdims: bool = False):
    """Sum over ``axis`` (None: all axes; an int; or a tuple)."""
    return Sum.apply(x, axis=normalize_axis("sum", axis, x.ndim), keepdims=keepdims)


class Mean(Function):
    """out = sum_{axes} x / n;  dx = dout / n broadcast back (n = number of elements reduced)."""

    def forward(self, x, axis=(), keepdims=False):
        self.shape, self.axes, self.keepdims = tuple(x.shape), axis, keepdims
        self.n = 1
        for a in axis:
            self.n *= x.shape[a]
        return array_namespace(x).mean(x, axis=axis, keepdims=keepdims)

    def backward(self, dout):
        xp = array_namespace(dout)
        return xp.broadcast_to(_expand(dout, self.shape, self.axes, self.keepdims) / self.n, self.shape)


def mean(x, axis=None, keepdims: bool = False):
    """Mean over ``axis`` (None: all axes; an int; or a tuple)."""
    return Mean.apply(x, axis=normalize_axis("mean", axis, x.ndim), keepdims=keepdims)


class Max(Function):
    """out = max_{axes} x;  dx = dout at the maximal elements, shared equally among ties."""

    def forward(self, x, axis=(), keepdims=False):
        xp = array_namespace(x)
        self.x, self.axes, self.keepdims = x, axis, keepdims
        self.m = xp.max(x, axis=axis, keepdims=True)
        return self.m if keepdims else xp.reshape(self.m, tuple(n for i, n in enumerate(x.shape) if i not in axis))

    def backward(self, dout):
        xp = array_namespace(dout)
        is_max = self.x == self.m
        count = xp.sum(xp.astype(is_max, dout.dtype), axis=self.axes, keepdims=True)
        share = _expand(dout, tuple(self.x.shape), self.axes, self.keepdims) / count
        return xp.where(is_max, share, xp.zeros_like(self.x))


def max(x, axis=None, keepdims: bool = False):
    """Maximum over ``axis``. Where several elements tie for the maximum, they share its gradient equally."""
    axes = normalize_axis("max", axis, x.ndim)
    rules.require(all(x.shape[a] > 0 for a in axes), "max", "axis", "an axis of size > 0", f"{axis} of shape {x.shape}")
    return Max.apply(x, axis=axes, keepdims=keepdims)
