"""Perplexity, bits per token / character, exact match: values, extremes, bad input."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigen
from minigen.metrics import bits_per_char, bits_per_token, exact_match, perplexity


# --------------------------------------------------------------------------- values

def test_uniform_model_over_v_tokens():
    # a uniform guess over V tokens has L = ln V: perplexity V, log2 V bits
    for V in (2, 65, 50257):
        L = math.log(V)
        assert perplexity(L) == pytest.approx(V)
        assert bits_per_token(L) == pytest.approx(math.log2(V))
        assert bits_per_char(L) == pytest.approx(math.log2(V))


def test_known_values():
    assert perplexity(0.0) == 1.0
    assert perplexity(1.0) == pytest.approx(math.e)
    assert bits_per_token(math.log(2)) == pytest.approx(1.0)
    assert bits_per_token(0.0) == 0.0
    # a word model at 4.6 nats/token on text of 5.5 characters per token
    assert bits_per_char(4.6, chars_per_token=5.5) == pytest.approx(4.6 / (math.log(2) * 5.5))


@given(st.floats(0.0, 50.0))
def test_units_agree(loss):
    assert perplexity(loss) == pytest.approx(2.0 ** bits_per_token(loss), rel=1e-12)
    assert bits_per_char(loss, chars_per_token=2.0) == pytest.approx(bits_per_token(loss) / 2)


def test_accepts_numpy_scalars_0d_arrays_and_tensors():
    assert perplexity(np.float32(0.0)) == 1.0
    assert perplexity(np.array(1.0)) == pytest.approx(math.e)
    assert bits_per_token(minigen.tensor(math.log(2))) == pytest.approx(1.0)
    assert isinstance(perplexity(np.float64(1.0)), float)


# --------------------------------------------------------------------------- extremes

@pytest.mark.parametrize("loss", [710.0, 1e4, 1e308, math.inf, np.float32(1e4), np.float64(1e4), np.array(1e4)])
def test_perplexity_overflows_to_inf_without_warning(loss):
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # no RuntimeWarning (overflow) and no exception
        assert perplexity(loss) == math.inf


def test_perplexity_near_the_float_limit():
    assert math.isfinite(perplexity(709.0))
    assert perplexity(709.78) == pytest.approx(math.exp(709.78))
    assert perplexity(-math.inf) == 0.0
    assert math.isnan(perplexity(math.nan))


def test_bits_of_huge_losses_stay_finite():
    assert bits_per_token(1e4) == pytest.approx(1e4 / math.log(2))
    assert bits_per_char(1e4, chars_per_token=4) == pytest.approx(1e4 / math.log(2) / 4)


# --------------------------------------------------------------------------- exact match

def test_exact_match_values():
    assert exact_match(["a", "b"], ["a", "b"]) == 1.0
    assert exact_match(["a", "b"], ["b", "a"]) == 0.0
    assert exact_match(["abc", "cab", "bca"], ["abc", "abc", "bca"]) == pytest.approx(2 / 3)
    # strings are compared as they are
    assert exact_match(["Abc", "abc "], ["abc", "abc"]) == 0.0
    assert exact_match(("", "x"), ("", "y")) == 0.5


def test_exact_match_bad_input():
    with pytest.raises(ValueError, match=r"exact_match: targets must be as long as predictions, "
                                         r"got 3 targets for 2 predictions"):
        exact_match(["a", "b"], ["a", "b", "c"])
    with pytest.raises(ValueError, match=r"predictions must be a non-empty list of strings, got \[\]"):
        exact_match([], [])
    with pytest.raises(TypeError, match=r"predictions must be a list of strings, got 'ab'"):
        exact_match("ab", ["a", "b"])
    with pytest.raises(TypeError, match=r"targets\[1\] must be a string, got 2"):
        exact_match(["a", "b"], ["a", 2])


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("fn", [perplexity, bits_per_token, bits_per_char])
@pytest.mark.parametrize("loss", ["1.0", None, True, [1.0, 2.0], np.array([1.0, 2.0]), np.array([1.0])])
def test_loss_must_be_a_real_number(fn, loss):
    with pytest.raises(TypeError, match=r"loss_nats must be a real number"):
        fn(loss)


@pytest.mark.parametrize("chars_per_token", [0, -1.0, math.inf, math.nan, "4", True])
def test_chars_per_token_must_be_positive(chars_per_token):
    with pytest.raises(ValueError, match=r"bits_per_char: chars_per_token must be a finite number > 0, got"):
        bits_per_char(1.0, chars_per_token=chars_per_token)
