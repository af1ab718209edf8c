"""Parameter initialisation, drawn from minigen's seeded host generator (as PyTorch's defaults).

Each function returns a host array of the requested dtype; modules move it to
their device. Seeding with ``minigen.manual_seed`` makes initialisation repeat.
"""

from __future__ import annotations

import math

from .. import backend, rules

_FLOATING = "a floating dtype (float16/float32/float64)"


def check_dtype(owner: str, dtype) -> None:
    """A module's ``dtype=`` argument: None (the default dtype) or a floating dtype, since parameters are trained.

    Every module that takes ``dtype=`` calls this first, so that an integer dtype is
    named here rather than failing later in ``Parameter``.
    """
    if dtype is not None and not (backend.is_dtype(dtype) and backend.is_floating(dtype)):
        rules.fail(owner, "dtype", _FLOATING, backend._dtype_name(dtype) if backend.is_dtype(dtype) else repr(dtype))


def _dtype(dtype) -> str:
    return backend._dtype_name(backend.resolve_dtype(dtype)) if dtype is not None else backend.get_default_dtype()


def uniform(shape, bound: float, dtype=None):
    """U(-bound, bound)."""
    return backend.get_rng().uniform(-bound, bound, size=tuple(shape)).astype(_dtype(dtype))


def normal(shape, std: float = 1.0, dtype=None):
    """N(0, std^2)."""
    return (backend.get_rng().standard_normal(tuple(shape)) * std).astype(_dtype(dtype))


def zeros(shape, dtype=None):
    return backend.host_full(shape, 0.0, _dtype(dtype))


def ones(shape, dtype=None):
    return backend.host_full(shape, 1.0, _dtype(dtype))


def xavier_uniform(shape, dtype=None):
    """Glorot: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)) for a (fan_out, fan_in) weight."""
    fan_out, fan_in = shape[0], shape[1]
    return uniform(shape, math.sqrt(6.0 / (fan_in + fan_out)), dtype)


def place(host, device=None):
    """Move a host array to ``device`` (None: stay on the host)."""
    return host if device is None else backend.to_device(host, device)
