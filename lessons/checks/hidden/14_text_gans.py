"""Hidden checks for lesson 14: other shapes, extreme logits and temperatures, edge sizes, ties, one rollout."""

import numpy as np

from minigen.grading import case, check, expect_no_warnings, public_checks

public = public_checks(__file__)


@check("gumbel_softmax", points=2)
def gumbel_extremes_and_shapes(student):
    """gumbel_softmax is exact for logits near 1e4, tau = 0.01, 1-D and 3-D inputs, and a 10-class chi-square"""
    rng = np.random.default_rng(30)
    big = 1e4 + rng.standard_normal((3, 6))
    with case("For logits near 1e4"):
        expect_no_warnings("gumbel_softmax",
                           lambda: public.check_gumbel(student, big, public.gumbels(big.shape, 31), 1.0, False),
                           "Subtract the maximum before exp: exp(1e4) overflows.")
    small = rng.standard_normal((4, 5))
    with case("At tau = 0.01"):
        expect_no_warnings("gumbel_softmax",
                           lambda: public.check_gumbel(student, small, public.gumbels(small.shape, 32), 0.01, False),
                           "Subtract the maximum before exp: at tau = 0.01 the scaled logits are in the hundreds.")
    with case("For 1-D logits (V,)"):
        public.check_gumbel(student, rng.standard_normal(7), public.gumbels(7, 33), 0.8, False)
    with case("For logits of shape (2, 3, 4), hard=True"):
        public.check_gumbel(student, rng.standard_normal((2, 3, 4)), public.gumbels((2, 3, 4), 34), 1.5, True)
    with case("For 10 classes, hard=True"):
        public.check_gumbel_max(student, np.linspace(-2.0, 1.0, 10), 20_000, 35)


@check("gumbel_softmax_backward", points=2)
def gumbel_backward_shapes_and_temperatures(student):
    """gumbel_softmax_backward is right for 1-D and 3-D inputs and at tau = 0.1 and 4"""
    rng = np.random.default_rng(36)
    with case("For 1-D logits, tau = 0.1"):
        public.check_gumbel_backward(student, rng.standard_normal(6), public.gumbels(6, 37), 0.1, seed=1)
    with case("For logits of shape (2, 3, 4), tau = 4"):
        public.check_gumbel_backward(student, rng.standard_normal((2, 3, 4)), public.gumbels((2, 3, 4), 38), 4.0,
                                     seed=2)


@check("conv1d_forward", points=2)
def conv_forward_edge_sizes(student):
    """conv1d_forward is right for K = 1, K = T (one output step), one example and one channel"""
    for what, sizes in [("K = 1", (2, 3, 5, 4, 1)), ("K = T (T_out = 1)", (2, 3, 6, 5, 6)),
                        ("B = 1, C = 1", (1, 1, 8, 3, 3)), ("a wide kernel, K = 7 of T = 12", (3, 4, 12, 2, 7))]:
        with case(f"For {what}"):
            public.check_conv_forward(student, public.conv_inputs(*sizes, seed=40))


@check("conv1d_backward", points=3)
def conv_backward_edge_sizes(student):
    """conv1d_backward is right for K = 1, K = T, one example and one channel, and a wide kernel"""
    for what, sizes in [("K = 1", (2, 3, 5, 4, 1)), ("K = T (T_out = 1)", (2, 3, 6, 5, 6)),
                        ("B = 1, C = 1", (1, 1, 8, 3, 3)), ("a wide kernel, K = 5 of T = 9", (2, 4, 9, 3, 5))]:
        with case(f"For {what}"):
            public.check_conv_backward(student, public.conv_inputs(*sizes, seed=41), seed=3)


@check("max_over_time_backward", points=2)
def mot_shapes_and_ties(student):
    """max_over_time_backward is right for T = 1, large arrays, negative values and all-equal rows"""
    rng = np.random.default_rng(42)
    with case("For T = 1"):
        public.check_mot(student, rng.standard_normal((3, 2)), rng.standard_normal((3, 2, 1)))
    with case("For x (4, 16, 30)"):
        public.check_mot(student, rng.standard_normal((4, 16)), rng.standard_normal((4, 16, 30)))
    with case("For all-equal rows"):
        public.check_mot(student, rng.standard_normal((2, 3)), np.full((2, 3, 5), -7.0))
    with case("Against central differences, x (3, 4, 9)"):
        public.check_mot_gradients(student, rng.standard_normal((3, 4, 9)), seed=4)


@check("rollout_rewards", points=2)
def rollouts_edge_cases(student):
    """rollout_rewards is right for one rollout, one sequence, two tokens, and unbiased on another tiny policy"""
    with case("With num_rollouts = 1"):
        public.check_rollouts_exact(student, np.array([[2, 0, 1, 3], [1, 1, 2, 0]]), V=4, N=1, seed=43)
    with case("For one sequence"):
        public.check_rollouts_exact(student, np.array([[3, 1, 4, 1, 5, 0]]), V=6, N=2, seed=44)
    with case("For sequences of two tokens"):
        public.check_rollouts_exact(student, np.array([[0, 1], [2, 2], [1, 0]]), V=3, N=5, seed=45)
    with case("On another tiny policy"):
        public.check_rollouts_unbiased(student, np.array([[1, 2, 2, 0], [0, 0, 1, 1]]), N=300, seed=46)
