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
# # 第 12 课：用 CuPy 在 GPU 上运行
#
# 到目前为止，各课拿来与你的代码对照的每一个 minigen 核函数（第 2 课和第 3 课的
# softmax，第 5 课的长短期记忆网络单元，第 7 课的注意力），都只写了一遍，却能在两种
# 硬件上运行：在 CPU 上用 NumPy，在 NVIDIA GPU 上用 [CuPy](https://cupy.dev)。CuPy
# 是一个与 NumPy 相似的库，它的数组存放在 GPU 显存中，它的函数会启动 CUDA 核函数。
# 数学本身并不说明用的是哪一种。本课展示这是如何做到的，以及它对你写的代码有什么
# 要求：
#
# 1. **数组 API 标准。** NumPy、CuPy、PyTorch、JAX 等库就一组数组函数
#    （`xp.exp`、`xp.sum(x, axis=..., keepdims=...)`、`xp.matmul`、`xp.where`、
#    `xp.astype`……）、一组属性（`x.shape`、`x.dtype`、`x.device`）以及一条规则达成了
#    一致：*命名空间来自数组*。一段代码如果向它的输入索取命名空间 `xp`，并且只调用
#    其中的标准函数，就能在其中任何一个库上运行。
# 2. **`minigen/backend.py`**，唯一知道正在使用哪个数组库的文件，也是唯一导入 CuPy
#    的文件。
# 3. **主机 <-> 设备之间的传输**，以及为什么 minigen 把*隐式*传输当作错误。
# 4. **在 GPU 上计时**，在那里每次调用都会在工作完成之前就返回。
#
# 你将编写两个与后端无关的小函数 `logsumexp` 和 `one_hot`，检查会在 NumPy 上以及
# 一个*模拟*设备上运行它们，这个模拟设备拒绝任何暗中返回主机的传输。如果这台机器
# 有 GPU，本课还会在 CPU 和 GPU 上为矩阵乘法和长短期记忆网络计时，并在 GPU 上训练
# 一个很小的模型。如果没有 GPU，本课会说明这一点，跳过 GPU 部分（计时只显示 CPU），
# 改在模拟设备上训练。
#
# 形状：`N` = 行数（对语言模型而言，就是一个批量中展平后的 `B * T` 个位置），
# `C` = 沿最后一个轴的类别数（当各行是 logits（未归一化的对数概率）时，就是词表
# 大小 `V`）。
#
# 可以把它当作脚本运行（`python 12_gpu_cupy.py`），也可以用 jupytext 把它作为笔记本打开。
# `MINIGEN_QUICK=1`（或 `--quick`）让每一部分都保持简短。

# %%
import inspect
import os
import sys
import time

import minigen  # 放在最前面：minigen 会设置 OpenBLAS 的线程数，这必须在加载 NumPy 之前完成
import numpy as np

from minigen.backend import array_namespace, device_of, to_device, to_numpy

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)
minigen.manual_seed(0)

# %% [markdown]
# ## 有哪些设备？
#
# CuPy 是可选的（`pip install "minigen[gpu]"`），而且即使装了 CuPy，它也可能找不到
# GPU（没有驱动程序，或者机器上根本没有 GPU）。我们把这两个问题都问一遍，并在不满足
# 时平稳地退回。`minigen.backend.get_cupy()` 问的也是这两个问题，并会抛出一个指明
# 解决办法的 `CupyUnavailableError`。
#
# [array-api-strict](https://data-apis.org/array-api-strict/) 是这一标准的参考实现：
# 它恰好具有标准中的函数，一个不多，并且可以假装一个数组存放在另一个设备上，即
# `array_api_strict.Device("device1")`。它底层用 NumPy 计算，但会像真正的 GPU 数组
# 那样，拒绝背着你把数据交给 NumPy。minigen 的测试套件在它上面运行每一个核函数，
# 正是这样，CuPy 的代码路径在没有 GPU 的机器上也能保持可靠。它包含在 minigen 的
# `test` 附加依赖中。

# %%
try:
    import cupy
except ImportError:
    cupy = None

HAVE_GPU = False
if cupy is None:
    print("CuPy is not installed: the GPU parts of this lesson are skipped (pip install \"minigen[gpu]\").")
else:
    try:
        n_gpus = cupy.cuda.runtime.getDeviceCount()
        HAVE_GPU = n_gpus > 0
        print(f"CuPy {cupy.__version__} sees {n_gpus} GPU(s).")
    except Exception as e:                       # 没有驱动程序，或者 CuPy 是为另一个 CUDA 版本构建的
        print(f"CuPy is installed but finds no usable GPU ({type(e).__name__}: {e}).")
    if HAVE_GPU:
        try:                                     # 经由 minigen 往返一次，确保一切正常
            to_numpy(to_device(np.ones(2), "cuda"))
        except Exception as e:
            print(f"... but minigen cannot use it ({type(e).__name__}: {e}).")
            HAVE_GPU = False
    if not HAVE_GPU:
        print("No usable GPU: the GPU parts of this lesson are skipped.")

try:
    import array_api_strict
except ImportError:
    array_api_strict = None
    print("array_api_strict is not installed (pip install array-api-strict): the simulated-device parts "
          "are skipped too.")

# 本课其余部分除 CPU 之外使用的设备：如果有真正的 GPU 就用它，
# 否则用模拟设备，再否则就没有。
if HAVE_GPU:
    DEVICE = "cuda"
elif array_api_strict is not None:
    DEVICE = array_api_strict.Device("device1")
else:
    DEVICE = None
DEVICE_NAME = "GPU" if HAVE_GPU else "device1"
print("second device for this lesson:", DEVICE)

# %% [markdown]
# ## `array_namespace`：命名空间来自数组
#
# `minigen.backend` 很小，它的公开部分是：
#
# | 函数 | 作用 |
# | --- | --- |
# | `array_namespace(*arrays)` | 一些数组的标准命名空间 `xp`：NumPy 或 CuPy（各自由 `array_api_compat` 包装，它补齐了二者对标准支持的不足），或者 array-api-strict。按数组类型缓存；混用两个库会抛出异常。 |
# | `device_of(x)` | `x` 所在的位置：NumPy 数组为 `"cpu"`，CuPy 数组为一个 `cupy.cuda.Device`，strict 数组为一个 `Device` |
# | `to_device(x, device)` | 把数组移到 `"cpu"`、`"cuda"`、`"cuda:N"` 或一个数组 API 的设备对象上 |
# | `to_numpy(x)` | 把数组复制到主机上，成为一个 NumPy 数组：离开设备的*那个*显式途径 |
# | `asarray_like(host, like)` | 把主机上的数据放到 `like` 所在的设备上、`like` 的命名空间中 |
#
# 每个模块和模型都接受一个 `device=` 参数（`nn.Linear(4, 3, device="cuda")`、
# `RNNLanguageModel(..., device="cuda")`），并且像 PyTorch 一样有 `.to(device)`。
# 后端之上的各层只会看到 `xp`：
#
#     backend  <-  kernels  --+
#     backend  <-  autograd --+--  functional  <-  nn  <-  models  <-  sample / train
#
# 下面是 minigen 的 softmax 核函数。它的第一行向输入索取命名空间；其余部分都是
# 数学。

# %%
from minigen.kernels.softmax import cross_entropy_forward, softmax_forward  # noqa: E402

print(inspect.getsource(softmax_forward))
x_host = rng.standard_normal((2, 5))
xp = array_namespace(x_host)
print("namespace of a NumPy array:", xp.__name__)
if array_api_strict is not None:
    x_dev = to_device(x_host, array_api_strict.Device("device1"))
    print("namespace of a device1 array:", array_namespace(x_dev).__name__, "| device:", device_of(x_dev))
    s_dev, _ = softmax_forward(x_dev)                       # 同一个核函数，在另一个设备上
    s_host, _ = softmax_forward(x_host)
    print("softmax on device1 == softmax on NumPy:", np.allclose(to_numpy(s_dev), s_host))
    try:
        array_namespace(x_host, x_dev)
    except TypeError as e:
        print("mixing them:", e)
if DEVICE is not None:
    layer = minigen.nn.Linear(4, 3).to(DEVICE)                  # 参数被原地移动
    out = layer(minigen.tensor(to_device(rng.standard_normal((2, 4)).astype(np.float32), DEVICE)))
    print(f"nn.Linear(4, 3).to({DEVICE_NAME}): weight on {device_of(layer.weight.data)}, output on "
          f"{device_of(out.data)}")

# %% [markdown]
# ## 为什么核函数从不写 `import numpy`
#
# 一个调用 `np.exp(x)` 的函数，已经替它所有的调用者决定了 `x` 在主机上。交给它一个
# 设备上的数组，视所用的库而定，会发生以下三种情况之一：
#
# - 它失败：array-api-strict 拒绝对它的设备数组进行任何 NumPy 调用；CuPy 则拒绝
#   `np.asarray(x)`，也拒绝设备数组与主机数组（比如由 `np.zeros(shape)` 创建的数组）
#   之间的任何算术运算；
# - 它悄无声息地把整个数组复制到主机再复制回来，代价远远超过算术运算本身（见下一节）；
# - 它碰巧能运行，因为 CuPy 通过 NumPy 的 `__array_ufunc__`/`__array_function__`
#   协议响应部分 NumPy 调用（`np.exp(cupy_array)` 会得到一个 CuPy 数组）。这是最糟糕
#   的情况：代码看上去是可移植的，直到遇上某个没有被分派的调用，这往往是一个创建函数，
#   例如 `np.zeros(shape)` 或 `np.arange(n)`，它们无从知道你想要的是 GPU 显存。
#
# 所以 minigen 的数组代码从不导入 NumPy：它以 `xp = array_namespace(x)` 开头，并且
# 它*创建*的每个数组都显式地指定位置：`xp.zeros(shape, dtype=x.dtype,
# device=device_of(x))`。array-api-strict 比 CuPy 更严格（它什么都不分派，并拒绝一切
# 隐式转换），这就是测试套件用它代替 GPU 的原因：在它上面通过的代码，在 CuPy 上也能
# 运行。

# %%
def softmax_numpy_only(x):
    """在 CPU 上人们通常这样写 softmax：结果正确，却被绑定在 NumPy 上。"""
    s = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return s / np.sum(s, axis=-1, keepdims=True)


print("on NumPy: agrees with minigen's kernel:", np.allclose(softmax_numpy_only(x_host), softmax_forward(x_host)[0]))
if array_api_strict is not None:
    try:
        softmax_numpy_only(x_dev)
    except Exception as e:
        print(f"on device1: {type(e).__name__}: {e}")

# %% [markdown]
# ## 主机 <-> 设备之间的传输，以及为什么隐式传输是错误
#
# GPU 读取自己显存的速度是每秒几千 GB（H100 上约为 3,000），而数据经由 PCIe 总线在
# 主机与 GPU 之间传输的速度只有每秒几十 GB，慢了一百倍；而且每一次向主机的复制都要
# *等待*在它之前排队的所有 GPU 工作完成。训练循环中藏着的一个
# `np.asarray(gpu_array)`，或者一个会触发转换的 `print(x)`，其代价可能超过这一步
# 本身。所以 CuPy 和 array-api-strict 都拒绝隐式转换：
#
#     np.asarray(cupy_array)      TypeError: Implicit conversion to a NumPy array is not allowed.
#                                 Please use `.get()` to construct a NumPy array explicitly.
#     np.asarray(strict_array)    RuntimeError: Can't convert array on the 'Device('device1')' device ...
#
# 而 minigen 只在你要求的地方移动数据：进入时用 `to_device(x, "cuda")`，出来时用
# `to_numpy(x)`（或 `Tensor.numpy()`、`Tensor.item()`）。
#
# 标准确实为 0 维数组定义了 `float(x)`、`int(x)` 和 `bool(x)`，CuPy 和
# array-api-strict 也允许它们，因为数值总得以某种方式到达 Python（为了打印损失，或者
# 决定是否停止）。其中每一个都是一个同步点：CPU 要等待 GPU 完成工作。在按时间步进行的
# 循环中写一个 `if xp.any(bad):`，每一步都会让 GPU 停顿一次；minigen 把这类检查放在
# 热循环之外（例如，`TextVAE` 对每个批量只检查一次输入的 id）。

# %%
if array_api_strict is not None:
    d1 = array_api_strict.Device("device1")
    x_dev = to_device(rng.standard_normal((3, 4)), d1)           # 主机 -> 设备，显式地
    y_dev = array_namespace(x_dev).sum(x_dev * x_dev)            # 0 维数组，仍在 device1 上
    for what, attempt in [("np.asarray(x_dev)", lambda: np.asarray(x_dev)),
                          ("np.mean(x_dev)", lambda: np.mean(x_dev)),
                          ("x_dev + np.ones(4)", lambda: x_dev + np.ones(4))]:
        try:
            attempt()
            print(f"{what:20s} worked?!")
        except Exception as e:
            print(f"{what:20s} -> {type(e).__name__}: {e}")
    print(f"{'float(y_dev)':20s} -> {float(y_dev):.4f}   (allowed for 0-d arrays: a synchronisation point)")
    print(f"{'to_numpy(x_dev)':20s} -> a {type(to_numpy(x_dev)).__name__} of shape {to_numpy(x_dev).shape}"
          "   (the explicit way)")
    t = minigen.tensor(x_dev, requires_grad=True)
    loss = (t * t).sum()
    loss.backward()
    print("a Tensor on device1: loss.item() =", round(loss.item(), 4), "| grad on", device_of(t.grad))
else:
    print("(array_api_strict is not installed: nothing to show here)")

# %% [markdown]
# ## 练习 12.1：适用于所有后端的 `logsumexp`
#
# 沿最后一个轴的 `logsumexp(x) = log sum_j exp(x_j)` 是 softmax 的归一化项：
# `log_softmax(x) = x - logsumexp(x)`，而交叉熵是
# `logsumexp(logits) - logits[target]`。照字面写的话，`exp(1000)` 会上溢；数值稳定的
# 形式先减去行最大值 `m`（这个平移恰好相互抵消）：
#
#     logsumexp(x) = m + log sum_j exp(x_j - m),      m = max_j x_j
#
# 形状：`x (..., C)` -> `(...)`（最后一个轴被归约掉）。要让它能在任何数组 API 数组上
# 运行：取 `xp = array_namespace(x)`，并且只使用 `xp.max`、`xp.exp`、`xp.sum`、
# `xp.log`、`xp.reshape` 和算术运算。任何地方都不要出现 `np.`，也不要使用标准中没有的
# 数组方法（`x.max()`、`x.sum()`：请用 `xp.max(x, ...)`）。结果必须留在 `x` 所在的
# 设备上。


# %%
def logsumexp(x):
    """沿最后一个轴计算 log(sum(exp(x)))，不会上溢：x (..., C) -> (...)，留在 x 所在的设备上。"""
    xp = array_namespace(x)
    ### BEGIN SOLUTION
    m = xp.max(x, axis=-1, keepdims=True)                      # (..., 1)
    lse = m + xp.log(xp.sum(xp.exp(x - m), axis=-1, keepdims=True))
    return xp.reshape(lse, x.shape[:-1])                       # (...)
    ### END SOLUTION


x = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, 1000.0]])
print("logsumexp:", logsumexp(x), "  expected:", np.array([np.log(np.exp([1.0, 2.0, 3.0]).sum()), 1000 + np.log(3)]))
if array_api_strict is not None:
    out = logsumexp(to_device(x, array_api_strict.Device("device1")))
    print("on device1:", to_numpy(out), "| stayed on", device_of(out))

# %% [markdown]
# ## 练习 12.2：`one_hot`，以及你创建的数组
#
# 一个只变换其输入的函数可以免费得到设备：`xp.exp(x)` 就在 `x` 所在的地方。一个
# *创建*数组的函数则必须说明数组放在哪里。在数组 API 中，每个创建函数（`xp.zeros`、
# `xp.ones`、`xp.full`、`xp.arange`、`xp.eye`、`xp.asarray`）都接受 `device=`；如果
# 不指定，数组就会放到该库的默认设备上：对 array-api-strict 是 CPU，对 CuPy 是当前的
# GPU。
#
# 编写 `one_hot(targets, num_classes)`：`targets (N,)` 是 `[0, num_classes)` 中的整数
# id -> 一个 `(N, num_classes)` 的 float64 数组，在 `[n, targets[n]]` 处为 1.0，其余
# 位置为 0.0，放在 `targets` 所在的设备上。一种做法：把 `targets[:, None]` 与
# `xp.arange(num_classes, device=device_of(targets))[None, :]` 相比较（通过广播得到
# 一个 (N, C) 的布尔数组），再用 `xp.astype(..., xp.float64)` 转换它。（对二维数组，
# 像 `eye[targets]` 这样的高级索引不在标准之中；`xp.take(..., axis=0)` 在。）


# %%
def one_hot(targets, num_classes):
    """独热行：targets (N,) 为 [0, num_classes) 中的整数 -> (N, num_classes) float64，留在 targets 所在的设备上。"""
    xp = array_namespace(targets)
    ### BEGIN SOLUTION
    classes = xp.arange(num_classes, device=device_of(targets))              # (C,)，与 targets 在同一设备上
    return xp.astype(targets[:, None] == classes[None, :], xp.float64)       # (N, C)
    ### END SOLUTION


print(one_hot(np.array([2, 0, 1]), 4))

# %% [markdown]
# ## 组合起来：一个在任何地方都能运行的交叉熵
#
# 有了这两个函数，前面各课的交叉熵只需三行数组 API 代码：
#
#     loss_n = logsumexp(logits_n) - sum_c onehot(t_n)_c * logits_nc,    loss = mean_n loss_n
#
# 而且无论在主机上还是在第二个设备上，它都与 minigen 的融合核函数一致。

# %%
def cross_entropy_generic(logits, targets):
    """logits (N, C) 相对于整数目标 targets (N,) 的平均交叉熵，适用于任何后端。"""
    xp = array_namespace(logits)
    picked = xp.sum(one_hot(targets, logits.shape[-1]) * logits, axis=-1)      # (N,) logits_{n, t_n}
    return xp.mean(logsumexp(logits) - picked)


N, V = 6, 5
logits_host = rng.standard_normal((N, V)) * 3
targets_host = rng.integers(0, V, size=N)
reference, _ = cross_entropy_forward(logits_host, targets_host)
print(f"minigen kernel : {float(reference):.10f}")
print(f"yours, NumPy   : {float(cross_entropy_generic(logits_host, targets_host)):.10f}")
if DEVICE is not None:
    on_device = cross_entropy_generic(to_device(logits_host, DEVICE), to_device(targets_host, DEVICE))
    print(f"yours, {DEVICE_NAME:8s}: {float(to_numpy(on_device)):.10f}")

# %% [markdown]
# ## 在 GPU 上计时：同步、预热、取最好的一次
#
# 像 `a @ b` 这样的调用在 CuPy 上只是把一个核函数*排进* GPU 的队列，然后立即返回，
# 只用几微秒，远在乘积算出来之前。紧接着读取的计时器测到的是启动，而不是工作。
# 三条规则：
#
# 1. **同步**：在开始计时之前同步（这样之前的工作不会被算进来），在停止计时之前也
#    同步（这样这次的工作会被算进来）：`cupy.cuda.Device().synchronize()`。任何在
#    主机上读取数值的操作（`to_numpy`、`.item()`）也会同步。
# 2. **预热。** 第一次调用要付出一次性的代价：创建 CUDA 上下文和 cuBLAS 句柄，以及
#    编译 CuPy 的逐元素核函数（之后缓存在磁盘上）。
# 3. **重复并取最小值**：机器上的其他工作只会增加时间。
#
# `cupyx.profiler.benchmark` 会替你完成这一切；这里我们手工来做，这样同一个辅助
# 函数也能为 CPU 计时（在 CPU 上 `sync` 什么也不做）。
#
# CPU 上的计时有它自己的陷阱：NumPy 的矩阵乘法在多个 BLAS 线程上运行
# （`OPENBLAS_NUM_THREADS`，在导入 NumPy 时读取）。对于小矩阵，或者在一台忙于其他
# 工作的机器上，线程花在交接工作上的时间比花在计算上的还多，一个线程可能比两个线程
# 快好几倍。

# %%
def time_it(fn, sync=lambda: None, repeat=5):
    """先预热运行一次，再在 `repeat` 次运行中取 fn() 最好的挂钟时间，单位为秒。"""
    fn()
    sync()                                  # 预热，并等待它完成
    best = float("inf")
    for _ in range(repeat):
        sync()
        start = time.perf_counter()
        fn()
        sync()                              # 在停止计时之前，工作必须已经完成
        best = min(best, time.perf_counter() - start)
    return best


gpu_sync = cupy.cuda.Device().synchronize if HAVE_GPU else None
sizes = [128, 256, 512] if QUICK else [128, 256, 512, 1024, 2048]
cpu_ms, gpu_ms = [], []
for n in sizes:
    a = rng.standard_normal((n, n)).astype(np.float32)
    cpu_ms.append(1e3 * time_it(lambda: a @ a, repeat=3))
    if HAVE_GPU:
        a_gpu = to_device(a, "cuda")
        gpu_ms.append(1e3 * time_it(lambda: a_gpu @ a_gpu, gpu_sync, repeat=10))
for k, n in enumerate(sizes):
    line = f"matmul {n:5d} x {n:<5d} float32   CPU {cpu_ms[k]:8.3f} ms"
    if HAVE_GPU:
        line += f"   GPU {gpu_ms[k]:8.3f} ms   speed-up {cpu_ms[k] / gpu_ms[k]:7.1f}x"
    print(line)

if HAVE_GPU:                                # 忘记同步时的样子
    n = sizes[-1]
    a_gpu = to_device(rng.standard_normal((n, n)).astype(np.float32), "cuda")
    gpu_sync()
    start = time.perf_counter()
    for _ in range(10):
        a_gpu @ a_gpu
    unsynced = (time.perf_counter() - start) / 10
    gpu_sync()
    print(f"without synchronising, the GPU matmul 'takes' {1e3 * unsynced:.3f} ms: only the launch was timed")
else:
    print("(no GPU: only the CPU column. On an H100, a 2048 x 2048 float32 product takes well under a millisecond.)")

# %% [markdown]
# 对 GPU 而言，长短期记忆网络是一个更难的情形：它的 T 个时间步一个接一个地运行，
# 每一步都是几个小的核函数（一次矩阵乘法、门的非线性函数、记忆元的更新），所以在
# 批量和隐藏层都较小时，GPU 把时间花在*启动*核函数上（每个核函数几微秒），而不是
# 计算上。加速比随 `B` 和 `H` 增长。下面是 `nn.LSTM` 在每个设备上的一次前向传播，
# 不构建计算图。

# %%
def lstm_forward_time(device, B, T, C, H, sync=lambda: None):
    minigen.manual_seed(0)
    lstm = minigen.nn.LSTM(C, H, batch_first=True, device=device)
    x = rng.standard_normal((B, T, C)).astype(np.float32)
    x = minigen.tensor(x if device is None else to_device(x, device))

    def run():
        with minigen.no_grad():
            lstm(x)
    return time_it(run, sync, repeat=2 if QUICK else 3)


lstm_shape = dict(B=16, T=16, C=32, H=128) if QUICK else dict(B=64, T=64, C=128, H=512)
cpu_lstm = lstm_forward_time(None, **lstm_shape)
print(f"LSTM forward {lstm_shape}: CPU {1e3 * cpu_lstm:.1f} ms", end="")
if HAVE_GPU:
    gpu_lstm = lstm_forward_time("cuda", **lstm_shape, sync=gpu_sync)
    print(f", GPU {1e3 * gpu_lstm:.1f} ms ({cpu_lstm / gpu_lstm:.1f}x)")
else:
    print(" (no GPU to compare with)")

try:
    import matplotlib.pyplot as plt
except ImportError:                     # 绘图是可选的：pip install matplotlib
    plt = None
if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.loglog(sizes, cpu_ms, "o-", label="CPU (NumPy)")
    if HAVE_GPU:
        ax.loglog(sizes, gpu_ms, "s-", label="GPU (CuPy, synchronised)")
    ax.set_xticks(sizes, labels=[str(n) for n in sizes])
    ax.minorticks_off()
    ax.set_xlabel("n (n x n matrices)")
    ax.set_ylabel("ms per product")
    ax.set_title("float32 matrix product")
    ax.legend()
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## 在设备上训练
#
# 在 GPU 上训练只需改动两行：用 `device=...` 构建模型（或者用 `model.to(device)`
# 移动它），并用 `to_device` 把在主机上抽取的每个批量移到那里。其余的一切，包括前向
# 传播、`loss.backward()` 和 Adam 的更新，都在参数所在的地方运行。`loss.item()` 是
# 每一步唯一一次返回主机的传输。（当你向 `minigen.train` 的 `Trainer` 传入 `device=`
# 时，它也是这样做的。）
#
# 随机数（初始权重、dropout 的掩码）是从 minigen 设定了种子的生成器在主机上抽取、然后
# 再移过去的，所以同一个种子在每个设备上都给出同一个模型。在模拟设备上，损失与
# NumPy 上的数值完全相同（它的底层*就是* NumPy）；在真正的 GPU 上，二者在 float32
# 的舍入误差范围内一致，因为 cuBLAS 累加矩阵乘积的顺序与 OpenBLAS 不同。

# %%
from minigen.data import CharTokenizer, random_windows, shakespeare  # noqa: E402
from minigen.models import RNNLanguageModel  # noqa: E402

text = shakespeare()[:20_000 if QUICK else 200_000]
tokenizer = CharTokenizer.train(text)
ids = tokenizer.encode(text)


def train_tiny(device, steps, hidden_size, batch_size=16, seq_len=32):
    """在 `device`（None 表示 NumPy）上用 Adam 把一个字符级长短期记忆网络训练 `steps` 步。返回 (losses, 每步的秒数)。"""
    minigen.manual_seed(0)
    model = RNNLanguageModel(tokenizer.vocab_size, embed_dim=16, hidden_size=hidden_size, device=device)
    optimizer = minigen.optim.Adam(model.parameters(), lr=3e-3)
    batches = np.random.default_rng(0)                               # 每个设备上的批量都相同
    losses, start = [], time.perf_counter()
    for step in range(steps):
        x, y = random_windows(ids, batch_size, seq_len, batches)      # 主机上的 int64 数组 (B, T)
        if device is not None:
            x, y = to_device(x, device), to_device(y, device)         # 主机 -> 设备，显式地
        logits, _ = model(x)                                          # (B, T, V)，在设备上
        loss = minigen.functional.cross_entropy(logits.reshape(-1, tokenizer.vocab_size),
                                                array_namespace(y).reshape(y, (-1,)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())                                    # 设备 -> 主机：每步一个数
    return losses, (time.perf_counter() - start) / steps


steps, hidden, seq_len = (6, 32, 16) if QUICK else (60, 128, 32)
host_losses, host_step = train_tiny(None, steps, hidden, seq_len=seq_len)
print(f"NumPy : {host_step * 1e3:7.1f} ms/step, losses {np.round(host_losses[:4], 4)} ... {host_losses[-1]:.4f}")
if DEVICE is not None:
    dev_losses, dev_step = train_tiny(DEVICE, steps, hidden, seq_len=seq_len)
    print(f"{DEVICE_NAME:6s}: {dev_step * 1e3:7.1f} ms/step, losses {np.round(dev_losses[:4], 4)}"
          f" ... {dev_losses[-1]:.4f}")
    print("largest difference between the two loss curves:", np.abs(np.subtract(host_losses, dev_losses)).max())
    if not HAVE_GPU:
        print("(device1 computes with NumPy, plus checks: it tests portability, not speed)")

if plt is not None and DEVICE is not None:
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(host_losses, "o-", label="NumPy")
    ax.plot(dev_losses, "x--", label="GPU" if HAVE_GPU else "array-api-strict device1")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (nats/char)")
    ax.set_title("The same seed, the same code, two devices")
    ax.legend()
    fig.tight_layout()
    plt.show()

# %% [markdown]
# 在 GPU 上，别指望快速模式下的小模型会比 NumPy 快：每一步都要启动数百个小核函数，
# 而一次启动（几微秒，外加 minigen 的 Python 开销，这部分在两个设备上是一样的）的
# 代价与一个宽度为 32 的长短期记忆网络的算术运算相当。不用快速模式时（隐藏层大小为
# 128），天平开始倾斜；而对于更大的模型，比如 `minigen.models.GPT`，它的注意力和多层感知机
# 都是一次覆盖整个序列的大矩阵乘法，GPU 会遥遥领先。
#
# ## 练习
#
# 1. （计分练习：上面的 12.1 `logsumexp` 和 12.2 `one_hot`。）`python -m minigen grade .
#    --public-only` 会运行公开检查；它们在 NumPy 上运行你的函数，如果安装了
#    array-api-strict，还会在 `Device("device1")` 上运行。试着在 `logsumexp` 中把
#    `xp.max` 换成 `np.max`，或者在 `one_hot` 中去掉 `device=`，读一读检查给出的信息。
# 2. 找出交叉点：`n` 为多少时，GPU 上的矩阵乘法胜过 CPU 上的？`(B, H)` 为多少时，
#    GPU 上的长短期记忆网络胜过 CPU 上的？为什么批量大小对长短期记忆网络的影响比对
#    矩阵乘法大得多？
# 3. 在 `minigen/models/vae.py` 中寻找同步点（`bool(...)`、`float(...)`、`.item()`、
#    `to_numpy`）。其中哪些每个批量运行一次，哪些每个时间步运行一次？如果把一个同步点
#    放进长短期记忆网络沿时间的循环里，会付出什么代价？
# 4. 在模拟设备上运行 minigen 自己的核函数测试：
#    `pytest tests/kernels -k strict`。然后把一个核函数改成调用 `np.exp`，再运行一次。
