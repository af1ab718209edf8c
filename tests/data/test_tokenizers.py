"""Tokenizers: round trips (a hypothesis property for BPE), Keras-style words, JSON save/load, errors."""

import re

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
    with pytest.raises(IndexError, match=r"ids must be ids in \[0, 14\), got id 14"):
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


@pytest.mark.parametrize("make, message", [
    (lambda: CharTokenizer("abca"), "CharTokenizer: chars must be distinct characters, got duplicates"),
    (lambda: CharTokenizer.train(""), "CharTokenizer.train: text must be a non-empty str, got ''"),
    (lambda: WordTokenizer(["a", "b"]), r"WordTokenizer: vocab must be \['', '\[UNK\]', \.\.\.\], got \['a', 'b'\]"),
    (lambda: WordTokenizer.train(" ... !? "), "WordTokenizer.train: text must be a text with words, got none"),
])
def test_constructors_and_training_name_the_bad_argument(make, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        make()


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
    with pytest.raises(ValueError, match=r"the 'chars' entry must be a valid list for a 'char' tokenizer, "
                                         r"got none \(missing\)"):
        tokenizer_from_dict({"type": "char"})
    with pytest.raises(ValueError, match=r"the 'merges' entry must be a valid list for a 'bpe' tokenizer, "
                                         r"got \[\[1\]\]"):
        tokenizer_from_dict({"type": "bpe", "merges": [[1]]})
    with pytest.raises(ValueError, match="merges must be of ids defined before them, got merge 0"):
        tokenizer_from_dict({"type": "bpe", "merges": [[1, 300]]})
    with pytest.raises(ValueError, match="must be a JSON object"):
        tokenizer_from_dict(["char"])


TOKENIZERS = {"char": lambda: CharTokenizer.train("hello world"), "word": lambda: WordTokenizer.train("hello world"),
              "bpe": lambda: BPETokenizer.train("hello world", vocab_size=256)}


@pytest.fixture(params=list(TOKENIZERS))
def tok(request):
    return TOKENIZERS[request.param]()


def test_decode_takes_any_1d_integer_sequence(tok, backend):
    ids = [3, 2, 1]
    want = tok.decode(ids)
    for same in [tuple(ids), np.array(ids, dtype=np.int32), np.array(ids, dtype=np.uint8),
                 [np.int64(i) for i in ids], backend.asarray(np.array(ids)), backend.tensor(np.array(ids))]:
        assert tok.decode(same) == want
    assert tok.decode([]) == tok.decode(np.array([])) == ""
    assert tok.decode(np.int64(3)) == tok.decode([3])                 # a single id
    name = type(tok).__name__
    with pytest.raises(IndexError, match=rf"{name}\.decode: ids must be ids in \[0, {tok.vocab_size}\), got id -1"):
        tok.decode(backend.tensor(np.array([2, -1])))


@pytest.mark.parametrize("ids,match", [
    (np.array([1.0, 2.0]), r"got dtype float64 \(\[1\.0, 2\.0\]\)$"),
    ([1, 2.5], r"got dtype float64"),
    (["a"], r"got dtype <U1 \(\['a'\]\); encode turns text into ids"),
    ("ab", r"got str 'ab'; encode turns text into ids"),
    ([True, False], r"got bools \[True, False\]"),
    ([1, True], r"got bools \[1, True\]"),
    (np.array([True]), r"got dtype bool"),
    ([1, None], r"got dtype object"),
    (np.array([[1, 2], [3, 4]]), r"got ids of shape \(2, 2\); decode a batch row by row, e\.g\. batch_decode\(ids\)"),
    ([[1, 2], [3]], r"got a ragged list; decode a batch with batch_decode"),
])
def test_decode_refuses_what_is_not_a_1d_integer_sequence(tok, ids, match):
    name = type(tok).__name__
    with pytest.raises(TypeError, match=rf"^{name}\.decode: ids must be a 1-D sequence of integer token ids, {match}"):
        tok.decode(ids)


def test_decode_refuses_a_float_tensor(tok, backend):
    with pytest.raises(TypeError, match=r"decode: ids must be a 1-D sequence of integer token ids, got dtype float"):
        tok.decode(backend.tensor(np.array([1.0, 2.0])))


def test_batch_decode(tok, backend):
    rows = np.array([[3, 2, 1], [1, 1, 2]])
    want = [tok.decode(rows[0]), tok.decode(rows[1])]
    assert tok.batch_decode(rows) == tok.batch_decode(backend.tensor(rows)) == tok.batch_decode(rows.tolist()) == want
    assert tok.batch_decode([[3, 2, 1], [1]]) == [want[0], tok.decode([1])]      # rows of different lengths
    name = type(tok).__name__
    with pytest.raises(TypeError, match=rf"{name}\.batch_decode: sequences must be a \(B, T\) batch .* got an array "
                                        r"of shape \(3,\); decode one sequence with decode"):
        tok.batch_decode(rows[0])
    with pytest.raises(TypeError, match=rf"{name}\.batch_decode: sequences must be .* got int 5"):
        tok.batch_decode(5)


@pytest.mark.parametrize("method", ["encode", "train"])
def test_text_must_be_a_str(tok, method):
    name = type(tok).__name__
    call = getattr(tok, method) if method == "encode" else lambda t: type(tok).train(t, **(
        {"vocab_size": 256} if name == "BPETokenizer" else {}))
    with pytest.raises(TypeError, match=rf"^{name}\.{method}: text must be a str, got bytes; decode the bytes "
                                        r"first, e\.g\. text\.decode\('utf-8'\)$"):
        call(b"hel")
    with pytest.raises(TypeError, match=rf"^{name}\.{method}: text must be a str, got list$"):
        call(["hel"])


def test_char_encode_of_bytes_does_not_list_ints():
    with pytest.raises(TypeError, match="got bytes"):
        CharTokenizer.train("hello").encode(b"hel")


def test_train_sizes_take_numpy_integers_and_refuse_others():
    assert WordTokenizer.train("a b c", max_tokens=np.int64(3)).vocab_size == 3
    assert BPETokenizer.train("aa aa aa", vocab_size=np.int64(257)).vocab_size == 257
    for bad in [3.0, "3", True]:
        with pytest.raises(ValueError, match=rf"max_tokens must be an integer >= 3 .*got {re.escape(repr(bad))}"):
            WordTokenizer.train("a b c", max_tokens=bad)
    for bad in [260.0, "260", None]:
        with pytest.raises(ValueError, match=rf"vocab_size must be an integer >= 256, got {re.escape(repr(bad))}"):
            BPETokenizer.train("a b c", vocab_size=bad)
    for bad in [-1, 2.0, "2", True]:
        with pytest.raises(ValueError, match=rf"BPETokenizer: min_frequency must be a non-negative integer, "
                                             rf"got {re.escape(repr(bad))}$"):
            BPETokenizer.train("a b c", vocab_size=260, min_frequency=bad)
