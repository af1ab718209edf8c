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
# # Lesson 01: autograd from scratch
#
# Training a network means nudging every one of its numbers (its *parameters*)
# in the direction that lowers a loss `L`. For that we need `dL/dw` for every
# parameter `w`: the **gradient**. A network has thousands to billions of
# parameters, so computing each derivative on its own is hopeless. Reverse-mode
# automatic differentiation (*backpropagation*) gets all of them in one backward
# sweep that costs about as much as the forward pass.
#
# In this lesson you build that machine for single numbers, in about 100 lines:
# a `Value` class that records every operation applied to it, and a `backward()`
# that walks the record backwards applying the chain rule. Then we fit a tiny
# neural network with it, and see that `minigen.Tensor` is the same machine,
# working on whole arrays at a time.
#
# This first lesson assumes only Python, a little NumPy and the derivatives of
# school calculus. Every later lesson builds on it: each new layer is one more
# operation with a forward and a backward rule.
#
# Run it as a script (`python 01_autograd.py`), or open it as a notebook with
# jupytext. `MINIGEN_QUICK=1` (or `--quick`) makes the training part short.

# %%
import math
import os
import sys
import time

import minigen  # first: minigen tunes OpenBLAS's threads, which must happen before NumPy loads
import numpy as np

import minigen.functional as F

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)

# %% [markdown]
# ## A derivative is a slope
#
# `df/dx` says how much `f` moves when `x` moves a little: nudge `x` by a tiny `h`
# on either side and measure the slope,
#
#     df/dx  ~  (f(x + h) - f(x - h)) / (2h)
#
# (the *central difference*; lesson 02 studies it closely). For
# `poly(x) = 3x^2 - 4x + 5` calculus says `poly'(x) = 6x - 4`, so `poly'(3) = 14`:

# %%
def poly(x):
    return 3 * x ** 2 - 4 * x + 5


h = 1e-6
print("slope at x = 3 by nudging:", (poly(3 + h) - poly(3 - h)) / (2 * h), " exact: 14")

# %% [markdown]
# Nudging works, but it needs two evaluations of the whole function *per input*:
# for a million parameters, two million forward passes for one gradient. We keep it
# as the referee that checks the fast method.
#
# ## The chain rule, one operation at a time
#
# Any formula is a chain of small operations. Take
#
#     e = a * b        d = e + c        L = d * f
#
# with `a = 2, b = -3, c = 10, f = -2`. Going forwards: `e = -6`, `d = 4`, `L = -8`.
#
# Going backwards, write `da` for `dL/da` (the gradient of the *final* output `L`
# with respect to `a`):
#
# - `dL = 1` (the derivative of `L` with respect to itself);
# - `L = d * f`, so `dd = f * dL = -2` and `df = d * dL = 4`;
# - `d = e + c`: a sum passes its gradient on unchanged, `de = dd = -2`, `dc = dd = -2`;
# - `e = a * b`: `da = b * de = 6`, `db = a * de = -4`.
#
# That is the **chain rule**: `dL/da = dL/de * de/da`. Each operation only needs
# its own *local* derivative (`de/da = b`) and the gradient that arrives from
# above (`de`, the *upstream* gradient); their product is what it sends down.
# No operation needs to know anything about the rest of the formula. Let us confirm
# `da = 6` and `db = -4` by nudging:

# %%
def L_of(a, b, c, f):
    return (a * b + c) * f


print("dL/da ~", round((L_of(2 + h, -3, 10, -2) - L_of(2 - h, -3, 10, -2)) / (2 * h), 6), " (by hand: 6)")
print("dL/db ~", round((L_of(2, -3 + h, 10, -2) - L_of(2, -3 - h, 10, -2)) / (2 * h), 6), " (by hand: -4)")

# %% [markdown]
# ## The engine
#
# A `Value` wraps one number and remembers where it came from:
#
# - `data`: the number;
# - `grad`: `dL/d(this value)`, filled in by the backward pass (0 until then);
# - `_prev`: the Values it was computed from (its *children* in the graph);
# - `_backward`: a little function, made by the operation that produced this
#   Value, that takes `out.grad` and adds the chain-rule share to each child's
#   `grad`.
#
# Every operation computes its result *and* leaves behind its `_backward`. Here are
# the local rules, with `dout` for `out.grad`:
#
#     out = a + b       da += dout                  db += dout
#     out = a * b       da += b * dout              db += a * dout
#     out = a ** k      da += k * a**(k-1) * dout   (k a constant)
#     out = exp(a)      da += out * dout
#     out = tanh(a)     da += (1 - out**2) * dout
#
# Negation has its own one-line rule (`da -= dout`); then `a - b` is `a + (-b)`
# and `a / b` is `a * b**-1`, two more operations for free.
#
# **Why `+=` and not `=`.** A value can be used more than once: in `a * a`, or when
# the same weight feeds two neurons. `L` then depends on it along several paths,
# and the multivariate chain rule says its gradient is the **sum** of what every
# path contributes. Each use's `_backward` adds its own share; an `=` would throw
# away what the uses before it wrote. (In `c = a * a`, `self` and `other` are the
# same Value, so both lines of the `*` rule add `a * dout` to `a.grad`: together
# the right `2a * dout`. With `=`, the second line would overwrite the first.)
#
# **Why a topological order.** A node may only pass its gradient on once that
# gradient is complete, that is, once every node that *uses* it has added its
# share. So `backward()` first lists the graph's nodes so that each node comes
# after its children (a depth-first search from the output, appending a node once
# all its children are listed: a *topological order*), then walks that list
# backwards, calling `_backward` on each node exactly once.
#
# Your three exercises are inside the class:
#
# - **Exercise 1.1** (`Value.__mul__`): the two lines of the product's backward.
# - **Exercise 1.2** (`Value.tanh`): the forward (finite for any input, even
#   `x = 1000`: `math.tanh` is, `exp(2x)` is not) and its backward.
# - **Exercise 1.3** (`Value.backward`): the topological order, the seed
#   `self.grad = 1`, and the sweep.


# %%
class Value:
    """A scalar that remembers how it was computed, so that ``backward()`` can send gradients back."""

    def __init__(self, data, _children=(), _op=""):
        self.data = float(data)
        self.grad = 0.0                     # dL/d(this value); stays 0 until backward() runs
        self._prev = tuple(_children)       # the Values this one was computed from
        self._op = _op                      # the operation that made it, for printing the graph
        self._backward = lambda: None       # a leaf has nobody to pass its gradient to

    def __repr__(self):
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            # forward was out = self + other: both local derivatives are 1
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        """out = self * other. Its ``_backward`` adds the chain-rule share of ``out.grad`` to both inputs."""
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            # forward was out = self * other, so d out/d self = other and d out/d other = self
            ### BEGIN SOLUTION
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
            ### END SOLUTION
        out._backward = _backward
        return out

    def __pow__(self, k):
        assert isinstance(k, (int, float)), "only constant exponents are supported"
        out = Value(self.data ** k, (self,), f"**{k}")

        def _backward():
            # forward was out = self ** k, so d out/d self = k * self ** (k - 1)
            self.grad += k * self.data ** (k - 1) * out.grad
        out._backward = _backward
        return out

    def exp(self):
        e = math.exp(self.data)
        out = Value(e, (self,), "exp")

        def _backward():
            # forward was out = exp(self), and exp is its own derivative
            self.grad += e * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        """out = tanh(self), finite for any input; its ``_backward`` adds ``(1 - out**2) * out.grad`` to self.grad.

        Return a new Value whose ``_prev`` holds ``self`` and whose ``_op`` is ``"tanh"``.
        """
        ### BEGIN SOLUTION
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():
            # forward was out = tanh(self), so d out/d self = 1 - tanh(self)^2 = 1 - t*t
            self.grad += (1 - t * t) * out.grad
        out._backward = _backward
        return out
        ### END SOLUTION

    def __neg__(self):
        out = Value(-self.data, (self,), "neg")

        def _backward():
            # forward was out = -self
            self.grad -= out.grad
        out._backward = _backward
        return out

    def __sub__(self, other):               # self - other
        return self + (-other)

    def __truediv__(self, other):           # self / other
        other = other if isinstance(other, Value) else Value(other)
        return self * other ** -1

    def __radd__(self, other):              # other + self, when other is a plain number
        return self + other

    def __rsub__(self, other):              # other - self
        return (-self) + other

    def __rmul__(self, other):              # other * self
        return self * other

    def __rtruediv__(self, other):          # other / self
        return Value(other) * self ** -1

    def backward(self):
        """Fill in ``grad`` for every Value that this one was computed from: d self / d v.

        Order the graph's nodes so that every node comes after its children (``_prev``),
        set ``self.grad = 1``, then call each node's ``_backward`` once, in reverse order.
        Returns nothing.
        """
        ### BEGIN SOLUTION
        order, visited = [], set()

        def visit(v):                       # depth-first: a node is listed after all of its children
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    visit(child)
                order.append(v)
        visit(self)
        self.grad = 1.0                     # dL/dL = 1
        for v in reversed(order):           # every node's grad is complete before it is passed on
            v._backward()
        ### END SOLUTION


# %% [markdown]
# ## Trying the pieces
#
# Before `backward()` exists we can run the backward pass by hand: set the output's
# `grad` to 1 and call the `_backward` functions from the output down. Here is the
# example from above again, with Values:

# %%
def backward_by_hand(L, d, e):
    """The backward pass of L = d * f, d = e + c, e = a * b, one node at a time from the output down."""
    L.grad = 1.0           # the seed: dL/dL = 1
    L._backward()          # L = d * f: fills d.grad and f.grad
    d._backward()          # d = e + c: fills e.grad and c.grad
    e._backward()          # e = a * b: fills a.grad and b.grad


a, b, c, f = Value(2.0), Value(-3.0), Value(10.0), Value(-2.0)
e = a * b
d = e + c
L = d * f
backward_by_hand(L, d, e)
print("by hand:   ", "da =", a.grad, " db =", b.grad, " dc =", c.grad, " df =", f.grad)

# %% [markdown]
# The order mattered: calling `e._backward()` first would have sent on `e.grad = 0`.
# `backward()` finds the right order for us. It also accumulates, so a value used
# twice collects both contributions: for `y = x * x + x`, `dy/dx = 2x + 1`.

# %%
a, b, c, f = Value(2.0), Value(-3.0), Value(10.0), Value(-2.0)
L = (a * b + c) * f
L.backward()
print("backward():", "da =", a.grad, " db =", b.grad, " dc =", c.grad, " df =", f.grad)

x = Value(3.0)
y = x * x + x
y.backward()
print("y = x*x + x at x = 3: dy/dx =", x.grad, " (2x + 1 = 7)")

# %% [markdown]
# A check against nudging, on a formula that uses every operation, with one input
# used four times. `numeric_grads` is our referee.

# %%
def numeric_grads(fn, xs, h=1e-6):
    """Central differences of the plain-float function ``fn`` at the list of floats ``xs``."""
    grads = []
    for i in range(len(xs)):
        up, down = list(xs), list(xs)
        up[i] += h
        down[i] -= h
        grads.append((fn(*up) - fn(*down)) / (2 * h))
    return grads


def formula(x, y, exp=math.exp, tanh=math.tanh):
    z = x * y + x ** 2
    return tanh(z / 3) * exp(-x) - (y - x) / (1 + y * y)


xs = [0.7, -1.3]
vx, vy = Value(xs[0]), Value(xs[1])
out = formula(vx, vy, exp=Value.exp, tanh=Value.tanh)
out.backward()
numeric = numeric_grads(formula, xs)
print(f"value {out.data:.10f} vs {formula(*xs):.10f}")
print(f"dx: backward {vx.grad:.10f}   nudging {numeric[0]:.10f}")
print(f"dy: backward {vy.grad:.10f}   nudging {numeric[1]:.10f}")

# %% [markdown]
# ## A neuron, and its graph
#
# A neuron computes `o = tanh(w1 x1 + w2 x2 + b)`. With the numbers below the
# pre-activation is `n = 0.8814`, so `o = tanh(n) = 0.7071` and
# `do/dn = 1 - o^2 = 0.5`. The gradient of each weight is then `0.5` times its
# input (`dw1 = 0.5 * x1 = 1`), and `dw2 = 0` because `x2 = 0`: a weight whose input
# is zero cannot change the output.
#
# `draw` prints the graph that `backward()` walked: each node with its operation,
# value and gradient, its children indented below it.

# %%
def draw(v, names, indent="", seen=None):
    """Print the computation graph below ``v`` as an indented tree (a shared node is printed once)."""
    seen = set() if seen is None else seen
    label = names.get(v, v._op or "leaf")
    print(f"{indent}{label:8s} data {v.data:8.4f}   grad {v.grad:8.4f}")
    if v in seen:
        return
    seen.add(v)
    for child in sorted(v._prev, key=lambda c: names.get(c, c._op)):
        draw(child, names, indent + "    ", seen)


x1, x2 = Value(2.0), Value(0.0)
w1, w2 = Value(-3.0), Value(1.0)
bias = Value(6.8813735870195432)
n = x1 * w1 + x2 * w2 + bias
o = n.tanh()
o.backward()
draw(o, {o: "o=tanh", n: "n", x1: "x1", x2: "x2", w1: "w1", w2: "w2", bias: "b"})

# %% [markdown]
# ## A tiny MLP
#
# A multi-layer perceptron is neurons in layers: each layer's outputs are the next
# layer's inputs. We build one with 3 inputs, two hidden layers of 4 `tanh`
# neurons and one linear output, and fit four points by gradient descent on the
# squared error:
#
#     loss = sum_n (pred_n - y_n)^2
#     for every parameter p:   p.data -= lr * p.grad
#
# Two details. The gradients must be reset to 0 before each `backward()`, because
# they accumulate (that `+=` again). And every training step builds a new graph:
# the forward pass *is* the recording.

# %%
class Neuron:
    def __init__(self, n_in, nonlin=True):
        self.w = [Value(rng.uniform(-1, 1)) for _ in range(n_in)]
        self.b = Value(0.0)
        self.nonlin = nonlin

    def __call__(self, xs):
        act = sum((wi * xi for wi, xi in zip(self.w, xs)), self.b)
        return act.tanh() if self.nonlin else act

    def parameters(self):
        return self.w + [self.b]


class Layer:
    def __init__(self, n_in, n_out, nonlin=True):
        self.neurons = [Neuron(n_in, nonlin) for _ in range(n_out)]

    def __call__(self, xs):
        return [neuron(xs) for neuron in self.neurons]

    def parameters(self):
        return [p for neuron in self.neurons for p in neuron.parameters()]


class MLP:
    def __init__(self, n_in, sizes):
        dims = [n_in] + sizes
        self.layers = [Layer(dims[i], dims[i + 1], nonlin=i < len(sizes) - 1) for i in range(len(sizes))]

    def __call__(self, xs):
        for layer in self.layers:
            xs = layer(xs)
        return xs[0] if len(xs) == 1 else xs

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


X_pts = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
Y_pts = [1.0, -1.0, -1.0, 1.0]

mlp = MLP(3, [4, 4, 1])
params = mlp.parameters()
print("parameters:", len(params))
init = [p.data for p in params]        # kept, to rebuild the same network with minigen below

losses = []
for step in range(60 if QUICK else 200):
    loss = sum((mlp(xs) - y) ** 2 for xs, y in zip(X_pts, Y_pts))
    for p in params:
        p.grad = 0.0                    # gradients accumulate: reset them before every backward
    loss.backward()
    for p in params:
        p.data -= 0.05 * p.grad
    losses.append(loss.data)
print(f"loss: {losses[0]:.4f} at the start, {losses[-1]:.2e} after {len(losses)} steps")
print("predictions:", [round(mlp(xs).data, 3) for xs in X_pts], " targets:", Y_pts)

try:
    import matplotlib.pyplot as plt
except ImportError:                     # the plot is optional: pip install matplotlib
    plt = None
if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.semilogy(losses)
    ax.set_xlabel("step")
    ax.set_ylabel("squared error")
    ax.set_title("A 3-4-4-1 MLP of Values fitting four points")
    plt.show()

# %% [markdown]
# ## The same computation with `minigen.Tensor`
#
# `minigen.Tensor` is the same machine: every operation records a node with a
# backward function, and `.backward()` walks the graph in reverse topological order
# (minigen sorts the nodes by their creation number, newest first: a node is always
# created after the nodes that made its inputs; PyTorch's engine uses such sequence
# numbers too), adding into `.grad`.
#
# First the neuron. `minigen.tensor(..., requires_grad=True)` makes a leaf whose
# gradient we want; float64, so the numbers match the Values (which are Python
# floats, i.e. float64) to the last digit.

# %%
xt = minigen.tensor(np.array([2.0, 0.0]))
wt = minigen.tensor(np.array([-3.0, 1.0]), requires_grad=True)
bt = minigen.tensor(np.array(6.8813735870195432), requires_grad=True)
ot = ((xt * wt).sum() + bt).tanh()
ot.backward()
print("Value:  o =", round(o.data, 6), " dw =", [round(w1.grad, 6), round(w2.grad, 6)], " db =", round(bias.grad, 6))
print("Tensor: o =", round(ot.item(), 6), " dw =", np.round(wt.grad, 6).tolist(), " db =", round(float(bt.grad), 6))

# %% [markdown]
# Now the MLP. A layer of neurons is one matrix product: row `j` of `W` holds
# neuron `j`'s weights, and for a batch `X` of shape `(B, C)` (B examples, C
# features) the layer computes `tanh(X @ W^T + b)`, shape `(B, H)`. We load the
# Values' *initial* weights into matrices, so both engines start from the same
# network, and compare the first step's gradients.
#
# The bias `b` has shape `(H,)` and is **broadcast** over the B rows. In the
# backward pass each row's gradient lands on the same `b`, so they are summed
# over the batch: the array version of `+=` for a value used B times.

# %%
def value_mlp_with(weights):
    """A fresh MLP of Values holding ``weights`` (a flat list, in parameters() order)."""
    net = MLP(3, [4, 4, 1])
    for p, w in zip(net.parameters(), weights):
        p.data = w
    return net


def as_matrices(weights):
    """The same weights as float64 arrays: (W1 (4, 3), b1 (4,), W2 (4, 4), b2 (4,), W3 (1, 4), b3 (1,))."""
    out, k = [], 0
    for n_in, n_out in [(3, 4), (4, 4), (4, 1)]:
        rows = np.array(weights[k:k + n_out * (n_in + 1)]).reshape(n_out, n_in + 1)   # one row per neuron
        out += [rows[:, :n_in], rows[:, n_in]]                                       # weights, then bias
        k += n_out * (n_in + 1)
    return out


def tensor_mlp_loss(X, Y, W1, b1, W2, b2, W3, b3):
    h1 = (X @ W1.T + b1).tanh()             # (B, 4)
    h2 = (h1 @ W2.T + b2).tanh()            # (B, 4)
    pred = (h2 @ W3.T + b3).reshape(-1)     # (B,)
    return ((pred - Y) ** 2).sum()


net = value_mlp_with(init)
loss_v = sum((net(xs) - y) ** 2 for xs, y in zip(X_pts, Y_pts))
loss_v.backward()

Wt = [minigen.tensor(m, requires_grad=True) for m in as_matrices(init)]
loss_t = tensor_mlp_loss(minigen.tensor(np.array(X_pts)), minigen.tensor(np.array(Y_pts)), *Wt)
loss_t.backward()

grads_v = as_matrices([p.grad for p in net.parameters()])
print(f"loss: Values {loss_v.data:.12f}   Tensors {loss_t.item():.12f}")
for name, gv, t in zip(["dW1", "db1", "dW2", "db2", "dW3", "db3"], grads_v, Wt):
    print(f"{name}: max |Value grad - Tensor grad| = {np.abs(gv - t.grad).max():.1e}")

# %% [markdown]
# ## What a tensor engine adds
#
# **Arrays.** Both engines record a graph, but the Value graph has a node per
# *number* while the tensor graph has a node per *array operation*. The same loss:

# %%
def count_values(root):
    seen, stack = {root}, [root]
    while stack:
        for child in stack.pop()._prev:
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return len(seen)


def count_tensor_nodes(t):
    seen, stack = set(), [t._ctx]
    while stack:
        node = stack.pop()
        if node is not None and node not in seen:
            seen.add(node)
            stack += [x._ctx for x in node.inputs if isinstance(x, minigen.Tensor)]
    return len(seen)


Xb = rng.uniform(-2, 2, size=(64 if QUICK else 256, 3))
Yb = np.sin(Xb.sum(axis=1))
t0 = time.perf_counter()
loss_v = sum((net(list(xs)) - y) ** 2 for xs, y in zip(Xb, Yb))
loss_v.backward()
t_values = time.perf_counter() - t0
Wt = [minigen.tensor(m, requires_grad=True) for m in as_matrices(init)]
t0 = time.perf_counter()
loss_t = tensor_mlp_loss(minigen.tensor(Xb), minigen.tensor(Yb), *Wt)
n_nodes = count_tensor_nodes(loss_t)
loss_t.backward()
t_tensor = time.perf_counter() - t0
print(f"batch of {len(Xb)}: {count_values(loss_v):6d} Value nodes, {t_values * 1e3:7.1f} ms for forward + backward")
print(f"batch of {len(Xb)}: {n_nodes:6d} Tensor nodes, {t_tensor * 1e3:7.1f} ms for forward + backward")

# %% [markdown]
# The Value graph grows with the batch; the tensor graph does not. Python's
# per-node overhead is paid 15 times instead of once per Value node (thousands of
# them here, and more for every example added to the batch),
# and the arithmetic runs inside NumPy (or CuPy on a GPU, with the same code).
#
# **Broadcasting.** `X @ W1.T + b1` adds a `(4,)` bias to a `(B, 4)` matrix. The
# engine remembers the shapes and, in the backward pass, sums the gradient over the
# broadcast axes so that `b1.grad` has `b1`'s shape again (we compared it above).
#
# **Kernels.** An operation can have a hand-written backward instead of the chain
# of its parts. `F.softmax` is one node whose backward is the formula
# `dx = s * (dout - sum(dout * s))` (a *kernel*, from `minigen.kernels.softmax`);
# `F.softmax_composed` builds the same softmax from `max`, `exp`, `sum` and `/`,
# and autograd derives its backward. Same gradients, fewer nodes, less memory:

# %%
logits = rng.standard_normal((2, 5))
dout = rng.standard_normal((2, 5))                 # an upstream gradient (why random: lesson 02)
grads = {}
for fn in (F.softmax, F.softmax_composed):
    x = minigen.tensor(logits, requires_grad=True)
    s = fn(x)
    nodes = count_tensor_nodes(s)
    (s * minigen.tensor(dout)).sum().backward()
    grads[fn.__name__] = x.grad
    print(f"{fn.__name__:17s} {nodes} node(s) in its graph")
print("max |difference| of the gradients:", np.abs(grads["softmax"] - grads["softmax_composed"]).max())
print("gradcheck of the tensor MLP:",
      minigen.gradcheck(lambda *ws: tensor_mlp_loss(minigen.tensor(np.array(X_pts)),
                                                    minigen.tensor(np.array(Y_pts)), *ws), as_matrices(init)))

# %% [markdown]
# A hand-written backward is fast but can be wrong in ways that no run of the
# model reveals. Lesson 02 is about catching that: gradient checking.
#
# ## Exercises
#
# 1. (Graded: 1.1 `Value.__mul__`, 1.2 `Value.tanh`, 1.3 `Value.backward`.)
#    `python -m minigen grade . --public-only` runs the public checks.
# 2. Break it on purpose: in `Value.__mul__`, write `self.grad = ...` instead of
#    `self.grad += ...`. Which results above change, and which stay right? Why is
#    `y = x * x + x` wrong but the neuron right?
# 3. Add `relu` (`max(0, x)`) and `log` to `Value`, each with its backward, and
#    check them against `numeric_grads`. What should `relu`'s backward do at exactly 0?
# 4. `backward()` as written recurses once per node along the longest path: build
#    `x + x + ... + x` with 5000 terms and call `backward()`. What happens? Rewrite
#    the depth-first search with an explicit stack (minigen's engine does).
# 5. Fit the MLP with the tensor engine instead: update `Wt` with
#    `w.data -= lr * w.grad` and reset `w.grad = None` each step. Does the loss
#    curve match the Values' one?
