"""GPT2Tokenizer: the same ids as Hugging Face's byte-level BPE, exact round trips, clear loading errors.

The reference vocabulary is trained here with the ``tokenizers`` package (no network).
"""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigen.data.gpt2_tokenizer import GPT2Tokenizer, bytes_to_unicode

pytest.importorskip("regex")

CORPUS = ("Hello world! It's a test; we'll see what they've done. Numbers 12345 and 3.14, ok?\n"
          "Café naïve résumé — 日本語のテキスト 😀 emoji.  Double  spaces\n\n"
          "New paragraph\ttab. I'm, you're, he'd. def f(x):\n    return x ** 2  # square\n") * 30

# pieces that exercise each branch of GPT-2's regex: contractions, letters, digits, symbols, whitespace runs
PIECES = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "''", " '", "hello", " world", "Café", " naïve",
          "日本", "😀", "123", " 4567", "3.14", "²", "Ⅻ", "٣", "!", "?!", " ...", "#", "  ", "\n", "\n\n", "\t", " \n ",
          "\r\n", "\u00a0", "\u2028", "\x85", "\x1c", "\u200b", "e\u0301", "ﬁ", "İ", "<|endoftext|>"]
texts = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=8)), max_size=12).map("".join)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A byte-level BPE trained by ``tokenizers``, saved as vocab.json + merges.txt, and ours loaded from it."""
    tokenizers = pytest.importorskip("tokenizers")
    folder = tmp_path_factory.mktemp("bpe")
    (folder / "corpus.txt").write_text(CORPUS, encoding="utf-8")
    ref = tokenizers.ByteLevelBPETokenizer()
    ref.train([str(folder / "corpus.txt")], vocab_size=400, min_frequency=2, special_tokens=["<|endoftext|>"],
              show_progress=False)
    ref.save_model(str(folder))
    ours = GPT2Tokenizer.from_files(folder / "vocab.json", folder / "merges.txt")
    return folder, ref, ours


def test_loads_the_trained_files(trained):
    folder, ref, tok = trained
    assert tok.kind == "gpt2"
    assert tok.vocab_size == ref.get_vocab_size() == len(json.loads((folder / "vocab.json").read_text("utf-8")))
    assert tok.eos_token_id == ref.token_to_id("<|endoftext|>")
    assert len(tok.merges) == tok.vocab_size - 256 - 1                # every merge made one token


@pytest.mark.parametrize("text", [CORPUS[:300], "", " ", "   leading and trailing   ", "a\n\n\nb", "x<|endoftext|>y",
                                  "<|endoftext|><|endoftext|>", "it's they'LL WE'RE", "1234567890 ½ ³",
                                  "tabs\t\tand\r\nCRLF", "😀😀 😀", "\u2028\x85\x1c\x1d"])
def test_encode_equals_tokenizers(trained, text):
    _, ref, tok = trained
    ids = tok.encode(text)
    assert ids.dtype == np.int64
    assert ids.tolist() == ref.encode(text).ids
    assert tok.decode(ids) == text


@settings(max_examples=300)
@given(text=texts)
def test_encode_equals_tokenizers_on_any_text(trained, text):
    _, ref, tok = trained
    assert tok.encode(text).tolist() == ref.encode(text).ids
    assert tok.decode(tok.encode(text)) == text


@settings(max_examples=100)
@given(text=texts)
def test_encode_equals_transformers(trained, text):
    transformers = pytest.importorskip("transformers")
    folder, _, tok = trained
    try:
        hf = transformers.GPT2Tokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    except Exception as e:  # pragma: no cover - depends on the installed transformers
        pytest.skip(f"transformers.GPT2Tokenizer does not load offline here: {e}")
    assert tok.encode(text).tolist() == hf.encode(text)
    assert hf.decode(tok.encode(text).tolist()) == tok.decode(tok.encode(text))


def test_decode_replaces_a_cut_character(trained):
    _, _, tok = trained
    ids = tok.encode("😀")                                           # 4 UTF-8 bytes, possibly several tokens
    raw = b"".join(tok.token_bytes[i] for i in ids.tolist())
    cut = [tok.encoder[bytes_to_unicode()[b]] for b in raw[:2]]      # the first two bytes, one token each
    assert tok.decode(cut) == "\ufffd"
    with pytest.raises(IndexError, match=r"ids must be ids in \["):
        tok.decode([tok.vocab_size])


def test_saves_and_rebuilds(trained, tmp_path):
    _, _, tok = trained
    tok.save(tmp_path / "tok.json")
    d = json.loads((tmp_path / "tok.json").read_text("utf-8"))
    assert d["type"] == "gpt2"
    again = GPT2Tokenizer.from_dict(d)
    text = CORPUS[:500] + "<|endoftext|>"
    assert again.encode(text).tolist() == tok.encode(text).tolist()
    assert again.eos_token_id == tok.eos_token_id


def test_a_vocabulary_missing_a_byte_is_refused(trained, tmp_path):
    folder, _, _ = trained
    vocab = json.loads((folder / "vocab.json").read_text("utf-8"))
    merges = [line.split(" ") for line in (folder / "merges.txt").read_text("utf-8").splitlines()[1:] if line]
    tokens = sorted(vocab, key=vocab.get)
    tokens.remove("Ċ")                                               # the newline byte's symbol
    merges = [m for m in merges if "Ċ" not in "".join(m)]
    tokens = [t for t in tokens if "Ċ" not in t]
    with pytest.raises(ValueError, match=r"lacks 1 of the 256 byte symbols: 'Ċ' \(byte 10\)"):
        GPT2Tokenizer(tokens, merges)


def test_bad_files_are_refused(tmp_path):
    symbols = list(bytes_to_unicode().values())
    with pytest.raises(ValueError, match=r"merges must be pairs of vocabulary symbols, joined one too, "
                                         r"got merge 0 \('a', 'b'\), which uses 'ab'"):
        GPT2Tokenizer(symbols, [("a", "b")])
    with pytest.raises(ValueError, match=r"vocab must be distinct tokens with the ids 0\.\.255, got other ids"):
        GPT2Tokenizer({s: i + 1 for i, s in enumerate(symbols)}, [])
    with pytest.raises(ValueError, match=r"^GPT2Tokenizer: special_tokens must be tokens of the vocabulary, "
                                         r"got '<\|im_end\|>'$"):
        GPT2Tokenizer(symbols, [], special_tokens=["<|im_end|>"])
    (tmp_path / "vocab.json").write_text(json.dumps({s: i for i, s in enumerate(symbols)}), encoding="utf-8")
    (tmp_path / "merges.txt").write_text("#version: 0.2\na b c\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"merges_txt must be lines of two symbols and one space, "
                                         r"got .*merges\.txt:2: 'a b c'"):
        GPT2Tokenizer.from_pretrained(tmp_path)


def test_bpe_merges_by_rank_not_position():
    symbols = list(bytes_to_unicode().values())
    tok = GPT2Tokenizer(symbols + ["bc", "ab"], [("b", "c"), ("a", "b")])   # "bc" outranks "ab"
    assert tok.bpe("abc") == ["a", "bc"]
    assert tok.encode("abc").tolist() == [tok.encoder["a"], tok.encoder["bc"]]
    assert tok.eos_token_id is None


@pytest.mark.parametrize("text,match", [
    (None, "GPT2Tokenizer.encode: text must be a str, got NoneType"),
    (b"hi", r"text must be a str, got bytes; decode the bytes first, e\.g\. text\.decode\('utf-8'\)"),
    (["hi"], "text must be a str, got list"),
])
def test_encode_refuses_what_is_not_a_str(text, match):
    tok = GPT2Tokenizer(list(bytes_to_unicode().values()), [])
    with pytest.raises(TypeError, match=match):
        tok.encode(text)


def test_file_mistakes_name_the_argument(tmp_path):
    symbols = list(bytes_to_unicode().values())
    vocab, merges = tmp_path / "vocab.json", tmp_path / "merges.txt"
    vocab.write_text(json.dumps({s: i for i, s in enumerate(symbols)}), encoding="utf-8")
    merges.write_text("#version: 0.2\n", encoding="utf-8")
    swap = r"\(did you swap vocab_json and merges_txt\?\)"
    with pytest.raises(ValueError, match=rf"^GPT2Tokenizer\.from_files: vocab_json must be a JSON vocabulary of "
                                         rf"token -> id {swap}, got .*merges\.txt$"):
        GPT2Tokenizer.from_files(merges, vocab)
    with pytest.raises(ValueError, match=rf"^GPT2Tokenizer\.from_files: merges_txt must be a list of merges, not JSON "
                                         rf"{swap}, got .*vocab\.json$"):
        GPT2Tokenizer.from_files(vocab, vocab)
    with pytest.raises(FileNotFoundError, match=r"^GPT2Tokenizer\.from_files: vocab_json must be GPT-2's vocab\.json, "
                                                r"got .*nope\.json \(not found\)"):
        GPT2Tokenizer.from_files(tmp_path / "nope.json", merges)
    with pytest.raises(FileNotFoundError, match=r"^GPT2Tokenizer\.from_files: merges_txt must be GPT-2's merges\.txt, "
                                                r"got .*nope\.txt \(not found\)"):
        GPT2Tokenizer.from_files(vocab, tmp_path / "nope.txt")
    assert GPT2Tokenizer.from_files(vocab, merges).vocab_size == 256


def test_decode_takes_1d_integer_ids_and_refuses_the_rest(backend):
    tok = GPT2Tokenizer(list(bytes_to_unicode().values()), [])
    ids = tok.encode("hi!")
    for same in [ids.tolist(), tuple(ids.tolist()), ids.astype(np.int32), backend.asarray(ids), backend.tensor(ids)]:
        assert tok.decode(same) == "hi!"
    expected = r"^GPT2Tokenizer\.decode: ids must be a 1-D sequence of integer token ids, got "
    for bad, match in [(ids.astype(float), r"dtype float64"), (["h"], r"dtype <U1 .*; encode turns text into ids"),
                       ([True, False], r"bools"), (np.stack([ids, ids]), r"ids of shape \(2, 3\); .*batch_decode")]:
        with pytest.raises(TypeError, match=expected + match):
            tok.decode(bad)
    with pytest.raises(IndexError, match=r"GPT2Tokenizer\.decode: ids must be ids in \[0, 256\), got id 256"):
        tok.decode(backend.tensor(np.array([1, 256])))
    assert tok.batch_decode(backend.tensor(np.stack([ids, ids]))) == ["hi!", "hi!"]
