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
# # Lesson 07: attention and multi-head attention
#
# The recurrent networks of lessons 04 to 06 read a sequence one step at a time and
# squeeze everything they have seen into one state vector. To use a token from 50
# steps ago, the information has to survive 50 updates of that state (and its
# gradient 50 steps of BPTT). **Attention** removes the bottleneck: every position
# looks at every other position directly, and decides by itself how much of each
# one to take.
#
# Think of it as a soft dictionary lookup. Every position emits three vectors:
#
# - a **query** `q_i`: what am I looking for?
# - a **key** `k_j`: what do I contain?
# - a **value** `v_j`: what do I hand over if chosen?
#
# Query i scores every key with a dot product, a softmax turns the scores of a row
# into weights that are positive and sum to 1, and the output is the weighted
# average of the values:
#
#     S   = q k^T / sqrt(d)          (B, T_q, T_k)   scores
#     P   = softmax(S)  over keys    (B, T_q, T_k)   attention weights, each row sums to 1
#     out = P v                      (B, T_q, d_v)
#
# Shapes: B = batch, T_q = query positions, T_k = key (and value) positions
# (both T in self-attention), d = query/key features, d_v = value features. For
# multi-head attention later: C = channels, nh = number of heads, hs = head size =
# C / nh (`nh`, not `H`: H stays the hidden size of lessons 04 to 06).
#
# A dictionary lookup picks one entry; attention blends all of them, and because
# the blend is differentiable, the network *learns* what to look for. The softmax
# in the middle is lesson 02's, forward and backward. In this lesson you write
# attention's forward and backward passes, see why the scores are divided by
# `sqrt(d)`, mask positions out (the causal mask of a decoder, padding masks),
# build multi-head attention from it, train a tiny model and look at what it attends
# to, and meet the key/value cache that makes generation fast.
#
# Run it as a script (`python 07_attention.py`), or open it as a notebook with
# jupytext. `MINIGEN_QUICK=1` (or `--quick`) makes the training part short.

# %%
import os
import sys

import minigen  # first: minigen tunes OpenBLAS's threads, which must happen before NumPy loads
import numpy as np

import minigen.functional as F
from minigen import nn
from minigen.kernels import attention as KA

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)
np.set_printoptions(precision=3, suppress=True)

try:
    import matplotlib.pyplot as plt
except ImportError:                     # the plots are optional: pip install matplotlib
    plt = None

# %% [markdown]
# ## Masks: who may look at whom
#
# Sometimes a query must not see some keys. A **mask** is a boolean array of the
# scores' shape. In this lesson, as in minigen's `scaled_dot_product_attention` and
# PyTorch's `torch.nn.functional.scaled_dot_product_attention`:
#
# > **`mask[i, j]` is True where query i MAY attend to key j.**
#
# A False entry gets the score `-inf`, so `exp(-inf) = 0`: its weight is exactly 0.
# (Careful: `nn.MultiheadAttention`, like `torch.nn.MultiheadAttention`, takes its
# `attn_mask` and `key_padding_mask` the other way round, True = may NOT attend.)
#
# A language model predicts token t+1 from tokens 0..t, and all positions are trained
# at once, in one pass. If position t could look at position t+1, it would just copy
# the answer. The **causal mask** lets query i see keys j <= i only: a lower
# triangle of True.
#
# ## Exercise 7.1: the causal mask
#
# Return the boolean (T, T) causal mask, True on and below the diagonal.


# %%
def causal_mask(T):
    """Boolean (T, T) array: True where query i may attend to key j, i.e. where j <= i."""
    ### BEGIN SOLUTION
    return np.tril(np.ones((T, T), dtype=bool))
    ### END SOLUTION


print(causal_mask(4).astype(int))
print("same as minigen's:", np.array_equal(causal_mask(4), KA.causal_mask(4, 4, np.zeros(1))))

# %% [markdown]
# ## Exercise 7.2: the forward pass
#
# `q (B, T_q, d)`, `k (B, T_k, d)`, `v (B, T_k, d_v)`, and an optional boolean `mask`
# that broadcasts to `(B, T_q, T_k)` (a `(T_q, T_k)` causal mask, or a `(B, 1, T_k)`
# padding mask). Return `out (B, T_q, d_v)`, the `weights` P `(B, T_q, T_k)` and a
# `cache` for the backward pass. Three things to get right:
#
# 1. **Stability.** Subtract each row's maximum score before `np.exp`, as in the
#    softmax of lesson 02: `softmax(s) = softmax(s - max(s))`, and no `exp` ever sees a
#    large positive number. Scores of 1e4 must not overflow.
# 2. **Masking.** Put `-inf` where the mask is False (`np.where(mask, S, -np.inf)`),
#    so that those weights come out as exactly 0.
# 3. **A row with no allowed key at all** (it happens with padding) has no softmax:
#    `0 / 0`. Give it weights 0 and output 0, without NaN and without a warning.
#    Its maximum is `-inf`; use 0 instead, so that `S - max` stays `-inf` (not
#    `-inf - -inf = NaN`), and divide by 1 where a row's sum is 0.
#    (minigen does the same, and so does PyTorch's `scaled_dot_product_attention`
#    since version 2.5; older versions returned NaN for such a row.)
#
# `k.swapaxes(-1, -2)` transposes the last two axes whatever the leading ones are.


# %%
def attention_forward(q, k, v, mask=None):
    """Scaled dot-product attention softmax(q k^T / sqrt(d)) v.

    q (B, T_q, d), k (B, T_k, d), v (B, T_k, d_v); mask: None, or a boolean array that
    broadcasts to (B, T_q, T_k), True where query i may attend to key j.
    Returns ``(out, weights, cache)``: out (B, T_q, d_v), weights (B, T_q, T_k), each row
    summing to 1 (all zeros for a row whose keys are all masked, whose out is then 0).
    """
    d = q.shape[-1]
    scale = 1.0 / np.sqrt(d)
    ### BEGIN SOLUTION
    # 1. scores
    S = (q @ k.swapaxes(-1, -2)) * scale                   # (B, T_q, T_k)
    if mask is not None:
        S = np.where(mask, S, -np.inf)                     # masked: exp(-inf) = 0 exactly
    # 2. stable softmax over the keys
    m = S.max(axis=-1, keepdims=True)                      # (B, T_q, 1)
    m = np.where(m == -np.inf, 0.0, m)                     # a fully masked row keeps exp(-inf - 0) = 0
    e = np.exp(S - m)                                      # (B, T_q, T_k)
    total = e.sum(axis=-1, keepdims=True)                  # (B, T_q, 1), 0 for a fully masked row
    weights = e / np.where(total == 0.0, 1.0, total)       # that row stays all zeros
    # 3. weighted sum of the values
    out = weights @ v                                      # (B, T_q, d_v)
    cache = (q, k, v, weights, scale)
    ### END SOLUTION
    return out, weights, cache


# %% [markdown]
# Compare with minigen's kernel,
# `minigen.kernels.attention.scaled_dot_product_attention_forward`, with and without
# the causal mask. Each row of the weights sums to 1, and with the causal mask the
# upper triangle is exactly 0.

# %%
B, T, d = 2, 5, 4
q, k, v = rng.standard_normal((3, B, T, d))
for mask in (None, causal_mask(T)):
    out, weights, _ = attention_forward(q, k, v, mask)
    (out_ref, weights_ref), _ = KA.scaled_dot_product_attention_forward(q, k, v, attn_mask=mask)
    print(f"mask={'causal' if mask is not None else 'none':6s}  max |out - minigen| = {np.abs(out - out_ref).max():.1e}"
          f"  max |weights - minigen| = {np.abs(weights - weights_ref).max():.1e}")
print("row sums:", weights[0].sum(axis=-1))
print("causal weights of the first example:\n", weights[0])

# %% [markdown]
# ## Padding masks
#
# Sentences in a batch have different lengths, so the short ones are padded to the
# longest. The padding tokens are not real: no query should attend to them. A
# **padding mask** marks the real keys of each row of the batch; shaped `(B, 1, T_k)`,
# it broadcasts over the queries. With a decoder it is combined with the causal mask
# by AND.
#
# When the padding sits on the *left* (some generation code pads that way, so that all
# prompts end at the same position), a padded query under the causal mask sees only
# padded keys: a row with no allowed key at all. That is the row that rule 3 of the
# exercise keeps finite. Its output is garbage by nature, and it is thrown away (the
# loss ignores padded positions), but a NaN there would spread through the matrix
# products of the backward pass into every gradient.

# %%
T = 6
lengths = np.array([6, 4])                                    # two sequences, the second padded with 2 tokens
right_pad = np.arange(T)[None, :] < lengths[:, None]          # (B, T_k): True for real tokens, padding on the right
left_pad = np.arange(T)[None, :] >= (T - lengths)[:, None]    # (B, T_k): padding on the left
q, k, v = rng.standard_normal((3, 2, T, 4))
masks = {
    "causal": causal_mask(T),                                          # (T, T), broadcasts over B
    "padding (right)": right_pad[:, None, :],                          # (B, 1, T_k)
    "causal & padding (left)": causal_mask(T) & left_pad[:, None, :],  # (B, T, T)
}
shown = {}
for name, mask in masks.items():
    out, weights, _ = attention_forward(q, k, v, mask)
    (_, weights_ref), _ = KA.scaled_dot_product_attention_forward(q, k, v, attn_mask=mask)
    shown[name] = weights[1]                                           # the padded sequence
    print(f"{name:24s} agrees with minigen: {np.allclose(weights, weights_ref)}   finite: {np.isfinite(out).all()}")
print("row sums of the left-padded example:", shown["causal & padding (left)"].sum(axis=-1))

if plt is not None:
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
    for ax, (name, w) in zip(axes, shown.items()):
        ax.imshow(w, cmap="viridis", vmin=0, vmax=1)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("key j")
        ax.set_ylabel("query i")
    fig.suptitle("Attention weights of the padded sequence (length 4 of 6)")
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## Exercise 7.3: the backward pass
#
# Given `dout` (the gradient of the loss with respect to `out`), return `dq, dk, dv`.
# Walk the forward pass backwards:
#
# - forward was `out = P v`, a matrix product, so `dP = dout v^T` and `dv = P^T dout`;
# - forward was `P = softmax(S)`, row by row. The softmax's Jacobian is
#   `dP_j/dS_l = P_j (delta_jl - P_l)`, so `dS = P * (dP - sum_j(dP * P))`, the sum
#   taken along each row (keys), kept as a column: lesson 02's `softmax_backward`
#   (Exercise 2.3). Masked entries have `P = 0`, so they get `dS = 0`: nothing flows
#   back through a blocked connection, and a fully masked row sends nothing at all;
# - forward was `S = q k^T * scale`, so `dq = dS k * scale` and `dk = dS^T q * scale`.
#
# Transpose the last two axes only (`swapaxes(-1, -2)`): the batch axis stays where it is.


# %%
def attention_backward(dout, cache):
    """Backward of ``attention_forward``: returns ``(dq, dk, dv)`` with the shapes of q, k and v."""
    ### BEGIN SOLUTION
    q, k, v, P, scale = cache
    # 3. forward was out = P v
    dP = dout @ v.swapaxes(-1, -2)                          # (B, T_q, T_k)
    dv = P.swapaxes(-1, -2) @ dout                          # (B, T_k, d_v)
    # 2. forward was P = softmax(S): dS = P * (dP - sum(dP * P))
    dS = P * (dP - (dP * P).sum(axis=-1, keepdims=True))    # (B, T_q, T_k)
    # 1. forward was S = q k^T * scale
    dq = (dS @ k) * scale                                   # (B, T_q, d)
    dk = (dS.swapaxes(-1, -2) @ q) * scale                  # (B, T_k, d)
    ### END SOLUTION
    return dq, dk, dv


# %% [markdown]
# ## Checking the backward pass
#
# `minigen.gradcheck_kernel` compares your gradients with central differences of your
# forward pass, with a random upstream gradient, in float64. The mask is not an input
# (it gets no gradient), so it is fixed inside the forward. We check three cases:
# no mask, the causal mask, and padding with queries and keys of different lengths
# (T_q = 3 queries attending over T_k = 5 keys, as in a decoder reading an encoder).

# %%
def check_attention(q, k, v, mask):
    def forward(q, k, v):
        out, _, cache = attention_forward(q, k, v, mask)
        return out, cache
    return minigen.gradcheck_kernel(forward, attention_backward, {"q": q, "k": k, "v": v})


B, T, d = 2, 4, 3
q, k, v = rng.standard_normal((3, B, T, d))
print("no mask:     ", check_attention(q, k, v, None))
print("causal:      ", check_attention(q, k, v, causal_mask(T)))
keys_real = np.array([[True, True, True, True, True], [True, True, True, False, False]])[:, None, :]   # (B, 1, 5)
print("T_q != T_k:  ", check_attention(rng.standard_normal((B, 3, d)), rng.standard_normal((B, 5, d)),
                                        rng.standard_normal((B, 5, 2)), keys_real))

# And against minigen's backward kernel:
dout = rng.standard_normal((B, T, d))
_, _, cache = attention_forward(q, k, v, causal_mask(T))
_, cache_ref = KA.scaled_dot_product_attention_forward(q, k, v, attn_mask=causal_mask(T))
for name, mine, ref in zip(["dq", "dk", "dv"], attention_backward(dout, cache),
                           KA.scaled_dot_product_attention_backward((dout, None), cache_ref)):
    print(f"{name}: max abs difference from minigen {np.abs(mine - ref).max():.1e}")

# %% [markdown]
# ## Why divide by sqrt(d)?
#
# Take queries and keys with independent entries of mean 0 and variance 1 (about what
# a layer norm hands to the projections). The score `q . k = sum_c q_c k_c` is a sum
# of d terms of variance 1, so its standard deviation is `sqrt(d)`. With d = 512 that
# is about 23: the scores of one row differ by tens, and a softmax of such numbers is
# almost one-hot, one key taking nearly all the weight.
#
# A saturated softmax is bad for learning. Its backward pass multiplies by
# `P (delta - P)`, which is close to 0 both where P is close to 0 and where it is close
# to 1: the gradient reaching the scores (and so the queries and keys) vanishes, and
# attention cannot learn to look elsewhere. Dividing by `sqrt(d)` brings the scores
# back to variance 1 whatever the width.
#
# Below, for growing d, we measure the largest weight of each row and the size of the
# gradient that reaches the scores, `|dS|`, for a random `dP`, with and without the
# scaling. Passing `q * sqrt(d)` to your `attention_forward` cancels its scaling.

# %%
def score_gradient(P, dP):
    """dS of the softmax backward (the middle step of attention_backward)."""
    return P * (dP - (dP * P).sum(axis=-1, keepdims=True))


dims = [2, 8, 32, 128, 512, 2048]
stats = {"scaled": ([], []), "unscaled": ([], [])}
for dim in dims:
    q = rng.standard_normal((1, 256, dim))                     # 256 queries
    k = rng.standard_normal((1, 16, dim))                      # 16 keys
    v = np.zeros((1, 16, 1))                                   # (the values do not matter here)
    dP = rng.standard_normal((1, 256, 16))
    for name, factor in (("scaled", 1.0), ("unscaled", np.sqrt(dim))):
        _, P, _ = attention_forward(q * factor, k, v)
        stats[name][0].append(P.max(axis=-1).mean())
        stats[name][1].append(np.abs(score_gradient(P, dP)).mean())
print("d          " + "".join(f"{dim:>8d}" for dim in dims))
for name, (top, grad) in stats.items():
    print(f"{name:9s} max weight " + "".join(f"{t:8.3f}" for t in top))
    print(f"{name:9s} mean |dS|  " + "".join(f"{g:8.1e}" for g in grad))

if plt is not None:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4))
    for name, (top, grad) in stats.items():
        ax1.semilogx(dims, top, "o-", base=2, label=name)
        ax2.semilogy(dims, grad, "o-", label=name)
    ax2.set_xscale("log", base=2)
    ax1.set_xlabel("d (query/key features)")
    ax1.set_ylabel("mean of each row's largest weight")
    ax1.set_title("softmax saturates without 1/sqrt(d)")
    ax2.set_xlabel("d (query/key features)")
    ax2.set_ylabel("mean |dS|")
    ax2.set_title("and the gradient to the scores vanishes")
    ax1.legend()
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## Multi-head attention
#
# One attention pattern per layer is limiting: a token may want to look at the
# previous token *and* at the subject of its sentence. **Multi-head attention** runs
# nh attentions side by side, each on its own slice of hs = C / nh channels:
#
#     q, k, v = x W_q^T + b_q, x W_k^T + b_k, x W_v^T + b_v        (B, T, C) each
#     split:   (B, T, C) -> (B, T, nh, hs) -> (B, nh, T, hs)        head h owns channels h*hs .. (h+1)*hs - 1
#     heads  = attention(q_h, k_h, v_h) for every head at once     (B, nh, T, hs)
#     merge:   (B, nh, T, hs) -> (B, T, nh, hs) -> (B, T, C)
#     out    = merged W_o^T + b_o                                   (B, T, C)
#
# Two tricks make it cheap. The three projections are one matrix product with the
# three weight matrices stacked into `W_in (3C, C)` (PyTorch's `in_proj_weight`, W_q,
# W_k, W_v in that order). And the heads are just more batch: reshaped to
# `(B * nh, T, hs)`, they go through the attention you wrote, unchanged. Each head
# costs 1/nh of a full-width attention, so nh heads cost about as much as one.
#
# Here it is in NumPy, with your `attention_forward`, checked against minigen's
# `nn.MultiheadAttention` (whose parameters we borrow, after giving it random biases).

# %%
def multi_head_attention(x, W_in, b_in, W_out, b_out, nh, mask=None):
    """Self-attention of x (B, T, C) with nh heads; returns out (B, T, C) and weights (B, nh, T, T)."""
    B, T, C = x.shape
    hs = C // nh
    qkv = x @ W_in.T + b_in                                    # (B, T, 3C): one matmul for q, k and v
    q, k, v = np.split(qkv, 3, axis=-1)                        # 3 x (B, T, C)

    def split_heads(t):
        t = t.reshape(B, T, nh, hs).transpose(0, 2, 1, 3)      # (B, nh, T, hs)
        return t.reshape(B * nh, T, hs)                        # (B*nh, T, hs): the heads are more batch

    out, weights, _ = attention_forward(split_heads(q), split_heads(k), split_heads(v), mask)
    out = out.reshape(B, nh, T, hs).transpose(0, 2, 1, 3)      # (B, T, nh, hs)
    out = out.reshape(B, T, C)                                 # (B, T, C): heads side by side
    return out @ W_out.T + b_out, weights.reshape(B, nh, T, T)


B, T, C, nh = 2, 5, 8, 2
minigen.manual_seed(0)
mha = nn.MultiheadAttention(C, nh, batch_first=True, dtype="float64")
mha.in_proj_bias.data = rng.standard_normal(3 * C) * 0.1
mha.out_proj.bias.data = rng.standard_normal(C) * 0.1
x = rng.standard_normal((B, T, C))
params = (mha.in_proj_weight.data, mha.in_proj_bias.data, mha.out_proj.weight.data, mha.out_proj.bias.data)
out, weights = multi_head_attention(x, *params, nh, causal_mask(T))
out_ref, weights_ref = mha(minigen.tensor(x), minigen.tensor(x), minigen.tensor(x), is_causal=True,
                           average_attn_weights=False)
print("max |out - nn.MultiheadAttention| =", np.abs(out - out_ref.numpy()).max())
print("max |weights - nn.MultiheadAttention| =", np.abs(weights - weights_ref.numpy()).max())

# %% [markdown]
# ## Looking inside: a model that learns to reverse
#
# Attention weights are a picture of what the model reads. To get a picture worth
# looking at, train a tiny model on a task whose solution we know: **reverse a
# sequence** of 8 random digits. Output position t must produce input token
# `7 - t`, so the ideal attention is the anti-diagonal.
#
# The model is token embedding + position embedding, one `nn.MultiheadAttention`
# with 2 heads, and a linear layer to the 10 digits. No causal mask here: this is
# an encoder-style layer that may read the whole input (position 0 needs the last
# token). Without the position embedding the model could not tell positions apart
# at all: attention by itself treats its input as a set.

# %%
V, T, E, nh = 10, 8, 32, 2


class Reverser(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(V, E)
        self.pos = nn.Embedding(T, E)
        self.attn = nn.MultiheadAttention(E, nh, batch_first=True)
        self.head = nn.Linear(E, V)

    def forward(self, ids):
        x = self.tok(ids) + self.pos(np.arange(ids.shape[1]))                 # (B, T, E)
        a, weights = self.attn(x, x, x, average_attn_weights=False)           # (B, T, E), (B, nh, T, T)
        return self.head(a), weights                                          # logits (B, T, V)


minigen.manual_seed(0)
model = Reverser()
optimizer = minigen.optim.Adam(model.parameters(), lr=1e-2)
data_rng = np.random.default_rng(1)
probe = data_rng.integers(0, V, (1, T))                                       # one sequence to look at
with minigen.no_grad():
    _, weights_before = model(probe)
losses = []
for step in range(60 if QUICK else 300):
    ids = data_rng.integers(0, V, (32, T))
    logits, _ = model(ids)
    loss = F.cross_entropy(logits.reshape(-1, V), ids[:, ::-1].reshape(-1))  # target: the reversed sequence
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
test = data_rng.integers(0, V, (256, T))
with minigen.no_grad():
    logits, _ = model(test)
    probe_logits, weights_after = model(probe)
accuracy = (logits.numpy().argmax(-1) == test[:, ::-1]).mean()
print(f"loss {losses[0]:.3f} -> {losses[-1]:.5f}; accuracy on 256 new sequences: {accuracy:.3f}")
print("input        ", probe[0])
print("model output ", probe_logits.numpy()[0].argmax(-1))

if plt is not None:
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
    panels = [("before training (head 0)", weights_before.numpy()[0, 0])] + \
             [(f"after training, head {h}", weights_after.numpy()[0, h]) for h in range(nh)]
    for ax, (title, w) in zip(axes, panels):
        ax.imshow(w, cmap="viridis", vmin=0, vmax=1)
        ax.set_title(title, fontsize=10)
        ax.set_xticks(range(T), [str(t) for t in probe[0]])
        ax.set_xlabel("key (input token)")
        ax.set_ylabel("query (output position)")
    fig.suptitle("Attention weights of the reversal model on " + " ".join(map(str, probe[0])))
    fig.tight_layout()
    plt.show()

# %% [markdown]
# Before training the weights follow whatever the random projections happen to favour
# (here the two 9s, which share a token embedding, stand out), spread over many keys.
# After training both heads have found the anti-diagonal: query t reads key `7 - t`,
# a pattern that the position embeddings must provide (the digit itself does not
# matter for *where* to look, only for *what* to copy). Each head carries half of
# the channels, and here both learned the same pattern.
#
# ## The key/value cache
#
# A GPT generates text one token at a time: run the model on the prefix, pick the
# next token, append it, run again. With causal attention, the keys and values of
# the earlier positions **never change** when a token is appended: position j's key
# depends on tokens 0..j only. Recomputing them at every step is wasted work.
#
# A **key/value cache** keeps them. Each step then projects only the new position,
# appends its key and value to the cache, and lets its single query attend over the
# whole cache. No mask is needed at that point: everything in the cache is in the past.
# For a sequence of T tokens, the projections fall from `1 + 2 + ... + T = T(T+1)/2`
# positions to T, and the attention scores from about `T^3/6` products to `T^2/2`.
#
# Below, one head of causal self-attention runs twice: once on the whole sequence
# with the causal mask, once one position at a time with a cache, with your function.

# %%
T, C = 6, 4
W_q, W_k, W_v = rng.standard_normal((3, C, C))
x = rng.standard_normal((1, T, C))
full, _, _ = attention_forward(x @ W_q.T, x @ W_k.T, x @ W_v.T, causal_mask(T))   # (1, T, C)

k_cache, v_cache, steps = np.zeros((1, 0, C)), np.zeros((1, 0, C)), []
for t in range(T):
    x_t = x[:, t:t + 1]                                              # (1, 1, C): only the new position
    k_cache = np.concatenate([k_cache, x_t @ W_k.T], axis=1)         # (1, t+1, C)
    v_cache = np.concatenate([v_cache, x_t @ W_v.T], axis=1)
    out_t, _, _ = attention_forward(x_t @ W_q.T, k_cache, v_cache)   # one query over the cache, no mask
    steps.append(out_t)
print("incremental with a cache == full causal attention:", np.allclose(np.concatenate(steps, axis=1), full))
print(f"projections for T = 1000: {1000 * 1001 // 2} positions without a cache, 1000 with one")

# %% [markdown]
# minigen's `nn.MultiheadAttention` takes a `kv_cache=nn.KVCache()` argument that does
# this per layer (with `is_causal=True`, the causal mask is offset by the cached
# length, so a prompt of several tokens can be fed at once). The outputs match a full
# recomputation. Lesson 08 times it inside a GPT.

# %%
x = minigen.tensor(rng.standard_normal((1, T, 8)))
cache = nn.KVCache()
with minigen.no_grad():
    full, _ = mha(x, x, x, is_causal=True)                               # (1, T, 8)
    prompt = x[:, :3]                                                    # the same tensor as q, k and v:
    first, _ = mha(prompt, prompt, prompt, is_causal=True, kv_cache=cache)   # a prompt of 3 tokens at once
    rest = []
    for t in range(3, T):                                                # then one token at a time
        x_t = x[:, t:t + 1]
        rest.append(mha(x_t, x_t, x_t, is_causal=True, kv_cache=cache)[0])
print(cache, "matches:", np.allclose(np.concatenate([first.numpy()] + [r.numpy() for r in rest], axis=1),
                                     full.numpy()))

# %% [markdown]
# ## Exercises
#
# 1. (Graded: 7.1 to 7.3 above.) `python -m minigen grade . --public-only` runs the
#    public checks on your functions. The hidden checks also try other shapes,
#    queries and keys of different lengths, rows with every key masked, and scores
#    around 1e4.
# 2. Plant a bug: in `attention_backward`, drop the `- sum(dP * P)` term of the
#    softmax backward. Which gradients does the gradient check name, and why is `dv`
#    still right?
# 3. Train the reversal model with the position embedding removed. What accuracy can
#    it reach, and what do the heatmaps look like? Then give the attention
#    `is_causal=True`: which output positions can it still get right?
# 4. Rewrite the reversal model's attention with `F.linear`, `split_heads` and
#    `F.scaled_dot_product_attention` (lesson 08 shows how), so that you can pass
#    `scale=1.0` (no scaling) instead of the default `1/sqrt(hs)`. Widen E to 256 and
#    compare the two loss curves.
