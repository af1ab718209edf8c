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
# # Lesson 08: a GPT built from blocks
#
# Lesson 07 built causal multi-head self-attention. A GPT (Radford et al., 2018) is
# little more than a stack of it, with three more ingredients: position
# embeddings, layer normalisation, and a small MLP after every attention:
#
#     ids (B, T)
#       x = wte[ids] + wpe[0..T-1]                 (B, T, C)    token + learned position embeddings
#       n_layer times, a Block:
#           x = x + attn(ln_1(x))                  (B, T, C)    causal multi-head self-attention
#           x = x + mlp(ln_2(x))                   (B, T, C)    Linear(C, 4C) -> GELU -> Linear(4C, C)
#       logits = ln_f(x) wte^T                     (B, T, V)    final layer norm, head tied to wte
#
# Shapes: B = batch, T = time (positions, at most `block_size`), C = channels
# (`n_embd`), nh = heads, hs = C / nh, V = vocabulary size.
#
# Two design choices make deep stacks trainable. The **residual** connections
# `x = x + f(x)` give the gradient a straight path from the loss to the embeddings,
# as the LSTM's cell did in lesson 05: whatever the blocks do, `dx` passes through
# each addition unchanged. And the blocks are **pre-LayerNorm**: each branch normalises
# its *input* (`attn(ln_1(x))`), leaving the residual stream itself untouched (the
# original Transformer normalised after the addition, which needs careful learning-rate
# warm-up to train).
#
# You write the layer norm (forward and backward), then the block, from minigen's
# own submodules; count the parameters; train a tiny character-level GPT on
# Shakespeare; and time generation with and without the key/value cache of lesson 07.
#
# Run it as a script (`python 08_gpt.py`), or open it as a notebook with jupytext.
# `MINIGEN_QUICK=1` (or `--quick`) makes the training part short.

# %%
import os
import sys
import time

import minigen  # first: minigen tunes OpenBLAS's threads, which must happen before NumPy loads
import numpy as np

import minigen.functional as F
from minigen.functional.attention import merge_heads, split_heads
from minigen.kernels.layernorm import layer_norm_backward as minigen_ln_backward
from minigen.kernels.layernorm import layer_norm_forward as minigen_ln_forward
from minigen.models import GPT, GPTConfig
from minigen.models.gpt import Block

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)

try:
    import matplotlib.pyplot as plt
except ImportError:                     # the plots are optional: pip install matplotlib
    plt = None

# %% [markdown]
# ## Layer normalisation
#
# Every block reads the residual stream through a layer norm. It normalises each
# position's C channels to mean 0 and variance 1, then lets the network rescale and
# shift them with learned `gamma` and `beta` (minigen's `nn.LayerNorm` calls them
# `weight` and `bias`):
#
#     mu    = mean_c x_c                      (..., 1)   one mean per position
#     var   = mean_c (x_c - mu)^2             (..., 1)   biased (divide by C), as PyTorch
#     rstd  = 1 / sqrt(var + eps)             (..., 1)
#     xhat  = (x - mu) * rstd                 (..., C)
#     y     = xhat * gamma + beta             (..., C)   gamma, beta of shape (C,)
#
# Unlike batch norm, nothing is shared across the batch or across positions: each
# (b, t) row is normalised on its own, so training and generation compute the same
# thing. Whatever scale the residual stream grows to, every block sees inputs of a
# sane size.
#
# The block drawn above is GPT-2's (Radford et al., 2019): the layer norm comes
# *before* attention and the MLP, inside the residual branch ("pre-LN"), and a final
# `ln_f` follows the last block. The first GPT (2018) normalised *after* each residual
# addition ("post-LN"), as the original Transformer did; pre-LN trains more stably
# in deep stacks.
#
# Compute the variance from the centred values `x - mu` (two passes), not as
# `mean(x^2) - mu^2`: for inputs around 1e6 with a spread of 1, that difference
# subtracts two numbers near 1e12 whose difference is about 1. In float64 (16
# significant digits) it keeps only about 4 correct digits; in float32 (7 digits)
# none, and it can even come out negative. Measured on 1,000 rows of 64:

# %%
for dtype in (np.float64, np.float32):
    x_big = (1e6 + np.random.default_rng(0).standard_normal((1000, 64))).astype(dtype)
    mu_big = x_big.mean(axis=-1, keepdims=True)
    two_pass = ((x_big - mu_big) ** 2).mean(axis=-1)
    one_pass = (x_big * x_big).mean(axis=-1) - mu_big[:, 0] ** 2
    print(f"{dtype.__name__}: median relative error of the one-pass variance "
          f"{np.median(np.abs(one_pass / two_pass - 1)):.1e}, negative in {np.mean(one_pass < 0):.0%} of the rows")

# %% [markdown]
# ## Exercise 8.1: layer norm forward
#
# Normalise over the **last** axis of `x (..., C)`. Return `y` (the shape of `x`) and a
# `cache` holding what your backward pass needs.


# %%
def layer_norm_forward(x, gamma, beta, eps=1e-5):
    """Layer norm over the last axis. x (..., C), gamma and beta (C,). Returns ``(y, cache)``, y shaped like x."""
    ### BEGIN SOLUTION
    mu = x.mean(axis=-1, keepdims=True)                  # (..., 1)
    xc = x - mu                                          # (..., C)
    var = (xc * xc).mean(axis=-1, keepdims=True)         # (..., 1), from the centred values
    rstd = 1.0 / np.sqrt(var + eps)                      # (..., 1)
    xhat = xc * rstd                                     # (..., C)
    y = xhat * gamma + beta                              # (..., C)
    cache = (xhat, rstd, gamma)
    ### END SOLUTION
    return y, cache


# %% [markdown]
# Compare with minigen's kernel `minigen.kernels.layernorm.layer_norm_forward`, which
# takes PyTorch's `normalized_shape` argument:

# %%
B, T, C = 2, 3, 5
x = rng.standard_normal((B, T, C)) * 3 + 1
gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
y, _ = layer_norm_forward(x, gamma, beta)
y_ref, _ = minigen_ln_forward(x, (C,), gamma, beta, 1e-5)
print("max |y - minigen| =", np.abs(y - y_ref).max())
y_plain, _ = layer_norm_forward(x, np.ones(C), np.zeros(C))
print("without gamma and beta, each row has mean", y_plain.mean(-1).round(12)[0], "and variance",
      y_plain.var(-1).round(4)[0])

# %% [markdown]
# ## Exercise 8.2: layer norm backward
#
# Given `dy (..., C)`, return `dx (..., C)`, `dgamma (C,)` and `dbeta (C,)`.
#
# - forward was `y = xhat * gamma + beta`, so `dbeta = sum dy` and
#   `dgamma = sum dy * xhat`, summed over every axis but the last (all the positions
#   share one gamma), and `dxhat = dy * gamma`;
# - forward was `xhat = (x - mu) * rstd`, where `mu` and `rstd` depend on every
#   `x_j` of the row too: `d mu / d x_j = 1/C`, and
#   `d var / d x_j = (2/C) sum_c (x_c - mu) (delta_cj - 1/C) = (2/C) (x_j - mu)`,
#   because the centred values `x_c - mu` (and so `xhat`) **sum to zero** over the
#   row, which removes the `1/C` term. Hence `d rstd / d x_j = -rstd^2 xhat_j / C`.
#   The chain rule has three terms, the direct one, the one through `mu` and the one
#   through `rstd`:
#
#       dx_j = rstd dxhat_j  -  rstd mean_c(dxhat)  -  rstd xhat_j mean_c(dxhat * xhat)
#
#   that is
#
#       dx = rstd * (dxhat - mean_c(dxhat) - xhat * mean_c(dxhat * xhat))
#
#   (the two means taken along the last axis, one per row). Read it as a projection:
#   shifting a row, or scaling it about its mean, leaves `xhat` unchanged (up to eps), so `dx` has no
#   component along the all-ones direction or along `xhat` itself, and those two
#   components of `dxhat` are removed before scaling by `rstd`.


# %%
def layer_norm_backward(dy, cache):
    """Backward of ``layer_norm_forward``: returns ``(dx, dgamma, dbeta)``, dx like x, dgamma and dbeta (C,)."""
    ### BEGIN SOLUTION
    xhat, rstd, gamma = cache
    rows = tuple(range(dy.ndim - 1))                     # every axis but the channels
    # forward was y = xhat * gamma + beta
    dbeta = dy.sum(axis=rows)                            # (C,)
    dgamma = (dy * xhat).sum(axis=rows)                  # (C,)
    dxhat = dy * gamma                                   # (..., C)
    # forward was xhat = (x - mu) * rstd, with mu and rstd functions of the whole row
    dx = rstd * (dxhat - dxhat.mean(axis=-1, keepdims=True)
                 - xhat * (dxhat * xhat).mean(axis=-1, keepdims=True))   # (..., C)
    ### END SOLUTION
    return dx, dgamma, dbeta


# %%
print("gradient check passed:", minigen.gradcheck_kernel(layer_norm_forward, layer_norm_backward,
                                                         {"x": x, "gamma": gamma, "beta": beta}))
dy = rng.standard_normal(x.shape)
mine = layer_norm_backward(dy, layer_norm_forward(x, gamma, beta)[1])
ref = minigen_ln_backward(dy, minigen_ln_forward(x, (C,), gamma, beta, 1e-5)[1])
for name, a, r in zip(["dx", "dgamma", "dbeta"], mine, ref):
    print(f"{name:7s} max abs difference from minigen {np.abs(a - r).max():.1e}")

# %% [markdown]
# ## The other parts of a block
#
# **Embeddings.** A token embedding `wte (V, C)` gives each token a vector; attention
# without a mask is blind to order (permute the positions, and its outputs are permuted
# the same way: it treats its input as a set). The causal mask breaks that symmetry,
# since position t attends to t + 1 tokens, and causal models without any position
# embedding do learn something of position from it; but a learned **position
# embedding** `wpe (block_size, C)` is added: row t says "I am at position t". A GPT
# cannot read more than `block_size` positions, because there is no row for position
# `block_size`.
#
# **Causal self-attention** is lesson 07's multi-head attention with `query = key =
# value = ln_1(x)` and the causal mask. In minigen it is an `nn.MultiheadAttention`
# with `batch_first=True`, called with `is_causal=True`.
#
# **The MLP** works on each position separately: `Linear(C, 4C)`, a GELU, `Linear(4C, C)`.
# Attention moves information *between* positions; the MLP computes on what has
# arrived. GELU, `x * Phi(x)` with `Phi` the standard normal CDF, is a smooth ReLU;
# GPT-2 uses the approximation `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
#
# Here is a small minigen GPT. Its parameter names follow GPT-2's (`h.0.ln_1`,
# `h.0.attn`, `h.0.mlp.c_fc`, ...), so that `minigen.pretrained.load_gpt2` can load OpenAI's weights.

# %%
tiny = GPT(GPTConfig(vocab_size=65, block_size=32, n_layer=1, n_head=2, n_embd=16))
print(tiny)

# %% [markdown]
# ## Exercise 8.3: the block
#
# `block` is one of a GPT's `minigen.models.gpt.Block`s (`tiny.h[0]` above), and `x` a
# minigen Tensor `(B, T, C)`. Compute the pre-LayerNorm residual block from the
# block's submodules, with minigen's autograd doing the backward pass:
#
#     a = ln_1(x)
#     x = x + drop(attn(a, a, a, is_causal=True))     the attention module returns (out, weights);
#                                                    pass need_weights=False when you do not need them
#     x = x + mlp(ln_2(x))
#
# `block.drop` is the residual dropout of the attention branch (the identity with
# `dropout=0`; the MLP has its own inside). Do not call `block(x)` itself: the point is
# to assemble it. The check compares your output, and the gradients that reach `x` and
# every parameter of the block, with the block's own forward.


# %%
def block_forward(x, block):
    """The pre-LN GPT block: x + drop(attn(ln_1(x))) (causal), then + mlp(ln_2(x)). x: Tensor (B, T, C) -> (B, T, C)."""
    ### BEGIN SOLUTION
    a = block.ln_1(x)                                                            # (B, T, C)
    attn, _ = block.attn(a, a, a, need_weights=False, is_causal=True)            # (B, T, C)
    x = x + block.drop(attn)                                                     # residual 1
    x = x + block.mlp(block.ln_2(x))                                             # residual 2
    ### END SOLUTION
    return x


# %% [markdown]
# Check it against `Block.forward`, in float64, with random values in every parameter
# (a fresh LayerNorm's gamma = 1 and beta = 0 would hide mistakes). The gradients are
# compared after a backward pass of `(out * dout).sum()` with a random `dout`.

# %%
def randomize(module, scale=0.3):
    for p in module.parameters():
        p.data = rng.standard_normal(p.shape) * scale


config = GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=8)
block = Block(config, dtype="float64")
randomize(block)
x_data, dout = rng.standard_normal((2, 5, 8)), rng.standard_normal((2, 5, 8))


def gradients(fn):
    block.zero_grad()
    x = minigen.tensor(x_data, requires_grad=True)
    out = fn(x)
    (out * minigen.tensor(dout)).sum().backward()
    return out.numpy(), {"x": x.grad, **{name: p.grad for name, p in block.named_parameters()}}


out, grads = gradients(lambda x: block_forward(x, block))
out_ref, grads_ref = gradients(block)
print("max |out - Block.forward| =", np.abs(out - out_ref).max())
for name in grads_ref:
    print(f"  d{name:22s} max abs difference {np.abs(grads[name] - grads_ref[name]).max():.1e}")

# %% [markdown]
# Inside `block.attn` is exactly lesson 07's computation. Written with minigen's
# functions (each a differentiable op wrapping a kernel), the attention branch is:

# %%
a = block.ln_1(minigen.tensor(x_data))
attn = block.attn
qkv = F.linear(a, attn.in_proj_weight, attn.in_proj_bias)              # (B, T, 3C): one matmul for q, k, v
q, k, v = (split_heads(t, attn.num_heads) for t in qkv.split(attn.embed_dim, axis=-1))  # 3 x (B, nh, T, hs)
y, _ = F.scaled_dot_product_attention(q, k, v, is_causal=True)          # (B, nh, T, hs)
y = F.linear(merge_heads(y), attn.out_proj.weight, attn.out_proj.bias)  # (B, T, C)
print("by hand == nn.MultiheadAttention:",
      np.allclose(y.numpy(), attn(a, a, a, is_causal=True, need_weights=False)[0].numpy()))

# %% [markdown]
# ## Counting parameters
#
# With C channels, one block holds
#
#     ln_1, ln_2               2 x (C + C)                  gamma and beta
#     attn  in_proj            3C x C + 3C                  W_q, W_k, W_v stacked, and their biases
#           out_proj           C x C + C
#     mlp   c_fc               4C x C + 4C
#           c_proj             C x 4C + C
#                              ------------
#                              12 C^2 + 13 C
#
# and the model adds `wte (V x C)`, `wpe (block_size x C)` and `ln_f (2C)`. The head
# `lm_head (V x C)` adds nothing: it is **tied** to `wte`, the same Parameter used
# twice (once to look a token's vector up, once to score every token against the
# final hidden state). For a character model V is small, but for GPT-2's 50257 tokens
# an untied head would add another 38.6M parameters to the 124M.

# %%
def gpt_parameter_count(V, block_size, n_layer, C):
    """Parameters of a GPT with biases and a tied head, from the table above."""
    return V * C + block_size * C + n_layer * (12 * C * C + 13 * C) + 2 * C


cfg = tiny.gpt_config
print("formula:", gpt_parameter_count(cfg.vocab_size, cfg.block_size, cfg.n_layer, cfg.n_embd),
      "  minigen:", tiny.num_parameters(), "  lm_head is wte:", tiny.lm_head.weight is tiny.wte.weight)
print(f"GPT-2 small (V=50257, block_size=1024, 12 layers, C=768): {gpt_parameter_count(50257, 1024, 12, 768):,}")
print(f"of which per block: {12 * 768 ** 2 + 13 * 768:,}; the token embedding: {50257 * 768:,}")

# %% [markdown]
# ## Training a character-level GPT
#
# The same `Trainer` that trained the LSTM in lesson 05 trains a GPT: a GPT has no
# hidden state to carry, so the trainer feeds it windows of `seq_len = block_size`
# characters at random offsets, and every position of every window is a training
# example (predict the next character from the ones before; the causal mask makes that
# honest). A callback records the loss of every step.
#
# In quick mode the model is tiny and trains for 80 steps: expect a loss
# curve going down, and text that has learned the common letters, the spaces and some
# line breaks, but few real words. Without quick mode it trains a bigger model for
# longer (a few minutes), and short words and speaker names appear.

# %%
from minigen.data import CharTokenizer, shakespeare, train_val_split  # noqa: E402
from minigen.train import Callback, Trainer  # noqa: E402

text = shakespeare()[: 100_000 if QUICK else 1_000_000]
tokenizer = CharTokenizer.train(text)
train_ids, val_ids = train_val_split(tokenizer.encode(text), 0.05)
if QUICK:
    config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=64, n_layer=2, n_head=2, n_embd=32)
    steps, batch_size, lr = 80, 16, 1e-2
else:
    config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=64, n_layer=4, n_head=4, n_embd=64)
    steps, batch_size, lr = 600, 16, 3e-3


class StepLosses(Callback):
    def __init__(self):
        self.losses = []

    def on_step_end(self, trainer, loss):
        self.losses.append(loss)


minigen.manual_seed(0)
model = GPT(config)
print(f"{model.num_parameters():,} parameters")
recorder = StepLosses()
optimizer = minigen.optim.Adam(model.parameters(), lr=lr)
trainer = Trainer(model, optimizer, train_ids, val_ids, tokenizer=tokenizer, batch_size=batch_size,
                  seq_len=config.block_size, max_steps=steps, warmup_steps=10, eval_interval=steps if QUICK else 200,
                  eval_tokens=4096, callbacks=[recorder], progress=not QUICK, seed=0)
trainer.fit()
print("validation loss:", round(trainer.history[-1]["val_loss"], 3), "nats per character")

if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(np.arange(1, len(recorder.losses) + 1), recorder.losses, lw=1, label="training batch")
    ax.plot([h["step"] for h in trainer.history], [h["val_loss"] for h in trainer.history], "o-",
            label="validation")
    ax.axhline(np.log(tokenizer.vocab_size), ls=":", c="gray", label="uniform guess, log V")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats per char)")
    ax.set_title("Training a character-level GPT")
    ax.legend()
    fig.tight_layout()
    plt.show()

# %% [markdown]
# The curve starts at about `log V`, the loss of a uniform guess: GPT-2's
# initialisation (small normal weights) makes every token nearly equally likely at
# first. Now sample from it with `model.generate`:

# %%
prompt = np.array([tokenizer.encode("ROMEO:\n")])
out = model.generate(prompt, max_new_tokens=100 if QUICK else 300, do_sample=True, temperature=0.8, seed=0)
print(tokenizer.decode(out[0].tolist()))

# %% [markdown]
# What do the first layer's heads look at? The causal mask shows as the empty upper
# triangle. Inside it, after the full run (without quick mode), some heads keep their
# weight near the diagonal, on the last few characters, and others light up columns:
# many queries look back to the same landmark, such as the colon after the speaker's
# name, the line break, or the first letter of the line. After the few steps of quick
# mode these patterns are only starting to form.

# %%
sentence = "ROMEO:\nBut soft, what light"
ids = np.array([tokenizer.encode(sentence)])
with minigen.no_grad():
    x = model.wte(ids) + model.wpe(np.arange(ids.shape[1]))                     # (1, T, C)
    a = model.h[0].ln_1(x)
    _, weights = model.h[0].attn(a, a, a, is_causal=True, average_attn_weights=False)   # (1, nh, T, T)
if plt is not None:
    fig, axes = plt.subplots(1, config.n_head, figsize=(4.2 * config.n_head, 4))
    labels = [repr(c)[1:-1] for c in sentence]
    for h, ax in enumerate(np.atleast_1d(axes)):
        ax.imshow(weights.numpy()[0, h], cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(len(labels)), labels, fontsize=7)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.set_title(f"layer 0, head {h}")
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## Generation with and without the key/value cache
#
# `model.generate` calls `model.generation_step(ids, state)`: the first call reads the
# prompt and fills one key/value buffer per layer; every later call feeds only the new
# token, which attends over the cached keys and values (lesson 07). Calling
# `generation_step(all_ids, None)` instead, with a fresh state at every step, runs the
# whole prefix again: same logits, without the cache. Both loops below decode greedily
# up to `block_size` tokens (past `block_size` the window slides, and minigen re-reads
# the last `block_size` tokens whatever you do).

# %%
def greedy(model, prompt, n, use_cache):
    ids = prompt
    with minigen.no_grad():
        logits, state = model.generation_step(ids, None)                     # read the prompt
        for _ in range(n):
            next_id = logits.numpy()[:, -1].argmax(-1)[:, None]              # (B, 1)
            ids = np.concatenate([ids, next_id], axis=1)
            if use_cache:
                logits, state = model.generation_step(next_id, state)        # one new position
            else:
                logits, _ = model.generation_step(ids, None)                 # the whole prefix again
    return ids


n_new = config.block_size - prompt.shape[1]
timings = {}
for use_cache in (False, True):
    start = time.perf_counter()
    result = greedy(model, prompt, n_new, use_cache)
    timings[use_cache] = time.perf_counter() - start
    print(f"{'with' if use_cache else 'without':7s} the cache: {n_new} tokens in {timings[use_cache]:.3f} s")
print(f"speed-up {timings[False] / timings[True]:.1f}x; same text as model.generate:",
      np.array_equal(result, model.generate(prompt, max_new_tokens=n_new)))

# %% [markdown]
# The gain grows with the length of the text and the width of the model: without the
# cache, token t costs a forward pass over t positions, so n tokens cost about `n^2/2`
# positions; with it, n. For a tiny model the per-call Python overhead, which is the
# same for 1 and 64 positions, hides part of the difference.
#
# ## Exercises
#
# 1. (Graded: 8.1 to 8.3 above.) `python -m minigen grade . --public-only` runs the
#    public checks on your functions.
# 2. Turn the block into a post-LN block, `x = ln_1(x + attn(x))`, as in the original
#    Transformer, train the same GPT with it (subclass `Block` and replace
#    `model.h`), and compare the loss curves, with and without warm-up.
# 3. Untie the head (`GPTConfig(tie_weights=False)`). How many parameters does that
#    add here, and how many for GPT-2 small? Does the tiny model train better or worse?
# 4. Time the two generation loops for a model with `block_size=256` (untrained is
#    fine) and plot the time per token against the position. What shape does each
#    curve have, and why?
