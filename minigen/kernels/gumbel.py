"""Gumbel-softmax (Jang, Gu and Poole 2017; Maddison, Mnih and Teh 2017): a differentiable stand-in for sampling.

Shapes: any; C = the classes (the vocabulary, V) along ``axis``.
g is Gumbel(0, 1) noise of the logits' shape, drawn by the caller (g = -log E, E ~ Exponential(1)):
keeping the draw outside makes the kernel a pure function of its inputs, as dropout's mask does.

The Gumbel-max trick: argmax_c (x_c + g_c) is a sample from softmax(x). Replacing the argmax by a
softmax at temperature tau gives a point of the simplex that moves smoothly with x, and that tends
to the one-hot sample as tau -> 0.

soft (hard=False)
    forward   y = softmax((x + g) / tau)
    backward  dx = softmax_backward(dy) / tau           (the chain rule through the division by tau)

straight-through (hard=True)
    forward   y = onehot(argmax_c y_soft)               the sample itself, exactly one-hot
    backward  dx = softmax_backward(dy) / tau           the soft gradient, as if y were y_soft

PyTorch writes the straight-through output as ``y_hard - y_soft.detach() + y_soft``, whose values
differ from the one-hot by rounding (at most one unit in the last place); the gradient is the same.
The softmax itself is ``kernels.softmax``.
"""

from __future__ import annotations

from ..backend import array_namespace, device_of
from .softmax import softmax_backward, softmax_forward


def gumbel_softmax_forward(logits, gumbels, tau: float = 1.0, axis: int = -1, hard: bool = False):
    """softmax((logits + gumbels) / tau) along ``axis``, or its one-hot argmax when ``hard``. Returns ``(y, cache)``."""
    xp = array_namespace(logits)
    y_soft, softmax_cache = softmax_forward((logits + gumbels) / tau, axis)
    if not hard:
        return y_soft, (softmax_cache, tau)
    C = logits.shape[axis]
    classes = [1] * logits.ndim
    classes[axis] = C
    classes = xp.reshape(xp.arange(C, device=device_of(logits)), tuple(classes))   # 0..C-1 along axis
    winner = xp.argmax(y_soft, axis=axis, keepdims=True)                             # the sample's class
    y_hard = xp.astype(classes == winner, logits.dtype)                              # one-hot along axis
    return y_hard, (softmax_cache, tau)


def gumbel_softmax_backward(dy, cache):
    """dlogits = softmax_backward(dy) / tau, for the soft and the straight-through forward alike."""
    softmax_cache, tau = cache
    return softmax_backward(dy, softmax_cache) / tau
