"""Checks shared by the LSTM, GRU and RNN kernel tests: the fast sequence kernel equals its reference twin.

Each ``*_forward_reference`` loops over the cell kernel as a student would write it; the fast
``*_forward`` must give the same outputs, and its backward the same gradients, to 1e-12 in float64.
"""

import numpy as np

TOL = 1e-12
SHAPES = [(1, 1), (1, 3), (5, 2), (4, 3), (12, 1), (7, 2)]     # (T, B): one step, one row, short and long
BIASES = ["both", "b_ih", "b_hh", "none"]
STATES = ["given", "zeros"]

# the largest error seen per kernel family (outputs and gradients together), for the report at the end
worst_seen = {}


def kernel_inputs(backend, shapes, T, B, bias="both", state="given", seed=0, scale=0.5):
    """Kernel arguments in kernel order, as a dict: ``shapes`` maps each name to its shape given T, B.

    ``bias`` keeps both biases, one (``"b_ih"``/``"b_hh"``) or none (None in its place);
    ``state="zeros"`` makes the initial states exact zeros, as a fresh generation starts.
    """
    rng = np.random.default_rng(seed)
    p = {}
    for name, shape in shapes(T, B).items():
        a = rng.standard_normal(shape) * scale
        if name in ("h0", "c0") and state == "zeros":
            a = np.zeros(shape)
        if name in ("b_ih", "b_hh") and bias not in ("both", name):
            p[name] = None
            continue
        p[name] = backend.asarray(a)
    return p


def upstream(backend, outs, given, seed=1):
    """A random upstream gradient for each output whose name is in ``given``, None for the others."""
    rng = np.random.default_rng(seed)
    return tuple(backend.asarray(rng.standard_normal(tuple(o.shape))) if g else None for o, g in zip(outs, given))


def worst_error(fast, twin):
    """(error, index, abs error, rel error) of the worst element: error = |fast - twin| / max(1, |twin|)."""
    a, b = np.asarray(fast, dtype=np.float64), np.asarray(twin, dtype=np.float64)
    diff = np.abs(a - b)
    err = diff / np.maximum(1.0, np.abs(b))
    k = tuple(int(i) for i in np.unravel_index(np.argmax(err), err.shape))
    return float(err[k]), k, float(diff[k]), float(diff[k] / max(abs(b[k]), 1e-300))


def assert_equal_to_twin(backend, family, names, fast, twin, tol=TOL):
    """Every array in ``fast`` equals the same one in ``twin``; None stays None. The report names
    the array, the worst element's index, both values and its absolute and relative errors."""
    assert len(fast) == len(twin) == len(names), (len(fast), len(twin), names)
    for name, a, b in zip(names, fast, twin):
        if b is None or a is None:
            assert a is None and b is None, f"{name}: the fast kernel gives {type(a).__name__}, its twin " \
                                            f"{type(b).__name__}"
            continue
        a, b = backend.numpy(a), backend.numpy(b)
        assert a.shape == b.shape, f"{name}: shape {a.shape} in the fast kernel, {b.shape} in its twin"
        err, k, abs_err, rel_err = worst_error(a, b)
        worst_seen[family] = max(worst_seen.get(family, 0.0), err)
        assert err <= tol, (f"{name}{list(k)}: fast kernel {float(a[k])!r}, reference twin {float(b[k])!r}, abs error "
                            f"{abs_err:.3g}, rel error {rel_err:.3g} > {tol:g}. Both ran in float64 on the same "
                            "inputs, so this is a bug in the fast kernel (or its twin), not rounding.")


def assert_fast_equals_twin(backend, family, fast_pair, twin_pair, args, out_names, grad_names, given=None):
    """Run both pairs on ``args`` and one random upstream gradient (None where ``given`` says so):
    the outputs and then every gradient must agree to 1e-12."""
    outs_t, cache_t = twin_pair[0](*args)
    outs_f, cache_f = fast_pair[0](*args)
    assert_equal_to_twin(backend, family, out_names, outs_f, outs_t)
    douts = upstream(backend, outs_t, given or [True] * len(outs_t))
    assert_equal_to_twin(backend, family, grad_names, fast_pair[1](douts, cache_f), twin_pair[1](douts, cache_t))
