"""Classifier-free guidance: Hugging Face's expectations and parity, the formula by hand on tiny models, backends."""

from __future__ import annotations

import numpy as np
import pytest

import minigen
from minigen.models import GPT, GPTConfig, RNNLanguageModel
from minigen.sample import (
    LogitsProcessorList, TopKLogitsWarper, UnbatchedClassifierFreeGuidanceLogitsProcessor, generate,
)

CFG = UnbatchedClassifierFreeGuidanceLogitsProcessor
V = 9


def _log_softmax(x):
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def _rnn():
    minigen.manual_seed(5)
    return RNNLanguageModel(vocab_size=V, embed_dim=6, hidden_size=10, num_layers=2).double().eval()


def _gpt(block_size=32):
    minigen.manual_seed(6)
    return GPT(GPTConfig(vocab_size=V, block_size=block_size, n_layer=2, n_head=2, n_embd=8)).double().eval()


MODELS = {"rnn": _rnn, "gpt": _gpt}


def _last_logits(model, ids):
    """The model's logits for the next token after each row of ``ids``, read from scratch with ``forward``."""
    out = model(ids)
    return (out[0] if isinstance(out, tuple) else out).data[:, -1, :]           # (B, V)


class _FixedLogits:
    """Hugging Face's dummy model: the same unconditional logits whatever it reads; counts its calls."""

    def __init__(self, logits):
        self.logits, self.calls = logits, []

    def __call__(self, ids, state=None):
        self.calls.append(ids.copy())
        return np.broadcast_to(self.logits, (ids.shape[0], ids.shape[1], self.logits.shape[-1])), state


# --------------------------------------------------------------------------- Hugging Face's own test, ported

@pytest.mark.parametrize("how", ["ids and mask", "ids", "implicit"])
def test_hugging_face_expectations(how):
    """From HF tests/generation/test_logits_process.py::test_classifier_free_guidance (its three variants)."""
    uncond, cond = np.array([[[1.0, 0, 1.5]]]), np.array([[1.0, 1.0, 1.0]])
    ids = np.array([[0]])
    args = {"ids and mask": (ids, np.ones_like(ids)), "ids": (ids,), "implicit": ()}[how]
    out = CFG(1.5, _FixedLogits(uncond), *args)(ids, cond)[0]
    expected = (_log_softmax(uncond) + 1.5 * (_log_softmax(cond) - _log_softmax(uncond)))[0, -1]
    np.testing.assert_allclose(out, expected, rtol=1e-12)


# --------------------------------------------------------------------------- the formula by hand

@pytest.mark.parametrize("name", MODELS)
def test_scale_1_gives_the_conditional_log_probabilities_without_running_the_model(name):
    model = MODELS[name]()
    ids = np.array([[1, 2, 3], [4, 0, 8]])
    scores = _last_logits(model, ids)
    np.testing.assert_allclose(CFG(1.0, model)(ids, scores), _log_softmax(scores), rtol=0, atol=1e-14)
    dummy = _FixedLogits(np.zeros((1, 1, V)))
    CFG(1.0, dummy)(ids, scores)
    assert dummy.calls == []


@pytest.mark.parametrize("use_cache", [True, False])
@pytest.mark.parametrize("scale", [0.0, 1.5, 3.0, -0.5])
@pytest.mark.parametrize("name", MODELS)
def test_the_guided_distribution_is_the_formula_by_hand(name, scale, use_cache):
    """At every step: u + scale * (c - u), c from the prompt so far, u from the negative prompt plus the same
    generated tokens, each read from scratch by the model's forward (the processor carries its state)."""
    model = MODELS[name]()
    prompt, negative = np.array([[1, 2, 3, 4], [5, 5, 0, 2]]), np.array([[7, 8], [6, 1]])
    cfg = CFG(scale, model, unconditional_ids=negative, use_cache=use_cache)
    ids = prompt
    for _ in range(6):
        c = _log_softmax(_last_logits(model, ids))
        u = _log_softmax(_last_logits(model, np.concatenate([negative, ids[:, prompt.shape[1]:]], axis=1)))
        guided = cfg(ids, _last_logits(model, ids))
        np.testing.assert_allclose(guided, u + scale * (c - u), rtol=0, atol=1e-10)
        ids = np.concatenate([ids, np.argmax(guided, axis=-1)[:, None]], axis=1)


@pytest.mark.parametrize("name", MODELS)
def test_inside_generate(name):
    """generate with the processor equals a greedy loop on the formula; the default branch is the last prompt token."""
    model = MODELS[name]()
    prompt = np.array([[1, 2, 3], [6, 0, 4]])
    out = generate(model, prompt, max_new_tokens=8, logits_processor=[CFG(2.0, model)])
    ids = prompt
    for _ in range(8):
        c = _log_softmax(_last_logits(model, ids))
        u = _log_softmax(_last_logits(model, ids[:, prompt.shape[1] - 1:]))
        ids = np.concatenate([ids, np.argmax(u + 2.0 * (c - u), axis=-1)[:, None]], axis=1)
    np.testing.assert_array_equal(out, ids)
    sampled = generate(model, prompt, 8, do_sample=True, seed=3, logits_processor=[CFG(2.0, model)])
    assert sampled.shape == (2, 11)


def test_the_gpt_branch_slides_past_its_block():
    """A GPT with a short block: the unconditional branch's cache slides as the model's own window does."""
    model = _gpt(block_size=6)
    prompt = np.array([[1, 2, 3, 4]])
    cached = generate(model, prompt, 10, logits_processor=[CFG(1.5, model, np.array([[5, 6, 7]]))])
    recomputed = generate(model, prompt, 10, logits_processor=[CFG(1.5, model, np.array([[5, 6, 7]]),
                                                                   use_cache=False)])
    np.testing.assert_array_equal(cached, recomputed)


def test_one_negative_prompt_for_the_whole_batch():
    model = _rnn()
    prompt = np.array([[1, 2], [3, 4], [5, 6]])
    one = generate(model, prompt, 5, logits_processor=[CFG(1.5, model, np.array([[7, 8]]))])
    three = generate(model, prompt, 5, logits_processor=[CFG(1.5, model, np.array([[7, 8]] * 3))])
    np.testing.assert_array_equal(one, three)


def test_a_second_call_at_the_same_length_reads_nothing_new():
    dummy = _FixedLogits(np.array([[[0.0, 1.0, 2.0]]]))
    cfg = CFG(2.0, dummy)
    ids, scores = np.array([[0, 1]]), np.array([[1.0, 0.0, 0.0]])
    first = cfg(ids, scores)
    np.testing.assert_array_equal(cfg(ids, scores), first)
    cfg(np.array([[0, 1, 2]]), scores)
    assert [c.tolist() for c in dummy.calls] == [[[1]], [[2]]]               # the last prompt token, then the new one


# --------------------------------------------------------------------------- Hugging Face parity

@pytest.mark.reference
def test_parity_with_hugging_face():
    """Hugging Face's processor, given a torch view of the same RNN (read from scratch: HF's use_cache=False)."""
    torch = pytest.importorskip("torch")
    hf = pytest.importorskip("transformers.generation.logits_process")
    model = _rnn()

    class Output(dict):
        pass

    def torch_model(input_ids, **kwargs):
        out = Output()
        logits, _ = model(input_ids.numpy())
        out.logits = torch.from_numpy(logits.data)
        return out

    prompt, negative = np.array([[1, 2, 3], [4, 4, 8]]), np.array([[7, 0], [2, 6]])
    theirs = hf.UnbatchedClassifierFreeGuidanceLogitsProcessor(1.7, torch_model, torch.from_numpy(negative),
                                                                 use_cache=False)
    ours = CFG(1.7, model, negative)
    ids = prompt
    for _ in range(5):
        scores = _last_logits(model, ids)
        expected = theirs(torch.from_numpy(ids), torch.from_numpy(scores.copy())).numpy()
        guided = ours(ids, scores)
        np.testing.assert_allclose(guided, expected, rtol=0, atol=1e-12)
        ids = np.concatenate([ids, np.argmax(guided, axis=-1)[:, None]], axis=1)


# --------------------------------------------------------------------------- backends, purity, extremes

@pytest.mark.parametrize("name", MODELS)
def test_on_the_backends(backend, name):
    model = MODELS[name]()
    prompt, negative = np.array([[1, 2, 3], [0, 5, 5]]), np.array([[8], [7]])
    expected = generate(model, prompt, 5, logits_processor=[CFG(1.5, model, negative)])
    model.to(backend.device)
    processor = CFG(1.5, model, backend.asarray(negative))
    out = generate(model, backend.asarray(prompt), 5, logits_processor=[processor])
    np.testing.assert_array_equal(backend.numpy(out), expected)
    ids = backend.asarray(expected)
    scores = backend.asarray(np.zeros((2, V)))
    assert str(minigen.backend.device_of(processor(ids, scores))) == str(minigen.backend.device_of(scores))


def test_inputs_are_never_modified():
    model = _rnn()
    ids = np.array([[1, 2, 3]])
    scores = _last_logits(model, ids)
    ids_copy, scores_copy = ids.copy(), scores.copy()
    out = CFG(1.5, model)(ids, scores)
    np.testing.assert_array_equal(ids, ids_copy)
    np.testing.assert_array_equal(scores, scores_copy)
    assert out.shape == scores.shape and out.dtype == scores.dtype and not np.shares_memory(out, scores)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [0.0, 1.0, 1.5, -2.0, 1e4])
def test_extreme_logits_give_no_nan_and_banned_tokens_stay_banned(scale, dtype):
    uncond = np.array([[[1e4, -1e4, 0.0, 3.0, -3.0, 1e4 - 1e-3]]], dtype=dtype)
    scores = np.array([[1e4, -1e4, 9999.0, 0.0, -np.inf, 1e4 - 1e-3],
                       [-np.inf, -np.inf, -1e4, -np.inf, -np.inf, -np.inf]], dtype=dtype)
    out = CFG(scale, _FixedLogits(uncond))(np.array([[0], [1]]), scores)    # RuntimeWarnings are errors here
    assert not np.isnan(out).any() and out.dtype == dtype
    np.testing.assert_array_equal(np.isneginf(out[:, 4]), True)              # banned before guidance: still banned
    assert np.isneginf(out[1]).tolist() == [True, True, False, True, True, True]
    chained = LogitsProcessorList([CFG(scale, _FixedLogits(uncond)), TopKLogitsWarper(2)])
    assert np.isfinite(chained(np.array([[0], [1]]), scores)).any(axis=-1).all()


# --------------------------------------------------------------------------- bad arguments

def test_bad_arguments():
    model, name = _rnn(), "UnbatchedClassifierFreeGuidanceLogitsProcessor"
    for scale in (float("nan"), float("inf"), "2", True, None):
        with pytest.raises(ValueError, match=rf"{name}: guidance_scale must be a finite number, got "):
            CFG(scale, model)
    with pytest.raises(TypeError, match=rf"{name}: model must be a language model: model\(ids, state\) -> "
                                        r"\(logits, state\), got str"):
        CFG(1.5, "gpt2")
    with pytest.raises(TypeError, match=rf"{name}: unconditional_ids must be an integer array of token ids, got list"):
        CFG(1.5, model, [[1, 2]])
    with pytest.raises(IndexError, match=rf"{name}: unconditional_ids must be ids in \[0, 9\), got id 9"):
        CFG(1.5, model, np.array([[1, 9]]))
    with pytest.raises(ValueError, match=r"unconditional_ids must be a 2-D array of token ids, got shape \(2,\)"):
        CFG(1.5, model, np.array([1, 2]))
    with pytest.raises(ValueError, match=r"unconditional_ids must be a non-empty \(batch, length\) array of ids, "
                                         r"got shape \(1, 0\)"):
        CFG(1.5, model, np.zeros((1, 0), np.int64))
    with pytest.raises(ValueError, match=rf"{name}: unconditional_attention_mask must be None, or all ones of "
                                         r"unconditional_ids' shape \(minigen's models read no padding mask\), got"):
        CFG(1.5, model, np.array([[1, 2]]), np.array([[0, 1]]))
    with pytest.raises(ValueError, match="unconditional_attention_mask must be None, or all ones"):
        CFG(1.5, model, None, np.array([[1]]))
    with pytest.raises(ValueError, match=rf"{name}: use_cache must be True or False, got 'yes'"):
        CFG(1.5, model, use_cache="yes")
    with pytest.raises(ValueError, match=rf"{name}: unconditional_ids must be 1 or 3 rows \(input_ids' batch\), "
                                         r"got 2 rows"):
        CFG(1.5, model, np.array([[1], [2]]))(np.zeros((3, 2), np.int64), np.zeros((3, V)))
    assert CFG(np.float32(2.0), model).guidance_scale == 2.0
