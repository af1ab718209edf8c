"""Public checks for lesson 05 (the LSTM). Run them with `python -m minigen grade . --public-only`."""

import warnings

import numpy as np

from minigen.grading import LSTM_GATES, check, expect_close, expect_gradients, expect_true, kernel_forward
from minigen.kernels.lstm import lstm_cell_forward

# What each exercise may not take from minigen: its sigmoids (Tensor.sigmoid calls the first two, the LSTM and
# GRU kernels the other two), its LSTM kernels (F.lstm, F.lstm_cell, nn.LSTM and nn.LSTMCell call them), and
# autograd for the gradients. The worker replaces these before the student's file loads.
FORBIDDEN = {
    "sigmoid": ["minigen.autograd.ops.elementwise.sigmoid", "minigen.autograd.ops.elementwise.Sigmoid.forward",
                "minigen.kernels.activation.sigmoid", "minigen.kernels.activation.sigmoid_overwriting"],
    "lstm_step_forward": ["minigen.kernels.lstm.lstm_cell_forward", "minigen.kernels.lstm.lstm_forward",
                          "minigen.kernels.lstm.lstm_forward_reference"],
    "lstm_step_backward": ["minigen.kernels.lstm.lstm_cell_backward", "minigen.kernels.lstm.lstm_backward",
                           "minigen.kernels.lstm.lstm_backward_reference",
                           "minigen.autograd.engine.backward"],
}


def lstm_inputs(B=3, C=4, H=5, seed=0):
    rng = np.random.default_rng(seed)
    return {"x": rng.standard_normal((B, C)), "h_prev": rng.standard_normal((B, H)),
            "c_prev": rng.standard_normal((B, H)), "W_ih": rng.standard_normal((4 * H, C)) * 0.5,
            "W_hh": rng.standard_normal((4 * H, H)) * 0.5, "b": rng.standard_normal(4 * H) * 0.5}


def reference_lstm(x, h_prev, c_prev, W_ih, W_hh, b):
    """minigen's LSTM cell as ``((h, c), cache)``, with our b as its b_ih."""
    return lstm_cell_forward(x, h_prev, c_prev, W_ih, W_hh, b, None)


def check_lstm_forward(student, inputs):
    h, c, _ = student.lstm_step_forward(*inputs.values())
    (h_ref, c_ref), _ = reference_lstm(*inputs.values())
    expect_close("lstm_step_forward", "c", c, c_ref)
    expect_close("lstm_step_forward", "h", h, h_ref)


def check_lstm_backward(student, inputs, seed=0):
    def backward(douts, cache):
        return student.lstm_step_backward(douts[0], douts[1], cache)
    expect_gradients("lstm_step_backward", kernel_forward(student.lstm_step_forward, outputs=2), backward, inputs,
                     reference=reference_lstm, blocks=LSTM_GATES, seed=seed)


@check("sigmoid", points=1)
def sigmoid_values(student):
    """sigmoid agrees with 1 / (1 + exp(-x)) on moderate inputs, and at x = +-1000 without overflow warnings"""
    x = np.linspace(-8, 8, 17)
    expect_close("sigmoid", "sigmoid(x)", student.sigmoid(x), 1 / (1 + np.exp(-x)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            y = student.sigmoid(np.array([-1000.0, 1000.0]))
        except RuntimeWarning as w:
            expect_true(False, f"sigmoid warns at x = +-1000 ({w}): an exp() overflowed. No exp() may see a large "
                               "positive number; note that np.where evaluates both of its branches everywhere.")
    expect_close("sigmoid", "sigmoid([-1000, 1000])", y, np.array([0.0, 1.0]), atol=1e-12, rtol=1e-9)


@check("lstm_step_forward", points=2)
def forward_matches_minigen(student):
    """lstm_step_forward agrees with minigen's LSTM cell kernel"""
    check_lstm_forward(student, lstm_inputs())


@check("lstm_step_backward", points=3)
def backward_matches_central_differences(student):
    """lstm_step_backward agrees with central differences (random upstream gradient, float64)"""
    check_lstm_backward(student, lstm_inputs())
