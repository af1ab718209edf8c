"""Before and after: this checkout's minigen against an older commit's, interleaved in one process.

    python benchmarks/ab_versions.py --before 3c59318 [--rounds 30]

The older commit is checked out into a temporary git worktree, and its ``minigen``
package is copied in as ``minigen_before`` (absolute imports renamed), so that both
versions load side by side. Each workload then alternates one call of each version
for ``--rounds`` rounds, the order flipping every round; the ratio is the median of
the per-round ratios (after / before), which a slow spell on a shared machine
shifts far less than two separate runs would. Workloads, all float32:

- W1: the char-LSTM training step of ``bench_rnn.py`` (B=32, T=64, hidden 256, 2 layers), and the GRU's;
- W3: the GPT training step of ``bench_gpt.py`` (B=16, T=128, 4 layers, width 192, AdamW);
- generation: the GPT (128 new tokens) and the char-LSTM (256 new tokens, greedy and sampling).

Writes ``benchmarks/results/ab_versions.json``.
"""

from harness import parse_and_pin

args = parse_and_pin(__doc__, lambda p: (
    p.add_argument("--before", required=True, help="the commit to compare with"),
    p.add_argument("--rounds", type=int, default=30)))

import importlib  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402

from harness import paired, report  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_before(commit: str, work: str):
    """The package at ``commit``, imported as ``minigen_before``."""
    tree = os.path.join(work, "tree")
    subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", tree, commit], check=True, capture_output=True)
    try:
        target = os.path.join(work, "pkg", "minigen_before")
        shutil.copytree(os.path.join(tree, "minigen"), target, ignore=shutil.ignore_patterns("__pycache__"))
    finally:
        subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", tree], capture_output=True)
    for folder, _, files in os.walk(target):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path) as f:
                    text = f.read()
                text = re.sub(r"\b(from|import) minigen\b", r"\1 minigen_before", text)
                with open(path, "w") as f:
                    f.write(text)
    sys.path.insert(0, os.path.join(work, "pkg"))
    return importlib.import_module("minigen_before")


def rnn_step(mg, cell):
    F = importlib.import_module(mg.__name__ + ".functional")
    B, T, V, E, H, L = 32, 64, 96, 64, 256, 2
    rng = np.random.default_rng(0)
    ids, targets = rng.integers(0, V, (B, T)), rng.integers(0, V, (B, T))
    mg.manual_seed(0)
    emb = mg.nn.Embedding(V, E)
    rnn = (mg.nn.LSTM if cell == "lstm" else mg.nn.GRU)(E, H, num_layers=L, batch_first=True)
    head = mg.nn.Linear(H, V)
    params = list(emb.parameters()) + list(rnn.parameters()) + list(head.parameters())

    def step():
        for p in params:
            p.grad = None
        out, _ = rnn(emb(ids))
        loss = F.cross_entropy(head(out).reshape(B * T, V), targets.reshape(-1))
        loss.backward()
    return step


def gpt_step(mg):
    F = importlib.import_module(mg.__name__ + ".functional")
    models = importlib.import_module(mg.__name__ + ".models")
    B, T, V = 16, 128, 96
    rng = np.random.default_rng(0)
    ids, targets = rng.integers(0, V, (B, T)), rng.integers(0, V, (B, T))
    mg.manual_seed(0)
    model = models.GPT(models.GPTConfig(vocab_size=V, block_size=T, n_layer=4, n_head=6, n_embd=192))
    opt = mg.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(ids).reshape(B * T, V), targets.reshape(-1))
        loss.backward()
        opt.step()
    return step


def gpt_generate(mg):
    models = importlib.import_module(mg.__name__ + ".models")
    sample = importlib.import_module(mg.__name__ + ".sample")
    mg.manual_seed(0)
    model = models.GPT(models.GPTConfig(vocab_size=96, block_size=512, n_layer=4, n_head=6, n_embd=192))
    prompt = np.random.default_rng(0).integers(0, 96, (1, 16))
    return lambda: sample.generate(model, prompt, 128)


def lstm_generate(mg, **kw):
    models = importlib.import_module(mg.__name__ + ".models")
    sample = importlib.import_module(mg.__name__ + ".sample")
    mg.manual_seed(0)
    model = models.RNNLanguageModel(96, 64, 256, 2)
    prompt = np.random.default_rng(0).integers(0, 96, (1, 16))
    return lambda: sample.generate(model, prompt, 256, **kw)


def main():
    import minigen as after
    with tempfile.TemporaryDirectory() as work:
        before = load_before(args.before, work)
        workloads = [
            ("W1 LSTM train step", lambda mg: rnn_step(mg, "lstm"), args.rounds),
            ("W1 GRU train step", lambda mg: rnn_step(mg, "gru"), args.rounds),
            ("W3 GPT train step", gpt_step, max(args.rounds // 3, 5)),
            ("GPT generate, 128 tokens", gpt_generate, max(args.rounds // 3, 5)),
            ("char-LSTM generate, 256 tokens, greedy", lstm_generate, max(args.rounds // 3, 5)),
            ("char-LSTM generate, 256 tokens, sampling",
             lambda mg: lstm_generate(mg, do_sample=True, temperature=0.8, top_k=0, seed=0), max(args.rounds // 3, 5)),
        ]
        rows = []
        for name, build, rounds in workloads:
            # paired() reports minigen/torch; here "minigen" is after and "torch" is before.
            row = paired(name, build(after), build(before), rounds)
            rows.append({"name": row["name"], "after_ms": row["minigen_ms"], "before_ms": row["torch_ms"],
                         "ratio": row["ratio"], "ratio_q25": row["ratio_q25"], "ratio_q75": row["ratio_q75"]})
            print(f"  {row['name']:<56} before {row['torch_ms']:9.2f} ms  after {row['minigen_ms']:9.2f} ms  "
                  f"after/before {row['ratio']:.3f}", flush=True)
    for r in rows:                                     # report() prints minigen/torch columns
        r.update(minigen_ms=r["after_ms"], torch_ms=r["before_ms"])
    report("ab_versions", rows, {"before": args.before, "columns": "minigen_ms = after, torch_ms = before"})


main()
