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
# # 第 2 课：梯度检验
#
# 在第 1 课中，每个运算都知道自己的局部导数，`backward()` 再把它们链接起来。
# 一个真正的引擎还有为整个层手写的反向传播，即*核函数*（kernel）：softmax、
# 层归一化、LSTM 单元、注意力。它们比由各个部件串成的链更快、更省内存，但也可能写错。
# 错误的反向传播不会让程序崩溃：模型只是训练得差一些，或者根本训练不动，而且没有任何提示告诉你原因。
#
# **梯度检验**（gradient checking）把解析梯度（`backward` 返回的值）与数值梯度
# （轻微扰动输入所得到的值）进行比较。只有做法正确，它才能发现错误。本课讲解其中最要紧的四点：
#
# 1. 使用中心差分，而不是单侧差分；
# 2. 使用 float64，步长 `eps` 取 `1e-6` 左右；
# 3. 使用**随机的**上游梯度：检验 `L = sum(out * dout)`，绝不检验 `out.sum()`；
# 4. 学会解读相对误差，并知道检验本身在哪里会失效（不可导的折点）。
#
# 形状：`x` 和 `dout` 是形状为 `(..., V)` 的数组；softmax 沿最后一个轴计算
# （V = 类别数，在语言模型中就是词表大小）。
#
# 可以把它当作脚本运行（`python 02_gradient_checking.py`），也可以用 jupytext
# 把它作为笔记本打开。`MINIGEN_QUICK=1`（或 `--quick`）会用更少的点来绘图。

# %%
import os
import sys

import minigen  # 放在最前面：minigen 会设置 OpenBLAS 的线程数，这必须在加载 NumPy 之前完成
import numpy as np

import minigen.functional as F
from minigen.kernels import softmax as K

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)

# %% [markdown]
# ## 练习 2.1：数值梯度
#
# 对于数组 `x` 的标量函数 `f`，它关于某个元素 `x_j` 的导数，就是只沿这个元素方向的斜率：
#
#     df/dx_j  ~  (f(x + eps e_j) - f(x - eps e_j)) / (2 eps)
#
# 其中 `e_j` 在位置 `j` 处为 1，其余位置为 0。遍历 `x` 的每一个下标
# （`np.ndindex(x.shape)` 可以遍历任意维数数组的全部下标），把 `x[j]` 设为
# `x_j + eps` 并求值，再设为 `x_j - eps` 并求值，然后在处理下一个元素之前**把原值放回去**：
# 否则之后的每个元素都是在一个偏移了的点上测量的，而且调用者的 `x` 返回时也被改动了。
#
# 每个元素需要对 `f` 求值两次：用来做检验绰绰有余，用来训练则毫无希望。


# %%
def numeric_gradient(f, x, eps=1e-6):
    """标量函数 ``f`` 在 float64 数组 ``x`` 处的中心差分。

    返回 ``grad``，一个与 ``x`` 形状相同的 float64 数组，其中
    ``grad[j] = (f(x + eps e_j) - f(x - eps e_j)) / (2 eps)``。可以原地扰动 ``x``，
    但必须恢复每一个元素，使得函数返回时 ``x`` 保持不变。
    """
    grad = np.zeros(x.shape)
    ### BEGIN SOLUTION
    for j in np.ndindex(x.shape):
        old = x[j]
        x[j] = old + eps
        f_plus = f(x)
        x[j] = old - eps
        f_minus = f(x)
        x[j] = old                          # 处理下一个元素之前先恢复原值
        grad[j] = (f_plus - f_minus) / (2 * eps)
    ### END SOLUTION
    return grad


x = rng.standard_normal((2, 3))
numeric = numeric_gradient(lambda x: np.sum(np.sin(x) * x), x)
analytic = np.cos(x) * x + np.sin(x)                 # d/dx (x sin x) = sin x + x cos x
print("max |numeric - analytic| =", np.abs(numeric - analytic).max())

# %% [markdown]
# ## `eps` 应该取多大？
#
# 泰勒公式告诉我们每种差分测量的是什么：
#
#     f(x + eps) = f(x) + eps f'(x) + eps^2/2 f''(x) + eps^3/6 f'''(x) + ...
#
#     单侧        (f(x + eps) - f(x)) / eps           = f'(x) + eps/2 f''(x)   + ...   误差 O(eps)
#     中心        (f(x + eps) - f(x - eps)) / (2 eps) = f'(x) + eps^2/6 f'''(x) + ...  误差 O(eps^2)
#
# 在中心差分中，`f(x)` 项和 `eps^2/2 f''(x)` 项相互抵消，所以它的*截断*误差是
# `O(eps^2)`：当 `eps` 缩小时，它（按数量级计）下降的速度是单侧差分误差的两倍。
# 但还有第二种误差。`f` 的每个值都会按浮点格式的精度舍入，即单位舍入误差 `u`
# （float64 中为 `2^-53`，约 `1.1e-16`；float32 中为 `2^-24`，约 `6e-8`；NumPy 的
# `np.finfo(dtype).eps` 是 1 与下一个可表示数之间的间距，等于 `2u`）。两个几乎相等的值相减，
# 差值中仍然保有信号，约为 `2 eps f'(x)`，但两次舍入会在其中留下约 `u |f|` 的*误差*，
# 而除以 `eps` 又会把这个误差*放大*：斜率中出现约 `u |f| / eps` 的*舍入误差*，
# 它随 `eps` 的缩小而增大。
#
# 总误差随 `eps` 的变化呈 V 形。下面我们对 `f = tanh` 在 200 个点上测量它
# （取相对误差的中位数），两种精度各测一次。

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
except ImportError:                     # 绘图是可选的：pip install matplotlib
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
# 从右往左读这张图。截断误差那一段的斜率分别是 2（中心差分）和 1（单侧差分）：
# `eps` 缩小十倍，精度提高两位或一位有效数字。在左边，每条曲线都以斜率 -1 上升，
# 这就是舍入误差 `u / eps`，直到 `eps` 小到 `x + eps == x`，估计值变为 0（相对误差为 1）。
# 每个 V 形的底部是两种误差相遇的地方：单侧差分在 `eps = u^(1/2)` 附近，
# 中心差分在 `u^(1/3)` 附近。
#
# **为什么用 float64。** 在 float64 中，`eps = 1e-6` 的中心差分精确到约 1e-10，
# 远低于任何合理的容差，而且 `1e-4` 到 `1e-7` 之间的任何步长都可用。在 float32 中，
# 能达到的最佳误差约为 1e-5，而在 `eps = 1e-6` 时约为 1e-2：检验本身的噪声
# 比它要发现的许多错误还大。所以梯度检验要在 float64 中进行，minigen 的
# `gradcheck` 会拒绝其他任何类型，并说明原因：

# %%
try:
    minigen.gradcheck(lambda x: x.tanh(), [minigen.tensor(np.ones(3, dtype=np.float32))])
except ValueError as err:
    print(err)

# %% [markdown]
# **第三种误差：步长本身也被舍入。** 上面的模型认为相对误差在每个 `x` 处都相同。
# 事实并非如此，因为 `x + eps` 和 `x - eps` 也要舍入到浮点网格上：在 `x` 附近，
# 网格间距约为 `2u |x|`，所以实际走过的步长与 `2 eps` 最多相差约 `u |x|`，
# 这给斜率带来约 `u |x| / eps` 的相对误差。当 `x` 在 1 附近时，它比其他误差小；
# 而对 `x = 20` 处的 `f = exp`，它要大二十倍，成为主导误差。改为除以实际走过的步长
# `(x + eps) - (x - eps)`，就能消除它：

# %%
for lo, hi in ((0.0, 1.0), (19.5, 20.5)):
    xs = np.random.default_rng(1).uniform(lo, hi, 1000)
    rise = np.exp(xs + 1e-6) - np.exp(xs - 1e-6)
    nominal = np.median(np.abs(rise / 2e-6 / np.exp(xs) - 1))
    taken = np.median(np.abs(rise / ((xs + 1e-6) - (xs - 1e-6)) / np.exp(xs) - 1))
    print(f"exp on [{lo:4}, {hi:4}], eps = 1e-6: median relative error {nominal:.1e} dividing by 2 eps, "
          f"{taken:.1e} dividing by the step taken")

# %% [markdown]
# ## 练习 2.2：永不上溢的 softmax
#
# softmax 把一行分数，即 logits（未归一化的对数概率），变成概率：
#
#     s_i = exp(x_i) / sum_j exp(x_j)
#
# `exp(1000)` 会上溢为 `inf`，而 `inf / inf` 是 `nan`。先减去这一行的最大值 `m`
# 在数学上不改变任何结果（`exp(-m)` 在分子和分母之间相互抵消），但这样一来，
# 最大的指数项就是 `exp(0) = 1`：
#
#     s_i = exp(x_i - m) / sum_j exp(x_j - m),    m = max_j x_j
#
# 沿最后一个轴计算，这样同一段代码就能处理 `(V,)`、`(B, V)` 和 `(B, T, V)` 形状的输入
# （`keepdims=True` 会保留被归约的轴，以便广播）。


# %%
def softmax(x):
    """沿最后一个轴计算 ``x``（形状为 (..., V)）的 softmax；对任何有限的 x，结果都是有限的。返回与 x 形状相同的 ``s``。"""
    ### BEGIN SOLUTION
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
    ### END SOLUTION


big = np.array([[1e4, 1e4 - 1.0, -1e4], [0.5, 1.0, 2.0]])
with np.errstate(over="ignore", invalid="ignore"):      # 朴素公式会上溢，这是有意为之
    naive = np.exp(big) / np.exp(big).sum(axis=-1, keepdims=True)
print("naive:  ", naive[0])
print("stable: ", softmax(big)[0])
x = rng.standard_normal((2, 3, 5))
print("max |softmax - minigen kernel| =", np.abs(softmax(x) - K.softmax_forward(x)[0]).max())
print("F.softmax at logits 1e4:", F.softmax(minigen.tensor(big)).numpy()[0])

# %% [markdown]
# ## 向量-雅可比积，以及练习 2.3
#
# 一个层把输入 `x` 映射为输出 `out`。它的反向传播并不构造雅可比矩阵
# `J = d out / d x`（对于 V 个类别上的 softmax，每一行就有 V x V 个数）；
# 它从上一层接收 `dout = dL/d out`，并返回
#
#     dx = J^T dout          （向量-雅可比积）
#
# 对于 softmax，`d s_i / d x_k = s_i (delta_ik - s_k)`，即 `J = diag(s) - s s^T`
# （每一行各有一个这样的矩阵），于是
#
#     dx_k = sum_i dout_i s_i (delta_ik - s_k) = s_k (dout_k - sum_i dout_i s_i)
#
# 用文字来说：`dout` 减去它*以概率加权*的平均值，再乘以 `s`。
#
# **如何检验。** 在 `dout` 固定时，`dx = J^T dout` 就是标量
#
#     L(x) = sum(out(x) * dout)
#
# 的梯度，而 `numeric_gradient` 可以对这个标量求导。所以检验一个反向传播的方法是：
# 随机抽取一个 `dout`，调用反向传播，再与
# `numeric_gradient(lambda x: np.sum(forward(x) * dout), x)` 进行比较。


# %%
def softmax_backward(dout, s):
    """``s = softmax(x)`` 沿最后一个轴的反向传播。``dout`` 和 ``s`` 的形状为 (..., V)；返回 ``dx``。"""
    # 前向传播是 s = exp(x - m) / sum(exp(x - m))，所以 dx = J^T dout，其中 J = diag(s) - s s^T
    ### BEGIN SOLUTION
    dx = s * (dout - (dout * s).sum(axis=-1, keepdims=True))
    ### END SOLUTION
    return dx


x = rng.standard_normal((3, 5))
dout = rng.standard_normal((3, 5))                     # 随机的上游梯度
analytic = softmax_backward(dout, softmax(x))
numeric = numeric_gradient(lambda x: np.sum(softmax(x) * dout), x)
print("max |analytic - numeric|        =", np.abs(analytic - numeric).max())
print("max |analytic - minigen kernel| =", np.abs(analytic - K.softmax_backward(dout, K.softmax_forward(x)[1])).max())

# %% [markdown]
# ## 为什么上游梯度必须是随机的
#
# 一个诱人的捷径是检验 `out.sum()`：它根本不需要 `dout`。但这*正是*选择了
# `dout = 1`，而它只检验了一个方向 `J^T 1`。对 softmax 来说，这个方向是盲区：
# 无论 `x` 是什么，`s` 的每一行之和都是 1，所以 `sum(softmax(x))` 的真实梯度是**零**，
# 任何在 `dout = 1` 时同样返回零的反向传播都能通过检验。
#
# 下面就是这样一个反向传播，一个看似合理的笔误：它减去的是 `dout` 的*普通*平均值，
# 而不是以概率加权的平均值。当 `dout = 1` 时，两种平均值都是 1，
# 所以它返回 0，与真实梯度完全相同。

# %%
def broken_softmax_backward(dout, s):
    """错误：减去的是 dout 的普通平均值，而不是 sum(dout * s)。"""
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
# 求和检验让两者都通过了；只有随机的 `dout` 才能把它们区分开。随机的 `dout`
# 没有任何特殊结构，所以错误的 `J^T` 以概率 1 给出错误的 `J^T dout`。
# （像某些教学代码那样检验 `out.sum()` 的梯度检验器，恰恰会放过这个 softmax 错误。）
#
# ## 用 minigen 做同样的检验
#
# `minigen.gradcheck_kernel(forward, backward, inputs)` 为一对核函数完成上述全部工作：
# `forward(*inputs) -> (out, cache)`，`backward(dout, cache) -> grads`。
# 它（以固定的种子）随机抽取一个 `dout`，扰动每个浮点输入的每一个元素
# （它们必须是 float64；词元 id 这类整数输入原样传递），并抛出指出错误梯度名称的
# `GradcheckError`。如果输入是一个字典，键就给梯度命名：`{"x": x}` 报告的是 `dx`。

# %%
def forward(x):
    s = softmax(x)
    return s, s                                         # (out, cache)：反向传播需要 s


inputs = {"x": rng.standard_normal((4, 6))}
print("right backward: ", minigen.gradcheck_kernel(forward, softmax_backward, inputs))
try:
    minigen.gradcheck_kernel(forward, broken_softmax_backward, inputs)
except minigen.GradcheckError as err:
    print("broken backward:", err)
    print(f"\nthe report, as attributes: input={err.input!r} index={err.index} analytic={err.analytic:.6g} "
          f"numeric={err.numeric:.6g} rel_error={err.rel_error:.3g}")

# %% [markdown]
# 报告给出梯度的名称（`dx`）、它误差最大的元素、解析值（你的反向传播在那里返回的值）、
# 数值（`sum(out * dout)` 的中心差分）以及两者的相对误差，然后给出建议。
#
# `minigen.gradcheck(fn, inputs)` 对张量（Tensor）的函数做同样的事，其反向传播来自自动微分。
# 把每个反向传播包装进一个 `minigen.Function` 可以看出：引擎会把错误原封不动地传递下去，
# 而检验在网络的中间也能发现它：

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
# 错误的 softmax 让 `dx` 和 `dW` 都出错（误差经由 `x @ W` 同时流回两者）；
# 报告先指出两者中更糟的那个，再列出另一个。
#
# ## 练习 2.4：解读误差
#
# 绝对差值本身说明不了什么：对大小为 100 的梯度来说，`1e-6` 微不足道；
# 对大小为 `1e-8` 的梯度来说，它却大得惊人。**相对误差**
#
#     rel(a, n) = |a - n| / max(|a|, |n|)
#
# 与尺度无关（给分母设一个极小的下限，使两个零得到 0 而不是 `nan`）。报告误差最大的元素。
# 在 float64、`eps = 1e-6` 下的经验法则：
#
# - 约 `1e-7` 或更小：正确（光滑函数给出 `1e-8` 到 `1e-11`）；
# - 约 `1e-4` 到 `1e-2`：可疑。检查输入附近是否有折点、某处是否混入了 float32、
#   `eps` 是否选得不好，或者是否有一个只影响少数元素的错误；
# - 约 `1`（或 2，即符号反了）：错误，除非检验本身是在 float32 中进行的。
#
# 起决定作用的是误差最大的元素，因为错误往往只影响少数几个元素
# （批量中的一行、最后一个时间步、一个重复出现的下标）。
#
# 当真实梯度接近 0 时，即使答案正确，相对误差也会很大（`1e-12` 对 `1e-14`），
# 所以实际的检验器会把两者结合起来，就像 `np.isclose` 那样：
# `|a - n| <= atol + rtol * |n|`（minigen 的默认值：`atol = 1e-5`，`rtol = 1e-3`）。


# %%
def relative_error(a, b):
    """两个形状相同的数组逐元素计算 ``|a - b| / max(|a|, |b|, 1e-300)``，以 Python float 返回其最大值。

    两个零给出 0（下限 1e-300 避免了 0 / 0）。
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
    """sum(softmax(x) * d) 的中心差分，以 ``dtype`` 类型、步长 ``eps`` 计算。"""
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
# **折点。** 中心差分假定函数在 `x - eps` 与 `x + eps` 之间是光滑的。
# `relu(x) = max(0, x)` 在 0 处有一个折点：在那里，数值斜率是 `(eps - 0) / (2 eps) = 0.5`
# （再乘以 `dout`），而解析斜率是 0（或者按约定取 1）；在 `x = 2e-7` 处，它离 0 比 `eps` 还近，
# 数值斜率是 0.6 而不是 1。反向传播是对的，检验却照样失败：

# %%
x = minigen.tensor(np.array([-1.5, -0.3, 0.0, 2e-7, 0.8]))
try:
    minigen.gradcheck(lambda x: x.relu(), {"x": x})
except minigen.GradcheckError as err:
    print(str(err).splitlines()[0])
x_away = minigen.tensor(np.array([-1.5, -0.3, -0.2, 0.4, 0.8]))
print("inputs away from the kink:", minigen.gradcheck(lambda x: x.relu(), {"x": x_away}))

# %% [markdown]
# 解决办法在于输入，而不在于代码：让输入与折点的距离大于 `eps`（`max` 遇到并列值、
# `abs` 在 0 处、`clip` 在其边界处，都是同样的道理）。随机的正态分布输入几乎从不落在
# 折点的 `1e-6` 范围之内，这也是要在随机点上做检验的又一个理由。
#
# ## 练习
#
# 1. （计分：2.1 `numeric_gradient`，2.2 `softmax`，2.3 `softmax_backward`，
#    2.4 `relative_error`。）`python -m minigen grade . --public-only` 运行
#    公开检查。
# 2. 在 float32 和 float64 中分别测量单侧差分和中心差分的 V 形底部在哪里，
#    并与 `u^(1/2)` 和 `u^(1/3)` 比较（`u = np.finfo(dtype).eps / 2`）。
#    对 `x = 20` 附近的 `f = exp`，底部又在哪里？为什么（参见上文的步长舍入）？
# 3. 编写 `log_softmax` 及其反向传播（`dx = dout - s * sum(dout)`），并用
#    `minigen.gradcheck_kernel` 检验它们。`sum(log_softmax(x))` 是否像 softmax 之和那样是常数？
#    求和检验能否发现一个漏掉了 `s * sum(dout)` 项的反向传播？
#    它会放过哪一种错误的 log-softmax 反向传播？
# 4. `minigen.gradcheck(..., fast=True)` 沿一个随机方向检验每个输入，而不是逐个元素检验。
#    它可能漏掉哪些错误？可能性有多大？在 100 x 100 的输入上，它快多少？
