"""Tokenizers back from JSON: ``tokenizer_from_dict`` (checkpoints keep the dict) and ``load_tokenizer`` (a file).

A damaged dict or file is a ValueError that says what is wrong.
"""

from __future__ import annotations

import json

from .gpt2_tokenizer import GPT2Tokenizer
from .tokenizers import BPETokenizer, CharTokenizer, WordTokenizer

__all__ = ["load_tokenizer", "tokenizer_from_dict"]


def _entry(d: dict, key: str, ok) -> list:
    """``d[key]``, a list whose items pass ``ok``, or a ValueError saying what is wrong."""
    value = d.get(key)
    shown = "is missing" if key not in d else f"is not valid ({str(value)[:60]})"
    if not isinstance(value, list) or not all(ok(v) for v in value):
        raise ValueError(f"the tokenizer of type {d['type']!r} needs a {key!r} list, and it {shown}")
    return value


def tokenizer_from_dict(d: dict):
    """Rebuild a tokenizer from its ``to_dict()``; a damaged dict is a ValueError that says what is wrong."""
    if not isinstance(d, dict):
        raise ValueError(f"a tokenizer must be a JSON object with a 'type', got {str(d)[:60]}")
    kind = d.get("type")
    if kind == "char":
        return CharTokenizer(_entry(d, "chars", lambda c: isinstance(c, str) and len(c) == 1))
    if kind == "word":
        return WordTokenizer(_entry(d, "vocab", lambda w: isinstance(w, str)))
    if kind == "bpe":
        merges = _entry(d, "merges", lambda m: isinstance(m, list) and len(m) == 2
                        and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in m))
        if any(max(m) >= 256 + k for k, m in enumerate(merges)):    # a merge joins bytes or earlier merges
            raise ValueError("the tokenizer of type 'bpe' has a merge of an id that is not defined before it")
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
