"""GPT: causal forward, the block's gradients, the KV cache equal to recomputing, training, tying, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import minigen
from minigen.models import GPT, GPTConfig, build_model
from minigen.models.gpt import Block
from minigen.sample import generate, sample_next

CFG = dict(vocab_size=11, block_size=12, n_layer=2, n_head=2, n_embd=16)


@pytest.fixture
def model():
    minigen.manual_seed(0)
    return GPT(GPTConfig(**CFG)).double()


def test_forward_is_causal(model):
    ids = np.array([[1, 2, 3, 4, 5, 6]])
    changed = ids.copy()
    changed[0, 4] = 9
    a, b = model(ids).data, model(changed).data
    np.testing.assert_array_equal(a[:, :4], b[:, :4])                # positions before 4 never see it
    assert not np.allclose(a[:, 4:], b[:, 4:])


def test_block_gradcheck(backend):
    minigen.manual_seed(1)
    block = Block(GPTConfig(**CFG), dtype="float64").to(backend.device)
    x = backend.tensor(np.random.default_rng(0).standard_normal((2, 5, 16)), requires_grad=True)
    params = dict(block.named_parameters())
    assert minigen.gradcheck(lambda x, *ps: block(x), [x, *params.values()], fast=backend.fast)


def test_model_gradcheck():
    minigen.manual_seed(2)
    m = GPT(GPTConfig(vocab_size=7, block_size=6, n_layer=1, n_head=2, n_embd=8)).double()
    ids = np.array([[1, 2, 3, 0], [4, 4, 5, 6]])
    targets = np.array([2, 3, 0, 1, 4, 5, 6, 6])

    def loss(*_):
        return minigen.functional.cross_entropy(m(ids).reshape(8, 7), targets)
    assert minigen.gradcheck(loss, list(m.parameters()), fast=True, seed=0)


def _recompute(model, ids, steps, sample=False, seed=0):
    """Generation without a cache: rerun the whole (cropped) context at every step."""
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        logits = model(ids[:, -model.gpt_config.block_size:]).data[:, -1, :]
        ids = np.concatenate([ids, sample_next(logits, do_sample=sample, rng=rng)[:, None]], axis=1)
    return ids


@pytest.mark.parametrize("sample", [False, True])
def test_kv_cache_equals_recomputing(model, sample):
    prompt = np.array([[1, 2, 3], [7, 7, 0]])
    cached = generate(model, prompt, 15, do_sample=sample, top_k=0, seed=3)     # runs past block_size=12
    np.testing.assert_array_equal(cached, _recompute(model, prompt, 15, sample, seed=3))


def test_long_prompts_are_cropped_by_generate_and_refused_by_forward(model):
    prompt = np.arange(20)[None] % 11
    out = generate(model, prompt, 3)
    np.testing.assert_array_equal(out, _recompute(model, prompt, 3))
    with pytest.raises(ValueError, match=r"GPT: ids must be at most block_size=12 positions long \(crop the "
                                         r"input.*got 20 positions"):
        model(prompt)


def test_beam_search_and_greedy(model):
    prompt = np.array([[3, 1, 4]])
    np.testing.assert_array_equal(generate(model, prompt, 6, num_beams=1), generate(model, prompt, 6))
    beams = generate(model, prompt, 6, num_beams=3, num_return_sequences=3)
    assert beams.shape == (3, 9) and (beams[:, :3] == prompt).all()


def test_weight_tying_and_checkpoint_config(model):
    assert model.lm_head.weight is model.wte.weight
    names = [n for n, _ in model.named_parameters()]
    assert "lm_head.weight" not in names and len(names) == len(set(names))
    sd = model.state_dict()
    assert sd["lm_head.weight"] is sd["wte.weight"]
    copy = build_model(model.config).double()
    copy.load_state_dict(sd)
    ids = np.array([[1, 2, 3]])
    np.testing.assert_array_equal(copy(ids).data, model(ids).data)
    untied = GPT(GPTConfig(**CFG, tie_weights=False))
    assert untied.lm_head.weight is not untied.wte.weight


def test_a_short_run_lowers_the_loss():
    text = "the quick brown fox jumps over the lazy dog. " * 30
    tok = minigen.data.CharTokenizer.train(text)
    train, val = minigen.data.train_val_split(tok.encode(text), 0.1)
    minigen.manual_seed(0)
    m = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=16, n_layer=2, n_head=2, n_embd=32))
    opt = minigen.optim.AdamW(m.parameters(), lr=3e-3)
    trainer = minigen.train.Trainer(m, opt, train, val, batch_size=8, seq_len=16, max_steps=120, eval_interval=60,
                                    warmup_steps=10, progress=False, log=lambda t: None)
    before = trainer.evaluate()["val_loss"]
    assert trainer.fit()["val_loss"] < 0.5 * before


def test_on_the_backends(backend):
    minigen.manual_seed(0)
    m = GPT(GPTConfig(**CFG)).double()
    ref = generate(m, np.array([[1, 2]]), 14, do_sample=True, seed=1)
    m.to(backend.device)
    out = generate(m, backend.asarray(np.array([[1, 2]])), 14, do_sample=True, seed=1)
    np.testing.assert_array_equal(backend.numpy(out), ref)


@pytest.mark.parametrize("kw,match", [
    (dict(n_embd=15), "n_embd must be divisible by n_head=2, got 15"),
    (dict(n_layer=0), "n_layer must be a positive integer, got 0"),
    (dict(n_head=2.0), "n_head must be a positive integer, got 2.0"),
    (dict(dropout=1.0), r"dropout must be a number in \[0, 1\), got 1.0"),
    (dict(dropout="0.1"), r"GPTConfig: dropout must be a number in \[0, 1\), got '0.1'"),
    (dict(layer_norm_epsilon=0.0), "layer_norm_epsilon must be a finite number > 0, got 0.0"),
    (dict(layer_norm_epsilon=None), r"layer_norm_epsilon must be a finite number > 0, got None"),
    (dict(bias="yes"), r"GPTConfig: bias must be True or False, got 'yes'"),
    (dict(tie_weights=1), "tie_weights must be True or False, got 1"),
    (dict(gelu_approximate="exact"), "gelu_approximate must be one of 'tanh', 'none', got 'exact'"),
])
def test_bad_config(kw, match):
    with pytest.raises(ValueError, match=match):
        GPTConfig(**{**CFG, **kw})


def test_config_numbers_are_stored_as_python_numbers():
    """A NumPy integer or float is accepted, and kept as int/float so that the config goes into JSON."""
    c = GPTConfig(**{**CFG, "n_layer": np.int64(1), "dropout": np.float32(0.5)})
    assert type(c.n_layer) is int and type(c.dropout) is float and c.dropout == 0.5


def test_a_config_or_keyword_sizes_not_both():
    with pytest.raises(TypeError, match="GPT: config must be given alone, not with keyword sizes .*, got a "
                                        "config and n_layer, vocab_size"):
        GPT(GPTConfig(**CFG), n_layer=4, vocab_size=99)
    with pytest.raises(TypeError, match=r"GPTConfig.__init__\(\) got an unexpected keyword argument "
                                        "'n_layers'"):
        GPT(**{**CFG, "n_layers": 4})
    with pytest.raises(TypeError, match=r"GPT: config must be a GPTConfig \(for a dict d, write GPT\(\*\*d\)\), "
                                        r"got dict"):
        GPT(CFG)
    with pytest.raises(ValueError, match="GPT: dtype must be a floating dtype .*, got int32"):
        GPT(GPTConfig(**CFG), dtype="int32")
    m = GPT(**{**CFG, "n_layer": 3}, dtype="float64")              # keyword sizes alone (as build_model passes them)
    assert len(m.h) == 3 and m.gpt_config == GPTConfig(**{**CFG, "n_layer": 3})
    assert m.wte.weight.dtype == np.float64


def test_bad_ids(model):
    with pytest.raises(ValueError, match=r"ids must be of shape \(batch, seq\)"):
        model(np.array([1, 2]))
    with pytest.raises(ValueError, match=r"GPT: ids must be of shape \(batch, seq\) with seq >= 1, got "
                                         r"ndarray of shape \(2, 0\)"):
        model(np.zeros((2, 0), np.int64))
    with pytest.raises(ValueError, match=r"GPT: ids must be of shape \(batch, seq\) with seq >= 1, got \[\[1, 2\]\]"):
        model([[1, 2]])
    with pytest.raises(IndexError, match=r"ids in \[0, 11\), got id 11"):
        model(np.array([[11]]))


def test_speculative_decoding_with_cached_gpts(model):
    """The draft and the target roll their caches back and forth; greedy output must equal plain greedy."""
    from minigen.sample import speculative_generate
    minigen.manual_seed(5)
    draft = GPT(GPTConfig(**{**CFG, "n_layer": 1})).double()
    prompt = np.array([[2, 5, 7]])
    out = speculative_generate(model, draft, prompt, 14, num_draft_tokens=3, do_sample=False)
    np.testing.assert_array_equal(out, generate(model, prompt, 14))


@pytest.mark.parametrize("kw", [dict(), dict(bias=False), dict(gelu_approximate="none"), dict(tie_weights=False)])
def test_the_generation_path_equals_forward(kw):
    """gpt_infer's lean forward pass (prefill, then one position at a time) gives forward's logits."""
    minigen.manual_seed(4)
    m = GPT(GPTConfig(**CFG, **kw)).double()
    ids = np.array([[1, 2, 3, 4, 5, 6, 7], [0, 9, 9, 2, 3, 1, 5]])
    full = m(ids).data
    logits, state = m.generation_step(ids[:, :4])
    steps = [logits.data]
    for t in range(4, 7):
        logits, state = m.generation_step(ids[:, t:t + 1], state)
        steps.append(logits.data)
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, rtol=1e-10, atol=1e-12)


def test_each_generate_call_sees_the_current_weights(model):
    prompt = np.array([[1, 2, 3]])
    before = generate(model, prompt, 6)
    for p in model.parameters():
        p.data[...] = -p.data                 # in place, as an optimizer step writes
    after = generate(model, prompt, 6)
    np.testing.assert_array_equal(after, _recompute(model, prompt, 6))
    assert not np.array_equal(before, after)


@pytest.mark.parametrize("ids,error,match", [
    ([[1, 11]], IndexError, r"GPT: ids must be ids in \[0, 11\), got id 11"),
    ([[1, -1]], IndexError, r"GPT: ids must be ids in \[0, 11\), got id -1"),    # NumPy's take would wrap it
    ([[1.0, 2.0]], TypeError, "GPT: ids must be an integer array of token ids, got float64"),
    ([1, 2], ValueError, r"GPT: ids must be of shape \(batch, seq\)"),
    ([[], []], ValueError, r"GPT: ids must be of shape \(batch, seq\) with seq >= 1, got .* shape \(2, 0\)"),
])
def test_generation_step_checks_ids(model, ids, error, match):
    """The graph-free ``infer`` reads ``wte`` directly, so ``generation_step`` makes the Embedding's checks itself."""
    with pytest.raises(error, match=match):
        model.generation_step(np.array(ids))
    _, state = model.generation_step(np.array([[1, 2]]))
    with pytest.raises(error, match=match):
        model.generation_step(np.array(ids), state)


def test_generate_checks_ids(model, backend):
    model.to(backend.device)
    with pytest.raises(IndexError, match=r"generate: input_ids must be ids in \[0, 11\), got id 60"):
        model.generate(backend.asarray(np.array([[1, 60]])), max_new_tokens=2)
    with pytest.raises(IndexError, match=r"GPT: ids must be ids in \[0, 11\), got id -1"):
        model.generation_step(backend.asarray(np.array([[1, -1]])))
    with pytest.raises(IndexError, match=r"eos_token_id must be an id in \[0, 11\), got 70"):
        model.generate(np.array([[1, 2]]), max_new_tokens=2, num_beams=2, eos_token_id=70)
