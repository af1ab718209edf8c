"""``minigen.functional`` (import it as ``F``): the kernels as differentiable functions.

Each function here checks its arguments, then calls an autograd Function that
wraps a forward/backward kernel pair from ``minigen.kernels``.
"""

from .linear import linear
from .softmax import cross_entropy, log_softmax, softmax, softmax_composed

__all__ = ["linear", "softmax", "softmax_composed", "log_softmax", "cross_entropy"]
