"""Wall time of grading a class: 100 copies of one lesson's submission, ``minigen grade --class --jobs 2``.

    python benchmarks/bench_grade_class.py [--students 100] [--jobs 2] [--lesson 05]

Each student's folder is the handout of ``minigen assign LESSON`` with the lesson's
reference solution as the lesson file, so every student scores full marks. What is
timed is the whole command an instructor runs, in a fresh process, into a fresh output
folder: each student graded in its own process with the public and hidden checks.
The CPU time of every process of the run is recorded beside the wall time (on a
machine shared with other work, the wall time includes waiting for the cores), and so
is the load average before the run. Results go to ``results/grade_class.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent
sys.path.insert(0, str(HERE))

from harness import machine  # noqa: E402


def make_class(folder: Path, lesson: str, students: int) -> str:
    """``students`` copies of the lesson's reference submission; returns the lesson's file name."""
    handout = folder.parent / "handout"
    subprocess.run([sys.executable, "-m", "minigen", "assign", lesson, "--out", str(handout)], check=True,
                   capture_output=True)
    name = next(p.name for p in handout.glob("[0-9][0-9]_*.py"))
    shutil.copyfile(CHECKOUT / "lessons" / name, handout / name)
    for k in range(students):
        shutil.copytree(handout, folder / f"student{k:03d}")
    return name


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--lesson", default="05")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-grade-class-"))
    try:
        submissions = work / "class"
        name = make_class(submissions, args.lesson, args.students)
        load = os.getloadavg()[0]                 # other work on the machine, which the wall time includes
        cpu = _children_cpu()
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "minigen", "grade", "--class", str(submissions),
                               "--jobs", str(args.jobs)], capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - start
        cpu = _children_cpu() - cpu               # every process of the run: the class, the graders, the workers
        summary = done.stdout.strip().splitlines()[-2]
        score = re.search(r"mean score (\S+);", summary).group(1)
        failed = int(re.search(r"(\d+) failed to run", summary).group(1))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert failed == 0 and score.split("/")[0] == score.split("/")[1], summary
    row = {"name": f"{args.students} copies of {name} (reference solution), --jobs {args.jobs}",
           "students": args.students, "jobs": args.jobs, "wall_s": round(seconds, 2),
           "per_student_s": round(seconds / args.students, 3), "mean_score": score,
           "cpu_s": round(cpu, 2),
           "load_average_1min_before": round(load, 2)}
    print(f"  {row['name']}: {row['wall_s']:.1f} s ({row['per_student_s']:.2f} s per student, "
          f"{row['cpu_s']:.1f} CPU s in all; load average {row['load_average_1min_before']} before)")
    result = {"workload": "grade_class", "machine": machine(), "rows": [row]}
    os.makedirs(HERE / "results", exist_ok=True)
    path = HERE / "results" / "grade_class.json"
    path.with_suffix(".tmp").write_text(json.dumps(result, indent=2) + "\n")
    os.replace(path.with_suffix(".tmp"), path)
    print("  written to benchmarks/results/grade_class.json")


if __name__ == "__main__":
    main()
