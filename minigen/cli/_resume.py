"""What ``minigen train --resume`` and ``minigen sample`` read from a run's checkpoint, checked before any work.

A checkpoint whose metadata was damaged (edited by hand, half-written by another
tool) ends in one line naming the file and the entry ("checkpoint PATH:
extra.run.seq_len must be a positive integer, got '16'"), never in a TypeError from
deep inside the trainer.
"""

from __future__ import annotations

import os

from minigen import rules
from minigen.checkpoint import entries_of

from ._checks import check_settings, flag

BUILTIN_CORPORA = ("shakespeare", "python")


def saved_run(ck) -> dict:
    """The settings of the ``minigen train`` run saved in checkpoint ``ck`` (``extra.run``; {} if none).

    Each goes through the rule its command-line option has (``TRAIN_SETTINGS``).
    """
    with entries_of(ck.path) as fn:
        run = rules.instance(fn, "extra.run", ck.meta["extra"].get("run", {}), dict, "an object")
        check_settings(run, fn=fn, name=lambda key: f"extra.run.{key}")
    return run


def refuse_changes(given: dict, run: dict, resumable) -> None:
    """On --resume: every option given that is not in ``resumable`` must keep the run's saved value."""
    for k in sorted(k for k, v in given.items() if k not in resumable and v != run.get(k)):
        was, now = run.get(k), given[k]
        rules.fail("--resume", flag(k), f"the run's {was!r} (it cannot change; or start a new --out)", repr(now))


def same_corpus(a: str, b: str) -> bool:
    """Two --corpus values name the same corpus (paths compared once resolved)."""
    if a in BUILTIN_CORPORA or b in BUILTIN_CORPORA:
        return a == b
    return os.path.realpath(a) == os.path.realpath(b)


def nothing_left(cfg, step: int, elapsed: float):
    """Why a resumed run has nothing left to train (None: it has)."""
    if cfg["steps"] is not None and step >= cfg["steps"]:
        return (f"--resume: the run is already at step {step} and --steps is {cfg['steps']} (the steps in all, "
                "not more steps): nothing to train; give a larger --steps")
    if cfg["time"] is not None and elapsed >= cfg["time"]:
        return (f"--resume: the run has already trained {elapsed:.0f} s and --time is {cfg['time']:.0f} s (the time "
                "in all, not more time): nothing to train; give a longer --time")
    return None


def plan(cfg, step: int = 0, elapsed: float = 0.0) -> str:
    """``"for 3 steps"``; on resume ``"to step 30 (10 more)"`` and ``"until 600 s in all (180 s more)"``."""
    parts = []
    if cfg["steps"]:
        parts.append(f"to step {cfg['steps']} ({cfg['steps'] - step} more)" if step else f"for {cfg['steps']} steps")
    if cfg["time"]:
        parts.append(f"until {cfg['time']:.0f} s in all ({cfg['time'] - elapsed:.0f} s more)" if elapsed
                     else f"for {cfg['time']:.0f} s")
    return " or ".join(parts) + (", whichever comes first" if len(parts) == 2 else "")
