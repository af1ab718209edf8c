# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 10: beam search, with a picture of the tree
#
# Lesson 09 chose one token at a time, by argmax or by a draw, and never looked back.
# This lesson searches over whole sequences instead.
#
# A language model gives the probability of the next token given the ones before,
# `p(y_t | y_<t)`. The probability of a whole sequence is the product of its steps,
# so its log-probability is a sum:
#
#     log p(y_1 .. y_T) = sum_{t=1..T} log p(y_t | y_<t)
#
# Sampling draws from that distribution. Sometimes we want the opposite, the *most
# likely* sequence (a translation, a date, a caption): the argmax over all
# sequences. This lesson is about how to search for it:
#
# 1. **Greedy decoding** takes the argmax at every step. It is fast, and myopic:
#    a token that looks best now can lead to a continuation where every option is poor.
# 2. **Exhaustive search** scores every sequence. It is exact, and impossible:
#    `V^T` sequences (with `V = 50,000` and `T = 20`, about 10^94).
# 3. **Beam search** sits between them: it keeps the `K = num_beams` best partial
#    sequences ("beams") by summed log-probability, extends each by every token,
#    and keeps the best `K` of the `K * V` candidates. `K = 1` is greedy; a `K` as
#    large as the number of sequences is exhaustive.
#
# Then come the details that make it work in practice: what to do with sequences
# that end (`<eos>`), why longer sequences need a **length penalty**, when to stop
# (**early stopping**), and returning several sequences (`num_return_sequences`).
#
# You write the search over a toy "model" (a plain function from a prefix to a
# vector of log-probabilities), check it against exhaustive search and greedy
# decoding, compare it with minigen's batched `minigen.sample.beam_search`, and
# draw the search tree. Shapes: `B` = prompts, `K` = beams, `V` = vocabulary,
# `T` = new tokens.
#
# Run it as a script (`python 10_beam_search.py`), or open it as a notebook with
# jupytext. `MINIGEN_QUICK=1` (or `--quick`) makes the experiments smaller.

# %%
import json
import os
import sys
import tempfile
from functools import lru_cache

import minigen  # first: minigen tunes OpenBLAS's threads, which must happen before NumPy loads
import numpy as np

from minigen.models.generation import GenerationMixin
from minigen.sample import beam_search as minigen_beam_search
from minigen.sample import plot_beam_tree

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)
minigen.manual_seed(0)

try:
    import matplotlib.pyplot as plt
except ImportError:                     # the plots are optional: pip install matplotlib
    plt = None

# %% [markdown]
# ## A toy model, and why greedy is myopic
#
# To see the search itself we do not need a neural network. A "model" here is any
# function `step_log_probs(prefix) -> (V,)` that maps a prefix (a tuple of token
# ids, starting with `<bos>`) to the log-probabilities of the next token. Our toy
# has three tokens, `<eos>` (id 0), `a` and `b`, and a `<bos>` (id 3) that it
# never produces:
#
#     first token:        <eos> 0.10   a 0.50   b 0.40
#     after "a":          <eos> 0.36   a 0.34   b 0.30     (a has no good continuation)
#     after "b":          <eos> 0.90   a 0.05   b 0.05     (b has a very good one)
#     anything else:      <eos> 0.50   a 0.25   b 0.25
#
# Greedy takes `a` (0.50 > 0.40) and then `<eos>`: `p = 0.50 * 0.36 = 0.18`. The
# sequence `b <eos>` has `p = 0.40 * 0.90 = 0.36`, twice as likely, but greedy never
# looks at it: it compared only first steps.

# %%
TOY_TOKENS = ["<eos>", "a", "b", "<bos>"]
EOS, BOS = 0, 3


def toy_step_log_probs(prefix):
    """The toy model: log p(next token | prefix), a (3,) vector; prefix starts with <bos>."""
    table = {(BOS,): [0.10, 0.50, 0.40], (BOS, 1): [0.36, 0.34, 0.30], (BOS, 2): [0.90, 0.05, 0.05]}
    return np.log(np.array(table.get(tuple(prefix), [0.50, 0.25, 0.25])))


def greedy_search(step_log_probs, bos, eos, max_len):
    """The argmax at every step, until <eos> or max_len tokens: returns (tokens, summed log-prob)."""
    tokens, total = (), 0.0
    while len(tokens) < max_len and (not tokens or tokens[-1] != eos):
        logp = step_log_probs((bos,) + tokens)
        v = int(np.argmax(logp))
        tokens, total = tokens + (v,), total + float(logp[v])
    return tokens, total


def show(tokens, names=TOY_TOKENS):
    return " ".join(names[t] for t in tokens)


tokens, total = greedy_search(toy_step_log_probs, BOS, EOS, max_len=3)
print(f"greedy: {show(tokens):12s} log p = {total:.3f}   p = {np.exp(total):.3f}")

# %% [markdown]
# ## Exhaustive search
#
# The exact answer scores every *complete* sequence: one that ends in `<eos>`, or
# that reached `max_len` tokens. A sequence stops at its `<eos>`, so with `V = 3`
# and `max_len = 3` there are not `3^3 = 27` of them but `1 + 2 + 2*2*3 = 15`
# (`<eos>` first; `a`/`b` then `<eos>`; two tokens that are not `<eos>`, then
# anything). The recursion below visits each prefix once, and the model is called
# once per prefix: the cost grows like `V^T`.


# %%
def exhaustive_search(step_log_probs, bos, eos, max_len):
    """Every complete sequence as (tokens, summed log-prob), best first (tokens exclude <bos>)."""
    complete = []

    def visit(tokens, total):
        logp = step_log_probs((bos,) + tokens)
        for v in range(len(logp)):
            if logp[v] == -np.inf:                       # impossible: no sequence goes this way
                continue
            seq, s = tokens + (v,), total + float(logp[v])
            if v == eos or len(seq) == max_len:
                complete.append((seq, s))
            else:
                visit(seq, s)
    visit((), 0.0)
    return sorted(complete, key=lambda h: -h[1])


everything = exhaustive_search(toy_step_log_probs, BOS, EOS, max_len=3)
print(f"{len(everything)} complete sequences; the best three:")
for seq, s in everything[:3]:
    print(f"   {show(seq):14s} log p = {s:.3f}   p = {np.exp(s):.3f}")
for V, T in [(3, 3), (65, 20), (50_000, 20)]:
    print(f"V = {V:6d}, T = {T:2d}: about 10^{T * np.log10(V):.0f} sequences of length T")

# %% [markdown]
# ## Beam search
#
# Keep the `K` best partial sequences ("beams") and their summed log-probabilities.
# At each step:
#
#     candidates = { (y + (v,), score(y) + log p(v | bos, y))  for every beam y, every token v }
#     sort the candidates by score, best first
#     keep the best ones: a candidate that ends in <eos> (or has max_len tokens)
#         is a finished hypothesis and leaves the beam; the others are the new beams
#
# Every candidate of one step has the same length, so comparing their summed
# log-probabilities is fair. This is the classic variant (minigen's `Seq2Seq.beam_decode`
# uses it, lesson 11): the beam **narrows** as hypotheses finish. At step t only the best
# `K - (number already finished)` candidates are kept, so there are never more than `K`
# finished hypotheses, and the search stops when no beam is left (or at `max_len`).
#
# Two limits tell you whether it is right:
#
# - `K = 1` keeps one candidate per step: the argmax. **Beam search with one beam is greedy.**
# - if `K` is at least the number of complete sequences (at most `V^max_len`), nothing is
#   ever dropped. **A wide enough beam is exhaustive search.**
#
# ## Exercise 10.1: beam search over a toy model
#
# Write `beam_search(step_log_probs, bos, eos, num_beams, max_len)`. It returns the
# finished hypotheses as a list of `(tokens, sum_logprob)`, best first, with
# `tokens` a tuple of the generated ids (no `<bos>`; the `<eos>` included when the
# hypothesis ended with one). Rules:
#
# - a candidate whose log-probability is `-inf` is impossible: never keep it;
# - `eos=None` means there is no end token: every hypothesis runs to `max_len`;
# - sort candidates by score alone (Python's `sorted` is stable, which is fine).


# %%
def beam_search(step_log_probs, bos, eos, num_beams, max_len):
    """Beam search: the finished hypotheses [(tokens, sum_logprob), ...], highest sum_logprob first.

    step_log_probs(prefix) -> (V,) log-probabilities of the next token, for a tuple
    prefix = (bos,) + tokens. At each step every beam is extended by every token; of
    these candidates the best ``num_beams - len(finished)`` are kept. A kept candidate
    that ends in ``eos`` or has ``max_len`` tokens is finished; the others are the new
    beams. Stops when no beam is left. ``tokens`` excludes bos and includes the eos.
    """
    ### BEGIN SOLUTION
    beams = [((), 0.0)]                                  # (tokens, summed log-prob)
    finished = []
    for t in range(1, max_len + 1):
        candidates = []
        for tokens, score in beams:
            logp = step_log_probs((bos,) + tokens)       # (V,)
            for v in range(len(logp)):
                if logp[v] > -np.inf:
                    candidates.append((tokens + (v,), score + float(logp[v])))
        candidates.sort(key=lambda c: -c[1])
        beams = []
        for tokens, score in candidates[:num_beams - len(finished)]:
            if tokens[-1] == eos or t == max_len:
                finished.append((tokens, score))
            else:
                beams.append((tokens, score))
        if not beams:
            break
    finished.sort(key=lambda h: -h[1])
    return finished
    ### END SOLUTION


for K in (1, 2, 3):
    hyps = beam_search(toy_step_log_probs, BOS, EOS, num_beams=K, max_len=3)
    print(f"K = {K}: " + ",  ".join(f"{show(seq)} ({s:.3f})" for seq, s in hyps))

# %% [markdown]
# With `K = 1` it is greedy (`a <eos>`); with `K = 2` it keeps `b` alive after the
# first step and finds `b <eos>`.
#
# ### Checking the two limits
#
# A random toy model: the log-probabilities of each prefix come from a generator
# seeded with the prefix itself, so the same prefix always gets the same
# distribution. `V = 3` and `max_len = 3`: `K = 27 = V^max_len` must reproduce the
# exhaustive search, hypothesis for hypothesis, and `K = 1` must reproduce greedy.


# %%
def random_model(V, seed, scale=2.0):
    """A toy model whose next-token log-probabilities are a random (but fixed) function of the prefix."""
    @lru_cache(maxsize=None)
    def step_log_probs(prefix):
        z = np.random.default_rng([seed, *prefix]).standard_normal(V) * scale
        return z - np.logaddexp.reduce(z)                # log-softmax: the row sums to 1 in probability
    return lambda prefix: step_log_probs(tuple(int(i) for i in prefix))


def same_hypotheses(a, b):
    return len(a) == len(b) and all(tuple(s1) == tuple(s2) and np.isclose(x1, x2) for (s1, x1), (s2, x2) in zip(a, b))


agree_exhaustive = agree_greedy = 0
for seed in range(20):
    model = random_model(V=3, seed=seed)
    agree_exhaustive += same_hypotheses(beam_search(model, 3, 0, num_beams=27, max_len=3),
                                        exhaustive_search(model, 3, 0, max_len=3))
    agree_greedy += same_hypotheses(beam_search(model, 3, 0, num_beams=1, max_len=3),
                                    [greedy_search(model, 3, 0, max_len=3)])
print(f"K = 27 equals exhaustive search on {agree_exhaustive}/20 random models")
print(f"K = 1 equals greedy decoding   on {agree_greedy}/20 random models")

# %% [markdown]
# ## minigen's beam search: a batch, on the device
#
# `minigen.sample.beam_search(model, input_ids, num_beams=..., max_new_tokens=...)`
# runs the same idea on a real model, batched: the `K` beams of each of the `B` prompts
# are `B * K` rows of one model call, their scores a `(B, K)` array, and the
# candidates a `(B, K * V)` array from which `argsort` takes the best. The model only
# has to follow `minigen`'s decoding protocol: `model(ids, state) -> (logits (B, T, V),
# state)`, and `model.reorder_state(state, index)`, which copies the state of each
# surviving beam's parent into its row.
#
# Any toy function fits that protocol once the "state" is the prefix itself:


# %%
class PrefixModel(GenerationMixin, minigen.nn.Module):
    """A prefix -> log-probabilities function as a minigen decoder: the state is each row's prefix."""

    def __init__(self, step_log_probs, vocab_size):
        super().__init__()
        self.step_log_probs, self.vocab_size = step_log_probs, vocab_size

    def forward(self, ids, state=None):
        ids = np.asarray(ids)                                             # (B, T)
        prefixes = [(state[b] if state is not None else ()) + tuple(int(i) for i in ids[b])
                    for b in range(ids.shape[0])]
        logits = np.zeros((ids.shape[0], ids.shape[1], self.vocab_size))  # (B, T, V): only the last step is read
        logits[:, -1] = [self.step_log_probs(p) for p in prefixes]
        return minigen.Tensor(logits), prefixes

    @staticmethod
    def reorder_state(state, index):
        return [state[int(i)] for i in index]


# %% [markdown]
# minigen's search (Hugging Face's variant, next section) differs from ours in how it
# treats `<eos>`. Without an end token the two are the same algorithm, so they must
# return the same `K` sequences with the same summed log-probabilities
# (`length_penalty=0` makes minigen report raw sums):

# %%
V, L, K = 4, 5, 3
model = random_model(V, seed=7)
ours = beam_search(model, BOS, None, num_beams=K, max_len=L)
out = minigen_beam_search(PrefixModel(model, V), np.array([[BOS]]), num_beams=K, max_new_tokens=L,
                          length_penalty=0.0, num_return_sequences=K)
theirs = [(tuple(int(t) for t in row[1:]), float(s)) for row, s in zip(out.sequences, out.sequences_scores)]
for (a, sa), (b, sb) in zip(ours, theirs):
    print(f"ours {a} {sa:8.4f}   minigen {b} {sb:8.4f}")
print("same hypotheses:", same_hypotheses(ours, theirs))

# %% [markdown]
# ## Finished hypotheses and early stopping (Hugging Face's variant)
#
# Our search narrows the beam when a hypothesis finishes. Hugging Face's `generate`
# (and `minigen.sample.beam_search`) instead always keeps `K` *running* beams: at
# each step it takes the best `2K` candidates, so that even if the best `K` all end in
# `<eos>` there are `K` others to continue. A candidate ending in `<eos>` that ranks
# among the best `K` goes into a separate list of finished hypotheses (`BeamHypotheses`,
# at most `K` of them, the worst pushed out). When does it stop? At `max_new_tokens` at
# the latest (the best candidates of that step count as finished); before that, only
# once `K` hypotheses are finished, and then the `early_stopping` argument decides:
#
# - `True`: as soon as `K` hypotheses are finished;
# - `False` (the default): when the best running beam, *if it ended now*, could not
#   beat the worst finished hypothesis (a heuristic: with a length penalty, a beam that
#   runs longer is divided by a larger length and could still overtake it);
# - `"never"`: when it could not even in its best case, ending at `max_new_tokens`
#   (exact with respect to the score when `length_penalty > 0`, and the slowest).
#
# With `K = 1` and the default settings both variants are greedy decoding. For larger
# `K`, minigen's keeps `K` beams searching after hypotheses finish, which can find
# better hypotheses than ours for the same `K`, at more cost.
#
# ## Exercise 10.2: the length penalty
#
# Every log-probability is negative, so each extra token *lowers* the summed score:
# raw sums prefer short hypotheses (a translation that stops after two words). The
# fix in Hugging Face's `BeamHypotheses` divides by a power of the length:
#
#     score = sum_logprobs / length ** length_penalty
#
# where `length` counts the generated tokens, `<eos>` included. `length_penalty = 0`
# compares raw sums; `1` compares the mean log-probability per token; larger values
# favour longer hypotheses more (the name is historical: it is a reward for length).
# The score only ranks *finished* hypotheses against each other; all candidates of
# one step have the same length, so it never changes which beams survive a step in our
# variant.


# %%
def length_normalized_score(sum_logprob, length, length_penalty):
    """sum_logprob / length ** length_penalty, elementwise for NumPy arrays (float64)."""
    ### BEGIN SOLUTION
    return np.asarray(sum_logprob, dtype=np.float64) / np.asarray(length, dtype=np.float64) ** length_penalty
    ### END SOLUTION


hyp_check = minigen.sample.beam.BeamHypotheses(num_beams=1, length_penalty=1.5, early_stopping=False,
                                               max_new_tokens=10)
hyp_check.add(np.array([5, 6, 7, 0]), -3.2, 4)
print("ours:", float(length_normalized_score(-3.2, 4, 1.5)), "  minigen's BeamHypotheses:", hyp_check.worst_score)

# %% [markdown]
# Which hypothesis wins depends on it. Here are the six finished hypotheses of a random
# toy model, ranked under four penalties: raw sums pick the shortest, a lone `<eos>`;
# the larger the penalty, the longer the winner.

# %%
short_or_long = random_model(V=3, seed=1, scale=1.0)
hyps = beam_search(short_or_long, BOS, EOS, num_beams=6, max_len=6)
lengths = np.array([len(seq) for seq, _ in hyps])
sums = np.array([s for _, s in hyps])
for alpha in (0.0, 0.5, 1.0, 2.0):
    scores = length_normalized_score(sums, lengths, alpha)
    best = int(np.argmax(scores))
    print(f"length_penalty = {alpha:3.1f}: best {show(hyps[best][0]):26s} length {lengths[best]}, "
          f"sum {sums[best]:.3f}, score {scores[best]:.3f}")

# %% [markdown]
# ## A real model: a character n-gram built by counting
#
# For text we need a model of text. Training a network would take this lesson's whole
# time budget, so we *build* one: a character 5-gram model, counts of which character
# follows each context of up to 4 characters of Shakespeare. A context seen `count(ctx)`
# times mixes its counts with the prediction of the context one character shorter, so
# that rare and unseen contexts fall back on shorter ones (interpolated smoothing):
#
#     p_0(c)         = the frequency of c
#     p_k(c | ctx_k) = (count(ctx_k, c) + alpha * p_{k-1}(c | ctx_{k-1})) / (count(ctx_k) + alpha)
#
# where `ctx_k` is the last `k` characters (an unseen `ctx_k` keeps `p_{k-1}`). It
# follows the same protocol as minigen's `RNNLanguageModel` (the state is the last
# `n - 1` ids of each row), so `generate`, `beam_search` and the tree all work on it.

# %%
from minigen.data import CharTokenizer, shakespeare  # noqa: E402


class CharNGramLM(GenerationMixin, minigen.nn.Module):
    """A smoothed character n-gram model from counts; ``forward(ids, state) -> (log-probs (B, T, V), state)``."""

    def __init__(self, ids, vocab_size, order=5, alpha=1.0, pad_id=0):
        super().__init__()
        V = vocab_size
        self.V, self.n, self.alpha, self.pad_id = V, order, alpha, pad_id
        self.unigram = (np.bincount(ids, minlength=V) + 1.0) / (len(ids) + V)        # (V,) p_0, never 0
        self.contexts, self.counts = [], []                                          # one table per k = 1 .. n-1
        for k in range(1, order):
            windows = np.lib.stride_tricks.sliding_window_view(ids[:-1], k)         # (N - k, k): before ids[k:]
            keys, inverse = np.unique(self._key(windows), return_inverse=True)
            counts = np.bincount(inverse * V + ids[k:], minlength=len(keys) * V)    # count(ctx_k, c)
            self.contexts.append(keys)
            self.counts.append(counts.reshape(len(keys), V).astype(np.float32))     # (contexts seen, V)

    def _key(self, ctx):
        """(..., k) ids -> one integer per context."""
        return (ctx * self.V ** np.arange(ctx.shape[-1] - 1, -1, -1)).sum(-1)

    def next_probs(self, ctx):
        """ctx (M, n - 1) ids -> p(next character) (M, V), from p_0 up to p_{n-1}."""
        p = np.broadcast_to(self.unigram, (ctx.shape[0], self.V))
        for k, (keys, counts) in enumerate(zip(self.contexts, self.counts), start=1):
            key = self._key(ctx[:, -k:])                                             # (M,)
            row = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
            seen = keys[row] == key                                                  # (M,)
            c = counts[row]                                                          # (M, V)
            mixed = (c + self.alpha * p) / (c.sum(1, keepdims=True) + self.alpha)
            p = np.where(seen[:, None], mixed, p)
        return p

    def forward(self, ids, state=None):
        ids = np.asarray(ids)                                                 # (B, T)
        B, T = ids.shape
        if state is None:                                                     # the text starts after padding
            state = np.full((B, self.n - 1), self.pad_id)
        full = np.concatenate([state, ids], axis=1)                           # (B, n - 1 + T)
        ctx = np.lib.stride_tricks.sliding_window_view(full, self.n - 1, axis=1)[:, 1:]   # (B, T, n - 1)
        p = self.next_probs(ctx.reshape(B * T, self.n - 1))                   # (B*T, V)
        return minigen.Tensor(np.log(p).reshape(B, T, self.V)), full[:, -(self.n - 1):]

    @staticmethod
    def reorder_state(state, index):
        return state[np.asarray(index)]


text = shakespeare()[:300_000]                   # the first plays: counting is fast, the model small
tokenizer = CharTokenizer.train(text)
NL = tokenizer.encode("\n")[0]
lm = CharNGramLM(np.asarray(tokenizer.encode(text)), tokenizer.vocab_size, order=5, pad_id=NL)
print(f"{len(text):,} characters, V = {tokenizer.vocab_size}, "
      f"{len(lm.contexts[-1]):,} distinct contexts of 4 characters")

# %% [markdown]
# ### Greedy and beam search with `model.generate`
#
# `generate(..., num_beams=K)` runs minigen's beam search. With the newline as
# `eos_token_id`, each hypothesis is one line of verse; `num_return_sequences` returns
# the best few, best first.

# %%
prompt = np.array([tokenizer.encode("HERMIA:\n")])


def line_logprob(model, prompt, new_ids):
    """The summed log-probability of new_ids after prompt, under model (one forward pass)."""
    ids = np.concatenate([prompt[0], new_ids])[None]
    logp = model(ids)[0].data[0]                                        # (P + T, V)
    P = prompt.shape[1]
    return float(sum(logp[P - 1 + t, v] for t, v in enumerate(new_ids)))


greedy = lm.generate(prompt, max_new_tokens=60, eos_token_id=NL)
new = greedy[0, prompt.shape[1]:]
print(f"greedy      {tokenizer.decode(new.tolist())!r:62s} log p = {line_logprob(lm, prompt, new):.2f}")
beams = lm.generate(prompt, max_new_tokens=60, num_beams=8, eos_token_id=NL, num_return_sequences=3,
                    length_penalty=1.0)
for row in beams:
    new = row[prompt.shape[1]:]
    new = new[: list(new).index(NL) + 1] if NL in new else new          # the padding after <eos> is not part of it
    print(f"beam, K = 8 {tokenizer.decode(new.tolist())!r:62s} log p = {line_logprob(lm, prompt, new):.2f}")

# %% [markdown]
# ### Early stopping and the length penalty, on the same model
#
# `beam_search(..., return_tree=True)` also returns the search tree, so we can count
# how many nodes the search created: a measure of its work.

# %%
for early_stopping in (True, False, "never"):
    for alpha in (0.0, 1.0):
        res = minigen_beam_search(lm, prompt, num_beams=4, max_new_tokens=60, eos_token_id=NL,
                                  length_penalty=alpha, early_stopping=early_stopping, return_tree=True)
        best = tokenizer.decode(res.sequences[0, prompt.shape[1]:].tolist()).split("\n")[0]
        print(f"early_stopping = {str(early_stopping):5s}  length_penalty = {alpha:.0f}: "
              f"{len(res.tree):4d} nodes, score {res.sequences_scores[0]:7.3f}  {best!r}")

# %% [markdown]
# Reading the table (the n-gram model is the same in quick mode and without it, so are
# the numbers): the scores of the two penalties are on different scales (a sum, and a
# mean per character), so compare rows of the same penalty only. With
# `length_penalty = 0` the short line wins whatever the rule; `"never"` behaves as
# `False` there (it differs only for a positive penalty), and `True` stops a little
# earlier. With `length_penalty = 1` the rules that keep searching create more nodes
# and find a better score, here a longer, repetitive line that ran into
# `max_new_tokens` without ever ending: the length penalty is a reward for length, and
# a model that loops collects it.
#
# ## A picture of the tree
#
# The tree is plain data: a list of nodes, each a dict with its `step`, `token`,
# `parent` (the index of its parent node), summed `logprob`, whether it `finished`
# (and its `score`), and whether it lies on the path of a `returned` sequence.
# Parents come before children, so it can be saved as JSON and redrawn anywhere.
# `plot_beam_tree` draws it: one column per step, finished hypotheses in green, the
# returned sequences in bold. First the toy model with `K = 2`: greedy's branch `a`
# survives the first step, and loses to `b` at the second.

# %%
out_dir = tempfile.mkdtemp(prefix="minigen_beam_")


class ToyTokenizer:
    def decode(self, ids):
        return " ".join(TOY_TOKENS[int(i)] for i in ids)


toy = minigen_beam_search(PrefixModel(toy_step_log_probs, 3), np.array([[BOS]]), num_beams=2, max_new_tokens=3,
                          eos_token_id=EOS, length_penalty=0.0, return_tree=True)
print(json.dumps(toy.tree[:3], indent=None))
print("as a table:")
for i, node in enumerate(toy.tree):
    token = "prompt" if node["token"] is None else TOY_TOKENS[node["token"]]
    print(f"  node {i:2d}  step {node['step']}  parent {str(node['parent']):4s}  token {token:6s}  "
          f"logprob {node['logprob']:7.3f}  finished {node['finished']!s:5s}  returned {node['returned']}")
with open(os.path.join(out_dir, "toy_tree.json"), "w") as f:
    json.dump(toy.tree, f)


def show_png(path):
    """Show a PNG written by minigen at its own size."""
    if plt is None:
        return
    image = plt.imread(path)
    fig = plt.figure(figsize=(image.shape[1] / 100, image.shape[0] / 100))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(image)
    ax.axis("off")
    plt.show()


plot_beam_tree(toy.tree, os.path.join(out_dir, "toy_tree.png"), tokenizer=ToyTokenizer())
show_png(os.path.join(out_dir, "toy_tree.png"))

# %% [markdown]
# The same picture for the character model: four beams, ten characters after
# `"HERMIA:\n"`. Most branches die within a step or two, and the beams that survive
# to the end share most of their prefix, differing in the last few characters: a
# well-known weakness of beam search is that its beams lack diversity.

# %%
res = minigen_beam_search(lm, prompt, num_beams=4, max_new_tokens=10, eos_token_id=NL,
                          num_return_sequences=2, return_tree=True)
plot_beam_tree(res.tree, os.path.join(out_dir, "char_tree.png"), tokenizer=tokenizer)
for row, score in zip(res.sequences, res.sequences_scores):
    print(f"{tokenizer.decode(row[prompt.shape[1]:].tolist())!r}  score {score:.3f}")
show_png(os.path.join(out_dir, "char_tree.png"))

# %% [markdown]
# ## Beam width versus log-probability
#
# How much does a wider beam buy? Without an end token every hypothesis has the same
# length, so we can compare summed log-probabilities directly. Left: random toy models
# (`V = 4`, 6 tokens, `4^6 = 4096` sequences), where exhaustive search gives the true
# optimum; the plot shows the mean gap between beam search's best hypothesis and it.
# Right: the character model, 40 characters after the prompt, with minigen's search.
# The first few beams buy most of the improvement; after that the returns shrink, and
# the curve need not even be monotone (exercise 2)
# (and with `<eos>` and no length penalty, *higher* probability is not always *better*
# text: the "beam search curse" of machine translation, where very wide beams find
# short, empty outputs).

# %%
widths = [1, 2, 3, 4, 6, 8, 16, 32, 64]
n_models = 8 if QUICK else 40
gaps = np.zeros((n_models, len(widths)))
for seed in range(n_models):
    model = random_model(V=4, seed=100 + seed, scale=1.0)
    optimum = exhaustive_search(model, BOS, None, max_len=6)[0][1]
    for j, K in enumerate(widths):
        gaps[seed, j] = optimum - beam_search(model, BOS, None, num_beams=K, max_len=6)[0][1]
print("width K                  " + "".join(f"{K:7d}" for K in widths))
print("mean gap to optimum      " + "".join(f"{g:7.3f}" for g in gaps.mean(0)))
print("fraction finding optimum " + "".join(f"{f:7.2f}" for f in (gaps < 1e-9).mean(0)))

lm_widths = [1, 2, 4, 8, 16] if QUICK else [1, 2, 4, 8, 16, 32, 64]
lm_scores = [float(minigen_beam_search(lm, prompt, num_beams=K, max_new_tokens=40, length_penalty=0.0)
                   .sequences_scores[0]) for K in lm_widths]
print("character model, width K  " + "".join(f"{K:8d}" for K in lm_widths))
print("summed log-prob, 40 chars " + "".join(f"{s:8.2f}" for s in lm_scores))

if plt is not None:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
    ax1.plot(widths, gaps.mean(0), "o-", label="mean gap (nats)")
    ax1.plot(widths, (gaps < 1e-9).mean(0), "s--", label="fraction optimal")
    ax1.set_xscale("log", base=2)
    ax1.set_xlabel("beam width K")
    ax1.legend()
    ax1.set_title("random toy models, V = 4, T = 6")
    ax2.plot(lm_widths, lm_scores, "o-", color="C1")
    ax2.set_xscale("log", base=2)
    ax2.set_xlabel("beam width K")
    ax2.set_ylabel("summed log-prob (nats)")
    ax2.set_title("character 5-gram, 40 characters")
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## Exercises
#
# 1. (Graded: 10.1 `beam_search` and 10.2 `length_normalized_score` above.)
#    `python -m minigen grade . --public-only` runs the public checks on your functions.
# 2. Beam search is not monotone in K: a wider beam can return a *worse* best
#    hypothesis. Search random toy models (`random_model(5, seed, scale=1.0)`,
#    `eos=None`, `max_len=6`; about one seed in a hundred will do) for one where
#    `K = 3` does worse than `K = 2`, draw both trees (minigen's `beam_search` on a
#    `PrefixModel` searches the same way when there is no `<eos>`), and explain how
#    the wider beam lost the sequence that the narrower one found.
# 3. Rewrite `beam_search` in Hugging Face's style: keep `K` running beams, put finished
#    hypotheses in a separate list scored with `length_normalized_score`, and stop with
#    `early_stopping=False`'s rule. Compare it with `minigen.sample.beam_search` on
#    random toy models *with* `<eos>`.
# 4. Beams lack diversity. Implement diverse beam search's simplest form: subtract a
#    penalty `lambda` from the score of a candidate whose last token another beam of the
#    same step already chose. Draw the tree of the character model before and after.
