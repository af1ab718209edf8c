"""Checks of command-line values, run before anything is loaded or built.

Their messages name the ``--flag`` the user typed ("--seq-len must be a positive
integer, got 0"), not the Python argument deep inside that would refuse it later.
"""

from __future__ import annotations

import math

from minigen import backend


def flag(name: str) -> str:
    """``"seq_len"`` -> ``"--seq-len"``."""
    return "--" + name.replace("_", "-")


def check_int(name: str, value, minimum: int = 1) -> None:
    """``value`` (None: not given) is an integer >= ``minimum``."""
    if value is not None and value < minimum:
        rule = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{flag(name)} must be {rule}, got {value}")


def check_float(name: str, value, low: float = -math.inf, high: float = math.inf, *, low_open: bool = False,
                high_open: bool = False) -> None:
    """``value`` (None: not given) is a finite number in the interval from ``low`` to ``high``."""
    if value is None:
        return
    ok = math.isfinite(value) and (value > low if low_open else value >= low) and \
        (value < high if high_open else value <= high)
    if not ok:
        if high == math.inf:
            rule = f"a finite number {'>' if low_open else '>='} {low:g}"
        else:
            rule = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{flag(name)} must be {rule}, got {value:g}")


def check_device(device: str) -> None:
    """``--device`` is cpu or cuda[:N], and CuPy and a GPU are there for cuda (checked before any work)."""
    name = device.lower()
    if name in ("cpu", "numpy"):
        return
    if name in ("cuda", "gpu", "cupy") or (name.startswith("cuda:") and name[5:].isdigit()):
        try:
            backend.get_cupy()
        except backend.CupyUnavailableError as e:
            raise ValueError(f"--device {device}: {e}") from None
        return
    raise ValueError(f"--device must be cpu, cuda or cuda:N, got {device!r}")
