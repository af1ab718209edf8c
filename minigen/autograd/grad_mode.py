"""Switching graph recording off: ``minigen.no_grad()``."""

from __future__ import annotations

import functools


class _GradMode:
    """Whether operations record the graph. One flag for the process (not per thread)."""

    enabled = True


def is_grad_enabled() -> bool:
    """True unless inside ``no_grad()``."""
    return _GradMode.enabled


class no_grad:
    """Context manager (and decorator) under which operations record no graph.

    Use it for evaluation and sampling: no backward state is kept, so it is faster
    and lighter.

    >>> import minigen
    >>> w = minigen.tensor([1.0, 2.0], requires_grad=True)
    >>> with minigen.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    def __enter__(self):
        self._prev = _GradMode.enabled
        _GradMode.enabled = False
        return self

    def __exit__(self, *exc):
        _GradMode.enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with no_grad():
                return fn(*args, **kwargs)
        return wrapper


class enable_grad(no_grad):
    """Context manager that turns recording back on inside a ``no_grad()`` block."""

    def __enter__(self):
        self._prev = _GradMode.enabled
        _GradMode.enabled = True
        return self
