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
# # Lesson 11: seq2seq with attention; exposure bias and scheduled sampling
#
# So far a model continued *one* sequence. Many tasks map one sequence to
# another: translation, summarisation, or here, **date normalisation**:
#
#     "Tuesday, March 3, 1998"  ->  "1998-03-03"
#     "3/3/98"                  ->  "1998-03-03"
#     "03.03.1998"              ->  "1998-03-03"
#
# An **encoder-decoder** (Sutskever et al. 2014; Cho et al. 2014) reads the source with
# one RNN, the encoder, and writes the target with another, the decoder, a conditional
# language model `p(y_i | y_<i, source)`. Squeezing the whole source into one vector
# is a bottleneck; **attention** (Bahdanau et al. 2015) lets the decoder look back at
# every encoder state at every step, with learned weights. This lesson builds on the
# GRU (lesson 06), on attention (lesson 07) and on beam search (lesson 10):
#
# 1. you write **additive attention** and compare it with minigen's `Seq2Seq`;
# 2. we train the model with **teacher forcing** (the decoder reads the gold previous
#    token) and see the price: **exposure bias**, a decoder that never saw its own
#    mistakes in training meets them at test time;
# 3. you write the pieces of **scheduled sampling** (Bengio et al. 2015), which feeds the
#    model's own predictions more and more often during training;
# 4. we decode greedily and with beam search, score exact match and BLEU on held-out
#    dates, and look at the attention as a heatmap.
#
# Shapes: `B` = batch, `S` = source length, `T` = target length, `E` = embedding width,
# `H` = hidden size, `D` = encoder output width (`2H`: the encoder is bidirectional),
# `A` = attention width, `V` = target vocabulary.
#
# Run it as a script (`python 11_seq2seq.py`), or open it as a notebook with jupytext.
# `MINIGEN_QUICK=1` (or `--quick`) trains for a few seconds only, on the easy version of
# the task: the models then get few dates right, which is expected. The full run trains
# for a few minutes on the hard version (below), where even a trained model makes the
# mistakes that this lesson is about.

# %%
import os
import sys
import tempfile

# These matrices are small: one BLAS thread is faster than several, and much faster
# when other programs compete for the cores. It must be set before NumPy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import minigen  # noqa: E402
from minigen.data import date_pairs, date_vocabs, encode_pairs  # noqa: E402
from minigen.metrics import corpus_bleu, exact_match  # noqa: E402
from minigen.models.seq2seq import Seq2Seq, plot_attention  # noqa: E402
from minigen.models.seq2seq import teacher_forcing_prob as minigen_teacher_forcing_prob  # noqa: E402

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)
minigen.manual_seed(0)

try:
    import matplotlib.pyplot as plt
except ImportError:                     # the plots are optional: pip install matplotlib
    plt = None

# %% [markdown]
# ## The task
#
# `minigen.data.date_pairs(n, seed=...)` generates `(source, target)` pairs: a date in
# one of twenty formats, and its ISO form. The split is by *date*: `split="test"` holds
# about 10% of all days, which never appear in `split="train"`, so exact match on the
# test split measures generalisation, not memory. Both sides are sequences of
# characters; `date_vocabs()` gives the two vocabularies, with `<pad>` = 0, `<bos>` = 1
# and `<eos>` = 2 first, and `encode_pairs` pads them into arrays. `hard=True` adds
# spelled-out dates ("the third of march, nineteen ninety-eight"), dates relative to
# others ("two days after Feb 27, 2004": the model must do calendar arithmetic), and
# noisy casing and spacing; the full run uses it.
#
#     src     (N, S)   the source characters, then <pad>
#     tgt_in  (N, T)   <bos> y_1 ... y_10        what the decoder reads
#     tgt_out (N, T)   y_1 ... y_10 <eos>        what it must predict

# %%
src_vocab, tgt_vocab = date_vocabs()
HARD = not QUICK
train_pairs = date_pairs(5_000 if QUICK else 50_000, seed=0, split="train", hard=HARD)
test_pairs = date_pairs(200 if QUICK else 500, seed=1, split="test", hard=HARD)
src, tgt_in, tgt_out = encode_pairs(train_pairs, src_vocab, tgt_vocab)
test_src, test_in, test_out = encode_pairs(test_pairs, src_vocab, tgt_vocab)
test_targets = [t for _, t in test_pairs]
for s, t in train_pairs[:6]:
    print(f"{s!r:50s} -> {t!r}")
print(f"source vocabulary {src_vocab.vocab_size}, target vocabulary {tgt_vocab.vocab_size}; "
      f"src {src.shape}, tgt_in {tgt_in.shape}")
print("tgt_in[0] =", tgt_in[0].tolist(), "  tgt_out[0] =", tgt_out[0].tolist())

# %% [markdown]
# ## The encoder, the decoder, and the bottleneck
#
# minigen's `Seq2Seq` (read `minigen/models/seq2seq.py`) is a simplified form of the
# model of Bahdanau et al.:
#
#     enc_out = [GRU_fwd(src); GRU_bwd(src)]                    (B, S, D)  one vector per source character
#     s_0     = tanh(W_init [h_fwd(last); h_bwd(first)])        (B, H)     the decoder's first state
#     for each target step i, with y_{i-1} the previous token (<bos> first):
#         c_i      = attention(s_{i-1}, enc_out)                (B, D)     a summary of the source, for this step
#         s_i      = GRUCell([E y_{i-1}; c_i], s_{i-1})         (B, H)
#         logits_i = W_out [s_i; c_i] + b_out                   (B, V)
#
# Without attention, `s_0` would have to carry the whole date, every digit of it, in
# one vector of `H` numbers, and the decoder could not look back. With attention, each
# step computes its own weighted average of the encoder states, with weights that say
# which source characters matter *now*: to write the year, look at the year.
#
# Where Bahdanau et al. differ: their `s_0` comes from the backward encoder's first
# state only (`tanh(W_s h_bwd(first))`), and their output layer is a maxout layer
# that reads `s_{i-1}`, `y_{i-1}` and `c_i`, not `s_i` and `c_i`.
#
# ## Exercise 11.1: additive (Bahdanau) attention
#
# For a query `q` (the decoder state, `(B, H)`) and keys `k_j` (the encoder outputs,
# `(B, S, D)`):
#
#     e_j       = v . tanh(W_q q + W_k k_j)       (B, S)   a score per source position
#     weights   = softmax_j(e)                    (B, S)   they sum to 1 over j
#     context   = sum_j weights_j k_j             (B, D)
#
# with `W_q (A, H)`, `W_k (A, D)`, `v (A,)` (the weights of PyTorch-style linear layers:
# `W_q q` is `q @ W_q.T`). "Additive" because query and key meet by a sum inside the
# `tanh`, where dot-product attention (lesson 07) multiplies them. Padding must get no
# attention: where `mask` is False, the weight is exactly 0 (set the score to `-inf`
# before the softmax). Subtract the row maximum before `exp`, as always.


# %%
def additive_attention(query, keys, W_q, W_k, v, mask=None):
    """Additive attention. query (B, H), keys (B, S, D), W_q (A, H), W_k (A, D), v (A,), mask (B, S) bool or None.

    Returns ``(context, weights)``: context (B, D) = sum_j weights[:, j] keys[:, j], and
    weights (B, S) = softmax over j of e_j = v . tanh(W_q q + W_k k_j), exactly 0 where
    mask is False (mask=None: every position is real).
    """
    ### BEGIN SOLUTION
    hidden = np.tanh((query @ W_q.T)[:, None, :] + keys @ W_k.T)   # (B, S, A): W_q q broadcast over j
    e = hidden @ v                                                  # (B, S) scores
    if mask is not None:
        e = np.where(mask, e, -np.inf)                              # padding: weight exp(-inf) = 0
    e = e - e.max(axis=1, keepdims=True)                            # softmax without overflow
    w = np.exp(e)
    weights = w / w.sum(axis=1, keepdims=True)                      # (B, S)
    context = np.einsum("bs,bsd->bd", weights, keys)                # (B, D)
    ### END SOLUTION
    return context, weights


# %% [markdown]
# minigen's `Seq2Seq.attention(s, enc_out, enc_proj, src_mask)` computes the same thing
# with its own layers: `attn_dec` is `W_q`, `attn_enc` is `W_k` (with a bias `b`,
# `tanh(W_q q + W_k k_j + b)`; we set it to 0 here), and `attn_v` is `v`. Give a small
# float64 model our weights, and the two must agree:

# %%
B, S, H, A = 3, 7, 5, 4
tiny = Seq2Seq(src_vocab.vocab_size, tgt_vocab.vocab_size, embed_dim=4, hidden_size=H, attn_dim=A, dtype="float64")
W_q, W_k, v = rng.standard_normal((A, H)), rng.standard_normal((A, 2 * H)), rng.standard_normal(A)
tiny.attn_dec.weight = minigen.nn.Parameter(W_q)
tiny.attn_enc.weight = minigen.nn.Parameter(W_k)
tiny.attn_enc.bias = minigen.nn.Parameter(np.zeros(A))
tiny.attn_v.weight = minigen.nn.Parameter(v[None, :])                # (1, A): a linear layer to one score

query, keys = rng.standard_normal((B, H)), rng.standard_normal((B, S, 2 * H))
mask = np.arange(S)[None, :] < np.array([[7], [4], [1]])             # rows of 7, 4 and 1 real characters
ctx_ref, w_ref = tiny.attention(minigen.Tensor(query), minigen.Tensor(keys), tiny.attn_enc(minigen.Tensor(keys)), mask)
context, weights = additive_attention(query, keys, W_q, W_k, v, mask)
print("max |context - minigen| =", np.abs(context - ctx_ref.data).max())
print("max |weights - minigen| =", np.abs(weights - w_ref.data).max())
print("weights of the row with 4 real characters:", weights[1].round(3))

# %% [markdown]
# ### The backward pass
#
# minigen's autograd differentiates `Seq2Seq.attention` one operation at a time. Written
# out by hand, per row of the batch, walking the forward pass backwards (with
# `a_j = W_q q + W_k k_j` and `u_j = tanh(a_j)`):
#
#     forward was context = sum_j w_j k_j, so   dw_j = dcontext . k_j,           dk_j  = w_j dcontext
#     forward was w = softmax(e), so             de_j = w_j (dw_j - sum_i w_i dw_i)
#     forward was e_j = v . u_j, so              dv   = sum_j de_j u_j,           du_j  = de_j v
#     forward was u_j = tanh(a_j), so            da_j = du_j * (1 - u_j^2)
#     forward was a_j = W_q q + W_k k_j, so      dq   = W_q^T sum_j da_j,         dk_j += W_k^T da_j,
#                                                dW_q = sum_j da_j q^T,           dW_k  = sum_j da_j k_j^T
#
# The query is used at every source position, so its gradient sums over `j`; each key
# gets gradient twice, as a value (through `context`) and as a key (through the score).
# At padding `w_j = 0`, so `de_j = 0`: padding receives no gradient through the score.

# %% [markdown]
# ## Teacher forcing
#
# The decoder is a language model, trained like one: at step `i` it reads the *gold*
# previous token `tgt_in[:, i]` and is scored by the cross-entropy of `tgt_out[:, i]`.
# This is **teacher forcing**: every step is trained from the right prefix, so all `T`
# losses are available in one pass and the gradients are well behaved.
# `Seq2Seq.loss(src, tgt_in, tgt_out)` does exactly this (padding in `tgt_out` is
# ignored). We train with Adam and gradient clipping, on random batches whose source is
# cut to its longest row.

# %%
STEPS = 40 if QUICK else 500
BATCH = 64


def batch(step_rng, size=BATCH):
    idx = step_rng.integers(0, len(train_pairs), size)
    s = src[idx]
    return s[:, :(s != 0).sum(1).max()], tgt_in[idx], tgt_out[idx]    # (B, S_max), (B, T), (B, T)


def new_model():
    minigen.manual_seed(0)                                             # both models start from the same weights
    model = Seq2Seq(src_vocab.vocab_size, tgt_vocab.vocab_size, embed_dim=16, hidden_size=64)
    return model, minigen.optim.Adam(model.parameters(), lr=3e-3)


def train_step(model, optimizer, s, t_in, t_out):
    loss = model.loss(s, t_in, t_out)
    optimizer.zero_grad()
    loss.backward()
    minigen.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    return loss.item()


tf_model, optimizer = new_model()
step_rng = np.random.default_rng(1)
tf_losses = [train_step(tf_model, optimizer, *batch(step_rng)) for _ in range(STEPS)]
print(f"teacher forcing, {STEPS} steps: loss {tf_losses[0]:.3f} -> {np.mean(tf_losses[-10:]):.3f}")

# %% [markdown]
# ## Exposure bias
#
# At test time there is no gold prefix: the decoder reads its *own* previous output
# (free running). In training it never saw a wrong prefix, so after its first mistake
# it is off the distribution it was trained on, and mistakes can compound. Ranzato et
# al. (2016) named this **exposure bias**.
#
# We can measure it. For each target position, compare the accuracy of the next token
# when the decoder reads the gold prefix (`model(src, tgt_in)`, teacher forced) with its
# accuracy when it reads its own outputs (`greedy_decode`, free running). The first
# position is the same in both; the gap that opens after it is the cost of reading one's
# own mistakes.

# %%
def position_accuracy(model, src_ids, t_in, t_out):
    """Per target position: the accuracy teacher forced, and free running (greedy)."""
    with minigen.no_grad():
        forced = model(src_ids, t_in).data.argmax(-1)                 # (N, T): reads the gold prefix
    free = model.greedy_decode(src_ids, max_len=t_out.shape[1]).sequences   # (N, <= T): reads its own
    free = np.pad(free, ((0, 0), (0, t_out.shape[1] - free.shape[1])))     # padding never matches a character
    real = t_out != 0
    return ((forced == t_out) & real).sum(0) / real.sum(0), ((free == t_out) & real).sum(0) / real.sum(0)


acc_forced, acc_free = position_accuracy(tf_model, test_src, test_in, test_out)
print("position            " + "".join(f"{c:>6s}" for c in list("YYYY-MM-DD") + ["<eos>"]))
print("teacher forced acc. " + "".join(f"{a:6.2f}" for a in acc_forced))
print("free running acc.   " + "".join(f"{a:6.2f}" for a in acc_free))

# %% [markdown]
# In quick mode, where the model is still poor, free running falls behind from the
# second position on: each mistake in the prefix makes the next one more likely. After
# the full run the two rows are almost equal. The trained model makes few mistakes, they
# sit in the day digits at the end (relative dates need arithmetic), and little comes
# after them to spoil; attention also lets the decoder re-read the source at every step,
# so it depends less on its own history than a language model does. Exposure bias hurts
# most when mistakes come early and often: long outputs, hard tasks, small models.

# %% [markdown]
# ## Scheduled sampling
#
# Bengio et al. (2015) close the gap from the training side: at each decoder input,
# flip a coin; with probability `epsilon` feed the gold token (teacher forcing), else the
# model's own prediction. Early in training the predictions are noise, so `epsilon`
# starts near 1 and decays as training goes on: a curriculum from teacher forcing
# toward free running. Their inverse-sigmoid schedule, for a constant `k >= 1`:
#
#     epsilon(step) = k / (k + exp(step / k))
#
# starts at `k / (k + 1)`, is 1/2 at `step = k ln k`, and then falls towards 0 like a
# sigmoid; a larger `k` decays later and more slowly.
#
# ## Exercise 11.2: the inverse-sigmoid schedule
#
# Write `teacher_forcing_prob(step, k)`. It must stay finite and warning-free for any
# step: `exp(step / k)` overflows for `step / k > 709`. Divide through by `k`:
# `epsilon = 1 / (1 + exp(step / k - ln k)) = sigmoid(ln k - step / k)`, and remember
# the overflow-free sigmoid of lesson 05.


# %%
def teacher_forcing_prob(step, k):
    """k / (k + exp(step / k)) for a step >= 0 and k >= 1: a float in [0, k / (k + 1)], finite for any step.

    The largest value, k / (k + 1) < 1, is at step 0; for large steps the value underflows, and 0.0 is right.
    """
    ### BEGIN SOLUTION
    x = np.log(k) - step / k
    return float(0.5 * np.tanh(0.5 * x) + 0.5)
    ### END SOLUTION


for k in (10.0, 100.0, 1000.0):
    ours = [teacher_forcing_prob(s, k) for s in (0, 500, 2000, 10**6)]
    theirs = [minigen_teacher_forcing_prob(s, k=k) for s in (0, 500, 2000, 10**6)]
    print(f"k = {k:6.0f}: ours {np.round(ours, 4).tolist()}   minigen {np.round(theirs, 4).tolist()}")

if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 3))
    steps = np.arange(0, 3000, 10)
    for k in (50.0, 150.0, 300.0):
        ax.plot(steps, [teacher_forcing_prob(int(s), k) for s in steps], label=f"inverse sigmoid, k = {k:.0f}")
    ax.plot(steps, [minigen_teacher_forcing_prob(int(s), "linear", decay_steps=3000) for s in steps], "--",
            label="linear decay over 3000 steps")
    ax.set_xlabel("training step")
    ax.set_ylabel("P(feed the gold token)")
    ax.set_title("Scheduled sampling: the teacher-forcing probability")
    ax.legend(fontsize=8)
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## Exercise 11.3: the coin flips
#
# Given the gold decoder inputs `targets` and the model's `predictions` for the same
# positions (two integer arrays of one shape), return the inputs to feed: at each
# position independently, the target with probability `p`, else the prediction. Draw
# the coins from `rng` (a `np.random.Generator`), one uniform number per position:
# `rng.random(targets.shape) < p`. `p = 1` is teacher forcing, `p = 0` is free running.


# %%
def choose_decoder_inputs(targets, predictions, p, rng):
    """A new int array shaped like targets: targets where a coin of probability p says so, else predictions."""
    ### BEGIN SOLUTION
    coins = rng.random(targets.shape) < p
    return np.where(coins, targets, predictions)
    ### END SOLUTION


demo_in = choose_decoder_inputs(np.full((4, 10), 7), np.full((4, 10), 3), 0.7, np.random.default_rng(0))
print(demo_in, "\nfraction of gold tokens:", (demo_in == 7).mean())

# %% [markdown]
# ### Training with scheduled sampling
#
# Bengio et al. feed the prediction of the *same* pass: the decoder runs one step, its
# argmax becomes (with probability `1 - epsilon`) the next input, and so on. minigen's
# `Seq2Seq.loss(src, tgt_in, tgt_out, teacher_forcing=epsilon)` does that, one step at
# a time. Here we use the **parallel** approximation (Duckworth et al. 2019), which
# needs only your two functions: one teacher-forced pass without gradients gives the
# model's prediction for every position at once; the coins mix them with the gold
# inputs; a second, ordinary teacher-forced pass over the mixed inputs computes the
# loss against the gold outputs. The prediction for input position `i` is the argmax at
# step `i - 1`; the first input stays `<bos>`, and `<pad>`/`<bos>` are never predicted.
# The same initial weights, the same batches, the same number of steps as the
# teacher-forcing model.

# %%
K_SCHEDULE = 12.0 if QUICK else 100.0            # epsilon = 1/2 at step k ln k: 30 (quick) or 461


def predicted_inputs(model, s, t_in):
    """(B, T) ids: <bos>, then the model's argmax prediction for each later input position (no gradient)."""
    with minigen.no_grad():
        logits = model(s, t_in).data                                   # (B, T, V), teacher forced
    logits[..., [tgt_vocab.pad_id, tgt_vocab.bos_id]] = -np.inf        # never feed <pad> or <bos>
    return np.concatenate([t_in[:, :1], logits[:, :-1].argmax(-1)], axis=1)


ss_model, optimizer = new_model()
step_rng, coin_rng = np.random.default_rng(1), np.random.default_rng(2)
ss_losses, epsilons = [], []
for step in range(STEPS):
    s, t_in, t_out = batch(step_rng)
    epsilon = teacher_forcing_prob(step, K_SCHEDULE)
    mixed = choose_decoder_inputs(t_in, predicted_inputs(ss_model, s, t_in), epsilon, coin_rng)
    ss_losses.append(train_step(ss_model, optimizer, s, mixed, t_out))
    epsilons.append(epsilon)
print(f"scheduled sampling, {STEPS} steps: epsilon {epsilons[0]:.2f} -> {epsilons[-1]:.2f}, "
      f"loss {ss_losses[0]:.3f} -> {np.mean(ss_losses[-10:]):.3f}")

if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 3))
    smooth = np.ones(5) / 5
    ax.plot(np.convolve(tf_losses, smooth, "valid"), label="teacher forcing")
    ax.plot(np.convolve(ss_losses, smooth, "valid"), label="scheduled sampling")
    if not QUICK:
        ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("training loss (nats/token)")
    ax.legend()
    fig.tight_layout()
    plt.show()

# %% [markdown]
# The scheduled-sampling loss is measured on mixed inputs, so the two curves are not
# quite comparable: later in training it is the loss of a decoder that reads some of
# its own mistakes. What counts is the test set.
#
# ## Greedy and beam decoding, exact match and BLEU
#
# `greedy_decode` takes the argmax at each step; `beam_decode(src, num_beams=K)` runs
# lesson 10's narrowing beam search for each row and returns its best finished hypothesis
# (`score = sum log p / length ** length_penalty`). Two metrics on the held-out dates:
#
# - **exact match**: the fraction of outputs equal to the target (`minigen.metrics.exact_match`);
# - **BLEU** (`minigen.metrics.corpus_bleu`), the clipped n-gram precision of machine
#   translation, times a brevity penalty. It splits on whitespace, so we score characters
#   by writing `"1998-03-03"` as `"1 9 9 8 - 0 3 - 0 3"`. It gives partial credit: a date
#   with one wrong digit still shares most of its character n-grams.

# %%
def char_bleu(outputs, targets):
    return corpus_bleu([" ".join(o) for o in outputs], [[" ".join(t) for t in targets]]).score


n_beam = 30 if QUICK else 200                    # beam search decodes one row at a time: a subset
results = {}
for name, model in [("teacher forcing", tf_model), ("scheduled sampling", ss_model)]:
    greedy = tgt_vocab.decode(model.greedy_decode(test_src, max_len=12).sequences)
    beam = tgt_vocab.decode(model.beam_decode(test_src[:n_beam], num_beams=4, max_len=12).sequences)
    results[name] = dict(greedy=greedy, beam=beam)
    print(f"{name:18s}  greedy: exact match {exact_match(greedy, test_targets):5.1%}, "
          f"BLEU {char_bleu(greedy, test_targets):5.1f}   |   on the first {n_beam}: "
          f"greedy {exact_match(greedy[:n_beam], test_targets[:n_beam]):5.1%}, "
          f"beam (K = 4) {exact_match(beam, test_targets[:n_beam]):5.1%}")

print()
for (source, target), g, b in list(zip(test_pairs, results["teacher forcing"]["greedy"],
                                       results["teacher forcing"]["beam"]))[:6]:
    print(f"{source!r:50s} target {target}  greedy {g!r:14s} beam {b!r}")

# %% [markdown]
# A well-trained model is sure of most characters, so beam search rarely changes its
# answer; it helps where the model hesitates between two continuations. Whether
# scheduled sampling raises the final accuracy depends on the task and the schedule
# (Bengio et al. report gains; later work finds them small once models are strong); on
# this task, after the full run, the two models end up close.
#
# ### The curve per position, and one wrong token
#
# The plot repeats the exposure-bias measurement for both models. A more direct test of
# what scheduled sampling trains for: give the decoder the gold prefix with *one* digit
# replaced by a wrong one, and measure the accuracy of the outputs that read it and come
# after it. A model that has seen its own mistakes in training may lose less; how much
# depends on how much its decoder leans on its own history rather than on the source.

# %%
acc_forced_ss, acc_free_ss = position_accuracy(ss_model, test_src, test_in, test_out)


def one_wrong_digit(t_in, seed=0):
    """t_in with one digit input (y_1..y_4, y_6, y_7 or y_9) replaced by another digit, and where."""
    r = np.random.default_rng(seed)
    digits = np.array([tgt_vocab.stoi[d] for d in "0123456789"])
    where = r.choice([1, 2, 3, 4, 6, 7, 9], size=len(t_in))            # tgt_in[:, i] holds y_i
    wrong = t_in.copy()
    for n, i in enumerate(where):
        wrong[n, i] = r.choice(digits[digits != t_in[n, i]])
    return wrong, where


wrong_in, where = one_wrong_digit(test_in)
after = np.arange(test_out.shape[1])[None, :] >= where[:, None]        # outputs that read the wrong digit
for name, model in [("teacher forcing", tf_model), ("scheduled sampling", ss_model)]:
    with minigen.no_grad():
        clean = model(test_src, test_in).data.argmax(-1)
        hurt = model(test_src, wrong_in).data.argmax(-1)
    print(f"{name:18s}  accuracy after the position: gold prefix {((clean == test_out) & after).sum() / after.sum():.3f}"
          f", one wrong digit {((hurt == test_out) & after).sum() / after.sum():.3f}")
if plt is not None:
    fig, ax = plt.subplots(figsize=(9, 3.5))
    labels = list("YYYY-MM-DD") + ["<eos>"]
    ax.plot(acc_forced, "o-", color="C0", label="teacher forcing model, read gold prefix")
    ax.plot(acc_free, "o--", color="C0", label="teacher forcing model, free running")
    ax.plot(acc_forced_ss, "s-", color="C1", label="scheduled sampling model, read gold prefix")
    ax.plot(acc_free_ss, "s--", color="C1", label="scheduled sampling model, free running")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_xlabel("target position")
    ax.set_ylabel("accuracy")
    ax.set_title("Exposure bias: accuracy per position on held-out dates")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## What the decoder looks at
#
# `greedy_decode` also returns the attention weights of each output step, `(B, L, S)`,
# and `plot_attention` draws them: one row per output character, one column per source
# character. A trained model reads the year when it writes the year, the month name
# when it writes the month, and the day last. (After a few seconds of training, in
# quick mode, the picture is still blurred.)

# %%
out_dir = tempfile.mkdtemp(prefix="minigen_seq2seq_")


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


for i, example in enumerate(["Tuesday, March 3, 1998", "25.12.2031", "jul 4 76"]):
    ids = src_vocab.encode([example])                                   # (1, S)
    out = tf_model.greedy_decode(ids, max_len=12)
    text = tgt_vocab.decode(out.sequences)[0]
    rows = list(text) + ["<eos>"]                                       # the steps that produced output
    print(f"{example!r:26s} -> {text!r}")
    if i == 0 or not QUICK:
        path = plot_attention(out.attentions[0], list(example), rows, os.path.join(out_dir, f"attention_{i}.png"),
                              title=f"{example} -> {text}")
        show_png(path)

# %% [markdown]
# ## Exercises
#
# 1. (Graded: 11.1 `additive_attention`, 11.2 `teacher_forcing_prob` and 11.3
#    `choose_decoder_inputs` above.) `python -m minigen grade . --public-only` runs the
#    public checks on your functions.
# 2. Break the held-out exact match of the full run (the hard task) down by kind of
#    source: numeric, month names, spelled out, relative ("two days after ..."). Which
#    kind is hardest, and what would the model have to compute to get it right? Does
#    scheduled sampling help one kind more than the others?
# 3. Replace the parallel approximation by minigen's sequential scheduled sampling,
#    `model.loss(s, t_in, t_out, teacher_forcing=epsilon)`, and with
#    `sampling="sample"` (feed a sampled token, not the argmax). Compare the
#    free-running accuracy per position.
# 4. Turn attention off: subclass `Seq2Seq` and override `attention` so that it returns
#    uniform weights over the real characters (the context is then the mean of the
#    encoder states). How much worse is the model, and where in the date do its
#    mistakes sit?
