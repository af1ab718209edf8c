"""Public checks for lesson 15 (RL fine-tuning). Run them with `python -m minigen grade . --public-only`.

The references are minigen.rl's functions where minigen has one, closed forms, and exact
expectations over every sequence of a tiny policy (vocabulary 3, length 3: 27 sequences).
"""

import itertools

import numpy as np

import minigen
from minigen import rl
from minigen.grading import (
    case, check, expect_close, expect_close_or_name_the_slip, expect_gradients, expect_true, same_values,
)


# What each exercise may not take from minigen: its counterpart in minigen.rl. The worker replaces these before
# the student's file loads. (The leave-one-out baseline and the returns-to-go have no counterpart to call.)
FORBIDDEN = {
    "reinforce_surrogate": ["minigen.rl.policy.reinforce_loss"],
    "group_advantages": ["minigen.rl.policy.group_advantages"],
    "kl_k3": ["minigen.rl.policy.kl_penalty"],
}


# ---------------------------------------------------------------------------- the tiny policy of the lesson

V3, T3, START = 3, 3, 3
ALL = np.array(list(itertools.product(range(V3), repeat=T3)))        # (27, 3): every sequence


def tiny_theta(seed):
    """Logits (4, 3): row a gives the next token after token a, row 3 the first token."""
    return np.random.default_rng(seed).standard_normal((V3 + 1, V3))


def tiny_log_softmax(theta):
    z = theta - theta.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def tiny_previous(ys):
    return np.concatenate([np.full((len(ys), 1), START), ys[:, :-1]], axis=1)


def tiny_token_log_probs(theta, ys):
    """log p(y_t | y_<t): (N, 3) -> (N, 3)."""
    return tiny_log_softmax(theta)[tiny_previous(ys), ys]


def tiny_token_grads(theta, ys):
    """d log p(y_t | y_<t) / d theta: (N, 3) -> (N, 3, 4, 3)."""
    probs = np.exp(tiny_log_softmax(theta))
    prev = tiny_previous(ys)
    grads = np.zeros(ys.shape + theta.shape)
    n, t = np.meshgrid(np.arange(len(ys)), np.arange(T3), indexing="ij")
    grads[n, t, prev] = np.eye(V3)[ys] - probs[prev]
    return grads


# ---------------------------------------------------------------------------- diagnosis



# ---------------------------------------------------------------------------- 15.1 reinforce_surrogate

def surrogate_reference(log_probs, rewards, baseline):
    return rl.reinforce_loss(minigen.tensor(log_probs), np.asarray(rewards, dtype=np.float64),
                             baseline=baseline).item()


def surrogate_slips(log_probs, rewards, baseline):
    A = rewards - np.broadcast_to(baseline, rewards.shape)                     # (B,)
    seq = log_probs.sum(axis=1)                                                # (B,)
    B, T = log_probs.shape
    return {
        "It has the opposite sign: optimizers minimise, so the loss is MINUS the mean of (R - b) log p(y).":
            np.mean(A * seq),
        "It is the mean over tokens: log p(y) is the SUM of the tokens' log-probabilities.": -np.mean(A * seq) / T,
        "It sums over the batch: take the mean over the B sequences (1/B sum_b).": -np.sum(A * seq),
        "It ignores the baseline it was given: the advantage is rewards - baseline.": -np.mean(rewards * seq),
        "It uses the batch's mean reward instead of the baseline it was given.":
            -np.mean((rewards - rewards.mean()) * seq),
        "It adds the baseline: the advantage is rewards - baseline.":
            -np.mean((rewards + np.broadcast_to(baseline, rewards.shape)) * seq),
    }


def check_surrogate_value(student, log_probs, rewards, baseline):
    got = student.reinforce_surrogate(log_probs.copy(), rewards.copy(), baseline)
    expect_true(got is not None, "reinforce_surrogate returned None: return the loss, a number")
    expect_true(np.ndim(got) == 0, f"reinforce_surrogate returned an array of shape {np.shape(got)}; "
                                   "return one number, the loss averaged over the batch")
    expect_close_or_name_the_slip("reinforce_surrogate", "loss", np.float64(got),
                                  surrogate_reference(log_probs, rewards, baseline),
                                  surrogate_slips(log_probs, rewards, baseline))


def check_surrogate_gradient(student, theta, ys, rewards, baseline, seed=0):
    """d loss / d theta (central differences through the tiny policy's log p) = -(REINFORCE estimate)."""
    B = len(ys)
    b = np.broadcast_to(np.asarray(baseline, dtype=np.float64), (B,))
    estimate = np.einsum("n,nij->ij", rewards - b, tiny_token_grads(theta, ys).sum(axis=1)) / B

    def forward(th):
        loss = student.reinforce_surrogate(tiny_token_log_probs(th, ys), rewards.copy(), baseline)
        return np.asarray(loss, dtype=np.float64), None

    def backward(dloss, cache):
        return -dloss * estimate

    with case("The gradient of your loss with respect to the policy's logits theta, by central differences "
              "through log p ('numeric'), must be minus the REINFORCE estimate 1/B sum_b (R_b - b_b) "
              "grad log p(y_b) ('analytic')"):
        expect_gradients("reinforce_surrogate", forward, backward, {"theta": theta.copy()}, seed=seed)


@check("reinforce_surrogate", points=1)
def surrogate_matches_reinforce_loss(student):
    """reinforce_surrogate equals minigen.rl.reinforce_loss, with a baseline per batch and per sequence"""
    rng = np.random.default_rng(1)
    log_probs = np.log(rng.uniform(0.05, 1.0, (5, 4)))
    rewards = rng.normal(2.0, 1.0, 5)
    with case("With baseline = 0.7"):
        check_surrogate_value(student, log_probs, rewards, 0.7)
    with case("With one baseline per sequence, (B,)"):
        check_surrogate_value(student, log_probs, rewards, rng.normal(2.0, 1.0, 5))
    with case("With the default baseline"):
        got = student.reinforce_surrogate(log_probs.copy(), rewards.copy())
        expect_close("reinforce_surrogate", "loss", np.float64(got), surrogate_reference(log_probs, rewards, 0.0),
                     atol=1e-9, rtol=1e-7)


@check("reinforce_surrogate", points=2)
def surrogate_gradient_is_the_estimator(student):
    """by central differences through a tiny policy, reinforce_surrogate's gradient is minus the REINFORCE estimate"""
    theta = tiny_theta(2)
    ys = ALL[np.random.default_rng(3).integers(0, len(ALL), 6)]
    rewards = np.random.default_rng(4).normal(3.0, 1.0, 6)
    check_surrogate_gradient(student, theta, ys, rewards, 2.5)


# ---------------------------------------------------------------------------- 15.2 leave_one_out_baseline

def loo_reference(rewards):
    rewards = np.asarray(rewards, dtype=np.float64)
    return (rewards.sum() - rewards) / (len(rewards) - 1)


def check_loo(student, rewards, rtol=1e-9):
    rewards = np.asarray(rewards, dtype=np.float64)
    got = student.leave_one_out_baseline(rewards.copy())
    expect_true(got is not None, "leave_one_out_baseline returned None: return the baselines, (B,)")
    for i in range(len(rewards)):                     # b_i may not move when R_i does
        moved = rewards.copy()
        moved[i] += 1.0 + abs(rewards[i])
        again = student.leave_one_out_baseline(moved)
        same = same_values(np.asarray(again)[i:i + 1], np.asarray(got, dtype=np.float64)[i:i + 1]) \
            if np.shape(again) == np.shape(rewards) else True
        expect_true(same, f"leave_one_out_baseline(rewards)[{i}] changed when rewards[{i}] did: the baseline of a "
                          "sample must not depend on its own reward (a baseline that does, such as the batch's "
                          "mean, biases the estimator: the lesson measures by how much)")
    slips = {"It divides by B: the mean of the OTHERS has B - 1 terms.": (rewards.sum() - rewards) / len(rewards)}
    expect_close_or_name_the_slip("leave_one_out_baseline", "baseline", got, loo_reference(rewards), slips,
                                  atol=1e-9, rtol=rtol)


@check("leave_one_out_baseline", points=2)
def loo_is_the_mean_of_the_others(student):
    """leave_one_out_baseline is the mean of the other rewards, and does not move with a sample's own reward"""
    check_loo(student, np.array([1.0, 3.0, 2.0, 6.0, -1.5]))


# ---------------------------------------------------------------------------- 15.3 group_advantages

def group_slips(rewards, G, eps):
    with np.errstate(all="ignore"):                     # a slip may divide 0 by 0
        return _group_slips(rewards, G, eps)


def _group_slips(rewards, G, eps):
    g = np.asarray(rewards, dtype=np.float64).reshape(-1, G)
    mean = g.mean(axis=1, keepdims=True)
    r = np.asarray(rewards, dtype=np.float64)
    strided = r.reshape(G, -1).T                                            # sample i in group i % (B / G)
    s_adv = (strided - strided.mean(1, keepdims=True)) / (strided.std(1, ddof=1, keepdims=True) + eps)
    return {
        "It divides by the population standard deviation (divisor G); use the sample one (divisor G - 1, "
        "ddof=1), as torch.std and minigen do.": ((g - mean) / (g.std(axis=1, keepdims=True) + eps)).reshape(-1),
        "It standardises over the whole batch: each sample is compared with its own group of group_size "
        "consecutive samples only.": (r - r.mean()) / (r.std(ddof=1) + eps),
        "Its groups are strided (samples i, i + B/G, ...); a group is group_size CONSECUTIVE samples, as "
        "generate(..., num_return_sequences=G) lays them out.": s_adv.T.reshape(-1),
        "It does not divide by the standard deviation (+ eps).": (g - mean).reshape(-1),
        "It adds eps under the square root or leaves it out: the formula is (r - mean) / (std + eps).":
            ((g - mean) / g.std(axis=1, ddof=1, keepdims=True)).reshape(-1),
    }


def check_group(student, rewards, G, eps=None, rtol=1e-7):
    rewards = np.asarray(rewards, dtype=np.float64)
    got = (student.group_advantages(rewards.copy(), G) if eps is None
           else student.group_advantages(rewards.copy(), G, eps=eps))
    e = 1e-4 if eps is None else eps
    want = rl.group_advantages(rewards, G, eps=e)
    expect_close_or_name_the_slip("group_advantages", "advantages", got, want, group_slips(rewards, G, e),
                                  atol=1e-9, rtol=rtol)


@check("group_advantages", points=2)
def group_advantages_match_minigen(student):
    """group_advantages equals minigen.rl.group_advantages: consecutive groups, sample std, + eps"""
    rewards = np.array([1.0, 3.0, 2.0, 2.0, 10.0, 30.0, 25.0, 20.0, 5.0, 5.0, 5.0, 5.0, 0.0, 1.0, 0.5, 4.0])
    with case("For 4 groups of 4 (the third all equal)"):
        check_group(student, rewards, 4)
    with case("For 8 groups of 2"):
        check_group(student, rewards, 2)


# ---------------------------------------------------------------------------- 15.4 returns_to_go

def rtg_reference(rewards, gamma):
    rewards = np.asarray(rewards, dtype=np.float64)
    B, T = rewards.shape
    return np.array([[sum(gamma ** (s - t) * rewards[b, s] for s in range(t, T)) for t in range(T)]
                     for b in range(B)]).reshape(B, T)


def rtg_slips(rewards, gamma):
    B, T = rewards.shape
    before = np.array([[sum(gamma ** (t - s) * rewards[b, s] for s in range(t + 1)) for t in range(T)]
                       for b in range(B)]).reshape(B, T)
    after = rtg_reference(rewards, gamma) - rewards
    absolute = np.array([[sum(gamma ** s * rewards[b, s] for s in range(t, T)) for t in range(T)]
                         for b in range(B)]).reshape(B, T)
    return {
        "It sums the rewards BEFORE each token (s <= t); the return-to-go sums those from t on (s >= t): "
        "loop backwards.": before,
        "It leaves out the token's own reward: G_t = r_t + gamma * G_(t+1) includes r_t.": after,
        "It discounts by gamma^s; the discount counts from the token: gamma^(s - t).": absolute,
        "It gives every token the whole sequence's return.": np.repeat(rewards.sum(axis=1, keepdims=True), T, 1),
    }


def check_rtg(student, rewards, gamma=None):
    rewards = np.asarray(rewards, dtype=np.float64)
    got = student.returns_to_go(rewards.copy()) if gamma is None else student.returns_to_go(rewards.copy(), gamma)
    g = 1.0 if gamma is None else gamma
    expect_close_or_name_the_slip("returns_to_go", "returns", got, rtg_reference(rewards, g), rtg_slips(rewards, g))


def check_rtg_unbiased(student, theta):
    """sum_y p(y) sum_t G_t(y) grad log p(y_t | y_<t) = grad E[sum_t r_t], over the 27 sequences."""
    r = -(ALL == 2).astype(float) + 0.5 * (ALL == 0)                   # (27, 3): per-token rewards
    p = np.exp(tiny_token_log_probs(theta, ALL).sum(axis=1))           # (27,)
    grads = tiny_token_grads(theta, ALL)                               # (27, 3, 4, 3)
    exact = np.einsum("n,n,nij->ij", p, r.sum(axis=1), grads.sum(axis=1))
    returns = np.asarray(student.returns_to_go(r.copy()), dtype=np.float64)
    expect_true(returns.shape == r.shape, f"returns_to_go returned shape {returns.shape} for rewards of shape "
                                          f"{r.shape}; return one return per token")
    mean = np.einsum("n,nt,ntij->ij", p, returns, grads)
    expect_close("returns_to_go", "E[sum_t G_t grad log p(y_t | y_<t)] (over all 27 sequences of a tiny policy)",
                 mean, exact, atol=1e-10, rtol=1e-8)


@check("returns_to_go", points=1)
def rtg_matches_the_sum(student):
    """returns_to_go sums each token's reward and those after it, discounted by gamma^(s - t)"""
    rewards = np.random.default_rng(5).normal(0.0, 1.0, (3, 6))
    with case("With gamma = 1 (the default)"):
        check_rtg(student, rewards)
    with case("With gamma = 0.9"):
        check_rtg(student, rewards, 0.9)


@check("returns_to_go", points=1)
def rtg_gives_an_unbiased_estimator(student):
    """with returns_to_go, the per-token estimator's exact expectation (27 sequences) is grad E[R]"""
    check_rtg_unbiased(student, tiny_theta(6))


# ---------------------------------------------------------------------------- 15.5 kl_k3

def k3_reference(log_probs, ref_log_probs):
    """rl.kl_penalty(kind="k3"), which takes (B, T), on any shape: as one row, then back."""
    row = rl.kl_penalty(minigen.tensor(log_probs.reshape(1, -1)), ref_log_probs.reshape(1, -1), kind="k3")
    return row.numpy().reshape(log_probs.shape)


def k3_slips(log_probs, ref_log_probs):
    r = ref_log_probs - log_probs
    with np.errstate(all="ignore"):                     # exp(-r) of a slip may overflow
        return _k3_slips(r)


def _k3_slips(r):
    return {
        "Its r is the wrong way round: r = ref_log_probs - log_probs = log(p_ref / p) for tokens drawn from p.":
            np.exp(-r) + r - 1.0,
        "That is k1 = -r; k3 = exp(r) - r - 1.": -r,
        "That is -k1 = r; k3 = exp(r) - r - 1.": r,
        "It leaves out the - 1: k3 = exp(r) - r - 1, which is 0 where the two models agree.": np.exp(r) - r,
        "It has +r: k3 = exp(r) - r - 1 (its expectation is the KL because E_p[exp(r)] = 1 and E_p[-r] = KL).":
            np.exp(r) + r - 1.0,
    }


def check_k3(student, log_probs, ref_log_probs, atol=1e-10, rtol=1e-8):
    got = student.kl_k3(log_probs.copy(), ref_log_probs.copy())
    expect_close_or_name_the_slip("kl_k3", "k3", got, k3_reference(log_probs, ref_log_probs),
                                  k3_slips(log_probs, ref_log_probs), atol=atol, rtol=rtol)


def check_k3_expectation(student, p, q):
    """sum_x p(x) k3(x) = KL(p || q) for one categorical step: every token at once, as a (1, V) row."""
    lp, lq = np.log(p)[None, :], np.log(q)[None, :]
    k3 = np.asarray(student.kl_k3(lp.copy(), lq.copy()), dtype=np.float64)
    expect_true(k3.shape == lp.shape, f"kl_k3 returned shape {k3.shape} for inputs of shape {lp.shape}; "
                                      "return one value per token")
    expect_close("kl_k3", "sum_x p(x) k3(x) (which must be KL(p || p_ref))", np.sum(p * k3[0]),
                 np.sum(p * (np.log(p) - np.log(q))), atol=1e-12, rtol=1e-9)


@check("kl_k3", points=1)
def k3_matches_kl_penalty(student):
    """kl_k3 equals minigen.rl.kl_penalty(kind="k3")"""
    rng = np.random.default_rng(7)
    check_k3(student, np.log(rng.uniform(0.01, 1, (4, 5))), np.log(rng.uniform(0.01, 1, (4, 5))))


@check("kl_k3", points=1)
def k3_expectation_is_the_kl(student):
    """kl_k3's expectation under p, summed over all the tokens, is the exact KL(p || p_ref)"""
    rng = np.random.default_rng(8)
    p, q = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
    check_k3_expectation(student, p, q)
