"""nn.Conv1d and nn.MaxOverTime: parameters, init, repr, devices, PyTorch parity via state_dict, errors."""

import math

import numpy as np
import pytest

import minigen
import minigen.functional as F
from minigen import backend as B
from minigen import nn


def _randn(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ---------------------------------------------------------------------------- Conv1d

def test_conv1d_parameters_and_init(backend):
    conv = nn.Conv1d(4, 6, 3, device=backend.device, dtype="float64")
    assert list(conv.state_dict()) == ["weight", "bias"]
    assert conv.weight.shape == (6, 4, 3) and conv.bias.shape == (6,)
    assert B._dtype_name(conv.weight.dtype) == "float64"
    assert B.device_of(conv.weight.data) == B.device_of(backend.asarray(np.ones(1)))
    bound = 1 / math.sqrt(4 * 3)                                  # 1/sqrt(fan_in), fan_in = in_channels * kernel_size
    for p in (conv.weight, conv.bias):
        values = backend.numpy(p)
        assert np.abs(values).max() <= bound and np.abs(values).max() > 0.5 * bound
    assert nn.Conv1d(4, 6, 3).weight.dtype == np.float32
    plain = nn.Conv1d(4, 6, 3, bias=False)
    assert plain.bias is None and list(plain.state_dict()) == ["weight"]


def test_conv1d_forward_backward_on_device(backend):
    conv = nn.Conv1d(3, 5, 2, stride=2, padding=1, device=backend.device, dtype="float64")
    x = backend.tensor(_randn((2, 3, 7), 1), requires_grad=True)
    y = conv(x)
    assert y.shape == (2, 5, 4)
    want = F.conv1d(x, conv.weight, conv.bias, stride=2, padding=1)
    np.testing.assert_array_equal(backend.numpy(y), backend.numpy(want))
    y.backward(backend.asarray(_randn((2, 5, 4), 2)))
    assert x.grad.shape == (2, 3, 7) and conv.weight.grad.shape == (5, 3, 2) and conv.bias.grad.shape == (5,)
    assert minigen.gradcheck(lambda x: conv(x), [backend.tensor(_randn((2, 3, 6), 3))])


@pytest.mark.reference
@pytest.mark.parametrize("kwargs", [{}, {"stride": 2, "padding": 3, "dilation": 2, "bias": False}, {"padding": "same"},
                                    {"padding": "valid"}])
def test_conv1d_repr_and_sizes_are_torchs(kwargs):
    torch = pytest.importorskip("torch")
    mine, theirs = nn.Conv1d(4, 8, 3, **kwargs), torch.nn.Conv1d(4, 8, 3, **kwargs)
    assert repr(mine) == repr(theirs)
    sizes = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "padding_mode")
    for name in sizes:
        assert getattr(mine, name) == getattr(theirs, name), name


@pytest.mark.reference
@pytest.mark.filterwarnings("ignore:Using padding='same'")        # torch's note that it copies the input to pad it
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs", [{}, {"stride": 2, "padding": 2, "dilation": 3}, {"padding": "same", "bias": False}])
def test_conv1d_matches_torch(dtype, kwargs):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.Conv1d(5, 7, 4, dtype=getattr(torch, np.dtype(dtype).name), **kwargs)
    mine = nn.Conv1d(5, 7, 4, dtype=np.dtype(dtype), **kwargs)
    mine.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = _randn((3, 5, 12), 4).astype(dtype)
    xm, xt = minigen.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    a, b = mine(xm), theirs(xt)
    dout = _randn(tuple(b.shape), 5).astype(dtype)
    a.backward(dout)
    b.backward(torch.tensor(dout))
    tol = 1e-5 if dtype == np.float32 else 1e-12

    def close(got, ref, name):
        np.testing.assert_allclose(got, ref, rtol=0, atol=tol * np.abs(ref).max(), err_msg=name)

    close(a.numpy(), b.detach().numpy(), "output")
    close(xm.grad, xt.grad.numpy(), "dinput")
    params = dict(theirs.named_parameters())
    assert set(params) == {k for k, _ in mine.named_parameters()}
    for name, p in params.items():
        close(getattr(mine, name).grad, p.grad.numpy(), "d" + name)


@pytest.mark.reference
def test_conv1d_init_follows_torchs_bound():
    """torch's kaiming_uniform(a=sqrt(5)) is U(+-1/sqrt(fan_in)); its bias, U(+-1/sqrt(fan_in)) too."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.Conv1d(64, 200, 5)
    mine = nn.Conv1d(64, 200, 5)
    bound = 1 / math.sqrt(64 * 5)
    for name in ("weight", "bias"):
        t, m = getattr(theirs, name).detach().numpy(), getattr(mine, name).numpy()
        assert t.std() == pytest.approx(bound / math.sqrt(3), rel=0.1) and m.std() == pytest.approx(t.std(), rel=0.1)
        assert np.abs(m).max() <= bound and np.abs(t).max() <= bound


# ---------------------------------------------------------------------------- MaxOverTime

def test_max_over_time_module(backend):
    x = backend.tensor(_randn((2, 3, 5), 6))
    np.testing.assert_array_equal(backend.numpy(nn.MaxOverTime()(x)), backend.numpy(x).max(axis=2))
    assert repr(nn.MaxOverTime()) == "MaxOverTime()" and list(nn.MaxOverTime().parameters()) == []


# ---------------------------------------------------------------------------- bad arguments

@pytest.mark.parametrize("make, error, message", [
    (lambda: nn.Conv1d(0, 4, 3), ValueError, "Conv1d: in_channels must be a positive integer, got 0"),
    (lambda: nn.Conv1d(4, 2.0, 3), ValueError, "Conv1d: out_channels must be a positive integer, got 2.0"),
    (lambda: nn.Conv1d(4, 4, 0), ValueError, "Conv1d: kernel_size must be a positive integer, got 0"),
    (lambda: nn.Conv1d(4, 4, (3, 3)), ValueError, r"Conv1d: kernel_size must be a positive integer, got \(3, 3\)"),
    (lambda: nn.Conv1d(4, 4, 3, stride=0), ValueError, "Conv1d: stride must be a positive integer, got 0"),
    (lambda: nn.Conv1d(4, 4, 3, padding=-2), ValueError, "Conv1d: padding must be a non-negative integer, got -2"),
    (lambda: nn.Conv1d(4, 4, 3, 2, "same"), ValueError, r"Conv1d: stride must be 1 for padding='same'"),
    (lambda: nn.Conv1d(4, 4, 3, dilation=None), ValueError, "Conv1d: dilation must be a positive integer, got None"),
    (lambda: nn.Conv1d(4, 4, 3, groups=2), NotImplementedError, r"Conv1d: groups must be 1 \(grouped convolutions"),
    (lambda: nn.Conv1d(4, 4, 3, bias=1), ValueError, "Conv1d: bias must be True or False, got 1"),
    (lambda: nn.Conv1d(4, 4, 3, padding_mode="wrap"), ValueError, "Conv1d: padding_mode must be one of 'zeros', "
                                                                  "'reflect', 'replicate', 'circular', got 'wrap'"),
    (lambda: nn.Conv1d(4, 4, 3, padding_mode="reflect"), NotImplementedError, r"Conv1d: padding_mode must be 'zeros' "
                                                                              r"\(the others are not implemented\)"),
    (lambda: nn.Conv1d(4, 4, 3, dtype="int32"), ValueError, "Conv1d: dtype must be a floating dtype"),
])
def test_constructors_name_the_bad_argument(make, error, message):
    with pytest.raises(error, match="^" + message):
        make()


def test_forward_names_the_bad_input():
    with pytest.raises(ValueError, match=r"^conv1d: input must be .*, in_channels=4 \(weight's\), got shape"):
        nn.Conv1d(4, 2, 3)(np.zeros((2, 3, 8), np.float32))
    with pytest.raises(ValueError, match=r"^conv1d: input must be at least as long as the dilated kernel"):
        nn.Conv1d(4, 2, 5)(np.zeros((2, 4, 3), np.float32))
    with pytest.raises(TypeError, match="^conv1d: weight must be of input's dtype float64"):
        nn.Conv1d(4, 2, 3)(np.zeros((2, 4, 8)))
