"""Speculative decoding: a small draft model guesses, the large target model checks.

Leviathan, Kalman & Matias (2023), "Fast Inference from Transformers via Speculative
Decoding"; Chen et al. (2023), "Accelerating Large Language Model Decoding with
Speculative Sampling". One round, with ``k = num_draft_tokens``::

    draft:   x_1 ~ q_1, ..., x_k ~ q_k                   # k cheap steps, one token at a time
    target:  p_1, ..., p_k+1  from  target([x_1 .. x_k])  # ONE call reads all k guesses
    for j = 1 .. k:
        keep x_j with probability min(1, p_j(x_j) / q_j(x_j))
        at the first rejection: emit y ~ max(0, p_j - q_j) / beta_j and end the round
    all k kept: emit a bonus token y ~ p_k+1

Why the text follows the target exactly: at position j the token is x with probability
``q(x) min(1, p(x)/q(x)) = min(p(x), q(x))`` through acceptance, plus, through the
replacement, ``beta * max(0, p(x) - q(x)) / beta``, where the rejection probability
``beta = sum_y max(0, q(y) - p(y)) = sum_y max(0, p(y) - q(y))``. The two add up to
``min(p, q) + max(0, p - q) = p(x)``. A round emits between 1 and k + 1 tokens for two
calls of the target, so a draft that guesses well saves target calls and a poor one
only costs time, never quality. ``p`` and ``q`` are ``softmax(logits / temperature)``
of the two models; with ``temperature=0`` (or ``do_sample=False``) they are point
masses on the argmax, the rule becomes "keep x_j while it is the target's argmax",
and the output is exactly the target's greedy decoding.

Recurrent state. A Transformer drops the rejected positions from its KV cache. A
recurrent state cannot be cut back: it has mixed every position into one vector. So
each model keeps its state from before the round, and after the round reads the n
kept guesses and the emitted token again, from that state (correctness first). The
cost per round with n of k guesses kept: the target reads k + n + 1 positions in 2
calls, the draft k - 1 + n + 1 positions in k calls; plain decoding of the same n + 1
tokens is n + 1 target calls of one position. (When all k are kept, the target's
verify state already covers x_1..x_k and only the bonus token would need reading;
that shortcut is left out to keep one path.) For an RNN the positions of one call
still run one after another inside the kernel, so the saving is in calls, not in
parallel time steps as it is for a Transformer.

The accept/reject arithmetic runs on the host in float64 (``backend.to_numpy`` of one
row of logits per position, softmax with the max subtracted); the models run on the
backend. Uniforms come from a NumPy ``Generator`` seeded with ``seed``, as in
``sample_next``, so the same seed gives the same text on every backend.

Shapes: P = prompt length, k = draft tokens per round, V = vocabulary.
"""

from __future__ import annotations

from .. import backend, rules
from ..autograd import no_grad
from ..backend import array_namespace, host
from .step import as_array, check_decoding, check_sampling, model_step, vocab_size_of

__all__ = ["speculative_generate"]


def _softmax(logits, temperature):
    """softmax(logits / temperature) of one host row (V,), in float64, with the max subtracted."""
    z = logits / temperature
    e = host.exp(z - z.max())
    return e / e.sum()


def _draw(p, rng) -> int:
    """One index from the host weights ``p`` (V,), which need not sum to 1: inverse CDF with one uniform."""
    cdf = host.cumsum(p)
    index = int(host.searchsorted(cdf, rng.random() * cdf[-1], side="right"))   # first index with cdf > u
    return min(index, len(p) - 1)


def _read(model, ids, state, rows):
    """Feed ``ids`` (1, T) to ``model`` from ``state``: the host float64 logits of the last ``rows`` positions
    (rows, V), and the new state."""
    logits, state = model_step(model, ids, state)                            # (1, T, V)
    return backend.to_numpy(logits.data[0, -rows:, :]).astype(host.float64), state


def _verify(guesses, q, target_logits, greedy, temperature, rng):
    """Check the guesses left to right: the number n kept, and the token that ends the round.

    ``guesses`` are x_1..x_k, ``q`` their draft distributions (k, V) (unused when greedy),
    ``target_logits`` the target's logits p_1..p_k+1 (k + 1, V).
    """
    if greedy:                                             # point masses: keep x_j while it is the argmax
        for j, x in enumerate(guesses):
            best = int(host.argmax(target_logits[j]))
            if x != best:
                return j, best
        return len(guesses), int(host.argmax(target_logits[-1]))
    for j, x in enumerate(guesses):
        p = _softmax(target_logits[j], temperature)
        if rng.random() * q[j][x] < p[x]:                   # keep with probability min(1, p(x) / q(x))
            continue
        residual = host.maximum(p - q[j], 0.0)               # rejected: draw from max(0, p - q), normalised
        return j, _draw(residual if residual.sum() > 0 else p, rng)
    return len(guesses), _draw(_softmax(target_logits[-1], temperature), rng)   # all kept: a bonus from p_k+1


def speculative_generate(target, draft, input_ids, max_new_tokens: int, *, num_draft_tokens: int = 4,
                         do_sample: bool = True, temperature: float = 1.0, seed: int | None = None,
                         eos_token_id: int | None = None, return_stats: bool = False):
    """The prompt followed by up to ``max_new_tokens`` ids drawn from ``target``, with ``draft`` guessing ahead.

    ``input_ids`` is one prompt (1, P); the result is (1, P + new) on its device, and
    is distributed exactly as ``generate(target, ..., do_sample=True, temperature=...)``
    without top-k/top-p filtering (see the module docstring for why). Both models
    follow ``model(ids, state) -> (logits, state)``, as ``RNNLanguageModel`` does, and
    must share the vocabulary; ``num_draft_tokens`` is k, the guesses per round. With
    ``do_sample=False`` or ``temperature=0`` the output is the target's greedy
    decoding. Generation stops after ``eos_token_id``. With ``return_stats`` it also
    returns ``{"rounds", "proposed", "accepted", "acceptance_rate"}`` (the rate is
    ``accepted / proposed``, 0.0 when nothing was proposed).

    >>> import minigen, numpy as np
    >>> from minigen.models import RNNLanguageModel
    >>> from minigen.sample import generate
    >>> target = RNNLanguageModel(vocab_size=6, embed_dim=4, hidden_size=16, num_layers=2)
    >>> draft = RNNLanguageModel(vocab_size=6, embed_dim=4, hidden_size=4, num_layers=1, cell="gru")
    >>> prompt = np.array([[1, 2, 3]])
    >>> ids, stats = speculative_generate(target, draft, prompt, 8, seed=0, return_stats=True)
    >>> ids.shape, sorted(stats)
    ((1, 11), ['acceptance_rate', 'accepted', 'proposed', 'rounds'])
    >>> greedy = speculative_generate(target, draft, prompt, 8, do_sample=False)
    >>> bool((greedy == generate(target, prompt, 8)).all())
    True
    """
    fn, input_ids = "speculative_generate", as_array(input_ids)
    V = vocab_size_of(target)                             # the draft's is checked against it once both have run
    check_decoding(fn, input_ids, V, max_new_tokens, eos_token_id)
    rules.require(input_ids.shape[0] == 1, fn, "input_ids", "of shape (1, prompt_length)", input_ids.shape)
    rules.positive_int(fn, "num_draft_tokens", num_draft_tokens)
    check_sampling(fn, do_sample, temperature, seed)                    # temperature 0 means greedy
    temperature = float(temperature)                      # a NumPy scalar would set the host arithmetic's dtype
    greedy = not do_sample or temperature == 0
    rng = host.random.default_rng(seed) if seed is not None else backend.get_rng()
    modes = [(target, target.training), (draft, draft.training)]
    target.eval()
    draft.eval()
    try:
        with no_grad():
            new, stats = _speculate(target, draft, input_ids, max_new_tokens, num_draft_tokens, greedy,
                                    temperature, rng, eos_token_id)
    finally:
        for model, was_training in reversed(modes):       # reversed: right when target is draft
            model.train(was_training)
    xp = array_namespace(input_ids)
    ids = xp.concat([input_ids, _on_device(new, input_ids)], axis=1)   # (1, P + new)
    return (ids, stats) if return_stats else ids


def _on_device(tokens, like):
    """Host token ids (a list) as a (1, T) array beside ``like``."""
    xp = array_namespace(like)
    return xp.astype(backend.asarray_like(host.asarray([tokens], dtype=host.int64).reshape(1, -1), like), like.dtype)


def _speculate(target, draft, input_ids, max_new_tokens, k, greedy, temperature, rng, eos_token_id):
    """The loop of rounds; returns the new ids (a host list) and the statistics."""
    # Read the prompt. Each model then holds (state after the text so far, logits for the next token).
    t_next, t_state = _read(target, input_ids, None, 1)                      # (1, V)
    d_next, d_state = _read(draft, input_ids, None, 1)                       # (1, V)
    V = t_next.shape[-1]
    fn, ok = "speculative_generate", d_next.shape[-1] == V
    rules.require(ok, fn, "draft", f"a model of the target's vocabulary ({V} logits)", d_next.shape[-1])
    new, rounds, proposed, accepted = [], 0, 0, 0
    while len(new) < max_new_tokens:
        rounds += 1
        k_round = min(k, max_new_tokens - len(new) - 1)    # room for the guesses and the one token after them

        # 1. The draft guesses x_1..x_k one step at a time, from q_j = softmax(draft logits / temperature).
        guesses, q, logits, state = [], [], d_next[0], d_state
        for j in range(k_round):
            if j > 0:
                step, state = _read(draft, _on_device(guesses[-1:], input_ids), state, 1)
                logits = step[0]
            if greedy:
                guesses.append(int(host.argmax(logits)))
            else:
                q.append(_softmax(logits, temperature))
                guesses.append(_draw(q[-1], rng))

        # 2. The target scores all k guesses in one call from its saved state: p_1 (saved) .. p_k+1.
        scores = t_next
        if k_round:
            verify, _ = _read(target, _on_device(guesses, input_ids), t_state, k_round)   # (k, V)
            scores = host.concatenate([t_next, verify], axis=0)                             # (k + 1, V)

        # 3. Keep a prefix of the guesses, then one more token from the target.
        n, last = _verify(guesses, q, scores, greedy, temperature, rng)
        emitted = guesses[:n] + [last]
        proposed += k_round
        accepted += n
        if eos_token_id is not None and eos_token_id in emitted:
            new += emitted[:emitted.index(eos_token_id) + 1]
            break
        new += emitted
        if len(new) >= max_new_tokens:
            break

        # 4. Roll back: from the states before the round, both models read the kept tokens again.
        ids = _on_device(emitted, input_ids)                                 # (1, n + 1)
        t_next, t_state = _read(target, ids, t_state, 1)
        d_next, d_state = _read(draft, ids, d_state, 1)
    stats = {"rounds": rounds, "proposed": proposed, "accepted": accepted,
             "acceptance_rate": accepted / proposed if proposed else 0.0}
    return new, stats
