"""``GenerationMixin``: ``model.generate(...)`` on every language model, as in Hugging Face."""

from __future__ import annotations

from .. import backend, rules
from ..sample.generate import generate


def lm_ids(fn: str, ids, vocab_size: int | None = None):
    """The array of a language model's (B, T) ids argument (a Tensor's data), T >= 1, its ids in [0, vocab_size)
    when ``vocab_size`` is given: the check of ``forward`` and ``generation_step`` (``fn``: the model's name)."""
    ids = rules.array_of(ids)
    if not (backend.is_array(ids) and ids.ndim == 2 and ids.shape[1] >= 1):    # describe() only on failure
        rules.fail(fn, "ids", "of shape (batch, seq) with seq >= 1", rules.describe(ids))
    return ids if vocab_size is None else rules.token_ids(fn, "ids", ids, vocab_size)


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
