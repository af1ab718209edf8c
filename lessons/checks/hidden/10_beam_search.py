"""Hidden checks for lesson 10: other sizes, impossible tokens, intermediate widths. They stay with the instructor."""

import warnings

import numpy as np

from minigen.grading import check, expect_close, expect_true, public_checks

public = public_checks(__file__)


@check("beam_search", points=2)
def exhaustive_other_sizes(student):
    """a wide beam is exhaustive for V = 4 and V = 2, max_len 1 to 4, and never keeps a -inf (impossible) token"""
    for V, L, seed, banned in [(4, 3, 30, ()), (4, 3, 31, (1,)), (2, 4, 32, ()), (5, 1, 33, (2, 4))]:
        step = public.toy_model(V, seed, banned=banned)
        what = f"with V = {V}, max_len = {L}, num_beams = {V ** L}" + (
            f" and tokens {list(banned)} impossible (log-prob -inf)" if banned else "")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = student.beam_search(step, V, 0, V ** L, L)
        got_n = public.normalized("beam_search", got)
        bad = [g for g in got_n if any(t in banned for t in g[0])]
        if bad:
            expect_true(False, f"beam_search: {what}, you kept {bad[0][0]}, which contains an impossible token "
                               "(its log-probability is -inf); skip such candidates.")
        public.expect_hypotheses("beam_search", got, public.exhaustive(step, V, 0, L), what, step, V)


@check("beam_search", points=2)
def narrowing_beam_intermediate_widths(student):
    """for 1 < num_beams < V^max_len the beam narrows as hypotheses finish: at most num_beams - len(finished) kept"""
    for V, L, K, seed in [(5, 6, 2, 40), (5, 6, 3, 41), (4, 7, 4, 42), (6, 5, 5, 43)]:
        step = public.toy_model(V, seed, scale=1.0)
        expected = public.narrowing_beam(step, V, 0, K, L)
        got = public.normalized("beam_search", student.beam_search(step, V, 0, K, L))
        expect_true(len(got) <= K, f"beam_search: with num_beams = {K} you returned {len(got)} finished "
                                   "hypotheses; at each step keep only the best num_beams - len(finished) "
                                   "candidates, so that there are never more than num_beams.")
        public.expect_hypotheses("beam_search", got, expected,
                                 f"with V = {V}, max_len = {L}, eos = 0 and num_beams = {K} (the beam keeps the "
                                 f"best num_beams - len(finished) candidates of each step)", step, V)


@check("beam_search", points=1)
def matches_minigen_greedy_and_exhaustive(student):
    """with an end token, beam_search agrees with minigen's beam search at K = 1 and at K >= V^max_len"""
    for V, L, K, seed in [(4, 5, 1, 50), (3, 3, 27, 51)]:
        step = public.toy_model(V, seed)
        public.expect_hypotheses("beam_search", student.beam_search(step, V, 0, K, L),
                                 public.minigen_hypotheses(step, V, V, 0, K, L, min(K, len(public.exhaustive(
                                     step, V, 0, L)))),
                                 f"with V = {V}, max_len = {L}, eos = 0 and num_beams = {K} (compared with "
                                 "minigen.sample.beam_search)", step, V)


@check("length_normalized_score", points=1)
def length_penalty_edge_cases(student):
    """length_normalized_score: scalars, length_penalty 0 (raw sums) and < 0, integer lengths, long sequences"""
    expect_close("length_normalized_score", "score with length_penalty 0",
                 student.length_normalized_score(np.array([-2.5, -7.0]), np.array([3, 9]), 0),
                 np.array([-2.5, -7.0]), atol=1e-12, rtol=1e-12)
    expect_close("length_normalized_score", "score with length_penalty -1.0",
                 student.length_normalized_score(np.array([-2.5, -7.0]), np.array([3, 9]), -1.0),
                 np.array([-7.5, -63.0]), atol=1e-12, rtol=1e-12)
    expect_close("length_normalized_score", "score for sum -1, length 3, length_penalty 2 (integers)",
                 student.length_normalized_score(-1, 3, 2), -1 / 9, atol=1e-12, rtol=1e-12)
    expect_close("length_normalized_score", "score for a 1000-token hypothesis with length_penalty 2.5",
                 student.length_normalized_score(-1500.0, 1000, 2.5), -1500.0 / 1000 ** 2.5, atol=0, rtol=1e-12)
