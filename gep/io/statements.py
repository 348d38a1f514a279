"""Account statements written as CSV, xlsx or HTML (:class:`gep.ledger.statements.Statement`).

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

from gep.io.ledger_files import write_bytes
from gep.ledger.errors import InvalidRequest
from gep.ledger.statements import LINE_FIELDS, SUMMARY_FIELDS, Statement

__all__ = ["FORMATS", "write_statement", "render_csv", "render_html"]

FORMATS = ("csv", "xlsx", "html")


def _balance_rows(st: Statement, which: str) -> list[dict]:
    day = st.start if which == "opening" else st.end
    return [{"date": day.isoformat(), "type": which, "instrument": s["instrument"], "amount": s[which], "display": s[f"{which}_display"],
             "balance": s[which], "balance_display": s[f"{which}_display"]} for s in st.summary]


def render_csv(st: Statement) -> bytes:
    """The statement as CSV bytes (see the module docstring)."""
    buf = io.StringIO()
    for k, v in st.meta().items():
        buf.write(f"# {k}: {v if v is not None else ''}\n")
    w = csv.DictWriter(buf, fieldnames=LINE_FIELDS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for row in _balance_rows(st, "opening") + st.lines + _balance_rows(st, "closing"):
        w.writerow(row)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _table(rows: list[dict], fields: tuple[str, ...]) -> str:
    head = "".join(f"<th>{html.escape(f)}</th>" for f in fields)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(r.get(f, '')))}</td>" for f in fields) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(st: Statement) -> bytes:
    """The statement as one self-contained HTML page."""
    meta = st.meta()
    header = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v) if v is not None else '')}</td></tr>" for k, v in meta.items())
    title = f"Statement of {st.account}, {st.start} to {st.end}"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin:1em 0}}th,td{{border:1px solid #bbb;padding:.25em .5em;text-align:left}}
thead th{{background:#2f7d4f;color:#fff}}td{{font-variant-numeric:tabular-nums}}</style></head>
<body><h1>{html.escape(title)}</h1>
<p>Drawn from the rights ledger at the registry-signed tree head below: check it with <code>gep ledger verify --head</code>;
a certificate of any line: <code>gep ledger certificate issue SEQ</code>. Dates are Beijing dates; times are UTC.</p>
<table>{header}</table>
<h2>Summary</h2>{_table(st.summary, SUMMARY_FIELDS)}
<h2>Movements</h2>{_table(st.lines, LINE_FIELDS)}
</body></html>
"""
    return page.encode("utf-8")


def _write_xlsx(st: Statement, path: Path) -> None:
    import tempfile

    import pandas as pd

    from gep.io.workbook import Sheet, write_workbook

    meta = pd.DataFrame([{"field": k, "value": "" if v is None else str(v)} for k, v in st.meta().items()])
    sheets = [Sheet("statement", meta), Sheet("summary", pd.DataFrame(st.summary, columns=list(SUMMARY_FIELDS))),
              Sheet("lines", pd.DataFrame(st.lines, columns=list(LINE_FIELDS)))]
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        out = Path(tmp) / "statement.xlsx"
        write_workbook(out, sheets)
        write_bytes(path, out.read_bytes())


def write_statement(st: Statement, path: str | Path, fmt: str | None = None) -> str:
    """Write ``st`` to ``path`` as ``fmt`` (``csv``, ``xlsx``, ``html``; default: from the file's suffix); return the format."""
    p = Path(path)
    fmt = fmt or p.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise InvalidRequest(f"statement format {fmt!r} is not one of {', '.join(FORMATS)}", hint="give --format or a file ending in .csv, .xlsx or .html")
    if not p.parent.is_dir():
        raise InvalidRequest(f"cannot write {p}: folder {p.parent} does not exist")
    if fmt == "csv":
        write_bytes(p, render_csv(st))
    elif fmt == "html":
        write_bytes(p, render_html(st))
    else:
        _write_xlsx(st, p)
    return fmt
