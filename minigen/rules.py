"""Argument rules: the one place where a user's value is checked.

Each rule takes the public function's name (``fn``), the argument's name and the
value, and returns the clean value or raises with one message format::

    fn: name must be EXPECTED, got GIVEN

Public entry points (module constructors and ``forward``, ``F.*``, ``generate``,
the processors, optimizers, ``Trainer``, the data functions, the CLI and checkpoint
loading) call the rules in a short block at their top. Everything below them,
kernels, autograd Functions and private helpers, trusts its inputs.

Numbers accept Python and NumPy scalars, never a bool: ``True`` is an ``int`` to
Python, but never a size or a rate a user meant. A flag must be a bool, so that a
value shifted into the wrong position (``nn.LSTM(3, 4, 2, 0.5)``) is caught.

>>> positive_int("Linear", "in_features", 3)
3
>>> positive_int("Linear", "in_features", 0)
Traceback (most recent call last):
...
ValueError: Linear: in_features must be a positive integer, got 0
"""

from __future__ import annotations

import math
import numbers

from . import backend


def fail(fn: str, name: str, expected: str, given, error=ValueError):
    """Raise ``error("fn: name must be EXPECTED, got GIVEN")``; ``fn`` may be "" (the CLI names flags only)."""
    prefix = f"{fn}: " if fn else ""
    raise error(f"{prefix}{name} must be {expected}, got {given}")


def describe(value) -> str:
    """A value as an error message shows it: short reprs as they are, anything long by its type."""
    if isinstance(value, backend.host.generic):                        # a NumPy scalar: np.float64(4.0) -> 4.0
        return repr(value.item())
    if backend.is_array(value) or hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"{type(value).__name__} of shape {tuple(value.shape)} and dtype {backend._dtype_name(value.dtype)}"
    text = repr(value)
    return text if len(text) <= 80 else f"a {type(value).__name__} ({text[:60]}...)"


def is_int(x) -> bool:
    """A Python or NumPy integer, not a bool."""
    return isinstance(x, numbers.Integral) and not isinstance(x, (bool, backend.host.bool_))


def is_real(x) -> bool:
    """A Python or NumPy real number (``0.5``, ``np.float32(0.5)``, ``2``), not a bool."""
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, backend.host.bool_))


# --------------------------------------------------------------------------- numbers

def integer(fn: str, name: str, value, lo: int | None = None, hi: int | None = None, *, optional: bool = False):
    """``value`` as a Python int in [lo, hi] (either bound may be None); None passes when ``optional``."""
    if value is None and optional:
        return None
    if not is_int(value) or (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f"in [{lo}, {hi}]" if None not in (lo, hi) else f">= {lo}" if hi is None else f"<= {hi}"
        named = {(1, None): "a positive integer", (0, None): "a non-negative integer", (None, None): "an integer"}
        fail(fn, name, named.get((lo, hi), f"an integer {bounds}") + (" or None" if optional else ""), describe(value))
    return int(value)


def positive_int(fn: str, name: str, value, *, optional: bool = False):
    """``value`` as a Python int >= 1 (None passes when ``optional``)."""
    return integer(fn, name, value, 1, optional=optional)


def non_negative_int(fn: str, name: str, value, *, optional: bool = False):
    """``value`` as a Python int >= 0 (None passes when ``optional``)."""
    return integer(fn, name, value, 0, optional=optional)


def real(fn: str, name: str, value, lo: float = -math.inf, hi: float = math.inf, *, lo_open: bool = False,
         hi_open: bool = False, optional: bool = False):
    """``value`` as a finite Python float in the interval from ``lo`` to ``hi`` (closed unless ``*_open``).

    >>> real("Adam", "lr", 1e-3, 0, lo_open=True)
    0.001
    """
    if value is None and optional:
        return None
    ok = is_real(value) and math.isfinite(value) and (value > lo if lo_open else value >= lo) and \
        (value < hi if hi_open else value <= hi)
    if not ok:
        if hi == math.inf and lo == -math.inf:
            expected = "a finite number"
        elif hi == math.inf:
            expected = f"a finite number {'>' if lo_open else '>='} {lo:g}"
        elif lo == -math.inf:
            expected = f"a finite number {'<' if hi_open else '<='} {hi:g}"
        else:
            expected = f"a number in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
        fail(fn, name, expected + (" or None" if optional else ""), describe(value))
    return float(value)


def probability(fn: str, name: str, value, *, optional: bool = False):
    """``value`` as a float in [0, 1] (``dropout=True`` is refused: it is not 1.0)."""
    if value is None and optional:
        return None
    if not is_real(value) or not 0 <= value <= 1:
        fail(fn, name, "a probability in [0, 1]" + (" or None" if optional else ""), describe(value))
    return float(value)


# --------------------------------------------------------------------------- choices

def flag(fn: str, name: str, value) -> bool:
    """``value`` if it is True or False (NumPy's bools too): a truthy string such as "no" is a slip, not a choice."""
    if not isinstance(value, (bool, backend.host.bool_)):
        fail(fn, name, "True or False", describe(value))
    return bool(value)


def choice(fn: str, name: str, value, options):
    """``value`` if it is one of ``options``.

    >>> choice("LSTM", "nonlinearity", "tanh", ("tanh", "relu"))
    'tanh'
    """
    same_kind = [o for o in options if type(o) is type(value) or isinstance(o, str) and isinstance(value, str)]
    if not any(value == o for o in same_kind):
        listed = ", ".join(repr(o) for o in options)
        fail(fn, name, f"one of {listed}", describe(value))
    return value


def instance(fn: str, name: str, value, kind, expected: str):
    """``value`` if it is an instance of ``kind``, else a TypeError ("must be EXPECTED, got TYPE")."""
    if not isinstance(value, kind):
        fail(fn, name, expected, type(value).__name__, TypeError)
    return value


# --------------------------------------------------------------------------- arrays

def array_of(value):
    """The array behind a Tensor (anything with ``.data`` that is an array), or the value itself."""
    data = getattr(value, "data", None)
    return data if backend.is_array(data) else value


def shape_text(shape) -> str:
    """``("B", "T", 3)`` -> ``"(B, T, 3)"``."""
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def floating_array(fn: str, name: str, value, shape=None, *, optional: bool = False):
    """``value`` (a Tensor or an array) if it has a floating dtype and, when given, the ``shape``.

    ``shape`` is a tuple whose entries are ints (that size), names (any size) or
    None (any size): ``floating_array("lstm", "input", x, ("T", "B", 3))``.
    A wrong dtype is a TypeError, a wrong shape a ValueError; None passes when ``optional``.
    """
    if value is None and optional:
        return None
    data = array_of(value)
    if not backend.is_array(data):
        fail(fn, name, "a Tensor or an array", type(value).__name__, TypeError)
    if shape is not None:
        ok = data.ndim == len(shape) and all(not is_int(s) or s == n for s, n in zip(shape, data.shape))
        if not ok:
            fail(fn, name, f"of shape {shape_text(shape)}", f"shape {tuple(data.shape)}")
    if not backend.is_floating(data.dtype):
        fail(fn, name, "floating point (minigen never upcasts silently)", backend._dtype_name(data.dtype), TypeError)
    return value


def token_ids(fn: str, name: str, value, vocab_size: int | None = None, ndim: int | None = None):
    """``value`` if it is an integer array of ids in [0, vocab_size) (None: only >= 0), with ``ndim`` dimensions.

    A wrong type or dtype is a TypeError, a wrong shape a ValueError, an id out of
    range an IndexError naming the first one (a negative id would silently wrap).
    """
    data = array_of(value)
    if not backend.is_array(data) or not backend.is_integer(data.dtype):
        got = backend._dtype_name(data.dtype) if backend.is_array(data) else type(value).__name__
        fail(fn, name, "an integer array of token ids", got, TypeError)
    if ndim is not None and data.ndim != ndim:
        fail(fn, name, f"a {ndim}-D array of token ids", f"shape {tuple(data.shape)}")
    bad = (data < 0) if vocab_size is None else (data < 0) | (data >= vocab_size)
    if backend.any_true(bad):
        first = int(backend.to_numpy(data)[backend.to_numpy(bad)][0])
        expected = f"ids in [0, {vocab_size})" if vocab_size is not None else "ids >= 0"
        fail(fn, name, expected, f"id {first}", IndexError)
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


def same_device(fn: str, **values) -> None:
    """All given Tensors or arrays (None and non-arrays skipped) share one array library and one device.

    Without this rule, arrays from two backends fail deep inside the array library,
    far from the call that mixed them. A mismatch is a TypeError naming both.
    """
    named = [(name, a) for name, v in values.items() if backend.is_array(a := array_of(v))]
    if len(named) < 2 or backend.same_device([a for _, a in named]):
        return
    first_name, first = named[0]
    for name, a in named[1:]:
        if not backend.same_device([first, a]):
            fail(fn, name, f"on {first_name}'s device {device_name(first)} (move both with .to(device))",
                 device_name(a), TypeError)


def same_dtype(fn: str, **values) -> None:
    """All given Tensors or arrays (None skipped) share one device and one dtype (minigen never upcasts)."""
    same_device(fn, **values)
    named = [(name, array_of(v)) for name, v in values.items() if v is not None]
    first_name, first = named[0] if named else (None, None)
    for name, a in named[1:]:
        if a.dtype != first.dtype:
            fail(fn, name, f"of {first_name}'s dtype {backend._dtype_name(first.dtype)} (convert explicitly)",
                 backend._dtype_name(a.dtype), TypeError)


def require(ok, fn: str, name: str, expected: str, given, error=ValueError) -> None:
    """Nothing when ``ok``, else ``fail(...)``: a rule of its own, in one line.

    >>> require(3 % 2 == 0, "split", "size", "even", 3)
    Traceback (most recent call last):
    ...
    ValueError: split: size must be even, got 3
    """
    if not ok:
        fail(fn, name, expected, given, error)


def strings(fn: str, name: str, values, *, nonempty: bool = False):
    """``values`` if it is a list or tuple of str (not one str), else a TypeError naming the first bad element."""
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        fail(fn, name, "a list of strings", describe(values), TypeError)
    bad = next((i for i, v in enumerate(values) if not isinstance(v, str)), None)
    require(bad is None, fn, f"{name}[{bad}]", "a string", describe(values[bad]) if bad is not None else "", TypeError)
    require(len(values) > 0 or not nonempty, fn, name, "a non-empty list of strings", "[]")
    return values


def token_id(fn: str, name: str, value, vocab_size: int | None = None, *, optional: bool = False):
    """``value`` as a Python int id in [0, vocab_size) (None: only >= 0); out of range is an IndexError."""
    if value is None and optional:
        return None
    require(is_int(value), fn, name, "an integer token id" + (" or None" if optional else ""), describe(value))
    expected = f"an id in [0, {vocab_size})" if vocab_size is not None else "an id >= 0"
    require(0 <= value and (vocab_size is None or value < vocab_size), fn, name, expected, value, IndexError)
    return int(value)


def positive_ints(fn: str, *, optional: bool = False, **values) -> list[int]:
    """Each keyword's value as ``positive_int`` returns it, in order: ``c, h = positive_ints("GRU", c=c, h=h)``."""
    return [positive_int(fn, name, value, optional=optional) for name, value in values.items()]


def flags(fn: str, **values) -> list[bool]:
    """Each keyword's value as ``flag`` returns it, in order: ``a, b = flags("MHA", a=a, b=b)``."""
    return [flag(fn, name, value) for name, value in values.items()]
