"""``TextVAE``: the sentence variational autoencoder of Bowman et al. (2016),
"Generating Sentences from a Continuous Space".

An LSTM reads a sentence into a Gaussian ``q(z|x) = N(mu, diag(exp(logvar)))``; a
second LSTM, started from ``z``, writes the sentence back out::

    ids (B, T) -> Embedding -> encoder LSTM -> h at the last token (B, H) -> Linear -> mu, logvar (B, Z)
    z = mu + exp(logvar / 2) * eps,  eps ~ N(0, I)                  reparameterisation
    z -> Linear -> (h0 = tanh(.), c0) of the decoder LSTM
    [BOS w_1 .. w_n] (word dropout: some words -> UNK), z appended to each -> decoder LSTM -> Linear -> logits

    recon = -sum_t log p(w_t | w_<t, z)                             per sentence, PAD masked
    KL    = -1/2 sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j))      KL(q(z|x) || N(0, I)), per sentence
    loss  = mean over the batch of (recon + beta * KL)             (optionally with "free bits": forward)

The reparameterisation moves the randomness into ``eps``, so ``dz/dmu = 1`` and
``dz/dlogvar = exp(logvar / 2) * eps / 2`` and the gradient reaches the encoder.
Two tricks keep the decoder from ignoring ``z`` (the KL "collapses" to 0): ``beta``
grows from 0 to 1 during training (``kl_weight``), and word dropout hides some of the
words the decoder would otherwise copy from its input.

A batch is ``BOS w_1 .. w_n EOS`` per row, right-padded with PAD (``make_batch``).
Shapes: B = batch, T = time, E = embed_dim, H = hidden_size, Z = latent_dim, V = vocab.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass

from .. import backend, nn, rules
from .. import functional as F
from ..autograd import Tensor, no_grad
from ..autograd.ops import concat, split

__all__ = ["TextVAE", "VAEOutput", "kl_divergence", "reparameterize", "kl_weight", "make_batch"]


# ---------------------------------------------------------------------------- the two formulas

def kl_divergence(mu, logvar):
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) per row, in closed form: (B, Z), (B, Z) -> (B,).

        KL = 1/2 sum_j (mu_j^2 + exp(logvar_j) - logvar_j - 1)

    It is 0 exactly when mu = 0 and logvar = 0 (q is the prior).

    >>> import minigen, numpy as np
    >>> kl_divergence(minigen.tensor(np.zeros((2, 3))), minigen.tensor(np.zeros((2, 3)))).tolist()
    [0.0, 0.0]
    """
    return ((mu * mu + logvar.exp() - logvar - 1.0) * 0.5).sum(axis=-1)


def reparameterize(mu, logvar, eps=None):
    """z = mu + exp(logvar / 2) * eps, with eps ~ N(0, I) drawn from minigen's seeded host generator unless given.

    ``eps`` (B, Z) can be passed in (an array or Tensor, of mu's shape and dtype) to make the draw explicit.
    """
    eps = _as_eps(eps, tuple(mu.shape), mu.dtype, "reparameterize")
    if eps is None:
        host = backend.get_rng().standard_normal(tuple(mu.shape)).astype(backend._dtype_name(mu.dtype))
        eps = backend.asarray_like(host, mu.data)                  # (B, Z) on mu's device
    elif backend.is_numpy(eps) and not backend.is_numpy(mu.data):
        eps = backend.asarray_like(eps, mu.data)                   # given on the host: move it to mu's device
    return mu + (logvar * 0.5).exp() * eps

_SEQ_2 = "of shape (batch, seq) with seq >= 2 (BOS .. EOS)"


def _as_eps(eps, shape: tuple, dtype, fn: str):
    """``eps`` as ``reparameterize`` takes it: None, or an array or Tensor of ``shape`` (B, Z) and ``dtype``
    (nested lists become host arrays of that dtype). Checked here, so that a mistake names ``eps``
    rather than failing inside the product ``exp(logvar / 2) * eps``."""
    if eps is None:
        return None
    if isinstance(eps, (list, tuple)):
        eps = backend.host_array(eps, backend._dtype_name(dtype))
    data = eps.data if isinstance(eps, Tensor) else eps
    of_shape = f"of shape (batch, latent_dim) = {shape}"
    rules.require(backend.is_array(data), fn, "eps", f"an array or a Tensor {of_shape}", type(eps).__name__, TypeError)
    rules.require(tuple(data.shape) == shape, fn, "eps", of_shape, tuple(data.shape))
    want, got = backend._dtype_name(dtype), backend._dtype_name(data.dtype)
    how = "to" if isinstance(eps, Tensor) else "astype"
    of_dtype = f"of dtype {want} (the model's; convert it first: eps.{how}('{want}'))"
    rules.require(got == want, fn, "eps", of_dtype, got, TypeError)
    return eps


def kl_weight(step: int, kind: str = "logistic", *, midpoint: float = 2500, rate: float = 0.0025,
              warmup: int = 5000) -> float:
    """beta, the weight of the KL term at training step ``step`` (KL annealing).

    - ``"logistic"`` (Bowman et al.): ``1 / (1 + exp(-rate * (step - midpoint)))``, 0.5 at ``midpoint``;
    - ``"linear"``: ``min(1, step / warmup)``.

    >>> kl_weight(2500), kl_weight(0, "linear"), kl_weight(10_000, "linear")
    (0.5, 0.0, 1.0)
    """
    step = rules.real("kl_weight", "step", step, 0)
    kind = rules.choice("kl_weight", "kind", kind, ("logistic", "linear"))
    if kind == "logistic":
        return 1.0 / (1.0 + math.exp(-rate * (step - midpoint)))
    return min(1.0, step / rules.real("kl_weight", "warmup", warmup, 0, lo_open=True))


def make_batch(sentences, bos_id: int = 1, eos_id: int = 2, pad_id: int = 0, max_len: int | None = None):
    """Host int64 array (B, T) of rows ``BOS w_1 .. w_n EOS PAD ..``; T = the longest row (or ``max_len``).

    Sentences longer than ``max_len - 2`` words are cut (EOS is kept).

    >>> make_batch([[5, 6], [7]]).tolist()
    [[1, 5, 6, 2], [1, 7, 2, 0]]
    """
    rows = [[bos_id] + [int(w) for w in s] + [eos_id] for s in sentences]
    rules.require(rows, "make_batch", "sentences", "at least one sentence", "no sentences")
    T = max(len(r) for r in rows) if max_len is None else rules.integer("make_batch", "max_len", max_len, 2)
    rows = [r[:T - 1] + [eos_id] if len(r) > T else r for r in rows]
    return backend.host_array([r + [pad_id] * (T - len(r)) for r in rows], "int64")


@contextmanager
def _seeded(seed):
    """Draw from minigen's generator seeded with ``seed``, then put its state back (no seed: do nothing)."""
    if seed is None:
        yield
        return
    saved = backend.get_rng_state()
    backend.manual_seed(seed)
    try:
        yield
    finally:
        backend.set_rng_state(saved)


# ---------------------------------------------------------------------------- the model

@dataclass
class VAEOutput:
    """What ``TextVAE.forward`` returns: the loss and its parts (0-d Tensors), and q(z|x) and its draw (B, Z)."""

    loss: Tensor
    recon: Tensor
    kl: Tensor
    mu: Tensor
    logvar: Tensor
    z: Tensor


class TextVAE(nn.Module):
    """A sentence VAE: LSTM encoder -> Gaussian latent z -> LSTM decoder (teacher forcing in training).

    >>> import minigen
    >>> model = TextVAE(vocab_size=10, embed_dim=8, hidden_size=16, latent_dim=4)
    >>> out = model(make_batch([[4, 5, 6], [7, 8]]))
    >>> out.loss.shape, out.mu.shape
    ((), (2, 4))
    >>> model.sample(3, max_len=6, seed=0).shape
    (3, 6)
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_size: int, latent_dim: int,
                 word_dropout: float = 0.25, pad_id: int = 0, bos_id: int = 1, eos_id: int = 2, unk_id: int = 3,
                 concat_z: bool = True, device=None, dtype=None):
        super().__init__()
        vocab_size, embed_dim, hidden_size, latent_dim = rules.positive_ints(
            "TextVAE", vocab_size=vocab_size, embed_dim=embed_dim, hidden_size=hidden_size, latent_dim=latent_dim)
        word_dropout = rules.probability("TextVAE", "word_dropout", word_dropout)
        concat_z = rules.flag("TextVAE", "concat_z", concat_z)
        specials = {arg: rules.integer("TextVAE", arg, value, 0, vocab_size - 1) for arg, value in
                    dict(pad_id=pad_id, bos_id=bos_id, eos_id=eos_id, unk_id=unk_id).items()}
        rules.require(len(set(specials.values())) == 4, "TextVAE", ", ".join(specials), "four different ids", specials)
        pad_id, bos_id, eos_id, unk_id = specials.values()
        nn.init.check_dtype("TextVAE", dtype)
        self.config = dict(model_type="text_vae", vocab_size=vocab_size, embed_dim=embed_dim, hidden_size=hidden_size,
                           latent_dim=latent_dim, word_dropout=word_dropout, concat_z=concat_z, **specials)
        self.vocab_size, self.hidden_size, self.latent_dim = vocab_size, hidden_size, latent_dim
        self.word_dropout, self.concat_z = float(word_dropout), bool(concat_z)
        self.pad_id, self.bos_id, self.eos_id, self.unk_id = pad_id, bos_id, eos_id, unk_id
        kw = dict(device=device, dtype=dtype)
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id, **kw)   # shared, as in the paper
        self.encoder = nn.LSTM(embed_dim, hidden_size, batch_first=True, **kw)
        self.to_mu = nn.Linear(hidden_size, latent_dim, **kw)
        self.to_logvar = nn.Linear(hidden_size, latent_dim, **kw)
        self.latent_to_state = nn.Linear(latent_dim, 2 * hidden_size, **kw)   # rows [0, H): h0, [H, 2H): c0
        self.decoder = nn.LSTM(embed_dim + (latent_dim if concat_z else 0), hidden_size, batch_first=True, **kw)
        self.head = nn.Linear(hidden_size, vocab_size, **kw)

    # ------------------------------------------------------------------ input checks
    def _ids(self, ids, what: str = "ids"):
        """ids (a Tensor, an array or nested lists) as a 2-D integer array on the parameters' device, ids in [0, V)."""
        ids = rules.array_of(ids)
        ids = backend.host_array(ids, "int64") if isinstance(ids, (list, tuple)) else ids
        rules.token_ids("TextVAE", what, ids, self.vocab_size, ndim=2)
        rules.require(ids.shape[1] >= 2, "TextVAE", what, _SEQ_2, f"shape {tuple(ids.shape)}")
        pad_first = bool(backend.array_namespace(ids).any(ids[:, 0] == self.pad_id))
        rules.require(not pad_first, "TextVAE", what, "rows that start with a token (BOS), not PAD", "a row of PAD")
        weight = self.head.weight.data
        if backend.is_numpy(ids) and not backend.is_numpy(weight):
            ids = backend.asarray_like(ids, weight)                # host batch -> the model's device
        return ids

    def _as_latent(self, z):
        """z as a (B, Z) Tensor with the parameters' dtype and device."""
        weight = self.head.weight.data
        if not isinstance(z, Tensor):
            xp = backend.array_namespace(weight)
            z = Tensor(xp.astype(backend.asarray_like(backend.to_numpy(z), weight), weight.dtype))
        Z = self.latent_dim
        rules.require(z.ndim == 2 and z.shape[1] == Z, "TextVAE", "z", f"of shape (batch, {Z})", f"shape {z.shape}")
        return z

    # ------------------------------------------------------------------ pieces
    def drop_words(self, inputs):
        """Word dropout: each word of the decoder inputs (B, T) becomes UNK with probability ``word_dropout``.

        PAD, BOS and EOS are kept. Only in training mode; the draws come from minigen's seeded generator.
        """
        p = self.word_dropout
        if not self.training or p == 0:
            return inputs
        xp = backend.array_namespace(inputs)
        u = backend.asarray_like(backend.get_rng().random(tuple(inputs.shape)), inputs)   # (B, T) uniforms
        words = (inputs != self.pad_id) & (inputs != self.bos_id) & (inputs != self.eos_id)
        return xp.where((u < p) & words, xp.full_like(inputs, self.unk_id), inputs)

    def _encode(self, ids):
        xp = backend.array_namespace(ids)
        B, T = ids.shape
        out, _ = self.encoder(self.embedding(ids))                                  # (B, T, H)
        last = xp.sum(xp.astype(ids != self.pad_id, xp.int64), axis=1) - 1         # (B,) index of EOS
        pick = xp.arange(T, device=backend.device_of(ids))[None, :] == last[:, None]  # (B, T) one-hot
        pick = xp.reshape(xp.astype(pick, out.data.dtype), (B, T, 1))               # (B, T, 1)
        h = (out * pick).sum(axis=1)                                                # (B, H): h at the last token
        return self.to_mu(h), self.to_logvar(h)                                    # (B, Z), (B, Z)

    def _initial_state(self, z):
        """z (B, Z) -> the decoder's (h0, c0), each (1, B, H)."""
        B, H = z.shape[0], self.hidden_size
        h0, c0 = split(self.latent_to_state(z), H, axis=-1)                        # (B, H) each
        return h0.tanh().reshape(1, B, H), c0.reshape(1, B, H)

    def _decoder_inputs(self, inputs, z):
        """Token ids (B, T) -> embeddings (B, T, E), with z appended to each step if ``concat_z``: (B, T, E + Z)."""
        x = self.embedding(inputs)                                                  # (B, T, E)
        if not self.concat_z:
            return x
        B, T = inputs.shape
        xp = backend.array_namespace(inputs)
        zeros = xp.zeros((B, T, self.latent_dim), dtype=z.data.dtype, device=backend.device_of(z.data))
        return concat([x, z.reshape(B, 1, self.latent_dim) + zeros], axis=-1)     # (B, T, E + Z)

    # ------------------------------------------------------------------ training
    def forward(self, ids, beta: float = 1.0, eps=None, free_bits: float = 0.0) -> VAEOutput:
        """The negative ELBO of a batch ``ids`` (B, T), with the KL weighted by ``beta``; see the module docstring.

        ``eps`` (B, Z) fixes the reparameterisation noise (default: a draw from minigen's generator).
        ``free_bits`` (nats, default 0: the plain objective) is the "free bits" of Kingma et al. (2016):
        in the loss, each latent dimension's KL (averaged over the batch) counts as at least
        ``free_bits``, so nothing pushes it below that and the latent cannot collapse entirely.
        The ``kl`` reported is always the true KL.
        """
        free_bits = rules.real("TextVAE", "free_bits", free_bits, 0)
        ids = self._ids(ids)
        xp = backend.array_namespace(ids)
        B = ids.shape[0]
        eps = _as_eps(eps, (B, self.latent_dim), self.head.weight.dtype, "TextVAE")
        mu, logvar = self._encode(ids)                                              # (B, Z) each
        z = reparameterize(mu, logvar, eps)                                         # (B, Z)
        inputs, targets = self.drop_words(ids[:, :-1]), ids[:, 1:]                  # (B, T-1) each: teacher forcing
        out, _ = self.decoder(self._decoder_inputs(inputs, z), self._initial_state(z))   # (B, T-1, H)
        logits = self.head(out)                                                     # (B, T-1, V)
        recon = F.cross_entropy(logits.reshape(-1, self.vocab_size), xp.reshape(targets, (-1,)),
                                ignore_index=self.pad_id, reduction="sum") / B      # summed per sentence, mean over B
        if free_bits > 0:
            kl_dims = ((mu * mu + logvar.exp() - logvar - 1.0) * 0.5).mean(axis=0)  # (Z,): KL per dimension
            kl = kl_dims.sum()
            kl_term = kl_dims.clip(min=float(free_bits)).sum()                      # no gradient below free_bits
        else:
            kl = kl_term = kl_divergence(mu, logvar).mean()
        return VAEOutput(loss=recon + kl_term * float(beta), recon=recon, kl=kl, mu=mu, logvar=logvar, z=z)

    # ------------------------------------------------------------------ inference
    def encode(self, ids):
        """ids (B, T) -> (mu, logvar), each (B, Z): the parameters of q(z|x)."""
        return self._encode(self._ids(ids))

    def _pick(self, logits, greedy: bool, temperature: float):
        """One id per row of logits (B, V): the argmax, or a draw from softmax(logits / temperature)."""
        xp = backend.array_namespace(logits)
        if greedy or temperature == 0:
            return xp.argmax(logits, axis=-1)
        s = logits / temperature
        p = xp.exp(s - xp.max(s, axis=-1, keepdims=True))                          # (B, V), unnormalised
        cdf = xp.cumulative_sum(p, axis=-1)                                         # (B, V)
        u = backend.asarray_like(backend.get_rng().random(logits.shape[0]), cdf)    # (B,) host uniforms
        u = xp.astype(u, cdf.dtype) * cdf[:, -1]
        index = xp.sum(xp.astype(cdf <= u[:, None], xp.int64), axis=-1)            # first index with cdf > u
        return xp.clip(index, 0, logits.shape[-1] - 1)

    def decode(self, z, max_len: int = 20, greedy: bool = True, temperature: float = 1.0, seed: int | None = None):
        """Write a sentence for each row of z (B, Z): ids (B, max_len), ending with EOS then PAD.

        Greedy (argmax at each step), or sampling from softmax(logits / temperature) with
        draws from minigen's generator (seeded with ``seed`` for this call, if given).
        PAD and BOS are never produced.
        """
        max_len = rules.positive_int("TextVAE.decode", "max_len", max_len)
        temperature = rules.real("TextVAE.decode", "temperature", temperature, 0)
        z = self._as_latent(z)
        xp = backend.array_namespace(z.data)
        dev = backend.device_of(z.data)
        B = z.shape[0]
        vocab = xp.arange(self.vocab_size, device=dev)
        banned = (vocab == self.pad_id) | (vocab == self.bos_id)                    # (V,)
        token = xp.full((B, 1), self.bos_id, dtype=xp.int64, device=dev)           # (B, 1)
        done = xp.zeros((B,), dtype=xp.bool, device=dev)
        pad = xp.full((B,), self.pad_id, dtype=xp.int64, device=dev)
        out = []
        with no_grad(), _seeded(seed):
            state = self._initial_state(z)
            for _ in range(max_len):
                h, state = self.decoder(self._decoder_inputs(token, z), state)      # (B, 1, H)
                logits = self.head(h).data[:, 0, :]                                 # (B, V)
                logits = xp.where(banned, xp.full_like(logits, -math.inf), logits)
                nxt = xp.where(done, pad, xp.astype(self._pick(logits, greedy, temperature), xp.int64))  # (B,)
                out.append(nxt)
                done = done | (nxt == self.eos_id)
                if bool(xp.all(done)):
                    break
                token = xp.reshape(nxt, (B, 1))
        ids = xp.stack(out, axis=1)                                                 # (B, steps)
        if len(out) < max_len:
            ids = xp.concat([ids, xp.full((B, max_len - len(out)), self.pad_id, dtype=xp.int64, device=dev)],
                            axis=1)
        return ids

    def reconstruct(self, ids, max_len: int | None = None, greedy: bool = True, temperature: float = 1.0,
                    seed: int | None = None):
        """Decode each sentence of ids (B, T) from its mean mu: ids (B, max_len) (default max_len = T)."""
        ids = self._ids(ids)
        with no_grad():
            mu, _ = self._encode(ids)                                              # (B, Z)
        return self.decode(mu, max_len or ids.shape[1], greedy=greedy, temperature=temperature, seed=seed)

    def sample(self, n: int, max_len: int = 20, seed: int | None = None, greedy: bool = True,
               temperature: float = 1.0):
        """n sentences from the prior: z ~ N(0, I), decoded; ids (n, max_len)."""
        n = rules.positive_int("TextVAE.sample", "n", n)
        weight = self.head.weight.data
        with _seeded(seed):
            host = backend.get_rng().standard_normal((n, self.latent_dim)).astype(backend._dtype_name(weight.dtype))
            z = Tensor(backend.asarray_like(host, weight))                          # (n, Z)
            return self.decode(z, max_len, greedy=greedy, temperature=temperature)

    def interpolate(self, ids_a, ids_b, steps: int = 5, max_len: int = 20):
        """Greedy decodings of ``steps`` points evenly spaced on the line from mu(a) to mu(b): ids (steps, max_len).

        ``ids_a`` and ``ids_b`` are one sentence each, (T,) or (1, T); the first row
        decodes mu(a) and the last mu(b).
        """
        steps = rules.integer("TextVAE.interpolate", "steps", steps, 2)
        mus = []
        for name, ids in (("ids_a", ids_a), ("ids_b", ids_b)):
            ids = ids.data if isinstance(ids, Tensor) else ids
            ids = backend.host_array(ids, "int64") if isinstance(ids, (list, tuple)) else ids
            if backend.is_array(ids) and ids.ndim == 1:
                ids = backend.array_namespace(ids).reshape(ids, (1, -1))
            one = not backend.is_array(ids) or ids.ndim != 2 or ids.shape[0] == 1
            rules.require(one, "TextVAE.interpolate", name, "one sentence, (T,) or (1, T)", f"shape {tuple(ids.shape)}")
            with no_grad():
                mus.append(self._encode(self._ids(ids, name))[0].data)        # (1, Z)
        mu_a, mu_b = mus
        alpha = backend.asarray_like(backend.host_array([[i / (steps - 1)] for i in range(steps)],
                                                        backend._dtype_name(mu_a.dtype)), mu_a)   # (steps, 1)
        z = (1 - alpha) * mu_a + alpha * mu_b                                       # (steps, Z)
        return self.decode(Tensor(z), max_len, greedy=True)
