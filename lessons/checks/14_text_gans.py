"""Public checks for lesson 14 (text GANs). Run them with `python -m minigen grade . --public-only`.

The references are minigen's kernels (Gumbel-softmax, conv1d, max over time), central
differences in float64 with a random upstream gradient, and exact expectations over every
completion of a tiny policy (vocabulary 3, length 4) for the rollout rewards.
"""

import itertools

import numpy as np

from minigen.grading import (
    CheckFailure, case, check, expect_close, expect_close_or_name_the_slip, expect_gradients, expect_true,
    kernel_forward, same_values,
)
from minigen.kernels.conv import conv1d_forward_reference
from minigen.kernels.gumbel import gumbel_softmax_forward

# What each exercise may not take from minigen: its kernels (F.gumbel_softmax, F.conv1d, nn.Conv1d and
# F.max_over_time call them), the softmax's backward, autograd and central differences for the backward passes,
# and minigen.rl's rollouts. The worker replaces these before the student's file loads.
FORBIDDEN = {
    "gumbel_softmax": ["minigen.kernels.gumbel.gumbel_softmax_forward"],
    "gumbel_softmax_backward": ["minigen.kernels.gumbel.gumbel_softmax_backward",
                                "minigen.kernels.softmax.softmax_backward", "minigen.autograd.engine.backward",
                                "minigen.gradcheck._central_differences"],
    "conv1d_forward": ["minigen.kernels.conv.conv1d_forward", "minigen.kernels.conv.conv1d_forward_reference"],
    "conv1d_backward": ["minigen.kernels.conv.conv1d_backward", "minigen.kernels.conv.conv1d_backward_reference",
                        "minigen.autograd.engine.backward", "minigen.gradcheck._central_differences"],
    "max_over_time_backward": ["minigen.kernels.conv.max_over_time_backward", "minigen.autograd.engine.backward",
                               "minigen.gradcheck._central_differences"],
    "rollout_rewards": ["minigen.rl.rewards.rollout_rewards"],
}


# ---------------------------------------------------------------------------- diagnosis



def gumbels(shape, seed):
    u = np.random.default_rng(seed).uniform(np.finfo(float).tiny, 1.0, shape)
    return -np.log(-np.log(u))


def softmax(a):
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ---------------------------------------------------------------------------- 14.1 gumbel_softmax

def gumbel_reference(logits, g, tau, hard):
    return gumbel_softmax_forward(logits, g, tau, -1, hard)[0]


def gumbel_slips(logits, g, tau, hard):
    with np.errstate(all="ignore"):                     # a slip may overflow
        soft = {
            "It divides only the logits by tau: the noise belongs to the logits, y = softmax((logits + gumbels) / "
            "tau).": softmax(logits / tau + g),
            "It subtracts the noise: y = softmax((logits + gumbels) / tau).": softmax((logits - g) / tau),
            "It leaves out the noise: y = softmax((logits + gumbels) / tau).": softmax(logits / tau),
            "It multiplies by tau: y = softmax((logits + gumbels) / tau).": softmax((logits + g) * tau),
            "It leaves out tau: y = softmax((logits + gumbels) / tau).": softmax(logits + g),
        }
    if not hard:
        return soft
    onehot = np.eye(logits.shape[-1])
    return {**{hint: onehot[value.argmax(axis=-1)] for hint, value in soft.items()},
            "It returns the soft y: with hard=True, return the one-hot of its argmax.": softmax((logits + g) / tau)}


def check_gumbel(student, logits, g, tau, hard, rtol=1e-7):
    got = student.gumbel_softmax(logits.copy(), g.copy(), tau, hard=hard)
    expect_close_or_name_the_slip("gumbel_softmax", "y", got, gumbel_reference(logits, g, tau, hard),
                                  gumbel_slips(logits, g, tau, hard), atol=1e-9, rtol=rtol)


@check("gumbel_softmax", points=1)
def gumbel_soft_matches_minigen(student):
    """gumbel_softmax (soft) equals minigen's kernel at tau = 1, 0.5 and 3"""
    logits = np.random.default_rng(0).standard_normal((4, 6))
    for k, tau in enumerate((1.0, 0.5, 3.0)):
        with case(f"At tau = {tau}"):
            check_gumbel(student, logits, gumbels(logits.shape, k), tau, False)


@check("gumbel_softmax", points=1)
def gumbel_hard_is_the_one_hot(student):
    """gumbel_softmax(hard=True) is the one-hot of the perturbed logits' argmax"""
    logits = np.random.default_rng(1).standard_normal((5, 7))
    with case("With hard=True"):
        check_gumbel(student, logits, gumbels(logits.shape, 2), 0.7, True)


def check_gumbel_max(student, logits, n, seed):
    """The hard samples' frequencies follow softmax(logits): Pearson's chi-square, p > 1e-4."""
    V = logits.shape[-1]
    many = np.broadcast_to(logits, (n, V)).copy()
    y = np.asarray(student.gumbel_softmax(many, gumbels((n, V), seed), 1.0, hard=True), dtype=np.float64)
    expect_true(y.shape == (n, V), f"gumbel_softmax returned shape {y.shape} for logits of shape {(n, V)}")
    expected = n * softmax(logits)
    chi2 = float(np.sum((y.sum(axis=0) - expected) ** 2 / expected))
    limit = {4: 23.5, 5: 25.7, 9: 33.7}[V - 1]                 # chi-square quantiles at 1 - 1e-4
    expect_true(chi2 < limit, f"gumbel_softmax(hard=True): over {n} draws the samples' frequencies "
                              f"{np.round(y.sum(axis=0) / n, 4).tolist()} do not follow softmax(logits) = "
                              f"{np.round(softmax(logits), 4).tolist()} (chi-square {chi2:.1f} on {V - 1} degrees "
                              f"of freedom; the limit is {limit})")


@check("gumbel_softmax", points=1)
def gumbel_max_trick(student):
    """the hard samples of gumbel_softmax follow softmax(logits) (a chi-square test over 20,000 draws)"""
    check_gumbel_max(student, np.array([1.0, -0.5, 2.0, 0.0, 0.3]), 20_000, 3)


# ---------------------------------------------------------------------------- 14.2 gumbel_softmax_backward

def gumbel_backward_slips(dy, y, tau):
    dot = np.sum(dy * y, axis=-1, keepdims=True)
    by_tau = {} if tau == 1 else {                       # at tau = 1 these are right
        "It leaves out the 1 / tau of the chain rule: the forward divides by tau.": y * (dy - dot),
        "It multiplies by tau: the forward divides by tau, so the backward does too.": y * (dy - dot) * tau,
    }
    return {
        **by_tau,
        "It subtracts the mean of dy: the softmax's backward subtracts sum_k dy_k y_k.":
            y * (dy - dy.mean(axis=-1, keepdims=True)) / tau,
        "It is dy * y / tau: the softmax's backward is y * (dy - sum_k dy_k y_k).": y * dy / tau,
    }


def check_gumbel_backward(student, logits, g, tau, seed=0):
    """The student's backward on the reference's y_soft, against central differences of the soft forward."""
    def forward(lg):
        y = gumbel_reference(lg, g, tau, False)
        return y, y

    def backward(dy, y_soft):
        return student.gumbel_softmax_backward(dy, y_soft.copy(), tau)

    dy = np.random.default_rng(seed + 100).standard_normal(logits.shape)
    y = gumbel_reference(logits, g, tau, False)
    got = student.gumbel_softmax_backward(dy.copy(), y.copy(), tau)
    expect_true(got is not None, "gumbel_softmax_backward returned None: return dlogits, of the shape of dy")
    hints = [hint for hint, wrong in gumbel_backward_slips(dy, y, tau).items() if same_values(got, wrong)]
    try:
        expect_gradients("gumbel_softmax_backward", forward, backward, {"logits": logits}, seed=seed)
    except CheckFailure as e:           # the worst element with its analytic and numeric value, then the slip
        raise CheckFailure(" ".join([str(e)] + hints)) from None
    expect_true(not hints, f"gumbel_softmax_backward returned a wrong dlogits. {' '.join(hints)}")


@check("gumbel_softmax_backward", points=2)
def gumbel_backward_matches_central_differences(student):
    """gumbel_softmax_backward agrees with central differences of the soft forward, at tau = 1 and 0.5"""
    logits = np.random.default_rng(4).standard_normal((3, 5))
    for k, tau in enumerate((1.0, 0.5)):
        with case(f"At tau = {tau}"):
            check_gumbel_backward(student, logits, gumbels(logits.shape, 5 + k), tau, seed=k)


# ---------------------------------------------------------------------------- 14.3 conv1d_forward

def conv_inputs(B=2, C=3, T=7, O=4, K=3, seed=0):
    rng = np.random.default_rng(seed)
    return {"x": rng.standard_normal((B, C, T)), "W": rng.standard_normal((O, C, K)), "b": rng.standard_normal(O)}


def conv_reference(x, W, b):
    return conv1d_forward_reference(x, W, b)


def conv_slips(x, W, b):
    y = conv_reference(x, W, b)[0]
    return {
        "It flips the kernel (a true convolution): deep-learning libraries compute the cross-correlation "
        "y[b, o, t] = sum W[o, c, k] x[b, c, t + k], with k running forwards.":
            conv_reference(x, W[:, :, ::-1], b)[0],
        "It leaves out the bias b (one per output channel).": y - b[:, None],
        "It adds the bias once per tap: add b once.": y + (W.shape[2] - 1) * b[:, None],
    }


def check_conv_forward(student, inputs):
    x, W, b = (a.copy() for a in inputs.values())
    result = student.conv1d_forward(x, W, b)
    expect_true(isinstance(result, tuple) and len(result) == 2,
                "conv1d_forward must return a tuple (y, cache)")
    expect_close_or_name_the_slip("conv1d_forward", "y", result[0], conv_reference(*inputs.values())[0],
                                  conv_slips(*inputs.values()), atol=1e-9, rtol=1e-7)


@check("conv1d_forward", points=2)
def conv_forward_matches_minigen(student):
    """conv1d_forward agrees with minigen's conv1d kernel (and so with PyTorch's Conv1d)"""
    with case("For x (2, 3, 7) and W (4, 3, 3)"):
        check_conv_forward(student, conv_inputs())
    with case("For x (3, 5, 9) and W (2, 5, 4)"):
        check_conv_forward(student, conv_inputs(3, 5, 9, 2, 4, seed=1))


# ---------------------------------------------------------------------------- 14.4 conv1d_backward

def check_conv_backward(student, inputs, seed=0):
    expect_gradients("conv1d_backward", kernel_forward(student.conv1d_forward), student.conv1d_backward, inputs,
                     reference=conv_reference, seed=seed)


@check("conv1d_backward", points=3)
def conv_backward_matches_central_differences(student):
    """conv1d_backward agrees with central differences (random upstream gradient, float64)"""
    check_conv_backward(student, conv_inputs(seed=2))


# ---------------------------------------------------------------------------- 14.5 max_over_time_backward

def mot_reference(dy, x):
    dx = np.zeros_like(x)
    np.put_along_axis(dx, x.argmax(axis=2)[:, :, None], dy[:, :, None], axis=2)
    return dx


def mot_slips(dy, x):
    T = x.shape[2]
    return {
        "It gives dy to every position that reaches the maximum: at a tie, the output moves by dy, not by "
        "dy times the number of ties; give it to the first (np.argmax's choice).":
            np.where(x == x.max(axis=2, keepdims=True), dy[:, :, None], 0.0),
        "It spreads dy over every time step: only the winning position moved the output.":
            np.repeat(dy[:, :, None], T, axis=2),
        "It spreads dy / T over time (the backward of a mean): only the winning position moved the output.":
            np.repeat(dy[:, :, None] / T, T, axis=2),
        "It gives dy to the smallest value: the gradient goes to the argmax.":
            np.where(np.arange(T) == x.argmin(axis=2)[:, :, None], dy[:, :, None], 0.0),
    }


def check_mot(student, dy, x):
    got = student.max_over_time_backward(dy.copy(), x.copy())
    expect_close_or_name_the_slip("max_over_time_backward", "dx", got, mot_reference(dy, x), mot_slips(dy, x),
                                  atol=1e-12, rtol=1e-12)


def check_mot_gradients(student, x, seed=0):
    def forward(x):
        return x.max(axis=2), x
    expect_gradients("max_over_time_backward", forward, student.max_over_time_backward, {"x": x}, seed=seed)


@check("max_over_time_backward", points=1)
def mot_matches_central_differences(student):
    """max_over_time_backward agrees with central differences of x.max(axis=2)"""
    check_mot_gradients(student, np.random.default_rng(6).standard_normal((2, 3, 5)))


@check("max_over_time_backward", points=1)
def mot_routes_to_the_first_winner(student):
    """max_over_time_backward sends dy to the argmax only, the first one at a tie"""
    x = np.array([[[1.0, 3.0, 3.0, 2.0], [0.5, -1.0, 0.5, 0.5]], [[-2.0, -3.0, -1.0, -1.5], [4.0, 4.0, 4.0, 4.0]]])
    check_mot(student, np.array([[1.5, -2.0], [0.7, 3.0]]), x)


# ---------------------------------------------------------------------------- 14.6 rollout_rewards

def deterministic_completer(T, V, log):
    """complete(prefixes): each prefix followed by tokens that depend on all of it (no randomness)."""
    def complete(prefixes):
        prefixes = np.asarray(prefixes)
        log.append(prefixes.copy())
        M, L = prefixes.shape
        out = np.zeros((M, T), dtype=np.int64)
        out[:, :L] = prefixes
        for t in range(L, T):
            out[:, t] = (out[:, :t] * (np.arange(t) + 2)).sum(axis=1) % V       # a hash of everything before
        return out
    return complete


def table_score(T, V, seed):
    """score(sequences): a fixed random number for every possible sequence."""
    values = np.random.default_rng(seed).standard_normal(V ** T)

    def score(sequences):
        sequences = np.asarray(sequences)
        return values[sequences @ (V ** np.arange(T - 1, -1, -1))]
    return score, values


def rollout_slips(ids, complete, score, N):
    B, T = ids.shape
    per_prefix = np.stack([score(complete(ids[:, :t + 1])) for t in range(T)], axis=1)             # (B, T)
    without = np.stack([score(complete(ids[:, :t])) for t in range(T - 1)] + [score(ids)], axis=1)
    tiled = np.stack([np.tile(score(complete(ids[:, :t + 1])), N).reshape(B, N).mean(axis=1) for t in range(T - 1)]
                     + [score(ids)], axis=1)
    return per_prefix, {
        "Q[:, t] completes ids[:, :t] (t tokens); the token at t is the action being judged: complete "
        "ids[:, :t + 1], which includes it.": without,
        "It sums the rollouts' scores: take their mean.": np.concatenate([per_prefix[:, :-1] * N, per_prefix[:, -1:]],
                                                                        axis=1),
        "Its rows are mixed up: np.tile lays out copies of the whole batch one after another, so "
        "reshape(B, N) groups different rows; np.repeat(..., axis=0) puts each row's N copies together.": tiled,
    }


def check_rollouts_exact(student, ids, V, N, seed):
    """With a completer that does not draw, every rollout of a prefix gives the same score: Q is exact."""
    B, T = ids.shape
    log = []
    complete = deterministic_completer(T, V, log)
    score, _ = table_score(T, V, seed)
    got = student.rollout_rewards(ids.copy(), complete, score, N)
    expected, slips = rollout_slips(ids, deterministic_completer(T, V, []), score, N)
    expect_close_or_name_the_slip("rollout_rewards", "Q", got, expected, slips, atol=1e-12, rtol=1e-10)
    completed = {}
    for prefixes in log:
        for row in prefixes:
            completed[tuple(row)] = completed.get(tuple(row), 0) + 1
    for b in range(B):
        for t in range(T - 1):
            n = completed.get(tuple(ids[b, :t + 1]), 0)
            times = "once" if n == 1 else f"{n} times"
            expect_true(n == N, f"rollout_rewards completed the prefix ids[{b}, :{t + 1}] {times}; each prefix needs "
                                f"num_rollouts = {N} fresh completions")


def tiny_policy(seed, V=3):
    """A table of next-token probabilities (V + 1, V); row V is the start state."""
    logits = 1.5 * np.random.default_rng(seed).standard_normal((V + 1, V))
    return softmax(logits)


def check_rollouts_unbiased(student, ids, N, seed):
    """With completions drawn from a tiny policy, Q is within 5 standard errors of E[score | prefix]."""
    V = 3
    B, T = ids.shape
    probs = tiny_policy(seed, V)
    draws = np.random.default_rng(seed + 1)
    score, values = table_score(T, V, seed + 2)

    def complete(prefixes):
        prefixes = np.asarray(prefixes)
        M, L = prefixes.shape
        out = np.zeros((M, T), dtype=np.int64)
        out[:, :L] = prefixes
        for t in range(L, T):
            cdf = np.cumsum(probs[out[:, t - 1]], axis=1)
            out[:, t] = np.minimum((draws.random((M, 1)) > cdf).sum(axis=1), V - 1)
        return out

    got = np.asarray(student.rollout_rewards(ids.copy(), complete, score, N), dtype=np.float64)
    expect_true(got.shape == (B, T), f"rollout_rewards returned shape {got.shape}; expected {(B, T)}")
    everything = np.array(list(itertools.product(range(V), repeat=T)))          # (V^T, T)
    weights = np.ones(len(everything))
    for t in range(1, T):
        weights *= probs[everything[:, t - 1], everything[:, t]]
    scores = values[everything @ (V ** np.arange(T - 1, -1, -1))]
    for b in range(B):
        for t in range(T - 1):
            same = np.all(everything[:, :t + 1] == ids[b, :t + 1], axis=1)
            w = weights[same] / weights[same].sum()                             # p(completion | prefix)
            mean = np.sum(w * scores[same])
            se = np.sqrt(np.sum(w * (scores[same] - mean) ** 2) / N)
            z = (got[b, t] - mean) / max(se, 1e-12)
            expect_true(abs(z) < 5, f"rollout_rewards: Q[{b}, {t}] = {got[b, t]:.5g}, but the exact expected score "
                                    f"of the completions of ids[{b}, :{t + 1}] is {mean:.5g}, {abs(z):.1f} standard "
                                    f"errors away (num_rollouts = {N}): is each completion drawn afresh, and "
                                    "averaged?")
    expect_close("rollout_rewards", "Q[:, -1] (the score of the whole sequence)", got[:, -1], score(ids),
                 atol=1e-12, rtol=1e-10)


@check("rollout_rewards", points=2)
def rollouts_are_exact_without_randomness(student):
    """rollout_rewards completes each prefix ids[:, :t + 1] num_rollouts times and averages the scores"""
    ids = np.array([[1, 3, 1, 4, 2], [0, 1, 1, 0, 3], [4, 4, 4, 2, 2]])          # no two rows share a prefix
    check_rollouts_exact(student, ids, V=5, N=3, seed=7)


@check("rollout_rewards", points=2)
def rollouts_estimate_the_expected_score(student):
    """rollout_rewards is within 5 standard errors of the exact E[score | prefix] (enumeration of a tiny policy)"""
    ids = np.array([[0, 2, 1, 1], [1, 1, 0, 2], [2, 0, 2, 0]])
    check_rollouts_unbiased(student, ids, N=400, seed=8)
