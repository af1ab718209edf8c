"""Seq2Seq with additive attention: gradchecks, masking, beam vs exhaustive search, learning,
scheduled sampling, the strict backend, bad input and the attention plot."""

import itertools
import math
import sys

import numpy as np
import pytest

import minigen
import minigen.functional as F
from minigen import backend as B
from minigen.data.dates import date_pairs, date_vocabs, encode_pairs
from minigen.models.seq2seq import DecodeOutput, Seq2Seq, plot_attention, teacher_forcing_prob

PAD, BOS, EOS = 0, 1, 2


def tiny(cell="gru", seed=0, src_vocab=7, tgt_vocab=6, **kw):
    minigen.manual_seed(seed)
    kw = dict(dict(embed_dim=3, hidden_size=4, attn_dim=3, dtype="float64"), **kw)
    return Seq2Seq(src_vocab, tgt_vocab, cell=cell, **kw)


SRC = np.array([[3, 4, 5, 6], [6, 3, 0, 0], [5, 0, 0, 0]])               # right-padded with PAD = 0
TGT_IN = np.array([[BOS, 3, 4, 5], [BOS, 5, 5, EOS], [BOS, 4, 0, 0]])
TGT_OUT = np.array([[3, 4, 5, EOS], [5, 5, EOS, 0], [4, EOS, 0, 0]])


def swap_parameters(model, tensors):
    """Let the gradcheck's tensors stand in for the model's parameters, by dotted name."""
    modules = dict(model.named_modules())
    for name, t in tensors.items():
        owner, _, pname = name.rpartition(".")
        modules[owner]._parameters[pname] = t


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_decoder_step_gradcheck(backend, cell):
    """The step's inputs (state, encoder outputs, their projection) and the decoder's parameters, in float64."""
    model = tiny(cell).to(backend.device)
    rng = np.random.default_rng(1)
    Bn, S, D, A, H = 3, 4, 8, 3, 4
    mask = backend.asarray(SRC[:, :S] != PAD)
    y_prev = backend.asarray(np.array([BOS, 4, 5]))
    names = [n for n, _ in model.named_parameters() if n.split(".")[0] in ("tgt_embed", "attn_dec", "attn_v",
                                                                           "decoder", "out")]
    inputs = {"h": backend.asarray(rng.standard_normal((Bn, H))),
              "enc_out": backend.asarray(rng.standard_normal((Bn, S, D))),
              "enc_proj": backend.asarray(rng.standard_normal((Bn, S, A)))}
    if cell == "lstm":
        inputs["c"] = backend.asarray(rng.standard_normal((Bn, H)))
    params = dict(model.named_parameters())
    inputs.update({n: params[n].data for n in names})

    def step(h, enc_out, enc_proj, c=None, **ps):
        swap_parameters(model, ps)
        state = (h, c) if cell == "lstm" else h
        logits, state, attn = model.decoder_step(y_prev, state, enc_out, enc_proj, mask)
        return (logits, *state, attn) if cell == "lstm" else (logits, state, attn)

    assert minigen.gradcheck(step, inputs, fast=backend.fast)


@pytest.mark.parametrize("bidirectional", [True, False])
def test_teacher_forced_loss_gradcheck(backend, bidirectional):
    """The whole forward (encoder with padding, attention, decoder) and the masked loss, w.r.t. every parameter."""
    model = tiny(bidirectional=bidirectional, src_vocab=6, tgt_vocab=5, embed_dim=2, hidden_size=3,
                 attn_dim=2).to(backend.device)
    params = {n: p.data for n, p in model.named_parameters()}
    src = backend.asarray(np.array([[3, 4, 5], [5, 3, 0], [4, 0, 0]]))
    tgt_in = backend.asarray(np.array([[BOS, 3, 4], [BOS, 4, EOS], [BOS, 3, 0]]))
    tgt_out = backend.asarray(np.array([[3, 4, EOS], [4, EOS, 0], [3, EOS, 0]]))

    def loss(**ps):
        swap_parameters(model, ps)
        return model.loss(src, tgt_in, tgt_out)

    # every element on NumPy for the bidirectional model; the unidirectional one shares its parts
    assert minigen.gradcheck(loss, params, fast=backend.fast or not bidirectional)


def test_shapes_and_outputs():
    model = tiny()
    logits = model(SRC, TGT_IN)
    assert logits.shape == (3, 4, 6)
    enc_out, enc_proj, mask, state = model.encode(SRC)
    assert (enc_out.shape, enc_proj.shape, state.shape) == ((3, 4, 8), (3, 4, 3), (3, 4))
    np.testing.assert_array_equal(mask, SRC != PAD)
    out = model.greedy_decode(SRC, max_len=6)
    assert isinstance(out, DecodeOutput) and out.scores is None
    L = out.sequences.shape[1]
    assert out.sequences.shape == (3, L) and out.attentions.shape == (3, L, 4) and L <= 6
    for row, attn in zip(out.sequences, out.attentions):
        n = list(row).index(EOS) + 1 if EOS in row else L
        assert not np.isin(row[:n], [PAD, BOS]).any() and (row[n:] == PAD).all()
        np.testing.assert_allclose(attn[:n].sum(-1), 1.0)
        assert (attn[n:] == 0).all()
    assert model.training                                                 # decoding restores the mode


def test_masked_source_positions_get_zero_attention(backend):
    model = tiny().to(backend.device)
    enc_out, enc_proj, mask, state = model.encode(backend.asarray(SRC))
    y = backend.asarray(np.array([BOS, BOS, BOS]))
    for _ in range(3):
        logits, state, attn = model.decoder_step(y, state, enc_out, enc_proj, mask)
        a = backend.numpy(attn)
        assert (a[SRC == PAD] == 0.0).all() and (a[SRC != PAD] > 0).all()
        np.testing.assert_allclose(a.sum(-1), 1.0)
        y = backend.asarray(np.array([3, 4, 5]))
    a = model.greedy_decode(backend.asarray(SRC), max_len=4).attentions                 # (B, L, S)
    assert (a[np.broadcast_to((SRC == PAD)[:, None, :], a.shape)] == 0).all()


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_extra_padding_changes_nothing(cell):
    """Padding never reaches a token, in either direction: more padding columns give the same logits."""
    model = tiny(cell)
    padded = np.concatenate([SRC, np.zeros((3, 3), np.int64)], axis=1)
    np.testing.assert_allclose(model(padded, TGT_IN).numpy(), model(SRC, TGT_IN).numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(model(SRC[2:, :1], TGT_IN[2:]).numpy(), model(SRC[2:], TGT_IN[2:]).numpy(),
                               rtol=1e-12, atol=1e-14)


def exhaustive(model, src, max_len, length_penalty):
    """Score every hypothesis (tokens of {EOS, 3, 4}, ending in EOS or cut at max_len) by teacher forcing."""
    best = None
    for L in range(1, max_len + 1):
        for seq in itertools.product([EOS, 3, 4], repeat=L):
            if EOS in seq[:-1] or (L < max_len and seq[-1] != EOS):
                continue
            tgt_in = np.array([[BOS, *seq[:-1]]])
            logp = F.log_softmax(model(src, tgt_in), axis=-1).numpy()[0]            # (L, V)
            total = sum(logp[t, tok] for t, tok in enumerate(seq))
            score = total / L ** length_penalty
            if best is None or score > best[0]:
                best = (score, list(seq))
    return best


@pytest.mark.parametrize("length_penalty", [0.0, 1.0, 2.0])
def test_beam_search_equals_exhaustive_search(length_penalty):
    model = tiny(tgt_vocab=5, hidden_size=5, seed=3).eval()
    for p in model.out.parameters():                                      # sharper distributions
        p.data *= 4.0
    for row in range(3):
        src = SRC[row:row + 1]
        score, seq = exhaustive(model, src, max_len=3, length_penalty=length_penalty)
        # 15 hypotheses: E, xE (2), xyE (4), xyz (8): a beam of 15 never prunes one
        out = model.beam_decode(src, num_beams=15, max_len=3, length_penalty=length_penalty)
        got = [t for t in out.sequences[0].tolist()][:len(seq)]
        assert got == seq and (out.sequences[0, len(seq):] == PAD).all()
        assert out.scores[0] == pytest.approx(score, rel=1e-10)
        narrow = model.beam_decode(src, num_beams=2, max_len=3, length_penalty=length_penalty)
        assert narrow.scores[0] <= score + 1e-12


def test_beam_of_one_is_greedy():
    minigen.manual_seed(4)
    model = Seq2Seq(9, 8, embed_dim=4, hidden_size=6)
    src = np.random.default_rng(0).integers(3, 9, size=(5, 6))
    src[1, 4:] = PAD
    greedy = model.greedy_decode(src, max_len=7)
    beam = model.beam_decode(src, num_beams=1, max_len=7, length_penalty=0.7)
    np.testing.assert_array_equal(beam.sequences, greedy.sequences)
    np.testing.assert_allclose(beam.attentions, greedy.attentions, rtol=1e-6, atol=1e-7)
    wide = model.beam_decode(src, num_beams=4, max_len=7, length_penalty=0.0)
    assert wide.sequences.shape[0] == 5 and wide.scores.shape == (5,)


def test_a_short_run_lowers_the_loss():
    minigen.manual_seed(0)
    src_vocab, tgt_vocab = date_vocabs()
    model = Seq2Seq(len(src_vocab), len(tgt_vocab), embed_dim=8, hidden_size=16)
    opt = minigen.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for step in range(100):
        src, tgt_in, tgt_out = encode_pairs(date_pairs(16, seed=step, split="train"), src_vocab, tgt_vocab)
        opt.zero_grad()
        loss = model.loss(src, tgt_in, tgt_out)
        loss.backward()
        minigen.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-10:]) < 0.4 * np.mean(losses[:10])          # about 2.2 -> 0.5 nats
    # scheduled sampling trains too: feed the model's own argmax / samples part of the time
    for tf, sampling in ((0.5, "argmax"), (teacher_forcing_prob(3000, k=1000.0), "sample")):
        opt.zero_grad()
        loss = model.loss(src, tgt_in, tgt_out, teacher_forcing=tf, sampling=sampling)
        loss.backward()
        opt.step()
        assert math.isfinite(loss.item())


def test_scheduled_sampling_feeds_the_models_own_predictions():
    model = tiny(seed=5)
    gold = model(SRC, TGT_IN)
    np.testing.assert_allclose(model(SRC, TGT_IN, teacher_forcing=1.0).numpy(), gold.numpy())
    free = model(SRC, TGT_IN, teacher_forcing=False).numpy()                   # always the previous argmax
    scores = np.where(np.isin(np.arange(6), [PAD, BOS]), -np.inf, free)
    fed = np.concatenate([TGT_IN[:, :1], scores[:, :-1].argmax(-1)], axis=1)
    np.testing.assert_allclose(model(SRC, fed).numpy(), free, rtol=1e-12)
    minigen.manual_seed(1)
    a = model(SRC, TGT_IN, teacher_forcing=0.3, sampling="sample").numpy()
    minigen.manual_seed(1)
    np.testing.assert_array_equal(model(SRC, TGT_IN, teacher_forcing=0.3, sampling="sample").numpy(), a)


def test_teacher_forcing_schedules():
    inv = [teacher_forcing_prob(s, k=200.0) for s in range(0, 3000, 100)]
    assert inv[0] > 0.99 and all(a > b for a, b in zip(inv, inv[1:])) and inv[-1] < 0.01
    assert teacher_forcing_prob(int(200 * math.log(200)), k=200.0) == pytest.approx(0.5, abs=1e-3)
    assert teacher_forcing_prob(10**9, k=200.0, min_prob=0.25) == 0.25
    lin = [teacher_forcing_prob(s, "linear", decay_steps=1000, min_prob=0.1) for s in (0, 500, 2000)]
    assert lin == [1.0, 0.5, 0.1]
    with pytest.raises(ValueError, match="schedule must be"):
        teacher_forcing_prob(0, "cosine")
    with pytest.raises(ValueError, match="k must be a finite number >= 1"):
        teacher_forcing_prob(0, k=0.5)
    with pytest.raises(ValueError, match="teacher_forcing_prob: step must be a non-negative integer, got -1"):
        teacher_forcing_prob(-1)
    with pytest.raises(ValueError, match="teacher_forcing_prob: decay_steps must be a finite number > 0, got 0"):
        teacher_forcing_prob(0, "linear", decay_steps=0)


def test_forward_and_a_training_step_on_every_backend(backend):
    minigen.manual_seed(0)
    model = Seq2Seq(7, 6, embed_dim=4, hidden_size=5, dropout=0.1).to(backend.device)
    opt = minigen.optim.Adam(model.parameters(), lr=0.01)
    before = {n: backend.numpy(p).copy() for n, p in model.named_parameters()}
    src, tgt_in, tgt_out = (backend.asarray(a) for a in (SRC, TGT_IN, TGT_OUT))
    loss = model.loss(src, tgt_in, tgt_out, teacher_forcing=0.5)
    loss.backward()
    minigen.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    assert math.isfinite(loss.item())
    changed = [n for n, p in model.named_parameters() if not np.array_equal(backend.numpy(p), before[n])]
    assert len(changed) == len(before)
    assert model(src, tgt_in).device == B.device_of(src)
    out = model.greedy_decode(src, max_len=5)
    beam = model.beam_decode(src, num_beams=2, max_len=5)
    assert out.sequences.shape[0] == beam.sequences.shape[0] == 3


def test_lstm_and_state_dict_round_trip():
    model = tiny("lstm")
    state = model.encode(SRC)[3]
    assert isinstance(state, tuple) and state[1].shape == (3, 4)
    copy = tiny("lstm", seed=9)
    copy.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(copy(SRC, TGT_IN).numpy(), model(SRC, TGT_IN).numpy())
    np.testing.assert_array_equal(copy.beam_decode(SRC, 3, 5).sequences, model.beam_decode(SRC, 3, 5).sequences)


def test_bad_input():
    model = tiny()
    with pytest.raises(ValueError, match=r"Seq2Seq: src must be a 2-D array of token ids, got shape \(4,\)"):
        model(SRC[0], TGT_IN)
    with pytest.raises(IndexError, match=r"Seq2Seq: src must be ids in \[0, 7\), got id 7"):
        model(np.full((1, 3), 7), TGT_IN[:1])
    with pytest.raises(IndexError, match=r"Seq2Seq: tgt_in must be ids in \[0, 6\), got id -1"):
        model(SRC, np.full((3, 2), -1))
    with pytest.raises(TypeError, match="src must be an integer array of token ids, got float64"):
        model(SRC.astype(np.float64), TGT_IN)
    with pytest.raises(ValueError, match="tgt_in must be 3 rows like src, got 2 rows"):
        model(SRC, TGT_IN[:2])
    with pytest.raises(ValueError, match=r"Seq2Seq: src must be a non-empty \(batch, length\) array, "
                                         r"got shape \(0, 3\)"):
        model(np.zeros((0, 3), np.int64), TGT_IN[:0])
    with pytest.raises(ValueError, match=r"Seq2Seq: tgt_in must be a non-empty \(batch, length\) array, "
                                         r"got shape \(3, 0\)"):
        model(SRC, TGT_IN[:, :0])
    with pytest.raises(ValueError, match="at least one token that is not padding"):
        model(np.array([[3, 4], [0, 0]]), TGT_IN[:2])
    with pytest.raises(ValueError, match="tgt_out must be of tgt_in's shape"):
        model.loss(SRC, TGT_IN, TGT_OUT[:, :2])
    with pytest.raises(ValueError, match="teacher_forcing must be True, False or a probability"):
        model(SRC, TGT_IN, teacher_forcing=1.5)
    with pytest.raises(ValueError, match="sampling must be one of 'argmax', 'sample'"):
        model(SRC, TGT_IN, teacher_forcing=0.5, sampling="top_k")
    with pytest.raises(ValueError, match="num_beams must be a positive integer"):
        model.beam_decode(SRC, num_beams=0)
    with pytest.raises(ValueError, match="max_len must be a positive integer"):
        model.greedy_decode(SRC, max_len=0)
    with pytest.raises(ValueError, match="length_penalty must be a finite number"):
        model.beam_decode(SRC, length_penalty=float("nan"))
    with pytest.raises(ValueError, match="cell must be one of"):
        Seq2Seq(7, 6, cell="transformer")
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        Seq2Seq(7, 6, hidden_size=0)
    with pytest.raises(ValueError, match="hidden_size must be a positive integer, got True"):
        Seq2Seq(7, 6, hidden_size=True)                    # a bool is no size; a NumPy int is one
    assert Seq2Seq(np.int64(7), np.int32(6), embed_dim=np.int64(4), hidden_size=np.int64(8)).hidden_size == 8
    with pytest.raises(ValueError, match=r"eos_id must be an integer in \[0, 5\], got 6"):
        Seq2Seq(7, 6, eos_id=6)
    with pytest.raises(ValueError, match="Seq2Seq: attn_dim must be a positive integer or None, got 0"):
        Seq2Seq(7, 6, attn_dim=0)
    with pytest.raises(ValueError, match="Seq2Seq: bidirectional must be True or False, got 'yes'"):
        Seq2Seq(7, 6, bidirectional="yes")


def test_plot_attention_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    model = tiny()
    out = model.greedy_decode(SRC[:1], max_len=4)
    path = plot_attention(out.attentions[0], ["a", "b", " ", "d"], ["x", "y", "z", "<eos>"], tmp_path / "attn.png",
                          title="test")
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="covering 5 target x 4 source tokens"):
        plot_attention(out.attentions[0], list("abcd"), list("vwxyz"), tmp_path / "bad.png")


def test_plot_attention_without_matplotlib(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(ImportError, match=r'pip install "minigen\[plot\]"'):
        plot_attention(np.eye(2), ["a", "b"], ["c", "d"], tmp_path / "x.png")
