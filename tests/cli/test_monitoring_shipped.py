"""The shipped demo monitoring files: every agreement runs on the demo series with the result its header
describes, the targets file validates, the compliance of the demo series runs, every file says it is synthetic."""

from __future__ import annotations

from pathlib import Path

import pytest

from gep.io.files import read_toml
from gep.monitoring.assessment import parse_targets

SCEN = Path(__file__).resolve().parents[2] / "scenarios"
DEMO = SCEN.parent / "gep" / "data" / "demo"
SERIES = DEMO / "monitoring" / "series.csv"
AGREEMENTS = sorted((DEMO / "agreements").glob("*.toml"))


def test_demo_data_say_they_are_synthetic():
    assert "SYNTHETIC" in SERIES.read_text(encoding="utf-8").splitlines()[0]
    assert "SYNTHETIC" in (DEMO / "monitoring" / "README.md").read_text(encoding="utf-8")
    for path in AGREEMENTS + [DEMO / "assessment" / "targets.toml", DEMO / "assessment" / "realised.csv"]:
        head = path.read_text(encoding="utf-8").split("\n[")[0]
        assert "SYNTHETIC" in head or "ILLUSTRATIVE" in head, path.name


@pytest.mark.parametrize("path", AGREEMENTS, ids=lambda p: p.name)
def test_shipped_agreement_runs(gep, tmp_path, path):
    assert "gep compensation" in path.read_text(encoding="utf-8").split("[agreement]")[0], "the header shows how to run it"
    doc = gep.json("compensation", path, "--monitoring", SERIES, "--out", tmp_path / "out")
    assert doc["payments"] and all(p["amount_fen"] >= 0 for p in doc["payments"])
    if path.name == "xinan_round1.toml":  # the synthetic Jiekou series improves on its 2008-2010 baseline: Zhejiang pays each year
        assert [p["period"] for p in doc["payments"]] == ["2012", "2013", "2014"]
        assert all(p["score"] < 1 and p["payer_account"] == "zhejiang" and p["amount_cny"] == 1e8 for p in doc["payments"])


def test_shipped_targets_validate():
    path = DEMO / "assessment" / "targets.toml"
    t = parse_targets(read_toml(path), str(path))
    assert (t.year, t.base_year) == (2022, 2020) and sum(t.weights.values()) == 100 and t.purchase["share"] == 0.05


def test_demo_compliance(gep, tmp_path):
    doc = gep.json("monitoring", "compliance", SERIES, "--sections", DEMO / "monitoring" / "sections.csv", "--from", "2020-01-01",
                   "--to", "2024-12-31", "--out", tmp_path / "c")
    sections = {(r["section"], r["period"]) for r in doc["sections"]}
    assert ("S01", "2024") in sections and ("L05", "2020") in sections
    assert any(g["section"] == "S08" and "2021-07" in g["missing"] for g in doc["gaps"])  # the months left out by generate.py
