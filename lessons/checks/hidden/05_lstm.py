"""Hidden checks for lesson 05: other shapes, extreme inputs. They stay with the instructor."""

import warnings

import numpy as np

from minigen.grading import check, expect_close, expect_true, public_checks

public = public_checks(__file__)


@check("sigmoid", points=1)
def sigmoid_extremes(student):
    """sigmoid stays finite and exact at +-1000, without overflow warnings"""
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            y = student.sigmoid(x)
        except RuntimeWarning as w:
            expect_true(False, f"sigmoid warns at x = +-1000 ({w}); exp(-x) overflowed. Rewrite it so "
                               "that no exp() sees a large positive number.")
    expect_close("sigmoid", "sigmoid(x)", y, np.array([0.0, 1.9287498479639178e-22, 0.5, 1.0, 1.0]),
                 atol=1e-12, rtol=1e-9)


@check("lstm_step_forward", points=1)
def forward_other_shapes(student):
    """lstm_step_forward works for one example, a wider input and a large bias"""
    public.check_lstm_forward(student, public.lstm_inputs(B=1, C=7, H=2, seed=11))
    inputs = public.lstm_inputs(B=2, C=3, H=4, seed=12)
    inputs["b"] = inputs["b"] * 20
    public.check_lstm_forward(student, inputs)


@check("lstm_step_backward", points=2)
def backward_other_shapes(student):
    """lstm_step_backward is right for other shapes and another upstream gradient"""
    public.check_lstm_backward(student, public.lstm_inputs(B=2, C=3, H=3, seed=21), seed=5)
    public.check_lstm_backward(student, public.lstm_inputs(B=1, C=2, H=6, seed=22), seed=6)
