"""gradcheck and gradcheck_kernel: they pass correct gradients and CATCH planted wrong ones.

The planted bugs are the classic ones:
- a softmax backward that is wrong only in a way a sum-of-outputs check cannot see;
- a transposed matmul weight gradient;
- an embedding backward that assigns instead of accumulating, so repeated ids lose updates.
"""

import numpy as np
import pytest

import minigen
from minigen import GradcheckError
from minigen import backend as B
from minigen.cli.gradcheck_demo import _sum_of_outputs_check as sum_of_outputs_check  # what dezero/minitorch check


def _softmax_forward(x):
    xp = B.array_namespace(x)
    e = xp.exp(x - xp.max(x, axis=-1, keepdims=True))
    return e / xp.sum(e, axis=-1, keepdims=True)


class GoodSoftmax(minigen.Function):
    """dx = s * (dout - sum(dout * s))."""

    def forward(self, x):
        self.s = _softmax_forward(x)
        return self.s

    def backward(self, dout):
        xp = B.array_namespace(dout)
        return self.s * (dout - xp.sum(dout * self.s, axis=-1, keepdims=True))


class ZeroSoftmax(GoodSoftmax):
    """Planted bug: no gradient at all."""

    def backward(self, dout):
        return dout * 0.0


class MeanSoftmax(GoodSoftmax):
    """Planted normalisation bug: subtracts the plain mean of dout, not its s-weighted sum."""

    def backward(self, dout):
        xp = B.array_namespace(dout)
        return self.s * (dout - xp.mean(dout, axis=-1, keepdims=True))


@pytest.fixture
def logits():
    return np.random.default_rng(0).standard_normal((3, 5))


def test_correct_softmax_passes(backend, logits):
    assert minigen.gradcheck(GoodSoftmax.apply, [backend.tensor(logits)])
    assert minigen.gradcheck(GoodSoftmax.apply, [backend.tensor(logits)], fast=True)


@pytest.mark.parametrize("broken", [ZeroSoftmax, MeanSoftmax])
def test_softmax_bugs_fool_a_sum_check_but_not_gradcheck(backend, logits, broken):
    assert sum_of_outputs_check(broken.apply, logits), "the sum check is blind to this bug"
    with pytest.raises(GradcheckError, match="gradient check failed for gradient of input 0 at index"):
        minigen.gradcheck(broken.apply, [backend.tensor(logits)])
    with pytest.raises(GradcheckError, match="along a random direction"):
        minigen.gradcheck(broken.apply, [backend.tensor(logits)], fast=True)


class TransposedMatMul(minigen.Function):
    """Planted bug: dW = dout^T @ x instead of x^T @ dout (same shape when square)."""

    def forward(self, x, W):
        self.x, self.W = x, W
        return x @ W

    def backward(self, dout):
        xp = B.array_namespace(dout)
        return dout @ xp.matrix_transpose(self.W), xp.matrix_transpose(dout) @ self.x


def test_transposed_matmul_gradient_is_caught(backend):
    rng = np.random.default_rng(1)
    x, W = backend.tensor(rng.standard_normal((4, 4))), backend.tensor(rng.standard_normal((4, 4)))
    assert minigen.gradcheck(lambda x, W: x @ W, {"x": x, "W": W})
    with pytest.raises(GradcheckError) as info:
        minigen.gradcheck(lambda x, W: TransposedMatMul.apply(x, W), {"x": x, "W": W})
    assert info.value.input == "dW", "the report names the wrong gradient, and only that one"
    assert "dx" not in str(info.value)


class AssigningEmbedding(minigen.Function):
    """Planted bug: dW[ids] = dout (assignment) instead of accumulation: with a repeated id
    only its last occurrence survives. Written with a one-hot matrix so it runs on every backend."""

    def forward(self, W, ids=None, last=None):
        xp = B.array_namespace(W)
        self.V, self.last = W.shape[0], last
        self.onehot = xp.astype(ids[:, None] == xp.arange(W.shape[0], device=B.device_of(W))[None, :], W.dtype)
        return self.onehot @ W

    def backward(self, dout):
        xp = B.array_namespace(dout)
        kept = self.onehot * self.last[:, None]        # rows overwritten by a later repeat drop out
        return xp.matrix_transpose(kept) @ dout


def test_missing_accumulation_with_repeated_ids_is_caught(backend):
    ids = np.array([2, 0, 2, 3, 2])
    last = np.array([float(i not in ids[k + 1:]) for k, i in enumerate(ids)])
    W = backend.tensor(np.random.default_rng(2).standard_normal((4, 3)))
    d_ids, d_last = backend.asarray(ids), backend.asarray(last)
    assert minigen.gradcheck(lambda W: minigen.embedding(d_ids, W), {"W": W})
    with pytest.raises(GradcheckError) as info:
        minigen.gradcheck(lambda W: AssigningEmbedding.apply(W, ids=d_ids, last=d_last), {"W": W})
    assert info.value.input == "dW"
    assert info.value.index[0] == 2, "the worst element is in the row of the repeated id"
    unique = backend.asarray(np.array([1, 0, 3]))
    ones = backend.asarray(np.ones(3))
    assert minigen.gradcheck(lambda W: AssigningEmbedding.apply(W, ids=unique, last=ones), {"W": W}), \
        "without repeats the bug is invisible, which is why the test must repeat ids"


def test_error_report_names_everything():
    x = minigen.tensor(np.array([[0.3, -0.2, 0.9]]), name="logits")
    with pytest.raises(GradcheckError) as info:
        minigen.gradcheck(ZeroSoftmax.apply, [x])
    e = info.value
    msg = str(e)
    assert e.input == "gradient of logits" and isinstance(e.index, tuple)
    assert e.analytic == 0.0 and e.numeric != 0.0 and e.rel_error == pytest.approx(1.0)
    for part in ("logits", f"index {e.index}", "analytic", "numeric", "relative error", "Advice"):
        assert part in msg


def test_float32_is_refused_with_the_reason():
    with pytest.raises(ValueError, match=r"gradcheck: input 0 must be float64 \(gradient checks lose half the digits: x.double\(\)\), got float32"):
        minigen.gradcheck(lambda t: t * 2.0, [minigen.tensor([1.0, 2.0])])
    with pytest.raises(ValueError, match="x must be float64 .*, got float32"):
        minigen.gradcheck_kernel(lambda x: (x, None), lambda d, c: d, {"x": np.ones(2, np.float32)})


def test_integer_inputs_are_skipped(backend):
    ids = backend.asarray(np.array([1, 1, 0]))
    W = backend.tensor(np.random.default_rng(3).standard_normal((2, 3)))
    assert minigen.gradcheck(lambda ids, W: minigen.embedding(ids, W).tanh(), [ids, W])


def test_tolerances_and_eps_are_respected():
    class SlightlyOff(minigen.Function):
        def forward(self, x):
            return x * 2.0

        def backward(self, dout):
            return dout * 2.0001       # 5e-5 relative error

    x = minigen.tensor(np.array([1.0, 2.0]))
    assert minigen.gradcheck(SlightlyOff.apply, [x])                       # within rtol=1e-3
    with pytest.raises(GradcheckError):
        minigen.gradcheck(SlightlyOff.apply, [x], rtol=1e-6, atol=1e-8)


def test_gradcheck_leaves_user_state_alone():
    x = minigen.tensor(np.array([1.0, 2.0]), requires_grad=True)
    minigen.manual_seed(5)
    state = B.get_rng_state()
    minigen.gradcheck(lambda t: minigen.dropout(t, 0.5) * t, [x])
    assert x.grad is None
    assert B.get_rng_state() == state


def test_gradcheck_argument_errors():
    with pytest.raises(TypeError, match="must be a Tensor or an array"):
        minigen.gradcheck(lambda t: t, [[1.0, 2.0]])
    with pytest.raises(ValueError, match="inputs must be at least one floating-point array to check, got none"):
        minigen.gradcheck(lambda t: t, [np.arange(3)])
    with pytest.raises(TypeError, match="gradcheck: fn must be a function that returns Tensors, got "):
        minigen.gradcheck(lambda t: t.numpy(), [minigen.tensor(np.ones(2))])


# ---------------------------------------------------------------------------- kernel form

def rnn_step_forward(x, h_prev, W_xh, W_hh, b):
    xp = B.array_namespace(x)
    h = xp.tanh(x @ W_xh + h_prev @ W_hh + b)
    return h, (x, h_prev, W_xh, W_hh, h)


def rnn_step_backward(dh, cache):
    xp = B.array_namespace(dh)
    x, h_prev, W_xh, W_hh, h = cache
    da = dh * (1 - h * h)                                  # forward was h = tanh(a)
    T = xp.matrix_transpose
    return da @ T(W_xh), da @ T(W_hh), T(x) @ da, T(h_prev) @ da, xp.sum(da, axis=0)


def rnn_step_backward_buggy(dh, cache):
    dx, dh_prev, dW_xh, dW_hh, db = rnn_step_backward(dh, cache)
    xp = B.array_namespace(dh)
    x, h_prev, W_xh, W_hh, h = cache
    return dx, dh_prev, dW_xh, xp.matrix_transpose(h_prev) @ dh, db   # forgot the tanh derivative


def _rnn_inputs(backend):
    rng = np.random.default_rng(4)
    shapes = {"x": (3, 4), "h_prev": (3, 5), "W_xh": (4, 5), "W_hh": (5, 5), "b": (5,)}
    return {k: backend.asarray(rng.standard_normal(s) * 0.5) for k, s in shapes.items()}


def test_gradcheck_kernel_passes_a_correct_pair(backend):
    assert minigen.gradcheck_kernel(rnn_step_forward, rnn_step_backward, _rnn_inputs(backend))
    assert minigen.gradcheck_kernel(rnn_step_forward, rnn_step_backward, list(_rnn_inputs(backend).values()), fast=True)


def test_gradcheck_kernel_names_the_wrong_gradient(backend):
    with pytest.raises(GradcheckError, match="dW_hh") as info:
        minigen.gradcheck_kernel(rnn_step_forward, rnn_step_backward_buggy, _rnn_inputs(backend))
    assert info.value.input == "dW_hh"


def test_gradcheck_kernel_multiple_outputs_and_integer_inputs(backend):
    def fwd(W, ids):
        xp = B.array_namespace(W)
        rows = xp.take(W, ids, axis=0)
        return (rows * 2.0, (xp.tanh(rows), ids)), (W, ids, rows)

    def bwd(douts, cache):
        W, ids, rows = cache
        d_double, (d_tanh, _) = douts
        drows = d_double * 2.0 + d_tanh * (1 - B.array_namespace(W).tanh(rows) ** 2)
        dW = B.array_namespace(W).zeros_like(W)
        return B.index_add(dW, ids, drows), None

    W, ids = backend.asarray(np.random.default_rng(5).standard_normal((4, 3))), backend.asarray(np.array([1, 3, 1]))
    assert minigen.gradcheck_kernel(fwd, bwd, {"W": W, "ids": ids})

    def bwd_grad_for_ids(douts, cache):
        return bwd(douts, cache)[0], cache[1]

    with pytest.raises(GradcheckError, match="integer input ids must get no gradient"):
        minigen.gradcheck_kernel(fwd, bwd_grad_for_ids, {"W": W, "ids": ids})


def test_gradcheck_kernel_contract_errors():
    x = np.ones(3)
    with pytest.raises(GradcheckError, match="returned 1 gradient"):
        minigen.gradcheck_kernel(lambda a, b: (a * b, (a, b)), lambda d, c: d * c[1], [x, x])
    with pytest.raises(GradcheckError, match=r"has shape \(1,\), but input 0 has shape \(3,\)"):
        minigen.gradcheck_kernel(lambda a: (a * 2, a), lambda d, c: d[:1], [x])
    with pytest.raises(TypeError, match=r"gradcheck_kernel: forward must be a function that returns \(out, cache\)"):
        minigen.gradcheck_kernel(lambda a: a * 2, lambda d, c: d, [x])


def test_a_kernel_without_a_floating_output_is_named_as_gradcheck_kernel_forward():
    forward = lambda x: (np.zeros(3, np.int64), None)            # noqa: E731
    with pytest.raises(ValueError, match="gradcheck_kernel: forward must be a function with a floating output"):
        minigen.gradcheck_kernel(forward, lambda dout, cache: None, [np.ones(3)])
