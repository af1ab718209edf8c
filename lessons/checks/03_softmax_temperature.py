"""Public checks for lesson 03 (softmax, cross-entropy and temperature).

Run them with `python -m minigen grade . --public-only`.
"""

import warnings

import numpy as np

import minigen
import minigen.functional as F
from minigen.grading import SOFTMAXES, check, expect_close, expect_gradients, expect_true, kernel_forward
from minigen.kernels.softmax import cross_entropy_forward, log_softmax_forward
from minigen.sample import reweight_distribution as reference_reweight

# What each exercise may not take from minigen (the worker replaces these before the student's file loads).
# entropy has no counterpart in minigen.
FORBIDDEN = {
    "log_softmax": SOFTMAXES,
    "cross_entropy": SOFTMAXES + ["minigen.kernels.softmax.cross_entropy_backward",
                                  "minigen.kernels.softmax.log_softmax_backward", "minigen.autograd.engine.backward"],
    "reweight_distribution": SOFTMAXES + ["minigen.sample.processors.reweight_distribution"],
}


def quietly(function, call, *args):
    """``call(*args)``, failing with a lesson instead of a traceback if NumPy warns (overflow, log(0), 0/0)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return call(*args)
        except RuntimeWarning as w:
            text = str(w)
            if "overflow" in text:
                hint = "exp() of a large number overflowed: subtract the row maximum before exp()"
            elif "log" in text or "divide by zero" in text:
                hint = "log() saw a 0: keep zeros away from log() with np.where"
            else:
                hint = ("a 0/0 or inf/inf (all of a row's exp() underflowed to 0, or overflowed?): subtract the "
                        "row maximum before exp(), so that the largest term is exactly 1")
            expect_true(False, f"{function} made NumPy warn ({text}); {hint}")


def reference_entropy(p):
    """-sum p log p over the last axis, for rows with no zeros."""
    return -np.sum(p * np.log(p), axis=-1)


def reference_cross_entropy(logits, targets):
    """minigen's loss and its autograd gradient."""
    z = minigen.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(z, targets)
    loss.backward()
    return loss.item(), z.grad


def check_loss_value(student, logits, targets):
    given = logits.copy()
    out = quietly("cross_entropy", student.cross_entropy, given, targets)
    expect_true(np.array_equal(given, logits), "cross_entropy changed the logits it was given (an in-place "
                                               "-= or /= on the input?); work on new arrays")
    expect_true(isinstance(out, tuple) and len(out) == 2,
                "cross_entropy must return a pair (loss, dlogits), got "
                f"{type(out).__name__}{'' if not isinstance(out, tuple) else ' of length ' + str(len(out))}")
    loss, dlogits = out
    loss = np.asarray(loss, dtype=np.float64)
    expect_true(loss.size == 1, f"cross_entropy returned a loss of shape {loss.shape}; it must be one number, "
                                "the mean over the N rows")
    ref_loss, ref_grad = reference_cross_entropy(logits, targets)
    expect_close("cross_entropy", "loss", loss.reshape(()), np.asarray(ref_loss))
    return dlogits, ref_grad


def check_loss_gradient(student, logits, targets, seed=0):
    """dlogits is the cache, and the backward is the chain rule dloss * dlogits; the targets stay fixed."""
    def backward(dloss, dlogits):
        return dloss * dlogits
    expect_gradients("cross_entropy", kernel_forward(student.cross_entropy, targets=targets), backward,
                     {"logits": logits}, reference=lambda logits: cross_entropy_forward(logits, targets), seed=seed)


@check("log_softmax", points=2)
def log_softmax_values(student):
    """log_softmax agrees with minigen's log-softmax kernel on a (4, 7) array"""
    x = np.random.default_rng(0).standard_normal((4, 7)) * 3
    expect_close("log_softmax", "log_softmax(x)", quietly("log_softmax", student.log_softmax, x),
                 log_softmax_forward(x)[0])


@check("cross_entropy", points=3)
def cross_entropy_value_and_gradient(student):
    """cross_entropy's loss matches F.cross_entropy and dlogits matches central differences"""
    rng = np.random.default_rng(1)
    logits, targets = rng.standard_normal((5, 6)) * 2, rng.integers(0, 6, size=5)
    check_loss_value(student, logits, targets)
    check_loss_gradient(student, logits, targets)


@check("entropy", points=1)
def entropy_values(student):
    """entropy of a few strictly positive distributions, in nats"""
    p = np.random.default_rng(2).dirichlet(np.ones(6), size=3)
    expect_close("entropy", "entropy(p)", quietly("entropy", student.entropy, p), reference_entropy(p))


@check("reweight_distribution", points=2)
def reweight_values(student):
    """reweight_distribution agrees with minigen.sample.reweight_distribution at T = 0.5, 1 and 2"""
    p = np.random.default_rng(3).dirichlet(np.ones(5), size=2)
    for T in (0.5, 1.0, 2.0):
        expect_close("reweight_distribution", f"q = reweight_distribution(p, {T})",
                     quietly("reweight_distribution", student.reweight_distribution, p, T),
                     reference_reweight(p, T))
