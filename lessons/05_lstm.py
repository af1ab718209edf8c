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
# # Lesson 05: the LSTM
#
# In lesson 04 the vanilla RNN's gradient had to pass through `tanh'(a) * W_hh`
# once per time step, so over a long sequence it shrank (or blew up) geometrically.
# The LSTM (Hochreiter & Schmidhuber, 1997; the forget gate came with Gers et al.,
# 2000) adds a second state, the **cell** `c`, that is updated by *addition*, with
# gates deciding what to forget and what to write:
#
#     a = x W_ih^T + h_prev W_hh^T + b          (B, 4H): four pre-activations side by side
#     i = sigmoid(a_i)     input gate:  how much of the candidate to write
#     f = sigmoid(a_f)     forget gate: how much of the old cell to keep
#     g = tanh(a_g)        the candidate
#     o = sigmoid(a_o)     output gate: how much of the cell to show
#     c = f * c_prev + i * g
#     h = o * tanh(c)
#
# Along the cell, the gradient from `c` to `c_prev` is just `f`: no weight matrix,
# no squashing derivative. When the forget gate is open, the gradient flows back
# many steps unharmed.
#
# The four gates are packed into one matrix in PyTorch's order **i, f, g, o**:
# rows `[0:H]` of `W_ih`, `W_hh` and `b` belong to `i`, `[H:2H]` to `f`, and so on.
# One matrix product then computes all four pre-activations at once.
#
# In this lesson you write the cell's forward and backward passes, check them with
# central differences, compare them with minigen's kernel, and train a char-LSTM.
#
# Run it as a script (`python 05_lstm.py`), or open it as a notebook with jupytext.
# `MINIGEN_QUICK=1` (or `--quick`) makes the training part short.

# %%
import os
import sys
import warnings

import minigen  # first: minigen tunes OpenBLAS's threads, which must happen before NumPy loads
import numpy as np

from minigen.kernels.lstm import lstm_cell_backward, lstm_cell_forward

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)

# %% [markdown]
# ## Exercise 5.1: a sigmoid without overflow
#
# The textbook formula `1 / (1 + np.exp(-x))` still gives the right value at
# `x = -1000`: `np.exp(1000)` overflows to `inf`, and `1 / (1 + inf)` is exactly `0.0`.
# But NumPy warns about the overflow, and the `inf` does damage as soon as it is
# reused: the derivative written as `np.exp(-x) / (1 + np.exp(-x))**2` is
# `inf / inf = nan` there. Write a sigmoid in which no `exp` overflows. Two ways:
#
# - `0.5 * np.tanh(0.5 * x) + 0.5` (the same function; `tanh` never overflows). It is
#   finite everywhere, with an absolute error of about 1e-16, but it is not exact in
#   relative terms for very negative `x`: `tanh(0.5 x)` rounds to -1 below about
#   x = -38, so the result is 0 there, and at x = -20 its relative error is about 9e-9.
#   For a gate, which multiplies other numbers, an absolute error of 1e-16 does no harm.
# - Treat the two signs apart: `1 / (1 + exp(-x))` for `x >= 0` and
#   `exp(x) / (1 + exp(x))` for `x < 0`, so that `exp` only ever sees numbers <= 0.
#   This is exact to rounding everywhere. Beware of
#   `np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))`: `np.where`
#   evaluates **both** branches on every element, so `np.exp(-x)` still overflows and
#   warns at x = -1000. Compute `np.exp(-np.abs(x))` once and build both branches from it.
#
# The checks feed your sigmoid x = +-1000 and count a RuntimeWarning as a failure.


# %%
def sigmoid(x):
    """The logistic function 1 / (1 + exp(-x)), elementwise, finite for any finite x, without overflow warnings."""
    ### BEGIN SOLUTION
    return 0.5 * np.tanh(0.5 * x) + 0.5
    ### END SOLUTION


print(sigmoid(np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0])))

# %% [markdown]
# The claims above, measured: the naive formula (its warnings counted), the tanh form,
# and the two-branch form, which is exact to rounding.

# %%
def sigmoid_two_branches(x):
    e = np.exp(-np.abs(x))                                   # exp of a number <= 0: at most 1
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    x = np.array(-1000.0)
    naive, naive_slope = 1 / (1 + np.exp(-x)), np.exp(-x) / (1 + np.exp(-x)) ** 2
print(f"naive at x = -1000: {naive}, its slope written with exp(-x): {naive_slope}, {len(caught)} warnings")
xs = np.linspace(-800, 800, 160_001)
tanh_form = 0.5 * np.tanh(0.5 * xs) + 0.5
print(f"tanh form: largest absolute error {np.abs(tanh_form - sigmoid_two_branches(xs)).max():.1e}; "
      f"relative error at x = -20: {abs(0.5 * np.tanh(-10.0) + 0.5) / sigmoid_two_branches(-20.0) - 1:.1e}; "
      f"it is 0 for x <= {xs[np.argmax(tanh_form > 0)] - 0.01:.2f} (steps of 0.01), "
      f"where the true value is {sigmoid_two_branches(-38.0):.1e} at x = -38")

# %% [markdown]
# ## Exercise 5.2: one step forward
#
# Shapes, with lesson 04's letters (B batch, C input channels, H hidden size):
# `x (B, C)`, `h_prev (B, H)`, `c_prev (B, H)`, `W_ih (4H, C)`, `W_hh (4H, H)`,
# `b (4H,)`. Return `h`, `c` and a `cache` holding whatever your backward pass will
# need.


# %%
def lstm_step_forward(x, h_prev, c_prev, W_ih, W_hh, b):
    """One LSTM step. Returns ``(h, c, cache)``, with h and c of shape (B, H)."""
    H = h_prev.shape[1]
    ### BEGIN SOLUTION
    a = x @ W_ih.T + h_prev @ W_hh.T + b               # (B, 4H)
    i = sigmoid(a[:, 0:H])
    f = sigmoid(a[:, H:2 * H])
    g = np.tanh(a[:, 2 * H:3 * H])
    o = sigmoid(a[:, 3 * H:4 * H])
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    cache = (x, h_prev, c_prev, W_ih, W_hh, i, f, g, o, tanh_c)
    ### END SOLUTION
    return h, c, cache


# %% [markdown]
# ## Exercise 5.3: one step backward
#
# Given `dh` and `dc` (the gradients of the loss with respect to this step's `h`
# and `c`), return the gradients of every input, in this order:
# `dx, dh_prev, dc_prev, dW_ih, dW_hh, db`.
#
# Walk the forward pass backwards, one line at a time:
#
# - forward was `h = o * tanh(c)`, so `do = dh * tanh(c)`, and `c` gets a second
#   gradient on top of `dc`: `dc_total = dc + dh * o * (1 - tanh(c)^2)`;
# - forward was `c = f * c_prev + i * g`, so `di = dc_total * g`,
#   `df = dc_total * c_prev`, `dg = dc_total * i` and `dc_prev = dc_total * f`;
# - forward was `i = sigmoid(a_i)`, so `da_i = di * i * (1 - i)`; likewise
#   `da_f = df * f * (1 - f)` and `da_o = do * o * (1 - o)`, while `g = tanh(a_g)` gives
#   `da_g = dg * (1 - g^2)`;
# - `da` (B, 4H) is the four side by side, in the forward's order **i, f, g, o**:
#   `da = [da_i, da_f, da_g, da_o]`;
# - forward was `a = x W_ih^T + h_prev W_hh^T + b`, so `dx = da W_ih`,
#   `dh_prev = da W_hh`, `dW_ih = da^T x`, `dW_hh = da^T h_prev` and `db` is `da`
#   summed over the batch.


# %%
def lstm_step_backward(dh, dc, cache):
    """Backward of ``lstm_step_forward``. Returns ``(dx, dh_prev, dc_prev, dW_ih, dW_hh, db)``."""
    ### BEGIN SOLUTION
    x, h_prev, c_prev, W_ih, W_hh, i, f, g, o, tanh_c = cache
    do = dh * tanh_c
    dc_total = dc + dh * o * (1 - tanh_c * tanh_c)
    di, df, dg = dc_total * g, dc_total * c_prev, dc_total * i
    dc_prev = dc_total * f
    da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g * g), do * o * (1 - o)], axis=1)
    dx = da @ W_ih
    dh_prev = da @ W_hh
    dW_ih = da.T @ x
    dW_hh = da.T @ h_prev
    db = da.sum(axis=0)
    ### END SOLUTION
    return dx, dh_prev, dc_prev, dW_ih, dW_hh, db


# %% [markdown]
# ## Checking the backward pass
#
# `minigen.gradcheck_kernel` perturbs every input element by `±eps`, runs the
# forward pass twice, and compares the slope with your analytic gradient. It uses
# a *random* upstream gradient for `h` and `c` (lesson 02 shows why `out.sum()`
# would not do), and float64 throughout.

# %%
B, C, H = 3, 4, 5
inputs = {
    "x": rng.standard_normal((B, C)),
    "h_prev": rng.standard_normal((B, H)),
    "c_prev": rng.standard_normal((B, H)),
    "W_ih": rng.standard_normal((4 * H, C)) * 0.5,
    "W_hh": rng.standard_normal((4 * H, H)) * 0.5,
    "b": rng.standard_normal(4 * H) * 0.1,
}


def forward(*args):
    h, c, cache = lstm_step_forward(*args)
    return (h, c), cache


def backward(douts, cache):
    return lstm_step_backward(douts[0], douts[1], cache)


print("gradient check passed:", minigen.gradcheck_kernel(forward, backward, inputs))

# %% [markdown]
# Your cell should also agree with minigen's own kernel, which keeps PyTorch's two
# bias vectors `b_ih` and `b_hh` (their sum plays the role of our `b`).

# %%
(h_ref, c_ref), _ = lstm_cell_forward(inputs["x"], inputs["h_prev"], inputs["c_prev"],
                                      inputs["W_ih"], inputs["W_hh"], inputs["b"], None)
h, c, cache = lstm_step_forward(*inputs.values())
print("max |h - h_minigen| =", np.abs(h - h_ref).max())
dh, dc = rng.standard_normal((B, H)), rng.standard_normal((B, H))
ref = lstm_cell_backward((dh, dc), lstm_cell_forward(*inputs.values(), None)[1])
mine = lstm_step_backward(dh, dc, cache)
for name, a, r in zip(["dx", "dh_prev", "dc_prev", "dW_ih", "dW_hh", "db"], mine, ref):
    print(f"{name:8s} max abs difference {np.abs(a - r).max():.2e}")

# %% [markdown]
# ## Why the cell helps: the gradient through 100 steps
#
# Run 100 steps with random inputs and push a gradient back from the last cell
# state. Along the cell path it is multiplied by `f` at every step; a forget gate
# biased open (a common trick: `b_f = 1`) keeps more of it. Both runs use the same
# weights and inputs (the function draws them from its own seeded generator), so the
# forget bias is the only difference.

# %%
def gradient_norms(forget_bias, T=100, seed=1):
    r_ = np.random.default_rng(seed)          # the same weights and inputs for every forget bias
    H = 8
    W_ih = r_.standard_normal((4 * H, 1)) * 0.3
    W_hh = r_.standard_normal((4 * H, H)) * 0.3
    b = np.zeros(4 * H)
    b[H:2 * H] = forget_bias
    h, c, caches = np.zeros((1, H)), np.zeros((1, H)), []
    for t in range(T):
        h, c, cache = lstm_step_forward(r_.standard_normal((1, 1)), h, c, W_ih, W_hh, b)
        caches.append(cache)
    dh, dc, norms = np.zeros((1, H)), np.ones((1, H)), []
    for cache in reversed(caches):
        _, dh, dc, *_ = lstm_step_backward(dh, dc, cache)
        norms.append(np.linalg.norm(dc))
    return norms[::-1]


norms0, norms1 = gradient_norms(0.0), gradient_norms(1.0)
print(f"|dc_0| after 100 steps: forget bias 0 -> {norms0[0]:.2e}, forget bias 1 -> {norms1[0]:.2e}")

try:
    import matplotlib.pyplot as plt
except ImportError:                     # the plot is optional: pip install matplotlib
    plt = None
if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.semilogy(norms0, label="forget bias 0")
    ax.semilogy(norms1, label="forget bias 1")
    ax.set_xlabel("time step t")
    ax.set_ylabel("|dL/dc_t|")
    ax.legend()
    ax.set_title("Gradient flowing back along the cell state")
    plt.show()

# %% [markdown]
# ## The full char-LSTM
#
# minigen's `nn.LSTM` runs the same maths over a whole sequence, with the input
# projection for all time steps in one matrix product (as lesson 04's `rnn_forward`
# kernel did). `RNNLanguageModel`, whose default cell is `"lstm"`, wraps it between
# an embedding and a linear head. Here it learns Shakespeare for a short while
# (longer without quick mode), with the same `Trainer` and truncated BPTT as in
# lesson 04, and we sample from it.

# %%
from minigen.data import CharTokenizer, shakespeare, train_val_split  # noqa: E402
from minigen.models import RNNLanguageModel  # noqa: E402
from minigen.train import Trainer  # noqa: E402

text = shakespeare()[: 200_000 if QUICK else 2_000_000]
tokenizer = CharTokenizer.train(text)
train_ids, val_ids = train_val_split(tokenizer.encode(text), 0.05)
minigen.manual_seed(0)
model = RNNLanguageModel(tokenizer.vocab_size, embed_dim=32, hidden_size=128 if QUICK else 256, num_layers=1)
optimizer = minigen.optim.Adam(model.parameters(), lr=4e-3)
trainer = Trainer(model, optimizer, train_ids, val_ids, tokenizer=tokenizer, batch_size=32, seq_len=64,
                  max_steps=60 if QUICK else 1500, warmup_steps=10, eval_interval=60 if QUICK else 500,
                  eval_tokens=8192, progress=not QUICK)
result = trainer.fit()
print("validation loss:", round(trainer.history[-1]["val_loss"], 3))
prompt = np.array([tokenizer.encode("ROMEO:")])
out = model.generate(prompt, max_new_tokens=120, do_sample=True, temperature=0.8, seed=0)
print(tokenizer.decode(out[0].tolist()))

# %% [markdown]
# ## Exercises
#
# 1. (Graded: 5.1 to 5.3 above.) `python -m minigen grade . --public-only` runs the
#    public checks on your functions.
# 2. Plant a bug on purpose: drop the `f * (1 - f)` factor from the forget gate's
#    gradient and rerun the gradient check. Which gradients does it name, and why
#    is `dc_prev` still right?
# 3. Change `gradient_norms` to compare the cell path with the hidden path
#    (`dh` instead of `dc`). Which one vanishes faster?
# 4. Train the char-LSTM with `hidden_size=64` and with `256`. How do the validation
#    loss and the samples change?
