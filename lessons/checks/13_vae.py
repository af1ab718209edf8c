"""Public checks for lesson 13 (a VAE for text). Run them with `python -m minigen grade . --public-only`."""

import warnings

import numpy as np

from minigen.grading import check, expect_close, expect_gradients, expect_true


# What each exercise may not take from minigen: the VAE's formulas, and autograd or the central differences
# for the KL's gradient. The worker replaces these before the student's file loads.
FORBIDDEN = {
    "reparameterize": ["minigen.models.vae.reparameterize"],
    "gaussian_kl": ["minigen.models.vae.kl_divergence"],
    "gaussian_kl_backward": ["minigen.models.vae.kl_divergence", "minigen.autograd.engine.backward",
                             "minigen.gradcheck._central_differences"],
    "kl_weight": ["minigen.models.vae.kl_weight"],
}


# ---------------------------------------------------------------------------- references (closed forms)

def z_reference(mu, logvar, eps):
    return mu + np.exp(0.5 * logvar) * eps


def kl_reference(mu, logvar):
    """1/2 sum_j (mu^2 + exp(logvar) - logvar - 1), per row."""
    return 0.5 * np.sum(mu * mu + np.exp(logvar) - logvar - 1.0, axis=-1)


def kl_grad_reference(dkl, mu, logvar):
    return dkl[:, None] * mu, dkl[:, None] * 0.5 * (np.exp(logvar) - 1.0)


def gaussian_inputs(B=4, Z=3, seed=0):
    rng = np.random.default_rng(seed)
    return {"mu": rng.standard_normal((B, Z)), "logvar": rng.standard_normal((B, Z))}


def no_warnings(function, fn, hint):
    """fn() with every warning turned into a failure that names ``function`` and explains ``hint``."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return fn()
        except RuntimeWarning as w:
            expect_true(False, f"{function} raised a RuntimeWarning ({w}). {hint}")


# ---------------------------------------------------------------------------- shared by the hidden checks

def check_reparameterize(student, mu, logvar, eps, rtol=1e-9):
    z = student.reparameterize(mu.copy(), logvar.copy(), eps.copy())
    expect_close("reparameterize", "z", z, z_reference(mu, logvar, eps), atol=1e-12, rtol=rtol)
    again = student.reparameterize(mu.copy(), logvar.copy(), eps.copy())
    expect_true(np.array_equal(np.asarray(z), np.asarray(again)),
                "reparameterize gave two different z for the same (mu, logvar, eps): all the randomness must "
                "come from eps, which the caller draws (do not draw new noise inside)")


def check_kl(student, mu, logvar, atol=1e-9, rtol=1e-9):
    kl = student.gaussian_kl(mu.copy(), logvar.copy())
    expect_close("gaussian_kl", "KL", kl, kl_reference(mu, logvar), atol=atol, rtol=rtol)


def check_kl_backward(student, inputs, seed=0):
    # The forward is the closed form itself, so it is the reference (an all-zeros backward disagrees with it);
    # only the student's backward is tested.
    def forward(mu, logvar):
        return kl_reference(mu, logvar), (mu, logvar)

    def backward(dkl, cache):
        return student.gaussian_kl_backward(dkl, *cache)
    expect_gradients("gaussian_kl_backward", forward, backward, inputs, seed=seed)


def beta_reference(step, warmup_steps):
    return 1.0 if warmup_steps <= 0 else min(1.0, step / warmup_steps)


def check_kl_weight(student, steps, warmup_steps):
    for s in steps:
        beta = student.kl_weight(s, warmup_steps)
        expect_true(beta is not None, f"kl_weight({s}, {warmup_steps}) returned None: return beta, a float")
        expect_true(np.ndim(beta) == 0, f"kl_weight({s}, {warmup_steps}) returned an array of shape "
                                        f"{np.shape(beta)}; return one number")
        want = beta_reference(s, warmup_steps)
        expect_true(abs(float(beta) - want) <= 1e-12,
                    f"kl_weight({s}, {warmup_steps}) returned {float(beta):.6g}, expected {want:.6g} "
                    f"(the linear schedule min(1, step / warmup_steps)"
                    + ("; warmup_steps <= 0 means no annealing, beta = 1)" if warmup_steps <= 0 else ")"))


# ---------------------------------------------------------------------------- the public checks

@check("reparameterize", points=1)
def reparameterize_values(student):
    """reparameterize returns mu + exp(logvar / 2) * eps for the given eps"""
    rng = np.random.default_rng(1)
    inputs = gaussian_inputs(seed=1)
    check_reparameterize(student, inputs["mu"], inputs["logvar"], rng.standard_normal((4, 3)))


@check("gaussian_kl", points=2)
def kl_matches_closed_form(student):
    """gaussian_kl agrees with -1/2 sum(1 + logvar - mu^2 - exp(logvar)) per row, and is 0 at the prior"""
    inputs = gaussian_inputs(seed=2)
    check_kl(student, inputs["mu"], inputs["logvar"])
    kl0 = student.gaussian_kl(np.zeros((2, 5)), np.zeros((2, 5)))
    expect_close("gaussian_kl", "KL at mu = 0, logvar = 0", kl0, np.zeros(2), atol=1e-15, rtol=0)


@check("gaussian_kl_backward", points=3)
def kl_backward_matches_central_differences(student):
    """gaussian_kl_backward agrees with central differences of the KL (random upstream gradient, float64)"""
    check_kl_backward(student, gaussian_inputs(seed=3))


@check("kl_weight", points=1)
def linear_schedule(student):
    """kl_weight is min(1, step / warmup_steps): 0 at the start, 1 after the warm-up"""
    no_warnings("kl_weight", lambda: check_kl_weight(student, [0, 1, 50, 99, 100, 101, 5000], 100),
                "Compute step / warmup_steps with Python numbers.")
