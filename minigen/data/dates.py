"""A date-normalisation task for sequence-to-sequence models, generated in code.

Every pair maps a date written one of many ways to its ISO form::

    "March 3, 1998"            -> "1998-03-03"
    "3/3/98"                   -> "1998-03-03"      (slashes: month first, as in the US)
    "03.03.1998"               -> "1998-03-03"      (dots: day first, as in Europe)
    "Tuesday, March 3, 1998"   -> "1998-03-03"      (the weekday is the date's real one)

Dates are drawn uniformly from 1900-01-01 .. 2099-12-31 with a seeded NumPy
``Generator``. Two-digit years follow Python's ``strptime`` (POSIX) rule, 69-99 ->
19xx and 00-68 -> 20xx, so formats with a two-digit year are only used for the
years 1969-2068, where the year can be read back.

``hard=True`` adds spelled-out forms ("the third of march, nineteen ninety-eight"),
dates relative to another one ("two days after Feb 27, 2004"), and noise (random
casing, doubled spaces, dropped commas) on half of the sources.

The held-out split is by date, not by pair: ``is_held_out(date)`` puts about 10%
of all days in the test split with a fixed hash of the day, whatever the seed, so
``split="train"`` and ``split="test"`` never share a target date.

Host-side code: NumPy and the standard library only.
"""

from __future__ import annotations

import datetime as _dt
import string

import numpy as np

from .. import rules

__all__ = ["date_pairs", "is_held_out", "CharVocab", "date_vocabs", "encode_pairs", "cardinal_words",
           "ordinal_words", "year_words", "FIRST_DATE", "LAST_DATE", "TEST_FRACTION"]

FIRST_DATE, LAST_DATE = _dt.date(1900, 1, 1), _dt.date(2099, 12, 31)
TEST_FRACTION = 0.1

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]   # date.weekday() order

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORDINALS = ["zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
             "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
             "eighteenth", "nineteenth"]


# ---------------------------------------------------------------------------- numbers in words

def cardinal_words(n: int) -> str:
    """0..99 in words: ``cardinal_words(42) == "forty-two"``."""
    rules.integer("cardinal_words", "n", n, 0, 99)
    if n < 20:
        return _ONES[n]
    return _TENS[n // 10] + (f"-{_ONES[n % 10]}" if n % 10 else "")


def ordinal_words(n: int) -> str:
    """1..99 as an ordinal in words: ``ordinal_words(21) == "twenty-first"``, ``ordinal_words(30) == "thirtieth"``."""
    rules.integer("ordinal_words", "n", n, 0, 99)
    if n < 20:
        return _ORDINALS[n]
    if n % 10 == 0:
        return _TENS[n // 10][:-1] + "ieth"                            # twenty -> twentieth
    return f"{_TENS[n // 10]}-{_ORDINALS[n % 10]}"


def year_words(year: int, variant: int = 0) -> str:
    """A year of 1900..2099 as it is said; ``variant`` picks among the usual ways for 2000..2099.

    >>> year_words(1998), year_words(1905), year_words(1900)
    ('nineteen ninety-eight', 'nineteen oh five', 'nineteen hundred')
    >>> [year_words(2012, v) for v in range(3)]
    ['two thousand twelve', 'two thousand and twelve', 'twenty twelve']
    """
    rules.integer("year_words", "year", year, 1900, 2099)
    hi, lo = divmod(year, 100)
    if hi == 19:
        if lo == 0:
            return "nineteen hundred"
        return "nineteen " + (f"oh {_ONES[lo]}" if lo < 10 else cardinal_words(lo))
    if lo == 0:
        return "two thousand"
    forms = [f"two thousand {cardinal_words(lo)}", f"two thousand and {cardinal_words(lo)}"]
    if lo >= 10:
        forms.append(f"twenty {cardinal_words(lo)}")
    return forms[variant % len(forms)]


def _suffix(day: int) -> str:
    """The English ordinal suffix: 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, ..."""
    if day % 100 in (11, 12, 13):
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


# ---------------------------------------------------------------------------- formats
# Each format is (function(date, rng) -> str, uses a two-digit year).

def _month(d, short=False, case="title"):
    name = MONTHS[d.month - 1][:3] if short else MONTHS[d.month - 1]
    return name.lower() if case == "lower" else name


def _weekday(d, short=False):
    name = WEEKDAYS[d.weekday()]
    return name[:3] if short else name


_NORMAL = [
    (lambda d, r: f"{_month(d)} {d.day}, {d.year}", False),                             # March 3, 1998
    (lambda d, r: f"{d.month}/{d.day}/{d.year % 100:02d}", True),                        # 3/3/98
    (lambda d, r: f"{d.month}/{d.day}/{d.year}", False),                                 # 3/3/1998
    (lambda d, r: f"{d.month:02d}/{d.day:02d}/{d.year}", False),                         # 03/03/1998
    (lambda d, r: f"{d.day}{_suffix(d.day)} of {_month(d)} {d.year}", False),            # 3rd of March 1998
    (lambda d, r: f"{d.day:02d}.{d.month:02d}.{d.year}", False),                         # 03.03.1998
    (lambda d, r: f"{d.day}.{d.month}.{d.year}", False),                                 # 3.3.1998
    (lambda d, r: f"{_weekday(d)}, {_month(d)} {d.day}, {d.year}", False),               # Tuesday, March 3, 1998
    (lambda d, r: f"{_month(d, True, 'lower')} {d.day} {d.year % 100:02d}", True),       # mar 3 98
    (lambda d, r: f"{d.day} {_month(d)} {d.year}", False),                               # 3 March 1998
    (lambda d, r: d.isoformat(), False),                                                 # 1998-03-03
    (lambda d, r: f"{d.day:02d}-{_month(d, True)}-{d.year}", False),                     # 03-Mar-1998
    (lambda d, r: f"{_month(d, True)} {d.day}, {d.year}", False),                        # Mar 3, 1998
    (lambda d, r: f"{_weekday(d, True)}, {d.day} {_month(d, True)} {d.year}", False),    # Tue, 3 Mar 1998
    (lambda d, r: f"{_month(d)} {d.day}{_suffix(d.day)}, {d.year}", False),              # March 3rd, 1998
    (lambda d, r: f"{d.year}{d.month:02d}{d.day:02d}", False),                           # 19980303
    (lambda d, r: f"{d.day} {_month(d, True, 'lower')} {d.year % 100:02d}", True),       # 3 mar 98
    (lambda d, r: f"{_weekday(d)} {d.day} {_month(d)} {d.year}", False),                 # Tuesday 3 March 1998
    (lambda d, r: f"{d.year}/{d.month:02d}/{d.day:02d}", False),                         # 1998/03/03
    (lambda d, r: f"{_month(d, case='lower')} {d.day} {d.year}", False),                 # march 3 1998
]


def _spelled(d, r):
    """the third of march, nineteen ninety-eight / Third March Nineteen ninety-eight / ..."""
    day, month, year = ordinal_words(d.day), _month(d, case="lower"), year_words(d.year, int(r.integers(3)))
    forms = [f"the {day} of {month}, {year}", f"{day} {month} {year}", f"{month} the {day}, {year}",
             f"{month} {day} {year}", f"the {day} of {month} {d.year}"]
    return forms[int(r.integers(len(forms)))]


_OFFSETS = [(1, "the day after", "the day before"), (7, "a week after", "a week before"),
            (14, "two weeks after", "two weeks before")]


def _relative(d, r):
    """the day after March 2, 1998 / three days before 6 March 1998 / 2 days after 1/3/98 / ..."""
    k = int(r.integers(len(_OFFSETS) + 1))
    if k < len(_OFFSETS):
        delta, after, before = _OFFSETS[k]
    else:
        delta = int(r.integers(2, 7))
        count = _ONES[delta] if r.random() < 0.5 else str(delta)
        after, before = f"{count} days after", f"{count} days before"
    sign = 1 if r.random() < 0.5 else -1                                  # the anchor lies before / after d
    anchor = d - _dt.timedelta(days=sign * delta)
    phrase = after if sign == 1 else before
    return f"{phrase} {_pick_format(anchor, r, _NORMAL)(anchor, r)}"


_HARD_ONLY = [
    (_spelled, False),
    (_spelled, False),
    (_relative, False),
    (_relative, False),
    (lambda d, r: f"{_weekday(d, True)} {d.month}/{d.day}/{d.year % 100:02d}", True),     # Tue 3/3/98
    (lambda d, r: f"{d.year}, {_month(d)} {d.day}", False),                              # 1998, March 3
    (lambda d, r: f"the {d.day}{_suffix(d.day)} day of {_month(d)} in the year {d.year}", False),
]
_HARD = _NORMAL + _HARD_ONLY


def _pick_format(d, rng, formats):
    """A random format that can write ``d`` (two-digit years only for 1969..2068)."""
    ok = [f for f, two_digit in formats if not two_digit or 1969 <= d.year <= 2068]
    return ok[int(rng.integers(len(ok)))]


def _noise(text: str, rng) -> str:
    """Random casing, doubled spaces and dropped commas; the date stays readable."""
    kind = int(rng.integers(4))
    if kind == 0:
        text = text.upper()
    elif kind == 1:
        text = text.lower()
    elif kind == 2:
        text = text.title()
    else:
        flips = rng.random(len(text)) < 0.3
        text = "".join(c.swapcase() if f else c for c, f in zip(text, flips))
    if rng.random() < 0.3:
        text = text.replace(",", "")
    if rng.random() < 0.3:
        text = text.replace(" ", "  ", 1)
    return text


# ---------------------------------------------------------------------------- pairs

def is_held_out(date: _dt.date) -> bool:
    """True for the ~10% of days in the test split: a fixed multiplicative hash of the day number."""
    return (date.toordinal() * 2654435761) % 2**32 < TEST_FRACTION * 2**32


def date_pairs(n: int, *, seed: int, hard: bool = False, split: str | None = None) -> list[tuple[str, str]]:
    """``n`` pairs ``(source, "YYYY-MM-DD")`` from a seeded generator.

    ``split``: None (any date), ``"train"`` (only dates where ``is_held_out`` is False)
    or ``"test"`` (only held-out dates). The same ``seed`` gives the same pairs.

    >>> date_pairs(3, seed=0)
    [('Feb 15, 2070', '2070-02-15'), ('25.03.2002', '2002-03-25'), ('July 26, 1961', '1961-07-26')]
    """
    n = rules.non_negative_int("date_pairs", "n", n)
    split = rules.choice("date_pairs", "split", split, (None, "train", "test"))
    rng = np.random.default_rng(seed)
    formats = _HARD if hard else _NORMAL
    lo, hi = FIRST_DATE.toordinal(), LAST_DATE.toordinal()
    pairs = []
    while len(pairs) < n:
        d = _dt.date.fromordinal(int(rng.integers(lo, hi + 1)))
        if split is not None and is_held_out(d) != (split == "test"):
            continue
        source = _pick_format(d, rng, formats)(d, rng)
        if hard and rng.random() < 0.5:
            source = _noise(source, rng)
        pairs.append((source, d.isoformat()))
    return pairs


# ---------------------------------------------------------------------------- vocabularies

class CharVocab:
    """Characters <-> ids, with ``<pad>`` = 0, ``<bos>`` = 1 and ``<eos>`` = 2 before the characters.

    >>> v = CharVocab("ab")
    >>> v.encode(["ab", "b"], eos=True).tolist()
    [[3, 4, 2], [4, 2, 0]]
    >>> v.decode([[3, 4, 2], [4, 2, 0]])
    ['ab', 'b']
    """

    specials = ("<pad>", "<bos>", "<eos>")
    pad_id, bos_id, eos_id = 0, 1, 2

    def __init__(self, chars: str):
        rules.require(len(set(chars)) == len(chars), "CharVocab", "chars", "distinct characters", "duplicates")
        self.itos = list(self.specials) + list(chars)
        self.stoi = {c: i for i, c in enumerate(self.itos) if i >= len(self.specials)}

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def __len__(self) -> int:
        return len(self.itos)

    def __repr__(self) -> str:
        return f"CharVocab({''.join(self.itos[len(self.specials):])!r})"

    def encode(self, texts, *, bos: bool = False, eos: bool = False, length: int | None = None) -> np.ndarray:
        """Texts -> (N, L) int64 ids, right-padded with ``pad_id``; L = the longest, or ``length``."""
        wrap = "a str; wrap it: encode([text])"
        rules.require(not isinstance(texts, str), "CharVocab.encode", "texts", "a list of strings", wrap, TypeError)
        unknown = next(((c, text) for text in texts for c in text if c not in self.stoi), None)
        given = f"character {unknown[0]!r} of {unknown[1]!r}" if unknown else ""
        rules.require(unknown is None, "CharVocab.encode", "texts", "strings of the vocabulary's characters", given)
        rows = []
        for text in texts:
            rows.append([self.bos_id] * bos + [self.stoi[c] for c in text] + [self.eos_id] * eos)
        L = max((len(r) for r in rows), default=0) if length is None else length
        out = np.full((len(rows), L), self.pad_id, dtype=np.int64)
        for i, r in enumerate(rows):
            rules.require(len(r) <= L, "CharVocab.encode", "length", f"at least {len(r)}, the ids of {texts[i]!r}", L)
            out[i, :len(r)] = r
        return out

    def decode(self, ids):
        """(N, L) ids -> N strings (a 1-D row -> one string): read up to ``<eos>``, skip ``<pad>``/``<bos>``."""
        ids = np.asarray(ids)
        if ids.ndim == 1:
            return self.decode(ids[None])[0]
        rules.require(ids.ndim == 2, "CharVocab.decode", "ids", "of shape (N, L) or (L,)", f"shape {ids.shape}")
        bad = ids[(ids < 0) | (ids >= len(self.itos))]                  # after <eos> too: they are ids all the same
        first = bad.flat[0] if bad.size else None
        rules.require(first is None, "CharVocab.decode", "ids", f"ids in [0, {len(self.itos)})", f"id {first}")
        out = []
        for row in ids.tolist():
            chars = []
            for i in row:
                if i == self.eos_id:
                    break
                if i >= len(self.specials):
                    chars.append(self.itos[i])
            out.append("".join(chars))
        return out


SOURCE_CHARS = " ',-./" + string.digits + string.ascii_lowercase + string.ascii_uppercase
TARGET_CHARS = "-" + string.digits


def date_vocabs() -> tuple[CharVocab, CharVocab]:
    """(source vocabulary, target vocabulary): every character either side of the task can use."""
    return CharVocab(SOURCE_CHARS), CharVocab(TARGET_CHARS)


def encode_pairs(pairs, src_vocab: CharVocab, tgt_vocab: CharVocab):
    """Pairs -> ``(src, tgt_in, tgt_out)`` padded int64 arrays for teacher forcing.

    ``src`` (N, S) is the source characters; ``tgt_in`` (N, T) is ``<bos> y`` and
    ``tgt_out`` (N, T) is ``y <eos>``: the decoder reads ``tgt_in[:, t]`` and must
    predict ``tgt_out[:, t]``.

    >>> src, tgt_in, tgt_out = encode_pairs([("3/3/98", "1998-03-03")], *date_vocabs())
    >>> src.shape, tgt_in[0, :3].tolist(), tgt_out[0, -2:].tolist()
    ((1, 6), [1, 5, 13], [7, 2])
    """
    sources, targets = [s for s, _ in pairs], [t for _, t in pairs]
    src = src_vocab.encode(sources)
    tgt_in = tgt_vocab.encode(targets, bos=True)
    tgt_out = tgt_vocab.encode(targets, eos=True)
    return src, tgt_in, tgt_out
