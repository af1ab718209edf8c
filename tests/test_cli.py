"""The command line: ``python -m minigen gradcheck`` (the main job until training lands)."""

import subprocess
import sys

from minigen.cli import main


def test_gradcheck_demo_passes_and_catches_the_broken_softmax(capsys):
    assert main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    assert out.count("  ok  ") == 4
    assert "passes -- wrongly" in out
    assert "minigen.gradcheck catches it" in out


def test_fast_mode(capsys):
    assert main(["gradcheck", "--fast", "--seed", "3"]) == 0


def test_a_negative_seed_names_the_flag(capsys):
    assert main(["gradcheck", "--seed", "-1"]) == 1
    assert "--seed must be a non-negative integer, got -1" in capsys.readouterr().err


def test_no_subcommand_prints_help(capsys):
    assert main([]) == 2
    assert "gradcheck" in capsys.readouterr().out


def test_python_dash_m_runs():
    done = subprocess.run([sys.executable, "-m", "minigen", "gradcheck", "--fast"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "catches it" in done.stdout
