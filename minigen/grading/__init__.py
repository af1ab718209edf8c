"""Classroom assignments: strip the solutions out of a lesson, and grade what comes back.

- ``assign(["05"], "handout/")`` writes the student version of lesson 05: each
  ``### BEGIN SOLUTION`` / ``### END SOLUTION`` region becomes a
  ``NotImplementedError`` stub; the public checks go with it, the hidden ones stay.
- ``grade("handout/")`` grades it offline: points per exercise, and on a failure a
  diagnosis naming the function, the wrong gradient and its worst element.
- ``grade_class("submissions/")`` grades one folder per student, in parallel, into
  ``gradebook.csv`` and one feedback file per student.
- Check files are written with ``check``, ``expect_close`` and ``expect_gradients``.

The command line has the same three verbs: ``minigen assign``, ``minigen grade``
and ``minigen lessons``.
"""

from .checks import (
    GRU_GATES, LSTM_GATES, SOFTMAXES, CheckFailure, case, check, expect_autograd_gradients, expect_close,
    expect_close_or_name_the_slip, expect_gradients, expect_no_warnings, expect_true, gate_blocks, kernel_forward,
    load_checks, load_module, public_checks, same_values,
)
from .grader import format_report, grade
from .classroom import grade_class
from .rpc import getattrs, setattrs, tap, walk
from .lessons import LANGUAGES, Lesson, assign, copy_lessons, edition, find_lesson, lessons_dir, list_lessons
from .strip import BEGIN, END, MarkerError, find_exercises, strip_solutions

__all__ = [
    "check", "case", "CheckFailure", "expect_close", "expect_gradients", "expect_autograd_gradients", "expect_true",
    "expect_close_or_name_the_slip", "expect_no_warnings", "same_values", "gate_blocks", "public_checks",
    "load_module", "load_checks", "kernel_forward", "LSTM_GATES", "GRU_GATES", "SOFTMAXES", "walk", "tap", "getattrs",
    "setattrs", "grade", "grade_class", "format_report", "assign", "copy_lessons", "find_lesson", "lessons_dir",
    "list_lessons", "Lesson", "strip_solutions", "find_exercises", "MarkerError", "BEGIN", "END", "edition",
    "LANGUAGES",
]
