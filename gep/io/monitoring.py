"""Reading monitoring data: section water-quality series and section tables.

File access only: the functions return plain tables; cleaning, units, detection
limits and periods are :mod:`gep.monitoring.series`. Agreements and targets are
TOML files read with :func:`gep.io.tables.read_toml`.

Series file (CSV or Parquet), one row per section, time and parameter::

    section,time,parameter,value,unit,flag
    S01,2023-01-05,CODMn,3.2,mg/L,
    S01,2023-01-05,NH3-N,0.025,mg/L,L

CSV files may start with ``#`` comment lines. Columns ``flag`` and
``detection_limit`` are optional (``docs/monitoring.md``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gep.errors import InputError
from gep.io.tables import read_csv

__all__ = ["SERIES_COLUMNS", "SECTION_COLUMNS", "read_series", "read_sections", "read_realised", "read_calibration", "run_folders", "read_account", "read_cells"]

#: Required columns of a monitoring series.
SERIES_COLUMNS = ("section", "time", "parameter", "value", "unit")
#: Required columns of a section table.
SECTION_COLUMNS = ("section",)
#: Columns read as text (ids, flags, and values that may be written ``<0.01``).
_TEXT = {"section": str, "parameter": str, "unit": str, "flag": str, "value": str, "reach": str, "county": str}


def read_series(path: str | Path) -> pd.DataFrame:
    """Read a monitoring series (CSV or Parquet) as it is stored.

    Parameters
    ----------
    path : str or Path
        ``.csv`` (UTF-8, ``#`` comment lines allowed) or ``.parquet``.

    Returns
    -------
    pandas.DataFrame
        The stored columns (``value`` as text for CSV), ``attrs['path']`` set and
        a 1-based ``row`` column (the data row, for error messages).

    Raises
    ------
    InputError
        Missing file, unreadable file, unknown suffix or a missing column.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        df = read_csv(path, SERIES_COLUMNS, "monitoring series", dtype=_TEXT)
    elif suffix in (".parquet", ".pq"):
        if not path.is_file():
            raise InputError(f"monitoring series file not found: {path}", hint="check the path")
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types for a bad file
            raise InputError(f"cannot read monitoring series {path}: {exc}", hint="write it with pandas.DataFrame.to_parquet") from exc
        missing = [c for c in SERIES_COLUMNS if c not in df.columns]
        if missing:
            raise InputError(f"monitoring series {path} lacks column(s) {', '.join(missing)}",
                             hint=f"the columns must include: {', '.join(SERIES_COLUMNS)} (optional: flag, detection_limit)")
        df.attrs["units"] = {}
    else:
        raise InputError(f"monitoring series {path} is neither .csv nor .parquet", hint="save the series as CSV (UTF-8) or Parquet")
    df = df.reset_index(drop=True)
    df["row"] = range(1, len(df) + 1)
    df.attrs["path"] = str(path)
    return df


def read_sections(path: str | Path) -> pd.DataFrame:
    """Read a section table (``section`` plus optional ``name, water_body, target_class, reach, zone, county``)."""
    df = read_csv(path, SECTION_COLUMNS, "section table", dtype=_TEXT)
    df["section"] = df["section"].astype(str).str.strip()
    dup = df["section"].duplicated()
    if dup.any():
        raise InputError(f"section table {path}: section {df['section'][dup].iloc[0]!r} is listed twice", hint="one row per section")
    return df


def read_realised(path: str | Path) -> pd.DataFrame:
    """Read a realised-value table: ``zone, year, realised [money unit]`` (unit in ``attrs['units']``)."""
    return read_csv(path, ("zone", "year", "realised"), "realised-value table")


def read_calibration(path: str | Path) -> pd.DataFrame:
    """Read the ``calibration.csv`` of a ``gep monitoring calibrate`` run (parameters and intervals)."""
    df = read_csv(path, ("parameter", "kind", "reach", "pollutant", "estimate"), "calibration table", dtype={"reach": str})
    df["reach"] = df["reach"].fillna("")
    return df


def run_folders(paths: list[Path]) -> list[Path]:
    """Run folders of ``gep run`` (with ``account.nc``); a series folder gives its year folders.

    Raises
    ------
    InputError
        A path that is neither a run folder nor a series folder.
    """
    out = []
    for p in map(Path, paths):
        if (p / "account.nc").is_file():
            out.append(p)
            continue
        years = sorted(d for d in p.glob("*") if d.is_dir() and (d / "account.nc").is_file()) if p.is_dir() else []
        if not years:
            raise InputError(f"{p} is not a run folder (no account.nc) nor a series folder", hint="give folders written by `gep run` (a series folder holds one folder per year)", key="runs")
        out.extend(years)
    return out


def read_account(folder: Path):
    """The account (``account.nc``, an :class:`xarray.Dataset`) of a run folder, loaded."""
    import xarray as xr

    path = Path(folder) / "account.nc"
    try:
        return xr.load_dataset(path, engine="h5netcdf")
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}", hint="re-run `gep run` to rewrite it") from exc


def read_cells(folder: Path, variables: tuple[str, ...]) -> dict:
    """Some variables of a run's ``cells.nc`` as numpy arrays, with their attributes (``<name>.attrs``)."""
    import numpy as np
    import xarray as xr

    path = Path(folder) / "cells.nc"
    if not path.is_file():
        raise InputError(f"{folder} has no cells.nc", hint="re-run `gep run` for that year (it writes cells.nc)", key="runs")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            missing = [v for v in variables if v not in ds.variables]
            if missing:
                raise InputError(f"{path} lacks {', '.join(missing)}", hint="re-run `gep run` with this gep")
            out = {v: np.asarray(ds[v].values) for v in variables}
            out.update({f"{v}.attrs": dict(ds[v].attrs) for v in variables})
            return out
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}", hint="re-run `gep run` to rewrite it") from exc
