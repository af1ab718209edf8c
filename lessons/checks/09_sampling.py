"""Public checks for lesson 09 (sampling). Run them with `python -m minigen grade . --public-only`.

minigen's processors take ``(input_ids, scores)`` with a batch axis, scores (B, V);
the lesson's functions take (V,) or (B, V). ``reference`` bridges the two.
"""

import warnings

import numpy as np

from minigen.grading import case, check, expect_close, expect_true
from minigen.sample import RepetitionPenaltyLogitsProcessor, TopKLogitsWarper, TopPLogitsWarper


# What each exercise may not take from minigen: the processor that computes it (generate() calls them too);
# min-p with min_p = 1 and min_tokens_to_keep = k is top-k; and every penalty's table of the tokens seen (the
# counts, the token masks, the n-gram bans: NoRepeatNGram with n = 1 bans every token seen).
# The worker replaces these before the student's file loads.
SEEN = ["minigen.sample.penalties._token_counts", "minigen.sample.penalties._token_mask",
        "minigen.sample.penalties.NoRepeatNGramLogitsProcessor.__call__"]
FORBIDDEN = {
    "top_k_filter": ["minigen.sample.processors.TopKLogitsWarper.__call__",
                     "minigen.sample.processors.MinPLogitsWarper.__call__"],
    "top_p_filter": ["minigen.sample.processors.TopPLogitsWarper.__call__"],
    "repetition_penalty": ["minigen.sample.penalties.RepetitionPenaltyLogitsProcessor.__call__"] + SEEN,
}


def reference(processor, logits, input_ids=None):
    """``processor(input_ids, scores)`` on a (V,) or (B, V) array, returned in the input's shape."""
    scores = np.atleast_2d(logits)
    ids = np.zeros((scores.shape[0], 1), dtype=np.int64) if input_ids is None else np.atleast_2d(input_ids)
    return processor(ids, scores).reshape(np.shape(logits))


def run(function, call, logits, *args):
    """``call(logits_copy, *args)``: fails if it warns, writes into the logits, or returns a wrong shape."""
    given = logits.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            out = call(given, *args)
        except RuntimeWarning as w:
            expect_true(False, f"{function} made NumPy warn ({w}): exp() of large logits overflows unless "
                               "the row maximum is subtracted first (lesson 03)")
    expect_true(np.array_equal(given, logits, equal_nan=True),
                f"{function} changed the logits it was given (it wrote into the input array); build a new "
                "array instead, with np.where")
    expect_true(out is not None, f"{function} returned None; return the new logits")
    out = np.asarray(out)
    expect_true(out.shape == logits.shape, f"{function} returned shape {out.shape} for logits of shape "
                                           f"{logits.shape}; return the same shape")
    return out


def expect_filtered(function, got, expected):
    """The same entries removed (-inf) as ``expected``, and the kept ones unchanged."""
    removed, should = np.isneginf(got), np.isneginf(expected)
    if not np.array_equal(removed, should):
        j = tuple(int(i) for i in np.argwhere(removed != should)[0])
        at = f"[{', '.join(map(str, j))}]"
        verdict = "removed (-inf)" if removed[j] else "kept"
        value = "-inf" if should[j] else f"{expected[j]:.6g}"
        expect_true(False, f"{function} {verdict} the logit at {at} = {value}, which should be "
                           f"{'kept' if removed[j] else 'removed (-inf)'}; it keeps {int((~removed).sum())} "
                           f"logits in all, the reference {int((~should).sum())}")
    kept = ~should
    expect_close(function, "kept logits", got[kept], expected[kept], atol=0, rtol=0)


def check_top_k(student, logits, k):
    got = run("top_k_filter", student.top_k_filter, logits, k)
    expect_filtered("top_k_filter", got, reference(TopKLogitsWarper(k), logits))


def check_top_p(student, logits, p):
    got = run("top_p_filter", student.top_p_filter, logits, p)
    expect_filtered("top_p_filter", got, reference(TopPLogitsWarper(p), logits))


def check_penalty(student, logits, ids, penalty):
    got = run("repetition_penalty", student.repetition_penalty, logits, ids, penalty)
    expect_close("repetition_penalty", "penalised logits", got,
                 reference(RepetitionPenaltyLogitsProcessor(penalty), logits, ids), atol=1e-12, rtol=1e-12)


@check("top_k_filter", points=2)
def top_k_matches_minigen(student):
    """top_k_filter keeps what TopKLogitsWarper keeps, for a (3, 10) batch and a 1-D row"""
    rng = np.random.default_rng(0)
    with case("For logits of shape (3, 10) and k = 3"):
        check_top_k(student, rng.standard_normal((3, 10)), 3)
    with case("For 1-D logits (V = 7) and k = 4"):
        check_top_k(student, rng.standard_normal(7), 4)


@check("top_p_filter", points=3)
def top_p_matches_minigen(student):
    """top_p_filter keeps what TopPLogitsWarper keeps, for a (3, 10) batch and a 1-D row"""
    rng = np.random.default_rng(1)
    with case("For logits of shape (3, 10) and p = 0.8"):
        check_top_p(student, rng.standard_normal((3, 10)) * 2, 0.8)
    with case("For 1-D logits log([0.5, 0.3, 0.15, 0.05]) and p = 0.7 (keep the first two)"):
        check_top_p(student, np.log(np.array([0.5, 0.3, 0.15, 0.05])), 0.7)


@check("repetition_penalty", points=2)
def repetition_penalty_matches_minigen(student):
    """repetition_penalty agrees with RepetitionPenaltyLogitsProcessor on a (2, 8) batch"""
    rng = np.random.default_rng(2)
    with case("For logits of shape (2, 8), previous_ids of shape (2, 5) and penalty 1.5"):
        check_penalty(student, rng.standard_normal((2, 8)) * 2, rng.integers(0, 8, size=(2, 5)), 1.5)
