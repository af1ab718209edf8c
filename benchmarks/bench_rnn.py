"""W1: the char-LSTM training step (forward, cross-entropy, backward), minigen vs PyTorch CPU.

B=32, T=64, vocabulary 96, embedding 64, hidden 256, 2 layers, float32: embedding ->
2-layer LSTM -> linear head -> cross-entropy -> backward. The same workload with a GRU.
Targets: LSTM <= 1.25x PyTorch's time, GRU <= 0.9x. Both libraries run with glibc's
malloc tuned (like for like); ``ratio_untuned`` is against PyTorch as its users run it,
timed in a child process without the tuning.

It also reports achieved GFLOP/s, as a fraction of NumPy's own float32 matmul rate on
the same machine for exactly the workload's matrix shapes (the recurrent loop's small
per-step products included): the share of the time that is not matrix products.

Run: python benchmarks/bench_rnn.py [--threads N] [--cells lstm gru] [--paired ROUNDS]
"""

from harness import parse_and_pin

args = parse_and_pin(__doc__, lambda p: (
    p.add_argument("--cells", nargs="+", default=["lstm", "gru"], choices=["lstm", "gru"]),
    p.add_argument("--batch", type=int, default=32),
    p.add_argument("--seq", type=int, default=64),
    p.add_argument("--hidden", type=int, default=256),
    p.add_argument("--paired", type=int, default=0, metavar="ROUNDS",
                   help="also alternate single steps for ROUNDS rounds: median of per-round ratios")))

import numpy as np  # noqa: E402

import minigen  # noqa: E402
import minigen.functional as F  # noqa: E402
from harness import (  # noqa: E402
    compare, matmul_gflop, numpy_matmul_ms, paired, report, require_torch, time_fn, untuned_torch_ms,
)

torch = require_torch()

B, T, V, E, H, L = args.batch, args.seq, 96, 64, args.hidden, 2
GATES = {"lstm": 4, "gru": 3}
rng = np.random.default_rng(0)
ids = rng.integers(0, V, size=(B, T))
targets = rng.integers(0, V, size=(B, T))


def minigen_step(cell):
    minigen.manual_seed(0)
    emb = minigen.nn.Embedding(V, E)
    rnn = (minigen.nn.LSTM if cell == "lstm" else minigen.nn.GRU)(E, H, num_layers=L, batch_first=True)
    head = minigen.nn.Linear(H, V)
    params = list(emb.parameters()) + list(rnn.parameters()) + list(head.parameters())

    def step():
        for p in params:
            p.grad = None
        out, _ = rnn(emb(ids))
        logits = head(out)
        loss = F.cross_entropy(logits.reshape(B * T, V), targets.reshape(-1))
        loss.backward()
        return loss
    return step, (emb, rnn, head)


def torch_step(cell, modules):
    emb = torch.nn.Embedding(V, E)
    rnn = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(E, H, num_layers=L, batch_first=True)
    head = torch.nn.Linear(H, V)
    for mine, theirs in zip(modules, (emb, rnn, head)):          # same weights on both sides
        theirs.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in mine.state_dict().items()})
    params = list(emb.parameters()) + list(rnn.parameters()) + list(head.parameters())
    ids_t, targets_t = torch.tensor(ids), torch.tensor(targets)

    def step():
        for p in params:
            p.grad = None
        out, _ = rnn(emb(ids_t))
        loss = torch.nn.functional.cross_entropy(head(out).reshape(B * T, V), targets_t.reshape(-1))
        loss.backward()
        return loss
    return step


def matmul_shapes(cell):
    """(m, k, n, count) of every matrix product in one training step, forward and backward."""
    G = GATES[cell]
    shapes = []
    for layer in range(L):
        C = E if layer == 0 else H
        shapes += [(T * B, C, G * H, 1), (B, H, G * H, T)]                       # input projection, recurrence
        shapes += [(T * B, G * H, C, 1), (G * H, T * B, C, 1)]                   # dx, dW_ih
        shapes += [(B, G * H, H, T), (G * H, T * B, H, 1)]                       # dh_prev per step, dW_hh
    shapes += [(T * B, H, V, 1), (T * B, V, H, 1), (V, T * B, H, 1)]             # head forward, dx, dW
    return shapes


if args.untuned_child:                               # torch alone, as its users run it (no malloc tuning)
    import json
    print(json.dumps({cell: time_fn(torch_step(cell, minigen_step(cell)[1])) for cell in args.cells}))
    raise SystemExit

untuned = untuned_torch_ms(["--cells", *args.cells, "--batch", str(B), "--seq", str(T), "--hidden", str(H)])
rows, extra = [], {"shape": dict(B=B, T=T, V=V, E=E, H=H, layers=L)}
for cell in args.cells:
    mg, modules = minigen_step(cell)
    th = torch_step(cell, modules)
    a, b = mg().item(), th().item()
    assert abs(a - b) < 1e-4 * abs(b), f"losses differ: minigen {a}, torch {b}"
    row = compare(f"W1 {cell.upper()} step: fwd + CE + bwd", mg, th)
    shapes = matmul_shapes(cell)
    gflop = matmul_gflop(shapes)
    floor = numpy_matmul_ms(shapes)
    row.update(gflop=round(gflop, 3), gflops_minigen=round(gflop / row["minigen_ms"] * 1e3, 1),
               gflops_torch=round(gflop / row["torch_ms"] * 1e3, 1),
               numpy_matmul_ms=round(floor, 3), matmul_fraction=round(floor / row["minigen_ms"], 3),
               torch_untuned_ms=round(untuned[cell], 4), ratio_untuned=round(row["minigen_ms"] / untuned[cell], 3))
    rows.append(row)
    if args.paired:
        rows.append(paired(f"W1 {cell.upper()} step", mg, th, args.paired))
result = report("w1_char_rnn", rows, extra)
for r in (r for r in rows if "gflop" in r):
    print(f"  {r['name']}: {r['gflop']} GFLOP; minigen {r['gflops_minigen']} GFLOP/s, torch {r['gflops_torch']} "
          f"GFLOP/s; NumPy's matmuls alone take {r['numpy_matmul_ms']:.1f} ms = {100 * r['matmul_fraction']:.0f}% "
          "of minigen's step")
