"""Tokenizers back from JSON: ``tokenizer_from_dict`` (checkpoints keep the dict) and ``load_tokenizer`` (a file).

A damaged dict or file is a ValueError that says what is wrong.
"""

from __future__ import annotations

import json

from .. import rules
from .gpt2_tokenizer import GPT2Tokenizer
from .tokenizers import BPETokenizer, CharTokenizer, WordTokenizer

__all__ = ["load_tokenizer", "tokenizer_from_dict"]


def _entry(d: dict, key: str, ok) -> list:
    """``d[key]``, a list whose items pass ``ok``, or a ValueError saying what is wrong."""
    value = d.get(key)
    shown = "none (missing)" if key not in d else str(value)[:60]
    valid = isinstance(value, list) and all(ok(v) for v in value)
    expected = f"a valid list for a {d['type']!r} tokenizer"
    rules.require(valid, "tokenizer_from_dict", f"the {key!r} entry", expected, shown)
    return value


def tokenizer_from_dict(d: dict):
    """Rebuild a tokenizer from its ``to_dict()``; a damaged dict is a ValueError that says what is wrong."""
    rules.require(isinstance(d, dict), "tokenizer_from_dict", "d", "a JSON object with a 'type'", str(d)[:60])
    kind = d.get("type")
    if kind == "char":
        return CharTokenizer(_entry(d, "chars", lambda c: isinstance(c, str) and len(c) == 1))
    if kind == "word":
        return WordTokenizer(_entry(d, "vocab", lambda w: isinstance(w, str)))
    if kind == "bpe":
        merges = _entry(d, "merges", lambda m: isinstance(m, list) and len(m) == 2
                        and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in m))
        late = next((k for k, m in enumerate(merges) if max(m) >= 256 + k), None)   # joins bytes or earlier merges
        rules.require(late is None, "tokenizer_from_dict", "merges", "of ids defined before them", f"merge {late}")
        return BPETokenizer(merges)
    if kind == "gpt2":
        return GPT2Tokenizer.from_dict(d)
    raise ValueError(f"unknown tokenizer type {kind!r}; expected 'char', 'word', 'bpe' or 'gpt2'")


def load_tokenizer(path):
    """Load a tokenizer saved with ``save``."""
    with open(path, encoding="utf-8") as f:
        try:
            d = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not a tokenizer file: invalid JSON ({e})") from None
    return tokenizer_from_dict(d)
