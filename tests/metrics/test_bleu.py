"""BLEU: hand-computed examples, parity with sacreBLEU (tokenize="none"), and bad input."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigen.metrics import BLEUScore, bleu_from_stats, corpus_bleu, sentence_bleu

SMOOTH_METHODS = ["none", "floor", "add-k", "exp"]


@pytest.fixture(scope="module")
def sacre():
    """The sacrebleu module; the parity tests are skipped where it is not installed."""
    return pytest.importorskip("sacrebleu")


# --------------------------------------------------------------------------- hand-computed examples

def test_identical_hypothesis_and_reference_score_100():
    out = corpus_bleu(["the cat sat on the mat"], [["the cat sat on the mat"]])
    assert out.score == pytest.approx(100.0, abs=1e-9)
    assert out.counts == out.totals == [6, 5, 4, 3]
    assert out.precisions == [100.0] * 4
    assert (out.bp, out.sys_len, out.ref_len) == (1.0, 6, 6)
    assert str(out) == "BLEU = 100.00 100.0/100.0/100.0/100.0 (BP = 1.000 ratio = 1.000 hyp_len = 6 ref_len = 6)"


@pytest.mark.parametrize("smooth_method", SMOOTH_METHODS)
def test_no_overlap_scores_0(smooth_method):
    # no unigram matches: BLEU is 0 whatever the smoothing (sacreBLEU's early stop)
    out = corpus_bleu(["x y z w"], [["a b c d"]], smooth_method=smooth_method)
    assert out.score == 0.0
    assert out.counts == [0, 0, 0, 0] and out.totals == [4, 3, 2, 1]
    assert out.precisions == [0.0] * 4


def test_clipped_precisions_by_hand():
    # hyp  the cat sat on a mat        1-grams: the cat sat on mat match -> 5/6
    # ref  the cat sat on the mat      2-grams: the cat, cat sat, sat on -> 3/5
    #                                  3-grams: the cat sat, cat sat on  -> 2/4;  4-grams: the cat sat on -> 1/3
    out = corpus_bleu(["the cat sat on a mat"], [["the cat sat on the mat"]], smooth_method="none")
    assert out.counts == [5, 3, 2, 1] and out.totals == [6, 5, 4, 3]
    assert out.score == pytest.approx(100 * (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25, abs=1e-9)
    assert str(out) == "BLEU = 53.73 83.3/60.0/50.0/33.3 (BP = 1.000 ratio = 1.000 hyp_len = 6 ref_len = 6)"


def test_counts_are_clipped_by_the_most_generous_reference():
    # "the" x4 in the hypothesis; reference 1 has it once, reference 2 twice -> 2 matches
    out = corpus_bleu(["the the the the"], [["the cat"], ["the the mat"]], max_ngram_order=1)
    assert out.counts == [2] and out.totals == [4]
    assert out.ref_len == 3                    # |4 - 3| < |4 - 2|
    assert out.score == pytest.approx(50.0)    # BP = 1, p_1 = 2/4


def test_closest_reference_length_ties_go_to_the_shorter():
    out = corpus_bleu(["a b c d"], [["a b c"], ["a b c d e"]])
    assert out.ref_len == 3
    out = corpus_bleu(["a b c d"], [["a b c d e"], ["a b c"]])   # order of the streams does not matter
    assert out.ref_len == 3


def test_brevity_penalty_and_effective_order():
    # c = 2, r = 6: BP = exp(1 - 6/2); p_1 = p_2 = 1; no 3-grams at all
    hyp, ref = ["the cat"], [["the cat sat on the mat"]]
    out = corpus_bleu(hyp, ref)
    assert out.bp == pytest.approx(math.exp(-2))
    assert out.score == 0.0                  # N = 4 with p_3 = p_4 = 0
    out = corpus_bleu(hyp, ref, use_effective_order=True)
    assert out.score == pytest.approx(100 * math.exp(-2))   # N' = 2
    assert corpus_bleu([""], [["a b"]]).bp == 0.0


@pytest.mark.parametrize("smooth_method, smooth_value, expected", [
    # hyp "a b c d", ref "a b x y z": c = 4, r = 5, matches 2/4, 1/3, 0/2, 0/1
    ("none", None, 0.0),
    ("floor", None, (2 / 4 * 1 / 3 * (0.1 / 2) * (0.1 / 1)) ** 0.25),
    ("floor", 0.5, (2 / 4 * 1 / 3 * (0.5 / 2) * (0.5 / 1)) ** 0.25),
    ("exp", None, (2 / 4 * 1 / 3 * (1 / (2 * 2)) * (1 / (4 * 1))) ** 0.25),
    ("add-k", None, (2 / 4 * (1 + 1) / (3 + 1) * (0 + 1) / (2 + 1) * (0 + 1) / (1 + 1)) ** 0.25),
    ("add-k", 2, (2 / 4 * (1 + 2) / (3 + 2) * (0 + 2) / (2 + 2) * (0 + 2) / (1 + 2)) ** 0.25),
])
def test_smoothing_by_hand(smooth_method, smooth_value, expected):
    out = corpus_bleu(["a b c d"], [["a b x y z"]], smooth_method=smooth_method, smooth_value=smooth_value)
    bp = math.exp(1 - 5 / 4)
    assert out.score == pytest.approx(100 * bp * expected, abs=1e-9)
    assert out.counts == [2, 1, 0, 0] and out.totals == [4, 3, 2, 1]   # raw counts, even for add-k


def test_lowercase():
    hyp, ref = ["The cat sat down"], [["the cat sat down"]]
    assert corpus_bleu(hyp, ref, lowercase=True).score == pytest.approx(100.0)
    # cased: "The" misses, p = 3/4, 2/3, 1/2, 0/1 -> exp smoothing 1/2
    assert corpus_bleu(hyp, ref).score == pytest.approx(100 * (3 / 4 * 2 / 3 * 1 / 2 * 1 / 2) ** 0.25)


def test_whitespace_tokenisation():
    out = corpus_bleu(["  a\tb   c \n"], [["a b c"]], max_ngram_order=3)
    assert out.counts == out.totals == [3, 2, 1] and out.sys_len == 3


def test_corpus_statistics_are_summed_not_averaged():
    # sentence 1 is perfect, sentence 2 misses everything: counts add up over the corpus
    out = corpus_bleu(["a b", "c d"], [["a b", "x y"]], max_ngram_order=2)
    assert out.counts == [2, 1] and out.totals == [4, 2]
    assert out.score == pytest.approx(100 * (2 / 4 * 1 / 2) ** 0.5)


def test_sentence_bleu_uses_effective_order_by_default():
    # p_1 = 2/2, p_2 = 0/1 -> 1/2 ("exp"), N' = 2, BP = exp(1 - 3/2)
    out = sentence_bleu("hello world", ["hello there world"])
    assert out.score == pytest.approx(100 * math.sqrt(0.5) * math.exp(-0.5))
    # without it N = 4, and with no 3-grams at all p_3 = p_4 = 0 (smoothing stops there): BLEU = 0
    assert sentence_bleu("hello world", ["hello there world"], use_effective_order=False).score == 0.0


def test_bleu_score_str_and_ratio():
    out = BLEUScore(32.1234, [7, 4, 2, 1], [10, 10, 8, 10], [70.0, 40.0, 25.0, 10.0], 1.0, 10, 10)
    assert str(out) == "BLEU = 32.12 70.0/40.0/25.0/10.0 (BP = 1.000 ratio = 1.000 hyp_len = 10 ref_len = 10)"
    assert BLEUScore(0.0, [0], [0], [0.0], 1.0, 0, 0).ratio == 0.0


def test_bleu_from_stats_matches_corpus_bleu():
    out = bleu_from_stats([5, 3, 2, 1], [6, 5, 4, 3], 6, 6, smooth_method="none")
    assert out.score == corpus_bleu(["the cat sat on a mat"], [["the cat sat on the mat"]],
                                    smooth_method="none").score


# --------------------------------------------------------------------------- parity with sacreBLEU

VOCAB = ["a", "b", "c", "d", "A", "B"]
OTHER_VOCAB = ["x", "y"]          # shares nothing with VOCAB: corpora with zero matches
SEPARATORS = [" ", " ", "  ", "\t"]


def sentences(vocab=VOCAB, max_words=8):
    """Whitespace-joined words, 0 to max_words of them (so: empty and < 4-token sentences too)."""
    pairs = st.lists(st.tuples(st.sampled_from(vocab), st.sampled_from(SEPARATORS)), max_size=max_words)
    return pairs.map(lambda ps: "".join(word + sep for word, sep in ps).strip())


@st.composite
def corpora(draw, max_sentences=5, max_streams=3):
    """(hypotheses, references): I sentences, K reference streams; hypotheses are random,
    copies of a reference, a reference with a stretch cut out, or from a disjoint vocabulary."""
    n_sent = draw(st.integers(1, max_sentences))
    n_streams = draw(st.integers(1, max_streams))
    references = [draw(st.lists(sentences(), min_size=n_sent, max_size=n_sent)) for _ in range(n_streams)]
    hypotheses = []
    for i in range(n_sent):
        kind = draw(st.sampled_from(["random", "copy", "cut", "disjoint"]))
        ref = references[draw(st.integers(0, n_streams - 1))][i]
        if kind == "random":
            hyp = draw(sentences())
        elif kind == "copy":
            hyp = ref
        elif kind == "cut":
            words = ref.split()
            start = draw(st.integers(0, len(words)))
            stop = draw(st.integers(start, len(words)))
            hyp = " ".join(words[:start] + words[stop:])
        else:
            hyp = draw(sentences(OTHER_VOCAB))
        hypotheses.append(hyp)
    return hypotheses, references


def _assert_same(ours, theirs, smooth_method, smooth_value):
    """Score within 1e-6, same statistics; sacreBLEU's add-k reports its counts after adding k."""
    assert abs(ours.score - theirs.score) <= 1e-6, (str(ours), str(theirs))
    assert (ours.sys_len, ours.ref_len) == (theirs.sys_len, theirs.ref_len)
    assert ours.bp == pytest.approx(theirs.bp, abs=1e-12)
    assert ours.precisions == pytest.approx(theirs.precisions, abs=1e-9)
    if smooth_method == "add-k" and any(ours.counts):
        # sacreBLEU adds k to its counts and totals in place for n >= 2; minigen keeps the raw ones
        k = 1 if smooth_value is None else smooth_value
        assert theirs.counts == [ours.counts[0]] + [c + k for c in ours.counts[1:]]
        assert theirs.totals == [ours.totals[0]] + [t + k for t in ours.totals[1:]]
    else:
        assert ours.counts == theirs.counts
        assert ours.totals == theirs.totals
    assert str(ours) == str(theirs)


@pytest.mark.parametrize("smooth_method", SMOOTH_METHODS)
@settings(max_examples=100)
@given(corpus=corpora(), lowercase=st.booleans(), use_effective_order=st.booleans(),
       max_ngram_order=st.integers(1, 4), smooth_value=st.sampled_from([None, 0.01, 0.5, 1, 2.0]))
def test_corpus_bleu_matches_sacrebleu(sacre, smooth_method, corpus, lowercase, use_effective_order,
                                       max_ngram_order, smooth_value):
    hypotheses, references = corpus
    options = dict(smooth_method=smooth_method, smooth_value=smooth_value, lowercase=lowercase)
    ours = corpus_bleu(hypotheses, references, use_effective_order=use_effective_order,
                       max_ngram_order=max_ngram_order, **options)
    metric = sacre.BLEU(tokenize="none", effective_order=use_effective_order,
                        max_ngram_order=max_ngram_order, **options)
    _assert_same(ours, metric.corpus_score(hypotheses, references), smooth_method, smooth_value)


@pytest.mark.parametrize("smooth_method", SMOOTH_METHODS)
@settings(max_examples=50)
@given(corpus=corpora(), lowercase=st.booleans(), use_effective_order=st.booleans())
def test_corpus_bleu_matches_sacrebleu_function(sacre, smooth_method, corpus, lowercase, use_effective_order):
    # the functional API, as in the brief: sacrebleu.corpus_bleu(..., tokenize="none")
    hypotheses, references = corpus
    ours = corpus_bleu(hypotheses, references, smooth_method=smooth_method, lowercase=lowercase,
                       use_effective_order=use_effective_order)
    theirs = sacre.corpus_bleu(hypotheses, references, tokenize="none", smooth_method=smooth_method,
                               lowercase=lowercase, use_effective_order=use_effective_order)
    _assert_same(ours, theirs, smooth_method, None)


@pytest.mark.parametrize("smooth_method", SMOOTH_METHODS)
@pytest.mark.parametrize("hypotheses, references", [
    ([""], [[""]]),                                         # all empty: c = r = 0
    (["", ""], [["a b", ""]]),                              # empty hypotheses
    (["a b c"], [[""]]),                                    # empty reference
    (["a", "a b"], [["a", "a b"], ["b", "b a c d e"]]),     # shorter than 4 tokens, two streams
    (["x y z w v"], [["a b c d e"]]),                       # zero matches
    (["a b c d e f"], [["a b c d e f"]]),                   # perfect
    (["a b c d"], [["a b c"], ["a b c d e"]]),              # closest-length tie
])
def test_edge_cases_match_sacrebleu(sacre, smooth_method, hypotheses, references):
    for effective in (False, True):
        ours = corpus_bleu(hypotheses, references, smooth_method=smooth_method, use_effective_order=effective)
        theirs = sacre.corpus_bleu(hypotheses, references, tokenize="none", smooth_method=smooth_method,
                                   use_effective_order=effective)
        _assert_same(ours, theirs, smooth_method, None)


@pytest.mark.parametrize("smooth_method", SMOOTH_METHODS)
@settings(max_examples=100)
@given(hypothesis=sentences(), references=st.lists(sentences(), min_size=1, max_size=3),
       lowercase=st.booleans(), use_effective_order=st.booleans(), max_ngram_order=st.integers(1, 4))
def test_sentence_bleu_matches_sacrebleu(sacre, smooth_method, hypothesis, references, lowercase,
                                         use_effective_order, max_ngram_order):
    options = dict(smooth_method=smooth_method, lowercase=lowercase)
    ours = sentence_bleu(hypothesis, references, use_effective_order=use_effective_order,
                         max_ngram_order=max_ngram_order, **options)
    metric = sacre.BLEU(tokenize="none", effective_order=use_effective_order, max_ngram_order=max_ngram_order,
                        **options)
    _assert_same(ours, metric.sentence_score(hypothesis, references), smooth_method, None)
    # the functional API, with its default use_effective_order=True, at order 4
    ours = sentence_bleu(hypothesis, references, **options)
    theirs = sacre.sentence_bleu(hypothesis, references, tokenize="none", **options)
    _assert_same(ours, theirs, smooth_method, None)


# --------------------------------------------------------------------------- bad input

def test_length_mismatch_names_both_lengths():
    with pytest.raises(ValueError, match=r"references\[1\] must be .*, got 2 hypotheses, but 1 references"):
        corpus_bleu(["a", "b"], [["a", "b"], ["a"]])
    with pytest.raises(ValueError, match=r"references\[0\] must be .*, got 1 hypotheses, but 2 references"):
        corpus_bleu(["a"], [["a", "b"]])


@pytest.mark.parametrize("hypotheses, references, error, match", [
    ("a b", [["a b"]], TypeError, r"corpus_bleu: hypotheses must be a list of strings, got 'a b'"),
    (["a", None], [["a", "b"]], TypeError, r"hypotheses\[1\] must be a string, got None"),
    (["a", 3], [["a", "b"]], TypeError, r"hypotheses\[1\] must be a string, got 3"),
    (["a", "b"], ["a", "b"], TypeError, r"references\[0\] must be a list of strings, got 'a'"),
    (["a"], [[None]], TypeError, r"references\[0\]\[0\] must be a string, got None"),
    (["a"], "a", TypeError, r"references must be a non-empty list of reference streams .*, got 'a'"),
    (["a"], [], ValueError, r"references must be a non-empty list of reference streams .*, got \[\]"),
    ([], [[]], ValueError, r"hypotheses must be a non-empty list of strings, got \[\]"),
])
def test_bad_corpus_input(hypotheses, references, error, match):
    with pytest.raises(error, match=match):
        corpus_bleu(hypotheses, references)


@pytest.mark.parametrize("options, match", [
    (dict(smooth_method="add-one"), r"smooth_method must be one of 'none', 'floor', 'add-k', 'exp', "
                                    r"got 'add-one'"),
    (dict(max_ngram_order=0), r"max_ngram_order must be .*, got 0"),
    (dict(max_ngram_order=2.0), r"max_ngram_order must be .*, got 2.0"),
    (dict(smooth_method="floor", smooth_value=-0.1), r"smooth_value must be a finite number >= 0 or None, got -0.1"),
    (dict(smooth_method="add-k", smooth_value=float("nan")), r"smooth_value must be .*, got nan"),
])
def test_bad_options(options, match):
    with pytest.raises(ValueError, match=match):
        corpus_bleu(["a"], [["a"]], **options)


def test_bad_sentence_input():
    with pytest.raises(TypeError, match=r"sentence_bleu: hypothesis must be a string, got list"):
        sentence_bleu(["a"], ["a"])
    with pytest.raises(TypeError, match=r"references must be a list of strings, got 'a'"):
        sentence_bleu("a", "a")
    with pytest.raises(TypeError, match=r"references\[1\] must be a string, got None"):
        sentence_bleu("a", ["a", None])
    with pytest.raises(ValueError, match=r"references must be a non-empty list of strings, got \[\]"):
        sentence_bleu("a", [])


def test_bleu_from_stats_checks_lengths():
    with pytest.raises(ValueError, match=r"counts and totals must be 4 entries each, got 3 and 4"):
        bleu_from_stats([1, 0, 0], [1, 0, 0, 0], 1, 1)
