"""Layer normalisation kernel: normalise each row over its last dimensions, then scale and shift.

Shapes: N = the leading dimensions flattened (batch x time), C = the normalised
dimensions flattened (the product of ``normalized_shape``; the channels).

    forward   mu    = mean_c x_c
              var   = mean_c (x_c - mu)^2                    (biased, as torch)
              sigma = sqrt(var + eps)
              xhat  = (x - mu) / sigma
              y     = xhat * w + b                           w, b of shape normalized_shape
    backward  g  = dy * w                                    (g = dy without a weight)
              dx = (g - mean_c g - xhat * mean_c(g * xhat)) / sigma
              dw = sum_n dy * xhat,   db = sum_n dy

Where the compact dx comes from: xhat_c = (x_c - mu) / sigma, and both mu and sigma
depend on every x_c of the row, with d mu / d x_c = 1/C and
d sigma / d x_c = xhat_c / (C sigma). The chain rule then gives three terms: the
direct one (g / sigma), the one through mu (-mean(g) / sigma), and the one through
sigma (-xhat * mean(g * xhat) / sigma).

The variance is computed from the centred values (two passes over the row), not
as ``mean(x^2) - mean(x)^2``: for inputs around 1e4 that difference cancels to
garbage in float32, and can even come out negative.
"""

from __future__ import annotations

import math

from ..backend import array_namespace, cache_blocks, device_of, matmul_sum


def _row_mean(a, b=None):
    """mean_c a (or mean_c a * b) of each row of (N, C) arrays, as an (N, 1) column.

    Written as a matrix-vector product (``matmul_sum``) and a row dot (``vecdot``): for
    rows of a few hundred numbers NumPy's axis reduction is several times slower than either.
    """
    xp = array_namespace(a)
    m = matmul_sum(a, 1) if b is None else xp.vecdot(a, b, axis=-1)
    return xp.reshape(m / a.shape[1], (-1, 1))


_MEAN_COLUMNS = {}


def _mean_column(xp, C: int, like):
    """The (C, 1) column of 1/C (rows @ it = their means), made once per size, dtype and device.

    Generation normalises one row at a time, where allocating the column costs a fifth
    of the layer norm.
    """
    key = (C, like.dtype, device_of(like))
    if key not in _MEAN_COLUMNS:
        _MEAN_COLUMNS[key] = xp.full((C, 1), 1.0 / C, dtype=like.dtype, device=device_of(like))
    return _MEAN_COLUMNS[key]


def _forward_rows(xp, x2, w, b, eps):
    """Normalise, scale and shift the rows of x2 (..., C). Returns y, xhat (..., C) and rstd (..., 1).

    Any leading shape works, so generation's (B, T, C) needs no reshape; the row sums
    are products (see ``_row_mean``), and the whole function is 11 array operations.
    """
    # 1. mean and biased variance of each row
    C = x2.shape[-1]
    mu = x2 @ _mean_column(xp, C, x2)                                  # (..., 1): the row means
    xc = x2 - mu                                                       # (..., C)
    var = xp.vecdot(xc, xc, axis=-1)[..., None] / C                    # (..., 1)
    # 2. normalise
    rstd = (var + eps) ** -0.5                                         # 1 / sigma, (..., 1)
    xhat = xc
    xhat *= rstd                                                       # (n, C), in xc's memory
    # 3. scale and shift
    y = xhat
    if w is not None:
        y = xhat * w                                                   # a new array: xhat stays in the cache
        if b is not None:
            y += b
    elif b is not None:
        y = xhat + b
    return y, xhat, rstd


def layer_norm(x, weight=None, bias=None, eps: float = 1e-5):
    """The forward alone, over the last axis, keeping no cache: what generation calls.

    The same maths as ``layer_norm_forward`` (both run ``_forward_rows``), for inputs
    no backward will follow.
    """
    return _forward_rows(array_namespace(x), x, weight, bias, eps)[0]


def layer_norm_forward(x, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """Normalise ``x`` (..., *normalized_shape) over its trailing ``len(normalized_shape)`` axes.

    ``weight`` and ``bias`` (shape ``normalized_shape``) are optional. Returns ``(y, cache)``.
    Many rows are taken in cache-sized blocks of rows (``backend.cache_blocks``), so that
    each block stays in the cache for all the passes over it.
    """
    xp = array_namespace(x)
    norm_shape = tuple(normalized_shape)
    C = math.prod(norm_shape)
    x2 = xp.reshape(x, (-1, C))                                        # (N, C)
    N = x2.shape[0]
    w = xp.reshape(weight, (C,)) if weight is not None else None
    b = xp.reshape(bias, (C,)) if bias is not None else None
    blocks = cache_blocks(N, x, row_size=C)
    if len(blocks) == 1:
        y, xhat, rstd = _forward_rows(xp, x2, w, b, eps)
    else:
        y, xhat = xp.empty_like(x2), xp.empty_like(x2)
        rstd = xp.empty((N, 1), dtype=x2.dtype, device=device_of(x2))
        for r in blocks:
            y[r, :], xhat[r, :], rstd[r, :] = _forward_rows(xp, x2[r, :], w, b, eps)
    cache = (xhat, rstd, weight, bias is not None, tuple(x.shape), norm_shape)
    return xp.reshape(y, tuple(x.shape)), cache                        # (N, C) -> (..., *normalized_shape)


def _backward_rows(xp, g, xhat, rstd):
    """dx of the rows, from g = dxhat (n, C): (g - mean(g) - xhat * mean(g * xhat)) / sigma."""
    m_g = _row_mean(g)                                                 # (n, 1)
    dx = xhat * _row_mean(g, xhat)                                     # (n, C), then in place:
    dx -= g
    dx += m_g
    dx *= -rstd                                                        # (g - m_g - xhat m_gx) / sigma
    return dx


def layer_norm_backward(dy, cache):
    """Returns ``(dx, dweight, dbias)``; ``dweight`` / ``dbias`` are None where there was none."""
    xp = array_namespace(dy)
    xhat, rstd, weight, has_bias, x_shape, norm_shape = cache
    N, C = xhat.shape
    dy2 = xp.reshape(dy, (-1, C))                                      # (N, C)
    # 3. forward was y = xhat * w + b, so dxhat = dy * w, dw = sum_n dy * xhat, db = sum_n dy
    dweight = xp.reshape(matmul_sum(dy2 * xhat, 0), norm_shape) if weight is not None else None
    dbias = xp.reshape(matmul_sum(dy2, 0), norm_shape) if has_bias else None
    w = xp.reshape(weight, (C,)) if weight is not None else None
    # 2 and 1. forward was xhat = (x - mu) / sigma with mu and sigma functions of the row,
    # so dx = (g - mean(g) - xhat * mean(g * xhat)) / sigma, row by row
    blocks = cache_blocks(N, dy, row_size=C)
    if len(blocks) == 1:
        dx = _backward_rows(xp, dy2 * w if w is not None else dy2, xhat, rstd)
    else:
        dx = xp.empty_like(xhat)
        for r in blocks:
            g = dy2[r, :] * w if w is not None else dy2[r, :]          # dxhat
            dx[r, :] = _backward_rows(xp, g, xhat[r, :], rstd[r, :])
    return xp.reshape(dx, x_shape), dweight, dbias                     # (N, C) -> (..., *normalized_shape)
