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
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    """Rewrite a zip with fixed entry timestamps (and order) and fixed document dates, so equal content gives equal bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>2000-01-01T00:00:00Z\g<3>", body)
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, body)
    Path(path).write_bytes(out.getvalue())


def write_coverage_workbook(doc: dict, rows: list[dict], path: Path) -> None:
    """The ``gep bond coverage`` workbook: sheets inputs, cash_flows, summary, coverage and checks.

    ``doc`` is the coverage document (``coverage.json``), ``rows`` its per-period table. Every
    sheet is a :class:`Sheet` (bold, coloured and frozen header row, filter, number formats:
    CNY with thousands separators, ratios and probabilities to 4 decimals); fixed dates, so
    the bytes are reproducible.
    """
    d, sim = doc["debt"], doc["simulation"]
    items = [(f"debt {k}", d[k], u) for k, u in (("type", ""), ("name", ""), ("face_cny", "CNY"), ("coupon_rate", "1/yr"), ("frequency", "per yr"),
                                                   ("issue_date", ""), ("maturity_date", ""), ("day_count", ""))]
    items += [(f"loan {k}", v, "") for k, v in sorted((d.get("loan") or {}).items())]
    items += [(f"waterfall {k}", v, "CNY, months, 1/yr or share") for k, v in _flat(d.get("waterfall") or {}).items()]
    items += [(f"calendar {k}", v, "") for k, v in _flat(d.get("calendar") or {}).items()]
    items += [(f"simulation {k}", sim[k], "") for k in ("paths", "seed", "generator", "stream_generators", "discount_rate")]
    for st in doc["revenue"]["streams"]:
        for key, value in st.items():
            if isinstance(value, dict):
                items += [(f'stream "{st["name"]}" {key}.{k2}', v2, "") for k2, v2 in _flat(value).items()]
            elif key != "name":
                items.append((f'stream "{st["name"]}" {key}', value, ""))
    items += [(f"file {ref['role']}", ref.get("path") or ref.get("ledger"), ref.get("sha256") or ref.get("records_sha256")) for ref in doc["inputs"]]
    inputs = pd.DataFrame([(k, _cell(v) if not isinstance(v, (list, tuple)) else ", ".join(map(str, v)), u) for k, v, u in items],
                          columns=["item", "value", "unit / note"])

    names = list(doc["revenue_means"])
    flows = pd.DataFrame([{"period": r["period"], "payment_date": r["payment_date"], "outstanding_cny": r["outstanding_cny"], "coupon_cny": r["coupon_cny"],
                           "principal_cny": r["principal_cny"], "debt_service_cny": r["debt_service_cny"],
                           **{f"mean: {n} [CNY]": doc["revenue_means"][n][k] for n in names},
                           **{c: r[c] for c in ("revenue_mean_cny", "revenue_p5_cny", "revenue_p50_cny", "revenue_p95_cny")}} for k, r in enumerate(rows)])
    summary = pd.DataFrame(list(_flat(doc["summary"]).items()), columns=["measure", "value"])
    cols = ["period", "payment_date", "revenue_mean_cny", "revenue_mean_se_cny", "dscr_of_mean_revenue", "dscr_mean", "dscr_mean_se",
            "dscr_p5", "dscr_p50", "dscr_p95", "p_dscr_below_1", "p_dscr_below_1_se", "llcr_p5", "llcr_p50", "llcr_p95"]
    cols += [c for c in rows[0] if c not in cols and c not in flows.columns and c != "start"]  # waterfall columns
    coverage = pd.DataFrame([{c: r[c] for c in cols} for r in rows], columns=cols)
    checks = pd.DataFrame([{k: c[k] for k in ("check", "status", "value", "note")} for c in doc["checks"]], columns=["check", "status", "value", "note"])
    ratio = "0.0000"
    write_workbook(path, [
        Sheet("inputs", inputs, widths={"item": 48, "value": 40, "unit / note": 66}),
        Sheet("cash_flows", flows, formats={c: CNY2 for c in flows.columns if c.endswith("_cny") or c.endswith("[CNY]")}),
        Sheet("summary", summary, widths={"measure": 48, "value": 24}),
        Sheet("coverage", coverage, formats={c: CNY2 if c.endswith("_cny") else ratio for c in cols[2:]}),
        Sheet("checks", checks, widths={"check": 60, "status": 10, "value": 16, "note": 90}),
    ])


def write_impact_workbook(doc: dict, gep: pd.DataFrame, credits: pd.DataFrame, path: Path) -> None:
    """The ``gep bond impact`` workbook: sheets allocation, gep, credits, checks and inputs.

    ``doc`` is the impact document (``impact.json``); ``gep`` and ``credits`` its
    two tables (``impact.csv``, ``impact_credits.csv``). Deterministic bytes.
    """
    lines = pd.DataFrame(doc["use_of_proceeds"])
    inputs = {k: doc[k] for k in ("bond", "catalogue", "parameters", "runs", "ledger", "units") if doc.get(k) is not None}
    money = {c: CNY2 for c in ("amount_cny", "total_investment_cny", "gep_base_cny", "gep_cny", "gep_change_cny",
                               "attributable_cny", "proceeds_cny")}
    write_workbook(path, [
        Sheet("allocation", lines, {**money, "attribution_share": PCT}),
        Sheet("gep", gep, {**money, "attribution_share": PCT, "per_10k_cny": "#,##0.0000"}),
        Sheet("credits", credits, {**money, "attribution_share": PCT, "amount": QTY, "attributable": QTY,
                                   "per_10k_cny": "#,##0.000000"}),
        Sheet("checks", pd.DataFrame(doc["checks"], columns=["check", "status", "value", "note"]), wrap=True,
              widths={"check": 48, "note": 80}),
        Sheet("inputs", pd.DataFrame(list(_flat(inputs).items()), columns=["item", "value"]), widths={"item": 40}),
    ])


def _flat(d: Any, prefix: str = "") -> dict:
    if isinstance(d, dict):
        out: dict = {}
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    if isinstance(d, list) and any(isinstance(x, (dict, list)) for x in d):
        out = {}
        for i, x in enumerate(d):
            out.update(_flat(x, f"{prefix}{i}."))
        return out
    if isinstance(d, list):
        return {prefix[:-1]: ", ".join(str(x) for x in d)}
    return {prefix[:-1]: d}


def read_sheet(path: str | Path, name: str) -> pd.DataFrame:
    """Read one sheet back as a table (header in the first row)."""
    return pd.read_excel(path, sheet_name=name, engine="openpyxl")
