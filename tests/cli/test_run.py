"""CLI tests of `gep run` and every input error path.

Each error path must give one line on stderr naming what is wrong and how to
fix it, exit code 2, and no traceback.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tests.cli.hostile import HOSTILE_PLAIN


def test_run_tiny_json_and_outputs(tmp_path, tiny, gep):
    path = tiny.make(tmp_path)
    out = tmp_path / "out"
    result = gep.invoke("run", path, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["gep_total_cny"] > 0 and doc["price_year"] == 2022 and doc["run_dir"] == str(out)
    assert set(doc["categories"]) == {"provisioning", "regulating", "cultural"}
    assert doc["services"]["water_conservation"]["unit"] == "m**3/yr"
    for name in ("account.csv", "account.parquet", "cells.nc", "manifest.json", "value_by_service_zone.png", "components.csv"):
        assert (out / name).is_file(), name
    assert (out / "account.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # BOM for Excel
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["outputs"]) >= {"account.csv", "cells.nc"}
    assert manifest["inputs"]["inputs.precipitation"]["path"] == "data/precipitation.tif"
    assert manifest["scenario"]["path"] == "../tiny.toml"  # relative to the run folder
    assert manifest["previous_manifest_sha256"] is None
    again = gep.invoke("run", path, "--out", out, "--json")
    assert again.exit_code == 0
    chained = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert chained["previous_manifest_sha256"] is not None
    assert chained["results"] == manifest["results"]


def test_run_table_output(tmp_path, tiny, gep):
    result = gep.invoke("run", tiny.make(tmp_path), "--out", tmp_path / "o")
    assert result.exit_code == 0, result.output
    assert "GEP" in result.stdout and "water_conservation" in result.stdout
    assert "computed in memory in blocks of" in result.stdout  # the automatic choice is shown


def test_override_is_recorded_in_manifest(tmp_path, tiny, gep):
    path = tiny.make(tmp_path, extra_toml='[coefficients]\nset = "cn-2022"\n[coefficients.overrides]\n"price.reservoir_storage" = "12 CNY/m**3"\n')
    out = tmp_path / "o"
    assert gep.invoke("run", path, "--out", out, "--json").exit_code == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    (ov,) = manifest["coefficients"]["overrides"]
    assert ov["parameter"] == "price.reservoir_storage" and ov["new"] == 12.0 and ov["old"] == 7.06


def test_unknown_landcover_code(tmp_path, tiny, gep):
    codes = tiny.CODES.copy()
    codes[0, 0] = 99
    result = gep.invoke("run", tiny.make(tmp_path, codes=codes), "--out", tmp_path / "o")
    gep.assert_user_error(result, "99", "not in the legend", "Fix:")


def test_nan_cells_inside_region(tmp_path, tiny, gep):
    p = np.full(tiny.CODES.shape, 1200.0, dtype=np.float32)
    p[1, 2] = np.nan
    result = gep.invoke("run", tiny.make(tmp_path, precipitation=p), "--out", tmp_path / "o")
    gep.assert_user_error(result, "precipitation", "NaN", "row 1, column 2", "Fix:")


def test_grids_that_do_not_align(tmp_path, tiny, gep):
    path = tiny.make(tmp_path)
    tiny.write_tif(tmp_path / "data" / "et.tif", np.full(tiny.CODES.shape, 700.0, dtype=np.float32), "mm/yr", x0=640030.0)
    result = gep.invoke("run", path, "--out", tmp_path / "o")
    gep.assert_user_error(result, "et", "different grid", "land cover", "Fix:")


def test_missing_coefficient(tmp_path, tiny, gep):
    folder = tmp_path / "coef"
    shutil.copytree("gep/data/coefficients/cn-2022", folder)
    csv = folder / "water_conservation.csv"
    csv.write_text("".join(l for l in csv.read_text(encoding="utf-8").splitlines(True) if not l.startswith("water_conservation.reservoir_cost")), encoding="utf-8")
    from gep.io.coefficient_files import write_hashes

    write_hashes(folder)
    path = tiny.make(tmp_path, extra_toml=f'[coefficients]\nset = "{folder.as_posix()}"\n')
    prices = folder / "prices.csv"
    prices.write_text("".join(l for l in prices.read_text(encoding="utf-8").splitlines(True) if not l.startswith("price.reservoir_storage")), encoding="utf-8")
    write_hashes(folder)
    result = gep.invoke("run", path, "--out", tmp_path / "o")
    gep.assert_user_error(result, "price.reservoir_storage", "missing", "Fix:")


def test_wrongly_united_coefficient(tmp_path, tiny, gep):
    path = tiny.make(tmp_path, extra_toml='[coefficients.overrides]\n"price.reservoir_storage" = "6 CNY/kg"\n')
    result = gep.invoke("run", path, "--out", tmp_path / "o")
    gep.assert_user_error(result, "price.reservoir_storage", "Fix:")


def test_edited_coefficient_file_fails_verification(tmp_path, tiny, gep):
    folder = tmp_path / "coef"
    shutil.copytree("gep/data/coefficients/cn-2022", folder)
    with (folder / "prices.csv").open("a", encoding="utf-8") as fh:
        fh.write("\n")
    path = tiny.make(tmp_path, extra_toml=f'[coefficients]\nset = "{folder.as_posix()}"\n')
    gep.assert_user_error(gep.invoke("run", path, "--out", tmp_path / "o"), "prices.csv", "SHA-256")


def test_malformed_toml(tmp_path, tiny, gep):
    path = tiny.make(tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + "\n[broken\n", encoding="utf-8")
    gep.assert_user_error(gep.invoke("run", path), "malformed TOML", "tiny.toml", "line")


def test_unknown_key_suggests_the_nearest(tmp_path, tiny, gep):
    path = tiny.make(tmp_path)
    text = path.read_text(encoding="utf-8").replace("precipitation = ", "precipitaton = ")
    path.write_text(text, encoding="utf-8")
    result = gep.invoke("run", path)
    gep.assert_user_error(result, "precipitaton", "did you mean 'precipitation'", "line")


def test_every_problem_reported_at_once(tmp_path, tiny, gep):
    path = tiny.make(tmp_path, extra_toml='[methods]\nwater_conservation = "budyco"\n[valuaton]\nprice_index = "cpi"\n')
    result = gep.invoke("run", path)
    gep.assert_user_error(result, "2 problems", "budyko", "valuation")


def test_missing_file(tmp_path, tiny, gep):
    path = tiny.make(tmp_path)
    (tmp_path / "data" / "et.tif").unlink()
    gep.assert_user_error(gep.invoke("run", path), "file not found", "et.tif")


def test_missing_input_for_enabled_service(tmp_path, tiny, gep):
    path = tiny.make(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace('enabled = ["provisioning", "water_conservation"]', 'enabled = ["climate_regulation"]'), encoding="utf-8")
    gep.assert_user_error(gep.invoke("run", path, "--out", tmp_path / "o"), "climate_regulation", "et_hot", "[inputs]")


def test_raster_without_unit(tmp_path, tiny, gep):
    path = tiny.make(tmp_path)
    tiny.write_tif(tmp_path / "data" / "et.tif", np.full(tiny.CODES.shape, 700.0, dtype=np.float32), None)
    gep.assert_user_error(gep.invoke("run", path, "--out", tmp_path / "o"), "has no unit", "units")


def test_coefficient_with_a_wrong_unit_in_its_file(tmp_path, tiny, gep):
    folder = tmp_path / "coef"
    shutil.copytree("gep/data/coefficients/cn-2022", folder)
    csv = folder / "water_conservation.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace("water_conservation.runoff_coefficient,211,2.67,percent", "water_conservation.runoff_coefficient,211,2.67,mm"), encoding="utf-8")
    from gep.io.coefficient_files import write_hashes

    write_hashes(folder)
    path = tiny.make(tmp_path, extra_toml=f'[coefficients]\nset = "{folder.as_posix()}"\n')
    gep.assert_user_error(gep.invoke("run", path, "--out", tmp_path / "o"), "runoff_coefficient", "class 211", "'mm'", "Fix:")


def test_carbon_pool_override_is_recorded(tmp_path, tiny):
    from gep.jobs.inputs import coefficients_for, scenario

    path = tiny.make(tmp_path, extra_toml='[coefficients.overrides]\n"carbon_pools.c_above[211]" = "70 tC/ha"\n')
    coef = coefficients_for(scenario(path))
    row = coef.carbon_pools[coef.carbon_pools["lucode"] == 211].iloc[0]
    assert row["c_above"] == 70.0
    assert coef.overrides[-1].as_dict() == {"parameter": "carbon_pools.c_above", "key": "211", "old": 23.78, "new": 70.0, "unit": "tC/ha"}


def test_hostile_numbers_on_chunks_and_workers(tmp_path, tiny, gep):
    path = tiny.make(tmp_path)
    for option, values in (("--chunks", HOSTILE_PLAIN + ["8"]), ("--workers", HOSTILE_PLAIN + ["0"])):  # 8 < 16 chunks, 0 workers: below the minimum
        for value in values:
            result = gep.invoke("run", path, "--out", tmp_path / "out", option, value)
            gep.assert_user_error(result, option)
            assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_run_does_not_import_dask_distributed(tmp_path, gep):
    """Without a cluster asked for, the demo run (blocks rechunked for cells.nc, account.nc written) leaves
    ``dask.distributed`` unimported: xarray's ``to_netcdf`` and dask's ``rechunk`` would import it to look for a client."""
    lines = gep.at_exit(tmp_path, "'distributed imported:', 'distributed' in sys.modules", "run", "--demo", "--out", tmp_path / "run", "--json")
    assert (tmp_path / "run" / "account.nc").is_file() and (tmp_path / "run" / "cells.nc").is_file()
    assert lines[-1] == "distributed imported: False"
