"""Load (and save) Hugging Face GPT-2 checkpoints as a minigen ``GPT``, reading no pickles.

A Hugging Face GPT-2 folder holds ``config.json`` and ``model.safetensors`` (and, for
the tokenizer, ``vocab.json`` and ``merges.txt``; see ``minigen.data.gpt2_tokenizer``).
``load_gpt2(folder)`` maps the config onto a ``GPTConfig`` and copies every tensor
into the matching minigen parameter. Two things differ between the layouts:

- Names. GPT-2's ``h.0.attn.c_attn`` (query, key and value in one projection) is
  ``h.0.attn.in_proj_weight``/``in_proj_bias`` here, and ``h.0.attn.c_proj`` is
  ``h.0.attn.out_proj``. Files written by ``save_pretrained`` prefix every name with
  ``transformer.``; the files on the Hub do not. Both are read.
- Orientation. GPT-2's projections are ``Conv1D`` layers, which store the weight as
  (in, out) and compute ``y = x @ W + b``; a ``Linear`` stores (out, in) and computes
  ``y = x @ W.T + b``. So every ``c_attn``, ``c_proj`` and ``c_fc`` weight is transposed
  on the way in (and back on the way out). ``c_attn.weight`` (E, 3E) becomes
  ``in_proj_weight`` (3E, E): its rows are then the query, key and value rows, in
  that order, as ``MultiheadAttention`` packs them.

Shapes: E = n_embd, V = vocab_size, T = n_positions (block_size).

Only ``.safetensors`` files are read, with ``safetensors.numpy``: a JSON header and raw
arrays. A folder with only ``pytorch_model.bin`` (a pickle, which can run any code when
loaded), or such a file itself (``.bin``, ``.pt``, ``.pth``, ``.ckpt``), is refused unread,
with the command that converts it.
"""

from __future__ import annotations

import json
import os

import numpy as np

from . import backend, rules
from .checkpoint import CheckpointError, _check_header, write_safetensors
from .models.gpt import GPT, GPTConfig

__all__ = ["load_gpt2", "save_gpt2", "gpt2_config", "gpt2_tensor_names", "ConfigMismatchError"]

CONVERT_HINT = (
    "Convert it once, in a trusted environment with PyTorch and transformers installed: "
    "python -c \"from transformers import GPT2LMHeadModel; "
    "GPT2LMHeadModel.from_pretrained('DIR').save_pretrained('DIR', safe_serialization=True)\" "
    "(DIR: the checkpoint folder); this writes DIR/model.safetensors.")

PICKLE_REFUSAL = ("minigen reads only safetensors: a PyTorch checkpoint file is a pickle, and unpickling can run "
                  "any code, so it is not opened.")

# file names that hold pickles (PyTorch's torch.save, Lightning's .ckpt): refused by name, never opened
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")

# GPT-2's names for the activation -> GELU(approximate=...)
_ACTIVATIONS = {"gelu_new": "tanh", "gelu_pytorch_tanh": "tanh", "gelu_fast": "tanh", "gelu": "none"}

# buffers that GPT-2 files may carry; minigen computes the causal mask itself
_IGNORED_SUFFIXES = (".attn.bias", ".attn.masked_bias")


# ---------------------------------------------------------------------------- the config

def gpt2_config(hf: dict) -> GPTConfig:
    """A ``GPTConfig`` from the dict of a GPT-2 ``config.json``.

    Options that change the architecture beyond what ``GPT`` builds (a hidden size
    other than 4E, cross-attention, unscaled attention...) are refused by name.

    >>> c = gpt2_config({"n_embd": 32, "n_layer": 2, "n_head": 4, "n_positions": 16, "vocab_size": 50})
    >>> c.block_size, c.tie_weights, c.gelu_approximate
    (16, True, 'tanh')
    """
    rules.choice("load_gpt2", "config.json's model_type", hf.get("model_type", "gpt2"), ("gpt2",))
    activation = rules.choice("load_gpt2", "config.json's activation_function",
                              hf.get("activation_function", "gelu_new"), tuple(_ACTIVATIONS))
    E = hf.get("n_embd", 768)
    unsupported = []
    if hf.get("n_inner") not in (None, 4 * E):
        unsupported.append(f"n_inner={hf['n_inner']} (GPT's MLP is 4 * n_embd = {4 * E} wide)")
    if hf.get("add_cross_attention", False):
        unsupported.append("add_cross_attention=true")
    if not hf.get("scale_attn_weights", True):
        unsupported.append("scale_attn_weights=false (GPT divides the scores by sqrt(head size))")
    if hf.get("scale_attn_by_inverse_layer_idx", False):
        unsupported.append("scale_attn_by_inverse_layer_idx=true")
    rules.require(not unsupported, "load_gpt2", "config.json", "a GPT-2 minigen's GPT builds", "; ".join(unsupported))
    # one dropout rate for minigen's three places (embeddings, attention, residual); GPT-2 uses 0.1 for all
    # three. It only acts in training mode, and the loaded model is returned in eval mode.
    dropout = hf.get("resid_pdrop", 0.1)
    return GPTConfig(vocab_size=hf.get("vocab_size", 50257), block_size=hf.get("n_positions", 1024),
                     n_layer=hf.get("n_layer", 12), n_head=hf.get("n_head", 12), n_embd=E, dropout=dropout,
                     bias=True, tie_weights=bool(hf.get("tie_word_embeddings", True)),
                     layer_norm_epsilon=hf.get("layer_norm_epsilon", 1e-5),
                     gelu_approximate=_ACTIVATIONS[activation])


def gpt2_tensor_names(config: GPTConfig) -> dict:
    """GPT-2 name -> (minigen name, GPT-2 shape, transpose?) for every tensor of the model.

    >>> names = gpt2_tensor_names(GPTConfig(vocab_size=50, block_size=16, n_layer=1, n_head=4, n_embd=32))
    >>> names["h.0.attn.c_attn.weight"]
    ('h.0.attn.in_proj_weight', (32, 96), True)
    """
    E, V, T = config.n_embd, config.vocab_size, config.block_size
    names = {"wte.weight": ("wte.weight", (V, E), False),
             "wpe.weight": ("wpe.weight", (T, E), False)}
    for i in range(config.n_layer):
        h = f"h.{i}"
        names.update({
            f"{h}.ln_1.weight": (f"{h}.ln_1.weight", (E,), False),
            f"{h}.ln_1.bias": (f"{h}.ln_1.bias", (E,), False),
            f"{h}.attn.c_attn.weight": (f"{h}.attn.in_proj_weight", (E, 3 * E), True),     # Conv1D: (in, out)
            f"{h}.attn.c_attn.bias": (f"{h}.attn.in_proj_bias", (3 * E,), False),
            f"{h}.attn.c_proj.weight": (f"{h}.attn.out_proj.weight", (E, E), True),
            f"{h}.attn.c_proj.bias": (f"{h}.attn.out_proj.bias", (E,), False),
            f"{h}.ln_2.weight": (f"{h}.ln_2.weight", (E,), False),
            f"{h}.ln_2.bias": (f"{h}.ln_2.bias", (E,), False),
            f"{h}.mlp.c_fc.weight": (f"{h}.mlp.c_fc.weight", (E, 4 * E), True),
            f"{h}.mlp.c_fc.bias": (f"{h}.mlp.c_fc.bias", (4 * E,), False),
            f"{h}.mlp.c_proj.weight": (f"{h}.mlp.c_proj.weight", (4 * E, E), True),
            f"{h}.mlp.c_proj.bias": (f"{h}.mlp.c_proj.bias", (E,), False),
        })
    names["ln_f.weight"] = ("ln_f.weight", (E,), False)
    names["ln_f.bias"] = ("ln_f.bias", (E,), False)
    if not config.tie_weights:
        names["lm_head.weight"] = ("lm_head.weight", (V, E), False)                      # nn.Linear: (out, in)
    return names


# ---------------------------------------------------------------------------- finding and reading the files

def _weight_files(folder: str) -> list:
    """The safetensors file(s) of a checkpoint folder; a pickle-only folder is refused."""
    single = os.path.join(folder, "model.safetensors")
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(single):
        return [single]
    if os.path.exists(index):                                      # a sharded checkpoint
        with open(index, encoding="utf-8") as f:
            shards = sorted(set(json.load(f)["weight_map"].values()))
        return [os.path.join(folder, name) for name in shards]
    pickles = [name for name in ("pytorch_model.bin", "pytorch_model.bin.index.json", "tf_model.h5",
                                 "flax_model.msgpack") if os.path.exists(os.path.join(folder, name))]
    rules.require(not pickles, "load_gpt2", "path", f"a folder with model.safetensors ({PICKLE_REFUSAL} "
                  f"{CONVERT_HINT})", f"{folder} with only {', '.join(pickles)}", CheckpointError)
    raise CheckpointError(f"{folder} has no model.safetensors (expected a Hugging Face GPT-2 folder with "
                          "config.json and model.safetensors)")


def _bf16_to_float32(path: str, name: str) -> np.ndarray:
    """NumPy has no bfloat16: read the raw 16-bit patterns and widen them to float32.

    A bfloat16 is the top half of a float32 (sign, 8 exponent bits, 7 mantissa bits),
    so shifting its bits 16 places left gives the same number as a float32.
    """
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        entry = json.loads(f.read(n))[name]
        start, end = entry["data_offsets"]
        f.seek(8 + n + start)
        raw = np.frombuffer(f.read(end - start), dtype="<u2")
    return (raw.astype(np.uint32) << 16).view(np.float32).reshape(entry["shape"])


def _read_tensors(files: list) -> dict:
    """name -> host array for every tensor of the files; bfloat16 is widened to float32."""
    from safetensors import safe_open

    tensors = {}
    for path in files:
        _check_header(path)                                        # refuses a pickle before any parser sees it
        try:
            with safe_open(path, framework="numpy") as f:
                for name in f.keys():
                    if f.get_slice(name).get_dtype() == "BF16":
                        tensors[name] = _bf16_to_float32(path, name)
                    else:
                        tensors[name] = f.get_tensor(name)
        except CheckpointError:
            raise
        except Exception as e:  # safetensors raises its own error types for damaged files
            raise CheckpointError(f"{path} is not a readable safetensors file: {e}") from None
    return tensors


# ---------------------------------------------------------------------------- loading

class ConfigMismatchError(ValueError):
    """The checkpoint's tensors disagree with its ``config.json``.

    The message (one line) names the first few problems and counts the rest;
    ``problems`` lists every one: a tensor with both shapes, a missing or an unexpected tensor.
    """

    SHOWN = 3

    def __init__(self, problems: list):
        self.problems = list(problems)
        more = len(self.problems) - self.SHOWN
        super().__init__("the GPT-2 checkpoint does not match its config.json: " + "; ".join(self.problems[:self.SHOWN])
                         + (f"; ... and {more} more (all in the error's .problems)" if more > 0 else ""))


def _map_state(tensors: dict, config: GPTConfig) -> dict:
    """The minigen state dict of the GPT-2 tensors; every problem is listed in one ``ConfigMismatchError``."""
    prefix = "transformer." if any(k.startswith("transformer.") for k in tensors) else ""
    names = gpt2_tensor_names(config)
    found = {}
    unexpected = []
    for key in tensors:
        name = key[len(prefix):] if key.startswith(prefix) else key
        if name in names:
            found[name] = key
        elif key.endswith(_IGNORED_SUFFIXES) or (name == "lm_head.weight" and config.tie_weights):
            continue                                   # causal-mask buffers; a stored copy of the tied head
        else:
            unexpected.append(key)
    problems = []
    for name, (_, shape, _) in names.items():                        # in the model's order: wte, wpe, h.0, ...
        key = found.get(name)
        if key is not None and tuple(tensors[key].shape) != shape:
            problems.append(f"{key}: checkpoint has {tuple(tensors[key].shape)}, the config expects {shape}")
    problems += [f"missing tensor {prefix + name}" for name in names if name not in found]
    problems += [f"unexpected tensor {key}" for key in unexpected]
    if problems:
        raise ConfigMismatchError(problems)
    state = {}
    for name, key in found.items():
        target, _, transpose = names[name]
        state[target] = tensors[key].T if transpose else tensors[key]      # Conv1D (in, out) -> Linear (out, in)
    if config.tie_weights:
        state["lm_head.weight"] = state["wte.weight"]                      # one Parameter; load_state_dict sees both
    return state


def load_gpt2(path, dtype=None) -> GPT:
    """A ``GPT`` with the weights of a Hugging Face GPT-2 checkpoint, in eval mode, on the host.

    ``path``: a folder with ``config.json`` and ``model.safetensors`` (or a sharded
    ``model.safetensors.index.json``), or the ``.safetensors`` file inside one.
    ``dtype``: the parameters' dtype (default: minigen's default, float32); float16
    and bfloat16 checkpoints are widened to it. Move the model with ``model.to("cuda")``.

    Errors: ``CheckpointError`` for a pickle (``pytorch_model.bin``, ``.pt``, ...), given
    as the file or as the only weights of the folder, or for a damaged file;
    ``ConfigMismatchError`` (a ``ValueError``) for tensors whose shapes disagree with
    ``config.json``, or that are missing or unexpected (its ``problems`` lists them all).
    """
    path = os.fspath(path)
    folder = (os.path.dirname(path) or ".") if path.endswith(".safetensors") else path
    rules.require(not path.endswith(_PICKLE_SUFFIXES), "load_gpt2", "path", f"safetensors ({PICKLE_REFUSAL} "
                  f"{CONVERT_HINT})", f"the pickle-style checkpoint file {path}", CheckpointError)
    rules.require(not os.path.isfile(path) or path.endswith(".safetensors"), "load_gpt2", "path", "a Hugging Face "
                  "GPT-2 folder (config.json and model.safetensors) or its .safetensors file", path, CheckpointError)
    rules.require(os.path.exists(path), "load_gpt2", "path", "an existing folder or file", path, CheckpointError)
    config_path = os.path.join(folder, "config.json")
    rules.require(os.path.exists(config_path), "load_gpt2", "path", "a folder with config.json", folder,
                  CheckpointError)
    with open(config_path, encoding="utf-8") as f:
        config = gpt2_config(json.load(f))
    files = [path] if path.endswith(".safetensors") else _weight_files(folder)
    state = _map_state(_read_tensors(files), config)

    rng_state = backend.get_rng_state()        # building the model draws random weights, which are then replaced:
    try:                                       # leave minigen's generator as it was, so seeds mean the same after
        model = GPT(config, dtype=dtype)
    finally:
        backend.set_rng_state(rng_state)
    model.load_state_dict(state)               # casts each array to the parameters' dtype
    return model.eval()


# ---------------------------------------------------------------------------- saving

def save_gpt2(model: GPT, path) -> None:
    """Write ``model`` as a Hugging Face GPT-2 folder (``config.json``, ``model.safetensors``).

    The names and (in, out) weight layout are GPT-2's, so ``transformers``'
    ``GPT2LMHeadModel.from_pretrained(path)`` (and ``load_gpt2``) read it back.
    """
    config = model.gpt_config
    rules.require(config.bias, "save_gpt2", "model", "a GPT with biases, as GPT-2 has", "one built with bias=False")
    state = {k: backend.to_numpy(v) for k, v in model.state_dict().items()}
    tensors = {}
    for name, (target, _, transpose) in gpt2_tensor_names(config).items():
        array = state[target].T if transpose else state[target]              # Linear (out, in) -> Conv1D (in, out)
        key = name if name == "lm_head.weight" else "transformer." + name
        tensors[key] = np.ascontiguousarray(array)
    hf = {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
        "vocab_size": config.vocab_size, "n_positions": config.block_size, "n_embd": config.n_embd,
        "n_layer": config.n_layer, "n_head": config.n_head, "n_inner": None,
        "activation_function": "gelu_new" if config.gelu_approximate == "tanh" else "gelu",
        "resid_pdrop": config.dropout, "embd_pdrop": config.dropout, "attn_pdrop": config.dropout,
        "layer_norm_epsilon": config.layer_norm_epsilon, "tie_word_embeddings": config.tie_weights,
        "scale_attn_weights": True, "initializer_range": 0.02,
        "bos_token_id": None, "eos_token_id": None, "pad_token_id": None,
    }
    path = os.fspath(path)
    os.makedirs(path, exist_ok=True)
    write_safetensors(tensors, os.path.join(path, "model.safetensors"), {"format": "pt"})
    with open(os.path.join(path, "config.json"), "w", encoding="utf-8") as f:
        json.dump(hf, f, indent=2)
