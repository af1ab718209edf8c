"""Softmax, log-softmax and cross-entropy: forward/backward kernel pairs on plain arrays.

Shapes: N = rows (batch x time, flattened), C = classes (the vocabulary, V).

softmax
    forward   s_i = exp(x_i - m) / sum_j exp(x_j - m),   m = max_j x_j   (m cancels; it keeps exp finite)
    backward  dx_i = s_i * (dout_i - sum_j dout_j s_j)

log_softmax
    forward   y_i = x_i - lse(x),   lse(x) = m + log sum_j exp(x_j - m)
    backward  dx_i = dout_i - s_i * sum_j dout_j          (s = exp(y))

cross_entropy, fused with log-softmax, for integer targets t
    forward   q = (1 - eps) onehot(t) + eps / C           (label smoothing eps)
              loss_n = -sum_c q_c * y_nc = lse(x_n) - sum_c q_c x_nc
              rows whose target is ignore_index get loss 0;
              reduction "mean" divides the sum by the number of kept rows
    backward  dx_nc = dloss_n * (s_nc - q_nc)  for kept rows, 0 for ignored rows
"""

from __future__ import annotations

from ..backend import array_namespace, device_of


def softmax_forward(x, axis: int = -1):
    """Stable softmax along ``axis``. Returns ``(s, cache)``."""
    xp = array_namespace(x)
    s = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
    s /= xp.sum(s, axis=axis, keepdims=True)
    return s, (s, axis)


def softmax_backward(dout, cache):
    """dx = s * (dout - sum(dout * s)): the Jacobian diag(s) - s s^T applied to dout."""
    xp = array_namespace(dout)
    s, axis = cache
    return s * (dout - xp.sum(dout * s, axis=axis, keepdims=True))


def log_softmax_forward(x, axis: int = -1):
    """Stable log-softmax: ``x - logsumexp(x)``. Returns ``(y, cache)``."""
    xp = array_namespace(x)
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    y = shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))
    return y, (y, axis)


def log_softmax_backward(dout, cache):
    """dx = dout - softmax(x) * sum(dout)."""
    xp = array_namespace(dout)
    y, axis = cache
    return dout - xp.exp(y) * xp.sum(dout, axis=axis, keepdims=True)


def cross_entropy_forward(logits, targets, ignore_index: int = -100, reduction: str = "mean",
                          label_smoothing: float = 0.0):
    """Cross-entropy of ``logits`` (N, C) against integer ``targets`` (N,).

    Returns ``(loss, cache)``: a 0-d array for ``reduction`` "mean" or "sum", shape (N,)
    for "none". Targets equal to ``ignore_index`` contribute nothing (and get no
    gradient). The caller checks that the other targets lie in [0, C).
    """
    xp = array_namespace(logits)
    N, C = logits.shape
    keep = targets != ignore_index                                              # (N,)
    safe_t = xp.where(keep, targets, xp.zeros_like(targets))                    # any valid class for ignored rows
    shifted = logits - xp.max(logits, axis=1, keepdims=True)                   # x - m, (N, C)
    s = xp.exp(shifted)                                                         # unnormalised softmax
    total = xp.sum(s, axis=1, keepdims=True)
    log_total = xp.log(total)                                                   # lse(x) - m, (N, 1)
    s /= total                                                                  # softmax
    picked = xp.take_along_axis(shifted, safe_t[:, None], axis=1)               # x_{n,t_n} - m, (N, 1)
    nll = log_total - picked        # -log s_{n,t_n}; m never re-enters, so large logits lose no digits
    if label_smoothing > 0:
        uniform = log_total - xp.mean(shifted, axis=1, keepdims=True)           # -mean_c log s_nc
        nll = (1 - label_smoothing) * nll + label_smoothing * uniform
    kept = xp.astype(keep, logits.dtype)
    losses = xp.reshape(nll, (N,)) * kept                                       # (N,)
    n_kept = xp.sum(kept)
    if reduction == "none":
        loss = losses
    elif reduction == "sum":
        loss = xp.sum(losses)
    else:
        loss = xp.sum(losses) / n_kept
    return loss, (s, safe_t, kept, n_kept, reduction, label_smoothing)


def cross_entropy_backward(dloss, cache):
    """dlogits = dloss_n * (softmax - q) on kept rows, where q is the (smoothed) one-hot target."""
    xp = array_namespace(dloss)
    s, safe_t, kept, n_kept, reduction, eps = cache
    N, C = s.shape
    onehot = xp.astype(safe_t[:, None] == xp.arange(C, device=device_of(s))[None, :], s.dtype)  # (N, C)
    q = (1 - eps) * onehot + eps / C if eps > 0 else onehot
    if reduction == "none":
        scale = dloss * kept                                                   # (N,)
    elif reduction == "sum":
        scale = dloss * kept
    else:
        scale = (dloss / n_kept) * kept
    return (s - q) * scale[:, None]
