"""The log-probability of sampled sequences under a language model, token by token.

A language model factorises the probability of a sequence y_1..y_T given a prompt
y_1..y_P into one softmax per generated position:

    log p(y_{P+1..T} | y_{1..P}) = sum_{t=P+1..T} log softmax(logits_{t-1})[y_t]

where ``logits_{t-1}`` is the model's output at position t-1 (it has read y_1..y_{t-1}).
``sequence_log_probs`` returns the terms of that sum, (B, T_new) with T_new = T - P, in
the graph: policy-gradient losses multiply them by rewards and backpropagate into the
model. ``completion_mask`` marks which of them are real tokens, not the padding that
``generate`` writes after a row's EOS.

Shapes: B = batch, T = prompt + generated tokens, P = prompt length, T_new = T - P, V = vocab.
"""

from __future__ import annotations

from .. import backend, rules
from ..functional import cross_entropy
from ..sample.step import vocab_size_of

__all__ = ["sequence_log_probs", "completion_mask"]

_TWO_PARTS = "at least 2 tokens long per row (a prompt, then generated tokens)"
_MODEL = "a language model: model(ids) -> logits (B, T, V) or (logits, state)"


def _sequences(fn: str, input_ids, V, prompt_length):
    """``(ids, P)``: the (B, T) ids array of ``input_ids``, T >= 2, checked against the vocabulary ``V``, and the
    prompt length P in [1, T - 1]."""
    ids = rules.token_ids(fn, "input_ids", rules.array_of(input_ids), V, ndim=2)
    rules.require(ids.shape[1] >= 2, fn, "input_ids", _TWO_PARTS, f"shape {tuple(ids.shape)}")
    return ids, rules.integer(fn, "prompt_length", prompt_length, 1, ids.shape[1] - 1)


def sequence_log_probs(model, input_ids, prompt_length: int, *, temperature: float = 1.0):
    """Per-token log-probabilities (B, T_new) of the generated part of ``input_ids`` under ``model``, with gradient.

        log_probs[b, t] = log softmax(logits[b, P - 1 + t] / temperature)[input_ids[b, P + t]]

    for t = 0..T_new-1, where ``logits = model(input_ids[:, :-1])`` and P = ``prompt_length``.
    Their sum over t is log p(generated part | prompt). Computed as ``-cross_entropy``
    (one log-softmax kernel), as TRL's ``selective_log_softmax`` does it.

    - ``model``: an ``RNNLanguageModel`` (its ``(logits, state)``) or a ``GPT`` (its logits),
      or any callable of the same kind; it runs in the mode it is in (call ``model.eval()``
      first if it has dropout: ``generate`` sampled without it). A GPT reads at most
      ``block_size`` positions, so T - 1 <= block_size.
    - ``input_ids``: (B, T) token ids, the prompt followed by the generated tokens, as
      ``generate`` returns them. Rows that ended early are padded: weight their log-probs
      with ``completion_mask``.
    - ``prompt_length``: P, in [1, T - 1]; the prompt itself is not scored.
    - ``temperature``: > 0; the temperature the tokens were sampled at (the policy is
      softmax(logits / temperature)).

    >>> import numpy as np, minigen
    >>> model = minigen.models.RNNLanguageModel(vocab_size=5, embed_dim=4, hidden_size=8, num_layers=1)
    >>> ids = model.generate(np.array([[1], [2]]), max_new_tokens=3, do_sample=True, top_k=0, seed=0)
    >>> lp = sequence_log_probs(model, ids, prompt_length=1)
    >>> lp.shape, bool((lp.numpy() < 0).all())
    ((2, 3), True)
    """
    fn = "sequence_log_probs"
    rules.require(callable(model), fn, "model", _MODEL, rules.describe(model), TypeError)
    ids, P = _sequences(fn, input_ids, vocab_size_of(model), prompt_length)
    B, T = ids.shape
    temperature = rules.real(fn, "temperature", temperature, 0, lo_open=True)
    out = model(ids[:, :-1])                                    # position t-1 predicts token t
    logits = out[0] if isinstance(out, tuple) else out          # RNNLanguageModel: (logits, state); GPT: logits
    logits = logits[:, P - 1:, :]                               # (B, T_new, V): the predictions of tokens P..T-1
    if temperature != 1.0:
        logits = logits / temperature
    T_new, V = T - P, logits.shape[-1]
    targets = backend.array_namespace(ids).reshape(ids[:, P:], (B * T_new,))             # (B*T_new,)
    nll = cross_entropy(logits.reshape(B * T_new, V), targets, reduction="none")         # (B*T_new,)
    return -nll.reshape(B, T_new)                                                        # (B, T_new)


def completion_mask(input_ids, prompt_length: int, eos_token_id: int):
    """Which generated tokens are real: a boolean array (B, T_new), True up to and including each row's first EOS.

        mask[b, t] = no EOS among input_ids[b, P : P + t]

    ``generate`` pads a row that produced ``eos_token_id`` with ``pad_token_id`` (the EOS
    id by default) while the other rows go on; those pads were never sampled, so a
    policy-gradient loss must not score them. The EOS itself was sampled and counts
    (as in TRL's completion mask).

    >>> import numpy as np
    >>> completion_mask(np.array([[1, 3, 0, 0], [1, 4, 4, 0]]), 1, eos_token_id=0).tolist()
    [[True, True, False], [True, True, True]]
    """
    fn = "completion_mask"
    ids, P = _sequences(fn, input_ids, None, prompt_length)
    eos = rules.token_id(fn, "eos_token_id", eos_token_id)
    xp = backend.array_namespace(ids)
    is_eos = xp.astype(ids[:, P:] == eos, xp.int64)                         # (B, T_new)
    eos_before = xp.cumulative_sum(is_eos, axis=1) - is_eos                 # EOS strictly before t
    return eos_before == 0
