"""W3, the GPT-mini: its training step and its generation speed, minigen vs PyTorch CPU.

Model: vocabulary 96, n_embd 192, 4 layers, 6 heads, GELU (tanh), tied head, float32.

1. Training step: B=16, T=128, forward + cross-entropy + backward + AdamW (lr 1e-3,
   weight decay 0.1), both libraries from the same weights (the first losses must
   agree). Target: minigen <= 1.0x PyTorch's time. It also times NumPy doing only the
   step's matrix products, with the same shapes: the floor for any NumPy implementation.
2. Generation at batch 1, 256 new tokens after a 16-token prompt (block size 512),
   greedy: minigen's ``generate`` with its KV cache; the same without a cache
   (recomputing the whole prefix every step); and PyTorch running the same model with a
   hand-written KV cache (``F.scaled_dot_product_attention`` over cached keys and
   values). Targets: minigen >= 1.0x PyTorch's tokens/s; the cache >= 3x faster than
   recomputing.

Ratios are against PyTorch with glibc's malloc tuned as minigen's is (like for like);
``ratio_untuned`` is against PyTorch as its users run it, timed in a child process
without the malloc tuning.

Run: python benchmarks/bench_gpt.py [--threads N]
"""

from harness import parse_and_pin

args = parse_and_pin(__doc__, lambda p: p.add_argument("--new", type=int, default=256))

import json  # noqa: E402

import numpy as np  # noqa: E402

import minigen  # noqa: E402
import minigen.functional as F  # noqa: E402
from harness import (compare, matmul_gflop, numpy_matmul_ms, report, require_torch, time_fn,  # noqa: E402
                     untuned_torch_ms)
from minigen.models import GPT, GPTConfig  # noqa: E402
from minigen.sample import generate, sample_next  # noqa: E402

torch = require_torch()
tF = torch.nn.functional
from torch_gpt import TorchGPT  # noqa: E402

V, E, L, NH = 96, 192, 4, 6


def pair(block_size):
    minigen.manual_seed(0)
    mine = GPT(GPTConfig(vocab_size=V, block_size=block_size, n_layer=L, n_head=NH, n_embd=E))
    theirs = TorchGPT(V, block_size, L, NH, E)
    theirs.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in mine.state_dict().items()})
    return mine, theirs


# ---------------------------------------------------------------------------- 1. the training step
B, T = 16, 128
rng = np.random.default_rng(0)
ids, targets = rng.integers(0, V, (B, T)), rng.integers(0, V, (B, T))
mine, theirs = pair(T)
opt_m = minigen.optim.AdamW(mine.parameters(), lr=1e-3, weight_decay=0.1)
opt_t = torch.optim.AdamW(theirs.parameters(), lr=1e-3, weight_decay=0.1)
ids_t, targets_t = torch.tensor(ids), torch.tensor(targets)


def step_minigen():
    opt_m.zero_grad()
    loss = F.cross_entropy(mine(ids).reshape(B * T, V), targets.reshape(-1))
    loss.backward()
    opt_m.step()
    return loss.item()


def step_torch():
    opt_t.zero_grad()
    loss = tF.cross_entropy(theirs(ids_t).reshape(B * T, V), targets_t.reshape(-1))
    loss.backward()
    opt_t.step()
    return loss.item()


def matmul_shapes():
    """(m, k, n, count, batch) of every matrix product in one training step, forward and backward."""
    N, hs, heads = B * T, E // NH, B * NH
    forward = []
    for _ in range(L):
        forward += [(N, E, 3 * E, 1, 1),                                     # q, k, v in one projection
                    (T, hs, T, 1, heads), (T, T, hs, 1, heads),              # q k^T, then att v, per head
                    (N, E, E, 1, 1), (N, E, 4 * E, 1, 1), (N, 4 * E, E, 1, 1)]   # output projection, MLP
    forward += [(N, E, V, 1, 1)]                                             # the tied head
    shapes = []
    for m, k, n, c, b in forward:                   # C = A B, then dA = dC B^T and dB = A^T dC
        shapes += [(m, k, n, c, b), (m, n, k, c, b), (k, m, n, c, b)]
    return shapes


a, b = step_minigen(), step_torch()
assert abs(a - b) < 1e-4 * abs(b), f"first losses differ: minigen {a}, torch {b}"
if args.untuned_child:                               # torch alone, as its users run it (no malloc tuning)
    child = {"train": time_fn(step_torch)}
else:
    rows = [compare("W3 GPT train step (B=16, T=128, AdamW)", step_minigen, step_torch)]
    shapes = matmul_shapes()
    gflop = matmul_gflop(shapes)
    floor = numpy_matmul_ms(shapes)
    rows[0].update(gflop=round(gflop, 3), numpy_matmul_ms=round(floor, 3),
                   numpy_matmul_vs_torch=round(floor / rows[0]["torch_ms"], 3))

# ---------------------------------------------------------------------------- 2. generation
NEW = args.new
mine, theirs = pair(512)
theirs.eval()
prompt = rng.integers(0, V, (1, 16))


def torch_generate():
    with torch.inference_mode():
        caches = [[] for _ in range(L)]
        x = torch.tensor(prompt)
        logits = theirs(x, caches)
        out = []
        for i in range(NEW):
            nxt = logits[:, -1, :].argmax(-1, keepdim=True)
            out.append(nxt)
            logits = theirs(nxt, caches, past=16 + i)
    return torch.cat(out, 1)


def minigen_recompute():
    x = prompt
    with minigen.no_grad():
        for _ in range(NEW):
            x = np.concatenate([x, sample_next(mine(x).data[:, -1, :], do_sample=False)[:, None]], axis=1)
    return x


cached = generate(mine, prompt, NEW)
assert (cached[0, 16:] == torch_generate()[0].numpy()).all(), "greedy continuations differ from torch's"
assert (cached == minigen_recompute()).all(), "the KV cache changed the continuation"
if args.untuned_child:
    child["generate"] = time_fn(torch_generate, warmup=1, repeat=3)
    print(json.dumps(child))
    raise SystemExit
row = compare(f"W3 GPT generation, batch 1, {NEW} tokens, KV cache", lambda: generate(mine, prompt, NEW),
              torch_generate, warmup=1, repeat=3)
recompute_ms = time_fn(minigen_recompute, warmup=0, repeat=1, min_seconds=0)
row.update(minigen_tokens_per_s=round(NEW / row["minigen_ms"] * 1e3), torch_tokens_per_s=round(
    NEW / row["torch_ms"] * 1e3), recompute_ms=round(recompute_ms, 1),
    cache_speedup=round(recompute_ms / row["minigen_ms"], 2))
rows.append(row)
untuned = untuned_torch_ms(["--new", str(NEW)])
for r, case in zip(rows, ("train", "generate")):
    r.update(torch_untuned_ms=round(untuned[case], 4), ratio_untuned=round(r["minigen_ms"] / untuned[case], 3))
row["torch_untuned_tokens_per_s"] = round(NEW / untuned["generate"] * 1e3)
report("w3_gpt", rows, {"model": dict(V=V, E=E, layers=L, heads=NH), "train_shape": dict(B=B, T=T),
                        "new_tokens": NEW})
step = rows[0]
print(f"  training step: {step['gflop']} GFLOP of matrix products; NumPy's products alone take "
      f"{step['numpy_matmul_ms']:.1f} ms = {step['numpy_matmul_vs_torch']:.2f}x PyTorch's whole step")
print(f"  generation: minigen {row['minigen_tokens_per_s']} tokens/s, torch {row['torch_tokens_per_s']} tokens/s; "
      f"without the cache minigen takes {recompute_ms:.0f} ms ({row['cache_speedup']}x slower)")
