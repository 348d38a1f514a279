"""CLI tests of the modeller's tools: [[changes]], --area, [series] + [purchase], gep compare,
resampling, geographic grids, and their error paths (exit 2, one stderr line, no traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gep.cli import app

runner = CliRunner()


def run_json(*args) -> dict:
    res = runner.invoke(app, [str(a) for a in args] + ["--json"])
    assert res.exit_code == 0, (res.stdout, res.stderr)
    return json.loads(res.stdout)


def user_error(args, *words) -> str:
    res = runner.invoke(app, [str(a) for a in args])
    assert res.exit_code == 2, (res.exit_code, res.stdout, res.stderr)
    err = res.stderr.strip()
    assert "Traceback" not in res.output and len(err.splitlines()) == 1, err
    text = " ".join(err.split())
    for w in words:
        assert w in text, f"{w!r} not in: {text}"
    return text


@pytest.fixture(scope="module")
def base(tmp_path_factory, kit):
    tmp = tmp_path_factory.mktemp("kit")
    path = kit.scenario(tmp)
    doc = run_json("run", path, "--out", tmp / "runs" / "base")
    return tmp, path, doc


# --------------------------------------------------------------------------- changes


def test_changes_are_applied_recorded_and_reduce_gep(base, kit):
    tmp, _, doc0 = base
    path = kit.scenario(tmp, name="built", extra="""
[[changes]]
op = "protect"
classes = [211]
note = "forest park"

[[changes]]
op = "convert"
from = ["forest"]
to = 51
area_ha = 0.18            # 2 cells of 0.09 ha
near = [51, 52]
""")
    doc = run_json("run", path, "--out", tmp / "runs" / "built")
    ops = doc["changes"]
    assert [c["op"] for c in ops] == ["protect", "convert"]
    assert ops[1]["cells"] == 2 and ops[1]["area_ha"] == pytest.approx(0.18)
    assert doc["gep_total_cny"] < doc0["gep_total_cny"]
    manifest = json.loads((tmp / "runs" / "built" / "manifest.json").read_text(encoding="utf-8"))
    rec = manifest["changes"]["operations"][1]
    assert rec["by_class_ha"] == {"212": pytest.approx(0.18)}  # 211 is protected
    assert {e["input"] for e in manifest["changes"]["inputs_follow_class"]} >= {"et", "npp"}
    # land cover after the change is in cells.nc
    import xarray as xr

    cells = xr.load_dataset(tmp / "runs" / "built" / "cells.nc")
    assert int((cells["landcover"] == 51).sum()) == 3 + 2
    assert float(cells["gep_value"].sum()) == pytest.approx(doc["gep_total_cny"], rel=1e-5)


def test_zero_area_and_a_to_b_to_a_leave_the_account_unchanged(base, kit):
    tmp, _, doc0 = base
    zero = kit.scenario(tmp, name="zero", extra='[[changes]]\nop = "convert"\nfrom = [11]\nto = 51\narea_ha = 0\n')
    back = kit.scenario(tmp, name="back", extra='[[changes]]\nop = "convert"\nfrom = [12]\nto = 31\nupdate_inputs = []\n\n[[changes]]\nop = "convert"\nfrom = [31]\nto = 12\nzones = [2]\nupdate_inputs = []\n')
    for p in (zero, back):
        doc = run_json("run", p, "--out", tmp / "runs" / p.stem)
        assert doc["gep_total_cny"] == pytest.approx(doc0["gep_total_cny"], rel=1e-12)
        assert doc["services"] == doc0["services"]


def test_input_change_a_wetter_year(base, kit):
    tmp, _, doc0 = base
    path = kit.scenario(tmp, name="wet", extra='[[changes]]\nop = "input"\ninput = "precipitation"\nscale = 1.1\n\n[[changes]]\nop = "input"\ninput = "et"\nadd = "0.02 m/yr"\nzones = [1]\n')
    doc = run_json("run", path, "--out", tmp / "runs" / "wet")
    q0 = doc0["services"]["water_conservation"]["quantity"]
    assert doc["services"]["water_conservation"]["quantity"] > q0
    assert doc["changes"][0]["how"] == "× 1.1" and doc["changes"][1]["how"].startswith("+ 0.02 ")
    assert doc["changes"][1]["cells"] == 18


def test_target_share_from_the_cli(base, kit):
    tmp, _, _ = base
    path = kit.scenario(tmp, name="target", extra='[[changes]]\nop = "target"\nclasses = ["forest"]\nshare = 0.5\nfrom = [11, 12, 31]\nto = 213\nby_year = 2030\n')
    (c,) = run_json("run", path, "--out", tmp / "runs" / "target")["changes"]
    assert c["share_before"] == pytest.approx(8 / 36) and c["share_after"] == pytest.approx(18 / 36) and c["cells"] == 10


# --------------------------------------------------------------------------- parcels


def test_parcel_of_the_whole_region_and_tiles(base, kit):
    tmp, path, doc0 = base
    whole = kit.lonlat_polygon(tmp / "whole.geojson", [kit.rect(639900, 3499700, 640300, 3500100)])
    doc = run_json("run", path, "--area", whole, "--out", tmp / "runs" / "whole")
    assert doc["gep_total_cny"] == pytest.approx(doc0["gep_total_cny"], rel=1e-9)
    assert doc["parcel"]["area_in_region_ha"] == pytest.approx(36 * 0.09, rel=1e-9)
    # two tiles split along a line through the middle of column 2 (not on a cell edge)
    tiles = kit.lonlat_polygon(tmp / "tiles.geojson", [kit.rect(639900, 3499700, 640075, 3500100), kit.rect(640075, 3499700, 640300, 3500100)], ["west", "east"])
    doc2 = run_json("run", path, "--area", tiles, "--out", tmp / "runs" / "tiles")
    feats = doc2["parcel"]["features"]
    assert [f["feature"] for f in feats] == ["west", "east"]
    assert sum(f["gep_cny"] for f in feats) == pytest.approx(doc0["gep_total_cny"], rel=1e-9)
    assert feats[0]["area_in_region_ha"] == pytest.approx(75 * 180 / 1e4, rel=1e-4)  # 75 m × 180 m (lon/lat round trip ~ mm)
    manifest = json.loads((tmp / "runs" / "tiles" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["changes"]["parcel"]["sha256"] and manifest["changes"]["parcel"]["path"].endswith("tiles.geojson")
    assert "gdp" not in json.dumps(doc2["zones"])


def test_parcel_of_one_cell_half_covered(base, kit):
    tmp, path, _ = base
    # the forest cell (row 0, column 0), half of it
    p = kit.lonlat_polygon(tmp / "half.geojson", [kit.rect(640000, 3499970, 640015, 3500000)])
    doc = run_json("run", path, "--area", p, "--out", tmp / "runs" / "half")
    assert doc["parcel"]["area_in_region_ha"] == pytest.approx(0.045, rel=1e-5)
    assert doc["services"]["water_conservation"]["quantity"] > 0


def test_parcel_scenario_key(base, kit):
    tmp, _, _ = base
    kit.lonlat_polygon(tmp / "site.geojson", [kit.rect(639990, 3499900, 640080, 3500010)])
    path = kit.scenario(tmp, name="site", region_extra='area = "site.geojson"')
    doc = run_json("run", path, "--out", tmp / "runs" / "site")
    assert doc["parcel"]["cells"] == 12 and list(doc["zones"]) == ["Hill"]  # 3 columns (the third one 2/3 inside) × 4 rows


def test_parcel_errors(base, kit):
    tmp, path, _ = base
    far = kit.lonlat_polygon(tmp / "far.geojson", [kit.rect(700000, 3400000, 700100, 3400100)])
    user_error(["run", path, "--area", far, "--out", tmp / "o"], "does not overlap", "far.geojson")
    (tmp / "bad.geojson").write_text("{not json", encoding="utf-8")
    user_error(["run", path, "--area", tmp / "bad.geojson"], "not valid GeoJSON", "Fix:")
    (tmp / "points.geojson").write_text(json.dumps({"type": "Point", "coordinates": [119.5, 31.6]}), encoding="utf-8")
    user_error(["run", path, "--area", tmp / "points.geojson"], "no Polygon")
    (tmp / "utm.geojson").write_text(json.dumps({"type": "Polygon", "coordinates": [[[640000, 3499900], [640090, 3499900], [640090, 3500000], [640000, 3499900]]]}), encoding="utf-8")
    user_error(["run", path, "--area", tmp / "utm.geojson"], "not longitude/latitude", "crs")
    user_error(["run", path, "--area", tmp / "missing.geojson"], "parcel file not found")


# --------------------------------------------------------------------------- series and purchase


def test_series_growth_and_purchase(base, kit):
    tmp, _, doc0 = base
    path = kit.series(tmp, '\n[purchase]\nzones = [1, 2]\nshare = 0.1\n')
    doc = run_json("run", path, "--out", tmp / "runs" / "series")
    assert doc["series"] and doc["years"] == [2020, 2022] and doc["base_year"] == 2020
    t = {r["year"]: r for r in doc["totals"]}
    assert t[2022]["value_cny"] == pytest.approx(doc0["gep_total_cny"], rel=1e-12)  # the 2022 year is the plain scenario
    assert t[2020]["value_cny"] == pytest.approx(t[2020]["value_cny_comparable"])  # base year: current = comparable
    assert t[2022]["growth_comparable"] == pytest.approx(t[2022]["value_cny_comparable"] / t[2020]["value_cny_comparable"] - 1)
    assert t[2022]["growth_current"] == pytest.approx(t[2022]["value_cny"] / t[2020]["value_cny"] - 1)
    pur = {p["zone"]: p for p in doc["purchase"]}
    for p in pur.values():
        assert p["payment_cny"] == pytest.approx(0.1 * max(0.0, p["gep_to_cny"] - p["gep_from_cny"]))
    assert doc["purchase_total_cny"] == pytest.approx(sum(p["payment_cny"] for p in pur.values()))
    out = tmp / "runs" / "series"
    for name in ("series.csv", "series.parquet", "growth.csv", "purchase.csv", "series.png", "series.xlsx", "manifest.json", "2020/manifest.json", "2022/account.csv"):
        assert (out / name).is_file(), name
    m2020 = json.loads((out / "2020" / "manifest.json").read_text(encoding="utf-8"))
    assert m2020["changes"]["series"] and m2020["changes"]["year"] == 2020
    assert m2020["inputs"]["landcover"]["path"] == "data/landcover_2020.tif"
    assert m2020["changes"]["inputs_follow_landcover"]["cells_differing"] == 2
    top = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert top["kind"] == "gep series" and set(top["years"]) == {"2020", "2022"}
    # a replay of one year re-runs that year
    from gep.audit.manifest import read
    from gep.jobs import run as runner

    again = runner.replay(read(out / "2020"), path, tmp / "again")
    assert again.gep_total_cny == pytest.approx(t[2020]["value_cny"], rel=1e-12)


def test_series_errors(base, kit):
    tmp, _, _ = base
    p = kit.scenario(tmp, name="s1", extra='[series.2020]\n')
    user_error(["run", p], "at least two [series.<year>] tables")
    p = kit.scenario(tmp, name="s2", extra='[series]\nbase_yaer = 2020\n[series.2020]\n[series.2022]\n')
    user_error(["run", p], "base_yaer", "did you mean 'base_year'", "line")
    p = kit.scenario(tmp, name="s3", extra='[series.2020]\nlandcovr = "x.tif"\n[series.2022]\n')
    user_error(["run", p], "[series.2020] landcovr", "did you mean 'landcover'")
    p = kit.scenario(tmp, name="s4", extra='[purchase]\nshare = 0.1\n')
    user_error(["run", p], "needs a multi-year [series]")
    p = kit.scenario(tmp, name="s5", extra='[series.2020]\n[series.2021]\n[purchase]\nshare = 2\nbasis = "real"\n')
    text = user_error(["run", p], "[scenario] year: 2022 is not one of the series years", "share: must be a fraction", "basis")
    assert "3 problems" in text


# --------------------------------------------------------------------------- compare


def test_compare_outputs_and_json(base, kit):
    tmp, path, doc0 = base
    alt = kit.scenario(tmp, name="alt", extra='[[changes]]\nop = "convert"\nfrom = [211, 212]\nto = 52\nfraction = 0.5\n')
    out = tmp / "cmp"
    doc = run_json("compare", path, alt, "--out", out)
    assert doc["delta_gep_cny"] < 0 and doc["delta_gep_cny"] == pytest.approx(doc["alt"]["gep_total_cny"] - doc0["gep_total_cny"])
    assert set(doc["by_service"]) == {"provisioning", "water_conservation", "flood_mitigation", "carbon_sequestration"}
    assert doc["by_service"]["carbon_sequestration"]["delta_quantity"] < 0
    assert sum(v["delta_value_cny"] for v in doc["by_service"].values()) == pytest.approx(doc["delta_gep_cny"])
    assert all(v == "ok" for k, v in doc["checks"].items() if k != "same coefficient overrides"), doc["checks"]
    for name in ("delta.csv", "delta.parquet", "delta_by_service.csv", "delta_by_zone.csv", "compare.xlsx", "waterfall.png", "zones.png", "delta_map.png", "manifest.json", "base/manifest.json", "alt/manifest.json"):
        assert (out / name).is_file(), name
    import pandas as pd
    from openpyxl import load_workbook

    wb = load_workbook(out / "compare.xlsx")
    assert wb.sheetnames == ["README", "inputs", "results", "by_service", "by_zone", "by_category", "checks", "carbon_stock"]
    assert all(ws.freeze_panes == "A2" for ws in wb)
    res = wb["results"]
    header = [c.value for c in res[1]]
    assert header[:4] == ["zone", "zone_name", "category", "service"]
    assert res.cell(row=2, column=header.index("delta_value_cny") + 1).number_format == "#,##0"
    assert res.cell(row=2, column=header.index("delta_pct") + 1).number_format == "0.00%"
    readme = {r[0]: r[1] for r in wb["README"].iter_rows(min_row=2, values_only=True)}
    assert "BASE manifest: coefficients.id" in readme and str(tmp) not in json.dumps(readme)
    kinds = {r[1] for r in wb["inputs"].iter_rows(min_row=2, values_only=True)}
    assert {"input file", "change: convert", "land-cover change"} <= kinds
    parquet = pd.read_parquet(out / "delta.parquet")
    assert parquet["delta_value_cny"].sum() == pytest.approx(doc["delta_gep_cny"])
    # run folders compare like scenarios, with the same tables
    run_json("compare", out / "base", out / "alt", "--out", tmp / "cmp2")
    assert (tmp / "cmp2" / "delta.csv").read_bytes() == (out / "delta.csv").read_bytes()


def test_compare_with_itself_is_zero(base):
    tmp, path, _ = base
    doc = run_json("compare", path, path, "--out", tmp / "self")
    assert doc["delta_gep_cny"] == 0.0
    assert all(v["delta_value_cny"] == 0.0 for v in doc["by_service"].values())
    assert all(v["delta_quantity"] in (0.0, None) for v in doc["by_service"].values())


def test_compare_table_output_and_errors(base):
    tmp, path, _ = base
    res = runner.invoke(app, ["compare", str(path), str(path), "--out", str(tmp / "self2")])
    assert res.exit_code == 0 and "ΔGEP" in res.stdout
    user_error(["compare", path, tmp / "nope.toml", "--out", tmp / "x"], "ALT not found", "nope.toml")
    user_error(["compare", tmp / "nope.toml", path, "--out", tmp / "x"], "BASE not found")
    user_error(["compare", tmp, path, "--out", tmp / "x"], "not a run folder")


# --------------------------------------------------------------------------- schema errors


def test_change_typos_name_the_key_and_line(base, kit):
    tmp, _, _ = base
    p = kit.scenario(tmp, name="typo", extra='\n[[changes]]\nop = "convert"\nfrom = [11]\nto = 51\nare_ha = 3\n')
    text = user_error(["run", p], "[[changes]] #1 are_ha", "did you mean 'area_ha'", "typo.toml, line")
    line = int(text.split("line ")[1].split(":")[0])
    assert p.read_text(encoding="utf-8").splitlines()[line - 1].startswith("are_ha")


def test_every_change_problem_at_once(base, kit):
    tmp, _, _ = base
    p = kit.scenario(tmp, name="many", extra="""
[[changes]]
op = "conver"

[[changes]]
op = "target"
classes = ["forest"]
share = 56
from = [12]
to = 213

[[changes]]
op = "convert"
from = [11]
to = 51
polygon = "missing.geojson"

[execution]
resample = "yes"
""")
    user_error(["run", p], "4 problems", "did you mean 'convert'", "0.56", "missing.geojson", "resample")


def test_unknown_section_and_bad_codes(base, kit):
    tmp, _, _ = base
    p = kit.scenario(tmp, name="sect", extra='[[chnages]]\nop = "convert"\n')
    user_error(["run", p], "chnages", "did you mean 'changes'")
    p = kit.scenario(tmp, name="code", extra='[[changes]]\nop = "convert"\nfrom = [11]\nto = 999\n')
    user_error(["run", p, "--out", tmp / "o"], "to: land-cover code(s) [999] are not in the legend", "line")
    p = kit.scenario(tmp, name="short", extra='[[changes]]\nop = "convert"\nfrom = [12]\nto = 51\narea_ha = 50\n')
    user_error(["run", p, "--out", tmp / "o"], "asks for 50 ha", "allow_shortfall")


# --------------------------------------------------------------------------- real geodata


def test_inputs_on_another_grid_error_or_resample(base, kit):
    tmp, _, doc0 = base

    shifted = tmp / "data" / "et_shifted.tif"
    kit.write_tif(shifted, kit.grid(650.0, kit.CODES, {51: 0.4, 52: 0.5, 43: 1.3, 64: 1.2}), "mm/yr", nodata=np.nan, x0=kit.X0 + 15.0)
    text = kit.scenario(tmp, name="shift").read_text(encoding="utf-8").replace('et = "data/et.tif"', 'et = "data/et_shifted.tif"')
    p = tmp / "shift.toml"
    p.write_text(text, encoding="utf-8")
    user_error(["run", p, "--out", tmp / "o"], "input 'et'", "different grid", "6×6 cells of 30×30 at origin (640015", "resample")
    p2 = tmp / "shift2.toml"
    p2.write_text(text.replace('et = "data/et_shifted.tif"', 'et = { path = "data/et_shifted.tif", resample = "nearest" }'), encoding="utf-8")
    doc = run_json("run", p2, "--out", tmp / "runs" / "shift2")
    assert doc["resampled"][0]["name"] == "input 'et'" and doc["resampled"][0]["method"] == "nearest"
    # nearest on a half-cell shift picks a neighbour: the account is close to, not equal to, the aligned one
    assert doc["gep_total_cny"] == pytest.approx(doc0["gep_total_cny"], rel=0.05)
    p3 = tmp / "shift3.toml"
    p3.write_text(text + '\n[execution]\nresample = true\n', encoding="utf-8")
    doc3 = run_json("run", p3, "--out", tmp / "runs" / "shift3")
    assert doc3["resampled"][0]["method"] == "bilinear"
    bad = _write(tmp / "shift4.toml", text.replace('et = "data/et_shifted.tif"', 'et = { path = "data/et_shifted.tif", resample = "bilinaer" }'))
    user_error(["run", bad], "did you mean 'bilinear'")


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_geographic_grid_end_to_end(tmp_path, kit):
    """A scenario on a WGS 84 lon/lat grid: geodesic cell areas, a lon/lat parcel."""
    import rioxarray  # noqa: F401
    import xarray as xr
    from pyproj import Geod

    d = tmp_path / "data"
    d.mkdir()
    res = 0.0003
    lon0, lat0 = 119.4, 31.3
    ny, nx = kit.CODES.shape

    def tif(name, data, units=None, nodata=None):
        da = xr.DataArray(data, dims=("y", "x"), coords={"y": lat0 - res * (np.arange(ny) + 0.5), "x": lon0 + res * (np.arange(nx) + 0.5)}).rio.write_crs("EPSG:4326")
        if units:
            da.attrs["units"] = units
        if nodata is not None:
            da = da.rio.write_nodata(nodata)
        da.rio.to_raster(d / name)

    kit.write_inputs(d)  # tables, then overwrite every raster on the lon/lat grid
    tif("landcover.tif", kit.CODES, nodata=0)
    tif("zones.tif", kit.ZONES, nodata=0)
    for name, units, v in (("precipitation", "mm/yr", 1200.0), ("et", "mm/yr", 650.0), ("storm_rainfall", "mm/yr", 250.0), ("npp", "gC/(m**2*yr)", 600.0), ("temperature", "degC", 16.0)):
        tif(f"{name}.tif", kit.grid(v), units, np.nan)
    path = kit.scenario(tmp_path, name="geo")
    doc = run_json("run", path, "--out", tmp_path / "o")
    cells = xr.load_dataset(tmp_path / "o" / "cells.nc")
    area = float(cells["cell_area"].sum())
    ref, _ = Geod(ellps="WGS84").polygon_area_perimeter([lon0, lon0 + nx * res, lon0 + nx * res, lon0], [lat0 - ny * res, lat0 - ny * res, lat0, lat0])
    assert area == pytest.approx(abs(ref), rel=1e-7)
    # a lon/lat parcel of the western half (3 columns)
    (tmp_path / "west.geojson").write_text(json.dumps({"type": "Polygon", "coordinates": [[[lon0 - 0.001, lat0 - 0.01], [lon0 + 3 * res, lat0 - 0.01], [lon0 + 3 * res, lat0 + 0.01], [lon0 - 0.001, lat0 + 0.01], [lon0 - 0.001, lat0 - 0.01]]]}), encoding="utf-8")
    west = run_json("run", path, "--area", tmp_path / "west.geojson", "--out", tmp_path / "w")
    assert west["parcel"]["area_in_region_ha"] == pytest.approx(area / 2e4, rel=1e-6)
    assert list(west["zones"]) == ["Hill"] and 0 < west["gep_total_cny"] < doc["gep_total_cny"]


def test_chunked_run_with_changes_and_parcel_equals_in_memory(base, kit):
    from gep.jobs.run import compute, load

    tmp, _, _ = base
    p = kit.scenario(tmp, name="chunky", extra='[[changes]]\nop = "convert"\nfrom = ["forest"]\nto = 51\narea_ha = 0.18\n\n[[changes]]\nop = "input"\ninput = "precipitation"\nscale = 1.1\nzones = [1]\n')
    poly = kit.lonlat_polygon(tmp / "two.geojson", [kit.rect(639900, 3499700, 640075, 3500100), kit.rect(640075, 3499700, 640300, 3500100)])
    a = compute(load(p, area=poly))
    b = compute(load(p, chunks=16, area=poly))
    assert b.account.gep == pytest.approx(a.account.gep, rel=1e-12)
    assert [f["gep_cny"] for f in b.summary()["parcel"]["features"]] == pytest.approx([f["gep_cny"] for f in a.summary()["parcel"]["features"]], rel=1e-12)


def test_replay_of_a_run_with_changes_reproduces(base, kit):
    tmp, _, _ = base
    p = kit.scenario(tmp, name="replayed", extra='[[changes]]\nop = "convert"\nfrom = ["forest"]\nto = 51\nfraction = 0.5\n')
    run_json("run", p, "--out", tmp / "runs" / "replayed")
    res = runner.invoke(app, ["replay", str(tmp / "runs" / "replayed" / "manifest.json"), "--json"])
    assert res.exit_code == 0, (res.stdout, res.stderr)


def test_every_unknown_code_at_once(base, kit):
    tmp, _, _ = base
    p = kit.scenario(tmp, name="codes", extra='[[changes]]\nop = "convert"\nfrom = [11, 77]\nto = 999\n\n[[changes]]\nop = "protect"\nclasses = [5]\n')
    user_error(["run", p, "--out", tmp / "o"], "#1 (line", "from: land-cover code(s) [77]", "to: land-cover code(s) [999]", "#2 (line", "classes: land-cover code(s) [5]", "gep coefficients show cn-2022")


def test_region_province_selects_the_provincial_tariff_and_a_bad_code_is_a_user_error(base, kit):
    tmp, _, doc0 = base
    zj = run_json("run", kit.scenario(tmp, name="zhejiang", region_extra='province = "33"'), "--out", tmp / "runs" / "zhejiang")
    # the province is recorded (the tariff it selects is hand-tested in test_climate_regulation.py); no
    # service of this scenario uses a provincial row, so GEP is unchanged
    assert zj["province"] == "33" and zj["gep_total_cny"] == pytest.approx(doc0["gep_total_cny"], rel=1e-12)
    assert sum(zj["confidence_share"].values()) == pytest.approx(1.0)
    user_error(["run", kit.scenario(tmp, name="nowhere", region_extra='province = "99"')], "province '99'", "price.electricity", "32")
    user_error(["run", kit.scenario(tmp, name="typo", region_extra='province = "Jiangsu"')], "[region] province", "two-digit")
