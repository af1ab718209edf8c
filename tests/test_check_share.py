"""benchmarks/check_share.py counts what its docstring says: checks, and nothing else."""

from __future__ import annotations

import ast
import os
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import check_share  # noqa: E402

RULES = check_share.rule_names()


def counted(source: str) -> list[str]:
    """The code lines of ``source`` that the counter calls checks, stripped."""
    source = textwrap.dedent(source)
    tree = ast.parse(source)
    lines = check_share.check_lines(tree, RULES) & check_share.code_lines(source, tree)
    return [source.splitlines()[n - 1].strip() for n in sorted(lines)]


def test_the_rules_that_raise_are_rules_and_the_helpers_are_not():
    assert {"positive_int", "real", "require", "fail", "floating_array", "token_ids", "same_dtype"} <= RULES
    assert not {"describe", "array_of", "is_int", "shape_text"} & RULES


def test_a_rule_call_counts_wherever_it_sits_in_the_statement():
    assert counted("""
        def f(n, ts, x):
            n = rules.positive_int("f", "n", n)
            ts = [rules.real("f", "t", t) for t in ts]
            y = rules.describe(x)
            return n + len(ts)
        """) == ['n = rules.positive_int("f", "n", n)', 'ts = [rules.real("f", "t", t) for t in ts]']


def test_an_if_that_always_raises_counts_whole_with_its_message():
    assert counted("""
        def f(path):
            if not path.exists():
                what = "missing"
                raise FileNotFoundError(f"{path} is {what}")
            return path.read_text()
        """) == ["if not path.exists():", 'what = "missing"', 'raise FileNotFoundError(f"{path} is {what}")']


def test_an_if_that_may_go_on_is_control_flow_and_only_its_rule_calls_count():
    assert counted("""
        def f(mask, procs):
            if mask is not None:
                m = rules.array_of(mask)
                rules.require(m.ndim == 2, "f", "mask", "2-D", m.shape)
                procs.append(m)
            return procs
        """) == ['rules.require(m.ndim == 2, "f", "mask", "2-D", m.shape)']


def test_check_functions_and_asserts_count_and_a_graders_verdict_does_not():
    assert counted("""
        def check_size(n):
            '''A docstring is not code.'''
            # nor is a comment
            if n < 0:
                raise ValueError(f"n must be >= 0, got {n}")
            return n

        def grade(answer):
            assert answer is not None
            if answer != 42:
                raise CheckFailure("wrong answer")
        """) == ["def check_size(n):", "if n < 0:", 'raise ValueError(f"n must be >= 0, got {n}")', "return n",
                 "assert answer is not None"]
