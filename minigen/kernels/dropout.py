"""Inverted dropout kernel, with the random keep-mask drawn by the caller.

Elementwise, so any shape. m is a 0/1 keep-mask of x's shape, drawn as
``m ~ Bernoulli(1 - p)``; keeping the draw outside makes the kernel a pure
function of its inputs (a gradient check can call it twice and get the same
output).

    forward   y  = x * m / (1 - p)          ("inverted": E[y] = x, so eval mode is the identity)
    backward  dx = dy * m / (1 - p)

With p = 1 every element is dropped and y = 0 (the scale 1/(1 - p) is never formed).
"""

from __future__ import annotations

from ..backend import array_namespace

_NO_MASK = ("dropout_forward: p={} needs a keep-mask of shape {}; the kernel draws no random numbers "
            "(draw it as rng.random(shape) >= p)")


def dropout_forward(x, p: float, mask=None):
    """Inverted dropout of ``x`` with drop probability ``p`` and keep-mask ``mask`` (bool or 0/1).

    ``mask=None`` keeps every element, which is only dropout when ``p == 0``; for
    ``p > 0`` draw the mask yourself (``minigen.functional.dropout`` does, from the
    seeded host generator). Returns ``(y, cache)``.
    """
    xp = array_namespace(x)
    if mask is None:
        if p != 0:
            raise ValueError(_NO_MASK.format(p, tuple(x.shape)))
        return x, None
    if tuple(mask.shape) != tuple(x.shape):
        raise ValueError(f"dropout_forward: mask of shape {tuple(mask.shape)} does not match x of shape {tuple(x.shape)}")
    inv_keep = 1 / (1 - p) if p < 1 else 0.0
    scale = xp.astype(mask, x.dtype) * inv_keep                           # m / (1 - p)
    return x * scale, scale


def dropout_backward(dy, cache):
    """dx = dy * m / (1 - p): the kept elements pass their gradient on, scaled as in the forward."""
    scale = cache
    return dy if scale is None else dy * scale
