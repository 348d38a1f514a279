"""Charts for people: value by service and zone (matplotlib, no I/O beyond saving)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

CATEGORY_COLOURS = {"provisioning": "#c98a2b", "regulating": "#2f7d4f", "cultural": "#3c6fb0"}


def value_by_service_zone(table: pd.DataFrame, path: Path, title: str) -> None:
    """Stacked bar chart: value [10⁸ CNY] per zone, one colour per service."""
    pivot = table.pivot_table(index="zone_name", columns="service", values="value_cny", aggfunc="sum", fill_value=0.0) / 1e8
    pivot = pivot.loc[pivot.sum(axis=1).sort_values(ascending=False).index]
    order = pivot.sum(axis=0).sort_values(ascending=False).index
    pivot = pivot[order]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 6), gridspec_kw={"width_ratios": [1, 1.6]})
    totals = pivot.sum(axis=0)
    cats = table.drop_duplicates("service").set_index("service")["category"]
    ax1.barh(totals.index[::-1], totals.values[::-1], color=[CATEGORY_COLOURS.get(cats.get(s), "grey") for s in totals.index[::-1]])
    ax1.set_xlabel("value [10⁸ CNY]")
    ax1.set_title("by service")
    for i, v in enumerate(totals.values[::-1]):
        ax1.text(v, i, f" {v:,.2f}", va="center", fontsize=8)
    cmap = plt.get_cmap("tab20")
    left = np.zeros(len(pivot))
    for k, service in enumerate(pivot.columns):
        ax2.barh(pivot.index[::-1], pivot[service].values[::-1], left=left[::-1], color=cmap(k % 20), label=service)
        left = left + pivot[service].values
    ax2.set_xlabel("value [10⁸ CNY]")
    ax2.set_title("by zone")
    ax2.legend(fontsize=7, loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
