"""Truncation samplers: drop every token whose probability falls below a cut-off (Hewitt et al., 2022).

- ``EpsilonLogitsWarper``: a fixed cut-off, ``p < epsilon``.
- ``EtaLogitsWarper``: a cut-off that falls as the distribution spreads out,
  ``eta = min(epsilon, sqrt(epsilon) * exp(-H))``, H the entropy of p.

Both are "desmoothing" filters: a language model gives every token some probability,
and the long tail of tiny probabilities is where nonsense comes from. Unlike top-p,
the cut-off is an absolute probability, not a share of the mass.

As the warpers in ``processors.py``: ``process(input_ids, scores)`` returns new scores
(B, V) and never edits in place; a dropped token's score becomes ``filter_value``
(-inf by default); the ``min_tokens_to_keep`` highest scores are always kept; and the
drop is a comparison with a per-row threshold (array-API calls only, no scatter).
Ties at a cut-off are kept: a token with ``p == epsilon`` (or ``== eta``) stays, and so
does every score tied with the ``min_tokens_to_keep``-th largest.
"""

from __future__ import annotations

import math

from .. import rules
from ..backend import array_namespace
from ..kernels.softmax import log_softmax_forward
from .processors import LogitsProcessor, _filter_options, _softmax

__all__ = ["EpsilonLogitsWarper", "EtaLogitsWarper"]


def _epsilon(fn: str, epsilon) -> float:
    """The cut-off as a Python float in the open interval (0, 1): 0 drops nothing, 1 everything."""
    return rules.real(fn, "epsilon", epsilon, 0, 1, lo_open=True, hi_open=True)


def _drop_below(scores, p, cutoff, filter_value: float, min_tokens_to_keep: int):
    """``scores`` with ``filter_value`` where ``p < cutoff``, except the ``min_tokens_to_keep`` highest scores.

    ``p`` is softmax(scores) (B, V); ``cutoff`` a Python float or a (B, 1) array.
    """
    xp = array_namespace(scores)
    V = scores.shape[-1]
    k = min(min_tokens_to_keep, V)
    kth = xp.max(scores, axis=-1, keepdims=True) if k == 1 else xp.sort(scores, axis=-1)[:, V - k:V - k + 1]
    return xp.where((p < cutoff) & (scores < kth), filter_value, scores)          # kth: (B, 1), k-th largest


class EpsilonLogitsWarper(LogitsProcessor):
    """Epsilon sampling: drop the tokens whose probability is below ``epsilon``.

    With p = softmax(scores), a token is dropped when ``p < epsilon``, unless it is
    one of the ``min_tokens_to_keep`` highest scores (so a flat distribution, where
    every p is below epsilon, keeps its best tokens rather than none). Hewitt et al.
    suggest epsilon between 3e-4 and 9e-4 for large vocabularies.

    >>> import numpy as np
    >>> scores = np.log(np.array([[0.6, 0.3, 0.08, 0.02]]))
    >>> np.isfinite(EpsilonLogitsWarper(0.05)(np.array([[0]]), scores)).tolist()
    [[True, True, True, False]]
    """

    def __init__(self, epsilon: float, filter_value: float = -math.inf, min_tokens_to_keep: int = 1):
        self.epsilon = _epsilon("EpsilonLogitsWarper", epsilon)
        self.filter_value, self.min_tokens_to_keep = _filter_options("EpsilonLogitsWarper", filter_value,
                                                                     min_tokens_to_keep)

    def process(self, input_ids, scores):
        return _drop_below(scores, _softmax(scores), self.epsilon, self.filter_value, self.min_tokens_to_keep)


class EtaLogitsWarper(LogitsProcessor):
    """Eta sampling: epsilon sampling with a cut-off that adapts to the entropy of each row.

    With p = softmax(scores) and entropy H = -sum p log p (0 log 0 = 0), the cut-off is

        eta = min(epsilon, sqrt(epsilon) * exp(-H))

    and a token is dropped when ``p < eta``, unless it is one of the
    ``min_tokens_to_keep`` highest scores. A confident row (small H) gets the full
    cut-off epsilon; an unsure one (large H, many plausible tokens) a smaller cut-off,
    so it keeps more of them. (Hugging Face's docstring writes
    ``sqrt(epsilon * exp(-H))``; its code, like the paper, computes the formula above.)

    ``device`` is accepted for Hugging Face's signature and not used: the cut-off is
    computed on the scores' device.

    >>> import numpy as np
    >>> scores = np.log(np.array([[0.01, 0.04, 0.9, 0.05]]))
    >>> np.isfinite(EtaLogitsWarper(0.0625)(np.array([[0]]), scores)).tolist()
    [[False, False, True, False]]
    """

    def __init__(self, epsilon: float, filter_value: float = -math.inf, min_tokens_to_keep: int = 1,
                 device: str = "cpu"):
        self.epsilon = _epsilon("EtaLogitsWarper", epsilon)
        self.filter_value, self.min_tokens_to_keep = _filter_options("EtaLogitsWarper", filter_value,
                                                                     min_tokens_to_keep)
        self.device = device

    def process(self, input_ids, scores):
        xp = array_namespace(scores)
        p, log_p = _softmax(scores), log_softmax_forward(scores, axis=-1)[0]   # (B, V) each
        entropy = -xp.sum(xp.where(p > 0, log_p, 0.0) * p, axis=-1, keepdims=True)   # (B, 1); 0 log 0 = 0
        eta = xp.minimum(xp.exp(-entropy) * math.sqrt(self.epsilon), self.epsilon)     # (B, 1)
        return _drop_below(scores, p, eta, self.filter_value, self.min_tokens_to_keep)
