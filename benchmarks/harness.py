"""Side-by-side timing of minigen and PyTorch CPU in one process.

Import this module *before* NumPy or torch: ``pin_threads`` must set the BLAS
thread count before either library loads its thread pool. Both libraries then
run with the same number of threads, on the same shapes, in the same process.

    from harness import parse_and_pin
    args = parse_and_pin(__doc__)    # before numpy / torch
    from harness import compare, report, require_torch
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
_threads = None


def pin_threads(n: int | None = None) -> int:
    """Use ``n`` threads (default: all cores) in NumPy's BLAS and in torch."""
    global _threads
    n = n or int(os.environ.get("MINIGEN_BENCH_THREADS", os.cpu_count() or 1))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
        os.environ[var] = str(n)
    # OpenBLAS's idle workers spin for up to 2^28 cycles after each product, and on a
    # small machine they take the core from the elementwise work between products;
    # 2^12 cycles keeps them ready for the next product and out of the way otherwise.
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "12")
    _threads = n
    # Both libraries allocate through glibc here; keep freed memory in the process for
    # both (see minigen.backend.tune_malloc), as a training script would.
    from minigen.backend import tune_malloc
    tune_malloc()
    return n


def parse_and_pin(doc: str, configure=None):
    """Parse a benchmark's command line (``--threads`` plus what ``configure`` adds), then pin threads."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="threads for both libraries (default: all cores)")
    if configure is not None:
        configure(parser)
    args = parser.parse_args()
    pin_threads(args.threads)
    return args


def require_torch():
    """torch, with the threads pinned, or exit with the install line."""
    try:
        return _torch()
    except ImportError:
        sys.exit("this benchmark compares against PyTorch: pip install torch==2.13.0")


def _torch():
    import torch
    torch.set_num_threads(_threads or os.cpu_count() or 1)
    return torch


def time_fn(fn, *, warmup: int = 3, repeat: int = 15, min_seconds: float = 0.2) -> float:
    """Median wall time of ``fn()`` in milliseconds (after ``warmup`` calls)."""
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < repeat or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= 10 * repeat:
            break
    return 1000 * statistics.median(times)


def compare(name: str, minigen_fn, torch_fn, **kw) -> dict:
    """Time both, interleaved twice to even out drift; the ratio is minigen / PyTorch."""
    a1, b1 = time_fn(minigen_fn, **kw), time_fn(torch_fn, **kw)
    a2, b2 = time_fn(minigen_fn, **kw), time_fn(torch_fn, **kw)
    ms_mg, ms_th = min(a1, a2), min(b1, b2)
    return {"name": name, "minigen_ms": round(ms_mg, 4), "torch_ms": round(ms_th, 4), "ratio": round(ms_mg / ms_th, 3)}


def machine() -> dict:
    import numpy as np
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "threads": _threads, "python": platform.python_version(),
            "numpy": np.__version__, "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    try:
        info["torch"] = _torch().__version__
    except ImportError:
        pass
    return info


def report(workload: str, rows: list[dict], extra: dict | None = None) -> dict:
    """Print a table and write ``results/<workload>.json``."""
    result = {"workload": workload, "machine": machine(), "rows": rows, **(extra or {})}
    m = result["machine"]
    print(f"\n{workload}  ({m['cpu']}, {m['threads']} threads, {m['date']})")
    print(f"  {'case':<38} {'minigen ms':>11} {'torch ms':>10} {'ratio':>7}")
    for r in rows:
        print(f"  {r['name']:<38} {r['minigen_ms']:>11.3f} {r['torch_ms']:>10.3f} {r['ratio']:>7.2f}")
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, f"{workload}.json")
    with open(path + ".tmp", "w") as f:
        json.dump(result, f, indent=2)
    os.replace(path + ".tmp", path)
    print(f"  written to {os.path.relpath(path)}")
    return result
