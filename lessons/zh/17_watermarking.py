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
# # 第 17 课：为生成的文本加水印
#
# 你能判断一段文本出自*你的*模型吗？靠阅读是不行的：好的模型写出的文本读起来就像它的
# 训练数据。但每个采样器都要做选择，而选择可以被有意地加上偏向：这种偏向在任何一个
# 词元上都看不出来，在几百个词元中却一目了然。这就是**水印**（watermark；
# Kirchenbauer et al., 2023, "A Watermark for Large Language Models"）：
#
# - 在每一步，**前一个词元**为一个随机数生成器提供种子，该生成器把词表一分为二：
#   占比为 `gamma` 的**绿名单**（green list），以及红名单（red list）；
# - 采样器给绿色词元的 logits（未归一化的对数概率）加上 `delta`，因此只要它确实有
#   选择的余地，它选中绿色词元的频率就会比随机情况略高一些；
# - 任何知道密钥的人都可以重新算出每个位置的绿名单，并**数出**绿色词元的个数。不带
#   水印的文本在每个位置上是绿色的概率为 `gamma`，因此远高于 `gamma T` 的计数就是
#   一种统计痕迹，而 **z 检验**衡量它高出多少。检测器需要的是密钥和文本，而不是模型。
#
# 水印会让质量略有损失（一部分概率转移到了模型原本不那么偏爱的绿色词元上），而且它的
# 强度取决于采样器的自由度：在模型对下一个词元很有把握的地方，没有什么可以加偏向的。
# 本课构造绿名单和检验，为一个字符级模型加水印，并测量检测功效如何随文本长度增长、
# 随采样温度下降。
#
# 形状：B = 批量大小（样本数），T = 打分的词元数，V = 词表大小。
#
# 可以把它当作脚本运行（`python 17_watermarking.py`），也可以用 jupytext 把它作为
# 笔记本打开。`MINIGEN_QUICK=1`（或 `--quick`）会缩短训练部分。

# %%
import os
import sys

import minigen  # 放在最前面：minigen 会设置 OpenBLAS 的线程数，这必须在加载 NumPy 之前完成
import numpy as np

from minigen import rl
from minigen.data import CharTokenizer, random_windows, shakespeare, train_val_split
from minigen.models import RNNLanguageModel
from minigen.sample import WatermarkDetector, WatermarkLogitsProcessor, generate
from minigen.sample.watermark import randperm
from minigen.train import Trainer

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)
np.set_printoptions(precision=4, suppress=True)

text = shakespeare()[: 300_000 if QUICK else 2_000_000]
tokenizer = CharTokenizer.train(text)
V = tokenizer.vocab_size
GAMMA, DELTA, KEY = 0.25, 2.0, 15485863          # Hugging Face 的默认值：greenlist_ratio、bias、hashing_key
print(f"V = {V} characters")

# %% [markdown]
# ## 1. 绿名单
#
# 日后检验文本时手头只有文本本身，而生成器必须给出与生成时相同的划分，因此它的种子
# 来自文本本身。Hugging Face 的 `WatermarkLogitsProcessor`（使用
# `seeding_scheme="lefthash"`，即论文中的算法 2）用前一个词元 x_(t-1) 乘以一个秘密
# 整数 `key`（哈希密钥）作为种子：
#
#     seed_t = key * x_(t-1)
#     pi     = 0 .. V-1 的一个随机排列，取自以 seed_t 为种子的生成器
#     G_t    = { pi[0], pi[1], ..., pi[n - 1] },      n = int(V * gamma)   （向下取整）
#
# 在第 t 步，处理器给 G_t 中词元的 logits 加上 `delta`。
#
# 这个排列是生成器在 `manual_seed(seed mod (2^64 - 1))` 之后给出的 `torch.randperm(V)`。
# minigen 不借助 torch 重新推导出了 torch 的 CPU 生成器（见
# `minigen/sample/watermark.py`：参考实现的梅森旋转算法和 Fisher-Yates 洗牌），因此
# 它的绿名单与 Hugging Face 的完全相同。下面把它写成种子的函数，供你使用：

# %%
def permutation(seed, n):
    """在 torch.Generator().manual_seed(seed % (2**64 - 1)) 之后抽取的 torch.randperm(n)：一个 (n,) 整数数组。

    seed：一个 Python 整数（大小任意：在这里取模，与 Hugging Face 的做法相同）。
    """
    return np.array(randperm(int(seed), n))


print("permutation(12345, 10) =", permutation(12345, 10))

# %% [markdown]
# ## 练习 17.1：绿名单
#
# 写出一个上下文的绿名单：用 `key * previous_token` 作为排列的种子，并保留排列的前
# `int(vocab_size * gamma)` 项。用 Python 整数相乘（`int(previous_token)`）：密钥很大
# 时，乘积可能超过 2^63，而 NumPy 的 int64 在那里会发生回绕。


# %%
def green_list(previous_token, vocab_size, gamma, key=15485863):
    """``previous_token`` 之后的绿色词元 id：以 key * previous_token 为种子的排列的前 int(vocab_size * gamma) 项。
    返回一个 (int(vocab_size * gamma),) 整数数组，保持排列中的顺序。
    """
    ### BEGIN SOLUTION
    seed = key * int(previous_token)                       # lefthash：前一个词元乘以密钥
    return permutation(seed, vocab_size)[:int(vocab_size * gamma)]
    ### END SOLUTION


processor = WatermarkLogitsProcessor(V, greenlist_ratio=GAMMA, bias=DELTA, hashing_key=KEY)
for ch in "ehq ":
    token = tokenizer.encode(ch)[0]
    mine = np.sort(green_list(token, V, GAMMA, KEY))
    print(f"after {ch!r}: green {tokenizer.decode(mine.tolist())!r}  "
          f"(the same as minigen's processor: {np.array_equal(mine, processor.greenlist_ids([token]))})")

# %% [markdown]
# 在每个上下文之后，都有四分之一的字符是绿色的（向下取整：V 个中的 `int(V gamma)` 个），
# 每次是不同的四分之一。词表这么小，所有名单都可以一次算好：一张 (V, V) 的表，第 `a`
# 行是 `a` 之后的绿名单。在所有上下文中，平均而言每个字符在其中四分之一的上下文之后
# 是绿色的（因偶然而或多或少）：水印几乎不改变每个字母被写出的频率，只改变哪个字母
# 倾向于跟在哪个字母之后。

# %%
def green_table(key):
    """(V, V) 布尔表：当 v 在 a 之后是绿色时，table[a, v] 为 True（即对每个 a 调用你的 green_list）。"""
    table = np.zeros((V, V), dtype=bool)
    for a in range(V):
        table[a, green_list(a, V, GAMMA, key)] = True
    return table


table = green_table(KEY)
print(f"each list holds {table.sum(axis=1).min()} of {V} ({table.mean():.3f} of the vocabulary); each character "
      f"is green after {table.mean(axis=0).min():.2f} to {table.mean(axis=0).max():.2f} of the contexts")

# %% [markdown]
# ## 2. 偏向对一步的作用
#
# 设 `p` 是模型在某一步的分布，`P_G = sum_(v in G) p_v` 是它的绿色质量。给绿色 logits
# 加上 `delta`，相当于在重新归一化之前把每个绿色概率乘以 `e^delta`，于是绿色质量变为
#
#     P_G' = P_G e^delta / (1 + (e^delta - 1) P_G)
#
# 如果模型没有把握（**熵**高，质量分散在许多词元上），那么对每张名单 `P_G` 都接近
# `gamma`，并且会大幅上升：当 `gamma = 0.25, delta = 2` 时，从 0.25 升到 0.71。如果
# 模型很有把握（熵低，某个词元的 `p ~ 1`），那么这个词元是绿是红全凭偶然：`P_G` 约为
# 1 或约为 0，无论哪种情况，偏向都几乎不能改变它。于是选中绿色词元的概率仍接近
# `gamma`：没有选择余地的一步不携带水印。
#
# 在一个虚构的分布（V 个字符上类似 Zipf 分布的 logits）上、在几个温度下测量，并对全部
# V 张绿名单取平均：

# %%
zipf_logits = -1.2 * np.log(1.0 + rng.permutation(V))          # (V,)：可能性排第 k 的字符，其 logit 为 -1.2 log k
print(f"{'temperature':>11s}  {'entropy (nats)':>14s}  {'P(green) plain':>14s}  {'P(green) watermarked':>20s}")
for temperature in (0.1, 0.3, 0.5, 1.0, 1.5):
    scaled = zipf_logits / temperature
    p = np.exp(scaled - scaled.max())
    p /= p.sum()
    entropy = -np.sum(p * np.log(p + 1e-300))
    P_G = (table * p).sum(axis=1)                                   # (V,)：每张名单的绿色质量
    P_G_marked = P_G * np.exp(DELTA) / (1.0 + (np.exp(DELTA) - 1.0) * P_G)
    print(f"{temperature:11.1f}  {entropy:14.3f}  {P_G.mean():14.3f}  {P_G_marked.mean():20.3f}")

# %% [markdown]
# ## 3. z 检验
#
# 现在来看检测器。取一段文本 x_0 .. x_T，给位置 1 .. T 打分：如果 x_t 在以 x_(t-1) 为
# 种子的绿名单中，位置 t 就是绿色的。（位置 0 没有前一个词元，不打分。）数出 T 个
# 位置中绿色位置的个数 T_g。
#
# 如果文本是在不知道密钥的情况下写出的，那么每个位置都独立地以概率 `gamma` 为绿色
# （大致如此：见第 6 节），因此 `T_g ~ Binomial(T, gamma)`，均值为 `gamma T`，方差为
# `T gamma (1 - gamma)`。标准化：
#
#     z = (T_g - gamma T) / sqrt(T gamma (1 - gamma))
#
# 对于不带水印的文本，`z` 近似服从 N(0, 1)；检验是单侧的（只有绿色过多才意味着
# “带水印”），p 值为 `P(Z > z)`。论文在 `z > 4` 时判定文本带水印：每 30 000 段文本
# 才误报一次（`P(Z > 4) = 3.2e-5`）。Hugging Face 的 `WatermarkDetector` 默认使用
# `z > 3`（1.3e-3）。
#
# ## 练习 17.2：z 分数
#
# 让它对数和数组同样适用（把 `num_green` 与 `num_tokens` 一起广播）：下面会用它一次性
# 给每个样本在每个长度上打分。


# %%
def z_score(num_green, num_tokens, gamma):
    """对 T = num_tokens 个打分位置中的 T_g = num_green 个绿色位置，计算 z = (T_g - gamma T) / sqrt(T gamma (1 - gamma))。

    num_green、num_tokens：可以相互广播的数或数组（整数或浮点数）；gamma 在 (0, 1) 中。
    返回 float64：形状为广播后形状的数组（对数而言是 0 维数组）。
    """
    ### BEGIN SOLUTION
    num_green = np.asarray(num_green, dtype=np.float64)
    num_tokens = np.asarray(num_tokens, dtype=np.float64)
    return (num_green - gamma * num_tokens) / np.sqrt(num_tokens * gamma * (1 - gamma))
    ### END SOLUTION


print("50 green of 100 at gamma 0.25:", z_score(50, 100, GAMMA))
print("vectorised:", z_score(np.array([25, 40, 60, 100]), 100, GAMMA))

# %% [markdown]
# ## 练习 17.3：数绿色词元
#
# 给序列 `ids`（T + 1 个词元）的位置 1 .. T 打分：当 `ids[t]` 在
# `green_list(ids[t - 1], ...)` 中时，位置 t 是绿色的。使用你的 `green_list`。


# %%
def count_green(ids, vocab_size, gamma, key=15485863):
    """``ids``（一维，T + 1 个词元 id）中绿色位置的个数：对 t = 1 .. T，ids[t] 在 ids[t - 1] 的绿名单中。
    返回一个整数（少于 2 个词元时为 0）。
    """
    ### BEGIN SOLUTION
    ids = [int(t) for t in ids]
    count = 0
    for previous, token in zip(ids[:-1], ids[1:]):          # 位置 t 用词元 t - 1 的名单打分
        if token in green_list(previous, vocab_size, gamma, key):
            count += 1
    return count
    ### END SOLUTION


demo = tokenizer.encode("To be, or not to be, that is the question")
detector = WatermarkDetector(V, dict(greenlist_ratio=GAMMA, hashing_key=KEY))
found = detector(np.array([demo]), return_dict=True)
print(f"yours:   {count_green(demo, V, GAMMA, KEY)} green of {len(demo) - 1}, "
      f"z = {z_score(count_green(demo, V, GAMMA, KEY), len(demo) - 1, GAMMA):.3f}")
print(f"minigen: {found.num_green_tokens[0]:.0f} green of {found.num_tokens_scored[0]:.0f}, "
      f"z = {found.z_score[0]:.3f}, p = {found.p_value[0]:.3f}")

# %% [markdown]
# 哈姆雷特的台词没有加水印：大约四分之一是绿色的，`z` 远低于 4。
#
# ## 4. 为模型加水印
#
# 一个字符级长短期记忆网络（第 05 课），在莎士比亚文本上做了简短的训练，与第 15 课相同。

# %%
train_ids, val_ids = train_val_split(tokenizer.encode(text), 0.05)
minigen.manual_seed(0)
base = RNNLanguageModel(V, embed_dim=32, hidden_size=128, num_layers=1)
optimizer = minigen.optim.Adam(base.parameters(), lr=1e-2 if QUICK else 4e-3)
trainer = Trainer(base, optimizer, train_ids, val_ids, tokenizer=tokenizer, batch_size=32, seq_len=64,
                  max_steps=200 if QUICK else 1500, warmup_steps=10, eval_interval=200 if QUICK else 500,
                  eval_tokens=4096, progress=not QUICK)
trainer.fit()
base.eval()
print(f"validation loss {trainer.history[-1]['val_loss']:.3f} nats per character")

# %% [markdown]
# `generate(..., watermarking_config=dict(bias=delta, greenlist_ratio=gamma))` 把处理器
# 加入采样器，放在温度之后（这是 Hugging Face 的顺序：它给实际采样的分布加偏向）。我们
# 在温度 1 下（`top_k=0`：模型自己的分布），分别带水印和不带水印地续写同样的 16 字符
# 提示，并且只给生成的部分打分，用提示的最后一个字符作为第一张绿名单的种子：提示没有
# 加水印，会稀释 `z`。每段文本下方，`g` 标出绿色的位置。

# %%
CONFIG = dict(bias=DELTA, greenlist_ratio=GAMMA, hashing_key=KEY)
PROMPT_LEN, T_NEW = 16, 200
prompts, _ = random_windows(val_ids, 4, PROMPT_LEN, np.random.default_rng(1))          # (4, P)
with minigen.no_grad():
    plain = generate(base, prompts, T_NEW, do_sample=True, top_k=0, seed=1)
    marked = generate(base, prompts, T_NEW, do_sample=True, top_k=0, seed=1, watermarking_config=CONFIG)


def show(ids, width=72):
    """打印一行的生成文本，并在它下方的绿色位置处标出 g。"""
    scored = ids[PROMPT_LEN - 1:]                               # 提示的最后一个词元为第一张名单提供种子
    line = tokenizer.decode(scored[1:].tolist()).replace("\n", "/")
    marks = "".join("g" if table[a, v] else "." for a, v in zip(scored[:-1], scored[1:]))
    print("   ", line[:width])
    print("   ", marks[:width])


for name, ids in (("without the watermark", plain), ("with the watermark", marked)):
    scored = ids[:, PROMPT_LEN - 1:]                            # (4, 1 + T_NEW)
    yours = z_score(np.array([count_green(row, V, GAMMA, KEY) for row in scored]), T_NEW, GAMMA)
    print(f"{name}: z yours {yours.round(2)}, minigen's detector {detector(scored, return_dict=True).z_score.round(2)}")
    show(ids[0])

# %% [markdown]
# 两段文本看起来差不多（水印读起来就像模型自己多犯了几个拼写错误），而计数立刻就能
# 把它们区分开：不带水印时 `z` 接近 0，带水印时远高于 4。
#
# ## 5. 检测功效：长度与温度
#
# 文本要多长才行？采样器的自由度有多重要？对每个温度，带水印和不带水印各采样 B 段
# 200 个字符的文本，并对所有 L 一次性地给每段文本的前 L 个字符打分：所有位置的绿色
# 指示 (B, T) 来自绿名单表，它们的累积和给出每个长度上的 T_g，而你的 `z_score` 在它上面
# 广播。**检测功效**（detection power）是带水印文本中 `z > 4` 的比例；不带水印的文本中
# 的同一比例就是**误报率**（false-positive rate）。我们还记录所采样的分布（该温度下
# 模型的分布）的平均熵、带水印文本的绿色比例、不带水印文本的平均 z，以及代价：在原
# 模型下每个字符的负对数似然，不带水印与带水印的对比。

# %%
TEMPERATURES = (0.3, 0.5, 0.7, 1.0, 1.5)
B = 64 if QUICK else 200
THRESHOLD = 4.0
lengths = np.arange(1, T_NEW + 1)                                 # (T_NEW,)：L = 1 .. 200 个打分位置
prompts, _ = random_windows(val_ids, B, PROMPT_LEN, np.random.default_rng(2))      # (B, P)


def green_positions(ids):
    """(B, T_NEW) 布尔数组：每个生成的词元是否在它前一个词元的绿名单中？"""
    scored = ids[:, PROMPT_LEN - 1:]
    return table[scored[:, :-1], scored[:, 1:]]


def mean_entropy(ids, temperature):
    """softmax(logits / temperature) 在生成位置上的平均熵（奈特）。"""
    with minigen.no_grad():
        logits = base(ids[:, :-1])[0].numpy()[:, PROMPT_LEN - 1:] / temperature      # (B, T_NEW, V)
    logits = logits - logits.max(axis=-1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    return float(-(np.exp(log_p) * log_p).sum(axis=-1).mean())


power, false_positives, results = {}, {}, {}
for k, temperature in enumerate(TEMPERATURES):
    with minigen.no_grad():
        plain = generate(base, prompts, T_NEW, do_sample=True, top_k=0, temperature=temperature, seed=10 + k)
        marked = generate(base, prompts, T_NEW, do_sample=True, top_k=0, temperature=temperature, seed=20 + k,
                          watermarking_config=CONFIG)
        nll = [-rl.sequence_log_probs(base, ids, PROMPT_LEN).numpy().mean() for ids in (plain, marked)]
    z_plain = z_score(np.cumsum(green_positions(plain), axis=1), lengths, GAMMA)     # (B, T_NEW)：每个 L 处的 z
    z_marked = z_score(np.cumsum(green_positions(marked), axis=1), lengths, GAMMA)
    power[temperature] = (z_marked > THRESHOLD).mean(axis=0)                           # (T_NEW,)
    false_positives[temperature] = (z_plain > THRESHOLD).mean(axis=0)
    results[temperature] = dict(entropy=mean_entropy(plain, temperature), nll=nll, z_plain=z_plain[:, -1],
                                green=green_positions(marked).mean(), plain_ids=plain,
                                agree=np.allclose(z_marked[:, -1], detector(marked[:, PROMPT_LEN - 1:],
                                                                            return_dict=True).z_score))

print(f"{'temp':>4s}  {'entropy':>7s}  {'green':>5s}  {'power at L = 25':>15s}  {'50':>5s}  {'100':>5s}  "
      f"{'200':>5s}  {'false pos. (200)':>16s}  {'plain z':>7s}  {'NLL plain':>9s}  {'watermarked':>11s}")
for temperature in TEMPERATURES:
    r, pw = results[temperature], power[temperature]
    print(f"{temperature:4.1f}  {r['entropy']:7.3f}  {r['green']:5.2f}  {pw[24]:15.2f}  {pw[49]:5.2f}  "
          f"{pw[99]:5.2f}  {pw[199]:5.2f}  {false_positives[temperature][199]:16.2f}  "
          f"{r['z_plain'].mean():+7.2f}  {r['nll'][0]:9.3f}  {r['nll'][1]:11.3f}")
print("your z at L = 200 equals minigen's detector's at every temperature:",
      all(r["agree"] for r in results.values()))

try:
    import matplotlib.pyplot as plt
except ImportError:                     # 绘图是可选的：pip install matplotlib
    plt = None
if plt is not None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for temperature in TEMPERATURES:
        line, = axes[0].plot(lengths[9:], power[temperature][9:], label=f"temperature {temperature:g}")
        axes[0].plot(lengths[9:], false_positives[temperature][9:], "--", color=line.get_color(), lw=0.8)
    axes[0].set_xlabel("characters scored (L)")
    axes[0].set_ylabel(f"fraction with z > {THRESHOLD:g}")
    axes[0].set_title("power (solid: watermarked) and false positives (dashed: plain)")
    axes[0].legend(fontsize=8)
    for L in (25, 50, 100, 200):
        axes[1].plot(TEMPERATURES, [power[t][L - 1] for t in TEMPERATURES], "o-", label=f"L = {L}")
    axes[1].plot(TEMPERATURES, [false_positives[t][-1] for t in TEMPERATURES], "k--", label="plain, L = 200")
    axes[1].set_xlabel("sampling temperature")
    axes[1].set_ylabel(f"fraction with z > {THRESHOLD:g}")
    axes[1].set_title("power against temperature")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    plt.show()

# %% [markdown]
# 两种效应，一个原因。
#
# - **长度。** 每个打分位置给 `T_g - gamma T` 增加约 `(P(green) - gamma)`，给它的方差
#   增加 `gamma (1 - gamma)`，因此对带水印的文本，`z` 按 `sqrt(T)` 增长：长度为 T 时
#   z 的期望约为
#   `(green - gamma) sqrt(T) / sqrt(gamma (1 - gamma))`。绿色比例为 0.5 时，
#   `z > 4` 需要约 50 个字符；为 0.3 时，需要 1200 个。
# - **温度。** 低温使分布变得尖锐：熵下降，大多数步只有一个可能的字符，而这个字符是否
#   为绿色只是偶然。偏向（加在温度之后，加到此时已相距很远的 logits 上）很少改变选择，
#   绿色比例向 `gamma` 回落，检测需要长得多的文本。高温给采样器留下许多几乎同样可能的
#   选择，水印能左右其中的大多数。
#
# 水印的**代价**是从另一面看到的同一个量：它把采样器从模型原本会选的字符上引开，因此
# 文本在原模型下的负对数似然上升，而且在水印最强的地方上升得最多。这就是 `delta` 所
# 设定的权衡：`delta` 越大，水印越强，代价也越高。
#
# ## 6. 这个检验校准了吗？
#
# 不带水印的文本很少越过阈值，但它们的平均 z（`plain z` 列）并不是 0。z 检验假设
# 每个打分位置都是一枚新抛的硬币，以概率 `gamma` 出现绿色，而事实并非如此。使用
# `lefthash` 时，位置 t 的颜色只取决于字符对 (x_(t-1), x_t)：对于一个密钥，每个字符对
# 只抛一次硬币，每段用到这个字符对的文本都得到同样的颜色。在一种只有几十个字符的语言
# 中，少数几个字符对（`e `、` t`、`th`、`he`）就占了任何文本的相当一部分，而低温会让
# 文本集中在更少的字符对上（并且不断重复它们：“the the the”）。这些字符对在*你的*
# 密钥下抽到的颜色，会使*每一段*不带水印的文本的绿色比例发生偏移。在许多密钥上，这些
# 偏移会相互抵消，所以我们用另外 40 个密钥给同样的不带水印的文本打分：看每个密钥的
# 平均 z，以及最差的那个密钥的误报率。
#
# Hugging Face 的检测器可以对每个不同的字符对只打一次分
# （`ignore_repeated_ngrams=True`）：重复出现的字符对只算一次；我们也在同样的文本上
# 计算这一点。

# %%
tables = [green_table(KEY + 1 + 7919 * k) for k in range(40)]          # 另外 40 个密钥
print(f"{'temp':>4s}  {'scored':>22s}  {'mean z':>6s}  {'spread of the key means':>23s}  "
      f"{'spread within a key':>19s}  {'worst key: z > 4':>16s}")
for temperature in (TEMPERATURES[0], 1.0):
    ids = results[temperature]["plain_ids"][:, PROMPT_LEN - 1:]         # (B, 1 + T_NEW)
    pairs = ids[:, :-1] * V + ids[:, 1:]                                # (B, T_NEW)：每个 (previous, token) 一个编码
    distinct = [np.unique(row) for row in pairs]
    every = np.array([z_score(t.reshape(-1)[pairs].sum(axis=1), T_NEW, GAMMA) for t in tables])     # (keys, B)
    once = np.array([[z_score(t.reshape(-1)[u].sum(), len(u), GAMMA) for u in distinct] for t in tables])
    for name, z in (("every position", every), ("each distinct pair once", once)):
        print(f"{temperature:4.1f}  {name:>22s}  {z.mean():+6.2f}  {z.mean(axis=1).std():23.2f}  "
              f"{z.std(axis=1).mean():19.2f}  {(z > THRESHOLD).mean(axis=1).max():16.2f}")
    ours = [z_score(table.reshape(-1)[u].sum(), len(u), GAMMA) for u in distinct]      # 每个不同的字符对只算一次，用我们的密钥
    skip_repeats = WatermarkDetector(V, dict(greenlist_ratio=GAMMA, hashing_key=KEY), ignore_repeated_ngrams=True)
    print(f"      (each distinct pair once, our key: the same as WatermarkDetector(ignore_repeated_ngrams=True): "
          f"{np.allclose(ours, skip_repeats(ids, return_dict=True).z_score)})")
green_share = table.sum(axis=1)[0] / V
print(f"the lists hold {green_share:.3f} of the vocabulary, not gamma = {GAMMA}: an offset of "
      f"{(green_share - GAMMA) * np.sqrt(T_NEW / (GAMMA * (1 - GAMMA))):+.2f} in z at {T_NEW} characters")

# %% [markdown]
# 在同一个密钥之下，不带水印的文本的 z 的离散程度与 N(0, 1) 所预言的差不多（标准差
# 接近 1），但这个密钥的均值偏离了 0，偏移量是这个密钥抽到的，对每段文本都一样。在
# 温度 1 下，这个偏移在不同密钥之间约为一个标准差；在低温下则有好几个标准差，而对一个
# 不走运的密钥，相当一部分不带水印的文本会越过 z > 4：这就是错误的指控。这个偏移是
# 每个字符上的一个偏差，因此它在 z 中按 `sqrt(T)` 增长：对这样的密钥，足够长的不带
# 水印的文本总会被判为带水印。负的偏移同样作用于带水印的文本，掩盖掉一部分水印：请把
# 第 5 节的 `plain z` 列与低温下的检测功效对照来看。对每个不同的字符对只打一次分大有
# 帮助（常见的字符对只算一次，而不是几十次），但各密钥均值的离散程度仍远大于偶然所能
# 解释的程度（对 B 段独立文本的均值而言，约为 `1 / sqrt(B)`）。所有密钥的均值略低于 0，
# 则另有原因：`int(V * gamma)` 把名单向下取整（63 个字符中取 15 个，即 0.238），而
# z 分数用的是 `gamma` 本身；词表有 50 000 个词元时，这个差别就消失了。
#
# 对于 50 000 个词元的子词词表，常见的词元对在文本中所占的份额要小得多，检验也就更接近
# 它的名义误报率；重复的 n 元组仍是已知的失效情形，因此才有这个选项。无论哪种情况，在
# 信任一个阈值之前，都要先**校准它**：用你的密钥给大量不是用这个密钥写出的文本（人类
# 写的文本、其他模型的文本、你的模型不加水印时的文本）打分，检查实际得到的误报率。
#
# ## 练习
#
# 1. （计分：17.1 `green_list`，17.2 `z_score`，17.3 `count_green`。）
#    `python -m minigen grade . --public-only` 运行公开检查。
# 2. 改写攻击：在温度 1 下生成的 200 个字符的带水印文本中，把第 k、2k、3k……个字符
#    替换成随机字符（k = 2、3、5、10），并测量 `z`。每次替换可能破坏两个位置（它自己的
#    位置，以及以它为种子选出名单的下一个位置）：`z` 是否如 `1 - 2/k` 所预测的那样下降？
# 3. `seeding_scheme="selfhash"`（论文中的算法 3，`context_width=4`）用最后四个词元
#    *以及候选词元本身*作为每张名单的种子。用它来生成（并用同样的配置来检测），把它
#    在 50 个字符处的检测功效，以及它对练习 2 中攻击的稳健性，与 `lefthash` 的进行比较。
# 4. 选择 `delta`：在温度 0.7 下，试试 `delta` = 0.5、1、2 和 4。画出 50 个字符处的
#    检测功效对负对数似然代价的图。`delta` 大到什么程度就不再划算了？
# 5. 更小的 `gamma` 使绿色在偶然情况下更少见，因此每次选中绿色都更能说明问题。在
#    `delta = 2` 下试试 `gamma` = 0.1、0.25 和 0.5，并用第 2 节中 `P_G'` 的公式解释
#    你测得的检测功效。
