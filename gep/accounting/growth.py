"""GEP growth over a multi-year series: the series table, growth rates and a Lishui-style GEP-growth purchase.

A scenario with ``[series.<year>]`` tables is accounted once per year (its own
land cover, inputs, tables and changes; :mod:`gep.jobs.series`), each year at
its current prices and at the comparable prices of the series base year. Growth
between consecutive years of the series:

* current prices:     g_t = Σ Q_t·P_t / Σ Q_{t−1}·P_{t−1} − 1
* comparable prices:  g_t = Σ Q_t·P_base / Σ Q_{t−1}·P_base − 1   (real growth)
* price effect:       (1 + g_current) / (1 + g_comparable) − 1

and the average yearly growth over the span, (V_last / V_first)^(1/(y_last − y_first)) − 1.

GEP-growth purchase (``[purchase]``): the government pays each listed zone a
declared ``share`` of the increase of its GEP between ``from_year`` and
``to_year`` (comparable prices by default, so that inflation is not paid for);
a zone whose GEP did not grow is paid 0, and the decline is reported.

References
----------
NDRC & NBS (2022) 生态产品总值核算规范（试行）: current and comparable prices;
Lishui 景宁大均乡 (2018): the county government purchased ecological products
as a share of the township's GEP increase (docs/scenarios.md, [purchase]).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gep.errors import ScenarioError

#: Columns of the tidy series table.
SERIES_COLUMNS = ["year", "zone", "zone_name", "category", "service", "quantity", "unit", "value_cny", "value_cny_comparable"]


def series_table(accounts: dict) -> pd.DataFrame:
    """Tidy table of every year: zone × service with quantity, current and comparable value.

    Parameters
    ----------
    accounts : dict of int → GepAccount
        The account of each year (each valued with the same base year).

    Returns
    -------
    pandas.DataFrame
        :data:`SERIES_COLUMNS`; value_cny at the year's prices [CNY], value_cny_comparable
        at the base year's prices [CNY].
    """
    frames = []
    for year, acc in sorted(accounts.items()):
        ds = acc.data
        q = ds["quantity"].sum("ecosystem", min_count=1).to_dataframe(name="quantity").reset_index()
        v = ds["value"].sum("ecosystem").to_dataframe(name="value_cny").reset_index()
        c = ds["value_comparable"].sum("ecosystem").to_dataframe(name="value_cny_comparable").reset_index()
        df = q.merge(v[["zone", "service", "value_cny"]], on=["zone", "service"]).merge(c[["zone", "service", "value_cny_comparable"]], on=["zone", "service"])
        df["year"] = int(year)
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    return out[SERIES_COLUMNS].sort_values(["year", "zone", "category", "service"]).reset_index(drop=True)


def _growth(values: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Add growth columns to per-year sums (``keys`` + year, value_cny, value_cny_comparable)."""
    df = values.sort_values(keys + ["year"]).reset_index(drop=True)
    grp = df.groupby(keys, sort=False) if keys else None
    prev_c = grp["value_cny"].shift(1) if grp is not None else df["value_cny"].shift(1)
    prev_k = grp["value_cny_comparable"].shift(1) if grp is not None else df["value_cny_comparable"].shift(1)
    prev_y = grp["year"].shift(1) if grp is not None else df["year"].shift(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        df["previous_year"] = prev_y.astype("Int64")
        df["growth_current"] = np.where(prev_c.abs() > 0, df["value_cny"] / prev_c - 1, np.nan)
        df["growth_comparable"] = np.where(prev_k.abs() > 0, df["value_cny_comparable"] / prev_k - 1, np.nan)
        df["price_effect"] = (1 + df["growth_current"]) / (1 + df["growth_comparable"]) - 1
    return df


def growth(table: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """GEP per year and growth over the previous series year, in total or by ``category``, ``service`` or ``zone``.

    Returns
    -------
    pandas.DataFrame
        ``[by,] year, value_cny, value_cny_comparable, previous_year, growth_current,
        growth_comparable, price_effect`` (growth as fractions; NaN for the first year).
    """
    keys = [] if by is None else (["zone", "zone_name"] if by == "zone" else [by])
    sums = table.groupby(keys + ["year"], as_index=False)[["value_cny", "value_cny_comparable"]].sum()
    return _growth(sums, keys)


def average_growth(table: pd.DataFrame) -> dict[str, float | None]:
    """Average yearly growth of total GEP between the first and last year, current and comparable."""
    tot = table.groupby("year")[["value_cny", "value_cny_comparable"]].sum().sort_index()
    y0, y1 = int(tot.index[0]), int(tot.index[-1])
    out = {}
    for col, name in (("value_cny", "current"), ("value_cny_comparable", "comparable")):
        a, b = float(tot[col].iloc[0]), float(tot[col].iloc[-1])
        out[name] = (b / a) ** (1.0 / (y1 - y0)) - 1 if a > 0 and b > 0 and y1 > y0 else None
    return out


def purchase(table: pd.DataFrame, spec: dict, base_year: int) -> pd.DataFrame:
    """Payment to each zone: ``share`` × max(0, GEP_to − GEP_from) on the chosen price basis.

    Parameters
    ----------
    table : DataFrame
        :func:`series_table`.
    spec : dict
        ``share``, ``basis`` (``comparable`` | ``current``), ``from_year``, ``to_year``,
        optional ``zones``.
    base_year : int
        Price year of comparable values.

    Returns
    -------
    pandas.DataFrame
        ``zone, zone_name, from_year, to_year, basis, price_year, gep_from_cny, gep_to_cny,
        increase_cny, growth, share, payment_cny``.
    """
    col = "value_cny_comparable" if spec["basis"] == "comparable" else "value_cny"
    f, t = spec["from_year"], spec["to_year"]
    per = table.groupby(["zone", "zone_name", "year"], as_index=False)[col].sum()
    a = per[per["year"] == f].set_index("zone")
    b = per[per["year"] == t].set_index("zone")
    zones = spec.get("zones") or sorted(set(a.index) | set(b.index))
    missing = sorted(set(zones) - set(a.index) - set(b.index))
    if missing:
        raise ScenarioError(f"[purchase] zones: zone(s) {missing} are not zones of the region", hint="use ids of the zone table")
    idx = pd.Index(zones)
    g0 = a[col].reindex(idx).fillna(0.0).astype(float)
    g1 = b[col].reindex(idx).fillna(0.0).astype(float)
    names = b["zone_name"].reindex(idx).where(idx.isin(b.index), a["zone_name"].reindex(idx))  # the later year's name first
    inc = g1 - g0
    return pd.DataFrame({
        "zone": idx.astype(int), "zone_name": names.astype(str).to_numpy(), "from_year": f, "to_year": t,
        "basis": spec["basis"], "price_year": base_year if spec["basis"] == "comparable" else t,
        "gep_from_cny": g0.to_numpy(), "gep_to_cny": g1.to_numpy(), "increase_cny": inc.to_numpy(),
        "growth": (inc / g0.where(g0 != 0)).to_numpy(),  # NaN where the base GEP is 0
        "share": spec["share"], "payment_cny": spec["share"] * inc.clip(lower=0.0).to_numpy(),
    })
