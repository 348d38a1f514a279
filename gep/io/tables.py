"""CSV and TOML reading with clear errors, and table writing.

Column units: a table column may carry its unit in brackets in the header,
e.g. ``gdp [yi_CNY]``; :func:`split_unit_header` separates name and unit.
"""

from __future__ import annotations

import io
import re
import tomllib
from pathlib import Path

import pandas as pd

from gep.errors import InputError, ScenarioError

_HEADER = re.compile(r"^\s*(?P<name>[^\[\]]+?)\s*(\[(?P<unit>[^\]]*)\])?\s*$")


def split_unit_header(column: str) -> tuple[str, str | None]:
    """Split ``'gdp [yi_CNY]'`` into ``('gdp', 'yi_CNY')``; no brackets gives ``(name, None)``."""
    m = _HEADER.match(str(column))
    if not m:
        return str(column).strip(), None
    return m.group("name"), m.group("unit")


def read_csv(path: str | Path, required: list[str] | tuple[str, ...] = (), what: str = "table", dtype: dict | None = None) -> pd.DataFrame:
    """Read a UTF-8 CSV (BOM tolerated) and check that ``required`` columns exist.

    Leading lines starting with ``#`` are comments (a table may explain itself).
    Columns are renamed to their bare names; units from ``name [unit]`` headers
    are kept in ``df.attrs['units']`` (name -> unit string).
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


def read_toml(path: str | Path, what: str = "file") -> dict:
    """Parse a TOML file; a syntax error names the file, line and column."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} not found: {path}", hint="check the path")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"malformed TOML in {path}: {exc}", hint="fix the TOML syntax at the line shown") from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path} is not UTF-8 text", hint="save the file as UTF-8") from exc
