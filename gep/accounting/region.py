"""The landscape built in named stages from a scenario's region, read and aligned as plain data.

A :class:`Region` is what :func:`gep.jobs.inputs.read_region` hands the core:
the scenario's files read (lazily, as dask arrays, in a chunked run) and put on
the land-cover grid. :func:`build` turns it into the :class:`Landscape` the
services read, in four stages:

1. **read and align** (done by the job, :mod:`gep.jobs.inputs`): rasters,
   zone table, tables, masks and polygons of the changes, the parcel;
2. **apply changes** (:func:`apply_landcover_changes`, :func:`apply_input_changes`):
   the scenario's land-cover operations in order, then the class-dependent
   inputs follow the new classes, then the input operations;
3. **index** (:func:`index`): land-cover class and zone of every cell, the cells
   inside the region and their area;
4. **check** (:func:`check`): every input inside its physical range (no NaN,
   nodata or inf inside the region; the ranges of the service catalogue), values
   outside the plausible range as warnings, a parcel that overlaps the region.

Each stage records what it did in the changes record that goes into the run
manifest (operations, inputs that followed a class, resampling, files, parcel).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from gep.accounting import changes
from gep.accounting.changes import ChangeGrid, InputChange, LandcoverChange
from gep.accounting.coefficients import Legend, class_index, lookup, unique_codes
from gep.accounting.landscape import Landscape
from gep.accounting.landscape import where as array_where
from gep.accounting.parcels import Parcel
from gep.accounting.scenario import Scenario
from gep.errors import GridError, InputError, ScenarioError
from gep.units import affine, convert


@dataclass(frozen=True)
class Region:
    """A scenario's files, read and on the land-cover grid (stage 1); input to :func:`build`.

    Attributes
    ----------
    landcover : DataArray
        Land-cover codes, dims ``(y, x)`` (nodata 0).
    zones : DataArray
        Zone ids on the land-cover grid (0 outside).
    zone_table : DataFrame
        ``zone_id, name`` (+ ``name_zh``, ``gdp_cny``), sorted by id.
    cell_area : DataArray
        Area of each cell [m²].
    spacing : (float, float)
        Cell size (dy, dx) [m], for distances.
    attrs : dict
        ``crs``, ``transform`` and (square projected cells) ``cell_size_m`` of the grid.
    description : str
        The grid in words (shape, cell size, origin, CRS), for messages.
    inputs : dict of str → DataArray
        Gridded inputs with ``units`` and ``source`` (constants as full arrays).
    where : dict of str → ndarray
        Fraction of each cell inside each mask or polygon of the changes (``"mask:<path>"``).
    replacements : dict of int → DataArray
        Rasters that input operations (``path``) replace an input with, by operation index.
    reference_landcover : DataArray, optional
        The land cover a series' shared inputs were observed on.
    tables : dict of str → DataFrame
        Tabular inputs.
    parcel : Parcel, optional
        The polygon whose account is wanted.
    resampled, files : list, dict
        Inputs resampled onto the grid; SHA-256 of the change files read.
    """

    landcover: xr.DataArray
    zones: xr.DataArray
    zone_table: pd.DataFrame
    cell_area: xr.DataArray
    spacing: tuple[float, float]
    attrs: dict
    description: str
    inputs: dict[str, xr.DataArray]
    where: dict[str, np.ndarray] = field(default_factory=dict)
    replacements: dict[int, xr.DataArray] = field(default_factory=dict)
    reference_landcover: xr.DataArray | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    parcel: Parcel | None = None
    resampled: list = field(default_factory=list)
    files: dict = field(default_factory=dict)


def _numpy(a: Any) -> np.ndarray:
    return np.asarray(a.compute() if hasattr(a, "compute") else a)


def _rel(path: Any, folder: Any) -> str:
    return Path(os.path.relpath(Path(path).resolve(), Path(folder).resolve())).as_posix()


# --------------------------------------------------------------------------- stage 2: changes


def apply_landcover_changes(region: Region, sc: Scenario, legend: Legend) -> tuple[xr.DataArray, ChangeGrid | None, LandcoverChange | None]:
    """The scenario's land-cover operations (convert, target, protect) in order.

    Returns the land cover after them, the grid the operations acted on (None when
    no operation needs it) and the change (None when the land cover is unchanged).
    """
    lc_ops = [op for op in sc.changes if not isinstance(op, InputChange)]
    grid_c = change = None
    if lc_ops or any(op.has_where for op in sc.changes):
        ids = region.zone_table["zone_id"].to_numpy()
        zvals = _numpy(region.zones.data).astype(np.int64)
        zvals = np.where(np.isin(zvals, ids), zvals, 0)
        grid_c = ChangeGrid(_numpy(region.landcover.data).astype(np.int64), zvals, _numpy(region.cell_area.data).astype(np.float64), region.spacing, dict(region.where))
    lc = region.landcover
    if lc_ops:
        change = changes.apply_landcover(grid_c, lc_ops, legend, sc.year, where=str(sc.path.name))
        lc = lc.copy(data=changes._like(change.codes, lc.data))
    return lc, grid_c, change


def follow_landcover(region: Region, sc: Scenario, grid: xr.Dataset, legend: Legend, change: LandcoverChange | None) -> dict:
    """Series year: inputs shared by every year were observed on ``sc.inputs_landcover``; the
    cells whose class differs this year take their class's mean (:func:`gep.accounting.changes.follow_class`)."""
    ids = region.zone_table["zone_id"].to_numpy()
    year_codes = change.original if change is not None else _numpy(region.landcover.data)
    ref_codes = _numpy(region.reference_landcover.values).astype(np.int64)
    zvals = _numpy(region.zones.data).astype(np.int64)
    zvals = np.where(np.isin(zvals, ids), zvals, 0)
    year_codes = np.asarray(year_codes).astype(np.int64)
    differ = (year_codes != ref_codes) & np.isin(year_codes, legend.codes) & np.isin(ref_codes, legend.codes) & (zvals > 0)
    ch = LandcoverChange(year_codes, np.where(np.isin(ref_codes, legend.codes), ref_codes, year_codes), np.where(differ, 0, -1).astype(np.int32), [], {})
    entries = []
    for name in sc.follow_inputs:
        if name in grid:
            data, entry = changes.follow_class(grid[name].data, ch, zvals, legend, name)
            grid[name] = grid[name].copy(data=data)
            entries.append(entry)
    return {"observed_on": _rel(sc.inputs_landcover, sc.folder), "cells_differing": int(differ.sum()), "inputs": entries}


def follow_class(sc: Scenario, grid: xr.Dataset, legend: Legend, change: LandcoverChange, grid_c: ChangeGrid, log_by_index: dict) -> list[dict]:
    """Converted cells take their new class's mean of the class-dependent inputs (``update_inputs``)."""
    wanted: dict[str, list[int]] = {}
    for op_index, names in change.update_inputs.items():
        for name in (names if names is not None else [n for n in changes.CLASS_DEPENDENT_INPUTS if n in sc.inputs and sc.inputs[n].path is not None]):
            if name not in grid:
                raise ScenarioError(f"{sc.path.name}: {log_by_index[op_index].get('label', '[[changes]]')}: update_inputs names '{name}', which the scenario does not give", hint="add it under [inputs] or remove it from update_inputs")
            wanted.setdefault(name, []).append(op_index)
    entries = []
    for name, op_indices in sorted(wanted.items()):
        data, entry = changes.follow_class(grid[name].data, change, grid_c.zones, legend, name, op_indices)
        grid[name] = grid[name].copy(data=data)
        entries.append(entry)
    return entries


def apply_input_changes(region: Region, sc: Scenario, grid: xr.Dataset, grid_c: ChangeGrid | None, log_by_index: dict) -> None:
    """The scenario's input operations in order (scale, add, replace by a raster or a value), logged by index."""
    shape = grid["class_index"].shape
    for op in sc.changes:
        if not isinstance(op, InputChange):
            continue
        name = op.input
        where = f"{sc.path.name}: {op.label or '[[changes]]'}"
        if name not in grid:
            raise ScenarioError(f"{where}: changes input '{name}', which the scenario does not give", hint=f"add '{name}' under [inputs] first")
        unit = grid[name].attrs["units"]
        sel = changes.select(grid_c, op, where) if op.has_where else None
        repl = add = None
        if op.path is not None:
            da = region.replacements[op.index]
            repl = convert(da.data, da.attrs["units"], unit, f"{where} path")
        elif op.value is not None:
            repl = convert(op.value["value"], op.value["units"], unit, f"{where} value")
        elif op.add is not None:
            add = affine(op.add["units"], unit, f"{where} add")[0] * op.add["value"]
        data = changes.apply_input(grid[name].data, op, sel, repl, add)
        grid[name] = grid[name].copy(data=data)
        entry = op.as_dict()
        entry["cells"] = int(sel.sum()) if sel is not None else int(np.prod(shape))
        entry["units"] = unit
        entry["how"] = op.how
        log_by_index[op.index] = entry


# --------------------------------------------------------------------------- stage 3: index


def _zone_index(zr: xr.DataArray, ids: np.ndarray, sc: Scenario, in_raster: np.ndarray):
    """Position of each cell's zone in the zone table (-1 outside); ``in_raster``: the zone ids the raster holds."""
    in_raster = in_raster[in_raster > 0]
    unknown = np.setdiff1d(in_raster, ids)
    if unknown.size:
        raise GridError(f"zones raster {sc.zones} holds zone id(s) {unknown[:5].tolist()} that are not in the zone table {sc.zone_table}", hint="add them to the zone table or fix the raster")
    position = lookup(ids, np.union1d(in_raster, [0]))

    def block(b: np.ndarray) -> np.ndarray:
        return position(np.where(b > 0, b, 0))  # 0 and negative ids: outside (0 is no zone id)

    zvals = zr.data
    return zvals.map_blocks(block, dtype=np.int32) if hasattr(zvals, "map_blocks") else block(np.asarray(zvals))


def index(region: Region, lc: xr.DataArray, legend: Legend, sc: Scenario) -> tuple[xr.Dataset, Any, np.ndarray]:
    """Class and zone of every cell, the cells inside the region (known class, known zone) and their area.

    Returns the grid dataset (``class_index``, ``zone_index``, ``cell_area`` and the
    inputs), the inside mask and the land-cover codes present. On dask grids every
    one of them is computed block by block when needed (nothing region-sized is
    kept), and inputs held as float32 are computed in float64.
    """
    ids = region.zone_table["zone_id"].to_numpy()
    codes, zone_ids = unique_codes(lc.data, region.zones.data)
    idx, present = class_index(legend, lc.data, codes)
    zone_index = _zone_index(region.zones, ids, sc, zone_ids)
    inside = (idx >= 0) & (zone_index >= 0)
    idx = array_where(inside, idx, -1).astype(np.int16)
    zone_index = array_where(inside, zone_index, -1).astype(np.int32)
    cell_area = region.cell_area.copy(data=array_where(inside, region.cell_area.data, 0.0)).assign_attrs(units="m**2")
    grid = xr.Dataset({"class_index": (("y", "x"), idx), "zone_index": (("y", "x"), zone_index), "cell_area": cell_area},
                      coords={"y": lc["y"], "x": lc["x"]}, attrs=dict(region.attrs))
    for name, da in sorted(region.inputs.items()):
        data = da.data.astype(np.float64) if hasattr(da.data, "map_blocks") and da.dtype != np.float64 else da.data
        grid[name] = (("y", "x"), data, {"units": da.attrs["units"], "source": da.attrs["source"]})
    return grid, inside, present


# --------------------------------------------------------------------------- stage 4: check


def _limits(name: str, unit: str, where: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """The physical and plausible ranges of input ``name`` (:data:`gep.accounting.catalogue.RANGES`), in ``unit``.

    NPP given as dry matter (``g/(m**2*yr)``) is compared through the carbon share of dry matter (72/162).
    """
    from gep.accounting.catalogue import INPUTS, RANGES, input_name
    from gep.errors import UnitError
    from gep.units import C_PER_DRY_MATTER

    spec, expected = RANGES[input_name(name)], INPUTS[input_name(name)]
    try:
        scale, offset = affine(expected, unit, where)
    except UnitError:
        if name != "npp":
            raise
        scale, offset = affine("g/(m**2*yr)", unit, where)[0] / C_PER_DRY_MATTER.to("tC/t").magnitude, 0.0
    conv = lambda r: tuple(sorted(v * scale + offset for v in r))  # noqa: E731
    return conv(spec["valid"]), conv(spec["plausible"])


def _cells(n: int, total: int) -> str:
    return f"{n:,} cell{'s' * (n != 1)} ({n / max(total, 1):.2%} of the region)"


def _range_stats(inside, values) -> np.ndarray:
    """One block's cells inside the region, its cells inside where ``values`` is not finite, and the least and
    greatest finite value inside (±inf when none), as one row (:func:`check_values`)."""
    inside, values = np.asarray(inside), np.asarray(values)
    inner = inside & np.isfinite(values)
    n = np.count_nonzero(inside)
    return np.array([[n, n - np.count_nonzero(inner), np.min(values, where=inner, initial=np.inf), np.max(values, where=inner, initial=-np.inf)]])


def _ranges(grid: xr.Dataset, inside: Any, names: list[str]) -> tuple[int, dict[str, tuple[int, float, float]]]:
    """Cells inside the region and, per input of ``names``, (cells inside not finite, least, greatest finite value
    inside): one pass over the cells, one ``dask.compute`` on dask grids (a task per input and block)."""
    if hasattr(inside, "map_blocks"):
        import dask
        import dask.array as dsa

        parts = [dsa.map_blocks(_range_stats, inside, v if hasattr(v, "map_blocks") else dsa.from_array(np.asarray(v), chunks=inside.chunks),
                                chunks=(1, 4), dtype=np.float64) for v in (grid[n].data for n in names)]
        rows = [r.reshape(-1, 4) for r in dask.compute(*parts)]
    else:
        rows = [_range_stats(inside, grid[n].data) for n in names]
    found = {n: (int(r[:, 1].sum()), float(r[:, 2].min()), float(r[:, 3].max())) for n, r in zip(names, rows)}
    total = int(rows[0][:, 0].sum()) if rows else int(np.asarray(inside.sum()))
    return total, found


def check_values(sc: Scenario, grid: xr.Dataset, inside: Any) -> list[str]:
    """Every given input against its physical and plausible range (:data:`gep.accounting.catalogue.RANGES`).

    Cells inside the region that are NaN or nodata, infinite, or outside the physical
    range are errors (one :class:`GridError` listing every input at fault: the file,
    the number of cells, the range and the values found); cells outside the
    plausible range are returned as warnings. One pass over the cells for the least and
    greatest value of every input (:func:`_ranges`), and a second one, counting the cells
    at fault, only over the inputs whose values leave a range (only the implausible cells when
    no value leaves the physical range).
    """
    import dask

    checked = [n for n in sorted(sc.inputs) if n in grid]
    limits = {n: _limits(n, grid[n].attrs["units"], f"input '{n}'") for n in checked}
    total, found = _ranges(grid, inside, checked)
    at_fault = [n for n in checked if found[n][0] or found[n][1] < limits[n][1][0] or found[n][2] > limits[n][1][1]]
    stats = {}
    for name in at_fault:
        (vlo, vhi), (plo, phi) = limits[name]
        v = grid[name].data
        if not found[name][0] and vlo <= found[name][1] and found[name][2] <= vhi:  # only implausible: every cell inside is finite
            stats[name] = dict(nan=0, inf=0, below=0, above=0, first=0, implausible=(inside & ((v < plo) | (v > phi))).sum())
            continue
        finite = np.isfinite(v)
        inner = inside & finite
        impossible = inside & ~(finite & (v >= vlo) & (v <= vhi))
        stats[name] = dict(
            nan=(np.isnan(v) & inside).sum(), inf=(np.isinf(v) & inside).sum(),
            below=(inner & (v < vlo)).sum(), above=(inner & (v > vhi)).sum(),
            implausible=(inner & ((v < plo) | (v > phi))).sum(),
            first=impossible.ravel().argmax(),  # the first impossible cell, in row-major order
        )
    (stats_done,) = dask.compute(stats)
    problems, warnings = [], []
    for name in at_fault:
        st = stats_done[name]
        (vlo, vhi), (plo, phi) = limits[name]
        unit, low, high = grid[name].attrs["units"], found[name][1], found[name][2]
        source = grid[name].attrs.get("source", "")
        row, col = divmod(int(st["first"]), grid[name].shape[-1])
        where = f"input '{name}' ({source})"
        first = f"; first at row {row}, column {col}"
        basis = _basis(name)
        if int(st["nan"]):
            problems.append(f"{where}: {_cells(int(st['nan']), total)} NaN/nodata inside the region{first}")
        if int(st["inf"]):
            problems.append(f"{where}: {_cells(int(st['inf']), total)} infinite (inf) inside the region{first}")
        bad = int(st["below"]) + int(st["above"])
        if bad:
            problems.append(f"{where}: {_cells(bad, total)} outside the physical range [{vlo:g}, {vhi:g}] {unit} "
                            f"(values from {low:.4g} to {high:.4g}{first}; {basis})")
        elif int(st["implausible"]):
            warnings.append(f"{where}: {_cells(int(st['implausible']), total)} outside the plausible range [{plo:g}, {phi:g}] {unit} "
                            f"(values from {low:.4g} to {high:.4g}; {basis})")
    if problems:
        n = len(problems)
        raise GridError(f"{n} input{'s' * (n > 1)} with impossible values: " + " | ".join(problems),
                        hint="check each file's values and unit (the GeoTIFF 'units' tag or the scenario's units = ...); fill gaps, or set cells outside the region to nodata in the land cover")
    return warnings


def _basis(name: str) -> str:
    from gep.accounting.catalogue import RANGES, input_name

    return RANGES[input_name(name)]["basis"]


def check(region: Region, sc: Scenario, grid: xr.Dataset, inside: Any, area: Any = None) -> list[str]:
    """The inputs' values (:func:`check_values`) and a parcel that overlaps the region; returns the warnings."""
    warnings = check_values(sc, grid, inside)
    if region.parcel is not None:
        inside_area = grid["cell_area"].data * changes._like(region.parcel.weights, grid["cell_area"].data)
        covered = inside_area.sum()
        if float(covered.compute() if hasattr(covered, "compute") else covered) <= 0:
            raise InputError(
                f"the parcel {area if area is not None else sc.area} does not overlap the region (no cell of the land cover inside the zones lies in it)",
                hint=f"draw it inside the region's grid ({region.description}); GeoJSON coordinates are WGS 84 longitude, latitude",
            )
    return warnings


# --------------------------------------------------------------------------- all stages


def build(region: Region, sc: Scenario, legend: Legend, area: Any = None) -> Landscape:
    """The landscape of a read region: changes applied, cells indexed, grids checked (see the module notes).

    Parameters
    ----------
    region : Region
        The scenario's files on the land-cover grid (:func:`gep.jobs.inputs.read_region`).
    sc : Scenario
        The scenario (its ``[[changes]]`` are applied in order).
    legend : Legend
        Land-cover legend of the coefficient set.
    area : path, optional
        The parcel given to the run (only for messages; the parcel itself is ``region.parcel``).
    """
    record: dict = {"year": sc.year, "operations": [], "inputs_follow_class": [], "resampled": list(region.resampled), "files": dict(region.files), "parcel": None}
    lc, grid_c, change = apply_landcover_changes(region, sc, legend)
    grid, inside, present = index(region, lc, legend, sc)
    if sc.inputs_landcover is not None and sc.follow_inputs:
        record["inputs_follow_landcover"] = follow_landcover(region, sc, grid, legend, change)
    # land-cover operations first (in order), then the inputs follow the new classes, then input operations (in order)
    log_by_index = {e["index"]: e for e in change.log} if change is not None else {}
    if change is not None:
        record["inputs_follow_class"] = follow_class(sc, grid, legend, change, grid_c, log_by_index)
    apply_input_changes(region, sc, grid, grid_c, log_by_index)
    record["operations"] = [log_by_index[i] for i in sorted(log_by_index)]
    warnings = check(region, sc, grid, inside, area)
    parcel = region.parcel
    if parcel is not None:
        record["parcel"] = {"path": parcel.path, "sha256": parcel.sha256, "source_crs": parcel.source_crs, "polygon_area_ha": parcel.area_m2 / 1e4, "method": parcel.method}
    return Landscape(grid=grid, zones=region.zone_table, tables=dict(region.tables), legend=legend, year=sc.year,
                     codes_present=present, changes=record, parcel=parcel, warnings=tuple(warnings))
