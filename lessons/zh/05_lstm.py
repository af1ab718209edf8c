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
# # 第 5 课：长短期记忆网络
#
# 在第 4 课中，简单循环神经网络的梯度每经过一个时间步，就要乘一次 `tanh'(a) * W_hh`，
# 所以在长序列上它会按几何级数缩小（或爆炸）。长短期记忆网络（LSTM；Hochreiter & Schmidhuber,
# 1997；遗忘门由 Gers et al., 2000 引入）增加了第二个状态，即**记忆元** `c`。它以*加法*方式更新，
# 并由若干个门决定遗忘什么、写入什么：
#
#     a = x W_ih^T + h_prev W_hh^T + b          (B, 4H)：四个预激活值并排放在一起
#     i = sigmoid(a_i)     输入门：写入多少候选记忆元
#     f = sigmoid(a_f)     遗忘门：保留多少旧的记忆元
#     g = tanh(a_g)        候选记忆元
#     o = sigmoid(a_o)     输出门：展示多少记忆元
#     c = f * c_prev + i * g
#     h = o * tanh(c)
#
# 沿着记忆元这条路径，从 `c` 到 `c_prev` 的梯度就是 `f`：既没有权重矩阵，也没有压缩型
# 激活函数的导数。只要遗忘门是打开的，梯度就能完好无损地往回传很多步。
#
# 四个门按 PyTorch 的顺序 **i, f, g, o** 打包在一个矩阵中：`W_ih`、`W_hh` 和 `b` 的
# 第 `[0:H]` 行属于 `i`，第 `[H:2H]` 行属于 `f`，依此类推。这样，一次矩阵乘积就能同时
# 算出全部四个预激活值。
#
# 在本课中，你将编写单元的前向传播和反向传播，用中心差分检验它们，与 minigen 的核函数
# 进行比较，然后训练一个字符级长短期记忆网络。
#
# 可以把它当作脚本运行（`python 05_lstm.py`），也可以用 jupytext 把它作为笔记本打开。
# `MINIGEN_QUICK=1`（或 `--quick`）会缩短训练部分。

# %%
import os
import sys
import warnings

import minigen  # 放在最前面：minigen 会设置 OpenBLAS 的线程数，这必须在加载 NumPy 之前完成
import numpy as np

from minigen.kernels.lstm import lstm_cell_backward, lstm_cell_forward

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)

# %% [markdown]
# ## 练习 5.1：不会上溢的 sigmoid
#
# 教科书上的公式 `1 / (1 + np.exp(-x))` 在 `x = -1000` 处仍然给出正确的值：
# `np.exp(1000)` 上溢为 `inf`，而 `1 / (1 + inf)` 恰好是 `0.0`。
# 但 NumPy 会对这次上溢发出警告，而且这个 `inf` 一旦被再次使用就会造成破坏：
# 写成 `np.exp(-x) / (1 + np.exp(-x))**2` 的导数在那里是 `inf / inf = nan`。
# 请编写一个任何 `exp` 都不会上溢的 sigmoid。有两种做法：
#
# - `0.5 * np.tanh(0.5 * x) + 0.5`（同一个函数；`tanh` 永远不会上溢）。它处处有限，
#   绝对误差约为 1e-16，但对于绝对值很大的负数 `x`，它在相对意义上并不精确：当 x 小于约 -38 时，
#   `tanh(0.5 x)` 被舍入为 -1，于是结果为 0；在 x = -20 处，它的相对误差约为 9e-9。
#   对于门来说（它要与其他数相乘），1e-16 的绝对误差无伤大雅。
# - 把两种符号分开处理：`x >= 0` 时用 `1 / (1 + exp(-x))`，`x < 0` 时用
#   `exp(x) / (1 + exp(x))`，这样 `exp` 只会遇到 <= 0 的数。
#   这种做法处处精确到舍入误差。当心
#   `np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))`：`np.where`
#   会在每个元素上对**两个**分支都求值，所以 `np.exp(-x)` 在 x = -1000 处仍然会上溢并发出警告。
#   应当只计算一次 `np.exp(-np.abs(x))`，再由它构造两个分支。
#
# 检查会把 x = +-1000 送入你的 sigmoid，并把 RuntimeWarning 计为失败。


# %%
def sigmoid(x):
    """逐元素计算 logistic 函数 1 / (1 + exp(-x))；对任何有限的 x，结果都是有限的，且不产生上溢警告。"""
    ### BEGIN SOLUTION
    return 0.5 * np.tanh(0.5 * x) + 0.5
    ### END SOLUTION


print(sigmoid(np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0])))

# %% [markdown]
# 下面实际测量上面的说法：朴素公式（统计它的警告）、tanh 形式，以及精确到舍入误差的
# 双分支形式。

# %%
def sigmoid_two_branches(x):
    e = np.exp(-np.abs(x))                                   # 对 <= 0 的数取 exp：至多为 1
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
# ## 练习 5.2：单步前向传播
#
# 形状沿用第 4 课的字母（B 批量大小，C 输入通道数，H 隐藏层大小）：
# `x (B, C)`，`h_prev (B, H)`，`c_prev (B, H)`，`W_ih (4H, C)`，`W_hh (4H, H)`，
# `b (4H,)`。返回 `h`、`c` 以及一个 `cache`，其中保存反向传播将要用到的一切。


# %%
def lstm_step_forward(x, h_prev, c_prev, W_ih, W_hh, b):
    """长短期记忆网络的一步。返回 ``(h, c, cache)``，其中 h 和 c 的形状为 (B, H)。"""
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
# ## 练习 5.3：单步反向传播
#
# 给定 `dh` 和 `dc`（损失关于这一步的 `h` 和 `c` 的梯度），按以下顺序返回每个输入的梯度：
# `dx, dh_prev, dc_prev, dW_ih, dW_hh, db`。
#
# 沿前向传播倒着走，一次一行：
#
# - 前向传播是 `h = o * tanh(c)`，所以 `do = dh * tanh(c)`，而 `c` 在 `dc` 之外
#   还得到第二个梯度：`dc_total = dc + dh * o * (1 - tanh(c)^2)`；
# - 前向传播是 `c = f * c_prev + i * g`，所以 `di = dc_total * g`，
#   `df = dc_total * c_prev`，`dg = dc_total * i`，`dc_prev = dc_total * f`；
# - 前向传播是 `i = sigmoid(a_i)`，所以 `da_i = di * i * (1 - i)`；同理，
#   `da_f = df * f * (1 - f)`，`da_o = do * o * (1 - o)`，而由 `g = tanh(a_g)` 得到
#   `da_g = dg * (1 - g^2)`；
# - `da` (B, 4H) 就是这四者按前向传播的顺序 **i, f, g, o** 并排放在一起：
#   `da = [da_i, da_f, da_g, da_o]`；
# - 前向传播是 `a = x W_ih^T + h_prev W_hh^T + b`，所以 `dx = da W_ih`，
#   `dh_prev = da W_hh`，`dW_ih = da^T x`，`dW_hh = da^T h_prev`，而 `db` 是 `da`
#   在批量维度上的和。


# %%
def lstm_step_backward(dh, dc, cache):
    """``lstm_step_forward`` 的反向传播。返回 ``(dx, dh_prev, dc_prev, dW_ih, dW_hh, db)``。"""
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
# ## 检验反向传播
#
# `minigen.gradcheck_kernel` 把每个输入元素扰动 `±eps`，运行两次前向传播，
# 再把斜率与你的解析梯度进行比较。它对 `h` 和 `c` 使用*随机的*上游梯度
# （第 2 课说明了为什么 `out.sum()` 不行），并且全程使用 float64。

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
# 你的单元还应当与 minigen 自己的核函数一致。后者沿用了 PyTorch 的两个偏置向量
# `b_ih` 和 `b_hh`（它们的和起到我们的 `b` 的作用）。

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
# ## 记忆元为什么有用：穿过 100 步的梯度
#
# 用随机输入运行 100 步，再从最后一个记忆元往回传梯度。沿着记忆元这条路径，
# 梯度每一步都要乘以 `f`；把遗忘门的偏置设为打开（一个常用技巧：`b_f = 1`），
# 能保留更多的梯度。两次运行使用相同的权重和输入（函数从它自己的、设定了种子的生成器中
# 抽取它们），所以遗忘门的偏置是唯一的区别。

# %%
def gradient_norms(forget_bias, T=100, seed=1):
    r_ = np.random.default_rng(seed)          # 对每个遗忘门偏置都使用相同的权重和输入
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
except ImportError:                     # 绘图是可选的：pip install matplotlib
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
# ## 完整的字符级长短期记忆网络
#
# minigen 的 `nn.LSTM` 在整个序列上执行同样的数学运算，并用一次矩阵乘积算出所有时间步的
# 输入投影（就像第 4 课的 `rnn_forward` 核函数那样）。`RNNLanguageModel` 的默认单元是
# `"lstm"`，它把 `nn.LSTM` 夹在一个嵌入层和一个线性输出头之间。这里让它在莎士比亚文本上
# 学习一小会儿（不用快速模式时会更久），使用与第 4 课相同的 `Trainer` 和截断的随时间反向传播，
# 然后从中采样。

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
# ## 练习
#
# 1. （计分：上面的 5.1 到 5.3。）`python -m minigen grade . --public-only` 对你的函数
#    运行公开检查。
# 2. 故意植入一个错误：从遗忘门的梯度中去掉 `f * (1 - f)` 这个因子，然后重新运行梯度检验。
#    它判定哪些梯度出错？为什么 `dc_prev` 仍然正确？
# 3. 修改 `gradient_norms`，把记忆元路径与隐状态路径（用 `dh` 代替 `dc`）进行比较。
#    哪一条消失得更快？
# 4. 分别用 `hidden_size=64` 和 `256` 训练字符级长短期记忆网络。验证损失和生成的样本
#    有什么变化？
