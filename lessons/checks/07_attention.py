"""Public checks for lesson 07 (attention). Run them with `python -m minigen grade . --public-only`."""

import numpy as np

from minigen.grading import check, expect_close, expect_gradients, expect_true, kernel_forward
from minigen.kernels.attention import causal_mask as reference_causal_mask
from minigen.kernels.attention import scaled_dot_product_attention_forward

# What each exercise may not take from minigen: its attention kernels and their masked softmax
# (F.scaled_dot_product_attention, F.multi_head_attention_forward and nn.MultiheadAttention call them; the
# kernel's weights are a causal mask too), and autograd for the gradients. The plain softmax kernels stay
# allowed: they are lesson 02's building blocks. The worker replaces these before the student's file loads.
ATTENTION_FORWARD = ["minigen.kernels.attention.scaled_dot_product_attention_forward",
                     "minigen.kernels.attention.scaled_dot_product_attention_composed",
                     "minigen.kernels.attention._softmax_rows"]
FORBIDDEN = {
    "causal_mask": ["minigen.kernels.attention.causal_mask"] + ATTENTION_FORWARD,
    "attention_forward": ATTENTION_FORWARD,
    "attention_backward": ["minigen.kernels.attention.scaled_dot_product_attention_backward",
                           "minigen.autograd.engine.backward"],
}


def attention_inputs(B=2, T_q=4, T_k=4, d=3, d_v=3, seed=0, q_scale=1.0):
    rng = np.random.default_rng(seed)
    return {"q": rng.standard_normal((B, T_q, d)) * q_scale, "k": rng.standard_normal((B, T_k, d)),
            "v": rng.standard_normal((B, T_k, d_v))}


def check_causal_mask(student, T):
    got = np.asarray(student.causal_mask(T))
    want = reference_causal_mask(T, T, np.zeros(1))
    expect_true(got.shape == (T, T), f"causal_mask({T}) returned shape {got.shape}; expected ({T}, {T})")
    expect_true(got.dtype == bool, f"causal_mask({T}) returned dtype {got.dtype}; return a boolean array, True "
                                   "where query i may attend to key j (np.ones((T, T), dtype=bool) is a start)")
    if T > 1 and np.array_equal(got, ~want):
        expect_true(False, f"causal_mask({T}) has the convention inverted: True must mean 'may attend' (as in "
                           "minigen's and PyTorch's scaled_dot_product_attention), so the diagonal and below are True")
    if T > 1 and np.array_equal(got, want.T):
        expect_true(False, f"causal_mask({T}) is transposed: row i is the query and column j the key, and query i "
                           "may see keys j <= i, so True lies on and BELOW the diagonal (np.tril)")
    expect_close("causal_mask", f"causal_mask({T})", got, want)


def check_forward(student, inputs, mask=None):
    q, k, v = inputs["q"], inputs["k"], inputs["v"]
    (out_ref, weights_ref), _ = scaled_dot_product_attention_forward(q, k, v, attn_mask=mask)
    result = student.attention_forward(q.copy(), k.copy(), v.copy(), None if mask is None else mask.copy())
    expect_true(isinstance(result, tuple) and len(result) == 3,
                "attention_forward must return a tuple (out, weights, cache)")
    out, weights, _ = result
    expect_close("attention_forward", "weights", weights, weights_ref)
    expect_close("attention_forward", "out", out, out_ref)


def reference_attention(mask):
    """minigen's attention as an ``(out, cache)`` forward of q, k and v, with ``mask`` fixed."""
    def forward(q, k, v):
        (out, _), cache = scaled_dot_product_attention_forward(q, k, v, attn_mask=mask)
        return out, cache
    return forward


def check_backward(student, inputs, mask=None, seed=0):
    expect_gradients("attention_backward", kernel_forward(student.attention_forward, outputs=[0], mask=mask),
                     student.attention_backward, inputs, reference=reference_attention(mask), seed=seed)


@check("causal_mask", points=1)
def causal_mask_matches_minigen(student):
    """causal_mask(4) is the boolean lower triangle, True where query i may attend to key j <= i"""
    check_causal_mask(student, 4)


@check("attention_forward", points=2)
def forward_matches_minigen(student):
    """attention_forward's out and weights agree with minigen's kernel, without a mask and with the causal mask"""
    inputs = attention_inputs()
    check_forward(student, inputs)
    check_forward(student, inputs, reference_causal_mask(4, 4, np.zeros(1)))


@check("attention_backward", points=3)
def backward_matches_central_differences(student):
    """attention_backward agrees with central differences under the causal mask (random upstream gradient)"""
    check_backward(student, attention_inputs(seed=1), reference_causal_mask(4, 4, np.zeros(1)))
