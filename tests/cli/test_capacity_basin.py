"""`gep capacity basin`: the demo basin, its construction variant, a hand-worked tiny basin, error paths."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from typer.testing import CliRunner

from gep.cli.capacity import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
SCEN = ROOT / "scenarios"


def basin_json(scenario: Path, out: Path) -> dict:
    res = runner.invoke(app, ["basin", str(scenario), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.stderr
    return json.loads(res.stdout)


def fails(args: list[str], *words: str) -> str:
    res = runner.invoke(app, args)
    assert res.exit_code == 2, (res.exit_code, res.stdout, res.stderr)
    err = res.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for w in words:
        assert w in err, err
    return err


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[dict, dict, Path]:
    out = tmp_path_factory.mktemp("basin")
    base = basin_json(SCEN / "demo_capacity.toml", out / "base")
    built = basin_json(SCEN / "demo_capacity_construction.toml", out / "construction")
    return base, built, out


def test_demo_basin_runs(demo):
    base, _, out = demo
    assert set(base["totals"]) == {"COD", "NH3-N", "TP", "TN"}
    for pol, t in base["totals"].items():
        assert t["capacity_t_per_yr"] > 0, pol
        assert t["load_t_per_yr"] > 0, pol
    assert sum(t["issuable_t_per_yr"] for t in base["totals"].values()) > 0
    # 7 river catchments x (COD, NH3-N) + 2 reservoir catchments x (TP, TN)
    assert len(base["catchments"]) == 18
    assert {r["vintage"] for r in base["catchments"]} == {2024}
    # the Daxi TN is over-loaded: reported as a deficit, never clamped away
    daxi_tn = next(r for r in base["catchments"] if r["catchment"] == 4 and r["pollutant"] == "TN")
    assert daxi_tn["deficit_t_per_yr"] > 0 and daxi_tn["issuable_t_per_yr"] == 0 and daxi_tn["model"] == "L4:dillon-lm"
    run = Path(base["run_dir"])
    assert run == out / "base"
    for name in ("capacity.csv", "credits.csv", "credits.parquet", "manifest.json"):
        assert (run / name).is_file()
    assert (run / "credits.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    text = (run / "manifest.json").read_text(encoding="utf-8")
    manifest = json.loads(text)
    assert f'"{ROOT}' not in text  # no absolute path: the scenario is recorded relative to the run folder
    assert not manifest["scenario"]["path"].startswith("/")
    assert set(manifest["outputs"]) == {"capacity.csv", "credits.csv", "credits.parquet"}
    assert {"tables.reaches", "tables.point_sources", "grids.catchments", "grids.landcover", "landcover.scenario"} <= set(manifest["inputs"])
    assert manifest["coefficients"]["export"]["id"] == "export-cn"
    assert manifest["coefficients"]["standards"]["id"] == "gb3838-2002"
    assert "libraries" in manifest["environment"]


def test_construction_raises_loads_and_uses_capacity(demo):
    base, built, _ = demo
    for pol in ("COD", "TP"):
        assert built["totals"][pol]["load_t_per_yr"] > base["totals"][pol]["load_t_per_yr"]
        assert built["totals"][pol]["issuable_t_per_yr"] < base["totals"][pol]["issuable_t_per_yr"]
        # capacity is a property of the water body: unchanged by land cover
        assert built["totals"][pol]["capacity_t_per_yr"] == pytest.approx(base["totals"][pol]["capacity_t_per_yr"])
    total = lambda d: sum(t["issuable_t_per_yr"] for t in d["totals"].values())  # noqa: E731
    assert total(built) < total(base)
    shahe_tp = lambda d: next(r for r in d["catchments"] if r["catchment"] == 5 and r["pollutant"] == "TP")  # noqa: E731
    assert shahe_tp(base)["issuable_t_per_yr"] > 0
    assert shahe_tp(built)["issuable_t_per_yr"] == 0 and shahe_tp(built)["deficit_t_per_yr"] > 0
    assert [c["cells_converted"] > 0 for c in built["landcover_conversions"]] == [True, True]


# --------------------------------------------------------------------------- tiny hand-worked basin

CRS = "EPSG:32650"


def write_tif(path: Path, data: np.ndarray, x0: float = 500000.0, cell: float = 100.0) -> None:
    with rasterio.open(path, "w", driver="GTiff", height=data.shape[0], width=data.shape[1], count=1, dtype="uint16",
                       crs=CRS, transform=from_origin(x0, 3500000.0, cell, cell), nodata=0) as dst:
        dst.write(data.astype("uint16"), 1)


REACHES = """# tiny basin: one zero-dimensional reach in catchment 1
id,catchment,water_body,model,pollutant,class,flow [m**3/s],effluent_flow [m**3/s],upstream [mg/L]
R1,1,river,0d,COD,III,0.001,0,15
R1,1,river,0d,NH3-N,III,0.001,0,1.2
"""
POINTS = """source_id,catchment,pollutant,load,unit
P1,1,COD,10,kg/yr
"""


def tiny(tmp_path: Path, reaches: str = REACHES, catch_x0: float = 500000.0, model_extra: str = "") -> Path:
    # land cover (100 m cells = 1 ha):   catchments:
    #   11 paddy   21 forest               1 1
    #   51 urban   11 paddy                2 1
    write_tif(tmp_path / "lc.tif", np.array([[11, 21], [51, 11]]))
    write_tif(tmp_path / "catch.tif", np.array([[1, 1], [2, 1]]), x0=catch_x0)
    (tmp_path / "reaches.csv").write_text(reaches, encoding="utf-8")
    (tmp_path / "points.csv").write_text(POINTS, encoding="utf-8")
    (tmp_path / "basin.toml").write_text(
        "[scenario]\nname = \"tiny\"\nvintage = 2025\nsafety_margin = 0.1\n"
        "[tables]\nreaches = \"reaches.csv\"\npoint_sources = \"points.csv\"\n"
        "[grids]\ncatchments = \"catch.tif\"\nlandcover = \"lc.tif\"\n" + model_extra,
        encoding="utf-8",
    )
    return tmp_path / "basin.toml"


def test_tiny_basin_hand_numbers(tmp_path):
    out = basin_json(tiny(tmp_path), tmp_path / "run")
    rows = {r["pollutant"]: r for r in out["catchments"]}
    assert set(rows) == {"COD", "NH3-N"} and all(r["catchment"] == 1 and r["vintage"] == 2025 for r in rows.values())
    cod = rows["COD"]
    # export-cn COD [kg/(ha*yr)]: 11 paddy 30, 21 forest 10, 51 urban 150; each cell 1 ha.
    # bincount over catchments: catchment 1 = 30 + 10 + 30 = 70 kg/yr = 0.070 t/yr;
    #                           catchment 2 = 150 kg/yr = 0.150 t/yr (no reach there: unassessed)
    assert cod["nonpoint_load_t_per_yr"] == pytest.approx(0.070, rel=1e-12)
    # point source P1: 10 kg/yr = 0.010 t/yr
    assert cod["point_load_t_per_yr"] == pytest.approx(0.010, rel=1e-12)
    # 0-D, Class III river COD Cs = 20 mg/L: W = 31.536 * (20 - 15) * (0.001 + 0) = 0.15768 t/yr
    assert cod["capacity_t_per_yr"] == pytest.approx(0.15768, rel=1e-12)
    # margin = 0.1 * 0.15768 = 0.015768; remaining = 0.15768 - 0.070 - 0.010 - 0.015768 = 0.061912
    assert cod["margin_t_per_yr"] == pytest.approx(0.015768, rel=1e-12)
    assert cod["remaining_t_per_yr"] == pytest.approx(0.061912, rel=1e-9)
    assert cod["issuable_t_per_yr"] == pytest.approx(0.061912, rel=1e-9)
    assert cod["issuable_kg_per_yr"] == 61  # rounded down to whole kg, never over-issued
    assert cod["deficit_t_per_yr"] == 0 and cod["model"] == "R1:0d"
    nh3 = rows["NH3-N"]
    # NH3-N Cs = 1.0 < C0 = 1.2: W = 31.536 * (1.0 - 1.2) * 0.001 = -0.0063072 t/yr (a deficit, not clamped)
    # loads: 6 + 0.3 + 6 = 12.3 kg/yr = 0.0123 t/yr; margin = 0.1 * max(W, 0) = 0
    # remaining = -0.0063072 - 0.0123 = -0.0186072 -> issuable 0, deficit 0.0186072
    assert nh3["capacity_t_per_yr"] == pytest.approx(-0.0063072, rel=1e-9)
    assert nh3["nonpoint_load_t_per_yr"] == pytest.approx(0.0123, rel=1e-12)
    assert nh3["margin_t_per_yr"] == 0 and nh3["issuable_t_per_yr"] == 0
    assert nh3["deficit_t_per_yr"] == pytest.approx(0.0186072, rel=1e-9)
    unassessed = {(u["catchment"], u["pollutant"], u["source"]): u["load_t_per_yr"] for u in out["unassessed_loads"]}
    assert unassessed[(2, "COD", "non-point")] == pytest.approx(0.150, rel=1e-12)
    assert out["totals"]["COD"]["issuable_t_per_yr"] == pytest.approx(0.061912, rel=1e-9)
    cap = (tmp_path / "run" / "capacity.csv").read_text(encoding="utf-8-sig")
    assert cap.startswith("id,name,catchment") and "GB 3838-2002 class III river" in cap


def test_tiny_basin_conversion(tmp_path):
    # convert every paddy (11) cell of catchment 1 (2 cells) to urban (51):
    # COD of catchment 1 = 150 + 10 + 150 = 310 kg/yr = 0.310 t/yr
    toml = tiny(tmp_path)
    text = toml.read_text(encoding="utf-8").replace("landcover = \"lc.tif\"\n", "")
    text += "[landcover]\npath = \"lc.tif\"\n[[landcover.convert]]\ncatchment = 1\nfrom = [11]\nto = 51\n"
    toml.write_text(text, encoding="utf-8")
    out = basin_json(toml, tmp_path / "run")
    cod = next(r for r in out["catchments"] if r["pollutant"] == "COD")
    assert cod["nonpoint_load_t_per_yr"] == pytest.approx(0.310, rel=1e-12)
    assert out["landcover_conversions"][0]["cells_converted"] == 2


# --------------------------------------------------------------------------- errors


def test_missing_column(tmp_path):
    reaches = REACHES.replace(",flow [m**3/s]", "").replace(",0.001,0,", ",0,")
    fails(["basin", str(tiny(tmp_path, reaches=reaches))], "flow", "0d")


def test_catchment_raster_on_another_grid(tmp_path):
    fails(["basin", str(tiny(tmp_path, catch_x0=600000.0))], "different grid")


def test_unknown_model(tmp_path):
    fails(["basin", str(tiny(tmp_path, reaches=REACHES.replace(",0d,", ",2d-magic,")))], "unknown river model", "2d-magic")


def test_missing_scenario_and_bad_key(tmp_path):
    fails(["basin", str(tmp_path / "nope.toml")], "not found")
    toml = tiny(tmp_path)
    toml.write_text(toml.read_text(encoding="utf-8") + "[output]\nfolder = \"x\"\n", encoding="utf-8")
    fails(["basin", str(toml)], "unknown key")


def test_gep_capacity_scenario_is_the_basin_run(tmp_path):
    import subprocess
    import sys

    from gep.cli import app as gep_app

    res = runner.invoke(gep_app, ["capacity", str(SCEN / "demo_capacity.toml"), "--out", str(tmp_path / "r"), "--json"])
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["run_dir"] == str(tmp_path / "r")
    out = subprocess.run([sys.executable, "-c", "import sys; sys.argv[0] = \"gep\"; from gep.cli import main; main()", "capacity", str(SCEN / "demo_capacity.toml"), "--out", str(tmp_path / "o"), "--json"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["run_dir"] == str(tmp_path / "o")
