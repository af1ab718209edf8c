"""Penalties and bans: logits processors that look at the tokens so far (``input_ids``).

- ``RepetitionPenaltyLogitsProcessor``: CTRL's penalty on every token already seen.
- ``FrequencyPenaltyLogitsProcessor`` / ``PresencePenaltyLogitsProcessor``: OpenAI's
  additive penalties, by how often / whether a token was seen.
- ``NoRepeatNGramLogitsProcessor``: never complete an n-gram that already occurred.
- ``SuppressTokensLogitsProcessor`` / ``NoBadWordsLogitsProcessor``: banned tokens and
  banned token sequences.

Shapes: B = batch, T = tokens so far, V = vocabulary. As in ``processors.py``, each
``process(input_ids, scores)`` returns new scores (B, V) and never edits in place.
"Which tokens were seen, how often" is a (B, V) table of counts, built with the
backend's scatter-add (the array API has none).

Ids >= V in ``input_ids`` are ignored, as in Hugging Face (whose models may embed
more tokens than they can generate). Negative ids are not token ids: the n-gram ban,
which copies the ids to the host anyway, refuses them; the counting penalties ignore
them, because finding one would copy from the device at every generated token
(``generate`` and ``beam_search`` check the prompt's ids once, and every id they add
was picked from the scores, so it is in range).
"""

from __future__ import annotations

import math

from .. import backend, rules
from ..backend import array_namespace, device_of
from ..kernels.softmax import log_softmax_forward
from .processors import SCALE, LogitsProcessor

__all__ = ["RepetitionPenaltyLogitsProcessor", "FrequencyPenaltyLogitsProcessor", "PresencePenaltyLogitsProcessor",
           "NoRepeatNGramLogitsProcessor", "SuppressTokensLogitsProcessor", "NoBadWordsLogitsProcessor"]


def _token_counts(input_ids, V: int, dtype):
    """``counts[b, v]`` = how many times token ``v`` occurs in ``input_ids[b]``: (B, V) of ``dtype``.

    By definition ``counts[b, v] = sum_t [input_ids[b, t] == v]``, but the (B, T, V)
    comparison costs B*T*V work and memory. A scatter-add costs B*T: each id adds 1
    to its cell of a flat (B * (V+1),) table. Ids outside [0, V) go to a spare
    column V, which is dropped at the end.
    """
    xp = array_namespace(input_ids)
    (B, T), dev = input_ids.shape, device_of(input_ids)
    ids = xp.where((input_ids >= 0) & (input_ids < V), input_ids, V)              # (B, T)
    cells = xp.reshape(xp.arange(B, device=dev)[:, None] * (V + 1) + ids, (-1,))   # (B*T,): row b, column id
    table = xp.zeros(B * (V + 1), dtype=dtype, device=dev)
    table = backend.index_add(table, cells, xp.ones(B * T, dtype=dtype, device=dev))
    return xp.reshape(table, (B, V + 1))[:, :V]                                    # (B, V)


def _token_mask(token_ids, V: int, like):
    """A (V,) boolean mask, True at each id in the Python list ``token_ids`` (ids >= V are ignored)."""
    xp = array_namespace(like)
    vocab = xp.arange(V, device=device_of(like))                               # (V,)
    if not token_ids:
        return vocab < 0
    ids = backend.asarray_like(token_ids, vocab)                                # (S,)
    return xp.any(vocab[:, None] == ids[None, :], axis=-1)


def _is_id(t) -> bool:
    return rules.is_int(t) and t >= 0


def _in_vocabulary(fn: str, name: str, ids, V: int) -> None:
    """Refuse ids >= V, which are known to be wrong only once the scores give V (at the first call)."""
    too_large = sorted({t for t in ids if t >= V})
    rules.require(not too_large, fn, name, f"ids in [0, {V})", too_large)


def repetition_rule(scores, chosen, penalty: float, normalize: bool = False):
    """CTRL's rule on the ``chosen`` (B, V) tokens: ``s / penalty`` where ``s > 0``, ``s * penalty`` where not; with
    ``normalize``, ``penalty * log_softmax(scores)`` there (and the log-softmax elsewhere). The encoder's version
    calls it with ``1 / penalty``."""
    xp = array_namespace(scores)
    if normalize:
        log_p = log_softmax_forward(scores, axis=-1)[0]                       # (B, V)
        return xp.where(chosen, log_p * penalty, log_p)
    return xp.where(chosen, xp.where(scores < 0, scores * penalty, scores / penalty), scores)


class _Penalty(LogitsProcessor):
    """The constructor the penalties share (the encoder's too): ``penalty`` a finite number within ``bounds``."""

    bounds = (-math.inf, math.inf)

    def __init__(self, penalty: float):
        self.penalty = rules.real(type(self).__name__, "penalty", penalty, *self.bounds)


class RepetitionPenaltyLogitsProcessor(_Penalty):
    """CTRL's repetition penalty: make every token that occurs in ``input_ids`` less likely.

    For a token seen at least once (however often): ``s / penalty`` if ``s > 0``, else
    ``s * penalty``; both lower the score when ``penalty > 1`` and raise it when
    ``penalty < 1``. The prompt counts too, unless:

    - ``prompt_ignore_length=n``: the first n ids of every row are not counted (pass
      the prompt's length to penalise only what the model generated); a list of ints
      gives one n per row (prompts of different lengths).
    - ``normalize=True``: penalise log-probabilities instead of logits. The scores
      become ``log p = log_softmax(scores)``, and a seen token's ``log p`` becomes
      ``penalty * log p``. As ``log p <= 0``, ``penalty > 1`` lowers every seen token
      whatever the sign of its logit (the plain rule's two cases become one). The
      result is left unnormalised, as in Hugging Face.

    >>> import numpy as np
    >>> ids, scores = np.array([[1, 2]]), np.array([[1.0, 2.0, -2.0]])
    >>> RepetitionPenaltyLogitsProcessor(2.0)(ids, scores).tolist()
    [[1.0, 1.0, -4.0]]
    >>> RepetitionPenaltyLogitsProcessor(2.0, prompt_ignore_length=1)(ids, scores).tolist()
    [[1.0, 2.0, -4.0]]
    """

    bounds = SCALE

    def __init__(self, penalty: float, prompt_ignore_length=None, normalize: bool = False):
        super().__init__(penalty)
        fn = type(self).__name__
        n = prompt_ignore_length
        n = backend.to_numpy(n).tolist() if backend.is_array(n) and n.ndim == 1 else n    # a 1-D array: per row
        ok = n is None or _is_id(n) or isinstance(n, (list, tuple)) and len(n) > 0 and all(map(_is_id, n))
        rules.require(ok, fn, "prompt_ignore_length", "None, an integer >= 0, or a list of them (one per row)",
                      rules.describe(prompt_ignore_length))
        self.prompt_ignore_length = int(n) if _is_id(n) else n if n is None else [int(k) for k in n]
        self.normalize = rules.flag(fn, "normalize", normalize)

    def process(self, input_ids, scores):
        seen = _token_counts(self._counted(input_ids), scores.shape[-1], scores.dtype) > 0   # (B, V)
        return repetition_rule(scores, seen, self.penalty, self.normalize)

    def _counted(self, input_ids):
        """``input_ids`` without the first ``prompt_ignore_length`` ids of each row (those become -1: not counted)."""
        n = self.prompt_ignore_length
        if n is None or isinstance(n, int):
            return input_ids[:, n or 0:]                                       # (B, T - n)
        (B, T), xp = input_ids.shape, array_namespace(input_ids)
        rules.require(len(n) == B, type(self).__name__, "prompt_ignore_length", f"{B} lengths, one per row", len(n))
        position = xp.arange(T, device=device_of(input_ids))                   # (T,)
        ignored = position[None, :] < backend.asarray_like(n, input_ids)[:, None]    # (B, T)
        return xp.where(ignored, -1, input_ids)


class FrequencyPenaltyLogitsProcessor(_Penalty):
    """OpenAI's frequency penalty: ``scores - penalty * count``, count = occurrences of the token in ``input_ids``.

    The more often a token was used, the lower its score. A negative ``penalty``
    encourages repetition instead.

    >>> import numpy as np
    >>> FrequencyPenaltyLogitsProcessor(0.5)(np.array([[1, 1, 2]]), np.zeros((1, 4))).tolist()
    [[0.0, -1.0, -0.5, 0.0]]
    """

    def process(self, input_ids, scores):
        return scores - self.penalty * _token_counts(input_ids, scores.shape[-1], scores.dtype)


class PresencePenaltyLogitsProcessor(_Penalty):
    """OpenAI's presence penalty: ``scores - penalty * [count > 0]``, once for every token seen in ``input_ids``.

    >>> import numpy as np
    >>> PresencePenaltyLogitsProcessor(0.5)(np.array([[1, 1, 2]]), np.zeros((1, 4))).tolist()
    [[0.0, -0.5, -0.5, 0.0]]
    """

    def process(self, input_ids, scores):
        xp = array_namespace(scores)
        seen = _token_counts(input_ids, scores.shape[-1], scores.dtype) > 0   # (B, V)
        return xp.where(seen, scores - self.penalty, scores)


class NoRepeatNGramLogitsProcessor(LogitsProcessor):
    """Ban every token that would complete an n-gram (``ngram_size`` tokens) already present in ``input_ids``.

    The next token x would form the n-gram ``(last n-1 tokens, x)``. For each earlier
    window ``input_ids[i : i + n]`` whose first n-1 tokens equal the last n-1 tokens,
    its last token gets -inf. With ``ngram_size=1`` every token seen is banned.
    The n-grams are found on the host, in Python (an explicit copy of ``input_ids``).

    >>> import numpy as np
    >>> NoRepeatNGramLogitsProcessor(2)(np.array([[1, 2, 3, 1]]), np.zeros((1, 5))).tolist()
    [[0.0, 0.0, -inf, 0.0, 0.0]]
    """

    def __init__(self, ngram_size: int):
        self.ngram_size = rules.positive_int("NoRepeatNGramLogitsProcessor", "ngram_size", ngram_size)

    def process(self, input_ids, scores):
        xp = array_namespace(scores)
        (B, T), V, n = input_ids.shape, scores.shape[-1], self.ngram_size
        ids = backend.to_numpy(input_ids)                                      # (B, T) on the host
        rules.token_ids("NoRepeatNGramLogitsProcessor", "input_ids", ids)      # >= 0; ids >= V are skipped, as in HF
        banned = backend.host_full((B, V), False, dtype="bool")                # (B, V) on the host
        for b, tokens in enumerate(ids.tolist()):
            prefix = tokens[T - n + 1:]                                        # the last n-1 tokens
            for i in range(T - n + 1):                                         # every complete n-gram tokens[i:i+n]
                if tokens[i:i + n - 1] == prefix and 0 <= tokens[i + n - 1] < V:
                    banned[b, tokens[i + n - 1]] = True
        return xp.where(backend.asarray_like(banned, scores), -math.inf, scores)


class SuppressTokensLogitsProcessor(LogitsProcessor):
    """Never generate the tokens in ``suppress_tokens``: their scores become -inf.

    >>> import numpy as np
    >>> SuppressTokensLogitsProcessor([0, 2])(np.array([[1]]), np.zeros((1, 3))).tolist()
    [[-inf, 0.0, -inf]]
    """

    def __init__(self, suppress_tokens):
        tokens = list(suppress_tokens) if isinstance(suppress_tokens, (set, frozenset, range)) else suppress_tokens
        ok = isinstance(tokens, (list, tuple)) and all(map(_is_id, tokens))
        rules.require(ok, "SuppressTokensLogitsProcessor", "suppress_tokens", "a list of token ids", repr(tokens))
        self.suppress_tokens = [int(t) for t in tokens]

    def process(self, input_ids, scores):
        xp = array_namespace(scores)
        return xp.where(_token_mask(self.suppress_tokens, scores.shape[-1], scores), -math.inf, scores)


class NoBadWordsLogitsProcessor(LogitsProcessor):
    """Never generate the token sequences in ``bad_words_ids`` (a list of lists of token ids).

    A one-token sequence ``[w]`` is always banned. A longer one ``[w1, ..., wk]`` bans
    ``wk`` in the rows whose ``input_ids`` end with ``w1, ..., w(k-1)`` (so a bad
    word can still start, but never be completed). One-token sequences equal to an
    ``eos_token_id`` are not banned, as in Hugging Face.

    >>> import numpy as np
    >>> ban = NoBadWordsLogitsProcessor([[3], [1, 2]])
    >>> ban(np.array([[0, 1], [1, 0]]), np.zeros((2, 4))).tolist()
    [[0.0, 0.0, -inf, -inf], [0.0, 0.0, 0.0, -inf]]
    """

    def __init__(self, bad_words_ids, eos_token_id=None):
        fn = "NoBadWordsLogitsProcessor"
        ok = isinstance(bad_words_ids, list) and bad_words_ids and all(
            isinstance(seq, list) and seq and all(map(_is_id, seq)) for seq in bad_words_ids)
        rules.require(ok, fn, "bad_words_ids", "a non-empty list of non-empty lists of token ids", bad_words_ids)
        eos = [] if eos_token_id is None else [eos_token_id] if rules.is_int(eos_token_id) else eos_token_id
        ok = isinstance(eos, (list, tuple)) and all(map(_is_id, eos))
        rules.require(ok, fn, "eos_token_id", "a token id, a list of them, or None", rules.describe(eos_token_id))
        self.bad_words_ids = [[int(t) for t in seq] for seq in bad_words_ids if not (len(seq) == 1 and seq[0] in eos)]
        self.eos_token_id = eos_token_id

    def process(self, input_ids, scores):
        xp = array_namespace(scores)
        (B, T), V = input_ids.shape, scores.shape[-1]
        _in_vocabulary("NoBadWordsLogitsProcessor", "bad_words_ids", [t for seq in self.bad_words_ids for t in seq], V)
        singles = [seq[0] for seq in self.bad_words_ids if len(seq) == 1]
        banned = xp.broadcast_to(_token_mask(singles, V, scores), (B, V))      # (B, V)
        vocab = xp.arange(V, device=device_of(scores))                         # (V,)
        for *prefix, last in (seq for seq in self.bad_words_ids if len(seq) > 1):
            if len(prefix) > T:                                                # too few tokens to end with prefix
                continue
            ends_with_prefix = xp.all(input_ids[:, T - len(prefix):] == backend.asarray_like(prefix, input_ids),
                                      axis=-1)                                 # (B,)
            banned = banned | (ends_with_prefix[:, None] & (vocab == last))   # (B, V)
        return xp.where(banned, -math.inf, scores)
