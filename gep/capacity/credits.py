"""Remaining capacity and issuable capacity credits per catchment, pollutant and vintage.

For every catchment ``j``, pollutant ``p`` and vintage year ``v``::

    load      = point + non-point                       [t/yr]
    margin    = f · max(capacity, 0)                    [t/yr]  (f declared, e.g. 0.10)
    remaining = capacity − load − margin                [t/yr]  (may be negative)
    issuable  = max(remaining, 0)                       [t/yr]
    deficit   = max(−remaining, 0)                      [t/yr]  (issuable − deficit = remaining)

Only a positive remainder can be issued; a negative one is reported as a
deficit, never clamped away. The margin is a share of the (non-negative)
capacity, so a deficit is never reduced by a "negative margin".
``issuable_kg_per_yr`` is the issuable amount rounded *down* to whole kg (the
ledger holds integers of the smallest unit and must never over-issue).

References
----------
* docs/capacity.md (credits, safety margin).
* 《全国水环境容量核定技术指南》 (CAEP 2003): remaining capacity = capacity − existing load,
  with a safety margin.
* Emission-rights (排污权) practice in Zhejiang/Jiangsu: quotas per pollutant and year.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
import pint
import xarray as xr

from gep.capacity.loads import canonical_pollutant
from gep.errors import InputError
from gep.units import magnitude

__all__ = ["capacity_frame", "credit_table", "CREDIT_COLUMNS"]

CREDIT_COLUMNS = (
    "catchment", "pollutant", "vintage", "model",
    "capacity_t_per_yr", "point_load_t_per_yr", "nonpoint_load_t_per_yr", "load_t_per_yr",
    "margin_fraction", "margin_t_per_yr", "remaining_t_per_yr", "issuable_t_per_yr", "issuable_kg_per_yr",
    "deficit_t_per_yr", "overloaded", "inputs",
)


def _fmt_input(value: Any) -> tuple[np.ndarray, str]:
    if isinstance(value, pint.Quantity):
        return np.asarray(value.magnitude, dtype=float), f"{value.units:~C}"
    if isinstance(value, xr.DataArray):
        return np.asarray(value.values, dtype=float), str(value.attrs.get("units", "dimensionless"))
    return np.asarray(value, dtype=float), "dimensionless"


def capacity_frame(
    catchment: Any,
    pollutant: str | Iterable[str],
    capacity: Any,
    model: str,
    inputs: Mapping[str, Any] | None = None,
    vintage: Any = None,
) -> pd.DataFrame:
    """Tidy capacity rows from a (vectorised) model result.

    Parameters
    ----------
    catchment : array_like
        Catchment id per row.
    pollutant : str or array_like of str
        Pollutant (one for all rows, or one per row).
    capacity : pint.Quantity or DataArray
        Model output [t/yr or any mass rate], broadcastable to ``catchment``.
    model : str
        Model name (a key of :data:`gep.capacity.models.MODELS`).
    inputs : mapping, optional
        Model inputs (name → Quantity / DataArray / number), recorded per row as
        a JSON object ``{"name": {"value": v, "unit": u}}`` with sorted keys.
    vintage : int or array_like, optional
        Vintage year(s).

    Returns
    -------
    pandas.DataFrame
        ``catchment, pollutant, [vintage,] model, capacity_t_per_yr, inputs``.
    """
    ids = np.atleast_1d(np.asarray(catchment))
    cap = np.broadcast_to(np.asarray(magnitude(capacity, "t/yr", "capacity"), dtype=float), ids.shape)
    df = pd.DataFrame({"catchment": ids, "pollutant": np.broadcast_to(np.asarray(pollutant, dtype=object), ids.shape)})
    df["pollutant"] = df["pollutant"].map(canonical_pollutant)
    if vintage is not None:
        df["vintage"] = np.broadcast_to(np.asarray(vintage), ids.shape)
    df["model"] = model
    df["capacity_t_per_yr"] = cap
    cols = {}
    for name, value in sorted((inputs or {}).items()):
        if value is None:
            continue
        mag, unit = _fmt_input(value)
        cols[name] = (np.broadcast_to(mag, ids.shape), unit)
    records = [
        json.dumps({n: {"value": float(v[i]), "unit": u} for n, (v, u) in cols.items()}, sort_keys=True, ensure_ascii=False)
        for i in range(len(ids))
    ]  # serialisation of metadata only; the numbers above are vectorised
    df["inputs"] = records
    return df


def _margin(margin_fraction: Any) -> float:
    if isinstance(margin_fraction, pint.Quantity):
        f = float(magnitude(margin_fraction, "dimensionless", "margin_fraction"))
    else:
        try:
            f = float(margin_fraction)
        except (TypeError, ValueError) as exc:
            raise InputError(f"safety margin {margin_fraction!r} is not a number", hint="give a fraction such as 0.10") from exc
    if not (0.0 <= f < 1.0) or not np.isfinite(f):
        raise InputError(f"safety margin fraction {f} is outside [0, 1)", hint="give a fraction of capacity such as 0.10 (10 %)", where="margin_fraction")
    return f


def _loads(df: pd.DataFrame | None, column: str, what: str) -> pd.DataFrame | None:
    if df is None or len(df) == 0:
        return None
    missing = [c for c in ("catchment", "pollutant", column) if c not in df.columns]
    if missing:
        raise InputError(f"{what} lacks column(s) {', '.join(missing)}", hint=f"columns: catchment, pollutant, [vintage,] {column}")
    df = df.copy()
    df["pollutant"] = df["pollutant"].map(canonical_pollutant)
    vals = pd.to_numeric(df[column], errors="coerce")
    if vals.isna().any() or (vals < 0).any():
        raise InputError(f"{what}: {int((vals.isna() | (vals < 0)).sum())} load(s) are NaN or negative", hint="loads must be numbers >= 0")
    df[column] = vals.astype(float)
    keys = ["catchment", "pollutant"] + (["vintage"] if "vintage" in df.columns else [])
    return df.groupby(keys, sort=True, as_index=False)[column].sum()


def _attach(base: pd.DataFrame, loads: pd.DataFrame | None, column: str, out_col: str, what: str) -> pd.DataFrame:
    if loads is None:
        base[out_col] = 0.0
        return base
    keys = [k for k in ("catchment", "pollutant", "vintage") if k in loads.columns]
    # pollutants without any capacity row are simply not assessed; within an assessed
    # pollutant a load on a catchment (or vintage) with no capacity is an error
    loads = loads[loads["pollutant"].isin(base["pollutant"].unique())]
    extra = loads.merge(base[keys].drop_duplicates(), on=keys, how="left", indicator=True)
    orphan = extra[extra["_merge"] == "left_only"]
    if len(orphan):
        listed = "; ".join(", ".join(f"{k}={r[k]}" for k in keys) for _, r in orphan.head(5).iterrows())
        raise InputError(
            f"{what} has load(s) for {len(orphan)} catchment/pollutant key(s) with no capacity: {listed}",
            hint="compute a capacity for every loaded catchment and pollutant (or fix the catchment ids / pollutant names)",
        )
    merged = base.merge(loads.rename(columns={column: out_col}), on=keys, how="left")
    merged[out_col] = merged[out_col].fillna(0.0)
    return merged


def credit_table(
    capacity: pd.DataFrame,
    point: pd.DataFrame | None = None,
    nonpoint: pd.DataFrame | None = None,
    *,
    margin_fraction: Any = 0.10,
    vintages: Iterable[int] | None = None,
) -> pd.DataFrame:
    """Remaining capacity and issuable credits per catchment × pollutant × vintage.

    Parameters
    ----------
    capacity : pandas.DataFrame
        ``catchment, pollutant, capacity_t_per_yr`` and optionally ``vintage``,
        ``model``, ``inputs`` (see :func:`capacity_frame`) [t/yr]. Negative
        capacity (a deficit) is allowed.
    point : pandas.DataFrame, optional
        Point loads ``catchment, pollutant, [vintage,] point_t_per_yr`` [t/yr]
        (:func:`gep.capacity.loads.point_loads`). Without ``vintage`` they apply
        to every vintage. Missing rows mean no point source (0). Rows of
        pollutants absent from ``capacity`` are ignored (not assessed).
    nonpoint : pandas.DataFrame, optional
        Non-point loads ``catchment, pollutant, [vintage,] nonpoint_t_per_yr``
        [t/yr] (:func:`gep.capacity.loads.nonpoint_loads`).
    margin_fraction : float or pint.Quantity, default 0.10
        Safety margin as a declared fraction of capacity, in [0, 1).
    vintages : iterable of int, optional
        Vintage years; required when ``capacity`` has no ``vintage`` column
        (the capacity then applies to each of them).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CREDIT_COLUMNS`, one row per catchment, pollutant and
        vintage, sorted by them. ``issuable_t_per_yr >= 0`` always.

    Raises
    ------
    InputError
        Missing columns, NaN capacities, duplicate keys, a margin outside
        [0, 1), no vintage, or loads for keys without capacity.

    References
    ----------
    docs/capacity.md; 《全国水环境容量核定技术指南》 (CAEP 2003).
    """
    f = _margin(margin_fraction)
    missing = [c for c in ("catchment", "pollutant", "capacity_t_per_yr") if c not in capacity.columns]
    if missing:
        raise InputError(f"capacity table lacks column(s) {', '.join(missing)}", hint="build it with gep.capacity.credits.capacity_frame")
    base = capacity.copy()
    base["pollutant"] = base["pollutant"].map(canonical_pollutant)
    cap = pd.to_numeric(base["capacity_t_per_yr"], errors="coerce")
    if cap.isna().any() or not np.isfinite(cap).all():
        raise InputError(f"capacity table has {int((~np.isfinite(cap.fillna(np.nan))).sum())} NaN or infinite capacity value(s)", hint="check the model inputs of those catchments")
    base["capacity_t_per_yr"] = cap.astype(float)
    if "vintage" not in base.columns:
        if vintages is None:
            raise InputError("no vintage: the capacity table has no 'vintage' column and no vintages were given", hint="pass vintages=[2024, ...] or add a vintage column")
        vint = pd.DataFrame({"vintage": list(vintages)})
        if vint.empty:
            raise InputError("vintages is empty", hint="give at least one vintage year")
        base = base.merge(vint, how="cross")
    for col, default in (("model", ""), ("inputs", "{}")):
        if col not in base.columns:
            base[col] = default
    keys = ["catchment", "pollutant", "vintage"]
    dup = base.duplicated(keys, keep=False)
    if dup.any():
        r = base[dup].iloc[0]
        raise InputError(f"capacity table lists catchment {r['catchment']}, {r['pollutant']}, vintage {r['vintage']} twice", hint="one capacity per catchment, pollutant and vintage")

    base = _attach(base, _loads(point, "point_t_per_yr", "point-load table"), "point_t_per_yr", "point_load_t_per_yr", "point-load table")
    base = _attach(base, _loads(nonpoint, "nonpoint_t_per_yr", "non-point-load table"), "nonpoint_t_per_yr", "nonpoint_load_t_per_yr", "non-point-load table")

    capv = base["capacity_t_per_yr"].to_numpy(dtype=float)
    load = base["point_load_t_per_yr"].to_numpy(dtype=float) + base["nonpoint_load_t_per_yr"].to_numpy(dtype=float)
    margin = f * np.maximum(capv, 0.0)
    remaining = capv - load - margin
    issuable = np.maximum(remaining, 0.0)
    base["load_t_per_yr"] = load
    base["margin_fraction"] = f
    base["margin_t_per_yr"] = margin
    base["remaining_t_per_yr"] = remaining
    base["issuable_t_per_yr"] = issuable
    base["issuable_kg_per_yr"] = np.floor(issuable * 1000.0).astype(np.int64)
    base["deficit_t_per_yr"] = np.maximum(-remaining, 0.0)
    base["overloaded"] = load > capv
    out = base[list(CREDIT_COLUMNS)].sort_values(keys, kind="stable").reset_index(drop=True)
    return out
