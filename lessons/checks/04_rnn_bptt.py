"""Public checks for lesson 04 (the vanilla RNN and BPTT). Run them with `python -m minigen grade . --public-only`."""

import numpy as np

from minigen.grading import check, expect_close, expect_gradients, expect_true
from minigen.kernels.rnn import rnn_cell_forward, rnn_forward

# What each exercise may not take from minigen: its RNN kernels (F.rnn, F.rnn_cell, nn.RNN and nn.RNNCell call
# them), and autograd for the gradients. The worker replaces these before the student's file loads.
RNN_FORWARD = ["minigen.kernels.rnn.rnn_cell_forward", "minigen.kernels.rnn.rnn_forward",
               "minigen.kernels.rnn.rnn_forward_reference"]
RNN_BACKWARD = ["minigen.kernels.rnn.rnn_cell_backward", "minigen.kernels.rnn.rnn_backward",
                "minigen.kernels.rnn.rnn_backward_reference", "minigen.autograd.engine.backward"]
FORBIDDEN = {
    "rnn_step_forward": RNN_FORWARD,
    "rnn_step_backward": RNN_BACKWARD,
    "rnn_forward": RNN_FORWARD,
    "rnn_backward": RNN_BACKWARD,
}


def step_inputs(B=3, C=4, H=5, seed=0):
    rng = np.random.default_rng(seed)
    return {"x": rng.standard_normal((B, C)), "h_prev": rng.standard_normal((B, H)),
            "W_ih": rng.standard_normal((H, C)) * 0.5, "W_hh": rng.standard_normal((H, H)) * 0.5,
            "b": rng.standard_normal(H) * 0.5}


def seq_inputs(T=5, B=2, C=3, H=4, seed=0):
    rng = np.random.default_rng(seed)
    return {"x": rng.standard_normal((T, B, C)), "h0": rng.standard_normal((B, H)) * 0.5,
            "W_ih": rng.standard_normal((H, C)) * 0.5, "W_hh": rng.standard_normal((H, H)) * 0.5,
            "b": rng.standard_normal(H) * 0.5}


def check_step_forward(student, inputs):
    h, _ = student.rnn_step_forward(*inputs.values())
    h_ref, _ = rnn_cell_forward(*inputs.values())            # our b passed as b_ih
    expect_close("rnn_step_forward", "h", h, h_ref)


def untouched(function, backward, what):
    """``backward`` run on a copy of the upstream gradient, failing if the student's code changed it in place."""
    def run(dout, cache):
        sent = dout.copy()
        grads = backward(sent, cache)
        expect_true(np.array_equal(sent, dout),
                    f"{function} changed the {what} array it was given (an in-place `*=` or `+=` on it, or on "
                    "a view of it?). The caller still needs it; compute into a new array instead, "
                    "e.g. `da = dh * (1 - h**2)`.")
        return grads
    return run


def check_step_backward(student, inputs, seed=0):
    expect_gradients("rnn_step_backward", student.rnn_step_forward,
                     untouched("rnn_step_backward", student.rnn_step_backward, "dh"), inputs,
                     reference=rnn_cell_forward, seed=seed)       # our b passed as b_ih


def reference_rnn(x, h0, W_ih, W_hh, b):
    """minigen's RNN in the form of the student's rnn_forward: ``(hs, cache)``."""
    (hs, _), cache = rnn_forward(x, h0, W_ih, W_hh, b)
    return hs, cache


def check_forward(student, inputs):
    hs, _ = student.rnn_forward(*inputs.values())
    expect_close("rnn_forward", "hs", hs, reference_rnn(*inputs.values())[0])


def check_backward(student, inputs, seed=0):
    expect_gradients("rnn_backward", student.rnn_forward, untouched("rnn_backward", student.rnn_backward, "dhs"),
                     inputs, reference=reference_rnn, seed=seed)


@check("rnn_step_forward", points=2)
def step_forward_matches_minigen(student):
    """rnn_step_forward agrees with minigen's RNN cell kernel"""
    check_step_forward(student, step_inputs())


@check("rnn_step_backward", points=3)
def step_backward_matches_central_differences(student):
    """rnn_step_backward agrees with central differences (random upstream gradient, float64)"""
    check_step_backward(student, step_inputs())


@check("rnn_forward", points=2)
def forward_matches_minigen(student):
    """rnn_forward over T = 5 steps agrees with minigen's rnn_forward kernel"""
    check_forward(student, seq_inputs())


@check("rnn_backward", points=3)
def backward_matches_central_differences(student):
    """rnn_backward (BPTT over T = 5 steps) agrees with central differences"""
    check_backward(student, seq_inputs())
