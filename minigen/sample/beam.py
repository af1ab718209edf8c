"""Beam search: follow the ``num_beams`` likeliest partial sequences instead of one.

Greedy decoding commits to the argmax at every step; beam search keeps K = num_beams
running sequences ("beams") and their summed log-probabilities, and at each step looks
at all K * V one-token continuations. As in Hugging Face's ``generate``:

    scores = [0, -inf, ..., -inf]                     # K copies of the prompt, one of them live
    for t = 1 .. max_new_tokens:
        logp = processors(ids, log_softmax(logits))   # (B*K, V)  one model step for every beam
        cand = scores[:, None] + logp                 # (B, K*V)  every one-token continuation
        take the 2K best candidates of each row:
            one ending in EOS and ranked in the top K -> a finished hypothesis,
                scored  sum_logprobs / t ** length_penalty   (t counts the new tokens, EOS included)
            the K best others -> the new beams; the model state follows their parents
        at t = max_new_tokens every top-K candidate is finished instead
        a row is done when it holds K hypotheses and no running beam can still beat them
    return each row's best hypotheses, padded after EOS

Taking 2K candidates guarantees K beams that did not end, even if the best K all hit
EOS. Shapes: B = prompts, P = prompt length, K = num_beams, V = vocabulary, L = new tokens.
The model runs on the device; the 2K winners per row are copied to the host, where the
bookkeeping (sequences, hypotheses, the search tree) is plain NumPy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


from .. import backend, rules
from ..autograd import no_grad
from ..backend import array_namespace, host
from ..kernels.softmax import log_softmax_forward
from .processors import LogitsProcessorList
from .step import as_array, check_decoding, model_step, vocab_size_of

__all__ = ["beam_search", "BeamSearchOutput", "BeamHypotheses", "plot_beam_tree"]

PLOT_INSTALL_HINT = 'pip install "minigen[plot]"'


@dataclass
class BeamSearchOutput:
    """What ``beam_search`` returns.

    ``sequences``: (B * num_return_sequences, P + L) on the input's device, the best
    hypotheses of each prompt next to each other, best first. ``sequences_scores``:
    their length-penalised scores, a host NumPy array. ``tree``: the search for the first
    prompt (``return_tree=True``), or None: a list of nodes, each a dict with

    - ``step``: the new token's position (0 for the root, the prompt, whose token is None);
    - ``beam``: the slot the node holds among the running beams, or, for a finished
      node, its rank among the step's candidates (< num_beams);
    - ``token``, ``parent`` (the index of its parent node), ``logprob`` (summed log-prob);
    - ``finished`` (ended in EOS, or at ``max_new_tokens``) and its ``score`` (else None);
    - ``returned``: on the path of one of the returned sequences.

    Parents come before their children, so the list redraws the search in order.
    """

    sequences: object
    sequences_scores: host.ndarray
    tree: list | None = None


class BeamHypotheses:
    """The ``num_beams`` best finished sequences of one prompt (Hugging Face's ``BeamHypotheses``).

    A hypothesis with summed log-probability ``s`` and ``length`` new tokens scores
    ``s / length ** length_penalty``: with ``length_penalty > 0`` longer sequences are
    penalised less for their extra (negative) log-probabilities, ``0`` compares raw sums.

    >>> import numpy as np
    >>> h = BeamHypotheses(num_beams=2, length_penalty=1.0, early_stopping=False, max_new_tokens=5)
    >>> h.add(np.array([3, 0]), -2.0, 2), h.add(np.array([1, 0]), -1.0, 2), h.add(np.array([0]), -3.0, 1)
    (True, True, False)
    >>> h.worst_score, h.is_done(best_running=-4.0, length=2)
    (-1.0, True)
    """

    def __init__(self, num_beams: int, length_penalty: float, early_stopping, max_new_tokens: int):
        self.num_beams, self.length_penalty = num_beams, length_penalty
        self.early_stopping, self.max_new_tokens = early_stopping, max_new_tokens
        self.beams: list[tuple[float, host.ndarray, int | None]] = []      # (score, new tokens, tree node)
        self.worst_score = math.inf

    def __len__(self):
        return len(self.beams)

    def add(self, tokens, sum_logprobs: float, length: int, node: int | None = None) -> bool:
        """Offer a finished sequence; True if it is now among the best ``num_beams``."""
        score = sum_logprobs / length ** self.length_penalty
        if len(self) == self.num_beams and score <= self.worst_score:
            return False
        self.beams.append((score, tokens, node))
        if len(self) > self.num_beams:                                    # push out the worst one
            self.beams.remove(min(self.beams, key=lambda h: h[0]))
        self.worst_score = min(h[0] for h in self.beams)
        return True

    def is_done(self, best_running: float, length: int) -> bool:
        """True when no running beam (best summed log-prob ``best_running``, ``length`` tokens) can get in.

        ``early_stopping=True`` stops as soon as ``num_beams`` hypotheses exist. ``False``
        (the default) assumes the best running beam ends now, at ``length``; ``"never"``
        with ``length_penalty > 0`` assumes it ends at ``max_new_tokens``, its best case,
        which makes the search exact with respect to the score.
        """
        if len(self) < self.num_beams:
            return False
        if self.early_stopping is True:
            return True
        if self.early_stopping == "never" and self.length_penalty > 0:
            length = self.max_new_tokens
        return self.worst_score >= best_running / length ** self.length_penalty

    def best(self):
        """The hypotheses, best first."""
        return sorted(self.beams, key=lambda h: -h[0])


def _chain(logits_processor) -> LogitsProcessorList | None:
    """A processor, or a plain list of them, as one list whose ``process`` skips the per-call input checks.

    The search makes ``ids`` and ``scores`` itself, so the processors' checks would only
    repeat at every step what the prompt's check established once.
    """
    if logits_processor is None:
        return None
    return LogitsProcessorList(logits_processor if isinstance(logits_processor, (list, tuple)) else [logits_processor])


def beam_search(model, input_ids, *, num_beams: int, max_new_tokens: int, length_penalty: float = 1.0,
                early_stopping=False, num_return_sequences: int = 1, eos_token_id: int | None = None,
                pad_token_id: int | None = None, logits_processor=None, return_tree: bool = False):
    """Beam search from each prompt of ``input_ids`` (B, P); see the module docstring for the algorithm.

    ``model(ids, state)`` returns ``(logits, state)`` and ``model.reorder_state(state,
    index)`` picks batch rows of the state, as ``RNNLanguageModel`` does. The prompts are
    read once; the state is then copied to K rows per prompt and reordered each step.
    ``logits_processor`` (a callable ``(ids, scores) -> scores``, or a list of them) sees
    the running sequences (B*K, P + t) and the log-softmax of the logits, as in Hugging
    Face's beam search, so the beam scores add up processed log-probabilities.
    ``early_stopping``: True, False or "never" (see ``BeamHypotheses.is_done``).
    Finished sequences are padded with ``pad_token_id`` (default: the EOS id, or 0), a
    token id of the model like any other. ``input_ids`` may be a minigen ``Tensor``
    (its ``.data`` is used).

    >>> import minigen, numpy as np
    >>> model = minigen.models.RNNLanguageModel(vocab_size=6, embed_dim=4, hidden_size=8, num_layers=1)
    >>> out = beam_search(model, np.array([[1, 2]]), num_beams=3, max_new_tokens=4, num_return_sequences=2)
    >>> out.sequences.shape, out.sequences_scores.shape, bool(out.sequences_scores[0] >= out.sequences_scores[1])
    ((2, 6), (2,), True)
    """
    fn, input_ids = "beam_search", as_array(input_ids)
    check_decoding(fn, input_ids, vocab_size_of(model), max_new_tokens, eos_token_id, pad_token_id)
    num_beams = rules.positive_int(fn, "num_beams", num_beams)
    rules.integer(fn, "num_return_sequences", num_return_sequences, 1, num_beams)
    return search_beams(fn, model, input_ids, num_beams, max_new_tokens, length_penalty=length_penalty,
                        early_stopping=early_stopping, num_return_sequences=num_return_sequences,
                        eos_token_id=eos_token_id, pad_token_id=pad_token_id, logits_processor=logits_processor,
                        return_tree=return_tree)


def search_beams(fn, model, input_ids, num_beams, max_new_tokens, *, length_penalty, early_stopping,
                 num_return_sequences, eos_token_id, pad_token_id, logits_processor, return_tree=False):
    """``beam_search`` once the rules it shares with ``generate`` passed (both call this); checks the beam-only ones.

    ``input_ids`` is a non-empty (B, P) array of ids, ``num_beams`` >= 1 and
    ``num_return_sequences`` in [1, num_beams], the stopping ids token ids or None:
    ``fn``, the public function, checked them once.
    """
    rules.real(fn, "length_penalty", length_penalty, -10, 10)             # the CLI's bounds too
    rules.choice(fn, "early_stopping", early_stopping, (True, False, "never"))
    reorder = callable(getattr(model, "reorder_state", None))          # picks batch rows of the carried state
    rules.require(reorder, fn, "model", "a model with reorder_state(state, index)", type(model).__name__, TypeError)
    xp = array_namespace(input_ids)
    B, P = input_ids.shape
    K, n_ret = num_beams, num_return_sequences
    pad = pad_token_id if pad_token_id is not None else (eos_token_id if eos_token_id is not None else 0)
    prompt = backend.to_numpy(input_ids).astype(host.int64)              # (B, P): the one copy to the host
    hyps = [BeamHypotheses(K, float(length_penalty), early_stopping, max_new_tokens) for _ in range(B)]
    tree = [dict(step=0, beam=0, token=None, parent=None, logprob=0.0, finished=False, score=None,
                 returned=False)] if return_tree else None

    was_training = model.training
    model.eval()
    try:
        with no_grad():
            if max_new_tokens > 0:
                _search(model, input_ids, prompt, hyps, tree, K, max_new_tokens, eos_token_id,
                        _chain(logits_processor))
    finally:
        model.train(was_training)

    # the best n_ret hypotheses of each prompt, padded to the longest
    best = []
    for b in range(B):
        ranked = hyps[b].best()[:n_ret]
        ranked += [(-math.inf, host.zeros(0, host.int64), None)] * (n_ret - len(ranked))  # if too few could finish
        best.extend(ranked)
        if tree is not None and b == 0:
            for _, _, node in ranked:
                while node is not None:                                 # mark the path back to the root
                    tree[node]["returned"] = True
                    node = tree[node]["parent"]
    L = max(len(tokens) for _, tokens, _ in best)
    out = host.full((B * n_ret, P + L), pad, dtype=host.int64)             # (B * n_ret, P + L)
    out[:, :P] = host.repeat(prompt, n_ret, axis=0)
    for i, (_, tokens, _) in enumerate(best):
        out[i, P:P + len(tokens)] = tokens
    if max_new_tokens == 0:                                             # nothing generated: the prompt, score 0
        scores = host.zeros(B * n_ret)
    else:
        scores = host.array([score for score, _, _ in best], dtype=host.float64)
    sequences = xp.astype(backend.asarray_like(out, input_ids), input_ids.dtype)
    return BeamSearchOutput(sequences, scores, tree)


def _search(model, input_ids, prompt, hyps, tree, K, max_new_tokens, eos_token_id, logits_processor):
    """The search loop: fills ``hyps`` (one ``BeamHypotheses`` per prompt) and ``tree``."""
    xp = array_namespace(input_ids)
    B, P = prompt.shape
    rows = host.repeat(host.arange(B), K)                                   # (B*K,) beam b*K + k reads prompt b
    seqs = prompt[rows]                                                 # (B*K, P + t) running sequences
    scores = host.full((B, K), -host.inf)                                   # (B, K) summed log-probs of the beams
    scores[:, 0] = 0.0                                                  # the K copies are one beam so far
    done = host.zeros(B, dtype=bool)
    node_of = host.zeros(K, dtype=host.int64)                               # tree node of each beam of prompt 0
    length_penalty = hyps[0].length_penalty

    logits, state = model_step(model, input_ids, None)                  # (B, P, V): read each prompt once
    logits = xp.take(logits.data[:, -1, :], backend.asarray_like(rows, input_ids), axis=0)   # (B*K, V)
    state = model.reorder_state(state, rows)                            # every beam starts from its prompt
    for t in range(1, max_new_tokens + 1):
        # 1. log-probabilities of every next token, processed, added to the beam scores
        logp, _ = log_softmax_forward(logits)                           # (B*K, V)
        if logits_processor is not None:
            ids = xp.astype(backend.asarray_like(seqs, input_ids), input_ids.dtype)
            logp = logits_processor.process(ids, logp)
        V = logp.shape[-1]
        beam_scores = xp.astype(backend.asarray_like(scores.reshape(B * K, 1), logp), logp.dtype)
        cand = xp.reshape(logp + beam_scores, (B, K * V))               # (B, K*V)

        # 2. the 2K best candidates of each row, copied to the host
        n_top = min(2 * K, K * V)
        top = xp.argsort(cand, axis=-1, descending=True)[:, :n_top]    # (B, 2K)
        top_scores = backend.to_numpy(xp.take_along_axis(cand, top, axis=-1)).astype(host.float64)
        top = backend.to_numpy(top)
        parent, token = top // V, top % V                               # (B, 2K) beam within the row, token id

        # 3. split them into finished hypotheses and the K new beams
        last = t == max_new_tokens
        new_parent = host.zeros((B, K), dtype=host.int64)
        new_token = host.zeros((B, K), dtype=host.int64)                    # dead beams (score -inf) read token 0
        new_scores = host.full((B, K), -host.inf)
        new_node_of = host.zeros(K, dtype=host.int64)
        for b in range(B):
            j = 0                                                       # the next free beam slot
            record = tree is not None and b == 0 and not done[0]        # the tree follows prompt 0
            for r in range(n_top):
                s, k, v = top_scores[b, r], int(parent[b, r]), int(token[b, r])
                if s == -math.inf:                                      # the rest are impossible too
                    break
                if last or v == eos_token_id:
                    if r < K and not done[b]:                           # only the top K may finish (as HF)
                        node = None
                        if record:
                            node = len(tree)
                            tree.append(dict(step=t, beam=r, token=v, parent=int(node_of[k]), logprob=float(s),
                                             finished=True, score=float(s / t ** length_penalty),
                                             returned=False))
                        hyps[b].add(host.append(seqs[b * K + k, P:], v), float(s), t, node)
                elif j < K:
                    new_parent[b, j], new_token[b, j], new_scores[b, j] = k, v, s
                    if record:
                        new_node_of[j] = len(tree)
                        tree.append(dict(step=t, beam=j, token=v, parent=int(node_of[k]), logprob=float(s),
                                         finished=False, score=None, returned=False))
                    j += 1
        flat_parent = (host.arange(B)[:, None] * K + new_parent).reshape(B * K)   # (B*K,) rows the beams continue
        seqs = host.concatenate([seqs[flat_parent], new_token.reshape(B * K, 1)], axis=1)
        scores, node_of = new_scores, new_node_of

        # 4. stop a row once no running beam can improve its hypotheses; stop when all rows are done
        for b in range(B):
            done[b] = done[b] or hyps[b].is_done(scores[b, 0], t)
        if last or done.all():
            return
        state = model.reorder_state(state, flat_parent)                # each beam carries its parent's state
        next_ids = xp.astype(backend.asarray_like(new_token.reshape(B * K), input_ids), input_ids.dtype)
        logits, state = model_step(model, next_ids[:, None], state)     # (B*K, 1, V): one step for every beam
        logits = logits.data[:, -1, :]


# --------------------------------------------------------------------------- drawing the tree

def _layout(tree):
    """A height per node: leaves one apart in depth-first order, each parent centred over its children."""
    children = [[] for _ in tree]
    for i, node in enumerate(tree):
        if node["parent"] is not None:
            children[node["parent"]].append(i)
    y = host.zeros(len(tree))
    next_leaf, stack = 0, [0]
    while stack:                                                        # depth-first, first child on top
        i = stack.pop()
        if children[i]:
            stack.extend(reversed(children[i]))
        else:
            y[i], next_leaf = next_leaf, next_leaf + 1
    for i in reversed(range(len(tree))):                                # children come after their parent
        if children[i]:
            y[i] = host.mean(y[children[i]])
    return y, next_leaf


def plot_beam_tree(tree, path, tokenizer=None):
    """Draw the search tree from ``beam_search(..., return_tree=True)`` to a PNG at ``path``.

    One column per step; each node shows its token (decoded when ``tokenizer`` is given)
    and its summed log-probability, linked to its parent. Finished hypotheses are green,
    the returned sequences are drawn in bold. Needs matplotlib (``minigen[plot]``).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError(f"plot_beam_tree needs matplotlib ({e}); install it with: {PLOT_INSTALL_HINT}") from None
    rules.require(tree, "plot_beam_tree", "tree", "the non-empty tree of beam_search(..., return_tree=True)", tree)
    y, n_leaves = _layout(tree)
    steps = max(node["step"] for node in tree)
    fig = Figure(figsize=(2.0 + 1.4 * steps, 1.0 + 0.45 * n_leaves))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for i, node in enumerate(tree):
        if node["parent"] is not None:
            p = node["parent"]
            ax.plot([tree[p]["step"], node["step"]], [y[p], y[i]], color="black" if node["returned"] else "0.7",
                    linewidth=2.0 if node["returned"] else 0.8, zorder=1)
    for i, node in enumerate(tree):
        if node["token"] is None:
            label = "prompt"
        else:
            text = tokenizer.decode(host.array([node["token"]])) if tokenizer is not None else str(node["token"])
            label = f"{text!r}\n{node['logprob']:.2f}"
        color = "#9be59b" if node["finished"] else "#dde6f5"
        ax.text(node["step"], y[i], label, ha="center", va="center", fontsize=7, zorder=2,
                fontweight="bold" if node["returned"] else "normal",
                bbox=dict(boxstyle="round,pad=0.3", facecolor=color, edgecolor="0.4"))
    ax.set_xlim(-0.6, steps + 0.6)
    ax.set_ylim(n_leaves - 0.5, -0.5)                                  # the best beams at the top
    ax.set_yticks([])
    ax.set_xticks(range(steps + 1))
    ax.set_xlabel("step")
    ax.set_title("beam search (green: finished, bold: returned)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
