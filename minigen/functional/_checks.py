"""What other packages still import from the old checks, until they call ``minigen.rules`` themselves.

New code uses ``minigen.rules``; this module goes once nothing imports it.
"""

from __future__ import annotations

import numbers

from .. import backend, rules


def dtype_name(dtype) -> str:
    return backend._dtype_name(dtype)


def is_real_number(x) -> bool:
    """A real number (Python, NumPy scalar or ``numbers.Real``) that is not a bool."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def check_flag(fn: str, name: str, value) -> bool:
    """``value`` if it is a bool, else a ValueError: a truthy string such as "no" is a slip, not a choice."""
    if not isinstance(value, bool):
        raise ValueError(f"{fn}: {name} must be True or False, got {value!r}")
    return value


def check_same_device(fn: str, **arrays) -> None:
    """All given Tensors or arrays (None skipped) share one array library and one device (``rules.same_device``)."""
    rules.same_device(fn, **arrays)
