"""SeqGAN: MLE and discriminator pretraining, the adversarial step, the rollout policy, reproducibility, bad input."""

import copy

import numpy as np
import pytest

import minigen
from minigen.gan import SeqGAN, mle_pretrain, pretrain_discriminator, update_rollout_policy
from minigen.metrics import nll_oracle, nll_test
from minigen.models import GPT, RNNLanguageModel, TextCNNDiscriminator, oracle_lm, oracle_samples

V, T = 30, 8


@pytest.fixture(scope="module")
def oracle_data():
    """A small oracle, 1,000 training rows and 500 held-out rows of T tokens (host arrays)."""
    oracle = oracle_lm(vocab_size=V, embed_dim=16, hidden_size=16, seed=3)
    return oracle, oracle_samples(oracle, 1000, seq_len=T, seed=1), oracle_samples(oracle, 500, seq_len=T, seed=2)


def _generator(seed=0, vocab_size=V):
    minigen.manual_seed(seed)
    return RNNLanguageModel(vocab_size, embed_dim=16, hidden_size=32, num_layers=1)


def _discriminator(seed=0, vocab_size=V, cls=TextCNNDiscriminator):
    minigen.manual_seed(seed)
    return cls(vocab_size, embed_dim=16, filter_sizes=(2, 3), num_filters=(16, 16))


class OneToken(TextCNNDiscriminator):
    """A fixed "discriminator" whose P(real) is the share of token 7 in a row."""

    def real_probability(self, x):
        return (minigen.to_numpy(x) == 7).mean(axis=1)


def _share_of_7(g):
    return float((minigen.to_numpy(oracle_samples(g, 500, T, seed=9)) == 7).mean())


def _parameters(model):
    return {k: minigen.to_numpy(p.data).copy() for k, p in model.named_parameters()}


def test_mle_pretraining_brings_nll_test_toward_the_oracles_own(oracle_data):
    oracle, train, test = oracle_data
    g = _generator()
    floor, before = nll_oracle(oracle, test), nll_test(g, test)       # the oracle's entropy estimate; about log V
    losses = mle_pretrain(g, train, epochs=5, batch_size=32, seed=0)
    after = nll_test(g, test)
    assert len(losses) == 5 * 32 and losses[-1] < losses[0]
    assert floor < after < before
    assert after - floor < 0.4 * (before - floor)                      # most of the way to the oracle


def test_mle_pretrain_with_steps_and_the_start_token_convention(oracle_data):
    _, train, _ = oracle_data
    g = _generator()
    assert len(mle_pretrain(g, train[:64], steps=7, batch_size=16, seed=0)) == 7
    g = _generator()
    g.head.weight.data[...] = 0                                        # logits = bias: what follows any token
    mle_pretrain(g, np.full((32, 1), 5), epochs=20, batch_size=32, lr=0.1, start_token=3, seed=0)
    logits, _ = g(np.array([[3]]))
    assert int(logits.numpy()[0, -1].argmax()) == 5                    # token 5 learned after the start token


def test_the_discriminator_learns_to_separate_real_from_generated(oracle_data):
    _, train, test = oracle_data
    g, d = _generator(), _discriminator()
    losses = pretrain_discriminator(d, g, train, rounds=2, epochs=2, batch_size=32, lr=3e-3, seed=0)
    assert len(losses) == 2 * 2 * (2000 // 32 + 1) and np.mean(losses[-10:]) < np.mean(losses[:10])
    d.eval()
    real = d.real_probability(test).numpy()
    fake = d.real_probability(oracle_samples(g, 500, T, seed=5)).numpy()
    assert (real > 0.5).mean() + (fake < 0.5).mean() > 2 * 0.8          # accuracy over 80% on fresh rows


def test_adversarial_steps_raise_the_share_of_the_rewarded_token(oracle_data):
    _, train, _ = oracle_data
    g = _generator()
    gan = SeqGAN(g, _discriminator(cls=OneToken), train, batch_size=32, num_rollouts=4, d_rounds=0, g_lr=0.02,
                 seed=0)
    before = _share_of_7(g)
    history = gan.train(8)
    assert _share_of_7(g) > 3 * before
    assert history["reward"][-1] > 2 * history["reward"][0]
    assert gan.steps == 8 and np.isnan(history["d_loss"]).all() and len(history["seconds"]) == 8


def test_the_adversarial_step_retrains_the_discriminator(oracle_data):
    _, train, _ = oracle_data
    g, d = _generator(), _discriminator()
    gan = SeqGAN(g, d, train, batch_size=32, num_rollouts=2, d_rounds=2, d_epochs=1, d_samples=64, seed=0)
    before = _parameters(d)
    entry = gan.adversarial_step()
    assert set(entry) == {"g_loss", "reward", "d_loss", "seconds"} and np.isfinite(entry["d_loss"])
    assert any((before[k] != v).any() for k, v in _parameters(d).items())
    assert repr(gan).startswith("SeqGAN(steps=1,")


def test_rollout_update_rule():
    g = _generator(seed=1)
    beta = _generator(seed=2)
    theta, b0 = _parameters(g), _parameters(beta)
    update_rollout_policy(beta, g, rate=1.0)                           # r = 1: fixed
    assert all((v == b0[k]).all() for k, v in _parameters(beta).items())
    update_rollout_policy(beta, g, rate=0.8)                           # beta <- 0.8 beta + 0.2 theta
    for k, v in _parameters(beta).items():
        np.testing.assert_allclose(v, 0.8 * b0[k] + 0.2 * theta[k], rtol=1e-6, atol=1e-6)
    update_rollout_policy(beta, g, rate=0.0)                           # r = 0: a copy
    assert all((v == theta[k]).all() for k, v in _parameters(beta).items())


@pytest.mark.parametrize("rate", [1.0, 0.0])
def test_seqgans_rollout_policy_is_a_delayed_copy(oracle_data, rate):
    _, train, _ = oracle_data
    g = _generator()
    pretrained = _parameters(g)
    gan = SeqGAN(g, _discriminator(cls=OneToken), train, batch_size=16, num_rollouts=2, d_rounds=0,
                 rollout_update_rate=rate, seed=0)
    gan.train(2)
    expected = pretrained if rate == 1.0 else _parameters(g)           # fixed at the pretrained copy, or the generator
    assert all((v == expected[k]).all() for k, v in _parameters(gan.rollout).items())
    assert gan.rollout is not g
    gan.pretrain_generator(steps=1)
    assert gan.rollout is None                                         # copied afresh at the next adversarial step


def _run(seed, train):
    g, d = _generator(), _discriminator()
    gan = SeqGAN(g, d, train[:200], batch_size=16, num_rollouts=2, d_samples=32, seed=seed)
    gan.pretrain_generator(steps=3)
    gan.pretrain_discriminator(rounds=1, epochs=1, num_samples=32)
    gan.train(2)
    return gan.history, _parameters(g)


def test_reproducible_by_seed(oracle_data):
    _, train, _ = oracle_data
    (h1, p1), (h2, p2), (h3, p3) = _run(5, train), _run(5, train), _run(6, train)
    assert h1 == {**h2, "seconds": h1["seconds"]}
    assert all((v == p2[k]).all() for k, v in p1.items())
    assert h3["g_loss"] != h1["g_loss"]


def test_a_gpt_generator_trains_too(oracle_data):
    _, train, _ = oracle_data
    minigen.manual_seed(0)
    g = GPT(vocab_size=V, block_size=T, n_layer=1, n_head=2, n_embd=16)
    gan = SeqGAN(g, _discriminator(), train[:128], batch_size=16, num_rollouts=2, d_samples=32, seed=0)
    gan.pretrain_generator(steps=2)
    gan.pretrain_discriminator(num_samples=32)
    before = _parameters(g)
    gan.train(1)
    assert any((before[k] != v).any() for k, v in _parameters(g).items())
    assert gan.rollout is not None and 0 < gan.history["reward"][0] < 1


def test_one_adversarial_step_on_each_backend(backend, oracle_data):
    _, train, _ = oracle_data
    g = _generator().to(backend.device)
    d = _discriminator().to(backend.device)
    gan = SeqGAN(g, d, backend.asarray(train[:64]), batch_size=8, num_rollouts=2, d_samples=16, seed=0)
    gan.pretrain_generator(steps=1)
    entry = gan.adversarial_step()
    assert np.isfinite(entry["g_loss"]) and 0 < entry["reward"] < 1 and np.isfinite(entry["d_loss"])


@pytest.mark.parametrize("change, error, match", [
    (dict(discriminator=_discriminator(vocab_size=V + 1)), ValueError,
     "SeqGAN: discriminator must be over the generator's 30 tokens, got vocab_size 31"),
    (dict(discriminator="D"), TypeError, "SeqGAN: discriminator must be"),
    (dict(generator=_discriminator()), TypeError, "SeqGAN: generator must be a minigen language model"),
    (dict(real_data=np.full((4, T), V)), IndexError, r"SeqGAN: real_data must be ids in \[0, 30\), got id 30"),
    (dict(real_data=np.zeros(T, dtype=np.int64)), ValueError, "SeqGAN: real_data must be a 2-D array"),
    (dict(real_data=np.zeros((4, T))), TypeError, "SeqGAN: real_data must be an integer array"),
    (dict(num_rollouts=0), ValueError, "SeqGAN: num_rollouts must be a positive integer, got 0"),
    (dict(num_rollouts=-3), ValueError, "SeqGAN: num_rollouts must be a positive integer, got -3"),
    (dict(rollout_update_rate=1.5), ValueError, r"SeqGAN: rollout_update_rate must be a number in \[0, 1\]"),
    (dict(d_rounds=-1), ValueError, "SeqGAN: d_rounds must be a non-negative integer, got -1"),
    (dict(g_lr=0), ValueError, "SeqGAN: g_lr must be a finite number > 0"),
    (dict(d_lr=0), ValueError, "SeqGAN: d_lr must be a finite number > 0, got 0"),
    (dict(d_samples=0), ValueError, "SeqGAN: d_samples must be a positive integer or None, got 0"),
    (dict(max_grad_norm=0), ValueError, "SeqGAN: max_grad_norm must be a finite number > 0 or None, got 0"),
    (dict(seed=-1), ValueError, "SeqGAN: seed must be a non-negative integer or None, got -1"),
    (dict(start_token=V), IndexError, "SeqGAN: start_token"),
])
def test_bad_input_is_one_line_naming_the_argument(change, error, match):
    args = dict(generator=_generator(), discriminator=_discriminator(), real_data=np.zeros((4, T), dtype=np.int64))
    args.update({k: v for k, v in change.items() if k in args})
    options = {k: v for k, v in change.items() if k not in args}
    with pytest.raises(error, match=match) as e:
        SeqGAN(args.pop("generator"), args.pop("discriminator"), args.pop("real_data"), **options)
    assert "\n" not in str(e.value)


def test_bad_input_to_the_pretraining_functions():
    g, d, data = _generator(), _discriminator(), np.zeros((4, T), dtype=np.int64)
    with pytest.raises(IndexError, match=r"mle_pretrain: data must be ids in \[0, 30\), got id -1"):
        mle_pretrain(g, data - 1)
    with pytest.raises(ValueError, match="mle_pretrain: data must be a 2-D array of token ids, got shape"):
        mle_pretrain(g, data[None])
    with pytest.raises(ValueError, match="mle_pretrain: steps must be a positive integer or None, got 0"):
        mle_pretrain(g, data, steps=0)
    with pytest.raises(ValueError, match="mle_pretrain: epochs must be a positive integer, got 0"):
        mle_pretrain(g, data, epochs=0)
    with pytest.raises(ValueError, match="mle_pretrain: batch_size must be a positive integer, got 0"):
        mle_pretrain(g, data, batch_size=0)
    with pytest.raises(ValueError, match="mle_pretrain: lr must be a finite number >= 0, got -1"):
        mle_pretrain(g, data, lr=-1)
    with pytest.raises(ValueError, match="pretrain_discriminator: discriminator must be over the generator"):
        pretrain_discriminator(_discriminator(vocab_size=V - 1), g, data)
    with pytest.raises(ValueError, match=r"pretrain_discriminator: num_samples must be an integer in \[1, 4\]"):
        pretrain_discriminator(d, g, data, num_samples=5)
    with pytest.raises(ValueError, match="pretrain_discriminator: rounds must be a positive integer, got 0"):
        pretrain_discriminator(d, g, data, rounds=0)
    with pytest.raises(ValueError, match="pretrain_discriminator: temperature must be a finite number > 0, got 0"):
        pretrain_discriminator(d, g, data, temperature=0)
    with pytest.raises(ValueError, match="pretrain_discriminator: lr must be a finite number >= 0, got -1"):
        pretrain_discriminator(d, g, data, lr=-1)
    with pytest.raises(ValueError, match="update_rollout_policy: rollout must be a copy of the generator"):
        update_rollout_policy(_generator(vocab_size=V + 1), g)
    with pytest.raises(ValueError, match=r"update_rollout_policy: rate must be a number in \[0, 1\], got 1.5"):
        update_rollout_policy(copy.deepcopy(g), g, rate=1.5)
    gan = SeqGAN(g, d, data)
    with pytest.raises(ValueError, match="SeqGAN.train: num_steps must be a positive integer, got 0"):
        gan.train(0)
