"""Shape and layout: reshape, permute/transpose, concat, stack, split, and dtype/device moves.

None of these changes a value, so each backward only moves the gradient back
into the input's layout.
"""

from __future__ import annotations

import math

from ... import backend, rules
from ...backend import array_namespace
from ..function import Function
from ..tensor import Tensor


class Reshape(Function):
    """out = x viewed with a new shape;  dx = dout reshaped back."""

    def forward(self, x, shape=()):
        self.shape = tuple(x.shape)
        return array_namespace(x).reshape(x, shape)

    def backward(self, dout):
        return array_namespace(dout).reshape(dout, self.shape)


class Permute(Function):
    """out = x with axes reordered;  dx = dout with the inverse order."""

    def forward(self, x, axes=()):
        self.inverse = tuple(sorted(range(len(axes)), key=axes.__getitem__))
        return array_namespace(x).permute_dims(x, axes)

    def backward(self, dout):
        return array_namespace(dout).permute_dims(dout, self.inverse)


class Concat(Function):
    """out = [x_1, x_2, ...] joined along ``axis``;  dx_i = the matching slice of dout."""

    def forward(self, *xs, axis=0):
        self.axis = axis
        self.bounds = []
        start = 0
        for x in xs:
            self.bounds.append((start, start + x.shape[axis]))
            start += x.shape[axis]
        return array_namespace(*xs).concat(list(xs), axis=axis)

    def backward(self, dout):
        lead = (slice(None),) * self.axis
        return tuple(dout[lead + (slice(a, b), ...)] for a, b in self.bounds)


class Stack(Function):
    """out[..., i, ...] = x_i along a new ``axis``;  dx_i = dout[..., i, ...]."""

    def forward(self, *xs, axis=0):
        self.axis, self.n = axis, len(xs)
        return array_namespace(*xs).stack(list(xs), axis=axis)

    def backward(self, dout):
        lead = (slice(None),) * self.axis
        return tuple(dout[lead + (i, ...)] for i in range(self.n))


class Split(Function):
    """(out_1, out_2, ...) = pieces of x along ``axis``;  dx = the pieces' gradients joined (zeros where unused)."""

    def forward(self, x, sizes=(), axis=0):
        self.axis, self.sizes = axis, sizes
        lead = (slice(None),) * axis
        outs, start = [], 0
        for n in sizes:
            outs.append(x[lead + (slice(start, start + n), ...)])
            start += n
        return tuple(outs)

    def backward(self, *douts):
        xp = array_namespace(*douts)
        like = next(d for d in douts if d is not None)
        parts = []
        for d, n in zip(douts, self.sizes):
            if d is None:
                shape = list(like.shape)
                shape[self.axis] = n
                d = xp.zeros(tuple(shape), dtype=like.dtype, device=backend.device_of(like))
            parts.append(d)
        return xp.concat(parts, axis=self.axis)


class Cast(Function):
    """out = x converted to ``dtype``;  dx = dout converted back."""

    def forward(self, x, dtype=None):
        xp = array_namespace(x)
        self.dtype = x.dtype
        return xp.astype(x, dtype)

    def backward(self, dout):
        return array_namespace(dout).astype(dout, self.dtype)


class ToDevice(Function):
    """out = x on another device;  dx = dout moved back."""

    def forward(self, x, device=None):
        self.source = x
        return backend.to_device(x, device)

    def backward(self, dout):
        return backend.asarray_like(backend.to_numpy(dout), self.source)


# ---------------------------------------------------------------------------- wrappers

def _axis(op, axis, ndim):
    """``axis`` (negative counts from the end) as an index in 0..ndim-1."""
    return rules.integer(op, "axis", axis, -ndim, ndim - 1) % ndim


def reshape(x, *shape):
    """Give ``x`` a new shape with the same number of elements; one entry may be -1.

    ``reshape(x, 2, -1)`` and ``reshape(x, (2, -1))`` both work (as ``x.reshape``).
    """
    shape = tuple(int(s) for s in (shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape))
    n, known = x.numel(), math.prod(s for s in shape if s != -1)
    if shape.count(-1) > 1 or min(shape, default=0) < -1 or (n % known if -1 in shape and known else n != known):
        rules.fail("reshape", "shape", f"a shape of {n} elements, like {x.shape}", shape)
    shape = tuple(n // known if s == -1 else s for s in shape)
    return x if shape == x.shape else Reshape.apply(x, shape=shape)


def permute(x, *axes):
    """Reorder the axes: ``permute(x, 0, 2, 1)`` (or with a tuple)."""
    axes = tuple(axes[0]) if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
    if sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)) or len(axes) != x.ndim:
        rules.fail("permute", "axes", f"a permutation of the {x.ndim} axes of shape {x.shape}", axes)
    return Permute.apply(x, axes=tuple(a % x.ndim for a in axes))


def transpose(x, axis0: int = -2, axis1: int = -1):
    """Swap two axes (by default the last two, the matrix transpose)."""
    axes = list(range(x.ndim))
    a, b = _axis("transpose", axis0, x.ndim), _axis("transpose", axis1, x.ndim)
    axes[a], axes[b] = axes[b], axes[a]
    return Permute.apply(x, axes=tuple(axes))


def _joinable(op, tensors, axis, new_axis: bool):
    """(tensors, axis): the tensors (arrays wrapped), checked to share a dtype and, but for ``axis``, a shape."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    rules.require(tensors, op, "tensors", "a list of at least one tensor", "[]")
    first = tensors[0]
    axis = _axis(op, axis, first.ndim + new_axis)
    rules.same_dtype(op, **{f"tensor {i}": t for i, t in enumerate(tensors)})
    expected = "of tensor 0's shape" + ("" if new_axis else f" except on axis {axis}") + f" {first.shape}"
    for i, t in enumerate(tensors[1:], 1):
        same = t.shape == first.shape if new_axis else (
            t.ndim == first.ndim and all(a == b for j, (a, b) in enumerate(zip(t.shape, first.shape)) if j != axis))
        rules.require(same, op, f"tensor {i}", expected, f"shape {t.shape}")
    return tensors, axis


def concat(tensors, axis: int = 0):
    """Join tensors along an existing axis (``torch.cat``)."""
    tensors, axis = _joinable("concat", list(tensors), axis, new_axis=False)
    return Concat.apply(*tensors, axis=axis)


cat = concat


def stack(tensors, axis: int = 0):
    """Join equal-shaped tensors along a new axis."""
    tensors, axis = _joinable("stack", list(tensors), axis, new_axis=True)
    return Stack.apply(*tensors, axis=axis)


def split(x, split_size_or_sections, axis: int = 0):
    """Split into pieces along ``axis``, as ``torch.split``: an int gives pieces of that size
    (the last may be smaller), a list gives the size of each piece."""
    axis = _axis("split", axis, x.ndim)
    n = x.shape[axis]
    if not rules.is_int(split_size_or_sections):                     # a list: the size of each piece
        sizes = [int(s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            rules.fail("split", "sections", f"non-negative sizes adding up to {n}, the size of axis {axis}", sizes)
    else:                                                               # an int: pieces of that size, the last smaller
        step = rules.positive_int("split", "split_size", split_size_or_sections)
        sizes = tuple(min(step, n - s) for s in range(0, n, step)) or (0,)
    return Split.apply(x, sizes=tuple(sizes), axis=axis)


def to(x, target):
    """Cast to a dtype (a name like ``"float64"`` or a dtype) or move to a device (``"cpu"``, ``"cuda"``)."""
    if backend.is_dtype(target):
        dtype = backend.resolve_dtype(target, array_namespace(x.data))
        return x if dtype == x.dtype else Cast.apply(x, dtype=dtype)
    return ToDevice.apply(x, device=target)
