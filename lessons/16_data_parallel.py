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
# # Lesson 16: data parallelism
#
# One process trains at the speed of one machine. **Data parallelism** uses N of them
# (N processes, or *ranks*, on one machine or on many): every rank holds a full copy of
# the model, each step splits the batch into N parts, every rank computes the gradient
# on its own part, and the ranks **average** their gradients before the optimizer's
# step. Every rank then takes the same step, so the copies stay identical, and the
# result is the step of one process on the whole batch, N times faster if the averaging
# is cheap. Chainer did this with ChainerMN, PyTorch does it with
# `DistributedDataParallel`; minigen does it with MPI (`minigen train --distributed`).
#
# The averaging is an **all-reduce**: every rank contributes an array, and every rank
# gets back their sum. This lesson shows why the average of the ranks' gradients is the
# big batch's gradient, packs the gradients into one buffer, builds the **ring
# all-reduce** from point-to-point messages (the algorithm inside NCCL and most MPI
# libraries for large buffers), measures its cost against a model, and clips by the
# global norm when every rank holds only part of the gradient.
#
# Shapes: B = the global batch, N = ranks, P = parameters (numbers), C = chunks.
#
# Run it with MPI, two ranks: `mpiexec -n 2 python 16_data_parallel.py` (`pip install
# "minigen[distributed]"` gives `mpiexec`). Alone (`python 16_data_parallel.py`, or as a
# notebook) it simulates the ranks with threads and skips the timings.
# `MINIGEN_QUICK=1` (or `--quick`) makes it short.

# %%
import os
import queue
import sys
import threading
import time

import minigen  # first: minigen tunes OpenBLAS's threads, which must happen before NumPy loads
import numpy as np

from minigen import distributed
from minigen.models import RNNLanguageModel

QUICK = os.environ.get("MINIGEN_QUICK") == "1" or "--quick" in sys.argv
try:
    group = distributed.init() if int(os.environ.get("PMI_SIZE") or os.environ.get("OMPI_COMM_WORLD_SIZE") or 1) > 1 \
        else distributed.SINGLE
except ImportError:                    # no mpi4py: the lesson runs alone
    group = distributed.SINGLE
RANK, N = group.rank, group.world_size
say = print if RANK == 0 else (lambda *args, **kwargs: None)          # rank 0 speaks for all
rng = np.random.default_rng(0)
say(f"{N} rank(s)" + ("" if N > 1 else ": the ranks below are simulated with threads"))

# %% [markdown]
# ## 1. The average of the parts' gradients is the whole batch's gradient
#
# The loss of a batch is the mean of its rows' losses, `L = 1/B sum_b l_b`. Split the B
# rows into N equal parts of B/N rows; part k's loss is `L_k = N/B sum_{b in k} l_b`, and
#
#     L = 1/N sum_k L_k,        so        grad L = 1/N sum_k grad L_k
#
# (the gradient is linear). Every rank computes `grad L_k` on its rows, the all-reduce
# sums them, and dividing by N gives `grad L` exactly. The parts must be equal in size;
# otherwise each `grad L_k` must be weighted by its rows. Checked on an LSTM language
# model in float64: the gradient on 32 rows against the mean of two gradients on 16.

# %%
V = 11
minigen.manual_seed(0)
model = RNNLanguageModel(V, embed_dim=6, hidden_size=12, num_layers=1).double()
x = rng.integers(0, V, (32, 10))
y = rng.integers(0, V, (32, 10))


def gradients(rows):
    """The gradient of the mean cross-entropy over ``rows`` of the batch, one array per parameter."""
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
# ## 2. One buffer for all the gradients
#
# A model has dozens of parameter arrays, some tiny (a bias of 12 numbers). Every MPI
# message costs a fixed start-up time (the *latency*, microseconds) plus its size over
# the bandwidth. One all-reduce per array pays the latency dozens of times; one
# all-reduce of a single flat buffer pays it once. So the gradients are **packed**: each
# array flattened, all of them concatenated, and after the all-reduce **unpacked** back
# into arrays of the original shapes.
#
# ## Exercise 16.1: pack
#
# Return the 1-D concatenation of the arrays' flattened values (in the given order)
# and the list of their shapes.


# %%
def pack(arrays):
    """(flat, shapes): the arrays flattened and concatenated in order, (P,), and their shapes."""
    ### BEGIN SOLUTION
    flat = np.concatenate([np.reshape(a, -1) for a in arrays])
    return flat, [np.shape(a) for a in arrays]
    ### END SOLUTION


# %% [markdown]
# ## Exercise 16.2: unpack
#
# The inverse: cut `flat` back into arrays of the given shapes, in order. Use
# `np.prod(shape)` for the size of each (a shape `()` holds one number). Return copies or
# views as you like, but the arrays must have exactly the shapes given.


# %%
def unpack(flat, shapes):
    """The arrays of ``shapes`` that ``pack`` concatenated into ``flat``, in order."""
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
# ## 3. The ring all-reduce
#
# The simplest all-reduce sends every buffer to rank 0, which sums them and sends the
# sum back: rank 0 moves 2(N - 1) whole buffers while the others wait. The **ring**
# spreads the work evenly. Arrange the ranks in a ring, each sending only to its right
# neighbour `(r + 1) % N` and receiving only from its left one `(r - 1) % N`, and cut the
# buffer into N chunks `C_0 .. C_{N-1}` (`np.array_split`):
#
# - **reduce-scatter**, N - 1 steps: at step s (0, 1, ...), rank r sends its chunk
#   `(r - s) % N` and adds the chunk it receives into its chunk `(r - s - 1) % N`. A
#   chunk travels around the ring collecting one more rank's contribution at each hop;
#   after N - 1 steps rank r holds the **complete sum** of chunk `(r + 1) % N`;
# - **all-gather**, N - 1 steps: at step s, rank r sends its chunk `(r - s + 1) % N`
#   (at s = 0 the complete one) and **replaces** its chunk `(r - s) % N` with the one it
#   receives. The complete chunks travel around the ring until every rank has all of them.
#
# Each rank sends 2(N - 1) messages of 1/N of the buffer: `2 (N - 1) / N` buffers in
# all, **whatever N is**. That is within a factor of 2 of the least any all-reduce can
# send, and it is why the ring is the standard algorithm for large buffers.
#
# ## Exercise 16.3: one rank's ring all-reduce
#
# Write the program that every rank runs. `sendrecv(array, dest, source)` sends `array`
# to rank `dest` and returns the array received from rank `source` (MPI's `Sendrecv`:
# both at once, so that a ring of ranks that all send first cannot deadlock). Return the
# sum of every rank's `buffer` (a new array: leave `buffer` as it was). Use exactly the
# chunk numbers above: the checks play the other ranks, who follow them.


# %%
def ring_all_reduce(buffer, rank, size, sendrecv):
    """The elementwise sum over the ranks of their 1-D ``buffer``s, by reduce-scatter then all-gather on a ring."""
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
# Without MPI, N ranks can be simulated by N threads, each running your function, with
# a queue per rank as its mailbox. Then, under `mpiexec`, the same function runs on real
# ranks with `comm.sendrecv`, against MPI's own `Allreduce`.

# %%
def simulate(program, buffers):
    """Run ``program(buffer, rank, size, sendrecv)`` on len(buffers) threads that pass messages; their results."""
    size = len(buffers)
    mailboxes = [queue.Queue() for _ in range(size)]
    results = [None] * size

    def run(rank):
        def sendrecv(array, dest, source):
            mailboxes[dest].put((rank, np.array(array)))         # a copy, as a message is
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
    ok = group.sum([float(np.allclose(ring, expected, rtol=1e-12, atol=1e-12))])[0] == N     # on every rank
    say(f"on {N} MPI ranks: your ring equals MPI's Allreduce on every rank:", ok)

# %% [markdown]
# ## 4. What it costs: a model and a measurement
#
# A message of m bytes costs about `alpha + m / beta`: a latency `alpha` and a bandwidth
# `beta`. The ring sends 2(N - 1) messages of `M / N` bytes for a buffer of M bytes, one
# after another, so
#
#     T_ring(M) = 2 (N - 1) alpha + 2 (N - 1) / N * M / beta
#
# For small buffers the latency term dominates (many ranks make it worse); for large
# ones the bandwidth term, which hardly grows with N. Under `mpiexec` we time MPI's
# `Allreduce` and your ring over buffer sizes, fit `alpha` and `beta` to MPI's times by
# least squares on the relative errors (so that the small buffers count as much as the
# large ones), and compare the model's prediction for your ring with its measured time.
# (Between processes on one machine, "bandwidth" is memory copying; between machines it
# is the network, 10 Gbit/s = 1.25 GB/s for a common one.)

# %%
def timed(fn, repeats):
    group.comm.Barrier()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


if N > 1:
    sizes = [2 ** k for k in (range(8, 21, 3) if QUICK else range(8, 23, 2))]     # float64 numbers per buffer
    measured = {"MPI Allreduce": [], "your ring": []}
    for n in sizes:
        buf, out = np.ones(n), np.empty(n)
        repeats = max(3, min(100, 2 ** 22 // n))
        measured["MPI Allreduce"].append(timed(lambda: group.comm.Allreduce(buf, out), repeats))
        measured["your ring"].append(timed(lambda: ring_all_reduce(buf, RANK, N, mpi_sendrecv), repeats))
    M = np.array(sizes) * 8.0                                                          # bytes
    A = np.stack([np.full(len(M), 2 * (N - 1)), 2 * (N - 1) / N * M], axis=1)
    t = np.array(measured["MPI Allreduce"])
    alpha, inv_beta = np.linalg.lstsq(A / t[:, None], np.ones(len(t)), rcond=None)[0]    # relative errors
    say(f"fitted to MPI's Allreduce: latency alpha = {alpha * 1e6:.1f} us, bandwidth beta = "
        f"{1 / inv_beta / 1e9:.2f} GB/s")
    say(f"{'bytes':>10s} {'MPI Allreduce':>14s} {'your ring':>12s} {'model':>10s}")
    for k, m in enumerate(M):
        say(f"{int(m):10d} {measured['MPI Allreduce'][k] * 1e6:11.1f} us {measured['your ring'][k] * 1e6:9.1f} us "
            f"{(A[k] @ [alpha, inv_beta]) * 1e6:7.1f} us")
    if RANK == 0:
        try:
            import matplotlib.pyplot as plt
        except ImportError:             # the plot is optional: pip install matplotlib
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
# The model's shape, a latency floor and then a line of slope 1, fits MPI's times; on one
# machine the "bandwidth" is memory copying, and it drops once the buffers outgrow the
# caches. Your ring follows the same shape several times higher: it is Python, its
# messages are pickled (`comm.sendrecv`, lower case, sends any Python object) and each
# chunk is copied a few times on the way. MPI's own ring is compiled and copies once.
#
# ## 5. Clipping by the global norm, when no rank has the whole gradient
#
# In plain data parallelism every rank holds the whole averaged gradient, so the norm
# it computes for clipping is already the global one. Larger models shard the optimizer
# (ZeRO, FSDP): after the **reduce-scatter** half of the ring, rank r keeps only its
# complete chunk and updates only the parameters in it, and never sees the rest. Its
# chunk's norm is not the gradient's norm. But squared norms add up over disjoint
# parts:
#
#     |g|^2 = sum_r |g_r|^2
#
# so one all-reduce of one number per rank gives the global norm, and every rank scales
# its chunk by the same factor, as `torch.nn.utils.clip_grad_norm_` does:
#
#     coef = min(1, max_norm / (|g| + 1e-6))
#
# ## Exercise 16.4: the global-norm clip of a sharded gradient
#
# `all_reduce_sum(value)` returns the sum of `value` over the ranks. Return the clipped
# chunk (a new array) and the global norm.


# %%
def clip_sharded(chunk, max_norm, all_reduce_sum):
    """(chunk * coef, total_norm): total_norm = sqrt(sum over the ranks of |chunk|^2),
    coef = min(1, max_norm / (total_norm + 1e-6))."""
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
# ## 6. The real thing
#
# `minigen.distributed` puts these pieces together for `minigen.train.Trainer`: the
# batch's rows split among the ranks (`Group.rows`), the gradients packed into one
# buffer per dtype and averaged by one MPI `Allreduce` (`Group.all_reduce_gradients`),
# the same weights on every rank at the start (`broadcast_parameters`), rank 0 alone
# printing and saving. The whole main job trains this way with
#
#     mpiexec -n 2 python -m minigen train --distributed
#
# and its tests check that 2 ranks of 16 rows take exactly (to 1e-12 in float64) the
# steps of one process with 32. Here, three steps of it on this lesson's ranks:

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
# ## Exercises
#
# 1. (Graded: 16.1 `pack`, 16.2 `unpack`, 16.3 `ring_all_reduce`, 16.4 `clip_sharded`.)
#    `python -m minigen grade . --public-only` runs the public checks.
# 2. With your fitted `alpha` and `beta`, predict the all-reduce time of the main job's
#    gradient (`python -m minigen train` prints its parameter count; 4 bytes each) on 8
#    and on 64 machines. At what N does the latency term overtake the bandwidth term?
# 3. Write the naive all-reduce (everyone sends to rank 0, which sums and sends back) with
#    `sendrecv`-style messages and time it against your ring for N = 2 and 3
#    (`mpiexec -n 3` oversubscribes two cores, which MPICH allows).
# 4. Overlap: the gradients of the last layers are ready first. Sketch how to start their
#    all-reduce while the backward pass is still computing the first layers' gradients,
#    and estimate what it would save on the main job's step.
