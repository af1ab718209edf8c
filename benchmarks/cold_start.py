"""What a zero-state start costs a recurrent language model: cold against warm NLL.

    python benchmarks/cold_start.py runs/shakespeare-lstm [--positions 400] [--span 20] [--warmup 256]

Generation starts from the model's initial state (zeros, or a learned one). Training
carries the state from batch to batch, so a model trained that way may hardly ever have
started from it, and the first characters after a prompt then come out as garbage. This
measures it on held-out text: at random positions p of the run's validation split, the
mean NLL (nats per token) of the ``span`` tokens after p,
- cold: read from the initial state (``state=None``), starting at p;
- warm: the same tokens, after first reading the ``warmup`` tokens before p.
The cost of the cold start is ``cold / warm - 1`` (target: at most 0.10).

The checkpoint's run settings give the corpus and the validation split, as ``minigen
train`` made them. Writes ``benchmarks/results/cold_start.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone

import numpy as np

import minigen
from minigen import backend
from minigen.checkpoint import load_model
from minigen.cli.train_cmd import _corpus_text
from minigen.data import train_val_split
from results_io import write_result



def span_nll(model, ids, state=None) -> np.ndarray:
    """Per-row mean NLL of ids[:, 1:] given ids[:, :-1] read from ``state``; and the state after."""
    with minigen.no_grad():
        logits, _ = model(ids[:, :-1], state)
    z = backend.to_numpy(logits.data).astype(np.float64)                          # (N, T, V)
    z = z - z.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    picked = np.take_along_axis(logp, ids[:, 1:, None], axis=-1)[..., 0]           # (N, T)
    return -picked.mean(1)


def cold_warm_nll(model, ids, positions, span: int = 20, warmup: int = 256) -> tuple[float, float]:
    """Mean NLL of the ``span`` tokens after each position, from a zero state and after ``warmup`` tokens."""
    ids = np.asarray(ids)
    rows = np.stack([ids[p - 1:p + span] for p in positions])            # token p-1 is read, p..p+span-1 predicted
    context = np.stack([ids[p - 1 - warmup:p - 1] for p in positions])
    with minigen.no_grad():
        _, warm_state = model(context)
    cold = span_nll(model, rows)
    warm = span_nll(model, rows, warm_state)
    return float(cold.mean()), float(warm.mean())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a run folder (or its checkpoint.safetensors) written by `minigen train`")
    parser.add_argument("--positions", type=int, default=400, help="random positions in the validation text")
    parser.add_argument("--span", type=int, default=20, help="tokens scored after each position")
    parser.add_argument("--warmup", type=int, default=256, help="tokens read before the warm start")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    path = os.path.join(args.run, "checkpoint.safetensors") if os.path.isdir(args.run) else args.run
    model, tokenizer, ck = load_model(path)
    model.eval()
    run = ck.meta["extra"]["run"]
    _, val_ids = train_val_split(np.asarray(tokenizer.encode(_corpus_text(run["corpus"]))), run["val_fraction"])
    rng = np.random.default_rng(args.seed)
    positions = rng.integers(args.warmup + 1, len(val_ids) - args.span, size=args.positions)
    cold, warm = [], []
    for chunk in np.array_split(positions, max(1, len(positions) // 100)):
        c, w = cold_warm_nll(model, val_ids, chunk, args.span, args.warmup)
        cold.append(c * len(chunk))
        warm.append(w * len(chunk))
    cold, warm = sum(cold) / len(positions), sum(warm) / len(positions)
    history = ck.meta["extra"].get("trainer", {}).get("history") or []
    result = {"workload": "cold_start", "run": args.run, "step": ck.meta["step"], "positions": args.positions,
              "span": args.span, "warmup": args.warmup, "cold_nll": round(cold, 4), "warm_nll": round(warm, 4),
              "cost": round(cold / warm - 1, 4), "val_loss": history[-1].get("val_loss") if history else None,
              "date": datetime.now(timezone.utc).strftime("%Y-%m-%d")}
    print(f"step {result['step']}: cold {cold:.4f} nats/token, warm {warm:.4f}; the cold start costs "
          f"{100 * (cold / warm - 1):+.1f}% (target <= +10%)")
    write_result("cold_start", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
