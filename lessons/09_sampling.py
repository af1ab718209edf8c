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
# # Lesson 09: sampling: greedy, stochastic, temperature, top-k, top-p, and penalties
#
# Lessons 05 and 08 trained language models and let `model.generate` write with them,
# without looking inside it. This lesson opens it up. It builds on lesson 03's
# softmax, entropy and temperature.
#
# A trained language model gives, at every step, a distribution over the next
# token: `p = softmax(logits)`, `V` numbers. It does not say which token to write.
# That choice, repeated token after token, is **decoding**, and it changes the text
# as much as a bigger model would: the same network can loop forever, babble, or
# write passable pseudo-Shakespeare depending on how we pick.
#
# Every decoder here has the same shape (it is what `minigen.sample.generate` and
# Hugging Face's `generate` do):
#
#     logits, state = model(prompt)                 # (B, T, V): read the prompt
#     repeat:
#         scores = logits[:, -1, :]                 # (B, V): the last position
#         scores = processors(ids, scores)          # penalties, temperature, top-k, top-p, ...
#         next = pick(scores)                       # argmax (greedy) or a draw from softmax(scores)
#         ids = concat(ids, next)                   # (B, T+1)
#         logits, state = model(next, state)        # (B, 1, V): one more step
#
# The **processors** are small functions `scores -> new scores` that never change
# the model. A filter removes a token by setting its score to `-inf`, so that
# softmax gives it probability exactly 0. You will write three of them: top-k
# (Exercise 9.1), top-p (9.2) and the repetition penalty (9.3), and check them
# against minigen's `TopKLogitsWarper`, `TopPLogitsWarper` and
# `RepetitionPenaltyLogitsProcessor` (built after Hugging Face's classes of the
# same names).
#
# Shapes: `B` = batch (independent sequences), `T` = tokens so far, `V` = vocabulary.
# (In the sections on temperature, `T` is the temperature, as in lesson 03.)
#
# Run it as a script (`python 09_sampling.py`), or open it as a notebook with
# jupytext. `MINIGEN_QUICK=1` (or `--quick`) trains the model for a few seconds only,
# so its text is rough; without it the samples read much better.

# %%
import os
import re
import sys

import minigen  # first: minigen tunes OpenBLAS's threads, which must happen before NumPy loads
import numpy as np

from minigen import sample
from minigen.data import CharTokenizer, shakespeare, train_val_split
from minigen.kernels.softmax import softmax_forward
from minigen.models import RNNLanguageModel
from minigen import rl
from minigen.sample import (
    EpsilonLogitsWarper, EtaLogitsWarper, FrequencyPenaltyLogitsProcessor, LogitsProcessor, MinPLogitsWarper,
    PresencePenaltyLogitsProcessor, RepetitionPenaltyLogitsProcessor, TopKLogitsWarper, TopPLogitsWarper,
)
from minigen.train import Trainer

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)
np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
# ## 1. A model to decode
#
# A character-level LSTM (lesson 05) on Shakespeare, trained briefly. Decoding works
# the same for any model that returns `(logits, state)`, including the GPT of
# lesson 08.

# %%
text = shakespeare()[: 200_000 if QUICK else 2_000_000]
tokenizer = CharTokenizer.train(text)
V = tokenizer.vocab_size
train_ids, val_ids = train_val_split(tokenizer.encode(text), 0.05)
minigen.manual_seed(0)
model = RNNLanguageModel(V, embed_dim=32, hidden_size=64 if QUICK else 128, num_layers=1)
optimizer = minigen.optim.Adam(model.parameters(), lr=1e-2 if QUICK else 4e-3)
trainer = Trainer(model, optimizer, train_ids, val_ids, tokenizer=tokenizer, batch_size=32,
                  seq_len=32 if QUICK else 64, max_steps=120 if QUICK else 800, warmup_steps=10,
                  eval_interval=120 if QUICK else 400, eval_tokens=4096, progress=not QUICK)
trainer.fit()
print(f"V = {V} characters; validation loss {trainer.history[-1]['val_loss']:.3f} nats "
      f"(a uniform guess would be ln V = {np.log(V):.3f})")

prompt_text = "ROMEO:\n"
prompt = np.array([tokenizer.encode(prompt_text)])         # (1, P)


def show(ids, width=None):
    """The decoded text of each row of ``ids`` (B, T), newlines shown as ' / '."""
    for row in ids:
        print("  " + tokenizer.decode(row.tolist()).replace("\n", " / ")[:width])


# %% [markdown]
# ## 2. Greedy decoding, and its loops
#
# The simplest rule: always take the most likely token, `argmax(scores)`. This is
# `generate`'s default (`do_sample=False`), as in Hugging Face. It is deterministic,
# and that is its problem: the next token is a fixed function of the model's state,
# so as soon as the state comes back close to where it was, the text repeats, and
# each repetition makes the state *more* like the last time. Greedy decoding of a
# small model ends in a cycle almost always.

# %%
greedy = model.generate(prompt, max_new_tokens=150)         # do_sample=False: argmax at every step
show(greedy)


def cycle_length(s, min_repeats=3):
    """The shortest period p such that the end of s is the same p characters at least min_repeats times."""
    for p in range(1, len(s) // min_repeats + 1):
        tail = s[-p * min_repeats:]
        if tail == tail[-p:] * min_repeats:
            return p
    return None


greedy_text = tokenizer.decode(greedy[0, prompt.shape[1]:].tolist())
print("greedy output ends in a cycle of length", cycle_length(greedy_text))

# %% [markdown]
# ### Looking inside: the top tokens and the entropy at each step
#
# `generate(..., return_dict_in_generate=True)` returns a `GenerateOutput` whose
# `steps` list what the decoder saw at each step: the `report_top_k` likeliest
# tokens with their probabilities (after the processors) and the entropy of the
# distribution in nats (lesson 03). Low entropy means the model is sure (after `th`
# comes `e`); high entropy means many continuations are plausible (the first
# letter of a word), and those are exactly the steps where greedy throws away all
# the alternatives.

# %%
out = model.generate(prompt, max_new_tokens=12, return_dict_in_generate=True, report_top_k=4)
print("step  picked  entropy  top-4 (probability)")
for t, step in enumerate(out.steps):
    picked = tokenizer.decode([int(out.sequences[0, prompt.shape[1] + t])])
    top = "  ".join(f"{tokenizer.decode([int(i)])!r} {q:.2f}" for i, q in zip(step["top_ids"][0], step["top_probs"][0]))
    print(f"{t:4d}  {picked!r:6s}  {step['entropy'][0]:7.3f}  {top}")

# %% [markdown]
# ## 3. Sampling
#
# Instead of the argmax, draw the next token at random from `softmax(scores)`
# (`do_sample=True`; also called ancestral or multinomial sampling). Every string
# has a chance, in proportion to its probability under the model, so the samples
# show what the model has really learned, errors included. minigen's
# `sample.sample_next` draws by inverse CDF: one uniform number `u` per row, scaled
# by the total mass, and the first index whose cumulative sum exceeds it. The
# uniform numbers come from a NumPy generator seeded with `seed`, so a seed gives
# the same text every time (and on every backend).
#
# One trap: Hugging Face's `generate` (and minigen's) has `top_k=50` by default.
# For a vocabulary of about 60 characters that quietly removes the dozen least
# likely ones; `top_k=0` turns it off, for pure sampling.

# %%
samples = model.generate(prompt, max_new_tokens=120, do_sample=True, top_k=0, seed=0, num_return_sequences=3)
show(samples)
again = model.generate(prompt, max_new_tokens=120, do_sample=True, top_k=0, seed=0, num_return_sequences=3)
print("same seed, same text:", np.array_equal(samples, again))
scores = np.array([[2.0, 1.0, 0.0, -np.inf]])               # (1, 4): the last token was filtered out
draws = [int(sample.sample_next(scores, rng=np.random.default_rng(s))[0]) for s in range(2000)]
print("sample_next frequencies:", np.bincount(draws, minlength=4) / 2000,
      " softmax:", np.exp(scores[0] - 2) / np.exp(scores[0] - 2).sum())

# %% [markdown]
# ## 4. Temperature
#
# Lesson 03: `softmax(scores / T)` is sharper for `T < 1` (towards greedy) and
# flatter for `T > 1` (towards uniform). It is the one knob that trades
# correctness for variety. `temperature=0` in `generate` means greedy.

# %%
for T in [0.5, 0.8, 1.3]:
    print(f"T = {T}:")
    show(model.generate(prompt, max_new_tokens=120, do_sample=True, temperature=T, top_k=0, seed=1))

# %% [markdown]
# ## 5. Top-k: keep only the k likeliest tokens
#
# Pure sampling has a long tail: each unlikely character has little mass, but
# together they have a lot, so every few steps the sampler picks something the
# model itself thinks is rare, and a recurrent model then conditions on its own
# mistake. Measure it along a pure sample:

# %%
out = model.generate(prompt, max_new_tokens=120, do_sample=True, top_k=0, seed=0, return_dict_in_generate=True)
probs_per_step = np.concatenate([softmax_forward(s)[0] for s in out.scores])     # (steps, V)
tail = 1 - np.sort(probs_per_step, axis=-1)[:, -5:].sum(axis=-1)     # (steps,): mass outside the top 5
print(f"mass outside the 5 likeliest characters: mean {tail.mean():.2f}, max {tail.max():.2f} over {len(tail)} steps")

# %% [markdown]
# **Top-k** (Fan et al., 2018) cuts the tail: keep the `k` highest scores of each
# row and set the rest to `-inf`; softmax renormalises over the survivors.
#
# Implementations do not sort and scatter: they find the k-th largest score of
# each row and compare every score with it. A consequence worth stating: **scores
# tied with the k-th are all kept**, so a row can keep more than `k` tokens
# (Hugging Face and minigen both do this).
#
# ## Exercise 9.1: top-k
#
# For a 1-D `(V,)` or a 2-D `(B, V)` array, return a *new* array (never write into
# `logits`). `k >= V` keeps everything.


# %%
def top_k_filter(logits, k):
    """Keep the k largest logits of each row; every logit below the row's k-th largest becomes -inf.

    logits: (V,) or (B, V) floats; k: an int >= 1. Returns a new array of the same
    shape and dtype: the kept entries (the k largest, and any tied with the k-th
    largest) unchanged, the others -inf. k >= V keeps every entry. ``logits`` itself
    is not modified.
    """
    scores = np.atleast_2d(logits)                          # (B, V); a view of logits: do not write into it
    V = scores.shape[-1]
    ### BEGIN SOLUTION
    k = min(k, V)
    kth = np.sort(scores, axis=-1)[:, V - k:V - k + 1]      # (B, 1): the k-th largest of each row
    out = np.where(scores < kth, -np.inf, scores)           # (B, V): a new array
    ### END SOLUTION
    return out.reshape(np.shape(logits))


z = np.array([1.0, 3.0, 2.0, 0.0, 2.0])
print("top_k_filter(z, 2):", top_k_filter(z, 2), "(the tie at 2.0 keeps three)")
Z = rng.standard_normal((4, V))
ids_so_far = rng.integers(0, V, size=(4, 5))               # (B, T): warpers ignore it, penalties use it
for k in [1, 5, V, V + 10]:
    mine, ref = top_k_filter(Z, k), TopKLogitsWarper(k)(ids_so_far, Z)
    print(f"k = {k:3d}: same as TopKLogitsWarper: {np.array_equal(mine, ref)}, "
          f"kept per row {np.isfinite(mine).sum(axis=1)}")

# %% [markdown]
# A processor is any object with `__call__(input_ids, scores)`, so your function
# plugs straight into `generate` through `logits_processor=[...]`. With the same
# seed it must produce exactly the text of the built-in `top_k=5`:

# %%
class MyTopK(LogitsProcessor):
    """Exercise 9.1 as a logits processor."""

    def __init__(self, k):
        self.k = k

    def __call__(self, input_ids, scores):
        return top_k_filter(scores, self.k)


builtin = model.generate(prompt, max_new_tokens=120, do_sample=True, top_k=5, seed=2)
yours = model.generate(prompt, max_new_tokens=120, do_sample=True, top_k=0, seed=2, logits_processor=[MyTopK(5)])
show(yours)
print("identical to top_k=5:", np.array_equal(builtin, yours))

# %% [markdown]
# ## 6. Top-p (nucleus sampling): keep the smallest set that holds mass p
#
# A fixed `k` is wrong in both directions: when the model is sure (after `th`),
# even `k = 5` keeps four bad options; when it is unsure (the first letter of a
# word), `k = 5` may cut good ones. **Top-p** (Holtzman et al., 2019, "The curious
# case of neural text degeneration") adapts: sort the tokens by probability and keep
# the smallest prefix whose probabilities add up to at least `p`:
#
#     sort descending:  p_(1) >= p_(2) >= ... >= p_(V)
#     keep token (j)  iff  p_(1) + ... + p_(j-1) < p      (the mass *above* it has not reached p yet)
#
# The most likely token is always kept (nothing is above it). As in top-k, the
# filter is a threshold on the logit: the smallest kept logit; every token tied
# with it stays too. `p = 1` keeps every token whose probability is not 0.
#
# Worked example: probabilities `[0.5, 0.3, 0.15, 0.05]`, `p = 0.7`. The mass above
# each token is `0, 0.5, 0.8, 0.95`, so the first two are kept (0.5 + 0.3 = 0.8 >= 0.7).
#
# ## Exercise 9.2: top-p
#
# Compute the softmax yourself (stably, lesson 03). Same rules as 9.1: `(V,)` or
# `(B, V)`, a new array, `-inf` for the removed tokens.


# %%
def top_p_filter(logits, p):
    """Nucleus filter: keep the smallest set of most likely tokens whose probability adds up to >= p.

    logits: (V,) or (B, V) floats; p: a float in (0, 1]. With the row's probabilities
    softmax(logits) sorted in descending order, a token is kept when the total
    probability of the tokens ranked above it is < p (so the most likely token is
    always kept, and p = 1 keeps every token of nonzero probability). Tokens tied with the smallest kept
    logit are kept too. Returns a new array of the same shape: kept entries
    unchanged, the others -inf. ``logits`` itself is not modified.
    """
    scores = np.atleast_2d(logits)                          # (B, V); a view of logits: do not write into it
    ### BEGIN SOLUTION
    sorted_scores = -np.sort(-scores, axis=-1)              # (B, V), largest first
    e = np.exp(sorted_scores - sorted_scores[:, :1])        # the row maximum comes first: a stable softmax
    probs = e / np.sum(e, axis=-1, keepdims=True)           # (B, V), descending
    above = np.cumsum(probs, axis=-1)[:, :-1]               # (B, V-1): mass of the tokens ranked above the next
    mass_above = np.concatenate([np.zeros_like(probs[:, :1]), above], axis=-1)   # (B, V); 0 for the first
    keep = mass_above < p                                   # (B, V), a prefix: True for the first token
    threshold = np.min(np.where(keep, sorted_scores, np.inf), axis=-1, keepdims=True)   # (B, 1)
    out = np.where(scores < threshold, -np.inf, scores)
    ### END SOLUTION
    return out.reshape(np.shape(logits))


probs = np.array([0.5, 0.3, 0.15, 0.05])
print("top_p_filter(log p, 0.7) keeps:", np.isfinite(top_p_filter(np.log(probs), 0.7)))
for p in [0.01, 0.5, 0.9, 1.0]:
    mine, ref = top_p_filter(Z, p), TopPLogitsWarper(p)(ids_so_far, Z)
    print(f"p = {p:4}: same as TopPLogitsWarper: {np.array_equal(mine, ref)}, "
          f"kept per row {np.isfinite(mine).sum(axis=1)}")

# %% [markdown]
# The nucleus really does adapt. The processed scores of each step are in
# `GenerateOutput.scores`; count the tokens that survive top-p at every step of a
# sample:

# %%
out = model.generate(prompt, max_new_tokens=120, do_sample=True, top_k=0, top_p=0.9, seed=3,
                     return_dict_in_generate=True)
kept = np.array([int(np.isfinite(s[0]).sum()) for s in out.scores])
show(out.sequences)
print(f"top_p = 0.9 kept between {kept.min()} and {kept.max()} of {V} characters per step (mean {kept.mean():.1f})")
print("first 30 steps:", kept[:30])

# %% [markdown]
# **Min-p** (Nguyen et al., 2024) is a third cut with the same goal: keep the
# tokens whose probability is at least `min_p` times the top token's,
# `p_i >= min_p * max_j p_j`. A confident step keeps few tokens, an unsure one
# many, and unlike top-p it does not need a sort. minigen has it as
# `MinPLogitsWarper` (`generate(..., min_p=0.1)`).
#
# The picture: two steps' distributions, and what each filter keeps (the bars in
# colour). After "What, sh" the model is fairly sure a vowel comes next; after
# "What, " a new word starts and many letters are plausible. Top-k keeps 5 in both
# cases; top-p and min-p follow the shape of the distribution.

# %%
contexts = ["ROMEO:\nWhat, sh", "ROMEO:\nWhat, "]
filtered = {}                                               # (context, filter name) -> (V,) filtered scores
step_probs = {}                                             # context -> (V,) probabilities
for context in contexts:
    logits, _ = model(np.array([tokenizer.encode(context)]))
    step_scores = logits.data[:, -1, :].astype(np.float64)  # (1, V): the scores of the next character
    e = np.exp(step_scores[0] - step_scores.max())
    step_probs[context] = e / e.sum()
    filtered[context, "top_k = 5"] = top_k_filter(step_scores, 5)[0]
    filtered[context, "top_p = 0.9"] = top_p_filter(step_scores, 0.9)[0]
    filtered[context, "min_p = 0.1"] = MinPLogitsWarper(0.1)(ids_so_far[:1], step_scores)[0]
for (context, name), f in filtered.items():
    order = np.argsort(-step_probs[context])
    print(f"after {context[7:]!r:10s} {name}: keeps {np.isfinite(f).sum():2d}:",
          repr(tokenizer.decode([int(i) for i in order if np.isfinite(f[i])])))

try:
    import matplotlib.pyplot as plt
except ImportError:                     # the plots are optional: pip install matplotlib
    plt = None
if plt is not None:
    fig, axes = plt.subplots(2, 3, figsize=(12, 5), sharey="row")
    for ax, ((context, name), f) in zip(axes.ravel(), filtered.items()):
        order = np.argsort(-step_probs[context])[:20]       # the 20 likeliest characters
        kept_mask = np.isfinite(f[order])
        ax.bar(np.arange(20), step_probs[context][order], color=np.where(kept_mask, "C0", "lightgray"))
        ax.set_xticks(np.arange(20), [repr(c)[1:-1] for c in tokenizer.decode(order.tolist())])
        ax.set_title(f"after {context[7:]!r}: {name}, {np.isfinite(f).sum()} kept", fontsize=10)
    axes[0, 0].set_ylabel("p(next character)")
    axes[1, 0].set_ylabel("p(next character)")
    plt.tight_layout()
    plt.show()

# %% [markdown]
# **Epsilon and eta sampling** (Hewitt, Manning and Liang, 2022, "Truncation Sampling
# as Language Model Desmoothing") start from a different view of the tail: a model
# trained by maximum likelihood spreads a little probability over every token, a
# *smoothing* that no real next token deserves, so the tail is mostly noise whatever
# the shape of the distribution.
#
# - **epsilon sampling** drops every token with `p < epsilon`, an absolute cut
#   (`generate(..., epsilon_cutoff=3e-4)`, `EpsilonLogitsWarper`);
# - **eta sampling** makes the cut depend on the entropy `H` of the step:
#   `p < min(eta, sqrt(eta) * exp(-H))`. A confident step (small `H`) cuts at up to
#   `eta`; an unsure one (large `H`) cuts lower, keeping more of a wide distribution
#   (`eta_cutoff`, `EtaLogitsWarper`).
#
# Both always keep the likeliest token. On the two steps above, with their entropies:

# %%
for context in contexts:
    p_step = step_probs[context]
    H = -np.sum(p_step * np.log(p_step))
    scores_step = np.log(p_step)[None, :]
    eps = EpsilonLogitsWarper(3e-3)(ids_so_far[:1], scores_step)[0]
    eta = EtaLogitsWarper(3e-3)(ids_so_far[:1], scores_step)[0]
    print(f"after {context[7:]!r:10s} entropy {H:.2f} nats: epsilon = 3e-3 keeps {np.isfinite(eps).sum():2d}, "
          f"eta = 3e-3 keeps {np.isfinite(eta).sum():2d} (its cut-off {min(3e-3, np.sqrt(3e-3) * np.exp(-H)):.1e})")
show(model.generate(prompt, max_new_tokens=150, do_sample=True, top_k=0, eta_cutoff=3e-3, seed=3), width=160)

# %% [markdown]
# ## 7. Penalties: discouraging repetition
#
# The filters above look only at the current distribution. **Penalties** look at
# the tokens generated so far (`input_ids`) and lower the scores of the ones
# already used. They apply in every mode, greedy included, and come first in the
# chain (before temperature and the filters).
#
# - **Repetition penalty** (CTRL, Keskar et al., 2019; Hugging Face's
#   `repetition_penalty`): for every token that occurs in `input_ids` (once or many
#   times, the prompt included), divide its score by `penalty` if it is positive
#   and multiply it by `penalty` if it is negative. With `penalty > 1` both make the
#   token less likely. (Dividing a negative score would *raise* it: hence the two
#   cases.)
# - **Frequency / presence penalties** (OpenAI's API): subtract
#   `penalty * count(token)`, or `penalty` once for any token seen.
# - **No-repeat n-gram** (`no_repeat_ngram_size=n`): ban every token that would
#   complete an n-gram that already occurred: a hard rule, no probabilities.
#
# ## Exercise 9.3: the repetition penalty
#
# `previous_ids` holds the ids so far: `(T,)` for a 1-D `logits`, `(B, T)` for a
# `(B, V)` one, with every id in `[0, V)`. A token seen several times is penalised
# once. Return a new array.


# %%
def repetition_penalty(logits, previous_ids, penalty):
    """CTRL's repetition penalty on every token that occurs in previous_ids.

    logits: (V,) with previous_ids (T,), or (B, V) with previous_ids (B, T) (integer
    ids in [0, V)); penalty: a float > 0. For each token seen at least once in its
    row: score / penalty if score > 0, else score * penalty; unseen tokens keep their
    score. Returns a new array of the same shape; ``logits`` is not modified.
    """
    scores = np.atleast_2d(logits)                          # (B, V); a view of logits: do not write into it
    ids = np.atleast_2d(previous_ids)                       # (B, T)
    B, V = scores.shape
    ### BEGIN SOLUTION
    seen = np.zeros((B, V), dtype=bool)
    rows = np.repeat(np.arange(B), ids.shape[1])            # (B*T,): the row of each id
    seen[rows, ids.reshape(-1)] = True                      # (B, V): True where the token occurred
    penalised = np.where(scores > 0, scores / penalty, scores * penalty)
    out = np.where(seen, penalised, scores)
    ### END SOLUTION
    return out.reshape(np.shape(logits))


z = np.array([1.0, 2.0, -2.0, 0.5])
print("repetition_penalty(z, [1, 2, 2], 2.0):", repetition_penalty(z, np.array([1, 2, 2]), 2.0))
mine = repetition_penalty(Z, ids_so_far, 1.3)
ref = RepetitionPenaltyLogitsProcessor(1.3)(ids_so_far, Z)
print("same as RepetitionPenaltyLogitsProcessor:", np.allclose(mine, ref))

# %% [markdown]
# Now the penalties on the greedy loop of section 2. On a *character* model the
# repetition penalty is blunt: after a few words every common letter has been
# seen, so nearly every score is penalised and the ranking barely moves. (It was
# designed for word and sub-word vocabularies, where "seen" means something.)
# The no-repeat n-gram ban does break the cycle, but by force: the text has to
# avoid every 4-character sequence it already wrote, including the ones real
# words need.

# %%
for name, kwargs in [("greedy", {}), ("greedy + repetition_penalty=1.3", dict(repetition_penalty=1.3)),
                     ("greedy + no_repeat_ngram_size=4", dict(no_repeat_ngram_size=4))]:
    ids = model.generate(prompt, max_new_tokens=150, **kwargs)
    print(f"{name}: cycle length {cycle_length(tokenizer.decode(ids[0, prompt.shape[1]:].tolist()))}")
    show(ids, width=160)
print("sampling + frequency penalty 0.3 and presence penalty 0.3:")
show(model.generate(prompt, max_new_tokens=150, do_sample=True, top_k=0, temperature=0.7, seed=4,
                    logits_processor=[FrequencyPenaltyLogitsProcessor(0.3), PresencePenaltyLogitsProcessor(0.3)]),
     width=160)

# %% [markdown]
# ## 8. Steering with a second prompt: classifier-free guidance
#
# A prompt *conditions* the model: `log p(y | prompt)`. **Classifier-free guidance**
# (Ho and Salimans, 2022, for images; Sanchez et al., 2023, "Stay on Topic with
# Classifier-Free Guidance", for language models) exaggerates the condition. Run the
# model twice per step, on the prompt and on an "unconditional" context (a negative
# prompt, or almost nothing), and move the log-probabilities away from the second:
#
#     scores = log p(y_t | uncond) + gamma * (log p(y_t | prompt) - log p(y_t | uncond))
#
# `gamma = 1` is plain decoding; `gamma > 1` favours the tokens that the prompt makes
# likelier *than they would be anyway*; with a negative prompt it steers away from
# what that prompt would write. It costs a second forward pass per token.
# `generate(..., guidance_scale=gamma, negative_prompt_ids=...)` does it with
# `UnbatchedClassifierFreeGuidanceLogitsProcessor`.
#
# Measured: continuations of "ROMEO:" guided away from "JULIET:". For each we take
# how much likelier the prompt makes them than the negative prompt does, per
# character: `log p(y | ROMEO:) - log p(y | JULIET:)`, averaged over 16 samples of 20
# characters (a character model's memory of the speaker fades within a line or two).

# %%
negative = np.array([tokenizer.encode("JULIET:\n")])
P_neg = negative.shape[1]
for gamma in (1.0, 3.0, 6.0):
    ids = model.generate(np.repeat(prompt, 16, axis=0), max_new_tokens=20, do_sample=True, top_k=0, seed=6,
                         guidance_scale=gamma, negative_prompt_ids=negative)
    continuation = ids[:, prompt.shape[1]:]
    with minigen.no_grad():
        on_prompt = rl.sequence_log_probs(model, ids, prompt.shape[1]).numpy()
        on_negative = rl.sequence_log_probs(model, np.concatenate([np.repeat(negative, 16, axis=0), continuation],
                                                                    axis=1), P_neg).numpy()
    print(f"gamma = {gamma}: log p(y | ROMEO:) - log p(y | JULIET:) = {np.mean(on_prompt - on_negative):+.4f} "
          f"nats per character")
    show(ids[:2])

# %% [markdown]
# The gap grows with `gamma`: the guided samples are ones that "ROMEO:" explains and
# "JULIET:" does not. Too large a `gamma` also pushes the text off the model's usual
# path (watch the samples at 6). On a small character model the effect on the text is
# subtle; on large models guidance is a cheap way to make a prompt stick.
#
# ## 9. The trade-off, measured
#
# How much variety does each temperature buy, and at what cost? Two cheap
# measures on samples of the same length:
#
# - **distinct-4**: the number of different 4-character n-grams over the total
#   number (Li et al., 2016). 1 means no 4-gram repeats; greedy loops score near 0.
# - **real words**: the fraction of the generated words that occur somewhere in
#   the training text. A stand-in for "quality" that a character model can fail.
#
# Low temperatures repeat themselves, high temperatures invent words. The same
# curves with `top_p=0.9` show why nucleus sampling is popular: it removes the
# tail that produces the nonsense, so at the same temperature more of the words
# are real (for a little less variety), and higher temperatures stay usable. The
# gain is clear after the full run; the briefly trained model of quick mode gains
# less.

# %%
known_words = set(re.findall(r"[a-z]+", text.lower()))


def distinct_n(s, n=4):
    grams = [s[i:i + n] for i in range(len(s) - n + 1)]
    return len(set(grams)) / max(len(grams), 1)


def real_word_fraction(s):
    words = re.findall(r"[a-z]+", s.lower())
    return np.mean([w in known_words for w in words]) if words else 0.0


sweep = [0.2, 0.5, 0.8, 1.1, 1.5] if QUICK else [0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 1.0, 1.2, 1.5, 2.0]
n_rows, length = (4, 150) if QUICK else (8, 300)
curves = {}
for label, extra in [("pure sampling", dict(top_k=0)), ("top_p = 0.9", dict(top_k=0, top_p=0.9))]:
    rows = []
    for T in sweep:
        ids = model.generate(np.repeat(prompt, n_rows, axis=0), max_new_tokens=length, do_sample=True,
                             temperature=T, seed=5, **extra)
        texts = [tokenizer.decode(row[prompt.shape[1]:].tolist()) for row in ids]
        rows.append((np.mean([distinct_n(s) for s in texts]), np.mean([real_word_fraction(s) for s in texts])))
    curves[label] = np.array(rows)                          # (len(sweep), 2)
    print(label)
    for T, (d4, real) in zip(sweep, curves[label]):
        print(f"  T = {T:4}: distinct-4 {d4:.3f}, real words {real:.3f}")

if plt is not None:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.2))
    for label, c in curves.items():
        ax1.plot(sweep, c[:, 0], "o-", label=label)
        ax2.plot(sweep, c[:, 1], "o-", label=label)
    ax1.set_xlabel("temperature")
    ax1.set_ylabel("distinct-4 (variety)")
    ax2.set_xlabel("temperature")
    ax2.set_ylabel("fraction of real words")
    ax1.legend()
    ax1.set_title("Variety rises with T ...")
    ax2.set_title("... and correctness falls")
    plt.tight_layout()
    plt.show()

# %% [markdown]
# ## Exercises
#
# 1. (Graded: 9.1 to 9.3 above.) `python -m minigen grade . --public-only` runs the
#    public checks on your functions.
# 2. Write `MyTopP` and `MyRepetitionPenalty` processors around your functions, as
#    `MyTopK` above, and check that `generate` gives the same text as `top_p=0.9`
#    and `repetition_penalty=1.3` with the same seed. (Mind the order: minigen
#    applies the penalties, then your `logits_processor` list, then temperature,
#    top-k and top-p; and pass `top_k=0`, or the default `top_k=50` applies too.)
# 3. Top-p applied *after* a temperature is not the same as before it. Sample with
#    `temperature=1.5, top_p=0.9` and build the two orders by hand with
#    `LogitsProcessorList`. Which one keeps more tokens, and why?
# 4. Train the model longer (run without quick mode) and redraw the trade-off
#    plot. Does the best temperature move? Add min-p (`min_p=0.1`) and eta sampling
#    (`eta_cutoff=3e-4`) as more curves.
# 5. Typical sampling (`typical_p`, `TypicalLogitsWarper`) keeps the tokens whose
#    surprisal `-log p` is closest to the entropy, and can drop the most likely
#    token. Find a step where it does, using `return_dict_in_generate=True`.
