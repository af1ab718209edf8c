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
# # 第 16 课：数据并行
#
# 一个进程的训练速度，就是一台机器的速度。**数据并行**（data parallelism）同时使用 N 个
# 进程（rank），它们可以在同一台机器上，也可以分布在多台机器上：每个 rank 都持有模型的
# 一份完整副本；每一步把批量分成 N 份，每个 rank 在自己的那一份上计算梯度，然后在优化器
# 更新之前，各 rank 对它们的梯度**取平均**。于是每个 rank 都走出相同的一步，各个副本始终
# 保持一致，而结果正是一个进程在整个批量上走出的那一步；只要取平均的代价很小，速度就快
# N 倍。Chainer 借助 ChainerMN 做到这一点，PyTorch 借助 `DistributedDataParallel`；minigen
# 则使用 MPI（`minigen train --distributed`）。
#
# 取平均是一次**全归约**（all-reduce）：每个 rank 贡献一个数组，每个 rank 都得到所有数组的
# 和。本课先说明为什么各 rank 梯度的平均就是大批量的梯度，然后把梯度打包进一个缓冲区，用
# 点对点消息搭建**环形 all-reduce**（NCCL 和大多数 MPI 库对大缓冲区所用的算法），对照一个
# 代价模型测量它的开销，最后讨论当每个 rank 只持有梯度的一部分时，如何按全局范数裁剪。
#
# 形状：B = 全局批量大小，N = rank 数，P = 参数量（数值的个数），C = 块数。
#
# 用 MPI 以两个 rank 运行它：`mpiexec -n 2 python 16_data_parallel.py`（`pip install
# "minigen[distributed]"` 会提供 `mpiexec`）。单独运行时（`python 16_data_parallel.py`，或作为
# 笔记本打开），它用线程模拟各个 rank，并跳过计时部分。
# `MINIGEN_QUICK=1`（或 `--quick`）会缩短运行时间。

# %%
import os
import queue
import sys
import threading
import time

import minigen  # 放在最前面：minigen 会设置 OpenBLAS 的线程数，这必须在加载 NumPy 之前完成
import numpy as np

from minigen import distributed
from minigen.models import RNNLanguageModel

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
try:
    group = distributed.init() if int(os.environ.get("PMI_SIZE") or os.environ.get("OMPI_COMM_WORLD_SIZE") or 1) > 1 \
        else distributed.SINGLE
except ImportError:                    # 没有 mpi4py：本课单独运行
    group = distributed.SINGLE
RANK, N = group.rank, group.world_size
say = print if RANK == 0 else (lambda *args, **kwargs: None)          # 由 rank 0 代表所有 rank 输出
rng = np.random.default_rng(0)
say(f"{N} rank(s)" + ("" if N > 1 else ": the ranks below are simulated with threads"))

# %% [markdown]
# ## 1. 各部分梯度的平均就是整个批量的梯度
#
# 一个批量的损失是其各行损失的均值，`L = 1/B sum_b l_b`。把 B 行分成 N 个相等的部分，每部分
# B/N 行；第 k 部分的损失是 `L_k = N/B sum_{b in k} l_b`，于是
#
#     L = 1/N sum_k L_k,        所以        grad L = 1/N sum_k grad L_k
#
# （梯度是线性的）。每个 rank 在自己的行上计算 `grad L_k`，all-reduce 把它们加起来，再除以
# N，就精确地得到 `grad L`。各部分的大小必须相等；否则每个 `grad L_k` 都必须按其行数加权。
# 下面在 float64 下的一个长短期记忆网络语言模型上验证这一点：比较 32 行上的梯度与两个
# 16 行上的梯度的平均。

# %%
V = 11
minigen.manual_seed(0)
model = RNNLanguageModel(V, embed_dim=6, hidden_size=12, num_layers=1).double()
x = rng.integers(0, V, (32, 10))
y = rng.integers(0, V, (32, 10))


def gradients(rows):
    """批量中 ``rows`` 这些行上平均交叉熵的梯度，每个参数一个数组。"""
    model.zero_grad()
    logits, _ = model(x[rows])
    minigen.functional.cross_entropy(logits.reshape(-1, V), y[rows].reshape(-1)).backward()
    return [p.grad.copy() for p in model.parameters()]


whole = gradients(slice(0, 32))
halves = [gradients(slice(0, 16)), gradients(slice(16, 32))]
mean = [(a + b) / 2 for a, b in zip(*halves)]
say("largest difference, whole batch vs the mean of the halves:",
    max(np.abs(w - m).max() for w, m in zip(whole, mean)))

# %% [markdown]
# ## 2. 用一个缓冲区装下所有梯度
#
# 一个模型有几十个参数数组，其中有些很小（一个偏置只有 12 个数）。每条 MPI 消息都要付出
# 一个固定的启动时间（即*延迟*，以微秒计），再加上消息大小除以带宽。每个数组做一次
# all-reduce，就要付出几十次延迟；对单个扁平缓冲区做一次 all-reduce，则只付出一次。所以
# 要把梯度**打包**：把每个数组展平，再把它们全部拼接起来；all-reduce 之后再**解包**，变回
# 原来形状的数组。
#
# ## 练习 16.1：打包
#
# 返回各数组展平后的值（按给定的顺序）拼接成的一维数组，以及它们的形状组成的列表。


# %%
def pack(arrays):
    """(flat, shapes)：按顺序展平并拼接起来的各数组，(P,)，以及它们的形状。"""
    ### BEGIN SOLUTION
    flat = np.concatenate([np.reshape(a, -1) for a in arrays])
    return flat, [np.shape(a) for a in arrays]
    ### END SOLUTION


# %% [markdown]
# ## 练习 16.2：解包
#
# 逆运算：把 `flat` 按顺序切回给定形状的数组。用 `np.prod(shape)` 求出每个数组的大小
# （形状 `()` 装着一个数）。返回副本还是视图都可以，但数组的形状必须与给定的完全一致。


# %%
def unpack(flat, shapes):
    """``pack`` 拼接进 ``flat`` 的、形状为 ``shapes`` 的各数组，按原来的顺序。"""
    ### BEGIN SOLUTION
    arrays, offset = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        arrays.append(flat[offset:offset + size].reshape(shape))
        offset += size
    return arrays
    ### END SOLUTION


flat, shapes = pack(whole)
say(f"{len(whole)} gradient arrays, {flat.size} numbers in one buffer; unpacked equal:",
    all(np.array_equal(a, b) for a, b in zip(unpack(flat, shapes), whole)))

# %% [markdown]
# ## 3. 环形 all-reduce
#
# 最简单的 all-reduce 把每个缓冲区都发给 rank 0，由它求和，再把和发回去：rank 0 要传送
# 2(N - 1) 个完整的缓冲区，其他 rank 则只能等待。**环形**算法把工作均匀地分摊开。把各 rank
# 排成一个环，每个 rank 只向右边的邻居 `(r + 1) % N` 发送，只从左边的邻居 `(r - 1) % N`
# 接收，并把缓冲区切成 N 块 `C_0 .. C_{N-1}`（`np.array_split`）：
#
# - **reduce-scatter**（归约-散射），N - 1 步：在第 s 步（s = 0, 1, ...），rank r 发送它的第
#   `(r - s) % N` 块，并把收到的块加到它的第 `(r - s - 1) % N` 块上。一个块沿着环传递，
#   每经过一跳就多收集一个 rank 的贡献；N - 1 步之后，rank r 持有第 `(r + 1) % N` 块的
#   **完整的和**；
# - **all-gather**（全收集），N - 1 步：在第 s 步，rank r 发送它的第 `(r - s + 1) % N` 块
#   （s = 0 时就是那个完整的块），并用收到的块**替换**它的第 `(r - s) % N` 块。完整的块
#   沿着环传递，直到每个 rank 都拥有全部的块。
#
# 每个 rank 发送 2(N - 1) 条消息，每条是缓冲区的 1/N：总共 `2 (N - 1) / N` 个缓冲区，
# **与 N 的大小无关**。这与任何 all-reduce 所能发送的最少数据量相差不到 2 倍，这也正是
# 环形算法成为大缓冲区标准算法的原因。
#
# ## 练习 16.3：一个 rank 的环形 all-reduce
#
# 编写每个 rank 都要运行的程序。`sendrecv(array, dest, source)` 把 `array` 发送给 rank
# `dest`，并返回从 rank `source` 收到的数组（即 MPI 的 `Sendrecv`：收发同时进行，这样
# 一个所有 rank 都先发送的环就不会死锁）。返回所有 rank 的 `buffer` 之和（一个新数组：
# 不要改动 `buffer`）。请严格使用上面的块编号：检查程序扮演其他 rank，它们遵循的就是这些编号。


# %%
def ring_all_reduce(buffer, rank, size, sendrecv):
    """各 rank 的一维 ``buffer`` 的逐元素和，在环上先做 reduce-scatter，再做 all-gather。"""
    ### BEGIN SOLUTION
    chunks = [c.copy() for c in np.array_split(buffer, size)]
    right, left = (rank + 1) % size, (rank - 1) % size
    for s in range(size - 1):                                      # reduce-scatter
        received = sendrecv(chunks[(rank - s) % size], right, left)
        chunks[(rank - s - 1) % size] += received
    for s in range(size - 1):                                      # all-gather
        received = sendrecv(chunks[(rank - s + 1) % size], right, left)
        chunks[(rank - s) % size] = received
    return np.concatenate(chunks)
    ### END SOLUTION


# %% [markdown]
# 没有 MPI 时，可以用 N 个线程模拟 N 个 rank：每个线程运行你的函数，每个 rank 有一个队列
# 作为它的信箱。然后，在 `mpiexec` 下，同一个函数在真正的 rank 上用 `comm.sendrecv` 运行，
# 并与 MPI 自己的 `Allreduce` 对照。

# %%
def simulate(program, buffers):
    """在 len(buffers) 个相互传递消息的线程上运行 ``program(buffer, rank, size, sendrecv)``；返回它们的结果。"""
    size = len(buffers)
    mailboxes = [queue.Queue() for _ in range(size)]
    results = [None] * size

    def run(rank):
        def sendrecv(array, dest, source):
            mailboxes[dest].put((rank, np.array(array)))         # 一个副本，和消息一样
            sender, received = mailboxes[rank].get(timeout=10)
            assert sender == source, f"rank {rank} expected a message from {source}, got one from {sender}"
            return received
        results[rank] = program(buffers[rank].copy(), rank, size, sendrecv)

    threads = [threading.Thread(target=run, args=(r,)) for r in range(size)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


for size in (1, 2, 3, 5):
    buffers = [rng.standard_normal(23) for _ in range(size)]
    results = simulate(ring_all_reduce, buffers)
    say(f"{size} simulated ranks, 23 numbers: every result equals the sum:",
        all(np.allclose(r, np.sum(buffers, axis=0), rtol=1e-12, atol=1e-12) for r in results))

if N > 1:
    def mpi_sendrecv(array, dest, source):
        return group.comm.sendrecv(array, dest=dest, source=source)

    mine = rng.standard_normal(1000) * (RANK + 1)
    expected = np.empty_like(mine)
    group.comm.Allreduce(mine, expected)
    ring = ring_all_reduce(mine, RANK, N, mpi_sendrecv)
    ok = group.sum([float(np.allclose(ring, expected, rtol=1e-12, atol=1e-12))])[0] == N     # 在每个 rank 上
    say(f"on {N} MPI ranks: your ring equals MPI's Allreduce on every rank:", ok)

# %% [markdown]
# ## 4. 开销：一个模型和一次测量
#
# 一条 m 字节的消息大约花费 `alpha + m / beta`：延迟 `alpha` 加上以带宽 `beta` 传送的时间。
# 对一个 M 字节的缓冲区，环形算法依次发送 2(N - 1) 条 `M / N` 字节的消息，所以
#
#     T_ring(M) = 2 (N - 1) alpha + 2 (N - 1) / N * M / beta
#
# 对小缓冲区，延迟项占主导（rank 越多越糟）；对大缓冲区，带宽项占主导，而它几乎不随 N
# 增长。在 `mpiexec` 下，我们在一系列缓冲区大小上为 MPI 的 `Allreduce` 和你的环形算法计时，
# 对 MPI 的时间用相对误差上的最小二乘拟合出 `alpha` 和 `beta`（这样小缓冲区和大缓冲区的
# 分量相当），再把模型对你的环形算法的预测与它的实测时间进行比较。
# （同一台机器上的进程之间，“带宽”就是内存复制的速度；机器之间则是网络的速度，一种常见
# 的网络是 10 Gbit/s = 1.25 GB/s。）

# %%
def timed(fn, repeats):
    group.comm.Barrier()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


if N > 1:
    sizes = [2 ** k for k in (range(8, 21, 3) if QUICK else range(8, 23, 2))]     # 每个缓冲区的 float64 数值个数
    measured = {"MPI Allreduce": [], "your ring": []}
    for n in sizes:
        buf, out = np.ones(n), np.empty(n)
        repeats = max(3, min(100, 2 ** 22 // n))
        measured["MPI Allreduce"].append(timed(lambda: group.comm.Allreduce(buf, out), repeats))
        measured["your ring"].append(timed(lambda: ring_all_reduce(buf, RANK, N, mpi_sendrecv), repeats))
    M = np.array(sizes) * 8.0                                                          # 字节
    A = np.stack([np.full(len(M), 2 * (N - 1)), 2 * (N - 1) / N * M], axis=1)
    t = np.array(measured["MPI Allreduce"])
    alpha, inv_beta = np.linalg.lstsq(A / t[:, None], np.ones(len(t)), rcond=None)[0]    # 相对误差
    say(f"fitted to MPI's Allreduce: latency alpha = {alpha * 1e6:.1f} us, bandwidth beta = "
        f"{1 / inv_beta / 1e9:.2f} GB/s")
    say(f"{'bytes':>10s} {'MPI Allreduce':>14s} {'your ring':>12s} {'model':>10s}")
    for k, m in enumerate(M):
        say(f"{int(m):10d} {measured['MPI Allreduce'][k] * 1e6:11.1f} us {measured['your ring'][k] * 1e6:9.1f} us "
            f"{(A[k] @ [alpha, inv_beta]) * 1e6:7.1f} us")
    if RANK == 0:
        try:
            import matplotlib.pyplot as plt
        except ImportError:             # 绘图是可选的：pip install matplotlib
            plt = None
        if plt is not None:
            fig, ax = plt.subplots(figsize=(6, 3.5))
            for name, times in measured.items():
                ax.loglog(M, times, "o-", label=f"{name}, measured")
            ax.loglog(M, A @ [alpha, inv_beta], "k--", label="model 2(N-1) alpha + 2(N-1)/N M/beta")
            ax.set_xlabel("buffer size M (bytes)")
            ax.set_ylabel("seconds per all-reduce")
            ax.set_title(f"All-reduce on {N} ranks")
            ax.legend(fontsize=8)
            fig.tight_layout()
            plt.show()
else:
    say("(the timings need two ranks: mpiexec -n 2 python 16_data_parallel.py)")

# %% [markdown]
# 模型的形状，即先是一段延迟的下限，然后是一条斜率为 1 的直线，与 MPI 的时间相符；在一台
# 机器上，“带宽”就是内存复制的速度，一旦缓冲区超出缓存，它就会下降。你的环形算法呈现同样
# 的形状，只是高出好几倍：它是 Python 写的，它的消息要经过 pickle 序列化（`comm.sendrecv`，
# 小写，可以发送任何 Python 对象），而且每个块在途中要被复制好几次。MPI 自己的环形算法是
# 编译过的，只复制一次。
#
# ## 5. 当没有哪个 rank 持有完整梯度时，按全局范数裁剪
#
# 在普通的数据并行中，每个 rank 都持有完整的平均梯度，所以它为裁剪而计算的范数就已经是
# 全局范数。更大的模型会对优化器做分片（ZeRO、FSDP）：在环的 **reduce-scatter** 那一半之后，
# rank r 只保留它那个完整的块，只更新其中的参数，从不看到其余部分。它那一块的范数并不是
# 梯度的范数。但在互不相交的各部分上，范数的平方是可以相加的：
#
#     |g|^2 = sum_r |g_r|^2
#
# 所以对每个 rank 的一个数做一次 all-reduce，就得到全局范数，然后每个 rank 都用同一个因子
# 缩放它的块，与 `torch.nn.utils.clip_grad_norm_` 的做法相同：
#
#     coef = min(1, max_norm / (|g| + 1e-6))
#
# ## 练习 16.4：分片梯度的全局范数裁剪
#
# `all_reduce_sum(value)` 返回 `value` 在各 rank 上的和。返回裁剪后的块（一个新数组）和
# 全局范数。


# %%
def clip_sharded(chunk, max_norm, all_reduce_sum):
    """(chunk * coef, total_norm)：total_norm = sqrt(各 rank 上 |chunk|^2 之和)，
    coef = min(1, max_norm / (total_norm + 1e-6))。"""
    ### BEGIN SOLUTION
    total = float(np.sqrt(all_reduce_sum(float(np.sum(chunk * chunk)))))
    coef = min(1.0, max_norm / (total + 1e-6))
    return chunk * coef, total
    ### END SOLUTION


g = rng.standard_normal(40) * 3
parts = np.array_split(g, 4)
norms = [clip_sharded(part, 1.0, lambda v: sum(float(np.sum(p * p)) for p in parts))[1] for part in parts]
clipped = np.concatenate([clip_sharded(part, 1.0, lambda v: sum(float(np.sum(p * p)) for p in parts))[0]
                          for part in parts])
say(f"|g| = {np.linalg.norm(g):.4f}; every shard says {norms[0]:.4f}; the clipped gradient's norm "
    f"{np.linalg.norm(clipped):.6f} (max_norm 1)")

# %% [markdown]
# ## 6. 真正的实现
#
# `minigen.distributed` 为 `minigen.train.Trainer` 把这些部件组合在一起：批量的行在各 rank
# 之间分配（`Group.rows`），梯度按 dtype 打包进各自的缓冲区，并由一次 MPI `Allreduce` 取平均
# （`Group.all_reduce_gradients`），开始时每个 rank 上的权重相同（`broadcast_parameters`），
# 只由 rank 0 输出和保存。整个主训练任务就是这样训练的：
#
#     mpiexec -n 2 python -m minigen train --distributed
#
# 它的测试检查：2 个各有 16 行的 rank 所走的每一步，与一个有 32 行的进程所走的每一步完全
# 相同（在 float64 下误差在 1e-12 以内）。下面在本课的 rank 上用它训练 3 步：

# %%
trainer_ids = rng.integers(0, V, 3000)
minigen.manual_seed(1)
net = RNNLanguageModel(V, embed_dim=6, hidden_size=12, num_layers=1).double()
trainer = minigen.train.Trainer(net, minigen.optim.Adam(net.parameters(), lr=1e-2), trainer_ids, batch_size=4 * N,
                                seq_len=8, max_steps=3, warmup_steps=1, progress=False, log=say,
                                eval_interval=3, group=group if N > 1 else None)
trainer.fit()
say(f"3 steps on {N} rank(s), {trainer.batch_size // N} rows each; mean training loss "
    f"{trainer.history[-1]['train_loss']:.4f}")

# %% [markdown]
# ## 练习
#
# 1. （计分：16.1 `pack`，16.2 `unpack`，16.3 `ring_all_reduce`，16.4 `clip_sharded`。）
#    `python -m minigen grade . --public-only` 运行公开检查。
# 2. 用你拟合出的 `alpha` 和 `beta`，预测主训练任务的梯度（`python -m minigen train` 会打印它的
#    参数量；每个参数 4 字节）在 8 台和 64 台机器上做 all-reduce 所需的时间。N 为多少时，
#    延迟项会超过带宽项？
# 3. 用 `sendrecv` 式的消息编写朴素的 all-reduce（每个 rank 都发送给 rank 0，由它求和再发回），
#    并在 N = 2 和 3 时与你的环形算法比较用时（`mpiexec -n 3` 会在两个核心上运行三个进程，
#    即超额订阅，MPICH 允许这样做）。
# 4. 重叠：最后几层的梯度最先算好。请勾勒一个方案：在反向传播还在计算前几层的梯度时，
#    就开始对这些梯度做 all-reduce，并估算它能为主训练任务的每一步节省多少时间。
