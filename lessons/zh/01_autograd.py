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
# # 第 1 课：从零实现自动微分
#
# 训练一个网络，就是把它的每一个数（它的*参数*）朝着使损失 `L` 下降的方向
# 微调。为此，我们需要每个参数 `w` 的 `dL/dw`，即**梯度**。一个网络有数千乃至
# 数十亿个参数，逐个单独计算导数是行不通的。反向模式自动微分（*反向传播*）只需
# 一次反向遍历就能得到全部梯度，其代价与前向传播大致相当。
#
# 在本课中，你将用大约 100 行代码为单个数构建这台机器：一个记录施加在它身上的
# 每一个运算的 `Value` 类，以及一个沿着这份记录反向遍历、逐步应用链式法则的
# `backward()`。然后我们用它拟合一个很小的神经网络，并会看到 `minigen.Tensor`
# 是同一台机器，只不过每次处理的是整个数组。
#
# 作为第一课，本课只假定读者了解 Python、一点 NumPy 以及中学微积分中的导数。
# 之后的每一课都建立在它之上：每一个新的层，都只是又一个带有前向规则和反向规则
# 的运算。
#
# 可以把它当作脚本运行（`python 01_autograd.py`），也可以用 jupytext 把它作为
# 笔记本打开。`MINIGEN_QUICK=1`（或 `--quick`）会缩短训练部分。

# %%
import math
import os
import sys
import time

import minigen  # 放在最前：minigen 会设置 OpenBLAS 的线程数，这必须在加载 NumPy 之前完成
import numpy as np

import minigen.functional as F

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)

# %% [markdown]
# ## 导数就是斜率
#
# `df/dx` 描述的是 `x` 变动一点点时 `f` 变动多少：把 `x` 向两侧各挪动一个很小的
# `h`，然后测量斜率，
#
#     df/dx  ~  (f(x + h) - f(x - h)) / (2h)
#
# （这就是*中心差分*，第 2 课会仔细研究它）。对于
# `poly(x) = 3x^2 - 4x + 5`，微积分告诉我们 `poly'(x) = 6x - 4`，因此 `poly'(3) = 14`：

# %%
def poly(x):
    return 3 * x ** 2 - 4 * x + 5


h = 1e-6
print("slope at x = 3 by nudging:", (poly(3 + h) - poly(3 - h)) / (2 * h), " exact: 14")

# %% [markdown]
# 这种微小扰动的办法行得通，但它对*每个输入*都要把整个函数求值两次：对一百万个
# 参数来说，求一次梯度就要两百万次前向传播。我们把它留作裁判，用来检查快速的方法。
#
# ## 链式法则：一次一个运算
#
# 任何公式都是一串小运算。以
#
#     e = a * b        d = e + c        L = d * f
#
# 为例，其中 `a = 2, b = -3, c = 10, f = -2`。向前计算：`e = -6`，`d = 4`，`L = -8`。
#
# 向后计算时，用 `da` 表示 `dL/da`（*最终*输出 `L` 对 `a` 的梯度）：
#
# - `dL = 1`（`L` 对其自身的导数）；
# - `L = d * f`，所以 `dd = f * dL = -2`，`df = d * dL = 4`；
# - `d = e + c`：加法把梯度原样传下去，`de = dd = -2`，`dc = dd = -2`；
# - `e = a * b`：`da = b * de = 6`，`db = a * de = -4`。
#
# 这就是**链式法则**：`dL/da = dL/de * de/da`。每个运算只需要它自己的*局部*导数
# （`de/da = b`）和从上方传来的梯度（`de`，即*上游梯度*）；二者的乘积就是它向下
# 传递的量。任何运算都无须了解公式其余部分的任何信息。下面用微小扰动来验证
# `da = 6` 和 `db = -4`：

# %%
def L_of(a, b, c, f):
    return (a * b + c) * f


print("dL/da ~", round((L_of(2 + h, -3, 10, -2) - L_of(2 - h, -3, 10, -2)) / (2 * h), 6), " (by hand: 6)")
print("dL/db ~", round((L_of(2, -3 + h, 10, -2) - L_of(2, -3 - h, 10, -2)) / (2 * h), 6), " (by hand: -4)")

# %% [markdown]
# ## 引擎
#
# 一个 `Value` 包装一个数，并记住它是从哪里来的：
#
# - `data`：这个数；
# - `grad`：`dL/d(this value)`，由反向传播填入（在此之前为 0）；
# - `_prev`：计算出它的那些 Value（它在图中的*子节点*）；
# - `_backward`：一个小函数，由产生这个 Value 的运算创建；它读取 `out.grad`，
#   并把按链式法则分给每个子节点的那一份加到该子节点的 `grad` 上。
#
# 每个运算既计算出结果，*也*留下它的 `_backward`。下面是各个局部规则，其中
# `dout` 表示 `out.grad`：
#
#     out = a + b       da += dout                  db += dout
#     out = a * b       da += b * dout              db += a * dout
#     out = a ** k      da += k * a**(k-1) * dout   （k 为常数）
#     out = exp(a)      da += out * dout
#     out = tanh(a)     da += (1 - out**2) * dout
#
# 取负有它自己的一行规则（`da -= dout`）；于是 `a - b` 就是 `a + (-b)`，
# `a / b` 就是 `a * b**-1`，又白得两个运算。
#
# **为什么用 `+=` 而不是 `=`。** 一个值可以被使用不止一次：例如在 `a * a` 中，
# 或者同一个权重同时馈入两个神经元。这时 `L` 沿着多条路径依赖于它，而多元链式
# 法则告诉我们，它的梯度是每条路径贡献的**总和**。每一次使用的 `_backward` 都加上
# 自己的那一份；用 `=` 则会丢掉此前各次使用已经写入的值。（在 `c = a * a` 中，
# `self` 和 `other` 是同一个 Value，所以 `*` 规则的两行都把 `a * dout` 加到
# `a.grad` 上：合起来正好是 `2a * dout`。若用 `=`，第二行就会覆盖第一行。）
#
# **为什么需要拓扑排序。** 一个节点只有在它的梯度已经完整之后，也就是每个*使用*
# 它的节点都已加上自己的那一份之后，才能把梯度传下去。因此 `backward()` 先把图中的
# 节点排成一个列表，使每个节点都排在它的子节点之后（从输出出发做深度优先搜索，
# 在一个节点的所有子节点都已列出之后再把它加入列表：这就是*拓扑排序*），然后反向
# 遍历这个列表，对每个节点恰好调用一次 `_backward`。
#
# 你的三个练习都在这个类里：
#
# - **练习 1.1**（`Value.__mul__`）：乘法的反向传播中的那两行。
# - **练习 1.2**（`Value.tanh`）：前向计算（对任何输入都是有限值，即使
#   `x = 1000`：`math.tanh` 做得到，`exp(2x)` 则不然）及其反向传播。
# - **练习 1.3**（`Value.backward`）：拓扑排序、种子 `self.grad = 1`，以及
#   反向遍历。


# %%
class Value:
    """一个记得自己是如何计算出来的标量，这样 ``backward()`` 才能把梯度传回去。"""

    def __init__(self, data, _children=(), _op=""):
        self.data = float(data)
        self.grad = 0.0                     # dL/d(this value)；在 backward() 运行之前一直为 0
        self._prev = tuple(_children)       # 计算出这个值的那些 Value
        self._op = _op                      # 产生它的运算，用于打印计算图
        self._backward = lambda: None       # 叶节点没有可以传递梯度的对象

    def __repr__(self):
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            # 前向是 out = self + other：两个局部导数都是 1
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        """out = self * other。它的 ``_backward`` 把 ``out.grad`` 按链式法则分得的那一份加到两个输入上。"""
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            # 前向是 out = self * other，所以 d out/d self = other，d out/d other = self
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
            # 前向是 out = self ** k，所以 d out/d self = k * self ** (k - 1)
            self.grad += k * self.data ** (k - 1) * out.grad
        out._backward = _backward
        return out

    def exp(self):
        e = math.exp(self.data)
        out = Value(e, (self,), "exp")

        def _backward():
            # 前向是 out = exp(self)，而 exp 的导数就是它自身
            self.grad += e * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        """out = tanh(self)，对任何输入都是有限值；它的 ``_backward`` 把 ``(1 - out**2) * out.grad`` 加到 self.grad 上。

        返回一个新的 Value，其 ``_prev`` 包含 ``self``，其 ``_op`` 为 ``"tanh"``。
        """
        ### BEGIN SOLUTION
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():
            # 前向是 out = tanh(self)，所以 d out/d self = 1 - tanh(self)^2 = 1 - t*t
            self.grad += (1 - t * t) * out.grad
        out._backward = _backward
        return out
        ### END SOLUTION

    def __neg__(self):
        out = Value(-self.data, (self,), "neg")

        def _backward():
            # 前向是 out = -self
            self.grad -= out.grad
        out._backward = _backward
        return out

    def __sub__(self, other):               # self - other
        return self + (-other)

    def __truediv__(self, other):           # self / other
        other = other if isinstance(other, Value) else Value(other)
        return self * other ** -1

    def __radd__(self, other):              # other + self，other 是普通数字时
        return self + other

    def __rsub__(self, other):              # other - self
        return (-self) + other

    def __rmul__(self, other):              # other * self
        return self * other

    def __rtruediv__(self, other):          # other / self
        return Value(other) * self ** -1

    def backward(self):
        """为计算出本 Value 所用到的每个 Value 填入 ``grad``：d self / d v。

        把图中的节点排序，使每个节点都排在其子节点（``_prev``）之后，
        设置 ``self.grad = 1``，然后按逆序对每个节点调用一次它的 ``_backward``。
        不返回任何值。
        """
        ### BEGIN SOLUTION
        order, visited = [], set()

        def visit(v):                       # 深度优先：一个节点排在它的所有子节点之后
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    visit(child)
                order.append(v)
        visit(self)
        self.grad = 1.0                     # dL/dL = 1
        for v in reversed(order):           # 每个节点的 grad 在传下去之前都已完整
            v._backward()
        ### END SOLUTION


# %% [markdown]
# ## 试一试各个部件
#
# 在有 `backward()` 之前，我们可以手动执行反向传播：把输出的 `grad` 设为 1，
# 然后从输出往下依次调用各个 `_backward` 函数。下面用 Value 重做上面的例子：

# %%
def backward_by_hand(L, d, e):
    """L = d * f、d = e + c、e = a * b 的反向传播，从输出往下，一次一个节点。"""
    L.grad = 1.0           # 种子：dL/dL = 1
    L._backward()          # L = d * f：填入 d.grad 和 f.grad
    d._backward()          # d = e + c：填入 e.grad 和 c.grad
    e._backward()          # e = a * b：填入 a.grad 和 b.grad


a, b, c, f = Value(2.0), Value(-3.0), Value(10.0), Value(-2.0)
e = a * b
d = e + c
L = d * f
backward_by_hand(L, d, e)
print("by hand:   ", "da =", a.grad, " db =", b.grad, " dc =", c.grad, " df =", f.grad)

# %% [markdown]
# 顺序很重要：如果先调用 `e._backward()`，传下去的就会是 `e.grad = 0`。
# `backward()` 替我们找出正确的顺序。它还会累加，因此一个被使用两次的值会收集到
# 两份贡献：对于 `y = x * x + x`，`dy/dx = 2x + 1`。

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
# 再用微小扰动做一次对照检查，所用的公式用到了每一种运算，其中一个输入被使用了
# 四次。`numeric_grads` 是我们的裁判。

# %%
def numeric_grads(fn, xs, h=1e-6):
    """普通浮点函数 ``fn`` 在浮点数列表 ``xs`` 处的中心差分。"""
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
# ## 一个神经元及其计算图
#
# 一个神经元计算 `o = tanh(w1 x1 + w2 x2 + b)`。取下面的数值时，预激活为
# `n = 0.8814`，所以 `o = tanh(n) = 0.7071`，`do/dn = 1 - o^2 = 0.5`。于是每个
# 权重的梯度都是 `0.5` 乘以它的输入（`dw1 = 0.5 * x1 = 1`），而 `dw2 = 0`，因为
# `x2 = 0`：一个输入为零的权重无法改变输出。
#
# `draw` 打印出 `backward()` 遍历过的计算图：每个节点连同它的运算、值和梯度，
# 其子节点缩进列在它的下方。

# %%
def draw(v, names, indent="", seen=None):
    """把 ``v`` 以下的计算图打印成一棵缩进的树（共享的节点只打印一次）。"""
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
# ## 一个小小的多层感知机
#
# 多层感知机（MLP）由一层层神经元组成：每一层的输出是下一层的输入。我们构建一个
# 网络，它有 3 个输入、两个各含 4 个 `tanh` 神经元的隐藏层和一个线性输出，并在
# 平方误差上用梯度下降拟合四个点：
#
#     loss = sum_n (pred_n - y_n)^2
#     对每个参数 p：   p.data -= lr * p.grad
#
# 有两个细节。每次 `backward()` 之前都必须把梯度重置为 0，因为它们会累加（又是
# 那个 `+=`）。而且每个训练步都会构建一张新的图：前向传播*本身*就是记录的过程。

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
init = [p.data for p in params]        # 保存下来，以便在下面用 minigen 重建同一个网络

losses = []
for step in range(60 if QUICK else 200):
    loss = sum((mlp(xs) - y) ** 2 for xs, y in zip(X_pts, Y_pts))
    for p in params:
        p.grad = 0.0                    # 梯度会累加：每次反向传播之前先把它们清零
    loss.backward()
    for p in params:
        p.data -= 0.05 * p.grad
    losses.append(loss.data)
print(f"loss: {losses[0]:.4f} at the start, {losses[-1]:.2e} after {len(losses)} steps")
print("predictions:", [round(mlp(xs).data, 3) for xs in X_pts], " targets:", Y_pts)

try:
    import matplotlib.pyplot as plt
except ImportError:                     # 绘图是可选的：pip install matplotlib
    plt = None
if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.semilogy(losses)
    ax.set_xlabel("step")
    ax.set_ylabel("squared error")
    ax.set_title("A 3-4-4-1 MLP of Values fitting four points")
    plt.show()

# %% [markdown]
# ## 用 `minigen.Tensor` 完成同样的计算
#
# `minigen.Tensor` 是同一台机器：每个运算都记录一个带有反向函数的节点，而
# `.backward()` 按逆拓扑顺序遍历计算图（minigen 按节点的创建编号排序，最新的在前：
# 一个节点总是在产生其输入的那些节点之后才创建；PyTorch 的引擎也使用这样的序号），
# 把梯度累加到 `.grad` 中。
#
# 先看神经元。`minigen.tensor(..., requires_grad=True)` 创建一个我们需要其梯度的
# 叶节点；这里用 float64，这样数值就与 Value（它们是 Python 浮点数，即 float64）
# 一直吻合到最后一位。

# %%
xt = minigen.tensor(np.array([2.0, 0.0]))
wt = minigen.tensor(np.array([-3.0, 1.0]), requires_grad=True)
bt = minigen.tensor(np.array(6.8813735870195432), requires_grad=True)
ot = ((xt * wt).sum() + bt).tanh()
ot.backward()
print("Value:  o =", round(o.data, 6), " dw =", [round(w1.grad, 6), round(w2.grad, 6)], " db =", round(bias.grad, 6))
print("Tensor: o =", round(ot.item(), 6), " dw =", np.round(wt.grad, 6).tolist(), " db =", round(float(bt.grad), 6))

# %% [markdown]
# 现在看多层感知机。一层神经元就是一次矩阵乘法：`W` 的第 `j` 行存放神经元 `j`
# 的权重；对于形状为 `(B, C)` 的一个批量 `X`（B 个样本，C 个特征），该层计算
# `tanh(X @ W^T + b)`，形状为 `(B, H)`。我们把 Value 网络的*初始*权重装入矩阵，
# 使两个引擎从同一个网络出发，然后比较第一步的梯度。
#
# 偏置 `b` 的形状为 `(H,)`，它在 B 行上被**广播**。在反向传播中，每一行的梯度
# 都落到同一个 `b` 上，因此要在批量上求和：这就是“一个值被使用 B 次”时 `+=`
# 的数组版本。

# %%
def value_mlp_with(weights):
    """一个新的 Value 多层感知机，持有 ``weights``（一个扁平列表，按 parameters() 的顺序）。"""
    net = MLP(3, [4, 4, 1])
    for p, w in zip(net.parameters(), weights):
        p.data = w
    return net


def as_matrices(weights):
    """把同样的权重转换为 float64 数组：(W1 (4, 3), b1 (4,), W2 (4, 4), b2 (4,), W3 (1, 4), b3 (1,))。"""
    out, k = [], 0
    for n_in, n_out in [(3, 4), (4, 4), (4, 1)]:
        rows = np.array(weights[k:k + n_out * (n_in + 1)]).reshape(n_out, n_in + 1)   # 每个神经元一行
        out += [rows[:, :n_in], rows[:, n_in]]                                       # 先是权重，然后是偏置
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
# ## 张量引擎多了些什么
#
# **数组。** 两个引擎都记录计算图，但 Value 图中每个*数*是一个节点，而张量图中
# 每个*数组运算*才是一个节点。同一个损失：

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
# Value 图随批量增大而增长，张量图则不会。Python 的逐节点开销只需付 15 次，而不是
# 每个 Value 节点付一次（这里的 Value 节点有数千个，批量中每多一个样本还会更多），
# 而且算术运算在 NumPy 内部执行（在 GPU 上则是 CuPy，代码不变）。
#
# **广播。** `X @ W1.T + b1` 把一个 `(4,)` 的偏置加到一个 `(B, 4)` 的矩阵上。引擎
# 记住各个形状，并在反向传播中沿被广播的轴对梯度求和，使 `b1.grad` 重新具有
# `b1` 的形状（上面已经比较过）。
#
# **内核。** 一个运算可以有手写的反向传播，而不必由其各组成部分的反向传播串联而成。
# `F.softmax` 是一个节点，它的反向传播就是公式
# `dx = s * (dout - sum(dout * s))`（一个*内核*，来自 `minigen.kernels.softmax`）；
# `F.softmax_composed` 用 `max`、`exp`、`sum` 和 `/` 搭出同一个 softmax，由自动
# 微分推导出它的反向传播。梯度相同，节点更少，内存更省：

# %%
logits = rng.standard_normal((2, 5))
dout = rng.standard_normal((2, 5))                 # 一个上游梯度（为什么要随机：见第 2 课）
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
# 手写的反向传播很快，但它出错的方式可能是模型怎么运行都暴露不出来的。第 2 课讲的
# 就是如何发现这类错误：梯度检验。
#
# ## 练习
#
# 1. （计分练习：1.1 `Value.__mul__`，1.2 `Value.tanh`，1.3 `Value.backward`。）
#    `python -m minigen grade . --public-only` 会运行公开检查。
# 2. 故意把它弄坏：在 `Value.__mul__` 中，把 `self.grad += ...` 写成
#    `self.grad = ...`。上面哪些结果会改变，哪些仍然正确？为什么
#    `y = x * x + x` 错了，神经元却是对的？
# 3. 给 `Value` 添加 `relu`（`max(0, x)`）和 `log`，各自带上反向传播，并用
#    `numeric_grads` 检查它们。`relu` 的反向传播在恰好为 0 处应当怎么做？
# 4. 按现在的写法，`backward()` 沿最长路径每经过一个节点就递归一次：构造一个含
#    5000 项的 `x + x + ... + x`，然后调用 `backward()`。会发生什么？用显式的栈
#    重写深度优先搜索（minigen 的引擎就是这样做的）。
# 5. 改用张量引擎来拟合多层感知机：每一步用 `w.data -= lr * w.grad` 更新 `Wt`，
#    并重置 `w.grad = None`。损失曲线与 Value 版本的一致吗？
