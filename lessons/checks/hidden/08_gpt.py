"""Hidden checks for lesson 08: other shapes, eps, large inputs, other blocks, dropout. Kept by the instructor."""

import warnings

import numpy as np

from minigen.grading import check, expect_close, expect_true, public_checks

public = public_checks(__file__)


@check("layer_norm_forward", points=1)
def ln_forward_other_shapes(student):
    """layer_norm_forward works on a 2-D input, a single row, and honours eps"""
    public.check_ln_forward(student, public.ln_inputs(shape=(4, 6), seed=11))
    public.check_ln_forward(student, public.ln_inputs(shape=(1, 1, 3), seed=12))
    public.check_ln_forward(student, public.ln_inputs(shape=(3, 4), seed=13, spread=0.2), eps=0.1)


@check("layer_norm_forward", points=1)
def ln_forward_extremes(student):
    """layer_norm_forward is exact for inputs around 1e6, and gives beta for a constant row"""
    x = public.ln_inputs(shape=(3, 8), seed=14, offset=1e6, spread=1.0)
    y_ref, _ = public.reference_layer_norm(x["x"], (8,), x["gamma"], x["beta"], 1e-5)
    y, _ = student.layer_norm_forward(x["x"].copy(), x["gamma"].copy(), x["beta"].copy())
    if not np.allclose(y, y_ref, atol=1e-6, rtol=1e-5):
        expect_true(False, "layer_norm_forward loses precision for inputs around 1e6 with a spread of 1: compute the "
                           "variance from the centred values, mean((x - mu)^2), not as mean(x^2) - mu^2, whose two "
                           "terms near 1e12 cancel to rounding error")
    const = {"x": np.full((2, 5), 3.0), "gamma": np.arange(1.0, 6.0), "beta": np.linspace(-1, 1, 5)}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            public.check_ln_forward(student, const)
        except RuntimeWarning as w:
            expect_true(False, f"layer_norm_forward warns on a constant row ({w}); add eps to the variance "
                               "inside the square root, so that a zero variance divides by sqrt(eps)")


@check("layer_norm_backward", points=2)
def ln_backward_other_shapes(student):
    """layer_norm_backward is right for a 2-D input, a 4-D input, and another eps"""
    public.check_ln_backward(student, public.ln_inputs(shape=(4, 6), seed=21), seed=5)
    public.check_ln_backward(student, public.ln_inputs(shape=(2, 2, 2, 3), seed=22), seed=6)
    public.check_ln_backward(student, public.ln_inputs(shape=(3, 4), seed=23, spread=0.3), eps=0.05, seed=7)


@check("block_forward", points=1)
def block_other_configuration(student):
    """block_forward matches Block.forward, gradients included, for 4 heads, no biases, and one sequence of 7"""
    block = public.make_block(n_embd=12, n_head=4, bias=False, seed=31)
    public.check_block_values(student, block, B=1, T=7, seed=31)
    public.check_block_gradients(student, block, B=1, T=7, seed=32)
    block = public.make_block(n_embd=6, n_head=3, seed=33)
    public.check_block_gradients(student, block, B=3, T=1, seed=33)


@check("block_forward", points=1)
def block_with_dropout(student):
    """with dropout on (training mode, same random seed), block_forward matches Block.forward"""
    block = public.make_block(dropout=0.5, seed=41)
    out, _, out_ref, _ = public.run_student_and_block(student, block, B=2, T=6, seed=41)
    if not np.allclose(out, out_ref, atol=1e-6, rtol=1e-5):
        expect_true(False, "block_forward differs from Block.forward when dropout is on: apply block.drop to the "
                           "attention output before adding it to x, and call the submodules in the order "
                           "ln_1, attn, drop, ln_2, mlp, so that the same random masks are drawn")
    expect_close("block_forward", "output", out, out_ref)
