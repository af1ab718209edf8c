"""Learning-rate schedules, as ``torch.optim.lr_scheduler`` (and Hugging Face's warmup helpers).

A scheduler sets each param group's ``lr`` from its initial value; call
``scheduler.step()`` once after each ``optimizer.step()``::

    opt = minigen.optim.AdamW(model.parameters(), lr=1e-3)
    sched = minigen.optim.lr_scheduler.get_cosine_schedule_with_warmup(opt, 100, 5000)
    for step in range(5000):
        ...; opt.step(); sched.step()
"""

from __future__ import annotations

import math

from .. import rules
from .optimizer import Optimizer


_RESUME = "-1 (resuming needs 'initial_lr' in every param group)"
_STATE = "a dict as state_dict() returns"
_FUNCTIONS = "a function of the step (or a list of them)"


def _optimizer(fn: str, optimizer) -> Optimizer:
    """``optimizer`` if it is a minigen optimizer, whose param groups a scheduler reads and sets."""
    return rules.instance(fn, "optimizer", optimizer, Optimizer, "a minigen.optim optimizer (SGD, Adam, ...)")


class LRScheduler:
    """Base: ``lr = base_lr * factor(step)`` per group, with ``factor`` from ``lr_lambda``."""

    def __init__(self, optimizer, last_epoch: int = -1):
        name = type(self).__name__
        self.optimizer = _optimizer(name, optimizer)
        last_epoch = rules.integer(name, "last_epoch", last_epoch, -1)
        resumable = all("initial_lr" in g for g in optimizer.param_groups)       # set by the scheduler that ran before
        rules.require(last_epoch == -1 or resumable, name, "last_epoch", _RESUME, last_epoch)
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def get_lr(self) -> list:  # pragma: no cover - interface
        raise NotImplementedError

    def step(self) -> None:
        """Advance one step and set every group's learning rate."""
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list:
        """The learning rates set by the last ``step()``."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}

    def load_state_dict(self, state: dict) -> None:
        fn = f"{type(self).__name__}.load_state_dict"
        rules.require(isinstance(state, dict) and "last_epoch" in state, fn, "state", _STATE, type(state).__name__)
        self.__dict__.update(state)


class LambdaLR(LRScheduler):
    """``lr = base_lr * lr_lambda(step)``; one function, or one per param group."""

    def __init__(self, optimizer, lr_lambda, last_epoch: int = -1):
        n = len(_optimizer("LambdaLR", optimizer).param_groups)            # checked first: its groups are read here
        self.lr_lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n
        given = f"a list of {len(self.lr_lambdas)}"
        rules.require(len(self.lr_lambdas) == n, "LambdaLR", "lr_lambda", f"one function or a list of {n}", given)
        kinds = ", ".join(type(f).__name__ for f in self.lr_lambdas)
        rules.require(all(map(callable, self.lr_lambdas)), "LambdaLR", "lr_lambda", _FUNCTIONS, kinds, TypeError)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * f(self.last_epoch) for base, f in zip(self.base_lrs, self.lr_lambdas)]


class StepLR(LRScheduler):
    """Step decay: ``lr = base_lr * gamma ** (step // step_size)``."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        self.step_size = rules.positive_int("StepLR", "step_size", step_size)
        self.gamma = rules.real("StepLR", "gamma", gamma, 0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine from ``base_lr`` down to ``eta_min`` over ``T_max`` steps (the closed form)."""

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        self.T_max = rules.positive_int("CosineAnnealingLR", "T_max", T_max)
        self.eta_min = rules.real("CosineAnnealingLR", "eta_min", eta_min, 0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        c = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base - self.eta_min) * c for base in self.base_lrs]


def get_cosine_schedule_with_warmup(optimizer, num_warmup_steps: int, num_training_steps: int,
                                    num_cycles: float = 0.5, last_epoch: int = -1, min_lr_ratio: float = 0.0):
    """Linear warmup from 0 to the base rate, then cosine decay (Hugging Face's schedule).

    ``min_lr_ratio`` keeps a floor of ``min_lr_ratio * base_lr`` at the end (0 by default).

    >>> import minigen, numpy as np
    >>> opt = minigen.optim.SGD([minigen.nn.Parameter(np.zeros(1))], lr=1.0)
    >>> sched = get_cosine_schedule_with_warmup(opt, 2, 10)
    >>> [round(sched.get_last_lr()[0], 3)] + [round((sched.step(), sched.get_last_lr()[0])[1], 3) for _ in range(3)]
    [0.0, 0.5, 1.0, 0.962]
    """
    fn = "get_cosine_schedule_with_warmup"
    num_warmup_steps, num_training_steps = _steps(fn, num_warmup_steps, num_training_steps)
    num_cycles = rules.real(fn, "num_cycles", num_cycles, 0)
    min_lr_ratio = rules.real(fn, "min_lr_ratio", min_lr_ratio, 0, 1)

    def factor(step):
        if step < num_warmup_steps:
            return step / max(1, num_warmup_steps)
        progress = (step - num_warmup_steps) / max(1, num_training_steps - num_warmup_steps)
        cosine = max(0.0, 0.5 * (1.0 + math.cos(math.pi * num_cycles * 2.0 * progress)))
        return min_lr_ratio + (1 - min_lr_ratio) * cosine
    return LambdaLR(optimizer, factor, last_epoch)


def get_linear_schedule_with_warmup(optimizer, num_warmup_steps: int, num_training_steps: int, last_epoch: int = -1):
    """Linear warmup from 0, then linear decay to 0 (Hugging Face's schedule)."""
    num_warmup_steps, num_training_steps = _steps("get_linear_schedule_with_warmup", num_warmup_steps,
                                                  num_training_steps)

    def factor(step):
        if step < num_warmup_steps:
            return step / max(1, num_warmup_steps)
        return max(0.0, (num_training_steps - step) / max(1, num_training_steps - num_warmup_steps))
    return LambdaLR(optimizer, factor, last_epoch)


def _steps(fn: str, num_warmup_steps, num_training_steps) -> tuple:
    """The warmup schedules' step counts: warmup >= 0, then at least one step after it."""
    num_warmup_steps = rules.non_negative_int(fn, "num_warmup_steps", num_warmup_steps)
    return num_warmup_steps, rules.integer(fn, "num_training_steps", num_training_steps, num_warmup_steps + 1)
