"""What a lesson's check files are written with.

A check file (``lessons/checks/05_lstm.py``, or ``lessons/checks/hidden/05_lstm.py``
for the checks that stay with the instructor) holds functions like::

    from minigen.grading import check, expect_close, expect_gradients

    @check("lstm_step_backward", points=3)
    def backward_matches_central_differences(student):
        \"\"\"lstm_step_backward agrees with central differences on a random upstream gradient.\"\"\"
        ...
        expect_gradients("lstm_step_backward", forward, backward, inputs, blocks=LSTM_GATES)

``student`` holds the definitions of the student's lesson file: ``student.lstm_step_forward``.
A check passes by returning, and fails by raising ``CheckFailure`` (the helpers
below raise it with a diagnosis that teaches). Any other exception is reported
with the line of the student's code it came from.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .. import backend, rules
from ..gradcheck import GradcheckError, _flatten, gradcheck, gradcheck_kernel
from .rpc import Remote, call_many
from .worker import lookup

__all__ = ["check", "CheckFailure", "expect_close", "expect_gradients", "expect_autograd_gradients",
           "expect_true", "case", "public_checks", "load_module", "load_checks", "kernel_forward", "KernelForward",
           "LSTM_GATES", "GRU_GATES", "SOFTMAXES", "gate_blocks", "same_values", "expect_close_or_name_the_slip",
           "expect_no_warnings"]


class CheckFailure(AssertionError):
    """A check found the student's code wrong; the message is the diagnosis."""


def check(function: str, points: float = 1):
    """Mark a function of a check file as a check of exercise ``function``, worth ``points``."""
    rules.real("check", "points", points, 0, lo_open=True)          # kept as given: 2 stays 2 in reports

    def mark(fn):
        fn.__minigen_check__ = (function, points)
        return fn
    return mark


def load_module(path, name: str):
    """Execute the Python file ``path`` as a fresh module called ``name``."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True     # no __pycache__ in a lessons folder
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = saved
    return module


def load_checks(files):
    """(the checks, the minigen functions their exercises must not use) of a lesson's check files.

    A check file declares, for each exercise with a counterpart in minigen, what the
    student may not call: ``FORBIDDEN = {"lstm_step_forward": ["minigen.kernels.lstm.lstm_cell_forward"]}``.
    The worker replaces them (the union over the lesson) before the student's file loads.
    """
    checks, forbidden = [], set()
    for k, file in enumerate(files):
        module = load_module(file, f"minigen_checks_{k}_{Path(file).stem}")
        found = [v for v in vars(module).values() if callable(v) and hasattr(v, "__minigen_check__")]
        found.sort(key=lambda fn: fn.__code__.co_firstlineno)
        checks.extend(found)
        for function, names in getattr(module, "FORBIDDEN", {}).items():
            for dotted in names:
                try:
                    lookup(dotted)
                except (ImportError, AttributeError):
                    raise ValueError(f"{file}: FORBIDDEN[{function!r}] names {dotted!r}, which is not a minigen "
                                     "function (write it as package.module.name or package.module.Class.method)") \
                        from None
            forbidden.update(names)
    return checks, forbidden


def public_checks(hidden_file):
    """The public check module beside a hidden one: ``checks/hidden/05_lstm.py`` -> ``checks/05_lstm.py``.

    Hidden checks call it as ``public = public_checks(__file__)`` to reuse the public
    checks' helpers with other inputs.
    """
    hidden_file = Path(hidden_file)
    return load_module(hidden_file.parents[1] / hidden_file.name, f"public_{hidden_file.stem}")


def gate_blocks(labels, params=("W_ih", "W_hh", "b_ih", "b_hh", "b")):
    """``blocks`` for packed-gate parameters: axis 0 of each is split evenly into ``labels``."""
    return {name: (0, list(labels)) for name in params}


LSTM_GATES = gate_blocks(["input gate i", "forget gate f", "cell candidate g", "output gate o"])

# Every function in minigen that computes a softmax, public or private (log_softmax through exp,
# cross_entropy_forward through its cache, attention through an identity key and value): an exercise that
# asks for a softmax, a log-softmax or a logsumexp forbids them all.
SOFTMAXES = ["minigen.kernels.softmax.softmax_forward", "minigen.kernels.softmax.log_softmax_forward",
             "minigen.kernels.softmax.cross_entropy_forward", "minigen.functional.softmax.softmax_composed",
             "minigen.kernels.attention._softmax_rows",
             "minigen.kernels.attention.scaled_dot_product_attention_composed",
             "minigen.sample.speculative._softmax", "minigen.cli.gradcheck_demo._softmax",
             "minigen.cli.gradcheck_demo._ZeroBackwardSoftmax.forward"]
GRU_GATES = gate_blocks(["reset gate r", "update gate z", "new gate n"])


# ---------------------------------------------------------------------------- forward outputs

def _fmt(v):
    return f"{v:.6g}" if isinstance(v, (float, np.floating)) else repr(v)


def _host(value):
    """A NumPy array from whatever the student returned (array, Tensor, list, number)."""
    if hasattr(value, "data") and hasattr(value, "backward"):          # a minigen Tensor
        value = value.data
    if hasattr(value, "__dlpack__") and not isinstance(value, np.ndarray):
        return backend.to_numpy(value)
    return np.asarray(value)


def expect_close(function: str, what: str, actual, expected, *, atol: float = 1e-6, rtol: float = 1e-5):
    """``actual`` (from the student's ``function``) must equal ``expected`` elementwise.

    ``what`` names the output (``"h"``, ``"loss"``). A mismatch names the worst
    element with the expected and the actual value.
    """
    expected = _host(expected)
    if actual is None:
        raise CheckFailure(f"{function} returned None for {what}; expected an array of shape "
                           f"{tuple(expected.shape)}. Did you forget a return statement?")
    try:
        got = _host(actual)
    except Exception:
        raise CheckFailure(f"{function} returned {type(actual).__name__} for {what}; expected an array "
                           f"of shape {tuple(expected.shape)}") from None
    if got.dtype == object:
        raise CheckFailure(f"{function} returned {type(actual).__name__} for {what}, which is not an array "
                           f"of numbers; expected shape {tuple(expected.shape)}")
    if got.shape != expected.shape:
        hint = " (transposed?)" if got.shape == expected.shape[::-1] and got.ndim > 1 else ""
        raise CheckFailure(f"{function} returned {what} of shape {tuple(got.shape)}{hint}; expected shape "
                           f"{tuple(expected.shape)}")
    if got.dtype.kind in "biu" and expected.dtype.kind in "biu":
        wrong = got != expected
    else:
        got, exp64 = got.astype(np.float64), expected.astype(np.float64)
        if not np.all(np.isfinite(got)) and np.all(np.isfinite(exp64)):
            j = tuple(int(i) for i in np.argwhere(~np.isfinite(got))[0])
            raise CheckFailure(f"{function} returned a non-finite {what}: {what}{list(j)} = {_fmt(got[j])}, "
                               f"expected {_fmt(exp64[j])}. Look for exp() of a large number or a log of 0.")
        wrong = ~np.isclose(got, exp64, atol=atol, rtol=rtol)
        expected = exp64
    if np.any(wrong):
        err = np.where(wrong, np.abs(got.astype(np.float64) - expected.astype(np.float64)), -1.0)
        j = np.unravel_index(int(np.argmax(err)), err.shape)
        at = f"{what}[{', '.join(str(int(i)) for i in j)}]" if got.ndim else what
        e_val, g_val = expected[j].item(), got[j].item()
        raise CheckFailure(f"{function} returned a wrong {what}: {int(wrong.sum())} of {wrong.size} elements "
                           f"differ. Worst: {at} expected {_fmt(e_val)}, got {_fmt(g_val)}.")


def expect_true(condition: bool, message: str):
    """Fail with ``message`` unless ``condition`` holds."""
    if not condition:
        raise CheckFailure(message)


def same_values(got, expected, *, atol: float = 1e-9, rtol: float = 1e-7) -> bool:
    """Whether ``got`` (whatever the student returned) has ``expected``'s shape and values; never raises."""
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return got.shape == np.shape(expected) and bool(np.allclose(got, expected, atol=atol, rtol=rtol, equal_nan=True))


def expect_close_or_name_the_slip(function: str, what: str, got, expected, slips: dict, *, atol: float = 1e-9,
                                  rtol: float = 1e-7):
    """``expect_close``; when ``got`` equals one of the known wrong answers ``slips`` ({hint: value}), the
    diagnosis ends with that slip's hint (a sign flipped, a mean for a sum, a missing 1 / tau ...)."""
    try:
        expect_close(function, what, got, expected, atol=atol, rtol=rtol)
    except CheckFailure as e:
        for hint, wrong in slips.items():
            if same_values(got, wrong, atol=atol, rtol=rtol):
                raise CheckFailure(f"{e} {hint}") from None
        raise


def expect_no_warnings(function: str, call, hint: str):
    """``call()``; a RuntimeWarning in it (overflow, 0 / 0, ...) fails the check, naming ``function``, with ``hint``."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return call()
        except RuntimeWarning as w:
            raise CheckFailure(f"{function} raised a RuntimeWarning ({w}). {hint}") from None


@contextmanager
def case(description: str):
    """Prefix a failure's diagnosis with the case it happened in: ``with case("for k = 3"): ...``."""
    try:
        yield
    except CheckFailure as e:
        raise CheckFailure(f"{description}: {e}") from None


# ---------------------------------------------------------------------------- gradients

def _where(name, index, blocks):
    """' (in the forget gate f block)' when ``name``'s parameter packs several gates."""
    param = name[1:] if name.startswith("d") else name
    if index is None or param not in blocks:
        return ""
    axis, labels, size = blocks[param]
    k = min(index[axis] * len(labels) // max(size, 1), len(labels) - 1)
    return f" (in the {labels[k]} block)"


def _element(f, where=""):
    """'dW_hh[6, 1] (in the forget gate f block): analytic 0.1, numeric -0.2, relative error 1.5' for one failure."""
    idx = f["index"]
    at = f"{f['input']}[{', '.join(map(str, idx))}]" if idx else f"{f['input']} (along a random direction)"
    return (f"{at}{where}: analytic {f['analytic']:.6g}, numeric {f['numeric']:.6g}, "
            f"relative error {f['rel_error']:.2g}")


def _diagnose(function, e: GradcheckError, names, shapes, blocks, against="your forward", gates=None):
    if not e.failures:                       # a structural problem: a missing gradient, a wrong shape
        return f"{function}: {str(e).split(': ', 1)[-1]}"
    sized = {k: (axis, labels, shapes.get(k, (0,))[axis]) for k, (axis, labels) in (blocks or {}).items()
             if k in shapes}

    def one(f):
        return _element(f, _where(f["input"], f["index"], sized))
    wrong = [f["input"] for f in e.failures]
    right = [f"d{n}" for n in names if f"d{n}" not in wrong]
    lines = [f"{function} computes a wrong {wrong[0]}. Worst element {one(e.failures[0])}."]
    if len(wrong) > 1:
        lines.append("Also wrong: " + "; ".join(one(f) for f in e.failures[1:]) + ".")
    if right:
        lines.append(f"Right: {', '.join(right)}.")
    if gates:
        lines.append(_by_gate(gates))
    lines.append(f"(Checked against central differences of {against}, in float64, with a random "
                 "upstream gradient.)")
    return " ".join(lines)


class KernelForward:
    """A student's forward as a gradient check wants it: ``(out, cache)``; see ``kernel_forward``."""

    def __init__(self, fn, outputs, kwargs):
        self.fn, self.kwargs = fn, kwargs
        self.keep = list(range(outputs)) if isinstance(outputs, int) else list(outputs)
        self.name = fn._name if isinstance(fn, Remote) else getattr(fn, "__name__", "forward")

    def _split(self, result):
        if not isinstance(result, tuple) or len(result) < len(self.keep) + 1:
            raise CheckFailure(f"{self.name} returned {type(result).__name__}; expected a tuple of "
                               f"{len(self.keep)} output(s) and the cache")
        return self._out([result[i] for i in self.keep]), result[-1]

    def _out(self, kept):
        kept = [np.asarray(k, dtype=np.float64) if type(k) in (int, float) else k for k in kept]   # a loss as a number
        return kept[0] if len(kept) == 1 else tuple(kept)

    def __call__(self, *args):
        return self._split(self.fn(*args, **self.kwargs))

    def many(self, arglists):
        """The outputs at many inputs, in one round trip when the forward is the student's."""
        if isinstance(self.fn, Remote):
            return [self._out(list(r)) for r in call_many(self.fn, arglists, self.kwargs, pick=self.keep)]
        return [self(*args)[0] for args in arglists]


def kernel_forward(fn, outputs=1, **kwargs) -> KernelForward:
    """``fn(*inputs, **kwargs)`` as a ``(out, cache)`` forward for ``expect_gradients``.

    ``fn`` returns its outputs, then its cache: ``kernel_forward(student.lstm_step_forward,
    outputs=2)`` for ``h, c, cache``; ``outputs=[0]`` keeps only ``out`` of ``out, weights,
    cache``. The grader sends the many perturbed inputs of a gradient check to the
    student's process in one message.
    """
    return KernelForward(fn, outputs, kwargs)


def _forward_many(forward):
    if isinstance(forward, KernelForward):
        return forward.many
    if isinstance(forward, Remote):
        return lambda arglists: [r[0] for r in call_many(forward, arglists, pick=[0])]
    return None


def _same_outputs(out, ref, atol, rtol):
    got, want = _flatten(out), _flatten(ref)
    if len(got) != len(want):
        return False
    for g, w in zip(got, want):
        try:
            g, w = _host(g), _host(w)
        except Exception:   # noqa: BLE001 - whatever the student returned, it is not the output
            return False
        if g.shape != w.shape or g.dtype == object or not np.allclose(g, w, atol=atol, rtol=rtol):
            return False
    return True


def expect_gradients(function: str, forward, backward, inputs: dict, *, reference=None, blocks=None,
                     eps: float = 1e-6, atol: float = 1e-6, rtol: float = 1e-4, fast: bool = False, seed: int = 0):
    """Gradient-check a kernel pair written by the student, and explain a failure.

    ``forward(*inputs) -> (out, cache)`` and ``backward(dout, cache) -> grads`` as for
    ``minigen.gradcheck_kernel``; ``inputs`` is a dict of float64 arrays whose keys name
    the gradients (``{"W_hh": ...}`` -> ``dW_hh``). ``blocks`` maps a parameter name to
    ``(axis, labels)`` when its rows pack several gates, so that the diagnosis can say
    which gate the worst element belongs to (``LSTM_GATES``, ``GRU_GATES``); when a packed
    gradient is wrong, the check runs again with each gate block as an input of its own
    and the diagnosis lists the wrong blocks, each with its worst element, and the right ones.

    ``reference(*inputs) -> (out, cache)`` is the correct forward (minigen's kernel, or
    a closed form). With it the backward earns the check only where ``forward`` matches
    the reference, and only if its gradients agree with central differences of the
    reference as well as of ``forward``. Without it, an all-zeros pair passes: a
    constant forward has zero gradients, and a zero backward agrees with them.
    """
    if reference is not None:
        arrays = [a.copy() for a in inputs.values()]                  # what the student gets, and may change
        out, cache = forward(*arrays)
        ref_out, _ = reference(*[a.copy() for a in inputs.values()])
        name = (forward._name if isinstance(forward, Remote) else forward.name if isinstance(forward, KernelForward)
                else getattr(forward, "__name__", "the forward"))
        if not _same_outputs(out, ref_out, atol=1e-6, rtol=1e-5):
            raise CheckFailure(f"{function}: your forward ({name}) does not match the correct one on these inputs; "
                               "the backward is not credited until it does (it is checked against central "
                               "differences of the correct forward).")
        _gradcheck(function, lambda *a: (reference(*a)[0], cache), backward, inputs, None, blocks,
                   dict(eps=eps, atol=atol, rtol=rtol, fast=fast, seed=seed), "the correct forward")
    _gradcheck(function, forward, backward, inputs, _forward_many(forward), blocks,
               dict(eps=eps, atol=atol, rtol=rtol, fast=fast, seed=seed), "your forward")


def _gradcheck(function, forward, backward, inputs, forward_many, blocks, options, against):
    try:
        gradcheck_kernel(forward, backward, inputs, forward_many=forward_many, **options)
    except GradcheckError as e:
        shapes = {k: tuple(np.shape(v)) for k, v in inputs.items()}
        floats = [k for k, v in inputs.items() if not hasattr(v, "dtype") or backend.is_floating(v.dtype)]
        gates = None
        if blocks and not options["fast"] and any(f["input"][1:] in blocks for f in e.failures):
            gates = _gate_failures(forward, backward, inputs, forward_many, blocks, options)
        raise CheckFailure(_diagnose(function, e, floats, shapes, blocks, against, gates)) from None


# ---------------------------------------------------------------------------- which gate is wrong

def _gate_pieces(inputs, blocks):
    """The inputs with each packed parameter split into its gate blocks, and {piece: (param, axis, start, label)}."""
    pieces, where = {}, {}
    for name, value in inputs.items():
        axis, labels = blocks.get(name, (None, None))
        if axis is None or np.shape(value)[axis] % len(labels):
            pieces[name] = value
            continue
        size = np.shape(value)[axis] // len(labels)
        for k, label in enumerate(labels):
            piece = f"{name}:{k}"
            pieces[piece] = np.ascontiguousarray(np.take(value, range(k * size, (k + 1) * size), axis=axis))
            where[piece] = (name, axis, k * size, label)
    return pieces, where


def _gate_failures(forward, backward, inputs, forward_many, blocks, options):
    """The same gradient check with every packed parameter split into its gate blocks (the same seed, so the
    same upstream gradient): every wrong block shows, not only the one that holds the worst element.

    Returns ``{"wrong": {label: [failure, ...]}, "labels": [every label]}``, each failure indexed in the
    whole parameter, the worst first; or None where the split check cannot tell (it passes, or fails for
    another reason).
    """
    pieces, where = _gate_pieces(inputs, blocks)
    names, packed = list(inputs), {name for name, *_ in where.values()}

    def join(arrays):
        """The whole inputs again: the blocks of each packed parameter concatenated."""
        parts = {}
        for piece, a in zip(pieces, arrays):
            parts.setdefault(where[piece][0] if piece in where else piece, []).append(a)
        return [np.concatenate(parts[n], axis=blocks[n][0]) if n in packed else parts[n][0] for n in names]

    def split(grads):
        """The gradients of the pieces: the gradient of each packed parameter cut into its blocks."""
        grads = list(grads) if isinstance(grads, (tuple, list)) else [grads]
        out = []
        for name, g in zip(names, grads):
            out.extend(np.split(_host(g), len(blocks[name][1]), axis=blocks[name][0]) if name in packed else [g])
        return tuple(out)
    many = None if forward_many is None else (lambda arglists: forward_many([join(a) for a in arglists]))
    try:
        gradcheck_kernel(lambda *a: forward(*join(a)), lambda dout, cache: split(backward(dout, cache)),
                         pieces, forward_many=many, **options)
    except GradcheckError as e:
        found = {}
        for f in e.failures:
            piece = f["input"][1:]
            if piece in where and f["index"] is not None:
                name, axis, start, label = where[piece]
                index = list(f["index"])
                index[axis] += start
                found.setdefault(label, []).append(dict(f, input=f"d{name}", index=tuple(index)))
        labels = list(dict.fromkeys(label for _, labels in blocks.values() for label in labels))
        return {"wrong": found, "labels": labels} if found else None
    except Exception:   # noqa: BLE001 - the student's code failed on the second run: the first diagnosis stands
        return None
    return None


def _and(items):
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _by_gate(gates):
    """'By gate block: wrong in the forget gate f block (worst dW_hh[6, 1]: ...); right in the ... blocks.'"""
    wrong = [label for label in gates["labels"] if label in gates["wrong"]]
    right = [label for label in gates["labels"] if label not in gates["wrong"]]
    text = "By gate block: wrong " + _and([f"in the {label} block (worst {_element(gates['wrong'][label][0])})"
                                          for label in wrong])
    if right:
        text += f"; right in the {_and(right)} block{'s' if len(right) > 1 else ''}"
    return text + "."


def expect_autograd_gradients(function: str, fn, inputs: dict, *, eps: float = 1e-6, atol: float = 1e-6,
                              rtol: float = 1e-4, seed: int = 0):
    """Like ``expect_gradients``, for a function of minigen Tensors (backward by autograd)."""
    try:
        gradcheck(fn, inputs, eps=eps, atol=atol, rtol=rtol, seed=seed)
    except GradcheckError as e:
        raise CheckFailure(_diagnose(function, e, list(inputs), {}, None)) from None
