"""Autoregressive generation: feed the prompt, then pick one token at a time.

For a recurrent model the prompt is read once and the hidden state is carried from
step to step, so each new token costs one time step of the network:

    logits, state = model(prompt)            # (B, T, V): read the whole prompt
    repeat max_new_tokens times:
        scores = processors(ids, logits[:, -1])  # penalties, temperature, top-k, top-p, ...
        next = pick(scores)                  # greedy argmax, or a draw from softmax(scores)
        logits, state = model(next, state)   # (B, 1, V): one step

The keyword names and defaults follow Hugging Face's ``generate``: greedy unless
``do_sample=True``; ``temperature=0`` also means greedy; ``num_beams > 1`` runs beam
search. Rows that produce ``eos_token_id`` (or end with one of ``stop_strings``) are
finished and padded with ``pad_token_id`` while the others go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import backend, rules
from ..autograd import no_grad
from ..backend import array_namespace, host
from .beam import search_beams
from .build import build_logits_processor, processors
from .processors import check_scores
from .step import as_array, check_decoding, check_sampling, model_step, vocab_size_of

__all__ = ["generate", "stream_generate", "sample_next", "GenerateOutput", "build_logits_processor"]

_DRAWABLE = "rows with a finite maximum (not all -inf, no +inf or NaN)"     # sample_next's rule for its logits


def _decoding(fn, model, input_ids, max_new_tokens, *, do_sample, temperature, seed, eos_token_id, pad_token_id,
              stop_strings, tokenizer, report_top_k, logits_processor, num_return_sequences=1, **options):
    """The rules ``generate`` and ``stream_generate`` share, checked once; returns ``_stream``'s arguments."""
    input_ids = as_array(input_ids)
    check_sampling(fn, do_sample, temperature, seed)
    check_decoding(fn, input_ids, vocab_size_of(model), max_new_tokens, eos_token_id, pad_token_id)
    rules.require(tokenizer is not None or not stop_strings, fn, "tokenizer", "given with stop_strings", None)
    stop_strings = [stop_strings] if isinstance(stop_strings, str) else stop_strings
    sampling = bool(do_sample and temperature != 0)                  # a Python bool, also from NumPy's
    context = dict(prompt=input_ids, max_length=input_ids.shape[1] + max_new_tokens, eos_token_id=eos_token_id,
                   num_beams=num_return_sequences, model=model, vocab_size=vocab_size_of(model))   # rows per prompt
    procs = processors(fn, do_sample=sampling, temperature=temperature, logits_processor=logits_processor,
                       context=context, **options)
    rng = host.random.default_rng(seed) if seed is not None else None
    pad = pad_token_id if pad_token_id is not None else (eos_token_id if eos_token_id is not None else 0)
    return model, input_ids, max_new_tokens, procs, sampling, rng, eos_token_id, pad, stop_strings, tokenizer, \
        report_top_k


def sample_next(logits, *, do_sample: bool = True, temperature: float = 1.0, rng: host.random.Generator | None = None):
    """One token id per row of ``logits`` (B, V): the argmax, or a draw from ``softmax(logits / temperature)``.

    ``logits`` is an array or a minigen ``Tensor`` (its ``.data`` is used). ``temperature``
    is >= 0, and 0 means the argmax, as ``do_sample=False`` does. The uniform numbers
    come from ``rng`` on the host (the same seed gives the same text on every backend);
    the inverse-CDF lookup runs on the logits' device. Entries of ``-inf`` (filtered
    out by a processor) are never drawn; a row with nothing to draw from (all -inf, or
    a maximum of +inf or NaN) is a ValueError when sampling. The argmax of an all -inf
    row is 0, as ``torch.argmax`` gives (and Hugging Face's greedy search takes).

    >>> import numpy as np
    >>> sample_next(np.array([[0.0, 5.0, 1.0]]), do_sample=False).tolist()
    [1]
    """
    logits, fn = as_array(logits), "sample_next"
    check_scores(fn, "logits", logits)                                   # logits[None, :] for one row
    check_sampling(fn, do_sample, temperature)
    return _pick(logits, bool(do_sample and temperature != 0), float(temperature), rng)


def _pick(logits, sampling: bool, temperature: float, rng):
    """``sample_next`` on checked arguments (``generate`` calls it at every token); ``temperature`` a Python float."""
    xp = array_namespace(logits)
    if not sampling:
        return xp.argmax(logits, axis=-1)
    z = logits / temperature
    top = xp.max(z, axis=-1, keepdims=True)                              # (B, 1)
    empty = ~xp.isfinite(top[:, 0])                                      # (B,): nothing to draw from
    if backend.any_true(empty):     # B flags to the host; generate copies the drawn tokens right after anyway
        rules.fail("sample_next", "logits", _DRAWABLE, f"row {int(backend.to_numpy(empty).argmax())}")   # the first
    p = xp.exp(z - top)                                                  # (B, V), unnormalised
    cdf = xp.cumulative_sum(p, axis=-1)                                  # (B, V)
    rng = rng if rng is not None else backend.get_rng()
    u = backend.asarray_like(rng.random(logits.shape[0]).astype(host.float64), cdf) * cdf[:, -1]   # (B,)
    index = xp.count_nonzero(cdf <= u[:, None], axis=-1)                 # first index with cdf > u
    return xp.minimum(index, logits.shape[-1] - 1)                      # u rounding up to the total (clip: ~15x slower)


@dataclass
class GenerateOutput:
    """What ``generate(..., return_dict_in_generate=True)`` returns.

    ``sequences`` (B, P + new); ``scores``: per step, the processed scores (B, V) the
    token was picked from; ``steps``: per step, for every row, the ``report_top_k``
    most likely tokens with their probabilities, and the entropy of the distribution
    in nats (host NumPy arrays), for looking inside the decoding.
    """

    sequences: object
    scores: list = field(default_factory=list)
    steps: list = field(default_factory=list)


def _step_report(scores, k: int) -> dict:
    s = backend.to_numpy(scores).astype(host.float64)                      # (B, V)
    finite = host.isfinite(s)
    z = host.where(finite, s - host.max(host.where(finite, s, -host.inf), axis=-1, keepdims=True), -host.inf)
    p = host.exp(z)
    p /= p.sum(axis=-1, keepdims=True)
    top = host.argsort(-p, axis=-1, kind="stable")[:, :k]
    logp = host.where(p > 0, host.log(host.where(p > 0, p, 1.0)), 0.0)
    return {"top_ids": top, "top_probs": host.take_along_axis(p, top, axis=-1), "entropy": -(p * logp).sum(-1)}


def stream_generate(model, input_ids, max_new_tokens: int = 20, *, do_sample: bool = False,
                    temperature: float = 1.0, top_k: int | None = 50, top_p: float | None = 1.0,
                    min_p: float | None = None, typical_p: float | None = 1.0, repetition_penalty: float = 1.0,
                    no_repeat_ngram_size: int = 0, logits_processor=None, eos_token_id: int | None = None,
                    pad_token_id: int | None = None, stop_strings=None, tokenizer=None, seed: int | None = None,
                    report_top_k: int | None = None, **constraints):
    """Yield the new tokens (B,) one step at a time; see ``generate`` for the arguments.

    With ``report_top_k`` it yields ``(tokens, scores, report)`` instead, where
    ``report`` is the step's top tokens, probabilities and entropy.
    """
    rules.positive_int("stream_generate", "report_top_k", report_top_k, optional=True)
    return _stream(*_decoding("stream_generate", model, input_ids, max_new_tokens, do_sample=do_sample,
                              temperature=temperature, seed=seed, eos_token_id=eos_token_id,
                              pad_token_id=pad_token_id, stop_strings=stop_strings, tokenizer=tokenizer,
                              report_top_k=report_top_k, logits_processor=logits_processor, top_k=top_k,
                              top_p=top_p, min_p=min_p, typical_p=typical_p, repetition_penalty=repetition_penalty,
                              no_repeat_ngram_size=no_repeat_ngram_size, **constraints))


def _stream(model, input_ids, max_new_tokens, procs, sampling, rng, eos_token_id, pad, stop_strings, tokenizer,
            report_top_k):
    xp = array_namespace(input_ids)
    B = input_ids.shape[0]
    done = host.zeros(B, dtype=bool)
    texts = [""] * B
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            ids = input_ids
            logits, state = model_step(model, ids, None)                     # (B, T, V)
            for _ in range(max_new_tokens):
                scores = procs.process(ids, logits.data[:, -1, :])           # (B, V); the inputs are ours
                tokens = xp.astype(_pick(scores, sampling, 1.0, rng), input_ids.dtype)
                if done.any():                                               # finished rows only get padding
                    tokens = xp.where(backend.asarray_like(done, tokens), backend.asarray_like(
                        host.full(B, pad, dtype=host.int64), tokens), tokens)
                yield (tokens, scores, _step_report(scores, report_top_k)) if report_top_k else tokens
                new_ids = backend.to_numpy(tokens)
                if eos_token_id is not None:
                    done |= new_ids == eos_token_id
                if stop_strings:
                    for b in host.flatnonzero(~done):
                        texts[b] += tokenizer.decode(new_ids[b:b + 1])
                        done[b] = any(texts[b].endswith(s) for s in stop_strings)
                if done.all():
                    return
                ids = xp.concat([ids, tokens[:, None]], axis=1)
                logits, state = model_step(model, tokens[:, None], state)   # (B, 1, V)
    finally:
        model.train(was_training)


def generate(model, input_ids, max_new_tokens: int = 20, *, do_sample: bool = False, temperature: float = 1.0,
             top_k: int | None = 50, top_p: float | None = 1.0, min_p: float | None = None,
             typical_p: float | None = 1.0, repetition_penalty: float = 1.0, no_repeat_ngram_size: int = 0,
             num_beams: int = 1, length_penalty: float = 1.0, early_stopping=False, num_return_sequences: int = 1,
             eos_token_id: int | None = None, pad_token_id: int | None = None, stop_strings=None, tokenizer=None,
             logits_processor=None, seed: int | None = None, return_dict_in_generate: bool = False,
             report_top_k: int = 5, **constraints):
    """The prompts followed by up to ``max_new_tokens`` generated ids: (B * num_return_sequences, P + new).

    ``model(ids, state)`` must return ``(logits, state)``, as ``RNNLanguageModel`` does.

    - ``do_sample=False`` (the default): greedy, the argmax at each step;
      ``num_beams > 1``: beam search (``length_penalty``, ``early_stopping``).
    - ``do_sample=True``: sample from the processed distribution: ``temperature``
      (0 means greedy), ``top_k`` (0: off), ``top_p``, ``min_p``, ``typical_p``; the
      draws come from a generator seeded with ``seed`` (or minigen's global one).
    - Penalties, for any mode: ``repetition_penalty``, ``no_repeat_ngram_size``,
      and any extra ``logits_processor`` list.
    - Hugging Face's other keywords, in any mode unless said (``minigen.sample.build``):
      ``min_length`` and ``min_new_tokens`` (EOS held back; need ``eos_token_id``),
      ``forced_bos_token_id``, ``forced_eos_token_id`` (at the last position),
      ``exponential_decay_length_penalty`` ((start, factor): EOS made likelier),
      ``sequence_bias``, ``prefix_allowed_tokens_fn(batch_id, ids)``,
      ``encoder_repetition_penalty`` and ``encoder_no_repeat_ngram_size`` (against the
      prompt), ``remove_invalid_values``, ``renormalize_logits``; when sampling,
      ``epsilon_cutoff`` and ``eta_cutoff``; classifier-free ``guidance_scale`` with an
      optional ``negative_prompt_ids`` (not with beams); ``watermarking_config`` (a dict
      of ``WatermarkLogitsProcessor``'s options, detected by ``WatermarkDetector``).
    - Stopping: ``eos_token_id``; ``stop_strings`` (with ``tokenizer``), the stop
      string kept in the output; finished rows are padded with ``pad_token_id``
      (default: the EOS id, or 0).
    - ``return_dict_in_generate=True`` returns a ``GenerateOutput`` whose ``steps``
      list the ``report_top_k`` likeliest tokens (a positive integer; at most the
      vocabulary) and the entropy at each step.

    ``input_ids`` is a (B, P) integer array, or a minigen ``Tensor`` of one (its ``.data``
    is used); the result is an array on the same device.

    >>> import minigen, numpy as np
    >>> model = minigen.models.RNNLanguageModel(vocab_size=5, embed_dim=4, hidden_size=8, num_layers=1)
    >>> generate(model, np.array([[1, 2]]), max_new_tokens=3, do_sample=True, seed=0).shape
    (1, 5)
    """
    fn = "generate"
    num_beams, report_top_k = rules.positive_ints(fn, num_beams=num_beams, report_top_k=report_top_k)
    rules.integer(fn, "num_return_sequences", num_return_sequences, 1, num_beams if num_beams > 1 else None)
    rules.flag(fn, "return_dict_in_generate", return_dict_in_generate)
    model, input_ids, *decoding = _decoding(
        fn, model, input_ids, max_new_tokens, do_sample=do_sample, temperature=temperature, seed=seed,
        eos_token_id=eos_token_id, pad_token_id=pad_token_id, stop_strings=stop_strings, tokenizer=tokenizer,
        report_top_k=report_top_k if return_dict_in_generate else None, logits_processor=logits_processor,
        top_k=top_k, top_p=top_p, min_p=min_p, typical_p=typical_p, repetition_penalty=repetition_penalty,
        no_repeat_ngram_size=no_repeat_ngram_size, num_return_sequences=1 if num_beams > 1 else num_return_sequences,
        **constraints)
    if num_beams > 1:             # the rules beam_search shares with generate passed; search_beams checks the rest
        context = dict(prompt=input_ids, max_length=input_ids.shape[1] + max_new_tokens, eos_token_id=eos_token_id,
                       num_beams=num_beams, vocab_size=vocab_size_of(model))
        procs = processors(fn, repetition_penalty=repetition_penalty, no_repeat_ngram_size=no_repeat_ngram_size,
                           logits_processor=logits_processor, context=context, **constraints)
        out = search_beams(fn, model, input_ids, num_beams, max_new_tokens, length_penalty=length_penalty,
                           early_stopping=early_stopping, num_return_sequences=num_return_sequences,
                           eos_token_id=eos_token_id, pad_token_id=pad_token_id, logits_processor=procs or None)
        return GenerateOutput(out.sequences) if return_dict_in_generate else out.sequences
    xp = array_namespace(input_ids)
    if num_return_sequences > 1:                      # each prompt repeated, its copies next to each other
        input_ids = xp.take(input_ids, backend.asarray_like(
            host.repeat(host.arange(input_ids.shape[0]), num_return_sequences), input_ids), axis=0)
    B = input_ids.shape[0]
    steps, scores, reports = [], [], []
    for item in _stream(model, input_ids, *decoding):
        if return_dict_in_generate:
            item, step_scores, report = item
            scores.append(step_scores)
            reports.append(report)
        steps.append(xp.reshape(item, (B, 1)))
    sequences = xp.concat([input_ids, *steps], axis=1)
    return GenerateOutput(sequences, scores, reports) if return_dict_in_generate else sequences
