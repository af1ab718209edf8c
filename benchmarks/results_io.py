"""Writing ``benchmarks/results/<name>.json``, the one source of the READMEs' figures (``make_tables.py``)."""

from __future__ import annotations

import json
import os

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def write_result(name: str, result: dict) -> str:
    """Write ``result`` to ``results/<name>.json`` atomically (a killed run leaves the old file); its path."""
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, f"{name}.json")
    with open(path + ".tmp", "w") as f:
        json.dump(result, f, indent=2)
    os.replace(path + ".tmp", path)
    return path
