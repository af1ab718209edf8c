"""Hidden checks for lesson 02: other shapes, logits ~1e4, zeros and tiny numbers. They stay with the instructor."""

import warnings

import numpy as np

from minigen.grading import check, expect_close, expect_true, public_checks

public = public_checks(__file__)


def no_warnings(function, what, call, hint):
    """Run call() with NumPy's overflow/invalid/divide warnings turned into a teaching failure."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            try:
                return call()
            except (RuntimeWarning, FloatingPointError) as w:
                expect_true(False, f"{function} {what} raised a floating-point warning ({w}). {hint}")


@check("numeric_gradient", points=2)
def numeric_gradient_other_shapes(student):
    """numeric_gradient works for 1-D, 3-D and one-element inputs, and for functions that mix elements"""
    public.check_numeric_gradient_smooth(student, (7,), seed=10)
    public.check_numeric_gradient_smooth(student, (2, 3, 2), seed=11)
    public.check_numeric_gradient_smooth(student, (1,), seed=12)
    public.check_central(student, np.array([[1.5, -0.25], [3.0, -2.0]]), eps=1e-2)
    rng = np.random.default_rng(13)
    x, W = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    grad = student.numeric_gradient(lambda x: float(np.sum(np.tanh(x @ W))), x)
    expect_close("numeric_gradient", "grad", grad,
                 (1 - np.tanh(x @ W) ** 2) @ W.T, atol=1e-7, rtol=1e-6)


@check("softmax", points=2)
def softmax_extremes(student):
    """softmax is finite and exact at logits ~1e4, for a 1-D input and for equal logits"""
    x = np.array([[1e4, 1e4 - 1.0, -1e4], [-1e4, -1e4 + 2.0, -1e4], [3.0, 3.0, 3.0]])
    s = no_warnings("softmax", "at logits of +-1e4", lambda: student.softmax(x.copy()),
                    "exp(1e4) overflows: subtract the row's maximum first (the result is the same, and the largest "
                    "exponent becomes exp(0) = 1).")
    expect_true(s is not None and np.all(np.isfinite(np.asarray(s, dtype=np.float64))),
                "softmax returned non-finite values at logits of +-1e4: exp(1e4) overflows. Subtract the row's "
                "maximum first (the result is the same, and the largest exponent becomes exp(0) = 1).")
    public.check_softmax(student, x)
    public.check_softmax(student, np.array([0.1, -2.0, 4.0, 0.0]))
    public.check_softmax(student, np.random.default_rng(20).standard_normal((1, 2, 3, 6)) * 10)


@check("softmax_backward", points=2)
def softmax_backward_other_shapes(student):
    """softmax_backward is right for 1-D, one-row and 3-D inputs, another dout, and peaked probabilities"""
    rng = np.random.default_rng(30)
    public.check_softmax_backward(student, rng.standard_normal(6), seed=4)
    public.check_softmax_backward(student, rng.standard_normal((1, 7)), seed=5)
    public.check_softmax_backward(student, rng.standard_normal((2, 3, 4)), seed=6)
    public.check_softmax_backward(student, rng.standard_normal((2, 5)) * 4, seed=7)
    public.check_softmax_backward_values(student, rng.standard_normal((3, 5)) * 30, rng.standard_normal((3, 5)),
                                         atol=1e-12)


@check("relative_error", points=2)
def relative_error_edges(student):
    """relative_error gives 0 for two zeros (no warning), 2 for a sign flip, and works at 1e-200"""
    zeros = np.zeros((2, 3))
    got = no_warnings("relative_error", "on two zero arrays", lambda: student.relative_error(zeros, zeros.copy()),
                      "0 / 0: floor the denominator, max(|a|, |b|, 1e-300).")
    expect_true(got is not None and np.ndim(got) == 0 and float(got) == 0.0,
                f"relative_error of two zero arrays should be 0, got {got!r}. Floor the denominator with 1e-300 "
                "(max(|a|, |b|, 1e-300)) so that 0 / 0 never happens.")
    public.check_relative_error(student, np.array([0.5, -1.0]), np.array([-0.5, -1.0]),
                                " A sign flip gives |a - b| / max(|a|, |b|) = 2.")
    for a, b in [(1e-200, 2e-200), (2e-200, 1e-200)]:
        public.check_relative_error(student, np.array([a, 3.0]), np.array([b, 3.0]),
                                    " Relative error does not depend on the scale, nor on the order of a and b: "
                                    "1e-200 against 2e-200 is 0.5.")
    public.check_relative_error(student, np.array([0.0, 1.0]), np.array([1e-3, 1.0]),
                                " Against an exact zero the relative error is 1, whatever the other value.")
    got = student.relative_error(np.array([[4.0]]), np.array([[5.0]]))
    expect_true(isinstance(got, (float, np.floating)) and abs(float(got) - 0.2) < 1e-12,
                f"relative_error should return one float (here 0.2), got {got!r}")
