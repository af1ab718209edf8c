"""One decoding step of any model: what ``generate``, ``beam_search`` and ``speculative_generate`` call."""

from __future__ import annotations

from .. import rules
from ..autograd import Tensor

__all__ = ["model_step", "as_array", "vocab_size_of", "check_prompt"]


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


def check_prompt(fn: str, input_ids, V: int | None) -> None:
    """``input_ids`` is a non-empty (B, P) array of ids in [0, V), for every decoding entry point."""
    rules.token_ids(fn, "input_ids", input_ids, V, ndim=2)
    rules.require(input_ids.size > 0, fn, "input_ids", "a non-empty (batch, prompt_length) array", input_ids.shape)
