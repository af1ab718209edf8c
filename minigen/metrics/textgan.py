"""The metrics of the synthetic oracle benchmark (SeqGAN, Texygen): NLL-oracle, NLL-test, BLEU, Self-BLEU.

With a known "true" language model, the oracle (``minigen.models.oracle_lm``), a
generator G is scored both ways round, in nats per token over N sequences of T tokens:

    NLL-oracle = -(1 / NT) sum_i sum_t log p_oracle(y_it | y_i<t),   y_i ~ G      (quality)
    NLL-test   = -(1 / NT) sum_i sum_t log p_G(x_it | x_i<t),        x_i ~ oracle (coverage)

Every sequence starts, as it was sampled, from the start token (id 0 unless told)
and a zero state, so the first token x_1 is scored as p(x_1 | start) too: the model
reads [start, x_1, ..., x_{T-1}] and is scored on [x_1, ..., x_T]. The oracle's
NLL-oracle of its own samples estimates its entropy rate; a generator that only
repeats its favourite sentence scores well on NLL-oracle and badly on NLL-test.

BLEU and Self-BLEU here are Texygen's, on token sequences and on the 0-1 scale: the
mean over hypotheses of nltk's ``sentence_bleu`` with uniform weights 1/n, each
hypothesis against ALL the references, smoothed by Chen and Cherry's method 1
(an order with no match gets p_k = 0.1 / total_k). For one hypothesis h:

    m_k = sum_{g in ngrams_k(h)} min(count_h(g), max_ref count_ref(g))      (clipped matches)
    p_k = m_k / max(1, |ngrams_k(h)|)          or 0.1 / max(1, |ngrams_k(h)|) when m_k = 0
    BP  = 1 if c > r, else exp(1 - r / c)     (c = |h|, r = the reference length closest to c,
                                               the shorter one on a tie)
    BLEU-n = BP * exp( (1/n) * sum_{k=1..n} log p_k ),   and 0 when m_1 = 0 or c = 0

Self-BLEU scores each sample against all the others (diversity: lower is more diverse).
``bleu.py`` is the other BLEU: sacreBLEU's corpus BLEU on strings, 0-100, for translation.

Speed: every hypothesis meets the same references, so each reference n-gram is
counted once, into the largest count any reference has (Self-BLEU keeps the two
largest, to leave a sample's own count out of its references).

>>> bleu([[1, 2, 3, 4]], [[1, 2, 3, 4], [5, 6]], n=4)
1.0
>>> round(self_bleu([[1, 2, 3], [1, 2, 4], [7, 8, 9]], n=2), 4)
0.3849
"""

from __future__ import annotations

import math
from collections import Counter

from .. import backend, rules
from ..autograd import no_grad
from ..backend import host
from ..functional import cross_entropy
from ..sample.step import vocab_size_of

__all__ = ["nll_oracle", "nll_test", "bleu", "self_bleu"]

_EPSILON = 0.1                              # Chen and Cherry's method 1 (nltk's SmoothingFunction().method1)


# --------------------------------------------------------------------------- NLL under a model

def nll_oracle(oracle, samples, *, start_token: int = 0, batch_size: int = 200) -> float:
    """NLL-oracle: a generator's ``samples`` (N, T) scored by the ``oracle``, mean NLL per token in nats.

    ``samples`` is an integer array (host or device) of ids in the oracle's vocabulary.

    >>> import numpy as np
    >>> from minigen.models import RNNLanguageModel
    >>> model = RNNLanguageModel(vocab_size=7, embed_dim=4, hidden_size=4, num_layers=1)
    >>> model.head.weight.data[...] = 0                  # zero logits: uniform over the 7 tokens
    >>> model.head.bias.data[...] = 0
    >>> round(nll_oracle(model, np.array([[1, 2, 3]])), 6) == round(math.log(7), 6)
    True
    """
    return _mean_nll("nll_oracle", "oracle", oracle, "samples", samples, start_token, batch_size)


def nll_test(generator, data, *, start_token: int = 0, batch_size: int = 200, temperature: float = 1.0) -> float:
    """NLL-test: held-out oracle ``data`` (N, T) scored by the ``generator``, mean NLL per token in nats.

    The same computation as ``nll_oracle`` with the roles swapped: the generator is the
    model, the oracle's samples are the data. ``temperature`` scores with softmax(logits / t),
    the distribution that sampling at that temperature draws from: the diversity axis of
    the quality-diversity curve (Caccia et al., "Language GANs Falling Short", 2020).
    """
    temperature = rules.real("nll_test", "temperature", temperature, 0, lo_open=True)
    return _mean_nll("nll_test", "generator", generator, "data", data, start_token, batch_size, temperature)


def sequences(fn: str, name: str, data, V: int):
    """``data`` as a host (N, T) integer array of ids in [0, V), N >= 1 and T >= 1 (one explicit copy to the host):
    sequences as ``minigen.models.oracle_samples`` draws them, which the metrics score and ``minigen.gan`` trains on."""
    ids = backend.to_numpy(rules.array_of(rules.token_ids(fn, name, data, V, ndim=2)))
    rules.require(ids.size > 0, fn, name, "a non-empty (N, T) array of token ids", f"shape {ids.shape}")
    return ids


def _mean_nll(fn: str, model_name: str, model, ids_name: str, ids, start_token, batch_size, temperature=1.0):
    """-(1 / NT) sum log softmax(logits / temperature)(ids), each row read from ``start_token`` and a zero state."""
    V = vocab_size_of(model)
    ok = V is not None and callable(model) and hasattr(model, "parameters")
    rules.require(ok, fn, model_name, "a minigen language model (with config['vocab_size'])", type(model).__name__,
                  TypeError)
    ids = sequences(fn, ids_name, ids, V)                                  # (N, T) on the host
    rules.token_id(fn, "start_token", start_token, V)
    batch_size = rules.positive_int(fn, "batch_size", batch_size)
    N, T = ids.shape
    inputs = host.concatenate([host.full((N, 1), start_token, dtype=ids.dtype), ids[:, :-1]], axis=1)  # (N, T)
    like = next(model.parameters()).data                                   # the model's device
    total, was_training = 0.0, model.training
    model.eval()                                                           # no dropout
    try:
        with no_grad():
            for s in range(0, N, batch_size):
                x = backend.asarray_like(inputs[s:s + batch_size], like)             # (B, T)
                y = backend.asarray_like(ids[s:s + batch_size].reshape(-1), like)    # (B*T,)
                logits, _ = model(x)                                                 # (B, T, V)
                logits = logits / temperature if temperature != 1.0 else logits
                loss = cross_entropy(logits.reshape(-1, V), y, reduction="sum")      # sum over B*T tokens
                total += float(backend.to_numpy(loss.data))
    finally:
        model.train(was_training)
    return total / (N * T)


# --------------------------------------------------------------------------- BLEU

def _sequences(fn: str, name: str, value, at_least: int = 1) -> list[tuple]:
    """Token sequences as tuples: a 2-D integer array (host or device), or a list of sequences of tokens."""
    array = backend.is_array(value)
    ok = backend.is_integer(value.dtype) and value.ndim == 2 if array else isinstance(value, (list, tuple))
    rules.require(ok, fn, name, "a 2-D integer array or a list of token sequences", rules.describe(value), TypeError)
    seqs = []
    for i, seq in enumerate(backend.to_numpy(value).tolist() if array else value):
        if backend.is_array(seq) and seq.ndim == 1:
            seq = backend.to_numpy(seq).tolist()
        rules.require(isinstance(seq, (list, tuple)), fn, f"{name}[{i}]", "a sequence of tokens (a list or tuple)",
                      rules.describe(seq), TypeError)
        seqs.append(tuple(seq))
    rules.require(len(seqs) >= at_least, fn, name, f"at least {at_least} sequence(s)", len(seqs))
    return seqs


def _ngram_counts(seq: tuple, k: int) -> Counter:
    """How often each k-gram (a tuple of k tokens) occurs in ``seq``."""
    return Counter(zip(*(seq[i:] for i in range(k))))


def _closest(lengths, c: int) -> int:
    """The reference length r closest to the hypothesis length c; the shorter one on a tie (as nltk)."""
    return min(lengths, key=lambda r: (abs(r - c), r))


def _sentence_bleu(hyp: tuple, ref_max, r: int, n: int) -> float:
    """BLEU-n of one hypothesis; ``ref_max(k, g, count)`` is the largest count of k-gram g among its references."""
    c = len(hyp)
    log_p = []
    for k in range(1, n + 1):
        counts = _ngram_counts(hyp, k)
        m = sum(min(count, ref_max(k, g, count)) for g, count in counts.items())       # clipped matches m_k
        if k == 1 and m == 0:
            return 0.0                                         # no unigram matches (also c = 0): nltk's 0
        total = max(1, c - k + 1)                              # |ngrams_k(h)|, at least 1
        log_p.append(1 / n * math.log(m / total if m > 0 else _EPSILON / total))       # weight 1/n, method 1
    bp = 1.0 if c > r else math.exp(1 - r / c)                # brevity penalty
    return bp * math.exp(math.fsum(log_p))


def bleu(hypotheses, references, n: int = 4) -> float:
    """Mean sentence BLEU-n (0 to 1) of ``hypotheses``, each against all ``references`` (Texygen's BLEU).

    Both are lists of token sequences (lists or tuples of ints or strings), or 2-D integer
    arrays. Equal to averaging nltk's ``sentence_bleu(references, h, weights=(1/n,) * n,
    smoothing_function=SmoothingFunction().method1)`` over the hypotheses.

    >>> round(bleu([["the", "cat", "sat"]], [["the", "cat", "is", "here"], ["a", "dog", "sat"]], n=2), 4)
    0.7071
    """
    fn = "bleu"
    n = rules.positive_int(fn, "n", n)
    hyps, refs = _sequences(fn, "hypotheses", hypotheses), _sequences(fn, "references", references)
    best = [{}]                                       # best[k][g]: the largest count of k-gram g in one reference
    for k in range(1, n + 1):
        best.append({})
        for ref in refs:
            for g, count in _ngram_counts(ref, k).items():
                if count > best[k].get(g, 0):
                    best[k][g] = count
    lengths = set(len(ref) for ref in refs)

    def ref_max(k, g, _):
        return best[k].get(g, 0)
    return math.fsum(_sentence_bleu(h, ref_max, _closest(lengths, len(h)), n) for h in hyps) / len(hyps)


def self_bleu(samples, n: int = 4) -> float:
    """Mean BLEU-n of each sample against all the other samples (Texygen's Self-BLEU; lower: more diverse).

    ``samples`` is a list of at least two token sequences, or a 2-D integer array.

    >>> self_bleu([[1, 2, 3], [1, 2, 3]], n=3)
    1.0
    """
    fn = "self_bleu"
    n = rules.positive_int(fn, "n", n)
    seqs = _sequences(fn, "samples", samples, at_least=2)
    top = [{}]                                        # top[k][g]: the two largest counts of g, (first, second)
    for k in range(1, n + 1):
        top.append({})
        for seq in seqs:
            for g, count in _ngram_counts(seq, k).items():
                first, second = top[k].get(g, (0, 0))
                if count >= first:
                    top[k][g] = (count, first)
                elif count > second:
                    top[k][g] = (first, count)
    lengths = Counter(len(seq) for seq in seqs)

    def ref_max(k, g, own):
        first, second = top[k][g]                     # g occurs in this sample, so it is in the table
        return second if own == first else first      # leave this sample's own count out
    scores = []
    for seq in seqs:
        others = [r for r, times in lengths.items() if times > (r == len(seq))]     # the others' lengths
        scores.append(_sentence_bleu(seq, ref_max, _closest(others, len(seq)), n))
    return math.fsum(scores) / len(scores)
