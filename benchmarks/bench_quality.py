"""The quality targets: validation loss reached in a fixed time, minigen's default `train` vs PyTorch CPU.

Both libraries train the model of `python -m minigen train` (its defaults: a 2-layer
character LSTM on Shakespeare), or with `--model gpt` that of `python -m minigen train
--model gpt` (a character GPT), with the same hyperparameters, batches, learning-rate
schedule, gradient clipping, initial weights and time budget, one after the other
on the same machine. Each time budget covers training and the periodic evaluations
(every 250 steps, on 65,536 validation characters from 32 places), as in `minigen
train`; minigen runs through its `Trainer`, PyTorch through the same loop written
with torch. After the budget, each model is scored on the whole validation split
(477,803 characters): that is the figure reported.

Targets, within 10 minutes on 2 cores: the LSTM's validation loss <= 1.50 nats/char,
the GPT's <= 1.65.

Run: python benchmarks/bench_quality.py [--model rnn|gpt] [--time 600] [--threads N] [--only minigen|torch]
"""

from harness import parse_and_pin

args = parse_and_pin(__doc__, lambda p: (
    p.add_argument("--time", type=float, default=600.0, help="seconds of training per library (default 600)"),
    p.add_argument("--only", choices=["minigen", "torch"], help="run one library (written to results/quality_<lib>.json)"),
    p.add_argument("--model", choices=["rnn", "gpt"], default="rnn", help="the model of `train --model` (default rnn)"),
    p.add_argument("--quick", action="store_true", help="a smoke test: 20 s each, small evaluations")))

import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import minigen  # noqa: E402
from harness import RESULTS, machine, require_torch  # noqa: E402
from minigen.cli.train_cmd import DEFAULTS, GPT_DEFAULTS  # noqa: E402
from minigen.data import CharTokenizer, StreamBatcher, shakespeare, train_val_split  # noqa: E402
from minigen.data.batching import random_windows  # noqa: E402
from minigen.models import GPT, GPTConfig, RNNLanguageModel  # noqa: E402
from minigen.train import Trainer  # noqa: E402

cfg = dict(DEFAULTS, **(GPT_DEFAULTS if args.model == "gpt" else {}), model=args.model)
GPT_MODEL = args.model == "gpt"
budget = 20.0 if args.quick else args.time
eval_tokens = 8192 if args.quick else cfg["eval_tokens"]
text = shakespeare()
tok = CharTokenizer.train(text)
train_ids, val_ids = train_val_split(tok.encode(text), cfg["val_fraction"])
if args.quick:
    val_ids = val_ids[:20000]
V = tok.vocab_size


def initial_model():
    minigen.manual_seed(cfg["seed"])
    if GPT_MODEL:
        return GPT(GPTConfig(vocab_size=V, block_size=cfg["seq_len"], n_layer=cfg["n_layer"], n_head=cfg["n_head"],
                             n_embd=cfg["n_embd"]))
    return RNNLanguageModel(V, cfg["embed_dim"], cfg["hidden_size"], cfg["num_layers"], cell="lstm")


def optimizer(lib, params):
    """`train`'s optimizer: Adam for the LSTM, AdamW with weight decay for the GPT."""
    if GPT_MODEL:
        return lib.optim.AdamW(params, lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    return lib.optim.Adam(params, lr=cfg["lr"])


def run_minigen():
    model = initial_model()
    opt = optimizer(minigen, model.parameters())
    trainer = Trainer(model, opt, train_ids, val_ids, tokenizer=tok, batch_size=cfg["batch_size"],
                      seq_len=cfg["seq_len"], time_budget=budget, warmup_steps=cfg["warmup_steps"],
                      lr_schedule=cfg["lr_schedule"], min_lr_ratio=cfg["min_lr_ratio"], grad_clip=cfg["grad_clip"],
                      eval_interval=cfg["eval_interval"], eval_tokens=eval_tokens, progress=False)
    trainer.fit()                                     # its last evaluation reads the whole validation split
    return {"steps": trainer.step, "seconds": round(trainer.elapsed, 1), "val_loss": trainer.history[-1]["val_loss"],
            "curve": [(m["step"], round(m["elapsed"], 1), round(m["val_loss"], 4)) for m in trainer.history]}


def run_torch():
    torch = require_torch()
    from torch_gpt import TorchGPT                    # after require_torch has pinned the threads
    nn = torch.nn
    weights = initial_model().state_dict()

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(V, cfg["embed_dim"])
            self.rnn = nn.LSTM(cfg["embed_dim"], cfg["hidden_size"], cfg["num_layers"], batch_first=True)
            self.head = nn.Linear(cfg["hidden_size"], V)

        def forward(self, ids, state=None):
            out, state = self.rnn(self.embedding(ids), state)
            return self.head(out), state

    class StatelessGPT(nn.Module):                    # the LSTM's (ids, state) interface, without a state
        def __init__(self):
            super().__init__()
            self.gpt = TorchGPT(V, cfg["seq_len"], cfg["n_layer"], cfg["n_head"], cfg["n_embd"])

        def forward(self, ids, state=None):
            return self.gpt(ids), None

    model = StatelessGPT() if GPT_MODEL else Model()
    target = model.gpt if GPT_MODEL else model
    target.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in weights.items()})
    opt = optimizer(torch, model.parameters())
    loss_fn = nn.functional.cross_entropy

    def evaluate(ids, max_tokens=None):               # as Trainer.evaluate: 32 streams over the whole split
        model.eval()
        T = min(cfg["seq_len"] if GPT_MODEL else 256, len(ids) - 1)   # a GPT reads windows of its block size
        B = max(1, min(32, len(ids) // (T + 1)))
        batcher = StreamBatcher(ids, B, T)
        batches = batcher.batches_per_epoch if max_tokens is None else min(batcher.batches_per_epoch,
                                                                           -(-max_tokens // (B * T)))
        total, count, state = 0.0, 0, None
        with torch.no_grad():
            for _ in range(batches):
                x, y = batcher.next_batch()
                logits, state = model(torch.from_numpy(x), state)
                total += loss_fn(logits.reshape(-1, V), torch.from_numpy(y).reshape(-1)).item() * y.size
                count += y.size
        model.train()
        return total / count

    def lr_factor(step, elapsed):                     # the schedule of minigen's Trainer
        warm = min(1.0, (step + 1) / cfg["warmup_steps"])
        cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, elapsed / budget)))
        return warm * (cfg["min_lr_ratio"] + (1 - cfg["min_lr_ratio"]) * cosine)

    batcher = StreamBatcher(train_ids, cfg["batch_size"], cfg["seq_len"])
    batch_rng = np.random.default_rng(cfg["seed"])     # a GPT trains on random windows, as in Trainer
    step, state, curve, elapsed = 0, None, [], 0.0
    start = time.perf_counter()
    while elapsed < budget:
        for group in opt.param_groups:
            group["lr"] = cfg["lr"] * lr_factor(step, elapsed)
        if GPT_MODEL:
            x, y = random_windows(train_ids, cfg["batch_size"], cfg["seq_len"], batch_rng)
        else:
            x, y = batcher.next_batch()
            if batcher.new_epoch:
                state = None
        logits, state = model(torch.from_numpy(x), state)
        state = None if state is None else tuple(s.detach() for s in state)
        loss = loss_fn(logits.reshape(-1, V), torch.from_numpy(y).reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), cfg["grad_clip"])
        opt.step()
        step += 1
        elapsed = time.perf_counter() - start
        if step % cfg["eval_interval"] == 0 and elapsed < budget:
            curve.append((step, round(elapsed, 1), round(evaluate(val_ids, eval_tokens), 4)))
            elapsed = time.perf_counter() - start
    curve.append((step, round(elapsed, 1), round(evaluate(val_ids), 4)))     # the whole split, at the end
    return {"steps": step, "seconds": round(elapsed, 1), "val_loss": curve[-1][2], "curve": curve}


results = {}
for lib, fn in (("minigen", run_minigen), ("torch", run_torch)):
    if args.only in (None, lib):
        print(f"training {lib} for {budget:.0f} s ...", flush=True)
        results[lib] = fn()
        r = results[lib]
        print(f"  {lib}: {r['steps']} steps in {r['seconds']:.0f} s; validation loss {r['val_loss']:.4f} nats/char "
              "(whole split)", flush=True)
shape = ("n_layer", "n_head", "n_embd", "weight_decay") if GPT_MODEL else ("embed_dim", "hidden_size", "num_layers")
config = {k: cfg[k] for k in ("model",) + shape + ("optimizer", "batch_size", "seq_len", "lr", "min_lr_ratio",
                                                  "warmup_steps", "grad_clip", "eval_interval")}
workload = "quality_gpt" if GPT_MODEL else "quality"
result = {"workload": workload, "machine": machine(), "budget_s": budget, "config": config, "results": results}
os.makedirs(RESULTS, exist_ok=True)
# --only and --quick write files of their own, so that they never replace a side-by-side measurement
suffix = (f"_{args.only}" if args.only else "") + ("_quick" if args.quick else "")
path = os.path.join(RESULTS, workload + suffix + ".json")
with open(path + ".tmp", "w") as f:
    json.dump(result, f, indent=2)
os.replace(path + ".tmp", path)
print(f"written to {os.path.relpath(path)}")
