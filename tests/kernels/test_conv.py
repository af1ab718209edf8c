"""conv1d and max-over-time: the definition, the fast kernel against its twin, gradchecks, PyTorch parity, bad input."""

import numpy as np
import pytest

import minigen
import minigen.functional as F
from minigen.kernels import conv as K

# (stride, padding, dilation): plain, padded, strided, dilated, all three, asymmetric padding ("same", odd total)
SIZES = [(1, 0, 1), (1, 2, 1), (2, 1, 1), (1, 0, 2), (3, 2, 2), (1, (1, 2), 1)]


def _randn(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _conv_by_definition(x, W, b, stride, padding, dilation):
    """y[n, o, t] = b[o] + sum_{c, k} W[o, c, k] x_pad[n, c, t stride + k dilation], one number at a time."""
    left, right = (padding, padding) if isinstance(padding, int) else padding
    x_pad = np.pad(x, ((0, 0), (0, 0), (left, right)))
    N, C, T_pad = x_pad.shape
    O, _, Kw = W.shape
    T_out = (T_pad - dilation * (Kw - 1) - 1) // stride + 1
    y = np.zeros((N, O, T_out))
    for n in range(N):
        for o in range(O):
            for t in range(T_out):
                taps = [(c, k, t * stride + k * dilation) for c in range(C) for k in range(Kw)]
                y[n, o, t] = sum(W[o, c, k] * x_pad[n, c, i] for c, k, i in taps)
                y[n, o, t] += 0.0 if b is None else b[o]
    return y


def _inputs(backend, T=9, Kw=3, bias=True, seed=0):
    x, W, b = _randn((2, 3, T), seed), _randn((4, 3, Kw), seed + 1), _randn((4,), seed + 2)
    return {"x": backend.asarray(x), "W": backend.asarray(W), "b": backend.asarray(b) if bias else None}


# ---------------------------------------------------------------------------- reference expectations

@pytest.mark.parametrize("stride, padding, dilation", SIZES)
def test_both_kernels_follow_the_definition(backend, stride, padding, dilation):
    p = _inputs(backend)
    want = _conv_by_definition(*(backend.numpy(v) for v in p.values()), stride, padding, dilation)
    for forward in (K.conv1d_forward, K.conv1d_forward_reference):
        y, _ = forward(*p.values(), stride, padding, dilation)
        np.testing.assert_allclose(backend.numpy(y), want, rtol=0, atol=1e-13)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("stride, padding, dilation", SIZES)
def test_fast_kernel_equals_its_reference_twin(backend, stride, padding, dilation, bias):
    p = _inputs(backend, bias=bias)
    y, cache = K.conv1d_forward(*p.values(), stride, padding, dilation)
    y_ref, cache_ref = K.conv1d_forward_reference(*p.values(), stride, padding, dilation)
    np.testing.assert_allclose(backend.numpy(y), backend.numpy(y_ref), rtol=0, atol=1e-12)
    dy = backend.asarray(_randn(tuple(y.shape), seed=7))
    grads, grads_ref = K.conv1d_backward(dy, cache), K.conv1d_backward_reference(dy, cache_ref)
    for name, g, g_ref in zip(("dx", "dW", "db"), grads, grads_ref):
        if g_ref is None:
            assert g is None and not bias
        else:
            np.testing.assert_allclose(backend.numpy(g), backend.numpy(g_ref), rtol=0, atol=1e-12, err_msg=name)


# ---------------------------------------------------------------------------- gradients

@pytest.mark.parametrize("stride, padding, dilation", SIZES)
def test_kernels_gradcheck(backend, stride, padding, dilation):
    p = _inputs(backend)
    for forward, backward in ((K.conv1d_forward, K.conv1d_backward),
                              (K.conv1d_forward_reference, K.conv1d_backward_reference)):
        fwd = lambda x, W, b: forward(x, W, b, stride, padding, dilation)  # noqa: E731
        assert minigen.gradcheck_kernel(fwd, backward, p, fast=backend.fast)


@pytest.mark.parametrize("bias", [True, False])
def test_functional_gradcheck(backend, bias):
    p = _inputs(backend, bias=bias)
    args = [backend.tensor(backend.numpy(v)) for v in p.values() if v is not None]
    for stride, padding, dilation in [(1, "same", 2), (2, 1, 1), (1, 3, 3)]:
        conv = lambda x, W, b=None: F.conv1d(x, W, b, stride, padding, dilation)  # noqa: E731
        assert minigen.gradcheck(conv, args, fast=backend.fast)
    unbatched = [backend.tensor(_randn((3, 6), seed=3))] + args[1:]
    assert minigen.gradcheck(lambda x, W, b=None: F.conv1d(x, W, b, padding=1), unbatched)


def test_max_over_time_gradcheck(backend):
    x = backend.asarray(_randn((3, 4, 5), seed=4))            # random: no ties, so the max is differentiable
    assert minigen.gradcheck_kernel(K.max_over_time_forward, K.max_over_time_backward, {"x": x})
    assert minigen.gradcheck(F.max_over_time, [backend.tensor(_randn((3, 4, 5), seed=5))])


def test_max_over_time_gives_the_gradient_to_the_first_winner(backend):
    x = backend.tensor(np.array([[[1.0, 7.0, 7.0, 2.0], [3.0, 3.0, 3.0, 3.0]]]), requires_grad=True)
    y = F.max_over_time(x)
    np.testing.assert_array_equal(backend.numpy(y), [[7.0, 3.0]])
    y.backward(backend.asarray(np.array([[10.0, 20.0]])))
    np.testing.assert_array_equal(backend.numpy(x.grad), [[[0, 10.0, 0, 0], [20.0, 0, 0, 0]]])


# ---------------------------------------------------------------------------- PyTorch parity

@pytest.mark.reference
@pytest.mark.filterwarnings("ignore:Using padding='same'")        # torch's note that it copies the input to pad it
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("stride, padding, dilation", [(1, 0, 1), (2, 2, 1), (1, "same", 2), (1, "same", 1), (3, 1, 2),
                                                       (1, "valid", 1)])
def test_conv1d_matches_torch(dtype, stride, padding, dilation):
    torch = pytest.importorskip("torch")
    x, W, b = _randn((3, 5, 11), 1).astype(dtype), _randn((6, 5, 4), 2).astype(dtype), _randn((6,), 3).astype(dtype)
    mine = [minigen.tensor(a, requires_grad=True) for a in (x, W, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, W, b)]
    y = F.conv1d(*mine, stride=stride, padding=padding, dilation=dilation)
    yt = torch.nn.functional.conv1d(*theirs, stride=stride, padding=padding, dilation=dilation)
    dout = _randn(tuple(yt.shape), 4).astype(dtype)
    y.backward(dout)
    yt.backward(torch.tensor(dout))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for name, a, t in zip(("output", "dinput", "dweight", "dbias"), [y.numpy()] + [m.grad for m in mine],
                          [yt.detach().numpy()] + [t.grad.numpy() for t in theirs]):
        np.testing.assert_allclose(a, t, rtol=0, atol=tol * np.abs(t).max(), err_msg=name)


@pytest.mark.reference
def test_unbatched_conv1d_and_max_over_time_match_torch():
    torch = pytest.importorskip("torch")
    x, W = _randn((5, 8), 5), _randn((3, 5, 2), 6)
    y = F.conv1d(x, W, padding=(1,))
    yt = torch.nn.functional.conv1d(torch.tensor(x), torch.tensor(W), padding=1)
    np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=0, atol=1e-12)
    z = _randn((2, 3, 7), 7)
    np.testing.assert_array_equal(F.max_over_time(z).numpy(), torch.tensor(z).max(dim=2).values.numpy())


# ---------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("call, error, message", [
    (lambda x, W: F.conv1d(x[0, 0], W), ValueError,
     r"conv1d: input must be of shape \(batch, in_channels, length\) or \(in_channels, length\), in_channels=3 "
     r"\(weight's\), got shape \(9,\)"),
    (lambda x, W: F.conv1d(x, W[:, :2]), ValueError, r"conv1d: input must be .*, in_channels=2 \(weight's\), "
                                                     r"got shape \(2, 3, 9\)"),
    (lambda x, W: F.conv1d(x, W[0]), ValueError, r"conv1d: weight must be of shape \(out_channels, in_channels, "
                                                 r"kernel_size\), got shape \(3, 3\)"),
    (lambda x, W: F.conv1d(x, W[:, :, :0]), ValueError, r"conv1d: weight must be of a kernel_size >= 1, "
                                                        r"got shape \(4, 3, 0\)$"),
    (lambda x, W: F.conv1d(x, W, np.zeros(3)), ValueError, r"conv1d: bias must be of shape \(4,\), got shape \(3,\)"),
    (lambda x, W: F.conv1d(x, W.float()), TypeError, "conv1d: weight must be of input's dtype float64 .*, got float32"),
    (lambda x, W: F.conv1d(np.zeros((2, 3, 9), np.int64), W), TypeError, "conv1d: input must be floating point"),
    (lambda x, W: F.conv1d(x[:, :, :2], W), ValueError, r"conv1d: input must be at least as long as the dilated "
                                                        r"kernel, .* = 3, once padded, got length 2 with padding "
                                                        r"\(0, 0\)"),
    (lambda x, W: F.conv1d(x, W, dilation=5), ValueError, r"conv1d: input must be at least .* = 11, once padded, "
                                                          r"got length 9"),
    (lambda x, W: F.conv1d(x, W, stride=0), ValueError, "conv1d: stride must be a positive integer, got 0"),
    (lambda x, W: F.conv1d(x, W, stride=(1, 1)), ValueError, r"conv1d: stride must be a positive integer, "
                                                             r"got \(1, 1\)"),
    (lambda x, W: F.conv1d(x, W, padding=-1), ValueError, "conv1d: padding must be a non-negative integer, got -1"),
    (lambda x, W: F.conv1d(x, W, padding="full"), ValueError, "conv1d: padding must be one of 'valid', 'same', "
                                                              "got 'full'"),
    (lambda x, W: F.conv1d(x, W, stride=2, padding="same"), ValueError, r"conv1d: stride must be 1 for "
                                                                        r"padding='same' \(as in PyTorch\), got 2"),
    (lambda x, W: F.conv1d(x, W, dilation=True), ValueError, "conv1d: dilation must be a positive integer, got True"),
    (lambda x, W: F.conv1d(x, W, groups=2), NotImplementedError, r"conv1d: groups must be 1 \(grouped convolutions "
                                                                 r"are not implemented\), got 2"),
    (lambda x, W: F.max_over_time(x[0]), ValueError, r"max_over_time: input must be of shape \(batch, channels, "
                                                     r"length\), got shape \(3, 9\)"),
    (lambda x, W: F.max_over_time(x[:, :, :0]), ValueError, r"max_over_time: input must be of length >= 1"),
])
def test_bad_input(call, error, message):
    x, W = minigen.tensor(_randn((2, 3, 9))), minigen.tensor(_randn((4, 3, 3), 1))
    with pytest.raises(error, match="^" + message):
        call(x, W)
