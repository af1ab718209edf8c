"""sequence_log_probs and completion_mask: by hand from the logits, normalisation, gradchecks, padding, bad input."""

import numpy as np
import pytest

import minigen
from minigen.models import GPT, GPTConfig, RNNLanguageModel
from minigen.rl import completion_mask, sequence_log_probs

from .tiny_policy import all_sequences, sequence_probabilities, tiny_model

V = 7


def _rnn():
    minigen.manual_seed(0)
    return RNNLanguageModel(V, embed_dim=4, hidden_size=5, num_layers=2, cell="gru", dtype="float64")


def _gpt():
    minigen.manual_seed(0)
    return GPT(GPTConfig(vocab_size=V, block_size=8, n_layer=1, n_head=2, n_embd=8), dtype="float64")


def _by_hand(logits, ids, P, temperature=1.0):
    """log softmax(logits[:, t-1] / temperature)[ids[:, t]] for t = P..T-1, in NumPy."""
    z = logits[:, P - 1:-1] / temperature                                  # (B, T_new, V)
    z = z - z.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    return np.take_along_axis(logp, ids[:, P:, None], axis=-1)[..., 0]


@pytest.mark.parametrize("make", [_rnn, _gpt], ids=["rnn_lm", "gpt"])
def test_equals_the_log_softmax_of_the_logits_by_hand(backend, make):
    model = make().to(backend.device)
    ids = np.random.default_rng(1).integers(0, V, size=(3, 6))
    out = model(backend.asarray(ids))
    logits = backend.numpy(out[0] if isinstance(out, tuple) else out)      # the full sequence, read at once
    for P, temperature in ((1, 1.0), (4, 1.0), (2, 0.7)):
        got = sequence_log_probs(model, backend.asarray(ids), P, temperature=temperature)
        assert got.shape == (3, 6 - P)
        np.testing.assert_allclose(backend.numpy(got), _by_hand(logits, ids, P, temperature), rtol=1e-12)


def test_the_probabilities_of_every_continuation_sum_to_one():
    np.testing.assert_allclose(sequence_probabilities(tiny_model()).sum(), 1.0, rtol=1e-12)


def test_sampled_sequences_follow_their_log_probabilities():
    """generate(do_sample, top_k=0) draws each of the 27 sequences with probability exp(sum log_probs): chi-square."""
    model = tiny_model()
    p = sequence_probabilities(model)
    n = 20_000
    drawn = minigen.sample.generate(model, np.zeros((n, 1), np.int64), 3, do_sample=True, top_k=0, seed=5)
    counts = np.bincount((drawn[:, 1:] * [9, 3, 1]).sum(1), minlength=27)
    chi2 = ((counts - n * p) ** 2 / (n * p)).sum()
    assert chi2 < 70                                                       # 26 dof: p < 1e-5 above 70


def _set_params(model, params):
    for name, value in params.items():
        *path, leaf = name.split(".")
        m = model
        for part in path:
            m = getattr(m, part)
        m._parameters[leaf] = value


@pytest.mark.parametrize("make", [_rnn, _gpt], ids=["rnn_lm", "gpt"])
def test_gradcheck_through_every_parameter(backend, make):
    model = make().to(backend.device)
    ids = backend.asarray(np.random.default_rng(2).integers(0, V, size=(2, 5)))
    params = {n: p.data for n, p in model.named_parameters()}

    def fn(**ps):
        _set_params(model, ps)
        return sequence_log_probs(model, ids, 2, temperature=0.8)
    assert minigen.gradcheck(fn, params, fast=backend.fast or make is _gpt)


def test_the_mask_ends_after_the_first_eos_that_generate_pads_after(backend):
    model = tiny_model().to(backend.device)
    ids = minigen.sample.generate(model, backend.asarray(np.zeros((64, 1), np.int64)), 3, do_sample=True, top_k=0,
                                  eos_token_id=2, pad_token_id=1, seed=3)
    mask = backend.numpy(completion_mask(ids, 1, eos_token_id=2))
    new = backend.numpy(ids)[:, 1:]
    for row, m in zip(new, mask):
        first = list(row).index(2) if 2 in row else len(row) - 1
        assert m.tolist() == [t <= first for t in range(len(row))]
        assert (row[first + 1:] == 1).all()                                # generate's padding, masked out
    assert not mask.all() and mask[:, 0].all()


def test_bad_input_is_one_line_naming_the_argument():
    model = _rnn()
    ids = np.zeros((2, 4), np.int64)
    with pytest.raises(ValueError, match=r"sequence_log_probs: prompt_length must be an integer in \[1, 3\], got 4"):
        sequence_log_probs(model, ids, 4)
    with pytest.raises(ValueError, match=r"sequence_log_probs: prompt_length must be an integer in \[1, 3\], got 0"):
        sequence_log_probs(model, ids, 0)
    with pytest.raises(ValueError, match="sequence_log_probs: input_ids must be at least 2 tokens long"):
        sequence_log_probs(model, ids[:, :1], 1)
    with pytest.raises(ValueError, match=r"sequence_log_probs: input_ids must be a 2-D array of token ids"):
        sequence_log_probs(model, ids[0], 1)
    with pytest.raises(IndexError, match=r"sequence_log_probs: input_ids must be ids in \[0, 7\), got id 9"):
        sequence_log_probs(model, ids + 9, 1)
    with pytest.raises(TypeError, match="sequence_log_probs: model must be a language model"):
        sequence_log_probs("gpt2", ids, 1)
    with pytest.raises(ValueError, match="sequence_log_probs: temperature must be a finite number > 0, got 0"):
        sequence_log_probs(model, ids, 1, temperature=0)
    with pytest.raises(ValueError, match="completion_mask: eos_token_id must be an integer token id, got None"):
        completion_mask(ids, 1, None)
