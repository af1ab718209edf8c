"""``minigen grade --class SUBMISSIONS``: grade every student's folder into a gradebook.

    python -m minigen grade --class submissions/ --jobs 2      # writes submissions-grades/

The layout of the output is in ``minigen.grading.classroom``'s docstring and in the
command's ``--help``.
"""

from __future__ import annotations

import sys

from .. import grading, rules
from ._checks import check_folder

EPILOG = ("With --class SUBMISSIONS (one folder per student, named by the student's id), every student's folder is "
          "graded as `minigen grade FOLDER` grades it, in its own process, --jobs at a time; a student whose grading "
          "fails to run gets 0 points with a one-line reason. --out DIR (default: SUBMISSIONS-grades beside "
          "SUBMISSIONS) receives gradebook.csv (columns student,lesson,exercise,function,points,max_points,note: one "
          "row per exercise, then one row per student with exercise 'total' and lesson and function empty; note "
          "gives the reason when a student's grading failed), feedback/STUDENT.txt (the report the student would "
          "see) and results/STUDENT.json (the raw results). A second run keeps the results of students whose "
          "folders and settings have not changed since, unless --force.")


def add_arguments(p) -> None:
    """The class options of the ``grade`` parser."""
    p.add_argument("--class", dest="class_dir", metavar="SUBMISSIONS",
                   help="grade a whole class: SUBMISSIONS holds one folder per student (give no DIR)")
    p.add_argument("--jobs", type=int, metavar="N", help="with --class: students graded at once (default: the cores)")
    p.add_argument("--force", action="store_true", help="with --class: grade again students already graded")
    p.add_argument("--out", metavar="DIR", help="with --class: where the gradebook goes (default: SUBMISSIONS-grades)")
    p.epilog = EPILOG


def check_single(args) -> None:
    """Without --class: the class options are mistakes, each one line."""
    for flag, value, given in (("--jobs", args.jobs is not None, args.jobs), ("--force", args.force, "--force"),
                               ("--out", args.out is not None, repr(args.out))):
        rules.require(not value, "", flag, "given only with --class SUBMISSIONS", given)


def run(args) -> int:
    """Grade the class; print a line per student, then the summary and where the files are.

    ``lessons_cmd.grade_cmd`` has checked --lessons and --timeout, as for one student."""
    rules.require(args.dir is None, "", "DIR", "left out with --class (SUBMISSIONS holds the students' folders)",
                  repr(args.dir))
    rules.require(not args.json, "", "--json", "left out with --class (each student's report is in "
                  "OUT/results/STUDENT.json)", "--json")
    check_folder("--class", args.class_dir)
    check_folder("--out", args.out)
    if args.jobs is not None:
        rules.positive_int("", "--jobs", args.jobs)
    summary = grading.grade_class(args.class_dir, out=args.out, jobs=args.jobs, force=args.force,
                                  lessons=args.lessons, public_only=args.public_only, timeout=args.timeout,
                                  progress=lambda line: print(line, flush=True))
    top = f"/{summary['max_score']:g}" if summary["max_score"] is not None else ""
    print(f"{summary['students']} students ({summary['graded']} graded now, {summary['kept']} kept from an earlier "
          f"run); mean score {summary['mean_score']:.4g}{top}; {summary['failed']} failed to run; "
          f"{summary['seconds']:.1f} s")
    print(f"wrote {summary['out']}: gradebook.csv, feedback/, results/")
    if summary["failed"]:
        print(f"minigen grade: note: {summary['failed']} student(s) could not be graded; see the note column of "
              "gradebook.csv", file=sys.stderr)
    return 0
