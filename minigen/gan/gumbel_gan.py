"""A text GAN trained through the Gumbel-softmax relaxation (Kusner and Hernández-Lobato 2016; RelGAN, 2019).

SeqGAN cannot backpropagate through a sampled token, so it estimates the gradient with
REINFORCE. The Gumbel-softmax trick instead relaxes each sample. At step t the
generator gives logits o_t; with Gumbel noise g_t (one draw per vocabulary entry),

    y_t    = argmax(o_t + g_t)                 a sample from softmax(o_t): the next input
    ŷ_t    = softmax((o_t + g_t) / tau)        its relaxation, differentiable in o_t

and the discriminator reads the soft one-hots ŷ (B, T, V) (``TextCNNDiscriminator``
embeds them as ŷ @ W_emb), so the discriminator's loss has a gradient with respect to
the generator's parameters through every ŷ_t. As tau -> 0, ŷ_t tends to the one-hot of
y_t, which is what real data looks like, but the gradient's variance grows; RelGAN
raises the inverse temperature beta = 1 / tau during training (``temperature``):

    exp:       beta_i = beta_max ** (i / N)
    linear:    beta_i = 1 + (beta_max - 1) * i / N
    constant:  beta_i = beta_max                      (i = adversarial steps done, N = anneal_steps)

Losses, with s(x) = logit_real(x) - logit_fake(x), the discriminator's 2 logits as one score:

    rsgan (RelGAN's relativistic standard loss, the default):
        L_D = -mean log sigmoid(s(x_real) - s(ŷ)),   L_G = -mean log sigmoid(s(ŷ) - s(x_real))
    standard (the non-saturating GAN loss):
        L_D = -mean [log D(x_real) + log(1 - D(ŷ))],   L_G = -mean log D(ŷ),   D = softmax(logits)[:, 1]

Each adversarial step draws one relaxed batch, updates the discriminator on it
(detached) and a real batch, then the generator through the relaxation. The next
input is the hard token y_t, as in RelGAN, so the gradient reaches the generator
through its logits at every step, not through its inputs. Shapes: B = batch,
T = tokens, V = vocabulary.
"""

from __future__ import annotations

import time

from .. import backend, rules
from .. import functional as F
from ..autograd import no_grad
from ..autograd.ops import stack
from ..backend import array_namespace, host
from ..models import RNNLanguageModel
from ..optim import Adam
from .mle import _like, discriminator_for, language_model, optimizer_step, sequences, shared_settings, train_loop

SCHEDULES = ("exp", "linear", "constant")
LOSSES = ("rsgan", "standard")


def _neg_log_sigmoid(a):
    """-mean log sigmoid(a) for a (B,) Tensor, stably: the 2-class cross-entropy of logits [0, a] for class 1."""
    xp = array_namespace(a.data)
    ones = xp.ones(a.shape, dtype=xp.int64, device=backend.device_of(a.data))
    return F.cross_entropy(stack([a * 0.0, a], axis=1), ones)


class GumbelGAN:
    """Adversarial training of ``generator`` against ``discriminator`` through the Gumbel-softmax relaxation.

    - ``generator``: an ``RNNLanguageModel`` (or a ``GPT``, whose prefix is read again each step).
    - ``discriminator``: a ``TextCNNDiscriminator`` over the generator's vocabulary (it reads soft one-hots).
    - ``real_data``: (N, T) token ids drawn from ``start_token``, as ``oracle_samples`` draws them.
    - ``beta_max``, ``schedule`` (exp, linear, constant), ``anneal_steps``: the inverse temperature.
    - ``loss``: "rsgan" (RelGAN's) or "standard" (non-saturating).
    - ``g_lr``, ``d_lr``: Adam's learning rates (RelGAN: 1e-4 both); ``max_grad_norm`` clips both.
    - ``seed``: the real batches and the Gumbel noise.

    State: ``steps``, ``history`` (per step: ``g_loss``, ``d_loss``, ``tau``, ``seconds``).

    >>> import minigen
    >>> from minigen.models import RNNLanguageModel, TextCNNDiscriminator, oracle_lm, oracle_samples
    >>> data = oracle_samples(oracle_lm(vocab_size=20, embed_dim=8, hidden_size=8), 64, seq_len=6, seed=0)
    >>> g = RNNLanguageModel(20, embed_dim=8, hidden_size=16, num_layers=1)
    >>> d = TextCNNDiscriminator(20, embed_dim=8, filter_sizes=(2, 3), num_filters=(8, 8))
    >>> gan = GumbelGAN(g, d, data, batch_size=16, anneal_steps=10, seed=0)
    >>> history = gan.train(3)
    >>> gan.steps, len(history["g_loss"]), round(gan.temperature(10), 6)
    (3, 3, 0.01)
    """

    def __init__(self, generator, discriminator, real_data, *, start_token: int = 0, batch_size: int = 64,
                 beta_max: float = 100.0, schedule: str = "exp", anneal_steps: int = 1000, loss: str = "rsgan",
                 g_lr: float = 1e-4, d_lr: float = 1e-4, max_grad_norm: float | None = 5.0, seed: int | None = 0):
        fn = "GumbelGAN"
        V = language_model(fn, "generator", generator)
        discriminator_for(fn, discriminator, V)
        self.real_data = sequences(fn, "real_data", real_data, V)                    # (N, T) on the host
        self.start_token, self.max_grad_norm, self.rng = shared_settings(fn, V, start_token, max_grad_norm, seed)
        self.batch_size, self.anneal_steps = rules.positive_ints(fn, batch_size=batch_size, anneal_steps=anneal_steps)
        self.beta_max = rules.real(fn, "beta_max", beta_max, 1)
        self.schedule = rules.choice(fn, "schedule", schedule, SCHEDULES)
        self.loss = rules.choice(fn, "loss", loss, LOSSES)
        self.generator, self.discriminator = generator, discriminator
        self.g_optimizer = Adam(generator.parameters(), lr=rules.real(fn, "g_lr", g_lr, 0, lo_open=True))
        self.d_optimizer = Adam(discriminator.parameters(), lr=rules.real(fn, "d_lr", d_lr, 0, lo_open=True))
        self.steps = 0
        self.history = {"g_loss": [], "d_loss": [], "tau": [], "seconds": []}

    def temperature(self, step: int | None = None) -> float:
        """tau = 1 / beta at adversarial step ``step`` (default: the next one), by the schedule."""
        i = self.steps if step is None else rules.non_negative_int("GumbelGAN.temperature", "step", step)
        i = min(i, self.anneal_steps)
        if self.schedule == "exp":
            beta = self.beta_max ** (i / self.anneal_steps)
        elif self.schedule == "linear":
            beta = 1 + (self.beta_max - 1) * i / self.anneal_steps
        else:
            beta = self.beta_max
        return 1.0 / beta

    def sample_relaxed(self, tau: float, gumbels=None):
        """A batch drawn step by step with the graph: ``(tokens (B, T) array, soft one-hots (B, T, V) Tensor)``.

        ``gumbels`` (B, T, V), the noise, on the generator's device; None draws it from ``seed``'s generator.
        """
        G, T = self.generator, self.real_data.shape[1]
        like, V, B = _like(G), G.config["vocab_size"], self.batch_size
        xp = array_namespace(like)
        if gumbels is None:
            gumbels = backend.asarray_like(self.rng.gumbel(size=(B, T, V)).astype(backend._dtype_name(like.dtype)),
                                           like)
        ids = backend.asarray_like(host.full((B, 1), self.start_token, dtype=host.int64), like)   # (B, 1)
        state, soft = None, []
        for t in range(T):
            if isinstance(G, RNNLanguageModel):                      # the state carries the graph
                logits, state = G(ids[:, -1:], state)
            else:                                                    # a GPT reads its prefix again
                logits = G(ids)
            o = logits[:, -1, :]                                     # (B, V)
            g = gumbels[:, t, :]                                     # (B, V)
            soft.append(F.gumbel_softmax(o, tau=tau, gumbels=g))     # softmax((o + g) / tau), (B, V)
            y = xp.argmax(o.data + g, axis=-1)                       # (B,): a sample from softmax(o)
            ids = xp.concat([ids, y[:, None]], axis=1)
        return ids[:, 1:], stack(soft, axis=1)                       # (B, T), (B, T, V)

    def _scores(self, x):
        logits = self.discriminator(x)                               # (B, 2)
        return logits[:, 1] - logits[:, 0]                           # (B,): s(x)

    def _losses(self, s_real, s_fake):
        """(L_D, L_G) of the scores; L_D's s_fake must be detached by the caller, L_G's s_real is constant."""
        if self.loss == "rsgan":
            return _neg_log_sigmoid(s_real - s_fake), _neg_log_sigmoid(s_fake - s_real)
        return _neg_log_sigmoid(s_real) + _neg_log_sigmoid(-s_fake), _neg_log_sigmoid(s_fake)

    def step(self) -> dict:
        """One adversarial step: a relaxed batch, the discriminator's update, the generator's; its history entry."""
        t0 = time.perf_counter()
        G, D = self.generator, self.discriminator
        tau = self.temperature()
        G.train()
        D.train()
        _, soft = self.sample_relaxed(tau)                                       # (B, T, V), with the graph
        rows = self.rng.integers(0, len(self.real_data), self.batch_size)
        real = backend.asarray_like(self.real_data[rows], _like(G))              # (B, T)
        d_loss, _ = self._losses(self._scores(real), self._scores(soft.detach()))
        d_value = optimizer_step(D, self.d_optimizer, d_loss, self.max_grad_norm)
        with no_grad():
            s_real = self._scores(real)
        _, g_loss = self._losses(s_real, self._scores(soft))
        g_value = optimizer_step(G, self.g_optimizer, g_loss, self.max_grad_norm)
        self.steps += 1
        entry = dict(g_loss=g_value, d_loss=d_value, tau=tau, seconds=time.perf_counter() - t0)
        for key, value in entry.items():
            self.history[key].append(value)
        return entry

    def train(self, num_steps: int, callback=None) -> dict:
        """``num_steps`` adversarial steps; ``callback(gan, entry)`` after each. Returns ``history``."""
        return train_loop("GumbelGAN.train", self, self.step, num_steps, callback)

    def __repr__(self):
        return (f"GumbelGAN(steps={self.steps}, batch_size={self.batch_size}, loss={self.loss!r}, "
                f"schedule={self.schedule!r}, beta_max={self.beta_max:g}, anneal_steps={self.anneal_steps})")
