"""``Adam`` and ``AdamW``, as ``torch.optim.Adam`` and ``torch.optim.AdamW``."""

from __future__ import annotations

import math

from .. import rules
from ..backend import array_namespace
from .optimizer import Optimizer

_BETAS = "a pair of numbers in [0, 1)"


class Adam(Optimizer):
    """Adam: per-parameter step sizes from running moments of the gradient.

    For each parameter p with gradient g, at step t (PyTorch's update)::

        g = g + weight_decay * p                      (Adam: L2 penalty through the gradient)
        m = beta1 * m + (1 - beta1) * g               first moment
        v = beta2 * v + (1 - beta2) * g^2             second moment
        v_max = max(v_max, v)                         (amsgrad only; then used in place of v)
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    """

    decoupled = False
    ranges = {**Optimizer.ranges, "eps": (0, math.inf)}
    flags = ("maximize", "amsgrad")

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def _check(self, group, fn):
        super()._check(group, fn)
        betas = group["betas"]                                      # a list after a JSON round trip
        rules.require(isinstance(betas, (tuple, list)) and len(betas) == 2, fn, "betas", _BETAS, rules.describe(betas))
        group["betas"] = tuple(rules.real(fn, f"betas[{k}]", b, 0, 1, hi_open=True) for k, b in enumerate(betas))

    def _update(self, p, g, state, group):
        xp = array_namespace(p)
        b1, b2 = group["betas"]
        lr, wd = group["lr"], group["weight_decay"]
        if group["maximize"]:
            g = -g
        if wd:
            if self.decoupled:
                p *= 1 - lr * wd                                   # AdamW: decay the weights directly
            else:
                g = g + wd * p                                     # Adam: decay through the gradient
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p)
            state["exp_avg_sq"] = xp.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * (g * g)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = xp.maximum(state["max_exp_avg_sq"], v)
            v = state["max_exp_avg_sq"]
        denom = xp.sqrt(v)
        denom /= math.sqrt(1 - b2 ** t)
        denom += group["eps"]
        p -= (lr / (1 - b1 ** t)) * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``p *= 1 - lr * weight_decay``
    before the Adam step, instead of adding ``weight_decay * p`` to the gradient. Default
    ``weight_decay=0.01``, as in PyTorch."""

    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
