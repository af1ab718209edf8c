"""The synthetic oracle of SeqGAN: a random LSTM that plays the "true" language.

SeqGAN (Yu et al., AAAI 2017, section "Synthetic Data Experiments"), then Texygen
and TextGAN-PyTorch, measure text generators against a known distribution: a
randomly initialised LSTM, the oracle. Its samples are the training data, and any
generated sequence can be scored exactly under it (NLL-oracle, ``minigen.metrics``).
The set-up followed here:

- a one-layer LSTM language model, vocabulary V = 5,000, embedding and hidden
  size 32, every parameter drawn from N(0, 1) (weights this large make the oracle's
  next-token distributions peaked, far from uniform);
- sequences of length T = 20 drawn at temperature 1: feed a start token (SeqGAN
  uses id 0, an ordinary token of the vocabulary) from a zero state, draw x_1
  from the softmax, feed x_1, draw x_2, ... The start token is not part of the
  sample; the metrics score x_1 from the same start;
- 10,000 training sequences; the generator has the same shape with the usual
  initialisation: ``build_model(oracle.config)``.

Where this differs: SeqGAN's TensorFlow LSTM has one bias per gate. minigen's LSTM
has PyTorch's two (``bias_ih`` and ``bias_hh``, added together), and both are drawn
from N(0, 1), as TextGAN-PyTorch does with ``torch.nn.LSTM``; the gates' total bias is
then N(0, 2). SeqGAN's oracle is one fixed set of pickled weights, ours is a seed, so
its published figures are a reference point, not a value to reproduce.

The oracle is a model (``minigen.models``, above ``minigen.data`` in the layers):
it is an ordinary ``RNNLanguageModel`` with new weights, and it samples through
``generate``.
"""

from __future__ import annotations

from .. import backend, rules
from ..backend import host
from .generation import GenerationMixin
from .rnn_lm import RNNLanguageModel

__all__ = ["oracle_lm", "oracle_samples"]


def oracle_lm(vocab_size: int = 5000, embed_dim: int = 32, hidden_size: int = 32, *, seed: int = 0, device=None,
              dtype=None) -> RNNLanguageModel:
    """SeqGAN's oracle: a one-layer LSTM ``RNNLanguageModel`` whose every parameter is drawn from N(0, 1).

    The draws come from ``numpy.random.default_rng(seed)``, parameter by parameter in
    ``named_parameters`` order, so one seed gives one oracle on every backend and dtype
    (the default initialisation that they replace still advances minigen's global generator).

    >>> oracle = oracle_lm(vocab_size=50, embed_dim=8, hidden_size=8, seed=1)
    >>> oracle.config["cell"], oracle.config["num_layers"], oracle.head.weight.shape
    ('lstm', 1, (50, 8))
    """
    rules.non_negative_int("oracle_lm", "seed", seed)
    model = RNNLanguageModel(vocab_size, embed_dim, hidden_size, num_layers=1, cell="lstm", device=device,
                             dtype=dtype)
    rng = host.random.default_rng(seed)
    for _, p in model.named_parameters():
        values = rng.standard_normal(tuple(p.shape)).astype(backend._dtype_name(p.dtype))   # N(0, 1) in p's dtype
        p.data = backend.asarray_like(values, p.data)                                        # on p's device
    return model.eval()


def oracle_samples(oracle, n: int, seq_len: int = 20, *, seed: int | None = None, start_token: int = 0,
                   temperature: float = 1.0, batch_size: int = 1000):
    """``n`` sequences of ``seq_len`` tokens drawn from ``oracle`` (any minigen language model), (n, seq_len) ints.

    Each sequence starts from ``start_token`` and the model's zero state (the token is
    not returned), and every token is drawn from ``softmax(logits / temperature)`` with
    nothing filtered (no top-k), through ``generate`` in batches of ``batch_size`` rows.
    The draws come from ``numpy.random.default_rng(seed)`` (``seed=None``: minigen's
    global generator), one seed per batch: the same ``seed`` and ``batch_size`` give
    the same samples. The result lies on the model's device.

    >>> oracle = oracle_lm(vocab_size=50, embed_dim=8, hidden_size=8)
    >>> oracle_samples(oracle, 3, seq_len=5, seed=0).shape
    (3, 5)
    """
    fn = "oracle_samples"
    rules.instance(fn, "oracle", oracle, GenerationMixin, "a minigen language model (RNNLanguageModel, GPT)")
    n, seq_len, batch_size = rules.positive_ints(fn, n=n, seq_len=seq_len, batch_size=batch_size)
    rules.non_negative_int(fn, "seed", seed, optional=True)
    rules.token_id(fn, "start_token", start_token, oracle.config["vocab_size"])
    rules.real(fn, "temperature", temperature, 0, lo_open=True)
    rng = host.random.default_rng(seed) if seed is not None else backend.get_rng()
    like = next(oracle.parameters()).data                                  # the model's device
    batches = []
    for start in range(0, n, batch_size):
        B = min(batch_size, n - start)
        prompt = backend.asarray_like(host.full((B, 1), start_token, dtype=host.int64), like)      # (B, 1)
        out = oracle.generate(prompt, max_new_tokens=seq_len, do_sample=True, temperature=temperature, top_k=0,
                              seed=int(rng.integers(2**63)))                                        # (B, 1 + T)
        batches.append(out[:, 1:])                                                                  # (B, T)
    xp = backend.array_namespace(like)
    return batches[0] if len(batches) == 1 else xp.concat(batches, axis=0)
