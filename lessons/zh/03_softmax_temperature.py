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
# # 第 3 课：softmax、交叉熵与温度
#
# 语言模型输出的并不是一个词元。它为词表中的每一项输出一个实数，即
# **logits**（未归一化的对数概率）`z`（对一个位置，形状为 `(V,)`；对 `N` 个位置，
# 形状为 `(N, V)`）；而把这些分数变成训练信号或变成文本的一切，都要经过同一个
# 函数，即 softmax：
#
#     p_i = softmax(z)_i = exp(z_i) / sum_j exp(z_j)           (V,)：各项为正，和为 1
#
# 训练时，我们推高真正紧随其后的那个词元的对数概率（即**交叉熵**损失）；生成时，
# 我们从 `p` 中抽取下一个词元，通常在此之前先用**温度**对它进行重塑。本课在第 2 课
# 数值稳定的 softmax 及其反向传播的基础上构建这三者，并且足够小心，使它们永不
# 上溢、永不计算 `log(0)`、也永不发出警告：
#
# 1. softmax，以及为什么要先减去最大值；
# 2. 通过 log-sum-exp 计算 log-softmax（练习 3.1）；
# 3. 交叉熵及其出了名简洁的梯度 `(softmax - onehot) / N`（练习 3.2）；
# 4. 困惑度与每字符比特数：同一个数，换了单位；
# 5. 用你自己的损失训练一个字符级二元语法模型；
# 6. 熵（练习 3.3）与温度，分别作用在 logits 上和概率上（练习 3.4），并给出
#    几个不同温度下的采样结果。
#
# 形状：`N` = 行数（批量与时间展平后的结果，在后续各课中 `N = B*T`），
# `V` = 词表大小（类别数）。
#
# 可以把它当作脚本运行（`python 03_softmax_temperature.py`），也可以用 jupytext
# 把它作为笔记本打开。`MINIGEN_QUICK=1`（或 `--quick`）会缩短训练部分。

# %%
import math
import os
import sys

import minigen  # 放在最前：minigen 会设置 OpenBLAS 的线程数，这必须在加载 NumPy 之前完成
import numpy as np

import minigen.functional as F
from minigen import metrics, sample
from minigen.kernels.softmax import log_softmax_forward, softmax_forward

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)
np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. softmax，以及它为什么要减去最大值
#
# 你在第 2 课中写过一个数值稳定的 softmax（练习 2.2）；这里的一切都依赖于同一个
# 技巧，所以简要回顾一下。给每个 logit 加上同一个常数 `c`，结果不变：
# `exp(z_i + c) / sum_j exp(z_j + c) = exp(c) exp(z_i) / (exp(c) sum_j exp(z_j))`。
# 起作用的只是 logits 之间的*差*。然而，按原样书写的公式会先计算 `exp(z_i)`，而
# `exp` 很早就会上溢：在 float64 中超过 `z = 709.78`、在 float32 中超过
# `z = 88.72` 时，结果就是 `inf`，而 `inf / inf` 是 `nan`。训练好的模型产生的
# logits 只有几十；而一个程序错误、一个过大的学习率，或一个接近 0 的温度，很容易
# 使 logits 达到几千。
#
# 解决办法利用的正是这种不变性：先减去 `m = max_j z_j`。这样最大的指数项就是
# `exp(0) = 1`，不会有任何上溢，而且分母之和至少为 1，所以也不会除以 0。（远低于
# 最大值的项会下溢为 0，这并无害处：它们的真实概率低于 1e-300。）
#
# 下面，朴素公式在 `np.errstate(...)` 中运行，这样 NumPy 就不会打印上溢警告：我们
# *想*在这里看到 `nan`，而在别处都不想看到。

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
# ## 2. 通过 log-sum-exp 计算 log-softmax
#
# 损失需要的是 `log p`，而不是 `p`。直接计算 `log(softmax(z))` 是一个陷阱：小于约
# 1e-323（float32 中为 1e-45）的概率会被存成精确的 0，而 `log(0) = -inf`，尽管真实
# 的对数概率只是一个像 -800 这样的普通数。改为在对数空间中计算：
#
#     log softmax(z)_i = z_i - lse(z),      lse(z) = log sum_j exp(z_j)
#                                                  = m + log sum_j exp(z_j - m),   m = max_j z_j
#
# `lse`（“log-sum-exp”）是一种平滑的最大值：它介于 `m` 和 `m + log V` 之间。按第二种
# 方式计算时它永不上溢，而且无论概率多小，对每个有限的 `z_i`，结果 `z_i - lse(z)`
# 都是有限的。
#
# ## 练习 3.1：数值稳定的 log-softmax
#
# 编写 `log_softmax(x)`，沿**最后一个**轴计算，适用于任意形状 `(..., V)` 的数组。
# 只要 `x` 有限，结果就必须有限，即使 logits 大到 1e4 也是如此，并且不能发出警告。


# %%
def log_softmax(x):
    """沿最后一个轴计算 log(softmax(x))，算法为 x - logsumexp(x)。

    x：形状为 (..., V) 的浮点数组。返回形状相同的数组，凡 x 有限之处结果都有限
    （在 exp 之前先减去每行的最大值），且不发出警告。
    """
    ### BEGIN SOLUTION
    m = np.max(x, axis=-1, keepdims=True)                 # (..., 1)：每行的最大值
    shifted = x - m                                       # (..., V)：每一项都 <= 0，所以 exp <= 1
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
    ### END SOLUTION


x = np.array([[1e4, 0.0, -1e4], [2.0, 1.0, 0.1]])
with np.errstate(divide="ignore"):
    print("log(softmax(x)) :\n", np.log(softmax_forward(x)[0]))
print("your log_softmax:\n", log_softmax(x))
print("minigen's kernel:\n", log_softmax_forward(x)[0])

# %% [markdown]
# 第一行显示了两者的区别：朴素的算法说后两个词元的对数概率为 `-inf`（“不可能”），
# 稳定的算法则给出 -1e4 和 -2e4，损失正需要这样的数值才能推动它们。你的函数在任何形状上
# 也都应当与 minigen 的自动微分版本 `F.log_softmax` 一致：

# %%
x = rng.standard_normal((2, 3, 5)) * 10
print("max |yours - F.log_softmax| =", np.abs(log_softmax(x) - F.log_softmax(minigen.tensor(x)).data).max())
print("rows of exp(log_softmax) sum to 1:", np.allclose(np.exp(log_softmax(x)).sum(-1), 1.0))

# %% [markdown]
# ## 3. 交叉熵：负对数似然
#
# 对于 `N` 个位置，其 logits 为 `z`（N, V），真正紧随其后的词元为 `t`（N,，整数），
# 损失就是各目标词元的负对数概率的均值：
#
#     loss = -(1/N) sum_n log softmax(z_n)_{t_n} = (1/N) sum_n [ lse(z_n) - z_{n, t_n} ]
#
# 它之所以叫交叉熵，是因为它就是独热目标 `q` 与模型的 `p` 之间的交叉熵
# `-sum_c q_c log p_c`。最小化它就是最大似然：使观测到的文本的概率尽可能大。
#
# **梯度。** 对一行求导：
# `d lse(z)/d z_c = exp(z_c) / sum_j exp(z_j) = p_c`（正是 softmax！），并且
# `d z_t / d z_c = [c = t]`。于是
#
#     d loss_n / d z_nc = p_nc - [c = t_n]             dlogits = (softmax(z) - onehot(t)) / N
#
# 梯度把目标词元的 logit 拉高 `1 - p_t`，并把其余每个 logit 按其概率往下压。当模型
# 既正确又有把握（`p_t = 1`）时，梯度为零。其中没有 `1/p`，也就没有会爆炸的东西：
# 正因如此，各个框架都把 log-softmax 和损失融合成一个函数（PyTorch 的
# `F.cross_entropy`、minigen 的 `minigen.kernels.softmax.cross_entropy_forward`），
# 而不是先对 softmax 求导、再对 log 求导。对比第 2 课中一般的 softmax 反向传播
# `dz = p * (dout - sum(dout * p))`（minigen 的 `softmax_backward`）：代入损失的
# `dout = -onehot / p`，它会化简为同样的 `p - onehot`，但途中除以 `p` 这一步对于
# 很小的 `p` 将是一场灾难。
#
# ## 练习 3.2：交叉熵及其梯度
#
# 返回平均损失及其关于 logits 的梯度。你可以使用自己的 `log_softmax`。


# %%
def cross_entropy(logits, targets):
    """``logits``（N, V）相对于整数 ``targets``（N,）的平均交叉熵。

    返回 ``(loss, dlogits)``：loss 是一个浮点数（0 维的值），即 N 行上
    -log softmax(logits)[n, targets[n]] 的均值；dlogits 是 dloss/dlogits，形状为 (N, V)，
    等于 (softmax(logits) - onehot(targets)) / N。logits 无论多大，结果都是有限的；
    ``logits`` 本身不被修改。
    """
    N = logits.shape[0]
    rows = np.arange(N)
    ### BEGIN SOLUTION
    logp = log_softmax(logits)                            # (N, V)
    loss = -np.mean(logp[rows, targets])                  # -log p_{n, t_n} 的均值
    dlogits = np.exp(logp)                                # (N, V)：即 softmax
    dlogits[rows, targets] -= 1.0                         # 减去独热目标
    dlogits /= N                                          # 在各行上取均值
    ### END SOLUTION
    return loss, dlogits


# %% [markdown]
# 从三个方面检查它。首先是中心差分：`minigen.gradcheck_kernel` 把每个 logit 挪动
# `±eps`，重新计算你的损失，并把斜率与 `dlogits` 比较（像第 2 课解释过的那样，用一个
# 随机的上游梯度去乘这个标量损失；目标是整数，没有梯度）。然后是 minigen 的
# `F.cross_entropy` 的值，以及由其自动微分得到的梯度。

# %%
N, V = 6, 5
logits = rng.standard_normal((N, V)) * 3
targets = rng.integers(0, V, size=N)


def ce_forward(logits, targets):
    loss, dlogits = cross_entropy(logits, targets)
    return np.asarray(loss), dlogits                  # 梯度就是缓存


def ce_backward(dloss, dlogits):
    return dloss * dlogits, None                      # 链式法则；整数目标没有梯度


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
# minigen 的 `F.cross_entropy` 还接受两个参数，二者都来自 PyTorch：
#
# - `ignore_index=-100`：目标为 -100 的行（填充，或序列中的提示部分）对损失没有任何
#   贡献，梯度为零，而且均值只在其余各行上计算；
# - `label_smoothing=eps`：目标变为 `(1 - eps) onehot + eps / V`，于是损失为
#   `(1 - eps) * NLL + eps * mean_c(-log p_c)`。模型永远不会被要求百分之百确定，
#   这可以防止它的 logits 无限制地增长。
#
# 两者离你的函数都只有一行之遥：

# %%
padded = np.where(np.isin(np.arange(N), [1, 4]), -100, targets)    # 第 1 行和第 4 行是填充
keep = padded != -100
print("ignore_index:    minigen", round(F.cross_entropy(minigen.tensor(logits), padded).item(), 6),
      " yours on the kept rows", round(float(cross_entropy(logits[keep], targets[keep])[0]), 6))
eps = 0.1
smoothed = F.cross_entropy(minigen.tensor(logits), targets, label_smoothing=eps).item()
by_hand = (1 - eps) * cross_entropy(logits, targets)[0] + eps * np.mean(-log_softmax(logits))
print("label_smoothing: minigen", round(smoothed, 6), " by hand", round(float(by_hand), 6))

# %% [markdown]
# ## 4. 困惑度与每字符比特数
#
# 损失的单位是每词元的**奈特**（nat，自然对数）。另外两种单位也很常用，
# `minigen.metrics` 负责换算：
#
#     困惑度          = exp(loss)     模型在其间“举棋不定”的等可能选项的个数
#     每字符比特数    = loss / ln 2   （对字符级模型而言；一般情况下是每词元比特数）
#
# 一个一无所知的模型把概率质量均匀地铺开：`loss = ln V`，困惑度为 `V`，比特数为
# `log2 V`。每个模型在开始时都应当接近这里（如果你新建的模型的损失远高于 `ln V`，
# 说明它的初始 logits 太大了），而一个有用的模型最终会远低于它。

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
# ## 5. 用你的损失训练一个字符级二元语法模型
#
# 最简单的语言模型只根据当前字符来预测下一个字符。它的参数是一张表 `W`（V, V）：
# 第 `a` 行存放紧跟在 `a` 之后的那个字符的 logits。查找一行相当于用一个独热向量去
# 乘 `W`，因此写成矩阵形式就是
#
#     X = onehot(x)           (N, V)      当前字符
#     logits = X @ W          (N, V)
#     loss, dlogits = cross_entropy(logits, y)      y (N,)：下一个字符
#     dW = X^T @ dlogits      (V, V)      前向为 logits = X W
#
# 而朴素的梯度下降 `W -= lr * dW` 就能训练它。
# 乘以一个独热矩阵很浪费，所以代码直接做同样的事：`X @ W` 取出各行 `W[x]`，而
# `X^T @ dlogits` 把 `dlogits` 的每一行加到其字符所对应的 `dW` 的那一行上，即
# `np.add.at(dW, x, dlogits)`（这正是嵌入层的前向传播和反向传播所做的事）。对这个
# 模型还有一个闭式解：最大似然的二元语法模型就是计数，
# `p(b | a) = count(a, b) / count(a)`（再加上一点平滑：每个计数都加 0.1，使没有
# 出现过的字符对的概率不为 0）。在交叉熵上做梯度下降，应当从上方逼近计数法的损失。

# %%
counts = np.full((V, V), 0.1)                         # 加 0.1 平滑
np.add.at(counts, (train_ids[:-1], train_ids[1:]), 1)
W_counts = np.log(counts / counts.sum(axis=1, keepdims=True))    # log p(b | a)，第 a 行
x_val, y_val = val_ids[:-1], val_ids[1:]
count_loss = cross_entropy(W_counts[x_val], y_val)[0]

W = np.zeros((V, V))                                  # 每一行都是均匀分布：损失为 ln V
lr, batch, steps = 50.0, 1024, 200 if QUICK else 1000
for step in range(steps):
    i = rng.integers(0, len(train_ids) - 1, size=batch)
    x, y = train_ids[i], train_ids[i + 1]             # (N,)：当前字符和下一个字符
    loss, dlogits = cross_entropy(W[x], y)            # logits = X @ W = W[x]，(N, V)
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
# 从每字符约 6 比特降到约 3.5 比特：知道前一个字符就消除了大量的不确定性（`q` 之后
# 是 `u`），但二元语法模型不会拼写单词。第 4 课会给模型加上记忆。
#
# ## 6. 熵与温度
#
# 一个分布有多不确定？它的**熵**（以奈特为单位）
#
#     H(p) = -sum_i p_i log p_i            约定 0 log 0 = 0（即 x -> 0 时 x log x 的极限）
#
# 对独热分布为 0（毫无疑问），对均匀分布为 `ln V`（V 个结果上可能的最大不确定性）。
# 第 3 节的交叉熵不小于数据本身的熵：`exp(H)` 也是一个困惑度。
#
# ## 练习 3.3：熵
#
# 沿最后一个轴计算，输入 `p` 的形状为 `(..., V)`，返回形状 `(...)`。`p` 的元素可能
# 恰好为 0：它们的贡献必须为 0，既不能有警告，也不能出现 `nan`（在浮点运算中
# `0 * log(0)` 是 `0 * -inf = nan`）。


# %%
def entropy(p):
    """沿最后一个轴计算以奈特为单位的熵 -sum_i p_i log p_i，约定 0 log 0 = 0。

    p：形状为 (..., V)，非负，每一行之和为 1。返回形状为 (...) 的数组
    （一维的 p 则返回 0 维的值）。零元素不引发警告。
    """
    ### BEGIN SOLUTION
    logp = np.log(np.where(p > 0, p, 1.0))                # p = 0 处取 log 1 = 0：0 log 0 -> 0
    return np.sum(-p * logp, axis=-1)
    ### END SOLUTION


print("one-hot:", entropy(np.array([0.0, 1.0, 0.0])), " uniform over 4:", entropy(np.full(4, 0.25)),
      " ln 4 =", round(math.log(4), 4))
p_after = softmax_forward(W_counts)[0]                # (V, V)：每个字符对应的 p(next | current)
for ch in ["q", "e", " "]:
    row = p_after[tokenizer.encode(ch)[0]]
    print(f"after {ch!r}: most likely next {tokenizer.decode([int(np.argmax(row))])!r} (p = {row.max():.3f}), "
          f"entropy {entropy(row):.3f} nats")

# %% [markdown]
# **温度**在采样之前重塑分布：把 logits 除以 `T > 0`，
#
#     p_T = softmax(z / T)
#
# `T = 1` 时什么也不变。`T < 1` 拉大 logits 之间的差距，于是可能的词元变得更可能
# （当 `T -> 0` 时，全部概率质量都集中到 argmax 上：这就是贪心解码，熵为 0）。
# `T > 1` 缩小这些差距（当 `T -> inf` 时，每个词元都得到 `1/V`：熵为 `ln V`）。
# 温度永远不会改变词元的排序。
#
# 很多时候你手里只有概率，而没有 logits（Chollet 的 LSTM 文本生成器，见
# *Deep Learning with Python*，就有一个 `reweight_distribution(probs, temperature)`）。
# 由于 `log p = z - lse(z)` 与 `z` 在每一行上只差一个常数，而常数对 softmax 没有
# 影响，同样的重新加权就是
#
#     q = softmax(log(p) / T)，    即     q_i = p_i^(1/T) / sum_j p_j^(1/T)
#
# （“取对数、相除、取指数、归一化”）。有两点需要小心：恰好为 0 的概率必须保持为 0，
# 而且不能计算 `log(0)`（它的对数是 `-inf`，而 `exp(-inf) = 0`）；另外，当 `T` 很小
# 时，各个 `p_i^(1/T)` 会全部下溢为 0（试试 `0.5 ** 1e4`），因此必须在 `exp` 之前
# 减去每行的最大值，与第 1 节完全一样。
#
# ## 练习 3.4：作用在概率上的温度


# %%
def reweight_distribution(probs, temperature):
    """用温度对概率重新加权：沿最后一个轴计算 q_i = p_i^(1/T) / sum_j p_j^(1/T)。

    probs：形状为 (..., V)，各行非负且和为 1（元素可能恰好为 0）；
    temperature：一个 > 0 的浮点数。返回形状相同、各行之和为 1 的数组；
    为零的概率严格保持为 0。不计算 log(0)，不发出警告，即使温度极小也不出现 nan
    （此时结果是最可能那一项的独热向量）。
    """
    ### BEGIN SOLUTION
    positive = probs > 0
    logp = np.where(positive, np.log(np.where(positive, probs, 1.0)), -np.inf)   # log p，p = 0 处为 -inf
    z = logp / temperature                                                       # 相除
    z = z - np.max(z, axis=-1, keepdims=True)             # 最大值变为 0：不会全部下溢为零
    q = np.exp(z)                                         # exp(-inf) = 0：零仍然是零
    return q / np.sum(q, axis=-1, keepdims=True)          # 归一化
    ### END SOLUTION


p = np.array([0.5, 0.3, 0.2, 0.0])
for T in [1e-4, 0.5, 1.0, 2.0, 100.0]:
    print(f"T = {T:<6}: yours {reweight_distribution(p, T)}  minigen {sample.reweight_distribution(p, T)}")
z = rng.standard_normal(8) * 2
print("softmax(z / T) == reweight(softmax(z), T):",
      np.allclose(softmax_forward(z / 0.7)[0], reweight_distribution(softmax_forward(z)[0], 0.7)))

# %% [markdown]
# ## 熵随温度的变化
#
# 取一个固定的分布，即二元语法模型在空格之后的下一个字符的分布，让温度扫过四个
# 数量级。熵从 0（贪心）单调上升到 `ln V`（均匀）。对采样而言，值得关注的是中间
# 一段，即 `T` 大约在 0.5 到 1.5 之间。

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
except ImportError:                     # 绘图是可选的：pip install matplotlib
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
# ## 几个不同温度下的采样
#
# 最后，用二元语法模型生成文本。每一步取出当前字符对应的那一行，除以 `T`，再从
# softmax 中抽样；抽样由 minigen 的 `sample.sample_next(logits, temperature=T, rng=rng)`
# 完成（在一个设定了种子的生成器上做逆累积分布函数查找，因此文本是可复现的），
# `temperature=0` 表示取 argmax。注意其中的权衡：低温会重复最可能的路径
# （“the the the”），高温则产生一锅字母汤。

# %%
def bigram_sample(W, start, n, temperature, seed=0):
    gen = np.random.default_rng(seed)
    ids = [tokenizer.encode(start)[-1]]
    for _ in range(n):
        logits = W[ids[-1]][None, :]                  # (1, V)：当前字符对应的那一行
        ids.append(int(sample.sample_next(logits, do_sample=True, temperature=temperature, rng=gen)[0]))
    return start + tokenizer.decode(ids[1:])


for T in [0, 0.3, 0.7, 1.0, 1.5]:
    print(f"--- T = {T}" + (" (greedy)" if T == 0 else ""))
    print(bigram_sample(W_counts, "T", 100, T).replace("\n", " / "))

# %% [markdown]
# ## 练习
#
# 1. （计分练习：上面的 3.1 到 3.4。）`python -m minigen grade . --public-only` 会对
#    你的函数运行公开检查。
# 2. 把 `cross_entropy` 写成 `-np.log(softmax(logits))[rows, targets].mean()`，并在
#    `logits * 3000` 上调用它。哪些元素会变成 `inf`？为什么 log-sum-exp 的形式没有
#    这个问题？
# 3. 给你的 `cross_entropy` 加上 `label_smoothing`（值和梯度都要改：目标变为
#    `(1 - eps) onehot + eps / V`），并与 `F.cross_entropy(..., label_smoothing=eps)`
#    比较。一个经过平滑的模型在一行上能达到的最小损失是多少？哪些 logits 能达到它？
# 4. 证明 `H(softmax(z / T))` 不会随 `T` 增大而减小：令 `b = 1/T`，它关于 `b` 的
#    导数为 `-b Var(z)`，其中 `Var(z)` 是 logits 在 `p_T` 下的方差。然后对 `T` 从
#    0.5 到 2，测量二元语法模型在 `softmax(W_counts / T)` 下的验证交叉熵。哪个 `T`
#    得分最好？为什么对于一个用最大似然拟合的模型，这并非偶然？
