"""Watermarking: green lists (torch's and HF's exactly), the processor's contract, the detector's z-test, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigen
from minigen.models import RNNLanguageModel
from minigen.sample import (
    LogitsProcessorList, WatermarkDetector, WatermarkDetectorOutput, WatermarkLogitsProcessor, generate,
)
from minigen.sample.watermark import _randperm, randperm

SCHEMES = [("lefthash", 1), ("lefthash", 3), ("selfhash", 1), ("selfhash", 2)]


def _batch(seed, V=50, B=4, T=7, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.integers(0, V, size=(B, T)), (3 * rng.standard_normal((B, V))).astype(dtype)


# --------------------------------------------------------------------------- the green lists

def test_randperm_is_torchs_cpu_randperm():
    # torch.Generator().manual_seed(0); torch.randperm(10, generator=g), printed with torch 2.13 (CPU)
    assert _randperm(0, 10).tolist() == [4, 1, 7, 5, 3, 9, 0, 8, 6, 2]
    assert _randperm(0, 5).tolist() == [4, 0, 1, 3, 2]
    assert _randperm(2**32, 10).tolist() == _randperm(0, 10).tolist()    # torch seeds MT19937 with seed mod 2^32
    assert _randperm(7, 1).tolist() == [0]


@pytest.mark.parametrize("seed", [0, 1, 15485863, 15485863 * 57, 2**32 + 3, 2**64 - 2])
@pytest.mark.parametrize("n", [2, 3, 40, 65, 1000])
def test_randperm_parity_with_torch(seed, n):
    torch = pytest.importorskip("torch")
    g = torch.Generator()
    g.manual_seed(seed)
    assert _randperm(seed, n).tolist() == torch.randperm(n, generator=g).tolist()


@pytest.mark.parametrize("seed, n, message", [
    (-1, 10, "seed must be a non-negative integer, got -1"),
    (1.0, 10, "seed must be a non-negative integer, got 1.0"),
    (0, 0, "n must be a positive integer, got 0"),
    (0, True, "n must be a positive integer, got True"),
])
def test_randperm_bad_arguments(seed, n, message):
    with pytest.raises(ValueError, match=f"^randperm: {message}$"):
        randperm(seed, n)


def test_green_lists_have_the_ratio_and_depend_on_the_previous_token():
    watermark = WatermarkLogitsProcessor(vocab_size=101, greenlist_ratio=0.3)
    lists = [tuple(watermark.greenlist_ids([t]).tolist()) for t in range(20)]
    assert all(len(g) == int(101 * 0.3) == watermark.greenlist_size for g in lists)
    assert len(set(lists)) == 20                                         # a different list for every previous token
    assert watermark.greenlist_ids([9, 4, 7]).tolist() == list(lists[7])  # lefthash: only the last token counts
    other_key = WatermarkLogitsProcessor(vocab_size=101, greenlist_ratio=0.3, hashing_key=12345)
    assert other_key.greenlist_ids([7]).tolist() != list(lists[7])


# --------------------------------------------------------------------------- ported from Hugging Face

def test_hf_watermarking_processor():
    # from HF tests/generation/test_logits_process.py::test_watermarking_processor: V = 20, uniform scores, the
    # last token 10; with the default config token 1 is green after 10, so its score rises by exactly the bias
    V = 20
    input_ids = np.random.default_rng(0).integers(0, V, size=(3, 5))
    input_ids[:, -1] = 10
    scores = np.full((3, V), 1.0 / V)
    with pytest.raises(ValueError, match="seeding_scheme"):
        WatermarkLogitsProcessor(vocab_size=V, seeding_scheme="hash")
    with pytest.raises(ValueError, match="greenlist_ratio"):
        WatermarkLogitsProcessor(vocab_size=V, greenlist_ratio=1.2)
    watermark = WatermarkLogitsProcessor(vocab_size=V)
    out = watermark(input_ids, scores)
    assert (out[:, 1] == scores[:, -1] + watermark.bias).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scheme, width", SCHEMES)
def test_processor_parity_with_hf(scheme, width, dtype):
    torch = pytest.importorskip("torch")
    hf = pytest.importorskip("transformers.generation.logits_process")
    for seed, V, extra in [(0, 50, 0), (1, 97, 0), (2, 50, 14)]:    # extra: scores wider than the vocabulary
        ids, scores = _batch(seed, V + extra, dtype=dtype)
        ids, scores[:, V:] = ids % V, scores[:, V:] + 3               # the extra columns among the 40 best
        options = dict(seeding_scheme=scheme, context_width=width, bias=1.5, greenlist_ratio=0.3)
        theirs = hf.WatermarkLogitsProcessor(vocab_size=V, device="cpu", **options)(
            torch.tensor(ids), torch.tensor(scores)).numpy()
        ours = WatermarkLogitsProcessor(V, **options)(ids, scores)
        assert ours.dtype == scores.dtype and np.array_equal(ours, theirs)
        assert (ours != scores).any()


@pytest.mark.parametrize("ignore_repeated_ngrams", [False, True])
@pytest.mark.parametrize("scheme, width", SCHEMES)
def test_detector_parity_with_hf(scheme, width, ignore_repeated_ngrams):
    torch = pytest.importorskip("torch")
    watermarking = pytest.importorskip("transformers.generation.watermarking")
    V = 60
    config = dict(seeding_scheme=scheme, context_width=width, greenlist_ratio=0.3, bias=2.0, hashing_key=15485863)
    model_config = type("Config", (), dict(bos_token_id=V - 1, is_encoder_decoder=False, vocab_size=V))()
    ids = np.random.default_rng(width).integers(0, 12, size=(5, 30))    # a small alphabet: n-grams repeat
    for rows in (ids, np.concatenate([np.full((5, 1), V - 1), ids], axis=1)):   # without and with a BOS token
        theirs = watermarking.WatermarkDetector(model_config, "cpu", config, ignore_repeated_ngrams)(
            torch.tensor(rows), z_threshold=0.5, return_dict=True)
        ours = WatermarkDetector(V, config, ignore_repeated_ngrams, bos_token_id=V - 1)(
            rows, z_threshold=0.5, return_dict=True)
        for name in ("num_tokens_scored", "num_green_tokens", "green_fraction", "z_score", "p_value", "confidence"):
            np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-12, err_msg=name)
        assert ours.prediction.tolist() == theirs.prediction.tolist()


# --------------------------------------------------------------------------- the processor's contract

@pytest.mark.parametrize("scheme, width", SCHEMES)
def test_adds_exactly_bias_to_exactly_the_green_tokens(scheme, width):
    V = 50
    ids, scores = _batch(3, V)
    watermark = WatermarkLogitsProcessor(V, bias=1.75, seeding_scheme=scheme, context_width=width)
    out = watermark(ids, scores)
    for b, row in enumerate(ids.tolist()):
        if scheme == "lefthash":
            green = set(watermark.greenlist_ids(row).tolist())
            assert len(green) == watermark.greenlist_size
        else:                                    # a candidate is green in the list seeded by itself
            green = {c for c in range(V) if watermark.green_mask(row + [c])[c]}   # V = 50 > 40: top 40 only
            top40 = set(np.argsort(-scores[b])[:40].tolist())
            green &= top40
        changed = set(np.flatnonzero(out[b] != scores[b]).tolist())
        assert changed == green
        assert np.array_equal(out[b, sorted(green)], scores[b, sorted(green)] + 1.75)


def test_selfhash_with_a_vocabulary_smaller_than_40():
    ids, scores = _batch(4, V=12)
    watermark = WatermarkLogitsProcessor(12, seeding_scheme="selfhash")
    out = watermark(ids, scores)
    for b, row in enumerate(ids.tolist()):
        green = [c for c in range(12) if watermark.green_mask(row + [c])[c]]
        assert np.flatnonzero(out[b] != scores[b]).tolist() == green


@pytest.mark.parametrize("scheme, width", SCHEMES)
def test_pure(scheme, width):
    ids, scores = _batch(5)
    ids_copy, scores_copy = ids.copy(), scores.copy()
    WatermarkLogitsProcessor(50, seeding_scheme=scheme, context_width=width)(ids, scores)
    assert np.array_equal(ids, ids_copy) and np.array_equal(scores, scores_copy)
    WatermarkDetector(50, dict(seeding_scheme=scheme, context_width=width))(ids)
    assert np.array_equal(ids, ids_copy)


@pytest.mark.parametrize("scheme, width", SCHEMES)
def test_backends(backend, scheme, width):
    ids, scores = _batch(6, dtype=np.float32)
    watermark = WatermarkLogitsProcessor(50, seeding_scheme=scheme, context_width=width)
    out = watermark(backend.asarray(ids), backend.asarray(scores))
    assert type(out) is type(backend.asarray(scores)) and out.dtype == backend.asarray(scores).dtype
    np.testing.assert_array_equal(backend.numpy(out), watermark(ids, scores))
    detector = WatermarkDetector(50, dict(seeding_scheme=scheme, context_width=width))
    theirs, ours = detector(ids, return_dict=True), detector(backend.asarray(ids), return_dict=True)
    np.testing.assert_array_equal(ours.z_score, theirs.z_score)


def test_rows_too_short_to_seed_are_unchanged_and_wider_scores_keep_their_tail():
    ids, scores = _batch(7, T=2)
    assert np.array_equal(WatermarkLogitsProcessor(50, context_width=3)(ids, scores), scores)
    wide = np.zeros((4, 64))                            # a model that embeds more tokens than the watermark permutes
    out = WatermarkLogitsProcessor(50)(ids, wide)
    assert (out[:, 50:] == 0).all() and (out[:, :50] == 2.0).sum() == 4 * int(50 * 0.25)


def test_extreme_scores():
    ids, _ = _batch(8)
    scores = np.full((4, 50), -1e4)
    scores[:, ::7] = 1e4
    scores[:, 1] = -np.inf
    out = WatermarkLogitsProcessor(50, bias=2.5)(ids, scores)
    assert np.isfinite(out[:, 2:]).all() and (out[:, 1] == -np.inf).all()
    assert set(np.unique(out[np.isfinite(out)])) <= {-1e4, 1e4, -1e4 + 2.5, 1e4 + 2.5}


# --------------------------------------------------------------------------- the detector

def test_green_fraction_of_random_tokens_is_gamma():
    for gamma in (0.25, 0.5):
        ids = np.random.default_rng(9).integers(0, 100, size=(200, 301))
        out = WatermarkDetector(100, dict(greenlist_ratio=gamma))(ids, return_dict=True)
        assert (out.num_tokens_scored == 300).all()
        assert abs(out.green_fraction.mean() - gamma) < 0.01         # 60000 tokens: the std is below 0.002
        assert abs(out.z_score.mean()) < 0.25 and 0.8 < out.z_score.std() < 1.2   # z ~ N(0, 1) under the null


def test_z_score_p_value_by_hand():
    detector = WatermarkDetector(8)
    assert detector.processor.greenlist_ids([3]).tolist() == [2, 3]
    out = detector(np.array([[3, 2, 4, 0], [3, 7, 0, 1]]), return_dict=True)
    assert isinstance(out, WatermarkDetectorOutput)
    T, green = out.num_tokens_scored, out.num_green_tokens
    assert T.tolist() == [3, 3] and green.tolist() == [3, 0]
    z = (green - 0.25 * T) / np.sqrt(T * 0.25 * 0.75)
    np.testing.assert_allclose(out.z_score, z)
    np.testing.assert_allclose(out.p_value, [0.5 * math.erfc(v / math.sqrt(2)) for v in z])
    np.testing.assert_allclose(out.confidence, 1 - out.p_value)
    np.testing.assert_allclose(out.green_fraction, green / T)
    assert detector(np.array([[3, 2, 4, 0]]), z_threshold=2.9).tolist() == [True]
    assert detector(np.array([[3, 2, 4, 0]])).tolist() == [False]    # z = 3 <= the default 4


def test_ignore_repeated_ngrams_counts_a_loop_once():
    ids = np.array([[3, 2] * 20])                  # (3, 2) and (2, 3) repeated: two distinct bigrams
    detector = WatermarkDetector(8, ignore_repeated_ngrams=True)
    out = detector(ids, return_dict=True)
    assert out.num_tokens_scored.tolist() == [2]
    assert WatermarkDetector(8)(ids, return_dict=True).num_tokens_scored.tolist() == [39]


def test_the_issue_watermarked_samples_are_detected():
    # issue 23: on a tiny model, watermarked samples of 200 tokens give z > 4 in at least 95% of 100 seeds,
    # unwatermarked samples in at most 1%. The 100 rows of one batch draw independently from one generator.
    minigen.manual_seed(0)
    V = 32
    model = RNNLanguageModel(vocab_size=V, embed_dim=16, hidden_size=32, num_layers=1)    # untrained: high entropy
    prompt = np.tile(np.array([[1, 2, 3]]), (100, 1))
    watermark = LogitsProcessorList([WatermarkLogitsProcessor(V)])
    detector = WatermarkDetector(V)
    for seed in (0, 1):
        marked = generate(model, prompt, 200, do_sample=True, top_k=0, logits_processor=watermark, seed=seed)
        plain = generate(model, prompt, 200, do_sample=True, top_k=0, seed=seed)
        # score the 200 new tokens; the last prompt token seeds the first green list
        z_marked = detector(marked[:, 2:], return_dict=True).z_score
        z_plain = detector(plain[:, 2:], return_dict=True).z_score
        assert (z_marked > 4).mean() >= 0.95 and (z_plain > 4).mean() <= 0.01
        assert (detector(marked[:, 2:], return_dict=True).num_tokens_scored == 200).all()


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("kwargs, match", [
    (dict(hashing_key=1.5), "hashing_key must be an integer"),
    (dict(hashing_key="key"), "hashing_key must be an integer"),
    (dict(hashing_key=True), "hashing_key must be an integer"),
    (dict(hashing_key=-1), "hashing_key must be an integer in"),
    (dict(greenlist_ratio=0), r"greenlist_ratio must be a number in \(0, 1\)"),
    (dict(greenlist_ratio=1.0), r"greenlist_ratio must be a number in \(0, 1\)"),
    (dict(greenlist_ratio=float("nan")), "greenlist_ratio"),
    (dict(bias=float("inf")), "bias must be a finite number"),
    (dict(bias=float("nan")), "bias must be a finite number"),
    (dict(bias="2"), "bias must be a finite number"),
    (dict(seeding_scheme="hash"), "seeding_scheme must be one of 'lefthash', 'selfhash'"),
    (dict(context_width=0), "context_width must be a positive integer"),
    (dict(vocab_size=0), "vocab_size must be a positive integer"),
])
def test_bad_arguments(kwargs, match):
    kwargs = dict(dict(vocab_size=20), **kwargs)
    with pytest.raises(ValueError, match=f"^WatermarkLogitsProcessor: {match}") as info:
        WatermarkLogitsProcessor(**kwargs)
    assert "\n" not in str(info.value)
    config = {k: v for k, v in kwargs.items() if k != "vocab_size"}
    with pytest.raises(ValueError, match=match):                     # the detector checks the same options
        WatermarkDetector(kwargs["vocab_size"], config)


def test_bad_calls():
    ids, scores = _batch(10)
    with pytest.raises(ValueError, match="scores must be .*vocab >= vocab_size=64, got vocab 50"):
        WatermarkLogitsProcessor(64)(ids, scores)
    with pytest.raises(TypeError, match="input_ids must be an integer"):
        WatermarkLogitsProcessor(50)(scores, scores)
    detector = WatermarkDetector(50, bos_token_id=0)
    with pytest.raises(TypeError, match="^WatermarkDetector: watermarking_config must be a dict"):
        WatermarkDetector(50, [("bias", 2.0)])
    with pytest.raises(ValueError, match=r"watermarking_config must be a dict with keys .*unknown keys \['gamma'\]"):
        WatermarkDetector(50, dict(gamma=0.25))
    with pytest.raises(TypeError, match="^WatermarkDetector: input_ids must be an integer array"):
        detector(scores)
    with pytest.raises(ValueError, match="input_ids must be a 2-D array"):
        detector(ids[0])
    with pytest.raises(IndexError, match="input_ids must be ids >= 0"):
        detector(-ids)
    with pytest.raises(ValueError, match="input_ids must be at least context_width \\+ 1 = 2 tokens"):
        detector(ids[:, :1])
    with pytest.raises(ValueError, match="input_ids must be rows that all start with bos_token_id=0, or none"):
        detector(np.array([[0, 1, 2], [1, 1, 2]]))
    with pytest.raises(ValueError, match="z_threshold must be a finite number"):
        detector(ids, z_threshold=float("nan"))
    with pytest.raises(ValueError, match="return_dict must be True or False"):
        detector(ids, return_dict="yes")
    with pytest.raises(ValueError, match="ignore_repeated_ngrams must be True or False"):
        WatermarkDetector(50, ignore_repeated_ngrams=1)
    with pytest.raises(IndexError, match="^WatermarkDetector: bos_token_id must be an id >= 0, got -1$"):
        WatermarkDetector(50, bos_token_id=-1)
    with pytest.raises(ValueError, match="^WatermarkDetector: bos_token_id must be an integer token id or None, "
                                         "got '0'$"):
        WatermarkDetector(50, bos_token_id="0")
