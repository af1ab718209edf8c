"""Data parallelism on this machine: 2 ranks x 1 thread against 1 rank x 2 threads, and the all-reduce's cost.

The workload is the main job's training step (a 2-layer char-LSTM, hidden 256, embedding 64, on
Shakespeare; global batch 84 x 48, Adam, clipping at 1), run by ``minigen.train.Trainer``:

- 1 rank x 2 BLAS threads: one process, as ``python -m minigen train`` runs it;
- 2 ranks x 1 thread: ``mpiexec -n 2``, each rank 42 rows, the gradients averaged by
  ``Group.all_reduce_gradients`` (timed inside the step).

The two alternate for ``--rounds`` rounds (each a fresh launch: warm-up steps, then ``--steps``
timed steps); the medians are reported, with the all-reduce's share of the 2-rank step. Then
MPI's Allreduce is timed over buffer sizes on 2 ranks and the ring's cost model
``2(N-1) alpha + 2(N-1)/N M / beta`` fitted to it; with a 10 Gbit/s network's bandwidth and an
assumed per-message latency, the model predicts the all-reduce of the main job's and W3's
gradients on 8 and 64 machines against their compute time per step (global batch fixed, so each
machine computes 1/N of it), the N where communication would take longer than computing, and
what overlapping the all-reduce with the backward pass could save.

Targets: the all-reduce at most 10% of the 2-rank step; 2 ranks x 1 thread at least 0.9x the
tokens/s of 1 rank x 2 threads.

Run: python benchmarks/bench_distributed.py [--rounds 5] [--steps 40]   (needs the distributed extra)
"""

from harness import parse_and_pin

args = parse_and_pin(__doc__, lambda p: (
    p.add_argument("--rounds", type=int, default=5),
    p.add_argument("--steps", type=int, default=40),
    p.add_argument("--worker", action="store_true", help="(internal) one timed run, its figures as JSON")))

import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import minigen  # noqa: E402
from minigen import distributed  # noqa: E402
from minigen.data import CharTokenizer, shakespeare  # noqa: E402
from minigen.models import GPT, GPTConfig, RNNLanguageModel  # noqa: E402
from minigen.train import Trainer  # noqa: E402

BATCH, SEQ, WARMUP = 84, 48, 5
NETWORK = {"bandwidth_bytes_per_s": 1.25e9, "latency_s": 30e-6,
           "note": "10 Gbit/s Ethernet; 30 us per message is an assumption (TCP between two hosts: 10-50 us)"}


def main_job_model(V):
    return RNNLanguageModel(V, embed_dim=64, hidden_size=256, num_layers=2, learn_initial_state=True)


def worker():
    """One run: WARMUP steps, then args.steps timed ones; rank 0 prints {tokens_per_s, allreduce_s, step_s}."""
    group = distributed.init() if int(os.environ.get("PMI_SIZE") or 1) > 1 else None
    text = shakespeare()
    tok = CharTokenizer.train(text)
    ids = tok.encode(text)
    minigen.manual_seed(0)
    model = main_job_model(tok.vocab_size)
    trainer = Trainer(model, minigen.optim.Adam(model.parameters(), lr=1e-2), ids, batch_size=BATCH, seq_len=SEQ,
                      max_steps=10**6, eval_interval=10**6, warmup_steps=100, grad_clip=1.0, fresh_state_every=1,
                      progress=False, log=lambda text: None, group=group)
    spent = [0.0]
    if group is not None:                                 # time the all-reduce inside the real step
        reduce = group.all_reduce_gradients

        def timed_reduce(params):
            t0 = time.perf_counter()
            reduce(params)
            spent[0] += time.perf_counter() - t0
        group.all_reduce_gradients = timed_reduce
    for _ in range(WARMUP):
        trainer.train_step()
    spent[0] = 0.0
    start = time.perf_counter()
    for _ in range(args.steps):
        trainer.train_step()
    seconds = time.perf_counter() - start
    if group is None or group.is_main:
        print(json.dumps({"tokens_per_s": args.steps * BATCH * SEQ / seconds, "step_s": seconds / args.steps,
                          "allreduce_s": spent[0] / args.steps,
                          "gradient_bytes": sum(p.numel() for p in model.parameters()) * 4}))


def launch(ranks):
    """One worker run on ``ranks`` ranks (1: no mpiexec) with cores/ranks BLAS threads each; its JSON."""
    threads = max(1, (os.cpu_count() or 1) // ranks)
    script = [sys.executable, os.path.abspath(__file__), "--worker", "--steps", str(args.steps), "--threads",
              str(threads)]
    command = script if ranks == 1 else [shutil.which("mpiexec"), "-n", str(ranks), *script]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


ALLREDUCE_SWEEP = """
import json, sys, time
import numpy as np
from mpi4py import MPI
comm, times = MPI.COMM_WORLD, {}
for n in [2 ** k for k in range(8, 23)]:
    buf, out = np.ones(n), np.empty(n)
    repeats = max(5, min(200, 2 ** 23 // n))
    for _ in range(3):
        comm.Allreduce(buf, out)
    comm.Barrier()
    t0 = time.perf_counter()
    for _ in range(repeats):
        comm.Allreduce(buf, out)
    times[n * 8] = (time.perf_counter() - t0) / repeats
if comm.rank == 0:
    print(json.dumps(times))
"""


def allreduce_sweep():
    """MPI Allreduce's seconds per call over float64 buffers of 2 KB to 32 MB on 2 ranks, and the fitted model."""
    out = subprocess.run([shutil.which("mpiexec"), "-n", "2", sys.executable, "-c", ALLREDUCE_SWEEP],
                         capture_output=True, text=True, check=True).stdout
    times = {int(k): v for k, v in json.loads(out.strip().splitlines()[-1]).items()}
    M, t, N = np.array(list(times), dtype=float), np.array(list(times.values())), 2
    A = np.stack([np.full(len(M), 2 * (N - 1)), 2 * (N - 1) / N * M], axis=1)
    alpha, inv_beta = np.linalg.lstsq(A / t[:, None], np.ones(len(t)), rcond=None)[0]    # relative errors
    return {"bytes_to_seconds": times, "alpha_s": float(alpha), "beta_bytes_per_s": float(1 / inv_beta)}


def ring_seconds(M, N, alpha, beta):
    return 2 * (N - 1) * alpha + 2 * (N - 1) / N * M / beta


def predictions(gradient_bytes, step_s):
    """Per machine count: the ring's time on the network, the compute time per machine, and the share."""
    alpha, beta = NETWORK["latency_s"], NETWORK["bandwidth_bytes_per_s"]
    rows = {}
    for N in (2, 8, 64):
        comm, compute = ring_seconds(gradient_bytes, N, alpha, beta), step_s / N
        rows[N] = {"allreduce_s": comm, "compute_s": compute, "comm_share": comm / (comm + compute)}
    crossover = next((N for N in range(2, 4097) if ring_seconds(gradient_bytes, N, alpha, beta) > step_s / N), None)
    return {"by_machines": rows, "communication_dominates_from": crossover}


def main():
    one, two = [], []
    for r in range(args.rounds):                          # alternate, so that a slow spell hits both
        for runs, ranks in ((one, 1), (two, 2)) if r % 2 == 0 else ((two, 2), (one, 1)):
            runs.append(launch(ranks))
        print(f"  round {r + 1}: 1 rank x 2 threads {one[-1]['tokens_per_s']:,.0f} tok/s; 2 ranks x 1 thread "
              f"{two[-1]['tokens_per_s']:,.0f} tok/s, all-reduce {two[-1]['allreduce_s'] * 1e3:.2f} ms of "
              f"{two[-1]['step_s'] * 1e3:.1f} ms", flush=True)
    med = {name: {k: float(np.median([run[k] for run in runs])) for k in runs[0]} for name, runs in
           (("one_rank_two_threads", one), ("two_ranks_one_thread", two))}
    speed = med["two_ranks_one_thread"]["tokens_per_s"] / med["one_rank_two_threads"]["tokens_per_s"]
    share = med["two_ranks_one_thread"]["allreduce_s"] / med["two_ranks_one_thread"]["step_s"]
    sweep = allreduce_sweep()
    w3 = GPT(GPTConfig(vocab_size=96, block_size=128, n_layer=4, n_head=6, n_embd=192))
    w3_bytes = sum(p.numel() for p in w3.parameters()) * 4
    w3_result = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "w3_gpt.json")))
    w3_step = next(r["minigen_ms"] for r in w3_result["rows"] if "train step" in r["name"]) / 1000
    main_bytes = med["one_rank_two_threads"]["gradient_bytes"]
    result = {
        "workload": "distributed", "machine": __import__("harness").machine(), "rounds": args.rounds,
        "steps": args.steps, "batch": [BATCH, SEQ], "runs": {"one_rank_two_threads": one, "two_ranks_one_thread": two},
        "median": med, "speed_two_ranks_over_one": speed, "allreduce_share_two_ranks": share,
        "targets": {"allreduce_share_max": 0.10, "speed_min": 0.9}, "allreduce_sweep_two_ranks": sweep,
        "network": NETWORK,
        "predictions": {"main_job": {"gradient_bytes": main_bytes, "step_s_one_machine":
                                     med["one_rank_two_threads"]["step_s"],
                                     **predictions(main_bytes, med["one_rank_two_threads"]["step_s"])},
                        "w3_gpt": {"gradient_bytes": w3_bytes, "step_s_one_machine": w3_step,
                                   **predictions(w3_bytes, w3_step)}},
    }
    print(f"\n2 ranks x 1 thread / 1 rank x 2 threads: {speed:.3f}x the tokens/s (target >= 0.9); all-reduce "
          f"{share:.1%} of the 2-rank step (target <= 10%)")
    print(f"MPI Allreduce on 2 ranks, this machine: alpha {sweep['alpha_s'] * 1e6:.1f} us, beta "
          f"{sweep['beta_bytes_per_s'] / 1e9:.2f} GB/s")
    for name, p in result["predictions"].items():
        by = p["by_machines"]
        print(f"{name}: {p['gradient_bytes'] / 1e6:.1f} MB of gradients; on 10 Gbit/s, 8 machines: all-reduce "
              f"{by[8]['allreduce_s'] * 1e3:.1f} ms vs compute {by[8]['compute_s'] * 1e3:.1f} ms; 64: "
              f"{by[64]['allreduce_s'] * 1e3:.1f} ms vs {by[64]['compute_s'] * 1e3:.1f} ms; communication dominates "
              f"from {p['communication_dominates_from']} machines")
    os.makedirs(os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"), exist_ok=True)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "distributed.json")
    with open(path + ".tmp", "w") as f:
        json.dump(result, f, indent=1)
    os.replace(path + ".tmp", path)
    print(f"written to {os.path.relpath(path)}")


if args.worker:
    worker()
else:
    main()
