"""load_gpt2's refusals and errors, on folders written by save_gpt2 (no PyTorch needed)."""

import json
import pickle

import pytest

import minigen
from minigen.checkpoint import CheckpointError
from minigen.models import GPT, GPTConfig
from minigen.pretrained import ConfigMismatchError, load_gpt2

CFG = dict(vocab_size=50, block_size=16, n_layer=2, n_head=2, n_embd=16)


@pytest.fixture
def folder(tmp_path):
    minigen.manual_seed(0)
    minigen.pretrained.save_gpt2(GPT(GPTConfig(**CFG)), tmp_path / "gpt")
    return tmp_path / "gpt"


class _Payload:
    """Unpickling this creates ``marker``: what a malicious checkpoint would do (with worse code)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, "w")


@pytest.mark.parametrize("name", ["pytorch_model.bin", "model.pt", "model.pth", "last.ckpt"])
def test_a_pickle_file_path_is_refused_with_the_conversion_hint(folder, name):
    marker = folder / "pwned"
    (folder / name).write_bytes(pickle.dumps(_Payload(str(marker))))
    with pytest.raises(CheckpointError, match=r"load_gpt2: path must be safetensors \(minigen reads only safetensors.*"
                                              r"save_pretrained\('DIR', safe_serialization=True\)") as info:
        load_gpt2(folder / name)
    assert str(folder / name) in str(info.value) and "\n" not in str(info.value)
    assert not marker.exists()


def test_a_pickle_only_folder_is_refused_on_one_line(folder):
    (folder / "model.safetensors").unlink()
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps([1]))
    with pytest.raises(CheckpointError, match=r"path must be a folder with model\.safetensors.*python -c.*"
                                              r"with only pytorch_model\.bin") as info:
        load_gpt2(folder)
    assert "\n" not in str(info.value)


def test_other_paths_are_named(folder):
    with pytest.raises(CheckpointError, match=r"path must be a Hugging Face GPT-2 folder .*, got .*config\.json"):
        load_gpt2(folder / "config.json")
    with pytest.raises(CheckpointError, match=r"load_gpt2: path must be an existing folder or file, "
                                              r"got .*other\.safetensors"):
        load_gpt2(folder / "other.safetensors")
    assert load_gpt2(folder / "model.safetensors").gpt_config == GPTConfig(**CFG)


def test_a_config_mismatch_is_one_line_and_keeps_every_problem(folder):
    config = json.loads((folder / "config.json").read_text())
    config["n_embd"] = 8
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigMismatchError) as info:
        load_gpt2(folder)
    message, problems = str(info.value), info.value.problems
    assert isinstance(info.value, ValueError) and "\n" not in message
    assert len(problems) == 2 + 12 * CFG["n_layer"] + 2                 # every tensor's shape depends on n_embd
    assert message.startswith("the GPT-2 checkpoint does not match its config.json: transformer.wte.weight: "
                              "checkpoint has (50, 16), the config expects (50, 8); ")
    assert message.endswith(f"; ... and {len(problems) - 3} more (all in the error's .problems)")
    assert "transformer.h.1.mlp.c_proj.weight: checkpoint has (64, 16), the config expects (32, 8)" in problems


def test_missing_and_unexpected_tensors_are_named(folder):
    from safetensors.numpy import load_file, save_file
    tensors = load_file(str(folder / "model.safetensors"))
    del tensors["transformer.h.1.mlp.c_fc.bias"]
    tensors["transformer.h.1.mlp.extra.weight"] = tensors["transformer.ln_f.bias"]
    save_file(tensors, str(folder / "model.safetensors"))
    with pytest.raises(ConfigMismatchError, match="missing tensor transformer.h.1.mlp.c_fc.bias; unexpected tensor "
                                                  r"transformer\.h\.1\.mlp\.extra\.weight$"):
        load_gpt2(folder)


@pytest.mark.parametrize("entry,value,message", [
    ("model_type", "llama", "load_gpt2: config.json's model_type must be one of 'gpt2', got 'llama'"),
    ("activation_function", "relu", "load_gpt2: config.json's activation_function must be one of 'gelu_new', "
                                    "'gelu_pytorch_tanh', 'gelu_fast', 'gelu', got 'relu'"),
])
def test_a_config_json_of_another_architecture_is_refused_by_name(folder, entry, value, message):
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, entry: value}))
    with pytest.raises(ValueError, match=f"^{message}$"):
        load_gpt2(folder)


def test_a_folder_without_config_json_and_a_gpt_without_biases(folder, tmp_path):
    (folder / "config.json").unlink()
    with pytest.raises(CheckpointError, match=f"^load_gpt2: path must be a folder with config.json, got {folder}$"):
        load_gpt2(folder / "model.safetensors")
    with pytest.raises(ValueError, match="^save_gpt2: model must be a GPT with biases, as GPT-2 has, got one built "
                                         "with bias=False$"):
        minigen.pretrained.save_gpt2(GPT(GPTConfig(**CFG, bias=False)), tmp_path / "nobias")
    assert not (tmp_path / "nobias").exists()
