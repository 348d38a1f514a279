"""``gep monitoring calibrate CALIBRATION.toml``: decay rates and export multipliers of a basin fitted to monitoring.

:func:`load` reads the calibration file (:func:`gep.monitoring.calibration.parse_calibration`),
its basin scenario with every file it names (:func:`gep.jobs.capacity_basin.load`), the
series and the section table; :func:`compute` builds and fits the problem
(:mod:`gep.monitoring.calibration`); :func:`write` writes ``calibration.csv`` (parameters
with standard errors and intervals), ``residuals.csv``, ``correlation.csv``,
``calibration.xlsx``, ``fit.png`` and the manifest.

A capacity scenario uses the result with ``[calibration] fit = "CAL.toml"`` (re-fitted
on every run) or ``run = "runs/<id>/manifest.json"`` (this recorded run, its
``calibration.csv`` checked against its SHA-256): :func:`parameters_for_basin`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from gep.audit import manifest as mf
from gep.errors import InputError
from gep.io import workbook
from gep.io.files import read_toml
from gep.jobs import monitoring as common
from gep.jobs.job import Written

KIND = mf.CalibrationRecord.KIND


@dataclass(frozen=True)
class CalibrationInputs:
    calibration: Any  # gep.monitoring.calibration.Calibration
    basin: Any  # gep.jobs.capacity_basin.BasinInputs
    series: pd.DataFrame
    sections: pd.DataFrame

    def files(self) -> dict[str, Path]:
        """The calibration file, its monitoring and section files, and every file of its basin scenario."""
        cal = self.calibration
        files = {"calibration": cal.path, "monitoring": cal.monitoring, "sections": cal.sections, "basin": cal.basin}
        return files | {f"basin.{k}": v for k, v in self.basin.scenario.input_files().items()}


@dataclass(frozen=True)
class CalibrationResult:
    inputs: CalibrationInputs
    parameters: pd.DataFrame
    residuals: pd.DataFrame
    correlation: pd.DataFrame
    stats: dict
    loads: pd.DataFrame

    def document(self, folder: Path) -> dict:
        """The ``--json`` document."""
        from gep.monitoring.calibration import summary

        return {"command": "calibrate", "name": self.inputs.calibration.name, "run_dir": folder.as_posix(),
                "parameters": summary(self.parameters), "stats": self.stats}


def load(path: Path) -> CalibrationInputs:
    """Read the calibration file, its basin scenario (uncalibrated) and every file they name."""
    from gep.jobs.capacity_basin import load as load_basin
    from gep.monitoring.calibration import parse_calibration
    from gep.monitoring.series import window

    path = Path(path)
    cal = parse_calibration(read_toml(path, what="calibration file"), path)
    basin = load_basin(cal.basin, calibrated=False)
    if basin.scenario.calibration is not None:
        raise InputError(f"{path.name}: [calibration] basin {cal.basin.name} is itself calibrated ([calibration] section)",
                         hint="calibrate against the uncalibrated basin scenario")
    series = window(common.read_series(cal.monitoring), cal.start, cal.end)
    return CalibrationInputs(cal, basin, series, common.read_sections(cal.sections))


def compute(inputs: CalibrationInputs, progress: Callable[[str], None] | None = None) -> CalibrationResult:
    """Observations at the linked sections, the basin's loads, the fit and its uncertainty."""
    from gep.monitoring.calibration import basin_loads, build, fit, observations

    say = progress or (lambda _m: None)
    b, o = inputs.basin, inputs.calibration.options
    obs = observations(inputs.series, inputs.sections, b.reaches, tuple(o["pollutants"]))
    say(f"{len(obs)} observations at {obs['section'].nunique()} sections; loads of the basin's catchments")
    loads = basin_loads(b.landcover, b.catchments, b.cell_area, b.export, b.points, b.scenario.conversions, b.scenario.vintage)
    problem = build(obs, b.reaches, loads, decay=o["decay"], export=o["export"], decay_bounds=o["decay_bounds"], export_bounds=o["export_bounds"],
                    residuals=o["residuals"], censored=o["censored"])
    say("fitting (bounded least squares)" + ("; then the profile intervals, one re-fit per parameter and bound" if o["profile"] else ""))
    res = fit(problem, profile=o["profile"], level=o["level"])
    corr = res["correlation"].reset_index().rename(columns={"index": "parameter"})
    return CalibrationResult(inputs, res["parameters"], res["residuals"], corr, res["stats"], loads)


def write(result: CalibrationResult, out_dir: Path | None, command: str) -> Written[CalibrationResult]:
    """Tables, workbook, chart and the manifest."""
    from gep.io.monitoring_report import fit_chart
    from gep.monitoring.calibration import summary

    cal, stats = result.inputs.calibration, result.stats
    files = result.inputs.files()
    target = common.folder(out_dir, cal.name, "calibration", files, cal.options)
    params, resid, corr = result.parameters, result.residuals, result.correlation
    readme = pd.DataFrame([
        ("what", f"calibration '{cal.name}' of basin {cal.basin.name} against {cal.monitoring.name}"),
        ("model", "C = (L − W(0))/(W(1) − W(0)) at the control section, L = point + m·non-point load, W the reach's capacity model"),
        ("fit", f"bounded least squares (scipy trust-region reflective) on {stats['residuals']} residuals; below-DL samples {stats['censored']}"),
        ("uncertainty", f"Wald {stats['level']:.0%} intervals exp(θ ± t·SE), Cov = s²(JᵀJ)⁻¹" + ("; profile intervals" if cal.options["profile"] else "")),
        ("n, p", f"{stats['n']} observations, {stats['p']} parameters; s = {stats['s']:.4g}; R² = {stats['r2'] if stats['r2'] is None else round(stats['r2'], 4)}"),
        ("converged", f"{stats['converged']} ({stats['message']}); identifiable: {stats['identifiable']}"),
    ], columns=["item", "value"])
    writers = {
        "calibration.csv": common.csv_writer(params), "residuals.csv": common.csv_writer(resid), "correlation.csv": common.csv_writer(corr),
        "calibration.xlsx": lambda p: workbook.write_workbook(p, [
            workbook.Sheet("README", readme, widths={"item": 14, "value": 120}),
            workbook.Sheet("parameters", params, formats={c: "0.0000" for c in ("prior", "estimate", "se", "ci_low", "ci_high", "profile_low", "profile_high")}),
            workbook.Sheet("residuals", resid, formats={"observed": "0.0000", "predicted": "0.0000", "residual": "0.0000"}),
            workbook.Sheet("correlation", corr, formats={c: "0.000" for c in corr.columns if c != "parameter"}),
        ]),
        "fit.png": lambda p: fit_chart(resid.rename(columns={"pollutant": "parameter"}), p, f"calibration {cal.name}"),
    }
    manifest = common.write(mf.CalibrationRecord, target, command, files, cal.options, writers, {"parameters": summary(params), "stats": stats},
                            result.inputs.basin.coefficients)
    return Written(result, target, manifest)


def run(path: Path, out_dir: Path | None = None, command: str = KIND, progress: Callable[[str], None] | None = None) -> Written[CalibrationResult]:
    """Load, fit and write a calibration (``progress``: called with a line at each step; ``out_dir`` checked first)."""
    common.check_out(out_dir, KIND)
    return write(compute(load(path), progress), out_dir, command)


def replay(manifest: mf.Manifest, run_dir: Path, out_dir: Path) -> mf.Manifest:
    """Re-fit a recorded calibration (its calibration file and everything it names) into ``out_dir``."""
    return run(manifest.record.path("calibration", run_dir), out_dir, manifest.command or KIND).manifest


def parameters_for_basin(kind: str, path: Path) -> tuple[pd.DataFrame, dict, dict[str, Path]]:
    """Calibrated parameters for a capacity run: re-fitted (``fit``: a calibration file) or read from a
    recorded run (``run``: its manifest; ``calibration.csv`` checked against its SHA-256).

    Returns
    -------
    (parameters, record, files)
        The parameter table, what the basin manifest records (``calibration``) and the
        files read besides the one the scenario names (``fit``: the calibration's own inputs).
    """
    from gep.monitoring.calibration import summary

    if kind == "fit":
        result = compute(load(path))
        files = {f"calibration.{k}": v for k, v in result.inputs.files().items() if k != "calibration"}
        return result.parameters, {"source": "fit", "name": result.inputs.calibration.name, "stats": result.stats,
                                   "parameters": summary(result.parameters)}, files
    from gep.io.monitoring import read_calibration
    from gep.jobs.references import run_output

    doc, table, ref = run_output(path, "calibration.csv", (KIND,), "[calibration] run", Path(path).parent)
    params = read_calibration(table)
    return params, {"source": "run", "manifest_sha256": ref["sha256"], "stats": doc.results.get("stats"), "parameters": summary(params)}, {}
