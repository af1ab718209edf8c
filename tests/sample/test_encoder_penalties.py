"""Encoder penalties: Hugging Face's expectations and parity, beams, backends, purity, bad arguments, extremes."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigen.sample as P
from minigen.sample import EncoderNoRepeatNGramLogitsProcessor, EncoderRepetitionPenaltyLogitsProcessor
from tests.sample.contract import assert_pure, assert_same_on_the_device

V = 12
SOURCE = np.array([[1, 2, 1, 3, 4, 1, 2], [0, 0, 5, 2, 5, 7, 0]])          # two source rows, ids from a small set


def _batch(seed, dtype=np.float64, beams=2):
    """input_ids (2 * beams, 9) from a small alphabet, so that the sources' n-grams come back, and scores."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 8, size=(2 * beams, 9))
    ids[0, -2:] = [1, 2]                     # ends as a source 3-gram (1, 2, 1) begins
    ids[-1, -2:] = [7, 5]                    # ends as source row 1's (5, 2) and (5, 7) begin, no 3-gram
    return ids, (3 * rng.standard_normal((2 * beams, V))).astype(dtype)


def _uniform(rows, vocab):
    return np.full((rows, vocab), 1 / vocab, dtype=np.float32)


PROCESSORS = [EncoderRepetitionPenaltyLogitsProcessor(1.5, SOURCE),
              EncoderRepetitionPenaltyLogitsProcessor(0.6, SOURCE),
              EncoderRepetitionPenaltyLogitsProcessor(2.0, SOURCE, normalize=True),
              EncoderNoRepeatNGramLogitsProcessor(1, SOURCE), EncoderNoRepeatNGramLogitsProcessor(2, SOURCE),
              EncoderNoRepeatNGramLogitsProcessor(3, SOURCE)]
IDS = ["reward", "penalise", "normalize", "ngram-1", "ngram-2", "ngram-3"]


# --------------------------------------------------------------------------- Hugging Face's own tests, ported

def test_encoder_repetition_penalty_hugging_face_expectations():
    """From HF tests/generation/test_logits_process.py::test_encoder_repetition_penalty_dist_process."""
    ids, scores = np.array([[0, 1], [5, 0]]), _uniform(2, 10)
    scores[0, 0], scores[1, 5] = -0.1, 0.4
    out = EncoderRepetitionPenaltyLogitsProcessor(penalty=2.0, encoder_input_ids=ids)(ids, scores)
    np.testing.assert_allclose([out[0, 0], out[0, 1], out[1, 0], out[1, 5]], [-0.1 / 2, 0.1 * 2, 0.1 * 2, 0.4 * 2],
                               rtol=1e-6)
    np.testing.assert_allclose([out[0, 2], out[1, 2]], [0.1, 0.1], rtol=1e-6)    # not in the source: unchanged
    assert not (out == scores).all()


def test_encoder_repetition_penalty_normalized_hugging_face_expectations():
    """From HF main's test_encoder_repetition_penalty_normalized (the installed transformers may predate it)."""
    ids, scores = np.array([[0, 1], [5, 0]]), _uniform(2, 10)
    scores[0, 0], scores[1, 5] = -0.1, 0.4
    out = EncoderRepetitionPenaltyLogitsProcessor(penalty=2.0, encoder_input_ids=ids, normalize=True)(ids, scores)
    s = scores.astype(np.float64)
    log_p = s - np.log(np.exp(s).sum(axis=-1, keepdims=True))
    np.testing.assert_allclose([out[0, 0], out[1, 5]], [log_p[0, 0] / 2, log_p[1, 5] / 2], atol=1e-4)
    np.testing.assert_allclose(out[0, 2], log_p[0, 2], atol=1e-4)


def test_encoder_no_repeat_ngram_hugging_face_expectations():
    """From HF tests/generation/test_logits_process.py::test_encoder_no_repeat_ngram_dist_processor."""
    source = np.array([1, 2, 1, 1])                                       # one source, two beams
    ids = np.array([[1, 2, 1], [8, 0, 2]])
    two, three = (EncoderNoRepeatNGramLogitsProcessor(n, encoder_input_ids=source) for n in (2, 3))
    assert np.isinf(two(ids, _uniform(2, 3))).tolist() == [[False, True, True], [False, True, False]]
    assert np.isinf(three(ids, _uniform(2, 3))).tolist() == [[False, True, False], [False, False, False]]
    source = np.array([[1, 2, 1, 1], [0, 0, 2, 1]])                       # batched: two sources, two beams each
    ids = np.array([[1, 2, 1], [1, 0, 2], [0, 0, 0], [0, 2, 2]])
    two, three = (EncoderNoRepeatNGramLogitsProcessor(n, encoder_input_ids=source) for n in (2, 3))
    assert np.isinf(two(ids, _uniform(4, 3))).tolist() == [[False, True, True], [False, True, False],
                                                           [True, False, True], [False, True, False]]
    assert np.isinf(three(ids, _uniform(4, 3))).tolist() == [[False, True, False], [False, False, False],
                                                             [False, False, True], [False, False, False]]


# --------------------------------------------------------------------------- Hugging Face parity

HF_CASES = [
    ("EncoderRepetitionPenaltyLogitsProcessor", dict(penalty=1.3)),
    ("EncoderRepetitionPenaltyLogitsProcessor", dict(penalty=0.6)),
    ("EncoderRepetitionPenaltyLogitsProcessor", dict(penalty=2.0, normalize=True)),
    ("EncoderNoRepeatNGramLogitsProcessor", dict(encoder_ngram_size=1)),
    ("EncoderNoRepeatNGramLogitsProcessor", dict(encoder_ngram_size=2)),
    ("EncoderNoRepeatNGramLogitsProcessor", dict(encoder_ngram_size=3)),
    ("EncoderNoRepeatNGramLogitsProcessor", dict(encoder_ngram_size=12)),     # longer than the context: bans nothing
]


@pytest.mark.reference
@pytest.mark.parametrize("beams", [1, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,kwargs", HF_CASES, ids=[f"{n}-{k}" for n, k in HF_CASES])
def test_parity_with_hugging_face(name, kwargs, dtype, beams):
    torch = pytest.importorskip("torch")
    hf = pytest.importorskip("transformers.generation.logits_process")
    accepted = inspect.signature(getattr(hf, name)).parameters
    if any(n not in accepted for n in kwargs):
        pytest.skip(f"the installed transformers' {name} has no {[n for n in kwargs if n not in accepted]}")
    ours = getattr(P, name)(encoder_input_ids=SOURCE, **kwargs)
    theirs = getattr(hf, name)(encoder_input_ids=torch.from_numpy(SOURCE), **kwargs)
    for seed in range(3):
        ids, scores = _batch(seed, dtype, beams)
        expected = theirs(torch.from_numpy(ids), torch.from_numpy(scores.copy())).numpy()
        tolerance = dict(rtol=1e-6, atol=1e-5) if kwargs.get("normalize") else dict(rtol=0, atol=0)
        np.testing.assert_allclose(ours(ids, scores), expected, **tolerance)


# --------------------------------------------------------------------------- the rules, by hand

@given(penalty=st.floats(0.01, 100.0), beams=st.integers(1, 3), seed=st.integers(0, 1000))
def test_encoder_repetition_penalty_by_hand(penalty, beams, seed):
    ids, scores = _batch(seed, beams=beams)
    out = EncoderRepetitionPenaltyLogitsProcessor(penalty, SOURCE)(ids, scores)
    for b in range(scores.shape[0]):
        source = set(SOURCE[b // beams].tolist())
        for v in range(V):
            s = scores[b, v]
            expected = (s * penalty if s >= 0 else s / penalty) if v in source else s
            assert out[b, v] == pytest.approx(expected, rel=1e-15)


def test_encoder_no_repeat_ngram_by_hand():
    ids, scores = _batch(0)
    out = EncoderNoRepeatNGramLogitsProcessor(3, SOURCE)(ids, scores)
    assert np.flatnonzero(np.isinf(out[0])).tolist() == [1]                 # (1, 2, 1) in source row 0
    assert np.flatnonzero(np.isinf(out[3])).tolist() == []                  # no 3-gram of row 1 starts (7, 5)
    out = EncoderNoRepeatNGramLogitsProcessor(2, SOURCE)(ids, scores)
    assert np.flatnonzero(np.isinf(out[3])).tolist() == [2, 7]              # (5, 2) and (5, 7) in source row 1
    assert np.flatnonzero(np.isinf(EncoderNoRepeatNGramLogitsProcessor(1, SOURCE)(ids, scores)[2])).tolist() == \
        [0, 2, 5, 7]                                                         # n = 1: every token of source row 1


def test_ids_beyond_the_vocabulary_are_ignored():
    source = np.array([[1, 20, 1, 30]])
    scores = np.array([[1.0, 2.0, -2.0]])
    np.testing.assert_array_equal(EncoderRepetitionPenaltyLogitsProcessor(2.0, source)(np.array([[0]]), scores),
                                  [[1.0, 4.0, -2.0]])
    np.testing.assert_array_equal(EncoderNoRepeatNGramLogitsProcessor(2, source)(np.array([[1]]), scores),
                                  scores)                                   # bans 20 and 30: not in the vocabulary


# --------------------------------------------------------------------------- purity, backends, extremes

@pytest.mark.parametrize("processor", PROCESSORS, ids=IDS)
@given(scores=hnp.arrays(np.float64, (4, V), elements=st.floats(-30, 30)),
       ids=hnp.arrays(np.int64, (4, 5), elements=st.integers(0, V + 2)))
def test_inputs_are_never_modified(processor, scores, ids):
    assert_pure(processor, ids, scores)


@pytest.mark.parametrize("processor", PROCESSORS, ids=IDS)
def test_on_the_backends(backend, processor):
    ids, scores = _batch(7)
    assert_same_on_the_device(backend, processor, ids, scores, rtol=1e-13)


def test_a_source_on_the_device(backend):
    ids, scores = _batch(8)
    for make, arg in [(EncoderRepetitionPenaltyLogitsProcessor, 1.7), (EncoderNoRepeatNGramLogitsProcessor, 2)]:
        out = make(arg, backend.asarray(SOURCE))(backend.asarray(ids), backend.asarray(scores))
        np.testing.assert_array_equal(backend.numpy(out), make(arg, SOURCE)(ids, scores))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("processor", PROCESSORS, ids=IDS)
def test_extreme_logits_give_no_nan(processor, dtype):
    ids = np.array([[0, 1], [3, 1], [5, 5], [2, 0]])
    scores = np.tile(np.array([1e4, -1e4, 9999.0, 0.0, -np.inf, 1e4 - 1e-3, -1e4, 1e4, 3.0, -3.0, 0.0, -np.inf],
                              dtype=dtype), (4, 1))
    scores[3] = -np.inf
    scores[3, 6] = -1e4                                                     # one finite entry left
    out = processor(ids, scores)                                            # RuntimeWarnings are errors here
    assert not np.isnan(out).any()


# --------------------------------------------------------------------------- bad arguments

SCALE = r"must be a number in \[0.0001, 10000\]"
BAD = [
    (EncoderRepetitionPenaltyLogitsProcessor, dict(penalty=0.0, encoder_input_ids=SOURCE),
     f"EncoderRepetitionPenaltyLogitsProcessor: penalty {SCALE}, got 0.0", ValueError),
    (EncoderRepetitionPenaltyLogitsProcessor, dict(penalty=-1.0, encoder_input_ids=SOURCE),
     f"penalty {SCALE}, got -1.0", ValueError),
    (EncoderRepetitionPenaltyLogitsProcessor, dict(penalty=float("nan"), encoder_input_ids=SOURCE),
     f"penalty {SCALE}, got nan", ValueError),
    (EncoderRepetitionPenaltyLogitsProcessor, dict(penalty=True, encoder_input_ids=SOURCE),
     f"penalty {SCALE}, got True", ValueError),
    (EncoderRepetitionPenaltyLogitsProcessor, dict(penalty=1.2, encoder_input_ids=SOURCE, normalize="no"),
     "normalize must be True or False, got 'no'", ValueError),
    (EncoderRepetitionPenaltyLogitsProcessor, dict(penalty=1.2, encoder_input_ids=[[1, 2]]),
     "EncoderRepetitionPenaltyLogitsProcessor: encoder_input_ids must be an integer array of token ids, got list",
     TypeError),
    (EncoderRepetitionPenaltyLogitsProcessor, dict(penalty=1.2, encoder_input_ids=np.array([[1.0]])),
     "encoder_input_ids must be an integer array of token ids, got float64", TypeError),
    (EncoderRepetitionPenaltyLogitsProcessor, dict(penalty=1.2, encoder_input_ids=np.array([[1, -3]])),
     "encoder_input_ids must be ids >= 0, got id -3", IndexError),
    (EncoderNoRepeatNGramLogitsProcessor, dict(encoder_ngram_size=0, encoder_input_ids=SOURCE),
     "EncoderNoRepeatNGramLogitsProcessor: encoder_ngram_size must be a positive integer, got 0", ValueError),
    (EncoderNoRepeatNGramLogitsProcessor, dict(encoder_ngram_size=2.0, encoder_input_ids=SOURCE),
     "encoder_ngram_size must be a positive integer, got 2.0", ValueError),
    (EncoderNoRepeatNGramLogitsProcessor, dict(encoder_ngram_size=2, encoder_input_ids=np.zeros((1, 0), np.int64)),
     r"encoder_input_ids must be a non-empty \(batch, length\) or \(length,\) array of ids, got shape \(1, 0\)",
     ValueError),
    (EncoderNoRepeatNGramLogitsProcessor, dict(encoder_ngram_size=2, encoder_input_ids=np.zeros((1, 2, 2), np.int64)),
     r"encoder_input_ids must be .*, got shape \(1, 2, 2\)", ValueError),
]


@pytest.mark.parametrize("make,kwargs,match,error", BAD, ids=[f"{m.__name__}-{i}" for i, (m, *_) in enumerate(BAD)])
def test_bad_arguments(make, kwargs, match, error):
    with pytest.raises(error, match=match):
        make(**kwargs)


@pytest.mark.parametrize("processor", PROCESSORS, ids=IDS)
def test_the_batch_must_be_a_whole_number_of_beams_per_source(processor):
    name = type(processor).__name__
    with pytest.raises(ValueError, match=rf"{name}: input_ids must be a batch that is a multiple of "
                                         r"encoder_input_ids' 2 rows \(num_beams rows per source\), got 3 rows"):
        processor(np.zeros((3, 2), np.int64), np.zeros((3, V)))


def test_inputs_are_checked():
    with pytest.raises(ValueError, match=r"EncoderNoRepeatNGramLogitsProcessor: input_ids must be a \(batch, length\)"):
        EncoderNoRepeatNGramLogitsProcessor(2, SOURCE)(np.zeros((4, 2), np.int64), np.zeros((2, V)))
