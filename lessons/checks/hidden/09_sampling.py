"""Hidden checks for lesson 09: ties, k >= V, p = 1, tiny p, huge logits, -inf, penalties < 1. Instructor only."""


import numpy as np

from minigen.grading import case, check, public_checks

public = public_checks(__file__)


@check("top_k_filter", points=2)
def top_k_edge_cases(student):
    """top_k_filter with ties at the k-th logit, k = 1, k = V, k > V, logits ~1e4 and -inf inputs"""
    rng = np.random.default_rng(10)
    tied = np.array([[1.0, 3.0, 2.0, 0.0, 2.0], [5.0, 5.0, 5.0, 1.0, 0.0]])
    with case("For logits [[1, 3, 2, 0, 2], [5, 5, 5, 1, 0]] and k = 2 (ties with the k-th are kept)"):
        public.check_top_k(student, tied, 2)
    x = rng.standard_normal((4, 9))
    for k in (1, 9, 50):
        with case(f"For logits of shape (4, 9) and k = {k}"):
            public.check_top_k(student, x, k)
    with case("For logits ~1e4 and k = 3"):
        public.check_top_k(student, rng.standard_normal((2, 6)) * 1e4, 3)
    with case("For logits that already hold -inf and k = 2"):
        public.check_top_k(student, np.array([0.5, -np.inf, 2.0, -np.inf, 1.0, -1.0]), 2)


@check("top_p_filter", points=3)
def top_p_edge_cases(student):
    """top_p_filter with p = 1, a tiny p, ties at the boundary, logits ~1e4, -inf inputs and a batch of one"""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((4, 12)) * 2
    with case("For p = 1.0 (every token is kept)"):
        public.check_top_p(student, x, 1.0)
    with case("For p = 1e-6 (only the most likely token is kept)"):
        public.check_top_p(student, x, 1e-6)
    with case("For logits [2, 1, 1, 0] and p = 0.6 (the two tied 1s are both kept)"):
        public.check_top_p(student, np.array([2.0, 1.0, 1.0, 0.0]), 0.6)
    with case("For logits [3, 3, 0, -1] and p = 0.1 (the two tied maxima are both kept)"):
        public.check_top_p(student, np.array([3.0, 3.0, 0.0, -1.0]), 0.1)
    with case("For logits ~1e4 and p = 0.9"):
        public.check_top_p(student, np.array([[1e4, 1e4 - 1.0, 1e4 - 2.0, 0.0, -1e4]]), 0.9)
    with case("For logits that already hold -inf and p = 0.9"):
        public.check_top_p(student, np.array([0.5, -np.inf, 2.0, -np.inf, 1.0, -1.0]), 0.9)
    with case("For logits of shape (1, 30) and p = 0.5"):
        public.check_top_p(student, rng.standard_normal((1, 30)), 0.5)


@check("repetition_penalty", points=2)
def repetition_penalty_edge_cases(student):
    """repetition_penalty with repeated ids, penalty < 1, zero and negative logits, 1-D input, huge logits"""
    rng = np.random.default_rng(12)
    with case("For 1-D logits [1, 2, -2, 0.5, 0] with previous_ids [1, 2, 2, 4, 1] and penalty 2"):
        public.check_penalty(student, np.array([1.0, 2.0, -2.0, 0.5, 0.0]), np.array([1, 2, 2, 4, 1]), 2.0)
    x, ids = rng.standard_normal((3, 10)) * 3, rng.integers(0, 10, size=(3, 7))
    with case("For logits of shape (3, 10) with penalty 0.5 (< 1 makes seen tokens likelier)"):
        public.check_penalty(student, x, ids, 0.5)
    with case("For logits ~1e4 with penalty 1.2"):
        public.check_penalty(student, x * 3e3, ids, 1.2)
    with case("For rows with different histories, previous_ids [[0, 0, 0], [9, 8, 7], [3, 9, 3]]"):
        public.check_penalty(student, x, np.array([[0, 0, 0], [9, 8, 7], [3, 9, 3]]), 1.7)
