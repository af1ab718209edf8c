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
# # 第 10 课：束搜索，附一幅搜索树的图
#
# 第 9 课每次选择一个词元，或取 argmax，或随机抽取，而且从不回头。
# 本课则在整个序列上进行搜索。
#
# 语言模型给出在前面的词元已知时下一个词元的概率
# `p(y_t | y_<t)`。整个序列的概率是各步概率之积，
# 所以它的对数概率是一个和：
#
#     log p(y_1 .. y_T) = sum_{t=1..T} log p(y_t | y_<t)
#
# 采样是从这个分布中抽取。有时我们想要的恰恰相反：*最可能*的序列（一段译文、
# 一个日期、一条图片说明），也就是在所有序列上取 argmax。本课讨论的就是如何
# 搜索它：
#
# 1. **贪心解码**在每一步都取 argmax。它很快，但目光短浅：
#    一个眼下看来最好的词元，可能通向一个每种选择都很差的续写。
# 2. **穷举搜索**为每一个序列打分。它是精确的，但无法实现：
#    一共有 `V^T` 个序列（当 `V = 50,000`、`T = 20` 时，约为 10^94 个）。
# 3. **束搜索**介于二者之间：它按对数概率之和保留 `K = num_beams` 个最好的
#    部分序列（称为“束”，beam），用每一个词元扩展每一个束，再从 `K * V` 个候选中
#    保留最好的 `K` 个。`K = 1` 就是贪心解码；`K` 大到与序列的个数相当时，
#    就是穷举搜索。
#
# 接下来是让它在实践中行之有效的细节：怎样处理已经结束（`<eos>`）的序列，为什么
# 较长的序列需要**长度惩罚**，何时停止（**提前停止**，early stopping），以及如何
# 返回多个序列（`num_return_sequences`）。
#
# 你将在一个玩具“模型”（一个把前缀映射为对数概率向量的普通函数）上编写搜索，
# 把它与穷举搜索和贪心解码对照检验，与 minigen 的批量版本
# `minigen.sample.beam_search` 相比较，并画出搜索树。形状：`B` = 提示的个数，
# `K` = 束的个数，`V` = 词表大小，`T` = 新词元的个数。
#
# 可以把它当作脚本运行（`python 10_beam_search.py`），也可以用 jupytext 把它作为
# 笔记本打开。`MINIGEN_QUICK=1`（或 `--quick`）会缩小实验的规模。

# %%
import json
import os
import sys
import tempfile
from functools import lru_cache

import minigen  # 放在最前面：minigen 会设置 OpenBLAS 的线程数，这必须在加载 NumPy 之前完成
import numpy as np

from minigen.models.generation import GenerationMixin
from minigen.sample import beam_search as minigen_beam_search
from minigen.sample import plot_beam_tree

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)
minigen.manual_seed(0)

try:
    import matplotlib.pyplot as plt
except ImportError:                     # 绘图是可选的：pip install matplotlib
    plt = None

# %% [markdown]
# ## 一个玩具模型，以及贪心解码为何目光短浅
#
# 要观察搜索本身，我们并不需要神经网络。这里的“模型”可以是任何一个函数
# `step_log_probs(prefix) -> (V,)`，它把一个前缀（由词元 id 组成的元组，以 `<bos>`
# 开头）映射为下一个词元的对数概率。我们的玩具模型有三个词元：`<eos>`（id 0）、
# `a` 和 `b`，另有一个它从不生成的 `<bos>`（id 3）：
#
#     第一个词元：        <eos> 0.10   a 0.50   b 0.40
#     在 "a" 之后：       <eos> 0.36   a 0.34   b 0.30     （a 没有好的续写）
#     在 "b" 之后：       <eos> 0.90   a 0.05   b 0.05     （b 有一个很好的续写）
#     其他任何前缀：      <eos> 0.50   a 0.25   b 0.25
#
# 贪心解码选择 `a`（0.50 > 0.40），然后是 `<eos>`：`p = 0.50 * 0.36 = 0.18`。序列
# `b <eos>` 的 `p = 0.40 * 0.90 = 0.36`，可能性是前者的两倍，但贪心解码根本不看它：
# 它只比较了第一步。

# %%
TOY_TOKENS = ["<eos>", "a", "b", "<bos>"]
EOS, BOS = 0, 3


def toy_step_log_probs(prefix):
    """玩具模型：log p(下一个词元 | prefix)，一个 (3,) 向量；prefix 以 <bos> 开头。"""
    table = {(BOS,): [0.10, 0.50, 0.40], (BOS, 1): [0.36, 0.34, 0.30], (BOS, 2): [0.90, 0.05, 0.05]}
    return np.log(np.array(table.get(tuple(prefix), [0.50, 0.25, 0.25])))


def greedy_search(step_log_probs, bos, eos, max_len):
    """每一步取 argmax，直到 <eos> 或满 max_len 个词元为止：返回 (tokens, 对数概率之和)。"""
    tokens, total = (), 0.0
    while len(tokens) < max_len and (not tokens or tokens[-1] != eos):
        logp = step_log_probs((bos,) + tokens)
        v = int(np.argmax(logp))
        tokens, total = tokens + (v,), total + float(logp[v])
    return tokens, total


def show(tokens, names=TOY_TOKENS):
    return " ".join(names[t] for t in tokens)


tokens, total = greedy_search(toy_step_log_probs, BOS, EOS, max_len=3)
print(f"greedy: {show(tokens):12s} log p = {total:.3f}   p = {np.exp(total):.3f}")

# %% [markdown]
# ## 穷举搜索
#
# 精确的答案为每一个*完整*的序列打分：以 `<eos>` 结尾的序列，或者已经达到
# `max_len` 个词元的序列。序列在它的 `<eos>` 处停止，所以当 `V = 3`、`max_len = 3`
# 时，完整序列不是 `3^3 = 27` 个，而是 `1 + 2 + 2*2*3 = 15` 个（第一个就是 `<eos>`；
# `a`/`b` 之后接 `<eos>`；两个不是 `<eos>` 的词元之后接任意词元）。下面的递归对
# 每个前缀只访问一次，模型也对每个前缀只调用一次：代价按 `V^T` 增长。


# %%
def exhaustive_search(step_log_probs, bos, eos, max_len):
    """每一个完整序列，形如 (tokens, 对数概率之和)，最好的在前（tokens 不含 <bos>）。"""
    complete = []

    def visit(tokens, total):
        logp = step_log_probs((bos,) + tokens)
        for v in range(len(logp)):
            if logp[v] == -np.inf:                       # 不可能：没有序列会走这条路
                continue
            seq, s = tokens + (v,), total + float(logp[v])
            if v == eos or len(seq) == max_len:
                complete.append((seq, s))
            else:
                visit(seq, s)
    visit((), 0.0)
    return sorted(complete, key=lambda h: -h[1])


everything = exhaustive_search(toy_step_log_probs, BOS, EOS, max_len=3)
print(f"{len(everything)} complete sequences; the best three:")
for seq, s in everything[:3]:
    print(f"   {show(seq):14s} log p = {s:.3f}   p = {np.exp(s):.3f}")
for V, T in [(3, 3), (65, 20), (50_000, 20)]:
    print(f"V = {V:6d}, T = {T:2d}: about 10^{T * np.log10(V):.0f} sequences of length T")

# %% [markdown]
# ## 束搜索
#
# 保留 `K` 个最好的部分序列（“束”）及其对数概率之和。每一步：
#
#     candidates = { (y + (v,), score(y) + log p(v | bos, y))  对每个束 y、每个词元 v }
#     按分数对候选排序，最好的在前
#     保留最好的那些：以 <eos> 结尾（或已有 max_len 个词元）的候选
#         是一个已完成的假设，离开束；其余的是新的束
#
# 同一步的所有候选长度相同，所以比较它们的对数概率之和是公平的。这是经典的变体
# （minigen 的 `Seq2Seq.beam_decode` 用的就是它，见第 11 课）：随着假设逐个完成，
# 束会**收窄**。在第 t 步只保留最好的 `K - (已完成的个数)` 个候选，所以已完成的
# 假设永远不会超过 `K` 个；当没有束剩下（或到达 `max_len`）时，搜索停止。
#
# 有两个极限情形可以告诉你它是否正确：
#
# - `K = 1` 每一步只保留一个候选：就是 argmax。**只有一个束的束搜索就是贪心解码。**
# - 如果 `K` 至少等于完整序列的个数（至多 `V^max_len` 个），那么什么都不会被丢弃。
#   **足够宽的束就是穷举搜索。**
#
# ## 练习 10.1：在玩具模型上做束搜索
#
# 编写 `beam_search(step_log_probs, bos, eos, num_beams, max_len)`。它以
# `(tokens, sum_logprob)` 的列表返回已完成的假设，最好的在前，其中 `tokens` 是
# 生成的 id 组成的元组（不含 `<bos>`；如果假设以 `<eos>` 结束，则包含 `<eos>`）。
# 规则：
#
# - 对数概率为 `-inf` 的候选是不可能的：永远不要保留它；
# - `eos=None` 表示没有结束词元：每个假设都一直运行到 `max_len`；
# - 只按分数对候选排序（Python 的 `sorted` 是稳定的，这没有问题）。


# %%
def beam_search(step_log_probs, bos, eos, num_beams, max_len):
    """束搜索：已完成的假设 [(tokens, sum_logprob), ...]，sum_logprob 最高的在前。

    step_log_probs(prefix) -> (V,) 下一个词元的对数概率，其中元组
    prefix = (bos,) + tokens。每一步用每一个词元扩展每一个束；在这些候选中保留最好的
    ``num_beams - len(finished)`` 个。被保留的候选若以 ``eos`` 结尾或已有 ``max_len``
    个词元，就是已完成的；其余的成为新的束。没有束剩下时停止。``tokens`` 不含 bos，
    包含 eos。
    """
    ### BEGIN SOLUTION
    beams = [((), 0.0)]                                  # (tokens, 对数概率之和)
    finished = []
    for t in range(1, max_len + 1):
        candidates = []
        for tokens, score in beams:
            logp = step_log_probs((bos,) + tokens)       # (V,)
            for v in range(len(logp)):
                if logp[v] > -np.inf:
                    candidates.append((tokens + (v,), score + float(logp[v])))
        candidates.sort(key=lambda c: -c[1])
        beams = []
        for tokens, score in candidates[:num_beams - len(finished)]:
            if tokens[-1] == eos or t == max_len:
                finished.append((tokens, score))
            else:
                beams.append((tokens, score))
        if not beams:
            break
    finished.sort(key=lambda h: -h[1])
    return finished
    ### END SOLUTION


for K in (1, 2, 3):
    hyps = beam_search(toy_step_log_probs, BOS, EOS, num_beams=K, max_len=3)
    print(f"K = {K}: " + ",  ".join(f"{show(seq)} ({s:.3f})" for seq, s in hyps))

# %% [markdown]
# `K = 1` 时它就是贪心解码（`a <eos>`）；`K = 2` 时它在第一步之后让 `b` 存活下来，
# 并找到了 `b <eos>`。
#
# ### 检验两个极限情形
#
# 一个随机的玩具模型：每个前缀的对数概率来自一个以该前缀本身为种子的随机数生成器，
# 所以同一个前缀总是得到同一个分布。`V = 3`、`max_len = 3`：`K = 27 = V^max_len`
# 必须逐个假设地重现穷举搜索的结果，而 `K = 1` 必须重现贪心解码的结果。


# %%
def random_model(V, seed, scale=2.0):
    """一个玩具模型，其下一个词元的对数概率是前缀的一个随机（但固定）的函数。"""
    @lru_cache(maxsize=None)
    def step_log_probs(prefix):
        z = np.random.default_rng([seed, *prefix]).standard_normal(V) * scale
        return z - np.logaddexp.reduce(z)                # log-softmax：这一行的概率之和为 1
    return lambda prefix: step_log_probs(tuple(int(i) for i in prefix))


def same_hypotheses(a, b):
    return len(a) == len(b) and all(tuple(s1) == tuple(s2) and np.isclose(x1, x2) for (s1, x1), (s2, x2) in zip(a, b))


agree_exhaustive = agree_greedy = 0
for seed in range(20):
    model = random_model(V=3, seed=seed)
    agree_exhaustive += same_hypotheses(beam_search(model, 3, 0, num_beams=27, max_len=3),
                                        exhaustive_search(model, 3, 0, max_len=3))
    agree_greedy += same_hypotheses(beam_search(model, 3, 0, num_beams=1, max_len=3),
                                    [greedy_search(model, 3, 0, max_len=3)])
print(f"K = 27 equals exhaustive search on {agree_exhaustive}/20 random models")
print(f"K = 1 equals greedy decoding   on {agree_greedy}/20 random models")

# %% [markdown]
# ## minigen 的束搜索：成批地在设备上运行
#
# `minigen.sample.beam_search(model, input_ids, num_beams=..., max_new_tokens=...)`
# 在真实的模型上以批量的方式运行同样的想法：`B` 个提示各自的 `K` 个束是一次模型
# 调用中的 `B * K` 行，它们的分数是一个 `(B, K)` 数组，候选则是一个 `(B, K * V)`
# 数组，由 `argsort` 从中挑出最好的。模型只需遵循 `minigen` 的解码协议：
# `model(ids, state) -> (logits (B, T, V), state)`，以及
# `model.reorder_state(state, index)`，它把每个存活下来的束的父节点的状态复制到
# 这个束所在的行。
#
# 只要把“状态”取为前缀本身，任何玩具函数都符合这个协议：


# %%
class PrefixModel(GenerationMixin, minigen.nn.Module):
    """把一个前缀 -> 对数概率的函数包装成 minigen 的解码器：状态就是每一行的前缀。"""

    def __init__(self, step_log_probs, vocab_size):
        super().__init__()
        self.step_log_probs, self.vocab_size = step_log_probs, vocab_size

    def forward(self, ids, state=None):
        ids = np.asarray(ids)                                             # (B, T)
        prefixes = [(state[b] if state is not None else ()) + tuple(int(i) for i in ids[b])
                    for b in range(ids.shape[0])]
        logits = np.zeros((ids.shape[0], ids.shape[1], self.vocab_size))  # (B, T, V)：只读取最后一步
        logits[:, -1] = [self.step_log_probs(p) for p in prefixes]
        return minigen.Tensor(logits), prefixes

    @staticmethod
    def reorder_state(state, index):
        return [state[int(i)] for i in index]


# %% [markdown]
# minigen 的搜索（Hugging Face 的变体，见下一节）与我们的搜索的区别在于对 `<eos>`
# 的处理。没有结束词元时，二者是同一个算法，所以它们必须返回同样的 `K` 个序列和
# 同样的对数概率之和（`length_penalty=0` 让 minigen 报告未经处理的和）：

# %%
V, L, K = 4, 5, 3
model = random_model(V, seed=7)
ours = beam_search(model, BOS, None, num_beams=K, max_len=L)
out = minigen_beam_search(PrefixModel(model, V), np.array([[BOS]]), num_beams=K, max_new_tokens=L,
                          length_penalty=0.0, num_return_sequences=K)
theirs = [(tuple(int(t) for t in row[1:]), float(s)) for row, s in zip(out.sequences, out.sequences_scores)]
for (a, sa), (b, sb) in zip(ours, theirs):
    print(f"ours {a} {sa:8.4f}   minigen {b} {sb:8.4f}")
print("same hypotheses:", same_hypotheses(ours, theirs))

# %% [markdown]
# ## 已完成的假设与提前停止（Hugging Face 的变体）
#
# 我们的搜索在有假设完成时收窄束。Hugging Face 的 `generate`（以及
# `minigen.sample.beam_search`）则始终保留 `K` 个*仍在运行*的束：每一步它取最好的
# `2K` 个候选，这样即使最好的 `K` 个全都以 `<eos>` 结尾，也还有另外 `K` 个可以继续。
# 以 `<eos>` 结尾、且排在最好的 `K` 个之中的候选，会进入一个单独的已完成假设列表
# （`BeamHypotheses`，至多 `K` 个，最差的会被挤出去）。什么时候停止？最晚在
# `max_new_tokens` 处停止（那一步最好的候选算作已完成）；在此之前，只有当 `K` 个假设
# 都已完成时才可能停止，这时由参数 `early_stopping` 决定：
#
# - `True`：一旦有 `K` 个假设完成就停止；
# - `False`（默认值）：当最好的运行中的束*如果现在结束*也无法超过最差的已完成假设时
#   停止（这是一种启发式规则：有长度惩罚时，运行得更久的束要除以更大的长度，仍然
#   可能反超）；
# - `"never"`：当它即使在最好的情况下（在 `max_new_tokens` 处结束）也无法超过时
#   停止（当 `length_penalty > 0` 时，这对分数而言是精确的，也是最慢的）。
#
# 当 `K = 1` 且使用默认设置时，两种变体都是贪心解码。对于更大的 `K`，minigen 的
# 变体在有假设完成之后仍让 `K` 个束继续搜索，因此在同样的 `K` 下可能找到比我们的
# 更好的假设，代价也更高。
#
# ## 练习 10.2：长度惩罚
#
# 每个对数概率都是负数，所以每多一个词元，分数之和就会*降低*：未经处理的和偏爱
# 短的假设（比如一个只译了两个词就停下的译文）。Hugging Face 的 `BeamHypotheses`
# 中的修正办法是除以长度的一个幂：
#
#     score = sum_logprobs / length ** length_penalty
#
# 其中 `length` 是生成的词元个数，包括 `<eos>`。`length_penalty = 0` 比较的是未经
# 处理的和；`1` 比较的是每个词元的平均对数概率；更大的值更加偏爱较长的假设（这个
# 名字是历史遗留的：它其实是对长度的奖励）。这个分数只用于在*已完成*的假设之间
# 排序；同一步的所有候选长度相同，所以在我们的变体中，它从不改变哪些束能在一步中
# 存活下来。


# %%
def length_normalized_score(sum_logprob, length, length_penalty):
    """sum_logprob / length ** length_penalty，对 NumPy 数组逐元素计算（float64）。"""
    ### BEGIN SOLUTION
    return np.asarray(sum_logprob, dtype=np.float64) / np.asarray(length, dtype=np.float64) ** length_penalty
    ### END SOLUTION


hyp_check = minigen.sample.beam.BeamHypotheses(num_beams=1, length_penalty=1.5, early_stopping=False,
                                               max_new_tokens=10)
hyp_check.add(np.array([5, 6, 7, 0]), -3.2, 4)
print("ours:", float(length_normalized_score(-3.2, 4, 1.5)), "  minigen's BeamHypotheses:", hyp_check.worst_score)

# %% [markdown]
# 哪个假设胜出取决于它。下面是一个随机玩具模型的六个已完成假设，分别在四种惩罚下
# 排名：未经处理的和选出最短的那个，即一个孤零零的 `<eos>`；惩罚越大，胜出者越长。

# %%
short_or_long = random_model(V=3, seed=1, scale=1.0)
hyps = beam_search(short_or_long, BOS, EOS, num_beams=6, max_len=6)
lengths = np.array([len(seq) for seq, _ in hyps])
sums = np.array([s for _, s in hyps])
for alpha in (0.0, 0.5, 1.0, 2.0):
    scores = length_normalized_score(sums, lengths, alpha)
    best = int(np.argmax(scores))
    print(f"length_penalty = {alpha:3.1f}: best {show(hyps[best][0]):26s} length {lengths[best]}, "
          f"sum {sums[best]:.3f}, score {scores[best]:.3f}")

# %% [markdown]
# ## 一个真实的模型：靠计数构建的字符 n 元语法模型
#
# 对于文本，我们需要一个文本的模型。训练一个网络会用掉本课全部的时间预算，所以我们
# *构建*一个：字符 5 元语法模型，即统计莎士比亚文本中每个至多 4 个字符的上下文之后
# 跟着哪个字符的计数。一个出现过 `count(ctx)` 次的上下文，把它的计数与短一个字符的
# 上下文的预测混合起来，这样罕见的和未见过的上下文就会退回到较短的上下文（插值平滑）：
#
#     p_0(c)         = c 的频率
#     p_k(c | ctx_k) = (count(ctx_k, c) + alpha * p_{k-1}(c | ctx_{k-1})) / (count(ctx_k) + alpha)
#
# 其中 `ctx_k` 是最后 `k` 个字符（未见过的 `ctx_k` 保留
# `p_{k-1}`）。它遵循与 minigen 的 `RNNLanguageModel` 相同的协议（状态是每一行最后
# `n - 1` 个 id），所以 `generate`、`beam_search` 和搜索树都可以用在它上面。

# %%
from minigen.data import CharTokenizer, shakespeare  # noqa: E402


class CharNGramLM(GenerationMixin, minigen.nn.Module):
    """由计数得到的平滑字符 n 元语法模型；``forward(ids, state) -> (log-probs (B, T, V), state)``。"""

    def __init__(self, ids, vocab_size, order=5, alpha=1.0, pad_id=0):
        super().__init__()
        V = vocab_size
        self.V, self.n, self.alpha, self.pad_id = V, order, alpha, pad_id
        self.unigram = (np.bincount(ids, minlength=V) + 1.0) / (len(ids) + V)        # (V,) p_0，从不为 0
        self.contexts, self.counts = [], []                                          # 每个 k = 1 .. n-1 各一张表
        for k in range(1, order):
            windows = np.lib.stride_tricks.sliding_window_view(ids[:-1], k)         # (N - k, k)：在 ids[k:] 之前
            keys, inverse = np.unique(self._key(windows), return_inverse=True)
            counts = np.bincount(inverse * V + ids[k:], minlength=len(keys) * V)    # count(ctx_k, c)
            self.contexts.append(keys)
            self.counts.append(counts.reshape(len(keys), V).astype(np.float32))     # (见过的上下文数, V)

    def _key(self, ctx):
        """(..., k) 个 id -> 每个上下文一个整数。"""
        return (ctx * self.V ** np.arange(ctx.shape[-1] - 1, -1, -1)).sum(-1)

    def next_probs(self, ctx):
        """ctx (M, n - 1) 个 id -> p(下一个字符) (M, V)，从 p_0 一直算到 p_{n-1}。"""
        p = np.broadcast_to(self.unigram, (ctx.shape[0], self.V))
        for k, (keys, counts) in enumerate(zip(self.contexts, self.counts), start=1):
            key = self._key(ctx[:, -k:])                                             # (M,)
            row = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
            seen = keys[row] == key                                                  # (M,)
            c = counts[row]                                                          # (M, V)
            mixed = (c + self.alpha * p) / (c.sum(1, keepdims=True) + self.alpha)
            p = np.where(seen[:, None], mixed, p)
        return p

    def forward(self, ids, state=None):
        ids = np.asarray(ids)                                                 # (B, T)
        B, T = ids.shape
        if state is None:                                                     # 文本从填充之后开始
            state = np.full((B, self.n - 1), self.pad_id)
        full = np.concatenate([state, ids], axis=1)                           # (B, n - 1 + T)
        ctx = np.lib.stride_tricks.sliding_window_view(full, self.n - 1, axis=1)[:, 1:]   # (B, T, n - 1)
        p = self.next_probs(ctx.reshape(B * T, self.n - 1))                   # (B*T, V)
        return minigen.Tensor(np.log(p).reshape(B, T, self.V)), full[:, -(self.n - 1):]

    @staticmethod
    def reorder_state(state, index):
        return state[np.asarray(index)]


text = shakespeare()[:300_000]                   # 最前面的几部剧：计数很快，模型也小
tokenizer = CharTokenizer.train(text)
NL = tokenizer.encode("\n")[0]
lm = CharNGramLM(np.asarray(tokenizer.encode(text)), tokenizer.vocab_size, order=5, pad_id=NL)
print(f"{len(text):,} characters, V = {tokenizer.vocab_size}, "
      f"{len(lm.contexts[-1]):,} distinct contexts of 4 characters")

# %% [markdown]
# ### 用 `model.generate` 做贪心解码和束搜索
#
# `generate(..., num_beams=K)` 运行 minigen 的束搜索。把换行符作为 `eos_token_id`，
# 每个假设就是一行诗句；`num_return_sequences` 返回最好的几个，最好的在前。

# %%
prompt = np.array([tokenizer.encode("HERMIA:\n")])


def line_logprob(model, prompt, new_ids):
    """在 model 下，new_ids 接在 prompt 之后的对数概率之和（一次前向传播）。"""
    ids = np.concatenate([prompt[0], new_ids])[None]
    logp = model(ids)[0].data[0]                                        # (P + T, V)
    P = prompt.shape[1]
    return float(sum(logp[P - 1 + t, v] for t, v in enumerate(new_ids)))


greedy = lm.generate(prompt, max_new_tokens=60, eos_token_id=NL)
new = greedy[0, prompt.shape[1]:]
print(f"greedy      {tokenizer.decode(new.tolist())!r:62s} log p = {line_logprob(lm, prompt, new):.2f}")
beams = lm.generate(prompt, max_new_tokens=60, num_beams=8, eos_token_id=NL, num_return_sequences=3,
                    length_penalty=1.0)
for row in beams:
    new = row[prompt.shape[1]:]
    new = new[: list(new).index(NL) + 1] if NL in new else new          # <eos> 之后的填充不属于这个假设
    print(f"beam, K = 8 {tokenizer.decode(new.tolist())!r:62s} log p = {line_logprob(lm, prompt, new):.2f}")

# %% [markdown]
# ### 在同一个模型上看提前停止和长度惩罚
#
# `beam_search(..., return_tree=True)` 还会返回搜索树，于是我们可以数一数搜索创建了
# 多少个节点：这是衡量它工作量的一个指标。

# %%
for early_stopping in (True, False, "never"):
    for alpha in (0.0, 1.0):
        res = minigen_beam_search(lm, prompt, num_beams=4, max_new_tokens=60, eos_token_id=NL,
                                  length_penalty=alpha, early_stopping=early_stopping, return_tree=True)
        best = tokenizer.decode(res.sequences[0, prompt.shape[1]:].tolist()).split("\n")[0]
        print(f"early_stopping = {str(early_stopping):5s}  length_penalty = {alpha:.0f}: "
              f"{len(res.tree):4d} nodes, score {res.sequences_scores[0]:7.3f}  {best!r}")

# %% [markdown]
# 解读这张表（n 元语法模型在快速模式下和非快速模式下是一样的，所以这些数字也一样）：
# 两种惩罚下的分数尺度不同（一个是和，一个是每个字符的平均值），所以只比较同一种
# 惩罚的行。`length_penalty = 0` 时，无论用哪条规则，都是短的那一行胜出；在这里
# `"never"` 的表现与 `False` 相同（只有惩罚为正时二者才不同），而 `True` 停得稍早
# 一些。`length_penalty = 1` 时，那些继续搜索的规则创建了更多的节点，也找到了更好的
# 分数，这里是一行更长、不断重复的诗句，它一直没有结束，直到碰上
# `max_new_tokens`：长度惩罚是对长度的奖励，而一个陷入循环的模型正好把它收入囊中。
#
# ## 一幅搜索树的图
#
# 搜索树就是普通的数据：一个节点列表，每个节点是一个字典，记录它的 `step`（步）、
# `token`（词元）、`parent`（父节点的下标）、对数概率之和 `logprob`、它是否已完成
# （`finished`，以及它的 `score`），以及它是否位于某个被返回序列的路径上
# （`returned`）。父节点总在子节点之前，所以它可以保存为 JSON，在任何地方重新绘制。
# `plot_beam_tree` 把它画出来：每一步一列，已完成的假设为绿色，被返回的序列为粗体。
# 先看 `K = 2` 的玩具模型：贪心解码的分支 `a` 在第一步存活下来，在第二步输给了 `b`。

# %%
out_dir = tempfile.mkdtemp(prefix="minigen_beam_")


class ToyTokenizer:
    def decode(self, ids):
        return " ".join(TOY_TOKENS[int(i)] for i in ids)


toy = minigen_beam_search(PrefixModel(toy_step_log_probs, 3), np.array([[BOS]]), num_beams=2, max_new_tokens=3,
                          eos_token_id=EOS, length_penalty=0.0, return_tree=True)
print(json.dumps(toy.tree[:3], indent=None))
print("as a table:")
for i, node in enumerate(toy.tree):
    token = "prompt" if node["token"] is None else TOY_TOKENS[node["token"]]
    print(f"  node {i:2d}  step {node['step']}  parent {str(node['parent']):4s}  token {token:6s}  "
          f"logprob {node['logprob']:7.3f}  finished {node['finished']!s:5s}  returned {node['returned']}")
with open(os.path.join(out_dir, "toy_tree.json"), "w") as f:
    json.dump(toy.tree, f)


def show_png(path):
    """按原始尺寸显示 minigen 写出的一张 PNG 图片。"""
    if plt is None:
        return
    image = plt.imread(path)
    fig = plt.figure(figsize=(image.shape[1] / 100, image.shape[0] / 100))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(image)
    ax.axis("off")
    plt.show()


plot_beam_tree(toy.tree, os.path.join(out_dir, "toy_tree.png"), tokenizer=ToyTokenizer())
show_png(os.path.join(out_dir, "toy_tree.png"))

# %% [markdown]
# 字符模型的同一幅图：四个束，在 `"HERMIA:\n"` 之后生成十个字符。大多数分支在一两步
# 之内就消亡了，存活到最后的束共享大部分前缀，只在最后几个字符上有所不同：束搜索的
# 一个众所周知的弱点，就是它的束缺乏多样性。

# %%
res = minigen_beam_search(lm, prompt, num_beams=4, max_new_tokens=10, eos_token_id=NL,
                          num_return_sequences=2, return_tree=True)
plot_beam_tree(res.tree, os.path.join(out_dir, "char_tree.png"), tokenizer=tokenizer)
for row, score in zip(res.sequences, res.sequences_scores):
    print(f"{tokenizer.decode(row[prompt.shape[1]:].tolist())!r}  score {score:.3f}")
show_png(os.path.join(out_dir, "char_tree.png"))

# %% [markdown]
# ## 束宽与对数概率
#
# 更宽的束能带来多少好处？没有结束词元时，每个假设的长度都相同，所以可以直接比较
# 对数概率之和。左图：随机玩具模型（`V = 4`，6 个词元，共 `4^6 = 4096` 个序列），
# 穷举搜索给出真正的最优值；图中画的是束搜索的最好假设与最优值之间的平均差距。
# 右图：字符模型，在提示之后生成 40 个字符，使用 minigen 的搜索。
# 最初的几个束带来了大部分的提升；此后收益递减，曲线甚至不一定是单调的（练习 2）
# （而且在有 `<eos>`、没有长度惩罚时，*更高*的概率并不总是意味着*更好*的文本：这就是
# 机器翻译中的“束搜索诅咒”，非常宽的束会找到简短、空洞的输出）。

# %%
widths = [1, 2, 3, 4, 6, 8, 16, 32, 64]
n_models = 8 if QUICK else 40
gaps = np.zeros((n_models, len(widths)))
for seed in range(n_models):
    model = random_model(V=4, seed=100 + seed, scale=1.0)
    optimum = exhaustive_search(model, BOS, None, max_len=6)[0][1]
    for j, K in enumerate(widths):
        gaps[seed, j] = optimum - beam_search(model, BOS, None, num_beams=K, max_len=6)[0][1]
print("width K                  " + "".join(f"{K:7d}" for K in widths))
print("mean gap to optimum      " + "".join(f"{g:7.3f}" for g in gaps.mean(0)))
print("fraction finding optimum " + "".join(f"{f:7.2f}" for f in (gaps < 1e-9).mean(0)))

lm_widths = [1, 2, 4, 8, 16] if QUICK else [1, 2, 4, 8, 16, 32, 64]
lm_scores = [float(minigen_beam_search(lm, prompt, num_beams=K, max_new_tokens=40, length_penalty=0.0)
                   .sequences_scores[0]) for K in lm_widths]
print("character model, width K  " + "".join(f"{K:8d}" for K in lm_widths))
print("summed log-prob, 40 chars " + "".join(f"{s:8.2f}" for s in lm_scores))

if plt is not None:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
    ax1.plot(widths, gaps.mean(0), "o-", label="mean gap (nats)")
    ax1.plot(widths, (gaps < 1e-9).mean(0), "s--", label="fraction optimal")
    ax1.set_xscale("log", base=2)
    ax1.set_xlabel("beam width K")
    ax1.legend()
    ax1.set_title("random toy models, V = 4, T = 6")
    ax2.plot(lm_widths, lm_scores, "o-", color="C1")
    ax2.set_xscale("log", base=2)
    ax2.set_xlabel("beam width K")
    ax2.set_ylabel("summed log-prob (nats)")
    ax2.set_title("character 5-gram, 40 characters")
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## 练习
#
# 1. （计分练习：上面的 10.1 `beam_search` 和 10.2 `length_normalized_score`。）
#    `python -m minigen grade . --public-only` 会对你的函数运行公开检查。
# 2. 束搜索关于 K 不是单调的：更宽的束可能返回一个*更差*的最好假设。在随机玩具模型
#    （`random_model(5, seed, scale=1.0)`，`eos=None`，`max_len=6`；大约每一百个
#    种子中会有一个）中找出一个 `K = 3` 比 `K = 2` 更差的例子，画出两棵搜索树
#    （没有 `<eos>` 时，在 `PrefixModel` 上运行 minigen 的 `beam_search` 以同样的
#    方式搜索），并解释更宽的束是怎样丢掉了较窄的束找到的那个序列的。
# 3. 按 Hugging Face 的风格重写 `beam_search`：保留 `K` 个运行中的束，把已完成的
#    假设放进一个单独的列表，用 `length_normalized_score` 打分，并按
#    `early_stopping=False` 的规则停止。在*有* `<eos>` 的随机玩具模型上，把它与
#    `minigen.sample.beam_search` 相比较。
# 4. 束缺乏多样性。实现多样化束搜索（diverse beam search）最简单的形式：如果同一步中
#    另一个束已经选择了某个候选的最后一个词元，就从这个候选的分数中减去一个惩罚
#    `lambda`。画出加惩罚之前和之后字符模型的搜索树。
