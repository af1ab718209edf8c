"""The READMEs are references: short, without times of day, with figures written from benchmarks/results."""

from __future__ import annotations

import json
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


def test_every_row_reads_its_result(tmp_path, monkeypatch):
    """Minimal results for every workload fill every row (a renamed field fails here, not in a release)."""
    machine = {"cpu": "a CPU", "cores": 2, "date": "2026-01-02",
               "blas": [{"internal_api": "openblas", "architecture": "Zen", "version": "0", "num_threads": 2}]}
    timed = {"minigen_ms": 2.0, "torch_ms": 1.0, "ratio": 2.0, "torch_untuned_ms": 1.5, "ratio_untuned": 1.333,
             "minigen_tokens_per_s": 100, "torch_tokens_per_s": 200, "torch_untuned_tokens_per_s": 150}
    trained = {"val_loss": 1.5, "steps": 1000}
    results = {
        "w1_char_rnn": {"rows": [dict(timed, name="W1 LSTM step"), dict(timed, name="W1 GRU step")]},
        "w3_gpt": {"rows": [dict(timed, name="W3 GPT train step"), dict(timed, name="W3 GPT generation")]},
        "generate_tokens_per_s": {"rows": [dict(timed, name="greedy"), dict(timed, name="sampling")]},
        "w1_train_step": {"rows": [dict(timed, name="W1 LSTM train step", minigen_peak_mib=10.0,
                                        torch_peak_mib=20.0, mem_ratio=0.5)]},
        "autograd_overhead": {"rows": [dict(timed, name="forward + backward", us_per_op_minigen=5.0,
                                            us_per_op_torch=4.0)]},
        "quality": {"results": {"minigen": trained, "torch": trained}},
        "quality_gpt": {"results": {"minigen": trained, "torch": trained}},
        "seq2seq_dates": {"results": {"exact_match": 0.99, "n_test": 1000}},
        "text_vae": {"val_kl_nats_per_sentence": 5.0, "active_units": 12},
        "grade": {"before": "abc", "rows": [{"after_s": 1.0, "before_s": 1.0, "ratio": 1.0}]},
        "check_share": {"share": 0.08, "check_lines": 8, "code_lines": 100, "date": "2026-01-02"},
        "checks_fired": {"statements": 10, "fired": 9, "check_lines": 12, "fired_lines": 11, "date": "2026-01-02"},
        "cold_start": {"val_loss": 1.5, "step": 1000, "cold_nll": 1.1, "warm_nll": 1.0, "cost": 0.1,
                       "date": "2026-01-02"},
        "rollout": {"rows": [dict(timed, name="rollouts: LSTM")]},
        "finetune_lipogram": {"before": {"e_rate": 0.09, "nll_per_char": 1.1, "words_in_corpus": 0.95},
                              "after": {"e_rate": 0.001, "nll_per_char": 1.3, "words_in_corpus": 0.92},
                              "nll_rise": 0.18, "finetune_seconds": 60.0},
        "grade_class": {"rows": [{"wall_s": 37.0, "per_student_s": 0.37}]},
        "distributed": {"speed_two_ranks_over_one": 0.95, "allreduce_share_two_ranks": 0.03},
        "textgan": {"paper": {"MLE": 9.038, "SeqGAN": 8.736},
                    "table": {name: {"nll_oracle": [9.0, 0.1]} for name in ("MLE", "SeqGAN", "Gumbel-GAN")}},
    }
    for name, result in results.items():
        result.setdefault("machine", machine)
        (tmp_path / f"{name}.json").write_text(json.dumps(result))
    monkeypatch.setattr(make_tables, "RESULTS", str(tmp_path))
    table = make_tables.full_table()
    assert "not measured" not in table
    assert "1.33x untuned" in table and "OpenBLAS Zen" in table
