"""Whole-basin capacity and credits (pure: tables and arrays in, tables out).

Steps (``gep capacity basin``; the files are read by :mod:`gep.jobs.capacity_basin`):

1. :func:`reach_capacities` — capacity of every reach/lake row, one vectorised model
   call per model name (all rows of that model at once); target Cs from the
   ``target`` column or the GB 3838-2002 class lookup.
2. :func:`apply_conversions` — optional land-cover conversions (e.g. forest to
   construction land in one catchment) so a scenario's land-cover change changes loads.
3. :func:`basin_credits` — non-point loads (land cover × export coefficients × cell
   area, ``np.bincount`` per catchment), point loads, and the credit table per
   catchment × pollutant × vintage (:func:`gep.capacity.credits.credit_table`).

Several reaches in one catchment add up; the credit row records which reach, model
and inputs produced each part (``model`` = ``"R1:1d-mid;R2:0d"``, ``inputs`` = JSON
object keyed by reach id).

References
----------
docs/capacity.md; GB/T 25173-2010; Johnes (1996).
"""

from __future__ import annotations

import json
from typing import Any, Iterable

import numpy as np
import pandas as pd

from gep.capacity.credits import credit_table
from gep.capacity.loads import canonical_pollutant, nonpoint_loads, point_loads
from gep.capacity.models import MODELS, normalise_class, target_concentration
from gep.errors import InputError
from gep.units import Q_, affine

__all__ = ["COLUMN_OF", "DEFAULT_UNITS", "reach_capacities", "apply_conversions", "basin_credits", "totals"]

#: Table column holding each model argument (``cs`` comes from ``target`` or ``class``).
COLUMN_OF = {
    "c0": "upstream", "flow": "flow", "effluent_flow": "effluent_flow", "decay": "decay", "velocity": "velocity",
    "length": "length", "volume": "volume", "area": "area", "depth": "depth", "outflow": "outflow",
    "temperature": "temperature", "theta": "theta", "b": "b",
}
#: Dimension of each argument (the header unit must convert to it).
DEFAULT_UNITS = {
    "c0": "mg/L", "flow": "m**3/s", "effluent_flow": "m**3/s", "decay": "1/s", "velocity": "m/s", "length": "m",
    "volume": "m**3", "area": "m**2", "depth": "m", "outflow": "m**3/s", "temperature": "degC",
}
DIMENSIONLESS = ("theta", "b")
_BODY = {"river": "river", "stream": "river", "lake": "lake", "reservoir": "lake"}


def _expand(reaches: pd.DataFrame) -> pd.DataFrame:
    """One row per reach and pollutant (``pollutant`` may list several, ``;``-separated)."""
    df = reaches.copy()
    df["_row"] = np.arange(len(df))
    df["pollutant"] = df["pollutant"].astype(str).str.split(";")
    df = df.explode("pollutant", ignore_index=True)
    df["pollutant"] = df["pollutant"].map(canonical_pollutant)
    return df


def _column(df: pd.DataFrame, units: dict, name: str, model: str, rows: pd.DataFrame, required: bool, what: str) -> Any:
    col = COLUMN_OF[name]
    if col not in df.columns:
        if required:
            unit = DEFAULT_UNITS.get(name)
            raise InputError(
                f"{what} lacks column '{col}{f' [{unit}]' if unit else ''}' needed by model {model} (reach {rows['id'].iloc[0]})",
                hint=f"add the column with its unit in the header, e.g. '{col} [{unit or '-'}]'",
            )
        return None
    vals = pd.to_numeric(rows[col], errors="coerce").to_numpy(dtype=float)
    nan = ~np.isfinite(vals)
    if nan.all() and not required:
        return None
    if nan.any():
        bad = ", ".join(rows["id"].astype(str).to_numpy()[nan][:5])
        if name == "b":
            vals = np.where(nan, 1.0, vals)
        else:
            raise InputError(
                f"{what}: reach(es) {bad} (model {model}) have no number in column '{col}'",
                hint=f"model {model} needs {col}" + ("" if required else " for every row once any row of that model gives it"),
            )
    if name in DIMENSIONLESS:
        return vals
    unit = units.get(col)
    if unit is None:
        raise InputError(f"{what}: column '{col}' has no unit", hint=f"write the unit in the header, e.g. '{col} [{DEFAULT_UNITS[name]}]'")
    affine(unit, DEFAULT_UNITS[name], f"column '{col}' of {what}")
    return Q_(vals, unit)


def _targets(df: pd.DataFrame, units: dict, standards: pd.DataFrame, what: str) -> tuple[np.ndarray, list[str]]:
    """Cs [mg/L] per row and where it came from."""
    cs = np.full(len(df), np.nan)
    source: list[str] = [""] * len(df)
    tgt = pd.to_numeric(df["target"], errors="coerce").to_numpy(dtype=float) if "target" in df.columns else cs.copy()
    if "target" in df.columns and np.isfinite(tgt).any():
        unit = units.get("target")
        if unit is None:
            raise InputError(f"{what}: column 'target' has no unit", hint="write 'target [mg/L]'")
        scale, _ = affine(unit, "mg/L", f"column 'target' of {what}")
        tgt = tgt * scale
    cache: dict[tuple, float] = {}
    for i, row in enumerate(df.itertuples(index=False)):  # metadata lookup per row; the models are vectorised
        if np.isfinite(tgt[i]):
            cs[i], source[i] = tgt[i], "target column"
            continue
        cls = df["class"].iloc[i] if "class" in df.columns else None
        if cls is None or (isinstance(cls, float) and np.isnan(cls)):
            raise InputError(f"{what}: reach {row.id} has neither a class nor a target", hint="give class (I-V) or 'target [mg/L]'")
        key = (row.pollutant, normalise_class(cls), row.water_body)
        if key not in cache:
            cache[key] = float(target_concentration(standards, row.pollutant, cls, row.water_body).to("mg/L").magnitude)
        cs[i], source[i] = cache[key], f"GB 3838-2002 class {key[1]} {key[2]}"
    return cs, source


def reach_capacities(reaches: pd.DataFrame, standards: pd.DataFrame) -> pd.DataFrame:
    """Capacity of every reach/lake and pollutant [t/yr], vectorised per model.

    Parameters
    ----------
    reaches : pandas.DataFrame
        Columns ``id, catchment, water_body (river|lake), model, pollutant`` plus
        ``class`` or ``target`` and the model inputs (:data:`COLUMN_OF`), units in
        ``attrs['units']`` (from ``name [unit]`` headers).
    standards : pandas.DataFrame
        GB 3838-2002 table (:func:`gep.io.capacity_tables.read_standards`).

    Returns
    -------
    pandas.DataFrame
        ``id, name, catchment, water_body, pollutant, class, model, target_mg_per_L,
        target_source, capacity_t_per_yr, deficit, inputs`` (inputs: JSON).
    """
    what = f"reaches table {reaches.attrs.get('path', '')}".strip()
    units = dict(reaches.attrs.get("units", {}))
    df = _expand(reaches)
    df["id"] = df["id"].astype(str)
    dup = df.duplicated(["id", "pollutant"], keep=False)
    if dup.any():
        r = df[dup].iloc[0]
        raise InputError(f"{what}: reach {r['id']} lists {r['pollutant']} twice", hint="one row per reach and pollutant")
    df["water_body"] = df["water_body"].astype(str).str.strip().str.lower()
    badbody = ~df["water_body"].isin(list(_BODY))
    if badbody.any():
        r = df[badbody].iloc[0]
        raise InputError(f"{what}: reach {r['id']} has water_body {r['water_body']!r}", hint="use river or lake (reservoir = lake)")
    df["water_body"] = df["water_body"].map(_BODY)
    df["model"] = df["model"].astype(str).str.strip()
    for r in df.itertuples(index=False):
        entry = MODELS.get(r.model)
        if entry is None or entry.kind != r.water_body:
            names = ", ".join(n for n, m in MODELS.items() if m.kind == r.water_body)
            raise InputError(f"{what}: reach {r.id} has unknown {r.water_body} model {r.model!r}", hint=f"use one of {names}")
        allowed = entry.extra.get("pollutants")
        if allowed and r.pollutant not in allowed:
            raise InputError(f"{what}: reach {r.id}: model {r.model} applies to {', '.join(allowed)} only, not {r.pollutant}", hint="use the mixed model")
    cs, source = _targets(df, units, standards, what)
    capacity = np.full(len(df), np.nan)
    records: list[str] = [""] * len(df)
    for model, idx in df.groupby("model", sort=True).groups.items():  # one vectorised call per model
        pos = df.index.get_indexer(idx)
        rows = df.iloc[pos]
        entry = MODELS[model]
        kwargs: dict[str, Any] = {"cs": Q_(cs[pos], "mg/L")}
        for name in entry.inputs + entry.optional:
            if name == "cs":
                continue
            v = _column(df, units, name, model, rows, name in entry.inputs, what)
            if v is not None:
                kwargs[name] = v
        result = entry.function(**kwargs)
        capacity[pos] = np.asarray(result.to("t/yr").magnitude, dtype=float) * np.ones(len(pos))
        for j, p in enumerate(pos):
            rec = {"cs": {"value": float(cs[p]), "unit": "mg/L", "source": source[p]}}
            for name, v in kwargs.items():
                if name == "cs":
                    continue
                if hasattr(v, "magnitude"):
                    rec[name] = {"value": float(np.asarray(v.magnitude)[j]), "unit": f"{v.units:~C}", "column": COLUMN_OF[name]}
                else:
                    rec[name] = {"value": float(np.asarray(v)[j]), "unit": "dimensionless", "column": COLUMN_OF[name]}
            records[p] = json.dumps(rec, sort_keys=True, ensure_ascii=False)
    out = pd.DataFrame({
        "id": df["id"].to_numpy(),
        "name": df["name"].astype(str).to_numpy() if "name" in df.columns else df["id"].to_numpy(),
        "catchment": as_int_ids(df["catchment"], what),
        "water_body": df["water_body"].to_numpy(),
        "pollutant": df["pollutant"].to_numpy(),
        "class": df["class"].map(lambda c: normalise_class(c) if isinstance(c, str) or np.isfinite(c) else "").to_numpy() if "class" in df.columns else "",
        "model": df["model"].to_numpy(),
        "target_mg_per_L": cs,
        "target_source": source,
        "capacity_t_per_yr": capacity,
        "deficit": capacity < 0,
        "inputs": records,
    })
    return out.sort_values(["catchment", "id", "pollutant"], kind="stable").reset_index(drop=True)


def apply_conversions(landcover: np.ndarray, catchment: np.ndarray, rules: Iterable[dict]) -> tuple[np.ndarray, list[dict]]:
    """Convert land cover inside catchments: ``from`` codes → ``to`` code for a ``share`` of the cells.

    The converted cells are the first ``ceil(share·n)`` matching cells in row-major
    order (north to south, west to east): deterministic, no random draw. This is
    :func:`gep.accounting.changes.apply_landcover` (``op = "convert"``, ``order = "row_major"``,
    ``fraction = share``) with catchments as zones: one implementation of land-cover
    change for GEP scenarios and capacity basins.

    Returns the new land-cover array and, per rule, the number of cells converted.
    """
    from gep.accounting.changes import ChangeGrid, Convert, apply_landcover

    rules = list(rules)
    lc = np.asarray(landcover)
    ops = [
        Convert(index=i, from_=tuple(r["from"]), to=int(r["to"]), zones=(int(r["catchment"]),), fraction=float(r.get("share", 1.0)),
                order="row_major", label=f"[[landcover.convert]] #{i + 1}")
        for i, r in enumerate(rules)
    ]
    zones = np.where(np.asarray(catchment) > 0, np.asarray(catchment), 0).astype(np.int64)
    res = apply_landcover(ChangeGrid(lc.astype(np.int64), zones, np.ones(lc.shape)), ops, None)
    log = [{**rule, "cells_converted": int(e["cells"])} for rule, e in zip(rules, res.log)]
    return res.codes.astype(lc.dtype), log


def basin_credits(
    capacities: pd.DataFrame,
    landcover: np.ndarray,
    catchment: np.ndarray,
    cell_area: Any,
    coefficients: pd.DataFrame,
    points: pd.DataFrame | None,
    margin: float,
    vintage: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Credits per catchment × pollutant × vintage, and the loads not assessed.

    Loads of catchment/pollutant pairs that have no capacity row (e.g. TP of a river
    catchment assessed for COD and NH3-N only) are returned in the second frame
    (``catchment, pollutant, source, load_t_per_yr``), not silently dropped. A point
    source in a catchment that has no capacity row and no cell in the catchment
    raster is an error (a wrong id).
    """
    caps = capacities.copy()
    grouped = caps.groupby(["catchment", "pollutant"], sort=True)
    cap = grouped["capacity_t_per_yr"].sum().rename("capacity_t_per_yr").reset_index()
    models, inputs = [], []
    for _, g in grouped:  # per catchment and pollutant: provenance strings only
        models.append(";".join(f"{i}:{m}" for i, m in zip(g["id"], g["model"])))
        inputs.append(json.dumps({i: json.loads(r) for i, r in zip(g["id"], g["inputs"])}, sort_keys=True, ensure_ascii=False))
    cap["model"] = models
    cap["inputs"] = inputs
    cap["vintage"] = int(vintage)
    keys = set(zip(cap["catchment"], cap["pollutant"]))
    pollutants = sorted(cap["pollutant"].unique())

    cz = np.where(np.asarray(catchment) > 0, np.asarray(catchment), -1)
    nonpoint = nonpoint_loads(landcover, cz, coefficients, cell_area, pollutants)
    raster_ids = set(np.unique(cz[cz > 0]).tolist())

    def split(df: pd.DataFrame, col: str, source: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        mask = np.array([(c, p) in keys for c, p in zip(df["catchment"], df["pollutant"])], dtype=bool)
        rest = df.loc[~mask, ["catchment", "pollutant", col]].rename(columns={col: "load_t_per_yr"}).assign(source=source)
        return df.loc[mask], rest

    nonpoint_in, nonpoint_rest = split(nonpoint, "nonpoint_t_per_yr", "non-point")
    rests = [nonpoint_rest]
    point_in = None
    if points is not None and len(points):
        pts = points.copy()
        pts["catchment"] = pd.to_numeric(pts["catchment"], errors="coerce")
        if "vintage" in pts.columns:
            pts = pts[pd.to_numeric(pts["vintage"], errors="coerce") == vintage].drop(columns="vintage")
        pts["catchment"] = as_int_ids(pts["catchment"], "point-source table")
        unknown = sorted(set(pts["catchment"]) - raster_ids - set(cap["catchment"]))
        if unknown:
            raise InputError(f"point-source table names catchment(s) {', '.join(map(str, unknown))} that are neither in the catchment raster nor in the reaches table",
                             hint="fix the catchment ids of those sources")
        pl = point_loads(pts)
        point_in, point_rest = split(pl, "point_t_per_yr", "point")
        rests.append(point_rest)
    credits = credit_table(cap, point_in, nonpoint_in, margin_fraction=margin)
    rest = pd.concat(rests, ignore_index=True)
    rest = rest[rest["load_t_per_yr"] > 0].sort_values(["catchment", "pollutant", "source"], kind="stable").reset_index(drop=True)
    return credits, rest


def as_int_ids(values: pd.Series, what: str) -> np.ndarray:
    """Catchment ids as positive integers; :class:`InputError` naming the first bad row."""
    ids = pd.to_numeric(values, errors="coerce")
    bad = ids.isna() | (ids != ids.round()) | (ids <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{what}, row {i + 1}: catchment {values.iloc[i]!r} is not a positive integer id", hint="catchment ids are the positive integers of the catchment raster")
    return ids.astype(np.int64).to_numpy()


def totals(credits: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Sum per pollutant: capacity, load, issuable and deficit [t/yr]."""
    out = {}
    for pol, g in credits.groupby("pollutant", sort=True):
        out[str(pol)] = {
            "capacity_t_per_yr": float(g["capacity_t_per_yr"].sum()),
            "load_t_per_yr": float(g["load_t_per_yr"].sum()),
            "issuable_t_per_yr": float(g["issuable_t_per_yr"].sum()),
            "deficit_t_per_yr": float(g["deficit_t_per_yr"].sum()),
        }
    return out
