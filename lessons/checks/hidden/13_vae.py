"""Hidden checks for lesson 13: extreme means and log-variances, other shapes, schedule edge cases."""


import numpy as np

from minigen.grading import check, expect_close, public_checks

public = public_checks(__file__)

# logvar from "certain" (-800: exp underflows to 0) to "very unsure" (700 for the KL, 800 for z: exp(400) is finite)
MU = np.array([[0.0, -1e3, 1e3, 3.0, -0.5], [1e6, -1e6, 0.0, 2.0, 7.0]])
LOGVAR_Z = np.array([[-800.0, -50.0, 0.0, 50.0, 800.0], [800.0, -800.0, 1.0, -1.0, 300.0]])
LOGVAR_KL = np.array([[-800.0, -50.0, 0.0, 50.0, 700.0], [-300.0, -800.0, 1.0, -1.0, 300.0]])


@check("reparameterize", points=1)
def reparameterize_extremes(student):
    """reparameterize is finite and exact for |mu| up to 1e6 and logvar from -800 to 800, without warnings"""
    eps = np.random.default_rng(4).standard_normal(MU.shape)
    public.no_warnings("reparameterize", lambda: public.check_reparameterize(student, MU, LOGVAR_Z, eps),
                       "Compute the standard deviation as exp(0.5 * logvar), which is finite up to logvar = 1419; "
                       "exp(logvar), and so sqrt(exp(logvar)), overflows above 709.8.")
    public.check_reparameterize(student, np.array([[0.3]]), np.array([[-2.0]]), np.array([[1.5]]))


@check("gaussian_kl", points=2)
def kl_extremes_and_shapes(student):
    """gaussian_kl is finite and exact for |mu| up to 1e6, logvar from -800 to 700, and for one row or one dimension"""
    public.no_warnings("gaussian_kl", lambda: public.check_kl(student, MU, LOGVAR_KL, rtol=1e-12),
                       "Use logvar itself in the formula: exp(logvar) underflows to 0 for logvar = -800, and "
                       "log(exp(logvar)) is then log(0) = -inf.")
    rng = np.random.default_rng(5)
    public.check_kl(student, rng.standard_normal((1, 6)), rng.standard_normal((1, 6)))
    public.check_kl(student, rng.standard_normal((5, 1)), rng.standard_normal((5, 1)))


@check("gaussian_kl_backward", points=2)
def kl_backward_extremes_and_shapes(student):
    """gaussian_kl_backward is right for other shapes, and exact without warnings at extreme mu and logvar"""
    public.check_kl_backward(student, public.gaussian_inputs(B=1, Z=6, seed=21), seed=5)
    public.check_kl_backward(student, public.gaussian_inputs(B=5, Z=2, seed=22), seed=6)
    dkl = np.array([0.5, -2.0])
    grads = public.no_warnings("gaussian_kl_backward",
                               lambda: student.gaussian_kl_backward(dkl, MU.copy(), LOGVAR_KL.copy()),
                               "Use exp(logvar) directly; nothing here needs a log or a division.")
    dmu_ref, dlogvar_ref = public.kl_grad_reference(dkl, MU, LOGVAR_KL)
    expect_close("gaussian_kl_backward", "dmu", grads[0], dmu_ref, atol=1e-12, rtol=1e-12)
    expect_close("gaussian_kl_backward", "dlogvar", grads[1], dlogvar_ref, atol=1e-12, rtol=1e-12)


@check("kl_weight", points=1)
def schedule_edge_cases(student):
    """kl_weight handles a warm-up of 1 step, no warm-up (0 or negative: always 1), fractions and huge steps"""
    public.check_kl_weight(student, [0, 1, 2, 10**12], 1)
    public.check_kl_weight(student, [0, 1, 7], 0)
    public.check_kl_weight(student, [0, 3], -5)
    public.check_kl_weight(student, [0, 1, 2, 3, 4], 3)
