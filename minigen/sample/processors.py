"""Logits processors: small classes that reshape the next-token scores before a token is picked.

Each processor is called as ``processor(input_ids, scores) -> new_scores`` and never
writes into its inputs. A ``LogitsProcessorList`` chains them, as in Hugging Face's
``generate``::

    processors = LogitsProcessorList([TemperatureLogitsWarper(0.7), TopKLogitsWarper(50), TopPLogitsWarper(0.9)])
    scores = processors(input_ids, logits[:, -1, :])        # (B, V)
    next_ids = sample_next(scores)

Shapes: B = batch, T = tokens so far, V = vocabulary. ``input_ids`` is (B, T) of
integers, ``scores`` is (B, V) of floats, on the same device; every processor checks
this first (shapes, dtypes and device, not the values of the ids: see ``penalties.py``).

The filters ("warpers") here set the tokens they drop to ``filter_value`` (-inf by
default), so that softmax gives them probability 0. They are written with array-API
calls only: there is no scatter in the standard, so instead of writing into sorted
positions and scattering back, each filter finds a per-row threshold in the sorted
scores and compares every score with it. The penalties (repetition, frequency,
presence, n-grams, banned tokens) live in ``penalties.py``.
"""

from __future__ import annotations

import math

from .. import backend, rules
from ..backend import array_namespace, device_of
from ..kernels.softmax import log_softmax_forward, softmax_forward

__all__ = ["LogitsProcessor", "LogitsProcessorList", "TemperatureLogitsWarper", "TopKLogitsWarper",
           "TopPLogitsWarper", "MinPLogitsWarper", "TypicalLogitsWarper", "reweight_distribution", "SCALE"]


# Temperature and repetition penalty are scales: outside [1e-4, 1e4] they overflow the scores (the CLI's bounds too).
SCALE = (1e-4, 1e4)

_SAME_BATCH = "a (batch, length) array with the batch of scores {}"      # formatted only when the rule fails


def _filter_options(fn: str, filter_value, min_tokens_to_keep) -> tuple[float, int]:
    """The two options as Python numbers: a NumPy scalar is no Python scalar to array-API arithmetic."""
    ok = rules.is_real(filter_value) and not math.isnan(filter_value)                   # -inf is the default
    rules.require(ok, fn, "filter_value", "a number that is not NaN", rules.describe(filter_value))
    return float(filter_value), rules.positive_int(fn, "min_tokens_to_keep", min_tokens_to_keep)


def _describe(x) -> str:
    return f"shape {tuple(x.shape)} and dtype {backend._dtype_name(x.dtype)}" if backend.is_array(x) else \
        f"a {type(x).__name__}"


def check_scores(fn: str, name: str, scores) -> None:
    """``scores`` is a floating (batch, vocab) array with vocab >= 1: the processors' and ``sample_next``'s rule."""
    rules.floating_array(fn, name, scores, ("batch", "vocab"))
    rules.require(scores.shape[1] > 0, fn, name, "a (batch, vocab) array with vocab >= 1", scores.shape)


def _softmax(scores):
    return softmax_forward(scores, axis=-1)[0]


# --------------------------------------------------------------------------- the base class and the list

class LogitsProcessor:
    """The base class: ``processor(input_ids, scores)`` checks its inputs, then returns ``self.process(...)``.

    Subclasses define ``process(input_ids, scores)``, which returns new scores (B, V),
    never edits in place, and trusts its inputs: ``generate`` and ``beam_search`` call
    it at every token on inputs they made themselves (``LogitsProcessorList.process``).
    """

    def __call__(self, input_ids, scores):
        """Check ``input_ids`` (an integer (B, T) array) and ``scores`` (a floating (B, V) array), then process.

        Shapes, dtypes and devices only, which the host knows without waiting for the
        device: checking the ids' values would copy them from the device at every
        generated token. (``generate`` checks the prompt's ids once; the ids it adds are
        picked from the scores, so they are in range.)
        """
        fn, scores = type(self).__name__, rules.array_of(scores)
        check_scores(fn, "scores", scores)
        if not (backend.is_array(input_ids) and backend.is_integer(input_ids.dtype)):
            rules.fail(fn, "input_ids", "an integer (batch, length) array of ids", _describe(input_ids), TypeError)
        if input_ids.ndim != 2 or input_ids.shape[0] != scores.shape[0]:
            rules.fail(fn, "input_ids", _SAME_BATCH.format(tuple(scores.shape)), f"shape {tuple(input_ids.shape)}")
        rules.same_device(fn, input_ids=input_ids, scores=scores)
        return self.process(input_ids, scores)

    def process(self, input_ids, scores):
        """The new scores (B, V) for inputs already checked."""
        raise NotImplementedError(f"{type(self).__name__} is an abstract class; subclasses define process")

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class LogitsProcessorList(list):
    """A list of processors applied in order: ``scores = p(input_ids, scores)`` for each ``p``.

    >>> import numpy as np
    >>> chain = LogitsProcessorList([TemperatureLogitsWarper(0.5), TopKLogitsWarper(1)])
    >>> chain(np.array([[0]]), np.array([[1.0, 2.0]])).tolist()
    [[-inf, 4.0]]
    """

    def __call__(self, input_ids, scores):
        for processor in self:
            scores = processor(input_ids, scores)
        return scores

    def process(self, input_ids, scores):
        """The same chain on inputs already checked: a ``LogitsProcessor``'s ``process``, unless it defines its own
        ``__call__`` (as Hugging Face's subclasses do); then, as any other callable, the processor itself."""
        for processor in self:
            step = processor.process if type(processor).__call__ is LogitsProcessor.__call__ else processor
            scores = step(input_ids, scores)
        return scores


# --------------------------------------------------------------------------- warpers

class TemperatureLogitsWarper(LogitsProcessor):
    """Divide the scores by a temperature: ``scores / temperature``.

    softmax(s / tau) is flatter than softmax(s) for tau > 1 and sharper for tau < 1;
    tau -> 0 puts all the mass on the argmax, which is greedy decoding
    (``do_sample=False``), so 0 itself is refused; tau is in [1e-4, 1e4] (``SCALE``).

    >>> import numpy as np
    >>> TemperatureLogitsWarper(0.5)(np.array([[0]]), np.array([[1.0, -2.0]])).tolist()
    [[2.0, -4.0]]
    """

    def __init__(self, temperature: float):
        self.temperature = rules.real("TemperatureLogitsWarper", "temperature", temperature, *SCALE)

    def process(self, input_ids, scores):
        return scores / self.temperature


class TopKLogitsWarper(LogitsProcessor):
    """Keep the ``top_k`` highest scores of each row (at least ``min_tokens_to_keep``); filter the rest.

    The threshold is the k-th largest score; every score below it becomes
    ``filter_value``. Scores tied with the k-th are all kept.

    >>> import numpy as np
    >>> TopKLogitsWarper(2)(np.array([[0]]), np.array([[1.0, 3.0, 2.0, 0.0]])).tolist()
    [[-inf, 3.0, 2.0, -inf]]
    """

    def __init__(self, top_k: int, filter_value: float = -math.inf, min_tokens_to_keep: int = 1):
        top_k = rules.positive_int("TopKLogitsWarper", "top_k", top_k)
        filter_value, min_tokens_to_keep = _filter_options("TopKLogitsWarper", filter_value, min_tokens_to_keep)
        self.top_k = max(int(top_k), min_tokens_to_keep)
        self.filter_value, self.min_tokens_to_keep = filter_value, min_tokens_to_keep

    def process(self, input_ids, scores):
        xp = array_namespace(scores)
        V = scores.shape[-1]
        k = min(self.top_k, V)
        kth = xp.sort(scores, axis=-1)[:, V - k:V - k + 1]                   # (B, 1): the k-th largest score
        return xp.where(scores < kth, self.filter_value, scores)


class TopPLogitsWarper(LogitsProcessor):
    """Nucleus sampling: keep the smallest set of most likely tokens whose probability adds up to ``top_p``.

    Sort each row ascending, take p = softmax, and accumulate from the least likely
    token up: tokens whose cumulative mass is ``<= 1 - top_p`` are dropped, the rest
    (mass ``>= top_p``) kept, and always the ``min_tokens_to_keep`` most likely ones.
    The dropped tokens form a prefix of the sorted row, so the smallest kept score is
    a threshold: every score below it becomes ``filter_value``.

    >>> import numpy as np
    >>> scores = np.log(np.array([[0.5, 0.3, 0.15, 0.05]]))
    >>> np.isfinite(TopPLogitsWarper(0.7)(np.array([[0]]), scores)).tolist()
    [[True, True, False, False]]
    """

    def __init__(self, top_p: float, filter_value: float = -math.inf, min_tokens_to_keep: int = 1):
        top_p = rules.real("TopPLogitsWarper", "top_p", top_p, 0, 1, lo_open=True)
        self.top_p = float(top_p)
        self.filter_value, self.min_tokens_to_keep = _filter_options(type(self).__name__, filter_value,
                                                                     min_tokens_to_keep)

    def process(self, input_ids, scores):
        xp = array_namespace(scores)
        V = scores.shape[-1]
        sorted_scores = xp.sort(scores, axis=-1)                             # (B, V), ascending
        cumulative = xp.cumulative_sum(_softmax(sorted_scores), axis=-1)     # (B, V): mass of this token and all below
        position = xp.arange(V, device=device_of(scores))                    # (V,)
        drop = (cumulative <= 1 - self.top_p) & (position < V - self.min_tokens_to_keep)   # (B, V), a prefix
        threshold = xp.min(xp.where(drop, math.inf, sorted_scores), axis=-1, keepdims=True)  # (B, 1): smallest kept
        return xp.where(scores < threshold, self.filter_value, scores)


class MinPLogitsWarper(LogitsProcessor):
    """Keep the tokens whose probability is at least ``min_p`` times the top token's probability.

    With p = softmax(scores), a token is dropped when ``p < min_p * max(p)``, unless it
    is one of the ``min_tokens_to_keep`` highest scores. A confident model (a large
    max(p)) thus keeps few tokens, an unsure one many.

    >>> import numpy as np
    >>> scores = np.log(np.array([[0.6, 0.3, 0.08, 0.02]]))
    >>> np.isfinite(MinPLogitsWarper(0.1)(np.array([[0]]), scores)).tolist()
    [[True, True, True, False]]
    """

    def __init__(self, min_p: float, filter_value: float = -math.inf, min_tokens_to_keep: int = 1):
        min_p = rules.probability("MinPLogitsWarper", "min_p", min_p)
        self.min_p = float(min_p)
        self.filter_value, self.min_tokens_to_keep = _filter_options(type(self).__name__, filter_value,
                                                                     min_tokens_to_keep)

    def process(self, input_ids, scores):
        xp = array_namespace(scores)
        V = scores.shape[-1]
        p = _softmax(scores)                                                 # (B, V)
        too_unlikely = p < self.min_p * xp.max(p, axis=-1, keepdims=True)    # (B, V)
        k = min(self.min_tokens_to_keep, V)
        kth = xp.max(scores, axis=-1, keepdims=True) if k == 1 else xp.sort(scores, axis=-1)[:, V - k:V - k + 1]
        return xp.where(too_unlikely & (scores < kth), self.filter_value, scores)      # kth: (B, 1), k-th largest


class TypicalLogitsWarper(LogitsProcessor):
    """Locally typical sampling: keep the tokens whose surprisal is closest to the entropy, up to ``mass``.

    With log p = log_softmax(scores) and entropy H = -sum p log p, rank the tokens by
    ``|-log p - H|`` (most typical first) and keep them in that order until their
    probability adds up to ``mass`` (the token that crosses it included), and always
    the ``min_tokens_to_keep`` most typical ones. The most likely token may be
    dropped. The gap of the last kept token is the threshold: every token with a
    larger gap becomes ``filter_value``.

    >>> import numpy as np
    >>> scores = np.log(np.array([[0.4, 0.3, 0.2, 0.1]]))
    >>> np.isfinite(TypicalLogitsWarper(0.45)(np.array([[0]]), scores)).tolist()
    [[False, True, True, False]]
    """

    def __init__(self, mass: float = 0.9, filter_value: float = -math.inf, min_tokens_to_keep: int = 1):
        mass = rules.real("TypicalLogitsWarper", "mass", mass, 0, 1, lo_open=True, hi_open=True)
        self.mass = float(mass)
        self.filter_value, self.min_tokens_to_keep = _filter_options(type(self).__name__, filter_value,
                                                                     min_tokens_to_keep)

    def process(self, input_ids, scores):
        xp = array_namespace(scores)
        V = scores.shape[-1]
        log_p = log_softmax_forward(scores, axis=-1)[0]                      # (B, V)
        p = xp.exp(log_p)
        entropy = -xp.sum(xp.where(p > 0, log_p, 0.0) * p, axis=-1, keepdims=True)   # (B, 1); 0 log 0 = 0
        gap = xp.abs(-log_p - entropy)                                       # (B, V): distance from typical
        order = xp.argsort(gap, axis=-1)                                     # (B, V): most typical first
        sorted_gap = xp.take_along_axis(gap, order, axis=-1)                 # (B, V), ascending
        cumulative = xp.cumulative_sum(xp.take_along_axis(p, order, axis=-1), axis=-1)   # (B, V)
        last = xp.sum(xp.astype(cumulative < self.mass, xp.int64), axis=-1, keepdims=True)   # (B, 1): crosses mass
        last = xp.minimum(xp.maximum(last, min(self.min_tokens_to_keep, V) - 1), V - 1)   # (clip: ~15x slower)
        threshold = xp.take_along_axis(sorted_gap, last, axis=-1)            # (B, 1): gap of the last kept token
        return xp.where(gap > threshold, self.filter_value, scores)


# --------------------------------------------------------------------------- reweighting probabilities

def reweight_distribution(probs, temperature: float = 0.5):
    """Reweight a probability distribution by a temperature: ``p_i^(1/T) / sum_j p_j^(1/T)`` along the last axis.

    This is the function from Chollet's *Deep Learning with Python* (text generation
    with an LSTM), which computes ``exp(log(p) / T)`` and renormalises. Here the
    logarithm is avoided: each row is first divided by its maximum, so
    ``q = (p / max p)^(1/T)`` lies in [0, 1] with the largest entry exactly 1. Then

    - a probability of 0 stays 0 (``0^(1/T) = 0``: no ``log(0)``, no warning);
    - the sum is at least 1, so even a tiny T (where the other entries underflow to
      0) gives a one-hot of the argmax instead of 0 / 0;
    - T = 1 returns the distribution itself, T > 1 flattens it, T < 1 sharpens it.

    Dividing a softmax's logits by T gives the same result: softmax(s / T).

    >>> import numpy as np
    >>> reweight_distribution(np.array([0.5, 0.3, 0.2, 0.0]), temperature=0.5).round(3).tolist()
    [0.658, 0.237, 0.105, 0.0]
    """
    temperature = rules.real("reweight_distribution", "temperature", temperature, 0, lo_open=True)
    xp = array_namespace(probs)
    top = xp.max(probs, axis=-1, keepdims=True)
    q = (probs / xp.where(top > 0, top, 1.0)) ** (1.0 / temperature)        # in [0, 1]; the max becomes 1
    total = xp.sum(q, axis=-1, keepdims=True)                               # >= 1 unless the row is all zeros
    return q / xp.where(total > 0, total, 1.0)
