"""W1 full training step with Adam (zero_grad, forward, cross-entropy, backward, step), minigen vs PyTorch CPU.

B=32, T=64, vocabulary 96, embedding 64, hidden 256, 2-layer LSTM, float32: minigen's
``RNNLanguageModel`` (embedding -> LSTM -> dropout(0) -> linear head) and the same stack
from torch.nn, loaded with the same initial weights, each trained by its own Adam
(lr 2e-3). Before timing, the first step's losses must agree, and so must the
parameters after that step. Targets: <= 1.3x PyTorch's time, and a peak memory no
higher than PyTorch's.

Peak memory is what a training step adds on top of the loaded model: activations,
gradients and Adam's moments. Each library runs in a fresh process of its own, which
builds the model, optimizer and batch, runs one step of a toy model (so that the
library's code pages and lazy set-up are not counted), takes its RSS, resets the
kernel's high-water mark, runs 3 steps and reads the high-water mark back
(``harness.peak_step_memory_mib``).

--sweep adds the scaling with sequence length (T = 32 ... 512 at hidden 256) and with
hidden size (128 ... 1024 at T=64), B=32: time and memory for both libraries. Slow
cases are timed with fewer runs. --quick runs all of it at toy sizes, as a smoke test
(written to results/*_quick.json, so it never replaces a real measurement).

Run: python benchmarks/bench_train.py [--threads N] [--sweep] [--quick]
"""

from harness import parse_and_pin

args = parse_and_pin(__doc__, lambda p: (
    p.add_argument("--sweep", action="store_true", help="also the scaling sweep over T and hidden size"),
    p.add_argument("--quick", action="store_true", help="everything (sweep included) at toy sizes"),
    p.add_argument("--batch", type=int, default=32),
    p.add_argument("--seq", type=int, default=64),
    p.add_argument("--hidden", type=int, default=256),
    p.add_argument("--memory-child", choices=["minigen", "torch"],
                   help="internal: measure one library's step memory in this process and print JSON")))

import time  # noqa: E402

import numpy as np  # noqa: E402

import minigen  # noqa: E402
import minigen.functional as F  # noqa: E402
from harness import compare, memory_child, memory_table, peak_step_memory_mib, report, require_torch  # noqa: E402

# The minigen memory child never loads torch: each library is measured alone.
torch = require_torch() if args.memory_child != "minigen" else None

V, E, L, LR = 96, 64, 2, 2e-3


def batch(B, T):
    rng = np.random.default_rng(0)
    return rng.integers(0, V, size=(B, T)), rng.integers(0, V, size=(B, T))


def minigen_step(B, T, H):
    """(step, model): RNNLanguageModel trained by minigen's Adam."""
    minigen.manual_seed(0)
    model = minigen.models.RNNLanguageModel(V, E, H, L)
    opt = minigen.optim.Adam(model.parameters(), lr=LR)
    ids, targets = batch(B, T)

    def step():
        opt.zero_grad()
        logits, _ = model(ids)
        loss = F.cross_entropy(logits.reshape(B * T, V), targets.reshape(-1))
        loss.backward()
        opt.step()
        return loss
    return step, model


def torch_step(B, T, H, weights=None):
    """(step, model): the same stack from torch.nn, from ``weights`` (a minigen state dict) if given."""
    class LanguageModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(V, E)
            self.rnn = torch.nn.LSTM(E, H, num_layers=L, batch_first=True)
            self.drop = torch.nn.Dropout(0.0)
            self.head = torch.nn.Linear(H, V)

        def forward(self, ids):
            out, state = self.rnn(self.embedding(ids))
            return self.head(self.drop(out)), state

    model = LanguageModel()
    if weights is not None:                                        # same names on both sides
        model.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in weights.items()})
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    ids, targets = (torch.tensor(a) for a in batch(B, T))

    def step():
        opt.zero_grad()
        logits, _ = model(ids)
        loss = torch.nn.functional.cross_entropy(logits.reshape(B * T, V), targets.reshape(-1))
        loss.backward()
        opt.step()
        return loss
    return step, model


def check(mg, mg_model, th, th_model):
    """One step on each side: the losses, then the updated parameters, must agree. Returns the slower step's s."""
    t0 = time.perf_counter()
    a = mg().item()
    t1 = time.perf_counter()
    b = th().item()
    t2 = time.perf_counter()
    assert abs(a - b) < 1e-4 * abs(b), f"losses differ: minigen {a}, torch {b}"
    theirs = th_model.state_dict()
    for name, p in mg_model.state_dict().items():
        q = theirs[name].detach().numpy().astype(np.float64)
        err = np.linalg.norm(np.asarray(p, np.float64) - q) / max(np.linalg.norm(q), 1e-12)
        assert err < 1e-4, f"after one Adam step, {name} differs by {err:.1e} (relative norm)"
    return max(t1 - t0, t2 - t1)


def timing(step_s):
    """time_fn's settings for a sweep case whose step takes ``step_s`` seconds: fewer runs when slow."""
    if step_s > 1.0:
        return {"warmup": 1, "repeat": 3, "min_seconds": 0.0}
    if step_s > 0.3:
        return {"warmup": 1, "repeat": 7, "min_seconds": 0.0}
    return {}


methods = set()


def case(name, B, T, H, scaled=False):
    """One checked, timed row, with the peak memory of each library's step (fresh processes)."""
    mg, mg_model = minigen_step(B, T, H)
    th, th_model = torch_step(B, T, H, mg_model.state_dict())
    step_s = check(mg, mg_model, th, th_model)
    row = compare(name, mg, th, **(timing(step_s) if scaled else {}))
    del mg, mg_model, th, th_model
    shape = ["--batch", B, "--seq", T, "--hidden", H]
    mem = {lib: peak_step_memory_mib(__file__, lib, shape, detail=True) for lib in ("minigen", "torch")}
    methods.update(m["method"] for m in mem.values())
    a, b = mem["minigen"]["peak_mib"], mem["torch"]["peak_mib"]
    row.update(B=B, T=T, H=H, minigen_peak_mib=a, torch_peak_mib=b, mem_ratio=round(a / b, 3) if b > 0 else None)
    return row


if args.memory_child:                  # a fresh process: one library's memory (harness.peak_step_memory_mib)
    build = minigen_step if args.memory_child == "minigen" else torch_step
    memory_child(build(args.batch, args.seq, args.hidden)[0], warmup=lambda: build(2, 2, 8)[0]())
    raise SystemExit(0)

suffix = "_quick" if args.quick else ""
if args.quick:
    B, T, H, B_SWEEP, SEQS, HIDDENS, T_AT, H_AT = 4, 8, 32, 4, (8, 16), (16, 32), 8, 32
else:
    B, T, H, B_SWEEP, SEQS, HIDDENS, T_AT, H_AT = (args.batch, args.seq, args.hidden, 32, (32, 64, 128, 256, 512),
                                                   (128, 256, 512, 1024), 64, 256)
shape = {"V": V, "E": E, "layers": L, "dtype": "float32", "optimizer": f"Adam(lr={LR})"}
memory_note = ("peak RSS over the RSS before the first step, 3 steps, a fresh process per library, "
               "after one toy-model step")

rows = [case(f"W1 LSTM train step (B={B} T={T} H={H})", B, T, H)]
report("w1_train_step" + suffix, rows, {"shape": dict(B=B, T=T, H=H, **shape),
                                        "memory": f"{memory_note} ({', '.join(sorted(methods))})"})
memory_table(rows)
print("  targets: time ratio <= 1.3, memory ratio <= 1.0")

if args.sweep or args.quick:
    cases = [(t, H_AT) for t in SEQS] + [(T_AT, h) for h in HIDDENS if (T_AT, h) not in {(t, H_AT) for t in SEQS}]
    rows = [case(f"train step B={B_SWEEP} T={t} H={h}", B_SWEEP, t, h, scaled=True) for t, h in cases]
    report("train_scaling" + suffix, rows, {"shape": dict(B=B_SWEEP, **shape),
                                            "memory": f"{memory_note} ({', '.join(sorted(methods))})"})
    memory_table(rows)
