"""Classifier-free guidance (CFG) for language models (Sanchez et al., 2023, "Stay on topic with CFG").

Guidance compares two next-token distributions of one model: the conditional one,
from the real prompt, and an unconditional one, from a shorter or "negative" prompt
(by default only the last token of the real prompt). It moves the scores further in
the direction the prompt pushes them, in log-probability space:

    log p_cfg = log p_uncond + guidance_scale * (log p_cond - log p_uncond)

``guidance_scale = 1`` gives the conditional distribution back; ``> 1`` follows the
prompt more closely (usually at some cost in fluency); ``0`` gives the unconditional
(or negative) prompt's distribution; ``< 1`` pushes toward the negative prompt.

The processor runs the model itself on the unconditional branch, one separate call
per generated token ("unbatched"), and carries that branch's state (an RNN's hidden
state, a GPT's key/value cache) from call to call. So, as in Hugging Face, one
processor serves one generation: a new ``generate`` call needs a new processor.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .. import backend, rules
from ..autograd import no_grad
from ..backend import array_namespace
from ..kernels.softmax import log_softmax_forward
from .processors import LogitsProcessor
from .step import as_array, check_prompt, model_step, vocab_size_of

__all__ = ["UnbatchedClassifierFreeGuidanceLogitsProcessor"]


def _log_softmax(scores):
    return log_softmax_forward(scores, axis=-1)[0]


class UnbatchedClassifierFreeGuidanceLogitsProcessor(LogitsProcessor):
    """Classifier-free guidance: mix the prompt's log-probabilities with those of an unconditional prompt.

    With c = log_softmax(scores) (the conditional branch, from the real prompt) and
    u = log_softmax of ``model``'s last logits on the unconditional branch:

        scores_new = u + guidance_scale * (c - u)

    The unconditional branch starts from ``unconditional_ids`` (B or 1 rows of ids;
    None: the last token of each prompt) and then reads each token that decoding
    adds to ``input_ids``. ``use_cache=True`` feeds only the new tokens, carrying the
    model's state (``model_step``: ``generation_step`` if the model has it, else
    ``model(ids, state)``); ``use_cache=False`` reads the whole branch again at each
    call (slower, the same numbers to rounding). ``guidance_scale == 1`` returns c
    without running the model, as in Hugging Face.

    Tokens whose conditional score is -inf (banned by an earlier processor) stay -inf
    at every scale (Hugging Face's formula gives NaN there when guidance_scale is 0).
    minigen's models read no attention mask, so ``unconditional_attention_mask`` must
    be None or all ones. Beam search reorders rows, which the branch's state does not
    follow (as in Hugging Face): use guidance with greedy decoding or sampling.

    >>> import numpy as np
    >>> uniform = lambda ids, state=None: (np.zeros(ids.shape + (3,)), state)    # u = log(1/3) everywhere
    >>> cfg = UnbatchedClassifierFreeGuidanceLogitsProcessor(2.0, uniform)
    >>> np.exp(cfg(np.array([[0]]), np.log(np.array([[0.5, 0.25, 0.25]])))).round(4).tolist()
    [[0.75, 0.1875, 0.1875]]
    """

    def __init__(self, guidance_scale: float, model, unconditional_ids=None, unconditional_attention_mask=None,
                 use_cache: bool = True):
        fn = "UnbatchedClassifierFreeGuidanceLogitsProcessor"
        self.guidance_scale = rules.real(fn, "guidance_scale", guidance_scale)
        rules.instance(fn, "model", model, Callable, "a language model: model(ids, state) -> (logits, state)")
        self.model = model
        if unconditional_ids is not None:
            ids = check_prompt(fn, "unconditional_ids", as_array(unconditional_ids), vocab_size_of(model))
            unconditional_ids = backend.to_numpy(ids)                               # (B_u, S) on the host
        mask = unconditional_attention_mask
        if mask is not None:
            mask = backend.to_numpy(as_array(mask))
            shape = None if unconditional_ids is None else unconditional_ids.shape
            ok = mask.shape == shape and bool((mask == 1).all())
            rules.require(ok, fn, "unconditional_attention_mask", "None, or all ones of unconditional_ids' shape "
                          "(minigen's models read no padding mask)", rules.describe(unconditional_attention_mask))
        self.unconditional_ids = unconditional_ids
        self.unconditional_attention_mask = unconditional_attention_mask
        self.use_cache = rules.flag(fn, "use_cache", use_cache)
        self._branch = None       # the unconditional ids read so far, (B, S') on the device (use_cache=False)
        self._state = None        # the model's state after reading them (use_cache=True)
        self._read = None         # how many columns of input_ids the branch has read
        self._last = None         # u from the last call, (B, V): reused when no new token came

    def process(self, input_ids, scores):
        c = _log_softmax(scores)                                                   # (B, V)
        if self.guidance_scale == 1:
            return c
        xp = array_namespace(scores)
        u = xp.astype(self._unconditional_log_probs(input_ids), scores.dtype)       # (B, V)
        banned = c == -math.inf                                                    # (B, V): filtered before
        mixed = u + self.guidance_scale * (xp.where(banned, u, c) - u)             # (no inf - inf, no 0 * inf)
        return xp.where(banned, -math.inf, mixed)

    def _unconditional_log_probs(self, input_ids):
        """u (B, V): the model's log-probabilities for the next token of the unconditional branch."""
        xp = array_namespace(input_ids)
        (B, T), fn = input_ids.shape, type(self).__name__
        if self._read is None:                                                     # the first call: the branch's prompt
            new = input_ids[:, T - 1:] if self.unconditional_ids is None else self._first_ids(fn, input_ids)
            self._branch = new[:, :0]
        else:
            new = input_ids[:, self._read:]                                        # the tokens added since then
            if new.shape[1] == 0:
                return self._last
        self._read = T
        with no_grad():
            if self.use_cache:
                logits, self._state = model_step(self.model, new, self._state)
            else:
                self._branch = xp.concat([self._branch, new], axis=1)               # (B, S')
                logits, _ = model_step(self.model, self._branch, None)
        self._last = _log_softmax(as_array(logits)[:, -1, :])                      # (B, V)
        return self._last

    def _first_ids(self, fn: str, input_ids):
        """``unconditional_ids`` on input_ids' device, one row per row of input_ids (a single row is repeated)."""
        xp, B, B_u = array_namespace(input_ids), input_ids.shape[0], self.unconditional_ids.shape[0]
        rules.require(B_u in (1, B), fn, "unconditional_ids", f"1 or {B} rows (input_ids' batch)", f"{B_u} rows")
        ids = backend.asarray_like(self.unconditional_ids, input_ids)
        ids = xp.astype(ids, input_ids.dtype)                                     # (B_u, S) on the device
        return ids if B_u == B else xp.concat([ids] * B, axis=0)                   # (B, S)
