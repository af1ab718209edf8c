"""Public checks for lesson 06 (the GRU). Run them with `python -m minigen grade . --public-only`."""

import numpy as np

from minigen.grading import GRU_GATES, check, expect_close, expect_gradients, expect_true
from minigen.kernels.gru import gru_cell_forward

# What each exercise may not take from minigen: its GRU kernels and the step helpers they share (F.gru,
# F.gru_cell, nn.GRU and nn.GRUCell call them), and autograd for the gradients. The worker replaces these
# before the student's file loads.
FORBIDDEN = {
    "gru_step_forward": ["minigen.kernels.gru.gru_cell_forward", "minigen.kernels.gru.gru_forward",
                         "minigen.kernels.gru.gru_forward_reference", "minigen.kernels.gru._step_forward"],
    "gru_step_backward": ["minigen.kernels.gru.gru_cell_backward", "minigen.kernels.gru.gru_backward",
                          "minigen.kernels.gru.gru_backward_reference", "minigen.kernels.gru._step_backward",
                          "minigen.autograd.engine.backward"],
}


def gru_inputs(B=3, C=4, H=5, seed=0):
    rng = np.random.default_rng(seed)
    return {"x": rng.standard_normal((B, C)), "h_prev": rng.standard_normal((B, H)),
            "W_ih": rng.standard_normal((3 * H, C)) * 0.5, "W_hh": rng.standard_normal((3 * H, H)) * 0.5,
            "b_ih": rng.standard_normal(3 * H) * 0.5, "b_hh": rng.standard_normal(3 * H) * 0.5}


def _sigmoid(a):
    return 0.5 * np.tanh(0.5 * a) + 0.5


def other_conventions(x, h_prev, W_ih, W_hh, b_ih, b_hh):
    """h under the GRU conventions that are NOT PyTorch's, each with what to tell a student who used it."""
    H = h_prev.shape[1]
    gi, gh0 = x @ W_ih.T + b_ih, h_prev @ W_hh.T               # (B, 3H) each, gh0 without its bias
    r = _sigmoid(gi[:, :H] + gh0[:, :H] + b_hh[:H])
    z = _sigmoid(gi[:, H:2 * H] + gh0[:, H:2 * H] + b_hh[H:2 * H])
    n = np.tanh(gi[:, 2 * H:] + r * (gh0[:, 2 * H:] + b_hh[2 * H:]))
    n_out = np.tanh(gi[:, 2 * H:] + r * gh0[:, 2 * H:] + b_hh[2 * H:])
    n_cho = np.tanh(gi[:, 2 * H:] + (r * h_prev) @ W_hh[2 * H:].T + b_hh[2 * H:])
    n_swap = np.tanh(gi[:, 2 * H:] + z * (gh0[:, 2 * H:] + b_hh[2 * H:]))     # z's block used as the reset gate
    return [
        (z * n + (1 - z) * h_prev,
         "h mixes n and h_prev the other way round: PyTorch's GRU is h = (1 - z) * n + z * h_prev "
         "(z = 1 keeps the old state)"),
        ((1 - z) * n_out + z * h_prev,
         "b_hn is added outside the reset gate; in PyTorch's GRU it sits inside: "
         "n = tanh(x W_in^T + b_in + r * (h_prev W_hn^T + b_hn))"),
        ((1 - z) * n_cho + z * h_prev,
         "the reset gate multiplies h_prev before the product (Cho et al.'s form); PyTorch's GRU applies it "
         "after: r * (h_prev W_hn^T + b_hn)"),
        ((1 - r) * n_swap + r * h_prev,
         "the r and z blocks are swapped: the packed order is r, z, n (rows [0:H] reset, [H:2H] update)"),
    ]


def check_gru_forward(student, inputs):
    h, _ = student.gru_step_forward(*inputs.values())
    h_ref, _ = gru_cell_forward(*inputs.values())
    got = np.asarray(h)
    if got.shape == h_ref.shape and not np.allclose(got, h_ref, atol=1e-6, rtol=1e-5):
        for h_other, message in other_conventions(*inputs.values()):
            expect_true(not np.allclose(got, h_other, atol=1e-6, rtol=1e-5), f"gru_step_forward: {message}.")
    expect_close("gru_step_forward", "h", h, h_ref)


def untouched_dh(backward):
    """``backward`` run on a copy of dh, failing if the student's code changed it in place."""
    def run(dh, cache):
        sent = dh.copy()
        grads = backward(sent, cache)
        expect_true(np.array_equal(sent, dh),
                    "gru_step_backward changed the dh array it was given (an in-place `*=` or `+=` on it?). "
                    "The caller still needs it; compute into new arrays instead, e.g. `dn = dh * (1 - z)`.")
        return grads
    return run


def check_gru_backward(student, inputs, seed=0):
    expect_gradients("gru_step_backward", student.gru_step_forward, untouched_dh(student.gru_step_backward),
                     inputs, reference=gru_cell_forward, blocks=GRU_GATES, seed=seed)


@check("gru_step_forward", points=2)
def forward_matches_minigen(student):
    """gru_step_forward agrees with minigen's GRU cell kernel (PyTorch's convention)"""
    check_gru_forward(student, gru_inputs())


@check("gru_step_backward", points=3)
def backward_matches_central_differences(student):
    """gru_step_backward agrees with central differences (random upstream gradient, float64)"""
    check_gru_backward(student, gru_inputs())
