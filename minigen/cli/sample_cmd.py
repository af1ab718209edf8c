"""``minigen sample``: continue a prompt with a trained model, printing the text as it is generated."""

from __future__ import annotations

import os
import sys

import numpy as np

from minigen import backend
from minigen.checkpoint import load_checkpoint
from minigen.data import tokenizer_from_dict
from minigen.models import build_model
from minigen.sample import stream_generate
from minigen.train import CHECKPOINT_NAME


def add_parser(sub) -> None:
    p = sub.add_parser("sample", help="generate text from a trained checkpoint")
    p.add_argument("--checkpoint", required=True, help="a run folder (from `minigen train`) or a .safetensors file")
    p.add_argument("--prompt", help="the text to continue (default: the run's sample prompt)")
    p.add_argument("--length", type=int, default=500, help="tokens to generate (default 500)")
    p.add_argument("--temperature", type=float, default=0.8,
                   help="softmax temperature; 0 is greedy (default 0.8)")
    p.add_argument("--seed", type=int, default=None, help="seed for the same text every time (default: random)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.set_defaults(func=cmd_sample)


def load_model(path, device="cpu"):
    """``(model, tokenizer, checkpoint)`` from a run folder or a checkpoint file."""
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, CHECKPOINT_NAME)
    ck = load_checkpoint(path)
    if not ck.meta.get("config") or not ck.meta.get("tokenizer"):
        raise ValueError(f"{path} has no model config or tokenizer; it was not written by `minigen train`")
    model = build_model(ck.meta["config"])
    model.load_state_dict(ck.model_state)
    if device != "cpu":
        model.to(device)
    return model, tokenizer_from_dict(ck.meta["tokenizer"]), ck


def cmd_sample(args) -> int:
    if args.length < 0:
        raise ValueError(f"--length must be >= 0, got {args.length}")
    model, tokenizer, ck = load_model(args.checkpoint, args.device)
    prompt = args.prompt if args.prompt is not None else ck.meta["extra"].get("run", {}).get("prompt") or "\n"
    if prompt == "":
        raise ValueError("--prompt is empty; the model needs at least one character to start from")
    try:
        ids = np.asarray(tokenizer.encode(prompt))[None, :]                 # (1, P)
    except ValueError as e:
        raise ValueError(f"the prompt cannot be encoded: {e}") from None
    like = next(iter(model.parameters())).data
    seed = args.seed if args.seed is not None else int(np.random.SeedSequence().entropy % 2**32)
    sys.stdout.write(prompt)
    new, shown = [], ""
    for token in stream_generate(model, backend.asarray_like(ids, like), args.length,
                                 do_sample=args.temperature > 0, temperature=args.temperature, seed=seed):
        new.append(int(backend.to_numpy(token)[0]))
        text = tokenizer.decode(np.array(new))
        stable = text.rstrip("\ufffd")                   # a byte-level token may end inside a character
        sys.stdout.write(stable[len(shown):])
        sys.stdout.flush()
        shown = stable
    sys.stdout.write(tokenizer.decode(np.array(new))[len(shown):] + "\n")
    return 0

