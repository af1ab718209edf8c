"""Language-model metrics from the mean cross-entropy loss, and exact match.

A language model's loss is the mean negative log-likelihood per token, in nats
(natural log), over T predicted tokens:

    L = -(1/T) * sum_t log p(x_t | x_<t)

Everything here is a change of units of that one number:

    perplexity      = exp(L)                      (the effective number of equally likely choices)
    bits per token  = L / ln 2
    bits per char   = L / (ln 2 * chars_per_token)   (characters per token over the same text)

A uniform guess over a vocabulary of V tokens has L = ln V, perplexity V and
log2 V bits per token, a useful first sanity check of a fresh model.

>>> round(perplexity(math.log(65)), 6)      # uniform over 65 characters
65.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .. import rules

__all__ = ["perplexity", "bits_per_token", "bits_per_char", "exact_match"]

# math.exp overflows a float64 just above this (log of the largest float, 709.78...)
_MAX_EXP_ARG = math.log(1.7976931348623157e308)


def _as_loss(fn: str, loss_nats) -> float:
    """The loss as a Python float: a real number, a 0-d array or a 0-d minigen Tensor."""
    ok = not isinstance(loss_nats, (bool, str, bytes)) and getattr(loss_nats, "ndim", 0) == 0   # NumPy < 2.4 floats
    ok = ok and hasattr(loss_nats, "__float__")                                                # a 1-element array
    expected = "a real number (a float, a 0-d array or a 0-d tensor; average per-token losses first)"
    rules.require(ok, fn, "loss_nats", expected, rules.describe(loss_nats), TypeError)
    return float(loss_nats)


def perplexity(loss_nats) -> float:
    """Perplexity exp(L) of a mean loss ``L`` in nats; ``math.inf`` where exp overflows.

    Above L = ln(float max) = 709.78 the float64 result overflows, so it returns
    inf (with no warning or exception), as it does for L = inf. NaN stays NaN.

    >>> perplexity(0.0)
    1.0
    >>> perplexity(1e4)
    inf
    """
    loss = _as_loss("perplexity", loss_nats)
    if loss > _MAX_EXP_ARG:
        return math.inf
    return math.exp(loss)


def bits_per_token(loss_nats) -> float:
    """Bits per token, L / ln 2, of a mean loss ``L`` in nats.

    >>> bits_per_token(math.log(2))
    1.0
    """
    return _as_loss("bits_per_token", loss_nats) / math.log(2)


def bits_per_char(loss_nats, chars_per_token: float = 1.0) -> float:
    """Bits per character, L / (ln 2 * chars_per_token), of a mean per-token loss ``L``.

    For a character-level model keep ``chars_per_token = 1``; for a word or
    sub-word model pass the number of characters of the evaluation text over its
    number of tokens, so that models with different tokenisers compare fairly.

    >>> bits_per_char(math.log(2) * 4, chars_per_token=4.0)
    1.0
    """
    loss = _as_loss("bits_per_char", loss_nats)
    chars_per_token = rules.real("bits_per_char", "chars_per_token", chars_per_token, 0, lo_open=True)
    return loss / (math.log(2) * chars_per_token)


def exact_match(predictions: Sequence[str], targets: Sequence[str]) -> float:
    """The fraction of predictions equal to their target string:

        EM = (1/I) * sum_i [predictions[i] == targets[i]]

    Strings are compared as they are: strip or lowercase them first if the task
    should ignore spacing or case.

    >>> exact_match(["abc", "cab", "bca"], ["abc", "abc", "bca"])
    0.6666666666666666
    """
    rules.strings("exact_match", "predictions", predictions, nonempty=True)
    rules.strings("exact_match", "targets", targets)
    lengths = f"{len(targets)} targets for {len(predictions)} predictions"
    rules.require(len(predictions) == len(targets), "exact_match", "targets", "as long as predictions", lengths)
    return sum(p == t for p, t in zip(predictions, targets)) / len(predictions)
