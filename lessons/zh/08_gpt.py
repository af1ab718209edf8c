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
# # 第 8 课：用块搭建 GPT
#
# 第 7 课构建了因果多头自注意力。GPT（Radford et al., 2018）差不多就是把它一层层堆叠起来，
# 再加上三样东西：位置嵌入、层归一化，以及每个注意力之后的一个小型多层感知机（MLP）：
#
#     ids (B, T)
#       x = wte[ids] + wpe[0..T-1]                 (B, T, C)    词元嵌入 + 学到的位置嵌入
#       重复 n_layer 次，每次一个 Block：
#           x = x + attn(ln_1(x))                  (B, T, C)    因果多头自注意力
#           x = x + mlp(ln_2(x))                   (B, T, C)    Linear(C, 4C) -> GELU -> Linear(4C, C)
#       logits = ln_f(x) wte^T                     (B, T, V)    最后的层归一化，输出头与 wte 绑定
#
# 形状：B = 批量大小，T = 时间（位置，至多 `block_size` 个），C = 通道数
# （`n_embd`），nh = 头数，hs = C / nh，V = 词表大小。
#
# 有两个设计让深层的堆叠能够训练。**残差连接** `x = x + f(x)` 为梯度提供了一条
# 从损失直达嵌入的通路，就像第 5 课中长短期记忆网络的记忆元那样：无论各个块做了什么，
# `dx` 都原样穿过每一次加法。此外，这些块采用**前置层归一化**（pre-LayerNorm）：
# 每个分支对自己的*输入*做归一化（`attn(ln_1(x))`），而残差流本身保持不变
# （原始的 Transformer 在加法之后做归一化，训练时需要仔细地对学习率做预热）。
#
# 你将编写层归一化（前向与反向传播），再用 minigen 自己的子模块搭出一个块；
# 统计参数量；在莎士比亚文本上训练一个很小的字符级 GPT；并比较使用和不使用
# 第 7 课的键值缓存时生成文本的耗时。
#
# 可以把它当作脚本运行（`python 08_gpt.py`），也可以用 jupytext 把它作为笔记本打开。
# `MINIGEN_QUICK=1`（或 `--quick`）会缩短训练部分。

# %%
import os
import sys
import time

import minigen  # 放在最前面：minigen 会设置 OpenBLAS 的线程数，这必须在加载 NumPy 之前完成
import numpy as np

import minigen.functional as F
from minigen.functional.attention import merge_heads, split_heads
from minigen.kernels.layernorm import layer_norm_backward as minigen_ln_backward
from minigen.kernels.layernorm import layer_norm_forward as minigen_ln_forward
from minigen.models import GPT, GPTConfig
from minigen.models.gpt import Block

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)

try:
    import matplotlib.pyplot as plt
except ImportError:                     # 绘图是可选的：pip install matplotlib
    plt = None

# %% [markdown]
# ## 层归一化
#
# 每个块都通过一个层归一化来读取残差流。它把每个位置的 C 个通道归一化为均值 0、
# 方差 1，再让网络用学到的 `gamma` 和 `beta` 对它们进行缩放和平移（minigen 的
# `nn.LayerNorm` 把它们称为 `weight` 和 `bias`）：
#
#     mu    = mean_c x_c                      (..., 1)   每个位置一个均值
#     var   = mean_c (x_c - mu)^2             (..., 1)   有偏估计（除以 C），与 PyTorch 相同
#     rstd  = 1 / sqrt(var + eps)             (..., 1)
#     xhat  = (x - mu) * rstd                 (..., C)
#     y     = xhat * gamma + beta             (..., C)   gamma、beta 的形状为 (C,)
#
# 与批量归一化不同，这里既不在批量之间、也不在位置之间共享任何东西：每个 (b, t) 行
# 单独归一化，因此训练和生成计算的是同一个东西。无论残差流的尺度增长到多大，
# 每个块看到的输入都大小适中。
#
# 上面画出的块是 GPT-2 的（Radford et al., 2019）：层归一化位于注意力和多层感知机
# *之前*，在残差分支之内（前置归一化，pre-LN），并且最后一个块之后还有一个 `ln_f`。
# 第一代 GPT（2018）则和原始的 Transformer 一样，在每次残差加法*之后*做归一化
# （后置归一化，post-LN）；在深层的堆叠中，pre-LN 训练起来更稳定。
#
# 要用中心化后的值 `x - mu` 计算方差（遍历两遍），而不要用 `mean(x^2) - mu^2`：
# 对于在 1e6 附近、离散程度为 1 的输入，这个差是两个接近 1e12 的数相减，而它们的差
# 只有 1 左右。在 float64（16 位有效数字）中，它只保留大约 4 位正确的数字；在 float32
# （7 位）中一位也不剩，甚至可能算出负数。在 1,000 行、每行 64 个值上测得：

# %%
for dtype in (np.float64, np.float32):
    x_big = (1e6 + np.random.default_rng(0).standard_normal((1000, 64))).astype(dtype)
    mu_big = x_big.mean(axis=-1, keepdims=True)
    two_pass = ((x_big - mu_big) ** 2).mean(axis=-1)
    one_pass = (x_big * x_big).mean(axis=-1) - mu_big[:, 0] ** 2
    print(f"{dtype.__name__}: median relative error of the one-pass variance "
          f"{np.median(np.abs(one_pass / two_pass - 1)):.1e}, negative in {np.mean(one_pass < 0):.0%} of the rows")

# %% [markdown]
# ## 练习 8.1：层归一化的前向传播
#
# 在 `x (..., C)` 的**最后**一个轴上做归一化。返回 `y`（形状与 `x` 相同）以及一个
# `cache`，其中存放你的反向传播需要的东西。


# %%
def layer_norm_forward(x, gamma, beta, eps=1e-5):
    """在最后一个轴上做层归一化。x (..., C)，gamma 和 beta (C,)。返回 ``(y, cache)``，y 的形状与 x 相同。"""
    ### BEGIN SOLUTION
    mu = x.mean(axis=-1, keepdims=True)                  # (..., 1)
    xc = x - mu                                          # (..., C)
    var = (xc * xc).mean(axis=-1, keepdims=True)         # (..., 1)，由中心化后的值计算
    rstd = 1.0 / np.sqrt(var + eps)                      # (..., 1)
    xhat = xc * rstd                                     # (..., C)
    y = xhat * gamma + beta                              # (..., C)
    cache = (xhat, rstd, gamma)
    ### END SOLUTION
    return y, cache


# %% [markdown]
# 与 minigen 的核函数 `minigen.kernels.layernorm.layer_norm_forward` 进行比较，
# 它接收 PyTorch 的 `normalized_shape` 参数：

# %%
B, T, C = 2, 3, 5
x = rng.standard_normal((B, T, C)) * 3 + 1
gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
y, _ = layer_norm_forward(x, gamma, beta)
y_ref, _ = minigen_ln_forward(x, (C,), gamma, beta, 1e-5)
print("max |y - minigen| =", np.abs(y - y_ref).max())
y_plain, _ = layer_norm_forward(x, np.ones(C), np.zeros(C))
print("without gamma and beta, each row has mean", y_plain.mean(-1).round(12)[0], "and variance",
      y_plain.var(-1).round(4)[0])

# %% [markdown]
# ## 练习 8.2：层归一化的反向传播
#
# 给定 `dy (..., C)`，返回 `dx (..., C)`、`dgamma (C,)` 和 `dbeta (C,)`。
#
# - 前向传播是 `y = xhat * gamma + beta`，所以 `dbeta = sum dy`，
#   `dgamma = sum dy * xhat`，都在除最后一个轴以外的所有轴上求和（所有位置
#   共享同一个 gamma），而 `dxhat = dy * gamma`；
# - 前向传播是 `xhat = (x - mu) * rstd`，其中 `mu` 和 `rstd` 也依赖于这一行的每个
#   `x_j`：`d mu / d x_j = 1/C`，并且
#   `d var / d x_j = (2/C) sum_c (x_c - mu) (delta_cj - 1/C) = (2/C) (x_j - mu)`，
#   因为中心化后的值 `x_c - mu`（因而 `xhat` 也一样）在一行上**之和为零**，这就消去了
#   `1/C` 那一项。于是 `d rstd / d x_j = -rstd^2 xhat_j / C`。
#   链式法则给出三项：直接的一项、经过 `mu` 的一项和经过 `rstd` 的一项：
#
#       dx_j = rstd dxhat_j  -  rstd mean_c(dxhat)  -  rstd xhat_j mean_c(dxhat * xhat)
#
#   也就是
#
#       dx = rstd * (dxhat - mean_c(dxhat) - xhat * mean_c(dxhat * xhat))
#
#   （两个均值都沿最后一个轴计算，每行一个）。可以把它理解为一个投影：把一行整体平移，
#   或者以它的均值为中心缩放，都不会改变 `xhat`（在 eps 的影响之内），所以 `dx`
#   在全 1 方向上和 `xhat` 自身的方向上都没有分量：在乘以 `rstd` 之前，`dxhat`
#   的这两个分量被去掉了。


# %%
def layer_norm_backward(dy, cache):
    """``layer_norm_forward`` 的反向传播：返回 ``(dx, dgamma, dbeta)``，dx 的形状与 x 相同，dgamma 和 dbeta 为 (C,)。"""
    ### BEGIN SOLUTION
    xhat, rstd, gamma = cache
    rows = tuple(range(dy.ndim - 1))                     # 除通道以外的所有轴
    # 前向传播是 y = xhat * gamma + beta
    dbeta = dy.sum(axis=rows)                            # (C,)
    dgamma = (dy * xhat).sum(axis=rows)                  # (C,)
    dxhat = dy * gamma                                   # (..., C)
    # 前向传播是 xhat = (x - mu) * rstd，其中 mu 和 rstd 都是整行的函数
    dx = rstd * (dxhat - dxhat.mean(axis=-1, keepdims=True)
                 - xhat * (dxhat * xhat).mean(axis=-1, keepdims=True))   # (..., C)
    ### END SOLUTION
    return dx, dgamma, dbeta


# %%
print("gradient check passed:", minigen.gradcheck_kernel(layer_norm_forward, layer_norm_backward,
                                                         {"x": x, "gamma": gamma, "beta": beta}))
dy = rng.standard_normal(x.shape)
mine = layer_norm_backward(dy, layer_norm_forward(x, gamma, beta)[1])
ref = minigen_ln_backward(dy, minigen_ln_forward(x, (C,), gamma, beta, 1e-5)[1])
for name, a, r in zip(["dx", "dgamma", "dbeta"], mine, ref):
    print(f"{name:7s} max abs difference from minigen {np.abs(a - r).max():.1e}")

# %% [markdown]
# ## 块的其他部分
#
# **嵌入。** 词元嵌入 `wte (V, C)` 为每个词元提供一个向量；不带掩码的注意力看不到顺序
# （把各个位置重新排列，它的输出也以同样的方式重新排列：它把输入当作一个集合）。
# 因果掩码打破了这种对称性，因为位置 t 关注的是 t + 1 个词元，没有任何位置嵌入的
# 因果模型确实能从中学到一些位置信息；但 GPT 还是加上了一个学到的**位置嵌入**
# `wpe (block_size, C)`：第 t 行表示“我在位置 t”。GPT 无法读取超过 `block_size` 个
# 位置，因为没有对应于位置 `block_size` 的那一行。
#
# **因果自注意力**就是第 7 课的多头注意力，其中 `query = key = value = ln_1(x)`，
# 并使用因果掩码。在 minigen 中，它是一个 `batch_first=True` 的
# `nn.MultiheadAttention`，调用时传入 `is_causal=True`。
#
# **多层感知机**分别作用于每个位置：`Linear(C, 4C)`、一个 GELU、`Linear(4C, C)`。
# 注意力在位置*之间*传递信息；多层感知机则对已经传到的信息进行计算。GELU 即
# `x * Phi(x)`，其中 `Phi` 是标准正态分布的累积分布函数（CDF），它是一个光滑的 ReLU；
# GPT-2 使用的是近似式 `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`。
#
# 下面是一个小型的 minigen GPT。它的参数名沿用 GPT-2 的命名（`h.0.ln_1`、
# `h.0.attn`、`h.0.mlp.c_fc`……），这样 `minigen.pretrained.load_gpt2` 就能加载 OpenAI 的权重。

# %%
tiny = GPT(GPTConfig(vocab_size=65, block_size=32, n_layer=1, n_head=2, n_embd=16))
print(tiny)

# %% [markdown]
# ## 练习 8.3：块
#
# `block` 是 GPT 中的一个 `minigen.models.gpt.Block`（即上面的 `tiny.h[0]`），`x` 是一个
# minigen 张量 `(B, T, C)`。用这个块的子模块计算前置层归一化的残差块，
# 反向传播交给 minigen 的自动微分：
#
#     a = ln_1(x)
#     x = x + drop(attn(a, a, a, is_causal=True))     注意力模块返回 (out, weights)；
#                                                    不需要权重时，传入 need_weights=False
#     x = x + mlp(ln_2(x))
#
# `block.drop` 是注意力分支上的残差 dropout（`dropout=0` 时它是恒等映射；多层感知机
# 内部有自己的 dropout）。不要直接调用 `block(x)`：本练习的目的就是把它组装出来。
# 检查会把你的输出，以及传到 `x` 和块中每个参数的梯度，与块自身的前向传播所得的结果进行比较。


# %%
def block_forward(x, block):
    """前置层归一化的 GPT 块：x + drop(attn(ln_1(x)))（因果），再加上 mlp(ln_2(x))。x: Tensor (B, T, C) -> (B, T, C)。"""
    ### BEGIN SOLUTION
    a = block.ln_1(x)                                                            # (B, T, C)
    attn, _ = block.attn(a, a, a, need_weights=False, is_causal=True)            # (B, T, C)
    x = x + block.drop(attn)                                                     # 残差连接 1
    x = x + block.mlp(block.ln_2(x))                                             # 残差连接 2
    ### END SOLUTION
    return x


# %% [markdown]
# 在 float64 中，让每个参数都取随机值，把它与 `Block.forward` 进行比较
# （新建的层归一化的 gamma = 1、beta = 0，会掩盖错误）。梯度是在对 `(out * dout).sum()`
# 做完反向传播之后比较的，其中 `dout` 是随机的。

# %%
def randomize(module, scale=0.3):
    for p in module.parameters():
        p.data = rng.standard_normal(p.shape) * scale


config = GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=8)
block = Block(config, dtype="float64")
randomize(block)
x_data, dout = rng.standard_normal((2, 5, 8)), rng.standard_normal((2, 5, 8))


def gradients(fn):
    block.zero_grad()
    x = minigen.tensor(x_data, requires_grad=True)
    out = fn(x)
    (out * minigen.tensor(dout)).sum().backward()
    return out.numpy(), {"x": x.grad, **{name: p.grad for name, p in block.named_parameters()}}


out, grads = gradients(lambda x: block_forward(x, block))
out_ref, grads_ref = gradients(block)
print("max |out - Block.forward| =", np.abs(out - out_ref).max())
for name in grads_ref:
    print(f"  d{name:22s} max abs difference {np.abs(grads[name] - grads_ref[name]).max():.1e}")

# %% [markdown]
# `block.attn` 内部正是第 7 课的计算。用 minigen 的函数（每个都是封装了一个核函数的
# 可微运算）写出来，注意力分支就是：

# %%
a = block.ln_1(minigen.tensor(x_data))
attn = block.attn
qkv = F.linear(a, attn.in_proj_weight, attn.in_proj_bias)              # (B, T, 3C)：一次矩阵乘法算出 q、k、v
q, k, v = (split_heads(t, attn.num_heads) for t in qkv.split(attn.embed_dim, axis=-1))  # 3 x (B, nh, T, hs)
y, _ = F.scaled_dot_product_attention(q, k, v, is_causal=True)          # (B, nh, T, hs)
y = F.linear(merge_heads(y), attn.out_proj.weight, attn.out_proj.bias)  # (B, T, C)
print("by hand == nn.MultiheadAttention:",
      np.allclose(y.numpy(), attn(a, a, a, is_causal=True, need_weights=False)[0].numpy()))

# %% [markdown]
# ## 统计参数量
#
# 设有 C 个通道，一个块包含
#
#     ln_1, ln_2               2 x (C + C)                  gamma 和 beta
#     attn  in_proj            3C x C + 3C                  堆叠在一起的 W_q、W_k、W_v 及其偏置
#           out_proj           C x C + C
#     mlp   c_fc               4C x C + 4C
#           c_proj             C x 4C + C
#                              ------------
#                              12 C^2 + 13 C
#
# 此外，模型还有 `wte (V x C)`、`wpe (block_size x C)` 和 `ln_f (2C)`。输出头
# `lm_head (V x C)` 不增加任何参数：它与 `wte` **绑定**（tied），是同一个 Parameter
# 被使用了两次（一次用来查出一个词元的向量，一次用最后的隐状态给每个词元打分）。
# 对于字符模型，V 很小；但对于 GPT-2 的 50257 个词元，一个不绑定的输出头会在
# 1.24 亿个参数之外再增加 3860 万个参数。

# %%
def gpt_parameter_count(V, block_size, n_layer, C):
    """带偏置、输出头与嵌入绑定的 GPT 的参数量，按上表计算。"""
    return V * C + block_size * C + n_layer * (12 * C * C + 13 * C) + 2 * C


cfg = tiny.gpt_config
print("formula:", gpt_parameter_count(cfg.vocab_size, cfg.block_size, cfg.n_layer, cfg.n_embd),
      "  minigen:", tiny.num_parameters(), "  lm_head is wte:", tiny.lm_head.weight is tiny.wte.weight)
print(f"GPT-2 small (V=50257, block_size=1024, 12 layers, C=768): {gpt_parameter_count(50257, 1024, 12, 768):,}")
print(f"of which per block: {12 * 768 ** 2 + 13 * 768:,}; the token embedding: {50257 * 768:,}")

# %% [markdown]
# ## 训练字符级 GPT
#
# 第 5 课中训练长短期记忆网络的那个 `Trainer` 同样可以训练 GPT：GPT 没有需要传递的
# 隐状态，所以 Trainer 从随机的偏移处取出长为 `seq_len = block_size` 个字符的窗口喂给它，
# 每个窗口的每个位置都是一个训练样本（根据前面的字符预测下一个字符；因果掩码保证了
# 模型不能偷看答案）。一个回调（callback）记录每一步的损失。
#
# 在快速模式下，模型很小，只训练 80 步：损失曲线应当下降，生成的文本学会了常见的字母、
# 空格和一些换行，但很少有真正的单词。不用快速模式时，它会训练一个更大的模型，
# 训练得也更久（几分钟），文本中会出现短的单词和说话人的名字。

# %%
from minigen.data import CharTokenizer, shakespeare, train_val_split  # noqa: E402
from minigen.train import Callback, Trainer  # noqa: E402

text = shakespeare()[: 100_000 if QUICK else 1_000_000]
tokenizer = CharTokenizer.train(text)
train_ids, val_ids = train_val_split(tokenizer.encode(text), 0.05)
if QUICK:
    config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=64, n_layer=2, n_head=2, n_embd=32)
    steps, batch_size, lr = 80, 16, 1e-2
else:
    config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=64, n_layer=4, n_head=4, n_embd=64)
    steps, batch_size, lr = 600, 16, 3e-3


class StepLosses(Callback):
    def __init__(self):
        self.losses = []

    def on_step_end(self, trainer, loss):
        self.losses.append(loss)


minigen.manual_seed(0)
model = GPT(config)
print(f"{model.num_parameters():,} parameters")
recorder = StepLosses()
optimizer = minigen.optim.Adam(model.parameters(), lr=lr)
trainer = Trainer(model, optimizer, train_ids, val_ids, tokenizer=tokenizer, batch_size=batch_size,
                  seq_len=config.block_size, max_steps=steps, warmup_steps=10, eval_interval=steps if QUICK else 200,
                  eval_tokens=4096, callbacks=[recorder], progress=not QUICK, seed=0)
trainer.fit()
print("validation loss:", round(trainer.history[-1]["val_loss"], 3), "nats per character")

if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(np.arange(1, len(recorder.losses) + 1), recorder.losses, lw=1, label="training batch")
    ax.plot([h["step"] for h in trainer.history], [h["val_loss"] for h in trainer.history], "o-",
            label="validation")
    ax.axhline(np.log(tokenizer.vocab_size), ls=":", c="gray", label="uniform guess, log V")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats per char)")
    ax.set_title("Training a character-level GPT")
    ax.legend()
    fig.tight_layout()
    plt.show()

# %% [markdown]
# 曲线从大约 `log V` 开始，这正是均匀猜测的损失：GPT-2 的初始化（较小的正态分布权重）
# 使得一开始每个词元的可能性几乎相等。现在用 `model.generate` 从模型中采样：

# %%
prompt = np.array([tokenizer.encode("ROMEO:\n")])
out = model.generate(prompt, max_new_tokens=100 if QUICK else 300, do_sample=True, temperature=0.8, seed=0)
print(tokenizer.decode(out[0].tolist()))

# %% [markdown]
# 第一层的各个头在看什么？因果掩码表现为空白的上三角。在其余的部分里，完整运行
# （不用快速模式）之后，有些头把权重放在对角线附近，即最后几个字符上；另一些头
# 则点亮了整列：许多查询都回看同一个地标，比如说话人名字后面的冒号、换行符，
# 或者这一行的第一个字母。快速模式只训练了几步，这些模式才刚刚开始形成。

# %%
sentence = "ROMEO:\nBut soft, what light"
ids = np.array([tokenizer.encode(sentence)])
with minigen.no_grad():
    x = model.wte(ids) + model.wpe(np.arange(ids.shape[1]))                     # (1, T, C)
    a = model.h[0].ln_1(x)
    _, weights = model.h[0].attn(a, a, a, is_causal=True, average_attn_weights=False)   # (1, nh, T, T)
if plt is not None:
    fig, axes = plt.subplots(1, config.n_head, figsize=(4.2 * config.n_head, 4))
    labels = [repr(c)[1:-1] for c in sentence]
    for h, ax in enumerate(np.atleast_1d(axes)):
        ax.imshow(weights.numpy()[0, h], cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(len(labels)), labels, fontsize=7)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.set_title(f"layer 0, head {h}")
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## 使用与不使用键值缓存的生成
#
# `model.generate` 调用 `model.generation_step(ids, state)`：第一次调用读入提示，
# 并为每一层填充一个键值缓冲区；之后的每次调用只送入新的词元，它对缓存下来的键和值
# 做注意力（第 7 课）。如果改为调用 `generation_step(all_ids, None)`，每一步都用一个
# 新的状态，就会把整个前缀重新算一遍：得到相同的 logits（未归一化的对数概率），只是
# 没有用缓存。下面的两个循环都用贪心解码生成，直到 `block_size` 个词元为止（超过
# `block_size` 之后窗口会滑动，无论你怎么做，minigen 都会重新读入最后 `block_size` 个词元）。

# %%
def greedy(model, prompt, n, use_cache):
    ids = prompt
    with minigen.no_grad():
        logits, state = model.generation_step(ids, None)                     # 读入提示
        for _ in range(n):
            next_id = logits.numpy()[:, -1].argmax(-1)[:, None]              # (B, 1)
            ids = np.concatenate([ids, next_id], axis=1)
            if use_cache:
                logits, state = model.generation_step(next_id, state)        # 只有一个新位置
            else:
                logits, _ = model.generation_step(ids, None)                 # 把整个前缀重新算一遍
    return ids


n_new = config.block_size - prompt.shape[1]
timings = {}
for use_cache in (False, True):
    start = time.perf_counter()
    result = greedy(model, prompt, n_new, use_cache)
    timings[use_cache] = time.perf_counter() - start
    print(f"{'with' if use_cache else 'without':7s} the cache: {n_new} tokens in {timings[use_cache]:.3f} s")
print(f"speed-up {timings[False] / timings[True]:.1f}x; same text as model.generate:",
      np.array_equal(result, model.generate(prompt, max_new_tokens=n_new)))

# %% [markdown]
# 收益随文本的长度和模型的宽度而增长：不用缓存时，第 t 个词元要对 t 个位置做一次
# 前向传播，所以 n 个词元大约要处理 `n^2/2` 个位置；用了缓存，只需处理 n 个。对于很小的
# 模型，每次调用的 Python 开销（处理 1 个位置和 64 个位置时都一样）掩盖了一部分差距。
#
# ## 练习
#
# 1. （计分：上面的 8.1 到 8.3。）`python -m minigen grade . --public-only` 对你的函数
#    运行公开检查。
# 2. 像原始的 Transformer 那样，把这个块改成后置层归一化的块 `x = ln_1(x + attn(x))`，
#    用它训练同样的 GPT（继承 `Block` 并替换 `model.h`），比较有预热和没有预热时的
#    损失曲线。
# 3. 解除输出头的绑定（`GPTConfig(tie_weights=False)`）。这在这里会增加多少参数？
#    对 GPT-2 small 又会增加多少？这个很小的模型训练得更好还是更差？
# 4. 对一个 `block_size=256` 的模型（未经训练也可以）测量两个生成循环的耗时，
#    并画出每个词元的耗时随位置变化的曲线。每条曲线是什么形状？为什么？
