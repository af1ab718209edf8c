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
# # Lesson 12: running on a GPU with CuPy
#
# Every minigen kernel that the lessons so far compared your code with (the softmax of
# lessons 02 and 03, the LSTM cell of lesson 05, the attention of lesson 07) was written
# once and runs on two kinds of hardware: on the CPU with NumPy, and on an NVIDIA GPU
# with [CuPy](https://cupy.dev), a NumPy-like library whose arrays live in GPU memory
# and whose functions launch CUDA kernels. Nothing in the maths says which. This
# lesson shows how that works and what it asks of the code you write:
#
# 1. **The array API standard.** NumPy, CuPy, PyTorch, JAX and others agree on one set
#    of array functions (`xp.exp`, `xp.sum(x, axis=..., keepdims=...)`, `xp.matmul`,
#    `xp.where`, `xp.astype`, ...), attributes (`x.shape`, `x.dtype`, `x.device`) and
#    one rule: *the namespace comes from the arrays*. Code that asks its inputs for
#    their namespace `xp` and only calls standard functions on it runs on any of them.
# 2. **`minigen/backend.py`**, the one file that knows which array library is in use,
#    and the only one that imports CuPy.
# 3. **Host <-> device transfers**, and why minigen treats an *implicit* one as a bug.
# 4. **Timing on a GPU**, where every call returns before the work is done.
#
# You write two small backend-generic functions, `logsumexp` and `one_hot`, and the
# checks run them on NumPy and on a *simulated* device that refuses any hidden trip
# to the host. If this machine has a GPU, the lesson also times a matrix product and an
# LSTM on CPU and GPU and trains a tiny model on the GPU. Without one it says so, skips
# the GPU parts (the timings show the CPU only), and trains on the simulated device instead.
#
# Shapes: `N` = rows (for a language model, the `B * T` positions of a batch, flattened),
# `C` = classes along the last axis (the vocabulary `V` when the rows are logits).
#
# Run it as a script (`python 12_gpu_cupy.py`), or open it as a notebook with jupytext.
# `MINIGEN_QUICK=1` (or `--quick`) keeps every part short.

# %%
import inspect
import os
import sys
import time

import minigen  # first: minigen tunes OpenBLAS's threads, which must happen before NumPy loads
import numpy as np

from minigen.backend import array_namespace, device_of, to_device, to_numpy

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
rng = np.random.default_rng(0)
minigen.manual_seed(0)

# %% [markdown]
# ## Which devices are there?
#
# CuPy is optional (`pip install "minigen[gpu]"`), and an installed CuPy may still find
# no GPU (no driver, or a machine without one). We ask both questions, and fall back
# gracefully. `minigen.backend.get_cupy()` asks the same two questions and raises a
# `CupyUnavailableError` that names the fix.
#
# [array-api-strict](https://data-apis.org/array-api-strict/) is the reference
# implementation of the standard: it has exactly the standard's functions and nothing
# more, and it can pretend that an array lives on another device,
# `array_api_strict.Device("device1")`. It computes with NumPy underneath, but it
# refuses, as a real GPU array would, to hand its data to NumPy behind your back.
# minigen's test suite runs every kernel on it, which is how the CuPy path stays
# honest on machines without a GPU. It comes with minigen's `test` extra.

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
    except Exception as e:                       # no driver, or a CuPy built for another CUDA
        print(f"CuPy is installed but finds no usable GPU ({type(e).__name__}: {e}).")
    if HAVE_GPU:
        try:                                     # one round trip through minigen, to be sure it all works
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

# The device the rest of the lesson uses besides the CPU: the real GPU if there is one,
# else the simulated one, else none.
if HAVE_GPU:
    DEVICE = "cuda"
elif array_api_strict is not None:
    DEVICE = array_api_strict.Device("device1")
else:
    DEVICE = None
DEVICE_NAME = "GPU" if HAVE_GPU else "device1"
print("second device for this lesson:", DEVICE)

# %% [markdown]
# ## `array_namespace`: the namespace comes from the arrays
#
# `minigen.backend` is small; its public part is:
#
# | function | what it does |
# | --- | --- |
# | `array_namespace(*arrays)` | the standard namespace `xp` of some arrays: NumPy or CuPy (each wrapped by `array_api_compat`, which fills the gaps in their standard support), or array-api-strict. Cached per array type; mixing two libraries raises. |
# | `device_of(x)` | where `x` lives: `"cpu"` for NumPy, a `cupy.cuda.Device`, a strict `Device` |
# | `to_device(x, device)` | move an array to `"cpu"`, `"cuda"`, `"cuda:N"` or an array-API device object |
# | `to_numpy(x)` | copy an array to the host as a NumPy array: *the* explicit way off a device |
# | `asarray_like(host, like)` | put host data on `like`'s device, in `like`'s namespace |
#
# Every module and model takes a `device=` argument (`nn.Linear(4, 3, device="cuda")`,
# `RNNLanguageModel(..., device="cuda")`) and has `.to(device)`, like PyTorch. The
# layers above the backend only ever see `xp`:
#
#     backend  <-  kernels  --+
#     backend  <-  autograd --+--  functional  <-  nn  <-  models  <-  sample / train
#
# Here is minigen's softmax kernel. Its first line asks the input for its namespace;
# the rest is maths.

# %%
from minigen.kernels.softmax import cross_entropy_forward, softmax_forward  # noqa: E402

print(inspect.getsource(softmax_forward))
x_host = rng.standard_normal((2, 5))
xp = array_namespace(x_host)
print("namespace of a NumPy array:", xp.__name__)
if array_api_strict is not None:
    x_dev = to_device(x_host, array_api_strict.Device("device1"))
    print("namespace of a device1 array:", array_namespace(x_dev).__name__, "| device:", device_of(x_dev))
    s_dev, _ = softmax_forward(x_dev)                       # the same kernel, on the other device
    s_host, _ = softmax_forward(x_host)
    print("softmax on device1 == softmax on NumPy:", np.allclose(to_numpy(s_dev), s_host))
    try:
        array_namespace(x_host, x_dev)
    except TypeError as e:
        print("mixing them:", e)
if DEVICE is not None:
    layer = minigen.nn.Linear(4, 3).to(DEVICE)                  # parameters moved, in place
    out = layer(minigen.tensor(to_device(rng.standard_normal((2, 4)).astype(np.float32), DEVICE)))
    print(f"nn.Linear(4, 3).to({DEVICE_NAME}): weight on {device_of(layer.weight.data)}, output on "
          f"{device_of(out.data)}")

# %% [markdown]
# ## Why a kernel never says `import numpy`
#
# A function that calls `np.exp(x)` has decided, for all its callers, that `x` is on the
# host. Hand it a device array and one of three things happens, depending on the library:
#
# - it fails: array-api-strict refuses every NumPy call on its device arrays, and CuPy
#   refuses `np.asarray(x)` and any arithmetic between a device array and a host array
#   made by, say, `np.zeros(shape)`;
# - it silently copies the whole array to the host and back, at a cost far larger than
#   the arithmetic (see the next section);
# - it happens to work, because CuPy answers some NumPy calls through NumPy's
#   `__array_ufunc__`/`__array_function__` protocols (`np.exp(cupy_array)` gives a CuPy
#   array). That is the worst case: the code looks portable until the one call that is
#   not dispatched, often a creation function such as `np.zeros(shape)` or `np.arange(n)`,
#   which cannot know that you wanted GPU memory.
#
# So minigen's array code never imports NumPy: it starts with `xp = array_namespace(x)`,
# and every array it *creates* is placed explicitly, `xp.zeros(shape, dtype=x.dtype,
# device=device_of(x))`. array-api-strict is stricter than CuPy (it dispatches nothing
# and refuses every implicit conversion), which is why it is the test suite's stand-in for
# a GPU: code that passes on it runs on CuPy.

# %%
def softmax_numpy_only(x):
    """The softmax as one writes it on a CPU: correct, but tied to NumPy."""
    s = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return s / np.sum(s, axis=-1, keepdims=True)


print("on NumPy: agrees with minigen's kernel:", np.allclose(softmax_numpy_only(x_host), softmax_forward(x_host)[0]))
if array_api_strict is not None:
    try:
        softmax_numpy_only(x_dev)
    except Exception as e:
        print(f"on device1: {type(e).__name__}: {e}")

# %% [markdown]
# ## Host <-> device transfers, and why implicit ones are errors
#
# A GPU reads its own memory at a few thousand GB/s (about 3,000 on an H100), but data
# crosses the PCIe bus between host and GPU at a few tens of GB/s, a hundred times
# slower, and every copy to the host *waits* for all the GPU work queued before it. A
# single `np.asarray(gpu_array)` hidden in a training loop, or a `print(x)` that
# converts, can cost more than the step itself. So both CuPy and array-api-strict
# refuse to convert implicitly:
#
#     np.asarray(cupy_array)      TypeError: Implicit conversion to a NumPy array is not allowed.
#                                 Please use `.get()` to construct a NumPy array explicitly.
#     np.asarray(strict_array)    RuntimeError: Can't convert array on the 'Device('device1')' device ...
#
# and minigen moves data only where you ask: `to_device(x, "cuda")` on the way in,
# `to_numpy(x)` (or `Tensor.numpy()`, `Tensor.item()`) on the way out.
#
# The standard does define `float(x)`, `int(x)` and `bool(x)` for a 0-d array, and CuPy
# and array-api-strict allow them, because the value has to reach Python somehow (to print a loss, or to decide whether to stop).
# Each of these is a synchronisation point: the CPU waits for the GPU to finish. An
# `if xp.any(bad):` inside a loop over time steps stalls the GPU once per step; minigen
# keeps such checks outside the hot loops (the `TextVAE` checks its input ids once per
# batch, for example).

# %%
if array_api_strict is not None:
    d1 = array_api_strict.Device("device1")
    x_dev = to_device(rng.standard_normal((3, 4)), d1)           # host -> device, explicitly
    y_dev = array_namespace(x_dev).sum(x_dev * x_dev)            # 0-d array, still on device1
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
# ## Exercise 12.1: a `logsumexp` for every backend
#
# `logsumexp(x) = log sum_j exp(x_j)` along the last axis is the normaliser of the
# softmax: `log_softmax(x) = x - logsumexp(x)`, and cross-entropy is
# `logsumexp(logits) - logits[target]`. Written as it reads, `exp(1000)` overflows; the
# stable form shifts by the row maximum `m` first (the shift cancels exactly):
#
#     logsumexp(x) = m + log sum_j exp(x_j - m),      m = max_j x_j
#
# Shapes: `x (..., C)` -> `(...)` (the last axis is reduced away). Write it so that it
# runs on any array-API array: take `xp = array_namespace(x)` and use only `xp.max`,
# `xp.exp`, `xp.sum`, `xp.log`, `xp.reshape` and arithmetic. No `np.` anywhere, and no
# array methods that the standard lacks (`x.max()`, `x.sum()`: use `xp.max(x, ...)`).
# The result must stay on `x`'s device.


# %%
def logsumexp(x):
    """log(sum(exp(x))) along the last axis, without overflow: x (..., C) -> (...), on x's device."""
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
# ## Exercise 12.2: `one_hot`, and arrays that you create
#
# A function that only transforms its inputs gets the device for free: `xp.exp(x)`
# lives where `x` lives. A function that *creates* an array must say where. In the
# array API every creation function (`xp.zeros`, `xp.ones`, `xp.full`, `xp.arange`,
# `xp.eye`, `xp.asarray`) takes `device=`, and without it the array goes to the
# library's default device: the CPU for array-api-strict, the current GPU for CuPy.
#
# Write `one_hot(targets, num_classes)`: `targets (N,)` integer ids in
# `[0, num_classes)` -> `(N, num_classes)` float64 array, 1.0 at `[n, targets[n]]` and
# 0.0 elsewhere, on the device of `targets`. One way: compare `targets[:, None]` with
# `xp.arange(num_classes, device=device_of(targets))[None, :]` (a boolean (N, C)
# array, by broadcasting) and convert it with `xp.astype(..., xp.float64)`. (Fancy
# indexing such as `eye[targets]` is not in the standard for 2-D arrays;
# `xp.take(..., axis=0)` is.)


# %%
def one_hot(targets, num_classes):
    """One-hot rows: targets (N,) integers in [0, num_classes) -> (N, num_classes) float64, on targets' device."""
    xp = array_namespace(targets)
    ### BEGIN SOLUTION
    classes = xp.arange(num_classes, device=device_of(targets))              # (C,), next to the targets
    return xp.astype(targets[:, None] == classes[None, :], xp.float64)       # (N, C)
    ### END SOLUTION


print(one_hot(np.array([2, 0, 1]), 4))

# %% [markdown]
# ## Putting them together: a cross-entropy that runs anywhere
#
# With both functions, the cross-entropy of the earlier lessons is three lines of array-API code,
#
#     loss_n = logsumexp(logits_n) - sum_c onehot(t_n)_c * logits_nc,    loss = mean_n loss_n
#
# and it agrees with minigen's fused kernel on the host and on the second device.

# %%
def cross_entropy_generic(logits, targets):
    """Mean cross-entropy of logits (N, C) against integer targets (N,), on any backend."""
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
# ## Timing on a GPU: synchronise, warm up, take the best
#
# A call such as `a @ b` on CuPy *queues* a kernel on the GPU and returns at once, after
# a few microseconds, long before the product exists. A timer read right after it
# measures the launch, not the work. Three rules:
#
# 1. **Synchronise** before starting the clock (so that earlier work is not counted) and
#    before stopping it (so that this work is): `cupy.cuda.Device().synchronize()`.
#    Anything that reads a value on the host (`to_numpy`, `.item()`) synchronises too.
# 2. **Warm up.** The first call pays one-off costs: creating the CUDA context and the
#    cuBLAS handle, and compiling CuPy's elementwise kernels (cached on disk afterwards).
# 3. **Repeat and take the minimum**: other work on the machine only ever adds time.
#
# `cupyx.profiler.benchmark` does all of this for you; here it is by hand, so that the
# same helper times the CPU (where `sync` does nothing).
#
# CPU timings have their own trap: NumPy's matrix product runs on several BLAS threads
# (`OPENBLAS_NUM_THREADS`, read when NumPy is imported). For small matrices, or on a
# machine busy with other work, the threads spend more time handing work over than
# computing, and one thread can be several times faster than two.

# %%
def time_it(fn, sync=lambda: None, repeat=5):
    """Best wall time of fn() over `repeat` runs, in seconds, after one warm-up run."""
    fn()
    sync()                                  # warm-up, and wait for it to finish
    best = float("inf")
    for _ in range(repeat):
        sync()
        start = time.perf_counter()
        fn()
        sync()                              # the work has to be done before the clock stops
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

if HAVE_GPU:                                # what forgetting to synchronise looks like
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
# An LSTM is a harder case for a GPU: its T time steps run one after another, and each
# step is a few small kernels (a matrix product, the gate nonlinearities, the cell
# update), so with a small batch and hidden size the GPU spends its time *launching*
# (some microseconds per kernel) rather than computing. The speed-up grows with `B` and
# `H`. Here is one forward pass of `nn.LSTM` on each device, without building the graph.

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
except ImportError:                     # the plot is optional: pip install matplotlib
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
# ## Training on a device
#
# Training on a GPU changes two lines: the model is built with `device=...` (or moved
# with `model.to(device)`), and each batch, drawn on the host, is moved there with
# `to_device`. Everything else, the forward pass, `loss.backward()`, Adam's update,
# runs where the parameters live. `loss.item()` is the one trip back per step. (The
# `Trainer` of `minigen.train` does the same when you pass it `device=`.)
#
# The random numbers (initial weights, dropout masks) are drawn on the host from
# minigen's seeded generator and then moved, so the same seed gives the same model on
# every device. On the simulated device the losses are the very same numbers as on
# NumPy (it *is* NumPy underneath); on a real GPU they agree to float32 rounding,
# because cuBLAS adds up a matrix product in another order than OpenBLAS.

# %%
from minigen.data import CharTokenizer, random_windows, shakespeare  # noqa: E402
from minigen.models import RNNLanguageModel  # noqa: E402

text = shakespeare()[:20_000 if QUICK else 200_000]
tokenizer = CharTokenizer.train(text)
ids = tokenizer.encode(text)


def train_tiny(device, steps, hidden_size, batch_size=16, seq_len=32):
    """Train a char-LSTM for `steps` Adam steps on `device` (None: NumPy). Returns (losses, seconds per step)."""
    minigen.manual_seed(0)
    model = RNNLanguageModel(tokenizer.vocab_size, embed_dim=16, hidden_size=hidden_size, device=device)
    optimizer = minigen.optim.Adam(model.parameters(), lr=3e-3)
    batches = np.random.default_rng(0)                               # the same batches on every device
    losses, start = [], time.perf_counter()
    for step in range(steps):
        x, y = random_windows(ids, batch_size, seq_len, batches)      # host int64 arrays (B, T)
        if device is not None:
            x, y = to_device(x, device), to_device(y, device)         # host -> device, explicitly
        logits, _ = model(x)                                          # (B, T, V), on the device
        loss = minigen.functional.cross_entropy(logits.reshape(-1, tokenizer.vocab_size),
                                                array_namespace(y).reshape(y, (-1,)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())                                    # device -> host: one number per step
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
# On a GPU, expect the tiny quick-mode model to be no faster than NumPy: each step
# launches hundreds of small kernels, and a launch (a few microseconds, plus minigen's
# Python overhead, which is the same on both devices) costs about as much as the
# arithmetic of a 32-wide LSTM. Without quick mode (hidden 128) the balance shifts, and
# for a larger model such as `minigen.models.GPT`, whose attention and MLP are big
# matrix products over the whole sequence at once, the GPU pulls far ahead.
#
# ## Exercises
#
# 1. (Graded: 12.1 `logsumexp` and 12.2 `one_hot` above.) `python -m minigen grade .
#    --public-only` runs the public checks; they run your functions on NumPy and, with
#    array-api-strict installed, on `Device("device1")`. Try replacing `xp.max` with
#    `np.max` in `logsumexp`, or dropping `device=` in `one_hot`, and read what the
#    checks say.
# 2. Find the crossover: for which `n` does the GPU matrix product beat the CPU one,
#    and for which `(B, H)` does the GPU LSTM? Why does the batch size matter so much
#    more for the LSTM than for the matrix product?
# 3. Look for synchronisation points in `minigen/models/vae.py` (`bool(...)`, `float(...)`,
#    `.item()`, `to_numpy`). Which of them run once per batch and which once per time
#    step? What would it cost to put one inside the LSTM's loop over time?
# 4. Run minigen's own kernel tests on the simulated device:
#    `pytest tests/kernels -k strict`. Then change one kernel to call `np.exp` and run
#    them again.
