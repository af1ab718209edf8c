"""The processors ``generate`` applies, built from Hugging Face's keywords, in Hugging Face's order.

    guidance -> sequence bias -> encoder repetition penalty -> repetition penalty -> no-repeat n-grams
    -> encoder no-repeat n-grams -> min length -> min new tokens -> prefix constraint -> forced BOS
    -> forced EOS -> inf/NaN removal -> exponential length penalty -> the caller's logits_processor
    -> (sampling only) temperature, top-k, top-p, min-p, typical, epsilon, eta
    -> watermark -> renormalisation

(The same order as ``transformers.GenerationMixin._get_logits_processor``.) A keyword left
at its default adds nothing. The keywords that need to know the generation (the prompt's
length, the maximum length, the EOS id, the beams, the model) take it from ``context``,
which ``generate`` fills; ``build_logits_processor`` without it builds the ones that do not.
"""

from __future__ import annotations

from .. import rules
from .constraints import (
    ExponentialDecayLengthPenalty, ForcedBOSTokenLogitsProcessor, ForcedEOSTokenLogitsProcessor,
    InfNanRemoveLogitsProcessor, LogitNormalization, MinLengthLogitsProcessor, MinNewTokensLengthLogitsProcessor,
    PrefixConstrainedLogitsProcessor, SequenceBiasLogitsProcessor,
)
from .encoder_penalties import EncoderNoRepeatNGramLogitsProcessor, EncoderRepetitionPenaltyLogitsProcessor
from .guidance import UnbatchedClassifierFreeGuidanceLogitsProcessor
from .penalties import NoRepeatNGramLogitsProcessor, RepetitionPenaltyLogitsProcessor
from .processors import (
    LogitsProcessorList, MinPLogitsWarper, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper,
    TypicalLogitsWarper,
)
from .truncation import EpsilonLogitsWarper, EtaLogitsWarper
from .watermark import WatermarkLogitsProcessor

__all__ = ["build_logits_processor", "CONSTRAINTS"]

# The keywords beyond the classic ones, with their defaults (generate and beam search take them too).
CONSTRAINTS = dict(min_length=None, min_new_tokens=None, forced_bos_token_id=None, forced_eos_token_id=None,
                   exponential_decay_length_penalty=None, sequence_bias=None, prefix_allowed_tokens_fn=None,
                   epsilon_cutoff=None, eta_cutoff=None, encoder_repetition_penalty=None,
                   encoder_no_repeat_ngram_size=None, remove_invalid_values=False, renormalize_logits=False,
                   guidance_scale=None, negative_prompt_ids=None, watermarking_config=None)
_NEEDS = {"min_length": "eos_token_id", "min_new_tokens": "eos_token_id",
          "exponential_decay_length_penalty": "eos_token_id"}


def build_logits_processor(*, do_sample=False, temperature=1.0, top_k=50, top_p=1.0, min_p=None, typical_p=1.0,
                           repetition_penalty=1.0, no_repeat_ngram_size=0, logits_processor=None, **constraints):
    """The processors ``generate`` applies, in Hugging Face's order (penalties first, then the warpers).

    The warpers (temperature, top-k, top-p, min-p, typical, epsilon, eta) only apply when
    sampling; values that change nothing (``top_k=0``, ``top_p=1``, ``repetition_penalty=1``,
    ...) add no processor. The keywords of ``CONSTRAINTS`` that need the generation's
    context (``min_new_tokens``, ``forced_eos_token_id``, guidance, ...) are for ``generate``.

    >>> [type(p).__name__ for p in build_logits_processor(do_sample=True, temperature=0.7, top_k=5)]
    ['TemperatureLogitsWarper', 'TopKLogitsWarper']
    """
    return processors("build_logits_processor", do_sample=do_sample, temperature=temperature, top_k=top_k,
                      top_p=top_p, min_p=min_p, typical_p=typical_p, repetition_penalty=repetition_penalty,
                      no_repeat_ngram_size=no_repeat_ngram_size, logits_processor=logits_processor, **constraints)


def processors(fn, *, do_sample=False, temperature=1.0, top_k=50, top_p=1.0, min_p=None, typical_p=1.0,
               repetition_penalty=1.0, no_repeat_ngram_size=0, logits_processor=None, context=None, **constraints):
    """``build_logits_processor`` for the public function ``fn`` (``generate``'s errors name ``generate``).

    ``context``: ``prompt`` (B, P) ids, ``max_length`` (P + max_new_tokens), ``eos_token_id``,
    ``num_beams``, ``model``; absent keys mean the keywords that need them cannot be used.
    """
    numbers = dict(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p, typical_p=typical_p,
                   repetition_penalty=repetition_penalty, no_repeat_ngram_size=no_repeat_ngram_size)
    for name, value in numbers.items():     # the processors check ranges; this catches top_p=True, which adds none
        rules.require(value is None or rules.is_real(value), fn, name, "a number or None", rules.describe(value))
    unknown = sorted(set(constraints) - set(CONSTRAINTS))
    if unknown:
        raise TypeError(f"{fn}() got an unexpected keyword argument {unknown[0]!r}")
    c = {**CONSTRAINTS, **constraints}
    ctx = context or {}
    for name in [k for k, v in c.items() if v is not None and v is not False]:
        need = _NEEDS.get(name)
        rules.require(need is None or ctx.get(need) is not None, fn, need, f"given with {name}", None)
    for name in ("epsilon_cutoff", "eta_cutoff"):           # generate's names in the message, not the warper's
        rules.real(fn, name, c[name], 0, 1, lo_open=True, hi_open=True, optional=True)
    procs = LogitsProcessorList()
    if c["guidance_scale"] is not None and c["guidance_scale"] != 1:
        rules.require("model" in ctx and ctx.get("num_beams", 1) == 1, fn, "guidance_scale",
                      "used with generate's greedy or sampling search (not beam search)", c["guidance_scale"])
        procs.append(UnbatchedClassifierFreeGuidanceLogitsProcessor(c["guidance_scale"], ctx["model"],
                                                                    unconditional_ids=c["negative_prompt_ids"]))
    if c["sequence_bias"] is not None:
        procs.append(SequenceBiasLogitsProcessor(c["sequence_bias"]))
    if c["encoder_repetition_penalty"] is not None and c["encoder_repetition_penalty"] != 1.0:
        prompt = _from_generate(fn, ctx, "prompt", "encoder_repetition_penalty", c)
        procs.append(EncoderRepetitionPenaltyLogitsProcessor(c["encoder_repetition_penalty"], prompt))
    if repetition_penalty is not None and repetition_penalty != 1.0:
        procs.append(RepetitionPenaltyLogitsProcessor(repetition_penalty))
    if no_repeat_ngram_size:
        procs.append(NoRepeatNGramLogitsProcessor(no_repeat_ngram_size))
    if c["encoder_no_repeat_ngram_size"]:
        prompt = _from_generate(fn, ctx, "prompt", "encoder_no_repeat_ngram_size", c)
        procs.append(EncoderNoRepeatNGramLogitsProcessor(c["encoder_no_repeat_ngram_size"], prompt))
    # Past the _NEEDS check, a keyword that needs eos_token_id has it: the context is generate's (prompt, max_length).
    if c["min_length"] is not None:
        procs.append(MinLengthLogitsProcessor(c["min_length"], ctx["eos_token_id"]))    # checks it is an integer
        rules.require(c["min_length"] <= ctx["max_length"], fn, "min_length",
                      f"at most the prompt's length plus max_new_tokens, {ctx['max_length']}", c["min_length"])
    if c["min_new_tokens"] is not None:
        procs.append(MinNewTokensLengthLogitsProcessor(ctx["prompt"].shape[1], c["min_new_tokens"],
                                                       ctx["eos_token_id"]))
    if c["prefix_allowed_tokens_fn"] is not None:
        procs.append(PrefixConstrainedLogitsProcessor(c["prefix_allowed_tokens_fn"], ctx.get("num_beams", 1)))
    if c["forced_bos_token_id"] is not None:
        procs.append(ForcedBOSTokenLogitsProcessor(c["forced_bos_token_id"]))
    if c["forced_eos_token_id"] is not None:
        max_length = _from_generate(fn, ctx, "max_length", "forced_eos_token_id", c)
        procs.append(ForcedEOSTokenLogitsProcessor(max_length, c["forced_eos_token_id"]))
    if c["remove_invalid_values"]:
        procs.append(InfNanRemoveLogitsProcessor())
    if c["exponential_decay_length_penalty"] is not None:
        procs.append(ExponentialDecayLengthPenalty(c["exponential_decay_length_penalty"], ctx["eos_token_id"],
                                                   ctx["prompt"].shape[1]))
    procs.extend(logits_processor or [])
    if do_sample:
        if temperature != 1.0:
            procs.append(TemperatureLogitsWarper(temperature))
        if top_k is not None and top_k != 0:
            procs.append(TopKLogitsWarper(top_k))
        if top_p is not None and top_p != 1.0:
            procs.append(TopPLogitsWarper(top_p))
        if min_p is not None:
            procs.append(MinPLogitsWarper(min_p))
        if typical_p is not None and typical_p != 1.0:
            procs.append(TypicalLogitsWarper(typical_p))
        if c["epsilon_cutoff"] is not None:
            procs.append(EpsilonLogitsWarper(c["epsilon_cutoff"]))
        if c["eta_cutoff"] is not None:
            procs.append(EtaLogitsWarper(c["eta_cutoff"]))
    if c["watermarking_config"] is not None:
        vocab_size = ctx.get("vocab_size")
        rules.require(vocab_size is not None, fn, "watermarking_config", "used with generate (it needs the "
                      "model's vocabulary size)", "no model")
        procs.append(WatermarkLogitsProcessor.from_config(vocab_size, c["watermarking_config"], fn))
    if c["renormalize_logits"]:
        procs.append(LogitNormalization())
    return procs


def _from_generate(fn, ctx, key, name, c):
    """``ctx[key]``, the prompt (the 'encoder input' of a decoder-only model) or max_length, for keyword ``name``."""
    rules.require(key in ctx, fn, name, f"used with generate (it needs its {key})", rules.describe(c[name]))
    return ctx[key]
