"""Grading time of each lesson's reference solution: this checkout against an earlier commit.

    python benchmarks/bench_grade.py --before a8d61a9 [--rounds 5] [--lessons 01 05]

The earlier commit is checked out in a temporary git worktree. Each round grades
every lesson once with each version, the order flipping each round, each time in a
fresh process with that version first on ``sys.path``; what is timed is the
``grade()`` call, which is what an instructor waits for beyond Python's start: the
worker, the checks and the answers. The ratio is the median of the per-round ratios.
Results go to ``results/grade.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent
sys.path.insert(0, str(HERE))

from harness import machine  # noqa: E402

TIMED = """
import sys, time
from minigen.grading import grade
t = time.perf_counter()
report = grade(sys.argv[1], lessons=sys.argv[2])
print(time.perf_counter() - t, report["score"], report["max_score"])
"""


def grade_once(version: Path, folder: Path):
    """Seconds to grade ``folder`` with ``version``'s minigen and its own lessons folder (checks as of then)."""
    env = dict(os.environ, PYTHONPATH=str(version))
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):     # what a user's machine runs: neither is set there
        env.pop(key, None)
    out = subprocess.run([sys.executable, "-c", TIMED, str(folder), str(version / "lessons")], env=env, cwd=folder,
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1]), float(out[2])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the commit to compare with")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--lessons", nargs="*", help="lesson numbers (default: every lesson with exercises)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-grade-"))
    before = work / "before"
    subprocess.run(["git", "-C", str(CHECKOUT), "worktree", "add", "--detach", str(before), args.before],
                   check=True, capture_output=True)
    lessons = CHECKOUT / "lessons"
    names = sorted(p.stem for p in lessons.glob("[0-9][0-9]_*.py")
                   if "BEGIN SOLUTION" in p.read_text() and (not args.lessons or p.stem[:2] in args.lessons))
    rows = []
    try:
        for name in names:
            folder = work / name
            folder.mkdir()
            shutil.copy(lessons / f"{name}.py", folder)
            times = {"before": [], "after": []}
            for r in range(args.rounds):
                for which in (("before", "after") if r % 2 else ("after", "before")):
                    seconds, score, top = grade_once(before if which == "before" else CHECKOUT, folder)
                    assert score == top, f"{name} ({which}) scored {score}/{top}"
                    times[which].append(seconds)
            ratios = [a / b for a, b in zip(times["after"], times["before"])]
            row = {"name": name, "before_s": round(statistics.median(times["before"]), 3),
                   "after_s": round(statistics.median(times["after"]), 3), "ratio": round(statistics.median(ratios), 2)}
            rows.append(row)
            print(f"  {name:<24} before {row['before_s']:6.3f} s   after {row['after_s']:6.3f} s   ratio {row['ratio']:.2f}",
                  flush=True)
    finally:
        subprocess.run(["git", "-C", str(CHECKOUT), "worktree", "remove", "--force", str(before)], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    result = {"workload": "grade", "before": args.before, "machine": machine(), "rows": rows}
    os.makedirs(HERE / "results", exist_ok=True)
    (HERE / "results" / "grade.json").write_text(json.dumps(result, indent=2))
    print("  written to benchmarks/results/grade.json")


if __name__ == "__main__":
    main()
