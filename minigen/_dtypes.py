"""Dtype names and kinds, for every backend: the default floating dtype, and the checks every op asks.

Part of the backend layer (``minigen.backend`` re-exports all of it); it knows NumPy's
dtypes, and recognises the others (CuPy's are NumPy's; array-api-strict's have names).
"""

from __future__ import annotations

import numpy as np

_FLOAT_NAMES = ("float16", "float32", "float64")
_DTYPE_NAMES = _FLOAT_NAMES + ("int8", "int16", "int32", "int64", "uint8", "bool")
_default_dtype = "float32"


def get_default_dtype() -> str:
    """The name of the floating dtype that Python numbers and lists become (``"float32"``)."""
    return _default_dtype


def set_default_dtype(name: str) -> None:
    """Set the default floating dtype by name: ``"float32"`` or ``"float64"``."""
    global _default_dtype
    if name not in _FLOAT_NAMES:
        raise ValueError(f"set_default_dtype: dtype must be one of {_FLOAT_NAMES}, got {name!r}")
    _default_dtype = name


def resolve_dtype(dtype, xp=np):
    """Turn a dtype name (``"float64"``) or a dtype object into ``xp``'s dtype."""
    name = _default_dtype if dtype is None else dtype if isinstance(dtype, str) else _dtype_name(dtype)
    if name not in _DTYPE_NAMES:
        raise ValueError(f"unknown dtype {dtype!r}; expected a name such as 'float32', 'float64' or 'int64'")
    if xp is np or getattr(xp, "__name__", "").endswith(".numpy"):
        return np.dtype(name)
    return getattr(xp, name)


def is_dtype(obj) -> bool:
    """True for a dtype name (``"float32"``) or a dtype object of any backend."""
    if isinstance(obj, str):
        return obj in _DTYPE_NAMES
    return isinstance(obj, np.dtype) or (isinstance(obj, type) and issubclass(obj, np.generic)) \
        or type(obj).__name__.lower() == "dtype"


def _dtype_name(dtype) -> str:
    if isinstance(dtype, type) and issubclass(dtype, np.generic):   # np.float32 given as a type
        return np.dtype(dtype).name
    name = getattr(dtype, "name", None)
    if isinstance(name, str):
        return name
    return str(dtype).rsplit(".", 1)[-1]


_DTYPE_KIND: dict = {}


def _dtype_kind(dtype) -> str:
    """"float", "int" (signed or unsigned) or "other"; cached per dtype, since checks ask on every op."""
    key = (type(dtype), dtype)                  # the type first: dtypes of two libraries never compare
    try:
        return _DTYPE_KIND[key]
    except (KeyError, TypeError):                                   # unseen, or not hashable
        name = _dtype_name(dtype)
        kind = "float" if name in _FLOAT_NAMES else "int" if name.startswith(("int", "uint")) else "other"
        try:
            _DTYPE_KIND[key] = kind
        except TypeError:
            pass
        return kind


def is_floating(dtype) -> bool:
    """True for real floating dtypes of any backend."""
    return _dtype_kind(dtype) == "float"


def is_integer(dtype) -> bool:
    """True for signed and unsigned integer dtypes (not bool) of any backend."""
    return _dtype_kind(dtype) == "int"
