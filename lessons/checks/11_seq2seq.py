"""Public checks for lesson 11 (seq2seq with attention). Run them with `python -m minigen grade . --public-only`."""

import numpy as np

import minigen
from minigen.grading import check, expect_close, expect_true
from minigen.models.seq2seq import Seq2Seq
from minigen.models.seq2seq import teacher_forcing_prob as minigen_teacher_forcing_prob


# What each exercise may not take from minigen: Seq2Seq's attention, its schedule and its coins.
# The worker replaces these before the student's file loads.
FORBIDDEN = {
    "additive_attention": ["minigen.models.seq2seq.Seq2Seq.attention"],
    "teacher_forcing_prob": ["minigen.models.seq2seq.teacher_forcing_prob"],
    "choose_decoder_inputs": ["minigen.models.seq2seq.Seq2Seq._coins"],
}


# ---------------------------------------------------------------------------- additive attention

def attention_inputs(B=3, S=6, H=5, D=8, A=4, lengths=None, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    lengths = [S] * B if lengths is None else lengths
    return dict(query=rng.standard_normal((B, H)), keys=rng.standard_normal((B, S, D)),
                W_q=rng.standard_normal((A, H)) * scale, W_k=rng.standard_normal((A, D)) * scale,
                v=rng.standard_normal(A) * scale, mask=np.arange(S)[None, :] < np.array(lengths)[:, None])


def reference_attention(query, keys, W_q, W_k, v, mask=None):
    """The formula, one source position at a time, with a max-shifted softmax."""
    B, S, _ = keys.shape
    e = np.empty((B, S))
    for j in range(S):
        e[:, j] = np.tanh(query @ W_q.T + keys[:, j] @ W_k.T) @ v
    if mask is not None:
        e[~mask] = -np.inf
    w = np.exp(e - e.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    return (w[:, :, None] * keys).sum(axis=1), w


def minigen_attention(query, keys, W_q, W_k, v, mask):
    """minigen's Seq2Seq.attention with these weights (its key-side bias set to 0), in float64."""
    H, D, A = query.shape[1], keys.shape[2], v.shape[0]
    model = Seq2Seq(5, 5, embed_dim=2, hidden_size=H, attn_dim=A, bidirectional=D == 2 * H, dtype="float64")
    expect_true(D in (H, 2 * H), "internal: keys must be H or 2H wide to compare with minigen")
    model.attn_dec.weight = minigen.nn.Parameter(W_q)
    model.attn_enc.weight = minigen.nn.Parameter(W_k)
    model.attn_enc.bias = minigen.nn.Parameter(np.zeros(A))
    model.attn_v.weight = minigen.nn.Parameter(v[None, :])
    keys_t = minigen.Tensor(keys)
    context, weights = model.attention(minigen.Tensor(query), keys_t, model.attn_enc(keys_t), mask)
    return context.data, weights.data


def check_attention(student, inputs, expected, with_mask=True):
    args = dict(inputs) if with_mask else {k: x for k, x in inputs.items() if k != "mask"}
    out = student.additive_attention(**args)
    expect_true(isinstance(out, tuple) and len(out) == 2,
                f"additive_attention returned {type(out).__name__}; expected a pair (context, weights)")
    context, weights = out
    if with_mask and np.shape(weights) == inputs["mask"].shape:
        leak = np.asarray(weights)[~inputs["mask"]]
        if np.any(leak != 0):
            expect_true(False, f"additive_attention gives padding (mask False) a weight up to "
                               f"{np.abs(leak).max():.3g}; set the scores of padding to -inf before the softmax, "
                               "so that its weight is exactly 0")
    expect_close("additive_attention", "weights", weights, expected[1], atol=1e-8, rtol=1e-6)
    expect_close("additive_attention", "context", context, expected[0], atol=1e-8, rtol=1e-6)


@check("additive_attention", points=2)
def attention_matches_minigen(student):
    """additive_attention agrees with minigen's Seq2Seq.attention (padding masked, keys 2H wide)"""
    inputs = attention_inputs(B=3, S=6, H=5, D=10, A=4, lengths=[6, 3, 1])
    check_attention(student, inputs, minigen_attention(**inputs))


@check("additive_attention", points=1)
def attention_without_mask(student):
    """with mask=None, additive_attention is v . tanh(W_q q + W_k k_j), softmax over j, weighted sum of keys"""
    inputs = attention_inputs(B=2, S=5, H=3, D=4, A=6, seed=1)
    check_attention(student, inputs, reference_attention(**{k: x for k, x in inputs.items() if k != "mask"}),
                    with_mask=False)


# ---------------------------------------------------------------------------- the schedule

@check("teacher_forcing_prob", points=2)
def schedule_values(student):
    """teacher_forcing_prob(step, k) = k / (k + exp(step / k)), as minigen's teacher_forcing_prob"""
    for k in (1.0, 10.0, 100.0, 1000.0):
        for step in (0, 1, 10, 100, 500, 1000, 5000):
            got = student.teacher_forcing_prob(step, k)
            expect_true(np.ndim(got) == 0, f"teacher_forcing_prob({step}, {k:g}) returned {got!r}; expected one "
                                           "number")
            expect_close("teacher_forcing_prob", f"epsilon at step {step} with k = {k:g}", np.float64(got),
                         np.float64(minigen_teacher_forcing_prob(step, k=k)), atol=1e-9, rtol=1e-7)


# ---------------------------------------------------------------------------- the coin flips

def fractions(student, p, shape=(400, 50), seed=0):
    targets, predictions = np.full(shape, 5), np.full(shape, 9)
    out = np.asarray(student.choose_decoder_inputs(targets, predictions, p, np.random.default_rng(seed)))
    expect_true(out.shape == shape, f"choose_decoder_inputs returned shape {out.shape}; expected {shape}, the "
                                    "shape of targets")
    expect_true(np.isin(out, [5, 9]).all(), "choose_decoder_inputs returned a token that is neither the target nor "
                                            "the prediction at its position")
    return out == 5


@check("choose_decoder_inputs", points=1)
def coins_extremes(student):
    """choose_decoder_inputs with p = 1 returns the targets, with p = 0 the predictions"""
    rng = np.random.default_rng(0)
    targets, predictions = rng.integers(3, 14, (6, 11)), rng.integers(3, 14, (6, 11))
    expect_close("choose_decoder_inputs", "inputs with p = 1 (teacher forcing)",
                 student.choose_decoder_inputs(targets, predictions, 1.0, np.random.default_rng(1)), targets)
    expect_close("choose_decoder_inputs", "inputs with p = 0 (free running)",
                 student.choose_decoder_inputs(targets, predictions, 0.0, np.random.default_rng(1)), predictions)


@check("choose_decoder_inputs", points=2)
def coins_statistics(student):
    """choose_decoder_inputs feeds the target at a fraction p of the positions, one coin per position"""
    gold = fractions(student, 0.5)
    uniform_rows = np.mean(gold.all(axis=1) | (~gold).all(axis=1))
    expect_true(uniform_rows < 0.05, f"choose_decoder_inputs with p = 0.5: {uniform_rows:.0%} of the rows are all "
                                     "targets or all predictions. Flip one coin per position "
                                     "(rng.random(targets.shape)), not one per row.")
    uniform_cols = np.mean(gold.all(axis=0) | (~gold).all(axis=0))
    expect_true(uniform_cols < 0.05, f"choose_decoder_inputs with p = 0.5: {uniform_cols:.0%} of the columns are "
                                     "all targets or all predictions. Flip one coin per position, not one per "
                                     "time step.")
    for p in (0.3, 0.8):
        gold = fractions(student, p)
        expect_true(abs(gold.mean() - p) < 0.02, f"choose_decoder_inputs with p = {p} fed the target at "
                    f"{gold.mean():.3f} of 20,000 positions; expected about {p} (the target where a coin of "
                    "probability p says so, else the prediction)")
