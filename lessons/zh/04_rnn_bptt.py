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
# # 第 4 课：简单循环神经网络与随时间反向传播
#
# 第 3 课的二元语法（bigram）模型只根据当前字符预测下一个字符，而前馈网络只能看到
# 一个固定宽度的文本窗口。**循环**神经网络每次读入一个词元，并维护一个不断更新的摘要，
# 即隐状态 `h`，每一步都用*同一组*权重来更新它。这就是 Elman RNN，
# 也就是 PyTorch 的 `nn.RNN`：
#
#     a_t = x_t W_ih^T + h_{t-1} W_hh^T + b          (B, H)
#     h_t = tanh(a_t)                                (B, H)
#
# 形状：`B` = 批量大小，`T` = 时间（序列长度），`C` = 输入通道数（嵌入的宽度），
# `H` = 隐藏层大小，`V` = 词表大小。
# `x_t (B, C)`，`h_{t-1} (B, H)`，`W_ih (H, C)`，`W_hh (H, H)`，`b (H,)`。
# 语言模型在其上再加一个线性层 `logits_t = h_t W_out^T (B, V)`，
# 并读入 `h_0`（初始状态，通常为零）和 `x_1, ..., x_T`。
#
# 本课由三个思想组成：
#
# 1. **展开。** 把循环神经网络在 T 个时间步上展开写出，它就是一个 T 层深的前馈网络，
#    各层共享 `W_ih`、`W_hh` 和 `b`。在这个展开的网络上做反向传播，就是
#    **随时间反向传播**（backpropagation through time，BPTT）。第 t 步的损失会传到
#    之前的每一步；又因为权重是共享的，它们的梯度是各个时间步上的*总和*。
# 2. **梯度消失与梯度爆炸。** 每往回走一步，梯度就要乘以 `diag(1 - h_t^2) W_hh`。
#    经过许多步，这个乘积可能按几何级数缩小或增长。`W_hh` 的最大奇异值给出了它的上界：
#    小于 1 时，梯度必然消失；大于 1 时，梯度可能爆炸，也可能被 tanh 抑制住。
# 3. **截断的随时间反向传播。** 一个语料库有数百万个字符。我们把它切成若干块，
#    把隐状态从一块传到下一块，但在块的边界处切断梯度。
#
# 你将编写单步和整个序列的前向与反向传播，用中心差分（第 2 课）和 minigen 的核函数
# （`minigen.kernels.rnn`）检验它们，然后用第 3 课的交叉熵损失在莎士比亚文本上
# 训练 minigen 的字符级循环神经网络。
#
# 可以把它当作脚本运行（`python 04_rnn_bptt.py`），也可以用 jupytext 把它作为笔记本打开。
# `MINIGEN_QUICK=1`（或 `--quick`）会缩短训练部分。

# %%
import os
import sys

import minigen  # 放在最前面：minigen 会设置 OpenBLAS 的线程数，这必须在加载 NumPy 之前完成
import numpy as np

from minigen.kernels import rnn as rnn_kernels

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)

# %% [markdown]
# ## 练习 4.1：单步前向传播
#
# 计算 `a = x W_ih^T + h_prev W_hh^T + b` 和 `h = tanh(a)`，返回 `h` 以及一个
# `cache`：即反向传播将要用到的一切。反向传播需要 `tanh'(a)`，而由于
# `tanh'(a) = 1 - tanh(a)^2 = 1 - h^2`，保存 `h` 就够了，无须保存 `a`。


# %%
def rnn_step_forward(x, h_prev, W_ih, W_hh, b):
    """循环神经网络的一步：x (B, C)，h_prev (B, H)，W_ih (H, C)，W_hh (H, H)，b (H,)。

    返回 ``(h, cache)``，其中 h (B, H) = tanh(x W_ih^T + h_prev W_hh^T + b)。
    """
    ### BEGIN SOLUTION
    a = x @ W_ih.T + h_prev @ W_hh.T + b                 # (B, H)
    h = np.tanh(a)                                       # (B, H)
    cache = (x, h_prev, W_ih, W_hh, h)
    ### END SOLUTION
    return h, cache


# %% [markdown]
# minigen 的核函数 `rnn_cell_forward(x, h_prev, W_ih, W_hh, b_ih, b_hh)` 沿用了
# PyTorch 的两个偏置向量。它们总是以和的形式出现，所以把我们的 `b` 作为 `b_ih` 传入
# （不传 `b_hh`），得到的是同一个单元。

# %%
B, C, H = 3, 4, 5
inputs = {
    "x": rng.standard_normal((B, C)),
    "h_prev": rng.standard_normal((B, H)),
    "W_ih": rng.standard_normal((H, C)) * 0.5,
    "W_hh": rng.standard_normal((H, H)) * 0.5,
    "b": rng.standard_normal(H) * 0.1,
}
h, cache = rnn_step_forward(*inputs.values())
h_ref, _ = rnn_kernels.rnn_cell_forward(*inputs.values())
print("h shape", h.shape, " max |h - h_minigen| =", np.abs(h - h_ref).max())

# %% [markdown]
# ## 练习 4.2：单步反向传播
#
# 给定 `dh`，即损失关于这一步 `h` 的梯度，按 `dx, dh_prev, dW_ih, dW_hh, db` 的顺序
# 返回全部五个输入的梯度。沿前向传播倒着走：
#
# - 前向传播是 `h = tanh(a)`，所以 `da = dh * (1 - h^2)`            (B, H)；
# - 前向传播是 `a = x W_ih^T + h_prev W_hh^T + b`，这是矩阵乘积，所以
#   `dx = da W_ih` (B, C)，`dh_prev = da W_hh` (B, H)；
# - 对于权重，`Y = X W^T` 的规则是 `dW = dY^T X`：`dW_ih = da^T x`
#   (H, C)，`dW_hh = da^T h_prev` (H, H)；
# - `b` 被加到了批量的每一行上，所以 `db` 是 `da` 在批量维度上的和 (H,)。
#
# 形状检查能发现 `dW_ih` 中的大多数错误（它不是方阵），但发现不了 `dW_hh` 中的错误：
# `h_prev^T da` 的形状 (H, H) 是对的，却是正确答案的*转置*。只有梯度检验才能发现。


# %%
def rnn_step_backward(dh, cache):
    """``rnn_step_forward`` 的反向传播：dh (B, H) -> ``(dx, dh_prev, dW_ih, dW_hh, db)``。

    形状：dx (B, C)，dh_prev (B, H)，dW_ih (H, C)，dW_hh (H, H)，db (H,)。
    不改变 ``dh``（不要对它做原地的 ``*=``：调用者可能还要用到它）。
    """
    ### BEGIN SOLUTION
    x, h_prev, W_ih, W_hh, h = cache
    # 前向传播是 h = tanh(a)，且 tanh'(a) = 1 - h^2
    da = dh * (1 - h**2)                                 # (B, H)
    # 前向传播是 a = x W_ih^T + h_prev W_hh^T + b
    dx = da @ W_ih                                       # (B, C)
    dh_prev = da @ W_hh                                  # (B, H)
    dW_ih = da.T @ x                                     # (H, C)
    dW_hh = da.T @ h_prev
    db = da.sum(axis=0)                                  # (H,)
    ### END SOLUTION
    return dx, dh_prev, dW_ih, dW_hh, db


# %% [markdown]
# ## 检验单步的反向传播
#
# `minigen.gradcheck_kernel(forward, backward, inputs)` 随机抽取一个上游梯度 `dh`，
# 在 float64 中逐个元素地把你的解析梯度与 `L = sum(h * dh)` 的中心差分
# `(L(w + eps) - L(w - eps)) / (2 eps)` 进行比较。`inputs` 的键在报告中用来给梯度命名
# （`dW_hh`）。

# %%
print("gradient check passed:", minigen.gradcheck_kernel(rnn_step_forward, rnn_step_backward, inputs))

dh = rng.standard_normal((B, H))
mine = rnn_step_backward(dh, cache)
ref = rnn_kernels.rnn_cell_backward(dh, rnn_kernels.rnn_cell_forward(*inputs.values())[1])
for name, a, r in zip(["dx", "dh_prev", "dW_ih", "dW_hh", "db"], mine, ref):
    print(f"{name:8s} max abs difference from minigen {np.abs(a - r).max():.2e}")

# %% [markdown]
# ## 展开：序列就是一个共享权重的深层网络
#
# 把单步运行 T 次，每一步的 `h` 送入下一步：
#
#     h_0 --step--> h_1 --step--> h_2 --> ... --> h_T
#            ^             ^                ^
#           x_1           x_2              x_T
#
# 每个方框都是同一个函数，使用同样的 `W_ih`、`W_hh`、`b`。我们按**时间优先**
# （time-major）的方式存储序列，即 `x (T, B, C)`，与 minigen 的核函数（以及 PyTorch 的
# `nn.RNN` 的默认设置）一致：`x[t]` 是整个批量在一个时间步上的数据，是一块连续的内存。
# 在代码中，`hs[t]` 是读入 `x[t]` 之后的状态，也就是数学式中的 `h_{t+1}`
# （Python 从 0 开始计数）。
#
# ## 练习 4.3：序列的前向传播
#
# 让你的 `rnn_step_forward` 在 T 个时间步上循环。返回 `hs (T, B, H)`，即每一步之后的隐状态，
# 以及供反向传播使用的缓存（把各步的缓存放进一个列表就可以）。


# %%
def rnn_forward(x, h0, W_ih, W_hh, b):
    """在时间优先的序列上运行循环神经网络：x (T, B, C)，h0 (B, H)。

    返回 ``(hs, cache)``，其中 hs (T, B, H)，hs[t] 是第 t 步之后的隐状态
    （因此 hs[-1] 是最后一个隐状态）。
    """
    ### BEGIN SOLUTION
    T = x.shape[0]
    hs = np.empty((T,) + h0.shape)                       # (T, B, H)
    caches = []
    h = h0
    for t in range(T):
        h, step_cache = rnn_step_forward(x[t], h, W_ih, W_hh, b)
        hs[t] = h
        caches.append(step_cache)
    cache = caches
    ### END SOLUTION
    return hs, cache


# %% [markdown]
# ## 随时间反向传播
#
# 语言模型的损失是各个时间步之和，`L = l_1 + ... + l_T`，而 `l_t` 依赖于 `h_t`。
# 但 `h_t` 还要送入 `h_{t+1}`，`h_{t+1}` 又送入 `h_{t+2}`，依此类推：
# 到达 `h_t` 的梯度由两部分组成，
#
#     dh_t = dL/dh_t （来自上方：第 t 步的输出，代码中的 dhs[t]）
#          + da_{t+1} W_hh          （来自下一步：它的 dh_prev）
#
# 因此，随时间反向传播要**倒着**遍历各个时间步，从 t = T 到 1，在每一步把来自上方的梯度
# 加到后一步传回来的 `dh_prev` 上：
#
#     da_t  = dh_t * (1 - h_t^2)
#     dx_t  = da_t W_ih
#     dh_{t-1} （继续往回传）= da_t W_hh
#
# 每一步用的都是*同样的* `W_ih`、`W_hh` 和 `b`。一个被使用了 T 次的权重，
# 其梯度是这 T 个梯度之和（多元链式法则：每使用一次就有一项）：
#
#     dW_ih = sum_t da_t^T x_t     dW_hh = sum_t da_t^T h_{t-1}     db = sum_t (da_t 各行之和)
#
# 最终从最远端传出的梯度 `dh_0`，就是初始状态的梯度。
#
# ## 练习 4.4：序列的反向传播
#
# 给定 `dhs (T, B, H)`，即损失关于每个 `hs[t]` 的梯度，让你的 `rnn_step_backward`
# 沿时间倒着循环。权重梯度从零开始，把每一步的份额加进去；保留每一步得到的 `dh_prev`，
# 把它加到下一个（更早的）时间步上。返回 `dx (T, B, C)`、`dh0 (B, H)`、`dW_ih`、`dW_hh`、`db`。


# %%
def rnn_backward(dhs, cache):
    """``rnn_forward`` 的随时间反向传播：dhs (T, B, H)。

    返回 ``(dx, dh0, dW_ih, dW_hh, db)``，其中 dx (T, B, C)，dh0 (B, H)，
    dW_ih (H, C)，dW_hh (H, H)，db (H,)。不改变 ``dhs``。
    """
    ### BEGIN SOLUTION
    caches = cache
    T, B, H = dhs.shape
    x0, _, W_ih, W_hh, _ = caches[0]
    dx = np.zeros((T,) + x0.shape)                       # (T, B, C)
    dW_ih = np.zeros_like(W_ih)                          # (H, C)
    dW_hh = np.zeros_like(W_hh)                          # (H, H)
    db = np.zeros(H)                                     # (H,)
    dh_next = np.zeros((B, H))                           # 第 t + 1 步传回给 h_t 的梯度
    for t in reversed(range(T)):
        # h_t 既送入第 t 步的输出，也送入下一步：把两个梯度相加
        dh = dhs[t] + dh_next
        dx[t], dh_next, dW_ih_t, dW_hh_t, db_t = rnn_step_backward(dh, caches[t])
        # 所有时间步共享权重：它们的梯度累加起来
        dW_ih += dW_ih_t
        dW_hh += dW_hh_t
        db += db_t
    dh0 = dh_next
    ### END SOLUTION
    return dx, dh0, dW_ih, dW_hh, db


# %% [markdown]
# ## 检验随时间反向传播
#
# 梯度检验把你的 `rnn_forward` 当作关于全部五个输入的一个大函数，所以它一次就检验了
# 整条链。我们取 T = 5：一个忘了*累加*的反向传播（把 `+=` 写成 `dW_hh = dW_hh_t`）
# 只保留了第一个时间步的份额，而 T = 1 的检验永远发现不了这个错误。

# %%
T, B, C, H = 5, 2, 3, 4
seq_inputs = {
    "x": rng.standard_normal((T, B, C)),
    "h0": rng.standard_normal((B, H)) * 0.5,
    "W_ih": rng.standard_normal((H, C)) * 0.5,
    "W_hh": rng.standard_normal((H, H)) * 0.5,
    "b": rng.standard_normal(H) * 0.1,
}
print("BPTT gradient check passed:", minigen.gradcheck_kernel(rnn_forward, rnn_backward, seq_inputs))

# %% [markdown]
# minigen 的 `rnn_forward` 是同一个递推，只多了一项优化：输入投影 `x_t W_ih^T + b`
# 不依赖于 `h`，所以在循环之前，它用一次 `(T*B, C) @ (C, H)` 的乘积算完全部 T 个时间步；
# 反向循环结束之后，每个权重梯度也只需对堆叠起来的 `da_t` 做一次乘积，而不是 T 次小乘积。
# 只有 `h_{t-1} W_hh^T` 必须留在循环之内：它才是真正按顺序进行的部分。
# 它返回 `((out, h_n), cache)`，其反向传播接收两者的上游梯度 `(dout, dh_n)`。

# %%
x, h0, W_ih, W_hh, b = seq_inputs.values()
hs, cache = rnn_forward(x, h0, W_ih, W_hh, b)
(out_ref, h_n), cache_ref = rnn_kernels.rnn_forward(x, h0, W_ih, W_hh, b)
print("max |hs - out_minigen| =", np.abs(hs - out_ref).max())
dhs = rng.standard_normal((T, B, H))
mine = rnn_backward(dhs, cache)
ref = rnn_kernels.rnn_backward((dhs, None), cache_ref)
for name, a, r in zip(["dx", "dh0", "dW_ih", "dW_hh", "db"], mine, ref):
    print(f"{name:6s} max abs difference from minigen {np.abs(a - r).max():.2e}")

# %% [markdown]
# ### 第 t 步的损失会传到之前的每一步，而不会传到之后的任何一步
#
# 只在一个输出上放置梯度，即 8 步序列的 `hs[5]`，然后看哪些输入得到了梯度：
# 第 5 步及其之前的每个 `x` 都有，之后的都没有。循环神经网络是因果的，
# 而随时间反向传播把梯度一路带回到 `h_0`。

# %%
x8 = rng.standard_normal((8, 1, C))
hs8, cache8 = rnn_forward(x8, np.zeros((1, H)), W_ih, W_hh, b)
dhs8 = np.zeros_like(hs8)
dhs8[5] += 1.0                                           # 只在 hs[5] 上放置梯度
dx8, dh0_8, *_ = rnn_backward(dhs8, cache8)
print("|dx[t]| for t = 0..7:", np.round(np.linalg.norm(dx8, axis=(1, 2)), 4))
print("|dh0| =", round(float(np.linalg.norm(dh0_8)), 4))

# %% [markdown]
# ## 梯度消失与梯度爆炸
#
# 把梯度的递推展开。从 `h_t` 回到 `h_{t-1}` 是
#
#     dh_{t-1} = (dh_t * (1 - h_t^2)) W_hh = dh_t diag(1 - h_t^2) W_hh
#
# 所以第 T 步的损失关于初始状态的梯度，是 `dh_T` 乘以 T 个这样的雅可比矩阵之积。
# `tanh' = 1 - h^2` 至多为 1，所以如果 `W_hh` 的每个奇异值都不超过 `rho`，那么
#
#     |dh_0| <= |dh_T| * rho^T,
#
# 当 `rho < 1` 时，它按几何级数消失。当 `rho > 1` 时，这个乘积可能像 `rho^T` 那样增长，
# 除非 tanh 饱和（`1 - h^2` 接近 0）而把它抑制住。为了让实验干净，我们取
# `W_hh = rho * Q`，其中 `Q` 是一个随机正交矩阵，这样 `W_hh` 的每个奇异值（以及谱半径）
# 都恰好是 `rho`；在 T 个随机输入上运行你的 `rnn_forward`，只在最后一个输出上放置梯度，
# 并用你的 `rnn_backward` 测量 `|dh_0|`，T 从 1 取到 60。

# %%
def dh0_norms(rho, T_max=60, H=32, C=8):
    """对长度为 1..T_max 的序列，在最后一个输出上放置单位梯度时的 |dh_0|。"""
    r = np.random.default_rng(1)
    Q, _ = np.linalg.qr(r.standard_normal((H, H)))       # (H, H)，正交矩阵
    W_ih, W_hh, b = r.standard_normal((H, C)) * 0.1, rho * Q, np.zeros(H)
    x = r.standard_normal((T_max, 1, C))
    norms = []
    for T in range(1, T_max + 1):
        hs, cache = rnn_forward(x[:T], np.zeros((1, H)), W_ih, W_hh, b)
        dhs = np.zeros_like(hs)
        dhs[-1] = 1 / np.sqrt(H)                         # |dh_T| = 1
        norms.append(np.linalg.norm(rnn_backward(dhs, cache)[1]))
    return np.array(norms)


radii = [0.5, 0.9, 1.5, 3.0]
curves = {rho: dh0_norms(rho) for rho in radii}
for rho, n in curves.items():
    print(f"rho = {rho}:  |dh_0| at T = 10: {n[9]:.1e}   T = 30: {n[29]:.1e}   T = 60: {n[59]:.1e}")

try:
    import matplotlib.pyplot as plt
except ImportError:                     # 绘图是可选的：pip install matplotlib
    plt = None
if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for rho, n in curves.items():
        ax.semilogy(np.arange(1, len(n) + 1), n, label=f"singular values {rho}")
    ax.set_xlabel("sequence length T (steps between the loss and h_0)")
    ax.set_ylabel("|dL/dh_0|")
    ax.set_title("BPTT: the gradient vanishes or explodes geometrically")
    ax.legend()
    plt.show()

# %% [markdown]
# 当 `rho = 0.5` 时，来自 30 步之外的梯度低于 1e-9：第 30 步的损失对最初那些输入的
# 反馈全都淹没在舍入误差之中，所以简单循环神经网络无法*学会*长程依赖，尽管它的
# 前向传播本可以把这些信息传递过去。当 `rho = 3` 时，梯度增长了好几个数量级，
# 用它做一次更新就会把权重甩到很远的地方。`rho = 1.5` 介于两者之间：状态不断增长，
# 直到 tanh 弯曲下来（这里 `1 - h^2` 的平均值约为 0.6），`W_hh` 带来的增长与 tanh
# 带来的衰减大致抵消（并不是简单的 1.5 x 0.6：梯度集中在饱和程度最低的那些单元上，
# 这也是 `rho = 3` 仍然会爆炸的原因）。这种平衡靠的是运气，而不是设计：它取决于输入，
# 而一个被推入饱和区的单元几乎不让梯度通过。
#
# 常用的补救办法：
#
# - **梯度爆炸**：在更新之前按全局范数裁剪梯度（minigen 的 `Trainer` 会这样做，
#   默认 `grad_clip=1.0`，用的是 `minigen.nn.utils.clip_grad_norm_`）；
# - **梯度消失**：改变网络结构，让状态通过一个门以*加法*方式更新，而不是每一步都经过
#   `W_hh` 再被压缩：即长短期记忆网络（第 5 课）和门控循环单元（第 6 课）。
#
# ## 截断的随时间反向传播
#
# minigen 的莎士比亚语料库有 480 万个字符。在整个语料上做完整的随时间反向传播，
# 需要把每一步的缓存都留在内存中，而且每遍历一次语料库才能更新一次权重。
# **截断的随时间反向传播**把文本切成每块 T 个字符（比如 T = 64），对于每一块：
#
# - 前向传播从上一块结束时的隐状态开始，因此模型的记忆并不局限于 T 个字符；
# - 反向传播在块的开头停止：传过来的状态被当作常数（它从计算图中被**分离**，detach），
#   所以梯度最多往回传 T 步。
#
# 对于你用 NumPy 写的函数，分离就是这么简单：把一块的最后一个 `hs` 作为下一块的 `h0` 传入，
# 并丢掉 `rnn_backward` 返回的 `dh0`。下面把一个 12 步的序列分成 3 块、每块 4 步来读，
# 得到的前向传播与完整的前向传播*完全*相同，而最后一步的损失的梯度在块的边界处停止。

# %%
x12 = rng.standard_normal((12, 1, C))
hs_full, cache_full = rnn_forward(x12, np.zeros((1, H)), W_ih, W_hh, b)
h, chunks = np.zeros((1, H)), []
for k in range(3):
    hs_k, cache_k = rnn_forward(x12[4 * k:4 * k + 4], h, W_ih, W_hh, b)
    chunks.append((hs_k, cache_k))
    h = hs_k[-1]                                         # 传递状态（只传数值）
print("forward, chunked vs full: max difference", np.abs(np.concatenate([c[0] for c in chunks]) - hs_full).max())

dhs_full = np.zeros_like(hs_full)
dhs_full[-1] += 1.0                                      # 损失只在最后一步
dx_full = rnn_backward(dhs_full, cache_full)[0]
dx_last, _dh0_dropped, *_ = rnn_backward(dhs_full[8:], chunks[2][1])   # 只算最后一块；dh0 已被分离
print("|dx[t]| full BPTT:     ", np.round(np.linalg.norm(dx_full, axis=(1, 2)), 3))
print("|dx[t]| truncated, T=4:", np.round(np.concatenate([np.zeros(8), np.linalg.norm(dx_last, axis=(1, 2))]), 3))

# %% [markdown]
# ### 由连续文本流组成的批量
#
# 要把状态从一个批量传到下一个批量，第 `k + 1` 个批量的第 `i` 行必须接续第 `k` 个批量的第 `i` 行。
# `minigen.data.StreamBatcher` 把词元 id 切成 B 条长文本流，并按顺序每次读取 T 个词元：

# %%
from minigen.data import CharTokenizer, StreamBatcher, shakespeare, train_val_split  # noqa: E402

text = shakespeare()[: 100_000 if QUICK else 1_000_000]
tokenizer = CharTokenizer.train(text)
batcher = StreamBatcher(tokenizer.encode(text), batch_size=4, seq_len=24)
for k in range(2):
    x_ids, y_ids = batcher.next_batch()
    print(f"batch {k}:", " | ".join(repr(tokenizer.decode(row.tolist())) for row in x_ids[:2]))

# %% [markdown]
# ### 训练 minigen 的字符级循环神经网络
#
# `minigen.models.RNNLanguageModel(..., cell="rnn")` 由嵌入 -> `nn.RNN` -> 线性输出头组成，
# 其递推与你的函数相同（`nn.RNN` 通过自动微分调用 `minigen.kernels.rnn`）。
# `minigen.train.Trainer` 通过一个 `StreamBatcher` 读取训练用的 id，并在每一步之后保留
#
#     self.state = self.model.detach_state(state)     # 传递数值，切断计算图
#
# 这就是截断的随时间反向传播：下一个批量的前向传播从这个批量结束的地方开始，
# 而它的反向传播在那里停止。当批量读取器绕回到文本开头时，状态从零重新开始。
# Trainer 还会把梯度范数裁剪到 1。

# %%
from minigen.models import RNNLanguageModel  # noqa: E402
from minigen.train import Trainer  # noqa: E402

train_ids, val_ids = train_val_split(tokenizer.encode(text), 0.05)
minigen.manual_seed(0)
model = RNNLanguageModel(tokenizer.vocab_size, embed_dim=32, hidden_size=128 if QUICK else 256, num_layers=1,
                         cell="rnn")
optimizer = minigen.optim.Adam(model.parameters(), lr=3e-3)
trainer = Trainer(model, optimizer, train_ids, val_ids, tokenizer=tokenizer, batch_size=32, seq_len=64,
                  max_steps=120 if QUICK else 1500, warmup_steps=10, eval_interval=120 if QUICK else 250,
                  eval_tokens=8192, progress=not QUICK)
trainer.fit()
state = trainer.state
print("carried state:", type(state).__name__, state.shape, "| part of a graph:", state.requires_grad)
print("validation loss:", round(trainer.history[-1]["val_loss"], 3), "nats per character",
      f"(a uniform guess over {tokenizer.vocab_size} characters: {np.log(tokenizer.vocab_size):.3f})")
prompt = np.array([tokenizer.encode("ROMEO:")])
out = model.generate(prompt, max_new_tokens=120, do_sample=True, temperature=0.8, seed=0)
print(tokenizer.decode(out[0].tolist()))

# %% [markdown]
# ## 练习
#
# 1. （计分：上面的 4.1 到 4.4。）`python -m minigen grade . --public-only` 对你的函数
#    运行公开检查。
# 2. 故意植入一个错误：在 `rnn_backward` 中，把 `dW_hh` 的 `+=` 换成 `=`。
#    梯度检验会判定哪些梯度出错，哪些仍然正确？为什么 T = 1 的检验会通过？
# 3. 把 `tanh` 换成 ReLU（`minigen.nn.RNN(..., nonlinearity="relu")` 提供了它；在你的函数中，
#    `h = max(a, 0)`，`da = dh * (h > 0)`）。重新绘制 `|dh_0|` 的曲线。
#    现在梯度在什么情况下爆炸？为什么饱和不再能挽救它？
# 4. 不传递状态的截断随时间反向传播：编写一个 `minigen.train.Callback`，其
#    `on_step_end(trainer, loss)` 设置 `trainer.state = None`，使每个批量都从零开始。
#    把验证损失与传递状态的那次运行进行比较。然后试试 `seq_len=16` 和 `seq_len=256`：
#    T 对模型能学到什么有何影响？对速度又有何影响？
