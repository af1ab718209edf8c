"""``RNNLanguageModel``: the char-RNN of the classic text-generation demo.

    ids (B, T) -> Embedding -> RNN/LSTM/GRU stack -> Dropout -> Linear -> logits (B, T, V)

``forward(ids, state=None)`` returns ``(logits, state)``; feed the state back in to
continue a sequence (truncated BPTT in training, step-by-step sampling in generation).
"""

from __future__ import annotations

from .. import backend, nn, rules
from ..autograd import Tensor
from .generation import GenerationMixin

_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class RNNLanguageModel(GenerationMixin, nn.Module):
    """A recurrent language model over token ids.

    >>> import minigen, numpy as np
    >>> model = RNNLanguageModel(vocab_size=10, embed_dim=8, hidden_size=16, num_layers=2)
    >>> logits, state = model(np.zeros((3, 5), np.int64))
    >>> logits.shape, state[0].shape
    ((3, 5, 10), (2, 3, 16))
    """

    def __init__(self, vocab_size: int, embed_dim: int = 64, hidden_size: int = 256, num_layers: int = 2,
                 cell: str = "lstm", dropout: float = 0.0, device=None, dtype=None):
        super().__init__()
        sizes = dict(vocab_size=vocab_size, embed_dim=embed_dim, hidden_size=hidden_size, num_layers=num_layers)
        for name, value in sizes.items():
            rules.positive_int("RNNLanguageModel", name, value)
        rules.choice("RNNLanguageModel", "cell", cell, tuple(_CELLS))
        dropout = rules.probability("RNNLanguageModel", "dropout", dropout)
        nn.init.check_dtype("RNNLanguageModel", dtype)
        self.config = dict(model_type="rnn_lm", vocab_size=vocab_size, embed_dim=embed_dim, hidden_size=hidden_size,
                           num_layers=num_layers, cell=cell, dropout=dropout)
        self.embedding = nn.Embedding(vocab_size, embed_dim, device=device, dtype=dtype)
        self.rnn = _CELLS[cell](embed_dim, hidden_size, num_layers=num_layers, batch_first=True,
                                dropout=dropout if num_layers > 1 else 0.0, device=device, dtype=dtype)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size, device=device, dtype=dtype)

    def forward(self, ids, state=None):
        """ids (B, T) integer -> ``(logits (B, T, V), state)``; ``state`` as the RNN returns it."""
        ids = rules.array_of(ids)                                  # checked here: the RNN sees it as (T, B, E)
        if not (backend.is_array(ids) and ids.ndim == 2 and ids.shape[1] >= 1):    # describe() only on failure
            rules.fail("RNNLanguageModel", "ids", "of shape (batch, seq) with seq >= 1", rules.describe(ids))
        x = self.embedding(ids)                                    # (B, T, E)
        out, state = self.rnn(x, state)                            # (B, T, H)
        return self.head(self.drop(out)), state                    # (B, T, V)

    @staticmethod
    def reorder_state(state, index):
        """The state with its batch rows picked by ``index`` (B',) ints: beam search keeps the surviving beams.

        >>> import minigen, numpy as np
        >>> model = RNNLanguageModel(vocab_size=5, embed_dim=4, hidden_size=3, num_layers=2)
        >>> _, state = model(np.zeros((2, 1), np.int64))
        >>> [s.shape for s in RNNLanguageModel.reorder_state(state, np.array([1, 1, 0]))]
        [(2, 3, 3), (2, 3, 3)]
        """
        if state is None:
            return None

        def pick(s):                                                     # (L, B, H) -> (L, B', H), no graph
            xp = backend.array_namespace(s.data)
            return Tensor(xp.take(s.data, backend.asarray_like(index, s.data), axis=1))
        return tuple(pick(s) for s in state) if isinstance(state, tuple) else pick(state)

    @staticmethod
    def detach_state(state):
        """The state cut from the graph (truncated BPTT carries values, not gradients)."""
        if state is None:
            return None
        if isinstance(state, tuple):
            return tuple(s.detach() for s in state)
        return state.detach()
