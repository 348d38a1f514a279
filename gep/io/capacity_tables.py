"""Reading the tables of the water-ecological-capacity module.

* the GB 3838-2002 standards table (``gep/data/coefficients/gb3838-2002/standards.csv``):
  ``parameter, class, water_body, value, unit, bound, source, year, confidence, note``;
* export coefficients (``gep/data/coefficients/export-cn/export_coefficients.csv``):
  ``landcover, pollutant, value, unit, source, year, confidence, note``;
* a user's point-source table: ``source_id, catchment, pollutant, load, unit``
  (optionally ``vintage``).

Each shipped table is verified against the SHA-256 in its set's ``manifest.toml``;
the returned frame carries ``attrs['set'] = {'id', 'version', 'files'}`` so a run
manifest can record what was used. The science lives in :mod:`gep.capacity`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gep.errors import CoefficientError, InputError
from gep.io.coefficient_files import HEADER, check_hashes, find_set, read_header
from gep.io.tables import read_csv
from gep.units import parse_unit

CONFIDENCE = ("verified", "derived", "recalled", "assumed")
STANDARD_COLUMNS = ("parameter", "class", "water_body", "value", "unit", "bound", "source", "year", "confidence", "note")
EXPORT_COLUMNS = ("landcover", "pollutant", "value", "unit", "source", "year", "confidence", "note")
POINT_COLUMNS = ("source_id", "catchment", "pollutant", "load", "unit")
CLASSES = ("I", "II", "III", "IV", "V")
WATER_BODIES = ("river", "lake")

__all__ = ["read_standards", "read_export_coefficients", "read_point_sources", "STANDARD_COLUMNS", "EXPORT_COLUMNS", "POINT_COLUMNS"]


def _read_set_table(set_id: str, filename: str, required: tuple[str, ...], what: str, verify: bool) -> pd.DataFrame:
    folder = find_set(set_id)
    header = read_header(folder)
    if filename not in header.get("files", {}):
        raise CoefficientError(f"{folder / HEADER} does not list {filename}", hint=f"add \"{filename}\" and its SHA-256 to [files]")
    if verify:
        problems = check_hashes(folder, header)
        if problems:
            raise CoefficientError(
                f"coefficient set {header['id']} fails verification: {problems[0]}",
                hint="restore the file, or release a new set version with new hashes (a correction is a new version)",
            )
    df = read_csv(folder / filename, required, what)
    df.attrs["set"] = {"id": header["id"], "version": str(header["version"]), "files": dict(sorted(header["files"].items()))}
    return df


def _check_common(df: pd.DataFrame, path: str) -> pd.DataFrame:
    df = df.copy()
    values = pd.to_numeric(df["value"], errors="coerce")
    bad = values.isna() | ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise CoefficientError(f"{path}, line {i + 2}: value {df['value'].iloc[i]!r} is not a number", hint="write a plain number; put the unit in the unit column")
    if (values < 0).any():
        i = int(np.flatnonzero((values < 0).to_numpy())[0])
        raise CoefficientError(f"{path}, line {i + 2}: value {values.iloc[i]} is negative", hint="limits and export coefficients are >= 0")
    df["value"] = values.astype(float)
    df["unit"] = df["unit"].astype(str).str.strip()
    for unit, idx in df.groupby("unit").groups.items():
        parse_unit(unit, f"{path}, line {int(idx[0]) + 2}")
    conf = df["confidence"].astype(str).str.strip()
    badc = ~conf.isin(CONFIDENCE)
    if badc.any():
        i = int(np.flatnonzero(badc.to_numpy())[0])
        raise CoefficientError(f"{path}, line {i + 2}: confidence {conf.iloc[i]!r} is not one of {', '.join(CONFIDENCE)}", hint="tag how sure we are of the value")
    nosrc = df["source"].isna() | (df["source"].astype(str).str.strip() == "")
    if nosrc.any():
        i = int(np.flatnonzero(nosrc.to_numpy())[0])
        raise CoefficientError(f"{path}, line {i + 2}: no source", hint="every value needs a source (or 'assumed' with a note saying why)")
    return df


def _check_duplicates(df: pd.DataFrame, keys: list[str], path: str) -> None:
    dup = df.duplicated(keys, keep=False)
    if dup.any():
        first = df[dup].iloc[0]
        raise CoefficientError(f"{path}: {', '.join(f'{k}={first[k]}' for k in keys)} is defined twice", hint="keep one row per key")


def read_standards(set_id: str = "gb3838-2002", verify: bool = True) -> pd.DataFrame:
    """The GB 3838-2002 limits table, validated.

    Parameters
    ----------
    set_id : str
        Coefficient-set id or folder (default the shipped ``gb3838-2002``).
    verify : bool
        Check the file against the SHA-256 in the set's header (manifest.toml).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`STANDARD_COLUMNS`; ``value`` float in the row's ``unit``.
    """
    df = _read_set_table(set_id, "standards.csv", STANDARD_COLUMNS, "standards table", verify)
    path = df.attrs["path"]
    df = _check_common(df, path)
    for col in ("parameter", "class", "water_body", "bound"):
        df[col] = df[col].astype(str).str.strip()
    for col, allowed in (("class", CLASSES), ("water_body", WATER_BODIES), ("bound", ("min", "max"))):
        bad = ~df[col].isin(allowed)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise CoefficientError(f"{path}, line {i + 2}: {col} {df[col].iloc[i]!r} is not one of {', '.join(allowed)}", hint=f"use {', '.join(allowed)}")
    _check_duplicates(df, ["parameter", "class", "water_body"], path)
    return df


def read_export_coefficients(set_id: str = "export-cn", verify: bool = True) -> pd.DataFrame:
    """Export coefficients per land-cover code and pollutant, validated.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`EXPORT_COLUMNS`; ``landcover`` int, ``value`` float in
        the row's ``unit`` (an areal load rate such as ``kg/(ha*yr)``).
    """
    df = _read_set_table(set_id, "export_coefficients.csv", EXPORT_COLUMNS, "export-coefficient table", verify)
    path = df.attrs["path"]
    df = _check_common(df, path)
    codes = pd.to_numeric(df["landcover"], errors="coerce")
    bad = codes.isna() | (codes != codes.round())
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise CoefficientError(f"{path}, line {i + 2}: land-cover code {df['landcover'].iloc[i]!r} is not an integer", hint="use CNLUCC codes (11, 12, 21, ...)")
    df["landcover"] = codes.astype(np.int64)
    df["pollutant"] = df["pollutant"].astype(str).str.strip()
    _check_duplicates(df, ["landcover", "pollutant"], path)
    return df


def read_point_sources(path: str | Path) -> pd.DataFrame:
    """A point-source table (CSV): ``source_id, catchment, pollutant, load, unit[, vintage]``.

    Only structure is checked here (columns, numbers); units and signs are
    checked by :func:`gep.capacity.loads.point_loads`.
    """
    df = read_csv(path, POINT_COLUMNS, "point-source table")
    loads = pd.to_numeric(df["load"], errors="coerce")
    if loads.isna().any():
        i = int(np.flatnonzero(loads.isna().to_numpy())[0])
        raise InputError(f"{path}, line {i + 2}: load {df['load'].iloc[i]!r} is not a number", hint="write the load as a number and its unit in the unit column, e.g. 12.5,t/yr")
    df["load"] = loads.astype(float)
    return df
