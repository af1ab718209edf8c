"""Rewards: rollout_rewards (the last position, prefix rewards, the Monte-Carlo mean, EOS), text_reward, bad rewards."""

import numpy as np
import pytest

import minigen
from minigen.data import CharTokenizer
from minigen.models import RNNLanguageModel
from minigen.rl import rollout_rewards, text_reward

from .tiny_policy import all_sequences, index_of, sequence_probabilities, tiny_model

REWARD = np.random.default_rng(7).normal(size=27)


def _table(ids):
    """The tiny policy's reward: a fixed number per sequence (host ids)."""
    return REWARD[index_of(minigen.to_numpy(ids))]


def _discriminator(backend):
    """A tiny RNN read as a discriminator: sigmoid of its last logit for class 0, on the ids' device."""
    minigen.manual_seed(4)
    disc = RNNLanguageModel(3, embed_dim=2, hidden_size=3, num_layers=1, dtype="float64").to(backend.device)

    def score(ids):
        with minigen.no_grad():
            logits, _ = disc(ids)
        return logits[:, -1, 0].sigmoid()                                 # a Tensor (B,)
    return score


def test_the_last_position_is_the_discriminators_score_of_the_sequence(backend):
    model, score = tiny_model().to(backend.device), _discriminator(backend)
    ids = backend.asarray(all_sequences()[::5])                           # (6, 4)
    Q = rollout_rewards(model, score, ids, 1, num_rollouts=3, seed=0)
    assert Q.shape == (6, 3)
    np.testing.assert_array_equal(backend.numpy(Q)[:, -1], backend.numpy(score(ids)))
    assert ((backend.numpy(Q) > 0) & (backend.numpy(Q) < 1)).all()


def test_a_reward_of_the_prefix_alone_is_the_rollout_reward_exactly():
    """reward(ids) reads the first two generated tokens only: from position 1 on, every rollout agrees."""
    def prefix_reward(ids):
        return 10 * ids[:, 1] + ids[:, 2]
    ids = all_sequences()
    Q = rollout_rewards(tiny_model(), prefix_reward, ids, 1, num_rollouts=4, seed=1)
    np.testing.assert_array_equal(Q[:, 1], prefix_reward(ids))
    np.testing.assert_array_equal(Q[:, 2], prefix_reward(ids))
    assert not np.array_equal(Q[:, 0], prefix_reward(ids))                # position 0: the second token is drawn


def test_rollout_rewards_are_the_expected_reward_given_the_prefix():
    """Q[b, t] against E[R | prefix] by enumeration, within 5 standard errors (sqrt(Var[R | prefix] / N))."""
    model = tiny_model()
    p, ids = sequence_probabilities(model), all_sequences()
    N = 2000
    Q = rollout_rewards(model, _table, ids, 1, num_rollouts=N, seed=2)
    for t in range(2):                                                    # the prefix ends at generated token t
        same = (ids[:, None, 1:t + 2] == ids[None, :, 1:t + 2]).all(-1)   # (27, 27): sequences sharing the prefix
        w = same * p[None, :] / (same * p[None, :]).sum(1, keepdims=True)
        mean, var = w @ REWARD, w @ REWARD ** 2 - (w @ REWARD) ** 2
        assert (np.abs(Q[:, t] - mean) <= 5 * np.sqrt(var / N) + 1e-12).all()
    np.testing.assert_array_equal(Q[:, 2], REWARD)


def test_the_same_seed_gives_the_same_rollouts():
    model, ids = tiny_model(), all_sequences()[:4]
    a, b = (rollout_rewards(model, _table, ids, 1, num_rollouts=5, seed=3) for _ in range(2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, rollout_rewards(model, _table, ids, 1, num_rollouts=5, seed=4))


def test_a_prefix_that_already_ended_is_completed_with_padding():
    seen = []

    def reward(ids):
        seen.append(np.array(ids))
        return np.zeros(len(ids))
    ids = np.array([[0, 2, 1, 1], [0, 0, 1, 0]])                          # row 0 ends at its first token (EOS 2)
    rollout_rewards(tiny_model(), reward, ids, 1, num_rollouts=8, eos_token_id=2, pad_token_id=1, seed=5)
    completions = seen[0][:2 * 2 * 8].reshape(2, 2, 8, 4)                 # (t, B, N, T)
    assert (completions[:, 0] == [0, 2, 1, 1]).all()                      # after the EOS: padding only
    assert (completions[1, 1, :, :3] == [0, 0, 1]).all() and seen[0].shape == (2 * 2 * 8 + 2, 4)


def test_text_rewards_read_the_decoded_completion():
    tok = CharTokenizer("abe")
    no_e = text_reward(lambda text: -text.count("e"), tok, prompt_length=1)
    np.testing.assert_array_equal(no_e(np.array([[2, 2, 0, 2], [0, 1, 1, 0]])), [-2.0, 0.0])
    Q = rollout_rewards(tiny_model(), no_e, np.array([[2, 2, 2, 2]]), 1, num_rollouts=6, seed=6)
    assert Q[0, -1] == -3.0 and (Q <= 0).all() and (Q >= -3).all()


@pytest.mark.parametrize("reward, error, message", [
    (lambda ids: np.zeros((len(ids), 1)), ValueError, r"reward must be a function returning one number per row of ids "
     r"of shape \(10, 4\), got shape \(10, 1\)"),
    (lambda ids: np.zeros(len(ids) + 1), ValueError, r"reward must be a function returning one number per row"),
    (lambda ids: np.full(len(ids), np.nan), ValueError, "reward must be a function returning finite numbers, got nan"),
    (lambda ids: ["good"] * len(ids), TypeError, "reward must be a function returning real numbers"),
    (lambda ids: [None] * len(ids), TypeError, "reward must be a function returning real numbers"),
    (lambda ids: ids[:, 1] == 0, TypeError, r"reward must be a function returning real numbers \(booleans"),
    (lambda ids: len(ids), ValueError, r"reward must be a function returning one number per row.*got shape \(\)"),
    (3.0, TypeError, r"reward must be a function ids \(B, T\) -> \(B,\) numbers, got 3.0"),
], ids=["column", "too-long", "nan", "strings", "none", "booleans", "scalar", "not-callable"])
def test_a_bad_reward_is_one_line_naming_reward(reward, error, message):
    with pytest.raises(error, match="rollout_rewards: " + message) as caught:
        rollout_rewards(tiny_model(), reward, all_sequences()[:2], 1, num_rollouts=2, seed=0)
    assert "\n" not in str(caught.value)


def test_bad_arguments_are_one_line_naming_them():
    model, ids = tiny_model(), all_sequences()[:2]
    with pytest.raises(ValueError, match="rollout_rewards: num_rollouts must be a positive integer, got 0"):
        rollout_rewards(model, _table, ids, 1, num_rollouts=0)
    with pytest.raises(ValueError, match=r"rollout_rewards: prompt_length must be an integer in \[1, 3\], got 4"):
        rollout_rewards(model, _table, ids, 4)
    with pytest.raises(IndexError, match=r"rollout_rewards: input_ids must be ids in \[0, 3\), got id 5"):
        rollout_rewards(model, _table, ids + 5, 1)
    with pytest.raises(ValueError, match="rollout_rewards: seed must be a non-negative integer or None, got -1"):
        rollout_rewards(model, _table, ids, 1, seed=-1)
    with pytest.raises(TypeError, match="text_reward: tokenizer must be a tokenizer with batch_decode, got str"):
        text_reward(len, "abc")
    with pytest.raises(TypeError, match="text_reward: fn must be a function text -> number"):
        text_reward("e", CharTokenizer("abe"))
    with pytest.raises(ValueError, match="text_reward: prompt_length must be a non-negative integer, got -1"):
        text_reward(len, CharTokenizer("abe"), prompt_length=-1)
