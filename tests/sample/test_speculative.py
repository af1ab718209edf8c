"""speculative_generate(): a draft model guesses, the target checks; the text must follow the target exactly."""

from __future__ import annotations

import numpy as np
import pytest

import minigen
from minigen import backend as B
from minigen.models import RNNLanguageModel
from minigen.sample import generate
from minigen.sample.speculative import speculative_generate

CHI2_4DOF_999 = 18.467                  # the 0.999 quantile of chi-square with 4 degrees of freedom (vocab 5)


def tiny(seed, vocab_size=5, cell="lstm", sharpen=4.0):
    """A float64 model small enough to run thousands of times; ``sharpen`` scales the output layer so that
    different seeds give clearly different next-token distributions (a fresh tiny net is nearly uniform)."""
    minigen.manual_seed(seed)
    model = RNNLanguageModel(vocab_size=vocab_size, embed_dim=3, hidden_size=6, num_layers=1, cell=cell).double()
    model.head.weight.data = model.head.weight.data * sharpen
    return model


def softmax(logits, temperature):
    z = np.asarray(logits, dtype=np.float64) / temperature
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def next_token_probs(model, ids, temperature):
    """The model's exact next-token distribution after ``ids`` (a list), reading the whole text from scratch."""
    with minigen.no_grad():
        logits, _ = model(np.array([ids]))
    return softmax(logits.data[0, -1], temperature)


def chi2(counts, p):
    expected = counts.sum() * p
    return float(((counts - expected) ** 2 / expected).sum())


@pytest.mark.parametrize("temperature,runs", [(1.0, 2500), (0.7, 1500)])
def test_tokens_follow_the_target_distribution(temperature, runs):
    """First and second new token against the target's exact probabilities (chi-square, 4 dof).

    The second token's marginal is ``sum_a p(a | prompt) p(b | prompt, a)``, enumerating the
    first token. With three new tokens and k = 2, the second token comes from every path:
    a kept guess, a replacement from max(0, p - q) at j = 1 or 2, the bonus, a plain step.
    """
    target, draft = tiny(1), tiny(2)
    prompt = [1, 2, 3]
    p1 = next_token_probs(target, prompt, temperature)
    p2 = sum(p1[a] * next_token_probs(target, prompt + [a], temperature) for a in range(5))
    q1 = next_token_probs(draft, prompt, temperature)
    assert 0.5 * np.abs(p1 - q1).sum() > 0.1             # the draft really differs, so rejections happen

    first, second = np.zeros(5), np.zeros(5)
    proposed = accepted = 0
    for seed in range(runs):
        ids, stats = speculative_generate(target, draft, np.array([prompt]), 3, num_draft_tokens=2,
                                          temperature=temperature, seed=seed, return_stats=True)
        first[ids[0, 3]] += 1
        second[ids[0, 4]] += 1
        proposed += stats["proposed"]
        accepted += stats["accepted"]
    assert chi2(first, p1) < CHI2_4DOF_999
    assert chi2(second, p2) < CHI2_4DOF_999
    assert chi2(first, q1) > 10 * CHI2_4DOF_999          # the test has power: the draft's own q fails it
    assert 0.2 < accepted / proposed < 0.95


@pytest.mark.parametrize("num_draft_tokens", [1, 3, 6])
def test_greedy_equals_greedy_generate(num_draft_tokens):
    minigen.manual_seed(3)
    target = RNNLanguageModel(vocab_size=7, embed_dim=5, hidden_size=12, num_layers=2).double()
    minigen.manual_seed(4)
    draft = RNNLanguageModel(vocab_size=7, embed_dim=4, hidden_size=5, num_layers=1, cell="gru").double()
    for prompt in ([[1]], [[1, 2, 3]], [[6, 0, 5, 5, 2]], [[4, 4, 4, 4]]):
        prompt = np.array(prompt)
        expected = generate(target, prompt, 15)
        out, stats = speculative_generate(target, draft, prompt, 15, num_draft_tokens=num_draft_tokens,
                                          do_sample=False, return_stats=True)
        np.testing.assert_array_equal(out, expected)
        assert stats["accepted"] < stats["proposed"]        # the draft is a poor guesser, yet the text is right
        np.testing.assert_array_equal(
            speculative_generate(target, draft, prompt, 15, num_draft_tokens=num_draft_tokens, temperature=0,
                                 seed=1), expected)
    assert target.training and draft.training               # the modes are restored


@pytest.mark.parametrize("do_sample", [False, True])
def test_draft_equal_to_target_keeps_every_guess(do_sample):
    model = tiny(5, vocab_size=7)
    prompt = np.array([[2, 3]])
    out, stats = speculative_generate(model, model, prompt, 10, num_draft_tokens=3, do_sample=do_sample,
                                      seed=0, return_stats=True)
    # rounds of 3 guesses + 1 target token: 4 + 4, then 2 tokens left: 1 guess + 1 token
    assert stats == {"rounds": 3, "proposed": 7, "accepted": 7, "acceptance_rate": 1.0}
    assert out.shape == (1, 12)
    if not do_sample:
        np.testing.assert_array_equal(out, generate(model, prompt, 10))
    assert model.training


def test_same_seed_same_text():
    target, draft = tiny(1), tiny(2)
    prompt = np.array([[1, 2]])
    a = speculative_generate(target, draft, prompt, 25, seed=7, temperature=1.3)
    b = speculative_generate(target, draft, prompt, 25, seed=7, temperature=1.3)
    c = speculative_generate(target, draft, prompt, 25, seed=8, temperature=1.3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (1, 27) and a.dtype == prompt.dtype


def test_eos_stops_early():
    target, draft = tiny(1), tiny(2)
    prompt = np.array([[1]])
    full = speculative_generate(target, draft, prompt, 30, seed=0, temperature=2.0)[0]
    eos = int(full[6])
    first = 1 + int(np.argmax(full[1:] == eos))                 # where eos first appears among the new tokens
    out = speculative_generate(target, draft, prompt, 30, seed=0, temperature=2.0, eos_token_id=eos)
    np.testing.assert_array_equal(out[0], full[:first + 1])


@pytest.mark.parametrize("max_new_tokens", [0, 1, 2, 5])
def test_lengths(max_new_tokens):
    target, draft = tiny(1), tiny(2)
    out, stats = speculative_generate(target, draft, np.array([[3, 1]]), max_new_tokens, num_draft_tokens=4,
                                      seed=0, return_stats=True)
    assert out.shape == (1, 2 + max_new_tokens)
    assert stats["proposed"] <= 4 * stats["rounds"] and (max_new_tokens > 0) == (stats["rounds"] > 0)


def test_on_the_backends(backend):
    prompt = np.array([[1, 2, 3]])
    ref = speculative_generate(tiny(1), tiny(2), prompt, 12, num_draft_tokens=3, seed=0)
    target, draft = tiny(1).to(backend.device), tiny(2).to(backend.device)
    out = speculative_generate(target, draft, backend.asarray(prompt), 12, num_draft_tokens=3, seed=0)
    assert B.device_of(out) == B.device_of(backend.asarray(prompt))
    np.testing.assert_array_equal(backend.numpy(out), ref)
    greedy = speculative_generate(target, draft, backend.asarray(prompt), 8, do_sample=False)
    np.testing.assert_array_equal(backend.numpy(greedy), generate(tiny(1), prompt, 8))


@pytest.mark.parametrize("kw,match", [
    (dict(max_new_tokens=-1), "max_new_tokens must be a non-negative integer, got -1"),
    (dict(max_new_tokens=2.0), "max_new_tokens must be a non-negative integer, got 2.0"),
    (dict(num_draft_tokens=0), "num_draft_tokens must be a positive integer, got 0"),
    (dict(num_draft_tokens=True), "num_draft_tokens must be a positive integer, got True"),
    (dict(temperature=-0.5), r"temperature must be a number in \[0, 10000\], got -0.5"),
    (dict(temperature=float("inf")), r"temperature must be a number in \[0, 10000\]"),
    (dict(temperature=True), r"speculative_generate: temperature must be a number in \[0, 10000\].* got True"),
    (dict(seed=-3), "speculative_generate: seed must be a non-negative integer or None, got -3"),
    (dict(do_sample="yes"), "do_sample must be True or False"),
])
def test_bad_arguments(kw, match):
    kw = dict(dict(max_new_tokens=3), **kw)
    with pytest.raises(ValueError, match=match):
        speculative_generate(tiny(1), tiny(2), np.array([[1]]), **kw)


def test_bad_prompts_and_models():
    target, draft = tiny(1), tiny(2)
    with pytest.raises(ValueError, match=r"input_ids must be of shape \(1, prompt_length\), got \(2, 2\)"):
        speculative_generate(target, draft, np.array([[1, 2], [3, 4]]), 3)
    with pytest.raises(ValueError, match=r"input_ids must be a (non-empty \(batch, length\)|2-D) array"):
        speculative_generate(target, draft, np.zeros((1, 0), dtype=np.int64), 3)
    with pytest.raises(ValueError, match=r"input_ids must be a (non-empty|2-D)"):
        speculative_generate(target, draft, np.array([1, 2]), 3)
    with pytest.raises(IndexError, match=r"input_ids must be ids in \[0, 5\), got id 5"):
        speculative_generate(target, draft, np.array([[1, 5]]), 3)
    with pytest.raises(TypeError, match="input_ids must be an integer array of token ids, got float64"):
        speculative_generate(target, draft, np.array([[1.0]]), 3)
    with pytest.raises(IndexError, match=r"eos_token_id must be an id in \[0, 5\), got 9"):
        speculative_generate(target, draft, np.array([[1]]), 3, eos_token_id=9)
    with pytest.raises(ValueError, match=r"speculative_generate: draft must be a model of the target's vocabulary "
                                         r"\(5 logits\), got 7"):
        speculative_generate(target, tiny(2, vocab_size=7), np.array([[1]]), 3)
    assert target.training and draft.training


def test_numpy_scalars_and_a_tensor_prompt():
    target, draft = tiny(1), tiny(2)
    prompt = np.array([[1, 2]])
    ref = speculative_generate(target, draft, prompt, 10, seed=3, temperature=0.75, num_draft_tokens=2)
    out = speculative_generate(target, draft, minigen.tensor(prompt), np.int64(10), seed=3,
                               temperature=np.float32(0.75), num_draft_tokens=np.int32(2))
    np.testing.assert_array_equal(out, ref)
