"""Epsilon and eta sampling: Hugging Face's expectations and parity, the rule by hand, backends, bad arguments."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigen.sample import EpsilonLogitsWarper, EtaLogitsWarper, LogitsProcessorList, TopKLogitsWarper
from tests.sample.contract import assert_as_hugging_face, assert_pure, assert_same_on_the_device

V = 16


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _log(p):
    """log p with log 0 = -inf, without NumPy's divide-by-zero warning (warnings are errors in this suite)."""
    p = np.asarray(p, dtype=np.float32)
    return np.where(p > 0, np.log(np.where(p > 0, p, 1)), -np.inf).astype(np.float32)


def _no_ids(rows):
    """Hugging Face's tests pass input_ids=None; minigen's processors check them, so: a column of zeros."""
    return np.zeros((rows, 1), dtype=np.int64)


def _batch(seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.integers(0, V, size=(4, 6)), (3 * rng.standard_normal((4, V))).astype(dtype)


PROCESSORS = [EpsilonLogitsWarper(0.02), EpsilonLogitsWarper(0.3, min_tokens_to_keep=3, filter_value=-50.0),
              EtaLogitsWarper(0.02), EtaLogitsWarper(0.5, min_tokens_to_keep=2),
              LogitsProcessorList([EtaLogitsWarper(0.1), TopKLogitsWarper(4)])]
IDS = ["epsilon", "epsilon-keep3", "eta", "eta-keep2", "list"]


# --------------------------------------------------------------------------- Hugging Face's own tests, ported

def test_epsilon_hugging_face_expectations():
    """From HF tests/generation/test_logits_process.py::test_epsilon_dist_warper."""
    dist = _log([[0.87, 0.099, 0.001, 0.03], [0.4, 0.299, 0.101, 0.2]])
    filtered = np.exp(EpsilonLogitsWarper(0.1)(_no_ids(2), dist))
    np.testing.assert_allclose(filtered, [[0.87, 0, 0, 0], [0.4, 0.299, 0.101, 0.2]], rtol=1e-3, atol=1e-3)
    ramp = np.tile(np.arange(10, dtype=np.float32) - 5, (2, 1))
    ramp[1] *= 100.0
    out = EpsilonLogitsWarper(5e-2, min_tokens_to_keep=2, filter_value=0.0)(_no_ids(2), ramp)
    assert (out != 0.0).sum(axis=-1).tolist() == [3, 2]            # the second row keeps 1, raised to 2


def test_eta_hugging_face_expectations():
    """From HF tests/generation/test_logits_process.py::test_eta_dist_warper."""
    dist = _log([[0.0, 0.1, 0.8, 0.1], [0.01, 0.04, 0.9, 0.05]])
    filtered = np.exp(EtaLogitsWarper(0.0625)(_no_ids(2), dist))
    # HF's comment: the cut-offs are min(0.0625, 0.1320) and min(0.0625, 0.1644)
    np.testing.assert_allclose(filtered, [[0.0, 0.1, 0.8, 0.1], [0.0, 0.0, 0.9, 0.0]], rtol=1e-3, atol=1e-3)
    ramp = np.tile(np.arange(10, dtype=np.float32) - 5, (2, 1))
    ramp[1] *= 100.0
    out = EtaLogitsWarper(0.1, min_tokens_to_keep=2, filter_value=0.0)(_no_ids(2), ramp)
    assert (out != 0.0).sum(axis=-1).tolist() == [2, 2]


# --------------------------------------------------------------------------- Hugging Face parity

HF_CASES = [
    ("EpsilonLogitsWarper", dict(epsilon=1e-3)),
    ("EpsilonLogitsWarper", dict(epsilon=0.05)),
    ("EpsilonLogitsWarper", dict(epsilon=0.5)),
    ("EpsilonLogitsWarper", dict(epsilon=0.9, min_tokens_to_keep=3)),
    ("EpsilonLogitsWarper", dict(epsilon=0.2, min_tokens_to_keep=40, filter_value=-7.0)),
    ("EtaLogitsWarper", dict(epsilon=1e-3)),
    ("EtaLogitsWarper", dict(epsilon=0.0625)),
    ("EtaLogitsWarper", dict(epsilon=0.5)),
    ("EtaLogitsWarper", dict(epsilon=0.25, min_tokens_to_keep=4, filter_value=-1e3)),
]


@pytest.mark.reference
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,kwargs", HF_CASES, ids=[f"{n}-{k}" for n, k in HF_CASES])
def test_parity_with_hugging_face(name, kwargs, dtype):
    assert_as_hugging_face(name, kwargs, (_batch(seed, dtype) for seed in range(4)))


# --------------------------------------------------------------------------- the rules, by hand

@st.composite
def batches(draw):
    rows, Vd = draw(st.integers(1, 3)), draw(st.integers(1, 12))
    scores = draw(hnp.arrays(np.float64, (rows, Vd), elements=st.floats(-20, 20)))
    return np.zeros((rows, 1), dtype=np.int64), scores


def _kept_by_hand(scores, cutoff, keep):
    """p >= cutoff, or a score >= the keep-th largest of its row."""
    p = _softmax(scores)
    kth = np.sort(scores, axis=-1)[:, -min(keep, scores.shape[1])][:, None]
    return (p >= cutoff) | (scores >= kth)


@given(batch=batches(), epsilon=st.floats(1e-4, 0.99), keep=st.integers(1, 4))
def test_epsilon_keeps_p_at_least_epsilon(batch, epsilon, keep):
    ids, scores = batch
    out = EpsilonLogitsWarper(epsilon, min_tokens_to_keep=keep)(ids, scores)
    kept = _kept_by_hand(scores, epsilon, keep)
    np.testing.assert_array_equal(np.isfinite(out), kept)
    np.testing.assert_array_equal(out[kept], scores[kept])                    # kept scores are unchanged


@given(batch=batches(), epsilon=st.floats(1e-4, 0.99), keep=st.integers(1, 4))
def test_eta_cutoff_is_min_of_epsilon_and_its_root_times_exp_minus_entropy(batch, epsilon, keep):
    ids, scores = batch
    p = _softmax(scores)
    entropy = -(p * np.log(np.where(p > 0, p, 1))).sum(axis=-1, keepdims=True)
    eta = np.minimum(epsilon, np.sqrt(epsilon) * np.exp(-entropy))
    out = EtaLogitsWarper(epsilon, min_tokens_to_keep=keep)(ids, scores)
    np.testing.assert_array_equal(np.isfinite(out), _kept_by_hand(scores, eta, keep))
    wider = EpsilonLogitsWarper(epsilon, min_tokens_to_keep=keep)(ids, scores)   # eta <= epsilon keeps more
    assert (np.isfinite(out) >= np.isfinite(wider)).all()


def test_ties_at_the_cut_off_are_kept():
    """p == epsilon is kept (the drop is p < epsilon), and so is every score tied with the k-th largest."""
    uniform = np.zeros((1, 4))                                                # p = 0.25 each, exactly
    assert np.isfinite(EpsilonLogitsWarper(0.25)(_no_ids(1), uniform)).all()
    assert np.isfinite(EtaLogitsWarper(0.9)(_no_ids(1), uniform)).all()       # all tied for the top token
    scores = np.array([[0.0, 0.0, -30.0, -30.0]])
    out = EpsilonLogitsWarper(0.9, min_tokens_to_keep=1)(_no_ids(1), scores)
    assert np.isfinite(out).tolist() == [[True, True, False, False]]         # the two tied maxima stay


def test_a_flat_row_keeps_its_best_tokens():
    """No token reaches epsilon in a flat row over many tokens: min_tokens_to_keep of them stay."""
    scores = np.linspace(0.0, 0.1, 100)[None, :]
    out = EpsilonLogitsWarper(0.5, min_tokens_to_keep=3)(_no_ids(1), scores)
    assert np.flatnonzero(np.isfinite(out[0])).tolist() == [97, 98, 99]


# --------------------------------------------------------------------------- purity, backends, extremes

@pytest.mark.parametrize("processor", PROCESSORS, ids=IDS)
@given(batch=batches())
def test_inputs_are_never_modified(processor, batch):
    ids, scores = batch
    assert_pure(processor, ids, scores)


@pytest.mark.parametrize("processor", PROCESSORS, ids=IDS)
def test_on_the_backends(backend, processor):
    ids, scores = _batch(7)
    assert_same_on_the_device(backend, processor, ids, scores, rtol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("processor", PROCESSORS, ids=IDS)
def test_extreme_logits_give_no_nan(processor, dtype):
    ids = np.array([[0, 1], [3, 3]])
    scores = np.array([[1e4, -1e4, 9999.0, 0.0, -np.inf, 1e4 - 1e-3],
                       [-np.inf, -np.inf, -1e4, -np.inf, -np.inf, -np.inf]], dtype=dtype)   # one finite entry left
    out = processor(ids, scores)                                              # RuntimeWarnings are errors here
    assert not np.isnan(out).any()
    assert np.isfinite(out).any(axis=-1).all()
    assert np.isfinite(out[1]).tolist() == [False, False, True, False, False, False]


# --------------------------------------------------------------------------- bad arguments

OPEN = r"must be a number in \(0, 1\)"
BAD = [
    (EpsilonLogitsWarper, dict(epsilon=0.0), rf"EpsilonLogitsWarper: epsilon {OPEN}, got 0.0"),
    (EpsilonLogitsWarper, dict(epsilon=1.0), rf"EpsilonLogitsWarper: epsilon {OPEN}, got 1.0"),
    (EpsilonLogitsWarper, dict(epsilon=-0.1), rf"epsilon {OPEN}, got -0.1"),
    (EpsilonLogitsWarper, dict(epsilon=float("nan")), rf"epsilon {OPEN}, got nan"),
    (EpsilonLogitsWarper, dict(epsilon=True), rf"epsilon {OPEN}, got True"),
    (EpsilonLogitsWarper, dict(epsilon="0.1"), rf"epsilon {OPEN}, got '0.1'"),
    (EpsilonLogitsWarper, dict(epsilon=0.1, min_tokens_to_keep=0), "min_tokens_to_keep must be .*, got 0"),
    (EpsilonLogitsWarper, dict(epsilon=0.1, filter_value=float("nan")), "filter_value must be .*, got nan"),
    (EtaLogitsWarper, dict(epsilon=0.0), rf"EtaLogitsWarper: epsilon {OPEN}, got 0.0"),
    (EtaLogitsWarper, dict(epsilon=1.5), rf"EtaLogitsWarper: epsilon {OPEN}, got 1.5"),
    (EtaLogitsWarper, dict(epsilon=float("inf")), rf"epsilon {OPEN}, got inf"),
    (EtaLogitsWarper, dict(epsilon=0.1, min_tokens_to_keep=2.5), "min_tokens_to_keep must be .*, got 2.5"),
]


@pytest.mark.parametrize("make,kwargs,match", BAD, ids=[f"{m.__name__}-{k}" for m, k, _ in BAD])
def test_bad_arguments(make, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make(**kwargs)


def test_numpy_scalars_work_on_the_backends(backend):
    """Array-API arithmetic takes Python scalars only: the options are stored as Python numbers."""
    ids, scores = _batch(4)
    for make in (EpsilonLogitsWarper, EtaLogitsWarper):
        processor = make(np.float32(0.25), filter_value=np.float32(-50.0), min_tokens_to_keep=np.int64(2))
        expected = make(0.25, filter_value=-50.0, min_tokens_to_keep=2)(ids, scores)
        np.testing.assert_array_equal(backend.numpy(processor(backend.asarray(ids), backend.asarray(scores))),
                                      expected)
    assert repr(EtaLogitsWarper(0.5)) == "EtaLogitsWarper(epsilon=0.5, filter_value=-inf, min_tokens_to_keep=1, " \
                                         "device='cpu')"
