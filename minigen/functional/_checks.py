"""Argument checks shared by the functional wrappers: each failure names the function and what it got."""

from __future__ import annotations

import numbers

from .. import backend
from ..autograd import Tensor


def dtype_name(dtype) -> str:
    return backend._dtype_name(dtype)


def check_axis(fn: str, axis, ndim: int) -> int:
    """``axis`` as a non-negative int, or a ValueError naming ``fn``."""
    if not isinstance(axis, int) or isinstance(axis, bool) or not -ndim <= axis < max(ndim, 1):
        raise ValueError(f"{fn}: axis {axis!r} is out of range for a tensor with {ndim} dimensions")
    return axis % max(ndim, 1)


def check_floating(fn: str, name: str, t) -> None:
    """``t`` (a Tensor or an array) has a floating dtype: minigen never upcasts an integer input silently."""
    if not backend.is_floating(t.dtype):
        raise TypeError(f"{fn}: {name} must be floating point, got {dtype_name(t.dtype)}")


def is_real_number(x) -> bool:
    """A real number (Python, NumPy scalar or ``numbers.Real``) that is not a bool."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def check_flag(fn: str, name: str, value) -> bool:
    """``value`` if it is a bool, else a ValueError: a truthy string such as "no" is a slip, not a choice."""
    if not isinstance(value, bool):
        raise ValueError(f"{fn}: {name} must be True or False, got {value!r}")
    return value


def device_name(x) -> str:
    """Where an array lives, as a user reads it: ``cpu (numpy)``, ``device1 (array_api_strict)``, ``cuda:0 (cupy)``."""
    library = backend.array_namespace(x).__name__.rsplit(".", 1)[-1]
    device = backend.device_of(x)
    if isinstance(getattr(device, "id", None), int):                   # a CuPy device
        where = f"cuda:{device.id}"
    else:                                                              # "cpu", or Device('device1')
        text = str(device)
        where = text.split("'")[1] if text.count("'") == 2 else text
    return f"{where} ({library})"


def check_same_device(fn: str, **arrays) -> None:
    """All given Tensors or arrays (None skipped) share one array library and one device.

    Without this check, arrays from two backends fail deep inside the array library
    (or compare their dtypes as unequal), far from the call that mixed them.
    """
    named = [(name, a.data if isinstance(a, Tensor) else a) for name, a in arrays.items()]
    named = [(name, a) for name, a in named if a is not None and backend.is_array(a)]
    if not named or backend.same_device([a for _, a in named]):
        return
    first = None
    for name, a in named:
        where = (backend.array_namespace(a), backend.device_of(a))
        if first is None:
            first = (name, a, where)
        elif where[0] is not first[2][0] or where[1] != first[2][1]:
            raise TypeError(f"{fn}: {first[0]} is on device {device_name(first[1])} but {name} is on "
                            f"{device_name(a)}; move them to one device first (tensor.to(device), module.to(device))")


def check_same_dtype(fn: str, **tensors) -> None:
    """All given tensors (None skipped) share one device and one dtype."""
    check_same_device(fn, **tensors)
    first = None
    for name, t in tensors.items():
        if t is None:
            continue
        if first is None:
            first = (name, t.dtype)
        elif t.dtype != first[1]:
            raise TypeError(f"{fn}: {name} has dtype {dtype_name(t.dtype)} but {first[0]} has "
                            f"{dtype_name(first[1])}; convert explicitly (minigen never upcasts silently)")


def check_recurrent_input(fn: str, input, sequence: bool) -> None:
    """A recurrent layer's input (shape already checked) has time steps and a floating dtype (rnn, gru, lstm)."""
    if sequence and input.shape[0] == 0:
        raise ValueError(f"{fn}: input of shape {input.shape} has no time steps; expected seq >= 1")
    if not backend.is_floating(input.dtype):
        raise TypeError(f"{fn}: input must be floating point, got dtype {dtype_name(input.dtype)}")


def check_state_pair(fn: str, hx, names: str, shape: str) -> None:
    """An LSTM's ``hx``: None or a pair (h, c). A lone Tensor is refused: it would unpack along its first axis."""
    if hx is None or (isinstance(hx, (tuple, list)) and len(hx) == 2):
        return
    got = f"a {type(hx).__name__} of length {len(hx)}" if isinstance(hx, (tuple, list)) else type(hx).__name__
    raise TypeError(f"{fn}: hx must be a tuple {names} of tensors of shape {shape} or None, got {got}")


def recurrent_state(fn: str, name: str, state, input, B: int, H: int):
    """A recurrent state as a Tensor: zeros (B, H) of the input's dtype and device when None."""
    if state is None:
        xp = backend.array_namespace(input.data)
        return Tensor(xp.zeros((B, H), dtype=input.dtype, device=backend.device_of(input.data)))
    state = as_tensor(state)
    if not isinstance(state, Tensor):
        raise TypeError(f"{fn}: {name} must be a Tensor of shape (batch, hidden) or None, got {type(state).__name__}")
    return state


def as_tensor(x):
    """A Tensor for a Tensor or a bare array (Python numbers stay as they are)."""
    return x if isinstance(x, Tensor) or not backend.is_array(x) else Tensor(x)
