"""Public checks for lesson 17 (watermarking). Run them with `python -m minigen grade . --public-only`.

The references are minigen's WatermarkLogitsProcessor (its green lists are Hugging Face's, bit for bit),
its WatermarkDetector (the counts and the z-score) and the closed form of the z-score.
"""

import math

import numpy as np

from minigen.grading import CheckFailure, case, check, expect_close, expect_true, same_values
from minigen.sample import WatermarkDetector, WatermarkLogitsProcessor
from minigen.sample.watermark import randperm

# What each exercise may not take from minigen: the processor's own green lists and seeds, and the detector's
# counting and z-score. The worker replaces these before the student's file loads (the permutation itself,
# randperm, stays: the lesson hands it to the student as `permutation`).
FORBIDDEN = {
    "green_list": ["minigen.sample.watermark.WatermarkLogitsProcessor.greenlist_ids",
                   "minigen.sample.watermark.WatermarkLogitsProcessor.green_mask",
                   "minigen.sample.watermark.WatermarkLogitsProcessor.seed",
                   "minigen.sample.watermark._green_mask"],
    "z_score": ["minigen.sample.watermark.WatermarkDetector.__call__"],
    "count_green": ["minigen.sample.watermark.WatermarkDetector.__call__",
                    "minigen.sample.watermark.WatermarkDetector._score_row",
                    "minigen.sample.watermark.WatermarkDetector._is_green"],
}

KEY = 15485863                     # Hugging Face's default hashing_key, the exercises' default key


def permutation(seed, n):
    """The lesson's permutation: torch.randperm(n) after manual_seed(seed % (2**64 - 1))."""
    return np.array(randperm(int(seed), n))


def _ids(values):
    """``n id(s) [a, b, ...]``: a list of ids, its first 12 shown."""
    shown = ", ".join(str(int(v)) for v in list(values)[:12]) + (", ..." if len(values) > 12 else "")
    return f"{len(values)} id{'' if len(values) == 1 else 's'} [{shown}]"


# ---------------------------------------------------------------------------- 17.1 green_list

def green_reference(previous_token, vocab_size, gamma, key):
    """The processor's green list after ``previous_token``, ascending."""
    processor = WatermarkLogitsProcessor(vocab_size, greenlist_ratio=gamma, hashing_key=key)
    return np.sort(processor.greenlist_ids([int(previous_token)]))


def green_slips(previous_token, vocab_size, gamma, key):
    """[(hint, the ids a known mistake returns)], in the order they are tried."""
    n, prev = int(vocab_size * gamma), int(previous_token)
    perm = permutation(key * prev, vocab_size)
    size = "the list holds int(vocab_size * gamma) ids, rounded DOWN as Hugging Face does (int(V * gamma))."
    return [
        ("It seeds with the previous token alone: the seed is key * previous_token.",
         permutation(prev, vocab_size)[:n]),
        ("It adds the key: the seed is the product key * previous_token.", permutation(key + prev, vocab_size)[:n]),
        ("It ignores the previous token (the seed is the key alone): each context has its own list, seeded with "
         "key * previous_token.", permutation(key, vocab_size)[:n]),
        ("It returns the red list: the green list is the FIRST int(V * gamma) entries of the permutation, "
         "perm[:n].", perm[n:]),
        ("It takes the LAST entries of the permutation: the green list is the FIRST int(V * gamma), perm[:n].",
         perm[vocab_size - n:]),
        ("It rounds up or to the nearest: " + size, perm[:math.ceil(vocab_size * gamma)]),
        ("It rounds up or to the nearest: " + size, perm[:round(vocab_size * gamma)]),
        ("It keeps the tokens whose permutation ENTRY is below n (np.flatnonzero(perm < n)): the green list is the "
         "first n entries themselves, perm[:n].", np.flatnonzero(perm < n)),
        ("It keeps int(V * (1 - gamma)) tokens: gamma is the green share of the vocabulary.",
         perm[:int(vocab_size * (1 - gamma))]),
    ]


def check_green_list(student, previous_token, vocab_size, gamma, key=None):
    """The student's list after ``previous_token`` holds exactly the processor's ids (in any order)."""
    k = KEY if key is None else key
    call = f"green_list({previous_token}, {vocab_size}, {gamma}" + (")" if key is None else f", key={key})")
    got = (student.green_list(previous_token, vocab_size, gamma) if key is None
           else student.green_list(previous_token, vocab_size, gamma, key))
    expect_true(got is not None, f"{call} returned None: return the green token ids, an int array")
    got = np.asarray(got)
    want = green_reference(previous_token, vocab_size, gamma, k)
    expect_true(got.dtype != bool, f"{call} returned a boolean array of shape {got.shape}: return the green token "
                                   f"IDS, the first int(V * gamma) = {len(want)} entries of the permutation")
    expect_true(got.ndim == 1, f"{call} returned an array of shape {got.shape}; expected the {len(want)} green ids, "
                               f"shape ({len(want)},)")
    expect_true(got.size == 0 or np.all(got == np.round(got)), f"{call} returned non-integers "
                                                                f"{got.ravel()[:6].tolist()}; expected token ids")
    got = np.sort(got.astype(np.int64))
    if np.array_equal(got, want):
        return
    message = f"{call} returned {_ids(got)}; expected the {_ids(want)} (sorted here: any order is fine)."
    for hint, wrong in green_slips(previous_token, vocab_size, gamma, k):
        if np.array_equal(got, np.sort(wrong)):
            raise CheckFailure(f"{message} {hint}")
    raise CheckFailure(message)


@check("green_list", points=2)
def green_list_matches_the_processor(student):
    """green_list holds the same ids as minigen's (and Hugging Face's) WatermarkLogitsProcessor"""
    for prev in (5, 40):
        with case(f"After token {prev}, V = 63, gamma = 0.25, the default key"):
            check_green_list(student, prev, 63, 0.25)
    with case("After token 7, V = 63, gamma = 0.25, key = 7"):
        check_green_list(student, 7, 63, 0.25, key=7)
    with case("After token 3, V = 10, gamma = 0.27 (2.7 tokens: rounded down to 2)"):
        check_green_list(student, 3, 10, 0.27, key=KEY)


@check("green_list", points=1)
def green_list_is_where_the_processor_adds_the_bias(student):
    """green_list is where WatermarkLogitsProcessor adds delta to the scores, for 8 contexts"""
    V, gamma, key = 40, 0.3, 123457
    contexts = np.array([[1, 0], [2, 39], [4, 17], [0, 3], [9, 11], [5, 25], [6, 2], [8, 30]])   # (B, 2)
    processor = WatermarkLogitsProcessor(V, greenlist_ratio=gamma, bias=2.0, hashing_key=key)
    biased = processor(contexts, np.zeros((len(contexts), V))) > 1.0                               # (B, V)
    for row, context in enumerate(contexts.tolist()):
        with case(f"For the context {context} (its last token seeds the list)"):
            got = student.green_list(context[-1], V, gamma, key)
            expect_true(got is not None, "green_list returned None: return the green token ids")
            expect_close("green_list", f"green mask after token {context[-1]}",
                         np.isin(np.arange(V), np.asarray(got)), biased[row])


# ---------------------------------------------------------------------------- 17.2 z_score

def z_reference(num_green, num_tokens, gamma):
    num_green, num_tokens = np.asarray(num_green, dtype=np.float64), np.asarray(num_tokens, dtype=np.float64)
    return (num_green - gamma * num_tokens) / np.sqrt(num_tokens * gamma * (1 - gamma))


def z_slips(num_green, num_tokens, gamma):
    g, T = np.asarray(num_green, dtype=np.float64), np.asarray(num_tokens, dtype=np.float64)
    with np.errstate(all="ignore"):
        return {
            "It forgets the square root: z divides by the standard deviation sqrt(T gamma (1 - gamma)), not by "
            "the variance.": (g - gamma * T) / (T * gamma * (1 - gamma)),
            "It leaves T out of the variance: T_g ~ Binomial(T, gamma) has variance T gamma (1 - gamma), so "
            "z = (T_g - gamma T) / sqrt(T gamma (1 - gamma)).": (g - gamma * T) / np.sqrt(gamma * (1 - gamma)),
            "It standardises the green FRACTION T_g / T with the standard deviation of ONE position; the fraction "
            "of T positions has variance gamma (1 - gamma) / T.": (g / T - gamma) / np.sqrt(gamma * (1 - gamma)),
            "It divides the count's excess by the fraction's standard deviation (or the fraction's by the count's): "
            "use counts throughout, (T_g - gamma T) / sqrt(T gamma (1 - gamma)).":
                (g / T - gamma) / np.sqrt(T * gamma * (1 - gamma)),
            "It uses the variance T gamma (a Poisson count's): a Binomial(T, gamma) count has variance "
            "T gamma (1 - gamma).": (g - gamma * T) / np.sqrt(T * gamma),
            "It centres on (1 - gamma) T: the expected number of GREEN positions is gamma T.":
                (g - (1 - gamma) * T) / np.sqrt(T * gamma * (1 - gamma)),
            "It has the opposite sign: an excess of green tokens gives a positive z.":
                (gamma * T - g) / np.sqrt(T * gamma * (1 - gamma)),
            "It takes the absolute value: the test is one-sided, and a deficit of green gives a negative z.":
                np.abs(g - gamma * T) / np.sqrt(T * gamma * (1 - gamma)),
        }



def check_z(student, num_green, num_tokens, gamma, atol=1e-9, rtol=1e-9):
    got = student.z_score(num_green, num_tokens, gamma)
    want = z_reference(num_green, num_tokens, gamma)
    try:
        expect_close("z_score", "z", got, want, atol=atol, rtol=rtol)
    except CheckFailure as e:
        for hint, wrong in z_slips(num_green, num_tokens, gamma).items():
            if same_values(got, wrong):
                raise CheckFailure(f"{e} {hint}") from None
        raise


@check("z_score", points=1)
def z_score_is_the_closed_form(student):
    """z_score is (T_g - gamma T) / sqrt(T gamma (1 - gamma)) for numbers and arrays, broadcast together"""
    with case("For 50 green of 100, gamma = 0.25"):
        check_z(student, 50, 100, 0.25)
    with case("For arrays (B,): counts above and below gamma T, gamma = 0.3"):
        check_z(student, np.array([3.0, 12.0, 30.0, 61.0, 0.0]), np.array([10.0, 40.0, 50.0, 200.0, 20.0]), 0.3)
    with case("For counts (B, L) and lengths (L,), broadcast: every sample at every length"):
        counts = np.cumsum(np.random.default_rng(1).random((3, 6)) < 0.5, axis=1)       # (3, 6)
        check_z(student, counts, np.arange(1, 7), 0.25)


@check("z_score", points=2)
def z_score_matches_the_detector(student):
    """z_score of WatermarkDetector's counts equals its z-score, on 6 sequences"""
    V, gamma, key = 30, 0.4, 99991
    ids = np.random.default_rng(2).integers(0, V, (6, 25))
    found = WatermarkDetector(V, dict(greenlist_ratio=gamma, hashing_key=key))(ids, return_dict=True)
    num_green = found.num_green_tokens.astype(np.int64)
    num_tokens = found.num_tokens_scored.astype(np.int64)
    with case(f"For the detector's counts T_g = {num_green.tolist()} of T = {num_tokens.tolist()}, gamma = {gamma} "
              "(integer arrays)"):
        got = student.z_score(num_green, num_tokens, gamma)
        try:
            expect_close("z_score", "z", got, found.z_score, atol=1e-9, rtol=1e-9)
        except CheckFailure as e:
            for hint, wrong in z_slips(num_green, num_tokens, gamma).items():
                if same_values(got, wrong):
                    raise CheckFailure(f"{e} {hint}") from None
            raise


# ---------------------------------------------------------------------------- 17.3 count_green

def count_reference(ids, vocab_size, gamma, key):
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) < 2:
        return 0
    detector = WatermarkDetector(vocab_size, dict(greenlist_ratio=gamma, hashing_key=key))
    return int(detector(ids[None], return_dict=True).num_green_tokens[0])


def is_green(previous_token, token, vocab_size, gamma, key):
    return bool(token in green_reference(previous_token, vocab_size, gamma, key))


def count_slips(ids, vocab_size, gamma, key):
    ids = [int(t) for t in ids]
    pairs = list(zip(ids[:-1], ids[1:]))
    right = sum(is_green(a, b, vocab_size, gamma, key) for a, b in pairs)
    return {
        "It scores each token with its OWN green list: position t is scored with the list of the PREVIOUS "
        "token, ids[t - 1].": sum(is_green(t, t, vocab_size, gamma, key) for t in ids[1:]),
        "It scores the pairs the wrong way round (is ids[t - 1] in the list of ids[t]?): the previous token "
        "seeds the list, and the token itself is the one looked up in it.":
            sum(is_green(b, a, vocab_size, gamma, key) for a, b in pairs),
        "It counts the red positions: count those whose token IS in the green list.": len(pairs) - right,
        "It scores position 0 too, with the list of ids[-1] (Python's ids[t - 1] at t = 0 is the LAST token): "
        "score t = 1 .. T only.": right + is_green(ids[-1], ids[0], vocab_size, gamma, key),
        "It leaves out the last position: score t = 1 .. T, where ids has T + 1 tokens.":
            right - (is_green(ids[-2], ids[-1], vocab_size, gamma, key) if pairs else 0),
        "It counts each distinct (previous, token) pair once: count every position (the lesson's section 6 "
        "discusses the other choice).": sum(is_green(a, b, vocab_size, gamma, key) for a, b in set(pairs)),
    }


def check_counts(student, sequences, vocab_size, gamma, key=None):
    """The student's counts of several sequences, all at once: a slip is named when all of them match it."""
    k = KEY if key is None else key
    got = []
    for ids in sequences:
        n = (student.count_green(ids.copy(), vocab_size, gamma) if key is None
             else student.count_green(ids.copy(), vocab_size, gamma, key))
        expect_true(n is not None, "count_green returned None: return the number of green positions, an int")
        expect_true(np.ndim(n) == 0, f"count_green returned an array of shape {np.shape(n)}; return one number, "
                                     "the count of green positions")
        got.append(float(n))
    want = [count_reference(ids, vocab_size, gamma, k) for ids in sequences]
    if np.array_equal(got, want):
        return
    message = (f"count_green returned {[int(g) if g == int(g) else g for g in got]} green positions for the "
               f"{len(sequences)} sequences; expected {want} (V = {vocab_size}, gamma = {gamma}, key = {k}).")
    slips = [count_slips(ids, vocab_size, gamma, k) for ids in sequences]
    for hint in slips[0]:
        if np.array_equal(got, [s[hint] for s in slips]):
            raise CheckFailure(f"{message} {hint}")
    raise CheckFailure(message)


def crafted_sequence(vocab_size, gamma, key, length, seed):
    """A random sequence (length >= 12) that repeats a green pair three times, whose last position is green,
    and whose first token is green after its last one: so that each slip of count_slips gives another count."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab_size, length)
    a = ids[2]
    b = green_reference(a, vocab_size, gamma, key)[-1]
    ids[3], ids[5], ids[6], ids[8], ids[9] = b, a, b, a, b              # the green pair (a, b) three times
    ids[-1] = green_reference(ids[-2], vocab_size, gamma, key)[0]
    ids[0] = green_reference(ids[-1], vocab_size, gamma, key)[0]
    return ids


@check("count_green", points=2)
def count_green_matches_the_detector(student):
    """count_green counts what WatermarkDetector counts, on 5 sequences"""
    V, gamma = 63, 0.25
    with case("For 5 sequences of 30 tokens, V = 63, gamma = 0.25, the default key"):
        check_counts(student, [crafted_sequence(V, gamma, KEY, 30, s) for s in range(5)], V, gamma)
    with case("For 4 sequences of 12 tokens, V = 20, gamma = 0.5, key = 31"):
        check_counts(student, [crafted_sequence(20, 0.5, 31, 12, s) for s in range(10, 14)], 20, 0.5, key=31)
