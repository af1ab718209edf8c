"""Public checks for lesson 12 (running on a GPU with CuPy). Run them with `python -m minigen grade . --public-only`.

Each function runs on NumPy and, when array-api-strict is installed, on its simulated
device ``Device("device1")``: a stand-in for a GPU that refuses every implicit trip to
the host, so NumPy calls on a device array fail here as they would on CuPy.
"""

import traceback

import numpy as np

from minigen.backend import array_namespace, device_of, to_device, to_numpy
from minigen.grading import SOFTMAXES, CheckFailure, check, expect_close, expect_true

try:
    import array_api_strict
except ImportError:                          # then the checks run on NumPy only
    array_api_strict = None

# What each exercise may not take from minigen: logsumexp is x - log_softmax(x), so every softmax
# (F.softmax and F.log_softmax call them). one_hot rows come out of cross_entropy_backward (softmax - one_hot)
# and out of the sampling penalties' tables of the tokens seen (counts, token masks, n-gram bans of ids
# (N, 1)). Rows of an identity matrix (xp.take, or an embedding of it) stay allowed: the lesson suggests them.
# The worker replaces these before the student's file loads.
ONE_HOTS = ["minigen.kernels.softmax.cross_entropy_backward", "minigen.sample.penalties._token_counts",
            "minigen.sample.penalties._token_mask", "minigen.sample.penalties.NoRepeatNGramLogitsProcessor.__call__"]
FORBIDDEN = {"logsumexp": SOFTMAXES, "one_hot": ONE_HOTS}


def strict_device():
    """The simulated device, or None when array-api-strict is not installed."""
    return None if array_api_strict is None else array_api_strict.Device("device1")


def _explain(e):
    """What a failure on the simulated device means, or None if it is not about devices."""
    text = str(e)
    if "Can't convert array" in text or "to a NumPy array" in text:
        return ("A NumPy function (np.exp, np.max, np.sum, np.asarray, ...) was given a device array. NumPy can "
                "only read host memory, so on a GPU this would fail (or copy the whole array to the host and "
                "back). Take the namespace from the input, xp = array_namespace(x), and call xp.exp, xp.max, "
                "xp.sum instead.")
    if "Expected Array or Python scalar" in text:
        return ("A NumPy array (made with np.something) was mixed with a device array. Create arrays with the "
                "input's namespace and device: xp.arange(n, device=device_of(x)), xp.zeros(shape, "
                "dtype=..., device=device_of(x)).")
    if "different devices" in text:
        return ("An array you created went to the default device (the CPU) and was then combined with the input, "
                "which lives on device1. Creation functions need device=: xp.arange(n, device=device_of(x)) "
                "(or device=x.device).")
    if isinstance(e, AttributeError) and "'Array' object has no attribute" in text:
        return ("That array method is NumPy's, not the standard's: the array API has functions, not methods, for "
                "reductions (xp.max(x, axis=-1), xp.sum(x, axis=-1)) and for conversions (xp.astype(x, dtype)).")
    if isinstance(e, IndexError) and "multi-axes index" in text:
        return ("Indexing a 2-D array with one integer array (eye[targets]) is NumPy's fancy indexing, which the "
                "array API does not have for more than one dimension; use xp.take(eye, targets, axis=0) or a "
                "comparison with xp.arange.")
    return None


def call_on_device(function, fn, *args):
    """fn(*args) with device arrays in args; a device-related failure becomes a diagnosis that teaches."""
    try:
        return fn(*args)
    except NotImplementedError:
        raise
    except Exception as e:                   # noqa: BLE001 - we only translate what we recognise
        hint = _explain(e)
        if hint is None:
            raise
        code = getattr(fn, "__code__", None)
        frames = [f for f in traceback.extract_tb(e.__traceback__) if code and f.filename == code.co_filename]
        where = f" at line {frames[-1].lineno}: `{frames[-1].line.strip()}`" if frames and frames[-1].line else ""
        raise CheckFailure(f"{function} works on NumPy arrays but failed on an array-api-strict array on "
                           f"Device('device1'), a simulated GPU{where}. {type(e).__name__}: {str(e).rstrip('.')}. {hint}") from None


def expect_on_device(function, result, device):
    """The result must be an array of the device's namespace, on that device (not a NumPy array)."""
    expect_true(not isinstance(result, (np.ndarray, np.generic, float, int)),
                f"{function} returned a NumPy value for an input on Device('device1'): the result has to stay "
                "on the input's device (moving it to the host costs a copy and a synchronisation on a GPU). Do "
                "not call to_numpy or np.asarray inside the function.")
    expect_true(device_of(result) == device,
                f"{function} returned an array on {device_of(result)}, but its input was on {device}; "
                "create new arrays with device=device_of(x).")


def logsumexp_reference(x):
    """Independent reference in float64 on the host: m + log(sum(exp(x - m)))."""
    x = np.asarray(x, dtype=np.float64)
    m = x.max(axis=-1, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=-1, keepdims=True)))[..., 0]


def check_logsumexp(student, x, dtype="float64", atol=1e-6, rtol=1e-6):
    expected = logsumexp_reference(x)
    expect_close("logsumexp", "logsumexp(x)", student.logsumexp(x.astype(dtype)), expected, atol=atol, rtol=rtol)
    device = strict_device()
    if device is not None:
        x_dev = to_device(x.astype(dtype), device)
        out = call_on_device("logsumexp", student.logsumexp, x_dev)
        expect_on_device("logsumexp", out, device)
        expect_true(str(out.dtype).endswith(dtype),
                    f"logsumexp turned a {dtype} input into {out.dtype}: keep the input's dtype (a Python float "
                    "does, a float64 array of constants would not)")
        expect_close("logsumexp", "logsumexp(x) on device1", to_numpy(out), expected, atol=atol, rtol=rtol)


def check_one_hot(student, targets, num_classes):
    expected = np.eye(num_classes)[targets] if len(targets) else np.zeros((0, num_classes))
    out = student.one_hot(targets, num_classes)
    expect_close("one_hot", "one_hot(targets, num_classes)", out, expected)
    expect_true(np.asarray(to_numpy(out)).dtype == np.float64,
                f"one_hot returned dtype {np.asarray(to_numpy(out)).dtype}; the lesson asks for float64 "
                "(xp.astype(..., xp.float64))")
    device = strict_device()
    if device is not None:
        t_dev = to_device(targets, device)
        out = call_on_device("one_hot", student.one_hot, t_dev, num_classes)
        expect_on_device("one_hot", out, device)
        expect_true(array_namespace(out).__name__ == "array_api_strict" and str(out.dtype).endswith("float64"),
                    f"one_hot returned dtype {out.dtype} on device1; the lesson asks for float64")
        expect_close("one_hot", "one_hot(targets, num_classes) on device1", to_numpy(out), expected)


@check("logsumexp", points=2)
def logsumexp_values_on_numpy_and_device(student):
    """logsumexp agrees with m + log(sum(exp(x - m))) on NumPy and on the simulated device device1"""
    x = np.random.default_rng(0).standard_normal((4, 7)) * 3
    check_logsumexp(student, x)


@check("one_hot", points=2)
def one_hot_values_on_numpy_and_device(student):
    """one_hot gives float64 one-hot rows on NumPy, and on device1 it creates its arrays on device1"""
    check_one_hot(student, np.array([3, 0, 4, 4, 1]), 5)
