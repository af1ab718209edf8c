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
# # 第 15 课：用奖励微调语言模型
#
# 到目前为止，每个模型都是从**目标**中学习的：在每个位置上，目标就是训练文本在那里的
# 词元，交叉熵把模型拉向它。然而，我们希望生成器做到的很多事情无法写成目标，只能在
# 文本写出来之后对它**打分**：
#
# - *漏字文*（lipogram）：写作时不用字母 `e`（模型应该照抄哪段文本呢？）；
# - *包含某个词*：出现在某处，而所在的句子依然通顺；
# - *分类器的判定*：“听起来像莎士比亚”“有礼貌”“没有毒性”；
# - *人类偏好*：人们比较两个回答，再用在他们的选择上训练出的奖励模型给新的回答打分
#   （RLHF：Ouyang et al., 2022）。
#
# 奖励 `R(y)` 给整个样本 `y` 打分。它可以是任何程序，不需要梯度：它可以数字母、查单词、
# 运行另一个网络。于是，微调就意味着
#
#     maximise  J(theta) = E_{y ~ p_theta}[ R(y) ]
#
# 即模型*自己*的样本的期望奖励。这是以语言模型为策略的强化学习：每个词元是一个动作，
# 已经写出的前缀是状态。困难在于 `y` 是一次离散的抽样，因此反向传播在样本处就中断了。
# 本课推导出绕过它的估计量 REINFORCE，以及使它在实践中可用的工具：基线、组内相对优势
# （GRPO）、逐词元的功劳分配，以及让模型保持接近原来样子的 KL 惩罚。然后，我们微调一个
# 字符级模型，让它不再写出 `e`。
#
# 形状：B = 批量大小（采样得到的序列数），T = 生成的词元数，V = 词表大小，
# G = 每个提示的样本数（一组）。
#
# 可以把它当作脚本运行（`python 15_rl_finetuning.py`），也可以用 jupytext 把它作为
# 笔记本打开。`MINIGEN_QUICK=1`（或 `--quick`）会缩短训练部分。

# %%
import copy
import itertools
import os
import sys

import minigen  # 放在最前面：minigen 会设置 OpenBLAS 的线程数，这必须在加载 NumPy 之前完成
import numpy as np

from minigen import rl
from minigen.data import CharTokenizer, random_windows, shakespeare, train_val_split
from minigen.models import RNNLanguageModel
from minigen.nn.utils import clip_grad_norm_
from minigen.sample import generate
from minigen.train import Trainer

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)
np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. 得分函数估计量
#
# 把期望写成对所有序列 `y` 的求和，然后求导：
#
#     grad J = grad sum_y p_theta(y) R(y)
#            = sum_y R(y) grad p_theta(y)                       （R 不依赖于 theta）
#            = sum_y p_theta(y) R(y) grad log p_theta(y)        （grad p = p grad log p）
#            = E_{y ~ p_theta}[ R(y) grad log p_theta(y) ]
#
# 最后一行是模型之下的期望，因此可以**通过采样来估计**：抽取 `y_1 .. y_B`，对
# `R(y_b) grad log p(y_b)` 取平均。这就是得分函数估计量，又称似然比估计量，即
# REINFORCE（Williams, 1992）。它只把 `R` 当作一个数来用，从不需要它的梯度；而
# `log p(y)` 本来就是语言模型给出的东西，每个词元一个 softmax：
#
#     log p_theta(y) = sum_t log p_theta(y_t | y_<t)
#
# 这个估计量的意思是：让每个采样得到的序列变得更可能，提升的幅度与它的奖励成正比。
# 由于它是若干无偏项的平均，它是**无偏的**：它在许多批量上的均值恰好是 `grad J`。
# 我们在一个小到可以穷举的策略上验证这一点。
#
# ### 一个微型策略
#
# 词表大小为 3，长度为 3：共 27 个序列。策略是一张 logits（未归一化的对数概率）表
# `theta` (4, 3)：第 `a` 行是词元 `a` 之后下一个词元的 logits，第 3 行是第一个词元的
# logits（一个起始状态）。它和真正的语言模型一样是自回归的，只是没有网络：
#
#     p(y) = softmax(theta[3])[y_1] * softmax(theta[y_1])[y_2] * softmax(theta[y_2])[y_3]
#
# 而其中一个因子的对数对其所在行的梯度就是第 03 课的那个：
# `d log softmax(z)[k] / dz = onehot(k) - softmax(z)`。

# %%
V3, T3, START = 3, 3, 3                           # 微型策略：词表大小、长度、起始行


def tiny_log_softmax(theta):
    """theta (V3 + 1, V3) 每一行的 log softmax。"""
    z = theta - theta.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def tiny_previous(ys):
    """每个词元抽样时所用的 theta 的行：先是起始行，然后是前一个词元。(N, T3)。"""
    return np.concatenate([np.full((len(ys), 1), START), ys[:, :-1]], axis=1)


def tiny_token_log_probs(theta, ys):
    """序列 ys (N, T3) 中每个词元的 log p(y_t | y_<t) -> (N, T3)。"""
    return tiny_log_softmax(theta)[tiny_previous(ys), ys]


def tiny_token_grads(theta, ys):
    """每个词元的 d log p(y_t | y_<t) / d theta：(N, T3) -> (N, T3, V3 + 1, V3)。"""
    probs = np.exp(tiny_log_softmax(theta))                         # (V3 + 1, V3)
    prev = tiny_previous(ys)
    grads = np.zeros(ys.shape + theta.shape)
    n, t = np.meshgrid(np.arange(len(ys)), np.arange(T3), indexing="ij")
    grads[n, t, prev] = np.eye(V3)[ys] - probs[prev]                # 只有该词元所来自的那一行
    return grads


def tiny_sample(theta, n, generator):
    """从微型策略中逐词元抽取 n 个序列：(n, T3) 整数。"""
    probs = np.exp(tiny_log_softmax(theta))
    ys = np.zeros((n, T3), dtype=np.int64)
    prev = np.full(n, START)
    for t in range(T3):
        cdf = np.cumsum(probs[prev], axis=1)                         # (n, V3)
        ys[:, t] = np.minimum((generator.random((n, 1)) > cdf).sum(axis=1), V3 - 1)
        prev = ys[:, t]
    return ys


ALL = np.array(list(itertools.product(range(V3), repeat=T3)))    # (27, 3)：所有序列
theta = rng.standard_normal((V3 + 1, V3))
p_all = np.exp(tiny_token_log_probs(theta, ALL).sum(axis=1))      # (27,)：每个序列的 p(y)
print(f"{len(ALL)} sequences, total probability {p_all.sum():.12f}")

# %% [markdown]
# 奖励可以是任何东西：这里是一张由 27 个在 3 附近的随机数组成的表，一个黑箱。精确梯度
# 是穷举求和 `sum_y p(y) R(y) grad log p(y)`；`minigen.gradcheck_kernel` 用 `J(theta)`
# 本身（同样通过穷举计算）的中心差分来确认它。

# %%
R_all = 3.0 + rng.standard_normal(len(ALL))                        # (27,)：每个序列的 R(y)


def expected_reward(theta):
    return np.sum(np.exp(tiny_token_log_probs(theta, ALL).sum(axis=1)) * R_all)


score_all = tiny_token_grads(theta, ALL).sum(axis=1)               # (27, 4, 3)：grad log p(y)
exact_grad = np.einsum("n,n,nij->ij", p_all, R_all, score_all)     # sum_y p(y) R(y) grad log p(y)
print("J(theta) =", round(expected_reward(theta), 4), "\nexact grad J =\n", exact_grad)
print("the identity holds (central differences of J):", minigen.gradcheck_kernel(
    lambda th: (expected_reward(th), None), lambda dJ, _: dJ * exact_grad, {"theta": theta.copy()}))

# %% [markdown]
# ## 练习 15.1：REINFORCE 替代损失
#
# 自动微分引擎对损失求导，而不是对估计量求导。因此我们写出一个**替代损失**
# （surrogate）：它的梯度*就是*这个估计量，其中样本及其奖励保持固定（它们是常数：
# 没有梯度流过一次抽样）：
#
#     loss = -1/B sum_b (R_b - b_b) sum_t log p_theta(y_bt | y_b,<t)
#     -grad loss = 1/B sum_b (R_b - b_b) grad log p_theta(y_b)
#
# `b_b` 是**基线**，下一节再解释；当 `b = 0` 时，它就是上面的估计量。有三个细节很重要：
#
# - 负号：优化器做的是*最小化*，而我们想要*更多*奖励；
# - 对词元**求和**，而不是取平均：`log p(y)` 是一个和（取平均会把每个序列的梯度缩放
#   `1/T`，而对于长度不同的序列，这就不再是 `J` 的梯度了）；
# - 奖励是数：损失只通过 `log_probs` 求导。
#
# 在 NumPy 数组上编写它：`log_probs` (B, T)，`rewards` (B,)，`baseline` 是一个数，或者
# 每个序列一个数 (B,)。`minigen.rl.reinforce_loss` 是作用于张量的同一个函数，供真实模型使用。


# %%
def reinforce_surrogate(log_probs, rewards, baseline=0.0):
    """REINFORCE 替代损失，一个 Python 浮点数：-1/B sum_b (rewards_b - baseline_b) sum_t log_probs_bt。

    log_probs：(B, T) 浮点数，采样词元的 log p(y_bt | y_b,<t)；rewards：(B,)；
    baseline：一个数，或 (B,) 个数（每个序列一个）。
    """
    ### BEGIN SOLUTION
    advantages = np.asarray(rewards, dtype=np.float64) - baseline          # (B,)
    return float(-np.mean(advantages * np.sum(log_probs, axis=1)))
    ### END SOLUTION


ys = tiny_sample(theta, 6, rng)                                    # (6, 3)：一个批量的样本
R = R_all[ys @ np.array([9, 3, 1])]                                # (6,)：它们的奖励（在 ALL 中的下标：三进制）
lp = tiny_token_log_probs(theta, ys)                               # (6, 3)
print("yours:               ", reinforce_surrogate(lp, R, baseline=2.5))
print("minigen.rl:          ", rl.reinforce_loss(minigen.tensor(lp), R, baseline=2.5).item())

# 通过 log p 用中心差分求出的它对 theta 的梯度，等于估计量的相反数。
estimate = np.einsum("n,nij->ij", R - 2.5, tiny_token_grads(theta, ys).sum(axis=1)) / len(ys)
print("grad of your surrogate = -estimate:", minigen.gradcheck_kernel(
    lambda th: (np.asarray(reinforce_surrogate(tiny_token_log_probs(th, ys), R, 2.5)), None),
    lambda dloss, _: -dloss * estimate, {"theta": theta.copy()}))

# %% [markdown]
# ## 2. 无偏，但有噪声：基线
#
# 抽取许多样本，每个样本给出一个估计 `g_n = (R(y_n) - b) grad log p(y_n)`，把它们的均值
# 与精确梯度比较。N 次抽样的均值的标准误差是 `std / sqrt(N)`；无偏估计量的均值落在
# 真值的几个标准误差之内（对每个数来说，超出 5 个标准误差是百万分之一的事件）。
#
# 为什么我们可以减去一个基线 `b`？因为得分的均值为零：
#
#     E_y[ grad log p(y) ] = sum_y p(y) grad p(y) / p(y) = grad sum_y p(y) = grad 1 = 0
#
# 所以对任何**不依赖于 y** 的 `b`，都有 `E[b grad log p(y)] = b * 0 = 0`：均值仍然是
# `grad J`。但方差会改变。当 `b = 0` 且奖励都在 3 附近时，每个样本都在推高它自己的概率，
# 而携带信号的奖励之间的*差异*只占每次推动的一小部分。当 `b` 接近 `E[R]` 时，好样本被
# 推高，坏样本被压低。实测如下：

# %%
N = 20_000
ys_many = tiny_sample(theta, N, np.random.default_rng(1))            # (N, 3)
R_many = R_all[ys_many @ np.array([9, 3, 1])]                        # (N,)
score_many = tiny_token_grads(theta, ys_many).sum(axis=1)          # (N, 4, 3)：grad log p(y_n)
print("E[grad log p] by enumeration:", np.abs(np.einsum("n,nij->ij", p_all, score_all)).max().round(15))
print(f"{'baseline':>22s}  {'max |mean - exact| / s.e.':>26s}  {'total variance':>14s}")
for name, b in [("none (b = 0)", 0.0), ("b = E[R] = J(theta)", expected_reward(theta))]:
    g = (R_many - b)[:, None, None] * score_many                    # (N, 4, 3)：每个样本一个估计
    z = (g.mean(axis=0) - exact_grad) / (g.std(axis=0) / np.sqrt(N) + 1e-300)
    print(f"{name:>22s}  {np.abs(z).max():26.2f}  {g.var(axis=0).sum():14.3f}")

# %% [markdown]
# 两者都落在精确梯度的几个标准误差之内，而在这里，基线把方差降低到原来的十分之一以下：
# 只需十分之一的样本就能达到同样的精度。在实践中 `E[R]` 是未知的；过去奖励的**滑动平均**
# （`rl.MovingAverageBaseline`）是一个常见的替代。它只依赖于之前的批量，从不依赖当前批量，
# 因此估计量仍然无偏。
#
# 一个诱人的捷径是使用**批量自身**的平均奖励。它依赖于每个样本自己的奖励，这就破坏了
# 上面的论证：`b` 不再独立于 `y_b`。对 B 个样本，`R_b - mean(R)` 中含有 `R_b (1 - 1/B)`，
# 于是估计按 `(B - 1) / B` 缩小。解决办法是**留一法**（leave-one-out）基线（RLOO，
# Kool et al., 2019）：每个样本的基线是*其他*样本的均值。
#
# ## 练习 15.2：留一法基线
#
#     b_i = (sum_j R_j - R_i) / (B - 1)          rewards (B,) -> (B,)，B >= 2


# %%
def leave_one_out_baseline(rewards):
    """对每个样本，其他 B - 1 个样本的平均奖励：rewards (B,)，B >= 2 -> (B,) float64。"""
    ### BEGIN SOLUTION
    rewards = np.asarray(rewards, dtype=np.float64)
    return (rewards.sum() - rewards) / (rewards.shape[0] - 1)
    ### END SOLUTION


print("rewards", R[:4].round(3), "-> leave-one-out baselines", leave_one_out_baseline(R[:4]).round(3))

# %% [markdown]
# 当 B = 2 时，共有 27 x 27 = 729 种可能的批量：把它们全部穷举出来，每个按其概率
# `p(y_1) p(y_2)` 加权，批量估计量的均值就是精确的，完全没有抽样误差。

# %%
pairs = np.array(list(itertools.product(range(len(ALL)), repeat=2)))    # (729, 2)：ALL 中的下标
weight = p_all[pairs].prod(axis=1)                                     # (729,)：p(y_1) p(y_2)
rewards_2 = R_all[pairs]                                               # (729, 2)
for name, baselines in [("leave-one-out (yours)", np.array([leave_one_out_baseline(r) for r in rewards_2])),
                        ("mean of the batch", np.repeat(rewards_2.mean(axis=1, keepdims=True), 2, axis=1))]:
    per_batch = np.einsum("pb,pbij->pij", rewards_2 - baselines, score_all[pairs]) / 2     # (729, 4, 3)
    mean = np.einsum("p,pij->ij", weight, per_batch)
    print(f"{name:>22s}: E[estimate] / grad J = {np.sum(mean * exact_grad) / np.sum(exact_grad ** 2):.6f}")

# %% [markdown]
# 在 B = 2 时，批量均值恰好给出一半的梯度：`(B - 1) / B`。（这里它只是一个缩放，
# 学习率可以把它吸收掉；但知道哪些估计量是无偏的仍然有价值，因为一旦按提示分组并做
# 重新缩放，误差就不再是简单的缩放了。）
#
# ## 3. 组内相对优势（GRPO）
#
# 对于回答提示的语言模型，奖励在很大程度上取决于提示：有的容易，有的困难。对所有提示
# 只用一个基线，消除不了多少方差。GRPO（Shao et al., 2024，DeepSeekMath）为每个提示
# 采样一**组** G 个补全，并且只拿每个补全与它自己所在的组比较：
#
#     A_i = (R_i - mean_g) / (std_g + eps)
#
# 其中 `mean_g` 和 `std_g` 是样本 i 所在组内奖励的均值和样本标准差（除数为 G - 1，
# 与 `torch.std` 相同）。优势 `A_i` 在替代损失中取代 `R_i - b_i`。除以标准差使每个
# 提示处于同一尺度上：一个提示的各个补全得分都差不多时，差异很小，除以标准差后就能与
# 得分分散的提示的差异相比较。`eps` 让奖励全部相等的组得到 0（那里没有东西可学），
# 而不是 0 / 0。组均值包含样本自身，这正是练习 15.2 测量过的那一点轻微偏差，GRPO
# 接受了它。
#
# ## 练习 15.3：组内相对优势
#
# 批量中有 B / G 组，每组是 G 个相邻的样本（`generate(...,
# num_return_sequences=G)` 正是这样排列的：先是第一个提示的补全 0..G-1，然后是第二个
# 提示的 G..2G-1，……）。


# %%
def group_advantages(rewards, group_size, eps=1e-4):
    """GRPO 的优势：在每个由 group_size 个相邻样本组成的组内计算 (r_i - mean_g) / (std_g + eps)。

    rewards：(B,) 个数，B 是 group_size >= 2 的倍数；std_g 是样本标准差
    （除数为 group_size - 1）。返回 (B,) float64。
    """
    ### BEGIN SOLUTION
    groups = np.asarray(rewards, dtype=np.float64).reshape(-1, group_size)     # (B / G, G)：每行一个提示
    mean = groups.mean(axis=1, keepdims=True)                                  # (B / G, 1)
    std = groups.std(axis=1, ddof=1, keepdims=True)                            # 除数为 G - 1
    return ((groups - mean) / (std + eps)).reshape(-1)
    ### END SOLUTION


rewards_g = np.array([1.0, 3.0, 2.0, 2.0, 10.0, 30.0, 20.0, 20.0, 5.0, 5.0, 5.0, 5.0])   # 3 个提示，G = 4
print("yours:     ", group_advantages(rewards_g, 4).round(4))
print("minigen.rl:", rl.group_advantages(rewards_g, 4).round(4))

# %% [markdown]
# 前两组得到相同的优势（在 `eps` 的误差范围内）：只有组内的排序和离散程度起作用，
# 提示奖励的尺度不起作用。第三组奖励全部相等，得到 0。
#
# ## 4. 逐词元的功劳分配：未来回报
#
# 一个序列是一串决策，而有些奖励是在中途到来的：漏字文的 `-1` 落在含有 `e` 的那个
# 词元上。若每个序列只有一个奖励 `R = sum_s r_s`，每个词元都会被记上全部奖励，包括
# 它**之前**的词元所得的奖励，而那些奖励不可能是它造成的。这些项纯粹是噪声。把估计量
# 逐词元写出：
#
#     grad J = E[ sum_t grad log p(y_t | y_<t) * sum_s r_s ]
#
# 对于 `s < t`，一旦 `y_<t` 固定，`r_s` 也就固定了；而给定 `y_<t` 时，`y_t` 的得分均值
# 为零（即第 2 节的论证，每次作用于一个词元），因此这些项的期望为零。剩下的就是
# **未来回报**（return-to-go）：
#
#     grad J = E[ sum_t grad log p(y_t | y_<t) * G_t ],      G_t = sum_{s >= t} r_s
#
# 均值相同，噪声更小。折扣 `gamma < 1`，即 `G_t = sum_{s >= t} gamma^(s-t) r_s`，
# 让远处的奖励权重更小：方差进一步降低，但除非 `gamma = 1`，它就成了另一个目标的
# 梯度（即引入了偏差）。
#
# ## 练习 15.4：未来回报
#
# 从后往前逐个位置计算：`G_{T-1} = r_{T-1}`，然后
# `G_t = r_t + gamma * G_{t+1}`。


# %%
def returns_to_go(rewards, gamma=1.0):
    """G_bt = sum_{s >= t} gamma^(s - t) rewards_bs：逐词元奖励 (B, T) -> 回报 (B, T) float64。"""
    ### BEGIN SOLUTION
    rewards = np.asarray(rewards, dtype=np.float64)
    returns = np.zeros_like(rewards)
    running = np.zeros(rewards.shape[0])                    # (B,)：G_{t+1}，最后一个词元之后为 0
    for t in reversed(range(rewards.shape[1])):             # 从最后一个词元往回
        running = rewards[:, t] + gamma * running
        returns[:, t] = running
    return returns
    ### END SOLUTION


r_demo = np.array([[0.0, -1.0, 0.0, -1.0, 0.0]])
print("rewards        ", r_demo[0])
print("returns-to-go  ", returns_to_go(r_demo)[0])
print("gamma = 0.5    ", returns_to_go(r_demo, 0.5)[0])

# %% [markdown]
# 在微型策略上，让词元 2 扮演字母 `e`：在 `y_t = 2` 处 `r_t = -1`。两种估计量，即把
# 全部回报记在每个词元上的和使用未来回报的，都是无偏的；后者的方差更小。

# %%
r_tok_all = -(ALL == 2).astype(float)                               # (27, 3)：逐词元奖励
exact_tok = np.einsum("n,n,nij->ij", p_all, r_tok_all.sum(axis=1), score_all)   # grad E[sum_t r_t]
r_tok = -(ys_many == 2).astype(float)                               # (N, 3)
token_grads = tiny_token_grads(theta, ys_many)                      # (N, 3, 4, 3)
print(f"{'credit':>28s}  {'max |mean - exact| / s.e.':>26s}  {'total variance':>14s}")
for name, credit in [("whole return on every token", np.repeat(r_tok.sum(1, keepdims=True), T3, axis=1)),
                     ("return-to-go (yours)", returns_to_go(r_tok))]:
    g = np.einsum("nt,ntij->nij", credit, token_grads)              # (N, 4, 3)
    z = (g.mean(axis=0) - exact_tok) / (g.std(axis=0) / np.sqrt(N) + 1e-300)
    print(f"{name:>28s}  {np.abs(z).max():26.2f}  {g.var(axis=0).sum():14.3f}")

# %% [markdown]
# ## 5. KL 惩罚：与原模型保持接近
#
# 奖励只说明我们想要什么，别的一概不管。对于*任何*不含 `e` 的文本，包括胡言乱语，
# 漏字文的奖励都是最大的；策略梯度会爬向它能找到的最近的这类文本，往往是几个不断重复
# 的音节（下面我们会看到这种情况发生）。标准的补救办法（Ziegler et al., 2019；
# InstructGPT；GRPO）是：每偏离原模型（即冻结的**参考**模型 `p_ref`）一步，都要付出代价：
#
#     maximise  E_{y ~ p}[ R(y) ] - beta * KL(p || p_ref),      KL(p || p_ref) = E_{y ~ p}[ log p(y) - log p_ref(y) ]
#
# 与 `log p(y)` 一样，序列的 KL 散度是对词元的求和（KL 散度的链式法则），因此可以用
# 我们已有的样本逐词元地估计它。对一个从 `p` 中抽出的词元，令
# `r = log p_ref(y_t) - log p(y_t)`（John Schulman, "Approximating KL divergence", 2020）：
#
#     k1 = -r                       E_p[k1] = KL：无偏，但对许多词元为负，而且噪声大
#     k3 = exp(r) - r - 1           E_p[exp(r)] = sum_y p(y) p_ref(y) / p(y) = 1，所以 E_p[k3] = E_p[k1] = KL
#
# `k3` 同样无偏，而且从不为负（`exp(x) >= 1 + x`）：每个词元的惩罚都是一个诚实的
# “距离”，而不是一个正负全凭运气的数。当 `p` 接近 `p_ref` 时，`r` 很小，
# `k3 ~ r^2 / 2`，噪声远小于 `r`。GRPO 把 `beta * k3` 加到它的损失上；它对
# `log p(y_t)` 的梯度是 `1 - exp(r)`，这会压低策略现在比参考模型更偏爱的词元，
# 并抬高它不如参考模型那么偏爱的词元。
#
# ## 练习 15.5：k3 估计量


# %%
def kl_k3(log_probs, ref_log_probs):
    """Schulman 的逐词元 k3：r = ref_log_probs - log_probs，k3 = exp(r) - r - 1；形状相同的数组 -> 同样的形状。

    log_probs：从 p 中采样的词元的 log p(y_t | y_<t)；ref_log_probs：同样的词元在 p_ref 下的对数概率。
    """
    ### BEGIN SOLUTION
    r = ref_log_probs - log_probs                          # log p_ref(y_t) / p(y_t)
    return np.exp(r) - r - 1.0
    ### END SOLUTION


lp_demo, ref_demo = np.log([[0.5, 0.2, 0.1]]), np.log([[0.5, 0.4, 0.01]])
print("yours:     ", kl_k3(lp_demo, ref_demo))
print("minigen.rl:", rl.kl_penalty(minigen.tensor(lp_demo), ref_demo, kind="k3").numpy())

# %% [markdown]
# 通过穷举 27 个序列，把两种估计量与微型策略和一个参考策略（附近的另一张 logits 表）
# 之间的精确 KL 散度进行核对，并比较它们在样本上的噪声：

# %%
theta_ref = theta + 0.3 * rng.standard_normal(theta.shape)
lp_all, ref_all = tiny_token_log_probs(theta, ALL), tiny_token_log_probs(theta_ref, ALL)   # 各为 (27, 3)
exact_kl = np.sum(p_all * (lp_all.sum(axis=1) - ref_all.sum(axis=1)))
print(f"exact KL(p || p_ref) = {exact_kl:.6f}")
print(f"E[sum_t k1] by enumeration = {np.sum(p_all * (lp_all - ref_all).sum(axis=1)):.6f}")
print(f"E[sum_t k3] by enumeration = {np.sum(p_all * kl_k3(lp_all, ref_all).sum(axis=1)):.6f}")
lp_s, ref_s = tiny_token_log_probs(theta, ys_many), tiny_token_log_probs(theta_ref, ys_many)  # (N, 3)
for name, per_seq in [("k1", (lp_s - ref_s).sum(axis=1)), ("k3", kl_k3(lp_s, ref_s).sum(axis=1))]:
    print(f"{name}: mean of {N} samples {per_seq.mean():.4f} +- {per_seq.std() / np.sqrt(N):.4f}, "
          f"std per sequence {per_seq.std():.4f}, negative for {np.mean(per_seq < 0):.0%} of them")

# %% [markdown]
# ## 6. 一次真正的微调：不含 `e` 的莎士比亚
#
# 现在，在一个字符级长短期记忆网络（第 05 课）上运用整套方法；它先用最大似然在莎士比亚
# 文本上做了简短的训练。大约每十个字符中就有一个是 `e` 或 `E`。目标是：为莎士比亚的
# 提示写出避开这个字母、而读起来仍像该模型笔下的莎士比亚的续写。

# %%
text = shakespeare()[: 600_000 if QUICK else 2_000_000]
tokenizer = CharTokenizer.train(text)
V = tokenizer.vocab_size
train_ids, val_ids = train_val_split(tokenizer.encode(text), 0.05)
minigen.manual_seed(0)
base = RNNLanguageModel(V, embed_dim=32, hidden_size=128, num_layers=1)
optimizer = minigen.optim.Adam(base.parameters(), lr=1e-2 if QUICK else 4e-3)
trainer = Trainer(base, optimizer, train_ids, val_ids, tokenizer=tokenizer, batch_size=32, seq_len=64,
                  max_steps=500 if QUICK else 2000, warmup_steps=10, eval_interval=500 if QUICK else 1000,
                  eval_tokens=4096, progress=not QUICK)
trainer.fit()
base.eval()                                    # 参考模型：此后不再训练
print(f"V = {V} characters; validation loss {trainer.history[-1]['val_loss']:.3f} nats per character")

# %% [markdown]
# 微调的一步把上面的一切组合在一起：
#
# 1. 从语料库中随机取 `PROMPTS` 个 16 字符的窗口，从策略本身为每个窗口采样 `GROUP` 个
#    长度为 `T_NEW` 个字符的补全（`do_sample=True, top_k=0`：策略自己的分布；`generate`
#    默认的 `top_k=50` 会从另一个分布中采样）；
# 2. 用 `rl.sequence_log_probs` 计算每个生成词元的 `log p(y_t | y_<t)`，放在计算图中；
#    在冻结的参考模型下计算同样的量，不放入计算图；
# 3. 逐词元奖励来自 `rl.Lipogram(tokenizer, "e")`：每个 `e` 或 `E` 处为 -1；
# 4. 先算你的未来回报，再在每个位置上算你的组内相对优势：一个词元与其提示的其他补全
#    在同一位置上的词元相比较；
# 5. 损失：逐词元的 REINFORCE 替代损失（`rl.reinforce_loss`，即你的练习 15.1 的张量版本，
#    这里使用逐词元的优势），加上 `beta` 乘以 k3 惩罚（`rl.kl_penalty`），两者都对词元
#    取平均；然后做一步 Adam。
#
# 我们记录奖励（每个补全中 `e` 的个数取负）和每个补全的 KL 散度（你的 `kl_k3`，对其
# 词元求和），并运行两次：不加 KL 惩罚（`beta = 0`）和加上 KL 惩罚。

# %%
PROMPT_LEN, T_NEW, PROMPTS, GROUP = 16, 48, 8, 8
STEPS = 120 if QUICK else 300
lipogram = rl.Lipogram(tokenizer, "e")


def finetune(beta, steps, lr=1e-2, seed=0):
    """`base` 的一个副本，微调后避免写出 `e`；返回它及其历史记录：每一步、每个补全的 (奖励, KL)。"""
    policy = copy.deepcopy(base)
    optimizer = minigen.optim.Adam(policy.parameters(), lr=lr)
    prompt_rng = np.random.default_rng(seed)
    history = []
    for step in range(steps):
        prompts, _ = random_windows(train_ids, PROMPTS, PROMPT_LEN, prompt_rng)       # (PROMPTS, P)
        prompts = np.repeat(prompts, GROUP, axis=0)                                  # (B, P)：每 GROUP 个为一组
        policy.eval()
        with minigen.no_grad():
            ids = generate(policy, prompts, T_NEW, do_sample=True, top_k=0, seed=seed * 10_000 + step)
            ref_log_probs = rl.sequence_log_probs(base, ids, PROMPT_LEN).numpy()     # (B, T)
        policy.train()
        log_probs = rl.sequence_log_probs(policy, ids, PROMPT_LEN)                   # (B, T)，在计算图中
        rewards = lipogram(ids[:, PROMPT_LEN:])                                      # (B, T)：每个 e 处为 -1
        returns = returns_to_go(rewards)                                             # 你的函数
        advantages = np.stack([group_advantages(returns[:, t], GROUP) for t in range(T_NEW)], axis=1)   # 你的函数
        loss = (rl.reinforce_loss(log_probs, advantages / T_NEW)
                + beta * rl.kl_penalty(log_probs, ref_log_probs, kind="k3").sum() / (len(ids) * T_NEW))
        optimizer.zero_grad()
        loss.backward()
        clip_grad_norm_(policy.parameters(), 1.0)
        optimizer.step()
        kl = kl_k3(log_probs.numpy().astype(np.float64), ref_log_probs).sum(axis=1).mean()     # 你的函数
        history.append((rewards.sum(axis=1).mean(), kl))
    return policy.eval(), np.array(history)


free, free_hist = finetune(beta=0.0, steps=STEPS)
held, held_hist = finetune(beta=0.2, steps=STEPS)
for name, hist in (("beta = 0  ", free_hist), ("beta = 0.2", held_hist)):
    reward, kl = hist[-10:].mean(axis=0)
    print(f"{name}: last 10 steps, reward {reward:6.2f} per {T_NEW} characters, KL {kl:6.2f} nats")

try:
    import matplotlib.pyplot as plt
except ImportError:                     # 绘图是可选的：pip install matplotlib
    plt = None
if plt is not None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
    for name, hist in (("beta = 0", free_hist), ("beta = 0.2", held_hist)):
        axes[0].plot(hist[:, 0], label=name)
        axes[1].plot(hist[:, 1], label=name)
    axes[0].set_title(f"reward: -(number of e) per {T_NEW} characters")
    axes[1].set_title("KL(policy || reference) per completion (k3), nats")
    axes[1].set_yscale("log")
    for ax in axes:
        ax.set_xlabel("step")
        ax.legend()
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## 微调前后
#
# 对三个模型使用同样的提示，在温度 1 下续写 200 个字符。我们看 `e` 的比例，以及
# **原模型下每个字符的负对数似然**：即这段文本让我们出发时的那个模型感到多意外。
# 真正英语中的漏字文是有代价的（不含 `e` 的莎士比亚不那么像莎士比亚）；胡言乱语的
# 代价则很大。

# %%
eval_prompts, _ = random_windows(val_ids, 32, PROMPT_LEN, np.random.default_rng(7))    # (32, P)
for name, model in (("original", base), ("beta = 0", free), ("beta = 0.2", held)):
    with minigen.no_grad():
        ids = generate(model, eval_prompts, 200, do_sample=True, top_k=0, seed=3)
        nll = -rl.sequence_log_probs(base, ids, PROMPT_LEN).numpy().mean()
    completions = ids[:, PROMPT_LEN:]
    rate = np.mean(lipogram(completions) < 0)                                       # 是 e 或 E 的字符
    sample_text = tokenizer.decode(ids[0].tolist()).replace("\n", " / ")
    print(f"{name:>10s}: e/E in {rate:6.2%} of the characters, NLL under the original {nll:.3f} nats/char")
    print(f"            {sample_text[:PROMPT_LEN]!r} -> {sample_text[PROMPT_LEN:160]!r}")

# %% [markdown]
# 没有惩罚时，策略在几步之内就不再写 `e`，并且不断远离原模型：它的 KL 散度攀升到每
# 48 个字符几十奈特，文本坍缩成几个音节，而奖励无法把它们与正常的文字区分开。它在原
# 模型下的负对数似然暴露了这一点。当 `beta = 0.2` 时，`e` 几乎同样快地变得罕见，而
# KL 散度趋于平稳，文本保持着原模型文字的样子（包括它的错误：这是一个只训练了几秒钟的
# 小模型）；它的负对数似然上升得少得多。`beta` 决定了奖励与距离之间的兑换率：`beta`
# 越小，策略就用怪异得多的文本换来少数几个被避开的 `e`。
# `minigen finetune --reward lipogram:e` 在命令行中对一次训练好的运行执行同类方法
# （见 README）。
#
# ## 练习
#
# 1. （计分：15.1 `reinforce_surrogate`，15.2 `leave_one_out_baseline`，15.3
#    `group_advantages`，15.4 `returns_to_go`，15.5 `kl_k3`。）
#    `python -m minigen grade . --public-only` 运行公开检查。
# 2. 在微型策略上，测量使用留一法基线时估计量在 B = 2、4 和 16 下的方差，并与
#    `b = E[R]` 进行比较。
# 3. 把逐词元的功劳分配换成每个序列一个奖励（整个补全中 `e` 的个数，在其最后一个词元处
#    给出），再微调一次。要达到同样的奖励，需要多走多少步？
# 4. 试试 `beta` = 0.01、0.03 和 0.3。画出最终奖励对最终 KL 散度的图：这就是 RLHF 论文
#    报告的权衡曲线。文本从哪里开始崩坏？
# 5. 用 `rl.IncludeWord(tokenizer, "king")` 作为奖励（每个序列一个数，所以在最后一个
#    词元处给出：`returns_to_go` 会把它分摊到每个词元上）。当这个词在最初的样本中几乎
#    从不出现时，为什么学习开始得如此缓慢？
