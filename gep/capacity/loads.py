"""Existing pollutant loads on a catchment: point sources and land-cover (non-point) loads.

Pure functions over tables and arrays (no file access; tables are read by
:mod:`gep.io.capacity_tables`). Loads come out as tidy :class:`pandas.DataFrame`
rows per catchment and pollutant in t/yr, ready for
:func:`gep.capacity.credits.credit_table`.

Non-point loads follow the export-coefficient method: the load of a catchment is
the sum over its cells of the export coefficient of the cell's land-cover class
times the cell area,

``L_j = Σ_{cells i in j} E(lc_i, p) · a_i``   [kg/yr → t/yr],

computed with one ``np.bincount`` per pollutant (no loop over cells).

References
----------
* Johnes, P. J. (1996). Evaluation and management of the impact of land use change
  on the nitrogen and phosphorus load delivered to surface waters: the export
  coefficient modelling approach. *J. Hydrol.* 183, 323-349.
* 《全国水环境容量核定技术指南》 (Chinese Academy for Environmental Planning, 2003):
  point-source and non-point-source inventories for capacity verification.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd
import pint
import xarray as xr

from gep.errors import GridError, InputError, UnitError
from gep.units import affine, magnitude

__all__ = ["POLLUTANTS", "canonical_pollutant", "point_loads", "nonpoint_loads", "nonpoint_load_grid", "export_lookup"]

#: Canonical pollutant names used across the capacity module.
POLLUTANTS = ("COD", "CODMn", "BOD5", "NH3-N", "TN", "TP")
_CANON = {"".join(ch for ch in p.upper() if ch.isalnum()): p for p in POLLUTANTS}
_CANON.update({"NH4N": "NH3-N", "AMMONIA": "NH3-N", "CODCR": "COD", "BOD": "BOD5"})

LOAD_UNIT = "t/yr"
EXPORT_UNIT = "kg/(ha*yr)"


def canonical_pollutant(name: Any) -> str:
    """Canonical spelling of a pollutant name (``'nh3n'`` → ``'NH3-N'``); unknown names are returned stripped."""
    text = str(name).strip()
    return _CANON.get("".join(ch for ch in text.upper() if ch.isalnum()), text)


def _canon_series(s: pd.Series) -> pd.Series:
    return s.map(canonical_pollutant)


# --------------------------------------------------------------------------- point sources


def point_loads(table: pd.DataFrame, where: str = "point-source table") -> pd.DataFrame:
    """Sum point-source loads per catchment and pollutant (and vintage if given).

    Parameters
    ----------
    table : pandas.DataFrame
        One row per source and pollutant: ``source_id, catchment, pollutant,
        load, unit`` and optionally ``vintage``. ``unit`` is any mass rate
        (``t/yr``, ``kg/d``, ``g/s`` ...).
    where : str
        Name of the table for error messages (e.g. its file path).

    Returns
    -------
    pandas.DataFrame
        ``catchment, pollutant, [vintage,] point_t_per_yr, n_sources`` [t/yr],
        sorted by the keys.

    Raises
    ------
    InputError
        Missing columns, a non-numeric, NaN or negative load, or the same source
        and pollutant listed twice.
    UnitError
        A unit that is unknown or not a mass rate.

    References
    ----------
    《全国水环境容量核定技术指南》 (CAEP 2003), point-source inventory.
    """
    required = ["source_id", "catchment", "pollutant", "load", "unit"]
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise InputError(f"{where} lacks column(s) {', '.join(missing)}", hint=f"columns needed: {', '.join(required)} (optional: vintage)")
    df = table.copy()
    df["pollutant"] = _canon_series(df["pollutant"])
    df["unit"] = df["unit"].astype(str).str.strip()
    load = pd.to_numeric(df["load"], errors="coerce")
    bad = load.isna() | (load < 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{where}: source {df['source_id'].iloc[i]!r} has load {df['load'].iloc[i]!r} ({int(bad.sum())} bad row(s))",
            hint="every load must be a number >= 0", where=f"row {i + 1}",
        )
    keys = ["catchment", "pollutant"] + (["vintage"] if "vintage" in df.columns else [])
    dup = df.duplicated(["source_id", "pollutant"] + (["vintage"] if "vintage" in df.columns else []), keep=False)
    if dup.any():
        first = df[dup].iloc[0]
        raise InputError(f"{where}: source {first['source_id']!r} lists {first['pollutant']} more than once", hint="one row per source, pollutant (and vintage); sum them first")
    factor = np.empty(len(df))
    for unit, idx in df.groupby("unit").groups.items():  # loop over distinct units, not rows
        pos = df.index.get_indexer(idx)
        scale, offset = affine(unit, LOAD_UNIT, f"load of source {df['source_id'].iloc[pos[0]]!r} in {where}")
        factor[pos] = scale
    df["point_t_per_yr"] = load.to_numpy(dtype=float) * factor
    out = df.groupby(keys, sort=True).agg(point_t_per_yr=("point_t_per_yr", "sum"), n_sources=("source_id", "nunique")).reset_index()
    return out


# --------------------------------------------------------------------------- non-point (land cover)


def export_lookup(coefficients: pd.DataFrame, pollutant: str) -> tuple[np.ndarray, np.ndarray]:
    """Sorted land-cover codes and their export coefficients for one pollutant.

    Parameters
    ----------
    coefficients : pandas.DataFrame
        ``landcover, pollutant, value, unit`` (see
        :func:`gep.io.capacity_tables.read_export_coefficients`).
    pollutant : str
        Pollutant name.

    Returns
    -------
    (codes, values) : tuple of numpy.ndarray
        Codes ascending and coefficients [kg/(ha·yr)].
    """
    missing = [c for c in ("landcover", "pollutant", "value", "unit") if c not in coefficients.columns]
    if missing:
        raise InputError(f"export-coefficient table lacks column(s) {', '.join(missing)}", hint="columns: landcover, pollutant, value, unit")
    pol = canonical_pollutant(pollutant)
    sel = coefficients[_canon_series(coefficients["pollutant"]) == pol]
    if sel.empty:
        known = ", ".join(sorted(set(_canon_series(coefficients["pollutant"]))))
        raise InputError(f"no export coefficients for pollutant {pollutant!r}", hint=f"the table has: {known}")
    codes = pd.to_numeric(sel["landcover"], errors="raise").to_numpy(dtype=np.int64)
    values = pd.to_numeric(sel["value"], errors="raise").to_numpy(dtype=float)
    scale = np.empty(len(sel))
    units = sel["unit"].astype(str).str.strip().to_numpy()
    for unit in np.unique(units):
        s, _ = affine(unit, EXPORT_UNIT, f"export coefficient of {pol}")
        scale[units == unit] = s
    values = values * scale
    if (values < 0).any() or not np.isfinite(values).all():
        raise InputError(f"export coefficients of {pol} must be finite and >= 0", hint="check the value column")
    order = np.argsort(codes, kind="stable")
    codes, values = codes[order], values[order]
    if (np.diff(codes) == 0).any():
        dup = codes[1:][np.diff(codes) == 0][0]
        raise InputError(f"export coefficient of {pol} for land cover {dup} is given twice", hint="one row per land cover and pollutant")
    return codes, values


def _cell_area_ha(cell_area: Any, shape: tuple[int, ...]) -> np.ndarray:
    if not isinstance(cell_area, (pint.Quantity, xr.DataArray)):
        raise UnitError("cell_area is a bare number without a unit", hint="pass e.g. Q_(900, 'm**2') or a DataArray with attrs['units']")
    area = np.asarray(magnitude(cell_area, "ha", "cell_area"), dtype=float)
    if area.ndim and area.shape != shape:
        raise GridError(f"cell_area has shape {area.shape} but the land-cover grid has {shape}", hint="give one area per cell or a single scalar")
    if (area < 0).any() or not np.isfinite(area).all():
        raise GridError("cell_area has negative or non-finite values", hint="cell areas must be finite and >= 0")
    return area


def _grids(landcover: Any, catchment: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lc = np.asarray(landcover.data if isinstance(landcover, xr.DataArray) else landcover)
    cz = np.asarray(catchment.data if isinstance(catchment, xr.DataArray) else catchment)
    if lc.shape != cz.shape:
        raise GridError(f"land cover {lc.shape} and catchment ids {cz.shape} have different shapes", hint="resample both to the same grid")
    if np.issubdtype(cz.dtype, np.floating):
        inside = np.isfinite(cz) & (cz >= 0)
    else:
        inside = cz >= 0
    return lc, cz, inside


def nonpoint_loads(
    landcover: Any,
    catchment: Any,
    coefficients: pd.DataFrame,
    cell_area: Any,
    pollutants: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Land-cover (non-point) loads summed per catchment with ``np.bincount``.

    ``L_j,p = Σ_{i in j} E(lc_i, p) · a_i``

    Parameters
    ----------
    landcover : array_like or DataArray of int
        Land-cover class codes (CNLUCC, e.g. 11 paddy, 21 forest, 51 urban).
    catchment : array_like or DataArray of int
        Catchment id per cell, same shape; cells with a negative (or NaN) id are
        outside every catchment and ignored.
    coefficients : pandas.DataFrame
        Export coefficients ``landcover, pollutant, value, unit`` [kg/(ha·yr) or
        any areal load rate].
    cell_area : pint.Quantity or DataArray
        Area of one cell (scalar) or of each cell (same shape) [m², ha, km²].
    pollutants : iterable of str, optional
        Pollutants to compute; default all in ``coefficients``.

    Returns
    -------
    pandas.DataFrame
        ``catchment, pollutant, nonpoint_t_per_yr, area_ha`` sorted by catchment
        and pollutant [t/yr, ha].

    Raises
    ------
    GridError
        Shapes differ, or cells inside a catchment carry a land-cover code with
        no export coefficient (including nodata codes such as 0 or 255); the
        message lists the codes and their cell counts.

    References
    ----------
    Johnes (1996), *J. Hydrol.* 183, 323-349 (export-coefficient method).
    """
    lc, cz, inside = _grids(landcover, catchment)
    area = _cell_area_ha(cell_area, lc.shape)
    if np.issubdtype(lc.dtype, np.floating):
        nan_in = ~np.isfinite(lc) & inside
        if nan_in.any():
            raise GridError(f"land cover is NaN in {int(nan_in.sum())} cell(s) inside catchments", hint="fill the gaps or mask those cells out of the catchment grid")
    codes_in = lc[inside].astype(np.int64)
    zones, inv = np.unique(cz[inside].astype(np.int64), return_inverse=True)
    inv = inv.ravel()
    area_in = area[inside] if area.ndim else np.full(codes_in.shape, float(area))
    area_sum = np.bincount(inv, weights=area_in, minlength=len(zones))
    if pollutants is None:
        pollutants = sorted(set(_canon_series(coefficients["pollutant"])))
    frames = []
    for pol in pollutants:  # a handful of pollutants; cells are vectorised
        codes, values = export_lookup(coefficients, pol)
        idx = np.searchsorted(codes, codes_in)
        idx_c = np.clip(idx, 0, max(len(codes) - 1, 0))
        found = (idx < len(codes)) & (codes[idx_c] == codes_in)
        if not found.all():
            bad, counts = np.unique(codes_in[~found], return_counts=True)
            listed = ", ".join(f"{int(c)} ({int(n)} cells)" for c, n in zip(bad[:8], counts[:8]))
            raise GridError(
                f"land cover inside catchments has code(s) with no {canonical_pollutant(pol)} export coefficient: {listed}",
                hint="add rows for these codes to the export-coefficient table, reclassify them, or mask nodata cells out of the catchment grid",
            )
        load_kg = values[idx_c] * area_in
        total = np.bincount(inv, weights=load_kg, minlength=len(zones)) / 1000.0
        frames.append(pd.DataFrame({"catchment": zones, "pollutant": canonical_pollutant(pol), "nonpoint_t_per_yr": total, "area_ha": area_sum}))
    if not frames:
        return pd.DataFrame(columns=["catchment", "pollutant", "nonpoint_t_per_yr", "area_ha"])
    return pd.concat(frames, ignore_index=True).sort_values(["catchment", "pollutant"], kind="stable").reset_index(drop=True)


def nonpoint_load_grid(landcover: Any, coefficients: pd.DataFrame, cell_area: Any, pollutant: str) -> Any:
    """Per-cell non-point load map ``E(lc, p)·a`` [kg/yr] (NaN where no coefficient).

    Returns a DataArray (``attrs['units'] = 'kg/yr'``) when ``landcover`` is a
    DataArray, otherwise a :class:`pint.Quantity` array.

    References
    ----------
    Johnes (1996), *J. Hydrol.* 183, 323-349.
    """
    lc = np.asarray(landcover.data if isinstance(landcover, xr.DataArray) else landcover)
    area = _cell_area_ha(cell_area, lc.shape)
    codes, values = export_lookup(coefficients, pollutant)
    finite = np.isfinite(lc) if np.issubdtype(lc.dtype, np.floating) else np.ones(lc.shape, bool)
    lci = np.where(finite, lc, -1).astype(np.int64)
    idx = np.searchsorted(codes, lci)
    idx_c = np.clip(idx, 0, max(len(codes) - 1, 0))
    found = (idx < len(codes)) & (codes[idx_c] == lci) & finite
    out = np.where(found, values[idx_c], np.nan) * area
    if isinstance(landcover, xr.DataArray):
        return xr.DataArray(out, coords=landcover.coords, dims=landcover.dims, attrs={"units": "kg/yr", "pollutant": canonical_pollutant(pollutant)})
    from gep.units import Q_

    return Q_(out, "kg/yr")
