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

from results_io import RESULTS, write_result  # noqa: F401  (RESULTS: the quality benchmarks import it from here)

_threads = None

# Some machines set these to force an older OpenBLAS kernel; a user's machine does not,
# so a benchmark runs itself again without them, before NumPy loads. Tests and CI keep
# the environment as it is.
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def run_as_users_do() -> None:
    """Re-execute this process without ``OPENBLAS_OVERRIDES``, noting which were removed."""
    found = [name for name in OPENBLAS_OVERRIDES if name in os.environ]
    if found:
        env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_OVERRIDES}
        env["MINIGEN_BENCH_UNSET"] = ",".join(f"{k}={os.environ[k]}" for k in found)
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


run_as_users_do()


def pin_threads(n: int | None = None, *, tune: bool = True) -> int:
    """Use ``n`` threads (default: all cores) in NumPy's BLAS and in torch."""
    global _threads
    n = n or int(os.environ.get("MINIGEN_BENCH_THREADS", os.cpu_count() or 1))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
        os.environ[var] = str(n)
    # OpenBLAS's idle workers spin for up to 2^28 cycles after each product before they
    # sleep; minigen's own default (see minigen/__init__.py) is 2^24, and the benchmarks
    # run with the same setting.
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "24")
    _threads = n
    # Both libraries allocate through glibc here; keep freed memory in the process for
    # both (see minigen.backend.tune_malloc), as a training script would.
    if tune:
        from minigen.backend import tune_malloc
        tune_malloc()
    return n


def parse_and_pin(doc: str, configure=None):
    """Parse a benchmark's command line (``--threads`` plus what ``configure`` adds), then pin threads."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="threads for both libraries (default: all cores)")
    if configure is not None:
        configure(parser)
    parser.add_argument("--untuned-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    pin_threads(args.threads, tune=not args.untuned_child)
    return args


def untuned_torch_ms(extra_args=()) -> dict:
    """PyTorch's times as its users run it: this script again, in a child process without
    the malloc tuning (mallopt is process-wide), which prints ``{case: ms}`` as its last line."""
    import subprocess
    argv = [sys.executable, sys.argv[0], "--untuned-child", "--threads", str(_threads), *extra_args]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


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


def matmul_gflop(shapes) -> float:
    """GFLOP of the products in ``shapes``: (m, k, n, count) or (m, k, n, count, batch), as for ``numpy_matmul_ms``."""
    total = 0
    for m, k, n, count, *batch in shapes:
        total += 2 * m * k * n * count * (batch[0] if batch else 1)
    return total / 1e9


def numpy_matmul_ms(shapes) -> float:
    """NumPy's time for exactly these float32 products: the floor for any NumPy implementation.

    Each entry is (m, k, n, count): ``count`` products (m, k) @ (k, n), or
    (m, k, n, count, batch): the same on stacks of ``batch`` matrices, as attention's
    per-head products run.
    """
    import numpy as np
    mats = []
    for m, k, n, count, *batch in shapes:
        lead = (batch[0],) if batch and batch[0] > 1 else ()
        mats.append((np.ones(lead + (m, k), np.float32), np.ones(lead + (k, n), np.float32), count))

    def run():
        for a, b, count in mats:
            for _ in range(count):
                a @ b
    return time_fn(run)


def compare(name: str, minigen_fn, torch_fn, **kw) -> dict:
    """Time both, interleaved twice to even out drift; the ratio is minigen / PyTorch."""
    a1, b1 = time_fn(minigen_fn, **kw), time_fn(torch_fn, **kw)
    a2, b2 = time_fn(minigen_fn, **kw), time_fn(torch_fn, **kw)
    ms_mg, ms_th = min(a1, a2), min(b1, b2)
    return {"name": name, "minigen_ms": round(ms_mg, 4), "torch_ms": round(ms_th, 4), "ratio": round(ms_mg / ms_th, 3)}


def paired(name: str, minigen_fn, torch_fn, rounds: int) -> dict:
    """Alternate one call of each for ``rounds`` rounds (the order flipping each round); the
    ratio is the median of the per-round ratios, which a slow spell shifts far less than
    two medians taken a few seconds apart."""
    import numpy as np
    for _ in range(3):
        minigen_fn(), torch_fn()
    times = np.zeros((rounds, 2))
    for r in range(rounds):
        for j in ((0, 1) if r % 2 else (1, 0)):
            t0 = time.perf_counter()
            (minigen_fn, torch_fn)[j]()
            times[r, j] = time.perf_counter() - t0
    ratios = times[:, 0] / times[:, 1]
    return {"name": name + f" (paired, {rounds} rounds)", "minigen_ms": round(1e3 * float(np.median(times[:, 0])), 4),
            "torch_ms": round(1e3 * float(np.median(times[:, 1])), 4), "ratio": round(float(np.median(ratios)), 3),
            "ratio_q25": round(float(np.quantile(ratios, 0.25)), 3), "ratio_q75": round(float(np.quantile(ratios, 0.75)), 3)}


def machine() -> dict:
    import numpy as np
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "threads": _threads, "python": platform.python_version(),
            "numpy": np.__version__, "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
            "openblas_thread_timeout": os.environ.get("OPENBLAS_THREAD_TIMEOUT"),
            "openblas_overrides_removed": os.environ.get("MINIGEN_BENCH_UNSET", "")}
    try:
        from threadpoolctl import threadpool_info
        info["blas"] = [{k: lib.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
                        for lib in threadpool_info() if lib.get("user_api") == "blas"]
    except ImportError:
        info["blas"] = "unknown (pip install threadpoolctl)"
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
    print(f"  written to {os.path.relpath(write_result(workload, result))}")
    return result


# --------------------------------------------------------------------------- peak memory
#
# Memory is measured in a fresh process per library, so that neither library's
# allocator state, caches or thread pools count against the other. The parent runs
# ``python <script> --threads N --memory-child <lib> ...``; the script builds what it
# needs (model, optimizer, one batch) and calls ``memory_child(step)``, which prints
# one line of JSON that ``peak_step_memory_mib`` reads back.

def _status_kib(field: str) -> int | None:
    """A ``kB`` field of /proc/self/status (``VmRSS``, ``VmHWM``), or None where there is none."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _maxrss_kib() -> int:
    import resource
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak       # bytes on macOS, kB on Linux


def step_memory(step, steps: int = 3) -> dict:
    """The peak resident memory that ``steps`` calls of ``step()`` add to what the process holds now.

    Takes the RSS just before the first call, resets the kernel's high-water mark
    (``/proc/self/clear_refs`` = 5 resets ``VmHWM`` to the current RSS on Linux),
    runs the steps and reads ``VmHWM`` back. Where the reset is not allowed, it falls
    back to ``ru_maxrss``, the peak since the process started: then a transient peak
    from before the steps (imports, building the model) can hide a smaller one during
    them, and the figure is a lower bound.
    """
    import gc
    gc.collect()
    before = _status_kib("VmRSS")
    method = "VmHWM after clear_refs"
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        if before is None or _status_kib("VmHWM") is None:
            raise OSError("no /proc/self/status")
    except OSError:
        method = "ru_maxrss"
        before = before if before is not None else _maxrss_kib()
    for _ in range(steps):
        step()
    peak = _status_kib("VmHWM") if method != "ru_maxrss" else _maxrss_kib()
    return {"peak_mib": round((peak - before) / 1024, 2), "rss_before_mib": round(before / 1024, 2),
            "steps": steps, "method": method}


def memory_child(step, steps: int = 3, warmup=None) -> None:
    """The child's side of ``peak_step_memory_mib``: measure ``step`` and print the result as JSON.

    ``warmup``, if given, runs first: say one step of a toy-sized model of the same
    library. A library's first step faults in its code pages (file-backed, but counted
    in RSS) and does its lazy set-up; in PyTorch that is some 50 MiB, which is not
    memory that the step's data needs. A toy model leaves almost nothing behind.
    """
    if warmup is not None:
        warmup()
    print(json.dumps(step_memory(step, steps)), flush=True)


def peak_step_memory_mib(script: str, lib: str, args=(), *, detail: bool = False):
    """Peak MiB that a training step of ``lib`` adds on top of the loaded model, in a fresh process.

    Runs ``python script --threads N --memory-child lib *args`` (the same thread count
    as this process) and reads the JSON line that the child's ``memory_child`` prints.
    Returns ``peak_mib``, or with ``detail`` the child's whole result.
    """
    import subprocess
    cmd = [sys.executable, os.path.abspath(script), "--threads", str(_threads or os.cpu_count() or 1),
           "--memory-child", lib, *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"memory child failed ({' '.join(cmd)}), exit {proc.returncode}:\n{proc.stderr[-2000:]}")
    result = json.loads(lines[-1])
    return result if detail else result["peak_mib"]


def memory_table(rows: list[dict]) -> None:
    """Print the ``minigen_peak_mib`` / ``torch_peak_mib`` / ``mem_ratio`` columns of ``rows``."""
    print(f"\n  {'peak memory a step adds':<38} {'minigen MiB':>11} {'torch MiB':>10} {'ratio':>7}")
    for r in rows:
        ratio = "-" if r.get("mem_ratio") is None else f"{r['mem_ratio']:.2f}"
        print(f"  {r['name']:<38} {r['minigen_peak_mib']:>11.1f} {r['torch_peak_mib']:>10.1f} {ratio:>7}")
