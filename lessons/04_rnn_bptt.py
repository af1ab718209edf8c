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
# # Lesson 04: the vanilla RNN and backpropagation through time
#
# Lesson 03's bigram model predicted the next character from the current one
# alone, and a feed-forward network sees a fixed window of text. A **recurrent**
# network reads one token at a time and keeps a running summary, the hidden state
# `h`, that it updates at every step with the *same* weights. This is the Elman RNN,
# PyTorch's `nn.RNN`:
#
#     a_t = x_t W_ih^T + h_{t-1} W_hh^T + b          (B, H)
#     h_t = tanh(a_t)                                (B, H)
#
# Shapes: `B` = batch, `T` = time (sequence length), `C` = input channels (an
# embedding's width), `H` = hidden size, `V` = vocabulary size.
# `x_t (B, C)`, `h_{t-1} (B, H)`, `W_ih (H, C)`, `W_hh (H, H)`, `b (H,)`.
# A language model puts a linear layer on top, `logits_t = h_t W_out^T (B, V)`,
# and reads `h_0` (the initial state, usually zeros) and `x_1, ..., x_T`.
#
# Three ideas make up this lesson:
#
# 1. **Unrolling.** Written out over T steps, the RNN is a deep feed-forward
#    network, T layers deep, whose layers all share `W_ih`, `W_hh` and `b`.
#    Backpropagation through that unrolled network is **backpropagation through
#    time** (BPTT). A loss at step t reaches every earlier step, and because the
#    weights are shared, their gradients are *sums* over the time steps.
# 2. **Vanishing and exploding gradients.** Going back one step multiplies the
#    gradient by `diag(1 - h_t^2) W_hh`. Over many steps that product can shrink or
#    grow geometrically. The largest singular value of `W_hh` bounds it: below 1 the
#    gradient must vanish; above 1 it may explode, or be held back by the tanh.
# 3. **Truncated BPTT.** A corpus is millions of characters long. We cut it into
#    chunks, carry the hidden state from one chunk to the next, but cut the
#    gradient at the chunk boundary.
#
# You write the step and the sequence, forward and backward, check them against
# central differences (lesson 02) and against minigen's kernels
# (`minigen.kernels.rnn`), and then train minigen's char-RNN on Shakespeare with
# lesson 03's cross-entropy loss.
#
# Run it as a script (`python 04_rnn_bptt.py`), or open it as a notebook with
# jupytext. `MINIGEN_QUICK=1` (or `--quick`) makes the training part short.

# %%
import os
import sys

import minigen  # first: minigen tunes OpenBLAS's threads, which must happen before NumPy loads
import numpy as np

from minigen.kernels import rnn as rnn_kernels

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)

# %% [markdown]
# ## Exercise 4.1: one step forward
#
# Compute `a = x W_ih^T + h_prev W_hh^T + b` and `h = tanh(a)`, and return `h` with
# a `cache`: whatever your backward pass will need. The backward needs `tanh'(a)`,
# and since `tanh'(a) = 1 - tanh(a)^2 = 1 - h^2`, keeping `h` is enough; there is
# no need to keep `a`.


# %%
def rnn_step_forward(x, h_prev, W_ih, W_hh, b):
    """One RNN step: x (B, C), h_prev (B, H), W_ih (H, C), W_hh (H, H), b (H,).

    Returns ``(h, cache)`` with h (B, H) = tanh(x W_ih^T + h_prev W_hh^T + b).
    """
    ### BEGIN SOLUTION
    a = x @ W_ih.T + h_prev @ W_hh.T + b                 # (B, H)
    h = np.tanh(a)                                       # (B, H)
    cache = (x, h_prev, W_ih, W_hh, h)
    ### END SOLUTION
    return h, cache


# %% [markdown]
# minigen's kernel `rnn_cell_forward(x, h_prev, W_ih, W_hh, b_ih, b_hh)` keeps
# PyTorch's two bias vectors. They only ever appear as their sum, so passing our
# `b` as `b_ih` (and no `b_hh`) is the same cell.

# %%
B, C, H = 3, 4, 5
inputs = {
    "x": rng.standard_normal((B, C)),
    "h_prev": rng.standard_normal((B, H)),
    "W_ih": rng.standard_normal((H, C)) * 0.5,
    "W_hh": rng.standard_normal((H, H)) * 0.5,
    "b": rng.standard_normal(H) * 0.1,
}
h, cache = rnn_step_forward(*inputs.values())
h_ref, _ = rnn_kernels.rnn_cell_forward(*inputs.values())
print("h shape", h.shape, " max |h - h_minigen| =", np.abs(h - h_ref).max())

# %% [markdown]
# ## Exercise 4.2: one step backward
#
# Given `dh`, the gradient of the loss with respect to this step's `h`, return the
# gradients of all five inputs, in the order `dx, dh_prev, dW_ih, dW_hh, db`.
# Walk the forward pass backwards:
#
# - forward was `h = tanh(a)`, so `da = dh * (1 - h^2)`            (B, H);
# - forward was `a = x W_ih^T + h_prev W_hh^T + b`, a matrix product, so
#   `dx = da W_ih` (B, C) and `dh_prev = da W_hh` (B, H);
# - for the weights, the rule for `Y = X W^T` is `dW = dY^T X`: `dW_ih = da^T x`
#   (H, C) and `dW_hh = da^T h_prev` (H, H);
# - `b` was added to every row of the batch, so `db` sums `da` over the batch (H,).
#
# A shape check catches most mistakes in `dW_ih` (it is not square), but not in
# `dW_hh`: `h_prev^T da` has the right shape (H, H) and is the *transpose* of the
# right answer. Only a gradient check notices.


# %%
def rnn_step_backward(dh, cache):
    """Backward of ``rnn_step_forward``: dh (B, H) -> ``(dx, dh_prev, dW_ih, dW_hh, db)``.

    Shapes: dx (B, C), dh_prev (B, H), dW_ih (H, C), dW_hh (H, H), db (H,).
    Leaves ``dh`` unchanged (no in-place ``*=`` on it: the caller may still need it).
    """
    ### BEGIN SOLUTION
    x, h_prev, W_ih, W_hh, h = cache
    # forward was h = tanh(a), and tanh'(a) = 1 - h^2
    da = dh * (1 - h**2)                                 # (B, H)
    # forward was a = x W_ih^T + h_prev W_hh^T + b
    dx = da @ W_ih                                       # (B, C)
    dh_prev = da @ W_hh                                  # (B, H)
    dW_ih = da.T @ x                                     # (H, C)
    dW_hh = da.T @ h_prev
    db = da.sum(axis=0)                                  # (H,)
    ### END SOLUTION
    return dx, dh_prev, dW_ih, dW_hh, db


# %% [markdown]
# ## Checking the step's backward pass
#
# `minigen.gradcheck_kernel(forward, backward, inputs)` draws a random upstream
# gradient `dh`, and compares your analytic gradients with central differences
# `(L(w + eps) - L(w - eps)) / (2 eps)` of `L = sum(h * dh)`, element by element,
# in float64. The keys of `inputs` name the gradients in its reports (`dW_hh`).

# %%
print("gradient check passed:", minigen.gradcheck_kernel(rnn_step_forward, rnn_step_backward, inputs))

dh = rng.standard_normal((B, H))
mine = rnn_step_backward(dh, cache)
ref = rnn_kernels.rnn_cell_backward(dh, rnn_kernels.rnn_cell_forward(*inputs.values())[1])
for name, a, r in zip(["dx", "dh_prev", "dW_ih", "dW_hh", "db"], mine, ref):
    print(f"{name:8s} max abs difference from minigen {np.abs(a - r).max():.2e}")

# %% [markdown]
# ## Unrolling: a sequence is a deep network with shared weights
#
# Run the step T times, feeding each `h` into the next step:
#
#     h_0 --step--> h_1 --step--> h_2 --> ... --> h_T
#            ^             ^                ^
#           x_1           x_2              x_T
#
# Every box is the same function with the same `W_ih`, `W_hh`, `b`. We store the
# sequence **time-major**, `x (T, B, C)`, as minigen's kernels (and PyTorch's
# default `nn.RNN`) do: `x[t]` is one time step for the whole batch, a contiguous
# block. In code, `hs[t]` is the state after reading `x[t]`, that is `h_{t+1}` in
# the maths (Python counts from 0).
#
# ## Exercise 4.3: the sequence forward
#
# Loop your `rnn_step_forward` over the T steps. Return `hs (T, B, H)`, the hidden
# state after every step, and a cache for the backward pass (the list of the step
# caches will do).


# %%
def rnn_forward(x, h0, W_ih, W_hh, b):
    """An RNN over a time-major sequence: x (T, B, C), h0 (B, H).

    Returns ``(hs, cache)`` with hs (T, B, H), hs[t] the hidden state after step t
    (so hs[-1] is the last one).
    """
    ### BEGIN SOLUTION
    T = x.shape[0]
    hs = np.empty((T,) + h0.shape)                       # (T, B, H)
    caches = []
    h = h0
    for t in range(T):
        h, step_cache = rnn_step_forward(x[t], h, W_ih, W_hh, b)
        hs[t] = h
        caches.append(step_cache)
    cache = caches
    ### END SOLUTION
    return hs, cache


# %% [markdown]
# ## Backpropagation through time
#
# The loss of a language model is a sum over the time steps, `L = l_1 + ... + l_T`,
# and `l_t` depends on `h_t`. But `h_t` also feeds `h_{t+1}`, which feeds `h_{t+2}`,
# and so on: the gradient reaching `h_t` has two parts,
#
#     dh_t = dL/dh_t (from above: the output at step t, dhs[t] in code)
#          + da_{t+1} W_hh          (from the next step: its dh_prev)
#
# So BPTT walks the steps **backwards**, from t = T down to 1, and at each step adds
# the gradient from above to the `dh_prev` that the step after it sent back:
#
#     da_t  = dh_t * (1 - h_t^2)
#     dx_t  = da_t W_ih
#     dh_{t-1} (sent on) = da_t W_hh
#
# Every step used the *same* `W_ih`, `W_hh` and `b`. A weight used T times gets the
# sum of the T gradients (the multivariate chain rule: one term per use):
#
#     dW_ih = sum_t da_t^T x_t     dW_hh = sum_t da_t^T h_{t-1}     db = sum_t (sum of da_t's rows)
#
# The gradient that comes out at the far end, `dh_0`, is the gradient of the
# initial state.
#
# ## Exercise 4.4: the sequence backward
#
# Given `dhs (T, B, H)`, the gradient of the loss with respect to every `hs[t]`,
# loop your `rnn_step_backward` backwards in time. Start the weight gradients at
# zero and add each step's share to them; keep `dh_prev` from one step to add to
# the next (earlier) one. Return `dx (T, B, C)`, `dh0 (B, H)`, `dW_ih`, `dW_hh`, `db`.


# %%
def rnn_backward(dhs, cache):
    """Backpropagation through time for ``rnn_forward``: dhs (T, B, H).

    Returns ``(dx, dh0, dW_ih, dW_hh, db)`` with dx (T, B, C), dh0 (B, H),
    dW_ih (H, C), dW_hh (H, H), db (H,). Leaves ``dhs`` unchanged.
    """
    ### BEGIN SOLUTION
    caches = cache
    T, B, H = dhs.shape
    x0, _, W_ih, W_hh, _ = caches[0]
    dx = np.zeros((T,) + x0.shape)                       # (T, B, C)
    dW_ih = np.zeros_like(W_ih)                          # (H, C)
    dW_hh = np.zeros_like(W_hh)                          # (H, H)
    db = np.zeros(H)                                     # (H,)
    dh_next = np.zeros((B, H))                           # what step t + 1 sends back to h_t
    for t in reversed(range(T)):
        # h_t feeds the output at step t and the step after it: add both gradients
        dh = dhs[t] + dh_next
        dx[t], dh_next, dW_ih_t, dW_hh_t, db_t = rnn_step_backward(dh, caches[t])
        # the weights are shared by all steps: their gradients add up
        dW_ih += dW_ih_t
        dW_hh += dW_hh_t
        db += db_t
    dh0 = dh_next
    ### END SOLUTION
    return dx, dh0, dW_ih, dW_hh, db


# %% [markdown]
# ## Checking BPTT
#
# The gradient check treats your `rnn_forward` as one big function of all five
# inputs, so it tests the whole chain at once. We use T = 5: a backward pass that
# forgets to *add* (`dW_hh = dW_hh_t` instead of `+=`) keeps only the first step's
# share, and a check with T = 1 would never notice.

# %%
T, B, C, H = 5, 2, 3, 4
seq_inputs = {
    "x": rng.standard_normal((T, B, C)),
    "h0": rng.standard_normal((B, H)) * 0.5,
    "W_ih": rng.standard_normal((H, C)) * 0.5,
    "W_hh": rng.standard_normal((H, H)) * 0.5,
    "b": rng.standard_normal(H) * 0.1,
}
print("BPTT gradient check passed:", minigen.gradcheck_kernel(rnn_forward, rnn_backward, seq_inputs))

# %% [markdown]
# minigen's `rnn_forward` is the same recurrence with one optimisation: the input
# projection `x_t W_ih^T + b` does not depend on `h`, so it runs for all T steps in
# one `(T*B, C) @ (C, H)` product before the loop, and after the backward loop the
# weight gradients are one product each over the stacked `da_t`, instead of T small
# ones. Only `h_{t-1} W_hh^T` has to stay inside the loop: it is the part that is
# truly sequential. It returns `((out, h_n), cache)`, and its backward takes the
# upstream gradients of both, `(dout, dh_n)`.

# %%
x, h0, W_ih, W_hh, b = seq_inputs.values()
hs, cache = rnn_forward(x, h0, W_ih, W_hh, b)
(out_ref, h_n), cache_ref = rnn_kernels.rnn_forward(x, h0, W_ih, W_hh, b)
print("max |hs - out_minigen| =", np.abs(hs - out_ref).max())
dhs = rng.standard_normal((T, B, H))
mine = rnn_backward(dhs, cache)
ref = rnn_kernels.rnn_backward((dhs, None), cache_ref)
for name, a, r in zip(["dx", "dh0", "dW_ih", "dW_hh", "db"], mine, ref):
    print(f"{name:6s} max abs difference from minigen {np.abs(a - r).max():.2e}")

# %% [markdown]
# ### A loss at step t reaches every earlier step, and no later one
#
# Put a gradient on one output only, `hs[5]` of an 8-step sequence, and look at
# which inputs get a gradient: every `x` up to and including step 5, none after it.
# The RNN is causal, and BPTT carries the gradient all the way back to `h_0`.

# %%
x8 = rng.standard_normal((8, 1, C))
hs8, cache8 = rnn_forward(x8, np.zeros((1, H)), W_ih, W_hh, b)
dhs8 = np.zeros_like(hs8)
dhs8[5] += 1.0                                           # a gradient on hs[5] only
dx8, dh0_8, *_ = rnn_backward(dhs8, cache8)
print("|dx[t]| for t = 0..7:", np.round(np.linalg.norm(dx8, axis=(1, 2)), 4))
print("|dh0| =", round(float(np.linalg.norm(dh0_8)), 4))

# %% [markdown]
# ## Vanishing and exploding gradients
#
# Unroll the recursion for the gradient. Going from `h_t` back to `h_{t-1}` is
#
#     dh_{t-1} = (dh_t * (1 - h_t^2)) W_hh = dh_t diag(1 - h_t^2) W_hh
#
# so the gradient of a loss at step T with respect to the initial state is `dh_T`
# times a product of T such Jacobians. `tanh' = 1 - h^2` is at most 1, so if every
# singular value of `W_hh` is at most `rho`, then
#
#     |dh_0| <= |dh_T| * rho^T,
#
# which vanishes geometrically when `rho < 1`. When `rho > 1` the product can grow
# like `rho^T`, unless the tanh saturates (`1 - h^2` near 0) and damps it. For a
# clean experiment we take `W_hh = rho * Q` with `Q` a random orthogonal matrix, so
# that every singular value (and the spectral radius) of `W_hh` is exactly `rho`,
# run your `rnn_forward` on T random inputs, put a gradient on the last output only,
# and measure `|dh_0|` from your `rnn_backward`, for T = 1 to 60.

# %%
def dh0_norms(rho, T_max=60, H=32, C=8):
    """|dh_0| for a unit gradient on the last output of sequences of length 1..T_max."""
    r = np.random.default_rng(1)
    Q, _ = np.linalg.qr(r.standard_normal((H, H)))       # (H, H), orthogonal
    W_ih, W_hh, b = r.standard_normal((H, C)) * 0.1, rho * Q, np.zeros(H)
    x = r.standard_normal((T_max, 1, C))
    norms = []
    for T in range(1, T_max + 1):
        hs, cache = rnn_forward(x[:T], np.zeros((1, H)), W_ih, W_hh, b)
        dhs = np.zeros_like(hs)
        dhs[-1] = 1 / np.sqrt(H)                         # |dh_T| = 1
        norms.append(np.linalg.norm(rnn_backward(dhs, cache)[1]))
    return np.array(norms)


radii = [0.5, 0.9, 1.5, 3.0]
curves = {rho: dh0_norms(rho) for rho in radii}
for rho, n in curves.items():
    print(f"rho = {rho}:  |dh_0| at T = 10: {n[9]:.1e}   T = 30: {n[29]:.1e}   T = 60: {n[59]:.1e}")

try:
    import matplotlib.pyplot as plt
except ImportError:                     # the plot is optional: pip install matplotlib
    plt = None
if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for rho, n in curves.items():
        ax.semilogy(np.arange(1, len(n) + 1), n, label=f"singular values {rho}")
    ax.set_xlabel("sequence length T (steps between the loss and h_0)")
    ax.set_ylabel("|dL/dh_0|")
    ax.set_title("BPTT: the gradient vanishes or explodes geometrically")
    ax.legend()
    plt.show()

# %% [markdown]
# With `rho = 0.5` the gradient from 30 steps away is below 1e-9: whatever the
# loss at step 30 says about the first inputs is lost in round-off, so a vanilla
# RNN cannot *learn* long-range dependencies, even though its forward pass could
# carry the information. With `rho = 3` the gradient grows by orders of magnitude,
# and one update with it would throw the weights far away. `rho = 1.5` sits in
# between: the state grows until the tanh bends (`1 - h^2` averages about 0.6 here),
# and the growth from `W_hh` and the damping from the tanh roughly cancel (not simply
# 1.5 x 0.6: the gradient concentrates on the least saturated units, which is also
# why `rho = 3` still explodes). That balance is luck, not design: it depends
# on the inputs, and a unit pushed into saturation passes almost no gradient.
#
# The usual remedies:
#
# - **exploding**: clip the gradient's global norm before the update (minigen's
#   `Trainer` does it, `grad_clip=1.0` by default, with `minigen.nn.utils.clip_grad_norm_`);
# - **vanishing**: change the architecture so that the state is updated by
#   *addition* through a gate, not squashed through `W_hh` at every step: the LSTM
#   (lesson 05) and the GRU (lesson 06).
#
# ## Truncated BPTT
#
# minigen's Shakespeare corpus is 4.8 million characters. Full BPTT over all of it
# would keep every step's cache in memory and make one weight update per pass
# through the corpus.
# **Truncated BPTT** cuts the text into chunks of T characters (T = 64, say), and
# for each chunk:
#
# - the forward pass starts from the hidden state where the previous chunk ended,
#   so the model's memory is not limited to T characters;
# - the backward pass stops at the chunk's start: the carried state is treated as a
#   constant (it is **detached** from the graph), so the gradient reaches back at
#   most T steps.
#
# With your NumPy functions, detaching is simply this: pass the last `hs` of one
# chunk as the `h0` of the next, and throw the `dh0` that `rnn_backward` returns away.
# Below, a 12-step sequence read in 3 chunks of 4 gives *exactly* the full forward
# pass, while the gradient of a loss at the last step stops at the chunk boundary.

# %%
x12 = rng.standard_normal((12, 1, C))
hs_full, cache_full = rnn_forward(x12, np.zeros((1, H)), W_ih, W_hh, b)
h, chunks = np.zeros((1, H)), []
for k in range(3):
    hs_k, cache_k = rnn_forward(x12[4 * k:4 * k + 4], h, W_ih, W_hh, b)
    chunks.append((hs_k, cache_k))
    h = hs_k[-1]                                         # carry the state (values only)
print("forward, chunked vs full: max difference", np.abs(np.concatenate([c[0] for c in chunks]) - hs_full).max())

dhs_full = np.zeros_like(hs_full)
dhs_full[-1] += 1.0                                      # a loss at the very last step
dx_full = rnn_backward(dhs_full, cache_full)[0]
dx_last, _dh0_dropped, *_ = rnn_backward(dhs_full[8:], chunks[2][1])   # the last chunk only; dh0 is detached
print("|dx[t]| full BPTT:     ", np.round(np.linalg.norm(dx_full, axis=(1, 2)), 3))
print("|dx[t]| truncated, T=4:", np.round(np.concatenate([np.zeros(8), np.linalg.norm(dx_last, axis=(1, 2))]), 3))

# %% [markdown]
# ### Batches of contiguous streams
#
# To carry the state from one batch to the next, row `i` of batch `k + 1` must
# continue row `i` of batch `k`. `minigen.data.StreamBatcher` cuts the token ids
# into B long streams and reads them T tokens at a time, in order:

# %%
from minigen.data import CharTokenizer, StreamBatcher, shakespeare, train_val_split  # noqa: E402

text = shakespeare()[: 100_000 if QUICK else 1_000_000]
tokenizer = CharTokenizer.train(text)
batcher = StreamBatcher(tokenizer.encode(text), batch_size=4, seq_len=24)
for k in range(2):
    x_ids, y_ids = batcher.next_batch()
    print(f"batch {k}:", " | ".join(repr(tokenizer.decode(row.tolist())) for row in x_ids[:2]))

# %% [markdown]
# ### Training minigen's char-RNN
#
# `minigen.models.RNNLanguageModel(..., cell="rnn")` is embedding -> `nn.RNN` ->
# linear head, with the same recurrence as your functions (`nn.RNN` calls
# `minigen.kernels.rnn` through autograd). `minigen.train.Trainer` reads the
# training ids through a `StreamBatcher` and, after every step, keeps
#
#     self.state = self.model.detach_state(state)     # carry the values, cut the graph
#
# which is truncated BPTT: the next batch's forward starts where this one ended, and
# its backward stops there. The state restarts from zeros when the batcher wraps
# around to the start of the text. The Trainer also clips the gradient norm at 1.

# %%
from minigen.models import RNNLanguageModel  # noqa: E402
from minigen.train import Trainer  # noqa: E402

train_ids, val_ids = train_val_split(tokenizer.encode(text), 0.05)
minigen.manual_seed(0)
model = RNNLanguageModel(tokenizer.vocab_size, embed_dim=32, hidden_size=128 if QUICK else 256, num_layers=1,
                         cell="rnn")
optimizer = minigen.optim.Adam(model.parameters(), lr=3e-3)
trainer = Trainer(model, optimizer, train_ids, val_ids, tokenizer=tokenizer, batch_size=32, seq_len=64,
                  max_steps=120 if QUICK else 1500, warmup_steps=10, eval_interval=120 if QUICK else 250,
                  eval_tokens=8192, progress=not QUICK)
trainer.fit()
state = trainer.state
print("carried state:", type(state).__name__, state.shape, "| part of a graph:", state.requires_grad)
print("validation loss:", round(trainer.history[-1]["val_loss"], 3), "nats per character",
      f"(a uniform guess over {tokenizer.vocab_size} characters: {np.log(tokenizer.vocab_size):.3f})")
prompt = np.array([tokenizer.encode("ROMEO:")])
out = model.generate(prompt, max_new_tokens=120, do_sample=True, temperature=0.8, seed=0)
print(tokenizer.decode(out[0].tolist()))

# %% [markdown]
# ## Exercises
#
# 1. (Graded: 4.1 to 4.4 above.) `python -m minigen grade . --public-only` runs the
#    public checks on your functions.
# 2. Plant a bug on purpose: in `rnn_backward`, replace the `+=` of `dW_hh` by `=`.
#    Which gradients does the gradient check call wrong, and which stay right? Why
#    would a check with T = 1 pass?
# 3. Replace `tanh` by ReLU (`minigen.nn.RNN(..., nonlinearity="relu")` has it; in
#    your functions `h = max(a, 0)` and `da = dh * (h > 0)`). Redo the `|dh_0|` plot.
#    Where does the gradient explode now, and why does the saturation no longer save it?
# 4. Truncated BPTT without carrying the state: write a `minigen.train.Callback`
#    whose `on_step_end(trainer, loss)` sets `trainer.state = None`, so every batch
#    starts from zeros. Compare the validation loss with the carried-state run.
#    Then try `seq_len=16` and `seq_len=256`: what does T change in what the model
#    can learn, and in the speed?
