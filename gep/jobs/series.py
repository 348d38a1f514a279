"""``gep run`` of a multi-year ``[series]`` scenario: every year's account, growth and purchase (load -> compute -> write).

The scenario is loaded once (:func:`gep.jobs.run.load`); :func:`compute` accounts
every year (:func:`gep.jobs.run.compute`) and builds the series tables
(:mod:`gep.accounting.growth`); :func:`write` writes every year's run into
``<dir>/<year>/`` and the series tables, chart, workbook and manifest. A series
is replayed year by year (each year is a ``gep run`` manifest).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from gep.accounting.growth import average_growth, growth, purchase, series_table
from gep.audit import manifest as mf
from gep.errors import ScenarioError
from gep.jobs.job import Written, check_destination, output_folder

KIND = mf.SeriesRecord.KIND


def load(path, **options):
    """Load a series scenario: as a single-year run (:func:`gep.jobs.run.load`), every year from it."""
    from gep.jobs import run as runner

    return runner.load(path, **options)


@dataclass(frozen=True)
class SeriesResult:
    """Every year's :class:`gep.accounting.compute.RunResult` and the series tables."""

    scenario: object
    years: dict
    base_year: int
    table: pd.DataFrame
    purchase: pd.DataFrame | None = None

    def summary(self, run_dir: Path | str | None = None) -> dict:
        """The ``--json`` document of ``gep run`` for a series scenario (``run_dir``: where it was written)."""
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
            "run_dir": str(run_dir) if run_dir else None,
            "year_runs": {str(y): (str(Path(run_dir) / str(y)) if run_dir else None) for y in sorted(self.years)},
        }
        if self.purchase is not None:
            out["purchase"] = json.loads(self.purchase.to_json(orient="records"))
            out["purchase_total_cny"] = float(self.purchase["payment_cny"].sum())
        return out


def compute(job, progress: Callable[[str], None] | None = None) -> SeriesResult:
    """GepAccount every year of a loaded series scenario (:func:`gep.jobs.run.load`; see the module notes)."""
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


def write(result: SeriesResult, out_dir: Path | None, command: str = "gep run") -> Written[SeriesResult]:
    """Write every year's run into ``<dir>/<year>/`` and the series tables, charts and workbook (whole or not at all)."""
    from gep.io.files import sha256_file
    from gep.jobs import run as runner

    sc = result.scenario
    first = next(iter(result.years.values()))
    folder = Path(out_dir) if out_dir else _default_folder(sc, first.scenario, first.coef, result.years)
    with output_folder(folder, KIND) as tmp:
        year_manifests = {}
        for year, res in result.years.items():
            runner.write(res, tmp / str(year), f"{command} (year {year})")
            year_manifests[str(year)] = {"run_dir": str(year), "manifest_sha256": sha256_file(tmp / str(year) / "manifest.json")}
        manifest = _write_tables(result, tmp, command, year_manifests)
    return Written(result, folder, manifest)


def _default_folder(sc, first_scenario, coef, years) -> Path:
    """``runs/<name>-series-<first>-<last>-<hash>/`` (``[output] dir`` instead of ``runs/``)."""
    from gep.jobs import run as runner

    name, _, h = runner.run_id(first_scenario, coef).rsplit("-", 2)  # <name>-<year>-<hash>
    return (sc.output_dir or Path("runs")) / f"{name}-series-{min(years)}-{max(years)}-{h}"


def destination(job, out_dir: Path | None) -> Path:
    """The output folder of a loaded series scenario (before anything is computed)."""
    from gep.accounting.scenario import for_year

    sc = job.scenario
    return Path(out_dir) if out_dir else _default_folder(sc, for_year(sc, min(sc.series)), job.coef, sc.series)


def _write_tables(result: SeriesResult, folder: Path, command: str, year_manifests: dict):
    """The series tables, chart, workbook and manifest, into ``folder``."""
    from gep.audit import provenance
    from gep.io import charts as report
    from gep.io import outputs, workbook
    from gep.io.files import sha256_file
    from gep.jobs import run as runner

    sc = result.scenario
    first = next(iter(result.years.values()))
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
    return manifest


def run(job, out_dir: Path | None = None, command: str = "gep run", progress: Callable[[str], None] | None = None) -> Written[SeriesResult]:
    """Compute and write every year of a loaded series scenario."""
    folder = destination(job, out_dir)
    check_destination(folder, KIND)
    result = compute(job, progress)
    if progress:
        progress("writing outputs")
    return write(result, folder, command)
