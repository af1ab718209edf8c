"""``GenerationMixin``: ``model.generate(...)`` on every language model, as in Hugging Face."""

from __future__ import annotations


class GenerationMixin:
    """Gives a language model ``generate``, which forwards to ``minigen.sample.generate``.

    ``minigen.sample`` sits above ``minigen.models`` in the layering, so it is imported
    when ``generate`` is first called, not when the model module loads.
    """

    def generate(self, input_ids, max_new_tokens: int = 20, **kwargs):
        """``minigen.sample.generate(self, input_ids, max_new_tokens, **kwargs)``; see there for the arguments."""
        from ..sample import generate
        return generate(self, input_ids, max_new_tokens, **kwargs)
