"""Length, forcing and hygiene processors: Hugging Face's expectations and parity, backends, purity, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from minigen.sample import (
    ExponentialDecayLengthPenalty, ForcedBOSTokenLogitsProcessor, ForcedEOSTokenLogitsProcessor,
    InfNanRemoveLogitsProcessor, LogitNormalization, LogitsProcessorList, MinLengthLogitsProcessor,
    MinNewTokensLengthLogitsProcessor, PrefixConstrainedLogitsProcessor, SequenceBiasLogitsProcessor,
)
from tests.sample.contract import assert_as_hugging_face, assert_same_on_the_device

V = 16


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _batch(seed, T, dtype=np.float64):
    """input_ids (4, T) from a small alphabet, so that biased sequences occur, and scores (4, V) with a few -inf."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 6, size=(4, T))
    ids[0, -2:] = [2, 3][-T:]                 # ends with the prefix of the biased sequence [2, 3, 7]
    ids[1, -1] = 4                            # ends with the prefix of [4, 5]
    scores = (3 * rng.standard_normal((4, V))).astype(dtype)
    scores[1, 0] = -np.inf                    # an EOS score already -inf
    scores[2, 5] = -np.inf
    return ids, scores


def _uniform(batch_size, length, dtype=np.float32):
    """Hugging Face's ``_get_uniform_logits``."""
    return np.ones((batch_size, length), dtype=dtype) / length


def _ids(batch_size, length, seed=0):
    """Hugging Face's ``ids_tensor((batch_size, length), vocab_size=20)``."""
    return np.random.default_rng(seed).integers(0, 20, size=(batch_size, length))


def _allowed(batch_id, ids):
    """A prefix function that works on Hugging Face's torch rows and on minigen's NumPy rows."""
    return sorted({int(t) + 6 for t in ids[-2:]} | {batch_id, 11})


# --------------------------------------------------------------------------- Hugging Face's expectations
# Ported from tests/generation/test_logits_process.py in huggingface/transformers (class LogitsProcessorTest):
# its inputs (uniform float32 scores, random ids) and expected values, written with NumPy.

def test_min_length_dist_processor():
    """HF test_min_length_dist_processor."""
    ban = MinLengthLogitsProcessor(min_length=10, eos_token_id=0)
    out = ban(_ids(4, 5), _uniform(4, 20))
    assert out[:, 0].tolist() == 4 * [-math.inf]
    assert not np.isinf(ban(_ids(4, 15), _uniform(4, 20))).any()


@pytest.mark.parametrize("eos_token_id", [0, [0, 18]])
def test_new_min_length_dist_processor(eos_token_id):
    """HF test_new_min_length_dist_processor: the first 5 tokens (the prompt) are skipped."""
    ban = MinNewTokensLengthLogitsProcessor(prompt_length_to_skip=5, min_new_tokens=3, eos_token_id=eos_token_id)
    assert ban.prompt_length_to_skip == 5
    expected = 4 * [-math.inf] * (len(eos_token_id) if isinstance(eos_token_id, list) else 1)
    for length in (5, 2, 6, 7):                                      # 0, -3, 1 and 2 new tokens: banned
        assert ban(_ids(4, length), _uniform(4, 20))[:, eos_token_id].flatten().tolist() == expected
    for length in (8, 15):                                           # 3 and 10 new tokens: free
        assert not np.isinf(ban(_ids(4, length), _uniform(4, 20))).any()


def test_bias_dist_processor():
    """HF test_bias_dist_processor (the dict form; overlapping terminations included)."""
    ids = np.array([[0, 1, 3, 1], [0, 1, 0, 1]])
    sequence_bias = {(1,): 100.0, (4,): 100.0, (1, 0): -100.0, (0, 1, 2): -100.0, (1, 3, 1, 3): -100.0,
                     (1, 3, 1, 3, 1, 3): -100.0}
    scores = np.zeros((2, 5), dtype=np.float32)
    out = SequenceBiasLogitsProcessor(sequence_bias=sequence_bias)(ids, scores)
    assert out.tolist() == [[-100.0, 100.0, 0.0, -100.0, 100.0], [-100.0, 100.0, -100.0, 0.0, 100.0]]
    assert not (scores == out).all()


def test_prefix_constrained_logits_processor():
    """HF test_prefix_constrained_logits_processor."""
    ids, scores = np.array([[0, 1, 3, 1], [0, 1, 0, 1]]), _uniform(2, 5)
    out = PrefixConstrainedLogitsProcessor(lambda batch_id, inputs_ids: [[0, 1], [2, 3]][batch_id], 1)(ids, scores)
    assert np.isinf(out).tolist() == [[False, False, True, True, True], [True, True, False, False, True]]
    with pytest.raises(ValueError, match="prefix_allowed_tokens_fn must be a function returning a non-empty list"):
        PrefixConstrainedLogitsProcessor(lambda batch_id, inputs_ids: [], 1)(ids, scores)


def test_forced_bos_token_logits_processor():
    """HF test_forced_bos_token_logits_processor."""
    force = ForcedBOSTokenLogitsProcessor(bos_token_id=0)
    out = force(_ids(4, 1), _uniform(4, 20))
    assert np.isneginf(out[:, 1:]).all() and out[:, 0].tolist() == 4 * [0]
    assert not np.isinf(force(_ids(4, 4), _uniform(4, 20))).any()


def test_forced_eos_token_logits_processor():
    """HF test_forced_eos_token_logits_processor."""
    force = ForcedEOSTokenLogitsProcessor(max_length=5, eos_token_id=0)
    out = force(_ids(4, 4), _uniform(4, 20))
    assert np.isneginf(out[:, 1:]).all() and out[:, 0].tolist() == 4 * [0]
    assert not np.isinf(force(_ids(4, 3), _uniform(4, 20))).any()


def test_remove_nan_inf_logits_processor():
    """HF test_remove_nan_inf_logits_processor."""
    scores = np.array([[0.0, 0.7, 0.8, np.nan], [0.1, np.inf, 0.3, -np.inf]], dtype=np.float32)
    out = InfNanRemoveLogitsProcessor()(_ids(2, 4), scores)
    info = np.finfo(np.float32)
    np.testing.assert_allclose(out, [[0.0, 0.7, 0.8, 0.0], [0.1, info.max, 0.3, info.min]], atol=1e-6, rtol=0)
    assert out.dtype == np.float32


def test_exponential_decay_length_penalty():
    """HF test_exponential_decay_length_penalty: start 5 after a prompt of 2, factor 1.1."""
    decay = ExponentialDecayLengthPenalty(exponential_decay_length_penalty=(5, 1.1), eos_token_id=0,
                                          input_ids_seq_length=2)
    scores = _uniform(4, 20)
    assert decay(_ids(4, 2), scores)[:, 0].tolist() == scores[:, 0].tolist()      # before the start
    assert (decay(_ids(4, 20), scores)[:, 0] > scores[:, 0]).all()                 # after it
    assert (decay(_ids(4, 20), -scores)[:, 0] > -scores[:, 0]).all()               # negative scores grow too


def test_normalization():
    """HF test_normalization."""
    scores = np.array([[-23.18, -29.96, -43.54, 47.77], [-33.58, -26.87, -32.96, 22.51]], dtype=np.float32)
    p = np.exp(LogitNormalization()(_ids(2, 1), scores))
    np.testing.assert_allclose(p.sum(axis=-1), np.ones(2), rtol=1e-5)
    np.testing.assert_allclose(p, _softmax(scores), rtol=1e-5, atol=1e-8)


def test_processor_list():
    """HF test_processor_list, for MinLengthLogitsProcessor: a list equals the processors one after another."""
    ids, scores = _ids(4, 10), _uniform(4, 15)
    chain = [MinLengthLogitsProcessor(10, eos_token_id=0), SequenceBiasLogitsProcessor([[[1], 2.0]]),
             LogitNormalization()]
    one_by_one = scores
    for processor in chain:
        one_by_one = processor(ids, one_by_one)
    np.testing.assert_array_equal(LogitsProcessorList(chain)(ids, scores), one_by_one)


# --------------------------------------------------------------------------- Hugging Face parity

HF_CASES = [
    ("MinLengthLogitsProcessor", dict(min_length=6, eos_token_id=0)),
    ("MinLengthLogitsProcessor", dict(min_length=9, eos_token_id=[0, 7, 40])),            # 40 >= V: ignored
    ("MinNewTokensLengthLogitsProcessor", dict(prompt_length_to_skip=3, min_new_tokens=4, eos_token_id=[2, 0])),
    ("ForcedBOSTokenLogitsProcessor", dict(bos_token_id=3)),
    ("ForcedEOSTokenLogitsProcessor", dict(max_length=5, eos_token_id=0)),
    ("ForcedEOSTokenLogitsProcessor", dict(max_length=8, eos_token_id=[0, 15])),
    ("ExponentialDecayLengthPenalty", dict(exponential_decay_length_penalty=(2, 1.6), eos_token_id=0,
                                           input_ids_seq_length=3)),
    ("ExponentialDecayLengthPenalty", dict(exponential_decay_length_penalty=(0, 0.7), eos_token_id=[0, 4],
                                           input_ids_seq_length=1)),
    ("ExponentialDecayLengthPenalty", dict(exponential_decay_length_penalty=(1, 1.01), eos_token_id=[5],
                                           input_ids_seq_length=2)),
    ("SequenceBiasLogitsProcessor", dict(sequence_bias=[[[1], 0.5], [[2, 3, 7], -1.25], [[4, 5], 2.0], [[3], -0.75],
                                                        [[0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5], 3.0], [[9, 5], 1.5]])),
    ("SequenceBiasLogitsProcessor", dict(sequence_bias={(7,): -math.inf, (2, 3, 7): 4.0, (4, 8): -2.5})),
    ("PrefixConstrainedLogitsProcessor", dict(prefix_allowed_tokens_fn=_allowed, num_beams=1)),
    ("PrefixConstrainedLogitsProcessor", dict(prefix_allowed_tokens_fn=_allowed, num_beams=2)),
    ("InfNanRemoveLogitsProcessor", dict()),
    ("LogitNormalization", dict()),
]


@pytest.mark.reference
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,kwargs", HF_CASES, ids=[f"{n}-{k}" for n, k in HF_CASES])
def test_parity_with_hugging_face(name, kwargs, dtype):
    def batches():
        for seed in range(2):
            for T in range(1, 13):                                 # the lengths cross every threshold above
                ids, scores = _batch(seed, T, dtype)
                if name == "InfNanRemoveLogitsProcessor":
                    scores[0, :3], scores[3, -2:] = [np.nan, np.inf, -np.inf], np.nan
                yield ids, scores
    # LogitNormalization: two implementations of log-softmax
    rtol = (1e-6 if dtype == np.float32 else 1e-13) if name == "LogitNormalization" else 0.0
    assert_as_hugging_face(name, kwargs, batches(), rtol)


@pytest.mark.reference
def test_prefix_constraint_with_dead_beams_matches_hugging_face():
    """When every allowed token of every beam of a prompt is -inf, the allowed tokens get 0 (both beams of prompt 0)."""
    torch = pytest.importorskip("torch")
    hf = pytest.importorskip("transformers.generation.logits_process")
    ids, scores = _batch(3, 4)
    allowed = [sorted(_allowed(0, row)) for row in ids[:2]]
    scores[0, allowed[0]] = scores[1, allowed[1]] = -np.inf          # prompt 0: no allowed token is possible
    scores[2, _allowed(1, ids[2])] = -np.inf                         # prompt 1: only its first beam is dead
    out = PrefixConstrainedLogitsProcessor(_allowed, 2)(ids, scores)
    expected = hf.PrefixConstrainedLogitsProcessor(_allowed, 2)(torch.from_numpy(ids), torch.from_numpy(scores))
    np.testing.assert_array_equal(out, expected.numpy())
    assert out[0, allowed[0]].tolist() == [0.0] * len(allowed[0])
    assert np.isneginf(out[2]).all()


@pytest.mark.reference
def test_sequence_bias_list_and_dict_forms_agree_with_hugging_face():
    torch = pytest.importorskip("torch")
    hf = pytest.importorskip("transformers.generation.logits_process")
    pairs = [[[3], 1.0], [[2, 3, 7], -2.0], [[4, 5], 0.25]]
    ids, scores = _batch(4, 6)
    ours = SequenceBiasLogitsProcessor(pairs)(ids, scores)
    np.testing.assert_array_equal(ours, SequenceBiasLogitsProcessor({tuple(k): b for k, b in pairs})(ids, scores))
    np.testing.assert_array_equal(ours, hf.SequenceBiasLogitsProcessor(pairs)(torch.from_numpy(ids),
                                                                                torch.from_numpy(scores)).numpy())


# --------------------------------------------------------------------------- behaviour

def test_sequence_bias_applies_to_the_last_token_only_after_its_prefix():
    bias = SequenceBiasLogitsProcessor([[[2, 3, 7], 1.0], [[3, 7], 0.5], [[7], 0.25], [[1, 7], 8.0]])
    ids = np.array([[0, 2, 3], [2, 0, 3], [3, 2, 1]])
    out = bias(ids, np.zeros((3, V)))
    assert out[:, 7].tolist() == [1.75, 0.75, 8.25]                 # biases that end on one token add up
    assert np.count_nonzero(out) == 3
    assert bias(np.array([[3]]), np.zeros((1, V)))[0, 7] == 0.75     # a prefix longer than the context is skipped


def test_sequence_bias_keeps_the_last_of_repeated_sequences_as_a_dict_would():
    bias = SequenceBiasLogitsProcessor([[[1], 1.0], [(1,), 3.0]])
    assert bias.sequence_bias == {(1,): 3.0}


def test_sequence_bias_refuses_ids_outside_the_vocabulary():
    with pytest.raises(ValueError, match=r"SequenceBiasLogitsProcessor: sequence_bias must be ids in \[0, 16\), "
                                         r"got \[16, 20\]"):
        SequenceBiasLogitsProcessor([[[1, 20], 1.0], [[16], 2.0]])(np.array([[1]]), np.zeros((1, V)))


def test_prefix_constraint_passes_batch_ids_and_host_rows(backend):
    seen = []

    def allowed(batch_id, ids):
        seen.append((batch_id, type(ids), ids.tolist()))
        return np.array([batch_id])                                 # an array of ids is accepted too

    ids = np.array([[5, 1], [5, 2], [6, 3], [6, 4]])
    out = PrefixConstrainedLogitsProcessor(allowed, num_beams=2)(backend.asarray(ids), backend.asarray(np.ones((4, 3))))
    assert seen == [(0, np.ndarray, [5, 1]), (0, np.ndarray, [5, 2]), (1, np.ndarray, [6, 3]), (1, np.ndarray, [6, 4])]
    assert np.isfinite(backend.numpy(out)).tolist() == [[True, False, False]] * 2 + [[False, True, False]] * 2


def test_prefix_function_gets_a_copy_of_the_ids():
    def scribble(batch_id, ids):
        ids[:] = 0
        return [1]

    ids = np.array([[4, 5]])
    PrefixConstrainedLogitsProcessor(scribble, 1)(ids, np.ones((1, 3)))
    assert ids.tolist() == [[4, 5]]


@pytest.mark.parametrize("returned,given", [([0, 3], r"\[0, 3\]"), ([-1], r"\[-1\]"), ([1.0], r"\[1.0\]"),
                                            (None, "None"), ([], r"\[\]")])
def test_prefix_constraint_refuses_bad_token_lists(returned, given):
    with pytest.raises(ValueError, match=r"PrefixConstrainedLogitsProcessor: prefix_allowed_tokens_fn must be a "
                                         rf"function returning a non-empty list of ids in \[0, 3\) \(batch_id 0, "
                                         rf"row 0\), got {given}$"):
        PrefixConstrainedLogitsProcessor(lambda b, ids: returned, 1)(np.array([[1]]), np.ones((1, 3)))


def test_prefix_constraint_needs_whole_groups_of_beams():
    with pytest.raises(ValueError, match=r"PrefixConstrainedLogitsProcessor: input_ids must be a batch of rows that "
                                         r"num_beams=2 divides, got 3 rows"):
        PrefixConstrainedLogitsProcessor(_allowed, 2)(np.zeros((3, 1), dtype=np.int64), np.ones((3, V)))


@pytest.mark.parametrize("T", range(1, 9))
def test_exponential_decay_follows_its_formula(T):
    decay = ExponentialDecayLengthPenalty((2, 1.5), eos_token_id=[0, 1], input_ids_seq_length=3)   # starts at 5
    scores = np.array([[2.0, -2.0, 1.0, -np.inf], [-np.inf, 0.0, 3.0, 1.0]])
    k = max(T - 5, 0)
    expected = scores.copy()
    expected[0, :2] = [2.0 * 1.5 ** k, -2.0 + 2.0 * (1.5 ** k - 1)]
    np.testing.assert_allclose(decay(np.zeros((2, T), dtype=np.int64), scores), expected, rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exponential_decay_saturates_instead_of_overflowing(dtype):
    """1.6 ** 2000 overflows a double (Hugging Face raises OverflowError); EOS then takes all the mass, without NaN."""
    decay = ExponentialDecayLengthPenalty((0, 1.6), eos_token_id=0, input_ids_seq_length=0)
    scores = np.array([[1e4, 2e4, -np.inf], [-1e4, 1e4, 0.0], [0.0, 1.0, 2.0]], dtype=dtype)
    out = decay(np.zeros((3, 20), dtype=np.int64), scores)                       # far from overflowing: the formula
    np.testing.assert_allclose(out[:2, 0], [1e4 * 1.6 ** 20, -1e4 + 1e4 * (1.6 ** 20 - 1)], rtol=1e-6)
    for T in (200, 2000):                                                       # 1.6 ** 200 > float32's max
        out = decay(np.zeros((3, T), dtype=np.int64), scores)
        assert np.isfinite(out[:, :2]).all() and out.dtype == dtype
        assert (out[:2, 0] >= np.finfo(dtype).max / 4).all() or (T == 200 and dtype == np.float64)
        assert out[2, 0] == 0.0                                                 # a 0 score stays 0
        assert (out[:2].argmax(axis=-1) == 0).all()
        assert (_softmax(out[:2].astype(np.float64))[:, 0] == 1.0).all()


def test_min_new_tokens_ignore_the_prompt_and_min_length_counts_it():
    scores = np.zeros((1, 4))
    for T, banned_new, banned_all in [(3, True, True), (4, True, True), (5, False, True), (6, False, False)]:
        ids = np.zeros((1, T), dtype=np.int64)
        assert np.isinf(MinNewTokensLengthLogitsProcessor(3, 2, eos_token_id=3)(ids, scores)[0, 3]) == banned_new
        assert np.isinf(MinLengthLogitsProcessor(6, eos_token_id=3)(ids, scores)[0, 3]) == banned_all


def test_forced_tokens_outside_the_vocabulary_are_refused_when_forced():
    with pytest.raises(ValueError, match=r"ForcedBOSTokenLogitsProcessor: bos_token_id must be ids in \[0, 4\), "
                                         r"got \[4\]"):
        ForcedBOSTokenLogitsProcessor(4)(np.array([[0]]), np.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"ForcedEOSTokenLogitsProcessor: eos_token_id must be ids in \[0, 4\), "
                                         r"got \[9\]"):
        ForcedEOSTokenLogitsProcessor(3, [1, 9])(np.array([[0, 0]]), np.zeros((1, 4)))
    assert not np.isinf(ForcedBOSTokenLogitsProcessor(4)(np.array([[0, 1]]), np.zeros((1, 4)))).any()   # not forced
    out = ForcedEOSTokenLogitsProcessor(3, [1, 2])(np.array([[0, 0]]), np.ones((1, 4)))
    assert out.tolist() == [[-math.inf, 0.0, 0.0, -math.inf]]


def test_repr():
    assert repr(ForcedEOSTokenLogitsProcessor(5, 2)) == "ForcedEOSTokenLogitsProcessor(max_length=5, eos_token_id=[2])"
    expected = "SequenceBiasLogitsProcessor(sequence_bias={(1, 2): -1.0})"
    assert repr(SequenceBiasLogitsProcessor([[[1, 2], -1]])) == expected


# --------------------------------------------------------------------------- hygiene: -inf and NaN rows

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_inf_nan_removal_on_whole_rows(backend, dtype):
    info = np.finfo(dtype)
    scores = np.array([[np.nan] * 3, [-np.inf] * 3, [np.inf, -np.inf, np.nan], [1.0, -2.0, 0.0]], dtype=dtype)
    out = backend.numpy(InfNanRemoveLogitsProcessor()(backend.asarray(np.zeros((4, 1), dtype=np.int64)),
                                                      backend.asarray(scores)))
    expected = np.array([[0, 0, 0], [info.min] * 3, [info.max, info.min, 0], [1, -2, 0]], dtype=dtype)
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_softmax_on_whole_rows(backend, dtype):
    scores = np.array([[-np.inf] * 3, [-np.inf, 1.0, -np.inf], [np.nan, 0.0, 1.0], [-1e4, 1e4, -np.inf]], dtype=dtype)
    out = backend.numpy(LogitNormalization()(backend.asarray(np.zeros((4, 1), dtype=np.int64)),
                                             backend.asarray(scores)))
    assert np.isneginf(out[0]).all()                                 # no token possible: stays so, not NaN
    assert out[1].tolist() == [-math.inf, 0.0, -math.inf]
    assert np.isnan(out[2]).all()                                    # NaN in, NaN out, as in Hugging Face
    assert out[3].tolist() == [-2e4, 0.0, -math.inf]


def test_log_softmax_of_plus_inf_is_nan_as_in_hugging_face():
    with np.errstate(invalid="ignore"):
        out = LogitNormalization()(np.zeros((1, 1), dtype=np.int64), np.array([[np.inf, 0.0]]))
    assert np.isnan(out).all()


# --------------------------------------------------------------------------- every backend, purity, extremes

# One instance of each processor (and variants), with lengths T at which each one acts, or does not.
PROCESSORS = [
    MinLengthLogitsProcessor(6, eos_token_id=0), MinLengthLogitsProcessor(2, eos_token_id=[0, 4]),
    MinNewTokensLengthLogitsProcessor(2, 3, eos_token_id=[4, 0]), ForcedBOSTokenLogitsProcessor(2),
    ForcedEOSTokenLogitsProcessor(5, eos_token_id=[0, 4]), ForcedEOSTokenLogitsProcessor(2, eos_token_id=4),
    ExponentialDecayLengthPenalty((1, 1.3), eos_token_id=[0, 4], input_ids_seq_length=1),
    SequenceBiasLogitsProcessor([[[1], 0.5], [[2, 3, 6], -1.5], [[4, 5], 2.0], [[2, 1], -math.inf]]),
    PrefixConstrainedLogitsProcessor(lambda b, ids: [0, 2, 4, int(ids[-1]) % 5], 1),
    PrefixConstrainedLogitsProcessor(lambda b, ids: [b, 2, 5], 2),
    InfNanRemoveLogitsProcessor(), LogitNormalization(),
]
IDS = [f"{type(p).__name__}-{i}" for i, p in enumerate(PROCESSORS)]
LENGTHS = [1, 2, 4, 6]


@pytest.mark.parametrize("processor", PROCESSORS, ids=IDS)
def test_on_the_backends(backend, processor):
    for T in LENGTHS:
        ids, scores = _batch(7, T)
        assert_same_on_the_device(backend, processor, ids, scores, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("processor", PROCESSORS, ids=IDS)
def test_inputs_are_never_modified(processor, dtype):
    for T in LENGTHS:
        ids, scores = _batch(8, T, dtype)
        scores[3, 6] = np.nan
        ids_copy, scores_copy = ids.copy(), scores.copy()
        with np.errstate(invalid="ignore"):
            out = processor(ids, scores)
        np.testing.assert_array_equal(ids, ids_copy)
        np.testing.assert_array_equal(scores, scores_copy)
        assert out.shape == scores.shape and out.dtype == scores.dtype
        assert not np.shares_memory(out, scores)                     # a new array, even when nothing changed


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("processor", PROCESSORS, ids=IDS)
def test_extreme_logits_give_no_nan(processor, dtype):
    scores = np.array([[1e4, -1e4, 9999.0, 0.0, -np.inf, 1e4 - 1e-3, 1e4],
                       [-np.inf, -np.inf, -1e4, -np.inf, -np.inf, -np.inf, -np.inf]], dtype=dtype)   # one finite left
    for T in LENGTHS + [40]:
        ids = np.full((2, T), 3)
        out = processor(ids, scores)                                 # RuntimeWarnings are errors in this suite
        assert not np.isnan(out).any()
        assert np.isfinite(out).any(axis=-1).all()


# --------------------------------------------------------------------------- bad arguments

def _f(batch_id, ids):
    return [0]


BAD = [
    (MinLengthLogitsProcessor, dict(min_length=-1, eos_token_id=0),
     "MinLengthLogitsProcessor: min_length must be a non-negative integer, got -1"),
    (MinLengthLogitsProcessor, dict(min_length=2.0, eos_token_id=0), "min_length must be .*, got 2.0"),
    (MinLengthLogitsProcessor, dict(min_length=True, eos_token_id=0), "min_length must be .*, got True"),
    (MinLengthLogitsProcessor, dict(min_length=3, eos_token_id=-2),
     "MinLengthLogitsProcessor: eos_token_id must be a token id >= 0 or a non-empty list of them, got -2"),
    (MinLengthLogitsProcessor, dict(min_length=3, eos_token_id=[]), r"eos_token_id must be .*, got \[\]"),
    (MinLengthLogitsProcessor, dict(min_length=3, eos_token_id=[1, 2.0]), r"eos_token_id must be .*, got \[1, 2.0\]"),
    (MinLengthLogitsProcessor, dict(min_length=3, eos_token_id=None), "eos_token_id must be .*, got None"),
    (MinNewTokensLengthLogitsProcessor, dict(prompt_length_to_skip=-1, min_new_tokens=2, eos_token_id=0),
     "MinNewTokensLengthLogitsProcessor: prompt_length_to_skip must be a non-negative integer, got -1"),
    (MinNewTokensLengthLogitsProcessor, dict(prompt_length_to_skip=3, min_new_tokens=-2, eos_token_id=0),
     "min_new_tokens must be a non-negative integer, got -2"),
    (MinNewTokensLengthLogitsProcessor, dict(prompt_length_to_skip=3, min_new_tokens=2, eos_token_id="2"),
     "eos_token_id must be .*, got '2'"),
    (ForcedBOSTokenLogitsProcessor, dict(bos_token_id=-1),
     "ForcedBOSTokenLogitsProcessor: bos_token_id must be a token id >= 0, got -1"),
    (ForcedBOSTokenLogitsProcessor, dict(bos_token_id=[1]), r"bos_token_id must be .*, got \[1\]"),
    (ForcedEOSTokenLogitsProcessor, dict(max_length=0, eos_token_id=0),
     "ForcedEOSTokenLogitsProcessor: max_length must be a positive integer, got 0"),
    (ForcedEOSTokenLogitsProcessor, dict(max_length=5, eos_token_id=[0, -1]),
     r"eos_token_id must be .*, got \[0, -1\]"),
    (ExponentialDecayLengthPenalty, dict(exponential_decay_length_penalty=(5, 0.0), eos_token_id=0,
                                         input_ids_seq_length=2),
     r"ExponentialDecayLengthPenalty: exponential_decay_length_penalty must be a pair \(start_index, decay_factor\) "
     r"with an integer start_index >= 0 and a finite decay_factor > 0, got \(5, 0.0\)"),
    (ExponentialDecayLengthPenalty, dict(exponential_decay_length_penalty=(5, -1.5), eos_token_id=0,
                                         input_ids_seq_length=2), r"penalty must be .*, got \(5, -1.5\)"),
    (ExponentialDecayLengthPenalty, dict(exponential_decay_length_penalty=(5, math.inf), eos_token_id=0,
                                         input_ids_seq_length=2), r"penalty must be .*, got \(5, inf\)"),
    (ExponentialDecayLengthPenalty, dict(exponential_decay_length_penalty=(-1, 1.5), eos_token_id=0,
                                         input_ids_seq_length=2), r"penalty must be .*, got \(-1, 1.5\)"),
    (ExponentialDecayLengthPenalty, dict(exponential_decay_length_penalty=(1.5, 1.5), eos_token_id=0,
                                         input_ids_seq_length=2), r"penalty must be .*, got \(1.5, 1.5\)"),
    (ExponentialDecayLengthPenalty, dict(exponential_decay_length_penalty=1.5, eos_token_id=0,
                                         input_ids_seq_length=2), r"penalty must be .*, got 1.5"),
    (ExponentialDecayLengthPenalty, dict(exponential_decay_length_penalty=(5, 1.5, 2), eos_token_id=0,
                                         input_ids_seq_length=2), r"penalty must be .*, got \(5, 1.5, 2\)"),
    (ExponentialDecayLengthPenalty, dict(exponential_decay_length_penalty=(5, 1.5), eos_token_id=0,
                                         input_ids_seq_length=-3),
     "ExponentialDecayLengthPenalty: input_ids_seq_length must be a non-negative integer, got -3"),
    (ExponentialDecayLengthPenalty, dict(exponential_decay_length_penalty=(5, 1.5), eos_token_id=-1,
                                         input_ids_seq_length=3), "eos_token_id must be .*, got -1"),
    (SequenceBiasLogitsProcessor, dict(sequence_bias=[[[], 1.0]]),
     r"SequenceBiasLogitsProcessor: sequence_bias must be made of non-empty sequences of token ids >= 0, got \[\]"),
    (SequenceBiasLogitsProcessor, dict(sequence_bias={(): 1.0}), r"sequence_bias must be .*, got \(\)"),
    (SequenceBiasLogitsProcessor, dict(sequence_bias=[]),
     r"sequence_bias must be a non-empty list of \[token_ids, bias\] pairs \(or a dict \{tuple of ids: bias\}\), "
     r"got \[\]"),
    (SequenceBiasLogitsProcessor, dict(sequence_bias={}), r"sequence_bias must be .*, got \{\}"),
    (SequenceBiasLogitsProcessor, dict(sequence_bias=None), "sequence_bias must be .*, got None"),
    (SequenceBiasLogitsProcessor, dict(sequence_bias=[[[1], 1.0], [[2]]]),
     r"sequence_bias must be a list of \[token_ids, bias\] pairs, got \[\[\[1\], 1.0\], \[\[2\]\]\]"),
    (SequenceBiasLogitsProcessor, dict(sequence_bias=[[[1, -2], 1.0]]), r"sequence_bias must be .*, got \[1, -2\]"),
    (SequenceBiasLogitsProcessor, dict(sequence_bias=[[[1, 2.0], 1.0]]), r"sequence_bias must be .*, got \[1, 2.0\]"),
    (SequenceBiasLogitsProcessor, dict(sequence_bias=[[[1], "a"]]),
     "sequence_bias must be made of biases that are numbers \\(not NaN\\), got 'a'"),
    (SequenceBiasLogitsProcessor, dict(sequence_bias=[[[1], math.nan]]), "sequence_bias must be .*, got nan"),
    (SequenceBiasLogitsProcessor, dict(sequence_bias={(1,): True}), "sequence_bias must be .*, got True"),
    (SequenceBiasLogitsProcessor, dict(sequence_bias={1: 2.0}),
     r"sequence_bias must be a dict with tuples of ids as keys, got \{1: 2.0\}"),
    (PrefixConstrainedLogitsProcessor, dict(prefix_allowed_tokens_fn=_f, num_beams=0),
     "PrefixConstrainedLogitsProcessor: num_beams must be a positive integer, got 0"),
]


@pytest.mark.parametrize("make,kwargs,match", BAD, ids=[f"{m.__name__}-{k}" for m, k, _ in BAD])
def test_bad_arguments(make, kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        make(**kwargs)
    assert "\n" not in str(info.value)


def test_the_prefix_function_must_be_callable():
    with pytest.raises(TypeError, match=r"PrefixConstrainedLogitsProcessor: prefix_allowed_tokens_fn must be a "
                                        r"function \(batch_id, input_ids\) -> list of allowed token ids, got \[0, 1\]"):
        PrefixConstrainedLogitsProcessor([0, 1], 1)


def test_numpy_scalars_are_accepted():
    assert MinLengthLogitsProcessor(np.int64(3), np.int32(2)).eos_token_id == [2]
    decay = ExponentialDecayLengthPenalty((np.int64(1), np.float32(1.5)), [np.int64(0)], np.int16(2))
    assert (decay.regulation_start, decay.regulation_factor) == (3, 1.5)
    assert SequenceBiasLogitsProcessor([[[np.int64(1)], np.float32(0.5)]]).sequence_bias == {(1,): 0.5}


def test_inputs_are_checked():
    """The base class checks input_ids and scores (see test_processors.py); one processor here stands for all."""
    with pytest.raises(ValueError, match=r"LogitNormalization: input_ids must be a \(batch, length\) array with the "
                                         r"batch of scores \(1, 3\), got shape \(2, 1\)"):
        LogitNormalization()(np.array([[1], [2]]), np.ones((1, 3)))
