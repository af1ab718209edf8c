"""minigen: a from-scratch NumPy/CuPy engine for deep-learning text generation.

>>> import minigen
>>> x = minigen.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> loss = (x @ x).tanh().sum()
>>> loss.backward()
>>> x.grad.shape
(2, 2)
"""

import os as _os

# After each matrix product OpenBLAS's idle threads spin for up to 2^28 cycles (about
# 0.1 s) before they sleep, and a sleeping thread must be woken for the next product,
# which on a virtual machine can cost more than the product. 2^24 cycles (a few ms)
# keeps them awake across the gaps inside a training step and lets them sleep when the
# work stops. This only takes effect when minigen is imported before NumPy, as
# `python -m minigen` does; set the variable yourself to override it.
_os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "24")
# Under mpiexec, the ranks on one machine share its cores: each gets its share of BLAS
# threads (MPICH's MPI_LOCALNRANKS, Open MPI's OMPI_COMM_WORLD_LOCAL_SIZE) rather than all
# of them each, which would make N ranks fight over the cores. Set OPENBLAS_NUM_THREADS
# yourself to override it.
_local_ranks = int(_os.environ.get("MPI_LOCALNRANKS") or _os.environ.get("OMPI_COMM_WORLD_LOCAL_SIZE") or 1)
if _local_ranks > 1:
    _os.environ.setdefault("OPENBLAS_NUM_THREADS", str(max(1, (_os.cpu_count() or 1) // _local_ranks)))

from . import backend  # noqa: E402
from .autograd import Function, Tensor, enable_grad, is_grad_enabled, no_grad, tensor
from .autograd.ops import (
    add, cat, clamp, clip, concat, div, exp, log, masked_fill, matmul, max, mean, mul, neg, permute, pow,
    relu, reshape, sigmoid, split, sqrt, stack, sub, sum, tanh, transpose, where,
)
from .backend import get_default_dtype, manual_seed, set_default_dtype, to_device, to_numpy
from .gradcheck import GradcheckError, gradcheck, gradcheck_kernel
from . import functional, models, nn, optim, sample  # noqa: E402  (after the core they build on)
from . import checkpoint, data, metrics, train  # noqa: E402  (host-side: corpora, tokenizers, metrics, the loop)
from . import gan, rl  # noqa: E402  (reinforcement learning and text GANs, on the models and the sampling)
from .functional import dropout, embedding, gelu  # noqa: E402  (kernels, as functions of tensors)

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "Function", "no_grad", "enable_grad", "is_grad_enabled",
    "add", "sub", "mul", "div", "neg", "pow", "matmul",
    "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "gelu", "clip", "clamp", "dropout",
    "sum", "mean", "max", "reshape", "permute", "transpose", "concat", "cat", "stack", "split",
    "where", "masked_fill", "embedding",
    "gradcheck", "gradcheck_kernel", "GradcheckError",
    "manual_seed", "get_default_dtype", "set_default_dtype", "to_device", "to_numpy", "backend",
    "functional", "nn", "optim", "models", "sample", "data", "train", "checkpoint", "metrics",
    "rl", "gan",
]
