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
# # 第 11 课：带注意力的序列到序列模型；曝光偏差与计划采样
#
# 到目前为止，模型都是在续写*一个*序列。许多任务要把一个序列映射为另一个序列：
# 机器翻译、文本摘要，或者本课的**日期规范化**：
#
#     "Tuesday, March 3, 1998"  ->  "1998-03-03"
#     "3/3/98"                  ->  "1998-03-03"
#     "03.03.1998"              ->  "1998-03-03"
#
# **编码器-解码器**（Sutskever et al. 2014；Cho et al. 2014）用一个循环神经网络，
# 即编码器，读入源序列，再用另一个循环神经网络，即解码器，写出目标序列；解码器是一个
# 条件语言模型 `p(y_i | y_<i, source)`。把整个源序列压缩进一个向量会形成瓶颈；
# **注意力**（Bahdanau et al. 2015）让解码器在每一步都能带着学到的权重回看编码器的
# 每一个状态。本课建立在门控循环单元（第 6 课）、注意力（第 7 课）和束搜索（第 10 课）
# 的基础之上：
#
# 1. 你将编写**加性注意力**，并与 minigen 的 `Seq2Seq` 进行比较；
# 2. 我们用**教师强制**训练模型（解码器读入真实的前一个词元），并看看它的代价：
#    **曝光偏差**，即一个在训练中从未见过自己的错误的解码器，到了测试时才遇到它们；
# 3. 你将编写**计划采样**（Bengio et al. 2015）的各个部件，它在训练过程中越来越频繁地
#    把模型自己的预测作为输入；
# 4. 我们用贪心解码和束搜索进行解码，在留出的日期上计算精确匹配率和 BLEU，
#    并把注意力画成热图。
#
# 形状：`B` = 批量大小，`S` = 源序列长度，`T` = 目标序列长度，`E` = 嵌入的宽度，
# `H` = 隐藏层大小，`D` = 编码器输出的宽度（`2H`：编码器是双向的），
# `A` = 注意力的宽度，`V` = 目标词表大小。
#
# 可以把它当作脚本运行（`python 11_seq2seq.py`），也可以用 jupytext 把它作为笔记本打开。
# `MINIGEN_QUICK=1`（或 `--quick`）只训练几秒钟，而且用的是这个任务的简单版本：
# 这时模型只能答对很少的日期，这在意料之中。完整运行会在困难版本（见下文）上训练
# 几分钟，在这个版本上，即使是训练好的模型，也会犯本课所讨论的那些错误。

# %%
import os
import sys
import tempfile

# 这些矩阵很小：一个 BLAS 线程比多个线程更快，而当其他程序争用 CPU 核心时还要快得多。
# 这必须在加载 NumPy 之前设置。
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import minigen  # noqa: E402
from minigen.data import date_pairs, date_vocabs, encode_pairs  # noqa: E402
from minigen.metrics import corpus_bleu, exact_match  # noqa: E402
from minigen.models.seq2seq import Seq2Seq, plot_attention  # noqa: E402
from minigen.models.seq2seq import teacher_forcing_prob as minigen_teacher_forcing_prob  # noqa: E402

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)
minigen.manual_seed(0)

try:
    import matplotlib.pyplot as plt
except ImportError:                     # 绘图是可选的：pip install matplotlib
    plt = None

# %% [markdown]
# ## 任务
#
# `minigen.data.date_pairs(n, seed=...)` 生成 `(source, target)` 对：一个以二十种格式之一
# 书写的日期，以及它的 ISO 形式。数据集按*日期*划分：`split="test"` 包含全部日子中的
# 约 10%，它们从不出现在 `split="train"` 中，因此测试集上的精确匹配率衡量的是泛化能力，
# 而不是记忆。两边都是字符序列；`date_vocabs()` 给出两个词表，排在最前面的是
# `<pad>` = 0、`<bos>` = 1 和 `<eos>` = 2，`encode_pairs` 把它们填充成数组。
# `hard=True` 会加入用英文单词拼写的日期（"the third of march, nineteen ninety-eight"）、
# 相对于其他日期的日期（"two days after Feb 27, 2004"：模型必须做日历运算），
# 以及带有噪声的大小写和空格；完整运行使用的就是它。
#
#     src     (N, S)   源序列的字符，后接 <pad>
#     tgt_in  (N, T)   <bos> y_1 ... y_10        解码器读入的内容
#     tgt_out (N, T)   y_1 ... y_10 <eos>        解码器必须预测的内容

# %%
src_vocab, tgt_vocab = date_vocabs()
HARD = not QUICK
train_pairs = date_pairs(5_000 if QUICK else 50_000, seed=0, split="train", hard=HARD)
test_pairs = date_pairs(200 if QUICK else 500, seed=1, split="test", hard=HARD)
src, tgt_in, tgt_out = encode_pairs(train_pairs, src_vocab, tgt_vocab)
test_src, test_in, test_out = encode_pairs(test_pairs, src_vocab, tgt_vocab)
test_targets = [t for _, t in test_pairs]
for s, t in train_pairs[:6]:
    print(f"{s!r:50s} -> {t!r}")
print(f"source vocabulary {src_vocab.vocab_size}, target vocabulary {tgt_vocab.vocab_size}; "
      f"src {src.shape}, tgt_in {tgt_in.shape}")
print("tgt_in[0] =", tgt_in[0].tolist(), "  tgt_out[0] =", tgt_out[0].tolist())

# %% [markdown]
# ## 编码器、解码器与瓶颈
#
# minigen 的 `Seq2Seq`（请阅读 `minigen/models/seq2seq.py`）是 Bahdanau et al.
# 的模型的一个简化形式：
#
#     enc_out = [GRU_fwd(src); GRU_bwd(src)]                    (B, S, D)  每个源字符一个向量
#     s_0     = tanh(W_init [h_fwd(last); h_bwd(first)])        (B, H)     解码器的初始状态
#     对每个目标步 i，y_{i-1} 为前一个词元（第一步为 <bos>）：
#         c_i      = attention(s_{i-1}, enc_out)                (B, D)     为这一步所做的源序列摘要
#         s_i      = GRUCell([E y_{i-1}; c_i], s_{i-1})         (B, H)
#         logits_i = W_out [s_i; c_i] + b_out                   (B, V)
#
# 没有注意力时，`s_0` 必须在一个由 `H` 个数组成的向量中携带整个日期的每一位数字，
# 而且解码器无法回看。有了注意力，每一步都会计算编码器状态各自的加权平均，权重表示
# *此刻*哪些源字符重要：要写年份，就去看年份。
#
# 与 Bahdanau et al. 的不同之处：他们的 `s_0` 只来自反向编码器的第一个状态
# （`tanh(W_s h_bwd(first))`），而他们的输出层是一个 maxout 层，读入的是 `s_{i-1}`、
# `y_{i-1}` 和 `c_i`，而不是 `s_i` 和 `c_i`。
#
# ## 练习 11.1：加性（Bahdanau）注意力
#
# 对于查询 `q`（解码器的状态，`(B, H)`）和键 `k_j`（编码器的输出，`(B, S, D)`）：
#
#     e_j       = v . tanh(W_q q + W_k k_j)       (B, S)   每个源位置一个分数
#     weights   = softmax_j(e)                    (B, S)   它们对 j 求和为 1
#     context   = sum_j weights_j k_j             (B, D)
#
# 其中 `W_q (A, H)`、`W_k (A, D)`、`v (A,)`（即 PyTorch 风格的线性层的权重：
# `W_q q` 就是 `q @ W_q.T`）。之所以叫“加性”，是因为查询和键在 `tanh` 之内通过求和
# 相结合，而点积注意力（第 7 课）则把它们相乘。填充位置不能得到任何注意力：在 `mask`
# 为 False 的地方，权重恰好为 0（在 softmax 之前把分数设为 `-inf`）。和往常一样，
# 在 `exp` 之前先减去每行的最大值。


# %%
def additive_attention(query, keys, W_q, W_k, v, mask=None):
    """加性注意力。query (B, H)，keys (B, S, D)，W_q (A, H)，W_k (A, D)，v (A,)，mask (B, S) 布尔数组或 None。

    返回 ``(context, weights)``：context (B, D) = sum_j weights[:, j] keys[:, j]，而
    weights (B, S) = 对 j 做 softmax 的 e_j = v . tanh(W_q q + W_k k_j)，在 mask 为 False
    处恰好为 0（mask=None：每个位置都是真实的）。
    """
    ### BEGIN SOLUTION
    hidden = np.tanh((query @ W_q.T)[:, None, :] + keys @ W_k.T)   # (B, S, A)：W_q q 在 j 上广播
    e = hidden @ v                                                  # (B, S) 分数
    if mask is not None:
        e = np.where(mask, e, -np.inf)                              # 填充位置：权重 exp(-inf) = 0
    e = e - e.max(axis=1, keepdims=True)                            # 不会上溢的 softmax
    w = np.exp(e)
    weights = w / w.sum(axis=1, keepdims=True)                      # (B, S)
    context = np.einsum("bs,bsd->bd", weights, keys)                # (B, D)
    ### END SOLUTION
    return context, weights


# %% [markdown]
# minigen 的 `Seq2Seq.attention(s, enc_out, enc_proj, src_mask)` 用它自己的层计算同样的
# 东西：`attn_dec` 是 `W_q`，`attn_enc` 是 `W_k`（带一个偏置 `b`，即
# `tanh(W_q q + W_k k_j + b)`；这里我们把它设为 0），`attn_v` 是 `v`。把我们的权重交给
# 一个小型的 float64 模型，两者的结果必须一致：

# %%
B, S, H, A = 3, 7, 5, 4
tiny = Seq2Seq(src_vocab.vocab_size, tgt_vocab.vocab_size, embed_dim=4, hidden_size=H, attn_dim=A, dtype="float64")
W_q, W_k, v = rng.standard_normal((A, H)), rng.standard_normal((A, 2 * H)), rng.standard_normal(A)
tiny.attn_dec.weight = minigen.nn.Parameter(W_q)
tiny.attn_enc.weight = minigen.nn.Parameter(W_k)
tiny.attn_enc.bias = minigen.nn.Parameter(np.zeros(A))
tiny.attn_v.weight = minigen.nn.Parameter(v[None, :])                # (1, A)：一个输出单个分数的线性层

query, keys = rng.standard_normal((B, H)), rng.standard_normal((B, S, 2 * H))
mask = np.arange(S)[None, :] < np.array([[7], [4], [1]])             # 各行分别有 7、4 和 1 个真实字符
ctx_ref, w_ref = tiny.attention(minigen.Tensor(query), minigen.Tensor(keys), tiny.attn_enc(minigen.Tensor(keys)), mask)
context, weights = additive_attention(query, keys, W_q, W_k, v, mask)
print("max |context - minigen| =", np.abs(context - ctx_ref.data).max())
print("max |weights - minigen| =", np.abs(weights - w_ref.data).max())
print("weights of the row with 4 real characters:", weights[1].round(3))

# %% [markdown]
# ### 反向传播
#
# minigen 的自动微分对 `Seq2Seq.attention` 逐个运算地求导。若对批量中的每一行手工
# 写出来，沿前向传播倒着走（记 `a_j = W_q q + W_k k_j`，`u_j = tanh(a_j)`）：
#
#     前向传播是 context = sum_j w_j k_j，所以    dw_j = dcontext . k_j,           dk_j  = w_j dcontext
#     前向传播是 w = softmax(e)，所以             de_j = w_j (dw_j - sum_i w_i dw_i)
#     前向传播是 e_j = v . u_j，所以              dv   = sum_j de_j u_j,           du_j  = de_j v
#     前向传播是 u_j = tanh(a_j)，所以            da_j = du_j * (1 - u_j^2)
#     前向传播是 a_j = W_q q + W_k k_j，所以      dq   = W_q^T sum_j da_j,         dk_j += W_k^T da_j,
#                                                 dW_q = sum_j da_j q^T,           dW_k  = sum_j da_j k_j^T
#
# 查询在每个源位置上都被用到，所以它的梯度要对 `j` 求和；每个键都得到两份梯度，
# 一份作为值（经过 `context`），一份作为键（经过分数）。在填充位置 `w_j = 0`，
# 所以 `de_j = 0`：填充位置不会经由分数得到任何梯度。

# %% [markdown]
# ## 教师强制
#
# 解码器是一个语言模型，也像语言模型那样训练：在第 `i` 步，它读入*真实的*前一个词元
# `tgt_in[:, i]`，并以 `tgt_out[:, i]` 的交叉熵来评分。这就是**教师强制**：每一步都
# 从正确的前缀开始训练，所以全部 `T` 个损失在一次传播中就能得到，梯度也表现良好。
# `Seq2Seq.loss(src, tgt_in, tgt_out)` 做的正是这件事（`tgt_out` 中的填充位置被忽略）。
# 我们用 Adam 和梯度裁剪进行训练，每个随机批量的源序列被截断到其中最长的那一行。

# %%
STEPS = 40 if QUICK else 500
BATCH = 64


def batch(step_rng, size=BATCH):
    idx = step_rng.integers(0, len(train_pairs), size)
    s = src[idx]
    return s[:, :(s != 0).sum(1).max()], tgt_in[idx], tgt_out[idx]    # (B, S_max), (B, T), (B, T)


def new_model():
    minigen.manual_seed(0)                                             # 两个模型从相同的权重开始
    model = Seq2Seq(src_vocab.vocab_size, tgt_vocab.vocab_size, embed_dim=16, hidden_size=64)
    return model, minigen.optim.Adam(model.parameters(), lr=3e-3)


def train_step(model, optimizer, s, t_in, t_out):
    loss = model.loss(s, t_in, t_out)
    optimizer.zero_grad()
    loss.backward()
    minigen.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    return loss.item()


tf_model, optimizer = new_model()
step_rng = np.random.default_rng(1)
tf_losses = [train_step(tf_model, optimizer, *batch(step_rng)) for _ in range(STEPS)]
print(f"teacher forcing, {STEPS} steps: loss {tf_losses[0]:.3f} -> {np.mean(tf_losses[-10:]):.3f}")

# %% [markdown]
# ## 曝光偏差
#
# 测试时没有真实的前缀：解码器读入的是它*自己*的前一个输出（自由运行）。在训练中，
# 它从未见过错误的前缀，所以一旦犯了第一个错误，它就离开了训练时所见的分布，
# 错误可能会不断累积。Ranzato et al. (2016) 把这称为**曝光偏差**。
#
# 我们可以测量它。对每个目标位置，比较解码器读入真实前缀时（`model(src, tgt_in)`，
# 教师强制）下一个词元的准确率，与它读入自己的输出时（`greedy_decode`，自由运行）的
# 准确率。两者在第一个位置上相同；此后拉开的差距，就是读入自己的错误所付出的代价。

# %%
def position_accuracy(model, src_ids, t_in, t_out):
    """每个目标位置上的准确率：教师强制时的，以及自由运行（贪心解码）时的。"""
    with minigen.no_grad():
        forced = model(src_ids, t_in).data.argmax(-1)                 # (N, T)：读入真实的前缀
    free = model.greedy_decode(src_ids, max_len=t_out.shape[1]).sequences   # (N, <= T)：读入自己的输出
    free = np.pad(free, ((0, 0), (0, t_out.shape[1] - free.shape[1])))     # 填充永远不会与字符相匹配
    real = t_out != 0
    return ((forced == t_out) & real).sum(0) / real.sum(0), ((free == t_out) & real).sum(0) / real.sum(0)


acc_forced, acc_free = position_accuracy(tf_model, test_src, test_in, test_out)
print("position            " + "".join(f"{c:>6s}" for c in list("YYYY-MM-DD") + ["<eos>"]))
print("teacher forced acc. " + "".join(f"{a:6.2f}" for a in acc_forced))
print("free running acc.   " + "".join(f"{a:6.2f}" for a in acc_free))

# %% [markdown]
# 在快速模式下，模型还很差，自由运行从第二个位置起就落后了：前缀中的每个错误都让下一个
# 错误更可能发生。完整运行之后，这两行几乎相等。训练好的模型很少犯错，错误集中在
# 末尾的日期数字上（相对日期需要做算术），之后也没有多少内容可以被它们带坏；注意力
# 还让解码器在每一步都能重新读取源序列，所以它对自身历史的依赖比语言模型要小。
# 当错误来得早而且频繁时，曝光偏差的危害最大：输出很长、任务很难、模型很小。

# %% [markdown]
# ## 计划采样
#
# Bengio et al. (2015) 从训练这一侧来缩小这个差距：在解码器的每个输入处抛一枚硬币；
# 以概率 `epsilon` 送入真实的词元（教师强制），否则送入模型自己的预测。在训练初期，
# 预测只是噪声，所以 `epsilon` 从接近 1 的值开始，随着训练的进行而衰减：这是一门
# 从教师强制走向自由运行的课程（curriculum）。他们的逆 sigmoid 计划，对于常数 `k >= 1`：
#
#     epsilon(step) = k / (k + exp(step / k))
#
# 从 `k / (k + 1)` 开始，在 `step = k ln k` 处为 1/2，随后像 sigmoid 一样下降到 0；
# `k` 越大，衰减开始得越晚，也越慢。
#
# ## 练习 11.2：逆 sigmoid 计划
#
# 编写 `teacher_forcing_prob(step, k)`。对于任何步数，它都必须保持有限且不产生警告：
# 当 `step / k > 709` 时，`exp(step / k)` 会上溢。把分子分母同除以 `k`：
# `epsilon = 1 / (1 + exp(step / k - ln k)) = sigmoid(ln k - step / k)`，并回想第 5 课中
# 不会上溢的 sigmoid。


# %%
def teacher_forcing_prob(step, k):
    """对 step >= 0 和 k >= 1 计算 k / (k + exp(step / k))：一个位于 [0, k / (k + 1)] 的浮点数，对任何步数都是有限的。

    最大值 k / (k + 1) < 1 出现在第 0 步；步数很大时，这个值会下溢，此时 0.0 就是正确的结果。
    """
    ### BEGIN SOLUTION
    x = np.log(k) - step / k
    return float(0.5 * np.tanh(0.5 * x) + 0.5)
    ### END SOLUTION


for k in (10.0, 100.0, 1000.0):
    ours = [teacher_forcing_prob(s, k) for s in (0, 500, 2000, 10**6)]
    theirs = [minigen_teacher_forcing_prob(s, k=k) for s in (0, 500, 2000, 10**6)]
    print(f"k = {k:6.0f}: ours {np.round(ours, 4).tolist()}   minigen {np.round(theirs, 4).tolist()}")

if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 3))
    steps = np.arange(0, 3000, 10)
    for k in (50.0, 150.0, 300.0):
        ax.plot(steps, [teacher_forcing_prob(int(s), k) for s in steps], label=f"inverse sigmoid, k = {k:.0f}")
    ax.plot(steps, [minigen_teacher_forcing_prob(int(s), "linear", decay_steps=3000) for s in steps], "--",
            label="linear decay over 3000 steps")
    ax.set_xlabel("training step")
    ax.set_ylabel("P(feed the gold token)")
    ax.set_title("Scheduled sampling: the teacher-forcing probability")
    ax.legend(fontsize=8)
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## 练习 11.3：抛硬币
#
# 给定解码器的真实输入 `targets`，以及模型在相同位置上的预测 `predictions`（两个形状
# 相同的整数数组），返回要送入解码器的输入：在每个位置上独立地以概率 `p` 取目标，
# 否则取预测。用 `rng`（一个 `np.random.Generator`）来抛硬币，每个位置一个均匀分布的数：
# `rng.random(targets.shape) < p`。`p = 1` 就是教师强制，`p = 0` 就是自由运行。


# %%
def choose_decoder_inputs(targets, predictions, p, rng):
    """一个与 targets 形状相同的新整数数组：概率为 p 的硬币选中之处取 targets，其余取 predictions。"""
    ### BEGIN SOLUTION
    coins = rng.random(targets.shape) < p
    return np.where(coins, targets, predictions)
    ### END SOLUTION


demo_in = choose_decoder_inputs(np.full((4, 10), 7), np.full((4, 10), 3), 0.7, np.random.default_rng(0))
print(demo_in, "\nfraction of gold tokens:", (demo_in == 7).mean())

# %% [markdown]
# ### 用计划采样进行训练
#
# Bengio et al. 送入的是*同一次*传播中的预测：解码器运行一步，它的 argmax（以概率
# `1 - epsilon`）成为下一个输入，依此类推。minigen 的
# `Seq2Seq.loss(src, tgt_in, tgt_out, teacher_forcing=epsilon)` 就是这样一步一步做的。
# 这里我们使用**并行**近似（Duckworth et al. 2019），它只需要你写的两个函数：
# 一次不计算梯度的教师强制传播，同时给出模型在每个位置上的预测；硬币把它们与
# 真实的输入混合起来；第二次普通的教师强制传播在混合后的输入上进行，并对照真实的输出
# 计算损失。输入位置 `i` 的预测是第 `i - 1` 步的 argmax；第一个输入仍是 `<bos>`，
# 而 `<pad>`/`<bos>` 永远不会被预测出来。初始权重、批量和步数都与教师强制的模型相同。

# %%
K_SCHEDULE = 12.0 if QUICK else 100.0            # 在第 k ln k 步时 epsilon = 1/2：30（快速模式）或 461


def predicted_inputs(model, s, t_in):
    """(B, T) 的 id：<bos>，随后是模型对之后每个输入位置的 argmax 预测（不计算梯度）。"""
    with minigen.no_grad():
        logits = model(s, t_in).data                                   # (B, T, V)，教师强制
    logits[..., [tgt_vocab.pad_id, tgt_vocab.bos_id]] = -np.inf        # 永远不送入 <pad> 或 <bos>
    return np.concatenate([t_in[:, :1], logits[:, :-1].argmax(-1)], axis=1)


ss_model, optimizer = new_model()
step_rng, coin_rng = np.random.default_rng(1), np.random.default_rng(2)
ss_losses, epsilons = [], []
for step in range(STEPS):
    s, t_in, t_out = batch(step_rng)
    epsilon = teacher_forcing_prob(step, K_SCHEDULE)
    mixed = choose_decoder_inputs(t_in, predicted_inputs(ss_model, s, t_in), epsilon, coin_rng)
    ss_losses.append(train_step(ss_model, optimizer, s, mixed, t_out))
    epsilons.append(epsilon)
print(f"scheduled sampling, {STEPS} steps: epsilon {epsilons[0]:.2f} -> {epsilons[-1]:.2f}, "
      f"loss {ss_losses[0]:.3f} -> {np.mean(ss_losses[-10:]):.3f}")

if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 3))
    smooth = np.ones(5) / 5
    ax.plot(np.convolve(tf_losses, smooth, "valid"), label="teacher forcing")
    ax.plot(np.convolve(ss_losses, smooth, "valid"), label="scheduled sampling")
    if not QUICK:
        ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("training loss (nats/token)")
    ax.legend()
    fig.tight_layout()
    plt.show()

# %% [markdown]
# 计划采样的损失是在混合后的输入上测量的，所以两条曲线并不完全可比：在训练后期，
# 它是一个读入了自己的部分错误的解码器的损失。真正重要的是测试集。
#
# ## 贪心解码与束搜索解码、精确匹配率与 BLEU
#
# `greedy_decode` 在每一步取 argmax；`beam_decode(src, num_beams=K)` 对每一行运行
# 第 10 课中束宽逐渐收窄的束搜索，并返回其中最好的已完成假设
# （`score = sum log p / length ** length_penalty`）。在留出的日期上用两个指标评估：
#
# - **精确匹配率**：与目标完全相同的输出所占的比例（`minigen.metrics.exact_match`）；
# - **BLEU**（`minigen.metrics.corpus_bleu`），即机器翻译中经过截断的 n 元语法精确率，
#   再乘以一个简短惩罚。它按空白字符切分，所以我们把 `"1998-03-03"` 写成
#   `"1 9 9 8 - 0 3 - 0 3"` 来按字符评分。它会给出部分分数：一个错了一位数字的日期，
#   仍然与目标共享大部分字符 n 元语法。

# %%
def char_bleu(outputs, targets):
    return corpus_bleu([" ".join(o) for o in outputs], [[" ".join(t) for t in targets]]).score


n_beam = 30 if QUICK else 200                    # 束搜索一次解码一行：只取一个子集
results = {}
for name, model in [("teacher forcing", tf_model), ("scheduled sampling", ss_model)]:
    greedy = tgt_vocab.decode(model.greedy_decode(test_src, max_len=12).sequences)
    beam = tgt_vocab.decode(model.beam_decode(test_src[:n_beam], num_beams=4, max_len=12).sequences)
    results[name] = dict(greedy=greedy, beam=beam)
    print(f"{name:18s}  greedy: exact match {exact_match(greedy, test_targets):5.1%}, "
          f"BLEU {char_bleu(greedy, test_targets):5.1f}   |   on the first {n_beam}: "
          f"greedy {exact_match(greedy[:n_beam], test_targets[:n_beam]):5.1%}, "
          f"beam (K = 4) {exact_match(beam, test_targets[:n_beam]):5.1%}")

print()
for (source, target), g, b in list(zip(test_pairs, results["teacher forcing"]["greedy"],
                                       results["teacher forcing"]["beam"]))[:6]:
    print(f"{source!r:50s} target {target}  greedy {g!r:14s} beam {b!r}")

# %% [markdown]
# 训练良好的模型对大多数字符都很有把握，所以束搜索很少改变它的答案；在模型犹豫于
# 两种续写之间的地方，束搜索才有帮助。计划采样能否提高最终的准确率，取决于任务和
# 计划（Bengio et al. 报告了提升；后来的工作发现，一旦模型足够强，提升就很小）；
# 在这个任务上，完整运行之后，两个模型最终相差无几。
#
# ### 每个位置上的曲线，以及一个错误的词元
#
# 下图对两个模型重复了曝光偏差的测量。还有一个更直接的测试，检验计划采样训练的
# 究竟是什么：给解码器真实的前缀，但把其中*一位*数字换成错误的数字，然后测量读入它的
# 以及在它之后的那些输出的准确率。在训练中见过自己错误的模型，损失可能会小一些；
# 小多少，取决于它的解码器在多大程度上依赖自身的历史，而不是源序列。

# %%
acc_forced_ss, acc_free_ss = position_accuracy(ss_model, test_src, test_in, test_out)


def one_wrong_digit(t_in, seed=0):
    """把 t_in 中的一个数字输入（y_1..y_4、y_6、y_7 或 y_9）换成另一个数字的结果，以及被替换的位置。"""
    r = np.random.default_rng(seed)
    digits = np.array([tgt_vocab.stoi[d] for d in "0123456789"])
    where = r.choice([1, 2, 3, 4, 6, 7, 9], size=len(t_in))            # tgt_in[:, i] 存放的是 y_i
    wrong = t_in.copy()
    for n, i in enumerate(where):
        wrong[n, i] = r.choice(digits[digits != t_in[n, i]])
    return wrong, where


wrong_in, where = one_wrong_digit(test_in)
after = np.arange(test_out.shape[1])[None, :] >= where[:, None]        # 读入了那个错误数字的输出
for name, model in [("teacher forcing", tf_model), ("scheduled sampling", ss_model)]:
    with minigen.no_grad():
        clean = model(test_src, test_in).data.argmax(-1)
        hurt = model(test_src, wrong_in).data.argmax(-1)
    print(f"{name:18s}  accuracy after the position: gold prefix {((clean == test_out) & after).sum() / after.sum():.3f}"
          f", one wrong digit {((hurt == test_out) & after).sum() / after.sum():.3f}")
if plt is not None:
    fig, ax = plt.subplots(figsize=(9, 3.5))
    labels = list("YYYY-MM-DD") + ["<eos>"]
    ax.plot(acc_forced, "o-", color="C0", label="teacher forcing model, read gold prefix")
    ax.plot(acc_free, "o--", color="C0", label="teacher forcing model, free running")
    ax.plot(acc_forced_ss, "s-", color="C1", label="scheduled sampling model, read gold prefix")
    ax.plot(acc_free_ss, "s--", color="C1", label="scheduled sampling model, free running")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_xlabel("target position")
    ax.set_ylabel("accuracy")
    ax.set_title("Exposure bias: accuracy per position on held-out dates")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## 解码器在看什么
#
# `greedy_decode` 还会返回每个输出步的注意力权重 `(B, L, S)`，`plot_attention` 把它们
# 画出来：每个输出字符一行，每个源字符一列。训练好的模型在写年份时读取年份，在写月份时
# 读取月份的名称，最后才读取日。（在快速模式下只训练了几秒钟，图像仍然是模糊的。）

# %%
out_dir = tempfile.mkdtemp(prefix="minigen_seq2seq_")


def show_png(path):
    """按原始尺寸显示 minigen 写出的 PNG 图像。"""
    if plt is None:
        return
    image = plt.imread(path)
    fig = plt.figure(figsize=(image.shape[1] / 100, image.shape[0] / 100))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(image)
    ax.axis("off")
    plt.show()


for i, example in enumerate(["Tuesday, March 3, 1998", "25.12.2031", "jul 4 76"]):
    ids = src_vocab.encode([example])                                   # (1, S)
    out = tf_model.greedy_decode(ids, max_len=12)
    text = tgt_vocab.decode(out.sequences)[0]
    rows = list(text) + ["<eos>"]                                       # 产生了输出的那些步
    print(f"{example!r:26s} -> {text!r}")
    if i == 0 or not QUICK:
        path = plot_attention(out.attentions[0], list(example), rows, os.path.join(out_dir, f"attention_{i}.png"),
                              title=f"{example} -> {text}")
        show_png(path)

# %% [markdown]
# ## 练习
#
# 1. （计分：上面的 11.1 `additive_attention`、11.2 `teacher_forcing_prob` 和 11.3
#    `choose_decoder_inputs`。）`python -m minigen grade . --public-only` 对你的函数
#    运行公开检查。
# 2. 把完整运行（困难任务）在留出数据上的精确匹配率按源序列的类型分解：纯数字、
#    带月份名称、用单词拼写、相对日期（"two days after ..."）。哪一类最难？模型必须
#    计算什么才能答对？计划采样对某一类的帮助是否比对其他类更大？
# 3. 把并行近似换成 minigen 的逐步计划采样，即
#    `model.loss(s, t_in, t_out, teacher_forcing=epsilon)`，再试试加上
#    `sampling="sample"`（送入一个采样得到的词元，而不是 argmax）。比较每个位置上
#    自由运行的准确率。
# 4. 关掉注意力：继承 `Seq2Seq` 并重写 `attention`，让它在真实字符上返回均匀的权重
#    （这时上下文就是编码器状态的平均值）。模型会变差多少？它的错误集中在日期的
#    哪个部分？
