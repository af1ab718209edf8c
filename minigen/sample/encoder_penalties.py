"""Penalties that look at the encoder's input (the source text), not at the tokens generated so far.

- ``EncoderRepetitionPenaltyLogitsProcessor``: the repetition penalty turned around:
  it makes the source's tokens MORE likely (against hallucination in summaries).
- ``EncoderNoRepeatNGramLogitsProcessor``: never complete an n-gram of the source
  (against copying it, e.g. in a chat that should not parrot the last turn).

Both were made for encoder-decoder models, and work with decoder-only ones too: pass
the prompt (or any reference text) as ``encoder_input_ids``, a (B_enc, S) or (S,)
array of ids given once, to the constructor.

Shapes: B = rows of scores, V = vocabulary. With beam search B = B_enc * num_beams:
row b of the scores uses source row ``b // num_beams``, as in Hugging Face. As in
``penalties.py``, ids >= V are ignored, negative ids refused, and each
``process(input_ids, scores)`` returns new scores (B, V) without editing in place.
"""

from __future__ import annotations

import math

from .. import backend, rules
from ..backend import array_namespace
from .penalties import _Penalty, _token_counts, repetition_rule
from .processors import SCALE, LogitsProcessor

__all__ = ["EncoderRepetitionPenaltyLogitsProcessor", "EncoderNoRepeatNGramLogitsProcessor"]


def _encoder_ids(fn: str, encoder_input_ids):
    """The source ids on the host, as a (B_enc, S) NumPy array: a (S,) array is one row; S >= 1, ids >= 0."""
    ids = rules.array_of(encoder_input_ids)
    rules.token_ids(fn, "encoder_input_ids", ids)                                 # an integer array, ids >= 0
    ok = ids.ndim in (1, 2) and ids.shape[-1] > 0 and ids.shape[0] > 0
    rules.require(ok, fn, "encoder_input_ids", "a non-empty (batch, length) or (length,) array of ids",
                  f"shape {tuple(ids.shape)}")
    ids = backend.to_numpy(ids)
    return ids[None, :] if ids.ndim == 1 else ids


def _beams(fn: str, B: int, B_enc: int) -> int:
    """How many rows of scores share one source row: B / B_enc, which must be a whole number."""
    rules.require(B % B_enc == 0, fn, "input_ids", f"a batch that is a multiple of encoder_input_ids' {B_enc} rows "
                  "(num_beams rows per source)", f"{B} rows")
    return B // B_enc


class EncoderRepetitionPenaltyLogitsProcessor(_Penalty):
    """The repetition penalty in reverse, on the source's tokens: ``penalty > 1`` makes them more likely.

    For a token that occurs in the row's ``encoder_input_ids``: ``s * penalty`` if
    ``s >= 0``, else ``s / penalty`` (Hugging Face computes both with ``1 / penalty``,
    and so does this class, to the last bit). ``penalty < 1`` makes them less likely.

    ``normalize=True`` (as in Hugging Face's current version): the scores become
    ``log p = log_softmax(scores)`` and a source token's ``log p`` becomes
    ``log p / penalty``, closer to 0 (more likely) for ``penalty > 1`` whatever the
    sign of its logit.

    >>> import numpy as np
    >>> reward = EncoderRepetitionPenaltyLogitsProcessor(2.0, encoder_input_ids=np.array([[0, 2]]))
    >>> reward(np.array([[1]]), np.array([[1.0, 1.0, -2.0]])).tolist()
    [[2.0, 1.0, -1.0]]
    """

    bounds = SCALE                                                                  # as the repetition penalty's

    def __init__(self, penalty: float, encoder_input_ids, normalize: bool = False):
        super().__init__(penalty)
        fn = "EncoderRepetitionPenaltyLogitsProcessor"
        self.encoder_input_ids = _encoder_ids(fn, encoder_input_ids)                # (B_enc, S) on the host
        self.normalize = rules.flag(fn, "normalize", normalize)
        self._in_source = None                                                      # ((V, device), (B_enc, V) mask)

    def process(self, input_ids, scores):
        xp = array_namespace(scores)
        (B, V), B_enc = scores.shape, self.encoder_input_ids.shape[0]
        beams = _beams(type(self).__name__, B, B_enc)
        key = (V, str(backend.device_of(scores)))
        if self._in_source is None or self._in_source[0] != key:                   # once per vocabulary and device
            ids = backend.asarray_like(self.encoder_input_ids, scores)             # (B_enc, S) on the device
            self._in_source = (key, _token_counts(ids, V, scores.dtype) > 0)       # (B_enc, V)
        in_source = self._in_source[1]
        in_source = xp.reshape(xp.broadcast_to(in_source[:, None, :], (B_enc, beams, V)), (B, V))  # row b: b // beams
        return repetition_rule(scores, in_source, 1 / self.penalty, self.normalize)   # HF's stored factor, 1/penalty


class EncoderNoRepeatNGramLogitsProcessor(LogitsProcessor):
    """Ban every token that would complete an n-gram (``encoder_ngram_size`` tokens) of the source.

    The next token x would form the n-gram ``(last n-1 tokens of input_ids, x)``. For
    each n-gram ``source[i : i + n]`` of the row's ``encoder_input_ids`` whose first
    n-1 tokens equal the last n-1 tokens, its last token gets -inf. With n = 1 every
    source token is banned. The source's n-grams are collected once, in the
    constructor; the lookup runs on the host (an explicit copy of ``input_ids``).

    >>> import numpy as np
    >>> ban = EncoderNoRepeatNGramLogitsProcessor(2, encoder_input_ids=np.array([[1, 2, 1, 3]]))
    >>> ban(np.array([[0, 1]]), np.zeros((1, 5))).tolist()
    [[0.0, 0.0, -inf, -inf, 0.0]]
    """

    def __init__(self, encoder_ngram_size: int, encoder_input_ids):
        fn = "EncoderNoRepeatNGramLogitsProcessor"
        n = self.ngram_size = rules.positive_int(fn, "encoder_ngram_size", encoder_ngram_size)
        source = _encoder_ids(fn, encoder_input_ids)                               # (B_enc, S) on the host
        self.batch_size = source.shape[0]
        self.generated_ngrams = []                                                 # per source row: prefix -> {next}
        for tokens in source.tolist():
            ngrams = {}
            for i in range(len(tokens) - n + 1):
                ngrams.setdefault(tuple(tokens[i:i + n - 1]), set()).add(tokens[i + n - 1])
            self.generated_ngrams.append(ngrams)

    def process(self, input_ids, scores):
        xp = array_namespace(scores)
        (B, T), V, n = input_ids.shape, scores.shape[-1], self.ngram_size
        beams = _beams(type(self).__name__, B, self.batch_size)
        ids = backend.to_numpy(input_ids)                                          # (B, T) on the host
        banned = backend.host_full((B, V), False, dtype="bool")                    # (B, V) on the host
        for b, tokens in enumerate(ids.tolist()):
            if T < n - 1:                                                          # too short to end an (n-1)-prefix
                continue
            prefix = tuple(tokens[T - n + 1:])                                     # the last n-1 tokens
            for t in self.generated_ngrams[b // beams].get(prefix, ()):
                if t < V:                                                          # ids >= V are skipped, as in HF
                    banned[b, t] = True
        return xp.where(backend.asarray_like(banned, scores), -math.inf, scores)
