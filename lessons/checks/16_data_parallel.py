"""Public checks for lesson 16 (data parallelism). Run them with `python -m minigen grade . --public-only`.

The ring all-reduce is checked one rank at a time: the check plays every other rank of the
ring (they follow the lesson's chunk numbers), and compares each message your rank sends
with the one the ring's rank sends at that step.
"""

import numpy as np

from minigen.grading import (
    CheckFailure, case, check, expect_close, expect_close_or_name_the_slip, expect_true, same_values,
)

# Nothing in minigen computes these exercises for a student to call: minigen.distributed packs and all-reduces
# inside Group.all_reduce_gradients, through MPI, which a student's code does not have in the grader.
FORBIDDEN = {}




def gradients(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in [(3, 4), (4,), (2, 3, 2), (1,), (5, 1)]]


# ---------------------------------------------------------------------------- 16.1 pack

def check_pack(student, arrays):
    result = student.pack([a.copy() for a in arrays])
    expect_true(isinstance(result, tuple) and len(result) == 2, "pack must return a tuple (flat, shapes)")
    flat, shapes = result
    want = np.concatenate([a.reshape(-1) for a in arrays])
    slips = {
        "It flattens in column-major (Fortran) order; unpack reshapes in row-major order, as NumPy does by default: "
        "use a.reshape(-1) or a.ravel().": np.concatenate([a.reshape(-1, order="F") for a in arrays]),
        "It concatenates the arrays in reverse order: keep the given order.":
            np.concatenate([a.reshape(-1) for a in arrays[::-1]]),
    }
    expect_close_or_name_the_slip("pack", "flat", flat, want, slips)
    got_shapes = [tuple(int(n) for n in s) for s in shapes] if isinstance(shapes, (list, tuple)) else shapes
    expect_true(got_shapes == [a.shape for a in arrays],
                f"pack returned the shapes {shapes!r}; expected {[a.shape for a in arrays]} (each array's shape, "
                "in order, so that unpack can rebuild them)")


@check("pack", points=1)
def pack_concatenates_in_order(student):
    """pack returns the arrays flattened and concatenated in order, with their shapes"""
    check_pack(student, gradients())


# ---------------------------------------------------------------------------- 16.2 unpack

def check_unpack(student, arrays):
    flat = np.concatenate([a.reshape(-1) for a in arrays])
    shapes = [a.shape for a in arrays]
    got = student.unpack(flat.copy(), list(shapes))
    expect_true(got is not None and len(got) == len(arrays),
                f"unpack returned {0 if got is None else len(got)} arrays for {len(arrays)} shapes")
    for k, (g, a) in enumerate(zip(got, arrays)):
        expect_true(np.shape(g) == a.shape, f"unpack's array {k} has shape {np.shape(g)}; expected {a.shape}")
        expect_close("unpack", f"array {k}", g, a, atol=0, rtol=0)


@check("unpack", points=1)
def unpack_inverts_pack(student):
    """unpack cuts a flat buffer back into arrays of the given shapes, in order"""
    check_unpack(student, gradients(1))


# ---------------------------------------------------------------------------- 16.3 ring_all_reduce

def ring_messages(buffers):
    """What each rank of the lesson's ring sends at each of its 2(N - 1) steps: messages[r][k]."""
    N = len(buffers)
    chunks = [[c.copy() for c in np.array_split(b, N)] for b in buffers]
    messages = [[] for _ in range(N)]
    for s in range(N - 1):                                  # reduce-scatter
        sent = [chunks[r][(r - s) % N].copy() for r in range(N)]
        for r in range(N):
            messages[r].append(sent[r])
            chunks[r][(r - s - 1) % N] += sent[(r - 1) % N]
    for s in range(N - 1):                                  # all-gather
        sent = [chunks[r][(r - s + 1) % N].copy() for r in range(N)]
        for r in range(N):
            messages[r].append(sent[r])
            chunks[r][(r - s) % N] = sent[(r - 1) % N]
    return messages


def _step_name(k, N):
    return f"reduce-scatter step {k}" if k < N - 1 else f"all-gather step {k - (N - 1)}"


def check_ring(student, buffers, rank):
    """Run the student's ring_all_reduce as ``rank``; the check plays the other ranks."""
    N = len(buffers)
    messages = ring_messages(buffers)
    calls, problems = [], []
    right, left = (rank + 1) % N, (rank - 1) % N

    def sendrecv(array, dest, source):
        k = len(calls)
        calls.append(k)
        if k >= 2 * (N - 1):
            problems.append(f"it called sendrecv {k + 1} times or more; the ring takes 2(N - 1) = {2 * (N - 1)} "
                            f"messages for N = {N}")
            return np.zeros_like(messages[left][0])
        step = _step_name(k, N)
        if dest != right or source != left:
            problems.append(f"at {step}, rank {rank} sent to {dest} and received from {source}; on the ring it "
                            f"sends to its right neighbour {right} and receives from its left one {left}")
        elif not same_values(array, messages[rank][k]):
            s = k if k < N - 1 else k - (N - 1)
            which = f"(r - s) % N = {(rank - s) % N}" if k < N - 1 else f"(r - s + 1) % N = {(rank - s + 1) % N}"
            problems.append(f"at {step}, rank {rank} of {N} sent {np.round(np.asarray(array, float), 4).tolist()}; "
                            f"the ring sends its chunk {which}, holding "
                            f"{np.round(messages[rank][k], 4).tolist()} at that point")
        return messages[left][k].copy()

    got = student.ring_all_reduce(buffers[rank].copy(), rank, N, sendrecv)
    if problems:
        raise CheckFailure(f"ring_all_reduce: {problems[0]}")
    expect_true(len(calls) == 2 * (N - 1), f"ring_all_reduce (rank {rank} of {N}) called sendrecv {len(calls)} "
                                           f"times; the ring takes 2(N - 1) = {2 * (N - 1)} messages")
    expect_close("ring_all_reduce", f"sum (as rank {rank} of {N})", got, np.sum(buffers, axis=0), atol=1e-12,
                 rtol=1e-10)


@check("ring_all_reduce", points=2)
def ring_on_two_and_three_ranks(student):
    """ring_all_reduce, as every rank of 2 and of 3, sends the ring's messages and returns the sum"""
    rng = np.random.default_rng(2)
    for N, size in [(2, 8), (3, 10)]:
        buffers = [rng.standard_normal(size) for _ in range(N)]
        for rank in range(N):
            with case(f"With {N} ranks and {size} numbers, as rank {rank}"):
                check_ring(student, buffers, rank)


# ---------------------------------------------------------------------------- 16.4 clip_sharded

def clip_reference(chunks, rank, max_norm):
    total = float(np.sqrt(sum(float(np.sum(c * c)) for c in chunks)))
    return chunks[rank] * min(1.0, max_norm / (total + 1e-6)), total


def check_clip(student, chunks, rank, max_norm):
    sent = []
    others = sum(float(np.sum(c * c)) for k, c in enumerate(chunks) if k != rank)

    def all_reduce_sum(value):
        sent.append(float(value))
        return float(value) + others

    result = student.clip_sharded(chunks[rank].copy(), max_norm, all_reduce_sum)
    expect_true(isinstance(result, tuple) and len(result) == 2, "clip_sharded must return (clipped chunk, total_norm)")
    own = float(np.sum(chunks[rank] ** 2))
    expect_true(len(sent) == 1, f"clip_sharded called all_reduce_sum {len(sent)} times; one call, with this rank's "
                                "squared norm, gives the global one")
    if not np.isclose(sent[0], own, rtol=1e-10):
        hint = (" That is the chunk's norm: send its SQUARE, |g_r|^2 = sum(chunk**2); squared norms add up over "
                "disjoint parts, norms do not." if np.isclose(sent[0], np.sqrt(own), rtol=1e-10) else "")
        raise CheckFailure(f"clip_sharded sent {sent[0]:.6g} to all_reduce_sum; expected this rank's |g_r|^2 = "
                           f"{own:.6g}.{hint}")
    clipped, total = result
    want_chunk, want_total = clip_reference(chunks, rank, max_norm)
    slips = {"It forgets the square root: the norm is sqrt(sum over ranks of |g_r|^2).": own + others}
    expect_close_or_name_the_slip("clip_sharded", "total_norm", np.float64(total), want_total, slips)
    local = float(np.sqrt(own))
    chunk_slips = {
        "It scales up a gradient whose norm is below max_norm: coef = min(1, max_norm / (total + 1e-6)).":
            chunks[rank] * max_norm / (want_total + 1e-6),
        "It clips by this rank's own norm: every rank must use the same, global, factor.":
            chunks[rank] * min(1.0, max_norm / (local + 1e-6)),
    }
    expect_close_or_name_the_slip("clip_sharded", "clipped chunk", clipped, want_chunk, chunk_slips)


@check("clip_sharded", points=2)
def clip_by_the_global_norm(student):
    """clip_sharded sends |g_r|^2, takes the global norm and scales by min(1, max_norm / (norm + 1e-6))"""
    rng = np.random.default_rng(3)
    chunks = [rng.standard_normal(n) * 2 for n in (4, 3, 5)]
    for rank in range(3):
        with case(f"As rank {rank} of 3, max_norm 1 (clipping)"):
            check_clip(student, chunks, rank, 1.0)
    with case("As rank 1 of 3, max_norm 100 (no clipping)"):
        check_clip(student, chunks, 1, 100.0)
