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
# # Lesson 03: softmax, cross-entropy and temperature
#
# A language model does not output a token. It outputs one real number per
# vocabulary entry, the **logits** `z` (shape `(V,)` for one position, `(N, V)` for
# `N` positions), and everything that turns those scores into a training signal or
# into text goes through one function, the softmax:
#
#     p_i = softmax(z)_i = exp(z_i) / sum_j exp(z_j)           (V,): positive, sums to 1
#
# Training pushes up the log-probability of the token that really came next
# (the **cross-entropy** loss); generation draws the next token from `p`, usually
# after reshaping it with a **temperature**. This lesson builds all three on top of
# lesson 02's stable softmax and its backward, carefully enough that they never
# overflow, never take `log(0)` and never warn:
#
# 1. softmax and why the maximum is subtracted first;
# 2. log-softmax through log-sum-exp (Exercise 3.1);
# 3. cross-entropy and its famously simple gradient `(softmax - onehot) / N` (Exercise 3.2);
# 4. perplexity and bits per character: the same number in other units;
# 5. a bigram character model trained with your loss;
# 6. entropy (Exercise 3.3) and temperature, on logits and on probabilities
#    (Exercise 3.4), with samples at several temperatures.
#
# Shapes: `N` = rows (batch x time flattened, `N = B*T` in the lessons that follow),
# `V` = vocabulary (classes).
#
# Run it as a script (`python 03_softmax_temperature.py`), or open it as a notebook
# with jupytext. `MINIGEN_QUICK=1` (or `--quick`) shortens the training part.

# %%
import math
import os
import sys

import minigen  # first: minigen tunes OpenBLAS's threads, which must happen before NumPy loads
import numpy as np

import minigen.functional as F
from minigen import metrics, sample
from minigen.kernels.softmax import log_softmax_forward, softmax_forward

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)
np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. Softmax, and why it subtracts the maximum
#
# You wrote a stable softmax in lesson 02 (Exercise 2.2); everything here rests on
# the same trick, so a short recap. Adding the same constant `c` to every logit
# changes nothing:
# `exp(z_i + c) / sum_j exp(z_j + c) = exp(c) exp(z_i) / (exp(c) sum_j exp(z_j))`.
# Only the *differences* between logits matter. The formula as written, though,
# computes `exp(z_i)` first, and `exp` overflows early: above `z = 709.78` in float64
# and above `z = 88.72` in float32 the result is `inf`, and `inf / inf` is `nan`.
# Trained models produce logits of a few tens; a bug, a large learning rate or a
# temperature close to 0 easily produces thousands.
#
# The cure uses the invariance: subtract `m = max_j z_j` first. Then the largest
# exponent is `exp(0) = 1`, nothing overflows, and the sum is at least 1, so there
# is no division by 0 either. (Terms far below the maximum underflow to 0, which is
# harmless: their true probability is below 1e-300.)
#
# Below, the naive formula runs inside `np.errstate(...)` so that NumPy does not
# print its overflow warnings: we *want* to see the `nan` here, nowhere else.

# %%
z = np.array([1e4, 1e4 - 1.0, 0.0])


def naive_softmax(z):
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


with np.errstate(over="ignore", invalid="ignore"):
    print("naive softmax of [1e4, 1e4-1, 0]:", naive_softmax(z))
print("stable softmax (minigen kernel):   ", softmax_forward(z)[0])
print("softmax(z) == softmax(z - 1e4):    ", np.allclose(softmax_forward(z)[0], naive_softmax(z - 1e4)))
print("largest float64 exp argument:       ", math.log(np.finfo(np.float64).max))
print("largest float32 exp argument:       ", math.log(np.finfo(np.float32).max))

# %% [markdown]
# ## 2. Log-softmax, through log-sum-exp
#
# The loss needs `log p`, not `p`. Taking `log(softmax(z))` is a trap: a probability
# below about 1e-323 (1e-45 in float32) is stored as exactly 0, and `log(0) = -inf`,
# although the true log-probability is an ordinary number like -800. Work in log
# space instead:
#
#     log softmax(z)_i = z_i - lse(z),      lse(z) = log sum_j exp(z_j)
#                                                  = m + log sum_j exp(z_j - m),   m = max_j z_j
#
# `lse` ("log-sum-exp") is a smooth maximum: it lies between `m` and `m + log V`.
# Computed the second way it never overflows, and the result `z_i - lse(z)` is finite
# for every finite `z_i`, however small its probability.
#
# ## Exercise 3.1: a stable log-softmax
#
# Write `log_softmax(x)` along the **last** axis, for an array of any shape `(..., V)`.
# It must be finite wherever `x` is finite, even for logits of size 1e4, and must
# not warn.


# %%
def log_softmax(x):
    """log(softmax(x)) along the last axis, computed as x - logsumexp(x).

    x: (..., V) float array. Returns an array of the same shape, finite wherever x is
    finite (subtract the row maximum before exp), without warnings.
    """
    ### BEGIN SOLUTION
    m = np.max(x, axis=-1, keepdims=True)                 # (..., 1): the row maximum
    shifted = x - m                                       # (..., V): every entry <= 0, so exp <= 1
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
    ### END SOLUTION


x = np.array([[1e4, 0.0, -1e4], [2.0, 1.0, 0.1]])
with np.errstate(divide="ignore"):
    print("log(softmax(x)) :\n", np.log(softmax_forward(x)[0]))
print("your log_softmax:\n", log_softmax(x))
print("minigen's kernel:\n", log_softmax_forward(x)[0])

# %% [markdown]
# The first row shows the difference: the naive route says the last two tokens
# have log-probability `-inf` ("impossible"), the stable one says -1e4 and -2e4,
# which is what a loss needs to push on. Your function should also agree with
# minigen's autograd version, `F.log_softmax`, on any shape:

# %%
x = rng.standard_normal((2, 3, 5)) * 10
print("max |yours - F.log_softmax| =", np.abs(log_softmax(x) - F.log_softmax(minigen.tensor(x)).data).max())
print("rows of exp(log_softmax) sum to 1:", np.allclose(np.exp(log_softmax(x)).sum(-1), 1.0))

# %% [markdown]
# ## 3. Cross-entropy: the negative log-likelihood
#
# For `N` positions with logits `z` (N, V) and the tokens that really came next,
# `t` (N,) integers, the loss is the mean negative log-probability of the targets:
#
#     loss = -(1/N) sum_n log softmax(z_n)_{t_n} = (1/N) sum_n [ lse(z_n) - z_{n, t_n} ]
#
# It is called cross-entropy because it is the cross-entropy `-sum_c q_c log p_c`
# between the one-hot target `q` and the model's `p`. Minimising it is maximum
# likelihood: it makes the observed text as probable as possible.
#
# **The gradient.** Differentiate one row:
# `d lse(z)/d z_c = exp(z_c) / sum_j exp(z_j) = p_c` (the softmax!), and
# `d z_t / d z_c = [c = t]`. So
#
#     d loss_n / d z_nc = p_nc - [c = t_n]             dlogits = (softmax(z) - onehot(t)) / N
#
# The gradient pulls the target's logit up by `1 - p_t` and pushes every other logit
# down by its probability. When the model is right and sure (`p_t = 1`) the gradient
# vanishes. There is no `1/p` in it, nothing to blow up: this is why frameworks fuse
# log-softmax and the loss into one function (PyTorch's `F.cross_entropy`, minigen's
# `minigen.kernels.softmax.cross_entropy_forward`) instead of differentiating a
# softmax and then a log. Compare the general softmax backward of lesson 02,
# `dz = p * (dout - sum(dout * p))` (minigen's `softmax_backward`): with the loss's
# `dout = -onehot / p` it reduces to the same `p - onehot`, but the division by `p`
# on the way would have been a disaster for small `p`.
#
# ## Exercise 3.2: cross-entropy and its gradient
#
# Return the mean loss and its gradient with respect to the logits. You may use
# your `log_softmax`.


# %%
def cross_entropy(logits, targets):
    """Mean cross-entropy of ``logits`` (N, V) against integer ``targets`` (N,).

    Returns ``(loss, dlogits)``: the loss as a float (a 0-d value), the mean over the
    N rows of -log softmax(logits)[n, targets[n]]; and dloss/dlogits, shape (N, V),
    which is (softmax(logits) - onehot(targets)) / N. Finite for logits of any size;
    ``logits`` itself is not modified.
    """
    N = logits.shape[0]
    rows = np.arange(N)
    ### BEGIN SOLUTION
    logp = log_softmax(logits)                            # (N, V)
    loss = -np.mean(logp[rows, targets])                  # mean of -log p_{n, t_n}
    dlogits = np.exp(logp)                                # (N, V): the softmax
    dlogits[rows, targets] -= 1.0                         # minus the one-hot target
    dlogits /= N                                          # the mean over the rows
    ### END SOLUTION
    return loss, dlogits


# %% [markdown]
# Check it three ways. First, central differences: `minigen.gradcheck_kernel` nudges
# each logit by `±eps`, recomputes your loss and compares the slope with `dlogits`
# (a random upstream gradient multiplies the scalar loss, as lesson 02 explained;
# the targets are integers and get no gradient). Then the value and the gradient of
# minigen's `F.cross_entropy`, differentiated by its autograd.

# %%
N, V = 6, 5
logits = rng.standard_normal((N, V)) * 3
targets = rng.integers(0, V, size=N)


def ce_forward(logits, targets):
    loss, dlogits = cross_entropy(logits, targets)
    return np.asarray(loss), dlogits                  # the gradient is the cache


def ce_backward(dloss, dlogits):
    return dloss * dlogits, None                      # the chain rule; no gradient for integer targets


print("gradient check passed:", minigen.gradcheck_kernel(ce_forward, ce_backward,
                                                          {"logits": logits, "targets": targets}))
z = minigen.tensor(logits, requires_grad=True)
loss_ref = F.cross_entropy(z, targets)
loss_ref.backward()
loss, dlogits = cross_entropy(logits, targets)
print(f"loss: yours {float(loss):.6f}, minigen {loss_ref.item():.6f}")
print("max |dlogits - minigen's grad| =", np.abs(dlogits - z.grad).max())
print("each row of dlogits sums to 0:", np.allclose(dlogits.sum(axis=1), 0.0))
print("loss at logits ~1e4:", cross_entropy(logits * 3000, targets)[0],
      " minigen:", F.cross_entropy(minigen.tensor(logits * 3000), targets).item())

# %% [markdown]
# minigen's `F.cross_entropy` takes two more arguments, both from PyTorch:
#
# - `ignore_index=-100`: rows whose target is -100 (padding, or the prompt part of a
#   sequence) add nothing to the loss and get zero gradient, and the mean runs over
#   the other rows only;
# - `label_smoothing=eps`: the target becomes `(1 - eps) onehot + eps / V`, so the
#   loss is `(1 - eps) * NLL + eps * mean_c(-log p_c)`. The model is never asked to
#   be 100 % sure, which keeps its logits from growing without bound.
#
# Both are one line away from your function:

# %%
padded = np.where(np.isin(np.arange(N), [1, 4]), -100, targets)    # rows 1 and 4 are padding
keep = padded != -100
print("ignore_index:    minigen", round(F.cross_entropy(minigen.tensor(logits), padded).item(), 6),
      " yours on the kept rows", round(float(cross_entropy(logits[keep], targets[keep])[0]), 6))
eps = 0.1
smoothed = F.cross_entropy(minigen.tensor(logits), targets, label_smoothing=eps).item()
by_hand = (1 - eps) * cross_entropy(logits, targets)[0] + eps * np.mean(-log_softmax(logits))
print("label_smoothing: minigen", round(smoothed, 6), " by hand", round(float(by_hand), 6))

# %% [markdown]
# ## 4. Perplexity and bits per character
#
# The loss is in **nats** per token (natural log). Two other units are common, and
# `minigen.metrics` converts:
#
#     perplexity      = exp(loss)     the number of equally likely choices the model is "torn between"
#     bits per char   = loss / ln 2   (for a character model; bits per token in general)
#
# A model that knows nothing spreads its mass uniformly: `loss = ln V`, perplexity
# `V`, `log2 V` bits. Every model should start near there (if your fresh model's loss
# is far above `ln V`, its initial logits are too large), and a useful one ends
# well below it.

# %%
from minigen.data import CharTokenizer, shakespeare, train_val_split  # noqa: E402

text = shakespeare()[: 300_000 if QUICK else 2_000_000]
tokenizer = CharTokenizer.train(text)
V = tokenizer.vocab_size
train_ids, val_ids = train_val_split(tokenizer.encode(text), 0.1)
uniform_loss = cross_entropy(np.zeros((len(val_ids) - 1, V)), val_ids[1:])[0]
print(f"V = {V} characters; uniform guess: loss {uniform_loss:.4f} nats = ln V = {math.log(V):.4f}, "
      f"perplexity {metrics.perplexity(uniform_loss):.1f}, {metrics.bits_per_char(uniform_loss):.3f} bits/char")

# %% [markdown]
# ## 5. A bigram character model, trained with your loss
#
# The simplest language model predicts the next character from the current one
# only. Its parameters are a table `W` (V, V): row `a` holds the logits of the
# character that follows `a`. Looking a row up is a one-hot vector times `W`,
# so in matrix form
#
#     X = onehot(x)           (N, V)      the current characters
#     logits = X @ W          (N, V)
#     loss, dlogits = cross_entropy(logits, y)      y (N,): the next characters
#     dW = X^T @ dlogits      (V, V)      forward was logits = X W
#
# and plain gradient descent, `W -= lr * dW`, trains it. Multiplying by a one-hot
# matrix is wasteful, so the code does the same thing directly: `X @ W` picks the
# rows `W[x]`, and `X^T @ dlogits` adds each row of `dlogits` into the row of `dW`
# of its character, `np.add.at(dW, x, dlogits)` (exactly what an embedding layer's
# forward and backward do). For this model there is also a closed form: the
# maximum-likelihood bigram is just counting, `p(b | a) = count(a, b) / count(a)`
# (plus a little smoothing, 0.1 added to every count, so that no unseen pair gets
# probability 0). Gradient descent on the cross-entropy should approach the loss of
# the counts, from above.

# %%
counts = np.full((V, V), 0.1)                         # add-0.1 smoothing
np.add.at(counts, (train_ids[:-1], train_ids[1:]), 1)
W_counts = np.log(counts / counts.sum(axis=1, keepdims=True))    # log p(b | a), row a
x_val, y_val = val_ids[:-1], val_ids[1:]
count_loss = cross_entropy(W_counts[x_val], y_val)[0]

W = np.zeros((V, V))                                  # every row uniform: loss ln V
lr, batch, steps = 50.0, 1024, 200 if QUICK else 1000
for step in range(steps):
    i = rng.integers(0, len(train_ids) - 1, size=batch)
    x, y = train_ids[i], train_ids[i + 1]             # (N,) current and next characters
    loss, dlogits = cross_entropy(W[x], y)            # logits = X @ W = W[x], (N, V)
    dW = np.zeros_like(W)
    np.add.at(dW, x, dlogits)                         # dW = X^T @ dlogits
    W -= lr * dW
    if step % (steps // 4) == 0:
        print(f"step {step:4d}: training loss {loss:.3f}")
gd_loss = cross_entropy(W[x_val], y_val)[0]
for name, value in [("uniform", uniform_loss), ("gradient descent", gd_loss), ("counting", count_loss)]:
    print(f"validation {name:17s} loss {value:.4f} nats, perplexity {metrics.perplexity(value):5.2f}, "
          f"{metrics.bits_per_char(value):.3f} bits/char")

# %% [markdown]
# From about 6 bits per character to about 3.5: knowing the previous character
# removes a lot of doubt (after `q` comes `u`), but a bigram cannot spell. Lesson 04
# gives the model a memory.
#
# ## 6. Entropy, and temperature
#
# How unsure is a distribution? Its **entropy**, in nats,
#
#     H(p) = -sum_i p_i log p_i            with 0 log 0 = 0 (the limit of x log x as x -> 0)
#
# is 0 for a one-hot (no doubt at all) and `ln V` for the uniform distribution (the
# most doubt possible over V outcomes). The cross-entropy of section 3 is at least
# the entropy of the data: `exp(H)` is a perplexity too.
#
# ## Exercise 3.3: entropy
#
# Along the last axis, for `p` of shape `(..., V)`, returning shape `(...)`. Entries
# of `p` may be exactly 0: they must contribute 0, with no warning and no `nan`
# (`0 * log(0)` is `0 * -inf = nan` in floating point).


# %%
def entropy(p):
    """Entropy -sum_i p_i log p_i in nats, along the last axis, with 0 log 0 = 0.

    p: (..., V), non-negative, each row summing to 1. Returns an array of shape (...)
    (a 0-d value for a 1-D p). No warnings for zero entries.
    """
    ### BEGIN SOLUTION
    logp = np.log(np.where(p > 0, p, 1.0))                # log 1 = 0 where p = 0: 0 log 0 -> 0
    return np.sum(-p * logp, axis=-1)
    ### END SOLUTION


print("one-hot:", entropy(np.array([0.0, 1.0, 0.0])), " uniform over 4:", entropy(np.full(4, 0.25)),
      " ln 4 =", round(math.log(4), 4))
p_after = softmax_forward(W_counts)[0]                # (V, V): p(next | current) for every character
for ch in ["q", "e", " "]:
    row = p_after[tokenizer.encode(ch)[0]]
    print(f"after {ch!r}: most likely next {tokenizer.decode([int(np.argmax(row))])!r} (p = {row.max():.3f}), "
          f"entropy {entropy(row):.3f} nats")

# %% [markdown]
# **Temperature** reshapes a distribution before sampling: divide the logits by
# `T > 0`,
#
#     p_T = softmax(z / T)
#
# `T = 1` changes nothing. `T < 1` stretches the differences between logits, so the
# likely tokens get likelier (and as `T -> 0` all the mass goes to the argmax:
# greedy decoding, entropy 0). `T > 1` shrinks the differences (and as `T -> inf`
# every token gets `1/V`: entropy `ln V`). Temperature never reorders the tokens.
#
# Often you have the probabilities, not the logits (Chollet's LSTM text generator,
# in *Deep Learning with Python*, has a `reweight_distribution(probs, temperature)`).
# Since `log p = z - lse(z)` differs from `z` by a constant per row, and constants do
# not matter to softmax, the same reweighting is
#
#     q = softmax(log(p) / T),     that is     q_i = p_i^(1/T) / sum_j p_j^(1/T)
#
# ("log, divide, exp, normalise"). Two things need care: a probability of exactly 0
# must stay 0 without a `log(0)` (its log is `-inf`, and `exp(-inf) = 0`), and for
# a small `T` the numbers `p_i^(1/T)` all underflow to 0 (try `0.5 ** 1e4`), so the
# row maximum must be subtracted before `exp`, exactly as in section 1.
#
# ## Exercise 3.4: temperature on probabilities


# %%
def reweight_distribution(probs, temperature):
    """Reweight probabilities by a temperature: q_i = p_i^(1/T) / sum_j p_j^(1/T), along the last axis.

    probs: (..., V), non-negative rows summing to 1 (entries may be exactly 0);
    temperature: a float > 0. Returns an array of the same shape whose rows sum to 1;
    zero probabilities stay exactly 0. No log(0), no warnings, and no nan even for a
    tiny temperature (then the result is the one-hot of the most likely entry).
    """
    ### BEGIN SOLUTION
    positive = probs > 0
    logp = np.where(positive, np.log(np.where(positive, probs, 1.0)), -np.inf)   # log p, -inf where p = 0
    z = logp / temperature                                                       # divide
    z = z - np.max(z, axis=-1, keepdims=True)             # the largest becomes 0: no underflow to all-zeros
    q = np.exp(z)                                         # exp(-inf) = 0: zeros stay zeros
    return q / np.sum(q, axis=-1, keepdims=True)          # normalise
    ### END SOLUTION


p = np.array([0.5, 0.3, 0.2, 0.0])
for T in [1e-4, 0.5, 1.0, 2.0, 100.0]:
    print(f"T = {T:<6}: yours {reweight_distribution(p, T)}  minigen {sample.reweight_distribution(p, T)}")
z = rng.standard_normal(8) * 2
print("softmax(z / T) == reweight(softmax(z), T):",
      np.allclose(softmax_forward(z / 0.7)[0], reweight_distribution(softmax_forward(z)[0], 0.7)))

# %% [markdown]
# ## Entropy against temperature
#
# Take one fixed distribution, the bigram's next-character distribution after a
# space, and sweep the temperature over four orders of magnitude. The entropy
# rises monotonically from 0 (greedy) to `ln V` (uniform). The interesting range
# for sampling is the middle, `T` between about 0.5 and 1.5.

# %%
temperatures = np.logspace(-2, 2, 81)
p_space = p_after[tokenizer.encode(" ")[0]]           # (V,)
p_e = p_after[tokenizer.encode("e")[0]]
H_space = np.array([entropy(reweight_distribution(p_space, T)) for T in temperatures])
H_e = np.array([entropy(reweight_distribution(p_e, T)) for T in temperatures])
print(f"after ' ': H(T=0.01) = {H_space[0]:.4f}, H(T=1) = {entropy(p_space):.3f}, "
      f"H(T=100) = {H_space[-1]:.3f}, ln V = {math.log(V):.3f}")

try:
    import matplotlib.pyplot as plt
except ImportError:                     # the plot is optional: pip install matplotlib
    plt = None
if plt is not None:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.2))
    ax1.semilogx(temperatures, H_space, label="after ' '")
    ax1.semilogx(temperatures, H_e, label="after 'e'")
    ax1.axhline(math.log(V), color="gray", ls="--", lw=1, label="ln V (uniform)")
    ax1.axvline(1.0, color="gray", ls=":", lw=1)
    ax1.set_xlabel("temperature T")
    ax1.set_ylabel("entropy (nats)")
    ax1.set_title("Entropy of the next character against T")
    ax1.legend()
    order = np.argsort(-p_space)[:12]
    for k, T in enumerate([0.5, 1.0, 2.0]):
        ax2.bar(np.arange(12) + (k - 1) * 0.27, reweight_distribution(p_space, T)[order], width=0.27,
                label=f"T = {T}")
    ax2.set_xticks(np.arange(12), [repr(c)[1:-1] for c in tokenizer.decode(order)])
    ax2.set_title("The 12 likeliest characters after a space")
    ax2.legend()
    plt.tight_layout()
    plt.show()

# %% [markdown]
# ## Samples at several temperatures
#
# Finally, generate text from the bigram model. At every step take the row of the
# current character, divide by `T`, and draw from the softmax; minigen's
# `sample.sample_next(logits, temperature=T, rng=rng)` does the drawing (an
# inverse-CDF lookup on a seeded generator, so the text is reproducible), and
# `temperature=0` means the argmax. Watch the trade-off: a low temperature repeats
# the likeliest path ("the the the"), a high one produces letter soup.

# %%
def bigram_sample(W, start, n, temperature, seed=0):
    gen = np.random.default_rng(seed)
    ids = [tokenizer.encode(start)[-1]]
    for _ in range(n):
        logits = W[ids[-1]][None, :]                  # (1, V): the current character's row
        ids.append(int(sample.sample_next(logits, do_sample=True, temperature=temperature, rng=gen)[0]))
    return start + tokenizer.decode(ids[1:])


for T in [0, 0.3, 0.7, 1.0, 1.5]:
    print(f"--- T = {T}" + (" (greedy)" if T == 0 else ""))
    print(bigram_sample(W_counts, "T", 100, T).replace("\n", " / "))

# %% [markdown]
# ## Exercises
#
# 1. (Graded: 3.1 to 3.4 above.) `python -m minigen grade . --public-only` runs the
#    public checks on your functions.
# 2. Write `cross_entropy` as `-np.log(softmax(logits))[rows, targets].mean()` and
#    call it on `logits * 3000`. Which entries become `inf`, and why does the
#    log-sum-exp form not have that problem?
# 3. Add `label_smoothing` to your `cross_entropy` (value and gradient: the target
#    becomes `(1 - eps) onehot + eps / V`) and compare with
#    `F.cross_entropy(..., label_smoothing=eps)`. What is the smallest loss a
#    smoothed model can reach on one row, and which logits reach it?
# 4. Show that `H(softmax(z / T))` never decreases as `T` grows: with `b = 1/T`,
#    its derivative with respect to `b` is `-b Var(z)`, the variance of the logits
#    under `p_T`. Then measure the validation cross-entropy of the bigram under
#    `softmax(W_counts / T)` for `T` from 0.5 to 2. Which `T` scores best, and why
#    is that no accident for a model fitted by maximum likelihood?
