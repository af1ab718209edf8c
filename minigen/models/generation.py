"""``GenerationMixin``: ``model.generate(...)`` on every language model, as in Hugging Face."""

from __future__ import annotations

from ..sample.generate import generate


class GenerationMixin:
    """Gives a language model ``generate``, which forwards to ``minigen.sample.generate``.

    Decoding (``minigen.sample``) works on any model that returns ``(logits, state)``
    and imports no model, so the models can import it, as Hugging Face's do.
    """

    def generation_step(self, input_ids, state=None):
        """``(logits, state)`` for new positions, continuing from ``state``: what decoding calls.

        The default is the model's own ``forward(ids, state)`` (recurrent models carry
        their hidden state this way); attention models override it with a KV cache.
        """
        return self(input_ids, state)

    def generate(self, input_ids, max_new_tokens: int = 20, **kwargs):
        """``minigen.sample.generate(self, input_ids, max_new_tokens, **kwargs)``; see there for the arguments."""
        return generate(self, input_ids, max_new_tokens, **kwargs)
