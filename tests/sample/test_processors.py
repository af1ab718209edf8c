"""Logits processors: Hugging Face parity, properties, every backend, bad arguments, extreme logits."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigen import backend as B
import minigen.sample as P
from minigen.sample import (
    FrequencyPenaltyLogitsProcessor, LogitsProcessor, LogitsProcessorList, MinPLogitsWarper, NoBadWordsLogitsProcessor,
    NoRepeatNGramLogitsProcessor, PresencePenaltyLogitsProcessor, RepetitionPenaltyLogitsProcessor,
    SuppressTokensLogitsProcessor, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper, TypicalLogitsWarper,
    reweight_distribution,
)
from tests.sample.contract import assert_as_hugging_face, assert_same_on_the_device

V = 16


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _batch(seed, dtype=np.float64):
    """Scores (4, V) and input_ids (4, 12) from a small alphabet, so that n-grams and bad words repeat."""
    rng = np.random.default_rng(seed)
    scores = (3 * rng.standard_normal((4, V))).astype(dtype)
    ids = rng.integers(0, 6, size=(4, 12))
    ids[0, -1] = 2                    # ends with the prefix of the bad word [2, 3]
    ids[1, -2:] = 4                   # ends with the prefix of [4, 4, 5]
    ids[2, -1] = 2                    # ends with the prefix of [2, 2]
    ids[0, 2:4] = ids[0, -2:]         # the last two tokens occurred before: a 3-gram to ban
    ids[3, 5] = V + 2                 # an id outside the vocabulary: ignored by every processor
    return ids, scores


# One instance of each processor (and a few variants), used by the property, backend and extreme tests.
PROCESSORS = [
    TemperatureLogitsWarper(0.7), TopKLogitsWarper(3), TopKLogitsWarper(1, min_tokens_to_keep=2),
    TopPLogitsWarper(0.8), TopPLogitsWarper(0.3, min_tokens_to_keep=3), MinPLogitsWarper(0.1),
    MinPLogitsWarper(0.5, min_tokens_to_keep=2), TypicalLogitsWarper(0.9),
    TypicalLogitsWarper(0.3, min_tokens_to_keep=2),
    RepetitionPenaltyLogitsProcessor(1.5), FrequencyPenaltyLogitsProcessor(0.4), PresencePenaltyLogitsProcessor(-0.6),
    RepetitionPenaltyLogitsProcessor(1.5, prompt_ignore_length=2),
    RepetitionPenaltyLogitsProcessor(1.5, normalize=True),
    NoRepeatNGramLogitsProcessor(1), NoRepeatNGramLogitsProcessor(2), SuppressTokensLogitsProcessor([0, 1, 40]),
    NoBadWordsLogitsProcessor([[1], [0, 1], [1, 1, 0]]),
    LogitsProcessorList([RepetitionPenaltyLogitsProcessor(1.2), TemperatureLogitsWarper(0.8), TopPLogitsWarper(0.9)]),
]
IDS = [type(p).__name__ for p in PROCESSORS]


# --------------------------------------------------------------------------- Hugging Face parity

HF_CASES = [
    ("TemperatureLogitsWarper", dict(temperature=0.7)),
    ("TemperatureLogitsWarper", dict(temperature=1.6)),
    ("TopKLogitsWarper", dict(top_k=1)),
    ("TopKLogitsWarper", dict(top_k=5)),
    ("TopKLogitsWarper", dict(top_k=2, min_tokens_to_keep=6)),
    ("TopKLogitsWarper", dict(top_k=40)),
    ("TopKLogitsWarper", dict(top_k=4, filter_value=-50.0)),
    ("TopPLogitsWarper", dict(top_p=0.05)),
    ("TopPLogitsWarper", dict(top_p=0.5)),
    ("TopPLogitsWarper", dict(top_p=0.9)),
    ("TopPLogitsWarper", dict(top_p=1.0)),
    ("TopPLogitsWarper", dict(top_p=0.3, min_tokens_to_keep=5)),
    ("TopPLogitsWarper", dict(top_p=0.8, filter_value=-1e3)),
    ("MinPLogitsWarper", dict(min_p=0.0)),
    ("MinPLogitsWarper", dict(min_p=0.05)),
    ("MinPLogitsWarper", dict(min_p=0.3)),
    ("MinPLogitsWarper", dict(min_p=1.0)),
    ("MinPLogitsWarper", dict(min_p=0.5, min_tokens_to_keep=4)),
    ("TypicalLogitsWarper", dict(mass=0.2)),
    ("TypicalLogitsWarper", dict(mass=0.9)),
    ("TypicalLogitsWarper", dict(mass=0.99)),
    ("TypicalLogitsWarper", dict(mass=0.4, min_tokens_to_keep=5, filter_value=-7.0)),
    ("RepetitionPenaltyLogitsProcessor", dict(penalty=1.3)),
    ("RepetitionPenaltyLogitsProcessor", dict(penalty=0.6)),
    ("RepetitionPenaltyLogitsProcessor", dict(penalty=2.0)),
    ("NoRepeatNGramLogitsProcessor", dict(ngram_size=1)),
    ("NoRepeatNGramLogitsProcessor", dict(ngram_size=2)),
    ("NoRepeatNGramLogitsProcessor", dict(ngram_size=3)),
    ("NoRepeatNGramLogitsProcessor", dict(ngram_size=20)),        # longer than the context: bans nothing
    ("SuppressTokensLogitsProcessor", dict(suppress_tokens=[0, 3, 7, 99])),
    ("NoBadWordsLogitsProcessor", dict(bad_words_ids=[[1], [2, 3], [4, 4, 5], list(range(6)) * 3])),
    ("NoBadWordsLogitsProcessor", dict(bad_words_ids=[[1], [5], [2, 2]], eos_token_id=5)),
    ("NoBadWordsLogitsProcessor", dict(bad_words_ids=[[9]], eos_token_id=[3, 9])),
]


@pytest.mark.reference
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,kwargs", HF_CASES, ids=[f"{n}-{k}" for n, k in HF_CASES])
def test_parity_with_hugging_face(name, kwargs, dtype):
    assert_as_hugging_face(name, kwargs, (_batch(seed, dtype) for seed in range(3)))


@pytest.mark.reference
def test_list_parity_with_hugging_face():
    torch = pytest.importorskip("torch")
    hf = pytest.importorskip("transformers.generation.logits_process")
    args = [("RepetitionPenaltyLogitsProcessor", 1.2), ("NoRepeatNGramLogitsProcessor", 2),
            ("TemperatureLogitsWarper", 0.8), ("TopKLogitsWarper", 8), ("TopPLogitsWarper", 0.9),
            ("TypicalLogitsWarper", 0.95), ("MinPLogitsWarper", 0.02)]
    ours = LogitsProcessorList(getattr(P, n)(a) for n, a in args)
    theirs = hf.LogitsProcessorList(getattr(hf, n)(a) for n, a in args)
    ids, scores = _batch(5)
    np.testing.assert_array_equal(ours(ids, scores), theirs(torch.from_numpy(ids), torch.from_numpy(scores)).numpy())


def _counts(ids, V):
    return np.stack([np.bincount(row[row < V], minlength=V) for row in ids]).astype(np.float64)


@pytest.mark.parametrize("penalty", [0.0, 0.5, -1.25])
def test_frequency_and_presence_penalties_follow_openai(penalty):
    """OpenAI: scores - frequency_penalty * count - presence_penalty * [count > 0]."""
    ids, scores = _batch(1)
    counts = _counts(ids, V)
    np.testing.assert_allclose(FrequencyPenaltyLogitsProcessor(penalty)(ids, scores), scores - penalty * counts,
                               rtol=0, atol=1e-14)
    np.testing.assert_allclose(PresencePenaltyLogitsProcessor(penalty)(ids, scores), scores - penalty * (counts > 0),
                               rtol=0, atol=1e-14)


def test_token_counts_ignore_ids_outside_the_vocabulary():
    ids = np.array([[3, -1, 3, 4, 7], [0, 0, 9, 2, 2]])
    out = FrequencyPenaltyLogitsProcessor(1.0)(ids, np.zeros((2, 5)))
    np.testing.assert_array_equal(out, -np.array([[0, 0, 0, 2, 1], [2, 0, 2, 0, 0]]))


def test_bad_words_hugging_face_semantics():
    ban = NoBadWordsLogitsProcessor([[2, 3], [5, 6, 7]])
    scores = np.zeros((3, 8))
    out = ban(np.array([[0, 2], [6, 5], [5, 6]]), scores)        # the rows that end with a bad word's prefix
    assert np.isinf(out).tolist() == [[j == 3 for j in range(8)], [False] * 8, [j == 7 for j in range(8)]]
    assert not np.isinf(ban(np.array([[6]]), np.zeros((1, 8)))).any()    # a prefix longer than the context is skipped


# --------------------------------------------------------------------------- properties

@st.composite
def batches(draw, unique=False, low=-30.0, high=30.0):
    B, Vd, T = draw(st.integers(1, 3)), draw(st.integers(2, 10)), draw(st.integers(1, 8))
    scores = draw(hnp.arrays(np.float64, (B, Vd), elements=st.floats(low, high, allow_nan=False), unique=unique))
    ids = draw(hnp.arrays(np.int64, (B, T), elements=st.integers(0, Vd + 1)))
    return ids, scores


@pytest.mark.parametrize("processor", PROCESSORS, ids=IDS)
@given(batch=batches())
def test_inputs_are_never_modified(processor, batch):
    ids, scores = batch
    ids_copy, scores_copy = ids.copy(), scores.copy()
    out = processor(ids, scores)
    np.testing.assert_array_equal(ids, ids_copy)
    np.testing.assert_array_equal(scores, scores_copy)
    assert out.shape == scores.shape and out.dtype == scores.dtype
    assert not np.shares_memory(out, scores)


@given(batch=batches(unique=True))
def test_top_k_1_keeps_only_the_argmax(batch):
    ids, scores = batch
    out = TopKLogitsWarper(1)(ids, scores)
    expected = np.arange(scores.shape[1])[None, :] == scores.argmax(axis=1)[:, None]
    np.testing.assert_array_equal(np.isfinite(out), expected)


@given(batch=batches())
def test_top_k_of_the_whole_vocabulary_changes_nothing(batch):
    ids, scores = batch
    np.testing.assert_array_equal(TopKLogitsWarper(scores.shape[1])(ids, scores), scores)
    np.testing.assert_array_equal(TopKLogitsWarper(1000)(ids, scores), scores)


@given(batch=batches(unique=True, low=-10.0, high=10.0), top_p=st.floats(0.01, 1.0), keep=st.integers(1, 3))
def test_top_p_keeps_the_smallest_set_that_reaches_p(batch, top_p, keep):
    ids, scores = batch
    out = TopPLogitsWarper(top_p, min_tokens_to_keep=keep)(ids, scores)
    probs = _softmax(scores)
    for kept, p, s in zip(np.isfinite(out), probs, scores):
        assert kept.sum() >= min(keep, len(p))
        if (~kept).any():
            assert s[kept].min() > s[~kept].max()                                     # the most likely ones
        assert p[kept].sum() >= top_p - 1e-9                                          # their mass reaches p
        if kept.sum() > keep:                                                         # and no smaller set does
            assert p[kept].sum() - p[kept].min() < top_p + 1e-9


@given(batch=batches(), temperature=st.floats(0.05, 20.0))
def test_temperature_divides_and_matches_reweighting(batch, temperature):
    ids, scores = batch
    out = TemperatureLogitsWarper(temperature)(ids, scores)
    np.testing.assert_array_equal(out, scores / temperature)
    np.testing.assert_allclose(_softmax(out), reweight_distribution(_softmax(scores), temperature), rtol=1e-7,
                               atol=1e-12)


distributions = hnp.arrays(np.float64, st.integers(1, 10), elements=st.one_of(st.just(0.0), st.floats(1e-6, 1.0)))


@given(p=distributions, temperature=st.one_of(st.floats(1e-300, 1e300), st.sampled_from([5e-324, 1e-3, 1.0, 1e3])))
def test_reweight_distribution_is_safe(p, temperature):
    assume(p.sum() > 0)
    p = p / p.sum()
    q = reweight_distribution(p, temperature)
    assert not np.isnan(q).any()
    np.testing.assert_array_equal(q[p == 0], 0.0)                   # zeros stay zero
    assert abs(q.sum() - 1) < 1e-12
    order = np.argsort(p, kind="stable")
    assert (np.diff(q[order]) >= 0).all()                          # the order of the probabilities is kept


@given(p=distributions)
def test_reweight_at_t_1_is_the_identity_and_small_t_the_argmax(p):
    assume(p.sum() > 0)
    p = p / p.sum()
    np.testing.assert_allclose(reweight_distribution(p, 1.0), p, rtol=1e-12, atol=0)
    top = np.sort(p)[::-1]
    assume(len(p) == 1 or top[1] < 0.99 * top[0])                  # a clear argmax
    np.testing.assert_allclose(reweight_distribution(p, 1e-4), np.eye(len(p))[p.argmax()], rtol=0, atol=1e-12)


def test_reweight_distribution_on_batches_and_all_zero_rows():
    p = np.array([[0.2, 0.8, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(reweight_distribution(p, 2.0), [[1 / 3, 2 / 3, 0.0], [0.0, 0.0, 0.0]], rtol=1e-12)


# --------------------------------------------------------------------------- every backend

def _host_or_xp_softmax(s):
    xp = B.array_namespace(s)
    e = xp.exp(s - xp.max(s, axis=-1, keepdims=True))
    return e / xp.sum(e, axis=-1, keepdims=True)


@pytest.mark.parametrize("processor", PROCESSORS + [lambda ids, s: reweight_distribution(_host_or_xp_softmax(s), 0.3)],
                         ids=IDS + ["reweight_distribution"])
def test_on_the_backends(backend, processor):
    ids, scores = _batch(7)
    assert_same_on_the_device(backend, processor, ids, scores, rtol=1e-12)


# --------------------------------------------------------------------------- extremes

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("processor", PROCESSORS, ids=IDS)
def test_extreme_logits_give_no_nan(processor, dtype):
    ids = np.array([[0, 1, 1, 2], [3, 3, 3, 3]])
    scores = np.array([[1e4, -1e4, 9999.0, 0.0, -np.inf, 1e4 - 1e-3],
                       [-np.inf, -np.inf, -1e4, -np.inf, -np.inf, -np.inf]], dtype=dtype)   # one finite entry left
    out = processor(ids, scores)                                   # RuntimeWarnings are errors in this suite
    assert not np.isnan(out).any()
    assert np.isfinite(out).any(axis=-1).all()


# --------------------------------------------------------------------------- bad arguments

POSITIVE = "must be a finite number > 0"
SCALE = r"must be a number in \[0.0001, 10000\]"                  # temperature and repetition penalty, as the CLI
BAD = [
    (TemperatureLogitsWarper, dict(temperature=0.0), rf"TemperatureLogitsWarper: temperature {SCALE}, got 0.0"),
    (TemperatureLogitsWarper, dict(temperature=-1.0), f"temperature {SCALE}, got -1.0"),
    (TemperatureLogitsWarper, dict(temperature=1e300), f"temperature {SCALE}, got 1e\\+300"),   # overflowed
    (TemperatureLogitsWarper, dict(temperature=1e-300), f"temperature {SCALE}, got 1e-300"),
    (TemperatureLogitsWarper, dict(temperature=float("inf")), "temperature must be .*, got inf"),
    (TemperatureLogitsWarper, dict(temperature=float("nan")), "temperature must be .*, got nan"),
    (TemperatureLogitsWarper, dict(temperature="1"), "temperature must be .*, got '1'"),
    (TopKLogitsWarper, dict(top_k=-1), "top_k must be .*, got -1"),
    (TopKLogitsWarper, dict(top_k=0), "top_k must be .*, got 0"),
    (TopKLogitsWarper, dict(top_k=2.5), "top_k must be .*, got 2.5"),
    (TopKLogitsWarper, dict(top_k=True), "top_k must be .*, got True"),
    (TopKLogitsWarper, dict(top_k=5, min_tokens_to_keep=0),
     r"min_tokens_to_keep must be .*, got 0"),
    (TopKLogitsWarper, dict(top_k=5, filter_value=float("nan")),
     "filter_value must be .*, got nan"),
    (TopPLogitsWarper, dict(top_p=1.5), r"top_p must be .*, got 1.5"),
    (TopPLogitsWarper, dict(top_p=0.0), r"top_p must be .*, got 0.0"),
    (TopPLogitsWarper, dict(top_p=-0.1), r"top_p must be .*, got -0.1"),
    (TopPLogitsWarper, dict(top_p=0.5, min_tokens_to_keep=1.5), "min_tokens_to_keep must be .*, got 1.5"),
    (MinPLogitsWarper, dict(min_p=1.5), r"min_p must be .*, got 1.5"),
    (MinPLogitsWarper, dict(min_p=-0.1), r"min_p must be .*, got -0.1"),
    (MinPLogitsWarper, dict(min_p=0.1, min_tokens_to_keep=-2), "min_tokens_to_keep must be .*, got -2"),
    (TypicalLogitsWarper, dict(mass=1.0), r"mass must be .*, got 1.0"),
    (TypicalLogitsWarper, dict(mass=0), r"mass must be .*, got 0"),
    (TypicalLogitsWarper, dict(mass=0.5, min_tokens_to_keep=0), "min_tokens_to_keep must be .*, got 0"),
    (RepetitionPenaltyLogitsProcessor, dict(penalty=0.0), f"penalty {SCALE}, got 0.0"),
    (RepetitionPenaltyLogitsProcessor, dict(penalty=-1.2), f"penalty {SCALE}, got -1.2"),
    (RepetitionPenaltyLogitsProcessor, dict(penalty=1e300), f"penalty {SCALE}, got 1e\\+300"),   # overflowed
    (RepetitionPenaltyLogitsProcessor, dict(penalty=2e4), f"penalty {SCALE}, got 20000.0"),
    (FrequencyPenaltyLogitsProcessor, dict(penalty=float("nan")), "penalty must be .*, got nan"),
    (PresencePenaltyLogitsProcessor, dict(penalty=float("inf")), "penalty must be .*, got inf"),
    (NoRepeatNGramLogitsProcessor, dict(ngram_size=0), "ngram_size must be .*, got 0"),
    (NoRepeatNGramLogitsProcessor, dict(ngram_size=2.0), "ngram_size must be .*, got 2.0"),
    (SuppressTokensLogitsProcessor, dict(suppress_tokens=[-1]),
     r"suppress_tokens must be .*, got \[-1\]"),
    (SuppressTokensLogitsProcessor, dict(suppress_tokens="abc"), "suppress_tokens must be .*, got 'abc'"),
    (NoBadWordsLogitsProcessor, dict(bad_words_ids=[]),
     r"bad_words_ids must be .*, got \[\]"),
    (NoBadWordsLogitsProcessor, dict(bad_words_ids=[[1], []]), r"bad_words_ids must be .*, got \[\[1\], \[\]\]"),
    (NoBadWordsLogitsProcessor, dict(bad_words_ids=[[1, -2]]), r"bad_words_ids must be .*, got \[\[1, -2\]\]"),
    (NoBadWordsLogitsProcessor, dict(bad_words_ids=[1, 2]), r"bad_words_ids must be .*, got \[1, 2\]"),
    (NoBadWordsLogitsProcessor, dict(bad_words_ids=[[1]], eos_token_id=-1),
     "eos_token_id must be .*, got -1"),
    (reweight_distribution, dict(probs=np.ones(2), temperature=0.0),
     f"temperature {POSITIVE}, got 0.0"),
    (reweight_distribution, dict(probs=np.ones(2), temperature=-2), "temperature must be .*, got -2"),
]


@pytest.mark.parametrize("make,kwargs,match", BAD, ids=[f"{m.__name__}-{k}" for m, k, _ in BAD])
def test_bad_arguments(make, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make(**kwargs)


def test_bad_words_outside_the_vocabulary():
    with pytest.raises(ValueError, match=r"NoBadWordsLogitsProcessor: bad_words_ids must be ids in \[0, 4\), got \[7\]"):
        NoBadWordsLogitsProcessor([[1], [0, 7]])(np.array([[0]]), np.zeros((1, 4)))


def test_the_base_class_is_abstract():
    with pytest.raises(NotImplementedError, match="LogitsProcessor is an abstract class"):
        LogitsProcessor()(np.array([[0]]), np.zeros((1, 3)))
    assert repr(TopKLogitsWarper(3)) == "TopKLogitsWarper(top_k=3, filter_value=-inf, min_tokens_to_keep=1)"


def test_whole_numbers_are_accepted_where_floats_are_asked_for():
    ids, scores = _batch(2)
    np.testing.assert_array_equal(TemperatureLogitsWarper(2)(ids, scores), scores / 2)
    np.testing.assert_array_equal(TopPLogitsWarper(1)(ids, scores), scores)
    assert math.isclose(RepetitionPenaltyLogitsProcessor(1).penalty, 1.0)


# --------------------------------------------------------------------------- bad inputs to __call__

@pytest.mark.parametrize("processor", PROCESSORS[:-1], ids=IDS[:-1])
def test_inputs_are_checked(backend, processor):
    """A batch mismatch would broadcast silently; float ids and 1-D scores would fail deep inside NumPy."""
    name = type(processor).__name__
    ids, scores = backend.asarray(np.array([[1], [2]])), backend.asarray(np.ones((1, 3)))
    with pytest.raises(ValueError, match=rf"{name}: input_ids must be a \(batch, length\) array with the batch of "
                                         r"scores \(1, 3\), got shape \(2, 1\)"):
        processor(ids, scores)
    with pytest.raises(TypeError, match=rf"{name}: input_ids must be an integer \(batch, length\) array of "
                                        r"ids, got shape \(1, 1\) and dtype float64"):
        processor(backend.asarray(np.array([[1.0]])), scores)
    with pytest.raises(ValueError, match=rf"{name}: input_ids must be a \(batch, length\) array.*, got shape \(1,\)"):
        processor(backend.asarray(np.array([1])), scores)
    with pytest.raises(ValueError, match=rf"{name}: scores must be of shape \(batch, vocab\), got "
                                         r"shape \(3,\)"):
        processor(backend.asarray(np.array([[1]])), backend.asarray(np.ones(3)))
    with pytest.raises(TypeError, match=rf"{name}: scores must be floating point "
                                        r".*, got int64"):
        processor(backend.asarray(np.array([[1]])), backend.asarray(np.ones((1, 3), dtype=np.int64)))
    with pytest.raises(TypeError, match=rf"{name}: input_ids must be an integer .* got a list"):
        processor([[1]], scores)
    if backend.name != "numpy":                                          # host ids with the device's scores
        with pytest.raises(TypeError, match=rf"^{name}: scores must be on input_ids's device cpu \(numpy\) \(move both "
                                            r"with \.to\(device\)\), got \S+ \(\w+\)$"):
            processor(np.array([[1]]), scores)


def test_a_list_checks_through_its_processors():
    chain = LogitsProcessorList([TemperatureLogitsWarper(0.5), RepetitionPenaltyLogitsProcessor(2.0)])
    with pytest.raises(ValueError, match=r"TemperatureLogitsWarper: input_ids .* scores \(1, 3\), got shape \(2, 1\)"):
        chain(np.array([[1], [2]]), np.ones((1, 3)))


def test_ids_beyond_the_vocabulary_are_ignored_as_in_hugging_face():
    """Hugging Face's models may embed more tokens than they generate; the penalties skip ids >= V."""
    scores = np.array([[1.0, 2.0, -2.0]])
    np.testing.assert_array_equal(RepetitionPenaltyLogitsProcessor(2.0)(np.array([[5, 1]]), scores), [[1, 1, -2]])
    np.testing.assert_array_equal(NoRepeatNGramLogitsProcessor(1)(np.array([[5, 2]]), scores), [[1, 2, -np.inf]])


def test_negative_ids_are_refused_where_the_ids_are_on_the_host_anyway():
    with pytest.raises(IndexError, match="NoRepeatNGramLogitsProcessor: input_ids must be ids >= 0, got id -1"):
        NoRepeatNGramLogitsProcessor(2)(np.array([[1, -1]]), np.zeros((1, 3)))


def test_numpy_scalars_are_accepted_and_bools_refused():
    ids, scores = _batch(3)
    assert TemperatureLogitsWarper(np.float32(0.5)).temperature == 0.5
    for make, value, python in [(TemperatureLogitsWarper, np.float32(0.5), 0.5), (TopKLogitsWarper, np.int64(3), 3),
                                (TopPLogitsWarper, np.float32(0.5), 0.5), (MinPLogitsWarper, np.float64(0.2), 0.2),
                                (TypicalLogitsWarper, np.float32(0.5), 0.5),
                                (RepetitionPenaltyLogitsProcessor, np.float32(1.5), 1.5),
                                (FrequencyPenaltyLogitsProcessor, np.float16(0.5), 0.5),
                                (PresencePenaltyLogitsProcessor, np.int8(1), 1),
                                (NoRepeatNGramLogitsProcessor, np.int32(2), 2)]:
        np.testing.assert_array_equal(make(value)(ids, scores), make(python)(ids, scores))
        with pytest.raises(ValueError, match="got True"):
            make(True)


def test_numpy_scalar_options_work_on_the_backends(backend):
    """Array-API arithmetic takes Python scalars only: the options are stored as Python numbers."""
    ids, scores = _batch(4)
    for make in (TopKLogitsWarper, TopPLogitsWarper, MinPLogitsWarper, TypicalLogitsWarper):
        arg = np.int64(3) if make is TopKLogitsWarper else np.float32(0.5)
        processor = make(arg, filter_value=np.float32(-50.0), min_tokens_to_keep=np.int64(2))
        expected = make(int(arg) if make is TopKLogitsWarper else float(arg), filter_value=-50.0, min_tokens_to_keep=2)
        out = processor(backend.asarray(ids), backend.asarray(scores))
        np.testing.assert_array_equal(backend.numpy(out), expected(ids, scores))


# --------------------------------------------------------------------------- repetition penalty's options

def _hf_uniform(rows, vocab):
    """HF's _get_uniform_logits(rows, vocab) with the two special values of its repetition-penalty tests."""
    scores = np.full((rows, vocab), 1 / vocab, dtype=np.float32)
    scores[0, 0] = -(1 / vocab)
    scores[1 % rows, 5] = 4 / vocab
    return scores


def test_prompt_ignore_length_hugging_face_expectations():
    """From HF's test_repetition_penalty_dist_process_exclusion_no_new_input_ids and ..._with_new_input_ids."""
    ids, scores = np.array([[0, 1], [5, 0]]), _hf_uniform(2, 10)
    out = RepetitionPenaltyLogitsProcessor(2.0, prompt_ignore_length=ids.shape[-1])(ids, scores)
    np.testing.assert_array_equal(out, scores)                    # only the prompt so far: nothing is penalised
    later = np.array([[0, 1, 0, 1], [5, 0, 5, 0]])
    out = RepetitionPenaltyLogitsProcessor(2.0, prompt_ignore_length=ids.shape[-1])(later, scores)
    np.testing.assert_allclose([out[0, 0], out[0, 1], out[1, 0], out[1, 5]], [-0.1 * 2, 0.1 / 2, 0.1 / 2, 0.4 / 2],
                               rtol=1e-6)
    assert not (out == scores).all()


def _log_softmax(x):
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def test_normalize_hugging_face_expectations():
    """From HF's test_repetition_penalty_normalized and test_repetition_penalty_normalized_reward (HF main;
    the installed transformers may predate ``normalize``)."""
    ids, scores = np.array([[0, 1], [5, 0]]), _hf_uniform(2, 10)
    out = RepetitionPenaltyLogitsProcessor(2.0, normalize=True)(ids, scores)
    log_p = _log_softmax(scores.astype(np.float64))
    np.testing.assert_allclose([out[0, 0], out[0, 1], out[1, 5]], [2 * log_p[0, 0], 2 * log_p[0, 1], 2 * log_p[1, 5]],
                               atol=1e-4)
    np.testing.assert_allclose(out[0, 2], log_p[0, 2], atol=1e-4)    # unseen tokens keep their log-probability
    scores = np.full((1, 10), 0.1, dtype=np.float32)
    scores[0, 0] = 0.5
    out = RepetitionPenaltyLogitsProcessor(0.5, normalize=True)(np.array([[0, 1]]), scores)
    log_p = _log_softmax(scores.astype(np.float64))
    np.testing.assert_allclose(out[0, :2], 0.5 * log_p[0, :2], atol=1e-4)
    assert out[0, 0] > log_p[0, 0]                                   # a reward moves log p toward 0


@pytest.mark.reference
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kwargs", [dict(penalty=1.3, prompt_ignore_length=0),
                                    dict(penalty=1.3, prompt_ignore_length=5),
                                    dict(penalty=0.7, prompt_ignore_length=20), dict(penalty=2.0, normalize=True),
                                    dict(penalty=0.5, prompt_ignore_length=4, normalize=True)],
                         ids=lambda k: "-".join(f"{n}={v}" for n, v in k.items()))
def test_repetition_penalty_options_parity_with_hugging_face(kwargs, dtype):
    torch = pytest.importorskip("torch")
    hf = pytest.importorskip("transformers.generation.logits_process")
    accepted = inspect.signature(hf.RepetitionPenaltyLogitsProcessor).parameters
    if any(name not in accepted for name in kwargs):
        pytest.skip(f"the installed transformers has no {[n for n in kwargs if n not in accepted]}")
    ours, theirs = RepetitionPenaltyLogitsProcessor(**kwargs), hf.RepetitionPenaltyLogitsProcessor(**kwargs)
    for seed in range(3):
        ids, scores = _batch(seed, dtype)
        ids[3, 5] = 2                                                # HF main drops its guard for ids >= V
        expected = theirs(torch.from_numpy(ids), torch.from_numpy(scores.copy())).numpy()
        tolerance = dict(rtol=0, atol=0) if not kwargs.get("normalize") else dict(rtol=1e-6, atol=1e-5)
        np.testing.assert_allclose(ours(ids, scores), expected, **tolerance)


@pytest.mark.reference
def test_prompt_ignore_length_per_row_parity_with_hugging_face():
    """The installed transformers takes a 1-D tensor of lengths, one per row; minigen a list (or a 1-D array)."""
    torch = pytest.importorskip("torch")
    hf = pytest.importorskip("transformers.generation.logits_process")
    lengths = [0, 3, 7, 12]
    try:
        theirs = hf.RepetitionPenaltyLogitsProcessor(1.4, prompt_ignore_length=torch.tensor(lengths))
        theirs(torch.zeros((4, 1), dtype=torch.long), torch.zeros((4, 3)))
    except (TypeError, ValueError):
        pytest.skip("the installed transformers takes an int prompt_ignore_length only")
    ids, scores = _batch(1)
    expected = theirs(torch.from_numpy(ids), torch.from_numpy(scores.copy())).numpy()
    np.testing.assert_array_equal(RepetitionPenaltyLogitsProcessor(1.4, prompt_ignore_length=lengths)(ids, scores),
                                  expected)
    np.testing.assert_array_equal(RepetitionPenaltyLogitsProcessor(1.4, prompt_ignore_length=np.array(lengths))(
        ids, scores), expected)


def test_prompt_ignore_length_counts_only_the_later_ids():
    ids, scores = _batch(2)
    for n in (0, 3, 11, 12, 50):                                     # T = 12: the last two count nothing
        expected = RepetitionPenaltyLogitsProcessor(1.7)(ids[:, n:], scores) if n < ids.shape[1] else scores
        np.testing.assert_array_equal(RepetitionPenaltyLogitsProcessor(1.7, prompt_ignore_length=n)(ids, scores),
                                      expected)
    per_row = RepetitionPenaltyLogitsProcessor(1.7, prompt_ignore_length=[0, 2, 5, 12])(ids, scores)
    for b, n in enumerate([0, 2, 5, 12]):
        row = RepetitionPenaltyLogitsProcessor(1.7, prompt_ignore_length=n)(ids[b:b + 1], scores[b:b + 1])
        np.testing.assert_array_equal(per_row[b:b + 1], row)


def test_normalize_is_the_penalty_on_log_probabilities():
    """log p for every token, penalty * log p for the tokens seen: one rule whatever the sign of the logit."""
    ids, scores = _batch(3)
    log_p = _log_softmax(scores)
    seen = _counts(ids, V) > 0
    out = RepetitionPenaltyLogitsProcessor(1.8, normalize=True)(ids, scores)
    np.testing.assert_allclose(out, np.where(seen, 1.8 * log_p, log_p), rtol=1e-13, atol=1e-13)
    assert (out[seen] <= log_p[seen]).all()


@pytest.mark.parametrize("kwargs", [dict(prompt_ignore_length=3), dict(prompt_ignore_length=[0, 1, 4, 20]),
                                    dict(normalize=True), dict(prompt_ignore_length=2, normalize=True)])
def test_repetition_penalty_options_on_the_backends(backend, kwargs):
    ids, scores = _batch(6)
    processor = RepetitionPenaltyLogitsProcessor(1.3, **kwargs)
    ids_copy, scores_copy = ids.copy(), scores.copy()
    expected = processor(ids, scores)
    np.testing.assert_array_equal(ids, ids_copy)
    np.testing.assert_array_equal(scores, scores_copy)
    np.testing.assert_allclose(backend.numpy(processor(backend.asarray(ids), backend.asarray(scores))), expected,
                               rtol=1e-13, atol=0)


REPETITION_OPTIONS_BAD = [
    (dict(prompt_ignore_length=-1), "prompt_ignore_length must be None, an integer >= 0, or a list .*, got -1"),
    (dict(prompt_ignore_length=2.0), "prompt_ignore_length must be .*, got 2.0"),
    (dict(prompt_ignore_length=True), "prompt_ignore_length must be .*, got True"),
    (dict(prompt_ignore_length=[1, -2]), r"prompt_ignore_length must be .*, got \[1, -2\]"),
    (dict(prompt_ignore_length=[]), r"prompt_ignore_length must be .*, got \[\]"),
    (dict(normalize="yes"), "RepetitionPenaltyLogitsProcessor: normalize must be True or False, got 'yes'"),
    (dict(normalize=1), "normalize must be True or False, got 1"),
]


@pytest.mark.parametrize("kwargs,match", REPETITION_OPTIONS_BAD, ids=[str(k) for k, _ in REPETITION_OPTIONS_BAD])
def test_repetition_penalty_options_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RepetitionPenaltyLogitsProcessor(1.2, **kwargs)


def test_prompt_ignore_length_per_row_needs_one_length_per_row():
    processor = RepetitionPenaltyLogitsProcessor(1.2, prompt_ignore_length=[1, 2])
    with pytest.raises(ValueError, match=r"RepetitionPenaltyLogitsProcessor: prompt_ignore_length must be 3 lengths, "
                                         r"one per row, got 2"):
        processor(np.zeros((3, 2), dtype=np.int64), np.zeros((3, 4)))

