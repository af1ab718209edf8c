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
# # Lesson 14: text GANs
#
# A language model trained by maximum likelihood (MLE) learns from **teacher forcing**:
# at every position it is shown the true prefix and asked for the next token. When it
# writes on its own it reads its *own* prefixes, which it never trained on, and small
# mistakes compound. Lesson 11 called this **exposure bias**. A generative adversarial
# network (GAN; Goodfellow et al., 2014) trains differently. A second network, the
# **discriminator** D, learns to tell real sequences from generated ones, and the
# **generator** G learns to write sequences that D takes for real, from its own
# samples, with no teacher forcing at all.
#
# For images this works by backpropagation: D's score of a generated image is a
# differentiable function of the pixels, and the pixels of G's weights. For text it
# does not. G's output is a **discrete** draw, token ids, and a draw has no gradient.
# Text GANs differ in how they get past the draw. This lesson builds the two classic
# answers and then tests whether they beat MLE:
#
# - the **score function** (REINFORCE, lesson 15): D's verdict is a reward, and the
#   generator is a policy; SeqGAN (Yu et al., 2017) adds Monte-Carlo **rollouts** to
#   score every prefix, not just the finished sequence;
# - the **Gumbel-softmax relaxation** (Jang et al., 2017; Maddison et al., 2017): replace
#   the draw by a smooth point of the simplex that tends to the draw, and backpropagate
#   through it (RelGAN, Nie et al., 2019).
#
# On the way you write the discriminator's parts: a 1-D convolution over the token
# embeddings and max-over-time pooling (the text-CNN of Kim, 2014, which SeqGAN uses).
#
# Shapes: B = batch, T = time, V = vocabulary (classes), C = input channels,
# O = output channels, K = kernel width, N = rollouts.
#
# Run it as a script (`python 14_text_gans.py`), or open it as a notebook with jupytext.
# `MINIGEN_QUICK=1` (or `--quick`) makes the training short.

# %%
import copy
import os
import sys

import minigen  # first: minigen tunes OpenBLAS's threads, which must happen before NumPy loads
import numpy as np

import minigen.functional as F
from minigen import rl
from minigen.gan import GumbelGAN, SeqGAN, mle_pretrain
from minigen.metrics import nll_oracle, nll_test
from minigen.models import RNNLanguageModel, TextCNNDiscriminator, build_model, oracle_lm, oracle_samples
from minigen.sample import generate

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)
np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. Where the gradient stops
#
# Take one position of a generator: logits `z` (V,), a token drawn from `softmax(z)`, and
# a discriminator that scores the one-hot of that token. Here D is a fixed function,
# `D(y) = (c . y)^2` for a vector `c`, so that everything can be computed exactly.
# Nudge a logit by a little, draw again *with the same randomness*, and the same token
# comes out: the score does not move. Its derivative is 0 almost everywhere, and
# undefined at the jumps. Backpropagation has nothing to carry.

# %%
V = 5
z = rng.standard_normal(V)
c = rng.standard_normal(V)
u = rng.random()                                      # the randomness of one draw, held fixed


def draw(logits, u):
    """The token of the inverse-CDF draw with uniform u: the first k with u < P(token <= k)."""
    p = np.exp(logits - logits.max())
    return int(np.searchsorted(np.cumsum(p / p.sum()), u))


def D_of_draw(logits):
    return c[draw(logits, u)] ** 2                     # (c . onehot(k))^2


eps = 1e-6
fd = [(D_of_draw(z + eps * np.eye(V)[i]) - D_of_draw(z - eps * np.eye(V)[i])) / (2 * eps) for i in range(V)]
print("d D(draw) / d logits, by central differences:", np.array(fd))
p = np.exp(z) / np.exp(z).sum()
print("but the expected score E[D] = sum_k p_k c_k^2 does depend on the logits:", np.sum(p * c ** 2))

# %% [markdown]
# What we want is the gradient of the **expected** score, `E_{k ~ softmax(z)}[D(onehot(k))]`,
# which is smooth in `z`. Here it is exact (lesson 03's softmax Jacobian):
#
#     d/dz sum_k p_k f_k = p * (f - sum_k p_k f_k),      f_k = D(onehot(k)) = c_k^2
#
# Both answers estimate this gradient from samples. REINFORCE uses `f_k (onehot(k) - p)`,
# the score-function estimator of lesson 15: unbiased, but it uses D only as a number,
# never its gradient. The relaxation uses D's gradient, at the price of a bias.
#
# ## 2. The Gumbel-max trick and its relaxation
#
# Add independent **Gumbel(0, 1)** noise to the logits, `g_k = -log(-log U_k)` with
# `U_k ~ Uniform(0, 1)`, and take the argmax:
#
#     argmax_k (z_k + g_k)  ~  softmax(z)
#
# (The maximum of Gumbels shifted by `z_k` is again a Gumbel, shifted by
# `logsumexp(z)`, and the chance that the k-th wins is `exp(z_k) / sum_j exp(z_j)`.)
# The draw is now a deterministic function of `z` and noise `g` that does not depend on
# `z`: the randomness has moved out of the way, as in the VAE's reparameterisation
# (lesson 13). Only the argmax is left without a gradient. Replace it by a softmax at a
# temperature `tau`:
#
#     y_soft = softmax((z + g) / tau)                  a point of the simplex
#
# As `tau -> 0`, `y_soft` tends to the one-hot of the argmax, the sample itself; at large
# `tau` it tends to the uniform point. `y_soft` is differentiable in `z`, so
# `D(y_soft)` is too, and D reads it as a mixture of one-hots: an embedding layer
# computes `y_soft @ W_emb`, the weighted mean of the embeddings.
#
# The **straight-through** variant (`hard=True`) returns the one-hot itself in the
# forward pass, so that D sees real tokens, and in the backward pass pretends it was
# `y_soft`: the gradient of the soft version.
#
# ## Exercise 14.1: the Gumbel-softmax forward
#
# Along the last axis, with the noise given (so that it can be checked):
# `y = softmax((logits + gumbels) / tau)`, or with `hard=True` the one-hot (0.0 and 1.0)
# of its argmax. Subtract the maximum before `exp`: at `tau = 0.01` the scaled logits are
# in the hundreds.


# %%
def gumbel_softmax(logits, gumbels, tau=1.0, hard=False):
    """softmax((logits + gumbels) / tau) along the last axis; with hard=True, the one-hot of its argmax.

    logits, gumbels: arrays of one shape (..., V); tau > 0. Returns an array of that shape.
    """
    ### BEGIN SOLUTION
    scaled = (logits + gumbels) / tau
    scaled = scaled - scaled.max(axis=-1, keepdims=True)            # exp of at most 0: no overflow
    y = np.exp(scaled)
    y = y / y.sum(axis=-1, keepdims=True)
    if hard:
        y = np.eye(y.shape[-1])[y.argmax(axis=-1)]                  # the one-hot of the winner
    return y
    ### END SOLUTION


def gumbel_noise(shape, generator):
    """Gumbel(0, 1) noise: -log(-log U), U ~ Uniform(0, 1) (open at 0, so no log of 0)."""
    return -np.log(-np.log(generator.uniform(np.finfo(float).tiny, 1.0, shape)))


g = gumbel_noise(V, rng)
print("yours, soft, tau = 1:", gumbel_softmax(z, g, 1.0))
print("minigen            :", F.gumbel_softmax(minigen.tensor(z), tau=1.0, gumbels=g).numpy())
print("yours, hard        :", gumbel_softmax(z, g, 1.0, hard=True))
for tau in (5.0, 1.0, 0.1):
    print(f"tau = {tau:3}: y_soft = {gumbel_softmax(z, g, tau)}")

# %% [markdown]
# The trick, tested: the frequencies of the hard samples against `softmax(z)`, with
# Pearson's chi-square statistic. With V - 1 = 4 degrees of freedom, values above about
# 18 would happen by chance once in a thousand times.

# %%
n = 20_000
hard = gumbel_softmax(np.broadcast_to(z, (n, V)), gumbel_noise((n, V), rng), 1.0, hard=True)   # (n, V)
counts = hard.sum(axis=0)
chi2 = np.sum((counts - n * p) ** 2 / (n * p))
print("frequencies of the hard samples:", counts / n)
print("softmax(z)                     :", p)
print(f"chi-square = {chi2:.2f} on {V - 1} degrees of freedom")

# %% [markdown]
# ## Exercise 14.2: its backward
#
# The soft forward is a softmax of `(z + g) / tau`, so the backward is the softmax's
# (lesson 02), divided by `tau` by the chain rule:
#
#     dz = y_soft * (dy - sum_k dy_k y_soft_k) / tau
#
# along the last axis. The straight-through version uses the same backward with
# `y_soft`, whatever the forward returned. Note the `1 / tau`: at small temperatures the
# gradients grow large, which is one half of the relaxation's trade-off.


# %%
def gumbel_softmax_backward(dy, y_soft, tau):
    """dlogits for y = gumbel_softmax(logits, gumbels, tau) (soft or straight-through), given y_soft and dy (..., V)."""
    ### BEGIN SOLUTION
    return y_soft * (dy - np.sum(dy * y_soft, axis=-1, keepdims=True)) / tau
    ### END SOLUTION


logits_b = rng.standard_normal((3, V))
g_b = gumbel_noise((3, V), rng)
print("the backward against central differences:", minigen.gradcheck_kernel(
    lambda lg: (gumbel_softmax(lg, g_b, 0.5), gumbel_softmax(lg, g_b, 0.5)),
    lambda dy, y_soft: gumbel_softmax_backward(dy, y_soft, 0.5), {"logits": logits_b}))

# %% [markdown]
# ### Bias and variance, measured
#
# Back to `E[D] = E[(c . y)^2]`. Three estimators of its gradient, each from one sample:
#
# - REINFORCE: `f_k (onehot(k) - p)`;
# - soft Gumbel: the gradient of `D(y_soft)`, `dy = 2 (c . y_soft) c` through your backward;
# - straight-through: `dy = 2 (c . y_hard) c`, D's gradient *at the real token*, through
#   the same backward with `y_soft`;
#
# each averaged over many draws and compared with the exact gradient. The bias is the
# distance of the mean from the exact gradient, relative to its size; the variance is
# the total over the V components, for one sample.

# %%
draws = 50_000 if QUICK else 200_000
f = c ** 2
exact = p * (f - np.sum(p * f))
G = gumbel_noise((draws, V), rng)
zs = np.broadcast_to(z, (draws, V))
k = (zs + G).argmax(axis=1)                                            # the Gumbel-max draws
reinforce = f[k][:, None] * (np.eye(V)[k] - p)                          # (draws, V)


def bias_and_variance(estimates):
    return np.linalg.norm(estimates.mean(axis=0) - exact) / np.linalg.norm(exact), estimates.var(axis=0).sum()


rows = [("REINFORCE", None, *bias_and_variance(reinforce))]
for tau in (2.0, 1.0, 0.5, 0.1):
    y_soft = gumbel_softmax(zs, G, tau)
    y_hard = gumbel_softmax(zs, G, tau, hard=True)
    soft = gumbel_softmax_backward(2 * (y_soft @ c)[:, None] * c, y_soft, tau)
    straight = gumbel_softmax_backward(2 * (y_hard @ c)[:, None] * c, y_soft, tau)
    rows += [("soft Gumbel", tau, *bias_and_variance(soft)), ("straight-through", tau, *bias_and_variance(straight))]
print(f"{'estimator':>17s} {'tau':>5s} {'relative bias':>14s} {'variance':>10s}")
for name, tau, bias, var in rows:
    print(f"{name:>17s} {'' if tau is None else tau:>5} {bias:14.3f} {var:10.3f}")

# %% [markdown]
# REINFORCE's mean is the exact gradient, up to the sampling error of the mean. Both
# relaxations are biased: the soft one differentiates D at points that are not tokens,
# and the straight-through one uses the backward of a forward it did not run. Their bias
# falls as `tau` does, and their variance grows (the backward divides by `tau`): at the
# smallest `tau` here both are noisier than REINFORCE. This trade-off is why RelGAN
# **anneals** the inverse temperature `beta = 1 / tau` from 1 up to `beta_max` (100 or
# 1000) during training (`GumbelGAN(schedule="exp")`).
#
# ## 3. The discriminator: a CNN over embeddings
#
# SeqGAN's discriminator, and ours (`minigen.models.TextCNNDiscriminator`), is Kim's
# text-CNN. Embed the tokens, `(B, T) -> (B, T, E)`, and read the embeddings as E
# **channels** along the time axis, `(B, E, T)`. Slide filters of several widths K over
# time, each a detector of a K-gram. Keep each filter's strongest response anywhere in the
# sequence (max over time), pass the features through a highway layer, and classify:
#
#     h_K = relu(conv1d_K(emb))                   (B, O_K, T - K + 1)  for K in (2, 3, 4, 5)
#     features = [max_t h_K]                       (B, sum_K O_K)
#     logits = Linear(Highway(features))           (B, 2): generated, real
#
# A 1-D convolution (really a cross-correlation, as in every deep-learning library: the
# kernel is not flipped) with weights `W` (O, C, K) and bias `b` (O,):
#
#     y[b, o, t] = b[o] + sum_c sum_k W[o, c, k] x[b, c, t + k]          t = 0 .. T - K
#
# For each tap k this is one matrix product: `W[:, :, k]` (O, C) times the window of
# `x` shifted by k, `x[:, :, k : k + T_out]` (B, C, T_out).
#
# ## Exercise 14.3: the convolution's forward
#
# No padding, stride 1. Return `y` (B, O, T - K + 1) and a cache for the backward.


# %%
def conv1d_forward(x, W, b):
    """y[b, o, t] = b[o] + sum_{c, k} W[o, c, k] x[b, c, t + k]: x (B, C, T), W (O, C, K), b (O,) -> (y, cache)."""
    ### BEGIN SOLUTION
    K = W.shape[2]
    T_out = x.shape[2] - K + 1
    y = np.zeros((x.shape[0], W.shape[0], T_out)) + b[:, None]          # (B, O, T_out), the bias first
    for k in range(K):
        y += W[:, :, k] @ x[:, :, k:k + T_out]                          # (O, C) @ (B, C, T_out): tap k
    return y, (x, W, b)
    ### END SOLUTION


x_c = rng.standard_normal((2, 3, 7))
W_c, b_c = rng.standard_normal((4, 3, 3)), rng.standard_normal(4)
y_c, _ = conv1d_forward(x_c, W_c, b_c)
print("yours - minigen's F.conv1d, largest difference:",
      np.abs(y_c - F.conv1d(minigen.tensor(x_c), minigen.tensor(W_c), minigen.tensor(b_c)).numpy()).max())

# %% [markdown]
# ## Exercise 14.4: the convolution's backward
#
# The forward is a sum over taps of `y += W_k @ x_k`, with `W_k = W[:, :, k]` and
# `x_k = x[:, :, k : k + T_out]`, so each tap contributes, as a matrix product does:
#
#     dx_k = W_k^T @ dy          added into the window of x that tap k read
#     dW_k = sum over b and t of dy[b, :, t] x_k[b, :, t]^T           (O, C)
#     db   = sum over b and t of dy[b, :, t]
#
# The windows of different taps overlap, so their `dx` must be **added**, not assigned.


# %%
def conv1d_backward(dy, cache):
    """Gradients of conv1d_forward: dy (B, O, T_out) -> (dx (B, C, T), dW (O, C, K), db (O,))."""
    ### BEGIN SOLUTION
    x, W, b = cache
    K, T_out = W.shape[2], dy.shape[2]
    dx, dW = np.zeros_like(x), np.zeros_like(W)
    for k in range(K):
        dx[:, :, k:k + T_out] += W[:, :, k].T @ dy                      # (C, O) @ (B, O, T_out)
        dW[:, :, k] = np.einsum("bot,bct->oc", dy, x[:, :, k:k + T_out])
    db = dy.sum(axis=(0, 2))
    return dx, dW, db
    ### END SOLUTION


print("the backward against central differences:", minigen.gradcheck_kernel(
    conv1d_forward, conv1d_backward, {"x": x_c, "W": W_c, "b": b_c}))

# %% [markdown]
# ## Exercise 14.5: max-over-time's backward
#
#     y[b, c] = max_t x[b, c, t]
#
# Only the winning position moves the output, so the gradient goes there and nowhere
# else: `dx[b, c, t] = dy[b, c]` where `t` is the argmax, 0 elsewhere. At a tie the
# maximum is not differentiable; minigen (like `np.argmax`) gives the gradient to the
# **first** winner. Sending it to every tied position would count it twice.


# %%
def max_over_time_backward(dy, x):
    """dx for y = x.max(axis=2): dy (B, C) goes to the first argmax over time of each x[b, c]; x (B, C, T)."""
    ### BEGIN SOLUTION
    dx = np.zeros_like(x)
    winner = x.argmax(axis=2)[:, :, None]                               # (B, C, 1): the first t with the max
    np.put_along_axis(dx, winner, dy[:, :, None], axis=2)
    return dx
    ### END SOLUTION


x_m = rng.standard_normal((2, 4, 6))
print("the backward against central differences:", minigen.gradcheck_kernel(
    lambda x: (x.max(axis=2), x), max_over_time_backward, {"x": x_m}))
tie = np.array([[[1.0, 3.0, 3.0, 2.0]]])
print("at a tie, x =", tie[0, 0], "-> dx =", max_over_time_backward(np.ones((1, 1)), tie)[0, 0])

# %% [markdown]
# minigen's discriminator puts these together (`nn.Conv1d`, `nn.MaxOverTime` inside
# `F.max_over_time`, `nn.Highway`). It reads token ids or soft one-hots: for a one-hot
# row, `onehot @ W_emb` is the embedding lookup, so both give the same scores, and for a
# Gumbel-softmax point it is the mixture of embeddings that the relaxation needs.

# %%
D_demo = TextCNNDiscriminator(vocab_size=12, embed_dim=8, filter_sizes=(2, 3), num_filters=(4, 4)).eval()
print(D_demo)
ids_demo = rng.integers(0, 12, (3, 6))
print("P(real) from ids      :", D_demo.real_probability(ids_demo).numpy())
print("P(real) from one-hots :", D_demo.real_probability(np.eye(12, dtype=np.float32)[ids_demo]).numpy())

# %% [markdown]
# ## 4. SeqGAN: a reward for every prefix
#
# SeqGAN treats the generator as a policy (lesson 15) and D's probability that a
# finished sequence is real as its reward. D only scores **whole** sequences, though,
# and a reward at the end says nothing about which token earned it. SeqGAN's answer is
# the action value of each token: the expected final reward once the prefix up to and
# including that token is fixed,
#
#     Q(y_1 .. y_t) = E[ D(Y) | Y starts with y_1 .. y_t ]
#
# estimated by **Monte-Carlo rollouts**: complete the prefix N times by sampling from a
# rollout policy (a slowly updated copy of the generator), score each completion with D,
# and average. At the last position the sequence is already complete: `Q = D(y)`.
#
#     Q[b, t] = 1/N sum_n D(complete_n(y_b,1..t))       for t < T - 1   (0-based: the prefix y_b[:t + 1])
#     Q[b, T - 1] = D(y_b)
#
# `Q[b, t]` then replaces the single reward in the per-token REINFORCE loss:
# `-1/B sum_b sum_t Q[b, t] log p(y_bt | y_b,<t)`.
#
# ## Exercise 14.6: rollout rewards
#
# `complete(prefixes)` takes an int array (M, L) and returns (M, T): each prefix followed
# by a fresh random completion. `score(sequences)` takes (M, T) and returns (M,) numbers.
# Both work on batches: call each once per prefix length with all B x N rows (repeat
# each row N times, next to each other: `np.repeat(..., axis=0)`), as minigen does. (One
# call per rollout is right too, only slower.)


# %%
def rollout_rewards(ids, complete, score, num_rollouts):
    """SeqGAN's Q (B, T) float64 for sequences ids (B, T): the mean score of num_rollouts completions of each
    prefix ids[:, :t + 1] for t < T - 1, and score(ids) at t = T - 1."""
    ### BEGIN SOLUTION
    B, T = ids.shape
    Q = np.zeros((B, T))
    for t in range(T - 1):
        prefixes = np.repeat(ids[:, :t + 1], num_rollouts, axis=0)           # (B N, t + 1): row b's N copies together
        scores = np.asarray(score(complete(prefixes)), dtype=np.float64)     # (B N,)
        Q[:, t] = scores.reshape(B, num_rollouts).mean(axis=1)
    Q[:, T - 1] = np.asarray(score(ids), dtype=np.float64)                   # the finished sequence itself
    return Q
    ### END SOLUTION


# %% [markdown]
# Try it with a small (untrained) character-level LSTM as the rollout policy and a
# text-CNN as D, against `minigen.rl.rollout_rewards`, which does the same with
# minigen's models (it takes a prompt length; our prompt is the start token 0, so its Q
# is ours without the first column). Both are Monte-Carlo estimates of one Q with
# different draws: they agree up to sampling noise, and exactly at the last position.

# %%
minigen.manual_seed(0)
Vr, Tr, Nr = 12, 8, 64
policy = RNNLanguageModel(Vr, embed_dim=8, hidden_size=16, num_layers=1).eval()
D_r = TextCNNDiscriminator(Vr, embed_dim=8, filter_sizes=(2, 3), num_filters=(8, 8)).eval()
ids_r = generate(policy, np.zeros((4, 1), dtype=np.int64), Tr - 1, do_sample=True, top_k=0, seed=1)   # (4, Tr)
draw_seeds = np.random.default_rng(2)


def complete_r(prefixes):
    return generate(policy, prefixes, Tr - prefixes.shape[1], do_sample=True, top_k=0,
                    seed=int(draw_seeds.integers(2**31)))


def score_r(sequences):
    return D_r.real_probability(sequences).numpy()


with minigen.no_grad():
    Q_yours = rollout_rewards(ids_r, complete_r, score_r, Nr)
    Q_minigen = rl.rollout_rewards(policy, score_r, ids_r, 1, num_rollouts=Nr, seed=3)
print("yours  :\n", Q_yours[:2])
print("minigen:\n", np.concatenate([np.full((4, 1), np.nan), Q_minigen], axis=1)[:2])
print("largest difference before the last column:", np.abs(Q_yours[:, 1:-1] - Q_minigen[:, :-1]).max().round(4),
      "; at the last column:", np.abs(Q_yours[:, -1] - Q_minigen[:, -1]).max())

# %% [markdown]
# ## 5. Do the GANs beat MLE? The oracle benchmark
#
# Text is hard to score, so SeqGAN introduced a synthetic test bed: an **oracle**, an
# LSTM with random N(0, 1) weights, plays the role of the true language. It writes the
# training data, and because its probabilities are known, two numbers can be computed
# exactly:
#
# - **NLL-oracle**: the generator's samples scored by the oracle (per token). Low means
#   the samples are likely under the true language: *quality*;
# - **NLL-test**: held-out oracle data scored by the generator. Low means the generator
#   gives probability to everything the language writes: *coverage* (diversity).
#
# Caccia et al. ("Language GANs Falling Short", 2020) pointed out that one point says
# little: lowering the **sampling temperature** of an MLE model also buys quality at the
# expense of coverage. A GAN is better only if it lies below MLE's whole
# quality-diversity curve. Here is the experiment, small: an oracle over 200 tokens,
# sequences of 12, and generators of the oracle's shape trained by MLE, then by SeqGAN
# and by the Gumbel-softmax GAN from the MLE weights. (`benchmarks/bench_textgan.py`
# runs it at SeqGAN's size, vocabulary 5,000 and length 20, over 3 oracle seeds.)

# %%
VO, TO = 200, 12
minigen.manual_seed(0)
oracle = oracle_lm(VO, 32, 32, seed=0)
train_o = oracle_samples(oracle, 3000, TO, seed=1)
test_o = oracle_samples(oracle, 500, TO, seed=2)
print(f"the oracle's own NLL on the test data (its entropy rate): {nll_oracle(oracle, test_o):.3f} nats per token")

mle = build_model(oracle.config)
mle_losses = mle_pretrain(mle, train_o, 8 if QUICK else 15, seed=0)


def discriminator():
    return TextCNNDiscriminator(VO, embed_dim=32, filter_sizes=(2, 3, 4), num_filters=(32, 32, 32))


seqgan = SeqGAN(copy.deepcopy(mle), discriminator(), train_o, batch_size=32, num_rollouts=4, d_samples=512,
                d_lr=1e-3, g_lr=1e-3, seed=0)
seqgan.pretrain_discriminator(rounds=2, epochs=1, num_samples=1000)
seqgan.train(10 if QUICK else 50)
gumbel = GumbelGAN(copy.deepcopy(mle), discriminator(), train_o, batch_size=32,
                   anneal_steps=100 if QUICK else 600, seed=0)
gumbel.train(100 if QUICK else 600)
print(f"MLE: last loss {np.mean(mle_losses[-20:]):.3f}; SeqGAN: D's P(real) of the samples "
      f"{seqgan.history['reward'][0]:.3f} -> {seqgan.history['reward'][-1]:.3f}; "
      f"Gumbel-GAN: final tau {gumbel.history['tau'][-1]:.3f}")

# %%
TEMPERATURES = (0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.4)
models = {"MLE": mle, "SeqGAN": seqgan.generator, "Gumbel-GAN": gumbel.generator}
curves = {}
for name, model in models.items():
    curves[name] = np.array([(nll_test(model, test_o, temperature=tau),
                              nll_oracle(oracle, oracle_samples(model, 1000, TO, seed=5, temperature=tau)))
                             for tau in TEMPERATURES])                # (temperatures, 2): NLL-test, NLL-oracle
print(f"{'generator':>11s}  {'NLL-oracle':>10s}  {'NLL-test':>8s}   (temperature 1)")
at_one = TEMPERATURES.index(1.0)
for name, curve in curves.items():
    print(f"{name:>11s}  {curve[at_one, 1]:10.3f}  {curve[at_one, 0]:8.3f}")

for name in ("SeqGAN", "Gumbel-GAN"):
    test_nll, oracle_nll = curves[name][at_one]
    better = [tau for tau, (t, o) in zip(TEMPERATURES, curves["MLE"]) if t <= test_nll and o <= oracle_nll]
    print(f"{name} at temperature 1: MLE is as good or better on both numbers at temperatures {better or 'none'}")

try:
    import matplotlib.pyplot as plt
except ImportError:                     # the plot is optional: pip install matplotlib
    plt = None
if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, curve in curves.items():
        ax.plot(curve[:, 0], curve[:, 1], "o-", label=name)
        for (x, y), tau in zip(curve, TEMPERATURES):
            ax.annotate(f"{tau:g}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xlabel("NLL-test (lower: covers the oracle's data)")
    ax.set_ylabel("NLL-oracle (lower: samples the oracle finds likely)")
    ax.set_title("Quality-diversity over sampling temperature (labels)")
    ax.legend()
    fig.tight_layout()
    plt.show()

# %% [markdown]
# Read the plot as Caccia et al. taught: each curve is one generator at temperatures
# 0.6 to 1.4, and lower-left is better. At this size, in a minute of training, the
# adversarial phase moves the generator only a little from where MLE left it, and
# mostly *along* MLE's curve, trading coverage for quality as a lower temperature would.
# At SeqGAN's size the benchmark finds the same (3 oracle seeds; see
# `benchmarks/README.md`): SeqGAN's NLL-oracle at temperature 1 is a little below MLE's,
# its NLL-test a little above, and MLE at temperature 0.8 beats it on both. That is the
# finding of "Language GANs Falling Short": well-tuned MLE with a temperature is a
# strong baseline that the classic text GANs do not clearly beat, while costing far
# less (SeqGAN's rollouts multiply the cost of a step by about N x T / 2).
#
# ## Exercises
#
# 1. (Graded: 14.1 `gumbel_softmax`, 14.2 `gumbel_softmax_backward`, 14.3
#    `conv1d_forward`, 14.4 `conv1d_backward`, 14.5 `max_over_time_backward`,
#    14.6 `rollout_rewards`.) `python -m minigen grade . --public-only` runs the public checks.
# 2. In the bias-variance table, add REINFORCE with the baseline `b = E[f]`. How much of
#    the gap in variance to the relaxations does it close?
# 3. Your `rollout_rewards` with N = 1, 4 and 16: measure the variance of `Q[:, 0]`
#    over repeated calls. SeqGAN used 16; why does the benchmark use 4?
# 4. Train the Gumbel-GAN with `schedule="constant"` (tau = 1 throughout) and with
#    `beta_max=1000`. Where do the two land on the quality-diversity plot?
# 5. SeqGAN's rollouts come from a *delayed* copy of the generator
#    (`rollout_update_rate=0.8`). Run it with `rollout_update_rate=None` (roll out with the
#    generator itself) and compare the reward curves. Why might a lagging rollout policy
#    make training more stable?
