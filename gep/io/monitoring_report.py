"""Writing monitoring outputs: charts and the assessment report.

The jobs write these files into a temporary run folder that replaces the old one only
when every output and the manifest are written (:func:`gep.jobs.job.output_folder`).
Charts are matplotlib PNGs saved without a timestamp (same data, same bytes with the
same matplotlib).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from gep.io.charts import _pyplot, cjk_text, drawable, money_scale

__all__ = ["publish", "save", "series_chart", "class_chart", "fit_chart", "payments_chart", "scores_chart", "markdown_table"]

#: Colours of the GB 3838-2002 classes (I … V, worse than V) as used on Chinese water-quality maps.
CLASS_COLOURS = {1: "#1f78b4", 2: "#6baed6", 3: "#33a02c", 4: "#ffd92f", 5: "#ff7f00", 6: "#e31a1c", 0: "#d9d9d9"}
CLASS_LABELS = {0: "no data", 1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "劣V"}


def chart(draw: Callable) -> Callable:
    """A chart function drawn with a CJK font when one is available (section, town and county names may be
    Chinese); without one, its title and labels keep only what the default font can draw (:func:`gep.io.charts.drawable`)."""
    @functools.wraps(draw)
    def wrapped(*args: Any, **kwargs: Any) -> None:
        with cjk_text():
            draw(*args, **kwargs)

    return wrapped


def save(fig: Any, path: Path) -> None:
    """Save a figure as PNG without a timestamp and close it."""
    plt = _pyplot()
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


@chart
def series_chart(samples: pd.DataFrame, path: Path, title: str, max_sections: int = 12) -> None:
    """Small multiples, one panel per parameter: values used per section over time.

    Below-DL samples are open markers at the substituted value; the dashed lines are the
    sections' target-class limits (GB 3838-2002).
    """
    plt = _pyplot()
    params = [p for p in samples["parameter"].drop_duplicates() if samples.loc[samples["parameter"] == p, "value_used"].notna().any()]
    sections = list(samples["section"].drop_duplicates())[:max_sections]
    ncol = 2 if len(params) > 1 else 1
    nrow = max(1, int(np.ceil(len(params) / ncol)))
    fig, axes = plt.subplots(nrow, ncol, figsize=(7 * ncol, 2.8 * nrow), squeeze=False, sharex=True)
    cmap = plt.get_cmap("tab20")
    for ax, p in zip(axes.ravel(), params):
        d = samples[(samples["parameter"] == p) & samples["section"].isin(sections)]
        for k, (sec, g) in enumerate(d.groupby("section", sort=False)):
            g = g.sort_values("time")
            colour = cmap(sections.index(sec) % 20)
            ax.plot(g["time"], g["value_used"], ".-", lw=0.8, ms=2.5, color=colour, label=sec)
            below = g["status"] == "below_dl"
            ax.plot(g.loc[below, "time"], g.loc[below, "value_used"], "o", mfc="none", ms=3.5, color=colour)
        for lim in sorted(set(d["target_limit"].dropna().round(6))):
            ax.axhline(lim, ls="--", lw=0.8, color="#555555")
        ax.set_title(f"{p} [{d['unit'].iloc[0] if len(d) else ''}]", fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(params):]:
        ax.set_visible(False)
    fig.autofmt_xdate()
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper right", fontsize=7, ncol=min(6, len(labels)))
    fig.suptitle(drawable(title) + "  (open marker: below the detection limit; dashed: target-class limit)", fontsize=10)
    save(fig, path)


@chart
def class_chart(summary: pd.DataFrame, path: Path, title: str) -> None:
    """Section × period grid coloured by GB 3838-2002 class; a black frame marks a missed target."""
    plt = _pyplot()
    sections = sorted(summary["section"].unique())
    periods = sorted(summary["period"].unique())
    grid = summary.pivot(index="section", columns="period", values="class").reindex(index=sections, columns=periods).fillna(0).astype(int)
    met = summary.pivot(index="section", columns="period", values="meets_target").reindex(index=sections, columns=periods)
    fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(periods) + 2.5), max(2.5, 0.4 * len(sections) + 1.2)))
    for i, sec in enumerate(sections):
        for j, per in enumerate(periods):
            c = int(grid.iat[i, j])
            ax.add_patch(plt.Rectangle((j, i), 1, 1, color=CLASS_COLOURS[c]))
            ax.text(j + 0.5, i + 0.5, drawable(CLASS_LABELS[c], ">V"), ha="center", va="center", fontsize=7)
            if c and not bool(met.iat[i, j]):
                ax.add_patch(plt.Rectangle((j + 0.04, i + 0.04), 0.92, 0.92, fill=False, lw=1.5, color="black"))
    ax.set_xlim(0, len(periods))
    ax.set_ylim(len(sections), 0)
    ax.set_xticks(np.arange(len(periods)) + 0.5, periods, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(np.arange(len(sections)) + 0.5, sections, fontsize=7)
    ax.set_title(drawable(title) + "  (black frame: target class missed)", fontsize=9)
    save(fig, path)


@chart
def fit_chart(residuals: pd.DataFrame, path: Path, title: str) -> None:
    """Observed against fitted concentrations (log axes, 1:1 line), one colour per pollutant."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 5.5))
    d = residuals[np.isfinite(residuals["observed"]) & np.isfinite(residuals["predicted"]) & (residuals["observed"] > 0) & (residuals["predicted"] > 0)]
    cmap = plt.get_cmap("tab10")
    for k, (pol, g) in enumerate(d.groupby("parameter", sort=True)):
        cens = g["status"] == "below_dl"
        ax.loglog(g.loc[~cens, "observed"], g.loc[~cens, "predicted"], ".", ms=3, color=cmap(k % 10), label=pol)
        ax.loglog(g.loc[cens, "observed"], g.loc[cens, "predicted"], "v", mfc="none", ms=4, color=cmap(k % 10))
    if len(d):
        lo, hi = float(min(d["observed"].min(), d["predicted"].min())), float(max(d["observed"].max(), d["predicted"].max()))
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
    ax.set_xlabel("observed [mg/L]")
    ax.set_ylabel("fitted [mg/L]")
    ax.legend(fontsize=8)
    ax.set_title(drawable(title) + "\n(triangle: below the DL, plotted at the DL)", fontsize=9)
    save(fig, path)


@chart
def payments_chart(payments: pd.DataFrame, path: Path, title: str) -> None:
    """Net payment per period: positive = downstream pays upstream, negative = upstream pays downstream."""
    plt = _pyplot()
    net = payments.groupby("period", sort=True)["net_to_upstream_cny"].sum()
    div, label = money_scale(net.to_numpy())
    fig, ax = plt.subplots(figsize=(max(5, 0.7 * len(net) + 2), 3.8))
    colours = ["#2f7d4f" if v >= 0 else "#c0392b" for v in net.to_numpy()]
    ax.bar(net.index.astype(str), net.to_numpy() / div, color=colours)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_ylabel(f"net to upstream [{label}]")
    ax.tick_params(axis="x", rotation=45, labelsize=8)
    ax.set_title(drawable(title) + "\n(green: downstream pays upstream; red: upstream pays downstream)", fontsize=9)
    save(fig, path)


@chart
def scores_chart(scores: pd.DataFrame, indicators: list[str], path: Path, title: str) -> None:
    """Stacked horizontal bars of the points per indicator, townships in rank order."""
    plt = _pyplot()
    d = scores.sort_values(["rank", "zone"])
    fig, ax = plt.subplots(figsize=(8, max(3, 0.42 * len(d) + 1.2)))
    left = np.zeros(len(d))
    cmap = plt.get_cmap("Set2")
    labels = np.array([drawable(name, f"zone {zone}") for name, zone in zip(d["zone_name"].astype(str), d["zone"])])
    for k, ind in enumerate(indicators):
        vals = d[f"points_{ind}"].fillna(0).to_numpy(dtype=float)
        ax.barh(labels[::-1], vals[::-1], left=left[::-1], color=cmap(k % 8), label=ind)
        left = left + vals
    for i, (tot, grade) in enumerate(zip(d["score"].to_numpy()[::-1], d["grade"].to_numpy()[::-1])):
        ax.text(tot, i, f" {tot:.1f} {grade}", va="center", fontsize=8)
    ax.set_xlabel("points")
    ax.set_xlim(0, max(100.0, float(left.max()) * 1.15 if len(left) else 100.0))
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(drawable(title), fontsize=10)
    save(fig, path)


def markdown_table(df: pd.DataFrame, floatfmt: str = ".4g") -> str:
    """A GitHub-flavoured Markdown table of ``df`` (numbers formatted with ``floatfmt``)."""
    def cell(v: object) -> str:
        if isinstance(v, (float, np.floating)):
            return "" if not np.isfinite(v) else format(float(v), floatfmt)
        return str(v).replace("|", "\\|")

    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False, name=None)]
    return "\n".join([head, rule, *body])
