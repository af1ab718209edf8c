"""nn.Highway: parameters, init, gate bias, repr, devices, errors (its maths: tests/kernels/test_highway.py)."""

import numpy as np
import pytest

import minigen
import minigen.functional as F
from minigen import nn


def _randn(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def test_highway_module(backend):
    layer = nn.Highway(4, device=backend.device, dtype="float64")
    assert list(layer.state_dict()) == ["weight_h", "weight_t", "bias_h", "bias_t"]
    assert repr(layer) == "Highway(4)" and repr(nn.Highway(4, bias=False)) == "Highway(4, bias=False)"
    assert list(nn.Highway(4, bias=False).state_dict()) == ["weight_h", "weight_t"]
    assert np.all(backend.numpy(nn.Highway(4, gate_bias=-2.0).bias_t) == -2.0)
    assert np.abs(backend.numpy(layer.weight_h)).max() <= 0.5                      # U(+-1/sqrt(4))
    x = backend.tensor(_randn((2, 3, 4), 7))
    want = F.highway(x, layer.weight_h, layer.weight_t, layer.bias_h, layer.bias_t)
    np.testing.assert_array_equal(backend.numpy(layer(x)), backend.numpy(want))
    assert minigen.gradcheck(lambda x: layer(x), [x])


@pytest.mark.parametrize("make, message", [
    (lambda: nn.Highway(0), "Highway: size must be a positive integer, got 0"),
    (lambda: nn.Highway(4, bias="yes"), "Highway: bias must be True or False, got 'yes'"),
    (lambda: nn.Highway(4, gate_bias="-2"), "Highway: gate_bias must be a finite number or None, got '-2'"),
    (lambda: nn.Highway(4, bias=False, gate_bias=-2.0), "Highway: gate_bias must be None when bias=False"),
    (lambda: nn.Highway(4, dtype="int64"), "Highway: dtype must be a floating dtype"),
])
def test_constructor_names_the_bad_argument(make, message):
    with pytest.raises(ValueError, match="^" + message):
        make()


def test_forward_names_the_bad_input():
    with pytest.raises(ValueError, match=r"^highway: weight_h must be of shape \(3, 3\), got shape \(4, 4\)$"):
        nn.Highway(4)(np.zeros((2, 3), np.float32))
