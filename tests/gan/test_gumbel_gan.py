"""The Gumbel-softmax GAN: the relaxed pipeline's gradient, its samples, the schedule, learning, seeds, bad input."""

import numpy as np
import pytest

import minigen
from minigen.gan import GumbelGAN
from minigen.models import RNNLanguageModel, TextCNNDiscriminator, oracle_lm, oracle_samples

V, T = 12, 5


def _data(n=64):
    return oracle_samples(oracle_lm(vocab_size=V, embed_dim=8, hidden_size=8, seed=0), n, seq_len=T, seed=0)


def _gan(dtype=None, **kw):
    minigen.manual_seed(0)
    g = RNNLanguageModel(V, embed_dim=6, hidden_size=8, num_layers=1, dtype=dtype)
    d = TextCNNDiscriminator(V, embed_dim=6, filter_sizes=(2, 3), num_filters=(4, 4), dropout=0.0, dtype=dtype)
    return GumbelGAN(g, d, _data(), **{"batch_size": 8, "seed": 0, **kw})


def test_the_generators_gradient_through_the_relaxation_is_the_numerical_one():
    gan = _gan(dtype="float64", batch_size=3, loss="standard")
    gan.discriminator.eval()
    noise = np.random.default_rng(1).gumbel(size=(3, T, V))
    params = dict(gan.generator.named_parameters())

    def g_loss(*_):
        _, soft = gan.sample_relaxed(0.5, gumbels=noise)
        return gan.discriminator(soft)                             # (B, 2): every logit depends on the generator
    assert minigen.gradcheck(g_loss, list(params.values()), seed=0)


def test_hard_tokens_are_samples_of_the_generators_distribution_and_the_soft_rows_tend_to_them():
    gan = _gan(batch_size=4000)
    tokens, soft = gan.sample_relaxed(0.01)
    # the first token is drawn from softmax(logits) after the start token: compare its frequencies (chi-square)
    logits, _ = gan.generator(np.zeros((1, 1), np.int64))
    p = np.exp(logits.numpy()[0, -1] - logits.numpy()[0, -1].max())
    p /= p.sum()
    counts = np.bincount(tokens[:, 0], minlength=V)
    chi2 = ((counts - 4000 * p) ** 2 / (4000 * p)).sum()
    assert chi2 < 31.26                                            # the 0.001 critical value with 11 degrees of freedom
    assert (soft.numpy().argmax(-1) == tokens).all()
    assert soft.numpy().max(-1).mean() > 0.99                      # tau = 0.01: nearly one-hot


@pytest.mark.parametrize("schedule, middle", [("exp", 10.0), ("linear", 50.5), ("constant", 100.0)])
def test_the_temperature_schedule(schedule, middle):
    gan = _gan(schedule=schedule, beta_max=100, anneal_steps=10)
    start = 1.0 if schedule != "constant" else 0.01
    assert gan.temperature(0) == pytest.approx(start)
    assert gan.temperature(5) == pytest.approx(1 / middle)
    assert gan.temperature(10) == pytest.approx(0.01) == gan.temperature(50)     # held after anneal_steps


class OneTokenCritic(TextCNNDiscriminator):
    """A fixed discriminator whose 'real' logit is the share of token 3 in the sequence."""

    def forward(self, x):
        share = (x[..., 3] if isinstance(x, minigen.Tensor) else minigen.tensor(
            np.eye(V, dtype=np.float32)[minigen.to_numpy(x)][..., 3])).mean(axis=1)
        return minigen.stack([share * 0.0, 10.0 * share + 0.0 * self.head.bias.sum()], axis=1)   # a parameter: D steps run


@pytest.mark.parametrize("loss", ["rsgan", "standard"])
def test_the_generator_moves_toward_what_the_discriminator_calls_real(loss):
    gan = _gan(loss=loss, g_lr=0.05, schedule="constant", beta_max=2)
    gan.discriminator = OneTokenCritic(V, embed_dim=2, filter_sizes=(1,), num_filters=(1,))
    gan.d_optimizer = minigen.optim.SGD(gan.discriminator.parameters(), lr=0.0)
    share = lambda: (oracle_samples(gan.generator, 500, T, seed=5) == 3).mean()   # noqa: E731
    before = share()
    gan.train(15)
    assert share() > before + 0.1


def test_the_discriminator_learns_to_separate_real_from_generated():
    # near one-hot samples (tau 0.001): at tau 1 it would learn that soft rows are fake and every hard row is real
    gan = _gan(d_lr=0.01, g_lr=1e-8, schedule="constant", beta_max=1000)
    gan.train(40)
    d = gan.discriminator.eval()
    real = d.real_probability(_data(200)).numpy()
    fake = d.real_probability(oracle_samples(gan.generator, 200, T, seed=9)).numpy()
    assert (real > 0.5).mean() / 2 + (fake < 0.5).mean() / 2 > 0.7


def test_a_seed_repeats_a_run():
    a, b, c = _gan(seed=3), _gan(seed=3), _gan(seed=4)
    ha, hb, hc = a.train(3), b.train(3), c.train(3)
    assert ha["g_loss"] == hb["g_loss"] and ha["d_loss"] == hb["d_loss"]
    assert ha["g_loss"] != hc["g_loss"]


def test_it_runs_on_the_strict_device(backend):
    gan = _gan()
    gan.generator.to(backend.device)
    gan.discriminator.to(backend.device)
    entry = gan.step()
    assert np.isfinite(entry["g_loss"]) and np.isfinite(entry["d_loss"])


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(beta_max=0.5), ValueError, "GumbelGAN: beta_max must be a finite number >= 1, got 0.5"),
    (dict(schedule="sigmoid"), ValueError, "GumbelGAN: schedule must be one of 'exp', 'linear', 'constant'"),
    (dict(loss="wgan"), ValueError, "GumbelGAN: loss must be one of 'rsgan', 'standard', got 'wgan'"),
    (dict(g_lr=0), ValueError, "GumbelGAN: g_lr must be a finite number > 0, got 0"),
    (dict(d_lr=0), ValueError, "GumbelGAN: d_lr must be a finite number > 0, got 0"),
    (dict(anneal_steps=0), ValueError, "GumbelGAN: anneal_steps must be a positive integer, got 0"),
])
def test_bad_settings_are_one_line_naming_the_argument(kwargs, error, message):
    with pytest.raises(error, match=message):
        _gan(**kwargs)


def test_bad_arguments_to_temperature_and_train_name_them():
    gan = _gan()
    with pytest.raises(ValueError, match="GumbelGAN.temperature: step must be a non-negative integer, got -1"):
        gan.temperature(-1)
    with pytest.raises(TypeError, match=r"GumbelGAN.train: callback must be a function \(gan, entry\) or None, got 3"):
        gan.train(1, callback=3)
    assert gan.steps == 0                                  # refused before any step


def test_a_discriminator_over_another_vocabulary_is_refused():
    g = RNNLanguageModel(V, embed_dim=6, hidden_size=8, num_layers=1)
    d = TextCNNDiscriminator(V + 1, embed_dim=6, filter_sizes=(2,), num_filters=(4,))
    with pytest.raises(ValueError, match=f"GumbelGAN: discriminator must be over the generator's {V}"):
        GumbelGAN(g, d, _data())
