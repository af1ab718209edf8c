"""Autoregressive generation: feed the prompt, then pick one token at a time.

For a recurrent model the prompt is read once and the hidden state is carried from
step to step, so each new token costs one time step of the network:

    logits, state = model(prompt)            # (B, T, V): read the whole prompt
    repeat max_new_tokens times:
        next = pick(logits[:, -1])           # greedy, or sampled at a temperature
        logits, state = model(next, state)   # (B, 1, V): one step

``pick`` with ``temperature`` tau samples from ``softmax(logits / tau)``; tau -> 0
is the argmax (greedy), tau = 1 the model's own distribution, tau > 1 flatter.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..backend import array_namespace

__all__ = ["generate", "stream_generate", "sample_next"]


def _check(max_new_tokens, temperature, do_sample):
    if not isinstance(max_new_tokens, (int, np.integer)) or isinstance(max_new_tokens, bool) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be a non-negative integer, got {max_new_tokens!r}")
    if not isinstance(temperature, (int, float)) or not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0 (0 means greedy), got {temperature!r}")
    if not isinstance(do_sample, bool):
        raise ValueError(f"do_sample must be True or False, got {do_sample!r}")


def sample_next(logits, *, do_sample: bool = True, temperature: float = 1.0, rng: np.random.Generator | None = None):
    """One token id per row of ``logits`` (B, V): the argmax, or a draw from ``softmax(logits / temperature)``.

    The uniform numbers come from ``rng`` on the host (the same seed gives the same
    text on every backend); the inverse-CDF lookup runs on the logits' device.

    >>> import numpy as np
    >>> sample_next(np.array([[0.0, 5.0, 1.0]]), do_sample=False).tolist()
    [1]
    """
    xp = array_namespace(logits)
    if not do_sample or temperature == 0:
        return xp.argmax(logits, axis=-1)
    z = logits / temperature
    p = xp.exp(z - xp.max(z, axis=-1, keepdims=True))                    # (B, V), unnormalised
    cdf = xp.cumulative_sum(p, axis=-1)                                  # (B, V)
    rng = rng if rng is not None else backend.get_rng()
    u = backend.asarray_like(rng.random(logits.shape[0]).astype(np.float64), cdf) * cdf[:, -1]   # (B,)
    index = xp.sum(xp.astype(cdf <= u[:, None], xp.int64), axis=-1)      # first index with cdf > u
    return xp.clip(index, 0, logits.shape[-1] - 1)


def stream_generate(model, input_ids, max_new_tokens: int = 20, *, do_sample: bool = False,
                    temperature: float = 1.0, seed: int | None = None, eos_token_id: int | None = None):
    """Yield the new token ids (B,) one step at a time; see ``generate``."""
    _check(max_new_tokens, temperature, do_sample)
    if getattr(input_ids, "ndim", None) != 2 or input_ids.shape[1] == 0:
        raise ValueError(f"input_ids must be a non-empty (batch, prompt_length) array, got shape "
                         f"{getattr(input_ids, 'shape', None)}")
    rng = np.random.default_rng(seed) if seed is not None else None
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            logits, state = model(input_ids)                                 # (B, T, V)
            for _ in range(max_new_tokens):
                next_ids = sample_next(logits.data[:, -1, :], do_sample=do_sample, temperature=temperature, rng=rng)
                yield next_ids                                                # (B,)
                if eos_token_id is not None and bool(backend.array_namespace(next_ids).all(next_ids == eos_token_id)):
                    return
                logits, state = model(next_ids[:, None], state)              # (B, 1, V)
    finally:
        model.train(was_training)


def generate(model, input_ids, max_new_tokens: int = 20, *, do_sample: bool = False, temperature: float = 1.0,
             seed: int | None = None, eos_token_id: int | None = None):
    """The prompt followed by up to ``max_new_tokens`` generated ids: (B, T + new).

    ``model(ids, state)`` must return ``(logits, state)``, as ``RNNLanguageModel`` does.
    With ``do_sample=False`` (the default, as in Hugging Face's ``generate``) each step
    takes the argmax; with ``do_sample=True`` it samples at ``temperature``, from a
    generator seeded with ``seed`` (or minigen's global one). Generation stops early
    once every row has produced ``eos_token_id``.

    >>> import minigen, numpy as np
    >>> model = minigen.models.RNNLanguageModel(vocab_size=5, embed_dim=4, hidden_size=8, num_layers=1)
    >>> generate(model, np.array([[1, 2]]), max_new_tokens=3, do_sample=True, seed=0).shape
    (1, 5)
    """
    xp = array_namespace(input_ids)
    steps = [xp.astype(s, input_ids.dtype)[:, None] for s in
             stream_generate(model, input_ids, max_new_tokens, do_sample=do_sample, temperature=temperature,
                             seed=seed, eos_token_id=eos_token_id)]
    return xp.concat([input_ids, *steps], axis=1)
