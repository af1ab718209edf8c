"""``RMSprop``, as ``torch.optim.RMSprop``."""

from __future__ import annotations

import math

from ..backend import array_namespace
from .optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root-mean-square of recent gradients.

    For each parameter p with gradient g (PyTorch's update)::

        g = g + weight_decay * p
        s = alpha * s + (1 - alpha) * g^2
        a = alpha * a + (1 - alpha) * g ;  d = sqrt(s - a^2) + eps   (centered)
                                           d = sqrt(s) + eps           (otherwise)
        buf = momentum * buf + g / d ;  p = p - lr * buf               (momentum > 0)
        p = p - lr * g / d                                            (otherwise)
    """

    ranges = {**Optimizer.ranges, "alpha": (0, 1), "momentum": (0, math.inf), "eps": (0, math.inf)}
    flags = ("maximize", "centered")

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, maximize: bool = False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize))

    def _update(self, p, g, state, group):
        xp = array_namespace(p)
        alpha = group["alpha"]
        if group["maximize"]:
            g = -g
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p)
            if group["momentum"] > 0:
                state["momentum_buffer"] = xp.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(p)
        state["step"] += 1
        s = state["square_avg"]
        s *= alpha
        s += (1 - alpha) * (g * g)
        if group["centered"]:
            a = state["grad_avg"]
            a *= alpha
            a += (1 - alpha) * g
            d = xp.sqrt(s - a * a)
        else:
            d = xp.sqrt(s)
        d += group["eps"]
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += g / d
            p -= group["lr"] * buf
        else:
            p -= group["lr"] * (g / d)
