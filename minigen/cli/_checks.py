"""Checks of command-line values, run before anything is loaded or built.

They call the shared rules with no function name and the ``--flag`` the user typed
as the name, so that a message reads "--seq-len must be a positive integer, got 0",
not the Python argument deep inside that would refuse it later. ``minigen train``'s
settings have one table of rules, ``TRAIN_SETTINGS``: the command line's values go
through it, and so, on ``--resume``, do the settings saved in the checkpoint.
"""

from __future__ import annotations

import re
from functools import partial

from minigen import backend, rules


def flag(name: str) -> str:
    """``"seq_len"`` -> ``"--seq-len"``."""
    return "--" + name.replace("_", "-")


def text(fn: str, name: str, value):
    """``value`` if it is a non-empty string."""
    rules.require(isinstance(value, str) and value, fn, name, "a non-empty string", rules.describe(value))
    return value


def check_folder(what: str, value) -> None:
    """An empty folder name would silently mean the current folder: refuse it (None, not given, passes)."""
    rules.require(value is None or str(value).strip(), "", what, "a folder name (. is the current folder)", repr(value))


# A factor that divides or multiplies float32 scores (a temperature, a repetition penalty): beyond these
# bounds the scores overflow (NumPy warns in the middle of the text), or the factor stops mattering.
SCALE_RANGE = (1e-4, 1e4)


def temperature(fn: str, name: str, value):
    """``value`` if it is 0 (greedy) or a number within ``SCALE_RANGE``."""
    lo, hi = SCALE_RANGE
    ok = rules.is_real(value) and (value == 0 or lo <= value <= hi)
    rules.require(ok, fn, name, f"0 (greedy) or a number in [{lo:g}, {hi:g}]", rules.describe(value))
    return value


def temperatures(fn: str, name: str, values):
    """``values`` if it is a non-empty list of temperatures."""
    rules.require(isinstance(values, list) and values, fn, name, "a non-empty list of numbers", rules.describe(values))
    return [temperature(fn, name, t) for t in values]


# The settings of `minigen train` that name one of a few choices (argparse offers the same).
CHOICES = dict(tokenizer=("char", "word", "bpe"), model=("rnn", "gpt"), cell=("lstm", "gru", "rnn"),
               optimizer=("adam", "adamw", "sgd", "rmsprop"), lr_schedule=("cosine", "constant"),
               dtype=("float32", "float64"))
# Every setting of `minigen train` and its rule. `time` is in seconds here: the command line's
# text ("10m") is parsed before the rules see it. None (not given: the default) passes for those
# in MAY_BE_NONE.
MAY_BE_NONE = ("steps", "vocab_size", "time", "prompt")
TRAIN_SETTINGS = {
    **dict.fromkeys(("embed_dim", "hidden_size", "num_layers", "n_layer", "n_head", "n_embd", "batch_size",
                     "seq_len", "eval_interval", "eval_tokens"), rules.positive_int),
    **dict.fromkeys(("warmup_steps", "sample_length", "seed", "fingerprint", "fresh_state_every"),
                    rules.non_negative_int),
    **dict.fromkeys(("steps", "vocab_size"), rules.positive_int),
    **dict.fromkeys(("val_fraction", "dropout"), partial(rules.real, lo=0, hi=1, hi_open=True)),
    **dict.fromkeys(("weight_decay", "grad_clip"), partial(rules.real, lo=0)),
    "lr": partial(rules.real, lo=0, lo_open=True),
    "min_lr_ratio": partial(rules.real, lo=0, hi=1),
    "time": partial(rules.real, lo=0, lo_open=True),
    "temperatures": temperatures,
    **dict.fromkeys(("corpus", "out", "device", "prompt"), text),
    **{key: partial(rules.choice, options=options) for key, options in CHOICES.items()},
    **dict.fromkeys(("progress", "learn_initial_state"), rules.flag),
}


def check_settings(values: dict, table=None, fn: str = "", name=flag, may_be_none=MAY_BE_NONE) -> None:
    """Every value in ``values`` whose key has a rule in ``table`` (default ``TRAIN_SETTINGS``) through it.

    ``name(key)`` is how a message names the value (default ``--key``); None passes for
    the keys in ``may_be_none`` (an option not given).
    """
    table = TRAIN_SETTINGS if table is None else table
    for key, value in values.items():
        if key in table and not (value is None and key in may_be_none):
            table[key](fn, name(key), value)


# The names --device takes, in any case: the CPU, or CuPy on a GPU (cuda:N, the N-th).
DEVICES = r"cpu|numpy|cuda(:\d+)?|gpu|cupy"
CPU_NAMES = ("cpu", "numpy")


def check_device(device: str) -> None:
    """``--device`` is cpu or cuda[:N], and CuPy and a GPU are there for cuda (checked before any work)."""
    rules.require(re.fullmatch(DEVICES, device, re.IGNORECASE), "", "--device", "cpu, cuda or cuda:N", repr(device))
    if device.lower() not in CPU_NAMES:
        try:
            backend.get_cupy()
        except backend.CupyUnavailableError as e:
            raise ValueError(f"--device {device}: {e}") from None
