"""reinforce_loss, the baselines and kl_penalty: unbiasedness by enumeration, exact gradients, bad input."""

import numpy as np
import pytest

import minigen
from minigen.rl import (
    MovingAverageBaseline, group_advantages, kl_penalty, reinforce_loss, rollout_rewards, sequence_log_probs,
)

from .tiny_policy import all_sequences, flat_grad, index_of, sample, sequence_probabilities, tiny_model

# an arbitrary reward of the 27 sequences, offset from 0 so that a baseline has work to do
REWARD = np.random.default_rng(7).normal(size=27) + 4.0


def _exact_gradient(model):
    """grad E[R] = grad sum_y p(y) R(y), by enumerating all 27 sequences."""
    model.zero_grad()
    p = sequence_log_probs(model, all_sequences(), 1).sum(axis=1).exp()       # (27,)
    (p * REWARD).sum().backward()
    return flat_grad(model)


def _estimates(model, ids, batch, baseline):
    """-grad reinforce_loss for each batch of ``batch`` rows of ``ids``: (batches, parameters)."""
    out = []
    for start in range(0, len(ids), batch):
        rows = ids[start:start + batch]
        model.zero_grad()
        reinforce_loss(sequence_log_probs(model, rows, 1), REWARD[index_of(rows)], baseline=baseline).backward()
        out.append(-flat_grad(model))
    return np.array(out)


def test_the_score_function_estimator_is_unbiased_and_a_baseline_lowers_its_variance():
    """Per parameter, the mean of M batch estimates is within 5 standard errors of the exact gradient."""
    model = tiny_model()
    exact = _exact_gradient(model)
    M, B = 600, 4
    ids = sample(model, M * B, seed=1)
    for baseline in (None, MovingAverageBaseline(decay=0.9)):
        est = _estimates(model, ids, B, baseline)
        se = est.std(axis=0, ddof=1) / np.sqrt(M)
        z = np.abs(est.mean(axis=0) - exact) / np.maximum(se, 1e-300)
        assert (np.abs(est.mean(axis=0) - exact) <= 5 * se + 1e-12).all(), f"worst z {z.max():.2f}"
        assert (np.abs(exact) / np.maximum(se, 1e-300)).max() > 10       # the test has power: the gradient is not ~0
        if baseline is None:
            plain_variance = est.var(axis=0, ddof=1).sum()
        else:
            assert est.var(axis=0, ddof=1).sum() < 0.5 * plain_variance


def test_per_token_rollout_rewards_are_unbiased_too():
    """SeqGAN's sum_t Q_t grad log p(y_t | y_<t), Q from rollout_rewards with 2 rollouts: E[Q_t | y_<=t] = E[R | y_<=t]."""
    model = tiny_model()
    exact = _exact_gradient(model)
    M, B = 600, 4
    ids = sample(model, M * B, seed=8)
    Q = rollout_rewards(model, lambda ids: REWARD[index_of(ids)], ids, 1, num_rollouts=2, seed=9)    # (M*B, 3)
    est = []
    for start in range(0, M * B, B):
        model.zero_grad()
        reinforce_loss(sequence_log_probs(model, ids[start:start + B], 1), Q[start:start + B]).backward()
        est.append(-flat_grad(model))
    est = np.array(est)
    se = est.std(axis=0, ddof=1) / np.sqrt(M)
    assert (np.abs(est.mean(axis=0) - exact) <= 5 * se + 1e-12).all()


def test_the_batch_mean_of_the_current_sample_is_not_a_fair_baseline():
    """The same test catches a baseline that depends on the sample itself: with B = 2 it halves the gradient."""
    model = tiny_model()
    exact = _exact_gradient(model)
    M, B = 300, 2
    ids = sample(model, M * B, seed=1)
    est = []
    for start in range(0, M * B, B):
        rows = ids[start:start + B]
        model.zero_grad()
        r = REWARD[index_of(rows)]
        reinforce_loss(sequence_log_probs(model, rows, 1), r, baseline=float(r.mean())).backward()
        est.append(-flat_grad(model))
    est = np.array(est)
    se = est.std(axis=0, ddof=1) / np.sqrt(M)
    assert (np.abs(est.mean(axis=0) - exact) > 5 * se).any()


def test_the_gradient_is_minus_the_advantage_over_the_batch(backend):
    lp = backend.tensor(np.log(np.full((2, 3), 0.5)), requires_grad=True)
    rewards = backend.asarray([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    mask = backend.asarray([[True, True, True], [True, False, False]])
    reinforce_loss(lp, rewards, baseline=backend.asarray([1.0, 2.0]), mask=mask).backward()
    np.testing.assert_allclose(backend.numpy(lp.grad), -np.array([[0.0, 1.0, 2.0], [2.0, 0.0, 0.0]]) / 2)
    lp.grad = None
    loss = reinforce_loss(lp, [1.0, 3.0], mask=mask)
    loss.backward()
    np.testing.assert_allclose(backend.numpy(lp.grad), -np.array([[1.0, 1.0, 1.0], [3.0, 0.0, 0.0]]) / 2)
    np.testing.assert_allclose(float(backend.numpy(loss)), -(1.0 * 3 + 3.0) * np.log(0.5) / 2)


def test_reinforce_loss_and_kl_penalty_gradcheck(backend):
    rng = np.random.default_rng(3)
    lp = backend.asarray(np.log(rng.uniform(0.1, 1.0, size=(3, 4))))
    ref, adv = backend.asarray(np.log(rng.uniform(0.1, 1.0, size=(3, 4)))), backend.asarray(rng.normal(size=(3, 4)))
    assert minigen.gradcheck(lambda lp: reinforce_loss(lp, adv, baseline=0.5), [lp])
    for kind in ("k1", "k2", "k3"):
        assert minigen.gradcheck(lambda lp: kl_penalty(lp, ref, kind=kind), [lp])


def test_the_moving_average_is_read_before_it_learns_the_batch():
    baseline = MovingAverageBaseline(decay=0.5)
    lp = minigen.tensor(np.zeros((2, 1)), requires_grad=True)
    reinforce_loss(lp, [2.0, 4.0], baseline=baseline).backward()
    np.testing.assert_allclose(lp.grad[:, 0], [-1.0, -2.0])               # b = 0: nothing seen yet
    assert baseline.value == 3.0 and baseline.count == 1
    lp.grad = None
    reinforce_loss(lp, [5.0, 5.0], baseline=baseline).backward()
    np.testing.assert_allclose(lp.grad[:, 0], [-1.0, -1.0])               # b = 3, from the first batch only
    assert baseline.value == pytest.approx((0.25 * 3 + 0.5 * 5) / 0.75)
    masked = MovingAverageBaseline(decay=0.5)                            # per-token rewards: mean over real tokens
    reinforce_loss(lp, np.array([[1.0], [9.0]]), baseline=masked, mask=np.array([[True], [False]]))
    assert masked.value == 1.0


def test_rewards_and_masks_on_another_device_are_one_line_naming_them(backend):
    if backend.name == "numpy":
        pytest.skip("needs a second device")
    lp = minigen.tensor(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="reinforce_loss: rewards must be on log_probs's device cpu"):
        reinforce_loss(lp, backend.asarray([1.0, 2.0]))
    mask = backend.asarray(np.ones((2, 3), bool))
    with pytest.raises(TypeError, match=r"reinforce_loss: mask must be on log_probs's device cpu \(numpy\) .*, got "):
        reinforce_loss(lp, [1.0, 2.0], mask=mask)


def test_group_advantages_standardise_each_group(backend):
    rewards = np.array([1.0, 2.0, 6.0, 0.5, 0.5, 0.5, 3.0, -1.0, 2.0])
    adv = backend.numpy(group_advantages(backend.asarray(rewards), group_size=3, eps=1e-4))
    groups = rewards.reshape(3, 3)
    want = (groups - groups.mean(1, keepdims=True)) / (groups.std(1, ddof=1, keepdims=True) + 1e-4)
    np.testing.assert_allclose(adv, want.reshape(-1), rtol=1e-12)
    assert adv[3:6].tolist() == [0.0, 0.0, 0.0]                           # equal rewards: no preference
    np.testing.assert_allclose(adv.reshape(3, 3).mean(1), 0, atol=1e-12)


def test_kl_penalty_expectations_are_the_exact_kl():
    """E_p[sum_t k(y)] by enumeration equals KL(p || p_ref) over the 27 sequences, for k1 and k3; k2 is biased."""
    policy, ref = tiny_model(seed=0), tiny_model(seed=1)
    ids = all_sequences()
    p, p_ref = sequence_probabilities(policy), sequence_probabilities(ref)
    exact = (p * np.log(p / p_ref)).sum()
    with minigen.no_grad():
        lp, ref_lp = sequence_log_probs(policy, ids, 1), sequence_log_probs(ref, ids, 1)
        k = {kind: kl_penalty(lp, ref_lp, kind=kind).numpy().sum(axis=1) for kind in ("k1", "k2", "k3")}
    assert exact > 0.05
    np.testing.assert_allclose((p * k["k1"]).sum(), exact, rtol=1e-10)
    np.testing.assert_allclose((p * k["k3"]).sum(), exact, rtol=1e-10)
    assert (k["k3"] >= 0).all() and (k["k2"] >= 0).all() and (k["k1"] < 0).any()
    drawn = sample(policy, 4000, seed=2)                                  # and the mean over samples, within 5 SE
    with minigen.no_grad():
        k3 = kl_penalty(sequence_log_probs(policy, drawn, 1), sequence_log_probs(ref, drawn, 1)).numpy().sum(1)
    assert abs(k3.mean() - exact) < 5 * k3.std(ddof=1) / np.sqrt(len(k3))


def test_kl_penalty_is_zero_against_the_model_itself():
    model = tiny_model()
    lp = sequence_log_probs(model, all_sequences(), 1)
    for kind in ("k1", "k2", "k3"):
        assert (kl_penalty(lp, lp.detach(), kind=kind).numpy() == 0).all()


def test_bad_input_is_one_line_naming_the_argument():
    lp = minigen.tensor(np.zeros((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"reinforce_loss: rewards must be of shape \(2,\) or \(2, 3\), got shape"):
        reinforce_loss(lp, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="reinforce_loss: rewards must be finite numbers, got nan at position 1"):
        reinforce_loss(lp, [1.0, float("nan")])
    with pytest.raises(TypeError, match="reinforce_loss: rewards must be real numbers"):
        reinforce_loss(lp, ["good", "bad"])
    with pytest.raises(TypeError, match="reinforce_loss: rewards must be real numbers"):
        reinforce_loss(lp, np.array([True, False]))
    with pytest.raises(TypeError, match=r"reinforce_loss: rewards must be real numbers, got \[\[1.0, 2.0\], \[3.0\]\]"):
        reinforce_loss(lp, [[1.0, 2.0], [3.0]])                          # ragged
    with pytest.raises(ValueError, match=r"reinforce_loss: log_probs must be of shape \(B, T\), got shape \(3,\)"):
        reinforce_loss(lp[0], [1.0])
    with pytest.raises(ValueError, match=r"reinforce_loss: mask must be of shape \(2, 3\), got shape \(2, 2\)"):
        reinforce_loss(lp, [1.0, 2.0], mask=np.ones((2, 2), bool))
    with pytest.raises(TypeError, match="reinforce_loss: mask must be a boolean array"):
        reinforce_loss(lp, [1.0, 2.0], mask=np.ones((2, 3)))
    with pytest.raises(ValueError, match="reinforce_loss: baseline must be a finite number, got inf"):
        reinforce_loss(lp, [1.0, 2.0], baseline=float("inf"))
    with pytest.raises(TypeError, match="reinforce_loss: baseline must be None, a number"):
        reinforce_loss(lp, [1.0, 2.0], baseline="mean")
    with pytest.raises(ValueError, match="group_advantages: group_size must be a divisor of the batch size 5, got 2"):
        group_advantages([1.0, 2.0, 3.0, 4.0, 5.0], group_size=2)
    with pytest.raises(ValueError, match="group_advantages: group_size must be an integer >= 2, got 1"):
        group_advantages([1.0, 2.0], group_size=1)
    with pytest.raises(ValueError, match="group_advantages: eps must be a finite number > 0, got 0"):
        group_advantages([1.0, 2.0], group_size=2, eps=0)
    with pytest.raises(ValueError, match=r"kl_penalty: log_probs must be of shape \(B, T\), got shape \(3,\)"):
        kl_penalty(lp[0], np.zeros(3))
    with pytest.raises(ValueError, match=r"kl_penalty: ref_log_probs must be of shape \(2, 3\), got shape \(3, 2\)"):
        kl_penalty(lp, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="kl_penalty: kind must be one of 'k1', 'k2', 'k3', got 'full'"):
        kl_penalty(lp, np.zeros((2, 3)), kind="full")
    with pytest.raises(ValueError, match=r"MovingAverageBaseline: decay must be a number in \[0, 1\), got 1"):
        MovingAverageBaseline(decay=1)
