"""Arithmetic: ``+ - * /``, negation, power and matrix product, with broadcasting.

Each binary op accepts Tensors, backend arrays and Python numbers. Two tensors
must have the same dtype (nothing is upcast silently), and their shapes must
broadcast. Backward sums each gradient back down to its input's shape
(``unbroadcast``).
"""

from __future__ import annotations

import math
import numbers

from ... import rules
from ...backend import array_namespace, matrix_transpose_copy
from ..function import Function, unbroadcast
from ..tensor import Tensor

# ---------------------------------------------------------------------------- operands

_FAST = (Tensor, float, int)


def _operand(x):
    """Tensors and Python numbers pass; a bare array becomes a constant Tensor."""
    if type(x) in _FAST or isinstance(x, (Tensor, numbers.Number)):
        return x
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return Tensor(x)
    rules.fail("", "an operand", "a Tensor, an array or a number", type(x).__name__, TypeError)


def _check_dtypes(op: str, a, b) -> None:
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.data.dtype != b.data.dtype:
        rules.same_dtype(op, a=a, b=b)                        # names the two dtypes


def broadcast_shapes(a: tuple, b: tuple):
    """The broadcast shape of ``a`` and ``b``, or ``None`` if they do not broadcast."""
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        m = a[-i] if i <= len(a) else 1
        n = b[-i] if i <= len(b) else 1
        if m != n and m != 1 and n != 1:
            return None
        out.append(max(m, n) if m != 1 and n != 1 else m * n)
    return tuple(reversed(out))


def _shape(x):
    return tuple(x.shape) if isinstance(x, Tensor) else ()


def _binary(op: str, fn, a, b):
    if type(a) is not Tensor:
        a = _operand(a)
    if type(b) is not Tensor:
        b = _operand(b)
    _check_dtypes(op, a, b)
    try:
        return fn.apply(a, b)
    except ValueError:                                       # the error path: say which shapes do not broadcast
        ok = broadcast_shapes(_shape(a), _shape(b)) is not None
        rules.require(ok, op, "b", f"of a shape that broadcasts with a's {_shape(a)}", _shape(b))
        raise


# ---------------------------------------------------------------------------- + - * /

def _grad_shape(x):
    return x.shape if hasattr(x, "shape") else ()


class Add(Function):
    """out = a + b;  da = dout, db = dout (summed over broadcast axes)."""

    def forward(self, a, b):
        self.sa, self.sb = _grad_shape(a), _grad_shape(b)
        return a + b

    def backward(self, dout):
        na, nb = self.needs_input_grad
        return (unbroadcast(dout, self.sa) if na else None,
                unbroadcast(dout, self.sb) if nb else None)


def add(a, b):
    """``a + b`` with broadcasting."""
    return _binary("add", Add, a, b)


class Sub(Function):
    """out = a - b;  da = dout, db = -dout."""

    def forward(self, a, b):
        self.sa, self.sb = _grad_shape(a), _grad_shape(b)
        return a - b

    def backward(self, dout):
        na, nb = self.needs_input_grad
        return (unbroadcast(dout, self.sa) if na else None,
                unbroadcast(-dout, self.sb) if nb else None)


def sub(a, b):
    """``a - b`` with broadcasting."""
    return _binary("sub", Sub, a, b)


class Mul(Function):
    """out = a * b;  da = dout * b, db = dout * a."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, dout):
        na, nb = self.needs_input_grad
        return (unbroadcast(dout * self.b, self.a.shape) if na else None,
                unbroadcast(dout * self.a, self.b.shape) if nb else None)


def mul(a, b):
    """``a * b`` with broadcasting."""
    return _binary("mul", Mul, a, b)


class Div(Function):
    """out = a / b;  da = dout / b, db = -dout * a / b**2 = -dout * out / b."""

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = a / b
        return self.out

    def backward(self, dout):
        na, nb = self.needs_input_grad
        da = dout / self.b
        return (unbroadcast(da, self.a.shape) if na else None,
                unbroadcast(-da * self.out, self.b.shape) if nb else None)


def div(a, b):
    """``a / b`` with broadcasting."""
    return _binary("div", Div, a, b)


class Neg(Function):
    """out = -x;  dx = -dout."""

    def forward(self, x):
        return -x

    def backward(self, dout):
        return -dout


def neg(x):
    """``-x``."""
    return Neg.apply(x)


class Pow(Function):
    """out = a ** b;  da = dout * b * a**(b-1), db = dout * out * log(a)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = a ** b
        return self.out

    def backward(self, dout):
        na, nb = self.needs_input_grad
        a, b = self.a, self.b
        da = unbroadcast(dout * b * a ** (b - 1), a.shape) if na else None
        db = None
        if nb:
            log_a = array_namespace(a).log(a) if hasattr(a, "shape") else math.log(a)
            db = unbroadcast(dout * self.out * log_a, b.shape)
        return da, db


def pow(a, b):
    """``a ** b``; the exponent may be a number or a tensor (then ``a`` must be positive)."""
    return _binary("pow", Pow, a, b)


# ---------------------------------------------------------------------------- matmul


class MatMul(Function):
    """out = a @ b, batched and broadcast over leading axes.

    da = dout @ b^T,  db = a^T @ dout (each summed over broadcast batch axes).
    A 1-D operand is treated as a row (left) or column (right) vector, as NumPy does.
    """

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, dout):
        xp = array_namespace(dout)
        a, b = self.a, self.b
        a2 = a[None, :] if a.ndim == 1 else a                                    # (..., n, k)
        b2 = b[:, None] if b.ndim == 1 else b                                    # (..., k, m)
        batch = broadcast_shapes(tuple(a2.shape[:-2]), tuple(b2.shape[:-2]))
        d2 = xp.reshape(dout, batch + (a2.shape[-2], b2.shape[-1]))             # (..., n, m)
        na, nb = self.needs_input_grad
        da = db = None
        if na:
            # a stack of products runs faster against a row-major b^T (see matrix_transpose_copy)
            bT = matrix_transpose_copy(b2) if b2.ndim > 2 else xp.matrix_transpose(b2)
            da = xp.reshape(unbroadcast(d2 @ bT, tuple(a2.shape)), a.shape)
        if nb and b.ndim == 2 and a.ndim > 2:
            # a weight shared by every batch element: one (k, N) @ (N, m) product, no batched sum
            k = a.shape[-1]
            db = xp.matrix_transpose(xp.reshape(a, (-1, k))) @ xp.reshape(dout, (-1, b.shape[-1]))
        elif nb:
            db = xp.reshape(unbroadcast(xp.matrix_transpose(a2) @ d2, tuple(b2.shape)), b.shape)
        return da, db


def matmul(a, b):
    """Matrix product ``a @ b``, batched and broadcast over leading axes (as ``numpy.matmul``)."""
    a, b = _operand(a), _operand(b)
    _check_dtypes("matmul", a, b)
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb or sa[-1] != sb[-2 if len(sb) > 1 else 0] or broadcast_shapes(sa[:-2], sb[:-2]) is None:
        rules.fail("matmul", "b", f"(..., k, m) or (k,) with k = a's last dimension, broadcasting with a {sa}", sb)
    return MatMul.apply(a, b)
