"""The pretraining of a text GAN: the generator by maximum likelihood, the discriminator on real vs generated.

Both read sequences as the oracle draws them (``minigen.models.oracle_samples``) and the
metrics score them (``minigen.metrics.nll_test``): each row x_1..x_T starts from a start
token (id 0 unless told) and the model's zero state, and the start token is not part
of the row. Shapes: N = sequences, B = batch, T = tokens per sequence, V = vocabulary.

Generator, by teacher forcing (the model reads the true prefix, never its own samples):

    inputs  = [start, x_1, ..., x_{T-1}]
    loss    = -1/(BT) sum_b sum_t log p_G(x_bt | start, x_b,<t)     (= cross-entropy, nats per token)

Discriminator D (class 1 = real, class 0 = generated), on a mixed batch of real rows
x ~ data and generated rows y ~ G:

    loss = -1/B [ sum_real log D(x) + sum_generated log (1 - D(y)) ]   (2-class cross-entropy)

A "round" draws fresh negatives from the generator, as many as the real rows it uses,
then trains ``epochs`` passes over both, shuffled together: SeqGAN pretrains 50 rounds
of 3 epochs, and retrains 5 rounds of 3 epochs after every adversarial generator step.
"""

from __future__ import annotations

from .. import backend, rules
from ..backend import host
from ..functional import cross_entropy
from ..metrics.textgan import sequences
from ..models import oracle_samples
from ..models.generation import GenerationMixin
from ..nn.utils import clip_grad_norm_
from ..optim import Adam
from ..rl import sequence_log_probs
from ..sample.step import vocab_size_of

__all__ = ["mle_pretrain", "pretrain_discriminator"]

_GENERATOR = "a minigen language model (RNNLanguageModel, GPT)"
_DISCRIMINATOR = "a discriminator with config['vocab_size'] and real_probability (TextCNNDiscriminator)"


def language_model(fn: str, name: str, model) -> int:
    """The vocabulary size of ``model``, a minigen language model, or one error naming ``name``."""
    V = vocab_size_of(model)                                                   # None, or a positive int
    rules.require(isinstance(model, GenerationMixin) and V, fn, name, _GENERATOR, type(model).__name__, TypeError)
    return V


def discriminator_for(fn: str, discriminator, V: int) -> None:
    """Check that ``discriminator`` scores sequences over the generator's vocabulary of ``V`` tokens."""
    Vd = vocab_size_of(discriminator)
    ok = callable(getattr(discriminator, "real_probability", None)) and Vd is not None
    rules.require(ok, fn, "discriminator", _DISCRIMINATOR, type(discriminator).__name__, TypeError)
    rules.require(Vd == V, fn, "discriminator", f"over the generator's {V} tokens", f"vocab_size {Vd}")


def with_start(ids, start_token: int):
    """[start, x_1, ..., x_T] for each host row x: (N, T) -> (N, 1 + T)."""
    return host.concatenate([host.full((ids.shape[0], 1), start_token, dtype=ids.dtype), ids], axis=1)


def shared_settings(fn: str, V: int, start_token, max_grad_norm, seed):
    """The settings every phase takes, checked: ``(start_token, max_grad_norm, rng)``, where ``rng`` is
    ``numpy.random.default_rng(seed)``, or minigen's global generator when ``seed`` is None."""
    start_token = rules.token_id(fn, "start_token", start_token, V)
    max_grad_norm = rules.real(fn, "max_grad_norm", max_grad_norm, 0, lo_open=True, optional=True)
    seed = rules.non_negative_int(fn, "seed", seed, optional=True)
    return start_token, max_grad_norm, host.random.default_rng(seed) if seed is not None else backend.get_rng()


def _like(model):
    """An array on ``model``'s device (its first parameter's)."""
    return next(model.parameters()).data


def optimizer_step(model, optimizer, loss, max_grad_norm) -> float:
    """One optimizer step on ``loss``; its value."""
    optimizer.zero_grad()
    loss.backward()
    if max_grad_norm is not None:
        clip_grad_norm_(model.parameters(), max_norm=max_grad_norm)
    optimizer.step()
    return float(backend.to_numpy(loss.data))


def train_loop(fn: str, gan, step, num_steps, callback) -> dict:
    """The ``train`` of every GAN here: ``num_steps`` calls of ``step()``, each followed by ``callback(gan, entry)``
    (when given); returns ``gan.history``."""
    num_steps = rules.positive_int(fn, "num_steps", num_steps)
    rules.require(callback is None or callable(callback), fn, "callback", "a function (gan, entry) or None",
                  rules.describe(callback), TypeError)
    for _ in range(num_steps):
        entry = step()
        if callback is not None:
            callback(gan, entry)
    return gan.history


def mle_pretrain(generator, data, epochs: int = 1, *, steps: int | None = None, batch_size: int = 64,
                 lr: float = 0.01, optimizer=None, max_grad_norm: float | None = 5.0, start_token: int = 0,
                 seed: int | None = None) -> list[float]:
    """Train ``generator`` by maximum likelihood (teacher forcing from ``start_token``) on ``data``; per-batch losses.

    - ``generator``: an ``RNNLanguageModel`` or a ``GPT`` (its ``block_size`` at least T).
    - ``data``: (N, T) token ids (host or device), each row drawn from the start token.
    - ``epochs`` passes over the rows in a shuffled order, in batches of ``batch_size``
      (the last one smaller); ``steps``, when given, runs that many batches instead.
    - ``optimizer``: any minigen optimizer over the generator's parameters; None makes
      ``Adam(lr=lr)`` (SeqGAN's: Adam, lr 0.01, gradients clipped to norm 5).
    - ``seed``: the shuffling order (None: minigen's global generator).

    Returns the loss of every batch (mean NLL per token, nats). The generator is left in
    training mode.

    >>> import minigen
    >>> from minigen.models import RNNLanguageModel, oracle_lm, oracle_samples
    >>> data = oracle_samples(oracle_lm(vocab_size=20, embed_dim=8, hidden_size=8), 64, seq_len=6, seed=0)
    >>> g = RNNLanguageModel(20, embed_dim=8, hidden_size=16, num_layers=1)
    >>> losses = mle_pretrain(g, data, epochs=3, batch_size=16, seed=0)
    >>> len(losses), losses[-1] < losses[0]
    (12, True)
    """
    fn = "mle_pretrain"
    V = language_model(fn, "generator", generator)
    data = sequences(fn, "data", data, V)                                      # (N, T) on the host
    start_token, max_grad_norm, rng = shared_settings(fn, V, start_token, max_grad_norm, seed)
    epochs, batch_size = rules.positive_ints(fn, epochs=epochs, batch_size=batch_size)
    steps = rules.positive_int(fn, "steps", steps, optional=True)
    optimizer = optimizer if optimizer is not None else Adam(generator.parameters(), lr=rules.real(fn, "lr", lr, 0))
    ids, like = with_start(data, start_token), _like(generator)                # (N, 1+T)
    N = ids.shape[0]
    per_epoch = -(-N // batch_size)
    total = steps if steps is not None else epochs * per_epoch
    generator.train()
    losses = []
    while len(losses) < total:
        order = rng.permutation(N)                                             # one epoch, shuffled
        for s in range(0, N, batch_size):
            batch = backend.asarray_like(ids[order[s:s + batch_size]], like)  # (B, 1+T) on the model's device
            loss = -sequence_log_probs(generator, batch, 1).mean()             # teacher forcing: NLL per token
            losses.append(optimizer_step(generator, optimizer, loss, max_grad_norm))
            if len(losses) == total:
                break
    return losses


def pretrain_discriminator(discriminator, generator, real_data, rounds: int = 1, epochs: int = 3, *,
                           num_samples: int | None = None, batch_size: int = 64, lr: float = 1e-4, optimizer=None,
                           max_grad_norm: float | None = None, start_token: int = 0, temperature: float = 1.0,
                           seed: int | None = None) -> list[float]:
    """Train ``discriminator`` to tell ``real_data`` (class 1) from ``generator``'s samples (class 0); per-batch losses.

    Each of ``rounds`` rounds takes ``num_samples`` real rows (all of them when None, else a
    random subset), draws as many fresh sequences of the same length from ``generator``
    (from ``start_token``, at ``temperature``, no top-k: the generator's own distribution),
    and trains ``epochs`` passes over the two sets shuffled together, in batches of
    ``batch_size``, minimising the 2-class cross-entropy.

    - ``discriminator``: a ``TextCNNDiscriminator`` (or any classifier with 2 logits, a
      ``config['vocab_size']`` equal to the generator's, and ``real_probability``).
    - ``optimizer``: None makes ``Adam(lr=lr)`` (SeqGAN's: Adam, lr 1e-4).
    - ``seed``: the subsets, the negatives and the order (None: minigen's global generator).
      Dropout masks come from minigen's global generator (``minigen.manual_seed``).

    The discriminator is left in training mode.

    >>> import minigen
    >>> from minigen.models import RNNLanguageModel, TextCNNDiscriminator, oracle_lm, oracle_samples
    >>> data = oracle_samples(oracle_lm(vocab_size=20, embed_dim=8, hidden_size=8), 64, seq_len=6, seed=0)
    >>> g = RNNLanguageModel(20, embed_dim=8, hidden_size=16, num_layers=1)
    >>> d = TextCNNDiscriminator(20, embed_dim=8, filter_sizes=(2, 3), num_filters=(8, 8))
    >>> len(pretrain_discriminator(d, g, data, rounds=2, epochs=1, batch_size=32, seed=0))    # 2 x 128 rows / 32
    8
    """
    fn = "pretrain_discriminator"
    V = language_model(fn, "generator", generator)
    discriminator_for(fn, discriminator, V)
    real = sequences(fn, "real_data", real_data, V)                            # (N, T) on the host
    start_token, max_grad_norm, rng = shared_settings(fn, V, start_token, max_grad_norm, seed)
    rounds, epochs, batch_size = rules.positive_ints(fn, rounds=rounds, epochs=epochs, batch_size=batch_size)
    n = rules.integer(fn, "num_samples", num_samples, 1, real.shape[0], optional=True) or real.shape[0]
    temperature = rules.real(fn, "temperature", temperature, 0, lo_open=True)
    optimizer = optimizer if optimizer is not None else Adam(discriminator.parameters(), lr=rules.real(fn, "lr", lr, 0))
    return discriminator_rounds(discriminator, generator, real, rounds, epochs, n, batch_size, optimizer,
                                max_grad_norm, start_token, temperature, rng)


def discriminator_rounds(discriminator, generator, real, rounds, epochs, n, batch_size, optimizer, max_grad_norm,
                         start_token, temperature, rng) -> list[float]:
    """``pretrain_discriminator``'s loop on checked arguments: ``real`` a host (N, T) id array, ``n`` <= N rows a
    round, ``rng`` a NumPy generator. ``SeqGAN`` calls it after every adversarial step."""
    like = _like(discriminator)
    losses = []
    for _ in range(rounds):
        pos = real if n == real.shape[0] else real[rng.choice(real.shape[0], n, replace=False)]        # (n, T)
        neg = backend.to_numpy(oracle_samples(generator, n, real.shape[1], seed=int(rng.integers(2**63)),
                                              start_token=start_token, temperature=temperature))   # (n, T)
        x = host.concatenate([pos, neg.astype(pos.dtype)], axis=0)                               # (2n, T)
        y = host.concatenate([host.ones(n, dtype=host.int64), host.zeros(n, dtype=host.int64)])   # 1 = real
        discriminator.train()
        for _ in range(epochs):
            order = rng.permutation(2 * n)
            for s in range(0, 2 * n, batch_size):
                rows = order[s:s + batch_size]
                logits = discriminator(backend.asarray_like(x[rows], like))                       # (B, 2)
                loss = cross_entropy(logits, backend.asarray_like(y[rows], like))
                losses.append(optimizer_step(discriminator, optimizer, loss, max_grad_norm))
    return losses
