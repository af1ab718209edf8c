"""Hidden checks for lesson 07: other shapes, padding, fully masked rows, huge scores. They stay with the instructor."""

import warnings

import numpy as np

from minigen.grading import check, expect_true, public_checks

public = public_checks(__file__)


def padding_mask(lengths, T_k):
    """(B, 1, T_k): True for the first lengths[b] keys of row b (padding on the right)."""
    return (np.arange(T_k)[None, :] < np.asarray(lengths)[:, None])[:, None, :]


def left_padded_causal(lengths, T):
    """(B, T, T): the causal mask AND padding on the left; the first queries of a short row see no key at all."""
    keep = np.arange(T)[None, :] >= (T - np.asarray(lengths))[:, None]            # (B, T)
    return np.tril(np.ones((T, T), dtype=bool))[None] & keep[:, None, :]


def no_warnings(function, call):
    """Run call(), failing with a diagnosis if NumPy warns (overflow, 0/0)."""
    with warnings.catch_warnings(), np.errstate(under="ignore"):     # exp(-1e4) = 0 is right, not a problem
        warnings.simplefilter("error")
        try:
            return call()
        except RuntimeWarning as w:
            expect_true(False, f"{function} warns ({w}). Subtract each row's maximum score before np.exp, and for a "
                               "row whose keys are all masked use 0 instead of its maximum -inf and divide by 1 "
                               "instead of its sum 0, so that no inf - inf or 0 / 0 is ever formed.")


@check("causal_mask", points=1)
def causal_mask_other_sizes(student):
    """causal_mask is right for T = 1 and T = 7"""
    public.check_causal_mask(student, 1)
    public.check_causal_mask(student, 7)


@check("attention_forward", points=1)
def forward_other_shapes(student):
    """attention_forward works for 3 queries over 5 keys, values of another width, and a padding mask"""
    inputs = public.attention_inputs(B=3, T_q=3, T_k=5, d=4, d_v=2, seed=11)
    public.check_forward(student, inputs)
    public.check_forward(student, inputs, padding_mask([5, 2, 4], 5))


@check("attention_forward", points=2)
def forward_extremes(student):
    """attention_forward stays exact for scores around 1e4, and gives 0 for rows whose keys are all masked"""
    big = public.attention_inputs(B=2, T_q=4, T_k=4, d=4, seed=12, q_scale=1e4)
    no_warnings("attention_forward on scores around 1e4",
                lambda: student.attention_forward(big["q"].copy(), big["k"].copy(), big["v"].copy()))
    public.check_forward(student, big)
    inputs = public.attention_inputs(B=2, T_q=5, T_k=5, d=3, seed=13)
    mask = left_padded_causal([5, 3], 5)
    no_warnings("attention_forward with a fully masked row",
                lambda: student.attention_forward(inputs["q"].copy(), inputs["k"].copy(), inputs["v"].copy(), mask))
    public.check_forward(student, inputs, mask)


@check("attention_backward", points=2)
def backward_other_shapes(student):
    """attention_backward is right for T_q != T_k with padding, fully masked rows, and large scores"""
    public.check_backward(student, public.attention_inputs(B=2, T_q=3, T_k=5, d=4, d_v=2, seed=21),
                          padding_mask([5, 3], 5), seed=5)
    public.check_backward(student, public.attention_inputs(B=2, T_q=5, T_k=5, d=3, seed=22),
                          left_padded_causal([5, 2], 5), seed=6)
    public.check_backward(student, public.attention_inputs(B=1, T_q=4, T_k=6, d=2, seed=23, q_scale=4.0), seed=7)
