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
"""

from __future__ import annotations

import json
import numbers
import os
import struct
from dataclasses import dataclass, field

import numpy as np

from . import backend
from .autograd import Tensor

__all__ = ["save_checkpoint", "load_checkpoint", "write_safetensors", "Checkpoint", "CheckpointError"]


class CheckpointError(ValueError):
    """A checkpoint that cannot be read: missing, truncated, corrupt, or not a safetensors file."""


@dataclass
class Checkpoint:
    """What ``load_checkpoint`` returns: host arrays and the decoded metadata."""

    model_state: dict
    optimizer_state: dict | None
    meta: dict = field(default_factory=dict)
    arrays: dict = field(default_factory=dict)


def save_checkpoint(path, model, optimizer=None, *, config=None, tokenizer=None, step: int = 0,
                    extra: dict | None = None, arrays: dict | None = None) -> None:
    """Write ``model`` (and ``optimizer``) to ``path`` atomically, with the metadata described above.

    ``extra`` is a dict stored as JSON: NumPy scalars become Python numbers and tuples lists;
    arrays go in ``arrays`` (name -> array or Tensor), which are stored as tensors.
    """
    if not callable(getattr(model, "state_dict", None)):
        raise TypeError(f"save_checkpoint: model must be a Module (with a state_dict()), got {type(model).__name__}")
    if not isinstance(step, numbers.Integral) or isinstance(step, bool) or step < 0:
        raise ValueError(f"save_checkpoint: step must be a non-negative integer, got {step!r}")
    if extra is not None and not isinstance(extra, dict):
        raise TypeError(f"save_checkpoint: extra must be a dict (stored as JSON), got {type(extra).__name__}")
    if arrays is not None and not isinstance(arrays, dict):
        raise TypeError(f"save_checkpoint: arrays must be a dict of name -> array, got {type(arrays).__name__}")
    if tokenizer is not None and not callable(getattr(tokenizer, "to_dict", None)):
        raise TypeError(f"save_checkpoint: tokenizer must have a to_dict() method (a minigen tokenizer), got "
                        f"{type(tokenizer).__name__}")
    tensors = {f"model.{k}": np.ascontiguousarray(backend.to_numpy(v)) for k, v in model.state_dict().items()}
    for name, value in (arrays or {}).items():
        data = value.data if isinstance(value, Tensor) else value
        if not (backend.is_array(data) or isinstance(data, np.generic)):
            raise TypeError(f"save_checkpoint: arrays[{name!r}] must be an array or a Tensor, got "
                            f"{type(value).__name__}")
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
        "format": "minigen-checkpoint-1",
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


def _jsonable(obj, where: str):
    """``obj`` as JSON holds it: lists for tuples, Python numbers for NumPy scalars and 0-d arrays.

    Anything else JSON cannot hold is refused with a TypeError naming where it sits
    (``extra['history'][3]``); arrays are pointed to ``arrays=``, which stores them as tensors.
    """
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            key = k.item() if isinstance(k, np.generic) else k
            if not isinstance(key, _JSON_KEYS):
                raise TypeError(f"save_checkpoint: {where} has the key {k!r} of type {type(k).__name__}; JSON keys "
                                "are strings or numbers")
            out[key] = _jsonable(v, f"{where}[{k!r}]")
        return out
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    data = obj.data if isinstance(obj, Tensor) else obj
    if isinstance(data, np.generic) or (backend.is_array(data) and data.ndim == 0):
        obj = backend.to_numpy(data).item()                 # a NumPy scalar or 0-d array -> int, float, bool or str
    if isinstance(obj, (str, int, float, bool, type(None))):
        return obj
    if backend.is_array(data):
        raise TypeError(f"save_checkpoint: {where} is an array of shape {tuple(data.shape)}, which the JSON metadata "
                        "cannot hold; pass it in save_checkpoint's arrays= instead (saved as a tensor, read back in "
                        "Checkpoint.arrays), or convert it with .tolist()")
    raise TypeError(f"save_checkpoint: {where} is {obj!r} of type {type(obj).__name__}, which the JSON metadata "
                    "cannot hold: it takes dicts, lists, strings, numbers, booleans and None")


def _check_header(path: str) -> None:
    """Refuse anything that is not a safetensors file, before a parser sees it."""
    with open(path, "rb") as f:
        head = f.read(9)
        size = os.fstat(f.fileno()).st_size
    # A safetensors file starts with its header's length (8 bytes, little-endian) and then
    # "{". That length may well begin with byte 0x80, a pickle's first byte, so the
    # structure is checked first; a real pickle's first 8 bytes read as an absurd length.
    n = struct.unpack("<Q", head[:8])[0] if len(head) >= 8 else None
    looks_safetensors = n is not None and head[8:9] == b"{" and 8 + n <= size
    if not looks_safetensors and (head[:1] == b"\x80" or head[:2] == b"PK"):
        raise CheckpointError(f"{path} looks like a pickle (or a zipped torch.save file), not a safetensors "
                              "checkpoint; minigen never unpickles files, because unpickling can run any code. "
                              "Convert it with safetensors in a trusted environment.")
    if len(head) < 9:
        raise CheckpointError(f"{path} is truncated: {size} bytes, too short for a safetensors header")
    if not looks_safetensors:
        raise CheckpointError(f"{path} is not a valid safetensors checkpoint (corrupt or truncated header: "
                              f"{n} header bytes announced, file has {size})")
    with open(path, "rb") as f:
        f.seek(8)
        try:
            header = json.loads(f.read(n))
            end = max((entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__"),
                      default=0)
        except (ValueError, TypeError, KeyError, IndexError):
            raise CheckpointError(f"{path} is not a valid safetensors checkpoint (its header is not "
                                  "valid JSON)") from None
    if 8 + n + end > size:
        raise CheckpointError(f"{path} is truncated: its header announces {8 + n + end} bytes, the file has "
                              f"{size} (was the run killed while copying it?)")


def load_checkpoint(path) -> Checkpoint:
    """Read a checkpoint written by ``save_checkpoint`` (arrays on the host)."""
    from safetensors import safe_open

    path = os.fspath(path)
    if not os.path.exists(path):
        raise CheckpointError(f"checkpoint not found: {path}")
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
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path} is damaged: its 'minigen' metadata is not a JSON object")
    for name, value in tensors.items():
        # A run that diverged must never be saved; one that was anyway would sample blank text.
        if value.dtype.kind in "fc" and not np.isfinite(value).all():
            raise CheckpointError(f"checkpoint {path} holds non-finite values (NaN or inf) in tensor {name}")
    model_state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    optimizer_state = None
    if meta.get("optimizer") is not None:
        try:
            state = {}
            for key, value in tensors.items():
                if key.startswith("optim."):
                    _, index, name = key.split(".", 2)
                    state.setdefault(int(index), {})[name] = value
            for index, entries in meta["optimizer"]["scalars"].items():
                state.setdefault(int(index), {}).update(entries)
            optimizer_state = {"state": state, "param_groups": meta["optimizer"]["param_groups"]}
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            raise CheckpointError(f"{path} is damaged: its optimizer state cannot be read "
                                  f"({type(e).__name__}: {e})") from None
    arrays = {k[len("extra."):]: v for k, v in tensors.items() if k.startswith("extra.")}
    return Checkpoint(model_state, optimizer_state, meta, arrays)
