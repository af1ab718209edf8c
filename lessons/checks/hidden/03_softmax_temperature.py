"""Hidden checks for lesson 03: extreme logits, zero probabilities, other shapes. They stay with the instructor."""

import math

import numpy as np

from minigen.grading import case, check, expect_close, public_checks
from minigen.kernels.softmax import log_softmax_forward
from minigen.sample import reweight_distribution as reference_reweight

public = public_checks(__file__)
quietly = public.quietly


@check("log_softmax", points=2)
def log_softmax_extremes(student):
    """log_softmax is finite and exact for logits ~1e4, along the last axis of 1-D and 3-D arrays"""
    rng = np.random.default_rng(10)
    for x in (np.array([1e4, 0.0, -1e4]), rng.standard_normal((2, 3, 5)) * 1e4, rng.standard_normal((3, 4)) - 5e3):
        with case(f"For x of shape {x.shape} with entries up to {np.abs(x).max():.3g}"):
            got = quietly("log_softmax", student.log_softmax, x)
            expect_close("log_softmax", "log_softmax(x)", got, log_softmax_forward(x)[0], atol=1e-8, rtol=1e-10)


@check("cross_entropy", points=2)
def cross_entropy_extremes(student):
    """cross_entropy at logits ~1e4, with one row and with another shape"""
    rng = np.random.default_rng(11)
    logits, targets = rng.standard_normal((4, 9)) * 1e4, rng.integers(0, 9, size=4)
    with case("For logits ~1e4"):
        dlogits, ref_grad = public.check_loss_value(student, logits, targets)
        expect_close("cross_entropy", "dlogits", dlogits, ref_grad, atol=1e-9)
    with case("For one row (N = 1)"):
        public.check_loss_value(student, rng.standard_normal((1, 3)), np.array([2]))
    with case("For logits of shape (7, 4)"):
        public.check_loss_gradient(student, rng.standard_normal((7, 4)) * 3, rng.integers(0, 4, size=7), seed=3)


@check("entropy", points=2)
def entropy_with_zeros(student):
    """entropy with zero probabilities (0 log 0 = 0, no warnings), one-hot, uniform and batched rows"""
    p = np.array([[0.5, 0.0, 0.5, 0.0], [0.0, 1.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]])
    with case("For p = [[0.5, 0, 0.5, 0], [0, 1, 0, 0], [0.25, 0.25, 0.25, 0.25]]"):
        expect_close("entropy", "entropy(p)", quietly("entropy", student.entropy, p),
                     np.array([math.log(2), 0.0, math.log(4)]), atol=1e-12)
    q = np.random.default_rng(12).dirichlet(np.ones(5), size=(2, 3))
    with case("For p of shape (2, 3, 5)"):
        expect_close("entropy", "entropy(p)", quietly("entropy", student.entropy, q), public.reference_entropy(q))
    with case("For a 1-D p"):
        expect_close("entropy", "entropy(p)", quietly("entropy", student.entropy, q[0, 0]),
                     public.reference_entropy(q[0, 0]))


@check("reweight_distribution", points=2)
def reweight_extremes(student):
    """reweight_distribution keeps zeros at 0, gives a one-hot at T = 1e-4, no nan or warnings"""
    p = np.array([[0.5, 0.3, 0.2, 0.0], [0.0, 0.1, 0.0, 0.9], [0.25, 0.25, 0.4, 0.1]])
    for T in (1e-4, 0.01, 0.3, 1.0, 10.0, 1e3):
        with case(f"For T = {T} and p = [[0.5, 0.3, 0.2, 0], [0, 0.1, 0, 0.9], [0.25, 0.25, 0.4, 0.1]]"):
            got = quietly("reweight_distribution", student.reweight_distribution, p, T)
            expect_close("reweight_distribution", "q", got, reference_reweight(p, T), atol=1e-9)
    with case("For a 1-D p and T = 0.7"):
        got = quietly("reweight_distribution", student.reweight_distribution, p[0], 0.7)
        expect_close("reweight_distribution", "q", got, reference_reweight(p[0], 0.7))
