"""``RNNLanguageModel``: the char-RNN of the classic text-generation demo.

    ids (B, T) -> Embedding -> RNN/LSTM/GRU stack -> Dropout -> Linear -> logits (B, T, V)

``forward(ids, state=None)`` returns ``(logits, state)``; feed the state back in to
continue a sequence (truncated BPTT in training). With ``learn_initial_state=True`` a
sequence without a state starts from a learned one (``initial_h``, and ``initial_c``
for the LSTM, each (num_layers, 1, H)) instead of zeros: the state at a start is not
the state of any text, and a learned one costs the first characters less.

Generation (``generation_step``) reads the prompt with ``forward`` (the fast sequence
kernel), then runs each new token through the cell kernels on plain arrays, with no
graph, as ``gpt_infer`` does for the GPT: the weights are gathered once per ``generate``
call, and every matrix the cell reads as ``W.T`` is stored so that ``W.T`` is contiguous
(a matrix-vector product reads it row by row).
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import backend, nn, rules
from ..autograd import Tensor
from ..kernels.gru import gru_cell_forward
from ..kernels.lstm import lstm_cell_forward
from ..kernels.rnn import rnn_cell_forward
from .generation import GenerationMixin, lm_ids
from .gpt_infer import contiguous_t

_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


def _as_t(W):
    """W with ``W.T`` C-contiguous (the same numbers): for the cells' ``x @ W.T``."""
    return None if W is None else contiguous_t(W.data).T


@dataclass
class RNNState:
    """What ``generate`` carries between steps: per layer the (B, H) arrays of the state
    (h, or h and c for the LSTM), and the weights gathered for the cell kernels."""

    layers: list
    weights: tuple


class RNNLanguageModel(GenerationMixin, nn.Module):
    """A recurrent language model over token ids.

    >>> import minigen, numpy as np
    >>> model = RNNLanguageModel(vocab_size=10, embed_dim=8, hidden_size=16, num_layers=2)
    >>> logits, state = model(np.zeros((3, 5), np.int64))
    >>> logits.shape, state[0].shape
    ((3, 5, 10), (2, 3, 16))
    """

    def __init__(self, vocab_size: int, embed_dim: int = 64, hidden_size: int = 256, num_layers: int = 2,
                 cell: str = "lstm", dropout: float = 0.0, learn_initial_state: bool = False, device=None,
                 dtype=None):
        super().__init__()
        sizes = dict(vocab_size=vocab_size, embed_dim=embed_dim, hidden_size=hidden_size, num_layers=num_layers)
        for name, value in sizes.items():
            rules.positive_int("RNNLanguageModel", name, value)
        rules.choice("RNNLanguageModel", "cell", cell, tuple(_CELLS))
        dropout = rules.probability("RNNLanguageModel", "dropout", dropout)
        learn_initial_state = rules.flag("RNNLanguageModel", "learn_initial_state", learn_initial_state)
        nn.init.check_dtype("RNNLanguageModel", dtype)
        self.config = dict(model_type="rnn_lm", vocab_size=vocab_size, embed_dim=embed_dim, hidden_size=hidden_size,
                           num_layers=num_layers, cell=cell, dropout=dropout, learn_initial_state=learn_initial_state)
        self.embedding = nn.Embedding(vocab_size, embed_dim, device=device, dtype=dtype)
        self.rnn = _CELLS[cell](embed_dim, hidden_size, num_layers=num_layers, batch_first=True,
                                dropout=dropout if num_layers > 1 else 0.0, device=device, dtype=dtype)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size, device=device, dtype=dtype)
        if learn_initial_state:
            for name in ("initial_h", "initial_c") if cell == "lstm" else ("initial_h",):
                setattr(self, name, nn.Parameter(nn.init.place(nn.init.zeros((num_layers, 1, hidden_size), dtype),
                                                               device)))

    def initial_state(self, batch_size: int):
        """The state a sequence starts from, (num_layers, B, H) (a pair for the LSTM), in the graph;
        None when it is zeros (``learn_initial_state=False``)."""
        if not self.config["learn_initial_state"]:
            return None
        h = self.initial_h
        zeros = Tensor(backend.array_namespace(h.data).zeros((h.shape[0], batch_size, h.shape[2]), dtype=h.dtype,
                                                             device=backend.device_of(h.data)))
        starts = tuple(s + zeros for s in ((h, self.initial_c) if self.config["cell"] == "lstm" else (h,)))
        return starts if len(starts) == 2 else starts[0]

    def forward(self, ids, state=None):
        """ids (B, T) integer -> ``(logits (B, T, V), state)``; ``state`` as the RNN returns it."""
        ids = lm_ids("RNNLanguageModel", ids)                      # checked here: the RNN sees it as (T, B, E)
        x = self.embedding(ids)                                    # (B, T, E)
        if state is None:
            state = self.initial_state(ids.shape[0])               # None: the RNN starts from zeros
        out, state = self.rnn(x, state)                            # (B, T, H)
        return self.head(self.drop(out)), state                    # (B, T, V)

    def _weights(self):
        """Per layer the cell's (W_ih, W_hh, b_ih, b_hh), laid out for ``generation_step``; the embedding; the head."""
        layers = []
        for k in range(self.rnn.num_layers):
            W_ih, W_hh, b_ih, b_hh = self.rnn._layer_params(k)
            W_hh = W_hh.data if self.config["cell"] == "gru" else _as_t(W_hh)     # the GRU cell reads W_hh @ h^T
            layers.append((_as_t(W_ih), W_hh, None if b_ih is None else b_ih.data, None if b_hh is None else b_hh.data))
        return layers, self.embedding.weight.data, _as_t(self.head.weight), self.head.bias.data

    def generation_step(self, ids, state=None):
        """``(logits, state)`` for the new ids: the prompt (``state=None``) through ``forward``,
        each later id through the cell kernels, graph-free and without dropout (``generate`` runs in eval mode)."""
        ids = lm_ids("RNNLanguageModel", ids, self.config["vocab_size"])
        if state is None:
            logits, st = self(ids)
            st = st if isinstance(st, tuple) else (st,)
            layers = [tuple(s.data[k, ...] for s in st) for k in range(self.rnn.num_layers)]
            return logits, RNNState(layers, self._weights())
        cell = self.config["cell"]
        (params, emb, W_head, b_head), layers = state.weights, list(state.layers)
        xp = backend.array_namespace(ids)
        outs = []
        for t in range(ids.shape[1]):
            x = xp.take(emb, ids[:, t], axis=0)                                      # (B, E)
            for k, (W_ih, W_hh, b_ih, b_hh) in enumerate(params):
                if cell == "lstm":
                    (x, c), _ = lstm_cell_forward(x, *layers[k], W_ih, W_hh, b_ih, b_hh)
                    layers[k] = (x, c)
                elif cell == "gru":
                    x, _ = gru_cell_forward(x, layers[k][0], W_ih, W_hh, b_ih, b_hh)
                    layers[k] = (x,)
                else:
                    x, _ = rnn_cell_forward(x, layers[k][0], W_ih, W_hh, b_ih, b_hh, self.rnn.nonlinearity)
                    layers[k] = (x,)
            outs.append(x @ xp.matrix_transpose(W_head) + b_head)                   # (B, V)
        return Tensor(xp.stack(outs, axis=1)), RNNState(layers, state.weights)

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
        if isinstance(state, RNNState):                                  # generation's plain arrays
            xp = backend.array_namespace(state.layers[0][0])
            idx = backend.asarray_like(index, state.layers[0][0])
            return RNNState([tuple(xp.take(s, idx, axis=0) for s in layer) for layer in state.layers], state.weights)

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
