"""The date-normalisation task: every source reads back (with datetime) to its target, the formats vary,
the held-out split is disjoint by date, seeds repeat, the hard variant differs; vocabularies and bad input."""

import datetime as dt
import re

import numpy as np
import pytest

from minigen.data.dates import (CharVocab, cardinal_words, date_pairs, date_vocabs, encode_pairs, is_held_out,
                                ordinal_words, year_words)

# An independent reader: normalise (lower case, no commas, single spaces, "3rd" -> "3"), then strptime.
FORMATS = ["%B %d %Y", "%m/%d/%y", "%m/%d/%Y", "%d of %B %Y", "%d.%m.%Y", "%A %B %d %Y", "%b %d %y", "%d %B %Y",
           "%Y-%m-%d", "%d-%b-%Y", "%b %d %Y", "%a %d %b %Y", "%Y%m%d", "%d %b %y", "%A %d %B %Y", "%Y/%m/%d",
           # hard-only numeric forms
           "%a %m/%d/%y", "%Y %B %d", "the %d day of %B in the year %Y"]
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december"]


def normalise(text):
    text = re.sub(r"\s+", " ", text.lower().replace(",", "")).strip()
    return re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text)


def read_date(text):
    """The one date that ``text`` can mean under FORMATS, checking any weekday it names; None if none."""
    text = normalise(text)
    found = set()
    for fmt in FORMATS:
        try:
            found.add(dt.datetime.strptime(text, fmt).date())
        except ValueError:
            pass
    assert len(found) <= 1, f"{text!r} reads as {found}"
    if not found:
        return None
    d = found.pop()
    for word in text.split():
        for i, name in enumerate(WEEKDAYS):
            if word in (name, name[:3]):
                assert i == d.weekday(), f"{text!r}: {word} but {d} is a {WEEKDAYS[d.weekday()]}"
    return d


# Numbers in words, read without the module's tables.
UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen " \
        "seventeen eighteen nineteen".split()
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
ORDINAL_UNITS = {"first": 1, "second": 2, "third": 3, "fifth": 5, "eighth": 8, "ninth": 9, "twelfth": 12}


def word_number(w):
    """'twenty-first' -> 21, 'forty-two' -> 42, 'thirtieth' -> 30, 'eleventh' -> 11; None if not a number."""
    total = 0
    for part in w.split("-"):
        if part in ORDINAL_UNITS:
            total += ORDINAL_UNITS[part]
        elif part.endswith("ieth") and part[:-4] + "y" in TENS:
            total += TENS[part[:-4] + "y"]
        elif part in TENS:
            total += TENS[part]
        elif part in UNITS or (part.endswith("th") and part[:-2] in UNITS):
            total += UNITS.index(part if part in UNITS else part[:-2])
        else:
            return None
    return total


def read_year(words):
    text = " ".join(words)
    if re.fullmatch(r"\d{4}", text):
        return int(text)
    if text == "nineteen hundred":
        return 1900
    if text == "two thousand":
        return 2000
    m = re.fullmatch(r"two thousand (and )?(\S+)", text)
    if m:
        return 2000 + word_number(m.group(2))
    first, rest = words[0], words[1:]
    if rest[0] == "oh":
        return word_number(first) * 100 + word_number(rest[1])
    return word_number(first) * 100 + word_number(rest[0])


def read_spelled(text):
    words = [w for w in normalise(text).split() if w not in ("the", "of")]
    month = next(i for i, w in enumerate(words) if w in MONTHS)
    day = next(i for i, w in enumerate(words) if i != month and word_number(w) is not None)
    return dt.date(read_year(words[max(month, day) + 1:]), month=MONTHS.index(words[month]) + 1,
                   day=word_number(words[day]))


def read_relative(text):
    m = re.fullmatch(r"(the day|a week|two weeks|(\S+) days) (after|before) (.*)", normalise(text))
    if m is None:
        return None
    delta = {"the day": 1, "a week": 7, "two weeks": 14}.get(m.group(1))
    if delta is None:
        delta = int(m.group(2)) if m.group(2).isdigit() else UNITS.index(m.group(2))
    anchor = read_date(m.group(4))
    return anchor + dt.timedelta(days=delta if m.group(3) == "after" else -delta)


def test_every_source_reads_back_to_its_target():
    for source, target in date_pairs(1500, seed=0):
        assert read_date(source) == dt.date.fromisoformat(target), source


def test_every_hard_source_reads_back_to_its_target():
    kinds = {"numeric": 0, "relative": 0, "spelled": 0}
    for source, target in date_pairs(2000, seed=1, hard=True):
        d = read_date(source)
        kind = "numeric"
        if d is None:
            d, kind = read_relative(source), "relative"
        if d is None:
            d, kind = read_spelled(source), "spelled"
        kinds[kind] += 1
        assert d == dt.date.fromisoformat(target), source
    assert min(kinds.values()) > 150, kinds


def test_targets_are_iso_dates_in_range():
    for _, target in date_pairs(2000, seed=2, hard=True):
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", target)
        assert dt.date(1900, 1, 1) <= dt.date.fromisoformat(target) <= dt.date(2099, 12, 31)


def test_formats_are_varied():
    pairs = date_pairs(2000, seed=3)
    shapes = {re.sub(r"[a-zA-Z]+", "a", re.sub(r"\d", "9", s)) for s, _ in pairs}
    assert len(shapes) >= 15
    sources = " ".join(s for s, _ in pairs)
    for piece in ("/", ".", "-", ",", " of ", "day"):
        assert piece in sources
    assert all(s != t for s, t in pairs[:50] if "-" not in s)


def test_two_digit_years_only_where_they_read_back():
    for source, target in date_pairs(3000, seed=4):
        if re.search(r"(^|\D)\d\d$", source) and not re.search(r"\d{4}", source):
            assert 1969 <= int(target[:4]) <= 2068, source


def test_held_out_split_is_disjoint_by_date():
    train = {t for _, t in date_pairs(5000, seed=5, split="train")}
    test = {t for _, t in date_pairs(2000, seed=5, split="test")}
    assert not train & test
    assert all(is_held_out(dt.date.fromisoformat(t)) for t in test)
    days = [dt.date(1900, 1, 1) + dt.timedelta(days=i) for i in range(73049)]
    assert 0.09 < np.mean([is_held_out(d) for d in days]) < 0.11
    hard_train = {t for _, t in date_pairs(2000, seed=6, split="train", hard=True)}
    assert not hard_train & test


def test_a_seed_repeats_its_pairs():
    assert date_pairs(200, seed=7) == date_pairs(200, seed=7)
    assert date_pairs(200, seed=7) != date_pairs(200, seed=8)
    assert date_pairs(200, seed=7, hard=True) == date_pairs(200, seed=7, hard=True)


def test_the_hard_variant_differs():
    normal, hard = date_pairs(1000, seed=9), date_pairs(1000, seed=9, hard=True)
    assert normal != hard
    hard_text = " ".join(s for s, _ in hard)
    assert "nineteen" in hard_text.lower() and "after" in hard_text.lower()
    assert any(s != s.lower() and s != s.title() and s.upper() != s and not s[:1].isdigit() for s, _ in hard)
    assert max(len(s) for s, _ in hard) > max(len(s) for s, _ in normal)


def test_numbers_in_words():
    assert [ordinal_words(n) for n in (1, 2, 3, 11, 12, 20, 21, 30, 31)] == [
        "first", "second", "third", "eleventh", "twelfth", "twentieth", "twenty-first", "thirtieth", "thirty-first"]
    assert year_words(1998) == "nineteen ninety-eight"
    assert year_words(1907) == "nineteen oh seven"
    assert year_words(2000) == "two thousand"
    assert {year_words(2023, v) for v in range(3)} == {"two thousand twenty-three", "two thousand and twenty-three",
                                                       "twenty twenty-three"}
    for n in range(1, 32):
        assert word_number(ordinal_words(n)) == n


def test_vocabularies_and_encoding():
    src_vocab, tgt_vocab = date_vocabs()
    assert (src_vocab.pad_id, src_vocab.bos_id, src_vocab.eos_id) == (0, 1, 2)
    assert tgt_vocab.vocab_size == 3 + 11
    pairs = date_pairs(300, seed=10, hard=True)
    src, tgt_in, tgt_out = encode_pairs(pairs, src_vocab, tgt_vocab)
    assert src.dtype == np.int64 and src.shape == (300, max(len(s) for s, _ in pairs))
    assert tgt_in.shape == tgt_out.shape == (300, 11)
    assert (tgt_in[:, 0] == tgt_vocab.bos_id).all() and (tgt_out[:, -1] == tgt_vocab.eos_id).all()
    np.testing.assert_array_equal(tgt_in[:, 1:], tgt_out[:, :-1])
    assert src_vocab.decode(src) == [s for s, _ in pairs]
    assert tgt_vocab.decode(tgt_out) == [t for _, t in pairs]
    assert tgt_vocab.decode(tgt_in[0]) == pairs[0][1]                 # <bos> is skipped
    assert (src[np.array([len(s) for s, _ in pairs]) < src.shape[1], -1] == 0).all()   # right-padded


def test_bad_input():
    with pytest.raises(ValueError, match="n must be a non-negative integer"):
        date_pairs(-1, seed=0)
    with pytest.raises(ValueError, match="split must be one of None, 'train', 'test'"):
        date_pairs(3, seed=0, split="validation")
    with pytest.raises(TypeError):
        date_pairs(3)                                                    # the seed is required
    vocab = CharVocab("ab")
    with pytest.raises(ValueError, match="texts must be strings of the vocabulary's characters, "
                                         "got character 'c' of 'abc'"):
        vocab.encode(["abc"])
    with pytest.raises(ValueError, match="length must be at least 3, the ids of .*, got 2"):
        vocab.encode(["ab"], eos=True, length=2)
    with pytest.raises(TypeError, match="list of strings"):
        vocab.encode("ab")
    with pytest.raises(ValueError, match=r"ids must be ids in \[0, 5\), got id 9"):
        vocab.decode([[3, 9]])
    with pytest.raises(ValueError, match=r"^CharVocab\.decode: ids must be of shape \(N, L\) or \(L,\), got shape "
                                         r"\(1, 1, 2\)$"):
        vocab.decode([[[3, 4]]])
    with pytest.raises(ValueError, match="distinct"):
        CharVocab("aa")
    with pytest.raises(ValueError, match=r"must be an integer in \[0, 99\]"):
        ordinal_words(100)
    with pytest.raises(ValueError, match=r"^cardinal_words: n must be an integer in \[0, 99\], got 100$"):
        cardinal_words(100)
    with pytest.raises(ValueError, match=r"year must be an integer in \[1900, 2099\]"):
        year_words(1899)
