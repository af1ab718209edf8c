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
# # 第 6 课：门控循环单元
#
# 第 5 课的长短期记忆网络增加了第二个以加法方式更新的状态，即记忆元，从而解决了第 4 课中
# 循环神经网络的梯度消失问题。**门控循环单元**（gated recurrent unit，GRU；Cho et al., 2014）
# 只用一个状态和两个门就达到了同样的效果。它的更新门 `z` 把旧状态与候选隐状态 `n` 混合起来：
#
#     h = (1 - z) * n + z * h_prev
#
# 当 `z` 接近 1 时，单元把自己的状态原封不动地复制到下一步，梯度也沿着这次复制完好无损地
# 往回传，就像遗忘门打开时梯度沿着长短期记忆网络的记忆元往回传一样。
#
# 我们使用 PyTorch 的 `nn.GRU`（以及 cuDNN）所用的确切形式。记 `W_ir` 为 `W_ih` 中
# 属于重置门的那些行，其余依此类推：
#
#     r = sigmoid(x W_ir^T + b_ir + h_prev W_hr^T + b_hr)       重置门           (B, H)
#     z = sigmoid(x W_iz^T + b_iz + h_prev W_hz^T + b_hz)       更新门           (B, H)
#     n = tanh(x W_in^T + b_in + r * (h_prev W_hn^T + b_hn))    新的（候选）状态 (B, H)
#     h = (1 - z) * n + z * h_prev                                               (B, H)
#
# 形状：`B` = 批量大小，`T` = 时间，`C` = 输入通道数，`H` = 隐藏层大小，
# `V` = 词表大小。三个门按 **r, z, n** 的顺序**打包**在一起：
#
#     W_ih (3H, C) = [W_ir; W_iz; W_in]      b_ih (3H,) = [b_ir; b_iz; b_in]
#     W_hh (3H, H) = [W_hr; W_hz; W_hn]      b_hh (3H,) = [b_hr; b_hz; b_hn]
#
# 因此第 `[0:H]` 行属于 `r`，第 `[H:2H]` 行属于 `z`，第 `[2H:3H]` 行属于 `n`，
# 而 `x W_ih^T` 和 `h_prev W_hh^T` 这两个乘积各自一次就算出全部三个块。
#
# 在本课中，你将编写门控循环单元的前向传播和反向传播，用中心差分和 minigen 的核函数
# （`minigen.kernels.gru`）检验它们，弄清 PyTorch 为什么保留两个偏置向量，观察梯度如何
# 穿过 `z` 流动，并让一个字符级门控循环单元与一个字符级长短期记忆网络一较高下。
#
# 可以把它当作脚本运行（`python 06_gru.py`），也可以用 jupytext 把它作为笔记本打开。
# `MINIGEN_QUICK=1`（或 `--quick`）会缩短训练部分。

# %%
import os
import sys

import minigen  # 放在最前面：minigen 会设置 OpenBLAS 的线程数，这必须在加载 NumPy 之前完成
import numpy as np

from minigen.kernels.gru import gru_cell_backward, gru_cell_forward, gru_forward

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)


# %% [markdown]
# 第 5 课的 sigmoid，对任何输入都是有限的：

# %%
def sigmoid(x):
    """逐元素计算 logistic 函数 1 / (1 + exp(-x))；对任何有限的 x，结果都是有限的。"""
    return 0.5 * np.tanh(0.5 * x) + 0.5


# %% [markdown]
# ## 重置门放在哪里，以及为什么有两个偏置向量
#
# 在 Cho et al. 的论文中，重置门在矩阵乘积*之前*缩放状态：
# `n = tanh(x W_in^T + b_in + (r * h_prev) W_hn^T)`。这样一来，必须先知道 `r` 才能开始
# 这次乘积，于是每一步在按顺序执行的路径上都有两个先后相继的矩阵乘积（先算 `r`，再算 `n`）。
# cuDNN 以及随后的 PyTorch 把重置门放在乘积*之后*：`r * (h_prev W_hn^T + b_hn)`。
# 现在，一次乘积 `h_prev W_hh^T` (B, H) @ (H, 3H) 就能在任何一个门算出之前，先算出全部三个门的
# 循环部分，之后各个门只是廉价的逐元素运算。两种形式的学习效果差不多；第二种更快。
#
# 这也解释了为什么有两个偏置向量 `b_ih` 和 `b_hh`。对于 `r` 和 `z`，它们是冗余的：
# 起作用的只有和 `b_ir + b_hr` 与 `b_iz + b_hz`。对于 `n` 则不然：`b_in` 原样加上，
# 而 `b_hn` 先要乘以 `r`，所以 `b_in + r * b_hn` 是一个可以由重置门调大调小的偏置。
# 等你的前向传播能够运行之后，我们会用数值来验证这一点。
#
# ## 练习 6.1：单步前向传播
#
# 形状：`x (B, C)`，`h_prev (B, H)`，`W_ih (3H, C)`，`W_hh (3H, H)`，
# `b_ih (3H,)`，`b_hh (3H,)`。计算两个投影（形状都是 (B, 3H)），从中切出三个块，
# 返回 `h` 以及一个 `cache`，其中保存反向传播所需的内容。要保留
# `hn = h_prev W_hn^T + b_hn`：反向传播需要它。


# %%
def gru_step_forward(x, h_prev, W_ih, W_hh, b_ih, b_hh):
    """门控循环单元的一步（PyTorch 的形式，各门按 r, z, n 打包）。返回 ``(h, cache)``，其中 h (B, H)。"""
    H = h_prev.shape[1]
    ### BEGIN SOLUTION
    gi = x @ W_ih.T + b_ih                               # (B, 3H)：全部三个门的输入部分
    gh = h_prev @ W_hh.T + b_hh                          # (B, 3H)：循环部分，含偏置
    r = sigmoid(gi[:, :H] + gh[:, :H])                   # (B, H)
    z = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])         # (B, H)
    hn = gh[:, 2 * H:]                                   # (B, H)：h_prev W_hn^T + b_hn
    n = np.tanh(gi[:, 2 * H:] + r * hn)                  # (B, H)
    h = (1 - z) * n + z * h_prev                         # (B, H)
    cache = (x, h_prev, W_ih, W_hh, r, z, n, hn)
    ### END SOLUTION
    return h, cache


# %%
B, C, H = 3, 4, 5
inputs = {
    "x": rng.standard_normal((B, C)),
    "h_prev": rng.standard_normal((B, H)),
    "W_ih": rng.standard_normal((3 * H, C)) * 0.5,
    "W_hh": rng.standard_normal((3 * H, H)) * 0.5,
    "b_ih": rng.standard_normal(3 * H) * 0.5,
    "b_hh": rng.standard_normal(3 * H) * 0.5,
}
h, cache = gru_step_forward(*inputs.values())
h_ref, _ = gru_cell_forward(*inputs.values())
print("h shape", h.shape, " max |h - h_minigen| =", np.abs(h - h_ref).max())

# %% [markdown]
# ## 练习 6.2：单步反向传播
#
# 给定 `dh`，返回 `dx, dh_prev, dW_ih, dW_hh, db_ih, db_hh`。沿前向传播倒着走：
#
# - 前向传播是 `h = (1 - z) * n + z * h_prev`，所以
#   `dn = dh * (1 - z)`，`dz = dh * (h_prev - n)`，而 `h_prev` 直接得到 `dh * z`
#   （还有更多梯度经由下面的权重到达它）；
# - 前向传播是 `n = tanh(a_n)`，其中 `a_n = gi_n + r * hn`，所以
#   `da_n = dn * (1 - n^2)`，`dr = da_n * hn`，`dhn = da_n * r`；
# - 前向传播是 `r = sigmoid(a_r)`，所以 `da_r = dr * r * (1 - r)`；同理，
#   `da_z = dz * z * (1 - z)`；
# - 输入投影 `gi = x W_ih^T + b_ih` 收到 `dgi = [da_r, da_z, da_n]`，
#   循环投影 `gh = h_prev W_hh^T + b_hh` 收到 `dgh = [da_r, da_z, dhn]`，
#   两者的形状都是 (B, 3H)。它们只在 `n` 块上不同，因为只有在那里 `r` 夹在两者之间。所以
#   `dx = dgi W_ih`，`dh_prev = dh * z + dgh W_hh`，`dW_ih = dgi^T x`，
#   `dW_hh = dgh^T h_prev`，而 `db_ih` 和 `db_hh` 分别是 `dgi` 和 `dgh` 在批量维度上的和。


# %%
def gru_step_backward(dh, cache):
    """``gru_step_forward`` 的反向传播：dh (B, H) -> ``(dx, dh_prev, dW_ih, dW_hh, db_ih, db_hh)``。

    形状：dx (B, C)，dh_prev (B, H)，dW_ih (3H, C)，dW_hh (3H, H)，db_ih (3H,)，db_hh (3H,)。
    不改变 ``dh``。
    """
    ### BEGIN SOLUTION
    x, h_prev, W_ih, W_hh, r, z, n, hn = cache
    # 前向传播是 h = (1 - z) * n + z * h_prev
    dn = dh * (1 - z)
    dz = dh * (h_prev - n)
    # 前向传播是 n = tanh(gi_n + r * hn)
    da_n = dn * (1 - n * n)
    dr = da_n * hn
    dhn = da_n * r
    # 前向传播是 r = sigmoid(gi_r + gh_r)，z = sigmoid(gi_z + gh_z)
    da_r = dr * r * (1 - r)
    da_z = dz * z * (1 - z)
    dgi = np.concatenate([da_r, da_z, da_n], axis=1)    # (B, 3H)，传入 gi = x W_ih^T + b_ih
    dgh = np.concatenate([da_r, da_z, dhn], axis=1)     # (B, 3H)，传入 gh = h_prev W_hh^T + b_hh
    dx = dgi @ W_ih                                      # (B, C)
    dh_prev = dh * z + dgh @ W_hh                        # (B, H)：直接路径，加上经由 W_hh 的路径
    dW_ih = dgi.T @ x                                    # (3H, C)
    dW_hh = dgh.T @ h_prev                               # (3H, H)
    db_ih = dgi.sum(axis=0)                              # (3H,)
    db_hh = dgh.sum(axis=0)                              # (3H,)
    ### END SOLUTION
    return dx, dh_prev, dW_ih, dW_hh, db_ih, db_hh


# %% [markdown]
# ## 检验反向传播
#
# 与第 4 课和第 5 课一样：在 float64 中用随机的上游梯度做中心差分，然后与 minigen 的
# 核函数进行比较。

# %%
print("gradient check passed:", minigen.gradcheck_kernel(gru_step_forward, gru_step_backward, inputs))
dh = rng.standard_normal((B, H))
mine = gru_step_backward(dh, cache)
ref = gru_cell_backward(dh, gru_cell_forward(*inputs.values())[1])
for name, a, r in zip(["dx", "dh_prev", "dW_ih", "dW_hh", "db_ih", "db_hh"], mine, ref):
    print(f"{name:8s} max abs difference from minigen {np.abs(a - r).max():.2e}")

# %% [markdown]
# ### 两个偏置向量的数值验证
#
# 把 `b_ir` 的一部分移到 `b_hr` 中（一个加上 `delta`，另一个减去 `delta`）：`h` 不变。
# 对 `b_in` 和 `b_hn` 做同样的事：`h` 变了。梯度说明了同一件事：`db_ih` 和 `db_hh`
# 在 `r` 块和 `z` 块上相等，而在 `n` 块上不同，那里 `db_hn = sum(da_n * r)`，
# 而 `db_in = sum(da_n)`。

# %%
def shifted(block, delta=0.7):
    """把 ``delta`` 从 b_hh 的第 ``block`` 块（0 = r，1 = z，2 = n）移到 b_ih 中之后的 h。"""
    b_ih, b_hh = inputs["b_ih"].copy(), inputs["b_hh"].copy()
    b_ih[block * H:(block + 1) * H] += delta
    b_hh[block * H:(block + 1) * H] -= delta
    return gru_step_forward(inputs["x"], inputs["h_prev"], inputs["W_ih"], inputs["W_hh"], b_ih, b_hh)[0]


for block, gate in enumerate("rzn"):
    print(f"shift between b_i{gate} and b_h{gate}: max |change in h| = {np.abs(shifted(block) - h).max():.2e}")
db_ih, db_hh = mine[4], mine[5]
for block, gate in enumerate("rzn"):
    rows = slice(block * H, (block + 1) * H)
    print(f"gate {gate}: max |db_ih - db_hh| = {np.abs(db_ih[rows] - db_hh[rows]).max():.2e}")

# %% [markdown]
# ## 从单元到序列
#
# 一个门控循环单元层在时间上反复运行这个单元，与第 4 课的 `rnn_forward` 完全一样。
# minigen 的 `gru_forward` 把全部 T 个时间步的输入投影提到循环之外（一次
# `(T*B, C) @ (C, 3H)` 的乘积），每一步只剩下一次 `(B, H) @ (H, 3H)` 的乘积。
# 让你的单元循环运行，得到的数值相同：

# %%
T = 6
xs = rng.standard_normal((T, B, C))
h = np.zeros((B, H))
hs = []
for t in range(T):
    h, _ = gru_step_forward(xs[t], h, *list(inputs.values())[2:])
    hs.append(h)
(out_ref, h_n), _ = gru_forward(xs, np.zeros((B, H)), *list(inputs.values())[2:])
print("max |hs - out_minigen| over", T, "steps:", np.abs(np.stack(hs) - out_ref).max())

# %% [markdown]
# ## 穿过更新门的梯度流
#
# 把 `h = (1 - z) * n + z * h_prev` 对 `h_prev` 求导：除了经由 `W_hh`（进入 `r`、`z` 和 `n`）
# 的路径之外，还有一个直接项 `dh_prev = dh * z`，其中既没有权重矩阵，也没有压缩型激活函数的
# 导数。经过许多步，这一项在每一步把梯度乘以 `z_t`，相当于长短期记忆网络中遗忘门 `f`
# 在记忆元上的作用。更新门接近 1 的单元会保持自己的状态，并把梯度往回传。
#
# 下面：用随机输入运行 100 步，在最后一个状态上放置梯度，计算它在之前每一步的范数。
# 对比简单循环神经网络（minigen 的 `rnn_cell_*` 核函数，即第 4 课的单元），以及更新门的偏置
# `b_z` 分别为 0 和 3 的、你的门控循环单元（门控循环单元可以学到这样的偏置，从而牢牢记住
# 它见过的内容）。

# %%
from minigen.kernels.rnn import rnn_cell_backward, rnn_cell_forward  # noqa: E402


def gru_gradient_norms(update_bias, T=100, H=8):
    r_ = np.random.default_rng(2)
    W_ih, W_hh = r_.standard_normal((3 * H, 1)) * 0.5, r_.standard_normal((3 * H, H)) * 0.5
    b_ih, b_hh = np.zeros(3 * H), np.zeros(3 * H)
    b_ih[H:2 * H] = update_bias
    h, caches, z_product = np.zeros((1, H)), [], np.ones((1, H))
    for t in range(T):
        x = r_.standard_normal((1, 1))
        z_product *= sigmoid(x @ W_ih[H:2 * H].T + b_ih[H:2 * H] + h @ W_hh[H:2 * H].T + b_hh[H:2 * H])   # z_t
        h, c = gru_step_forward(x, h, W_ih, W_hh, b_ih, b_hh)
        caches.append(c)
    dh, norms = np.ones((1, H)) / np.sqrt(H), []
    for c in reversed(caches):
        dh = gru_step_backward(dh, c)[1]
        norms.append(np.linalg.norm(dh))
    return np.array(norms[::-1]), np.linalg.norm(z_product / np.sqrt(H))   # 全部路径；仅直接路径


def rnn_gradient_norms(T=100, H=8):
    r_ = np.random.default_rng(2)
    W_ih, W_hh = r_.standard_normal((H, 1)) * 0.5, r_.standard_normal((H, H)) * 0.5
    h, caches = np.zeros((1, H)), []
    for t in range(T):
        h, c = rnn_cell_forward(r_.standard_normal((1, 1)), h, W_ih, W_hh)
        caches.append(c)
    dh, norms = np.ones((1, H)) / np.sqrt(H), []
    for c in reversed(caches):
        dh = rnn_cell_backward(dh, c)[1]
        norms.append(np.linalg.norm(dh))
    return np.array(norms[::-1])


(gru_0, direct_0), (gru_3, direct_3) = gru_gradient_norms(0.0), gru_gradient_norms(3.0)
curves = {"vanilla RNN": rnn_gradient_norms(), "GRU, b_z = 0": gru_0, "GRU, b_z = 3": gru_3}
for name, n in curves.items():
    print(f"{name:14s} |dL/dh| 100 steps back: {n[0]:.1e}")
print(f"the direct path alone (dh times the product of the z_t): b_z = 0 -> {direct_0:.1e}, b_z = 3 -> {direct_3:.1e}")

try:
    import matplotlib.pyplot as plt
except ImportError:                     # 绘图是可选的：pip install matplotlib
    plt = None
if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, n in curves.items():
        ax.semilogy(n, label=name)
    ax.set_xlabel("time step t (the loss is at t = 100)")
    ax.set_ylabel("|dL/dh_t|")
    ax.set_title("Gradient flowing back through the update gate")
    ax.legend()
    plt.show()

# %% [markdown]
# 当 `b_z = 0` 时，更新门在 0.5 附近，所以仅靠直接路径，梯度每一步都要减半：
# 100 步之后约为 0.5^100 = 8e-31（上面打印出的实际 `z_t` 之积也是这个量级）。
# 最终到达的 2e-17 几乎全部来自经由 `W_hh` 的其他路径，而这个门控循环单元遗忘得和简单
# 循环神经网络一样快（这里甚至更快）。门本身并不是灵丹妙药；要紧的是网络*能够*把它打开。
# 当 `b_z = 3` 时，`z` 约为 0.95，仅靠直接路径就能保留约 0.95^100 = 0.006 的梯度
# （上面打印出的乘积）。来自 100 步之外的梯度更大，约为 0.05：一旦状态得以保持，
# 经由 `W_hh` 的路径也会传递梯度，而在这里它们与直接路径的梯度相加。训练会为每个单元、
# 每个时间步设定 `z`：保存长程上下文的单元会学着让 `z` 保持在 1 附近。
#
# ## 门控循环单元还是长短期记忆网络？
#
# | | 长短期记忆网络 | 门控循环单元 |
# |---|---|---|
# | 状态 | `h` 和记忆元 `c` | 只有 `h` |
# | 门 | 输入门 `i`、遗忘门 `f`、输出门 `o`（+ 候选记忆元 `g`） | 重置门 `r`、更新门 `z`（+ 候选隐状态 `n`） |
# | 保留 / 写入 | `f` 和 `i`，相互独立 | `z` 和 `1 - z`，相互绑定 |
# | 对外展示状态 | 通过 `o * tanh(c)` | 全部展示，即 `h` |
# | 每层参数量 | `4H (C + H + 2)` | `3H (C + H + 2)` |
#
# 在相同的隐藏层大小下，门控循环单元的循环参数和计算量是长短期记忆网络的四分之三。
# 它把保留和写入绑定在一起（放进来多少，就必须遗忘多少），而且没有输出门。
# 实证比较（Chung et al., 2014；Jozefowicz et al., 2015）发现两者都不是处处更优。
# 因此，公平的比赛要在相同的隐藏层大小下比较，*也要*在相同的参数量下比较。

# %%
from minigen.data import CharTokenizer, shakespeare, train_val_split  # noqa: E402
from minigen.models import RNNLanguageModel  # noqa: E402
from minigen.train import Trainer  # noqa: E402

text = shakespeare()[: 100_000 if QUICK else 1_000_000]
tokenizer = CharTokenizer.train(text)
train_ids, val_ids = train_val_split(tokenizer.encode(text), 0.05)
V, E = tokenizer.vocab_size, 32
H_lstm = 64 if QUICK else 128


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def lm(cell, hidden):
    minigen.manual_seed(0)
    return RNNLanguageModel(V, embed_dim=E, hidden_size=hidden, num_layers=1, cell=cell)


def count(gates, hidden):
    """由形状算出的参数量：嵌入 + 一个含 ``gates`` 个块的循环层 + 输出头。"""
    return V * E + gates * hidden * (E + hidden + 2) + hidden * V + V


# 参数量最接近长短期记忆网络的门控循环单元隐藏层大小
H_gru_big = min(range(H_lstm, 2 * H_lstm), key=lambda k: abs(count(3, k) - count(4, H_lstm)))
assert count(3, H_gru_big) == n_params(lm("gru", H_gru_big)) and count(4, H_lstm) == n_params(lm("lstm", H_lstm))
runs = {}
for label, cell, hidden in [("LSTM", "lstm", H_lstm), ("GRU, same H", "gru", H_lstm),
                            ("GRU, same params", "gru", H_gru_big)]:
    model = lm(cell, hidden)
    optimizer = minigen.optim.Adam(model.parameters(), lr=4e-3)
    trainer = Trainer(model, optimizer, train_ids, val_ids, tokenizer=tokenizer, batch_size=32, seq_len=64,
                      max_steps=40 if QUICK else 800, warmup_steps=10, eval_interval=10 if QUICK else 100,
                      eval_tokens=2048 if QUICK else 8192, progress=not QUICK, log=lambda line: None)
    trainer.fit()
    runs[label] = (model, n_params(model), hidden, trainer.history)
    print(f"{label:17s} H = {hidden:3d}  {n_params(model):7,d} parameters  "
          f"validation loss {trainer.history[-1]['val_loss']:.3f}")

if plt is not None:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
    for label, (_, size, hidden, history) in runs.items():
        ax1.plot([m["step"] for m in history], [m["val_loss"] for m in history], marker="o",
                 label=f"{label} (H = {hidden})")
    ax1.set_xlabel("training step")
    ax1.set_ylabel("validation loss (nats / char)")
    ax1.legend()
    ax2.bar([label.replace(", ", "\n") for label in runs], [size for _, size, _, _ in runs.values()],
            color=["C0", "C1", "C2"])
    ax2.set_ylabel("parameters")
    ax2.set_title("model size")
    plt.show()

# %% [markdown]
# 解读这些数字时要谨慎。这几次运行都很短，换一个随机种子，验证损失就会有零点零几奈特的变动。
# 在我们的运行中，无论是快速模式还是不用快速模式的较长运行，门控循环单元在两种规模下都领先
# （较长运行中：长短期记忆网络为 1.86 奈特，两个门控循环单元分别为 1.76 和 1.73），
# 而在相同的 `H` 下，它每一步的循环计算量只有长短期记忆网络的四分之三。
# 这与已发表的比较结果相符：在字符级文本上两者相差无几，而门控循环单元往往是达到这一水平
# 的更经济的途径。
#
# 下面是参数量与长短期记忆网络相同的门控循环单元生成的一段样本：

# %%
gru_model = runs["GRU, same params"][0]
prompt = np.array([tokenizer.encode("ROMEO:")])
out = gru_model.generate(prompt, max_new_tokens=120, do_sample=True, temperature=0.8, seed=0)
print(tokenizer.decode(out[0].tolist()))

# %% [markdown]
# ## 练习
#
# 1. （计分：上面的 6.1 和 6.2。）`python -m minigen grade . --public-only` 对你的函数
#    运行公开检查。
# 2. 故意植入一个错误：在 `gru_step_backward` 中使用 `dhn = da_n`（忘了重置门）。
#    梯度检验会判定哪些梯度出错？错在哪个门的块上？为什么 `dW_ih` 和 `db_ih` 仍然正确？
# 3. 把 Cho et al. 最初的候选隐状态
#    `n = tanh(x W_in^T + b_in + (r * h_prev) W_hn^T + b_hn)` 写成你的前向传播的一个变体。
#    用数值说明现在 `b_in` 和 `b_hn` 是冗余的，就像 `r` 和 `z` 的偏置一样。
#    它的反向传播需要哪些你的反向传播不需要的东西？
# 4. 更新门的偏置：在门控循环单元语言模型中把 `b_iz` 初始化为 +2
#    （`Hm = model.rnn.hidden_size; model.rnn.bias_ih_l0.data[Hm:2 * Hm] += 2`，用的是模型
#    自己的隐藏层大小，而不是上面检查中的 `H = 5`），然后重新训练。在 `seq_len=64` 时
#    它有帮助吗？在 `seq_len=256` 时呢？
