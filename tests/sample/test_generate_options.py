"""generate's Hugging Face keywords beyond the classic ones: the processors they add, in HF's order; beam search
with length constraints equals exhaustive search; watermarked generation is detected; bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import minigen
from minigen.models import RNNLanguageModel
from minigen.sample import WatermarkDetector, beam_search, build_logits_processor, generate
from minigen.sample.build import processors

from tests.sample.test_beam import generated, summed_logprob, tiny_model


def model(V=12, seed=0):
    minigen.manual_seed(seed)
    return RNNLanguageModel(vocab_size=V, embed_dim=4, hidden_size=8, num_layers=1).double()


def names(procs):
    return [type(p).__name__ for p in procs]


def test_every_keyword_adds_its_processor_in_hugging_faces_order():
    m, prompt = model(), np.array([[1, 2]])
    context = dict(prompt=prompt, max_length=10, eos_token_id=0, num_beams=1, model=m, vocab_size=12)
    everything = processors("test", do_sample=True, temperature=0.7, top_k=5, repetition_penalty=1.2,
                            no_repeat_ngram_size=2, context=context, guidance_scale=1.5, sequence_bias=[[[3], 1.0]],
                            encoder_repetition_penalty=1.1, encoder_no_repeat_ngram_size=2, min_length=4,
                            min_new_tokens=2, prefix_allowed_tokens_fn=lambda b, ids: [1, 2, 3],
                            forced_bos_token_id=1, forced_eos_token_id=0, remove_invalid_values=True,
                            exponential_decay_length_penalty=(3, 1.5), epsilon_cutoff=0.01, eta_cutoff=0.01,
                            watermarking_config={"bias": 2.0}, renormalize_logits=True)
    assert names(everything) == [
        "UnbatchedClassifierFreeGuidanceLogitsProcessor", "SequenceBiasLogitsProcessor",
        "EncoderRepetitionPenaltyLogitsProcessor", "RepetitionPenaltyLogitsProcessor", "NoRepeatNGramLogitsProcessor",
        "EncoderNoRepeatNGramLogitsProcessor", "MinLengthLogitsProcessor", "MinNewTokensLengthLogitsProcessor",
        "PrefixConstrainedLogitsProcessor", "ForcedBOSTokenLogitsProcessor", "ForcedEOSTokenLogitsProcessor",
        "InfNanRemoveLogitsProcessor", "ExponentialDecayLengthPenalty", "TemperatureLogitsWarper",
        "TopKLogitsWarper", "EpsilonLogitsWarper", "EtaLogitsWarper", "WatermarkLogitsProcessor",
        "LogitNormalization"]
    assert names(build_logits_processor(epsilon_cutoff=0.1)) == []                    # warpers: sampling only
    assert names(build_logits_processor(do_sample=True, top_k=0, eta_cutoff=0.1)) == ["EtaLogitsWarper"]


def test_the_keywords_work_in_greedy_sampling_and_beam_search():
    m, prompt = model(), np.array([[1, 2], [3, 4]])
    greedy = generate(m, prompt[:, :1], 6, min_new_tokens=6, eos_token_id=0, forced_bos_token_id=5)
    assert (greedy[:, 1] == 5).all() and not (greedy[:, 1:] == 0).any()     # BOS forced after a 1-token prompt
    sampled = generate(m, prompt, 6, do_sample=True, seed=0, sequence_bias=[[[7], 100.0]], forced_eos_token_id=0)
    assert (sampled[:, 2:-1] == 7).all() and (sampled[:, -1] == 0).all()
    allowed = generate(m, prompt, 5, num_beams=3, prefix_allowed_tokens_fn=lambda b, ids: [2 + b, 9])
    assert set(allowed[0, 2:].tolist()) <= {2, 9} and set(allowed[1, 2:].tolist()) <= {3, 9}
    no_repeat = generate(m, np.array([[1, 2, 3, 4]]), 6, encoder_no_repeat_ngram_size=1)
    assert not set(no_repeat[0, 4:].tolist()) & {1, 2, 3, 4}


def test_beam_search_with_min_length_and_forced_eos_equals_exhaustive_search():
    net, prompt, V, L, eos = tiny_model(3), [1, 2], 4, 4, 3
    min_length = len(prompt) + 2                  # no EOS as the first two new tokens
    # every sequence the constraints allow: EOS first at new position 2, or forced at the last one (3)
    seqs = [c + (eos,) for n in (2, 3) for c in itertools.product([t for t in range(V) if t != eos], repeat=n)]

    def score(c):                                 # the forced EOS scores 0 (the processor's value), not log p
        forced = len(c) == L
        return summed_logprob(net, prompt, c[:-1] if forced else c) / len(c)
    ranked = sorted(((score(c), c) for c in seqs), reverse=True)
    out = generate(net, np.array([prompt]), L, num_beams=64, num_return_sequences=10, eos_token_id=eos,
                   min_length=min_length, forced_eos_token_id=eos, return_dict_in_generate=False)
    assert [tuple(generated(r, 2, eos, eos)) for r in out.tolist()] == [c for _, c in ranked[:10]]
    search = beam_search(net, np.array([prompt]), num_beams=64, max_new_tokens=L, num_return_sequences=10,
                         eos_token_id=eos, logits_processor=processors(
                             "test", context=dict(max_length=len(prompt) + L, eos_token_id=eos),
                             min_length=min_length, forced_eos_token_id=eos))
    np.testing.assert_allclose(search.sequences_scores, [s for s, _ in ranked[:10]], rtol=1e-12)


def test_watermarked_generation_is_detected():
    m, prompt = model(V=32, seed=1), np.zeros((20, 1), dtype=np.int64)
    config = {"bias": 4.0, "greenlist_ratio": 0.25}
    marked = generate(m, prompt, 120, do_sample=True, top_k=0, seed=0, watermarking_config=config)
    plain = generate(m, prompt, 120, do_sample=True, top_k=0, seed=0)
    detector = WatermarkDetector(32, config)
    assert (detector(marked, return_dict=True).z_score > 4).all()
    assert (detector(plain, return_dict=True).z_score < 4).mean() >= 0.9


def test_guidance_at_scale_one_changes_nothing():
    m, prompt = model(), np.array([[1, 2]])
    np.testing.assert_array_equal(generate(m, prompt, 5, guidance_scale=1.0), generate(m, prompt, 5))
    guided = generate(m, prompt, 5, guidance_scale=3.0, negative_prompt_ids=np.array([[7, 8, 9]]))
    assert guided.shape == (1, 7)


@pytest.mark.parametrize("kw, error, match", [
    (dict(epsilon_cutoff=1.5, do_sample=True), ValueError, "generate: epsilon_cutoff must be a number in \\(0, 1\\)"),
    (dict(eta_cutoff=0.0, do_sample=True), ValueError, "generate: eta_cutoff must be a number in \\(0, 1\\)"),
    (dict(min_length=99, eos_token_id=0), ValueError, "generate: min_length must be at most .* 8, got 99"),
    (dict(min_length=3), ValueError, "generate: eos_token_id must be given with min_length"),
    (dict(min_new_tokens=2), ValueError, "generate: eos_token_id must be given with min_new_tokens"),
    (dict(sequence_bias=[[[], 1.0]]), ValueError, "sequence_bias must be"),
    (dict(watermarking_config={"hashing_key": "x"}), ValueError, "hashing_key must be an integer"),
    (dict(watermarking_config={"colour": "green"}), ValueError, "watermarking_config must be a dict with keys"),
    (dict(guidance_scale=2.0, num_beams=2), ValueError, "guidance_scale must be used with .*not beam search"),
    (dict(foo=1), TypeError, "unexpected keyword argument 'foo'"),
])
def test_bad_keywords_get_one_line(kw, error, match):
    with pytest.raises(error, match=match) as e:
        generate(model(), np.array([[1, 2]]), 6, **kw)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("kw, needs", [
    (dict(encoder_repetition_penalty=1.5), "its prompt"),
    (dict(encoder_no_repeat_ngram_size=2), "its prompt"),
    (dict(forced_eos_token_id=0), "its max_length"),
    (dict(watermarking_config={"bias": 2.0}), "the model's vocabulary size"),
])
def test_keywords_that_need_generate_are_refused_without_it(kw, needs):
    """build_logits_processor knows no prompt, max_length or model: these keywords are generate's only."""
    (name, value), = kw.items()
    given = "no model" if name == "watermarking_config" else value
    with pytest.raises(ValueError, match=rf"^build_logits_processor: {name} must be used with generate "
                                         rf"\(it needs {needs}\), got {given}$"):
        build_logits_processor(**kw)
