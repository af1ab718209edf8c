"""``minigen lessons``, ``minigen assign`` and ``minigen grade``: the classroom commands.

    python -m minigen lessons list                  # the numbered lessons
    python -m minigen lessons copy DIR              # copy them out, for a student
    python -m minigen assign 05 --out handout/      # the student version of lesson 05
    python -m minigen grade handout/ [--json]       # grade what comes back, offline
    python -m minigen grade --class submissions/    # a whole class: a gradebook and feedback per student
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from .. import grading, rules
from ..grading import notebooks
from . import grade_class_cmd
from ._checks import check_folder

FORMAT_HELP = ("py (default: jupytext percent files, which run as scripts) or ipynb (notebooks, each exercise in "
               "a code cell of its own; needs jupytext); the checks stay .py")
EPILOG_ASSIGN = ("Each ### BEGIN SOLUTION / ### END SOLUTION region becomes a NotImplementedError stub; the public "
                 "checks go along in DIR/checks, the hidden ones stay with you.")


def add_parsers(sub):
    lessons = sub.add_parser("lessons", help="list the lessons, copy them out, or run one",
                             description="The numbered lessons: list them, copy them to a folder, or run one.")
    lsub = lessons.add_subparsers(dest="lessons_command", metavar="ACTION")
    q = lsub.add_parser("list", help="list the lessons and their exercises")
    q.add_argument("--lessons", metavar="DIR", help="a lessons folder other than minigen's own")
    q.add_argument("--lang", choices=grading.LANGUAGES, default="en", help="the edition: en (English) or zh "
                   "(Simplified Chinese: the same code and checks)")
    q.set_defaults(func=list_cmd)
    q = lsub.add_parser("copy", help="copy the lessons (with solutions) and the public checks to DIR")
    q.add_argument("dir", metavar="DIR")
    q.add_argument("--force", action="store_true", help="overwrite files that exist")
    q.add_argument("--lessons", metavar="DIR", help="a lessons folder other than minigen's own")
    q.add_argument("--lang", choices=grading.LANGUAGES, default="en", help="the edition: en (English) or zh "
                   "(Simplified Chinese: the same code and checks)")
    q.add_argument("--format", default="py", metavar="FMT", help=FORMAT_HELP)
    q.set_defaults(func=copy_cmd)
    q = lsub.add_parser("run", help="run a lesson as a script")
    q.add_argument("lesson", metavar="LESSON", help="a number (05) or a name (lstm)")
    q.add_argument("--quick", action="store_true", help="quick mode: short training (MINIGEN_QUICK=1)")
    q.add_argument("--lessons", metavar="DIR", help="a lessons folder other than minigen's own")
    q.add_argument("--lang", choices=grading.LANGUAGES, default="en", help="the edition: en (English) or zh "
                   "(Simplified Chinese: the same code and checks)")
    q.set_defaults(func=run_cmd)
    lessons.set_defaults(func=lambda args: (lessons.print_help(), 2)[1])

    p = sub.add_parser("assign", help="write the student version of lessons, with their public checks",
                       description="Write the student version of one or more lessons." + " " + EPILOG_ASSIGN)
    p.add_argument("lesson", nargs="+", metavar="LESSON", help="lesson numbers or names, or 'all'")
    p.add_argument("--out", required=True, metavar="DIR", help="the handout folder to write")
    p.add_argument("--force", action="store_true", help="overwrite files that exist in DIR")
    p.add_argument("--lessons", metavar="DIR", help="your own lessons folder (solutions and hidden checks)")
    p.add_argument("--lang", choices=grading.LANGUAGES, default="en", help="the edition: en (English) or zh "
                   "(Simplified Chinese: the same code and checks)")
    p.add_argument("--format", default="py", metavar="FMT", help=FORMAT_HELP)
    p.set_defaults(func=assign_cmd)

    p = sub.add_parser("grade", help="grade a student's folder, or a whole class, offline",
                       description="Grade the lesson files in DIR: points per exercise, with a diagnosis for "
                                   "every failure. Uses the public and hidden checks of the lessons folder, "
                                   "never the checks inside DIR (unless --public-only).")
    p.add_argument("dir", metavar="DIR", nargs="?", help="a student's folder (or give --class SUBMISSIONS)")
    p.add_argument("--json", action="store_true", help="print one JSON object (score, max_score, exercises)")
    p.add_argument("--public-only", action="store_true",
                   help="use only the public checks that came with the handout (what a student can run)")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S",
                   help="time limit per exercise, in seconds (default 30)")
    p.add_argument("--lessons", metavar="DIR", help="your own lessons folder (solutions and hidden checks)")
    grade_class_cmd.add_arguments(p)
    p.set_defaults(func=grade_cmd)


def list_cmd(args):
    check_folder("--lessons", args.lessons)
    for lesson in grading.list_lessons(grading.edition(args.lessons, args.lang)):
        exercises = lesson.exercises()
        extra = f"  ({len(exercises)} exercise{'s' * (len(exercises) != 1)})" if exercises else ""
        print(f"{lesson.number}  {lesson.name + '.py':<28} {lesson.title}{extra}")
    return 0


def copy_cmd(args):
    check_folder("DIR", args.dir)
    check_folder("--lessons", args.lessons)
    fmt = notebooks.check_format("", "--format", args.format)
    written = grading.copy_lessons(args.dir, args.lessons, force=args.force, lang=args.lang, fmt=fmt)
    how = (f"open {written[0].name} in Jupyter" if fmt == "ipynb"
           else f"run a lesson with `python {written[0].name}` or open it as a notebook with jupytext")
    print(f"copied {len(written)} files to {args.dir}; {how}")
    return 0


def run_cmd(args):
    check_folder("--lessons", args.lessons)
    lesson = grading.find_lesson(args.lesson, grading.edition(args.lessons, args.lang))
    env = dict(os.environ)
    if args.quick:
        env["MINIGEN_QUICK"] = "1"
    return subprocess.call([sys.executable, str(lesson.path)], env=env, cwd=lesson.path.parent)


def assign_cmd(args):
    check_folder("--out", args.out)
    check_folder("--lessons", args.lessons)
    fmt = notebooks.check_format("", "--format", args.format)
    written = grading.assign(args.lesson, args.out, args.lessons, force=args.force, lang=args.lang, fmt=fmt)
    for path in written:
        print(path)
    print(f"hand out {args.out}; grade what comes back with `python -m minigen grade {args.out}`")
    return 0


def grade_cmd(args):
    check_folder("--lessons", args.lessons)
    rules.real("", "--timeout", args.timeout, 0, lo_open=True)
    if args.class_dir is not None:
        return grade_class_cmd.run(args)
    grade_class_cmd.check_single(args)
    rules.require(args.dir is not None, "", "DIR", "a student's folder, or --class SUBMISSIONS", "neither")
    check_folder("DIR", args.dir)
    report = grading.grade(args.dir, lessons=args.lessons, public_only=args.public_only, timeout=args.timeout)
    if args.json:
        for note in report["sandbox"]:
            print(f"minigen grade: note: the student's code ran without this safeguard: {note}", file=sys.stderr)
        print(json.dumps(report, indent=2))
    else:
        print(grading.format_report(report, args.dir))
    return 0
