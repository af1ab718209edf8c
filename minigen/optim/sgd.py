"""``SGD`` with momentum, Nesterov momentum and weight decay, as ``torch.optim.SGD``."""

from __future__ import annotations

import math

from ..backend import array_namespace
from .. import rules
from .optimizer import Optimizer


_NESTEROV = "used with momentum > 0 and dampening = 0"


class SGD(Optimizer):
    """Stochastic gradient descent.

    For each parameter p with gradient g (PyTorch's update, step by step)::

        g = g + weight_decay * p
        buf = g                                   (first step)
        buf = momentum * buf + (1 - dampening) * g    (later steps)
        g = g + momentum * buf   if nesterov   else   g = buf       (when momentum > 0)
        p = p - lr * g

    >>> import minigen, numpy as np
    >>> w = minigen.nn.Parameter(np.array([1.0, 2.0]))
    >>> opt = minigen.optim.SGD([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step()
    >>> w.tolist()
    [0.8, 1.6]
    """

    ranges = {**Optimizer.ranges, "momentum": (0, math.inf), "dampening": (-math.inf, math.inf)}
    flags = ("maximize", "nesterov")

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    def _check(self, group, fn):
        super()._check(group, fn)
        m, d = group["momentum"], group["dampening"]                                # nesterov momentum needs both
        rules.require(m > 0 and d == 0 or not group["nesterov"], fn, "nesterov", _NESTEROV, f"{m=}, {d=}")

    def _update(self, p, g, state, group):
        if group["maximize"]:
            g = -g
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        momentum = group["momentum"]
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = array_namespace(g).asarray(g, copy=True)
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * g
            g = g + momentum * buf if group["nesterov"] else buf
        p -= group["lr"] * g
