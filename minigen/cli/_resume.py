"""What ``minigen train --resume`` reads from a checkpoint, checked before any work.

A checkpoint whose metadata was damaged (edited by hand, half-written by another
tool) ends in one line naming the file and the entry, as ``minigen sample`` does
("... is damaged: ..."), never in a TypeError from deep inside the trainer.
"""

from __future__ import annotations

import math
import os

from minigen.checkpoint import CheckpointError

from ._checks import flag

BUILTIN_CORPORA = ("shakespeare", "python")

# The type of every setting that `minigen train` saves in the checkpoint ("run"), None where it may be missing.
_INT = ("embed_dim", "hidden_size", "num_layers", "n_layer", "n_head", "n_embd", "batch_size", "seq_len",
        "warmup_steps", "eval_interval", "eval_tokens", "sample_length", "seed", "fingerprint")
_INT_OR_NONE = ("steps", "vocab_size")
_FLOAT = ("val_fraction", "dropout", "lr", "weight_decay", "grad_clip", "min_lr_ratio")
_FLOAT_OR_NONE = ("time",)
_STR = ("corpus", "device", "out")
_STR_OR_NONE = ("prompt",)
CHOICES = dict(tokenizer=("char", "word", "bpe"), model=("rnn", "gpt"), cell=("lstm", "gru", "rnn"),
               optimizer=("adam", "adamw", "sgd", "rmsprop"), lr_schedule=("cosine", "constant"),
               dtype=("float32", "float64"))
# The training loop's state (extra.trainer), as Trainer.save_checkpoint writes it.
_LOOP = dict(step="int", tokens_seen="int", elapsed="number", history="list", train_curve="list",
             state_is_tuple="bool")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _kind_ok(kind: str, v) -> bool:
    return {"int": lambda: _is_int(v) and v >= 0, "number": lambda: _is_number(v) and v >= 0,
            "list": lambda: isinstance(v, list), "bool": lambda: isinstance(v, bool)}[kind]()


def _setting_error(key, v):
    """What is wrong with the saved setting ``key`` = ``v`` (None: nothing)."""
    if key in _INT or key in _INT_OR_NONE:
        ok, want = _is_int(v) or (v is None and key in _INT_OR_NONE), "an integer"
    elif key in _FLOAT or key in _FLOAT_OR_NONE:
        ok, want = _is_number(v) or (v is None and key in _FLOAT_OR_NONE), "a finite number"
    elif key in _STR or key in _STR_OR_NONE:
        ok, want = isinstance(v, str) or (v is None and key in _STR_OR_NONE), "a string"
    elif key in CHOICES:
        ok, want = v in CHOICES[key], " or ".join(repr(c) for c in CHOICES[key])
    elif key == "temperatures":
        ok, want = isinstance(v, list) and bool(v) and all(_is_number(t) for t in v), "a list of numbers"
    elif key == "progress":
        ok, want = isinstance(v, bool), "true or false"
    else:
        return None
    return None if ok else f"its saved setting {flag(key)} is {v!r}, not {want}"


def check_saved_run(saved, path, check_values) -> dict:
    """The run settings saved in ``saved`` (read from ``path``); damage is a CheckpointError naming the file.

    ``check_values(run)`` checks the ranges, as for the command line's values (a ValueError).
    """
    def damaged(what):
        return CheckpointError(f"{path} is damaged: {what}; it cannot be resumed (start a new run with another --out)")

    extra = saved.meta.get("extra")
    run = extra.get("run") if isinstance(extra, dict) else None
    if not isinstance(run, dict) or not run:
        raise ValueError(f"--resume: {path} was not written by `minigen train`")
    for key in sorted(run):
        problem = _setting_error(key, run[key])
        if problem:
            raise damaged(problem)
    try:
        check_values(run)
    except ValueError as e:
        raise damaged(f"its saved setting {e}") from None
    loop = extra.get("trainer")
    if not isinstance(loop, dict):
        raise damaged("its training-loop state (extra.trainer) is missing or not an object")
    for key, kind in _LOOP.items():
        if not _kind_ok(kind, loop.get(key)):
            raise damaged(f"its training-loop entry {key!r} is {loop.get(key)!r}, not a valid {kind}")
    if not all(isinstance(m, dict) and _is_int(m.get("step")) for m in loop["history"]):
        raise damaged("its training-loop history holds an entry that is not an evaluation's metrics")
    if not all(isinstance(p, list) and len(p) == 2 and all(_is_number(x) for x in p) for p in loop["train_curve"]):
        raise damaged("its training-loop train_curve holds an entry that is not a [step, loss] pair")
    if not (loop.get("position") is None or _kind_ok("int", loop.get("position"))):
        raise damaged(f"its training-loop entry 'position' is {loop.get('position')!r}, not a valid int")
    if not _is_int(saved.meta.get("step")) or saved.meta["step"] != loop["step"]:
        raise damaged(f"its step {saved.meta.get('step')!r} is not the training loop's step {loop['step']}")
    if not isinstance(saved.meta.get("rng_state"), dict):
        raise damaged(f"its random-generator state (rng_state) is {type(saved.meta.get('rng_state')).__name__}, "
                      "not an object")
    return run


def one_line(e: BaseException) -> str:
    """An exception's message on one line: a multi-line one is cut to its first detail."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()] or [type(e).__name__]
    text = lines[0] + (" " + lines[1] if lines[0].endswith(":") and len(lines) > 1 else "")
    more = len(lines) - (2 if lines[0].endswith(":") else 1)
    return text + (f" (and {more} more)" if more > 0 else "")


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
