"""load_gpt2: a Hugging Face GPT-2 checkpoint gives the same logits, greedy text and beams as transformers.

The reference model is a small random ``GPT2LMHeadModel`` saved to a temporary folder
(no network). Its weights are drawn wider than GPT-2's initialisation (std 0.3, not
0.02), so that the next-token distributions are peaked and greedy/beam choices are
not near-ties decided by rounding.
"""

import json
import os
import pickle

import numpy as np
import pytest

from minigen import backend as B
from minigen.checkpoint import CheckpointError
from minigen.pretrained import load_gpt2, save_gpt2

pytestmark = pytest.mark.reference
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

V, P = 100, 32                                          # vocab size, positions
PAD = 1                                                 # not 0: HF's beam search pads with EOS when pad_token_id is 0


def make_hf(seed=0, dtype=torch.float32, **overrides):
    """A small random GPT2LMHeadModel in eval mode, with no EOS (it never stops early)."""
    kwargs = dict(vocab_size=V, n_positions=P, n_embd=32, n_layer=2, n_head=4, bos_token_id=None, eos_token_id=None,
                  pad_token_id=PAD)
    kwargs.update(overrides)
    torch.manual_seed(seed)
    hf = transformers.GPT2LMHeadModel(transformers.GPT2Config(**kwargs))
    with torch.no_grad():
        for name, p in hf.named_parameters():
            if "ln_" not in name:
                p.normal_(0.0, 0.3)
    return hf.to(dtype).eval()


def save_hf(hf, folder):
    hf.save_pretrained(str(folder), safe_serialization=True)
    return folder


@pytest.fixture(scope="module")
def hf64_and_model(tmp_path_factory):
    """The float64 reference and minigen's load of it, shared by the generation tests."""
    hf = make_hf(dtype=torch.float64)
    folder = save_hf(hf, tmp_path_factory.mktemp("gpt2_f64"))
    return hf, load_gpt2(folder, dtype="float64")


def prompts(B=2, T=5, seed=0):
    return np.random.default_rng(seed).integers(0, V, size=(B, T))


def hf_logits(hf, ids):
    with torch.no_grad():
        return hf(torch.tensor(ids)).logits.numpy()


def hf_generate(hf, ids, **kwargs):
    with torch.no_grad():
        kwargs.setdefault("pad_token_id", PAD)
        return hf.generate(torch.tensor(ids), attention_mask=torch.ones(ids.shape, dtype=torch.long),
                           do_sample=False, **kwargs).numpy()


# ---------------------------------------------------------------------------- logits

def test_logits_match_in_float32(tmp_path):
    hf = make_hf()
    model = load_gpt2(save_hf(hf, tmp_path))
    assert not model.training and model.wte.weight.data.dtype == np.float32
    assert model.lm_head.weight is model.wte.weight                  # tied, as in GPT-2
    ids = prompts(3, 20, seed=1)
    ref = hf_logits(hf, ids)
    np.testing.assert_allclose(model(ids).numpy(), ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


def test_logits_match_in_float64(hf64_and_model):
    hf, model = hf64_and_model
    ids = prompts(2, P, seed=2)                                      # the full context
    np.testing.assert_allclose(model(ids).numpy(), hf_logits(hf, ids), rtol=1e-10, atol=1e-10)


def test_untied_head_and_exact_gelu(tmp_path):
    hf = make_hf(dtype=torch.float64, tie_word_embeddings=False, activation_function="gelu")
    model = load_gpt2(save_hf(hf, tmp_path), dtype="float64")
    assert model.lm_head.weight is not model.wte.weight
    assert model.gpt_config.gelu_approximate == "none"
    ids = prompts(2, 9, seed=3)
    np.testing.assert_allclose(model(ids).numpy(), hf_logits(hf, ids), rtol=1e-10, atol=1e-10)


def test_hub_layout_without_prefix_and_with_mask_buffers(tmp_path):
    """The files on the Hub name tensors ``h.0...`` (no ``transformer.``) and may carry ``attn.bias`` buffers."""
    from safetensors.numpy import load_file, save_file
    hf = make_hf(dtype=torch.float64)
    save_hf(hf, tmp_path)
    tensors = {k.removeprefix("transformer."): v for k, v in load_file(str(tmp_path / "model.safetensors")).items()}
    for i in range(2):
        tensors[f"h.{i}.attn.bias"] = np.tril(np.ones((1, 1, P, P), np.float32))
        tensors[f"h.{i}.attn.masked_bias"] = np.array(-1e4, np.float32)
    save_file(tensors, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    model = load_gpt2(tmp_path / "model.safetensors", dtype="float64")         # the file path works too
    ids = prompts(1, 7, seed=4)
    np.testing.assert_allclose(model(ids).numpy(), hf_logits(hf, ids), rtol=1e-10, atol=1e-10)


def test_sharded_checkpoint(tmp_path):
    hf = make_hf(dtype=torch.float64)
    hf.save_pretrained(str(tmp_path), safe_serialization=True, max_shard_size="40KB")
    assert (tmp_path / "model.safetensors.index.json").exists() and not (tmp_path / "model.safetensors").exists()
    model = load_gpt2(tmp_path, dtype="float64")
    ids = prompts(1, 6, seed=9)
    np.testing.assert_allclose(model(ids).numpy(), hf_logits(hf, ids), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_checkpoints_are_widened(tmp_path, dtype):
    hf = make_hf(dtype=dtype)
    model = load_gpt2(save_hf(hf, tmp_path))
    assert model.wte.weight.data.dtype == np.float32
    want = hf.transformer.h[1].attn.c_attn.weight.detach().float().numpy().T      # Conv1D (in, out) -> (out, in)
    np.testing.assert_array_equal(model.h[1].attn.in_proj_weight.numpy(), want)  # widening is exact


# ---------------------------------------------------------------------------- generation

def test_greedy_generation_matches(hf64_and_model):
    hf, model = hf64_and_model
    ids = prompts(2, 4, seed=5)
    ours = model.generate(ids, max_new_tokens=20)
    np.testing.assert_array_equal(ours, hf_generate(hf, ids, max_new_tokens=20))


def test_greedy_generation_matches_in_float32(tmp_path):
    hf = make_hf()
    model = load_gpt2(save_hf(hf, tmp_path))
    ids = prompts(2, 4, seed=5)
    np.testing.assert_array_equal(model.generate(ids, max_new_tokens=20), hf_generate(hf, ids, max_new_tokens=20))


@pytest.mark.parametrize("num_return_sequences", [1, 2])
def test_beam_search_matches(hf64_and_model, num_return_sequences):
    hf, model = hf64_and_model
    ids = prompts(2, 4, seed=6)
    kwargs = dict(max_new_tokens=20, num_beams=3, length_penalty=1.0, num_return_sequences=num_return_sequences)
    ours = model.generate(ids, **kwargs)
    np.testing.assert_array_equal(ours, hf_generate(hf, ids, **kwargs))


@pytest.mark.parametrize("num_beams, early_stopping", [(1, None), (4, False), (4, True), (4, "never")])
def test_stopping_at_eos_matches(hf64_and_model, num_beams, early_stopping):
    """An EOS id that the search meets: finished sequences, padding and early stopping as in transformers."""
    hf, model = hf64_and_model
    ids = prompts(2, 4, seed=5)
    greedy = model.generate(ids, max_new_tokens=20)
    eos = int(greedy[0, 8])                                          # a token the model produces mid-way
    kwargs = dict(max_new_tokens=16, num_beams=num_beams, eos_token_id=eos, pad_token_id=PAD,
                  num_return_sequences=min(num_beams, 3))
    if num_beams > 1:
        kwargs.update(early_stopping=early_stopping, length_penalty=0.7)
    ref = hf_generate(hf, ids, **kwargs)
    assert (ref == eos).any()
    np.testing.assert_array_equal(model.generate(ids, **kwargs), ref)


def test_kv_cache_equals_recomputing(hf64_and_model):
    _, model = hf64_and_model
    ids = prompts(2, 3, seed=7)
    state, logits = None, None
    steps = [ids]
    for t in range(12):                                              # one position at a time, from the cache
        logits, state = model.generation_step(steps[-1], state)
        full = model(np.concatenate(steps, axis=1)).numpy()           # the whole prefix again
        np.testing.assert_allclose(logits.numpy()[:, -1], full[:, -1], rtol=1e-10, atol=1e-10)
        steps.append(full[:, -1].argmax(-1)[:, None])
    np.testing.assert_array_equal(model.generate(ids, max_new_tokens=12), np.concatenate(steps, axis=1))


def test_on_the_backends(tmp_path, backend):
    """Moved to a device (``model.to("cuda")`` on a GPU), the model gives the same logits, greedy text and beams."""
    hf = make_hf(dtype=torch.float64)
    model = load_gpt2(save_hf(hf, tmp_path), dtype="float64").to(backend.device)
    ids = prompts(2, 6, seed=8)
    out = model(backend.asarray(ids))
    assert str(B.device_of(out.data)) == str(B.device_of(backend.asarray(ids)))
    np.testing.assert_allclose(backend.numpy(out), hf_logits(hf, ids), rtol=1e-10, atol=1e-10)
    for kwargs in (dict(max_new_tokens=12), dict(max_new_tokens=12, num_beams=3, length_penalty=1.0)):
        ours = model.generate(backend.asarray(ids[:, :4]), **kwargs)
        np.testing.assert_array_equal(backend.numpy(ours), hf_generate(hf, ids[:, :4], **kwargs), err_msg=str(kwargs))


# ---------------------------------------------------------------------------- saving

def test_save_gpt2_round_trips_to_transformers(hf64_and_model, tmp_path):
    hf, model = hf64_and_model
    save_gpt2(model, tmp_path)
    again = transformers.GPT2LMHeadModel.from_pretrained(str(tmp_path), dtype=torch.float64).eval()
    ids = prompts(2, 11, seed=8)
    np.testing.assert_allclose(hf_logits(again, ids), hf_logits(hf, ids), rtol=1e-12, atol=1e-12)
    reloaded = load_gpt2(tmp_path, dtype="float64")
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(reloaded.state_dict()[name], value, err_msg=name)


# ---------------------------------------------------------------------------- refusals and errors

class _Payload:
    """Unpickling this creates ``marker``: what a malicious checkpoint would do (with worse code)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, "w")


def test_a_pickle_only_folder_is_refused_without_unpickling(tmp_path):
    save_hf(make_hf(), tmp_path)
    os.remove(tmp_path / "model.safetensors")
    marker = tmp_path / "pwned"
    (tmp_path / "pytorch_model.bin").write_bytes(pickle.dumps(_Payload(str(marker))))
    with pytest.raises(CheckpointError, match=r"pickle.*save_pretrained\('DIR', "
                                              r"safe_serialization=True\).*pytorch_model\.bin"):
        load_gpt2(tmp_path)
    assert not marker.exists()


def test_a_pickle_named_safetensors_is_refused_without_unpickling(tmp_path):
    save_hf(make_hf(), tmp_path)
    marker = tmp_path / "pwned"
    (tmp_path / "model.safetensors").write_bytes(pickle.dumps(_Payload(str(marker))))
    with pytest.raises(CheckpointError, match="looks like a pickle"):
        load_gpt2(tmp_path)
    assert not marker.exists()


def test_a_header_length_starting_with_byte_0x80_is_not_taken_for_a_pickle(tmp_path):
    """The 8 length bytes of a safetensors header can begin with 0x80, a pickle's first byte."""
    from safetensors.numpy import load_file, save_file
    hf = make_hf(dtype=torch.float64)
    save_hf(hf, tmp_path)
    tensors = load_file(str(tmp_path / "model.safetensors"))
    for pad in range(300):                                           # grow the header until its length is 0x..80
        save_file(tensors, str(tmp_path / "model.safetensors"), metadata={"format": "pt", "pad": "x" * pad})
        if (tmp_path / "model.safetensors").read_bytes()[:1] == b"\x80":
            break
    assert (tmp_path / "model.safetensors").read_bytes()[:1] == b"\x80"
    ids = prompts(1, 5, seed=10)
    np.testing.assert_allclose(load_gpt2(tmp_path, dtype="float64")(ids).numpy(), hf_logits(hf, ids), rtol=1e-10)


def test_a_truncated_file_is_refused(tmp_path):
    save_hf(make_hf(), tmp_path)
    data = (tmp_path / "model.safetensors").read_bytes()
    (tmp_path / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="model.safetensors"):
        load_gpt2(tmp_path)


def test_a_config_that_does_not_match_the_tensors_names_them(tmp_path):
    save_hf(make_hf(n_embd=64), tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["n_embd"] = 32
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"^the GPT-2 checkpoint does not match its config\.json: "
                                         r"transformer\.wte\.weight: checkpoint has \(100, 64\), the config "
                                         r"expects \(100, 32\);.* and 25 more") as info:
        load_gpt2(tmp_path)
    assert "transformer.h.0.attn.c_attn.weight: checkpoint has (64, 192), the config expects (32, 96)" in \
        info.value.problems


def test_missing_and_unexpected_tensors_are_named(tmp_path):
    from safetensors.numpy import load_file, save_file
    save_hf(make_hf(), tmp_path)
    tensors = load_file(str(tmp_path / "model.safetensors"))
    del tensors["transformer.h.1.mlp.c_fc.bias"]
    tensors["transformer.h.1.mlp.extra.weight"] = np.zeros(3, np.float32)
    save_file(tensors, str(tmp_path / "model.safetensors"))
    with pytest.raises(ValueError) as info:
        load_gpt2(tmp_path)
    assert "missing tensor transformer.h.1.mlp.c_fc.bias" in str(info.value)
    assert "unexpected tensor transformer.h.1.mlp.extra.weight" in str(info.value)


def test_unsupported_configs_and_missing_files_are_refused(tmp_path):
    save_hf(make_hf(n_inner=48), tmp_path / "narrow")
    with pytest.raises(ValueError, match="n_inner=48"):
        load_gpt2(tmp_path / "narrow")
    with pytest.raises(CheckpointError, match="path must be an existing folder or file"):
        load_gpt2(tmp_path / "nowhere")
    save_hf(make_hf(), tmp_path / "empty")
    os.remove(tmp_path / "empty" / "model.safetensors")
    with pytest.raises(CheckpointError, match="no model.safetensors"):
        load_gpt2(tmp_path / "empty")


def test_loading_leaves_minigen_random_state_alone(tmp_path):
    from minigen import backend
    folder = save_hf(make_hf(), tmp_path)
    state = backend.get_rng_state()
    load_gpt2(folder)                                                # builds a GPT, whose init draws numbers
    assert backend.get_rng_state() == state
