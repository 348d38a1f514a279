"""Excel workbooks for people who do not program (openpyxl).

Each sheet is a table with a bold, frozen header row, an auto-filter, column
widths fitted to the content and number formats per column (CNY with
thousands separators, percentages, quantities). The file is deterministic:
fixed document dates and zip timestamps, so the same tables give the same
bytes (and the same SHA-256 in a manifest).
"""

from __future__ import annotations

import datetime as _dt
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

#: Number formats.
CNY = "#,##0"
CNY2 = "#,##0.00"
PCT = "0.00%"
QTY = "#,##0.###"
HA = "#,##0.00"
#: Fixed timestamp written into the file (determinism).
FIXED_TIME = _dt.datetime(2000, 1, 1)


@dataclass
class Sheet:
    """One worksheet: a table, number formats per column and optional column widths."""

    name: str
    frame: pd.DataFrame
    formats: dict[str, str] = field(default_factory=dict)
    widths: dict[str, float] = field(default_factory=dict)
    wrap: bool = False


def _cell(v):
    if v is None:
        return None
    if isinstance(v, (np.floating, float)):
        return None if not np.isfinite(v) else float(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (dict, list)):
        import json

        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    return v


def write_workbook(path: str | Path, sheets: list[Sheet]) -> None:
    """Write the sheets to an ``.xlsx`` file (see the module notes)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    head_font = Font(bold=True, color="FFFFFF")
    head_fill = PatternFill("solid", fgColor="2F7D4F")
    for sh in sheets:
        ws = wb.create_sheet(sh.name[:31])
        df = sh.frame.reset_index(drop=True)
        cols = [str(c) for c in df.columns]
        ws.append(cols)
        for row in df.itertuples(index=False, name=None):
            ws.append([_cell(v) for v in row])
        for j, c in enumerate(cols, start=1):
            cell = ws.cell(row=1, column=j)
            cell.font, cell.fill = head_font, head_fill
            cell.alignment = Alignment(vertical="center", wrap_text=False)
            letter = get_column_letter(j)
            fmt = sh.formats.get(c)
            if fmt and len(df):
                for (cell,) in ws.iter_rows(min_row=2, max_row=len(df) + 1, min_col=j, max_col=j):
                    cell.number_format = fmt
            if sh.wrap:
                for (cell,) in ws.iter_rows(min_row=2, max_row=len(df) + 1, min_col=j, max_col=j):
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
            if c in sh.widths:
                width = sh.widths[c]
            else:
                sample = [len(c)] + [len(f"{v:,.0f}") if isinstance(v, (int, float, np.number)) and np.isfinite(v) else len(str(v)) for v in df[df.columns[j - 1]].head(500)]
                width = min(60, max(sample) + 2)
            ws.column_dimensions[letter].width = width
        ws.freeze_panes = "A2"
        if len(df):
            ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{len(df) + 1}"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    wb.properties.creator = "gep"
    buf = io.BytesIO()
    wb.save(buf)
    _deterministic_zip(buf.getvalue(), Path(path))


def _deterministic_zip(data: bytes, path: Path) -> None:
    """Rewrite a zip with fixed entry timestamps (and order), so equal content gives equal bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, src.read(info.filename))
    Path(path).write_bytes(out.getvalue())


def read_sheet(path: str | Path, name: str) -> pd.DataFrame:
    """Read one sheet back as a table (header in the first row)."""
    return pd.read_excel(path, sheet_name=name, engine="openpyxl")
