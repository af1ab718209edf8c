"""Checkpoints: safetensors files written atomically, read without ever unpickling.

A checkpoint is one ``.safetensors`` file holding:

- the model's state dict, as tensors named ``model.<name>``;
- the optimizer's per-parameter arrays (moments, momentum buffers), as
  ``optim.<index>.<name>``;
- any further arrays the caller passes in ``arrays`` (a trainer's carried hidden
  state, say), as ``extra.<name>``;
- one JSON metadata entry, ``minigen``: the model config, the tokenizer, the step,
  the random generator's state, the optimizer's hyperparameters and scalar state, and
  anything else the caller passes in ``extra``.

Writes go to a temporary file in the same folder, which is then renamed over the
target (``os.replace``): a run killed mid-write leaves the previous checkpoint
intact. Reading uses ``safetensors.numpy``, which parses a JSON header and raw
arrays; a pickle offered as a checkpoint is refused before anything in it runs.

A checkpoint is user input too: it may have been edited by hand or cut short.
``load_checkpoint`` checks every metadata entry it returns, and ``load_model``
checks a language model's config against the weights' shapes *before* building the
model, so that a damaged size is one line naming the entry ("checkpoint PATH:
config.hidden_size must be 24, ..., got 1000000000"), not a memory error.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from . import backend, rules
from .autograd import Tensor
from .data import tokenizer_from_dict
from .models import build_model

__all__ = ["save_checkpoint", "load_checkpoint", "load_model", "write_safetensors", "Checkpoint", "CheckpointError"]

FORMAT = "minigen-checkpoint-1"


class CheckpointError(ValueError):
    """A checkpoint that cannot be read: missing, truncated, corrupt, or not a safetensors file."""


@dataclass
class Checkpoint:
    """What ``load_checkpoint`` returns: host arrays and the decoded metadata."""

    model_state: dict
    optimizer_state: dict | None
    meta: dict = field(default_factory=dict)
    arrays: dict = field(default_factory=dict)
    path: str = ""


def save_checkpoint(path, model, optimizer=None, *, config=None, tokenizer=None, step: int = 0,
                    extra: dict | None = None, arrays: dict | None = None) -> None:
    """Write ``model`` (and ``optimizer``) to ``path`` atomically, with the metadata described above.

    ``extra`` is a dict stored as JSON: NumPy scalars become Python numbers and tuples lists;
    arrays go in ``arrays`` (name -> array or Tensor), which are stored as tensors.
    """
    fn = "save_checkpoint"
    ok = callable(getattr(model, "state_dict", None))
    rules.require(ok, fn, "model", "a Module (with a state_dict())", type(model).__name__, TypeError)
    rules.non_negative_int(fn, "step", step)
    rules.instance(fn, "extra", extra, (dict, type(None)), "a dict (stored as JSON)")
    rules.instance(fn, "arrays", arrays, (dict, type(None)), "a dict of name -> array")
    ok = tokenizer is None or callable(getattr(tokenizer, "to_dict", None))
    rules.require(ok, fn, "tokenizer", "a minigen tokenizer (with a to_dict())", type(tokenizer).__name__, TypeError)
    tensors = {f"model.{k}": np.ascontiguousarray(backend.to_numpy(v)) for k, v in model.state_dict().items()}
    for name, value in (arrays or {}).items():
        data = value.data if isinstance(value, Tensor) else value
        ok = backend.is_array(data) or isinstance(data, np.generic)
        rules.require(ok, fn, f"arrays[{name!r}]", "an array or a Tensor", type(value).__name__, TypeError)
        tensors[f"extra.{name}"] = np.ascontiguousarray(backend.to_numpy(data))
    optim_meta = None
    if optimizer is not None:
        sd = optimizer.state_dict()
        scalars = {}
        for index, entries in sd["state"].items():
            for name, value in entries.items():
                if backend.is_array(value):
                    tensors[f"optim.{index}.{name}"] = np.ascontiguousarray(backend.to_numpy(value))
                else:
                    scalars.setdefault(str(index), {})[name] = value
        optim_meta = {"param_groups": _jsonable(sd["param_groups"], "the optimizer's param_groups"),
                      "scalars": _jsonable(scalars, "the optimizer's state")}
    meta = {
        "format": FORMAT,
        "config": _jsonable(config if config is not None else getattr(model, "config", None), "config"),
        "tokenizer": _jsonable(tokenizer.to_dict(), "tokenizer.to_dict()") if tokenizer is not None else None,
        "step": int(step),
        "rng_state": _jsonable(backend.get_rng_state(), "the generator's state"),
        "optimizer": optim_meta,
        "extra": _jsonable(extra or {}, "extra"),
    }
    write_safetensors(tensors, path, {"minigen": json.dumps(meta)})


def write_safetensors(tensors: dict, path, metadata: dict | None = None) -> None:
    """Write host arrays to a ``.safetensors`` file atomically: a temp file in the same folder, then a rename.

    safetensors creates its files readable by their owner alone (mode 0600); the file
    gets the permissions any new file gets (0666 less the umask) before it is renamed
    into place, so that a checkpoint can be shared like the rest of a run's folder.
    """
    from safetensors.numpy import save_file

    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp-{os.getpid()}")
    try:
        save_file(tensors, tmp, metadata=metadata)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _umask() -> int:
    """The process's umask (read by setting it and putting it back: POSIX has no plain getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_JSON_KEYS = (str, int, float, bool, type(None))       # what json.dumps takes as a dict key
_KEYS = "str, int, float, bool or None (JSON's key types)"
_NOT_ARRAY = "JSON (an array goes in save_checkpoint's arrays=, read back in Checkpoint.arrays; or use .tolist())"


def _jsonable(obj, where: str):
    """``obj`` as JSON holds it: lists for tuples, Python numbers for NumPy scalars and 0-d arrays.

    Anything else JSON cannot hold is refused with a TypeError naming where it sits
    (``extra['history'][3]``); arrays are pointed to ``arrays=``, which stores them as tensors.
    """
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            key = k.item() if isinstance(k, np.generic) else k
            ok = isinstance(key, _JSON_KEYS)
            rules.require(ok, "save_checkpoint", f"the key {k!r} in {where}", _KEYS, type(k).__name__, TypeError)
            out[key] = _jsonable(v, f"{where}[{k!r}]")
        return out
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    data = obj.data if isinstance(obj, Tensor) else obj
    if isinstance(data, np.generic) or (backend.is_array(data) and data.ndim == 0):
        obj = backend.to_numpy(data).item()                 # a NumPy scalar or 0-d array -> int, float, bool or str
    if isinstance(obj, (str, int, float, bool, type(None))):
        return obj
    rules.require(not backend.is_array(data), "save_checkpoint", where, _NOT_ARRAY, rules.describe(data), TypeError)
    raise TypeError(f"save_checkpoint: {where} is {obj!r} of type {type(obj).__name__}, which the JSON metadata "
                    "cannot hold: it takes dicts, lists, strings, numbers, booleans and None")


def _read_header(path: str, size: int):
    """``(first 8 bytes, announced header length, where the data ends)``; the end is None if the header does not parse.

    A safetensors file starts with its header's length (8 bytes, little-endian), then a
    JSON header whose ``data_offsets`` say where the arrays end. No more bytes are read
    than the file holds: a pickle's first 8 bytes read as an absurd length.
    """
    with open(path, "rb") as f:
        head = f.read(8)
        n = int.from_bytes(head, "little")
        text = f.read(n) if len(head) == 8 and 8 + n <= size else b""
    try:
        header = json.loads(text)
        end = 8 + n + max((e["data_offsets"][1] for k, e in header.items() if k != "__metadata__"), default=0)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        end = None
    return head, n, end


_PICKLE = ("looks like a pickle (or a zipped torch.save file), not a safetensors checkpoint; minigen never unpickles "
           "files (that can run any code): convert it with safetensors")
_NOT_JSON = "is not a valid safetensors checkpoint (truncated or corrupt): its header is not valid JSON"


def _check_header(path: str) -> None:
    """Refuse anything that is not a safetensors file, before a parser sees it.

    The header's length may well begin with byte 0x80, a pickle's first byte, so a file
    is called a pickle only when its header does not parse.
    """
    size = os.path.getsize(path)
    head, n, end = _read_header(path, size)
    if end is None and (head[:1] == b"\x80" or head[:2] == b"PK"):
        raise CheckpointError(f"{path} {_PICKLE}")
    if end is None:
        raise CheckpointError(f"{path} {_NOT_JSON} ({n} bytes announced, the file has {size})")
    if end > size:
        raise CheckpointError(f"{path} is truncated: its header announces {end} bytes, the file has {size}")


@contextlib.contextmanager
def entries_of(path):
    """Check a checkpoint's entries with the rules: ``with entries_of(path) as fn: rules.*(fn, "step", ...)``.

    A rule's error (ValueError, TypeError, IndexError) becomes a CheckpointError: the file
    is at fault, not the caller. So does any other such error raised inside (a model's
    constructor refusing a config entry, say), with ``checkpoint PATH:`` put in front.
    """
    where = f"checkpoint {path}"
    try:
        yield where
    except (ValueError, TypeError, IndexError) as e:
        text = str(e)
        raise CheckpointError(text if text.startswith(where) else f"{where}: {text}") from None


# The metadata's entries, as save_checkpoint writes them: entry -> rule.
_OBJECT = partial(rules.instance, kind=dict, expected="an object")
_OBJECT_OR_NULL = partial(rules.instance, kind=(dict, type(None)), expected="an object or null")
META = {"format": partial(rules.choice, options=(FORMAT,)), "step": rules.non_negative_int, "config": _OBJECT_OR_NULL,
        "tokenizer": _OBJECT_OR_NULL, "optimizer": _OBJECT_OR_NULL, "rng_state": _OBJECT, "extra": _OBJECT}


def load_checkpoint(path) -> Checkpoint:
    """Read a checkpoint written by ``save_checkpoint`` (arrays on the host), every metadata entry checked."""
    from safetensors import safe_open

    path = os.fspath(path)
    if not os.path.exists(path):
        raise CheckpointError(f"checkpoint not found: {path}")
    if os.path.isdir(path):
        raise CheckpointError(f"{path} is a folder; give the checkpoint file in it (a run's checkpoint.safetensors)")
    _check_header(path)
    try:
        with safe_open(path, framework="numpy") as f:
            raw = (f.metadata() or {}).get("minigen")
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for damaged files
        raise CheckpointError(f"{path} is not a readable safetensors checkpoint: {e}") from None
    if raw is None:
        raise CheckpointError(f"{path} is a safetensors file but not a minigen checkpoint (no 'minigen' metadata)")
    try:
        meta = json.loads(raw)
    except ValueError as e:
        raise CheckpointError(f"{path} is damaged: its 'minigen' metadata is not valid JSON ({e})") from None
    with entries_of(path) as fn:
        rules.instance(fn, "its 'minigen' metadata", meta, dict, "a JSON object")
        for name, value in tensors.items():
            # A run that diverged must never be saved; one that was anyway would sample blank text.
            ok = value.dtype.kind not in "fc" or np.isfinite(value).all()
            rules.require(ok, fn, f"tensor {name}", "finite", "NaN or inf values")
        for name, rule in META.items():
            rule(fn, name, meta.get(name))
        try:
            np.random.PCG64().state = meta["rng_state"]           # the generator's own check, on a scratch one
        except (ValueError, TypeError, KeyError) as e:
            rules.fail(fn, "rng_state", f"a PCG64 generator's state (NumPy: {e})", rules.describe(meta["rng_state"]))
        optimizer_state = _optimizer_state(fn, meta["optimizer"], tensors)
    model_state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    arrays = {k[len("extra."):]: v for k, v in tensors.items() if k.startswith("extra.")}
    return Checkpoint(model_state, optimizer_state, meta, arrays, path)


def _optimizer_state(fn: str, saved: dict | None, tensors: dict) -> dict | None:
    """The optimizer's ``state_dict()`` from its metadata and its ``optim.<index>.<name>`` tensors (None: none saved).

    Each entry's type is checked here; the hyperparameters' values are the optimizer's
    ``load_state_dict``'s to check, as they are for a state dict from anywhere else.
    """
    if saved is None:
        return None
    groups = saved.get("param_groups")
    ok = isinstance(groups, list) and all(isinstance(group, dict) for group in groups)
    rules.require(ok, fn, "optimizer.param_groups", "a list of objects", rules.describe(groups), TypeError)
    scalars = rules.instance(fn, "optimizer.scalars", saved.get("scalars"), dict, "an object")
    state = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            index, _, name = key[len("optim."):].partition(".")
            state.setdefault(_index(fn, f"tensor {key}", index), {})[name] = value
    for index, entries in scalars.items():
        where = f"optimizer.scalars.{index}"
        for name, value in rules.instance(fn, where, entries, dict, "an object").items():
            rules.real(fn, f"{where}.{name}", value)              # a step count, say: kept as saved (an int)
            state.setdefault(_index(fn, where, index), {})[name] = value
    return {"state": state, "param_groups": groups}


def _index(fn: str, where: str, text: str) -> int:
    """A parameter's index, as a tensor name or a JSON key writes it ("3")."""
    rules.require(text.isdigit(), fn, where, "named by a parameter's index (0, 1, ...)", repr(text))
    return int(text)


# Where each size of a language model's config shows in its weights: (tensor, axis), or (a tensor name
# with {} for the layer, None) for a count of layers. Checked before the model is built, so that a
# damaged size is refused instead of allocating memory for it.
SIZES = {
    "rnn_lm": {"vocab_size": ("embedding.weight", 0), "embed_dim": ("embedding.weight", 1),
               "hidden_size": ("head.weight", 1), "num_layers": ("rnn.weight_hh_l{}", None)},
    "gpt": {"vocab_size": ("wte.weight", 0), "n_embd": ("wte.weight", 1), "block_size": ("wpe.weight", 0),
            "n_layer": ("h.{}.ln_1.weight", None)},
}


def load_model(path):
    """``(model, tokenizer, checkpoint)`` from a checkpoint of a language model (``minigen train`` writes them).

    ``path`` is a checkpoint file or a ``Checkpoint`` already loaded. In order, before
    any memory is allocated for the model: the config's sizes must match the weights'
    shapes (``SIZES``), the tokenizer must read back and have the config's vocabulary
    size; then the model is built (its constructor checks the other entries) and every
    weight must be there, with its shape, and nothing else.
    """
    ck = path if isinstance(path, Checkpoint) else load_checkpoint(path)
    config, weights = ck.meta["config"], ck.model_state
    with entries_of(ck.path) as fn:
        ok = config is not None and ck.meta["tokenizer"] is not None
        rules.require(ok, fn, "config and tokenizer", "present (a language model from `minigen train`)", "null")
        kind = rules.choice(fn, "config.model_type", config.get("model_type"), tuple(SIZES))
        for name, (tensor, axis) in SIZES[kind].items():
            if axis is None:                                   # a count of layers: h.0..., h.1..., until one is missing
                size = next(n for n in itertools.count() if tensor.format(n) not in weights)
                what = f"the number of model.{tensor.format('<k>')} in the weights"
            elif tensor in weights:
                size, what = weights[tensor].shape[axis], f"axis {axis} of model.{tensor}"
            else:
                rules.fail(fn, f"model.{tensor}", "in the weights", "none")
            ok = rules.is_int(config.get(name)) and config[name] == size
            rules.require(ok, fn, f"config.{name}", f"{size} ({what})", rules.describe(config.get(name)))
        try:
            tokenizer = tokenizer_from_dict(ck.meta["tokenizer"])
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            raise CheckpointError(f"{fn}: its tokenizer entry cannot be read ({type(e).__name__}: {e})") from None
        size, given = tokenizer.vocab_size, config["vocab_size"]
        rules.require(size == given, fn, "config.vocab_size", f"the tokenizer's vocabulary size, {size}", given)
        model = build_model(config)                            # its constructor checks the other entries
        shapes = {name: tuple(v.shape) for name, v in model.state_dict().items()}
        problems = [f"model.{k} is missing" for k in shapes if k not in weights] + \
                   [f"model.{k} is not in the model" for k in weights if k not in shapes] + \
                   [f"model.{k} has shape {tuple(weights[k].shape)}, the config's model {shapes[k]}"
                    for k in shapes if k in weights and tuple(weights[k].shape) != shapes[k]]
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise CheckpointError(f"{fn}: its weights do not fit its config: {problems[0]}{more}")
    model.load_state_dict(weights)
    return model, tokenizer, ck
