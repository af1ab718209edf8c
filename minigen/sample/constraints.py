"""Length, forcing and hygiene processors: when EOS may come, which token must come, and clean scores.

- ``MinLengthLogitsProcessor`` / ``MinNewTokensLengthLogitsProcessor``: no EOS before a
  minimum length (of the whole row, or of the new tokens only).
- ``ForcedBOSTokenLogitsProcessor`` / ``ForcedEOSTokenLogitsProcessor``: the first
  generated token, or the last one before ``max_length``, is forced.
- ``ExponentialDecayLengthPenalty``: past a start index, EOS grows more likely at
  every step, a soft length limit.
- ``SequenceBiasLogitsProcessor``: add a bias to the token that would complete a given
  token sequence.
- ``PrefixConstrainedLogitsProcessor``: a Python function lists the allowed tokens of
  every row.
- ``InfNanRemoveLogitsProcessor`` / ``LogitNormalization``: replace NaN and +-inf,
  and renormalise the scores into log-probabilities.

Shapes: B = batch, T = tokens so far, V = vocabulary. As in ``processors.py``, each
``process(input_ids, scores)`` returns new scores (B, V) and never edits in place; a
processor that has nothing to do at this step returns a copy. The lengths these
processors test are ``T = input_ids.shape[-1]``, which the host knows without looking
at the ids. Only ``SequenceBiasLogitsProcessor`` compares ids (on the device) and
``PrefixConstrainedLogitsProcessor`` copies them to the host, for the user's function.
"""

from __future__ import annotations

import math

from .. import backend, rules
from ..backend import array_namespace, device_of
from ..kernels.softmax import log_softmax_forward
from .penalties import _in_vocabulary, _is_id, _token_mask
from .processors import LogitsProcessor

__all__ = ["MinLengthLogitsProcessor", "MinNewTokensLengthLogitsProcessor", "ForcedBOSTokenLogitsProcessor",
           "ForcedEOSTokenLogitsProcessor", "ExponentialDecayLengthPenalty", "SequenceBiasLogitsProcessor",
           "PrefixConstrainedLogitsProcessor", "InfNanRemoveLogitsProcessor", "LogitNormalization"]


def _eos_ids(fn: str, eos_token_id) -> list[int]:
    """``eos_token_id`` (an id, or a list of them, as in Hugging Face) as a non-empty list of Python ints."""
    ids = [eos_token_id] if rules.is_int(eos_token_id) else eos_token_id
    ok = isinstance(ids, (list, tuple)) and len(ids) > 0 and all(map(_is_id, ids))
    rules.require(ok, fn, "eos_token_id", "a token id >= 0 or a non-empty list of them", rules.describe(eos_token_id))
    return [int(t) for t in ids]


def _copy(scores):
    """A new array equal to ``scores``: what a processor returns when it has nothing to do at this step."""
    return array_namespace(scores).asarray(scores, copy=True)


def _force(ids, scores):
    """Every score -inf except those of ``ids`` (a list), which are 0: only these tokens can be picked."""
    xp = array_namespace(scores)
    forced = _token_mask(ids, scores.shape[-1], scores)                      # (V,)
    return xp.where(forced, 0.0, xp.full_like(scores, -math.inf))           # (B, V)


def _power(base: float, exponent: int) -> float:
    """``base ** exponent`` as a Python float, inf where it overflows (Python raises OverflowError there)."""
    try:
        return base ** exponent
    except OverflowError:
        return math.inf


# --------------------------------------------------------------------------- minimum lengths

class MinLengthLogitsProcessor(LogitsProcessor):
    """No EOS before ``min_length`` tokens: while ``T < min_length``, the EOS scores are -inf.

    The length counts the prompt (decoder-only models); ``eos_token_id`` is an id or a
    list of ids, and ids >= V are ignored, as in Hugging Face.

    >>> import numpy as np
    >>> MinLengthLogitsProcessor(3, eos_token_id=0)(np.array([[5, 6]]), np.zeros((1, 3))).tolist()
    [[-inf, 0.0, 0.0]]
    """

    def __init__(self, min_length: int, eos_token_id):
        self.min_length = rules.non_negative_int("MinLengthLogitsProcessor", "min_length", min_length)
        self.eos_token_id = _eos_ids("MinLengthLogitsProcessor", eos_token_id)

    def process(self, input_ids, scores):
        if input_ids.shape[-1] >= self.min_length:
            return _copy(scores)
        xp = array_namespace(scores)
        return xp.where(_token_mask(self.eos_token_id, scores.shape[-1], scores), -math.inf, scores)


class MinNewTokensLengthLogitsProcessor(LogitsProcessor):
    """No EOS before ``min_new_tokens`` new tokens: while ``T - prompt_length_to_skip < min_new_tokens``.

    The same rule as ``MinLengthLogitsProcessor``, with the prompt's length
    (``prompt_length_to_skip``) left out of the count.

    >>> import numpy as np
    >>> ban = MinNewTokensLengthLogitsProcessor(2, min_new_tokens=1, eos_token_id=[0, 2])
    >>> ban(np.array([[5, 6]]), np.zeros((1, 3))).tolist()
    [[-inf, 0.0, -inf]]
    """

    def __init__(self, prompt_length_to_skip: int, min_new_tokens: int, eos_token_id):
        fn = "MinNewTokensLengthLogitsProcessor"
        self.prompt_length_to_skip = rules.non_negative_int(fn, "prompt_length_to_skip", prompt_length_to_skip)
        self.min_new_tokens = rules.non_negative_int(fn, "min_new_tokens", min_new_tokens)
        self.eos_token_id = _eos_ids(fn, eos_token_id)

    def process(self, input_ids, scores):
        if input_ids.shape[-1] - self.prompt_length_to_skip >= self.min_new_tokens:
            return _copy(scores)
        xp = array_namespace(scores)
        return xp.where(_token_mask(self.eos_token_id, scores.shape[-1], scores), -math.inf, scores)


# --------------------------------------------------------------------------- forced tokens

class ForcedBOSTokenLogitsProcessor(LogitsProcessor):
    """Force ``bos_token_id`` as the first generated token: when ``T == 1``, it scores 0 and every other -inf.

    ``T == 1`` is the step after the decoder's start token (encoder-decoder models).

    >>> import numpy as np
    >>> ForcedBOSTokenLogitsProcessor(2)(np.array([[0]]), np.ones((1, 3))).tolist()
    [[-inf, -inf, 0.0]]
    """

    def __init__(self, bos_token_id: int):
        rules.require(_is_id(bos_token_id), "ForcedBOSTokenLogitsProcessor", "bos_token_id", "a token id >= 0",
                      rules.describe(bos_token_id))
        self.bos_token_id = int(bos_token_id)

    def process(self, input_ids, scores):
        if input_ids.shape[-1] != 1:
            return _copy(scores)
        _in_vocabulary("ForcedBOSTokenLogitsProcessor", "bos_token_id", [self.bos_token_id], scores.shape[-1])
        return _force([self.bos_token_id], scores)


class ForcedEOSTokenLogitsProcessor(LogitsProcessor):
    """Force EOS as the last token: when ``T == max_length - 1``, the EOS ids score 0 and every other -inf.

    >>> import numpy as np
    >>> ForcedEOSTokenLogitsProcessor(3, eos_token_id=0)(np.array([[1, 2]]), np.ones((1, 3))).tolist()
    [[0.0, -inf, -inf]]
    """

    def __init__(self, max_length: int, eos_token_id):
        self.max_length = rules.positive_int("ForcedEOSTokenLogitsProcessor", "max_length", max_length)
        self.eos_token_id = _eos_ids("ForcedEOSTokenLogitsProcessor", eos_token_id)

    def process(self, input_ids, scores):
        if input_ids.shape[-1] != self.max_length - 1:
            return _copy(scores)
        _in_vocabulary("ForcedEOSTokenLogitsProcessor", "eos_token_id", self.eos_token_id, scores.shape[-1])
        return _force(self.eos_token_id, scores)


# --------------------------------------------------------------------------- a soft length limit

class ExponentialDecayLengthPenalty(LogitsProcessor):
    """Past a start index, raise the EOS scores exponentially: a soft limit instead of a hard cut.

    ``exponential_decay_length_penalty = (start_index, decay_factor)``; the penalty
    starts at ``regulation_start = start_index + input_ids_seq_length`` (the prompt's
    length). With ``k = T - regulation_start``, for k > 0 every finite EOS score s
    becomes::

        s + |s| * (decay_factor^k - 1)        # s * decay_factor^k when s > 0

    which grows with k when ``decay_factor > 1`` (a negative s too: |s| is used so
    that the sign does not flip the direction); ``decay_factor < 1`` lowers the EOS
    scores instead (Hugging Face accepts it too). -inf and NaN EOS scores are left
    as they are.

    Where ``decay_factor^k`` leaves the floating range (Hugging Face raises Python's
    OverflowError, or the score becomes inf and softmax NaN), the added term is
    saturated at half the dtype's largest value: EOS then takes all the mass.

    >>> import numpy as np
    >>> decay = ExponentialDecayLengthPenalty((1, 2.0), eos_token_id=0, input_ids_seq_length=1)
    >>> decay(np.array([[7, 7, 7, 7]]), np.array([[1.5, 1.0]])).tolist()         # k = 4 - 2: 1.5 * 2^2
    [[6.0, 1.0]]
    """

    def __init__(self, exponential_decay_length_penalty, eos_token_id, input_ids_seq_length: int):
        fn = "ExponentialDecayLengthPenalty"
        pair = exponential_decay_length_penalty
        ok = isinstance(pair, (tuple, list)) and len(pair) == 2 and _is_id(pair[0]) and rules.is_real(pair[1]) \
            and math.isfinite(pair[1]) and pair[1] > 0
        rules.require(ok, fn, "exponential_decay_length_penalty", "a pair (start_index, decay_factor) with an integer "
                      "start_index >= 0 and a finite decay_factor > 0", rules.describe(pair))
        length = rules.non_negative_int(fn, "input_ids_seq_length", input_ids_seq_length)
        self.regulation_start = int(pair[0]) + length
        self.regulation_factor = float(pair[1])
        self.eos_token_id = _eos_ids(fn, eos_token_id)

    def process(self, input_ids, scores):
        k = input_ids.shape[-1] - self.regulation_start
        if k <= 0:
            return _copy(scores)
        _in_vocabulary("ExponentialDecayLengthPenalty", "eos_token_id", self.eos_token_id, scores.shape[-1])
        xp = array_namespace(scores)
        half_max = float(xp.finfo(scores.dtype).max) / 2
        growth = min(_power(self.regulation_factor, k) - 1, half_max)         # factor^k - 1, in (-1, half_max]
        size = xp.clip(xp.abs(scores), max=half_max / max(abs(growth), 1.0))  # |s|, so that |s| * growth is finite
        eos = _token_mask(self.eos_token_id, scores.shape[-1], scores) & xp.isfinite(scores)    # (B, V)
        return scores + xp.where(eos, size * growth, 0.0)


# --------------------------------------------------------------------------- biases and constraints

def _sequence_bias(fn: str, sequence_bias) -> dict:
    """``sequence_bias`` as ``{tuple of ids: float}``, from Hugging Face's list ``[[ids, bias], ...]`` or its dict."""
    name, given = "sequence_bias", rules.describe(sequence_bias)
    ok = isinstance(sequence_bias, (list, dict)) and len(sequence_bias) > 0
    rules.require(ok, fn, name, "a non-empty list of [token_ids, bias] pairs (or a dict {tuple of ids: bias})", given)
    if isinstance(sequence_bias, dict):
        pairs = list(sequence_bias.items())
        rules.require(all(isinstance(k, tuple) for k, _ in pairs), fn, name, "a dict with tuples of ids as keys", given)
    else:
        ok = all(isinstance(pair, (list, tuple)) and len(pair) == 2 for pair in sequence_bias)
        rules.require(ok, fn, name, "a list of [token_ids, bias] pairs", given)
        pairs = [(pair[0], pair[1]) for pair in sequence_bias]
    for ids, bias in pairs:
        ok = isinstance(ids, (list, tuple)) and len(ids) > 0 and all(map(_is_id, ids))
        rules.require(ok, fn, name, "made of non-empty sequences of token ids >= 0", rules.describe(ids))
        ok = rules.is_real(bias) and not math.isnan(bias)
        rules.require(ok, fn, name, "made of biases that are numbers (not NaN)", rules.describe(bias))
    return {tuple(int(t) for t in ids): float(bias) for ids, bias in pairs}     # a repeated sequence: the last wins


class SequenceBiasLogitsProcessor(LogitsProcessor):
    """Add a bias to the token that would complete a given token sequence.

    ``sequence_bias`` is a list of ``[token_ids, bias]`` pairs (or, as Hugging Face
    still accepts, a dict ``{tuple(token_ids): bias}``). For a sequence
    ``[w1, ..., wk]``, ``bias`` is added to the score of ``wk`` in every row whose
    ``input_ids`` end with ``w1, ..., w(k-1)`` (always, for a one-token sequence).
    Biases of several sequences that end on the same token add up; -inf bans the
    sequence (as ``NoBadWordsLogitsProcessor`` does).

    >>> import numpy as np
    >>> bias = SequenceBiasLogitsProcessor([[[2], 1.0], [[0, 1], -5.0]])
    >>> bias(np.array([[3, 0], [0, 3]]), np.zeros((2, 3))).tolist()
    [[0.0, -5.0, 1.0], [0.0, 0.0, 1.0]]
    """

    def __init__(self, sequence_bias):
        self.sequence_bias = _sequence_bias("SequenceBiasLogitsProcessor", sequence_bias)

    def process(self, input_ids, scores):
        xp = array_namespace(scores)
        (B, T), V = input_ids.shape, scores.shape[-1]
        _in_vocabulary("SequenceBiasLogitsProcessor", "sequence_bias", [t for s in self.sequence_bias for t in s], V)
        vocab = xp.arange(V, device=device_of(scores))                         # (V,)
        bias = xp.zeros_like(scores)                                           # (B, V)
        for (*prefix, last), value in self.sequence_bias.items():
            if len(prefix) > T:                                                # too few tokens to end with prefix
                continue
            hit = vocab == last                                                # (V,)
            if prefix:
                tail = input_ids[:, T - len(prefix):]                          # (B, k-1): the last k-1 ids
                ends_with_prefix = xp.all(tail == backend.asarray_like(prefix, input_ids), axis=-1)   # (B,)
                hit = ends_with_prefix[:, None] & hit                          # (B, V)
            bias = xp.where(hit, bias + value, bias)
        return scores + bias


class PrefixConstrainedLogitsProcessor(LogitsProcessor):
    """Allow only the tokens that ``prefix_allowed_tokens_fn(batch_id, ids)`` lists for each row.

    The rows are ``num_beams`` consecutive rows per prompt: row r belongs to prompt
    ``batch_id = r // num_beams``. ``ids`` is that row's ``input_ids``, copied to the
    host as a 1-D NumPy array (the function is Python code). The allowed tokens keep
    their scores, every other becomes -inf. When every allowed token of every beam
    of a prompt already scores -inf, the allowed tokens get 0 instead, so that the
    constraint can still be met. An empty list is an error (the constraint cannot be
    met), as in Hugging Face.

    >>> import numpy as np
    >>> only_even = PrefixConstrainedLogitsProcessor(lambda batch_id, ids: [0, 2], num_beams=1)
    >>> only_even(np.array([[1]]), np.ones((1, 4))).tolist()
    [[1.0, -inf, 1.0, -inf]]
    """

    def __init__(self, prefix_allowed_tokens_fn, num_beams: int):
        fn = "PrefixConstrainedLogitsProcessor"
        rules.require(callable(prefix_allowed_tokens_fn), fn, "prefix_allowed_tokens_fn", "a function (batch_id, "
                      "input_ids) -> list of allowed token ids", rules.describe(prefix_allowed_tokens_fn), TypeError)
        self.prefix_allowed_tokens_fn = prefix_allowed_tokens_fn
        self.num_beams = rules.positive_int(fn, "num_beams", num_beams)

    def _allowed(self, input_ids, V: int):
        """A (B, V) host mask, True where the user's function allows the token."""
        fn, (B, _), K = "PrefixConstrainedLogitsProcessor", input_ids.shape, self.num_beams
        rules.require(B % K == 0, fn, "input_ids", f"a batch of rows that num_beams={K} divides", f"{B} rows")
        allowed = backend.host_full((B, V), False, dtype="bool")               # (B, V) on the host
        for row, ids in enumerate(backend.to_numpy(input_ids).copy()):       # a copy: the function may edit it
            batch_id = row // K
            tokens = self.prefix_allowed_tokens_fn(batch_id, ids)
            if backend.is_array(tokens):                                       # a NumPy, CuPy or torch array
                tokens = backend.to_numpy(tokens).tolist()
            elif isinstance(tokens, (tuple, range, set, frozenset)):
                tokens = list(tokens)
            ok = isinstance(tokens, list) and len(tokens) > 0 and all(_is_id(t) and t < V for t in tokens)
            rules.require(ok, fn, "prefix_allowed_tokens_fn", f"a function returning a non-empty list of ids in "
                          f"[0, {V}) (batch_id {batch_id}, row {row})", rules.describe(tokens))
            allowed[row, tokens] = True
        return allowed

    def process(self, input_ids, scores):
        xp = array_namespace(scores)
        B, V = scores.shape
        allowed = backend.asarray_like(self._allowed(input_ids, V), scores)    # (B, V)
        constrained = xp.where(allowed, scores, -math.inf)                     # (B, V)
        dead = xp.max(constrained, axis=-1) == -math.inf                       # (B,): no allowed token is possible
        dead = xp.all(xp.reshape(dead, (B // self.num_beams, self.num_beams)), axis=-1)   # (B / num_beams,)
        dead = xp.reshape(xp.broadcast_to(dead[:, None], (B // self.num_beams, self.num_beams)), (B, 1))  # (B, 1)
        return xp.where(dead, xp.where(allowed, 0.0, xp.full_like(scores, -math.inf)), constrained)


# --------------------------------------------------------------------------- hygiene

class InfNanRemoveLogitsProcessor(LogitsProcessor):
    """Replace NaN by 0, +inf by the dtype's largest value and -inf by its most negative one.

    A last resort, for models whose scores overflow: softmax then returns numbers
    (NaN and +inf would give NaN probabilities). Note that -inf, the filters' "never",
    becomes a very unlikely but finite score.

    >>> import numpy as np
    >>> clean = InfNanRemoveLogitsProcessor()(np.array([[0]]), np.array([[np.nan, np.inf, -np.inf, 1.0]]))
    >>> clean.tolist() == [[0.0, np.finfo(np.float64).max, np.finfo(np.float64).min, 1.0]]
    True
    """

    def process(self, input_ids, scores):
        xp = array_namespace(scores)
        info = xp.finfo(scores.dtype)
        clean = xp.where(xp.isnan(scores), 0.0, scores)
        clean = xp.where(scores == math.inf, float(info.max), clean)
        return xp.where(scores == -math.inf, float(info.min), clean)


class LogitNormalization(LogitsProcessor):
    """Renormalise the scores into log-probabilities: ``log_softmax(scores) = s - log(sum_j exp(s_j))``.

    After the processors, ``exp(scores)`` no longer adds up to 1 (a filter removed
    mass, a bias added some); beam search compares sums of scores across beams, so
    they must be log-probabilities again. A row that is all -inf (no token is
    possible) stays all -inf, where a plain log-softmax gives NaN; a row with NaN or
    +inf gives NaN, as in Hugging Face (``InfNanRemoveLogitsProcessor`` comes first).

    >>> import numpy as np
    >>> out = LogitNormalization()(np.array([[0]]), np.array([[np.log(2.0), np.log(6.0), -np.inf]]))
    >>> np.exp(out).round(12).tolist()
    [[0.25, 0.75, 0.0]]
    """

    def process(self, input_ids, scores):
        xp = array_namespace(scores)
        impossible = xp.all(scores == -math.inf, axis=-1, keepdims=True)      # (B, 1): every token is -inf
        log_p = log_softmax_forward(xp.where(impossible, 0.0, scores), axis=-1)[0]   # (B, V)
        return xp.where(impossible, -math.inf, log_p)
