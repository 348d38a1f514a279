"""Read a scenario's region: land cover, zones, gridded inputs and tables → Landscape."""

from __future__ import annotations

from typing import Callable

import dask.array as dsa
import numpy as np
import pandas as pd
import xarray as xr

from gep.coefficients import Legend, class_index, unique_codes
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


def _check_finite(da: xr.DataArray, inside, name: str) -> None:
    bad = np.isnan(da.data) & inside
    n = bad.sum()
    n = int(n.compute() if hasattr(n, "compute") else n)
    if n:
        r, c = np.argwhere(np.asarray(bad))[0]
        raise GridError(
            f"input '{name}' ({da.attrs.get('source', '')}) has {n} NaN/nodata cell(s) inside the region (first at row {r}, column {c})",
            hint="fill the gaps (e.g. interpolate), or set those cells' land cover to nodata if they are outside the region",
        )


def _where(cond, a, b):
    if hasattr(cond, "map_blocks") or hasattr(a, "map_blocks"):
        return dsa.where(cond, a, b)
    return np.where(cond, a, b)


def _zone_index(zr: xr.DataArray, ids: np.ndarray, sc: Scenario):
    zvals = zr.data
    in_raster = unique_codes(zvals)
    in_raster = in_raster[in_raster > 0]
    unknown = np.setdiff1d(in_raster, ids)
    if unknown.size:
        raise GridError(f"zones raster {sc.zones} holds zone id(s) {unknown[:5].tolist()} that are not in the zone table {sc.zone_table}", hint="add them to the zone table or fix the raster")

    def block(b: np.ndarray) -> np.ndarray:
        return np.where(b > 0, np.searchsorted(ids, np.where(b > 0, b, ids[0])), -1).astype(np.int32)

    return zvals.map_blocks(block, dtype=np.int32) if hasattr(zvals, "map_blocks") else block(np.asarray(zvals))


def read_landscape(sc: Scenario, legend: Legend, chunks: int | None = None, progress: Callable[[str], None] | None = None) -> Landscape:
    """Read every grid and table of a scenario onto one checked grid.

    With ``chunks`` every raster is read lazily as dask arrays of
    ``chunks × chunks`` cells; nothing region-sized is held in memory.
    """
    say = progress or (lambda _m: None)
    say("land cover")
    lc = raster.read_codes(sc.landcover, chunks, "land cover")
    idx, present = class_index(legend, lc.data)
    say("zones")
    zr = raster.read_codes(sc.zones, chunks, "zones raster")
    raster.check_aligned(lc, zr, "the land cover", "the zones raster")
    zones = read_zone_table(sc.zone_table)
    zone_index = _zone_index(zr, zones["zone_id"].to_numpy(), sc)
    inside = (idx >= 0) & (zone_index >= 0)
    idx = _where(inside, idx, -1).astype(np.int16)
    zone_index = _where(inside, zone_index, -1).astype(np.int32)
    area = raster.cell_area(lc)
    area = area.copy(data=_where(inside, area.data, 0.0)).assign_attrs(units="m**2")
    coords = {"y": lc["y"], "x": lc["x"]}
    grid = xr.Dataset({"class_index": (("y", "x"), idx), "zone_index": (("y", "x"), zone_index), "cell_area": area}, coords=coords)
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
            data, unit, source = da.data, da.attrs["units"], str(gi.path)  # NaN outside the region stays NaN
        else:
            data = dsa.full(spec.shape, gi.value, chunks=chunks) if chunks else np.full(spec.shape, gi.value)
            unit, source = gi.unit, f"constant {gi.value} {gi.unit}"
        grid[name] = (("y", "x"), data, {"units": unit, "source": source})
    tables = {}
    for name, path in sorted(sc.tables.items()):
        say(name)
        tables[name] = read_csv(path, what=f"{name} table")
    ls = Landscape(grid=grid, zones=zones, tables=tables, legend=legend, year=sc.year, codes_present=present)
    ls.sources = {"landcover": str(sc.landcover), "zones": str(sc.zones)}
    return ls
