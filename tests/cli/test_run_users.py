"""What a new user meets: every problem at once, impossible and implausible values, output paths
checked first and written whole, readable output, a parcel's own folder, compare refusing
unrelated regions (issue 16)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest


def _run_json(gep, *args):
    result = gep.invoke("run", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --------------------------------------------------------------------------- all problems at once


def test_missing_files_bad_keys_and_missing_inputs_come_in_one_error_with_lines(gep, tiny, tmp_path):
    path = tiny.make(tmp_path, extra_toml='[methods]\nwater_conservation = "budyko"\n[coefficients.overrides]\n"price.carbon" = "-5 CNY/tCO2"\n"price.resevoir_storage" = 1\n')
    text = path.read_text().replace('et = "data/et.tif"', 'et = "data/missing_et.tif"\nprecipitaton = "data/precipitation.tif"')
    path.write_text(text)
    result = gep.invoke("run", path)
    gep.assert_user_error(result, "problems in scenario", "missing_et.tif", "file not found", "unknown input", "did you mean 'precipitation'",
                          "needs input 'et0'", "'awc', or 'depth_to_root_restricting_layer' + 'pawc'", "price.carbon", "impossible",
                          "price.resevoir_storage", "names no coefficient")
    lines = [int(n) for n in __import__("re").findall(r"line (\d+)", result.output)]
    assert len(lines) >= 5  # each problem located in the file


def test_a_constant_in_degrees_celsius_is_accepted(gep, tiny, tmp_path):
    path = tiny.make(tmp_path, extra_toml='[methods]\ncarbon_sequestration = "nep_rh_annual"\n')  # the annual-climate respiration
    text = path.read_text().replace('[tables]', 'temperature = "15.5 degC"\ntemperature_amplitude = "12 delta_degC"\nnpp = "600 gC/(m**2*yr)"\n\n[tables]')
    text = text.replace('enabled = ["provisioning", "water_conservation"]', 'enabled = ["provisioning", "water_conservation", "carbon_sequestration"]')
    path.write_text(text)
    doc = _run_json(gep, path, "--out", tmp_path / "run")
    assert doc["services"]["carbon_sequestration"]["value_cny"] > 0


# --------------------------------------------------------------------------- plausibility


@pytest.mark.parametrize("case, values, words", [
    ("negative precipitation", -100.0, ("precipitation", "outside the physical range [0, 30000] mm/yr", "6 cells")),
    ("precipitation × 1000", 1.2e6, ("precipitation", "physical range", "1.2e+06")),
    ("an inf cell", np.inf, ("precipitation", "infinite")),
])
def test_impossible_inputs_are_errors_naming_file_cells_and_range(gep, tiny, tmp_path, case, values, words):
    p = np.full(tiny.CODES.shape, 1200.0, dtype=np.float32)
    p[0, 0] = values
    if case != "an inf cell":
        p[:] = values
    path = tiny.make(tmp_path, precipitation=p)
    gep.assert_user_error(gep.invoke("run", path, "--out", tmp_path / "run"), *words, "precipitation.tif")
    assert not (tmp_path / "run").exists()


def test_fcover_in_percent_and_npp_of_1e30_are_errors(gep, kit, tmp_path):
    base = kit.scenario(tmp_path)
    d = tmp_path / "data"
    kit.write_tif(d / "fcover.tif", np.full(kit.CODES.shape, 60.0, dtype=np.float32), "dimensionless", nodata=np.nan)
    kit.write_tif(d / "npp.tif", np.full(kit.CODES.shape, 1e30, dtype=np.float32), "gC/(m**2*yr)", nodata=np.nan)
    base.write_text(base.read_text().replace("[inputs]", '[inputs]\nfcover = "data/fcover.tif"'))
    result = gep.invoke("run", base, "--out", tmp_path / "run")
    gep.assert_user_error(result, "2 inputs with impossible values", "fcover", "[0, 1]", "percent", "npp", "[0, 5000]", "36 cells")


def test_impossible_coefficients_are_errors_and_implausible_ones_warnings(gep, tiny, tmp_path):
    bad = tiny.make(tmp_path / "bad", extra_toml='[coefficients.overrides]\n"water_conservation.runoff_coefficient[211]" = "250 percent"\n')
    gep.assert_user_error(gep.invoke("run", bad), "runoff_coefficient[211]", "impossible", "between 0 and 1")
    odd = tiny.make(tmp_path / "odd", extra_toml='[coefficients.overrides]\n"price.carbon" = "500 CNY/tCO2"\n')
    doc = _run_json(gep, odd, "--out", tmp_path / "odd" / "run")
    assert any("price.carbon" in w and "plausible range [40, 62]" in w for w in doc["warnings"])
    manifest = json.loads((tmp_path / "odd" / "run" / "manifest.json").read_text())
    assert manifest["results"]["warnings"] == doc["warnings"]
    shown = gep.invoke("run", odd, "--out", tmp_path / "odd" / "run")
    assert shown.exit_code == 0 and "warning: override 'price.carbon'" in " ".join(shown.output.split())


def test_an_implausible_input_is_a_warning(gep, tiny, tmp_path):
    p = np.full(tiny.CODES.shape, 8000.0, dtype=np.float32)  # possible, but wetter than anywhere in China
    doc = _run_json(gep, tiny.make(tmp_path, precipitation=p), "--out", tmp_path / "run")
    assert any("precipitation" in w and "plausible range [5, 6500]" in w for w in doc["warnings"])
    p = np.full(tiny.CODES.shape, 1200.0, dtype=np.float32)
    p[0, :2] = (8000.0, 2.0)  # one cell too wet, one too dry; the others plausible
    doc = _run_json(gep, tiny.make(tmp_path, precipitation=p), "--out", tmp_path / "run2")
    assert any("precipitation" in w and w.split(": ")[1].startswith("2 cells") and "values from 2 to 8000" in w for w in doc["warnings"]), doc["warnings"]


# --------------------------------------------------------------------------- output paths


def test_out_is_checked_before_computing_and_never_replaces_an_unrelated_folder(gep, tiny, tmp_path):
    path = tiny.make(tmp_path)
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.docx").write_text("precious")
    gep.assert_user_error(gep.invoke("run", path, "--out", mine), "--out", "not a gep output folder")
    assert [p.name for p in mine.iterdir()] == ["chapter1.docx"]
    (tmp_path / "afile").write_text("x")
    gep.assert_user_error(gep.invoke("run", path, "--out", tmp_path / "afile"), "--out", "is a file")
    gep.assert_user_error(gep.invoke("run", path, "--out", tmp_path / "afile" / "sub"), "--out", "is a file")


def test_a_rerun_replaces_the_folder_whole_and_chains_the_manifest(gep, tiny, tmp_path):
    path = tiny.make(tmp_path)
    out = tmp_path / "run"
    _run_json(gep, path, "--out", out)
    first = (out / "manifest.json").read_bytes()
    _run_json(gep, path, "--out", out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["previous_manifest_sha256"] and (out / "manifests" / f"{manifest['previous_manifest_sha256']}.json").read_bytes() == first
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


# --------------------------------------------------------------------------- outputs people use


def test_a_run_writes_maps_report_and_georeferenced_cells(gep, tiny, tmp_path):
    import rasterio
    import xarray as xr

    out = tmp_path / "run"
    _run_json(gep, tiny.make(tmp_path), "--out", out)
    for name in ("report.html", "gep_map.png", "maps/gep_value.tif", "maps/water_conservation.tif", "maps/water_conservation_value.tif"):
        assert (out / name).is_file(), name
    with rasterio.open(out / "maps" / "water_conservation_value.tif") as src:
        assert src.crs.to_epsg() == 32650 and src.transform.c == 640000.0 and src.transform.f == 3500000.0
        assert src.driver == "GTiff" and src.profile.get("tiled") and np.isnan(src.nodata)
        assert src.tags()["units"] == "CNY/yr"
    with rasterio.open(out / "maps" / "gep_value.tif") as src, xr.open_dataset(out / "cells.nc", engine="h5netcdf") as cells:
        inside = cells["cell_area"].values > 0
        np.testing.assert_array_equal(src.read(1), np.where(inside, cells["gep_value"].values, np.float32(np.nan)))  # the map of cells.nc, NaN outside
    with rasterio.open(f"NETCDF:{out / 'cells.nc'}:gep_value") as src:  # what QGIS reads
        assert src.crs.to_epsg() == 32650 and tuple(src.transform)[:6] == (30.0, 0.0, 640000.0, 0.0, -30.0, 3500000.0)
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"report.html", "maps/gep_value.tif", "gep_map.png"} <= set(manifest["outputs"])


def test_a_run_of_one_service_writes_its_value_map_once_as_the_gep_map(gep, tiny, tmp_path):
    import rasterio

    path = tiny.make(tmp_path)
    path.write_text(path.read_text().replace('enabled = ["provisioning", "water_conservation"]', 'enabled = ["water_conservation"]'))
    out = tmp_path / "run"
    _run_json(gep, path, "--out", out)
    one, gep_map = (out / "maps" / "water_conservation_value.tif").read_bytes(), (out / "maps" / "gep_value.tif").read_bytes()
    assert one == gep_map  # compressed once, copied
    with rasterio.open(out / "maps" / "gep_value.tif") as src:
        assert "water_conservation_value.tif" in src.tags()["long_name"] and src.tags()["units"] == "CNY/yr"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["outputs"]["maps/water_conservation_value.tif"] == manifest["outputs"]["maps/gep_value.tif"]
    for name, digest in manifest["outputs"].items():  # hashed as each was written (maps, tables) or at the end: the files' bytes
        assert digest == hashlib.sha256((out / name).read_bytes()).hexdigest(), name
    assert sorted(p.name for p in (out / "maps").iterdir()) == ["gep_value.tif", "water_conservation.tif", "water_conservation_value.tif"]


def test_report_embeds_a_font_with_every_chinese_character_it_shows(gep, tiny, tmp_path):
    import base64
    import io
    import re

    from fontTools.ttLib import TTFont

    out = tmp_path / "run"
    _run_json(gep, tiny.make(tmp_path), "--out", out)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "水源涵养" in html and "北镇" in html and "water_conservation" in html  # Chinese and English names
    font = TTFont(io.BytesIO(base64.b64decode(re.search(r"font/woff;base64,([A-Za-z0-9+/=]+)", html).group(1))))
    text = re.sub(r"<style>.*?</style>|data:[^\"')]+", "", html, flags=re.S)
    shown = set(re.findall(r"[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]", text))
    assert shown and shown <= {chr(c) for c in font.getBestCmap()}


def test_charts_render_chinese_names_without_font_warnings(gep, tiny, tmp_path, recwarn):
    _run_json(gep, tiny.make(tmp_path), "--out", tmp_path / "run")
    assert not [w for w in recwarn if "Glyph" in str(w.message)]


def test_summary_fits_80_columns_with_readable_units_and_money(gep, tiny, tmp_path, monkeypatch):
    from rich.cells import cell_len

    from gep.cli import shell

    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(shell.out, "_console", None)
    result = gep.invoke("run", tiny.make(tmp_path), "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert max(cell_len(line) for line in result.stdout.splitlines()) <= 80
    assert "m³/yr" in result.stdout and "m**3" not in result.stdout
    assert "元" in result.stdout  # 元, 万元 or 亿元 by magnitude
    listed = gep.invoke("services", "list")
    assert max(cell_len(line) for line in listed.stdout.splitlines()) <= 80


def test_json_numbers_carry_no_binary_noise(gep, tiny, tmp_path):
    raw = gep.invoke("run", tiny.make(tmp_path), "--out", tmp_path / "run", "--json").stdout
    assert not __import__("re").search(r"\d\.\d*0000000\d", raw)


# --------------------------------------------------------------------------- parcels and compare


def test_a_parcel_run_has_its_own_folder_and_per_feature_totals(gep, kit, tmp_path):
    import pandas as pd

    base = kit.scenario(tmp_path)
    parcel = kit.lonlat_polygon(tmp_path / "two.geojson", [kit.rect(640000, 3499820, 640090, 3500000), kit.rect(640090, 3499820, 640180, 3500000)], ["west", "east"])
    region = _run_json(gep, base, "--out", tmp_path / "runs" / "region")
    gep.assert_user_error(gep.invoke("run", base, "--area", parcel, "--out", tmp_path / "runs" / "region"), "--out", "whole region", "its own")
    assert json.loads((tmp_path / "runs" / "region" / "manifest.json").read_text())["results"]["gep_total_cny"] == pytest.approx(region["gep_total_cny"])
    doc = _run_json(gep, base, "--area", parcel)
    folder = doc["run_dir"]
    assert "two" in folder and folder != region["run_dir"]
    table = pd.read_csv(f"{folder}/parcels.csv", encoding="utf-8-sig")
    assert list(table["feature"]) == ["west", "east"]
    assert table["gep_cny"].sum() == pytest.approx(doc["gep_total_cny"], rel=1e-9)


def test_compare_refuses_unrelated_regions(gep, tiny, kit, tmp_path):
    a = _run_json(gep, tiny.make(tmp_path / "a"), "--out", tmp_path / "a" / "run")
    other = tiny.make(tmp_path / "b")
    (tmp_path / "b" / "data" / "zones.csv").write_text("zone_id,name\n1,Elsewhere\n2,Faraway\n", encoding="utf-8")
    b = _run_json(gep, other, "--out", tmp_path / "b" / "run")
    result = gep.invoke("compare", a["run_dir"], b["run_dir"], "--out", tmp_path / "cmp")
    gep.assert_user_error(result, "unrelated regions", "share no zone")
    assert not (tmp_path / "cmp").exists()
