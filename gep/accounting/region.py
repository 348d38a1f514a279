"""Read a scenario's region: land cover, zones, gridded inputs and tables → Landscape."""

from __future__ import annotations

from typing import Callable

import dask.array as dsa
import numpy as np
import pandas as pd
import xarray as xr

from gep.accounting import changes
from gep.accounting.parcels import Parcel
from gep.accounting.changes import ChangeGrid
from gep.accounting.coefficients import Legend, class_index, unique_codes
from gep.errors import GridError, InputError, ScenarioError
from gep.geometry import area_m2, coverage
from gep.io import raster
from gep.io.files import sha256_file
from gep.io.tables import read_csv
from gep.io.vector import read_polygons
from gep.accounting.landscape import Landscape
from gep.accounting.landscape import where as array_where
from gep.accounting.scenario import Scenario
from gep.units import affine, convert

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


def _on_grid(lc: xr.DataArray, da: xr.DataArray, name: str, method: str | None, record: list) -> xr.DataArray:
    """``da`` on the land-cover grid: as is when aligned, resampled when allowed, else a GridError naming both grids."""
    a, b = raster.spec_of(lc), raster.spec_of(da)
    if a.matches(b):
        return da
    if method is None:
        raster.check_aligned(lc, da, "the land cover", name)
    out = raster.resample(da, lc, method, name)
    record.append({"name": name, "from": b.describe(), "to": a.describe(), "method": out.attrs["resampling"]})
    return out


def _grid_for_changes(lc: xr.DataArray, zr: xr.DataArray, zone_ids: np.ndarray, sc: Scenario, ops: list[dict], record: dict) -> ChangeGrid:
    """Codes, zone ids, cell areas, spacing and the mask/polygon fractions the operations name."""
    codes = np.asarray(lc.data.compute() if hasattr(lc.data, "compute") else lc.data).astype(np.int64)
    zvals = np.asarray(zr.data.compute() if hasattr(zr.data, "compute") else zr.data).astype(np.int64)
    zvals = np.where(np.isin(zvals, zone_ids), zvals, 0)
    area = raster.cell_area(lc)
    area = np.asarray(area.data.compute() if hasattr(area.data, "compute") else area.data, dtype=np.float64)
    spec = raster.spec_of(lc)
    dy, dx = raster.spacing_m(lc)
    regions: dict[str, np.ndarray] = {}
    for op in ops:
        for key in ("mask", "polygon"):
            if key not in op or f"{key}:{op[key]}" in regions:
                continue
            path = (sc.folder / op[key]).resolve()
            what = f"{op.get('label', '[[changes]]')} {key}"
            if key == "mask":
                regions[f"mask:{op[key]}"] = raster.read_mask(path, lc, sc.resample, what)
            else:
                polys = read_polygons(path, spec.crs, abs(spec.transform[0]), what)
                regions[f"polygon:{op[key]}"] = coverage(polys.geometry, spec.transform, spec.shape)
            record["files"][f"{key}:{op[key]}"] = sha256_file(path)
    return ChangeGrid(codes, zvals, area, (dy, dx), regions)


def _follow_landcover(sc: Scenario, lc: xr.DataArray, zr: xr.DataArray, ids: np.ndarray, grid: xr.Dataset, legend: Legend, change, record: dict) -> None:
    """Series year: shared inputs were observed on ``sc.inputs_landcover``; cells of another class there take their class's mean."""
    ref = raster.read_codes(sc.inputs_landcover, None, "land cover of the shared inputs")
    raster.check_aligned(lc, ref, "the land cover", f"the land cover of the shared inputs ({sc.inputs_landcover})")
    year_codes = change.original if change is not None else np.asarray(lc.data.compute() if hasattr(lc.data, "compute") else lc.data)
    ref_codes = np.asarray(ref.values).astype(np.int64)
    zvals = np.asarray(zr.data.compute() if hasattr(zr.data, "compute") else zr.data).astype(np.int64)
    zvals = np.where(np.isin(zvals, ids), zvals, 0)
    year_codes = np.asarray(year_codes).astype(np.int64)
    differ = (year_codes != ref_codes) & np.isin(year_codes, legend.codes) & np.isin(ref_codes, legend.codes) & (zvals > 0)
    ch = changes.LandcoverChange(year_codes, np.where(np.isin(ref_codes, legend.codes), ref_codes, year_codes), np.where(differ, 0, -1).astype(np.int32), [], {})
    entries = []
    for name in sc.follow_inputs:
        if name in grid:
            data, entry = changes.follow_class(grid[name].data, ch, zvals, legend, name)
            grid[name] = grid[name].copy(data=data)
            entries.append(entry)
    record["inputs_follow_landcover"] = {"observed_on": _rel(sc.inputs_landcover, sc.folder), "cells_differing": int(differ.sum()), "inputs": entries}


def _rel(path, folder) -> str:
    import os
    from pathlib import Path

    return Path(os.path.relpath(Path(path).resolve(), Path(folder).resolve())).as_posix()


def read_parcel(path, lc: xr.DataArray, folder) -> Parcel:
    """Cell weights of a GeoJSON parcel on the land-cover grid (:mod:`gep.geometry`); path recorded relative to ``folder``."""
    import os
    from pathlib import Path

    path = Path(path)
    spec = raster.spec_of(lc)
    polys = read_polygons(path, spec.crs, abs(spec.transform[0]), "parcel (area)")
    w = coverage(polys.geometry, spec.transform, spec.shape)
    feats = [(name, coverage(g, spec.transform, spec.shape)) for name, g in polys.features] if 1 < len(polys.features) <= MAX_PARCEL_FEATURES else []
    shown = Path(os.path.relpath(path.resolve(), Path(folder).resolve())).as_posix()
    return Parcel(w, shown, sha256_file(path), area_m2(polys.geometry, spec.crs), polys.source_crs, feats)


#: A parcel file with up to this many features also gets one account row per feature.
MAX_PARCEL_FEATURES = 200


def read_landscape(sc: Scenario, legend: Legend, chunks: int | None = None, progress: Callable[[str], None] | None = None, area=None) -> Landscape:  # noqa: C901
    """Read every grid and table of a scenario onto one checked grid, and apply its changes.

    With ``chunks`` every raster is read lazily as dask arrays of
    ``chunks × chunks`` cells; nothing region-sized is held in memory, except
    the land-cover and zone grids when the scenario has land-cover operations
    (the distance transform needs the whole grid).

    Parameters
    ----------
    sc : Scenario
        The loaded scenario (its ``[[changes]]`` are applied in order).
    legend : Legend
        Land-cover legend of the coefficient set.
    chunks : int, optional
        Chunk size of a lazy (dask) read.
    area : path, optional
        GeoJSON parcel whose cell weights are attached as ``Landscape.parcel``
        (default ``[region] area`` of the scenario).
    """
    say = progress or (lambda _m: None)
    parcel_path = area if area is not None else sc.area
    record: dict = {"year": sc.year, "operations": [], "inputs_follow_class": [], "resampled": [], "files": {}, "parcel": None}
    say("land cover")
    lc = raster.read_codes(sc.landcover, chunks, "land cover")
    say("zones")
    zr = raster.read_codes(sc.zones, chunks, "zones raster")
    zr = _on_grid(lc, zr, "the zones raster", "nearest" if sc.resample else None, record["resampled"])
    zones = read_zone_table(sc.zone_table)
    ids = zones["zone_id"].to_numpy()
    lc_ops = [op for op in sc.changes if op["op"] != "input"]
    where_ops = [op for op in sc.changes if any(k in op for k in changes.WHERE_KEYS)]
    grid_c = change = None
    if lc_ops or where_ops:
        say("land-cover changes")
        grid_c = _grid_for_changes(lc, zr, ids, sc, sc.changes, record)
    if lc_ops:
        change = changes.apply_landcover(grid_c, lc_ops, legend, sc.year, where=str(sc.path.name))
        lc = lc.copy(data=changes._like(change.codes, lc.data))
    idx, present = class_index(legend, lc.data)
    zone_index = _zone_index(zr, ids, sc)
    inside = (idx >= 0) & (zone_index >= 0)
    idx = array_where(inside, idx, -1).astype(np.int16)
    zone_index = array_where(inside, zone_index, -1).astype(np.int32)
    cell_area = raster.cell_area(lc)
    cell_area = cell_area.copy(data=array_where(inside, cell_area.data, 0.0)).assign_attrs(units="m**2")
    coords = {"y": lc["y"], "x": lc["x"]}
    grid = xr.Dataset({"class_index": (("y", "x"), idx), "zone_index": (("y", "x"), zone_index), "cell_area": cell_area}, coords=coords)
    spec = raster.spec_of(lc)
    if not spec.geographic and abs(abs(spec.transform[0]) - abs(spec.transform[4])) < 1e-9:
        grid.attrs["cell_size_m"] = abs(spec.transform[0])
    grid.attrs["crs"] = spec.crs
    grid.attrs["transform"] = list(spec.transform[:6])
    for name, gi in sorted(sc.inputs.items()):
        say(name)
        if gi.path is not None:
            da = raster.read(gi.path, gi.unit, chunks, f"input '{name}'")
            method = gi.resample or ("bilinear" if sc.resample else None)
            da = _on_grid(lc, da, f"input '{name}'", method, record["resampled"])
            data, unit, source = da.data, da.attrs["units"], str(gi.path)  # NaN outside the region stays NaN
        else:
            data = dsa.full(spec.shape, gi.value, chunks=chunks) if chunks else np.full(spec.shape, gi.value)
            unit, source = gi.unit, f"constant {gi.value} {gi.unit}"
        grid[name] = (("y", "x"), data, {"units": unit, "source": source})
    if sc.inputs_landcover is not None and sc.follow_inputs:
        _follow_landcover(sc, lc, zr, ids, grid, legend, change, record)
    # land-cover operations first (in order), then the inputs follow the new classes, then input operations (in order)
    log_by_index = {e["index"]: e for e in change.log} if change is not None else {}
    if change is not None:
        wanted: dict[str, list[int]] = {}
        for op_index, names in change.update_inputs.items():
            for name in (names if names is not None else [n for n in changes.CLASS_DEPENDENT_INPUTS if n in sc.inputs and sc.inputs[n].path is not None]):
                if name not in grid:
                    raise ScenarioError(f"{sc.path.name}: {log_by_index[op_index].get('label', '[[changes]]')}: update_inputs names '{name}', which the scenario does not give", hint="add it under [inputs] or remove it from update_inputs")
                wanted.setdefault(name, []).append(op_index)
        for name, op_indices in sorted(wanted.items()):
            data, entry = changes.follow_class(grid[name].data, change, grid_c.zones, legend, name, op_indices)
            grid[name] = grid[name].copy(data=data)
            record["inputs_follow_class"].append(entry)
    for op in sc.changes:
        if op["op"] != "input":
            continue
        name = op["input"]
        where = f"{sc.path.name}: {op.get('label', '[[changes]]')}"
        if name not in grid:
            raise ScenarioError(f"{where}: changes input '{name}', which the scenario does not give", hint=f"add '{name}' under [inputs] first")
        unit = grid[name].attrs["units"]
        sel = changes.select(grid_c, op, where) if any(k in op for k in changes.WHERE_KEYS) else None
        repl = add = None
        if "path" in op:
            path = (sc.folder / op["path"]).resolve()
            da = raster.read(path, op.get("units"), chunks, f"{where} path")
            da = _on_grid(lc, da, f"{where} path", "bilinear" if sc.resample else None, record["resampled"])
            repl = convert(da.data, da.attrs["units"], unit, f"{where} path")
            record["files"][f"path:{op['path']}"] = sha256_file(path)
        elif "value" in op:
            repl = convert(op["value"]["value"], op["value"]["units"], unit, f"{where} value")
        elif "add" in op:
            add = affine(op["add"]["units"], unit, f"{where} add")[0] * op["add"]["value"]
        data = changes.apply_input(grid[name].data, op, sel, repl, add)
        grid[name] = grid[name].copy(data=data)
        entry = {k: v for k, v in op.items()}
        entry["cells"] = int(sel.sum()) if sel is not None else int(np.prod(spec.shape))
        entry["units"] = unit
        entry["how"] = (f"× {op['scale']:g}" if "scale" in op else f"+ {op['add']['value']:g} {op['add']['units']}" if "add" in op
                        else f"← {op['path']}" if "path" in op else f"= {op['value']['value']:g} {op['value']['units']}")
        log_by_index[op["index"]] = entry
    record["operations"] = [log_by_index[i] for i in sorted(log_by_index)]
    for name in sorted(sc.inputs):
        if sc.inputs[name].path is not None or any(op.get("input") == name for op in sc.changes):
            _check_finite(grid[name], inside, name)
    tables = {}
    for name, path in sorted(sc.tables.items()):
        say(name)
        tables[name] = read_csv(path, what=f"{name} table")
    ls = Landscape(grid=grid, zones=zones, tables=tables, legend=legend, year=sc.year, codes_present=present)
    if parcel_path is not None:
        say("parcel")
        ls.parcel = read_parcel(parcel_path, lc, sc.folder)
        inside_area = ls.cell_area.data * changes._like(ls.parcel.weights, ls.cell_area.data)
        covered = inside_area.sum()
        if float(covered.compute() if hasattr(covered, "compute") else covered) <= 0:
            g = raster.spec_of(lc)
            raise InputError(
                f"the parcel {parcel_path} does not overlap the region (no cell of the land cover inside the zones lies in it)",
                hint=f"draw it inside the region's grid ({g.describe()}); GeoJSON coordinates are WGS 84 longitude, latitude",
            )
        record["parcel"] = {"path": ls.parcel.path, "sha256": ls.parcel.sha256, "source_crs": ls.parcel.source_crs, "polygon_area_ha": ls.parcel.area_m2 / 1e4, "method": ls.parcel.method}
    ls.changes = record
    return ls
