"""Public checks for lesson 02 (gradient checking). Run them with `python -m minigen grade . --public-only`."""

import numpy as np

from minigen.grading import SOFTMAXES, check, expect_close, expect_gradients, expect_true
from minigen.kernels.softmax import softmax_backward as kernel_softmax_backward
from minigen.kernels.softmax import softmax_forward as kernel_softmax_forward

# What each exercise may not take from minigen (the worker replaces these before the student's file loads).
FORBIDDEN = {
    "numeric_gradient": ["minigen.gradcheck._central_differences"],
    "softmax": SOFTMAXES,
    "softmax_backward": ["minigen.kernels.softmax.softmax_backward",
                         "minigen.kernels.softmax.log_softmax_backward",
                         "minigen.kernels.attention.scaled_dot_product_attention_backward",
                         "minigen.autograd.engine.backward"],
    "relative_error": ["minigen.gradcheck._rel"],
}


# ---------------------------------------------------------------------------- numeric_gradient

def check_numeric_gradient_smooth(student, shape, seed):
    """numeric_gradient of sum(x sin x) matches sin x + x cos x, and x comes back unchanged."""
    x = np.random.default_rng(seed).standard_normal(shape)
    before = x.copy()
    grad = student.numeric_gradient(lambda x: np.sum(np.sin(x) * x), x)
    if grad is not None and np.shape(grad) == x.shape and not np.allclose(x, before, rtol=0, atol=1e-12):
        j = tuple(int(i) for i in np.argwhere(~np.isclose(x, before, rtol=0, atol=1e-12))[0])
        expect_true(False, f"numeric_gradient changed its input: x{list(j)} was {before[j]:.10g} and is "
                           f"{x[j]:.10g} afterwards. Put each element back (x[j] = old) before perturbing the next "
                           "one; otherwise every later element is measured at a shifted point.")
    expect_close("numeric_gradient", "grad", grad, np.sin(before) + before * np.cos(before),
                 atol=1e-7, rtol=1e-6)


def check_central(student, x, eps):
    """For f = sum(x^3) the central difference is exactly 3x^2 + eps^2: only a central difference with this eps gives it."""
    got = student.numeric_gradient(lambda x: np.sum(x ** 3), x.copy(), eps=eps)
    want = 3 * x ** 2 + eps ** 2
    expect_true(got is not None and np.shape(got) == x.shape,
                f"numeric_gradient returned {type(got).__name__} of shape {np.shape(got)}; expected an array "
                f"shaped like x, {x.shape}")
    got = np.asarray(got, dtype=np.float64)
    if np.allclose(got, want, rtol=1e-7, atol=1e-9):
        return
    hint = ""
    if np.allclose(got, 3 * x ** 2 + 3 * x * eps + eps ** 2, rtol=1e-6, atol=1e-8) or \
            np.allclose(got, 3 * x ** 2 - 3 * x * eps + eps ** 2, rtol=1e-6, atol=1e-8):
        hint = (" These are one-sided differences, (f(x + eps) - f(x)) / eps, whose error is O(eps); use the "
                "central difference (f(x + eps) - f(x - eps)) / (2 eps), whose error is O(eps^2).")
    elif np.allclose(got, 3 * x ** 2, rtol=1e-5, atol=1e-6):
        hint = f" That is the right slope for a tiny step: is the eps argument (here {eps:g}) used?"
    j = np.unravel_index(int(np.argmax(np.abs(got - want))), x.shape)
    expect_true(False, f"numeric_gradient(f, x, eps={eps:g}) for f(x) = sum(x^3): the central difference is "
                       f"exactly 3x^2 + eps^2, so element {list(map(int, j))} (x = {x[j]:.6g}) should be "
                       f"{want[j]:.10g}; got {got[j]:.10g}.{hint}")


@check("numeric_gradient", points=2)
def numeric_gradient_smooth(student):
    """numeric_gradient matches the analytic gradient of sum(x sin x) and restores x"""
    check_numeric_gradient_smooth(student, (3, 4), seed=0)


@check("numeric_gradient", points=1)
def numeric_gradient_is_central(student):
    """numeric_gradient uses central differences with the given eps"""
    check_central(student, np.array([0.5, -1.0, 2.0, 0.0]), eps=1e-3)


# ---------------------------------------------------------------------------- softmax

def check_softmax(student, x, atol=1e-10):
    before = x.copy()
    s = student.softmax(x)
    expect_true(np.array_equal(x, before), "softmax changed its input x in place; compute into a new array "
                                          "(x - x.max(...), not x -= ...)")
    expect_close("softmax", "s", s, kernel_softmax_forward(before)[0], atol=atol, rtol=1e-8)


@check("softmax", points=2)
def softmax_matches_minigen(student):
    """softmax agrees with minigen's kernel along the last axis, for 2-D and 3-D inputs"""
    rng = np.random.default_rng(1)
    check_softmax(student, rng.standard_normal((4, 6)) * 3)
    check_softmax(student, rng.standard_normal((2, 3, 5)))


# ---------------------------------------------------------------------------- softmax_backward

def check_softmax_backward(student, x, seed=0):
    """expect_gradients on the pair (minigen's softmax forward, the student's backward), random dout."""
    def forward(x):
        s, _ = kernel_softmax_forward(x)
        return s, s

    def backward(dout, s):
        return student.softmax_backward(dout, s)
    expect_gradients("softmax_backward", forward, backward, {"x": x}, seed=seed)


def check_softmax_backward_values(student, x, dout, atol=1e-10):
    s, cache = kernel_softmax_forward(x)
    dout_before = dout.copy()
    dx = student.softmax_backward(dout, s.copy())
    expect_true(np.array_equal(dout, dout_before), "softmax_backward changed dout in place; an upstream gradient "
                                                  "may be shared with other layers, so never write into it")
    expect_close("softmax_backward", "dx", dx, kernel_softmax_backward(dout, cache), atol=atol, rtol=1e-7)


@check("softmax_backward", points=3)
def softmax_backward_random_dout(student):
    """softmax_backward agrees with central differences (random upstream gradient, float64)"""
    check_softmax_backward(student, np.random.default_rng(2).standard_normal((3, 5)))


@check("softmax_backward", points=1)
def softmax_backward_matches_minigen(student):
    """softmax_backward agrees with minigen's softmax kernel on a 3-D input"""
    rng = np.random.default_rng(3)
    check_softmax_backward_values(student, rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4)))


# ---------------------------------------------------------------------------- relative_error

def reference_relative_error(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-300)))


def check_relative_error(student, a, b, why=""):
    want = reference_relative_error(a, b)
    got = student.relative_error(a, b)
    expect_true(np.ndim(got) == 0, f"relative_error returned an array of shape {np.shape(got)}; return one number, "
                                   "the largest elementwise relative error")
    got = float(got)
    expect_true(np.isclose(got, want, rtol=1e-9, atol=0),
                f"relative_error({np.array2string(np.asarray(a), precision=4)}, "
                f"{np.array2string(np.asarray(b), precision=4)}) should be {want:.6g}, got {got:.6g}.{why}")


@check("relative_error", points=1)
def relative_error_values(student):
    """relative_error is the largest |a - b| / max(|a|, |b|), the same both ways round"""
    a, b = np.array([1.0, 2.0, -3.0]), np.array([1.0, 2.2, -3.0])
    why = " The scale is the larger of |a| and |b| at each element, and the result is the largest over elements."
    check_relative_error(student, a, b, why)
    check_relative_error(student, b, a, why)
    check_relative_error(student, np.array([[1e-3, 5.0], [-2.0, 0.25]]), np.array([[2e-3, 5.5], [-2.0, 0.2]]), why)
