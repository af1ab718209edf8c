"""Data parallelism over MPI: every rank holds the whole model and trains on its own rows of each batch.

    mpiexec -n 2 python -m minigen train --distributed

One step on N ranks (processes, on one machine or several):

1. every rank reads the same global batch of B rows and keeps its own B / N of them
   (``Group.rows``); the batches come from one seeded stream, the same on every rank;
2. forward and backward on those rows: the gradient of the mean loss over them;
3. ``Group.all_reduce_gradients``: every rank's gradients, packed into one flat buffer per
   dtype, summed by one MPI ``Allreduce`` and divided by N. That is the gradient of the mean
   loss over all B rows (each rank's mean has the same weight, 1/N, because each has B/N
   rows), and now it is the same on every rank;
4. clipping and the optimizer's step, identical on every rank, so the replicas stay
   identical. Clipping needs no extra communication: the norm of the averaged gradient,
   which every rank holds, is the global norm.

So N ranks with B / N rows each take the same steps as one process with B rows (to 1e-12 in
float64 with dropout off: tests/test_distributed.py). The initial weights are broadcast from
rank 0 once (``broadcast_parameters``), rank 0 writes the checkpoints and prints, and every
rank reads the same checkpoint to resume: it holds the whole global batch's carried state, so
a run can even resume with another number of ranks that divides B.

Arrays on another device than the host (CuPy, array-api-strict's device1) are copied to the
host for MPI and back: on a GPU this works, with any number of ranks per GPU, but pays two
host copies per step. CuPy's NCCL, which would keep the buffers on the GPUs, is not used: it
needs one GPU per rank, and it has not been possible to test it here.

``mpi4py`` and an MPI are the ``distributed`` extra: ``pip install "minigen[distributed]"``
(MPICH from PyPI, no compiler needed). Without ``init()``, ``SINGLE`` is a group of one process
that never calls MPI, so the training loop needs no special case.
"""

from __future__ import annotations

import numpy as np

from . import backend

__all__ = ["Group", "SINGLE", "init", "rank", "world_size"]

_NO_MPI = ("minigen.distributed needs mpi4py and an MPI library: pip install \"minigen[distributed]\" "
           "(then start the ranks with mpiexec -n N python ...)")


class Group:
    """The processes that train one model together: ``rank`` (0 .. N-1) and ``world_size`` (N).

    ``Group(comm)`` wraps an mpi4py communicator; ``Group(None)`` is one process alone
    (``SINGLE``), for which every operation is the identity and no MPI is needed.
    """

    def __init__(self, comm=None):
        self.comm = comm
        self.rank = comm.Get_rank() if comm is not None else 0
        self.world_size = comm.Get_size() if comm is not None else 1

    @property
    def is_main(self) -> bool:
        """True on rank 0, the rank that prints, evaluates the callbacks and writes checkpoints."""
        return self.rank == 0

    def rows(self, n: int) -> slice:
        """This rank's rows of a batch of ``n`` rows: the r-th of N nearly equal blocks, in order."""
        start, stop = (n * self.rank) // self.world_size, (n * (self.rank + 1)) // self.world_size
        return slice(start, stop)

    def all_reduce_gradients(self, params) -> None:
        """Average every parameter's gradient over the ranks, in place.

        The gradients of one dtype are packed into one flat buffer (a parameter without a
        gradient counts as zeros), summed by one ``Allreduce``, divided by N and unpacked.
        """
        if self.comm is None:
            return
        groups = {}
        for p in params:
            groups.setdefault(str(p.data.dtype), []).append(p)
        for same_dtype in groups.values():
            xp = backend.array_namespace(same_dtype[0].data)
            flat = [xp.reshape(p.grad if p.grad is not None else xp.zeros_like(p.data), (-1,)) for p in same_dtype]
            summed = self._sum(xp.concat(flat))                          # (total size,)
            offset = 0
            for p in same_dtype:
                p.grad = xp.reshape(summed[offset:offset + p.data.size], p.data.shape) / self.world_size
                offset += p.data.size

    def broadcast_parameters(self, params) -> None:
        """Copy rank 0's parameter values to every rank (once, before training), in place."""
        if self.comm is None:
            return
        for p in params:
            host = np.ascontiguousarray(backend.to_numpy(p.data))
            self.comm.Bcast(host, root=0)
            p.data = backend.asarray_like(host, p.data)

    def sum(self, values) -> list:
        """The sums over the ranks of a list of floats (every rank gets them)."""
        if self.comm is None:
            return [float(v) for v in values]
        return [float(v) for v in self._sum(np.asarray(values, dtype=np.float64))]

    def mean(self, value: float) -> float:
        """The mean over the ranks of one float (a loss: every rank gets the global batch's)."""
        return self.sum([value])[0] / self.world_size

    def agree(self, stop: bool, main_done: bool) -> tuple:
        """``(stop, done)`` the same on every rank: stop if any rank asks to (Ctrl-C), done if rank 0 says so (its
        clock decides a time budget). Ranks that disagreed here would wait for each other forever."""
        if self.comm is None:
            return stop, main_done
        flags = self._sum(np.array([stop, main_done and self.is_main], dtype=np.float64))
        return bool(flags[0]), bool(flags[1])

    def gather_rows(self, array):
        """The ranks' arrays joined along axis 1 (their rows of a (layers, B, H) state), on rank 0; None elsewhere."""
        if self.comm is None:
            return array
        parts = self.comm.gather(backend.to_numpy(array), root=0)
        return backend.asarray_like(np.concatenate(parts, axis=1), array) if self.is_main else None

    def _sum(self, buffer):
        """``buffer`` summed over the ranks by one ``Allreduce``, on the buffer's own device."""
        host = np.ascontiguousarray(backend.to_numpy(buffer))
        out = np.empty_like(host)
        self.comm.Allreduce(host, out)                # MPI.SUM is the default operation
        return out if isinstance(buffer, np.ndarray) else backend.asarray_like(out, buffer)

    def abort(self, code: int = 1) -> None:
        """Stop every rank now (after one rank's error, so that the others do not wait forever in a collective)."""
        if self.comm is not None and self.world_size > 1:
            self.comm.Abort(code)

    def __repr__(self):
        return f"Group(rank={self.rank}, world_size={self.world_size})"


SINGLE = Group(None)
_world = SINGLE


def init() -> Group:
    """The group of every rank that ``mpiexec`` started (MPI's COMM_WORLD); imports mpi4py, which starts MPI.

    Under ``mpiexec -n 2 python script.py``, each of the two processes gets its rank:

    >>> group = init()                                      # doctest: +SKIP
    >>> group.rank, group.world_size                        # doctest: +SKIP
    (0, 2)
    """
    global _world
    try:
        from mpi4py import MPI           # optional: the distributed extra
    except ImportError:
        raise ImportError(_NO_MPI) from None
    _world = Group(MPI.COMM_WORLD)
    return _world


def rank() -> int:
    """This process's rank in the group of ``init()`` (0 before it, or without MPI)."""
    return _world.rank


def world_size() -> int:
    """The number of ranks in the group of ``init()`` (1 before it, or without MPI)."""
    return _world.world_size
