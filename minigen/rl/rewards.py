"""Rewards: plain Python callables, checked where they are called, and SeqGAN's Monte-Carlo rollout rewards.

A reward is any function ``reward(ids) -> (B,)`` numbers, one per row of a (B, T)
array of token ids (prompt included): a Python list, a NumPy array, a backend array
or a Tensor (read as constants: a reward is never differentiated). ``text_reward``
turns a function of decoded text into one. ``call_reward`` runs a reward and checks
what it returns; every function here that calls a reward calls it through that.
"""

from __future__ import annotations

from .. import backend, rules
from ..backend import array_namespace, host
from ..sample.generate import generate
from ..sample.step import vocab_size_of
from .log_probs import _sequences

__all__ = ["call_reward", "text_reward", "rollout_rewards"]

_REWARD = "a function ids (B, T) -> (B,) numbers"
_NUMBERS = "real numbers (booleans: convert them with float)"


def as_numbers(fn: str, name: str, value, like, shapes, dtype=None, returned: str = "", like_name: str = "input"):
    """``value`` (numbers, a list, an array or a Tensor) as a finite floating array on ``like``'s device
    (``like_name``'s, in the message when they differ).

    Its shape must be one of ``shapes`` (tuples of sizes; a name such as "B" matches any size);
    its dtype becomes ``dtype`` (default float64).
    A non-number is a TypeError, a wrong shape or a NaN/inf a ValueError, each naming ``name``
    (``returned``: ``name`` is a function, ``value`` what it returned, and ``returned`` the shape rule in words).
    """
    what = "a function returning " if returned else ""
    value = rules.array_of(value)
    if not backend.is_array(value):                         # Python numbers or (nested) lists of them
        try:
            value = host.asarray(value)
        except (TypeError, ValueError):                     # ragged lists
            rules.fail(fn, name, what + "real numbers", rules.describe(value), TypeError)
    ok = backend.is_floating(value.dtype) or backend.is_integer(value.dtype)      # not bool, str or object
    rules.require(ok, fn, name, what + _NUMBERS, rules.describe(value), TypeError)
    if backend.is_numpy(value) and not backend.is_numpy(like):
        value = backend.asarray_like(value, like)           # host numbers move to the device; device arrays must match
    rules.same_device(fn, **{like_name: like, name: value})
    listed = " or ".join(rules.shape_text(s) for s in shapes)
    expected = what + returned if returned else f"of shape {listed}"
    ok = any(len(s) == value.ndim and all(not rules.is_int(k) or k == n for k, n in zip(s, value.shape))
             for s in shapes)
    rules.require(ok, fn, name, expected, f"shape {tuple(value.shape)}")
    xp = array_namespace(value)
    value = xp.astype(value, dtype if dtype is not None else xp.float64)
    bad = ~xp.isfinite(value)
    if backend.any_true(bad):
        i = int(backend.to_numpy(bad).argmax())                          # the first one, in row-major order
        rules.fail(fn, name, what + "finite numbers", f"{backend.to_numpy(value).reshape(-1)[i]} at position {i}")
    return value


def call_reward(fn: str, reward, ids):
    """``reward(ids)`` as a float64 array (B,) on the ids' device, or one error naming ``reward`` (public ``fn``)."""
    rows = f"one number per row of ids of shape {tuple(ids.shape)}"
    return as_numbers(fn, "reward", reward(ids), ids, [(ids.shape[0],)], returned=rows, like_name="input_ids")


def text_reward(fn, tokenizer, prompt_length: int = 0):
    """A reward on token ids from ``fn(text) -> number``, a function of one decoded string.

        reward(ids)[b] = fn(tokenizer.decode(ids[b, prompt_length:]))

    ``tokenizer`` is any tokenizer with ``batch_decode`` (minigen's, or Hugging Face's);
    ``prompt_length`` leaves the prompt out of the text (0: the whole row).

    >>> import numpy as np
    >>> from minigen.data import CharTokenizer
    >>> tok = CharTokenizer("abe ")
    >>> no_e = text_reward(lambda s: -s.count("e"), tok, prompt_length=1)
    >>> no_e(np.array([[0, 1, 2, 2], [2, 0, 1, 3]]))     # 'bee' after 'a', 'ab ' after 'e'
    [-2.0, 0.0]
    """
    name = "text_reward"
    rules.require(callable(fn), name, "fn", "a function text -> number", rules.describe(fn), TypeError)
    ok = callable(getattr(tokenizer, "batch_decode", None))
    rules.require(ok, name, "tokenizer", "a tokenizer with batch_decode", type(tokenizer).__name__, TypeError)
    P = rules.non_negative_int(name, "prompt_length", prompt_length)

    def reward(ids):
        texts = tokenizer.batch_decode(backend.to_numpy(rules.array_of(ids))[:, P:])
        return [float(v) if rules.is_real(v) else v for v in map(fn, texts)]    # a non-number is call_reward's error
    return reward


def rollout_rewards(generator, reward, input_ids, prompt_length: int, num_rollouts: int = 16, *,
                    temperature: float = 1.0, eos_token_id: int | None = None, pad_token_id: int | None = None,
                    seed: int | None = None):
    """SeqGAN's Monte-Carlo rewards (B, T_new) for every prefix of the generated part of ``input_ids``.

    With Y = input_ids, P = ``prompt_length``, N = ``num_rollouts`` and MC^n(Y_{1:P+t+1}) the
    n-th completion of the prefix to the full length T by sampling from ``generator``:

        Q[b, t] = 1/N sum_{n=1..N} reward(MC^n(Y_b, 1:P+t+1))    for t < T_new - 1
        Q[b, T_new - 1] = reward(Y_b)                             (the sequence itself)

    Q[b, t] estimates the expected final reward once the t-th generated token is chosen:
    the action value of that token, which ``reinforce_loss`` takes as per-token rewards.

    Batched: one ``generate`` call per prefix length t, for all B rows times N rollouts
    (each row's copies next to each other), then one ``reward`` call for every completion
    and the sequences themselves together (a discriminator runs once).

    - ``generator``: the rollout policy (SeqGAN uses a delayed copy of the generator).
    - ``reward``: ``reward(ids (n, T)) -> (n,)`` finite numbers (see ``call_reward``).
    - Sampling is from softmax(logits / ``temperature``), with no top-k (the policy's own
      distribution); ``seed`` makes the rollouts repeatable.
    - With ``eos_token_id``, completions stop at their EOS and are padded with
      ``pad_token_id`` (default: the EOS id), as ``generate`` pads; a prefix that already
      holds an EOS is completed with padding only.

    >>> import numpy as np, minigen
    >>> g = minigen.models.RNNLanguageModel(vocab_size=4, embed_dim=3, hidden_size=5, num_layers=1)
    >>> count_ones = lambda ids: (ids == 1).sum(axis=1)
    >>> Q = rollout_rewards(g, count_ones, np.array([[0, 1, 1, 2]]), 1, num_rollouts=4, seed=0)
    >>> Q.shape, float(Q[0, -1])
    ((1, 3), 2.0)
    """
    fn = "rollout_rewards"
    ids, P = _sequences(fn, input_ids, vocab_size_of(generator), prompt_length)
    B, T = ids.shape
    N = rules.positive_int(fn, "num_rollouts", num_rollouts)
    rules.require(callable(reward), fn, "reward", _REWARD, rules.describe(reward), TypeError)
    rules.non_negative_int(fn, "seed", seed, optional=True)
    pad = pad_token_id if pad_token_id is not None else eos_token_id          # generate's default pad
    rng = host.random.default_rng(seed) if seed is not None else None
    xp, T_new = array_namespace(ids), T - P
    copies = backend.asarray_like(host.repeat(host.arange(B), N), ids)        # (B*N,): row b, N times
    batches = []
    for t in range(T_new - 1):                                                # the prefix ends at generated token t
        prefix = xp.take(ids[:, :P + t + 1], copies, axis=0)                  # (B*N, P+t+1)
        out = generate(generator, prefix, T_new - t - 1, do_sample=True, top_k=0, temperature=temperature,
                       eos_token_id=eos_token_id, pad_token_id=pad_token_id,
                       seed=int(rng.integers(2**31)) if rng is not None else None)       # (B*N, <= T)
        batches.append(_complete(out, prefix, P, T, eos_token_id, pad))
    scores = call_reward(fn, reward, xp.concat(batches + [ids], axis=0))      # ((T_new-1)*B*N + B,)
    last = scores[(T_new - 1) * B * N:]                                       # (B,): the sequences themselves
    mc = xp.reshape(scores[:(T_new - 1) * B * N], (T_new - 1, B, N))         # (T_new-1, B, N)
    Q = xp.matrix_transpose(xp.mean(mc, axis=2))                              # (B, T_new-1)
    return xp.concat([Q, last[:, None]], axis=1)                              # (B, T_new)


def _complete(out, prefix, P: int, T: int, eos, pad):
    """``generate``'s output (B', <= T) padded to T columns; rows whose prefix already ended: padding after it."""
    if eos is None:
        return out                                      # no EOS: generate ran all T - len(prefix) steps
    xp = array_namespace(out)
    fill = xp.full((out.shape[0], T - out.shape[1]), pad, dtype=out.dtype, device=backend.device_of(out))
    out = xp.concat([out, fill], axis=1)                                       # (B', T): all rows ended early
    L = prefix.shape[1]
    ended = xp.any(prefix[:, P:] == eos, axis=1)[:, None]                     # (B', 1)
    return xp.concat([prefix, xp.where(ended, xp.full_like(out[:, L:], pad), out[:, L:])], axis=1)
