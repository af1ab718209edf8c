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
# # 第 14 课：文本生成对抗网络
#
# 用最大似然估计（MLE）训练的语言模型依靠**教师强制**来学习：在每个位置上，模型
# 看到的是真实的前缀，并被要求预测下一个词元。而当它自己写作时，读到的是它*自己*
# 生成的前缀，这些前缀它从未在训练中见过，于是小错误会不断累积。第 11 课把这称为
# **曝光偏差**。生成对抗网络（GAN；Goodfellow et al., 2014）采用另一种训练方式：
# 第二个网络，即**判别器** D，学习区分真实序列与生成序列；而**生成器** G 从它自己的
# 样本中学习写出能让 D 信以为真的序列，完全不需要教师强制。
#
# 对图像来说，这可以通过反向传播实现：D 对一张生成图像的打分是像素的可微函数，
# 而像素又是 G 的权重的可微函数。对文本来说却行不通。G 的输出是一次**离散**的抽样，
# 即词元 id，而抽样没有梯度。各种文本生成对抗网络的区别就在于如何绕过这次抽样。
# 本课实现两种经典的解决办法，然后检验它们能否胜过最大似然估计：
#
# - **得分函数**（REINFORCE，第 15 课）：把 D 的判定当作奖励，把生成器当作策略；
#   SeqGAN（Yu et al., 2017）又加入了**蒙特卡洛展开（rollout）**，为每一个前缀打分，
#   而不只是为写完的序列打分；
# - **Gumbel-softmax 松弛**（Jang et al., 2017；Maddison et al., 2017）：用单纯形上
#   一个趋向于该抽样的光滑点来代替抽样，并通过它进行反向传播（RelGAN，Nie et al., 2019）。
#
# 在此过程中，你将编写判别器的各个部件：在词元嵌入上做一维卷积，以及时间维上的
# 最大池化（Kim, 2014 的 text-CNN，SeqGAN 用的就是它）。
#
# 形状：B = 批量大小，T = 时间，V = 词表大小（类别数），C = 输入通道数，
# O = 输出通道数，K = 卷积核宽度，N = 蒙特卡洛展开的次数。
#
# 可以把它当作脚本运行（`python 14_text_gans.py`），也可以用 jupytext 把它作为笔记本打开。
# `MINIGEN_QUICK=1`（或 `--quick`）会缩短训练部分。

# %%
import copy
import os
import sys

import minigen  # 放在最前面：minigen 会设置 OpenBLAS 的线程数，这必须在加载 NumPy 之前完成
import numpy as np

import minigen.functional as F
from minigen import rl
from minigen.gan import GumbelGAN, SeqGAN, mle_pretrain
from minigen.metrics import nll_oracle, nll_test
from minigen.models import RNNLanguageModel, TextCNNDiscriminator, build_model, oracle_lm, oracle_samples
from minigen.sample import generate

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)
np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. 梯度在哪里中断
#
# 取生成器的一个位置：logits（未归一化的对数概率）`z` (V,)，一个从 `softmax(z)` 中抽出的
# 词元，以及一个对该词元的独热向量（one-hot）打分的判别器。这里的 D 是一个固定的函数，
# 对某个向量 `c` 有 `D(y) = (c . y)^2`，这样一切都可以精确计算。把某个 logit 稍微挪动
# 一点，*用同样的随机性*再抽一次，得到的还是同一个词元：得分纹丝不动。它的导数几乎
# 处处为 0，在跳变处则没有定义。反向传播无从传递任何东西。

# %%
V = 5
z = rng.standard_normal(V)
c = rng.standard_normal(V)
u = rng.random()                                      # 一次抽样的随机性，保持固定


def draw(logits, u):
    """均匀随机数 u 的逆 CDF 抽样所得的词元：满足 u < P(token <= k) 的第一个 k。"""
    p = np.exp(logits - logits.max())
    return int(np.searchsorted(np.cumsum(p / p.sum()), u))


def D_of_draw(logits):
    return c[draw(logits, u)] ** 2                     # (c . onehot(k))^2


eps = 1e-6
fd = [(D_of_draw(z + eps * np.eye(V)[i]) - D_of_draw(z - eps * np.eye(V)[i])) / (2 * eps) for i in range(V)]
print("d D(draw) / d logits, by central differences:", np.array(fd))
p = np.exp(z) / np.exp(z).sum()
print("but the expected score E[D] = sum_k p_k c_k^2 does depend on the logits:", np.sum(p * c ** 2))

# %% [markdown]
# 我们真正想要的是**期望**得分 `E_{k ~ softmax(z)}[D(onehot(k))]` 的梯度，它是 `z` 的
# 光滑函数。在这里它可以精确求出（第 03 课中 softmax 的雅可比矩阵）：
#
#     d/dz sum_k p_k f_k = p * (f - sum_k p_k f_k),      f_k = D(onehot(k)) = c_k^2
#
# 两种解决办法都用样本来估计这个梯度。REINFORCE 使用 `f_k (onehot(k) - p)`，即第 15 课
# 的得分函数估计量：它是无偏的，但只把 D 当作一个数来用，从不用 D 的梯度。松弛方法
# 用到了 D 的梯度，代价是引入偏差。
#
# ## 2. Gumbel-max 技巧及其松弛
#
# 给 logits 加上独立的 **Gumbel(0, 1)** 噪声 `g_k = -log(-log U_k)`，其中
# `U_k ~ Uniform(0, 1)`，再取 argmax：
#
#     argmax_k (z_k + g_k)  ~  softmax(z)
#
# （平移了 `z_k` 的若干 Gumbel 变量的最大值仍是一个 Gumbel 变量，平移量为
# `logsumexp(z)`；而第 k 个胜出的概率是 `exp(z_k) / sum_j exp(z_j)`。）
# 现在，抽样成了 `z` 与噪声 `g` 的确定性函数，而 `g` 不依赖于 `z`：随机性被移到了一旁，
# 正如变分自编码器的重参数化（第 13 课）。只剩下 argmax 没有梯度。用温度为 `tau` 的
# softmax 代替它：
#
#     y_soft = softmax((z + g) / tau)                  单纯形上的一个点
#
# 当 `tau -> 0` 时，`y_soft` 趋向于 argmax 的独热向量，即样本本身；当 `tau` 很大时，
# 它趋向于均匀分布那个点。`y_soft` 对 `z` 可微，因此 `D(y_soft)` 也可微；D 把它读作
# 若干独热向量的混合：嵌入层计算 `y_soft @ W_emb`，即各嵌入的加权平均。
#
# **直通**（straight-through）变体（`hard=True`）在前向传播中返回独热向量本身，
# 使 D 看到的是真实的词元；而在反向传播中，则假装它就是 `y_soft`：使用软版本的梯度。
#
# ## 练习 14.1：Gumbel-softmax 的前向传播
#
# 沿最后一个轴，噪声已给定（以便检验）：`y = softmax((logits + gumbels) / tau)`；
# 若 `hard=True`，则返回其 argmax 的独热向量（取值 0.0 和 1.0）。在 `exp` 之前先减去
# 最大值：当 `tau = 0.01` 时，缩放后的 logits 可达数百。


# %%
def gumbel_softmax(logits, gumbels, tau=1.0, hard=False):
    """沿最后一个轴计算 softmax((logits + gumbels) / tau)；若 hard=True，则返回其 argmax 的独热向量。

    logits、gumbels：形状相同的数组 (..., V)；tau > 0。返回同样形状的数组。
    """
    ### BEGIN SOLUTION
    scaled = (logits + gumbels) / tau
    scaled = scaled - scaled.max(axis=-1, keepdims=True)            # exp 的自变量至多为 0：不会上溢
    y = np.exp(scaled)
    y = y / y.sum(axis=-1, keepdims=True)
    if hard:
        y = np.eye(y.shape[-1])[y.argmax(axis=-1)]                  # 胜出者的独热向量
    return y
    ### END SOLUTION


def gumbel_noise(shape, generator):
    """Gumbel(0, 1) 噪声：-log(-log U)，U ~ Uniform(0, 1)（不含 0，因此不会出现 log 0）。"""
    return -np.log(-np.log(generator.uniform(np.finfo(float).tiny, 1.0, shape)))


g = gumbel_noise(V, rng)
print("yours, soft, tau = 1:", gumbel_softmax(z, g, 1.0))
print("minigen            :", F.gumbel_softmax(minigen.tensor(z), tau=1.0, gumbels=g).numpy())
print("yours, hard        :", gumbel_softmax(z, g, 1.0, hard=True))
for tau in (5.0, 1.0, 0.1):
    print(f"tau = {tau:3}: y_soft = {gumbel_softmax(z, g, tau)}")

# %% [markdown]
# 检验这个技巧：用 Pearson 卡方统计量比较硬样本的频率与 `softmax(z)`。自由度为
# V - 1 = 4 时，大于约 18 的值仅凭偶然出现的机会是千分之一。

# %%
n = 20_000
hard = gumbel_softmax(np.broadcast_to(z, (n, V)), gumbel_noise((n, V), rng), 1.0, hard=True)   # (n, V)
counts = hard.sum(axis=0)
chi2 = np.sum((counts - n * p) ** 2 / (n * p))
print("frequencies of the hard samples:", counts / n)
print("softmax(z)                     :", p)
print(f"chi-square = {chi2:.2f} on {V - 1} degrees of freedom")

# %% [markdown]
# ## 练习 14.2：它的反向传播
#
# 软版本的前向传播是对 `(z + g) / tau` 做 softmax，因此它的反向传播就是 softmax 的
# 反向传播（第 02 课），再按链式法则除以 `tau`：
#
#     dz = y_soft * (dy - sum_k dy_k y_soft_k) / tau
#
# 沿最后一个轴计算。无论前向传播返回的是什么，直通版本都使用同一个基于 `y_soft` 的
# 反向传播。注意其中的 `1 / tau`：温度越低，梯度越大，这正是松弛方法所面临的权衡的一半。


# %%
def gumbel_softmax_backward(dy, y_soft, tau):
    """y = gumbel_softmax(logits, gumbels, tau)（软版本或直通版本）的 dlogits，已知 y_soft 和 dy (..., V)。"""
    ### BEGIN SOLUTION
    return y_soft * (dy - np.sum(dy * y_soft, axis=-1, keepdims=True)) / tau
    ### END SOLUTION


logits_b = rng.standard_normal((3, V))
g_b = gumbel_noise((3, V), rng)
print("the backward against central differences:", minigen.gradcheck_kernel(
    lambda lg: (gumbel_softmax(lg, g_b, 0.5), gumbel_softmax(lg, g_b, 0.5)),
    lambda dy, y_soft: gumbel_softmax_backward(dy, y_soft, 0.5), {"logits": logits_b}))

# %% [markdown]
# ### 实测偏差与方差
#
# 回到 `E[D] = E[(c . y)^2]`。下面三种估计量各自从一个样本估计它的梯度：
#
# - REINFORCE：`f_k (onehot(k) - p)`；
# - 软 Gumbel：`D(y_soft)` 的梯度，即把 `dy = 2 (c . y_soft) c` 送入你的反向传播；
# - 直通：`dy = 2 (c . y_hard) c`，即 D *在真实词元处*的梯度，送入同一个基于 `y_soft`
#   的反向传播；
#
# 每种估计量都在大量抽样上取平均，并与精确梯度比较。偏差是均值与精确梯度之间的距离，
# 相对于精确梯度的大小；方差是单个样本在 V 个分量上的方差之和。

# %%
draws = 50_000 if QUICK else 200_000
f = c ** 2
exact = p * (f - np.sum(p * f))
G = gumbel_noise((draws, V), rng)
zs = np.broadcast_to(z, (draws, V))
k = (zs + G).argmax(axis=1)                                            # Gumbel-max 抽样
reinforce = f[k][:, None] * (np.eye(V)[k] - p)                          # (draws, V)


def bias_and_variance(estimates):
    return np.linalg.norm(estimates.mean(axis=0) - exact) / np.linalg.norm(exact), estimates.var(axis=0).sum()


rows = [("REINFORCE", None, *bias_and_variance(reinforce))]
for tau in (2.0, 1.0, 0.5, 0.1):
    y_soft = gumbel_softmax(zs, G, tau)
    y_hard = gumbel_softmax(zs, G, tau, hard=True)
    soft = gumbel_softmax_backward(2 * (y_soft @ c)[:, None] * c, y_soft, tau)
    straight = gumbel_softmax_backward(2 * (y_hard @ c)[:, None] * c, y_soft, tau)
    rows += [("soft Gumbel", tau, *bias_and_variance(soft)), ("straight-through", tau, *bias_and_variance(straight))]
print(f"{'estimator':>17s} {'tau':>5s} {'relative bias':>14s} {'variance':>10s}")
for name, tau, bias, var in rows:
    print(f"{name:>17s} {'' if tau is None else tau:>5} {bias:14.3f} {var:10.3f}")

# %% [markdown]
# 除去均值本身的抽样误差，REINFORCE 的均值就是精确梯度。两种松弛方法都是有偏的：
# 软版本在并非词元的点上对 D 求导，直通版本使用的则是一个它并未执行的前向传播的
# 反向传播。它们的偏差随 `tau` 减小而下降，方差则随之增大（反向传播要除以 `tau`）：
# 在这里最小的 `tau` 下，两者的噪声都比 REINFORCE 大。正因为这一权衡，RelGAN 在训练中把
# 逆温度 `beta = 1 / tau` 从 1 **退火**到 `beta_max`（100 或 1000）
# （`GumbelGAN(schedule="exp")`）。
#
# ## 3. 判别器：嵌入之上的卷积神经网络
#
# SeqGAN 的判别器，也就是我们的判别器（`minigen.models.TextCNNDiscriminator`），是 Kim 的
# text-CNN。先嵌入词元，`(B, T) -> (B, T, E)`，再把嵌入读作沿时间轴排列的 E 个
# **通道**，`(B, E, T)`。让几种宽度 K 的滤波器沿时间滑动，每个滤波器都是一个 K 元语法
# 的检测器。保留每个滤波器在序列中任意位置上的最强响应（时间维上的最大值），让这些
# 特征经过一个 highway 层，然后分类：
#
#     h_K = relu(conv1d_K(emb))                   (B, O_K, T - K + 1)  对 K in (2, 3, 4, 5)
#     features = [max_t h_K]                       (B, sum_K O_K)
#     logits = Linear(Highway(features))           (B, 2)：生成的、真实的
#
# 一维卷积（实际上是互相关，与所有深度学习库一样：卷积核不翻转），权重为 `W` (O, C, K)，
# 偏置为 `b` (O,)：
#
#     y[b, o, t] = b[o] + sum_c sum_k W[o, c, k] x[b, c, t + k]          t = 0 .. T - K
#
# 对卷积核的每个位置（抽头）k，这是一次矩阵乘法：`W[:, :, k]` (O, C) 乘以平移了 k 的
# `x` 窗口 `x[:, :, k : k + T_out]` (B, C, T_out)。
#
# ## 练习 14.3：卷积的前向传播
#
# 不填充，步幅为 1。返回 `y` (B, O, T - K + 1) 以及供反向传播使用的缓存。


# %%
def conv1d_forward(x, W, b):
    """y[b, o, t] = b[o] + sum_{c, k} W[o, c, k] x[b, c, t + k]：x (B, C, T)，W (O, C, K)，b (O,) -> (y, cache)。"""
    ### BEGIN SOLUTION
    K = W.shape[2]
    T_out = x.shape[2] - K + 1
    y = np.zeros((x.shape[0], W.shape[0], T_out)) + b[:, None]          # (B, O, T_out)，先放入偏置
    for k in range(K):
        y += W[:, :, k] @ x[:, :, k:k + T_out]                          # (O, C) @ (B, C, T_out)：抽头 k
    return y, (x, W, b)
    ### END SOLUTION


x_c = rng.standard_normal((2, 3, 7))
W_c, b_c = rng.standard_normal((4, 3, 3)), rng.standard_normal(4)
y_c, _ = conv1d_forward(x_c, W_c, b_c)
print("yours - minigen's F.conv1d, largest difference:",
      np.abs(y_c - F.conv1d(minigen.tensor(x_c), minigen.tensor(W_c), minigen.tensor(b_c)).numpy()).max())

# %% [markdown]
# ## 练习 14.4：卷积的反向传播
#
# 前向传播是对各抽头求和 `y += W_k @ x_k`，其中 `W_k = W[:, :, k]`，
# `x_k = x[:, :, k : k + T_out]`，因此每个抽头都像一次矩阵乘法那样贡献梯度：
#
#     dx_k = W_k^T @ dy          加到抽头 k 读取的那个 x 窗口上
#     dW_k = 对 b 和 t 求和 dy[b, :, t] x_k[b, :, t]^T           (O, C)
#     db   = 对 b 和 t 求和 dy[b, :, t]
#
# 不同抽头的窗口相互重叠，因此它们的 `dx` 必须**累加**，而不是赋值。


# %%
def conv1d_backward(dy, cache):
    """conv1d_forward 的梯度：dy (B, O, T_out) -> (dx (B, C, T), dW (O, C, K), db (O,))。"""
    ### BEGIN SOLUTION
    x, W, b = cache
    K, T_out = W.shape[2], dy.shape[2]
    dx, dW = np.zeros_like(x), np.zeros_like(W)
    for k in range(K):
        dx[:, :, k:k + T_out] += W[:, :, k].T @ dy                      # (C, O) @ (B, O, T_out)
        dW[:, :, k] = np.einsum("bot,bct->oc", dy, x[:, :, k:k + T_out])
    db = dy.sum(axis=(0, 2))
    return dx, dW, db
    ### END SOLUTION


print("the backward against central differences:", minigen.gradcheck_kernel(
    conv1d_forward, conv1d_backward, {"x": x_c, "W": W_c, "b": b_c}))

# %% [markdown]
# ## 练习 14.5：时间维最大池化的反向传播
#
#     y[b, c] = max_t x[b, c, t]
#
# 只有胜出的位置会影响输出，因此梯度只流向那里，别处都没有：在 `t` 为 argmax 处
# `dx[b, c, t] = dy[b, c]`，其余位置为 0。出现并列时，最大值不可微；minigen（与
# `np.argmax` 一样）把梯度交给**第一个**胜出者。若把它发给每个并列的位置，就会重复计算。


# %%
def max_over_time_backward(dy, x):
    """y = x.max(axis=2) 的 dx：dy (B, C) 流向每个 x[b, c] 在时间上的第一个 argmax；x (B, C, T)。"""
    ### BEGIN SOLUTION
    dx = np.zeros_like(x)
    winner = x.argmax(axis=2)[:, :, None]                               # (B, C, 1)：取到最大值的第一个 t
    np.put_along_axis(dx, winner, dy[:, :, None], axis=2)
    return dx
    ### END SOLUTION


x_m = rng.standard_normal((2, 4, 6))
print("the backward against central differences:", minigen.gradcheck_kernel(
    lambda x: (x.max(axis=2), x), max_over_time_backward, {"x": x_m}))
tie = np.array([[[1.0, 3.0, 3.0, 2.0]]])
print("at a tie, x =", tie[0, 0], "-> dx =", max_over_time_backward(np.ones((1, 1)), tie)[0, 0])

# %% [markdown]
# minigen 的判别器把这些部件组合在一起（`nn.Conv1d`、`F.max_over_time` 中的
# `nn.MaxOverTime`、`nn.Highway`）。它既能读入词元 id，也能读入软的独热向量：对于独热向量
# 的一行，`onehot @ W_emb` 就是嵌入查表，因此两者给出相同的得分；而对于 Gumbel-softmax
# 给出的点，它就是松弛方法所需要的嵌入的混合。

# %%
D_demo = TextCNNDiscriminator(vocab_size=12, embed_dim=8, filter_sizes=(2, 3), num_filters=(4, 4)).eval()
print(D_demo)
ids_demo = rng.integers(0, 12, (3, 6))
print("P(real) from ids      :", D_demo.real_probability(ids_demo).numpy())
print("P(real) from one-hots :", D_demo.real_probability(np.eye(12, dtype=np.float32)[ids_demo]).numpy())

# %% [markdown]
# ## 4. SeqGAN：为每个前缀给出奖励
#
# SeqGAN 把生成器当作策略（第 15 课），把 D 判定一个写完的序列为真实序列的概率当作它的
# 奖励。然而，D 只给**完整**的序列打分，而序列末尾的一个奖励说明不了是哪个词元挣得了它。
# SeqGAN 的办法是使用每个词元的动作价值：在固定了直到该词元（含该词元）的前缀之后，
# 最终奖励的期望，
#
#     Q(y_1 .. y_t) = E[ D(Y) | Y starts with y_1 .. y_t ]
#
# 它通过**蒙特卡洛展开（rollout）**来估计：从一个展开策略（生成器的一个缓慢更新的副本）
# 中采样，把前缀补全 N 次，用 D 给每个补全打分，再取平均。在最后一个位置上，序列已经
# 完整：`Q = D(y)`。
#
#     Q[b, t] = 1/N sum_n D(complete_n(y_b,1..t))       对 t < T - 1   （从 0 开始计数：前缀为 y_b[:t + 1]）
#     Q[b, T - 1] = D(y_b)
#
# 然后，`Q[b, t]` 取代逐词元 REINFORCE 损失中的那个单一奖励：
# `-1/B sum_b sum_t Q[b, t] log p(y_bt | y_b,<t)`。
#
# ## 练习 14.6：蒙特卡洛展开的奖励
#
# `complete(prefixes)` 接受一个整数数组 (M, L)，返回 (M, T)：每个前缀后面接上一段新的
# 随机补全。`score(sequences)` 接受 (M, T)，返回 (M,) 个数。两者都按批量工作：对每个前缀
# 长度，用全部 B x N 行各调用一次（把每一行重复 N 次，并排相邻：`np.repeat(..., axis=0)`），
# minigen 就是这样做的。（每次展开调用一次也是对的，只是更慢。）


# %%
def rollout_rewards(ids, complete, score, num_rollouts):
    """序列 ids (B, T) 的 SeqGAN Q 值 (B, T)，float64：对 t < T - 1，是前缀 ids[:, :t + 1] 的
    num_rollouts 个补全的平均得分；在 t = T - 1 处是 score(ids)。"""
    ### BEGIN SOLUTION
    B, T = ids.shape
    Q = np.zeros((B, T))
    for t in range(T - 1):
        prefixes = np.repeat(ids[:, :t + 1], num_rollouts, axis=0)           # (B N, t + 1)：第 b 行的 N 个副本相邻
        scores = np.asarray(score(complete(prefixes)), dtype=np.float64)     # (B N,)
        Q[:, t] = scores.reshape(B, num_rollouts).mean(axis=1)
    Q[:, T - 1] = np.asarray(score(ids), dtype=np.float64)                   # 写完的序列本身
    return Q
    ### END SOLUTION


# %% [markdown]
# 试一试：用一个（未经训练的）小型字符级长短期记忆网络作为展开策略，用一个 text-CNN
# 作为 D，与 `minigen.rl.rollout_rewards` 对照；后者用 minigen 的模型做同样的事（它接受
# 一个提示长度；我们的提示是起始词元 0，因此它的 Q 就是我们的 Q 去掉第一列）。两者都是
# 对同一个 Q 的蒙特卡洛估计，只是抽样不同：它们在抽样噪声的范围内一致，在最后一个位置上
# 则完全相同。

# %%
minigen.manual_seed(0)
Vr, Tr, Nr = 12, 8, 64
policy = RNNLanguageModel(Vr, embed_dim=8, hidden_size=16, num_layers=1).eval()
D_r = TextCNNDiscriminator(Vr, embed_dim=8, filter_sizes=(2, 3), num_filters=(8, 8)).eval()
ids_r = generate(policy, np.zeros((4, 1), dtype=np.int64), Tr - 1, do_sample=True, top_k=0, seed=1)   # (4, Tr)
draw_seeds = np.random.default_rng(2)


def complete_r(prefixes):
    return generate(policy, prefixes, Tr - prefixes.shape[1], do_sample=True, top_k=0,
                    seed=int(draw_seeds.integers(2**31)))


def score_r(sequences):
    return D_r.real_probability(sequences).numpy()


with minigen.no_grad():
    Q_yours = rollout_rewards(ids_r, complete_r, score_r, Nr)
    Q_minigen = rl.rollout_rewards(policy, score_r, ids_r, 1, num_rollouts=Nr, seed=3)
print("yours  :\n", Q_yours[:2])
print("minigen:\n", np.concatenate([np.full((4, 1), np.nan), Q_minigen], axis=1)[:2])
print("largest difference before the last column:", np.abs(Q_yours[:, 1:-1] - Q_minigen[:, :-1]).max().round(4),
      "; at the last column:", np.abs(Q_yours[:, -1] - Q_minigen[:, -1]).max())

# %% [markdown]
# ## 5. 生成对抗网络能胜过最大似然估计吗？oracle 基准
#
# 文本很难评分，因此 SeqGAN 引入了一个合成的试验台：一个 **oracle**，即权重取自 N(0, 1)
# 的随机长短期记忆网络，扮演真实语言的角色。训练数据由它写出，又因为它的概率是已知的，
# 所以有两个数可以精确计算：
#
# - **NLL-oracle**：用 oracle 给生成器的样本打分（按每个词元计）。数值低意味着样本在真实
#   语言下可能性大：这是*质量*；
# - **NLL-test**：用生成器给留出的 oracle 数据打分。数值低意味着生成器给该语言会写出的
#   一切都分配了概率：这是*覆盖度*（多样性）。
#
# Caccia et al.（"Language GANs Falling Short", 2020）指出，单独一个点说明不了多少问题：
# 降低最大似然模型的**采样温度**，同样能以覆盖度为代价换取质量。只有当一个生成对抗网络
# 落在最大似然估计的整条质量-多样性曲线之下时，它才算更好。下面是一个小规模的实验：
# 一个有 200 个词元的 oracle，序列长度为 12，生成器与 oracle 的结构相同，先用最大似然
# 估计训练，再从最大似然估计得到的权重出发，分别用 SeqGAN 和 Gumbel-softmax 生成对抗网络
# 训练。（`benchmarks/bench_textgan.py` 以 SeqGAN 的规模运行这个实验：词表大小 5,000，
# 长度 20，使用 3 个 oracle 种子。）

# %%
VO, TO = 200, 12
minigen.manual_seed(0)
oracle = oracle_lm(VO, 32, 32, seed=0)
train_o = oracle_samples(oracle, 3000, TO, seed=1)
test_o = oracle_samples(oracle, 500, TO, seed=2)
print(f"the oracle's own NLL on the test data (its entropy rate): {nll_oracle(oracle, test_o):.3f} nats per token")

mle = build_model(oracle.config)
mle_losses = mle_pretrain(mle, train_o, 8 if QUICK else 15, seed=0)


def discriminator():
    return TextCNNDiscriminator(VO, embed_dim=32, filter_sizes=(2, 3, 4), num_filters=(32, 32, 32))


seqgan = SeqGAN(copy.deepcopy(mle), discriminator(), train_o, batch_size=32, num_rollouts=4, d_samples=512,
                d_lr=1e-3, g_lr=1e-3, seed=0)
seqgan.pretrain_discriminator(rounds=2, epochs=1, num_samples=1000)
seqgan.train(10 if QUICK else 50)
gumbel = GumbelGAN(copy.deepcopy(mle), discriminator(), train_o, batch_size=32,
                   anneal_steps=100 if QUICK else 600, seed=0)
gumbel.train(100 if QUICK else 600)
print(f"MLE: last loss {np.mean(mle_losses[-20:]):.3f}; SeqGAN: D's P(real) of the samples "
      f"{seqgan.history['reward'][0]:.3f} -> {seqgan.history['reward'][-1]:.3f}; "
      f"Gumbel-GAN: final tau {gumbel.history['tau'][-1]:.3f}")

# %%
TEMPERATURES = (0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.4)
models = {"MLE": mle, "SeqGAN": seqgan.generator, "Gumbel-GAN": gumbel.generator}
curves = {}
for name, model in models.items():
    curves[name] = np.array([(nll_test(model, test_o, temperature=tau),
                              nll_oracle(oracle, oracle_samples(model, 1000, TO, seed=5, temperature=tau)))
                             for tau in TEMPERATURES])                # (温度个数, 2)：NLL-test、NLL-oracle
print(f"{'generator':>11s}  {'NLL-oracle':>10s}  {'NLL-test':>8s}   (temperature 1)")
at_one = TEMPERATURES.index(1.0)
for name, curve in curves.items():
    print(f"{name:>11s}  {curve[at_one, 1]:10.3f}  {curve[at_one, 0]:8.3f}")

for name in ("SeqGAN", "Gumbel-GAN"):
    test_nll, oracle_nll = curves[name][at_one]
    better = [tau for tau, (t, o) in zip(TEMPERATURES, curves["MLE"]) if t <= test_nll and o <= oracle_nll]
    print(f"{name} at temperature 1: MLE is as good or better on both numbers at temperatures {better or 'none'}")

try:
    import matplotlib.pyplot as plt
except ImportError:                     # 绘图是可选的：pip install matplotlib
    plt = None
if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, curve in curves.items():
        ax.plot(curve[:, 0], curve[:, 1], "o-", label=name)
        for (x, y), tau in zip(curve, TEMPERATURES):
            ax.annotate(f"{tau:g}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xlabel("NLL-test (lower: covers the oracle's data)")
    ax.set_ylabel("NLL-oracle (lower: samples the oracle finds likely)")
    ax.set_title("Quality-diversity over sampling temperature (labels)")
    ax.legend()
    fig.tight_layout()
    plt.show()

# %% [markdown]
# 按照 Caccia et al. 教给我们的方式来读这张图：每条曲线是一个生成器在温度 0.6 到 1.4
# 下的结果，越靠左下越好。在这个规模下，经过一分钟的训练，对抗阶段只让生成器从最大似然
# 估计留下的位置移动了一点点，而且主要是*沿着*最大似然估计的曲线移动，像降低温度那样
# 以覆盖度换取质量。在 SeqGAN 的规模下，基准测试得到了同样的结论（3 个 oracle 种子；见
# `benchmarks/README.md`）：在温度 1 下，SeqGAN 的 NLL-oracle 略低于最大似然估计，
# NLL-test 略高，而温度为 0.8 的最大似然估计在两个数上都胜过它。这正是
# "Language GANs Falling Short" 的发现：调好温度的最大似然估计是一个很强的基线，经典的
# 文本生成对抗网络并不能明显胜过它，而代价却要高得多（SeqGAN 的蒙特卡洛展开让每一步的
# 代价约乘以 N x T / 2）。
#
# ## 练习
#
# 1. （计分：14.1 `gumbel_softmax`，14.2 `gumbel_softmax_backward`，14.3
#    `conv1d_forward`，14.4 `conv1d_backward`，14.5 `max_over_time_backward`，
#    14.6 `rollout_rewards`。）`python -m minigen grade . --public-only` 运行公开检查。
# 2. 在偏差-方差表中加入以 `b = E[f]` 为基线的 REINFORCE。它与松弛方法之间的方差差距
#    能缩小多少？
# 3. 用 N = 1、4 和 16 运行你的 `rollout_rewards`：在重复调用中测量 `Q[:, 0]` 的方差。
#    SeqGAN 用的是 16；为什么这个基准测试用 4？
# 4. 分别用 `schedule="constant"`（自始至终 tau = 1）和 `beta_max=1000` 训练
#    Gumbel-GAN。两者落在质量-多样性图上的什么位置？
# 5. SeqGAN 的蒙特卡洛展开来自生成器的一个*滞后*副本（`rollout_update_rate=0.8`）。
#    用 `rollout_update_rate=None`（直接用生成器本身展开）运行它，并比较奖励曲线。
#    为什么一个滞后的展开策略可能让训练更稳定？
