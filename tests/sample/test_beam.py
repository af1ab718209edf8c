"""beam_search(): exact on tiny problems, greedy at one beam, batch-independent, the same on every backend."""

from __future__ import annotations

import itertools
import sys

import numpy as np
import pytest

import minigen
from minigen import backend as B
from minigen.models import RNNLanguageModel
from minigen.sample import generate
from minigen.sample.beam import BeamSearchOutput, beam_search, plot_beam_tree


def tiny_model(seed=0, vocab_size=4):
    minigen.manual_seed(seed)
    return RNNLanguageModel(vocab_size=vocab_size, embed_dim=3, hidden_size=6, num_layers=1).double()


def small_model(seed=0):
    minigen.manual_seed(seed)
    return RNNLanguageModel(vocab_size=7, embed_dim=5, hidden_size=12, num_layers=2).double()


def summed_logprob(model, prompt, continuation):
    """log p(continuation | prompt), from one forward pass over the whole sequence (no carried state)."""
    logits, _ = model(np.array([list(prompt) + list(continuation)]))
    z = logits.data[0]                                                      # (T, V)
    m = z.max(axis=-1, keepdims=True)
    logp = z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))
    return sum(logp[len(prompt) - 1 + i, c] for i, c in enumerate(continuation))


def generated(row, P, eos, pad):
    """The new tokens of one output row, up to and including EOS; checks that only padding follows."""
    new = [int(x) for x in row[P:]]
    if eos in new:
        end = new.index(eos) + 1
        assert all(x == pad for x in new[end:]), f"not padded after EOS: {new}"
        return new[:end]
    return new


def test_equals_exhaustive_search_without_eos():
    model, prompt, V, L = tiny_model(1), [2, 0], 4, 3
    ranked = sorted(((summed_logprob(model, prompt, c), c) for c in itertools.product(range(V), repeat=L)),
                    reverse=True)
    # 16 beams hold every 2-token prefix, so the last step ranks all 64 continuations
    out = beam_search(model, np.array([prompt]), num_beams=16, max_new_tokens=L, num_return_sequences=16)
    assert isinstance(out, BeamSearchOutput) and out.tree is None
    assert [tuple(r[2:]) for r in out.sequences.tolist()] == [c for _, c in ranked[:16]]
    np.testing.assert_allclose(out.sequences_scores, [s / L for s, _ in ranked[:16]], rtol=1e-12)


@pytest.mark.parametrize("length_penalty", [1.0, 0.0, 2.5, -1.0])
@pytest.mark.parametrize("early_stopping", [False, "never"])
def test_equals_exhaustive_search_with_eos(length_penalty, early_stopping):
    model, prompt, V, L, eos = tiny_model(2), [1, 2], 4, 3, 3
    # every sequence that ends at its first EOS, or runs to L tokens without one
    seqs = [c[:c.index(eos) + 1] if eos in c else c for c in itertools.product(range(V), repeat=L)]
    seqs = sorted(set(seqs))
    # Hugging Face's score: summed log-probs / (new tokens, EOS included) ** length_penalty
    ranked = sorted(((summed_logprob(model, prompt, c) / len(c) ** length_penalty, c) for c in seqs), reverse=True)
    # 64 beams: all (V-1)^2 * V = 36 last-step candidates rank in the top K, and all 40 sequences fit in
    out = beam_search(model, np.array([prompt]), num_beams=64, max_new_tokens=L, num_return_sequences=10,
                      eos_token_id=eos, length_penalty=length_penalty, early_stopping=early_stopping)
    assert [tuple(generated(r, 2, eos, eos)) for r in out.sequences.tolist()] == [c for _, c in ranked[:10]]
    np.testing.assert_allclose(out.sequences_scores, [s for s, _ in ranked[:10]], rtol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_one_beam_is_greedy(seed):
    model = small_model(seed)
    prompt = np.array([[1, 2, 3], [4, 4, 0]])
    out = beam_search(model, prompt, num_beams=1, max_new_tokens=8)
    np.testing.assert_array_equal(out.sequences, generate(model, prompt, 8))
    expected = [summed_logprob(model, p, s[3:]) / 8 for p, s in zip(prompt.tolist(), out.sequences.tolist())]
    np.testing.assert_allclose(out.sequences_scores, expected, rtol=1e-12)


def test_num_return_sequences_are_the_best_distinct_sorted():
    model, prompt = small_model(4), [5, 1]
    out = beam_search(model, np.array([prompt]), num_beams=5, max_new_tokens=4, num_return_sequences=5,
                      length_penalty=0.0)
    rows = [tuple(r[2:]) for r in out.sequences.tolist()]
    assert len(set(rows)) == 5
    assert np.all(np.diff(out.sequences_scores) <= 0)
    np.testing.assert_allclose(out.sequences_scores, [summed_logprob(model, prompt, r) for r in rows], rtol=1e-12)
    three = beam_search(model, np.array([prompt]), num_beams=5, max_new_tokens=4, num_return_sequences=3,
                        length_penalty=0.0)
    np.testing.assert_array_equal(three.sequences, out.sequences[:3])
    np.testing.assert_array_equal(three.sequences_scores, out.sequences_scores[:3])
    # more beams search more: the best score cannot get worse than greedy's
    greedy = beam_search(model, np.array([prompt]), num_beams=1, max_new_tokens=4, length_penalty=0.0)
    assert out.sequences_scores[0] >= greedy.sequences_scores[0]


def test_a_batch_equals_each_prompt_alone():
    model, pad = small_model(5), 6                  # a token id like any other (vocab_size 7)
    prompts = np.array([[1, 2, 3], [6, 0, 6]])
    kw = dict(num_beams=3, max_new_tokens=7, num_return_sequences=2, eos_token_id=2, pad_token_id=pad,
              length_penalty=0.7)
    both = beam_search(model, prompts, **kw)
    assert both.sequences.shape[0] == 4
    for b in range(2):
        alone = beam_search(model, prompts[b:b + 1], **kw)
        rows = both.sequences[2 * b:2 * b + 2]
        width = alone.sequences.shape[1]
        np.testing.assert_array_equal(rows[:, :width], alone.sequences)
        assert np.all(rows[:, width:] == pad)
        np.testing.assert_allclose(both.sequences_scores[2 * b:2 * b + 2], alone.sequences_scores, rtol=1e-10)


@pytest.mark.parametrize("seed", [3, 4])        # 3: one row ends early, three run to the limit; 4: all end early
def test_eos_padding_and_scores(seed):
    model, prompt, eos, pad, lp = tiny_model(seed, vocab_size=5), [1, 2], 0, 4, 0.8
    kw = dict(num_beams=4, max_new_tokens=6, num_return_sequences=4, eos_token_id=eos, length_penalty=lp)
    out = beam_search(model, np.array([prompt]), pad_token_id=pad, **kw)
    news = [generated(r, 2, eos, pad) for r in out.sequences.tolist()]
    assert any(n[-1] == eos and len(n) < 6 for n in news)                  # at least one ended early...
    assert out.sequences.shape[1] == 2 + max(len(n) for n in news)          # ...and the output is no wider
    for n, score in zip(news, out.sequences_scores):
        assert eos not in n[:-1]
        assert n[-1] == eos or len(n) == 6                                  # ended, or ran to the limit
        np.testing.assert_allclose(score, summed_logprob(model, prompt, n) / len(n) ** lp, rtol=1e-12)
    default_pad = beam_search(model, np.array([prompt]), **kw)             # pads with EOS by default
    padding = np.arange(out.sequences.shape[1])[None, :] >= 2 + np.array([len(n) for n in news])[:, None]
    np.testing.assert_array_equal(default_pad.sequences, np.where(padding, eos, out.sequences))


class CountCalls:
    """A model wrapper that counts forward calls."""

    def __init__(self, model):
        self.model, self.calls = model, 0
        self.reorder_state = model.reorder_state

    def __getattr__(self, name):
        return getattr(self.model, name)

    def __call__(self, ids, state=None):
        self.calls += 1
        return self.model(ids, state)

    def generation_step(self, ids, state=None):                      # what decoding calls
        return self(ids, state)


def favour(token, bonus):
    """A processor adding ``bonus`` to one token's log-prob (it sees log-probabilities, as in HF)."""
    def proc(ids, scores):
        xp = B.array_namespace(scores)
        hit = xp.arange(scores.shape[-1], device=B.device_of(scores)) == token    # (V,)
        return xp.where(hit, scores + bonus, scores)
    return proc


def test_early_stopping_true_stops_at_num_beams_hypotheses():
    model, prompt, eos, K = CountCalls(tiny_model(6, vocab_size=5)), np.array([[1, 2]]), 4, 3
    kw = dict(num_beams=K, max_new_tokens=12, eos_token_id=eos, logits_processor=favour(eos, 1.0), return_tree=True)
    early = beam_search(model, prompt, early_stopping=True, **kw)
    steps = max(n["step"] for n in early.tree)
    assert steps < 12 and model.calls == steps                             # the prompt, then steps - 1 single steps
    finished_before = sum(n["finished"] for n in early.tree if n["step"] < steps)
    assert finished_before < K <= sum(n["finished"] for n in early.tree)   # stopped at the step the K-th finished
    model.calls = 0
    late = beam_search(model, prompt, early_stopping=False, **kw)
    assert model.calls >= steps
    assert late.sequences_scores[0] >= early.sequences_scores[0]            # the same search, run longer


def test_processors_see_log_probs_and_running_sequences():
    model, prompt, K = small_model(7), np.array([[3, 3], [1, 6]]), 3
    seen = []

    def record(ids, scores):
        z = B.to_numpy(scores)
        seen.append(ids.shape)
        np.testing.assert_allclose(np.log(np.exp(z).sum(axis=-1)), 0.0, atol=1e-12)   # rows of log-probs
        return scores

    out = beam_search(model, prompt, num_beams=K, max_new_tokens=4, logits_processor=[record, favour(5, -np.inf)])
    assert seen == [(2 * K, 2 + t) for t in range(4)]
    assert 5 not in out.sequences[:, 2:].tolist()                           # a banned token never appears


def test_prompt_only_and_mode_restored():
    model = small_model(8)
    out = beam_search(model, np.array([[1, 2]]), num_beams=3, max_new_tokens=0, num_return_sequences=2)
    np.testing.assert_array_equal(out.sequences, [[1, 2], [1, 2]])
    np.testing.assert_array_equal(out.sequences_scores, [0.0, 0.0])
    assert model.training
    beam_search(model, np.array([[1, 2]]), num_beams=2, max_new_tokens=2)
    assert model.training


def test_on_the_backends(backend):
    kw = dict(num_beams=3, max_new_tokens=6, num_return_sequences=2, eos_token_id=2, length_penalty=0.8,
              logits_processor=favour(2, 0.5), return_tree=True)
    prompt = np.array([[1, 2, 3], [4, 0, 6]])
    ref = beam_search(small_model(9), prompt, **kw)
    model = small_model(9).to(backend.device)
    out = beam_search(model, backend.asarray(prompt), **kw)
    assert B.device_of(out.sequences) == B.device_of(backend.asarray(prompt))
    np.testing.assert_array_equal(backend.numpy(out.sequences), ref.sequences)
    np.testing.assert_allclose(out.sequences_scores, ref.sequences_scores, rtol=1e-12)
    assert [(n["token"], n["parent"], n["finished"]) for n in out.tree] == \
        [(n["token"], n["parent"], n["finished"]) for n in ref.tree]


def test_tree():
    model, prompt, K, T = small_model(10), [2, 5], 3, 4
    out = beam_search(model, np.array([prompt, [1, 1]]), num_beams=K, max_new_tokens=T, num_return_sequences=2,
                      return_tree=True)
    tree = out.tree
    # no EOS: K running beams at each step but the last, where the top K candidates finish
    assert len(tree) == 1 + K * (T - 1) + K
    assert tree[0]["parent"] is None and tree[0]["step"] == 0
    for t in range(1, T + 1):
        nodes = [n for n in tree if n["step"] == t]
        assert sorted(n["beam"] for n in nodes) == list(range(K))
        assert all(n["finished"] == (t == T) for n in nodes)
    paths = {0: []}
    for i, n in enumerate(tree[1:], start=1):
        p = n["parent"]
        assert 0 <= p < i and tree[p]["step"] == n["step"] - 1 and not tree[p]["finished"]
        paths[i] = paths[p] + [n["token"]]
        np.testing.assert_allclose(n["logprob"], summed_logprob(model, prompt, paths[i]), rtol=1e-12)
    returned = [i for i, n in enumerate(tree) if n["finished"] and n["returned"]]
    assert [paths[i] for i in returned] != [] and len(returned) == 2
    best_first = sorted(returned, key=lambda i: -tree[i]["score"])
    assert [paths[i] for i in best_first] == out.sequences[:2, 2:].tolist()
    np.testing.assert_allclose([tree[i]["score"] for i in best_first], out.sequences_scores[:2], rtol=1e-12)


class CharTokenizer:
    def decode(self, ids):
        return "".join("abcdefg"[int(i)] for i in ids)


def test_plot_beam_tree(tmp_path):
    pytest.importorskip("matplotlib")
    out = beam_search(small_model(11), np.array([[1, 2]]), num_beams=3, max_new_tokens=4, eos_token_id=0,
                      return_tree=True)
    for tokenizer, name in ((None, "ids.png"), (CharTokenizer(), "text.png")):
        plot_beam_tree(out.tree, tmp_path / name, tokenizer=tokenizer)
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for empty, shown in (([], r"\[\]"), (None, "None")):         # return_tree=False leaves out.tree None
        with pytest.raises(ValueError, match=rf"^plot_beam_tree: tree must be the non-empty tree of "
                                             rf"beam_search\(\.\.\., return_tree=True\), got {shown}$"):
            plot_beam_tree(empty, tmp_path / "empty.png")


def test_plot_without_matplotlib(monkeypatch, tmp_path):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r'pip install "minigen\[plot\]"'):
        plot_beam_tree([dict(step=0, beam=0, token=None, parent=None, logprob=0.0, finished=False)],
                       tmp_path / "x.png")


@pytest.mark.parametrize("kw,match", [
    (dict(num_beams=0), "num_beams must be a positive integer, got 0"),
    (dict(num_beams=2.0), "num_beams must be a positive integer, got 2.0"),
    (dict(num_return_sequences=0), "num_return_sequences must be .*, got 0"),
    (dict(num_return_sequences=3), r"num_return_sequences must be an integer in \[1, 2\], got 3"),
    (dict(max_new_tokens=-1), "max_new_tokens must be a non-negative integer, got -1"),
    (dict(length_penalty=float("nan")), r"length_penalty must be a number in \[-10, 10\], got nan"),
    (dict(length_penalty=float("inf")), r"length_penalty must be a number in \[-10, 10\], got inf"),
    (dict(length_penalty=1e300), r"length_penalty must be a number in \[-10, 10\], got 1e\+300"),   # as the CLI
    (dict(early_stopping="always"), "early_stopping must be one of True, False, 'never', got 'always'"),
    (dict(pad_token_id="0"), "pad_token_id must be an integer token id or None, got '0'"),
])
def test_bad_arguments(kw, match):
    args = dict(num_beams=2, max_new_tokens=3) | kw
    with pytest.raises(ValueError, match=match):
        beam_search(tiny_model(), np.array([[1]]), **args)


@pytest.mark.parametrize("ids,kw,error,match", [
    ([[1, 9]], {}, IndexError, r"input_ids must be ids in \[0, 4\), got id 9"),
    ([[-1, 2]], {}, IndexError, r"input_ids must be ids in \[0, 4\), got id -1"),
    ([[1.0, 2.0]], {}, TypeError, "input_ids must be an integer array of token ids, got float64"),
    ([[1]], dict(eos_token_id=-1), IndexError, r"eos_token_id must be an id in \[0, 4\), got -1"),
    ([[1]], dict(eos_token_id=4), IndexError, r"eos_token_id must be an id in \[0, 4\), got 4"),
    ([[1]], dict(pad_token_id=-1), IndexError, r"beam_search: pad_token_id must be an id in \[0, 4\), got -1"),
    ([[1]], dict(pad_token_id=4), IndexError, "beam_search: pad_token_id must be an id in \\[0, 4\\), got 4"),
])
def test_bad_token_ids(ids, kw, error, match):
    with pytest.raises(error, match=match):
        beam_search(tiny_model(), np.array(ids), num_beams=2, max_new_tokens=3, **kw)


@pytest.mark.parametrize("shape", [(1, 0), (0, 2), (3,)])
def test_bad_prompt(shape):
    with pytest.raises(ValueError, match=r"input_ids must be a (non-empty \(batch, length\)|2-D) array"):
        beam_search(tiny_model(), np.zeros(shape, dtype=np.int64), num_beams=2, max_new_tokens=3)


def test_model_without_reorder_state():
    model = tiny_model()

    def step(ids, state=None):
        return model(ids, state)
    step.training, step.eval, step.train = True, model.eval, model.train
    with pytest.raises(TypeError, match="reorder_state"):
        beam_search(step, np.array([[1]]), num_beams=2, max_new_tokens=3)
