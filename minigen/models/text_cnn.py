"""``TextCNNDiscriminator``: the convolutional text classifier of SeqGAN's discriminator (after Kim, 2014).

    x (B, T) ids, or (B, T, V) soft one-hots
      -> embed (B, T, E) -> (B, E, T)
      -> for each filter width k: Conv1d(E, n_k, k) -> ReLU -> max over time   (B, n_k)
      -> concat (B, N) -> Highway -> Dropout -> Linear(N, 2) -> logits (B, 2)

Class 1 is "real" (data), class 0 "generated": ``softmax(logits)[:, 1]`` is the
probability that a sequence is real, the reward SeqGAN gives its generator.

A soft one-hot row (a distribution over the vocabulary, as a Gumbel-softmax sample)
is embedded as ``x @ W_emb``, the mixture of the embeddings it weights; for a one-hot
row this is exactly the embedding lookup of its id, so one discriminator reads both
the data and a relaxed generator's output, and the gradient reaches the generator
through the soft one-hots.

SeqGAN's discriminator has twelve widths 1-20 with 100-200 filters each (1,720 in
all); ``TextCNNDiscriminator.seqgan_sizes`` holds them. The defaults here are a
smaller set that trains in seconds on a CPU.
"""

from __future__ import annotations

from .. import backend, nn, rules
from .. import functional as F
from ..autograd import as_tensor
from ..autograd.ops import concat, relu, transpose


class TextCNNDiscriminator(nn.Module):
    """A text-CNN that scores sequences as real (class 1) or generated (class 0).

    >>> import minigen, numpy as np
    >>> d = TextCNNDiscriminator(vocab_size=10, embed_dim=8, filter_sizes=(2, 3), num_filters=(4, 4))
    >>> _ = d.eval()                                    # no dropout: the same input gives the same scores
    >>> ids = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    >>> d(ids).shape
    (2, 2)
    >>> soft = np.eye(10)[ids]                          # one-hot rows: the same scores as the ids
    >>> bool(np.allclose(d(soft.astype(np.float32)).numpy(), d(ids).numpy()))
    True
    """

    seqgan_sizes = dict(filter_sizes=(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20),
                        num_filters=(100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160))

    def __init__(self, vocab_size: int, embed_dim: int = 64, filter_sizes=(2, 3, 4, 5),
                 num_filters=(64, 64, 64, 64), dropout: float = 0.25, device=None, dtype=None):
        super().__init__()
        fn = "TextCNNDiscriminator"
        vocab_size, embed_dim = rules.positive_ints(fn, vocab_size=vocab_size, embed_dim=embed_dim)
        sizes = [rules.positive_int(fn, "filter_sizes", k) for k in filter_sizes]
        counts = [rules.positive_int(fn, "num_filters", n) for n in num_filters]
        rules.require(sizes and len(sizes) == len(counts), fn, "num_filters", f"{len(sizes)} counts, one per filter "
                      "size (and at least one)", len(counts))
        dropout = rules.probability(fn, "dropout", dropout)
        self.config = dict(vocab_size=vocab_size, embed_dim=embed_dim, filter_sizes=tuple(sizes),
                           num_filters=tuple(counts), dropout=dropout)
        N = sum(counts)
        self.embedding = nn.Embedding(vocab_size, embed_dim, device=device, dtype=dtype)
        self.convs = nn.ModuleList([nn.Conv1d(embed_dim, n, k, device=device, dtype=dtype)
                                    for k, n in zip(sizes, counts)])
        self.highway = nn.Highway(N, device=device, dtype=dtype)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(N, 2, device=device, dtype=dtype)

    def forward(self, x):
        """Logits (B, 2) for ids (B, T) or soft one-hots (B, T, V); T must be at least the widest filter."""
        fn, V, widest = "TextCNNDiscriminator", self.config["vocab_size"], max(self.config["filter_sizes"])
        data = rules.array_of(x)
        if backend.is_array(data) and backend.is_floating(data.dtype):
            x = rules.floating_array(fn, "x", as_tensor(x), ("B", "T", V))
            rules.same_dtype(fn, weight=self.embedding.weight, x=x)
            emb = x @ self.embedding.weight                                  # (B, T, E): the weighted mixture
        else:
            rules.token_ids(fn, "x", x, V, ndim=2)
            emb = self.embedding(x)                                          # (B, T, E)
        T = emb.shape[1]
        rules.require(T >= widest, fn, "x", f"sequences of at least {widest} tokens (the widest filter)", T)
        h = transpose(emb, 1, 2)                                             # (B, E, T)
        pooled = [F.max_over_time(relu(conv(h))) for conv in self.convs]    # each (B, n_k)
        features = self.highway(concat(pooled, axis=1))                     # (B, N)
        return self.head(self.drop(features))                               # (B, 2)

    def real_probability(self, x):
        """P(real) per sequence, (B,): ``softmax(self(x))[:, 1]``, the reward SeqGAN's generator gets."""
        return F.softmax(self(x), axis=-1)[:, 1]
