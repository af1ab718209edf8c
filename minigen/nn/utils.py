"""``clip_grad_norm_``: rescale gradients whose global norm is too large, as ``torch.nn.utils``."""

from __future__ import annotations

import math

from .. import backend
from ..autograd import Tensor
from ..backend import array_namespace


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False):
    """Scale all gradients in place so that their joint norm is at most ``max_norm``.

    The norm is taken over all gradients together, as if concatenated into one vector.
    Returns the total norm before clipping (a 0-d Tensor). Each gradient is multiplied
    by ``min(1, max_norm / (total_norm + 1e-6))``, on the device, with no host sync
    unless ``error_if_nonfinite`` asks for the check.

    >>> import minigen, numpy as np
    >>> w = minigen.nn.Parameter(np.zeros(2)); w.grad = np.array([3.0, 4.0])
    >>> float(clip_grad_norm_([w], 1.0)), w.grad.round(3).tolist()
    (5.0, [0.6, 0.8])
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if not isinstance(max_norm, (int, float)) or max_norm < 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be a non-negative number, got {max_norm!r}")
    if not grads:
        return Tensor(backend.host_full((), 0.0))
    xp = array_namespace(grads[0])
    if norm_type == math.inf:
        total = xp.max(xp.stack([xp.max(xp.abs(g)) for g in grads]))
    else:
        total = xp.sum(xp.stack([xp.sum(xp.abs(g) ** norm_type) for g in grads])) ** (1.0 / norm_type)
    total = backend.ensure_array(total)                       # NumPy returns a scalar for a 0-d result
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is non-finite "
                           f"({float(total)}); set error_if_nonfinite=False to clip anyway")
    coef = xp.minimum(max_norm / (total + 1e-6), xp.ones_like(total))
    for g in grads:
        g *= xp.astype(coef, g.dtype)
    return Tensor(total)
