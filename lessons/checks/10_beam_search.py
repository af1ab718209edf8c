"""Public checks for lesson 10 (beam search). Run them with `python -m minigen grade . --public-only`."""

import numpy as np

import minigen
from minigen.grading import check, expect_close, expect_true
from minigen.models.generation import GenerationMixin
from minigen.sample import beam_search as minigen_beam_search
from minigen.sample.beam import BeamHypotheses


# What each exercise may not take from minigen: its beam searches (the general one with its loop, and
# Seq2Seq's) and the hypotheses' length-normalised score. The worker replaces these before the student's file loads.
FORBIDDEN = {
    "beam_search": ["minigen.sample.beam.beam_search", "minigen.sample.beam._search",
                    "minigen.models.seq2seq.Seq2Seq.beam_decode", "minigen.models.seq2seq.Seq2Seq._beam_one"],
    "length_normalized_score": ["minigen.sample.beam.BeamHypotheses.add", "minigen.sample.beam.BeamHypotheses.is_done"],
}


# ---------------------------------------------------------------------------- toy models and references

def toy_model(V, seed, scale=1.5, banned=()):
    """prefix -> (V,) log-probabilities, a fixed random function of the prefix; banned tokens get -inf."""
    cache = {}

    def step_log_probs(prefix):
        key = tuple(int(i) for i in prefix)
        if key not in cache:
            z = np.random.default_rng([seed, *key]).standard_normal(V) * scale
            z[list(banned)] = -np.inf
            cache[key] = z - np.logaddexp.reduce(z)
        return cache[key].copy()
    return step_log_probs


def exhaustive(step, bos, eos, max_len):
    """Every complete sequence (ends in eos, or has max_len tokens) with its summed log-prob, best first."""
    out = []

    def visit(tokens, total):
        logp = step((bos,) + tokens)
        for v in range(len(logp)):
            if logp[v] == -np.inf:
                continue
            seq, s = tokens + (v,), total + float(logp[v])
            if v == eos or len(seq) == max_len:
                out.append((seq, s))
            else:
                visit(seq, s)
    visit((), 0.0)
    return sorted(out, key=lambda h: -h[1])


def greedy(step, bos, eos, max_len):
    tokens, total = (), 0.0
    while len(tokens) < max_len and (not tokens or tokens[-1] != eos):
        logp = step((bos,) + tokens)
        v = int(np.argmax(logp))
        tokens, total = tokens + (v,), total + float(logp[v])
    return [(tokens, total)]


def narrowing_beam(step, bos, eos, K, max_len):
    """An independent reference of the lesson's variant: the beam narrows as hypotheses finish."""
    live, done = [((), 0.0)], []
    for t in range(1, max_len + 1):
        cand = [(tokens + (int(v),), s + float(lp[v])) for tokens, s in live
                for lp in [step((bos,) + tokens)] for v in np.flatnonzero(np.isfinite(lp))]
        cand = sorted(cand, key=lambda c: -c[1])[:K - len(done)]
        done += [c for c in cand if c[0][-1] == eos or t == max_len]
        live = [c for c in cand if not (c[0][-1] == eos or t == max_len)]
        if not live:
            break
    return sorted(done, key=lambda h: -h[1])


class PrefixModel(GenerationMixin, minigen.nn.Module):
    """A prefix function as a minigen decoder (the state is each row's prefix), for minigen's beam search."""

    def __init__(self, step, V):
        super().__init__()
        self.step, self.V = step, V

    def forward(self, ids, state=None):
        ids = np.asarray(ids)
        prefixes = [(state[b] if state is not None else ()) + tuple(int(i) for i in ids[b])
                    for b in range(ids.shape[0])]
        logits = np.zeros((ids.shape[0], ids.shape[1], self.V))
        logits[:, -1] = [self.step(p) for p in prefixes]
        return minigen.Tensor(logits), prefixes

    @staticmethod
    def reorder_state(state, index):
        return [state[int(i)] for i in index]


def minigen_hypotheses(step, V, bos, eos, num_beams, max_len, n_return):
    out = minigen_beam_search(PrefixModel(step, V), np.array([[bos]]), num_beams=num_beams, max_new_tokens=max_len,
                              eos_token_id=eos, length_penalty=0.0, num_return_sequences=n_return)
    hyps = []
    for row, score in zip(out.sequences, out.sequences_scores):
        tokens = [int(t) for t in row[1:]]
        if eos is not None and eos in tokens:
            tokens = tokens[:tokens.index(eos) + 1]
        hyps.append((tuple(tokens), float(score)))
    return hyps


# ---------------------------------------------------------------------------- comparing hypotheses

def _fmt(h):
    return f"{tuple(h[0])} (sum {h[1]:.4f})"


def normalized(function, hyps):
    """The student's hypotheses as [(tuple of ints, float)], or a failure that says what the shape should be."""
    expect_true(isinstance(hyps, (list, tuple)),
                f"{function} returned {type(hyps).__name__}; expected a list of (tokens, sum_logprob) pairs")
    out = []
    for i, h in enumerate(hyps):
        ok = isinstance(h, (list, tuple)) and len(h) == 2
        expect_true(ok, f"{function} returned {h!r} as hypothesis {i}; each one must be a pair "
                        "(tokens, sum_logprob)")
        try:
            tokens, s = tuple(int(t) for t in h[0]), float(h[1])
        except (TypeError, ValueError):
            expect_true(False, f"{function} returned {h!r} as hypothesis {i}; expected (a tuple of token ids, "
                               "a float)")
        out.append((tokens, s))
    return out


def expect_hypotheses(function, got, expected, situation, step=None, bos=None):
    """got must equal expected: the same sequences with the same sums, in the same order."""
    got = normalized(function, got)
    impossible = [g for g in got if g[1] == -np.inf]
    if impossible:
        expect_true(False, f"{function}: {situation}, you kept {impossible[0][0]}, whose summed log-probability is "
                           "-inf: it contains a token the model makes impossible. Never keep a -inf candidate.")
    if step is not None:                           # are the reported sums the sums of the tokens' log-probs?
        for tokens, s in got:
            true = sum(float(step((bos,) + tokens[:t])[v]) for t, v in enumerate(tokens))
            expect_true(np.isclose(s, true, atol=1e-9), f"{function}: {situation}, you report sum_logprob {s:.6g} "
                        f"for {tokens}, but its log-probabilities add up to {true:.6g}. Add log p(v | prefix) "
                        "of every token, starting from 0.")
    sums = [s for _, s in got]
    expect_true(all(a >= b - 1e-12 for a, b in zip(sums, sums[1:])),
                f"{function}: {situation}, the hypotheses are not sorted best first: sums {np.round(sums, 4).tolist()}")
    if len(got) != len(expected):
        missing = [h for h in expected if h[0] not in {g[0] for g in got}]
        extra = [g for g in got if g[0] not in {h[0] for h in expected}]
        hint = ""
        if missing:
            hint += f" Missing, for example {_fmt(missing[0])}."
        if extra:
            hint += f" Not expected, for example {_fmt(extra[0])}."
        expect_true(False, f"{function}: {situation}, expected {len(expected)} finished hypotheses, got "
                           f"{len(got)}.{hint}")
    for i, (g, e) in enumerate(zip(got, expected)):
        expect_true(g[0] == e[0] and np.isclose(g[1], e[1], atol=1e-9),
                    f"{function}: {situation}, hypothesis {i} (best first) should be {_fmt(e)}, got {_fmt(g)}.")


# ---------------------------------------------------------------------------- beam_search

@check("beam_search", points=2)
def wide_beam_is_exhaustive(student):
    """with num_beams >= V^max_len (V = 3, max_len = 3) beam_search finds every complete sequence, best first"""
    for seed, banned in [(0, ()), (1, ()), (2, (2,))]:
        step = toy_model(3, seed, banned=banned)
        impossible = f", token {banned[0]} impossible (log-prob -inf)" if banned else ""
        expect_hypotheses("beam_search", student.beam_search(step, 3, 0, 27, 3), exhaustive(step, 3, 0, 3),
                          f"with V = 3, max_len = 3, eos = 0 and num_beams = 27 (random toy model, seed {seed}"
                          f"{impossible})", step, 3)


@check("beam_search", points=1)
def narrowing_beam_width_three(student):
    """with num_beams = 3 (V = 5, max_len = 6) the beam keeps the best num_beams - len(finished) candidates"""
    step = toy_model(5, 60, scale=1.0)
    got = normalized("beam_search", student.beam_search(step, 5, 0, 3, 6))
    expect_true(len(got) <= 3, f"beam_search: with num_beams = 3 you returned {len(got)} finished hypotheses; at "
                               "each step keep only the best num_beams - len(finished) candidates, so that there "
                               "are never more than num_beams.")
    expect_hypotheses("beam_search", got, narrowing_beam(step, 5, 0, 3, 6),
                      "with V = 5, max_len = 6, eos = 0 and num_beams = 3", step, 5)


@check("beam_search", points=1)
def one_beam_is_greedy(student):
    """with num_beams = 1 beam_search returns the greedy sequence"""
    for V, seed in [(3, 10), (4, 11), (5, 12)]:
        step = toy_model(V, seed)
        expect_hypotheses("beam_search", student.beam_search(step, V, 0, 1, 4), greedy(step, V, 0, 4),
                          f"with num_beams = 1 (greedy), V = {V}, max_len = 4", step, V)


@check("beam_search", points=2)
def matches_minigen_without_eos(student):
    """without an end token (eos=None) beam_search returns the same K sequences as minigen.sample.beam_search"""
    for V, L, K, seed in [(4, 5, 3, 20), (3, 4, 2, 21)]:
        step = toy_model(V, seed)
        expect_hypotheses("beam_search", student.beam_search(step, V, None, K, L),
                          minigen_hypotheses(step, V, V, None, K, L, K),
                          f"with eos=None, V = {V}, max_len = {L} and num_beams = {K} (compared with "
                          "minigen.sample.beam_search)", step, V)


# ---------------------------------------------------------------------------- length_normalized_score

@check("length_normalized_score", points=2)
def length_penalty_values(student):
    """length_normalized_score is sum_logprob / length ** length_penalty, elementwise, as minigen's BeamHypotheses"""
    s = np.array([-1.0, -3.5, -10.0, -0.2])
    L = np.array([1, 4, 12, 2])
    for lp in (0.0, 1.0, 2.0, 0.6):
        expect_close("length_normalized_score", f"score (length_penalty = {lp})",
                     student.length_normalized_score(s, L, lp), s / L.astype(float) ** lp, atol=1e-12, rtol=1e-12)
    h = BeamHypotheses(num_beams=1, length_penalty=1.3, early_stopping=False, max_new_tokens=20)
    h.add(np.zeros(7), -4.2, 7)
    expect_close("length_normalized_score", "score for sum -4.2, length 7, length_penalty 1.3",
                 student.length_normalized_score(-4.2, 7, 1.3), h.worst_score, atol=1e-12, rtol=1e-12)
