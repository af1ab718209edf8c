"""The READMEs are references: short, without times of day, with figures written from benchmarks/results."""

from __future__ import annotations

import os
import re
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import make_tables  # noqa: E402

READMES = [os.path.join(ROOT, "README.md"), os.path.join(ROOT, "benchmarks", "README.md")]


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def test_the_figures_are_the_results():
    assert make_tables.main(["--check"]) == 0, "run python benchmarks/make_tables.py"


@pytest.mark.parametrize("path", READMES, ids=["README.md", "benchmarks/README.md"])
def test_no_times_of_day(path):
    found = re.findall(r"\b\d{1,2}:\d{2}\b(?!:)", read(path))
    assert not found, f"{os.path.relpath(path, ROOT)} gives times of day: {found}"


def test_the_readme_is_short():
    assert len(read(READMES[0]).splitlines()) <= 210


def test_the_readme_keeps_the_two_set_up_commands():
    text = read(READMES[0])
    assert 'pip install -e ".[plot]" && python -m minigen train && python -m minigen sample' in text
    assert 'pip install -e ".[test]" && python -m pytest' in text


def test_a_missing_result_is_not_measured(tmp_path, monkeypatch):
    monkeypatch.setattr(make_tables, "RESULTS", str(tmp_path))
    assert "not measured" in make_tables.full_table()
