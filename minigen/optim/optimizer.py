"""``Optimizer``: the base class, with PyTorch's param groups and state-dict layout.

An optimizer holds ``param_groups``, a list of dicts, each with its ``params``
(a list of Parameters) and its hyperparameters (``lr``, ...), and a per-parameter
``state`` dict of arrays (momentum buffers, moment estimates). ``step()`` updates
every parameter in place from its ``.grad``; parameters with no gradient are
skipped, as in PyTorch.
"""

from __future__ import annotations

import math

from .. import backend, rules
from ..autograd import Tensor

_GRAD_LIKE = "{}.step: the .grad of parameter {} of group {} must be like the parameter, {}, got {}"


class Optimizer:
    """Base class: subclasses define ``defaults`` through ``__init__`` and implement ``_update``.

    Each hyperparameter's rule is in a table: ``ranges`` maps a number to its interval [lo, hi],
    ``flags`` names the booleans; a subclass extends both.
    """

    ranges = {"lr": (0, math.inf), "weight_decay": (0, math.inf)}
    flags = ("maximize",)

    def __init__(self, params, defaults: dict):
        name = type(self).__name__
        # a lone Tensor would be iterated over its rows, a lone dict over its keys
        lone = f"a single {type(params).__name__}; wrap it in a list"
        rules.require(not isinstance(params, (Tensor, dict)), name, "params", _ITERABLE, lone, TypeError)
        params = _as_list(name, "params", params)
        rules.require(params, name, "params", "a non-empty parameter list", "an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults = defaults
        self.param_groups = []
        self.state = {}
        for group in groups:
            self._add_group(group, name)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group (a dict with ``params`` and any hyperparameters; the others take the defaults).

        As ``torch.optim.Optimizer.add_param_group``: e.g. to train layers unfrozen part-way
        through fine-tuning, with their own learning rate.
        """
        self._add_group(param_group, f"{type(self).__name__}.add_param_group")

    def _add_group(self, group, fn: str) -> None:
        """Check one group's parameters and hyperparameters, fill in the defaults, append it."""
        index = len(self.param_groups)
        rules.instance(fn, "a parameter group", group, dict, "a dict with a 'params' entry")
        rules.require("params" in group, fn, f"parameter group {index}", "a dict with a 'params' entry", sorted(group))
        group = dict(group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else _as_list(fn, f"group {index}'s params", params)
        elsewhere = {id(p): g for g, other in enumerate(self.param_groups) for p in other["params"]}
        here = {}
        for i, p in enumerate(group["params"]):
            where = f"params[{i}] of group {index}"
            rules.instance(fn, where, p, Tensor, "a Tensor (e.g. from model.parameters())")
            rules.require(p.is_leaf, fn, where, "a leaf Tensor (a Parameter)", "the result of an operation")
            rules.require(id(p) not in here, fn, where, "a parameter not yet in the group", here.get(id(p)))
            rules.require(id(p) not in elsewhere, fn, where, _ONE_GROUP, f"one in group {elsewhere.get(id(p))}")
            here[id(p)] = i
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check(group, fn)
        self.param_groups.append(group)

    def _check(self, group: dict, fn: str) -> None:
        """Validate one group's hyperparameters, in place, by ``ranges`` and ``flags``; ``fn`` starts each message."""
        for key, (lo, hi) in self.ranges.items():
            group[key] = rules.real(fn, key, group[key], lo, hi)
        for key in self.flags:
            group[key] = rules.flag(fn, key, group[key])

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
        for g, group in enumerate(self.param_groups):
            for i, p in enumerate(group["params"]):
                grad = p.grad
                if grad is None:
                    continue
                # cheap comparisons; without them a wrong gradient fails inside the array library, or broadcasts
                if type(grad) is not type(p.data) or grad.shape != p.data.shape or grad.dtype != p.data.dtype:
                    raise ValueError(_GRAD_LIKE.format(type(self).__name__, i, g, _describe(p.data), _describe(grad)))
                state = self.state.setdefault(p, {})
                self._update(p.data, grad, state, group)

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
        """Restore from ``state_dict()``: arrays move to each parameter's device and dtype.

        Everything is checked before anything changes: on an error the optimizer is as it was.
        """
        fn = f"{type(self).__name__}.load_state_dict"
        groups = state_dict.get("param_groups") if isinstance(state_dict, dict) else None
        ok = isinstance(groups, (list, tuple)) and isinstance(state_dict.get("state"), dict) and \
            all(isinstance(g, dict) and isinstance(g.get("params"), (list, tuple)) for g in groups)
        got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
        rules.require(ok, fn, "state_dict", "a dict with 'state' and 'param_groups' as state_dict() returns", got)
        sizes, mine = [len(g["params"]) for g in groups], [len(g["params"]) for g in self.param_groups]
        rules.require(sizes == mine, fn, "the saved groups", f"of this optimizer's sizes {mine}", f"sizes {sizes}")
        where, checked = {}, []                                    # saved index -> (param, group, position)
        for g, (saved, mine) in enumerate(zip(groups, self.param_groups)):
            for i, (k, p) in enumerate(zip(saved["params"], mine["params"])):
                where[k] = (p, g, i)
            group = {**mine, **{k: v for k, v in saved.items() if k != "params"}}
            self._check(group, fn)
            checked.append(group)
        state = {}
        for k, entries in state_dict["state"].items():
            k = int(k) if isinstance(k, str) and k.isdigit() else k      # a JSON round trip makes keys strings
            rules.require(k in where, fn, "the saved state's keys", f"among the saved params {sorted(where)}", k)
            rules.require(isinstance(entries, dict), fn, f"saved state {k}", "a dict", type(entries).__name__)
            p, g, i = where[k]
            for name, value in entries.items():
                rules.require(not backend.is_array(value) or tuple(value.shape) == p.shape, fn,
                              f"the saved {name!r} of parameter {k}", f"of its parameter's shape {p.shape}",
                              f"shape {tuple(getattr(value, 'shape', ()))}")
            state[p] = {name: _like(value, p.data) for name, value in entries.items()}
        for mine, group in zip(self.param_groups, checked):
            mine.update(group)
        self.state = state


_ITERABLE = "an iterable of Tensors or of dicts (e.g. model.parameters())"
_ONE_GROUP = "in one group only (a parameter appears in more than one group)"


def _as_list(fn: str, what: str, params) -> list:
    """``params`` (a list, tuple or generator) as a list; sets have no stable order, so state dicts could not match."""
    rules.require(not isinstance(params, (set, frozenset)), fn, what, "an ordered collection", "a set", TypeError)
    try:
        items = iter(params)
    except TypeError:
        rules.fail(fn, what, _ITERABLE, type(params).__name__, TypeError)
    return list(items)


def _describe(x) -> str:
    """"ndarray of shape (3,) and dtype float64", or the type of something that is no array (a Tensor, a list)."""
    if isinstance(x, Tensor) or not backend.is_array(x):
        return f"a {type(x).__name__}"
    return f"{type(x).__name__} of shape {tuple(x.shape)} and dtype {backend._dtype_name(x.dtype)}"


def _like(value, param):
    """An array of the parameter's dtype and device (numbers are kept as they are)."""
    if not backend.is_array(value):
        return value
    host = backend.to_numpy(value).astype(backend._dtype_name(param.dtype), copy=True)
    return backend.asarray_like(host, param)
