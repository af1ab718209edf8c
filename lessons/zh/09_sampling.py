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
# # 第 9 课：采样：贪心解码、随机采样、温度、top-k、top-p 与惩罚
#
# 第 5 课和第 8 课训练了语言模型，并让 `model.generate` 用它们来写作，但没有深入
# 其内部。本课就来把它打开。本课以第 3 课的 softmax、熵和温度为基础。
#
# 训练好的语言模型在每一步都给出下一个词元的一个分布：对 logits（未归一化的对数
# 概率）做 softmax，`p = softmax(logits)`，共 `V` 个数。它并不告诉我们该写哪个词元。
# 这个选择一个词元接一个词元地重复下去，就是**解码**；它对文本的影响不亚于换一个
# 更大的模型：同一个网络，取决于我们怎样挑选，可能陷入无尽的循环、胡言乱语，或者
# 写出像模像样的伪莎士比亚。
#
# 这里的每个解码器都有同样的结构（`minigen.sample.generate` 和 Hugging Face 的
# `generate` 都是这样做的）：
#
#     logits, state = model(prompt)                 # (B, T, V)：读入提示
#     repeat:
#         scores = logits[:, -1, :]                 # (B, V)：最后一个位置
#         scores = processors(ids, scores)          # 惩罚、温度、top-k、top-p……
#         next = pick(scores)                       # argmax（贪心）或从 softmax(scores) 中抽取
#         ids = concat(ids, next)                   # (B, T+1)
#         logits, state = model(next, state)        # (B, 1, V)：再走一步
#
# **处理器**（processor）是一些小函数 `scores -> new scores`，它们从不改变模型。
# 过滤器通过把某个词元的分数设为 `-inf` 来去掉它，这样 softmax 给它的概率恰好为 0。
# 你将编写其中三个：top-k（练习 9.1）、top-p（9.2）和重复惩罚（9.3），并把它们与
# minigen 的 `TopKLogitsWarper`、`TopPLogitsWarper` 和
# `RepetitionPenaltyLogitsProcessor`（仿照 Hugging Face 的同名类构建）进行对照检验。
#
# 形状：`B` = 批量大小（相互独立的序列），`T` = 到目前为止的词元数，`V` = 词表大小。
# （在关于温度的几节中，`T` 表示温度，与第 3 课相同。）
#
# 可以把它当作脚本运行（`python 09_sampling.py`），也可以用 jupytext 把它作为笔记本打开。
# `MINIGEN_QUICK=1`（或 `--quick`）只把模型训练几秒钟，所以它写出的文本比较粗糙；
# 不加这个选项，样本的可读性会好得多。

# %%
import os
import re
import sys

import minigen  # 放在最前面：minigen 会设置 OpenBLAS 的线程数，这必须在加载 NumPy 之前完成
import numpy as np

from minigen import sample
from minigen.data import CharTokenizer, shakespeare, train_val_split
from minigen.kernels.softmax import softmax_forward
from minigen.models import RNNLanguageModel
from minigen import rl
from minigen.sample import (
    EpsilonLogitsWarper, EtaLogitsWarper, FrequencyPenaltyLogitsProcessor, LogitsProcessor, MinPLogitsWarper,
    PresencePenaltyLogitsProcessor, RepetitionPenaltyLogitsProcessor, TopKLogitsWarper, TopPLogitsWarper,
)
from minigen.train import Trainer

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)
np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
# ## 1. 一个用来解码的模型
#
# 一个在莎士比亚文本上简单训练过的字符级长短期记忆网络（第 5 课）。对于任何返回
# `(logits, state)` 的模型，解码的方式都一样，包括第 8 课的 GPT。

# %%
text = shakespeare()[: 200_000 if QUICK else 2_000_000]
tokenizer = CharTokenizer.train(text)
V = tokenizer.vocab_size
train_ids, val_ids = train_val_split(tokenizer.encode(text), 0.05)
minigen.manual_seed(0)
model = RNNLanguageModel(V, embed_dim=32, hidden_size=64 if QUICK else 128, num_layers=1)
optimizer = minigen.optim.Adam(model.parameters(), lr=1e-2 if QUICK else 4e-3)
trainer = Trainer(model, optimizer, train_ids, val_ids, tokenizer=tokenizer, batch_size=32,
                  seq_len=32 if QUICK else 64, max_steps=120 if QUICK else 800, warmup_steps=10,
                  eval_interval=120 if QUICK else 400, eval_tokens=4096, progress=not QUICK)
trainer.fit()
print(f"V = {V} characters; validation loss {trainer.history[-1]['val_loss']:.3f} nats "
      f"(a uniform guess would be ln V = {np.log(V):.3f})")

prompt_text = "ROMEO:\n"
prompt = np.array([tokenizer.encode(prompt_text)])         # (1, P)


def show(ids, width=None):
    """打印 ``ids`` (B, T) 每一行解码后的文本，换行符显示为 ' / '。"""
    for row in ids:
        print("  " + tokenizer.decode(row.tolist()).replace("\n", " / ")[:width])


# %% [markdown]
# ## 2. 贪心解码及其循环
#
# 最简单的规则：总是选取最可能的词元，`argmax(scores)`。这是 `generate` 的默认做法
# （`do_sample=False`），与 Hugging Face 相同。它是确定性的，而这正是它的问题所在：
# 下一个词元是模型状态的一个固定函数，所以一旦状态回到与先前相近的地方，文本就会
# 重复，而每一次重复又会让状态*更*像上一次。小模型的贪心解码几乎总是以一个循环告终。

# %%
greedy = model.generate(prompt, max_new_tokens=150)         # do_sample=False：每一步都取 argmax
show(greedy)


def cycle_length(s, min_repeats=3):
    """最短的周期 p，使得 s 的末尾是同样的 p 个字符重复至少 min_repeats 次。"""
    for p in range(1, len(s) // min_repeats + 1):
        tail = s[-p * min_repeats:]
        if tail == tail[-p:] * min_repeats:
            return p
    return None


greedy_text = tokenizer.decode(greedy[0, prompt.shape[1]:].tolist())
print("greedy output ends in a cycle of length", cycle_length(greedy_text))

# %% [markdown]
# ### 观察内部：每一步概率最高的词元与熵
#
# `generate(..., return_dict_in_generate=True)` 返回一个 `GenerateOutput`，其
# `steps` 列出了解码器在每一步看到的内容：最可能的 `report_top_k` 个词元及其概率
# （经过处理器之后），以及该分布以奈特（nat）为单位的熵（第 3 课）。熵低说明模型
# 很有把握（`th` 之后是 `e`）；熵高说明许多后续都说得通（一个单词的首字母），
# 而贪心解码恰恰在这些步骤上丢掉了所有其他选择。

# %%
out = model.generate(prompt, max_new_tokens=12, return_dict_in_generate=True, report_top_k=4)
print("step  picked  entropy  top-4 (probability)")
for t, step in enumerate(out.steps):
    picked = tokenizer.decode([int(out.sequences[0, prompt.shape[1] + t])])
    top = "  ".join(f"{tokenizer.decode([int(i)])!r} {q:.2f}" for i, q in zip(step["top_ids"][0], step["top_probs"][0]))
    print(f"{t:4d}  {picked!r:6s}  {step['entropy'][0]:7.3f}  {top}")

# %% [markdown]
# ## 3. 采样
#
# 不取 argmax，而是从 `softmax(scores)` 中随机抽取下一个词元（`do_sample=True`；
# 也称为祖先采样或多项式采样）。每个字符串都有机会出现，机会与它在模型下的概率
# 成正比，所以样本展示了模型真正学到的东西，包括它的错误。minigen 的
# `sample.sample_next` 用逆 CDF 的方法抽取：每行一个均匀随机数 `u`，乘以总概率
# 质量，取累积和第一次超过它的下标。这些均匀随机数来自一个以 `seed` 为种子的
# NumPy 生成器，所以同一个种子每次（在每个后端上）都给出同样的文本。
#
# 有一个陷阱：Hugging Face 的 `generate`（以及 minigen 的）默认 `top_k=50`。
# 对于一个约 60 个字符的词表，这会悄悄去掉最不可能的十几个字符；`top_k=0` 可以关闭
# 它，得到纯粹的采样。

# %%
samples = model.generate(prompt, max_new_tokens=120, do_sample=True, top_k=0, seed=0, num_return_sequences=3)
show(samples)
again = model.generate(prompt, max_new_tokens=120, do_sample=True, top_k=0, seed=0, num_return_sequences=3)
print("same seed, same text:", np.array_equal(samples, again))
scores = np.array([[2.0, 1.0, 0.0, -np.inf]])               # (1, 4)：最后一个词元已被过滤掉
draws = [int(sample.sample_next(scores, rng=np.random.default_rng(s))[0]) for s in range(2000)]
print("sample_next frequencies:", np.bincount(draws, minlength=4) / 2000,
      " softmax:", np.exp(scores[0] - 2) / np.exp(scores[0] - 2).sum())

# %% [markdown]
# ## 4. 温度
#
# 第 3 课讲过：`softmax(scores / T)` 在 `T < 1` 时更尖锐（趋向贪心），在 `T > 1` 时
# 更平坦（趋向均匀）。它是在正确性与多样性之间进行权衡的那个旋钮。在 `generate`
# 中，`temperature=0` 表示贪心解码。

# %%
for T in [0.5, 0.8, 1.3]:
    print(f"T = {T}:")
    show(model.generate(prompt, max_new_tokens=120, do_sample=True, temperature=T, top_k=0, seed=1))

# %% [markdown]
# ## 5. top-k：只保留最可能的 k 个词元
#
# 纯粹的采样有一条长尾：每个不太可能的字符只有很少的概率质量，但它们加在一起就
# 很多了，所以每隔几步，采样器就会选中一个连模型自己都认为罕见的字符，而循环模型
# 随后又以它自己的这个错误为条件继续生成。沿着一个纯采样的样本来测量一下：

# %%
out = model.generate(prompt, max_new_tokens=120, do_sample=True, top_k=0, seed=0, return_dict_in_generate=True)
probs_per_step = np.concatenate([softmax_forward(s)[0] for s in out.scores])     # (steps, V)
tail = 1 - np.sort(probs_per_step, axis=-1)[:, -5:].sum(axis=-1)     # (steps,)：前 5 名之外的概率质量
print(f"mass outside the 5 likeliest characters: mean {tail.mean():.2f}, max {tail.max():.2f} over {len(tail)} steps")

# %% [markdown]
# **top-k 采样**（Fan et al., 2018）把这条尾巴截掉：保留每行最高的 `k` 个分数，把
# 其余的设为 `-inf`；softmax 会在留下的词元上重新归一化。
#
# 实际的实现并不排序再分散写回：它们找出每行第 k 大的分数，再把每个分数与它比较。
# 由此得到一个值得指出的结论：**与第 k 大的分数相等的分数都会被保留**，所以一行
# 可能保留多于 `k` 个词元（Hugging Face 和 minigen 都是这样做的）。
#
# ## 练习 9.1：top-k
#
# 对一个一维的 `(V,)` 或二维的 `(B, V)` 数组，返回一个*新*数组（绝不写入
# `logits`）。`k >= V` 时保留全部。


# %%
def top_k_filter(logits, k):
    """保留每行最大的 k 个 logits；小于该行第 k 大值的 logit 都变为 -inf。

    logits：(V,) 或 (B, V) 的浮点数组；k：一个 >= 1 的整数。返回一个形状和 dtype
    都相同的新数组：保留的元素（最大的 k 个，以及与第 k 大值相等的元素）保持不变，
    其余为 -inf。k >= V 时保留所有元素。``logits`` 本身不被修改。
    """
    scores = np.atleast_2d(logits)                          # (B, V)；它是 logits 的视图：不要写入
    V = scores.shape[-1]
    ### BEGIN SOLUTION
    k = min(k, V)
    kth = np.sort(scores, axis=-1)[:, V - k:V - k + 1]      # (B, 1)：每行第 k 大的值
    out = np.where(scores < kth, -np.inf, scores)           # (B, V)：一个新数组
    ### END SOLUTION
    return out.reshape(np.shape(logits))


z = np.array([1.0, 3.0, 2.0, 0.0, 2.0])
print("top_k_filter(z, 2):", top_k_filter(z, 2), "(the tie at 2.0 keeps three)")
Z = rng.standard_normal((4, V))
ids_so_far = rng.integers(0, V, size=(4, 5))               # (B, T)：变换器（warper）不用它，惩罚会用到它
for k in [1, 5, V, V + 10]:
    mine, ref = top_k_filter(Z, k), TopKLogitsWarper(k)(ids_so_far, Z)
    print(f"k = {k:3d}: same as TopKLogitsWarper: {np.array_equal(mine, ref)}, "
          f"kept per row {np.isfinite(mine).sum(axis=1)}")

# %% [markdown]
# 处理器就是任何带有 `__call__(input_ids, scores)` 的对象，所以你的函数可以通过
# `logits_processor=[...]` 直接接入 `generate`。在同一个种子下，它必须生成与内置的
# `top_k=5` 完全相同的文本：

# %%
class MyTopK(LogitsProcessor):
    """把练习 9.1 包装成一个 logits 处理器。"""

    def __init__(self, k):
        self.k = k

    def __call__(self, input_ids, scores):
        return top_k_filter(scores, self.k)


builtin = model.generate(prompt, max_new_tokens=120, do_sample=True, top_k=5, seed=2)
yours = model.generate(prompt, max_new_tokens=120, do_sample=True, top_k=0, seed=2, logits_processor=[MyTopK(5)])
show(yours)
print("identical to top_k=5:", np.array_equal(builtin, yours))

# %% [markdown]
# ## 6. top-p（核）采样：保留概率质量达到 p 的最小集合
#
# 固定的 `k` 在两个方向上都会出错：当模型很有把握时（`th` 之后），即使 `k = 5` 也会
# 保留四个糟糕的选项；当模型没有把握时（一个单词的首字母），`k = 5` 可能会截掉好的
# 选项。**top-p 采样**（Holtzman et al., 2019, "The curious case of neural text
# degeneration"）能够自适应：把词元按概率排序，保留概率之和至少为 `p` 的最短前缀：
#
#     降序排列：  p_(1) >= p_(2) >= ... >= p_(V)
#     保留词元 (j)  当且仅当  p_(1) + ... + p_(j-1) < p      （排在它*之上*的概率质量尚未达到 p）
#
# 最可能的词元总会被保留（它之上什么也没有）。与 top-k 一样，这个过滤器是对 logit
# 的一个阈值：即保留下来的最小 logit；所有与它相等的词元也都保留。`p = 1` 会保留
# 所有概率不为 0 的词元。
#
# 算例：概率为 `[0.5, 0.3, 0.15, 0.05]`，`p = 0.7`。每个词元之上的概率质量为
# `0, 0.5, 0.8, 0.95`，所以保留前两个（0.5 + 0.3 = 0.8 >= 0.7）。
#
# ## 练习 9.2：top-p
#
# 自己计算 softmax（要数值稳定，见第 3 课）。规则与 9.1 相同：`(V,)` 或
# `(B, V)`，返回新数组，被去掉的词元为 `-inf`。


# %%
def top_p_filter(logits, p):
    """核过滤器：保留概率之和 >= p 的、由最可能的词元组成的最小集合。

    logits：(V,) 或 (B, V) 的浮点数组；p：(0, 1] 中的一个浮点数。把该行的概率
    softmax(logits) 按降序排列，若排在某个词元之上的所有词元的总概率 < p，则保留
    该词元（所以最可能的词元总会被保留，而 p = 1 保留所有概率不为零的词元）。与
    保留下来的最小 logit 相等的词元也会被保留。返回一个形状相同的新数组：保留的
    元素保持不变，其余为 -inf。``logits`` 本身不被修改。
    """
    scores = np.atleast_2d(logits)                          # (B, V)；它是 logits 的视图：不要写入
    ### BEGIN SOLUTION
    sorted_scores = -np.sort(-scores, axis=-1)              # (B, V)，最大的在前
    e = np.exp(sorted_scores - sorted_scores[:, :1])        # 每行的最大值排在第一位：一个数值稳定的 softmax
    probs = e / np.sum(e, axis=-1, keepdims=True)           # (B, V)，降序
    above = np.cumsum(probs, axis=-1)[:, :-1]               # (B, V-1)：排在下一个词元之上的词元的概率质量
    mass_above = np.concatenate([np.zeros_like(probs[:, :1]), above], axis=-1)   # (B, V)；第一个为 0
    keep = mass_above < p                                   # (B, V)，一个前缀：第一个词元处为 True
    threshold = np.min(np.where(keep, sorted_scores, np.inf), axis=-1, keepdims=True)   # (B, 1)
    out = np.where(scores < threshold, -np.inf, scores)
    ### END SOLUTION
    return out.reshape(np.shape(logits))


probs = np.array([0.5, 0.3, 0.15, 0.05])
print("top_p_filter(log p, 0.7) keeps:", np.isfinite(top_p_filter(np.log(probs), 0.7)))
for p in [0.01, 0.5, 0.9, 1.0]:
    mine, ref = top_p_filter(Z, p), TopPLogitsWarper(p)(ids_so_far, Z)
    print(f"p = {p:4}: same as TopPLogitsWarper: {np.array_equal(mine, ref)}, "
          f"kept per row {np.isfinite(mine).sum(axis=1)}")

# %% [markdown]
# 核确实会自适应。每一步处理后的分数保存在 `GenerateOutput.scores` 中；数一数一个
# 样本的每一步中经过 top-p 后留下的词元数：

# %%
out = model.generate(prompt, max_new_tokens=120, do_sample=True, top_k=0, top_p=0.9, seed=3,
                     return_dict_in_generate=True)
kept = np.array([int(np.isfinite(s[0]).sum()) for s in out.scores])
show(out.sequences)
print(f"top_p = 0.9 kept between {kept.min()} and {kept.max()} of {V} characters per step (mean {kept.mean():.1f})")
print("first 30 steps:", kept[:30])

# %% [markdown]
# **min-p 采样**（Nguyen et al., 2024）是目标相同的第三种截断：保留概率至少为最可能
# 词元概率的 `min_p` 倍的词元，即 `p_i >= min_p * max_j p_j`。有把握的一步只保留
# 少数词元，没把握的一步则保留许多；而且与 top-p 不同，它不需要排序。minigen 中的
# 实现是 `MinPLogitsWarper`（`generate(..., min_p=0.1)`）。
#
# 下图展示两步的分布，以及每个过滤器保留了什么（彩色的柱子）。在 "What, sh" 之后，
# 模型相当确定接下来是一个元音；在 "What, " 之后，一个新单词开始了，许多字母都说得
# 通。top-k 在两种情况下都保留 5 个；top-p 和 min-p 则随分布的形状而变。

# %%
contexts = ["ROMEO:\nWhat, sh", "ROMEO:\nWhat, "]
filtered = {}                                               # (上下文, 过滤器名) -> (V,) 过滤后的分数
step_probs = {}                                             # 上下文 -> (V,) 概率
for context in contexts:
    logits, _ = model(np.array([tokenizer.encode(context)]))
    step_scores = logits.data[:, -1, :].astype(np.float64)  # (1, V)：下一个字符的分数
    e = np.exp(step_scores[0] - step_scores.max())
    step_probs[context] = e / e.sum()
    filtered[context, "top_k = 5"] = top_k_filter(step_scores, 5)[0]
    filtered[context, "top_p = 0.9"] = top_p_filter(step_scores, 0.9)[0]
    filtered[context, "min_p = 0.1"] = MinPLogitsWarper(0.1)(ids_so_far[:1], step_scores)[0]
for (context, name), f in filtered.items():
    order = np.argsort(-step_probs[context])
    print(f"after {context[7:]!r:10s} {name}: keeps {np.isfinite(f).sum():2d}:",
          repr(tokenizer.decode([int(i) for i in order if np.isfinite(f[i])])))

try:
    import matplotlib.pyplot as plt
except ImportError:                     # 图是可选的：pip install matplotlib
    plt = None
if plt is not None:
    fig, axes = plt.subplots(2, 3, figsize=(12, 5), sharey="row")
    for ax, ((context, name), f) in zip(axes.ravel(), filtered.items()):
        order = np.argsort(-step_probs[context])[:20]       # 最可能的 20 个字符
        kept_mask = np.isfinite(f[order])
        ax.bar(np.arange(20), step_probs[context][order], color=np.where(kept_mask, "C0", "lightgray"))
        ax.set_xticks(np.arange(20), [repr(c)[1:-1] for c in tokenizer.decode(order.tolist())])
        ax.set_title(f"after {context[7:]!r}: {name}, {np.isfinite(f).sum()} kept", fontsize=10)
    axes[0, 0].set_ylabel("p(next character)")
    axes[1, 0].set_ylabel("p(next character)")
    plt.tight_layout()
    plt.show()

# %% [markdown]
# **epsilon 采样和 eta 采样**（Hewitt, Manning and Liang, 2022, "Truncation Sampling
# as Language Model Desmoothing"）从另一个角度看待尾部：用最大似然训练的模型会给
# 每个词元都分一点概率，这是一种*平滑*，没有哪个真实的下一个词元当得起这份概率；
# 所以无论分布是什么形状，尾部大多是噪声。
#
# - **epsilon 采样**去掉所有 `p < epsilon` 的词元，这是一个绝对的截断阈值
#   （`generate(..., epsilon_cutoff=3e-4)`，`EpsilonLogitsWarper`）；
# - **eta 采样**让截断阈值取决于这一步的熵 `H`：去掉满足
#   `p < min(eta, sqrt(eta) * exp(-H))` 的词元。有把握的一步（`H` 小）的阈值最高
#   可达 `eta`；没把握的一步（`H` 大）的阈值更低，从而保留宽分布中更多的词元
#   （`eta_cutoff`，`EtaLogitsWarper`）。
#
# 两者都总会保留最可能的词元。下面是它们在上面那两步上的效果，并附上这两步的熵：

# %%
for context in contexts:
    p_step = step_probs[context]
    H = -np.sum(p_step * np.log(p_step))
    scores_step = np.log(p_step)[None, :]
    eps = EpsilonLogitsWarper(3e-3)(ids_so_far[:1], scores_step)[0]
    eta = EtaLogitsWarper(3e-3)(ids_so_far[:1], scores_step)[0]
    print(f"after {context[7:]!r:10s} entropy {H:.2f} nats: epsilon = 3e-3 keeps {np.isfinite(eps).sum():2d}, "
          f"eta = 3e-3 keeps {np.isfinite(eta).sum():2d} (its cut-off {min(3e-3, np.sqrt(3e-3) * np.exp(-H)):.1e})")
show(model.generate(prompt, max_new_tokens=150, do_sample=True, top_k=0, eta_cutoff=3e-3, seed=3), width=160)

# %% [markdown]
# ## 7. 惩罚：抑制重复
#
# 上面的过滤器只看当前的分布。**惩罚**则查看到目前为止生成的词元（`input_ids`），
# 并降低已经用过的词元的分数。它们在每种模式下都起作用，包括贪心解码，并且排在
# 处理链的最前面（在温度和过滤器之前）。
#
# - **重复惩罚**（CTRL，Keskar et al., 2019；即 Hugging Face 的
#   `repetition_penalty`）：对于 `input_ids` 中出现过的每个词元（无论出现一次还是
#   多次，提示也算在内），若其分数为正，则除以 `penalty`；若为负，则乘以 `penalty`。
#   当 `penalty > 1` 时，两者都会使该词元的可能性变小。（用除法处理负分数反而会
#   *抬高*它：所以要分两种情况。）
# - **频率惩罚 / 存在惩罚**（OpenAI 的 API）：减去 `penalty * count(token)`，或者
#   对任何出现过的词元只减去一次 `penalty`。
# - **禁止重复 n 元组**（`no_repeat_ngram_size=n`）：禁止任何会补全一个已出现过的
#   n 元组的词元：这是一条硬性规则，不涉及概率。
#
# ## 练习 9.3：重复惩罚
#
# `previous_ids` 保存到目前为止的 id：对一维的 `logits`，其形状为 `(T,)`；对
# `(B, V)` 的 `logits`，其形状为 `(B, T)`；每个 id 都在 `[0, V)` 中。出现多次的
# 词元只受一次惩罚。返回一个新数组。


# %%
def repetition_penalty(logits, previous_ids, penalty):
    """CTRL 的重复惩罚，作用于 previous_ids 中出现过的每个词元。

    logits：(V,)，配合 previous_ids (T,)；或 (B, V)，配合 previous_ids (B, T)（整数
    id，位于 [0, V) 中）；penalty：一个 > 0 的浮点数。对在本行中至少出现过一次的每个
    词元：若 score > 0，则为 score / penalty，否则为 score * penalty；未出现过的词元
    保持原分数。返回一个形状相同的新数组；``logits`` 不被修改。
    """
    scores = np.atleast_2d(logits)                          # (B, V)；它是 logits 的视图：不要写入
    ids = np.atleast_2d(previous_ids)                       # (B, T)
    B, V = scores.shape
    ### BEGIN SOLUTION
    seen = np.zeros((B, V), dtype=bool)
    rows = np.repeat(np.arange(B), ids.shape[1])            # (B*T,)：每个 id 所在的行
    seen[rows, ids.reshape(-1)] = True                      # (B, V)：出现过的词元处为 True
    penalised = np.where(scores > 0, scores / penalty, scores * penalty)
    out = np.where(seen, penalised, scores)
    ### END SOLUTION
    return out.reshape(np.shape(logits))


z = np.array([1.0, 2.0, -2.0, 0.5])
print("repetition_penalty(z, [1, 2, 2], 2.0):", repetition_penalty(z, np.array([1, 2, 2]), 2.0))
mine = repetition_penalty(Z, ids_so_far, 1.3)
ref = RepetitionPenaltyLogitsProcessor(1.3)(ids_so_far, Z)
print("same as RepetitionPenaltyLogitsProcessor:", np.allclose(mine, ref))

# %% [markdown]
# 现在把这些惩罚用在第 2 节的贪心循环上。对于*字符*模型，重复惩罚是一件钝器：写过
# 几个单词之后，每个常见字母都已出现过，于是几乎每个分数都受到惩罚，排序几乎不变。
# （它是为单词和子词词表设计的，在那里“出现过”才有意义。）禁止重复 n 元组确实
# 打破了循环，但靠的是强制：文本必须避开它已经写过的每一个 4 字符序列，包括真实
# 单词所需要的那些。

# %%
for name, kwargs in [("greedy", {}), ("greedy + repetition_penalty=1.3", dict(repetition_penalty=1.3)),
                     ("greedy + no_repeat_ngram_size=4", dict(no_repeat_ngram_size=4))]:
    ids = model.generate(prompt, max_new_tokens=150, **kwargs)
    print(f"{name}: cycle length {cycle_length(tokenizer.decode(ids[0, prompt.shape[1]:].tolist()))}")
    show(ids, width=160)
print("sampling + frequency penalty 0.3 and presence penalty 0.3:")
show(model.generate(prompt, max_new_tokens=150, do_sample=True, top_k=0, temperature=0.7, seed=4,
                    logits_processor=[FrequencyPenaltyLogitsProcessor(0.3), PresencePenaltyLogitsProcessor(0.3)]),
     width=160)

# %% [markdown]
# ## 8. 用第二个提示来引导：无分类器引导
#
# 提示给模型加上了*条件*：`log p(y | prompt)`。**无分类器引导**（classifier-free
# guidance；Ho and Salimans, 2022，用于图像；Sanchez et al., 2023, "Stay on Topic with
# Classifier-Free Guidance"，用于语言模型）会夸大这个条件的作用。每一步运行模型两次，
# 一次在提示上，一次在一个“无条件”的上下文上（一个负向提示，或者几乎什么都没有），
# 然后让对数概率朝远离后者的方向移动：
#
#     scores = log p(y_t | uncond) + gamma * (log p(y_t | prompt) - log p(y_t | uncond))
#
# `gamma = 1` 就是普通的解码；`gamma > 1` 偏向那些因提示而变得*比原本更*可能的
# 词元；配合负向提示，它会引导文本远离那个提示会写出的内容。代价是每个词元多一次
# 前向传播。`generate(..., guidance_scale=gamma, negative_prompt_ids=...)` 借助
# `UnbatchedClassifierFreeGuidanceLogitsProcessor` 来实现它。
#
# 下面来度量：由 "ROMEO:" 续写、并被引导远离 "JULIET:" 的文本。对每个续写，我们计算
# 提示比负向提示让它的可能性高出多少，按每个字符计：`log p(y | ROMEO:) - log p(y | JULIET:)`，
# 在 16 个长为 20 个字符的样本上取平均（字符模型对说话人的记忆在一两行之内就会消退）。

# %%
negative = np.array([tokenizer.encode("JULIET:\n")])
P_neg = negative.shape[1]
for gamma in (1.0, 3.0, 6.0):
    ids = model.generate(np.repeat(prompt, 16, axis=0), max_new_tokens=20, do_sample=True, top_k=0, seed=6,
                         guidance_scale=gamma, negative_prompt_ids=negative)
    continuation = ids[:, prompt.shape[1]:]
    with minigen.no_grad():
        on_prompt = rl.sequence_log_probs(model, ids, prompt.shape[1]).numpy()
        on_negative = rl.sequence_log_probs(model, np.concatenate([np.repeat(negative, 16, axis=0), continuation],
                                                                    axis=1), P_neg).numpy()
    print(f"gamma = {gamma}: log p(y | ROMEO:) - log p(y | JULIET:) = {np.mean(on_prompt - on_negative):+.4f} "
          f"nats per character")
    show(ids[:2])

# %% [markdown]
# 差距随 `gamma` 增大：被引导的样本正是那些 "ROMEO:" 能够解释而 "JULIET:" 不能
# 解释的文本。`gamma` 过大还会把文本推离模型惯常的路径（留意 6 时的样本）。在小小的
# 字符模型上，它对文本的影响并不明显；在大模型上，引导是让模型紧扣提示的一种代价
# 很低的办法。
#
# ## 9. 权衡的度量
#
# 每个温度能换来多少多样性，代价又是什么？在长度相同的样本上，用两个计算代价很低的
# 指标来衡量：
#
# - **distinct-4**：不同的 4 字符 n 元组的个数除以 n 元组的总数（Li et al., 2016）。
#   1 表示没有任何 4 元组重复；贪心解码的循环得分接近 0。
# - **真实单词**：生成的单词中在训练文本里出现过的比例。这是“质量”的一个替代指标，
#   字符级模型是可能在这一项上失分的。
#
# 低温度会自我重复，高温度会编造单词。加上 `top_p=0.9` 后的同样两条曲线说明了核采样
# 为什么受欢迎：它去掉了产生胡话的那条尾巴，所以在相同温度下，真实单词的比例更高
# （多样性则略低一些），而较高的温度也仍然可用。完整运行之后，这种收益很明显；
# 快速模式下只简单训练过的模型收益较小。

# %%
known_words = set(re.findall(r"[a-z]+", text.lower()))


def distinct_n(s, n=4):
    grams = [s[i:i + n] for i in range(len(s) - n + 1)]
    return len(set(grams)) / max(len(grams), 1)


def real_word_fraction(s):
    words = re.findall(r"[a-z]+", s.lower())
    return np.mean([w in known_words for w in words]) if words else 0.0


sweep = [0.2, 0.5, 0.8, 1.1, 1.5] if QUICK else [0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 1.0, 1.2, 1.5, 2.0]
n_rows, length = (4, 150) if QUICK else (8, 300)
curves = {}
for label, extra in [("pure sampling", dict(top_k=0)), ("top_p = 0.9", dict(top_k=0, top_p=0.9))]:
    rows = []
    for T in sweep:
        ids = model.generate(np.repeat(prompt, n_rows, axis=0), max_new_tokens=length, do_sample=True,
                             temperature=T, seed=5, **extra)
        texts = [tokenizer.decode(row[prompt.shape[1]:].tolist()) for row in ids]
        rows.append((np.mean([distinct_n(s) for s in texts]), np.mean([real_word_fraction(s) for s in texts])))
    curves[label] = np.array(rows)                          # (len(sweep), 2)
    print(label)
    for T, (d4, real) in zip(sweep, curves[label]):
        print(f"  T = {T:4}: distinct-4 {d4:.3f}, real words {real:.3f}")

if plt is not None:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.2))
    for label, c in curves.items():
        ax1.plot(sweep, c[:, 0], "o-", label=label)
        ax2.plot(sweep, c[:, 1], "o-", label=label)
    ax1.set_xlabel("temperature")
    ax1.set_ylabel("distinct-4 (variety)")
    ax2.set_xlabel("temperature")
    ax2.set_ylabel("fraction of real words")
    ax1.legend()
    ax1.set_title("Variety rises with T ...")
    ax2.set_title("... and correctness falls")
    plt.tight_layout()
    plt.show()

# %% [markdown]
# ## 练习
#
# 1. （计分练习：上面的 9.1 到 9.3。）`python -m minigen grade . --public-only` 会对
#    你的函数运行公开检查。
# 2. 仿照上面的 `MyTopK`，围绕你的函数编写 `MyTopP` 和 `MyRepetitionPenalty` 两个
#    处理器，并检验在同一个种子下，`generate` 给出的文本与 `top_p=0.9` 和
#    `repetition_penalty=1.3` 相同。（注意顺序：minigen 先应用惩罚，然后是你的
#    `logits_processor` 列表，再然后是温度、top-k 和 top-p；另外要传入 `top_k=0`，
#    否则默认的 `top_k=50` 也会生效。）
# 3. 在温度*之后*应用 top-p 与在温度之前应用并不相同。用
#    `temperature=1.5, top_p=0.9` 采样，并用 `LogitsProcessorList` 手工构建这两种
#    顺序。哪一种保留的词元更多？为什么？
# 4. 把模型训练得更久一些（不用快速模式运行），重新画出权衡图。最佳温度移动了吗？
#    再把 min-p（`min_p=0.1`）和 eta 采样（`eta_cutoff=3e-4`）各作为一条曲线加上。
# 5. 典型采样（`typical_p`，`TypicalLogitsWarper`）保留那些惊奇度（surprisal）
#    `-log p` 最接近熵的词元，并且可能丢掉最可能的词元。利用
#    `return_dict_in_generate=True` 找出它这样做的一步。
