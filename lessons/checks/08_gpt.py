"""Public checks for lesson 08 (a GPT built from blocks). Run them with `python -m minigen grade . --public-only`."""

import numpy as np

import minigen
from minigen.grading import CheckFailure, check, expect_close, expect_gradients, expect_true, kernel_forward
from minigen.kernels.layernorm import layer_norm_forward as reference_layer_norm
from minigen.models import GPTConfig
from minigen.models.gpt import Block

# What each exercise may not take from minigen: its layer-norm kernel (F.layer_norm and nn.LayerNorm call it)
# with its row helpers and its cache-free twin for generation, autograd and the central differences
# for the gradients, and the GPT block's own forward. The worker replaces these before the student's file loads.
# (The block's submodules run in the grader, which lends them to block_forward.)
LAYER_NORM = ["minigen.kernels.layernorm.layer_norm_forward", "minigen.kernels.layernorm._forward_rows",
              "minigen.kernels.layernorm.layer_norm"]
FORBIDDEN = {
    "layer_norm_forward": LAYER_NORM,
    "layer_norm_backward": LAYER_NORM + ["minigen.kernels.layernorm.layer_norm_backward",
                                         "minigen.kernels.layernorm._backward_rows", "minigen.autograd.engine.backward",
                                         "minigen.gradcheck._central_differences"],
    "block_forward": ["minigen.models.gpt.Block.forward"],
}


# ---------------------------------------------------------------------------- layer norm

def ln_inputs(shape=(2, 3, 5), seed=0, offset=0.0, spread=2.0):
    rng = np.random.default_rng(seed)
    C = shape[-1]
    return {"x": rng.standard_normal(shape) * spread + offset, "gamma": rng.standard_normal(C),
            "beta": rng.standard_normal(C)}


def check_ln_forward(student, inputs, eps=1e-5, atol=1e-6, rtol=1e-5):
    x, gamma, beta = inputs["x"], inputs["gamma"], inputs["beta"]
    y_ref, _ = reference_layer_norm(x, (x.shape[-1],), gamma, beta, eps)
    result = student.layer_norm_forward(x.copy(), gamma.copy(), beta.copy(), eps=eps)
    expect_true(isinstance(result, tuple) and len(result) == 2, "layer_norm_forward must return a tuple (y, cache)")
    expect_close("layer_norm_forward", "y", result[0], y_ref, atol=atol, rtol=rtol)


def check_ln_backward(student, inputs, eps=1e-5, seed=0):
    def reference(x, gamma, beta):
        return reference_layer_norm(x, (x.shape[-1],), gamma, beta, eps)
    expect_gradients("layer_norm_backward", kernel_forward(student.layer_norm_forward, eps=eps),
                     student.layer_norm_backward, inputs, reference=reference, seed=seed)


# ---------------------------------------------------------------------------- the block

def make_block(n_embd=8, n_head=2, bias=True, dropout=0.0, seed=0):
    """A float64 GPT Block with random values in every parameter (a fresh LayerNorm's 1 and 0 hide mistakes)."""
    config = GPTConfig(vocab_size=10, block_size=16, n_layer=1, n_head=n_head, n_embd=n_embd, bias=bias,
                       dropout=dropout)
    block = Block(config, dtype="float64")
    rng = np.random.default_rng(seed)
    for p in block.parameters():
        p.data = rng.standard_normal(p.shape) * 0.3
    return block


def _run(fn, block, x_data, dout, rng_seed):
    """fn(x) and the gradients of sum(out * dout) for x and every parameter."""
    block.zero_grad()
    x = minigen.tensor(x_data, requires_grad=True)
    minigen.manual_seed(rng_seed)                    # the same dropout masks for both runs
    out = fn(x)
    if not isinstance(out, minigen.Tensor):
        raise CheckFailure(f"block_forward returned {type(out).__name__}; return the minigen Tensor (B, T, C) that "
                           "the submodules give, so that autograd can run the backward pass")
    (out * minigen.tensor(dout)).sum().backward()
    return out.numpy(), {"x": x.grad, **{name: p.grad for name, p in block.named_parameters()}}


def _not_causal(x, block):
    a = block.ln_1(x)
    attn, _ = block.attn(a, a, a, need_weights=False)
    x = x + block.drop(attn)
    return x + block.mlp(block.ln_2(x))


def _refuse(*args, **kwargs):
    raise CheckFailure("block_forward called the block itself (block(x) or block.forward); build it from "
                       "block.ln_1, block.attn, block.drop, block.ln_2 and block.mlp instead")


def run_student_and_block(student, block, B=2, T=5, seed=0):
    """(student's output, student's grads, the block's output, the block's grads) on random x and dout."""
    rng = np.random.default_rng(seed)
    C = block.ln_1.normalized_shape[0]
    x_data, dout = rng.standard_normal((B, T, C)), rng.standard_normal((B, T, C))
    out_ref, grads_ref = _run(block, block, x_data, dout, seed)
    block.forward = _refuse                          # an instance attribute hides Block.forward
    try:
        out, grads = _run(lambda x: student.block_forward(x, block), block, x_data, dout, seed)
    finally:
        del block.forward
    if not np.allclose(out, out_ref, atol=1e-6, rtol=1e-5):
        with minigen.no_grad():
            minigen.manual_seed(seed)
            leaky = _not_causal(minigen.tensor(x_data), block).numpy()
        if np.allclose(out, leaky, atol=1e-6, rtol=1e-5):
            raise CheckFailure("block_forward lets every position attend to later positions: call the attention "
                               "with is_causal=True, or the model can read the token it has to predict")
    return out, grads, out_ref, grads_ref


RECIPE = ("The block is a = ln_1(x); x = x + drop(attn(a, a, a, is_causal=True)[0]); x = x + mlp(ln_2(x)): "
          "each residual adds its branch to the un-normalised x.")


def check_block_values(student, block, **kw):
    out, _, out_ref, _ = run_student_and_block(student, block, **kw)
    try:
        expect_close("block_forward", "output", out, out_ref)
    except CheckFailure as e:
        raise CheckFailure(f"{e} {RECIPE}") from None


CUT = ("Your output is right, so the graph is cut somewhere: keep minigen Tensors all the way from x to the "
       "output, with no .numpy(), .detach() or minigen.tensor(...) in between.")


def check_block_gradients(student, block, **kw):
    out, grads, out_ref, grads_ref = run_student_and_block(student, block, **kw)
    values_right = np.allclose(out, out_ref, atol=1e-6, rtol=1e-5)
    missing = [name for name in grads_ref if grads[name] is None]
    expect_true(not missing, f"block_forward: no gradient reached {', '.join(missing)}. Every parameter of the block "
                             "takes part in its forward pass, and x reaches the output along the residual path and "
                             f"through both branches. {CUT if values_right else RECIPE}")
    for name, g_ref in grads_ref.items():
        try:
            expect_close("block_forward", f"{name}.grad", grads[name], g_ref)
        except CheckFailure as e:
            raise CheckFailure(f"{e} (after a backward pass through block_forward, compared with one through "
                               f"Block.forward) {CUT if values_right else RECIPE}") from None


# ---------------------------------------------------------------------------- checks

@check("layer_norm_forward", points=2)
def ln_forward_matches_minigen(student):
    """layer_norm_forward agrees with minigen's layer norm kernel on a (2, 3, 5) input"""
    check_ln_forward(student, ln_inputs())


@check("layer_norm_backward", points=3)
def ln_backward_matches_central_differences(student):
    """layer_norm_backward's dx, dgamma and dbeta agree with central differences (random upstream gradient)"""
    check_ln_backward(student, ln_inputs(seed=1))


@check("block_forward", points=1)
def block_values_match(student):
    """block_forward gives the same output as the Block's own forward"""
    check_block_values(student, make_block())


@check("block_forward", points=2)
def block_gradients_match(student):
    """after a backward pass, x and every parameter of the block get the same gradient as through Block.forward"""
    check_block_gradients(student, make_block(seed=1), seed=1)
