"""The side-by-side benchmark's data generator (benchmarks/invest_data.py) works from the installed package and gep runs its scenarios."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("model", ["carbon", "awy"])
def test_generated_benchmark_scenarios_run(gep, tmp_path, model):
    data = tmp_path / "data-64"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "invest_data.py"), str(data), "64"], check=True, capture_output=True)
    doc = gep.json("run", data / f"{model}.toml", "--out", tmp_path / "out")
    assert doc["gep_total_cny"] > 0, doc
