"""``minigen.data``: corpora and tokenizers (host-side: NumPy, files, no network)."""

from .batching import StreamBatcher, random_windows, train_val_split
from .corpora import CorpusError, load_text, python_source, shakespeare
from .dates import CharVocab, date_pairs, date_vocabs, encode_pairs
from .gpt2_tokenizer import GPT2Tokenizer
from .tokenizer_io import load_tokenizer, tokenizer_from_dict
from .tokenizers import BPETokenizer, CharTokenizer, WordTokenizer

__all__ = ["train_val_split", "random_windows", "StreamBatcher", "shakespeare", "python_source", "load_text", "CorpusError",
           "CharTokenizer", "WordTokenizer", "BPETokenizer", "GPT2Tokenizer", "load_tokenizer", "tokenizer_from_dict",
           "date_pairs", "date_vocabs", "encode_pairs", "CharVocab"]
