"""``gep monitoring compliance SERIES``: GB 3838-2002 class per section and period (load -> compute -> write).

:func:`load` reads the series, the section table and the standards; :func:`compute`
evaluates :func:`gep.monitoring.compliance.evaluate` and the gaps
(:func:`gep.monitoring.series.gaps`); :func:`write` writes ``sections.csv`` (class per
section and period), ``stats.csv`` (per parameter), ``samples.csv`` (every sample with
the value used, its class and the target limit), ``gaps.csv`` (completeness),
``compliance.xlsx``, ``series.png``, ``classes.png`` and the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from gep.audit import manifest as mf
from gep.io import workbook
from gep.jobs import monitoring as common
from gep.jobs.job import Written

KIND = mf.ComplianceRecord.KIND
SAMPLE_COLUMNS = ["section", "time", "parameter", "status", "value", "detection_limit", "value_used", "unit", "period", "water_body",
                  "target_limit", "class", "beyond", "row"]


@dataclass(frozen=True)
class Options:
    """The options of an assessment (``gep monitoring compliance --help``)."""

    period: str = "year"
    start: str | None = None
    end: str | None = None
    dl_rule: str = "half"
    every: str = "month"
    include: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    parameters: tuple[str, ...] = ()
    standards: str = common.STANDARDS

    def record(self) -> dict:
        return {"period": self.period, "start": self.start, "end": self.end, "dl_rule": self.dl_rule, "every": self.every,
                "include": sorted(self.include), "sections": sorted(self.sections), "parameters": sorted(self.parameters), "standards": self.standards}


@dataclass(frozen=True)
class ComplianceInputs:
    series_path: Path
    sections_path: Path | None
    series: pd.DataFrame
    sections: pd.DataFrame | None
    limits: pd.DataFrame
    options: Options
    sets: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ComplianceResult:
    inputs: ComplianceInputs
    samples: pd.DataFrame
    stats: pd.DataFrame
    summary: pd.DataFrame
    gaps: pd.DataFrame

    def document(self, folder: Path) -> dict:
        """The ``--json`` document."""
        o = self.inputs.options
        return {"command": "compliance", "run_dir": folder.as_posix(), "period": o.period, "dl_rule": o.dl_rule,
                "sections": common.records(self.summary), "gaps": common.records(self.gaps[self.gaps["completeness"] < 1])}


def load(series: Path, sections: Path | None = None, options: Options = Options()) -> ComplianceInputs:
    """Read the series, the section table and the standards' limits."""
    return ComplianceInputs(Path(series), Path(sections) if sections else None, common.read_series(series), common.read_sections(sections),
                            common.limits(options.standards), options, {"standards": common.coefficients(options.standards)})


def compute(inputs: ComplianceInputs, progress: Callable[[str], None] | None = None) -> ComplianceResult:
    """Class, exceedance and pollution index per section and period; completeness of the sampling."""
    from gep.monitoring.compliance import evaluate
    from gep.monitoring.series import gaps

    o = inputs.options
    res = evaluate(inputs.series, inputs.sections, inputs.limits, period=o.period, start=o.start, end=o.end, dl_rule=o.dl_rule,
                   include=o.include, only_sections=o.sections, only_parameters=o.parameters)
    samples = res["samples"]
    series = inputs.series
    scope = series[series["section"].isin(samples["section"].unique()) & series["parameter"].isin(samples["parameter"].unique())]
    gap = gaps(scope, o.start or samples["time"].min(), o.end or samples["time"].max(), o.every)
    out = samples[SAMPLE_COLUMNS].sort_values(["section", "parameter", "time"], kind="stable").reset_index(drop=True)
    return ComplianceResult(inputs, out, res["stats"], res["summary"], gap)


def write(result: ComplianceResult, out_dir: Path | None, command: str) -> Written[ComplianceResult]:
    """Tables, workbook, charts and the manifest."""
    from gep.io.monitoring_report import class_chart, series_chart

    i, o = result.inputs, result.inputs.options
    files = {"series": i.series_path} | ({"sections": i.sections_path} if i.sections_path else {})
    target = common.folder(out_dir, i.series_path.stem, "compliance", files, o.record())
    summary, stats, gap = result.summary, result.stats, result.gaps
    readme = pd.DataFrame([
        ("what", f"GB 3838-2002 compliance of {summary['section'].nunique()} section(s), {o.period} periods"),
        ("method", "period mean per parameter (below-DL samples at the substituted value); class = best class whose limit the mean meets; "
                   "section class = worst evaluated parameter (环办〔2011〕22号); TN reported, evaluated only if included"),
        ("detection limit", f"rule '{o.dl_rule}' (half = DL/2, 环办监测函〔2020〕82号 point 7)"),
        ("exceedance", "multiple = (C − S)/S against the target-class limit S (DO: (S − C)/S); rate = share of samples beyond S"),
        ("pollution index", "mean of C/S over the evaluated upper-limit parameters (P with k0 = 1, equal weights, C0 = S)"),
        ("series", i.series_path.name), ("standards", o.standards),
    ], columns=["item", "value"])
    writers = {
        "sections.csv": common.csv_writer(summary), "stats.csv": common.csv_writer(stats), "samples.csv": common.csv_writer(result.samples),
        "gaps.csv": common.csv_writer(gap),
        "compliance.xlsx": lambda p: workbook.write_workbook(p, [
            workbook.Sheet("README", readme, widths={"item": 18, "value": 120}),
            workbook.Sheet("sections", summary, formats={"pollution_index": "0.000"}),
            workbook.Sheet("stats", stats, formats={"mean": "0.000", "min": "0.000", "max": "0.000", "exceedance_rate": workbook.PCT,
                                                     "exceedance_multiple": "0.000", "index": "0.000"}),
            workbook.Sheet("gaps", gap, formats={"completeness": workbook.PCT}),
        ]),
        "series.png": lambda p: series_chart(result.samples, p, f"monitoring {i.series_path.name}"),
        "classes.png": lambda p: class_chart(summary, p, f"GB 3838-2002 class per {o.period}"),
    }
    results = {"sections": common.records(summary[["section", "period", "class", "class_name", "meets_target", "pollution_index"]])}
    manifest = common.write(mf.ComplianceRecord, target, command, files, o.record(), writers, results, i.sets)
    return Written(result, target, manifest)


def run(series: Path, sections: Path | None = None, options: Options = Options(), out_dir: Path | None = None, command: str = KIND,
        progress: Callable[[str], None] | None = None) -> Written[ComplianceResult]:
    """Load, compute and write a compliance assessment (``out_dir`` checked first)."""
    common.check_out(out_dir, KIND)
    return write(compute(load(series, sections, options), progress), out_dir, command)


def replay(manifest: mf.Manifest, run_dir: Path, out_dir: Path) -> mf.Manifest:
    """Re-run a recorded assessment (its series and section table, its options) into ``out_dir``."""
    rec, p = manifest.record, dict(manifest.record.parameters)
    options = Options(period=p["period"], start=p["start"], end=p["end"], dl_rule=p["dl_rule"], every=p["every"], include=tuple(p["include"]),
                      sections=tuple(p["sections"]), parameters=tuple(p["parameters"]), standards=p["standards"])
    return run(rec.path("series", run_dir), rec.path("sections", run_dir), options, out_dir, manifest.command or KIND).manifest
