"""ΔGEP of two accounts by zone × service × category (``gep compare BASE ALT``).

Pure tables from two account datasets (``data`` of a :class:`gep.accounting.account.GepAccount`
or a run's ``account.nc``) and their per-cell datasets (``cells.nc``):

* :func:`delta_table`: zone × service rows with category, unit, quantity and
  value in BASE and ALT and their differences (ALT − BASE);
* :func:`by_service`, :func:`by_zone`, :func:`by_category`: the same summed;
* :func:`delta_cells`: the per-cell change of value [CNY/yr per cell] when both
  runs share one grid (None otherwise);
* :func:`landcover_transitions`: cells and hectares that changed class between the runs.

Physical quantities are compared per service in the service's unit
(provisioning sums products of different units and has no single quantity).
The comparison as a job (sides, checks, workbook, manifest) is :mod:`gep.jobs.compare`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from gep.accounting.catalogue import CATEGORIES

DELTA_COLUMNS = [
    "zone", "zone_name", "category", "service", "unit",
    "quantity_base", "quantity_alt", "delta_quantity",
    "value_base_cny", "value_alt_cny", "delta_value_cny", "delta_pct",
]


def _per_zone_service(ds: xr.Dataset) -> pd.DataFrame:
    q = ds["quantity"].sum("ecosystem", min_count=1).to_dataframe(name="quantity").reset_index()
    v = ds["value"].sum("ecosystem").to_dataframe(name="value").reset_index()
    df = q.merge(v[["zone", "service", "value"]], on=["zone", "service"])
    return df[["zone", "zone_name", "category", "service", "unit", "quantity", "value"]]


#: Differences below this fraction of the larger value are floating-point noise and reported as 0.
RELATIVE_NOISE = 1e-9


def _diff(b, a):
    """b − a, with differences within :data:`RELATIVE_NOISE` of the larger magnitude set to 0."""
    b, a = np.asarray(b, dtype=float), np.asarray(a, dtype=float)
    d = b - a
    return np.where(np.abs(d) <= RELATIVE_NOISE * np.maximum(np.abs(a), np.abs(b)), 0.0, d)


def delta_table(base: xr.Dataset, alt: xr.Dataset) -> pd.DataFrame:
    """ΔGEP by zone × service (ALT − BASE); see :data:`DELTA_COLUMNS`.

    Zones or services present on one side only count as 0 on the other.
    Quantities are compared only where both sides report the same unit.
    """
    a, b = _per_zone_service(base), _per_zone_service(alt)
    m = a.merge(b, on=["zone", "service"], how="outer", suffixes=("_base", "_alt"))
    for col in ("zone_name", "category", "unit"):
        m[col] = m[f"{col}_base"].where(m[f"{col}_base"].notna(), m[f"{col}_alt"])
    same_unit = (m["unit_base"] == m["unit_alt"]) | m["unit_base"].isna() | m["unit_alt"].isna()
    m["unit"] = np.where(same_unit, m["unit"], m["unit_base"].astype(str) + " | " + m["unit_alt"].astype(str))
    qa = m["quantity_base"].where(m["unit_base"].notna(), 0.0)
    qb = m["quantity_alt"].where(m["unit_alt"].notna(), 0.0)
    m["quantity_base"], m["quantity_alt"] = qa, qb
    m["delta_quantity"] = np.where(same_unit, _diff(qb, qa), np.nan)
    m["value_base_cny"] = m["value_base"].fillna(0.0)
    m["value_alt_cny"] = m["value_alt"].fillna(0.0)
    m["delta_value_cny"] = _diff(m["value_alt_cny"], m["value_base_cny"])
    with np.errstate(divide="ignore", invalid="ignore"):
        m["delta_pct"] = np.where(m["value_base_cny"] != 0, m["delta_value_cny"] / m["value_base_cny"], np.nan)
    order = {s: i for i, s in enumerate(list(base["service"].values) + [s for s in alt["service"].values if s not in base["service"].values])}
    m["_o"] = m["service"].map(order)
    return m.sort_values(["zone", "_o"])[DELTA_COLUMNS].reset_index(drop=True)


def _pct(d: pd.DataFrame) -> pd.DataFrame:
    with np.errstate(divide="ignore", invalid="ignore"):
        d["delta_pct"] = np.where(d["value_base_cny"] != 0, d["delta_value_cny"] / d["value_base_cny"], np.nan)
    return d


def by_service(delta: pd.DataFrame) -> pd.DataFrame:
    """Δ per service (summed over zones): category, unit, quantities and values."""
    g = delta.groupby(["service"], sort=False).agg(
        category=("category", "first"), unit=("unit", "first"),
        quantity_base=("quantity_base", lambda s: s.sum(min_count=1)), quantity_alt=("quantity_alt", lambda s: s.sum(min_count=1)),
        delta_quantity=("delta_quantity", lambda s: s.sum(min_count=1)),
        value_base_cny=("value_base_cny", "sum"), value_alt_cny=("value_alt_cny", "sum"), delta_value_cny=("delta_value_cny", "sum"),
    ).reset_index()
    return _pct(g)


def by_zone(delta: pd.DataFrame) -> pd.DataFrame:
    """Δ per zone: value by category in BASE and ALT and ΔGEP."""
    rows = []
    for (zone, name), g in delta.groupby(["zone", "zone_name"], sort=True):
        row = {"zone": int(zone), "zone_name": name}
        for c in CATEGORIES:
            row[f"delta_{c}_cny"] = float(g.loc[g["category"] == c, "delta_value_cny"].sum())
        row["gep_base_cny"] = float(g["value_base_cny"].sum())
        row["gep_alt_cny"] = float(g["value_alt_cny"].sum())
        row["delta_value_cny"] = row["gep_alt_cny"] - row["gep_base_cny"]
        rows.append(row)
    d = pd.DataFrame(rows).rename(columns={"gep_base_cny": "value_base_cny", "gep_alt_cny": "value_alt_cny"})
    return _pct(d)


def by_category(delta: pd.DataFrame) -> pd.DataFrame:
    """Δ per category (provisioning, regulating, cultural)."""
    g = delta.groupby("category")[["value_base_cny", "value_alt_cny", "delta_value_cny"]].sum().reindex(list(CATEGORIES), fill_value=0.0).reset_index()
    return _pct(g)


def same_grid(a: xr.Dataset | None, b: xr.Dataset | None) -> bool:
    """True when two cell datasets share shape, transform and CRS."""
    if a is None or b is None or "gep_value" not in a or "gep_value" not in b:
        return False
    if a["gep_value"].shape != b["gep_value"].shape:
        return False
    ta, tb = a.attrs.get("transform"), b.attrs.get("transform")
    if ta is not None and tb is not None and not np.allclose(np.asarray(ta, float), np.asarray(tb, float)):
        return False
    return a.attrs.get("crs", "") == b.attrs.get("crs", "")


def delta_cells(base: xr.Dataset | None, alt: xr.Dataset | None) -> xr.DataArray | None:
    """Per-cell ΔGEP [CNY/yr per cell] (ALT − BASE), or None when the grids differ."""
    if not same_grid(base, alt):
        return None
    d = alt["gep_value"].astype(np.float64) - base["gep_value"].astype(np.float64)
    return d.assign_attrs(units="CNY/yr", long_name="change of GEP per cell (ALT − BASE)")


def landcover_transitions(base: xr.Dataset | None, alt: xr.Dataset | None) -> pd.DataFrame:
    """Area [ha] of every land-cover transition ``from → to`` between the runs (changed cells only)."""
    cols = ["from_code", "to_code", "cells", "area_ha"]
    if not same_grid(base, alt) or "landcover" not in base or "landcover" not in alt:
        return pd.DataFrame(columns=cols)
    a = np.asarray(base["landcover"].values).ravel().astype(np.int64)
    b = np.asarray(alt["landcover"].values).ravel().astype(np.int64)
    area = np.asarray(base["cell_area"].values, dtype=np.float64).ravel()
    ch = (a != b) & (a > 0) & (b > 0)
    if not ch.any():
        return pd.DataFrame(columns=cols)
    key = a[ch] * 100000 + b[ch]
    u, inv = np.unique(key, return_inverse=True)
    return pd.DataFrame({"from_code": u // 100000, "to_code": u % 100000, "cells": np.bincount(inv), "area_ha": np.bincount(inv, weights=area[ch]) / 1e4})


def unrelated(base: xr.Dataset, alt: xr.Dataset, base_cells: xr.Dataset | None = None, alt_cells: xr.Dataset | None = None) -> str | None:
    """Why two accounts are of unrelated regions (None when they may be compared).

    Two accounts compare the same region when they share at least one zone (the same
    id with the same name) and, where both runs carry their grids, the grids overlap
    on the ground (:func:`gep.geometry.bounds_overlap`). A comparison of two
    different counties would report every zone as gained or lost: a number nobody wants.
    """
    from gep.geometry import bounds_overlap, grid_bounds

    zb = {(int(z), str(n)) for z, n in zip(base["zone"].values, base["zone_name"].values)}
    za = {(int(z), str(n)) for z, n in zip(alt["zone"].values, alt["zone_name"].values)}
    if not zb & za:
        return (f"BASE and ALT share no zone (BASE: {', '.join(n for _, n in sorted(zb)[:4])}{', ...' if len(zb) > 4 else ''}; "
                f"ALT: {', '.join(n for _, n in sorted(za)[:4])}{', ...' if len(za) > 4 else ''})")
    grids = [c for c in (base_cells, alt_cells) if c is not None and "transform" in c.attrs and "cell_area" in c]
    if len(grids) == 2:
        (b, cb), (a, ca) = ((grid_bounds(np.ravel(c.attrs["transform"]), c["cell_area"].shape), c.attrs.get("crs")) for c in grids)
        if not bounds_overlap(b, cb, a, ca):
            return f"the grids of BASE and ALT do not overlap on the ground (BASE {tuple(round(v) for v in b)}, ALT {tuple(round(v) for v in a)})"
    return None


def carbon_stock_delta(base: pd.DataFrame | None, alt: pd.DataFrame | None) -> pd.DataFrame | None:
    """Change of the carbon stock per zone and pool [t C] (ALT − BASE) from two ``carbon_stock.csv`` tables
    (:func:`gep.accounting.account.carbon_stock_table`); None unless both runs have one.

    Columns ``zone, zone_name`` and, per pool and the total, ``<pool>_base_tc, <pool>_alt_tc, <pool>_delta_tc``.
    """
    if base is None or alt is None:
        return None
    pools = [c[:-3] for c in base.columns if c.endswith("_tc")]
    merged = base.merge(alt, on=["zone", "zone_name"], how="outer", suffixes=("_base", "_alt")).fillna({f"{p}_tc_{s}": 0.0 for p in pools for s in ("base", "alt")})
    out = merged[["zone", "zone_name"]].copy()
    for p in pools:
        b, a = merged[f"{p}_tc_base"], merged[f"{p}_tc_alt"]
        out[f"{p}_base_tc"], out[f"{p}_alt_tc"], out[f"{p}_delta_tc"] = b, a, a - b
    return out.sort_values("zone").reset_index(drop=True)
