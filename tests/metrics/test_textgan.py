"""The oracle benchmark's metrics: NLL-oracle / NLL-test against the exact maths, BLEU and Self-BLEU against nltk."""

import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigen.metrics import bleu, nll_oracle, nll_test, self_bleu
from minigen.models import RNNLanguageModel, oracle_lm, oracle_samples

V = 30


@pytest.fixture(scope="module")
def oracle():
    return oracle_lm(vocab_size=V, embed_dim=8, hidden_size=16, seed=0, dtype="float64")


def log_probs(model, ids, start=0):
    """(N, T, V) log p(. | start, x_<t), computed here with NumPy from the model's logits."""
    inputs = np.concatenate([np.full((len(ids), 1), start), ids[:, :-1]], axis=1)
    z = model(inputs)[0].numpy()
    return z - z.max(-1, keepdims=True) - np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True))


# --------------------------------------------------------------------------- NLL

def test_nll_test_at_a_temperature_scores_with_the_tempered_softmax(oracle):
    x = oracle_samples(oracle, 50, seq_len=6, seed=2)
    inputs = np.concatenate([np.zeros((len(x), 1), np.int64), x[:, :-1]], axis=1)
    for t in (0.5, 1.0, 1.7):
        z = oracle(inputs)[0].numpy() / t
        logp = z - np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True)) - z.max(-1, keepdims=True)
        want = -np.take_along_axis(logp, x[..., None], -1).mean()
        assert nll_test(oracle, x, temperature=t) == pytest.approx(want, rel=1e-10)
    with pytest.raises(ValueError, match=r"nll_test: temperature must be a finite number > 0, got 0"):
        nll_test(oracle, x, temperature=0)


def test_nll_oracle_of_the_oracles_samples_estimates_its_entropy(oracle):
    # E[-log p(x)] over x ~ p is the entropy: per sequence, the NLL and the sum of the exact per-step
    # entropies along its prefixes have the same mean, so their difference is 0 within its standard error
    x = oracle_samples(oracle, 3000, seq_len=8, seed=1)
    logp = log_probs(oracle, x)
    entropy = -(np.exp(logp) * logp).sum(-1).mean(-1)                       # (N,) per token
    nll = -np.take_along_axis(logp, x[..., None], -1)[..., 0].mean(-1)     # (N,) per token
    diff = nll - entropy
    assert nll_oracle(oracle, x) == pytest.approx(nll.mean(), rel=1e-12)
    assert abs(nll_oracle(oracle, x) - entropy.mean()) < 4 * diff.std() / np.sqrt(len(x))
    assert 0.5 < entropy.mean() < math.log(V)                               # a peaked but not a trivial oracle


def test_nll_test_of_the_oracle_on_its_own_data_is_its_nll_oracle(oracle):
    x = oracle_samples(oracle, 50, seq_len=6, seed=2)
    assert nll_test(oracle, x) == nll_oracle(oracle, x)


def test_the_first_token_is_scored_from_the_start_token(oracle):
    x = np.array([[3], [7], [3]])
    for start in (0, 5):
        logits, _ = oracle(np.full((1, 1), start))
        z = logits.numpy()[0, 0]
        logp = z - z.max() - np.log(np.exp(z - z.max()).sum())
        assert nll_oracle(oracle, x, start_token=start) == pytest.approx(-logp[[3, 7, 3]].mean(), rel=1e-12)


def test_a_uniform_model_scores_log_v_and_batches_change_nothing(oracle):
    model = RNNLanguageModel(V, embed_dim=4, hidden_size=4, num_layers=1, dtype="float64")
    model.head.weight.data[...] = 0
    model.head.bias.data[...] = 0
    x = oracle_samples(oracle, 23, seq_len=5, seed=3)
    assert nll_test(model, x) == pytest.approx(math.log(V), rel=1e-12)
    assert nll_oracle(oracle, x, batch_size=4) == pytest.approx(nll_oracle(oracle, x), rel=1e-12)


def test_training_mode_is_restored_and_dropout_is_off():
    model = RNNLanguageModel(V, embed_dim=4, hidden_size=4, num_layers=2, dropout=0.5, dtype="float64")
    x = np.random.default_rng(0).integers(0, V, size=(6, 5))
    first = nll_test(model, x)
    assert model.training
    assert nll_test(model, x) == first                                      # eval mode: no dropout noise


def test_the_same_nll_on_every_backend(backend, oracle):
    there = oracle_lm(vocab_size=V, embed_dim=8, hidden_size=16, seed=0, dtype="float64", device=backend.device)
    x = oracle_samples(oracle, 20, seq_len=5, seed=4)
    expected = nll_oracle(oracle, x)
    assert nll_oracle(there, x) == pytest.approx(expected, rel=1e-12)                   # host data
    assert nll_test(there, backend.asarray(x)) == pytest.approx(expected, rel=1e-12)    # data on the device


@pytest.mark.parametrize("fn", [nll_oracle, nll_test])
@pytest.mark.parametrize("ids, match, error", [
    (np.zeros(5, np.int64), "must be a 2-D array of token ids, got shape (5,)", ValueError),
    (np.zeros((2, 3)), "must be an integer array of token ids, got float64", TypeError),
    (np.array([[1, V]]), f"must be ids in [0, {V}), got id {V}", IndexError),
    (np.array([[1, -1]]), f"must be ids in [0, {V}), got id -1", IndexError),
    (np.zeros((0, 3), np.int64), "must be a non-empty (N, T) array of token ids, got shape (0, 3)", ValueError),
])
def test_bad_ids_are_one_line_naming_them(oracle, fn, ids, match, error):
    name = "samples" if fn is nll_oracle else "data"
    with pytest.raises(error, match=f"^{fn.__name__}: {name} " + re.escape(match)):
        fn(oracle, ids)


def test_bad_models_and_options_are_one_line_naming_them(oracle):
    x = np.zeros((2, 3), np.int64)
    with pytest.raises(TypeError, match="^nll_oracle: oracle must be a minigen language model"):
        nll_oracle(lambda ids: ids, x)
    with pytest.raises(TypeError, match="^nll_test: generator must be a minigen language model"):
        nll_test("gpt2", x)
    with pytest.raises(IndexError, match=rf"^nll_test: start_token must be an id in \[0, {V}\), got {V}"):
        nll_test(oracle, x, start_token=V)
    with pytest.raises(ValueError, match="^nll_oracle: batch_size must be a positive integer, got 0"):
        nll_oracle(oracle, x, batch_size=0)


# --------------------------------------------------------------------------- BLEU against nltk

@pytest.fixture(scope="module")
def nltk_bleu():
    """nltk's sentence_bleu with Texygen's settings (uniform weights, method 1); skipped where nltk is missing."""
    score = pytest.importorskip("nltk.translate.bleu_score")
    method1 = score.SmoothingFunction().method1

    def sentence(refs, hyp, n):
        return score.sentence_bleu(refs, hyp, weights=(1 / n,) * n, smoothing_function=method1)
    return sentence


def nltk_mean(nltk_bleu, hyps, refs, n):
    return sum(nltk_bleu(refs, h, n) for h in hyps) / len(hyps)


def nltk_self(nltk_bleu, samples, n):
    return sum(nltk_bleu(samples[:i] + samples[i + 1:], s, n) for i, s in enumerate(samples)) / len(samples)


def random_sequences(rng, count, vocab, lo, hi):
    return [rng.integers(0, vocab, size=rng.integers(lo, hi + 1)).tolist() for _ in range(count)]


@pytest.mark.reference
@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_bleu_and_self_bleu_equal_nltk_on_random_data(nltk_bleu, n):
    rng = np.random.default_rng(n)
    hyps, refs = random_sequences(rng, 30, 6, 0, 9), random_sequences(rng, 20, 6, 1, 9)
    assert bleu(hyps, refs, n=n) == pytest.approx(nltk_mean(nltk_bleu, hyps, refs, n), rel=1e-12)
    samples = random_sequences(rng, 25, 5, 1, 8) + [[1, 2, 3, 1, 2]] * 3      # repeats: the top-two counts
    assert self_bleu(samples, n=n) == pytest.approx(nltk_self(nltk_bleu, samples, n), rel=1e-12)


@pytest.mark.reference
@given(st.lists(st.lists(st.integers(0, 3), max_size=7), min_size=2, max_size=8), st.integers(1, 5))
def test_self_bleu_equals_nltk_on_any_samples(nltk_bleu, samples, n):
    assert self_bleu(samples, n=n) == pytest.approx(nltk_self(nltk_bleu, samples, n), rel=1e-12, abs=1e-15)


@pytest.mark.reference
@pytest.mark.parametrize("n", [2, 3, 4, 5])
@pytest.mark.parametrize("hyps, refs", [
    ([[1, 2, 3, 4, 5]], [[6, 7, 8, 9, 10]]),                  # no overlap: 0
    ([[1, 2, 3, 4, 5, 6]], [[1, 2, 3, 4, 5, 6], [9, 9]]),      # identical: 1
    ([[1]], [[1, 2, 3]]),                                      # shorter than n: smoothed orders, brevity penalty
    ([[1, 2]], [[2, 1], [1, 2, 3, 4]]),
    ([[]], [[1, 2]]),                                          # empty hypothesis: 0
    ([[5, 5, 5, 5]], [[5, 1], [5, 5, 2]]),                     # clipped by the most generous reference
    ([[1, 2, 3, 4]], [[1, 2, 3], [1, 2, 3, 4, 5]]),            # a tie in length: the shorter reference
    ([["the", "cat", "sat"]], [["the", "cat", "is", "here"], ["a", "dog", "sat"]]),   # string tokens
])
def test_bleu_equals_nltk_on_edge_cases(nltk_bleu, n, hyps, refs):
    assert bleu(hyps, refs, n=n) == pytest.approx(nltk_mean(nltk_bleu, hyps, refs, n), rel=1e-12, abs=1e-15)


def test_bleu_by_hand():
    assert bleu([[1, 2, 3, 4, 5]], [[6, 7, 8, 9, 10]], n=2) == 0.0
    assert bleu([[1, 2, 3, 4]], [[1, 2, 3, 4], [5]], n=4) == pytest.approx(1.0)
    # one token, reference of 3: p_1 = 1, p_2 = 0.1 / 1 (method 1), BP = exp(1 - 3)
    assert bleu([[1]], [[1, 2, 3]], n=2) == pytest.approx(math.exp(-2) * math.sqrt(0.1))
    assert self_bleu([[1, 2, 3], [1, 2, 3], [4, 5, 6]], n=3) == pytest.approx(2 / 3)


def test_arrays_and_lists_give_the_same_bleu(backend):
    rng = np.random.default_rng(0)
    hyps, refs = rng.integers(0, 5, size=(6, 7)), rng.integers(0, 5, size=(9, 7))
    assert bleu(backend.asarray(hyps), backend.asarray(refs), n=3) == bleu(hyps.tolist(), list(refs), n=3)
    assert self_bleu(backend.asarray(refs), n=3) == self_bleu(refs.tolist(), n=3)


@pytest.mark.parametrize("call, match, error", [
    (lambda: bleu([[1]], [[1]], n=0), "^bleu: n must be a positive integer, got 0", ValueError),
    (lambda: self_bleu([[1], [1]], n=2.0), "^self_bleu: n must be a positive integer, got 2.0", ValueError),
    (lambda: bleu([], [[1]]), r"^bleu: hypotheses must be at least 1 sequence\(s\), got 0", ValueError),
    (lambda: bleu([[1]], []), r"^bleu: references must be at least 1 sequence\(s\), got 0", ValueError),
    (lambda: self_bleu([[1, 2]]), r"^self_bleu: samples must be at least 2 sequence\(s\), got 1", ValueError),
    (lambda: bleu(np.zeros((2, 3)), [[1]]), "^bleu: hypotheses must be a 2-D integer array", TypeError),
    (lambda: bleu([[1]], np.zeros(3, np.int64)), "^bleu: references must be a 2-D integer array", TypeError),
    (lambda: bleu(["a b c"], [[1]]), r"^bleu: hypotheses\[0\] must be a sequence of tokens", TypeError),
    (lambda: self_bleu("abc"), "^self_bleu: samples must be a 2-D integer array or a list of token sequences", TypeError),
])
def test_bad_bleu_input_is_one_line_naming_it(call, match, error):
    with pytest.raises(error, match=match):
        call()
