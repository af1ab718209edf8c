"""``Optimizer``: the base class, with PyTorch's param groups and state-dict layout.

An optimizer holds ``param_groups``, a list of dicts, each with its ``params``
(a list of Parameters) and its hyperparameters (``lr``, ...), and a per-parameter
``state`` dict of arrays (momentum buffers, moment estimates). ``step()`` updates
every parameter in place from its ``.grad``; parameters with no gradient are
skipped, as in PyTorch.
"""

from __future__ import annotations

import math

from .. import backend
from ..autograd import Tensor


class Optimizer:
    """Base class: subclasses define ``defaults`` through ``__init__`` and implement ``_update``."""

    def __init__(self, params, defaults: dict):
        name = type(self).__name__
        params = list(params)
        if not params:
            raise ValueError(f"{name}: got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults = defaults
        self.param_groups = []
        self.state = {}
        seen = set()
        for group in groups:
            group = dict(group)
            group["params"] = list(group["params"])
            for p in group["params"]:
                if not isinstance(p, Tensor):
                    raise TypeError(f"{name}: params must be Tensors (e.g. model.parameters()), got {type(p).__name__}")
                if id(p) in seen:
                    raise ValueError(f"{name}: a parameter appears in more than one group")
                seen.add(id(p))
            for key, value in defaults.items():
                group.setdefault(key, value)
            self._check(group)
            self.param_groups.append(group)

    def _check(self, group: dict) -> None:
        """Validate one group's hyperparameters (subclasses extend)."""
        lr = group["lr"]
        if not isinstance(lr, (int, float)) or lr < 0 or math.isnan(lr):
            raise ValueError(f"{type(self).__name__}: lr must be a non-negative number, got {lr!r}")
        if group.get("weight_decay", 0) < 0:
            raise ValueError(f"{type(self).__name__}: weight_decay must be >= 0, got {group['weight_decay']!r}")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of every parameter (to None, or to zeros)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad = p.grad * 0

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state.setdefault(p, {})
                self._update(p.data, p.grad, state, group)

    def _update(self, param, grad, state: dict, group: dict) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """``{"state": {index: {name: array or number}}, "param_groups": [...]}``, parameters by position."""
        index, groups = {}, []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = dict(self.state[p])
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore from ``state_dict()``: arrays move to each parameter's device and dtype."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
                len(g["params"]) != len(mine["params"]) for g, mine in zip(groups, self.param_groups)):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the saved optimizer has groups of sizes "
                             f"{[len(g['params']) for g in groups]}, this one "
                             f"{[len(g['params']) for g in self.param_groups]}")
        by_index = {}
        for saved, mine in zip(groups, self.param_groups):
            for i, p in zip(saved["params"], mine["params"]):
                by_index[i] = p
            mine.update({k: v for k, v in saved.items() if k != "params"})
            self._check(mine)
        self.state = {}
        for i, entries in state_dict["state"].items():
            p = by_index[int(i)]
            self.state[p] = {k: _like(v, p.data) for k, v in entries.items()}


def _like(value, param):
    """An array of the parameter's dtype and device (numbers are kept as they are)."""
    if not backend.is_array(value):
        return value
    host = backend.to_numpy(value).astype(backend._dtype_name(param.dtype), copy=True)
    return backend.asarray_like(host, param)
