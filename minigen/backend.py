"""The array backend: the one place that knows which array library is in use.

Everything above this module (kernels, autograd, functional, nn, models,
sample) writes plain array maths against a namespace ``xp`` that it gets from
its inputs::

    xp = array_namespace(x)
    y = xp.exp(x - xp.max(x, axis=-1, keepdims=True))

``xp`` is NumPy (through array-api-compat) for host arrays, CuPy for GPU
arrays, and array-api-strict in the test suite, where a simulated non-CPU
device fails on any implicit host conversion. This module is the only
importer of CuPy.

What lives here, and nowhere else:

- ``array_namespace(*arrays)``: the namespace of some arrays (cached by type).
- ``to_numpy(x)`` / ``to_device(x, device)`` / ``asarray_like(host, like)``:
  explicit moves between the host and a device.
- ``index_add(x, index, source)``: a scatter-add along axis 0 that is correct
  when ``index`` repeats (``xp.add.at`` on NumPy and CuPy).
- ``erf(x)``: the error function, which NumPy lacks.
- the default floating dtype and the dtype checks (written in ``_dtypes.py``, re-exported
  here), and one seeded host random generator.
"""

from __future__ import annotations

import math

import array_api_compat
import numpy as np

from ._dtypes import (  # noqa: F401  (re-exported: callers write backend.resolve_dtype etc.)
    _DTYPE_NAMES, _FLOAT_NAMES, _dtype_name, get_default_dtype, is_dtype, is_floating, is_integer, resolve_dtype,
    set_default_dtype,
)

from ._malloc import tune_malloc  # noqa: F401  (re-exported: callers write backend.tune_malloc)

__all__ = [
    "array_namespace", "is_numpy", "is_array", "same_device", "is_dtype", "host_array", "host_full", "format_array", "device_of", "to_numpy", "to_device", "asarray_like",
    "sum_to", "matmul_sum", "matrix_transpose_copy", "cache_blocks", "CACHE_BLOCK", "index_add", "erf", "get_default_dtype", "set_default_dtype", "resolve_dtype",
    "is_floating", "is_integer", "any_true", "manual_seed", "get_rng", "get_cupy", "CupyUnavailableError", "host",
]

GPU_INSTALL_HINT = 'pip install "minigen[gpu]"'

#: The host array library (NumPy), for bookkeeping that stays on the CPU whatever
#: the device: token ids being built up, finished flags, seeded samplers, beam
#: tables. Code above the backend writes ``host.zeros(...)``, so that what lives on
#: the host is explicit, and imports no array library itself.
host = np


class CupyUnavailableError(RuntimeError):
    """CuPy was asked for, but it is not installed or no GPU is visible."""


# --------------------------------------------------------------------------- namespaces

_PY_SCALARS = (int, float, bool, complex)
_MOVE = "move them to one device first with minigen.backend.to_device"


def _numpy_namespace():
    """array-api-compat's NumPy namespace, with ``matrix_transpose`` as NumPy's own ``x.mT``.

    The compat wrapper costs about 1 us a call against 0.1 us for the attribute, and
    the recurrent kernels take a transposed view several times per time step (about
    1,100 calls in one W1 GRU training step, 2 % of it). Everything else is the compat
    module's, under its name, so checks by name still see array-api-compat's NumPy.
    """
    import types
    compat = array_api_compat.array_namespace(np.empty(0))
    ns = types.ModuleType(compat.__name__, compat.__doc__)
    ns.__dict__.update({k: v for k, v in vars(compat).items() if k not in ("__name__", "__doc__")})

    def matrix_transpose(x, /):
        return x.mT                                    # NumPy refuses a 1-D x: "matrix transpose with ndim < 2 ..."

    ns.matrix_transpose = matrix_transpose
    return ns


_NAMESPACES: dict[type, object] = {np.ndarray: _numpy_namespace()}

#: NumPy turns 0-d results into scalars (``np.sum(x)`` is an ``np.float64``);
#: ``Function.apply`` turns those back into 0-d arrays with ``ensure_array``.
HOST_SCALAR_TYPES = (np.generic,)


def ensure_array(x):
    """A 0-d array for a NumPy scalar; anything else unchanged."""
    return np.asarray(x) if isinstance(x, np.generic) else x


def array_namespace(*arrays):
    """Return the array-API namespace shared by ``arrays`` (ignoring Python scalars).

    The lookup is cached per array type, so it costs a dict lookup on the hot path.

    >>> import numpy as np
    >>> xp = array_namespace(np.ones(3))
    >>> float(xp.sum(xp.ones(3)))
    3.0
    """
    if len(arrays) == 1:  # the hot path: one array of a type seen before
        xp = _NAMESPACES.get(type(arrays[0]))
        if xp is not None:
            return xp
    xp = None
    for a in arrays:
        if a is None or type(a) in _PY_SCALARS:
            continue
        t = type(a)
        ns = _NAMESPACES.get(t)
        if ns is None:
            ns = array_api_compat.array_namespace(a)
            _NAMESPACES[t] = ns
        if xp is None:
            xp = ns
        elif ns is not xp:
            raise TypeError(f"arrays from two array libraries were mixed: {xp.__name__} and {ns.__name__}; {_MOVE}")
    if xp is None:
        raise TypeError("array_namespace needs at least one array, got only Python scalars or None")
    return xp


def is_numpy(x) -> bool:
    """True if ``x`` is a NumPy array (host memory)."""
    return isinstance(x, np.ndarray)


def device_of(x):
    """The device an array lives on (``"cpu"`` for NumPy arrays)."""
    return array_api_compat.device(x)


def same_device(arrays) -> bool:
    """True when all ``arrays`` (a non-empty list) are of one array library and on one device.

    NumPy arrays, the common case, are answered from their type alone: the checks
    that call this run on every operation, generation's per-token steps included.
    """
    kind = type(arrays[0])
    if any(type(a) is not kind for a in arrays):
        return False
    if kind is np.ndarray:
        return True
    where = device_of(arrays[0])
    return all(device_of(a) == where for a in arrays)


def any_true(mask) -> bool:
    """``bool(xp.any(mask))``; NumPy's own method on host arrays, several times faster than the wrapper.

    For the checks that run at every generation step (ids within the vocabulary).
    """
    if type(mask) is np.ndarray:
        return bool(mask.any())
    return bool(array_namespace(mask).any(mask))


# --------------------------------------------------------------------------- CuPy

_cupy = None


def get_cupy():
    """Import and return CuPy, or raise ``CupyUnavailableError`` naming the fix."""
    global _cupy
    if _cupy is not None:
        return _cupy
    try:
        import cupy  # the only cupy import in minigen
    except ImportError as e:
        raise CupyUnavailableError(
            f"the GPU backend needs CuPy, which is not installed ({e}). Install it with: {GPU_INSTALL_HINT}"
        ) from None
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CUDA driver missing or broken
        raise CupyUnavailableError(
            f"CuPy is installed but no CUDA GPU is usable ({type(e).__name__}: {e}). "
            f"Check the NVIDIA driver, or reinstall the matching build with: {GPU_INSTALL_HINT}"
        ) from None
    if n == 0:
        raise CupyUnavailableError(f"CuPy is installed but no CUDA GPU is visible. On a GPU machine: {GPU_INSTALL_HINT}")
    _cupy = cupy
    return cupy


def _is_cupy(x) -> bool:
    return _cupy is not None and isinstance(x, _cupy.ndarray)


def _is_strict(obj) -> bool:
    """array-api-strict arrays and devices (the test suite's simulated GPU)."""
    return type(obj).__module__.startswith("array_api_strict")


# --------------------------------------------------------------------------- moves

def is_array(x) -> bool:
    """True for an array of any backend (not a Python or NumPy scalar)."""
    return hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, np.generic)


def host_array(data, dtype=None) -> np.ndarray:
    """A NumPy array from Python numbers or (nested) lists; floats default to the default dtype."""
    if isinstance(data, np.generic):
        data = data.item()
    return np.asarray(data, dtype=resolve_dtype(dtype))


def host_full(shape, value, dtype=None) -> np.ndarray:
    """A NumPy array of ``shape`` filled with ``value``."""
    return np.full(tuple(shape), value, dtype=resolve_dtype(dtype))


def format_array(x) -> str:
    """The values of an array as text, for ``repr`` (copies to the host)."""
    return np.array2string(to_numpy(x), separator=", ", prefix="tensor(")


def to_numpy(x) -> np.ndarray:
    """Copy an array to host memory as a NumPy array (a no-op for NumPy arrays).

    This is the one explicit way off a device; nothing in minigen converts implicitly.
    """
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (int, float, bool, np.generic)):
        return np.asarray(x)
    if _is_cupy(x):
        return x.get()
    if _is_strict(x):
        import array_api_strict as xs
        return np.from_dlpack(x.to_device(xs.Device("CPU_DEVICE")))
    return np.from_dlpack(x)


def to_device(x, device):
    """Move an array to ``device`` and return it.

    ``device`` is ``"cpu"`` (NumPy), ``"cuda"`` / ``"cuda:N"`` / ``"gpu"`` (CuPy), or an
    array-api device object such as ``array_api_strict.Device("device1")``.

    >>> import numpy as np
    >>> to_device(np.arange(3), "cpu")
    array([0, 1, 2])
    """
    if isinstance(device, str):
        name = device.lower()
        if name in ("cpu", "numpy"):
            return np.asarray(to_numpy(x))
        if name in ("gpu", "cupy") or name.startswith("cuda"):
            cupy = get_cupy()
            ordinal = int(name.split(":")[1]) if ":" in name else None
            if ordinal is None:
                return cupy.asarray(to_numpy(x) if not _is_cupy(x) else x)
            with cupy.cuda.Device(ordinal):
                return cupy.asarray(to_numpy(x) if not _is_cupy(x) else x)
        raise ValueError(f"to_device: device must be 'cpu', 'cuda', 'cuda:N' or an array-api device, got {device!r}")
    if _is_strict(device):
        import array_api_strict as xs
        if _is_strict(x):
            return x.to_device(device)
        return xs.asarray(to_numpy(x), device=device)
    if _is_cupy(x) or isinstance(x, np.ndarray):
        raise ValueError(f"to_device: device must be 'cpu', 'cuda', 'cuda:N' or an array-api device, got {device!r}")
    return x.to_device(device)


def asarray_like(host, like):
    """Put host data (a NumPy array or Python numbers) on the device and namespace of ``like``."""
    if isinstance(like, np.ndarray):
        return np.asarray(host)
    if _is_cupy(like):
        with _cupy.cuda.Device(like.device.id):
            return _cupy.asarray(host)
    xp = array_namespace(like)
    return xp.asarray(to_numpy(host) if not isinstance(host, (list, tuple)) else host, device=device_of(like))


# --------------------------------------------------------------------------- broadcasting

def sum_to(grad, shape):
    """Sum ``grad`` down to ``shape``: the backward of broadcasting.

    Broadcasting copies an array along new leading axes and along axes of size 1,
    so its gradient adds those copies back up.

    >>> import numpy as np
    >>> sum_to(np.ones((4, 2, 3)), (2, 1)).tolist()
    [[12.0], [12.0]]
    """
    shape = tuple(shape)
    if tuple(grad.shape) == shape:
        return grad
    xp = array_namespace(grad)
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1)
    if axes:
        grad = xp.sum(grad, axis=axes, keepdims=True)
    return xp.reshape(grad, shape)


def matmul_sum(a, axis: int):
    """The sum of a 2-D array along ``axis`` (0: down the columns, 1: along each row), as one
    product with a ones vector: ``1 @ a`` or ``a @ 1``.

    The same numbers as ``xp.sum(a, axis=axis)``, up to rounding. BLAS runs the product on
    all its threads, and for rows of a few hundred numbers NumPy's reduction is several
    times slower. The kernels use it for bias gradients and row means.

    >>> import numpy as np
    >>> matmul_sum(np.ones((3, 2)), 0).tolist(), matmul_sum(np.ones((3, 2)), 1).tolist()
    ([3.0, 3.0], [2.0, 2.0, 2.0])
    """
    xp = array_namespace(a)
    ones = xp.ones((a.shape[axis],), dtype=a.dtype, device=device_of(a))       # one per summed element
    return ones @ a if axis == 0 else a @ ones


def matrix_transpose_copy(x):
    """x transposed over its last two axes, as a new row-major array (``x.mT.contiguous()`` in PyTorch).

    For a stack of small products (``x.ndim > 2``, attention's heads) NumPy runs
    ``a @ xp.matrix_transpose(b)`` up to 3x slower than ``a @ matrix_transpose_copy(b)``,
    and the copy costs far less than the difference. A 2-D product needs no copy:
    BLAS reads the transposed view directly.

    >>> import numpy as np
    >>> t = matrix_transpose_copy(np.arange(6.0).reshape(1, 2, 3))
    >>> t.shape, t.tolist(), t.flags.c_contiguous
    ((1, 3, 2), [[[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]], True)
    """
    xp = array_namespace(x)
    t = xp.empty(tuple(x.shape[:-2]) + (x.shape[-1], x.shape[-2]), dtype=x.dtype, device=device_of(x))
    t[...] = xp.matrix_transpose(x)
    return t


#: numbers per block in ``cache_blocks``: 64 Ki float32 numbers are 256 KiB, well inside a core's L2 cache
CACHE_BLOCK = 1 << 16


def cache_blocks(n: int, like, row_size: int = 1) -> list:
    """Slices that cut ``n`` rows of ``row_size`` numbers into blocks of about ``CACHE_BLOCK`` numbers.

    For kernels that make many elementwise (or row-wise) passes over a large array. A
    kernel that makes k passes over an array larger than the CPU's cache reads it from
    main memory k times. Run block by block, each block stays in the cache for all k
    passes: on NumPy that makes the GELU forward and backward 1.6-2x faster. A block
    holds at least one row. A GPU wants the opposite, as few and as large launches as
    possible, so for a CuPy array ``like`` this returns all rows as one block.

    >>> [(s.start, s.stop) for s in cache_blocks(150_000, np.zeros(1))]
    [(0, 65536), (65536, 131072), (131072, 150000)]
    >>> [(s.start, s.stop) for s in cache_blocks(1000, np.zeros(1), row_size=192)]
    [(0, 341), (341, 682), (682, 1000)]
    """
    step = n if _is_cupy(like) else max(CACHE_BLOCK // max(row_size, 1), 1)
    if n <= step:
        return [slice(0, n)]                  # one block: the common case for small arrays, kept cheap
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


# --------------------------------------------------------------------------- scatter-add

def index_add(x, index, source):
    """Add ``source[i]`` into ``x[index[i]]`` along axis 0, summing repeated indices.

    ``x`` has shape ``(N, *rest)``, ``index`` is 1-D of length ``n`` with values in
    ``[0, N)``, ``source`` has shape ``(n, *rest)``. Returns the updated ``x`` (updated
    in place on NumPy and CuPy).

    A plain ``x[index] += source`` is wrong here: with a repeated index only one of
    the additions survives. This is the backward of an embedding lookup.

    >>> import numpy as np
    >>> index_add(np.zeros(3), np.array([0, 2, 0]), np.array([1.0, 2.0, 3.0]))
    array([4., 0., 2.])
    """
    if isinstance(x, np.ndarray):
        # Sort the positions by index, sum each run of equal indices with one reduceat,
        # and add each sum once: 3-4x faster than np.add.at, which adds row by row.
        if index.shape[0] == 0:
            return x
        order = np.argsort(index, kind="stable")
        sorted_index = index[order]
        starts = np.flatnonzero(np.concatenate([[True], sorted_index[1:] != sorted_index[:-1]]))
        x[sorted_index[starts]] += np.add.reduceat(source[order], starts, axis=0)
        return x
    if _is_cupy(x):
        _cupy.add.at(x, index, source)
        return x
    # Portable form: a one-hot matrix turns the scatter into one matmul.
    xp = array_namespace(x)
    N = x.shape[0]
    onehot = xp.astype(index[:, None] == xp.arange(N, device=device_of(x))[None, :], x.dtype)  # (n, N)
    flat = xp.reshape(source, (source.shape[0], math.prod(x.shape[1:])))                        # (n, rest)
    return x + xp.reshape(xp.matrix_transpose(onehot) @ flat, x.shape)


# --------------------------------------------------------------------------- erf

# Rational approximations of erf from the Cephes library (S. L. Moshier),
# after W. J. Cody (1969). Relative error below 4e-16 in float64.
_ERF_T = (9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3,
          7.00332514112805075473e3, 5.55923013010394962768e4)
_ERF_U = (3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3,
          2.26290000613890934246e4, 4.92673942608635921086e4)  # leading 1 implied
_ERFC_P = (2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0,
           4.86371970985681366614e1, 1.96520832956077098242e2, 5.26445194995477358631e2,
           9.34528527171957607540e2, 1.02755188689515710272e3, 5.57535335369399327526e2)
_ERFC_Q = (1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2,
           9.75708501743205489753e2, 1.82390916687909736289e3, 2.24633760818710981792e3,
           1.65666309194161350182e3, 5.57535340817727675546e2)  # leading 1 implied


def _polevl(z, coefs, leading_one=False):
    """Horner's rule, highest power first."""
    acc = z + coefs[0] if leading_one else coefs[0] + 0 * z
    for c in coefs[1:]:
        acc = acc * z + c
    return acc


def erf(x):
    """The error function ``erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt``, elementwise.

    NumPy has no ``erf``; exact GELU needs one. On CuPy this uses CuPy's own; elsewhere
    it is two rational approximations (|x| < 1, and 1 <= |x| < 8 through ``erfc``),
    accurate to a few units in the last place of float64.

    >>> import numpy as np, math
    >>> abs(float(erf(np.array(0.5))) - math.erf(0.5)) < 1e-15
    True
    """
    if _is_cupy(x):
        from cupyx.scipy.special import erf as cupy_erf
        return cupy_erf(x)
    xp = array_namespace(x)
    a = xp.abs(x)
    small = x * _polevl(x * x, _ERF_T) / _polevl(x * x, _ERF_U, leading_one=True)
    a_mid = xp.clip(a, 1.0, 8.0)  # keeps exp() and the fraction finite on the other branches
    erfc_mid = xp.exp(-a_mid * a_mid) * _polevl(a_mid, _ERFC_P) / _polevl(a_mid, _ERFC_Q, leading_one=True)
    large = xp.sign(x) * (1.0 - erfc_mid)
    return xp.where(a < 1.0, small, large)



# --------------------------------------------------------------------------- host allocator

# --------------------------------------------------------------------------- randomness

_rng = np.random.default_rng(0)
_seed = 0


def manual_seed(seed: int) -> None:
    """Seed minigen's one host random generator (dropout masks, initialisation, sampling)."""
    global _rng, _seed
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:     # rules imports backend
        raise ValueError(f"manual_seed: seed must be a non-negative integer, got {seed!r}")
    _seed = int(seed)
    _rng = np.random.default_rng(_seed)


def get_rng() -> np.random.Generator:
    """The seeded host random generator (a NumPy ``Generator``).

    Random draws happen on the host and are then moved to the device, so the same
    seed gives the same dropout masks on NumPy and on CuPy.
    """
    return _rng


def get_rng_state() -> dict:
    """The generator's state, for checkpoints."""
    return _rng.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore a state from ``get_rng_state``."""
    _rng.bit_generator.state = state
