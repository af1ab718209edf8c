"""BLEU (Papineni et al., 2002), written out step by step, scoring as sacreBLEU does.

BLEU compares a system's output (the hypotheses) with one or more human
translations (the references) by counting shared n-grams:

    p_n  = sum_i  sum_{g in ngrams_n(hyp_i)} min(count_hyp_i(g), max_k count_ref_ki(g))
           ---------------------------------------------------------------------------    (clipped precision)
           sum_i  |ngrams_n(hyp_i)|

    BP   = 1                 if c >= r          (brevity penalty; c = hypothesis length,
         = exp(1 - r / c)    if 0 < c < r        r = sum over sentences of the reference
         = 0                 if c == 0           length closest to the hypothesis length)

    BLEU = 100 * BP * exp( (1/N) * sum_{n=1..N} log p_n )      (N = max_ngram_order, 4)

Counts are summed over the whole corpus before dividing, so corpus BLEU is not the
mean of sentence BLEUs. Shapes of the arguments follow sacreBLEU:

    hypotheses[i]        the system output for sentence i              (I strings)
    references[k][i]     the k-th reference for sentence i             (K streams of I strings)

Tokenisation is sacreBLEU's ``tokenize="none"``: split on whitespace. Tokenise (or
detokenise) the text yourself first if you want the standard "13a" numbers.

Smoothing (Chen and Cherry, 2014) only changes orders whose clipped count is 0:

- ``"none"``:  p_n = 0, hence BLEU = 0;
- ``"floor"``: p_n = smooth_value / total_n                    (smooth_value default 0.1);
- ``"add-k"``: p_n = (m_n + k) / (total_n + k) for every n >= 2  (k = smooth_value, default 1);
- ``"exp"``:   the j-th order with no match gets p_n = 1 / (2^j * total_n)   (NIST, the default).

>>> round(corpus_bleu(["the cat sat on the mat"], [["the cat sat on the mat"]]).score, 6)  # exp(log 100), as sacreBLEU
100.0
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from .. import rules

__all__ = ["BLEUScore", "corpus_bleu", "sentence_bleu", "bleu_from_stats"]

# smooth_value used when the caller passes None (sacreBLEU's SMOOTH_DEFAULTS)
SMOOTH_DEFAULTS = {"none": None, "floor": 0.1, "add-k": 1, "exp": None}


@dataclass
class BLEUScore:
    """The corpus BLEU and the statistics it was computed from.

    - ``score``: BLEU on the 0-100 scale;
    - ``counts[n-1]``: clipped n-gram matches m_n, summed over the corpus (before any add-k);
    - ``totals[n-1]``: n-grams in the hypotheses, summed over the corpus (before any add-k);
    - ``precisions[n-1]``: 100 * p_n after smoothing (0.0 for the orders not reached);
    - ``bp``: the brevity penalty; ``sys_len`` = c and ``ref_len`` = r, in tokens.

    >>> print(BLEUScore(100.0, [3, 2, 1, 0], [3, 2, 1, 0], [100.0, 100.0, 100.0, 0.0], 1.0, 3, 3))
    BLEU = 100.00 100.0/100.0/100.0/0.0 (BP = 1.000 ratio = 1.000 hyp_len = 3 ref_len = 3)
    """

    score: float
    counts: list[int]
    totals: list[int]
    precisions: list[float]
    bp: float
    sys_len: int
    ref_len: int

    @property
    def ratio(self) -> float:
        """Hypothesis length over reference length, c / r (0 when r = 0)."""
        return self.sys_len / self.ref_len if self.ref_len else 0.0

    def __str__(self) -> str:
        precisions = "/".join(f"{p:.1f}" for p in self.precisions)
        return (f"BLEU = {self.score:.2f} {precisions} (BP = {self.bp:.3f} ratio = {self.ratio:.3f} "
                f"hyp_len = {self.sys_len:d} ref_len = {self.ref_len:d})")


# --------------------------------------------------------------------------- argument checks

def _options(fn: str, smooth_method, smooth_value, max_ngram_order):
    """The scoring options, checked; ``smooth_value`` with its default filled in."""
    rules.choice(fn, "smooth_method", smooth_method, list(SMOOTH_DEFAULTS))
    rules.positive_int(fn, "max_ngram_order", max_ngram_order)
    smooth_value = rules.real(fn, "smooth_value", smooth_value, 0, optional=True)
    return SMOOTH_DEFAULTS[smooth_method] if smooth_value is None else smooth_value


# --------------------------------------------------------------------------- counting

def _tokenize(text: str, lowercase: bool) -> list[str]:
    """sacreBLEU's ``tokenize="none"``: (lowercase, then) split on whitespace."""
    return (text.lower() if lowercase else text).split()


def _ngrams(tokens: list[str], max_order: int) -> Counter:
    """Count every n-gram of ``tokens`` for n = 1..max_order, as tuples of tokens.

    >>> _ngrams(["a", "b", "a"], 2)
    Counter({('a',): 2, ('b',): 1, ('a', 'b'): 1, ('b', 'a'): 1})
    """
    counts = Counter()
    for n in range(1, max_order + 1):
        for start in range(len(tokens) - n + 1):
            counts[tuple(tokens[start:start + n])] += 1
    return counts


def _closest_ref_len(hyp_len: int, ref_lens: list[int]) -> int:
    """The reference length nearest to ``hyp_len``; on a tie, the shorter one.

    >>> _closest_ref_len(5, [3, 7, 9])
    3
    """
    return min(ref_lens, key=lambda ref_len: (abs(hyp_len - ref_len), ref_len))


def _segment_stats(hyp: list[str], refs: list[list[str]], max_order: int):
    """Sufficient statistics of one sentence: (c_i, r_i, matches[n-1], totals[n-1])."""
    # 1. clip counts: each n-gram may match at most as often as in the reference that has it most
    ref_max = Counter()
    for ref in refs:
        for gram, count in _ngrams(ref, max_order).items():
            ref_max[gram] = max(ref_max[gram], count)

    # 2. count hypothesis n-grams per order, and how many of them the references cover
    matches = [0] * max_order
    totals = [0] * max_order
    for gram, count in _ngrams(hyp, max_order).items():
        n = len(gram)
        totals[n - 1] += count
        matches[n - 1] += min(count, ref_max[gram])

    # 3. lengths: the hypothesis, and the reference closest to it
    ref_len = _closest_ref_len(len(hyp), [len(ref) for ref in refs])
    return len(hyp), ref_len, matches, totals


def bleu_from_stats(counts, totals, sys_len: int, ref_len: int, *, smooth_method: str = "exp",
                    smooth_value=None, use_effective_order: bool = False, max_ngram_order: int = 4) -> BLEUScore:
    """BLEU from corpus totals: m_n = ``counts[n-1]``, total_n = ``totals[n-1]``, c, r.

    With ``use_effective_order``, the mean runs over N' = the orders n with
    total_n > 0 (after add-k) instead of all N, so that a short sentence is not
    scored 0 just because it has no 4-grams.

    >>> round(bleu_from_stats([5, 3, 2, 1], [6, 5, 4, 3], 6, 6, smooth_method="none").score, 4)  # 100 * (1/12)^(1/4)
    53.7285
    """
    smooth_value = _options("bleu_from_stats", smooth_method, smooth_value, max_ngram_order)
    N = max_ngram_order
    lengths = f"{len(counts)} and {len(totals)}"
    rules.require(len(counts) == len(totals) == N, "bleu_from_stats", "counts and totals", f"{N} entries each", lengths)

    # 1. brevity penalty
    if sys_len >= ref_len:
        bp = 1.0
    elif sys_len == 0:
        bp = 0.0
    else:
        bp = math.exp(1 - ref_len / sys_len)

    # 2. no match of any order: BLEU is 0, whatever the smoothing
    precisions = [0.0] * N
    if not any(counts):
        return BLEUScore(0.0, list(counts), list(totals), precisions, bp, sys_len, ref_len)

    # 3. smoothed precisions, in percent; stop at the first order with no n-grams at all
    used_orders = N
    unmatched_orders = 0                 # for "exp": the j-th order without a match gets 1 / 2^j
    for n in range(1, N + 1):
        m, total = counts[n - 1], totals[n - 1]
        if smooth_method == "add-k" and n > 1:
            m, total = m + smooth_value, total + smooth_value
        if total == 0:
            break
        if use_effective_order:
            used_orders = n
        if m > 0:
            precisions[n - 1] = 100.0 * m / total
        elif smooth_method == "exp":
            unmatched_orders += 1
            precisions[n - 1] = 100.0 / (2.0 ** unmatched_orders * total)
        elif smooth_method == "floor":
            precisions[n - 1] = 100.0 * smooth_value / total
        # "none" (and add-k's unigrams) leave p_n = 0

    # 4. geometric mean of the precisions used, times BP; log 0 = -inf makes it 0
    used = precisions[:used_orders]
    if min(used) == 0.0:
        score = 0.0
    else:
        score = bp * math.exp(sum([math.log(p) for p in used]) / used_orders)
    return BLEUScore(score, list(counts), list(totals), precisions, bp, sys_len, ref_len)


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[Sequence[str]], *, smooth_method: str = "exp",
                smooth_value=None, lowercase: bool = False, use_effective_order: bool = False,
                max_ngram_order: int = 4) -> BLEUScore:
    """Corpus BLEU of ``hypotheses`` against K reference streams, ``references[k][i]``.

    Equal to ``sacrebleu.corpus_bleu(hypotheses, references, tokenize="none", ...)``;
    see the module docstring for the formulas and the smoothing methods.

    >>> hyps = ["the cat sat on a mat", "hello world"]
    >>> refs = [["the cat sat on the mat", "hello world"],          # first reference of each sentence
    ...         ["a cat sat on the mat", "hello there world"]]      # second reference
    >>> print(corpus_bleu(hyps, refs))
    BLEU = 57.74 100.0/66.7/50.0/33.3 (BP = 1.000 ratio = 1.000 hyp_len = 8 ref_len = 8)
    """
    fn = "corpus_bleu"
    rules.strings(fn, "hypotheses", hypotheses, nonempty=True)
    ok = isinstance(references, (list, tuple)) and len(references) > 0
    error = TypeError if isinstance(references, str) else ValueError
    streams = "a non-empty list of reference streams ([references] for one reference per hypothesis)"
    rules.require(ok, fn, "references", streams, rules.describe(references), error)
    for k, stream in enumerate(references):
        rules.strings(fn, f"references[{k}]", stream)
        lengths = f"{len(hypotheses)} hypotheses, but {len(stream)} references"
        rules.require(len(stream) == len(hypotheses), fn, f"references[{k}]", "one reference per hypothesis", lengths)
    smooth_value = _options(fn, smooth_method, smooth_value, max_ngram_order)

    # sum the per-sentence statistics over the corpus
    sys_len = ref_len = 0
    counts = [0] * max_ngram_order
    totals = [0] * max_ngram_order
    for i, hyp in enumerate(hypotheses):
        refs = [_tokenize(stream[i], lowercase) for stream in references]
        c, r, m, t = _segment_stats(_tokenize(hyp, lowercase), refs, max_ngram_order)
        sys_len, ref_len = sys_len + c, ref_len + r
        counts = [a + b for a, b in zip(counts, m)]
        totals = [a + b for a, b in zip(totals, t)]

    return bleu_from_stats(counts, totals, sys_len, ref_len, smooth_method=smooth_method,
                           smooth_value=smooth_value, use_effective_order=use_effective_order,
                           max_ngram_order=max_ngram_order)


def sentence_bleu(hypothesis: str, references: Sequence[str], *, smooth_method: str = "exp",
                  smooth_value=None, lowercase: bool = False, use_effective_order: bool = True,
                  max_ngram_order: int = 4) -> BLEUScore:
    """BLEU of one ``hypothesis`` against its references (a list of strings).

    The corpus BLEU of a one-sentence corpus, except that ``use_effective_order``
    defaults to True, as in ``sacrebleu.sentence_bleu``. BLEU is a corpus metric:
    averaging sentence scores does not give the corpus score.

    Here p_1 = 2/2, p_2 = 0/1 -> 1/2 ("exp"), N' = 2 and BP = exp(1 - 3/2):

    >>> round(sentence_bleu("hello world", ["hello there world"]).score, 4)  # 100 * sqrt(1/2) * exp(-1/2)
    42.8882
    """
    rules.instance("sentence_bleu", "hypothesis", hypothesis, str, "a string")
    rules.strings("sentence_bleu", "references", references, nonempty=True)
    return corpus_bleu([hypothesis], [[ref] for ref in references], smooth_method=smooth_method,
                       smooth_value=smooth_value, lowercase=lowercase,
                       use_effective_order=use_effective_order, max_ngram_order=max_ngram_order)
