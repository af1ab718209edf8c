"""Finetuner and the built-in rewards: the banned letter's rate falls, the KL reported is the one computed, resume is
exact, a sequence reward sits at the last token, both backends, bad input."""

import copy
import re

import numpy as np
import pytest

import minigen
from minigen.checkpoint import CheckpointError, load_checkpoint
from minigen.data import BPETokenizer, CharTokenizer, WordTokenizer
from minigen.models import RNNLanguageModel, TextCNNDiscriminator
from minigen.rl import DiscriminatorReward, Finetuner, IncludeWord, Lipogram, sequence_log_probs, train_discriminator

TEXT = "the cat sat on a mat and we met ten men in a den " * 40
TOK = CharTokenizer.train(TEXT)
IDS = TOK.encode(TEXT)
SMALL = dict(batch_size=16, prompt_length=4, new_tokens=12, lr=1e-2, progress=False, log=lambda text: None)


def tiny(seed=0, dropout=0.0, dtype=None):
    minigen.manual_seed(seed)
    return RNNLanguageModel(TOK.vocab_size, 8, 24, 2 if dropout else 1, dropout=dropout, dtype=dtype)


def e_rate(model, n=64, seed=5):
    """The share of e/E among ``n`` samples of 24 characters after random 4-character prompts."""
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(IDS) - 4, n)
    prompts = np.stack([IDS[s:s + 4] for s in starts])
    out = minigen.to_numpy(model.eval().generate(prompts, max_new_tokens=24, do_sample=True, top_k=0, seed=seed))
    text = "".join(TOK.batch_decode(out[:, 4:]))
    return sum(text.count(c) for c in "eE") / len(text)


def test_a_few_steps_lower_the_banned_letters_rate():
    model = tiny()
    before = e_rate(model)
    ft = Finetuner(model, Lipogram(TOK, "e"), IDS, max_steps=40, seed=0, **SMALL)
    history = ft.fit()
    after = e_rate(model)
    assert before > 0.05 and after < 0.01, (before, after)             # about 1 / V, then almost never
    assert len(history) == 40 and history[-1]["reward"] > history[0]["reward"]
    assert history[-1]["kl"] > 0                           # it moved away from the reference


def test_the_kl_and_the_reward_reported_are_the_ones_computed():
    model = tiny()
    reward = Lipogram(TOK, "e")
    ft = Finetuner(model, reward, IDS, max_steps=5, seed=1, **SMALL)
    first = ft.train_step()
    assert first["kl"] == 0.0                               # the policy is the reference before its first update
    for _ in range(3):
        ft.train_step()
    policy = copy.deepcopy(model)                           # the policy that samples step 5
    m = ft.train_step()
    ids, P = ft.last_batch, SMALL["prompt_length"]
    with minigen.no_grad():
        lp = sequence_log_probs(policy.train(), ids, P).numpy().astype(np.float64)
        ref = sequence_log_probs(ft.reference, ids, P).numpy().astype(np.float64)
    assert m["kl"] == pytest.approx((lp - ref).sum(1).mean(), rel=1e-6, abs=1e-9)
    assert m["reward"] == pytest.approx(reward(ids[:, P:]).sum(1).mean(), abs=1e-12)
    assert m["reward"] == -sum(text.count("e") for text in TOK.batch_decode(ids[:, P:])) / len(ids)
    assert ft.history[-1] == m and ft.step == 5


def test_a_sequence_reward_is_given_at_the_last_token():
    ft = Finetuner(tiny(), lambda c: np.arange(len(c), dtype=float), IDS, max_steps=1, **SMALL)
    r = ft.task_rewards(np.zeros((3, 4), np.int64))
    np.testing.assert_array_equal(r, [[0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 2]])
    per_token = Lipogram(TOK, "e")
    np.testing.assert_array_equal(Finetuner(tiny(), per_token, IDS, max_steps=1, **SMALL).task_rewards(IDS[None, :6]),
                                  per_token(IDS[None, :6]))


@pytest.mark.parametrize("with_discriminator", [False, True])
def test_resume_is_bit_for_bit(tmp_path, with_discriminator):
    def make(steps, folder, seed=0):
        model = tiny(seed, dropout=0.2)
        minigen.manual_seed(3)
        d = TextCNNDiscriminator(TOK.vocab_size, 8, (2, 3), (4, 4))
        reward = DiscriminatorReward(d) if with_discriminator else Lipogram(TOK, "e")
        return Finetuner(model, reward, IDS, max_steps=steps, checkpoint_dir=folder, checkpoint_every=3, seed=0,
                         **SMALL)

    minigen.manual_seed(11)
    whole = make(6, tmp_path / "whole")
    whole.fit()
    minigen.manual_seed(11)
    first = make(3, tmp_path / "cut")
    first.fit()
    del first                                               # the process is gone
    second = make(6, tmp_path / "cut", seed=99)             # other weights, reference and generators: all reloaded
    second.resume()
    assert second.step == 3
    second.fit()
    for (name, a), b in zip(whole.model.state_dict().items(), second.model.state_dict().values()):
        np.testing.assert_array_equal(minigen.to_numpy(a), minigen.to_numpy(b), err_msg=name)
    assert second.history == whole.history


def test_on_the_backends(backend):
    model = tiny(dtype="float64").to(backend.device)
    ft = Finetuner(model, Lipogram(TOK, "e"), IDS, max_steps=2, seed=0, **SMALL)
    history = ft.fit()
    assert len(history) == 2 and all(np.isfinite([h["kl"] for h in history]))
    assert minigen.backend.device_of(ft.last_batch) == minigen.backend.device_of(next(model.parameters()).data)


def test_lipogram_counts_the_letter_in_any_tokenizer():
    words = WordTokenizer.train("Eve met seven men, and the men met Eve")
    lip = Lipogram(words, "e")
    ids = words.encode("eve men and")
    assert lip(ids[None, :]).tolist() == [[-2.0, -1.0, 0.0]]
    bpe = BPETokenizer.train(TEXT, vocab_size=270)
    ids = bpe.encode("ten men")
    assert -Lipogram(bpe, "E")(ids[None, :]).sum() == 2


def test_include_word_is_a_whole_word():
    inc = IncludeWord(TOK, "cat")
    assert inc(np.stack([TOK.encode("a cat "), TOK.encode("cats  "), TOK.encode("tomcat")])).tolist() == [1, 0, 0]
    phrase = IncludeWord(TOK, "a cat")
    assert phrase(np.stack([TOK.encode("on a cat"), TOK.encode("a cats  "), TOK.encode("ta cat  ")])).tolist() == \
        [1, 0, 0]


def test_the_discriminator_reward_is_its_real_probability():
    model = tiny()
    d = train_discriminator(model, IDS, 4, 12, num_samples=32, epochs=1, batch_size=16)
    reward = DiscriminatorReward(d)
    ids = IDS[:24].reshape(2, 12)
    with minigen.no_grad():
        np.testing.assert_allclose(reward(ids), d.real_probability(ids).numpy())
    assert ((reward(ids) > 0) & (reward(ids) < 1)).all() and not d.training


@pytest.mark.parametrize("make,match", [
    (lambda: Lipogram(TOK, "q"), "Lipogram: letter must be a letter that some token of the tokenizer holds"),
    (lambda: Lipogram(TOK, "ee"), "Lipogram: letter must be one character"),
    (lambda: Lipogram(TOK, " "), "Lipogram: letter must be one character"),
    (lambda: IncludeWord(TOK, "zebra"), "IncludeWord: word must be text the tokenizer can encode, got 'zebra'"),
    (lambda: IncludeWord(TOK, ""), "IncludeWord: word must be a non-empty string"),
    (lambda: IncludeWord(WordTokenizer.train("a cat"), "dog"), "IncludeWord: word must be text the tokenizer can wr"),
    (lambda: DiscriminatorReward(tiny()), "DiscriminatorReward: discriminator must be a TextCNNDiscriminator"),
    (lambda: Finetuner(tiny(), "e", IDS, max_steps=1), "Finetuner: reward must be a function of completions"),
    (lambda: Finetuner(tiny(), Lipogram(TOK, "e"), IDS), "Finetuner: max_steps or time_budget must be given"),
    (lambda: Finetuner(tiny(), Lipogram(TOK, "e"), IDS, max_steps=1, kl_coef=-0.1), "Finetuner: kl_coef must be"),
    (lambda: Finetuner(tiny(), Lipogram(TOK, "e"), IDS, max_steps=1, new_tokens=0), "Finetuner: new_tokens must be"),
    (lambda: Finetuner(tiny(), Lipogram(TOK, "e"), IDS, max_steps=1, lr=0), "Finetuner: lr must be"),
    (lambda: Finetuner(tiny(), Lipogram(TOK, "e"), IDS, max_steps=0), "Finetuner: max_steps must be a positive integer "
     "or None, got 0"),
    (lambda: Finetuner(tiny(), Lipogram(TOK, "e"), IDS, time_budget=0), "Finetuner: time_budget must be a finite "
     "number > 0 or None, got 0"),
    (lambda: Finetuner(tiny(), Lipogram(TOK, "e"), IDS, max_steps=1, grad_clip=0), "Finetuner: grad_clip must be a "
     "finite number > 0 or None, got 0"),
    (lambda: Finetuner(tiny(), Lipogram(TOK, "e"), IDS, max_steps=1, progress="no"), "Finetuner: progress must be "
     "True or False, got 'no'"),
    (lambda: Finetuner(tiny(), Lipogram(TOK, "e"), IDS, max_steps=1, seed=-1), "Finetuner: seed must be a "
     "non-negative integer, got -1"),
    (lambda: train_discriminator(tiny(), IDS, prompt_length=0), "train_discriminator: prompt_length must be a positive "
     "integer, got 0"),
    (lambda: train_discriminator(tiny(), IDS, lr=0), "train_discriminator: lr must be a finite number > 0, got 0"),
    (lambda: train_discriminator(tiny(), IDS, seed=-1), "train_discriminator: seed must be a non-negative integer, "
     "got -1"),
    (lambda: Finetuner(tiny(), lambda c: np.zeros(2), IDS, max_steps=1, **SMALL).train_step(),
     r"Finetuner: reward must be a function returning \(B,\) or \(B, T\) numbers for completions of shape \(16, 12\)"),
    (lambda: Finetuner(tiny(), lambda c: np.full(len(c), np.nan), IDS, max_steps=1, **SMALL).train_step(),
     "Finetuner: reward must be a function returning finite numbers, got nan"),
])
def test_bad_input(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


@pytest.fixture(scope="module")
def saved_finetuner(tmp_path_factory):
    """The path of a checkpoint that a Finetuner wrote at step 0 (no training)."""
    folder = tmp_path_factory.mktemp("finetuner")
    Finetuner(tiny(), Lipogram(TOK, "e"), IDS, max_steps=1, checkpoint_dir=folder, **SMALL).save_checkpoint()
    return folder / "checkpoint.safetensors"


@pytest.mark.parametrize("loop, optimizer, match", [
    (None, True, "extra.finetuner must be an object, got NoneType"),
    (dict(step=-1), True, "extra.finetuner.step must be a non-negative integer, got -1"),
    (dict(step=3), True, "extra.finetuner.step must be the checkpoint's step, 0, got 3"),
    (dict(elapsed=-1.0), True, "extra.finetuner.elapsed must be a finite number >= 0, got -1.0"),
    (dict(history={}), True, "extra.finetuner.history must be a list, got dict"),
    (dict(history=[{"step": 1}]), True, r"extra.finetuner.history\[0\] must be a \{step, reward, kl\} object, "
     r"got \{'step': 1\}"),
    ({}, False, "optimizer must be Adam's state, got null"),
], ids=["no-loop", "negative-step", "other-step", "negative-elapsed", "history-dict", "history-entry", "no-optimizer"])
def test_resume_names_the_damaged_entry(saved_finetuner, loop, optimizer, match):
    ck = load_checkpoint(saved_finetuner)
    if loop is None:
        del ck.meta["extra"]["finetuner"]
    else:
        ck.meta["extra"]["finetuner"].update(loop)
    if not optimizer:
        ck.optimizer_state = None
    ft = Finetuner(tiny(), Lipogram(TOK, "e"), IDS, max_steps=1, **SMALL)
    with pytest.raises(CheckpointError, match=f"checkpoint {re.escape(str(saved_finetuner))}: {match}") as e:
        ft.resume(ck)
    assert "\n" not in str(e.value) and ft.step == 0
