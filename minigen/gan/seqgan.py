"""SeqGAN (Yu, Zhang, Wang and Yu, AAAI 2017): a text generator trained by policy gradient on a discriminator's reward.

A sampled sentence is discrete, so the discriminator's gradient cannot reach the
generator G_theta through it. SeqGAN treats G as a policy that picks one token per step,
and D_phi's "real" probability of the finished sentence as the reward. The reward of
an unfinished prefix Y_1:t is estimated by completing it N times with a rollout
policy G_beta (Monte-Carlo search, ``minigen.rl.rollout_rewards``):

    Q(Y_1:t-1, y_t) = 1/N sum_n D_phi(MC^n_beta(Y_1:t))    for t < T,     D_phi(Y_1:T) for t = T

and the generator follows the REINFORCE estimate (``minigen.rl.reinforce_loss``, per-token rewards):

    grad J(theta) ~= 1/B sum_b sum_t Q(Y_b,1:t-1, y_bt) grad log G_theta(y_bt | Y_b,1:t-1)

The rollout policy is a delayed copy of the generator, moved after every generator update:

    beta <- r * beta + (1 - r) * theta,      r = 0.8      (``update_rollout_policy``)

Training, as in the paper's Algorithm 1 and code:
1. pretrain G by maximum likelihood on the real data (``pretrain_generator``);
2. pretrain D on real vs generated sequences (``pretrain_discriminator``);
3. repeat (``adversarial_step``, ``train``): ``g_steps`` generator updates on a fresh batch
   each, then the rollout update, then D retrained for ``d_rounds`` rounds of ``d_epochs``
   epochs on fresh negatives (``minigen.gan.pretrain_discriminator``).

SeqGAN's values, beside the defaults here (which run in seconds on a CPU):

    =====================  ===================================  ===============
    argument               SeqGAN                               default
    =====================  ===================================  ===============
    batch_size             64                                   64
    num_rollouts           16                                   16
    rollout_update_rate    0.8                                  0.8
    g_steps                1                                    1
    d_rounds, d_epochs     5, 3                                 1, 1
    d_samples              10,000 (all the real data)           1,024
    g_lr, d_lr             0.01, 1e-4 (Adam)                    0.01, 1e-4
    max_grad_norm          5.0 (the generator's)                5.0
    pretraining            80 epochs (G), 50 rounds x 3 (D)     the caller's
    adversarial steps      200                                  the caller's
    =====================  ===================================  ===============

Where this differs: SeqGAN's code copies the embedding into the rollout network at once
and delays only the recurrent and output weights; here every parameter is delayed. Its
discriminator adds an L2 penalty of 0.2 on the output layer; pass a ``d_optimizer`` with
``weight_decay`` for one. Shapes: B = batch, T = tokens per sequence, N = rollouts.
"""

from __future__ import annotations

import copy
import time

from .. import backend, rules
from ..autograd import no_grad
from ..backend import host
from ..optim import Adam
from ..rl import reinforce_loss, rollout_rewards, sequence_log_probs
from ..sample.generate import generate
from .mle import (
    discriminator_for, discriminator_rounds, language_model, mle_pretrain, optimizer_step, pretrain_discriminator,
    sequences, shared_settings, train_loop,
)

__all__ = ["SeqGAN", "update_rollout_policy"]


def update_rollout_policy(rollout, generator, rate: float = 0.8):
    """Move the rollout policy's parameters toward the generator's, in place: beta <- r * beta + (1 - r) * theta.

    ``rate`` r in [0, 1]: 1 keeps the rollout policy fixed, 0 copies the generator. The two
    models must have the same parameters (names and shapes): ``rollout`` is a copy of
    ``generator`` (``copy.deepcopy``). Returns ``rollout``.

    >>> import copy, minigen
    >>> g = minigen.models.RNNLanguageModel(vocab_size=5, embed_dim=2, hidden_size=3, num_layers=1)
    >>> beta = copy.deepcopy(g)
    >>> g.head.bias.data[...] = 1.0
    >>> beta.head.bias.data[...] = 0.0
    >>> update_rollout_policy(beta, g, rate=0.75).head.bias.data.tolist()
    [0.25, 0.25, 0.25, 0.25, 0.25]
    """
    fn = "update_rollout_policy"
    r = rules.real(fn, "rate", rate, 0, 1)
    theta = dict(generator.named_parameters())
    beta = dict(rollout.named_parameters())
    same = beta.keys() == theta.keys() and all(tuple(beta[k].shape) == tuple(theta[k].shape) for k in beta)
    rules.require(same, fn, "rollout", "a copy of the generator (the same parameter names and shapes)",
                  type(rollout).__name__)
    for name, p in beta.items():
        p.data = r * p.data + (1 - r) * theta[name].data
    return rollout


class SeqGAN:
    """SeqGAN's training of ``generator`` against ``discriminator`` on ``real_data``: pretraining, then adversarial.

    - ``generator``: an ``RNNLanguageModel`` or a ``GPT`` (``block_size`` >= T).
    - ``discriminator``: a ``TextCNNDiscriminator`` over the generator's vocabulary.
    - ``real_data``: (N, T) token ids, each row drawn from ``start_token`` (as ``oracle_samples`` draws them).
    - ``batch_size``: the generated batch of an adversarial step (and the batches of pretraining).
    - ``num_rollouts``: N, the Monte-Carlo completions per prefix.
    - ``rollout_update_rate``: r of the delayed rollout policy (``update_rollout_policy``);
      None rolls out with the generator itself.
    - ``g_steps``: generator updates per adversarial step; ``d_rounds`` (0: a fixed
      discriminator), ``d_epochs`` and ``d_samples`` (real rows per round, at most N):
      the discriminator's retraining after them.
    - ``g_lr``, ``d_lr``: Adam's learning rates (one Adam for MLE pretraining, one for the
      adversarial updates, one for the discriminator, as in SeqGAN's code);
      ``max_grad_norm``: the generator's gradient clipping (None: none).
    - ``baseline``: passed to ``reinforce_loss`` (SeqGAN uses none; a
      ``minigen.rl.MovingAverageBaseline`` lowers the variance).
    - ``seed``: every draw of the training (batches, samples, rollouts, shuffles). Dropout
      masks and initialisations come from minigen's global generator: call
      ``minigen.manual_seed`` too for a run that repeats exactly.

    State to inspect: ``generator``, ``discriminator``, ``rollout`` (the delayed copy, made
    at the first adversarial step from the pretrained generator), the three optimizers,
    ``steps`` (adversarial steps done) and ``history``, a dict of lists:
    ``mle_loss`` and ``d_pretrain_loss`` (per batch), and per adversarial step ``g_loss``,
    ``reward`` (the discriminator's mean P(real) of the step's samples), ``d_loss`` (the mean
    of the retraining's batches; NaN when ``d_rounds`` is 0) and ``seconds``.

    >>> import minigen
    >>> from minigen.models import RNNLanguageModel, TextCNNDiscriminator, oracle_lm, oracle_samples
    >>> data = oracle_samples(oracle_lm(vocab_size=20, embed_dim=8, hidden_size=8), 64, seq_len=6, seed=0)
    >>> g = RNNLanguageModel(20, embed_dim=8, hidden_size=16, num_layers=1)
    >>> d = TextCNNDiscriminator(20, embed_dim=8, filter_sizes=(2, 3), num_filters=(8, 8))
    >>> gan = SeqGAN(g, d, data, batch_size=16, num_rollouts=2, d_samples=32, seed=0)
    >>> _ = gan.pretrain_generator(epochs=2)
    >>> _ = gan.pretrain_discriminator(rounds=1, epochs=1)
    >>> history = gan.train(2)
    >>> gan.steps, len(history["g_loss"]), 0 < history["reward"][-1] < 1
    (2, 2, True)
    """

    def __init__(self, generator, discriminator, real_data, *, start_token: int = 0, batch_size: int = 64,
                 num_rollouts: int = 16, rollout_update_rate: float | None = 0.8, g_steps: int = 1,
                 d_rounds: int = 1, d_epochs: int = 1, d_samples: int | None = 1024, g_lr: float = 0.01,
                 d_lr: float = 1e-4, max_grad_norm: float | None = 5.0, baseline=None, seed: int | None = 0):
        fn = "SeqGAN"
        V = language_model(fn, "generator", generator)
        discriminator_for(fn, discriminator, V)
        self.real_data = sequences(fn, "real_data", real_data, V)                    # (N, T) on the host
        self.start_token, self.max_grad_norm, self.rng = shared_settings(fn, V, start_token, max_grad_norm, seed)
        self.batch_size, self.num_rollouts, self.g_steps, self.d_epochs = rules.positive_ints(
            fn, batch_size=batch_size, num_rollouts=num_rollouts, g_steps=g_steps, d_epochs=d_epochs)
        self.d_rounds = rules.non_negative_int(fn, "d_rounds", d_rounds)
        d_samples = rules.positive_int(fn, "d_samples", d_samples, optional=True)
        self.d_samples = min(d_samples, len(self.real_data)) if d_samples is not None else len(self.real_data)
        self.rollout_update_rate = rules.real(fn, "rollout_update_rate", rollout_update_rate, 0, 1, optional=True)
        self.generator, self.discriminator, self.baseline = generator, discriminator, baseline
        self.mle_optimizer = Adam(generator.parameters(), lr=rules.real(fn, "g_lr", g_lr, 0, lo_open=True))
        self.g_optimizer = Adam(generator.parameters(), lr=g_lr)
        self.d_optimizer = Adam(discriminator.parameters(), lr=rules.real(fn, "d_lr", d_lr, 0, lo_open=True))
        self.rollout = None
        self.steps = 0
        self.history = {"mle_loss": [], "d_pretrain_loss": [], "g_loss": [], "reward": [], "d_loss": [],
                        "seconds": []}

    def _seed(self) -> int:
        return int(self.rng.integers(2**31))

    def pretrain_generator(self, epochs: int = 1, *, steps: int | None = None) -> list[float]:
        """Maximum-likelihood pretraining of the generator on the real data (``mle_pretrain``); per-batch losses.

        The rollout policy is copied afresh from the trained generator at the next adversarial step.
        """
        losses = mle_pretrain(self.generator, self.real_data, epochs, steps=steps, batch_size=self.batch_size,
                              optimizer=self.mle_optimizer, max_grad_norm=self.max_grad_norm,
                              start_token=self.start_token, seed=self._seed())
        self.history["mle_loss"] += losses
        self.rollout = None
        return losses

    def pretrain_discriminator(self, rounds: int = 1, epochs: int = 1, *,
                               num_samples: int | None = None) -> list[float]:
        """Pretraining of the discriminator (``minigen.gan.pretrain_discriminator``): ``rounds`` rounds of fresh
        negatives, ``epochs`` epochs each, on ``num_samples`` real rows (None: all); per-batch losses."""
        losses = pretrain_discriminator(self.discriminator, self.generator, self.real_data, rounds, epochs,
                                        num_samples=num_samples, batch_size=self.batch_size,
                                        optimizer=self.d_optimizer, start_token=self.start_token, seed=self._seed())
        self.history["d_pretrain_loss"] += losses
        return losses

    def reward(self, ids):
        """The discriminator's P(real) (B,) of rows ``ids`` (B, 1 + T) that start with the start token (no graph)."""
        with no_grad():
            return self.discriminator.real_probability(ids[:, 1:])

    def adversarial_step(self) -> dict:
        """One round of SeqGAN's adversarial training: ``g_steps`` policy-gradient updates of the generator,
        the rollout policy's update, the discriminator's retraining. Returns the step's entry of ``history``."""
        t0 = time.perf_counter()
        G, D, T = self.generator, self.discriminator, self.real_data.shape[1]
        if self.rollout is None and self.rollout_update_rate is not None:
            self.rollout = copy.deepcopy(G).eval()                           # beta <- theta, once pretrained
        like = next(G.parameters()).data
        prompt = backend.asarray_like(host.full((self.batch_size, 1), self.start_token, dtype=host.int64), like)
        G.eval()                                  # log-probs of the policy that sampled (no dropout); grads still flow
        D.eval()                                  # the reward without dropout
        g_losses, rewards = [], []
        for _ in range(self.g_steps):
            ids = generate(G, prompt, T, do_sample=True, top_k=0, seed=self._seed())            # (B, 1 + T)
            policy = self.rollout if self.rollout is not None else G
            Q = rollout_rewards(policy, self.reward, ids, 1, self.num_rollouts, seed=self._seed())   # (B, T)
            loss = reinforce_loss(sequence_log_probs(G, ids, 1), Q, baseline=self.baseline)
            g_losses.append(optimizer_step(G, self.g_optimizer, loss, self.max_grad_norm))
            rewards.append(float(backend.to_numpy(backend.array_namespace(Q).mean(Q[:, -1]))))   # D(Y_1:T)
        if self.rollout is not None:
            update_rollout_policy(self.rollout, G, self.rollout_update_rate)
        d_losses = discriminator_rounds(                                   # settings checked in __init__
            D, G, self.real_data, self.d_rounds, self.d_epochs, self.d_samples, self.batch_size, self.d_optimizer,
            None, self.start_token, 1.0, host.random.default_rng(self._seed())) if self.d_rounds else []
        G.train()
        self.steps += 1
        entry = dict(g_loss=sum(g_losses) / len(g_losses), reward=sum(rewards) / len(rewards),
                     d_loss=sum(d_losses) / len(d_losses) if d_losses else float("nan"),
                     seconds=time.perf_counter() - t0)
        for key, value in entry.items():
            self.history[key].append(value)
        return entry

    def train(self, num_steps: int, callback=None) -> dict:
        """``num_steps`` adversarial steps; ``callback(gan, entry)`` after each (for example to measure NLL-oracle).
        Returns ``history``."""
        return train_loop("SeqGAN.train", self, self.adversarial_step, num_steps, callback)

    def __repr__(self):
        return (f"SeqGAN(steps={self.steps}, batch_size={self.batch_size}, num_rollouts={self.num_rollouts}, "
                f"rollout_update_rate={self.rollout_update_rate}, g_steps={self.g_steps}, d_rounds={self.d_rounds}, "
                f"d_epochs={self.d_epochs}, d_samples={self.d_samples})")
