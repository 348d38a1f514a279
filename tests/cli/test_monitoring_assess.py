"""`gep assess` on two small GEP runs: indicators, scores, GEP-growth payments, report, manifest, replay; bad runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gep.audit.replay import replay


@pytest.fixture(scope="module")
def runs(tmp_path_factory, gep, kit, monitoring_files) -> Path:
    tmp = tmp_path_factory.mktemp("assess")
    s22 = kit.scenario(tmp, name="kit")
    s20 = tmp / "kit2020.toml"
    s20.write_text(s22.read_text().replace("year = 2022", "year = 2020")
                   + '\n[[changes]]\nop = "input"\ninput = "precipitation"\nscale = 0.9\nnote = "a drier 2020"\n', encoding="utf-8")
    gep.json("run", s20, "--out", tmp / "r2020")
    gep.json("run", s22, "--out", tmp / "r2022")
    m = monitoring_files
    m.write_series(tmp / "series.csv", m.monthly("S1", 2022, {"NH3-N": 0.4}) + m.monthly("S2", 2022, {"NH3-N": 1.6}))
    (tmp / "sections.csv").write_text("section,zone\nS1,1\nS2,2\n", encoding="utf-8")
    (tmp / "targets.toml").write_text("""
[assessment]
name = "kit-towns"
year = 2022
base_year = 2020

[indicators.gep_growth]
weight = 50
target = 0.01

[indicators.forest_cover]
weight = 30
target = 0.3

[indicators.water_class]
weight = 20
target = "III"
monitoring = "series.csv"
sections = "sections.csv"

[purchase]
share = 0.1
min_score = 50
""", encoding="utf-8")
    return tmp


def test_assess_scores_purchase_report_and_replay(gep, runs):
    doc = gep.json("assess", runs / "targets.toml", "--runs", runs / "r2020", "--runs", runs / "r2022", "--out", runs / "out")
    sc = {r["zone"]: r for r in doc["scores"]}
    # forest cover: zone 1 has 8 forest cells (211, 212) of 18, zone 2 none (the kit's land cover, tests/conftest.py)
    assert sc[1]["value_forest_cover"] == pytest.approx(8 / 18) and sc[1]["points_forest_cover"] == pytest.approx(30.0)
    assert sc[2]["value_forest_cover"] == 0.0 and sc[2]["points_forest_cover"] == 0.0
    # water: S1 NH3-N 0.4 is class II (meets III) -> 20; S2 1.6 is class V, two below III -> 20 * max(0, 1 - 2 * 0.5) = 0
    assert sc[1]["value_water_class"] == 2 and sc[1]["points_water_class"] == 20.0 and sc[2]["points_water_class"] == 0.0
    for z in (1, 2):  # the drier 2020 makes GEP grow; the points follow the rule (default floor: target - 0.05)
        g = sc[z]["value_gep_growth"]
        assert g > 0
        assert sc[z]["points_gep_growth"] == pytest.approx(50 * min(1.0, max(0.0, (g - (0.01 - 0.05)) / 0.05)))
        assert sc[z]["score"] == pytest.approx(sc[z]["points_gep_growth"] + sc[z]["points_forest_cover"] + sc[z]["points_water_class"])
    pay = {r["zone"]: r for r in doc["purchase"]}
    for z, r in pay.items():
        assert r["eligible"] == (sc[z]["score"] >= 50)
        assert r["payment_cny"] == pytest.approx(0.1 * r["increase_cny"] if r["eligible"] else 0.0)
    out = runs / "out"
    for name in ("scores.csv", "indicators.csv", "purchase.csv", "assessment.xlsx", "scores.png", "report.md", "manifest.json"):
        assert (out / name).is_file(), name
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## Ranking" in report and "## GEP-growth payments" in report and "gep's own" in report
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["kind"] == "gep assess" and {"run.2020.account", "run.2022.cells", "monitoring", "targets"} <= set(m["inputs"])
    assert replay(out / "manifest.json").exit_code == 0


def test_assess_bad_runs(gep, runs):
    gep.one_line_error("assess", runs / "targets.toml", "--runs", runs / "r2022", words=("--runs", "no run for 2020"))
    (runs / "empty").mkdir(exist_ok=True)
    gep.one_line_error("assess", runs / "targets.toml", "--runs", runs / "empty", words=("--runs", "is not a run folder"))
    gep.one_line_error("assess", runs / "targets.toml", "--runs", runs / "r2020", "--runs", runs / "r2020", "--runs", runs / "r2022",
                       words=("two runs for 2020",))
