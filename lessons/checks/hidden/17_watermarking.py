"""Hidden checks for lesson 17: other vocabularies, gammas and keys, the first and last token ids, large counts."""

import numpy as np

from minigen.grading import case, check, expect_no_warnings, expect_true, public_checks

public = public_checks(__file__)


@check("green_list", points=2)
def green_list_other_vocabularies_and_keys(student):
    """green_list matches the processor for V = 2 to 50257, gamma 0.1 to 0.8, tokens 0 and V - 1, keys up to 2^62"""
    with case("For V = 2, gamma = 0.5 (one green token), after token 0 and after token 1"):
        public.check_green_list(student, 0, 2, 0.5, key=public.KEY)
        public.check_green_list(student, 1, 2, 0.5, key=public.KEY)
    with case("For V = 1000, gamma = 0.1, key = 1, after token 0 (seed 0) and token 999"):
        public.check_green_list(student, 0, 1000, 0.1, key=1)
        public.check_green_list(student, 999, 1000, 0.1, key=1)
    with case("For V = 37, gamma = 0.8 (29.6 tokens: rounded down to 29), key = 2^31 - 1, after token 36"):
        public.check_green_list(student, 36, 37, 0.8, key=2**31 - 1)
    with case("For V = 1000, key = 2^62 + 5, after token 999: key * previous_token passes 2^64 (use Python ints; "
              "permutation reduces the seed as Hugging Face does)"):
        public.check_green_list(student, 999, 1000, 0.25, key=2**62 + 5)
    with case("For GPT-2's vocabulary, V = 50257, gamma = 0.25, the default key, after token 50256"):
        public.check_green_list(student, 50256, 50257, 0.25)


@check("z_score", points=2)
def z_score_large_counts_and_integers(student):
    """z_score is exact for huge counts, one position, integer inputs, deficits, other gammas, without warnings"""
    with case("For T = 10^9 positions (Python ints), T_g = 250 040 000, gamma = 0.25"):
        public.check_z(student, 250_040_000, 10**9, 0.25)
    with case("For int64 arrays of counts up to 10^12"):
        public.check_z(student, np.array([10**11, 3 * 10**11 + 12_345, 5]), np.array([10**12, 10**12, 40]), 0.3,
                       rtol=1e-6)
    with case("For one scored position, green and red"):
        public.check_z(student, np.array([1, 0]), np.array([1, 1]), 0.25)
    with case("For counts below gamma T (a negative z), gamma = 0.5"):
        public.check_z(student, np.array([10, 40, 2]), np.array([100, 100, 10]), 0.5)
    with case("For int32 arrays (B,) against one T, gamma = 0.1 and 0.9"):
        counts = np.array([0, 7, 19, 60], dtype=np.int32)
        public.check_z(student, counts, 60, 0.1)
        public.check_z(student, counts, 60, 0.9)
    with case("For numbers: a 0-d result"):
        got = np.asarray(student.z_score(3, 4, 0.25), dtype=np.float64)
        expect_true(got.shape == (), f"z_score(3, 4, 0.25) returned shape {got.shape}; expected one number")
    with case("For T = 4, 8, ..., 32"):
        expect_no_warnings("z_score", lambda: public.check_z(student, np.arange(1, 9), np.arange(1, 9) * 4, 0.25),
                    "Nothing here divides by 0 or takes the root of a negative number: T >= 1 and 0 < gamma < 1.")


@check("count_green", points=2)
def count_green_edge_cases(student):
    """count_green is right for 1 and 2 tokens, tokens 0 and V - 1, repeats, long sequences and other keys"""
    with case("For one token (nothing scored: 0) and for two tokens"):
        public.check_counts(student, [np.array([5]), np.array([0, 7]), np.array([62, 0]), np.array([3, 3])], 63, 0.25)
    with case("For sequences of the first and last ids, 0 and V - 1, V = 40, gamma = 0.3, key = 2^31 - 1"):
        rows = [np.array([0, 39, 0, 39, 39, 0, 0]), np.array([39, 39, 39, 0, 39]), np.zeros(6, dtype=np.int64)]
        public.check_counts(student, rows, 40, 0.3, key=2**31 - 1)
    with case("For 3 sequences of 400 tokens, V = 1000, gamma = 0.1, key = 1"):
        rows = [public.crafted_sequence(1000, 0.1, 1, 400, s) for s in range(3)]
        public.check_counts(student, rows, 1000, 0.1, key=1)
    with case("For int32 sequences, V = 50257, gamma = 0.5, the default key"):
        rows = [public.crafted_sequence(50257, 0.5, public.KEY, 15, s).astype(np.int32) for s in range(20, 23)]
        public.check_counts(student, rows, 50257, 0.5)
