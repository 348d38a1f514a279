"""gep reproduces a small InVEST 3.20.2 run from InVEST's own inputs (tests/jobs/data/invest/SOURCE.md):
the carbon stock per watershed and pool, and the annual water yield per watershed and per cell."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401 - registers .rio
import xarray as xr

from gep.jobs import run as runner

CASE = Path(__file__).parent / "data" / "invest"
INVEST = CASE / "invest_output"
#: InVEST computes in float32.
RTOL = 2e-6


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    return runner.run(runner.load(CASE / "scenario.toml"), tmp_path_factory.mktemp("invest") / "run")


def test_carbon_stock_per_watershed_and_pool(written):
    ours = pd.read_csv(written.folder / "carbon_stock.csv", encoding="utf-8-sig").set_index("zone")
    theirs = pd.read_csv(INVEST / "carbon_by_watershed.csv").set_index("ws_id")
    cell_ha = 0.09  # InVEST's c_storage_bas holds t C/ha per 30 m cell
    np.testing.assert_allclose(ours.loc[theirs.index, "total_tc"], theirs["c_storage_sum_t"] * cell_ha, rtol=RTOL)
    total = pd.read_csv(INVEST / "raster_values_summary.csv")["Total"].iloc[0]
    assert ours["total_tc"].sum() == pytest.approx(total, rel=RTOL)
    pools = ours[["c_above_tc", "c_below_tc", "c_soil_tc", "c_dead_tc"]].sum(axis=1)
    np.testing.assert_allclose(pools, ours["total_tc"], rtol=1e-12)
    assert list(ours["zone_name"]) == ["北岭 North-west", "东溪 North-east", "南湖 South-west", "西山 South-east"]


def test_annual_water_yield_per_watershed(written):
    ours = pd.read_csv(written.folder / "water_yield.csv", encoding="utf-8-sig").set_index("zone")
    theirs = pd.read_csv(INVEST / "watershed_results_wyield.csv").set_index("ws_id")
    for mine, invest in (("wyield_mn", "wyield_mn"), ("aet_mn", "AET_mn"), ("pet_mn", "PET_mn")):
        np.testing.assert_allclose(ours.loc[theirs.index, mine], theirs[invest], rtol=RTOL, err_msg=mine)
    # InVEST's wyield_vol counts the watershed polygon's whole area (nodata cells at the mean); gep the cells with data
    polygon_ha = 30 * 30 * 30 * 30 / 1e4  # each watershed: 30 × 30 cells of 30 m
    np.testing.assert_allclose(theirs["wyield_vol"], theirs["wyield_mn"] * polygon_ha * 10, rtol=1e-9)
    np.testing.assert_allclose(ours.loc[theirs.index, "wyield_vol_m3"], theirs["wyield_mn"] * ours.loc[theirs.index, "area_ha"] * 10, rtol=RTOL)


def test_water_yield_per_cell(written):
    cells = xr.open_dataset(written.folder / "cells.nc", engine="h5netcdf")
    with np.errstate(invalid="ignore", divide="ignore"):
        ours = cells["water_yield"].values / cells["cell_area"].values * 1e3  # m³/yr per cell → mm/yr
    theirs = xr.open_dataarray(INVEST / "wyield.tif", engine="rasterio").squeeze("band", drop=True)
    valid = (theirs.values != theirs.rio.nodata) & (cells["cell_area"].values > 0)
    assert valid.sum() > 3500
    np.testing.assert_allclose(ours[valid], theirs.values[valid], rtol=1e-5, atol=1e-3)


def test_gep_service_beside_it_counts_only_conserving_ecosystems(written):
    acc = xr.open_dataset(written.folder / "account.nc", engine="h5netcdf")
    conserved = float(acc["quantity"].sel(service="water_conservation").sum())
    total_yield = pd.read_csv(written.folder / "water_yield.csv", encoding="utf-8-sig")["wyield_vol_m3"].sum()
    assert 0 < conserved < total_yield
