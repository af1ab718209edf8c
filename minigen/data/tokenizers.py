"""Tokenizers: characters, words (as Keras ``TextVectorization``), and byte-level BPE trained from scratch.

Each turns text into integer ids (``encode``) and back (``decode``), knows its
``vocab_size``, and saves to JSON (``save``; ``tokenizer_io.load_tokenizer`` reads it back).
Ids come back as NumPy int64 arrays (host-side data; models move them to the device).
"""

from __future__ import annotations

import collections
import json
import os
import re

import numpy as np

from .. import backend, rules
from ..autograd import Tensor      # only to take the array out of a Tensor passed to decode

__all__ = ["CharTokenizer", "WordTokenizer", "BPETokenizer"]


def _check_text(fn: str, text) -> None:
    """A TypeError naming ``fn`` unless ``text`` is a str (bytes: how to decode them first)."""
    hint = "; decode the bytes first, e.g. text.decode('utf-8')" if isinstance(text, (bytes, bytearray)) else ""
    rules.require(isinstance(text, str), fn, "text", "a str", type(text).__name__ + hint, TypeError)


def _short(x) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def _decode_ids(fn: str, ids, vocab_size: int) -> list:
    """The ids to decode as a list of Python ints, or an error naming ``fn`` and what it got.

    Takes one sequence: a 1-D list, tuple, NumPy array, minigen Tensor or device array of
    integer ids in [0, vocab_size), or a single integer id. Floats, bools, strings and
    batches (2-D) are refused: a batch is decoded row by row with ``batch_decode``.
    """
    expected = "a 1-D sequence of integer token ids"
    text = f"{type(ids).__name__} {_short(ids)}; encode turns text into ids"
    rules.require(not isinstance(ids, (str, bytes, bytearray)), fn, "ids", expected, text, TypeError)
    ids = rules.array_of(ids)                                       # a Tensor's array
    ids = backend.to_numpy(ids) if backend.is_array(ids) else ids   # a device (CuPy) array: copy it to the host
    bools = isinstance(ids, (list, tuple)) and any(isinstance(i, (bool, np.bool_)) for i in ids)   # [1, True] -> [1, 1]
    rules.require(not bools, fn, "ids", expected, f"bools {_short(ids)}", TypeError)
    try:
        arr = np.asarray(ids)
    except (ValueError, TypeError):                                 # a ragged list of lists
        rules.fail(fn, "ids", expected, f"a ragged {type(ids).__name__}; decode a batch with batch_decode", TypeError)
    batch = f"ids of shape {arr.shape}; decode a batch row by row, e.g. batch_decode(ids)"
    rules.require(arr.ndim <= 1, fn, "ids", expected, batch, TypeError)
    hint = "; encode turns text into ids" if arr.dtype.kind in "US" else ""
    integral = not arr.size or np.issubdtype(arr.dtype, np.integer)     # (empty: NumPy calls [] float64; that is fine)
    rules.require(integral, fn, "ids", expected, f"dtype {arr.dtype} ({_short(arr.tolist())}){hint}", TypeError)
    arr = arr.reshape(-1).astype(np.int64)                             # integral: an empty list is float64 to NumPy
    return rules.token_ids(fn, "ids", arr, vocab_size).tolist()       # an IndexError naming the first bad id


class _Tokenizer:
    kind = ""

    def to_dict(self) -> dict:  # pragma: no cover - interface
        raise NotImplementedError

    def save(self, path) -> None:
        """Write the tokenizer as JSON (atomically: a temp file, then a rename)."""
        path = os.fspath(path)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, ensure_ascii=False)
        os.replace(tmp, path)

    def __len__(self) -> int:
        return self.vocab_size

    def batch_decode(self, sequences) -> list:
        """The texts of a batch, as Hugging Face's ``batch_decode``: ``[decode(row) for row in sequences]``.

        ``sequences``: a (B, T) array or Tensor of ids, or a list of id sequences (their lengths may differ).
        """
        fn = f"{type(self).__name__}.batch_decode"
        if isinstance(sequences, Tensor):
            sequences = sequences.data
        if backend.is_array(sequences):
            sequences = backend.to_numpy(sequences)
        batch = "a (B, T) batch of ids or a list of id sequences"
        got = f"an array of shape {sequences.shape}; decode one sequence with decode" if backend.is_array(sequences) \
            else f"{type(sequences).__name__} {_short(sequences)}"
        ok = sequences.ndim == 2 if backend.is_array(sequences) else isinstance(sequences, (list, tuple))
        rules.require(ok, fn, "sequences", batch, got, TypeError)
        return [self.decode(row) for row in sequences]


# ---------------------------------------------------------------------------- characters

class CharTokenizer(_Tokenizer):
    """One id per Unicode code point seen in the training text (sorted, so ids are stable).

    >>> tok = CharTokenizer.train("hello")
    >>> tok.encode("hell").tolist(), tok.decode(tok.encode("olleh"))
    ([1, 0, 2, 2], 'olleh')
    """

    kind = "char"

    def __init__(self, chars):
        self.itos = list(chars)
        self.stoi = {c: i for i, c in enumerate(self.itos)}
        rules.require(len(self.stoi) == len(self.itos), "CharTokenizer", "chars", "distinct characters", "duplicates")

    @classmethod
    def train(cls, text: str) -> CharTokenizer:
        _check_text("CharTokenizer.train", text)
        rules.require(text, "CharTokenizer.train", "text", "a non-empty str", "''")
        return cls(sorted(set(text)))

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> np.ndarray:
        """Ids of the characters of ``text``; characters outside the vocabulary are an error that lists them."""
        _check_text("CharTokenizer.encode", text)
        try:
            return np.fromiter((self.stoi[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError:
            unknown = sorted({c for c in text if c not in self.stoi})
            shown = ", ".join(repr(c) for c in unknown[:20]) + (" ..." if len(unknown) > 20 else "")
            raise ValueError(f"CharTokenizer.encode: the text has {len(unknown)} character(s) outside the "
                             f"vocabulary of {self.vocab_size}: {shown}") from None

    def decode(self, ids) -> str:
        """The text of one 1-D sequence of ids (a batch: ``batch_decode``)."""
        return "".join(self.itos[i] for i in _decode_ids("CharTokenizer.decode", ids, self.vocab_size))

    def to_dict(self) -> dict:
        return {"type": self.kind, "chars": self.itos}


# ---------------------------------------------------------------------------- words

_PUNCTUATION = re.compile(r"[!\"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~']")   # Keras's default set
# A word's start in the raw text: the first character of a whitespace-separated chunk that has a character
# other than punctuation (standardising deletes punctuation but never whitespace, so only such chunks are words).
_WORD_START = re.compile(r"(?<!\S)\S*?[^\s" + _PUNCTUATION.pattern[1:-1] + "]")


def standardize(text: str) -> str:
    """Keras ``lower_and_strip_punctuation``: lowercase, then remove ASCII punctuation."""
    return _PUNCTUATION.sub("", text.lower())


class WordTokenizer(_Tokenizer):
    """Words, as Keras ``TextVectorization(standardize="lower_and_strip_punctuation", split="whitespace")``.

    Id 0 is the padding token ``""`` and id 1 the out-of-vocabulary token ``"[UNK]"``;
    then the words by descending frequency, equally frequent words in descending order
    (Keras sorts with ``np.lexsort((tokens, counts))[::-1]``), at most ``max_tokens``
    entries in all. ``decode`` joins words with single spaces (standardising is lossy).

    >>> tok = WordTokenizer.train("The cat. The dog!", max_tokens=4)
    >>> tok.vocab, tok.encode("the bird").tolist()
    (['', '[UNK]', 'the', 'dog'], [2, 1])
    """

    kind = "word"
    pad_token, oov_token = "", "[UNK]"

    def __init__(self, vocab):
        self.vocab = list(vocab)
        head = self.vocab[:2]
        rules.require(head == [self.pad_token, self.oov_token], "WordTokenizer", "vocab", "['', '[UNK]', ...]", head)
        self.index = {w: i for i, w in enumerate(self.vocab)}

    @classmethod
    def train(cls, text: str, max_tokens: int | None = None) -> WordTokenizer:
        _check_text("WordTokenizer.train", text)
        max_tokens = rules.integer("WordTokenizer", "max_tokens", max_tokens, 3, optional=True)   # pad, [UNK], a word
        counts = collections.Counter(standardize(text).split())
        rules.require(counts, "WordTokenizer.train", "text", "a text with words", "none")
        # Keras's order: np.lexsort((tokens, counts))[::-1], by count and then by the word, both descending
        words = sorted(counts, key=lambda w: (counts[w], w), reverse=True)
        if max_tokens is not None:
            words = words[: int(max_tokens) - 2]
        return cls([cls.pad_token, cls.oov_token] + words)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> np.ndarray:
        """Ids of the standardised words; unknown words get the ``[UNK]`` id, 1."""
        _check_text("WordTokenizer.encode", text)
        return np.array([self.index.get(w, 1) for w in standardize(text).split()], dtype=np.int64)

    def offsets(self, text: str) -> np.ndarray:
        """Where each token of ``encode(text)`` starts in ``text``, in characters.

        ``decode`` cannot tell how long the raw text was (punctuation and case are gone), so
        the characters behind a span of tokens are measured here: tokens ``k:`` of
        ``encode(text)`` came from ``text[offsets(text)[k]:]``.

        >>> WordTokenizer.train("a b").offsets("A -- b, (c)").tolist()
        [0, 5, 8]
        """
        _check_text("WordTokenizer.offsets", text)
        return np.array([m.start() for m in _WORD_START.finditer(text)], dtype=np.int64)

    def decode(self, ids) -> str:
        """The words of one 1-D sequence of ids, joined by spaces; padding (id 0) is skipped."""
        return " ".join(self.vocab[i] for i in _decode_ids("WordTokenizer.decode", ids, self.vocab_size) if i != 0)

    def to_dict(self) -> dict:
        return {"type": self.kind, "vocab": self.vocab}


# ---------------------------------------------------------------------------- byte-level BPE

# GPT-2's pre-tokenisation, in plain ``re``: contractions, letters, digits, other symbols,
# whitespace; a leading space stays attached to the word after it.
_PRETOKENIZE = re.compile(r"'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d+| ?[^\s\w]+|_+| ?_+|\s+(?!\S)|\s+")


class BPETokenizer(_Tokenizer):
    """Byte-level byte-pair encoding, trained from scratch.

    The base vocabulary is the 256 byte values, so any string encodes (as its UTF-8
    bytes) and ``decode(encode(s)) == s`` always holds. Training repeatedly merges the
    most frequent adjacent pair of tokens within pre-tokenised words into a new token.

    >>> tok = BPETokenizer.train("low lower lowest " * 20, vocab_size=260)
    >>> tok.decode(tok.encode("lowest")), len(tok.encode("lowest")) < len("lowest")
    ('lowest', True)
    """

    kind = "bpe"

    def __init__(self, merges):
        self.merges = [tuple(m) for m in merges]
        self.ranks = {pair: i for i, pair in enumerate(self.merges)}
        self.token_bytes = [bytes([b]) for b in range(256)]
        for a, b in self.merges:
            self.token_bytes.append(self.token_bytes[a] + self.token_bytes[b])
        self._cache = {}

    @classmethod
    def train(cls, text: str, vocab_size: int, min_frequency: int = 2) -> BPETokenizer:
        """Learn ``vocab_size - 256`` merges from ``text`` (fewer if no pair occurs ``min_frequency`` times)."""
        _check_text("BPETokenizer.train", text)
        vocab_size = rules.integer("BPETokenizer", "vocab_size", vocab_size, 256)       # 256: the byte alphabet
        min_frequency = rules.non_negative_int("BPETokenizer", "min_frequency", min_frequency)
        words = collections.Counter(_PRETOKENIZE.findall(text))
        seqs = [list(w.encode("utf-8", errors="surrogatepass")) for w in words]
        freqs = list(words.values())
        pairs = collections.Counter()
        where = collections.defaultdict(set)                  # pair -> words containing it
        for i, seq in enumerate(seqs):
            for pair in zip(seq, seq[1:]):
                pairs[pair] += freqs[i]
                where[pair].add(i)
        merges = []
        while len(merges) < vocab_size - 256 and pairs:
            best = max(pairs, key=lambda p: (pairs[p], -p[0], -p[1]))   # most frequent; ties: smallest ids
            if pairs[best] < min_frequency:
                break
            new = 256 + len(merges)
            merges.append(best)
            for i in list(where.pop(best, ())):
                seq, f = seqs[i], freqs[i]
                for pair in zip(seq, seq[1:]):                 # remove this word's old pairs
                    pairs[pair] -= f
                    if pairs[pair] <= 0:
                        del pairs[pair]
                merged, j = [], 0
                while j < len(seq):
                    if j + 1 < len(seq) and (seq[j], seq[j + 1]) == best:
                        merged.append(new)
                        j += 2
                    else:
                        merged.append(seq[j])
                        j += 1
                seqs[i] = merged
                for pair in zip(merged, merged[1:]):           # and count its new ones
                    pairs[pair] += f
                    where[pair].add(i)
        return cls(merges)

    @property
    def vocab_size(self) -> int:
        return 256 + len(self.merges)

    def _encode_word(self, word: str) -> list:
        ids = self._cache.get(word)
        if ids is not None:
            return ids
        ids = list(word.encode("utf-8", errors="surrogatepass"))
        while len(ids) > 1:
            ranked = [(self.ranks.get(p, len(self.ranks)), k) for k, p in enumerate(zip(ids, ids[1:]))]
            rank, k = min(ranked)
            if rank == len(self.ranks):
                break
            ids = ids[:k] + [256 + rank] + ids[k + 2:]
        if len(self._cache) < 100_000:
            self._cache[word] = ids
        return ids

    def encode(self, text: str) -> np.ndarray:
        _check_text("BPETokenizer.encode", text)
        out = []
        for word in _PRETOKENIZE.findall(text):
            out.extend(self._encode_word(word))
        return np.array(out, dtype=np.int64)

    def decode(self, ids) -> str:
        """Text of the ids. Exact for ids from ``encode``; byte sequences that are not valid UTF-8
        (a sample cut mid-character) decode with U+FFFD replacement characters."""
        ids = _decode_ids("BPETokenizer.decode", ids, self.vocab_size)
        data = b"".join(self.token_bytes[i] for i in ids)
        try:
            return data.decode("utf-8", errors="surrogatepass")
        except UnicodeDecodeError:
            return data.decode("utf-8", errors="replace")

    def to_dict(self) -> dict:
        return {"type": self.kind, "merges": [list(m) for m in self.merges]}
