"""Read a scenario's region: land cover, zones, gridded inputs and tables → Landscape."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
import xarray as xr

from gep.coefficients import Legend, class_index
from gep.errors import GridError, InputError
from gep.io import raster
from gep.io.tables import read_csv
from gep.landscape import Landscape
from gep.scenario import Scenario
from gep.units import affine

ZONE_COLUMNS = ("zone_id", "name")


def read_zone_table(path) -> pd.DataFrame:
    """Zone table: ``zone_id, name`` (+ ``name_zh``, ``gdp [unit]``), sorted by id."""
    df = read_csv(path, ZONE_COLUMNS, "zone table")
    ids = pd.to_numeric(df["zone_id"], errors="coerce")
    if ids.isna().any() or (ids <= 0).any():
        row = int(np.flatnonzero((ids.isna() | (ids <= 0)).to_numpy())[0]) + 2
        raise InputError(f"{path}, line {row}: zone_id must be a positive integer", hint="zone ids match the values of the zones raster")
    if ids.duplicated().any():
        raise InputError(f"{path}: zone_id {int(ids[ids.duplicated()].iloc[0])} appears twice", hint="one row per zone")
    df["zone_id"] = ids.astype(int)
    if "gdp" in df:
        unit = df.attrs["units"].get("gdp", "CNY")
        s, _ = affine(unit, "CNY", f"{path} column gdp")
        df["gdp_cny"] = pd.to_numeric(df["gdp"], errors="coerce") * s
    units = df.attrs["units"]
    df = df.sort_values("zone_id").reset_index(drop=True)
    df.attrs.update(units=units, path=str(path))
    return df


def _check_finite(da: xr.DataArray, inside: np.ndarray, name: str) -> None:
    bad = np.isnan(np.asarray(da.data)) & inside
    n = int(bad.sum())
    if n:
        r, c = np.argwhere(bad)[0]
        raise GridError(
            f"input '{name}' ({da.attrs.get('source', '')}) has {n} NaN/nodata cell(s) inside the region (first at row {r}, column {c})",
            hint="fill the gaps (e.g. interpolate), or set those cells' land cover to nodata if they are outside the region",
        )


def read_landscape(sc: Scenario, legend: Legend, chunks: int | None = None, progress: Callable[[str], None] | None = None) -> Landscape:
    """Read every grid and table of a scenario onto one checked grid."""
    say = progress or (lambda _m: None)
    say("land cover")
    lc = raster.read_codes(sc.landcover, chunks, "land cover")
    idx, present = class_index(legend, lc.values)
    say("zones")
    zr = raster.read_codes(sc.zones, chunks, "zones raster")
    raster.check_aligned(lc, zr, "the land cover", "the zones raster")
    zones = read_zone_table(sc.zone_table)
    zvals = np.asarray(zr.values)
    ids = zones["zone_id"].to_numpy()
    in_raster = np.unique(zvals[zvals > 0])
    unknown = np.setdiff1d(in_raster, ids)
    if unknown.size:
        raise GridError(f"zones raster {sc.zones} holds zone id(s) {unknown[:5].tolist()} that are not in the zone table {sc.zone_table}", hint="add them to the zone table or fix the raster")
    zone_index = np.where(zvals > 0, np.searchsorted(ids, np.where(zvals > 0, zvals, ids[0])), -1)
    inside = (idx >= 0) & (zone_index >= 0)
    idx = np.where(inside, idx, -1).astype(np.int16)
    zone_index = np.where(inside, zone_index, -1).astype(np.int32)
    area = raster.cell_area(lc).where(inside, 0.0).assign_attrs(units="m**2")
    coords = {"y": lc["y"], "x": lc["x"]}
    grid = xr.Dataset(
        {
            "class_index": (("y", "x"), idx),
            "zone_index": (("y", "x"), zone_index),
            "cell_area": area,
        },
        coords=coords,
    )
    spec = raster.spec_of(lc)
    if not spec.geographic and abs(abs(spec.transform[0]) - abs(spec.transform[4])) < 1e-9:
        grid.attrs["cell_size_m"] = abs(spec.transform[0])
    grid.attrs["crs"] = spec.crs
    for name, gi in sorted(sc.inputs.items()):
        say(name)
        if gi.path is not None:
            da = raster.read(gi.path, gi.unit, chunks, f"input '{name}'")
            raster.check_aligned(lc, da, "the land cover", f"input '{name}'")
            _check_finite(da, inside, name)
            data, unit, source = np.where(inside, np.asarray(da.data), 0.0), da.attrs["units"], str(gi.path)
        else:
            data, unit, source = np.full(spec.shape, gi.value), gi.unit, f"constant {gi.value} {gi.unit}"
        grid[name] = (("y", "x"), data, {"units": unit, "source": source})
    tables = {}
    for name, path in sorted(sc.tables.items()):
        say(name)
        tables[name] = read_csv(path, what=f"{name} table")
    ls = Landscape(grid=grid, zones=zones, tables=tables, legend=legend, year=sc.year, codes_present=present)
    ls.sources = {"landcover": str(sc.landcover), "zones": str(sc.zones)}
    return ls
