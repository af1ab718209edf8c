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
# # 第 7 课：注意力与多头注意力
#
# 第 4 课到第 6 课的循环神经网络一次读入序列的一步，并把见过的一切压缩进一个
# 状态向量。要用到 50 步之前的一个词元，这条信息必须经受住该状态的 50 次更新
# （而它的梯度要经受住 50 步的随时间反向传播）。**注意力**消除了这个瓶颈：每个
# 位置都直接查看其他每一个位置，并自行决定从每个位置取多少信息。
#
# 可以把它看作一次软性的字典查找。每个位置发出三个向量：
#
# - **查询**（query）`q_i`：我在找什么？
# - **键**（key）`k_j`：我包含什么？
# - **值**（value）`v_j`：如果被选中，我交出什么？
#
# 查询 i 用点积为每个键打分，softmax 把一行的分数变成为正且和为 1 的权重，
# 输出就是值的加权平均：
#
#     S   = q k^T / sqrt(d)          (B, T_q, T_k)   分数
#     P   = softmax(S)  沿键的方向   (B, T_q, T_k)   注意力权重，每行之和为 1
#     out = P v                      (B, T_q, d_v)
#
# 形状：B = 批量大小，T_q = 查询的位置数，T_k = 键（以及值）的位置数（在自注意力
# 中两者都是 T），d = 查询/键的特征数，d_v = 值的特征数。后面的多头注意力还会用到：
# C = 通道数，nh = 头数，hs = 每个头的大小 = C / nh（用 `nh` 而不是 `H`：H 仍然是
# 第 4 课到第 6 课的隐藏层大小）。
#
# 字典查找只取一个条目；注意力则把所有条目混合起来，而且由于这种混合是可微的，
# 网络能够*学会*该找什么。中间的 softmax 就是第 2 课的那个，包括前向和反向传播。
# 在本课中，你将编写注意力的前向与反向传播，看清分数为什么要除以 `sqrt(d)`，
# 把某些位置掩蔽掉（解码器的因果掩码、填充掩码），由此构建多头注意力，训练一个
# 很小的模型并观察它在注意什么，最后认识让生成变快的键值缓存（key/value cache）。
#
# 可以把它当作脚本运行（`python 07_attention.py`），也可以用 jupytext 把它作为笔记本打开。
# `MINIGEN_QUICK=1`（或 `--quick`）会缩短训练部分。

# %%
import os
import sys

import minigen  # 放在最前面：minigen 会设置 OpenBLAS 的线程数，这必须在加载 NumPy 之前完成
import numpy as np

import minigen.functional as F
from minigen import nn
from minigen.kernels import attention as KA

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)
np.set_printoptions(precision=3, suppress=True)

try:
    import matplotlib.pyplot as plt
except ImportError:                     # 图是可选的：pip install matplotlib
    plt = None

# %% [markdown]
# ## 掩码：谁可以看谁
#
# 有时某个查询不能看到某些键。**掩码**是一个与分数形状相同的布尔数组。在本课中，
# 与 minigen 的 `scaled_dot_product_attention` 和 PyTorch 的
# `torch.nn.functional.scaled_dot_product_attention` 一样：
#
# > **`mask[i, j]` 为 True 表示查询 i 可以关注键 j。**
#
# 值为 False 的位置得到分数 `-inf`，于是 `exp(-inf) = 0`：它的权重恰好为 0。
# （注意：`nn.MultiheadAttention` 与 `torch.nn.MultiheadAttention` 一样，其
# `attn_mask` 和 `key_padding_mask` 的含义正好相反，True 表示*不可*关注。）
#
# 语言模型根据词元 0..t 预测词元 t+1，而所有位置在一次传播中同时训练。如果位置 t
# 能看到位置 t+1，它只需把答案照抄过来。**因果掩码**只让查询 i 看到 j <= i 的键：
# 一个由 True 组成的下三角。
#
# ## 练习 7.1：因果掩码
#
# 返回 (T, T) 的布尔因果掩码，对角线及其下方为 True。


# %%
def causal_mask(T):
    """(T, T) 布尔数组：查询 i 可以关注键 j 处为 True，即 j <= i 处。"""
    ### BEGIN SOLUTION
    return np.tril(np.ones((T, T), dtype=bool))
    ### END SOLUTION


print(causal_mask(4).astype(int))
print("same as minigen's:", np.array_equal(causal_mask(4), KA.causal_mask(4, 4, np.zeros(1))))

# %% [markdown]
# ## 练习 7.2：前向传播
#
# 输入为 `q (B, T_q, d)`、`k (B, T_k, d)`、`v (B, T_k, d_v)`，以及一个可选的布尔
# `mask`，它可以广播到 `(B, T_q, T_k)`（一个 `(T_q, T_k)` 的因果掩码，或一个
# `(B, 1, T_k)` 的填充掩码）。返回 `out (B, T_q, d_v)`、权重 P `weights`
# `(B, T_q, T_k)`，以及供反向传播使用的 `cache`。有三件事要做对：
#
# 1. **数值稳定性。** 在 `np.exp` 之前减去每行分数的最大值，就像第 2 课的 softmax
#    那样：`softmax(s) = softmax(s - max(s))`，这样任何 `exp` 都不会遇到很大的正数。
#    分数为 1e4 时不能上溢。
# 2. **掩蔽。** 在掩码为 False 的位置放上 `-inf`（`np.where(mask, S, -np.inf)`），
#    使这些权重恰好为 0。
# 3. **一个没有任何可关注键的行**（有填充时会出现）没有 softmax：`0 / 0`。让它的
#    权重为 0、输出为 0，既不出现 NaN，也不发出警告。它的最大值是 `-inf`；改用 0，
#    使 `S - max` 保持为 `-inf`（而不是 `-inf - -inf = NaN`），并在某行之和为 0 时
#    除以 1。（minigen 也是这样做的，PyTorch 的 `scaled_dot_product_attention`
#    从 2.5 版起同样如此；更早的版本对这样的行返回 NaN。）
#
# 无论前面有哪些轴，`k.swapaxes(-1, -2)` 都只转置最后两个轴。


# %%
def attention_forward(q, k, v, mask=None):
    """缩放点积注意力 softmax(q k^T / sqrt(d)) v。

    q (B, T_q, d)，k (B, T_k, d)，v (B, T_k, d_v)；mask：None，或一个可以广播到
    (B, T_q, T_k) 的布尔数组，查询 i 可以关注键 j 处为 True。
    返回 ``(out, weights, cache)``：out (B, T_q, d_v)，weights (B, T_q, T_k)，每行之和
    为 1（若某行的键全被掩蔽，则该行全为零，其 out 也为 0）。
    """
    d = q.shape[-1]
    scale = 1.0 / np.sqrt(d)
    ### BEGIN SOLUTION
    # 1. 分数
    S = (q @ k.swapaxes(-1, -2)) * scale                   # (B, T_q, T_k)
    if mask is not None:
        S = np.where(mask, S, -np.inf)                     # 被掩蔽处：exp(-inf) 恰好为 0
    # 2. 沿键的方向做数值稳定的 softmax
    m = S.max(axis=-1, keepdims=True)                      # (B, T_q, 1)
    m = np.where(m == -np.inf, 0.0, m)                     # 全被掩蔽的行保持 exp(-inf - 0) = 0
    e = np.exp(S - m)                                      # (B, T_q, T_k)
    total = e.sum(axis=-1, keepdims=True)                  # (B, T_q, 1)，全被掩蔽的行为 0
    weights = e / np.where(total == 0.0, 1.0, total)       # 该行保持全零
    # 3. 值的加权和
    out = weights @ v                                      # (B, T_q, d_v)
    cache = (q, k, v, weights, scale)
    ### END SOLUTION
    return out, weights, cache


# %% [markdown]
# 与 minigen 的核函数
# `minigen.kernels.attention.scaled_dot_product_attention_forward` 比较，分别在
# 不加掩码和加因果掩码的情况下。权重的每一行之和为 1，加因果掩码时上三角恰好为 0。

# %%
B, T, d = 2, 5, 4
q, k, v = rng.standard_normal((3, B, T, d))
for mask in (None, causal_mask(T)):
    out, weights, _ = attention_forward(q, k, v, mask)
    (out_ref, weights_ref), _ = KA.scaled_dot_product_attention_forward(q, k, v, attn_mask=mask)
    print(f"mask={'causal' if mask is not None else 'none':6s}  max |out - minigen| = {np.abs(out - out_ref).max():.1e}"
          f"  max |weights - minigen| = {np.abs(weights - weights_ref).max():.1e}")
print("row sums:", weights[0].sum(axis=-1))
print("causal weights of the first example:\n", weights[0])

# %% [markdown]
# ## 填充掩码
#
# 一个批量中的句子长短不一，所以短句会被填充到最长句的长度。填充词元并不是真实的：
# 任何查询都不应关注它们。**填充掩码**标出批量中每一行的真实键；其形状为
# `(B, 1, T_k)`，可以在查询维上广播。在解码器中，它与因果掩码按“与”（AND）组合。
#
# 当填充位于*左侧*时（有些生成代码这样填充，使所有提示都在同一位置结束），在因果
# 掩码下，一个填充位置上的查询只能看到填充的键：这就是一个没有任何可关注键的行，
# 也正是练习中第 3 条规则要保持其为有限值的那种行。它的输出本来就是无用的，会被
# 丢弃（损失忽略填充位置），但那里的一个 NaN 会经由反向传播中的矩阵乘法扩散到
# 每一个梯度中。

# %%
T = 6
lengths = np.array([6, 4])                                    # 两个序列，第二个填充了 2 个词元
right_pad = np.arange(T)[None, :] < lengths[:, None]          # (B, T_k)：真实词元处为 True，填充在右侧
left_pad = np.arange(T)[None, :] >= (T - lengths)[:, None]    # (B, T_k)：填充在左侧
q, k, v = rng.standard_normal((3, 2, T, 4))
masks = {
    "causal": causal_mask(T),                                          # (T, T)，在 B 上广播
    "padding (right)": right_pad[:, None, :],                          # (B, 1, T_k)
    "causal & padding (left)": causal_mask(T) & left_pad[:, None, :],  # (B, T, T)
}
shown = {}
for name, mask in masks.items():
    out, weights, _ = attention_forward(q, k, v, mask)
    (_, weights_ref), _ = KA.scaled_dot_product_attention_forward(q, k, v, attn_mask=mask)
    shown[name] = weights[1]                                           # 被填充的那个序列
    print(f"{name:24s} agrees with minigen: {np.allclose(weights, weights_ref)}   finite: {np.isfinite(out).all()}")
print("row sums of the left-padded example:", shown["causal & padding (left)"].sum(axis=-1))

if plt is not None:
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
    for ax, (name, w) in zip(axes, shown.items()):
        ax.imshow(w, cmap="viridis", vmin=0, vmax=1)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("key j")
        ax.set_ylabel("query i")
    fig.suptitle("Attention weights of the padded sequence (length 4 of 6)")
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## 练习 7.3：反向传播
#
# 给定 `dout`（损失关于 `out` 的梯度），返回 `dq, dk, dv`。沿着前向传播倒着走：
#
# - 前向是 `out = P v`，一次矩阵乘法，所以 `dP = dout v^T`，`dv = P^T dout`；
# - 前向是逐行的 `P = softmax(S)`。softmax 的雅可比矩阵为
#   `dP_j/dS_l = P_j (delta_jl - P_l)`，所以 `dS = P * (dP - sum_j(dP * P))`，
#   其中的和沿每一行（键的方向）求取，并保留为一列：这就是第 2 课的
#   `softmax_backward`（练习 2.3）。被掩蔽的元素 `P = 0`，所以它们得到 `dS = 0`：
#   被阻断的连接不会回传任何东西，而全被掩蔽的行什么也不回传；
# - 前向是 `S = q k^T * scale`，所以 `dq = dS k * scale`，`dk = dS^T q * scale`。
#
# 只转置最后两个轴（`swapaxes(-1, -2)`）：批量轴保持原位。


# %%
def attention_backward(dout, cache):
    """``attention_forward`` 的反向传播：返回 ``(dq, dk, dv)``，形状分别与 q、k、v 相同。"""
    ### BEGIN SOLUTION
    q, k, v, P, scale = cache
    # 3. 前向是 out = P v
    dP = dout @ v.swapaxes(-1, -2)                          # (B, T_q, T_k)
    dv = P.swapaxes(-1, -2) @ dout                          # (B, T_k, d_v)
    # 2. 前向是 P = softmax(S)：dS = P * (dP - sum(dP * P))
    dS = P * (dP - (dP * P).sum(axis=-1, keepdims=True))    # (B, T_q, T_k)
    # 1. 前向是 S = q k^T * scale
    dq = (dS @ k) * scale                                   # (B, T_q, d)
    dk = (dS.swapaxes(-1, -2) @ q) * scale                  # (B, T_k, d)
    ### END SOLUTION
    return dq, dk, dv


# %% [markdown]
# ## 检验反向传播
#
# `minigen.gradcheck_kernel` 用一个随机的上游梯度、在 float64 下，把你的梯度与你的
# 前向传播的中心差分进行比较。掩码不是输入（它没有梯度），所以把它固定在前向
# 函数内部。我们检验三种情况：不加掩码、加因果掩码，以及查询与键长度不同时的
# 填充（T_q = 3 个查询关注 T_k = 5 个键，就像解码器读取编码器的输出那样）。

# %%
def check_attention(q, k, v, mask):
    def forward(q, k, v):
        out, _, cache = attention_forward(q, k, v, mask)
        return out, cache
    return minigen.gradcheck_kernel(forward, attention_backward, {"q": q, "k": k, "v": v})


B, T, d = 2, 4, 3
q, k, v = rng.standard_normal((3, B, T, d))
print("no mask:     ", check_attention(q, k, v, None))
print("causal:      ", check_attention(q, k, v, causal_mask(T)))
keys_real = np.array([[True, True, True, True, True], [True, True, True, False, False]])[:, None, :]   # (B, 1, 5)
print("T_q != T_k:  ", check_attention(rng.standard_normal((B, 3, d)), rng.standard_normal((B, 5, d)),
                                        rng.standard_normal((B, 5, 2)), keys_real))

# 再与 minigen 的反向传播核函数比较：
dout = rng.standard_normal((B, T, d))
_, _, cache = attention_forward(q, k, v, causal_mask(T))
_, cache_ref = KA.scaled_dot_product_attention_forward(q, k, v, attn_mask=causal_mask(T))
for name, mine, ref in zip(["dq", "dk", "dv"], attention_backward(dout, cache),
                           KA.scaled_dot_product_attention_backward((dout, None), cache_ref)):
    print(f"{name}: max abs difference from minigen {np.abs(mine - ref).max():.1e}")

# %% [markdown]
# ## 为什么要除以 sqrt(d)？
#
# 设查询和键的各个元素相互独立、均值为 0、方差为 1（大致就是层归一化交给各个投影
# 的输入）。分数 `q . k = sum_c q_c k_c` 是 d 个方差为 1 的项之和，所以它的标准差
# 是 `sqrt(d)`。当 d = 512 时约为 23：同一行的分数彼此相差几十，对这样的数做
# softmax 几乎就是独热（one-hot）的，一个键拿走了几乎全部权重。
#
# 饱和的 softmax 不利于学习。它的反向传播要乘以 `P (delta - P)`，而无论 P 接近 0
# 还是接近 1，这一项都接近 0：到达分数（进而到达查询和键）的梯度消失了，注意力
# 无法学会去看别处。除以 `sqrt(d)` 能让分数的方差回到 1，无论宽度是多少。
#
# 下面，对逐渐增大的 d，我们测量每行的最大权重，以及对一个随机的 `dP` 到达分数的
# 梯度大小 `|dS|`，分别在有缩放和无缩放的情况下。把 `q * sqrt(d)` 传给你的
# `attention_forward` 就抵消了它的缩放。

# %%
def score_gradient(P, dP):
    """softmax 反向传播中的 dS（attention_backward 的中间一步）。"""
    return P * (dP - (dP * P).sum(axis=-1, keepdims=True))


dims = [2, 8, 32, 128, 512, 2048]
stats = {"scaled": ([], []), "unscaled": ([], [])}
for dim in dims:
    q = rng.standard_normal((1, 256, dim))                     # 256 个查询
    k = rng.standard_normal((1, 16, dim))                      # 16 个键
    v = np.zeros((1, 16, 1))                                   # （这里值无关紧要）
    dP = rng.standard_normal((1, 256, 16))
    for name, factor in (("scaled", 1.0), ("unscaled", np.sqrt(dim))):
        _, P, _ = attention_forward(q * factor, k, v)
        stats[name][0].append(P.max(axis=-1).mean())
        stats[name][1].append(np.abs(score_gradient(P, dP)).mean())
print("d          " + "".join(f"{dim:>8d}" for dim in dims))
for name, (top, grad) in stats.items():
    print(f"{name:9s} max weight " + "".join(f"{t:8.3f}" for t in top))
    print(f"{name:9s} mean |dS|  " + "".join(f"{g:8.1e}" for g in grad))

if plt is not None:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4))
    for name, (top, grad) in stats.items():
        ax1.semilogx(dims, top, "o-", base=2, label=name)
        ax2.semilogy(dims, grad, "o-", label=name)
    ax2.set_xscale("log", base=2)
    ax1.set_xlabel("d (query/key features)")
    ax1.set_ylabel("mean of each row's largest weight")
    ax1.set_title("softmax saturates without 1/sqrt(d)")
    ax2.set_xlabel("d (query/key features)")
    ax2.set_ylabel("mean |dS|")
    ax2.set_title("and the gradient to the scores vanishes")
    ax1.legend()
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## 多头注意力
#
# 每层只有一种注意力模式是有局限的：一个词元可能既想看前一个词元，*又*想看它所在
# 句子的主语。**多头注意力**并排运行 nh 个注意力，每个作用在 hs = C / nh 个通道
# 构成的一段上：
#
#     q, k, v = x W_q^T + b_q, x W_k^T + b_k, x W_v^T + b_v        各为 (B, T, C)
#     拆分：   (B, T, C) -> (B, T, nh, hs) -> (B, nh, T, hs)        第 h 个头拥有通道 h*hs .. (h+1)*hs - 1
#     heads  = attention(q_h, k_h, v_h)   对所有头一次算完          (B, nh, T, hs)
#     合并：   (B, nh, T, hs) -> (B, T, nh, hs) -> (B, T, C)
#     out    = merged W_o^T + b_o                                   (B, T, C)
#
# 有两个技巧让它的开销很小。三个投影是一次矩阵乘法，三个权重矩阵堆叠成
# `W_in (3C, C)`（即 PyTorch 的 `in_proj_weight`，依次为 W_q、W_k、W_v）。而各个头
# 不过是更多的批量：重塑为 `(B * nh, T, hs)` 之后，它们原封不动地通过你写的注意力。
# 每个头的开销是全宽注意力的 1/nh，所以 nh 个头的开销与一个头大致相当。
#
# 下面是它的 NumPy 实现，使用你的 `attention_forward`，并与 minigen 的
# `nn.MultiheadAttention` 对照检验（我们先给它随机的偏置，再借用它的参数）。

# %%
def multi_head_attention(x, W_in, b_in, W_out, b_out, nh, mask=None):
    """x (B, T, C) 的 nh 头自注意力；返回 out (B, T, C) 和 weights (B, nh, T, T)。"""
    B, T, C = x.shape
    hs = C // nh
    qkv = x @ W_in.T + b_in                                    # (B, T, 3C)：一次矩阵乘法得到 q、k 和 v
    q, k, v = np.split(qkv, 3, axis=-1)                        # 3 x (B, T, C)

    def split_heads(t):
        t = t.reshape(B, T, nh, hs).transpose(0, 2, 1, 3)      # (B, nh, T, hs)
        return t.reshape(B * nh, T, hs)                        # (B*nh, T, hs)：各个头就是更多的批量

    out, weights, _ = attention_forward(split_heads(q), split_heads(k), split_heads(v), mask)
    out = out.reshape(B, nh, T, hs).transpose(0, 2, 1, 3)      # (B, T, nh, hs)
    out = out.reshape(B, T, C)                                 # (B, T, C)：各个头并排放置
    return out @ W_out.T + b_out, weights.reshape(B, nh, T, T)


B, T, C, nh = 2, 5, 8, 2
minigen.manual_seed(0)
mha = nn.MultiheadAttention(C, nh, batch_first=True, dtype="float64")
mha.in_proj_bias.data = rng.standard_normal(3 * C) * 0.1
mha.out_proj.bias.data = rng.standard_normal(C) * 0.1
x = rng.standard_normal((B, T, C))
params = (mha.in_proj_weight.data, mha.in_proj_bias.data, mha.out_proj.weight.data, mha.out_proj.bias.data)
out, weights = multi_head_attention(x, *params, nh, causal_mask(T))
out_ref, weights_ref = mha(minigen.tensor(x), minigen.tensor(x), minigen.tensor(x), is_causal=True,
                           average_attn_weights=False)
print("max |out - nn.MultiheadAttention| =", np.abs(out - out_ref.numpy()).max())
print("max |weights - nn.MultiheadAttention| =", np.abs(weights - weights_ref.numpy()).max())

# %% [markdown]
# ## 观察内部：一个学会倒序的模型
#
# 注意力权重描绘了模型在读什么。为了得到一幅值得一看的图，我们在一个答案已知的
# 任务上训练一个很小的模型：把 8 个随机数字组成的序列**倒过来**。输出位置 t 必须
# 给出输入词元 `7 - t`，所以理想的注意力是反对角线。
#
# 模型由词元嵌入 + 位置嵌入、一个 2 头的 `nn.MultiheadAttention`，以及一个映射到
# 10 个数字的线性层组成。这里不用因果掩码：这是一个编码器式的层，可以读取整个输入
# （位置 0 需要最后一个词元）。没有位置嵌入，模型就完全无法区分各个位置：注意力
# 本身把它的输入当作一个集合。

# %%
V, T, E, nh = 10, 8, 32, 2


class Reverser(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(V, E)
        self.pos = nn.Embedding(T, E)
        self.attn = nn.MultiheadAttention(E, nh, batch_first=True)
        self.head = nn.Linear(E, V)

    def forward(self, ids):
        x = self.tok(ids) + self.pos(np.arange(ids.shape[1]))                 # (B, T, E)
        a, weights = self.attn(x, x, x, average_attn_weights=False)           # (B, T, E), (B, nh, T, T)
        return self.head(a), weights                                          # logits (B, T, V)


minigen.manual_seed(0)
model = Reverser()
optimizer = minigen.optim.Adam(model.parameters(), lr=1e-2)
data_rng = np.random.default_rng(1)
probe = data_rng.integers(0, V, (1, T))                                       # 用来观察的一个序列
with minigen.no_grad():
    _, weights_before = model(probe)
losses = []
for step in range(60 if QUICK else 300):
    ids = data_rng.integers(0, V, (32, T))
    logits, _ = model(ids)
    loss = F.cross_entropy(logits.reshape(-1, V), ids[:, ::-1].reshape(-1))  # 目标：倒过来的序列
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
test = data_rng.integers(0, V, (256, T))
with minigen.no_grad():
    logits, _ = model(test)
    probe_logits, weights_after = model(probe)
accuracy = (logits.numpy().argmax(-1) == test[:, ::-1]).mean()
print(f"loss {losses[0]:.3f} -> {losses[-1]:.5f}; accuracy on 256 new sequences: {accuracy:.3f}")
print("input        ", probe[0])
print("model output ", probe_logits.numpy()[0].argmax(-1))

if plt is not None:
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
    panels = [("before training (head 0)", weights_before.numpy()[0, 0])] + \
             [(f"after training, head {h}", weights_after.numpy()[0, h]) for h in range(nh)]
    for ax, (title, w) in zip(axes, panels):
        ax.imshow(w, cmap="viridis", vmin=0, vmax=1)
        ax.set_title(title, fontsize=10)
        ax.set_xticks(range(T), [str(t) for t in probe[0]])
        ax.set_xlabel("key (input token)")
        ax.set_ylabel("query (output position)")
    fig.suptitle("Attention weights of the reversal model on " + " ".join(map(str, probe[0])))
    fig.tight_layout()
    plt.show()

# %% [markdown]
# 训练之前，权重随随机投影碰巧偏好的方向而定（这里两个 9 共用同一个词元嵌入，
# 显得很突出），分散在许多键上。训练之后，两个头都找到了反对角线：查询 t 读取键
# `7 - t`，这一模式必须由位置嵌入提供（数字本身与*往哪里*看无关，只与*抄什么*有关）。
# 每个头承担一半的通道，而在这里两个头学到了同样的模式。
#
# ## 键值缓存
#
# GPT 每次生成一个词元：在前缀上运行模型，选出下一个词元，把它接到后面，再运行一次。
# 在因果注意力下，接上一个词元时，之前各位置的键和值**从不改变**：位置 j 的键只取决于
# 词元 0..j。每一步都重新计算它们是白费功夫。
#
# **键值缓存**（key/value cache）把它们保存下来。于是每一步只需投影新的位置，把它的
# 键和值追加到缓存中，再让它唯一的查询关注整个缓存。此时不需要掩码：缓存中的一切
# 都属于过去。对于一个 T 个词元的序列，投影的位置数从 `1 + 2 + ... + T = T(T+1)/2`
# 降到 T，注意力分数的乘积次数从约 `T^3/6` 降到 `T^2/2`。
#
# 下面，一个头的因果自注意力运行两次：一次用因果掩码在整个序列上运行，一次用缓存
# 每次处理一个位置，都用你的函数。

# %%
T, C = 6, 4
W_q, W_k, W_v = rng.standard_normal((3, C, C))
x = rng.standard_normal((1, T, C))
full, _, _ = attention_forward(x @ W_q.T, x @ W_k.T, x @ W_v.T, causal_mask(T))   # (1, T, C)

k_cache, v_cache, steps = np.zeros((1, 0, C)), np.zeros((1, 0, C)), []
for t in range(T):
    x_t = x[:, t:t + 1]                                              # (1, 1, C)：只有新的位置
    k_cache = np.concatenate([k_cache, x_t @ W_k.T], axis=1)         # (1, t+1, C)
    v_cache = np.concatenate([v_cache, x_t @ W_v.T], axis=1)
    out_t, _, _ = attention_forward(x_t @ W_q.T, k_cache, v_cache)   # 一个查询关注整个缓存，不加掩码
    steps.append(out_t)
print("incremental with a cache == full causal attention:", np.allclose(np.concatenate(steps, axis=1), full))
print(f"projections for T = 1000: {1000 * 1001 // 2} positions without a cache, 1000 with one")

# %% [markdown]
# minigen 的 `nn.MultiheadAttention` 接受一个 `kv_cache=nn.KVCache()` 参数，在每一层
# 做同样的事（加上 `is_causal=True` 时，因果掩码会按已缓存的长度偏移，所以一个包含
# 多个词元的提示可以一次送入）。其输出与完整重新计算的结果一致。第 8 课会在 GPT 中
# 为它计时。

# %%
x = minigen.tensor(rng.standard_normal((1, T, 8)))
cache = nn.KVCache()
with minigen.no_grad():
    full, _ = mha(x, x, x, is_causal=True)                               # (1, T, 8)
    prompt = x[:, :3]                                                    # 同一个张量同时作为 q、k 和 v：
    first, _ = mha(prompt, prompt, prompt, is_causal=True, kv_cache=cache)   # 一次送入 3 个词元的提示
    rest = []
    for t in range(3, T):                                                # 然后每次一个词元
        x_t = x[:, t:t + 1]
        rest.append(mha(x_t, x_t, x_t, is_causal=True, kv_cache=cache)[0])
print(cache, "matches:", np.allclose(np.concatenate([first.numpy()] + [r.numpy() for r in rest], axis=1),
                                     full.numpy()))

# %% [markdown]
# ## 练习
#
# 1. （计分练习：上面的 7.1 到 7.3。）`python -m minigen grade . --public-only` 会对
#    你的函数运行公开检查。隐藏检查还会尝试其他形状、长度不同的查询和键、所有键
#    都被掩蔽的行，以及 1e4 左右的分数。
# 2. 植入一个错误：在 `attention_backward` 中，去掉 softmax 反向传播里的
#    `- sum(dP * P)` 项。梯度检验会指出哪些梯度？为什么 `dv` 仍然正确？
# 3. 去掉位置嵌入来训练倒序模型。它能达到多高的准确率？热力图是什么样子？然后给
#    注意力加上 `is_causal=True`：它还能答对哪些输出位置？
# 4. 用 `F.linear`、`split_heads` 和 `F.scaled_dot_product_attention` 重写倒序模型的
#    注意力（第 8 课展示了做法），这样你就可以传入 `scale=1.0`（不缩放）来代替默认的
#    `1/sqrt(hs)`。把 E 加宽到 256，比较两条损失曲线。
