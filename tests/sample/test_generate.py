"""generate(): greedy and temperature sampling from a recurrent model, carrying its state."""

from __future__ import annotations

import re

import numpy as np
import pytest

import minigen
from minigen.models import RNNLanguageModel
from minigen.sample import build_logits_processor, generate, sample_next, stream_generate


@pytest.fixture
def model():
    minigen.manual_seed(3)
    return RNNLanguageModel(vocab_size=7, embed_dim=5, hidden_size=12, num_layers=2).double()


def test_greedy_equals_recomputing_the_argmax(model):
    prompt = np.array([[1, 2, 3], [4, 4, 0]])
    out = generate(model, prompt, max_new_tokens=6)
    ids = prompt
    for _ in range(6):                                   # no carried state: rerun the whole prefix
        logits, _ = model(ids)
        ids = np.concatenate([ids, np.argmax(logits.data[:, -1, :], axis=-1)[:, None]], axis=1)
    np.testing.assert_array_equal(out, ids)


def test_sampling_is_seeded(model):
    prompt = np.array([[1, 2]])
    a = generate(model, prompt, 20, do_sample=True, temperature=1.5, seed=7)
    b = generate(model, prompt, 20, do_sample=True, temperature=1.5, seed=7)
    c = generate(model, prompt, 20, do_sample=True, temperature=1.5, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    greedy = generate(model, prompt, 20)
    np.testing.assert_array_equal(generate(model, prompt, 20, do_sample=True, temperature=0, seed=1), greedy)
    assert model.training                                  # generation leaves the mode as it found it


def test_stream_yields_the_same_tokens(model):
    prompt = np.array([[3, 1]])
    streamed = [int(t[0]) for t in stream_generate(model, prompt, 10, do_sample=True, seed=5)]
    assert streamed == generate(model, prompt, 10, do_sample=True, seed=5)[0, 2:].tolist()


def test_eos_stops_early(model):
    prompt = np.array([[1]])
    full = generate(model, prompt, 30, do_sample=True, seed=0, temperature=2.0)[0]
    eos = int(full[5])
    first = 1 + int(np.argmax(full[1:] == eos))
    out = generate(model, prompt, 30, do_sample=True, seed=0, temperature=2.0, eos_token_id=eos)
    np.testing.assert_array_equal(out[0], full[:first + 1])


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_sample_next_follows_the_softmax(temperature):
    """A chi-square test: 20,000 draws against softmax(logits / temperature)."""
    logits = np.array([1.0, 0.0, -1.0, 2.5, 0.3])
    rng = np.random.default_rng(0)
    draws = sample_next(np.tile(logits, (20000, 1)), temperature=temperature, rng=rng)
    p = np.exp(logits / temperature)
    p /= p.sum()
    counts = np.bincount(draws, minlength=5)
    chi2 = ((counts - 20000 * p) ** 2 / (20000 * p)).sum()
    assert chi2 < 18.47                                   # the 0.999 quantile of chi-square with 4 dof


def test_extreme_logits_do_not_overflow():
    logits = np.array([[1e4, -1e4, 9999.0]], dtype=np.float32)
    assert sample_next(logits, temperature=0.01, rng=np.random.default_rng(0)).tolist() == [0]
    assert sample_next(logits, temperature=1e4, rng=np.random.default_rng(0)).item() in (0, 1, 2)


def test_on_the_backends(model, backend):
    model.to(backend.device)
    prompt = backend.asarray(np.array([[1, 2, 3]]))
    out = generate(model, prompt, 8, do_sample=True, seed=0)
    ref = generate(model.to("cpu"), np.array([[1, 2, 3]]), 8, do_sample=True, seed=0)
    np.testing.assert_array_equal(backend.numpy(out), ref)


@pytest.mark.parametrize("kw,match", [
    (dict(max_new_tokens=-1), "max_new_tokens must be a non-negative integer, got -1"),
    (dict(temperature=-0.5), r"temperature must be a number in \[0, 10000\], got -0.5"),
    (dict(temperature=float("nan")), r"temperature must be a number in \[0, 10000\]"),
    (dict(temperature=1e300), r"temperature must be a number in \[0, 10000\], got 1e\+300"),   # as the CLI
    (dict(temperature=1e-300, do_sample=True), r"TemperatureLogitsWarper: temperature must be a number in "
                                               r"\[0.0001, 10000\], got 1e-300"),
    (dict(repetition_penalty=1e300), r"RepetitionPenaltyLogitsProcessor: penalty must be a number in "
                                     r"\[0.0001, 10000\], got 1e\+300"),
    (dict(do_sample="yes"), "do_sample must be True or False"),
    (dict(seed=-1), "generate: seed must be a non-negative integer or None, got -1"),
    (dict(seed=True), "generate: seed must be a non-negative integer or None, got True"),
    (dict(seed=1.5), "generate: seed must be a non-negative integer or None, got 1.5"),
])
def test_bad_arguments(model, kw, match):
    with pytest.raises(ValueError, match=match):
        generate(model, np.array([[1]]), **kw)


@pytest.mark.parametrize("num_beams", [1, 2])
@pytest.mark.parametrize("ids,kw,error,match", [
    ([[1, 60]], {}, IndexError, r"input_ids must be ids in \[0, 7\), got id 60"),
    ([[1, -1]], {}, IndexError, "input_ids must be ids in .*, got id -1"),             # would wrap to the last row
    ([[1.0, 2.0]], {}, TypeError, "input_ids must be an integer array of token ids, got float64"),
    ([[True, False]], {}, TypeError, "input_ids must be an integer array of token ids, got bool"),
    ([[1]], dict(eos_token_id=70), IndexError, r"eos_token_id must be an id in \[0, 7\), got 70"),
    ([[1]], dict(eos_token_id="2"), ValueError, "eos_token_id must be an integer token id or None"),
])
def test_bad_token_ids(model, num_beams, ids, kw, error, match):
    with pytest.raises(error, match=match):
        generate(model, np.array(ids), 2, num_beams=num_beams, **kw)
    with pytest.raises(error, match=match):
        next(stream_generate(model, np.array(ids), 2, **kw))


@pytest.mark.parametrize("num_beams", [1, 2])
def test_pad_token_id_is_fed_back_so_must_be_in_the_vocabulary(model, num_beams):
    """Greedy feeds the pad id back to the model; beam search writes it into text the model may read next: one rule."""
    with pytest.raises(IndexError, match=r"generate: pad_token_id must be an id in \[0, 7\), got 70"):
        generate(model, np.array([[1]]), 2, num_beams=num_beams, pad_token_id=70)
    with pytest.raises(IndexError, match=r"pad_token_id must be an id in \[0, 7\), got -3"):
        generate(model, np.array([[1]]), 2, num_beams=num_beams, pad_token_id=-3)
    assert generate(model, np.array([[1]]), 2, num_beams=num_beams, pad_token_id=6).shape == (1, 3)


def test_token_ids_of_a_model_without_a_vocab_size(model):
    """Without ``config["vocab_size"]`` only negative ids can be caught before the model runs."""
    def step(ids, state=None):
        return model(ids, state)
    step.training, step.eval, step.train = True, model.eval, model.train
    with pytest.raises(IndexError, match=r"input_ids must be ids >= 0, got id -2"):
        generate(step, np.array([[1, -2]]))
    assert generate(step, np.array([[1, 2]]), 3, eos_token_id=70).shape == (1, 5)


def test_empty_prompt(model):
    with pytest.raises(ValueError, match=r"input_ids must be a (non-empty \(batch, length\)|2-D) array"):
        generate(model, np.zeros((1, 0), dtype=np.int64))


# ---------------------------------------------------------------------------- the full keyword set

def test_model_generate_is_minigen_sample_generate(model):
    prompt = np.array([[1, 2, 3]])
    np.testing.assert_array_equal(model.generate(prompt, 9, do_sample=True, seed=4, top_k=3),
                                  generate(model, prompt, 9, do_sample=True, seed=4, top_k=3))


def test_near_zero_temperature_and_top_k_1_are_greedy(model):
    prompt = np.array([[0, 4], [2, 2]])
    greedy = generate(model, prompt, 12)
    np.testing.assert_array_equal(generate(model, prompt, 12, do_sample=True, temperature=1e-4, seed=0), greedy)
    np.testing.assert_array_equal(generate(model, prompt, 12, do_sample=True, top_k=1, seed=0), greedy)


def test_a_batch_equals_each_prompt_alone(model):
    prompts = np.array([[1, 2, 3], [6, 0, 5]])
    both = generate(model, prompts, 10, repetition_penalty=1.3)
    for row in range(2):
        np.testing.assert_array_equal(both[row], generate(model, prompts[row:row + 1], 10, repetition_penalty=1.3)[0])


def test_num_return_sequences(model):
    out = generate(model, np.array([[1, 2], [3, 4]]), 15, do_sample=True, temperature=2.0, num_return_sequences=3,
                   seed=0)
    assert out.shape == (6, 17)
    assert (out[:3, :2] == [1, 2]).all() and (out[3:, :2] == [3, 4]).all()
    assert len({tuple(r) for r in out[:3].tolist()}) == 3                # three different continuations


def test_finished_rows_are_padded(model):
    prompt = np.array([[1], [2]])
    free = generate(model, prompt, 25, do_sample=True, temperature=3.0, seed=1)
    eos = int(free[0, 3])
    out = generate(model, prompt, 25, do_sample=True, temperature=3.0, seed=1, eos_token_id=eos, pad_token_id=6)
    for row in range(2):
        hits = np.flatnonzero(out[row, 1:] == eos)
        if hits.size and hits[0] + 2 < out.shape[1]:
            assert (out[row, hits[0] + 2:] == 6).all()                   # padding after the row's EOS
    assert out.shape[1] <= 26


def test_stop_strings(model):
    tok = minigen.data.CharTokenizer(list("abcdefg"))
    free = tok.decode(generate(model, np.array([[0]]), 30, do_sample=True, temperature=2.0, seed=3)[0, 1:])
    stop = free[5:7]
    out = generate(model, np.array([[0]]), 30, do_sample=True, temperature=2.0, seed=3, stop_strings=[stop],
                   tokenizer=tok)
    text = tok.decode(out[0, 1:])
    assert text.endswith(stop) and stop not in text[:-1]
    with pytest.raises(ValueError, match=r"tokenizer must be given with stop_strings, got None"):
        generate(model, np.array([[0]]), 3, stop_strings=["x"])


def test_introspection(model):
    out = generate(model, np.array([[1, 2]]), 6, return_dict_in_generate=True, report_top_k=3)
    assert out.sequences.shape == (1, 8) and len(out.scores) == len(out.steps) == 6
    for t, step in enumerate(out.steps):
        logits = out.scores[t][0]
        p = np.exp(logits - logits.max())
        p /= p.sum()
        np.testing.assert_allclose(step["entropy"][0], -(p * np.log(p)).sum(), rtol=1e-10)
        np.testing.assert_allclose(step["top_probs"][0], np.sort(p)[::-1][:3], rtol=1e-10)
        assert step["top_ids"][0, 0] == out.sequences[0, 2 + t]          # greedy took the likeliest


def test_first_token_follows_the_processed_distribution(model):
    """Chi-square: top-k + top-p + temperature, 4,000 draws of the first new token, against the processors."""
    from minigen.sample.generate import build_logits_processor
    prompt = np.array([[1, 2, 3]])
    kw = dict(do_sample=True, temperature=0.8, top_k=5, top_p=0.9)
    logits, _ = model(prompt)
    scores = build_logits_processor(**kw)(prompt, logits.data[:, -1, :])[0]
    p = np.exp(scores - scores.max())
    p /= p.sum()
    draws = generate(model, np.repeat(prompt, 4000, axis=0), 1, seed=0, **kw)[:, -1]
    counts = np.bincount(draws, minlength=7)
    kept = p > 0
    assert counts[~kept].sum() == 0
    chi2 = ((counts[kept] - 4000 * p[kept]) ** 2 / (4000 * p[kept])).sum()
    assert chi2 < 22.46                                          # chi-square 0.999 quantile, up to 6 dof


@pytest.mark.parametrize("kw,match", [
    (dict(top_p=1.5, do_sample=True), "top_p"),
    (dict(top_k=-1, do_sample=True), "top_k"),
    (dict(num_beams=0), "num_beams must be a positive integer, got 0"),
    (dict(num_beams=2, num_return_sequences=3), r"num_return_sequences must be an integer in \[1, "),
    (dict(num_return_sequences=0), "num_return_sequences must be a positive integer"),
])
def test_bad_generate_arguments(model, kw, match):
    with pytest.raises(ValueError, match=match):
        generate(model, np.array([[1]]), 3, **kw)


# ---------------------------------------------------------------------------- sample_next's arguments

def test_sample_next_checks_its_arguments(backend):
    logits = backend.asarray(np.array([[0.0, 5.0, 1.0]]))
    with pytest.raises(ValueError, match=r"sample_next: temperature must be a number in \[0, 10000\], "
                                         "got -1.0"):
        sample_next(logits, temperature=-1.0)             # would pick the least likely token every time
    with pytest.raises(ValueError, match="sample_next: temperature must be .* got True"):
        sample_next(logits, temperature=True)
    with pytest.raises(ValueError, match=r"sample_next: logits must be of shape \(batch, vocab\), got shape \(3,\)"):
        sample_next(logits[0, :])
    with pytest.raises(TypeError, match=r"sample_next: logits must be a Tensor or an array, got list"):
        sample_next([[0.0, 1.0]])
    with pytest.raises(TypeError, match=r"sample_next: logits must be floating point .*, got int64"):
        sample_next(np.array([[1, 2]]))
    with pytest.raises(ValueError, match=r"sample_next: logits must be a \(batch, vocab\) array with vocab >= 1, "
                                         r"got \(1, 0\)"):
        sample_next(np.zeros((1, 0)))
    with pytest.raises(ValueError, match="sample_next: do_sample must be True or False, got 'no'"):
        sample_next(logits, do_sample="no")


def test_sample_next_takes_a_tensor_and_numpy_scalars(backend):
    logits = np.array([[0.0, 5.0, 1.0], [2.0, -1.0, 0.5]])
    ref = sample_next(logits, temperature=0.7, rng=np.random.default_rng(0))
    out = sample_next(backend.tensor(logits), temperature=np.float32(0.7), rng=np.random.default_rng(0))
    np.testing.assert_array_equal(backend.numpy(out), ref)
    assert backend.numpy(sample_next(backend.tensor(logits), temperature=np.float64(0.0))).tolist() == [1, 0]


def test_sample_next_refuses_a_row_with_nothing_to_draw(backend):
    """All -inf (every token filtered out) used to return 0 with a RuntimeWarning; greedy keeps torch's argmax."""
    logits = backend.asarray(np.array([[0.0, 1.0], [-np.inf, -np.inf], [1.0, np.nan]]))
    with pytest.raises(ValueError, match=r"sample_next: logits must be rows with a finite maximum "
                                         r"\(not all -inf, no \+inf or NaN\), got row 1"):
        sample_next(logits, rng=np.random.default_rng(0))
    assert backend.numpy(sample_next(logits[1:2, :], do_sample=False)).tolist() == [0]


# ---------------------------------------------------------------------------- generate's arguments

@pytest.mark.parametrize("k", [0, -1, 2.0, True, None])
def test_report_top_k_must_be_a_positive_integer(model, k):
    with pytest.raises(ValueError, match=r"generate: report_top_k must be a positive integer, got "
                                         + re.escape(repr(k))):
        generate(model, np.array([[1, 2]]), 3, return_dict_in_generate=True, report_top_k=k)
    with pytest.raises(ValueError, match="stream_generate: report_top_k must be a positive integer"):
        next(stream_generate(model, np.array([[1, 2]]), 3, report_top_k=k if k is not None else 0))


def test_report_top_k_beyond_the_vocabulary_reports_all_of_it(model):
    out = generate(model, np.array([[1, 2]]), 2, return_dict_in_generate=True, report_top_k=100)
    assert out.steps[0]["top_ids"].shape == (1, 7)
    assert sorted(out.steps[0]["top_ids"][0].tolist()) == list(range(7))


def test_a_tensor_prompt_is_read_through_its_data(model, backend):
    """model.forward accepts a Tensor, so generate does too (it used to fail on ``|`` of two Tensors)."""
    from minigen.models import GPT, GPTConfig
    from minigen.sample import beam_search
    minigen.manual_seed(0)
    gpt = GPT(GPTConfig(vocab_size=11, block_size=16, n_layer=1, n_head=2, n_embd=8))
    prompt = np.array([[1, 2]])
    for m in (model, gpt):
        ref = m.generate(prompt, 3)
        m.to(backend.device)
        out = m.generate(backend.tensor(prompt), max_new_tokens=3)
        assert not isinstance(out, minigen.Tensor)
        np.testing.assert_array_equal(backend.numpy(out), ref)
        streamed = [backend.numpy(t).tolist() for t in stream_generate(m, backend.tensor(prompt), 3)]
        np.testing.assert_array_equal(np.array(streamed).T, ref[:, 2:])
        m.to("cpu")
    np.testing.assert_array_equal(beam_search(model, minigen.tensor(prompt), num_beams=2, max_new_tokens=3).sequences,
                                  beam_search(model, prompt, num_beams=2, max_new_tokens=3).sequences)


def test_numpy_scalars_are_accepted_everywhere(model):
    prompt = np.array([[1, 2, 3]])
    kw = dict(do_sample=True, temperature=0.5, top_k=4, top_p=0.875, min_p=0.0625, typical_p=0.9375,
              repetition_penalty=1.25, no_repeat_ngram_size=2, seed=3, max_new_tokens=8)     # exact in float32
    ref = generate(model, prompt, **kw)
    as_numpy = dict(kw, temperature=np.float32(0.5), top_k=np.int64(4), top_p=np.float32(0.875),
                    min_p=np.float64(0.0625), typical_p=np.float32(0.9375), repetition_penalty=np.float32(1.25),
                    no_repeat_ngram_size=np.int32(2), seed=np.int64(3), max_new_tokens=np.int64(8))
    np.testing.assert_array_equal(generate(model, prompt, **as_numpy), ref)
    np.testing.assert_array_equal(generate(model, prompt, 5, temperature=np.float32(0.0), do_sample=True),
                                  generate(model, prompt, 5))
    t = np.float64(0.5)                                  # do_sample=t > 0 is np.True_: a bool all the same
    np.testing.assert_array_equal(generate(model, prompt, 5, temperature=t, do_sample=t > 0, seed=1),
                                  generate(model, prompt, 5, temperature=0.5, do_sample=True, seed=1))
    beams = dict(num_beams=np.int64(2), length_penalty=np.float32(0.5), repetition_penalty=np.float64(1.3))
    assert generate(model, prompt, 4, **beams).shape == (1, 7)


@pytest.mark.parametrize("name", ["temperature", "top_k", "top_p", "min_p", "typical_p", "repetition_penalty",
                                  "no_repeat_ngram_size"])
@pytest.mark.parametrize("value", [True, np.True_, "0.5"])
def test_bools_and_strings_are_refused(model, name, value):
    """``top_p=True`` equals 1, which would add no processor and pass silently."""
    match = f"generate: {name} must be (a finite number|a number or None|a number in)"
    with pytest.raises(ValueError, match=match):
        generate(model, np.array([[1]]), 2, do_sample=True, **{name: value})
    with pytest.raises(ValueError, match=match.replace("generate", "build_logits_processor")):
        build_logits_processor(do_sample=True, **{name: value})


def test_return_dict_in_generate_must_be_a_bool(model):
    with pytest.raises(ValueError, match="generate: return_dict_in_generate must be True or False, got 'yes'"):
        generate(model, np.array([[1]]), 2, return_dict_in_generate="yes")


def test_a_processor_subclass_that_defines_call_is_used_as_called(model):
    """A Hugging Face style subclass overrides __call__ (not process): generate and beam search call it."""
    from minigen.sample import LogitsProcessor, beam_search

    class OnlyToken(LogitsProcessor):
        def __call__(self, input_ids, scores):
            out = np.full_like(scores, -np.inf)
            out[:, 4] = 0.0
            return out

    prompt = np.array([[1, 2]])
    np.testing.assert_array_equal(generate(model, prompt, 5, logits_processor=[OnlyToken()])[:, 2:], 4)
    np.testing.assert_array_equal(beam_search(model, prompt, num_beams=2, max_new_tokens=3,
                                              logits_processor=[OnlyToken()]).sequences[:, 2:], 4)
