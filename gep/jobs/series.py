"""Multi-year GEP series: the account per year at current and comparable prices, growth rates,
and a Lishui-style GEP-growth purchase.

A scenario with ``[series.<year>]`` tables is accounted once per year (its own
land cover, inputs, tables and changes), each year at its current prices and
at the comparable prices of the series base year. Growth between consecutive
years of the series:

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
as a share of the township's GEP increase (METHODS.md, "Bonds and coverage").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from gep.errors import ScenarioError

#: Columns of the tidy series table.
SERIES_COLUMNS = ["year", "zone", "zone_name", "category", "service", "quantity", "unit", "value_cny", "value_cny_comparable"]


def series_table(accounts: dict) -> pd.DataFrame:
    """Tidy table of every year: zone × service with quantity, current and comparable value.

    Parameters
    ----------
    accounts : dict of int → Account
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
    rows = []
    for z in zones:
        g0 = float(a[col].get(z, 0.0))
        g1 = float(b[col].get(z, 0.0))
        inc = g1 - g0
        rows.append({
            "zone": int(z), "zone_name": str((b if z in b.index else a)["zone_name"].get(z, z)), "from_year": f, "to_year": t,
            "basis": spec["basis"], "price_year": base_year if spec["basis"] == "comparable" else t,
            "gep_from_cny": g0, "gep_to_cny": g1, "increase_cny": inc, "growth": inc / g0 if g0 else None,
            "share": spec["share"], "payment_cny": spec["share"] * max(inc, 0.0),
        })
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- running a series


@dataclass
class SeriesResult:
    """Every year's :class:`gep.jobs.run.RunResult` and the series tables."""

    scenario: object
    years: dict
    base_year: int
    table: pd.DataFrame
    purchase: pd.DataFrame | None = None
    run_dir: Path | None = None
    manifest: dict | None = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        """The ``--json`` document of ``gep run`` for a series scenario."""
        tot = growth(self.table)
        first = next(iter(self.years.values()))
        out = {
            "scenario": self.scenario.name,
            "series": True,
            "years": sorted(self.years),
            "base_year": self.base_year,
            "coefficient_set": f"{first.coef.id}@{first.coef.version}",
            "totals": json.loads(tot.drop(columns=["previous_year"]).to_json(orient="records")),
            "average_growth": average_growth(self.table),
            "by_category": json.loads(growth(self.table, "category").drop(columns=["previous_year"]).to_json(orient="records")),
            "by_service": json.loads(growth(self.table, "service").drop(columns=["previous_year"]).to_json(orient="records")),
            "run_dir": str(self.run_dir) if self.run_dir else None,
            "year_runs": {str(y): (str(r.run_dir) if r.run_dir else None) for y, r in sorted(self.years.items())},
        }
        if self.purchase is not None:
            out["purchase"] = json.loads(self.purchase.to_json(orient="records"))
            out["purchase_total_cny"] = float(self.purchase["payment_cny"].sum())
        return out


def compute_series(job, progress: Callable[[str], None] | None = None) -> SeriesResult:
    """Account every year of a loaded series scenario (:func:`gep.jobs.run.load`; see the module notes)."""
    from gep.jobs import run as runner

    say = progress or (lambda _m: None)
    sc = job.scenario
    if sc.series is None:
        raise ScenarioError(f"{sc.path}: not a multi-year scenario", hint="add [series.<year>] tables")
    years = {}
    for year in sc.series:
        years[year] = runner.compute(job, lambda m, y=year: say(f"{y}: {m}"), year=year)
    base = years[next(iter(years))].scenario.base_year
    table = series_table({y: r.account for y, r in years.items()})
    pur = purchase(table, sc.purchase, base) if sc.purchase else None
    return SeriesResult(sc, years, base, table, pur)


def write_series(result: SeriesResult, out_dir: Path | None, command: str) -> Path:
    """Write every year's run into ``<dir>/<year>/`` and the series tables, charts and workbook."""
    from gep.audit import manifest as mf
    from gep.audit import provenance
    from gep.io import charts as report
    from gep.jobs import run as runner
    from gep.io import outputs, workbook
    from gep.io.files import sha256_file

    sc = result.scenario
    first = next(iter(result.years.values()))
    rid = runner.run_id(first.scenario, first.coef)  # <name>-<year>-<hash>
    name, _, h = rid.rsplit("-", 2)
    folder = Path(out_dir) if out_dir else (sc.output_dir or Path("runs")) / f"{name}-series-{min(result.years)}-{max(result.years)}-{h}"
    folder.mkdir(parents=True, exist_ok=True)
    year_manifests = {}
    for year, res in result.years.items():
        runner.write(res, folder / str(year), f"{command} (year {year})")
        year_manifests[str(year)] = {"run_dir": str(year), "manifest_sha256": sha256_file(folder / str(year) / "manifest.json")}
    tab = result.table
    outputs.write_csv(tab, folder / "series.csv")
    outputs.write_parquet(tab, folder / "series.parquet")
    g_all = pd.concat([growth(tab).assign(level="total", key="GEP")] + [growth(tab, b).rename(columns={b: "key"}).assign(level=b) for b in ("category", "service")], ignore_index=True)
    g_zone = growth(tab, "zone")
    g_all = pd.concat([g_all, g_zone.assign(level="zone", key=g_zone["zone_name"]).drop(columns=["zone", "zone_name"])], ignore_index=True)
    g_all = g_all[["level", "key", "year", "previous_year", "value_cny", "value_cny_comparable", "growth_current", "growth_comparable", "price_effect"]]
    outputs.write_csv(g_all, folder / "growth.csv")
    names = ["series.csv", "series.parquet", "growth.csv", "series.png", "series.xlsx"]
    if result.purchase is not None:
        outputs.write_csv(result.purchase, folder / "purchase.csv")
        names.append("purchase.csv")
    report.series_chart(growth(tab), growth(tab, "category"), folder / "series.png", f"GEP {sc.name}: {min(result.years)}–{max(result.years)} (comparable prices of {result.base_year})")
    readme = [
        ("what", f"GEP series of scenario '{sc.name}', years {', '.join(map(str, result.years))}"),
        ("prices", f"value_cny: current prices of each year; value_cny_comparable: prices of the base year {result.base_year}"),
        ("growth", "growth_comparable = Σ Q_t·P_base / Σ Q_(t−1)·P_base − 1; growth_current uses each year's prices; price_effect = (1+g_current)/(1+g_comparable) − 1"),
        ("scenario", first.scenario.path.name),
        ("coefficient set", f"{first.coef.id}@{first.coef.version}"),
        ("year runs", "; ".join(f"{y}/manifest.json sha256 {m['manifest_sha256'][:16]}…" for y, m in year_manifests.items())),
    ]
    if result.purchase is not None:
        p = result.purchase.iloc[0]
        readme.append(("purchase", f"share {p['share']:.1%} of the GEP increase {p['from_year']}→{p['to_year']} ({p['basis']} prices); total {result.purchase['payment_cny'].sum():,.0f} CNY"))
    sheets = [
        workbook.Sheet("README", pd.DataFrame(readme, columns=["item", "value"]), widths={"item": 18, "value": 110}),
        workbook.Sheet("growth", g_all, formats={"value_cny": workbook.CNY, "value_cny_comparable": workbook.CNY, "growth_current": workbook.PCT, "growth_comparable": workbook.PCT, "price_effect": workbook.PCT}),
        workbook.Sheet("series", tab, formats={"quantity": workbook.QTY, "value_cny": workbook.CNY, "value_cny_comparable": workbook.CNY}),
    ]
    if result.purchase is not None:
        sheets.append(workbook.Sheet("purchase", result.purchase, formats={"gep_from_cny": workbook.CNY, "gep_to_cny": workbook.CNY, "increase_cny": workbook.CNY, "payment_cny": workbook.CNY, "growth": workbook.PCT, "share": workbook.PCT}))
    workbook.write_workbook(folder / "series.xlsx", sheets)
    record = mf.SeriesRecord(mf.ScenarioRef(runner._relpath(sc.path, folder), sha256_file(sc.path)), year_manifests, result.base_year, sc.purchase)
    manifest = mf.Manifest(kind=mf.SeriesRecord.KIND, command=command, record=record, outputs=outputs.hashes(folder, names),
                           results={"totals": json.loads(growth(tab).drop(columns=["previous_year"]).to_json(orient="records"))},
                           environment=provenance.environment())
    manifest, _, _ = mf.write(folder, manifest)
    result.run_dir = folder
    result.manifest = manifest
    return folder


def run(job, out_dir: Path | None = None, command: str = "gep run", progress: Callable[[str], None] | None = None) -> SeriesResult:
    """Compute and write every year of a loaded series scenario."""
    result = compute_series(job, progress)
    if progress:
        progress("writing outputs")
    write_series(result, out_dir, command)
    return result
