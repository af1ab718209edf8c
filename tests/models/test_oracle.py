"""The SeqGAN oracle: N(0, 1) weights, its shape, and samples drawn from its distribution, reproducibly."""

import numpy as np
import pytest

from minigen import backend as B
from minigen.models import RNNLanguageModel, build_model, oracle_lm, oracle_samples


def test_the_default_oracle_has_seqgans_shape_and_standard_normal_parameters():
    oracle = oracle_lm()
    assert isinstance(oracle, RNNLanguageModel)
    assert {k: oracle.config[k] for k in ("vocab_size", "embed_dim", "hidden_size", "num_layers", "cell")} == \
        dict(vocab_size=5000, embed_dim=32, hidden_size=32, num_layers=1, cell="lstm")
    for name, p in oracle.named_parameters():
        x = p.numpy().astype(np.float64).ravel()
        se = 1 / np.sqrt(x.size)                            # of the mean; the std's is about se / sqrt(2)
        assert abs(x.mean()) < 5 * se, name
        assert abs(x.std() - 1) < 5 * se, name


def test_a_generator_of_the_same_shape_has_the_default_initialisation():
    oracle = oracle_lm(vocab_size=50, embed_dim=8, hidden_size=8)
    generator = build_model(oracle.config)
    assert generator.config == oracle.config
    bound = 1 / np.sqrt(8)                                  # the LSTM's uniform(-1/sqrt(H), 1/sqrt(H))
    assert np.abs(generator.rnn.weight_hh_l0.numpy()).max() <= bound
    assert np.abs(oracle.rnn.weight_hh_l0.numpy()).max() > 1


def test_the_seed_fixes_the_oracle_on_every_dtype():
    a, b = oracle_lm(50, 8, 8, seed=3), oracle_lm(50, 8, 8, seed=3, dtype="float64")
    c = oracle_lm(50, 8, 8, seed=4)
    for (name, p), (_, q), (_, r) in zip(a.named_parameters(), b.named_parameters(), c.named_parameters()):
        assert q.dtype == np.float64
        np.testing.assert_array_equal(p.numpy(), q.numpy().astype(np.float32), err_msg=name)
        assert not np.array_equal(p.numpy(), r.numpy()), name


def test_samples_have_the_right_shape_and_range_and_repeat_with_the_seed():
    oracle = oracle_lm(vocab_size=40, embed_dim=8, hidden_size=8)
    x = oracle_samples(oracle, 23, seq_len=7, seed=5, batch_size=10)       # 10 + 10 + 3 rows
    assert x.shape == (23, 7) and B.is_integer(x.dtype)
    assert 0 <= x.min() and x.max() < 40
    np.testing.assert_array_equal(x, oracle_samples(oracle, 23, seq_len=7, seed=5, batch_size=10))
    assert not np.array_equal(x, oracle_samples(oracle, 23, seq_len=7, seed=6, batch_size=10))
    assert len({tuple(row) for row in x.tolist()}) > 20                    # the batches are not copies


def test_samples_are_the_same_on_every_backend(backend):
    host = oracle_lm(vocab_size=30, embed_dim=6, hidden_size=6, seed=2, dtype="float64")
    there = oracle_lm(vocab_size=30, embed_dim=6, hidden_size=6, seed=2, dtype="float64", device=backend.device)
    x = oracle_samples(there, 12, seq_len=6, seed=0, batch_size=5)
    assert B.device_of(x) == B.device_of(there.head.weight.data)
    np.testing.assert_array_equal(backend.numpy(x), oracle_samples(host, 12, seq_len=6, seed=0, batch_size=5))


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_first_tokens_follow_the_oracles_softmax_at_the_temperature(temperature):
    # every token can be drawn (no top-k): 80 > generate's default top_k of 50
    V, n = 80, 20000
    oracle = oracle_lm(vocab_size=V, embed_dim=4, hidden_size=4, seed=1, dtype="float64")
    logits, _ = oracle(np.zeros((1, 1), np.int64))                          # from the start token 0
    z = logits.numpy()[0, 0] / temperature
    p = np.exp(z - z.max())
    p /= p.sum()
    first = oracle_samples(oracle, n, seq_len=1, seed=0, temperature=temperature, batch_size=5000)[:, 0]
    observed, expected = np.bincount(first, minlength=V), n * p
    keep = expected >= 5                                                    # chi-square cells
    chi2 = ((observed[keep] - expected[keep]) ** 2 / expected[keep]).sum()
    df = keep.sum() - 1
    assert chi2 < df + 5 * np.sqrt(2 * df)
    assert keep[np.argsort(p)[:V - 50]].any()              # the test would see a top-50 cut


@pytest.mark.parametrize("kwargs, match, error", [
    (dict(n=0), "oracle_samples: n must be a positive integer, got 0", ValueError),
    (dict(seq_len=2.0), "oracle_samples: seq_len must be a positive integer", ValueError),
    (dict(seed=-1), "oracle_samples: seed must be a non-negative integer or None", ValueError),
    (dict(start_token=9), r"oracle_samples: start_token must be an id in \[0, 9\), got 9", IndexError),
    (dict(temperature=0), r"oracle_samples: temperature must be a finite number > 0, got 0", ValueError),
    (dict(batch_size=True), "oracle_samples: batch_size must be a positive integer, got True", ValueError),
])
def test_bad_sampling_arguments_are_one_line_naming_them(kwargs, match, error):
    oracle = oracle_lm(vocab_size=9, embed_dim=4, hidden_size=4)
    args = dict(n=3, seq_len=4) | kwargs
    with pytest.raises(error, match=match):
        oracle_samples(oracle, **args)


def test_bad_oracle_arguments_are_one_line_naming_them():
    with pytest.raises(TypeError, match="oracle_samples: oracle must be a minigen language model"):
        oracle_samples(object(), 3)
    with pytest.raises(ValueError, match="oracle_lm: seed must be a non-negative integer, got -2"):
        oracle_lm(seed=-2)
    with pytest.raises(ValueError, match="RNNLanguageModel: vocab_size must be a positive integer, got 0"):
        oracle_lm(vocab_size=0)
