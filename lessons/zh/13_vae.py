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
# # 第 13 课：用于文本的变分自编码器
#
# 到目前为止的语言模型（第 4 课到第 8 课）一次写一个词元来生成句子，它们对句子所做的一切
# “决定”都逐步存放在隐状态中。其中没有任何东西代表整个句子。**变分自编码器**
# （variational autoencoder，VAE；Kingma & Welling, 2014）加入了这样一个东西：一个连续向量 `z`，
# 即*潜空间*（latent space）中的一个点，解码器由它写出句子。Bowman et al. (2016),
# "Generating Sentences from a Continuous Space" 用两个长短期记忆网络（第 5 课）实现了这一点：
#
#     ids (B, T) -> 嵌入 -> 编码器 LSTM -> 最后一个词元处的 h (B, H) -> Linear -> mu, logvar (B, Z)
#     z = mu + exp(logvar / 2) * eps,   eps ~ N(0, I)                         (B, Z)
#     z -> 解码器 LSTM 的初始状态，并把 z 拼接到它的每个输入上 -> logits (B, T, V)
#
# 形状：B = 批量大小，T = 时间，E = 嵌入维度，H = 隐藏层大小，Z = 潜变量维度，V = 词表大小。
#
# 训练好之后，潜空间就可以*派上用场*：解码一个随机的 `z ~ N(0, I)`，得到一个新句子；
# 编码两个句子，沿着它们的编码之间的直线走一遍；或者把一个句子的编码当作它的固定大小的摘要。
#
# 在本课中，你将编写让变分自编码器运转起来的四个小公式：重参数化、KL 项及其梯度，
# 以及 KL 退火的调度。然后我们在一门很小的语言上训练 minigen 的 `TextVAE`，观察它
# **坍塌**（解码器学会忽略 `z`），用标准的补救办法防止坍塌，最后进行重构、采样和插值。
#
# 可以把它当作脚本运行（`python 13_vae.py`），也可以用 jupytext 把它作为笔记本打开。
# `MINIGEN_QUICK=1`（或 `--quick`）会缩短训练。

# %%
import itertools
import os
import sys

# 这里的矩阵很小（24 x 64）：一个 BLAS 线程比两个更快，两个线程花在交接工作上的时间
# 比花在计算上的还多。（这只有在导入 NumPy 之前设置才有效。）
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import minigen  # noqa: E402
from minigen.models import vae  # noqa: E402

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)

# %% [markdown]
# ## 目标函数：证据下界（ELBO）
#
# 数据的模型是：从先验 `p(z) = N(0, I)` 中抽取 `z`，再由解码器逐个生成词，
# `p(x|z) = prod_t p(w_t | w_<t, z)`。训练应当最大化 `log p(x) = log integral p(x|z) p(z) dz`，
# 但谁也算不出它：积分要遍及整个潜空间。技巧在于引入一个**编码器** `q(z|x)`，它是一个高斯分布
# `N(mu(x), diag(exp(logvar(x))))`，用来猜测 `x` 来自潜空间的哪个位置。对于任意的 `q`，
#
#     log p(x) = log E_q[ p(x|z) p(z) / q(z|x) ]
#             >= E_q[ log p(x|z) ] - KL( q(z|x) || p(z) )             （Jensen 不等式：log E >= E log）
#              = ELBO
#
# 两者之差是 `KL(q(z|x) || p(z|x))`，当编码器猜中真实的后验时，它为 0。因此，同时对解码器
# *和*编码器最大化 ELBO，既能拟合数据，又能让 `q` 如实反映后验。minigen 对每个句子最小化它的相反数：
#
#     recon = -sum_t log p(w_t | w_<t, z)      解码器的交叉熵，z 从 q(z|x) 中抽取
#     KL    = KL( N(mu, diag(exp(logvar))) || N(0, I) )
#     loss  = recon + beta * KL                （beta = 1 即为 ELBO；训练初期 beta < 1：退火）
#
# 这两项相互拉扯。`recon` 希望 `z` 尽可能多地说明句子的信息；`KL` 则是说明这些信息的
# *代价*，以奈特计：只有当每个句子都得到同一个编码（即先验）时它才为 0，而那时 `z` 什么也说明不了。

# %% [markdown]
# ## 练习 13.1：重参数化技巧
#
# 重构项是关于 `z ~ q(z|x)` 的期望，每个句子用一次抽样来估计。一次抽样对 `mu` 和 `logvar`
# 是不可导的……除非把随机性移开：先抽取 `eps ~ N(0, I)`，那么
#
#     z = mu + sigma * eps,        sigma = exp(logvar / 2)                (B, Z)
#
# 恰好服从分布 `N(mu, sigma^2)`，而且在 `eps` 固定时，它是 `mu` 和 `logvar` 的一个普通函数：
# `dz/dmu = 1`，`dz/dlogvar = sigma * eps / 2`。
#
# 编码器输出的是 `logvar = log sigma^2` 而不是 `sigma`，因为线性层可以输出任意实数，
# 而 `exp` 会把它变成正的方差。标准差要用 `exp(0.5 * logvar)` 来算，而不是
# `sqrt(exp(logvar))`：后者在 `logvar > 709.8` 时上溢为 `inf`，而前者直到 1419 都是有限的。


# %%
def reparameterize(mu, logvar, eps):
    """逐元素计算 z = mu + exp(logvar / 2) * eps。mu、logvar、eps：(B, Z) 的 float64 数组 -> z (B, Z)。"""
    ### BEGIN SOLUTION
    return mu + np.exp(0.5 * logvar) * eps
    ### END SOLUTION


B, Z = 4, 3
mu, logvar = rng.standard_normal((B, Z)), rng.standard_normal((B, Z))
eps = rng.standard_normal((B, Z))
z_ref = vae.reparameterize(minigen.tensor(mu), minigen.tensor(logvar), minigen.tensor(eps))
print("max |z - z_minigen| =", np.abs(reparameterize(mu, logvar, eps) - z_ref.numpy()).max())

# 对同一个 (mu, logvar) 多次抽取 eps：得到的 z 的均值为 mu，标准差为 exp(logvar / 2)。
draws = reparameterize(mu[:1], logvar[:1], rng.standard_normal((200_000, Z)))     # 通过广播得到 (200000, Z)
print("mean of z:", draws.mean(axis=0).round(3), "  mu:", mu[0].round(3))
print("std of z: ", draws.std(axis=0).round(3), "  exp(logvar/2):", np.exp(logvar[0] / 2).round(3))

# %% [markdown]
# ## 练习 13.2：KL 项的闭式解
#
# 对于高斯分布，KL 散度无须采样。在一维情形下，设 `q = N(mu, s^2)`，`p = N(0, 1)`，
#
#     KL(q || p) = E_q[ log q(z) - log p(z) ]
#                = E_q[ -log s - (z - mu)^2 / (2 s^2) + z^2 / 2 ]        （log sqrt(2 pi) 相互抵消）
#                = -log s - 1/2 + (s^2 + mu^2) / 2                        （E_q[(z-mu)^2] = s^2，E_q[z^2] = s^2 + mu^2）
#
# 而对角高斯分布各个维度的 KL 散度相加即可。用 `logvar = log s^2` 表示，对每一行 b：
#
#     KL_b = -1/2 * sum_j (1 + logvar_bj - mu_bj^2 - exp(logvar_bj))       (B, Z) -> (B,)
#
# 每一项都 `>= 0`，并且恰好在 `mu = 0, logvar = 0` 处为 `0`。直接使用 `logvar`：
# 先算 `exp(logvar)` 再取 `log`，在 `logvar = -800` 时会出错（`exp` 下溢为 0，
# 而 `log(0) = -inf`）。


# %%
def gaussian_kl(mu, logvar):
    """逐行计算 KL(N(mu, diag(exp(logvar))) || N(0, I))：mu、logvar (B, Z) -> KL (B,)，单位为奈特。"""
    ### BEGIN SOLUTION
    return -0.5 * np.sum(1.0 + logvar - mu * mu - np.exp(logvar), axis=-1)
    ### END SOLUTION


kl_ref = vae.kl_divergence(minigen.tensor(mu), minigen.tensor(logvar)).numpy()
print("KL per row:         ", gaussian_kl(mu, logvar).round(4))
print("minigen.kl_divergence", kl_ref.round(4))

# 用你的重参数化对公式做蒙特卡洛检验：在多次抽样上对 log q(z) - log p(z) 取平均。
eps_many = rng.standard_normal((100_000, Z))
z = reparameterize(mu[:1], logvar[:1], eps_many)                                   # (N, Z)，z ~ q
log_q = -0.5 * (logvar[:1] + (z - mu[:1]) ** 2 / np.exp(logvar[:1]))              # 略去了一个常数……
log_p = -0.5 * z ** 2                                                              # ……log p 也略去了同一个常数
print(f"row 0: closed form {gaussian_kl(mu[:1], logvar[:1])[0]:.4f}, "
      f"Monte Carlo {np.sum(log_q - log_p, axis=1).mean():.4f}")

# %% [markdown]
# ## 练习 13.3：KL 项的反向传播
#
# 前向传播是 `KL_b = 1/2 * sum_j (mu_bj^2 + exp(logvar_bj) - logvar_bj - 1)`，
# 而 `dkl (B,)` 是损失关于每一行的 KL 的梯度。每一项只依赖于它自己的 `mu_bj` 和 `logvar_bj`，所以
#
#     前向传播是 1/2 * mu^2，                       所以  dmu     = dkl[:, None] * mu
#     前向传播是 1/2 * (exp(logvar) - logvar)，     所以  dlogvar = dkl[:, None] * (exp(logvar) - 1) / 2
#
# 注意这两个式子说明了什么。KL 项把每个均值拉向 0，拉力与它到 0 的距离成正比；又把每个
# 对数方差拉向 0（方差为 1）：小于 1 的方差（`logvar < 0`）得到负的梯度，所以梯度*下降*会
# 让它增大。正是这种压力，如果放任不管，会让每个编码都变得和先验一样。


# %%
def gaussian_kl_backward(dkl, mu, logvar):
    """``gaussian_kl`` 的反向传播：dkl (B,) -> (dmu, dlogvar)，形状都是 (B, Z)。"""
    ### BEGIN SOLUTION
    dkl = dkl[:, None]                                  # (B, 1)：每行一个上游梯度
    dmu = dkl * mu                                      # 前向传播是 1/2 mu^2
    dlogvar = dkl * 0.5 * (np.exp(logvar) - 1.0)        # 前向传播是 1/2 (exp(logvar) - logvar)
    ### END SOLUTION
    return dmu, dlogvar


# %% [markdown]
# `minigen.gradcheck_kernel` 在 float64 中使用随机的上游梯度 `dkl`（而不是 `kl.sum()`），
# 把你的反向传播与你的前向传播的中心差分进行比较。然后我们再与 minigen 的自动微分
# 为 `vae.kl_divergence` 求得的梯度进行比较。

# %%
def kl_forward(mu, logvar):
    return gaussian_kl(mu, logvar), (mu, logvar)


def kl_backward(dkl, cache):
    return gaussian_kl_backward(dkl, *cache)


print("gradient check passed:", minigen.gradcheck_kernel(kl_forward, kl_backward, {"mu": mu, "logvar": logvar}))
mu_t, logvar_t = minigen.tensor(mu, requires_grad=True), minigen.tensor(logvar, requires_grad=True)
dkl = rng.standard_normal(B)
(vae.kl_divergence(mu_t, logvar_t) * minigen.tensor(dkl)).sum().backward()
dmu, dlogvar = gaussian_kl_backward(dkl, mu, logvar)
print(f"vs minigen autograd: dmu {np.abs(dmu - mu_t.grad).max():.1e}, dlogvar {np.abs(dlogvar - logvar_t.grad).max():.1e}")

# %% [markdown]
# ## 后验坍塌，以及三种补救办法
#
# 用朴素的目标函数训练变分自编码器，下面的情况十分常见：训练初期编码 `z` 只是噪声，
# 于是解码器（一个本身就是不错的语言模型的长短期记忆网络）学会根据前面的词预测下一个词，
# 并忽略 `z`。一旦它忽略了 `z`，重构项就不再在乎 `q(z|x)` 是什么，而 KL 项（练习 13.3）
# 会把每个 `q(z|x)` 都推到先验上。KL = 0，每个句子都得到同一个编码，这个“自编码器”
# 就成了一个普通的语言模型。这就是**后验坍塌**（posterior collapse）。Bowman et al. 提出了
# 两种补救办法；第三种如今已成为标准做法：
#
# - **KL 退火**：给 KL 项乘上一个权重 `beta`，在训练的前一段时间里从 0 增长到 1。
#   当 `beta` 很小时，把信息编码进 `z` 几乎不花代价，解码器在全额付费之前就学会了利用它。
# - **词丢弃**（word dropout）：把解码器*输入*中一定比例的词替换为 `UNK`
#   （`TextVAE(word_dropout=0.25)`）。历史中有了空缺，解码器就无法仅凭前面的词预测下一个词，
#   `z` 也就值得一读了。
# - **自由比特**（free bits；Kingma et al., 2016）：在损失中，把每个潜变量维度的 KL
#   （在批量上取平均）至少按 `lambda` 奈特计算：`sum_j max(lambda, KL_j)`。
#   低于 `lambda` 时 KL 项没有梯度，所以编码器可以在每个维度上免费使用这么多信息
#   （`model(ids, free_bits=lambda)`；报告出来的 KL 仍然是真实的值）。
#
# ## 练习 13.4：退火的调度
#
# 编写**线性**调度：`beta = step / warmup_steps`，上限为 1，因此 `beta` 在第 0 步为 0，
# 在预热进行到一半时为 1/2，从 `warmup_steps` 起为 1。`warmup_steps` 为 0（或更小）
# 表示不退火：每一步都有 `beta = 1`。（Bowman et al. 用的是 logistic 曲线
# `1 / (1 + exp(-k (step - midpoint)))`，minigen 也以 `vae.kl_weight(step, "logistic", ...)`
# 的形式提供了它。线性调度更容易推理：经过已知的步数之后，KL 项就全额计入。）


# %%
def kl_weight(step, warmup_steps):
    """训练第 ``step`` 步（0, 1, ...）的 KL 权重 beta：min(1, step / warmup_steps)，返回 Python float。

    ``warmup_steps <= 0`` 表示不退火（始终为 1.0）。
    """
    ### BEGIN SOLUTION
    if warmup_steps <= 0:
        return 1.0
    return min(1.0, step / warmup_steps)
    ### END SOLUTION


warmup = 400
steps_axis = np.arange(0, 1001, 10)
mine = [kl_weight(int(s), warmup) for s in steps_axis]
ref = [vae.kl_weight(int(s), "linear", warmup=warmup) for s in steps_axis]
print("linear schedule agrees with minigen:", np.allclose(mine, ref), "| beta at 0, 200, 400, 1000:",
      [kl_weight(s, warmup) for s in (0, 200, 400, 1000)])

try:
    import matplotlib.pyplot as plt
except ImportError:                     # 绘图是可选的：pip install matplotlib
    plt = None
if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 2.5))
    ax.plot(steps_axis, mine, label=f"linear, warm-up {warmup} (yours)")
    ax.plot(steps_axis, [vae.kl_weight(int(s), midpoint=warmup / 2, rate=10 / warmup) for s in steps_axis],
            label="logistic (Bowman et al.), midpoint 200")
    ax.set_xlabel("training step")
    ax.set_ylabel("beta")
    ax.set_title("KL annealing schedules")
    ax.legend()
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## 一门很小的语言
#
# 句子级的变分自编码器需要大量句子和长时间的训练，它的潜空间才会变得有意思
# （`benchmarks/quality_vae.py` 在它保留的 46,400 行简短的莎士比亚台词中取 45,400 行，
# 训练五分钟）。为了在几秒钟内看清这些思想，我们使用一门虚构的宫廷语言：每个句子都是一个
# *主语*后面跟一个*谓语*，共 8 x 8 = 64 个句子，每句 3 到 7 个词，出现的可能性全都相同。
# 好的编码包含两个因素：谁，以及做什么；坍塌的编码则一个也没有。`log 64 = 4.16` 奈特
# 就是 `z` 为了区分所有句子而必须携带的信息量。
#
# `TextVAE` 把 id 0 到 3 留给 PAD、BOS、EOS 和 UNK；`vae.make_batch` 把若干个词 id 列表
# 变成一个 `(B, T)` 的批量 `BOS w_1 .. w_n EOS PAD ..`。

# %%
SUBJECTS = ["the king", "the old queen", "a young knight", "my lord", "the fool", "a lady", "his brother", "the duke"]
PREDICATES = ["sleeps in the tower", "rides to war", "sings of the sea", "laughs", "weeps for her son",
              "waits by the gate", "speaks", "dreams of the crown"]
sentences = [f"{s} {p}" for s, p in itertools.product(SUBJECTS, PREDICATES)]
PAD, BOS, EOS, UNK = 0, 1, 2, 3
words = ["<pad>", "<s>", "</s>", "<unk>"] + sorted({w for s in sentences for w in s.split()})
word_id = {w: i for i, w in enumerate(words)}
corpus = [[word_id[w] for w in s.split()] for s in sentences]


def to_text(row):
    """id 序列 (T,) -> EOS 之前的词（去掉 PAD 和 BOS）。"""
    out = []
    for i in np.asarray(row).tolist():
        if i == EOS:
            break
        if i not in (PAD, BOS):
            out.append(words[i])
    return " ".join(out)


print(f"{len(sentences)} sentences, vocabulary {len(words)}; a batch of two:")
print(vae.make_batch(corpus[:2]))

# %% [markdown]
# ## 训练：朴素的 ELBO 与加上补救办法的对比
#
# `train_vae` 在随机抽取的批量上运行 Adam，并记录每一步的重构损失、KL 和 `beta`。
# 我们从相同的初始权重出发训练两次：
#
# 1. **朴素的**目标函数：从第一步起 `beta = 1`，不用词丢弃，也不用自由比特；
# 2. 加上**补救办法**：在训练的前一半使用你的线性退火，词丢弃比例为 0.25，
#    每个潜变量维度 0.75 个自由比特。
#
# （在快速模式下，朴素的那次运行只有一半长：它早在结束之前就已经坍塌了。）

# %%
from minigen.nn.utils import clip_grad_norm_  # noqa: E402

E, H, Z = 16, (32 if QUICK else 64), 8
STEPS = 400 if QUICK else 1500
LR = 0.02 if QUICK else 0.01                # 短时间的运行需要更大胆的步长


def train_vae(steps, warmup_steps, word_dropout, free_bits, batch_size=24):
    """在 `corpus` 上训练的 TextVAE；返回 (model, history)，其中 history[k] 是第 k 步的 (recon, kl, beta)。"""
    minigen.manual_seed(0)
    model = vae.TextVAE(len(words), E, H, Z, word_dropout=word_dropout, pad_id=PAD, bos_id=BOS, eos_id=EOS,
                        unk_id=UNK)
    optimizer = minigen.optim.Adam(model.parameters(), lr=LR)
    batches = np.random.default_rng(1)
    history = []
    for step in range(steps):
        ids = vae.make_batch([corpus[i] for i in batches.choice(len(corpus), batch_size, replace=False)])
        beta = kl_weight(step, warmup_steps)                           # 你的调度
        out = model(ids, beta=beta, free_bits=free_bits)               # out.loss = recon + beta * KL（含自由比特）
        optimizer.zero_grad()
        out.loss.backward()
        clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        history.append((out.recon.item(), out.kl.item(), beta))
    return model.eval(), np.array(history)


plain, plain_hist = train_vae(STEPS // 2 if QUICK else STEPS, warmup_steps=0, word_dropout=0.0, free_bits=0.0)
fixed, fixed_hist = train_vae(STEPS, warmup_steps=STEPS // 2, word_dropout=0.25, free_bits=0.75)
for name, hist in (("plain ELBO", plain_hist), ("with fixes", fixed_hist)):
    recon, kl, _ = hist[-20:].mean(axis=0)
    print(f"{name:10s}: last 20 steps, recon {recon:5.2f} nats/sentence, KL {kl:5.2f} nats/sentence")

if plt is not None:
    fig, axes = plt.subplots(1, 3, figsize=(12, 3))
    for name, hist in (("plain ELBO", plain_hist), ("with fixes", fixed_hist)):
        axes[0].plot(hist[:, 0], label=name)
        axes[1].plot(hist[:, 1], label=name)
    axes[2].plot(fixed_hist[:, 2], color="C1", label="beta (with fixes)")
    axes[2].plot(plain_hist[:, 2], color="C0", label="beta (plain)")
    for ax, title in zip(axes, ["reconstruction (nats/sentence)", "KL (nats/sentence)", "KL weight beta"]):
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.legend()
    plt.tight_layout()
    plt.show()

# %% [markdown]
# ## 编码里有什么
#
# 重构每个句子：先编码，取均值 `mu` 作为它的编码（不加噪声），再用贪心解码。
# 朴素的模型如果坍塌了，无论读入什么，写出的都是同样的一两个句子。我们还统计
# **活跃单元**（active units；Burda et al., 2016）的个数：即均值 `mu_j(x)` 随句子而变化
# （方差 > 0.01）的那些潜变量维度。坍塌的维度对每个句子都给出相同的 `mu_j`。

# %%
batch_all = vae.make_batch(corpus)
for name, model in (("plain ELBO", plain), ("with fixes", fixed)):
    rebuilt = [to_text(r) for r in model.reconstruct(batch_all, max_len=8)]
    with minigen.no_grad():
        mu_all, _ = model.encode(batch_all)
    active = int(np.sum(np.var(mu_all.numpy(), axis=0) > 0.01))
    exact = sum(a == b for a, b in zip(rebuilt, sentences))
    print(f"{name}: {exact}/{len(sentences)} sentences rebuilt exactly, {len(set(rebuilt))} different outputs, "
          f"{active}/{Z} active units")
    for k in range(0, len(sentences), 19):
        print(f"    {sentences[k]:32s} -> {rebuilt[k]}")

# %% [markdown]
# ## 采样与插值
#
# 现在把潜空间当作生成器来用。从 `z ~ N(0, I)` 解码出的句子应当是这门语言中的句子，
# 因为训练把每个编码都拉向了先验。两个句子的编码可以用一条直线连接起来；解码这条直线上的
# 各个点，就能看出潜空间学会了在它们之间放些什么。在一个好的潜空间中，这条路径每次只改变
# 一个因素（先改主语，再改谓语，或者反过来），而且每个点都能解码成一个合乎语法的句子。

# %%
print("samples from the prior (greedy):")
for row in fixed.sample(6, max_len=8, seed=1):
    print("   ", to_text(row))
a, b = corpus[sentences.index("the king sleeps in the tower")], corpus[sentences.index("a lady sings of the sea")]
print(f"\ninterpolating from {to_text([BOS] + a)!r} to {to_text([BOS] + b)!r}:")
for row in fixed.interpolate(vae.make_batch([a])[0], vae.make_batch([b])[0], steps=7, max_len=8):
    print("   ", to_text(row))

# %% [markdown]
# 在快速模式下，模型只训练了几百步：加上补救办法的那次运行保持了几奈特的 KL，
# 能正确重构许多句子，但仍会混淆一些它尚未区分开的主语或谓语；而朴素的那次运行（几乎）
# 已经坍塌。不用快速模式时，它以 `H = 64` 训练 1,500 步：加上补救办法的模型能重构全部
# （或几乎全部）64 个句子，它的样本合乎语法，插值路径在途中还会经过这门语言中的其他句子。
# 无论哪种情况，都有两点值得注意：加上补救办法的模型的 KL 停在略低于自由比特所允许的值
# （8 个维度 x 0.75 奈特 = 6 奈特）的地方，而不是这门语言所需要的 4.16 奈特，因为低于这个
# 下限时信息不花任何代价，而且彼此相距更远的编码更容易从带噪声的抽样中解码出来；
# 另外，重构项在训练期间永远不会降到 0，因为每个训练用的编码*都是*从 `q(z|x)` 中带噪声地
# 抽取的，而且解码器看到的输入词中有一些被替换成了 UNK。
#
# ## 练习
#
# 1. （计分：13.1 `reparameterize`，13.2 `gaussian_kl`，13.3 `gaussian_kl_backward`，
#    13.4 `kl_weight`。）`python -m minigen grade . --public-only` 运行公开检查。
# 2. 哪种补救办法最要紧？每次只用三种（退火、词丢弃、自由比特）中的一种来训练，
#    比较最终的 KL 和被重构出来的句子数。
# 3. 给这门语言加一个中间的位置（`subject verb object`，例如 "the king loves the
#    crown"），然后重新训练。模型最后学会的是哪个位置？为什么一个从左往右读、只保留最后一个
#    隐状态的编码器，可能会让那个位置变得难学？
# 4. 令 `free_bits = 0`，使用你的调度，改变 `warmup_steps`。是否存在一个足够长的预热，
#    单靠它就能防止坍塌？画出 KL 曲线。
