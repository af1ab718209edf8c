"""Hidden checks for lesson 15: other shapes and sizes, large offsets, extreme log-ratios, edge cases."""

import numpy as np

from minigen.grading import case, check, expect_close, expect_no_warnings, expect_true, public_checks

public = public_checks(__file__)


@check("reinforce_surrogate", points=1)
def surrogate_other_shapes(student):
    """reinforce_surrogate is right for one sequence, one token, long sequences and negative rewards"""
    rng = np.random.default_rng(11)
    for B, T in [(1, 7), (6, 1), (3, 40)]:
        with case(f"For log_probs of shape ({B}, {T})"):
            public.check_surrogate_value(student, np.log(rng.uniform(0.01, 1.0, (B, T))), rng.normal(-3.0, 2.0, B),
                                         float(rng.normal()))
    with case("For integer rewards and an integer baseline"):
        public.check_surrogate_value(student, np.log(rng.uniform(0.01, 1.0, (4, 3))), np.array([1, 0, 2, 1]), 1)


@check("reinforce_surrogate", points=2)
def surrogate_gradient_with_per_sequence_baselines(student):
    """the gradient of reinforce_surrogate is minus the REINFORCE estimate with a baseline per sequence"""
    theta = public.tiny_theta(12)
    ys = public.ALL[np.random.default_rng(13).integers(0, len(public.ALL), 9)]
    rewards = np.random.default_rng(14).normal(-1.0, 2.0, 9)
    public.check_surrogate_gradient(student, theta, ys, rewards, np.random.default_rng(15).normal(0.0, 1.0, 9), seed=3)


@check("leave_one_out_baseline", points=2)
def loo_sizes_and_offsets(student):
    """leave_one_out_baseline is right for two samples, 64 samples, rewards near 1e8 and integer rewards"""
    with case("For B = 2 (each baseline is the other's reward)"):
        public.check_loo(student, np.array([4.0, -1.0]))
    with case("For B = 64"):
        public.check_loo(student, np.random.default_rng(16).normal(0.0, 3.0, 64))
    with case("For rewards near 1e8"):
        public.check_loo(student, 1e8 + np.array([0.5, -2.0, 1.0, 3.0]), rtol=1e-12)
    with case("For integer rewards"):
        public.check_loo(student, np.array([1, 0, 0, 2, 1]))


@check("group_advantages", points=2)
def group_advantages_edge_cases(student):
    """group_advantages handles one group, eps given, large offsets and equal groups without warnings"""
    rng = np.random.default_rng(17)
    with case("For one group of 8"):
        public.check_group(student, rng.normal(0.0, 1.0, 8), 8)
    with case("With eps = 0.5"):
        public.check_group(student, rng.normal(0.0, 1.0, 12), 3, eps=0.5)
    with case("For rewards near 1e6 with small differences"):
        public.check_group(student, 1e6 + rng.normal(0.0, 0.01, 12), 4, rtol=1e-5)
    with case("For integer rewards, two groups of 3 (the second all equal)"):
        got = expect_no_warnings("group_advantages", lambda: student.group_advantages(np.array([0, 1, 5, 2, 2, 2]), 3),
                          "A group of equal rewards has std 0: (r - mean) / (std + eps) is 0 / eps = 0.")
        expect_close("group_advantages", "advantages", got,
                     public.rl.group_advantages(np.array([0.0, 1.0, 5.0, 2.0, 2.0, 2.0]), 3), atol=1e-9, rtol=1e-7)


@check("returns_to_go", points=2)
def rtg_edge_cases(student):
    """returns_to_go handles one token, one sequence, gamma = 0, long sequences and integer rewards"""
    rng = np.random.default_rng(18)
    with case("For one token per sequence"):
        public.check_rtg(student, rng.normal(0.0, 1.0, (4, 1)))
    with case("For one sequence of 50 tokens, gamma = 0.5"):
        public.check_rtg(student, rng.normal(0.0, 1.0, (1, 50)), 0.5)
    with case("With gamma = 0 (each token's own reward)"):
        public.check_rtg(student, rng.normal(0.0, 1.0, (2, 5)), 0.0)
    with case("For integer rewards (a lipogram's -1 and 0)"):
        public.check_rtg(student, -(rng.integers(0, 3, (3, 8)) == 0).astype(np.int64))
    with case("On another tiny policy"):
        public.check_rtg_unbiased(student, public.tiny_theta(19))


@check("kl_k3", points=2)
def k3_extremes_and_shapes(student):
    """kl_k3 is exact for log-ratios from -700 to 700, for 1-D and 3-D inputs, is 0 where p = p_ref, and >= 0"""
    lp = np.array([[0.0, -700.0, -1e-3, -5.0, -30.0]])
    ref = np.array([[-700.0, 0.0, -2e-3, -5.0, -0.5]])
    with case("For log-ratios r from -700 to 700"):
        expect_no_warnings("kl_k3", lambda: public.check_k3(student, lp, ref, atol=1e-9, rtol=1e-9),
                    "exp(r) is finite for r up to 709; nothing here needs a division or a log.")
    rng = np.random.default_rng(20)
    with case("For 1-D inputs (T,)"):
        public.check_k3(student, np.log(rng.uniform(0.01, 1, 6)), np.log(rng.uniform(0.01, 1, 6)))
    with case("For inputs of shape (2, 3, 4)"):
        public.check_k3(student, np.log(rng.uniform(0.01, 1, (2, 3, 4))), np.log(rng.uniform(0.01, 1, (2, 3, 4))))
    same = np.log(rng.uniform(0.01, 1, (3, 4)))
    with case("Where the two models agree"):
        expect_close("kl_k3", "k3", student.kl_k3(same.copy(), same.copy()), np.zeros((3, 4)), atol=1e-15, rtol=0)
    x = np.log(rng.uniform(1e-4, 1, (5, 20)))
    y = np.log(rng.uniform(1e-4, 1, (5, 20)))
    got = np.asarray(student.kl_k3(x, y), dtype=np.float64)
    expect_true(got.shape == x.shape and bool(np.all(got >= 0)), "kl_k3 returned a negative value: k3 = exp(r) - r - 1 "
                                                                  "is never negative, since exp(r) >= 1 + r")
    with case("For a peaked p against a flat p_ref (V = 50)"):
        p = np.exp(3.0 * rng.standard_normal(50))
        public.check_k3_expectation(student, p / p.sum(), np.full(50, 1 / 50))
