"""``minigen.data``: corpora and tokenizers (host-side: NumPy, files, no network)."""

from .corpora import CorpusError, load_text, python_source, shakespeare
from .tokenizers import BPETokenizer, CharTokenizer, WordTokenizer, load_tokenizer, tokenizer_from_dict

__all__ = ["shakespeare", "python_source", "load_text", "CorpusError",
           "CharTokenizer", "WordTokenizer", "BPETokenizer", "load_tokenizer", "tokenizer_from_dict"]
