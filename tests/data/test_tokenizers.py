"""Tokenizers: round trips (a hypothesis property for BPE), Keras-style words, JSON save/load, errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigen.data import BPETokenizer, CharTokenizer, WordTokenizer, load_tokenizer


def test_char_round_trip_and_unknown_characters():
    tok = CharTokenizer.train("ROMEO:\nBut soft!")
    ids = tok.encode("ROME")
    assert ids.dtype == np.int64 and tok.decode(ids) == "ROME"
    with pytest.raises(ValueError, match=r"2 character\(s\) outside the vocabulary of 14: 'X', 'é'"):
        tok.encode("XROMé")
    with pytest.raises(IndexError, match=r"id 14 is outside \[0, 14\)"):
        tok.decode([14])


def test_char_level_chinese(tmp_path):
    path = tmp_path / "poem.txt"
    path.write_text("床前明月光，疑是地上霜。举头望明月，低头思故乡。", encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    tok = CharTokenizer.train(text)
    assert tok.vocab_size == len(set(text))
    assert tok.decode(tok.encode(text)) == text


def test_word_tokenizer_like_keras():
    tok = WordTokenizer.train("The cat sat. The CAT ran! A dog, a dog, a dog.", max_tokens=5)
    # Keras: np.lexsort((tokens, counts))[::-1], so by frequency and equally frequent words in descending order
    assert tok.vocab == ["", "[UNK]", "dog", "a", "the"]
    assert tok.encode("the Dog's cat?").tolist() == [4, 1, 1]   # "dogs" and "cat" are out of vocabulary
    assert tok.decode([2, 3, 0, 0]) == "dog a"
    with pytest.raises(ValueError, match="max_tokens must be an integer >= 3"):
        WordTokenizer.train("a b", max_tokens=2)


@settings(max_examples=200)
@given(st.text(min_size=0, max_size=60))
def test_bpe_round_trips_any_unicode(text):
    tok = _bpe()
    assert tok.decode(tok.encode(text)) == text


def _bpe():
    if not hasattr(_bpe, "tok"):
        corpus = "the quick brown fox jumps over the lazy dog 1234 ünïcödé 文字 " * 30
        _bpe.tok = BPETokenizer.train(corpus, vocab_size=320)
    return _bpe.tok


def test_bpe_training_compresses():
    tok = _bpe()
    assert 256 < tok.vocab_size <= 320
    text = "the lazy dog jumps over the quick brown fox"
    assert len(tok.encode(text)) < len(text.encode()) / 2
    assert tok.decode(tok.encode("文字")) == "文字"
    assert tok.decode([0xe6]) == "\ufffd", "half a character decodes with a replacement mark"
    with pytest.raises(ValueError, match="vocab_size must be an integer >= 256"):
        BPETokenizer.train("abc", vocab_size=100)


@pytest.mark.parametrize("tok", [CharTokenizer.train("hello world"), WordTokenizer.train("hello world hello"),
                                 BPETokenizer.train("hello world " * 10, vocab_size=270)])
def test_json_save_and_load(tmp_path, tok):
    path = tmp_path / "tok.json"
    tok.save(path)
    again = load_tokenizer(path)
    assert type(again) is type(tok) and again.vocab_size == tok.vocab_size
    np.testing.assert_array_equal(again.encode("hello world"), tok.encode("hello world"))


def test_load_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not a tokenizer file"):
        load_tokenizer(bad)
    bad.write_text('{"type": "sentencepiece"}', encoding="utf-8")
    with pytest.raises(ValueError, match="unknown tokenizer type 'sentencepiece'"):
        load_tokenizer(bad)


def test_word_offsets_measure_the_raw_text():
    text = "To be, or not -- to be!\n'Tis nobler... (Sir)"
    tok = WordTokenizer.train(text)
    starts = tok.offsets(text)
    assert len(starts) == len(tok.encode(text))
    assert [text[s:].split()[0] for s in starts] == ["To", "be,", "or", "not", "to", "be!", "'Tis", "nobler...",
                                                    "(Sir)"]
    assert len(tok.decode(tok.encode(text))) < len(text)      # why decoding cannot measure the text


def test_damaged_tokenizer_entries_say_what_is_wrong():
    from minigen.data import tokenizer_from_dict
    with pytest.raises(ValueError, match="tokenizer of type 'char' needs a 'chars' list, and it is missing"):
        tokenizer_from_dict({"type": "char"})
    with pytest.raises(ValueError, match="needs a 'merges' list, and it is not valid"):
        tokenizer_from_dict({"type": "bpe", "merges": [[1]]})
    with pytest.raises(ValueError, match="a merge of an id that is not defined before it"):
        tokenizer_from_dict({"type": "bpe", "merges": [[1, 300]]})
    with pytest.raises(ValueError, match="must be a JSON object"):
        tokenizer_from_dict(["char"])
