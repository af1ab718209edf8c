"""Constructor and input checks shared by the ``minigen.nn`` modules: each message names the module and the argument.

Sizes accept Python and NumPy integers, probabilities Python and NumPy reals; neither
accepts a bool (``True`` is an ``int`` to Python, but never a size or a probability a
user meant). Flags such as ``bias`` and ``batch_first`` must be bools, so that a value
shifted into the wrong position (``nn.LSTM(3, 4, 2, 0.5)``) is caught. ``init.check_dtype``
checks the ``dtype=`` argument.

>>> check_size("Linear", "in_features", 3)
3
>>> check_size("Linear", "in_features", -1, minimum=0)
Traceback (most recent call last):
...
ValueError: Linear: in_features must be a non-negative integer, got -1
"""

from __future__ import annotations

import numbers

from .. import backend
from ..autograd import Tensor
from ..functional._checks import check_flag, is_real_number  # noqa: F401 (check_flag is shared with the modules)


def check_size(owner: str, name: str, value, minimum: int = 1) -> int:
    """``value`` as a Python int >= ``minimum`` (0 or 1), or a ValueError naming ``owner`` and ``name``."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        kind = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{owner}: {name} must be a {kind} integer, got {value!r}")
    return int(value)


def check_probability(owner: str, name: str, p) -> float:
    """``p`` as a float in [0, 1], or a ValueError (a bool is refused: ``dropout=True`` is not 1.0)."""
    if not is_real_number(p) or not 0 <= p <= 1:
        raise ValueError(f"{owner}: {name} must be a probability in [0, 1], got {p!r}")
    return float(p)


def as_input(owner: str, input, name: str = "input") -> Tensor:
    """A module's input as a Tensor: a Tensor, or a backend array wrapped as one; a TypeError otherwise."""
    if isinstance(input, Tensor):
        return input
    if backend.is_array(input):
        return Tensor(input)
    raise TypeError(f"{owner} expected {name} to be a Tensor or an array, got {type(input).__name__}")
