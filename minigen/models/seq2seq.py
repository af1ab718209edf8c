"""``Seq2Seq``: an RNN encoder-decoder with additive (Bahdanau) attention.

    src (B, S) -> Embedding -> GRU forward  (+ GRU over each row reversed) -> enc_out (B, S, D)
    enc_proj = W_h enc_out + b                          once per source             (B, S, A)
    s_0 = tanh(W_init [h_fwd(last token); h_bwd(first token)])                      (B, H)
    for each target step i, with y_{i-1} the previous token (<bos> first):
        e_ij     = v^T tanh(W_s s_{i-1} + W_h h_j + b)  scores; -inf at padding    (B, S)
        a_ij     = softmax_j(e_ij)                      attention weights           (B, S)
        c_i      = sum_j a_ij h_j                       context                     (B, D)
        s_i      = GRUCell([E y_{i-1}; c_i], s_{i-1})   (LSTMCell with cell="lstm") (B, H)
        logits_i = W_out [s_i; c_i] + b_out                                         (B, V)

Shapes: B = batch, S = source length, T = target length, E = embed_dim, H =
hidden_size, D = encoder output width (2H bidirectional, H not), A = attention
width, V = target vocabulary, K = beams. Padding is ``pad_id``; a source row is
its tokens followed by padding, and must hold at least one token.

Training feeds the gold previous token (teacher forcing), or with scheduled
sampling (Bengio et al. 2015, "Scheduled Sampling for Sequence Prediction with
Recurrent Neural Networks") the model's own previous prediction with probability
``1 - teacher_forcing``; ``teacher_forcing_prob`` gives the decaying schedule.
Decoding is ``greedy_decode`` or ``beam_decode``; both return the attention weights,
which ``plot_attention`` draws.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from .. import backend, nn, rules
from .. import functional as F
from ..autograd import Tensor, no_grad
from ..autograd.ops import concat, stack
from ..backend import array_namespace, device_of

__all__ = ["Seq2Seq", "DecodeOutput", "teacher_forcing_prob", "plot_attention"]

PLOT_INSTALL_HINT = 'pip install "minigen[plot]"'
_ENCODERS = {"gru": nn.GRU, "lstm": nn.LSTM}
_CELLS = {"gru": nn.GRUCell, "lstm": nn.LSTMCell}


_NOT_ONLY_PAD = "rows with at least one token that is not padding"


class DecodeOutput(NamedTuple):
    """What ``greedy_decode`` and ``beam_decode`` return, as host NumPy arrays.

    ``sequences`` (B, L) int64: the tokens after ``<bos>``, ``<eos>`` included, then ``pad_id``.
    ``attentions`` (B, L, S): the attention weights of each produced token (zeros after the end).
    ``scores`` (B,): summed log-probability / length ** length_penalty (beam), or None (greedy).
    """

    sequences: object
    attentions: object
    scores: object = None


class Seq2Seq(nn.Module):
    """Encoder-decoder with additive attention; see the module docstring for the equations.

    >>> import minigen, numpy as np
    >>> model = Seq2Seq(src_vocab=12, tgt_vocab=7, embed_dim=8, hidden_size=16)
    >>> src, tgt_in = np.array([[5, 6, 7], [8, 9, 0]]), np.array([[1, 3, 4, 5], [1, 6, 6, 3]])
    >>> model(src, tgt_in).shape
    (2, 4, 7)
    >>> out = model.greedy_decode(src, max_len=5)
    >>> out.sequences.shape[0], out.attentions.shape[2]
    (2, 3)
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, embed_dim: int = 32, hidden_size: int = 128,
                 cell: str = "gru", dropout: float = 0.0, bidirectional: bool = True, attn_dim: int | None = None,
                 pad_id: int = 0, bos_id: int = 1, eos_id: int = 2, device=None, dtype=None):
        super().__init__()
        cell = rules.choice("Seq2Seq", "cell", cell, tuple(sorted(_CELLS)))
        V_src, V, E, H = rules.positive_ints("Seq2Seq", src_vocab=src_vocab, tgt_vocab=tgt_vocab, embed_dim=embed_dim,
                                             hidden_size=hidden_size)
        A = rules.positive_int("Seq2Seq", "attn_dim", attn_dim, optional=True) or H
        bidirectional = rules.flag("Seq2Seq", "bidirectional", bidirectional)
        pad_id, bos_id, eos_id = [rules.integer("Seq2Seq", name, i, 0, min(V_src, V) - 1)   # ids in both vocabularies
                                  for name, i in dict(pad_id=pad_id, bos_id=bos_id, eos_id=eos_id).items()]
        self.config = dict(model_type="seq2seq", src_vocab=V_src, tgt_vocab=V, embed_dim=E, hidden_size=H, cell=cell,
                           dropout=dropout, bidirectional=bool(bidirectional), attn_dim=A, pad_id=pad_id,
                           bos_id=bos_id, eos_id=eos_id)
        self.cell_type, self.bidirectional = cell, bool(bidirectional)
        self.pad_id, self.bos_id, self.eos_id = int(pad_id), int(bos_id), int(eos_id)
        self.src_vocab, self.tgt_vocab, self.hidden_size = V_src, V, H
        D = 2 * H if bidirectional else H
        kw = dict(device=device, dtype=dtype)
        self.src_embed = nn.Embedding(V_src, E, padding_idx=pad_id, **kw)
        self.tgt_embed = nn.Embedding(V, E, padding_idx=pad_id, **kw)
        self.encoder = _ENCODERS[cell](E, H, batch_first=True, **kw)
        if bidirectional:
            self.encoder_reverse = _ENCODERS[cell](E, H, batch_first=True, **kw)
        self.init_state = nn.Linear(D, H, **kw)                       # s_0 = tanh(W_init [h_fwd; h_bwd])
        self.attn_enc = nn.Linear(D, A, **kw)                         # W_h h_j + b
        self.attn_dec = nn.Linear(H, A, bias=False, **kw)             # W_s s
        self.attn_v = nn.Linear(A, 1, bias=False, **kw)               # v
        self.decoder = _CELLS[cell](E + D, H, **kw)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(H + D, V, **kw)

    # ------------------------------------------------------------------ checks
    def _ids(self, ids, name, n_vocab, batch=None):
        """The array of a (batch, length) Tensor or array of ids in [0, n_vocab), with ``batch`` rows when given."""
        data = rules.array_of(rules.token_ids("Seq2Seq", name, ids, n_vocab, ndim=2))
        rules.require(0 not in data.shape, "Seq2Seq", name, "a non-empty (batch, length) array", f"shape {data.shape}")
        rows = data.shape[0]
        rules.require(batch in (None, rows), "Seq2Seq", name, f"{batch} rows like src", f"{rows} rows")
        return data

    # ------------------------------------------------------------------ encoder
    def encode(self, src):
        """src (B, S) ids -> ``(enc_out (B, S, D), enc_proj (B, S, A), src_mask (B, S) bool, state_0)``.

        ``src_mask`` is True at real tokens. The reverse direction reads each row's tokens
        backwards, with the padding left at the end, so that padding never reaches a token.
        """
        src = self._ids(src, "src", self.src_vocab)
        xp, dev = array_namespace(src), device_of(src)
        B, S = src.shape
        mask = src != self.pad_id                                            # (B, S)
        lengths = xp.sum(xp.astype(mask, xp.int64), axis=1)                  # (B,)
        rules.require(bool(xp.all(lengths > 0)), "Seq2Seq", "src", _NOT_ONLY_PAD, "a row of padding only")
        rows = xp.arange(B, dtype=xp.int64, device=dev)
        out_f, _ = self.encoder(self.drop(self.src_embed(src)))              # (B, S, H)
        last = out_f[rows, lengths - 1]                                      # (B, H) after each row's last token
        if self.bidirectional:
            t = xp.arange(S, dtype=xp.int64, device=dev)[None, :]            # (1, S)
            n = lengths[:, None]                                             # (B, 1)
            rev = xp.where(t < n, n - 1 - t, t)                              # (B, S): t -> n-1-t on tokens
            flat = xp.reshape(rows[:, None] * S + rev, (-1,))                # (B*S,)
            src_rev = xp.reshape(xp.take(xp.reshape(src, (-1,)), flat), (B, S))
            out_r, _ = self.encoder_reverse(self.drop(self.src_embed(src_rev)))   # (B, S, H), reversed time
            out_b = out_r[rows[:, None], rev]                                # (B, S, H), back in source order
            enc_out = concat([out_f, out_b], axis=-1)                        # (B, S, 2H)
            summary = concat([last, out_b[:, 0]], axis=-1)                   # (B, 2H)
        else:
            enc_out, summary = out_f, last
        h0 = self.init_state(summary).tanh()                                 # (B, H)
        state = (h0, Tensor(xp.zeros(h0.shape, dtype=h0.dtype, device=dev))) if self.cell_type == "lstm" else h0
        return enc_out, self.attn_enc(enc_out), mask, state

    # ------------------------------------------------------------------ decoder
    def attention(self, s, enc_out, enc_proj, src_mask):
        """Additive attention of the decoder state s (B, H) over the source -> ``(context (B, D), a (B, S))``."""
        B, S, A = enc_proj.shape
        src_mask = src_mask.data if isinstance(src_mask, Tensor) else src_mask
        q = self.attn_dec(s).reshape(B, 1, A)                                # (B, 1, A)
        e = self.attn_v((enc_proj + q).tanh()).reshape(B, S)                 # (B, S)
        a = F.softmax(e.masked_fill(~src_mask, float("-inf")), axis=-1)      # (B, S), exactly 0 at padding
        context = (a.reshape(B, 1, S) @ enc_out).reshape(B, enc_out.shape[2])   # (B, D)
        return context, a

    def decoder_step(self, y_prev, state, enc_out, enc_proj, src_mask):
        """One target step: y_prev (B,) ids, state (B, H) (or (h, c)) -> ``(logits (B, V), state, attn (B, S))``."""
        h = state[0] if isinstance(state, tuple) else state
        context, a = self.attention(h, enc_out, enc_proj, src_mask)
        x = concat([self.drop(self.tgt_embed(y_prev)), context], axis=-1)    # (B, E + D)
        state = self.decoder(x, state)
        h = state[0] if isinstance(state, tuple) else state
        logits = self.out(self.drop(concat([h, context], axis=-1)))          # (B, V)
        return logits, state, a

    def forward(self, src, tgt_in, teacher_forcing=True, sampling: str = "argmax"):
        """Logits (B, T, V) for every step of tgt_in (B, T), which starts with ``<bos>``.

        ``teacher_forcing``: True feeds the gold token ``tgt_in[:, t]`` at every step; a
        probability p in [0, 1] feeds it with probability p per row and step, and otherwise
        the model's own prediction from step t-1 (scheduled sampling; False = 0). The
        prediction is the argmax, or with ``sampling="sample"`` a draw from the softmax
        (Gumbel-max with noise from minigen's seeded generator). Fed predictions are
        constants: no gradient flows through the choice.
        """
        tf = teacher_forcing
        ok = isinstance(tf, bool) or rules.is_real(tf) and 0 <= tf <= 1
        rules.require(ok, "Seq2Seq", "teacher_forcing", "True, False or a probability in [0, 1]", rules.describe(tf))
        p = float(teacher_forcing)
        sampling = rules.choice("Seq2Seq", "sampling", sampling, ("argmax", "sample"))
        enc_out, enc_proj, mask, state = self.encode(src)
        tgt_in = self._ids(tgt_in, "tgt_in", self.tgt_vocab, batch=enc_out.shape[0])
        xp = array_namespace(tgt_in)
        B, T = tgt_in.shape
        logits, y = [], tgt_in[:, 0]
        for t in range(T):
            if t > 0:
                y = tgt_in[:, t]
                if p < 1.0:                                                   # scheduled sampling
                    y = xp.where(self._coins(B, p, y), y, self._predict(logits[-1], sampling, y))
            step_logits, state, _ = self.decoder_step(y, state, enc_out, enc_proj, mask)
            logits.append(step_logits)
        return stack(logits, axis=1)                                         # (B, T, V)

    def _coins(self, B, p, like):
        """(B,) bool on ``like``'s device: True (feed the gold token) with probability p."""
        return backend.asarray_like(backend.get_rng().random(B) < p, like)

    def _predict(self, logits, sampling, like):
        """The previous step's token as ids like ``like``: argmax or a Gumbel-max sample, never <pad>/<bos>."""
        xp = array_namespace(logits.data)
        scores = logits.data
        if sampling == "sample":                                             # argmax(logits + Gumbel noise)
            g = backend.get_rng().gumbel(size=tuple(scores.shape)).astype(backend._dtype_name(scores.dtype))
            scores = scores + backend.asarray_like(g, scores)
        scores = xp.where(self._banned(scores), -math.inf, scores)           # never feed <pad> or <bos>
        return xp.astype(xp.argmax(scores, axis=-1), like.dtype)

    def loss(self, src, tgt_in, tgt_out, teacher_forcing=True, sampling: str = "argmax"):
        """Mean cross-entropy of tgt_out (B, T) under ``forward``; padding in tgt_out is ignored."""
        logits = self(src, tgt_in, teacher_forcing, sampling)
        tgt_out = self._ids(tgt_out, "tgt_out", self.tgt_vocab, batch=logits.shape[0])
        shape, want = tuple(tgt_out.shape), tuple(logits.shape[:2])
        rules.require(shape == want, "Seq2Seq", "tgt_out", f"of tgt_in's shape {want}", f"shape {shape}")
        xp = array_namespace(tgt_out)
        return F.cross_entropy(logits.reshape(-1, self.tgt_vocab), xp.reshape(tgt_out, (-1,)),
                               ignore_index=self.pad_id)

    # ------------------------------------------------------------------ decoding
    @staticmethod
    def reorder_state(state, index):
        """The decoder state with its batch rows picked by ``index`` (K,) ints (beam search)."""
        def pick(s):
            return Tensor(array_namespace(s.data).take(s.data, backend.asarray_like(index, s.data), axis=0))
        return tuple(pick(s) for s in state) if isinstance(state, tuple) else pick(state)

    def _banned(self, like):
        """(V,) bool: the ids a decoder never emits (<pad> and <bos>)."""
        xp = array_namespace(like)
        v = xp.arange(self.tgt_vocab, device=device_of(like))
        return (v == self.pad_id) | (v == self.bos_id)

    def greedy_decode(self, src, max_len: int = 20) -> DecodeOutput:
        """Take the most likely token at every step, until every row has emitted ``<eos>`` or ``max_len``."""
        max_len = rules.positive_int("Seq2Seq", "max_len", max_len)
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                enc_out, enc_proj, mask, state = self.encode(src)
                xp = array_namespace(mask)
                B = mask.shape[0]
                y = xp.full((B,), self.bos_id, dtype=xp.int64, device=device_of(mask))
                done = xp.zeros((B,), dtype=xp.bool, device=device_of(mask))
                tokens, attns = [], []
                for _ in range(max_len):
                    logits, state, a = self.decoder_step(y, state, enc_out, enc_proj, mask)
                    scores = xp.where(self._banned(logits.data), -math.inf, logits.data)
                    y = xp.where(done, self.pad_id, xp.astype(xp.argmax(scores, axis=-1), xp.int64))
                    tokens.append(y)
                    attns.append(xp.where(done[:, None], 0.0, a.data))
                    done = done | (y == self.eos_id)
                    if bool(xp.all(done)):
                        break
        finally:
            self.train(was_training)
        return DecodeOutput(backend.to_numpy(xp.stack(tokens, axis=1)), backend.to_numpy(xp.stack(attns, axis=1)))

    def beam_decode(self, src, num_beams: int = 4, max_len: int = 20, length_penalty: float = 1.0) -> DecodeOutput:
        """Beam search for each source row; returns the best finished hypothesis of each.

        Every step extends the live beams by every token and keeps the ``num_beams - f``
        continuations with the highest summed log-probability, f being the hypotheses
        already finished: a continuation that ends in ``<eos>`` (or reaches ``max_len``)
        leaves the beam as a finished hypothesis, so the beam narrows. All candidates of
        one step have the same length, so the ranking needs no length penalty; it decides
        among the finished hypotheses: score = sum log p / length ** length_penalty.
        With ``num_beams=1`` this is greedy decoding; with a beam at least as large as the
        number of possible hypotheses it is exhaustive search.
        """
        num_beams, max_len = rules.positive_ints("Seq2Seq", num_beams=num_beams, max_len=max_len)
        length_penalty = rules.real("Seq2Seq", "length_penalty", length_penalty)
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                enc_out, enc_proj, mask, state = self.encode(src)
                best = [self._beam_one(i, enc_out, enc_proj, mask, state, num_beams, max_len, length_penalty)
                        for i in range(mask.shape[0])]
        finally:
            self.train(was_training)
        B, S, L = len(best), mask.shape[1], max(len(h[1]) for h in best)
        ids = backend.host_full((B, L), self.pad_id, "int64")
        attn = backend.host_full((B, L, S), 0.0, backend._dtype_name(enc_out.dtype))
        scores = backend.host_full((B,), 0.0, "float64")
        for i, (score, toks, rows) in enumerate(best):
            ids[i, :len(toks)] = toks
            for t, row in enumerate(rows):
                attn[i, t] = row
            scores[i] = score
        return DecodeOutput(ids, attn, scores)

    def _beam_one(self, i, enc_out, enc_proj, mask, state, K, max_len, length_penalty):
        """Beam search for source row i -> (score, tokens, attention rows), all on the host."""
        xp = array_namespace(mask)
        V = self.tgt_vocab
        banned = backend.to_numpy(self._banned(mask))
        live = [([], 0.0, [])]                                   # (tokens, summed log-prob, attention rows)
        finished = []
        state = self.reorder_state(state, backend.host_array([i], "int64"))   # (1, H): this row's initial state
        for t in range(max_len):
            k = len(live)
            rows = backend.asarray_like(backend.host_full((k,), i, "int64"), mask)
            enc, proj, m = (xp.take(x, rows, axis=0) for x in (enc_out.data, enc_proj.data, mask))   # (k, S, .)
            y = backend.asarray_like(backend.host_array([b[0][-1] if b[0] else self.bos_id for b in live],
                                                        "int64"), mask)
            logits, state, a = self.decoder_step(y, state, Tensor(enc), Tensor(proj), m)
            logp = backend.to_numpy(F.log_softmax(logits, axis=-1).data).astype("float64")   # (k, V)
            logp[:, banned] = -math.inf
            cand = logp + backend.host_array([b[1] for b in live], "float64")[:, None]     # (k, V)
            width = K - len(finished)
            order = (-cand).reshape(-1).argsort(kind="stable")[:width]
            a_host = backend.to_numpy(a.data)
            parents, new_live = [], []
            for flat in order.tolist():
                r, tok = divmod(flat, V)
                if cand[r, tok] == -math.inf:
                    break
                beam = (live[r][0] + [tok], float(cand[r, tok]), live[r][2] + [a_host[r]])
                if tok == self.eos_id or t == max_len - 1:
                    finished.append(beam)
                else:
                    new_live.append(beam)
                    parents.append(r)
            live = new_live
            if not live:
                break
            state = self.reorder_state(state, parents)           # each surviving beam takes its parent's state
        score, toks, rows = max(((s / len(tk) ** length_penalty, tk, rw) for tk, s, rw in finished),
                                key=lambda h: h[0])
        return score, toks, rows


def teacher_forcing_prob(step: int, schedule: str = "inverse_sigmoid", *, k: float = 1000.0,
                         decay_steps: int = 10000, min_prob: float = 0.0) -> float:
    """The probability of feeding the gold token at training ``step`` (Bengio et al.'s epsilon_i).

    - ``"inverse_sigmoid"``: k / (k + exp(step / k)), k >= 1: near 1 at first, 1/2 at
      step = k ln k, then falling off like a sigmoid;
    - ``"linear"``: 1 - step / decay_steps.

    Both are floored at ``min_prob``.

    >>> [round(teacher_forcing_prob(s, k=100.0), 3) for s in (0, 400, 800)]
    [0.99, 0.647, 0.032]
    >>> teacher_forcing_prob(2500, "linear", decay_steps=10000)
    0.75
    """
    fn = "teacher_forcing_prob"
    step = rules.non_negative_int(fn, "step", step)
    schedule = rules.choice(fn, "schedule", schedule, ("inverse_sigmoid", "linear"))
    if schedule == "inverse_sigmoid":
        k = rules.real(fn, "k", k, 1)
        eps = k / (k + math.exp(min(step / k, 700.0)))
    else:
        decay_steps = rules.real(fn, "decay_steps", decay_steps, 0, lo_open=True)
        eps = 1.0 - step / decay_steps
    return max(min_prob, eps)


def plot_attention(weights, src_tokens, tgt_tokens, path, title: str | None = None):
    """Draw attention weights (tgt_len, src_len) as a heatmap PNG at ``path``: rows = output tokens.

    ``weights`` may be longer than the token lists (padding); it is cut to them.
    Needs matplotlib (``minigen[plot]``).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError(f"plot_attention needs matplotlib ({e}); install it with: {PLOT_INSTALL_HINT}") from None
    w = backend.to_numpy(weights.data if isinstance(weights, Tensor) else weights)
    src_tokens, tgt_tokens = list(src_tokens), list(tgt_tokens)
    T, S = len(tgt_tokens), len(src_tokens)
    covers = w.ndim == 2 and w.shape[0] >= T and w.shape[1] >= S
    rules.require(covers, "plot_attention", "weights", f"(T, S) covering {T} target x {S} source tokens", w.shape)
    w = w[:len(tgt_tokens), :len(src_tokens)]
    fig = Figure(figsize=(1.0 + 0.35 * len(src_tokens), 1.0 + 0.35 * len(tgt_tokens)))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(w, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(src_tokens)), [repr(s)[1:-1] if s == " " else s for s in src_tokens], fontsize=8)
    ax.set_yticks(range(len(tgt_tokens)), tgt_tokens, fontsize=8)
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    if title:
        ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
