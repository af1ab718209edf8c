"""``GPT2Tokenizer``: GPT-2's byte-level BPE, read from its ``vocab.json`` and ``merges.txt``.

Encoding a string takes three steps:

1. Pre-tokenise: split the text into words with GPT-2's regex (contractions, letters,
   digits, other symbols, whitespace; a word keeps the single space before it).
   BPE never merges across these pieces.
2. Bytes to symbols: each word's UTF-8 bytes become printable characters through a
   fixed table (``bytes_to_unicode``): the 188 printable bytes stand for themselves and
   the other 68 (space, control bytes...) are shifted to code points 256 and up, so
   the space byte is ``"Ġ"`` and the newline ``"Ċ"``. The vocabulary files are written
   in these symbols.
3. Merge: repeatedly join the adjacent pair with the lowest rank in ``merges.txt``
   (the order in which training learned them) until no listed pair is left; then
   look each piece up in ``vocab.json``.

Decoding maps ids back to symbols, symbols back to bytes, and the bytes to UTF-8.

There is no unknown token: the 256 byte symbols are all in the vocabulary, so any
string encodes, and ``decode(encode(s)) == s``. A vocabulary missing one of them is
refused when it loads. The one special token, ``"<|endoftext|>"`` (GPT-2's end of
text, id 50256), is encoded as its id where it appears in the text.

Needs the ``regex`` package: GPT-2's regex uses the Unicode classes ``\\p{L}`` (letters)
and ``\\p{N}`` (numbers), which Python's ``re`` lacks.
"""

from __future__ import annotations

import functools
import json
import os

import numpy as np

from .. import rules
from .tokenizers import _check_text, _decode_ids, _Tokenizer

__all__ = ["GPT2Tokenizer", "bytes_to_unicode", "GPT2_PATTERN"]

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
ENDOFTEXT = "<|endoftext|>"


@functools.lru_cache(maxsize=None)
def _pretokenizer():
    try:
        import regex
    except ImportError:
        raise ImportError("GPT2Tokenizer needs the 'regex' package for GPT-2's pre-tokenisation (its \\p{L} and "
                          "\\p{N} classes): pip install regex") from None
    return regex.compile(GPT2_PATTERN)


@functools.lru_cache(maxsize=None)
def bytes_to_unicode() -> dict:
    """GPT-2's table byte -> printable character.

    Printable bytes (``!``..``~``, ``¡``..``¬``, ``®``..``ÿ``) map to the character with
    the same code point; the others, in order, to 256, 257, ... So every byte has a
    visible, non-whitespace symbol, and BPE can work on text instead of raw bytes.

    >>> table = bytes_to_unicode()
    >>> table[ord("a")], table[ord(" ")], table[ord("\\n")], len(set(table.values()))
    ('a', 'Ġ', 'Ċ', 256)
    """
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    table = {b: chr(b) for b in printable}
    shifted = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + shifted)
            shifted += 1
    return table


_SWAP_HINT = "did you swap vocab_json and merges_txt?"
_FILES = "GPT2Tokenizer.from_files"
_PAIR_LINES = "lines of two symbols and one space"


def _existing(name: str, file, expected: str) -> str:
    """``file`` as a path; a FileNotFoundError naming the argument ``name`` when there is no such file."""
    path = os.fspath(file)
    rules.require(os.path.isfile(path), _FILES, name, expected, f"{path} (not found)", FileNotFoundError)
    return path


def _read_vocab(vocab_json) -> dict:
    """``vocab.json``: one JSON object, token -> id."""
    path = _existing("vocab_json", vocab_json, "GPT-2's vocab.json")
    try:
        with open(path, encoding="utf-8") as f:
            vocab = json.load(f)
    except ValueError:                                   # JSONDecodeError, UnicodeDecodeError
        vocab = None
    ok = isinstance(vocab, dict) and all(isinstance(i, int) for i in vocab.values())
    rules.require(ok, _FILES, "vocab_json", f"a JSON vocabulary of token -> id ({_SWAP_HINT})", path)
    return vocab


def _read_merges(merges_txt) -> list:
    """``merges.txt``: an optional ``#version`` line, then one ``a b`` pair per line, best first."""
    path = _existing("merges_txt", merges_txt, "GPT-2's merges.txt")
    merges, not_json = [], f"a list of merges, not JSON ({_SWAP_HINT})"
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line or (n == 1 and line.startswith("#version")):
                continue
            rules.require(n > 1 or not line.lstrip().startswith("{"), _FILES, "merges_txt", not_json, path)
            pair = line.split(" ")
            rules.require(len(pair) == 2, _FILES, "merges_txt", _PAIR_LINES, f"{path}:{n}: {line[:60]!r}")
            merges.append(tuple(pair))
    return merges


class GPT2Tokenizer(_Tokenizer):
    """GPT-2's byte-level BPE tokenizer; see the module docstring.

    ``vocab``: token -> id (as in ``vocab.json``), or the tokens in id order; ids must
    be 0..n-1. ``merges``: the merge pairs ``(a, b)``, best (lowest rank) first.
    ``special_tokens``: tokens matched in the text before pre-tokenisation (default:
    ``"<|endoftext|>"`` if it is in the vocabulary).

    >>> symbols = list(bytes_to_unicode().values())
    >>> tok = GPT2Tokenizer(symbols + ["Ġh", "Ġhi"], [("Ġ", "h"), ("Ġh", "i")])
    >>> tok.encode("oh hi").tolist(), tok.decode(tok.encode("oh hi"))
    ([78, 71, 257], 'oh hi')
    """

    kind = "gpt2"

    def __init__(self, vocab, merges, special_tokens=None):
        tokens = sorted(vocab, key=vocab.get) if isinstance(vocab, dict) else list(vocab)
        self.encoder = {t: i for i, t in enumerate(tokens)}
        if isinstance(vocab, dict):                  # its tokens are distinct; its ids must be 0..n-1
            ok, got = sorted(vocab.values()) == list(range(len(tokens))), "other ids"
        else:                                        # its ids are 0..n-1; its tokens must be distinct
            ok, got = len(self.encoder) == len(tokens), "duplicate tokens"
        rules.require(ok, "GPT2Tokenizer", "vocab", f"distinct tokens with the ids 0..{len(tokens) - 1}", got)
        self.tokens = tokens
        byte_symbols = bytes_to_unicode()
        missing = [f"{s!r} (byte {b})" for b, s in byte_symbols.items() if s not in self.encoder]
        lacks = f"one that lacks {len(missing)} of the 256 byte symbols: {', '.join(missing[:10])}"
        rules.require(not missing, "GPT2Tokenizer", "vocab", "all 256 byte symbols (so that any text encodes)", lacks)
        self.merges = [tuple(m) for m in merges]
        unknown = next(((rank, piece) for rank, (a, b) in enumerate(self.merges) for piece in (a, b, a + b)
                        if piece not in self.encoder), None)             # the first merge that leaves the vocabulary
        given = f"merge {unknown[0]} {self.merges[unknown[0]]}, which uses {unknown[1]!r}" if unknown else ""
        rules.require(unknown is None, "GPT2Tokenizer", "merges", "pairs of vocabulary symbols, joined one too", given)
        self.ranks = {pair: rank for rank, pair in enumerate(self.merges)}
        if special_tokens is None:
            special_tokens = [ENDOFTEXT] if ENDOFTEXT in self.encoder else []
        for t in special_tokens:
            rules.require(t in self.encoder, "GPT2Tokenizer", "special_tokens", "tokens of the vocabulary", repr(t))
        self.special_tokens = list(special_tokens)
        self.byte_encoder = byte_symbols
        self.byte_decoder = {s: b for b, s in byte_symbols.items()}
        self.token_bytes = [self._bytes_of(t) for t in tokens]       # id -> the bytes it stands for
        self._cache = {}

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_files(cls, vocab_json, merges_txt, special_tokens=None) -> GPT2Tokenizer:
        """Read GPT-2's ``vocab.json`` (token -> id) and ``merges.txt`` (one ``a b`` pair per line)."""
        return cls(_read_vocab(vocab_json), _read_merges(merges_txt), special_tokens)

    @classmethod
    def from_pretrained(cls, folder) -> GPT2Tokenizer:
        """Read ``vocab.json`` and ``merges.txt`` from a Hugging Face GPT-2 folder."""
        folder = os.fspath(folder)
        return cls.from_files(os.path.join(folder, "vocab.json"), os.path.join(folder, "merges.txt"))

    @classmethod
    def from_dict(cls, d: dict) -> GPT2Tokenizer:
        """Rebuild from ``to_dict()``."""
        return cls(d["vocab"], d["merges"], d.get("special_tokens"))

    def to_dict(self) -> dict:
        return {"type": self.kind, "vocab": self.tokens, "merges": [list(m) for m in self.merges],
                "special_tokens": self.special_tokens}

    # ------------------------------------------------------------------ sizes and ids
    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    @property
    def eos_token_id(self) -> int | None:
        """The id of ``"<|endoftext|>"``, or None if the vocabulary lacks it."""
        return self.encoder.get(ENDOFTEXT)

    def _bytes_of(self, token: str) -> bytes:
        if all(c in self.byte_decoder for c in token):
            return bytes(self.byte_decoder[c] for c in token)
        return token.encode("utf-8")                                 # an added token written in plain text

    # ------------------------------------------------------------------ encoding
    def bpe(self, word: str) -> list:
        """The BPE pieces of one pre-tokenised word, given in byte symbols.

        Each pass finds the adjacent pair with the lowest merge rank and joins every
        occurrence of it, left to right; it stops when no adjacent pair has a rank.

        >>> symbols = list(bytes_to_unicode().values())
        >>> GPT2Tokenizer(symbols + ["ab", "abc"], [("a", "b"), ("ab", "c")]).bpe("abcab")
        ['abc', 'ab']
        """
        pieces = self._cache.get(word)
        if pieces is not None:
            return pieces
        pieces = list(word)
        while len(pieces) > 1:
            pairs = list(zip(pieces, pieces[1:]))
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(pieces):
                if i + 1 < len(pieces) and (pieces[i], pieces[i + 1]) == best:
                    merged.append(pieces[i] + pieces[i + 1])
                    i += 2
                else:
                    merged.append(pieces[i])
                    i += 1
            pieces = merged
        if len(self._cache) < 100_000:
            self._cache[word] = pieces
        return pieces

    def _encode_ordinary(self, text: str, out: list) -> None:
        for word in _pretokenizer().findall(text):
            symbols = "".join(self.byte_encoder[b] for b in word.encode("utf-8", errors="surrogatepass"))
            out.extend(self.encoder[piece] for piece in self.bpe(symbols))

    def encode(self, text: str) -> np.ndarray:
        """The ids of ``text`` (int64). Special tokens in the text become their ids."""
        _check_text("GPT2Tokenizer.encode", text)
        out = []
        start = 0
        while self.special_tokens:                                   # split at the special tokens, left to right
            hits = [(text.find(t, start), -len(t), t) for t in self.special_tokens]
            hits = [h for h in hits if h[0] >= 0]
            if not hits:
                break
            pos, _, token = min(hits)                                # the first; the longest if two start there
            self._encode_ordinary(text[start:pos], out)
            out.append(self.encoder[token])
            start = pos + len(token)
        self._encode_ordinary(text[start:], out)
        return np.array(out, dtype=np.int64)

    # ------------------------------------------------------------------ decoding
    def decode(self, ids) -> str:
        """The text of ``ids``. Bytes that are not valid UTF-8 (a sample cut in the middle
        of a character) decode as U+FFFD replacement characters. ``ids``: one 1-D sequence (a batch:
        ``batch_decode``)."""
        ids = _decode_ids("GPT2Tokenizer.decode", ids, self.vocab_size)
        return b"".join(self.token_bytes[i] for i in ids).decode("utf-8", errors="replace")
