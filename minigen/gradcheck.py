"""Gradient checking: compare an analytic gradient with central differences, in float64.

The check is in vector-Jacobian form. A random upstream gradient ``dout`` is
drawn for every output, and the scalar

    L(x) = sum_i <out_i(x), dout_i>

is differentiated two ways: by backpropagation (``dL/dx = J^T dout``) and by
central differences ``(L(x + eps e_j) - L(x - eps e_j)) / (2 eps)`` for every
element j of every input (or, with ``fast=True``, along one random direction
per input).

Why a random ``dout``: checking ``out.sum()`` instead uses ``dout = 1``, and for
a normalisation such as softmax, whose outputs always sum to 1, the true
gradient of the sum is 0 -- so a backward that is wrong in any way that also
returns 0 for ``dout = 1`` passes. A random ``dout`` has no such blind spot.

Why float64: central differences lose about half the digits. With float64 and
``eps = 1e-6`` the truncation and round-off errors are both around 1e-10; with
float32 the round-off alone (1e-7 / 1e-6) would swamp the comparison.
"""

from __future__ import annotations

import numpy as np

from . import backend, rules
from .autograd import Tensor, no_grad

_FLOAT64 = "float64 (gradient checks lose half the digits: x.double())"
_OUT_AND_CACHE = "a function that returns (out, cache)"

__all__ = ["gradcheck", "gradcheck_kernel", "GradcheckError"]


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with central differences.

    Attributes: ``input`` (the gradient's name, e.g. ``"dW_hh"``), ``index`` (its worst
    element, or ``None`` for a directional check), ``analytic``, ``numeric``,
    ``rel_error``; and ``failures``, one dict with those five keys for every wrong
    gradient, the worst first (graders use it to list them all).
    """

    def __init__(self, message, *, input=None, index=None, analytic=None, numeric=None, rel_error=None,
                 failures=None):
        super().__init__(message)
        self.input, self.index = input, index
        self.analytic, self.numeric, self.rel_error = analytic, numeric, rel_error
        self.failures = failures if failures is not None else []


# ---------------------------------------------------------------------------- inputs

def _named(inputs, prefix):
    """(names, values, as_kwargs) from a list/tuple or a dict of inputs."""
    if isinstance(inputs, dict):
        return list(inputs), list(inputs.values()), True
    if isinstance(inputs, (list, tuple)):
        return [f"{prefix}{i}" for i in range(len(inputs))], list(inputs), False
    return [f"{prefix}0"], [inputs], False


def _kinds(fn, names, arrays):
    """"float" (float64, differentiated) or "int" (token ids and the like, passed through) for each input.

    Floating inputs must be float64: central differences cancel about half the digits,
    and in float32 the rounding error (~1e-7 / eps) would swamp the comparison.
    """
    for name, a in zip(names, arrays):
        rules.require(backend.is_array(a), fn, name, "a Tensor or an array", type(a).__name__, TypeError)
        dtype = backend._dtype_name(a.dtype)
        rules.require(dtype == "float64" or not backend.is_floating(a.dtype), fn, name, _FLOAT64, dtype)
    kinds = ["float" if backend.is_floating(a.dtype) else "int" for a in arrays]
    rules.require("float" in kinds, fn, "inputs", "at least one floating-point array to check", "none")
    return kinds


def _flatten(obj):
    """Leaves of nested tuples/lists, in order."""
    if isinstance(obj, (tuple, list)):
        return [leaf for o in obj for leaf in _flatten(o)]
    return [obj]


def _unflatten(leaves, like):
    it = iter(leaves)

    def build(o):
        if isinstance(o, (tuple, list)):
            return type(o)(build(x) for x in o)
        return next(it)
    return build(like)


def _random_douts(outs, rng, fn: str = "gradcheck", name: str = "fn"):
    """A standard-normal upstream gradient for each floating output (None for the others);
    ``fn`` and ``name`` name the caller and its function argument when there is none."""
    douts = []
    for o in outs:
        if o is None or not backend.is_floating(o.dtype):
            douts.append(None)
        else:
            d = rng.standard_normal(tuple(o.shape)).astype(backend._dtype_name(o.dtype))
            douts.append(backend.asarray_like(d, o))
    rules.require(any(d is not None for d in douts), fn, name, "a function with a floating output", "none")
    return douts


def _loss(outs, douts) -> float:
    """L = sum_i <out_i, dout_i>, on the host in float64."""
    total = 0.0
    for o, d in zip(outs, douts):
        if d is not None:
            xp = backend.array_namespace(o)
            total += float(backend.to_numpy(xp.sum(o * d)))
    return total


# ---------------------------------------------------------------------------- the comparison

CHUNK = 64      # perturbed inputs evaluated in one batch (one round trip for a remote forward)


def _central_differences(h, evaluate_many, i, eps):
    """(L(x + eps e_j) - L(x - eps e_j)) / (2 eps) for every element j of input i, in batches."""
    num = np.empty(h.shape)
    flat = num.reshape(-1)
    for start in range(0, h.size, CHUNK):
        points = []
        for j in range(start, min(start + CHUNK, h.size)):
            for sign in (1, -1):
                x = h.copy()
                x.reshape(-1)[j] += sign * eps
                points.append(x)
        losses = evaluate_many(i, points)
        flat[start:start + len(points) // 2] = (np.array(losses[0::2]) - np.array(losses[1::2])) / (2 * eps)
    return num


def _compare(names, hosts, kinds, analytic, evaluate_many, *, eps, atol, rtol, fast, rng, grad_prefix):
    """Numeric vs analytic for every floating input; raise GradcheckError on the worst mismatch.

    ``evaluate_many(i, xs)`` is the loss with input i replaced by each array of ``xs``.
    """
    failures = []
    for i, (name, h, kind) in enumerate(zip(names, hosts, kinds)):
        if kind != "float":
            continue
        a = analytic[i]
        gname = grad_prefix + name
        if fast:
            v = rng.standard_normal(h.shape)
            an = float(np.sum(a * v))
            lp, lm = evaluate_many(i, [h + eps * v, h - eps * v])
            nu = (lp - lm) / (2 * eps)
            err = abs(an - nu)
            if not err <= atol + rtol * abs(nu):                 # also catches NaN
                failures.append((err / (atol + rtol * abs(nu)), gname, None, an, nu))
            continue
        num = _central_differences(h, evaluate_many, i, eps)
        excess = np.abs(a - num) / (atol + rtol * np.abs(num))
        excess = np.where(np.isnan(excess), np.inf, excess)    # a NaN gradient is as wrong as can be
        if excess.size and excess.max() > 1:
            j = np.unravel_index(int(np.argmax(excess)), excess.shape)
            failures.append((float(excess[j]), gname, tuple(int(k) for k in j), float(a[j]), float(num[j])))
    if failures:
        raise _failure(failures, atol, rtol, eps)
    return True


def _failure(failures, atol, rtol, eps) -> GradcheckError:
    """The error that reports every wrong gradient, the worst first, with advice."""
    failures.sort(key=lambda f: -f[0])
    details = [dict(input=g, index=j, analytic=a_, numeric=n_, rel_error=_rel(a_, n_)) for _, g, j, a_, n_ in failures]
    _, gname, idx, an, nu = failures[0]
    rel = details[0]["rel_error"]
    where = "along a random direction" if idx is None else f"at index {idx}"
    others = [f[1] for f in failures[1:]]
    also = f" Also wrong: {', '.join(others)}." if others else ""
    return GradcheckError(
        f"gradient check failed for {gname} {where}: analytic {an:.10g}, numeric {nu:.10g}, "
        f"relative error {rel:.3g} (atol={atol}, rtol={rtol}, eps={eps}).{also}\n"
        "Advice: a relative error near 1 (or a sign flip) means a wrong formula; wrong values at a few "
        "elements only point at broadcasting or at accumulation with repeated indices. If the error is "
        "small and the check is at a kink (relu at 0, max with ties, clip at a bound), move the inputs "
        "away from it, or try eps between 1e-4 and 1e-7.",
        input=gname, index=idx, analytic=an, numeric=nu, rel_error=rel, failures=details)


def _rel(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


class _Seeded:
    """Run every evaluation with the same RNG state (so dropout masks repeat); restore it after."""

    def __init__(self, seed):
        self.seed = seed

    def __enter__(self):
        self.saved = backend.get_rng_state()
        return self

    def reset(self):
        backend.manual_seed(self.seed)

    def __exit__(self, *exc):
        backend.set_rng_state(self.saved)
        return False


# ---------------------------------------------------------------------------- public API

def gradcheck(fn, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              fast: bool = False, seed: int = 0) -> bool:
    """Check the autograd gradients of ``fn`` at ``inputs`` against central differences.

    ``inputs`` is a list of Tensors/arrays (``fn(*inputs)``) or a dict of them
    (``fn(**inputs)``; the keys name the inputs in reports). Floating inputs must be
    float64; integer inputs (token ids) are passed through unchanged and must get no
    gradient. ``fn`` returns a Tensor or a tuple of Tensors.

    Every element of every floating input is perturbed (``fast=False``), or each input
    along one random direction (``fast=True``, for large inputs). Returns True, or
    raises ``GradcheckError`` naming the input, the worst element, both values and the
    relative error.

    >>> import minigen, numpy as np
    >>> x = minigen.tensor(np.array([0.5, -1.0, 2.0]))
    >>> minigen.gradcheck(lambda x: (x * x).tanh(), [x])
    True
    """
    names, values, as_kwargs = _named(inputs, "input ")
    if not as_kwargs:  # a Tensor's own name, where it has one, reads better in a report
        names = [v.name if isinstance(v, Tensor) and v.name else n for n, v in zip(names, values)]
    arrays = [v.data if isinstance(v, Tensor) else v for v in values]
    kinds = _kinds("gradcheck", names, arrays)
    rng = np.random.default_rng(seed)

    def call(arrs, grad):
        leaves = [Tensor(a, requires_grad=grad and k == "float") for a, k in zip(arrs, kinds)]
        out = fn(**dict(zip(names, leaves))) if as_kwargs else fn(*leaves)
        outs = _flatten(out)
        for o in outs:
            rules.instance("gradcheck", "fn", o, Tensor, "a function that returns Tensors")
        return leaves, outs

    with _Seeded(seed) as seeded:
        seeded.reset()
        leaves, outs = call(arrays, grad=True)
        douts = _random_douts([o.data for o in outs], rng)
        loss = None
        for o, d in zip(outs, douts):
            if d is not None and o.requires_grad:
                term = (o * Tensor(d)).sum()
                loss = term if loss is None else loss + term
        if loss is not None:
            loss.backward()
        analytic = []
        for name, leaf, k in zip(names, leaves, kinds):
            if k == "int":
                if leaf.grad is not None:
                    raise GradcheckError(f"gradcheck: integer input {name} received a gradient", input=name)
                analytic.append(None)
            else:
                analytic.append(np.zeros(leaf.shape) if leaf.grad is None else backend.to_numpy(leaf.grad))
        hosts = [backend.to_numpy(a).astype(np.float64) if k == "float" else None for a, k in zip(arrays, kinds)]

        def evaluate_many(i, xs):
            losses = []
            for x in xs:
                arrs = list(arrays)
                arrs[i] = backend.asarray_like(x, arrays[i])
                seeded.reset()
                with no_grad():
                    _, outs_ = call(arrs, grad=False)
                losses.append(_loss([o.data for o in outs_], douts))
            return losses

        return _compare(names, hosts, kinds, analytic, evaluate_many, eps=eps, atol=atol, rtol=rtol,
                        fast=fast, rng=rng, grad_prefix="d" if as_kwargs else "gradient of ")


def gradcheck_kernel(forward, backward, inputs, *, eps: float = 1e-6, atol: float = 1e-5,
                     rtol: float = 1e-3, fast: bool = False, seed: int = 0, forward_many=None) -> bool:
    """Check a raw kernel pair, without autograd.

    ``forward(*inputs) -> (out, cache)``, where ``out`` is an array or a (nested) tuple
    of arrays; ``backward(dout, cache) -> grad`` or a tuple with one gradient per input
    (``None`` for integer inputs), where ``dout`` has the structure of ``out``.
    ``inputs`` is a list of arrays, or a dict (passed positionally, in order) whose
    keys name the gradients in reports: ``{"x": x, "W_hh": W_hh}`` reports ``dW_hh``.

    ``forward_many(arglists) -> [out, ...]``, if given, evaluates the forward at many
    perturbed inputs at once (the grader sends them to a student's process in one
    message); the central differences then use it instead of calling ``forward``.

    >>> import numpy as np
    >>> def fwd(x): return np.tanh(x), np.tanh(x)
    >>> def bwd(dout, y): return dout * (1 - y * y)
    >>> gradcheck_kernel(fwd, bwd, [np.array([0.1, -0.7])])
    True
    """
    names, arrays, as_dict = _named(inputs, "input ")
    kinds = _kinds("gradcheck_kernel", names, arrays)
    rng = np.random.default_rng(seed)
    with _Seeded(seed) as seeded:
        seeded.reset()
        # the pair gets copies: a forward that caches its inputs and a backward that writes into the cache
        # must not move the point we differentiate at
        out, cache = _run_forward(forward, [backend.array_namespace(a).asarray(a, copy=True) for a in arrays])
        outs = _flatten(out)
        douts = _random_douts(outs, rng, "gradcheck_kernel", "forward")
        # backward gets copies: one that writes into its dout must not change the loss we differentiate
        dout_arg = _unflatten([None if d is None else backend.array_namespace(d).asarray(d, copy=True)
                               for d in douts], out)
        grads = backward(dout_arg, cache)
        grads = list(grads) if isinstance(grads, (tuple, list)) else [grads]
        while len(grads) > len(arrays) and grads[-1] is None:   # optional inputs left out (bias=None)
            grads.pop()
        if len(grads) != len(arrays):
            raise GradcheckError(f"gradcheck_kernel: backward returned {len(grads)} gradient(s) for "
                                 f"{len(arrays)} input(s); return one per input (None for integer inputs)")
        analytic = []
        for name, a, g, k in zip(names, arrays, grads, kinds):
            gname = "d" + name if as_dict else f"gradient of {name}"
            wrong = _wrong_gradient(name, gname, a, g, k)
            if wrong:
                raise GradcheckError("gradcheck_kernel: " + wrong, input=gname)
            analytic.append(None if k == "int" else backend.to_numpy(g).astype(np.float64))
        hosts = [backend.to_numpy(a).astype(np.float64) if k == "float" else None for a, k in zip(arrays, kinds)]

        def evaluate_many(i, xs):
            arglists = []
            for x in xs:
                arrs = list(arrays)
                arrs[i] = backend.asarray_like(x, arrays[i])
                arglists.append(arrs)
            if forward_many is not None:
                outs_ = forward_many(arglists)
            else:
                outs_ = []
                for arrs in arglists:
                    seeded.reset()
                    outs_.append(_run_forward(forward, arrs)[0])
            return [_loss(_flatten(o), douts) for o in outs_]

        return _compare(names, hosts, kinds, analytic, evaluate_many, eps=eps, atol=atol, rtol=rtol,
                        fast=fast, rng=rng, grad_prefix="d" if as_dict else "gradient of ")


def _wrong_gradient(name, gname, a, g, kind):
    """What is wrong with the gradient ``g`` that backward returned for input ``a``, or None."""
    if kind == "int":
        return None if g is None else f"integer input {name} must get no gradient (None), but backward returned one"
    if g is None:
        return f"backward returned None for {gname}"
    if tuple(g.shape) != tuple(a.shape):
        hint = " (transposed?)" if tuple(g.shape) == tuple(a.shape)[::-1] else ""
        return f"{gname} has shape {tuple(g.shape)}, but {name} has shape {tuple(a.shape)}{hint}"
    return None


def _run_forward(forward, arrays):
    result = forward(*arrays)
    if not isinstance(result, tuple) or len(result) != 2:
        rules.fail("gradcheck_kernel", "forward", _OUT_AND_CACHE, type(result).__name__, TypeError)
    return result
