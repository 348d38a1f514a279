"""Every scenario shipped in scenarios/ validates (fast) and runs from the CLI (slow), with the
result its comment header promises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gep.cli import app
from gep.jobs.inputs import scenario as load

ROOT = Path(__file__).resolve().parents[2]
SCEN = ROOT / "scenarios"
GEP_SCENARIOS = sorted(p for p in SCEN.glob("demo*.toml") if "capacity" not in p.name)
runner = CliRunner()


def run_json(*args) -> dict:
    res = runner.invoke(app, [str(a) for a in args] + ["--json"])
    assert res.exit_code == 0, (res.stdout, res.stderr)
    return json.loads(res.stdout)


@pytest.mark.parametrize("path", GEP_SCENARIOS, ids=lambda p: p.name)
def test_shipped_scenario_validates_and_explains_itself(path):
    sc = load(path)
    head = path.read_text(encoding="utf-8").splitlines()[:4]
    assert all(line.startswith("#") for line in head), f"{path.name} needs a comment header"
    assert "gep " in path.read_text(encoding="utf-8").split("[scenario]")[0], "the header shows how to run it"
    assert sc.name


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("shipped")
    return out, run_json("run", SCEN / "demo.toml", "--out", out / "demo")


@pytest.mark.slow
def test_construction_loses_gep(demo):
    out, base = demo
    doc = run_json("compare", out / "demo", SCEN / "demo_cropland_to_construction.toml", "--out", out / "cmp")
    assert doc["delta_gep_cny"] < 0
    assert doc["by_zone"]["Tianmuhu"]["delta_value_cny"] < 0 and doc["by_zone"]["Licheng"]["delta_value_cny"] < 0
    assert all(v in ("ok", "note") for v in doc["checks"].values())
    for name in ("delta_map.png", "waterfall.png", "zones.png", "compare.xlsx", "delta.csv", "delta.parquet"):
        assert (out / "cmp" / name).is_file()


@pytest.mark.slow
def test_forest_target_reaches_35_percent(demo):
    out, base = demo
    doc = run_json("run", SCEN / "demo_forest_35.toml", "--out", out / "forest")
    target = next(c for c in doc["changes"] if c["op"] == "target")
    assert target["share_after"] == pytest.approx(0.35, abs=1e-4) and target["share_before"] < 0.30
    assert doc["services"]["carbon_sequestration"]["quantity"] > base["services"]["carbon_sequestration"]["quantity"]


@pytest.mark.slow
def test_wetland_and_wet_year_and_resample(demo):
    out, base = demo
    wet = run_json("run", SCEN / "demo_wetland_restoration.toml", "--out", out / "wetland")
    assert [c["cells"] > 0 for c in wet["changes"]] == [True, True]
    year = run_json("run", SCEN / "demo_wet_year.toml", "--out", out / "wet")
    assert year["services"]["water_conservation"]["quantity"] > base["services"]["water_conservation"]["quantity"]
    res = run_json("run", SCEN / "demo_resample.toml", "--out", out / "resample")
    assert res["resampled"][0]["method"] == "bilinear"
    assert res["gep_total_cny"] == pytest.approx(base["gep_total_cny"], rel=1e-3)


@pytest.mark.slow
def test_parcels(demo):
    out, base = demo
    site = run_json("run", SCEN / "demo_parcel.toml", "--out", out / "parcel")
    assert 0 < site["gep_total_cny"] < base["gep_total_cny"] and site["parcel"]["polygon_area_ha"] > 1000
    tiles = run_json("run", SCEN / "demo.toml", "--area", SCEN.parent / "gep" / "data" / "demo" / "extra" / "tiles.geojson", "--out", out / "tiles")
    assert tiles["gep_total_cny"] == pytest.approx(base["gep_total_cny"], rel=1e-9)
    assert sum(f["gep_cny"] for f in tiles["parcel"]["features"]) == pytest.approx(base["gep_total_cny"], rel=1e-9)


@pytest.mark.slow
def test_series_and_purchase(demo):
    out, base = demo
    doc = run_json("run", SCEN / "demo_series_2020_2022.toml", "--out", out / "series")
    assert doc["years"] == [2020, 2021, 2022]
    assert doc["totals"][-1]["value_cny"] == pytest.approx(base["gep_total_cny"], rel=1e-12)
    pur = run_json("run", SCEN / "demo_gep_purchase.toml", "--out", out / "purchase")
    assert {p["zone_name"] for p in pur["purchase"]} == {"Tianmuhu", "Shezhu"}
    assert pur["purchase_total_cny"] == pytest.approx(sum(0.05 * max(0, p["increase_cny"]) for p in pur["purchase"]))
