"""Indexing: slicing, integer-array gather, where/masked_fill, comparisons.

Two kinds of ``x[key]``:

- basic indexing (ints, slices, ``None``, ``...``) picks a regular sub-block, so
  the backward writes ``dout`` into a zero array at the same place;
- integer-array indexing (``logits[rows, targets]``, ``weight[ids]``) may pick the
  same element several times, so the backward must *add* ``dout`` into place
  with a scatter-add (``backend.index_add``). A plain assignment would keep only
  one of the repeated contributions. (The embedding lookup is its own kernel,
  ``minigen.kernels.embedding``.)
"""

from __future__ import annotations

from ... import backend, rules
from ...backend import array_namespace
from ..function import Function, unbroadcast
from ..tensor import Tensor, _dtype_str
from .arithmetic import _check_dtypes, _operand, broadcast_shapes

_ADVANCED_KEY = ("integer-array indices first (at most {}), then only ':' or '...' "
                 "(permute the axes first, or index in two steps)")


class GetItem(Function):
    """out = x[key] for a basic key;  dx = zeros with dx[key] = dout."""

    def forward(self, x, key=()):
        self.x_shape, self.dtype, self.key = tuple(x.shape), x.dtype, key
        return x[key]

    def backward(self, dout):
        xp = array_namespace(dout)
        dx = xp.zeros(self.x_shape, dtype=self.dtype, device=backend.device_of(dout))
        key = tuple(k for k in self.key if k is not None)              # new axes hold no data
        dx[key] = xp.reshape(dout, tuple(dx[key].shape))
        return dx


class Gather(Function):
    """out = x[i_1, ..., i_k] with integer arrays on the first k axes.

    The k index arrays are turned into one flat row index into x viewed as
    (N_1*...*N_k, *rest), so that forward is one ``take`` and backward one
    scatter-add: dx_flat[flat[j]] += dout_flat[j].
    """

    def forward(self, x, flat=None, out_shape=()):
        xp = array_namespace(x)
        self.x_shape, self.flat = tuple(x.shape), flat
        k = len(self.x_shape) - (len(out_shape) - flat.ndim)
        rows = 1
        for n in self.x_shape[:k]:
            rows *= n
        self.rest = self.x_shape[k:]
        xf = xp.reshape(x, (rows,) + self.rest)                          # (N, *rest)
        out = xp.take(xf, xp.reshape(flat, (-1,)), axis=0)               # (n, *rest)
        return xp.reshape(out, out_shape)

    def backward(self, dout):
        xp = array_namespace(dout)
        rows = self.x_shape
        n_rows = 1
        for s in rows[: len(rows) - len(self.rest)]:
            n_rows *= s
        dxf = xp.zeros((n_rows,) + self.rest, dtype=dout.dtype, device=backend.device_of(dout))
        src = xp.reshape(dout, (-1,) + self.rest)
        dxf = backend.index_add(dxf, xp.reshape(self.flat, (-1,)), src)
        return xp.reshape(dxf, self.x_shape)


def _is_index_array(k) -> bool:
    return isinstance(k, (Tensor, list)) or backend.is_array(k)


def _index_array(k, like, axis_len: int, op: str, axis: int):
    """An integer index as a backend array on ``like``'s device, negatives wrapped, range-checked."""
    if isinstance(k, Tensor):
        k = k.data
    if isinstance(k, list):
        k = backend.asarray_like(backend.host_array(k, "int64"), like)
    xp = array_namespace(k)
    if not backend.is_integer(k.dtype):
        rules.fail(op, "index", "an integer array (masks go to where()/masked_fill())", _dtype_str(k.dtype), IndexError)
    outside = (k >= axis_len) | (k < -axis_len)
    if k.size and backend.any_true(outside):
        first = int(backend.to_numpy(k)[backend.to_numpy(outside)][0])
        rules.fail(op, "index", f"in [-{axis_len}, {axis_len}) for axis {axis}", first, IndexError)
    return xp.where(k < 0, k + axis_len, k)


def getitem(x, key):
    """``x[key]``: basic indexing, or integer arrays on the leading axes (gather)."""
    if not isinstance(key, tuple):
        key = (key,)
    n_arrays = sum(1 for k in key if _is_index_array(k))
    if n_arrays == 0:
        if Ellipsis not in key:  # NumPy pads a short key with ':'; the array API wants it said
            key = key + (Ellipsis,)
        return GetItem.apply(x, key=key)
    arrays = list(key[:n_arrays])
    tail = key[n_arrays:]
    ok = all(_is_index_array(k) for k in arrays) and n_arrays <= x.ndim and \
        all(t is Ellipsis or (isinstance(t, slice) and t == slice(None)) for t in tail)
    rules.require(ok, "indexing", "key", _ADVANCED_KEY.format(x.ndim), repr(key), IndexError)
    idx = [_index_array(k, x.data, x.shape[i], "indexing", i) for i, k in enumerate(arrays)]
    xp = array_namespace(idx[0])
    shapes = [tuple(i.shape) for i in idx]
    bshape = shapes[0]
    for s in shapes[1:]:
        bshape = broadcast_shapes(bshape, s)
        rules.require(bshape is not None, "indexing", "key", "index arrays that broadcast", shapes, IndexError)
    flat = xp.zeros(bshape, dtype=idx[0].dtype, device=backend.device_of(idx[0]))
    for i, a in enumerate(idx):                      # row-major flat index: ((i_1 * N_2) + i_2) * N_3 + ...
        flat = flat * x.shape[i] + a
    return Gather.apply(x, flat=flat, out_shape=bshape + tuple(x.shape[n_arrays:]))


class Where(Function):
    """out = where(cond, a, b);  da = dout where cond (else 0), db = dout where not cond."""

    def forward(self, a, b, cond=None):
        xp = array_namespace(cond)
        self.cond = cond
        self.sa = tuple(a.shape) if hasattr(a, "shape") else ()
        self.sb = tuple(b.shape) if hasattr(b, "shape") else ()
        return xp.where(cond, a, b)

    def backward(self, dout):
        xp = array_namespace(dout)
        zero = xp.zeros_like(dout)
        na, nb = self.needs_input_grad
        return (unbroadcast(xp.where(self.cond, dout, zero), self.sa) if na else None,
                unbroadcast(xp.where(self.cond, zero, dout), self.sb) if nb else None)


def _mask(op, name, mask):
    m = mask.data if isinstance(mask, Tensor) else mask
    if not backend.is_array(m) or backend._dtype_name(m.dtype) != "bool":
        rules.fail(op, name, "a boolean array", rules.describe(m), TypeError)
    return m


def where(condition, x, y):
    """Pick ``x`` where ``condition`` is true and ``y`` elsewhere (all broadcast together)."""
    cond = _mask("where", "condition", condition)
    x, y = _operand(x), _operand(y)
    _check_dtypes("where", x, y)
    shapes = [tuple(cond.shape)] + [t.shape for t in (x, y) if isinstance(t, Tensor)]
    out = shapes[0]
    for s in shapes[1:]:
        out = broadcast_shapes(out, s)
        rules.require(out is not None, "where", "condition, x and y", "of shapes that broadcast together", shapes)
    return Where.apply(x, y, cond=cond)


def masked_fill(x, mask, value):
    """Replace the elements of ``x`` where ``mask`` is true by ``value``; they get zero gradient."""
    m = _mask("masked_fill", "mask", mask)
    if broadcast_shapes(tuple(m.shape), x.shape) != x.shape:
        rules.fail("masked_fill", "mask", f"of a shape that broadcasts to the tensor's {x.shape}", tuple(m.shape))
    return Where.apply(float(value), x, cond=m)


_COMPARE = {"lt": "__lt__", "le": "__le__", "gt": "__gt__", "ge": "__ge__", "eq": "__eq__", "ne": "__ne__"}


def compare(a, b, op: str):
    """Elementwise comparison ``op`` ("lt", "le", "gt", "ge", "eq", "ne"); the boolean result carries no gradient."""
    a = a.data if isinstance(a, Tensor) else a
    b = b.data if isinstance(b, Tensor) else b
    return Tensor(backend.ensure_array(getattr(a, _COMPARE[op])(b)))
