"""One decoding step of any model: what ``generate``, ``beam_search`` and ``speculative_generate`` call."""

from __future__ import annotations

__all__ = ["model_step"]


def model_step(model, ids, state):
    """``model.generation_step(ids, state)`` (a KV cache for attention models), else ``model(ids, state)``.

    minigen's language models have ``generation_step`` (``models.GenerationMixin``);
    any other callable that returns ``(logits, state)`` works too.
    """
    step = getattr(model, "generation_step", None)
    return step(ids, state) if step is not None else model(ids, state)
