"""Account statements written as CSV, xlsx or HTML.

The statement comes as plain data, :meth:`gep.ledger.statements.Statement.document`:
``{"meta": {field: value}, "summary": [row], "summary_fields": (...), "lines": [row],
"line_fields": (...)}``, the header holding ``account``, ``from`` and ``to``.

* **CSV** (UTF-8 with BOM, so spreadsheet programs read the Chinese text): ``#`` comment
  lines with the header (account, period, ledger, signed tree head), then one row per
  instrument's opening balance (``type`` = ``opening``), every movement in order, and one
  row per closing balance (``closing``); columns :data:`gep.ledger.statements.LINE_FIELDS`.
* **xlsx**: sheets ``statement`` (the header), ``summary`` (per instrument: opening, credits,
  debits, closing) and ``lines`` (:mod:`gep.io.workbook`; deterministic bytes).
* **HTML**: one self-contained page (no script, no external file) with the same three parts.

Every file is written whole or not at all (temporary file, then rename).
"""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path

from typing import Mapping

from gep.errors import InputError
from gep.io.ledger_files import write_bytes

__all__ = ["FORMATS", "write_statement", "render_csv", "render_html"]

FORMATS = ("csv", "xlsx", "html")


def _balance_rows(st: Mapping, which: str) -> list[dict]:
    day = st["meta"]["from" if which == "opening" else "to"]
    return [{"date": day, "type": which, "instrument": s["instrument"], "amount": s[which], "display": s[f"{which}_display"],
             "balance": s[which], "balance_display": s[f"{which}_display"]} for s in st["summary"]]


def render_csv(st: Mapping) -> bytes:
    """The statement as CSV bytes (see the module docstring)."""
    buf = io.StringIO()
    for k, v in st["meta"].items():
        buf.write(f"# {k}: {v if v is not None else ''}\n")
    w = csv.DictWriter(buf, fieldnames=st["line_fields"], extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for row in _balance_rows(st, "opening") + list(st["lines"]) + _balance_rows(st, "closing"):
        w.writerow(row)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _table(rows: list[dict], fields: tuple[str, ...]) -> str:
    head = "".join(f"<th>{html.escape(f)}</th>" for f in fields)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(r.get(f, '')))}</td>" for f in fields) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(st: Mapping) -> bytes:
    """The statement as one self-contained HTML page."""
    meta = st["meta"]
    header = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v) if v is not None else '')}</td></tr>" for k, v in meta.items())
    title = f"Statement of {meta['account']}, {meta['from']} to {meta['to']}"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin:1em 0}}th,td{{border:1px solid #bbb;padding:.25em .5em;text-align:left}}
thead th{{background:#2f7d4f;color:#fff}}td{{font-variant-numeric:tabular-nums}}</style></head>
<body><h1>{html.escape(title)}</h1>
<p>Drawn from the rights ledger at the registry-signed tree head below: check it with <code>gep ledger verify --head</code>;
a certificate of any line: <code>gep ledger certificate issue SEQ</code>. Dates are Beijing dates; times are UTC.</p>
<table>{header}</table>
<h2>Summary</h2>{_table(st["summary"], st["summary_fields"])}
<h2>Movements</h2>{_table(st["lines"], st["line_fields"])}
</body></html>
"""
    return page.encode("utf-8")


def _write_xlsx(st: Mapping, path: Path) -> None:
    import tempfile

    import pandas as pd

    from gep.io.workbook import Sheet, write_workbook

    meta = pd.DataFrame([{"field": k, "value": "" if v is None else str(v)} for k, v in st["meta"].items()])
    sheets = [Sheet("statement", meta), Sheet("summary", pd.DataFrame(st["summary"], columns=list(st["summary_fields"]))),
              Sheet("lines", pd.DataFrame(st["lines"], columns=list(st["line_fields"])))]
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        out = Path(tmp) / "statement.xlsx"
        write_workbook(out, sheets)
        write_bytes(path, out.read_bytes())


def write_statement(st: Mapping, path: str | Path, fmt: str | None = None) -> str:
    """Write the statement ``st`` (see the module notes) to ``path`` as ``fmt`` (``csv``, ``xlsx``, ``html``; default: from the file's suffix); return the format."""
    p = Path(path)
    given = fmt
    fmt = fmt or p.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise InputError(f"statement format {fmt!r} is not one of {', '.join(FORMATS)}", hint="a file ending in .csv, .xlsx or .html, or the format",
                         key="format" if given else "out")
    if not p.parent.is_dir():
        raise InputError(f"cannot write {p}: folder {p.parent} does not exist", hint="create the folder first", key="out")
    if fmt == "csv":
        write_bytes(p, render_csv(st))
    elif fmt == "html":
        write_bytes(p, render_html(st))
    else:
        _write_xlsx(st, p)
    return fmt
