"""CSV tables: reading with clear errors and units from the column headers.

Column units: a table column may carry its unit in brackets in the header,
e.g. ``gdp [yi_CNY]``; :func:`split_unit_header` separates name and unit.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from gep.errors import InputError
from gep.units import affine

_HEADER = re.compile(r"^\s*(?P<name>[^\[\]]+?)\s*(\[(?P<unit>[^\]]*)\])?\s*$")


def split_unit_header(column: str) -> tuple[str, str | None]:
    """Split ``'gdp [yi_CNY]'`` into ``('gdp', 'yi_CNY')``; no brackets gives ``(name, None)``."""
    m = _HEADER.match(str(column))
    if not m:
        return str(column).strip(), None
    return m.group("name"), m.group("unit")


def read_csv(path: str | Path, required: list[str] | tuple[str, ...] = (), what: str = "table", dtype: dict | None = None,
             lowercase: bool = False) -> pd.DataFrame:
    """Read a UTF-8 CSV (BOM tolerated) and check that ``required`` columns exist.

    Leading lines starting with ``#`` are comments (a table may explain itself).
    Columns are renamed to their bare names; units from ``name [unit]`` headers
    are kept in ``df.attrs['units']`` (name -> unit string). With ``lowercase``
    the names are lower-cased first (InVEST reads its tables' headers so:
    ``C_above`` is ``c_above``).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} file not found: {path}", hint="check the path (relative paths are relative to the scenario file)")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
        start = 0
        while start < len(lines) and (lines[start].lstrip().startswith("#") or not lines[start].strip()):
            start += 1
        df = pd.read_csv(io.StringIO("\n".join(lines[start:])), skipinitialspace=True, dtype=dtype)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"cannot read {what} {path}: {exc}".rstrip(), hint="save it as UTF-8 comma-separated CSV with a header row") from exc
    units: dict[str, str] = {}
    names = []
    for col in df.columns:
        name, unit = split_unit_header(col)
        name = name.lower() if lowercase else name
        names.append(name)
        if unit is not None:
            units[name] = unit
    df.columns = names
    df.attrs["first_row_line"] = start + 2  # file line of the first data row (after comments and header)
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(
            f"{what} {path} lacks column(s) {', '.join(missing)}",
            hint=f"the header must contain: {', '.join(required)} (found: {', '.join(map(str, df.columns))})",
        )
    df.attrs["units"] = units
    df.attrs["path"] = str(path)
    return df


#: Required columns of a zone table.
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
