"""One decoding step of any model: what ``generate``, ``beam_search`` and ``speculative_generate`` call."""

from __future__ import annotations

from .. import rules
from ..autograd import Tensor
from .processors import SCALE

__all__ = ["model_step", "as_array", "vocab_size_of", "check_prompt", "check_decoding", "check_sampling"]


def model_step(model, ids, state):
    """``model.generation_step(ids, state)`` (a KV cache for attention models), else ``model(ids, state)``.

    minigen's language models have ``generation_step`` (``models.GenerationMixin``);
    any other callable that returns ``(logits, state)`` works too.
    """
    step = getattr(model, "generation_step", None)
    return step(ids, state) if step is not None else model(ids, state)


def as_array(x):
    """A minigen ``Tensor``'s array (its ``.data``), as ``model.forward`` accepts either; anything else unchanged."""
    return x.data if isinstance(x, Tensor) else x


def vocab_size_of(model) -> int | None:
    """``model.config["vocab_size"]`` (every minigen language model has it), or None when unknown."""
    config = getattr(model, "config", None)
    V = config.get("vocab_size") if isinstance(config, dict) else None
    return V if rules.is_int(V) else None


def check_prompt(fn: str, name: str, ids, V: int | None):
    """``ids`` if it is a non-empty (batch, length) array of ids in [0, V): a prompt, or guidance's negative one."""
    rules.token_ids(fn, name, ids, V, ndim=2)
    rules.require(ids.size > 0, fn, name, "a non-empty (batch, length) array of ids", f"shape {tuple(ids.shape)}")
    return ids


def check_decoding(fn: str, input_ids, V: int | None, max_new_tokens, eos_token_id, pad_token_id=None) -> None:
    """The rules every decoding entry point shares: a non-empty (B, P) prompt of ids in [0, V), and the stopping ids.

    The pad id must be a token of the model too: ``generate``'s finished rows feed it back
    to the model, and ``beam_search``'s output is text for the model to read again.
    """
    check_prompt(fn, "input_ids", input_ids, V)
    rules.non_negative_int(fn, "max_new_tokens", max_new_tokens)
    rules.token_id(fn, "eos_token_id", eos_token_id, V, optional=True)
    rules.token_id(fn, "pad_token_id", pad_token_id, V, optional=True)


def check_sampling(fn: str, do_sample, temperature, seed=None) -> None:
    """``do_sample`` a bool, ``temperature`` in [0, 1e4] (0 means greedy), ``seed`` a non-negative int or None."""
    rules.flag(fn, "do_sample", do_sample)
    rules.real(fn, "temperature", temperature, 0, SCALE[1])
    rules.non_negative_int(fn, "seed", seed, optional=True)
