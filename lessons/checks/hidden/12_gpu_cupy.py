"""Hidden checks for lesson 12: other shapes, float32, extreme logits, edge cases. They stay with the instructor."""

import warnings

import numpy as np

from minigen.grading import check, expect_true, public_checks

public = public_checks(__file__)


@check("logsumexp", points=1)
def logsumexp_extremes(student):
    """logsumexp is finite and exact for logits of +-1e4, without overflow warnings, on NumPy and device1"""
    x = np.array([[1e4, 1e4, 1e4], [-1e4, -1e4 + 1.0, -1e4], [1e4, -1e4, 0.0], [0.0, 0.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            public.check_logsumexp(student, x, rtol=1e-12, atol=1e-9)
        except RuntimeWarning as w:
            expect_true(False, f"logsumexp warns for logits of 1e4 ({w}): exp(x) overflowed. Subtract the row "
                               "maximum before exp; it cancels exactly.")


@check("logsumexp", points=1)
def logsumexp_other_shapes(student):
    """logsumexp reduces only the last axis of a 3-D input and of a single row, and keeps float32"""
    rng = np.random.default_rng(7)
    public.check_logsumexp(student, rng.standard_normal((2, 3, 5)) * 4)
    public.check_logsumexp(student, rng.standard_normal(6))
    public.check_logsumexp(student, rng.standard_normal((3, 9)) * 10, dtype="float32", atol=1e-4, rtol=1e-5)


@check("one_hot", points=1)
def one_hot_edge_cases(student):
    """one_hot works for one class, one row, int32 ids and repeated ids, on NumPy and device1"""
    public.check_one_hot(student, np.array([0, 0, 0]), 1)
    public.check_one_hot(student, np.array([6]), 7)
    public.check_one_hot(student, np.array([2, 2, 0, 5, 2], dtype=np.int32), 6)
