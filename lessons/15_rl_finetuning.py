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
# # Lesson 15: fine-tuning a language model with a reward
#
# Every model so far learned from **targets**: at each position, the token that the
# training text has there, and a cross-entropy that pulls the model towards it. Many
# things we want from a generator cannot be written as targets, only **scored** once
# the text exists:
#
# - a *lipogram*: write without the letter `e` (which text should the model copy?);
# - *include a word*: somewhere, in a sentence that still reads well;
# - a *classifier's verdict*: "sounds like Shakespeare", "is polite", "is not toxic";
# - *human preference*: people compare two answers, and a reward model trained on
#   their choices scores new ones (RLHF: Ouyang et al., 2022).
#
# A reward `R(y)` scores a whole sample `y`. It can be any program, with no gradient:
# it counts letters, looks words up, runs another network. Fine-tuning then means
#
#     maximise  J(theta) = E_{y ~ p_theta}[ R(y) ]
#
# the expected reward of the model's *own* samples. This is reinforcement learning
# with the language model as the policy: each token is an action, and the prefix
# written so far is the state. The difficulty is that `y` is a discrete draw, so
# backpropagation stops at the sample. This lesson derives the estimator that gets
# past it, REINFORCE, and the tools that make it work in practice: baselines,
# group-relative advantages (GRPO), per-token credit, and a KL penalty that keeps
# the model close to what it was. Then we fine-tune a character model to stop
# writing `e`.
#
# Shapes: B = batch (sampled sequences), T = generated tokens, V = vocabulary,
# G = samples per prompt (a group).
#
# Run it as a script (`python 15_rl_finetuning.py`), or open it as a notebook with
# jupytext. `MINIGEN_QUICK=1` (or `--quick`) makes the training short.

# %%
import copy
import itertools
import os
import sys

import minigen  # first: minigen tunes OpenBLAS's threads, which must happen before NumPy loads
import numpy as np

from minigen import rl
from minigen.data import CharTokenizer, random_windows, shakespeare, train_val_split
from minigen.models import RNNLanguageModel
from minigen.nn.utils import clip_grad_norm_
from minigen.sample import generate
from minigen.train import Trainer

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)
np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. The score-function estimator
#
# Write the expectation as a sum over every sequence `y`, and differentiate:
#
#     grad J = grad sum_y p_theta(y) R(y)
#            = sum_y R(y) grad p_theta(y)                       (R does not depend on theta)
#            = sum_y p_theta(y) R(y) grad log p_theta(y)        (grad p = p grad log p)
#            = E_{y ~ p_theta}[ R(y) grad log p_theta(y) ]
#
# The last line is an expectation under the model, so it can be **estimated by
# sampling**: draw `y_1 .. y_B`, average `R(y_b) grad log p(y_b)`. This is the
# score-function or likelihood-ratio estimator, REINFORCE (Williams, 1992). It needs
# `R` only as a number, never its gradient, and `log p(y)` is what a language model
# gives anyway, one softmax per token:
#
#     log p_theta(y) = sum_t log p_theta(y_t | y_<t)
#
# The estimator says: make every sampled sequence more likely, in proportion to its
# reward. Because it is an average of unbiased terms, it is **unbiased**: its mean
# over many batches is exactly `grad J`. Let us check that on a policy small enough
# to enumerate.
#
# ### A tiny policy
#
# Vocabulary 3, length 3: 27 sequences. The policy is a table of logits `theta`
# (4, 3): row `a` holds the logits of the next token after token `a`, and row 3
# those of the first token (a start state). It is autoregressive like a real
# language model, only without a network:
#
#     p(y) = softmax(theta[3])[y_1] * softmax(theta[y_1])[y_2] * softmax(theta[y_2])[y_3]
#
# and the gradient of one factor's log with respect to its row is lesson 03's:
# `d log softmax(z)[k] / dz = onehot(k) - softmax(z)`.

# %%
V3, T3, START = 3, 3, 3                           # the tiny policy: vocabulary, length, start row


def tiny_log_softmax(theta):
    """log softmax of each row of theta (V3 + 1, V3)."""
    z = theta - theta.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def tiny_previous(ys):
    """The row of theta that each token was drawn from: the start row, then the token before. (N, T3)."""
    return np.concatenate([np.full((len(ys), 1), START), ys[:, :-1]], axis=1)


def tiny_token_log_probs(theta, ys):
    """log p(y_t | y_<t) of each token of the sequences ys (N, T3) -> (N, T3)."""
    return tiny_log_softmax(theta)[tiny_previous(ys), ys]


def tiny_token_grads(theta, ys):
    """d log p(y_t | y_<t) / d theta for each token: (N, T3) -> (N, T3, V3 + 1, V3)."""
    probs = np.exp(tiny_log_softmax(theta))                         # (V3 + 1, V3)
    prev = tiny_previous(ys)
    grads = np.zeros(ys.shape + theta.shape)
    n, t = np.meshgrid(np.arange(len(ys)), np.arange(T3), indexing="ij")
    grads[n, t, prev] = np.eye(V3)[ys] - probs[prev]                # only the row the token came from
    return grads


def tiny_sample(theta, n, generator):
    """n sequences drawn from the tiny policy, token by token: (n, T3) ints."""
    probs = np.exp(tiny_log_softmax(theta))
    ys = np.zeros((n, T3), dtype=np.int64)
    prev = np.full(n, START)
    for t in range(T3):
        cdf = np.cumsum(probs[prev], axis=1)                         # (n, V3)
        ys[:, t] = np.minimum((generator.random((n, 1)) > cdf).sum(axis=1), V3 - 1)
        prev = ys[:, t]
    return ys


ALL = np.array(list(itertools.product(range(V3), repeat=T3)))    # (27, 3): every sequence
theta = rng.standard_normal((V3 + 1, V3))
p_all = np.exp(tiny_token_log_probs(theta, ALL).sum(axis=1))      # (27,): p(y) of every sequence
print(f"{len(ALL)} sequences, total probability {p_all.sum():.12f}")

# %% [markdown]
# The reward can be anything: here, a table of 27 random numbers around 3, a black
# box. The exact gradient is the enumerated sum `sum_y p(y) R(y) grad log p(y)`;
# `minigen.gradcheck_kernel` confirms it against central differences of `J(theta)`
# itself, computed by enumeration too.

# %%
R_all = 3.0 + rng.standard_normal(len(ALL))                        # (27,): R(y) for every sequence


def expected_reward(theta):
    return np.sum(np.exp(tiny_token_log_probs(theta, ALL).sum(axis=1)) * R_all)


score_all = tiny_token_grads(theta, ALL).sum(axis=1)               # (27, 4, 3): grad log p(y)
exact_grad = np.einsum("n,n,nij->ij", p_all, R_all, score_all)     # sum_y p(y) R(y) grad log p(y)
print("J(theta) =", round(expected_reward(theta), 4), "\nexact grad J =\n", exact_grad)
print("the identity holds (central differences of J):", minigen.gradcheck_kernel(
    lambda th: (expected_reward(th), None), lambda dJ, _: dJ * exact_grad, {"theta": theta.copy()}))

# %% [markdown]
# ## Exercise 15.1: the REINFORCE surrogate loss
#
# An autograd engine differentiates losses, not estimators. So we write a
# **surrogate**: a loss whose gradient *is* the estimator, with the samples and their
# rewards held fixed (they are constants: no gradient flows through a draw):
#
#     loss = -1/B sum_b (R_b - b_b) sum_t log p_theta(y_bt | y_b,<t)
#     -grad loss = 1/B sum_b (R_b - b_b) grad log p_theta(y_b)
#
# `b_b` is a **baseline**, explained in the next section; with `b = 0` this is the
# estimator above. Three details matter:
#
# - the minus sign: optimizers *minimise*, and we want *more* reward;
# - the **sum** over tokens, not the mean: `log p(y)` is a sum (a mean would scale
#   each sequence's gradient by `1/T`, which for sequences of different lengths is
#   no longer the gradient of `J`);
# - the rewards are numbers: the loss is only ever differentiated through `log_probs`.
#
# Write it in NumPy on arrays: `log_probs` (B, T), `rewards` (B,), and `baseline` a
# number or one per sequence (B,). `minigen.rl.reinforce_loss` is the same function
# on Tensors, for real models.


# %%
def reinforce_surrogate(log_probs, rewards, baseline=0.0):
    """The REINFORCE surrogate loss, a Python float: -1/B sum_b (rewards_b - baseline_b) sum_t log_probs_bt.

    log_probs: (B, T) floats, log p(y_bt | y_b,<t) of the sampled tokens; rewards: (B,);
    baseline: a number, or (B,) numbers (one per sequence).
    """
    ### BEGIN SOLUTION
    advantages = np.asarray(rewards, dtype=np.float64) - baseline          # (B,)
    return float(-np.mean(advantages * np.sum(log_probs, axis=1)))
    ### END SOLUTION


ys = tiny_sample(theta, 6, rng)                                    # (6, 3): a batch of samples
R = R_all[ys @ np.array([9, 3, 1])]                                # (6,): their rewards (index in ALL: base 3)
lp = tiny_token_log_probs(theta, ys)                               # (6, 3)
print("yours:               ", reinforce_surrogate(lp, R, baseline=2.5))
print("minigen.rl:          ", rl.reinforce_loss(minigen.tensor(lp), R, baseline=2.5).item())

# Its gradient with respect to theta, by central differences through log p, is minus the estimator.
estimate = np.einsum("n,nij->ij", R - 2.5, tiny_token_grads(theta, ys).sum(axis=1)) / len(ys)
print("grad of your surrogate = -estimate:", minigen.gradcheck_kernel(
    lambda th: (np.asarray(reinforce_surrogate(tiny_token_log_probs(th, ys), R, 2.5)), None),
    lambda dloss, _: -dloss * estimate, {"theta": theta.copy()}))

# %% [markdown]
# ## 2. Unbiased, and noisy: baselines
#
# Draw many samples, one estimate `g_n = (R(y_n) - b) grad log p(y_n)` each, and
# compare their mean with the exact gradient. The standard error of a mean of N
# draws is `std / sqrt(N)`; an unbiased estimator's mean lies within a few standard
# errors of the truth (beyond 5 is a one-in-a-million event per number).
#
# Why may we subtract a baseline `b` at all? Because the score has mean zero:
#
#     E_y[ grad log p(y) ] = sum_y p(y) grad p(y) / p(y) = grad sum_y p(y) = grad 1 = 0
#
# so `E[b grad log p(y)] = b * 0 = 0` for any `b` that **does not depend on y**: the
# mean stays `grad J`. The variance changes, though. With `b = 0` and rewards around
# 3, every sample pushes its own probability up, and the *differences* between
# rewards, which carry the signal, are a small part of each push. With `b` near
# `E[R]`, good samples are pushed up and bad ones down. Measured:

# %%
N = 20_000
ys_many = tiny_sample(theta, N, np.random.default_rng(1))            # (N, 3)
R_many = R_all[ys_many @ np.array([9, 3, 1])]                        # (N,)
score_many = tiny_token_grads(theta, ys_many).sum(axis=1)          # (N, 4, 3): grad log p(y_n)
print("E[grad log p] by enumeration:", np.abs(np.einsum("n,nij->ij", p_all, score_all)).max().round(15))
print(f"{'baseline':>22s}  {'max |mean - exact| / s.e.':>26s}  {'total variance':>14s}")
for name, b in [("none (b = 0)", 0.0), ("b = E[R] = J(theta)", expected_reward(theta))]:
    g = (R_many - b)[:, None, None] * score_many                    # (N, 4, 3): one estimate per sample
    z = (g.mean(axis=0) - exact_grad) / (g.std(axis=0) / np.sqrt(N) + 1e-300)
    print(f"{name:>22s}  {np.abs(z).max():26.2f}  {g.var(axis=0).sum():14.3f}")

# %% [markdown]
# Both are within a few standard errors of the exact gradient, and the baseline
# cuts the variance more than tenfold here: the same precision from a tenth of the
# samples. In practice `E[R]` is unknown; a **moving average** of past
# rewards (`rl.MovingAverageBaseline`) is a common stand-in. It depends on earlier
# batches only, never on the current one, so the estimator stays unbiased.
#
# A tempting shortcut is the mean reward **of the batch itself**. It depends on
# each sample's own reward, and that breaks the argument above: `b` is no longer
# independent of `y_b`. With B samples, `R_b - mean(R)` holds `R_b (1 - 1/B)`, so
# the estimate shrinks by `(B - 1) / B`. The fix is the **leave-one-out** baseline
# (RLOO, Kool et al., 2019): each sample's baseline is the mean of the *others*.
#
# ## Exercise 15.2: the leave-one-out baseline
#
#     b_i = (sum_j R_j - R_i) / (B - 1)          rewards (B,) -> (B,),  B >= 2


# %%
def leave_one_out_baseline(rewards):
    """For each sample, the mean reward of the other B - 1 samples: rewards (B,), B >= 2 -> (B,) float64."""
    ### BEGIN SOLUTION
    rewards = np.asarray(rewards, dtype=np.float64)
    return (rewards.sum() - rewards) / (rewards.shape[0] - 1)
    ### END SOLUTION


print("rewards", R[:4].round(3), "-> leave-one-out baselines", leave_one_out_baseline(R[:4]).round(3))

# %% [markdown]
# With B = 2 there are 27 x 27 = 729 possible batches: enumerate them all, weight
# each by its probability `p(y_1) p(y_2)`, and the mean of the batch estimator is
# exact, with no sampling error at all.

# %%
pairs = np.array(list(itertools.product(range(len(ALL)), repeat=2)))    # (729, 2): indices into ALL
weight = p_all[pairs].prod(axis=1)                                     # (729,): p(y_1) p(y_2)
rewards_2 = R_all[pairs]                                               # (729, 2)
for name, baselines in [("leave-one-out (yours)", np.array([leave_one_out_baseline(r) for r in rewards_2])),
                        ("mean of the batch", np.repeat(rewards_2.mean(axis=1, keepdims=True), 2, axis=1))]:
    per_batch = np.einsum("pb,pbij->pij", rewards_2 - baselines, score_all[pairs]) / 2     # (729, 4, 3)
    mean = np.einsum("p,pij->ij", weight, per_batch)
    print(f"{name:>22s}: E[estimate] / grad J = {np.sum(mean * exact_grad) / np.sum(exact_grad ** 2):.6f}")

# %% [markdown]
# The batch mean gives exactly half the gradient at B = 2: `(B - 1) / B`. (Here that
# is only a scale, which a learning rate absorbs; it is still worth knowing which
# estimators are unbiased, because with per-prompt groups and rescaling the errors
# stop being a simple scale.)
#
# ## 3. Group-relative advantages (GRPO)
#
# For a language model answering prompts, the reward depends a lot on the prompt:
# some are easy, some hard. A single baseline for all of them removes little
# variance. GRPO (Shao et al., 2024, DeepSeekMath) samples a **group** of G
# completions of each prompt, and judges each completion only against its own group:
#
#     A_i = (R_i - mean_g) / (std_g + eps)
#
# where `mean_g` and `std_g` are the mean and the sample standard deviation (divisor
# G - 1, as `torch.std`) of the rewards in sample i's group. The advantage `A_i`
# replaces `R_i - b_i` in the surrogate. Dividing by the standard deviation puts
# every prompt on the same scale: a prompt whose completions all score about the same
# gives small differences, which become comparable to those of a prompt with a wide
# spread. `eps` keeps a group of equal rewards at 0 (nothing to learn there) instead
# of 0 / 0. The group mean includes the sample itself, the slight bias that Exercise
# 15.2 measured, which GRPO accepts.
#
# ## Exercise 15.3: group-relative advantages
#
# The batch holds B / G groups of G consecutive samples (`generate(...,
# num_return_sequences=G)` lays them out so: completions 0..G-1 of the first prompt,
# then G..2G-1 of the second, ...).


# %%
def group_advantages(rewards, group_size, eps=1e-4):
    """GRPO's advantages: (r_i - mean_g) / (std_g + eps) within consecutive groups of group_size samples.

    rewards: (B,) numbers, B a multiple of group_size >= 2; std_g is the sample standard
    deviation (divisor group_size - 1). Returns (B,) float64.
    """
    ### BEGIN SOLUTION
    groups = np.asarray(rewards, dtype=np.float64).reshape(-1, group_size)     # (B / G, G): one prompt per row
    mean = groups.mean(axis=1, keepdims=True)                                  # (B / G, 1)
    std = groups.std(axis=1, ddof=1, keepdims=True)                            # divisor G - 1
    return ((groups - mean) / (std + eps)).reshape(-1)
    ### END SOLUTION


rewards_g = np.array([1.0, 3.0, 2.0, 2.0, 10.0, 30.0, 20.0, 20.0, 5.0, 5.0, 5.0, 5.0])   # 3 prompts, G = 4
print("yours:     ", group_advantages(rewards_g, 4).round(4))
print("minigen.rl:", rl.group_advantages(rewards_g, 4).round(4))

# %% [markdown]
# The first two groups get the same advantages (up to `eps`): only ranks and spreads
# within a group count, not the scale of the prompt's rewards. The third, all equal, gets 0.
#
# ## 4. Per-token credit: returns-to-go
#
# A sequence is a string of decisions, and some rewards arrive along the way: the
# lipogram's `-1` falls on the token that holds the `e`. With one reward per
# sequence, `R = sum_s r_s`, every token is credited with all of it, including the
# rewards of tokens that came **before** it, which it could not have caused. Those
# terms are pure noise. Write the estimator token by token:
#
#     grad J = E[ sum_t grad log p(y_t | y_<t) * sum_s r_s ]
#
# For `s < t`, `r_s` is fixed once `y_<t` is, and given `y_<t` the score of `y_t` has
# mean zero (the argument of section 2, one token at a time), so those terms vanish in
# expectation. What is left is the **return-to-go**:
#
#     grad J = E[ sum_t grad log p(y_t | y_<t) * G_t ],      G_t = sum_{s >= t} r_s
#
# the same mean, less noise. A discount `gamma < 1`, `G_t = sum_{s >= t} gamma^(s-t) r_s`,
# weighs far-away rewards less: lower variance still, but then it is the gradient of a
# different objective (a bias), unless `gamma = 1`.
#
# ## Exercise 15.4: returns-to-go
#
# Compute it backwards, one position at a time: `G_{T-1} = r_{T-1}`, then
# `G_t = r_t + gamma * G_{t+1}`.


# %%
def returns_to_go(rewards, gamma=1.0):
    """G_bt = sum_{s >= t} gamma^(s - t) rewards_bs: per-token rewards (B, T) -> returns (B, T) float64."""
    ### BEGIN SOLUTION
    rewards = np.asarray(rewards, dtype=np.float64)
    returns = np.zeros_like(rewards)
    running = np.zeros(rewards.shape[0])                    # (B,): G_{t+1}, 0 after the last token
    for t in reversed(range(rewards.shape[1])):             # from the last token back
        running = rewards[:, t] + gamma * running
        returns[:, t] = running
    return returns
    ### END SOLUTION


r_demo = np.array([[0.0, -1.0, 0.0, -1.0, 0.0]])
print("rewards        ", r_demo[0])
print("returns-to-go  ", returns_to_go(r_demo)[0])
print("gamma = 0.5    ", returns_to_go(r_demo, 0.5)[0])

# %% [markdown]
# On the tiny policy, make token 2 play the letter `e`: `r_t = -1` where `y_t = 2`.
# Both estimators, the whole return on every token and the return-to-go, are unbiased;
# the second has less variance.

# %%
r_tok_all = -(ALL == 2).astype(float)                               # (27, 3): per-token rewards
exact_tok = np.einsum("n,n,nij->ij", p_all, r_tok_all.sum(axis=1), score_all)   # grad E[sum_t r_t]
r_tok = -(ys_many == 2).astype(float)                               # (N, 3)
token_grads = tiny_token_grads(theta, ys_many)                      # (N, 3, 4, 3)
print(f"{'credit':>28s}  {'max |mean - exact| / s.e.':>26s}  {'total variance':>14s}")
for name, credit in [("whole return on every token", np.repeat(r_tok.sum(1, keepdims=True), T3, axis=1)),
                     ("return-to-go (yours)", returns_to_go(r_tok))]:
    g = np.einsum("nt,ntij->nij", credit, token_grads)              # (N, 4, 3)
    z = (g.mean(axis=0) - exact_tok) / (g.std(axis=0) / np.sqrt(N) + 1e-300)
    print(f"{name:>28s}  {np.abs(z).max():26.2f}  {g.var(axis=0).sum():14.3f}")

# %% [markdown]
# ## 5. The KL penalty: staying close to the original
#
# A reward says what we want and nothing else. The lipogram's reward is maximal for
# *any* text without `e`, gibberish included, and the policy gradient climbs to the
# nearest such text it can find, often a few repeated syllables (we will see it
# happen below). The standard remedy (Ziegler et al., 2019; InstructGPT; GRPO) is to
# pay for every step away from the original model, the frozen **reference** `p_ref`:
#
#     maximise  E_{y ~ p}[ R(y) ] - beta * KL(p || p_ref),      KL(p || p_ref) = E_{y ~ p}[ log p(y) - log p_ref(y) ]
#
# Like `log p(y)`, the KL of sequences is a sum over tokens (the chain rule of the
# KL), so it is estimated per token from the samples we already have. With
# `r = log p_ref(y_t) - log p(y_t)` for a token drawn from `p` (John Schulman,
# "Approximating KL divergence", 2020):
#
#     k1 = -r                       E_p[k1] = KL: unbiased, but negative for many tokens, and noisy
#     k3 = exp(r) - r - 1           E_p[exp(r)] = sum_y p(y) p_ref(y) / p(y) = 1, so E_p[k3] = E_p[k1] = KL
#
# `k3` is unbiased too, and never negative (`exp(x) >= 1 + x`): each token's penalty
# is an honest "distance", not a number whose sign is chance. When `p` is close to
# `p_ref`, `r` is small and `k3 ~ r^2 / 2`, far less noisy than `r`. GRPO adds
# `beta * k3` to its loss; its gradient with respect to `log p(y_t)` is `1 - exp(r)`,
# which lowers the tokens that the policy now likes more than the reference did and
# raises those it likes less.
#
# ## Exercise 15.5: the k3 estimator


# %%
def kl_k3(log_probs, ref_log_probs):
    """Schulman's k3 per token: r = ref_log_probs - log_probs, k3 = exp(r) - r - 1; arrays of one shape -> that shape.

    log_probs: log p(y_t | y_<t) of tokens sampled from p; ref_log_probs: the same tokens under p_ref.
    """
    ### BEGIN SOLUTION
    r = ref_log_probs - log_probs                          # log p_ref(y_t) / p(y_t)
    return np.exp(r) - r - 1.0
    ### END SOLUTION


lp_demo, ref_demo = np.log([[0.5, 0.2, 0.1]]), np.log([[0.5, 0.4, 0.01]])
print("yours:     ", kl_k3(lp_demo, ref_demo))
print("minigen.rl:", rl.kl_penalty(minigen.tensor(lp_demo), ref_demo, kind="k3").numpy())

# %% [markdown]
# Check both estimators against the exact KL between the tiny policy and a
# reference (another table of logits nearby), by enumeration of the 27 sequences,
# and compare their noise on samples:

# %%
theta_ref = theta + 0.3 * rng.standard_normal(theta.shape)
lp_all, ref_all = tiny_token_log_probs(theta, ALL), tiny_token_log_probs(theta_ref, ALL)   # (27, 3) each
exact_kl = np.sum(p_all * (lp_all.sum(axis=1) - ref_all.sum(axis=1)))
print(f"exact KL(p || p_ref) = {exact_kl:.6f}")
print(f"E[sum_t k1] by enumeration = {np.sum(p_all * (lp_all - ref_all).sum(axis=1)):.6f}")
print(f"E[sum_t k3] by enumeration = {np.sum(p_all * kl_k3(lp_all, ref_all).sum(axis=1)):.6f}")
lp_s, ref_s = tiny_token_log_probs(theta, ys_many), tiny_token_log_probs(theta_ref, ys_many)  # (N, 3)
for name, per_seq in [("k1", (lp_s - ref_s).sum(axis=1)), ("k3", kl_k3(lp_s, ref_s).sum(axis=1))]:
    print(f"{name}: mean of {N} samples {per_seq.mean():.4f} +- {per_seq.std() / np.sqrt(N):.4f}, "
          f"std per sequence {per_seq.std():.4f}, negative for {np.mean(per_seq < 0):.0%} of them")

# %% [markdown]
# ## 6. A real fine-tune: Shakespeare without `e`
#
# Now the whole recipe on a character-level LSTM (lesson 05), trained briefly on
# Shakespeare by maximum likelihood. About one character in ten is an `e` or `E`. The
# goal: continuations of Shakespeare prompts that avoid the letter, and still read
# like the model's Shakespeare.

# %%
text = shakespeare()[: 600_000 if QUICK else 2_000_000]
tokenizer = CharTokenizer.train(text)
V = tokenizer.vocab_size
train_ids, val_ids = train_val_split(tokenizer.encode(text), 0.05)
minigen.manual_seed(0)
base = RNNLanguageModel(V, embed_dim=32, hidden_size=128, num_layers=1)
optimizer = minigen.optim.Adam(base.parameters(), lr=1e-2 if QUICK else 4e-3)
trainer = Trainer(base, optimizer, train_ids, val_ids, tokenizer=tokenizer, batch_size=32, seq_len=64,
                  max_steps=500 if QUICK else 2000, warmup_steps=10, eval_interval=500 if QUICK else 1000,
                  eval_tokens=4096, progress=not QUICK)
trainer.fit()
base.eval()                                    # the reference: never trained again
print(f"V = {V} characters; validation loss {trainer.history[-1]['val_loss']:.3f} nats per character")

# %% [markdown]
# One step of fine-tuning puts together everything above:
#
# 1. take `PROMPTS` random 16-character windows of the corpus and sample `GROUP`
#    completions of each, of `T_NEW` characters, from the policy itself
#    (`do_sample=True, top_k=0`: the policy's own distribution; `generate`'s default
#    `top_k=50` would sample another one);
# 2. `log p(y_t | y_<t)` of each generated token, in the graph, with
#    `rl.sequence_log_probs`; the same under the frozen reference, without it;
# 3. per-token rewards from `rl.Lipogram(tokenizer, "e")`: -1 on each `e` or `E`;
# 4. your returns-to-go, then, at each position, your group-relative advantages: a
#    token is judged against the other completions of its prompt at the same place;
# 5. the loss: the per-token REINFORCE surrogate (`rl.reinforce_loss`, the Tensor twin
#    of your Exercise 15.1, here with per-token advantages), plus `beta` times the k3
#    penalty (`rl.kl_penalty`), both averaged over tokens; one Adam step.
#
# We record the reward (the number of `e`, negated, per completion) and the KL per
# completion (your `kl_k3`, summed over its tokens), and run twice: without the KL
# penalty (`beta = 0`) and with it.

# %%
PROMPT_LEN, T_NEW, PROMPTS, GROUP = 16, 48, 8, 8
STEPS = 120 if QUICK else 300
lipogram = rl.Lipogram(tokenizer, "e")


def finetune(beta, steps, lr=1e-2, seed=0):
    """A copy of `base` fine-tuned to avoid `e`; returns it and its history: (reward, KL) per completion, per step."""
    policy = copy.deepcopy(base)
    optimizer = minigen.optim.Adam(policy.parameters(), lr=lr)
    prompt_rng = np.random.default_rng(seed)
    history = []
    for step in range(steps):
        prompts, _ = random_windows(train_ids, PROMPTS, PROMPT_LEN, prompt_rng)       # (PROMPTS, P)
        prompts = np.repeat(prompts, GROUP, axis=0)                                  # (B, P): groups of GROUP
        policy.eval()
        with minigen.no_grad():
            ids = generate(policy, prompts, T_NEW, do_sample=True, top_k=0, seed=seed * 10_000 + step)
            ref_log_probs = rl.sequence_log_probs(base, ids, PROMPT_LEN).numpy()     # (B, T)
        policy.train()
        log_probs = rl.sequence_log_probs(policy, ids, PROMPT_LEN)                   # (B, T), in the graph
        rewards = lipogram(ids[:, PROMPT_LEN:])                                      # (B, T): -1 on each e
        returns = returns_to_go(rewards)                                             # yours
        advantages = np.stack([group_advantages(returns[:, t], GROUP) for t in range(T_NEW)], axis=1)   # yours
        loss = (rl.reinforce_loss(log_probs, advantages / T_NEW)
                + beta * rl.kl_penalty(log_probs, ref_log_probs, kind="k3").sum() / (len(ids) * T_NEW))
        optimizer.zero_grad()
        loss.backward()
        clip_grad_norm_(policy.parameters(), 1.0)
        optimizer.step()
        kl = kl_k3(log_probs.numpy().astype(np.float64), ref_log_probs).sum(axis=1).mean()     # yours
        history.append((rewards.sum(axis=1).mean(), kl))
    return policy.eval(), np.array(history)


free, free_hist = finetune(beta=0.0, steps=STEPS)
held, held_hist = finetune(beta=0.2, steps=STEPS)
for name, hist in (("beta = 0  ", free_hist), ("beta = 0.2", held_hist)):
    reward, kl = hist[-10:].mean(axis=0)
    print(f"{name}: last 10 steps, reward {reward:6.2f} per {T_NEW} characters, KL {kl:6.2f} nats")

try:
    import matplotlib.pyplot as plt
except ImportError:                     # the plots are optional: pip install matplotlib
    plt = None
if plt is not None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
    for name, hist in (("beta = 0", free_hist), ("beta = 0.2", held_hist)):
        axes[0].plot(hist[:, 0], label=name)
        axes[1].plot(hist[:, 1], label=name)
    axes[0].set_title(f"reward: -(number of e) per {T_NEW} characters")
    axes[1].set_title("KL(policy || reference) per completion (k3), nats")
    axes[1].set_yscale("log")
    for ax in axes:
        ax.set_xlabel("step")
        ax.legend()
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## Before and after
#
# The same prompts for the three models, continued for 200 characters at temperature 1.
# The rate of `e`, and the **negative log-likelihood per character under the
# original model**: how surprising the text is to the model we started from. A
# lipogram in real English costs something (Shakespeare without `e` is less likely
# Shakespeare); gibberish costs a lot.

# %%
eval_prompts, _ = random_windows(val_ids, 32, PROMPT_LEN, np.random.default_rng(7))    # (32, P)
for name, model in (("original", base), ("beta = 0", free), ("beta = 0.2", held)):
    with minigen.no_grad():
        ids = generate(model, eval_prompts, 200, do_sample=True, top_k=0, seed=3)
        nll = -rl.sequence_log_probs(base, ids, PROMPT_LEN).numpy().mean()
    completions = ids[:, PROMPT_LEN:]
    rate = np.mean(lipogram(completions) < 0)                                       # characters that are e or E
    sample_text = tokenizer.decode(ids[0].tolist()).replace("\n", " / ")
    print(f"{name:>10s}: e/E in {rate:6.2%} of the characters, NLL under the original {nll:.3f} nats/char")
    print(f"            {sample_text[:PROMPT_LEN]!r} -> {sample_text[PROMPT_LEN:160]!r}")

# %% [markdown]
# Without the penalty the policy stops writing `e` within a few steps and keeps
# moving away from the original: its KL climbs to tens of nats per 48 characters, and
# the text collapses into a few syllables that the reward cannot tell from prose. Its
# NLL under the original model shows it. With `beta = 0.2` the `e` become rare almost
# as fast, while the KL levels off, and the text keeps the look of the original
# model's (its errors included: this is a small model, trained for seconds); its NLL
# rises by much less. `beta` sets the exchange rate between reward and distance:
# smaller, and the policy buys a few more avoided `e` with much stranger text.
# `minigen finetune --reward lipogram:e` runs the same kind of recipe from the command
# line, on a trained run (see the README).
#
# ## Exercises
#
# 1. (Graded: 15.1 `reinforce_surrogate`, 15.2 `leave_one_out_baseline`, 15.3
#    `group_advantages`, 15.4 `returns_to_go`, 15.5 `kl_k3`.)
#    `python -m minigen grade . --public-only` runs the public checks.
# 2. On the tiny policy, measure the variance of the estimator with the
#    leave-one-out baseline at B = 2, 4 and 16, and compare it with `b = E[R]`.
# 3. Replace per-token credit by one reward per sequence (the number of `e` in the
#    whole completion, given at its last token) and fine-tune again. How many more
#    steps does it take to reach the same reward?
# 4. Try `beta` = 0.01, 0.03 and 0.3. Plot the final reward against the final KL: this
#    is the trade-off curve that RLHF papers report. Where does the text start to break?
# 5. Use `rl.IncludeWord(tokenizer, "king")` as the reward (one number per sequence, so
#    give it at the last token: `returns_to_go` spreads it to every token). Why does
#    learning start so slowly when the word almost never appears in the first samples?
