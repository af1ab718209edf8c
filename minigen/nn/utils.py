"""``clip_grad_norm_``: rescale gradients whose global norm is too large, as ``torch.nn.utils``."""

from __future__ import annotations

import math
from collections.abc import Iterable

from .. import backend, rules
from ..autograd import Tensor
from ..backend import array_namespace

_PARAMETERS = "a Tensor or an iterable of Tensors (e.g. model.parameters())"


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False):
    """Scale all gradients in place so that their joint norm is at most ``max_norm``.

    ``norm_type`` is the p of the p-norm: a number, ``inf`` or ``"inf"`` (the largest
    ``|g|``), ``-inf`` (the smallest), or 0. As in PyTorch, the total is the p-norm of
    the per-gradient p-norms: for p other than 0 that is the norm of all gradients
    concatenated; for p = 0 it counts the gradients that hold a nonzero element.

    Returns the total norm before clipping (a 0-d Tensor). Each gradient is multiplied
    by ``min(1, max_norm / (total_norm + 1e-6))``, on the device, with no host sync
    unless ``error_if_nonfinite`` asks for the check.

    >>> import minigen, numpy as np
    >>> w = minigen.nn.Parameter(np.zeros(2)); w.grad = np.array([3.0, 4.0])
    >>> float(clip_grad_norm_([w], 1.0)), w.grad.round(3).tolist()
    (5.0, [0.6, 0.8])
    """
    fn = "clip_grad_norm_"
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    parameters = list(rules.instance(fn, "parameters", parameters, Iterable, _PARAMETERS))
    for i, p in enumerate(parameters):
        rules.instance(fn, f"parameters[{i}]", p, Tensor, "a Tensor")
    ok = rules.is_real(max_norm) and max_norm >= 0                          # inf is allowed: measure, never clip
    rules.require(ok, fn, "max_norm", "a non-negative number", rules.describe(max_norm))
    max_norm, order = float(max_norm), _norm_order(fn, norm_type)
    error_if_nonfinite = rules.flag(fn, "error_if_nonfinite", error_if_nonfinite)
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return Tensor(backend.host_full((), 0.0))
    xp = array_namespace(grads[0])
    total = _vector_norm(xp, xp.stack([_vector_norm(xp, g, order) for g in grads]), order)
    total = backend.ensure_array(total)                       # NumPy returns a scalar for a 0-d result
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"{fn}: the total norm of order {norm_type} of the gradients is non-finite "
                           f"({float(total)}); set error_if_nonfinite=False to clip anyway")
    coef = xp.minimum(max_norm / (total + 1e-6), xp.ones_like(total))
    for g in grads:
        g *= xp.astype(coef, g.dtype)
    return Tensor(total)


def _norm_order(fn: str, norm_type) -> float:
    """``norm_type`` as a float. PyTorch calls ``float(norm_type)``, so it takes strings such as ``"inf"`` too."""
    p = math.nan
    if isinstance(norm_type, str):
        try:
            p = float(norm_type)
        except ValueError:
            pass
    elif rules.is_real(norm_type):
        p = float(norm_type)
    rules.require(not math.isnan(p), fn, "norm_type", "a number, inf or 'inf'", rules.describe(norm_type))
    return p


def _vector_norm(xp, x, p: float):
    """The p-norm of all elements of ``x``, as ``torch.linalg.vector_norm(x, p)``.

    ``(sum |x|^p)^(1/p)``; ``max |x|`` for p = inf, ``min |x|`` for p = -inf, the number of nonzeros for p = 0.
    """
    a = xp.abs(x)
    if p == math.inf:
        return xp.max(a)
    if p == -math.inf:
        return xp.min(a)
    if p == 0:
        return xp.sum(xp.astype(a != 0, a.dtype))
    if p < 0:                                                 # 0^p = inf, without NumPy's divide-by-zero warning
        zero = a == 0
        powered = xp.where(zero, xp.full_like(a, math.inf), xp.where(zero, xp.ones_like(a), a) ** p)
    else:
        powered = a ** p
    return xp.sum(powered) ** (1.0 / p)
