"""Argument checks shared by the functional wrappers: each failure names the function and what it got."""

from __future__ import annotations

from .. import backend
from ..autograd import Tensor


def dtype_name(dtype) -> str:
    return backend._dtype_name(dtype)


def check_axis(fn: str, axis, ndim: int) -> int:
    """``axis`` as a non-negative int, or a ValueError naming ``fn``."""
    if not isinstance(axis, int) or isinstance(axis, bool) or not -ndim <= axis < max(ndim, 1):
        raise ValueError(f"{fn}: axis {axis!r} is out of range for a tensor with {ndim} dimensions")
    return axis % max(ndim, 1)


def check_same_dtype(fn: str, **tensors) -> None:
    """All given tensors (None skipped) share one dtype."""
    first = None
    for name, t in tensors.items():
        if t is None:
            continue
        if first is None:
            first = (name, t.dtype)
        elif t.dtype != first[1]:
            raise TypeError(f"{fn}: {name} has dtype {dtype_name(t.dtype)} but {first[0]} has "
                            f"{dtype_name(first[1])}; convert explicitly (minigen never upcasts silently)")


def as_tensor(x):
    """A Tensor for a Tensor or a bare array (Python numbers stay as they are)."""
    return x if isinstance(x, Tensor) or not backend.is_array(x) else Tensor(x)
