"""Public checks for lesson 05 (the LSTM). Run them with `python -m minigen grade . --public-only`."""

import numpy as np

from minigen.grading import LSTM_GATES, check, expect_close, expect_gradients
from minigen.kernels.lstm import lstm_cell_forward


def lstm_inputs(B=3, C=4, H=5, seed=0):
    rng = np.random.default_rng(seed)
    return {"x": rng.standard_normal((B, C)), "h_prev": rng.standard_normal((B, H)),
            "c_prev": rng.standard_normal((B, H)), "W_ih": rng.standard_normal((4 * H, C)) * 0.5,
            "W_hh": rng.standard_normal((4 * H, H)) * 0.5, "b": rng.standard_normal(4 * H) * 0.5}


def check_lstm_forward(student, inputs):
    h, c, _ = student.lstm_step_forward(*inputs.values())
    (h_ref, c_ref), _ = lstm_cell_forward(*inputs.values(), None)
    expect_close("lstm_step_forward", "c", c, c_ref)
    expect_close("lstm_step_forward", "h", h, h_ref)


def check_lstm_backward(student, inputs, seed=0):
    def forward(*args):
        h, c, cache = student.lstm_step_forward(*args)
        return (h, c), cache

    def backward(douts, cache):
        return student.lstm_step_backward(douts[0], douts[1], cache)
    expect_gradients("lstm_step_backward", forward, backward, inputs, blocks=LSTM_GATES, seed=seed)


@check("sigmoid", points=1)
def sigmoid_values(student):
    """sigmoid agrees with 1 / (1 + exp(-x)) on moderate inputs"""
    x = np.linspace(-8, 8, 17)
    expect_close("sigmoid", "sigmoid(x)", student.sigmoid(x), 1 / (1 + np.exp(-x)))


@check("lstm_step_forward", points=2)
def forward_matches_minigen(student):
    """lstm_step_forward agrees with minigen's LSTM cell kernel"""
    check_lstm_forward(student, lstm_inputs())


@check("lstm_step_backward", points=3)
def backward_matches_central_differences(student):
    """lstm_step_backward agrees with central differences (random upstream gradient, float64)"""
    check_lstm_backward(student, lstm_inputs())
