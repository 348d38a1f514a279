"""``report.html``: one self-contained page for people (summary, tables, maps and charts; Chinese and English names).

The page embeds its images and a subset of the shipped CJK font (:func:`gep.io.charts.shipped_cjk_font`) holding
exactly the Chinese characters it shows, so it renders on a machine without a CJK font and opens
without network access. Rendered with Jinja2 (``templates/report.html.j2``).
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import pandas as pd

from gep import cache_dir
from gep.units import format_money, format_number, money_scale, pretty_unit

#: Characters drawn with the CJK font: CJK ideographs and punctuation, full-width forms.
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\u3000-\u303f]")


def _b64(path: Path) -> str:
    return base64.b64encode(Path(path).read_bytes()).decode("ascii")


def font_subset(text: str) -> str:
    """The shipped CJK font cut down to the CJK characters of ``text``, as base64 WOFF ('' when there are none).

    Cut once per font and set of characters, then read from the user's cache (:func:`cache_dir`); the WOFF
    keeps the shipped font's timestamps, so the same characters always give the same bytes.
    """
    import hashlib

    from gep.errors import InputError
    from gep.io.charts import shipped_cjk_font
    from gep.io.ledger_files import write_bytes

    chars = "".join(sorted(set(_CJK.findall(text))))
    if not chars:
        return ""
    source = shipped_cjk_font()
    key = hashlib.sha256(source.read_bytes() + chars.encode("utf-8")).hexdigest()[:32]
    cached = cache_dir() / f"cjk-{key}.woff"
    try:
        data = cached.read_bytes()
    except OSError:  # not cut yet, or no cache
        data = _cut_font(source, chars)
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            write_bytes(cached, data)
        except (OSError, InputError):  # a read-only or full disk: the next report cuts the font again
            pass
    return base64.b64encode(data).decode("ascii")


def _cut_font(source: Path, chars: str) -> bytes:
    """The WOFF subset of font ``source`` holding ``chars`` (fontTools), its timestamps kept."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(str(source), recalcTimestamp=False)
    opts = subset.Options()
    opts.flavor = "woff"
    opts.name_IDs = ["*"]
    opts.notdef_outline = True
    opts.hinting = False
    sub = subset.Subsetter(opts)
    sub.populate(text=chars)
    sub.subset(font)
    buf = io.BytesIO()
    font.flavor = "woff"
    font.save(buf)
    return buf.getvalue()


def _html_table(df: pd.DataFrame) -> str:
    return df.to_html(index=False, border=0, na_rep="—", escape=True, justify="left")


def write_report(path: Path, summary: dict, names_zh: dict[str, str], category_zh: dict[str, str], zones: pd.DataFrame,
                 tables: list[tuple[str, str, pd.DataFrame]], maps: list[tuple[Path, str]], charts: list[tuple[Path, str]],
                 files: list[str], scenario_file: str, version: str) -> None:
    """Write ``report.html``.

    Parameters
    ----------
    summary : dict
        The run's summary (:meth:`gep.accounting.compute.RunResult.summary`).
    names_zh, category_zh : dict
        Chinese names of the services and categories.
    zones : DataFrame
        Per zone: GEP, GDP and GEP/GDP (money in CNY, shown in 万元 or 亿元).
    tables : list of (title, note, DataFrame)
        Further tables (carbon stock, water yield, parcels).
    maps, charts : list of (PNG path, caption)
        Embedded images.
    files : list of str
        The run folder's files, listed at the end.
    """
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    s = summary
    scale = money_scale([s["gep_total_cny"]])
    total = s["gep_total_cny"] or 1.0
    cats = []
    for cat, value in s["categories"].items():
        rows = sorted(((sid, v) for sid, v in s["services"].items() if v["category"] == cat), key=lambda kv: -kv[1]["value_cny"])
        cats.append({"name": cat, "name_zh": category_zh.get(cat, ""), "value": f"{value / scale[0]:,.2f}", "share": f"{value / total:.1%}",
                     "rows": [{"id": sid, "name_zh": names_zh.get(sid, ""), "method": v["method"],
                               "quantity": format_number(v["quantity"]), "unit": pretty_unit(v["unit"]),
                               "value": f"{v['value_cny'] / scale[0]:,.2f}", "share": f"{v['value_cny'] / total:.1%}"} for sid, v in rows]})
    shown_zones = _money_columns(zones)
    extra = [{"title": title, "note": note, "html": _html_table(frame)} for title, note, frame in tables]
    env = Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")), autoescape=select_autoescape(["html", "j2"]))
    template = env.get_template("report.html.j2")
    context = dict(s=_Attrs(s), money=format_money, scale=scale, categories=cats, total=f"{s['gep_total_cny'] / scale[0]:,.2f}",
                   zones=_html_table(shown_zones), extra_tables=extra, files=files, scenario_file=scenario_file, version=version,
                   maps=[{"data": _b64(p), "alt": a} for p, a in maps if Path(p).is_file()],
                   charts=[{"data": _b64(p), "alt": a} for p, a in charts if Path(p).is_file()], font="")
    draft = template.render(**context)
    context["font"] = font_subset(draft)
    Path(path).write_text(template.render(**context), encoding="utf-8")


def _money_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Columns ``*_cny`` shown in 万元 or 亿元 (one unit per column, by its largest value), others rounded."""
    out = df.copy()
    for col in df.columns:
        if col.endswith("_cny"):
            div, unit = money_scale(df[col].fillna(0))
            out[col] = df[col].map(lambda v: "—" if pd.isna(v) else f"{v / div:,.2f}")
            out = out.rename(columns={col: f"{col[:-4]} [{unit}]"})
        elif df[col].dtype.kind == "f":
            out[col] = df[col].map(lambda v: "—" if pd.isna(v) else f"{v:,.4g}")
    return out


class _Attrs(dict):
    """A dict whose keys read as attributes in the template (missing keys are None)."""

    def __getattr__(self, name):
        value = self.get(name)
        return _Attrs(value) if isinstance(value, dict) else value
