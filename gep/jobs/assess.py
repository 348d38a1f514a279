"""``gep assess TARGETS --runs RUN ...``: township GEP assessment (load -> compute -> write).

:func:`load` reads the targets file (:func:`gep.monitoring.assessment.parse_targets`), the
``account.nc`` of the base-year and assessed-year runs (and ``cells.nc`` for forest
cover), the realised-value table and the monitoring the indicators name;
:func:`compute` scores and ranks the townships (:mod:`gep.monitoring.assessment`) and
computes the GEP-growth payments of ``[purchase]``; :func:`write` writes ``scores.csv``
(one row per township, ranked), ``indicators.csv`` (long form), ``purchase.csv`` (with
``[purchase]``), ``assessment.xlsx``, ``scores.png``, ``report.md`` and the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from gep.audit import manifest as mf
from gep.errors import InputError
from gep.io import outputs, workbook
from gep.io.files import read_toml
from gep.jobs import monitoring as common
from gep.jobs.job import Written

KIND = mf.AssessmentRecord.KIND


@dataclass(frozen=True)
class AssessInputs:
    targets_path: Path
    targets: Any  # gep.monitoring.assessment.Targets
    folders: dict[int, Path]
    gep: pd.DataFrame
    base_year: int
    cover: pd.Series | None
    realised: pd.Series | None
    water: pd.DataFrame | None
    files: dict[str, Path]
    sets: dict = field(default_factory=dict)


@dataclass(frozen=True)
class AssessResult:
    inputs: AssessInputs
    scores: pd.DataFrame
    indicators: pd.DataFrame
    purchase: pd.DataFrame | None

    def document(self, folder: Path) -> dict:
        """The ``--json`` document."""
        t, pay = self.inputs.targets, self.purchase
        return {"command": "assess", "name": t.name, "year": t.year, "base_year": t.base_year, "basis": t.basis, "run_dir": folder.as_posix(),
                "scores": common.records(self.scores), "purchase": common.records(pay) if pay is not None else None,
                "purchase_total_cny": float(pay["payment_cny"].sum()) if pay is not None else None}


def load(targets: Path, runs: list[Path]) -> AssessInputs:
    """Read the targets, the runs of the base and assessed years and the files the indicators name."""
    from gep.io.monitoring import read_account, read_cells, read_realised, run_folders
    from gep.monitoring.assessment import forest_cover, gep_by_zone, parse_targets, realised_by_zone, water_class
    from gep.monitoring.compliance import evaluate

    targets = Path(targets)
    t = parse_targets(read_toml(targets, what="targets file"), str(targets))
    folders: dict[int, Path] = {}
    accounts = {}
    for f in run_folders(runs):
        acc = read_account(f)
        year = int(acc.attrs.get("year", -1))
        if year in folders:
            raise InputError(f"two runs for {year}: {folders[year]} and {f}", hint="give one run per year", key="runs")
        folders[year], accounts[year] = f, acc
    missing = [y for y in (t.base_year, t.year) if y not in folders]
    if missing:
        raise InputError(f"no run for {missing[0]} among the runs given (years: {', '.join(map(str, sorted(folders))) or 'none'})",
                         hint=f"give the gep run folders of {t.base_year} and {t.year} (or a series folder holding them)", key="runs")
    gep = gep_by_zone({y: accounts[y] for y in (t.base_year, t.year)})
    bases = set(gep["base_year"])
    if t.basis == "comparable" and (None in bases or len(bases) > 1):
        raise InputError(f"the {t.base_year} and {t.year} runs are valued at different comparable-price base years ({', '.join(map(str, sorted(bases, key=str)))})",
                         hint="run both years with the same [scenario] base_year (a series run does), or set [assessment] basis = \"current\"")
    files = {"targets": targets}
    for y in (t.base_year, t.year):
        files[f"run.{y}.manifest"] = folders[y] / "manifest.json"
        files[f"run.{y}.account"] = folders[y] / "account.nc"
    cover = realised = water = None
    sets = {}
    opts = t.options
    if "forest_cover" in t.weights:
        files[f"run.{t.year}.cells"] = folders[t.year] / "cells.nc"
        cells = read_cells(folders[t.year], ("ecosystem_index", "zone_index", "cell_area"))
        names = str(cells["ecosystem_index.attrs"].get("flag_meanings", "")).split()
        zones = accounts[t.year]["zone"].to_numpy()
        eco = tuple(opts["forest_cover"].get("ecosystems", ["forest"]))
        cover = pd.Series(forest_cover(cells["ecosystem_index"], cells["zone_index"], cells["cell_area"], names, zones, eco), index=zones.astype(int))
    if "realisation_rate" in t.weights:
        table = opts["realisation_rate"]["table"]
        files["realised"] = table
        realised = realised_by_zone(read_realised(table), t.year, str(table))
    if "water_class" in t.weights:
        w = opts["water_class"]
        files["monitoring"], files["sections"] = w["monitoring"], w["sections"]
        sections = common.read_sections(w["sections"])
        res = evaluate(common.read_series(w["monitoring"]), sections, common.limits(common.STANDARDS), period="year",
                       start=f"{t.year}-01-01", end=f"{t.year}-12-31", dl_rule=str(w.get("dl_rule", "half")))
        water = water_class(res["summary"], sections, t.year)
        sets["standards"] = common.coefficients(common.STANDARDS)
    base_year = int(next(iter(bases))) if None not in bases else t.base_year
    return AssessInputs(targets, t, folders, gep, base_year, cover, realised, water, files, sets)


def compute(inputs: AssessInputs, progress: Callable[[str], None] | None = None) -> AssessResult:
    """Indicators, scores, ranking and grades; the GEP-growth payments of ``[purchase]``."""
    from gep.monitoring.assessment import indicator_table, purchases, score

    t = inputs.targets
    per_class = float(t.options.get("water_class", {}).get("per_class", 0.5))
    ind, scores = score(indicator_table(t, inputs.gep, inputs.cover, inputs.realised, inputs.water), per_class, t.grades)
    pay = purchases(t, scores, inputs.gep, inputs.base_year) if t.purchase else None
    return AssessResult(inputs, scores, ind, pay)


def write(result: AssessResult, out_dir: Path | None, command: str) -> Written[AssessResult]:
    """Tables, workbook, chart, report and the manifest."""
    from gep.io.monitoring_report import markdown_table, scores_chart
    from gep.monitoring.assessment import INDICATORS

    i, t = result.inputs, result.inputs.targets
    scores, ind, pay = result.scores, result.indicators, result.purchase
    params = {"runs": {str(y): common.relative(i.folders[y], i.targets_path.parent) for y in (t.base_year, t.year)}}
    target = common.folder(out_dir, t.name, "assess", i.files, params)
    per_class = float(t.options.get("water_class", {}).get("per_class", 0.5))
    names = [n for n in INDICATORS if n in t.weights]
    rule = pd.DataFrame([{"indicator": n, "weight": t.weights[n], "default target": _shown_target(n, t.defaults.get(n)),
                          "floor": _shown_floor(n, t.floors.get(n), per_class)} for n in names])
    report = _report(t, scores, ind, pay, rule, i.folders, markdown_table, names, per_class)
    writers = {
        "scores.csv": common.csv_writer(scores), "indicators.csv": common.csv_writer(ind),
        "assessment.xlsx": lambda p: workbook.write_workbook(p, [
            workbook.Sheet("scores", scores, formats={c: "0.0000" for c in scores.columns if c.startswith(("value_", "target_"))}
                           | {c: "0.00" for c in scores.columns if c.startswith("points_") or c == "score"}),
            workbook.Sheet("indicators", ind, formats={"value": "0.0000", "target": "0.0000", "floor": "0.0000", "points": "0.00"}),
            workbook.Sheet("rule", rule),
        ] + ([workbook.Sheet("purchase", pay, formats={"gep_from_cny": workbook.CNY, "gep_to_cny": workbook.CNY, "increase_cny": workbook.CNY,
                                                       "payment_cny": workbook.CNY2, "growth": workbook.PCT})] if pay is not None else [])),
        "scores.png": lambda p: scores_chart(scores, names, p, f"{t.name}: township scores {t.year}"),
        "report.md": lambda p: outputs.write_text(report, p),
    }
    if pay is not None:
        writers["purchase.csv"] = common.csv_writer(pay)
    results = {"scores": common.records(scores[["zone", "score", "rank", "grade"]])} | ({"purchase_total_cny": float(pay["payment_cny"].sum())} if pay is not None else {})
    manifest = common.write(mf.AssessmentRecord, target, command, i.files, params, writers, results, i.sets)
    return Written(result, target, manifest)


def run(targets: Path, runs: list[Path], out_dir: Path | None = None, command: str = KIND,
        progress: Callable[[str], None] | None = None) -> Written[AssessResult]:
    """Load, score and write an assessment (``out_dir`` checked first)."""
    common.check_out(out_dir, KIND)
    return write(compute(load(targets, runs), progress), out_dir, command)


def replay(manifest: mf.Manifest, run_dir: Path, out_dir: Path) -> mf.Manifest:
    """Re-run a recorded assessment (its targets file and the runs it read) into ``out_dir``."""
    rec = manifest.record
    years = sorted({k.split(".")[1] for k in rec.inputs if k.startswith("run.")})
    return run(rec.path("targets", run_dir), [rec.path(f"run.{y}.account", run_dir).parent for y in years], out_dir, manifest.command or KIND).manifest


def _shown_target(indicator: str, value: float | None) -> str:
    from gep.monitoring.compliance import CLASS_NAMES

    if value is None:
        return "per township"
    return f"class {CLASS_NAMES[int(value)]}" if indicator == "water_class" else f"{value:.2%}"


def _shown_floor(indicator: str, value: float | None, per_class: float) -> str:
    if indicator == "water_class":
        return f"{per_class:.0%} of the points lost per class below target"
    if value is None:
        return "target − 5 percentage points" if indicator == "gep_growth" else "0 %"
    return f"{value:.2%}"


def _report(t, scores: pd.DataFrame, ind: pd.DataFrame, pay: pd.DataFrame | None, rule: pd.DataFrame, folders: dict, md, names: list[str],
            per_class: float) -> str:
    """The Markdown report of an assessment (no timestamp: same inputs, same bytes)."""
    rank_cols = ["rank", "zone", "zone_name", "score", "grade"] + [f"points_{i}" for i in names] + ["not_assessed"]
    lines = [
        f"# Township GEP assessment: {t.name}", "",
        f"Assessed year {t.year}; GEP growth from {t.base_year} at {t.basis} prices. Produced by `gep assess` from the runs "
        + ", ".join(f"{y} (`{folders[y].name}`)" for y in sorted(folders) if y in (t.base_year, t.year)) + ".", "",
        "## Rule", "",
        "Continuous indicators earn `weight · clip((A − F)/(T − F), 0, 1)` (full points at the target T, none at the floor F; "
        "default floors: GEP growth T − 0.05, others 0). Water class earns `weight · max(0, 1 − "
        f"{per_class:g} · classes below target)`. Score = 100 · Σ points / Σ weights of the assessed indicators (an indicator without "
        "data for a township drops out and is listed under not_assessed). Rank by score, then GEP growth, then realisation rate. "
        f"Grades: {', '.join(f'{name} ≥ {thr:g}' for thr, name in t.grades if np.isfinite(thr))}, otherwise {t.grades[-1][1]}. "
        "GEP growth is the average yearly growth; realisation rate = value realised / GEP of the year; forest cover = forest "
        "ecosystem area / township area; water class = worst GB 3838-2002 class of the township's sections (环办〔2011〕22号). "
        "This rule is gep's own (docs/monitoring.md gives its rationale and sources).", "",
        md(rule), "",
        "## Ranking", "", md(scores[rank_cols], ".3g"), "",
        "## Indicators", "", md(ind[["zone", "zone_name", "indicator", "value", "target", "floor", "weight", "points", "detail"]], ".4g"), "",
    ]
    if pay is not None:
        p = t.purchase
        lines += ["## GEP-growth payments", "",
                  f"Share {p['share']:.2%} of the GEP increase {t.base_year}→{t.year} at {p['basis']} prices, for townships scoring at least "
                  f"{p['min_score']:g}" + (", scaled by score/100" if p["scale_by_score"] else "") + f"; total {pay['payment_cny'].sum():,.2f} CNY.", "",
                  md(pay[["zone", "zone_name", "score", "eligible", "gep_from_cny", "gep_to_cny", "increase_cny", "payment_cny", "reason"]], ",.6g"), ""]
    lines += ["## Sources", "",
              "- Lishui GEP 综合考评办法 (Dec 2021): county-level GEP assessment, 1000 points, differentiated scoring (Zhejiang Online, 2022-04-12).",
              "- Lin Y. et al. (2023) 生态产品价值实现率评价方法——以丽水市为例, 生态学报 43(1): 189-197 (value realisation rate).",
              "- 环办〔2011〕22号 《地表水环境质量评价办法（试行）》; GB 3838-2002.",
              "- Lishui 景宁大均乡 (2018): government purchase of a share of the GEP increase (gep.accounting.growth.purchase).", ""]
    return "\n".join(lines)
