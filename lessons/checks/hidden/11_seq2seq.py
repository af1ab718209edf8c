"""Hidden checks for lesson 11: other shapes, extreme scores, huge steps, reproducibility. They stay with the instructor."""

import warnings

import numpy as np

from minigen.grading import check, expect_close, expect_true, public_checks
from minigen.models.seq2seq import teacher_forcing_prob as minigen_teacher_forcing_prob

public = public_checks(__file__)


def no_warnings(function, call):
    """call(), failing with a diagnosis if it warns (overflow, 0/0, ...)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return call()
        except (RuntimeWarning, OverflowError) as w:
            expect_true(False, f"{function} overflowed or warned ({type(w).__name__}: {w}). Keep every exp() "
                               "argument small: shift scores by their maximum, or rewrite the formula.")


@check("additive_attention", points=2)
def attention_other_shapes_and_large_scores(student):
    """additive_attention: one row, one source position, keys as wide as the query, and scores of about 1e4"""
    inputs = public.attention_inputs(B=1, S=1, H=4, D=4, A=3, lengths=[1], seed=5)
    public.check_attention(student, inputs, public.minigen_attention(**inputs))
    inputs = public.attention_inputs(B=4, S=9, H=3, D=6, A=7, lengths=[9, 2, 5, 1], seed=6)
    public.check_attention(student, inputs, public.minigen_attention(**inputs))
    big = public.attention_inputs(B=3, S=5, H=3, D=3, A=2, lengths=[5, 4, 2], scale=1.0, seed=7)
    big["v"] = big["v"] * 1e4                                  # scores of order 1e4: exp() overflows unshifted
    out = no_warnings("additive_attention", lambda: student.additive_attention(**big))
    expected = public.reference_attention(**big)
    expect_close("additive_attention", "weights (scores of about 1e4)", out[1], expected[1], atol=1e-8, rtol=1e-6)
    expect_close("additive_attention", "context (scores of about 1e4)", out[0], expected[0], atol=1e-8, rtol=1e-6)


@check("additive_attention", points=1)
def attention_padding_gets_nothing(student):
    """additive_attention gives padding a weight of exactly 0, and the weights of each row sum to 1"""
    inputs = public.attention_inputs(B=3, S=8, H=4, D=8, A=5, lengths=[8, 3, 1], seed=8)
    inputs["keys"][~inputs["mask"]] = 1e3                      # padding keys that would dominate if attended
    _, weights = student.additive_attention(**inputs)
    weights = np.asarray(weights)
    expect_true(np.all(weights[~inputs["mask"]] == 0), "additive_attention gives padding positions a non-zero "
                "weight; set their scores to -inf before the softmax so that exp() makes them exactly 0")
    expect_close("additive_attention", "sum of the weights of each row", weights.sum(axis=1), np.ones(3))


@check("teacher_forcing_prob", points=2)
def schedule_monotone_and_extreme(student):
    """teacher_forcing_prob decreases with the step, is 1/2 at step k ln k, and stays finite for huge steps"""
    for k in (1.0, 3.0, 50.0, 2000.0):
        steps = np.unique(np.linspace(0, 40 * k, 60).astype(int))
        eps = np.array([float(student.teacher_forcing_prob(int(s), k)) for s in steps])
        drops = np.diff(eps)
        expect_true(np.all(drops <= 1e-15), f"teacher_forcing_prob(step, k={k:g}) must never grow with the step; "
                    f"it goes from {eps[np.argmax(drops)]:.6g} to {eps[np.argmax(drops) + 1]:.6g}")
        half = k * np.log(k)
        lo, hi = int(np.floor(half)), int(np.floor(half)) + 1
        expect_true(float(student.teacher_forcing_prob(lo, k)) >= 0.5 >= float(student.teacher_forcing_prob(hi, k)),
                    f"teacher_forcing_prob(step, k={k:g}) should cross 1/2 between step {lo} and {hi} (at k ln k)")
    for step, k in [(10**6, 10.0), (10**9, 1.0), (800, 1.0), (10**7, 1000.0)]:
        got = no_warnings("teacher_forcing_prob", lambda: student.teacher_forcing_prob(step, k))
        expect_close("teacher_forcing_prob", f"epsilon at step {step} with k = {k:g}", np.float64(got),
                     np.float64(minigen_teacher_forcing_prob(step, k=k)), atol=1e-12, rtol=1e-6)


@check("choose_decoder_inputs", points=2)
def coins_reproducible_and_pure(student):
    """choose_decoder_inputs draws from the rng it is given, keeps shape and dtype, and leaves its inputs alone"""
    rng = np.random.default_rng(3)
    targets, predictions = rng.integers(3, 14, (5, 4, 11)), rng.integers(3, 14, (5, 4, 11))
    t_copy, p_copy = targets.copy(), predictions.copy()
    a = student.choose_decoder_inputs(targets, predictions, 0.5, np.random.default_rng(7))
    b = student.choose_decoder_inputs(targets, predictions, 0.5, np.random.default_rng(7))
    c = student.choose_decoder_inputs(targets, predictions, 0.5, np.random.default_rng(8))
    expect_true(np.array_equal(targets, t_copy) and np.array_equal(predictions, p_copy),
                "choose_decoder_inputs changed targets or predictions in place; return a new array")
    a = np.asarray(a)
    expect_true(a.shape == targets.shape, f"choose_decoder_inputs returned shape {a.shape} for inputs of shape "
                                          f"{targets.shape}; it must work for any shape")
    expect_true(a.dtype.kind in "iu", f"choose_decoder_inputs returned dtype {a.dtype}; token ids must stay integers")
    expect_true(np.array_equal(a, np.asarray(b)), "choose_decoder_inputs gave two different results with two "
                "generators of the same seed: draw the coins from the rng argument, not from np.random")
    expect_true(not np.array_equal(a, np.asarray(c)), "choose_decoder_inputs gave the same result for generators "
                "of different seeds: draw the coins from the rng argument")
    gold = public.fractions(student, 0.1, shape=(300, 100), seed=4)
    expect_true(abs(gold.mean() - 0.1) < 0.01, f"choose_decoder_inputs with p = 0.1 fed the target at "
                                               f"{gold.mean():.3f} of the positions; expected about 0.1")
