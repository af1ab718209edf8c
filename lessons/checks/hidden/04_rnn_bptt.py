"""Hidden checks for lesson 04: other shapes, one step, long sequences. They stay with the instructor."""


import numpy as np

from minigen.grading import check, expect_close, expect_true, public_checks
from minigen.kernels.rnn import rnn_backward, rnn_forward

public = public_checks(__file__)


@check("rnn_step_forward", points=1)
def step_forward_other_shapes(student):
    """rnn_step_forward works for one example, a wide input and saturating pre-activations"""
    public.check_step_forward(student, public.step_inputs(B=1, C=7, H=2, seed=11))
    inputs = public.step_inputs(B=4, C=3, H=6, seed=12)
    inputs["W_ih"] = inputs["W_ih"] * 30                      # tanh saturates at +-1
    public.check_step_forward(student, inputs)


@check("rnn_step_backward", points=2)
def step_backward_other_shapes(student):
    """rnn_step_backward is right for other shapes, a square W_ih and another upstream gradient"""
    public.check_step_backward(student, public.step_inputs(B=2, C=3, H=3, seed=21), seed=5)   # W_ih square too
    public.check_step_backward(student, public.step_inputs(B=1, C=6, H=2, seed=22), seed=6)


@check("rnn_forward", points=1)
def forward_other_lengths(student):
    """rnn_forward works for T = 1 and for a longer sequence with another batch size"""
    public.check_forward(student, public.seq_inputs(T=1, B=3, C=2, H=5, seed=31))
    public.check_forward(student, public.seq_inputs(T=12, B=1, C=4, H=3, seed=32))


@check("rnn_backward", points=2)
def backward_other_lengths(student):
    """rnn_backward is right for T = 1, T = 7 and another upstream gradient"""
    public.check_backward(student, public.seq_inputs(T=1, B=2, C=3, H=3, seed=41), seed=7)
    public.check_backward(student, public.seq_inputs(T=7, B=1, C=2, H=3, seed=42), seed=8)


@check("rnn_backward", points=2)
def backward_long_sequence_matches_minigen(student):
    """over T = 30 steps every gradient of rnn_backward agrees with minigen's BPTT kernel"""
    inputs = public.seq_inputs(T=30, B=3, C=4, H=6, seed=43)
    hs, cache = student.rnn_forward(*inputs.values())
    dhs = np.random.default_rng(44).standard_normal((30, 3, 6))
    dhs_sent = dhs.copy()
    grads = student.rnn_backward(dhs_sent, cache)
    expect_true(isinstance(grads, (tuple, list)) and len(grads) == 5,
                "rnn_backward must return the five gradients (dx, dh0, dW_ih, dW_hh, db) as a tuple")
    expect_true(np.array_equal(dhs_sent, dhs),
                "rnn_backward changed the dhs array it was given (an in-place `+=` on dhs[t]?). The caller may "
                "still need it; add into a new array instead: dh = dhs[t] + dh_next.")
    _, ref_cache = rnn_forward(*inputs.values())
    ref = rnn_backward((dhs, None), ref_cache)
    for name, got, want in zip(["dx", "dh0", "dW_ih", "dW_hh", "db"], grads, ref):
        expect_close("rnn_backward", name, got, want)
