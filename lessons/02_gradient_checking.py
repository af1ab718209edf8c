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
# # Lesson 02: gradient checking
#
# In lesson 01 every operation knew its local derivative, and `backward()` chained
# them. A real engine also has hand-written backward passes, *kernels*, for whole
# layers: softmax, layer norm, an LSTM cell, attention. They are faster and leaner
# than the chain of their parts, and they can be wrong. A wrong backward does not
# crash: the model trains a little worse, or not at all, and nothing says why.
#
# **Gradient checking** compares the analytic gradient (what `backward` returns)
# with a numeric one (what nudging the inputs gives). It only catches bugs if it
# is done right. This lesson shows the four things that matter:
#
# 1. central differences, not one-sided ones;
# 2. float64, with a step `eps` around `1e-6`;
# 3. a **random** upstream gradient: check `L = sum(out * dout)`, never `out.sum()`;
# 4. reading the relative error, and knowing where the check itself breaks (kinks).
#
# Shapes: `x` and `dout` are `(..., V)` arrays; softmax works along the last axis
# (V = classes, the vocabulary in a language model).
#
# Run it as a script (`python 02_gradient_checking.py`), or open it as a notebook
# with jupytext. `MINIGEN_QUICK=1` (or `--quick`) draws the plot with fewer points.

# %%
import os
import sys

import minigen  # first: minigen tunes OpenBLAS's threads, which must happen before NumPy loads
import numpy as np

import minigen.functional as F
from minigen.kernels import softmax as K

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)

# %% [markdown]
# ## Exercise 2.1: a numeric gradient
#
# For a scalar function `f` of an array `x`, the derivative with respect to one
# element `x_j` is the slope along that element alone:
#
#     df/dx_j  ~  (f(x + eps e_j) - f(x - eps e_j)) / (2 eps)
#
# where `e_j` is 1 at position `j` and 0 elsewhere. Loop over every index of `x`
# (`np.ndindex(x.shape)` walks them all, for any number of dimensions), set
# `x[j]` to `x_j + eps`, evaluate, set it to `x_j - eps`, evaluate, and **put the
# old value back** before moving on: otherwise every later element is measured at
# a shifted point, and the caller's `x` comes back changed.
#
# It costs two evaluations of `f` per element: fine for checking, hopeless for
# training.


# %%
def numeric_gradient(f, x, eps=1e-6):
    """Central differences of the scalar function ``f`` at the float64 array ``x``.

    Returns ``grad``, a float64 array shaped like ``x`` with
    ``grad[j] = (f(x + eps e_j) - f(x - eps e_j)) / (2 eps)``. ``x`` may be perturbed in
    place, but every element must be restored, so ``x`` is unchanged when this returns.
    """
    grad = np.zeros(x.shape)
    ### BEGIN SOLUTION
    for j in np.ndindex(x.shape):
        old = x[j]
        x[j] = old + eps
        f_plus = f(x)
        x[j] = old - eps
        f_minus = f(x)
        x[j] = old                          # restore before the next element
        grad[j] = (f_plus - f_minus) / (2 * eps)
    ### END SOLUTION
    return grad


x = rng.standard_normal((2, 3))
numeric = numeric_gradient(lambda x: np.sum(np.sin(x) * x), x)
analytic = np.cos(x) * x + np.sin(x)                 # d/dx (x sin x) = sin x + x cos x
print("max |numeric - analytic| =", np.abs(numeric - analytic).max())

# %% [markdown]
# ## How big should `eps` be?
#
# Taylor's formula says what each difference measures:
#
#     f(x + eps) = f(x) + eps f'(x) + eps^2/2 f''(x) + eps^3/6 f'''(x) + ...
#
#     one-sided   (f(x + eps) - f(x)) / eps           = f'(x) + eps/2 f''(x)   + ...   error O(eps)
#     central     (f(x + eps) - f(x - eps)) / (2 eps) = f'(x) + eps^2/6 f'''(x) + ...  error O(eps^2)
#
# In the central difference the `f(x)` and `eps^2/2 f''(x)` terms cancel, so its
# *truncation* error is `O(eps^2)`: it falls twice as fast (in orders of magnitude)
# as the one-sided error when `eps` shrinks. But there is a second error. Each value
# of `f` is rounded to the float format's precision, the unit roundoff `u`
# (`2^-53`, about `1.1e-16`, in float64; `2^-24`, about `6e-8`, in float32; NumPy's
# `np.finfo(dtype).eps` is the gap between 1 and the next number, which is `2u`). The
# difference of two nearly equal values still holds the signal, about `2 eps f'(x)`,
# but the two roundings leave an *error* in it of about `u |f|`, and the division by
# `eps` then *amplifies* that error: a *round-off* error of about `u |f| / eps` in the
# slope, which grows as `eps` shrinks.
#
# The total error is V-shaped in `eps`. Below we measure it for `f = tanh` at 200
# points (the median relative error) in both precisions.

# %%
points = np.linspace(-2, 2, 200)
exact = 1 - np.tanh(points) ** 2
eps_grid = np.logspace(-14, -1, 27 if QUICK else 66)
errors = {}
for dtype in (np.float64, np.float32):
    x0 = points.astype(dtype)
    central, one_sided = [], []
    for eps in eps_grid:
        e = dtype(eps)
        d_central = (np.tanh(x0 + e) - np.tanh(x0 - e)) / (2 * e)
        d_one = (np.tanh(x0 + e) - np.tanh(x0)) / e
        central.append(np.median(np.abs(d_central - exact) / exact))
        one_sided.append(np.median(np.abs(d_one - exact) / exact))
    errors[f"central, {dtype.__name__}"] = np.array(central)
    errors[f"one-sided, {dtype.__name__}"] = np.array(one_sided)

print(f"{'':20s} {'best eps':>9s} {'error there':>12s} {'error at eps=1e-6':>18s}")
at_1e6 = int(np.argmin(np.abs(np.log(eps_grid / 1e-6))))
for name, err in errors.items():
    k = int(np.argmin(err))
    print(f"{name:20s} {eps_grid[k]:9.0e} {err[k]:12.1e} {err[at_1e6]:18.1e}")

try:
    import matplotlib.pyplot as plt
except ImportError:                     # the plot is optional: pip install matplotlib
    plt = None
if plt is not None:
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, err in errors.items():
        ax.loglog(eps_grid, np.maximum(err, 1e-17), "-" if "central" in name else "--", label=name)
    ax.set_xlabel("eps")
    ax.set_ylabel("median relative error of f'")
    ax.set_title("Finite differences of tanh: truncation (right) vs round-off (left)")
    ax.legend()
    plt.show()

# %% [markdown]
# Read the plot from the right. The truncation arms have slope 2 (central) and
# slope 1 (one-sided): shrinking `eps` tenfold gains two digits, or one. On the
# left every curve rises with slope -1, the round-off `u / eps`, until `eps` is
# so small that `x + eps == x` and the estimate is 0 (relative error 1). The
# bottom of each V is where the two errors meet: near `eps = u^(1/2)` for one-sided
# differences and `u^(1/3)` for central ones.
#
# **Why float64.** In float64, central differences with `eps = 1e-6` are good to
# about 1e-10, far below any sensible tolerance, and anywhere between `1e-4` and
# `1e-7` works. In float32 the best achievable error is about 1e-5, and at
# `eps = 1e-6` it is about 1e-2: the check itself would be noisier than many of the
# bugs it is meant to find. So gradient checks run in float64, and minigen's
# `gradcheck` refuses anything else, with the reason:

# %%
try:
    minigen.gradcheck(lambda x: x.tanh(), [minigen.tensor(np.ones(3, dtype=np.float32))])
except ValueError as err:
    print(err)

# %% [markdown]
# **A third error: the step itself is rounded.** The model above says the relative
# error is the same at every `x`. It is not, because `x + eps` and `x - eps` are
# rounded to the float grid too: near `x` the grid's spacing is about `2u |x|`, so the
# step actually taken differs from `2 eps` by up to about `u |x|`, a relative error of
# about `u |x| / eps` in the slope. For `x` near 1 that is below the other errors; for
# `f = exp` at `x = 20` it is twenty times larger and dominates. Dividing by the step
# actually taken, `(x + eps) - (x - eps)`, removes it:

# %%
for lo, hi in ((0.0, 1.0), (19.5, 20.5)):
    xs = np.random.default_rng(1).uniform(lo, hi, 1000)
    rise = np.exp(xs + 1e-6) - np.exp(xs - 1e-6)
    nominal = np.median(np.abs(rise / 2e-6 / np.exp(xs) - 1))
    taken = np.median(np.abs(rise / ((xs + 1e-6) - (xs - 1e-6)) / np.exp(xs) - 1))
    print(f"exp on [{lo:4}, {hi:4}], eps = 1e-6: median relative error {nominal:.1e} dividing by 2 eps, "
          f"{taken:.1e} dividing by the step taken")

# %% [markdown]
# ## Exercise 2.2: a softmax that never overflows
#
# Softmax turns a row of scores (logits) into probabilities:
#
#     s_i = exp(x_i) / sum_j exp(x_j)
#
# `exp(1000)` overflows to `inf`, and `inf / inf` is `nan`. Subtracting the row's
# maximum `m` first changes nothing mathematically (`exp(-m)` cancels between the
# numerator and the denominator), but now the largest exponent is `exp(0) = 1`:
#
#     s_i = exp(x_i - m) / sum_j exp(x_j - m),    m = max_j x_j
#
# Work along the last axis, so that the same code handles `(V,)`, `(B, V)` and
# `(B, T, V)` inputs (`keepdims=True` keeps the reduced axis for broadcasting).


# %%
def softmax(x):
    """Softmax of ``x`` (shape (..., V)) along the last axis; finite for any finite x. Returns ``s``, shaped like x."""
    ### BEGIN SOLUTION
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
    ### END SOLUTION


big = np.array([[1e4, 1e4 - 1.0, -1e4], [0.5, 1.0, 2.0]])
with np.errstate(over="ignore", invalid="ignore"):      # the naive formula overflows, on purpose
    naive = np.exp(big) / np.exp(big).sum(axis=-1, keepdims=True)
print("naive:  ", naive[0])
print("stable: ", softmax(big)[0])
x = rng.standard_normal((2, 3, 5))
print("max |softmax - minigen kernel| =", np.abs(softmax(x) - K.softmax_forward(x)[0]).max())
print("F.softmax at logits 1e4:", F.softmax(minigen.tensor(big)).numpy()[0])

# %% [markdown]
# ## The vector-Jacobian product, and Exercise 2.3
#
# A layer maps an input `x` to an output `out`. Its backward pass does not build
# the Jacobian `J = d out / d x` (for a softmax over V classes, V x V numbers per
# row); it receives `dout = dL/d out` from the layer above and returns
#
#     dx = J^T dout          (the vector-Jacobian product)
#
# For softmax, `d s_i / d x_k = s_i (delta_ik - s_k)`, that is `J = diag(s) - s s^T`
# (one such matrix per row), and
#
#     dx_k = sum_i dout_i s_i (delta_ik - s_k) = s_k (dout_k - sum_i dout_i s_i)
#
# In words: `dout` minus its average *weighted by the probabilities*, times `s`.
#
# **How to check it.** `dx = J^T dout` is the gradient of the scalar
#
#     L(x) = sum(out(x) * dout)
#
# with `dout` held fixed, and `numeric_gradient` can differentiate that scalar.
# So a backward pass is checked by drawing a `dout`, calling backward, and
# comparing with `numeric_gradient(lambda x: np.sum(forward(x) * dout), x)`.


# %%
def softmax_backward(dout, s):
    """Backward of ``s = softmax(x)`` along the last axis. ``dout`` and ``s`` have shape (..., V); returns ``dx``."""
    # forward was s = exp(x - m) / sum(exp(x - m)), so dx = J^T dout with J = diag(s) - s s^T
    ### BEGIN SOLUTION
    dx = s * (dout - (dout * s).sum(axis=-1, keepdims=True))
    ### END SOLUTION
    return dx


x = rng.standard_normal((3, 5))
dout = rng.standard_normal((3, 5))                     # a random upstream gradient
analytic = softmax_backward(dout, softmax(x))
numeric = numeric_gradient(lambda x: np.sum(softmax(x) * dout), x)
print("max |analytic - numeric|        =", np.abs(analytic - numeric).max())
print("max |analytic - minigen kernel| =", np.abs(analytic - K.softmax_backward(dout, K.softmax_forward(x)[1])).max())

# %% [markdown]
# ## Why the upstream gradient must be random
#
# The tempting shortcut is to check `out.sum()`: it needs no `dout` at all. But
# that *is* the choice `dout = 1`, and it only tests one direction, `J^T 1`. For
# a softmax that direction is blind: every row of `s` sums to 1 whatever `x` is,
# so the true gradient of `sum(softmax(x))` is **zero**, and any backward pass that
# also returns zero for `dout = 1` passes.
#
# Here is such a backward pass, a plausible slip: it subtracts the *plain* mean of
# `dout` instead of the probability-weighted one. For `dout = 1` both means are 1,
# so it returns 0, exactly like the true gradient.

# %%
def broken_softmax_backward(dout, s):
    """WRONG: subtracts the plain mean of dout instead of sum(dout * s)."""
    dx = s * (dout - dout.mean(axis=-1, keepdims=True))
    return dx


x = rng.standard_normal((3, 5))
s = softmax(x)
for label, d in [("sum of outputs (dout = 1)", np.ones_like(x)), ("random dout", rng.standard_normal(x.shape))]:
    numeric = numeric_gradient(lambda x: np.sum(softmax(x) * d), x)
    for name, backward in [("right ", softmax_backward), ("broken", broken_softmax_backward)]:
        err = np.abs(backward(d, s) - numeric).max()
        print(f"{label:26s} {name} backward: max |analytic - numeric| = {err:.1e}"
              f"   {'passes' if err < 1e-6 else 'FAILS'}")

# %% [markdown]
# The sum check passes both; only the random `dout` tells them apart. A random
# `dout` has no special structure, so a wrong `J^T` gives a wrong `J^T dout` with
# probability 1. (A gradient checker that tests `out.sum()`, as some teaching
# code does, would let this very softmax bug through.)
#
# ## The same check with minigen
#
# `minigen.gradcheck_kernel(forward, backward, inputs)` does all of the above for a
# kernel pair: `forward(*inputs) -> (out, cache)`, `backward(dout, cache) -> grads`.
# It draws a random `dout` (seeded), perturbs every element of every floating
# input (they must be float64; integer inputs such as token ids are passed through
# unchanged), and raises `GradcheckError` naming the wrong gradient. With a dict of
# inputs, the keys name the gradients: `{"x": x}` reports `dx`.

# %%
def forward(x):
    s = softmax(x)
    return s, s                                         # (out, cache): the backward needs s


inputs = {"x": rng.standard_normal((4, 6))}
print("right backward: ", minigen.gradcheck_kernel(forward, softmax_backward, inputs))
try:
    minigen.gradcheck_kernel(forward, broken_softmax_backward, inputs)
except minigen.GradcheckError as err:
    print("broken backward:", err)
    print(f"\nthe report, as attributes: input={err.input!r} index={err.index} analytic={err.analytic:.6g} "
          f"numeric={err.numeric:.6g} rel_error={err.rel_error:.3g}")

# %% [markdown]
# The report names the gradient (`dx`), its worst element, the analytic value
# (what your backward returned there), the numeric one (central differences of
# `sum(out * dout)`), and their relative error, then gives advice.
#
# `minigen.gradcheck(fn, inputs)` is the same for a function of Tensors, whose
# backward comes from autograd. Wrapping each backward in a `minigen.Function`
# shows that the engine passes the bug through untouched, and that the check
# catches it in the middle of a network too:

# %%
class Softmax(minigen.Function):
    def forward(self, x):
        self.s = softmax(x)
        return self.s

    def backward(self, dout):
        return softmax_backward(dout, self.s)


class BrokenSoftmax(Softmax):
    def backward(self, dout):
        return broken_softmax_backward(dout, self.s)


x = minigen.tensor(rng.standard_normal((4, 3)))
W = minigen.tensor(rng.standard_normal((3, 5)))
for layer in (Softmax, BrokenSoftmax, None):
    def net(x, W):
        logits = x @ W                                  # (B, C) @ (C, V) -> (B, V)
        return F.softmax(logits) if layer is None else layer.apply(logits)
    name = "F.softmax" if layer is None else layer.__name__
    try:
        print(f"{name:14s} gradcheck:", minigen.gradcheck(net, {"x": x, "W": W}))
    except minigen.GradcheckError as err:
        print(f"{name:14s} gradcheck: {str(err).splitlines()[0]}")

# %% [markdown]
# The broken softmax makes both `dx` and `dW` wrong (the error flows back through
# `x @ W` to both); the report names the worse of the two first, and lists the other.
#
# ## Exercise 2.4: reading the error
#
# An absolute difference means little on its own: `1e-6` is tiny for a gradient of
# size 100 and huge for one of size `1e-8`. The **relative error**
#
#     rel(a, n) = |a - n| / max(|a|, |n|)
#
# is scale-free (guard the denominator with a tiny number, so that two zeros give
# 0, not `nan`). Report the worst element. Rules of thumb for float64 with
# `eps = 1e-6`:
#
# - around `1e-7` or below: right (smooth functions give `1e-8` to `1e-11`);
# - around `1e-4` to `1e-2`: suspicious. Look for a kink near the inputs, a float32
#   somewhere, a badly chosen `eps`, or a bug that touches few elements;
# - around `1` (or 2, a sign flip): wrong, unless the check itself ran in float32.
#
# The worst element decides, because a bug often touches only a few (one row of a
# batch, the last time step, a repeated index).
#
# Near a true gradient of 0 the relative error is large even for a right answer
# (`1e-12` against `1e-14`), so real checkers combine both, as `np.isclose` does:
# `|a - n| <= atol + rtol * |n|` (minigen's defaults: `atol = 1e-5`, `rtol = 1e-3`).


# %%
def relative_error(a, b):
    """The largest elementwise ``|a - b| / max(|a|, |b|, 1e-300)`` of two same-shaped arrays, as a Python float.

    Two zeros give 0 (the 1e-300 floor avoids 0 / 0).
    """
    ### BEGIN SOLUTION
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-300)
    return float(np.max(np.abs(a - b) / scale))
    ### END SOLUTION


x = rng.standard_normal((3, 5))
d = rng.standard_normal(x.shape)
s = softmax(x)
right, broken = softmax_backward(d, s), broken_softmax_backward(d, s)


def numeric_at(eps, dtype=np.float64):
    """Central differences of sum(softmax(x) * d), computed in ``dtype`` with step ``eps``."""
    return numeric_gradient(lambda x: np.sum(softmax(x) * d.astype(dtype)), x.astype(dtype), eps)


for label, a, n in [("right backward, float64, eps 1e-6", right, numeric_at(1e-6)),
                    ("right backward, float64, eps 1e-2", right, numeric_at(1e-2)),
                    ("right backward, float64, eps 1e-10", right, numeric_at(1e-10)),
                    ("right backward, float32, eps 1e-3", right, numeric_at(1e-3, np.float32)),
                    ("right backward, float32, eps 1e-6", right, numeric_at(1e-6, np.float32)),
                    ("broken backward, float64, eps 1e-6", broken, numeric_at(1e-6)),
                    ("sign flipped, float64, eps 1e-6", -right, numeric_at(1e-6))]:
    print(f"{label:36s} relative error {relative_error(a, n):.1e}")

# %% [markdown]
# **Kinks.** Central differences assume the function is smooth between `x - eps`
# and `x + eps`. `relu(x) = max(0, x)` has a kink at 0: there the numeric slope is
# `(eps - 0) / (2 eps) = 0.5` (times `dout`), while the analytic one is 0 (or 1, by
# convention), and at `x = 2e-7`, closer to 0 than `eps`, it is 0.6 instead of 1.
# The backward is right, and the check fails anyway:

# %%
x = minigen.tensor(np.array([-1.5, -0.3, 0.0, 2e-7, 0.8]))
try:
    minigen.gradcheck(lambda x: x.relu(), {"x": x})
except minigen.GradcheckError as err:
    print(str(err).splitlines()[0])
x_away = minigen.tensor(np.array([-1.5, -0.3, -0.2, 0.4, 0.8]))
print("inputs away from the kink:", minigen.gradcheck(lambda x: x.relu(), {"x": x_away}))

# %% [markdown]
# The fix is in the inputs, not the code: keep them further than `eps` from the
# kink (the same holds for `max` with ties, `abs` at 0, and `clip` at its bounds).
# Random normal inputs almost never land within `1e-6` of a kink, which is one more
# reason to check at random points.
#
# ## Exercises
#
# 1. (Graded: 2.1 `numeric_gradient`, 2.2 `softmax`, 2.3 `softmax_backward`,
#    2.4 `relative_error`.) `python -m minigen grade . --public-only` runs the
#    public checks.
# 2. Measure where the bottom of the V lies for one-sided and central differences
#    in float32 and float64, and compare with `u^(1/2)` and `u^(1/3)`
#    (`u = np.finfo(dtype).eps / 2`). Where does it lie for `f = exp` near `x = 20`,
#    and why (the rounded step above)?
# 3. Write `log_softmax` and its backward (`dx = dout - s * sum(dout)`) and check
#    them with `minigen.gradcheck_kernel`. Is `sum(log_softmax(x))` constant, as
#    the sum of a softmax is? Would a sum check catch a backward that forgets the
#    `s * sum(dout)` term? Which wrong log-softmax backward would it miss?
# 4. `minigen.gradcheck(..., fast=True)` checks each input along one random
#    direction instead of every element. Which bugs could that miss, and how
#    likely is it? How much faster is it on a 100 x 100 input?
