"""Argument checks shared by the decoding entry points (``generate``, ``beam_search``, ``speculative_generate``).

The model never sees a bad id: the graph-free GPT path reads its embedding table
directly, so an id outside the vocabulary would otherwise fail deep inside NumPy
(too large) or, worse, silently wrap to the last rows (negative). Each message
starts with the entry point's name (``fn``).
"""

from __future__ import annotations

import math
import numbers

from ..autograd import Tensor
from ..backend import host
from ..functional.embedding import check_token_ids, first_out_of_range


def is_int(x) -> bool:
    """True for a Python or NumPy integer, not a bool."""
    return isinstance(x, (int, host.integer)) and not isinstance(x, bool)


def is_bool(x) -> bool:
    """True for ``True``/``False`` and NumPy's (``t > 0`` of a NumPy number is ``np.True_``)."""
    return isinstance(x, (bool, host.bool_))


def is_real(x) -> bool:
    """True for a Python or NumPy real number (``0.5``, ``np.float32(0.5)``, ``2``), not a bool."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def check_temperature(fn: str, temperature) -> None:
    """``temperature`` is a finite real number >= 0; 0 means greedy."""
    if not is_real(temperature) or not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"{fn}: temperature must be a finite number >= 0 (0 means greedy), got {temperature!r}")


def check_seed(fn: str, seed) -> None:
    """``seed`` is None or a non-negative integer (what ``numpy.random.default_rng`` takes), not a bool."""
    if seed is not None and (not is_int(seed) or seed < 0):
        raise ValueError(f"{fn}: seed must be a non-negative integer or None, got {seed!r}")


def as_array(x):
    """A minigen ``Tensor``'s array (its ``.data``), as ``model.forward`` accepts either; anything else unchanged."""
    return x.data if isinstance(x, Tensor) else x


def vocab_size_of(model) -> int | None:
    """``model.config["vocab_size"]`` (every minigen language model has it), or None when unknown."""
    config = getattr(model, "config", None)
    V = config.get("vocab_size") if isinstance(config, dict) else None
    return V if is_int(V) else None


def _out_of_range(V) -> str:
    return f"is out of range for the model's vocab_size {V} (expected 0 <= id < {V})" if V is not None else \
        "is not a token id (expected id >= 0)"


def check_prompt(fn: str, input_ids, vocab_size: int | None) -> None:
    """``input_ids`` is a non-empty (B, P) integer array of ids in [0, vocab_size) (None: only >= 0)."""
    if getattr(input_ids, "ndim", None) != 2 or input_ids.shape[0] == 0 or input_ids.shape[1] == 0:
        raise ValueError(f"{fn}: input_ids must be a non-empty (batch, prompt_length) array, got shape "
                         f"{getattr(input_ids, 'shape', None)}")
    check_token_ids(input_ids, f"{fn}: input_ids must be an integer array of token ids")
    bad = first_out_of_range(input_ids, vocab_size)
    if bad is not None:
        raise IndexError(f"{fn}: input_ids: id {bad} {_out_of_range(vocab_size)}")


def check_token_id(fn: str, name: str, value, vocab_size: int | None) -> None:
    """``value`` (``eos_token_id``, ``pad_token_id``) is None or an id in [0, vocab_size)."""
    if value is None:
        return
    if not is_int(value):
        raise ValueError(f"{fn}: {name} must be a non-negative integer token id or None, got {value!r}")
    if value < 0 or (vocab_size is not None and value >= vocab_size):
        raise IndexError(f"{fn}: {name} {value} {_out_of_range(vocab_size)}")
