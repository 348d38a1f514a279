"""Charts for people (PNG files from plain tables and arrays; matplotlib, imported on first use).

Value by service and zone (``gep run``), ΔGEP waterfall, zone bars and per-cell map
(``gep compare``), GEP per year (series), the revenue/DSCR fan (``gep bond coverage``),
the impact bars (``gep bond impact``) and the tornado and distribution charts (``gep uncertainty``).

Chinese text (names of services, classes, towns, bonds) is drawn with the CJK font
shipped with gep, or another CJK-capable font known to matplotlib (:func:`cjk_font`). Without one,
charts that may carry such text label it with an ASCII fallback
(:func:`drawable`) and keep matplotlib's missing-glyph warnings quiet
(:func:`cjk_text`), instead of printing one warning per character.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

#: A character every CJK font has (中, U+4E2D): the test of a font's CJK coverage.
CJK_PROBE = 0x4E2D
#: Fonts that claim every character but draw placeholder boxes (matplotlib's last-resort font).
PLACEHOLDER_FONTS = ("Last Resort",)


#: The CJK font shipped with gep (a subset of Noto Sans CJK SC: gep/data/fonts/subset.py).
CJK_FONT_FILE = "gep-cjk.otf"


def shipped_cjk_font() -> Path:
    """Path of the CJK font shipped with gep (OpenType, SIL OFL 1.1)."""
    from gep.io.files import package_data

    return package_data("fonts", CJK_FONT_FILE)


def _pyplot() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg back end, with the CJK font (:func:`cjk_font`) as the
    fallback for Chinese glyphs (so service, class and town names render on a machine without a CJK font)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = cjk_font()
    if font is not None and font not in matplotlib.rcParams["font.family"]:
        matplotlib.rcParams["font.family"] = ["DejaVu Sans", font]
    return plt


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The family name of a font with CJK glyphs known to matplotlib, or None.

    The font shipped with gep (:func:`shipped_cjk_font`) when it is there; else any installed font, or one registered with
    ``matplotlib.font_manager.fontManager.addfont``, that covers U+4E2D counts.
    Cached: call ``cjk_font.cache_clear()`` after registering a font.
    """
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    path = shipped_cjk_font()
    if path.is_file():  # the shipped font, registered on first use
        if not any(f.fname == str(path) for f in font_manager.fontManager.ttflist):
            import logging

            logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # the subset has no bold face: regular is used
            font_manager.fontManager.addfont(str(path))
        return font_manager.FontProperties(fname=str(path)).get_name()
    for entry in sorted(font_manager.fontManager.ttflist, key=lambda f: (f.name, f.fname)):
        if entry.name.startswith(PLACEHOLDER_FONTS):
            continue
        try:
            if CJK_PROBE in FT2Font(entry.fname).get_charmap():
                return entry.name
        except (OSError, RuntimeError):  # an unreadable font file is skipped
            continue
    return None


@lru_cache(maxsize=1)
def _default_glyphs() -> frozenset[int]:
    """Code points the default sans-serif font draws."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    return frozenset(FT2Font(font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]))).get_charmap())


def drawable(text: str, fallback: str = "") -> str:
    """``text`` as the charts can draw it.

    Unchanged when a CJK font is available or every character has a glyph in the
    default font. Otherwise ``fallback`` (an ASCII label, e.g. the input file's
    name), or without one the text with the characters that have no glyph
    dropped (runs of them become one space).
    """
    if cjk_font() is not None:
        return text
    glyphs = _default_glyphs()
    if all(ord(c) in glyphs or c.isspace() for c in text):
        return text
    if fallback:
        return fallback
    kept = re.sub(r"\(\s*\)|\[\s*\]", "", "".join(c if ord(c) in glyphs else " " for c in text))
    return re.sub(r"[^\S\n]+", " ", kept).strip()


@contextlib.contextmanager
def cjk_text() -> Iterator[None]:
    """Draw inside this block with a CJK font when one is available; without one, keep
    matplotlib's missing-glyph warnings quiet (the text was made :func:`drawable`)."""
    import matplotlib

    font = cjk_font()
    if font is not None:
        with matplotlib.rc_context({"font.family": list(matplotlib.rcParams["font.family"]) + [font]}):  # glyph fallback
            yield
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from (current )?font", category=UserWarning)
        yield


CATEGORY_COLOURS = {"provisioning": "#c98a2b", "regulating": "#2f7d4f", "cultural": "#3c6fb0"}


def value_by_service_zone(table: pd.DataFrame, path: Path, title: str) -> None:
    """Stacked bar chart: value per zone, one colour per service (亿元, 万元 or 元 by magnitude)."""
    plt = _pyplot()
    pivot = table.pivot_table(index="zone_name", columns="service", values="value_cny", aggfunc="sum", fill_value=0.0)
    div, lab = money_scale(pivot.sum(axis=0))
    pivot = pivot / div
    pivot = pivot.loc[pivot.sum(axis=1).sort_values(ascending=False).index]
    order = pivot.sum(axis=0).sort_values(ascending=False).index
    pivot = pivot[order]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 6), gridspec_kw={"width_ratios": [1, 1.6]})
    totals = pivot.sum(axis=0)
    cats = table.drop_duplicates("service").set_index("service")["category"]
    ax1.barh(totals.index[::-1], totals.values[::-1], color=[CATEGORY_COLOURS.get(cats.get(s), "grey") for s in totals.index[::-1]])
    ax1.set_xlabel(f"value [{lab}/yr]")
    ax1.set_title("by service")
    for i, v in enumerate(totals.values[::-1]):
        ax1.text(v, i, f" {v:,.2f}", va="center", fontsize=8)
    cmap = plt.get_cmap("tab20")
    left = np.zeros(len(pivot))
    for k, service in enumerate(pivot.columns):
        ax2.barh(pivot.index[::-1], pivot[service].values[::-1], left=left[::-1], color=cmap(k % 20), label=service)
        left = left + pivot[service].values
    ax2.set_xlabel(f"value [{lab}/yr]")
    ax2.set_title("by zone")
    ax2.legend(fontsize=7, loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- scenario reports


def money_scale(values) -> tuple[float, str]:
    """Divisor and label for money axes: 亿元, 万元 or 元 by magnitude (:func:`gep.units.money_scale`)."""
    from gep.units import money_scale as scale

    return scale(values)


def _nice_length(span: float) -> float:
    """A round scale-bar length (1, 2 or 5 × 10^k) close to a fifth of ``span``."""
    target = span / 5.0
    if target <= 0:
        return 1.0
    k = np.floor(np.log10(target))
    for m in (5.0, 2.0, 1.0):
        if m * 10**k <= target:
            return m * 10**k
    return 10**k


def delta_map(delta: np.ndarray, cell_area: np.ndarray, zone_index: np.ndarray | None, transform, geographic: bool, path: Path, title: str) -> None:
    """Map of the per-cell change of GEP [CNY/ha per year] (ALT − BASE), diverging colours (:func:`cell_map`)."""
    total = float(np.nansum(delta))
    div, lab = money_scale([total])
    cell_map(delta, cell_area, zone_index, transform, geographic, path,
             f"{title}\nΣ ΔGEP = {total / div:+,.2f} {lab}/yr; grey: outside the region",
             "ΔGEP [元/ha per year] (ALT − BASE; colour scale clipped at the 99th percentile)", diverging=True)


def gep_map(value: np.ndarray, cell_area: np.ndarray, zone_index: np.ndarray | None, transform, geographic: bool, path: Path, title: str,
            total: float | None = None, shape: tuple[int, int] | None = None) -> None:
    """Map of GEP per cell [CNY/ha per year] of a single run (:func:`cell_map`); ``value`` may be float32 (summed in float64).

    ``total`` [CNY/yr]: the sum of ``value`` over the whole grid when ``value`` is a sample of it (``shape``: :func:`cell_map`).
    """
    total = float(np.nansum(value, dtype=np.float64)) if total is None else float(total)
    cell_map(value, cell_area, zone_index, transform, geographic, path, f"{title}\nGEP = {_money(total)}/yr; grey: outside the region",
             "GEP [元/ha per year] (colour scale clipped at the 99th percentile)", diverging=False, shape=shape)


#: Cells a side of the grid a map draws at most (one in every :func:`map_step` cells).
MAP_CELLS = 2000


def map_step(shape: tuple[int, ...]) -> int:
    """A map draws every ``step``-th cell of a grid of ``shape`` in both directions: at most :data:`MAP_CELLS` a side."""
    return max(1, int(np.ceil(max(shape) / MAP_CELLS)))


def zone_boundaries(zone_index: np.ndarray, extent: tuple[float, float, float, float]) -> np.ndarray:
    """The edges between cells of different zones as line segments, shape (n, 2, 2), for a ``LineCollection``.

    Neighbour differences of the zone grid (cells outside the region, index < 0, draw none), merged into
    runs along each row and column of edges; ``extent`` ``(x0, x1, y0, y1)`` is the grid's as ``imshow`` draws it
    (row 0 at the top, ``y1``).
    """
    z = np.asarray(zone_index)
    ny, nx = z.shape
    x0, x1, y0, y1 = extent
    dx, dy = (x1 - x0) / nx, (y1 - y0) / ny

    def runs(edge: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(line, first, end) of every run of True along the rows of ``edge``."""
        d = np.diff(np.pad(edge.view(np.int8), ((0, 0), (1, 1))), axis=1)
        line, first = np.nonzero(d == 1)
        return line, first, np.nonzero(d == -1)[1]

    inside = z >= 0
    # edges below row i (between rows i and i + 1), then edges right of column j (between columns j and j + 1)
    i, j0, j1 = runs((z[1:] != z[:-1]) & inside[1:] & inside[:-1])
    j, i0, i1 = runs(((z[:, 1:] != z[:, :-1]) & inside[:, 1:] & inside[:, :-1]).T)
    yh, xv = y1 - (i + 1) * dy, x0 + (j + 1) * dx
    horizontal = np.stack([np.stack([x0 + j0 * dx, yh], axis=1), np.stack([x0 + j1 * dx, yh], axis=1)], axis=1)
    vertical = np.stack([np.stack([xv, y1 - i0 * dy], axis=1), np.stack([xv, y1 - i1 * dy], axis=1)], axis=1)
    return np.concatenate([horizontal, vertical]).reshape(-1, 2, 2)


def _money(cny: float) -> str:
    from gep.units import format_money

    return format_money(cny)


def cell_map(values: np.ndarray, cell_area: np.ndarray, zone_index: np.ndarray | None, transform, geographic: bool, path: Path, title: str,
             label: str, diverging: bool, shape: tuple[int, int] | None = None) -> None:
    """Map of a per-cell amount of money as a density [CNY/ha per year] with colour bar, scale bar, north arrow and zone boundaries.

    Parameters
    ----------
    values : ndarray
        Amount per cell [CNY/yr].
    cell_area : ndarray
        Cell area [m²], 0 outside the region (drawn grey).
    zone_index : ndarray, optional
        Zone of each cell (-1 outside), drawn as thin boundaries.
    transform : sequence
        Affine transform ``(a, b, c, d, e, f)`` of the grid.
    geographic : bool
        Coordinates in degrees (else metres).
    diverging : bool
        Red–blue around 0 (changes), else a sequential green scale from 0.
    shape : (int, int), optional
        Rows and columns of the grid when ``values``, ``cell_area`` and ``zone_index`` are already the cells
        drawn (every :func:`map_step` (``shape``)-th cell from the first in both directions); by default they
        are the whole grid.
    """
    plt = _pyplot()
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize
    from matplotlib.patches import Rectangle

    ny, nx = shape or values.shape
    step = 1 if shape else map_step((ny, nx))  # at most ~2000 pixels a side on screen
    # the cells drawn are picked first: no region-sized temporaries; their densities in float32 (a colour scale
    # needs no more; each divided in float64), computed in place: the map's peak memory
    values, cell_area = values[::step, ::step], np.asarray(cell_area[::step, ::step])
    inside = cell_area > 0
    dens = np.full(values.shape, np.nan, dtype=np.float32)
    np.divide(values, cell_area, out=dens, where=inside, casting="same_kind")
    dens *= np.float32(1e4)
    a, _, c, _, e, f = list(transform)[:6]
    scale = 1.0 if geographic else 1e-3
    x0, x1 = c * scale, (c + a * nx) * scale
    y0, y1 = (f + e * ny) * scale, f * scale
    changed = np.abs(dens[np.isfinite(dens)])
    changed = changed[changed > 0]
    vlim = float(np.percentile(changed, 99, overwrite_input=True)) if changed.size else 1.0
    del changed
    vlim = vlim if vlim > 0 else 1.0
    cmap = plt.get_cmap("RdBu" if diverging else "YlGn").with_extremes(bad="#d9d9d9")
    fig, ax = plt.subplots(figsize=(9, 8))
    norm = Normalize(-vlim, vlim) if diverging else Normalize(0.0, vlim)
    im = ax.imshow(np.ma.masked_invalid(dens, copy=False), cmap=cmap, norm=norm, extent=(x0, x1, y0, y1), interpolation="nearest", interpolation_stage="data")
    if zone_index is not None:
        ax.add_collection(LineCollection(zone_boundaries(zone_index[::step, ::step], (x0, x1, y0, y1)), colors="#333333", linewidths=0.4))
    cb = fig.colorbar(im, ax=ax, shrink=0.8, extend="both" if diverging else "max")
    cb.set_label(label)
    # scale bar
    if geographic:
        lat = (y0 + y1) / 2
        km_per_unit = 111.32 * np.cos(np.deg2rad(lat))
    else:
        km_per_unit = 1.0
    span_km = (x1 - x0) * km_per_unit
    length_km = _nice_length(span_km)
    bar = length_km / km_per_unit
    bx, by = x0 + 0.05 * (x1 - x0), y0 + 0.05 * (y1 - y0)
    h = 0.012 * (y1 - y0)
    ax.add_patch(Rectangle((bx, by), bar / 2, h, facecolor="black", edgecolor="black"))
    ax.add_patch(Rectangle((bx + bar / 2, by), bar / 2, h, facecolor="white", edgecolor="black"))
    ax.text(bx, by + 1.8 * h, "0", ha="center", va="bottom", fontsize=8)
    ax.text(bx + bar, by + 1.8 * h, f"{length_km:g} km", ha="center", va="bottom", fontsize=8)
    ax.annotate("N", xy=(0.95, 0.95), xytext=(0.95, 0.86), xycoords="axes fraction", ha="center", va="center", fontsize=11, fontweight="bold",
                arrowprops={"arrowstyle": "-|>", "color": "black"})
    ax.set_xlabel("longitude [°]" if geographic else "easting [km]")
    ax.set_ylabel("latitude [°]" if geographic else "northing [km]")
    ax.set_title(title, fontsize=10)
    fig.text(0.01, 0.005, "Per-cell values share each zone's account over its cells (by the service's own map, or by area for statistics-based services)"
             + (",\nso cells that did not change can show small changes where a zone's total moved." if diverging else "."), fontsize=7, color="#444444", va="bottom")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def waterfall(by_service: pd.DataFrame, base_total: float, alt_total: float, path: Path, title: str, max_bars: int = 14) -> None:
    """Waterfall of ΔGEP: each service's contribution (green gain, red loss), then the total Δ."""
    plt = _pyplot()
    d = by_service[["service", "category", "delta_value_cny"]].copy()
    d = d[d["delta_value_cny"] != 0]
    d = d.loc[d["delta_value_cny"].abs().sort_values(ascending=False, kind="stable").index]
    if len(d) > max_bars:
        rest = d.iloc[max_bars - 1:]
        d = pd.concat([d.iloc[: max_bars - 1], pd.DataFrame([{"service": f"{len(rest)} others", "category": "", "delta_value_cny": rest["delta_value_cny"].sum()}])])
    total = alt_total - base_total
    div, lab = money_scale(list(d["delta_value_cny"]) + [total])
    fig, ax = plt.subplots(figsize=(max(7, 0.8 * (len(d) + 2)), 5.5))
    cum = 0.0
    for i, r in enumerate(d.itertuples()):
        v = r.delta_value_cny / div
        ax.bar(i, v, bottom=cum, color="#2f7d4f" if v >= 0 else "#c0392b", edgecolor="black", linewidth=0.4)
        ax.text(i, cum + v + (0.01 if v >= 0 else -0.01) * max(1e-12, abs(total / div)), f"{v:+,.2f}", ha="center", va="bottom" if v >= 0 else "top", fontsize=8)
        if i:
            ax.plot([i - 1.4, i - 0.6], [cum, cum], color="grey", linewidth=0.6)
        cum += v
    n = len(d)
    ax.bar(n, total / div, color="#3c6fb0", edgecolor="black", linewidth=0.4)
    ax.text(n, total / div, f"{total / div:+,.2f}", ha="center", va="bottom" if total >= 0 else "top", fontsize=9, fontweight="bold")
    ax.axhline(0, color="black", linewidth=0.8)
    levels = np.r_[0.0, np.cumsum(d["delta_value_cny"].to_numpy() / div), total / div]
    lo, hi = float(min(levels.min(), 0.0)), float(max(levels.max(), 0.0))
    pad = 0.12 * (hi - lo if hi > lo else 1.0)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xticks(range(n + 1), list(d["service"]) + ["ΔGEP"], rotation=35, ha="right", fontsize=8)
    ax.set_ylabel(f"change of value [{lab}/yr]")
    bdiv, blab = money_scale([base_total, alt_total])
    ax.set_title(f"{title}\nGEP {base_total / bdiv:,.2f} → {alt_total / bdiv:,.2f} {blab} ({(alt_total - base_total) / base_total:+.2%})" if base_total else title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def zone_bars(delta: pd.DataFrame, path: Path, title: str) -> None:
    """Stacked bars of ΔGEP per zone, one colour per service (gains up, losses down), net marked."""
    plt = _pyplot()
    pivot = delta.pivot_table(index="zone_name", columns="service", values="delta_value_cny", aggfunc="sum", fill_value=0.0)
    order = delta.drop_duplicates("zone_name")["zone_name"]
    pivot = pivot.reindex(order)
    keep = pivot.columns[(pivot != 0).any(axis=0)]
    pivot = pivot[keep] if len(keep) else pivot
    div, lab = money_scale(pivot.values.ravel() if pivot.size else [0.0])
    p = pivot / div
    fig, ax = plt.subplots(figsize=(max(8, 0.7 * len(p) + 3), 5.5))
    cmap = plt.get_cmap("tab20")
    pos = np.zeros(len(p))
    neg = np.zeros(len(p))
    x = np.arange(len(p))
    for k, s in enumerate(p.columns):
        v = p[s].to_numpy()
        up, down = np.where(v > 0, v, 0.0), np.where(v < 0, v, 0.0)
        ax.bar(x, up, bottom=pos, color=cmap(k % 20), label=s, edgecolor="white", linewidth=0.3)
        ax.bar(x, down, bottom=neg, color=cmap(k % 20), edgecolor="white", linewidth=0.3)
        pos, neg = pos + up, neg + down
    net = p.sum(axis=1).to_numpy() if p.size else np.zeros(len(p))
    ax.scatter(x, net, marker="D", color="black", zorder=3, s=18, label="net ΔGEP")
    ax.axhline(0, color="black", linewidth=0.8)
    lo, hi = float(min(neg.min(initial=0.0), 0.0)), float(max(pos.max(initial=0.0), 0.0))
    pad = 0.08 * (hi - lo if hi > lo else 1.0)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xticks(x, list(p.index), rotation=35, ha="right", fontsize=8)
    ax.set_ylabel(f"change of value [{lab}/yr]")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="best", ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def series_chart(totals: pd.DataFrame, by_category: pd.DataFrame, path: Path, title: str) -> None:
    """GEP per year: stacked bars by category at comparable prices, line at current prices, growth labels."""
    plt = _pyplot()
    years = sorted(totals["year"].unique())
    pivot = by_category.pivot_table(index="year", columns="category", values="value_cny_comparable", aggfunc="sum", fill_value=0.0).reindex(years)
    div, lab = money_scale(totals["value_cny"].tolist() + totals["value_cny_comparable"].tolist())
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(years) + 3), 5.5))
    x = np.arange(len(years))
    bottom = np.zeros(len(years))
    for cat in ("provisioning", "regulating", "cultural"):
        if cat in pivot:
            v = pivot[cat].to_numpy() / div
            ax.bar(x, v, bottom=bottom, color=CATEGORY_COLOURS[cat], label=f"{cat} (comparable prices)", width=0.6)
            bottom += v
    t = totals.set_index("year").reindex(years)
    cur = t["value_cny"].to_numpy() / div
    ax.plot(x, cur, "o-", color="black", label="GEP at current prices")
    for i, y in enumerate(years):
        g, gc = t.loc[y, "growth_comparable"], t.loc[y, "growth_current"]
        if pd.notna(g):
            ax.text(x[i], bottom[i] * 0.985, f"real\n{g:+.2%}", ha="center", va="top", fontsize=8, color="white", fontweight="bold")
        if pd.notna(gc):
            ax.text(x[i], cur[i] * 1.012, f"{gc:+.2%} current", ha="center", va="bottom", fontsize=8)
    top = float(max(bottom.max(initial=0.0), np.nanmax(cur, initial=0.0)))
    ax.set_ylim(0, top * 1.1 if top > 0 else 1.0)
    ax.set_xticks(x, [str(y) for y in years])
    ax.set_ylabel(f"GEP [{lab}]")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def coverage_fan(time: np.ndarray, debt_service: np.ndarray, revenue_pct: np.ndarray, revenue_mean: np.ndarray,
                 dscr_pct: np.ndarray, percentiles, title: str, path: Path) -> None:
    """Fan chart: revenue (5–95 % band, median, mean) vs debt service; DSCR band and median.

    Parameters
    ----------
    time : ndarray
        Payment dates [years from the start of the debt].
    debt_service : ndarray
        Debt service per period [CNY].
    revenue_pct, dscr_pct : ndarray
        Percentiles (rows, in the order of ``percentiles``) per period of revenue [CNY] and DSCR [-].
    revenue_mean : ndarray
        Mean revenue per period [CNY].
    title : str
        Chart title; Chinese text in it is drawn with a CJK font (see the module notes),
        so pass it through :func:`drawable` with an ASCII fallback.
    """
    plt = _pyplot()
    with cjk_text():
        t = time
        lo, mid, hi = 0, len(percentiles) // 2, len(percentiles) - 1
        fig, (a, b) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
        scale = 1e6
        a.fill_between(t, revenue_pct[lo] / scale, revenue_pct[hi] / scale, alpha=0.3, color="tab:green",
                       label=f"revenue p{percentiles[lo]:g}–p{percentiles[hi]:g}")
        a.plot(t, revenue_pct[mid] / scale, color="tab:green", label="revenue median")
        a.plot(t, revenue_mean / scale, color="tab:green", ls=":", label="revenue mean")
        a.plot(t, debt_service / scale, color="black", marker="s", ms=4, ls="--", lw=1, label="debt service")
        a.set_ylabel("CNY million per period")
        a.legend(fontsize=8, loc="upper left")
        a.set_title(title, fontsize=10)
        pay = debt_service > 0
        b.fill_between(t[pay], dscr_pct[lo][pay], dscr_pct[hi][pay], alpha=0.3, color="tab:blue",
                       label=f"DSCR p{percentiles[lo]:g}–p{percentiles[hi]:g}")
        b.plot(t[pay], dscr_pct[mid][pay], color="tab:blue", marker="o", ms=3, label="DSCR median")
        b.axhline(1.0, color="red", lw=1, label="DSCR = 1")
        b.set_ylabel("DSCR [-]")
        b.set_xlabel("years from the start of the debt")
        b.legend(fontsize=8, loc="upper left")
        fig.tight_layout()
        fig.savefig(path, dpi=110, metadata={"Software": None})
        plt.close(fig)


def impact_bars(gep: pd.DataFrame, credits: pd.DataFrame, labels: dict, title: str, path: Path) -> None:
    """Bars of the impact a green bond buys per 10⁴ CNY of proceeds (``gep bond impact``).

    Parameters
    ----------
    gep : pandas.DataFrame
        ``run, project, per_10k_cny`` rows: attributable GEP change [CNY/yr per 10⁴ CNY of proceeds].
    credits : pandas.DataFrame
        ``project, instrument, kind, unit, per_10k_cny`` rows: attributable credits [unit per 10⁴ CNY].
    labels : dict
        Project → legend label (short, ASCII: e.g. ``P1 (4.2)``; ``ALL`` → ``bond total``).
    title : str
        Chart title (see :func:`coverage_fan`).
    """
    plt = _pyplot()
    with cjk_text():
        fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.5))
        if not gep.empty:
            table = gep.assign(project=gep["project"].map(labels)).pivot_table(
                index="run", columns="project", values="per_10k_cny", aggfunc="sum", sort=False)
            table.plot.bar(ax=a, rot=0)
        a.axhline(0.0, color="black", lw=0.8)
        a.set_ylabel("attributable GEP change [CNY/yr per 10⁴ CNY of proceeds]")
        a.set_title("GEP change attributable to the bond", fontsize=10)
        if credits.empty:
            b.text(0.5, 0.5, "no credits issued or retired\nfor the allocations' accounts", ha="center", va="center")
            b.set_axis_off()
        else:
            c = credits.assign(label=credits["instrument"] + " " + credits["kind"] + " [" + credits["unit"] + "]",
                               project=credits["project"].map(labels))
            c.pivot_table(index="label", columns="project", values="per_10k_cny", aggfunc="sum").plot.barh(ax=b)
            b.set_xlabel("attributable credits per 10⁴ CNY of proceeds")
            b.set_ylabel("")
            b.set_title("Credits issued and retired", fontsize=10)
        fig.suptitle(title, fontsize=11)
        fig.tight_layout()
        fig.savefig(path, dpi=110, metadata={"Software": None})
        plt.close(fig)


def tornado(names: list[str], low: np.ndarray, high: np.ndarray, central: float, path: Path, title: str) -> None:
    """Tornado chart: GEP [10⁸ CNY] with one input at its 5th and at its 95th percentile, the others at their values.

    Parameters
    ----------
    names : list of str
        Inputs, largest swing first.
    low, high : ndarray
        GEP with the input at its 5th / 95th percentile [CNY].
    central : float
        GEP with every input at its value [CNY].
    """
    plt = _pyplot()
    with cjk_text():
        n = len(names)
        fig, ax = plt.subplots(figsize=(10, 0.45 * n + 1.6))
        y = np.arange(n)[::-1]
        c = central / 1e8
        for yi, lo, hi in zip(y, np.asarray(low) / 1e8, np.asarray(high) / 1e8):
            ax.barh(yi, lo - c, left=c, color="#c0504d", height=0.6)
            ax.barh(yi, hi - c, left=c, color="#4f81bd", height=0.6)
        ax.axvline(c, color="black", lw=1)
        ax.set_yticks(y)
        ax.set_yticklabels([s if len(s) <= 60 else s[:57] + "…" for s in names], fontsize=8)
        ax.set_xlabel("GEP [10⁸ CNY]  (red: input at its 5th percentile, blue: at its 95th)")
        ax.set_title(title, fontsize=10)
        fig.tight_layout()
        fig.savefig(path, dpi=110, metadata={"Software": None})
        plt.close(fig)


def distribution(gep: np.ndarray, deterministic: float, intervals: pd.DataFrame, path: Path, title: str) -> None:
    """Histogram of GEP over the samples with p5, p50, p95 and the deterministic value, and a fan of
    p5–p95 intervals with medians (``intervals``: columns ``name, p5, p50, p95, deterministic`` [CNY])."""
    plt = _pyplot()
    with cjk_text():
        fig, (a, b) = plt.subplots(1, 2, figsize=(14, max(4.5, 0.35 * len(intervals) + 1.5)), gridspec_kw={"width_ratios": [1, 1.2]})
        g = np.asarray(gep) / 1e8
        a.hist(g, bins=min(60, max(10, len(g) // 20)), color="#9bbb59", edgecolor="white")
        for q, ls in zip(np.percentile(g, [5, 50, 95]), (":", "-", ":")):
            a.axvline(q, color="black", ls=ls, lw=1)
        a.axvline(deterministic / 1e8, color="#c0504d", lw=1.5, label="deterministic")
        a.set_xlabel("GEP [10⁸ CNY]  (lines: p5, p50, p95)")
        a.set_ylabel("samples")
        a.legend(fontsize=8)
        a.set_title(title, fontsize=10)
        y = np.arange(len(intervals))[::-1]
        scale, unit = money_scale(intervals[["p95"]].to_numpy())
        b.hlines(y, intervals["p5"] / scale, intervals["p95"] / scale, color="#4f81bd", lw=6, alpha=0.5, label="p5–p95")
        b.plot(intervals["p50"] / scale, y, "o", color="#1f3f6f", ms=4, label="median")
        b.plot(intervals["deterministic"] / scale, y, "|", color="#c0504d", ms=12, mew=2, label="deterministic")
        b.set_yticks(y)
        b.set_yticklabels(intervals["name"], fontsize=8)
        b.set_xlabel(f"value [{unit}]")
        b.legend(fontsize=8, loc="upper right")  # the GEP bar is the bottom row
        fig.tight_layout()
        fig.savefig(path, dpi=110, metadata={"Software": None})
        plt.close(fig)
