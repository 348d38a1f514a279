"""Writing a run's outputs: CSV (UTF-8 with BOM), Parquet, NetCDF, JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import xarray as xr

from gep.io.files import sha256_file


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """CSV in UTF-8 with BOM so Excel opens Chinese names correctly."""
    df.to_csv(path, index=False, encoding="utf-8-sig", float_format="%.10g", lineterminator="\n")


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    df.to_parquet(path, index=False)


def write_netcdf(ds: xr.Dataset, path: Path) -> None:
    """NetCDF4 (h5netcdf) with zlib compression of every data variable."""
    encoding = {v: {"zlib": True, "complevel": 4} for v in ds.data_vars if ds[v].dtype.kind in "fiu"}
    ds.to_netcdf(path, engine="h5netcdf", encoding=encoding)


def write_text(text: str, path: Path) -> None:
    path.write_text(text, encoding="utf-8")


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def hashes(folder: Path, names: list[str]) -> dict[str, str]:
    return {n: sha256_file(folder / n) for n in sorted(names)}


def read_run(folder: Path) -> tuple[xr.Dataset, xr.Dataset | None, dict | None]:
    """A written run folder: its account (``account.nc``), cells (``cells.nc``, if present) and manifest."""
    from gep.errors import InputError

    folder = Path(folder)
    account = read_account(folder)
    try:
        cells = xr.load_dataset(folder / "cells.nc", engine="h5netcdf") if (folder / "cells.nc").is_file() else None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the run in {folder}: {exc}", hint="re-run `gep run` to rewrite it") from exc
    manifest = read_json(folder / "manifest.json") if (folder / "manifest.json").is_file() else None
    return account, cells, manifest


def read_account(folder: Path) -> xr.Dataset:
    """The account (``account.nc``, zone × service × ecosystem) of a run folder, loaded."""
    from gep.errors import InputError

    acc = Path(folder) / "account.nc"
    if not acc.is_file():
        raise InputError(f"{folder} is not a run folder (no account.nc)", hint="give a scenario .toml or a folder written by `gep run`")
    try:
        return xr.load_dataset(acc, engine="h5netcdf")
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the run in {folder}: {exc}", hint="re-run `gep run` to rewrite it") from exc


def read_cells(path: Path, names: list[str]) -> tuple[dict, dict]:
    """Only the variables ``names`` of a per-cell NetCDF (``cells.nc``, ``delta_cells.nc``), and its attributes.

    Read with h5netcdf directly: nothing else of a file that may hold dozens of grids is
    decoded (a dashboard reads one grid in tens of milliseconds). ``_FillValue`` becomes NaN
    in floating-point grids; ``scale_factor``/``add_offset`` are applied when present.

    Returns
    -------
    (dict of str to numpy.ndarray, dict)
        The variables present among ``names`` (a missing one is left out), and the file's
        attributes (``crs``, ``transform``) plus ``grids``: the names of every (y, x) variable.
    """
    import h5netcdf
    import numpy as np

    from gep.errors import InputError

    try:
        with h5netcdf.File(path, "r") as f:
            attrs = dict(f.attrs)
            attrs["grids"] = [n for n, v in f.variables.items() if v.dimensions == ("y", "x")]
            values = {}
            for n in names:
                if n not in f.variables:
                    continue
                v = f.variables[n]
                a = v[...]
                fill = v.attrs.get("_FillValue")
                if fill is not None and a.dtype.kind == "f" and not np.isnan(fill):
                    a = np.where(a == fill, np.nan, a)
                if "scale_factor" in v.attrs or "add_offset" in v.attrs:
                    a = a * v.attrs.get("scale_factor", 1) + v.attrs.get("add_offset", 0)
                values[n] = a
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}", hint="re-run the command that wrote it") from exc
    return values, attrs
